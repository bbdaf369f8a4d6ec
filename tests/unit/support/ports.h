/* A loopback TCP port nothing listens on, for tests that need a real
 * connection refused (an unreachable API server or peer). */
#ifndef BATON_TEST_PORTS_H
#define BATON_TEST_PORTS_H

/* Binds an ephemeral port on 127.0.0.1, closes it and returns it: nothing
 * listens there until the kernel hands it out again. */
int tst_closed_port(void);

#endif /* BATON_TEST_PORTS_H */
