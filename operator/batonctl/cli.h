/* batonctl's shared command-line parts: the program name and exit codes,
 * usage errors, the source tree (for the lab's scripts), the region flags
 * every fleet command takes, and the small parsers the commands share.
 * Each command lives in its own file (cmd_*.c) behind one entry point;
 * main.c only dispatches. */
#ifndef BATON_BATONCTL_CLI_H
#define BATON_BATONCTL_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "batond/config.h"
#include "batonctl/fleet.h"

#define BATON_CTL_EXIT_FAILED 1
#define BATON_CTL_EXIT_USAGE 2

extern const char *const baton_ctl_prog;

/* Prints "batonctl: MESSAGE (see 'batonctl --help')"; returns 2. */
int baton_ctl_die_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* The source tree ($BATON_TOP, else found from the binary's path): 0, or
 * -1 when there is none. */
int baton_ctl_find_top(char *out, size_t len);
/* Executes the script REL of the source tree with ARGV (does not return
 * on success); an exit code when it cannot be run. */
int baton_ctl_exec_script(const char *rel, int argc, char **argv);

struct baton_ctl_region_flags {
	const char *kubeconfigs[32];
	int n_kubeconfigs;
	const char *contexts[32];
	int n_contexts;
	const char *batonds[32];
	int n_batonds;
	const char *configs[BATON_CTL_MAX_REGIONS];
	int n_configs;
	const char *lab;
	const char *fleet; /* --fleet FILE */
	const char *ns;	   /* -n NAMESPACE */
};

/* Every fleet command's flags; -n is in the short options of the commands
 * that take a database. */
#define BATON_CTL_REGION_LONGOPTS                                              \
	{"kubeconfig", required_argument, NULL, 'k'},                          \
	    {"context", required_argument, NULL, 'C'},                         \
	    {"batond", required_argument, NULL, 'b'},                          \
	    {"region-config", required_argument, NULL, 'c'},                   \
	    {"lab", required_argument, NULL, 'L'},                             \
	    {"fleet", required_argument, NULL, 'F'},                           \
	    {"namespace", required_argument, NULL, 'n'},                       \
	{                                                                      \
		"help", no_argument, NULL, 'h'                                 \
	}

/* The region flags in a command's --help. */
#define BATON_CTL_REGION_HELP                                                  \
	"  --kubeconfig NAME=PATH[,...]  --context NAME=CTX[,...]\n"           \
	"  --batond NAME=URL[,...]  --region-config FILE  --fleet FILE  "      \
	"--lab DIR\n"                                                          \
	"  (none: $BATON_FLEET or ~/.config/baton/fleet.yaml; see "            \
	"'batonctl --help')\n"

/* Takes one of the region flags (getopt's OPT and ARG): 1 taken, 0 not a
 * region flag, -1 too many of that flag. */
int baton_ctl_region_flag(struct baton_ctl_region_flags *rf, int opt,
			  const char *arg);
/* Opens the fleet the flags name (or the lab, or $KUBECONFIG): 0, or an
 * exit code with the reason printed. */
int baton_ctl_open_fleet(struct baton_ctl_fleet *f,
			 struct baton_ctl_region_flags *rf);
/* Where batonctl reaches the batond of CFG's region: its http.bind, with
 * a wildcard address read as this host; -1 without a usable http.bind. */
int baton_ctl_local_batond_url(const struct baton_batond_config *cfg, char *url,
			       size_t len);
/* "NS/NAME" into NS and NAME (LEN each): 0, or -1 when malformed. */
int baton_ctl_split_ref(const char *ref, char *ns, char *name, size_t len);
/* A command's database argument ARG: "NS/NAME", or "NAME" with -n NS
 * (NS_FLAG); both forms at once must agree. 0, or the usage exit code with
 * the reason printed (CMD names the command). */
int baton_ctl_db_arg(const char *cmd, const char *ns_flag, const char *arg,
		     char *ns, char *name, size_t len);
/* Fetches NS/NAME from every region's API server, says on stderr which
 * region has no such DatabaseCluster or could not be asked, and returns
 * how many have it (0: also says it was found nowhere). */
int baton_ctl_fetch_db(struct baton_ctl_fleet *f, const char *ns,
		       const char *name);
/* A string, integer or boolean V as text (integers in BUF of LEN, or in
 * one of eight rotating buffers when BUF is NULL), else DFLT. */
const char *baton_ctl_str_or(json_t *v, const char *dflt, char *buf,
			     size_t len);

/* Asks before something that cannot be taken back: true with YES (--yes);
 * else, when stdin and stderr are terminals, prints WHAT and "Go ahead?
 * [y/N]" on stderr and reads the answer from stdin (y or yes); else prints
 * WHAT and that --yes is needed, and returns false. */
bool baton_ctl_confirm(bool yes, const char *what);

/* Whether a switchover to TARGET is a promotion after the loss of the
 * primary's region, judged from F's last fetch of the database (the
 * primary's API server did not answer, or a status says its lease
 * expired); the reason in WHY. cmd_switchover.c */
bool baton_ctl_switchover_after_loss(struct baton_ctl_fleet *f,
				     const char *target, char *why, size_t len);

/* The commands (argv[0] is the command's name). */
int baton_ctl_cmd_status(int argc, char **argv);
int baton_ctl_cmd_switchover(int argc, char **argv);
int baton_ctl_cmd_pause(int argc, char **argv, const char *mode);
int baton_ctl_cmd_check(int argc, char **argv);
int baton_ctl_cmd_load(int argc, char **argv);
int baton_ctl_cmd_report(int argc, char **argv);
int baton_ctl_cmd_history(int argc, char **argv);
int baton_ctl_cmd_version(int argc, char **argv);
int baton_ctl_cmd_fence(int argc, char **argv, bool fence);
int baton_ctl_cmd_reinit(int argc, char **argv);
int baton_ctl_cmd_drill(int argc, char **argv);
int baton_ctl_cmd_lab(int argc, char **argv);

#endif /* BATON_BATONCTL_CLI_H */
