/*
 * test_keys_cli.c — runs the built evchain-keys ($BIN/evchain-keys, else
 * bin/evchain-keys): `dev` makes every file of a local deployment with the
 * right modes, certificates that chain to ca.crt with the right OU/CN/SAN,
 * signed-note keys of the right types and names, and profiles that load and
 * name files that exist; a second `dev` fails and changes nothing; `gen`
 * with a passphrase file; `init-ca` / `issue`; usage errors exit 2.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../check.h"
#include "conf.h"
#include "evc.h"
#include "hash.h"
#include "keys.h"

static char prog[PATH_MAX];
static char tmpdir[] = "/tmp/evc-test-keys-cli-XXXXXX";
static char outfile[PATH_MAX];

static const char *
tpath(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *
tpath(const char *fmt, ...)
{
	static char buf[16][PATH_MAX];
	static unsigned k;
	char *p = buf[k++ % 16], rel[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	REQUIRE(n >= 0 && (size_t)n < sizeof rel);
	n = snprintf(p, sizeof buf[0], "%s/%s", tmpdir, rel);
	REQUIRE(n > 0 && (size_t)n < sizeof buf[0]);
	return p;
}

/* Run evchain-keys with the NULL-terminated arguments; stdout and stderr go
 * to outfile. Returns the exit status (or -1 if it did not exit). */
