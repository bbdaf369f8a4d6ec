/* An informer over a list of namespaces: one shard (an ordinary informer
 * on one namespace) each, feeding the owner's cache and handlers.
 *
 * Happy path: init makes the shards; start starts them; each shard's
 * handler calls (its LIST's synthetic diff, then its watch events, its
 * resyncs) are applied to the owner's cache and passed on to the owner's
 * handlers with the owner as the informer. The owner is synced once every
 * shard is.
 *
 * Invariant (the informer's, kept per key): after every handler call the
 * owner's cache holds exactly the state its handlers have been shown. It
 * holds because namespaces are disjoint: a key ("ns/name") belongs to one
 * shard, which is its only writer, and each shard updates the owner's
 * cache before it calls the owner's handler, as it does its own.
 *
 * Failure paths: a shard retries its own LIST and WATCH; its errors are
 * copied into the owner's errmsg with the namespace. A failed init closes
 * the shards it made in the background, with the block that holds them
 * detached from the owner (the caller may free the owner at once).
 *
 * Cancel path: close() closes every shard; the owner's close_cb runs once
 * the last shard's has, and no handler runs after close() began.
 */
#include "kube/informer_shards.h"

#include <stdlib.h>
#include <string.h>

struct baton_kube_informer_shards {
	struct baton_kube_informer *owner; /* NULL: detached (failed init) */
	size_t n;
	size_t open; /* shards not closed yet */
	/* never moves: shards hold uv handles */
	struct baton_kube_informer shard[];
};

static struct baton_kube_informer *owner_of(struct baton_kube_informer *s,
					    json_t *obj, char *key, size_t len)
{
	struct baton_kube_informer *inf = s->parent;
	if (inf == NULL || inf->closing ||
	    baton_kube_object_key(obj, key, len) != 0) {
		return NULL;
	}
	return inf;
}

static void shard_add(struct baton_kube_informer *s, json_t *obj)
{
	char key[512];
	struct baton_kube_informer *inf = owner_of(s, obj, key, sizeof key);
	if (inf == NULL) {
		return;
	}
	json_object_set(inf->cache, key, obj);
	if (inf->h.on_add != NULL) {
		inf->h.on_add(inf, obj);
	}
}

static void shard_update(struct baton_kube_informer *s, json_t *old_obj,
			 json_t *new_obj)
{
	char key[512];
	struct baton_kube_informer *inf = owner_of(s, new_obj, key, sizeof key);
	if (inf == NULL) {
		return;
	}
	json_object_set(inf->cache, key, new_obj);
	if (inf->h.on_update != NULL) {
		inf->h.on_update(inf, old_obj, new_obj);
	}
}

static void shard_delete(struct baton_kube_informer *s, json_t *obj)
{
	char key[512];
	struct baton_kube_informer *inf = owner_of(s, obj, key, sizeof key);
	if (inf == NULL) {
		return;
	}
	/* OBJ is the shard's (its event or its old cache): alive for the
	 * call whatever the owner's cache held */
	json_object_del(inf->cache, key);
	if (inf->h.on_delete != NULL) {
		inf->h.on_delete(inf, obj);
	}
}

static void shard_closed_cb(struct baton_kube_informer *s)
{
	struct baton_kube_informer_shards *sh = s->data;
	struct baton_kube_informer *inf = sh->owner;

	if (--sh->open > 0) {
		return;
	}
	free(sh);
	if (inf == NULL) {
		return;
	}
	inf->shards = NULL;
	json_decref(inf->cache);
	inf->cache = NULL;
	free(inf->resource);
	inf->resource = NULL;
	if (inf->close_cb != NULL) {
		inf->close_cb(inf);
	}
}

/* Closes the first N shards of SH, detached from any owner. */
static void abandon(struct baton_kube_informer_shards *sh, size_t n)
{
	sh->owner = NULL;
	sh->open = n;
	if (n == 0) {
		free(sh);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		baton_kube_informer_close(&sh->shard[i], shard_closed_cb);
	}
}

