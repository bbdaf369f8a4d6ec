/* A kubeconfig for an HTTP server of the test's own on loopback (no TLS,
 * no user): the kube client talks to it as to an API server or a peer
 * batond. */
#ifndef BATON_TEST_KUBECONFIG_H
#define BATON_TEST_KUBECONFIG_H

#include <uv.h>

#include "kube/client.h"

/* Opens CLIENT on LOOP to http://127.0.0.1:PORT (asserts on failure). */
void tst_local_client(uv_loop_t *loop, struct baton_kube_client *client,
		      int port);

#endif /* BATON_TEST_KUBECONFIG_H */
