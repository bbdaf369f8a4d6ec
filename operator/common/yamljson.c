#include "common/yamljson.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "common/error.h"

struct parser {
	yaml_parser_t yaml;
	const char *name;
	char *errmsg;
};

static int fail_at(struct parser *p, const yaml_mark_t *mark,
		   const char *problem)
{
	baton_errmsg_printf(p->errmsg, "%s:%zu:%zu: %s", p->name,
			    mark->line + 1, mark->column + 1, problem);
	return BATON_EPARSE;
}

static int next(struct parser *p, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&p->yaml, ev)) {
		baton_errmsg_printf(p->errmsg, "%s:%zu:%zu: %s", p->name,
				    p->yaml.problem_mark.line + 1,
				    p->yaml.problem_mark.column + 1,
				    p->yaml.problem != NULL ? p->yaml.problem
							    : "invalid YAML");
		return BATON_EPARSE;
	}
	return 0;
}

static bool is_plain(const yaml_event_t *ev)
{
	return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* A plain scalar that looks like a number, boolean or null becomes one. */
static json_t *scalar(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	char *end;

	if (!is_plain(ev)) {
		return json_stringn(s, n);
	}
	if (n == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0) {
		return json_null();
	}
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
	    strcmp(s, "TRUE") == 0) {
		return json_true();
	}
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 ||
	    strcmp(s, "FALSE") == 0) {
		return json_false();
	}
	if ((s[0] >= '0' && s[0] <= '9') ||
	    ((s[0] == '-' || s[0] == '+') && n > 1)) {
		long long v;
		double d;
		errno = 0;
		v = strtoll(s, &end, 10);
		if (*end == '\0' && errno == 0) {
			return json_integer(v);
		}
		errno = 0;
		d = strtod(s, &end);
		if (*end == '\0' && errno == 0) {
			return json_real(d);
		}
	}
	return json_stringn(s, n);
}

static int parse_node(struct parser *p, yaml_event_t *ev, int depth,
		      json_t **out);

static int parse_mapping(struct parser *p, int depth, json_t **out)
{
	json_t *obj = json_object();
	yaml_event_t ev;
	int rv;

	for (;;) {
		char *key;
		json_t *value = NULL;
		yaml_mark_t mark;

		rv = next(p, &ev);
		if (rv != 0) {
			goto err;
		}
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type != YAML_SCALAR_EVENT) {
			rv = fail_at(p, &ev.start_mark,
				     "mapping keys must be plain strings");
			yaml_event_delete(&ev);
			goto err;
		}
		key = strndup((const char *)ev.data.scalar.value,
			      ev.data.scalar.length);
		mark = ev.start_mark;
		yaml_event_delete(&ev);
		if (key == NULL) {
			rv = BATON_ENOMEM;
			goto err;
		}
		rv = next(p, &ev);
		if (rv == 0) {
			rv = parse_node(p, &ev, depth + 1, &value);
			yaml_event_delete(&ev);
		}
		if (rv != 0) {
			free(key);
			goto err;
		}
		if (json_object_get(obj, key) != NULL) {
			char msg[200];
			snprintf(msg, sizeof msg, "duplicate key \"%.100s\"",
				 key);
			rv = fail_at(p, &mark, msg);
			free(key);
			json_decref(value);
			goto err;
		}
		json_object_set_new(obj, key, value);
		free(key);
	}
	*out = obj;
	return 0;
err:
	json_decref(obj);
	return rv;
}

static int parse_sequence(struct parser *p, int depth, json_t **out)
{
	json_t *arr = json_array();
	yaml_event_t ev;
	int rv;

	for (;;) {
		json_t *value = NULL;
		rv = next(p, &ev);
		if (rv != 0) {
			goto err;
		}
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		rv = parse_node(p, &ev, depth + 1, &value);
		yaml_event_delete(&ev);
		if (rv != 0) {
			goto err;
		}
		json_array_append_new(arr, value);
	}
	*out = arr;
	return 0;
err:
	json_decref(arr);
	return rv;
}

