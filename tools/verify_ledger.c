/*
 * verify_ledger.c — `evchain-verify ledger DATADIR --log-key FILE`: audit a
 * whole ledger offline. Recomputes the hash chain, every leaf and every
 * stored tree hash, checks each stored checkpoint (log signature, size, root:
 * since every root is recomputed from one verified sequence of entries the
 * checkpoints are mutually consistent), applies the key rules of keyring.h
 * entry by entry, and checks every record signature on all cores.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "evc.h"
#include "hash.h"
#include "keyring.h"
#include "keys.h"
#include "ledger.h"
#include "merkle.h"
#include "note.h"
#include "pb.h"
#include "record.h"
#include "verify.h"

#define CHUNK 65536u

typedef struct sig_job {
	uint64_t index;
	const uint8_t *rec;  /* in the LMDB map: valid while the snapshot is open */
	size_t rec_len;
	const uint8_t *sig;
	uint8_t pub[32];
} sig_job;

typedef struct sig_pool {
	sig_job *jobs;
	size_t n;
	size_t next;          /* atomically claimed in blocks */
	uint64_t first_bad;   /* minimum failing index, UINT64_MAX if none */
	pthread_mutex_t mu;
} sig_pool;

static void *
sig_worker(void *arg)
{
	sig_pool *p = arg;
	uint8_t *msg = malloc(sizeof(EVC_RECORD_SIG_PREFIX) + EVC_MAX_RECORD);

	if (msg == NULL)
		return NULL;
	for (;;) {
		size_t start = __atomic_fetch_add(&p->next, 256, __ATOMIC_RELAXED);
		if (start >= p->n)
			break;
		size_t end = start + 256 < p->n ? start + 256 : p->n;
		for (size_t i = start; i < end; i++) {
			sig_job *j = &p->jobs[i];
			size_t pl = sizeof(EVC_RECORD_SIG_PREFIX) - 1;
			memcpy(msg, EVC_RECORD_SIG_PREFIX, pl);
			memcpy(msg + pl, j->rec, j->rec_len);
			if (crypto_sign_verify_detached(j->sig, msg, pl + j->rec_len, j->pub) != 0) {
				pthread_mutex_lock(&p->mu);
				if (j->index < p->first_bad)
					p->first_bad = j->index;
				pthread_mutex_unlock(&p->mu);
			}
		}
	}
	free(msg);
	return NULL;
}

/* Verify jobs[0..n) on nthreads threads; returns the first bad index or UINT64_MAX. */
static uint64_t
verify_sigs(sig_job *jobs, size_t n, unsigned nthreads)
{
	sig_pool p = { jobs, n, 0, UINT64_MAX, PTHREAD_MUTEX_INITIALIZER };
	pthread_t th[64];
	unsigned started = 0;

	if (nthreads > 64)
		nthreads = 64;
	for (unsigned i = 1; i < nthreads; i++)
		if (pthread_create(&th[started], NULL, sig_worker, &p) == 0)
			started++;
	sig_worker(&p);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	return p.first_bad;
}

/* Set of (signer, record id) digests, to find a record logged twice. */
typedef struct rid_set {
	uint64_t *slots;
	size_t cap, n;
} rid_set;

