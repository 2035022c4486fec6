/*
 * note.h — C2SP signed-note, tlog-checkpoint, tlog-cosignature
 * (cosignature/v1) and tlog-proof. Byte-compatible with Go's
 * golang.org/x/mod/sumdb/note and sumdb/tlog and with the C2SP texts.
 *
 * A signed note is: text (UTF-8, each line ending "\n", no control character
 * but "\n"), one empty line, then signature lines
 *   "— <key name> <base64(key id (4, big-endian) || signature)>\n"
 * (U+2014 EM DASH). The signed message is the text including its final "\n".
 * Parsers split at the last "\n\n".
 *
 * Verification (note_open) follows Go: signatures by keys the caller does not
 * know are ignored; a signature by a known key that fails rejects the whole
 * note (EVC_EBADSIG); at least one known key must have signed (else
 * EVC_EUNKNOWNKEY). Type 0x04 keys verify cosignature/v1 signatures.
 */
#ifndef EVC_NOTE_H
#define EVC_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"

#define NOTE_COSIG_LEN 76  /* key id (4) || timestamp (8) || Ed25519 (64) */
#define NOTE_SIG_MAX 8192  /* the longest signature a note may carry (parsed, unverified) */

typedef struct note_sig {
	char name[EVC_MAX_KEY_NAME + 1];
	uint32_t id;
	uint8_t sig[NOTE_COSIG_LEN]; /* signature bytes after the key id (the first
	                              * NOTE_COSIG_LEN when sig_len is larger) */
	size_t sig_len;              /* up to 8192: no key here verifies one over 76 */
	const evc_vkey *key;   /* the caller's key that verified it, else NULL */
	uint64_t timestamp;    /* cosignature/v1 time, when key->type == 0x04 */
} note_sig;

typedef struct note {
	const char *text;      /* points into the caller's buffer */
	size_t text_len;       /* including the final "\n" */
	size_t nsigs;
	note_sig sigs[EVC_MAX_NOTE_SIGS];
} note;

/*
 * Parse msg[0..len) syntactically: text rules, the empty line, each signature
 * line (name valid, base64 valid, more than 4 bytes as Go requires, at most
 * 4+8192: a signature of another algorithm parses and stays unverified, as in
 * Go). More than EVC_MAX_NOTE_SIGS
 * signatures: EVC_ETOOLARGE. Message over EVC_MAX_NOTE: EVC_ETOOLARGE.
 * 0 or EVC_EINVAL. `out` borrows msg: valid while msg is.
 */
int note_parse(const char *msg, size_t len, note *out);

/*
 * Parse and verify against keys[0..nkeys). On success out->sigs[k].key is set
 * for every signature that verified. As Go, a repeated signature by a key
 * that already verified is skipped (its .key stays NULL), and two different
 * keys with the same (name, id) in keys[] are ambiguous (EVC_EINVAL).
 * Returns the number of verified signatures (>= 1), EVC_EINVAL, EVC_EBADSIG,
 * EVC_EUNKNOWNKEY, EVC_ETOOLARGE (or EVC_ENOMEM, EVC_ECRYPTO).
 */
int note_open(const char *msg, size_t len, const evc_vkey *keys, size_t nkeys, note *out);

/*
 * Sign text[0..len) (which must be valid note text) with type-0x01 keys and
 * write "text\n<signature lines>" to a malloc'd *out (NUL-terminated; *outlen
 * excludes the NUL). 0, EVC_EINVAL, EVC_ETOOLARGE (the signed note would
 * exceed EVC_MAX_NOTE), EVC_ENOMEM.
 */
int note_sign(const char *text, size_t len, const evc_skey *const *keys, size_t nkeys,
    char **out, size_t *outlen);

/* Format one signature line "— name base64(id||sig)\n" into buf (cap).
 * Returns its length or EVC_ETOOLARGE. */
int note_sig_line(const char *name, uint32_t id, const uint8_t *sig, size_t siglen,
    char *buf, size_t cap);

/* ---- tlog-checkpoint ---------------------------------------------------- */

#define CHECKPOINT_MAX_ORIGIN 255

