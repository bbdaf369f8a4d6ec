/* kubeconfig and in-cluster configuration.
 *
 * The YAML document is first converted to a jansson tree whose scalars are
 * all strings (a kubeconfig has no typed values that matter beyond booleans,
 * which we interpret ourselves). Aliases are expanded by that conversion, so
 * it counts nodes and stops at a cap: a 1 MiB file of nested aliases must not
 * become gigabytes ("billion laughs").
 *
 * Resolution follows client-go's clientcmd: the context selects a cluster and
 * a user by name; file paths are relative to the kubeconfig's directory; data
 * fields win over file fields; a CA together with insecure-skip-tls-verify is
 * rejected, as kubectl does.
 */
#include "kube/config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define MAX_YAML_NODES 100000

int baton_kube_read_file(const char *path, size_t cap, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	size_t n = 0;
	int fd;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return BATON_EIO;
	}
	if (fstat(fd, &st) != 0) {
		close(fd);
		return BATON_EIO;
	}
	if (S_ISREG(st.st_mode) && (size_t)st.st_size > cap) {
		close(fd);
		return BATON_ETOOLARGE;
	}
	buf = malloc(cap + 1);
	if (buf == NULL) {
		close(fd);
		return BATON_ENOMEM;
	}
	/* Read up to cap+1 bytes: the file may grow after fstat. */
	for (;;) {
		ssize_t r = read(fd, buf + n, cap + 1 - n);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r < 0) {
			free(buf);
			close(fd);
			return BATON_EIO;
		}
		if (r == 0) {
			break;
		}
		n += (size_t)r;
		if (n > cap) {
			free(buf);
			close(fd);
			return BATON_ETOOLARGE;
		}
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* ---- YAML → jansson ------------------------------------------------------ */

static json_t *yaml_to_json(yaml_document_t *doc, yaml_node_t *node,
			    size_t *budget, int depth)
{
	json_t *out;

	if (node == NULL || *budget == 0 || depth > 64) {
		return NULL;
	}
	(*budget)--;
	switch (node->type) {
	case YAML_SCALAR_NODE:
		return json_stringn((const char *)node->data.scalar.value,
				    node->data.scalar.length);
	case YAML_SEQUENCE_NODE:
		out = json_array();
		for (yaml_node_item_t *it = node->data.sequence.items.start;
		     out != NULL && it < node->data.sequence.items.top; it++) {
			json_t *v =
			    yaml_to_json(doc, yaml_document_get_node(doc, *it),
					 budget, depth + 1);
			if (v == NULL || json_array_append_new(out, v) != 0) {
				json_decref(out);
				out = NULL;
			}
		}
		return out;
	case YAML_MAPPING_NODE:
		out = json_object();
		for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
		     out != NULL && p < node->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			json_t *v;
			if (k == NULL || k->type != YAML_SCALAR_NODE) {
				/* Complex keys have no meaning here. */
				continue;
			}
			v = yaml_to_json(doc,
					 yaml_document_get_node(doc, p->value),
					 budget, depth + 1);
			if (v == NULL ||
			    json_object_setn_new(
				out, (const char *)k->data.scalar.value,
				k->data.scalar.length, v) != 0) {
				json_decref(out);
				out = NULL;
			}
		}
		return out;
	default:
		return NULL;
	}
}

/* Parses YAML into a jansson tree, or fills errmsg. */
static int parse_yaml(const char *text, size_t len, const char *name,
		      json_t **out, char *errmsg)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	size_t budget = MAX_YAML_NODES;
	int rv = 0;

	*out = NULL;
	if (!yaml_parser_initialize(&parser)) {
		return BATON_ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		baton_errmsg_printf(errmsg, "%s: invalid YAML at line %zu: %s",
				    name, parser.problem_mark.line + 1,
				    parser.problem ? parser.problem : "?");
		yaml_parser_delete(&parser);
		return BATON_ECONFIG;
	}
	root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		baton_errmsg_printf(errmsg, "%s: empty kubeconfig", name);
		rv = BATON_ECONFIG;
		goto err_after_load;
	}
	*out = yaml_to_json(&doc, root, &budget, 0);
	if (*out == NULL) {
		if (budget == 0) {
			baton_errmsg_printf(errmsg,
					    "%s: more than %d YAML nodes "
					    "(alias expansion?)",
					    name, MAX_YAML_NODES);
			rv = BATON_ETOOLARGE;
		} else {
			baton_errmsg_printf(errmsg, "%s: unsupported YAML",
					    name);
			rv = BATON_ECONFIG;
		}
	} else if (!json_is_object(*out)) {
		baton_errmsg_printf(errmsg, "%s: top level is not a mapping",
				    name);
		json_decref(*out);
		*out = NULL;
		rv = BATON_ECONFIG;
	}
err_after_load:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rv;
}

/* ---- helpers ------------------------------------------------------------- */

/* One parsed file of the list. */
struct kfile {
	json_t *root;
	const char *name; /* for messages */
	char *dir;	  /* relative paths in it are relative to this */
};

struct loader {
	struct baton_kube_config *cfg;
	const char *name;     /* the file being read, for messages */
	const char *base_dir; /* its directory */
	const char *ctx;
	struct kfile *files;
	size_t n_files;
	const char *list_name; /* all the files, for messages */
	unsigned flags;
};

