/* Exec credential plugins (kube/execcred.h). client-go's
 * plugin/pkg/client/auth/exec is the reference: the same request in
 * KUBERNETES_EXEC_INFO, the same checks on the answer (apiVersion and kind
 * must be what was asked for, a certificate needs its key), no shell.
 * Unlike client-go, stderr is not passed through but kept (its tail) for
 * the error message: batonctl's output stays a table, and the reason a
 * plugin failed ends up where the user reads the failure. */
#include "kube/execcred.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "kube/config.h"

extern char **environ;

#define STDERR_TAIL 512

/* ---- parsing ------------------------------------------------------------ */

static int pem_field(json_t *status, const char *field, unsigned char **buf,
		     size_t *len)
{
	json_t *v = json_object_get(status, field);
	size_t n;

	if (!json_is_string(v) || json_string_length(v) == 0) {
		return 0;
	}
	n = json_string_length(v);
	if ((*buf = malloc(n + 1)) == NULL) {
		return BATON_ENOMEM;
	}
	memcpy(*buf, json_string_value(v), n + 1);
	*len = n;
	return 0;
}

int baton_kube_exec_parse(const char *text, size_t len, const char *api_version,
			  const char *who, struct baton_kube_exec_cred *out,
			  char *errmsg)
{
	json_error_t jerr;
	json_t *root, *status, *v;
	const char *s;
	int rv = BATON_ECONFIG;

	memset(out, 0, sizeof *out);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		baton_errmsg_printf(errmsg,
				    "%s printed no ExecCredential (%s at "
				    "line %d): \"%.40s\"",
				    who, jerr.text, jerr.line, text);
		return BATON_ECONFIG;
	}
	s = json_string_value(json_object_get(root, "apiVersion"));
	if (s == NULL || strcmp(s, api_version) != 0) {
		baton_errmsg_printf(errmsg,
				    "%s printed apiVersion \"%s\", not the "
				    "\"%s\" asked for",
				    who, s ? s : "", api_version);
		goto done;
	}
	s = json_string_value(json_object_get(root, "kind"));
	if (s == NULL || strcmp(s, "ExecCredential") != 0) {
		baton_errmsg_printf(errmsg,
				    "%s printed kind \"%s\", not "
				    "ExecCredential",
				    who, s ? s : "");
		goto done;
	}
	status = json_object_get(root, "status");
	if (!json_is_object(status)) {
		baton_errmsg_printf(errmsg, "%s printed no status", who);
		goto done;
	}
	v = json_object_get(status, "token");
	if (json_is_string(v) && json_string_length(v) > 0 &&
	    (out->token = strdup(json_string_value(v))) == NULL) {
		rv = BATON_ENOMEM;
		goto done;
	}
	if ((rv = pem_field(status, "clientCertificateData", &out->cert,
			    &out->cert_len)) != 0 ||
	    (rv = pem_field(status, "clientKeyData", &out->key,
			    &out->key_len)) != 0) {
		goto done;
	}
	rv = BATON_ECONFIG;
	if ((out->cert == NULL) != (out->key == NULL)) {
		baton_errmsg_printf(
		    errmsg, "%s printed %s without %s", who,
		    out->cert ? "clientCertificateData" : "clientKeyData",
		    out->cert ? "clientKeyData" : "clientCertificateData");
		goto done;
	}
	if (out->token == NULL && out->cert == NULL) {
		baton_errmsg_printf(errmsg,
				    "%s printed neither status.token nor "
				    "status.clientCertificateData",
				    who);
		goto done;
	}
	v = json_object_get(status, "expirationTimestamp");
	if (v != NULL && !json_is_null(v) &&
	    (!json_is_string(v) ||
	     baton_clock_parse_rfc3339(json_string_value(v), &out->expiry) !=
		 0)) {
		baton_errmsg_printf(
		    errmsg,
		    "%s printed expirationTimestamp \"%s\", "
		    "not an RFC 3339 time",
		    who, json_is_string(v) ? json_string_value(v) : "?");
		goto done;
	}
	rv = 0;
done:
	json_decref(root);
	if (rv != 0) {
		baton_kube_exec_cred_free(out);
	}
	return rv;
}

/* ---- running ------------------------------------------------------------ */

static bool env_overridden(const struct baton_kube_exec *x, const char *e)
{
	size_t n = strcspn(e, "=");

	if (strncmp(e, "KUBERNETES_EXEC_INFO=", 21) == 0) {
		return true;
	}
	for (char **p = x->env; p != NULL && *p != NULL; p++) {
		if (strncmp(*p, e, n) == 0 && (*p)[n] == '=') {
			return true;
		}
	}
	return false;
}

/* The caller's environment, the kubeconfig's entries over it, and the
 * request. Entries point into environ and X except the last one. */
