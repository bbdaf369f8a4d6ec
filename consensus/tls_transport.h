/* Mutual-TLS raft_uv_transport (OpenSSL 3, TLS 1.3 only).
 *
 * Happy path: connect/accept a TCP connection on the loop, run the TLS
 * handshake through memory BIOs with client certificates required, take the
 * peer's region from the *verified* certificate (SAN URI
 * baton://region/<name>, else the CN) and map it through the member list to
 * a raft id. Then make a socketpair: raft gets one end as a raft_malloc'd
 * uv_pipe_t (it reads and writes plaintext there, as it requires), and this
 * file pumps the other end through SSL_read/SSL_write to the TCP socket.
 *
 * Failure paths: wrong CA, expired certificate, no certificate, a region not
 * in the member list, or (outgoing) a certificate for another region than
 * the one dialled: the connection is dropped, the reason logged, and an
 * outgoing connect completes with RAFT_NOCONNECTION. Closing the transport
 * cancels pending connects (RAFT_CANCELED) and drops every connection.
 */
#ifndef BATON_CONSENSUS_TLS_TRANSPORT_H
#define BATON_CONSENSUS_TLS_TRANSPORT_H

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "consensus/decider.h"

#define BATON_TLS_MAX_MEMBERS 8

struct baton_tls_member {
	raft_id id;
	char region[BATON_NAME_SIZE];
	char address[128]; /* host:port */
};

struct baton_tls_config {
	const char *cert_file; /* PEM, this region's certificate */
	const char *key_file;
	const char *ca_file; /* the fleet's CA */
	unsigned n_members;
	struct baton_tls_member members[BATON_TLS_MAX_MEMBERS];
	/* Bounds against a peer (or anyone who can reach the port) that
	 * holds resources: the TCP connect and TLS handshake must finish in
	 * handshake_timeout_ms (0 -> 5 s); at most BATON_TLS_MAX_HANDSHAKES
	 * incoming connections handshake at once (more are closed at
	 * accept); a connection whose peer lets more than
	 * BATON_TLS_MAX_QUEUED bytes queue up unread is closed (raft
	 * reconnects). */
	unsigned handshake_timeout_ms;
};

#define BATON_TLS_MAX_HANDSHAKES 32
/* An outgoing connect and handshake gets at most this long (or the
 * handshake timeout, if shorter): an attempt started while the peer was
 * cut off waits on TCP's SYN retransmissions (1 s, 2 s, 4 s ...), so
 * after a partition heals raft reached the peer only when that attempt
 * ran out. Two round trips make a TLS 1.3 connection: 2 s leaves room for
 * 300 ms between regions. */
#define BATON_TLS_CONNECT_TIMEOUT_MS 2000
/* TCP_USER_TIMEOUT of every Raft connection (tls_transport.c). */
#define BATON_TLS_USER_TIMEOUT_MS 2000
#define BATON_TLS_MAX_QUEUED (64u * 1024 * 1024)

/* Initialize T (version 1) for LOOP; the transport is closed by raft_uv's
 * owner with baton_tls_transport_close(). Returns 0 or BATON_E*; the reason
 * is in t->errmsg. */
int baton_tls_transport_init(struct raft_uv_transport *t, uv_loop_t *loop,
			     const struct baton_tls_config *cfg);
/* Release memory after raft_uv_close (like raft_uv_tcp_close). */
void baton_tls_transport_close(struct raft_uv_transport *t);

/* Counters for tests: handshakes refused and accepted. */
unsigned baton_tls_transport_refused(struct raft_uv_transport *t);
unsigned baton_tls_transport_accepted(struct raft_uv_transport *t);

#endif /* BATON_CONSENSUS_TLS_TRANSPORT_H */
