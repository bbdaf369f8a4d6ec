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

	rv = baton_kube_config_load_file(&kc, path, NULL);
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

/* "NAME=VALUE,NAME=VALUE" or a bare PATH (kubeconfigs only: the region is
 * its directory's name, as in tests/env/run/<region>/admin.kubeconfig, or
 * else its current context's). SEP separates the items. */
static int add_list(struct baton_ctl_fleet *f, const char *list, bool kube,
		    const char *sep)
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
		rv = kube ? baton_ctl_fleet_add_kubeconfig(f, name, value)
			  : baton_ctl_fleet_add_batond(f, name, value);
		if (rv != 0) {
			fprintf(stderr, "%s: %s\n", baton_ctl_prog, f->errmsg);
			rv = BATON_CTL_EXIT_USAGE;
		}
	}
	free(copy);
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
	if (cfg.kubeconfig != NULL && baton_ctl_fleet_add_kubeconfig(
					  f, cfg.region, cfg.kubeconfig) != 0) {
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
		    baton_ctl_fleet_add_kubeconfig(
			f, cfg.peers[i].name, cfg.peers[i].kubeconfig) != 0) {
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
			"give --kubeconfig/--batond/--region-config, set "
			"KUBECONFIG, or start the lab ('batonctl lab up')\n",
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
		if (baton_ctl_fleet_add_kubeconfig(f, line, path) != 0) {
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
	int rv;

	if (baton_ctl_fleet_init(f) != 0) {
		fprintf(stderr, "%s: %s\n", baton_ctl_prog, f->errmsg);
		return BATON_CTL_EXIT_FAILED;
	}
	for (int i = 0; i < rf->n_configs; i++) {
		if ((rv = add_region_config(f, rf->configs[i])) != 0) {
			return rv;
		}
	}
	for (int i = 0; i < rf->n_kubeconfigs; i++) {
		if ((rv = add_list(f, rf->kubeconfigs[i], true, ",")) != 0) {
			return rv;
		}
	}
	for (int i = 0; i < rf->n_batonds; i++) {
		if ((rv = add_list(f, rf->batonds[i], false, ",")) != 0) {
			return rv;
		}
	}
	if (f->n == 0) {
		char top[PATH_MAX / 2], lab[PATH_MAX / 2 + 64];
		const char *dir = rf->lab ? rf->lab : getenv("BATON_LAB_DIR");
		const char *kubeconfig = getenv("KUBECONFIG");
		bool have_top = baton_ctl_find_top(top, sizeof top) == 0;
		if (dir != NULL && dir[0] != '\0') {
			return add_lab(f, dir);
		}
		/* a running lab in the source tree comes first: make lab
		 * runs `batonctl status` in shells that may set KUBECONFIG */
		if (have_top) {
			snprintf(lab, sizeof lab,
				 "%s/tests/lab/run/regions/regions", top);
			if (access(lab, F_OK) == 0) {
				snprintf(lab, sizeof lab, "%s/tests/lab/run",
					 top);
				return add_lab(f, lab);
			}
		}
		/* as kubectl: a ':'-separated list; each file is one region
		 * (its current context) */
		if (kubeconfig != NULL && kubeconfig[0] != '\0') {
			return add_list(f, kubeconfig, true, ":");
		}
		if (!have_top) {
			fprintf(stderr,
				"%s: no regions: give --kubeconfig, --batond "
				"or --region-config, or set KUBECONFIG\n",
				baton_ctl_prog);
			return BATON_CTL_EXIT_USAGE;
		}
		snprintf(lab, sizeof lab, "%s/tests/lab/run", top);
		return add_lab(f, lab);
	}
	return 0;
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
	case 'L':
		rf->lab = arg;
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
