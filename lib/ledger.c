/* ledger.c — the LMDB store of the log (see ledger.h). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lmdb.h>

#include "evc.h"
#include "hash.h"
#include "ledger.h"
#include "merkle.h"
#include "note.h"
#include "pb.h"

_Static_assert(sizeof(size_t) == 8, "LMDB integer keys are size_t: 64-bit only");

#define LEDGER_FORMAT "evchain-ledger-v2"
#define INDEX_FORMAT "evchain-index-v1"
#define DEFAULT_MAP (1ull << 30)
#define DEFAULT_MAP_MAX (1ull << 40)
#define RID_MAX (EVC_MAX_KEY_NAME + 1 + RECORD_MAX_ID)
#define ATTR_KEY_MAX 511 /* LMDB's default maximum key size */
#define GEN_BITS 14           /* default entries per index generation: 16,384 */
#define INDEX_BATCH 16384     /* entries per index transaction */
#define INDEX_INTERVAL_MS 1000
#define XMAP_DEFAULT (64ull << 20)

struct ledger {
	MDB_env *env;
	MDB_dbi entries, hashes, cps, cosigs, records, meta;
	int read_only, no_sync, no_check;
	uint64_t map_size, map_max;
	pthread_rwlock_t resize;     /* readers: snapshots; writer: map growth */
	pthread_mutex_t wlock;       /* one writer at a time */
	/* Writer state, as of the last commit. */
	uint64_t size;
	merkle_stream stream;
	uint8_t last_leaf[32];
	int64_t last_time;
	char origin[CHECKPOINT_MAX_ORIGIN + 1];
	/* Writer scratch. */
	uint8_t *ebuf;
	size_t ebuf_cap;
	/* The secondary index (ledger.h "The index"); xenv NULL: none, every
	 * lookup scans. */
	MDB_env *xenv;
	MDB_dbi xleaves, xattrs, xmeta;
	uint64_t xmap_size;
	uint64_t indexed;            /* entries the index covers (atomic) */
	uint64_t index_errors;       /* failed index runs (atomic) */
	unsigned interval_ms;
	unsigned gen_bits;
	pthread_mutex_t xrun;        /* one index run at a time; guards xr */
	struct xrun *xr;             /* the run's buffers, kept while there is work */
	pthread_mutex_t xmu;         /* guards xstop, with xcv */
	pthread_cond_t xcv;
	int xstop, indexer_on;
	pthread_t indexer;
};

struct ledger_txn {
	ledger *l;
	MDB_txn *txn;
	uint64_t size;
	MDB_txn *xtxn;               /* index snapshot, opened on first use */
	int xopen;
	uint64_t xcover;             /* entries of this snapshot the index covers */
	struct hash_memo *memo;      /* ledger_txn_memo */
};

static int index_open(ledger *l, const char *dir, char *err, size_t errcap);
static int index_start(ledger *l);
static void index_stop(ledger *l);
static void xrun_free(ledger *l);

__attribute__((format(printf, 3, 4))) static void
seterr(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	if (vsnprintf(err, cap, fmt, ap) < 0)
		err[0] = '\0';
	va_end(ap);
}

static int
dberr(int rc)
{
	if (rc == MDB_NOTFOUND)
		return EVC_ENOTFOUND;
	if (rc == MDB_MAP_FULL)
		return EVC_EFULL;
	if (rc == ENOMEM)
		return EVC_ENOMEM;
	return EVC_EDB;
}

