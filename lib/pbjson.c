/*
 * pbjson.c — protobuf-c messages to and from jansson values.
 *
 * Everything is driven by ProtobufCMessageDescriptor / ProtobufCFieldDescriptor:
 * a field's value lives at (char *)msg + f->offset; a repeated field's count
 * (size_t) at f->quantifier_offset; a oneof member's case (an int-sized enum
 * holding the member's field number) at f->quantifier_offset; a proto2-style
 * optional scalar's has_ flag (protobuf_c_boolean) there too. Values are read
 * and written with memcpy, so no lvalue of the wrong type ever touches them.
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "evc.h"
#include "pb.h"
#include "pbjson.h"
#include "record.h"

#define PATH_MAX_LEN 1024

/* ------------------------------------------------------------------------ */
/* Shared                                                                   */
/* ------------------------------------------------------------------------ */

/* Size of one element of a repeated field of type t (protobuf-c's layout). */
static size_t
elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return 4;
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

static int
is_oneof(const ProtobufCFieldDescriptor *f)
{
	return (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
}

static int
get_case(const void *msg, const ProtobufCFieldDescriptor *f)
{
	int c;
	memcpy(&c, (const char *)msg + f->quantifier_offset, sizeof(c));
	return c;
}

static size_t
get_count(const void *msg, const ProtobufCFieldDescriptor *f)
{
	size_t n;
	memcpy(&n, (const char *)msg + f->quantifier_offset, sizeof(n));
	return n;
}

static const void *
get_ptr(const void *at)
{
	const void *p;
	memcpy(&p, at, sizeof(p));
	return p;
}

/* Strict UTF-8 (no overlong forms, no surrogates, ≤ U+10FFFF): the length of
 * the sequence at s[i..len), or 0 if it is not valid. */
static size_t
utf8_seq(const unsigned char *s, size_t len, size_t i)
{
	unsigned char c = s[i], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (len - i - 1 < n)
		return 0;
	for (size_t k = 1; k <= n; k++) {
		unsigned char b = s[i + k];
		if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf))
			return 0;
	}
	return n + 1;
}

/* ------------------------------------------------------------------------ */
/* Encoding                                                                 */
/* ------------------------------------------------------------------------ */

static json_t *enc_message(const ProtobufCMessage *m, int depth);

/* A JSON string of s; invalid UTF-8 bytes become U+FFFD. */
static json_t *
enc_string(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), bad = 0;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(u, len, i);
		if (n == 0) {
			bad++;
			n = 1;
		}
		i += n;
	}
	if (bad == 0)
		return json_stringn(s, len);
	if (bad > (SIZE_MAX - len - 1) / 2)
		return NULL;
	char *fixed = malloc(len + 2 * bad + 1), *o = fixed;
	if (fixed == NULL)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(u, len, i);
		if (n == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(o, s + i, n);
			o += n;
			i += n;
		}
	}
	json_t *j = json_stringn(fixed, (size_t)(o - fixed));
	free(fixed);
	return j;
}

static json_t *
enc_bytes(const ProtobufCBinaryData *b)
{
	static const char hex[] = "0123456789abcdef";

	if (b->len == 0 || b->data == NULL)
		return json_string("");
	if (b->len > (SIZE_MAX - 1) / 2)
		return NULL;
	char *s = malloc(2 * b->len + 1);
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < b->len; i++) {
		s[2 * i] = hex[b->data[i] >> 4];
		s[2 * i + 1] = hex[b->data[i] & 15];
	}
	json_t *j = json_stringn(s, 2 * b->len);
	free(s);
	return j;
}

static json_t *
enc_double(double v)
{
	if (isnan(v))
		return json_string("NaN");
	if (isinf(v))
		return json_string(v > 0 ? "Infinity" : "-Infinity");
	return json_real(v);
}