static char **plugin_env(const struct baton_kube_exec *x, char **info)
{
	size_t n = 0, k = 0, m = 0;
	char **envp;

	for (char **p = environ; p != NULL && *p != NULL; p++) {
		n++;
	}
	for (char **p = x->env; p != NULL && *p != NULL; p++) {
		m++;
	}
	envp = calloc(n + m + 2, sizeof *envp);
	*info = malloc(strlen(x->info) + 32);
	if (envp == NULL || *info == NULL) {
		free(envp);
		free(*info);
		*info = NULL;
		return NULL;
	}
	for (char **p = environ; p != NULL && *p != NULL; p++) {
		if (!env_overridden(x, *p)) {
			envp[k++] = *p;
		}
	}
	for (char **p = x->env; p != NULL && *p != NULL; p++) {
		envp[k++] = *p;
	}
	snprintf(*info, strlen(x->info) + 32, "KUBERNETES_EXEC_INFO=%s",
		 x->info);
	envp[k++] = *info;
	envp[k] = NULL;
	return envp;
}

/* The last non-empty line of the plugin's stderr, for messages. */
static const char *last_line(char *buf, size_t len)
{
	char *nl;

	buf[len] = '\0';
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
			   buf[len - 1] == ' ')) {
		buf[--len] = '\0';
	}
	nl = strrchr(buf, '\n');
	return nl ? nl + 1 : buf;
}

struct child {
	pid_t pid;
	int out, err;
	struct baton_buf stdout_buf; /* the credential: cleansed, then freed */
	char stderr_buf[STDERR_TAIL + 1];
	size_t stderr_len;
};

static int spawn(const struct baton_kube_exec *x, struct child *c, char *errmsg)
{
	posix_spawn_file_actions_t fa;
	int out[2] = {-1, -1}, err[2] = {-1, -1};
	char **envp, *info = NULL;
	int rv;

	envp = plugin_env(x, &info);
	if (envp == NULL) {
		return BATON_ENOMEM;
	}
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
		baton_errmsg_printf(errmsg, "user \"%s\".exec: pipe: %s",
				    x->user, strerror(errno));
		rv = BATON_EIO;
		goto done;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	rv = posix_spawnp(&c->pid, x->argv[0], &fa, NULL, x->argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (rv != 0) {
		baton_errmsg_printf(errmsg,
				    "user \"%s\".exec: cannot run \"%s\": "
				    "%s%s%s",
				    x->user, x->argv[0], strerror(rv),
				    x->hint ? ": " : "",
				    x->hint ? x->hint : "");
		rv = rv == ENOENT || rv == EACCES ? BATON_ECONFIG : BATON_EIO;
		goto done;
	}
	c->out = out[0];
	c->err = err[0];
	out[0] = err[0] = -1;
	rv = 0;
done:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0) {
			close(out[i]);
		}
		if (err[i] >= 0) {
			close(err[i]);
		}
	}
	free(envp);
	free(info);
	return rv;
}

/* Reads both pipes until they close or DEADLINE (monotonic ms) passes. */
static int collect(struct child *c, long deadline)
{
	char buf[4096];
	int rv;

	while (c->out >= 0 || c->err >= 0) {
		struct pollfd p[2] = {{c->out, POLLIN, 0}, {c->err, POLLIN, 0}};
		long left = deadline - (long)baton_mono_ms();
		int n;

		if (left <= 0) {
			return BATON_ETIMEDOUT;
		}
		n = poll(p, 2, (int)left);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return BATON_EIO;
		}
		for (int i = 0; i < 2; i++) {
			int *fd = i == 0 ? &c->out : &c->err;
			ssize_t r;
			if (*fd < 0 || p[i].revents == 0) {
				continue;
			}
			r = read(*fd, buf, sizeof buf);
			if (r < 0 && errno == EINTR) {
				continue;
			}
			if (r <= 0) {
				close(*fd);
				*fd = -1;
				continue;
			}
			if (i == 1) {
				/* keep the tail: the reason is at the end */
				size_t keep = (size_t)r > STDERR_TAIL
						  ? STDERR_TAIL
						  : (size_t)r;
				if (c->stderr_len + keep > STDERR_TAIL) {
					size_t drop =
					    c->stderr_len + keep - STDERR_TAIL;
					memmove(c->stderr_buf,
						c->stderr_buf + drop,
						c->stderr_len - drop);
					c->stderr_len -= drop;
				}
				memcpy(c->stderr_buf + c->stderr_len,
				       buf + (size_t)r - keep, keep);
				c->stderr_len += keep;
				continue;
			}
			rv = baton_buf_add(&c->stdout_buf, buf, (size_t)r);
			if (rv != 0) {
				return rv; /* BATON_ETOOLARGE past the cap */
			}
		}
	}
	return 0;
}

