#include "batond/daemon.h"

#include "batond/agentpki.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batond/controller.h"
#include "batond/events.h"
#include "batond/peertoken.h"
#include "batond/raftglue.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/version.h"
#include "consensus/decider.h"

/* ---- HTTP endpoints ------------------------------------------------------ */

static void healthz(struct baton_http_request *req, void *data)
{
	struct baton_batond *d = data;
	if (d->stopping) {
		baton_http_respond(req, 503, "text/plain", "stopping\n", 9,
				   NULL);
		return;
	}
	baton_http_respond(req, 200, "text/plain", "ok\n", 3, NULL);
}

static void readyz(struct baton_http_request *req, void *data)
{
	struct baton_batond *d = data;
	char why[BATON_ERRMSG_SIZE];

	if (d->stopping) {
		baton_http_respond_error(req, 503, "stopping");
		return;
	}
	if (d->controller == NULL && d->seed.running) {
		snprintf(why, sizeof why,
			 "reading the children's stamps before the controller "
			 "starts (%u children in %u pages so far)",
			 d->seed.listed, d->seed.pages);
		baton_http_respond_error(req, 503, why);
		return;
	}
	if (d->controller == NULL ||
	    !baton_controller_ready(d->controller, why, sizeof why)) {
		baton_http_respond_error(req, 503,
					 d->controller ? why
						       : "controller not "
							 "started");
		return;
	}
	baton_http_respond(req, 200, "text/plain", "ok\n", 3, NULL);
}

static void metrics(struct baton_http_request *req, void *data)
{
	struct baton_batond *d = data;
	char *text = NULL;
	size_t len = 0;

	if (d->controller != NULL) {
		baton_controller_update_metrics(d->controller);
	}
	if (d->raft_open) {
		baton_raftglue_update_metrics(&d->raft);
	}
	baton_procmetrics_update(&d->procm);
	if (baton_metrics_render(&d->metrics, &text, &len) != 0) {
		baton_http_respond_error(req, 500, "cannot render metrics");
		return;
	}
	baton_http_respond(req, 200, "text/plain; version=0.0.4", text, len,
			   NULL);
	free(text);
}

static void status(struct baton_http_request *req, void *data)
{
	struct baton_batond *d = data;
	json_t *st = d->controller ? baton_controller_status(d->controller)
				   : json_object();
	char *text;

	json_object_set_new(st, "region", json_string(d->cfg->region));
	json_object_set_new(st, "version", json_string(BATON_VERSION));
	text = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(st);
	if (text == NULL) {
		baton_http_respond_error(req, 500, "out of memory");
		return;
	}
	baton_http_respond(req, 200, "application/json", text, strlen(text),
			   NULL);
	free(text);
}

/* ---- metrics ---------------------------------------------------------------
 */

