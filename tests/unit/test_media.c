/*
 * test_media.c — streaming file digests: known SHA-256 and SM3 answers, a
 * file of several chunks against the in-memory digest, pipes, the progress
 * callback, and the errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "fixture.h"
#include "hash.h"
#include "media.h"

static char tmp[512];

static int
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	size_t n = len ? fwrite(data, 1, len, f) : 0;
	return fclose(f) == 0 && n == len ? 0 : -1;
}

static int
digest_of(const void *data, size_t len, unsigned algs, media_digest *d)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/kat.bin", tmp);
	REQUIRE(write_file(path, data, len) == 0);
	return media_digest_file(path, algs, NULL, NULL, d);
}

static void
check_hex(const uint8_t *h, const char *want)
{
	char hx[65];
	hash_hex(h, 32, hx);
	CHECK_STR(hx, want);
}

typedef struct prog {
	unsigned calls;
	uint64_t last_done, last_total;
	int monotonic;
} prog;

static void
on_progress(void *ctx, uint64_t done, uint64_t total)
{
	prog *p = ctx;
	if (done < p->last_done)
		p->monotonic = 0;
	p->calls++;
	p->last_done = done;
	p->last_total = total;
}

int
main(void)
{
	media_digest d;
	char *dir = fx_tmpdir("media");
	REQUIRE(dir != NULL);
	snprintf(tmp, sizeof(tmp), "%s", dir);

	/* Known answers: FIPS 180-2 "abc", the empty string, 1 MiB of zeros. */
	CHECK_EQ(digest_of("", 0, MEDIA_SHA256, &d), 0);
	check_hex(d.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	CHECK_EQ(d.size, 0);
	CHECK(d.has_sha256 && !d.has_sm3);
	CHECK_EQ(digest_of("abc", 3, MEDIA_SHA256, &d), 0);
	check_hex(d.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK_EQ(d.size, 3);
	uint8_t *zeros = calloc(1, 1u << 20);
	REQUIRE(zeros != NULL);
	CHECK_EQ(digest_of(zeros, 1u << 20, MEDIA_SHA256, &d), 0);
	check_hex(d.sha256, "30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58");
	CHECK_EQ(d.size, 1u << 20);

	/* SM3 (GB/T 32905-2016 example 1: "abc"), alone and with SHA-256. */
	CHECK_EQ(media_sm3_available(), 1);
	CHECK_EQ(digest_of("abc", 3, MEDIA_SM3, &d), 0);
	check_hex(d.sm3, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
	CHECK(d.has_sm3 && !d.has_sha256);
	CHECK_EQ(digest_of("abc", 3, MEDIA_SHA256 | MEDIA_SM3, &d), 0);
	check_hex(d.sm3, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
	check_hex(d.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK_EQ(digest_of("", 0, MEDIA_SM3, &d), 0);
	check_hex(d.sm3, "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b");

	/* A file of many chunks, not a multiple of the chunk size (the reader
	 * thread path), against the digest of the same bytes in memory; with
	 * progress reports and with the page-cache dropping flag. */
	{
		size_t len = (40u << 20) + 12345;
		uint8_t *big = malloc(len), want[32];
		REQUIRE(big != NULL);
		uint32_t x = 2463534242u;
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			big[i] = (uint8_t)x;
		}
		hash_sha256(big, len, want);
		char path[700];
		snprintf(path, sizeof(path), "%s/big.bin", tmp);
		REQUIRE(write_file(path, big, len) == 0);
		prog p = { 0, 0, 0, 1 };
		CHECK_EQ(media_digest_file(path, MEDIA_SHA256, on_progress, &p, &d), 0);
		CHECK_MEM(d.sha256, want, 32);
		CHECK_EQ(d.size, len);
		CHECK(p.calls >= 2);          /* at 32 MiB and at the end */
		CHECK(p.monotonic);
		CHECK_EQ(p.last_done, len);
		CHECK_EQ(p.last_total, len);
		CHECK_EQ(media_digest_file(path, MEDIA_SHA256 | MEDIA_SM3 | MEDIA_NOCACHE, NULL, NULL, &d), 0);
		CHECK_MEM(d.sha256, want, 32);
		CHECK(d.has_sm3);
		/* From an offset: the rest of the file. */
		int fd = open(path, O_RDONLY);
		REQUIRE(fd >= 0);
		REQUIRE(lseek(fd, 1000, SEEK_SET) == 1000);
		hash_sha256(big + 1000, len - 1000, want);
		CHECK_EQ(media_digest_fd(fd, MEDIA_SHA256, NULL, NULL, &d), 0);
		CHECK_MEM(d.sha256, want, 32);
		CHECK_EQ(d.size, len - 1000);
		close(fd);
		/* Sizes around the chunk boundaries. */
		static const size_t sizes[] = { 1, MEDIA_CHUNK - 1, MEDIA_CHUNK, MEDIA_CHUNK + 1,
			2 * MEDIA_CHUNK, 2 * MEDIA_CHUNK + 1, 3 * MEDIA_CHUNK };
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			hash_sha256(big, sizes[i], want);
			CHECK_EQ(digest_of(big, sizes[i], MEDIA_SHA256, &d), 0);
			CHECK_(memcmp(d.sha256, want, 32) == 0 && d.size == sizes[i], "size %zu", sizes[i]);
		}
		free(big);
	}

	/* A pipe: size unknown in advance, read to its end. */
	{
		FILE *p = popen("head -c 1048576 /dev/zero", "r");
		REQUIRE(p != NULL);
		prog pr = { 0, 0, 0, 1 };
		CHECK_EQ(media_digest_fd(fileno(p), MEDIA_SHA256, on_progress, &pr, &d), 0);
		pclose(p);
		check_hex(d.sha256, "30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58");
		CHECK_EQ(d.size, 1u << 20);
		CHECK_EQ(pr.calls, 1);
		CHECK_EQ(pr.last_total, 1u << 20);
	}

	/* Errors. */
	{
		char path[700];
		snprintf(path, sizeof(path), "%s/does-not-exist", tmp);
		errno = 0;
		CHECK_EQ(media_digest_file(path, MEDIA_SHA256, NULL, NULL, &d), EVC_EIO);
		CHECK_EQ(errno, ENOENT);
		CHECK_EQ(media_digest_file(tmp, MEDIA_SHA256, NULL, NULL, &d), EVC_EINVAL); /* a directory */
		CHECK_EQ(errno, EISDIR);
		snprintf(path, sizeof(path), "%s/kat.bin", tmp);
		CHECK_EQ(media_digest_file(path, 0, NULL, NULL, &d), EVC_EINVAL);
		CHECK_EQ(media_digest_file(path, 0x80, NULL, NULL, &d), EVC_EINVAL);
		CHECK_EQ(media_digest_file(path, MEDIA_NOCACHE, NULL, NULL, &d), EVC_EINVAL);
		CHECK_EQ(media_digest_fd(-1, MEDIA_SHA256, NULL, NULL, &d), EVC_EINVAL);
		CHECK_EQ(media_digest_file(NULL, MEDIA_SHA256, NULL, NULL, &d), EVC_EINVAL);
	}

	free(zeros);
	fx_rmrf(dir);
	free(dir);
	CHECK_DONE("test_media");
}
