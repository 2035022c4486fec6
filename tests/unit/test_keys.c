/*
 * test_keys.c — signed-note key strings (Go sumdb/note known answer), type
 * 0x04 cosignature keys, negative parses, key files (plain, encrypted,
 * public), their modes and refusals.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../check.h"
#include "evc.h"
#include "keys.h"

#define KAT_VKEY "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define KAT_SKEY "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
#define KAT_TEXT "If you think cryptography is the answer to your problem,\n" \
	"then you don't know what your problem is.\n"
#define KAT_SIG "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="

static char tmpdir[] = "/tmp/evc-test-keys-XXXXXX";

static const char *
tpath(const char *name)
{
	static char buf[8][512];
	static unsigned k;
	char *p = buf[k++ % 8];
	int n = snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
	REQUIRE(n > 0 && (size_t)n < sizeof buf[0]);
	return p;
}

static size_t
slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	REQUIRE(f != NULL);
	size_t n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

static void
spit(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	REQUIRE(f != NULL);
	REQUIRE(fwrite(buf, 1, len, f) == len);
	REQUIRE(fclose(f) == 0);
}

static int
vparse(const char *s)
{
	evc_vkey vk;
	return keys_vkey_parse(s, strlen(s), &vk);
}

static int
sparse(const char *s)
{
	evc_skey sk;
	int r = keys_skey_parse(s, strlen(s), &sk);
	keys_skey_wipe(&sk);
	return r;
}

static mode_t
file_mode(const char *path)
{
	struct stat st;
	REQUIRE(lstat(path, &st) == 0);
	return st.st_mode & 07777;
}

static void
test_known_answer(void)
{
	evc_vkey vk, vk2;
	evc_skey sk, sk2;
	char buf[KEYS_SKEY_MAX];
	uint8_t sig[64], idsig[68];
	char b64[128];

	CHECK_EQ(keys_vkey_parse(KAT_VKEY, strlen(KAT_VKEY), &vk), 0);
	CHECK_STR(vk.name, "PeterNeumann");
	CHECK_EQ(vk.type, EVC_KEY_ED25519);
	CHECK_EQ(vk.id, 0xc74f20a3u);
	CHECK_EQ(keys_key_id("PeterNeumann", EVC_KEY_ED25519, vk.pub), 0xc74f20a3u);

	CHECK_EQ(keys_skey_parse(KAT_SKEY, strlen(KAT_SKEY), &sk), 0);
	CHECK_STR(sk.name, "PeterNeumann");
	CHECK_EQ(sk.type, EVC_KEY_ED25519);
	CHECK_EQ(sk.id, 0xc74f20a3u);
	CHECK_MEM(sk.sk + 32, vk.pub, 32);

	keys_public(&sk, &vk2);
	CHECK_STR(vk2.name, vk.name);
	CHECK_EQ(vk2.type, vk.type);
	CHECK_EQ(vk2.id, vk.id);
	CHECK_MEM(vk2.pub, vk.pub, 32);

	/* Formatting reproduces both strings byte for byte. */
	CHECK_EQ(keys_vkey_format(&vk, buf, sizeof buf), (int)strlen(KAT_VKEY));
	CHECK_STR(buf, KAT_VKEY);
	CHECK_EQ(keys_skey_format(&sk, buf, sizeof buf), (int)strlen(KAT_SKEY));
	CHECK_STR(buf, KAT_SKEY);
	sodium_memzero(buf, sizeof buf);

	/* Too small a buffer. */
	CHECK_EQ(keys_vkey_format(&vk, buf, strlen(KAT_VKEY)), EVC_ETOOLARGE);
	CHECK_EQ(keys_skey_format(&sk, buf, 10), EVC_ETOOLARGE);
	CHECK_EQ(keys_vkey_format(&vk, buf, strlen(KAT_VKEY) + 1), (int)strlen(KAT_VKEY));

	/* The same key from its seed. */
	CHECK_EQ(keys_from_seed("PeterNeumann", EVC_KEY_ED25519, sk.sk, &sk2, &vk2), 0);
	CHECK_MEM(sk2.sk, sk.sk, 64);
	CHECK_EQ(vk2.id, 0xc74f20a3u);
	keys_skey_wipe(&sk2);

	/* Ed25519 is deterministic: the documented signature line. */
	keys_sign(&sk, KAT_TEXT, strlen(KAT_TEXT), sig);
	idsig[0] = 0xc7, idsig[1] = 0x4f, idsig[2] = 0x20, idsig[3] = 0xa3;
	memcpy(idsig + 4, sig, 64);
	sodium_bin2base64(b64, sizeof b64, idsig, sizeof idsig, sodium_base64_VARIANT_ORIGINAL);
	CHECK_STR(b64, KAT_SIG);
	CHECK_EQ(keys_verify(&vk, KAT_TEXT, strlen(KAT_TEXT), sig), 0);
	sig[10] ^= 1;
	CHECK_EQ(keys_verify(&vk, KAT_TEXT, strlen(KAT_TEXT), sig), EVC_EBADSIG);
	sig[10] ^= 1;
	CHECK_EQ(keys_verify(&vk, KAT_TEXT, strlen(KAT_TEXT) - 1, sig), EVC_EBADSIG);

	keys_skey_wipe(&sk);
	static const uint8_t zero[sizeof sk];
	CHECK_MEM(&sk, zero, sizeof sk);
	keys_skey_wipe(NULL);
}