static int add_metrics(struct baton_batond *d)
{
	static const char *const result[] = {"result", NULL};
	/* db_namespace, not namespace: a ServiceMonitor gives every series
	 * the scraped pod's own namespace label and renames ours to
	 * exported_namespace (docs/batond.md, Metrics) */
	static const char *const db[] = {"db_namespace", "name", NULL};
	static const char *const db_region[] = {"db_namespace", "name",
						"region", NULL};
	static const double secs[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
				      0.5,   1,	   2.5,	  5,	10};
	struct baton_metrics *m = &d->metrics;

	d->m_reconciles = baton_metrics_add(
	    m, BATON_METRIC_COUNTER, "baton_reconciles_total",
	    "DatabaseCluster reconciles, by result", result, NULL, 0);
	d->m_reconcile_seconds = baton_metrics_add(
	    m, BATON_METRIC_HISTOGRAM, "baton_reconcile_duration_seconds",
	    "Time to reconcile one DatabaseCluster", NULL, secs,
	    sizeof secs / sizeof secs[0]);
	d->m_queue_depth =
	    baton_metrics_add(m, BATON_METRIC_GAUGE, "baton_workqueue_depth",
			      "Keys waiting in the work queue", NULL, NULL, 0);
	d->m_epoch = baton_metrics_add(
	    m, BATON_METRIC_GAUGE, "baton_database_epoch",
	    "Fencing epoch of the database's primary", db, NULL, 0);
	d->m_primary =
	    baton_metrics_add(m, BATON_METRIC_GAUGE, "baton_database_primary",
			      "1 for the region holding the database's primary",
			      db_region, NULL, 0);
	{
		/* the Prometheus convention (kube-state-metrics, node
		 * exporter): a constant 1 labelled with the version, so a
		 * dashboard joins on it and an upgrade shows as a new series */
		static const char *const version[] = {"version", NULL};
		d->m_up =
		    baton_metrics_add(m, BATON_METRIC_GAUGE, "baton_build_info",
				      "Always 1; the version label is batond's",
				      version, NULL, 0);
	}
	{
		static const char *const step[] = {"step", NULL};
		d->m_failover_step = baton_metrics_add(
		    m, BATON_METRIC_HISTOGRAM, "baton_failover_step_seconds",
		    "Time from a promote applied here to each failover step "
		    "in this region (labelled, serving)",
		    step, secs, sizeof secs / sizeof secs[0]);
	}
	if (d->m_reconciles == NULL || d->m_reconcile_seconds == NULL ||
	    d->m_queue_depth == NULL || d->m_epoch == NULL ||
	    d->m_primary == NULL || d->m_up == NULL ||
	    d->m_failover_step == NULL ||
	    baton_procmetrics_add(&d->procm, m) != 0) {
		return BATON_ENOMEM;
	}
	baton_metric_set(d->m_up, (const char *const[]){BATON_VERSION}, 1);
	return 0;
}

/* ---- wiring: Raft's side tells the controller (batond/consensus.h) ------
 *
 * raftglue reaches the controller only through these, set once the
 * controller started and cleared once it stopped (controller_stopped_cb). */

static void obs_fsm_changed(void *data, const char *db)
{
	baton_controller_fsm_changed(data, db);
}

static void obs_promoted(void *data, const struct baton_cmd *cmd,
			 const char *from)
{
	baton_controller_promoted(data, cmd, from);
}

static void obs_became_leader(void *data)
{
	baton_controller_resync_all(data);
}

static void obs_region_report(void *data, const char *db,
			      struct baton_region_report *out)
{
	baton_controller_region_report(data, db, out);
}

/* Straight to the agent driver, as obs_designate does (design note 40:
 * no new code in controller.c): the final of member ORDINAL, each member
 * being detached in a failover round (agents.c). */
static bool obs_final_report(void *data, const char *db, uint64_t epoch,
			     uint64_t round, int ordinal,
			     struct baton_region_report *out)
{
	struct baton_controller *c = data;
	return baton_agents_member_final(c->agents, db, epoch, round, ordinal,
					 out);
}

/* The designation's view of DB (raftglue asks only with --designation):
 * from the controller's agent driver, which daemon.c embeds (d->ctl);
 * the view and its memory are the daemon's (batond/designation.h). */
static bool obs_designate(void *data, const char *db,
			  struct baton_designate_input *in, uint64_t now)
{
	struct baton_controller *c = data;
	struct baton_batond *d = c->data;

	return baton_designation_designate(&d->desig, c->agents, db, in, now);
}

static void raft_fatal(void *data)
{
	baton_batond_stop(data, 1);
}

/* ---- lifecycle ----------------------------------------------------------- */

static void on_signal(uv_signal_t *h, int signum)
{
	struct baton_batond *d = h->data;
	baton_log(BATON_LOG_INFO, "batond", "received %s: shutting down",
		  signum == SIGTERM ? "SIGTERM" : "SIGINT");
	baton_batond_stop(d, 0);
}

static void http_closed_cb(struct baton_http_server *srv)
{
	(void)srv;
}

static void kube_closed_cb(struct baton_kube_client *c)
{
	(void)c;
}

static void raft_stopped_cb(struct baton_raftglue *g)
{
	struct baton_batond *d = g->data;
	d->raft_open = false;
	d->consensus = NULL;
	if (d->http_started) {
		baton_http_server_close(&d->http, http_closed_cb);
		d->http_started = false;
	}
	if (d->events_ready) {
		/* cancels the Events in flight: the controller that recorded
		 * them has stopped */
		baton_kube_recorder_close(&d->events, NULL);
		d->events_ready = false;
	}
	if (d->kube_ready) {
		baton_kube_client_close(&d->kube, kube_closed_cb);
		d->kube_ready = false;
	}
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	baton_looplag_stop(&d->loop_lag);
	baton_heaptrim_stop(&d->heap_trim);
}