static MDB_val
u64val(size_t *k)
{
	MDB_val v = { sizeof(*k), k };
	return v;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* ---- stored-hash reader over one LMDB transaction ------------------------- */

/* A direct-mapped memo of stored hashes read in one snapshot: the proofs of
 * neighbouring leaves to one tree share most of their hashes. */
#define MEMO_SLOTS 1024
struct hash_memo {
	uint64_t key[MEMO_SLOTS];    /* stored index + 1; 0: empty */
	uint8_t h[MEMO_SLOTS][32];
	merkle_fold_memo fold;       /* right-edge ranges folded for proofs */
};

struct hash_reader_ctx {
	MDB_txn *txn;
	MDB_dbi dbi;
	struct hash_memo *memo;      /* or NULL */
};

static int
read_hashes(void *vctx, const uint64_t *indexes, size_t n, uint8_t (*out)[32])
{
	struct hash_reader_ctx *c = vctx;

	for (size_t i = 0; i < n; i++) {
		size_t k = indexes[i], slot = (k * 0x9E3779B97F4A7C15ull) >> 54;
		if (c->memo != NULL && c->memo->key[slot] == k + 1) {
			memcpy(out[i], c->memo->h[slot], 32);
			continue;
		}
		MDB_val key = u64val(&k), val;
		int rc = mdb_get(c->txn, c->dbi, &key, &val);
		if (rc != 0)
			return rc == MDB_NOTFOUND ? EVC_ECORRUPT : EVC_EDB;
		if (val.mv_size != 32)
			return EVC_ECORRUPT;
		memcpy(out[i], val.mv_data, 32);
		if (c->memo != NULL) {
			c->memo->key[slot] = k + 1;
			memcpy(c->memo->h[slot], val.mv_data, 32);
		}
	}
	return 0;
}

/* ---- open / close ------------------------------------------------------- */

static int
open_dbis(ledger *l, MDB_txn *txn)
{
	unsigned c = l->read_only ? 0 : MDB_CREATE;
	int rc;

	if ((rc = mdb_dbi_open(txn, "entries", c | MDB_INTEGERKEY, &l->entries)) ||
	    (rc = mdb_dbi_open(txn, "hashes", c | MDB_INTEGERKEY, &l->hashes)) ||
	    (rc = mdb_dbi_open(txn, "checkpoints", c | MDB_INTEGERKEY, &l->cps)) ||
	    (rc = mdb_dbi_open(txn, "cosigs", c | MDB_INTEGERKEY | MDB_DUPSORT, &l->cosigs)) ||
	    (rc = mdb_dbi_open(txn, "records", c, &l->records)) ||
	    (rc = mdb_dbi_open(txn, "meta", c, &l->meta)))
		return rc;
	return 0;
}

/*
 * Every entry against the stored tree hashes, and every checkpoint's size,
 * root and log time against the tree its entries give: the stored root of
 * each checkpoint must be the root of its entries. One sequential pass over
 * the entries (a SHA-256 of each), the hashes and the checkpoints; the
 * latest checkpoint's signature is the caller's (evchaind checks it), the
 * signatures of the others, the records and the keys are evchain-verify's.
 */
static int
check_entries(ledger *l, MDB_txn *txn, char *err, size_t errcap)
{
	MDB_cursor *ec = NULL, *hc = NULL, *cc = NULL;
	MDB_val k, v, hk, hv, ck, cv;
	merkle_stream st;
	uint8_t stored[MERKLE_MAX_HEIGHT + 1][32], leaf[32], root[32];
	uint64_t i = 0, si = 0;
	int rc, hrc, crc, ret = EVC_ECORRUPT;
	char what[256] = "";

	merkle_stream_init(&st);
	if ((rc = mdb_cursor_open(txn, l->entries, &ec)) != 0 ||
	    (rc = mdb_cursor_open(txn, l->hashes, &hc)) != 0 ||
	    (rc = mdb_cursor_open(txn, l->cps, &cc)) != 0) {
		ret = dberr(rc);
		goto out;
	}
	hrc = mdb_cursor_get(hc, &hk, &hv, MDB_FIRST);
	crc = mdb_cursor_get(cc, &ck, &cv, MDB_FIRST);
	for (rc = mdb_cursor_get(ec, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(ec, &k, &v, MDB_NEXT), i++) {
		size_t key;
		int64_t t;
		if (k.mv_size != 8) {
			snprintf(what, sizeof(what), "an entry key is not 8 bytes");
			goto out;
		}
		memcpy(&key, k.mv_data, 8);
		if (key != i) {
			snprintf(what, sizeof(what), "entry %" PRIu64 " is missing", i);
			goto out;
		}
		if (ledger_entry_time(v.mv_data, v.mv_size, &t) != 0) {
			snprintf(what, sizeof(what), "entry %" PRIu64 ": cannot read its log time", i);
			goto out;
		}
		merkle_leaf_hash(v.mv_data, v.mv_size, leaf);
		unsigned ns = merkle_stream_push(&st, leaf, stored);
		for (unsigned j = 0; j < ns; j++, si++) {
			size_t hkey = 0;
			if (hrc == 0 && hk.mv_size == 8)
				memcpy(&hkey, hk.mv_data, 8);
			if (hrc != 0 || hk.mv_size != 8 || hkey != si || hv.mv_size != 32 ||
			    memcmp(hv.mv_data, stored[j], 32) != 0) {
				snprintf(what, sizeof(what), "entry %" PRIu64 ": %s %" PRIu64 " %s", i,
				    j == 0 ? "its hash differs from stored leaf hash" :
				    "the tree hashes of its entries differ from stored hash",
				    si, hrc != 0 || hkey != si ? "(missing)" : "");
				goto out;
			}
			hrc = mdb_cursor_get(hc, &hk, &hv, MDB_NEXT);
		}
		/* The checkpoints of this size: each signs the root of the
		 * entries before it, at the log time of its last entry. */
		while (crc == 0) {
			size_t cps;
			note nt;
			checkpoint cp;
			if (ck.mv_size != 8) {
				snprintf(what, sizeof(what), "a checkpoint key is not 8 bytes");
				goto out;
			}
			memcpy(&cps, ck.mv_data, 8);
			if (cps > i + 1)
				break;
			if (cps != i + 1) {
				snprintf(what, sizeof(what), "checkpoint of size %zu is out of place", cps);
				goto out;
			}
			merkle_stream_root(&st, root);
			if (cv.mv_size < 8 ||
			    note_parse((const char *)cv.mv_data + 8, cv.mv_size - 8, &nt) != 0 ||
			    checkpoint_parse(nt.text, nt.text_len, &cp) != 0 || cp.size != i + 1 ||
			    strcmp(cp.origin, l->origin) != 0) {
				snprintf(what, sizeof(what), "entry %" PRIu64 ": its checkpoint (size %zu) "
				    "is unreadable", i, cps);
				goto out;
			}
			if (memcmp(root, cp.root, 32) != 0) {
				snprintf(what, sizeof(what), "entry %" PRIu64 ": the checkpoint of size %zu "
				    "signs a root that the entries do not give", i, cps);
				goto out;
			}
			if ((int64_t)get_be64(cv.mv_data) != t) {
				snprintf(what, sizeof(what), "entry %" PRIu64 ": the checkpoint of size %zu "
				    "has another log time than its last entry", i, cps);
				goto out;
			}
			crc = mdb_cursor_get(cc, &ck, &cv, MDB_NEXT);
		}
	}
	if (rc != MDB_NOTFOUND) {
		ret = dberr(rc);
		goto out;
	}
	if (crc == 0) {
		size_t cps = 0;
		if (ck.mv_size == 8)
			memcpy(&cps, ck.mv_data, 8);
		snprintf(what, sizeof(what), "entry %" PRIu64 " is missing: a checkpoint of size %zu "
		    "covers it", i, cps);
		goto out;
	}
	if (hrc == 0) {
		snprintf(what, sizeof(what), "entry %" PRIu64 " is missing: tree hashes exist beyond "
		    "the %" PRIu64 " entries", i, i);
		goto out;
	}
	ret = 0;
out:
	if (ret == EVC_ECORRUPT)
		seterr(err, errcap, "%s (run evchain-verify ledger on a copy to audit it)", what);
	else if (ret != 0)
		seterr(err, errcap, "LMDB: %s", mdb_strerror(rc));
	mdb_cursor_close(ec);
	mdb_cursor_close(hc);
	mdb_cursor_close(cc);
	return ret;
}

/* Load the writer state from the committed data and check it. */
static int
load_state(ledger *l, MDB_txn *txn, char *err, size_t errcap)
{
	MDB_cursor *cur;
	MDB_val key, val;
	int rc;
	char num[32], num2[32];

	/* format and origin */
	key.mv_data = "format";
	key.mv_size = 6;
	rc = mdb_get(txn, l->meta, &key, &val);
	if (rc == 0 && (val.mv_size != strlen(LEDGER_FORMAT) ||
	    memcmp(val.mv_data, LEDGER_FORMAT, val.mv_size) != 0)) {
		seterr(err, errcap, "ledger format is not %s", LEDGER_FORMAT);
		return EVC_ECORRUPT;
	}
	key.mv_data = "origin";
	key.mv_size = 6;
	rc = mdb_get(txn, l->meta, &key, &val);
	if (rc == 0) {
		if (val.mv_size > CHECKPOINT_MAX_ORIGIN)
			return EVC_ECORRUPT;
		memcpy(l->origin, val.mv_data, val.mv_size);
		l->origin[val.mv_size] = '\0';
	}

	/* size: last entry + 1 */
	if ((rc = mdb_cursor_open(txn, l->entries, &cur)) != 0)
		return dberr(rc);
	rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND) {
		l->size = 0;
		merkle_stream_init(&l->stream);
		memset(l->last_leaf, 0, 32);
		l->last_time = 0;
		return 0;
	}
	if (rc != 0)
		return dberr(rc);
	if (key.mv_size != 8)
		return EVC_ECORRUPT;
	size_t last;
	memcpy(&last, key.mv_data, 8);
	l->size = (uint64_t)last + 1;
	if (l->read_only && l->no_check)
		return 0;
	if ((rc = check_entries(l, txn, err, errcap)) != 0)
		return rc;
	if (ledger_entry_time(val.mv_data, val.mv_size, &l->last_time) != 0) {
		snprintf(num, sizeof(num), "%zu", last);
		seterr(err, errcap, "entry %s: cannot read its log time", num);
		return EVC_ECORRUPT;
	}

	struct hash_reader_ctx hc = { txn, l->hashes, NULL };
	merkle_reader rd = { read_hashes, &hc, NULL };
	uint64_t li = merkle_stored_index(0, l->size - 1);
	if ((rc = read_hashes(&hc, &li, 1, &l->last_leaf)) != 0 ||
	    (rc = merkle_stream_load(&l->stream, l->size, &rd)) != 0) {
		snprintf(num, sizeof(num), "%" PRIu64, l->size);
		seterr(err, errcap, "tree hashes for %s entries are missing or damaged", num);
		return EVC_ECORRUPT;
	}

	/* The last checkpoint must cover every entry, with the same root. */
	if ((rc = mdb_cursor_open(txn, l->cps, &cur)) != 0)
		return dberr(rc);
	rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
	mdb_cursor_close(cur);
	snprintf(num, sizeof(num), "%" PRIu64, l->size);
	if (rc != 0) {
		seterr(err, errcap, "%s entries but no checkpoint", num);
		return EVC_ECORRUPT;
	}
	size_t cps;
	memcpy(&cps, key.mv_data, 8);
	if (cps != l->size) {
		snprintf(num2, sizeof(num2), "%zu", cps);
		seterr(err, errcap, "%s entries but the last checkpoint is of size %s", num, num2);
		return EVC_ECORRUPT;
	}
	note nt;
	checkpoint cp;
	uint8_t root[32];
	if (val.mv_size < 8 ||
	    note_parse((const char *)val.mv_data + 8, val.mv_size - 8, &nt) != 0 ||
	    checkpoint_parse(nt.text, nt.text_len, &cp) != 0 || cp.size != l->size) {
		seterr(err, errcap, "checkpoint of size %s is unreadable", num);
		return EVC_ECORRUPT;
	}
	merkle_stream_root(&l->stream, root);
	if (memcmp(root, cp.root, 32) != 0) {
		seterr(err, errcap, "the stored tree hashes of %s entries do not give the root of "
		    "its signed checkpoint (run evchain-verify ledger to find the first bad index)", num);
		return EVC_ECORRUPT;
	}
	return 0;
}

int
ledger_open(const char *dir, const ledger_opts *opts, ledger **out, char *err, size_t errcap)
{
	ledger_opts def = { 0 };
	ledger *l;
	MDB_txn *txn = NULL;
	int rc, ret = EVC_EDB;

	if (opts == NULL)
		opts = &def;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return EVC_ENOMEM;
	l->read_only = opts->read_only;
	l->no_sync = opts->no_sync;
	l->no_check = opts->no_check;
	l->map_size = opts->map_size ? opts->map_size : DEFAULT_MAP;
	l->map_max = opts->map_max ? opts->map_max : DEFAULT_MAP_MAX;
	if (l->map_max < l->map_size)
		l->map_max = l->map_size;
	l->xmap_size = l->map_size < XMAP_DEFAULT ? l->map_size : XMAP_DEFAULT;
	l->interval_ms = opts->index_interval_ms ? opts->index_interval_ms : INDEX_INTERVAL_MS;
	l->gen_bits = opts->index_gen_bits ? opts->index_gen_bits : GEN_BITS;
	if (l->gen_bits > 40)
		l->gen_bits = 40;
	pthread_mutex_init(&l->xrun, NULL);
	pthread_mutex_init(&l->xmu, NULL);

	pthread_rwlockattr_t ra;
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&l->resize, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&l->wlock, NULL);

	if (!l->read_only && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		seterr(err, errcap, "cannot create %s: %s", dir, strerror(errno));
		ret = EVC_EIO;
		goto err0;
	}
	if ((rc = mdb_env_create(&l->env)) != 0)
		goto dbfail;
	mdb_env_set_maxdbs(l->env, 8);
	mdb_env_set_maxreaders(l->env, 512);
	if (!l->read_only)
		mdb_env_set_mapsize(l->env, l->map_size);
	unsigned flags = MDB_NOTLS | MDB_NORDAHEAD | (l->read_only ? MDB_RDONLY : 0) |
	    (l->no_sync ? MDB_NOSYNC : 0);
	rc = mdb_env_open(l->env, dir, flags, 0600);
	if (rc == EACCES || rc == EROFS) {
		/* A read-only copy (e.g. on a write-protected medium): no lock file. */
		if (l->read_only)
			rc = mdb_env_open(l->env, dir, flags | MDB_NOLOCK, 0600);
	}
	if (rc != 0) {
		seterr(err, errcap, "cannot open the ledger in %s: %s", dir, mdb_strerror(rc));
		ret = rc == ENOENT ? EVC_ENOTFOUND : EVC_EDB;
		goto err1;
	}
	MDB_envinfo info;
	mdb_env_info(l->env, &info);
	l->map_size = info.me_mapsize;
	/* A data file shorter than its pages (truncated, e.g. a partial copy):
	 * reading them through the map would be SIGBUS, so refuse it here. */
	{
		MDB_stat ms;
		mdb_filehandle_t fd;
		struct stat fst;
		if (mdb_env_stat(l->env, &ms) == 0 && mdb_env_get_fd(l->env, &fd) == 0 &&
		    fstat(fd, &fst) == 0 && (uint64_t)fst.st_size <
		    ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize) {
			seterr(err, errcap, "the ledger file in %s is truncated: %lld bytes, but its "
			    "pages need %llu (restore it from a backup; evchain-verify ledger audits one)",
			    dir, (long long)fst.st_size,
			    (unsigned long long)(((uint64_t)info.me_last_pgno + 1) * ms.ms_psize));
			ret = EVC_ECORRUPT;
			goto err1;
		}
	}
	int dead;
	mdb_reader_check(l->env, &dead);

	if ((rc = mdb_txn_begin(l->env, NULL, l->read_only ? MDB_RDONLY : 0, &txn)) != 0)
		goto dbfail;
	if ((rc = open_dbis(l, txn)) != 0) {
		seterr(err, errcap, "%s is not an evchain ledger: %s", dir, mdb_strerror(rc));
		ret = rc == MDB_NOTFOUND ? EVC_ECORRUPT : EVC_EDB;
		goto err2;
	}
	if (!l->read_only) {
		MDB_val k = { 6, "format" }, v = { strlen(LEDGER_FORMAT), LEDGER_FORMAT };
		rc = mdb_put(txn, l->meta, &k, &v, MDB_NOOVERWRITE);
		if (rc != 0 && rc != MDB_KEYEXIST)
			goto dbfail2;
	}
	if ((ret = load_state(l, txn, err, errcap)) != 0)
		goto err2;
	if ((rc = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		goto dbfail;
	}
	if ((ret = index_open(l, dir, err, errcap)) != 0)
		goto err1;
	if ((ret = index_start(l)) != 0) {
		seterr(err, errcap, "cannot start the indexer thread");
		index_stop(l);
		goto err1;
	}
	*out = l;
	return 0;

dbfail2:
	seterr(err, errcap, "LMDB: %s", mdb_strerror(rc));
	ret = dberr(rc);
err2:
	mdb_txn_abort(txn);
err1:
	mdb_env_close(l->env);
err0:
	pthread_rwlock_destroy(&l->resize);
	pthread_mutex_destroy(&l->wlock);
	pthread_mutex_destroy(&l->xrun);
	pthread_mutex_destroy(&l->xmu);
	free(l);
	return ret;
dbfail:
	seterr(err, errcap, "LMDB: %s", mdb_strerror(rc));
	ret = dberr(rc);
	if (txn != NULL)
		goto err2;
	goto err1;
}

void
ledger_close(ledger *l)
{
	if (l == NULL)
		return;
	index_stop(l);
	pthread_cond_destroy(&l->xcv);
	mdb_env_close(l->env);
	pthread_rwlock_destroy(&l->resize);
	pthread_mutex_destroy(&l->wlock);
	pthread_mutex_destroy(&l->xrun);
	pthread_mutex_destroy(&l->xmu);
	xrun_free(l);
	free(l->ebuf);
	free(l);
}

const char *
ledger_origin(const ledger *l)
{
	return l->origin;
}

uint64_t
ledger_size(const ledger *l)
{
	return __atomic_load_n(&l->size, __ATOMIC_ACQUIRE);
}

uint64_t
ledger_map_size(const ledger *l)
{
	return l->map_size;
}

int
ledger_latest(ledger *l, ledger_head *head)
{
	ledger_txn *t;
	int rc;

	memset(head, 0, sizeof(*head));
	if ((rc = ledger_read_begin(l, &t)) != 0)
		return rc;
	if (t->size == 0) {
		merkle_empty_root(head->root);
		ledger_read_end(t);
		return 0;
	}
	rc = ledger_checkpoint(t, 0, head->note, sizeof(head->note), &head->note_len,
	    &head->size, &head->time_ms);
	if (rc == 0)
		rc = ledger_tree_hash(t, head->size, head->root);
	ledger_read_end(t);
	return rc;
}

/* ---- append ------------------------------------------------------------- */

static int
rid_key(const Record *r, uint8_t *buf, size_t cap, size_t *len)
{
	size_t a = strlen(r->signer), b = strlen(r->record_id);

	if (a + 1 + b > cap || a + 1 + b > ATTR_KEY_MAX)
		return EVC_ETOOLARGE;
	memcpy(buf, r->signer, a);
	buf[a] = 0;
	memcpy(buf + a + 1, r->record_id, b);
	*len = a + 1 + b;
	return 0;
}

static int
ensure_ebuf(ledger *l, size_t n)
{
	if (n <= l->ebuf_cap)
		return 0;
	size_t cap = l->ebuf_cap ? l->ebuf_cap : 4096;
	while (cap < n)
		cap *= 2;
	uint8_t *p = realloc(l->ebuf, cap);
	if (p == NULL)
		return EVC_ENOMEM;
	l->ebuf = p;
	l->ebuf_cap = cap;
	return 0;
}

/* Log time of an existing entry (for duplicates' receipts). */
static int
entry_time_at(MDB_txn *txn, MDB_dbi dbi, uint64_t index, int64_t *t)
{
	size_t k = index;
	MDB_val key = u64val(&k), val;
	int rc = mdb_get(txn, dbi, &key, &val);

	if (rc != 0)
		return dberr(rc);
	return ledger_entry_time(val.mv_data, val.mv_size, t);
}

/* One attempt at the whole batch; on any error the transaction is aborted
 * and the writer state is untouched. */
static int
append_once(ledger *l, ledger_item *items, size_t n, const evc_skey *log_key, int64_t now_ms,
    ledger_head *head, int *mdb_rc)
{
	MDB_txn *txn;
	MDB_cursor *rcur = NULL;
	int rc, ret;
	uint64_t size = l->size;
	merkle_stream st = l->stream;
	uint8_t prev[32];
	int64_t t = now_ms > l->last_time ? now_ms : l->last_time;
	struct hash_reader_ctx hc;
	uint8_t stored[MERKLE_MAX_HEIGHT + 1][32];
	char *signed_note = NULL;
	size_t signed_len = 0, eoff = 0;

	*mdb_rc = 0;
	for (size_t i = 0; i < n; i++) {
		items[i].entry = NULL;
		items[i].entry_len = 0;
	}
	memcpy(prev, l->last_leaf, 32);
	if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0) {
		*mdb_rc = rc;
		return dberr(rc);
	}
	hc.txn = txn;
	hc.dbi = l->hashes;
	hc.memo = NULL;
	/* Freed with the transaction (a write transaction's cursors are). */
	if ((rc = mdb_cursor_open(txn, l->records, &rcur)) != 0)
		goto dbfail;

	if (l->origin[0] == '\0') {
		MDB_val k = { 6, "origin" }, v = { strlen(log_key->name), (void *)log_key->name };
		if ((rc = mdb_put(txn, l->meta, &k, &v, 0)) != 0)
			goto dbfail;
	}

	for (size_t i = 0; i < n; i++) {
		ledger_item *it = &items[i];
		uint8_t ridk[RID_MAX + 1], rdig[32];
		size_t ridlen;

		if ((ret = rid_key(it->rec, ridk, sizeof(ridk), &ridlen)) != 0) {
			it->result = EVC_EINVAL;
			continue;
		}
		hash_sha256(it->record, it->record_len, rdig);
		/* Claim the id: one search (usually within the cursor's page,
		 * ids being numbered), which finds the holder if there is one. */
		uint8_t rval[40];
		put_be64(rval, size);
		memcpy(rval + 8, rdig, 32);
		MDB_val rk = { ridlen, ridk }, rv = { 40, rval };
		rc = mdb_cursor_put(rcur, &rk, &rv, MDB_NOOVERWRITE);
		if (rc == MDB_KEYEXIST) {
			if (rv.mv_size != 40) {
				ret = EVC_ECORRUPT;
				goto fail;
			}
			uint64_t idx = get_be64(rv.mv_data);
			if (memcmp((uint8_t *)rv.mv_data + 8, rdig, 32) != 0) {
				it->result = EVC_ECONFLICT;
				it->index = idx;
				continue;
			}
			it->result = LEDGER_DUPLICATE;
			it->index = idx;
			uint64_t si = merkle_stored_index(0, idx);
			if ((ret = read_hashes(&hc, &si, 1, &it->leaf)) != 0 ||
			    (ret = entry_time_at(txn, l->entries, idx, &it->log_time_ms)) != 0)
				goto fail;
			continue;
		}
		if (rc != 0)
			goto dbfail;

		/* The entry, encoded once. */
		Evchain__V1__Entry e = EVCHAIN__V1__ENTRY__INIT;
		e.index = size;
		e.log_time_ms = t;
		e.prev_leaf_hash.data = prev;
		e.prev_leaf_hash.len = 32;
		e.key_name = (char *)it->rec->signer;
		e.record.data = (uint8_t *)it->record;
		e.record.len = it->record_len;
		e.signature.data = (uint8_t *)it->sig;
		e.signature.len = 64;
		size_t elen = evchain__v1__entry__get_packed_size(&e);
		if (elen > EVC_MAX_ENTRY) {
			/* Not logged: give the id back. */
			if ((rc = mdb_cursor_del(rcur, 0)) != 0)
				goto dbfail;
			it->result = EVC_ETOOLARGE;
			continue;
		}
		/* The batch's entries stay in ebuf, one after another, for the
		 * caller's receipts (items[].entry). */
		if ((ret = ensure_ebuf(l, eoff + elen)) != 0)
			goto fail;
		uint8_t *eb = l->ebuf + eoff;
		evchain__v1__entry__pack(&e, eb);
		it->entry_len = elen;
		eoff += elen;

		size_t key = size;
		MDB_val ek = u64val(&key), ev = { elen, eb };
		if ((rc = mdb_put(txn, l->entries, &ek, &ev, MDB_APPEND)) != 0)
			goto dbfail;

		uint8_t leaf[32];
		merkle_leaf_hash(eb, elen, leaf);
		uint64_t sidx = merkle_stored_index(0, size);
		unsigned ns = merkle_stream_push(&st, leaf, stored);
		for (unsigned j = 0; j < ns; j++) {
			size_t hk = sidx + j;
			MDB_val hkv = u64val(&hk), hv = { 32, stored[j] };
			if ((rc = mdb_put(txn, l->hashes, &hkv, &hv, MDB_APPEND)) != 0)
				goto dbfail;
		}

		it->result = LEDGER_APPENDED;
		it->index = size;
		it->log_time_ms = t;
		memcpy(it->leaf, leaf, 32);
		memcpy(prev, leaf, 32);
		size++;
	}

	if (size == l->size) {
		/* Nothing new: no transaction to commit, no new checkpoint. */
		mdb_txn_abort(txn);
		return ledger_latest(l, head);
	}

	/* One signed checkpoint for the batch. */
	checkpoint cp;
	char text[CHECKPOINT_MAX_ORIGIN + 128];
	memset(&cp, 0, sizeof(cp));
	memcpy(cp.origin, log_key->name, strlen(log_key->name) + 1);
	cp.size = size;
	merkle_stream_root(&st, cp.root);
	int tl = checkpoint_format(&cp, text, sizeof(text));
	if (tl < 0) {
		ret = tl;
		goto fail;
	}
	const evc_skey *keys[1] = { log_key };
	if ((ret = note_sign(text, (size_t)tl, keys, 1, &signed_note, &signed_len)) != 0)
		goto fail;
	if (signed_len + 8 > LEDGER_NOTE_MAX) {
		ret = EVC_ETOOLARGE;
		goto fail;
	}
	{
		size_t ck = size;
		MDB_val k = u64val(&ck), v;
		v.mv_size = signed_len + 8;
		if ((rc = mdb_put(txn, l->cps, &k, &v, MDB_APPEND | MDB_RESERVE)) != 0)
			goto dbfail;
		put_be64(v.mv_data, (uint64_t)t);
		memcpy((uint8_t *)v.mv_data + 8, signed_note, signed_len);
	}

	if ((rc = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		goto dbfail;
	}

	/* Committed: the entries' bytes for the receipts, one after another in
	 * ebuf in item order (ebuf may have moved while it grew). */
	for (size_t i = 0, off = 0; i < n; i++)
		if (items[i].result == LEDGER_APPENDED) {
			items[i].entry = l->ebuf + off;
			off += items[i].entry_len;
		}

	/* Committed: publish the writer state. */
	if (l->origin[0] == '\0')
		memcpy(l->origin, log_key->name, strlen(log_key->name) + 1);
	l->stream = st;
	memcpy(l->last_leaf, prev, 32);
	l->last_time = t;
	__atomic_store_n(&l->size, size, __ATOMIC_RELEASE);

	head->size = size;
	memcpy(head->root, cp.root, 32);
	head->time_ms = t;
	memcpy(head->note, signed_note, signed_len);
	head->note[signed_len] = '\0';
	head->note_len = signed_len;
	free(signed_note);
	return 0;

dbfail:
	*mdb_rc = rc;
	ret = dberr(rc);
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	free(signed_note);
	return ret;
}

/* Double the map of env (the ledger's or the index's), up to map_max, while
 * no snapshot is open. */
static int
grow_env(ledger *l, MDB_env *env, uint64_t *size)
{
	if (*size >= l->map_max)
		return EVC_EFULL;
	uint64_t ns = *size * 2 > l->map_max ? l->map_max : *size * 2;
	pthread_rwlock_wrlock(&l->resize);
	int rc = mdb_env_set_mapsize(env, ns);
	pthread_rwlock_unlock(&l->resize);
	if (rc != 0)
		return EVC_EDB;
	*size = ns;
	return 0;
}

int
ledger_append(ledger *l, ledger_item *items, size_t n, const evc_skey *log_key,
    int64_t now_ms, ledger_head *head)
{
	int ret, mrc;

	if (l->read_only)
		return EVC_EPERM;
	if (log_key == NULL || log_key->type != EVC_KEY_ED25519 ||
	    (l->origin[0] != '\0' && strcmp(l->origin, log_key->name) != 0))
		return EVC_EINVAL;
	pthread_mutex_lock(&l->wlock);
	for (;;) {
		pthread_rwlock_rdlock(&l->resize);
		ret = append_once(l, items, n, log_key, now_ms, head, &mrc);
		pthread_rwlock_unlock(&l->resize);
		if (mrc != MDB_MAP_FULL)
			break;
		if ((ret = grow_env(l, l->env, &l->map_size)) != 0)
			break;
	}
	pthread_mutex_unlock(&l->wlock);
	return ret;
}

/* In one write transaction: replace the line of witness `name` for size k.
 * Returns an MDB rc; *count receives the lines now stored. */
static int
cosig_put(ledger *l, MDB_txn *txn, size_t k, const char *name, const char *line, size_t len,
    size_t *count)
{
	MDB_cursor *cur;
	MDB_val key = u64val(&k), val;
	size_t nl = strlen(name);
	int rc;

	if ((rc = mdb_get(txn, l->cps, &key, &val)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, l->cosigs, &cur)) != 0)
		return rc;
	/* Lines are "— name base64\n"; the dash is 3 bytes, then a space. */
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_KEY);
	while (rc == 0) {
		const char *s = val.mv_data;
		if (val.mv_size > 4 + nl && memcmp(s + 4, name, nl) == 0 && s[4 + nl] == ' ') {
			rc = mdb_cursor_del(cur, 0);
			break;
		}
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT_DUP);
	}
	if (rc == 0 || rc == MDB_NOTFOUND) {
		key = u64val(&k);
		val.mv_size = len;
		val.mv_data = (void *)line;
		rc = mdb_put(txn, l->cosigs, &key, &val, MDB_NODUPDATA);
		if (rc == MDB_KEYEXIST)
			rc = 0;
	}
	if (rc == 0 && (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_KEY)) == 0)
		rc = mdb_cursor_count(cur, count);
	mdb_cursor_close(cur);
	return rc;
}

