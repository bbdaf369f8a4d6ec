/* The fleet's command level as the members' batonds say it
 * (fleetlevel.h). */
#include "batond/fleetlevel.h"

#include <string.h>

#include "common/assert.h"
#include "consensus/fsm.h"

void baton_fleetlevel_init(struct baton_fleetlevel *fl, int n, int self)
{
	BATON_ASSERT(n > 0 && n <= BATON_FLEETLEVEL_PEERS && self >= 0 &&
		     self < n);
	memset(fl, 0, sizeof *fl);
	fl->n = n;
	fl->self = self;
	for (int i = 0; i < n; i++) {
		fl->peers[i].fl = fl;
	}
}

long baton_fleetlevel_parse(const json_t *status)
{
	json_t *l;
	json_int_t v;

	if (!json_is_object(status)) {
		return -1;
	}
	l = json_object_get(status, "commandLevel");
	if (l == NULL) {
		return 0; /* a batond from before levels */
	}
	if (!json_is_integer(l)) {
		return -1;
	}
	v = json_integer_value(l);
	return v < 0 || v > INT32_MAX ? -1 : (long)v;
}

static void status_cb(struct baton_kube_request *req, int status)
{
	struct baton_fleetlevel_peer *p = req->data;
	long level;

	p->pending = false;
	if (status != 0 || p->fl->stopping) {
		return; /* asked again next round; what it said stays */
	}
	level = baton_fleetlevel_parse(req->result);
	if (level < 0) {
		return;
	}
	/* a level never goes back: one answer from a restarted older
	 * batond (a downgrade) is not a reason to forget; the FSM's level
	 * only rises anyway (fsm.h) */
	if (!p->answered || (uint32_t)level > p->level) {
		p->level = (uint32_t)level;
	}
	p->answered = true;
}

void baton_fleetlevel_ask(struct baton_fleetlevel *fl,
			  struct baton_kube_client *const *clients,
			  uint64_t now)
{
	for (int i = 0; i < fl->n && !fl->stopping; i++) {
		struct baton_fleetlevel_peer *p = &fl->peers[i];

		if (i == fl->self || clients[i] == NULL || p->pending ||
		    (p->asked_ms != 0 &&
		     now - p->asked_ms < BATON_FLEETLEVEL_ASK_MS)) {
			continue;
		}
		p->asked_ms = now;
		p->req.data = p;
		if (baton_kube_request_start(clients[i], &p->req, "GET",
					     "/v1/status", NULL, NULL, 2000,
					     NULL, status_cb) == 0) {
			p->pending = true;
		}
	}
}

uint32_t baton_fleetlevel_known(const struct baton_fleetlevel *fl)
{
	uint32_t known = BATON_COMMAND_LEVEL;

	for (int i = 0; i < fl->n; i++) {
		const struct baton_fleetlevel_peer *p = &fl->peers[i];
		if (i == fl->self) {
			continue;
		}
		if (!p->answered) {
			return 0;
		}
		if (p->level < known) {
			known = p->level;
		}
	}
	return known;
}

void baton_fleetlevel_stop(struct baton_fleetlevel *fl)
{
	fl->stopping = true;
}
