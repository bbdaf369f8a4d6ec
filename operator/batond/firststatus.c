/* See firststatus.h. */
#include "batond/firststatus.h"

bool baton_firststatus_hold(const json_t *old, const struct baton_fsm_view *fsm,
			    double age_s)
{
	if (old != NULL &&
	    (!json_is_object(old) || json_object_size(old) > 0)) {
		return false;
	}
	if (fsm == NULL || !fsm->quorum || fsm->registered) {
		return false;
	}
	/* NaN fails both */
	return age_s >= 0 && age_s < BATON_FIRSTSTATUS_WAIT_S;
}
