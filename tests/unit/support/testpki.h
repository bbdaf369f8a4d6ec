/* Certificates made in the test process (OpenSSL): a fleet CA and the
 * leaves it signs, written as PEM files, for tests of mutual TLS (the
 * Raft transport, the peer API). Failures fail the test (ck_assert). */
#ifndef BATON_TEST_TESTPKI_H
#define BATON_TEST_TESTPKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>

/* CERT (or, when CERT is NULL, KEY) as PEM into PATH. */
void testpki_write_pem(const char *path, X509 *cert, EVP_PKEY *key);

/* A certificate for KEY with common name CN, signed by (CA, CA_KEY), or
 * the self-signed CA when CA is NULL; SAN (e.g. "URI:baton://region/eu")
 * on a leaf when non-NULL; valid from NOT_BEFORE to NOT_AFTER seconds from
 * now. The caller frees it. */
X509 *testpki_cert(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *key, const char *cn,
		   const char *san, long not_before, long not_after);

/* A new P-256 key and its leaf (CN, SAN, validity as testpki_cert()),
 * written to DIR/NAME.crt and DIR/NAME.key. */
void testpki_issue(const char *dir, const char *name, X509 *ca,
		   EVP_PKEY *ca_key, const char *cn, const char *san,
		   long not_before, long not_after);

#endif /* BATON_TEST_TESTPKI_H */