/* One value of field f stored at p. */
static json_t *
enc_value(const ProtobufCFieldDescriptor *f, const void *p, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32: {
		int32_t v;
		memcpy(&v, p, sizeof(v));
		return json_integer(v);
	}
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: {
		uint32_t v;
		memcpy(&v, p, sizeof(v));
		return json_integer((json_int_t)v);
	}
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: {
		int64_t v;
		memcpy(&v, p, sizeof(v));
		return json_integer((json_int_t)v);
	}
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: {
		uint64_t v;
		memcpy(&v, p, sizeof(v));
		if (v <= (uint64_t)INT64_MAX)
			return json_integer((json_int_t)v);
		char buf[24];
		int n = snprintf(buf, sizeof(buf), "%" PRIu64, v);
		if (n < 0 || (size_t)n >= sizeof(buf))
			return NULL;
		return json_string(buf);
	}
	case PROTOBUF_C_TYPE_FLOAT: {
		float v;
		memcpy(&v, p, sizeof(v));
		return enc_double((double)v);
	}
	case PROTOBUF_C_TYPE_DOUBLE: {
		double v;
		memcpy(&v, p, sizeof(v));
		return enc_double(v);
	}
	case PROTOBUF_C_TYPE_BOOL: {
		protobuf_c_boolean v;
		memcpy(&v, p, sizeof(v));
		return json_boolean(v);
	}
	case PROTOBUF_C_TYPE_ENUM: {
		int v;
		memcpy(&v, p, sizeof(v));
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(
		    (const ProtobufCEnumDescriptor *)f->descriptor, v);
		return ev != NULL ? json_string(ev->name) : json_integer(v);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = get_ptr(p);
		return enc_string(s != NULL ? s : "");
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData b;
		memcpy(&b, p, sizeof(b));
		return enc_bytes(&b);
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = get_ptr(p);
		return sub != NULL ? enc_message(sub, depth + 1) : json_null();
	}
	}
	return NULL;
}

/* Is field f of msg written? (proto3: not at its default; oneof: the set
 * case; proto2 optional: its has_ flag or a non-NULL pointer.) */
static int
enc_present(const void *msg, const ProtobufCFieldDescriptor *f)
{
	const char *p = (const char *)msg + f->offset;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return get_count(msg, f) != 0;
	if (is_oneof(f))
		return get_case(msg, f) == (int)f->id;
	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return 1;
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
		if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING)
			return get_ptr(p) != NULL;
		protobuf_c_boolean has;
		memcpy(&has, (const char *)msg + f->quantifier_offset, sizeof(has));
		return has != 0;
	}
	switch (f->type) { /* PROTOBUF_C_LABEL_NONE: present unless zero-ish */
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = get_ptr(p);
		return s != NULL && *s != '\0';
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData b;
		memcpy(&b, p, sizeof(b));
		return b.len != 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return get_ptr(p) != NULL;
	case PROTOBUF_C_TYPE_FLOAT: {
		float v;
		memcpy(&v, p, sizeof(v));
		return v != 0.0f;
	}
	case PROTOBUF_C_TYPE_DOUBLE: {
		double v;
		memcpy(&v, p, sizeof(v));
		return v != 0.0;
	}
	default: {
		size_t n = elem_size(f->type);
		static const unsigned char zero[8];
		return memcmp(p, zero, n) != 0;
	}
	}
}

