/* batonctl completion bash|zsh: prints a shell completion script for
 * batonctl and its kubectl plugin name (kubectl-baton). Commands,
 * subcommands, drill scenarios and each command's flags are completed;
 * flags that take a file complete file names. */
#ifndef BATON_BATONCTL_COMPLETION_H
#define BATON_BATONCTL_COMPLETION_H

#include <stdio.h>

/* ARGV[0] is "completion". Returns the exit code (0, or 2 for usage). */
int baton_ctl_completion(FILE *out, const char *prog, int argc, char **argv);

#endif /* BATON_BATONCTL_COMPLETION_H */
