/* watchNamespaces; see scope.h. */
#include "batond/scope.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"

void baton_scope_init(struct baton_scope *s,
		      const struct baton_batond_config *cfg)
{
	char list[512];
	size_t n = 0;

	memset(s, 0, sizeof *s);
	if (cfg->n_watch_namespaces == 0) {
		baton_log(BATON_LOG_INFO, "batond",
			  "managing DatabaseClusters in every namespace "
			  "(watchNamespaces is empty)");
		return;
	}
	s->namespaces = (const char *const *)cfg->watch_namespaces;
	list[0] = '\0';
	for (size_t i = 0; i < cfg->n_watch_namespaces; i++) {
		int m = snprintf(list + n, sizeof list - n, "%s%s",
				 i > 0 ? ", " : "", cfg->watch_namespaces[i]);
		if (m < 0 || (size_t)m >= sizeof list - n) {
			snprintf(list + sizeof list - 5, 5, "...");
			break;
		}
		n += (size_t)m;
	}
	baton_log(BATON_LOG_INFO, "batond",
		  "managing DatabaseClusters only in namespaces %s "
		  "(watchNamespaces): one list and watch per namespace, here "
		  "and in the peers' clusters; DatabaseClusters elsewhere are "
		  "ignored",
		  list);
}

void baton_scope_free(struct baton_scope *s)
{
	json_decref(s->ignored);
	s->ignored = NULL;
}

const char *const *baton_scope_namespaces(const struct baton_scope *s)
{
	return s->namespaces;
}

bool baton_scope_has(const struct baton_scope *s, const char *ns)
{
	if (s == NULL || s->namespaces == NULL) {
		return true;
	}
	for (size_t i = 0; s->namespaces[i] != NULL; i++) {
		if (strcmp(s->namespaces[i], ns) == 0) {
			return true;
		}
	}
	return false;
}

/* At most this many databases remembered as said: beyond, each is said
 * again at most once per distinct start of the set (bounded memory). */
#define MAX_IGNORED 4096

bool baton_scope_admit(struct baton_scope *s, const char *db)
{
	char ns[64];
	const char *slash = strchr(db, '/');
	size_t n = slash ? (size_t)(slash - db) : 0;

	if (s == NULL || s->namespaces == NULL) {
		return true;
	}
	if (slash == NULL || n >= sizeof ns) {
		return false; /* not a namespaced database name */
	}
	memcpy(ns, db, n);
	ns[n] = '\0';
	if (baton_scope_has(s, ns)) {
		return true;
	}
	if (s->ignored == NULL) {
		s->ignored = json_object();
	}
	if (json_object_get(s->ignored, db) == NULL) {
		if (json_object_size(s->ignored) >= MAX_IGNORED) {
			json_object_clear(s->ignored);
		}
		json_object_set_new(s->ignored, db, json_true());
		baton_log(BATON_LOG_INFO, "batond",
			  "%s: ignored here: namespace %s is not in "
			  "watchNamespaces (another region manages it)",
			  db, ns);
	}
	return false;
}
