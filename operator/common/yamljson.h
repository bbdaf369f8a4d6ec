/* YAML → JSON (jansson) for configuration files, and JSON → YAML for
 * output (batonctl status -o yaml).
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
#include <stdio.h>

#define BATON_YAML_MAX_DEPTH 64
#define BATON_YAML_MAX_BYTES (4 * 1024 * 1024)

int baton_yaml_to_json(const char *data, size_t len, const char *name,
		       json_t **out, char *errmsg);

/* Reads PATH (at most BATON_YAML_MAX_BYTES) and parses it. */
int baton_yaml_load_file(const char *path, json_t **out, char *errmsg);

/* Writes V as one YAML document (block style, libyaml's emitter) to OUT.
 * Strings that a YAML reader would take for something else (numbers,
 * booleans, null, YAML 1.1's yes/no/on/off) are quoted, so that
 * baton_yaml_to_json() (and kubectl, and yq) read back the same JSON.
 * Depth bounded as for parsing. 0, or BATON_EIO / BATON_ETOOLARGE with
 * errmsg. */
int baton_json_to_yaml(json_t *v, FILE *out, char *errmsg);

#endif /* BATON_YAMLJSON_H */
