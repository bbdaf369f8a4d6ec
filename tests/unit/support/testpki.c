/* tests/unit/support/testpki.h */
#include "testpki.h"

#include <check.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>

void testpki_write_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	if (cert != NULL) {
		ck_assert(PEM_write_X509(f, cert));
	} else {
		ck_assert(
		    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
	}
	fclose(f);
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ck_assert_ptr_nonnull(ext);
	X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
}

X509 *testpki_cert(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *key, const char *cn,
		   const char *san, long not_before, long not_after)
{
	static long serial = 1;
	X509 *cert = X509_new();
	X509_NAME *name;

	ck_assert_ptr_nonnull(cert);
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
	X509_gmtime_adj(X509_getm_notBefore(cert), not_before);
	X509_gmtime_adj(X509_getm_notAfter(cert), not_after);
	X509_set_pubkey(cert, key);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(cert,
			     ca != NULL ? X509_get_subject_name(ca) : name);
	if (ca == NULL) {
		add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(cert, cert, NID_key_usage, "critical,keyCertSign");
	} else {
		add_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(cert, ca, NID_ext_key_usage, "serverAuth,clientAuth");
		if (san != NULL) {
			add_ext(cert, ca, NID_subject_alt_name, san);
		}
	}
	ck_assert(X509_sign(cert, ca_key != NULL ? ca_key : key, EVP_sha256()) >
		  0);
	return cert;
}

void testpki_issue(const char *dir, const char *name, X509 *ca,
		   EVP_PKEY *ca_key, const char *cn, const char *san,
		   long not_before, long not_after)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	char path[512];
	X509 *cert;

	ck_assert_ptr_nonnull(key);
	cert = testpki_cert(ca, ca_key, key, cn, san, not_before, not_after);
	snprintf(path, sizeof path, "%s/%s.crt", dir, name);
	testpki_write_pem(path, cert, NULL);
	snprintf(path, sizeof path, "%s/%s.key", dir, name);
	testpki_write_pem(path, NULL, key);
	X509_free(cert);
	EVP_PKEY_free(key);
}
