/* labkubelet/logs.c: disk bounds: container logs copytruncated at 16 MiB,
 * the newest 64 directories of pods that are gone kept for their logs. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "labkubelet.h"

/* Container logs are bounded like the kubelet's: past LOG_ROTATE_BYTES the
 * log is copied to <name>.log.1 and truncated in place (the process keeps
 * its O_APPEND descriptor, so its next line lands at the new start). */
void logs_rotate(struct lk *lk)
{
	for (struct pod *p = lk->pods; p != NULL; p = p->next) {
		for (int i = 0; i < p->n_ctrs; i++) {
			char path[POD_PATH_MAX + 80], old[POD_PATH_MAX + 84];
			struct stat st;
			int in, out;
			off_t off = 0;

			snprintf(path, sizeof path, "%s/%s.log", p->dir,
				 p->ctrs[i].name);
			if (stat(path, &st) != 0 ||
			    st.st_size < LOG_ROTATE_BYTES) {
				continue;
			}
			snprintf(old, sizeof old, "%s.1", path);
			in = open(path, O_RDWR | O_CLOEXEC);
			out =
			    open(old, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				 0644);
			if (in >= 0 && out >= 0) {
				while (off < st.st_size &&
				       sendfile(out, in, &off,
						(size_t)(st.st_size - off)) >
					   0) {
				}
				if (ftruncate(in, 0) != 0) {
					pod_log(
					    p, BATON_LOG_WARN,
					    "cannot truncate a container log",
					    json_pack("{s:s}", "path", path));
				}
			}
			if (in >= 0) {
				close(in);
			}
			if (out >= 0) {
				close(out);
			}
		}
	}
}

struct dead_dir {
	struct timespec mtime;
	char name[80];
};

static int dead_dir_cmp(const void *a, const void *b)
{
	const struct timespec *x = &((const struct dead_dir *)a)->mtime;
	const struct timespec *y = &((const struct dead_dir *)b)->mtime;
	if (x->tv_sec != y->tv_sec) {
		return x->tv_sec < y->tv_sec ? 1 : -1; /* newest first */
	}
	return x->tv_nsec < y->tv_nsec ? 1 : x->tv_nsec > y->tv_nsec ? -1 : 0;
}

/* The directories of pods that are gone keep their logs for post-mortems;
 * only the newest KEEP_DEAD_POD_DIRS stay. A directory is dead when it
 * has no state file and no pod of ours uses it. */
void dead_dirs_prune(struct lk *lk)
{
	char dir[POD_PATH_MAX];
	struct dead_dir *dead = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof dir, "%s/pods", lk->o.state_dir);
	d = opendir(dir);
	if (d == NULL) {
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char path[POD_PATH_MAX + 100];
		struct stat st;
		bool live = false;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= 80) {
			continue;
		}
		for (struct pod *p = lk->pods; p != NULL && !live;
		     p = p->next) {
			live = strcmp(p->uid, de->d_name) == 0;
		}
		snprintf(path, sizeof path, "%s/%s/state", dir, de->d_name);
		if (live || access(path, F_OK) == 0) {
			continue;
		}
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
			continue;
		}
		if (n == cap) {
			size_t ncap = cap == 0 ? 128 : cap * 2;
			struct dead_dir *nd;
			if (ncap > 65536 ||
			    (nd = realloc(dead, ncap * sizeof *nd)) == NULL) {
				break; /* prune what we have */
			}
			dead = nd;
			cap = ncap;
		}
		dead[n].mtime = st.st_mtim;
		snprintf(dead[n].name, sizeof dead[n].name, "%s", de->d_name);
		n++;
	}
	closedir(d);
	if (n > KEEP_DEAD_POD_DIRS) {
		qsort(dead, n, sizeof *dead, dead_dir_cmp);
		for (size_t k = KEEP_DEAD_POD_DIRS; k < n; k++) {
			char path[POD_PATH_MAX + 100];
			snprintf(path, sizeof path, "%s/%s", dir, dead[k].name);
			rm_rf(path);
		}
	}
	free(dead);
}
