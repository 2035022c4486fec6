/*
 * note.c — C2SP signed-note, tlog-checkpoint, cosignature/v1, tlog-proof and
 * strict base64, byte-compatible with Go's golang.org/x/mod/sumdb/note and
 * transparency-dev/formats.
 *
 * Parsers are zero-copy over the caller's buffer and check every length
 * against the stated maximum before copying.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "evc.h"
#include "keys.h"
#include "note.h"

#define EM_DASH_SP "\xe2\x80\x94 " /* U+2014 and a space: 4 bytes */
#define EM_DASH_SP_LEN 4
#define COSIG_HEADER "cosignature/v1\ntime "
#define COSIG_PREFIX_MAX 48        /* header + 20 digits + "\n", rounded up */
#define ED25519_SIG 64
#define COSIG_SIG 72               /* timestamp (8) || Ed25519 (64) */
#define SIG_RAW_MAX (4 + NOTE_COSIG_LEN)
/* Parsing: signatures of other algorithms may be long (ML-DSA-87: 4,627
 * bytes); as Go, the note still parses and they count as unverified. */
#define SIG_PARSE_MAX (4 + NOTE_SIG_MAX)
#define HASH_B64_LEN 44            /* base64 of 32 bytes */
#define TLOG_PROOF_HEADER "c2sp.org/tlog-proof@v1"

/* ---- base64 -------------------------------------------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t
b64_encoded_len(size_t n)
{
	if (n / 3 > SIZE_MAX / 4 - 1)
		return SIZE_MAX;
	return n / 3 * 4 + (n % 3 ? 4 : 0);
}

int
b64_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
	size_t olen = b64_encoded_len(n), i, o = 0;

	if (olen > INT_MAX || olen >= cap)
		return EVC_ETOOLARGE;
	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return (int)o;
}

int
b64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t pad = 0, olen, i, o = 0;

	if (n % 4 != 0)
		return EVC_EINVAL;
	if (n == 0)
		return 0;
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	/* Every character but the padding must be in the alphabet. */
	for (i = 0; i < n - pad; i++)
		if (b64_value(s[i]) < 0)
			return EVC_EINVAL;
	/* Canonical: the bits the padding drops must be zero. */
	if (pad == 1 && (b64_value(s[n - 2]) & 3) != 0)
		return EVC_EINVAL;
	if (pad == 2 && (b64_value(s[n - 3]) & 15) != 0)
		return EVC_EINVAL;
	olen = n / 4 * 3 - pad;
	if (olen > INT_MAX || olen > cap)
		return EVC_ETOOLARGE;
	for (i = 0; i < n; i += 4) {
		uint32_t v = (uint32_t)b64_value(s[i]) << 18 | (uint32_t)b64_value(s[i + 1]) << 12;
		int c2 = b64_value(s[i + 2]), c3 = b64_value(s[i + 3]);
		out[o++] = (uint8_t)(v >> 16);
		if (c2 < 0) /* "xx==" (only possible in the last quad) */
			break;
		v |= (uint32_t)c2 << 6;
		out[o++] = (uint8_t)(v >> 8);
		if (c3 < 0)
			break;
		v |= (uint32_t)c3;
		out[o++] = (uint8_t)v;
	}
	return (int)o;
}

/* ---- text rules ---------------------------------------------------------- */

/*
 * Decode the UTF-8 sequence at s[*i] (strictly: no overlong forms, no
 * surrogates, nothing above U+10FFFF) into *cp and advance *i.
 * 0, or -1 for an invalid sequence (Go's utf8.RuneError of size 1).
 */
static int
next_rune(const uint8_t *s, size_t len, size_t *i, uint32_t *cp)
{
	uint8_t c = s[*i];
	uint32_t v;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		(*i)++;
		return 0;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1fu;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0fu;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07u;
	} else {
		return -1;
	}
	if (len - *i < n)
		return -1;
	for (size_t k = 1; k < n; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return -1;
		v = v << 6 | (s[*i + k] & 0x3fu);
	}
	if ((n == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
	    (n == 4 && (v < 0x10000 || v > 0x10ffff)))
		return -1;
	*cp = v;
	*i += n;
	return 0;
}

