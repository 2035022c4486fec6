/*
 * cli_audit.c — `evchain audit`, for the supervision authority and the
 * discipline commission: the compliance findings of lib/audit.h over the
 * whole log, each resting only on verified entries.
 *
 *   1. the latest checkpoint, signed by the log key (profile log_key);
 *   2. every entry 0 .. size-1, fetched in pages (EntriesRequest, a few
 *      pages in flight), checked as `evchain monitor` checks them: index,
 *      hash chain (previous leaf hash), log time order, record decoding,
 *      signer, key validity at that index (node-key records replayed into a
 *      keyring from the log key) and the node's Ed25519 signature (on every
 *      core), each leaf pushed on a merkle_stream;
 *   3. the recomputed root must be the signed root: one comparison proves
 *      every entry included in the signed tree (what n inclusion proofs
 *      would show, at the cost of one SHA-256 per entry and O(log n) memory);
 *   4. only then the rules run (audit_finish) and the findings are printed.
 * Any failure stops the audit with "verification failed at entry N: …" and
 * exit status 1, and no finding is printed. A broken hash chain or a wrong
 * root is pinned to the altered entry with inclusion proofs from the log.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "bundle.h"
#include "cli_audit.h"
#include "client.h"
#include "evc.h"
#include "keyring.h"
#include "merkle.h"
#include "note.h"
#include "pbjson.h"
#include "policy.h"
#include "record.h"

#define EX_OK 0
#define EX_FAIL 1
#define EX_USAGE 2

#define MAX_WINDOW 16u
#define MAX_THREADS 64u
#define CLAIM 32u                 /* signatures claimed at once by a thread */
#define HTML_MAX_CITED 5000u      /* entries shown in full in the HTML report */

typedef Evchain__V1__Request Request;
typedef Evchain__V1__Response Response;

/* ---- signature pool ---------------------------------------------------------- */

typedef struct sigjob {
	const uint8_t *rec;
	size_t len;
	const uint8_t *sig;
	const evc_vkey *vk;
	uint64_t index;
} sigjob;

typedef struct pool {
	pthread_t th[MAX_THREADS];
	unsigned nth;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	const sigjob *jobs;
	size_t njobs, next, finished;
	uint64_t gen;
	int stop;
	int bad;
	uint64_t bad_index;
} pool;

/* Claim up to CLAIM jobs of the current batch; 0 when there are none. */
static size_t
pool_claim(pool *pl, uint64_t gen, size_t *first)
{
	size_t n = 0;
	pthread_mutex_lock(&pl->mu);
	if (pl->gen == gen && pl->next < pl->njobs) {
		*first = pl->next;
		n = pl->njobs - pl->next < CLAIM ? pl->njobs - pl->next : CLAIM;
		pl->next += n;
	}
	pthread_mutex_unlock(&pl->mu);
	return n;
}

static void
pool_run(pool *pl, uint64_t gen, const sigjob *jobs)
{
	size_t first, n;
	while ((n = pool_claim(pl, gen, &first)) > 0) {
		uint64_t bad = UINT64_MAX;
		for (size_t i = first; i < first + n; i++) {
			const sigjob *j = &jobs[i];
			if (record_verify(j->vk, j->rec, j->len, j->sig) != 0 && j->index < bad)
				bad = j->index;
		}
		pthread_mutex_lock(&pl->mu);
		if (bad != UINT64_MAX && (!pl->bad || bad < pl->bad_index)) {
			pl->bad = 1;
			pl->bad_index = bad;
		}
		pl->finished += n;
		if (pl->finished == pl->njobs)
			pthread_cond_broadcast(&pl->done);
		pthread_mutex_unlock(&pl->mu);
	}
}

static void *
pool_main(void *arg)
{
	pool *pl = arg;
	uint64_t seen = 0;
	for (;;) {
		pthread_mutex_lock(&pl->mu);
		while (!pl->stop && pl->gen == seen)
			pthread_cond_wait(&pl->work, &pl->mu);
		if (pl->stop) {
			pthread_mutex_unlock(&pl->mu);
			return NULL;
		}
		seen = pl->gen;
		const sigjob *jobs = pl->jobs;
		pthread_mutex_unlock(&pl->mu);
		pool_run(pl, seen, jobs);
	}
}

static int
pool_start(pool *pl, unsigned n)
{
	memset(pl, 0, sizeof(*pl));
	pthread_mutex_init(&pl->mu, NULL);
	pthread_cond_init(&pl->work, NULL);
	pthread_cond_init(&pl->done, NULL);
	for (unsigned i = 0; i < n; i++) {
		if (pthread_create(&pl->th[i], NULL, pool_main, pl) != 0)
			break;
		pl->nth++;
	}
	return 0; /* with no thread the main thread verifies alone */
}

static void
pool_stop(pool *pl)
{
	pthread_mutex_lock(&pl->mu);
	pl->stop = 1;
	pthread_cond_broadcast(&pl->work);
	pthread_mutex_unlock(&pl->mu);
	for (unsigned i = 0; i < pl->nth; i++)
		pthread_join(pl->th[i], NULL);
	pthread_mutex_destroy(&pl->mu);
	pthread_cond_destroy(&pl->work);
	pthread_cond_destroy(&pl->done);
}

/* Start a batch (the previous one must be finished). */
static void
pool_submit(pool *pl, const sigjob *jobs, size_t n)
{
	pthread_mutex_lock(&pl->mu);
	pl->jobs = jobs;
	pl->njobs = n;
	pl->next = pl->finished = 0;
	pl->bad = 0;
	pl->gen++;
	pthread_cond_broadcast(&pl->work);
	pthread_mutex_unlock(&pl->mu);
}

/* Help with the batch, then wait for it. */
static void
pool_wait(pool *pl)
{
	pthread_mutex_lock(&pl->mu);
	uint64_t gen = pl->gen;
	const sigjob *jobs = pl->jobs;
	pthread_mutex_unlock(&pl->mu);
	pool_run(pl, gen, jobs);
	pthread_mutex_lock(&pl->mu);
	while (pl->finished < pl->njobs)
		pthread_cond_wait(&pl->done, &pl->mu);
	pthread_mutex_unlock(&pl->mu);
}

/* ---- state -------------------------------------------------------------------- */

typedef struct slot {
	int used;          /* 1: requested (resp NULL until it arrives) */
	int busy;          /* being verified / fed */
	uint64_t id, start;
	uint32_t count;
	pb_arena arena;
	Response *resp;
} slot;

typedef struct dpage {
	slot *sl;
	uint64_t start;
	size_t n, cap;
	Record **recs;
	int64_t *log_ms;
	const char **agency;
	sigjob *jobs;
	evc_vkey *keys;
} dpage;

typedef struct cited {
	uint64_t index;
	int ok;
	int64_t log_ms;
	char kind[32];
	char *signer;
	char *json;       /* the record as JSON */
} cited;

typedef struct auditor {
	const evc_profile *p;
	evc_client *c;
	checkpoint cp;
	size_t cosigned;
	/* options */
	audit_opts ao;
	const char *format, *out, *bundle_dir;
	uint32_t page;
	unsigned window, threads;
	int quiet, tty;
	/* verification */
	keyring *kr;
	merkle_stream ms;
	uint8_t prev_leaf[32];
	int64_t prev_time;
	uint64_t invalid, first_invalid;
	char first_invalid_why[300];
	pool pl;
	slot slots[MAX_WINDOW + 2];
	audit *eng;
	/* failure: the lowest entry found failing */
	int failed;
	uint64_t fail_index;
	char fail_why[1200];
	int conn_failed;
	char conn_why[1024];
	/* progress */
	double t0, last;
	/* report */
	double verify_s;
	cited *cit;
	size_t ncit;
} auditor;

static double
mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((format(printf, 3, 4))) static void
fail_at(auditor *A, uint64_t index, const char *fmt, ...)
{
	if (A->failed && A->fail_index < index)
		return;
	char msg[sizeof(A->fail_why)];
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	if (A->failed && A->fail_index == index) {
		/* a second reason about the same entry: add it */
		size_t l = strlen(A->fail_why);
		if (strstr(A->fail_why, msg) == NULL)
			snprintf(A->fail_why + l, sizeof(A->fail_why) - l, "; %s", msg);
		return;
	}
	memcpy(A->fail_why, msg, sizeof(msg));
	A->failed = 1;
	A->fail_index = index;
}

__attribute__((format(printf, 2, 3))) static void
conn_fail(auditor *A, const char *fmt, ...)
{
	if (A->conn_failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(A->conn_why, sizeof(A->conn_why), fmt, ap) < 0)
		A->conn_why[0] = '\0';
	va_end(ap);
	A->conn_failed = 1;
}

