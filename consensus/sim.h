/* Deterministic simulation of the failover protocol (ARCHITECTURE §5).
 *
 * raft_fixture runs 3 or 5 in-memory Raft servers; each carries the real FSM
 * (fsm.c) and the real decider (decider.c). Around them the simulation
 * models, per region, a batond renewer and a database agent, each with its
 * own monotonic clock whose rate drifts within the configured bound. A
 * seeded PRNG drives a schedule of partitions (both ways and one way),
 * heals, kills, revives, message delay, disk faults, leadership transfers,
 * planned switchovers and clock-rate changes.
 *
 * After every fixture step the checker asserts:
 *  S1  at most one agent is writable at any real instant, and every epoch
 *      has at most one writable region (agents judge their own lease on
 *      their own clock);
 *  S2  no FSM's epoch ever decreases;
 *  S3  applied histories are prefixes of each other (every FSM keeps a hash
 *      chain of what it applied; equal counts must give equal chains).
 * After the final heal:
 *  L1  some agent is writable again within the liveness bound.
 */
#ifndef BATON_CONSENSUS_SIM_H
#define BATON_CONSENSUS_SIM_H

#include <stdbool.h>
#include <stdint.h>

struct baton_sim_config {
	unsigned n_servers; /* 3 or 5 */
	uint64_t seed;
	unsigned steps;	  /* schedule steps (one fault decision each) */
	unsigned step_ms; /* simulated ms per step */
	unsigned
	    decider_flags; /* BATON_DECIDER_BROKEN_* to prove the checker */
	uint32_t lease_ms, renew_ms, drift_ppm, margin_ms;
	unsigned liveness_ms; /* bound for L1 after the final heal */
	bool disk_faults;
	bool trace; /* print the trace as it happens */
	unsigned snapshot_threshold, snapshot_trailing;
};

struct baton_sim_result {
	bool violation;
	char what[256];	  /* the first violation, or the liveness failure */
	char trace[4096]; /* the last events before it */
	bool liveness_ok;
	uint64_t sim_ms;   /* simulated time run */
	unsigned promotes; /* promotes committed (leader's view) */
	unsigned failover_samples;
	uint64_t failover_ms_sum; /* lease expiry -> promote committed */
	uint64_t failover_ms_max;
	uint64_t recover_ms;	  /* final heal -> writable primary */
	uint64_t max_log_entries; /* entries kept beyond the last snapshot */
	uint64_t applied;	  /* commands applied on server 0 */
};

void baton_sim_config_default(struct baton_sim_config *c);
/* Run one schedule. Returns 0 (a violation is reported in RES, not as an
 * error) or BATON_EINTERNAL if the fixture could not be set up. */
int baton_sim_run(const struct baton_sim_config *c,
		  struct baton_sim_result *res);

#endif /* BATON_CONSENSUS_SIM_H */
