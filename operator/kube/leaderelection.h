/* Leader election on a coordination.k8s.io/v1 Lease, as client-go's
 * tools/leaderelection.
 *
 * Every retry period (jittered ×[1, 1.2) while not leading) the elector
 * GETs the Lease, creates it if missing, and takes or renews it with an
 * RV-guarded PUT. It never trusts the remote timestamps: another holder's
 * lease counts as expired only when the record has not changed for
 * lease_duration of LOCAL time since we first observed it (observedTime).
 * A leader that cannot renew within renew_deadline stops leading. close()
 * with release_on_cancel clears holderIdentity so a successor need not wait
 * for expiry.
 *
 * Clocks: the decision is a pure function (baton_kube_lease_decide) with
 * time passed in; the handle uses uv_now() for durations and the wall clock
 * only to fill acquireTime/renewTime.
 */
#ifndef BATON_KUBE_LEADERELECTION_H
#define BATON_KUBE_LEADERELECTION_H

#include "kube/rest.h"

struct baton_kube_leader;

struct baton_kube_leader_opts {
	const char *ns;
	const char *name;
	const char *identity;
	uint64_t lease_duration_ms; /* 0: 15 s */
	uint64_t renew_deadline_ms; /* 0: 10 s */
	uint64_t retry_period_ms;   /* 0: 2 s */
	bool release_on_cancel;
	void (*on_started_leading)(struct baton_kube_leader *le);
	void (*on_stopped_leading)(struct baton_kube_leader *le);
	/* Holder changed (NULL/"" when nobody holds it). */
	void (*on_new_leader)(struct baton_kube_leader *le,
			      const char *identity);
};

/* ---- the pure part
 * ------------------------------------------------------------ */

enum baton_kube_lease_action {
	BATON_KUBE_LEASE_WAIT,	/* someone else holds a live lease */
	BATON_KUBE_LEASE_TAKE,	/* free or expired: take it (transition+1) */
	BATON_KUBE_LEASE_RENEW, /* ours: renew it */
};

/* What we observed of the lease, and when (local monotonic ms). */
struct baton_kube_lease_observed {
	char *record; /* holder|acquireTime|renewTime|duration|transitions */
	uint64_t time_ms;
};

/* Updates OBS from LEASE (a Lease object) at NOW_MS and decides. */
enum baton_kube_lease_action
baton_kube_lease_decide(json_t *lease, const char *identity,
			uint64_t lease_duration_ms,
			struct baton_kube_lease_observed *obs, uint64_t now_ms);

/* ---- the handle
 * ----------------------------------------------------------------- */

typedef void (*baton_kube_leader_close_cb)(struct baton_kube_leader *le);

struct baton_kube_leader {
	void *data;
	bool leading;
	char *holder; /* last observed holder */
	char errmsg[BATON_ERRMSG_SIZE];

	/* Private. */
	struct baton_kube_client *client;
	struct baton_kube_leader_opts o;
	char *ns, *name, *identity;
	struct baton_kube_request req;
	struct baton_kube_lease_observed obs;
	json_t *lease; /* last Lease seen or written */
	uv_timer_t timer;
	uint64_t last_renew_ms;
	unsigned rng;
	bool req_active;
	bool closing;
	bool releasing;
	bool timer_closed;
	baton_kube_leader_close_cb close_cb;
};

int baton_kube_leader_init(struct baton_kube_client *c,
			   struct baton_kube_leader *le,
			   const struct baton_kube_leader_opts *opts);
int baton_kube_leader_start(struct baton_kube_leader *le);
/* Stops; releases the lease first if leading and release_on_cancel.
 * on_stopped_leading runs if we were leading. */
void baton_kube_leader_close(struct baton_kube_leader *le,
			     baton_kube_leader_close_cb close_cb);

#endif /* BATON_KUBE_LEADERELECTION_H */