/* Valid UTF-8 without ASCII control characters other than '\n'. */
static int
text_chars_ok(const char *p, size_t len)
{
	const uint8_t *s = (const uint8_t *)p;
	size_t i = 0;
	uint32_t cp;

	while (i < len) {
		if (s[i] >= 0x20 && s[i] < 0x80) { /* fast path */
			i++;
			continue;
		}
		if (next_rune(s, len, &i, &cp) < 0 || (cp < 0x20 && cp != '\n'))
			return 0;
	}
	return 1;
}

/* Note text: non-empty, valid characters, ends with '\n'. */
static int
note_text_ok(const char *text, size_t len)
{
	return len > 0 && text[len - 1] == '\n' && text_chars_ok(text, len);
}

/* Unicode White_Space, as Go's unicode.IsSpace. */
static int
is_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 ||
	    c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
	    c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/* A key name or checkpoint origin: 1..max bytes of UTF-8, no white space,
 * no '+', no control character (Go's isValidName, with a bound). */
static int
name_ok(const char *p, size_t len, size_t max)
{
	const uint8_t *s = (const uint8_t *)p;
	size_t i = 0;
	uint32_t cp;

	if (len == 0 || len > max)
		return 0;
	while (i < len) {
		if (next_rune(s, len, &i, &cp) < 0 || cp < 0x20 || cp == '+' || is_space(cp))
			return 0;
	}
	return 1;
}

