/* Peer watches (batond/peerwatch.h). */
#include "batond/peerwatch.h"

#include <stdio.h>
#include <string.h>

#include "batond/cachefields.h"
#include "common/log.h"
#include "kube/config.h"

/* ["a", "b"] → "a,b" in BUF; NULL when empty. */
static const char *join_names(json_t *arr, char *buf, size_t size)
{
	size_t i;
	json_t *n;
	buf[0] = '\0';
	json_array_foreach(arr, i, n)
	{
		size_t used = strlen(buf);
		if (json_is_string(n) && used < size) {
			snprintf(buf + used, size - used, "%s%s",
				 used ? "," : "", json_string_value(n));
		}
	}
	return buf[0] ? buf : NULL;
}

static void dbc_changed(struct baton_kube_informer *inf, json_t *obj)
{
	struct baton_peerwatch_peer *pw = inf->data;
	char key[160];
	if (!pw->w->stopping &&
	    baton_kube_object_key(obj, key, sizeof key) == 0) {
		pw->w->env.changed(pw->w->env.data, key);
	}
}

static void dbc_add(struct baton_kube_informer *inf, json_t *obj)
{
	dbc_changed(inf, obj);
}

static void dbc_update(struct baton_kube_informer *inf, json_t *old_obj,
		       json_t *new_obj)
{
	/* only the peer's own status matters; ignore our echoes */
	if (!json_equal(json_object_get(old_obj, "status"),
			json_object_get(new_obj, "status"))) {
		dbc_changed(inf, new_obj);
	}
}

static void dbc_delete(struct baton_kube_informer *inf, json_t *obj)
{
	dbc_changed(inf, obj);
}

void baton_peerwatch_start(struct baton_peerwatch *w, uv_loop_t *loop,
			   const struct baton_batond_config *cfg,
			   const char *const *namespaces,
			   const struct baton_peerwatch_env *env)
{
	static const struct baton_kube_informer_handlers h = {
	    dbc_add, dbc_update, dbc_delete};
	struct baton_kube_informer_opts opts = {
	    .group = "baton.dev",
	    .version = "v1alpha1",
	    .resource = "databaseclusters",
	    .retry_cap_ms = BATON_PEER_RETRY_CAP_MS,
	    .namespaces = namespaces,
	    /* a superset of what is read here (status.regions) */
	    .transform = baton_cachefields_dbc,
	};

	memset(w, 0, sizeof *w);
	w->env = *env;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		struct baton_peerwatch_peer *pw = &w->peers[w->n];
		struct baton_kube_config kc;
		struct baton_kube_client_opts co = {
		    .user_agent = "batond/" BATON_VERSION " (peer)"};
		if (cfg->peers[i].kubeconfig == NULL) {
			continue;
		}
		memset(pw, 0, sizeof *pw);
		pw->w = w;
		pw->name = cfg->peers[i].name;
		if (baton_kube_config_load_file(&kc, cfg->peers[i].kubeconfig,
						NULL) != 0) {
			baton_log(BATON_LOG_ERROR, "controller",
				  "peer %s: %s (not watched)", pw->name,
				  kc.errmsg);
			baton_kube_config_free(&kc);
			continue;
		}
		if (baton_kube_client_init(loop, &pw->client, &kc, &co) != 0) {
			baton_log(BATON_LOG_ERROR, "controller",
				  "peer %s: %s (not watched)", pw->name,
				  pw->client.errmsg);
			baton_kube_config_free(&kc);
			continue;
		}
		baton_kube_config_free(&kc);
		if (baton_kube_informer_init(&pw->client, &pw->dbcs, &opts,
					     &h) != 0) {
			baton_log(BATON_LOG_ERROR, "controller",
				  "peer %s: cannot watch (out of memory)",
				  pw->name);
			/* closes on the next loop turns, long before stop;
			 * the slot stays taken (the client is in it) */
			baton_kube_client_close(&pw->client, NULL);
			w->n++;
			continue;
		}
		pw->dbcs.data = pw;
		baton_kube_informer_start(&pw->dbcs);
		pw->watched = true;
		w->n++;
	}
}

static void client_closed_cb(struct baton_kube_client *cl)
{
	struct baton_peerwatch_peer *pw = cl->data;
	struct baton_peerwatch *w = pw->w;
	if (--w->closing == 0) {
		w->env.closed(w->env.data);
	}
}

