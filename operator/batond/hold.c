/* The forensic fence of one instance (batond/hold.h): pure. */
#include "batond/hold.h"

#include <stdio.h>
#include <string.h>

#include "common/labels.h"

bool baton_hold_of_pod(json_t *pod, char *reason, size_t len)
{
	json_t *v = json_object_get(
	    json_object_get(json_object_get(pod, "metadata"), "annotations"),
	    BATON_ANNOTATION_HOLD);

	if (len > 0) {
		reason[0] = '\0';
	}
	/* any value holds, even an empty one: an annotation someone set is
	 * never ignored for its spelling */
	if (v == NULL) {
		return false;
	}
	if (len > 0 && json_is_string(v)) {
		snprintf(reason, len, "%s", json_string_value(v));
	}
	return true;
}

void baton_hold_decide(const struct baton_agent_view *v,
		       struct baton_agent_order *out)
{
	const char *role = v->role != NULL ? v->role : "none";

	out->action = NULL;
	out->target = NULL;
	out->propose_fence = false;
	if (!v->initialized) {
		return; /* nothing runs: nothing to fence, and no init */
	}
	if (v->writable || (strcmp(role, "primary") == 0 && !v->fenced)) {
		out->action = "fence";
	}
}
