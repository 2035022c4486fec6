/*
 * merkle.h — RFC 6962 Merkle trees over SHA-256 (RFC 9162 §2.1 verifiers).
 *
 *   leaf hash  = SHA-256(0x00 || data)
 *   node hash  = SHA-256(0x01 || left || right)
 *   empty root = SHA-256("")  (not Go sumdb/tlog's all-zero value)
 *
 * Stored hashes. A log keeps the hash of every complete subtree. They are laid
 * out as in Go's golang.org/x/mod/sumdb/tlog: the hashes that leaf n completes
 * (its leaf hash at level 0, then the level-1.. subtrees it closes) are stored
 * contiguously at merkle_stored_index(0, n), merkle_stored_index(0, n) + 1, …,
 * so the index only grows as the log grows (LMDB MDB_APPEND), and
 * merkle_stored_count(n) hashes describe a tree of n leaves (about 2n).
 * Tree hashes and proofs then cost O(log n) stored-hash reads, through a
 * caller-supplied reader.
 */
#ifndef EVC_MERKLE_H
#define EVC_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_MAX_HEIGHT 64

void merkle_leaf_hash(const void *data, size_t len, uint8_t out[32]);
void merkle_node_hash(const uint8_t left[32], const uint8_t right[32], uint8_t out[32]);
void merkle_empty_root(uint8_t out[32]);

/* Index of the stored hash of the level-`level` subtree number n (covering
 * leaves [n << level, (n + 1) << level)). */
uint64_t merkle_stored_index(unsigned level, uint64_t n);

/* Number of stored hashes for a tree of n leaves. */
uint64_t merkle_stored_count(uint64_t n);

/*
 * Reader of stored hashes: fill out[k] with the stored hash at indexes[k] for
 * k < n. Return 0, or a negative EVC_E* code that the caller passes on.
 */
typedef int (*merkle_read_fn)(void *ctx, const uint64_t *indexes, size_t n, uint8_t (*out)[32]);

/*
 * Hashes of ranges that are no stored subtree (the right edge [lo, n) of a
 * tree), folded once and kept for the proofs that follow: the receipts of
 * one commit all prove to the same size, and leaves of one subtree share
 * its right-edge siblings. Zero it before use; direct-mapped, a miss is
 * only recomputed. Valid for one ledger (ranges of one log never change).
 */
#define MERKLE_FOLD_BITS 6
#define MERKLE_FOLD_SLOTS (1u << MERKLE_FOLD_BITS)
typedef struct merkle_fold_memo {
	uint64_t lo[MERKLE_FOLD_SLOTS], hi[MERKLE_FOLD_SLOTS]; /* hi == 0: empty */
	uint8_t h[MERKLE_FOLD_SLOTS][32];
} merkle_fold_memo;

typedef struct merkle_reader {
	merkle_read_fn read;
	void *ctx;
	merkle_fold_memo *fold;      /* or NULL */
} merkle_reader;

/* Root of the tree of the first n leaves. 0, or the reader's error. */
int merkle_tree_hash(uint64_t n, const merkle_reader *r, uint8_t out[32]);

/*
 * Inclusion proof for leaf i in the tree of size n (i < n), leaf sibling
 * first, into proof[0..cap). *len receives the number of hashes.
 * 0; EVC_EINVAL (i >= n, cap too small); or the reader's error.
 */
int merkle_prove_inclusion(uint64_t i, uint64_t n, const merkle_reader *r,
    uint8_t (*proof)[32], size_t cap, size_t *len);

/* Consistency proof from size m to size n (0 < m <= n), RFC 6962 §2.1.2. */
int merkle_prove_consistency(uint64_t m, uint64_t n, const merkle_reader *r,
    uint8_t (*proof)[32], size_t cap, size_t *len);

/* 0 if proof shows leaf hash `leaf` at index i in the tree (n, root);
 * EVC_EPROOF otherwise (including a proof of the wrong length). */
int merkle_verify_inclusion(uint64_t i, uint64_t n, const uint8_t leaf[32],
    const uint8_t (*proof)[32], size_t len, const uint8_t root[32]);

/* 0 if proof shows tree (m, oldroot) is a prefix of (n, newroot); m == n needs
 * an empty proof and equal roots; m == 0 needs an empty proof. EVC_EPROOF
 * otherwise. */
int merkle_verify_consistency(uint64_t m, uint64_t n, const uint8_t oldroot[32],
    const uint8_t newroot[32], const uint8_t (*proof)[32], size_t len);

/*
 * Streaming builder (a compact range [0, size)): push leaf hashes in order;
 * the root of the leaves pushed so far is available at any time. Used by the
 * ledger writer (to produce the stored hashes without reading any) and by
 * offline audits (to recompute a tree of any size in O(1) memory).
 */
typedef struct merkle_stream {
	uint64_t size;
	uint8_t stack[MERKLE_MAX_HEIGHT][32]; /* complete subtrees, largest first */
	unsigned depth;
} merkle_stream;

void merkle_stream_init(merkle_stream *s);

/* Load the state for a tree of n leaves from stored hashes. */
int merkle_stream_load(merkle_stream *s, uint64_t n, const merkle_reader *r);

/*
 * Push the next leaf hash. If stored is not NULL it receives the hashes this
 * leaf completes, in stored order (leaf first, then the higher levels):
 * exactly the hashes to write at merkle_stored_index(0, old size), +1, ….
 * Returns how many (1 + the number of trailing 1 bits of the old size).
 */
unsigned merkle_stream_push(merkle_stream *s, const uint8_t leaf[32],
    uint8_t (*stored)[32]);

/* Root of the leaves pushed so far (the empty root for none). */
void merkle_stream_root(const merkle_stream *s, uint8_t out[32]);

/* Reference implementation (tests): root of leaf hashes[0..n) by recursion. */
void merkle_root_naive(const uint8_t (*leaves)[32], uint64_t n, uint8_t out[32]);

#endif
