/* process_* series (http/procmetrics.h). */
#include "http/procmetrics.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static double boot_time(void);
static double start_ticks(void);

int baton_procmetrics_add(struct baton_procmetrics *p, struct baton_metrics *m)
{
	memset(p, 0, sizeof *p);
	p->cpu = baton_metrics_add(m, BATON_METRIC_COUNTER,
				   "process_cpu_seconds_total",
				   "Total user and system CPU time spent in "
				   "seconds",
				   NULL, NULL, 0);
	p->rss = baton_metrics_add(
	    m, BATON_METRIC_GAUGE, "process_resident_memory_bytes",
	    "Resident memory size in bytes", NULL, NULL, 0);
	p->vsz = baton_metrics_add(
	    m, BATON_METRIC_GAUGE, "process_virtual_memory_bytes",
	    "Virtual memory size in bytes", NULL, NULL, 0);
	p->fds =
	    baton_metrics_add(m, BATON_METRIC_GAUGE, "process_open_fds",
			      "Number of open file descriptors", NULL, NULL, 0);
	p->max_fds = baton_metrics_add(m, BATON_METRIC_GAUGE, "process_max_fds",
				       "Maximum number of open file "
				       "descriptors",
				       NULL, NULL, 0);
	p->start = baton_metrics_add(m, BATON_METRIC_GAUGE,
				     "process_start_time_seconds",
				     "Start time of the process since unix "
				     "epoch in seconds",
				     NULL, NULL, 0);
	if (p->cpu == NULL || p->rss == NULL || p->vsz == NULL ||
	    p->fds == NULL || p->max_fds == NULL || p->start == NULL) {
		return BATON_ENOMEM;
	}
	{
		/* fixed for the process's life: read once, not per scrape */
		double bt = boot_time(), st = start_ticks();
		long tck = sysconf(_SC_CLK_TCK);
		if (bt >= 0 && st >= 0 && tck > 0) {
			baton_metric_set(p->start, NULL, bt + st / (double)tck);
		}
	}
	baton_procmetrics_update(p);
	return 0;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;
	if (d == NULL) {
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.') {
			n++;
		}
	}
	closedir(d);
	return n - 1; /* not the directory stream's own descriptor */
}

/* The boot time (seconds since the epoch) from /proc/stat's btime. */
static double boot_time(void)
{
	FILE *f = fopen("/proc/stat", "r");
	char line[256];
	double bt = -1;
	if (f == NULL) {
		return -1;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "btime ", 6) == 0) {
			bt = strtod(line + 6, NULL);
			break;
		}
	}
	fclose(f);
	return bt;
}

/* Field 22 of /proc/self/stat (starttime, clock ticks after boot); the
 * command name before it may hold spaces and parentheses, so fields are
 * counted from its last ')'. */
static double start_ticks(void)
{
	FILE *f = fopen("/proc/self/stat", "r");
	char buf[1024];
	size_t n;
	char *p, *save = NULL, *tok;
	int field = 2;
	if (f == NULL) {
		return -1;
	}
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL) {
		return -1;
	}
	for (tok = strtok_r(p + 1, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		if (++field == 22) {
			return strtod(tok, NULL);
		}
	}
	return -1;
}

void baton_procmetrics_update(struct baton_procmetrics *p)
{
	struct rusage ru;
	struct rlimit rl;
	long page = sysconf(_SC_PAGESIZE);
	unsigned long vsz_pages, rss_pages;
	FILE *f;
	int fds;

	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		double cpu = (double)ru.ru_utime.tv_sec +
			     (double)ru.ru_utime.tv_usec / 1e6 +
			     (double)ru.ru_stime.tv_sec +
			     (double)ru.ru_stime.tv_usec / 1e6;
		if (cpu > p->cpu_seen) {
			baton_metric_inc(p->cpu, NULL, cpu - p->cpu_seen);
			p->cpu_seen = cpu;
		}
	}
	f = fopen("/proc/self/statm", "r");
	if (f != NULL) {
		if (fscanf(f, "%lu %lu", &vsz_pages, &rss_pages) == 2 &&
		    page > 0) {
			baton_metric_set(p->vsz, NULL,
					 (double)vsz_pages * (double)page);
			baton_metric_set(p->rss, NULL,
					 (double)rss_pages * (double)page);
		}
		fclose(f);
	}
	if ((fds = open_fds()) >= 0) {
		baton_metric_set(p->fds, NULL, fds);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		baton_metric_set(
		    p->max_fds, NULL,
		    rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
	}
}