static int
status_code(const Response *r)
{
	return r->status ? (int)r->status->code : 0;
}

static const char *
status_msg(const Response *r)
{
	return r->status && r->status->message ? r->status->message : "";
}

/* ---- requests ---------------------------------------------------------------------- */

static slot *
slot_by_id(auditor *A, uint64_t id)
{
	for (size_t i = 0; i < A->window + 2; i++)
		if (A->slots[i].used && !A->slots[i].busy && A->slots[i].resp == NULL &&
		    A->slots[i].id == id)
			return &A->slots[i];
	return NULL;
}

static void
slot_release(slot *s)
{
	if (s->used)
		pb_arena_free(&s->arena);
	memset(s, 0, sizeof(*s));
}

/* Move an arena (it points to itself for protobuf-c). */
static void
arena_move(pb_arena *dst, const pb_arena *src)
{
	*dst = *src;
	dst->alloc.allocator_data = dst;
}

/*
 * Receive responses until the one with id `want` (UINT64_MAX: until any
 * page slot is filled); page responses go to their slots, unknown ids are
 * dropped. With want set, *a / *r receive it (the caller frees a).
 */
static int
pump(auditor *A, uint64_t want, pb_arena *out_a, Response **out_r)
{
	for (;;) {
		pb_arena a;
		Response *r;
		pb_arena_init(&a, CLIENT_MAX_FRAME * 4u);
		if (client_recv(A->c, &a, &r) != 0) {
			pb_arena_free(&a);
			conn_fail(A, "the connection to the log failed: %s", client_error(A->c));
			return -1;
		}
		if (want != UINT64_MAX && r->id == want) {
			arena_move(out_a, &a);
			*out_r = r;
			return 0;
		}
		slot *s = slot_by_id(A, r->id);
		if (s == NULL) {
			pb_arena_free(&a);
			continue;
		}
		arena_move(&s->arena, &a);
		s->resp = r;
		if (want == UINT64_MAX)
			return 0;
	}
}

static int
send_entries(auditor *A, slot *s, uint64_t start, uint32_t count)
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__EntriesRequest er = EVCHAIN__V1__ENTRIES_REQUEST__INIT;
	er.start = start;
	er.count = count;
	q.op_case = EVCHAIN__V1__REQUEST__OP_ENTRIES;
	q.entries = &er;
	int64_t id = client_send(A->c, &q);
	if (id < 0) {
		conn_fail(A, "the connection to the log failed: %s", client_error(A->c));
		return -1;
	}
	memset(s, 0, sizeof(*s));
	s->used = 1;
	s->id = (uint64_t)id;
	s->start = start;
	s->count = count;
	return 0;
}

/* One request, its response (other responses are parked or dropped). */
static int
call(auditor *A, Request *q, pb_arena *a, Response **r)
{
	int64_t id = client_send(A->c, q);
	if (id < 0) {
		conn_fail(A, "the connection to the log failed: %s", client_error(A->c));
		return -1;
	}
	return pump(A, (uint64_t)id, a, r);
}

/* Entry bytes of index i (copied to *buf, malloc'd). */
static int
fetch_entry(auditor *A, uint64_t i, uint8_t **buf, size_t *len)
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__EntriesRequest er = EVCHAIN__V1__ENTRIES_REQUEST__INIT;
	pb_arena a;
	Response *r;
	er.start = i;
	er.count = 1;
	q.op_case = EVCHAIN__V1__REQUEST__OP_ENTRIES;
	q.entries = &er;
	if (call(A, &q, &a, &r) != 0)
		return -1;
	int ok = status_code(r) == 0 && r->result_case == EVCHAIN__V1__RESPONSE__RESULT_ENTRIES &&
	    r->entries->start == i && r->entries->n_entries >= 1;
	if (ok && (*buf = malloc(r->entries->entries[0].len + 1)) != NULL) {
		memcpy(*buf, r->entries->entries[0].data, r->entries->entries[0].len);
		*len = r->entries->entries[0].len;
	} else {
		if (ok)
			conn_fail(A, "out of memory");
		else
			conn_fail(A, "the log did not give entry %" PRIu64 ": %s: %s", i,
			    client_status_name(status_code(r)), status_msg(r));
		ok = 0;
	}
	pb_arena_free(&a);
	return ok ? 0 : -1;
}

/* Is leaf hash `leaf` at index i in the signed tree? 1 yes, 0 no, -1 error. */
static int
leaf_included(auditor *A, uint64_t i, const uint8_t leaf[32])
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__InclusionProofRequest pr = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__INIT;
	pb_arena a;
	Response *r;
	uint8_t proof[EVC_MAX_PROOF][32];
	pr.leaf_case = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__LEAF_INDEX;
	pr.index = i;
	pr.tree_size = A->cp.size;
	q.op_case = EVCHAIN__V1__REQUEST__OP_INCLUSION_PROOF;
	q.inclusion_proof = &pr;
	if (call(A, &q, &a, &r) != 0)
		return -1;
	int ret = -1;
	if (status_code(r) != 0 || r->result_case != EVCHAIN__V1__RESPONSE__RESULT_INCLUSION_PROOF) {
		conn_fail(A, "the log gave no inclusion proof for entry %" PRIu64 ": %s: %s", i,
		    client_status_name(status_code(r)), status_msg(r));
		goto out;
	}
	const Evchain__V1__InclusionProofResponse *p = r->inclusion_proof;
	ret = p->n_proof <= EVC_MAX_PROOF && p->index == i && p->tree_size == A->cp.size;
	for (size_t k = 0; ret == 1 && k < p->n_proof; k++) {
		if (p->proof[k].len != 32)
			ret = 0;
		else
			memcpy(proof[k], p->proof[k].data, 32);
	}
	if (ret == 1)
		ret = merkle_verify_inclusion(i, A->cp.size, leaf, (const uint8_t(*)[32])proof, p->n_proof,
		    A->cp.root) == 0;
out:
	pb_arena_free(&a);
	return ret;
}

/* ---- verification of one page ------------------------------------------------------ */

static int
dpage_reserve(dpage *d, size_t n)
{
	if (n <= d->cap)
		return 0;
	free(d->recs);
	free(d->log_ms);
	free(d->agency);
	free(d->jobs);
	free(d->keys);
	d->recs = calloc(n, sizeof(*d->recs));
	d->log_ms = calloc(n, sizeof(*d->log_ms));
	d->agency = calloc(n, sizeof(*d->agency));
	d->jobs = calloc(n, sizeof(*d->jobs));
	d->keys = calloc(n, sizeof(*d->keys));
	d->cap = n;
	return d->recs && d->log_ms && d->agency && d->jobs && d->keys ? 0 : -1;
}

static void
dpage_free(dpage *d)
{
	free(d->recs);
	free(d->log_ms);
	free(d->agency);
	free(d->jobs);
	free(d->keys);
	memset(d, 0, sizeof(*d));
}

enum { CHK_OK = 0, CHK_FAIL = 1, CHK_CHAIN = 2 };

