#include "batond/membership.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

raft_id baton_member_id(const char *region)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a, 64 bits */
	for (const unsigned char *p = (const unsigned char *)region; *p; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	h &= 0x3fffffffffffffffull; /* fits a json integer, and sqlite's */
	return h == 0 ? 1 : (raft_id)h;
}

/* Whether raft_uv has written anything into DIR: its metadata files are
 * written by bootstrap and by the first term or vote, before any entry. */
static bool raft_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	if (d == NULL) {
		return false;
	}
	while ((e = readdir(d)) != NULL && !found) {
		const char *n = e->d_name;
		if (strcmp(n, "metadata1") == 0 ||
		    strcmp(n, "metadata2") == 0 ||
		    strncmp(n, "snapshot-", 9) == 0 ||
		    strncmp(n, "open-", 5) == 0) {
			struct stat st;
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", dir, n);
			found = stat(path, &st) == 0 && st.st_size > 0;
		}
	}
	closedir(d);
	return found;
}

int baton_member_datadir(const char *dir, const char *region, raft_id id,
			 bool *has_data, char *errmsg)
{
	char path[4096];
	json_error_t jerr;
	json_t *mark;
	const char *r;
	json_int_t mid;

	*has_data = raft_files(dir);
	snprintf(path, sizeof path, "%s/%s", dir, BATON_MEMBER_MARK);
	if (access(path, F_OK) != 0) {
		if (!*has_data) {
			return 0;
		}
		baton_errmsg_printf(
		    errmsg,
		    "raft.dataDir %s holds Raft data but no %s: it was written "
		    "by a batond that numbered members by position (before "
		    "v0.1.0's stable ids). Stop batond in every region, empty "
		    "raft.dataDir everywhere and start them again (a new "
		    "fleet), or restore this region's own directory",
		    dir, BATON_MEMBER_MARK);
		return BATON_ECONFIG;
	}
	mark = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	r = json_string_value(json_object_get(mark, "region"));
	mid = json_integer_value(json_object_get(mark, "id"));
	if (mark == NULL || r == NULL || mid <= 0) {
		baton_errmsg_printf(
		    errmsg,
		    "%s: not a member mark (%s): remove it only "
		    "if this directory is %s's own",
		    path, mark == NULL ? jerr.text : "fields", region);
		json_decref(mark);
		return BATON_ECONFIG;
	}
	if (strcmp(r, region) != 0 || (raft_id)mid != id) {
		baton_errmsg_printf(errmsg,
				    "raft.dataDir %s belongs to region %s (id "
				    "%lld), not to %s (id %llu): a volume "
				    "mounted in the wrong region?",
				    dir, r, (long long)mid, region,
				    (unsigned long long)id);
		json_decref(mark);
		return BATON_ECONFIG;
	}
	json_decref(mark);
	return 0;
}

int baton_member_mark(const char *dir, const char *region, raft_id id,
		      char *errmsg)
{
	char path[4096], tmp[4200];
	json_t *mark = json_pack("{s:s, s:I, s:i}", "region", region, "id",
				 (json_int_t)id, "format", 1);
	int fd, rv = 0;

	snprintf(path, sizeof path, "%s/%s", dir, BATON_MEMBER_MARK);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (mark == NULL) {
		return BATON_ENOMEM;
	}
	if (json_dump_file(mark, tmp, JSON_COMPACT) != 0 ||
	    (fd = open(tmp, O_RDONLY)) < 0) {
		baton_errmsg_printf(errmsg, "cannot write %s: %s", tmp,
				    strerror(errno));
		json_decref(mark);
		return BATON_EIO;
	}
	if (fsync(fd) != 0 || rename(tmp, path) != 0) {
		baton_errmsg_printf(errmsg, "cannot write %s: %s", path,
				    strerror(errno));
		rv = BATON_EIO;
	}
	close(fd);
	json_decref(mark);
	if (rv == 0 && (fd = open(dir, O_RDONLY)) >= 0) {
		(void)fsync(fd); /* the rename itself */
		close(fd);
	}
	return rv;
}

