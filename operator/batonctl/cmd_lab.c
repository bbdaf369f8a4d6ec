/* batonctl drill and batonctl lab (batonctl/cli.h): the lab's scripts of
 * the source tree, tests/lab/drill.sh and tests/lab/lab.sh, run with the
 * rest of the command line (cli.c finds the tree and execs them). */
#include <stdio.h>

#include "batonctl/cli.h"

/* argv[0] is the command's name; the script gets what follows it. */
static int run_script(const char *rel, int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "%s: %s needs a command (see '%s %s --help')\n",
			baton_ctl_prog, argv[0], baton_ctl_prog, argv[0]);
		return BATON_CTL_EXIT_USAGE;
	}
	return baton_ctl_exec_script(rel, argc - 1, argv + 1);
}

int baton_ctl_cmd_drill(int argc, char **argv)
{
	return run_script("tests/lab/drill.sh", argc, argv);
}

int baton_ctl_cmd_lab(int argc, char **argv)
{
	return run_script("tests/lab/lab.sh", argc, argv);
}