int
ledger_add_cosignature(ledger *l, uint64_t size, const char *name, const char *line, size_t len)
{
	MDB_txn *txn;
	size_t count = 0;
	int rc;

	if (l->read_only)
		return EVC_EPERM;
	if (len == 0 || len > 511 || strlen(name) == 0)
		return EVC_EINVAL;
	pthread_mutex_lock(&l->wlock);
	for (;;) {
		pthread_rwlock_rdlock(&l->resize);
		if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) == 0) {
			rc = cosig_put(l, txn, size, name, line, len, &count);
			if (rc == 0)
				rc = mdb_txn_commit(txn);
			else
				mdb_txn_abort(txn);
		}
		pthread_rwlock_unlock(&l->resize);
		if (rc == MDB_MAP_FULL && grow_env(l, l->env, &l->map_size) == 0)
			continue;
		break;
	}
	pthread_mutex_unlock(&l->wlock);
	if (rc != 0)
		return dberr(rc);
	return count > INT_MAX ? INT_MAX : (int)count;
}

/* ---- reads -------------------------------------------------------------- */

int
ledger_read_begin(ledger *l, ledger_txn **out)
{
	ledger_txn *t = malloc(sizeof(*t));
	int rc;

	if (t == NULL)
		return EVC_ENOMEM;
	pthread_rwlock_rdlock(&l->resize);
	if ((rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &t->txn)) != 0) {
		pthread_rwlock_unlock(&l->resize);
		free(t);
		return dberr(rc);
	}
	t->l = l;
	t->xtxn = NULL;
	t->xopen = 0;
	t->xcover = 0;
	t->memo = NULL;
	/* Size as seen by this snapshot: the last checkpoint's size. */
	MDB_cursor *cur;
	MDB_val k, v;
	t->size = 0;
	if (mdb_cursor_open(t->txn, l->entries, &cur) == 0) {
		if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8) {
			size_t last;
			memcpy(&last, k.mv_data, 8);
			t->size = (uint64_t)last + 1;
		}
		mdb_cursor_close(cur);
	}
	*out = t;
	return 0;
}

