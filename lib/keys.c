/*
 * keys.c — Ed25519 keys in the C2SP signed-note string forms, and key files.
 *
 * Parsing is strict: one '+'-separated form, the key id as 8 hex digits,
 * standard padded base64 with zero padding bits and nothing around it, a
 * known type, and an id that matches (name, type, key). Everything that
 * held a seed, a signer key string, a passphrase-derived key or decrypted
 * text is wiped with sodium_memzero before it goes out of scope.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "evc.h"
#include "hash.h"
#include "keys.h"

#define SKEY_PREFIX "PRIVATE+KEY+"
#define SKEY_PREFIX_LEN (sizeof(SKEY_PREFIX) - 1)

/* Encrypted key file. */
#define ENC_MAGIC "evchain-encrypted-key-v1\n"
#define ENC_ALG "argon2id13"
#define ENC_SALT_LEN 16
#define ENC_NONCE_LEN crypto_secretbox_NONCEBYTES
#define ENC_OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define ENC_MEMLIMIT crypto_pwhash_MEMLIMIT_MODERATE
/* What a file may ask for when read back: a damaged or hostile file must
 * not make us compute for hours or allocate without bound. */
#define ENC_OPSLIMIT_MAX 16ULL
#define ENC_MEMLIMIT_MAX (1ULL << 30)

#define KEY_FILE_MAX 4096u

_Static_assert(crypto_pwhash_SALTBYTES == ENC_SALT_LEN, "argon2 salt is 16 bytes");
_Static_assert(crypto_secretbox_KEYBYTES == 32, "secretbox key is 32 bytes");
_Static_assert(crypto_sign_SEEDBYTES == EVC_ED25519_SEED_LEN, "seed size");
_Static_assert(crypto_sign_SECRETKEYBYTES == EVC_ED25519_SK_LEN, "sk size");
_Static_assert(crypto_sign_BYTES == EVC_ED25519_SIG_LEN, "sig size");

/* sodium_init() is idempotent but takes a lock; remember success. */
static atomic_int sodium_ok;

static int
sodium_ready(void)
{
	if (atomic_load_explicit(&sodium_ok, memory_order_acquire))
		return 1;
	if (sodium_init() < 0)
		return 0;
	atomic_store_explicit(&sodium_ok, 1, memory_order_release);
	return 1;
}

/* ---- names ---------------------------------------------------------- */

/* Decode one UTF-8 sequence of s[0..len). Returns its length (1..4), or 0
 * for an invalid, overlong, surrogate or out-of-range sequence. */
static size_t
utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3fu);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Go's unicode.IsSpace, which sumdb/note uses for names. */
static int
is_space(uint32_t c)
{
	switch (c) {
	case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
	case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202f: case 0x205f: case 0x3000:
		return 1;
	default:
		return c >= 0x2000 && c <= 0x200a;
	}
}

int
keys_name_valid(const char *name, size_t len)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t i = 0;

	if (name == NULL || len == 0 || len > EVC_MAX_KEY_NAME)
		return 0;
	while (i < len) {
		uint32_t c;
		size_t n = utf8_next(s + i, len - i, &c);

		if (n == 0 || c == '+' || is_space(c) || c < 0x20 || (c >= 0x7f && c <= 0x9f))
			return 0;
		i += n;
	}
	return 1;
}

static int
type_valid(uint8_t type)
{
	return type == EVC_KEY_ED25519 || type == EVC_KEY_COSIGNATURE;
}