static json_t *
enc_message(const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (depth > PBJSON_MAX_DEPTH || d == NULL)
		return NULL;
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		json_t *v;
		if (!enc_present(m, f))
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = get_count(m, f), sz = elem_size(f->type);
			const char *arr = get_ptr((const char *)m + f->offset);
			v = json_array();
			for (size_t k = 0; v != NULL && k < n; k++) {
				if (arr == NULL ||
				    json_array_append_new(v, enc_value(f, arr + k * sz, depth)) != 0) {
					json_decref(v);
					v = NULL;
				}
			}
		} else {
			v = enc_value(f, (const char *)m + f->offset, depth);
		}
		if (v == NULL || json_object_set_new(o, f->name, v) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *
pbjson_encode(const ProtobufCMessage *m)
{
	return m == NULL ? NULL : enc_message(m, 0);
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct dctx {
	pb_arena *a;
	char *err;
	size_t errcap;
	const char *root;          /* names the top-level message in errors */
	char path[PATH_MAX_LEN];   /* "scan_in.officers[1]" */
	size_t plen;
} dctx;

/* Write "path: reason" into c->err; returns code. */
__attribute__((format(printf, 3, 4))) static int
dfail(dctx *c, int code, const char *fmt, ...)
{
	va_list ap;

	if (c->err == NULL || c->errcap == 0)
		return code;
	int n = snprintf(c->err, c->errcap, "%s: ", c->plen ? c->path : c->root);
	if (n < 0) {
		c->err[0] = '\0';
		return code;
	}
	if ((size_t)n < c->errcap) {
		va_start(ap, fmt);
		int m = vsnprintf(c->err + n, c->errcap - (size_t)n, fmt, ap);
		va_end(ap);
		if (m < 0)
			c->err[n] = '\0';
		else if ((size_t)m < c->errcap - (size_t)n)
			return code;
	}
	if (c->errcap >= 4) /* cut: say so */
		memcpy(c->err + c->errcap - 4, "...", 4);
	return code;
}

/* Append ".name" (or "name" at the top) / "[i]" to the path; returns the
 * length to restore with path_pop. A path too long is cut and ends in "...". */
__attribute__((format(printf, 2, 3))) static size_t
path_push(dctx *c, const char *fmt, ...)
{
	size_t mark = c->plen;
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(c->path + mark, sizeof(c->path) - mark, fmt, ap);
	va_end(ap);
	if (n < 0) {
		c->path[mark] = '\0';
	} else if ((size_t)n >= sizeof(c->path) - mark) {
		c->plen = sizeof(c->path) - 1;
		memcpy(c->path + sizeof(c->path) - 4, "...", 4);
	} else {
		c->plen = mark + (size_t)n;
	}
	return mark;
}

static void
path_pop(dctx *c, size_t mark)
{
	c->plen = mark;
	c->path[mark] = '\0';
}

static size_t
path_field(dctx *c, const char *name)
{
	return path_push(c, "%s%s", c->plen ? "." : "", name);
}

static const char *
jtype(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	}
	return "an unknown JSON value";
}

/* n bytes from the arena (at least 1, so no pointer is NULL). */
static int
dalloc(dctx *c, size_t n, void **out)
{
	size_t need = n ? n : 1;
	size_t rounded = (need + 15) & ~(size_t)15;

	*out = NULL;
	if (rounded < need || rounded > c->a->budget - c->a->used) {
		dfail(c, EVC_ETOOLARGE, "does not fit the arena's budget (%zu bytes)", c->a->budget);
		return EVC_ETOOLARGE;
	}
	*out = pb_arena_alloc(c->a, need);
	if (*out == NULL) {
		dfail(c, EVC_ENOMEM, "out of memory");
		return EVC_ENOMEM;
	}
	return 0;
}

/* lowerCamelCase of a snake_case proto name equals key? ("record_id" ~ "recordId") */
static int
camel_eq(const char *name, const char *key)
{
	int up = 0;

	for (; *name != '\0'; name++) {
		if (*name == '_') {
			up = 1;
			continue;
		}
		char want = *name;
		if (up && want >= 'a' && want <= 'z')
			want = (char)(want - 'a' + 'A');
		up = 0;
		if (*key++ != want)
			return 0;
	}
	return *key == '\0';
}

static const ProtobufCFieldDescriptor *
find_field(const ProtobufCMessageDescriptor *d, const char *key)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);

	if (f != NULL)
		return f;
	for (unsigned i = 0; i < d->n_fields; i++)
		if (camel_eq(d->fields[i].name, key))
			return &d->fields[i];
	return NULL;
}

/* The lowerCamelCase form of name into buf. */
static const char *
camel(const char *name, char *buf, size_t cap)
{
	size_t o = 0;
	int up = 0;

	for (; *name != '\0' && o + 1 < cap; name++) {
		if (*name == '_') {
			up = 1;
			continue;
		}
		char ch = *name;
		if (up && ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		up = 0;
		buf[o++] = ch;
	}
	buf[o] = '\0';
	return buf;
}

/* --- integers ---------------------------------------------------------------- */

typedef struct int_range {
	const char *name;
	int is_signed;
	uint64_t max_pos;   /* largest positive value */
	uint64_t max_neg;   /* largest magnitude of a negative value (0: none) */
	const char *text;   /* "0..4294967295" */
} int_range;

static const int_range R_INT32 = { "int32", 1, INT32_MAX, (uint64_t)INT32_MAX + 1,
	"-2147483648..2147483647" };
static const int_range R_UINT32 = { "uint32", 0, UINT32_MAX, 0, "0..4294967295" };
static const int_range R_INT64 = { "int64", 1, INT64_MAX, (uint64_t)INT64_MAX + 1,
	"-9223372036854775808..9223372036854775807" };
static const int_range R_UINT64 = { "uint64", 0, UINT64_MAX, 0, "0..18446744073709551615" };

static const int_range *
range_of(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return &R_INT32;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return &R_UINT32;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return &R_INT64;
	default:
		return &R_UINT64;
	}
}

