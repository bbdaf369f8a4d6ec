/* The agents' view of the peer regions, from the peer watches
 * (agentpeers.h). */
#include "batond/agentpeers.h"

#include <jansson.h>

/* FIELD of REGION's own entry in its status for NS/NAME, or NULL. */
static const char *entry_field(void *data, const char *ns, const char *name,
			       const char *region, const char *field)
{
	return json_string_value(json_object_get(
	    baton_peerwatch_entry(data, ns, name, region), field));
}

static const char *peer_endpoint(void *data, const char *ns, const char *name,
				 const char *region)
{
	return entry_field(data, ns, name, region, "endpoint");
}

const char *baton_agentpeers_endpoint(struct baton_peerwatch *w, const char *ns,
				      const char *name, const char *region)
{
	return peer_endpoint(w, ns, name, region);
}

static const char *peer_instance(void *data, const char *ns, const char *name,
				 const char *region)
{
	return entry_field(data, ns, name, region, "instanceEndpoint");
}

static const char *peer_designated(void *data, const char *ns, const char *name,
				   const char *region)
{
	return entry_field(data, ns, name, region, "designated");
}

static const char *peer_sync(void *data, const char *ns, const char *name,
			     const char *region)
{
	return baton_peerwatch_sync(data, ns, name, region);
}

void baton_agentpeers_bind(struct baton_agents_env *env,
			   struct baton_peerwatch *w)
{
	env->peer_data = w;
	env->peer_endpoint = peer_endpoint;
	env->peer_instance_endpoint = peer_instance;
	env->peer_designated = peer_designated;
	env->peer_sync_standbys = peer_sync;
}
