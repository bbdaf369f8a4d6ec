/* What a process tree is doing, from /proc, for a log line.
 *
 * The engine calls it when PostgreSQL does not stop in time (pg_ctl's
 * timeout ran out): "did not stop" alone cannot tell a child that waits on
 * a client from one that the kernel holds in an uninterruptible sleep (a
 * disk flush, a discard, a journal commit), which no signal, not even
 * SIGKILL, ends until the kernel lets go. Linux only; elsewhere, or where
 * /proc hides the fields, it says less and never fails. */
#ifndef BATON_ENGINE_PROCSTATE_H
#define BATON_ENGINE_PROCSTATE_H

#include <stddef.h>
#include <sys/types.h>

/* One line per process: ROOT itself and each of its direct children, as
 * `pid STATE wchan=FN [stack=F1<F2<F3] 'cmdline'`, one per line, into
 * OUT (always NUL-terminated; cut with "..." when N is too small). The
 * kernel stack (/proc/PID/stack) needs CAP_SYS_ADMIN and is left out
 * without it. Returns the number of processes described (0: ROOT is gone
 * or /proc is not there). */
int baton_proc_describe_tree(pid_t root, char *out, size_t n);

/* Send SIG to each direct child of ROOT whose command line is still
 * ROOT's own: a fork that has not set its process title yet. For a
 * postmaster these are the backends that wait for a client's startup
 * packet; PostgreSQL 15 signals none of its "dead-end" ones (forked to
 * tell a client the server is shutting down), which live on until
 * authentication_timeout (60 s) and hold the postmaster, and a stop, that
 * long. SIGTERM ends such a child at once with exit status 1, as a
 * startup-packet timeout does. Returns how many were signalled. */
int baton_proc_signal_untitled_children(pid_t root, int sig);

/* Parse one /proc/PID/stat line: the state letter and the parent pid
 * (the command name in parentheses may hold spaces and ')'). False if
 * the line is not one. Exposed for the unit test. */
int baton_proc_parse_stat(const char *line, char *state, pid_t *ppid);

#endif
