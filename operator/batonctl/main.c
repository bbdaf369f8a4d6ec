/* batonctl: the operator's command line.
 *
 *   batonctl status [NS/DB] [-o table|json]      the fleet at a glance
 *   batonctl switchover NS/DB REGION [--wait D]  planned switchover
 *   batonctl check --server URL [--expect-peers A,B]   helm test's check
 *   batonctl version [region flags]              versions, client and fleet
 *   batonctl drill SCENARIO [--repeat N] [--report DIR]   (tests/lab/drill.sh)
 *   batonctl lab up|down|status|...              (tests/lab/lab.sh)
 *   batonctl load --hosts A,B,C --out DIR ...    write load + prober
 *   batonctl report DIR [--check]                a drill's report
 *   batonctl pause|resume NS/DB [--wait D]       maintenance (manual mode)
 *   batonctl history NS/DB [-o table|json]       its promotions
 *   batonctl fence|unfence NS/DB POD             one instance's forensic fence
 *   batonctl reinit NS/DB REGION                 clone a replica region again
 *   batonctl completion bash|zsh                 shell completion
 *
 * This file only dispatches: each command is its own file (cmd_status.c,
 * cmd_switchover.c for switchover, pause and resume, cmd_check.c,
 * cmd_history.c, cmd_version.c, cmd_fence.c, cmd_reinit.c,
 * cmd_load.c for load and report, cmd_lab.c for drill and lab,
 * completion.c), the parts they share (region flags, usage errors, the source
 * tree) are cli.c.
 *
 * Regions come from --kubeconfig NAME=PATH (API servers), --context
 * NAME=CTX (a context of that kubeconfig, or of $KUBECONFIG merged as
 * kubectl does), --batond NAME=URL (batond's /v1/status), --region-config
 * FILE (a batond config: its region, kubeconfig, http.bind and its peers'
 * kubeconfigs), --fleet FILE (batonctl/fleetfile.h), or, with none of
 * these, from the lab in $BATON_LAB_DIR, the fleet file ($BATON_FLEET or
 * ~/.config/baton/fleet.yaml), a running lab in tests/lab/run, else from
 * $KUBECONFIG (each file one region).
 *
 * Exit codes: 0 success; 1 the operation failed (no region reachable, the
 * database does not exist, a switchover was refused or timed out, a drill
 * failed its checks); 2 usage or configuration error (bad flag, broken
 * kubeconfig).
 */
#include <stdio.h>
#include <string.h>

#include "batonctl/cli.h"
#include "batonctl/completion.h"
#include "common/log.h"
#include "common/version.h"

