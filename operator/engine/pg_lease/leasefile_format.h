/* The lease file: what baton-agent writes and the PostgreSQL module
 * (baton_lease.c) reads, on every commit, to decide whether this instance
 * may still write.
 *
 * Header-only on purpose: the writer (operator/engine/leasefile.c, built
 * into libbaton.a) and the reader (a shared object loaded by postgres,
 * built against the server headers) must agree byte for byte, and the
 * unit tests run the very same reader against the writer.
 *
 * Layout: one fixed 64-byte record at offset 0, native byte order (writer
 * and reader share a host). The writer maps the file MAP_SHARED and
 * updates it in place; every backend maps it read-only. There is no
 * rename and no resize after creation: a backend keeps its mapping for
 * its whole life, so replacing the file would leave it reading a dead
 * copy (it then fails closed and looks the path up again).
 *
 * Seqlock (Boehm, "Can seqlocks get along with programming language
 * memory models?", 2012): the single writer makes `seq` odd, publishes
 * the fields, makes `seq` even again. A reader accepts a copy only when it
 * saw the same even `seq` before and after reading the fields. All
 * accesses are __atomic operations on naturally aligned 64-bit words, so
 * there is no data race in the C11 sense and no torn word; the seqlock
 * makes the *record* consistent (an epoch never paired with another
 * epoch's deadline). A writer stopped between the two increments (a
 * SIGSTOPped agent) leaves `seq` odd forever: readers give up after a
 * bounded wait and refuse, which is the fail-closed answer.
 *
 * Clock: deadline_ns is CLOCK_BOOTTIME, which, unlike CLOCK_MONOTONIC,
 * keeps counting while the machine or VM is suspended: a lease cannot
 * outlive its real length by a suspend. CLOCK_BOOTTIME restarts near 0 at
 * every boot, so a deadline left in the file by the previous boot could
 * look valid after a fast reboot; boot_id (the kernel's random
 * /proc/sys/kernel/random/boot_id, new at every boot, the same in every
 * container of the host) ties the deadline to the boot that wrote it, and
 * a reader refuses any other boot's record.
 */
#ifndef BATON_LEASEFILE_FORMAT_H
#define BATON_LEASEFILE_FORMAT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define BATON_LEASEFILE_MAGIC "BATONLSE" /* 8 bytes, no NUL in the file */
#define BATON_LEASEFILE_VERSION 1u
#define BATON_LEASEFILE_BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

struct baton_leasefile_data {
	uint64_t magic;	  /* the 8 bytes of BATON_LEASEFILE_MAGIC */
	uint32_t version; /* BATON_LEASEFILE_VERSION */
	uint32_t reserved0;
	uint64_t seq;	      /* seqlock: odd while the writer is mid-update */
	uint64_t epoch;	      /* the lease's epoch (messages only) */
	uint64_t deadline_ns; /* CLOCK_BOOTTIME; valid while now < deadline;
				 0: fenced */
	uint64_t boot_id[2];  /* the boot that wrote deadline_ns */
	uint64_t reserved1;
};

_Static_assert(sizeof(struct baton_leasefile_data) == 64,
	       "the lease file layout is fixed");

#define BATON_LEASEFILE_SIZE sizeof(struct baton_leasefile_data)

/* A consistent copy of the record. */
struct baton_lease_snapshot {
	uint64_t magic;
	uint32_t version;
	uint64_t epoch;
	uint64_t deadline_ns;
	uint64_t boot_id[2];
};

/* Why a lease is not valid; BATON_LEASE_VALID (0) when it is. */
enum baton_lease_verdict {
	BATON_LEASE_VALID = 0,
	BATON_LEASE_FENCED,	 /* deadline 0: the agent said no lease */
	BATON_LEASE_EXPIRED,	 /* the deadline has passed */
	BATON_LEASE_BAD_MAGIC,	 /* not a lease file */
	BATON_LEASE_BAD_VERSION, /* another layout */
	BATON_LEASE_OTHER_BOOT,	 /* written before the last reboot */
	BATON_LEASE_TORN,	 /* the writer stayed mid-update */
	BATON_LEASE_NO_BOOT_ID,	 /* the reader could not read its boot id */
	BATON_LEASE_MISSING,	 /* no file, or it cannot be opened */
	BATON_LEASE_SHORT,	 /* shorter than the record */
	BATON_LEASE_UNSET,	 /* no lease file configured */
};

static inline const char *baton_lease_verdict_text(enum baton_lease_verdict v)
{
	switch (v) {
	case BATON_LEASE_VALID:
		return "valid";
	case BATON_LEASE_FENCED:
		return "fenced by the agent (no lease held)";
	case BATON_LEASE_EXPIRED:
		return "the lease expired";
	case BATON_LEASE_BAD_MAGIC:
		return "the lease file is corrupt (bad magic)";
	case BATON_LEASE_BAD_VERSION:
		return "the lease file has an unknown version";
	case BATON_LEASE_OTHER_BOOT:
		return "the lease file was written before the last reboot";
	case BATON_LEASE_TORN:
		return "the lease file writer stopped in the middle of an "
		       "update";
	case BATON_LEASE_NO_BOOT_ID:
		return "cannot read this host's boot id";
	case BATON_LEASE_MISSING:
		return "the lease file is missing or unreadable";
	case BATON_LEASE_SHORT:
		return "the lease file is too short";
	case BATON_LEASE_UNSET:
		return "baton.lease_file is not set";
	}
	return "unknown";
}

