/* Unit tests for operator/http/procmetrics: the process_* series read from
 * this very process. The properties under test: every family renders
 * with the Prometheus names and types; the values are this process's
 * (resident memory grows when memory is touched, open descriptors move
 * by exactly the ones opened, CPU time grows with work, the start time is
 * this process's, not the time of the read). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "http/procmetrics.h"

/* The value of the unlabelled series NAME in M's rendering. */
static double value(struct baton_metrics *m, const char *name)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0, n = strlen(name);
	double v = -1;
	int found = 0;

	ck_assert_int_eq(baton_metrics_render(m, &text, &len), 0);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, name, n) == 0 && line[n] == ' ') {
			v = strtod(line + n + 1, NULL);
			found++;
		}
	}
	free(text);
	ck_assert_msg(found == 1, "%s rendered %d times", name, found);
	return v;
}

static int has_line(struct baton_metrics *m, const char *want)
{
	char *text = NULL;
	size_t len = 0;
	int yes;
	ck_assert_int_eq(baton_metrics_render(m, &text, &len), 0);
	yes = strstr(text, want) != NULL;
	free(text);
	return yes;
}

START_TEST(families_render_with_their_types)
{
	struct baton_metrics m;
	struct baton_procmetrics p;

	baton_metrics_init(&m);
	ck_assert_int_eq(baton_procmetrics_add(&p, &m), 0);
	ck_assert(has_line(&m, "# TYPE process_cpu_seconds_total counter"));
	ck_assert(has_line(&m, "# TYPE process_resident_memory_bytes gauge"));
	ck_assert(has_line(&m, "# TYPE process_virtual_memory_bytes gauge"));
	ck_assert(has_line(&m, "# TYPE process_open_fds gauge"));
	ck_assert(has_line(&m, "# TYPE process_max_fds gauge"));
	ck_assert(has_line(&m, "# TYPE process_start_time_seconds gauge"));
	baton_metrics_free(&m);
}
END_TEST

START_TEST(values_are_this_process_s)
{
	struct baton_metrics m;
	struct baton_procmetrics p;
	double rss0, rss1, fds0, fds1, cpu0, cpu1, start0, start1;
	int fd[10];
	size_t big = 64u << 20;
	char *mem;
	struct timespec t0, t;
	volatile unsigned long spin = 0;

	baton_metrics_init(&m);
	ck_assert_int_eq(baton_procmetrics_add(&p, &m), 0);
	rss0 = value(&m, "process_resident_memory_bytes");
	fds0 = value(&m, "process_open_fds");
	cpu0 = value(&m, "process_cpu_seconds_total");
	start0 = value(&m, "process_start_time_seconds");
	ck_assert_msg(rss0 > 1 << 20, "rss %g", rss0);
	ck_assert(value(&m, "process_virtual_memory_bytes") >= rss0);
	ck_assert(fds0 >= 3); /* stdin, stdout, stderr at least */
	ck_assert(value(&m, "process_max_fds") >= fds0);
	/* started (forked by Check) within the last minutes, not now */
	ck_assert_msg(start0 > (double)time(NULL) - 600 &&
			  start0 <= (double)time(NULL) + 1,
		      "start %f, now %ld", start0, (long)time(NULL));

	for (int i = 0; i < 10; i++) {
		fd[i] = open("/dev/null", O_RDONLY);
		ck_assert_int_ge(fd[i], 0);
	}
	mem = malloc(big);
	ck_assert_ptr_nonnull(mem);
	memset(mem, 1, big);
	/* the pages must be touched: at -O2 GCC 12 drops a memset whose
	 * buffer is only freed (the plain build's RSS never grew) */
	__asm__ volatile("" : : "r"(mem) : "memory");
	/* 0.3 s of this process's own CPU time, however loaded the machine */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	do {
		for (int i = 0; i < 100000; i++) {
			spin += (unsigned long)i;
		}
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 +
		     (t.tv_nsec - t0.tv_nsec) / 1000000 <
		 300);
	sleep(1); /* the start time must not follow the clock */

	baton_procmetrics_update(&p);
	rss1 = value(&m, "process_resident_memory_bytes");
	fds1 = value(&m, "process_open_fds");
	cpu1 = value(&m, "process_cpu_seconds_total");
	start1 = value(&m, "process_start_time_seconds");
	ck_assert_msg(rss1 - rss0 >= (double)(big / 2), "rss %g -> %g", rss0,
		      rss1);
	ck_assert_msg(fds1 - fds0 == 10, "open fds %g -> %g", fds0, fds1);
	ck_assert_msg(cpu1 - cpu0 >= 0.25, "cpu %g -> %g", cpu0, cpu1);
	ck_assert_msg(start1 - start0 < 0.05 && start0 - start1 < 0.05,
		      "start %f -> %f", start0, start1);

	for (int i = 0; i < 10; i++) {
		close(fd[i]);
	}
	baton_procmetrics_update(&p);
	ck_assert(value(&m, "process_open_fds") == fds0);
	/* a counter: never goes back */
	ck_assert(value(&m, "process_cpu_seconds_total") >= cpu1);
	free(mem);
	baton_metrics_free(&m);
}
END_TEST

static Suite *procmetrics_suite(void)
{
	Suite *s = suite_create("http_procmetrics");
	TCase *tc = tcase_create("process");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, families_render_with_their_types);
	tcase_add_test(tc, values_are_this_process_s);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(procmetrics_suite)