static int parse_node(struct parser *p, yaml_event_t *ev, int depth,
		      json_t **out)
{
	if (depth > BATON_YAML_MAX_DEPTH) {
		return fail_at(p, &ev->start_mark, "nested too deeply");
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor != NULL) {
			return fail_at(p, &ev->start_mark,
				       "anchors are not supported");
		}
		*out = scalar(ev);
		if (*out == NULL) {
			return fail_at(p, &ev->start_mark,
				       "scalar is not valid UTF-8");
		}
		return 0;
	case YAML_MAPPING_START_EVENT:
		if (ev->data.mapping_start.anchor != NULL) {
			return fail_at(p, &ev->start_mark,
				       "anchors are not supported");
		}
		return parse_mapping(p, depth, out);
	case YAML_SEQUENCE_START_EVENT:
		if (ev->data.sequence_start.anchor != NULL) {
			return fail_at(p, &ev->start_mark,
				       "anchors are not supported");
		}
		return parse_sequence(p, depth, out);
	case YAML_ALIAS_EVENT:
		return fail_at(p, &ev->start_mark, "aliases are not supported");
	default:
		return fail_at(p, &ev->start_mark, "unexpected YAML event");
	}
}

int baton_yaml_to_json(const char *data, size_t len, const char *name,
		       json_t **out, char *errmsg)
{
	struct parser p = {.name = name != NULL ? name : "<yaml>",
			   .errmsg = errmsg};
	yaml_event_t ev;
	int rv;

	*out = NULL;
	if (len > BATON_YAML_MAX_BYTES) {
		baton_errmsg_printf(errmsg, "%s: larger than %d bytes", p.name,
				    BATON_YAML_MAX_BYTES);
		return BATON_ETOOLARGE;
	}
	if (!yaml_parser_initialize(&p.yaml)) {
		return BATON_ENOMEM;
	}
	yaml_parser_set_input_string(&p.yaml, (const unsigned char *)data, len);
	/* STREAM-START, then DOCUMENT-START or STREAM-END (empty input) */
	rv = next(&p, &ev);
	if (rv != 0) {
		goto out;
	}
	yaml_event_delete(&ev);
	rv = next(&p, &ev);
	if (rv != 0) {
		goto out;
	}
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		baton_errmsg_printf(errmsg, "%s: empty document", p.name);
		rv = BATON_EPARSE;
		goto out;
	}
	yaml_event_delete(&ev);
	rv = next(&p, &ev);
	if (rv != 0) {
		goto out;
	}
	rv = parse_node(&p, &ev, 0, out);
	yaml_event_delete(&ev);
out:
	yaml_parser_delete(&p.yaml);
	return rv;
}

int baton_yaml_load_file(const char *path, json_t **out, char *errmsg)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	int rv;

	*out = NULL;
	if (f == NULL) {
		baton_errmsg_printf(errmsg, "%s: cannot open: %s", path,
				    strerror(errno));
		return BATON_EIO;
	}
	buf = malloc(BATON_YAML_MAX_BYTES + 1);
	if (buf == NULL) {
		fclose(f);
		return BATON_ENOMEM;
	}
	n = fread(buf, 1, BATON_YAML_MAX_BYTES + 1, f);
	if (ferror(f)) {
		baton_errmsg_printf(errmsg, "%s: read error: %s", path,
				    strerror(errno));
		rv = BATON_EIO;
	} else if (n > BATON_YAML_MAX_BYTES) {
		baton_errmsg_printf(errmsg, "%s: larger than %d bytes", path,
				    BATON_YAML_MAX_BYTES);
		rv = BATON_ETOOLARGE;
	} else {
		rv = baton_yaml_to_json(buf, n, path, out, errmsg);
	}
	fclose(f);
	free(buf);
	return rv;
}

/* ---- JSON -> YAML -------------------------------------------------------- */

/* Whether the string S, written plain, would be read back as something
 * else than that string: by scalar() above, or by a YAML 1.1 reader
 * (yes/no/on/off/y/n, octal and sexagesimal numbers, .inf, .nan). */