typedef struct checkpoint {
	char origin[CHECKPOINT_MAX_ORIGIN + 1];
	uint64_t size;
	uint8_t root[32];
	const char *ext;       /* extension lines (each ending "\n"), may be NULL */
	size_t ext_len;
} checkpoint;

/* Checkpoint text: "origin\nsize\nbase64(root)\n" + extension lines.
 * Returns the length (buf NUL-terminated), EVC_EINVAL, EVC_ETOOLARGE. */
int checkpoint_format(const checkpoint *cp, char *buf, size_t cap);

/* Parse checkpoint text (the note text, not the signatures): origin non-empty
 * without spaces or '+', size decimal without leading zeros, root base64 of
 * 32 bytes. ext borrows text. 0 or EVC_EINVAL. */
int checkpoint_parse(const char *text, size_t len, checkpoint *out);

/* ---- cosignature/v1 ---------------------------------------------------- */

/*
 * Cosign checkpoint text[0..len) at time `timestamp` (seconds) with a
 * type-0x04 key: signed message "cosignature/v1\ntime <T>\n" || text.
 * out receives the 76 signature bytes (key id || time || Ed25519).
 * 0; EVC_EINVAL (key type, timestamp > 2^63 - 1, text not note text of at
 * least three lines); EVC_ENOMEM.
 */
int cosig_sign(const char *text, size_t len, const evc_skey *sk, uint64_t timestamp,
    uint8_t out[NOTE_COSIG_LEN]);

/* Verify 76 cosignature bytes against text with a type-0x04 key; *timestamp
 * (may be NULL) receives the time. 0, EVC_EBADSIG (also for a time over
 * 2^63 - 1 or a text under three lines), EVC_EINVAL (wrong key id or type,
 * not note text). */
int cosig_verify(const char *text, size_t len, const evc_vkey *vk,
    const uint8_t sig[NOTE_COSIG_LEN], uint64_t *timestamp);

/* ---- tlog-proof -------------------------------------------------------- */

#define TLOG_PROOF_MAX_EXTRA 4096

typedef struct tlog_proof {
	uint64_t index;
	uint8_t extra[TLOG_PROOF_MAX_EXTRA]; /* decoded `extra` bytes */
	size_t extra_len;
	int has_extra;
	uint8_t hashes[EVC_MAX_PROOF][32];
	size_t nhashes;
	const char *checkpoint; /* the signed checkpoint note, verbatim; borrows input */
	size_t checkpoint_len;
} tlog_proof;

/*
 * Format a tlog-proof to a malloc'd *out:
 *   "c2sp.org/tlog-proof@v1\n" ["extra <b64>\n"] "index <n>\n" <b64 hash lines> "\n" <signed checkpoint>
 * extra may be NULL (no extra line); non-NULL with extra_len 0 writes
 * "extra \n", as Go. The signed checkpoint is checked as tlog_proof_parse
 * would. 0, EVC_EINVAL, EVC_ENOMEM.
 */
int tlog_proof_format(uint64_t index, const uint8_t *extra, size_t extra_len,
    const uint8_t (*proof)[32], size_t nproof, const char *signed_checkpoint, size_t cplen,
    char **out, size_t *outlen);

/* Parse a tlog-proof (strict: header, optional extra, index, hashes, empty
 * line, then the signed note, which is checked with note_parse and its text
 * with checkpoint_parse). More than EVC_MAX_PROOF hashes or
 * TLOG_PROOF_MAX_EXTRA extra bytes: EVC_ETOOLARGE. 0, EVC_EINVAL,
 * EVC_ETOOLARGE. */
int tlog_proof_parse(const char *s, size_t len, tlog_proof *out);

/* ---- base64 (RFC 4648 standard, padded) ---------------------------------- */

/* Encoded length of n bytes, without NUL. */
size_t b64_encoded_len(size_t n);
/* Encode into out (cap including NUL). Returns length or EVC_ETOOLARGE. */
int b64_encode(const uint8_t *in, size_t n, char *out, size_t cap);
/* Strict decode (padding required, no white space, canonical trailing bits).
 * Returns decoded length, EVC_EINVAL, or EVC_ETOOLARGE (cap too small). */
int b64_decode(const char *in, size_t n, uint8_t *out, size_t cap);

#endif
