/* At batond's start, what its children say they were applied from.
 *
 * batond/applyhash.h keeps, per database, the stamps of the children this
 * process applied, and skips an apply whose stamp is there. Those sets
 * are in memory: a restarted batond used to apply every child of every
 * database again (issue 20: 6,000 server-side applies at 1,000
 * DatabaseClusters, about 30,000 at 5,000, minutes of write load and a
 * memory peak after every restart or upgrade). Every child carries the
 * annotation BATON_ANNOTATION_APPLIED_HASH, the stamp of the desired state
 * its last apply by batond came from, so a LIST of the children says
 * which desired states are live.
 *
 * A seed LISTs, one kind at a time, page by page (SEED_PAGE items, one
 * page held at a time), the kinds batond applies and may list, selected
 * by the label BATON_LABEL_CLUSTER, in every namespace or in each of
 * watchNamespaces, and hands each child's stamp to baton_applyhash_seed()
 * under "ns/<its baton.dev/cluster label>". A stamp is a digest of the
 * whole object (kind, name, namespace, owner, content), so it can only
 * match the desired state of that very child; a wrong label or a stale
 * child costs nothing but a set entry. What a seed does not cover is
 * applied as before:
 * - Secrets: batond may not list them (the chart grants create and patch
 *   only: listing Secrets reads them), and the agent certificate they
 *   hold is issued afresh by every batond process anyway;
 * - a kind batond may not list (403) or the cluster does not serve (404:
 *   Istio, MCS absent), said once at info and not asked for in the other
 *   namespaces (the chart gives every namespace the same rules);
 * - any other error ends the seed early: what was seeded stays (it is
 *   true), the rest is applied.
 *
 * daemon.c starts the controller when the seed is done, or after
 * BATON_APPLYSEED_WAIT_MS if it is not: a late page still seeds the
 * databases no reconcile has reached (applyhash.h's rule: a reconcile's
 * set is never overwritten). Drift in a child while batond was down is
 * repaired within the refresh period after the start (each database's
 * refresh base is set back by a share of it), not at once.
 */
#ifndef BATON_BATOND_APPLYSEED_H
#define BATON_BATOND_APPLYSEED_H

#include <stdbool.h>
#include <stdint.h>

#include "batond/applyhash.h"
#include "kube/rest.h"

/* How long the controller waits for a seed before it starts anyway. */
#define BATON_APPLYSEED_WAIT_MS 30000u

struct baton_applyseed;
typedef void (*baton_applyseed_cb)(struct baton_applyseed *s);

struct baton_applyseed {
	void *data;
	/* What it did, for the log and tests. */
	unsigned listed;       /* children seen */
	unsigned seeded;       /* stamps taken */
	unsigned kinds_absent; /* kinds answered 403 or 404 */
	unsigned pages;	       /* LIST requests answered */
	int error;	       /* what ended it early; 0 */
	char errmsg[BATON_ERRMSG_SIZE];

	/* Private. */
	struct baton_kube_client *kube;
	struct baton_applyhash *applied;
	const char *const *namespaces;
	unsigned kind, ns;
	char *cont; /* the next page's continue token; NULL: first page */
	bool running;
	struct baton_kube_request req;
	baton_applyseed_cb cb;
};

/* Starts seeding APPLIED from KUBE's children in NAMESPACES (NULL: every
 * namespace); CB(S) runs once, when it is over (done, failed or
 * cancelled; S->error says which), never from within this call. 0 or
 * BATON_ENOMEM (nothing started, CB never runs). */
int baton_applyseed_start(struct baton_applyseed *s,
			  struct baton_kube_client *kube,
			  struct baton_applyhash *applied,
			  const char *const *namespaces, baton_applyseed_cb cb);

/* Ends a running seed: its request is cancelled and CB runs with
 * S->error BATON_ECANCELED. Nothing if it is not running. */
void baton_applyseed_cancel(struct baton_applyseed *s);

#endif /* BATON_BATOND_APPLYSEED_H */