static void usage_main(FILE *f)
{
	fprintf(f,
		"batonctl: operate a Baton fleet (one batond per region, one "
		"writable primary)\n\n"
		"usage: batonctl COMMAND [flags]   (batonctl COMMAND --help "
		"for details)\n\n"
		"commands:\n"
		"  status [NS/DB]            every region: reachability, Raft "
		"role, term,\n"
		"                            leader; per database: primary, "
		"epoch, phase,\n"
		"                            ready, lag\n"
		"  switchover NS/DB REGION   move the primary to REGION "
		"(planned)\n"
		"  history NS/DB             its promotions, newest first "
		"(failovers, switchovers)\n"
		"  pause NS/DB | resume NS/DB  maintenance: no automatic "
		"failover (manual\n"
		"                            mode) until resumed\n"
		"  fence NS/DB POD           keep one instance read-only "
		"as it is (forensics):\n"
		"                            never promoted or rewound; "
		"unfence NS/DB POD ends it\n"
		"  reinit NS/DB REGION       throw away a replica region's "
		"copies, clone them\n"
		"                            again from the primary\n"
		"  check --server URL        is this region's batond "
		"reachable and healthy\n"
		"  version [region flags]    batonctl's version, and each "
		"region's batond and agents'\n"
		"  drill SCENARIO            run a failure drill in the lab, "
		"write a report\n"
		"  lab up|down|status|...    the local lab "
		"(tests/lab/lab.sh)\n"
		"  load                      the drills' write load and "
		"split-brain prober\n"
		"  report DIR                compute a drill's report.json and "
		"timeline.svg\n"
		"  completion bash|zsh       a shell completion script "
		"(source <(batonctl completion bash))\n\n"
		"region flags (status, switchover, pause, resume, history, "
		"fence, unfence,\n"
		"reinit, version):\n"
		"  --kubeconfig NAME=PATH[,NAME=PATH...]   a region's API "
		"server (repeatable;\n"
		"                            a bare PATH takes its directory's "
		"name, or its\n"
		"                            context's when that is no region "
		"name)\n"
		"  --context NAME=CTX[,...]  region NAME is context CTX: of "
		"its --kubeconfig,\n"
		"                            else of $KUBECONFIG (merged as "
		"kubectl does) or\n"
		"                            ~/.kube/config; a bare CTX names "
		"its region\n"
		"  --batond NAME=URL[,...]   a region's batond, e.g. "
		"eu-west=http://198.18.0.11:8080\n"
		"  --region-config FILE      a batond config file (region, "
		"kubeconfig,\n"
		"                            http.bind, peers' kubeconfigs)\n"
		"  --fleet FILE              a fleet file: every region's "
		"kubeconfig, context\n"
		"                            and batond, named once "
		"(docs/batonctl.md)\n"
		"  --lab DIR                 the lab's regions\n"
		"  (none of these)           in order: $BATON_LAB_DIR; the "
		"fleet file\n"
		"                            $BATON_FLEET or "
		"~/.config/baton/fleet.yaml;\n"
		"                            a lab running in tests/lab/run; "
		"the files in\n"
		"                            $KUBECONFIG, one region each\n"
		"  -n, --namespace NS        with NAME, for commands that take "
		"NS/NAME\n\n"
		"exit codes: 0 success, 1 the operation failed, 2 usage or "
		"configuration error\n");
}

int main(int argc, char **argv)
{
	const char *cmd;

	baton_log_set_level(BATON_LOG_WARN);
	if (argc < 2) {
		usage_main(stderr);
		return BATON_CTL_EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "help") == 0) {
		usage_main(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		if (argc > 2) {
			return baton_ctl_die_usage(
			    "%s takes no arguments (batonctl version [region "
			    "flags] asks the regions)",
			    cmd);
		}
		printf("batonctl %s\n", BATON_VERSION);
		return 0;
	}
	if (strcmp(cmd, "version") == 0) {
		return baton_ctl_cmd_version(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "status") == 0) {
		return baton_ctl_cmd_status(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "switchover") == 0) {
		return baton_ctl_cmd_switchover(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "history") == 0) {
		return baton_ctl_cmd_history(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "check") == 0) {
		return baton_ctl_cmd_check(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "pause") == 0) {
		return baton_ctl_cmd_pause(argc - 1, argv + 1, "manual");
	}
	if (strcmp(cmd, "resume") == 0) {
		return baton_ctl_cmd_pause(argc - 1, argv + 1, "automatic");
	}
	if (strcmp(cmd, "fence") == 0) {
		return baton_ctl_cmd_fence(argc - 1, argv + 1, true);
	}
	if (strcmp(cmd, "unfence") == 0) {
		return baton_ctl_cmd_fence(argc - 1, argv + 1, false);
	}
	if (strcmp(cmd, "reinit") == 0) {
		return baton_ctl_cmd_reinit(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "load") == 0) {
		return baton_ctl_cmd_load(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "report") == 0) {
		return baton_ctl_cmd_report(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "completion") == 0) {
		return baton_ctl_completion(stdout, baton_ctl_prog, argc - 1,
					    argv + 1);
	}
	if (strcmp(cmd, "drill") == 0) {
		return baton_ctl_cmd_drill(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "lab") == 0) {
		return baton_ctl_cmd_lab(argc - 1, argv + 1);
	}
	return baton_ctl_die_usage("unknown command '%s'", cmd);
}
