/* batonctl's fleet: one kube client per region's API server and one per
 * region's batond, all on one loop. Happy path: add_* load the configs,
 * fetch/patch start one request per source and run the loop until the
 * pending count is back at zero. Failure path: a request that fails or
 * times out (BATON_CTL_TIMEOUT_MS, curl's own timeout) records its errmsg
 * in the region and counts as answered; the caller prints it. Close
 * cancels nothing in flight (calls never return with requests pending) and
 * runs the loop until every client's close callback ran. */
#include "batonctl/fleet.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kube/rest.h"

static const struct baton_kube_ref dbc_ref = {
    .group = "baton.dev",
    .version = "v1alpha1",
    .resource = "databaseclusters",
};

int baton_ctl_fleet_init(struct baton_ctl_fleet *f)
{
	memset(f, 0, sizeof *f);
	if (uv_loop_init(&f->loop) != 0) {
		baton_errmsg_printf(f->errmsg, "cannot create the event loop");
		return BATON_EIO;
	}
	return 0;
}

struct baton_ctl_region *baton_ctl_fleet_region(struct baton_ctl_fleet *f,
						const char *name)
{
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->regions[i].name, name) == 0) {
			return &f->regions[i];
		}
	}
	if (f->n == BATON_CTL_MAX_REGIONS) {
		baton_errmsg_printf(f->errmsg, "more than %d regions",
				    BATON_CTL_MAX_REGIONS);
		return NULL;
	}
	if (name[0] == '\0' || strlen(name) >= BATON_CTL_NAME_SIZE) {
		baton_errmsg_printf(f->errmsg, "bad region name '%s'", name);
		return NULL;
	}
	struct baton_ctl_region *r = &f->regions[f->n++];
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", name);
	r->fleet = f;
	return r;
}

static struct baton_kube_client_opts client_opts(void)
{
	struct baton_kube_client_opts o = {
	    .qps = -1,
	    .timeout_ms = BATON_CTL_TIMEOUT_MS,
	    .user_agent = "batonctl/" BATON_VERSION,
	};
	return o;
}

int baton_ctl_fleet_add_kubeconfig(struct baton_ctl_fleet *f, const char *name,
				   const char *path, const char *context)
{
	struct baton_ctl_region *r = baton_ctl_fleet_region(f, name);
	struct baton_kube_client_opts o = client_opts();
	const char *paths[BATON_KUBE_CONFIG_MAX_FILES];
	char buf[4096];
	int n = 1, rv;

	if (r == NULL) {
		return BATON_EINVAL;
	}
	if (r->api_open) {
		baton_errmsg_printf(f->errmsg,
				    "region %s: two kubeconfigs given", name);
		return BATON_EINVAL;
	}
	paths[0] = path;
	if (path == NULL) {
		n = baton_kube_config_default_files(paths, buf, sizeof buf,
						    f->errmsg);
		if (n < 0) {
			return BATON_ECONFIG;
		}
	}
	/* batonctl may wait for an exec plugin (aws, gke-gcloud-auth-plugin):
	 * nothing else runs on its loop meanwhile */
	rv = baton_kube_config_load_files(&r->cfg, paths, (size_t)n, context,
					  BATON_KUBE_CONFIG_EXEC);
	if (rv != 0) {
		baton_errmsg_printf(f->errmsg, "region %s: kubeconfig %s", name,
				    r->cfg.errmsg);
		baton_kube_config_free(&r->cfg);
		return rv;
	}
	r->api.data = r;
	rv = baton_kube_client_init(&f->loop, &r->api, &r->cfg, &o);
	if (rv != 0) {
		baton_errmsg_printf(f->errmsg, "region %s: %s", name,
				    r->api.errmsg);
		baton_kube_config_free(&r->cfg);
		return rv;
	}
	r->kubeconfig = strdup(r->cfg.source);
	r->context = r->cfg.context;
	r->api_open = true;
	return r->kubeconfig ? 0 : BATON_ENOMEM;
}

