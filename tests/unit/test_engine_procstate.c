/* What the engine logs about a server that would not stop
 * (engine/procstate.h): the /proc stat parser, and a real process tree. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/procstate.h"
#include "harness.h"

START_TEST(stat_lines_parse_past_any_command_name)
{
	char state = '?';
	pid_t ppid = -1;

	ck_assert(baton_proc_parse_stat("42 (postgres) S 7 42 42 0 -1", &state,
					&ppid));
	ck_assert_int_eq(state, 'S');
	ck_assert_int_eq(ppid, 7);
	/* a command name may hold ") D 1 (": the fields follow the last ')' */
	ck_assert(
	    baton_proc_parse_stat("43 (a) D 1 (b) D 9 43 43", &state, &ppid));
	ck_assert_int_eq(state, 'D');
	ck_assert_int_eq(ppid, 9);
	ck_assert(!baton_proc_parse_stat("43 (a", &state, &ppid));
	ck_assert(!baton_proc_parse_stat("43 (a) ", &state, &ppid));
	ck_assert(!baton_proc_parse_stat("43 (a) S x", &state, &ppid));
	ck_assert(!baton_proc_parse_stat("43 (a) S -2", &state, &ppid));
	ck_assert(!baton_proc_parse_stat("", &state, &ppid));
	ck_assert(!baton_proc_parse_stat(NULL, &state, &ppid));
}
END_TEST

/* Whether /proc/PID/WHAT holds NEEDLE (NULs read as spaces). */
static bool proc_holds(pid_t pid, const char *what, const char *needle)
{
	char p[64], s[256] = "";
	size_t r = 0;
	snprintf(p, sizeof p, "/proc/%d/%s", (int)pid, what);
	FILE *f = fopen(p, "r");
	if (f != NULL) {
		r = fread(s, 1, sizeof s - 1, f);
		fclose(f);
	}
	for (size_t i = 0; i < r; i++) {
		s[i] = s[i] ? s[i] : ' ';
	}
	s[r] = '\0';
	return strstr(s, needle) != NULL;
}

/* A root (a fork of the test) with two children: KIDS[0] only forked (its
 * command line the root's), KIDS[1] stopped (SIGSTOP) or, with EXEC, a
 * `sleep 60`. Returns once KIDS[1] shows that; the caller kills all three. */
static pid_t spawn_tree(bool exec, pid_t kids[2])
{
	int ready[2];
	ck_assert_int_eq(pipe(ready), 0);
	pid_t root = fork();
	ck_assert_int_ge(root, 0);
	if (root == 0) {
		/* the harness's SIGTERM handler kills the process group */
		signal(SIGTERM, SIG_DFL);
		pid_t mine[2];
		if ((mine[0] = fork()) == 0) {
			pause();
			_exit(0);
		}
		if ((mine[1] = fork()) == 0) {
			if (exec) {
				execl("/bin/sleep", "sleep", "60",
				      (char *)NULL);
			}
			pause();
			_exit(0);
		}
		if (!exec) {
			kill(mine[1], SIGSTOP);
		}
		for (int i = 0; i < 500; i++) {
			if (exec ? proc_holds(mine[1], "cmdline", "sleep 60")
				 : proc_holds(mine[1], "stat", ") T ")) {
				break;
			}
			usleep(10000);
		}
		if (write(ready[1], mine, sizeof mine) != sizeof mine) {
			_exit(1);
		}
		for (;;) {
			pause();
		}
	}
	ck_assert_int_eq(read(ready[0], kids, 2 * sizeof *kids),
			 2 * sizeof *kids);
	close(ready[0]);
	close(ready[1]);
	/* and the root back in its pause(): state S, not R */
	for (int i = 0; i < 500 && !proc_holds(root, "stat", ") S "); i++) {
		usleep(10000);
	}
	return root;
}

static void kill_tree(pid_t root, const pid_t kids[2])
{
	kill(kids[0], SIGKILL);
	kill(kids[1], SIGKILL);
	kill(root, SIGKILL);
	waitpid(root, NULL, 0);
}

START_TEST(a_tree_is_the_root_and_its_children_one_line_each)
{
	pid_t kids[2];
	pid_t root = spawn_tree(false, kids);

	char out[8192];
	int n = baton_proc_describe_tree(root, out, sizeof out);
	ck_assert_int_eq(n, 3);
	/* three lines, the root first, each "PID STATE ..." */
	char first[32];
	snprintf(first, sizeof first, "%d S", (int)root);
	ck_assert_msg(strncmp(out, first, strlen(first)) == 0, "%s", out);
	int lines = 1;
	for (char *p = out; *p; p++) {
		lines += *p == '\n';
	}
	ck_assert_int_eq(lines, 3);
	ck_assert_msg(strstr(out, " T ") != NULL, "no stopped child: %s", out);
	ck_assert_msg(strstr(out, "test_engine_procstate") != NULL,
		      "no command line: %s", out);

	/* too small a buffer: cut, marked, terminated */
	char small[24];
	ck_assert_int_eq(baton_proc_describe_tree(root, small, sizeof small),
			 3);
	ck_assert_uint_eq(strlen(small), sizeof small - 1);
	ck_assert_str_eq(small + sizeof small - 4, "...");

	kill_tree(root, kids);
	/* the root is gone: nothing to say */
	ck_assert_int_eq(baton_proc_describe_tree(root, out, sizeof out), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

/* A child that only forked keeps its parent's command line (a postmaster's
 * backend before its process title); one that exec'd has its own. Only
 * the first is signalled. */
START_TEST(only_untitled_children_are_signalled)
{
	pid_t kids[2];
	pid_t root = spawn_tree(true, kids);

	/* signal 0 counts */
	ck_assert_int_eq(baton_proc_signal_untitled_children(root, 0), 1);
	ck_assert_int_eq(baton_proc_signal_untitled_children(root, SIGTERM), 1);
	/* the first is gone (a zombie of root's until reaped), b runs on */
	for (int i = 0; i < 500 && !proc_holds(kids[0], "stat", ") Z "); i++) {
		usleep(10000);
	}
	ck_assert(proc_holds(kids[0], "stat", ") Z "));
	ck_assert_int_eq(kill(kids[1], 0), 0);
	ck_assert_int_eq(baton_proc_signal_untitled_children(root, 0), 0);
	/* no such root, no children */
	kill_tree(root, kids);
	ck_assert_int_eq(baton_proc_signal_untitled_children(root, 0), 0);
}
END_TEST

static Suite *procstate_suite(void)
{
	Suite *s = suite_create("engine_procstate");
	TCase *tc = tcase_create("procstate");
	tcase_add_test(tc, stat_lines_parse_past_any_command_name);
	tcase_add_test(tc, a_tree_is_the_root_and_its_children_one_line_each);
	tcase_add_test(tc, only_untitled_children_are_signalled);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(procstate_suite)