/* Check entry i (bytes eb) and queue its signature in d at position k. */
static int
check_one(auditor *A, dpage *d, size_t k, uint64_t i, const uint8_t *eb, size_t el, char *why,
    size_t cap)
{
	pb_arena *a = &d->sl->arena;
	char reason[512];
	Evchain__V1__Entry *e = (Evchain__V1__Entry *)pb_unpack(a, &evchain__v1__entry__descriptor,
	    eb, el);
	if (e == NULL) {
		snprintf(why, cap, "the entry bytes do not decode");
		return CHK_FAIL;
	}
	if (e->index != i) {
		snprintf(why, cap, "the entry says index %" PRIu64, e->index);
		return CHK_FAIL;
	}
	if (e->prev_leaf_hash.len != 32 || memcmp(e->prev_leaf_hash.data, A->prev_leaf, 32) != 0) {
		snprintf(why, cap, "hash chain broken: its previous leaf hash is not entry %" PRIu64 "'s",
		    i ? i - 1 : 0);
		return i > 0 ? CHK_CHAIN : CHK_FAIL;
	}
	if (e->log_time_ms < A->prev_time) {
		snprintf(why, cap, "log time goes backwards (%" PRId64 " < %" PRId64 ")", e->log_time_ms,
		    A->prev_time);
		return CHK_FAIL;
	}
	if (e->signature.len != 64) {
		snprintf(why, cap, "the signature is %zu bytes, not 64", e->signature.len);
		return CHK_FAIL;
	}
	Record *r = record_decode(a, e->record.data, e->record.len);
	if (r == NULL) {
		snprintf(why, cap, "the record bytes do not decode");
		return CHK_FAIL;
	}
	if (r->signer == NULL || strcmp(r->signer, e->key_name) != 0) {
		snprintf(why, cap, "the entry names signer \"%.100s\" but the record \"%.100s\"", e->key_name,
		    r->signer ? r->signer : "");
		return CHK_FAIL;
	}
	int key_record = record_kind(r) == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY;
	if (record_validate(r, e->log_time_ms, reason, sizeof(reason)) != 0) {
		if (key_record) {
			snprintf(why, cap, "the key record is invalid: %s", reason);
			return CHK_FAIL;
		}
		/* Judged by the rules all the same; said in the report. */
		if (A->invalid++ == 0) {
			A->first_invalid = i;
			snprintf(A->first_invalid_why, sizeof(A->first_invalid_why), "%.280s", reason);
		}
	}
	const keyring_key *key;
	if (keyring_check(A->kr, r->signer, r, i, e->log_time_ms, &key, reason, sizeof(reason)) != 0) {
		snprintf(why, cap, "signer \"%.100s\" may not sign it: %s", r->signer, reason);
		return CHK_FAIL;
	}
	d->keys[k] = key->vk;
	size_t al = strlen(key->agency);
	char *ag = pb_arena_alloc(a, al + 1);
	if (ag == NULL) {
		snprintf(why, cap, "out of memory");
		return CHK_FAIL;
	}
	memcpy(ag, key->agency, al + 1);
	d->agency[k] = ag;
	d->recs[k] = r;
	d->log_ms[k] = e->log_time_ms;
	d->jobs[k].rec = e->record.data;
	d->jobs[k].len = e->record.len;
	d->jobs[k].sig = e->signature.data;
	d->jobs[k].vk = &d->keys[k];
	d->jobs[k].index = i;
	if (key_record) {
		int rc = keyring_apply(A->kr, r, i);
		if (rc != 0) {
			snprintf(why, cap, "the key record conflicts with the key history (%s)",
			    evc_strerror(rc));
			return CHK_FAIL;
		}
	}
	uint8_t leaf[32];
	merkle_leaf_hash(eb, el, leaf);
	merkle_stream_push(&A->ms, leaf, NULL);
	memcpy(A->prev_leaf, leaf, 32);
	A->prev_time = e->log_time_ms;
	return CHK_OK;
}

/* Structural checks of the entries of slot s into d; d->n set to the
 * entries that passed. A failure is recorded (fail_at) and -1 returned. */
static int
check_page(auditor *A, dpage *d, slot *s)
{
	const Evchain__V1__EntriesResponse *er = s->resp->entries;
	char why[1024];
	d->sl = s;
	d->start = s->start;
	d->n = 0;
	if (dpage_reserve(d, er->n_entries) != 0) {
		conn_fail(A, "out of memory");
		return -1;
	}
	for (size_t k = 0; k < er->n_entries; k++) {
		uint64_t i = s->start + k;
		uint8_t prev[32];
		memcpy(prev, A->prev_leaf, 32);
		int rc = check_one(A, d, k, i, er->entries[k].data, er->entries[k].len, why, sizeof(why));
		if (rc == CHK_OK) {
			d->n++;
			continue;
		}
		if (rc == CHK_CHAIN) {
			/* Entry i-1 altered, or entry i's link? Ask the signed tree. */
			int inc = leaf_included(A, i - 1, prev);
			if (inc < 0)
				return -1;
			if (inc == 0)
				fail_at(A, i - 1, "its leaf hash is not in the log's signed tree of size %" PRIu64
				    " (the entry's bytes differ from what was logged)", A->cp.size);
			else
				fail_at(A, i, "%s (that entry is in the signed tree: this one was altered)", why);
		} else {
			fail_at(A, i, "%s", why);
		}
		return -1;
	}
	return 0;
}

/* Signatures of d verified: any failure recorded; feed the engine. */
static int
finish_page(auditor *A, dpage *d)
{
	pool_wait(&A->pl);
	if (A->pl.bad) {
		uint64_t i = A->pl.bad_index;
		const Record *r = d->recs[i - d->start];
		fail_at(A, i, "the node signature does not verify with \"%s\"'s key", r->signer);
		return -1;
	}
	if (A->failed)
		return -1;
	for (size_t k = 0; k < d->n; k++) {
		int rc = audit_add(A->eng, d->start + k, d->log_ms[k], d->recs[k], d->agency[k]);
		if (rc != 0) {
			conn_fail(A, "the rules engine failed: %s", evc_strerror(rc));
			return -1;
		}
	}
	return 0;
}

static void
progress(auditor *A, uint64_t done, int last)
{
	if (A->quiet || A->cp.size < 10000)
		return;
	double now = mono_s();
	if (!last && now - A->last < (A->tty ? 0.5 : 10.0))
		return;
	A->last = now;
	double rate = (double)done / (now - A->t0 > 1e-3 ? now - A->t0 : 1e-3);
	double eta = rate > 0 ? (double)(A->cp.size - done) / rate : 0;
	fprintf(stderr, "%saudit: verified %" PRIu64 " / %" PRIu64 " entries (%.0f%%), %.0f entries/s, "
	    "ETA %.0f s%s", A->tty ? "\r" : "", done, A->cp.size,
	    100.0 * (double)done / (double)A->cp.size, rate, eta, A->tty ? "   " : "\n");
	if (A->tty && last)
		fputc('\n', stderr);
	fflush(stderr);
}

/* Drop every request in flight (their responses are discarded on arrival). */
static void
drop_inflight(auditor *A)
{
	for (size_t i = 0; i < A->window + 2; i++)
		if (A->slots[i].used && !A->slots[i].busy)
			slot_release(&A->slots[i]);
}

/* Pin a root mismatch on the first entry whose leaf is not in the signed
 * tree (the chain held, so the bad entries form a suffix). */
static void
localise_root(auditor *A)
{
	uint64_t lo = 0, hi = A->cp.size - 1;
	uint8_t *e;
	size_t el;
	uint8_t leaf[32];
	if (fetch_entry(A, hi, &e, &el) != 0)
		return;
	merkle_leaf_hash(e, el, leaf);
	free(e);
	int inc = leaf_included(A, hi, leaf);
	if (inc < 0)
		return;
	if (inc == 1) {
		fail_at(A, hi, "the %" PRIu64 " entries served do not give the signed root", A->cp.size);
		return;
	}
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (fetch_entry(A, mid, &e, &el) != 0)
			return;
		merkle_leaf_hash(e, el, leaf);
		free(e);
		if ((inc = leaf_included(A, mid, leaf)) < 0)
			return;
		if (inc)
			lo = mid + 1;
		else
			hi = mid;
	}
	fail_at(A, lo, "its leaf hash is not in the log's signed tree of size %" PRIu64
	    " (the entry's bytes differ from what was logged)", A->cp.size);
}

/* Verify every entry and feed the engine. 0, or -1 with A->failed or
 * A->conn_failed set. */
