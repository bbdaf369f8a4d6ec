/* labkubelet/spec.c: a pod spec → what to run: a container's argv
 * (`ip netns exec NS SELF pod-exec --mount ... -- CMD`) and environment
 * (fieldRef, secretKeyRef, configMapKeyRef, $(VAR) expansion), and its
 * readiness probe. */
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"

#include "labkubelet.h"

bool is_passive(const struct lk *lk, const char *name)
{
	for (int i = 0; i < lk->o.n_passive; i++) {
		if (strcmp(lk->o.passive[i], name) == 0) {
			return true;
		}
	}
	return false;
}

json_t *ctr_spec(const struct ctr *c)
{
	json_t *list =
	    json_object_get(json_object_get(c->pod->obj, "spec"), "containers");
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		const char *n = jstr(v, "name");
		if (n != NULL && strcmp(n, c->name) == 0) {
			return v;
		}
	}
	return NULL;
}

/* A fieldRef's value, or NULL if the lab cannot resolve it. */
static const char *field_ref(struct pod *p, const char *path, char *buf,
			     size_t n)
{
	json_t *meta = json_object_get(p->obj, "metadata");
	char key[256];

	if (strcmp(path, "metadata.name") == 0) {
		return p->name;
	}
	if (strcmp(path, "metadata.namespace") == 0) {
		return p->ns;
	}
	if (strcmp(path, "metadata.uid") == 0) {
		return p->uid;
	}
	if (strcmp(path, "spec.nodeName") == 0) {
		return p->lk->o.node;
	}
	if (strcmp(path, "spec.serviceAccountName") == 0) {
		const char *sa = jpath(p->obj, "spec", "serviceAccountName");
		return sa != NULL ? sa : "default";
	}
	if (strcmp(path, "status.podIP") == 0 ||
	    strcmp(path, "status.podIPs") == 0) {
		return p->ip;
	}
	if (strcmp(path, "status.hostIP") == 0 ||
	    strcmp(path, "status.hostIPs") == 0) {
		return p->lk->o.node_ip;
	}
	if ((sscanf(path, "metadata.labels['%255[^']']", key) == 1 &&
	     strncmp(path, "metadata.labels", 15) == 0)) {
		const char *v = jstr(json_object_get(meta, "labels"), key);
		snprintf(buf, n, "%s", v != NULL ? v : "");
		return buf;
	}
	if ((sscanf(path, "metadata.annotations['%255[^']']", key) == 1 &&
	     strncmp(path, "metadata.annotations", 20) == 0)) {
		const char *v = jstr(json_object_get(meta, "annotations"), key);
		snprintf(buf, n, "%s", v != NULL ? v : "");
		return buf;
	}
	return NULL;
}

/* The most bytes LEN characters of base64 decode to. */
size_t b64_max(size_t len)
{
	return len / 4 * 3;
}

/* A Secret's value (standard base64, padded) RAW of LEN characters into OUT
 * (CAP bytes); its length in *OUTLEN. -1 if RAW is not base64 or does not
 * fit. */
int b64_decode(const char *raw, size_t len, unsigned char *out, size_t cap,
	       size_t *outlen)
{
	size_t pad = 0;
	int dec;

	if (len % 4 != 0 || b64_max(len) > cap || len > INT_MAX) {
		return -1;
	}
	if (len == 0) {
		*outlen = 0;
		return 0;
	}
	while (pad < 2 && len > pad && raw[len - 1 - pad] == '=') {
		pad++;
	}
	dec = EVP_DecodeBlock(out, (const unsigned char *)raw, (int)len);
	if (dec < 0 || (size_t)dec < pad) {
		return -1;
	}
	*outlen = (size_t)dec - pad;
	return 0;
}

/* secretKeyRef / configMapKeyRef → its value in OUT (a Secret's value
 * base64-decoded). BATON_ENOTFOUND: optional and absent (leave the
 * variable unset); other errors say why in ERRMSG. */
