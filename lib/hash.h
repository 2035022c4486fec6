/*
 * hash.h — SHA-256 through OpenSSL's EVP (SHA-NI / AVX2 where the CPU has them).
 */
#ifndef EVC_HASH_H
#define EVC_HASH_H

#include <stddef.h>
#include <stdint.h>

/* out = SHA-256(data[0..len)). Never fails for in-memory input (aborts on an
 * OpenSSL internal error, which would mean a broken library). */
void hash_sha256(const void *data, size_t len, uint8_t out[32]);

/* out = SHA-256(a || b): two pieces without copying. */
void hash_sha256_2(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32]);

/* Lowercase hex of len bytes into out (2*len+1 bytes, NUL-terminated). */
void hash_hex(const uint8_t *in, size_t len, char *out);

/* Parse exactly 2*len hex digits into out. 0, or EVC_EINVAL. */
int hash_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t len);

#endif
