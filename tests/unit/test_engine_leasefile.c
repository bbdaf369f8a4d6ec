/* Unit tests for the lease file: the writer (operator/engine/leasefile.c)
 * against the reader the PostgreSQL module runs
 * (operator/engine/pg_lease/leasefile_format.h), without PostgreSQL.
 *
 * What is proved here:
 *  - the verdict rules, one by one: fenced, expired (the deadline itself
 *    included), bad magic, bad version, another boot, no boot id;
 *  - the writer's file: created 0644 and 64 bytes, fenced at open and at
 *    close, resized once from any size, the same inode across a reopen
 *    (mapped readers keep seeing it), refusals with a message (relative
 *    path, missing directory, a symlink, a directory, another owner, a
 *    second writer);
 *  - the seqlock: a writer thread hammering set() while reader threads,
 *    through their own read-only mappings, never see an epoch paired with
 *    another epoch's deadline, nor the epoch going backwards; a writer
 *    stopped mid-update makes readers give up (and so refuse).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../operator/engine/leasefile.h"
#include "harness.h"

static const uint64_t BOOT[2] = {0x0123456789abcdefull, 0xfedcba9876543210ull};

static struct baton_lease_snapshot snap(uint64_t deadline)
{
	struct baton_lease_snapshot s = {
	    .magic = baton_leasefile_magic(),
	    .version = BATON_LEASEFILE_VERSION,
	    .epoch = 7,
	    .deadline_ns = deadline,
	    .boot_id = {BOOT[0], BOOT[1]},
	};
	return s;
}

START_TEST(verdict_rules)
{
	struct baton_lease_snapshot s = snap(1000);
	uint64_t zero[2] = {0, 0};
	uint64_t other[2] = {BOOT[0], BOOT[1] ^ 1};

	ck_assert_int_eq(baton_leasefile_judge(&s, BOOT, 999),
			 BATON_LEASE_VALID);
	/* valid while now < deadline: the deadline itself is too late */
	ck_assert_int_eq(baton_leasefile_judge(&s, BOOT, 1000),
			 BATON_LEASE_EXPIRED);
	ck_assert_int_eq(baton_leasefile_judge(&s, BOOT, UINT64_MAX),
			 BATON_LEASE_EXPIRED);
	s = snap(0);
	ck_assert_int_eq(baton_leasefile_judge(&s, BOOT, 0),
			 BATON_LEASE_FENCED);
	s = snap(UINT64_MAX);
	ck_assert_int_eq(baton_leasefile_judge(&s, BOOT, 5), BATON_LEASE_VALID);
	/* a record of the previous boot, whose boottime deadline looks
	 * fine on the new boot's young clock */
	ck_assert_int_eq(baton_leasefile_judge(&s, other, 5),
			 BATON_LEASE_OTHER_BOOT);
	ck_assert_int_eq(baton_leasefile_judge(&s, zero, 5),
			 BATON_LEASE_NO_BOOT_ID);
	ck_assert_int_eq(baton_leasefile_judge(&s, NULL, 5),
			 BATON_LEASE_NO_BOOT_ID);
	s.version = 2;
	ck_assert_int_eq(baton_leasefile_judge(&s, BOOT, 5),
			 BATON_LEASE_BAD_VERSION);
	s = snap(UINT64_MAX);
	s.magic ^= 0x100;
	ck_assert_int_eq(baton_leasefile_judge(&s, BOOT, 5),
			 BATON_LEASE_BAD_MAGIC);
	/* an all-zero record (a file just created, or zeroed) */
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(baton_leasefile_judge(&s, BOOT, 5),
			 BATON_LEASE_BAD_MAGIC);
	for (int v = BATON_LEASE_VALID; v <= BATON_LEASE_UNSET; v++) {
		ck_assert_str_ne(baton_lease_verdict_text(v), "unknown");
	}
}
END_TEST

START_TEST(boot_id_parsing)
{
	uint64_t id[2], real[2];
	unsigned char b[16];

	ck_assert_int_eq(baton_leasefile_parse_boot_id(
			     "0a1B2c3d-4e5f-6071-8293-a4b5c6d7e8f9\n", id),
			 0);
	memcpy(b, id, sizeof b);
	ck_assert_uint_eq(b[0], 0x0a);
	ck_assert_uint_eq(b[1], 0x1b);
	ck_assert_uint_eq(b[15], 0xf9);
	ck_assert_int_eq(baton_leasefile_parse_boot_id(
			     "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9", id),
			 0);
	const char *bad[] = {
	    "",
	    "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f",	/* short */
	    "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9a",	/* long */
	    "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9\n\n", /* two newlines */
	    "0a1b2c3d_4e5f-6071-8293-a4b5c6d7e8f9",	/* separator */
	    "0a1b2c3g-4e5f-6071-8293-a4b5c6d7e8f9",	/* not hex */
	    "0a1b2c3d4e5f60718293a4b5c6d7e8f9aaaa",	/* no dashes */
	    "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9 ",	/* blank */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(baton_leasefile_parse_boot_id(bad[i], id) != 0,
			      "accepted '%s'", bad[i]);
	}
	ck_assert_int_eq(baton_leasefile_boot_id(real), 0);
	ck_assert(real[0] != 0 || real[1] != 0);
}
END_TEST

