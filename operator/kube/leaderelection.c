/* Lease-based leader election.
 *
 * Happy path: start() → cycle(): GET the Lease → (404) create it holding it,
 * or decide() → TAKE/RENEW → PUT guarded by metadata.resourceVersion →
 * write_cb: leading; next cycle after retry_period.
 *
 * Failure paths: a failed GET/PUT (including the 409 of a lost race) is one
 * failed cycle; a leader whose last successful renew is older than
 * renew_deadline stops leading (on_stopped_leading) and keeps trying to
 * re-acquire like everyone else. WAIT (someone else's live lease) while we
 * think we lead means we lost it: stop at once.
 *
 * Cancel path: close() stops the timer and cancels a request in flight; if
 * leading with release_on_cancel it first PUTs an empty holderIdentity,
 * then finishes (whatever the PUT's outcome).
 */
#include "kube/leaderelection.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"

#define JITTER 1.2

static const char *spec_str(json_t *lease, const char *field)
{
	const char *s = json_string_value(
	    json_object_get(json_object_get(lease, "spec"), field));
	return s ? s : "";
}

static json_int_t spec_int(json_t *lease, const char *field)
{
	return json_integer_value(
	    json_object_get(json_object_get(lease, "spec"), field));
}

enum baton_kube_lease_action
baton_kube_lease_decide(json_t *lease, const char *identity,
			uint64_t lease_duration_ms,
			struct baton_kube_lease_observed *obs, uint64_t now_ms)
{
	const char *holder = spec_str(lease, "holderIdentity");
	json_int_t dur = spec_int(lease, "leaseDurationSeconds");
	char rec[1024];

	snprintf(rec, sizeof rec, "%s|%s|%s|%lld|%lld", holder,
		 spec_str(lease, "acquireTime"), spec_str(lease, "renewTime"),
		 (long long)dur,
		 (long long)spec_int(lease, "leaseTransitions"));
	if (obs->record == NULL || strcmp(obs->record, rec) != 0) {
		char *copy = strdup(rec);
		if (copy != NULL) {
			free(obs->record);
			obs->record = copy;
		}
		obs->time_ms = now_ms;
	}
	if (holder[0] == '\0') {
		return BATON_KUBE_LEASE_TAKE;
	}
	if (strcmp(holder, identity) == 0) {
		return BATON_KUBE_LEASE_RENEW;
	}
	if (dur > 0) {
		lease_duration_ms = (uint64_t)dur * 1000;
	}
	if (obs->time_ms + lease_duration_ms > now_ms) {
		return BATON_KUBE_LEASE_WAIT;
	}
	return BATON_KUBE_LEASE_TAKE;
}

static void cycle(struct baton_kube_leader *le);
static void maybe_closed(struct baton_kube_leader *le);

static void timer_cb(uv_timer_t *t)
{
	struct baton_kube_leader *le = t->data;
	if (!le->req_active && !le->closing) {
		cycle(le);
	}
}

static void schedule_next(struct baton_kube_leader *le)
{
	uint64_t d = le->o.retry_period_ms;
	if (!le->leading) {
		double r = (double)(rand_r(&le->rng) % 1000) / 1000.0;
		d += (uint64_t)((double)d * (JITTER - 1.0) * r);
	}
	uv_timer_start(&le->timer, timer_cb, d, 0);
}

static void set_holder(struct baton_kube_leader *le, const char *holder)
{
	if (le->holder != NULL && strcmp(le->holder, holder) == 0) {
		return;
	}
	free(le->holder);
	le->holder = strdup(holder);
	if (le->o.on_new_leader != NULL) {
		le->o.on_new_leader(le, holder);
	}
}

static void stop_leading(struct baton_kube_leader *le, const char *why)
{
	if (!le->leading) {
		return;
	}
	le->leading = false;
	BATON_WARN("kube", "leader election %s/%s: %s stopped leading: %s",
		   le->ns, le->name, le->identity, why);
	if (le->o.on_stopped_leading != NULL) {
		le->o.on_stopped_leading(le);
	}
}

static void cycle_failed(struct baton_kube_leader *le)
{
	if (le->leading && uv_now(le->client->loop) - le->last_renew_ms >
			       le->o.renew_deadline_ms) {
		stop_leading(le, "renew deadline passed");
	}
	schedule_next(le);
}

static void remember(struct baton_kube_leader *le, json_t *lease)
{
	json_decref(le->lease);
	le->lease = json_incref(lease);
}

