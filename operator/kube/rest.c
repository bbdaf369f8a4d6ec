/* REST verbs: URL building, bodies, the paging helper.
 *
 * Paths are built into fixed buffers (PATH_MAX_LEN): Kubernetes names are at
 * most 253 characters, so a path that does not fit is a caller bug reported
 * as BATON_ETOOLARGE, never truncated.
 */
#include "kube/rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 4096

static int append(char *buf, size_t len, size_t *off, const char *s)
{
	size_t n = strlen(s);
	if (*off + n + 1 > len) {
		return BATON_ETOOLARGE;
	}
	memcpy(buf + *off, s, n + 1);
	*off += n;
	return 0;
}

/* Percent-encodes everything but RFC 3986 unreserved characters. */
static int append_enc(char *buf, size_t len, size_t *off, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_' || ch == '~') {
			if (*off + 2 > len) {
				return BATON_ETOOLARGE;
			}
			buf[(*off)++] = (char)ch;
		} else {
			if (*off + 4 > len) {
				return BATON_ETOOLARGE;
			}
			buf[(*off)++] = '%';
			buf[(*off)++] = hex[ch >> 4];
			buf[(*off)++] = hex[ch & 15];
		}
	}
	buf[*off] = '\0';
	return 0;
}

int baton_kube_path(const struct baton_kube_ref *ref, char *buf, size_t len)
{
	size_t off = 0;
	int rv = 0;

	if (ref->version == NULL || ref->resource == NULL || len == 0) {
		return BATON_EINVAL;
	}
	buf[0] = '\0';
	if (ref->group == NULL || ref->group[0] == '\0') {
		rv = append(buf, len, &off, "/api/");
	} else {
		rv = append(buf, len, &off, "/apis/");
		rv = rv ? rv : append_enc(buf, len, &off, ref->group);
		rv = rv ? rv : append(buf, len, &off, "/");
	}
	rv = rv ? rv : append_enc(buf, len, &off, ref->version);
	if (ref->ns != NULL && ref->ns[0] != '\0') {
		rv = rv ? rv : append(buf, len, &off, "/namespaces/");
		rv = rv ? rv : append_enc(buf, len, &off, ref->ns);
	}
	rv = rv ? rv : append(buf, len, &off, "/");
	rv = rv ? rv : append_enc(buf, len, &off, ref->resource);
	if (ref->name != NULL && ref->name[0] != '\0') {
		rv = rv ? rv : append(buf, len, &off, "/");
		rv = rv ? rv : append_enc(buf, len, &off, ref->name);
		if (ref->subresource != NULL && ref->subresource[0] != '\0') {
			rv = rv ? rv : append(buf, len, &off, "/");
			rv = rv ? rv
				: append_enc(buf, len, &off, ref->subresource);
		}
	}
	return rv;
}

struct query {
	char *buf;
	size_t len;
	size_t off;
	int rv;
};

static void q_add(struct query *q, const char *key, const char *value)
{
	if (q->rv != 0 || value == NULL) {
		return;
	}
	q->rv =
	    append(q->buf, q->len, &q->off, strchr(q->buf, '?') ? "&" : "?");
	q->rv = q->rv ? q->rv : append(q->buf, q->len, &q->off, key);
	q->rv = q->rv ? q->rv : append(q->buf, q->len, &q->off, "=");
	q->rv = q->rv ? q->rv : append_enc(q->buf, q->len, &q->off, value);
}

static void q_add_long(struct query *q, const char *key, long v)
{
	char tmp[32];
	snprintf(tmp, sizeof tmp, "%ld", v);
	q_add(q, key, tmp);
}

int baton_kube_list_query(const struct baton_kube_list_opts *o, char *buf,
			  size_t len)
{
	struct query q = {buf, len, strlen(buf), 0};

	if (o == NULL) {
		return 0;
	}
	q_add(&q, "labelSelector", o->label_selector);
	q_add(&q, "fieldSelector", o->field_selector);
	q_add(&q, "resourceVersion", o->resource_version);
	q_add(&q, "resourceVersionMatch", o->resource_version_match);
	q_add(&q, "continue", o->continue_token);
	if (o->limit > 0) {
		q_add_long(&q, "limit", o->limit);
	}
	if (o->timeout_seconds > 0) {
		q_add_long(&q, "timeoutSeconds", o->timeout_seconds);
	}
	if (o->watch) {
		q_add(&q, "watch", "1");
	}
	if (o->allow_watch_bookmarks) {
		q_add(&q, "allowWatchBookmarks", "true");
	}
	return q.rv;
}

