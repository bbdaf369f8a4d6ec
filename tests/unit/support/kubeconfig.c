/* A kube client on a loopback HTTP server (kubeconfig.h). */
#include "kubeconfig.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "kube/config.h"

void tst_local_client(uv_loop_t *loop, struct baton_kube_client *client,
		      int port)
{
	struct baton_kube_config kc;
	char kubeconfig[512];

	snprintf(kubeconfig, sizeof kubeconfig,
		 "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
		 "clusters:\n- name: t\n  cluster:\n"
		 "    server: http://127.0.0.1:%d\n"
		 "users:\n- name: t\n  user: {}\n"
		 "contexts:\n- name: t\n  context: {cluster: t, user: t}\n",
		 port);
	ck_assert_int_eq(baton_kube_config_load_data(&kc, kubeconfig,
						     strlen(kubeconfig), "t",
						     NULL, NULL),
			 0);
	ck_assert_int_eq(baton_kube_client_init(loop, client, &kc, NULL), 0);
	baton_kube_config_free(&kc);
}