static int
rid_add(rid_set *s, uint64_t h)
{
	if (h == 0)
		h = 1;
	if (2 * (s->n + 1) > s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 1024;
		uint64_t *ns = calloc(nc, sizeof(*ns));
		if (ns == NULL)
			return EVC_ENOMEM;
		for (size_t i = 0; i < s->cap; i++) {
			if (s->slots[i] == 0)
				continue;
			size_t k = (size_t)s->slots[i] & (nc - 1);
			while (ns[k] != 0)
				k = (k + 1) & (nc - 1);
			ns[k] = s->slots[i];
		}
		free(s->slots);
		s->slots = ns;
		s->cap = nc;
	}
	size_t k = (size_t)h & (s->cap - 1);
	while (s->slots[k] != 0) {
		if (s->slots[k] == h)
			return EVC_ECONFLICT;
		k = (k + 1) & (s->cap - 1);
	}
	s->slots[k] = h;
	s->n++;
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct audit {
	uint64_t bad_index;    /* UINT64_MAX: none */
	char why[512];
} audit;

__attribute__((format(printf, 3, 4))) static void
fail_at(audit *a, uint64_t index, const char *fmt, ...)
{
	va_list ap;

	if (index >= a->bad_index)
		return;
	a->bad_index = index;
	va_start(ap, fmt);
	if (vsnprintf(a->why, sizeof(a->why), fmt, ap) < 0)
		a->why[0] = '\0';
	va_end(ap);
}

int
verify_ledger(const char *dir, const evc_vkey *log_key, unsigned threads, int quiet)
{
	ledger_opts o = { .read_only = 1, .no_check = 1 };
	ledger *l = NULL;
	ledger_txn *t = NULL;
	keyring *kr = NULL;
	sig_job *jobs = NULL;
	rid_set rids = { 0 };
	pb_arena arena;
	audit a = { UINT64_MAX, "" };
	char err[512];
	int rc, ret = 1;
	merkle_stream st;
	uint8_t prev[32] = { 0 };
	int64_t prev_time = 0;
	uint64_t ncheckpoints = 0, next_cp = 0, nsigs = 0;
	const char *cp_note = NULL;
	size_t cp_len = 0;
	int64_t cp_time = 0, prev_cp_time = 0;
	int tty = isatty(2);
	double t0 = now_s(), last_progress = t0;

	pb_arena_init(&arena, 4 * EVC_MAX_ENTRY + 65536);
	if ((rc = ledger_open(dir, &o, &l, err, sizeof(err))) != 0) {
		fprintf(stderr, "evchain-verify: %s\n", err);
		goto out;
	}
	if ((rc = ledger_read_begin(l, &t)) != 0) {
		fprintf(stderr, "evchain-verify: cannot read %s: %s\n", dir, evc_strerror(rc));
		goto out;
	}
	if (strcmp(ledger_origin(l), log_key->name) != 0 && ledger_txn_size(t) > 0) {
		fprintf(stderr, "evchain-verify: the ledger's origin is \"%s\" but the log key is \"%s\"\n",
		    ledger_origin(l), log_key->name);
		goto out;
	}
	if ((kr = keyring_new(log_key)) == NULL || (jobs = calloc(CHUNK, sizeof(*jobs))) == NULL) {
		fprintf(stderr, "evchain-verify: out of memory\n");
		goto out;
	}

	uint64_t n = ledger_txn_size(t);
	merkle_stream_init(&st);
	rc = ledger_next_checkpoint(t, 0, &next_cp, &cp_note, &cp_len, &cp_time);
	if (rc == EVC_ENOTFOUND)
		next_cp = UINT64_MAX;
	else if (rc != 0) {
		fail_at(&a, 0, "cannot read the checkpoints: %s", evc_strerror(rc));
		next_cp = UINT64_MAX;
	}

	for (uint64_t base = 0; base < n && a.bad_index == UINT64_MAX; base += CHUNK) {
		uint64_t end = base + CHUNK < n ? base + CHUNK : n;
		size_t nj = 0;

		for (uint64_t i = base; i < end; i++) {
			const uint8_t *eb;
			size_t el;
			char why[256];

			pb_arena_reset(&arena);
			if ((rc = ledger_entry(t, i, &eb, &el)) != 0) {
				fail_at(&a, i, "entry is missing (%s)", evc_strerror(rc));
				break;
			}
			Evchain__V1__Entry *e = (Evchain__V1__Entry *)pb_unpack(&arena,
			    &evchain__v1__entry__descriptor, eb, el);
			if (e == NULL) {
				fail_at(&a, i, "entry bytes do not decode");
				break;
			}
			if (e->index != i) {
				fail_at(&a, i, "entry says index %" PRIu64 " (entries reordered or swapped)",
				    e->index);
				break;
			}
			if (e->prev_leaf_hash.len != 32 || memcmp(e->prev_leaf_hash.data, prev, 32) != 0) {
				fail_at(&a, i, "hash chain broken: previous leaf hash does not match entry %" PRIu64,
				    i ? i - 1 : 0);
				break;
			}
			if (e->log_time_ms < prev_time) {
				fail_at(&a, i, "log time goes backwards (%" PRId64 " < %" PRId64 ")",
				    e->log_time_ms, prev_time);
				break;
			}
			prev_time = e->log_time_ms;

			/* Leaf and stored tree hashes. */
			uint8_t leaf[32], stored[MERKLE_MAX_HEIGHT + 1][32], have[32];
			merkle_leaf_hash(eb, el, leaf);
			uint64_t si = merkle_stored_index(0, i);
			unsigned ns = merkle_stream_push(&st, leaf, stored);
			for (unsigned j = 0; j < ns; j++) {
				if (ledger_stored_hash(t, si + j, have) != 0) {
					fail_at(&a, i, "stored tree hash %" PRIu64 " is missing", si + j);
					break;
				}
				if (memcmp(have, stored[j], 32) != 0) {
					fail_at(&a, i, j == 0 ? "stored leaf hash differs from the entry's hash"
					    : "stored tree hash (level %u) differs from the recomputed one", j);
					break;
				}
			}
			if (a.bad_index != UINT64_MAX)
				break;
			memcpy(prev, leaf, 32);

			/* The record, its signer and its key. */
			if (e->signature.len != 64) {
				fail_at(&a, i, "signature is %zu bytes, not 64", e->signature.len);
				break;
			}
			Record *r = record_decode(&arena, e->record.data, e->record.len);
			if (r == NULL) {
				fail_at(&a, i, "record bytes do not decode");
				break;
			}
			if (strcmp(r->signer, e->key_name) != 0) {
				fail_at(&a, i, "entry key name \"%s\" differs from the record's signer \"%s\"",
				    e->key_name, r->signer);
				break;
			}
			if (record_validate(r, e->log_time_ms, why, sizeof(why)) != 0) {
				fail_at(&a, i, "record is invalid: %s", why);
				break;
			}
			const keyring_key *k;
			if (keyring_check(kr, r->signer, r, i, e->log_time_ms, &k, why, sizeof(why)) != 0) {
				fail_at(&a, i, "%s", why);
				break;
			}
			uint8_t rh[32];
			size_t sigl;
			hash_sha256_2(r->signer, strlen(r->signer) + 1, r->record_id, strlen(r->record_id), rh);
			uint64_t h64;
			memcpy(&h64, rh, 8);
			if ((rc = rid_add(&rids, h64)) != 0) {
				fail_at(&a, i, rc == EVC_ECONFLICT ? "record id \"%s\" of \"%s\" is logged twice"
				    : "out of memory (%s%s)", r->record_id, r->signer);
				break;
			}
			/* The job points into the map (valid while the snapshot is
			 * open), not into the decoded copy, which the arena reuses. */
			sig_job *j = &jobs[nj];
			if (pb_field_bytes(eb, el, 5, &j->rec, &j->rec_len) != 0 ||
			    pb_field_bytes(eb, el, 6, &j->sig, &sigl) != 0 || sigl != 64) {
				fail_at(&a, i, "entry fields cannot be located");
				break;
			}
			nj++;
			j->index = i;
			memcpy(j->pub, k->vk.pub, 32);
			if (record_kind(r) == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY &&
			    (rc = keyring_apply(kr, r, i)) != 0) {
				fail_at(&a, i, "key record conflicts with the key history (%s)", evc_strerror(rc));
				break;
			}

			/* A checkpoint for this size? */
			while (i + 1 == next_cp || (next_cp <= i && next_cp != UINT64_MAX)) {
				note nt;
				checkpoint cp;
				uint8_t root[32];
				if (next_cp <= i) {
					fail_at(&a, i, "checkpoint of size %" PRIu64 " was not matched", next_cp);
					break;
				}
				merkle_stream_root(&st, root);
				if ((rc = note_open(cp_note, cp_len, log_key, 1, &nt)) < 0) {
					fail_at(&a, i, "checkpoint of size %" PRIu64 ": log signature: %s",
					    next_cp, evc_strerror(rc));
					break;
				}
				if (checkpoint_parse(nt.text, nt.text_len, &cp) != 0 || cp.size != next_cp ||
				    strcmp(cp.origin, log_key->name) != 0) {
					fail_at(&a, i, "checkpoint of size %" PRIu64 " is malformed", next_cp);
					break;
				}
				if (memcmp(cp.root, root, 32) != 0) {
					fail_at(&a, i, "checkpoint of size %" PRIu64 " signs a root that the entries "
					    "do not give", next_cp);
					break;
				}
				/* The writer stores each checkpoint with the log time of
				 * its batch, which is its last entry's: a stored time the
				 * signature does not cover must still be that one. */
				if (cp_time < prev_cp_time || cp_time != e->log_time_ms) {
					fail_at(&a, i, "checkpoint of size %" PRIu64 " has log time %" PRId64
					    ", not its last entry's %" PRId64, next_cp, cp_time, e->log_time_ms);
					break;
				}
				prev_cp_time = cp_time;
				ncheckpoints++;
				rc = ledger_next_checkpoint(t, next_cp, &next_cp, &cp_note, &cp_len, &cp_time);
				if (rc == EVC_ENOTFOUND) {
					next_cp = UINT64_MAX;
				} else if (rc != 0) {
					fail_at(&a, i, "cannot read the checkpoints: %s", evc_strerror(rc));
					break;
				}
			}
			if (a.bad_index != UINT64_MAX)
				break;
		}

		/* Signatures of the chunk, on all cores, up to the first other failure. */
		uint64_t bad = verify_sigs(jobs, nj, threads);
		nsigs += nj;
		if (bad != UINT64_MAX)
			fail_at(&a, bad, "record signature does not verify with the signer's key");

		double tnow = now_s();
		if (!quiet && (tnow - last_progress > (tty ? 0.5 : 10.0))) {
			fprintf(stderr, tty ? "\rverified %" PRIu64 " / %" PRIu64 " entries (%.0f%%)"
			    : "verified %" PRIu64 " / %" PRIu64 " entries (%.0f%%)\n",
			    end, n, 100.0 * (double)end / (double)n);
			last_progress = tnow;
		}
	}
	if (!quiet && tty && n > CHUNK)
		fputc('\n', stderr);

	if (a.bad_index == UINT64_MAX) {
		/* Entries missing at the end (a truncated log): the first bad
		 * index is the first missing one, n. */
		uint64_t want = merkle_stored_count(n), have = ledger_stored_hash_count(t);
		if (next_cp != UINT64_MAX)
			fail_at(&a, n, "entry is missing: a checkpoint of size %" PRIu64 " covers it "
			    "(the ledger holds %" PRIu64 " entries)", next_cp, n);
		else if (have > want)
			fail_at(&a, n, "entry is missing: %" PRIu64 " stored tree hashes, %" PRIu64
			    " entries give %" PRIu64, have, n, want);
		else if (n > 0 && ncheckpoints == 0)
			fail_at(&a, n - 1, "no checkpoint covers the entries");
		else if (want != have)
			fail_at(&a, n ? n - 1 : 0, "%" PRIu64 " stored tree hashes, expected %" PRIu64,
			    have, want);
	}

	if (a.bad_index != UINT64_MAX) {
		printf("FAIL: %s: entry %" PRIu64 ": %s\n", dir, a.bad_index, a.why);
		goto out;
	}
	{
		uint8_t root[32];
		char b64[64];
		merkle_stream_root(&st, root);
		b64_encode(root, 32, b64, sizeof(b64));
		printf("OK: %s: %" PRIu64 " entries, hash chain and %" PRIu64 " tree hashes recomputed, "
		    "%" PRIu64 " signatures verified, %" PRIu64 " checkpoints consistent, %zu keys\n",
		    dir, n, merkle_stored_count(n), nsigs, ncheckpoints, keyring_count(kr));
		printf("    origin %s, size %" PRIu64 ", root %s (%.2f s)\n", log_key->name, n, b64,
		    now_s() - t0);
	}
	ret = 0;
out:
	ledger_read_end(t);
	ledger_close(l);
	keyring_free(kr);
	free(jobs);
	free(rids.slots);
	pb_arena_free(&arena);
	return ret;
}
