#include "batond/desigmetrics.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

/* A move in flight: keyed by "<db> <region>" (a database name has no
 * space) */
struct join_rec {
	char key[2 * BATON_NAME_SIZE];
	char db[BATON_NAME_SIZE];
	uint64_t since_ms;
};

int baton_desigmetrics_add(struct baton_desigmetrics *m,
			   struct baton_metrics *reg, bool designation_on)
{
	static const char *const db_region[] = {"db_namespace", "name",
						"region", NULL};
	static const char *const step_result[] = {"step", "result", NULL};
	static const double secs[] = {1, 5, 10, 20, 30, 45, 60, 90, 120, 300};

	memset(m, 0, sizeof *m);
	m->on = designation_on;
	baton_index_init(&m->joins, sizeof(struct join_rec),
			 offsetof(struct join_rec, key), 2 * BATON_NAME_SIZE,
			 BATON_MAX_DATABASES * BATON_MAX_REGIONS);
	m->ordinal = baton_metrics_add(
	    reg, BATON_METRIC_GAUGE, "baton_database_designated_ordinal",
	    "The ordinal the FSM designates in each data region (promoted, "
	    "given the lease, counted for synchronous commits); only with "
	    "designation on",
	    db_region, NULL, 0);
	m->steps = baton_metrics_add(
	    reg, BATON_METRIC_COUNTER, "baton_designations_total",
	    "Designation steps applied (join, leave, release), by the FSM's "
	    "verdict",
	    step_result, NULL, 0);
	m->seconds = baton_metrics_add(
	    reg, BATON_METRIC_HISTOGRAM, "baton_designation_seconds",
	    "A synchronous designation move: JOIN applied to RELEASE applied",
	    NULL, secs, sizeof secs / sizeof secs[0]);
	return m->ordinal && m->steps && m->seconds ? 0 : BATON_ENOMEM;
}

static void timed(struct baton_desigmetrics *m, const struct baton_cmd *cmd,
		  uint64_t now)
{
	char key[2 * BATON_NAME_SIZE];
	struct join_rec *r;

	snprintf(key, sizeof key, "%s %s", cmd->db, cmd->region);
	r = baton_index_get(&m->joins, key);
	if (cmd->step == BATON_DESIGNATE_JOIN) {
		if (r == NULL &&
		    baton_index_add(&m->joins, key, (void **)&r) != 0) {
			return; /* untimed: only the histogram misses it */
		}
		snprintf(r->db, sizeof r->db, "%s", cmd->db);
		r->since_ms = now;
		return;
	}
	if (cmd->step == BATON_DESIGNATE_RELEASE && r != NULL) {
		(void)baton_metric_observe(
		    m->seconds, NULL, (double)(now - r->since_ms) / 1000.0);
		(void)baton_index_del(&m->joins, key);
	}
}

static bool not_of_db(const void *item, void *data)
{
	return strcmp(((const struct join_rec *)item)->db, data) != 0;
}

void baton_desigmetrics_applied(struct baton_desigmetrics *m,
				const struct baton_cmd *cmd, int result,
				uint64_t now)
{
	if (cmd == NULL) {
		/* what applied in between is not known */
		baton_index_free(&m->joins);
		return;
	}
	if (cmd->type == BATON_CMD_REMOVE && result == BATON_FSM_OK) {
		baton_index_retain(&m->joins, not_of_db, (void *)cmd->db);
		return;
	}
	if (cmd->type != BATON_CMD_DESIGNATE) {
		return;
	}
	baton_metric_inc(m->steps,
			 (const char *[]){baton_designate_step_name(cmd->step),
					  baton_fsm_result_name(result)},
			 1);
	if (result == BATON_FSM_OK) {
		timed(m, cmd, now);
	}
}

void baton_desigmetrics_update(struct baton_desigmetrics *m,
			       const struct baton_fsm *fsm)
{
	if (!m->on) {
		return;
	}
	/* databases removed since the last scrape leave no series */
	baton_metric_clear(m->ordinal);
	for (unsigned i = 0; i < baton_fsm_count(fsm); i++) {
		const struct baton_db_state *db = baton_fsm_db_at(fsm, i);
		const char *slash = strchr(db->name, '/');
		char ns[BATON_NAME_SIZE];

		if (slash == NULL) {
			continue;
		}
		snprintf(ns, sizeof ns, "%.*s", (int)(slash - db->name),
			 db->name);
		for (unsigned r = 0; r < db->n_regions; r++) {
			if (db->regions[r].role != BATON_ROLE_DATA) {
				continue;
			}
			baton_metric_set(m->ordinal,
					 (const char *[]){ns, slash + 1,
							  db->regions[r].name},
					 db->regions[r].designated);
		}
	}
}

void baton_desigmetrics_close(struct baton_desigmetrics *m)
{
	baton_index_free(&m->joins);
}
