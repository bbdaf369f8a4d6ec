/* labkubelet/statefile.c: crash safety. Each pod's namespace, veth,
 * address and pids (with their /proc start times) are written to
 * STATE/pods/<uid>/state before they exist; at start-up every state file
 * left behind is torn down first. tests/lab/lab.sh reads the same files. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "labkubelet.h"

void state_write(struct pod *p)
{
	char path[POD_PATH_MAX + 16], tmp[POD_PATH_MAX + 16];
	FILE *f;

	snprintf(path, sizeof path, "%s/state", p->dir);
	snprintf(tmp, sizeof tmp, "%s/state.tmp", p->dir);
	f = fopen(tmp, "w");
	if (f == NULL) {
		pod_log(p, BATON_LOG_ERROR, "cannot write state file",
			json_pack("{s:s, s:s}", "path", tmp, "error",
				  strerror(errno)));
		return;
	}
	fprintf(f, "pod=%s/%s\nuid=%s\nnetns=%s\nveth=%s\nip=%s\n", p->ns,
		p->name, p->uid, p->netns, p->veth, p->ip);
	for (int i = 0; i < p->n_ctrs; i++) {
		if (p->ctrs[i].running && !p->ctrs[i].exited) {
			fprintf(f, "pid=%d %llu %s\n", p->ctrs[i].pid,
				p->ctrs[i].pid_start, p->ctrs[i].name);
		}
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		pod_log(p, BATON_LOG_ERROR, "cannot write state file",
			json_pack("{s:s, s:s}", "path", path, "error",
				  strerror(errno)));
	}
}

void state_remove(struct pod *p)
{
	char path[POD_PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/state", p->dir);
	unlink(path);
}

/* Start-up: tear down every pod host a previous run left behind. */
void state_cleanup_leftovers(struct lk *lk)
{
	char dir[POD_PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof dir, "%s/pods", lk->o.state_dir);
	d = opendir(dir);
	if (d == NULL) {
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char path[POD_PATH_MAX + 300];
		char line[512];
		char netns[64] = "", veth[16] = "";
		FILE *f;

		if (de->d_name[0] == '.') {
			continue;
		}
		snprintf(path, sizeof path, "%s/%s/state", dir, de->d_name);
		f = fopen(path, "r");
		if (f == NULL) {
			continue;
		}
		while (fgets(line, sizeof line, f) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (strncmp(line, "netns=", 6) == 0) {
				snprintf(netns, sizeof netns, "%.63s",
					 line + 6);
			} else if (strncmp(line, "veth=", 5) == 0) {
				snprintf(veth, sizeof veth, "%.15s", line + 5);
			} else if (strncmp(line, "pid=", 4) == 0) {
				int pid = 0;
				unsigned long long st = 0;
				if (sscanf(line + 4, "%d %llu", &pid, &st) ==
					2 &&
				    pid > 1 && proc_start_time(pid) == st) {
					kill(-pid, SIGKILL);
					kill(pid, SIGKILL);
				}
			}
		}
		fclose(f);
		baton_log_kv(
		    BATON_LOG_WARN, COMP,
		    json_pack("{s:s, s:s}", "netns", netns, "state", path),
		    "tearing down a pod host left by a previous run");
		netns_teardown(netns, veth, 0);
		unlink(path);
	}
	closedir(d);
}
