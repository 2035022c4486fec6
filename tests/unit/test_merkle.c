/*
 * test_merkle.c — RFC 6962 trees: known answers (transparency-dev/merkle
 * testonly/constants.go and proof/verify_test.go, whose leaves are the RFC
 * 6962 test leaves), every proof of every tree up to 64 leaves against the
 * recursive reference, negative cases, the Go sumdb/tlog stored layout, and
 * the cost of proofs (one batched read of O(log n) stored hashes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "evc.h"
#include "hash.h"
#include "merkle.h"

/* ---- helpers ------------------------------------------------------------- */

static void
unhex32(const char *hex, uint8_t out[32])
{
	REQUIRE(strlen(hex) == 64);
	REQUIRE(hash_unhex(hex, 64, out, 32) == 0);
}

/* In-memory store of stored hashes, with read accounting. */
typedef struct mem_store {
	uint8_t (*h)[32];
	uint64_t count;
	unsigned calls;      /* reader calls since the last reset */
	size_t reads;        /* hashes read since the last reset */
	int fail;            /* return this error from the reader when non-zero */
} mem_store;

static int
mem_read(void *ctx, const uint64_t *idx, size_t n, uint8_t (*out)[32])
{
	mem_store *m = ctx;

	m->calls++;
	m->reads += n;
	if (m->fail)
		return m->fail;
	for (size_t k = 0; k < n; k++) {
		if (idx[k] >= m->count)
			return EVC_ECORRUPT;
		memcpy(out[k], m->h[idx[k]], 32);
	}
	return 0;
}

/* Reader for huge virtual trees: any index, a hash derived from it. */
static int
fake_read(void *ctx, const uint64_t *idx, size_t n, uint8_t (*out)[32])
{
	mem_store *m = ctx;

	m->calls++;
	m->reads += n;
	for (size_t k = 0; k < n; k++)
		hash_sha256(&idx[k], sizeof idx[k], out[k]);
	return 0;
}

static void
reset(mem_store *m)
{
	m->calls = 0;
	m->reads = 0;
}

static unsigned
ceil_log2(uint64_t n)
{
	unsigned l = 0;

	for (uint64_t x = n > 0 ? n - 1 : 0; x != 0; x >>= 1)
		l++;
	return l;
}

/* ---- known answers ------------------------------------------------------ */

static const char *const kat_leaves_hex[8] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f",
};

/* transparency-dev/merkle testonly.NodeHashes(): level, index. */
static const char *const kat_level0[8] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	"0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
	"07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
	"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	"4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
	"b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
	"46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
};
static const char *const kat_level1[4] = {
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
	"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
};
static const char *const kat_level2[2] = {
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
};