#define CFG_ERR(l, ...)                                                        \
	do {                                                                   \
		char _m[BATON_ERRMSG_SIZE];                                    \
		baton_errmsg_printf(_m, __VA_ARGS__);                          \
		baton_errmsg_printf((l)->cfg->errmsg,                          \
				    "%s: context \"%s\": %s", (l)->name,       \
				    (l)->ctx ? (l)->ctx : "", _m);             \
	} while (0)

static int base64_decode(const char *in, unsigned char **out, size_t *outlen)
{
	EVP_ENCODE_CTX *ctx;
	size_t inlen = strlen(in);
	unsigned char *buf;
	int n = 0, fin = 0;

	if (inlen > BATON_KUBE_CONFIG_MAX_FILE) {
		return BATON_ETOOLARGE;
	}
	buf = malloc(inlen / 4 * 3 + 4);
	ctx = EVP_ENCODE_CTX_new();
	if (buf == NULL || ctx == NULL) {
		free(buf);
		EVP_ENCODE_CTX_free(ctx);
		return BATON_ENOMEM;
	}
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, buf, &n, (const unsigned char *)in,
			     (int)inlen) < 0 ||
	    EVP_DecodeFinal(ctx, buf + n, &fin) != 1 || n + fin == 0) {
		free(buf);
		EVP_ENCODE_CTX_free(ctx);
		return BATON_EPARSE;
	}
	EVP_ENCODE_CTX_free(ctx);
	*out = buf;
	*outlen = (size_t)(n + fin);
	return 0;
}

/* Resolves PATH against the kubeconfig directory. */
static char *resolve_path(const struct loader *l, const char *path)
{
	char *out;
	size_t n;

	if (path[0] == '/' || l->base_dir == NULL || l->base_dir[0] == '\0') {
		return strdup(path);
	}
	n = strlen(l->base_dir) + strlen(path) + 2;
	out = malloc(n);
	if (out != NULL) {
		snprintf(out, n, "%s/%s", l->base_dir, path);
	}
	return out;
}

/* A string field of OBJ, NULL when absent; error when present but not a
 * non-empty string. */
static int get_str(struct loader *l, json_t *obj, const char *field,
		   const char *where, const char **out)
{
	json_t *v = json_object_get(obj, field);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		return 0;
	}
	if (!json_is_string(v)) {
		CFG_ERR(l, "%s.%s: must be a string", where, field);
		return BATON_ECONFIG;
	}
	*out = json_string_value(v);
	return 0;
}

static int get_bool(struct loader *l, json_t *obj, const char *field,
		    const char *where, bool *out)
{
	const char *s;
	int rv = get_str(l, obj, field, where, &s);

	*out = false;
	if (rv != 0 || s == NULL) {
		return rv;
	}
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
	    strcmp(s, "TRUE") == 0) {
		*out = true;
	} else if (strcmp(s, "false") != 0 && strcmp(s, "False") != 0 &&
		   strcmp(s, "FALSE") != 0) {
		CFG_ERR(l, "%s.%s: \"%s\" is not a boolean", where, field, s);
		return BATON_ECONFIG;
	}
	return 0;
}

/* Finds the entry named NAME in LIST (a sequence of {name, KIND: {...}}). */
static int find_named(struct loader *l, json_t *root, const char *list,
		      const char *kind, const char *name, json_t **out)
{
	json_t *arr = json_object_get(root, list);
	size_t i;
	json_t *e;

	*out = NULL;
	if (arr != NULL && !json_is_array(arr) && !json_is_null(arr)) {
		CFG_ERR(l, "%s: must be a list", list);
		return BATON_ECONFIG;
	}
	json_array_foreach(arr, i, e)
	{
		json_t *n = json_object_get(e, "name");
		if (!json_is_object(e) || !json_is_string(n)) {
			CFG_ERR(l, "%s[%zu].name: missing", list, i);
			return BATON_ECONFIG;
		}
		if (strcmp(json_string_value(n), name) == 0) {
			json_t *body = json_object_get(e, kind);
			if (!json_is_object(body)) {
				CFG_ERR(l, "%s[%zu] (\"%s\").%s: missing", list,
					i, name, kind);
				return BATON_ECONFIG;
			}
			*out = body;
			return 0;
		}
	}
	return 0;
}

/* Loads DATA (base64 field) or FILE (path field) into *buf. */
static int load_blob(struct loader *l, json_t *obj, const char *where,
		     const char *data_field, const char *file_field,
		     unsigned char **buf, size_t *len)
{
	const char *data, *file;
	char *path;
	int rv;

	if ((rv = get_str(l, obj, data_field, where, &data)) != 0 ||
	    (rv = get_str(l, obj, file_field, where, &file)) != 0) {
		return rv;
	}
	if (data != NULL) {
		rv = base64_decode(data, buf, len);
		if (rv == BATON_EPARSE) {
			CFG_ERR(l, "%s.%s: invalid base64", where, data_field);
			return BATON_ECONFIG;
		}
		if (rv != 0) {
			CFG_ERR(l, "%s.%s: %s", where, data_field,
				baton_strerror(rv));
		}
		return rv;
	}
	if (file == NULL) {
		return 0;
	}
	path = resolve_path(l, file);
	if (path == NULL) {
		return BATON_ENOMEM;
	}
	rv = baton_kube_read_file(path, BATON_KUBE_CONFIG_MAX_FILE,
				  (char **)buf, len);
	if (rv != 0) {
		CFG_ERR(l, "%s.%s: cannot read %s: %s", where, file_field, path,
			rv == BATON_EIO ? strerror(errno) : baton_strerror(rv));
	} else if (*len == 0) {
		CFG_ERR(l, "%s.%s: %s is empty", where, file_field, path);
		free(*buf);
		*buf = NULL;
		rv = BATON_ECONFIG;
	}
	free(path);
	return rv;
}

