/* The process_* series every Prometheus client library exports
 * (client_golang's process collector names them): CPU seconds, resident
 * and virtual memory, open and maximum file descriptors, start time. A
 * dashboard or alert written for any exporter works on batond and
 * baton-agent unchanged, e.g. an RSS alert before the memory limit.
 * Read from /proc/self and getrusage(2) when /metrics is rendered (the
 * start time once, at registration); a
 * value that cannot be read is left as it was. */
#ifndef BATON_HTTP_PROCMETRICS_H
#define BATON_HTTP_PROCMETRICS_H

#include "http/metrics.h"

struct baton_procmetrics {
	struct baton_metric *cpu;     /* process_cpu_seconds_total */
	struct baton_metric *rss;     /* process_resident_memory_bytes */
	struct baton_metric *vsz;     /* process_virtual_memory_bytes */
	struct baton_metric *fds;     /* process_open_fds */
	struct baton_metric *max_fds; /* process_max_fds */
	struct baton_metric *start;   /* process_start_time_seconds */
	double cpu_seen;	      /* CPU seconds already counted */
};

/* Registers the families in M: 0 or BATON_ENOMEM. */
int baton_procmetrics_add(struct baton_procmetrics *p, struct baton_metrics *m);

/* Reads the process's numbers into the families (before a render). */
void baton_procmetrics_update(struct baton_procmetrics *p);

#endif /* BATON_HTTP_PROCMETRICS_H */
