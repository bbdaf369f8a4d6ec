/* See fsmview.h. */
#include "batond/fsmview.h"

#include <string.h>

#include "consensus/decider.h"

const char *baton_fsmview_phase(int phase)
{
	switch (phase) {
	case BATON_PHASE_SWITCHING_OVER:
	case BATON_PHASE_FENCED:
		return "SwitchingOver";
	case BATON_PHASE_REGION_LOST:
		return "Degraded";
	case BATON_PHASE_FAILING_OVER:
		return "FailingOver";
	default:
		return "Healthy";
	}
}

void baton_fsmview_fill(const struct baton_db_state *st, bool quorum,
			bool primary_lost, const char *primary_copy,
			struct baton_fsm_view *out)
{
	int region, why;

	memset(out, 0, sizeof *out);
	out->quorum = quorum;
	if (st == NULL) {
		return;
	}
	out->registered = true;
	if (st->primary >= 0 && (unsigned)st->primary < st->n_regions) {
		out->primary_region = primary_copy != NULL
					  ? primary_copy
					  : st->regions[st->primary].name;
	}
	out->epoch = st->epoch;
	out->automatic = st->cfg.automatic;
	out->primary_lost = primary_lost;
	out->phase = baton_fsmview_phase(st->phase); /* a literal */
	why = baton_decider_blocked(st, primary_lost, &region);
	out->blocked = why != 0 ? baton_blocked_name(why) : NULL;
	out->blocked_region = region >= 0 ? st->regions[region].name : NULL;
	/* each data region's designated instance and the move in flight */
	for (unsigned i = 0;
	     i < st->n_regions && out->n_desig < BATON_FSM_VIEW_REGIONS; i++) {
		const struct baton_region_state *r = &st->regions[i];
		struct baton_fsm_desig *d = &out->desig[out->n_desig];
		if (r->role != BATON_ROLE_DATA) {
			continue;
		}
		out->n_desig++;
		d->region = r->name;
		d->designated = r->designated;
		d->members = r->members;
		d->listed = r->listed;
	}
}