static void write_cb(struct baton_kube_request *req, int status)
{
	struct baton_kube_leader *le = req->data;

	le->req_active = false;
	if (le->closing) {
		maybe_closed(le);
		return;
	}
	if (status == BATON_ECANCELED) {
		return;
	}
	if (status != 0) {
		memcpy(le->errmsg, req->errmsg, sizeof le->errmsg);
		cycle_failed(le);
		return;
	}
	remember(le, req->result);
	(void)baton_kube_lease_decide(req->result, le->identity,
				      le->o.lease_duration_ms, &le->obs,
				      uv_now(le->client->loop));
	le->last_renew_ms = uv_now(le->client->loop);
	set_holder(le, le->identity);
	if (!le->leading) {
		le->leading = true;
		BATON_INFO("kube", "leader election %s/%s: %s is leading",
			   le->ns, le->name, le->identity);
		if (le->o.on_started_leading != NULL) {
			le->o.on_started_leading(le);
		}
	}
	if (!le->closing) {
		schedule_next(le);
	}
}

static struct baton_kube_ref lease_ref(struct baton_kube_leader *le)
{
	struct baton_kube_ref r = {
	    "coordination.k8s.io", "v1", "leases", le->ns, le->name, NULL};
	return r;
}

static int send_lease(struct baton_kube_leader *le, json_t *lease, bool create,
		      baton_kube_request_cb cb)
{
	struct baton_kube_ref r = lease_ref(le);
	int rv;

	le->req.data = le;
	rv = create
		 ? baton_kube_create(le->client, &le->req, &r, lease, NULL, cb)
		 : baton_kube_update(le->client, &le->req, &r, lease, NULL, cb);
	if (rv == 0) {
		le->req_active = true;
	} else {
		memcpy(le->errmsg, le->req.errmsg, sizeof le->errmsg);
	}
	return rv;
}

static void get_cb(struct baton_kube_request *req, int status)
{
	struct baton_kube_leader *le = req->data;
	uint64_t now = uv_now(le->client->loop);
	char ts[40];
	json_t *lease;
	enum baton_kube_lease_action a;
	bool ours;

	le->req_active = false;
	if (le->closing) {
		maybe_closed(le);
		return;
	}
	if (status == BATON_ECANCELED) {
		return;
	}
	baton_clock_rfc3339(ts, sizeof ts, 6);
	if (status == BATON_ENOTFOUND) {
		lease = json_pack(
		    "{s:s,s:s,s:{s:s,s:s},s:{s:s,s:I,s:s,s:s,s:i}}",
		    "apiVersion", "coordination.k8s.io/v1", "kind", "Lease",
		    "metadata", "name", le->name, "namespace", le->ns, "spec",
		    "holderIdentity", le->identity, "leaseDurationSeconds",
		    (json_int_t)(le->o.lease_duration_ms / 1000), "acquireTime",
		    ts, "renewTime", ts, "leaseTransitions", 0);
		if (lease == NULL || send_lease(le, lease, true, write_cb)) {
			cycle_failed(le);
		}
		json_decref(lease);
		return;
	}
	if (status != 0) {
		memcpy(le->errmsg, req->errmsg, sizeof le->errmsg);
		cycle_failed(le);
		return;
	}
	remember(le, req->result);
	a = baton_kube_lease_decide(req->result, le->identity,
				    le->o.lease_duration_ms, &le->obs, now);
	set_holder(le, spec_str(req->result, "holderIdentity"));
	if (a == BATON_KUBE_LEASE_WAIT) {
		stop_leading(le, "another holder has the lease");
		schedule_next(le);
		return;
	}
	ours = a == BATON_KUBE_LEASE_RENEW;
	lease = json_deep_copy(req->result);
	if (lease == NULL) {
		cycle_failed(le);
		return;
	}
	{
		json_t *spec = json_object_get(lease, "spec");
		if (!json_is_object(spec)) {
			spec = json_object();
			json_object_set_new(lease, "spec", spec);
		}
		json_object_set_new(spec, "holderIdentity",
				    json_string(le->identity));
		json_object_set_new(
		    spec, "leaseDurationSeconds",
		    json_integer((json_int_t)(le->o.lease_duration_ms / 1000)));
		json_object_set_new(spec, "renewTime", json_string(ts));
		if (!ours) {
			json_object_set_new(spec, "acquireTime",
					    json_string(ts));
			json_object_set_new(
			    spec, "leaseTransitions",
			    json_integer(
				spec_int(req->result, "leaseTransitions") + 1));
		}
	}
	if (send_lease(le, lease, false, write_cb) != 0) {
		cycle_failed(le);
	}
	json_decref(lease);
}

static void cycle(struct baton_kube_leader *le)
{
	struct baton_kube_ref r = lease_ref(le);
	int rv;

	le->req.data = le;
	rv = baton_kube_get(le->client, &le->req, &r, get_cb);
	if (rv != 0) {
		memcpy(le->errmsg, le->req.errmsg, sizeof le->errmsg);
		if (rv != BATON_ESHUTDOWN) {
			cycle_failed(le);
		}
		return;
	}
	le->req_active = true;
}