static int
verify_all(auditor *A)
{
	dpage pages[2];
	memset(pages, 0, sizeof(pages));
	dpage *prev = NULL;
	uint64_t next_send = 0, next_proc = 0, size = A->cp.size;
	uint32_t page = A->page;
	int ret = -1;

	A->t0 = A->last = mono_s();
	while (next_proc < size) {
		/* Keep `window` requests in flight. */
		size_t inflight = 0;
		for (size_t i = 0; i < A->window + 2; i++)
			if (A->slots[i].used && !A->slots[i].busy)
				inflight++;
		while (inflight < A->window && next_send < size) {
			slot *s = NULL;
			for (size_t i = 0; i < A->window + 2 && s == NULL; i++)
				if (!A->slots[i].used)
					s = &A->slots[i];
			if (s == NULL)
				break;
			uint32_t n = size - next_send < page ? (uint32_t)(size - next_send) : page;
			if (send_entries(A, s, next_send, n) != 0)
				goto out;
			next_send += n;
			inflight++;
		}
		slot *s = NULL;
		for (size_t i = 0; i < A->window + 2 && s == NULL; i++)
			if (A->slots[i].used && !A->slots[i].busy && A->slots[i].start == next_proc)
				s = &A->slots[i];
		if (s == NULL) {
			conn_fail(A, "internal error: no request for entry %" PRIu64, next_proc);
			goto out;
		}
		while (s->resp == NULL)
			if (pump(A, UINT64_MAX, NULL, NULL) != 0)
				goto out;
		int code = status_code(s->resp);
		if ((code == EVCHAIN__V1__STATUS__CODE__TOO_LARGE ||
		    code == EVCHAIN__V1__STATUS__CODE__RESOURCE_EXHAUSTED) && page > 1) {
			page /= 2; /* large entries: smaller pages */
			drop_inflight(A);
			next_send = next_proc;
			continue;
		}
		const Evchain__V1__EntriesResponse *er = s->resp->entries;
		if (code != 0 || s->resp->result_case != EVCHAIN__V1__RESPONSE__RESULT_ENTRIES ||
		    er->start != s->start || er->n_entries == 0 || er->n_entries > s->count) {
			conn_fail(A, "the log did not give entries from %" PRIu64 ": %s: %s", s->start,
			    client_status_name(code), status_msg(s->resp));
			goto out;
		}
		if (er->n_entries < s->count) {
			/* The server's pages are smaller: adopt its size, ask again for the rest. */
			page = (uint32_t)er->n_entries;
			s->busy = 1;
			drop_inflight(A);
			next_send = s->start + er->n_entries;
		}
		s->busy = 1;
		dpage *cur = prev == &pages[0] ? &pages[1] : &pages[0];
		if (check_page(A, cur, s) != 0) {
			/* Lower entries may fail too: their signatures decide first. */
			if (prev != NULL) {
				finish_page(A, prev);
				prev = NULL;
			}
			if (!A->conn_failed && cur->n > 0) {
				pool_submit(&A->pl, cur->jobs, cur->n);
				pool_wait(&A->pl);
				if (A->pl.bad)
					fail_at(A, A->pl.bad_index, "the node signature does not verify with "
					    "\"%s\"'s key", cur->recs[A->pl.bad_index - cur->start]->signer);
			}
			goto out;
		}
		if (prev != NULL) {
			int rc = finish_page(A, prev);
			slot_release(prev->sl);
			prev = NULL;
			if (rc != 0)
				goto out;
		}
		pool_submit(&A->pl, cur->jobs, cur->n);
		prev = cur;
		next_proc += cur->n;
		progress(A, next_proc, 0);
	}
	if (prev != NULL) {
		int rc = finish_page(A, prev);
		slot_release(prev->sl);
		prev = NULL;
		if (rc != 0)
			goto out;
	}
	progress(A, next_proc, 1);
	uint8_t root[32];
	merkle_stream_root(&A->ms, root);
	if (A->ms.size != size || memcmp(root, A->cp.root, 32) != 0) {
		drop_inflight(A);
		localise_root(A);
		if (!A->failed && !A->conn_failed)
			fail_at(A, size ? size - 1 : 0, "the entries do not give the signed root");
		goto out;
	}
	ret = 0;
out:
	if (prev != NULL)
		pool_wait(&A->pl);
	for (size_t i = 0; i < A->window + 2; i++)
		slot_release(&A->slots[i]);
	dpage_free(&pages[0]);
	dpage_free(&pages[1]);
	return ret;
}

/* ---- output helpers ---------------------------------------------------------------- */

static void
csv_field(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
html_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f); break;
		}
	}
}

/* The first n bytes of UTF-8 s, cut at a character boundary. */
static void
html_esc_cut(FILE *f, const char *s, size_t n)
{
	size_t len = strlen(s);
	if (len <= n) {
		html_esc(f, s);
		return;
	}
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	char *t = strndup(s, n);
	if (t != NULL) {
		html_esc(f, t);
		fputs("…", f);
	}
	free(t);
}

static const char *
or_dash(const char *s)
{
	return s && *s ? s : "-";
}

typedef struct runinfo {
	const auditor *A;
	char root[64];
	char when[32], as_of[32];
	double seconds;
	const audit_finding *f;
	size_t n;
	size_t by_rule[AUDIT_NRULES];
} runinfo;

static void
text_header(FILE *f, const runinfo *ri)
{
	const auditor *A = ri->A;
	fprintf(f, "evchain audit of %s at tree size %" PRIu64 " (root %s), signed by the log key "
	    "(%zu witness cosignatures)\n", A->cp.origin, A->cp.size, ri->root, A->cosigned);
	fprintf(f, "verified: all %" PRIu64 " entries (signed root recomputed, hash chain, node "
	    "signatures with the keys valid at each index)\n", A->cp.size);
	fprintf(f, "limits: open_loop %u days (judged as of %s UTC+8), multi_agency %u days, "
	    "late_record %u hours\n", A->ao.open_loop_days ? A->ao.open_loop_days :
	    AUDIT_DEFAULT_OPEN_LOOP_DAYS, ri->as_of, A->ao.multi_agency_days ?
	    A->ao.multi_agency_days : AUDIT_DEFAULT_MULTI_AGENCY_DAYS, A->ao.late_record_hours ?
	    A->ao.late_record_hours : AUDIT_DEFAULT_LATE_RECORD_HOURS);
	if (A->ao.agency || A->ao.company || A->ao.from_ms || A->ao.to_ms) {
		char b1[32] = "-", b2[32] = "-";
		if (A->ao.from_ms)
			audit_format_time(A->ao.from_ms, b1, sizeof(b1));
		if (A->ao.to_ms)
			audit_format_time(A->ao.to_ms, b2, sizeof(b2));
		fprintf(f, "filters: agency %s, company %s, event time from %s to %s (UTC+8)\n",
		    or_dash(A->ao.agency), or_dash(A->ao.company), b1, b2);
	}
	if (A->invalid > 0)
		fprintf(f, "note: %" PRIu64 " logged records break today's validation rules (first: entry %"
		    PRIu64 ": %s); they are judged all the same\n", A->invalid, A->first_invalid,
		    A->first_invalid_why);
}

static void
entries_text(FILE *f, const audit_finding *x)
{
	for (size_t k = 0; k < x->nentries; k++)
		fprintf(f, "%s%" PRIu64, k ? ", " : "", x->entries[k]);
}

static void
out_text(FILE *f, const runinfo *ri)
{
	text_header(f, ri);
	for (size_t i = 0; i < ri->n;) {
		size_t j = i;
		while (j < ri->n && strcmp(ri->f[j].agency, ri->f[i].agency) == 0)
			j++;
		fprintf(f, "\n%s: %zu finding%s\n", ri->f[i].agency[0] ? ri->f[i].agency :
		    "(agency unknown)", j - i, j - i == 1 ? "" : "s");
		for (size_t k = i; k < j; k++) {
			const audit_finding *x = &ri->f[k];
			char when[32];
			audit_format_time(x->event_ms, when, sizeof(when));
			fprintf(f, "  %-18s inspection %s, company %s, %s: %s [entries ",
			    audit_rule_id(x->rule), or_dash(x->inspection), or_dash(x->company), when,
			    x->reason);
			entries_text(f, x);
			fputs("]\n", f);
		}
		i = j;
	}
	fprintf(f, "\n%zu finding%s", ri->n, ri->n == 1 ? "" : "s");
	int first = 1;
	for (int r = 0; r < AUDIT_NRULES; r++) {
		if (ri->by_rule[r] == 0)
			continue;
		fprintf(f, "%s%s %zu", first ? " (" : ", ", audit_rule_id((audit_rule)r), ri->by_rule[r]);
		first = 0;
	}
	fputs(first ? "\n" : ")\n", f);
}

static int
out_json(FILE *f, const runinfo *ri)
{
	for (size_t i = 0; i < ri->n; i++) {
		const audit_finding *x = &ri->f[i];
		Evchain__V1__Finding m = EVCHAIN__V1__FINDING__INIT;
		m.rule = (char *)audit_rule_id(x->rule);
		m.agency = (char *)x->agency;
		m.company_uscc = (char *)x->company;
		m.inspection_id = (char *)x->inspection;
		m.reason = (char *)x->reason;
		m.entry_indices = (uint64_t *)x->entries;
		m.n_entry_indices = x->nentries;
		json_t *j = pbjson_encode(&m.base);
		char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (s == NULL)
			return -1;
		fputs(s, f);
		fputc('\n', f);
		free(s);
	}
	return 0;
}

static void
out_csv(FILE *f, const runinfo *ri)
{
	fputs("rule,agency,company_uscc,inspection_id,event_time_utc8,reason,entry_indices\r\n", f);
	for (size_t i = 0; i < ri->n; i++) {
		const audit_finding *x = &ri->f[i];
		char when[32];
		audit_format_time(x->event_ms, when, sizeof(when));
		fprintf(f, "%s,", audit_rule_id(x->rule));
		csv_field(f, x->agency);
		fputc(',', f);
		csv_field(f, x->company);
		fputc(',', f);
		csv_field(f, x->inspection);
		fprintf(f, ",%s,", when);
		csv_field(f, x->reason);
		fputc(',', f);
		for (size_t k = 0; k < x->nentries; k++)
			fprintf(f, "%s%" PRIu64, k ? " " : "", x->entries[k]);
		fputs("\r\n", f);
	}
}