static int key_ref(struct pod *p, json_t *from, const char *var, char *out,
		   size_t n, char *errmsg)
{
	json_t *sk = json_object_get(from, "secretKeyRef");
	json_t *ref =
	    sk != NULL ? sk : json_object_get(from, "configMapKeyRef");
	const char *name = jstr(ref, "name");
	const char *key = jstr(ref, "key");
	bool optional = json_is_true(json_object_get(ref, "optional"));
	char rkey[300];
	json_t *data;
	const char *raw;
	size_t len, dec;

	snprintf(rkey, sizeof rkey, "%s/%.250s", sk ? "secret" : "configmap",
		 name ? name : "");
	data = json_object_get(p->refs, rkey);
	raw = key != NULL ? jstr(data, key) : NULL;
	if (raw == NULL) {
		if (optional) {
			return BATON_ENOTFOUND;
		}
		baton_errmsg_printf(errmsg, "env %s: %s %s has no key %s", var,
				    sk ? "Secret" : "ConfigMap",
				    name ? name : "?", key ? key : "?");
		return BATON_EINVAL;
	}
	len = strlen(raw);
	if (sk == NULL) {
		if (len >= n) {
			baton_errmsg_printf(errmsg, "env %s: value too large",
					    var);
			return BATON_ETOOLARGE;
		}
		memcpy(out, raw, len + 1);
		return 0;
	}
	if (len % 4 != 0 || b64_max(len) >= n) {
		baton_errmsg_printf(errmsg,
				    "env %s: Secret %s key %s is not base64 "
				    "or too large",
				    var, name, key);
		return BATON_EINVAL;
	}
	if (b64_decode(raw, len, (unsigned char *)out, n - 1, &dec) != 0) {
		baton_errmsg_printf(errmsg,
				    "env %s: Secret %s key %s: bad base64", var,
				    name, key);
		return BATON_EINVAL;
	}
	out[dec] = '\0';
	return 0;
}

static int strv_add(struct strv *s, const char *str)
{
	if (s->n >= MAX_ARGV) {
		return BATON_ETOOLARGE;
	}
	s->v[s->n] = strdup(str);
	if (s->v[s->n] == NULL) {
		return BATON_ENOMEM;
	}
	s->v[++s->n] = NULL;
	return 0;
}

void strv_free(struct strv *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->v[i]);
	}
	s->n = 0;
	s->v[0] = NULL;
}

/* NAME=VALUE of ENV for NAME, or NULL. */
static const char *env_lookup(const struct strv *env, const char *name,
			      size_t len)
{
	for (int i = 0; i < env->n; i++) {
		if (strncmp(env->v[i], name, len) == 0 &&
		    env->v[i][len] == '=') {
			return env->v[i] + len + 1;
		}
	}
	return NULL;
}

/* Kubernetes expands $(VAR) in command and args from the container's
 * environment; $$ is a literal $; unknown references stay as written. */
static int expand(const char *in, const struct strv *env, char *out, size_t n)
{
	size_t o = 0;
	for (const char *s = in; *s != '\0';) {
		const char *add = s;
		size_t len = 1;
		if (s[0] == '$' && s[1] == '$') {
			len = 1;
			s += 2;
		} else if (s[0] == '$' && s[1] == '(') {
			const char *end = strchr(s + 2, ')');
			const char *v =
			    end != NULL
				? env_lookup(env, s + 2, (size_t)(end - s - 2))
				: NULL;
			if (v != NULL) {
				add = v;
				len = strlen(v);
				s = end + 1;
			} else {
				s++;
			}
		} else {
			s++;
		}
		if (o + len >= n) {
			return BATON_ETOOLARGE;
		}
		memcpy(out + o, add, len);
		o += len;
	}
	out[o] = '\0';
	return 0;
}

static bool find_exec(const char *dir, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", dir, name);
	return access(out, X_OK) == 0;
}

/* Builds the argv and environment of container C. On error C->wait_msg
 * says what is wrong with the pod spec. */