void
ledger_read_end(ledger_txn *t)
{
	if (t == NULL)
		return;
	if (t->xtxn != NULL)
		mdb_txn_abort(t->xtxn);
	free(t->memo);
	mdb_txn_abort(t->txn);
	pthread_rwlock_unlock(&t->l->resize);
	free(t);
}

void
ledger_txn_memo(ledger_txn *t)
{
	if (t->memo == NULL)
		t->memo = calloc(1, sizeof(*t->memo)); /* no memo: plain reads */
}

uint64_t
ledger_txn_size(const ledger_txn *t)
{
	return t->size;
}

int
ledger_entry(ledger_txn *t, uint64_t index, const uint8_t **buf, size_t *len)
{
	size_t k = index;
	MDB_val key = u64val(&k), val;
	int rc = mdb_get(t->txn, t->l->entries, &key, &val);

	if (rc != 0)
		return dberr(rc);
	*buf = val.mv_data;
	*len = val.mv_size;
	return 0;
}

int
ledger_stored_hash(ledger_txn *t, uint64_t sindex, uint8_t out[32])
{
	struct hash_reader_ctx hc = { t->txn, t->l->hashes, t->memo };
	int rc = read_hashes(&hc, &sindex, 1, (uint8_t(*)[32])out);
	return rc == EVC_ECORRUPT ? EVC_ENOTFOUND : rc;
}

