/*
 * evc.h — libevchain's common definitions: error codes and limits.
 *
 * Every function of libevchain returns 0 (or a count / length) on success and
 * a negative EVC_E* code on failure. evc_strerror() turns a code into a short
 * English message. No function below main() calls exit().
 */
#ifndef EVC_H
#define EVC_H

#include <stddef.h>
#include <stdint.h>

enum evc_err {
	EVC_OK = 0,
	EVC_EINVAL = -1,      /* malformed input, bad argument */
	EVC_ENOMEM = -2,      /* allocation failed */
	EVC_EBADSIG = -3,     /* a signature does not verify */
	EVC_EUNKNOWNKEY = -4, /* no such (or revoked) key */
	EVC_EPERM = -5,       /* not allowed */
	EVC_ECONFLICT = -6,   /* same id, other bytes */
	EVC_ENOTFOUND = -7,   /* no such entry, checkpoint, key */
	EVC_ETOOLARGE = -8,   /* over a stated maximum */
	EVC_EFULL = -9,       /* resource exhausted (map full, queue full) */
	EVC_EIO = -10,        /* read/write/fsync failed (errno is kept) */
	EVC_EDB = -11,        /* LMDB failed (see evc_db_error) */
	EVC_EPROOF = -12,     /* a Merkle proof does not verify */
	EVC_ECORRUPT = -13,   /* stored data is inconsistent with itself */
	EVC_EEXIST = -14,     /* refusing to overwrite */
	EVC_ECRYPTO = -15,    /* libsodium / OpenSSL failure */
	EVC_EAGAIN = -16,     /* need more input */
	EVC_EPASS = -17,      /* wrong passphrase or damaged encrypted key */
};

/* Short English message for an EVC_E* code (never NULL). */
const char *evc_strerror(int err);

/* Grow the array *p of *cap elements of elsize bytes (doubling, from 64) to
 * hold at least need; 0 or EVC_ENOMEM (the array unchanged). */
int evc_grow(void **p, size_t *cap, size_t need, size_t elsize);

/* Sizes fixed by the formats. */
#define EVC_HASH_LEN 32           /* SHA-256 */
#define EVC_ED25519_PK_LEN 32
#define EVC_ED25519_SK_LEN 64     /* libsodium's seed||pk form */
#define EVC_ED25519_SEED_LEN 32
#define EVC_ED25519_SIG_LEN 64

/* Limits (documented in README "Limits"). */
#define EVC_MAX_FRAME_DEFAULT (4u << 20) /* wire frame, 4 MiB */
#define EVC_MAX_RECORD 65536u            /* one encoded record */
#define EVC_MAX_ENTRY (EVC_MAX_RECORD + 1024u)
#define EVC_MAX_NOTE 65536u              /* one signed note */
#define EVC_MAX_NOTE_SIGS 100u           /* signatures on one note (as Go) */
#define EVC_MAX_KEY_NAME 128u
#define EVC_MAX_PROOF 64u                /* hashes in one proof */

/* Domain separation prefix of node record signatures. */
#define EVC_RECORD_SIG_PREFIX "evchain/record/v1\n"

#endif