enum baton_join baton_member_join_decide(const struct baton_peer_view *v, int n,
					 bool added, int *ask_peer, char *why,
					 size_t why_size)
{
	int leader = -1, with_data = 0, unanswered = 0;
	char missing[256] = "";

	*ask_peer = -1;
	for (int i = 0; i < n; i++) {
		if (!v[i].answered) {
			size_t used = strlen(missing);
			unanswered++;
			snprintf(missing + used, sizeof missing - used, "%s%s",
				 used ? ", " : "", v[i].name);
			continue;
		}
		/* more than the bootstrap entry: the fleet has a history
		 * (a leader's first entry is enough: it may be committed) */
		if (!v[i].joining && v[i].last_index > 1) {
			with_data++;
		}
		if (v[i].leader) {
			leader = i;
		}
	}
	if (with_data > 0) {
		if (leader < 0) {
			snprintf(why, why_size,
				 "the fleet has Raft data and this region's is "
				 "gone; waiting for a leader to answer, to "
				 "rejoin as a new member");
			return BATON_JOIN_WAIT;
		}
		if (added && (v[leader].my_role == RAFT_STANDBY ||
			      v[leader].my_role == RAFT_SPARE)) {
			snprintf(
			    why, why_size,
			    "the leader %s added this region back as a new "
			    "member (a %s): starting Raft empty; it "
			    "promotes us once we caught up",
			    v[leader].name,
			    baton_member_role_name(v[leader].my_role));
			return BATON_JOIN_START;
		}
		if (added) {
			snprintf(why, why_size,
				 "the leader %s added this region back; "
				 "waiting for the change to commit",
				 v[leader].name);
			return BATON_JOIN_WAIT;
		}
		*ask_peer = leader;
		snprintf(why, why_size,
			 "this region's Raft data is gone but the fleet has "
			 "some (we are %s): asking the leader %s to remove us "
			 "and add us back as a new member (an empty voter "
			 "could elect a leader that lacks committed entries)",
			 v[leader].my_role < 0		   ? "not a member"
			 : v[leader].my_role == RAFT_VOTER ? "a voter"
							   : "a non-voter",
			 v[leader].name);
		return BATON_JOIN_ASK;
	}
	if (unanswered > 0) {
		snprintf(why, why_size,
			 "empty Raft data: waiting for every peer to answer "
			 "before creating a new fleet (no answer from %s)",
			 missing);
		return BATON_JOIN_WAIT;
	}
	snprintf(why, why_size,
		 "every peer answered and none has Raft data beyond the "
		 "bootstrap entry: a new fleet");
	return BATON_JOIN_BOOTSTRAP;
}

int baton_member_role(const struct raft_configuration *conf, raft_id id)
{
	for (unsigned i = 0; i < conf->n; i++) {
		if (conf->servers[i].id == id) {
			return conf->servers[i].role;
		}
	}
	return -1;
}

const char *baton_member_role_name(int role)
{
	switch (role) {
	case RAFT_VOTER:
		return "voter";
	case RAFT_STANDBY:
		return "standby";
	case RAFT_SPARE:
		return "spare";
	default:
		return "absent";
	}
}

static bool change_in_flight(const struct raft *r)
{
	return r->configuration_uncommitted_index != 0;
}

int baton_member_rejoin(struct raft *r, struct raft_change *chg, raft_id id,
			const char *address, raft_change_cb cb, bool *added,
			char *msg, size_t size)
{
	int role = baton_member_role(&r->configuration, id);
	int rv;

	*added = false;
	if (change_in_flight(r)) {
		snprintf(msg, size, "a configuration change is in flight");
		return BATON_EBUSY;
	}
	if (role >= 0) {
		/* out first, whatever its role: the leader's progress record
		 * of it (match index) describes the log it lost */
		rv = raft_remove(r, chg, id, cb);
	} else {
		rv = raft_add(r, chg, id, address, cb);
		*added = true;
	}
	if (rv != 0) {
		snprintf(msg, size, "%s",
			 raft_errmsg(r)[0] ? raft_errmsg(r)
					   : raft_strerror(rv));
		return rv == RAFT_CANTCHANGE ? BATON_EBUSY : BATON_EINTERNAL;
	}
	snprintf(msg, size, "%s",
		 role >= 0 ? "removed (it asks again to be added)"
			   : "added as a spare");
	return 0;
}

int baton_member_leader_step(struct raft *r, struct raft_change *chg,
			     const raft_id *ids, const char *const *addrs,
			     int n, raft_change_cb cb, char *msg, size_t size)
{
	if (change_in_flight(r)) {
		return BATON_ENOTFOUND;
	}
	for (int i = 0; i < n; i++) {
		int role = baton_member_role(&r->configuration, ids[i]);
		raft_index match = 0;
		int rv;

		(void)addrs;
		if (role == RAFT_VOTER || role < 0) {
			continue; /* absent members are added when they ask */
		}
		if (role == RAFT_SPARE) {
			rv = raft_assign(r, chg, ids[i], RAFT_STANDBY, cb);
			snprintf(msg, size, "spare -> standby (catching up)");
		} else if (raft_match_index(r, ids[i], &match) == 0 &&
			   match == raft_last_index(r)) {
			rv = raft_assign(r, chg, ids[i], RAFT_VOTER, cb);
			snprintf(msg, size,
				 "standby -> voter (caught up at index %llu)",
				 (unsigned long long)match);
		} else {
			continue; /* still catching up */
		}
		if (rv != 0) {
			snprintf(msg, size, "%s",
				 raft_errmsg(r)[0] ? raft_errmsg(r)
						   : raft_strerror(rv));
			return rv == RAFT_CANTCHANGE ? BATON_EBUSY
						     : BATON_EINTERNAL;
		}
		return 0;
	}
	return BATON_ENOTFOUND;
}