START_TEST(boottime_is_monotonic_and_not_behind_monotonic)
{
	struct timespec m;
	uint64_t a = baton_boottime_ns(), b;

	clock_gettime(CLOCK_MONOTONIC, &m);
	b = baton_boottime_ns();
	ck_assert_uint_ge(b, a);
	/* boottime = monotonic + time suspended */
	ck_assert_uint_ge(b, (uint64_t)m.tv_sec * 1000000000u +
				 (uint64_t)m.tv_nsec);
}
END_TEST

static void tmpdir(char *out, size_t size)
{
	snprintf(out, size, "/tmp/baton-leasefile-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(out));
}

static void rmdir_all(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A reader's own read-only mapping, as a PostgreSQL backend makes it. */
static const struct baton_leasefile_data *map_ro(const char *path)
{
	int fd = open(path, O_RDONLY);
	void *m;

	ck_assert_int_ge(fd, 0);
	m = mmap(NULL, BATON_LEASEFILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	ck_assert_ptr_ne(m, MAP_FAILED);
	return m;
}

static enum baton_lease_verdict judge_now(const struct baton_leasefile_data *d,
					  struct baton_lease_snapshot *s)
{
	uint64_t boot[2];
	ck_assert_int_eq(baton_leasefile_read(d, s, 1000), 0);
	ck_assert_int_eq(baton_leasefile_boot_id(boot), 0);
	return baton_leasefile_judge(s, boot, baton_boottime_ns());
}

START_TEST(writer_file_lifecycle)
{
	char dir[64], path[128], errmsg[BATON_ERRMSG_SIZE];
	struct baton_leasefile lf;
	const struct baton_leasefile_data *r;
	struct baton_lease_snapshot s;
	struct stat st, st2;
	uint64_t now;

	tmpdir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/lease", dir);
	ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(st.st_size, 64);
	r = map_ro(path);
	/* fenced from the start */
	ck_assert_int_eq(judge_now(r, &s), BATON_LEASE_FENCED);
	ck_assert_uint_eq(s.epoch, 0);

	now = baton_boottime_ns();
	baton_leasefile_set(&lf, 5, now + 60000000000ull);
	ck_assert_int_eq(judge_now(r, &s), BATON_LEASE_VALID);
	ck_assert_uint_eq(s.epoch, 5);
	baton_leasefile_set(&lf, 5, now - 1);
	ck_assert_int_eq(judge_now(r, &s), BATON_LEASE_EXPIRED);
	baton_leasefile_set(&lf, 6, now + 60000000000ull);
	ck_assert_int_eq(judge_now(r, &s), BATON_LEASE_VALID);
	baton_leasefile_set(&lf, 6, 0);
	ck_assert_int_eq(judge_now(r, &s), BATON_LEASE_FENCED);
	ck_assert_uint_eq(s.epoch, 6);

	/* close fences, keeping the epoch; a second close is harmless */
	baton_leasefile_set(&lf, 8, now + 60000000000ull);
	ck_assert_int_eq(judge_now(r, &s), BATON_LEASE_VALID);
	baton_leasefile_close(&lf);
	ck_assert_int_eq(judge_now(r, &s), BATON_LEASE_FENCED);
	ck_assert_uint_eq(s.epoch, 8);
	baton_leasefile_close(&lf);
	baton_leasefile_set(&lf, 9, now + 60000000000ull); /* closed: no-op */
	ck_assert_int_eq(judge_now(r, &s), BATON_LEASE_FENCED);

	/* a restarted agent: same file, same inode, fenced again, and the
	 * reader's old mapping sees its updates */
	ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg), 0);
	baton_leasefile_set(&lf, 9, now + 60000000000ull);
	ck_assert_int_eq(stat(path, &st2), 0);
	ck_assert_uint_eq(st.st_ino, st2.st_ino);
	ck_assert_int_eq(judge_now(r, &s), BATON_LEASE_VALID);
	ck_assert_uint_eq(s.epoch, 9);
	baton_leasefile_close(&lf);

	/* a valid lease left by an agent that was killed (no close): the
	 * next open fences it before anything else */
	ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg), 0);
	baton_leasefile_set(&lf, 10, now + 60000000000ull);
	ck_assert_int_eq(judge_now(r, &s), BATON_LEASE_VALID);
	munmap(lf.map, BATON_LEASEFILE_SIZE);
	close(lf.fd); /* "killed": no fence written */
	ck_assert_int_eq(judge_now(r, &s), BATON_LEASE_VALID);
	ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg), 0);
	ck_assert_int_eq(judge_now(r, &s), BATON_LEASE_FENCED);
	baton_leasefile_close(&lf);

	munmap((void *)r, BATON_LEASEFILE_SIZE);
	rmdir_all(dir);
}
END_TEST