uint32_t
keys_key_id(const char *name, uint8_t type, const uint8_t pub[32])
{
	uint8_t tail[2 + 32], h[32];

	tail[0] = '\n';
	tail[1] = type;
	memcpy(tail + 2, pub, 32);
	hash_sha256_2(name, strlen(name), tail, sizeof tail, h);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

/* ---- keys ----------------------------------------------------------- */

int
keys_from_seed(const char *name, uint8_t type, const uint8_t seed[32], evc_skey *sk, evc_vkey *vk)
{
	uint8_t pk[32], skb[64];
	size_t nlen;

	if (name == NULL || seed == NULL || !type_valid(type))
		return EVC_EINVAL;
	nlen = strlen(name);
	if (!keys_name_valid(name, nlen))
		return EVC_EINVAL;
	if (!sodium_ready())
		return EVC_ECRYPTO;
	if (crypto_sign_seed_keypair(pk, skb, seed) != 0) {
		sodium_memzero(skb, sizeof skb);
		return EVC_ECRYPTO;
	}
	uint32_t id = keys_key_id(name, type, pk);
	if (sk != NULL) {
		memset(sk, 0, sizeof *sk);
		memcpy(sk->name, name, nlen + 1);
		sk->type = type;
		sk->id = id;
		memcpy(sk->sk, skb, sizeof skb);
	}
	if (vk != NULL) {
		memset(vk, 0, sizeof *vk);
		memcpy(vk->name, name, nlen + 1);
		vk->type = type;
		vk->id = id;
		memcpy(vk->pub, pk, sizeof pk);
	}
	sodium_memzero(skb, sizeof skb);
	return 0;
}

int
keys_generate(const char *name, uint8_t type, evc_skey *sk, evc_vkey *vk)
{
	uint8_t seed[32];
	int r;

	if (!sodium_ready())
		return EVC_ECRYPTO;
	randombytes_buf(seed, sizeof seed);
	r = keys_from_seed(name, type, seed, sk, vk);
	sodium_memzero(seed, sizeof seed);
	return r;
}

void
keys_public(const evc_skey *sk, evc_vkey *vk)
{
	memset(vk, 0, sizeof *vk);
	memcpy(vk->name, sk->name, sizeof vk->name);
	vk->name[EVC_MAX_KEY_NAME] = '\0';
	vk->type = sk->type;
	vk->id = sk->id;
	memcpy(vk->pub, sk->sk + 32, 32);
}

void
keys_skey_wipe(evc_skey *sk)
{
	if (sk != NULL)
		sodium_memzero(sk, sizeof *sk);
}

/* ---- key strings ---------------------------------------------------- */

/* Decode exactly outlen bytes of strict standard base64 (padded, no
 * white space, zero padding bits). 0 or -1. */
static int
b64_decode_exact(const char *b64, size_t blen, uint8_t *out, size_t outlen)
{
	size_t n = 0;
	const char *end = NULL;

	if (blen == 0)
		return -1;
	if (sodium_base642bin(out, outlen, b64, blen, NULL, &n, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	if (end != b64 + blen || n != outlen)
		return -1;
	return 0;
}

/* Parse "<name>+<hex8>+<base64 of 33 bytes>" into name, id and the 33
 * bytes (type || key). Checks the name and the type, not the id. */
static int
parse_common(const char *s, size_t len, char name[EVC_MAX_KEY_NAME + 1], uint32_t *id,
    uint8_t bin[33])
{
	const char *plus = memchr(s, '+', len);
	uint8_t idb[4];
	size_t nlen, rlen;
	const char *rest;

	if (plus == NULL)
		return EVC_EINVAL;
	nlen = (size_t)(plus - s);
	if (!keys_name_valid(s, nlen))
		return EVC_EINVAL;
	rest = plus + 1;
	rlen = len - nlen - 1;
	if (rlen < 10 || rest[8] != '+' || hash_unhex(rest, 8, idb, 4) != 0)
		return EVC_EINVAL;
	if (b64_decode_exact(rest + 9, rlen - 9, bin, 33) != 0)
		return EVC_EINVAL;
	if (!type_valid(bin[0]))
		return EVC_EINVAL;
	memcpy(name, s, nlen);
	name[nlen] = '\0';
	*id = (uint32_t)idb[0] << 24 | (uint32_t)idb[1] << 16 | (uint32_t)idb[2] << 8 | idb[3];
	return 0;
}

int
keys_vkey_parse(const char *s, size_t len, evc_vkey *out)
{
	evc_vkey vk;
	uint8_t bin[33];

	if (s == NULL || out == NULL)
		return EVC_EINVAL;
	memset(&vk, 0, sizeof vk);
	if (parse_common(s, len, vk.name, &vk.id, bin) != 0)
		return EVC_EINVAL;
	vk.type = bin[0];
	memcpy(vk.pub, bin + 1, 32);
	if (keys_key_id(vk.name, vk.type, vk.pub) != vk.id)
		return EVC_EINVAL;
	*out = vk;
	return 0;
}

int
keys_skey_parse(const char *s, size_t len, evc_skey *out)
{
	char name[EVC_MAX_KEY_NAME + 1];
	uint8_t bin[33];
	uint32_t id;
	evc_skey sk;
	int r = EVC_EINVAL;

	if (s == NULL || out == NULL)
		return EVC_EINVAL;
	if (len <= SKEY_PREFIX_LEN || memcmp(s, SKEY_PREFIX, SKEY_PREFIX_LEN) != 0)
		return EVC_EINVAL;
	if (parse_common(s + SKEY_PREFIX_LEN, len - SKEY_PREFIX_LEN, name, &id, bin) != 0)
		goto done;
	if ((r = keys_from_seed(name, bin[0], bin + 1, &sk, NULL)) != 0)
		goto done;
	if (sk.id != id) {
		r = EVC_EINVAL;
		goto done;
	}
	memcpy(out, &sk, sizeof sk);
	r = 0;
done:
	sodium_memzero(&sk, sizeof sk);
	sodium_memzero(bin, sizeof bin);
	return r;
}

int
keys_vkey_format(const evc_vkey *vk, char *buf, size_t cap)
{
	uint8_t bin[33];
	char b64[sodium_base64_ENCODED_LEN(33, sodium_base64_VARIANT_ORIGINAL)];
	int n;

	if (vk == NULL || buf == NULL || !type_valid(vk->type) ||
	    !keys_name_valid(vk->name, strnlen(vk->name, sizeof vk->name)))
		return EVC_EINVAL;
	bin[0] = vk->type;
	memcpy(bin + 1, vk->pub, 32);
	sodium_bin2base64(b64, sizeof b64, bin, sizeof bin, sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(buf, cap, "%s+%08" PRIx32 "+%s", vk->name, vk->id, b64);
	if (n < 0 || (size_t)n >= cap) {
		if (cap > 0)
			buf[0] = '\0';
		return EVC_ETOOLARGE;
	}
	return n;
}

int
keys_skey_format(const evc_skey *sk, char *buf, size_t cap)
{
	uint8_t bin[33];
	char b64[sodium_base64_ENCODED_LEN(33, sodium_base64_VARIANT_ORIGINAL)];
	int n;

	if (sk == NULL || buf == NULL || !type_valid(sk->type) ||
	    !keys_name_valid(sk->name, strnlen(sk->name, sizeof sk->name)))
		return EVC_EINVAL;
	bin[0] = sk->type;
	memcpy(bin + 1, sk->sk, 32);
	sodium_bin2base64(b64, sizeof b64, bin, sizeof bin, sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(buf, cap, SKEY_PREFIX "%s+%08" PRIx32 "+%s", sk->name, sk->id, b64);
	sodium_memzero(bin, sizeof bin);
	sodium_memzero(b64, sizeof b64);
	if (n < 0 || (size_t)n >= cap) {
		if (cap > 0)
			sodium_memzero(buf, cap);
		return EVC_ETOOLARGE;
	}
	return n;
}

/* ---- files ---------------------------------------------------------- */

/* fsync the directory holding path, so a new file's name is durable too. */
static int
fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, r = 0;

	if (slash == NULL) {
		dir[0] = '.', dir[1] = '\0';
	} else if (slash == path) {
		dir[0] = '/', dir[1] = '\0';
	} else {
		size_t n = (size_t)(slash - path);
		if (n >= sizeof dir)
			return -1;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	if (fsync(fd) != 0 && errno != EINVAL)
		r = -1;
	close(fd);
	return r;
}

/* Create path (must not exist, must not be a symlink) with exactly `mode`,
 * write data, fsync. On failure nothing is left behind. 0, EVC_EEXIST, or
 * EVC_EIO with errno kept. */
static int
write_new_file(const char *path, mode_t mode, const void *data, size_t len)
{
	const uint8_t *p = data;
	int fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return errno == EEXIST ? EVC_EEXIST : EVC_EIO;
	if (fchmod(fd, mode) != 0)
		goto fail;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	if (fsync_parent(path) != 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(path);
	errno = e;
	return EVC_EIO;
}

/*
 * Read a small regular file into buf (cap bytes; *len receives the size).
 * nofollow: refuse a symlink (EVC_EIO, errno ELOOP). EVC_EIO (errno kept;
 * EINVAL for a file that is not regular) or EVC_ETOOLARGE.
 */
static int
read_small_file(const char *path, int nofollow, char *buf, size_t cap, size_t *len)
{
	struct stat st;
	size_t n = 0;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return EVC_EIO;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return EVC_EIO;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > cap) {
		close(fd);
		return EVC_ETOOLARGE;
	}
	for (;;) {
		char extra;
		ssize_t r;

		if (n == cap) {
			/* The file grew: only accept it if it ends here. */
			r = read(fd, &extra, 1);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				goto fail;
			if (r > 0) {
				close(fd);
				return EVC_ETOOLARGE;
			}
			break;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*len = n;
	return 0;
fail:
	e = errno;
	close(fd);
	errno = e;
	return EVC_EIO;
}

/* Parse a decimal u64 of s[0..len) with no sign, no leading zeros (but
 * "0"). 0 or -1. */
static int
parse_u64(const char *s, size_t len, unsigned long long *out)
{
	unsigned long long v = 0;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
keys_write_private(const char *path, const evc_skey *sk, const char *passphrase, size_t passlen)
{
	char line[KEYS_SKEY_MAX + 1];
	uint8_t key[crypto_secretbox_KEYBYTES];
	uint8_t *blob = NULL;
	char *b64 = NULL, *text = NULL;
	size_t bloblen, b64cap, textcap;
	int n, r;

	if (path == NULL || sk == NULL || (passphrase != NULL && passlen == 0) ||
	    passlen > crypto_pwhash_PASSWD_MAX)
		return EVC_EINVAL;
	if (!sodium_ready())
		return EVC_ECRYPTO;
	if ((n = keys_skey_format(sk, line, KEYS_SKEY_MAX)) < 0)
		return n;

	if (passphrase == NULL) {
		line[n] = '\n';
		r = write_new_file(path, 0600, line, (size_t)n + 1);
		goto err0;
	}

	/* salt || nonce || secretbox(key string) */
	bloblen = ENC_SALT_LEN + ENC_NONCE_LEN + crypto_secretbox_MACBYTES + (size_t)n;
	b64cap = sodium_base64_ENCODED_LEN(bloblen, sodium_base64_VARIANT_ORIGINAL);
	textcap = sizeof ENC_MAGIC + 64 + b64cap;
	r = EVC_ENOMEM;
	if ((blob = malloc(bloblen)) == NULL || (b64 = malloc(b64cap)) == NULL ||
	    (text = malloc(textcap)) == NULL)
		goto err1;
	randombytes_buf(blob, ENC_SALT_LEN + ENC_NONCE_LEN);
	if (crypto_pwhash(key, sizeof key, passphrase, passlen, blob, ENC_OPSLIMIT,
	    ENC_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		r = EVC_ECRYPTO;   /* out of memory inside argon2 */
		goto err2;
	}
	if (crypto_secretbox_easy(blob + ENC_SALT_LEN + ENC_NONCE_LEN, (const uint8_t *)line,
	    (unsigned long long)n, blob + ENC_SALT_LEN, key) != 0) {
		r = EVC_ECRYPTO;
		goto err2;
	}
	sodium_bin2base64(b64, b64cap, blob, bloblen, sodium_base64_VARIANT_ORIGINAL);
	int tn = snprintf(text, textcap, ENC_MAGIC ENC_ALG " %llu %llu\n%s\n",
	    (unsigned long long)ENC_OPSLIMIT, (unsigned long long)ENC_MEMLIMIT, b64);
	if (tn < 0 || (size_t)tn >= textcap) {
		r = EVC_ETOOLARGE;
		goto err2;
	}
	r = write_new_file(path, 0600, text, (size_t)tn);
err2:
	sodium_memzero(key, sizeof key);
err1:
	free(text);
	free(b64);
	free(blob);
err0:
	sodium_memzero(line, sizeof line);
	return r;
}

/* Decrypt an encrypted key file body (after the magic line). */
static int
decrypt_key(const char *p, size_t len, const char *passphrase, size_t passlen, evc_skey *out)
{
	uint8_t blob[KEY_FILE_MAX], key[crypto_secretbox_KEYBYTES];
	char plain[KEY_FILE_MAX];
	unsigned long long ops, mem;
	const char *nl, *sp1, *sp2;
	size_t bloblen = 0, plen;
	const char *end = NULL;
	int r = EVC_EPASS;

	/* "argon2id13 <ops> <mem>\n" */
	if ((nl = memchr(p, '\n', len)) == NULL)
		return EVC_EPASS;
	if ((size_t)(nl - p) < sizeof ENC_ALG + 3 || memcmp(p, ENC_ALG " ", sizeof ENC_ALG) != 0)
		return EVC_EPASS;
	sp1 = p + sizeof ENC_ALG - 1;
	if ((sp2 = memchr(sp1 + 1, ' ', (size_t)(nl - sp1 - 1))) == NULL)
		return EVC_EPASS;
	if (parse_u64(sp1 + 1, (size_t)(sp2 - sp1 - 1), &ops) != 0 ||
	    parse_u64(sp2 + 1, (size_t)(nl - sp2 - 1), &mem) != 0)
		return EVC_EPASS;
	if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > ENC_OPSLIMIT_MAX ||
	    mem < crypto_pwhash_MEMLIMIT_MIN || mem > ENC_MEMLIMIT_MAX)
		return EVC_EPASS;

	/* "<base64>" with an optional final newline, nothing else. */
	len -= (size_t)(nl + 1 - p);
	p = nl + 1;
	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (len == 0 || memchr(p, '\n', len) != NULL)
		return EVC_EPASS;
	if (sodium_base642bin(blob, sizeof blob, p, len, NULL, &bloblen, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != p + len)
		return EVC_EPASS;
	if (bloblen <= ENC_SALT_LEN + ENC_NONCE_LEN + crypto_secretbox_MACBYTES)
		return EVC_EPASS;
	plen = bloblen - ENC_SALT_LEN - ENC_NONCE_LEN - crypto_secretbox_MACBYTES;

	if (crypto_pwhash(key, sizeof key, passphrase, passlen, blob, ops, (size_t)mem,
	    crypto_pwhash_ALG_ARGON2ID13) != 0) {
		r = EVC_ECRYPTO;
		goto done;
	}
	if (crypto_secretbox_open_easy((uint8_t *)plain, blob + ENC_SALT_LEN + ENC_NONCE_LEN,
	    bloblen - ENC_SALT_LEN - ENC_NONCE_LEN, blob + ENC_SALT_LEN, key) != 0) {
		r = EVC_EPASS;
		goto done;
	}
	r = keys_skey_parse(plain, plen, out);
done:
	sodium_memzero(key, sizeof key);
	sodium_memzero(plain, sizeof plain);
	return r;
}

int
keys_read_private(const char *path, const char *passphrase, size_t passlen, evc_skey *out)
{
	char buf[KEY_FILE_MAX];
	size_t len = 0;
	int r;

	if (path == NULL || out == NULL || passlen > crypto_pwhash_PASSWD_MAX)
		return EVC_EINVAL;
	if (!sodium_ready())
		return EVC_ECRYPTO;
	r = read_small_file(path, 1, buf, sizeof buf, &len);
	if (r == EVC_ETOOLARGE)
		r = EVC_EINVAL;
	if (r != 0)
		goto done;
	if (len >= sizeof ENC_MAGIC - 1 && memcmp(buf, ENC_MAGIC, sizeof ENC_MAGIC - 1) == 0) {
		if (passphrase == NULL)
			r = EVC_EPASS;
		else
			r = decrypt_key(buf + sizeof ENC_MAGIC - 1, len - (sizeof ENC_MAGIC - 1),
			    passphrase, passlen, out);
		goto done;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	r = keys_skey_parse(buf, len, out);
done:
	sodium_memzero(buf, sizeof buf);
	return r;
}

int
keys_write_public(const char *path, const evc_vkey *vk)
{
	char line[KEYS_VKEY_MAX + 1];
	int n;

	if (path == NULL || vk == NULL)
		return EVC_EINVAL;
	if ((n = keys_vkey_format(vk, line, KEYS_VKEY_MAX)) < 0)
		return n;
	line[n] = '\n';
	return write_new_file(path, 0644, line, (size_t)n + 1);
}

int
keys_read_public(const char *path, evc_vkey *out)
{
	char buf[KEY_FILE_MAX];
	size_t len = 0;
	int r;

	if (path == NULL || out == NULL)
		return EVC_EINVAL;
	r = read_small_file(path, 0, buf, sizeof buf, &len);
	if (r == EVC_ETOOLARGE)
		return EVC_EINVAL;
	if (r != 0)
		return r;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	return keys_vkey_parse(buf, len, out);
}

int
keys_read_passphrase(const char *path, char *buf, size_t cap)
{
	char tmp[KEY_FILE_MAX];
	size_t len = 0, n;
	const char *nl;
	int r;

	if (path == NULL || buf == NULL || cap == 0)
		return EVC_EINVAL;
	r = read_small_file(path, 0, tmp, sizeof tmp, &len);
	if (r != 0)
		goto done;
	nl = memchr(tmp, '\n', len);
	n = nl != NULL ? (size_t)(nl - tmp) : len;
	if (n > 0 && tmp[n - 1] == '\r')
		n--;
	if (n >= cap || n > INT_MAX) {
		r = EVC_ETOOLARGE;
		goto done;
	}
	memcpy(buf, tmp, n);
	buf[n] = '\0';
	r = (int)n;
done:
	sodium_memzero(tmp, sizeof tmp);
	return r;
}

/* ---- signatures ----------------------------------------------------- */

void
keys_sign(const evc_skey *sk, const void *msg, size_t len, uint8_t sig[64])
{
	if (!sodium_ready())
		abort();   /* sodium_init only fails without a usable RNG */
	crypto_sign_detached(sig, NULL, msg, len, sk->sk);
}

int
keys_verify(const evc_vkey *vk, const void *msg, size_t len, const uint8_t sig[64])
{
	if (!sodium_ready())
		return EVC_ECRYPTO;
	return crypto_sign_verify_detached(sig, msg, len, vk->pub) == 0 ? 0 : EVC_EBADSIG;
}