static char *trim_dup(const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
			   s[len - 1] == ' ' || s[len - 1] == '\t')) {
		len--;
	}
	return strndup(s, len);
}

static int read_token_file(struct baton_kube_config *cfg)
{
	struct stat st;
	char *text;
	size_t len;
	int rv;

	if (stat(cfg->token_file, &st) != 0) {
		return BATON_EIO;
	}
	rv = baton_kube_read_file(cfg->token_file, BATON_KUBE_CONFIG_MAX_FILE,
				  &text, &len);
	if (rv != 0) {
		return rv;
	}
	free(cfg->token);
	cfg->token = trim_dup(text, len);
	free(text);
	if (cfg->token == NULL) {
		return BATON_ENOMEM;
	}
	cfg->token_mtime = st.st_mtim;
	cfg->token_size = st.st_size;
	cfg->token_ino = st.st_ino;
	return 0;
}

const char *baton_kube_config_token(struct baton_kube_config *cfg)
{
	struct stat st;

	if (cfg->token_file != NULL && stat(cfg->token_file, &st) == 0 &&
	    (st.st_mtim.tv_sec != cfg->token_mtime.tv_sec ||
	     st.st_mtim.tv_nsec != cfg->token_mtime.tv_nsec ||
	     st.st_size != cfg->token_size || st.st_ino != cfg->token_ino)) {
		(void)read_token_file(cfg);
	}
	return cfg->token;
}

/* ---- kubeconfig ------------------------------------------------------------
 */

static int load_cluster(struct loader *l, json_t *cluster, const char *cname)
{
	struct baton_kube_config *cfg = l->cfg;
	char where[160];
	const char *server, *sni;
	size_t n;
	int rv;

	snprintf(where, sizeof where, "cluster \"%s\"", cname);
	if ((rv = get_str(l, cluster, "server", where, &server)) != 0) {
		return rv;
	}
	if (server == NULL || server[0] == '\0') {
		CFG_ERR(l, "%s.server: missing", where);
		return BATON_ECONFIG;
	}
	if (strncmp(server, "https://", 8) != 0 &&
	    strncmp(server, "http://", 7) != 0) {
		CFG_ERR(l, "%s.server: \"%s\" is not an http(s) URL", where,
			server);
		return BATON_ECONFIG;
	}
	n = strlen(server);
	while (n > 0 && server[n - 1] == '/') {
		n--;
	}
	/* "https://" or "https:////" would leave "https:", no host */
	if (n <= strlen(server[4] == 's' ? "https://" : "http://")) {
		CFG_ERR(l, "%s.server: \"%s\" has no host", where, server);
		return BATON_ECONFIG;
	}
	cfg->server = strndup(server, n);
	if (cfg->server == NULL) {
		return BATON_ENOMEM;
	}
	if ((rv = get_bool(l, cluster, "insecure-skip-tls-verify", where,
			   &cfg->insecure)) != 0 ||
	    (rv = get_str(l, cluster, "tls-server-name", where, &sni)) != 0) {
		return rv;
	}
	if (sni != NULL && (cfg->tls_server_name = strdup(sni)) == NULL) {
		return BATON_ENOMEM;
	}
	rv = load_blob(l, cluster, where, "certificate-authority-data",
		       "certificate-authority", &cfg->ca, &cfg->ca_len);
	if (rv != 0) {
		return rv;
	}
	if (cfg->ca != NULL && cfg->insecure) {
		CFG_ERR(l,
			"%s.insecure-skip-tls-verify: cannot be combined "
			"with certificate-authority",
			where);
		return BATON_ECONFIG;
	}
	return 0;
}

/* A NULL-terminated copy of the strings of ARR (a list of strings),
 * after FIRST when not NULL. */
static int str_list(struct loader *l, json_t *arr, const char *first,
		    const char *where, char ***out)
{
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
	size_t k = 0, i;
	json_t *v;
	char **list;

	*out = NULL;
	if (arr != NULL && !json_is_null(arr) && !json_is_array(arr)) {
		CFG_ERR(l, "%s: must be a list", where);
		return BATON_ECONFIG;
	}
	if ((list = calloc(n + 2, sizeof *list)) == NULL) {
		return BATON_ENOMEM;
	}
	*out = list;
	if (first != NULL && (list[k++] = strdup(first)) == NULL) {
		return BATON_ENOMEM;
	}
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v)) {
			CFG_ERR(l, "%s[%zu]: must be a string", where, i);
			return BATON_ECONFIG;
		}
		if ((list[k++] = strdup(json_string_value(v))) == NULL) {
			return BATON_ENOMEM;
		}
	}
	return 0;
}

/* KUBERNETES_EXEC_INFO: what client-go sends, spec.cluster only when the
 * kubeconfig asks for it (it carries the CA, not secrets). */