/* Any size the file may have been left at is made the record's size, and
 * the mode is put back. */
START_TEST(writer_resizes_once)
{
	char dir[64], path[128], errmsg[BATON_ERRMSG_SIZE];
	struct baton_leasefile lf;
	struct baton_lease_snapshot s;
	const off_t sizes[] = {0, 1, 8, 63, 65, 4096, 1 << 20};
	struct stat st;

	tmpdir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/lease", dir);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0666);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(ftruncate(fd, sizes[i]), 0);
		/* garbage where the record goes */
		if (sizes[i] >= 8) {
			ck_assert_int_eq(pwrite(fd, "XXXXXXXX", 8, 0), 8);
		}
		ck_assert_int_eq(fchmod(fd, 0666), 0);
		close(fd);
		ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg), 0);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_size, 64);
		ck_assert_uint_eq(st.st_mode & 07777, 0644);
		const struct baton_leasefile_data *r = map_ro(path);
		ck_assert_int_eq(judge_now(r, &s), BATON_LEASE_FENCED);
		munmap((void *)r, BATON_LEASEFILE_SIZE);
		baton_leasefile_close(&lf);
	}
	rmdir_all(dir);
}
END_TEST

START_TEST(writer_refusals)
{
	char dir[64], path[128], other[128], errmsg[BATON_ERRMSG_SIZE];
	struct baton_leasefile lf, lf2;

	tmpdir(dir, sizeof dir);
	ck_assert_int_eq(baton_leasefile_open(&lf, "relative/lease", errmsg),
			 BATON_EINVAL);
	ck_assert_ptr_nonnull(strstr(errmsg, "absolute"));
	baton_leasefile_close(&lf); /* a failed open leaves it closed */
	ck_assert_int_eq(baton_leasefile_open(&lf, NULL, errmsg), BATON_EINVAL);

	snprintf(path, sizeof path, "%s/missing/lease", dir);
	ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg), BATON_EIO);
	ck_assert_ptr_nonnull(strstr(errmsg, path));

	/* a directory */
	snprintf(path, sizeof path, "%s/adir", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_ne(baton_leasefile_open(&lf, path, errmsg), 0);
	ck_assert_ptr_nonnull(strstr(errmsg, path));

	/* a symlink planted at the path: never followed */
	snprintf(other, sizeof other, "%s/target", dir);
	snprintf(path, sizeof path, "%s/link", dir);
	ck_assert_int_eq(symlink(other, path), 0);
	ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg),
			 BATON_ECONFIG);
	ck_assert_int_eq(access(other, F_OK), -1); /* nothing created */

	/* a second writer on the same file */
	snprintf(path, sizeof path, "%s/lease", dir);
	ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg), 0);
	ck_assert_int_eq(baton_leasefile_open(&lf2, path, errmsg), BATON_EBUSY);
	ck_assert_ptr_nonnull(strstr(errmsg, "another"));
	baton_leasefile_close(&lf2);
	baton_leasefile_close(&lf);
	/* the lock goes with the handle */
	ck_assert_int_eq(baton_leasefile_open(&lf2, path, errmsg), 0);
	baton_leasefile_close(&lf2);

	/* owned by someone else, who could write leases into it */
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("nobody");
		ck_assert_ptr_nonnull(pw);
		ck_assert_int_eq(chown(path, pw->pw_uid, pw->pw_gid), 0);
		ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg),
				 BATON_ECONFIG);
		ck_assert_ptr_nonnull(strstr(errmsg, "owned by uid"));
	}
	rmdir_all(dir);
}
END_TEST