static int write_query(const struct baton_kube_write_opts *o, char *buf,
		       size_t len)
{
	struct query q = {buf, len, strlen(buf), 0};
	if (o == NULL) {
		return 0;
	}
	q_add(&q, "fieldManager", o->field_manager);
	if (o->force) {
		q_add(&q, "force", "true");
	}
	if (o->dry_run) {
		q_add(&q, "dryRun", "All");
	}
	return q.rv;
}

static int bad_ref(struct baton_kube_request *req, int rv)
{
	baton_errmsg_printf(req->errmsg, "bad resource reference: %s",
			    baton_strerror(rv));
	return rv;
}

static int send_json(struct baton_kube_client *c,
		     struct baton_kube_request *req, const char *method,
		     const char *path, const char *ctype, json_t *body,
		     baton_kube_request_cb cb)
{
	char *text = NULL;
	int rv;

	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		if (text == NULL) {
			baton_errmsg_printf(req->errmsg,
					    "cannot serialise request body");
			return BATON_EINVAL;
		}
	}
	rv = baton_kube_request_start(c, req, method, path, ctype, text, 0,
				      NULL, cb);
	free(text);
	return rv;
}

int baton_kube_get(struct baton_kube_client *c, struct baton_kube_request *req,
		   const struct baton_kube_ref *ref, baton_kube_request_cb cb)
{
	char path[PATH_MAX_LEN];
	int rv = baton_kube_path(ref, path, sizeof path);
	if (rv != 0) {
		return bad_ref(req, rv);
	}
	return send_json(c, req, "GET", path, NULL, NULL, cb);
}

int baton_kube_list(struct baton_kube_client *c, struct baton_kube_request *req,
		    const struct baton_kube_ref *ref,
		    const struct baton_kube_list_opts *opts,
		    baton_kube_request_cb cb)
{
	char path[PATH_MAX_LEN];
	struct baton_kube_ref coll = *ref;
	int rv;

	coll.name = NULL;
	rv = baton_kube_path(&coll, path, sizeof path);
	rv = rv ? rv : baton_kube_list_query(opts, path, sizeof path);
	if (rv != 0) {
		return bad_ref(req, rv);
	}
	return send_json(c, req, "GET", path, NULL, NULL, cb);
}

int baton_kube_create(struct baton_kube_client *c,
		      struct baton_kube_request *req,
		      const struct baton_kube_ref *ref, json_t *obj,
		      const struct baton_kube_write_opts *opts,
		      baton_kube_request_cb cb)
{
	char path[PATH_MAX_LEN];
	struct baton_kube_ref coll = *ref;
	int rv;

	coll.name = NULL;
	rv = baton_kube_path(&coll, path, sizeof path);
	rv = rv ? rv : write_query(opts, path, sizeof path);
	if (rv != 0) {
		return bad_ref(req, rv);
	}
	return send_json(c, req, "POST", path, "application/json", obj, cb);
}

static const char *obj_name(json_t *obj)
{
	return json_string_value(
	    json_object_get(json_object_get(obj, "metadata"), "name"));
}

int baton_kube_update(struct baton_kube_client *c,
		      struct baton_kube_request *req,
		      const struct baton_kube_ref *ref, json_t *obj,
		      const struct baton_kube_write_opts *opts,
		      baton_kube_request_cb cb)
{
	char path[PATH_MAX_LEN];
	struct baton_kube_ref r = *ref;
	int rv;

	if (r.name == NULL) {
		r.name = obj_name(obj);
	}
	if (r.name == NULL) {
		baton_errmsg_printf(req->errmsg, "update: no name");
		return BATON_EINVAL;
	}
	rv = baton_kube_path(&r, path, sizeof path);
	rv = rv ? rv : write_query(opts, path, sizeof path);
	if (rv != 0) {
		return bad_ref(req, rv);
	}
	return send_json(c, req, "PUT", path, "application/json", obj, cb);
}

