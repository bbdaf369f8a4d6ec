/* Unit tests for operator/batond/agentpki: what batond issues from the
 * region's agent CA carries the identities the agent API checks, verifies
 * against that CA and no other, and a wrong CA file is a clear error. */
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batond/agentpki.h"
#include "common/error.h"
#include "harness.h"

static char dir[64];
static char path_ca[128], path_key[128], path_ca2[128], path_key2[128],
    path_leaf[128];

static void sh(const char *cmd)
{
	int rc = system(cmd);
	ck_assert_msg(rc == 0, "command failed (%d): %s", rc, cmd);
}

/* Two CAs and a leaf (not a CA) from the first. */
static void setup(void)
{
	char cmd[2048];
	snprintf(dir, sizeof dir, "/tmp/baton-pki-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cmd, sizeof cmd,
		 "set -e; cd %s; exec >/dev/null 2>&1;"
		 "for ca in ca1 ca2; do openssl req -x509 -newkey ec -pkeyopt "
		 "ec_paramgen_curve:P-256 -nodes -keyout $ca.key -out $ca.pem "
		 "-days 2 -subj /CN=$ca -addext "
		 "basicConstraints=critical,CA:TRUE; done;"
		 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		 "-nodes -keyout leaf.key -out leaf.csr -subj /CN=leaf;"
		 "openssl x509 -req -in leaf.csr -CA ca1.pem -CAkey ca1.key "
		 "-CAcreateserial -out leaf.pem -days 2",
		 dir);
	sh(cmd);
	snprintf(path_ca, sizeof path_ca, "%s/ca1.pem", dir);
	snprintf(path_key, sizeof path_key, "%s/ca1.key", dir);
	snprintf(path_ca2, sizeof path_ca2, "%s/ca2.pem", dir);
	snprintf(path_key2, sizeof path_key2, "%s/ca2.key", dir);
	snprintf(path_leaf, sizeof path_leaf, "%s/leaf.pem", dir);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	sh(cmd);
}

static X509 *pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ck_assert_ptr_nonnull(x);
	return x;
}

static EVP_PKEY *pem_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	ck_assert_ptr_nonnull(k);
	return k;
}

static X509 *file_cert(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;
	ck_assert_ptr_nonnull(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	ck_assert_ptr_nonnull(x);
	return x;
}

/* Whether LEAF chains to CA with the purpose "TLS client and server". */
static bool verifies(X509 *leaf, X509 *ca)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok;
	X509_STORE_add_cert(st, ca);
	X509_STORE_CTX_init(ctx, st, leaf, NULL);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	ok = X509_verify_cert(ctx) == 1;
	if (ok) {
		X509_STORE_CTX_cleanup(ctx);
		X509_STORE_CTX_init(ctx, st, leaf, NULL);
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
		ok = X509_verify_cert(ctx) == 1;
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return ok;
}

/* The URI SANs of X, comma-separated, into BUF. */
static const char *uris(X509 *x, char *buf, size_t size)
{
	GENERAL_NAMES *sans =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	buf[0] = '\0';
	for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		if (g->type == GEN_URI) {
			size_t n = strlen(buf);
			snprintf(buf + n, size - n, "%s%s", n ? "," : "",
				 (const char *)ASN1_STRING_get0_data(
				     g->d.uniformResourceIdentifier));
		}
	}
	GENERAL_NAMES_free(sans);
	return buf;
}

