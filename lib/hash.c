/* hash.c — SHA-256 through OpenSSL EVP, hex helpers. */
#include <pthread.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "evc.h"
#include "hash.h"

/* One fetched implementation for the whole process (avoids a per-call
 * provider lookup); EVP_MD_fetch is thread-safe, the result is shared
 * read-only. */
static const EVP_MD *
sha256_md(void)
{
	static const EVP_MD *md;
	const EVP_MD *m = __atomic_load_n(&md, __ATOMIC_ACQUIRE);

	if (m == NULL) {
		EVP_MD *f = EVP_MD_fetch(NULL, "SHA256", NULL);
		if (f == NULL)
			abort();
		const EVP_MD *expected = NULL;
		if (!__atomic_compare_exchange_n(&md, &expected, f, 0, __ATOMIC_ACQ_REL,
		    __ATOMIC_ACQUIRE)) {
			EVP_MD_free(f);
			f = (EVP_MD *)expected;
		}
		m = f;
	}
	return m;
}

/* One digest context per thread, freed when the thread exits. */
static _Thread_local EVP_MD_CTX *tctx;
static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void
ctx_free(void *p)
{
	EVP_MD_CTX_free(p);
}

static void
ctx_key_init(void)
{
	if (pthread_key_create(&ctx_key, ctx_free) != 0)
		abort();
}

static EVP_MD_CTX *
ctx_get(void)
{
	if (tctx == NULL) {
		pthread_once(&ctx_once, ctx_key_init);
		if ((tctx = EVP_MD_CTX_new()) == NULL)
			abort();
		pthread_setspecific(ctx_key, tctx);
	}
	return tctx;
}

/* The main thread does not run key destructors at exit: free its context. */
__attribute__((destructor)) static void
ctx_free_main(void)
{
	if (tctx != NULL) {
		pthread_setspecific(ctx_key, NULL);
		EVP_MD_CTX_free(tctx);
		tctx = NULL;
	}
}

void
hash_sha256_2(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
	EVP_MD_CTX *c = ctx_get();
	unsigned int n = 0;

	if (EVP_DigestInit_ex2(c, sha256_md(), NULL) != 1 ||
	    (alen && EVP_DigestUpdate(c, a, alen) != 1) ||
	    (blen && EVP_DigestUpdate(c, b, blen) != 1) ||
	    EVP_DigestFinal_ex(c, out, &n) != 1 || n != 32)
		abort();
}

void
hash_sha256(const void *data, size_t len, uint8_t out[32])
{
	hash_sha256_2(data, len, NULL, 0, out);
}

void
hash_hex(const uint8_t *in, size_t len, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hash_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t len)
{
	if (hexlen != 2 * len)
		return EVC_EINVAL;
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return EVC_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
