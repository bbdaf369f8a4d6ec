/* Prune: keep only the listed fields (kube/prune.h). Pure. */
#include "kube/prune.h"

#include <string.h>

static const struct baton_kube_keep *find(const struct baton_kube_keep *keep,
					  const char *key)
{
	for (; keep->key != NULL; keep++) {
		if (strcmp(keep->key, key) == 0) {
			return keep;
		}
	}
	return NULL;
}

static void prune_value(json_t *v, const struct baton_kube_keep *sub)
{
	size_t i;
	json_t *e;

	if (json_is_object(v)) {
		baton_kube_prune(v, sub);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			baton_kube_prune(e, sub);
		}
	}
}

void baton_kube_prune(json_t *obj, const struct baton_kube_keep *keep)
{
	const struct baton_kube_keep *k;
	const char *key;
	json_t *v;
	void *tmp;

	if (!json_is_object(obj)) {
		return;
	}
	json_object_foreach_safe(obj, tmp, key, v)
	{
		if ((k = find(keep, key)) == NULL) {
			json_object_del(obj, key);
		} else if (k->sub != NULL) {
			prune_value(v, k->sub);
		}
	}
}