/* Parse "-?[0-9]+" into sign and magnitude. 1 ok, 0 not that syntax, -1 overflow. */
static int
parse_decimal(const char *s, size_t len, int *neg, uint64_t *mag)
{
	size_t i = 0;
	uint64_t v = 0;

	*neg = 0;
	if (i < len && s[i] == '-') {
		*neg = 1;
		i++;
	}
	if (i == len)
		return 0;
	for (size_t k = i; k < len; k++)
		if (s[k] < '0' || s[k] > '9')
			return 0;
	for (; i < len; i++) {
		unsigned dgt = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - dgt) / 10)
			return -1;
		v = v * 10 + dgt;
	}
	*mag = v;
	return 1;
}

static int
days_in_month(int64_t y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* n decimal digits at s[*i]; -1 if not there. */
static int64_t
digits(const char *s, size_t len, size_t *i, size_t n)
{
	int64_t v = 0;

	if (len - *i < n)
		return -1;
	for (size_t k = 0; k < n; k++) {
		char ch = s[*i + k];
		if (ch < '0' || ch > '9')
			return -1;
		v = v * 10 + (ch - '0');
	}
	*i += n;
	return v;
}

/*
 * RFC 3339 date-time ("2025-05-12T09:30:00+08:00", "2025-05-12T01:30:00.250Z";
 * 't' and 'z' too) to Unix milliseconds. Fractions beyond milliseconds are
 * dropped. NULL on success, else why not.
 */
static const char *
rfc3339_ms(const char *s, size_t len, int64_t *ms)
{
	static const char *syntax = "expected YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)";
	size_t i = 0;
	int64_t y, mo, d, h, mi, se, frac = 0, off = 0;

	if ((y = digits(s, len, &i, 4)) < 0 || i >= len || s[i++] != '-' ||
	    (mo = digits(s, len, &i, 2)) < 0 || i >= len || s[i++] != '-' ||
	    (d = digits(s, len, &i, 2)) < 0)
		return syntax;
	if (i >= len || (s[i] != 'T' && s[i] != 't'))
		return syntax;
	i++;
	if ((h = digits(s, len, &i, 2)) < 0 || i >= len || s[i++] != ':' ||
	    (mi = digits(s, len, &i, 2)) < 0 || i >= len || s[i++] != ':' ||
	    (se = digits(s, len, &i, 2)) < 0)
		return syntax;
	if (i < len && s[i] == '.') {
		size_t n = 0;
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (n < 3)
				frac = frac * 10 + (s[i] - '0');
			n++;
			i++;
		}
		if (n == 0)
			return "no digits after the decimal point";
		for (; n < 3; n++)
			frac *= 10;
	}
	if (i >= len)
		return "missing time zone offset (Z or +HH:MM)";
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		int sign = s[i++] == '-' ? -1 : 1;
		int64_t oh, om;
		if ((oh = digits(s, len, &i, 2)) < 0 || i >= len || s[i++] != ':' ||
		    (om = digits(s, len, &i, 2)) < 0)
			return syntax;
		if (oh > 23 || om > 59)
			return "time zone offset out of range";
		off = sign * (oh * 3600 + om * 60);
	} else {
		return "missing time zone offset (Z or +HH:MM)";
	}
	if (i != len)
		return syntax;
	if (mo < 1 || mo > 12)
		return "month out of range (01..12)";
	if (d < 1 || d > days_in_month(y, (int)mo))
		return "day out of range for the month";
	if (h > 23)
		return "hour out of range (00..23)";
	if (mi > 59)
		return "minute out of range (00..59)";
	if (se > 59)
		return "second out of range (00..59; leap seconds are not Unix time)";
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
	*ms = secs * 1000 + frac;
	return NULL;
}

static int
ends_with_ms(const char *name)
{
	size_t n = strlen(name);
	return n > 3 && strcmp(name + n - 3, "_ms") == 0;
}

/* An integer field's value: JSON integer, decimal string, or (signed 64-bit
 * fields named *_ms) an RFC 3339 time. Stored at dst in the field's width. */
