#include "log.h"

#include <stdarg.h>
#include <string.h>

#include "clock.h"
#include "error.h"

static enum baton_log_level threshold = BATON_LOG_INFO;
static FILE *out_stream;
static json_t *static_fields;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void baton_log_set_level(enum baton_log_level level)
{
	threshold = level;
}

bool baton_log_enabled(enum baton_log_level level)
{
	return level >= threshold;
}

int baton_log_parse_level(const char *s, enum baton_log_level *out)
{
	for (unsigned i = 0; i < sizeof level_names / sizeof level_names[0];
	     i++) {
		if (s != NULL && strcmp(s, level_names[i]) == 0) {
			*out = (enum baton_log_level)i;
			return 0;
		}
	}
	return BATON_EINVAL;
}

void baton_log_set_stream(FILE *stream)
{
	out_stream = stream;
}

void baton_log_set_static_fields(json_t *fields)
{
	json_decref(static_fields);
	static_fields = fields;
}

static void emit(enum baton_log_level level, const char *component,
		 json_t *fields, const char *fmt, va_list ap)
{
	char msg[1024];
	char ts[96];
	json_t *line;
	json_t *m;
	char *text;

	if (level < threshold) {
		json_decref(fields);
		return;
	}
	vsnprintf(msg, sizeof msg, fmt, ap);
	baton_clock_rfc3339(ts, sizeof ts, 3);

	line = json_object();
	if (line == NULL) {
		json_decref(fields);
		return;
	}
	json_object_set_new(line, "ts", json_string(ts));
	json_object_set_new(line, "level", json_string(level_names[level]));
	json_object_set_new(line, "component",
			    json_string(component ? component : "baton"));
	/* invalid UTF-8 in msg must not drop the whole line */
	m = json_string(msg);
	json_object_set_new(line, "msg",
			    m != NULL ? m : json_string("(invalid utf-8)"));
	if (static_fields != NULL) {
		json_object_update_missing(line, static_fields);
	}
	if (fields != NULL) {
		json_object_update_missing(line, fields);
		json_decref(fields);
	}
	text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(line);
	if (text == NULL) {
		return;
	}
	fprintf(out_stream ? out_stream : stderr, "%s\n", text);
	fflush(out_stream ? out_stream : stderr);
	free(text);
}

void baton_log(enum baton_log_level level, const char *component,
	       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(level, component, NULL, fmt, ap);
	va_end(ap);
}

void baton_log_kv(enum baton_log_level level, const char *component,
		  json_t *fields, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(level, component, fields, fmt, ap);
	va_end(ap);
}
