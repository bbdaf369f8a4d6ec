/* The label fence's planner (batond/labels.h): pure, the controller acts. */
#include "batond/labels.h"

#include <stdio.h>
#include <string.h>

#include "common/assert.h"
#include "common/labels.h"

const char *baton_labels_want(const struct baton_label_pod *pod, const char *ns,
			      const char *cluster, const char *want_primary,
			      const char *epoch)
{
	const char *want_role;

	if (pod->cluster == NULL || pod->ns == NULL || pod->name == NULL ||
	    strcmp(pod->cluster, cluster) != 0 || strcmp(pod->ns, ns) != 0) {
		return NULL;
	}
	want_role =
	    strcmp(pod->name, want_primary) == 0 ? "primary" : "replica";
	if (pod->role != NULL && pod->epoch != NULL &&
	    strcmp(pod->role, want_role) == 0 &&
	    strcmp(pod->epoch, epoch) == 0) {
		return NULL;
	}
	return want_role;
}

bool baton_labels_in_flight(const struct baton_label_req *reqs, int n,
			    const char *db, const char *pod, bool primary,
			    uint64_t epoch, uint64_t now)
{
	for (int i = 0; i < n; i++) {
		const struct baton_label_req *r = &reqs[i];
		if (strcmp(r->db, db) != 0 || strcmp(r->pod, pod) != 0) {
			continue;
		}
		if (r->busy || (r->done_ms != 0 &&
				now - r->done_ms < BATON_LABEL_SETTLE_MS &&
				r->primary == primary && r->epoch == epoch)) {
			return true;
		}
	}
	return false;
}

int baton_labels_free_slot(const struct baton_label_req *reqs, int n)
{
	for (int i = 0; i < n; i++) {
		if (!reqs[i].busy) {
			return i;
		}
	}
	return -1;
}

void baton_labels_plan(const struct baton_label_plan_in *in,
		       const struct baton_label_pod *pods, unsigned n_pods,
		       struct baton_label_plan *plan)
{
	char epoch[24];
	int next = 0; /* slots below it are taken (busy, or planned) */

	BATON_ASSERT(in->n_reqs <= BATON_LABEL_SLOTS);
	memset(plan, 0, sizeof *plan);
	snprintf(epoch, sizeof epoch, "%llu", (unsigned long long)in->epoch);
	for (unsigned p = 0; p < n_pods; p++) {
		const char *role;
		bool primary;
		int slot;

		role = baton_labels_want(&pods[p], in->ns, in->cluster,
					 in->want_primary, epoch);
		if (role == NULL) {
			continue;
		}
		primary = strcmp(role, "primary") == 0;
		if (primary && !in->fence_done) {
			plan->fence = true;
			continue;
		}
		/* a patch of this pod in flight, or this very patch landed
		 * moments ago and the cache has not caught up: its watch
		 * event will bring the database back */
		if (baton_labels_in_flight(in->reqs, in->n_reqs, in->db,
					   pods[p].name, primary, in->epoch,
					   in->now)) {
			continue;
		}
		slot = next < in->n_reqs
			   ? baton_labels_free_slot(in->reqs + next,
						    in->n_reqs - next)
			   : -1;
		if (slot < 0) {
			plan->wait = true;
			break;
		}
		slot += next;
		next = slot + 1;
		BATON_ASSERT(plan->n < BATON_LABEL_SLOTS);
		plan->actions[plan->n++] = (struct baton_label_action){
		    .pod = p,
		    .role = primary ? "primary" : "replica",
		    .primary = primary,
		    .epoch = in->epoch,
		    .slot = slot,
		};
	}
}

struct baton_label_pod baton_labels_pod(json_t *pod)
{
	json_t *md = json_object_get(pod, "metadata");
	json_t *labels = json_object_get(md, "labels");

	return (struct baton_label_pod){
	    .ns = json_string_value(json_object_get(md, "namespace")),
	    .name = json_string_value(json_object_get(md, "name")),
	    .cluster =
		json_string_value(json_object_get(labels, BATON_LABEL_CLUSTER)),
	    .role =
		json_string_value(json_object_get(labels, BATON_LABEL_ROLE)),
	    .epoch =
		json_string_value(json_object_get(labels, BATON_LABEL_EPOCH)),
	};
}

json_t *baton_labels_patch(const struct baton_label_action *a)
{
	char epoch[24];

	snprintf(epoch, sizeof epoch, "%llu", (unsigned long long)a->epoch);
	return json_pack("{s:{s:{s:s, s:s}}}", "metadata", "labels",
			 BATON_LABEL_ROLE, a->role, BATON_LABEL_EPOCH, epoch);
}

void baton_labels_shifted_message(const struct baton_label_req *r, int64_t ms,
				  char *buf, size_t size)
{
	snprintf(buf, size,
		 "%s labelled primary at epoch %llu: the primary Service "
		 "selects it%s",
		 r->pod, (unsigned long long)r->epoch,
		 ms >= 0 ? "" : " (no promote applied here since start)");
	if (ms >= 0) {
		size_t used = strlen(buf);
		if (used < size) {
			snprintf(buf + used, size - used,
				 " (%lld ms after the promote was applied "
				 "here)",
				 (long long)ms);
		}
	}
}
