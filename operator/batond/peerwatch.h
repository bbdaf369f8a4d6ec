/* Peer watches: every peer region's cluster, watched read-only through the
 * peer's kubeconfig. Each peer's batond writes, in its own cluster, the
 * status of every DatabaseCluster, and in it its own region's entry: how
 * the region is doing (ready, role, lag), where its primary serves
 * (endpoint), its designated instance, its synchronous standbys. This
 * module keeps one client and one DatabaseCluster informer per peer and
 * answers questions about those entries; it never writes.
 *
 * A peer whose kubeconfig cannot be loaded is logged and left unwatched
 * (shown unreachable), never a reason not to run. A peer's watch retries
 * at least every BATON_PEER_RETRY_CAP_MS while the peer is unreachable.
 *
 * Strings handed out (role, synchronous standbys) live in the peer's slot
 * and stay valid until the next question about the same peer.
 */
#ifndef BATON_BATOND_PEERWATCH_H
#define BATON_BATOND_PEERWATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

#include "batond/config.h"
#include "batond/dbspec.h"
#include "batond/status.h"
#include "kube/client.h"
#include "kube/informer.h"

/* A peer's DatabaseCluster watch retries at least every 2 s while the peer
 * is unreachable (not after up to 30 s): once a partition heals, the
 * region must see the new primary's endpoint at once, its old primary
 * rejoins only then. The cost is one failed connection per peer every 2 s
 * while the peer is down. */
#define BATON_PEER_RETRY_CAP_MS 2000

struct baton_peerwatch;

struct baton_peerwatch_peer {
	struct baton_peerwatch *w;
	const char *name; /* borrowed from the config */
	bool watched;	  /* false: its informer could not be set up */
	struct baton_kube_client client;
	struct baton_kube_informer dbcs;
	/* handed-out strings (see above) */
	char role[16];
	char sync[512];
};

struct baton_peerwatch_env {
	void *data;
	/* A peer's status of DB ("ns/name") changed, or the peer's copy
	 * appeared or went away. Not called once closing. */
	void (*changed)(void *data, const char *db);
	/* baton_peerwatch_close() finished (every informer and client
	 * closed). */
	void (*closed)(void *data);
};

struct baton_peerwatch {
	struct baton_peerwatch_env env;
	struct baton_peerwatch_peer peers[BATON_MAX_PEERS];
	int n; /* slots used (see watched) */
	/* Private. */
	int closing;
	bool stopping;
};

/* Watches every peer of CFG that has a kubeconfig, in NAMESPACES (NULL:
 * all). Never fails: a peer that cannot be watched is logged and left
 * out (shown unreachable). */
void baton_peerwatch_start(struct baton_peerwatch *w, uv_loop_t *loop,
			   const struct baton_batond_config *cfg,
			   const char *const *namespaces,
			   const struct baton_peerwatch_env *env);

/* Closes every informer, then its client. Returns true when env.closed
 * will be called; false when nothing was open (no callback). */
bool baton_peerwatch_close(struct baton_peerwatch *w);

/* REGION's own entry in the status its batond wrote for NS/NAME, as seen
 * through REGION's API server (borrowed), or NULL. */
json_t *baton_peerwatch_entry(struct baton_peerwatch *w, const char *ns,
			      const char *name, const char *region);

/* That entry's syncStandbys as "a,b", or NULL. */
const char *baton_peerwatch_sync(struct baton_peerwatch *w, const char *ns,
				 const char *name, const char *region);

/* Fills the peer region O->name of SPEC from its own batond's status:
 * reachable (its watch has synced and is not failing), ready, role, lag,
 * endpoint, synchronous standbys. Unwatched: unreachable. */
void baton_peerwatch_observe(struct baton_peerwatch *w,
			     const struct baton_dbspec *spec,
			     struct baton_region_obs *o);

/* Slot P's name and client, P < n (peer fencing borrows them); the client
 * is NULL when the peer is not watched. */
const char *baton_peerwatch_name(struct baton_peerwatch *w, int p);
struct baton_kube_client *baton_peerwatch_client(struct baton_peerwatch *w,
						 int p);

#endif /* BATON_BATOND_PEERWATCH_H */