static int
run(const char *a0, ...)
{
	const char *argv[64];
	size_t n = 0;
	va_list ap;
	pid_t pid;
	int st;

	argv[n++] = prog;
	argv[n++] = a0;
	va_start(ap, a0);
	if (a0 != NULL)
		while (n < 63 && (argv[n] = va_arg(ap, const char *)) != NULL)
			n++;
	va_end(ap);
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	REQUIRE(waitpid(pid, &st, 0) == pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static size_t
slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		buf[0] = '\0';
		return 0;
	}
	n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

/* The last run's output contains s. */
static int
output_has(const char *s)
{
	static char out[65536];
	slurp(outfile, out, sizeof out);
	return strstr(out, s) != NULL;
}

static int
file_mode(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return -1;
	return (int)(st.st_mode & 07777);
}

static int
exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static X509 *
load_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

static EVP_PKEY *
load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

/* The value of the (single) subject entry nid, or "". */
static const char *
subject_entry(X509 *x, int nid, char *buf, size_t cap)
{
	X509_NAME *n = X509_get_subject_name(x);
	int i = X509_NAME_get_index_by_NID(n, nid, -1);

	buf[0] = '\0';
	if (i < 0 || X509_NAME_get_index_by_NID(n, nid, i) >= 0)
		return buf;
	const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
	int len = ASN1_STRING_length(s);
	if (len < 0 || (size_t)len >= cap)
		return buf;
	memcpy(buf, ASN1_STRING_get0_data(s), (size_t)len);
	buf[len] = '\0';
	return buf;
}

/* Verify cert (file) against ca for purpose; 1 if it chains. */
static int
chains(X509 *ca, X509 *x, int purpose, int quiet)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok = 0;

	REQUIRE(st != NULL && ctx != NULL);
	REQUIRE(X509_STORE_add_cert(st, ca) == 1);
	if (X509_STORE_CTX_init(ctx, st, x, NULL) == 1 &&
	    X509_STORE_CTX_set_purpose(ctx, purpose) == 1)
		ok = X509_verify_cert(ctx) == 1;
	if (!ok && !quiet)
		fprintf(stderr, "verify: %s\n",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	ERR_clear_error();
	return ok;
}

/* Check DIR/<stem>.crt and DIR/<stem>-tls.key: chain, OU, CN, key match,
 * key mode and PKCS#8 PEM. */
static void
check_cert(const char *dir, X509 *ca, const char *stem, const char *cn, const char *ou)
{
	char buf[256], pem[8192];
	const char *crt = tpath("%s/%s.crt", dir, stem), *key = tpath("%s/%s-tls.key", dir, stem);
	int server = strcmp(ou, "server") == 0;
	X509 *x = load_cert(crt);
	EVP_PKEY *k = load_key(key);

	CHECK_(x != NULL, "%s: not a PEM certificate", crt);
	CHECK_(k != NULL, "%s: not a PEM private key", key);
	if (x == NULL || k == NULL)
		goto done;
	CHECK_(chains(ca, x, server ? X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT, 0),
	    "%s does not chain to ca.crt for its purpose", crt);
	/* A client certificate is not a server certificate, and vice versa. */
	CHECK_(!chains(ca, x, server ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER, 1),
	    "%s chains for the other purpose", crt);
	CHECK_STR(subject_entry(x, NID_commonName, buf, sizeof buf), cn);
	CHECK_STR(subject_entry(x, NID_organizationalUnitName, buf, sizeof buf), ou);
	CHECK_STR(subject_entry(x, NID_organizationName, buf, sizeof buf), "evchain");
	CHECK_EQ(X509_check_private_key(x, k), 1);
	CHECK_EQ(X509_check_ca(x), 0);
	CHECK_EQ(X509_get_version(x), X509_VERSION_3);
	CHECK_EQ(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
	CHECK_EQ(EVP_PKEY_get_bits(k), 256);
	/* 128-bit serial: 16 or 17 DER content bytes, positive. */
	{
		const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
		CHECK(ASN1_STRING_length(sn) >= 9 && ASN1_STRING_length(sn) <= 17);
	}
	/* Authority key id = the CA's subject key id. */
	{
		const ASN1_OCTET_STRING *akid = X509_get0_authority_key_id(x);
		const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(ca);
		CHECK(akid != NULL && skid != NULL && ASN1_OCTET_STRING_cmp(akid, skid) == 0);
	}
	CHECK_EQ(file_mode(key), 0600);
	slurp(key, pem, sizeof pem);
	CHECK(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
done:
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
check_vkey(const char *path, const char *name, uint8_t type)
{
	evc_vkey vk;

	CHECK_(keys_read_public(path, &vk) == 0, "%s: not a verifier key", path);
	CHECK_STR(vk.name, name);
	CHECK_EQ(vk.type, type);
	CHECK_EQ(file_mode(path), 0644);
}

/* DIR/<stem>.key opens (plain) and matches DIR/<stem>.pub. */
static void
check_keypair(const char *dir, const char *stem, const char *name, uint8_t type)
{
	const char *kp = tpath("%s/%s.key", dir, stem), *pp = tpath("%s/%s.pub", dir, stem);
	evc_skey sk;
	evc_vkey vk, pub;

	check_vkey(pp, name, type);
	CHECK_EQ(file_mode(kp), 0600);
	CHECK_(keys_read_private(kp, NULL, 0, &sk) == 0, "%s: not a signer key", kp);
	keys_public(&sk, &pub);
	keys_skey_wipe(&sk);
	if (keys_read_public(pp, &vk) == 0) {
		CHECK_MEM(pub.pub, vk.pub, 32);
		CHECK_EQ(pub.id, vk.id);
	}
}

/* Hash of every file in dir (names and contents) with its count. */
static void
dir_digest(const char *dir, uint8_t out[32], unsigned *count)
{
	static char content[1 << 16];
	uint8_t acc[32] = { 0 }, h[32];
	DIR *d = opendir(dir);
	struct dirent *e;

	REQUIRE(d != NULL);
	*count = 0;
	while ((e = readdir(d)) != NULL) {
		char p[PATH_MAX];
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		int n = snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		REQUIRE(n > 0 && (size_t)n < sizeof p);
		REQUIRE(lstat(p, &st) == 0);
		size_t len = S_ISREG(st.st_mode) ? slurp(p, content, sizeof content) : 0;
		hash_sha256_2(e->d_name, strlen(e->d_name), content, len, h);
		/* XOR: independent of readdir order. */
		for (int i = 0; i < 32; i++)
			acc[i] ^= h[i];
		uint8_t meta[16];
		memcpy(meta, &st.st_mtim, sizeof meta < sizeof st.st_mtim ? sizeof meta : sizeof st.st_mtim);
		hash_sha256_2(e->d_name, strlen(e->d_name), meta, sizeof meta, h);
		for (int i = 0; i < 32; i++)
			acc[i] ^= h[i];
		(*count)++;
	}
	closedir(d);
	memcpy(out, acc, 32);
}

static const char *const profiles[][3] = {
	/* file, role, signing key (or NULL) */
	{ "node", "node", "node.key" },
	{ "admin", "admin", "admin.key" },
	{ "supervisor", "supervisor", NULL },
	{ "discipline", "discipline", NULL },
	{ "court", "court", NULL },
	{ "witness-supervisor", "witness", "witness-supervisor.key" },
	{ "witness-discipline", "witness", "witness-discipline.key" },
};

static void
check_profile(const char *dir, const char *file, const char *role, const char *signing,
    const char *server)
{
	char err[512], buf[PATH_MAX], want[64];
	const char *w[4];
	conf c;
	const char *path = tpath("%s/%s.conf", dir, file);

	CHECK_(conf_load(path, &c, err, sizeof err) == 0, "%s", err);
	CHECK_STR(conf_get(&c, "server"), server);
	CHECK_STR(conf_get(&c, "role"), role);
	CHECK_STR(conf_get(&c, "ca"), "ca.crt");
	snprintf(want, sizeof want, "%s.crt", file);
	CHECK_STR(conf_get(&c, "cert"), want);
	snprintf(want, sizeof want, "%s-tls.key", file);
	CHECK_STR(conf_get(&c, "key"), want);
	CHECK_STR(conf_get(&c, "log_key"), "log.pub");
	static const char *const pathkeys[] = { "ca", "cert", "key", "log_key", "signing_key" };
	for (size_t i = 0; i < sizeof pathkeys / sizeof pathkeys[0]; i++) {
		const char *v = conf_get(&c, pathkeys[i]);
		if (v == NULL)
			continue;
		CHECK_(strchr(v, '/') == NULL, "%s: %s = %s is not a bare file name", path,
		    pathkeys[i], v);
		CHECK_(conf_get_path(&c, pathkeys[i], buf, sizeof buf) != NULL && exists(buf),
		    "%s: %s names a missing file", path, pathkeys[i]);
	}
	if (signing != NULL)
		CHECK_STR(conf_get(&c, "signing_key"), signing);
	else
		CHECK(conf_get(&c, "signing_key") == NULL);
	CHECK_EQ(conf_get_all(&c, "witness", w, 4), 2);
	CHECK_STR(w[0], "witness-supervisor.pub");
	CHECK_STR(w[1], "witness-discipline.pub");
	for (size_t i = 0; i < 2; i++)
		CHECK(conf_resolve(&c, w[i], buf, sizeof buf) != NULL && exists(buf));
	/* The cert's OU is the profile's role. */
	conf_free(&c);
}

static void
test_dev(void)
{
	static const char *const files[] = {
		"ca.crt", "ca.key", "server.crt", "server-tls.key",
		"log.key", "log.pub", "admin.key", "admin.pub", "node.key", "node.pub",
		"witness-supervisor.key", "witness-supervisor.pub",
		"witness-discipline.key", "witness-discipline.pub",
		"node.crt", "node-tls.key", "admin.crt", "admin-tls.key",
		"supervisor.crt", "supervisor-tls.key", "discipline.crt", "discipline-tls.key",
		"court.crt", "court-tls.key", "witness-supervisor.crt", "witness-supervisor-tls.key",
		"witness-discipline.crt", "witness-discipline-tls.key",
		"evchaind.conf", "node.conf", "admin.conf", "supervisor.conf", "discipline.conf",
		"court.conf", "witness-supervisor.conf", "witness-discipline.conf",
	};
	char dir[PATH_MAX], err[512], buf[PATH_MAX];
	uint8_t d1[32], d2[32];
	unsigned n1, n2, nprivate = 0;
	conf c;
	X509 *ca, *srv;

	/* tpath() buffers rotate: keep our own copy. */
	REQUIRE(strlen(tpath("dep")) < sizeof dir);
	strcpy(dir, tpath("dep"));
	CHECK_EQ(run("dev", dir, "--port", "7901", NULL), 0);
	CHECK(output_has("evchaind.conf"));
	CHECK_EQ(file_mode(dir), 0700);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		const char *p = tpath("dep/%s", files[i]);
		CHECK_(exists(p), "dev did not create %s", files[i]);
		size_t l = strlen(files[i]);
		if (l > 4 && strcmp(files[i] + l - 4, ".key") == 0) {
			CHECK_(file_mode(p) == 0600, "%s has mode %o", files[i], file_mode(p));
			nprivate++;
		}
	}
	CHECK_EQ(nprivate, 14);
	dir_digest(dir, d1, &n1);
	CHECK_EQ(n1, sizeof files / sizeof files[0]);

	/* CA and certificates. */
	ca = load_cert(tpath("dep/ca.crt"));
	REQUIRE(ca != NULL);
	CHECK_EQ(X509_check_ca(ca), 1);
	CHECK_EQ(X509_check_issued(ca, ca), X509_V_OK);
	CHECK(chains(ca, ca, X509_PURPOSE_ANY, 0));
	{
		EVP_PKEY *k = load_key(tpath("dep/ca.key"));
		CHECK(k != NULL && X509_check_private_key(ca, k) == 1);
		EVP_PKEY_free(k);
		CHECK(X509_get0_subject_key_id(ca) != NULL);
		CHECK_EQ(X509_get_key_usage(ca) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN),
		    KU_KEY_CERT_SIGN | KU_CRL_SIGN);
		/* Valid about ten years. */
		int days = 0, secs = 0;
		CHECK_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(ca), X509_get0_notAfter(ca)), 1);
		CHECK(days >= 3650 && days <= 3652);
	}
	check_cert("dep", ca, "server", "localhost", "server");
	check_cert("dep", ca, "node", "platform-node-1", "node");
	check_cert("dep", ca, "admin", "admin", "admin");
	check_cert("dep", ca, "supervisor", "supervisor", "supervisor");
	check_cert("dep", ca, "discipline", "discipline", "discipline");
	check_cert("dep", ca, "court", "court", "court");
	check_cert("dep", ca, "witness-supervisor", "witness-supervisor", "witness");
	check_cert("dep", ca, "witness-discipline", "witness-discipline", "witness");

	srv = load_cert(tpath("dep/server.crt"));
	REQUIRE(srv != NULL);
	CHECK_EQ(X509_check_host(srv, "localhost", 0, 0, NULL), 1);
	CHECK_EQ(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);
	CHECK_EQ(X509_check_ip_asc(srv, "::1", 0), 1);
	CHECK_EQ(X509_check_host(srv, "example.com", 0, 0, NULL), 0);
	CHECK_EQ(X509_check_ip_asc(srv, "127.0.0.2", 0), 0);
	{
		int days = 0, secs = 0;
		CHECK_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(srv), X509_get0_notAfter(srv)), 1);
		CHECK(days >= 730 && days <= 731);
		X509 *node = load_cert(tpath("dep/node.crt"));
		REQUIRE(node != NULL);
		CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(node), X509_get0_serialNumber(srv)) != 0);
		X509_free(node);
	}
	X509_free(srv);
	X509_free(ca);

	/* Signing keys. */
	check_keypair("dep", "log", "evchain.local/dev-log", EVC_KEY_ED25519);
	check_keypair("dep", "admin", "admin", EVC_KEY_ED25519);
	check_keypair("dep", "node", "platform-node-1", EVC_KEY_ED25519);
	check_keypair("dep", "witness-supervisor", "witness-supervisor", EVC_KEY_COSIGNATURE);
	check_keypair("dep", "witness-discipline", "witness-discipline", EVC_KEY_COSIGNATURE);

	/* Server conf. */
	CHECK_(conf_load(tpath("dep/evchaind.conf"), &c, err, sizeof err) == 0, "%s", err);
	CHECK_STR(conf_get(&c, "listen"), "127.0.0.1:7901");
	CHECK_STR(conf_get(&c, "data"), "data");
	CHECK_STR(conf_get(&c, "log_key"), "log.key");
	CHECK_STR(conf_get(&c, "admin_key"), "admin.pub");
	CHECK_STR(conf_get(&c, "ca"), "ca.crt");
	CHECK_STR(conf_get(&c, "cert"), "server.crt");
	CHECK_STR(conf_get(&c, "key"), "server-tls.key");
	{
		const char *w[4];
		CHECK_EQ(conf_get_all(&c, "witness", w, 4), 2);
		CHECK_STR(w[0], "witness-supervisor.pub");
		CHECK_STR(w[1], "witness-discipline.pub");
		static const char *const pk[] = { "log_key", "admin_key", "ca", "cert", "key" };
		for (size_t i = 0; i < 5; i++)
			CHECK_(conf_get_path(&c, pk[i], buf, sizeof buf) != NULL && exists(buf),
			    "evchaind.conf: %s names a missing file", pk[i]);
	}
	conf_free(&c);

	/* Profiles. */
	for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
		check_profile("dep", profiles[i][0], profiles[i][1], profiles[i][2], "127.0.0.1:7901");

	/* Again: exit 1, nothing changed. */
	CHECK_EQ(run("dev", dir, "--port", "7901", NULL), 1);
	CHECK(output_has("already"));
	dir_digest(dir, d2, &n2);
	CHECK_EQ(n2, n1);
	CHECK_MEM(d1, d2, 32);
	CHECK_EQ(run("dev", dir, NULL), 1);
	dir_digest(dir, d2, &n2);
	CHECK_MEM(d1, d2, 32);

	/* The directory can be moved: every path is relative. */
	CHECK_EQ(rename(dir, tpath("moved")), 0);
	check_profile("moved", "node", "node", "node.key", "127.0.0.1:7901");
	CHECK_EQ(rename(tpath("moved"), dir), 0);

	/* Default port; one pre-existing file is enough to refuse, and nothing
	 * is created next to it. */
	CHECK_EQ(run("dev", tpath("dep2"), NULL), 0);
	check_profile("dep2", "court", "court", NULL, "127.0.0.1:7800");
	REQUIRE(mkdir(tpath("dep3"), 0755) == 0);
	FILE *f = fopen(tpath("dep3/node.pub"), "w");
	REQUIRE(f != NULL && fputs("mine\n", f) >= 0 && fclose(f) == 0);
	CHECK_EQ(run("dev", tpath("dep3"), NULL), 1);
	CHECK(output_has("node.pub"));
	dir_digest(tpath("dep3"), d2, &n2);
	CHECK_EQ(n2, 1);
	slurp(tpath("dep3/node.pub"), buf, sizeof buf);
	CHECK_STR(buf, "mine\n");
	/* An existing but unrelated directory is fine. */
	REQUIRE(mkdir(tpath("dep4"), 0700) == 0);
	CHECK_EQ(run("dev", tpath("dep4"), "--port=7802", NULL), 0);
	check_profile("dep4", "admin", "admin", "admin.key", "127.0.0.1:7802");
	/* DIR is a file. */
	CHECK_EQ(run("dev", tpath("dep3/node.pub"), NULL), 1);
}