/* ---- HTML ------------------------------------------------------------------------- */

static const char *const rule_color[AUDIT_NRULES] = {
	"#d62728", "#8c564b", "#ff7f0e", "#9467bd", "#1f77b4",
	"#e377c2", "#bcbd22", "#17becf", "#7f7f7f", "#2ca02c",
};

static int
cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

static int
cmp_cited(const void *x, const void *y)
{
	uint64_t a = ((const cited *)x)->index, b = ((const cited *)y)->index;
	return a < b ? -1 : a > b;
}

static const cited *
find_cited(const auditor *A, uint64_t index)
{
	cited key;
	key.index = index;
	return A->ncit ? bsearch(&key, A->cit, A->ncit, sizeof(*A->cit), cmp_cited) : NULL;
}

/* Fetch the cited entries (at most HTML_MAX_CITED) with an inclusion proof
 * each to the audited checkpoint; those that verify are shown in full. */
static int
fetch_cited(auditor *A, const runinfo *ri)
{
	size_t total = 0;
	for (size_t i = 0; i < ri->n; i++)
		total += ri->f[i].nentries;
	uint64_t *all = malloc((total ? total : 1) * sizeof(*all));
	if (all == NULL)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < ri->n; i++)
		for (size_t k = 0; k < ri->f[i].nentries; k++)
			all[n++] = ri->f[i].entries[k];
	if (n > 1)
		qsort(all, n, sizeof(*all), cmp_u64);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || all[u - 1] != all[i])
			all[u++] = all[i];
	if (u > HTML_MAX_CITED)
		u = HTML_MAX_CITED;
	A->cit = calloc(u ? u : 1, sizeof(*A->cit));
	if (A->cit == NULL) {
		free(all);
		return -1;
	}
	for (size_t i = 0; i < u; i++) {
		cited *c = &A->cit[A->ncit++];
		c->index = all[i];
		uint8_t *e;
		size_t el;
		uint8_t leaf[32];
		if (fetch_entry(A, all[i], &e, &el) != 0)
			break;
		merkle_leaf_hash(e, el, leaf);
		int inc = leaf_included(A, all[i], leaf);
		pb_arena a;
		pb_arena_init(&a, 4 * (size_t)EVC_MAX_ENTRY + 65536);
		Evchain__V1__Entry *en = inc == 1 ? (Evchain__V1__Entry *)pb_unpack(&a,
		    &evchain__v1__entry__descriptor, e, el) : NULL;
		Record *r = en ? record_decode(&a, en->record.data, en->record.len) : NULL;
		if (r != NULL) {
			json_t *j = pbjson_encode(&r->base);
			c->json = j ? json_dumps(j, JSON_INDENT(1) | JSON_REAL_PRECISION(15)) : NULL;
			json_decref(j);
			c->signer = strdup(en->key_name);
			c->log_ms = en->log_time_ms;
			snprintf(c->kind, sizeof(c->kind), "%s", record_kind_name(record_kind(r)));
			c->ok = c->json != NULL && c->signer != NULL;
		}
		pb_arena_free(&a);
		free(e);
		if (inc < 0)
			break;
	}
	free(all);
	return A->conn_failed ? -1 : 0;
}

static void
html_entries(FILE *f, const auditor *A, const audit_finding *x)
{
	for (size_t k = 0; k < x->nentries; k++) {
		const cited *c = find_cited(A, x->entries[k]);
		if (c != NULL && c->ok)
			fprintf(f, "%s<a href=\"#e%" PRIu64 "\">%" PRIu64 "</a>", k ? " " : "", x->entries[k],
			    x->entries[k]);
		else
			fprintf(f, "%s%" PRIu64, k ? " " : "", x->entries[k]);
	}
}

