/* labkubelet/podexec.c: pod-exec: runs inside `ip netns exec`, in a
 * private mount namespace, before the container's command: bind-mounts the
 * pod's volumes, changes directory, execs the command (so the pid we
 * recorded is the container's own process). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "labkubelet.h"

int pod_exec_main(int argc, char **argv)
{
	const char *workdir = "/";
	int i = 2;

	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--mount") == 0 && i + 3 < argc) {
			const char *src = argv[i + 1], *dst = argv[i + 2];
			bool ro = strcmp(argv[i + 3], "ro") == 0;
			if (mkdir_p(dst, 0755) != 0) {
				fprintf(stderr, "pod-exec: mkdir %s: %s\n", dst,
					strerror(errno));
				return 126;
			}
			if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) !=
			    0) {
				fprintf(stderr, "pod-exec: bind %s on %s: %s\n",
					src, dst, strerror(errno));
				return 126;
			}
			if (ro && mount(NULL, dst, NULL,
					MS_REMOUNT | MS_BIND | MS_RDONLY,
					NULL) != 0) {
				fprintf(stderr, "pod-exec: read-only %s: %s\n",
					dst, strerror(errno));
				return 126;
			}
			i += 3;
		} else if (strcmp(argv[i], "--workdir") == 0 && i + 1 < argc) {
			workdir = argv[++i];
		} else {
			fprintf(stderr, "pod-exec: unexpected argument '%s'\n",
				argv[i]);
			return 126;
		}
	}
	if (i + 1 >= argc) {
		fprintf(stderr, "pod-exec: no command after --\n");
		return 126;
	}
	if (chdir(workdir) != 0) {
		fprintf(stderr, "pod-exec: chdir %s: %s\n", workdir,
			strerror(errno));
		return 126;
	}
	execv(argv[i + 1], argv + i + 1);
	fprintf(stderr, "pod-exec: exec %s: %s\n", argv[i + 1],
		strerror(errno));
	return 127;
}