uint64_t
ledger_stored_hash_count(ledger_txn *t)
{
	MDB_stat st;
	if (mdb_stat(t->txn, t->l->hashes, &st) != 0)
		return 0;
	return st.ms_entries;
}

int
ledger_leaf_hash(ledger_txn *t, uint64_t index, uint8_t out[32])
{
	if (index >= t->size)
		return EVC_ENOTFOUND;
	return ledger_stored_hash(t, merkle_stored_index(0, index), out);
}

int
ledger_find_record(ledger_txn *t, const char *signer, const char *record_id, uint64_t *index)
{
	uint8_t k[RID_MAX + 1];
	size_t a = strlen(signer), b = strlen(record_id);

	if (a + 1 + b > sizeof(k))
		return EVC_ENOTFOUND;
	memcpy(k, signer, a);
	k[a] = 0;
	memcpy(k + a + 1, record_id, b);
	MDB_val key = { a + 1 + b, k }, val;
	int rc = mdb_get(t->txn, t->l->records, &key, &val);
	if (rc != 0)
		return dberr(rc);
	if (val.mv_size != 40)
		return EVC_ECORRUPT;
	*index = get_be64(val.mv_data);
	return 0;
}

int
ledger_tree_hash(ledger_txn *t, uint64_t size, uint8_t out[32])
{
	struct hash_reader_ctx hc = { t->txn, t->l->hashes, t->memo };
	merkle_reader rd = { read_hashes, &hc, t->memo != NULL ? &t->memo->fold : NULL };

	if (size > t->size)
		return EVC_ENOTFOUND;
	return merkle_tree_hash(size, &rd, out);
}

int
ledger_prove_inclusion(ledger_txn *t, uint64_t index, uint64_t size, uint8_t (*proof)[32],
    size_t cap, size_t *len)
{
	struct hash_reader_ctx hc = { t->txn, t->l->hashes, t->memo };
	merkle_reader rd = { read_hashes, &hc, t->memo != NULL ? &t->memo->fold : NULL };

	if (size > t->size || index >= size)
		return EVC_ENOTFOUND;
	return merkle_prove_inclusion(index, size, &rd, proof, cap, len);
}

int
ledger_prove_consistency(ledger_txn *t, uint64_t m, uint64_t n, uint8_t (*proof)[32],
    size_t cap, size_t *len)
{
	struct hash_reader_ctx hc = { t->txn, t->l->hashes, t->memo };
	merkle_reader rd = { read_hashes, &hc, t->memo != NULL ? &t->memo->fold : NULL };

	if (n > t->size || m > n)
		return EVC_ENOTFOUND;
	if (m == 0 || m == n) {
		*len = 0;
		return 0;
	}
	return merkle_prove_consistency(m, n, &rd, proof, cap, len);
}

int
ledger_checkpoint(ledger_txn *t, uint64_t size, char *buf, size_t cap, size_t *len,
    uint64_t *size_out, int64_t *time_ms)
{
	MDB_val key, val;
	size_t k = size;
	int rc;

	if (size == 0) {
		MDB_cursor *cur;
		if ((rc = mdb_cursor_open(t->txn, t->l->cps, &cur)) != 0)
			return dberr(rc);
		rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
		mdb_cursor_close(cur);
		if (rc != 0)
			return dberr(rc);
		memcpy(&k, key.mv_data, 8);
	} else {
		key = u64val(&k);
		if ((rc = mdb_get(t->txn, t->l->cps, &key, &val)) != 0)
			return dberr(rc);
	}
	if (val.mv_size < 8)
		return EVC_ECORRUPT;
	size_t nl = val.mv_size - 8;
	if (nl + 1 > cap)
		return EVC_ETOOLARGE;
	memcpy(buf, (uint8_t *)val.mv_data + 8, nl);
	if (time_ms != NULL)
		*time_ms = (int64_t)get_be64(val.mv_data);
	if (size_out != NULL)
		*size_out = k;

	/* Append the cosignature lines. */
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(t->txn, t->l->cosigs, &cur)) != 0)
		return dberr(rc);
	key = u64val(&k);
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_KEY);
	while (rc == 0) {
		if (nl + val.mv_size + 1 > cap) {
			mdb_cursor_close(cur);
			return EVC_ETOOLARGE;
		}
		memcpy(buf + nl, val.mv_data, val.mv_size);
		nl += val.mv_size;
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT_DUP);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return dberr(rc);
	buf[nl] = '\0';
	*len = nl;
	return 0;
}

int
ledger_next_checkpoint(ledger_txn *t, uint64_t after, uint64_t *size, const char **note_out,
    size_t *len, int64_t *time_ms)
{
	MDB_cursor *cur;
	size_t k = after + 1;
	MDB_val key = u64val(&k), val;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, t->l->cps, &cur)) != 0)
		return dberr(rc);
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	mdb_cursor_close(cur);
	if (rc != 0)
		return dberr(rc);
	if (key.mv_size != 8 || val.mv_size < 8)
		return EVC_ECORRUPT;
	memcpy(&k, key.mv_data, 8);
	*size = k;
	*note_out = (const char *)val.mv_data + 8;
	*len = val.mv_size - 8;
	if (time_ms != NULL)
		*time_ms = (int64_t)get_be64(val.mv_data);
	return 0;
}

int
ledger_first_at_time(ledger_txn *t, int64_t t_ms, uint64_t *index)
{
	uint64_t lo = 0, hi = t->size;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		const uint8_t *e;
		size_t el;
		int64_t et;
		int rc;
		if ((rc = ledger_entry(t, mid, &e, &el)) != 0)
			return rc == EVC_ENOTFOUND ? EVC_ECORRUPT : rc;
		if ((rc = ledger_entry_time(e, el, &et)) != 0)
			return EVC_ECORRUPT;
		if (et < t_ms)
			lo = mid + 1;
		else
			hi = mid;
	}
	*index = lo;
	return 0;
}

/* Field 2 of an Entry, without a full decode. */
int
ledger_entry_time(const uint8_t *p, size_t len, int64_t *t_ms)
{
	uint64_t v;

	if (pb_field_varint(p, len, 2, &v) != 0)
		return EVC_EINVAL;
	*t_ms = (int64_t)v;
	return 0;
}

int
ledger_backup(ledger *l, const char *dest, char *err, size_t errcap)
{
	if (mkdir(dest, 0700) != 0 && errno != EEXIST) {
		seterr(err, errcap, "cannot create %s: %s", dest, strerror(errno));
		return EVC_EIO;
	}
	pthread_rwlock_rdlock(&l->resize);
	int rc = mdb_env_copy2(l->env, dest, MDB_CP_COMPACT);
	pthread_rwlock_unlock(&l->resize);
	if (rc != 0) {
		seterr(err, errcap, "backup to %s: %s", dest, mdb_strerror(rc));
		return EVC_EDB;
	}
	return 0;
}

/* ---- the secondary index (ledger.h "The index") --------------------------- */

static void
put_be32(uint8_t *p, uint64_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static size_t
leaf_xkey(uint8_t k[36], uint64_t gen, const uint8_t leaf[32])
{
	put_be32(k, gen);
	memcpy(k + 4, leaf, 32);
	return 36;
}

/* 0 if the value is too long to be indexed (validation bounds them). */
static size_t
attr_xkey(uint8_t k[ATTR_KEY_MAX], int attr, uint64_t gen, const void *val, size_t len)
{
	if (len == 0 || len + 5 > ATTR_KEY_MAX)
		return 0;
	k[0] = (uint8_t)attr;
	put_be32(k + 1, gen);
	memcpy(k + 5, val, len);
	return len + 5;
}

/* The record inside entry bytes, decoded into a (reset) arena. */
static const Record *
entry_record(pb_arena *a, const uint8_t *e, size_t el)
{
	const uint8_t *rb;
	size_t rl;

	pb_arena_reset(a);
	if (pb_field_bytes(e, el, 5, &rb, &rl) != 0 || rl > EVC_MAX_RECORD)
		return NULL;
	/* Validated when it was appended: no second UTF-8 pass, only the
	 * fields (an index over a damaged entry is at worst incomplete). */
	return (const Record *)pb_unpack(a, &evchain__v1__record__descriptor, rb, rl);
}

/*
 * An index run gathers the keys of up to INDEX_BATCH entries, then writes
 * them in key order. Most attribute keys repeat (a node signs every record,
 * an inspection has several, an officer many): each distinct key is stored
 * and sorted once, with the entries that carry it as a list of postings, in
 * entry order since entries are read in order, and written with one
 * MDB_MULTIPLE put. Leaf keys are unique: one posting each, not hashed.
 */
typedef struct xkey {            /* one distinct key of a run */
	uint64_t pre[2];             /* bytes 0..15 big-endian, zero-padded: sort most pairs */
	size_t off;                  /* its bytes: buf[off..off+len) */
	uint32_t first, last, count; /* its postings (indexes into post) */
	uint32_t hash;
	uint16_t len;
	uint8_t db;                  /* 0 leaves, 1 attrs */
} xkey;

typedef struct xpost {
	uint64_t idx;                /* the entry */
	uint32_t next;               /* the key's next posting; UINT32_MAX: none */
} xpost;

typedef struct xrun {
	xkey *keys;                  /* distinct keys */
	size_t n, cap;
	xpost *post;
	size_t np, pcap;
	uint32_t *ht;                /* attribute keys: 1 + index into keys, 0 empty */
	size_t hcap, nattr;          /* hcap a power of two, > 2 * nattr */
	size_t *vals;                /* one key's entries, for its put */
	size_t vcap;
	uint8_t *buf;
	size_t used, bcap;
	uint64_t idx, gen;
	int rc;
	pb_arena a;                  /* the records being indexed */
} xrun;

static uint64_t
load_be64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}