static char *exec_info(const struct baton_kube_config *cfg,
		       const char *api_version, bool cluster_info)
{
	json_t *spec = json_pack("{s:b}", "interactive", 0);
	json_t *root = json_pack("{s:s, s:s, s:o}", "apiVersion", api_version,
				 "kind", "ExecCredential", "spec", spec);
	char *text = NULL;

	if (root == NULL) {
		return NULL;
	}
	if (cluster_info) {
		json_t *c =
		    json_pack("{s:s, s:b}", "server", cfg->server,
			      "insecure-skip-tls-verify", cfg->insecure);
		if (c != NULL && cfg->ca != NULL) {
			size_t n = 4 * ((cfg->ca_len + 2) / 3) + 1;
			unsigned char *b64 = malloc(n);
			if (b64 != NULL) {
				EVP_EncodeBlock(b64, cfg->ca, (int)cfg->ca_len);
				json_object_set_new(
				    c, "certificate-authority-data",
				    json_string((char *)b64));
			}
			free(b64);
		}
		if (c != NULL && cfg->tls_server_name != NULL) {
			json_object_set_new(c, "tls-server-name",
					    json_string(cfg->tls_server_name));
		}
		if (c == NULL || json_object_set_new(spec, "cluster", c) != 0) {
			json_decref(root);
			return NULL;
		}
	}
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}

/* users[].user.exec: checked and kept; it runs at the first request. */
static int load_exec(struct loader *l, json_t *ex, const char *uname,
		     const char *where)
{
	struct baton_kube_config *cfg = l->cfg;
	struct baton_kube_exec *x;
	const char *api, *cmd, *hint, *mode;
	char *resolved = NULL, field[200];
	json_t *env, *e;
	bool cluster_info;
	size_t i;
	int rv;

	if (!(l->flags & BATON_KUBE_CONFIG_EXEC)) {
		CFG_ERR(l,
			"%s.exec: exec credential plugins run only in "
			"batonctl: give this program a token or a client "
			"certificate",
			where);
		return BATON_ECONFIG;
	}
	snprintf(field, sizeof field, "%s.exec", where);
	if (!json_is_object(ex)) {
		CFG_ERR(l, "%s: must be a mapping", field);
		return BATON_ECONFIG;
	}
	if ((rv = get_str(l, ex, "apiVersion", field, &api)) != 0 ||
	    (rv = get_str(l, ex, "command", field, &cmd)) != 0 ||
	    (rv = get_str(l, ex, "installHint", field, &hint)) != 0 ||
	    (rv = get_str(l, ex, "interactiveMode", field, &mode)) != 0 ||
	    (rv = get_bool(l, ex, "provideClusterInfo", field,
			   &cluster_info)) != 0) {
		return rv;
	}
	if (api == NULL ||
	    (strcmp(api, "client.authentication.k8s.io/v1") != 0 &&
	     strcmp(api, "client.authentication.k8s.io/v1beta1") != 0)) {
		CFG_ERR(l,
			"%s.apiVersion: \"%s\": want "
			"client.authentication.k8s.io/v1 or v1beta1",
			field, api ? api : "");
		return BATON_ECONFIG;
	}
	if (cmd == NULL || cmd[0] == '\0') {
		CFG_ERR(l, "%s.command: missing", field);
		return BATON_ECONFIG;
	}
	if (mode != NULL && strcmp(mode, "Always") == 0) {
		CFG_ERR(l,
			"%s.interactiveMode: Always: batonctl gives plugins "
			"no terminal",
			field);
		return BATON_ECONFIG;
	}
	/* as clientcmd: a command with a '/' is relative to the kubeconfig,
	 * a bare name is looked up on PATH */
	if (strchr(cmd, '/') != NULL &&
	    (resolved = resolve_path(l, cmd)) == NULL) {
		return BATON_ENOMEM;
	}
	if ((cfg->exec = x = calloc(1, sizeof *x)) == NULL) {
		free(resolved);
		return BATON_ENOMEM;
	}
	rv = str_list(l, json_object_get(ex, "args"), resolved ? resolved : cmd,
		      "exec.args", &x->argv);
	free(resolved);
	if (rv != 0) {
		return rv;
	}
	env = json_object_get(ex, "env");
	if (env != NULL && !json_is_null(env) && !json_is_array(env)) {
		CFG_ERR(l, "%s.env: must be a list", field);
		return BATON_ECONFIG;
	}
	if ((x->env = calloc(json_array_size(env) + 1, sizeof *x->env)) ==
	    NULL) {
		return BATON_ENOMEM;
	}
	json_array_foreach(env, i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));
		const char *v = json_string_value(json_object_get(e, "value"));
		size_t len;
		if (n == NULL || n[0] == '\0' || strchr(n, '=') != NULL ||
		    v == NULL) {
			CFG_ERR(l, "%s.env[%zu]: wants a name and a value",
				field, i);
			return BATON_ECONFIG;
		}
		len = strlen(n) + strlen(v) + 2;
		if ((x->env[i] = malloc(len)) == NULL) {
			return BATON_ENOMEM;
		}
		snprintf(x->env[i], len, "%s=%s", n, v);
	}
	x->api_version = strdup(api);
	x->user = strdup(uname);
	x->hint = hint ? strdup(hint) : NULL;
	x->info = exec_info(cfg, api, cluster_info);
	if (x->api_version == NULL || x->user == NULL || x->info == NULL ||
	    (hint != NULL && x->hint == NULL)) {
		return BATON_ENOMEM;
	}
	return 0;
}

