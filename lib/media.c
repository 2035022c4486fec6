/*
 * media.c — streaming SHA-256 / SM3 of evidence files (media.h).
 *
 * One thread reads, the caller's thread hashes: two MEDIA_CHUNK buffers
 * alternate, so the copy out of the page cache (or the wait for the disk)
 * overlaps with SHA-256, which is the limit (OpenSSL's SHA-NI code). With no
 * thread available the same loop runs on one thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "evc.h"
#include "media.h"

#define PROGRESS_EVERY (32ull << 20)

/* ---- reader: fills buffers ahead of the hasher ---------------------------- */

typedef struct slot {
	uint8_t *buf;
	size_t len;        /* bytes in buf; 0 at end of file */
	int err;           /* errno of a failed read, 0 if none */
	int full;          /* 1: ready for the hasher; 0: ready for the reader */
} slot;

typedef struct reader {
	int fd;
	int drop;          /* drop hashed pages from the page cache */
	slot s[2];
	int stop;          /* hasher gave up: reader exits */
	pthread_mutex_t mu;
	pthread_cond_t cv;
} reader;

/* Read up to MEDIA_CHUNK bytes (fewer only at end of file). */
static size_t
read_chunk(int fd, uint8_t *buf, int *err)
{
	size_t got = 0;

	*err = 0;
	while (got < MEDIA_CHUNK) {
		ssize_t n = read(fd, buf + got, MEDIA_CHUNK - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*err = errno ? errno : EIO;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static void *
reader_main(void *arg)
{
	reader *r = arg;

	for (unsigned k = 0;; k ^= 1) {
		slot *s = &r->s[k];
		pthread_mutex_lock(&r->mu);
		while (s->full && !r->stop)
			pthread_cond_wait(&r->cv, &r->mu);
		int stop = r->stop;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			break;
		int err;
		size_t len = read_chunk(r->fd, s->buf, &err);
		pthread_mutex_lock(&r->mu);
		s->len = len;
		s->err = err;
		s->full = 1;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
		if (len == 0 || err != 0)
			break;
	}
	return NULL;
}

/* ---- digests ---------------------------------------------------------------- */

static const EVP_MD *
md_get(const char *name, const EVP_MD **cache)
{
	const EVP_MD *m = __atomic_load_n(cache, __ATOMIC_ACQUIRE);

	if (m == NULL) {
		EVP_MD *f = EVP_MD_fetch(NULL, name, NULL);
		if (f == NULL)
			return NULL;
		const EVP_MD *expected = NULL;
		if (!__atomic_compare_exchange_n(cache, &expected, f, 0, __ATOMIC_ACQ_REL,
		    __ATOMIC_ACQUIRE)) {
			EVP_MD_free(f);
			f = (EVP_MD *)expected;
		}
		m = f;
	}
	return m;
}

static const EVP_MD *sha256_cache, *sm3_cache;

int
media_sm3_available(void)
{
	return md_get("SM3", &sm3_cache) != NULL;
}

typedef struct hasher {
	EVP_MD_CTX *c[2];  /* SHA-256, SM3 (NULL when not asked) */
} hasher;

static void
hasher_free(hasher *h)
{
	EVP_MD_CTX_free(h->c[0]);
	EVP_MD_CTX_free(h->c[1]);
}

static int
hasher_init(hasher *h, unsigned algs)
{
	static const char *const names[2] = { "SHA256", "SM3" };
	const EVP_MD **caches[2] = { &sha256_cache, &sm3_cache };

	memset(h, 0, sizeof(*h));
	for (int i = 0; i < 2; i++) {
		if (!(algs & (1u << i)))
			continue;
		const EVP_MD *md = md_get(names[i], caches[i]);
		if (md == NULL)
			goto err;
		if ((h->c[i] = EVP_MD_CTX_new()) == NULL) {
			hasher_free(h);
			return EVC_ENOMEM;
		}
		if (EVP_DigestInit_ex2(h->c[i], md, NULL) != 1)
			goto err;
	}
	return 0;
err:
	hasher_free(h);
	return EVC_ECRYPTO;
}

static int
hasher_update(hasher *h, const uint8_t *p, size_t n)
{
	for (int i = 0; i < 2; i++)
		if (h->c[i] != NULL && EVP_DigestUpdate(h->c[i], p, n) != 1)
			return EVC_ECRYPTO;
	return 0;
}

static int
hasher_final(hasher *h, media_digest *out)
{
	uint8_t *dst[2] = { out->sha256, out->sm3 };
	int *has[2] = { &out->has_sha256, &out->has_sm3 };

	for (int i = 0; i < 2; i++) {
		unsigned int n = 0;
		if (h->c[i] == NULL)
			continue;
		if (EVP_DigestFinal_ex(h->c[i], dst[i], &n) != 1 || n != 32)
			return EVC_ECRYPTO;
		*has[i] = 1;
	}
	return 0;
}

/* Tell the kernel it may forget pages [0, upto) of a large file. */
static void
drop_cache(int fd, int drop, uint64_t upto)
{
	if (drop && upto > 0)
		(void)posix_fadvise(fd, 0, (off_t)upto, POSIX_FADV_DONTNEED);
}

int
media_digest_fd(int fd, unsigned algs, media_progress_fn progress, void *ctx,
    media_digest *out)
{
	struct stat st;
	uint64_t total = 0, done = 0, last_report = 0, start = 0;
	reader r;
	hasher h;
	pthread_t th;
	int threaded = 0, rc;

	if (out == NULL || fd < 0 || (algs & (MEDIA_SHA256 | MEDIA_SM3)) == 0 ||
	    (algs & ~(MEDIA_SHA256 | MEDIA_SM3 | MEDIA_NOCACHE)) != 0)
		return EVC_EINVAL;
	memset(out, 0, sizeof(*out));
	if ((rc = hasher_init(&h, algs)) != 0)
		return rc;

	memset(&r, 0, sizeof(r));
	r.fd = fd;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		off_t pos = lseek(fd, 0, SEEK_CUR);
		if (pos >= 0 && st.st_size > pos) {
			start = (uint64_t)pos;
			total = (uint64_t)(st.st_size - pos);
		}
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		r.drop = (algs & MEDIA_NOCACHE) != 0;
	}
	for (int i = 0; i < 2; i++) {
		if (posix_memalign((void **)&r.s[i].buf, 4096, MEDIA_CHUNK) != 0) {
			r.s[i].buf = NULL;
			rc = EVC_ENOMEM;
			goto out;
		}
	}
	if (pthread_mutex_init(&r.mu, NULL) != 0) {
		rc = EVC_ENOMEM;
		goto out;
	}
	if (pthread_cond_init(&r.cv, NULL) != 0) {
		pthread_mutex_destroy(&r.mu);
		rc = EVC_ENOMEM;
		goto out;
	}
	/* Small files (and a failed thread start) are read on this thread. */
	threaded = total == 0 || total > 2 * (uint64_t)MEDIA_CHUNK;
	if (threaded && pthread_create(&th, NULL, reader_main, &r) != 0)
		threaded = 0;

	for (unsigned k = 0;; k ^= 1) {
		slot *s = &r.s[k];
		if (threaded) {
			pthread_mutex_lock(&r.mu);
			while (!s->full)
				pthread_cond_wait(&r.cv, &r.mu);
			pthread_mutex_unlock(&r.mu);
		} else {
			s->len = read_chunk(fd, s->buf, &s->err);
		}
		if (s->err != 0) {
			errno = s->err;
			rc = EVC_EIO;
			break;
		}
		if (s->len == 0) {
			rc = 0;
			break;
		}
		rc = hasher_update(&h, s->buf, s->len);
		done += s->len;
		if (threaded) {
			pthread_mutex_lock(&r.mu);
			s->full = 0;
			pthread_cond_broadcast(&r.cv);
			pthread_mutex_unlock(&r.mu);
		}
		if (rc != 0)
			break;
		if (done - last_report >= PROGRESS_EVERY) {
			drop_cache(fd, r.drop, start + done);
			if (progress != NULL)
				progress(ctx, done, total);
			last_report = done;
		}
		if (s->len < MEDIA_CHUNK && !threaded) {
			rc = 0;   /* short read: end of file (pipes retry in read_chunk) */
			break;
		}
	}
	if (threaded) {
		int saved = errno;
		pthread_mutex_lock(&r.mu);
		r.stop = 1;
		pthread_cond_broadcast(&r.cv);
		pthread_mutex_unlock(&r.mu);
		pthread_join(th, NULL);
		errno = saved;
	}
	pthread_cond_destroy(&r.cv);
	pthread_mutex_destroy(&r.mu);
	if (rc == 0) {
		rc = hasher_final(&h, out);
		out->size = done;
		drop_cache(fd, r.drop, start + done);
		if (rc == 0 && progress != NULL)
			progress(ctx, done, total > done ? total : done);
	}
out:
	free(r.s[0].buf);
	free(r.s[1].buf);
	hasher_free(&h);
	if (rc != 0) {
		int saved = errno;
		memset(out, 0, sizeof(*out));
		errno = saved;
	}
	return rc;
}

int
media_digest_file(const char *path, unsigned algs, media_progress_fn progress, void *ctx,
    media_digest *out)
{
	struct stat st;
	int fd, rc;

	if (path == NULL || out == NULL)
		return EVC_EINVAL;
	if (strcmp(path, "-") == 0)
		return media_digest_fd(0, algs, progress, ctx, out);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return EVC_EIO;
	if (fstat(fd, &st) != 0) {
		rc = EVC_EIO;
	} else if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		rc = EVC_EINVAL;
	} else {
		rc = media_digest_fd(fd, algs, progress, ctx, out);
	}
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}
