/* Fuzz target: the kubeconfig loader (kube/config.h), YAML through libyaml
 * into the flat struct every client is built from.
 *
 * The input is the kubeconfig text, given to baton_kube_config_load_data()
 * (what baton_kube_config_load_file() calls once it has read the file),
 * with relative paths resolved against a directory this target fills with
 * a CA bundle, a certificate, a key and a token file, so that the file
 * paths (certificate-authority, client-key, tokenFile) load real files too.
 * Loaded twice: with the file's current-context, and with the context
 * "fuzz" given (batond's --context).
 *
 * Oracle: what config.h promises. A failure returns a BATON_E* code,
 * says why in errmsg and leaves nothing else in the struct. A success has
 * an http(s) server URL without a trailing '/', the context, a namespace,
 * a client certificate only with its key and the other way round, no CA
 * together with insecure-skip-tls-verify, and the source name; a deep copy
 * is equal field by field. ASan and LeakSanitizer check the rest (every
 * path frees what it took).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char base_dir[4096];

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_kubeconfig: invariant violated: %s\n", what);
	abort();
}

static void put_file(const char *name, const char *text)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", base_dir, name);
	f = fopen(path, "w");
	if (f == NULL) {
		abort();
	}
	fputs(text, f);
	fclose(f);
}

static void cleanup(void)
{
	static const char *files[] = {"ca.crt", "client.crt", "client.key",
				      "token", "empty"};
	char path[4200];

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", base_dir, files[i]);
		unlink(path);
	}
	rmdir(base_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *tmp = getenv("TMPDIR");

	/* run.sh points TMPDIR at a directory it removes: an input that
	 * aborts skips atexit() and would leave this behind in /tmp */
	snprintf(base_dir, sizeof base_dir, "%s/baton-fuzz-kc.XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(base_dir) == NULL) {
		abort();
	}
	/* not valid certificates: the loader only reads and keeps them */
	put_file("ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END "
			   "CERTIFICATE-----\n");
	put_file("client.crt", "-----BEGIN CERTIFICATE-----\nMIIC\n-----END "
			       "CERTIFICATE-----\n");
	put_file("client.key", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END "
			       "PRIVATE KEY-----\n");
	put_file("token", "eyJhbGciOiJSUzI1NiJ9.fuzz\n");
	put_file("empty", "");
	atexit(cleanup);
	return 0;
}

static bool same_blob(const unsigned char *a, size_t alen,
		      const unsigned char *b, size_t blen)
{
	if (a == NULL || b == NULL) {
		return a == b && alen == blen;
	}
	return alen == blen && memcmp(a, b, alen) == 0;
}

static bool same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL) {
		return a == b;
	}
	return strcmp(a, b) == 0;
}

static void check(const struct baton_kube_config *c, int rv, const char *ctx)
{
	struct baton_kube_config copy;
	size_t n;

	if (rv != 0) {
		if (rv < 0 || rv >= BATON_E_COUNT || c->errmsg[0] == '\0') {
			fail("a failed load says nothing");
		}
		if (c->server || c->context || c->source || c->ns || c->ca ||
		    c->cert || c->key || c->token || c->token_file ||
		    c->tls_server_name) {
			fail("a failed load left something in the struct");
		}
		return;
	}
	if (c->server == NULL || (strncmp(c->server, "https://", 8) != 0 &&
				  strncmp(c->server, "http://", 7) != 0)) {
		fail("loaded without an http(s) server");
	}
	n = strlen(c->server);
	if (n == 0 || c->server[n - 1] == '/') {
		fail("the server URL ends in '/'");
	}
	if (c->context == NULL || c->context[0] == '\0' ||
	    (ctx != NULL && strcmp(c->context, ctx) != 0)) {
		fail("loaded without the context asked for");
	}
	if (c->ns == NULL || c->ns[0] == '\0' || c->source == NULL) {
		fail("loaded without a namespace or a source");
	}
	if ((c->cert == NULL) != (c->key == NULL)) {
		fail("a client certificate without its key, or a key alone");
	}
	if (c->ca != NULL && c->insecure) {
		fail("a CA together with insecure-skip-tls-verify");
	}
	if ((c->ca != NULL && c->ca_len == 0) ||
	    (c->cert != NULL && c->cert_len == 0)) {
		fail("an empty CA or certificate");
	}
	if (c->token_file != NULL && c->token == NULL) {
		fail("a token file without its token");
	}
	if (baton_kube_config_copy(&copy, c) != 0) {
		fail("a loaded config does not copy");
	}
	if (!same_str(copy.server, c->server) ||
	    !same_str(copy.context, c->context) ||
	    !same_str(copy.source, c->source) || !same_str(copy.ns, c->ns) ||
	    !same_str(copy.token, c->token) ||
	    !same_str(copy.token_file, c->token_file) ||
	    !same_str(copy.tls_server_name, c->tls_server_name) ||
	    copy.insecure != c->insecure ||
	    !same_blob(copy.ca, copy.ca_len, c->ca, c->ca_len) ||
	    !same_blob(copy.cert, copy.cert_len, c->cert, c->cert_len) ||
	    !same_blob(copy.key, copy.key_len, c->key, c->key_len)) {
		fail("a copy differs from its original");
	}
	baton_kube_config_free(&copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const contexts[] = {NULL, "fuzz"};
	struct baton_kube_config cfg;

	for (size_t i = 0; i < 2; i++) {
		int rv = baton_kube_config_load_data(&cfg, (const char *)data,
						     size, "fuzz.kubeconfig",
						     base_dir, contexts[i]);
		check(&cfg, rv, contexts[i]);
		baton_kube_config_free(&cfg);
	}
	return 0;
}