/* The informer first, then the client it runs on. */
static void informer_closed_cb(struct baton_kube_informer *inf)
{
	struct baton_peerwatch_peer *pw = inf->data;
	pw->client.data = pw;
	baton_kube_client_close(&pw->client, client_closed_cb);
}

bool baton_peerwatch_close(struct baton_peerwatch *w)
{
	w->stopping = true;
	for (int p = 0; p < w->n; p++) {
		w->closing += w->peers[p].watched;
	}
	if (w->closing == 0) {
		return false;
	}
	for (int p = 0; p < w->n; p++) {
		if (!w->peers[p].watched) {
			continue;
		}
		w->peers[p].dbcs.data = &w->peers[p];
		baton_kube_informer_close(&w->peers[p].dbcs,
					  informer_closed_cb);
	}
	return true;
}

/* REGION's entry in OBJ's status.regions, or NULL. */
static json_t *own_entry(json_t *obj, const char *region)
{
	size_t i;
	json_t *reg;
	json_array_foreach(
	    json_object_get(json_object_get(obj, "status"), "regions"), i, reg)
	{
		const char *n = json_string_value(json_object_get(reg, "name"));
		if (n != NULL && strcmp(n, region) == 0) {
			return reg;
		}
	}
	return NULL;
}

static struct baton_peerwatch_peer *peer(struct baton_peerwatch *w,
					 const char *region)
{
	for (int p = 0; p < w->n; p++) {
		if (w->peers[p].watched &&
		    strcmp(w->peers[p].name, region) == 0) {
			return &w->peers[p];
		}
	}
	return NULL;
}

static json_t *entry_of(struct baton_peerwatch_peer *pw, const char *ns,
			const char *name)
{
	char key[160];
	snprintf(key, sizeof key, "%s/%s", ns, name);
	return own_entry(baton_kube_informer_get(&pw->dbcs, key), pw->name);
}

json_t *baton_peerwatch_entry(struct baton_peerwatch *w, const char *ns,
			      const char *name, const char *region)
{
	struct baton_peerwatch_peer *pw = peer(w, region);
	return pw ? entry_of(pw, ns, name) : NULL;
}

const char *baton_peerwatch_sync(struct baton_peerwatch *w, const char *ns,
				 const char *name, const char *region)
{
	struct baton_peerwatch_peer *pw = peer(w, region);
	json_t *reg = pw ? entry_of(pw, ns, name) : NULL;
	return reg ? join_names(json_object_get(reg, "syncStandbys"), pw->sync,
				sizeof pw->sync)
		   : NULL;
}

void baton_peerwatch_observe(struct baton_peerwatch *w,
			     const struct baton_dbspec *spec,
			     struct baton_region_obs *o)
{
	struct baton_peerwatch_peer *pw = peer(w, o->name);
	json_t *reg;

	o->reachable = false;
	if (pw == NULL || !baton_kube_informer_has_synced(&pw->dbcs)) {
		return;
	}
	o->reachable = pw->dbcs.errmsg[0] == '\0';
	reg = entry_of(pw, spec->ns, spec->name);
	if (reg == NULL) {
		return;
	}
	o->ready = json_is_true(json_object_get(reg, "ready"))
		       ? (o->replicas > 0 ? o->replicas : 1)
		       : 0;
	if (json_string_value(json_object_get(reg, "role"))) {
		snprintf(pw->role, sizeof pw->role, "%s",
			 json_string_value(json_object_get(reg, "role")));
		o->role = pw->role;
	}
	if (json_is_integer(json_object_get(reg, "lagBytes"))) {
		o->lag_bytes =
		    json_integer_value(json_object_get(reg, "lagBytes"));
	}
	o->endpoint = json_string_value(json_object_get(reg, "endpoint"));
	o->sync_standbys = join_names(json_object_get(reg, "syncStandbys"),
				      pw->sync, sizeof pw->sync);
}

const char *baton_peerwatch_name(struct baton_peerwatch *w, int p)
{
	return w->peers[p].name;
}

struct baton_kube_client *baton_peerwatch_client(struct baton_peerwatch *w,
						 int p)
{
	return w->peers[p].watched ? &w->peers[p].client : NULL;
}