int baton_kube_informer_shards_init(
    struct baton_kube_client *c, struct baton_kube_informer *inf,
    const struct baton_kube_informer_opts *opts,
    const struct baton_kube_informer_handlers *h)
{
	static const struct baton_kube_informer_handlers forward = {
	    shard_add, shard_update, shard_delete};
	struct baton_kube_informer_shards *sh;
	void *data = inf->data;
	size_t n = 0, i;
	int rv;

	memset(inf, 0, sizeof *inf);
	inf->data = data;
	if (opts->ns != NULL || opts->version == NULL ||
	    opts->resource == NULL) {
		baton_errmsg_printf(inf->errmsg,
				    "informer: version and resource required, "
				    "and ns or namespaces, not both");
		return BATON_EINVAL;
	}
	for (n = 0; opts->namespaces[n] != NULL; n++) {
		if (opts->namespaces[n][0] == '\0') {
			baton_errmsg_printf(inf->errmsg,
					    "informer: an empty namespace");
			return BATON_EINVAL;
		}
		for (i = 0; i < n; i++) {
			if (strcmp(opts->namespaces[i], opts->namespaces[n]) ==
			    0) {
				baton_errmsg_printf(
				    inf->errmsg,
				    "informer: namespace %s listed twice",
				    opts->namespaces[n]);
				return BATON_EINVAL;
			}
		}
	}
	if (n == 0) {
		baton_errmsg_printf(inf->errmsg, "informer: no namespace");
		return BATON_EINVAL;
	}
	sh = calloc(1, sizeof *sh + n * sizeof sh->shard[0]);
	if (sh == NULL) {
		return BATON_ENOMEM;
	}
	inf->client = c;
	inf->h = *h;
	inf->cache = json_object();
	inf->resource = strdup(opts->resource);
	if (inf->cache == NULL || inf->resource == NULL) {
		rv = BATON_ENOMEM;
		goto err_after_alloc;
	}
	sh->n = n;
	for (i = 0; i < n; i++) {
		struct baton_kube_informer_opts so = *opts;
		so.ns = opts->namespaces[i];
		so.namespaces = NULL;
		sh->shard[i].data = sh;
		rv = baton_kube_informer_init(c, &sh->shard[i], &so, &forward);
		if (rv != 0) {
			baton_errmsg_printf(inf->errmsg, "namespace %s: %s",
					    so.ns, sh->shard[i].errmsg);
			goto err_after_shards;
		}
		sh->shard[i].parent = inf;
	}
	sh->owner = inf;
	inf->shards = sh;
	return 0;

err_after_shards:
	json_decref(inf->cache);
	inf->cache = NULL;
	free(inf->resource);
	inf->resource = NULL;
	abandon(sh, i);
	return rv;

err_after_alloc:
	json_decref(inf->cache);
	inf->cache = NULL;
	free(inf->resource);
	inf->resource = NULL;
	free(sh);
	return rv;
}

int baton_kube_informer_shards_start(struct baton_kube_informer *inf)
{
	struct baton_kube_informer_shards *sh = inf->shards;
	int rv;

	if (inf->closing) {
		return BATON_ESHUTDOWN;
	}
	inf->started = true;
	for (size_t i = 0; i < sh->n; i++) {
		if ((rv = baton_kube_informer_start(&sh->shard[i])) != 0) {
			return rv;
		}
	}
	return 0;
}

bool baton_kube_informer_shards_synced(const struct baton_kube_informer *inf)
{
	const struct baton_kube_informer_shards *sh = inf->shards;

	if (sh == NULL) {
		return false;
	}
	for (size_t i = 0; i < sh->n; i++) {
		if (!baton_kube_informer_has_synced(&sh->shard[i])) {
			return false;
		}
	}
	return true;
}

void baton_kube_informer_shards_close(struct baton_kube_informer *inf,
				      baton_kube_informer_close_cb close_cb)
{
	struct baton_kube_informer_shards *sh = inf->shards;

	inf->closing = true;
	inf->close_cb = close_cb;
	sh->open = sh->n;
	for (size_t i = 0; i < sh->n; i++) {
		baton_kube_informer_close(&sh->shard[i], shard_closed_cb);
	}
}

void baton_kube_informer_shard_failed(struct baton_kube_informer *shard)
{
	if (shard->parent != NULL) {
		baton_errmsg_printf(shard->parent->errmsg, "namespace %s: %s",
				    shard->ns, shard->errmsg);
	}
}
