#include "batond/syncset.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "batond/children.h"
#include "common/error.h"
#include "consensus/fsm.h"

int baton_syncset_designated(const struct baton_db_state *st,
			     const char *region)
{
	int i = st != NULL ? baton_fsm_region_index(st, region) : -1;

	return i >= 0 ? (int)st->regions[i].designated : 0;
}

/* The cluster's name in the FSM's "ns/cluster". */
static const char *cluster_of(const struct baton_db_state *st)
{
	const char *slash = strchr(st->name, '/');

	return slash != NULL ? slash + 1 : st->name;
}

/* Adds the pod of every ordinal of MASK in REGION of ST's database. */
static int add_pods(struct baton_syncset *out, const struct baton_db_state *st,
		    const char *region, uint16_t mask)
{
	for (int k = 0; k < BATON_ORDINALS; k++) {
		if (!(mask & BATON_ORDINAL_BIT(k))) {
			continue;
		}
		if (out->n == BATON_SYNCSET_MAX ||
		    baton_children_pod_name(
			cluster_of(st), region, k, out->names[out->n],
			sizeof out->names[out->n]) == NULL) {
			/* never a cut name: one the agent would refuse */
			return BATON_ETOOLARGE;
		}
		out->n++;
	}
	return 0;
}

int baton_syncset_derive(const struct baton_db_state *st,
			 const struct baton_dbspec *spec, uint64_t applied,
			 struct baton_syncset *out)
{
	memset(out, 0, sizeof *out);
	out->gen = applied;
	if (!st->cfg.synchronous) {
		return 0;
	}
	/* the spec's order, as the boot default's (children.c) */
	for (int i = 0; i < spec->n_regions; i++) {
		const struct baton_db_region *r = &spec->regions[i];
		int f = baton_fsm_region_index(st, r->name);
		int rv;

		/* a region the FSM does not have has no members: naming it
		 * would break the gate (and no failover would wait for it) */
		if (r->role != BATON_DB_REGION_DATA || r->replicas < 1 ||
		    f < 0 || f == st->primary ||
		    st->regions[f].role != BATON_ROLE_DATA) {
			continue;
		}
		if ((rv = add_pods(out, st, r->name, st->regions[f].listed)) !=
		    0) {
			return rv;
		}
	}
	return 0;
}

bool baton_syncset_reported(json_t *status, struct baton_syncset *out)
{
	json_t *sc = json_object_get(status, "syncConfig");
	json_t *gen = json_object_get(sc, "gen");
	json_t *names = json_object_get(sc, "names");
	json_t *n;
	size_t i;

	memset(out, 0, sizeof *out);
	if (!json_is_integer(gen) || json_integer_value(gen) < 0 ||
	    !json_is_array(names) ||
	    json_array_size(names) > BATON_SYNCSET_MAX) {
		return false;
	}
	out->gen = (uint64_t)json_integer_value(gen);
	json_array_foreach(names, i, n)
	{
		const char *s = json_string_value(n);
		if (s == NULL || s[0] == '\0' ||
		    strlen(s) >= BATON_SYNCSET_NAME_SIZE) {
			memset(out, 0, sizeof *out);
			return false;
		}
		memcpy(out->names[out->n], s, strlen(s) + 1);
		out->n++;
	}
	return true;
}

static bool has_name(const struct baton_syncset *s, const char *name)
{
	for (unsigned i = 0; i < s->n; i++) {
		if (strcasecmp(s->names[i], name) == 0) {
			return true;
		}
	}
	return false;
}

bool baton_syncset_needs_gen(uint64_t need, const struct baton_syncset *have,
			     uint64_t want_gen)
{
	return need > 0 && need > (have != NULL ? have->gen : 0) &&
	       want_gen >= need;
}

bool baton_syncset_needs_order(const struct baton_db_state *st,
			       const struct baton_syncset *want,
			       const struct baton_syncset *have)
{
	if (have == NULL) {
		return st->cfg.synchronous || want->n > 0;
	}
	for (unsigned i = 0; i < want->n; i++) {
		if (!has_name(have, want->names[i])) {
			return true;
		}
	}
	for (unsigned i = 0; i < have->n; i++) {
		if (!has_name(want, have->names[i])) {
			return true;
		}
	}
	return false;
}

/* NAME is the pod of a member of a data region of ST other than the
 * primary. */
static bool member_pod(const struct baton_db_state *st, const char *name)
{
	for (unsigned i = 0; i < st->n_regions; i++) {
		const struct baton_region_state *r = &st->regions[i];
		char pod[BATON_SYNCSET_NAME_SIZE];

		if ((int)i == st->primary || r->role != BATON_ROLE_DATA) {
			continue;
		}
		for (int k = 0; k < BATON_ORDINALS; k++) {
			if ((r->members & BATON_ORDINAL_BIT(k)) &&
			    baton_children_pod_name(cluster_of(st), r->name, k,
						    pod, sizeof pod) != NULL &&
			    strcasecmp(pod, name) == 0) {
				return true;
			}
		}
	}
	return false;
}

bool baton_syncset_gate(const struct baton_db_state *st,
			const struct baton_syncset *have)
{
	if (!st->cfg.synchronous) {
		return true;
	}
	if (have == NULL) {
		return false;
	}
	for (unsigned i = 0; i < have->n; i++) {
		if (!member_pod(st, have->names[i])) {
			return false;
		}
	}
	return true;
}
