#include "batond/agentpki.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/error.h"

struct issued {
	char key[200]; /* "ns/db" */
	char *cert_pem;
	char *key_pem;
	struct issued *next;
};

struct baton_agentpki {
	X509 *ca;
	EVP_PKEY *ca_key;
	char *ca_pem;
	char *cert_pem; /* batond's */
	char *key_pem;
	char identity[160];
	char ns[64]; /* batond's, "" if none */
	struct issued *issued;
};

static void ssl_errmsg(char *errmsg, const char *what, const char *file)
{
	unsigned long e = ERR_get_error();
	char buf[256];
	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
	}
	ERR_clear_error();
	baton_errmsg_printf(errmsg, "agent CA: %s%s%s: %s", what,
			    file ? " " : "", file ? file : "",
			    e ? buf : "unknown OpenSSL error");
}

char *baton_agentpki_base64(const char *data, size_t len)
{
	size_t n = 4 * ((len + 2) / 3) + 1;
	char *out = malloc(n);
	if (out == NULL) {
		return NULL;
	}
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data,
			(int)len);
	return out;
}

static char *bio_text(BIO *b)
{
	char *mem;
	long n = BIO_get_mem_data(b, &mem);
	char *out = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (out != NULL) {
		memcpy(out, mem, (size_t)n);
		out[n] = '\0';
	}
	return out;
}

static char *cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;
	if (b != NULL && PEM_write_bio_X509(b, x) == 1) {
		out = bio_text(b);
	}
	BIO_free(b);
	return out;
}

static char *key_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;
	if (b != NULL &&
	    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1) {
		out = bio_text(b);
	}
	BIO_free(b);
	return out;
}

static bool add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	bool ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL) {
		return false;
	}
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/* A leaf for CN with SANS ("URI:...,DNS:..."), signed by the CA; its new
 * key and certificate as PEM. */
static int issue(struct baton_agentpki *p, const char *cn, const char *sans,
		 char **cert_out, char **key_out, char *errmsg)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	ASN1_INTEGER *serial = NULL;
	unsigned char rnd[16];
	X509_NAME *name;
	int rv = BATON_ETLS;

	*cert_out = *key_out = NULL;
	if (k == NULL || x == NULL) {
		ssl_errmsg(errmsg, "cannot make a key for", cn);
		goto out;
	}
	if (RAND_bytes(rnd, sizeof rnd) != 1) {
		ssl_errmsg(errmsg, "no random serial for", cn);
		goto out;
	}
	rnd[0] &= 0x7f; /* a positive serial */
	{
		BIGNUM *bn = BN_bin2bn(rnd, sizeof rnd, NULL);
		serial = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
		BN_free(bn);
	}
	name = X509_NAME_new();
	if (serial == NULL || name == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
				       (const unsigned char *)cn, -1, -1,
				       0) != 1 ||
	    X509_set_version(x, 2) != 1 ||
	    X509_set_serialNumber(x, serial) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(p->ca)) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x),
			    (long)BATON_AGENTPKI_DAYS * 86400) == NULL ||
	    X509_set_pubkey(x, k) != 1 ||
	    !add_ext(x, p->ca, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(x, p->ca, NID_key_usage, "critical,digitalSignature") ||
	    !add_ext(x, p->ca, NID_ext_key_usage, "serverAuth,clientAuth") ||
	    !add_ext(x, p->ca, NID_subject_alt_name, sans) ||
	    !add_ext(x, p->ca, NID_authority_key_identifier, "keyid") ||
	    X509_sign(x, p->ca_key, EVP_sha256()) <= 0) {
		X509_NAME_free(name);
		ssl_errmsg(errmsg, "cannot issue the certificate of", cn);
		goto out;
	}
	X509_NAME_free(name);
	*cert_out = cert_pem(x);
	*key_out = key_pem(k);
	if (*cert_out == NULL || *key_out == NULL) {
		free(*cert_out);
		free(*key_out);
		*cert_out = *key_out = NULL;
		rv = BATON_ENOMEM;
		goto out;
	}
	rv = 0;
