/* Generic REST verbs over unstructured JSON (jansson).
 *
 * A resource is addressed by group (NULL or "" for the core group),
 * version, resource (plural), namespace (NULL: cluster-scoped or all
 * namespaces), name and subresource ("status", "scale", ...). Options left
 * zero/NULL are not sent: only query parameters the caller set appear in the
 * URL (the official C client's sendInitialEvents bug, kubernetes-client/c
 * #203, is what happens otherwise).
 *
 * Every verb uses the request/callback contract of kube/client.h; on success
 * req->result is the object (or list) the server returned. A 409 on update
 * is BATON_ECONFLICT (re-GET and retry), on create BATON_EEXIST.
 */
#ifndef BATON_KUBE_REST_H
#define BATON_KUBE_REST_H

#include "kube/client.h"

struct baton_kube_ref {
	const char *group;
	const char *version;
	const char *resource;
	const char *ns;
	const char *name;
	const char *subresource;
};

struct baton_kube_list_opts {
	const char *label_selector;
	const char *field_selector;
	const char *resource_version;
	const char *resource_version_match;
	const char *continue_token;
	long limit;	      /* 0: not sent */
	long timeout_seconds; /* 0: not sent */
	bool watch;
	bool allow_watch_bookmarks;
};

struct baton_kube_write_opts {
	const char *field_manager;
	bool force;   /* apply only */
	bool dry_run; /* dryRun=All */
};

struct baton_kube_delete_opts {
	const char *propagation_policy; /* Foreground|Background|Orphan */
	const char *precondition_uid;
	const char *precondition_rv;
	long grace_period_seconds; /* < 0 or unset (0 with has_grace false) */
	bool has_grace;
};

enum baton_kube_patch_type {
	BATON_KUBE_PATCH_MERGE,	    /* application/merge-patch+json */
	BATON_KUBE_PATCH_JSON,	    /* application/json-patch+json */
	BATON_KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json */
	BATON_KUBE_PATCH_APPLY,	    /* application/apply-patch+yaml (SSA) */
};

/* Writes "/api/v1/namespaces/ns/configmaps/name" into BUF. Path segments
 * are percent-encoded. BATON_EINVAL if version/resource are missing,
 * BATON_ETOOLARGE if BUF is too small. */
int baton_kube_path(const struct baton_kube_ref *ref, char *buf, size_t len);

/* Appends "?a=b&c=d" for OPTS to BUF (which holds a path). */
int baton_kube_list_query(const struct baton_kube_list_opts *opts, char *buf,
			  size_t len);

int baton_kube_get(struct baton_kube_client *c, struct baton_kube_request *req,
		   const struct baton_kube_ref *ref, baton_kube_request_cb cb);
int baton_kube_list(struct baton_kube_client *c, struct baton_kube_request *req,
		    const struct baton_kube_ref *ref,
		    const struct baton_kube_list_opts *opts,
		    baton_kube_request_cb cb);
/* POST to the collection (ref->name ignored). */
int baton_kube_create(struct baton_kube_client *c,
		      struct baton_kube_request *req,
		      const struct baton_kube_ref *ref, json_t *obj,
		      const struct baton_kube_write_opts *opts,
		      baton_kube_request_cb cb);
/* PUT; ref->name defaults to obj.metadata.name. Send metadata.resourceVersion
 * for optimistic concurrency. */
int baton_kube_update(struct baton_kube_client *c,
		      struct baton_kube_request *req,
		      const struct baton_kube_ref *ref, json_t *obj,
		      const struct baton_kube_write_opts *opts,
		      baton_kube_request_cb cb);
int baton_kube_delete(struct baton_kube_client *c,
		      struct baton_kube_request *req,
		      const struct baton_kube_ref *ref,
		      const struct baton_kube_delete_opts *opts,
		      baton_kube_request_cb cb);
int baton_kube_patch(struct baton_kube_client *c,
		     struct baton_kube_request *req,
		     const struct baton_kube_ref *ref,
		     enum baton_kube_patch_type type, json_t *patch,
		     const struct baton_kube_write_opts *opts,
		     baton_kube_request_cb cb);
/* Server-side apply: PATCH with fieldManager (required) and force. */
int baton_kube_apply(struct baton_kube_client *c,
		     struct baton_kube_request *req,
		     const struct baton_kube_ref *ref, json_t *obj,
		     const char *field_manager, bool force,
		     baton_kube_request_cb cb);

/* LIST every page (limit/continue) into one list object.
 * The callback gets req->result = {"metadata":{"resourceVersion":RV of the
 * first page},"items":[...]}. An expired continue token is BATON_EGONE.
 *
 * With transform set (before baton_kube_list_all, like data), each item is
 * passed to it as its page arrives, before the page joins the list: only
 * one page is ever held whole, so a LIST of thousands of objects peaks at
 * one page's full trees plus the transformed rest, not at all of them. */
struct baton_kube_lister;
typedef void (*baton_kube_lister_cb)(struct baton_kube_lister *l, int status,
				     json_t *list);
struct baton_kube_lister {
	void *data;
	char errmsg[BATON_ERRMSG_SIZE];
	/* may modify the item in place; called with l so it can reach data */
	void (*transform)(struct baton_kube_lister *l, json_t *item);
	/* Private. */
	struct baton_kube_request req;
	struct baton_kube_client *client;
	char *path; /* path + fixed query, without continue */
	json_t *items;
	json_t *rv;
	size_t max_items;
	baton_kube_lister_cb cb;
};
/* OPTS->limit 0 means 500. MAX_ITEMS 0 means unlimited; past it the list
 * fails with BATON_ETOOLARGE. */
int baton_kube_list_all(struct baton_kube_client *c,
			struct baton_kube_lister *l,
			const struct baton_kube_ref *ref,
			const struct baton_kube_list_opts *opts,
			size_t max_items, baton_kube_lister_cb cb);
void baton_kube_lister_cancel(struct baton_kube_lister *l);

#endif /* BATON_KUBE_REST_H */