int baton_ctl_fleet_add_batond(struct baton_ctl_fleet *f, const char *name,
			       const char *url)
{
	struct baton_ctl_region *r = baton_ctl_fleet_region(f, name);
	struct baton_kube_client_opts o = client_opts();
	struct baton_kube_config bc = {0};
	char server[512];
	size_t n;
	int rv;

	if (r == NULL) {
		return BATON_EINVAL;
	}
	if (strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0) {
		baton_errmsg_printf(
		    f->errmsg,
		    "region %s: batond URL '%s' must start with http://", name,
		    url);
		return BATON_ECONFIG;
	}
	if (r->bd_open) {
		baton_errmsg_printf(f->errmsg,
				    "region %s: two batond URLs given", name);
		return BATON_EINVAL;
	}
	snprintf(server, sizeof server, "%s", url);
	n = strlen(server);
	while (n > 0 && server[n - 1] == '/') {
		server[--n] = '\0';
	}
	bc.server = server;
	bc.source = (char *)"--batond";
	bc.ns = (char *)"default";
	r->bd.data = r;
	rv = baton_kube_client_init(&f->loop, &r->bd, &bc, &o);
	if (rv != 0) {
		baton_errmsg_printf(f->errmsg, "region %s: %s", name,
				    r->bd.errmsg);
		return rv;
	}
	r->batond_url = strdup(server);
	r->bd_open = true;
	return r->batond_url ? 0 : BATON_ENOMEM;
}

static void record(json_t **slot, bool *ok, char *err,
		   struct baton_kube_request *req, int status)
{
	json_decref(*slot);
	*slot = NULL;
	if (status == 0) {
		*ok = true;
		err[0] = '\0';
		*slot = json_incref(req->result);
	} else {
		*ok = false;
		baton_errmsg_printf(err, "%s",
				    req->errmsg[0] ? req->errmsg
						   : baton_strerror(status));
	}
}

static void api_cb(struct baton_kube_request *req, int status)
{
	struct baton_ctl_region *r = req->data;
	record(&r->api_result, &r->api_ok, r->api_err, req, status);
	r->api_status = status;
	r->fleet->pending--;
}

static void batond_cb(struct baton_kube_request *req, int status)
{
	struct baton_ctl_region *r = req->data;
	record(&r->batond_status, &r->batond_ok, r->batond_err, req, status);
	r->fleet->pending--;
}

/* /readyz answers "ok" in plain text: stream the body (bounded by what
 * we accept here) instead of having the client parse it as JSON. */
static int ready_data_cb(struct baton_kube_request *req, const char *buf,
			 size_t len)
{
	(void)buf;
	return len > 4096 ? BATON_ETOOLARGE : 0;
}

static void ready_cb(struct baton_kube_request *req, int status)
{
	struct baton_ctl_region *r = req->data;
	const char *why =
	    json_string_value(json_object_get(req->result, "error"));

	r->ready_ok = status == 0;
	if (status == 0) {
		r->ready_err[0] = '\0';
	} else if (req->http_status != 0 && why != NULL) {
		baton_errmsg_printf(r->ready_err, "HTTP %ld: %s",
				    req->http_status, why);
	} else {
		baton_errmsg_printf(r->ready_err, "%s",
				    req->errmsg[0] ? req->errmsg
						   : baton_strerror(status));
	}
	r->fleet->pending--;
}

static void run(struct baton_ctl_fleet *f)
{
	while (f->pending > 0) {
		uv_run(&f->loop, UV_RUN_ONCE);
	}
}

static void start_failed(struct baton_ctl_region *r, bool api, int rv,
			 const char *why)
{
	if (api) {
		r->api_ok = false;
		r->api_status = rv;
		baton_errmsg_printf(r->api_err, "%s (%s)", why,
				    baton_strerror(rv));
	} else {
		r->batond_ok = false;
		baton_errmsg_printf(r->batond_err, "%s (%s)", why,
				    baton_strerror(rv));
	}
}