static int
dec_integer(dctx *c, const ProtobufCFieldDescriptor *f, const json_t *v, void *dst)
{
	const int_range *r = range_of(f->type);
	int neg;
	uint64_t mag;
	char shown[48];

	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);
		neg = x < 0;
		mag = neg ? (uint64_t)(-(x + 1)) + 1 : (uint64_t)x;
		if (snprintf(shown, sizeof(shown), "%lld", (long long)x) >= (int)sizeof(shown))
			shown[0] = '\0';
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);
		int pr = parse_decimal(s, len, &neg, &mag);
		if (pr == 0 && r == &R_INT64 && ends_with_ms(f->name)) {
			int64_t ms;
			const char *why = rfc3339_ms(s, len, &ms);
			if (why != NULL)
				return dfail(c, EVC_EINVAL, "\"%.64s\" is not an RFC 3339 time: %s", s, why);
			memcpy(dst, &ms, sizeof(ms));
			return 0;
		}
		if (pr == 0)
			return dfail(c, EVC_EINVAL,
			    "expected an integer or a decimal string, got \"%.64s\"", s);
		if (pr < 0)
			return dfail(c, EVC_EINVAL, "%.64s is out of range for %s (%s)", s, r->name,
			    r->text);
		if (snprintf(shown, sizeof(shown), "%.40s", s) >= (int)sizeof(shown))
			shown[0] = '\0';
	} else if (r == &R_INT64 && ends_with_ms(f->name)) {
		return dfail(c, EVC_EINVAL,
		    "expected an integer (Unix ms) or an RFC 3339 time string, got %s", jtype(v));
	} else {
		return dfail(c, EVC_EINVAL, "expected an integer, got %s", jtype(v));
	}
	if (neg && mag == 0)
		neg = 0; /* "-0" */
	if ((neg && mag > r->max_neg) || (!neg && mag > r->max_pos))
		return dfail(c, EVC_EINVAL, "%s is out of range for %s (%s)", shown, r->name, r->text);
	if (r == &R_INT32) {
		int32_t x = neg ? (int32_t)(-(int64_t)mag) : (int32_t)mag;
		memcpy(dst, &x, sizeof(x));
	} else if (r == &R_UINT32) {
		uint32_t x = (uint32_t)mag;
		memcpy(dst, &x, sizeof(x));
	} else if (r == &R_INT64) {
		int64_t x = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) :
		    (int64_t)mag;
		memcpy(dst, &x, sizeof(x));
	} else {
		memcpy(dst, &mag, sizeof(mag));
	}
	return 0;
}

/* --- other scalars --------------------------------------------------------------- */

static int
dec_double(dctx *c, const ProtobufCFieldDescriptor *f, const json_t *v, void *dst)
{
	double x;

	if (json_is_integer(v)) {
		x = (double)json_integer_value(v);
	} else if (json_is_real(v)) {
		x = json_real_value(v);
	} else if (json_is_string(v) && strcmp(json_string_value(v), "NaN") == 0) {
		x = NAN;
	} else if (json_is_string(v) && strcmp(json_string_value(v), "Infinity") == 0) {
		x = INFINITY;
	} else if (json_is_string(v) && strcmp(json_string_value(v), "-Infinity") == 0) {
		x = -INFINITY;
	} else {
		return dfail(c, EVC_EINVAL, "expected a number, got %s", jtype(v));
	}
	if (f->type == PROTOBUF_C_TYPE_FLOAT) {
		if (isfinite(x) && (x > FLT_MAX || x < -FLT_MAX))
			return dfail(c, EVC_EINVAL, "%g is out of range for float", x);
		float fx = (float)x;
		memcpy(dst, &fx, sizeof(fx));
	} else {
		memcpy(dst, &x, sizeof(x));
	}
	return 0;
}