static void peertoken_closed_cb(struct baton_peertoken *p)
{
	struct baton_batond *d = p->data;
	d->peertoken_open = false;
	if (d->raft_open) {
		baton_raftglue_close(&d->raft, raft_stopped_cb);
	} else {
		raft_stopped_cb(&d->raft);
	}
}

/* The peer tokens stop before Raft: a mint in flight answers on the peer
 * API, which Raft's side owns. */
static void controller_stopped_cb(struct baton_controller *c)
{
	struct baton_batond *d = c->data;
	d->controller = NULL;
	if (d->raft_open) {
		/* the controller acted on the FSM until now (its entry points
		 * refuse work while it stops); from here the region reports
		 * nothing, as before it started */
		baton_raftglue_observe(&d->raft, NULL);
	}
	if (d->peertoken_open) {
		baton_peertoken_close(&d->peertoken, peertoken_closed_cb);
	} else if (d->raft_open) {
		baton_raftglue_close(&d->raft, raft_stopped_cb);
	} else {
		raft_stopped_cb(&d->raft);
	}
}

void baton_batond_stop(struct baton_batond *d, int exit_code)
{
	if (d->stopping) {
		return;
	}
	d->stopping = true;
	d->exit_code = exit_code;
	baton_applyseed_cancel(&d->seed);
	if (d->seed_timer_open) {
		uv_close((uv_handle_t *)&d->seed_timer, NULL);
		d->seed_timer_open = false;
	}
	if (d->controller != NULL) {
		baton_controller_close(d->controller, controller_stopped_cb);
	} else {
		controller_stopped_cb(&d->ctl);
	}
}

/* The agent API's identities (batond/agentpki.h), or a loud warning that
 * there are none. */
static int start_agent_pki(struct baton_batond *d)
{
	char host[256];
	const char *h = strstr(d->batond_url, "://");
	size_t n;
	int rv;

	if (d->cfg->agent_ca_cert == NULL) {
		baton_log(BATON_LOG_WARN, "batond",
			  "the agent API has no TLS (agentApi.caCert is not "
			  "set): any pod that reaches a database pod can "
			  "order its agent, and agents ask for their lease "
			  "in plain HTTP");
		return 0;
	}
	/* batond's own certificate names the host the agents dial */
	h = h != NULL ? h + 3 : d->batond_url;
	if (*h == '[') {
		h++;
		n = strcspn(h, "]");
	} else {
		n = strcspn(h, ":/");
	}
	snprintf(host, sizeof host, "%.*s", (int)(n < sizeof host ? n : 0), h);
	rv = baton_agentpki_init(&d->agent_pki, d->cfg->agent_ca_cert,
				 d->cfg->agent_ca_key, d->cfg->region, host,
				 getenv("POD_NAME") != NULL ? d->cfg->ns : NULL,
				 d->errmsg);
	if (rv == 0) {
		baton_log_kv(
		    BATON_LOG_INFO, "batond",
		    json_pack("{s:s, s:s}", "identity",
			      baton_agentpki_batond_identity(d->agent_pki),
			      "url", d->batond_url),
		    "agent API: mutual TLS, agents obey %s",
		    baton_agentpki_batond_identity(d->agent_pki));
	}
	return rv;
}

