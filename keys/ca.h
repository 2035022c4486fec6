/*
 * ca.h — the deployment CA of evchain-keys: an EC P-256 CA certificate and
 * key, and TLS leaf certificates for the roles of DESIGN.md §2.
 *
 *   CA    subject CN=<name>, O=evchain; basicConstraints critical CA:TRUE;
 *         keyUsage critical keyCertSign, cRLSign; subjectKeyIdentifier;
 *         valid 10 years.
 *   leaf  subject CN=<name>, OU=<role>, O=evchain; basicConstraints critical
 *         CA:FALSE; keyUsage critical digitalSignature; extendedKeyUsage
 *         serverAuth (role server) or clientAuth (every other role);
 *         subjectAltName DNS/IP (server); subject and authority key
 *         identifiers; valid 2 years (ca_leaf.days, from notBefore, one hour
 *         back unless ca_leaf.not_before_days_ago).
 * Serials are 128 random bits; signatures ECDSA with SHA-256. Private keys
 * are written as unencrypted PKCS#8 PEM, 0600, O_EXCL|O_NOFOLLOW;
 * certificates as PEM, 0644.
 */
#ifndef EVC_KEYS_CA_H
#define EVC_KEYS_CA_H

#include <stddef.h>

#define CA_CRT_FILE "ca.crt"
#define CA_KEY_FILE "ca.key"
#define CA_DEFAULT_NAME "evchain deployment CA"
#define CA_DAYS 3650
#define CA_LEAF_DAYS 730
#define CA_MAX_CN 64            /* X.520 ub-common-name */
#define CA_MAX_SAN 32           /* --dns / --ip each */

typedef struct ca ca;

typedef struct ca_leaf {
	const char *role;       /* one of ca_roles */
	const char *cn;
	const char *const *dns; /* subjectAltName DNS names */
	size_t ndns;
	const char *const *ips; /* subjectAltName IP addresses (v4 or v6 text) */
	size_t nips;
	long days;              /* validity in days from notBefore; 0: CA_LEAF_DAYS */
	long not_before_days_ago; /* notBefore this many days back; 0: one hour back.
	                         * With days < not_before_days_ago the certificate
	                         * is already expired (tests of expiry handling). */
} ca_leaf;

#define CA_MAX_DAYS 36500       /* --days and --not-before-days-ago: at most 100 years */

/* The roles, NULL-terminated: server, node, supervisor, discipline, court,
 * witness, admin. */
extern const char *const ca_roles[];

/* 1 if role is one of ca_roles. */
int ca_role_valid(const char *role);
/* 1 if cn is a usable common name: 1..CA_MAX_CN bytes, no control character. */
int ca_cn_valid(const char *cn);
/* 1 if s is a DNS name (labels of [A-Za-z0-9-], optional leading "*."). */
int ca_dns_valid(const char *s);
/* 1 if s is an IPv4 or IPv6 address. */
int ca_ip_valid(const char *s);

/*
 * Create DIR/ca.key and DIR/ca.crt (DIR must exist). Refuses when either
 * exists. 0, EVC_EEXIST, EVC_EIO, EVC_ECRYPTO, EVC_EINVAL (name); err gets
 * "file: reason".
 */
int ca_init(const char *dir, const char *name, char *err, size_t errcap);

/* Load DIR/ca.crt and DIR/ca.key (the key must match the certificate and
 * must not be a symlink). 0 or EVC_EIO / EVC_EINVAL / EVC_ECRYPTO with err. */
int ca_load(const char *dir, ca **out, char *err, size_t errcap);

/* Free. Accepts NULL. */
void ca_free(ca *c);

/*
 * Issue a leaf certificate with a new key: crt_path (0644), key_path (0600).
 * Refuses when either exists (EVC_EEXIST); a server certificate needs at
 * least one DNS name or IP address (EVC_EINVAL). On failure neither file is
 * left behind. 0 or EVC_E* with err.
 */
int ca_issue(const ca *c, const ca_leaf *leaf, const char *crt_path, const char *key_path,
    char *err, size_t errcap);

#endif
