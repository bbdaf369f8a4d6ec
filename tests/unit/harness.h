/* Shared helpers for Baton's Check-based unit tests.
 *
 * Every test binary runs its suites in CK_FORK mode (a crash fails one test,
 * not the binary) with a timeout, and prints Check's summary line. Tests that
 * drive a libuv loop use LOOP_RUN_UNTIL, which runs the loop one iteration at
 * a time with a cap, so a test that would hang fails with a message instead,
 * and they end with LOOP_TEARDOWN, which asserts every handle was closed.
 */
#ifndef BATON_TEST_HARNESS_H
#define BATON_TEST_HARNESS_H

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <uv.h>

#ifndef LOOP_MAX_ITERATIONS
#define LOOP_MAX_ITERATIONS 100000
#endif

/* Run LOOP until COND holds; fail the test after LOOP_MAX_ITERATIONS. */
#define LOOP_RUN_UNTIL(loop, cond)                                             \
	do {                                                                   \
		unsigned _i;                                                   \
		for (_i = 0; _i < LOOP_MAX_ITERATIONS && !(cond); _i++) {      \
			uv_run((loop), UV_RUN_ONCE);                           \
		}                                                              \
		ck_assert_msg((cond),                                          \
			      "LOOP_RUN_UNTIL(%s) gave up after %u "           \
			      "iterations",                                    \
			      #cond, _i);                                      \
	} while (0)

/* Close every remaining handle's owner first; then this must hold. */
#define LOOP_TEARDOWN(loop)                                                    \
	do {                                                                   \
		uv_run((loop), UV_RUN_DEFAULT);                                \
		ck_assert_int_eq(uv_loop_close(loop), 0);                      \
	} while (0)

/* A listening socket on a loopback port the kernel picked, so that a part
 * told to bind there fails for real: writes "127.0.0.1:PORT" to BIND_TO
 * and returns the socket (the caller closes it). */
static inline int take_loopback_port(char *bind_to, size_t size)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(bind_to, size, "127.0.0.1:%d", ntohs(sa.sin_port));
	return fd;
}

/* main() for a test binary made of the given suite constructors. */
#define BATON_TEST_MAIN(...)                                                   \
	int main(void)                                                         \
	{                                                                      \
		Suite *(*_ctors[])(void) = {__VA_ARGS__};                      \
		SRunner *_sr = NULL;                                           \
		int _failed;                                                   \
		for (size_t _k = 0; _k < sizeof _ctors / sizeof _ctors[0];     \
		     _k++) {                                                   \
			if (_sr == NULL) {                                     \
				_sr = srunner_create(_ctors[_k]());            \
			} else {                                               \
				srunner_add_suite(_sr, _ctors[_k]());          \
			}                                                      \
		}                                                              \
		srunner_set_fork_status(_sr, CK_FORK);                         \
		srunner_run_all(_sr, CK_NORMAL);                               \
		_failed = srunner_ntests_failed(_sr);                          \
		srunner_free(_sr);                                             \
		return _failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;             \
	}

#endif /* BATON_TEST_HARNESS_H */