static int load_user(struct loader *l, json_t *user, const char *uname)
{
	struct baton_kube_config *cfg = l->cfg;
	char where[160];
	const char *token, *token_file;
	int rv;

	snprintf(where, sizeof where, "user \"%s\"", uname);
	if (json_object_get(user, "auth-provider") != NULL) {
		CFG_ERR(l,
			"%s.auth-provider: not supported (removed from "
			"kubectl too): use an exec credential plugin",
			where);
		return BATON_ECONFIG;
	}
	if (json_object_get(user, "exec") != NULL) {
		if (json_object_get(user, "token") != NULL ||
		    json_object_get(user, "tokenFile") != NULL ||
		    json_object_get(user, "client-certificate") != NULL ||
		    json_object_get(user, "client-certificate-data") != NULL) {
			CFG_ERR(l,
				"%s: exec and a token or client certificate: "
				"more than one way to authenticate",
				where);
			return BATON_ECONFIG;
		}
		return load_exec(l, json_object_get(user, "exec"), uname,
				 where);
	}
	rv = load_blob(l, user, where, "client-certificate-data",
		       "client-certificate", &cfg->cert, &cfg->cert_len);
	if (rv == 0) {
		rv = load_blob(l, user, where, "client-key-data", "client-key",
			       &cfg->key, &cfg->key_len);
	}
	if (rv != 0) {
		return rv;
	}
	if (cfg->cert != NULL && cfg->key == NULL) {
		CFG_ERR(l, "%s.client-key: missing (client-certificate is set)",
			where);
		return BATON_ECONFIG;
	}
	if (cfg->key != NULL && cfg->cert == NULL) {
		CFG_ERR(l, "%s.client-certificate: missing (client-key is set)",
			where);
		return BATON_ECONFIG;
	}
	if ((rv = get_str(l, user, "token", where, &token)) != 0 ||
	    (rv = get_str(l, user, "tokenFile", where, &token_file)) != 0) {
		return rv;
	}
	if (token != NULL) {
		if (token[0] == '\0') {
			CFG_ERR(l, "%s.token: empty", where);
			return BATON_ECONFIG;
		}
		if ((cfg->token = strdup(token)) == NULL) {
			return BATON_ENOMEM;
		}
	} else if (token_file != NULL) {
		cfg->token_file = resolve_path(l, token_file);
		if (cfg->token_file == NULL) {
			return BATON_ENOMEM;
		}
		rv = read_token_file(cfg);
		if (rv != 0) {
			CFG_ERR(l, "%s.tokenFile: cannot read %s: %s", where,
				cfg->token_file,
				rv == BATON_EIO ? strerror(errno)
						: baton_strerror(rv));
			return rv;
		}
		if (cfg->token[0] == '\0') {
			CFG_ERR(l, "%s.tokenFile: %s is empty", where,
				cfg->token_file);
			return BATON_ECONFIG;
		}
	}
	return 0;
}

/* The entry named NAME in LIST of the first file that has one
 * (clientcmd's merge rule); l->name and l->base_dir are then that file's,
 * for its messages and its relative paths. */
static int find_merged(struct loader *l, const char *list, const char *kind,
		       const char *name, json_t **out)
{
	int rv;

	*out = NULL;
	for (size_t i = 0; i < l->n_files; i++) {
		l->name = l->files[i].name;
		l->base_dir = l->files[i].dir;
		rv = find_named(l, l->files[i].root, list, kind, name, out);
		if (rv != 0 || *out != NULL) {
			return rv;
		}
	}
	l->name = l->list_name;
	l->base_dir = NULL;
	return 0;
}

static int load_root(struct loader *l)
{
	struct baton_kube_config *cfg = l->cfg;
	const char *cname, *uname, *ns;
	json_t *ctx, *cluster, *user = NULL;
	int rv;

	/* the first file that sets current-context wins */
	for (size_t i = 0; l->ctx == NULL && i < l->n_files; i++) {
		l->name = l->files[i].name;
		if ((rv = get_str(l, l->files[i].root, "current-context",
				  "kubeconfig", &l->ctx)) != 0) {
			return rv;
		}
		if (l->ctx != NULL && l->ctx[0] == '\0') {
			l->ctx = NULL;
		}
	}
	l->name = l->list_name;
	if (l->ctx == NULL) {
		baton_errmsg_printf(cfg->errmsg,
				    "%s: current-context: not set and "
				    "no context given",
				    l->name);
		return BATON_ECONFIG;
	}
	if ((cfg->context = strdup(l->ctx)) == NULL) {
		return BATON_ENOMEM;
	}
	if ((rv = find_merged(l, "contexts", "context", l->ctx, &ctx)) != 0) {
		return rv;
	}
	if (ctx == NULL) {
		CFG_ERR(l, "contexts: no context named \"%s\"", l->ctx);
		return BATON_ECONFIG;
	}
	if ((rv = get_str(l, ctx, "cluster", "context", &cname)) != 0 ||
	    (rv = get_str(l, ctx, "user", "context", &uname)) != 0 ||
	    (rv = get_str(l, ctx, "namespace", "context", &ns)) != 0) {
		return rv;
	}
	if (cname == NULL) {
		CFG_ERR(l, "context.cluster: missing");
		return BATON_ECONFIG;
	}
	cfg->ns = strdup(ns != NULL && ns[0] != '\0' ? ns : "default");
	if (cfg->ns == NULL) {
		return BATON_ENOMEM;
	}
	if ((rv = find_merged(l, "clusters", "cluster", cname, &cluster)) !=
	    0) {
		return rv;
	}
	if (cluster == NULL) {
		CFG_ERR(l, "clusters: no cluster named \"%s\"", cname);
		return BATON_ECONFIG;
	}
	if ((rv = load_cluster(l, cluster, cname)) != 0) {
		return rv;
	}
	if (uname != NULL) {
		if ((rv = find_merged(l, "users", "user", uname, &user)) != 0) {
			return rv;
		}
		if (user == NULL) {
			CFG_ERR(l, "users: no user named \"%s\"", uname);
			return BATON_ECONFIG;
		}
		if ((rv = load_user(l, user, uname)) != 0) {
			return rv;
		}
	}
	return 0;
}

