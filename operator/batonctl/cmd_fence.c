/* batonctl fence and unfence: one instance's forensic fence
 * (batond/hold.h).
 *
 * fence sets the annotation baton.dev/forensic-fence on the instance's pod
 * through its region's API server (a merge patch, with the caller's
 * credentials: the same authentication and RBAC as a switchover's
 * request); unfence removes it. The region's batond does the rest: no
 * order but a fence, no lease, reported as serving nothing, never
 * promoted, rejoined or rewound. Neither can make an instance writable:
 * that takes the FSM's promotion and a lease, which a held instance never
 * gets, and unfence gives back only that ordinary path.
 *
 * Fencing the primary's designated instance (ordinal 0 of the primary
 * region) ends its lease: the database fails over (automatic mode) or has
 * no primary until a human promotes another region (manual mode). That
 * needs a confirmation (--yes, or y on a terminal).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batonctl/cli.h"
#include "batonctl/fleet.h"
#include "common/clock.h"
#include "common/labels.h"

static void usage_fence(FILE *f)
{
	fprintf(
	    f,
	    "usage: batonctl fence NS/DB|-n NS DB POD [--reason TEXT] [--yes] "
	    "[region flags]\n"
	    "       batonctl unfence NS/DB|-n NS DB POD [region flags]\n\n"
	    "fence: keep one instance as it is, read-only, to look at it "
	    "(forensics).\n"
	    "Sets the annotation " BATON_ANNOTATION_HOLD
	    " on the pod POD (NAME-REGION-ORDINAL,\n"
	    "e.g. orders-eu-west-1) through its region's API server. Its "
	    "batond then\n"
	    "orders it nothing but a fence, grants it no lease and reports it "
	    "as serving\n"
	    "nothing: it is never promoted, rejoined (pg_rewind) or "
	    "re-initialised, and\n"
	    "a synchronous failover waits for it rather than lose what it "
	    "may hold.\n"
	    "Fencing the primary's instance (ordinal 0 of the primary "
	    "region) makes the\n"
	    "database fail over (or, in manual mode, lose its primary): "
	    "that asks first.\n"
	    "unfence: remove the annotation; batond drives the instance "
	    "again (a former\n"
	    "primary is rewound and follows the primary). Neither makes an "
	    "instance\n"
	    "writable: only the FSM's promotion with a lease does.\n\n"
	    "  --reason TEXT  why (kept in the annotation with the time; "
	    "default: none given)\n"
	    "  -y, --yes      do not ask before fencing the primary's "
	    "instance\n"
	    "  -n, --namespace NS  with DB for NS/DB\n" BATON_CTL_REGION_HELP
	    "\nExit 0 when done; 1 when the database or the pod is not "
	    "found, the API\n"
	    "server refused or was unreachable, or the fence of the primary "
	    "was not\n"
	    "confirmed; 2 on bad flags or configs.\n");
}

static const struct baton_kube_ref pod_ref = {
    .version = "v1",
    .resource = "pods",
};

/* The primary region as REGION's own copy of the DatabaseCluster says,
 * from the last fetch; NULL when it does not say. */
static const char *primary_of(struct baton_ctl_region *r)
{
	if (r->kubeconfig == NULL || !r->api_ok) {
		return NULL;
	}
	return json_string_value(json_object_get(
	    json_object_get(r->api_result, "status"), "primaryRegion"));
}

