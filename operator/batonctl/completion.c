/* batonctl completion (batonctl/completion.h). */
#include "batonctl/completion.h"

#include <string.h>

/* One bash function serves both shells: zsh loads it through its
 * bashcompinit layer, as kubectl's and helm's zsh scripts once did. The
 * word lists follow each command's --help; a test
 * (tests/integration/test_batonctl.sh) completes through it in bash. */
static const char bash_script[] =
    "# bash completion for batonctl (batonctl completion bash)\n"
    "_batonctl() {\n"
    "    local cur prev cmd words\n"
    "    cur=${COMP_WORDS[COMP_CWORD]}\n"
    "    prev=${COMP_WORDS[COMP_CWORD-1]}\n"
    "    cmd=${COMP_WORDS[1]}\n"
    "    COMPREPLY=()\n"
    "    if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
    "        words='status switchover history pause resume fence unfence "
    "reinit check version drill lab load report completion help'\n"
    "        mapfile -t COMPREPLY < <(compgen -W \"$words\" -- \"$cur\")\n"
    "        return 0\n"
    "    fi\n"
    "    case $prev in\n"
    "        --region-config|--lab|--report|--out|--fleet)\n"
    "            mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
    "            return 0 ;;\n"
    "        -o|--output)\n"
    "            words='table json'\n"
    "            [ \"$cmd\" = status ] && words='table wide json yaml'\n"
    "            mapfile -t COMPREPLY < <(compgen -W \"$words\" -- "
    "\"$cur\")\n"
    "            return 0 ;;\n"
    "    esac\n"
    "    case $cmd in\n"
    "        status) words='--kubeconfig --context --batond "
    "--region-config --fleet --lab --namespace --output --watch --help' "
    ";;\n"
    "        version) words='--kubeconfig --context --batond "
    "--region-config --fleet --lab --help' ;;\n"
    "        history) words='--output --kubeconfig --context --batond "
    "--region-config --fleet --lab --namespace --help' ;;\n"
    "        switchover) words='--wait --yes --kubeconfig --context "
    "--batond --region-config --fleet --lab --namespace --help' ;;\n"
    "        pause|resume) words='--wait --kubeconfig --context "
    "--batond --region-config --fleet --lab --namespace --help' ;;\n"
    "        fence) words='--reason --yes --kubeconfig --context "
    "--batond --region-config --fleet --lab --namespace --help' ;;\n"
    "        reinit) words='--yes --wait --kubeconfig --context --batond "
    "--region-config --fleet --lab --namespace --help' ;;\n"
    "        unfence) words='--kubeconfig --context --batond "
    "--region-config --fleet --lab --namespace --help' ;;\n"
    "        check) words='--server --region --region-config "
    "--expect-peers --help' ;;\n"
    "        drill)\n"
    "            if [ \"$COMP_CWORD\" -eq 2 ]; then\n"
    "                words='kill-region partition kill-batond pause-agent "
    "pause-region switchover heal partition-control delay-agent manual "
    "kill-instance kill-primary-instance "
    "steady all e2e'\n"
    "            else\n"
    "                words='--repeat --report --db --lab --timeout "
    "--no-check --duration --min-lease-ms --delay-ms --hold --help'\n"
    "            fi ;;\n"
    "        lab)\n"
    "            if [ \"$COMP_CWORD\" -eq 2 ]; then\n"
    "                words='up down status env apply-example recycle "
    "isolate heal isolate-control heal-control delay undelay'\n"
    "            else\n"
    "                words=''\n"
    "            fi ;;\n"
    "        load) words='--hosts --port --agent-port --user --password "
    "--dbname --interval --probe-interval --duration --write-timeout "
    "--setup-timeout --out --run --help' ;;\n"
    "        report) words='--check --help' ;;\n"
    "        completion) words='bash zsh' ;;\n"
    "        *) words='' ;;\n"
    "    esac\n"
    "    mapfile -t COMPREPLY < <(compgen -W \"$words\" -- \"$cur\")\n"
    "}\n"
    "complete -F _batonctl batonctl kubectl-baton\n";

static const char zsh_prologue[] =
    "#compdef batonctl kubectl-baton\n"
    "# zsh completion for batonctl (batonctl completion zsh)\n"
    "autoload -U +X bashcompinit && bashcompinit\n";

static void usage(FILE *f, const char *prog)
{
	fprintf(
	    f,
	    "usage: %s completion bash|zsh\n\n"
	    "Prints a completion script for batonctl (and kubectl-baton).\n"
	    "  bash:  source <(%s completion bash)   or save it in\n"
	    "         /etc/bash_completion.d/batonctl\n"
	    "  zsh:   source <(%s completion zsh)    or save it as _batonctl\n"
	    "         in a directory of $fpath\n",
	    prog, prog, prog);
}

int baton_ctl_completion(FILE *out, const char *prog, int argc, char **argv)
{
	if (argc == 2 &&
	    (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(out, prog);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "%s: completion needs one shell: bash or zsh\n",
			prog);
		usage(stderr, prog);
		return 2;
	}
	if (strcmp(argv[1], "bash") == 0) {
		fputs(bash_script, out);
		return 0;
	}
	if (strcmp(argv[1], "zsh") == 0) {
		fputs(zsh_prologue, out);
		fputs(bash_script, out);
		return 0;
	}
	fprintf(stderr, "%s: completion: unknown shell '%s' (bash or zsh)\n",
		prog, argv[1]);
	return 2;
}