int ctr_build(struct ctr *c, json_t *spec, struct strv *argv, struct strv *env)
{
	struct pod *p = c->pod;
	struct lk *lk = p->lk;
	char buf[4096];
	char exe[PATH_MAX];
	struct strv cmd = {.n = 0};
	json_t *v;
	size_t i;
	int rv = 0;

	snprintf(buf, sizeof buf, "HOSTNAME=%s", p->name);
	if (strv_add(env, "PATH=" CONTAINER_PATH) || strv_add(env, buf) ||
	    strv_add(env, "HOME=/root")) {
		return BATON_ENOMEM;
	}
	json_array_foreach(json_object_get(spec, "env"), i, v)
	{
		const char *name = jstr(v, "name");
		const char *val = jstr(v, "value");
		json_t *from = json_object_get(v, "valueFrom");
		char fbuf[2048];
		char ebuf[2048];
		if (name == NULL) {
			continue;
		}
		if (from != NULL &&
		    (json_object_get(from, "secretKeyRef") ||
		     json_object_get(from, "configMapKeyRef"))) {
			int r = key_ref(p, from, name, fbuf, sizeof fbuf,
					c->wait_msg);
			if (r == BATON_ENOTFOUND) {
				continue; /* optional and missing: unset */
			}
			if (r != 0) {
				return r;
			}
			val = fbuf;
		} else if (from != NULL) {
			const char *fp = jpath(from, "fieldRef", "fieldPath");
			val = fp != NULL ? field_ref(p, fp, fbuf, sizeof fbuf)
					 : NULL;
			if (val == NULL) {
				baton_errmsg_printf(
				    c->wait_msg,
				    "env %s: only fieldRef, secretKeyRef and "
				    "configMapKeyRef are supported in the lab",
				    name);
				return BATON_EINVAL;
			}
		}
		/* $(VAR) is expanded in plain values only, as in Kubernetes */
		if (from != NULL) {
			snprintf(ebuf, sizeof ebuf, "%s", val);
		} else if (expand(val != NULL ? val : "", env, ebuf,
				  sizeof ebuf) != 0) {
			baton_errmsg_printf(c->wait_msg, "env %s: too long",
					    name);
			return BATON_ETOOLARGE;
		}
		if (snprintf(buf, sizeof buf, "%s=%s", name, ebuf) >=
			(int)sizeof buf ||
		    strv_add(env, buf) != 0) {
			baton_errmsg_printf(c->wait_msg, "env: too large");
			return BATON_ETOOLARGE;
		}
	}
	if (json_object_get(spec, "envFrom") != NULL) {
		baton_errmsg_printf(c->wait_msg,
				    "envFrom is not supported in the lab");
		return BATON_EINVAL;
	}

	/* command + args; without command, args is the whole command line
	 * (the lab has no image ENTRYPOINT). */
	const char *keys[] = {"command", "args"};
	for (int k = 0; k < 2; k++) {
		json_array_foreach(json_object_get(spec, keys[k]), i, v)
		{
			const char *s = json_string_value(v);
			if (s == NULL || expand(s, env, buf, sizeof buf) != 0 ||
			    strv_add(&cmd, buf) != 0) {
				baton_errmsg_printf(c->wait_msg,
						    "%s[%zu]: not a string or "
						    "too long",
						    keys[k], i);
				strv_free(&cmd);
				return BATON_EINVAL;
			}
		}
	}
	if (cmd.n == 0) {
		baton_errmsg_printf(c->wait_msg,
				    "no command or args: the lab has no image "
				    "entrypoint to fall back on");
		return BATON_EINVAL;
	}
	if (strchr(cmd.v[0], '/') == NULL) {
		char path[sizeof(CONTAINER_PATH)];
		char *save = NULL;
		bool found =
		    find_exec(lk->o.bin_dir, cmd.v[0], exe, sizeof exe);
		snprintf(path, sizeof path, "%s", CONTAINER_PATH);
		for (char *d = strtok_r(path, ":", &save); !found && d != NULL;
		     d = strtok_r(NULL, ":", &save)) {
			found = find_exec(d, cmd.v[0], exe, sizeof exe);
		}
		if (!found) {
			baton_errmsg_printf(c->wait_msg,
					    "executable %s not found in "
					    "--bin-dir %s nor in %s",
					    cmd.v[0], lk->o.bin_dir,
					    CONTAINER_PATH);
			strv_free(&cmd);
			return BATON_ENOTFOUND;
		}
	} else {
		snprintf(exe, sizeof exe, "%s", cmd.v[0]);
		if (access(exe, X_OK) != 0) {
			baton_errmsg_printf(c->wait_msg, "%s: %s", exe,
					    strerror(errno));
			strv_free(&cmd);
			return BATON_ENOTFOUND;
		}
	}

	/* The image has the baton_lease module in PostgreSQL's pkglibdir;
	 * the lab's "image" is the build directory: a module given by name
	 * is the one built next to the binaries (BUILD/lib/NAME.so). */
	for (int k = 1; k + 1 < cmd.n; k++) {
		if (strcmp(cmd.v[k], "--pg-lease-module") == 0 &&
		    strchr(cmd.v[k + 1], '/') == NULL) {
			char so[PATH_MAX];
			char *dup;
			snprintf(so, sizeof so, "%s/../lib/%s.so",
				 lk->o.bin_dir, cmd.v[k + 1]);
			if (access(so, R_OK) == 0 &&
			    (dup = strdup(so)) != NULL) {
				free(cmd.v[k + 1]);
				cmd.v[k + 1] = dup;
			}
		}
	}

	/* ip netns exec NS SELF pod-exec --mount SRC DST ro|rw ... -- CMD */
	rv = strv_add(argv, "ip") || strv_add(argv, "netns") ||
	     strv_add(argv, "exec") || strv_add(argv, p->netns) ||
	     strv_add(argv, lk->self) || strv_add(argv, "pod-exec");
	json_array_foreach(json_object_get(spec, "volumeMounts"), i, v)
	{
		const char *vol = jstr(v, "name");
		const char *dst = jstr(v, "mountPath");
		const char *sub = jstr(v, "subPath");
		const char *src = jstr(p->vol_paths, vol != NULL ? vol : "");
		bool ro = json_is_true(json_object_get(v, "readOnly"));
		json_t *pv;
		size_t k;
		if (src == NULL || dst == NULL) {
			continue; /* projected, configMap ...: not in the lab */
		}
		/* a secret volume is read-only whatever the mount says, as
		 * the kubelet's are */
		json_array_foreach(
		    json_object_get(json_object_get(p->obj, "spec"), "volumes"),
		    k, pv)
		{
			const char *pn = jstr(pv, "name");
			ro = ro || (pn != NULL && vol != NULL &&
				    strcmp(pn, vol) == 0 &&
				    json_object_get(pv, "secret") != NULL);
		}
		if (sub != NULL && sub[0] != '\0') {
			snprintf(buf, sizeof buf, "%s/%s", src, sub);
			mkdir_p(buf, 0755);
			src = buf;
		}
		rv = rv || strv_add(argv, "--mount") || strv_add(argv, src) ||
		     strv_add(argv, dst) || strv_add(argv, ro ? "ro" : "rw");
	}
	if (jstr(spec, "workingDir") != NULL) {
		rv = rv || strv_add(argv, "--workdir") ||
		     strv_add(argv, jstr(spec, "workingDir"));
	}
	rv = rv || strv_add(argv, "--") || strv_add(argv, exe);
	for (int k = 1; k < cmd.n; k++) {
		rv = rv || strv_add(argv, cmd.v[k]);
	}
	strv_free(&cmd);
	if (rv != 0) {
		baton_errmsg_printf(c->wait_msg, "command line too long");
		return BATON_ETOOLARGE;
	}
	return 0;
}

