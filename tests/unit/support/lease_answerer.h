/* batond's answers to the agents' lease questions, scripted by a test:
 * fault injection for the agent's side of the lease (grants, epochs, late
 * answers, a batond that goes silent). It runs on the test's loop; the
 * script fields are atomics so a client thread may change them while the
 * loop runs. Not a batond: the real one answers in operator/batond/agents.c
 * and is tested end to end in the lab (tests/integration/
 * test_lab_failover.sh).
 */
#ifndef BATON_TEST_LEASE_ANSWERER_H
#define BATON_TEST_LEASE_ANSWERER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "http/server.h"

struct lease_answerer {
	/* the script */
	_Atomic uint64_t epoch;
	_Atomic uint64_t grant_ms;
	atomic_uint delay_ms; /* hold each answer back this long */
	atomic_bool refuse;   /* answer 503 (no leader) */
	/* what happened */
	atomic_uint asks;
	_Atomic uint64_t last_grant_at; /* uv_hrtime()/1e6 of the last grant */
	char question[2048]; /* the last question's body (on the loop) */
	/* private */
	struct baton_http_server srv;
	uv_timer_t delay;
	struct baton_http_request *held;
	char held_body[128];
	bool closed;
	char url[64]; /* what the agent's batond_url is */
};

void lease_answerer_start(uv_loop_t *loop, struct lease_answerer *b);
/* Answers what is held and closes; runs LOOP until closed. */
void lease_answerer_stop(uv_loop_t *loop, struct lease_answerer *b);

#endif