static int
dec_enum(dctx *c, const ProtobufCFieldDescriptor *f, const json_t *v, void *dst)
{
	const ProtobufCEnumDescriptor *ed = f->descriptor;
	int x;

	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, s);
		if (ev == NULL || strlen(s) != json_string_length(v)) {
			char names[512];
			size_t o = 0;
			names[0] = '\0';
			for (unsigned i = 0; i < ed->n_values; i++) {
				int n = snprintf(names + o, sizeof(names) - o, "%s%s", i ? ", " : "",
				    ed->values[i].name);
				if (n < 0 || (size_t)n >= sizeof(names) - o) {
					memcpy(names + sizeof(names) - 4, "...", 4);
					break;
				}
				o += (size_t)n;
			}
			return dfail(c, EVC_EINVAL, "unknown value \"%.64s\" of %s (one of %s)", s,
			    ed->name, names);
		}
		x = ev->value;
	} else if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);
		if (n < INT32_MIN || n > INT32_MAX)
			return dfail(c, EVC_EINVAL, "%lld is out of range for an enum (int32)",
			    (long long)n);
		x = (int)n;
	} else {
		return dfail(c, EVC_EINVAL, "expected an enum value name or an integer, got %s",
		    jtype(v));
	}
	memcpy(dst, &x, sizeof(x));
	return 0;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int
b64val(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

#define B64_PREFIX "base64:"

/* Standard base64 (RFC 4648 §4), padded or not, into a fresh arena buffer. */
static int
dec_base64(dctx *c, const char *s, size_t len, ProtobufCBinaryData *b)
{
	size_t pad = 0;

	while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
		pad++;
	if (pad && len % 4 != 0)
		return dfail(c, EVC_EINVAL, "base64 with padding must be a multiple of 4 characters");
	size_t n = len - pad; /* significant characters */
	if (n % 4 == 1)
		return dfail(c, EVC_EINVAL, "base64 of a wrong length (%zu characters)", len);
	size_t out = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
	void *mem;
	int rc = dalloc(c, out, &mem);
	if (rc != 0)
		return rc;
	uint8_t *o = mem;
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		int val = b64val(s[i]);
		if (val < 0)
			return dfail(c, EVC_EINVAL, "'%c' at offset %zu is not a base64 character",
			    s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?',
			    i + sizeof(B64_PREFIX) - 1);
		acc = (acc << 6) | (uint32_t)val;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[w++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return dfail(c, EVC_EINVAL, "non-canonical base64 (unused bits set)");
	b->data = o;
	b->len = w;
	return 0;
}

static int
dec_bytes(dctx *c, const json_t *v, void *dst)
{
	ProtobufCBinaryData b = { 0, NULL };
	void *mem;
	int rc;

	if (!json_is_string(v))
		return dfail(c, EVC_EINVAL, "expected a hex string (or \"base64:...\"), got %s",
		    jtype(v));
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (len > PBJSON_MAX_STRING)
		return dfail(c, EVC_ETOOLARGE, "string too long (%zu bytes, at most %u)", len,
		    PBJSON_MAX_STRING);
	if (len >= sizeof(B64_PREFIX) - 1 && memcmp(s, B64_PREFIX, sizeof(B64_PREFIX) - 1) == 0) {
		rc = dec_base64(c, s + sizeof(B64_PREFIX) - 1, len - (sizeof(B64_PREFIX) - 1), &b);
		if (rc != 0)
			return rc;
	} else {
		if (len % 2 != 0)
			return dfail(c, EVC_EINVAL, "odd number of hex digits (%zu)", len);
		for (size_t i = 0; i < len; i++)
			if (hexval(s[i]) < 0)
				return dfail(c, EVC_EINVAL,
				    "'%c' at offset %zu is not a hex digit (bytes are hex, or \"base64:\" and base64)",
				    s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?', i);
		if ((rc = dalloc(c, len / 2, &mem)) != 0)
			return rc;
		uint8_t *o = mem;
		for (size_t i = 0; i < len / 2; i++)
			o[i] = (uint8_t)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]));
		b.data = o;
		b.len = len / 2;
	}
	memcpy(dst, &b, sizeof(b));
	return 0;
}

static int
dec_string(dctx *c, const json_t *v, void *dst)
{
	void *mem;

	if (!json_is_string(v))
		return dfail(c, EVC_EINVAL, "expected a string, got %s", jtype(v));
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (len > PBJSON_MAX_STRING)
		return dfail(c, EVC_ETOOLARGE, "string too long (%zu bytes, at most %u)", len,
		    PBJSON_MAX_STRING);
	if (memchr(s, '\0', len) != NULL)
		return dfail(c, EVC_EINVAL, "contains a NUL character (\\u0000)");
	int rc = dalloc(c, len + 1, &mem);
	if (rc != 0)
		return rc;
	memcpy(mem, s, len + 1);
	char *copy = mem;
	memcpy(dst, &copy, sizeof(copy));
	return 0;
}

