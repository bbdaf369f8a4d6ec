/* The write load and the split-brain prober: see load.h.
 *
 * Threads: the caller's thread is the writer; one thread per host probes.
 * Each thread owns its libpq connections and its output file (probers share
 * probes.jsonl and states.jsonl under one mutex), so nothing else is
 * shared but the stop flag. Every statement runs through libpq's
 * asynchronous API with a client-side deadline: no statement_timeout,
 * because cancelling a synchronous-replication wait on the server turns a
 * not-yet-replicated commit into a success with a WARNING, which would make
 * the client count a write the standby may not have. A write the deadline
 * cut off is recorded as an error (its outcome is unknown to the client),
 * and the connection is dropped. */
#include "batonctl/load.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/error.h"

#define MAX_ACKED (2u * 1024 * 1024)

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stop_flag) {
	}
}

void baton_ctl_load_defaults(struct baton_ctl_load_opts *o)
{
	memset(o, 0, sizeof *o);
	o->port = 5432;
	o->user = "app";
	o->password = "app";
	o->dbname = "postgres";
	o->interval_ms = 20;
	o->probe_interval_ms = 100;
	o->write_timeout_ms = 1000;
	o->setup_timeout_ms = 120000;
	o->readback_timeout_ms = 30000;
	o->agent_port = 8082; /* the probe port: status, no orders */
}

/* One JSON line, flushed, so a SIGKILLed run still leaves its records. */
static void emit(FILE *f, pthread_mutex_t *mu, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL) {
		return;
	}
	if (mu != NULL) {
		pthread_mutex_lock(mu);
	}
	fputs(s, f);
	fputc('\n', f);
	fflush(f);
	if (mu != NULL) {
		pthread_mutex_unlock(mu);
	}
	free(s);
}

static void conninfo(const struct baton_ctl_load_opts *o, const char *host,
		     bool rw, char *buf, size_t len)
{
	snprintf(buf, len,
		 "host=%s port=%d user=%s password=%s dbname=%s "
		 "connect_timeout=1 application_name=baton-load%s",
		 host, o->port, o->user, o->password, o->dbname,
		 rw ? " target_session_attrs=read-write" : "");
}

/* A statement we stopped waiting for is cancelled on the server too:
 * otherwise a commit waiting for a synchronous standby keeps its backend
 * after we hang up, and a long outage fills max_connections (which then
 * also locks out the agent). Its outcome stays unknown to us either way:
 * it is recorded as an error, never as acknowledged. */
static void *cancel_main(void *arg)
{
	char buf[256];
	(void)PQcancel(arg, buf, sizeof buf);
	PQfreeCancel(arg);
	return NULL;
}

/* PQcancel connects to the server and waits, with no timeout of its own:
 * towards a partitioned host that is minutes of TCP retries. So it runs
 * on a detached thread and the load goes on. */
static void cancel(PGconn *c)
{
	PGcancel *k = PQgetCancel(c);
	pthread_attr_t attr;
	pthread_t tid;

	if (k == NULL) {
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, cancel_main, k) != 0) {
		PQfreeCancel(k);
	}
	pthread_attr_destroy(&attr);
}

/* Notices (NOTICE: relation exists, WARNING: canceling the wait...) are
 * not errors of the load; keep them off the terminal. */
