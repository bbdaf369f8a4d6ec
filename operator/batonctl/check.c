/* batonctl check (check.h). Happy path: /readyz answers 200, /v1/status
 * names the expected region, the caches are synced, a Raft leader is
 * known and every expected peer is a member. Failure path: each failed
 * condition is one FAIL line saying what to look at; a batond that does
 * not answer fails both requests with curl's reason, and the status
 * checks that need the document are not run (one line says so). */
#include "batonctl/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batonctl/fleet.h"
#include "common/error.h"

void baton_ctl_checks_add(struct baton_ctl_checks *c, bool ok, const char *fmt,
			  ...)
{
	va_list ap;

	c->failed += !ok;
	if (c->n == BATON_CTL_CHECK_MAX) {
		return;
	}
	c->items[c->n].ok = ok;
	va_start(ap, fmt);
	vsnprintf(c->items[c->n].line, sizeof c->items[0].line, fmt, ap);
	va_end(ap);
	c->n++;
}

void baton_ctl_check_readyz(struct baton_ctl_checks *c,
			    const struct baton_ctl_check_want *w, bool ready,
			    const char *why)
{
	if (ready) {
		baton_ctl_checks_add(c, true, "batond at %s is ready (/readyz)",
				     w->url);
	} else {
		baton_ctl_checks_add(c, false,
				     "batond at %s is not ready (/readyz): %s",
				     w->url, why && why[0] ? why : "no answer");
	}
}

/* "a, b, c" of the members' names into BUF. */
static const char *member_names(json_t *members, char *buf, size_t len)
{
	size_t off = 0, i;
	json_t *m;

	buf[0] = '\0';
	json_array_foreach(members, i, m)
	{
		const char *n = json_string_value(json_object_get(m, "name"));
		int k = snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
				 n ? n : "?");
		if (k < 0 || (size_t)k >= len - off) {
			break;
		}
		off += (size_t)k;
	}
	return off ? buf : "none";
}

static bool is_member(json_t *members, const char *name)
{
	size_t i;
	json_t *m;

	json_array_foreach(members, i, m)
	{
		const char *n = json_string_value(json_object_get(m, "name"));
		if (n != NULL && strcmp(n, name) == 0) {
			return true;
		}
	}
	return false;
}

void baton_ctl_check_status(struct baton_ctl_checks *c,
			    const struct baton_ctl_check_want *w, json_t *st,
			    const char *why)
{
	const char *region, *state, *leader;
	json_t *raft, *members;
	char names[256];

	if (!json_is_object(st)) {
		baton_ctl_checks_add(
		    c, false, "batond at %s: no status (/v1/status): %s",
		    w->url, why && why[0] ? why : "not a JSON object");
		return;
	}
	region = json_string_value(json_object_get(st, "region"));
	if (w->region != NULL &&
	    (region == NULL || strcmp(region, w->region))) {
		baton_ctl_checks_add(c, false,
				     "batond at %s is region %s, expected %s "
				     "(wrong URL or config?)",
				     w->url, region ? region : "(none)",
				     w->region);
	} else {
		baton_ctl_checks_add(c, true, "batond at %s serves region %s",
				     w->url, region ? region : "(unnamed)");
	}
	if (json_is_true(json_object_get(st, "synced"))) {
		baton_ctl_checks_add(c, true,
				     "DatabaseCluster and pod caches synced");
	} else {
		baton_ctl_checks_add(c, false,
				     "DatabaseCluster and pod caches not "
				     "synced: batond cannot list from its API "
				     "server yet (its logs say why)");
	}
	raft = json_object_get(st, "raft");
	members = json_object_get(raft, "members");
	state = json_string_value(json_object_get(raft, "state"));
	leader = json_string_value(json_object_get(raft, "leader"));
	if (!json_is_object(raft)) {
		baton_ctl_checks_add(c, false,
				     "Raft: not started (no raft in status)");
	} else if (leader == NULL) {
		baton_ctl_checks_add(
		    c, false,
		    "Raft: no leader known (state %s, members %s): a "
		    "majority of the regions' batonds is not reachable",
		    state ? state : "?",
		    member_names(members, names, sizeof names));
	} else {
		baton_ctl_checks_add(c, true, "Raft: state %s, leader %s",
				     state ? state : "?", leader);
	}
	for (size_t i = 0; i < w->n_peers; i++) {
		if (is_member(members, w->peers[i])) {
			baton_ctl_checks_add(
			    c, true, "peer %s is a Raft member", w->peers[i]);
		} else {
			baton_ctl_checks_add(
			    c, false,
			    "peer %s is not a Raft member (members: %s): "
			    "check the peers in this region's values",
			    w->peers[i],
			    member_names(members, names, sizeof names));
		}
	}
}

int baton_ctl_check_run(struct baton_ctl_checks *c,
			const struct baton_ctl_check_want *w, char *errmsg)
{
	struct baton_ctl_fleet *f = calloc(1, sizeof *f);
	struct baton_ctl_region *r;
	int rv;

	if (f == NULL) {
		baton_errmsg_printf(errmsg, "out of memory");
		return BATON_ENOMEM;
	}
	rv = baton_ctl_fleet_init(f);
	if (rv != 0) {
		baton_errmsg_printf(errmsg, "%s", f->errmsg);
		free(f);
		return rv;
	}
	rv = baton_ctl_fleet_add_batond(f, w->region ? w->region : "batond",
					w->url);
	if (rv != 0) {
		baton_errmsg_printf(errmsg, "%s", f->errmsg);
		goto out;
	}
	r = &f->regions[0];
	baton_ctl_fleet_readyz(f);
	baton_ctl_check_readyz(c, w, r->ready_ok, r->ready_err);
	baton_ctl_fleet_fetch(f, NULL, NULL, true);
	baton_ctl_check_status(c, w, r->batond_ok ? r->batond_status : NULL,
			       r->batond_err);
out:
	baton_ctl_fleet_close(f);
	free(f);
	return rv;
}