/* --- messages -------------------------------------------------------------------- */

static int dec_message(dctx *c, const ProtobufCMessageDescriptor *d, const json_t *j,
    int depth, ProtobufCMessage **out);

/* One value of field f from v into dst (an element slot or the member). */
static int
dec_value(dctx *c, const ProtobufCFieldDescriptor *f, const json_t *v, void *dst, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return dec_integer(c, f, v, dst);
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		return dec_double(c, f, v, dst);
	case PROTOBUF_C_TYPE_BOOL: {
		if (!json_is_boolean(v))
			return dfail(c, EVC_EINVAL, "expected true or false, got %s", jtype(v));
		protobuf_c_boolean b = json_is_true(v);
		memcpy(dst, &b, sizeof(b));
		return 0;
	}
	case PROTOBUF_C_TYPE_ENUM:
		return dec_enum(c, f, v, dst);
	case PROTOBUF_C_TYPE_STRING:
		return dec_string(c, v, dst);
	case PROTOBUF_C_TYPE_BYTES:
		return dec_bytes(c, v, dst);
	case PROTOBUF_C_TYPE_MESSAGE: {
		ProtobufCMessage *sub;
		int rc = dec_message(c, f->descriptor, v, depth + 1, &sub);
		if (rc == 0)
			memcpy(dst, &sub, sizeof(sub));
		return rc;
	}
	}
	return dfail(c, EVC_EINVAL, "unsupported field type %d", (int)f->type);
}

static int
dec_repeated(dctx *c, const ProtobufCFieldDescriptor *f, const json_t *v, char *base, int depth)
{
	if (!json_is_array(v))
		return dfail(c, EVC_EINVAL, "expected an array, got %s", jtype(v));
	size_t n = json_array_size(v), sz = elem_size(f->type);
	if (n > PBJSON_MAX_ARRAY)
		return dfail(c, EVC_ETOOLARGE, "too many elements (%zu, at most %u)", n,
		    PBJSON_MAX_ARRAY);
	void *arr = NULL;
	if (n != 0) {
		int rc = dalloc(c, n * sz, &arr);
		if (rc != 0)
			return rc;
		memset(arr, 0, n * sz);
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(v, i);
		size_t mark = path_push(c, "[%zu]", i);
		int rc = json_is_null(e) ?
		    dfail(c, EVC_EINVAL, "null is not allowed in an array") :
		    dec_value(c, f, e, (char *)arr + i * sz, depth);
		if (rc != 0)
			return rc;
		path_pop(c, mark);
	}
	memcpy(base + f->quantifier_offset, &n, sizeof(n));
	memcpy(base + f->offset, &arr, sizeof(arr));
	return 0;
}

/* The names of the members of f's oneof, "plan_id, clue, emergency". */
static void
oneof_members(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f,
    char *buf, size_t cap)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *g = &d->fields[i];
		if (!is_oneof(g) || g->quantifier_offset != f->quantifier_offset)
			continue;
		int n = snprintf(buf + o, cap - o, "%s%s", o ? ", " : "", g->name);
		if (n < 0 || (size_t)n >= cap - o) {
			if (cap >= 4)
				memcpy(buf + cap - 4, "...", 4);
			return;
		}
		o += (size_t)n;
	}
}