out:
	ASN1_INTEGER_free(serial);
	X509_free(x);
	EVP_PKEY_free(k);
	return rv;
}

static bool is_ip(const char *host)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, host, buf) == 1 ||
	       inet_pton(AF_INET6, host, buf) == 1;
}

/* DNS-1123-ish: what may go into a SAN and a URL host unescaped. */
static bool name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.')) {
			return false;
		}
	}
	return true;
}

int baton_agentpki_init(struct baton_agentpki **out, const char *ca_cert,
			const char *ca_key, const char *region,
			const char *batond_host, const char *batond_namespace,
			char *errmsg)
{
	struct baton_agentpki *p = calloc(1, sizeof *p);
	char sans[512];
	FILE *f;
	int rv;

	*out = NULL;
	if (p == NULL) {
		return BATON_ENOMEM;
	}
	if (!name_ok(region, 63)) {
		baton_errmsg_printf(errmsg,
				    "agent CA: region '%s' is not a "
				    "DNS label",
				    region);
		free(p);
		return BATON_ECONFIG;
	}
	f = fopen(ca_cert, "r");
	if (f == NULL) {
		baton_errmsg_printf(errmsg, "agent CA: cannot open %s: %m",
				    ca_cert);
		rv = BATON_ECONFIG;
		goto err;
	}
	p->ca = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (p->ca == NULL) {
		ssl_errmsg(errmsg, "no PEM certificate in", ca_cert);
		rv = BATON_ECONFIG;
		goto err;
	}
	if (X509_check_ca(p->ca) == 0) {
		baton_errmsg_printf(errmsg,
				    "agent CA: %s is not a CA certificate "
				    "(basicConstraints CA:TRUE)",
				    ca_cert);
		rv = BATON_ECONFIG;
		goto err;
	}
	f = fopen(ca_key, "r");
	if (f == NULL) {
		baton_errmsg_printf(errmsg, "agent CA: cannot open %s: %m",
				    ca_key);
		rv = BATON_ECONFIG;
		goto err;
	}
	p->ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (p->ca_key == NULL) {
		ssl_errmsg(errmsg, "no PEM private key in", ca_key);
		rv = BATON_ECONFIG;
		goto err;
	}
	if (X509_check_private_key(p->ca, p->ca_key) != 1) {
		ERR_clear_error();
		baton_errmsg_printf(errmsg,
				    "agent CA: the key %s does not belong to "
				    "the certificate %s",
				    ca_key, ca_cert);
		rv = BATON_ECONFIG;
		goto err;
	}
	p->ca_pem = cert_pem(p->ca);
	if (p->ca_pem == NULL) {
		rv = BATON_ENOMEM;
		goto err;
	}
	snprintf(p->identity, sizeof p->identity, "baton://batond/%s", region);
	if (batond_namespace != NULL && batond_namespace[0] != '\0') {
		if (!name_ok(batond_namespace, 63) ||
		    strchr(batond_namespace, '.') != NULL) {
			baton_errmsg_printf(errmsg,
					    "agent CA: namespace '%s' is not a "
					    "DNS label",
					    batond_namespace);
			rv = BATON_ECONFIG;
			goto err;
		}
		snprintf(p->ns, sizeof p->ns, "%s", batond_namespace);
	}
	if (batond_host != NULL && batond_host[0] != '\0') {
		if (!is_ip(batond_host) && !name_ok(batond_host, 253)) {
			baton_errmsg_printf(errmsg,
					    "agent CA: batond's host '%s' is "
					    "neither an IP nor a DNS name",
					    batond_host);
			rv = BATON_ECONFIG;
			goto err;
		}
		snprintf(sans, sizeof sans, "URI:%s,%s:%s", p->identity,
			 is_ip(batond_host) ? "IP" : "DNS", batond_host);
	} else {
		snprintf(sans, sizeof sans, "URI:%s", p->identity);
	}
	rv = issue(p, "batond", sans, &p->cert_pem, &p->key_pem, errmsg);
	if (rv != 0) {
		goto err;
	}
	*out = p;
	return 0;
err:
	baton_agentpki_free(p);
	return rv;
}

