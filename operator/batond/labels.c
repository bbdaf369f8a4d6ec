/* The label fence's planner (batond/labels.h): pure, the controller acts. */
#include "batond/labels.h"

#include <stdio.h>
#include <string.h>

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