static void quiet_notice_cb(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* The message of a failed connection or result, on one line. */
static void one_line(char *dst, size_t len, const char *src)
{
	size_t j = 0;
	for (size_t i = 0; src != NULL && src[i] != '\0' && j + 1 < len; i++) {
		dst[j++] = (src[i] == '\n' || src[i] == '\t') ? ' ' : src[i];
	}
	while (j > 0 && dst[j - 1] == ' ') {
		j--;
	}
	dst[j] = '\0';
}

/* The writer's sessions, one per host, kept across reconnects: a session
 * that turned out read-only (a standby, a fenced primary) stays open and
 * is asked again every interval, so when an instance is promoted and
 * unfenced (a reload every session sees at its next statement) the writer
 * moves to it within one interval and one round trip, instead of paying a
 * new connection (50-150 ms each on the loaded 2-core lab, and a whole
 * attempt's deadline when an attempt to a host that was mid-promotion
 * hung). docs/lab.md, "The write load". */
enum pool_state { P_NONE, P_CONNECTING, P_CHECKING, P_IDLE };

struct pool_host {
	PGconn *c;
	enum pool_state state;
	PostgresPollingStatusType poll;
	int64_t since;	  /* when the connect or the check began */
	int64_t again_at; /* NONE: reconnect; IDLE: ask again */
};

struct pool {
	struct pool_host h[BATON_CTL_LOAD_MAX_HOSTS];
};

/* connecting or asking a host that does not answer: given up after this
 * (a partitioned host; libpq's connect_timeout is not applied to
 * PQconnectPoll) */
#define POOL_STUCK_MS 1000
/* read-only, in recovery, or the lease module's own view as the agent
 * sets it (default_transaction_read_only) */
#define POOL_CHECK_SQL                                                         \
	"SELECT pg_is_in_recovery() OR "                                       \
	"current_setting('transaction_read_only') = 'on'"

static void pool_drop(struct pool_host *h, int64_t retry_at)
{
	PQfinish(h->c);
	h->c = NULL;
	h->state = P_NONE;
	h->again_at = retry_at;
}

static void pool_close(struct pool *pl)
{
	for (int i = 0; i < BATON_CTL_LOAD_MAX_HOSTS; i++) {
		pool_drop(&pl->h[i], 0);
	}
}

static void pool_check(struct pool_host *h, int64_t now, int64_t again)
{
	if (PQsendQuery(h->c, POOL_CHECK_SQL)) {
		h->state = P_CHECKING;
		h->since = now;
	} else {
		pool_drop(h, now + again);
	}
}

/* H's check answered (the socket was readable): true if it may write;
 * leaves H idle (read-only), or dropped (an error), otherwise. ERR says
 * why a host refused. */
static bool pool_answer(struct pool_host *h, const char *host, int64_t now,
			int64_t again, char *err, size_t errlen)
{
	PGresult *r;
	bool writable = false, failed = false;

	if (!PQconsumeInput(h->c)) {
		char m[300];
		one_line(m, sizeof m, PQerrorMessage(h->c));
		snprintf(err, errlen, "%s: %s", host, m);
		pool_drop(h, now + again);
		return false;
	}
	if (PQisBusy(h->c)) {
		return false;
	}
	while ((r = PQgetResult(h->c)) != NULL) {
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
			writable = strcmp(PQgetvalue(r, 0, 0), "f") == 0;
		} else {
			char m[300];
			one_line(m, sizeof m, PQresultErrorMessage(r));
			snprintf(err, errlen, "%s: %s", host, m);
			failed = true;
		}
		PQclear(r);
	}
	if (failed || PQstatus(h->c) != CONNECTION_OK) {
		pool_drop(h, now + again);
		return false;
	}
	if (!writable) {
		snprintf(err, errlen, "%s: session is read-only", host);
	}
	h->state = P_IDLE;
	h->again_at = now + again;
	return writable;
}

/* The first session of POOL that accepts writes, connecting to every
 * host at once and asking the open ones again every interval_ms until
 * DEADLINE_MS; the winner leaves the pool (the caller finishes it). NULL
 * with ERR set if none did. */