int baton_kube_delete(struct baton_kube_client *c,
		      struct baton_kube_request *req,
		      const struct baton_kube_ref *ref,
		      const struct baton_kube_delete_opts *o,
		      baton_kube_request_cb cb)
{
	char path[PATH_MAX_LEN];
	json_t *body = NULL;
	int rv;

	if (ref->name == NULL) {
		baton_errmsg_printf(req->errmsg, "delete: no name");
		return BATON_EINVAL;
	}
	rv = baton_kube_path(ref, path, sizeof path);
	if (rv != 0) {
		return bad_ref(req, rv);
	}
	if (o != NULL && (o->propagation_policy || o->precondition_uid ||
			  o->precondition_rv || o->has_grace)) {
		body = json_pack("{s:s, s:s}", "kind", "DeleteOptions",
				 "apiVersion", "v1");
		if (body == NULL) {
			return BATON_ENOMEM;
		}
		if (o->propagation_policy) {
			json_object_set_new(body, "propagationPolicy",
					    json_string(o->propagation_policy));
		}
		if (o->has_grace) {
			json_object_set_new(
			    body, "gracePeriodSeconds",
			    json_integer(o->grace_period_seconds));
		}
		if (o->precondition_uid || o->precondition_rv) {
			json_t *pre = json_object();
			if (o->precondition_uid) {
				json_object_set_new(
				    pre, "uid",
				    json_string(o->precondition_uid));
			}
			if (o->precondition_rv) {
				json_object_set_new(
				    pre, "resourceVersion",
				    json_string(o->precondition_rv));
			}
			json_object_set_new(body, "preconditions", pre);
		}
	}
	rv = send_json(c, req, "DELETE", path, body ? "application/json" : NULL,
		       body, cb);
	json_decref(body);
	return rv;
}

int baton_kube_patch(struct baton_kube_client *c,
		     struct baton_kube_request *req,
		     const struct baton_kube_ref *ref,
		     enum baton_kube_patch_type type, json_t *patch,
		     const struct baton_kube_write_opts *opts,
		     baton_kube_request_cb cb)
{
	static const char *const ctypes[] = {
	    "application/merge-patch+json",
	    "application/json-patch+json",
	    "application/strategic-merge-patch+json",
	    "application/apply-patch+yaml",
	};
	char path[PATH_MAX_LEN];
	int rv;

	if (ref->name == NULL || (unsigned)type > BATON_KUBE_PATCH_APPLY) {
		baton_errmsg_printf(req->errmsg, "patch: no name or bad type");
		return BATON_EINVAL;
	}
	if (type == BATON_KUBE_PATCH_APPLY &&
	    (opts == NULL || opts->field_manager == NULL)) {
		baton_errmsg_printf(req->errmsg,
				    "apply: fieldManager is required");
		return BATON_EINVAL;
	}
	rv = baton_kube_path(ref, path, sizeof path);
	rv = rv ? rv : write_query(opts, path, sizeof path);
	if (rv != 0) {
		return bad_ref(req, rv);
	}
	return send_json(c, req, "PATCH", path, ctypes[type], patch, cb);
}

int baton_kube_apply(struct baton_kube_client *c,
		     struct baton_kube_request *req,
		     const struct baton_kube_ref *ref, json_t *obj,
		     const char *field_manager, bool force,
		     baton_kube_request_cb cb)
{
	struct baton_kube_write_opts o = {field_manager, force, false};
	struct baton_kube_ref r = *ref;

	if (r.name == NULL) {
		r.name = obj_name(obj);
	}
	return baton_kube_patch(c, req, &r, BATON_KUBE_PATCH_APPLY, obj, &o,
				cb);
}

/* ---- paging
 * ------------------------------------------------------------------ */

static int lister_next(struct baton_kube_lister *l, const char *cont);

static void lister_finish(struct baton_kube_lister *l, int status)
{
	json_t *list = NULL;
	baton_kube_lister_cb cb = l->cb;

	if (status == 0) {
		list = json_pack("{s:{s:O?}, s:O}", "metadata",
				 "resourceVersion", l->rv, "items", l->items);
		if (list == NULL) {
			status = BATON_ENOMEM;
		}
	}
	json_decref(l->items);
	json_decref(l->rv);
	free(l->path);
	l->items = l->rv = NULL;
	l->path = NULL;
	cb(l, status, list);
	json_decref(list);
}