int baton_ctl_fleet_fetch(struct baton_ctl_fleet *f, const char *ns,
			  const char *name, bool with_batond)
{
	struct baton_kube_ref ref = dbc_ref;
	int answered = 0;
	int rv;

	ref.ns = ns;
	ref.name = name;
	for (size_t i = 0; i < f->n; i++) {
		struct baton_ctl_region *r = &f->regions[i];
		if (r->api_open) {
			r->api_req.data = r;
			rv = name != NULL
				 ? baton_kube_get(&r->api, &r->api_req, &ref,
						  api_cb)
				 : baton_kube_list(&r->api, &r->api_req, &ref,
						   NULL, api_cb);
			if (rv == 0) {
				f->pending++;
			} else {
				start_failed(r, true, rv, r->api.errmsg);
			}
		}
		if (r->bd_open && with_batond) {
			r->bd_req.data = r;
			rv = baton_kube_request_start(&r->bd, &r->bd_req, "GET",
						      "/v1/status", NULL, NULL,
						      0, NULL, batond_cb);
			if (rv == 0) {
				f->pending++;
			} else {
				start_failed(r, false, rv, r->bd.errmsg);
			}
		}
	}
	run(f);
	for (size_t i = 0; i < f->n; i++) {
		answered += f->regions[i].api_ok;
		answered += f->regions[i].batond_ok;
	}
	return answered;
}

int baton_ctl_fleet_readyz(struct baton_ctl_fleet *f)
{
	int ready = 0;
	int rv;

	for (size_t i = 0; i < f->n; i++) {
		struct baton_ctl_region *r = &f->regions[i];
		if (!r->bd_open) {
			continue;
		}
		r->ready_req.data = r;
		rv = baton_kube_request_start(&r->bd, &r->ready_req, "GET",
					      "/readyz", NULL, NULL, 0,
					      ready_data_cb, ready_cb);
		if (rv == 0) {
			f->pending++;
		} else {
			r->ready_ok = false;
			baton_errmsg_printf(r->ready_err, "%s (%s)",
					    r->bd.errmsg, baton_strerror(rv));
		}
	}
	run(f);
	for (size_t i = 0; i < f->n; i++) {
		ready += f->regions[i].bd_open && f->regions[i].ready_ok;
	}
	return ready;
}

int baton_ctl_fleet_patch(struct baton_ctl_fleet *f, const char *ns,
			  const char *name, json_t *patch)
{
	struct baton_kube_ref ref = dbc_ref;
	struct baton_kube_write_opts wo = {.field_manager = "batonctl"};
	int done = 0;
	int rv;

	ref.ns = ns;
	ref.name = name;
	for (size_t i = 0; i < f->n; i++) {
		struct baton_ctl_region *r = &f->regions[i];
		if (!r->api_open || !r->api_ok) {
			continue;
		}
		r->api_req.data = r;
		rv = baton_kube_patch(&r->api, &r->api_req, &ref,
				      BATON_KUBE_PATCH_MERGE, patch, &wo,
				      api_cb);
		if (rv == 0) {
			f->pending++;
		} else {
			start_failed(r, true, rv, r->api.errmsg);
		}
	}
	run(f);
	for (size_t i = 0; i < f->n; i++) {
		done += f->regions[i].api_open && f->regions[i].api_ok;
	}
	return done;
}