static PGconn *connect_writable(const struct baton_ctl_load_opts *o,
				struct pool *pl, long deadline_ms, char *err,
				size_t errlen)
{
	PGconn *won = NULL;
	int64_t end = baton_realtime_ms() + deadline_ms;
	long again_ms = o->interval_ms > 0 ? o->interval_ms : 20;
	char ci[512];
	bool answered = false;

	snprintf(err, errlen, "no host accepts writes");
	while (won == NULL && baton_realtime_ms() < end && !stop_flag) {
		struct pollfd pfd[BATON_CTL_LOAD_MAX_HOSTS];
		int idx[BATON_CTL_LOAD_MAX_HOSTS];
		int n = 0;
		int64_t now = baton_realtime_ms(), wake = end;
		for (int i = 0; i < o->n_hosts; i++) {
			struct pool_host *h = &pl->h[i];
			if (h->state == P_NONE && now >= h->again_at) {
				conninfo(o, o->hosts[i], false, ci, sizeof ci);
				h->c = PQconnectStart(ci);
				if (h->c == NULL ||
				    PQstatus(h->c) == CONNECTION_BAD) {
					pool_drop(h, now + again_ms);
				} else {
					h->state = P_CONNECTING;
					h->poll = PGRES_POLLING_WRITING;
					h->since = now;
				}
			} else if (h->state == P_IDLE && now >= h->again_at) {
				pool_check(h, now, again_ms);
			}
			if ((h->state == P_CONNECTING ||
			     h->state == P_CHECKING) &&
			    now - h->since >= POOL_STUCK_MS) {
				snprintf(err, errlen,
					 "%s: no answer within %d ms",
					 o->hosts[i], POOL_STUCK_MS);
				pool_drop(h, now + again_ms);
			}
			if (h->state == P_NONE || h->state == P_IDLE) {
				if (h->again_at < wake) {
					wake = h->again_at;
				}
				continue;
			}
			pfd[n].fd = PQsocket(h->c);
			pfd[n].events = h->state == P_CONNECTING &&
						h->poll == PGRES_POLLING_WRITING
					    ? POLLOUT
					    : POLLIN;
			pfd[n].revents = 0;
			idx[n++] = i;
		}
		int64_t left = wake - now;
		if (left > 50) {
			left = 50;
		}
		if (poll(pfd, (nfds_t)n, (int)(left > 0 ? left : 0)) < 0 &&
		    errno != EINTR) {
			break;
		}
		for (int k = 0; k < n && won == NULL; k++) {
			int i = idx[k];
			struct pool_host *h = &pl->h[i];
			int64_t t = baton_realtime_ms();
			if (pfd[k].revents == 0) {
				continue;
			}
			if (h->state == P_CHECKING) {
				if (pool_answer(h, o->hosts[i], t, again_ms,
						err, errlen)) {
					won = h->c;
					h->c = NULL;
					h->state = P_NONE;
					h->again_at = t;
				} else if (h->state != P_CHECKING) {
					answered = true;
				}
				continue;
			}
			h->poll = PQconnectPoll(h->c);
			if (h->poll == PGRES_POLLING_OK) {
				PQsetNoticeProcessor(h->c, quiet_notice_cb,
						     NULL);
				pool_check(h, t, again_ms);
			} else if (h->poll == PGRES_POLLING_FAILED) {
				char m[300];
				one_line(m, sizeof m, PQerrorMessage(h->c));
				snprintf(err, errlen, "%s: %s", o->hosts[i], m);
				answered = true;
				pool_drop(h, t + again_ms);
			}
		}
	}
	if (won == NULL && !answered) {
		snprintf(err, errlen, "no host accepted writes within %ld ms",
			 deadline_ms);
	}
	return won;
}