int baton_ctl_cmd_fence(int argc, char **argv, bool fence)
{
	static const struct option longopts[] = {
	    {"reason", required_argument, NULL, 'r'},
	    {"yes", no_argument, NULL, 'y'},
	    BATON_CTL_REGION_LONGOPTS,
	    {0}};
	struct baton_ctl_region_flags rf = {0};
	struct baton_ctl_fleet *f = NULL;
	struct baton_ctl_region *r;
	struct baton_kube_ref ref = pod_ref;
	char ns[128], name[128], region[BATON_CTL_NAME_SIZE], value[300];
	char now[40];
	const char *pod, *reason = NULL, *primary = NULL;
	bool yes = false, is_primary = false;
	int opt, rv = 0, ordinal;
	json_t *patch = NULL, *cluster;

	optind = 1;
	while ((opt = getopt_long(argc, argv, fence ? "r:yn:h" : "n:h",
				  longopts, NULL)) != -1) {
		int k = baton_ctl_region_flag(&rf, opt, optarg);
		if (k < 0) {
			return baton_ctl_die_usage("too many region flags");
		}
		if (k > 0) {
			continue;
		}
		switch (opt) {
		case 'r':
			reason = optarg;
			break;
		case 'y':
			yes = true;
			break;
		case 'h':
			usage_fence(stdout);
			return 0;
		default:
			usage_fence(stderr);
			return BATON_CTL_EXIT_USAGE;
		}
		if (!fence && (opt == 'r' || opt == 'y')) {
			return baton_ctl_die_usage("unfence takes no --%s",
						   opt == 'r' ? "reason"
							      : "yes");
		}
	}
	if (argc - optind != 2) {
		usage_fence(stderr);
		return BATON_CTL_EXIT_USAGE;
	}
	if ((rv = baton_ctl_db_arg(argv[0], rf.ns, argv[optind], ns, name,
				   sizeof ns)) != 0) {
		return rv;
	}
	pod = argv[optind + 1];
	if (baton_ctl_pod_region(name, pod, region, sizeof region, &ordinal) !=
	    0) {
		return baton_ctl_die_usage(
		    "%s: '%s' is not a pod of %s/%s: its pods are named "
		    "%s-REGION-ORDINAL (e.g. %s-eu-west-0)",
		    argv[0], pod, ns, name, name, name);
	}
	if (reason != NULL && (reason[0] == '\0' || strlen(reason) > 200)) {
		return baton_ctl_die_usage(
		    "fence: --reason wants 1 to 200 characters");
	}
	f = calloc(1, sizeof *f);
	if (f == NULL) {
		return BATON_CTL_EXIT_FAILED;
	}
	if ((rv = baton_ctl_open_fleet(f, &rf)) != 0) {
		goto out;
	}
	r = NULL;
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->regions[i].name, region) == 0) {
			r = &f->regions[i];
		}
	}
	if (r == NULL || r->kubeconfig == NULL) {
		fprintf(stderr,
			"%s: %s is in region %s, and batonctl has no API "
			"server for it (give --kubeconfig %s=PATH, --context "
			"%s=CTX or a fleet file)\n",
			baton_ctl_prog, pod, region, region, region);
		rv = BATON_CTL_EXIT_USAGE;
		goto out;
	}
	if (baton_ctl_fetch_db(f, ns, name) == 0) {
		rv = BATON_CTL_EXIT_FAILED;
		goto out;
	}
	/* the primary, as any reachable region's copy says */
	for (size_t i = 0; i < f->n && primary == NULL; i++) {
		primary = primary_of(&f->regions[i]);
	}
	is_primary =
	    primary != NULL && strcmp(primary, region) == 0 && ordinal == 0;
	ref.ns = ns;
	ref.name = pod;
	if (baton_ctl_region_request(r, BATON_CTL_GET, &ref, NULL, NULL) != 0) {
		fprintf(stderr, "%s: %s: pod %s/%s: %s\n", baton_ctl_prog,
			region, ns, pod, r->api_err);
		rv = BATON_CTL_EXIT_FAILED;
		goto out;
	}
	cluster = json_object_get(
	    json_object_get(json_object_get(r->api_result, "metadata"),
			    "labels"),
	    BATON_LABEL_CLUSTER);
	if (!json_is_string(cluster) ||
	    strcmp(json_string_value(cluster), name) != 0) {
		fprintf(stderr,
			"%s: %s: pod %s/%s is not a database pod of %s "
			"(label " BATON_LABEL_CLUSTER ")\n",
			baton_ctl_prog, region, ns, pod, name);
		rv = BATON_CTL_EXIT_FAILED;
		goto out;
	}
	if (fence && is_primary) {
		char what[600];
		snprintf(what, sizeof what,
			 "%s is the primary's instance (region %s, ordinal "
			 "0): fenced, it gets no lease, so %s/%s fails over "
			 "to another region (failover.mode automatic) or has "
			 "no primary until one is promoted (manual). "
			 "`batonctl switchover` first keeps the writes going.",
			 pod, region, ns, name);
		if (!baton_ctl_confirm(yes, what)) {
			rv = BATON_CTL_EXIT_FAILED;
			goto out;
		}
	}
	if (fence) {
		snprintf(value, sizeof value, "%s (batonctl, %s)",
			 reason != NULL ? reason : "no reason given",
			 baton_clock_rfc3339(now, sizeof now, 0));
		patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
				  BATON_ANNOTATION_HOLD, value);
	} else {
		/* null removes the key in a merge patch */
		patch = json_pack("{s:{s:{s:n}}}", "metadata", "annotations",
				  BATON_ANNOTATION_HOLD);
	}
	if (baton_ctl_region_request(r, BATON_CTL_PATCH, &ref, NULL, patch) !=
	    0) {
		fprintf(stderr, "%s: %s: pod %s/%s not changed: %s\n",
			baton_ctl_prog, region, ns, pod, r->api_err);
		rv = BATON_CTL_EXIT_FAILED;
		goto out;
	}
	if (fence) {
		printf("%s: %s/%s fenced for forensics: %s\n", region, ns, pod,
		       value);
		printf("its batond orders it nothing but a fence and grants "
		       "it no lease; `batonctl unfence %s/%s %s` ends it\n",
		       ns, name, pod);
	} else {
		printf("%s: %s/%s unfenced: batond drives it again (it may be "
		       "rewound to follow the primary)\n",
		       region, ns, pod);
	}
out:
	json_decref(patch);
	baton_ctl_fleet_close(f);
	free(f);
	return rv;
}