static void
test_gen(void)
{
	char pf[PATH_MAX], pfe[PATH_MAX], buf[4096];
	evc_skey sk;
	evc_vkey vk, pub;
	FILE *f;

	/* tpath() buffers rotate: keep our own copies. */
	REQUIRE(strlen(tpath("empty-pass.txt")) < sizeof pf);
	strcpy(pf, tpath("pass.txt"));
	strcpy(pfe, tpath("empty-pass.txt"));
	REQUIRE((f = fopen(pf, "w")) != NULL && fputs("tr0ub4dor&3\n", f) >= 0 && fclose(f) == 0);
	REQUIRE((f = fopen(pfe, "w")) != NULL && fputs("\n", f) >= 0 && fclose(f) == 0);
	REQUIRE(mkdir(tpath("gen"), 0700) == 0);

	CHECK_EQ(run("gen", "--type", "node", "--name", "node-7", "--out", tpath("gen/n7"),
	    "--passphrase-file", pf, NULL), 0);
	CHECK_EQ(file_mode(tpath("gen/n7.key")), 0600);
	slurp(tpath("gen/n7.key"), buf, sizeof buf);
	CHECK(strncmp(buf, "evchain-encrypted-key-v1\n", 25) == 0);
	check_vkey(tpath("gen/n7.pub"), "node-7", EVC_KEY_ED25519);
	CHECK_EQ(keys_read_private(tpath("gen/n7.key"), "tr0ub4dor&3", 11, &sk), 0);
	keys_public(&sk, &pub);
	keys_skey_wipe(&sk);
	CHECK_STR(pub.name, "node-7");
	if (keys_read_public(tpath("gen/n7.pub"), &vk) == 0)
		CHECK_MEM(vk.pub, pub.pub, 32);
	CHECK(output_has("node-7+"));
	CHECK_EQ(keys_read_private(tpath("gen/n7.key"), NULL, 0, &sk), EVC_EPASS);
	CHECK_EQ(keys_read_private(tpath("gen/n7.key"), "tr0ub4dor&4", 11, &sk), EVC_EPASS);
	CHECK_EQ(keys_read_private(tpath("gen/n7.key"), "tr0ub4dor&3\n", 12, &sk), EVC_EPASS);

	/* Refuses to overwrite (exit 1), leaves the files alone. */
	slurp(tpath("gen/n7.pub"), buf, sizeof buf);
	CHECK_EQ(run("gen", "--type", "node", "--name", "node-8", "--out", tpath("gen/n7"), NULL), 1);
	CHECK(output_has("n7.key"));
	{
		char again[4096];
		slurp(tpath("gen/n7.pub"), again, sizeof again);
		CHECK_STR(again, buf);
	}

	/* Plain keys of each type. */
	CHECK_EQ(run("gen", "--type", "log", "--name", "example.com/log", "--out", tpath("gen/log"), NULL), 0);
	check_keypair("gen", "log", "example.com/log", EVC_KEY_ED25519);
	CHECK_EQ(run("gen", "--type=admin", "--name=admin-2", "--out=" "/dev/null/x", NULL), 1);
	CHECK_EQ(run("gen", "--type=admin", "--name=admin-2", "--out", tpath("gen/adm"), NULL), 0);
	check_keypair("gen", "adm", "admin-2", EVC_KEY_ED25519);
	CHECK_EQ(run("gen", "--type", "witness", "--name", "w.example/1", "--out", tpath("gen/w"), NULL), 0);
	check_keypair("gen", "w", "w.example/1", EVC_KEY_COSIGNATURE);

	/* Passphrase file problems: exit 1, nothing written. */
	CHECK_EQ(run("gen", "--type", "node", "--name", "x", "--out", tpath("gen/x"),
	    "--passphrase-file", pfe, NULL), 1);
	CHECK(output_has("empty"));
	CHECK_EQ(run("gen", "--type", "node", "--name", "x", "--out", tpath("gen/x"),
	    "--passphrase-file", tpath("nope.txt"), NULL), 1);
	CHECK(output_has("nope.txt"));
	CHECK(!exists(tpath("gen/x.key")) && !exists(tpath("gen/x.pub")));
}