/* A key's sort prefix (bytes 0..15, zero-padded) and hash (for the run's
 * table of distinct keys: the prefix and the rest, 8 bytes at a time). */
static uint32_t
xkey_prefix(const uint8_t *k, size_t len, uint64_t pre[2])
{
	uint8_t pad[16] = { 0 };
	if (len >= 16) {
		pre[0] = load_be64(k);
		pre[1] = load_be64(k + 8);
	} else {
		memcpy(pad, k, len);
		pre[0] = load_be64(pad);
		pre[1] = load_be64(pad + 8);
	}
	const uint64_t m = 0x9e3779b97f4a7c15u;
	uint64_t h = (pre[0] ^ len) * m;
	h = (h ^ (h >> 29) ^ pre[1]) * m;
	for (size_t i = 16; i < len; i += 8) {
		uint64_t w = 0;
		memcpy(&w, k + i, len - i < 8 ? len - i : 8);
		h = (h ^ (h >> 29) ^ w) * m;
	}
	h ^= h >> 32;
	return (uint32_t)h;
}

static int
xrun_rehash(xrun *r, size_t hcap)
{
	uint32_t *ht = calloc(hcap, sizeof(*ht));
	if (ht == NULL)
		return EVC_ENOMEM;
	for (size_t i = 0; i < r->n; i++) {
		if (r->keys[i].db != 1)
			continue;
		size_t s = r->keys[i].hash & (hcap - 1);
		while (ht[s] != 0)
			s = (s + 1) & (hcap - 1);
		ht[s] = (uint32_t)i + 1;
	}
	free(r->ht);
	r->ht = ht;
	r->hcap = hcap;
	return 0;
}

static int
xrun_add(xrun *r, int db, const uint8_t *k, size_t len, uint64_t idx)
{
	uint64_t pre[2];
	uint32_t h = xkey_prefix(k, len, pre);
	size_t slot = 0;
	int ret;

	if (db == 1) {
		if (2 * (r->nattr + 1) > r->hcap &&
		    (ret = xrun_rehash(r, r->hcap ? 2 * r->hcap : 4096)) != 0)
			return ret;
		for (slot = h & (r->hcap - 1); r->ht[slot] != 0; slot = (slot + 1) & (r->hcap - 1)) {
			xkey *q = &r->keys[r->ht[slot] - 1];
			if (q->hash != h || q->len != len || q->pre[0] != pre[0] || q->pre[1] != pre[1] ||
			    (len > 16 && memcmp(r->buf + q->off + 16, k + 16, len - 16) != 0))
				continue;
			if (r->post[q->last].idx == idx)
				return 0; /* the same key twice in one entry */
			if ((ret = evc_grow((void **)&r->post, &r->pcap, r->np + 1, sizeof(xpost))) != 0)
				return ret;
			r->post[r->np] = (xpost){ idx, UINT32_MAX };
			r->post[q->last].next = (uint32_t)r->np;
			q->last = (uint32_t)r->np++;
			q->count++;
			return 0;
		}
	}
	if ((ret = evc_grow((void **)&r->keys, &r->cap, r->n + 1, sizeof(xkey))) != 0 ||
	    (ret = evc_grow((void **)&r->post, &r->pcap, r->np + 1, sizeof(xpost))) != 0 ||
	    (ret = evc_grow((void **)&r->buf, &r->bcap, r->used + len, 1)) != 0)
		return ret;
	memcpy(r->buf + r->used, k, len);
	r->post[r->np] = (xpost){ idx, UINT32_MAX };
	r->keys[r->n] = (xkey){ { pre[0], pre[1] }, r->used, (uint32_t)r->np, (uint32_t)r->np, 1, h,
		(uint16_t)len, (uint8_t)db };
	if (db == 1) {
		r->ht[slot] = (uint32_t)r->n + 1;
		r->nattr++;
	}
	r->n++;
	r->np++;
	r->used += len;
	return 0;
}

static void
xrun_attr(void *vctx, enum record_attr attr, const void *val, size_t len)
{
	xrun *r = vctx;
	uint8_t k[ATTR_KEY_MAX];
	size_t kl = attr_xkey(k, (int)attr, r->gen, val, len);

	if (r->rc == 0 && kl != 0)
		r->rc = xrun_add(r, 1, k, kl, r->idx);
}

static _Thread_local const xrun *sort_run; /* qsort has no context argument */

static int
xkey_cmp(const void *a, const void *b)
{
	const xkey *x = a, *y = b;
	if (x->db != y->db)
		return x->db < y->db ? -1 : 1;
	if (x->pre[0] != y->pre[0])
		return x->pre[0] < y->pre[0] ? -1 : 1;
	if (x->pre[1] != y->pre[1])
		return x->pre[1] < y->pre[1] ? -1 : 1;
	/* The first min(16, len) bytes are equal; a shorter key that ends
	 * there sorts first (the length test below). */
	size_t n = x->len < y->len ? x->len : y->len;
	if (n > 16) {
		int c = memcmp(sort_run->buf + x->off + 16, sort_run->buf + y->off + 16, n - 16);
		if (c != 0)
			return c;
	}
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	/* Only leaf keys can be equal (a run keeps one of each attribute key). */
	uint64_t i = sort_run->post[x->first].idx, j = sort_run->post[y->first].idx;
	return i < j ? -1 : i > j;
}

/* Write one distinct key with all its entries. */
static int
xrun_put(xrun *r, MDB_cursor *c, const xkey *q)
{
	MDB_val key = { q->len, r->buf + q->off };
	int rc;

	if (q->count == 1) {
		/* Every leaf (a leaf hash covers its entry's index: never
		 * repeated), an attribute of one entry. A pair already there (an
		 * index run redone) is rewritten unchanged. */
		size_t iv = r->post[q->first].idx;
		MDB_val val = u64val(&iv);
		return mdb_cursor_put(c, &key, &val, 0);
	}
	if (evc_grow((void **)&r->vals, &r->vcap, q->count, sizeof(size_t)) != 0)
		return ENOMEM;
	size_t n = 0;
	for (uint32_t p = q->first; p != UINT32_MAX; p = r->post[p].next)
		r->vals[n++] = r->post[p].idx;
	MDB_val val[2] = { { sizeof(size_t), r->vals }, { n, NULL } };
	if ((rc = mdb_cursor_put(c, &key, val, MDB_MULTIPLE)) != 0)
		return rc;
	return val[1].mv_size == n ? 0 : MDB_CORRUPTED;
}

static int
xmeta_put(ledger *l, MDB_txn *x, uint64_t indexed, const uint8_t tip[32])
{
	uint8_t nb[8];
	put_be64(nb, indexed);
	MDB_val k1 = { 7, "indexed" }, v1 = { 8, nb }, k2 = { 3, "tip" }, v2 = { 32, (void *)tip };
	char fmt[64];
	int fl = snprintf(fmt, sizeof(fmt), "%s/gen%u", INDEX_FORMAT, l->gen_bits);
	MDB_val k3 = { 6, "format" }, v3 = { (size_t)fl, fmt };
	int rc;
	if ((rc = mdb_put(x, l->xmeta, &k1, &v1, 0)) != 0 ||
	    (rc = mdb_put(x, l->xmeta, &k2, &v2, 0)) != 0 ||
	    (rc = mdb_put(x, l->xmeta, &k3, &v3, 0)) != 0)
		return rc;
	return 0;
}

/*
 * Index entries [from, from+n) in one index transaction, with l->xrun held.
 * Returns 0 or an EVC_E* code; *mdb_rc receives the LMDB code of a database
 * failure (MDB_MAP_FULL: grow the index map and retry).
 */
