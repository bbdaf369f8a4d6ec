/* batonctl's view of a fleet: every region's API server (a kubeconfig) and
 * batond (its /v1/status URL), asked in parallel on one libuv loop.
 *
 * Each call below is synchronous for the caller: it starts one request per
 * region on the fleet's loop and runs the loop until all of them answered
 * or timed out (BATON_CTL_TIMEOUT_MS each, so one dead region costs one
 * timeout, not one per region). A region that does not answer is recorded
 * as unreachable with the error in words; nothing here exits or aborts on
 * a network error. Configuration errors (a kubeconfig that does not load)
 * are returned by baton_ctl_fleet_add_* with errmsg naming the file.
 */
#ifndef BATON_BATONCTL_FLEET_H
#define BATON_BATONCTL_FLEET_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

#include "common/error.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/rest.h"

#define BATON_CTL_MAX_REGIONS 16
#define BATON_CTL_NAME_SIZE 64
#define BATON_CTL_TIMEOUT_MS 4000

struct baton_ctl_region {
	char name[BATON_CTL_NAME_SIZE];
	char *kubeconfig; /* its file(s); NULL: no API server for the region */
	const char *context; /* the context used (in cfg) */
	char *batond_url;    /* "http://h:p", NULL: no batond */

	/* Results of the last call, per source. */
	bool api_ok;
	int api_status; /* 0 or the BATON_E* of the last call */
	char api_err[BATON_ERRMSG_SIZE];
	json_t *api_result; /* owned: last object or list */
	bool batond_ok;
	char batond_err[BATON_ERRMSG_SIZE];
	json_t *batond_status; /* owned: batond's /v1/status */
	bool ready_ok; /* batond's /readyz answered 2xx (fleet_readyz) */
	char ready_err[BATON_ERRMSG_SIZE];

	/* Private. */
	struct baton_kube_config cfg;
	struct baton_kube_client api;
	struct baton_kube_client bd;
	bool api_open, bd_open;
	struct baton_kube_request api_req, bd_req, ready_req;
	struct baton_ctl_fleet *fleet;
};

struct baton_ctl_fleet {
	uv_loop_t loop;
	struct baton_ctl_region regions[BATON_CTL_MAX_REGIONS];
	size_t n;
	int pending;
	char errmsg[BATON_ERRMSG_SIZE];
};

int baton_ctl_fleet_init(struct baton_ctl_fleet *f);

/* The region named NAME (created if new, BATON_ETOOLARGE past the cap). */
struct baton_ctl_region *baton_ctl_fleet_region(struct baton_ctl_fleet *f,
						const char *name);

/* Loads PATH for region NAME: its CONTEXT (NULL: current-context); PATH
 * NULL: the files kubectl reads ($KUBECONFIG merged, else
 * ~/.kube/config). Exec credential plugins allowed. BATON_ECONFIG etc.
 * with f->errmsg. */
int baton_ctl_fleet_add_kubeconfig(struct baton_ctl_fleet *f, const char *name,
				   const char *path, const char *context);
int baton_ctl_fleet_add_batond(struct baton_ctl_fleet *f, const char *name,
			       const char *url);

/* GET every DatabaseCluster (NS and NAME NULL: all namespaces) from every
 * API server, and batond's /v1/status from every batond. Results in the
 * regions; returns how many sources answered. */
int baton_ctl_fleet_fetch(struct baton_ctl_fleet *f, const char *ns,
			  const char *name, bool with_batond);

/* GET /readyz from every batond (2xx: ready; otherwise ready_err holds
 * batond's reason, e.g. "HTTP 503: no Raft quorum reachable", or why it
 * did not answer). Returns how many batonds are ready. */
int baton_ctl_fleet_readyz(struct baton_ctl_fleet *f);

/* Merge-patches PATCH into DatabaseCluster NS/NAME in every region whose
 * api_ok is set on entry (callers fetch first); api_ok/api_err say how each
 * went. Returns how many succeeded. */
int baton_ctl_fleet_patch(struct baton_ctl_fleet *f, const char *ns,
			  const char *name, json_t *patch);

/* One request to region R's API server only (R must have one): GET of
 * REF (its name set), LIST of REF with SELECTOR (name NULL; may be NULL),
 * a merge PATCH of REF, or a DELETE of REF. The result in r->api_result,
 * api_ok, api_status and api_err as for fetch; returns r->api_status. */
enum baton_ctl_verb {
	BATON_CTL_GET,
	BATON_CTL_PATCH,
	BATON_CTL_DELETE,
};
int baton_ctl_region_request(struct baton_ctl_region *r, enum baton_ctl_verb v,
			     const struct baton_kube_ref *ref,
			     const char *selector, json_t *patch);

void baton_ctl_fleet_close(struct baton_ctl_fleet *f);

/* NAME can name a region: a DNS label of at most 40 characters, as in a
 * DatabaseCluster's spec.regions. */
bool baton_ctl_region_name_ok(const char *name);

/* The region of a kubeconfig given without NAME=: the name of PATH's
 * directory when that is a region name (tests/env/run/<region>/
 * admin.kubeconfig), else CONTEXT, the context the kubeconfig selects,
 * when that is one (~/.kube/config must not become region ".kube").
 * 0 with the name in OUT, or BATON_EINVAL: the caller asks for NAME=PATH. */
int baton_ctl_kubeconfig_region(const char *path, const char *context,
				char *out, size_t len);

/* The region and ordinal of database NAME's pod POD ("<name>-<region>-
 * <ordinal>", as batond names its StatefulSets' pods): 0, or BATON_EINVAL
 * when POD is not one. */
int baton_ctl_pod_region(const char *name, const char *pod, char *region,
			 size_t len, int *ordinal);

/* "90s", "2m", "500ms", "1.5" (seconds) → milliseconds; -1 if malformed. */
long baton_ctl_parse_duration(const char *s);

#endif /* BATON_BATONCTL_FLEET_H */
