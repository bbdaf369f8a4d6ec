/* Standalone runner for the deterministic failover simulation.
 *
 *   baton_sim [--schedules N] [--seed S] [--servers 3|5] [--steps K]
 *             [--broken send-time|no-drift|sync-flag|first-final|
 *             sibling-any-report|list-early|grant-ordinal-0|
 *             release-before-flush|no-leave|finals-designated-only]
 *             [--hour] [--trace] [--disk-faults] [--instances 1|2]
 *             [--redesignate-after MS]
 *             [--end l2|l2-kill-primary|none|kill-primary-mid-move|
 *             kill-primary-instance|kill-primary-region|lagging-joiner|
 *             move-then-kill-primary|designation-race|old-back]
 *             [--sibling-behind] [--joiner-only-copy] [--moves]
 *             [--witness] [--broken witness-as-data] [--command-level L]
 *   baton_sim --databases N [--seconds S] [--servers 3|5] [--one-region]
 *             [--writing] [--name-len L] [--snapshot-threshold T]
 *             [--snapshot-trailing K] [--max-inflight M] [--seed S]
 *             [--witness] [--command-level L]
 *             [--fail-region [--synchronous|--asynchronous]]
 *
 * Runs N schedules with seeds S, S+1, ...; prints each violation with its
 * seed and trace, then the totals: failover latency (lease expiry to promote
 * committed, simulated ms), recovery after the final heal, and the largest
 * number of log entries kept beyond the last snapshot. --hour runs one
 * schedule of one simulated hour. The last line is a digest of every run
 * (sim.h): two runs of the same seeds print the same digest, or the
 * simulation is not deterministic. Exit status 1 if any violation was found.
 * --instances 2 gives every region two instances and runs the designation
 * (consensus/designate.c): the DESIGNATE steps applied and the L2 times
 * are printed too; with --end kill-primary-instance or
 * kill-primary-region, which instances were promoted after the kill.
 * --witness makes the last region a witness (role `witness`: it votes in
 * Raft and runs batond's driver, with no database instance): W1 (never
 * promoted) and W2 (never listed) are checked besides, and the final
 * kills are counted with the region that took over.
 *
 * --databases N is the scale mode (sim.h): N databases registered (their
 * primaries round-robin over the data regions, --one-region all in r0),
 * then S simulated seconds (10 by default) with no fault, counting what
 * the Raft log carries: entries and bytes per second, by command type,
 * entry sizes, snapshots and their size, and the most a server keeps of
 * its log beyond its last snapshot. batond's defaults throughout
 * (baton_sim_config_scale), node.c's snapshot threshold and trailing
 * among them unless --snapshot-threshold/--snapshot-trailing say
 * otherwise. --writing: every database's position grows, so every region
 * reports each database every report interval (a fleet taking writes);
 * without it positions stay, as on a fleet at rest. --name-len pads the
 * names ("default/db-00001", 16 bytes) to L bytes. --max-inflight sets
 * raft's max_inflight_entries (batond's 1,024 by default, node.h; raft's
 * own default is 32).
 *
 * --fail-region: after the window, r0 (the Raft leader, the primary of the
 * modelled database and of every database registration put there: a
 * third round-robin over three regions, all with --one-region) is killed
 * for good, and the run goes on until each of those databases has a new
 * primary in a surviving region at a higher epoch (60 s simulated at
 * most): printed are the time from the kill to a new Raft leader, to the
 * first, median, 99th-percentile and last database failed over, the
 * entries the Raft log carried meanwhile by type, the largest backlog a
 * live server had, and how many new primaries renew a lease later.
 * Synchronous or asynchronous is the seed's draw unless --synchronous or
 * --asynchronous says (every database is the same).
 *
 * --command-level L: the command level every server's batond says (sim.h;
 * BATON_COMMAND_LEVEL by default, which the leader raises the fleet to
 * with LEVEL). 1 is a fleet that does not know REPORT_BATCH yet: every
 * periodic report alone, as before level 2; 0 proposes no LEVEL at all
 * (the runs and digests from before the level).
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/decider.h"
#include "consensus/fsm.h"
#include "consensus/sim.h"

static unsigned long long num(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, "baton_sim: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

static double secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static const char *type_name(int t)
{
	static const char *const names[BATON_CMD__COUNT] = {
	    [BATON_CMD_REGISTER] = "REGISTER",
	    [BATON_CMD_REMOVE] = "REMOVE",
	    [BATON_CMD_RENEW] = "RENEW",
	    [BATON_CMD_REPORT] = "REPORT",
	    [BATON_CMD_PROMOTE] = "PROMOTE",
	    [BATON_CMD_SWITCHOVER] = "SWITCHOVER",
	    [BATON_CMD_FENCE] = "FENCE",
	    [BATON_CMD_SWITCHOVER_ABORT] = "SWITCHOVER_ABORT",
	    [BATON_CMD_LOST] = "LOST",
	    [BATON_CMD_CONFIG] = "CONFIG",
	    [BATON_CMD_RENEW_BATCH] = "RENEW_BATCH",
	    [BATON_CMD_DESIGNATE] = "DESIGNATE",
	    [BATON_CMD_LEVEL] = "LEVEL",
	    [BATON_CMD_REPORT_BATCH] = "REPORT_BATCH",
	};
	return t > 0 && t < BATON_CMD__COUNT && names[t] != NULL ? names[t]
								 : "?";
}

/* --fail-region: what the kill of r0 did (sim.h, struct
 * baton_sim_failover). */