static int start_http(struct baton_batond *d)
{
	struct baton_http_config hc = {0};
	char host[256];
	int port;
	int rv;

	rv = baton_split_host_port(d->cfg->http_bind, host, sizeof host, &port);
	if (rv != 0) {
		baton_errmsg_printf(d->errmsg, "http.bind %s: not host:port",
				    d->cfg->http_bind);
		return rv;
	}
	rv = baton_http_server_init(d->loop, &d->http, &hc);
	if (rv != 0) {
		baton_errmsg_printf(d->errmsg, "HTTP server: %s",
				    d->http.errmsg);
		return rv;
	}
	if (baton_http_route(&d->http, "GET", "/healthz", healthz, d) != 0 ||
	    baton_http_route(&d->http, "GET", "/readyz", readyz, d) != 0 ||
	    baton_http_route(&d->http, "GET", "/metrics", metrics, d) != 0 ||
	    baton_http_route(&d->http, "GET", "/v1/status", status, d) != 0) {
		baton_errmsg_printf(d->errmsg, "HTTP routes: table full");
		return BATON_EINTERNAL;
	}
	d->http_started = true;
	rv = baton_http_server_listen(&d->http, host, port);
	if (rv != 0) {
		baton_errmsg_printf(d->errmsg, "HTTP listen on %s: %s",
				    d->cfg->http_bind, d->http.errmsg);
		return rv;
	}
	baton_log_kv(BATON_LOG_INFO, "batond",
		     json_pack("{s:s, s:i}", "host", host, "port",
			       baton_http_server_port(&d->http)),
		     "serving /healthz, /readyz, /metrics, /v1/status");
	/* where the agents reach this batond's agent API (their lease) */
	if (d->cfg->agent_api_url != NULL) {
		snprintf(d->batond_url, sizeof d->batond_url, "%s",
			 d->cfg->agent_api_url);
	} else if (baton_split_host_port(d->cfg->agent_api_bind, host,
					 sizeof host, &port) == 0) {
		const char *ip = getenv("POD_IP");
		if (strcmp(host, "0.0.0.0") == 0) {
			snprintf(host, sizeof host, "%s",
				 ip && ip[0] ? ip : "127.0.0.1");
		}
		snprintf(d->batond_url, sizeof d->batond_url, "%s://%s:%d",
			 d->cfg->agent_ca_cert != NULL ? "https" : "http", host,
			 port);
	}
	return start_agent_pki(d);
}

static int start_kube(struct baton_batond *d)
{
	struct baton_kube_config kc;
	struct baton_kube_client_opts opts = {.qps = d->cfg->kube_qps,
					      .burst = (int)d->cfg->kube_burst,
					      .user_agent =
						  "batond/" BATON_VERSION};
	int rv;

	if (d->cfg->kubeconfig != NULL) {
		rv = baton_kube_config_load_file(&kc, d->cfg->kubeconfig, NULL);
	} else {
		rv = baton_kube_config_in_cluster(&kc, NULL);
	}
	if (rv != 0) {
		baton_errmsg_printf(d->errmsg, "%s", kc.errmsg);
		baton_kube_config_free(&kc);
		return rv;
	}
	rv = baton_kube_client_init(d->loop, &d->kube, &kc, &opts);
	baton_kube_config_free(&kc);
	if (rv != 0) {
		baton_errmsg_printf(d->errmsg, "kube client: %s",
				    d->kube.errmsg);
		return rv;
	}
	d->kube_ready = true;
	rv = baton_events_init(&d->kube, &d->events, d->cfg->region);
	if (rv != 0) {
		baton_errmsg_printf(d->errmsg, "event recorder: %s",
				    baton_strerror(rv));
		return rv;
	}
	d->events_ready = true;
	baton_log(BATON_LOG_INFO, "batond",
		  "kube client: %s, at most %g requests/s, %u at once",
		  d->kube.cfg.server, d->cfg->kube_qps, d->cfg->kube_burst);
	return 0;
}

static int start_peertoken(struct baton_batond *d)
{
	struct baton_peertoken_config pc = {
	    .cfg = d->cfg,
	    .metrics = &d->metrics,
	    .kube = &d->kube,
	};
	int rv;

	/* on failure it closed what it opened (on the loop, which runs
	 * until empty before d goes) */
	rv = baton_peertoken_init(d->loop, &d->peertoken, &pc, d->errmsg);
	d->peertoken_open = rv == 0;
	return rv;
}

static int start_raft(struct baton_batond *d)
{
	struct baton_raftglue_config rc = {
	    .cfg = d->cfg,
	    .metrics = &d->metrics,
	    .peertoken = d->peertoken_open ? &d->peertoken : NULL,
	    .fatal = raft_fatal,
	    .data = d,
	};
	int rv;

	/* on failure raftglue closed what it opened (some of it on the
	 * loop, which runs until empty before d goes) */
	rv = baton_raftglue_init(d->loop, &d->raft, &rc, d->errmsg);
	d->raft_open = rv == 0;
	return rv;
}