int baton_kube_leader_init(struct baton_kube_client *c,
			   struct baton_kube_leader *le,
			   const struct baton_kube_leader_opts *opts)
{
	void *data = le->data;

	memset(le, 0, sizeof *le);
	le->data = data;
	if (opts->ns == NULL || opts->name == NULL || opts->identity == NULL ||
	    opts->identity[0] == '\0') {
		baton_errmsg_printf(le->errmsg,
				    "leader election: namespace, "
				    "name and identity are required");
		return BATON_EINVAL;
	}
	le->client = c;
	le->o = *opts;
	if (le->o.lease_duration_ms == 0) {
		le->o.lease_duration_ms = 15000;
	}
	if (le->o.renew_deadline_ms == 0) {
		le->o.renew_deadline_ms = 10000;
	}
	if (le->o.retry_period_ms == 0) {
		le->o.retry_period_ms = 2000;
	}
	/* client-go's validation. */
	if (le->o.lease_duration_ms <= le->o.renew_deadline_ms ||
	    (double)le->o.renew_deadline_ms <=
		JITTER * (double)le->o.retry_period_ms ||
	    le->o.lease_duration_ms < 1000) {
		baton_errmsg_printf(le->errmsg,
				    "leader election: need leaseDuration > "
				    "renewDeadline > 1.2 x retryPeriod");
		return BATON_EINVAL;
	}
	le->ns = strdup(opts->ns);
	le->name = strdup(opts->name);
	le->identity = strdup(opts->identity);
	if (le->ns == NULL || le->name == NULL || le->identity == NULL) {
		free(le->ns);
		free(le->name);
		free(le->identity);
		return BATON_ENOMEM;
	}
	le->rng = (unsigned)uv_hrtime();
	uv_timer_init(c->loop, &le->timer);
	le->timer.data = le;
	return 0;
}

int baton_kube_leader_start(struct baton_kube_leader *le)
{
	if (le->closing) {
		return BATON_ESHUTDOWN;
	}
	cycle(le);
	return 0;
}

static void maybe_closed(struct baton_kube_leader *le)
{
	if (!le->timer_closed || le->req_active || le->releasing) {
		return;
	}
	free(le->ns);
	free(le->name);
	free(le->identity);
	free(le->holder);
	free(le->obs.record);
	json_decref(le->lease);
	le->ns = le->name = le->identity = le->holder = le->obs.record = NULL;
	le->lease = NULL;
	if (le->close_cb != NULL) {
		le->close_cb(le);
	}
}

static void timer_closed_cb(uv_handle_t *h)
{
	struct baton_kube_leader *le = h->data;
	le->timer_closed = true;
	maybe_closed(le);
}

static void release_cb(struct baton_kube_request *req, int status)
{
	struct baton_kube_leader *le = req->data;
	le->req_active = false;
	le->releasing = false;
	if (status != 0) {
		BATON_WARN("kube", "leader election %s/%s: release failed: %s",
			   le->ns, le->name, req->errmsg);
	}
	maybe_closed(le);
}

void baton_kube_leader_close(struct baton_kube_leader *le,
			     baton_kube_leader_close_cb close_cb)
{
	bool was_leading = le->leading;

	if (le->closing) {
		return;
	}
	le->closing = true;
	le->close_cb = close_cb;
	uv_timer_stop(&le->timer);
	if (le->req_active) {
		baton_kube_request_cancel(&le->req);
		/* Deferred when inside curl: then req_active stays set and
		 * the callback (which sees closing) clears it. */
	}
	if (was_leading && le->o.release_on_cancel && le->lease != NULL &&
	    !le->req_active) {
		json_t *lease = json_deep_copy(le->lease);
		json_t *spec = json_object_get(lease, "spec");
		char ts[40];
		baton_clock_rfc3339(ts, sizeof ts, 6);
		if (json_is_object(spec)) {
			json_object_set_new(spec, "holderIdentity",
					    json_string(""));
			json_object_set_new(spec, "leaseDurationSeconds",
					    json_integer(1));
			json_object_set_new(spec, "renewTime", json_string(ts));
			json_object_set_new(spec, "acquireTime",
					    json_string(ts));
			le->releasing =
			    send_lease(le, lease, false, release_cb) == 0;
		}
		json_decref(lease);
	}
	if (was_leading) {
		le->leading = false;
		if (le->o.on_stopped_leading != NULL) {
			le->o.on_stopped_leading(le);
		}
	}
	uv_close((uv_handle_t *)&le->timer, timer_closed_cb);
}
