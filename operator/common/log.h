/* Structured logs: one JSON object per line on stderr.
 *
 *   {"ts":"2026-11-28T03:22:52.123Z","level":"info","component":"kube",
 *    "msg":"watch restarted","resource":"pods","rv":"1234"}
 *
 * baton_log() takes a printf-style message; baton_log_kv() adds key/value
 * fields given as a jansson object (stolen reference, may be NULL). The level
 * threshold and the output stream are process-wide (set once at start-up).
 */
#ifndef BATON_LOG_H
#define BATON_LOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

enum baton_log_level {
	BATON_LOG_DEBUG = 0,
	BATON_LOG_INFO,
	BATON_LOG_WARN,
	BATON_LOG_ERROR,
};

void baton_log_set_level(enum baton_log_level level);
/* Whether a line at LEVEL is written (skip building costly messages). */
bool baton_log_enabled(enum baton_log_level level);
/* Parses "debug", "info", "warn", "error"; returns BATON_EINVAL otherwise. */
int baton_log_parse_level(const char *s, enum baton_log_level *out);
void baton_log_set_stream(FILE *stream);
/* Fields added to every line (e.g. {"region":"eu-west"}); stolen. */
void baton_log_set_static_fields(json_t *fields);

void baton_log(enum baton_log_level level, const char *component,
	       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void baton_log_kv(enum baton_log_level level, const char *component,
		  json_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define BATON_DEBUG(c, ...) baton_log(BATON_LOG_DEBUG, c, __VA_ARGS__)
#define BATON_INFO(c, ...) baton_log(BATON_LOG_INFO, c, __VA_ARGS__)
#define BATON_WARN(c, ...) baton_log(BATON_LOG_WARN, c, __VA_ARGS__)
#define BATON_ERROR(c, ...) baton_log(BATON_LOG_ERROR, c, __VA_ARGS__)

#endif /* BATON_LOG_H */
