/* The lease file writer (leasefile.h); the format and the reader are in
 * pg_lease/leasefile_format.h.
 *
 * open() takes an exclusive flock for the life of the handle: the seqlock
 * has exactly one writer, and a second agent pointed at the same file by
 * mistake is refused instead of interleaving its updates. The lock dies
 * with the process, so a restarted agent gets it back.
 */
#include "engine/leasefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int baton_leasefile_boot_id(uint64_t out[2])
{
	char text[64];
	ssize_t n;
	int fd = open(BATON_LEASEFILE_BOOT_ID_PATH, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		return BATON_EIO;
	}
	n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0) {
		return BATON_EIO;
	}
	text[n] = '\0';
	if (baton_leasefile_parse_boot_id(text, out) != 0 ||
	    (out[0] == 0 && out[1] == 0)) {
		return BATON_EPARSE;
	}
	return 0;
}

int baton_leasefile_open(struct baton_leasefile *lf, const char *path,
			 char *errmsg)
{
	struct stat st;
	void *map;
	int rv;

	memset(lf, 0, sizeof *lf);
	lf->fd = -1;
	if (path == NULL || path[0] != '/') {
		baton_errmsg_printf(errmsg,
				    "lease file '%s' must be an absolute path",
				    path ? path : "");
		return BATON_EINVAL;
	}
	rv = baton_leasefile_boot_id(lf->boot_id);
	if (rv != 0) {
		baton_errmsg_printf(errmsg, "cannot read the boot id from %s",
				    BATON_LEASEFILE_BOOT_ID_PATH);
		return rv;
	}
	/* O_NOFOLLOW: a symlink planted at PATH would redirect the writes */
	lf->fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (lf->fd < 0) {
		baton_errmsg_printf(errmsg, "cannot open lease file %s: %s",
				    path, strerror(errno));
		return errno == ELOOP ? BATON_ECONFIG : BATON_EIO;
	}
	if (flock(lf->fd, LOCK_EX | LOCK_NB) != 0) {
		baton_errmsg_printf(errmsg,
				    "lease file %s is locked by another "
				    "writer (another baton-agent?)",
				    path);
		rv = errno == EWOULDBLOCK ? BATON_EBUSY : BATON_EIO;
		goto err_after_open;
	}
	if (fstat(lf->fd, &st) != 0) {
		baton_errmsg_printf(errmsg, "cannot stat lease file %s: %s",
				    path, strerror(errno));
		rv = BATON_EIO;
		goto err_after_open;
	}
	if (!S_ISREG(st.st_mode)) {
		baton_errmsg_printf(
		    errmsg, "lease file %s is not a regular file", path);
		rv = BATON_ECONFIG;
		goto err_after_open;
	}
	/* whoever else owns it could grant leases by writing it */
	if (st.st_uid != geteuid()) {
		baton_errmsg_printf(errmsg,
				    "lease file %s is owned by uid %u, not by "
				    "this agent (uid %u)",
				    path, (unsigned)st.st_uid,
				    (unsigned)geteuid());
		rv = BATON_ECONFIG;
		goto err_after_open;
	}
	if ((st.st_mode & 07777) != 0644 && fchmod(lf->fd, 0644) != 0) {
		baton_errmsg_printf(errmsg, "cannot chmod lease file %s: %s",
				    path, strerror(errno));
		rv = BATON_EIO;
		goto err_after_open;
	}
	/* Sized once, here. A reader only maps a file at least this long,
	 * and only reads the record's first page: shrinking an older, longer
	 * file cannot fault a mapped reader. */
	if (st.st_size != (off_t)BATON_LEASEFILE_SIZE &&
	    ftruncate(lf->fd, (off_t)BATON_LEASEFILE_SIZE) != 0) {
		baton_errmsg_printf(errmsg, "cannot size lease file %s: %s",
				    path, strerror(errno));
		rv = BATON_EIO;
		goto err_after_open;
	}
	map = mmap(NULL, BATON_LEASEFILE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_SHARED, lf->fd, 0);
	if (map == MAP_FAILED) {
		baton_errmsg_printf(errmsg, "cannot map lease file %s: %s",
				    path, strerror(errno));
		rv = BATON_EIO;
		goto err_after_open;
	}
	lf->map = map;
	/* whatever an earlier agent left: fenced until a lease is granted */
	baton_leasefile_write(lf->map, 0, 0, lf->boot_id);
	return 0;

err_after_open:
	close(lf->fd);
	lf->fd = -1;
	return rv;
}

void baton_leasefile_set(struct baton_leasefile *lf, uint64_t epoch,
			 uint64_t deadline_boottime_ns)
{
	if (lf->map == NULL) {
		return;
	}
	lf->epoch = epoch;
	baton_leasefile_write(lf->map, epoch, deadline_boottime_ns,
			      lf->boot_id);
}

void baton_leasefile_close(struct baton_leasefile *lf)
{
	if (lf->map != NULL) {
		/* an exiting agent never leaves a lease behind */
		baton_leasefile_write(lf->map, lf->epoch, 0, lf->boot_id);
		munmap(lf->map, BATON_LEASEFILE_SIZE);
		lf->map = NULL;
	}
	if (lf->fd >= 0) {
		close(lf->fd);
		lf->fd = -1;
	}
}