/* ---- the seqlock ----------------------------------------------------------
 *
 * Every record the writer publishes satisfies deadline == epoch * K + C,
 * and epochs only grow. A reader that ever accepts a record breaking that
 * relation, or an epoch below one it accepted before, saw a torn record.
 * Readers use their own PROT_READ mapping of the file, like the backends.
 */
#define TORTURE_K 1000003ull
#define TORTURE_C 17ull
#define TORTURE_WRITES 1000000ull
#define TORTURE_DISTINCT 10000ull
#define TORTURE_MAX_S 30ull
#define TORTURE_READERS 2

struct torture {
	struct baton_leasefile *lf;
	const char *path;
	int done;
	uint64_t writes;
	uint64_t accepted[TORTURE_READERS];
	uint64_t gave_up[TORTURE_READERS];
	uint64_t distinct[TORTURE_READERS];
	char failure[TORTURE_READERS][160];
};

struct reader_arg {
	struct torture *t;
	int id;
};

/* Writes until every reader has seen enough distinct records (at least
 * TORTURE_WRITES of them, at most for TORTURE_MAX_S seconds). */
static void *writer_main(void *arg)
{
	struct torture *t = arg;
	uint64_t end = baton_boottime_ns() + TORTURE_MAX_S * 1000000000ull;
	uint64_t e = 1;

	for (;; e++) {
		baton_leasefile_set(t->lf, e, e * TORTURE_K + TORTURE_C);
		if (e % 1024 != 0 || e < TORTURE_WRITES) {
			continue;
		}
		bool enough = true;
		for (int i = 0; i < TORTURE_READERS; i++) {
			enough = enough && __atomic_load_n(&t->distinct[i],
							   __ATOMIC_RELAXED) >=
					       TORTURE_DISTINCT;
		}
		if (enough || baton_boottime_ns() > end) {
			break;
		}
	}
	t->writes = e;
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *reader_main(void *arg)
{
	struct reader_arg *ra = arg;
	struct torture *t = ra->t;
	const struct baton_leasefile_data *d;
	uint64_t last = 0;
	int fd = open(t->path, O_RDONLY);
	void *m;

	if (fd < 0) {
		snprintf(t->failure[ra->id], 160, "open: %s", strerror(errno));
		return NULL;
	}
	m = mmap(NULL, BATON_LEASEFILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		snprintf(t->failure[ra->id], 160, "mmap: %s", strerror(errno));
		return NULL;
	}
	d = m;
	while (!__atomic_load_n(&t->done, __ATOMIC_ACQUIRE)) {
		struct baton_lease_snapshot s;
		/* few spins: give up often, so both paths run */
		if (baton_leasefile_read(d, &s, 4) != 0) {
			t->gave_up[ra->id]++;
			continue;
		}
		t->accepted[ra->id]++;
		if (s.epoch == 0) {
			continue; /* the record open() wrote */
		}
		if (s.deadline_ns != s.epoch * TORTURE_K + TORTURE_C ||
		    s.magic != baton_leasefile_magic() ||
		    s.version != BATON_LEASEFILE_VERSION ||
		    s.boot_id[0] != t->lf->boot_id[0] ||
		    s.boot_id[1] != t->lf->boot_id[1]) {
			snprintf(t->failure[ra->id], 160,
				 "torn record: epoch %llu deadline %llu",
				 (unsigned long long)s.epoch,
				 (unsigned long long)s.deadline_ns);
			break;
		}
		if (s.epoch < last) {
			snprintf(t->failure[ra->id], 160,
				 "epoch went back: %llu after %llu",
				 (unsigned long long)s.epoch,
				 (unsigned long long)last);
			break;
		}
		if (s.epoch != last) {
			__atomic_fetch_add(&t->distinct[ra->id], 1,
					   __ATOMIC_RELAXED);
		}
		last = s.epoch;
	}
	munmap(m, BATON_LEASEFILE_SIZE);
	return NULL;
}

START_TEST(seqlock_never_tears)
{
	char dir[64], path[128], errmsg[BATON_ERRMSG_SIZE];
	struct baton_leasefile lf;
	struct torture t = {0};
	struct reader_arg ra[TORTURE_READERS];
	pthread_t w, r[TORTURE_READERS];

	tmpdir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/lease", dir);
	ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg), 0);
	t.lf = &lf;
	t.path = path;
	for (int i = 0; i < TORTURE_READERS; i++) {
		ra[i] = (struct reader_arg){&t, i};
		ck_assert_int_eq(
		    pthread_create(&r[i], NULL, reader_main, &ra[i]), 0);
	}
	ck_assert_int_eq(pthread_create(&w, NULL, writer_main, &t), 0);
	pthread_join(w, NULL);
	for (int i = 0; i < TORTURE_READERS; i++) {
		pthread_join(r[i], NULL);
		ck_assert_msg(t.failure[i][0] == '\0', "reader %d: %s", i,
			      t.failure[i]);
		/* the readers really raced the writer (the writer aims at
		 * TORTURE_DISTINCT each, but a loaded machine may starve a
		 * reader until TORTURE_MAX_S) */
		ck_assert_uint_ge(t.distinct[i], 1000);
	}
	fprintf(stderr,
		"seqlock: %llu writes; reader 0 accepted %llu (%llu distinct "
		"epochs), gave up %llu times\n",
		(unsigned long long)t.writes, (unsigned long long)t.accepted[0],
		(unsigned long long)t.distinct[0],
		(unsigned long long)t.gave_up[0]);
	baton_leasefile_close(&lf);
	rmdir_all(dir);
}
END_TEST

