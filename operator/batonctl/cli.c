/* batonctl's shared command-line parts (batonctl/cli.h). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batond/config.h"
#include "batonctl/check.h"
#include "batonctl/cli.h"
#include "batonctl/fleet.h"
#include "batonctl/fleetfile.h"
#include "batonctl/load.h"
#include "batonctl/report.h"
#include "common/clock.h"
#include "common/labels.h"
#include "common/log.h"
#include "common/version.h"

const char *const baton_ctl_prog = "batonctl";

int baton_ctl_die_usage(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", baton_ctl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s --help')\n", baton_ctl_prog);
	return BATON_CTL_EXIT_USAGE;
}

/* ---- where things are ------------------------------------------------- */

/* The source tree: $BATON_TOP, else the first parent of the binary's
 * directory that holds tests/lab/lab.sh (build/<x>/bin/batonctl). */
int baton_ctl_find_top(char *out, size_t len)
{
	const char *env = getenv("BATON_TOP");
	char path[PATH_MAX], probe[PATH_MAX + 32];
	ssize_t n;

	if (env != NULL && env[0] != '\0') {
		snprintf(out, len, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", path, sizeof path - 1);
	if (n <= 0) {
		return -1;
	}
	path[n] = '\0';
	for (int i = 0; i < 6; i++) {
		char *slash = strrchr(path, '/');
		if (slash == NULL || slash == path) {
			break;
		}
		*slash = '\0';
		snprintf(probe, sizeof probe, "%s/tests/lab/lab.sh", path);
		if (access(probe, X_OK) == 0) {
			snprintf(out, len, "%s", path);
			return 0;
		}
	}
	return -1;
}

int baton_ctl_exec_script(const char *rel, int argc, char **argv)
{
	char top[PATH_MAX], script[PATH_MAX + 64], self[PATH_MAX];
	char **args = calloc((size_t)argc + 2, sizeof *args);
	ssize_t n;

	if (args == NULL) {
		return BATON_CTL_EXIT_FAILED;
	}
	if (baton_ctl_find_top(top, sizeof top) != 0) {
		fprintf(stderr,
			"%s: cannot find the source tree (tests/lab/) from the "
			"binary's location: set BATON_TOP\n",
			baton_ctl_prog);
		free(args);
		return BATON_CTL_EXIT_USAGE;
	}
	snprintf(script, sizeof script, "%s/%s", top, rel);
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		setenv("BATONCTL", self, 1);
	}
	setenv("BATON_TOP", top, 1);
	args[0] = script;
	for (int i = 0; i < argc; i++) {
		args[i + 1] = argv[i];
	}
	execv(script, args);
	fprintf(stderr, "%s: cannot run %s: %s\n", baton_ctl_prog, script,
		strerror(errno));
	free(args);
	return BATON_CTL_EXIT_FAILED;
}

/* ---- region flags ---------------------------------------------------------
 */

/* The region of a kubeconfig given without NAME= (its directory's name or
 * its current context: baton_ctl_kubeconfig_region), into NAME. */
static int kubeconfig_region(const char *path, char *name, size_t len)
{
	struct baton_kube_config kc;
	int rv;

	rv = baton_kube_config_load_files(&kc, &path, 1, NULL,
					  BATON_KUBE_CONFIG_EXEC);
	if (rv != 0) {
		fprintf(stderr, "%s: kubeconfig %s: %s\n", baton_ctl_prog, path,
			kc.errmsg);
		baton_kube_config_free(&kc);
		return BATON_CTL_EXIT_USAGE;
	}
	rv = baton_ctl_kubeconfig_region(path, kc.context, name, len);
	if (rv != 0) {
		fprintf(stderr,
			"%s: cannot tell the region of kubeconfig %s: neither "
			"its directory nor its context '%s' is a region name "
			"(lower case, digits, '-'): give "
			"--kubeconfig REGION=%s\n",
			baton_ctl_prog, path, kc.context ? kc.context : "",
			path);
	}
	baton_kube_config_free(&kc);
	return rv != 0 ? BATON_CTL_EXIT_USAGE : 0;
}

/* --context REGION=CTX (or a bare CTX that is a region name), parsed
 * before the kubeconfigs: a region's context applies to its --kubeconfig,
 * and a region with a context but no --kubeconfig reads the files kubectl
 * reads. */
struct region_ctx {
	char region[BATON_CTL_NAME_SIZE];
	char ctx[256];
	bool used;
};

struct ctx_list {
	struct region_ctx items[BATON_CTL_MAX_REGIONS];
	int n;
};

static int parse_contexts(struct ctx_list *cl,
			  const struct baton_ctl_region_flags *rf)
{
	for (int i = 0; i < rf->n_contexts; i++) {
		char *copy = strdup(rf->contexts[i]), *save = NULL, *item;
		int rv = 0;
		if (copy == NULL) {
			return BATON_CTL_EXIT_FAILED;
		}
		for (item = strtok_r(copy, ",", &save); item != NULL && rv == 0;
		     item = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(item, '=');
			const char *region = item, *ctx = item;
			struct region_ctx *c;
			if (eq != NULL) {
				*eq = '\0';
				ctx = eq + 1;
			}
			if (!baton_ctl_region_name_ok(region) ||
			    ctx[0] == '\0') {
				rv = baton_ctl_die_usage(
				    "--context wants REGION=CONTEXT (or a "
				    "context named like a region), not "
				    "'%s%s%s'",
				    item, eq ? "=" : "", eq ? ctx : "");
				break;
			}
			for (int k = 0; k < cl->n; k++) {
				if (strcmp(cl->items[k].region, region) == 0) {
					rv = baton_ctl_die_usage(
					    "--context: two contexts for "
					    "region %s",
					    region);
				}
			}
			if (rv == 0 && cl->n == BATON_CTL_MAX_REGIONS) {
				rv = baton_ctl_die_usage(
				    "--context: more than %d regions",
				    BATON_CTL_MAX_REGIONS);
			}
			if (rv != 0) {
				break;
			}
			c = &cl->items[cl->n++];
			snprintf(c->region, sizeof c->region, "%s", region);
			snprintf(c->ctx, sizeof c->ctx, "%s", ctx);
			c->used = false;
		}
		free(copy);
		if (rv != 0) {
			return rv;
		}
	}
	return 0;
}

static const char *context_of(struct ctx_list *cl, const char *region)
{
	for (int k = 0; cl != NULL && k < cl->n; k++) {
		if (strcmp(cl->items[k].region, region) == 0) {
			cl->items[k].used = true;
			return cl->items[k].ctx;
		}
	}
	return NULL;
}

/* "NAME=VALUE,NAME=VALUE" or a bare PATH (kubeconfigs only: the region is
 * its directory's name, as in tests/env/run/<region>/admin.kubeconfig, or
 * else its current context's). SEP separates the items; CL gives the
 * regions' contexts (may be NULL). */
static int add_list(struct baton_ctl_fleet *f, const char *list, bool kube,
		    const char *sep, struct ctx_list *cl)
{
	char *copy = strdup(list), *save = NULL, *item;
	int rv = 0;

	if (copy == NULL) {
		return BATON_CTL_EXIT_FAILED;
	}
	for (item = strtok_r(copy, sep, &save); item != NULL && rv == 0;
	     item = strtok_r(NULL, sep, &save)) {
		char name[BATON_CTL_NAME_SIZE];
		const char *value;
		char *eq = strchr(item, '=');
		if (eq != NULL) {
			*eq = '\0';
			snprintf(name, sizeof name, "%s", item);
			value = eq + 1;
		} else if (kube) {
			rv = kubeconfig_region(item, name, sizeof name);
			if (rv != 0) {
				break;
			}
			value = item;
		} else {
			fprintf(stderr,
				"%s: --batond wants NAME=URL, got '%s'\n",
				baton_ctl_prog, item);
			rv = BATON_CTL_EXIT_USAGE;
			break;
		}
		if (name[0] == '\0' || value[0] == '\0') {
			fprintf(stderr,
				"%s: cannot tell the region of '%s': write "
				"NAME=%s\n",
				baton_ctl_prog, item, kube ? "PATH" : "URL");
			rv = BATON_CTL_EXIT_USAGE;
			break;
		}
		rv = kube ? baton_ctl_fleet_add_kubeconfig(f, name, value,
							   context_of(cl, name))
			  : baton_ctl_fleet_add_batond(f, name, value);
		if (rv != 0) {
			fprintf(stderr, "%s: %s\n", baton_ctl_prog, f->errmsg);
			rv = BATON_CTL_EXIT_USAGE;
		}
	}
	free(copy);
	return rv;
}

/* The regions of a fleet file (batonctl/fleetfile.h). */
static int add_fleet_file(struct baton_ctl_fleet *f, const char *path)
{
	struct baton_ctl_fleetfile *ff = calloc(1, sizeof *ff);
	int rv = 0;

	if (ff == NULL) {
		return BATON_CTL_EXIT_FAILED;
	}
	if (baton_ctl_fleetfile_load(ff, path) != 0) {
		fprintf(stderr, "%s: fleet file %s\n", baton_ctl_prog,
			ff->errmsg);
		free(ff);
		return BATON_CTL_EXIT_USAGE;
	}
	for (size_t i = 0; i < ff->n && rv == 0; i++) {
		struct baton_ctl_fleetfile_region *r = &ff->regions[i];
		if ((r->kubeconfig != NULL || r->context != NULL) &&
		    baton_ctl_fleet_add_kubeconfig(f, r->name, r->kubeconfig,
						   r->context) != 0) {
			rv = BATON_CTL_EXIT_USAGE;
		}
		if (rv == 0 && r->batond != NULL &&
		    baton_ctl_fleet_add_batond(f, r->name, r->batond) != 0) {
			rv = BATON_CTL_EXIT_USAGE;
		}
		if (rv != 0) {
			fprintf(stderr, "%s: fleet file %s:%d: %s\n",
				baton_ctl_prog, path, r->line, f->errmsg);
		}
	}
	baton_ctl_fleetfile_free(ff);
	free(ff);
	return rv;
}

/* Where batonctl reaches the batond of CFG's region: its http.bind, with
 * a wildcard address read as this host. -1 without a usable http.bind. */
int baton_ctl_local_batond_url(const struct baton_batond_config *cfg, char *url,
			       size_t len)
{
	char host[256];
	int port;

	if (cfg->http_bind == NULL ||
	    baton_split_host_port(cfg->http_bind, host, sizeof host, &port) !=
		0) {
		return -1;
	}
	snprintf(url, len, "http://%s:%d",
		 strcmp(host, "0.0.0.0") == 0 || host[0] == '\0' ? "127.0.0.1"
								 : host,
		 port);
	return 0;
}

static int add_region_config(struct baton_ctl_fleet *f, const char *path)
{
	struct baton_batond_config cfg;
	char url[300];
	int rv;

	rv = baton_batond_config_load(&cfg, path); /* sets the defaults */
	if (rv != 0) {
		fprintf(stderr, "%s: --region-config %s: %s\n", baton_ctl_prog,
			path, cfg.errmsg);
		baton_batond_config_free(&cfg);
		return BATON_CTL_EXIT_USAGE;
	}
	if (cfg.kubeconfig != NULL &&
	    baton_ctl_fleet_add_kubeconfig(f, cfg.region, cfg.kubeconfig,
					   NULL) != 0) {
		goto fail;
	}
	if (baton_ctl_local_batond_url(&cfg, url, sizeof url) == 0 &&
	    baton_ctl_fleet_add_batond(f, cfg.region, url) != 0) {
		goto fail;
	}
	for (size_t i = 0; i < cfg.n_peers; i++) {
		struct baton_ctl_region *r =
		    baton_ctl_fleet_region(f, cfg.peers[i].name);
		if (cfg.peers[i].kubeconfig != NULL && r != NULL &&
		    r->kubeconfig == NULL &&
		    baton_ctl_fleet_add_kubeconfig(f, cfg.peers[i].name,
						   cfg.peers[i].kubeconfig,
						   NULL) != 0) {
			goto fail;
		}
	}
	baton_batond_config_free(&cfg);
	return 0;
fail:
	fprintf(stderr, "%s: --region-config %s: %s\n", baton_ctl_prog, path,
		f->errmsg);
	baton_batond_config_free(&cfg);
	return BATON_CTL_EXIT_USAGE;
}

/* The lab's regions: regions/regions lists them; batond runs where
 * pids/batond-<r>.pid exists, on the region's address, port 8080. */
static int add_lab(struct baton_ctl_fleet *f, const char *lab)
{
	char path[PATH_MAX + 512], line[128];
	FILE *list;
	int rv = 0;

	snprintf(path, sizeof path, "%s/regions/regions", lab);
	list = fopen(path, "r");
	if (list == NULL) {
		fprintf(stderr,
			"%s: no region flags given and no lab at %s (%s): "
			"give --kubeconfig/--context/--batond/--region-config "
			"or --fleet, write ~/.config/baton/fleet.yaml, or "
			"start the lab ('batonctl lab up')\n",
			baton_ctl_prog, lab, strerror(errno));
		return BATON_CTL_EXIT_USAGE;
	}
	while (rv == 0 && fgets(line, sizeof line, list) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0') {
			continue;
		}
		snprintf(path, sizeof path, "%s/regions/%s/admin.kubeconfig",
			 lab, line);
		if (baton_ctl_fleet_add_kubeconfig(f, line, path, NULL) != 0) {
			fprintf(stderr, "%s: %s\n", baton_ctl_prog, f->errmsg);
			rv = BATON_CTL_EXIT_USAGE;
			break;
		}
		snprintf(path, sizeof path, "%s/pids/batond-%s.pid", lab, line);
		if (access(path, F_OK) == 0) {
			char envp[PATH_MAX + 512], l2[256], url[300];
			snprintf(envp, sizeof envp, "%s/regions/%s/region.env",
				 lab, line);
			FILE *e = fopen(envp, "r");
			while (e != NULL && fgets(l2, sizeof l2, e) != NULL) {
				if (strncmp(l2, "BATON_IP=", 9) == 0) {
					l2[strcspn(l2, "\r\n")] = '\0';
					snprintf(url, sizeof url,
						 "http://%s:8080", l2 + 9);
					baton_ctl_fleet_add_batond(f, line,
								   url);
				}
			}
			if (e != NULL) {
				fclose(e);
			}
		}
	}
	fclose(list);
	return rv;
}

