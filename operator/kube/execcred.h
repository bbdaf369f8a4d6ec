/* Exec credential plugins: a kubeconfig's users[].user.exec.
 *
 * Cloud kubeconfigs (EKS's `aws eks get-token`, GKE's
 * gke-gcloud-auth-plugin, AKS's kubelogin) name a program that prints a
 * client.authentication.k8s.io ExecCredential (v1 or v1beta1) on stdout:
 * status.token, or status.clientCertificateData and clientKeyData (PEM),
 * and optionally status.expirationTimestamp (RFC 3339).
 *
 * Happy path: baton_kube_exec_run() starts the command with its args
 * (posix_spawnp: a PATH lookup, no shell), the caller's environment plus
 * the kubeconfig's env entries plus KUBERNETES_EXEC_INFO (the request:
 * apiVersion, kind, spec.interactive false, and spec.cluster when the
 * kubeconfig sets provideClusterInfo), stdin from /dev/null; reads stdout
 * (at most BATON_KUBE_CONFIG_MAX_FILE) and the tail of stderr until both
 * close, reaps it, and parses the ExecCredential.
 *
 * Failure paths, each BATON_ECONFIG/EIO/ETIMEDOUT/ETOOLARGE with errmsg
 * naming the user and the command: it cannot be started (with the
 * kubeconfig's installHint), it exits non-zero or on a signal (with the
 * last line it wrote on stderr), it runs past the timeout (killed), or what
 * it printed is no ExecCredential of the apiVersion asked for, or has
 * neither a token nor a certificate and its key.
 *
 * The run is synchronous: the caller's thread waits for the plugin. That is
 * why only batonctl allows exec plugins (BATON_KUBE_CONFIG_EXEC); a
 * daemon's event loop must not wait for `aws` to start.
 */
#ifndef BATON_KUBE_EXECCRED_H
#define BATON_KUBE_EXECCRED_H

#include <stddef.h>
#include <time.h>

#include "common/error.h"

#define BATON_KUBE_EXEC_TIMEOUT_MS 60000

struct baton_kube_exec {
	char **argv; /* command, then args; NULL-terminated */
	char **env;  /* "NAME=VALUE" set for the plugin; NULL-terminated */
	char *api_version; /* client.authentication.k8s.io/v1 or v1beta1 */
	char *info;	   /* KUBERNETES_EXEC_INFO */
	char *hint;	   /* installHint, NULL: none */
	char *user;	   /* the kubeconfig user's name, for messages */
};

struct baton_kube_exec_cred {
	char *token;	     /* NULL: a client certificate instead */
	unsigned char *cert; /* PEM */
	size_t cert_len;
	unsigned char *key; /* PEM */
	size_t key_len;
	time_t expiry; /* 0: never expires */
};

/* Runs X's plugin (at most TIMEOUT_MS) into OUT. */
int baton_kube_exec_run(const struct baton_kube_exec *x, long timeout_ms,
			struct baton_kube_exec_cred *out, char *errmsg);

/* Parses an ExecCredential of API_VERSION (TEXT of LEN bytes) into OUT;
 * WHO names the plugin in messages. */
int baton_kube_exec_parse(const char *text, size_t len, const char *api_version,
			  const char *who, struct baton_kube_exec_cred *out,
			  char *errmsg);

int baton_kube_exec_copy(struct baton_kube_exec **dst,
			 const struct baton_kube_exec *src);
void baton_kube_exec_free(struct baton_kube_exec *x);
void baton_kube_exec_cred_free(struct baton_kube_exec_cred *c);

#endif /* BATON_KUBE_EXECCRED_H */