/* The controller gets what it reads of the daemon in its config; on
 * failure it closed what it opened (some of it on the loop, which runs
 * until empty before d goes). */
static int start_controller(struct baton_batond *d)
{
	struct baton_controller_config cc = {
	    .cfg = d->cfg,
	    .scope = &d->scope,
	    .kube = &d->kube,
	    .events = &d->events,
	    .consensus = d->consensus,
	    .batond_url = d->batond_url,
	    .agent_pki = d->agent_pki,
	    .applied = &d->applied,
	    .echoes = &d->echoes,
	    .m_reconciles = d->m_reconciles,
	    .m_reconcile_seconds = d->m_reconcile_seconds,
	    .m_queue_depth = d->m_queue_depth,
	    .m_epoch = d->m_epoch,
	    .m_primary = d->m_primary,
	    .m_failover_step = d->m_failover_step,
	};
	int rv;

	rv = baton_controller_init(d->loop, &d->ctl, &cc, d->errmsg);
	d->controller = rv == 0 ? &d->ctl : NULL;
	return rv;
}

/* The controller, and Raft's observer pointed at it; stops batond if it
 * cannot start. */
static void start_controller_observed(struct baton_batond *d)
{
	struct baton_raft_observer obs = {
	    .fsm_changed = obs_fsm_changed,
	    .promoted = obs_promoted,
	    .became_leader = obs_became_leader,
	    .region_report = obs_region_report,
	    .final_report = obs_final_report,
	    .designate = obs_designate,
	};
	int rv;

	if (d->stopping || d->controller != NULL) {
		return;
	}
	rv = start_controller(d);
	if (rv != 0) {
		baton_log(BATON_LOG_ERROR, "batond", "cannot start: %s",
			  d->errmsg);
		baton_batond_stop(d, rv == BATON_ECONFIG ? 2 : 1);
		return;
	}
	obs.data = d->controller;
	baton_raftglue_observe(&d->raft, &obs);
}

/* The sets of the databases no reconcile reached in a refresh period
 * after the start (children of databases deleted while batond was down)
 * go. */
static void seed_expired_cb(uv_timer_t *t)
{
	struct baton_batond *d = t->data;
	unsigned n = baton_applyhash_drop_seeded(&d->applied);

	if (n > 0) {
		baton_log(BATON_LOG_INFO, "applyseed",
			  "dropped the seeded children of %u databases no "
			  "reconcile reached",
			  n);
	}
}

static void seed_wait_cb(uv_timer_t *t)
{
	struct baton_batond *d = t->data;

	baton_log(BATON_LOG_WARN, "applyseed",
		  "reading the children's stamps takes longer than %u s "
		  "(%u children in %u pages so far): starting the "
		  "controller; what it has not read yet is applied again",
		  BATON_APPLYSEED_WAIT_MS / 1000, d->seed.listed,
		  d->seed.pages);
	start_controller_observed(d);
	uv_timer_start(&d->seed_timer, seed_expired_cb,
		       baton_applyhash_period(&d->applied), 0);
}

static void seed_done_cb(struct baton_applyseed *s)
{
	struct baton_batond *d = s->data;

	if (s->error == BATON_ECANCELED || d->stopping) {
		return;
	}
	if (s->error != 0) {
		baton_log(BATON_LOG_WARN, "applyseed",
			  "stopped reading the children's stamps: %s; what it "
			  "has not read is applied again",
			  s->errmsg[0] ? s->errmsg : baton_strerror(s->error));
	}
	baton_log(BATON_LOG_INFO, "applyseed",
		  "%u children read in %u pages in %llu ms, %u stamps taken: "
		  "unchanged children are not applied again",
		  s->listed, s->pages,
		  (unsigned long long)(baton_mono_ms() - d->seed_started_ms),
		  s->seeded);
	/* the period grew with every database seeded: the refreshes after
	 * this start spread over the whole of it */
	baton_applyhash_seed_spread(&d->applied, baton_mono_ms());
	if (d->controller == NULL) {
		start_controller_observed(d);
		uv_timer_start(&d->seed_timer, seed_expired_cb,
			       baton_applyhash_period(&d->applied), 0);
	}
}

