/*
 * keys.h — Ed25519 keys in the C2SP signed-note string forms, and key files.
 *
 *   verifier key  <name>+<id as 8 lowercase hex>+<base64(type || 32-byte public key)>
 *   signer key    PRIVATE+KEY+<name>+<id>+<base64(type || 32-byte seed)>
 *   key id        first 4 bytes (big-endian) of SHA-256(name || "\n" || type || public key)
 *
 * Types: 0x01 Ed25519 (logs, nodes, admins: plain signed-note signatures),
 *        0x04 cosignature/v1 (witnesses, C2SP tlog-cosignature).
 * Names: 1..EVC_MAX_KEY_NAME bytes of UTF-8, no white space, no '+', no
 * control character.
 *
 * Key files. `PREFIX.key` holds the signer key string (one line), created
 * 0600 with O_CREAT|O_EXCL|O_NOFOLLOW; with a passphrase it holds instead
 *
 *   evchain-encrypted-key-v1
 *   argon2id13 <opslimit> <memlimit>
 *   <base64(salt (16) || nonce (24) || secretbox(signer key string))>
 *
 * (libsodium crypto_pwhash + crypto_secretbox). `PREFIX.pub` holds the
 * verifier key string and a newline. Every secret (seed, decrypted text,
 * derived key) is wiped with sodium_memzero as soon as it is used; callers
 * wipe an evc_skey with keys_skey_wipe().
 */
#ifndef EVC_KEYS_H
#define EVC_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "evc.h"

#define EVC_KEY_ED25519 0x01
#define EVC_KEY_COSIGNATURE 0x04

#define KEYS_VKEY_MAX 256   /* buffer for a formatted verifier key */
#define KEYS_SKEY_MAX 256   /* buffer for a formatted signer key */

typedef struct evc_vkey {
	char name[EVC_MAX_KEY_NAME + 1];
	uint8_t type;
	uint32_t id;
	uint8_t pub[32];
} evc_vkey;

typedef struct evc_skey {
	char name[EVC_MAX_KEY_NAME + 1];
	uint8_t type;
	uint32_t id;
	uint8_t sk[64];     /* libsodium form: seed || public key */
} evc_skey;

/* 1 if name is a valid key name, else 0. */
int keys_name_valid(const char *name, size_t len);

/* The key id of (name, type, pub). */
uint32_t keys_key_id(const char *name, uint8_t type, const uint8_t pub[32]);

/* New random key of `type` named `name`. 0, EVC_EINVAL (name, type). */
int keys_generate(const char *name, uint8_t type, evc_skey *sk, evc_vkey *vk);

/* Key from a 32-byte seed (tests, known answers). */
int keys_from_seed(const char *name, uint8_t type, const uint8_t seed[32], evc_skey *sk, evc_vkey *vk);

/* Verifier key of a signer key. */
void keys_public(const evc_skey *sk, evc_vkey *vk);

/* Parse a verifier key string (s[0..len), no newline). 0 or EVC_EINVAL
 * (syntax, unknown type, id that does not match name/type/key). */
int keys_vkey_parse(const char *s, size_t len, evc_vkey *out);

/* Format into buf (cap bytes, NUL-terminated). Returns the length, or
 * EVC_ETOOLARGE. */
int keys_vkey_format(const evc_vkey *vk, char *buf, size_t cap);

/* Parse / format a signer key string. The parsed key's public half is
 * derived from the seed. The caller wipes buffers that held the string. */
int keys_skey_parse(const char *s, size_t len, evc_skey *out);
int keys_skey_format(const evc_skey *sk, char *buf, size_t cap);

/* Wipe a signer key. Accepts NULL. */
void keys_skey_wipe(evc_skey *sk);

/*
 * Write the signer key to `path` (0600, refuses an existing file or a
 * symlink: EVC_EEXIST), encrypted when passphrase != NULL. Data is fsynced.
 * 0, EVC_EEXIST, EVC_EIO (errno kept), EVC_ECRYPTO.
 */
int keys_write_private(const char *path, const evc_skey *sk,
    const char *passphrase, size_t passlen);

/*
 * Read a signer key file, plain or encrypted. An encrypted file needs the
 * passphrase (EVC_EPASS when missing, wrong, or the file is damaged).
 * Refuses files larger than 4 KiB and symlinks. 0, EVC_EIO, EVC_EINVAL, EVC_EPASS.
 */
int keys_read_private(const char *path, const char *passphrase, size_t passlen, evc_skey *out);

/* Write / read a verifier key file (`PREFIX.pub`, mode 0644). */
int keys_write_public(const char *path, const evc_vkey *vk);
int keys_read_public(const char *path, evc_vkey *out);

/* Read a passphrase file (first line, without its newline) into buf (cap).
 * Returns the length, EVC_EIO, or EVC_ETOOLARGE. The caller wipes buf. */
int keys_read_passphrase(const char *path, char *buf, size_t cap);

/* Ed25519 sign / verify of a plain message with a type-0x01 key. */
void keys_sign(const evc_skey *sk, const void *msg, size_t len, uint8_t sig[64]);
int keys_verify(const evc_vkey *vk, const void *msg, size_t len, const uint8_t sig[64]);

#endif