/* Resolves the parsed FILES into CFG; on error CFG keeps only errmsg. */
static int load_parsed(struct baton_kube_config *cfg, struct kfile *files,
		       size_t n, const char *list_name, const char *context,
		       unsigned flags)
{
	struct loader l = {
	    .cfg = cfg,
	    .name = list_name,
	    .ctx = context,
	    .files = files,
	    .n_files = n,
	    .list_name = list_name,
	    .flags = flags,
	};
	int rv = load_root(&l);

	if (rv == 0 && (cfg->source = strdup(list_name)) == NULL) {
		rv = BATON_ENOMEM;
	}
	if (rv != 0) {
		char keep[BATON_ERRMSG_SIZE];
		if (rv == BATON_ENOMEM && cfg->errmsg[0] == '\0') {
			baton_errmsg_printf(cfg->errmsg, "%s: out of memory",
					    list_name);
		}
		memcpy(keep, cfg->errmsg, sizeof keep);
		baton_kube_config_free(cfg);
		memcpy(cfg->errmsg, keep, sizeof keep);
	}
	return rv;
}

int baton_kube_config_load_data(struct baton_kube_config *cfg, const char *yaml,
				size_t len, const char *name,
				const char *base_dir, const char *context)
{
	struct kfile f = {.name = name ? name : "kubeconfig",
			  .dir = (char *)base_dir};
	int rv;

	memset(cfg, 0, sizeof *cfg);
	if (len > BATON_KUBE_CONFIG_MAX_FILE) {
		baton_errmsg_printf(cfg->errmsg, "%s: larger than %d bytes",
				    f.name, BATON_KUBE_CONFIG_MAX_FILE);
		return BATON_ETOOLARGE;
	}
	rv = parse_yaml(yaml, len, f.name, &f.root, cfg->errmsg);
	if (rv != 0) {
		return rv;
	}
	rv = load_parsed(cfg, &f, 1, f.name, context, 0);
	json_decref(f.root);
	return rv;
}

/* Reads and parses PATH into F. *MISSING is set (and 0 returned) when it
 * does not exist and SKIP_MISSING. */
static int read_kfile(struct baton_kube_config *cfg, const char *path,
		      bool skip_missing, struct kfile *f, bool *missing)
{
	char *text, *slash;
	size_t len;
	int rv;

	*missing = false;
	rv =
	    baton_kube_read_file(path, BATON_KUBE_CONFIG_MAX_FILE, &text, &len);
	if (rv == BATON_EIO && errno == ENOENT && skip_missing) {
		*missing = true;
		return 0;
	}
	if (rv == BATON_ETOOLARGE) {
		baton_errmsg_printf(cfg->errmsg, "%s: larger than %d bytes",
				    path, BATON_KUBE_CONFIG_MAX_FILE);
		return rv;
	}
	if (rv != 0) {
		baton_errmsg_printf(cfg->errmsg, "%s: cannot read: %s", path,
				    rv == BATON_EIO ? strerror(errno)
						    : baton_strerror(rv));
		return rv;
	}
	f->name = path;
	if ((f->dir = strdup(path)) == NULL) {
		free(text);
		return BATON_ENOMEM;
	}
	slash = strrchr(f->dir, '/');
	if (slash == f->dir) {
		slash[1] = '\0'; /* "/config": "/" */
	} else if (slash != NULL) {
		*slash = '\0';
	} else {
		f->dir[0] = '\0';
	}
	rv = parse_yaml(text, len, path, &f->root, cfg->errmsg);
	free(text);
	return rv;
}

int baton_kube_config_load_files(struct baton_kube_config *cfg,
				 const char *const *paths, size_t n,
				 const char *context, unsigned flags)
{
	struct kfile files[BATON_KUBE_CONFIG_MAX_FILES];
	char list[BATON_ERRMSG_SIZE];
	size_t have = 0, used = 0;
	int rv = 0;

	memset(cfg, 0, sizeof *cfg);
	memset(files, 0, sizeof files);
	if (n == 0 || n > BATON_KUBE_CONFIG_MAX_FILES) {
		baton_errmsg_printf(cfg->errmsg,
				    "kubeconfig: %zu files (1 to %d)", n,
				    BATON_KUBE_CONFIG_MAX_FILES);
		return BATON_ECONFIG;
	}
	list[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		bool missing;
		used += (size_t)snprintf(list + used, sizeof list - used,
					 "%s%s", i ? ":" : "", paths[i]);
		if (used >= sizeof list) {
			used = sizeof list - 1;
		}
		rv = read_kfile(cfg, paths[i], n > 1, &files[have], &missing);
		if (rv != 0) {
			free(files[have].dir);
			goto done;
		}
		have += !missing;
	}
	if (have == 0) {
		baton_errmsg_printf(
		    cfg->errmsg, "%s: none of these kubeconfigs exists", list);
		rv = BATON_EIO;
		goto done;
	}
	rv = load_parsed(cfg, files, have, list, context, flags);
done:
	for (size_t i = 0; i < have; i++) {
		json_decref(files[i].root);
		free(files[i].dir);
	}
	return rv;
}

int baton_kube_config_load_file(struct baton_kube_config *cfg, const char *path,
				const char *context)
{
	return baton_kube_config_load_files(cfg, &path, 1, context, 0);
}

