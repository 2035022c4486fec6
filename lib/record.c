/*
 * record.c — evchain records: decode, sign, verify, validate, attributes.
 *
 * Validation reports the first rule a record breaks as "field.path: what is
 * wrong" (top-level fields without a prefix: "record_id: is required").
 * Rules come from DESIGN §3 and the seed (sections 四 to 十); the ones that
 * need other records (is the plan filed? is the company over its cap?) are
 * the audit's business, not this file's.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "evc.h"
#include "keys.h"
#include "pb.h"
#include "record.h"

/* ------------------------------------------------------------------------ */
/* Decoding                                                                 */
/* ------------------------------------------------------------------------ */

/* Read one base-128 varint at p[*off..len). 1 on success. */
static int
wire_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (*off >= len)
			return 0;
		uint8_t b = p[(*off)++];
		v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*out = v;
			return 1;
		}
	}
	return 0;
}

/*
 * Walk the wire form of a message that protobuf-c already accepted and
 * refuse any string field (known to `desc`, at any depth) that holds a NUL
 * byte: protobuf-c hands strings out NUL-terminated, so "A\0B" would be
 * seen as "A" while the signed bytes say otherwise. Unknown fields are
 * skipped (readers ignore them, the schema's rule). 1 if all is well.
 */
static int
wire_strings_ok(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len, int depth)
{
	size_t off = 0;

	if (depth > 16)
		return 0;
	while (off < len) {
		uint64_t tag, n;
		if (!wire_varint(p, len, &off, &tag))
			return 0;
		uint64_t num = tag >> 3;
		if (num == 0 || num > 536870911u)
			return 0;
		switch (tag & 7) {
		case 0:
			if (!wire_varint(p, len, &off, &n))
				return 0;
			break;
		case 1:
			if (len - off < 8)
				return 0;
			off += 8;
			break;
		case 5:
			if (len - off < 4)
				return 0;
			off += 4;
			break;
		case 2: {
			if (!wire_varint(p, len, &off, &n) || n > len - off)
				return 0;
			const ProtobufCFieldDescriptor *f = desc == NULL ? NULL :
			    protobuf_c_message_descriptor_get_field(desc, (unsigned)num);
			if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING &&
			    memchr(p + off, 0, (size_t)n) != NULL)
				return 0;
			if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    !wire_strings_ok(f->descriptor, p + off, (size_t)n, depth + 1))
				return 0;
			off += (size_t)n;
			break;
		}
		default: /* groups: not in proto3, refused */
			return 0;
		}
	}
	return 1;
}

Record *
record_decode(pb_arena *a, const uint8_t *buf, size_t len)
{
	if (a == NULL || len > EVC_MAX_RECORD || (buf == NULL && len != 0))
		return NULL;
	ProtobufCMessage *m = pb_unpack(a, &evchain__v1__record__descriptor, buf, len);
	if (m == NULL)
		return NULL;
	if (!wire_strings_ok(&evchain__v1__record__descriptor, buf, len, 0))
		return NULL; /* the arena keeps the memory until reset */
	return (Record *)m;
}

/* ------------------------------------------------------------------------ */
/* Kinds                                                                    */
/* ------------------------------------------------------------------------ */

static const char *const kind_names[] = {
	[EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY] = "node_key",
	[EVCHAIN__V1__RECORD_KIND__RECORD_KIND_INSPECTION_PLAN] = "inspection_plan",
	[EVCHAIN__V1__RECORD_KIND__RECORD_KIND_SCAN_IN] = "scan_in",
	[EVCHAIN__V1__RECORD_KIND__RECORD_KIND_CERTIFICATE_CHECK] = "certificate_check",
	[EVCHAIN__V1__RECORD_KIND__RECORD_KIND_EVIDENCE] = "evidence",
	[EVCHAIN__V1__RECORD_KIND__RECORD_KIND_DISPOSITION] = "disposition",
	[EVCHAIN__V1__RECORD_KIND__RECORD_KIND_COMPANY_FEEDBACK] = "company_feedback",
	[EVCHAIN__V1__RECORD_KIND__RECORD_KIND_FREQUENCY_CAP] = "frequency_cap",
	[EVCHAIN__V1__RECORD_KIND__RECORD_KIND_RISK_GRADE] = "risk_grade",
};
#define KIND_MAX EVCHAIN__V1__RECORD_KIND__RECORD_KIND_RISK_GRADE

Evchain__V1__RecordKind
record_kind(const Record *r)
{
	if (r == NULL)
		return EVCHAIN__V1__RECORD_KIND__RECORD_KIND_UNSPECIFIED;
	switch (r->body_case) {
	case EVCHAIN__V1__RECORD__BODY_NODE_KEY:
		return EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY;
	case EVCHAIN__V1__RECORD__BODY_INSPECTION_PLAN:
		return EVCHAIN__V1__RECORD_KIND__RECORD_KIND_INSPECTION_PLAN;
	case EVCHAIN__V1__RECORD__BODY_SCAN_IN:
		return EVCHAIN__V1__RECORD_KIND__RECORD_KIND_SCAN_IN;
	case EVCHAIN__V1__RECORD__BODY_CERTIFICATE_CHECK:
		return EVCHAIN__V1__RECORD_KIND__RECORD_KIND_CERTIFICATE_CHECK;
	case EVCHAIN__V1__RECORD__BODY_EVIDENCE:
		return EVCHAIN__V1__RECORD_KIND__RECORD_KIND_EVIDENCE;
	case EVCHAIN__V1__RECORD__BODY_DISPOSITION:
		return EVCHAIN__V1__RECORD_KIND__RECORD_KIND_DISPOSITION;
	case EVCHAIN__V1__RECORD__BODY_COMPANY_FEEDBACK:
		return EVCHAIN__V1__RECORD_KIND__RECORD_KIND_COMPANY_FEEDBACK;
	case EVCHAIN__V1__RECORD__BODY_FREQUENCY_CAP:
		return EVCHAIN__V1__RECORD_KIND__RECORD_KIND_FREQUENCY_CAP;
	case EVCHAIN__V1__RECORD__BODY_RISK_GRADE:
		return EVCHAIN__V1__RECORD_KIND__RECORD_KIND_RISK_GRADE;
	default:
		return EVCHAIN__V1__RECORD_KIND__RECORD_KIND_UNSPECIFIED;
	}
}