static void
test_ca(void)
{
	X509 *ca;

	CHECK_EQ(run("init-ca", "--out", tpath("ca"), "--name", "Test Deployment CA", NULL), 0);
	CHECK_EQ(file_mode(tpath("ca")), 0700);
	CHECK_EQ(file_mode(tpath("ca/ca.key")), 0600);
	ca = load_cert(tpath("ca/ca.crt"));
	REQUIRE(ca != NULL);
	{
		char buf[128];
		CHECK_STR(subject_entry(ca, NID_commonName, buf, sizeof buf), "Test Deployment CA");
	}
	CHECK_EQ(run("init-ca", "--out", tpath("ca"), NULL), 1);

	CHECK_EQ(run("issue", "--ca", tpath("ca"), "--role", "court", "--name", "court-2",
	    "--out", tpath("ca/court2"), NULL), 0);
	check_cert("ca", ca, "court2", "court-2", "court");
	CHECK_EQ(run("issue", "--ca", tpath("ca"), "--role", "server", "--name", "log.example",
	    "--dns", "log.example", "--dns", "*.log.example", "--ip", "10.0.0.1", "--ip", "fe80::1",
	    "--out", tpath("ca/srv"), NULL), 0);
	check_cert("ca", ca, "srv", "log.example", "server");
	{
		X509 *x = load_cert(tpath("ca/srv.crt"));
		REQUIRE(x != NULL);
		CHECK_EQ(X509_check_host(x, "log.example", 0, 0, NULL), 1);
		CHECK_EQ(X509_check_host(x, "a.log.example", 0, 0, NULL), 1);
		CHECK_EQ(X509_check_ip_asc(x, "10.0.0.1", 0), 1);
		CHECK_EQ(X509_check_ip_asc(x, "fe80::1", 0), 1);
		X509_free(x);
	}
	/* Same prefix again: exit 1. */
	CHECK_EQ(run("issue", "--ca", tpath("ca"), "--role", "court", "--name", "court-3",
	    "--out", tpath("ca/court2"), NULL), 1);
	/* A CA directory without a CA: exit 1, naming the file. */
	CHECK_EQ(run("issue", "--ca", tpath("gen"), "--role", "court", "--name", "c",
	    "--out", tpath("gen/c"), NULL), 1);
	CHECK(output_has("ca.crt"));
	/* A symlinked CA key is refused. */
	REQUIRE(mkdir(tpath("ca-link"), 0700) == 0);
	REQUIRE(symlink(tpath("ca/ca.crt"), tpath("ca-link/ca.crt")) == 0);
	REQUIRE(symlink(tpath("ca/ca.key"), tpath("ca-link/ca.key")) == 0);
	CHECK_EQ(run("issue", "--ca", tpath("ca-link"), "--role", "court", "--name", "c",
	    "--out", tpath("ca-link/c"), NULL), 1);
	CHECK(output_has("symlink"));
	CHECK(!exists(tpath("ca-link/c.crt")));

	/* Validity: --days counts from notBefore; --not-before-days-ago moves it
	 * back, so that --days 10 --not-before-days-ago 30 expired 20 days ago. */
	CHECK_EQ(run("issue", "--ca", tpath("ca"), "--role", "court", "--name", "short",
	    "--days", "5", "--out", tpath("ca/short"), NULL), 0);
	CHECK_EQ(run("issue", "--ca", tpath("ca"), "--role", "supervisor", "--name", "expired",
	    "--days", "10", "--not-before-days-ago", "30", "--out", tpath("ca/expired"), NULL), 0);
	{
		X509 *s = load_cert(tpath("ca/short.crt")), *e = load_cert(tpath("ca/expired.crt"));
		int d = 0, sec = 0;
		REQUIRE(s != NULL && e != NULL);
		CHECK(ASN1_TIME_diff(&d, &sec, X509_get0_notBefore(s), X509_get0_notAfter(s)) == 1);
		CHECK_(d == 5 && sec == 3600, "short: %d days %d s", d, sec); /* an hour back-dated */
		CHECK(chains(ca, s, X509_PURPOSE_SSL_CLIENT, 0));
		CHECK(ASN1_TIME_diff(&d, &sec, X509_get0_notBefore(e), X509_get0_notAfter(e)) == 1);
		CHECK_(d == 10 && sec == 0, "expired: %d days %d s", d, sec);
		CHECK(ASN1_TIME_diff(&d, &sec, NULL, X509_get0_notAfter(e)) == 1);
		CHECK_(d <= -19 && d >= -21, "expired: notAfter %d days from now", d);
		CHECK(!chains(ca, e, X509_PURPOSE_SSL_CLIENT, 1));
		X509_STORE *st = X509_STORE_new();
		X509_STORE_CTX *ctx = X509_STORE_CTX_new();
		REQUIRE(st != NULL && ctx != NULL && X509_STORE_add_cert(st, ca) == 1);
		REQUIRE(X509_STORE_CTX_init(ctx, st, e, NULL) == 1);
		CHECK(X509_verify_cert(ctx) != 1);
		CHECK_EQ(X509_STORE_CTX_get_error(ctx), X509_V_ERR_CERT_HAS_EXPIRED);
		X509_STORE_CTX_free(ctx);
		X509_STORE_free(st);
		ERR_clear_error();
		X509_free(s);
		X509_free(e);
	}
	X509_free(ca);
}