static int
index_once(ledger *l, xrun *r, uint64_t from, uint64_t n, int *mdb_rc)
{
	MDB_txn *txn = NULL, *x = NULL;
	MDB_cursor *ec = NULL;
	uint8_t leaf[32];
	int rc, ret = 0;

	*mdb_rc = 0;
	r->n = r->used = r->np = r->nattr = 0;
	r->rc = 0;
	if (r->ht != NULL)
		memset(r->ht, 0, r->hcap * sizeof(*r->ht));
	if ((rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn)) != 0)
		goto dbfail;
	if ((rc = mdb_cursor_open(txn, l->entries, &ec)) != 0)
		goto dbfail;
	struct hash_reader_ctx hc = { txn, l->hashes, NULL };
	size_t k = from;
	MDB_val ek = u64val(&k), ev;
	rc = mdb_cursor_get(ec, &ek, &ev, MDB_SET_KEY);
	for (uint64_t i = from; i < from + n; i++) {
		if (rc != 0)
			goto dbfail;
		uint64_t si = merkle_stored_index(0, i);
		if ((ret = read_hashes(&hc, &si, 1, (uint8_t(*)[32])leaf)) != 0)
			goto out;
		uint8_t lk[36];
		r->gen = i >> l->gen_bits;
		r->idx = i;
		if ((ret = xrun_add(r, 0, lk, leaf_xkey(lk, r->gen, leaf), i)) != 0)
			goto out;
		const Record *rec = entry_record(&r->a, ev.mv_data, ev.mv_size);
		if (rec != NULL)
			record_attributes(rec, xrun_attr, r);
		if ((ret = r->rc) != 0)
			goto out;
		rc = mdb_cursor_get(ec, &ek, &ev, MDB_NEXT);
		if (i + 1 == from + n)
			rc = 0;
	}
	/* Sorted, the keys of one page follow each other. */
	sort_run = r;
	if (r->n > 1)
		qsort(r->keys, r->n, sizeof(*r->keys), xkey_cmp);

	if ((rc = mdb_txn_begin(l->xenv, NULL, 0, &x)) != 0)
		goto dbfail;
	/* Through one cursor per database: a positioned cursor searches only
	 * its page when the next (sorted) key falls inside it. */
	MDB_cursor *xc[2] = { NULL, NULL };
	if ((rc = mdb_cursor_open(x, l->xleaves, &xc[0])) != 0 ||
	    (rc = mdb_cursor_open(x, l->xattrs, &xc[1])) != 0) {
		mdb_cursor_close(xc[0]);
		goto dbfail;
	}
	rc = 0;
	for (size_t i = 0; i < r->n && rc == 0; i++)
		rc = xrun_put(r, xc[r->keys[i].db], &r->keys[i]);
	mdb_cursor_close(xc[0]);
	mdb_cursor_close(xc[1]);
	if (rc != 0)
		goto dbfail;
	if ((rc = xmeta_put(l, x, from + n, leaf)) != 0)
		goto dbfail;
	rc = mdb_txn_commit(x);
	x = NULL;
	if (rc != 0)
		goto dbfail;
	__atomic_store_n(&l->indexed, from + n, __ATOMIC_RELEASE);
	goto out;
dbfail:
	*mdb_rc = rc;
	ret = dberr(rc);
out:
	if (x != NULL)
		mdb_txn_abort(x);
	mdb_cursor_close(ec);
	if (txn != NULL)
		mdb_txn_abort(txn);
	return ret;
}

/* Give back the buffers of the index run; with l->xrun held (or unshared). */
static void
xrun_free(ledger *l)
{
	if (l->xr == NULL)
		return;
	free(l->xr->keys);
	free(l->xr->post);
	free(l->xr->ht);
	free(l->xr->vals);
	free(l->xr->buf);
	pb_arena_free(&l->xr->a);
	free(l->xr);
	l->xr = NULL;
}

/*
 * Index everything committed, INDEX_BATCH entries per transaction. The run's
 * buffers (megabytes for a full batch) stay from one call to the next while
 * there is work, so that a busy indexer does not map and fault them in anew
 * every period, and are given back by the first call that finds none.
 */
static int
index_pending(ledger *l, int *stop)
{
	int ret = 0, mrc;
	uint64_t done = 0;

	pthread_mutex_lock(&l->xrun);
	if (l->xr == NULL) {
		if ((l->xr = calloc(1, sizeof(*l->xr))) == NULL) {
			pthread_mutex_unlock(&l->xrun);
			return EVC_ENOMEM;
		}
		pb_arena_init(&l->xr->a, 4 * EVC_MAX_RECORD);
	}
	xrun *r = l->xr;
	for (;;) {
		uint64_t from = __atomic_load_n(&l->indexed, __ATOMIC_ACQUIRE);
		uint64_t size = ledger_size(l);
		if (from >= size || (stop != NULL && __atomic_load_n(stop, __ATOMIC_ACQUIRE)))
			break;
		uint64_t n = size - from > INDEX_BATCH ? INDEX_BATCH : size - from;
		pthread_rwlock_rdlock(&l->resize);
		ret = index_once(l, r, from, n, &mrc);
		pthread_rwlock_unlock(&l->resize);
		if (mrc == MDB_MAP_FULL) {
			if ((ret = grow_env(l, l->xenv, &l->xmap_size)) != 0)
				break;
			continue;
		}
		if (ret != 0)
			break;
		done += n;
	}
	if (done == 0 || ret != 0)
		xrun_free(l);
	pthread_mutex_unlock(&l->xrun);
	return ret;
}

static void *
indexer_main(void *arg)
{
	ledger *l = arg;

	pthread_setname_np(pthread_self(), "evc-indexer");
	pthread_mutex_lock(&l->xmu);
	while (!l->xstop) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += l->interval_ms / 1000;
		ts.tv_nsec += (long)(l->interval_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&l->xcv, &l->xmu, &ts);
		if (l->xstop)
			break;
		pthread_mutex_unlock(&l->xmu);
		/* An error (disk full, map at map_max) is counted and retried
		 * next period; meanwhile readers scan what the index does not
		 * cover. */
		if (index_pending(l, &l->xstop) != 0)
			__atomic_add_fetch(&l->index_errors, 1, __ATOMIC_RELAXED);
		pthread_mutex_lock(&l->xmu);
	}
	pthread_mutex_unlock(&l->xmu);
	return NULL;
}

/*
 * Open <dir>/index and check that it belongs to this ledger; drop it if not
 * (writable) or ignore it (read-only). Called from ledger_open once the
 * ledger's state is loaded. Errors leave l->xenv NULL only for read-only
 * opens; a writable ledger needs its index.
 */
static int
index_open(ledger *l, const char *dir, char *err, size_t errcap)
{
	char path[4096];
	MDB_txn *x = NULL;
	int rc;

	if (snprintf(path, sizeof(path), "%s/index", dir) >= (int)sizeof(path)) {
		seterr(err, errcap, "data directory path too long");
		return EVC_EINVAL;
	}
	if (!l->read_only && mkdir(path, 0700) != 0 && errno != EEXIST) {
		seterr(err, errcap, "cannot create %s: %s", path, strerror(errno));
		return EVC_EIO;
	}
	if ((rc = mdb_env_create(&l->xenv)) != 0)
		goto dbfail;
	mdb_env_set_maxdbs(l->xenv, 4);
	mdb_env_set_maxreaders(l->xenv, 512);
	if (!l->read_only)
		mdb_env_set_mapsize(l->xenv, l->xmap_size);
	unsigned flags = MDB_NOTLS | MDB_NORDAHEAD | (l->read_only ? MDB_RDONLY : MDB_NOMETASYNC) |
	    (l->no_sync ? MDB_NOSYNC : 0);
	if ((rc = mdb_env_open(l->xenv, path, flags, 0600)) != 0) {
		mdb_env_close(l->xenv);
		l->xenv = NULL;
		if (l->read_only)
			return 0; /* no index (a backup, a copy): lookups scan */
		seterr(err, errcap, "cannot open the index in %s: %s", path, mdb_strerror(rc));
		return EVC_EDB;
	}
	MDB_envinfo info;
	MDB_stat xst;
	mdb_env_info(l->xenv, &info);
	l->xmap_size = info.me_mapsize;
	/* LMDB maps an existing file at no more than its size: leave room for
	 * the next transactions (a rebuild drops and refills it). */
	if (!l->read_only && mdb_env_stat(l->xenv, &xst) == 0) {
		uint64_t used = ((uint64_t)info.me_last_pgno + 1) * xst.ms_psize;
		uint64_t want = used + (used / 2 > XMAP_DEFAULT ? used / 2 : XMAP_DEFAULT);
		if (want > l->map_max)
			want = l->map_max > used ? l->map_max : used;
		if (want > l->xmap_size && mdb_env_set_mapsize(l->xenv, want) == 0)
			l->xmap_size = want;
	}
	int dead;
	mdb_reader_check(l->xenv, &dead);

	unsigned c = l->read_only ? 0 : MDB_CREATE;
	if ((rc = mdb_txn_begin(l->xenv, NULL, l->read_only ? MDB_RDONLY : 0, &x)) != 0)
		goto dbfail;
	if ((rc = mdb_dbi_open(x, "leaves", c, &l->xleaves)) != 0 ||
	    (rc = mdb_dbi_open(x, "attrs", c | MDB_DUPSORT | MDB_DUPFIXED | MDB_INTEGERDUP,
		&l->xattrs)) != 0 ||
	    (rc = mdb_dbi_open(x, "meta", c, &l->xmeta)) != 0) {
		if (l->read_only && rc == MDB_NOTFOUND) {
			mdb_txn_abort(x);
			mdb_env_close(l->xenv);
			l->xenv = NULL;
			return 0;
		}
		goto dbfail;
	}
	/* Covered entries, and the binding to this ledger: the leaf hash of
	 * the last covered entry must be this ledger's. */
	uint64_t indexed = 0;
	MDB_val k = { 7, "indexed" }, v, tk = { 3, "tip" }, tv, fk = { 6, "format" }, fv;
	int ok = 1;
	if (mdb_get(x, l->xmeta, &k, &v) == 0 && v.mv_size == 8)
		indexed = get_be64(v.mv_data);
	char fmt[64];
	int fl = snprintf(fmt, sizeof(fmt), "%s/gen%u", INDEX_FORMAT, l->gen_bits);
	if (mdb_get(x, l->xmeta, &fk, &fv) == 0 && (fv.mv_size != (size_t)fl ||
	    memcmp(fv.mv_data, fmt, fv.mv_size) != 0))
		ok = 0;
	if (indexed > l->size)
		ok = 0;
	else if (ok && indexed > 0) {
		uint8_t leaf[32];
		MDB_txn *txn;
		ok = 0;
		if (mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn) == 0) {
			struct hash_reader_ctx hc = { txn, l->hashes, NULL };
			uint64_t si = merkle_stored_index(0, indexed - 1);
			ok = read_hashes(&hc, &si, 1, (uint8_t(*)[32])leaf) == 0 &&
			    mdb_get(x, l->xmeta, &tk, &tv) == 0 && tv.mv_size == 32 &&
			    memcmp(tv.mv_data, leaf, 32) == 0;
			mdb_txn_abort(txn);
		}
	}
	if (!ok) {
		if (l->read_only) {
			mdb_txn_abort(x);
			mdb_env_close(l->xenv);
			l->xenv = NULL;
			return 0;
		}
		/* Not this ledger's (a restored or replaced data file): rebuild. */
		uint8_t zero[32] = { 0 };
		indexed = 0;
		if ((rc = mdb_drop(x, l->xleaves, 0)) != 0 || (rc = mdb_drop(x, l->xattrs, 0)) != 0 ||
		    (rc = xmeta_put(l, x, 0, zero)) != 0)
			goto dbfail;
	}
	if ((rc = mdb_txn_commit(x)) != 0) {
		x = NULL;
		goto dbfail;
	}
	l->indexed = indexed;
	return 0;