START_TEST(issues_the_identities_the_agent_api_checks)
{
	struct baton_agentpki *pki;
	char err[BATON_ERRMSG_SIZE], buf[256];
	const char *c1, *k1, *c1b, *k1b, *c2, *k2;
	X509 *ca = file_cert(path_ca), *ca2 = file_cert(path_ca2), *x;
	EVP_PKEY *k;

	ck_assert_int_eq(baton_agentpki_init(&pki, path_ca, path_key, "eu-west",
					     "198.18.0.11", NULL, err),
			 0);
	ck_assert_str_eq(baton_agentpki_batond_identity(pki),
			 "baton://batond/eu-west");

	/* batond: its identity, the address the agents dial, this CA only */
	x = pem_cert(baton_agentpki_batond_cert_pem(pki));
	k = pem_key(baton_agentpki_batond_key_pem(pki));
	ck_assert_str_eq(uris(x, buf, sizeof buf), "baton://batond/eu-west");
	ck_assert_int_eq(X509_check_ip_asc(x, "198.18.0.11", 0), 1);
	ck_assert_int_eq(X509_check_ip_asc(x, "198.18.0.12", 0), 0);
	ck_assert_int_eq(X509_check_private_key(x, k), 1);
	ck_assert(verifies(x, ca));
	ck_assert(!verifies(x, ca2));
	ck_assert_int_eq(X509_check_ca(x), 0);
	X509_free(x);
	EVP_PKEY_free(k);

	/* a database's agents: its name, once per process, not another's */
	ck_assert_int_eq(
	    baton_agentpki_agent(pki, "shop", "orders", &c1, &k1, err), 0);
	ck_assert_int_eq(
	    baton_agentpki_agent(pki, "shop", "orders", &c1b, &k1b, err), 0);
	ck_assert_ptr_eq(c1, c1b);
	ck_assert_ptr_eq(k1, k1b);
	ck_assert_int_eq(
	    baton_agentpki_agent(pki, "shop", "payments", &c2, &k2, err), 0);
	ck_assert_str_ne(c1, c2);
	x = pem_cert(c1);
	k = pem_key(k1);
	ck_assert_str_eq(uris(x, buf, sizeof buf), "baton://agent/shop/orders");
	ck_assert_int_eq(
	    X509_check_host(x, "orders.shop.agent.baton.invalid", 0, 0, NULL),
	    1);
	ck_assert_int_eq(
	    X509_check_host(x, "payments.shop.agent.baton.invalid", 0, 0, NULL),
	    0);
	ck_assert_int_eq(X509_check_private_key(x, k), 1);
	ck_assert(verifies(x, ca));
	ck_assert(!verifies(x, ca2));
	X509_free(x);
	EVP_PKEY_free(k);
	ck_assert_str_eq(
	    baton_agentpki_agent_host("shop", "orders", buf, sizeof buf),
	    "orders.shop.agent.baton.invalid");

	/* names that are not DNS labels are refused, not issued */
	ck_assert_int_eq(
	    baton_agentpki_agent(pki, "shop", "a.b", &c2, &k2, err),
	    BATON_EINVAL);
	ck_assert_int_eq(
	    baton_agentpki_agent(pki, "Shop", "orders", &c2, &k2, err),
	    BATON_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "Shop/orders"));
	baton_agentpki_free(pki);

	/* a DNS name for batond's host goes in as a DNS SAN */
	ck_assert_int_eq(baton_agentpki_init(&pki, path_ca, path_key, "eu-west",
					     "baton-agents.baton-system.svc",
					     "baton-system", err),
			 0);
	x = pem_cert(baton_agentpki_batond_cert_pem(pki));
	ck_assert_int_eq(
	    X509_check_host(x, "baton-agents.baton-system.svc", 0, 0, NULL), 1);
	X509_free(x);
	baton_agentpki_free(pki);
	X509_free(ca);
	X509_free(ca2);
}
END_TEST

START_TEST(a_wrong_ca_is_a_clear_error)
{
	struct baton_agentpki *pki = (void *)1;
	char err[BATON_ERRMSG_SIZE];

	ck_assert_int_eq(baton_agentpki_init(&pki, "/nonexistent/ca.pem",
					     path_key, "eu-west", NULL, NULL,
					     err),
			 BATON_ECONFIG);
	ck_assert_ptr_null(pki);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/ca.pem"));

	/* a key that is not the certificate's */
	ck_assert_int_eq(baton_agentpki_init(&pki, path_ca, path_key2,
					     "eu-west", NULL, NULL, err),
			 BATON_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "does not belong"));

	/* a leaf is not a CA */
	ck_assert_int_eq(baton_agentpki_init(&pki, path_leaf, path_key,
					     "eu-west", NULL, NULL, err),
			 BATON_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "not a CA"));

	/* a key file that holds a certificate */
	ck_assert_int_eq(baton_agentpki_init(&pki, path_ca, path_ca, "eu-west",
					     NULL, NULL, err),
			 BATON_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "no PEM private key"));

	/* a host that is neither an IP nor a DNS name */
	ck_assert_int_eq(baton_agentpki_init(&pki, path_ca, path_key, "eu-west",
					     "bad host/x", NULL, err),
			 BATON_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "bad host/x"));
	ck_assert_ptr_null(pki);
}
END_TEST

static Suite *agentpki_suite(void)
{
	Suite *s = suite_create("batond-agentpki");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, issues_the_identities_the_agent_api_checks);
	tcase_add_test(tc, a_wrong_ca_is_a_clear_error);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(agentpki_suite)
