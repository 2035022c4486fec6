/*
 * ledger.h — the LMDB store of the log.
 *
 * Two LMDB environments. The ledger, in the data directory, written by
 * every commit:
 *   entries      index (u64) → exact entry bytes (proto Entry)          MDB_APPEND
 *   hashes       stored-hash index (merkle.h layout) → 32 bytes          MDB_APPEND
 *   checkpoints  tree size → log time (8, BE ms) || signed note (log signature only)
 *   cosigs       tree size → cosignature lines (dup-sorted), one per witness
 *   records      signer \0 record_id → index (8) || SHA-256(record) (32): dedup
 *   meta         "format", "origin"
 * and the secondary index, in <data>/index, derived from the entries and
 * written behind the commits by an indexer thread (see "The index" below):
 *   leaves       generation (4, BE) || leaf hash → index
 *   attrs        attribute byte || generation (4, BE) || value → indexes (dup-sorted u64)
 *   meta         "indexed" (8, BE: entries covered), "tip" (leaf hash of the
 *                last covered entry: binds the index to this ledger)
 * A generation is 65,536 consecutive entries: new keys land in the current
 * generation's few pages, not all over a tree that grows with the log.
 *
 * Concurrency: exactly one thread appends (ledger_append and
 * ledger_add_cosignature are serialised by an internal mutex anyway); any
 * number of threads read through ledger_read_begin() snapshots (LMDB MVCC,
 * MDB_NOTLS). Read snapshots must be short: the map is grown (on
 * MDB_MAP_FULL the batch is aborted, the map doubled up to map_max, and the
 * batch retried) only while no snapshot is open.
 *
 * Durability: ledger_append returns only after the transaction holding the
 * whole batch, its tree hashes, dedup keys and signed checkpoint is committed
 * and fsynced (unless opts.no_sync, for tests that do not test durability).
 * A crash at any moment leaves the ledger at the last committed batch.
 *
 * The index: a commit touches only pages at the end of the append-only
 * databases (and the dedup keys), so its fsync is short. The leaf-hash and
 * attribute keys, whose pages are spread over the trees, are written by an
 * indexer thread about once per index_interval_ms, sorted, in one
 * transaction per up to 16,384 entries (fsynced data, unsynced meta page:
 * after a power loss the last index transaction may be redone, never half
 * applied). Readers see no difference: ledger_find_leaf and ledger_query
 * look up the index for the entries it covers and scan the few entries it
 * does not yet cover. The index is derived data: deleted, behind, or from
 * another ledger (its "tip" does not match), it is rebuilt in the background
 * from the entries; a backup copies only the ledger.
 */
#ifndef EVC_LEDGER_H
#define EVC_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "record.h"

typedef struct ledger ledger;
typedef struct ledger_txn ledger_txn;

typedef struct ledger_opts {
	uint64_t map_size;  /* initial map size; 0: 1 GiB */
	uint64_t map_max;   /* growth limit; 0: 1 TiB */
	int read_only;      /* open an existing ledger read-only (audits, copies) */
	int no_sync;        /* tests only: skip fsync at commit (NOT durable) */
	int no_check;       /* with read_only: skip the start-up head check, so an
	                     * audit can open a damaged ledger and find why */
	unsigned index_interval_ms; /* indexer period; 0: 1000 */
	unsigned index_gen_bits;    /* log2 entries per index generation; 0: 16
	                             * (tests use small ones to cross many) */
} ledger_opts;

#define LEDGER_NOTE_MAX 16384 /* a checkpoint with every cosignature */

/* The log's head after a commit. */
typedef struct ledger_head {
	uint64_t size;
	uint8_t root[32];
	int64_t time_ms;
	char note[LEDGER_NOTE_MAX];  /* signed checkpoint (log signature only) */
	size_t note_len;
} ledger_head;

/*
 * Open (creating the directory, mode 0700, unless read_only) the ledger in
 * `dir`. Checks the stored format, that the last checkpoint covers every
 * entry, and that the tree hashes give its root; a mismatch is EVC_ECORRUPT.
 * Errors: EVC_EIO, EVC_EDB, EVC_ECORRUPT, with a reason in err.
 */
int ledger_open(const char *dir, const ledger_opts *opts, ledger **out, char *err, size_t errcap);

/* Close. Accepts NULL. No snapshot may be open. */
void ledger_close(ledger *l);

/* Origin stored in the ledger ("" before the first append). */
const char *ledger_origin(const ledger *l);

/* Entries committed (the writer's view). */
uint64_t ledger_size(const ledger *l);

/* The latest head (size 0 and the empty root before the first append). */
int ledger_latest(ledger *l, ledger_head *head);

/* Entries covered by the secondary index (<= ledger_size). */
uint64_t ledger_indexed(const ledger *l);

/* Index runs of the indexer thread that failed (each is retried). */
uint64_t ledger_index_errors(const ledger *l);

/* Index every committed entry now, in the calling thread (tests, tools).
 * Returns 0 or an EVC_E* code (EVC_EPERM for a read-only ledger). */
int ledger_index_sync(ledger *l);

/* Current map size in bytes. */
uint64_t ledger_map_size(const ledger *l);

/* ---- append (the single writer) ---------------------------------------- */

enum {
	LEDGER_APPENDED = 0,
	LEDGER_DUPLICATE = 1,   /* same signer, record id and bytes: the existing entry */
};

