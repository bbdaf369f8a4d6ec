/* batonctl reinit NS/DB REGION: throw away a replica region's copies of
 * the database and clone them again from the primary.
 *
 * No new server code: the StatefulSet recreates a deleted pod, and a
 * deleted PersistentVolumeClaim with it, empty; batond initialises an
 * empty instance as a replica of the primary's endpoint (never as a new
 * primary once the database has had data: batond/agents.h). What keeps
 * this from destroying the instance the FSM is about to promote is the
 * forensic fence (batond/hold.h), set first:
 *
 *   1. refuse unless every reachable region's copy names another region
 *      as primary, no promotion is under way (phase FailingOver,
 *      SwitchingOver, Fenced) and no region says the primary's lease
 *      expired (status.primaryFailingSince): there must be a primary to
 *      clone from, and REGION must not be about to become it;
 *   2. ask (--yes), then fence every database pod of REGION
 *      (baton.dev/forensic-fence): REGION's batond orders them nothing,
 *      grants them no lease and reports them serving nothing, so REGION is
 *      no candidate for a failover or switchover and a synchronous
 *      failover waits for it rather than promote it;
 *   3. wait until REGION's batond says so (/v1/status: every pod held),
 *      then two report intervals, so that the FSM has the unhealthy
 *      report (consensus/driver.h, BATON_DRIVER_REPORT_MS);
 *   4. check 1 again: a promotion of REGION decided before the fence
 *      took effect shows here, and then nothing is deleted (the fences
 *      are removed again);
 *   5. delete the pods' claims, then the pods.
 *
 * Failure paths: any error before 5 removes the fences it set; an error
 * during 5 leaves them (the pods that were not deleted stay held and say
 * so in batond's status; `batonctl unfence` ends it).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batonctl/cli.h"
#include "batonctl/fleet.h"
#include "common/clock.h"
#include "common/labels.h"
#include "consensus/driver.h"

#define MAX_PODS 32
#define HOLD_TIMEOUT_MS 30000

static void usage_reinit(FILE *f)
{
	fprintf(
	    f, "usage: batonctl reinit NS/DB|-n NS DB REGION [--yes] [--wait "
	       "DURATION] [region flags]\n\n"
	       "Throws away REGION's copies of NS/DB (a replica region) and "
	       "clones them again\n"
	       "from the primary: deletes the PersistentVolumeClaims of its "
	       "database pods,\n"
	       "then the pods; the StatefulSet recreates them empty and batond "
	       "initialises\n"
	       "them as replicas. Refused while REGION is the primary, a "
	       "promotion is under\n"
	       "way or the primary's lease expired. Before anything is deleted "
	       "the pods are\n"
	       "fenced (baton.dev/forensic-fence) and REGION's batond must "
	       "confirm it, so\n"
	       "REGION cannot be promoted meanwhile; the checks are then made "
	       "again.\n"
	       "It needs REGION's API server and batond (--batond REGION=URL "
	       "or a fleet file).\n\n"
	       "  -y, --yes        do not ask (the data cannot be brought "
	       "back)\n"
	       "  --wait DURATION  then wait until every pod is back (a new "
	       "pod, Ready)\n"
	       "  -n, --namespace NS  with DB for NS/DB\n" BATON_CTL_REGION_HELP
	       "\nExit 0 when deleted (and back, with --wait); 1 when refused, "
	       "not confirmed,\n"
	       "the fence was not confirmed by batond, a request failed or the "
	       "wait timed\n"
	       "out; 2 on bad flags or configs.\n");
}

struct target {
	char pod[128];
	char uid[64];
	char claims[4][128];
	int n_claims;
};

/* Why NS/NAME's REGION may not be re-initialised now, from the regions'
 * copies of the last fetch; false when it may. */