int baton_ctl_open_fleet(struct baton_ctl_fleet *f,
			 struct baton_ctl_region_flags *rf)
{
	struct ctx_list *cl;
	int rv;

	if (baton_ctl_fleet_init(f) != 0) {
		fprintf(stderr, "%s: %s\n", baton_ctl_prog, f->errmsg);
		return BATON_CTL_EXIT_FAILED;
	}
	if ((cl = calloc(1, sizeof *cl)) == NULL) {
		return BATON_CTL_EXIT_FAILED;
	}
	rv = parse_contexts(cl, rf);
	for (int i = 0; rv == 0 && i < rf->n_configs; i++) {
		rv = add_region_config(f, rf->configs[i]);
	}
	for (int i = 0; rv == 0 && i < rf->n_kubeconfigs; i++) {
		rv = add_list(f, rf->kubeconfigs[i], true, ",", cl);
	}
	/* a context without its region's --kubeconfig: kubectl's files */
	for (int i = 0; rv == 0 && i < cl->n; i++) {
		if (!cl->items[i].used &&
		    baton_ctl_fleet_add_kubeconfig(f, cl->items[i].region, NULL,
						   cl->items[i].ctx) != 0) {
			fprintf(stderr, "%s: %s\n", baton_ctl_prog, f->errmsg);
			rv = BATON_CTL_EXIT_USAGE;
		}
	}
	free(cl);
	for (int i = 0; rv == 0 && i < rf->n_batonds; i++) {
		rv = add_list(f, rf->batonds[i], false, ",", NULL);
	}
	if (rv == 0 && rf->fleet != NULL) {
		rv = add_fleet_file(f, rf->fleet);
	}
	if (rv != 0 || f->n > 0) {
		return rv;
	}
	/* No region flags. In order: the lab named by --lab or
	 * $BATON_LAB_DIR (the drills set it); a fleet file ($BATON_FLEET, or
	 * ~/.config/baton/fleet.yaml when it exists); a lab running in the
	 * source tree; the files in $KUBECONFIG, one region each. */
	char top[PATH_MAX / 2], lab[PATH_MAX / 2 + 64], fleet[PATH_MAX];
	const char *dir = rf->lab ? rf->lab : getenv("BATON_LAB_DIR");
	const char *kubeconfig = getenv("KUBECONFIG");
	bool have_top = baton_ctl_find_top(top, sizeof top) == 0;
	bool explicit;