typedef struct ledger_item {
	/* in: a record whose signature and validity the caller checked */
	const uint8_t *record;
	size_t record_len;
	const uint8_t *sig;     /* 64 bytes */
	const Record *rec;      /* decoded record: signer, record_id, attributes */
	/* out */
	int result;             /* LEDGER_APPENDED, LEDGER_DUPLICATE or EVC_ECONFLICT */
	uint64_t index;
	int64_t log_time_ms;
	uint8_t leaf[32];
	const uint8_t *entry;   /* LEDGER_APPENDED: the entry bytes, valid until the
	                         * next ledger_append; NULL otherwise */
	size_t entry_len;
} ledger_item;

/*
 * Append items[0..n) in one transaction: each new record becomes the next
 * entry (log time = max(now_ms, last log time)), its tree hashes and index
 * keys are stored, then one checkpoint for the new size is signed with
 * log_key (its name is the origin; the first append stores it, later ones
 * must match) and stored, and the transaction is committed durably. head
 * receives the new head (or the current one when nothing was new).
 * 0; EVC_EFULL (map at map_max: nothing written); EVC_EDB; EVC_EINVAL.
 */
int ledger_append(ledger *l, ledger_item *items, size_t n, const evc_skey *log_key,
    int64_t now_ms, ledger_head *head);

/*
 * Store a witness cosignature line ("— name base64\n", already verified by
 * the caller) for checkpoint `size`, replacing an older line by the same
 * name. Returns the number of cosignatures now stored for that size.
 */
int ledger_add_cosignature(ledger *l, uint64_t size, const char *name, const char *line, size_t len);

/* ---- read snapshots ------------------------------------------------------- */

int ledger_read_begin(ledger *l, ledger_txn **t);
void ledger_read_end(ledger_txn *t);   /* accepts NULL */

/* Remember the stored hashes this snapshot reads (about 40 KiB): for many
 * proofs to one tree, such as the receipts of a commit. */
void ledger_txn_memo(ledger_txn *t);

/* Entries visible in the snapshot. */
uint64_t ledger_txn_size(const ledger_txn *t);

/* Entry bytes; *buf valid until ledger_read_end. EVC_ENOTFOUND. */
int ledger_entry(ledger_txn *t, uint64_t index, const uint8_t **buf, size_t *len);

/* Stored hash by stored index (merkle.h layout); leaf hash of an entry. */
int ledger_stored_hash(ledger_txn *t, uint64_t sindex, uint8_t out[32]);
int ledger_leaf_hash(ledger_txn *t, uint64_t index, uint8_t out[32]);

/* Number of stored hashes. */
uint64_t ledger_stored_hash_count(ledger_txn *t);

/* Entry index of a leaf hash / of (signer, record id). EVC_ENOTFOUND. */
int ledger_find_leaf(ledger_txn *t, const uint8_t leaf[32], uint64_t *index);
int ledger_find_record(ledger_txn *t, const char *signer, const char *record_id, uint64_t *index);

/* Root of the first `size` entries (size <= snapshot size). */
int ledger_tree_hash(ledger_txn *t, uint64_t size, uint8_t out[32]);

/* Proofs (see merkle.h), from stored hashes: O(log n) reads. */
int ledger_prove_inclusion(ledger_txn *t, uint64_t index, uint64_t size,
    uint8_t (*proof)[32], size_t cap, size_t *len);
int ledger_prove_consistency(ledger_txn *t, uint64_t m, uint64_t n,
    uint8_t (*proof)[32], size_t cap, size_t *len);

/*
 * The signed checkpoint of tree size `size` (0: the latest) with every
 * cosignature stored for it, as one signed note into buf (cap). *size_out
 * and *time_ms (may be NULL) receive its size and log time.
 * EVC_ENOTFOUND (no checkpoint of that size), EVC_ETOOLARGE.
 */
int ledger_checkpoint(ledger_txn *t, uint64_t size, char *buf, size_t cap, size_t *len,
    uint64_t *size_out, int64_t *time_ms);

/* Iterate stored checkpoints: the first with size > after. EVC_ENOTFOUND at the end.
 * *note (log signature only) is valid until ledger_read_end. */
int ledger_next_checkpoint(ledger_txn *t, uint64_t after, uint64_t *size,
    const char **note, size_t *len, int64_t *time_ms);

/*
 * Query the secondary index: entries whose attribute `attr` equals
 * val[0..len), with index >= start and < the snapshot size, ascending, at
 * most cap into out. *n receives the count, *next the index to resume from
 * (0 when there are no more).
 */
int ledger_query(ledger_txn *t, int attr, const void *val, size_t len, uint64_t start,
    uint64_t *out, size_t cap, size_t *n, uint64_t *next);

/* First entry index whose log time is >= t_ms (the snapshot size if none):
 * binary search, O(log n) entry reads. */
int ledger_first_at_time(ledger_txn *t, int64_t t_ms, uint64_t *index);

/* Log time of entry bytes without a full decode (field 2 of Entry).
 * EVC_EINVAL if absent or malformed. */
int ledger_entry_time(const uint8_t *entry, size_t len, int64_t *t_ms);

/* Hot backup: a compacted copy of the environment into the empty or new
 * directory `dest` while the ledger serves. */
int ledger_backup(ledger *l, const char *dest, char *err, size_t errcap);

#endif
