/* batonctl's fleet file (batonctl/fleetfile.h). */
#include "batonctl/fleetfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "kube/config.h"

struct parse {
	struct baton_ctl_fleetfile *ff;
	yaml_document_t *doc;
	const char *name;
	const char *base_dir;
	const char *kubeconfig; /* the top-level default, resolved */
};

#define FF_ERR(p, node, ...)                                                   \
	do {                                                                   \
		char _m[BATON_ERRMSG_SIZE];                                    \
		baton_errmsg_printf(_m, __VA_ARGS__);                          \
		baton_errmsg_printf((p)->ff->errmsg, "%s:%zu: %s", (p)->name,  \
				    (node)->start_mark.line + 1, _m);          \
	} while (0)

/* The string of a scalar NODE, or an error naming WHAT. */
static int scalar(struct parse *p, yaml_node_t *node, const char *what,
		  const char **out)
{
	if (node == NULL || node->type != YAML_SCALAR_NODE) {
		if (node != NULL) {
			FF_ERR(p, node, "%s: must be a string", what);
		}
		return BATON_ECONFIG;
	}
	if (node->data.scalar.length == 0 ||
	    strlen((const char *)node->data.scalar.value) !=
		node->data.scalar.length) {
		FF_ERR(p, node, "%s: empty", what);
		return BATON_ECONFIG;
	}
	*out = (const char *)node->data.scalar.value;
	return 0;
}

/* "~/x" is $HOME/x; a relative path is relative to the fleet file. */
static int resolve(struct parse *p, yaml_node_t *node, const char *path,
		   char **out)
{
	const char *home = getenv("HOME");
	const char *dir = NULL, *rest = path;
	size_t n;

	if (strncmp(path, "~/", 2) == 0) {
		if (home == NULL || home[0] == '\0') {
			FF_ERR(p, node, "%s: HOME is not set", path);
			return BATON_ECONFIG;
		}
		dir = home;
		rest = path + 2;
	} else if (path[0] != '/' && p->base_dir != NULL &&
		   p->base_dir[0] != '\0') {
		dir = p->base_dir;
	}
	if (dir == NULL) {
		*out = strdup(path);
		return *out ? 0 : BATON_ENOMEM;
	}
	n = strlen(dir) + strlen(rest) + 2;
	if ((*out = malloc(n)) == NULL) {
		return BATON_ENOMEM;
	}
	snprintf(*out, n, "%s/%s", dir, rest);
	return 0;
}

static int parse_region(struct parse *p, yaml_node_t *key, yaml_node_t *body)
{
	struct baton_ctl_fleetfile *ff = p->ff;
	struct baton_ctl_fleetfile_region *r;
	const char *name, *v;
	int rv;

	if ((rv = scalar(p, key, "region name", &name)) != 0) {
		return rv;
	}
	if (!baton_ctl_region_name_ok(name)) {
		FF_ERR(p, key,
		       "regions: '%s' is no region name (lower case, digits, "
		       "'-', at most 40)",
		       name);
		return BATON_ECONFIG;
	}
	for (size_t i = 0; i < ff->n; i++) {
		if (strcmp(ff->regions[i].name, name) == 0) {
			FF_ERR(p, key, "regions: %s is listed twice (line %d)",
			       name, ff->regions[i].line);
			return BATON_ECONFIG;
		}
	}
	if (ff->n == BATON_CTL_MAX_REGIONS) {
		FF_ERR(p, key, "regions: more than %d", BATON_CTL_MAX_REGIONS);
		return BATON_ECONFIG;
	}
	if (body->type != YAML_MAPPING_NODE) {
		FF_ERR(p, body,
		       "regions.%s: must be a mapping (kubeconfig, context, "
		       "batond)",
		       name);
		return BATON_ECONFIG;
	}
	r = &ff->regions[ff->n++];
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", name);
	r->line = (int)key->start_mark.line + 1;
	for (yaml_node_pair_t *kv = body->data.mapping.pairs.start;
	     kv < body->data.mapping.pairs.top; kv++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, kv->key);
		yaml_node_t *val = yaml_document_get_node(p->doc, kv->value);
		const char *field;
		char what[96];
		if ((rv = scalar(p, k, "key", &field)) != 0) {
			return rv;
		}
		snprintf(what, sizeof what, "regions.%s.%s", name, field);
		if ((rv = scalar(p, val, what, &v)) != 0) {
			return rv;
		}
		if (strcmp(field, "kubeconfig") == 0) {
			rv = resolve(p, val, v, &r->kubeconfig);
		} else if (strcmp(field, "context") == 0) {
			rv = (r->context = strdup(v)) ? 0 : BATON_ENOMEM;
		} else if (strcmp(field, "batond") == 0) {
			if (strncmp(v, "http://", 7) != 0 &&
			    strncmp(v, "https://", 8) != 0) {
				FF_ERR(p, val,
				       "%s: '%s' is not an http:// or https:// "
				       "URL",
				       what, v);
				return BATON_ECONFIG;
			}
			rv = (r->batond = strdup(v)) ? 0 : BATON_ENOMEM;
		} else {
			FF_ERR(p, k,
			       "%s: unknown key (kubeconfig, context, batond)",
			       what);
			return BATON_ECONFIG;
		}
		if (rv != 0) {
			return rv;
		}
	}
	if (r->kubeconfig == NULL && r->context == NULL && r->batond == NULL) {
		FF_ERR(p, key,
		       "regions.%s: give its kubeconfig, context or batond",
		       name);
		return BATON_ECONFIG;
	}
	/* the file's kubeconfig for a region that names only a context */
	if (r->kubeconfig == NULL && r->context != NULL &&
	    p->kubeconfig != NULL &&
	    (r->kubeconfig = strdup(p->kubeconfig)) == NULL) {
		return BATON_ENOMEM;
	}
	return 0;
}

