/* labkubelet/util.c: small helpers: JSON lookups, RFC 3339 time, mkdir -p
 * and rm -rf, a process's start time, running a command and waiting. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "labkubelet.h"

extern char **environ;

const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

const char *jpath(json_t *o, const char *a, const char *b)
{
	return jstr(json_object_get(o, a), b);
}

void time_rfc3339(char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int mkdir_p(const char *path, mode_t mode)
{
	char tmp[POD_PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, mode) != 0 && errno != EEXIST) {
				return -1;
			}
			*p = '/';
		}
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST) {
		return -1;
	}
	return 0;
}

static int rm_cb(const char *path, const struct stat *st, int flag,
		 struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void rm_rf(const char *path)
{
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Field 22 of /proc/PID/stat (start time in clock ticks), 0 if gone. It
 * tells a recorded pid from a recycled one. */
unsigned long long proc_start_time(int pid)
{
	char path[64];
	char buf[1024];
	unsigned long long v = 0;
	FILE *f;
	char *p;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f == NULL) {
		return 0;
	}
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command may contain spaces */
	if (p == NULL) {
		return 0;
	}
	/* after ") " come fields 3.. ; the start time is field 22 */
	for (int field = 2; field < 22 && p != NULL; field++) {
		p = strchr(p + 1, ' ');
	}
	if (p != NULL) {
		v = strtoull(p + 1, NULL, 10);
	}
	return v;
}

/* Runs ARGV (PATH lookup) and waits; stderr+stdout tail in ERR. Blocking:
 * called from the threadpool or before the loop runs. libuv reaps only the
 * pids it spawned, so waitpid() here does not race with it. */
int run_cmd(char *const argv[], char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	int pfd[2];
	pid_t pid;
	int status = 0;
	size_t used = 0;
	ssize_t n;
	char sink[256];
	int rc;

	if (pipe2(pfd, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		snprintf(err, errlen, "%s: %s", argv[0], strerror(rc));
		return -1;
	}
	err[0] = '\0';
	for (;;) {
		if (used + 1 < errlen) {
			n = read(pfd[0], err + used, errlen - 1 - used);
		} else {
			n = read(pfd[0], sink, sizeof sink);
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		if (used + 1 < errlen) {
			used += (size_t)n;
		}
	}
	close(pfd[0]);
	err[used < errlen ? used : errlen - 1] = '\0';
	while (used > 0 && (err[used - 1] == '\n' || err[used - 1] == ' ')) {
		err[--used] = '\0';
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (err[0] == '\0') {
			snprintf(err, errlen, "%s exited with status %d",
				 argv[0],
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		}
		return -1;
	}
	return 0;
}
