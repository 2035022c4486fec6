/*
 * record.h — evchain records (proto Record): decode, sign, verify, validate,
 * and the attributes the ledger indexes.
 *
 * A node signs "evchain/record/v1\n" || record_bytes with Ed25519. Validation
 * applies the rules of DESIGN §3 and the seed to one record on its own (rules
 * that need other records — plans filed, caps — belong to the audit).
 */
#ifndef EVC_RECORD_H
#define EVC_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "evchain.pb-c.h"
#include "keys.h"
#include "pb.h"

typedef Evchain__V1__Record Record;

/* Limits checked by record_validate (documented in the README). */
#define RECORD_MAX_ID 128        /* record_id, inspection_id, plan_id, evidence_id, certificate_no */
#define RECORD_MAX_NAME 256      /* names, agencies, places, short strings */
#define RECORD_MAX_TEXT 8192     /* free text: findings, proves, description, legal basis */
#define RECORD_MAX_OFFICERS 32
#define RECORD_MAX_REPEATED 64   /* other repeated fields */
#define RECORD_MIN_TIME_MS 946684800000LL /* 2000-01-01T00:00:00Z */
#define RECORD_MAX_SKEW_MS (10LL * 60 * 1000) /* a time may be at most 10 min ahead of now */

/* Decode record bytes (at most EVC_MAX_RECORD) within the arena. NULL on
 * malformed or oversized input, and for a string field holding a NUL byte
 * (protobuf-c would show it cut short while the signed bytes say more).
 * Unknown fields are accepted (newer writers). */
Record *record_decode(pb_arena *a, const uint8_t *buf, size_t len);

/* The kind of the record's body (EVCHAIN__V1__RECORD_KIND__RECORD_KIND_UNSPECIFIED if none). */
Evchain__V1__RecordKind record_kind(const Record *r);

/* Stable lowercase name of a kind ("scan_in", "evidence", …) and back
 * (returns UNSPECIFIED (0) for an unknown name). */
const char *record_kind_name(Evchain__V1__RecordKind k);
Evchain__V1__RecordKind record_kind_from_name(const char *name);

/* Sign / verify record bytes with the domain prefix: plain Ed25519 over
 * EVC_RECORD_SIG_PREFIX || rec (records over 4 KiB are copied to the heap).
 * verify: 0 or EVC_EBADSIG (also for a key that is not type 0x01 and for len
 * > EVC_MAX_RECORD); EVC_ENOMEM if that copy cannot be made. sign writes an
 * all-zero signature, which never verifies, if that copy cannot be made. */
void record_sign(const evc_skey *sk, const uint8_t *rec, size_t len, uint8_t sig[64]);
int record_verify(const evc_vkey *vk, const uint8_t *rec, size_t len, const uint8_t sig[64]);

/*
 * Validate one record against the rules, with now_ms the validator's clock
 * (times may not be more than RECORD_MAX_SKEW_MS in the future nor before
 * 2000). 0 when valid; EVC_EINVAL with a precise reason in why (e.g.
 * "scan_in.company_uscc: check digit is 'Y', expected 'X'") otherwise.
 * The first broken rule is reported, as "field.path: what is wrong" (top-
 * level fields without a prefix). Dates that may lie ahead are exempt from
 * the future bound: disposition.deadline_ms, node_key.valid_from_ms /
 * valid_until_ms, inspection_plan.start_ms / end_ms. why may be NULL.
 */
int record_validate(const Record *r, int64_t now_ms, char *why, size_t whycap);

/* GB 32100-2015 统一社会信用代码: 1 if s (18 chars) is valid. When invalid and
 * expected != NULL, *expected receives the correct check character, or 0 if
 * the code fails before the check digit (length, alphabet). */
int uscc_valid(const char *s, char *expected);

/* Attribute kinds of the ledger's secondary indexes. */
enum record_attr {
	RECORD_ATTR_COMPANY = 'c',     /* 统一社会信用代码 */
	RECORD_ATTR_CERT = 'o',        /* officer certificate number */
	RECORD_ATTR_INSPECTION = 'i',  /* inspection id */
	RECORD_ATTR_NODE = 'n',        /* signer key name */
	RECORD_ATTR_KIND = 'k',        /* one byte: the RecordKind */
	RECORD_ATTR_EVIDENCE = 'e',    /* SHA-256 of an evidence file (32 bytes) */
	RECORD_ATTR_PLAN = 'p',        /* plan id */
};

/* Call emit(ctx, attr, value, len) for every indexed attribute of r (the
 * signer, the kind, the company, inspection, certificates, evidence digest,
 * plan). Values borrow r. A value may be emitted more than once. */
typedef void (*record_emit_fn)(void *ctx, enum record_attr attr, const void *val, size_t len);
void record_attributes(const Record *r, record_emit_fn emit, void *ctx);

#endif