static void failover(const struct baton_sim_result *r)
{
	const struct baton_sim_failover *fo = &r->failover;
	double s = (double)fo->burst_ms / 1000.0;

	if (!fo->done) {
		printf("region failover: not run (no window)\n");
		return;
	}
	printf("region failover: r%d killed (the Raft leader), the primary "
	       "of %u other databases; %s\n",
	       fo->region, fo->databases,
	       fo->synchronous ? "synchronous (lost, final reports, promote)"
			       : "asynchronous (promote)");
	if (r->raft_stalled) {
		printf("RAFT ELECTED NO LEADER after the kill (the fixture's "
		       "stall, docs/consensus.md)\n");
	}
	printf("new Raft leader %llu ms after the kill; the modelled database "
	       "writable %llu ms after\n",
	       (unsigned long long)fo->elected_ms,
	       (unsigned long long)fo->modelled_ms);
	printf("failed over %u of %u (a primary in a surviving region at a "
	       "higher epoch, %u s bound)%s\n",
	       fo->failed_over, fo->databases, BATON_SIM_FAIL_BOUND_MS / 1000,
	       fo->failed_over < fo->databases ? ": NOT ALL" : "");
	printf("kill -> promote applied on the new primary's server: first "
	       "%llu ms, p50 %llu ms, p99 %llu ms, last %llu ms\n",
	       (unsigned long long)fo->first_ms, (unsigned long long)fo->p50_ms,
	       (unsigned long long)fo->p99_ms, (unsigned long long)fo->last_ms);
	if (s <= 0) {
		s = 1;
	}
	printf("burst (kill -> last failed over, %.1f s): %llu entries "
	       "(%.1f/s), %llu bytes; the slowest live server at most "
	       "%llu entries behind the leader\n",
	       s, (unsigned long long)fo->entries, (double)fo->entries / s,
	       (unsigned long long)fo->bytes,
	       (unsigned long long)fo->backlog_peak);
	for (int t = 0; t < BATON_SIM_CMD_TYPES; t++) {
		if (fo->type_entries[t] == 0) {
			continue;
		}
		printf("  %-12s %9llu entries\n", type_name(t),
		       (unsigned long long)fo->type_entries[t]);
	}
	printf("new primaries renewing a lease and a second after: %u of %u\n",
	       fo->renewing, fo->failed_over);
}