const char *
record_kind_name(Evchain__V1__RecordKind k)
{
	if (k == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_UNSPECIFIED)
		return "unspecified";
	if ((int)k < 0 || (int)k > (int)KIND_MAX)
		return "unknown";
	return kind_names[k];
}

Evchain__V1__RecordKind
record_kind_from_name(const char *name)
{
	if (name == NULL)
		return EVCHAIN__V1__RECORD_KIND__RECORD_KIND_UNSPECIFIED;
	for (int k = 1; k <= (int)KIND_MAX; k++)
		if (strcmp(name, kind_names[k]) == 0)
			return (Evchain__V1__RecordKind)k;
	return EVCHAIN__V1__RECORD_KIND__RECORD_KIND_UNSPECIFIED;
}

/* ------------------------------------------------------------------------ */
/* Signatures                                                               */
/* ------------------------------------------------------------------------ */

#define SIG_PREFIX_LEN (sizeof(EVC_RECORD_SIG_PREFIX) - 1)
#define SIG_STACK_MSG 4096u /* records up to this size are signed from the stack */

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void
sodium_init_once(void)
{
	/* Fails only when the platform has no usable entropy source, which
	 * plain Ed25519 sign / verify does not need. */
	if (sodium_init() < 0)
		return;
}

/* prefix || rec in stackbuf (cap SIG_STACK_MSG) or a malloc'd buffer.
 * NULL on overflow or ENOMEM. */
static uint8_t *
prefixed(const uint8_t *rec, size_t len, uint8_t *stackbuf, size_t *mlen)
{
	uint8_t *m;

	if (len > SIZE_MAX - SIG_PREFIX_LEN)
		return NULL;
	*mlen = SIG_PREFIX_LEN + len;
	m = *mlen <= SIG_STACK_MSG ? stackbuf : malloc(*mlen);
	if (m == NULL)
		return NULL;
	memcpy(m, EVC_RECORD_SIG_PREFIX, SIG_PREFIX_LEN);
	if (len != 0)
		memcpy(m + SIG_PREFIX_LEN, rec, len);
	return m;
}

void
record_sign(const evc_skey *sk, const uint8_t *rec, size_t len, uint8_t sig[64])
{
	uint8_t stackbuf[SIG_STACK_MSG];
	size_t mlen = 0;

	(void)pthread_once(&sodium_once, sodium_init_once);
	uint8_t *m = prefixed(rec, len, stackbuf, &mlen);
	if (m == NULL) {
		/* Out of memory: an all-zero signature (R of small order),
		 * which every Ed25519 verifier refuses. */
		memset(sig, 0, EVC_ED25519_SIG_LEN);
		return;
	}
	crypto_sign_detached(sig, NULL, m, mlen, sk->sk);
	if (m != stackbuf)
		free(m);
}

int
record_verify(const evc_vkey *vk, const uint8_t *rec, size_t len, const uint8_t sig[64])
{
	uint8_t stackbuf[SIG_STACK_MSG];
	size_t mlen = 0;
	int rc;

	if (vk == NULL || sig == NULL || vk->type != EVC_KEY_ED25519 || len > EVC_MAX_RECORD)
		return EVC_EBADSIG;
	(void)pthread_once(&sodium_once, sodium_init_once);
	uint8_t *m = prefixed(rec, len, stackbuf, &mlen);
	if (m == NULL)
		return EVC_ENOMEM;
	rc = crypto_sign_verify_detached(sig, m, mlen, vk->pub) == 0 ? 0 : EVC_EBADSIG;
	if (m != stackbuf)
		free(m);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* GB 32100-2015 统一社会信用代码                                           */
/* ------------------------------------------------------------------------ */

static const char uscc_symbols[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static const unsigned uscc_weights[17] = {
	1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
};

static int
uscc_value(char c)
{
	if (c == '\0')
		return -1;
	const char *p = strchr(uscc_symbols, c);
	return p == NULL ? -1 : (int)(p - uscc_symbols);
}

enum uscc_status { USCC_OK, USCC_LENGTH, USCC_CHAR, USCC_CHECK };

/* *pos receives the 0-based position of a bad character, *expected the
 * right check character. */
static enum uscc_status
uscc_check(const char *s, size_t *pos, char *expected)
{
	unsigned sum = 0;

	*expected = 0;
	*pos = 0;
	if (s == NULL || strnlen(s, 19) != 18)
		return USCC_LENGTH;
	for (size_t i = 0; i < 18; i++) {
		if (uscc_value(s[i]) < 0) {
			*pos = i;
			return USCC_CHAR;
		}
	}
	for (size_t i = 0; i < 17; i++)
		sum += (unsigned)uscc_value(s[i]) * uscc_weights[i];
	*expected = uscc_symbols[(31 - sum % 31) % 31];
	return s[17] == *expected ? USCC_OK : USCC_CHECK;
}

int
uscc_valid(const char *s, char *expected)
{
	size_t pos;
	char exp;
	enum uscc_status st = uscc_check(s, &pos, &exp);

	if (expected != NULL)
		*expected = st == USCC_OK ? 0 : exp;
	return st == USCC_OK;
}

/* ------------------------------------------------------------------------ */
/* Validation helpers                                                       */
/* ------------------------------------------------------------------------ */

typedef struct vctx {
	char *why;
	size_t cap;
	int64_t now;
} vctx;

#define TRY(x)                          \
	do {                            \
		int rc_ = (x);          \
		if (rc_ != 0)           \
			return rc_;     \
	} while (0)

/* Mark a truncated message with "..." so a reader knows it was cut. */
static void
mark_truncated(char *buf, size_t cap)
{
	if (cap >= 4)
		memcpy(buf + cap - 4, "...", 4);
}

/* Write "path.field: message" into v->why and return EVC_EINVAL. path may be
 * "" (top-level field) and field NULL (the path itself is the subject). */
__attribute__((format(printf, 4, 5))) static int
fail(vctx *v, const char *path, const char *field, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (v->why == NULL || v->cap == 0)
		return EVC_EINVAL;
	n = snprintf(v->why, v->cap, "%s%s%s: ", path, (*path && field) ? "." : "",
	    field ? field : "");
	if (n < 0) {
		v->why[0] = '\0';
		return EVC_EINVAL;
	}
	if ((size_t)n >= v->cap) {
		mark_truncated(v->why, v->cap);
		return EVC_EINVAL;
	}
	va_start(ap, fmt);
	int m = vsnprintf(v->why + n, v->cap - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		v->why[n] = '\0';
	else if ((size_t)m >= v->cap - (size_t)n)
		mark_truncated(v->why, v->cap);
	return EVC_EINVAL;
}

/* Format a sub-path ("scan_in.officers[2]") into buf. A path too long for
 * buf (impossible with the schema's names) is cut and marked. */
__attribute__((format(printf, 3, 4))) static const char *
subpath(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	if (n < 0)
		buf[0] = '\0';
	else if ((size_t)n >= cap)
		mark_truncated(buf, cap);
	return buf;
}

/* Decode one strict UTF-8 code point at s[*i..len) (no overlong forms, no
 * surrogates, at most U+10FFFF). 1 on success. */
static int
utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp)
{
	unsigned char c = s[*i];
	size_t n;
	uint32_t v;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80) {
		*cp = c;
		(*i)++;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		v = c & 0x1fu;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		v = c & 0x0fu;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		v = c & 0x07u;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (len - *i - 1 < n)
		return 0;
	for (size_t k = 1; k <= n; k++) {
		unsigned char b = s[*i + k];
		if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf))
			return 0;
		v = (v << 6) | (b & 0x3fu);
	}
	*i += n + 1;
	*cp = v;
	return 1;
}