int baton_ctl_region_request(struct baton_ctl_region *r, enum baton_ctl_verb v,
			     const struct baton_kube_ref *ref,
			     const char *selector, json_t *patch)
{
	struct baton_kube_write_opts wo = {.field_manager = "batonctl"};
	struct baton_kube_list_opts lo = {.label_selector = selector};
	int rv;

	if (!r->api_open) {
		r->api_ok = false;
		r->api_status = BATON_EINVAL;
		baton_errmsg_printf(r->api_err, "no API server for region %s",
				    r->name);
		return r->api_status;
	}
	r->api_req.data = r;
	switch (v) {
	case BATON_CTL_GET:
		rv = ref->name != NULL
			 ? baton_kube_get(&r->api, &r->api_req, ref, api_cb)
			 : baton_kube_list(&r->api, &r->api_req, ref, &lo,
					   api_cb);
		break;
	case BATON_CTL_PATCH:
		rv = baton_kube_patch(&r->api, &r->api_req, ref,
				      BATON_KUBE_PATCH_MERGE, patch, &wo,
				      api_cb);
		break;
	case BATON_CTL_DELETE:
	default:
		rv = baton_kube_delete(&r->api, &r->api_req, ref, NULL, api_cb);
		break;
	}
	if (rv != 0) {
		start_failed(r, true, rv, r->api.errmsg);
		return rv;
	}
	r->fleet->pending++;
	run(r->fleet);
	return r->api_status;
}

static void closed_cb(struct baton_kube_client *c)
{
	(void)c;
}

void baton_ctl_fleet_close(struct baton_ctl_fleet *f)
{
	for (size_t i = 0; i < f->n; i++) {
		struct baton_ctl_region *r = &f->regions[i];
		if (r->api_open) {
			baton_kube_client_close(&r->api, closed_cb);
			baton_kube_config_free(&r->cfg);
		}
		if (r->bd_open) {
			baton_kube_client_close(&r->bd, closed_cb);
		}
		json_decref(r->api_result);
		json_decref(r->batond_status);
		free(r->kubeconfig);
		free(r->batond_url);
	}
	uv_run(&f->loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&f->loop);
	f->n = 0;
}

bool baton_ctl_region_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 40 || name[0] == '-' || name[n - 1] == '-') {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!islower((unsigned char)name[i]) &&
		    !isdigit((unsigned char)name[i]) && name[i] != '-') {
			return false;
		}
	}
	return true;
}

int baton_ctl_kubeconfig_region(const char *path, const char *context,
				char *out, size_t len)
{
	char dir[512];
	const char *base;
	char *slash;

	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL) {
		*slash = '\0';
		base = strrchr(dir, '/');
		base = base ? base + 1 : dir;
		if (baton_ctl_region_name_ok(base) && strlen(base) < len) {
			snprintf(out, len, "%s", base);
			return 0;
		}
	}
	if (baton_ctl_region_name_ok(context) && strlen(context) < len) {
		snprintf(out, len, "%s", context);
		return 0;
	}
	return BATON_EINVAL;
}

long baton_ctl_parse_duration(const char *s)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) {
		return -1;
	}
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || v < 0 || v > 86400.0 * 7) {
		return -1;
	}
	if (*end == '\0' || strcmp(end, "s") == 0) {
		return (long)(v * 1000);
	}
	if (strcmp(end, "ms") == 0) {
		return (long)v;
	}
	if (strcmp(end, "m") == 0) {
		return (long)(v * 60000);
	}
	return -1;
}

int baton_ctl_pod_region(const char *name, const char *pod, char *region,
			 size_t len, int *ordinal)
{
	size_t n = strlen(name);
	const char *dash, *rest;
	char *end;
	long ord;

	if (n == 0 || strncmp(pod, name, n) != 0 || pod[n] != '-') {
		return BATON_EINVAL;
	}
	rest = pod + n + 1;
	dash = strrchr(rest, '-');
	if (dash == NULL || dash == rest || !isdigit((unsigned char)dash[1])) {
		return BATON_EINVAL;
	}
	errno = 0;
	ord = strtol(dash + 1, &end, 10);
	if (*end != '\0' || errno != 0 || ord < 0 || ord > 100000 ||
	    (size_t)(dash - rest) >= len) {
		return BATON_EINVAL;
	}
	snprintf(region, len, "%.*s", (int)(dash - rest), rest);
	if (!baton_ctl_region_name_ok(region)) {
		return BATON_EINVAL;
	}
	*ordinal = (int)ord;
	return 0;
}