/* --databases: one run, its Raft load (sim.h, struct baton_sim_load). */
static int scale(const struct baton_sim_config *cfg)
{
	struct baton_sim_result r;
	const struct baton_sim_load *l = &r.load;
	struct timespec t0, t1;
	double s, kib = 1024.0;

	/* The fixture allocates and frees large blocks at every step (its
	 * log copies grow with the entries in flight): with glibc's default
	 * trim threshold each free gives the top of the heap back with brk
	 * and the next step takes it again, most of the run's time at a
	 * thousand databases. Keep it. */
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	mallopt(M_MMAP_THRESHOLD, 1 << 30);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (baton_sim_run(cfg, &r) != 0) {
		fprintf(stderr, "baton_sim: setup failed\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)l->measured_ms / 1000.0;
	printf("scale: databases=%u servers=%u primaries=%s%s%s seed=%llu "
	       "command-level=%u\n",
	       cfg->databases, cfg->n_servers,
	       cfg->one_region ? "r0" : "round-robin",
	       cfg->witness ? " witness" : "",
	       cfg->writing ? " writing" : " at-rest",
	       (unsigned long long)cfg->seed, cfg->command_level);
	printf("config: lease %ums renew %ums drift %uppm margin %ums; "
	       "snapshot threshold %u trailing %u (node.c's 1024/2048 unless "
	       "set); batond tick 50ms; links 15ms, fsync 5ms\n",
	       cfg->lease_ms, cfg->renew_ms, cfg->drift_ppm, cfg->margin_ms,
	       cfg->snapshot_threshold, cfg->snapshot_trailing);
	if (r.violation) {
		printf("VIOLATION: %s\n%s", r.what, r.trace);
	}
	if (cfg->max_inflight > 0) {
		printf("raft max_inflight_entries %u (batond's; raft's "
		       "default is 32)\n",
		       cfg->max_inflight);
	}
	if (l->runaway_ms > 0) {
		printf("registration began; RAFT DID NOT KEEP UP: at %.1f s "
		       "simulated the leader's log held %llu entries, server 0 "
		       "had applied %llu, the slowest server was %llu behind "
		       "(beyond 8 a database + 4,096): stopped there, no "
		       "window\n",
		       (double)l->runaway_ms / 1000.0,
		       (unsigned long long)l->index_advance,
		       (unsigned long long)l->applied,
		       (unsigned long long)l->backlog);
		printf("since the start: renewals sent %llu, accepted %llu, "
		       "unknown %llu; lease lapses %llu; violations=%d; "
		       "wall=%.2fs\n",
		       (unsigned long long)l->renew_sent,
		       (unsigned long long)l->renew_accepted,
		       (unsigned long long)l->renew_unknown,
		       (unsigned long long)l->lease_lapses, r.violation ? 1 : 0,
		       secs(&t0, &t1));
		return 1;
	}
	if (l->settled_ms > 0) {
		printf("registered in %.1f s simulated, the backlog drained "
		       "at %.1f s; measured %.1f s simulated\n",
		       (double)l->registered_ms / 1000.0,
		       (double)l->settled_ms / 1000.0, s);
	} else {
		printf("registered in %.1f s simulated; NOT SETTLED: the "
		       "servers' backlog behind the leader's log stopped "
		       "shrinking; measured %.1f s simulated anyway\n",
		       (double)l->registered_ms / 1000.0, s);
	}
	if (s <= 0) {
		s = 1;
	}
	printf("entries/s %.1f (log index +%.1f/s), bytes/s %.0f (%.1f "
	       "KiB/s), entry mean %.0f max %llu bytes\n",
	       (double)l->entries / s, (double)l->index_advance / s,
	       (double)l->bytes / s, (double)l->bytes / s / kib,
	       l->entries ? (double)l->bytes / (double)l->entries : 0.0,
	       (unsigned long long)l->entry_max);
	for (int t = 0; t < BATON_SIM_CMD_TYPES; t++) {
		if (l->type_entries[t] == 0) {
			continue;
		}
		printf("  %-12s %9.1f entries/s %10.0f bytes/s, mean %.0f "
		       "bytes\n",
		       type_name(t), (double)l->type_entries[t] / s,
		       (double)l->type_bytes[t] / s,
		       (double)l->type_bytes[t] / (double)l->type_entries[t]);
	}
	printf("applied/s %.1f on server 0; the slowest server %llu entries "
	       "behind the leader at the end\n",
	       (double)l->applied / s, (unsigned long long)l->backlog);
	printf("renewals/s %.1f (%.1f databases per RENEW_BATCH)\n",
	       (double)l->renew_items / s,
	       l->type_entries[BATON_CMD_RENEW_BATCH]
		   ? (double)l->renew_items /
			 (double)l->type_entries[BATON_CMD_RENEW_BATCH]
		   : 0.0);
	printf("reports/s %.1f (%.1f alone, %.1f in REPORT_BATCHes of %.1f "
	       "databases)\n",
	       (double)(l->type_entries[BATON_CMD_REPORT] + l->report_items) /
		   s,
	       (double)l->type_entries[BATON_CMD_REPORT] / s,
	       (double)l->report_items / s,
	       l->type_entries[BATON_CMD_REPORT_BATCH]
		   ? (double)l->report_items /
			 (double)l->type_entries[BATON_CMD_REPORT_BATCH]
		   : 0.0);
	printf("snapshots/min %.1f per server (%llu taken by %u servers), "
	       "size %llu bytes (max %llu)\n",
	       (double)l->snapshots * 60.0 / s / cfg->n_servers,
	       (unsigned long long)l->snapshots, cfg->n_servers,
	       (unsigned long long)l->snapshot_bytes_last,
	       (unsigned long long)l->snapshot_bytes_max);
	printf("in-memory log peak: %llu entries beyond the snapshot, %llu "
	       "bytes (%.2f MiB) of entries\n",
	       (unsigned long long)l->peak_log_entries,
	       (unsigned long long)l->peak_log_bytes,
	       (double)l->peak_log_bytes / kib / kib);
	printf("renewals sent %llu, accepted %llu, refused %llu, unknown "
	       "%llu\n",
	       (unsigned long long)l->renew_sent,
	       (unsigned long long)l->renew_accepted,
	       (unsigned long long)l->renew_refused,
	       (unsigned long long)l->renew_unknown);
	printf("lease lapses in the window %llu; violations=%d; wall=%.2fs\n",
	       (unsigned long long)l->lease_lapses, r.violation ? 1 : 0,
	       secs(&t0, &t1));
	if (cfg->fail_region) {
		failover(&r);
	}
	return r.violation || l->lease_lapses > 0 || l->settled_ms == 0 ||
		       (cfg->fail_region &&
			(!r.failover.done ||
			 r.failover.failed_over < r.failover.databases))
		   ? 1
		   : 0;
}

int main(int argc, char **argv)
{
	struct baton_sim_config cfg;
	struct baton_sim_result r;
	unsigned long long n = 100, seed = 1, i;
	unsigned long long bad = 0, fsamples = 0, fsum = 0, fmax = 0;
	unsigned long long rec_max = 0, rec_sum = 0, log_max = 0, sim_ms = 0;
	unsigned long long promotes = 0, lapses = 0, stalls = 0, syncf = 0;
	unsigned long long joins = 0, leaves = 0, releases = 0, l2 = 0;
	unsigned long long l2_max = 0, mid_move = 0, floor_waits = 0;
	unsigned long long kills = 0, kill_same = 0, kill_max = 0;
	unsigned long long final_kills = 0, final_taken = 0;
	long long slack = INT64_MAX;
	uint64_t digest = 0xcbf29ce484222325ull;
	struct timespec t0, t1;
	unsigned long long dbs = 0, seconds = 10, name_len = 0;
	unsigned long long threshold = 0, trailing = 0, inflight = 0;
	bool one_region = false, writing = false, fail_region = false;
	int sync_mode = BATON_SIM_SYNC_SEED;
	int k;

	baton_sim_config_default(&cfg);
	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--schedules") == 0 && k + 1 < argc) {
			n = num(argv[++k]);
		} else if (strcmp(argv[k], "--seed") == 0 && k + 1 < argc) {
			seed = num(argv[++k]);
		} else if (strcmp(argv[k], "--servers") == 0 && k + 1 < argc) {
			cfg.n_servers = (unsigned)num(argv[++k]);
		} else if (strcmp(argv[k], "--steps") == 0 && k + 1 < argc) {
			cfg.steps = (unsigned)num(argv[++k]);
		} else if (strcmp(argv[k], "--instances") == 0 &&
			   k + 1 < argc) {
			cfg.instances = (unsigned)num(argv[++k]);
		} else if (strcmp(argv[k], "--redesignate-after") == 0 &&
			   k + 1 < argc) {
			cfg.redesignate_after_ms = (uint32_t)num(argv[++k]);
		} else if (strcmp(argv[k], "--end") == 0 && k + 1 < argc) {
			k++;
			cfg.end =
			    strcmp(argv[k], "none") == 0 ? BATON_SIM_END_NONE
			    : strcmp(argv[k], "kill-primary-mid-move") == 0
				? BATON_SIM_END_KILL_PRIMARY_MID_MOVE
			    : strcmp(argv[k], "l2-kill-primary") == 0
				? BATON_SIM_END_L2_KILL_PRIMARY
			    : strcmp(argv[k], "kill-primary-instance") == 0
				? BATON_SIM_END_KILL_PRIMARY_INSTANCE
			    : strcmp(argv[k], "kill-primary-region") == 0
				? BATON_SIM_END_KILL_PRIMARY_REGION
			    : strcmp(argv[k], "lagging-joiner") == 0
				? BATON_SIM_END_LAGGING_JOINER
			    : strcmp(argv[k], "move-then-kill-primary") == 0
				? BATON_SIM_END_MOVE_THEN_KILL_PRIMARY
			    : strcmp(argv[k], "designation-race") == 0
				? BATON_SIM_END_DESIGNATION_RACE
			    : strcmp(argv[k], "old-back") == 0
				? BATON_SIM_END_OLD_BACK
				: BATON_SIM_END_L2;
		} else if (strcmp(argv[k], "--broken") == 0 && k + 1 < argc &&
			   strcmp(argv[k + 1], "list-early") == 0) {
			k++;
			cfg.sim_broken = BATON_SIM_BROKEN_LIST_EARLY;
		} else if (strcmp(argv[k], "--broken") == 0 && k + 1 < argc &&
			   strcmp(argv[k + 1], "grant-ordinal-0") == 0) {
			k++;
			cfg.sim_broken = BATON_SIM_BROKEN_GRANT_ORDINAL_0;
		} else if (strcmp(argv[k], "--broken") == 0 && k + 1 < argc &&
			   strcmp(argv[k + 1], "release-before-flush") == 0) {
			k++;
			cfg.sim_broken = BATON_SIM_BROKEN_RELEASE_BEFORE_FLUSH;
		} else if (strcmp(argv[k], "--broken") == 0 && k + 1 < argc &&
			   strcmp(argv[k + 1], "no-leave") == 0) {
			k++;
			cfg.sim_broken = BATON_SIM_BROKEN_NO_LEAVE;
		} else if (strcmp(argv[k], "--broken") == 0 && k + 1 < argc &&
			   strcmp(argv[k + 1], "witness-as-data") == 0) {
			k++;
			cfg.sim_broken = BATON_SIM_BROKEN_WITNESS_AS_DATA;
		} else if (strcmp(argv[k], "--broken") == 0 && k + 1 < argc &&
			   strcmp(argv[k + 1], "finals-designated-only") == 0) {
			k++;
			cfg.sim_broken =
			    BATON_SIM_BROKEN_FINALS_DESIGNATED_ONLY;
		} else if (strcmp(argv[k], "--broken") == 0 && k + 1 < argc) {
			k++;
			cfg.decider_flags =
			    strcmp(argv[k], "no-drift") == 0
				? BATON_DECIDER_BROKEN_NO_DRIFT
			    : strcmp(argv[k], "sync-flag") == 0
				? BATON_DECIDER_BROKEN_SYNC_FLAG
			    : strcmp(argv[k], "first-final") == 0
				? BATON_DECIDER_BROKEN_FIRST_FINAL
			    : strcmp(argv[k], "sibling-any-report") == 0
				? BATON_DECIDER_BROKEN_SIBLING_ANY_REPORT
				: BATON_DECIDER_BROKEN_SEND_TIME;
		} else if (strcmp(argv[k], "--hour") == 0) {
			cfg.steps = 3600000 / cfg.step_ms;
			n = 1;
		} else if (strcmp(argv[k], "--sibling-behind") == 0) {
			cfg.sibling_behind = true;
		} else if (strcmp(argv[k], "--joiner-only-copy") == 0) {
			cfg.joiner_only_copy = true;
		} else if (strcmp(argv[k], "--witness") == 0) {
			cfg.witness = true;
		} else if (strcmp(argv[k], "--moves") == 0) {
			cfg.moves = true;
			cfg.steps = 120;
			cfg.redesignate_after_ms = 1000;
		} else if (strcmp(argv[k], "--databases") == 0 &&
			   k + 1 < argc) {
			dbs = num(argv[++k]);
		} else if (strcmp(argv[k], "--seconds") == 0 && k + 1 < argc) {
			seconds = num(argv[++k]);
		} else if (strcmp(argv[k], "--name-len") == 0 && k + 1 < argc) {
			name_len = num(argv[++k]);
		} else if (strcmp(argv[k], "--snapshot-threshold") == 0 &&
			   k + 1 < argc) {
			threshold = num(argv[++k]);
		} else if (strcmp(argv[k], "--snapshot-trailing") == 0 &&
			   k + 1 < argc) {
			trailing = num(argv[++k]);
		} else if (strcmp(argv[k], "--max-inflight") == 0 &&
			   k + 1 < argc) {
			inflight = num(argv[++k]);
		} else if (strcmp(argv[k], "--one-region") == 0) {
			one_region = true;
		} else if (strcmp(argv[k], "--writing") == 0) {
			writing = true;
		} else if (strcmp(argv[k], "--fail-region") == 0) {
			fail_region = true;
		} else if (strcmp(argv[k], "--synchronous") == 0) {
			sync_mode = BATON_SIM_SYNC_ON;
		} else if (strcmp(argv[k], "--asynchronous") == 0) {
			sync_mode = BATON_SIM_SYNC_OFF;
		} else if (strcmp(argv[k], "--command-level") == 0 &&
			   k + 1 < argc) {
			cfg.command_level = (uint32_t)num(argv[++k]);
		} else if (strcmp(argv[k], "--quiet") == 0) {
			cfg.quiet = true;
		} else if (strcmp(argv[k], "--disk-faults") == 0) {
			cfg.disk_faults = true;
		} else if (strcmp(argv[k], "--trace") == 0) {
			cfg.trace = true;
		} else {
			fprintf(stderr,
				"usage: baton_sim [--schedules N] [--seed S] "
				"[--servers 3|5] [--steps K] [--broken "
				"send-time|no-drift|sync-flag|first-final|"
				"sibling-any-report|list-early|"
				"grant-ordinal-0|release-before-flush|no-leave|"
				"finals-designated-only|witness-as-data] "
				"[--hour] [--quiet] "
				"[--trace] "
				"[--instances 1|2] [--redesignate-after MS] "
				"[--end l2|l2-kill-primary|none|"
				"kill-primary-mid-move|kill-primary-instance|"
				"kill-primary-region|lagging-joiner|"
				"move-then-kill-primary|designation-race|"
				"old-back] "
				"[--sibling-behind] "
				"[--joiner-only-copy] [--moves] [--witness] "
				"[--command-level L]\n"
				"       baton_sim --databases N [--seconds S] "
				"[--servers 3|5] [--one-region] [--writing] "
				"[--name-len L] [--snapshot-threshold T] "
				"[--snapshot-trailing K] [--max-inflight M] "
				"[--command-level L] [--fail-region "
				"[--synchronous|--asynchronous]]\n"
				"  --fail-region: after the window, kill r0 "
				"(the Raft leader and the primary of its "
				"databases) and time their failover\n"
				"  --witness: the last region is a witness "
				"(votes in Raft, runs batond's driver, has no "
				"database instance; never promoted, never "
				"listed); needs 3 or 5 servers\n");
			return 2;
		}
	}
	if (dbs > 0) {
		struct baton_sim_config sc;

		baton_sim_config_scale(&sc, (unsigned)dbs, (unsigned)seconds);
		sc.n_servers = cfg.n_servers;
		sc.seed = seed;
		sc.witness = cfg.witness;
		sc.trace = cfg.trace;
		sc.one_region = one_region;
		sc.writing = writing;
		sc.fail_region = fail_region;
		sc.sync_mode = sync_mode;
		sc.command_level = cfg.command_level;
		sc.name_len = (unsigned)name_len;
		if (inflight > 0) {
			sc.max_inflight = (unsigned)inflight;
		}
		if (threshold > 0) {
			sc.snapshot_threshold = (unsigned)threshold;
		}
		if (trailing > 0) {
			sc.snapshot_trailing = (unsigned)trailing;
		}
		return scale(&sc);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		cfg.seed = seed + i;
		if (baton_sim_run(&cfg, &r) != 0) {
			/* a bad --servers or --instances as well */
			fprintf(stderr, "seed %llu: setup failed\n",
				(unsigned long long)cfg.seed);
			return 1;
		}
		if (r.violation) {
			bad++;
			printf("VIOLATION seed=%llu servers=%u: %s\n%s",
			       (unsigned long long)cfg.seed, cfg.n_servers,
			       r.what, r.trace);
		}
		if (n == 1 && cfg.instances > 1) {
			printf("designation steps applied: %s\n",
			       r.steps[0] != '\0' ? r.steps : "none");
		}
		if (n == 1 && cfg.instances > 1) {
			printf("DESIGNATE refused %u (stale %u); JOIN "
			       "proposals %u\n",
			       r.desig_refused, r.desig_stale,
			       r.join_proposals);
		}
		if (n == 1 && r.old_back.done) {
			printf("old instance r%d.%u back at %llu, "
			       "acknowledged %llu; after the failover r%d "
			       "members %#x, r%d.%d writable\n",
			       r.old_back.region, r.old_back.ordinal,
			       (unsigned long long)r.old_back.position,
			       (unsigned long long)r.old_back.acked,
			       r.old_back.region, r.old_back.members,
			       r.old_back.new_region, r.old_back.new_ordinal);
		}
		if (n == 1 && r.move.released) {
			printf("last RELEASE: r%d holder %u, X %llu, flush "
			       "%llu; the holder held %llu at LEAVE, %llu at "
			       "RELEASE, %llu ms after LEAVE\n",
			       r.move.region, r.move.holder,
			       (unsigned long long)r.move.x,
			       (unsigned long long)r.move.flush,
			       (unsigned long long)r.move.holder_at_leave,
			       (unsigned long long)r.move.holder_at_release,
			       (unsigned long long)r.move.leave_to_release_ms);
		}
		if (r.kill.done) {
			kills++;
			kill_same += r.kill.promoted &&
				     r.kill.region == r.kill.lost_region;
			if (r.kill.ms > kill_max) {
				kill_max = r.kill.ms;
			}
		}
		if (n == 1 && r.kill.done) {
			printf("%s: r%d.%d lost at epoch %llu; promoted "
			       "r%d.%d at epoch %llu, writable %llu ms "
			       "after\n",
			       r.synchronous ? "synchronous" : "asynchronous",
			       r.kill.lost_region, r.kill.lost_ordinal,
			       (unsigned long long)r.kill.from_epoch,
			       r.kill.region, r.kill.ordinal,
			       (unsigned long long)r.kill.epoch,
			       (unsigned long long)r.kill.ms);
			if (r.synchronous) {
				printf("finals before the promote: the lost "
				       "region's spare %s%llu, the members' "
				       "highest %llu\n",
				       r.kill.spare_final ? "" : "none, ",
				       (unsigned long long)
					   r.kill.spare_final_position,
				       (unsigned long long)
					   r.kill.member_final_position);
			}
		}
		if (r.final_killed >= 0) {
			final_kills++;
			final_taken += r.recovered_region >= 0 &&
				       r.recovered_region != r.final_killed;
		}
		fsamples += r.failover_samples;
		fsum += r.failover_ms_sum;
		if (r.failover_ms_max > fmax) {
			fmax = r.failover_ms_max;
		}
		if (r.liveness_ok) {
			rec_sum += r.recover_ms;
			if (r.recover_ms > rec_max) {
				rec_max = r.recover_ms;
			}
		}
		if (r.max_log_entries > log_max) {
			log_max = r.max_log_entries;
		}
		sim_ms += r.sim_ms;
		promotes += r.promotes;
		lapses += r.lease_lapses;
		stalls += r.raft_stalled;
		floor_waits += r.floor_waited;
		syncf += r.sync_failovers;
		joins += r.joins;
		leaves += r.leaves;
		releases += r.releases;
		l2 += r.l2_checked;
		mid_move += r.mid_move_kills;
		if (r.l2_ms_max > l2_max) {
			l2_max = r.l2_ms_max;
		}
		if (r.min_slack_ms < slack) {
			slack = r.min_slack_ms;
		}
		for (int b = 0; b < 8; b++) { /* FNV-1a over the run digests */
			digest = (digest ^ (uint8_t)(r.digest >> (8 * b))) *
				 0x100000001b3ull;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("schedules=%llu violations=%llu servers=%u%s%s command-level=%u "
	       "simulated=%.1fs wall=%.2fs\n",
	       n, bad, cfg.n_servers, cfg.instances > 1 ? " instances=2" : "",
	       cfg.witness ? " witness" : "", cfg.command_level,
	       (double)sim_ms / 1000.0,
	       (double)(t1.tv_sec - t0.tv_sec) +
		   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	printf("promotes=%llu failover(expiry->commit) samples=%llu "
	       "mean=%.1fms max=%llums\n",
	       promotes, fsamples,
	       fsamples ? (double)fsum / (double)fsamples : 0.0, fmax);
	printf("recovery after final heal: mean=%.1fms max=%llums\n",
	       n ? (double)rec_sum / (double)(n - bad) : 0.0, rec_max);
	printf("synchronous failovers (lost, final positions, promote): "
	       "%llu\n",
	       syncf);
	printf("raft stalls (the fixture elected no leader 15 s after the "
	       "final heal; L1 not checked): %llu\n",
	       stalls);
	if (floor_waits > 0) {
		printf("promote floor waits (only unreachable instances hold "
		       "it; L1 not checked): %llu\n",
		       floor_waits);
	}
	if (slack == INT64_MAX) {
		printf("S4 smallest margin: no promote\n");
	} else {
		printf("S4 smallest margin between the old epoch's leases "
		       "ending and a promote applying: %lld ms\n",
		       slack);
	}
	if (cfg.quiet) {
		printf("quiet run: the primary agent lost its lease %llu "
		       "times\n",
		       lapses);
	}
	if (cfg.instances > 1) {
		printf("designation: JOIN %llu, LEAVE %llu, RELEASE %llu "
		       "applied; L2 timed %llu (max %llu ms from the kill); "
		       "primaries killed mid-move %llu\n",
		       joins, leaves, releases, l2, l2_max, mid_move);
	}
	if (kills > 0) {
		printf("primary instance or region killed %llu times: the "
		       "same region promoted %llu times; max %llu ms to a "
		       "writable primary\n",
		       kills, kill_same, kill_max);
	}
	if (cfg.witness) {
		printf("witness r%u: final kills of the primary %llu, another "
		       "data region writable after %llu\n",
		       cfg.n_servers - 1, final_kills, final_taken);
	}
	printf("max log entries beyond last snapshot=%llu (threshold %u, "
	       "trailing %u)\n",
	       log_max, cfg.snapshot_threshold, cfg.snapshot_trailing);
	/* equal for two runs of one seed, on any machine and load: compare
	 * this line, not the wall time above */
	printf("digest=%016" PRIx64 "\n", digest);
	return bad == 0 ? 0 : 1;
}
