/* The agent's side of the lease: it asks batond, and counts from its own
 * send time. The rule for one answer, baton_agent_lease_apply(), lives
 * with the rest of the argument in consensus/decider.h (the simulation
 * runs it too); this file asks the questions.
 *
 * Why this is safe (the agent's step of decider.h's argument): batond
 * answers a grant G = remaining / (1 + drift),
 * where `remaining` is what is left of its own region lease at the moment
 * it answers. The agent counts G from the moment it *sent* the question,
 * which precedes the answer in real time, on its own clock, whose rate
 * differs from batond's by at most (1 + drift). So the agent's lease ends
 * no later in real time than batond's, however long the question or the
 * answer took: a delayed answer only shortens the lease, it can never
 * extend it past batond's. Nothing depends on how fast an order travels.
 *
 * Answers are discarded when they cannot be trusted to still be current:
 *  - an answer to a question sent before the last fence, demote, rejoin or
 *    init (the lease generation moved on): a fence order must not be
 *    undone by a grant that was computed before it;
 *  - an answer for another epoch than the one the instance became primary
 *    at (a grant at epoch E makes only E's primary writable);
 *  - an answer that arrives after the lease it grants has already ended.
 * A grant of 0 for the agent's own epoch revokes the lease at once (batond
 * knows it is gone: a switchover began, or the region lease lapsed).
 *
 * Happy path: a timer asks every ask_ms (batond says how often in its
 * answer, between BATON_LEASE_ASK_MIN_MS and BATON_LEASE_ASK_MAX_MS); one
 * question in flight at a time, each with a timeout of twice the interval.
 * Failure path: an unanswered or refused question changes nothing; the
 * lease simply runs out and the agent fences. Cancel path: closing cancels
 * the question in flight (its answer is dropped).
 */
#ifndef BATON_AGENT_LEASE_H
#define BATON_AGENT_LEASE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/error.h"
#include "consensus/decider.h"
#include "kube/client.h"

#define BATON_LEASE_ASK_MIN_MS 50
#define BATON_LEASE_ASK_MAX_MS 1000
#define BATON_LEASE_ASK_DEFAULT_MS 100

/* ---- the question, on the loop ------------------------------------------ */

struct baton_lease_asker;
typedef void (*baton_lease_answer_cb)(struct baton_lease_asker *k,
				      const struct baton_lease_answer *ans,
				      int status);

struct baton_lease_asker {
	void *data;
	uv_loop_t *loop;
	unsigned ask_ms;		  /* current interval */
	uint64_t rtt_ms;		  /* of the last answered question */
	uint64_t asked, answered, failed; /* counters for metrics */
	char errmsg[BATON_ERRMSG_SIZE];	  /* the last failure */

	/* Private. */
	struct baton_kube_client client;
	struct baton_kube_request req;
	uv_timer_t timer;
	bool pending, closing, started;
	int open;
	struct baton_lease_answer sent;
	char body[512];
	/* Filled by the owner before each question (on the loop). */
	uint64_t (*now)(struct baton_lease_asker *k);
	uint64_t (*gen)(struct baton_lease_asker *k);
	uint64_t (*epoch)(struct baton_lease_asker *k);
	json_t *(*sync)(struct baton_lease_asker *k);
	baton_lease_answer_cb cb;
	void (*close_cb)(struct baton_lease_asker *k);
};

struct baton_lease_asker_config {
	const char *url;       /* batond's agent API, "http(s)://h:p" */
	const char *ca_file;   /* TLS: batond's CA, or NULL */
	const char *cert_file; /* TLS: the agent's client certificate */
	const char *key_file;
	const char *pod_namespace;
	const char *pod_name;
	uint64_t (*now)(struct baton_lease_asker *k);
	uint64_t (*gen)(struct baton_lease_asker *k);
	uint64_t (*epoch)(struct baton_lease_asker *k);
	/* The synchronous list in force, as the status's syncConfig ({gen,
	 * names}), or JSON null for none; a new reference. Sent with every
	 * question, so that batond's gate judges the list of the moment,
	 * not the one of its last poll (a restarted agent may be back with
	 * another). NULL: the question carries no syncConfig at all. */
	json_t *(*sync)(struct baton_lease_asker *k);
	baton_lease_answer_cb cb; /* every answer, or status != 0 */
};

/* Starts asking at once, then every ask_ms. */
int baton_lease_asker_init(uv_loop_t *loop, struct baton_lease_asker *k,
			   const struct baton_lease_asker_config *cfg);
/* Ask now (a promote finished: no need to wait for the timer). */
void baton_lease_asker_kick(struct baton_lease_asker *k);
void baton_lease_asker_close(struct baton_lease_asker *k,
			     void (*close_cb)(struct baton_lease_asker *k));

/* Parses batond's answer body ({"epoch":E,"grantMillis":G,
 * "askEveryMillis":A}); false when malformed. */
bool baton_lease_parse_answer(json_t *body, uint64_t *epoch, uint64_t *grant,
			      unsigned *ask_ms);

#endif /* BATON_AGENT_LEASE_H */