	if (dir != NULL && dir[0] != '\0') {
		return add_lab(f, dir);
	}
	if (baton_ctl_fleetfile_default(fleet, sizeof fleet, &explicit) == 0 &&
	    (explicit || access(fleet, F_OK) == 0)) {
		return add_fleet_file(f, fleet);
	}
	if (have_top) {
		snprintf(lab, sizeof lab, "%s/tests/lab/run/regions/regions",
			 top);
		if (access(lab, F_OK) == 0) {
			snprintf(lab, sizeof lab, "%s/tests/lab/run", top);
			return add_lab(f, lab);
		}
	}
	/* each file of the ':'-separated list one region (its current
	 * context); a fleet file or --context names contexts of one file */
	if (kubeconfig != NULL && kubeconfig[0] != '\0') {
		return add_list(f, kubeconfig, true, ":", NULL);
	}
	if (!have_top) {
		fprintf(stderr,
			"%s: no regions: give --kubeconfig, --context, "
			"--batond, --region-config or --fleet, write "
			"%s, or set KUBECONFIG\n",
			baton_ctl_prog, fleet);
		return BATON_CTL_EXIT_USAGE;
	}
	snprintf(lab, sizeof lab, "%s/tests/lab/run", top);
	return add_lab(f, lab);
}

/* Region flags shared by status and switchover; 1 if OPT was one. */
int baton_ctl_region_flag(struct baton_ctl_region_flags *rf, int opt,
			  const char *arg)
{
	switch (opt) {
	case 'k':
		if (rf->n_kubeconfigs == 32) {
			return -1;
		}
		rf->kubeconfigs[rf->n_kubeconfigs++] = arg;
		return 1;
	case 'b':
		if (rf->n_batonds == 32) {
			return -1;
		}
		rf->batonds[rf->n_batonds++] = arg;
		return 1;
	case 'c':
		if (rf->n_configs == BATON_CTL_MAX_REGIONS) {
			return -1;
		}
		rf->configs[rf->n_configs++] = arg;
		return 1;
	case 'C':
		if (rf->n_contexts == 32) {
			return -1;
		}
		rf->contexts[rf->n_contexts++] = arg;
		return 1;
	case 'L':
		rf->lab = arg;
		return 1;
	case 'F':
		rf->fleet = arg;
		return 1;
	case 'n':
		rf->ns = arg;
		return 1;
	default:
		return 0;
	}
}

