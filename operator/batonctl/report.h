/* A drill's report, from what `batonctl load` recorded in DIR
 * (writes.jsonl, probes.jsonl, states.jsonl, summary.json) and what the
 * drill recorded about itself in DIR/drill.json (scenario, faultAt,
 * convergedAt, converged, epochs and primaries before and after).
 *
 * Writes DIR/report.json (format in docs/lab.md) and DIR/timeline.svg:
 * acknowledged writes and errors over time, each instance's probe windows
 * and its agent's role and epoch, the fault and convergence instants.
 *
 *   rtoMs   the longest time without an acknowledged write, from the last
 *           write acknowledged before the fault to the end of the run
 *           (= last ack before → first ack after, when writes stop at the
 *           fault)
 *   rpo     acknowledged writes missing from the final primary
 *   splitBrain  two instances whose runs of acknowledged probes overlap
 */
#ifndef BATON_BATONCTL_REPORT_H
#define BATON_BATONCTL_REPORT_H

#include <jansson.h>

/* Returns 0 and the report (caller decrefs) in *OUT, or a BATON_E* with a
 * message in ERRMSG (BATON_ERRMSG_SIZE). */
int baton_ctl_report_write(const char *dir, json_t **out, char *errmsg);

#endif /* BATON_BATONCTL_REPORT_H */
