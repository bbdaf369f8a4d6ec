/* Peer fencing (batond/peerfence.h). */
#include "batond/peerfence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/labels.h"
#include "common/log.h"
#include "consensus/decider.h"
#include "kube/rest.h"

#define PEER_FENCE_TIMEOUT_MS 1000

struct fence_req {
	struct baton_kube_request req;
	struct baton_peerfence *f;
	int peer;
	char db[BATON_NAME_SIZE];
	char ns[64];
	uint64_t epoch;
	bool listing;
};

int baton_peerfence_init(struct baton_peerfence *f,
			 const struct baton_peerfence_env *env)
{
	memset(f, 0, sizeof *f);
	f->env = *env;
	return 0;
}

void baton_peerfence_close(struct baton_peerfence *f)
{
	(void)f; /* nothing of its own: the rounds are env.dbs's */
}

int baton_peerfence_pending(const struct baton_peerfence *f)
{
	return f->pending;
}

/* One request of DB's round ended: the round ends with its last one. */
static void one_done(struct baton_peerfence *f, const char *db, uint64_t epoch)
{
	struct baton_dbrec *rec = baton_dbstate_get(f->env.dbs, db);
	int left = rec != NULL ? rec->fencing - 1 : 0;
	if (left > 0) {
		rec->fencing = left;
		return;
	}
	rec = baton_dbstate_obtain(f->env.dbs, db);
	if (rec != NULL) {
		rec->fencing = 0;
		rec->fenced = true;
		rec->fenced_epoch = epoch;
	}
	if (!f->stopping) {
		f->env.done(f->env.data, db);
	}
}

static void fence_cb(struct baton_kube_request *req, int status);

static int fence_start(struct baton_peerfence *f, int peer, const char *db,
		       const char *ns, uint64_t epoch, const char *method,
		       const char *path, const char *body)
{
	struct baton_kube_client *client = f->env.client(f->env.data, peer);
	struct fence_req *r;
	int rv;

	if (client == NULL) {
		return BATON_ENOTFOUND;
	}
	r = calloc(1, sizeof *r);
	if (r == NULL) {
		return BATON_ENOMEM;
	}
	r->f = f;
	r->peer = peer;
	r->epoch = epoch;
	r->listing = body == NULL;
	snprintf(r->db, sizeof r->db, "%s", db);
	snprintf(r->ns, sizeof r->ns, "%s", ns);
	r->req.data = r;
	rv = baton_kube_request_start(
	    client, &r->req, method, path,
	    body ? "application/merge-patch+json" : NULL, body,
	    PEER_FENCE_TIMEOUT_MS, NULL, fence_cb);
	if (rv != 0) {
		free(r);
		return rv;
	}
	f->pending++;
	return 0;
}

/* The LIST of a peer's pods labelled primary answered: fence each. */
static void fence_listed(struct fence_req *r, json_t *list)
{
	struct baton_peerfence *f = r->f;
	const char *peer = f->env.peer_name(f->env.data, r->peer);
	char epoch[24];
	size_t i;
	json_t *pod;

	snprintf(epoch, sizeof epoch, "%llu", (unsigned long long)r->epoch);
	json_array_foreach(json_object_get(list, "items"), i, pod)
	{
		const char *name = json_string_value(
		    json_object_get(json_object_get(pod, "metadata"), "name"));
		struct baton_kube_ref ref = {NULL,  "v1", "pods",
					     r->ns, name, NULL};
		char path[512];
		char body[512];
		if (name == NULL ||
		    baton_kube_path(&ref, path, sizeof path) != 0) {
			continue;
		}
		snprintf(body, sizeof body,
			 "{\"metadata\":{\"labels\":{"
			 "\"" BATON_LABEL_ROLE "\":\"fenced\","
			 "\"" BATON_LABEL_FENCED "\":\"%s\"},"
			 "\"annotations\":{"
			 "\"" BATON_ANNOTATION_FENCED_BY "\":\"%s\"}}}",
			 epoch, f->env.region);
		if (!f->stopping &&
		    fence_start(f, r->peer, r->db, r->ns, r->epoch, "PATCH",
				path, body) == 0) {
			/* the LIST itself still counts: the record is there */
			struct baton_dbrec *rec =
			    baton_dbstate_get(f->env.dbs, r->db);
			if (rec != NULL) {
				rec->fencing++;
			}
			baton_log(BATON_LOG_WARN, "controller",
				  "%s: fencing %s/%s in %s through its API "
				  "server (epoch %s)",
				  r->db, r->ns, name, peer, epoch);
		}
	}
}

static void fence_cb(struct baton_kube_request *req, int status)
{
	struct fence_req *r = req->data;
	struct baton_peerfence *f = r->f;
	const char *peer = f->env.peer_name(f->env.data, r->peer);

	f->pending--;
	if (status != 0) {
		if (status != BATON_ECANCELED) {
			baton_log(BATON_LOG_WARN, "controller",
				  "%s: peer fencing in %s: %s (its instances "
				  "are fenced by their lease)",
				  r->db, peer, req->errmsg);
		}
	} else if (r->listing) {
		fence_listed(r, req->result);
	} else {
		char msg[300];
		snprintf(msg, sizeof msg,
			 "an instance in %s still labelled primary was "
			 "fenced through %s's API server before promoting "
			 "here (epoch %llu)",
			 peer, peer, (unsigned long long)r->epoch);
		f->env.event(f->env.data, r->db, "Normal", "Fenced", msg);
	}
	one_done(f, r->db, r->epoch);
	if (f->stopping && f->env.settled != NULL) {
		f->env.settled(f->env.data);
	}
	free(r);
}

bool baton_peerfence_done(struct baton_peerfence *f,
			  const struct baton_dbspec *spec, const char *db,
			  uint64_t epoch)
{
	struct baton_dbrec *rec = baton_dbstate_get(f->env.dbs, db);
	char path[512];
	char selector[160];
	struct baton_kube_ref ref = {NULL, "v1", "pods", spec->ns, NULL, NULL};
	struct baton_kube_list_opts opts = {0};
	int started = 0;

	if (rec != NULL && rec->fenced && rec->fenced_epoch >= epoch) {
		return true;
	}
	if (rec != NULL && rec->fencing > 0) {
		return false;
	}
	snprintf(selector, sizeof selector,
		 BATON_LABEL_CLUSTER "=%s," BATON_LABEL_ROLE "=primary",
		 spec->name);
	opts.label_selector = selector;
	if (baton_kube_path(&ref, path, sizeof path) != 0 ||
	    baton_kube_list_query(&opts, path, sizeof path) != 0) {
		return true;
	}
	for (int p = 0; p < f->env.n_peers; p++) {
		if (baton_dbspec_region(
			spec, f->env.peer_name(f->env.data, p)) == NULL) {
			continue;
		}
		if (fence_start(f, p, db, spec->ns, epoch, "GET", path, NULL) ==
		    0) {
			started++;
		}
	}
	rec = baton_dbstate_obtain(f->env.dbs, db);
	if (started == 0) {
		if (rec != NULL) {
			rec->fenced = true;
			rec->fenced_epoch = epoch;
		}
		return true;
	}
	if (rec != NULL) {
		rec->fencing = started;
	}
	return false;
}