/* Seeds the applied sets (batond/applyseed.h), then starts the
 * controller; without a seed, the controller at once. */
static void start_seed(struct baton_batond *d)
{
	int rv;

	uv_timer_init(d->loop, &d->seed_timer);
	d->seed_timer.data = d;
	d->seed_timer_open = true;
	d->seed.data = d;
	d->seed_started_ms = baton_mono_ms();
	rv = baton_applyseed_start(&d->seed, &d->kube, &d->applied,
				   baton_scope_namespaces(&d->scope),
				   seed_done_cb);
	if (rv != 0) {
		baton_log(BATON_LOG_WARN, "applyseed",
			  "cannot read the children's stamps (%s): every "
			  "child is applied again",
			  d->seed.errmsg[0] ? d->seed.errmsg
					    : baton_strerror(rv));
		start_controller_observed(d);
		return;
	}
	uv_timer_start(&d->seed_timer, seed_wait_cb, BATON_APPLYSEED_WAIT_MS,
		       0);
}

int baton_batond_run(struct baton_batond_config *cfg)
{
	struct baton_batond d;
	uv_loop_t loop;
	int rv;

	memset(&d, 0, sizeof d);
	d.cfg = cfg;
	d.raft.data = &d;
	d.peertoken.data = &d;
	d.ctl.data = &d;
	d.loop = &loop;
	uv_loop_init(&loop);
	baton_metrics_init(&d.metrics);
	uv_signal_init(&loop, &d.sigterm);
	uv_signal_init(&loop, &d.sigint);
	d.sigterm.data = &d;
	d.sigint.data = &d;
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	signal(SIGPIPE, SIG_IGN);

	baton_log(BATON_LOG_INFO, "batond", "starting region %s with %zu peers",
		  cfg->region, cfg->n_peers);
	baton_scope_init(&d.scope, cfg);
	baton_applyhash_init(&d.applied, BATON_MAX_DATABASES,
			     BATON_APPLYHASH_REFRESH_MS);
	baton_statusecho_init(&d.echoes, BATON_MAX_DATABASES);
	baton_designation_init(&d.desig);
	if ((rv = add_metrics(&d)) != 0 ||
	    (rv = baton_looplag_start(&d.loop_lag, &d.metrics, &loop)) != 0 ||
	    (rv = baton_heaptrim_start(&d.heap_trim, &d.metrics, &loop)) != 0) {
		baton_errmsg_printf(d.errmsg, "metrics: out of memory");
	} else if ((rv = baton_kubemetrics_start(&d.kube_metrics, &d.metrics,
						 &loop, cfg, &d.kube)) != 0) {
		baton_errmsg_printf(d.errmsg, "kube client metrics: %s",
				    rv == BATON_ETOOLARGE
					? "more loops than observable"
					: "out of memory");
	} else if ((rv = start_kube(&d)) == 0 && (rv = start_http(&d)) == 0 &&
		   (rv = start_peertoken(&d)) == 0 &&
		   (rv = start_raft(&d)) == 0) {
		d.consensus = baton_raftglue_ops(&d.raft);
		start_seed(&d);
	}
	if (rv != 0) {
		baton_log(BATON_LOG_ERROR, "batond", "cannot start: %s",
			  d.errmsg);
		baton_batond_stop(&d, rv == BATON_ECONFIG ? 2 : 1);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	baton_kubemetrics_stop(&d.kube_metrics);
	rv = uv_loop_close(&loop);
	if (rv != 0) {
		baton_log(BATON_LOG_ERROR, "batond",
			  "handles left open at exit (a bug): %s",
			  uv_strerror(rv));
	}
	baton_metrics_free(&d.metrics);
	baton_agentpki_free(d.agent_pki);
	baton_applyhash_free(&d.applied);
	baton_statusecho_free(&d.echoes);
	baton_designation_free(&d.desig);
	baton_scope_free(&d.scope);
	baton_log(BATON_LOG_INFO, "batond", "stopped");
	return d.exit_code;
}