int baton_kube_config_default_files(const char **paths, char *buf, size_t len,
				    char *errmsg)
{
	const char *env = getenv("KUBECONFIG");
	const char *home = getenv("HOME");
	char *save = NULL, *item;
	int n = 0;

	if (env == NULL || env[0] == '\0') {
		if (home == NULL || home[0] == '\0') {
			baton_errmsg_printf(errmsg,
					    "neither KUBECONFIG nor HOME is "
					    "set: no kubeconfig to read");
			return -1;
		}
		if ((size_t)snprintf(buf, len, "%s/.kube/config", home) >=
		    len) {
			baton_errmsg_printf(errmsg, "HOME is too long");
			return -1;
		}
		paths[0] = buf;
		return 1;
	}
	if ((size_t)snprintf(buf, len, "%s", env) >= len) {
		baton_errmsg_printf(errmsg, "KUBECONFIG is too long");
		return -1;
	}
	for (item = strtok_r(buf, ":", &save); item != NULL;
	     item = strtok_r(NULL, ":", &save)) {
		bool repeat = false;
		for (int i = 0; i < n; i++) {
			repeat = repeat || strcmp(paths[i], item) == 0;
		}
		if (repeat) {
			continue;
		}
		if (n == BATON_KUBE_CONFIG_MAX_FILES) {
			baton_errmsg_printf(errmsg,
					    "KUBECONFIG lists more than %d "
					    "files",
					    BATON_KUBE_CONFIG_MAX_FILES);
			return -1;
		}
		paths[n++] = item;
	}
	if (n == 0) {
		baton_errmsg_printf(errmsg, "KUBECONFIG names no file");
		return -1;
	}
	return n;
}

int baton_kube_config_refresh(struct baton_kube_config *cfg)
{
	struct baton_kube_exec_cred c;
	time_t now = time(NULL);
	int rv;

	if (cfg->exec == NULL ||
	    (cfg->exec_ran &&
	     (cfg->exec_expiry == 0 || now + 10 < cfg->exec_expiry))) {
		return 0;
	}
	rv = baton_kube_exec_run(cfg->exec, BATON_KUBE_EXEC_TIMEOUT_MS, &c,
				 cfg->errmsg);
	if (rv != 0) {
		return rv;
	}
	if (cfg->token != NULL) {
		OPENSSL_cleanse(cfg->token, strlen(cfg->token));
	}
	if (cfg->key != NULL) {
		OPENSSL_cleanse(cfg->key, cfg->key_len);
	}
	free(cfg->token);
	free(cfg->cert);
	free(cfg->key);
	cfg->token = c.token;
	cfg->cert = c.cert;
	cfg->cert_len = c.cert_len;
	cfg->key = c.key;
	cfg->key_len = c.key_len;
	cfg->exec_expiry = c.expiry;
	cfg->exec_ran = true;
	return 0;
}

int baton_kube_config_in_cluster(struct baton_kube_config *cfg,
				 const char *sa_dir)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char path[512];
	char *text = NULL;
	size_t len, n;
	int rv;

	memset(cfg, 0, sizeof *cfg);
	if (sa_dir == NULL) {
		sa_dir = BATON_KUBE_SA_DIR;
	}
	if (host == NULL || host[0] == '\0' || port == NULL ||
	    port[0] == '\0') {
		baton_errmsg_printf(cfg->errmsg,
				    "in-cluster: KUBERNETES_SERVICE_HOST and "
				    "KUBERNETES_SERVICE_PORT must be set");
		return BATON_ECONFIG;
	}
	n = strlen(host) + strlen(port) + 16;
	if ((cfg->server = malloc(n)) == NULL) {
		return BATON_ENOMEM;
	}
	/* An IPv6 service address needs brackets in a URL. */
	snprintf(cfg->server, n,
		 strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
		 port);
	snprintf(path, sizeof path, "%s/token", sa_dir);
	if ((cfg->token_file = strdup(path)) == NULL) {
		rv = BATON_ENOMEM;
		goto err;
	}
	if ((rv = read_token_file(cfg)) != 0) {
		baton_errmsg_printf(cfg->errmsg,
				    "in-cluster: token: cannot "
				    "read %s: %s",
				    path, baton_strerror(rv));
		goto err;
	}
	snprintf(path, sizeof path, "%s/ca.crt", sa_dir);
	rv =
	    baton_kube_read_file(path, BATON_KUBE_CONFIG_MAX_FILE, &text, &len);
	if (rv != 0) {
		baton_errmsg_printf(cfg->errmsg,
				    "in-cluster: ca.crt: cannot read %s: %s",
				    path, baton_strerror(rv));
		goto err;
	}
	cfg->ca = (unsigned char *)text;
	cfg->ca_len = len;
	snprintf(path, sizeof path, "%s/namespace", sa_dir);
	if (baton_kube_read_file(path, 4096, &text, &len) == 0) {
		cfg->ns = trim_dup(text, len);
		free(text);
	} else {
		cfg->ns = strdup("default");
	}
	cfg->source = strdup("in-cluster");
	if (cfg->ns == NULL || cfg->source == NULL) {
		rv = BATON_ENOMEM;
		goto err;
	}
	return 0;
err : {
	char keep[BATON_ERRMSG_SIZE];
	memcpy(keep, cfg->errmsg, sizeof keep);
	baton_kube_config_free(cfg);
	memcpy(cfg->errmsg, keep, sizeof keep);
}
	return rv;
}

