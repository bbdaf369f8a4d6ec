/* batonctl check: is this region's batond up and healthy? The chart's
 * `helm test` hook runs it inside the cluster against the -metrics
 * Service.
 *
 * The verdicts are pure functions of what batond answered (its /readyz and
 * /v1/status), so they are tested without a batond; baton_ctl_check_run()
 * does the two GETs through batonctl's fleet client and feeds them in.
 * Every check adds one line; the command exits 0 only if none failed.
 */
#ifndef BATON_BATONCTL_CHECK_H
#define BATON_BATONCTL_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define BATON_CTL_CHECK_MAX 24
#define BATON_CTL_CHECK_LINE 320
#define BATON_CTL_CHECK_MAX_PEERS 16

struct baton_ctl_check_item {
	bool ok;
	char line[BATON_CTL_CHECK_LINE];
};

struct baton_ctl_checks {
	struct baton_ctl_check_item items[BATON_CTL_CHECK_MAX];
	int n;
	int failed; /* including checks dropped past the cap */
};

/* What batond is expected to be. REGION NULL: any; PEERS: regions that
 * must be members of its Raft group. */
struct baton_ctl_check_want {
	const char *url;
	const char *region;
	const char *peers[BATON_CTL_CHECK_MAX_PEERS];
	size_t n_peers;
};

void baton_ctl_checks_add(struct baton_ctl_checks *c, bool ok, const char *fmt,
			  ...) __attribute__((format(printf, 3, 4)));

/* /readyz: READY, or WHY it is not ("HTTP 503: no Raft quorum reachable",
 * or why it did not answer). */
void baton_ctl_check_readyz(struct baton_ctl_checks *c,
			    const struct baton_ctl_check_want *w, bool ready,
			    const char *why);

/* /v1/status: ST is the document (NULL: no answer, WHY says why). Checks
 * the region, the informer caches, a known Raft leader and every expected
 * peer among the Raft members. */
void baton_ctl_check_status(struct baton_ctl_checks *c,
			    const struct baton_ctl_check_want *w, json_t *st,
			    const char *why);

/* Asks batond at W->url and adds every verdict. Returns 0, or a BATON_E*
 * with ERRMSG (BATON_ERRMSG_SIZE) when the URL cannot be used at all. */
int baton_ctl_check_run(struct baton_ctl_checks *c,
			const struct baton_ctl_check_want *w, char *errmsg);

#endif /* BATON_BATONCTL_CHECK_H */