/* A writer stopped between its two increments (a SIGSTOPped agent) leaves
 * the sequence odd: readers give up, which the module turns into a
 * refusal; the next update by a new writer repairs it. */
START_TEST(stopped_writer_makes_readers_give_up)
{
	char dir[64], path[128], errmsg[BATON_ERRMSG_SIZE];
	struct baton_leasefile lf;
	struct baton_lease_snapshot s;
	const struct baton_leasefile_data *r;

	tmpdir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/lease", dir);
	ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg), 0);
	baton_leasefile_set(&lf, 3, baton_boottime_ns() + 60000000000ull);
	r = map_ro(path);
	ck_assert_int_eq(judge_now(r, &s), BATON_LEASE_VALID);
	__atomic_fetch_add(&lf.map->seq, 1, __ATOMIC_SEQ_CST); /* "stopped" */
	ck_assert_int_eq(baton_leasefile_read(r, &s, 100000), -1);
	baton_leasefile_close(&lf);
	/* a new writer starts from the odd value and ends even */
	ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg), 0);
	ck_assert_uint_eq(__atomic_load_n(&r->seq, __ATOMIC_SEQ_CST) % 2, 0);
	ck_assert_int_eq(judge_now(r, &s), BATON_LEASE_FENCED);
	baton_leasefile_close(&lf);
	munmap((void *)r, BATON_LEASEFILE_SIZE);
	rmdir_all(dir);
}
END_TEST

/* What the module pays per writing commit: one record read and one
 * CLOCK_BOOTTIME read (printed; nothing asserted about time beyond a
 * generous bound that catches a syscall per check). */
START_TEST(check_cost)
{
	char dir[64], path[128], errmsg[BATON_ERRMSG_SIZE];
	struct baton_leasefile lf;
	const struct baton_leasefile_data *r;
	struct baton_lease_snapshot s;
	uint64_t boot[2], t0, t1, valid = 0;
	const int n = 1000000;

	tmpdir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/lease", dir);
	ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg), 0);
	ck_assert_int_eq(baton_leasefile_boot_id(boot), 0);
	baton_leasefile_set(&lf, 1, baton_boottime_ns() + 600000000000ull);
	r = map_ro(path);
	t0 = baton_boottime_ns();
	for (int i = 0; i < n; i++) {
		if (baton_leasefile_read(r, &s, 1000) == 0 &&
		    baton_leasefile_judge(&s, boot, baton_boottime_ns()) ==
			BATON_LEASE_VALID) {
			valid++;
		}
	}
	t1 = baton_boottime_ns();
	ck_assert_uint_eq(valid, (uint64_t)n);
	fprintf(stderr, "lease check: %.1f ns per check (read + clock)\n",
		(double)(t1 - t0) / n);
	ck_assert_uint_lt((t1 - t0) / n, 20000);
	munmap((void *)r, BATON_LEASEFILE_SIZE);
	baton_leasefile_close(&lf);
	rmdir_all(dir);
}
END_TEST

static Suite *leasefile_suite(void)
{
	Suite *s = suite_create("leasefile");
	TCase *tc = tcase_create("format");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, verdict_rules);
	tcase_add_test(tc, boot_id_parsing);
	tcase_add_test(tc, boottime_is_monotonic_and_not_behind_monotonic);
	suite_add_tcase(s, tc);
	tc = tcase_create("writer");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, writer_file_lifecycle);
	tcase_add_test(tc, writer_resizes_once);
	tcase_add_test(tc, writer_refusals);
	suite_add_tcase(s, tc);
	tc = tcase_create("seqlock");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, seqlock_never_tears);
	tcase_add_test(tc, stopped_writer_makes_readers_give_up);
	tcase_add_test(tc, check_cost);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(leasefile_suite)
