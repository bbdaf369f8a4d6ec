/* labkubelet/main.c: baton_labkubelet's entry point (labkubelet.h says
 * what it is and where its parts live): the kubelet itself, or one of the
 * two subcommands it runs as, pod-exec and fake-agent. */
#include <curl/curl.h>
#include <string.h>

#include "labkubelet.h"

int main(int argc, char **argv)
{
	static struct lk lk;
	int rv;

	if (argc > 1 && strcmp(argv[1], "pod-exec") == 0) {
		return pod_exec_main(argc, argv);
	}
	if (argc > 1 && strcmp(argv[1], "fake-agent") == 0) {
		return fake_agent_main(argc, argv);
	}
	rv = lk_options(&lk, argc, argv);
	if (rv >= 0) {
		return rv;
	}
	baton_log_set_static_fields(
	    json_pack("{s:s, s:s}", "node", lk.o.node, "region", lk.o.region));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return lk_run(&lk);
}
