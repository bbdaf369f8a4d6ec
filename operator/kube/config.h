/* Connection settings for one Kubernetes API server.
 *
 * Two sources: kubeconfig files (YAML, parsed with libyaml) or the in-cluster
 * service-account mount. Both produce the same flat struct; everything the
 * transport needs (CA, client certificate and key, token) is held in memory so
 * the client never writes secrets to temporary files.
 *
 * Several kubeconfig files (a $KUBECONFIG list) are merged as kubectl does:
 * the first file that sets current-context wins, and each context, cluster
 * and user is taken from the first file that names it (with its paths
 * relative to that file); files of the list that do not exist are skipped.
 *
 * A user with an exec credential plugin (users[].user.exec) is accepted only
 * with BATON_KUBE_CONFIG_EXEC (batonctl): the plugin runs, synchronously,
 * at baton_kube_config_refresh(), which the client calls before every
 * request; kube/execcred.h.
 *
 * Errors: BATON_ECONFIG for a broken or incomplete config (errmsg names the
 * file, the context and the field), BATON_EIO when a referenced file cannot
 * be read, BATON_ETOOLARGE when a file exceeds BATON_KUBE_CONFIG_MAX_FILE.
 */
#ifndef BATON_KUBE_CONFIG_H
#define BATON_KUBE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "common/error.h"
#include "kube/execcred.h"

/* Cap for the kubeconfig itself and for every file it references. */
#define BATON_KUBE_CONFIG_MAX_FILE (1024 * 1024)

/* Default mount of the service-account secret inside a pod. */
#define BATON_KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct baton_kube_config {
	char *server;  /* "https://host:port", no trailing slash */
	char *context; /* the context used (NULL for in-cluster) */
	char *source;  /* the file it came from, for messages */
	char *ns;      /* default namespace, "default" if unset */

	unsigned char *ca; /* PEM bundle, NULL: system store */
	size_t ca_len;
	unsigned char *cert; /* client certificate PEM, NULL: none */
	size_t cert_len;
	unsigned char *key; /* client key PEM */
	size_t key_len;
	bool insecure; /* insecure-skip-tls-verify */
	char *tls_server_name;

	char *token;	  /* bearer token, NULL: none */
	char *token_file; /* re-read when its mtime/size/inode changes */
	struct timespec token_mtime;
	off_t token_size;
	ino_t token_ino;

	struct baton_kube_exec *exec; /* NULL: no exec plugin */
	time_t exec_expiry;	      /* when its credential ends, 0: never */
	bool exec_ran;		      /* token or cert/key came from it */

	char errmsg[BATON_ERRMSG_SIZE];
};

/* Loads PATH. CONTEXT overrides current-context when not NULL. On error the
 * struct holds nothing but errmsg (nothing to free, but free is harmless). */
int baton_kube_config_load_file(struct baton_kube_config *cfg, const char *path,
				const char *context);

/* Allow exec credential plugins (only where waiting for one is harmless). */
#define BATON_KUBE_CONFIG_EXEC 1u
/* At most this many files in a list. */
#define BATON_KUBE_CONFIG_MAX_FILES 16

/* Loads and merges the N files PATHS (see the top of this file); a file
 * that does not exist is skipped, unless none exists. FLAGS: 0 or
 * BATON_KUBE_CONFIG_EXEC. */
int baton_kube_config_load_files(struct baton_kube_config *cfg,
				 const char *const *paths, size_t n,
				 const char *context, unsigned flags);

/* The files kubectl would read: the ':'-separated $KUBECONFIG (empty
 * entries and repeats dropped), else ~/.kube/config. Fills PATHS (at most
 * BATON_KUBE_CONFIG_MAX_FILES) pointing into BUF of LEN; returns the count,
 * or -1 (errmsg) when the list does not fit or $HOME is unset. */
int baton_kube_config_default_files(const char **paths, char *buf, size_t len,
				    char *errmsg);

/* Runs the exec plugin when the config has one and it has not run yet or
 * its credential expires within 10 s; the token or client certificate it
 * printed replace the previous ones. 0 when nothing had to run. */
int baton_kube_config_refresh(struct baton_kube_config *cfg);

/* Same from memory; NAME is used in messages, relative paths are resolved
 * against BASE_DIR (may be NULL: current directory). */
int baton_kube_config_load_data(struct baton_kube_config *cfg, const char *yaml,
				size_t len, const char *name,
				const char *base_dir, const char *context);

/* In-cluster config: KUBERNETES_SERVICE_HOST/PORT and SA_DIR/{token,ca.crt,
 * namespace}. SA_DIR NULL means BATON_KUBE_SA_DIR. */
int baton_kube_config_in_cluster(struct baton_kube_config *cfg,
				 const char *sa_dir);

/* The current bearer token (NULL if none), re-reading token_file if it
 * changed on disk. A failed re-read keeps the previous token. */
const char *baton_kube_config_token(struct baton_kube_config *cfg);

/* A config for a plain URL ("http://h:p" or "https://h:p"), not an API
 * server: batond's clients for its agents and its peers' APIs. CA_FILE,
 * CERT_FILE and KEY_FILE (PEM, each may be NULL) give the trusted CA and
 * the client certificate; NAME is used in messages. Errors as for files. */
int baton_kube_config_for_url(struct baton_kube_config *cfg, const char *url,
			      const char *ca_file, const char *cert_file,
			      const char *key_file, const char *name);

/* Deep copy (errmsg of DST on failure). */
int baton_kube_config_copy(struct baton_kube_config *dst,
			   const struct baton_kube_config *src);

void baton_kube_config_free(struct baton_kube_config *cfg);

/* Reads a whole file into a NUL-terminated buffer, at most CAP bytes.
 * BATON_EIO / BATON_ETOOLARGE / BATON_ENOMEM. Shared by the kube module. */
int baton_kube_read_file(const char *path, size_t cap, char **out, size_t *len);

#endif /* BATON_KUBE_CONFIG_H */