static int dup_blob(unsigned char **dst, size_t *dlen, const unsigned char *src,
		    size_t len)
{
	*dst = NULL;
	*dlen = 0;
	if (src == NULL) {
		return 0;
	}
	if ((*dst = malloc(len + 1)) == NULL) {
		return BATON_ENOMEM;
	}
	memcpy(*dst, src, len);
	(*dst)[len] = '\0';
	*dlen = len;
	return 0;
}

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (src != NULL && (*dst = strdup(src)) == NULL) {
		return BATON_ENOMEM;
	}
	return 0;
}

static int url_file(struct baton_kube_config *cfg, const char *name,
		    const char *what, const char *path, unsigned char **buf,
		    size_t *len)
{
	int rv;

	if (path == NULL) {
		return 0;
	}
	rv = baton_kube_read_file(path, BATON_KUBE_CONFIG_MAX_FILE,
				  (char **)buf, len);
	if (rv == 0 && *len == 0) {
		free(*buf);
		*buf = NULL;
		rv = BATON_ECONFIG;
	}
	if (rv != 0) {
		baton_errmsg_printf(cfg->errmsg, "%s: %s %s: %s", name, what,
				    path,
				    rv == BATON_ECONFIG ? "is empty"
				    : rv == BATON_EIO	? strerror(errno)
							: baton_strerror(rv));
	}
	return rv;
}

int baton_kube_config_for_url(struct baton_kube_config *cfg, const char *url,
			      const char *ca_file, const char *cert_file,
			      const char *key_file, const char *name)
{
	size_t n;
	int rv;

	memset(cfg, 0, sizeof *cfg);
	if (url == NULL || (strncmp(url, "http://", 7) != 0 &&
			    strncmp(url, "https://", 8) != 0)) {
		baton_errmsg_printf(
		    cfg->errmsg, "%s: '%s' is not an http:// or https:// URL",
		    name, url ? url : "");
		return BATON_ECONFIG;
	}
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/') {
		n--;
	}
	if (n <= strlen(url[4] == 's' ? "https://" : "http://")) {
		baton_errmsg_printf(cfg->errmsg, "%s: '%s' has no host", name,
				    url);
		return BATON_ECONFIG;
	}
	if ((cert_file == NULL) != (key_file == NULL)) {
		baton_errmsg_printf(cfg->errmsg,
				    "%s: a client certificate needs its key "
				    "and the other way round",
				    name);
		return BATON_ECONFIG;
	}
	cfg->server = strdup(url);
	cfg->source = strdup(name);
	cfg->ns = strdup("default");
	if (cfg->server == NULL || cfg->source == NULL || cfg->ns == NULL) {
		rv = BATON_ENOMEM;
		goto err;
	}
	n = strlen(cfg->server);
	while (n > 0 && cfg->server[n - 1] == '/') {
		cfg->server[--n] = '\0';
	}
	if ((rv = url_file(cfg, name, "CA", ca_file, &cfg->ca, &cfg->ca_len)) !=
		0 ||
	    (rv = url_file(cfg, name, "certificate", cert_file, &cfg->cert,
			   &cfg->cert_len)) != 0 ||
	    (rv = url_file(cfg, name, "key", key_file, &cfg->key,
			   &cfg->key_len)) != 0) {
		goto err;
	}
	return 0;
err : {
	char msg[BATON_ERRMSG_SIZE];
	memcpy(msg, cfg->errmsg, sizeof msg);
	baton_kube_config_free(cfg);
	memcpy(cfg->errmsg, msg, sizeof msg);
}
	return rv;
}

int baton_kube_config_copy(struct baton_kube_config *dst,
			   const struct baton_kube_config *src)
{
	memset(dst, 0, sizeof *dst);
	if (dup_str(&dst->server, src->server) ||
	    dup_str(&dst->context, src->context) ||
	    dup_str(&dst->source, src->source) || dup_str(&dst->ns, src->ns) ||
	    dup_str(&dst->tls_server_name, src->tls_server_name) ||
	    dup_str(&dst->token, src->token) ||
	    dup_str(&dst->token_file, src->token_file) ||
	    dup_blob(&dst->ca, &dst->ca_len, src->ca, src->ca_len) ||
	    dup_blob(&dst->cert, &dst->cert_len, src->cert, src->cert_len) ||
	    dup_blob(&dst->key, &dst->key_len, src->key, src->key_len)) {
		baton_kube_config_free(dst);
		baton_errmsg_printf(dst->errmsg, "config copy: out of memory");
		return BATON_ENOMEM;
	}
	if (baton_kube_exec_copy(&dst->exec, src->exec) != 0) {
		baton_kube_config_free(dst);
		baton_errmsg_printf(dst->errmsg, "config copy: out of memory");
		return BATON_ENOMEM;
	}
	dst->exec_expiry = src->exec_expiry;
	dst->exec_ran = src->exec_ran;
	dst->insecure = src->insecure;
	dst->token_mtime = src->token_mtime;
	dst->token_size = src->token_size;
	dst->token_ino = src->token_ino;
	return 0;
}

void baton_kube_config_free(struct baton_kube_config *cfg)
{
	free(cfg->server);
	free(cfg->context);
	free(cfg->source);
	free(cfg->ns);
	free(cfg->ca);
	if (cfg->key != NULL) {
		OPENSSL_cleanse(cfg->key, cfg->key_len);
	}
	free(cfg->cert);
	free(cfg->key);
	free(cfg->tls_server_name);
	if (cfg->token != NULL) {
		OPENSSL_cleanse(cfg->token, strlen(cfg->token));
	}
	free(cfg->token);
	free(cfg->token_file);
	baton_kube_exec_free(cfg->exec);
	memset(cfg, 0, sizeof *cfg);
}