static bool needs_quotes(const char *s, size_t n)
{
	static const char *const words[] = {"y", "n", "yes", "no", "on", "off"};
	yaml_event_t ev;
	json_t *v;
	bool other;

	if (n == 0 || strlen(s) != n || strchr(s, '\n') != NULL) {
		return true; /* empty, a NUL inside, or lines: "...\n..." */
	}
	for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
		if (strcasecmp(s, words[i]) == 0) {
			return true;
		}
	}
	if ((s[0] >= '0' && s[0] <= '9') || s[0] == '.' || s[0] == '+' ||
	    s[0] == '-') {
		return true; /* a number in some reader's eyes */
	}
	memset(&ev, 0, sizeof ev);
	ev.data.scalar.value = (yaml_char_t *)s;
	ev.data.scalar.length = n;
	ev.data.scalar.style = YAML_PLAIN_SCALAR_STYLE;
	v = scalar(&ev);
	other = v == NULL || !json_is_string(v);
	json_decref(v);
	return other;
}

static int emit_scalar(yaml_emitter_t *e, const char *s, size_t n,
		       bool as_string)
{
	yaml_event_t ev;
	yaml_scalar_style_t style = as_string && needs_quotes(s, n)
					? YAML_DOUBLE_QUOTED_SCALAR_STYLE
					: YAML_PLAIN_SCALAR_STYLE;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s,
					  (int)n, 1, 1, style)) {
		return BATON_ENOMEM;
	}
	return yaml_emitter_emit(e, &ev) ? 0 : BATON_EIO;
}

static int emit_node(yaml_emitter_t *e, json_t *v, int depth)
{
	yaml_event_t ev;
	int rv = 0;

	if (depth > BATON_YAML_MAX_DEPTH) {
		return BATON_ETOOLARGE;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
						    YAML_ANY_MAPPING_STYLE);
		if (!yaml_emitter_emit(e, &ev)) {
			return BATON_EIO;
		}
		json_object_foreach(v, k, x)
		{
			rv = emit_scalar(e, k, strlen(k), true);
			if (rv == 0) {
				rv = emit_node(e, x, depth + 1);
			}
			if (rv != 0) {
				return rv;
			}
		}
		yaml_mapping_end_event_initialize(&ev);
		return yaml_emitter_emit(e, &ev) ? 0 : BATON_EIO;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
						     YAML_ANY_SEQUENCE_STYLE);
		if (!yaml_emitter_emit(e, &ev)) {
			return BATON_EIO;
		}
		json_array_foreach(v, i, x)
		{
			if ((rv = emit_node(e, x, depth + 1)) != 0) {
				return rv;
			}
		}
		yaml_sequence_end_event_initialize(&ev);
		return yaml_emitter_emit(e, &ev) ? 0 : BATON_EIO;
	}
	case JSON_STRING:
		return emit_scalar(e, json_string_value(v),
				   json_string_length(v), true);
	default: {
		/* numbers, booleans, null: their JSON text is their YAML */
		char *text = json_dumps(v, JSON_ENCODE_ANY);
		if (text == NULL) {
			return BATON_ENOMEM;
		}
		rv = emit_scalar(e, text, strlen(text), false);
		free(text);
		return rv;
	}
	}
}

int baton_json_to_yaml(json_t *v, FILE *out, char *errmsg)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	int rv = BATON_EIO;

	if (!yaml_emitter_initialize(&e)) {
		baton_errmsg_printf(errmsg, "cannot start the YAML emitter");
		return BATON_ENOMEM;
	}
	yaml_emitter_set_output_file(&e, out);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, -1); /* no folding of long strings */
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	if (!yaml_emitter_emit(&e, &ev)) {
		goto err;
	}
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	if (!yaml_emitter_emit(&e, &ev)) {
		goto err;
	}
	if ((rv = emit_node(&e, v, 0)) != 0) {
		goto err;
	}
	rv = BATON_EIO;
	yaml_document_end_event_initialize(&ev, 1);
	if (!yaml_emitter_emit(&e, &ev)) {
		goto err;
	}
	yaml_stream_end_event_initialize(&ev);
	if (!yaml_emitter_emit(&e, &ev) || !yaml_emitter_flush(&e)) {
		goto err;
	}
	yaml_emitter_delete(&e);
	return 0;
err:
	baton_errmsg_printf(errmsg, "YAML output: %s",
			    rv == BATON_ETOOLARGE ? "nested too deeply"
			    : e.problem != NULL	  ? e.problem
						  : "write failed");
	yaml_emitter_delete(&e);
	return rv;
}