static void
out_html(FILE *f, const runinfo *ri)
{
	const auditor *A = ri->A;
	/* agencies in report order, with counts per rule */
	size_t nag = 0;
	for (size_t i = 0; i < ri->n; i++)
		if (i == 0 || strcmp(ri->f[i].agency, ri->f[i - 1].agency) != 0)
			nag++;
	size_t (*cnt)[AUDIT_NRULES + 1] = calloc(nag ? nag : 1, sizeof(*cnt));
	const char **ag = calloc(nag ? nag : 1, sizeof(*ag));
	size_t *first = calloc(nag ? nag : 1, sizeof(*first));
	if (cnt == NULL || ag == NULL || first == NULL) {
		free(cnt);
		free(ag);
		free(first);
		return;
	}
	size_t maxtot = 0;
	for (size_t i = 0, k = 0; i < ri->n; i++) {
		if (i > 0 && strcmp(ri->f[i].agency, ri->f[i - 1].agency) != 0)
			k++;
		if (ag[k] == NULL) {
			ag[k] = ri->f[i].agency;
			first[k] = i;
		}
		cnt[k][ri->f[i].rule]++;
		cnt[k][AUDIT_NRULES]++;
		if (cnt[k][AUDIT_NRULES] > maxtot)
			maxtot = cnt[k][AUDIT_NRULES];
	}

	fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>evchain "
	    "audit — ", f);
	html_esc(f, A->cp.origin);
	fprintf(f, " size %" PRIu64 "</title>\n", A->cp.size);
	fputs("<style>\n"
	    "body{font-family:system-ui,-apple-system,\"Segoe UI\",\"PingFang SC\",\"Microsoft YaHei\","
	    "sans-serif;margin:2em auto;max-width:1280px;padding:0 1em;color:#222;line-height:1.4}\n"
	    "h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd}\n"
	    "table{border-collapse:collapse;margin:.8em 0}th,td{border:1px solid #ccc;padding:.25em .5em;"
	    "text-align:left;vertical-align:top}th{background:#f3f3f3}td.n,th.n{text-align:right}\n"
	    "code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}\n"
	    "pre{white-space:pre-wrap;word-break:break-all;max-height:24em;overflow:auto;margin:0}\n"
	    ".rule{display:inline-block;padding:0 .4em;border-radius:3px;color:#fff;font-size:.85em;"
	    "white-space:nowrap}\n.ok{color:#2ca02c}.meta td:first-child{font-weight:bold}\n"
	    "tr:target{background:#fff6c0}\n</style>\n</head>\n<body>\n", f);
	fputs("<h1>evchain compliance audit (涉企行政检查)</h1>\n<table class=\"meta\">\n", f);
	fputs("<tr><td>Log</td><td><code>", f);
	html_esc(f, A->cp.origin);
	fprintf(f, "</code></td></tr>\n<tr><td>Checkpoint</td><td>tree size %" PRIu64 ", root <code>%s"
	    "</code>, signed by the log key, %zu witness cosignature%s</td></tr>\n", A->cp.size,
	    ri->root, A->cosigned, A->cosigned == 1 ? "" : "s");
	fprintf(f, "<tr><td>Verified</td><td class=\"ok\">all %" PRIu64 " entries: Merkle tree "
	    "recomputed to the signed root, hash chain, log time order, node signatures with the key "
	    "valid at each index (%.1f s)</td></tr>\n", A->cp.size, A->verify_s);
	fprintf(f, "<tr><td>Limits</td><td>open_loop %u days (judged as of %s UTC+8), multi_agency %u "
	    "days, late_record %u hours</td></tr>\n", A->ao.open_loop_days ? A->ao.open_loop_days :
	    AUDIT_DEFAULT_OPEN_LOOP_DAYS, ri->as_of, A->ao.multi_agency_days ? A->ao.multi_agency_days :
	    AUDIT_DEFAULT_MULTI_AGENCY_DAYS, A->ao.late_record_hours ? A->ao.late_record_hours :
	    AUDIT_DEFAULT_LATE_RECORD_HOURS);
	if (A->ao.agency || A->ao.company || A->ao.from_ms || A->ao.to_ms) {
		char b1[32] = "-", b2[32] = "-";
		if (A->ao.from_ms)
			audit_format_time(A->ao.from_ms, b1, sizeof(b1));
		if (A->ao.to_ms)
			audit_format_time(A->ao.to_ms, b2, sizeof(b2));
		fputs("<tr><td>Filters</td><td>agency ", f);
		html_esc(f, or_dash(A->ao.agency));
		fputs(", company ", f);
		html_esc(f, or_dash(A->ao.company));
		fprintf(f, ", event time from %s to %s (UTC+8)</td></tr>\n", b1, b2);
	}
	if (A->invalid > 0) {
		fprintf(f, "<tr><td>Note</td><td>%" PRIu64 " logged records break today's validation "
		    "rules (first: entry %" PRIu64 ": ", A->invalid, A->first_invalid);
		html_esc(f, A->first_invalid_why);
		fputs("); they are judged all the same</td></tr>\n", f);
	}
	fprintf(f, "<tr><td>Generated</td><td>%s UTC+8 by evchain audit</td></tr>\n</table>\n",
	    ri->when);
	fprintf(f, "<p><b>%zu finding%s</b>.</p>\n", ri->n, ri->n == 1 ? "" : "s");

	/* Summary per agency */
	fputs("<h2>Summary per agency</h2>\n<table>\n<tr><th>Agency</th>", f);
	for (int r = 0; r < AUDIT_NRULES; r++)
		fprintf(f, "<th class=\"n\"><span class=\"rule\" style=\"background:%s\">%s</span></th>",
		    rule_color[r], audit_rule_id((audit_rule)r));
	fputs("<th class=\"n\">Total</th></tr>\n", f);
	for (size_t k = 0; k < nag; k++) {
		fprintf(f, "<tr><td><a href=\"#agency-%zu\">", k);
		html_esc(f, ag[k][0] ? ag[k] : "(agency unknown)");
		fputs("</a></td>", f);
		for (int r = 0; r <= AUDIT_NRULES; r++)
			fprintf(f, "<td class=\"n\">%zu</td>", cnt[k][r]);
		fputs("</tr>\n", f);
	}
	fputs("<tr><th>All agencies</th>", f);
	for (int r = 0; r < AUDIT_NRULES; r++)
		fprintf(f, "<th class=\"n\">%zu</th>", ri->by_rule[r]);
	fprintf(f, "<th class=\"n\">%zu</th></tr>\n</table>\n", ri->n);

	/* Summary per rule */
	fputs("<h2>Summary per rule</h2>\n<table>\n<tr><th>Rule</th><th>What it looks for</th>"
	    "<th class=\"n\">Findings</th></tr>\n", f);
	for (int r = 0; r < AUDIT_NRULES; r++) {
		fprintf(f, "<tr><td><span class=\"rule\" style=\"background:%s\">%s</span></td><td>",
		    rule_color[r], audit_rule_id((audit_rule)r));
		html_esc(f, audit_rule_title((audit_rule)r));
		fprintf(f, "</td><td class=\"n\">%zu</td></tr>\n", ri->by_rule[r]);
	}
	fputs("</table>\n", f);

	/* Chart: stacked bars per agency, a legend of the rules above. */
	const int label_w = 300, bar_w = 600, row_h = 26, width = label_w + bar_w + 60;
	int lx[AUDIT_NRULES], ly[AUDIT_NRULES], x0 = 0, y0 = 4;
	for (int r = 0; r < AUDIT_NRULES; r++) {
		int w = 13 + (int)strlen(audit_rule_id((audit_rule)r)) * 6 + 12;
		if (x0 + w > width) {
			x0 = 0;
			y0 += 16;
		}
		lx[r] = x0;
		ly[r] = y0;
		x0 += w;
	}
	const int top = y0 + 24;
	int height = top + (int)nag * row_h + 10;
	fputs("<h2>Findings per agency</h2>\n", f);
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 "
	    "%d %d\" role=\"img\" aria-label=\"findings per agency\" font-family=\"sans-serif\" "
	    "font-size=\"12\">\n", width, height, width, height);
	for (int r = 0; r < AUDIT_NRULES; r++)
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" "
		    "y=\"%d\" font-size=\"10\">%s</text>\n", lx[r], ly[r], rule_color[r], lx[r] + 13, ly[r] + 9,
		    audit_rule_id((audit_rule)r));
	for (size_t k = 0; k < nag; k++) {
		int y = top + (int)k * row_h;
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", label_w - 8, y + 16);
		html_esc_cut(f, ag[k][0] ? ag[k] : "(agency unknown)", 60);
		fputs("</text>\n", f);
		double x = label_w;
		for (int r = 0; r < AUDIT_NRULES; r++) {
			if (cnt[k][r] == 0)
				continue;
			double w = (double)bar_w * (double)cnt[k][r] / (double)(maxtot ? maxtot : 1);
			fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>",
			    x, y + 3, w, row_h - 8, rule_color[r]);
			html_esc(f, ag[k]);
			fprintf(f, ": %s %zu</title></rect>\n", audit_rule_id((audit_rule)r), cnt[k][r]);
			x += w;
		}
		fprintf(f, "<text x=\"%.1f\" y=\"%d\">%zu</text>\n", x + 4, y + 16, cnt[k][AUDIT_NRULES]);
	}
	fputs("</svg>\n", f);

	/* Findings */
	fputs("<h2>Findings</h2>\n", f);
	if (A->ncit > 0)
		fputs("<p>Entry numbers link to the entries below, each checked again with an inclusion "
		    "proof to the audited checkpoint.</p>\n", f);
	for (size_t k = 0; k < nag; k++) {
		fprintf(f, "<h3 id=\"agency-%zu\">", k);
		html_esc(f, ag[k][0] ? ag[k] : "(agency unknown)");
		fprintf(f, " — %zu finding%s</h3>\n<table>\n<tr><th>#</th><th>Rule</th><th>Inspection</th>"
		    "<th>Company</th><th>Event time (UTC+8)</th><th>Reason</th><th>Entries</th></tr>\n",
		    cnt[k][AUDIT_NRULES], cnt[k][AUDIT_NRULES] == 1 ? "" : "s");
		for (size_t i = first[k]; i < first[k] + cnt[k][AUDIT_NRULES]; i++) {
			const audit_finding *x = &ri->f[i];
			char when[32];
			audit_format_time(x->event_ms, when, sizeof(when));
			fprintf(f, "<tr><td class=\"n\">%zu</td><td><span class=\"rule\" style=\"background:%s\">"
			    "%s</span></td><td>", i + 1, rule_color[x->rule], audit_rule_id(x->rule));
			html_esc(f, or_dash(x->inspection));
			fputs("</td><td>", f);
			html_esc(f, or_dash(x->company));
			fprintf(f, "</td><td>%s</td><td>", when);
			html_esc(f, x->reason);
			fputs("</td><td>", f);
			html_entries(f, A, x);
			fputs("</td></tr>\n", f);
		}
		fputs("</table>\n", f);
	}

	/* Entries cited */
	if (A->ncit > 0) {
		fputs("<h2>Entries cited</h2>\n", f);
		fputs("<table>\n<tr><th>Entry</th><th>Log time (UTC+8)</th><th>Kind</th><th>Signer</th>"
		    "<th>Record</th></tr>\n", f);
		for (size_t i = 0; i < A->ncit; i++) {
			const cited *c = &A->cit[i];
			if (!c->ok)
				continue;
			char when[32];
			audit_format_time(c->log_ms, when, sizeof(when));
			fprintf(f, "<tr id=\"e%" PRIu64 "\"><td class=\"n\">%" PRIu64 "</td><td>%s</td><td>%s"
			    "</td><td><code>", c->index, c->index, when, c->kind);
			html_esc(f, c->signer);
			fputs("</code></td><td><pre>", f);
			html_esc(f, c->json);
			fputs("</pre></td></tr>\n", f);
		}
		fputs("</table>\n", f);
		if (A->ncit >= HTML_MAX_CITED)
			fprintf(f, "<p>Only the first %u cited entries are shown; read the others with "
			    "<code>evchain get INDEX</code>.</p>\n", HTML_MAX_CITED);
	}
	fputs("</body>\n</html>\n", f);
	free(cnt);
	free(ag);
	free(first);
}

/* ---- bundles ------------------------------------------------------------------------ */

static void
safe_name(const char *id, char *out, size_t cap)
{
	size_t o = 0;
	for (const unsigned char *s = (const unsigned char *)id; *s && o + 1 < cap; s++) {
		unsigned char c = *s;
		int ok = c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || (c == '.' && o > 0);
		out[o++] = ok ? (char)c : '_';
	}
	out[o] = '\0';
}