PGresult *baton_ctl_load_exec(PGconn *c, const char *sql, int n,
			      const char *const *params, long timeout_ms,
			      char *err, size_t errlen, bool *broken)
{
	int64_t end = baton_realtime_ms() + timeout_ms;
	PGresult *res = NULL, *r;

	*broken = false;
	/* without parameters: the simple protocol, which also takes several
	 * statements at once */
	if (!(n == 0 ? PQsendQuery(c, sql)
		     : PQsendQueryParams(c, sql, n, NULL, params, NULL, NULL,
					 0))) {
		one_line(err, errlen, PQerrorMessage(c));
		*broken = true;
		return NULL;
	}
	for (;;) {
		while (PQisBusy(c)) {
			struct pollfd p = {PQsocket(c), POLLIN, 0};
			int64_t left = end - baton_realtime_ms();
			if (left <= 0) {
				snprintf(err, errlen,
					 "no answer within %ld ms (outcome "
					 "unknown)",
					 timeout_ms);
				cancel(c);
				*broken = true;
				PQclear(res);
				return NULL;
			}
			if (poll(&p, 1, (int)left) < 0 && errno != EINTR) {
				snprintf(err, errlen, "poll: %s",
					 strerror(errno));
				*broken = true;
				PQclear(res);
				return NULL;
			}
			if (!PQconsumeInput(c)) {
				one_line(err, errlen, PQerrorMessage(c));
				*broken = true;
				PQclear(res);
				return NULL;
			}
		}
		r = PQgetResult(c);
		if (r == NULL) {
			break;
		}
		/* The first result answers the statement, except that an
		 * error after it wins: with the extended protocol an
		 * autocommit statement's CommandComplete comes before its
		 * commit, which runs at Sync and can still fail (the lease
		 * ending in between: baton_lease refuses the commit). */
		if (res == NULL) {
			res = r;
		} else if (PQresultStatus(r) == PGRES_FATAL_ERROR &&
			   PQresultStatus(res) != PGRES_FATAL_ERROR) {
			PQclear(res);
			res = r;
		} else {
			PQclear(r);
		}
	}
	if (res == NULL) {
		one_line(err, errlen, PQerrorMessage(c));
		*broken = true;
		return NULL;
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		one_line(err, errlen, PQresultErrorMessage(res));
		*broken = PQstatus(c) != CONNECTION_OK;
		PQclear(res);
		return NULL;
	}
	return res;
}

/* ---- the prober ------------------------------------------------------- */

struct prober {
	pthread_t tid;
	const struct baton_ctl_load_opts *o;
	const char *host;
	FILE *probes, *states;
	pthread_mutex_t *mu;
};

/* An agent's status body, into a bounded buffer (common/buf.h): past
 * AGENT_BODY_MAX, or out of memory, the transfer fails and the agent
 * reads as unreachable. */
#define AGENT_BODY_MAX 65536

static size_t curl_sink(char *p, size_t sz, size_t n, void *ud)
{
	struct baton_buf *body = ud;
	return baton_buf_add(body, p, sz * n) == 0 ? sz * n : 0;
}

static void poll_agent(struct prober *p, CURL *curl)
{
	char url[256];
	struct baton_buf body;
	int64_t t = baton_realtime_ms();
	json_t *st, *rec;

	snprintf(url, sizeof url, "http://%s:%d/v1/status", p->host,
		 p->o->agent_port);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 400L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 300L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, curl_sink);
	baton_buf_init(&body, AGENT_BODY_MAX);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	rec = json_pack("{s:I, s:s}", "t", (json_int_t)t, "host", p->host);
	if (curl_easy_perform(curl) == CURLE_OK && body.p != NULL &&
	    (st = json_loads(body.p, 0, NULL)) != NULL) {
		json_object_set(rec, "role", json_object_get(st, "role"));
		json_object_set(rec, "epoch", json_object_get(st, "epoch"));
		json_object_set(rec, "writable",
				json_object_get(st, "writable"));
		json_decref(st);
	} else {
		json_object_set_new(rec, "role", json_string("unreachable"));
	}
	baton_buf_free(&body);
	emit(p->states, p->mu, rec);
}