int baton_kube_exec_run(const struct baton_kube_exec *x, long timeout_ms,
			struct baton_kube_exec_cred *out, char *errmsg)
{
	struct child c = {.pid = -1, .out = -1, .err = -1};
	char who[160];
	int status = 0;
	int rv;

	memset(out, 0, sizeof *out);
	baton_buf_init(&c.stdout_buf, BATON_KUBE_CONFIG_MAX_FILE);
	rv = spawn(x, &c, errmsg);
	if (rv != 0) {
		return rv;
	}
	rv = collect(&c, (long)baton_mono_ms() + timeout_ms);
	if (rv != 0) {
		/* it may still be writing: stop it before waiting for it */
		kill(c.pid, SIGKILL);
	}
	while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (c.out >= 0) {
		close(c.out);
	}
	if (c.err >= 0) {
		close(c.err);
	}
	snprintf(who, sizeof who, "user \"%s\".exec: \"%s\"", x->user,
		 x->argv[0]);
	if (rv == BATON_ETIMEDOUT) {
		baton_errmsg_printf(errmsg, "%s did not finish within %ld ms",
				    who, timeout_ms);
	} else if (rv == BATON_ETOOLARGE) {
		baton_errmsg_printf(errmsg, "%s printed more than %d bytes",
				    who, BATON_KUBE_CONFIG_MAX_FILE);
	} else if (rv != 0) {
		baton_errmsg_printf(errmsg, "%s: %s", who, baton_strerror(rv));
	} else if (WIFSIGNALED(status)) {
		baton_errmsg_printf(errmsg, "%s was killed by signal %d: %s",
				    who, WTERMSIG(status),
				    last_line(c.stderr_buf, c.stderr_len));
		rv = BATON_EIO;
	} else if (WEXITSTATUS(status) != 0) {
		baton_errmsg_printf(errmsg, "%s exited with status %d: %s", who,
				    WEXITSTATUS(status),
				    last_line(c.stderr_buf, c.stderr_len));
		rv = BATON_EIO;
	} else {
		rv = baton_kube_exec_parse(c.stdout_buf.p ? c.stdout_buf.p : "",
					   c.stdout_buf.len, x->api_version,
					   who, out, errmsg);
	}
	if (c.stdout_buf.p != NULL) {
		OPENSSL_cleanse(c.stdout_buf.p, c.stdout_buf.len);
		baton_buf_free(&c.stdout_buf);
	}
	return rv;
}

/* ---- lifecycle ---------------------------------------------------------- */

static char **dup_list(char **src)
{
	size_t n = 0;
	char **dst;

	for (char **p = src; p != NULL && *p != NULL; p++) {
		n++;
	}
	dst = calloc(n + 1, sizeof *dst);
	for (size_t i = 0; dst != NULL && i < n; i++) {
		if ((dst[i] = strdup(src[i])) == NULL) {
			for (size_t k = 0; k < i; k++) {
				free(dst[k]);
			}
			free(dst);
			return NULL;
		}
	}
	return dst;
}

static void free_list(char **l)
{
	for (char **p = l; p != NULL && *p != NULL; p++) {
		free(*p);
	}
	free(l);
}

int baton_kube_exec_copy(struct baton_kube_exec **dst,
			 const struct baton_kube_exec *src)
{
	struct baton_kube_exec *x;

	*dst = NULL;
	if (src == NULL) {
		return 0;
	}
	if ((x = calloc(1, sizeof *x)) == NULL) {
		return BATON_ENOMEM;
	}
	x->argv = dup_list(src->argv);
	x->env = dup_list(src->env);
	x->api_version = strdup(src->api_version);
	x->info = strdup(src->info);
	x->user = strdup(src->user);
	x->hint = src->hint ? strdup(src->hint) : NULL;
	if (x->argv == NULL || x->env == NULL || x->api_version == NULL ||
	    x->info == NULL || x->user == NULL ||
	    (src->hint != NULL && x->hint == NULL)) {
		baton_kube_exec_free(x);
		return BATON_ENOMEM;
	}
	*dst = x;
	return 0;
}

void baton_kube_exec_free(struct baton_kube_exec *x)
{
	if (x == NULL) {
		return;
	}
	free_list(x->argv);
	free_list(x->env);
	free(x->api_version);
	free(x->info);
	free(x->hint);
	free(x->user);
	free(x);
}

void baton_kube_exec_cred_free(struct baton_kube_exec_cred *c)
{
	if (c->token != NULL) {
		OPENSSL_cleanse(c->token, strlen(c->token));
	}
	if (c->key != NULL) {
		OPENSSL_cleanse(c->key, c->key_len);
	}
	free(c->token);
	free(c->cert);
	free(c->key);
	memset(c, 0, sizeof *c);
}