static inline uint64_t baton_leasefile_magic(void)
{
	uint64_t m;
	memcpy(&m, BATON_LEASEFILE_MAGIC, sizeof m);
	return m;
}

/* S = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex, either case, an
 * optional trailing newline) -> 16 bytes. 0, or -1 for anything else. */
static inline int baton_leasefile_parse_boot_id(const char *s, uint64_t out[2])
{
	unsigned char b[16];
	int n = 0;

	for (int i = 0; i < 36; i++) {
		char c = s[i];
		int v;
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-') {
				return -1;
			}
			continue;
		}
		if (c >= '0' && c <= '9') {
			v = c - '0';
		} else if (c >= 'a' && c <= 'f') {
			v = c - 'a' + 10;
		} else if (c >= 'A' && c <= 'F') {
			v = c - 'A' + 10;
		} else {
			return -1; /* also the NUL of a short string */
		}
		if (n % 2 == 0) {
			b[n / 2] = (unsigned char)(v << 4);
		} else {
			b[n / 2] |= (unsigned char)v;
		}
		n++;
	}
	if (s[36] != '\0' && !(s[36] == '\n' && s[37] == '\0')) {
		return -1;
	}
	memcpy(out, b, sizeof b);
	return 0;
}

/* One attempt of up to SPINS rounds to copy the record consistently: 0, or
 * -1 when the writer was mid-update every time (the caller may wait and
 * retry, then must refuse). D may be a read-only mapping. */
static inline int baton_leasefile_read(const struct baton_leasefile_data *d,
				       struct baton_lease_snapshot *out,
				       unsigned spins)
{
	for (unsigned i = 0; i < spins; i++) {
		uint64_t s1 = __atomic_load_n(&d->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
			continue;
		}
		out->magic = __atomic_load_n(&d->magic, __ATOMIC_RELAXED);
		out->version = __atomic_load_n(&d->version, __ATOMIC_RELAXED);
		out->epoch = __atomic_load_n(&d->epoch, __ATOMIC_RELAXED);
		out->deadline_ns =
		    __atomic_load_n(&d->deadline_ns, __ATOMIC_RELAXED);
		out->boot_id[0] =
		    __atomic_load_n(&d->boot_id[0], __ATOMIC_RELAXED);
		out->boot_id[1] =
		    __atomic_load_n(&d->boot_id[1], __ATOMIC_RELAXED);
		/* the field loads above may not move below the re-check */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&d->seq, __ATOMIC_RELAXED) == s1) {
			return 0;
		}
	}
	return -1;
}

/* The writer's side of the seqlock; only one writer per file. */
static inline void baton_leasefile_write(struct baton_leasefile_data *d,
					 uint64_t epoch, uint64_t deadline_ns,
					 const uint64_t boot_id[2])
{
	uint64_t s = __atomic_load_n(&d->seq, __ATOMIC_RELAXED);

	/* a record left odd by a writer killed mid-update: start even */
	s &= ~(uint64_t)1;
	__atomic_store_n(&d->seq, s + 1, __ATOMIC_RELAXED);
	/* the odd seq is visible before any field changes */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&d->magic, baton_leasefile_magic(), __ATOMIC_RELAXED);
	__atomic_store_n(&d->version, BATON_LEASEFILE_VERSION,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&d->epoch, epoch, __ATOMIC_RELAXED);
	__atomic_store_n(&d->deadline_ns, deadline_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&d->boot_id[0], boot_id[0], __ATOMIC_RELAXED);
	__atomic_store_n(&d->boot_id[1], boot_id[1], __ATOMIC_RELAXED);
	/* the fields are visible before the even seq */
	__atomic_store_n(&d->seq, s + 2, __ATOMIC_RELEASE);
}

/* The whole rule, pure: may an instance whose host has boot id BOOT_ID
 * commit a write at NOW_NS (CLOCK_BOOTTIME) under record S? */
static inline enum baton_lease_verdict
baton_leasefile_judge(const struct baton_lease_snapshot *s,
		      const uint64_t boot_id[2], uint64_t now_ns)
{
	if (s->magic != baton_leasefile_magic()) {
		return BATON_LEASE_BAD_MAGIC;
	}
	if (s->version != BATON_LEASEFILE_VERSION) {
		return BATON_LEASE_BAD_VERSION;
	}
	if (boot_id == NULL || (boot_id[0] == 0 && boot_id[1] == 0)) {
		return BATON_LEASE_NO_BOOT_ID;
	}
	if (s->boot_id[0] != boot_id[0] || s->boot_id[1] != boot_id[1]) {
		return BATON_LEASE_OTHER_BOOT;
	}
	if (s->deadline_ns == 0) {
		return BATON_LEASE_FENCED;
	}
	if (now_ns >= s->deadline_ns) {
		return BATON_LEASE_EXPIRED;
	}
	return BATON_LEASE_VALID;
}

#endif /* BATON_LEASEFILE_FORMAT_H */