static void *prober_main(void *arg)
{
	struct prober *p = arg;
	const struct baton_ctl_load_opts *o = p->o;
	PGconn *c = NULL;
	CURL *curl = o->agent_port ? curl_easy_init() : NULL;
	char ci[512], err[400], ts[32];
	int64_t next_agent = 0;

	conninfo(o, p->host, false, ci, sizeof ci);
	while (!stop_flag) {
		int64_t t0 = baton_realtime_ms();
		bool ok = false, broken = false;
		err[0] = '\0';
		if (curl != NULL && t0 >= next_agent) {
			poll_agent(p, curl);
			next_agent = t0 + 500;
		}
		if (c == NULL) {
			c = PQconnectdb(ci);
			PQsetNoticeProcessor(c, quiet_notice_cb, NULL);
			if (PQstatus(c) != CONNECTION_OK) {
				one_line(err, sizeof err, PQerrorMessage(c));
				PQfinish(c);
				c = NULL;
			}
		}
		if (c != NULL) {
			const char *params[2] = {p->host, ts};
			snprintf(ts, sizeof ts, "%lld", (long long)t0);
			PGresult *r = baton_ctl_load_exec(
			    c,
			    "INSERT INTO baton_probe(host, t) VALUES ($1, $2)",
			    2, params, o->write_timeout_ms, err, sizeof err,
			    &broken);
			ok = r != NULL;
			PQclear(r);
			if (broken) {
				PQfinish(c);
				c = NULL;
			}
		}
		json_t *rec = json_pack(
		    "{s:I, s:I, s:s, s:b}", "t0", (json_int_t)t0, "t",
		    (json_int_t)baton_realtime_ms(), "host", p->host, "ok", ok);
		if (!ok) {
			json_object_set_new(rec, "err", json_string(err));
		}
		emit(p->probes, p->mu, rec);
		long spent = (long)(baton_realtime_ms() - t0);
		if (spent < o->probe_interval_ms) {
			sleep_ms(o->probe_interval_ms - spent);
		}
	}
	PQfinish(c);
	if (curl != NULL) {
		curl_easy_cleanup(curl);
	}
	return NULL;
}

/* ---- the writer --------------------------------------------------------- */

static FILE *open_out(const char *dir, const char *name)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "batonctl load: cannot write %s: %s\n", path,
			strerror(errno));
	}
	return f;
}