static uint64_t probe_ms(json_t *probe, const char *key, uint64_t dflt)
{
	json_t *v = json_object_get(probe, key);
	return json_is_integer(v) && json_integer_value(v) >= 0
		   ? (uint64_t)json_integer_value(v) * 1000
		   : dflt;
}

/* readinessProbe.httpGet → URL on the pod address; a named port is looked
 * up in the container's ports. Other probe kinds: ready while running. */
void ctr_probe_config(struct ctr *c, json_t *spec)
{
	json_t *probe = json_object_get(spec, "readinessProbe");
	json_t *get = json_object_get(probe, "httpGet");
	json_t *port = json_object_get(get, "port");
	const char *path = jstr(get, "path");
	json_t *v;
	size_t i;

	c->has_probe = false;
	if (get == NULL) {
		return;
	}
	c->probe_port = 0;
	if (json_is_integer(port)) {
		c->probe_port = (int)json_integer_value(port);
	} else if (json_is_string(port)) {
		json_array_foreach(json_object_get(spec, "ports"), i, v)
		{
			const char *n = jstr(v, "name");
			if (n != NULL &&
			    strcmp(n, json_string_value(port)) == 0) {
				c->probe_port = (int)json_integer_value(
				    json_object_get(v, "containerPort"));
			}
		}
		if (c->probe_port == 0) {
			char *end;
			long n = strtol(json_string_value(port), &end, 10);
			c->probe_port = *end == '\0' ? (int)n : 0;
		}
	}
	if (c->probe_port <= 0 || c->probe_port > 65535) {
		pod_log(c->pod, BATON_LOG_WARN,
			"readinessProbe port unresolved: ready while running",
			json_pack("{s:s}", "container", c->name));
		return;
	}
	snprintf(c->probe_path, sizeof c->probe_path, "%s",
		 path != NULL ? path : "/");
	c->probe_period_ms = probe_ms(probe, "periodSeconds", 10000);
	c->probe_delay_ms = probe_ms(probe, "initialDelaySeconds", 0);
	c->probe_timeout_ms = (long)probe_ms(probe, "timeoutSeconds", 1000);
	if (c->probe_period_ms < 1000) {
		c->probe_period_ms = 1000;
	}
	if (c->probe_timeout_ms < 1000) {
		c->probe_timeout_ms = 1000;
	}
	v = json_object_get(probe, "failureThreshold");
	c->failure_threshold = json_is_integer(v) && json_integer_value(v) > 0
				   ? (int)json_integer_value(v)
				   : 3;
	c->has_probe = true;
}
