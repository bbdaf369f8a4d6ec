/* What every member's batond knows: the command level (consensus/fsm.h,
 * BATON_COMMAND_LEVEL) each region's batond says on its peer API, asked
 * by the Raft leader so that its driver can raise the fleet's level
 * (LEVEL) once all of them know it (consensus/driver.h, step 6).
 *
 * Happy path: while this node leads and the FSM's level is below its
 * own, baton_fleetlevel_ask() sends each peer GET /v1/status (the peer
 * API, mutual TLS) every BATON_FLEETLEVEL_ASK_MS; the answer's
 * "commandLevel" is kept. baton_fleetlevel_known() is the lowest level of
 * all members, this batond's own included, and 0 until every peer has
 * answered: a member that never answered may run a batond from before,
 * which says no level (0). Failure: an error or a malformed answer keeps
 * what the peer said before (a level never goes back: a batond that said
 * 1 and now fails to answer is still one that knows level 1, and the
 * FSM's level only rises anyway); it is asked again on the next round.
 * Cancel: closing the peer's client cancels the request; its callback
 * then only clears the pending flag.
 */
#ifndef BATON_BATOND_FLEETLEVEL_H
#define BATON_BATOND_FLEETLEVEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "kube/client.h"

#define BATON_FLEETLEVEL_PEERS 16
#define BATON_FLEETLEVEL_ASK_MS 2000

struct baton_fleetlevel;

struct baton_fleetlevel_peer {
	struct baton_fleetlevel *fl;
	struct baton_kube_request req;
	bool pending;
	bool answered;	   /* said something at least once */
	uint32_t level;	   /* what it said (0: nothing, a batond from before) */
	uint64_t asked_ms; /* last asked, 0: never */
};

struct baton_fleetlevel {
	struct baton_fleetlevel_peer peers[BATON_FLEETLEVEL_PEERS];
	int n;	  /* members, this one included */
	int self; /* this batond's index: its level is its own */
	bool stopping;
};

/* N members (at most BATON_FLEETLEVEL_PEERS), SELF this batond's index. */
void baton_fleetlevel_init(struct baton_fleetlevel *fl, int n, int self);

/* Asks every peer I whose last question is older than
 * BATON_FLEETLEVEL_ASK_MS and has none pending, over CLIENTS[I] (NULL:
 * not open, not asked). */
void baton_fleetlevel_ask(struct baton_fleetlevel *fl,
			  struct baton_kube_client *const *clients,
			  uint64_t now);

/* The lowest level every member said (this one: BATON_COMMAND_LEVEL); 0
 * while one has not answered. */
uint32_t baton_fleetlevel_known(const struct baton_fleetlevel *fl);

/* A peer's /v1/status STATUS: its "commandLevel", 0 when it has none (a
 * batond from before); -1 when STATUS is no status (not an object, or a
 * commandLevel that is not a non-negative integer below 2^31). */
long baton_fleetlevel_parse(const json_t *status);

/* Answers that come from here on are ignored (the owner is closing). */
void baton_fleetlevel_stop(struct baton_fleetlevel *fl);

#endif /* BATON_BATOND_FLEETLEVEL_H */
