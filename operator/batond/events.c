#include "batond/events.h"

#include <string.h>

#include "common/labels.h"
#include "common/log.h"

int baton_events_init(struct baton_kube_client *c,
		      struct baton_kube_recorder *r, const char *region)
{
	return baton_kube_recorder_init(c, r, BATON_EVENTS_COMPONENT, region);
}

void baton_events_record(struct baton_kube_recorder *r, json_t *obj,
			 const char *type, const char *reason,
			 const char *message)
{
	json_t *md = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(md, "name"));
	json_t *about = obj;

	baton_log_kv(strcmp(type, "Warning") == 0 ? BATON_LOG_WARN
						  : BATON_LOG_INFO,
		     "events",
		     json_pack("{s:s, s:s, s:s}", "object", name ? name : "",
			       "reason", reason, "type", type),
		     "%s", message);
	/* the recorder names the involved object after OBJ's own kind and
	 * apiVersion; an object from a list may lack them */
	if (!json_is_string(json_object_get(obj, "kind")) ||
	    !json_is_string(json_object_get(obj, "apiVersion"))) {
		about = json_copy(obj); /* shallow: the two fields only */
		if (about == NULL ||
		    json_object_set_new(about, "kind",
					json_string("DatabaseCluster")) != 0 ||
		    json_object_set_new(about, "apiVersion",
					json_string(BATON_API_VERSION)) != 0) {
			json_decref(about);
			return;
		}
	}
	baton_kube_event(r, about, type, reason, "%s", message);
	if (about != obj) {
		json_decref(about);
	}
}