static int
dec_message(dctx *c, const ProtobufCMessageDescriptor *d, const json_t *j, int depth,
    ProtobufCMessage **out)
{
	unsigned char seen[PBJSON_MAX_FIELDS];
	const char *key;
	size_t klen;
	json_t *v;
	void *mem;
	int rc;

	*out = NULL;
	if (!json_is_object(j))
		return dfail(c, EVC_EINVAL, "expected an object (%s), got %s", d->short_name,
		    jtype(j));
	if (depth > PBJSON_MAX_DEPTH)
		return dfail(c, EVC_ETOOLARGE, "messages nested deeper than %d", PBJSON_MAX_DEPTH);
	if (d->n_fields > PBJSON_MAX_FIELDS)
		return dfail(c, EVC_ETOOLARGE, "%s has more than %u fields", d->name,
		    PBJSON_MAX_FIELDS);
	if ((rc = dalloc(c, d->sizeof_message, &mem)) != 0)
		return rc;
	d->message_init(mem);
	char *base = mem;
	memset(seen, 0, d->n_fields);

	/* json_object_foreach needs a non-const object; it only reads it. */
	json_t *obj = (json_t *)(uintptr_t)j;
	json_object_keylen_foreach(obj, key, klen, v) {
		/* A key with a NUL in it names no field. */
		const ProtobufCFieldDescriptor *f =
		    strlen(key) == klen ? find_field(d, key) : NULL;
		if (f == NULL) {
			path_field(c, key);
			return dfail(c, EVC_EINVAL, "unknown field");
		}
		size_t idx = (size_t)(f - d->fields);
		size_t mark = path_field(c, f->name);
		if (seen[idx]) {
			char cm[128];
			return dfail(c, EVC_EINVAL, "given twice (as %s and %s)", f->name,
			    camel(f->name, cm, sizeof(cm)));
		}
		seen[idx] = 1;
		if (json_is_null(v)) {
			path_pop(c, mark);
			continue;
		}
		if (is_oneof(f)) {
			int cur = get_case(base, f);
			if (cur != 0) {
				const ProtobufCFieldDescriptor *other =
				    protobuf_c_message_descriptor_get_field(d, (unsigned)cur);
				char names[256];
				oneof_members(d, f, names, sizeof(names));
				return dfail(c, EVC_EINVAL, "only one of %s may be set (%s is set too)",
				    names, other != NULL ? other->name : "another");
			}
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			rc = dec_repeated(c, f, v, base, depth);
		} else {
			rc = dec_value(c, f, v, base + f->offset, depth);
			if (rc == 0 && is_oneof(f)) {
				int id = (int)f->id;
				memcpy(base + f->quantifier_offset, &id, sizeof(id));
			} else if (rc == 0 && f->label == PROTOBUF_C_LABEL_OPTIONAL &&
			    f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING) {
				protobuf_c_boolean has = 1;
				memcpy(base + f->quantifier_offset, &has, sizeof(has));
			}
		}
		if (rc != 0)
			return rc;
		path_pop(c, mark);
	}
	*out = mem;
	return 0;
}

int
pbjson_decode(const ProtobufCMessageDescriptor *d, const json_t *j, pb_arena *a,
    ProtobufCMessage **out, char *err, size_t errcap)
{
	dctx c;

	if (out != NULL)
		*out = NULL;
	if (err != NULL && errcap != 0)
		err[0] = '\0';
	memset(&c, 0, sizeof(c));
	c.a = a;
	c.err = err;
	c.errcap = errcap;
	c.root = d != NULL && d->short_name != NULL ? d->short_name : "message";
	if (d == NULL || d->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC || j == NULL ||
	    a == NULL || out == NULL)
		return dfail(&c, EVC_EINVAL, "bad argument");
	return dec_message(&c, d, j, 0, out);
}

int
pbjson_record_from_text(const char *text, size_t len, pb_arena *a, Record **out,
    char *err, size_t errcap)
{
	json_error_t je;
	ProtobufCMessage *m = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (err != NULL && errcap != 0)
		err[0] = '\0';
	if (text == NULL || a == NULL || out == NULL) {
		if (err != NULL && errcap != 0 &&
		    snprintf(err, errcap, "Record: bad argument") >= (int)errcap)
			err[0] = '\0';
		return EVC_EINVAL;
	}
	if (len > PBJSON_MAX_TEXT) {
		if (err != NULL && errcap != 0 &&
		    snprintf(err, errcap, "Record: JSON text too long (%zu bytes, at most %u)", len,
			PBJSON_MAX_TEXT) >= (int)errcap && errcap >= 4)
			memcpy(err + errcap - 4, "...", 4);
		return EVC_ETOOLARGE;
	}
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		if (err != NULL && errcap != 0 &&
		    snprintf(err, errcap, "invalid JSON at line %d, column %d: %s", je.line,
			je.column, je.text) >= (int)errcap && errcap >= 4)
			memcpy(err + errcap - 4, "...", 4);
		return EVC_EINVAL;
	}
	rc = pbjson_decode(&evchain__v1__record__descriptor, j, a, &m, err, errcap);
	json_decref(j);
	if (rc == 0)
		*out = (Record *)m;
	return rc;
}
