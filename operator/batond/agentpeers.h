/* The agents' view of the peer regions (batond/agents.h, the env's
 * peer_* callbacks), read from what each peer region's batond wrote in
 * its own DatabaseCluster status and batond watches through that
 * region's API server (batond/peerwatch.h): the primary's endpoints,
 * the address of a region's designated instance, which pod that is, and
 * the primary's synchronous standbys. Synchronous, no I/O: each answer is
 * the watch cache's (borrowed, valid until the next event on it).
 */
#ifndef BATON_BATOND_AGENTPEERS_H
#define BATON_BATOND_AGENTPEERS_H

#include "batond/agents.h"
#include "batond/peerwatch.h"

/* The primary endpoint ("host:port") REGION's batond published for
 * NS/NAME, or NULL. */
const char *baton_agentpeers_endpoint(struct baton_peerwatch *w, const char *ns,
				      const char *name, const char *region);

/* Points ENV's peer_* callbacks (and peer_data) at W. */
void baton_agentpeers_bind(struct baton_agents_env *env,
			   struct baton_peerwatch *w);

#endif /* BATON_BATOND_AGENTPEERS_H */
