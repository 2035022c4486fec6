/*
 * media.h — digests of evidence files (video, audio, photos, documents):
 * SHA-256, and SM3 (GB/T 32905-2016) on request, through OpenSSL's EVP.
 *
 * Streaming: a file of any size is read in MEDIA_CHUNK pieces into one
 * buffer, so memory stays constant (two chunks: a helper thread reads ahead
 * while the caller's thread hashes). The kernel is told the access is
 * sequential (posix_fadvise); with MEDIA_NOCACHE the pages already hashed
 * are dropped from the page cache as it goes, so hashing a 50 GB recording
 * does not evict everything else (at the price of reading it from disk
 * again next time). A progress callback lets a terminal program draw a bar.
 *
 * Speed (2-core AMD EPYC with SHA-NI, OpenSSL 3.0, a 2 GiB file): SHA-256
 * at 1.35-1.47 GB/s from the page cache and 1.3-1.55 GB/s from disk (the
 * read-ahead thread; 1.1 GB/s without it), against 1.49-1.57 GB/s for
 * `openssl speed -evp sha256 -bytes 1048576`, the limit (`openssl dgst
 * -sha256` reads the same file at 0.8-0.95 GB/s). SM3 has no hardware
 * support: about 0.4 GB/s alone (openssl speed), 0.25 GB/s with SHA-256.
 */
#ifndef EVC_MEDIA_H
#define EVC_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#define MEDIA_CHUNK (1u << 20)              /* bytes read at a time */

/* Algorithms, as a bit set. */
#define MEDIA_SHA256 1u
#define MEDIA_SM3 2u
/* Flag, with the algorithms: drop hashed pages from the page cache. */
#define MEDIA_NOCACHE 0x100u

typedef struct media_digest {
	uint8_t sha256[32];
	uint8_t sm3[32];
	int has_sha256, has_sm3;  /* which were computed */
	uint64_t size;            /* bytes hashed */
} media_digest;

/*
 * Progress: called with the bytes hashed so far and the total (0 when the
 * size is not known in advance: a pipe). Called about every 32 MiB and once
 * at the end with done == size. Runs on the caller's thread.
 */
typedef void (*media_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* 1 if this OpenSSL provides SM3 (EVP_MD_fetch "SM3"), else 0. */
int media_sm3_available(void);

/*
 * Digest everything readable from fd (a regular file from its current
 * offset, or a pipe) with the algorithms in `algs` (MEDIA_SHA256 and/or
 * MEDIA_SM3, optionally | MEDIA_NOCACHE). progress may be NULL. The fd is
 * not closed. On failure *out is zeroed.
 * 0; EVC_EINVAL (no algorithm, or an unknown bit); EVC_ECRYPTO (SM3 not available, or
 * an OpenSSL failure); EVC_EIO (read failed; errno kept); EVC_ENOMEM.
 */
int media_digest_fd(int fd, unsigned algs, media_progress_fn progress, void *ctx,
    media_digest *out);

/*
 * Digest the file at path ("-" is standard input). Refuses directories and
 * other non-regular files but pipes and character devices (EVC_EINVAL).
 * Errors as media_digest_fd, plus EVC_EIO when the file cannot be opened
 * (errno kept).
 */
int media_digest_file(const char *path, unsigned algs, media_progress_fn progress, void *ctx,
    media_digest *out);

#endif