/* strlen bounded by max + 1 (strnlen is POSIX, not C11). */
static size_t
bounded_len(const char *s, size_t max)
{
	size_t n = 0;

	while (n <= max && s[n] != '\0')
		n++;
	return n;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint64_t
get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

/* Decimal u64 without leading zeros ("0" alone is fine). 0 or -1. */
static int
parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20 || (s[0] == '0' && len > 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Decimal of v into buf (at least 21 bytes, not NUL-terminated). Length. */
static size_t
fmt_u64(uint64_t v, char *buf)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

/* Next line of s[*p..len) without its '\n'; -1 when no '\n' is left. */
static int
next_line(const char *s, size_t len, size_t *p, const char **line, size_t *linelen)
{
	const char *nl;

	if (*p >= len || (nl = memchr(s + *p, '\n', len - *p)) == NULL)
		return -1;
	*line = s + *p;
	*linelen = (size_t)(nl - *line);
	*p += *linelen + 1;
	return 0;
}

/* ---- signed notes ------------------------------------------------------- */

/*
 * Parse msg; out may be NULL to check the syntax only. The text is
 * msg[0..*text_len) when text_len is not NULL.
 */
static int
parse_note(const char *msg, size_t len, note *out, size_t *text_len)
{
	size_t split, p, nsigs = 0;

	if (out != NULL) {
		out->text = NULL;
		out->text_len = 0;
		out->nsigs = 0;
	}
	if (len > EVC_MAX_NOTE)
		return EVC_ETOOLARGE;
	if (len < 2 || !text_chars_ok(msg, len))
		return EVC_EINVAL;
	/* The text ends at the last "\n\n" (its first '\n' included). */
	for (split = len - 1; split > 0; split--)
		if (msg[split - 1] == '\n' && msg[split] == '\n')
			break;
	if (split == 0)
		return EVC_EINVAL;
	p = split + 1;
	if (p == len || msg[len - 1] != '\n')
		return EVC_EINVAL;

	while (p < len) {
		const char *line, *name, *b64, *sp;
		size_t linelen, namelen, b64len;
		uint8_t raw[SIG_PARSE_MAX];
		int n;

		if (next_line(msg, len, &p, &line, &linelen) < 0)
			return EVC_EINVAL; /* unreachable: msg ends with '\n' */
		if (linelen < EM_DASH_SP_LEN || memcmp(line, EM_DASH_SP, EM_DASH_SP_LEN) != 0)
			return EVC_EINVAL;
		name = line + EM_DASH_SP_LEN;
		sp = memchr(name, ' ', linelen - EM_DASH_SP_LEN);
		if (sp == NULL)
			return EVC_EINVAL;
		namelen = (size_t)(sp - name);
		b64 = sp + 1;
		b64len = (size_t)(line + linelen - b64);
		if (!name_ok(name, namelen, EVC_MAX_KEY_NAME) || b64len == 0)
			return EVC_EINVAL;
		n = b64_decode(b64, b64len, raw, sizeof raw);
		if (n < 5) /* bad base64, or no signature */
			return EVC_EINVAL;
		if (nsigs == EVC_MAX_NOTE_SIGS)
			return EVC_ETOOLARGE;
		if (out != NULL) {
			note_sig *sg = &out->sigs[nsigs];
			memcpy(sg->name, name, namelen);
			sg->name[namelen] = '\0';
			sg->id = get_be32(raw);
			/* A longer signature (another algorithm, e.g. ML-DSA) is
			 * kept by its length only: no key here can verify it. */
			sg->sig_len = (size_t)n - 4;
			memcpy(sg->sig, raw + 4, sg->sig_len < NOTE_COSIG_LEN ? sg->sig_len : NOTE_COSIG_LEN);
			sg->key = NULL;
			sg->timestamp = 0;
		}
		nsigs++;
	}
	if (out != NULL) {
		out->text = msg;
		out->text_len = split;
		out->nsigs = nsigs;
	}
	if (text_len != NULL)
		*text_len = split;
	return 0;
}

int
note_parse(const char *msg, size_t len, note *out)
{
	return parse_note(msg, len, out, NULL);
}

static int
sodium_ready(void)
{
	return sodium_init() >= 0;
}

/*
 * The cosignature/v1 signed message for text at time ts into buf (len +
 * COSIG_PREFIX_MAX bytes). Returns its length.
 */
static size_t
cosig_message(const char *text, size_t len, uint64_t ts, uint8_t *buf)
{
	size_t o = sizeof COSIG_HEADER - 1;

	memcpy(buf, COSIG_HEADER, o);
	o += fmt_u64(ts, (char *)buf + o);
	buf[o++] = '\n';
	memcpy(buf + o, text, len);
	return o + len;
}

/* At least three lines (two '\n'), as transparency-dev/formats requires. */
static int
cosig_text_ok(const char *text, size_t len)
{
	const char *nl = memchr(text, '\n', len);

	return nl != NULL && memchr(nl + 1, '\n', len - (size_t)(nl + 1 - text)) != NULL;
}

/*
 * Verify timestamp (8) || Ed25519 (64) over text with pub. buf is scratch of
 * len + COSIG_PREFIX_MAX bytes. 0 or EVC_EBADSIG.
 */
static int
cosig_check(const char *text, size_t len, const uint8_t pub[32], const uint8_t *sig,
    size_t siglen, uint8_t *buf, uint64_t *ts)
{
	size_t mlen;

	if (siglen != COSIG_SIG || !cosig_text_ok(text, len))
		return EVC_EBADSIG;
	*ts = get_be64(sig);
	if (*ts > (uint64_t)INT64_MAX)
		return EVC_EBADSIG;
	mlen = cosig_message(text, len, *ts, buf);
	if (crypto_sign_verify_detached(sig + 8, buf, mlen, pub) != 0)
		return EVC_EBADSIG;
	return 0;
}

static int
same_key(const evc_vkey *a, const evc_vkey *b)
{
	return a->type == b->type && memcmp(a->pub, b->pub, 32) == 0;
}

int
note_open(const char *msg, size_t len, const evc_vkey *keys, size_t nkeys, note *out)
{
	uint8_t *buf = NULL;
	int rc, verified = 0;

	if ((rc = note_parse(msg, len, out)) < 0)
		return rc;
	if (!sodium_ready())
		return EVC_ECRYPTO;
	for (size_t k = 0; k < out->nsigs; k++) {
		note_sig *sg = &out->sigs[k];
		const evc_vkey *vk = NULL;
		int seen = 0;

		for (size_t j = 0; j < nkeys; j++) {
			if (keys[j].id != sg->id || strcmp(keys[j].name, sg->name) != 0)
				continue;
			if (vk != NULL && !same_key(vk, &keys[j])) {
				rc = EVC_EINVAL; /* ambiguous (name, id) in the caller's keys */
				goto out;
			}
			vk = &keys[j];
		}
		if (vk == NULL)
			continue; /* unknown key: ignored */
		for (size_t q = 0; q < k; q++)
			if (out->sigs[q].key != NULL && out->sigs[q].id == sg->id &&
			    strcmp(out->sigs[q].name, sg->name) == 0)
				seen = 1;
		if (seen)
			continue; /* a repeated signature by a verified key: ignored, as Go */

		switch (vk->type) {
		case EVC_KEY_ED25519:
			if (sg->sig_len != ED25519_SIG ||
			    crypto_sign_verify_detached(sg->sig, (const unsigned char *)out->text,
			    out->text_len, vk->pub) != 0) {
				rc = EVC_EBADSIG;
				goto out;
			}
			break;
		case EVC_KEY_COSIGNATURE:
			if (buf == NULL && (buf = malloc(out->text_len + COSIG_PREFIX_MAX)) == NULL) {
				rc = EVC_ENOMEM;
				goto out;
			}
			if ((rc = cosig_check(out->text, out->text_len, vk->pub, sg->sig, sg->sig_len,
			    buf, &sg->timestamp)) < 0) {
				sg->timestamp = 0;
				goto out;
			}
			break;
		default:
			rc = EVC_EINVAL;
			goto out;
		}
		sg->key = vk;
		verified++;
	}
	rc = verified > 0 ? verified : EVC_EUNKNOWNKEY;
out:
	free(buf);
	return rc;
}

int
note_sig_line(const char *name, uint32_t id, const uint8_t *sig, size_t siglen,
    char *buf, size_t cap)
{
	uint8_t raw[SIG_RAW_MAX];
	size_t namelen = bounded_len(name, EVC_MAX_KEY_NAME), o;
	int n;

	if (!name_ok(name, namelen, EVC_MAX_KEY_NAME) || siglen == 0)
		return EVC_EINVAL;
	if (siglen > NOTE_COSIG_LEN)
		return EVC_ETOOLARGE;
	put_be32(raw, id);
	memcpy(raw + 4, sig, siglen);
	o = EM_DASH_SP_LEN + namelen + 1;
	if (o >= cap)
		return EVC_ETOOLARGE;
	memcpy(buf, EM_DASH_SP, EM_DASH_SP_LEN);
	memcpy(buf + EM_DASH_SP_LEN, name, namelen);
	buf[o - 1] = ' ';
	n = b64_encode(raw, 4 + siglen, buf + o, cap - o);
	if (n < 0 || o + (size_t)n + 1 >= cap)
		return EVC_ETOOLARGE;
	o += (size_t)n;
	buf[o++] = '\n';
	buf[o] = '\0';
	return (int)o;
}

int
note_sign(const char *text, size_t len, const evc_skey *const *keys, size_t nkeys,
    char **out, size_t *outlen)
{
	size_t total, o;
	char *buf;

	*out = NULL;
	*outlen = 0;
	if (!note_text_ok(text, len) || nkeys == 0 || nkeys > EVC_MAX_NOTE_SIGS)
		return EVC_EINVAL;
	total = len + 1;
	for (size_t k = 0; k < nkeys; k++) {
		size_t namelen = bounded_len(keys[k]->name, EVC_MAX_KEY_NAME);
		if (keys[k]->type != EVC_KEY_ED25519 || !name_ok(keys[k]->name, namelen, EVC_MAX_KEY_NAME))
			return EVC_EINVAL;
		total += EM_DASH_SP_LEN + namelen + 1 + b64_encoded_len(4 + ED25519_SIG) + 1;
	}
	if (total > EVC_MAX_NOTE)
		return EVC_ETOOLARGE;
	if (!sodium_ready())
		return EVC_ECRYPTO;
	if ((buf = malloc(total + 1)) == NULL)
		return EVC_ENOMEM;
	memcpy(buf, text, len);
	o = len;
	buf[o++] = '\n';
	for (size_t k = 0; k < nkeys; k++) {
		uint8_t sig[ED25519_SIG];
		int n;

		crypto_sign_detached(sig, NULL, (const unsigned char *)text, len, keys[k]->sk);
		n = note_sig_line(keys[k]->name, keys[k]->id, sig, sizeof sig, buf + o, total + 1 - o);
		if (n < 0) { /* cannot happen: the size was computed above */
			free(buf);
			return EVC_EINVAL;
		}
		o += (size_t)n;
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;
}

/* ---- tlog-checkpoint --------------------------------------------------- */

/* Extension lines: empty, or non-empty lines each ending "\n". */
static int
ext_ok(const char *ext, size_t len)
{
	if (len == 0)
		return 1;
	if (ext == NULL || ext[0] == '\n' || ext[len - 1] != '\n' || !text_chars_ok(ext, len))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (ext[i] == '\n' && ext[i - 1] == '\n')
			return 0;
	return 1;
}

int
checkpoint_format(const checkpoint *cp, char *buf, size_t cap)
{
	size_t olen = bounded_len(cp->origin, CHECKPOINT_MAX_ORIGIN);
	size_t extlen = cp->ext != NULL ? cp->ext_len : 0;
	char num[21];
	size_t nlen, total, o;

	if (!name_ok(cp->origin, olen, CHECKPOINT_MAX_ORIGIN) || !ext_ok(cp->ext, extlen))
		return EVC_EINVAL;
	nlen = fmt_u64(cp->size, num);
	if (extlen > INT_MAX)
		return EVC_ETOOLARGE;
	total = olen + 1 + nlen + 1 + HASH_B64_LEN + 1 + extlen;
	if (total > INT_MAX || total >= cap)
		return EVC_ETOOLARGE;
	memcpy(buf, cp->origin, olen);
	o = olen;
	buf[o++] = '\n';
	memcpy(buf + o, num, nlen);
	o += nlen;
	buf[o++] = '\n';
	o += (size_t)b64_encode(cp->root, 32, buf + o, cap - o);
	buf[o++] = '\n';
	if (extlen > 0)
		memcpy(buf + o, cp->ext, extlen);
	o += extlen;
	buf[o] = '\0';
	return (int)o;
}

int
checkpoint_parse(const char *text, size_t len, checkpoint *out)
{
	const char *line;
	size_t linelen, p = 0;

	memset(out, 0, sizeof *out);
	if (len > EVC_MAX_NOTE || !note_text_ok(text, len))
		return EVC_EINVAL;
	if (next_line(text, len, &p, &line, &linelen) < 0 ||
	    !name_ok(line, linelen, CHECKPOINT_MAX_ORIGIN))
		return EVC_EINVAL;
	memcpy(out->origin, line, linelen);
	out->origin[linelen] = '\0';
	if (next_line(text, len, &p, &line, &linelen) < 0 ||
	    parse_u64(line, linelen, &out->size) < 0)
		goto bad;
	if (next_line(text, len, &p, &line, &linelen) < 0 || linelen != HASH_B64_LEN ||
	    b64_decode(line, linelen, out->root, 32) != 32)
		goto bad;
	if (!ext_ok(text + p, len - p))
		goto bad;
	if (p < len) {
		out->ext = text + p;
		out->ext_len = len - p;
	}
	return 0;
bad:
	memset(out, 0, sizeof *out);
	return EVC_EINVAL;
}

/* ---- cosignature/v1 ---------------------------------------------------- */

int
cosig_sign(const char *text, size_t len, const evc_skey *sk, uint64_t timestamp,
    uint8_t out[NOTE_COSIG_LEN])
{
	uint8_t *buf;
	size_t mlen;

	if (sk->type != EVC_KEY_COSIGNATURE || timestamp > (uint64_t)INT64_MAX ||
	    len > EVC_MAX_NOTE || !note_text_ok(text, len) || !cosig_text_ok(text, len))
		return EVC_EINVAL;
	if (!sodium_ready())
		return EVC_ECRYPTO;
	if ((buf = malloc(len + COSIG_PREFIX_MAX)) == NULL)
		return EVC_ENOMEM;
	mlen = cosig_message(text, len, timestamp, buf);
	put_be32(out, sk->id);
	put_be64(out + 4, timestamp);
	crypto_sign_detached(out + 12, NULL, buf, mlen, sk->sk);
	free(buf);
	return 0;
}

int
cosig_verify(const char *text, size_t len, const evc_vkey *vk,
    const uint8_t sig[NOTE_COSIG_LEN], uint64_t *timestamp)
{
	uint8_t *buf;
	uint64_t ts = 0;
	int rc;

	if (vk->type != EVC_KEY_COSIGNATURE || get_be32(sig) != vk->id ||
	    len > EVC_MAX_NOTE || !note_text_ok(text, len))
		return EVC_EINVAL;
	if (!sodium_ready())
		return EVC_ECRYPTO;
	if ((buf = malloc(len + COSIG_PREFIX_MAX)) == NULL)
		return EVC_ENOMEM;
	rc = cosig_check(text, len, vk->pub, sig + 4, COSIG_SIG, buf, &ts);
	free(buf);
	if (rc == 0 && timestamp != NULL)
		*timestamp = ts;
	return rc;
}

/* ---- tlog-proof -------------------------------------------------------- */

/* The signed checkpoint of a tlog-proof: a signed note whose text is a
 * checkpoint. 0, EVC_EINVAL, EVC_ETOOLARGE. */
static int
signed_checkpoint_ok(const char *s, size_t len)
{
	checkpoint cp;
	size_t text_len;
	int rc;

	if ((rc = parse_note(s, len, NULL, &text_len)) < 0)
		return rc;
	return checkpoint_parse(s, text_len, &cp);
}

int
tlog_proof_format(uint64_t index, const uint8_t *extra, size_t extra_len,
    const uint8_t (*proof)[32], size_t nproof, const char *signed_checkpoint, size_t cplen,
    char **out, size_t *outlen)
{
	char num[21];
	size_t nlen, total, o;
	char *buf;
	int n;

	*out = NULL;
	*outlen = 0;
	if (nproof > EVC_MAX_PROOF || extra_len > TLOG_PROOF_MAX_EXTRA ||
	    (extra == NULL && extra_len > 0) ||
	    signed_checkpoint_ok(signed_checkpoint, cplen) < 0)
		return EVC_EINVAL;
	nlen = fmt_u64(index, num);
	total = sizeof TLOG_PROOF_HEADER - 1 + 1;
	if (extra != NULL)
		total += 6 + b64_encoded_len(extra_len) + 1;
	total += 6 + nlen + 1 + nproof * (HASH_B64_LEN + 1) + 1 + cplen;
	if ((buf = malloc(total + 1)) == NULL)
		return EVC_ENOMEM;
	o = sizeof TLOG_PROOF_HEADER - 1;
	memcpy(buf, TLOG_PROOF_HEADER "\n", o + 1);
	o++;
	if (extra != NULL) {
		memcpy(buf + o, "extra ", 6);
		o += 6;
		n = b64_encode(extra, extra_len, buf + o, total + 1 - o);
		o += (size_t)n;
		buf[o++] = '\n';
	}
	memcpy(buf + o, "index ", 6);
	o += 6;
	memcpy(buf + o, num, nlen);
	o += nlen;
	buf[o++] = '\n';
	for (size_t k = 0; k < nproof; k++) {
		n = b64_encode(proof[k], 32, buf + o, total + 1 - o);
		o += (size_t)n;
		buf[o++] = '\n';
	}
	buf[o++] = '\n';
	memcpy(buf + o, signed_checkpoint, cplen);
	o += cplen;
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;
}

int
tlog_proof_parse(const char *s, size_t len, tlog_proof *out)
{
	const char *line;
	size_t linelen, p = 0;
	int rc = EVC_EINVAL, n;

	out->index = 0;
	out->extra_len = 0;
	out->has_extra = 0;
	out->nhashes = 0;
	out->checkpoint = NULL;
	out->checkpoint_len = 0;

	if (next_line(s, len, &p, &line, &linelen) < 0 ||
	    linelen != sizeof TLOG_PROOF_HEADER - 1 ||
	    memcmp(line, TLOG_PROOF_HEADER, linelen) != 0)
		goto bad;
	if (next_line(s, len, &p, &line, &linelen) < 0)
		goto bad;
	if (linelen >= 6 && memcmp(line, "extra ", 6) == 0) {
		n = b64_decode(line + 6, linelen - 6, out->extra, sizeof out->extra);
		if (n < 0) {
			rc = n;
			goto bad;
		}
		out->extra_len = (size_t)n;
		out->has_extra = 1;
		if (next_line(s, len, &p, &line, &linelen) < 0)
			goto bad;
	}
	if (linelen < 6 || memcmp(line, "index ", 6) != 0 ||
	    parse_u64(line + 6, linelen - 6, &out->index) < 0)
		goto bad;
	for (;;) {
		if (next_line(s, len, &p, &line, &linelen) < 0)
			goto bad; /* no empty line before the checkpoint */
		if (linelen == 0)
			break;
		if (out->nhashes == EVC_MAX_PROOF) {
			rc = EVC_ETOOLARGE;
			goto bad;
		}
		if (linelen != HASH_B64_LEN ||
		    b64_decode(line, linelen, out->hashes[out->nhashes], 32) != 32)
			goto bad;
		out->nhashes++;
	}
	if ((rc = signed_checkpoint_ok(s + p, len - p)) < 0)
		goto bad;
	out->checkpoint = s + p;
	out->checkpoint_len = len - p;
	return 0;
bad:
	out->index = 0;
	out->extra_len = 0;
	out->has_extra = 0;
	out->nhashes = 0;
	return rc;
}
