/* Intern: shared values for equal subtrees (kube/intern.h). */
#include "kube/intern.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FIRST_SWEEP 1024

int baton_kube_intern_init(struct baton_kube_intern *t)
{
	memset(t, 0, sizeof *t);
	t->pool = json_object();
	t->next_sweep = FIRST_SWEEP;
	return t->pool != NULL ? 0 : -1;
}

void baton_kube_intern_free(struct baton_kube_intern *t)
{
	json_decref(t->pool);
	t->pool = NULL;
}

void baton_kube_intern_sweep(struct baton_kube_intern *t)
{
	const char *key;
	json_t *v;
	void *tmp;

	size_t gone;

	/* a value freed here may leave its insides held by the pool alone:
	 * again until a pass frees nothing (as many passes as values nest) */
	do {
		gone = 0;
		json_object_foreach_safe(t->pool, tmp, key, v)
		{
			if (v->refcount <= 1) {
				json_object_del(t->pool, key);
				gone++;
			}
		}
	} while (gone > 0);
	t->added = 0;
	t->next_sweep = json_object_size(t->pool) > FIRST_SWEEP
			    ? json_object_size(t->pool)
			    : FIRST_SWEEP;
}

json_t *baton_kube_intern(struct baton_kube_intern *t, json_t *v)
{
	char buf[BATON_KUBE_INTERN_MAX_BYTES], key[24];
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	size_t n;
	json_t *have;

	if (t->pool == NULL || v == NULL ||
	    !(json_is_object(v) || json_is_array(v) || json_is_string(v))) {
		return v;
	}
	n = json_dumpb(v, buf, sizeof buf,
		       JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (n == 0 || n > sizeof buf) {
		return v;
	}
	for (size_t i = 0; i < n; i++) {
		h = (h ^ (unsigned char)buf[i]) * 1099511628211ULL;
	}
	snprintf(key, sizeof key, "%016llx", (unsigned long long)h);
	have = json_object_get(t->pool, key);
	if (have != NULL) {
		if (have != v && json_equal(have, v)) {
			t->hits++;
			return have;
		}
		return v; /* v itself, or a collision: not shared */
	}
	if (json_object_set(t->pool, key, v) != 0) {
		return v;
	}
	if (++t->added >= t->next_sweep) {
		baton_kube_intern_sweep(t);
	}
	return v;
}

json_t *baton_kube_intern_deep(struct baton_kube_intern *t, json_t *v,
			       int v_too)
{
	const char *key;
	json_t *c, *s;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, key, c)
		{
			s = baton_kube_intern_deep(t, c, 1);
			if (s != c) {
				json_object_set(v, key, s);
			}
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, c)
		{
			s = baton_kube_intern_deep(t, c, 1);
			if (s != c) {
				json_array_set(v, i, s);
			}
		}
	}
	return v_too ? baton_kube_intern(t, v) : v;
}