static bool refused(struct baton_ctl_fleet *f, const char *region, char *why,
		    size_t len)
{
	int seen = 0;

	for (size_t i = 0; i < f->n; i++) {
		struct baton_ctl_region *r = &f->regions[i];
		json_t *st = json_object_get(r->api_result, "status");
		const char *p, *ph, *since;
		if (r->kubeconfig == NULL || !r->api_ok) {
			continue;
		}
		seen++;
		p = json_string_value(json_object_get(st, "primaryRegion"));
		ph = json_string_value(json_object_get(st, "phase"));
		since = json_string_value(
		    json_object_get(st, "primaryFailingSince"));
		if (p == NULL) {
			snprintf(why, len,
				 "%s's status names no primary region yet",
				 r->name);
			return true;
		}
		if (strcmp(p, region) == 0) {
			snprintf(why, len,
				 "%s's status names %s as the primary region: "
				 "switch over first",
				 r->name, region);
			return true;
		}
		if (ph != NULL && (strcmp(ph, "FailingOver") == 0 ||
				   strcmp(ph, "SwitchingOver") == 0 ||
				   strcmp(ph, "Fenced") == 0 ||
				   strcmp(ph, "Deleting") == 0)) {
			snprintf(why, len,
				 "%s's status says %s: wait until it is over",
				 r->name, ph);
			return true;
		}
		if (since != NULL) {
			snprintf(why, len,
				 "%s's status says the primary's lease expired "
				 "at %s: there is no primary to clone from",
				 r->name, since);
			return true;
		}
	}
	if (seen == 0) {
		snprintf(why, len, "no region's copy could be read");
		return true;
	}
	return false;
}

static struct baton_ctl_region *region_of(struct baton_ctl_fleet *f,
					  const char *name)
{
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->regions[i].name, name) == 0) {
			return &f->regions[i];
		}
	}
	return NULL;
}

/* Sets (VALUE) or removes (NULL) the fence on every target; the number
 * that failed. */
static int hold_all(struct baton_ctl_region *r, const char *ns,
		    struct target *t, int n, const char *value)
{
	struct baton_kube_ref ref = {NULL, "v1", "pods", ns, NULL, NULL};
	int failed = 0;

	for (int i = 0; i < n; i++) {
		json_t *patch =
		    value != NULL
			? json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
				    BATON_ANNOTATION_HOLD, value)
			: json_pack("{s:{s:{s:n}}}", "metadata", "annotations",
				    BATON_ANNOTATION_HOLD);
		ref.name = t[i].pod;
		if (baton_ctl_region_request(r, BATON_CTL_PATCH, &ref, NULL,
					     patch) != 0) {
			fprintf(stderr, "%s: %s: pod %s/%s: %s\n",
				baton_ctl_prog, r->name, ns, t[i].pod,
				r->api_err);
			failed++;
		}
		json_decref(patch);
	}
	return failed;
}

/* How many targets REGION's batond reports held (/v1/status agents[]). */
static int held_count(struct baton_ctl_region *r, const char *ns,
		      struct target *t, int n)
{
	int held = 0;
	size_t i;
	json_t *a;

	json_array_foreach(json_object_get(r->batond_status, "agents"), i, a)
	{
		const char *pod = json_string_value(json_object_get(a, "pod"));
		char key[300];
		if (pod == NULL ||
		    json_object_get(a, "forensicFence") == NULL) {
			continue;
		}
		for (int k = 0; k < n; k++) {
			snprintf(key, sizeof key, "%s/%s", ns, t[k].pod);
			held += strcmp(key, pod) == 0;
		}
	}
	return held;
}

/* Whether every target is back: a pod of that name with another uid and
 * its Ready condition true. */
static bool all_back(struct baton_ctl_region *r, const char *ns,
		     struct target *t, int n)
{
	struct baton_kube_ref ref = {NULL, "v1", "pods", ns, NULL, NULL};

	for (int i = 0; i < n; i++) {
		const char *uid;
		bool ready = false;
		size_t k;
		json_t *c;
		ref.name = t[i].pod;
		if (baton_ctl_region_request(r, BATON_CTL_GET, &ref, NULL,
					     NULL) != 0) {
			return false;
		}
		uid = json_string_value(json_object_get(
		    json_object_get(r->api_result, "metadata"), "uid"));
		if (uid == NULL || strcmp(uid, t[i].uid) == 0) {
			return false;
		}
		json_array_foreach(
		    json_object_get(json_object_get(r->api_result, "status"),
				    "conditions"),
		    k, c)
		{
			const char *ty =
			    json_string_value(json_object_get(c, "type"));
			const char *st =
			    json_string_value(json_object_get(c, "status"));
			if (ty != NULL && st != NULL &&
			    strcmp(ty, "Ready") == 0) {
				ready = strcmp(st, "True") == 0;
			}
		}
		if (!ready) {
			return false;
		}
	}
	return true;
}