static void lister_page_cb(struct baton_kube_request *req, int status)
{
	struct baton_kube_lister *l = req->data;
	json_t *items, *meta;
	const char *cont;

	if (status != 0) {
		memcpy(l->errmsg, req->errmsg, sizeof l->errmsg);
		lister_finish(l, status);
		return;
	}
	items = json_object_get(req->result, "items");
	meta = json_object_get(req->result, "metadata");
	if (!json_is_array(items) && !json_is_null(items) && items != NULL) {
		baton_errmsg_printf(l->errmsg, "list: items is not an array");
		lister_finish(l, BATON_EPARSE);
		return;
	}
	if (l->rv == NULL) {
		l->rv = json_incref(json_object_get(meta, "resourceVersion"));
	}
	if (l->transform != NULL) {
		size_t i;
		json_t *item;
		json_array_foreach(items, i, item)
		{
			l->transform(l, item);
		}
	}
	if (items != NULL && json_array_extend(l->items, items) != 0) {
		lister_finish(l, BATON_ENOMEM);
		return;
	}
	if (l->max_items > 0 && json_array_size(l->items) > l->max_items) {
		baton_errmsg_printf(l->errmsg, "list: more than %zu items",
				    l->max_items);
		lister_finish(l, BATON_ETOOLARGE);
		return;
	}
	cont = json_string_value(json_object_get(meta, "continue"));
	if (cont != NULL && cont[0] != '\0') {
		int rv = lister_next(l, cont);
		if (rv != 0) {
			lister_finish(l, rv);
		}
		return;
	}
	lister_finish(l, 0);
}

static int lister_next(struct baton_kube_lister *l, const char *cont)
{
	char path[PATH_MAX_LEN];
	struct query q = {path, sizeof path, 0, 0};
	int rv;

	q.rv = append(path, sizeof path, &q.off, l->path);
	q_add(&q, "continue", cont);
	if (q.rv != 0) {
		baton_errmsg_printf(l->errmsg, "list: continue token too long");
		return q.rv;
	}
	l->req.data = l;
	rv = baton_kube_request_start(l->client, &l->req, "GET", path, NULL,
				      NULL, 0, NULL, lister_page_cb);
	if (rv != 0) {
		memcpy(l->errmsg, l->req.errmsg, sizeof l->errmsg);
	}
	return rv;
}

int baton_kube_list_all(struct baton_kube_client *c,
			struct baton_kube_lister *l,
			const struct baton_kube_ref *ref,
			const struct baton_kube_list_opts *opts,
			size_t max_items, baton_kube_lister_cb cb)
{
	struct baton_kube_list_opts o = {0};
	struct baton_kube_ref coll = *ref;
	char path[PATH_MAX_LEN];
	int rv;

	if (opts != NULL) {
		o = *opts;
	}
	if (o.limit <= 0) {
		o.limit = 500;
	}
	o.watch = false;
	coll.name = NULL;
	rv = baton_kube_path(&coll, path, sizeof path);
	rv = rv ? rv : baton_kube_list_query(&o, path, sizeof path);
	if (rv != 0) {
		baton_errmsg_printf(l->errmsg, "list: bad reference");
		return rv;
	}
	l->client = c;
	l->cb = cb;
	l->max_items = max_items;
	l->rv = NULL;
	l->items = json_array();
	l->path = strdup(path);
	if (l->items == NULL || l->path == NULL) {
		json_decref(l->items);
		free(l->path);
		l->items = NULL;
		l->path = NULL;
		return BATON_ENOMEM;
	}
	l->req.data = l;
	rv = baton_kube_request_start(c, &l->req, "GET", path, NULL, NULL, 0,
				      NULL, lister_page_cb);
	if (rv != 0) {
		memcpy(l->errmsg, l->req.errmsg, sizeof l->errmsg);
		json_decref(l->items);
		free(l->path);
		l->items = NULL;
		l->path = NULL;
	}
	return rv;
}

void baton_kube_lister_cancel(struct baton_kube_lister *l)
{
	baton_kube_request_cancel(&l->req);
}