dbfail:
	seterr(err, errcap, "the index in %s: %s (it is derived from the ledger: remove that directory "
	    "and start again to rebuild it)", path, mdb_strerror(rc));
	if (x != NULL)
		mdb_txn_abort(x);
	if (l->xenv != NULL)
		mdb_env_close(l->xenv);
	l->xenv = NULL;
	return dberr(rc);
}

static int
index_start(ledger *l)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->xcv, &ca);
	pthread_condattr_destroy(&ca);
	if (l->read_only || l->xenv == NULL)
		return 0;
	if (pthread_create(&l->indexer, NULL, indexer_main, l) != 0)
		return EVC_ENOMEM;
	l->indexer_on = 1;
	return 0;
}

static void
index_stop(ledger *l)
{
	if (l->indexer_on) {
		pthread_mutex_lock(&l->xmu);
		__atomic_store_n(&l->xstop, 1, __ATOMIC_RELEASE);
		pthread_cond_signal(&l->xcv);
		pthread_mutex_unlock(&l->xmu);
		pthread_join(l->indexer, NULL);
		l->indexer_on = 0;
	}
	if (l->xenv != NULL)
		mdb_env_close(l->xenv);
	l->xenv = NULL;
}

uint64_t
ledger_indexed(const ledger *l)
{
	return __atomic_load_n(&l->indexed, __ATOMIC_ACQUIRE);
}

uint64_t
ledger_index_errors(const ledger *l)
{
	return __atomic_load_n(&l->index_errors, __ATOMIC_RELAXED);
}

int
ledger_index_sync(ledger *l)
{
	if (l->read_only || l->xenv == NULL)
		return EVC_EPERM;
	return index_pending(l, NULL);
}

/* Entries of the snapshot the index covers (opening the index snapshot). */
static int
txn_cover(ledger_txn *t, uint64_t *cover)
{
	ledger *l = t->l;

	if (!t->xopen) {
		t->xopen = 1;
		t->xcover = 0;
		if (l->xenv != NULL && mdb_txn_begin(l->xenv, NULL, MDB_RDONLY, &t->xtxn) == 0) {
			MDB_val k = { 7, "indexed" }, v;
			if (mdb_get(t->xtxn, l->xmeta, &k, &v) == 0 && v.mv_size == 8)
				t->xcover = get_be64(v.mv_data);
		} else {
			t->xtxn = NULL;
		}
		if (t->xcover > t->size)
			t->xcover = t->size;
	}
	*cover = t->xcover;
	return 0;
}

int
ledger_find_leaf(ledger_txn *t, const uint8_t leaf[32], uint64_t *index)
{
	uint64_t cover;
	int rc;

	txn_cover(t, &cover);
	/* The index, generation by generation, newest first. */
	for (uint64_t g = cover ? ((cover - 1) >> t->l->gen_bits) + 1 : 0; g-- > 0;) {
		uint8_t kb[36];
		MDB_val key = { leaf_xkey(kb, g, leaf), kb }, val;
		rc = mdb_get(t->xtxn, t->l->xleaves, &key, &val);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc != 0)
			return dberr(rc);
		if (val.mv_size != 8)
			return EVC_ECORRUPT;
		size_t v;
		memcpy(&v, val.mv_data, 8);
		if (v >= t->size)
			return EVC_ENOTFOUND;
		*index = v;
		return 0;
	}
	/* The entries behind the index: their stored leaf hashes, in order. */
	if (cover >= t->size)
		return EVC_ENOTFOUND;
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(t->txn, t->l->hashes, &cur)) != 0)
		return dberr(rc);
	uint64_t i = cover;
	size_t want = merkle_stored_index(0, i);
	MDB_val k = u64val(&want), v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
	while (rc == 0 && i < t->size) {
		size_t got;
		if (k.mv_size != 8 || v.mv_size != 32) {
			rc = -1;
			break;
		}
		memcpy(&got, k.mv_data, 8);
		if (got == merkle_stored_index(0, i)) {
			if (memcmp(v.mv_data, leaf, 32) == 0) {
				mdb_cursor_close(cur);
				*index = i;
				return 0;
			}
			i++;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc == -1)
		return EVC_ECORRUPT;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return dberr(rc);
	return EVC_ENOTFOUND;
}

struct match_ctx {
	int attr;
	const void *val;
	size_t len;
	int hit;
};

static void
match_attr(void *vctx, enum record_attr attr, const void *val, size_t len)
{
	struct match_ctx *m = vctx;
	if ((int)attr == m->attr && len == m->len && memcmp(val, m->val, len) == 0)
		m->hit = 1;
}

int
ledger_query(ledger_txn *t, int attr, const void *val, size_t len, uint64_t start,
    uint64_t *out, size_t cap, size_t *n, uint64_t *next)
{
	uint64_t cover;
	MDB_cursor *cur = NULL;
	int rc = 0;

	*n = 0;
	*next = 0;
	if (len == 0 || len + 5 > ATTR_KEY_MAX)
		return 0;
	txn_cover(t, &cover);
	/* The index: generation by generation, each in index order. */
	if (start < cover) {
		if ((rc = mdb_cursor_open(t->xtxn, t->l->xattrs, &cur)) != 0)
			return dberr(rc);
		for (uint64_t g = start >> t->l->gen_bits; g <= (cover - 1) >> t->l->gen_bits; g++) {
			uint8_t kb[ATTR_KEY_MAX];
			size_t s = start;
			MDB_val k = { attr_xkey(kb, attr, g, val, len), kb }, v = u64val(&s);
			rc = mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH_RANGE);
			while (rc == 0) {
				size_t idx;
				memcpy(&idx, v.mv_data, 8);
				if (idx >= cover)
					break;
				if (*n == cap) {
					*next = idx;
					mdb_cursor_close(cur);
					return 0;
				}
				out[(*n)++] = idx;
				rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP);
			}
			if (rc != 0 && rc != MDB_NOTFOUND) {
				mdb_cursor_close(cur);
				return dberr(rc);
			}
		}
		mdb_cursor_close(cur);
		start = cover;
	}
	/* The entries behind the index: decoded and matched one by one. */
	if (start >= t->size)
		return 0;
	pb_arena a;
	pb_arena_init(&a, 4 * EVC_MAX_RECORD);
	if ((rc = mdb_cursor_open(t->txn, t->l->entries, &cur)) != 0) {
		pb_arena_free(&a);
		return dberr(rc);
	}
	size_t i = start;
	MDB_val k = u64val(&i), v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
	for (; rc == 0 && i < t->size; i++) {
		struct match_ctx m = { attr, val, len, 0 };
		/* Every attribute but the kind is a string or bytes field of the
		 * record, so its value is in the entry's bytes as it is: an entry
		 * without them cannot match, and is not decoded. */
		if (attr == RECORD_ATTR_KIND || memmem(v.mv_data, v.mv_size, val, len) != NULL) {
			const Record *rec = entry_record(&a, v.mv_data, v.mv_size);
			if (rec != NULL)
				record_attributes(rec, match_attr, &m);
		}
		if (m.hit) {
			if (*n == cap) {
				*next = i;
				break;
			}
			out[(*n)++] = i;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	pb_arena_free(&a);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return dberr(rc);
	return 0;
}