void baton_agentpki_free(struct baton_agentpki *p)
{
	if (p == NULL) {
		return;
	}
	while (p->issued != NULL) {
		struct issued *i = p->issued;
		p->issued = i->next;
		free(i->cert_pem);
		if (i->key_pem != NULL) {
			OPENSSL_cleanse(i->key_pem, strlen(i->key_pem));
		}
		free(i->key_pem);
		free(i);
	}
	X509_free(p->ca);
	EVP_PKEY_free(p->ca_key);
	free(p->ca_pem);
	free(p->cert_pem);
	if (p->key_pem != NULL) {
		OPENSSL_cleanse(p->key_pem, strlen(p->key_pem));
	}
	free(p->key_pem);
	free(p);
}

const char *baton_agentpki_ca_pem(const struct baton_agentpki *p)
{
	return p->ca_pem;
}

const char *baton_agentpki_batond_cert_pem(const struct baton_agentpki *p)
{
	return p->cert_pem;
}

const char *baton_agentpki_batond_key_pem(const struct baton_agentpki *p)
{
	return p->key_pem;
}

const char *baton_agentpki_batond_namespace(const struct baton_agentpki *p)
{
	return p->ns[0] != '\0' ? p->ns : NULL;
}

const char *baton_agentpki_batond_identity(const struct baton_agentpki *p)
{
	return p->identity;
}

const char *baton_agentpki_agent_host(const char *ns, const char *db, char *buf,
				      size_t size)
{
	snprintf(buf, size, "%s.%s.agent.baton.invalid", db, ns);
	return buf;
}

const char *baton_agentpki_agent_identity(const char *ns, const char *db,
					  char *buf, size_t size)
{
	snprintf(buf, size, "baton://agent/%s/%s", ns, db);
	return buf;
}

int baton_agentpki_agent(struct baton_agentpki *p, const char *ns,
			 const char *db, const char **cert_pem_out,
			 const char **key_pem_out, char *errmsg)
{
	char key[200];
	char host[200];
	char id[200];
	char sans[512];
	struct issued *i;
	int rv;

	if (!name_ok(ns, 63) || !name_ok(db, 63) || strchr(ns, '.') ||
	    strchr(db, '.')) {
		baton_errmsg_printf(errmsg,
				    "agent CA: '%s/%s' is not a namespace "
				    "and a name (DNS labels)",
				    ns, db);
		return BATON_EINVAL;
	}
	snprintf(key, sizeof key, "%s/%s", ns, db);
	for (i = p->issued; i != NULL; i = i->next) {
		if (strcmp(i->key, key) == 0) {
			*cert_pem_out = i->cert_pem;
			*key_pem_out = i->key_pem;
			return 0;
		}
	}
	i = calloc(1, sizeof *i);
	if (i == NULL) {
		return BATON_ENOMEM;
	}
	snprintf(i->key, sizeof i->key, "%s", key);
	snprintf(sans, sizeof sans, "URI:%s,DNS:%s",
		 baton_agentpki_agent_identity(ns, db, id, sizeof id),
		 baton_agentpki_agent_host(ns, db, host, sizeof host));
	rv = issue(p, key, sans, &i->cert_pem, &i->key_pem, errmsg);
	if (rv != 0) {
		free(i);
		return rv;
	}
	i->next = p->issued;
	p->issued = i;
	*cert_pem_out = i->cert_pem;
	*key_pem_out = i->key_pem;
	return 0;
}