int baton_ctl_split_ref(const char *ref, char *ns, char *name, size_t len)
{
	const char *slash = strchr(ref, '/');
	if (slash == NULL || slash == ref || slash[1] == '\0' ||
	    strchr(slash + 1, '/') != NULL || (size_t)(slash - ref) >= len ||
	    strlen(slash + 1) >= len) {
		return -1;
	}
	snprintf(ns, len, "%.*s", (int)(slash - ref), ref);
	snprintf(name, len, "%s", slash + 1);
	return 0;
}

int baton_ctl_db_arg(const char *cmd, const char *ns_flag, const char *arg,
		     char *ns, char *name, size_t len)
{
	if (strchr(arg, '/') == NULL) {
		if (ns_flag == NULL) {
			return baton_ctl_die_usage(
			    "%s: '%s' is not NAMESPACE/NAME (or give -n "
			    "NAMESPACE NAME)",
			    cmd, arg);
		}
		if (ns_flag[0] == '\0' || strchr(ns_flag, '/') != NULL ||
		    strlen(ns_flag) >= len || strlen(arg) >= len ||
		    arg[0] == '\0') {
			return baton_ctl_die_usage(
			    "%s: '-n %s %s' is not a namespace and a name", cmd,
			    ns_flag, arg);
		}
		snprintf(ns, len, "%s", ns_flag);
		snprintf(name, len, "%s", arg);
		return 0;
	}
	if (baton_ctl_split_ref(arg, ns, name, len) != 0) {
		return baton_ctl_die_usage("%s: '%s' is not NAMESPACE/NAME",
					   cmd, arg);
	}
	if (ns_flag != NULL && strcmp(ns_flag, ns) != 0) {
		return baton_ctl_die_usage(
		    "%s: -n %s and '%s' name two namespaces", cmd, ns_flag,
		    arg);
	}
	return 0;
}

