/* What a process tree is doing, from /proc (procstate.h). */
#include "engine/procstate.h"

#include <ctype.h>
#include <signal.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int baton_proc_parse_stat(const char *line, char *state, pid_t *ppid)
{
	/* "PID (COMM) S PPID ...": COMM is free text, so the fields start
	 * after the LAST ')' */
	const char *p = line != NULL ? strrchr(line, ')') : NULL;
	char *end;
	long v;

	if (p == NULL || p[1] != ' ' || p[2] == '\0' || p[3] != ' ') {
		return 0;
	}
	*state = p[2];
	v = strtol(p + 4, &end, 10);
	if (end == p + 4 || v < 0) {
		return 0;
	}
	*ppid = (pid_t)v;
	return 1;
}

/* the whole of a small /proc file, NUL-terminated; -1 when unreadable */
static ssize_t slurp(pid_t pid, const char *what, char *buf, size_t n)
{
	char path[64];
	ssize_t len = 0, r;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		return -1;
	}
	while ((size_t)len < n - 1 &&
	       (r = read(fd, buf + len, n - 1 - (size_t)len)) > 0) {
		len += r;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

struct out {
	char *p;
	size_t n, len;
	int cut;
};

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (o->cut) {
		return;
	}
	va_start(ap, fmt);
	r = vsnprintf(o->p + o->len, o->n - o->len, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= o->n - o->len) {
		o->cut = 1;
		if (o->n >= 4) {
			memcpy(o->p + o->n - 4, "...", 4);
		}
		return;
	}
	o->len += (size_t)r;
}

static void describe(struct out *o, pid_t pid, char state)
{
	char buf[2048], *s, *save = NULL;
	ssize_t len;
	int frames = 0;

	put(o, "%s%d %c", o->len ? "\n" : "", (int)pid, state);
	if (slurp(pid, "wchan", buf, sizeof buf) > 0 && strcmp(buf, "0") != 0) {
		put(o, " wchan=%s", buf);
	}
	/* "[<0>] fn+0x1a/0x40\n" per frame: the first three names */
	if (slurp(pid, "stack", buf, sizeof buf) > 0) {
		put(o, " stack=");
		for (s = strtok_r(buf, "\n", &save); s != NULL && frames < 3;
		     s = strtok_r(NULL, "\n", &save)) {
			char *fn = strchr(s, ' '), *plus;
			if (fn == NULL) {
				continue;
			}
			fn++;
			if ((plus = strchr(fn, '+')) != NULL) {
				*plus = '\0';
			}
			put(o, "%s%s", frames++ ? "<" : "", fn);
		}
	}
	if ((len = slurp(pid, "cmdline", buf, 160)) > 0) {
		for (ssize_t i = 0; i < len; i++) {
			if (buf[i] == '\0' || !isprint((unsigned char)buf[i])) {
				buf[i] = ' ';
			}
		}
		while (len > 0 && buf[len - 1] == ' ') {
			buf[--len] = '\0';
		}
		put(o, " '%s'", buf);
	}
}

/* The next direct child of ROOT in the /proc listing D (its state letter
 * in *STATE), or 0 at the end. */
static pid_t next_child(DIR *d, pid_t root, char *state)
{
	char buf[512];
	struct dirent *de;
	pid_t ppid;

	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 0 || pid == root) {
			continue;
		}
		if (slurp((pid_t)pid, "stat", buf, sizeof buf) > 0 &&
		    baton_proc_parse_stat(buf, state, &ppid) && ppid == root) {
			return (pid_t)pid;
		}
	}
	return 0;
}

int baton_proc_describe_tree(pid_t root, char *out, size_t n)
{
	struct out o = {out, n, 0, 0};
	char buf[512], state;
	pid_t ppid, child;
	DIR *d;
	int count = 0;

	if (n == 0) {
		return 0;
	}
	out[0] = '\0';
	if (slurp(root, "stat", buf, sizeof buf) <= 0 ||
	    !baton_proc_parse_stat(buf, &state, &ppid)) {
		return 0;
	}
	describe(&o, root, state);
	count++;
	if ((d = opendir("/proc")) == NULL) {
		return count;
	}
	while ((child = next_child(d, root, &state)) > 0) {
		describe(&o, child, state);
		count++;
	}
	closedir(d);
	return count;
}

int baton_proc_signal_untitled_children(pid_t root, int sig)
{
	char own[4096], theirs[4096], state;
	ssize_t own_len, len;
	pid_t child;
	DIR *d;
	int count = 0;

	if ((own_len = slurp(root, "cmdline", own, sizeof own)) <= 0 ||
	    (d = opendir("/proc")) == NULL) {
		return 0;
	}
	while ((child = next_child(d, root, &state)) > 0) {
		if ((len = slurp(child, "cmdline", theirs, sizeof theirs)) ==
			own_len &&
		    memcmp(own, theirs, (size_t)len) == 0 &&
		    kill(child, sig) == 0) {
			count++;
		}
	}
	closedir(d);
	return count;
}