/* testonly.RootHashes(): roots of the trees of 0..8 leaves. */
static const char *const kat_roots[9] = {
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* proof/verify_test.go inclusionProofs (leaf index 0-based here). */
static const struct {
	uint64_t i, n;
	size_t len;
	const char *proof[3];
} kat_incl[] = {
	{ 0, 1, 0, { NULL } },
	{ 0, 8, 3, {
	    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 5, 8, 3, {
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 3, 1, {
	    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
	{ 1, 5, 3, {
	    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
};

/* proof/verify_test.go consistencyProofs. */
static const struct {
	uint64_t m, n;
	size_t len;
	const char *proof[3];
} kat_cons[] = {
	{ 1, 1, 0, { NULL } },
	{ 1, 8, 3, {
	    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 6, 8, 3, {
	    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
	    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 5, 2, {
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	{ 6, 7, 3, {
	    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
	    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
};

/* Build a store of n leaves by streaming, checking the stored order. */
static void
build_store(const uint8_t (*leaves)[32], uint64_t n, mem_store *m)
{
	merkle_stream s;
	uint8_t stored[MERKLE_MAX_HEIGHT + 1][32];

	memset(m, 0, sizeof *m);
	m->h = calloc(merkle_stored_count(n) + 1, 32);
	REQUIRE(m->h != NULL);
	merkle_stream_init(&s);
	for (uint64_t i = 0; i < n; i++) {
		unsigned trailing = 0, got;
		for (uint64_t x = i; x & 1; x >>= 1)
			trailing++;
		CHECK_EQ(m->count, merkle_stored_index(0, i));
		got = merkle_stream_push(&s, leaves[i], stored);
		CHECK_EQ(got, 1 + trailing);
		for (unsigned k = 0; k < got; k++)
			memcpy(m->h[m->count++], stored[k], 32);
	}
	CHECK_EQ(m->count, merkle_stored_count(n));
	CHECK_EQ(s.size, n);
}

static void
test_layout(void)
{
	static const uint64_t idx0[] = { 0, 1, 3, 4, 7, 8, 10, 11, 15, 16, 18, 19, 22, 23, 25, 26, 31 };

	for (uint64_t n = 0; n < sizeof idx0 / sizeof idx0[0]; n++) {
		CHECK_EQ(merkle_stored_index(0, n), idx0[n]);
		CHECK_EQ(merkle_stored_count(n), idx0[n]);
	}
	/* Higher levels: each right after the hash that completes it. */
	CHECK_EQ(merkle_stored_index(1, 0), 2);
	CHECK_EQ(merkle_stored_index(1, 1), 5);
	CHECK_EQ(merkle_stored_index(2, 0), 6);
	CHECK_EQ(merkle_stored_index(1, 2), 9);
	CHECK_EQ(merkle_stored_index(1, 3), 12);
	CHECK_EQ(merkle_stored_index(2, 1), 13);
	CHECK_EQ(merkle_stored_index(3, 0), 14);
	/* Go's StoredHashCount(n) = StoredHashIndex(0, n-1) + 1 + trailing ones of n-1. */
	for (uint64_t n = 1; n < 5000; n++) {
		uint64_t c = merkle_stored_index(0, n - 1) + 1;
		for (uint64_t x = n - 1; x & 1; x >>= 1)
			c++;
		if (merkle_stored_count(n) != c)
			CHECK_EQ(merkle_stored_count(n), c);
	}
	CHECK_EQ(merkle_stored_count((uint64_t)1 << 40), ((uint64_t)1 << 41) - 1);
}

static void
test_known_answers(void)
{
	uint8_t leaves[8][32], want[32], got[32], proof[MERKLE_MAX_HEIGHT][32];
	uint8_t data[16];
	mem_store m;
	merkle_reader r = { mem_read, &m, NULL };
	merkle_stream s;
	size_t len;

	for (int i = 0; i < 8; i++) {
		size_t dl = strlen(kat_leaves_hex[i]) / 2;
		REQUIRE(hash_unhex(kat_leaves_hex[i], 2 * dl, data, dl) == 0);
		merkle_leaf_hash(data, dl, leaves[i]);
		unhex32(kat_level0[i], want);
		CHECK_MEM(leaves[i], want, 32);
	}

	merkle_empty_root(got);
	unhex32(kat_roots[0], want);
	CHECK_MEM(got, want, 32);

	/* Every prefix: naive, streaming and stored roots agree with Go's. */
	build_store((const uint8_t (*)[32])leaves, 8, &m);
	merkle_stream_init(&s);
	for (uint64_t n = 0; n <= 8; n++) {
		unhex32(kat_roots[n], want);
		merkle_root_naive((const uint8_t (*)[32])leaves, n, got);
		CHECK_MEM(got, want, 32);
		merkle_stream_root(&s, got);
		CHECK_MEM(got, want, 32);
		CHECK_OK(merkle_tree_hash(n, &r, got));
		CHECK_MEM(got, want, 32);
		if (n < 8)
			merkle_stream_push(&s, leaves[n], NULL);
	}
	unhex32("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328", want);
	CHECK_MEM(got, want, 32);

	/* Stored layout holds Go's node hashes where Go's tlog puts them. */
	for (uint64_t j = 0; j < 8; j++) {
		unhex32(kat_level0[j], want);
		CHECK_MEM(m.h[merkle_stored_index(0, j)], want, 32);
	}
	for (uint64_t j = 0; j < 4; j++) {
		unhex32(kat_level1[j], want);
		CHECK_MEM(m.h[merkle_stored_index(1, j)], want, 32);
	}
	for (uint64_t j = 0; j < 2; j++) {
		unhex32(kat_level2[j], want);
		CHECK_MEM(m.h[merkle_stored_index(2, j)], want, 32);
	}
	unhex32(kat_roots[8], want);
	CHECK_MEM(m.h[merkle_stored_index(3, 0)], want, 32);

	/* Known inclusion proofs: generated byte for byte, and verified. */
	for (size_t t = 0; t < sizeof kat_incl / sizeof kat_incl[0]; t++) {
		uint8_t root[32];
		unhex32(kat_roots[kat_incl[t].n], root);
		CHECK_OK(merkle_prove_inclusion(kat_incl[t].i, kat_incl[t].n, &r, proof,
		    MERKLE_MAX_HEIGHT, &len));
		CHECK_EQ(len, kat_incl[t].len);
		for (size_t k = 0; k < kat_incl[t].len && k < len; k++) {
			unhex32(kat_incl[t].proof[k], want);
			CHECK_MEM(proof[k], want, 32);
		}
		CHECK_EQ(merkle_verify_inclusion(kat_incl[t].i, kat_incl[t].n, leaves[kat_incl[t].i],
		    (const uint8_t (*)[32])proof, len, root), 0);
		/* Go's corruptInclusionProof probes for the known vectors. */
		if (len > 0) {
			uint64_t i = kat_incl[t].i, n = kat_incl[t].n;
			const uint8_t (*p)[32] = (const uint8_t (*)[32])proof;
			if (i > 0)
				CHECK_EQ(merkle_verify_inclusion(i - 1, n, leaves[i], p, len, root), EVC_EPROOF);
			CHECK_EQ(merkle_verify_inclusion(i + 1, n, leaves[i], p, len, root), EVC_EPROOF);
			CHECK_EQ(merkle_verify_inclusion(i ^ 2, n, leaves[i], p, len, root), EVC_EPROOF);
			CHECK_EQ(merkle_verify_inclusion(i, n * 2, leaves[i], p, len, root), EVC_EPROOF);
			CHECK_EQ(merkle_verify_inclusion(i, n / 2, leaves[i], p, len, root), EVC_EPROOF);
		}
	}

	/* Known consistency proofs. */
	for (size_t t = 0; t < sizeof kat_cons / sizeof kat_cons[0]; t++) {
		uint8_t r1[32], r2[32];
		unhex32(kat_roots[kat_cons[t].m], r1);
		unhex32(kat_roots[kat_cons[t].n], r2);
		CHECK_OK(merkle_prove_consistency(kat_cons[t].m, kat_cons[t].n, &r, proof,
		    MERKLE_MAX_HEIGHT, &len));
		CHECK_EQ(len, kat_cons[t].len);
		for (size_t k = 0; k < kat_cons[t].len && k < len; k++) {
			unhex32(kat_cons[t].proof[k], want);
			CHECK_MEM(proof[k], want, 32);
		}
		CHECK_EQ(merkle_verify_consistency(kat_cons[t].m, kat_cons[t].n, r1, r2,
		    (const uint8_t (*)[32])proof, len), 0);
		if (len > 0) {
			uint64_t a = kat_cons[t].m, b = kat_cons[t].n;
			const uint8_t (*p)[32] = (const uint8_t (*)[32])proof;
			CHECK_EQ(merkle_verify_consistency(a - 1, b, r1, r2, p, len), EVC_EPROOF);
			CHECK_EQ(merkle_verify_consistency(a + 1, b, r1, r2, p, len), EVC_EPROOF);
			CHECK_EQ(merkle_verify_consistency(a ^ 2, b, r1, r2, p, len), EVC_EPROOF);
			CHECK_EQ(merkle_verify_consistency(a, b * 2, r1, r2, p, len), EVC_EPROOF);
			CHECK_EQ(merkle_verify_consistency(a, b / 2, r1, r2, p, len), EVC_EPROOF);
			CHECK_EQ(merkle_verify_consistency(a, b, r2, r1, p, len), EVC_EPROOF);
			CHECK_EQ(merkle_verify_consistency(a, b, r1, r2, p, 0), EVC_EPROOF);
		}
	}

	/* The (5, 8) inclusion and (1, 8) consistency vectors above are also
	 * transparency-dev/merkle testdata/inclusion/2/happy-path.json and
	 * testdata/consistency/1/happy-path.json (there in base64). */
	free(m.h);
}

/* ---- every tree up to 64 leaves ----------------------------------------- */

#define NMAX 64

static void
flip(uint8_t (*p)[32], size_t k, unsigned bit)
{
	p[k][bit / 8 % 32] ^= (uint8_t)(1u << (bit % 8));
}

static void
test_exhaustive(void)
{
	uint8_t leaves[NMAX + 1][32], roots[NMAX + 2][32], got[32];
	uint8_t proof[MERKLE_MAX_HEIGHT + 2][32], tmp[MERKLE_MAX_HEIGHT + 2][32];
	const uint8_t (*cp)[32] = (const uint8_t (*)[32])proof;
	const uint8_t (*ct)[32] = (const uint8_t (*)[32])tmp;
	mem_store m;
	merkle_reader r = { mem_read, &m, NULL };
	merkle_stream s, s2;
	size_t len;
	unsigned bad = 0; /* failures counted locally to keep the output short */
	unsigned long cases = 0;

	memset(proof, 0, sizeof proof);
	memset(tmp, 0, sizeof tmp);
	for (uint32_t i = 0; i <= NMAX; i++) {
		uint8_t d[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
		merkle_leaf_hash(d, sizeof d, leaves[i]);
	}
	for (uint64_t n = 0; n <= NMAX + 1; n++)
		merkle_root_naive((const uint8_t (*)[32])leaves, n <= NMAX ? n : NMAX + 1, roots[n]);
	build_store((const uint8_t (*)[32])leaves, NMAX, &m);

	/* Every complete subtree is stored where merkle_stored_index says. */
	for (unsigned l = 0; ((uint64_t)1 << l) <= NMAX; l++) {
		for (uint64_t j = 0; (j + 1) << l <= NMAX; j++) {
			merkle_root_naive((const uint8_t (*)[32])leaves + (j << l), (uint64_t)1 << l, got);
			if (memcmp(m.h[merkle_stored_index(l, j)], got, 32) != 0) {
				CHECK_MEM(m.h[merkle_stored_index(l, j)], got, 32);
				bad++;
			}
		}
	}

	for (uint64_t n = 0; n <= NMAX; n++) {
		/* Root from stored hashes; stream state loaded from them. */
		reset(&m);
		CHECK_OK(merkle_tree_hash(n, &r, got));
		CHECK_MEM(got, roots[n], 32);
		CHECK(m.calls <= 1);
		CHECK_OK(merkle_stream_load(&s, n, &r));
		CHECK_EQ(s.size, n);
		merkle_stream_root(&s, got);
		CHECK_MEM(got, roots[n], 32);
		/* A loaded stream continues exactly like the original one. */
		if (n < NMAX) {
			uint8_t st[MERKLE_MAX_HEIGHT + 1][32];
			unsigned c = merkle_stream_push(&s, leaves[n], st);
			for (unsigned k = 0; k < c; k++)
				CHECK_MEM(st[k], m.h[merkle_stored_index(0, n) + k], 32);
			merkle_stream_root(&s, got);
			CHECK_MEM(got, roots[n + 1], 32);
		}

		for (uint64_t i = 0; i < n; i++) {
			cases++;
			reset(&m);
			if (merkle_prove_inclusion(i, n, &r, proof, MERKLE_MAX_HEIGHT, &len) != 0) {
				CHECK_(0, "prove_inclusion(%" PRIu64 ", %" PRIu64 ")", i, n);
				bad++;
				continue;
			}
			if (len > ceil_log2(n))
				bad++;
			if (m.calls > 1 || m.reads > 2 * (size_t)ceil_log2(n) + 1) {
				CHECK_(0, "inclusion(%" PRIu64 ", %" PRIu64 "): %u calls, %zu reads", i, n,
				    m.calls, m.reads);
				bad++;
			}
			if (merkle_verify_inclusion(i, n, leaves[i], cp, len, roots[n]) != 0) {
				CHECK_(0, "verify_inclusion(%" PRIu64 ", %" PRIu64 ")", i, n);
				bad++;
			}
			/* Negative cases; each must be EVC_EPROOF. */
#define NEG(expr)                                                                    \
	do {                                                                             \
		int rc_ = (expr);                                                        \
		if (rc_ != EVC_EPROOF) {                                                 \
			CHECK_(0, "%s = %d for (%" PRIu64 ", %" PRIu64 ")", #expr, rc_, i, n); \
			bad++;                                                           \
		}                                                                        \
	} while (0)
			for (size_t k = 0; k < len; k++) {
				memcpy(tmp, proof, len * 32);
				flip(tmp, k, (unsigned)(i * 7 + k * 13));
				NEG(merkle_verify_inclusion(i, n, leaves[i], ct, len, roots[n]));
			}
			if (i + 1 < n)
				NEG(merkle_verify_inclusion(i + 1, n, leaves[i], cp, len, roots[n]));
			if (i > 0)
				NEG(merkle_verify_inclusion(i - 1, n, leaves[i], cp, len, roots[n]));
			NEG(merkle_verify_inclusion(n, n, leaves[i], cp, len, roots[n]));
			NEG(merkle_verify_inclusion(i, n, leaves[i + 1], cp, len, roots[n]));
			/* Wrong size, with the root of that size. */
			NEG(merkle_verify_inclusion(i, n + 1, leaves[i], cp, len, roots[n + 1]));
			if (n - 1 > i)
				NEG(merkle_verify_inclusion(i, n - 1, leaves[i], cp, len, roots[n - 1]));
			NEG(merkle_verify_inclusion(i, n * 2, leaves[i], cp, len, roots[n]));
			NEG(merkle_verify_inclusion(i, 0, leaves[i], cp, len, roots[n]));
			/* Wrong root. */
			memcpy(got, roots[n], 32);
			got[31] ^= 1;
			NEG(merkle_verify_inclusion(i, n, leaves[i], cp, len, got));
			NEG(merkle_verify_inclusion(i, n, leaves[i], cp, len, roots[n - 1]));
			/* Truncated, extended, prefixed proofs. */
			if (len > 0)
				NEG(merkle_verify_inclusion(i, n, leaves[i], cp, len - 1, roots[n]));
			memcpy(tmp, proof, len * 32);
			memset(tmp[len], 0, 32);
			NEG(merkle_verify_inclusion(i, n, leaves[i], ct, len + 1, roots[n]));
			memcpy(tmp[len], roots[n], 32);
			NEG(merkle_verify_inclusion(i, n, leaves[i], ct, len + 1, roots[n]));
			memcpy(tmp[0], roots[n], 32);
			memcpy(tmp + 1, proof, len * 32);
			NEG(merkle_verify_inclusion(i, n, leaves[i], ct, len + 1, roots[n]));
#undef NEG
		}
	}

	for (uint64_t n = 1; n <= NMAX; n++) {
		for (uint64_t mm = 1; mm <= n; mm++) {
			const uint64_t i = mm; /* for NEG's message */
			cases++;
			reset(&m);
			if (merkle_prove_consistency(mm, n, &r, proof, MERKLE_MAX_HEIGHT, &len) != 0) {
				CHECK_(0, "prove_consistency(%" PRIu64 ", %" PRIu64 ")", mm, n);
				bad++;
				continue;
			}
			if (m.calls > 1 || m.reads > 2 * (size_t)ceil_log2(n) + 2) {
				CHECK_(0, "consistency(%" PRIu64 ", %" PRIu64 "): %u calls, %zu reads", mm, n,
				    m.calls, m.reads);
				bad++;
			}
			if (mm == n && len != 0) {
				CHECK_(0, "consistency(%" PRIu64 ", %" PRIu64 ") not empty", mm, n);
				bad++;
			}
			if (merkle_verify_consistency(mm, n, roots[mm], roots[n], cp, len) != 0) {
				CHECK_(0, "verify_consistency(%" PRIu64 ", %" PRIu64 ")", mm, n);
				bad++;
			}
			/* Size 0 is consistent with everything, with an empty proof. */
			if (merkle_verify_consistency(0, n, roots[0], roots[n], cp, 0) != 0)
				bad++;
#define NEG(expr)                                                                    \
	do {                                                                             \
		int rc_ = (expr);                                                        \
		if (rc_ != EVC_EPROOF) {                                                 \
			CHECK_(0, "%s = %d for (%" PRIu64 ", %" PRIu64 ")", #expr, rc_, i, n); \
			bad++;                                                           \
		}                                                                        \
	} while (0)
			NEG(merkle_verify_consistency(n + 1, n, roots[mm], roots[n], cp, len));
			NEG(merkle_verify_consistency(0, n, roots[0], roots[n], cp, len + 1));
			if (mm == n) {
				memcpy(got, roots[n], 32);
				got[0] ^= 0x80;
				NEG(merkle_verify_consistency(mm, n, roots[mm], got, cp, 0));
				memcpy(tmp[0], roots[n], 32);
				NEG(merkle_verify_consistency(mm, n, roots[mm], roots[n], ct, 1));
				continue;
			}
			for (size_t k = 0; k < len; k++) {
				memcpy(tmp, proof, len * 32);
				flip(tmp, k, (unsigned)(mm * 5 + k * 11));
				NEG(merkle_verify_consistency(mm, n, roots[mm], roots[n], ct, len));
			}
			NEG(merkle_verify_consistency(mm, n, roots[mm], roots[n], cp, 0));
			NEG(merkle_verify_consistency(mm, n, roots[mm], roots[n], cp, len - 1));
			NEG(merkle_verify_consistency(mm, n, roots[n], roots[mm], cp, len));
			memcpy(got, roots[mm], 32);
			got[5] ^= 4;
			NEG(merkle_verify_consistency(mm, n, got, roots[n], cp, len));
			memcpy(got, roots[n], 32);
			got[5] ^= 4;
			NEG(merkle_verify_consistency(mm, n, roots[mm], got, cp, len));
			/* Wrong sizes, with the roots of those sizes. */
			if (mm > 1)
				NEG(merkle_verify_consistency(mm - 1, n, roots[mm - 1], roots[n], cp, len));
			if (mm + 1 < n)
				NEG(merkle_verify_consistency(mm + 1, n, roots[mm + 1], roots[n], cp, len));
			NEG(merkle_verify_consistency(mm, n + 1, roots[mm], roots[n + 1], cp, len));
			if (n - 1 > mm)
				NEG(merkle_verify_consistency(mm, n - 1, roots[mm], roots[n - 1], cp, len));
			/* Extended and prefixed proofs. */
			memcpy(tmp, proof, len * 32);
			memset(tmp[len], 0, 32);
			NEG(merkle_verify_consistency(mm, n, roots[mm], roots[n], ct, len + 1));
			memcpy(tmp[len], roots[n], 32);
			NEG(merkle_verify_consistency(mm, n, roots[mm], roots[n], ct, len + 1));
			memcpy(tmp[0], proof[0], 32);
			memcpy(tmp + 1, proof, len * 32);
			NEG(merkle_verify_consistency(mm, n, roots[mm], roots[n], ct, len + 1));
			memcpy(tmp[0], roots[mm], 32);
			NEG(merkle_verify_consistency(mm, n, roots[mm], roots[n], ct, len + 1));
#undef NEG
		}
	}
	CHECK_EQ(bad, 0);
	printf("exhaustive: %lu (i, n) and (m, n) cases up to %d leaves\n", cases, NMAX);

	/* Pushing the same leaves onto a fresh stream: same state as loaded. */
	merkle_stream_init(&s2);
	for (int i = 0; i < NMAX; i++)
		merkle_stream_push(&s2, leaves[i], NULL);
	CHECK_OK(merkle_stream_load(&s, NMAX, &r));
	CHECK_EQ(s.depth, s2.depth);
	CHECK_MEM(s.stack, s2.stack, s.depth * 32);
	free(m.h);
}

/* Larger trees, sampled: stored proofs against the recursive reference. */
static void
test_sampled(void)
{
	enum { N = 3000 };
	uint8_t (*leaves)[32] = calloc(N, 32);
	uint8_t proof[MERKLE_MAX_HEIGHT][32], r1[32], r2[32];
	mem_store m;
	merkle_reader r = { mem_read, &m, NULL };
	size_t len;
	unsigned bad = 0;
	uint64_t x = 0x9e3779b97f4a7c15u;

	REQUIRE(leaves != NULL);
	for (uint32_t i = 0; i < N; i++)
		hash_sha256(&i, sizeof i, leaves[i]);
	build_store((const uint8_t (*)[32])leaves, N, &m);
	for (int t = 0; t < 300; t++) {
		uint64_t n, a, i;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = 1 + x % N;
		a = 1 + (x >> 20) % n;
		i = (x >> 40) % n;
		merkle_root_naive((const uint8_t (*)[32])leaves, n, r2);
		merkle_root_naive((const uint8_t (*)[32])leaves, a, r1);
		if (merkle_prove_inclusion(i, n, &r, proof, MERKLE_MAX_HEIGHT, &len) != 0 ||
		    merkle_verify_inclusion(i, n, leaves[i], (const uint8_t (*)[32])proof, len, r2) != 0)
			bad++;
		if (merkle_prove_consistency(a, n, &r, proof, MERKLE_MAX_HEIGHT, &len) != 0 ||
		    merkle_verify_consistency(a, n, r1, r2, (const uint8_t (*)[32])proof, len) != 0)
			bad++;
		if (merkle_tree_hash(n, &r, r1) != 0 || memcmp(r1, r2, 32) != 0)
			bad++;
	}
	CHECK_EQ(bad, 0);
	free(m.h);
	free(leaves);
}

/* Huge virtual trees: shape and cost only (the hashes are made up). */
static void
test_cost(void)
{
	uint8_t proof[MERKLE_MAX_HEIGHT + 1][32], out[32];
	mem_store m = { 0 };
	merkle_reader r = { fake_read, &m, NULL };
	merkle_stream s;
	size_t len;
	static const uint64_t sizes[] = {
		1, 2, 3, 1000, 1023, 1024, 1025, (uint64_t)1 << 40, ((uint64_t)1 << 40) + 12345,
		((uint64_t)1 << 62) - 1, (uint64_t)1 << 62, UINT64_MAX / 2, UINT64_MAX - 1,
	};

	for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
		uint64_t n = sizes[t];
		uint64_t probes[] = { 0, n / 3, n / 2, n - 1 };
		for (size_t p = 0; p < 4; p++) {
			uint64_t i = probes[p];
			reset(&m);
			CHECK_OK(merkle_prove_inclusion(i, n, &r, proof, MERKLE_MAX_HEIGHT, &len));
			CHECK(len <= ceil_log2(n));
			CHECK(m.calls <= 1);
			CHECK(m.reads <= 2 * (size_t)ceil_log2(n) + 1);
			if (i == 0)
				continue;
			reset(&m);
			CHECK_OK(merkle_prove_consistency(i, n, &r, proof, MERKLE_MAX_HEIGHT + 1, &len));
			CHECK(len <= ceil_log2(n) + 1);
			CHECK(m.calls <= 1);
			CHECK(m.reads <= 2 * (size_t)ceil_log2(n) + 2);
		}
		reset(&m);
		CHECK_OK(merkle_tree_hash(n, &r, out));
		CHECK(m.calls == 1 && m.reads <= 64);
		CHECK_OK(merkle_stream_load(&s, n, &r));
		CHECK(s.size == n);
	}
}

static void
test_errors(void)
{
	uint8_t leaves[4][32], proof[8][32], out[32], want[32];
	mem_store m;
	merkle_reader r = { mem_read, &m, NULL };
	merkle_stream s;
	size_t len = 99;

	for (int i = 0; i < 4; i++)
		merkle_leaf_hash(&i, sizeof i, leaves[i]);
	build_store((const uint8_t (*)[32])leaves, 4, &m);

	CHECK_EQ(merkle_prove_inclusion(4, 4, &r, proof, 8, &len), EVC_EINVAL);
	CHECK_EQ(merkle_prove_inclusion(0, 0, &r, proof, 8, &len), EVC_EINVAL);
	CHECK_EQ(merkle_prove_inclusion(0, 4, &r, proof, 1, &len), EVC_EINVAL);
	CHECK_EQ(merkle_prove_consistency(0, 4, &r, proof, 8, &len), EVC_EINVAL);
	CHECK_EQ(merkle_prove_consistency(5, 4, &r, proof, 8, &len), EVC_EINVAL);
	CHECK_EQ(merkle_prove_consistency(1, 4, &r, proof, 1, &len), EVC_EINVAL);
	CHECK_EQ(len, 99);
	CHECK_OK(merkle_prove_consistency(4, 4, &r, proof, 0, &len));
	CHECK_EQ(len, 0);
	/* Reading past the store: the reader's error comes back. */
	CHECK_EQ(merkle_tree_hash(5, &r, out), EVC_ECORRUPT);
	CHECK_EQ(merkle_prove_inclusion(0, 8, &r, proof, 8, &len), EVC_ECORRUPT);
	m.fail = EVC_EIO;
	CHECK_EQ(merkle_tree_hash(3, &r, out), EVC_EIO);
	CHECK_EQ(merkle_prove_inclusion(1, 3, &r, proof, 8, &len), EVC_EIO);
	CHECK_EQ(merkle_prove_consistency(1, 3, &r, proof, 8, &len), EVC_EIO);
	CHECK_EQ(merkle_stream_load(&s, 3, &r), EVC_EIO);
	CHECK_EQ(s.size, 0);
	/* No reads for the empty tree or a 1-leaf proof. */
	reset(&m);
	CHECK_OK(merkle_tree_hash(0, &r, out));
	merkle_empty_root(want);
	CHECK_MEM(out, want, 32);
	CHECK_OK(merkle_prove_inclusion(0, 1, &r, proof, 0, &len));
	CHECK_EQ(len, 0);
	CHECK_EQ(m.calls, 0);
	m.fail = 0;

	/* Verifier edge cases (Go's TestVerifyConsistency table). */
	merkle_empty_root(want);
	CHECK_EQ(merkle_verify_consistency(0, 0, want, want, NULL, 0), 0);
	CHECK_EQ(merkle_verify_consistency(0, 0, want, leaves[0], NULL, 0), EVC_EPROOF);
	CHECK_EQ(merkle_verify_consistency(1, 1, leaves[0], leaves[0], NULL, 0), 0);
	CHECK_EQ(merkle_verify_consistency(1, 1, leaves[0], leaves[1], NULL, 0), EVC_EPROOF);
	CHECK_EQ(merkle_verify_consistency(1, 0, leaves[0], leaves[1], NULL, 0), EVC_EPROOF);
	CHECK_EQ(merkle_verify_consistency(2, 1, leaves[0], leaves[1], NULL, 0), EVC_EPROOF);
	CHECK_EQ(merkle_verify_consistency(1, 2, leaves[0], leaves[1], NULL, 0), EVC_EPROOF);
	CHECK_EQ(merkle_verify_consistency(0, 1, want, leaves[0], NULL, 0), 0);
	CHECK_EQ(merkle_verify_consistency(0, 0, want, want, (const uint8_t (*)[32])&want, 1), EVC_EPROOF);
	CHECK_EQ(merkle_verify_consistency(0, 1, want, want, (const uint8_t (*)[32])&want, 1), EVC_EPROOF);
	CHECK_EQ(merkle_verify_consistency(1, 1, want, want, (const uint8_t (*)[32])&want, 1), EVC_EPROOF);
	/* Go's TestVerifyInclusion: out-of-range probes with an empty proof. */
	CHECK_EQ(merkle_verify_inclusion(0, 0, leaves[0], NULL, 0, want), EVC_EPROOF);
	CHECK_EQ(merkle_verify_inclusion(1, 0, leaves[0], NULL, 0, want), EVC_EPROOF);
	CHECK_EQ(merkle_verify_inclusion(2, 1, leaves[0], NULL, 0, leaves[0]), EVC_EPROOF);
	CHECK_EQ(merkle_verify_inclusion(0, 1, leaves[0], NULL, 0, leaves[0]), 0);
	CHECK_EQ(merkle_verify_inclusion(0, 1, leaves[0], NULL, 0, leaves[1]), EVC_EPROOF);
	free(m.h);
}

/*
 * A fold memo changes no proof: one memo shared by every size and leaf (its
 * slots collide and are overwritten, and hold ranges of other sizes), each
 * proof equal to the one without it; and over the receipts of one size it
 * reads fewer hashes.
 */
static void
test_fold_memo(void)
{
	enum { N = 300 };
	uint8_t leaves[N][32], want[MERKLE_MAX_HEIGHT][32], got[MERKLE_MAX_HEIGHT][32];
	mem_store m;
	merkle_fold_memo *fm = calloc(1, sizeof(*fm));
	merkle_reader plain = { mem_read, &m, NULL }, memo = { mem_read, &m, fm };
	size_t wl, gl, bad = 0;
	unsigned long cases = 0;

	REQUIRE(fm != NULL);
	for (uint32_t i = 0; i < N; i++) {
		uint8_t d[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
		merkle_leaf_hash(d, sizeof d, leaves[i]);
	}
	build_store((const uint8_t (*)[32])leaves, N, &m);
	for (uint64_t n = 1; n <= N; n++) {
		for (uint64_t i = 0; i < n; i++) {
			cases++;
			if (merkle_prove_inclusion(i, n, &plain, want, MERKLE_MAX_HEIGHT, &wl) != 0 ||
			    merkle_prove_inclusion(i, n, &memo, got, MERKLE_MAX_HEIGHT, &gl) != 0 ||
			    wl != gl || memcmp(want, got, 32 * wl) != 0) {
				if (bad++ < 3)
					CHECK_(0, "proof of leaf %llu in a tree of %llu differs with the fold memo",
					    (unsigned long long)i, (unsigned long long)n);
			}
		}
	}
	CHECK_EQ(bad, 0);
	printf("# fold memo: %lu proofs compared\n", cases);

	/* The receipts of one commit: the last 256 leaves of a 299-leaf tree. */
	size_t without, with;
	reset(&m);
	for (uint64_t i = 43; i < 299; i++)
		CHECK_OK(merkle_prove_inclusion(i, 299, &plain, want, MERKLE_MAX_HEIGHT, &wl));
	without = m.reads;
	memset(fm, 0, sizeof(*fm));
	reset(&m);
	for (uint64_t i = 43; i < 299; i++)
		CHECK_OK(merkle_prove_inclusion(i, 299, &memo, got, MERKLE_MAX_HEIGHT, &gl));
	with = m.reads;
	printf("# hashes read for 256 proofs: %zu without the fold memo, %zu with\n", without, with);
	CHECK(with < without);
	free(fm);
	free(m.h);
}

int
main(void)
{
	test_layout();
	test_known_answers();
	test_exhaustive();
	test_fold_memo();
	test_sampled();
	test_cost();
	test_errors();
	CHECK_DONE("test_merkle");
}