int baton_ctl_cmd_reinit(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"yes", no_argument, NULL, 'y'},
	    {"wait", required_argument, NULL, 'w'},
	    BATON_CTL_REGION_LONGOPTS,
	    {0}};
	struct baton_ctl_region_flags rf = {0};
	struct baton_ctl_fleet *f = NULL;
	struct baton_ctl_region *r = NULL;
	struct baton_kube_ref ref = {NULL, "v1", "pods", NULL, NULL, NULL};
	struct target *t = NULL;
	char ns[128], name[128], why[600], selector[200], value[200], now[40];
	const char *region;
	bool yes = false, member = false, witness = false, held = false;
	long wait_ms = 0;
	int opt, rv = 0, n = 0;
	size_t i;
	json_t *x, *obj = NULL;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "yw:n:h", longopts, NULL)) !=
	       -1) {
		int k = baton_ctl_region_flag(&rf, opt, optarg);
		if (k < 0) {
			return baton_ctl_die_usage("too many region flags");
		}
		if (k > 0) {
			continue;
		}
		switch (opt) {
		case 'y':
			yes = true;
			break;
		case 'w':
			wait_ms = baton_ctl_parse_duration(optarg);
			if (wait_ms <= 0) {
				return baton_ctl_die_usage(
				    "reinit: --wait wants a duration like 5m, "
				    "not '%s'",
				    optarg);
			}
			break;
		case 'h':
			usage_reinit(stdout);
			return 0;
		default:
			usage_reinit(stderr);
			return BATON_CTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		usage_reinit(stderr);
		return BATON_CTL_EXIT_USAGE;
	}
	if ((rv = baton_ctl_db_arg("reinit", rf.ns, argv[optind], ns, name,
				   sizeof ns)) != 0) {
		return rv;
	}
	region = argv[optind + 1];
	if (!baton_ctl_region_name_ok(region)) {
		return baton_ctl_die_usage("reinit: '%s' is not a region name",
					   region);
	}
	f = calloc(1, sizeof *f);
	t = calloc(MAX_PODS, sizeof *t);
	if (f == NULL || t == NULL) {
		free(t);
		free(f);
		return BATON_CTL_EXIT_FAILED;
	}
	if ((rv = baton_ctl_open_fleet(f, &rf)) != 0) {
		goto out;
	}
	r = region_of(f, region);
	if (r == NULL || r->kubeconfig == NULL || r->batond_url == NULL) {
		fprintf(stderr,
			"%s: reinit needs region %s's API server and its "
			"batond (which confirms the pods are fenced before "
			"their data goes): give --kubeconfig/--context %s=... "
			"and --batond %s=URL, or a fleet file naming both\n",
			baton_ctl_prog, region, region, region);
		rv = BATON_CTL_EXIT_USAGE;
		goto out;
	}
	if (baton_ctl_fetch_db(f, ns, name) == 0) {
		rv = BATON_CTL_EXIT_FAILED;
		goto out;
	}
	for (i = 0; i < f->n && obj == NULL; i++) {
		if (f->regions[i].kubeconfig != NULL && f->regions[i].api_ok) {
			obj = json_incref(f->regions[i].api_result);
		}
	}
	json_array_foreach(
	    json_object_get(json_object_get(obj, "spec"), "regions"), i, x)
	{
		const char *rn = json_string_value(json_object_get(x, "name"));
		const char *role =
		    json_string_value(json_object_get(x, "role"));
		if (rn != NULL && strcmp(rn, region) == 0) {
			member = true;
			witness = role != NULL && strcmp(role, "witness") == 0;
		}
	}
	if (!member || witness) {
		fprintf(stderr, "%s: %s is %s of %s/%s\n", baton_ctl_prog,
			region,
			witness ? "a witness region (no data)"
				: "not one of the regions",
			ns, name);
		rv = BATON_CTL_EXIT_FAILED;
		goto out;
	}
	if (refused(f, region, why, sizeof why)) {
		fprintf(stderr, "%s: reinit of %s in %s refused: %s\n",
			baton_ctl_prog, name, region, why);
		rv = BATON_CTL_EXIT_FAILED;
		goto out;
	}
	/* the region's database pods and their claims */
	snprintf(selector, sizeof selector, BATON_LABEL_CLUSTER "=%s", name);
	ref.ns = ns;
	if (baton_ctl_region_request(r, BATON_CTL_GET, &ref, selector, NULL) !=
	    0) {
		fprintf(stderr, "%s: %s: pods of %s/%s: %s\n", baton_ctl_prog,
			region, ns, name, r->api_err);
		rv = BATON_CTL_EXIT_FAILED;
		goto out;
	}
	json_array_foreach(json_object_get(r->api_result, "items"), i, x)
	{
		json_t *md = json_object_get(x, "metadata"), *v;
		const char *pod =
		    json_string_value(json_object_get(md, "name"));
		const char *uid = json_string_value(json_object_get(md, "uid"));
		char pr[BATON_CTL_NAME_SIZE];
		int ord;
		size_t j;
		if (pod == NULL ||
		    baton_ctl_pod_region(name, pod, pr, sizeof pr, &ord) != 0 ||
		    strcmp(pr, region) != 0) {
			continue;
		}
		if (n == MAX_PODS) {
			fprintf(stderr, "%s: more than %d pods of %s in %s\n",
				baton_ctl_prog, MAX_PODS, name, region);
			rv = BATON_CTL_EXIT_FAILED;
			goto out;
		}
		snprintf(t[n].pod, sizeof t[n].pod, "%s", pod);
		snprintf(t[n].uid, sizeof t[n].uid, "%s", uid ? uid : "");
		json_array_foreach(
		    json_object_get(json_object_get(x, "spec"), "volumes"), j,
		    v)
		{
			const char *claim = json_string_value(json_object_get(
			    json_object_get(v, "persistentVolumeClaim"),
			    "claimName"));
			if (claim != NULL && t[n].n_claims < 4) {
				snprintf(t[n].claims[t[n].n_claims++],
					 sizeof t[n].claims[0], "%s", claim);
			}
		}
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "%s: %s: no database pods of %s/%s\n",
			baton_ctl_prog, region, ns, name);
		rv = BATON_CTL_EXIT_FAILED;
		goto out;
	}
	{
		char list[1500] = "";
		size_t used = 0;
		for (int k = 0; k < n; k++) {
			int c = snprintf(list + used, sizeof list - used,
					 "%s%s (", k ? ", " : "", t[k].pod);
			used += c > 0 ? (size_t)c : 0;
			for (int m = 0; m < t[k].n_claims && used < sizeof list;
			     m++) {
				c = snprintf(list + used, sizeof list - used,
					     "%s%s", m ? ", " : "",
					     t[k].claims[m]);
				used += c > 0 ? (size_t)c : 0;
			}
			if (used < sizeof list) {
				c = snprintf(list + used, sizeof list - used,
					     "%s)",
					     t[k].n_claims ? "" : "no claim");
				used += c > 0 ? (size_t)c : 0;
			}
			if (used >= sizeof list) {
				break;
			}
		}
		char what[2000];
		snprintf(what, sizeof what,
			 "reinit deletes the data of %s/%s in %s: %s. They "
			 "are cloned again from the primary; in synchronous "
			 "mode, with %s the only other data region, writes "
			 "wait until the new copy streams.",
			 ns, name, region, list, region);
		if (!baton_ctl_confirm(yes, what)) {
			rv = BATON_CTL_EXIT_FAILED;
			goto out;
		}
	}
	/* 2: fence them */
	snprintf(value, sizeof value, "reinit (batonctl, %s)",
		 baton_clock_rfc3339(now, sizeof now, 0));
	held = true;
	if (hold_all(r, ns, t, n, value) != 0) {
		rv = BATON_CTL_EXIT_FAILED;
		goto out;
	}
	printf("%s: %d pod(s) of %s/%s fenced; waiting for its batond to "
	       "hold them\n",
	       region, n, ns, name);
	fflush(stdout);
	/* 3: REGION's batond holds them, and the FSM has its report */
	{
		int64_t end = baton_realtime_ms() + HOLD_TIMEOUT_MS;
		int got = 0;
		for (;;) {
			baton_ctl_fleet_fetch(f, ns, name, true);
			got = r->batond_ok ? held_count(r, ns, t, n) : 0;
			if (got == n || baton_realtime_ms() >= end) {
				break;
			}
			usleep(500 * 1000);
		}
		if (got != n) {
			fprintf(stderr,
				"%s: %s's batond holds %d of %d pods after %d "
				"s (%s): nothing deleted\n",
				baton_ctl_prog, region, got, n,
				HOLD_TIMEOUT_MS / 1000,
				r->batond_ok ? "its /v1/status agents"
					     : r->batond_err);
			rv = BATON_CTL_EXIT_FAILED;
			goto out;
		}
		{
			/* two reports and a margin */
			struct timespec ts = {
			    .tv_sec = 2 * BATON_DRIVER_REPORT_MS / 1000,
			    .tv_nsec = 500 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	/* 4: again, now that REGION cannot be promoted */
	baton_ctl_fleet_fetch(f, ns, name, false);
	if (refused(f, region, why, sizeof why)) {
		fprintf(stderr, "%s: reinit of %s in %s refused: %s\n",
			baton_ctl_prog, name, region, why);
		rv = BATON_CTL_EXIT_FAILED;
		goto out;
	}
	/* 5: the claims (kept by their protection until the pod goes), then
	 * the pods; from here on the fences stay on what is not deleted */
	held = false;
	for (int k = 0; k < n; k++) {
		struct baton_kube_ref cref = {
		    NULL, "v1", "persistentvolumeclaims", ns, NULL, NULL};
		for (int m = 0; m < t[k].n_claims; m++) {
			cref.name = t[k].claims[m];
			if (baton_ctl_region_request(r, BATON_CTL_DELETE, &cref,
						     NULL, NULL) != 0 &&
			    r->api_status != BATON_ENOTFOUND) {
				fprintf(stderr,
					"%s: %s: claim %s/%s not deleted: %s\n",
					baton_ctl_prog, region, ns,
					t[k].claims[m], r->api_err);
				rv = BATON_CTL_EXIT_FAILED;
			}
		}
		ref.name = t[k].pod;
		if (rv == 0 &&
		    baton_ctl_region_request(r, BATON_CTL_DELETE, &ref, NULL,
					     NULL) != 0) {
			fprintf(stderr, "%s: %s: pod %s/%s not deleted: %s\n",
				baton_ctl_prog, region, ns, t[k].pod,
				r->api_err);
			rv = BATON_CTL_EXIT_FAILED;
		}
		if (rv != 0) {
			fprintf(stderr,
				"%s: stopped; the pods not deleted stay "
				"fenced (batonctl unfence %s/%s POD)\n",
				baton_ctl_prog, ns, name);
			goto out;
		}
		printf("%s: %s/%s deleted with its claim(s); the "
		       "StatefulSet recreates it empty\n",
		       region, ns, t[k].pod);
	}
	printf("batond initialises the new pods as replicas of the primary "
	       "(batonctl status %s/%s)\n",
	       ns, name);
	if (wait_ms > 0) {
		int64_t start = baton_realtime_ms(), end = start + wait_ms;
		while (!all_back(r, ns, t, n)) {
			if (baton_realtime_ms() >= end) {
				fprintf(stderr,
					"%s: timed out after %.0f s waiting "
					"for %s's pods to be back and Ready\n",
					baton_ctl_prog, (double)wait_ms / 1000,
					region);
				rv = BATON_CTL_EXIT_FAILED;
				goto out;
			}
			usleep(1000 * 1000);
		}
		printf("%s: every pod is back and Ready (%.1f s)\n", region,
		       (double)(baton_realtime_ms() - start) / 1000);
	}
out:
	if (held && r != NULL && hold_all(r, ns, t, n, NULL) == 0) {
		fprintf(stderr,
			"%s: %s: the fences set for the reinit are "
			"removed again\n",
			baton_ctl_prog, region);
	}
	json_decref(obj);
	baton_ctl_fleet_close(f);
	free(f);
	free(t);
	return rv;
}
