/*
 * pbjson.h — protobuf-c messages to and from JSON (jansson values), driven by
 * the generated descriptors: one converter for every message of the schema.
 *
 * The mapping (close to proto3's canonical JSON, with friendlier input):
 *
 *   proto                  JSON written              JSON read
 *   ---------------------  ------------------------  ----------------------------------
 *   message                object, proto field       object; keys snake_case or
 *                          names (snake_case)        lowerCamelCase; unknown key refused
 *   string                 string                    string (no NUL, ≤ PBJSON_MAX_STRING)
 *   bytes                  lowercase hex             hex (either case, even length), or
 *                                                    "base64:" + standard base64
 *   bool                   true / false              true / false
 *   int32, uint32, int64   integer                   integer, or decimal string;
 *   uint64                 integer (decimal string   range-checked for the type
 *                          above 2^63-1: jansson's
 *                          integers are signed)
 *   int64 named *_ms       integer (Unix ms)         as above, or an RFC 3339 time
 *                                                    ("2025-05-12T09:30:00+08:00", "…Z")
 *   double, float          number; "NaN",            integer, real, or those strings
 *                          "Infinity", "-Infinity"
 *   enum                   value name                full value name (case-sensitive),
 *                          ("LICENCE_QR_SCAN"); an   or any int32 integer
 *                          unknown number as integer
 *   repeated               array (omitted if empty)  array (≤ PBJSON_MAX_ARRAY elements)
 *   oneof member           written when it is the    at most one member per oneof
 *                          set case, even if empty
 *
 * Written output omits unset fields: scalars at their default (0, "", false,
 * empty bytes), absent messages, empty repeated fields (proto3 semantics).
 * Read input takes `null` for a field as "not given". Unknown wire fields
 * (ProtobufCMessage.unknown_fields) are not written. RFC 3339 fractions
 * below a millisecond are dropped; leap seconds (:60) are refused.
 *
 * Exactness: encode → json_dumps (default flags) → decode → pack gives the
 * original bytes for every message (jansson writes reals with 17 digits, so
 * 36.4567 shows as 36.456699999999998; for display only, dump with
 * JSON_REAL_PRECISION(15)).
 */
#ifndef EVC_PBJSON_H
#define EVC_PBJSON_H

#include <stddef.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "pb.h"
#include "record.h"

/* Limits of pbjson_decode (over one: EVC_ETOOLARGE). */
#define PBJSON_MAX_DEPTH 32            /* nested messages below the top one */
#define PBJSON_MAX_ARRAY 10000u        /* elements of one repeated field */
#define PBJSON_MAX_STRING (1u << 20)   /* bytes of one JSON string (also hex/base64 text) */
#define PBJSON_MAX_FIELDS 256u         /* fields of one message type */
#define PBJSON_MAX_TEXT (4u << 20)     /* one JSON text given to pbjson_record_from_text */

/*
 * Encode message m as a JSON object (the mapping above). Strings that are
 * not valid UTF-8 (possible in bytes from the wire; record_validate refuses
 * them) are written with U+FFFD for every bad byte, so a broken record can
 * still be shown. Messages nested deeper than PBJSON_MAX_DEPTH are refused.
 * Returns a new reference (the caller json_decref()s it), or NULL when m is
 * NULL, too deep, or on allocation failure.
 */
json_t *pbjson_encode(const ProtobufCMessage *m);

/*
 * Decode JSON object j into a new message of type d. Every byte of the
 * result (the message, nested messages, NUL-terminated string copies,
 * repeated arrays, bytes) comes from arena a; the message starts from
 * d->message_init, so fields not given keep their defaults. j is only read.
 *
 * On success returns 0 and sets *out (valid until the arena is reset or
 * freed). On failure *out is NULL, what was allocated stays in the arena
 * until it is reset, and err (errcap bytes, NUL-terminated, "..." when cut;
 * may be NULL) receives "path: reason", the path naming the field with
 * proto field names and array indexes, e.g.
 *   "scan_in.officers[1].certificate_no: expected a string, got an integer"
 *   "scan_in.methd: unknown field"
 * (a problem with j itself is reported under d's short name, "Record: …").
 * Errors:
 *   EVC_EINVAL    a bad argument; wrong JSON type; unknown field; a field
 *                 given twice (snake_case and lowerCamelCase); a second member
 *                 of a oneof; an integer out of range for its type; bad hex or
 *                 base64; unknown enum name; bad RFC 3339 time; a NUL in a string
 *   EVC_ETOOLARGE over PBJSON_MAX_DEPTH / _ARRAY / _STRING / _FIELDS, or over
 *                 the arena's budget
 *   EVC_ENOMEM    the arena could not get memory
 */
int pbjson_decode(const ProtobufCMessageDescriptor *d, const json_t *j, pb_arena *a,
    ProtobufCMessage **out, char *err, size_t errcap);

/*
 * Parse text[0..len) — one JSON object, e.g. a line of a JSON Lines file
 * (white space and a final newline are fine, anything else after the object
 * is not) — into a Record within arena a. Duplicate keys are refused. The
 * body is given as its oneof member, e.g.
 *   {"record_id": "r1", "scan_in": {"inspection_id": "LC-SCJG-2025-0001", …}}
 * Nothing is validated beyond the mapping: signer and created_ms may be left
 * out (the caller fills them), and record_validate() judges the content.
 * Returns 0 and *out (valid until the arena is reset), or EVC_EINVAL with
 * "invalid JSON at line L, column C: reason" or a pbjson_decode() message in
 * err; EVC_ETOOLARGE when len > PBJSON_MAX_TEXT; pbjson_decode()'s errors.
 */
int pbjson_record_from_text(const char *text, size_t len, pb_arena *a, Record **out,
    char *err, size_t errcap);

#endif
