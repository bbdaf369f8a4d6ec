/* What the DatabaseCluster's status reads of the FSM (struct
 * baton_fsm_view, batond/status.h), filled from the FSM's state of one
 * database. Pure: the caller passes what only it knows (quorum, whether the
 * primary's lease lapsed in this node's view, a copy of the primary's name
 * that outlives the FSM's entry). Moved out of controller.c so that the
 * status can grow without growing the controller. */
#ifndef BATON_BATOND_FSMVIEW_H
#define BATON_BATOND_FSMVIEW_H

#include <stdbool.h>

#include "batond/status.h"
#include "consensus/fsm.h"

/* OUT from ST (NULL: not registered; OUT says only QUORUM then).
 * PRIMARY_COPY: the primary region's name as the caller keeps it, NULL:
 * the FSM's own. OUT's strings point into ST (or PRIMARY_COPY) or are
 * literals: valid while ST is. */
void baton_fsmview_fill(const struct baton_db_state *st, bool quorum,
			bool primary_lost, const char *primary_copy,
			struct baton_fsm_view *out);

/* "Healthy", "FailingOver", ... (the status's phase) of an FSM phase. */
const char *baton_fsmview_phase(int phase);

#endif /* BATON_BATOND_FSMVIEW_H */