/* String classes. */
#define S_REQ 1u  /* must be non-empty */
#define S_ID 2u   /* identifier: printable, no white space or invisible characters */
#define S_NAME 4u /* short string: no control characters */
#define S_TEXT 8u /* free text: tab and line breaks allowed */

static int
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Bidirectional overrides / isolates and line separators: never wanted in
 * a record a judge reads. */
static int
is_spoofing(uint32_t cp)
{
	return (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

static int
is_space_or_invisible(uint32_t cp)
{
	return cp == 0x20 || cp == 0xa0 || cp == 0xad || cp == 0x1680 ||
	    (cp >= 0x2000 && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202f) ||
	    (cp >= 0x205f && cp <= 0x206f) || cp == 0x3000 || cp == 0xfeff;
}

static int
check_str(vctx *v, const char *path, const char *field, const char *s, size_t max, unsigned flags)
{
	size_t len = s == NULL ? 0 : strlen(s);

	if (len == 0) {
		if (flags & S_REQ)
			return fail(v, path, field, "is required");
		return 0;
	}
	if (len > max)
		return fail(v, path, field, "too long (%zu bytes, at most %zu)", len, max);
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		if (u[i] > 0x20 && u[i] < 0x7f) { /* printable ASCII: allowed in every class */
			i++;
			continue;
		}
		size_t at = i;
		uint32_t cp;
		if (!utf8_next(u, len, &i, &cp))
			return fail(v, path, field, "not valid UTF-8 (byte %zu)", at);
		if (is_control(cp) && !((flags & S_TEXT) && (cp == '\t' || cp == '\n' || cp == '\r')))
			return fail(v, path, field, "control character U+%04X at byte %zu",
			    (unsigned)cp, at);
		if (is_spoofing(cp))
			return fail(v, path, field,
			    "bidirectional or line-separator character U+%04X at byte %zu",
			    (unsigned)cp, at);
		if ((flags & S_ID) && is_space_or_invisible(cp))
			return fail(v, path, field,
			    "white space or invisible character U+%04X at byte %zu in an identifier",
			    (unsigned)cp, at);
	}
	return 0;
}

#define ID(path, field, s, req) check_str(v, path, field, s, RECORD_MAX_ID, S_ID | ((req) ? S_REQ : 0))
#define NAME(path, field, s, req) check_str(v, path, field, s, RECORD_MAX_NAME, S_NAME | ((req) ? S_REQ : 0))
#define TEXT(path, field, s, req) check_str(v, path, field, s, RECORD_MAX_TEXT, S_TEXT | ((req) ? S_REQ : 0))

static int
check_uscc(vctx *v, const char *path, const char *field, const char *s, int required)
{
	size_t pos;
	char exp;

	if (s == NULL || *s == '\0')
		return required ? fail(v, path, field, "is required") : 0;
	switch (uscc_check(s, &pos, &exp)) {
	case USCC_OK:
		return 0;
	case USCC_LENGTH: {
		size_t n = strnlen(s, 100);
		return fail(v, path, field, "must be 18 characters (GB 32100), got %s%zu",
		    n == 100 ? "over " : "", n);
	}
	case USCC_CHAR: {
		unsigned char c = (unsigned char)s[pos];
		if (c >= 0x21 && c < 0x7f)
			return fail(v, path, field,
			    "character '%c' at position %zu is not allowed "
			    "(GB 32100: 0-9 and A-Z without I, O, S, V, Z)", (char)c, pos + 1);
		return fail(v, path, field,
		    "byte 0x%02X at position %zu is not allowed "
		    "(GB 32100: 0-9 and A-Z without I, O, S, V, Z)", (unsigned)c, pos + 1);
	}
	case USCC_CHECK:
	default:
		return fail(v, path, field, "check digit is '%c', expected '%c'", s[17], exp);
	}
}

#define T_REQ 1u       /* must be set (non-zero) */
#define T_FUTURE_OK 2u /* a date that may lie ahead (deadline, validity end) */

static int
check_time(vctx *v, const char *path, const char *field, int64_t t, unsigned flags)
{
	if (t == 0)
		return (flags & T_REQ) ? fail(v, path, field, "is required") : 0;
	if (t < RECORD_MIN_TIME_MS)
		return fail(v, path, field, "%lld is before 2000-01-01 (%lld)", (long long)t,
		    (long long)RECORD_MIN_TIME_MS);
	if (!(flags & T_FUTURE_OK)) {
		int64_t limit = v->now > INT64_MAX - RECORD_MAX_SKEW_MS ? INT64_MAX :
		    v->now + RECORD_MAX_SKEW_MS;
		if (t > limit)
			return fail(v, path, field,
			    "%lld is in the future (more than %lld ms ahead of the clock %lld)",
			    (long long)t, (long long)RECORD_MAX_SKEW_MS, (long long)v->now);
	}
	return 0;
}

/* An enumeration value: known (1..max), or 0 when allowed. */
static int
check_enum(vctx *v, const char *path, const char *field, int val, int max, int required)
{
	if (val == 0)
		return required ? fail(v, path, field, "is required (unspecified)") : 0;
	if (val < 0 || val > max)
		return fail(v, path, field, "unknown value %d", val);
	return 0;
}

static int
check_year(vctx *v, const char *path, const char *field, uint32_t y, int required)
{
	if (y == 0)
		return required ? fail(v, path, field, "is required") : 0;
	if (y < 2000 || y > 2100)
		return fail(v, path, field, "%u is outside 2000..2100", (unsigned)y);
	return 0;
}

static int
check_count(vctx *v, const char *path, const char *field, size_t n, size_t max)
{
	if (n > max)
		return fail(v, path, field, "too many (%zu, at most %zu)", n, max);
	return 0;
}

/* A location. need_coords: a location check-in, coordinates are the point. */
static int
check_location(vctx *v, const char *path, const Evchain__V1__Location *l, int need_coords)
{
	if (!isfinite(l->latitude))
		return fail(v, path, "latitude", "is not a finite number");
	if (!isfinite(l->longitude))
		return fail(v, path, "longitude", "is not a finite number");
	if (l->latitude < -90.0 || l->latitude > 90.0)
		return fail(v, path, "latitude", "%.6f is outside [-90, 90]", l->latitude);
	if (l->longitude < -180.0 || l->longitude > 180.0)
		return fail(v, path, "longitude", "%.6f is outside [-180, 180]", l->longitude);
	if (need_coords && l->latitude == 0.0 && l->longitude == 0.0)
		return fail(v, path, "latitude",
		    "coordinates are required (latitude and longitude are both 0)");
	if (!isfinite(l->accuracy_m) || l->accuracy_m < 0.0)
		return fail(v, path, "accuracy_m", "must be a finite number >= 0");
	return NAME(path, "address", l->address, 0);
}

static int
check_officer(vctx *v, const char *path, const Evchain__V1__Officer *o, int need_cert)
{
	TRY(NAME(path, "name", o->name, 1));
	TRY(ID(path, "certificate_no", o->certificate_no, need_cert));
	return NAME(path, "agency", o->agency, 0);
}

/* Next code point of a certificate number folded for comparison: ASCII
 * letters to upper case, full-width forms (U+FF01..U+FF5E) to ASCII, so
 * "ab１2" and "AB12" are the same certificate. 0 at the end. */
static uint32_t
cert_fold_next(const unsigned char *s, size_t len, size_t *i)
{
	uint32_t cp;

	if (*i >= len)
		return 0;
	if (!utf8_next(s, len, i, &cp)) {
		cp = 0xfffd; /* refused by check_str before we get here */
		(*i)++;
	}
	if (cp >= 0xff01 && cp <= 0xff5e)
		cp -= 0xfee0;
	if (cp >= 'a' && cp <= 'z')
		cp -= 'a' - 'A';
	return cp;
}

static int
cert_same(const char *a, const char *b)
{
	size_t al = strlen(a), bl = strlen(b), i = 0, j = 0;

	for (;;) {
		uint32_t ca = cert_fold_next((const unsigned char *)a, al, &i);
		uint32_t cb = cert_fold_next((const unsigned char *)b, bl, &j);
		if (ca != cb)
			return 0;
		if (ca == 0)
			return 1;
	}
}

/* ------------------------------------------------------------------------ */
/* Per kind                                                                 */
/* ------------------------------------------------------------------------ */

static int
validate_node_key(vctx *v, const Evchain__V1__NodeKey *k)
{
	const char *p = "node_key";

	TRY(check_enum(v, p, "action", (int)k->action, EVCHAIN__V1__NODE_KEY__ACTION__REVOKE, 1));
	TRY(check_enum(v, p, "role", (int)k->role, EVCHAIN__V1__NODE_KEY__ROLE__ADMIN, 1));
	TRY(check_str(v, p, "key_name", k->key_name, EVC_MAX_KEY_NAME, S_ID | S_REQ));
	if (!keys_name_valid(k->key_name, strlen(k->key_name)))
		return fail(v, p, "key_name", "is not a valid key name (no white space, no '+')");
	if (k->action == EVCHAIN__V1__NODE_KEY__ACTION__REGISTER && k->public_key.len == 0)
		return fail(v, p, "public_key", "is required to register a key");
	if (k->public_key.len != 0) {
		if (k->public_key.len != EVC_ED25519_PK_LEN || k->public_key.data == NULL)
			return fail(v, p, "public_key", "must be 32 bytes (Ed25519), got %zu",
			    k->public_key.len);
		if (crypto_core_ed25519_is_valid_point(k->public_key.data) != 1)
			return fail(v, p, "public_key",
			    "is not a usable Ed25519 public key (invalid or small-order point)");
	}
	TRY(NAME(p, "agency", k->agency, 0));
	TRY(check_time(v, p, "valid_from_ms", k->valid_from_ms, T_FUTURE_OK));
	TRY(check_time(v, p, "valid_until_ms", k->valid_until_ms, T_FUTURE_OK));
	if (k->valid_from_ms != 0 && k->valid_until_ms != 0 && k->valid_until_ms <= k->valid_from_ms)
		return fail(v, p, "valid_until_ms", "must be after valid_from_ms");
	TRY(TEXT(p, "reason", k->reason, 0));
	TRY(check_str(v, p, "verifier_key", k->verifier_key, KEYS_VKEY_MAX, S_ID));
	if (k->verifier_key != NULL && *k->verifier_key != '\0') {
		evc_vkey vk;
		if (keys_vkey_parse(k->verifier_key, strlen(k->verifier_key), &vk) != 0)
			return fail(v, p, "verifier_key", "is not a valid verifier key string");
		if (vk.type != EVC_KEY_ED25519)
			return fail(v, p, "verifier_key", "is not an Ed25519 (type 0x01) key");
		if (strcmp(vk.name, k->key_name) != 0)
			return fail(v, p, "verifier_key", "names '%s', not key_name '%s'", vk.name,
			    k->key_name);
		if (k->public_key.len == EVC_ED25519_PK_LEN &&
		    memcmp(vk.pub, k->public_key.data, EVC_ED25519_PK_LEN) != 0)
			return fail(v, p, "verifier_key", "does not match public_key");
	}
	return 0;
}

static int
validate_plan(vctx *v, const Evchain__V1__InspectionPlan *pl)
{
	const char *p = "inspection_plan";
	char sub[96];

	TRY(ID(p, "plan_id", pl->plan_id, 1));
	TRY(NAME(p, "agency", pl->agency, 1));
	TRY(check_year(v, p, "year", pl->year, 1));
	TRY(check_enum(v, p, "plan_type", (int)pl->plan_type,
	    EVCHAIN__V1__INSPECTION_PLAN__PLAN_TYPE__SPECIAL, 1));
	/* Seed 四: 年度检查计划没有法定依据的, 不予备案. */
	TRY(TEXT(p, "legal_basis", pl->legal_basis, 1));
	TRY(TEXT(p, "objectives", pl->objectives, 0));
	TRY(TEXT(p, "inspection_form", pl->inspection_form, 0));
	TRY(TEXT(p, "scope", pl->scope, 0));
	TRY(TEXT(p, "content", pl->content, 0));
	TRY(check_count(v, p, "schedule", pl->n_schedule, RECORD_MAX_REPEATED));
	for (size_t i = 0; i < pl->n_schedule; i++) {
		const Evchain__V1__InspectionPlan__MonthItem *m = pl->schedule[i];
		subpath(sub, sizeof(sub), "%s.schedule[%zu]", p, i);
		if (m == NULL)
			return fail(v, sub, NULL, "missing");
		if (m->month < 1 || m->month > 12)
			return fail(v, sub, "month", "%u is outside 1..12", (unsigned)m->month);
		TRY(TEXT(sub, "content", m->content, 0));
	}
	if (pl->approval != NULL) {
		const Evchain__V1__InspectionPlan__Approval *a = pl->approval;
		subpath(sub, sizeof(sub), "%s.approval", p);
		TRY(NAME(sub, "approved_by", a->approved_by, 0));
		TRY(NAME(sub, "approval_document", a->approval_document, 0));
		TRY(check_time(v, sub, "approved_ms", a->approved_ms, 0));
	}
	if (pl->filing != NULL) {
		const Evchain__V1__InspectionPlan__Filing *f = pl->filing;
		subpath(sub, sizeof(sub), "%s.filing", p);
		TRY(NAME(sub, "filed_with", f->filed_with, 0));
		TRY(ID(sub, "filing_no", f->filing_no, 0));
		TRY(check_time(v, sub, "filed_ms", f->filed_ms, 0));
		TRY(TEXT(sub, "publication", f->publication, 0));
	}
	if (pl->plan_type == EVCHAIN__V1__INSPECTION_PLAN__PLAN_TYPE__SPECIAL) {
		/* Seed 五: 经法制审核、集体讨论后, 报同级人民政府或者实行垂直管理的
		 * 上一级行政机关批准, 向同级司法行政部门备案. */
		if (pl->approval == NULL)
			return fail(v, p, "approval", "is required for a special plan");
		if (!pl->approval->legal_review)
			return fail(v, p, "approval.legal_review",
			    "a special plan needs legal review (法制审核)");
		if (!pl->approval->collective_discussion)
			return fail(v, p, "approval.collective_discussion",
			    "a special plan needs collective discussion (集体讨论)");
		if (pl->approval->approved_by == NULL || *pl->approval->approved_by == '\0')
			return fail(v, p, "approval.approved_by", "is required for a special plan");
		if (pl->approval->approved_ms == 0)
			return fail(v, p, "approval.approved_ms", "is required for a special plan");
		if (pl->filing == NULL)
			return fail(v, p, "filing", "is required for a special plan");
		if (pl->filing->filed_with == NULL || *pl->filing->filed_with == '\0')
			return fail(v, p, "filing.filed_with", "is required for a special plan");
		if (pl->filing->filed_ms == 0)
			return fail(v, p, "filing.filed_ms", "is required for a special plan");
	}
	TRY(NAME(p, "lead_agency", pl->lead_agency, 0));
	TRY(check_count(v, p, "partner_agencies", pl->n_partner_agencies, RECORD_MAX_REPEATED));
	for (size_t i = 0; i < pl->n_partner_agencies; i++) {
		subpath(sub, sizeof(sub), "partner_agencies[%zu]", i);
		TRY(NAME(p, sub, pl->partner_agencies[i], 1));
	}
	/* Seed 五: 涉及两个以上部门的, 明确牵头部门. */
	if (pl->n_partner_agencies > 0 && (pl->lead_agency == NULL || *pl->lead_agency == '\0'))
		return fail(v, p, "lead_agency", "is required when partner_agencies are named");
	TRY(check_time(v, p, "start_ms", pl->start_ms, T_FUTURE_OK));
	TRY(check_time(v, p, "end_ms", pl->end_ms, T_FUTURE_OK));
	if (pl->start_ms != 0 && pl->end_ms != 0 && pl->end_ms < pl->start_ms)
		return fail(v, p, "end_ms", "is before start_ms");
	TRY(ID(p, "amends_plan_id", pl->amends_plan_id, 0));
	return ID(p, "checklist_id", pl->checklist_id, 0);
}

static int
validate_scan_in(vctx *v, const Evchain__V1__ScanIn *s)
{
	const char *p = "scan_in";
	char sub[96];

	TRY(ID(p, "inspection_id", s->inspection_id, 1));
	TRY(NAME(p, "agency", s->agency, 1));
	TRY(check_uscc(v, p, "company_uscc", s->company_uscc, 1));
	TRY(NAME(p, "company_name", s->company_name, 0));

	/* Seed 九: 不得少于两名行政执法人员 (除法律法规另有规定外). */
	TRY(check_count(v, p, "officers", s->n_officers, RECORD_MAX_OFFICERS));
	size_t distinct = 0;
	for (size_t i = 0; i < s->n_officers; i++) {
		const Evchain__V1__Officer *o = s->officers[i];
		subpath(sub, sizeof(sub), "%s.officers[%zu]", p, i);
		if (o == NULL)
			return fail(v, sub, NULL, "missing");
		TRY(check_officer(v, sub, o, 1));
		size_t j = 0;
		while (j < i && !cert_same(s->officers[j]->certificate_no, o->certificate_no))
			j++;
		if (j == i)
			distinct++;
	}
	TRY(TEXT(p, "officer_exception", s->officer_exception, 0));
	int exception = s->officer_exception != NULL && *s->officer_exception != '\0';
	if (s->n_officers == 0)
		return fail(v, p, "officers", "at least one officer is required");
	if (distinct < 2 && !exception)
		return fail(v, p, "officers",
		    "at least 2 officers with distinct certificate numbers are required "
		    "(got %zu) unless officer_exception states the legal exception", distinct);

	/* Seed 八: 扫描营业执照二维码, 无法扫码时 "定位入企" 打卡. */
	TRY(check_enum(v, p, "method", (int)s->method, EVCHAIN__V1__SCAN_IN__METHOD__LOCATION_CHECKIN, 1));
	if (s->method == EVCHAIN__V1__SCAN_IN__METHOD__LOCATION_CHECKIN && s->location == NULL)
		return fail(v, p, "location", "is required for a location check-in");
	if (s->location != NULL) {
		subpath(sub, sizeof(sub), "%s.location", p);
		TRY(check_location(v, sub, s->location,
		    s->method == EVCHAIN__V1__SCAN_IN__METHOD__LOCATION_CHECKIN));
	}
	TRY(check_time(v, p, "device_ms", s->device_ms, T_REQ));

	/* Seed 四/六: a filed plan, or a traceable clue, or an emergency. */
	switch (s->basis_case) {
	case EVCHAIN__V1__SCAN_IN__BASIS_PLAN_ID:
		TRY(ID(p, "plan_id", s->plan_id, 1));
		break;
	case EVCHAIN__V1__SCAN_IN__BASIS_CLUE:
		if (s->clue == NULL)
			return fail(v, p, "clue", "missing");
		subpath(sub, sizeof(sub), "%s.clue", p);
		TRY(NAME(sub, "source", s->clue->source, 1));
		TRY(NAME(sub, "reference", s->clue->reference, 0));
		TRY(TEXT(sub, "description", s->clue->description, 0));
		break;
	case EVCHAIN__V1__SCAN_IN__BASIS_EMERGENCY:
		if (s->emergency == NULL)
			return fail(v, p, "emergency", "missing");
		subpath(sub, sizeof(sub), "%s.emergency", p);
		TRY(check_enum(v, sub, "reason", (int)s->emergency->reason,
		    EVCHAIN__V1__SCAN_IN__EMERGENCY_REASON__SUDDEN_EVENT, 1));
		TRY(NAME(sub, "reference", s->emergency->reference, 0));
		TRY(TEXT(sub, "description", s->emergency->description, 0));
		break;
	case EVCHAIN__V1__SCAN_IN__BASIS__NOT_SET:
		return fail(v, p, "basis",
		    "is required: plan_id (a filed plan), clue (with its source) or emergency");
	default:
		return fail(v, p, "basis", "unknown case %d", (int)s->basis_case);
	}

	TRY(check_enum(v, p, "kind", (int)s->kind, EVCHAIN__V1__SCAN_IN__INSPECTION_KIND__RANDOM_DRAW, 1));
	TRY(check_count(v, p, "joint_agencies", s->n_joint_agencies, RECORD_MAX_REPEATED));
	for (size_t i = 0; i < s->n_joint_agencies; i++) {
		subpath(sub, sizeof(sub), "joint_agencies[%zu]", i);
		TRY(NAME(p, sub, s->joint_agencies[i], 1));
	}
	if (s->kind == EVCHAIN__V1__SCAN_IN__INSPECTION_KIND__JOINT && s->n_joint_agencies == 0)
		return fail(v, p, "joint_agencies", "a joint inspection names at least one partner agency");
	TRY(check_count(v, p, "sensitivity", s->n_sensitivity, RECORD_MAX_REPEATED));
	for (size_t i = 0; i < s->n_sensitivity; i++) {
		subpath(sub, sizeof(sub), "sensitivity[%zu]", i);
		TRY(check_enum(v, p, sub, (int)s->sensitivity[i],
		    EVCHAIN__V1__SCAN_IN__SENSITIVITY__DISPUTE_PRONE, 1));
	}
	TRY(check_enum(v, p, "entry_type", (int)s->entry_type,
	    EVCHAIN__V1__SCAN_IN__ENTRY_TYPE__OTHER_ENTRY, 1));
	TRY(ID(p, "checklist_id", s->checklist_id, 0));
	TRY(NAME(p, "scheme_approved_by", s->scheme_approved_by, 0));
	return NAME(p, "random_draw_ref", s->random_draw_ref, 0);
}

static int
validate_certificate_check(vctx *v, const Evchain__V1__CertificateCheck *c)
{
	const char *p = "certificate_check";

	TRY(ID(p, "inspection_id", c->inspection_id, 0));
	TRY(ID(p, "certificate_no", c->certificate_no, 1));
	TRY(NAME(p, "officer_name", c->officer_name, 0));
	TRY(check_enum(v, p, "verifier", (int)c->verifier,
	    EVCHAIN__V1__CERTIFICATE_CHECK__VERIFIER__PAPER_SHOWN, 1));
	TRY(check_enum(v, p, "result", (int)c->result,
	    EVCHAIN__V1__CERTIFICATE_CHECK__RESULT__NOT_FOUND, 1));
	TRY(check_time(v, p, "verified_ms", c->verified_ms, 0));
	TRY(NAME(p, "verified_by", c->verified_by, 0));
	return check_uscc(v, p, "company_uscc", c->company_uscc, 0);
}

static int
validate_evidence(vctx *v, const Evchain__V1__Evidence *e)
{
	const char *p = "evidence";
	char sub[96];

	TRY(ID(p, "inspection_id", e->inspection_id, 1));
	TRY(ID(p, "evidence_id", e->evidence_id, 0));
	TRY(check_enum(v, p, "media_kind", (int)e->media_kind,
	    EVCHAIN__V1__EVIDENCE__MEDIA_KIND__FULL_PROCESS_RECORDING, 1));
	if (e->sha256.len != EVC_HASH_LEN || e->sha256.data == NULL)
		return fail(v, p, "sha256", "must be 32 bytes, got %zu", e->sha256.len);
	if (e->sm3.len != 0 && (e->sm3.len != 32 || e->sm3.data == NULL))
		return fail(v, p, "sm3", "must be empty or 32 bytes, got %zu", e->sm3.len);
	if (e->size == 0)
		return fail(v, p, "size", "must be > 0 (the file's size in bytes)");
	/* Seed 九: 完整记录拍摄时间、地点、拍摄人员以及证明内容. */
	TRY(check_time(v, p, "capture_start_ms", e->capture_start_ms, T_REQ));
	TRY(check_time(v, p, "capture_end_ms", e->capture_end_ms, 0));
	if (e->capture_end_ms != 0 && e->capture_end_ms < e->capture_start_ms)
		return fail(v, p, "capture_end_ms", "is before capture_start_ms");
	if (e->place == NULL)
		return fail(v, p, "place", "is required (where the evidence was captured)");
	subpath(sub, sizeof(sub), "%s.place", p);
	TRY(check_location(v, sub, e->place, 0));
	if (e->place->latitude == 0.0 && e->place->longitude == 0.0 &&
	    (e->place->address == NULL || *e->place->address == '\0'))
		return fail(v, p, "place", "needs coordinates or an address");
	if (e->recorder == NULL)
		return fail(v, p, "recorder", "is required (who captured the evidence)");
	subpath(sub, sizeof(sub), "%s.recorder", p);
	TRY(check_officer(v, sub, e->recorder, 0));
	TRY(TEXT(p, "proves", e->proves, 1));
	TRY(NAME(p, "file_name", e->file_name, 0));
	TRY(NAME(p, "media_type", e->media_type, 0));
	return check_uscc(v, p, "company_uscc", e->company_uscc, 0);
}

static int
validate_disposition(vctx *v, const Evchain__V1__Disposition *d)
{
	const char *p = "disposition";

	TRY(ID(p, "inspection_id", d->inspection_id, 1));
	TRY(check_enum(v, p, "outcome", (int)d->outcome,
	    EVCHAIN__V1__DISPOSITION__OUTCOME__NO_PENALTY_NO_FAULT, 1));
	TRY(NAME(p, "decided_by", d->decided_by, 1));
	TRY(check_time(v, p, "decided_ms", d->decided_ms, T_REQ));
	TRY(check_time(v, p, "deadline_ms", d->deadline_ms, T_FUTURE_OK));
	TRY(NAME(p, "receiving_agency", d->receiving_agency, 0));
	TRY(ID(p, "case_no", d->case_no, 0));
	switch (d->outcome) {
	case EVCHAIN__V1__DISPOSITION__OUTCOME__CORRECT_BY_DEADLINE:
		if (d->deadline_ms == 0)
			return fail(v, p, "deadline_ms", "is required for correction by a deadline");
		if (d->deadline_ms <= d->decided_ms)
			return fail(v, p, "deadline_ms", "must be after decided_ms");
		break;
	case EVCHAIN__V1__DISPOSITION__OUTCOME__TRANSFER:
		if (d->receiving_agency == NULL || *d->receiving_agency == '\0')
			return fail(v, p, "receiving_agency", "is required for a transfer");
		break;
	case EVCHAIN__V1__DISPOSITION__OUTCOME__CASE_FILED:
		if (d->case_no == NULL || *d->case_no == '\0')
			return fail(v, p, "case_no", "is required when a case is filed");
		break;
	default:
		break;
	}
	TRY(TEXT(p, "legal_basis", d->legal_basis, 0));
	TRY(TEXT(p, "findings", d->findings, 0));
	TRY(check_time(v, p, "ended_ms", d->ended_ms, 0));
	TRY(check_uscc(v, p, "company_uscc", d->company_uscc, 0));
	return NAME(p, "agency", d->agency, 0);
}

static int
validate_feedback(vctx *v, const Evchain__V1__CompanyFeedback *f)
{
	const char *p = "company_feedback";

	TRY(check_uscc(v, p, "company_uscc", f->company_uscc, 1));
	TRY(ID(p, "inspection_id", f->inspection_id, 0));
	TRY(check_enum(v, p, "feedback_type", (int)f->feedback_type,
	    EVCHAIN__V1__COMPANY_FEEDBACK__FEEDBACK_TYPE__COMPLAINT, 1));
	if (f->feedback_type == EVCHAIN__V1__COMPANY_FEEDBACK__FEEDBACK_TYPE__RATING &&
	    (f->rating < 1 || f->rating > 5))
		return fail(v, p, "rating", "%u is outside 1..5", (unsigned)f->rating);
	if (f->rating > 5)
		return fail(v, p, "rating", "%u is outside 1..5", (unsigned)f->rating);
	TRY(check_enum(v, p, "complaint_type", (int)f->complaint_type,
	    EVCHAIN__V1__COMPANY_FEEDBACK__COMPLAINT_TYPE__OTHER_COMPLAINT,
	    f->feedback_type == EVCHAIN__V1__COMPANY_FEEDBACK__FEEDBACK_TYPE__COMPLAINT));
	TRY(check_enum(v, p, "channel", (int)f->channel,
	    EVCHAIN__V1__COMPANY_FEEDBACK__CHANNEL__OTHER_CHANNEL, 1));
	TRY(TEXT(p, "text", f->text, 0));
	TRY(check_time(v, p, "submitted_ms", f->submitted_ms, 0));
	return NAME(p, "agency", f->agency, 0);
}

static int
validate_frequency_cap(vctx *v, const Evchain__V1__FrequencyCap *c)
{
	const char *p = "frequency_cap";

	TRY(NAME(p, "agency", c->agency, 1));
	TRY(NAME(p, "risk_grade", c->risk_grade, 1));
	if (c->max_per_year < 1)
		return fail(v, p, "max_per_year", "must be at least 1");
	TRY(check_year(v, p, "year", c->year, 1));
	TRY(TEXT(p, "legal_basis", c->legal_basis, 0));
	return TEXT(p, "publication", c->publication, 0);
}

static int
validate_risk_grade(vctx *v, const Evchain__V1__RiskGrade *g)
{
	const char *p = "risk_grade";

	TRY(check_uscc(v, p, "company_uscc", g->company_uscc, 1));
	TRY(NAME(p, "agency", g->agency, 1));
	TRY(NAME(p, "risk_grade", g->risk_grade, 1));
	TRY(check_year(v, p, "year", g->year, 0));
	return TEXT(p, "basis", g->basis, 0);
}

int
record_validate(const Record *r, int64_t now_ms, char *why, size_t whycap)
{
	vctx vc = { why, whycap, now_ms };
	vctx *v = &vc;

	if (why != NULL && whycap != 0)
		why[0] = '\0';
	if (r == NULL)
		return fail(v, "record", NULL, "missing");
	TRY(ID("", "record_id", r->record_id, 1));
	TRY(check_str(v, "", "signer", r->signer, EVC_MAX_KEY_NAME, S_ID | S_REQ));
	if (!keys_name_valid(r->signer, strlen(r->signer)))
		return fail(v, "", "signer", "is not a valid key name (no white space, no '+')");
	TRY(check_time(v, "", "created_ms", r->created_ms, T_REQ));

	Evchain__V1__RecordKind k = record_kind(r);
	if (k == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_UNSPECIFIED) {
		if (r->body_case == EVCHAIN__V1__RECORD__BODY__NOT_SET)
			return fail(v, "", "body", "is required (no record kind set)");
		return fail(v, "", "body", "unknown case %d", (int)r->body_case);
	}
	/* All union members are pointers: any of them tells whether it is set. */
	if (r->node_key == NULL)
		return fail(v, record_kind_name(k), NULL, "missing");
	switch (k) {
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY:
		return validate_node_key(v, r->node_key);
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_INSPECTION_PLAN:
		return validate_plan(v, r->inspection_plan);
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_SCAN_IN:
		return validate_scan_in(v, r->scan_in);
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_CERTIFICATE_CHECK:
		return validate_certificate_check(v, r->certificate_check);
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_EVIDENCE:
		return validate_evidence(v, r->evidence);
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_DISPOSITION:
		return validate_disposition(v, r->disposition);
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_COMPANY_FEEDBACK:
		return validate_feedback(v, r->company_feedback);
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_FREQUENCY_CAP:
		return validate_frequency_cap(v, r->frequency_cap);
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_RISK_GRADE:
		return validate_risk_grade(v, r->risk_grade);
	default:
		return fail(v, "", "body", "unknown kind %d", (int)k);
	}
}

/* ------------------------------------------------------------------------ */
/* Attributes                                                               */
/* ------------------------------------------------------------------------ */

static void
emit_str(record_emit_fn emit, void *ctx, enum record_attr attr, const char *s)
{
	if (s != NULL && *s != '\0')
		emit(ctx, attr, s, strlen(s));
}

void
record_attributes(const Record *r, record_emit_fn emit, void *ctx)
{
	if (r == NULL || emit == NULL)
		return;
	emit_str(emit, ctx, RECORD_ATTR_NODE, r->signer);
	Evchain__V1__RecordKind k = record_kind(r);
	uint8_t kb = (uint8_t)k;
	emit(ctx, RECORD_ATTR_KIND, &kb, 1);
	if (k == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_UNSPECIFIED || r->node_key == NULL)
		return;

	switch (k) {
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_INSPECTION_PLAN: {
		const Evchain__V1__InspectionPlan *pl = r->inspection_plan;
		emit_str(emit, ctx, RECORD_ATTR_PLAN, pl->plan_id);
		emit_str(emit, ctx, RECORD_ATTR_PLAN, pl->amends_plan_id);
		break;
	}
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_SCAN_IN: {
		const Evchain__V1__ScanIn *s = r->scan_in;
		emit_str(emit, ctx, RECORD_ATTR_COMPANY, s->company_uscc);
		emit_str(emit, ctx, RECORD_ATTR_INSPECTION, s->inspection_id);
		for (size_t i = 0; i < s->n_officers; i++)
			if (s->officers[i] != NULL)
				emit_str(emit, ctx, RECORD_ATTR_CERT, s->officers[i]->certificate_no);
		if (s->basis_case == EVCHAIN__V1__SCAN_IN__BASIS_PLAN_ID)
			emit_str(emit, ctx, RECORD_ATTR_PLAN, s->plan_id);
		break;
	}
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_CERTIFICATE_CHECK: {
		const Evchain__V1__CertificateCheck *c = r->certificate_check;
		emit_str(emit, ctx, RECORD_ATTR_COMPANY, c->company_uscc);
		emit_str(emit, ctx, RECORD_ATTR_INSPECTION, c->inspection_id);
		emit_str(emit, ctx, RECORD_ATTR_CERT, c->certificate_no);
		break;
	}
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_EVIDENCE: {
		const Evchain__V1__Evidence *e = r->evidence;
		emit_str(emit, ctx, RECORD_ATTR_COMPANY, e->company_uscc);
		emit_str(emit, ctx, RECORD_ATTR_INSPECTION, e->inspection_id);
		if (e->recorder != NULL)
			emit_str(emit, ctx, RECORD_ATTR_CERT, e->recorder->certificate_no);
		if (e->sha256.len == EVC_HASH_LEN && e->sha256.data != NULL)
			emit(ctx, RECORD_ATTR_EVIDENCE, e->sha256.data, EVC_HASH_LEN);
		break;
	}
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_DISPOSITION: {
		const Evchain__V1__Disposition *d = r->disposition;
		emit_str(emit, ctx, RECORD_ATTR_COMPANY, d->company_uscc);
		emit_str(emit, ctx, RECORD_ATTR_INSPECTION, d->inspection_id);
		break;
	}
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_COMPANY_FEEDBACK: {
		const Evchain__V1__CompanyFeedback *f = r->company_feedback;
		emit_str(emit, ctx, RECORD_ATTR_COMPANY, f->company_uscc);
		emit_str(emit, ctx, RECORD_ATTR_INSPECTION, f->inspection_id);
		break;
	}
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_RISK_GRADE:
		emit_str(emit, ctx, RECORD_ATTR_COMPANY, r->risk_grade->company_uscc);
		break;
	default: /* node_key, frequency_cap: signer and kind only */
		break;
	}
}
