/*
 * ca.c — deployment CA and TLS leaf certificates through OpenSSL 3's
 * non-deprecated API (EVP_PKEY_Q_keygen, X509_*, X509V3 extensions).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <sodium.h>

#include "ca.h"
#include "cli.h"
#include "evc.h"

#define PEM_MAX (64u * 1024u)

struct ca {
	X509 *cert;
	EVP_PKEY *key;
};

const char *const ca_roles[] = {
	"server", "node", "supervisor", "discipline", "court", "witness", "admin", NULL,
};

/* err = "<formatted>: <first OpenSSL error, if any>"; clears the queue. */
static void
ssl_err(char *err, size_t errcap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
ssl_err(char *err, size_t errcap, const char *fmt, ...)
{
	char what[512], ossl[256] = "";
	unsigned long e = ERR_peek_error();
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(what, sizeof what, fmt, ap) < 0)
		what[0] = '\0';
	va_end(ap);
	if (e != 0)
		ERR_error_string_n(e, ossl, sizeof ossl);
	ERR_clear_error();
	/* A truncated message is still a message. */
	if (snprintf(err, errcap, "%s%s%s", what, e ? ": " : "", ossl) < 0 && errcap > 0)
		err[0] = '\0';
}

static void
seterr(char *err, size_t errcap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(err, errcap, fmt, ap) < 0 && errcap > 0)
		err[0] = '\0';
	va_end(ap);
}

int
ca_role_valid(const char *role)
{
	for (size_t i = 0; ca_roles[i] != NULL; i++)
		if (strcmp(role, ca_roles[i]) == 0)
			return 1;
	return 0;
}

int
ca_cn_valid(const char *cn)
{
	size_t n = strlen(cn);

	if (n == 0 || n > CA_MAX_CN)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)cn[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

int
ca_dns_valid(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (strncmp(s, "*.", 2) == 0) {
		s += 2;
		n -= 2;
	}
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c == '-' && label > 0)) {
			label++;
		} else {
			return 0;
		}
	}
	return 1;
}

int
ca_ip_valid(const char *s)
{
	ASN1_OCTET_STRING *o = a2i_IPADDRESS(s);

	if (o == NULL) {
		ERR_clear_error();
		return 0;
	}
	ASN1_OCTET_STRING_free(o);
	return 1;
}

/* ---- files ---------------------------------------------------------- */

/* Write the PEM in a BIO to a new file. */
static int
write_bio(const char *path, BIO *b, unsigned mode, char *err, size_t errcap)
{
	BUF_MEM *bm = NULL;
	int r;

	BIO_get_mem_ptr(b, &bm);
	if (bm == NULL || bm->length == 0) {
		ssl_err(err, errcap, "%s: encoding failed", path);
		return EVC_ECRYPTO;
	}
	r = cli_write_new(path, mode, bm->data, bm->length);
	if (r == EVC_EEXIST)
		seterr(err, errcap, "%s: already exists (refusing to overwrite)", path);
	else if (r != 0)
		seterr(err, errcap, "%s: %s", path, strerror(errno));
	return r;
}

/* Private key as unencrypted PKCS#8 PEM, 0600. The PEM text lives in a
 * secure-heap BIO that OpenSSL cleanses when it is freed. */
static int
write_key(const char *path, EVP_PKEY *k, char *err, size_t errcap)
{
	BIO *b = BIO_new(BIO_s_secmem());
	int r;

	if (b == NULL) {
		ssl_err(err, errcap, "%s: BIO_new", path);
		return EVC_ENOMEM;
	}
	if (PEM_write_bio_PKCS8PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1) {
		ssl_err(err, errcap, "%s: encoding the private key", path);
		r = EVC_ECRYPTO;
	} else {
		r = write_bio(path, b, 0600, err, errcap);
	}
	BIO_free(b);
	return r;
}

static int
write_cert(const char *path, X509 *x, char *err, size_t errcap)
{
	BIO *b = BIO_new(BIO_s_mem());
	int r;

	if (b == NULL) {
		ssl_err(err, errcap, "%s: BIO_new", path);
		return EVC_ENOMEM;
	}
	if (PEM_write_bio_X509(b, x) != 1) {
		ssl_err(err, errcap, "%s: encoding the certificate", path);
		r = EVC_ECRYPTO;
	} else {
		r = write_bio(path, b, 0644, err, errcap);
	}
	BIO_free(b);
	return r;
}