static int
export_one(auditor *A, const char *insp, const char *dir, int *written)
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__ExportBundleRequest xr = EVCHAIN__V1__EXPORT_BUNDLE_REQUEST__INIT;
	pb_arena a;
	Response *r;
	char err[512], name[600], path[PATH_MAX];
	uint8_t *bytes = NULL;
	size_t len = 0;
	bundle_report *rep = NULL;
	int ret = EX_FAIL;

	xr.subject_case = EVCHAIN__V1__EXPORT_BUNDLE_REQUEST__SUBJECT_INSPECTION_ID;
	xr.inspection_id = (char *)insp;
	q.op_case = EVCHAIN__V1__REQUEST__OP_EXPORT_BUNDLE;
	q.export_bundle = &xr;
	if (call(A, &q, &a, &r) != 0) {
		fprintf(stderr, "evchain: audit: %s\n", A->conn_why);
		return EX_FAIL;
	}
	int code = status_code(r);
	if (code == EVCHAIN__V1__STATUS__CODE__NOT_FOUND || code == EVCHAIN__V1__STATUS__CODE__TOO_LARGE) {
		fprintf(stderr, "evchain: audit: no bundle for inspection \"%s\": %s: %s\n", insp,
		    client_status_name(code), status_msg(r));
		ret = EX_OK;
		goto out;
	}
	if (code != 0 || r->result_case != EVCHAIN__V1__RESPONSE__RESULT_EXPORT_BUNDLE ||
	    r->export_bundle->bundle == NULL) {
		fprintf(stderr, "evchain: audit: bundle of inspection \"%s\": %s: %s\n", insp,
		    client_status_name(code), status_msg(r));
		goto out;
	}
	if ((bytes = pb_pack(&r->export_bundle->bundle->base, &len)) == NULL) {
		fprintf(stderr, "evchain: audit: out of memory\n");
		goto out;
	}
	policy pol;
	policy_init(&pol);
	if (policy_add_log(&pol, &A->p->log_key, err, sizeof(err)) != 0) {
		fprintf(stderr, "evchain: audit: %s\n", err);
		goto out;
	}
	for (size_t i = 0; i < A->p->nwitnesses; i++)
		policy_add_witness(&pol, A->p->witnesses[i].name, &A->p->witnesses[i], err, sizeof(err));
	policy_set_quorum(&pol, POLICY_QUORUM_NONE, err, sizeof(err));
	bundle_verify_opts vo;
	memset(&vo, 0, sizeof(vo));
	vo.policy = &pol;
	bundle_verify(bytes, len, &vo, &rep);
	if (rep == NULL || rep->checkpoint != BUNDLE_PASS) {
		fprintf(stderr, "evchain: audit: verification failed: the bundle of inspection \"%s\": its "
		    "checkpoint does not verify with %s\n", insp, A->p->log_key.name);
		goto out;
	}
	for (size_t i = 0; i < rep->nfailures; i++) {
		if (strcmp(rep->failures[i].check, "story") != 0) {
			fprintf(stderr, "evchain: audit: verification failed: the bundle of inspection \"%s\": "
			    "%s\n", insp, rep->failures[i].msg);
			goto out;
		}
	}
	safe_name(insp, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s.bundle", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(bytes, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "evchain: audit: %s: %s\n", path, strerror(errno));
		goto out;
	}
	(*written)++;
	ret = EX_OK;
out:
	bundle_report_free(rep);
	free(bytes);
	pb_arena_free(&a);
	return ret;
}

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int
export_bundles(auditor *A, const runinfo *ri)
{
	if (mkdir(A->bundle_dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "evchain: audit: %s: %s\n", A->bundle_dir, strerror(errno));
		return EX_FAIL;
	}
	const char **ids = calloc(ri->n ? ri->n : 1, sizeof(*ids));
	if (ids == NULL)
		return EX_FAIL;
	size_t n = 0, u = 0;
	for (size_t i = 0; i < ri->n; i++)
		if (ri->f[i].inspection[0] != '\0')
			ids[n++] = ri->f[i].inspection;
	if (n > 1)
		qsort(ids, n, sizeof(*ids), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || strcmp(ids[u - 1], ids[i]) != 0)
			ids[u++] = ids[i];
	int written = 0, ret = EX_OK;
	for (size_t i = 0; i < u && ret == EX_OK; i++) {
		ret = export_one(A, ids[i], A->bundle_dir, &written);
		if (!A->quiet && A->tty)
			fprintf(stderr, "\raudit: bundles %zu / %zu", i + 1, u);
	}
	if (!A->quiet && A->tty && u > 0)
		fputc('\n', stderr);
	free(ids);
	if (ret == EX_OK)
		fprintf(stderr, "audit: %d evidence bundle%s (verified) in %s/\n", written,
		    written == 1 ? "" : "s", A->bundle_dir);
	return ret;
}

/* ---- command ----------------------------------------------------------------------- */

static void
audit_usage(FILE *f)
{
	fprintf(f,
	    "usage: evchain -c PROFILE audit [--from DATE] [--to DATE] [--agency A] [--company USCC]\n"
	    "           [--format text|json|csv|html] [-o FILE] [--bundle DIR] [--rule ID[,ID…]]\n"
	    "           [--open-loop-days N] [--multi-agency-days N] [--late-hours N] [--as-of TIME]\n"
	    "           [--page N] [--window N] [--threads N] [--quiet]\n"
	    "\n"
	    "Verify every entry of the log against its latest signed checkpoint (the Merkle\n"
	    "tree recomputed to the signed root, hash chain, node signatures with the key\n"
	    "valid at each index), then report the compliance findings (supervisor,\n"
	    "discipline). Rules (stable ids): too_few_officers, no_scan_in, open_loop,\n"
	    "over_cap, no_basis, unverified_officer, missing_av, multi_agency, late_record,\n"
	    "complaint (README \"Compliance audit\" gives each one's exact meaning).\n"
	    "\n"
	    "  --from, --to       event time range [from, to) of the scan-in or record; a\n"
	    "                     bare date is a Beijing (UTC+8) date and --to DATE includes it;\n"
	    "                     also Unix ms or RFC 3339\n"
	    "  --agency, --company  only findings about that agency / company (USCC)\n"
	    "  --format           text (default, grouped by agency), json (one\n"
	    "                     evchain.v1.Finding per line), csv, html (a self-contained page)\n"
	    "  -o FILE            write the report to FILE instead of stdout\n"
	    "  --bundle DIR       also export the verified evidence bundle of each finding's\n"
	    "                     inspection to DIR/<inspection>.bundle\n"
	    "  --rule ID          report only these rules (repeat or separate with commas)\n"
	    "  --open-loop-days N     disposition due within N days (default 30)\n"
	    "  --multi-agency-days N  window for multi-agency inspections (default 7)\n"
	    "  --late-hours N         logged more than N hours after the event (default 24)\n"
	    "  --as-of TIME       reference time for open loops (default: now)\n"
	    "  --page N           entries per request (default 1000; the server caps it)\n"
	    "  --window N         requests in flight (default 4, at most %u)\n"
	    "  --threads N        signature-checking threads besides the main one (default:\n"
	    "                     the number of cores)\n"
	    "  --quiet            no progress on stderr\n"
	    "\n"
	    "Exit status: 0 the audit ran (\"N findings\" on stderr), 1 verification or\n"
	    "connection failure (\"verification failed at entry N: ...\"; no finding is\n"
	    "printed), 2 usage.\n", MAX_WINDOW);
}

static int
parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || errno != 0 || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int
usage_err(const char *msg, const char *arg)
{
	fprintf(stderr, "evchain: audit: %s%s%s (see evchain audit --help)\n", msg, arg ? " " : "",
	    arg ? arg : "");
	return EX_USAGE;
}