static int setup_tables(const struct baton_ctl_load_opts *o)
{
	int64_t end = baton_realtime_ms() + o->setup_timeout_ms;
	char err[400] = "";
	bool broken;
	struct pool pl = {0};

	while (!stop_flag && baton_realtime_ms() < end) {
		PGconn *c = connect_writable(o, &pl, 2000, err, sizeof err);
		if (c != NULL) {
			PGresult *r = baton_ctl_load_exec(
			    c,
			    "CREATE TABLE IF NOT EXISTS baton_load (run text, "
			    "id bigint, client_ms bigint, PRIMARY KEY (run, "
			    "id));"
			    "CREATE TABLE IF NOT EXISTS baton_probe (host "
			    "text, "
			    "t bigint)",
			    0, NULL, 10000, err, sizeof err, &broken);
			PQclear(r);
			PQfinish(c);
			if (r != NULL) {
				pool_close(&pl);
				return 0;
			}
		}
		sleep_ms(500);
	}
	pool_close(&pl);
	fprintf(stderr,
		"batonctl load: no instance accepted the tables within %ld "
		"ms: %s\n",
		o->setup_timeout_ms, err);
	return BATON_ETIMEDOUT;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* A connection to the instance that commits writes now: one that accepts
 * a read-write session is not enough (an old primary whose agent is paused
 * still says read-write; its lease module refuses the commit), so each host
 * in turn must commit a probe write. NULL if none does. */
static PGconn *connect_committing(const struct baton_ctl_load_opts *o,
				  char *err, size_t errlen)
{
	char ci[512], ts[32];
	bool broken;

	snprintf(err, errlen, "no host commits a write");
	for (int i = 0; i < o->n_hosts; i++) {
		PGconn *c;
		PGresult *r;
		const char *params[2] = {o->hosts[i], ts};
		conninfo(o, o->hosts[i], true, ci, sizeof ci);
		c = PQconnectdb(ci);
		if (c == NULL || PQstatus(c) != CONNECTION_OK) {
			PQfinish(c);
			continue;
		}
		snprintf(ts, sizeof ts, "%lld", (long long)baton_realtime_ms());
		r = baton_ctl_load_exec(
		    c, "INSERT INTO baton_probe(host, t) VALUES ($1, $2)", 2,
		    params, 2000, err, errlen, &broken);
		if (r != NULL) {
			PQclear(r);
			return c;
		}
		PQfinish(c);
	}
	return NULL;
}

/* Reads back this run's ids from the instance that commits writes now. */
static void readback(const struct baton_ctl_load_opts *o, const char *run,
		     int64_t *acked, size_t n_acked, size_t n_errors)
{
	int64_t end = baton_realtime_ms() + o->readback_timeout_ms;
	char err[400] = "";
	json_t *sum =
	    json_pack("{s:s, s:I, s:I}", "run", run, "acked",
		      (json_int_t)n_acked, "errors", (json_int_t)n_errors);
	bool broken;

	stop_flag = 0; /* the readback itself must not be interrupted */
	while (baton_realtime_ms() < end) {
		PGconn *c = connect_committing(o, err, sizeof err);
		if (c == NULL) {
			sleep_ms(500);
			continue;
		}
		const char *params[1] = {run};
		PGresult *r = baton_ctl_load_exec(
		    c, "SELECT id FROM baton_load WHERE run = $1 ORDER BY id",
		    1, params, 20000, err, sizeof err, &broken);
		if (r == NULL) {
			PQfinish(c);
			sleep_ms(500);
			continue;
		}
		size_t n = (size_t)PQntuples(r), i = 0, missing = 0;
		json_t *first = json_array();
		qsort(acked, n_acked, sizeof *acked, cmp_i64);
		/* both sorted: walk them together */
		for (size_t k = 0; k < n_acked; k++) {
			while (i < n && strtoll(PQgetvalue(r, (int)i, 0), NULL,
						10) < acked[k]) {
				i++;
			}
			if (i < n && strtoll(PQgetvalue(r, (int)i, 0), NULL,
					     10) == acked[k]) {
				continue;
			}
			missing++;
			if (json_array_size(first) < 100) {
				json_array_append_new(first,
						      json_integer(acked[k]));
			}
		}
		json_object_set_new(sum, "readback", json_true());
		json_object_set_new(sum, "readbackHost",
				    json_string(PQhost(c)));
		json_object_set_new(sum, "present",
				    json_integer((json_int_t)n));
		json_object_set_new(sum, "missing",
				    json_integer((json_int_t)missing));
		json_object_set_new(sum, "missingIds", first);
		PQclear(r);
		PQfinish(c);
		goto out;
	}
	json_object_set_new(sum, "readback", json_false());
	json_object_set_new(sum, "readbackError", json_string(err));
out:
	json_object_set_new(sum, "t", json_integer(baton_realtime_ms()));
	FILE *f = open_out(o->out_dir, "summary.json");
	if (f != NULL) {
		json_dumpf(sum, f, JSON_INDENT(2));
		fputc('\n', f);
		fclose(f);
	}
	json_dumpf(sum, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(sum);
}

int baton_ctl_load_run(const struct baton_ctl_load_opts *o)
{
	struct prober probers[BATON_CTL_LOAD_MAX_HOSTS];
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct sigaction sa = {0};
	char run[64], err[400], idbuf[32], tsbuf[32];
	FILE *writes = NULL, *probes = NULL, *states = NULL;
	int64_t *acked = NULL;
	size_t n_acked = 0, n_errors = 0;
	int64_t started, id = 0;
	PGconn *c = NULL;
	struct pool pool = {0};
	int rv = 0, n_probers = 0;

	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (mkdir(o->out_dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "batonctl load: cannot create %s: %s\n",
			o->out_dir, strerror(errno));
		return BATON_EIO;
	}
	snprintf(run, sizeof run, "%s", o->run ? o->run : "");
	if (run[0] == '\0') {
		snprintf(run, sizeof run, "run-%lld",
			 (long long)baton_realtime_ms());
	}
	writes = open_out(o->out_dir, "writes.jsonl");
	probes = open_out(o->out_dir, "probes.jsonl");
	states = open_out(o->out_dir, "states.jsonl");
	acked = malloc(MAX_ACKED * sizeof *acked);
	if (writes == NULL || probes == NULL || states == NULL ||
	    acked == NULL) {
		rv = BATON_EIO;
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rv = setup_tables(o);
	if (rv != 0) {
		goto out;
	}
	for (int i = 0; i < o->n_hosts; i++) {
		struct prober *p = &probers[n_probers];
		*p = (struct prober){.o = o,
				     .host = o->hosts[i],
				     .probes = probes,
				     .states = states,
				     .mu = &mu};
		if (pthread_create(&p->tid, NULL, prober_main, p) == 0) {
			n_probers++;
		}
	}
	fprintf(stderr, "batonctl load: run %s, writing every %ld ms to %s\n",
		run, o->interval_ms, o->out_dir);
	started = baton_realtime_ms();
	while (!stop_flag && (o->duration_ms == 0 ||
			      baton_realtime_ms() - started < o->duration_ms)) {
		int64_t t0 = baton_realtime_ms(), tc = 0;
		bool broken = false;
		if (c == NULL) {
			c = connect_writable(o, &pool, o->write_timeout_ms, err,
					     sizeof err);
			/* when the connection was won: the record then tells
			 * the client's reconnect from the commit's own wait */
			tc = baton_realtime_ms();
			if (c == NULL) {
				emit(writes, NULL,
				     json_pack("{s:I, s:I, s:b, s:s, s:s}",
					       "t0", (json_int_t)t0, "t",
					       (json_int_t)baton_realtime_ms(),
					       "ok", 0, "op", "connect", "err",
					       err));
				n_errors++;
				goto pace;
			}
		}
		id++;
		snprintf(idbuf, sizeof idbuf, "%lld", (long long)id);
		snprintf(tsbuf, sizeof tsbuf, "%lld", (long long)t0);
		const char *params[3] = {run, idbuf, tsbuf};
		PGresult *r = baton_ctl_load_exec(
		    c,
		    "INSERT INTO baton_load(run, id, client_ms) VALUES ($1, "
		    "$2, $3)",
		    3, params, o->write_timeout_ms, err, sizeof err, &broken);
		int64_t t1 = baton_realtime_ms();
		if (r != NULL) {
			json_t *rec = json_pack(
			    "{s:I, s:I, s:b, s:I, s:s}", "t0", (json_int_t)t0,
			    "t", (json_int_t)t1, "ok", 1, "id", (json_int_t)id,
			    "host", PQhost(c));
			if (rec != NULL && tc != 0) {
				json_object_set_new(rec, "connected",
						    json_integer(tc));
			}
			emit(writes, NULL, rec);
			if (n_acked < MAX_ACKED) {
				acked[n_acked++] = id;
			}
			PQclear(r);
		} else {
			json_t *rec =
			    json_pack("{s:I, s:I, s:b, s:I, s:s, s:s, s:s}",
				      "t0", (json_int_t)t0, "t", (json_int_t)t1,
				      "ok", 0, "id", (json_int_t)id, "host",
				      PQhost(c), "op", "insert", "err", err);
			if (rec != NULL && tc != 0) {
				json_object_set_new(rec, "connected",
						    json_integer(tc));
			}
			emit(writes, NULL, rec);
			n_errors++;
			/* a refused write (read-only now) also means this
			 * is no longer the primary: find it again */
			PQfinish(c);
			c = NULL;
		}
	pace:;
		long spent = (long)(baton_realtime_ms() - t0);
		if (spent < o->interval_ms) {
			sleep_ms(o->interval_ms - spent);
		}
	}
	stop_flag = 1;
	for (int i = 0; i < n_probers; i++) {
		pthread_join(probers[i].tid, NULL);
	}
	PQfinish(c);
	c = NULL;
	pool_close(&pool);
	fprintf(stderr,
		"batonctl load: stopped after %zu acknowledged writes, %zu "
		"errors; reading back\n",
		n_acked, n_errors);
	readback(o, run, acked, n_acked, n_errors);
out:
	if (writes) {
		fclose(writes);
	}
	if (probes) {
		fclose(probes);
	}
	if (states) {
		fclose(states);
	}
	free(acked);
	return rv;
}
