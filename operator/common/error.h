/* One error space for all of Baton.
 *
 * Every function that can fail returns 0 or a small positive BATON_E* code.
 * Errors from libraries (libcurl, libuv, jansson, OpenSSL, raft, libpq, the
 * Kubernetes API's Status body) are translated once, where they enter, and
 * the object that failed keeps a human-readable errmsg saying what to do.
 */
#ifndef BATON_ERROR_H
#define BATON_ERROR_H

#include <stddef.h>

enum {
	BATON_OK = 0,
	BATON_ENOMEM,	   /* out of memory */
	BATON_EINVAL,	   /* invalid argument or input */
	BATON_EPARSE,	   /* malformed input (JSON, YAML, HTTP) */
	BATON_ETOOLARGE,   /* a bounded buffer would overflow */
	BATON_EIO,	   /* file or socket I/O failed */
	BATON_ECONFIG,	   /* configuration (kubeconfig, flags) is wrong */
	BATON_ETLS,	   /* TLS setup or verification failed */
	BATON_ECONN,	   /* cannot connect / connection lost */
	BATON_ETIMEDOUT,   /* deadline passed */
	BATON_ECANCELED,   /* the owner was closed; request cancelled */
	BATON_ENOTFOUND,   /* 404 / no such object */
	BATON_ECONFLICT,   /* 409 / resourceVersion or apply conflict */
	BATON_EEXIST,	   /* 409 AlreadyExists */
	BATON_EGONE,	   /* 410 Expired: relist */
	BATON_EFORBIDDEN,  /* 401/403 */
	BATON_EINVALIDOBJ, /* 422 Invalid */
	BATON_ETHROTTLED,  /* 429 Too Many Requests */
	BATON_ESERVER,	   /* 5xx or another unexpected server answer */
	BATON_ENOTLEADER,  /* this node is not the Raft leader */
	BATON_ESTALE,	   /* an order or decision with an older epoch */
	BATON_EBUSY,	   /* a conflicting operation is in progress */
	BATON_ESHUTDOWN,   /* the component is shutting down */
	BATON_EENGINE,	   /* the database engine refused or failed */
	BATON_EINTERNAL,   /* a bug: an invariant did not hold */
	BATON_E_COUNT
};

/* A static, never-NULL description of a BATON_E* code. */
const char *baton_strerror(int code);

/* The short symbolic name ("BATON_ECONFLICT"), for logs and tests. */
const char *baton_errname(int code);

/* Size of the errmsg buffers kept by Baton objects. */
#define BATON_ERRMSG_SIZE 256

/* printf into an errmsg buffer of BATON_ERRMSG_SIZE, always terminated. */
void baton_errmsg_printf(char *errmsg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* BATON_ERROR_H */