int
cli_audit(int argc, char **argv, const evc_profile *p)
{
	static auditor A;
	unsigned long v;
	int ret = EX_FAIL;
	char err[1024];

	memset(&A, 0, sizeof(A));
	A.p = p;
	A.format = "text";
	A.page = 1000;
	A.window = 4;
	long nc = sysconf(_SC_NPROCESSORS_ONLN);
	A.threads = nc > 0 ? (unsigned)(nc > (long)MAX_THREADS ? MAX_THREADS : nc) : 1;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		int date_only;
		if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
			audit_usage(stdout);
			return EX_OK;
		}
		if (strcmp(o, "--quiet") == 0) {
			A.quiet = 1;
			continue;
		}
		if (val == NULL)
			return usage_err("unknown option or missing value:", o);
		i++;
		if (strcmp(o, "--from") == 0) {
			if (client_parse_time(val, 8 * 3600, &A.ao.from_ms, &date_only) != 0)
				return usage_err("--from: bad time", val);
		} else if (strcmp(o, "--to") == 0) {
			if (client_parse_time(val, 8 * 3600, &A.ao.to_ms, &date_only) != 0)
				return usage_err("--to: bad time", val);
			if (date_only)
				A.ao.to_ms += 86400000; /* the whole day */
		} else if (strcmp(o, "--as-of") == 0) {
			if (client_parse_time(val, 8 * 3600, &A.ao.as_of_ms, &date_only) != 0)
				return usage_err("--as-of: bad time", val);
		} else if (strcmp(o, "--agency") == 0) {
			A.ao.agency = val;
		} else if (strcmp(o, "--company") == 0) {
			A.ao.company = val;
		} else if (strcmp(o, "--format") == 0) {
			if (strcmp(val, "text") != 0 && strcmp(val, "json") != 0 && strcmp(val, "csv") != 0 &&
			    strcmp(val, "html") != 0)
				return usage_err("--format takes text, json, csv or html, not", val);
			A.format = val;
		} else if (strcmp(o, "-o") == 0 || strcmp(o, "--output") == 0) {
			A.out = val;
		} else if (strcmp(o, "--bundle") == 0) {
			A.bundle_dir = val;
		} else if (strcmp(o, "--rule") == 0 || strcmp(o, "--rules") == 0) {
			char buf[512];
			snprintf(buf, sizeof(buf), "%s", val);
			for (char *sv = NULL, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
				int r = audit_rule_from_id(t);
				if (r < 0)
					return usage_err("--rule: unknown rule", t);
				A.ao.rules |= 1u << r;
			}
		} else if (strcmp(o, "--open-loop-days") == 0) {
			if (parse_uint(val, 1, AUDIT_MAX_DAYS, &v) != 0)
				return usage_err("--open-loop-days takes 1..3650, not", val);
			A.ao.open_loop_days = (uint32_t)v;
		} else if (strcmp(o, "--multi-agency-days") == 0) {
			if (parse_uint(val, 1, AUDIT_MAX_DAYS, &v) != 0)
				return usage_err("--multi-agency-days takes 1..3650, not", val);
			A.ao.multi_agency_days = (uint32_t)v;
		} else if (strcmp(o, "--late-hours") == 0 || strcmp(o, "--late-record-hours") == 0) {
			if (parse_uint(val, 1, AUDIT_MAX_DAYS * 24, &v) != 0)
				return usage_err("--late-hours takes 1..87600, not", val);
			A.ao.late_record_hours = (uint32_t)v;
		} else if (strcmp(o, "--page") == 0) {
			if (parse_uint(val, 1, 100000, &v) != 0)
				return usage_err("--page takes 1..100000, not", val);
			A.page = (uint32_t)v;
		} else if (strcmp(o, "--window") == 0) {
			if (parse_uint(val, 1, MAX_WINDOW, &v) != 0)
				return usage_err("--window takes 1..16, not", val);
			A.window = (unsigned)v;
		} else if (strcmp(o, "--threads") == 0) {
			if (parse_uint(val, 1, MAX_THREADS, &v) != 0)
				return usage_err("--threads takes 1..64, not", val);
			A.threads = (unsigned)v;
		} else {
			return usage_err("unknown option", o);
		}
	}
	if (A.ao.from_ms != 0 && A.ao.to_ms != 0 && A.ao.to_ms <= A.ao.from_ms)
		return usage_err("--to must be after --from", NULL);
	if (A.ao.as_of_ms == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		A.ao.as_of_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	A.tty = isatty(2);
	signal(SIGPIPE, SIG_IGN);

	double t_start = mono_s();
	FILE *out = NULL;
	const audit_finding *fs = NULL;
	size_t nf = 0;
	if (client_connect(p, NULL, &A.c, err, sizeof(err)) != 0) {
		fprintf(stderr, "evchain: audit: %s\n", err);
		return EX_FAIL;
	}
	/* 1. The latest checkpoint, signed by the log key. */
	{
		Request q = EVCHAIN__V1__REQUEST__INIT;
		Evchain__V1__CheckpointRequest cr = EVCHAIN__V1__CHECKPOINT_REQUEST__INIT;
		pb_arena a;
		Response *r;
		q.op_case = EVCHAIN__V1__REQUEST__OP_CHECKPOINT;
		q.checkpoint = &cr;
		if (call(&A, &q, &a, &r) != 0) {
			fprintf(stderr, "evchain: audit: %s\n", A.conn_why);
			goto out;
		}
		if (status_code(r) != 0 || r->result_case != EVCHAIN__V1__RESPONSE__RESULT_CHECKPOINT) {
			fprintf(stderr, "evchain: audit: the log gave no checkpoint: %s: %s\n",
			    client_status_name(status_code(r)), status_msg(r));
			pb_arena_free(&a);
			goto out;
		}
		int rc = client_verify_checkpoint(p, r->checkpoint->checkpoint.data,
		    r->checkpoint->checkpoint.len, &A.cp, &A.cosigned, err, sizeof(err));
		pb_arena_free(&a);
		if (rc != 0) {
			fprintf(stderr, "evchain: audit: verification failed: the latest checkpoint: %s\n", err);
			goto out;
		}
	}
	/* 2-3. Every entry, verified, fed to the rules. */
	if ((A.kr = keyring_new(&p->log_key)) == NULL || (A.eng = audit_new(&A.ao)) == NULL) {
		fprintf(stderr, "evchain: audit: out of memory\n");
		goto out;
	}
	merkle_stream_init(&A.ms);
	memset(A.prev_leaf, 0, 32);
	pool_start(&A.pl, A.threads);
	if (!A.quiet && A.cp.size >= 10000)
		fprintf(stderr, "audit: verifying %" PRIu64 " entries of %s (%u signature threads)\n",
		    A.cp.size, A.cp.origin, A.pl.nth);
	int vr = verify_all(&A);
	pool_stop(&A.pl);
	A.verify_s = mono_s() - t_start;
	if (vr != 0) {
		if (A.tty && !A.quiet && A.cp.size >= 10000)
			fputc('\n', stderr);
		if (A.failed)
			fprintf(stderr, "evchain: audit: verification failed at entry %" PRIu64 ": %s\n",
			    A.fail_index, A.fail_why);
		else
			fprintf(stderr, "evchain: audit: %s\n", A.conn_why);
		goto out;
	}
	/* 4. The rules. */
	if (audit_finish(A.eng, &fs, &nf) != 0) {
		fprintf(stderr, "evchain: audit: out of memory\n");
		goto out;
	}
	runinfo ri;
	memset(&ri, 0, sizeof(ri));
	ri.A = &A;
	ri.f = fs;
	ri.n = nf;
	b64_encode(A.cp.root, 32, ri.root, sizeof(ri.root));
	{
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		audit_format_time((int64_t)ts.tv_sec * 1000, ri.when, sizeof(ri.when));
	}
	audit_format_time(A.ao.as_of_ms, ri.as_of, sizeof(ri.as_of));
	for (size_t i = 0; i < nf; i++)
		ri.by_rule[fs[i].rule]++;
	if (strcmp(A.format, "html") == 0 && fetch_cited(&A, &ri) != 0) {
		fprintf(stderr, "evchain: audit: %s\n", A.conn_why);
		goto out;
	}
	out = A.out ? fopen(A.out, "w") : stdout;
	if (out == NULL) {
		fprintf(stderr, "evchain: audit: %s: %s\n", A.out, strerror(errno));
		goto out;
	}
	if (strcmp(A.format, "json") == 0) {
		if (out_json(out, &ri) != 0) {
			fprintf(stderr, "evchain: audit: out of memory\n");
			goto out;
		}
	} else if (strcmp(A.format, "csv") == 0) {
		out_csv(out, &ri);
	} else if (strcmp(A.format, "html") == 0) {
		out_html(out, &ri);
	} else {
		out_text(out, &ri);
	}
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "evchain: audit: writing the report failed\n");
		goto out;
	}
	ret = EX_OK;
	if (A.bundle_dir != NULL)
		ret = export_bundles(&A, &ri);
	audit_stats st;
	audit_get_stats(A.eng, &st);
	fprintf(stderr, "audit: %zu finding%s; %" PRIu64 " entries verified against checkpoint %s size %"
	    PRIu64 " in %.1f s (%.0f entries/s), rules engine %.0f MiB\n", nf, nf == 1 ? "" : "s",
	    A.cp.size, A.cp.origin, A.cp.size, A.verify_s, (double)A.cp.size /
	    (A.verify_s > 1e-3 ? A.verify_s : 1e-3), (double)st.memory / 1048576.0);
	if (A.invalid > 0)
		fprintf(stderr, "audit: note: %" PRIu64 " logged records break today's validation rules "
		    "(first: entry %" PRIu64 ": %s); they are judged all the same\n", A.invalid,
		    A.first_invalid, A.first_invalid_why);
out:
	if (out != NULL && out != stdout && fclose(out) != 0 && ret == EX_OK) {
		fprintf(stderr, "evchain: audit: %s: %s\n", A.out, strerror(errno));
		ret = EX_FAIL;
	}
	for (size_t i = 0; i < A.ncit; i++) {
		free(A.cit[i].signer);
		free(A.cit[i].json);
	}
	free(A.cit);
	audit_free(A.eng);
	keyring_free(A.kr);
	client_close(A.c);
	memset(&A, 0, sizeof(A));
	return ret;
}
