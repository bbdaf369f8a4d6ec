/* YAML → JSON (jansson) for configuration files.
 *
 * Parses the first document of a YAML stream with libyaml into a json_t
 * tree. Plain (unquoted) scalars become integers, reals, booleans
 * (true/false) or null (null, ~, empty) when they look like one; quoted
 * scalars are always strings. Anchors and aliases are refused (configuration
 * files do not need them, and alias expansion is how "billion laughs"
 * documents blow up). Depth and size are bounded.
 *
 * Errors: BATON_EPARSE with errmsg "NAME:LINE:COLUMN: problem",
 * BATON_ETOOLARGE past the caps.
 */
#ifndef BATON_YAMLJSON_H
#define BATON_YAMLJSON_H

#include <jansson.h>
#include <stddef.h>

#define BATON_YAML_MAX_DEPTH 64
#define BATON_YAML_MAX_BYTES (4 * 1024 * 1024)

int baton_yaml_to_json(const char *data, size_t len, const char *name,
		       json_t **out, char *errmsg);

/* Reads PATH (at most BATON_YAML_MAX_BYTES) and parses it. */
int baton_yaml_load_file(const char *path, json_t **out, char *errmsg);

#endif /* BATON_YAMLJSON_H */