const char *baton_ctl_str_or(json_t *v, const char *dflt, char *buf, size_t len)
{
	static char ring[8][32];
	static unsigned next;

	if (buf == NULL || len == 0) {
		buf = ring[next++ % 8];
		len = sizeof ring[0];
	}
	if (json_is_string(v)) {
		return json_string_value(v);
	}
	if (json_is_integer(v)) {
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (json_is_boolean(v)) {
		return json_is_true(v) ? "true" : "false";
	}
	return dflt;
}

int baton_ctl_fetch_db(struct baton_ctl_fleet *f, const char *ns,
		       const char *name)
{
	int found = 0;

	baton_ctl_fleet_fetch(f, ns, name, false);
	for (size_t i = 0; i < f->n; i++) {
		struct baton_ctl_region *r = &f->regions[i];
		if (r->kubeconfig == NULL) {
			continue;
		}
		if (r->api_ok) {
			found++;
		} else if (r->api_status == BATON_ENOTFOUND) {
			fprintf(stderr, "%s: %s: no DatabaseCluster %s/%s\n",
				baton_ctl_prog, r->name, ns, name);
		} else {
			fprintf(stderr, "%s: %s: unreachable, skipped: %s\n",
				baton_ctl_prog, r->name, r->api_err);
		}
	}
	if (found == 0) {
		fprintf(stderr,
			"%s: DatabaseCluster %s/%s was not found in any "
			"reachable region\n",
			baton_ctl_prog, ns, name);
	}
	return found;
}

bool baton_ctl_confirm(bool yes, const char *what)
{
	char answer[16];

	if (yes) {
		return true;
	}
	fprintf(stderr, "%s: %s\n", baton_ctl_prog, what);
	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
		fprintf(stderr,
			"%s: not confirmed: give --yes to go ahead without a "
			"terminal\n",
			baton_ctl_prog);
		return false;
	}
	fprintf(stderr, "Go ahead? [y/N] ");
	fflush(stderr);
	if (fgets(answer, sizeof answer, stdin) == NULL) {
		return false;
	}
	answer[strcspn(answer, "\r\n")] = '\0';
	return strcmp(answer, "y") == 0 || strcmp(answer, "Y") == 0 ||
	       strcmp(answer, "yes") == 0;
}