/* Never prompt for a passphrase: our keys are not encrypted. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

/* ---- certificates --------------------------------------------------- */

static EVP_PKEY *
new_key(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static int
set_serial(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	int ok = 0;

	do {
		if (RAND_bytes(b, sizeof b) != 1)
			return 0;
	} while (b[0] == 0 && memcmp(b, b + 1, sizeof b - 1) == 0);
	if ((bn = BN_bin2bn(b, sizeof b, NULL)) != NULL &&
	    (ai = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	    X509_set_serialNumber(x, ai) == 1)
		ok = 1;
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return ok;
}

static int
add_name_entry(X509_NAME *n, const char *field, const char *val)
{
	return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8, (const unsigned char *)val,
	    -1, -1, 0) == 1;
}

/* Subject O=evchain, [OU=ou,] CN=cn. */
static X509_NAME *
make_name(const char *cn, const char *ou)
{
	X509_NAME *n = X509_NAME_new();

	if (n == NULL)
		return NULL;
	if (!add_name_entry(n, "O", "evchain") || (ou != NULL && !add_name_entry(n, "OU", ou)) ||
	    !add_name_entry(n, "CN", cn)) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

static int
add_ext(X509 *issuer, X509 *subject, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	int ok;

	memset(&ctx, 0, sizeof ctx);
	X509V3_set_ctx(&ctx, issuer, subject, NULL, NULL, 0);
	if ((ex = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(subject, ex, -1) == 1;
	X509_EXTENSION_free(ex);
	return ok;
}

static int
add_san(X509 *x, const ca_leaf *leaf)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	int ok = 0;

	if (gens == NULL)
		return 0;
	for (size_t i = 0; i < leaf->ndns; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();
		if (g == NULL || s == NULL || ASN1_STRING_set(s, leaf->dns[i], -1) != 1) {
			GENERAL_NAME_free(g);
			ASN1_IA5STRING_free(s);
			goto done;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		if (sk_GENERAL_NAME_push(gens, g) <= 0) {
			GENERAL_NAME_free(g);
			goto done;
		}
	}
	for (size_t i = 0; i < leaf->nips; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_OCTET_STRING *o = a2i_IPADDRESS(leaf->ips[i]);
		if (g == NULL || o == NULL) {
			GENERAL_NAME_free(g);
			ASN1_OCTET_STRING_free(o);
			goto done;
		}
		GENERAL_NAME_set0_value(g, GEN_IPADD, o);
		if (sk_GENERAL_NAME_push(gens, g) <= 0) {
			GENERAL_NAME_free(g);
			goto done;
		}
	}
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1;
done:
	GENERAL_NAMES_free(gens);
	return ok;
}

/*
 * Build and sign a certificate for `key`. issuer == NULL: a self-signed CA
 * named cn. Otherwise a leaf for `leaf`, signed by (issuer, issuer_key).
 */
static X509 *
make_cert(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key, const char *cn,
    const ca_leaf *leaf)
{
	X509 *x = X509_new();
	X509_NAME *name = NULL;
	int is_ca = issuer == NULL;
	long days = is_ca ? CA_DAYS : leaf->days > 0 ? leaf->days : CA_LEAF_DAYS;
	long ago = is_ca ? 0 : leaf->not_before_days_ago;

	if (x == NULL)
		return NULL;
	if (X509_set_version(x, X509_VERSION_3) != 1 || !set_serial(x))
		goto fail;
	/* Back-date an hour for clocks that lag (or the days asked for); the
	 * validity is counted from notBefore. */
	if (ago > 0) {
		if (X509_time_adj_ex(X509_getm_notBefore(x), (int)-ago, 0, NULL) == NULL ||
		    X509_time_adj_ex(X509_getm_notAfter(x), (int)(days - ago), 0, NULL) == NULL)
			goto fail;
	} else if (X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) == NULL) {
		goto fail;
	}
	if ((name = make_name(cn, is_ca ? NULL : leaf->role)) == NULL ||
	    X509_set_subject_name(x, name) != 1)
		goto fail;
	if (X509_set_issuer_name(x, is_ca ? name : X509_get_subject_name(issuer)) != 1)
		goto fail;
	if (X509_set_pubkey(x, key) != 1)
		goto fail;
	if (is_ca) {
		if (!add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") ||
		    !add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
		    !add_ext(x, x, NID_subject_key_identifier, "hash"))
			goto fail;
	} else {
		int server = strcmp(leaf->role, "server") == 0;
		if (!add_ext(issuer, x, NID_basic_constraints, "critical,CA:FALSE") ||
		    !add_ext(issuer, x, NID_key_usage, "critical,digitalSignature") ||
		    !add_ext(issuer, x, NID_ext_key_usage, server ? "serverAuth" : "clientAuth") ||
		    !add_ext(issuer, x, NID_subject_key_identifier, "hash") ||
		    !add_ext(issuer, x, NID_authority_key_identifier, "keyid:always"))
			goto fail;
		if (leaf->ndns + leaf->nips > 0 && !add_san(x, leaf))
			goto fail;
	}
	if (X509_sign(x, issuer_key, EVP_sha256()) <= 0)
		goto fail;
	X509_NAME_free(name);
	return x;
fail:
	X509_NAME_free(name);
	X509_free(x);
	return NULL;
}

/* ---- CA ------------------------------------------------------------- */

int
ca_init(const char *dir, const char *name, char *err, size_t errcap)
{
	char crt[4096], keyp[4096];
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	int r;

	if (name == NULL)
		name = CA_DEFAULT_NAME;
	if (!ca_cn_valid(name)) {
		seterr(err, errcap, "CA name '%s': 1 to %u bytes, no control characters", name,
		    CA_MAX_CN);
		return EVC_EINVAL;
	}
	if (cli_join(crt, sizeof crt, dir, CA_CRT_FILE) != 0 ||
	    cli_join(keyp, sizeof keyp, dir, CA_KEY_FILE) != 0) {
		seterr(err, errcap, "%s: path too long", dir);
		return EVC_EINVAL;
	}
	if (cli_exists(crt) || cli_exists(keyp)) {
		seterr(err, errcap, "%s: already exists (refusing to overwrite)",
		    cli_exists(keyp) ? keyp : crt);
		return EVC_EEXIST;
	}
	if ((key = new_key()) == NULL) {
		ssl_err(err, errcap, "%s: generating an EC P-256 key", keyp);
		return EVC_ECRYPTO;
	}
	if ((x = make_cert(NULL, key, key, name, NULL)) == NULL) {
		ssl_err(err, errcap, "%s: making the CA certificate", crt);
		r = EVC_ECRYPTO;
		goto done;
	}
	if ((r = write_key(keyp, key, err, errcap)) != 0)
		goto done;
	if ((r = write_cert(crt, x, err, errcap)) != 0)
		unlink(keyp);
done:
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}

int
ca_load(const char *dir, ca **out, char *err, size_t errcap)
{
	char crt[4096], keyp[4096];
	char *pem = NULL;
	size_t len = 0;
	BIO *b = NULL;
	ca *c = NULL;
	int r;

	*out = NULL;
	if (cli_join(crt, sizeof crt, dir, CA_CRT_FILE) != 0 ||
	    cli_join(keyp, sizeof keyp, dir, CA_KEY_FILE) != 0) {
		seterr(err, errcap, "%s: path too long", dir);
		return EVC_EINVAL;
	}
	if ((c = calloc(1, sizeof *c)) == NULL || (pem = malloc(PEM_MAX)) == NULL) {
		seterr(err, errcap, "out of memory");
		r = EVC_ENOMEM;
		goto fail;
	}

	/* Certificate. */
	if ((r = cli_read_file(crt, 0, pem, PEM_MAX, &len)) != 0) {
		seterr(err, errcap, "%s: %s", crt, r == EVC_ETOOLARGE ? "too large" : strerror(errno));
		goto fail;
	}
	if ((b = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (c->cert = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)) == NULL) {
		ssl_err(err, errcap, "%s: not a PEM certificate", crt);
		r = EVC_EINVAL;
		goto fail;
	}
	BIO_free(b);
	b = NULL;

	/* Key (not through a symlink); the PEM buffer is wiped after. */
	if ((r = cli_read_file(keyp, 1, pem, PEM_MAX, &len)) != 0) {
		seterr(err, errcap, "%s: %s", keyp, r == EVC_ETOOLARGE ? "too large" :
		    errno == ELOOP ? "is a symlink (refused)" : strerror(errno));
		goto fail;
	}
	if ((b = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (c->key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL)) == NULL) {
		ssl_err(err, errcap, "%s: not an unencrypted PEM private key", keyp);
		r = EVC_EINVAL;
		goto fail;
	}
	if (X509_check_private_key(c->cert, c->key) != 1) {
		ssl_err(err, errcap, "%s: does not match %s", keyp, crt);
		r = EVC_EINVAL;
		goto fail;
	}
	if (X509_check_ca(c->cert) == 0) {
		seterr(err, errcap, "%s: not a CA certificate", crt);
		r = EVC_EINVAL;
		goto fail;
	}
	BIO_free(b);
	sodium_memzero(pem, PEM_MAX);
	free(pem);
	*out = c;
	return 0;
fail:
	BIO_free(b);
	if (pem != NULL)
		sodium_memzero(pem, PEM_MAX);
	free(pem);
	ca_free(c);
	return r;
}

void
ca_free(ca *c)
{
	if (c == NULL)
		return;
	X509_free(c->cert);
	EVP_PKEY_free(c->key);
	free(c);
}

int
ca_issue(const ca *c, const ca_leaf *leaf, const char *crt_path, const char *key_path,
    char *err, size_t errcap)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	int r;

	if (!ca_role_valid(leaf->role)) {
		seterr(err, errcap, "unknown role '%s'", leaf->role);
		return EVC_EINVAL;
	}
	if (!ca_cn_valid(leaf->cn)) {
		seterr(err, errcap, "name '%s': 1 to %u bytes, no control characters", leaf->cn,
		    CA_MAX_CN);
		return EVC_EINVAL;
	}
	if (strcmp(leaf->role, "server") == 0 && leaf->ndns + leaf->nips == 0) {
		seterr(err, errcap, "a server certificate needs a DNS name or an IP address");
		return EVC_EINVAL;
	}
	if (leaf->days < 0 || leaf->days > CA_MAX_DAYS || leaf->not_before_days_ago < 0 ||
	    leaf->not_before_days_ago > CA_MAX_DAYS) {
		seterr(err, errcap, "validity: days and days ago are 0..%u", CA_MAX_DAYS);
		return EVC_EINVAL;
	}
	if (leaf->ndns > CA_MAX_SAN || leaf->nips > CA_MAX_SAN) {
		seterr(err, errcap, "at most %u DNS names and %u IP addresses", CA_MAX_SAN,
		    CA_MAX_SAN);
		return EVC_EINVAL;
	}
	for (size_t i = 0; i < leaf->ndns; i++)
		if (!ca_dns_valid(leaf->dns[i])) {
			seterr(err, errcap, "'%s' is not a DNS name", leaf->dns[i]);
			return EVC_EINVAL;
		}
	for (size_t i = 0; i < leaf->nips; i++)
		if (!ca_ip_valid(leaf->ips[i])) {
			seterr(err, errcap, "'%s' is not an IP address", leaf->ips[i]);
			return EVC_EINVAL;
		}
	if (cli_exists(crt_path) || cli_exists(key_path)) {
		seterr(err, errcap, "%s: already exists (refusing to overwrite)",
		    cli_exists(key_path) ? key_path : crt_path);
		return EVC_EEXIST;
	}
	if ((key = new_key()) == NULL) {
		ssl_err(err, errcap, "%s: generating an EC P-256 key", key_path);
		return EVC_ECRYPTO;
	}
	if ((x = make_cert(c->cert, c->key, key, leaf->cn, leaf)) == NULL) {
		ssl_err(err, errcap, "%s: making the certificate", crt_path);
		r = EVC_ECRYPTO;
		goto done;
	}
	if ((r = write_key(key_path, key, err, errcap)) != 0)
		goto done;
	if ((r = write_cert(crt_path, x, err, errcap)) != 0)
		unlink(key_path);
done:
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}
