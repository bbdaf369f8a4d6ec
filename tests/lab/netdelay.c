/* baton_netdelay: hold every packet of one netfilter queue for a fixed time,
 * then let it go (the lab's `delay-agent` drill, docs/lab.md).
 *
 *   baton_netdelay --queue N --delay-ms D [--max-packets M]
 *
 * The kernel here has no netem (CONFIG_NET_SCH_NETEM is off), so a delay
 * is made in user space: an iptables rule sends the packets to delay to
 * NFQUEUE N (with --queue-bypass: once this program is gone they pass
 * undelayed), and this program gives each its ACCEPT verdict D ms after it
 * arrived, in arrival order. The lab puts the rule in the primary region's
 * host namespace, on what batond sends to the primary's pod: orders and
 * status polls (tcp dport 8081) and the answers to the agent's lease asks
 * (tcp sport 7102). So the agent's answers arrive late, exactly the case
 * the send-time lease is there for (agent/lease.h): a late answer must
 * shorten the lease it grants, or be discarded, never extend it past what
 * batond granted.
 *
 * Happy path: bind the queue (copy mode META: only the packet id is
 * needed), poll its socket with a timeout until the oldest held packet is
 * due, give the verdicts that are due.
 *
 * Failure paths: a full hold ring (--max-packets, default 65536) drops the
 * newest packet (NF_DROP, counted: TCP sends it again) rather than growing
 * without bound; SIGTERM/SIGINT accept everything still held, then exit 0;
 * a netlink error is reported and ends the program with 1 (the bypass
 * flag lets traffic through again).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct held {
	uint32_t id;
	uint64_t due_ms;
};

static struct {
	struct held *ring;
	size_t cap, head, len;
	uint64_t delay_ms;
	uint64_t held, dropped;
} q;

static volatile sig_atomic_t stopping;

static void stop_cb(int sig)
{
	(void)sig;
	stopping = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int packet_cb(struct nfq_q_handle *qh, struct nfgenmsg *msg,
		     struct nfq_data *nfa, void *data)
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	uint32_t id;
	(void)msg;
	(void)data;
	if (ph == NULL) {
		return 0;
	}
	id = ntohl(ph->packet_id);
	if (q.len == q.cap) {
		q.dropped++;
		return nfq_set_verdict(qh, id, NF_DROP, 0, NULL);
	}
	q.ring[(q.head + q.len) % q.cap] =
	    (struct held){.id = id, .due_ms = now_ms() + q.delay_ms};
	q.len++;
	q.held++;
	return 0;
}

/* Accept what is due at NOW (everything when ALL). */
static int release(struct nfq_q_handle *qh, uint64_t now, int all)
{
	while (q.len > 0 && (all || q.ring[q.head].due_ms <= now)) {
		if (nfq_set_verdict(qh, q.ring[q.head].id, NF_ACCEPT, 0, NULL) <
		    0) {
			return -1;
		}
		q.head = (q.head + 1) % q.cap;
		q.len--;
	}
	return 0;
}

static unsigned long arg_num(const char *flag, const char *v, unsigned long max)
{
	char *end;
	unsigned long n;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n > max) {
		fprintf(stderr, "baton_netdelay: %s wants a number up to %lu\n",
			flag, max);
		exit(2);
	}
	return n;
}

int main(int argc, char **argv)
{
	struct nfq_handle *h;
	struct nfq_q_handle *qh;
	struct sigaction sa;
	char buf[4096] __attribute__((aligned));
	long queue = -1;
	int fd, rv = 1;

	q.cap = 65536;
	q.delay_ms = 1000;
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--queue") == 0) {
			queue = (long)arg_num("--queue", argv[++i], 65535);
		} else if (i + 1 < argc && strcmp(argv[i], "--delay-ms") == 0) {
			q.delay_ms = arg_num("--delay-ms", argv[++i], 600000);
		} else if (i + 1 < argc &&
			   strcmp(argv[i], "--max-packets") == 0) {
			q.cap = arg_num("--max-packets", argv[++i], 1 << 22);
		} else {
			fprintf(stderr, "usage: baton_netdelay --queue N "
					"--delay-ms D [--max-packets M]\n");
			return 2;
		}
	}
	if (queue < 0 || q.cap == 0) {
		fprintf(stderr, "baton_netdelay: --queue is required and "
				"--max-packets must be at least 1\n");
		return 2;
	}
	q.ring = calloc(q.cap, sizeof *q.ring);
	if (q.ring == NULL) {
		fprintf(stderr, "baton_netdelay: out of memory\n");
		return 1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = stop_cb;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	h = nfq_open();
	if (h == NULL) {
		fprintf(stderr, "baton_netdelay: nfq_open: %s\n",
			strerror(errno));
		goto err_after_ring;
	}
	qh = nfq_create_queue(h, (uint16_t)queue, packet_cb, NULL);
	if (qh == NULL) {
		fprintf(stderr,
			"baton_netdelay: cannot bind queue %ld: %s (another "
			"program holds it?)\n",
			queue, strerror(errno));
		goto err_after_open;
	}
	if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0 ||
	    nfq_set_queue_maxlen(qh, (uint32_t)q.cap) < 0) {
		fprintf(stderr, "baton_netdelay: queue setup: %s\n",
			strerror(errno));
		goto err_after_queue;
	}
	fd = nfq_fd(h);
	fprintf(stderr, "baton_netdelay: queue %ld, delay %llu ms\n", queue,
		(unsigned long long)q.delay_ms);

	while (!stopping) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t now = now_ms();
		int timeout = 100;
		ssize_t n;
		if (q.len > 0) {
			uint64_t due = q.ring[q.head].due_ms;
			timeout = due <= now ? 0 : (int)(due - now);
			if (timeout > 100) {
				timeout = 100;
			}
		}
		if (poll(&p, 1, timeout) < 0 && errno != EINTR) {
			fprintf(stderr, "baton_netdelay: poll: %s\n",
				strerror(errno));
			goto err_after_queue;
		}
		if (p.revents & POLLIN) {
			n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
			if (n > 0) {
				nfq_handle_packet(h, buf, (int)n);
			} else if (n < 0 && errno != EAGAIN && errno != EINTR &&
				   errno != ENOBUFS) {
				fprintf(stderr, "baton_netdelay: recv: %s\n",
					strerror(errno));
				goto err_after_queue;
			}
		}
		if (release(qh, now_ms(), 0) < 0) {
			fprintf(stderr, "baton_netdelay: verdict: %s\n",
				strerror(errno));
			goto err_after_queue;
		}
	}
	rv = release(qh, 0, 1) < 0 ? 1 : 0;
	fprintf(stderr,
		"baton_netdelay: %llu packets delayed, %llu dropped "
		"(hold ring full)\n",
		(unsigned long long)q.held, (unsigned long long)q.dropped);
err_after_queue:
	nfq_destroy_queue(qh);
err_after_open:
	nfq_close(h);
err_after_ring:
	free(q.ring);
	return rv;
}
