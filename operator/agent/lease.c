/* The agent's lease questions to batond; see lease.h for the argument. */
#include "agent/lease.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/version.h"
#include "kube/config.h"

bool baton_lease_parse_answer(json_t *body, uint64_t *epoch, uint64_t *grant,
			      unsigned *ask_ms)
{
	json_t *e = json_object_get(body, "epoch");
	json_t *g = json_object_get(body, "grantMillis");
	json_t *a = json_object_get(body, "askEveryMillis");

	if (!json_is_object(body) || !json_is_integer(e) ||
	    json_integer_value(e) < 0 || !json_is_integer(g) ||
	    json_integer_value(g) < 0 || json_integer_value(g) > 3600 * 1000) {
		return false;
	}
	*epoch = (uint64_t)json_integer_value(e);
	*grant = (uint64_t)json_integer_value(g);
	if (json_is_integer(a)) {
		json_int_t v = json_integer_value(a);
		*ask_ms = v < BATON_LEASE_ASK_MIN_MS   ? BATON_LEASE_ASK_MIN_MS
			  : v > BATON_LEASE_ASK_MAX_MS ? BATON_LEASE_ASK_MAX_MS
						       : (unsigned)v;
	}
	return true;
}

/* ---- the question ----------------------------------------------------- */

static void ask(struct baton_lease_asker *k);

static void answer_cb(struct baton_kube_request *req, int status)
{
	struct baton_lease_asker *k = req->data;
	struct baton_lease_answer ans = k->sent;
	unsigned every = k->ask_ms;

	k->pending = false;
	if (k->closing) {
		return;
	}
	if (status == 0 && !baton_lease_parse_answer(req->result, &ans.epoch,
						     &ans.grant_ms, &every)) {
		status = BATON_EPARSE;
		snprintf(req->errmsg, sizeof req->errmsg,
			 "batond's lease answer is not {epoch, grantMillis}");
	}
	if (status != 0) {
		k->failed++;
		baton_errmsg_printf(k->errmsg, "%s", req->errmsg);
		k->cb(k, &k->sent, status);
		return;
	}
	k->answered++;
	k->rtt_ms = k->now(k) - k->sent.sent_ms;
	if (every != k->ask_ms) {
		k->ask_ms = every;
		uv_timer_set_repeat(&k->timer, every);
	}
	k->cb(k, &ans, 0);
}

static void ask(struct baton_lease_asker *k)
{
	char *body, *sync = NULL;
	size_t size;
	int rv;

	if (k->pending || k->closing) {
		return;
	}
	if (k->sync != NULL) {
		json_t *sc = k->sync(k);

		sync = sc != NULL
			   ? json_dumps(sc, JSON_COMPACT | JSON_ENCODE_ANY)
			   : NULL;
		json_decref(sc);
		if (sync == NULL) {
			return; /* out of memory: the timer asks again */
		}
	}
	size = sizeof k->body + 64 + (sync != NULL ? strlen(sync) : 0);
	if ((body = malloc(size)) == NULL) {
		free(sync);
		return;
	}
	k->sent.sent_ms = k->now(k);
	k->sent.gen = k->gen(k);
	k->sent.epoch = k->epoch(k);
	k->sent.grant_ms = 0;
	/* The pod's identity goes in the body; batond checks it against
	 * the connection (its address, or the client certificate). */
	snprintf(body, size, "%s%" PRIu64 "%s%s}", k->body, k->sent.epoch,
		 sync != NULL ? ",\"syncConfig\":" : "",
		 sync != NULL ? sync : "");
	free(sync);
	k->req.data = k;
	rv = baton_kube_request_start(
	    &k->client, &k->req, "POST", "/v1/lease", "application/json", body,
	    (long)(2 * k->ask_ms < 500 ? 500 : 2 * k->ask_ms), NULL, answer_cb);
	free(body);
	if (rv == 0) {
		k->pending = true;
		k->asked++;
	}
}

static void timer_cb(uv_timer_t *t)
{
	ask(t->data);
}

int baton_lease_asker_init(uv_loop_t *loop, struct baton_lease_asker *k,
			   const struct baton_lease_asker_config *cfg)
{
	struct baton_kube_client_opts opts = {
	    .qps = -1, .user_agent = "baton-agent/" BATON_VERSION " (lease)"};
	struct baton_kube_config kc;
	json_t *ns, *pod;
	int rv;

	memset(k, 0, sizeof *k);
	k->loop = loop;
	k->ask_ms = BATON_LEASE_ASK_DEFAULT_MS;
	k->now = cfg->now;
	k->gen = cfg->gen;
	k->epoch = cfg->epoch;
	k->sync = cfg->sync;
	k->cb = cfg->cb;
	/* the names go into JSON: escape them with jansson */
	ns = json_string(cfg->pod_namespace ? cfg->pod_namespace : "");
	pod = json_string(cfg->pod_name ? cfg->pod_name : "");
	{
		char *n = ns ? json_dumps(ns, JSON_ENCODE_ANY) : NULL;
		char *p = pod ? json_dumps(pod, JSON_ENCODE_ANY) : NULL;
		int len = n && p ? snprintf(k->body, sizeof k->body,
					    "{\"namespace\":%s,\"pod\":%s,"
					    "\"epoch\":",
					    n, p)
				 : -1;
		free(n);
		free(p);
		json_decref(ns);
		json_decref(pod);
		if (len < 0 || (size_t)len + 24 >= sizeof k->body) {
			baton_errmsg_printf(k->errmsg,
					    "pod name or namespace too long");
			return BATON_EINVAL;
		}
	}
	rv = baton_kube_config_for_url(&kc, cfg->url, cfg->ca_file,
				       cfg->cert_file, cfg->key_file,
				       "batond URL");
	if (rv == 0) {
		rv = baton_kube_client_init(loop, &k->client, &kc, &opts);
		if (rv != 0) {
			baton_errmsg_printf(k->errmsg, "%s", k->client.errmsg);
		}
	} else {
		baton_errmsg_printf(k->errmsg, "%s", kc.errmsg);
	}
	baton_kube_config_free(&kc);
	if (rv != 0) {
		return rv;
	}
	k->client.data = k;
	uv_timer_init(loop, &k->timer);
	k->timer.data = k;
	k->started = true;
	uv_timer_start(&k->timer, timer_cb, 0, k->ask_ms);
	return 0;
}

void baton_lease_asker_kick(struct baton_lease_asker *k)
{
	if (k->started) {
		ask(k);
	}
}

static void one_closed(struct baton_lease_asker *k)
{
	if (--k->open == 0 && k->close_cb != NULL) {
		k->close_cb(k);
	}
}

static void timer_closed_cb(uv_handle_t *h)
{
	one_closed(h->data);
}

static void client_closed_cb(struct baton_kube_client *c)
{
	one_closed(c->data);
}

void baton_lease_asker_close(struct baton_lease_asker *k,
			     void (*close_cb)(struct baton_lease_asker *k))
{
	k->close_cb = close_cb;
	if (!k->started) {
		if (close_cb != NULL) {
			close_cb(k);
		}
		return;
	}
	k->closing = true;
	k->started = false;
	k->open = 2;
	uv_close((uv_handle_t *)&k->timer, timer_closed_cb);
	/* cancels the question in flight; its callback sees closing */
	baton_kube_client_close(&k->client, client_closed_cb);
}