static int parse_root(struct parse *p, yaml_node_t *root)
{
	yaml_node_t *regions = NULL, *regions_key = NULL;
	char *kubeconfig = NULL;
	int rv = 0;

	if (root->type != YAML_MAPPING_NODE) {
		FF_ERR(p, root,
		       "top level: must be a mapping (kubeconfig, "
		       "regions)");
		return BATON_ECONFIG;
	}
	for (yaml_node_pair_t *kv = root->data.mapping.pairs.start;
	     kv < root->data.mapping.pairs.top; kv++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, kv->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, kv->value);
		const char *field, *path;
		if ((rv = scalar(p, k, "key", &field)) != 0) {
			goto done;
		}
		if (strcmp(field, "regions") == 0) {
			regions = v;
			regions_key = k;
		} else if (strcmp(field, "kubeconfig") == 0) {
			if ((rv = scalar(p, v, "kubeconfig", &path)) != 0 ||
			    (rv = resolve(p, v, path, &kubeconfig)) != 0) {
				goto done;
			}
		} else {
			FF_ERR(p, k, "%s: unknown key (kubeconfig, regions)",
			       field);
			rv = BATON_ECONFIG;
			goto done;
		}
	}
	if (regions == NULL || regions->type != YAML_MAPPING_NODE ||
	    regions->data.mapping.pairs.start ==
		regions->data.mapping.pairs.top) {
		FF_ERR(p, regions ? regions : root, "regions: %s",
		       regions_key ? "must map region names to "
				     "{kubeconfig, context, "
				     "batond}"
				   : "missing");
		rv = BATON_ECONFIG;
		goto done;
	}
	p->kubeconfig = kubeconfig;
	for (yaml_node_pair_t *kv = regions->data.mapping.pairs.start;
	     kv < regions->data.mapping.pairs.top && rv == 0; kv++) {
		rv = parse_region(p, yaml_document_get_node(p->doc, kv->key),
				  yaml_document_get_node(p->doc, kv->value));
	}
done:
	free(kubeconfig);
	return rv;
}

int baton_ctl_fleetfile_parse(struct baton_ctl_fleetfile *ff, const char *text,
			      size_t len, const char *name,
			      const char *base_dir)
{
	struct parse p = {.ff = ff, .name = name, .base_dir = base_dir};
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	int rv;

	memset(ff, 0, sizeof *ff);
	if (len > BATON_CTL_FLEETFILE_MAX) {
		baton_errmsg_printf(ff->errmsg, "%s: larger than %d bytes",
				    name, BATON_CTL_FLEETFILE_MAX);
		return BATON_ECONFIG;
	}
	if (!yaml_parser_initialize(&parser)) {
		return BATON_ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		baton_errmsg_printf(ff->errmsg, "%s:%zu: invalid YAML: %s",
				    name, parser.problem_mark.line + 1,
				    parser.problem ? parser.problem : "?");
		yaml_parser_delete(&parser);
		return BATON_ECONFIG;
	}
	p.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		baton_errmsg_printf(ff->errmsg,
				    "%s: empty: list the regions "
				    "under 'regions:'",
				    name);
		rv = BATON_ECONFIG;
	} else {
		rv = parse_root(&p, root);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (rv != 0) {
		char keep[BATON_ERRMSG_SIZE];
		if (rv == BATON_ENOMEM) {
			baton_errmsg_printf(ff->errmsg, "%s: out of memory",
					    name);
		}
		memcpy(keep, ff->errmsg, sizeof keep);
		baton_ctl_fleetfile_free(ff);
		memcpy(ff->errmsg, keep, sizeof keep);
	}
	return rv;
}

int baton_ctl_fleetfile_load(struct baton_ctl_fleetfile *ff, const char *path)
{
	char *text, *dir, *slash;
	size_t len;
	int rv;

	memset(ff, 0, sizeof *ff);
	rv = baton_kube_read_file(path, BATON_CTL_FLEETFILE_MAX, &text, &len);
	if (rv != 0) {
		int e = errno;
		baton_errmsg_printf(ff->errmsg, "%s: cannot read: %s", path,
				    rv == BATON_EIO ? strerror(e)
						    : baton_strerror(rv));
		errno = e;
		return rv;
	}
	if ((dir = strdup(path)) == NULL) {
		free(text);
		return BATON_ENOMEM;
	}
	slash = strrchr(dir, '/');
	if (slash == dir) {
		slash[1] = '\0';
	} else if (slash != NULL) {
		*slash = '\0';
	} else {
		dir[0] = '\0';
	}
	rv = baton_ctl_fleetfile_parse(ff, text, len, path, dir);
	free(dir);
	free(text);
	return rv;
}

int baton_ctl_fleetfile_default(char *out, size_t len, bool *explicit)
{
	const char *env = getenv("BATON_FLEET");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");

	*explicit = env != NULL && env[0] != '\0';
	if (*explicit) {
		snprintf(out, len, "%s", env);
		return 0;
	}
	if (xdg != NULL && xdg[0] == '/') {
		snprintf(out, len, "%s/baton/fleet.yaml", xdg);
		return 0;
	}
	if (home == NULL || home[0] == '\0') {
		return -1;
	}
	snprintf(out, len, "%s/.config/baton/fleet.yaml", home);
	return 0;
}

void baton_ctl_fleetfile_free(struct baton_ctl_fleetfile *ff)
{
	for (size_t i = 0; i < ff->n; i++) {
		free(ff->regions[i].kubeconfig);
		free(ff->regions[i].context);
		free(ff->regions[i].batond);
	}
	memset(ff, 0, sizeof *ff);
}