static void
test_cosignature_keys(void)
{
	evc_skey sk, sk2;
	evc_vkey vk, vk2;
	char vs[KEYS_VKEY_MAX], ss[KEYS_SKEY_MAX];
	uint8_t bin[33];
	size_t binlen = 0;
	const char *p;

	CHECK_EQ(keys_generate("witness-a.example/w1", EVC_KEY_COSIGNATURE, &sk, &vk), 0);
	CHECK_EQ(vk.type, EVC_KEY_COSIGNATURE);
	CHECK_EQ(vk.id, keys_key_id("witness-a.example/w1", EVC_KEY_COSIGNATURE, vk.pub));
	CHECK(vk.id != keys_key_id("witness-a.example/w1", EVC_KEY_ED25519, vk.pub));
	CHECK_OK(keys_vkey_format(&vk, vs, sizeof vs));
	CHECK_OK(keys_skey_format(&sk, ss, sizeof ss));
	CHECK(strncmp(ss, "PRIVATE+KEY+witness-a.example/w1+", 33) == 0);

	/* The base64 part starts with the type byte 0x04. */
	p = strchr(vs, '+');
	REQUIRE(p != NULL);
	p += 10;
	CHECK_EQ(sodium_base642bin(bin, sizeof bin, p, strlen(p), NULL, &binlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL), 0);
	CHECK_EQ(binlen, 33);
	CHECK_EQ(bin[0], 0x04);
	CHECK_MEM(bin + 1, vk.pub, 32);

	CHECK_EQ(keys_vkey_parse(vs, strlen(vs), &vk2), 0);
	CHECK_EQ(vk2.type, EVC_KEY_COSIGNATURE);
	CHECK_EQ(vk2.id, vk.id);
	CHECK_MEM(vk2.pub, vk.pub, 32);
	CHECK_STR(vk2.name, "witness-a.example/w1");
	CHECK_EQ(keys_skey_parse(ss, strlen(ss), &sk2), 0);
	CHECK_MEM(sk2.sk, sk.sk, 64);
	CHECK_EQ(sk2.type, EVC_KEY_COSIGNATURE);
	CHECK_EQ(sk2.id, sk.id);

	/* Signatures with a cosignature key are plain Ed25519 over the message. */
	uint8_t sig[64];
	keys_sign(&sk2, "cosignature/v1\n", 15, sig);
	CHECK_EQ(keys_verify(&vk2, "cosignature/v1\n", 15, sig), 0);

	/* Two generated keys differ. */
	CHECK_EQ(keys_generate("witness-a.example/w1", EVC_KEY_COSIGNATURE, &sk2, &vk2), 0);
	CHECK(memcmp(sk2.sk, sk.sk, 64) != 0);
	keys_skey_wipe(&sk);
	keys_skey_wipe(&sk2);
	sodium_memzero(ss, sizeof ss);
}

