/* The lease file writer: how baton-agent tells PostgreSQL itself until when
 * it may write.
 *
 * The agent holds the lease; the baton_lease module inside PostgreSQL
 * (operator/engine/pg_lease/) refuses every commit of a transaction that
 * wrote something once the deadline in this file has passed. The file is
 * the only channel between them, and it works without the agent being
 * scheduled: an agent that is paused (SIGSTOP, CPU starvation), hung or
 * killed simply stops moving the deadline forward, and the server fences
 * itself when it passes.
 *
 * Usage (one writer per file, the agent's loop thread):
 *   baton_leasefile_open(&lf, path, errmsg)  at agent start, before the
 *                                            instance starts: fenced
 *   baton_leasefile_set(&lf, epoch, deadline) on every lease grant/renewal
 *                                            (deadline from
 *                                            baton_boottime_ns())
 *   baton_leasefile_set(&lf, epoch, 0)       on drop, fence, expiry
 *   baton_leasefile_close(&lf)               at exit: fenced, then closed
 *
 * Layout, clock, boot id and the seqlock: pg_lease/leasefile_format.h.
 *
 * Why no fsync: nothing depends on the file surviving a crash. After an
 * agent restart the file is rewritten fenced by open(). After a host crash
 * or reboot the file may hold anything, including a deadline that looks
 * valid on the new boot's CLOCK_BOOTTIME (it restarts at 0); the record
 * carries the boot id of the boot that wrote it, and the module refuses a
 * record of another boot. Losing the last update can only make the lease
 * look *older* (fenced or expired), never newer.
 */
#ifndef BATON_LEASEFILE_H
#define BATON_LEASEFILE_H

#include <stdint.h>

#include "common/clock.h" /* baton_boottime_ns(), the deadlines' clock */
#include "common/error.h"
#include "engine/pg_lease/leasefile_format.h"

struct baton_leasefile {
	int fd; /* -1 when closed */
	struct baton_leasefile_data *map;
	uint64_t boot_id[2]; /* this boot's, written into every record */
	uint64_t epoch;	     /* the last one set */
};

/* Opens (creating it if needed) the lease file at PATH and writes a fenced
 * record (epoch 0, deadline 0) for this boot. PATH must be outside the data
 * directory (pg_basebackup and pg_rewind would copy it to other
 * instances). The file is a regular file owned by this process's user,
 * mode 0644: the PostgreSQL server (possibly another user) reads it, only
 * the agent writes it. An existing file of another size is resized once,
 * here. 0, or BATON_EIO / BATON_ECONFIG / BATON_EINVAL with ERRMSG
 * (BATON_ERRMSG_SIZE bytes) saying what to fix; on failure LF is closed
 * (baton_leasefile_close() on it is a no-op). */
int baton_leasefile_open(struct baton_leasefile *lf, const char *path,
			 char *errmsg);

/* Publishes EPOCH and DEADLINE_BOOTTIME_NS (CLOCK_BOOTTIME nanoseconds,
 * see baton_boottime_ns(); 0 = fenced). Never fails, never blocks, never
 * allocates: a few atomic stores into the shared mapping. No-op on a
 * closed LF. */
void baton_leasefile_set(struct baton_leasefile *lf, uint64_t epoch,
			 uint64_t deadline_boottime_ns);

/* Fences (deadline 0, last epoch kept), unmaps and closes. Idempotent. */
void baton_leasefile_close(struct baton_leasefile *lf);

/* This boot's id (/proc/sys/kernel/random/boot_id), as in the file. */
int baton_leasefile_boot_id(uint64_t out[2]);

#endif /* BATON_LEASEFILE_H */