static void
test_usage(void)
{
	char o[PATH_MAX];

	REQUIRE(strlen(tpath("u/x")) < sizeof o);
	strcpy(o, tpath("u/x"));

	CHECK_EQ(run(NULL), 2);
	CHECK_EQ(run("bogus", NULL), 2);
	CHECK(output_has("bogus"));
	CHECK_EQ(run("--help", NULL), 0);
	CHECK(output_has("Usage"));
	CHECK_EQ(run("gen", "--help", NULL), 0);
	CHECK(output_has("--passphrase-file"));
	CHECK_EQ(run("init-ca", "--help", NULL), 0);
	CHECK_EQ(run("issue", "-h", NULL), 0);
	CHECK(output_has("--role"));
	CHECK_EQ(run("dev", "--help", NULL), 0);
	CHECK(output_has("--port"));

	CHECK_EQ(run("gen", NULL), 2);
	CHECK_EQ(run("gen", "--type", "node", "--out", o, NULL), 2);
	CHECK(output_has("--name"));
	CHECK_EQ(run("gen", "--type", "node", "--name", "n", NULL), 2);
	CHECK_EQ(run("gen", "--type", "bogus", "--name", "n", "--out", o, NULL), 2);
	CHECK(output_has("bogus"));
	CHECK_EQ(run("gen", "--type", "node", "--name", "a b", "--out", o, NULL), 2);
	CHECK_EQ(run("gen", "--type", "node", "--name", "a+b", "--out", o, NULL), 2);
	CHECK_EQ(run("gen", "--type", "node", "--name", "", "--out", o, NULL), 2);
	CHECK_EQ(run("gen", "--type", "node", "--name", "n", "--out", NULL), 2);
	CHECK_EQ(run("gen", "--type", "node", "--name", "n", "--out", o, "extra", NULL), 2);
	CHECK_EQ(run("gen", "--type", "node", "--name", "n", "--out", o, "--verbose", NULL), 2);

	CHECK_EQ(run("init-ca", NULL), 2);
	CHECK_EQ(run("init-ca", "--out", NULL), 2);

	CHECK_EQ(run("issue", "--ca", tpath("ca"), "--role", "bogus", "--name", "n", "--out", o, NULL), 2);
	CHECK_EQ(run("issue", "--ca", tpath("ca"), "--role", "court", "--out", o, NULL), 2);
	CHECK_EQ(run("issue", "--role", "court", "--name", "n", "--out", o, NULL), 2);
	CHECK_EQ(run("issue", "--ca", tpath("ca"), "--role", "server", "--name", "n", "--out", o, NULL), 2);
	CHECK_EQ(run("issue", "--ca", tpath("ca"), "--role", "server", "--name", "n", "--ip", "1.2.3",
	    "--out", o, NULL), 2);
	CHECK_EQ(run("issue", "--ca", tpath("ca"), "--role", "server", "--name", "n", "--dns", "a..b",
	    "--out", o, NULL), 2);
	CHECK_EQ(run("issue", "--ca", tpath("ca"), "--role", "court", "--name", "n", "--dns", "a.b",
	    "--out", o, NULL), 2);
	static const char *const bad_days[][2] = { { "--days", "0" }, { "--days", "36501" },
		{ "--days", "1x" }, { "--days", "" }, { "--days", "-5" },
		{ "--not-before-days-ago", "-1" }, { "--not-before-days-ago", "99999999999999999999" } };
	for (size_t i = 0; i < sizeof bad_days / sizeof bad_days[0]; i++)
		CHECK_EQ(run("issue", "--ca", tpath("ca"), "--role", "court", "--name", "n",
		    bad_days[i][0], bad_days[i][1], "--out", o, NULL), 2);
	CHECK(!exists(tpath("u/x.crt")));

	CHECK_EQ(run("dev", NULL), 2);
	CHECK(output_has("DIR"));
	CHECK_EQ(run("dev", tpath("u1"), "--port", "0", NULL), 2);
	CHECK_EQ(run("dev", tpath("u1"), "--port", "65536", NULL), 2);
	CHECK_EQ(run("dev", tpath("u1"), "--port", "80a", NULL), 2);
	CHECK_EQ(run("dev", tpath("u1"), "--port", NULL), 2);
	CHECK_EQ(run("dev", tpath("u1"), tpath("u2"), NULL), 2);
	CHECK_EQ(run("dev", tpath("u1"), "--bogus", NULL), 2);
	CHECK(!exists(tpath("u1")) && !exists(tpath("u2")) && !exists(tpath("u")));
}

int
main(void)
{
	const char *bin = getenv("BIN");
	int n = bin ? snprintf(prog, sizeof prog, "%s/evchain-keys", bin)
	            : snprintf(prog, sizeof prog, "bin/evchain-keys");
	REQUIRE(n > 0 && (size_t)n < sizeof prog);
	if (access(prog, X_OK) != 0) {
		fprintf(stderr, "%s: %s (set BIN to the directory of evchain-keys)\n", prog,
		    strerror(errno));
		REQUIRE(access(prog, X_OK) == 0);
	}
	REQUIRE(mkdtemp(tmpdir) != NULL);
	n = snprintf(outfile, sizeof outfile, "%s/out.txt", tmpdir);
	REQUIRE(n > 0 && (size_t)n < sizeof outfile);

	test_dev();
	test_gen();
	test_ca();
	test_usage();

	char cmd[PATH_MAX + 16];
	n = snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (check_fail_ == 0 && n > 0 && (size_t)n < sizeof cmd && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	CHECK_DONE("test_keys_cli");
}