/* Build "<name>+<id>+base64(type||key)" with a correct id for any type. */
static void
make_vkey(char *out, size_t cap, const char *name, uint8_t type, const uint8_t pub[32])
{
	uint8_t bin[33];
	char b64[64];

	bin[0] = type;
	memcpy(bin + 1, pub, 32);
	sodium_bin2base64(b64, sizeof b64, bin, sizeof bin, sodium_base64_VARIANT_ORIGINAL);
	int n = snprintf(out, cap, "%s+%08x+%s", name, (unsigned)keys_key_id(name, type, pub), b64);
	REQUIRE(n > 0 && (size_t)n < cap);
}

static void
test_negative(void)
{
	evc_vkey vk;
	evc_skey sk;
	char s[512], name[EVC_MAX_KEY_NAME + 2];

	REQUIRE(keys_vkey_parse(KAT_VKEY, strlen(KAT_VKEY), &vk) == 0);

	/* Wrong id (one hex digit changed), wrong name for the id. */
	CHECK_EQ(vparse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"), EVC_EINVAL);
	CHECK_EQ(vparse("PeterNeumanN+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"), EVC_EINVAL);
	CHECK_EQ(sparse("PRIVATE+KEY+PeterNeumann+c74f20a2+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"), EVC_EINVAL);
	CHECK_EQ(sparse("PRIVATE+KEY+PeterNeumanX+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"), EVC_EINVAL);
	/* Short / long / non-hex id. */
	CHECK_EQ(vparse("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"), EVC_EINVAL);
	CHECK_EQ(vparse("PeterNeumann+c74f20a30+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"), EVC_EINVAL);
	CHECK_EQ(vparse("PeterNeumann+c74f20g3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"), EVC_EINVAL);

	/* Bad base64: bad character, no padding, non-zero padding bits,
	 * trailing garbage, white space, wrong length, empty. */
	CHECK_EQ(vparse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T*"), EVC_EINVAL);
	CHECK_EQ(vparse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T"), EVC_EINVAL);
	CHECK_EQ(vparse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX"), EVC_EINVAL);
	CHECK_EQ(vparse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW="), EVC_EINVAL);
	CHECK_EQ(vparse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n"), EVC_EINVAL);
	CHECK_EQ(vparse("PeterNeumann+c74f20a3+ ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"), EVC_EINVAL);
	CHECK_EQ(vparse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy1"), EVC_EINVAL);
	CHECK_EQ(vparse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWAAAA"), EVC_EINVAL);
	CHECK_EQ(vparse("PeterNeumann+c74f20a3+"), EVC_EINVAL);
	CHECK_EQ(vparse("PeterNeumann+c74f20a3"), EVC_EINVAL);
	CHECK_EQ(vparse("PeterNeumann"), EVC_EINVAL);
	CHECK_EQ(vparse(""), EVC_EINVAL);
	/* URL-safe alphabet is not the standard one. */
	CHECK_EQ(sparse("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr-Y7hfZx09iUvxdXHKDFz"), EVC_EINVAL);

	/* Embedded NUL. */
	CHECK_EQ(keys_vkey_parse(KAT_VKEY "\0", strlen(KAT_VKEY) + 1, &vk), EVC_EINVAL);

	/* Unknown types, with an id that matches them. */
	for (unsigned t = 0; t < 256; t++) {
		if (t == EVC_KEY_ED25519 || t == EVC_KEY_COSIGNATURE)
			continue;
		make_vkey(s, sizeof s, "PeterNeumann", (uint8_t)t, vk.pub);
		if (vparse(s) != EVC_EINVAL)
			CHECK_(0, "type 0x%02x accepted", t);
	}
	make_vkey(s, sizeof s, "PeterNeumann", 0x01, vk.pub);
	CHECK_STR(s, KAT_VKEY);
	CHECK_EQ(vparse(s), 0);
	CHECK_EQ(keys_generate("x", 0x02, &sk, NULL), EVC_EINVAL);
	CHECK_EQ(keys_from_seed("x", 0x00, vk.pub, &sk, NULL), EVC_EINVAL);

	/* Signer and verifier strings are not interchangeable. */
	CHECK_EQ(vparse(KAT_SKEY), EVC_EINVAL);
	CHECK_EQ(sparse(KAT_VKEY), EVC_EINVAL);
	CHECK_EQ(sparse("PRIVATE+KEY+"), EVC_EINVAL);
	CHECK_EQ(sparse("PRIVATE+KEY"), EVC_EINVAL);
	CHECK_EQ(sparse("PRIVATE+KEX+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"), EVC_EINVAL);

	/* Bad names. */
	CHECK_EQ(keys_name_valid("PeterNeumann", 12), 1);
	CHECK_EQ(keys_name_valid("evchain.local/dev-log", 21), 1);
	CHECK_EQ(keys_name_valid("\xe8\xaf\x81\xe6\x8d\xae\xe9\x93\xbe", 9), 1); /* 证据链 */
	CHECK_EQ(keys_name_valid("", 0), 0);
	CHECK_EQ(keys_name_valid(NULL, 0), 0);
	CHECK_EQ(keys_name_valid("a b", 3), 0);
	CHECK_EQ(keys_name_valid("a\tb", 3), 0);
	CHECK_EQ(keys_name_valid("ab\n", 3), 0);
	CHECK_EQ(keys_name_valid("a+b", 3), 0);
	CHECK_EQ(keys_name_valid("a\x01" "b", 3), 0);
	CHECK_EQ(keys_name_valid("a\x7f" "b", 3), 0);
	CHECK_EQ(keys_name_valid("a\xc2\xa0" "b", 4), 0);       /* U+00A0 no-break space */
	CHECK_EQ(keys_name_valid("a\xe3\x80\x80" "b", 5), 0);   /* U+3000 ideographic space */
	CHECK_EQ(keys_name_valid("a\xc2\x85" "b", 4), 0);       /* U+0085 */
	CHECK_EQ(keys_name_valid("a\xff" "b", 3), 0);           /* invalid UTF-8 */
	CHECK_EQ(keys_name_valid("a\xc0\xaf" "b", 4), 0);       /* overlong */
	CHECK_EQ(keys_name_valid("a\xed\xa0\x80" "b", 5), 0);   /* surrogate */
	CHECK_EQ(keys_name_valid("a\xe8\xaf", 3), 0);           /* truncated */
	memset(name, 'n', sizeof name);
	CHECK_EQ(keys_name_valid(name, EVC_MAX_KEY_NAME), 1);
	CHECK_EQ(keys_name_valid(name, EVC_MAX_KEY_NAME + 1), 0);

	CHECK_EQ(keys_generate("a b", EVC_KEY_ED25519, &sk, NULL), EVC_EINVAL);
	CHECK_EQ(keys_generate("a+b", EVC_KEY_ED25519, &sk, NULL), EVC_EINVAL);
	CHECK_EQ(keys_generate("", EVC_KEY_ED25519, &sk, NULL), EVC_EINVAL);
	name[EVC_MAX_KEY_NAME + 1] = '\0';
	CHECK_EQ(keys_generate(name, EVC_KEY_ED25519, &sk, NULL), EVC_EINVAL);
	name[EVC_MAX_KEY_NAME] = '\0';
	CHECK_EQ(keys_generate(name, EVC_KEY_ED25519, &sk, &vk), 0);
	CHECK_OK(keys_vkey_format(&vk, s, sizeof s));
	CHECK_EQ(vparse(s), 0);
	keys_skey_wipe(&sk);

	/* Names that are bad inside key strings (ids computed to match). */
	make_vkey(s, sizeof s, "a b", 0x01, vk.pub);
	CHECK_EQ(vparse(s), EVC_EINVAL);
	make_vkey(s, sizeof s, "", 0x01, vk.pub);
	CHECK_EQ(vparse(s), EVC_EINVAL);
	name[EVC_MAX_KEY_NAME] = 'n';
	name[EVC_MAX_KEY_NAME + 1] = '\0';
	make_vkey(s, sizeof s, name, 0x01, vk.pub);
	CHECK_EQ(vparse(s), EVC_EINVAL);
	name[EVC_MAX_KEY_NAME] = '\0';
	make_vkey(s, sizeof s, name, 0x01, vk.pub);
	CHECK_EQ(vparse(s), 0);
	/* '+' in a name splits it: "a+b+<id>+..." never parses. */
	make_vkey(s, sizeof s, "a+b", 0x01, vk.pub);
	CHECK_EQ(vparse(s), EVC_EINVAL);
}

static void
test_files(void)
{
	evc_skey sk, sk2;
	evc_vkey vk, vk2;
	char buf[8192], line[KEYS_SKEY_MAX];
	const char *pass = "correct horse battery staple";
	size_t n;

	umask(022);
	REQUIRE(keys_skey_parse(KAT_SKEY, strlen(KAT_SKEY), &sk) == 0);
	keys_public(&sk, &vk);

	/* Plain private key file. */
	CHECK_EQ(keys_write_private(tpath("plain.key"), &sk, NULL, 0), 0);
	CHECK_EQ(file_mode(tpath("plain.key")), 0600);
	n = slurp(tpath("plain.key"), buf, sizeof buf);
	CHECK_EQ(n, strlen(KAT_SKEY) + 1);
	CHECK_STR(buf, KAT_SKEY "\n");
	CHECK_EQ(keys_read_private(tpath("plain.key"), NULL, 0, &sk2), 0);
	CHECK_MEM(sk2.sk, sk.sk, 64);
	CHECK_EQ(sk2.id, sk.id);
	keys_skey_wipe(&sk2);
	/* A passphrase given for a plain file is not needed. */
	CHECK_EQ(keys_read_private(tpath("plain.key"), "x", 1, &sk2), 0);
	keys_skey_wipe(&sk2);

	/* Refuse to overwrite a file, a symlink (dangling or not). */
	CHECK_EQ(keys_write_private(tpath("plain.key"), &sk, NULL, 0), EVC_EEXIST);
	CHECK_EQ(keys_write_private(tpath("plain.key"), &sk, pass, strlen(pass)), EVC_EEXIST);
	n = slurp(tpath("plain.key"), buf, sizeof buf);
	CHECK_STR(buf, KAT_SKEY "\n");
	REQUIRE(symlink(tpath("target.key"), tpath("link.key")) == 0);
	CHECK_EQ(keys_write_private(tpath("link.key"), &sk, NULL, 0), EVC_EEXIST);
	CHECK(access(tpath("target.key"), F_OK) != 0);
	REQUIRE(symlink(tpath("plain.key"), tpath("link2.key")) == 0);
	CHECK_EQ(keys_write_private(tpath("link2.key"), &sk, NULL, 0), EVC_EEXIST);
	CHECK_EQ(keys_write_public(tpath("link2.key"), &vk), EVC_EEXIST);
	/* And refuse to read a private key through a symlink. */
	CHECK_EQ(keys_read_private(tpath("link2.key"), NULL, 0, &sk2), EVC_EIO);
	CHECK_EQ(keys_read_private(tpath("missing.key"), NULL, 0, &sk2), EVC_EIO);
	CHECK_EQ(keys_read_private(tmpdir, NULL, 0, &sk2), EVC_EIO);
	/* A directory that does not exist. */
	CHECK_EQ(keys_write_private(tpath("nodir/x.key"), &sk, NULL, 0), EVC_EIO);

	/* Damaged plain files. */
	spit(tpath("bad1.key"), KAT_SKEY "\n\n", strlen(KAT_SKEY) + 2);
	CHECK_EQ(keys_read_private(tpath("bad1.key"), NULL, 0, &sk2), EVC_EINVAL);
	spit(tpath("bad2.key"), KAT_VKEY "\n", strlen(KAT_VKEY) + 1);
	CHECK_EQ(keys_read_private(tpath("bad2.key"), NULL, 0, &sk2), EVC_EINVAL);
	memset(buf, 'A', 5000);
	spit(tpath("big.key"), buf, 5000);
	CHECK_EQ(keys_read_private(tpath("big.key"), NULL, 0, &sk2), EVC_EINVAL);
	/* No trailing newline is fine. */
	spit(tpath("nonl.key"), KAT_SKEY, strlen(KAT_SKEY));
	CHECK_EQ(keys_read_private(tpath("nonl.key"), NULL, 0, &sk2), 0);
	keys_skey_wipe(&sk2);

	/* Encrypted private key file. */
	CHECK_EQ(keys_write_private(tpath("enc.key"), &sk, pass, strlen(pass)), 0);
	CHECK_EQ(file_mode(tpath("enc.key")), 0600);
	n = slurp(tpath("enc.key"), buf, sizeof buf);
	CHECK(strncmp(buf, "evchain-encrypted-key-v1\nargon2id13 ", 36) == 0);
	CHECK(strstr(buf, "PRIVATE") == NULL);
	CHECK(strstr(buf, "PeterNeumann") == NULL);
	CHECK(n > 0 && buf[n - 1] == '\n');
	CHECK_EQ(keys_read_private(tpath("enc.key"), pass, strlen(pass), &sk2), 0);
	CHECK_MEM(sk2.sk, sk.sk, 64);
	CHECK_STR(sk2.name, "PeterNeumann");
	CHECK_EQ(sk2.id, 0xc74f20a3u);
	keys_skey_wipe(&sk2);
	CHECK_EQ(keys_read_private(tpath("enc.key"), "correct horse battery stapler", 29, &sk2), EVC_EPASS);
	CHECK_EQ(keys_read_private(tpath("enc.key"), pass, strlen(pass) - 1, &sk2), EVC_EPASS);
	CHECK_EQ(keys_read_private(tpath("enc.key"), NULL, 0, &sk2), EVC_EPASS);
	CHECK_EQ(keys_write_private(tpath("empty-pass.key"), &sk, "", 0), EVC_EINVAL);

	/* Flip one byte of the ciphertext (a base64 character of line 3,
	 * replaced by another valid one) → EVC_EPASS. */
	{
		char *b3 = strchr(strchr(buf, '\n') + 1, '\n') + 1;
		size_t blen = strlen(b3);
		REQUIRE(blen > 80);
		char *c = b3 + blen / 2;
		*c = *c == 'A' ? 'B' : 'A';
		spit(tpath("flip.key"), buf, n);
		CHECK_EQ(keys_read_private(tpath("flip.key"), pass, strlen(pass), &sk2), EVC_EPASS);
		*c = '*';   /* not base64 */
		spit(tpath("flip2.key"), buf, n);
		CHECK_EQ(keys_read_private(tpath("flip2.key"), pass, strlen(pass), &sk2), EVC_EPASS);
		/* Truncated. */
		spit(tpath("trunc.key"), buf, (size_t)(b3 - buf) + 20);
		CHECK_EQ(keys_read_private(tpath("trunc.key"), pass, strlen(pass), &sk2), EVC_EPASS);
	}
	/* Parameters a file may not ask for. */
	{
		char big[512];
		int bn = snprintf(big, sizeof big,
		    "evchain-encrypted-key-v1\nargon2id13 4294967295 67108864\nAAAA\n");
		spit(tpath("ops.key"), big, (size_t)bn);
		CHECK_EQ(keys_read_private(tpath("ops.key"), pass, strlen(pass), &sk2), EVC_EPASS);
		bn = snprintf(big, sizeof big,
		    "evchain-encrypted-key-v1\nargon2id13 2 1099511627776\nAAAA\n");
		spit(tpath("mem.key"), big, (size_t)bn);
		CHECK_EQ(keys_read_private(tpath("mem.key"), pass, strlen(pass), &sk2), EVC_EPASS);
	}

	/* Encrypted type-0x04 key round trip. */
	{
		evc_skey w, w2;
		REQUIRE(keys_generate("witness-x", EVC_KEY_COSIGNATURE, &w, NULL) == 0);
		CHECK_EQ(keys_write_private(tpath("w.key"), &w, "pw", 2), 0);
		CHECK_EQ(keys_read_private(tpath("w.key"), "pw", 2, &w2), 0);
		CHECK_MEM(w2.sk, w.sk, 64);
		CHECK_EQ(w2.type, EVC_KEY_COSIGNATURE);
		keys_skey_wipe(&w);
		keys_skey_wipe(&w2);
	}

	/* Public key file. */
	CHECK_EQ(keys_write_public(tpath("k.pub"), &vk), 0);
	CHECK_EQ(file_mode(tpath("k.pub")), 0644);
	slurp(tpath("k.pub"), buf, sizeof buf);
	CHECK_STR(buf, KAT_VKEY "\n");
	CHECK_EQ(keys_read_public(tpath("k.pub"), &vk2), 0);
	CHECK_STR(vk2.name, vk.name);
	CHECK_EQ(vk2.id, vk.id);
	CHECK_EQ(vk2.type, vk.type);
	CHECK_MEM(vk2.pub, vk.pub, 32);
	CHECK_EQ(keys_write_public(tpath("k.pub"), &vk), EVC_EEXIST);
	CHECK_EQ(keys_read_public(tpath("plain.key"), &vk2), EVC_EINVAL);
	CHECK_EQ(keys_read_public(tpath("missing.pub"), &vk2), EVC_EIO);

	/* Passphrase files. */
	spit(tpath("pass1"), "s3cret pass\nsecond line\n", 24);
	CHECK_EQ(keys_read_passphrase(tpath("pass1"), line, sizeof line), 11);
	CHECK_STR(line, "s3cret pass");
	spit(tpath("pass2"), "crlf\r\n", 6);
	CHECK_EQ(keys_read_passphrase(tpath("pass2"), line, sizeof line), 4);
	CHECK_STR(line, "crlf");
	spit(tpath("pass3"), "nonewline", 9);
	CHECK_EQ(keys_read_passphrase(tpath("pass3"), line, sizeof line), 9);
	CHECK_EQ(keys_read_passphrase(tpath("pass3"), line, 9), EVC_ETOOLARGE);
	CHECK_EQ(keys_read_passphrase(tpath("pass3"), line, 10), 9);
	CHECK_EQ(keys_read_passphrase(tpath("missing"), line, sizeof line), EVC_EIO);
	sodium_memzero(line, sizeof line);

	keys_skey_wipe(&sk);
}

int
main(void)
{
	REQUIRE(mkdtemp(tmpdir) != NULL);
	test_known_answer();
	test_cosignature_keys();
	test_negative();
	test_files();
	char cmd[600];
	int n = snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (n > 0 && (size_t)n < sizeof cmd && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	CHECK_DONE("test_keys");
}
