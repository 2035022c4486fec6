/*
 * bench_load.c — the drivers of evchain-bench.
 *
 * Submit (ingest, latency, fill): one thread and one evc_client per
 * connection, each with its own slice of the pre-signed records; batches of
 * --batch records are pipelined, at most --window in flight. Closed loop: a
 * batch goes as soon as the window allows. Open loop (--rate): batch k of a
 * connection is due at start + k·batch/rate; its latency counts from that
 * due time, not from when it actually left (no coordinated omission). Every
 * receipt's status is checked; every K-th record (and the first and the last)
 * is verified in full with client_verify_receipt (log signature on the
 * checkpoint, entry = the bytes we signed, leaf hash, inclusion proof).
 *
 * Proofs: one thread and one evc_client per connection, inclusion proofs by
 * uniformly random index over the tree, --window in flight; every K-th
 * answer is verified in full (checkpoint signature, inclusion of the leaf
 * hash under its root).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "evc.h"
#include "merkle.h"
#include "note.h"

typedef Evchain__V1__Request Request;
typedef Evchain__V1__Response Response;
#define CODE_OK EVCHAIN__V1__STATUS__CODE__OK

/* ---- status ------------------------------------------------------------------ */

int
bench_status(const evc_profile *p, const char *server, uint64_t *tree_size, char *err, size_t errcap)
{
	evc_client *c;
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__StatusRequest sq = EVCHAIN__V1__STATUS_REQUEST__INIT;
	Response *r;
	pb_arena a;
	checkpoint cp;
	int ret = -1;

	if (client_connect(p, server, &c, err, errcap) != 0)
		return -1;
	q.op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
	q.status = &sq;
	pb_arena_init(&a, 1 << 20);
	if (client_call(c, &q, &a, &r) != 0) {
		snprintf(err, errcap, "status: %s", client_error(c));
		goto out;
	}
	if ((r->status && r->status->code != CODE_OK) ||
	    r->result_case != EVCHAIN__V1__RESPONSE__RESULT_STATUS_INFO) {
		snprintf(err, errcap, "status refused: %s", r->status && r->status->message ?
		    r->status->message : "malformed response");
		goto out;
	}
	*tree_size = r->status_info->tree_size;
	if (r->status_info->checkpoint.len > 0) {
		if (client_verify_checkpoint(p, r->status_info->checkpoint.data,
		    r->status_info->checkpoint.len, &cp, NULL, err, errcap) != 0)
			goto out;
		*tree_size = cp.size;
	}
	ret = 0;
out:
	pb_arena_free(&a);
	client_close(c);
	return ret;
}

/* ---- submit -------------------------------------------------------------------- */

typedef struct pend {
	uint64_t id;
	size_t first, n;            /* records [first, first+n) of the set */
	int64_t t_ns;               /* sent (closed loop) or due (open loop) */
	int done;
} pend;

typedef struct sconn {
	const bench_opts *o;
	const evc_profile *p;
	const bench_set *set;
	size_t from, to;
	double rate;                /* this connection's records/s; 0: closed loop */
	int64_t phase_ns;           /* open loop: this connection's offset in the schedule */
	pthread_barrier_t *go;
	int measure_receipt;
	/* results */
	submit_result r;
	int64_t t_first, t_last;
	size_t lcap;
} sconn;

__attribute__((format(printf, 2, 3))) static void
note_error(submit_result *r, const char *fmt, ...)
{
	va_list ap;
	if (r->first_error[0] != '\0')
		return;
	va_start(ap, fmt);
	if (vsnprintf(r->first_error, sizeof(r->first_error), fmt, ap) < 0)
		r->first_error[0] = '\0';
	va_end(ap);
}

static int
send_batch(sconn *s, evc_client *c, Evchain__V1__SignedRecord *srs,
    Evchain__V1__SignedRecord **ptrs, pend *pd)
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__SubmitRequest sub = EVCHAIN__V1__SUBMIT_REQUEST__INIT;

	for (size_t i = 0; i < pd->n; i++) {
		const bench_rec *br = &s->set->recs[pd->first + i];
		evchain__v1__signed_record__init(&srs[i]);
		srs[i].record.data = br->bytes;
		srs[i].record.len = br->len;
		srs[i].key_name = (char *)s->p->signing_key.name;
		srs[i].signature.data = (uint8_t *)br->sig;
		srs[i].signature.len = 64;
		ptrs[i] = &srs[i];
		s->r.bytes_out += br->len + 64;
	}
	sub.records = ptrs;
	sub.n_records = pd->n;
	q.op_case = EVCHAIN__V1__REQUEST__OP_SUBMIT;
	q.submit = &sub;
	int64_t id = client_send(c, &q);
	if (id < 0)
		return -1;
	pd->id = (uint64_t)id;
	s->r.sent += pd->n;
	return 0;
}

/* Check the receipts of one answered batch. */
static void
take_receipts(sconn *s, const Response *r, const pend *pd)
{
	submit_result *res = &s->r;
	char err[512];
	unsigned k = s->o->verify_every ? s->o->verify_every : 1;

	if (r->status && r->status->code != CODE_OK) {
		res->refused += pd->n;
		note_error(res, "batch refused: %s: %s", client_status_name((int)r->status->code),
		    r->status->message ? r->status->message : "");
		return;
	}
	if (r->result_case != EVCHAIN__V1__RESPONSE__RESULT_SUBMIT ||
	    r->submit->n_receipts != pd->n) {
		res->bad += pd->n;
		note_error(res, "malformed submit response");
		return;
	}
	if (s->measure_receipt && res->receipt_bytes == 0)
		res->receipt_bytes = (double)evchain__v1__submit_response__get_packed_size(r->submit) /
		    (double)pd->n;
	for (size_t i = 0; i < pd->n; i++) {
		const Evchain__V1__Receipt *rc = r->submit->receipts[i];
		size_t gi = pd->first + i;
		const bench_rec *br = &s->set->recs[gi];
		if (rc->status && rc->status->code != CODE_OK) {
			res->refused++;
			note_error(res, "record refused: %s: %s", client_status_name((int)rc->status->code),
			    rc->status->message ? rc->status->message : "");
			continue;
		}
		if (rc->leaf_hash.len != 32 || rc->index >= rc->tree_size || rc->checkpoint.len == 0 ||
		    rc->entry.len == 0) {
			res->bad++;
			note_error(res, "receipt without index, leaf hash, entry or checkpoint");
			continue;
		}
		res->ok++;
		if (rc->duplicate)
			res->duplicates++;
		if (rc->tree_size > res->tree_size)
			res->tree_size = rc->tree_size;
		if (gi % k == 0 || gi + 1 == s->set->n) {
			if (client_verify_receipt(s->p, rc, br->bytes, br->len, br->sig, err,
			    sizeof(err)) == 0) {
				res->verified++;
			} else {
				res->verify_failed++;
				note_error(res, "receipt does not verify: %s", err);
			}
		}
	}
}

static void *
submit_main(void *arg)
{
	sconn *s = arg;
	const bench_opts *o = s->o;
	evc_client *c = NULL;
	char err[512];
	size_t n = s->to - s->from, batch = o->batch, window = o->window;
	size_t nb = (n + batch - 1) / batch, sent = 0, completed = 0, low = 0;
	pend *pd = calloc(nb ? nb : 1, sizeof(*pd));
	Evchain__V1__SignedRecord *srs = calloc(batch, sizeof(*srs));
	Evchain__V1__SignedRecord **ptrs = calloc(batch, sizeof(*ptrs));
	pb_arena a;

	pb_arena_init(&a, 4u * CLIENT_MAX_FRAME);
	s->lcap = nb;
	s->r.lats = calloc(nb ? nb : 1, sizeof(*s->r.lats));
	if (pd == NULL || srs == NULL || ptrs == NULL || s->r.lats == NULL) {
		note_error(&s->r, "out of memory");
		s->r.failed = 1;
	} else if (client_connect(s->p, o->server, &c, err, sizeof(err)) != 0) {
		note_error(&s->r, "%s", err);
		s->r.failed = 1;
	}
	pthread_barrier_wait(s->go);
	if (s->r.failed)
		goto out;
	for (size_t b = 0; b < nb; b++) {
		pd[b].first = s->from + b * batch;
		pd[b].n = b + 1 < nb ? batch : n - b * batch;
	}
	int64_t start = bench_mono_ns() + s->phase_ns;
	s->t_first = start;
	while (completed < nb) {
		while (sent < nb && sent - completed < window) {
			int64_t due = 0;
			if (s->rate > 0) {
				due = start + (int64_t)((double)(sent * batch) / s->rate * 1e9);
				if (bench_mono_ns() < due) {
					if (sent > completed)
						break; /* collect answers while waiting */
					bench_sleep_until_ns(due);
				}
			}
			int64_t t = bench_mono_ns();
			if (sent == 0 && s->rate <= 0)
				s->t_first = t;
			pd[sent].t_ns = s->rate > 0 ? due : t;
			if (send_batch(s, c, srs, ptrs, &pd[sent]) != 0) {
				note_error(&s->r, "send: %s", client_error(c));
				s->r.failed = 1;
				goto out;
			}
			sent++;
		}
		Response *r;
		pb_arena_reset(&a);
		if (client_recv(c, &a, &r) != 0) {
			note_error(&s->r, "receive: %s", client_error(c));
			s->r.failed = 1;
			goto out;
		}
		int64_t t = bench_mono_ns();
		size_t k = low;
		while (k < sent && (pd[k].done || pd[k].id != r->id))
			k++;
		if (k == sent) {
			note_error(&s->r, "answer to an unknown request: %s", r->status &&
			    r->status->message ? r->status->message : "");
			s->r.failed = 1;
			goto out;
		}
		take_receipts(s, r, &pd[k]);
		pd[k].done = 1;
		s->r.lats[s->r.nlats].ns = t - pd[k].t_ns;
		s->r.lats[s->r.nlats].weight = (uint32_t)pd[k].n;
		s->r.nlats++;
		completed++;
		s->t_last = t;
		while (low < sent && pd[low].done)
			low++;
	}
out:
	client_close(c);
	pb_arena_free(&a);
	free(pd);
	free(srs);
	free(ptrs);
	return NULL;
}

int
bench_submit(const bench_opts *o, const evc_profile *p, const bench_set *set, double rate,
    run_probe *probe, long pid, submit_result *res, char *err, size_t errcap)
{
	unsigned nc = o->connections;
	pthread_barrier_t go;
	sconn *cs = calloc(nc, sizeof(*cs));
	pthread_t *th = calloc(nc, sizeof(*th));

	memset(res, 0, sizeof(*res));
	if (cs == NULL || th == NULL || pthread_barrier_init(&go, NULL, nc + 1) != 0) {
		free(cs);
		free(th);
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < nc; i++) {
		cs[i].o = o;
		cs[i].p = p;
		cs[i].set = set;
		cs[i].from = set->n * i / nc;
		cs[i].to = set->n * (i + 1) / nc;
		cs[i].rate = rate > 0 ? rate / nc : 0;
		cs[i].go = &go;
		cs[i].measure_receipt = i == 0;
		/* Open loop: spread the connections' batches evenly in time. */
		if (rate > 0)
			cs[i].phase_ns = (int64_t)((double)o->batch / rate * 1e9 * i);
		if (pthread_create(&th[i], NULL, submit_main, &cs[i]) != 0) {
			/* Cannot happen in practice; give up cleanly. */
			snprintf(err, errcap, "cannot start connection thread %u", i);
			abort();
		}
	}
	if (probe != NULL)
		probe_begin(probe, pid, o->data);
	pthread_barrier_wait(&go);
	for (unsigned i = 0; i < nc; i++)
		pthread_join(th[i], NULL);
	if (probe != NULL)
		probe_end(probe);
	pthread_barrier_destroy(&go);

	int64_t t0 = INT64_MAX, t1 = 0;
	size_t nl = 0;
	for (unsigned i = 0; i < nc; i++)
		nl += cs[i].r.nlats;
	res->lats = calloc(nl ? nl : 1, sizeof(*res->lats));
	for (unsigned i = 0; i < nc; i++) {
		submit_result *r = &cs[i].r;
		res->sent += r->sent;
		res->ok += r->ok;
		res->refused += r->refused;
		res->duplicates += r->duplicates;
		res->verified += r->verified;
		res->verify_failed += r->verify_failed;
		res->bad += r->bad;
		res->bytes_out += r->bytes_out;
		if (r->receipt_bytes > 0)
			res->receipt_bytes = r->receipt_bytes;
		if (r->tree_size > res->tree_size)
			res->tree_size = r->tree_size;
		if (r->failed)
			res->failed = 1;
		if (res->first_error[0] == '\0' && r->first_error[0] != '\0')
			snprintf(res->first_error, sizeof(res->first_error), "connection %u: %s", i,
			    r->first_error);
		if (r->nlats > 0) {
			if (cs[i].t_first < t0)
				t0 = cs[i].t_first;
			if (cs[i].t_last > t1)
				t1 = cs[i].t_last;
		}
		if (res->lats != NULL && r->nlats > 0) {
			memcpy(res->lats + res->nlats, r->lats, r->nlats * sizeof(*r->lats));
			res->nlats += r->nlats;
		}
		free(r->lats);
	}
	res->seconds = t1 > t0 ? (double)(t1 - t0) / 1e9 : 0;
	free(cs);
	free(th);
	return 0;
}

void
submit_result_free(submit_result *r)
{
	free(r->lats);
	r->lats = NULL;
	r->nlats = 0;
}

/* ---- proofs ----------------------------------------------------------------- */

typedef struct pslot {
	uint64_t id, index;
	int64_t t_ns;
	int used;
} pslot;

typedef struct pconn {
	const bench_opts *o;
	const evc_profile *p;
	uint64_t tree_size;
	uint64_t seed;
	pthread_barrier_t *go;
	proofs_result r;
	size_t lcap;
	int64_t t_first, t_last;
} pconn;

static uint64_t
xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void
pnote(proofs_result *r, const char *msg)
{
	if (r->first_error[0] == '\0')
		snprintf(r->first_error, sizeof(r->first_error), "%s", msg);
}

/* Full check of one inclusion proof answer. */
static int
verify_proof(const evc_profile *p, const Evchain__V1__InclusionProofResponse *ir, uint64_t index,
    char *err, size_t errcap)
{
	checkpoint cp;
	uint8_t hashes[EVC_MAX_PROOF][32];

	if (client_verify_checkpoint(p, ir->checkpoint.data, ir->checkpoint.len, &cp, NULL, err,
	    errcap) != 0)
		return -1;
	if (cp.size != ir->tree_size || ir->index != index || ir->leaf_hash.len != 32 ||
	    ir->n_proof > EVC_MAX_PROOF) {
		snprintf(err, errcap, "proof of %" PRIu64 " does not match its request or checkpoint",
		    index);
		return -1;
	}
	for (size_t i = 0; i < ir->n_proof; i++) {
		if (ir->proof[i].len != 32) {
			snprintf(err, errcap, "proof hash of %zu bytes", ir->proof[i].len);
			return -1;
		}
		memcpy(hashes[i], ir->proof[i].data, 32);
	}
	if (merkle_verify_inclusion(index, cp.size, ir->leaf_hash.data,
	    (const uint8_t(*)[32])hashes, ir->n_proof, cp.root) != 0) {
		snprintf(err, errcap, "inclusion proof of %" PRIu64 " in %" PRIu64 " fails", index,
		    cp.size);
		return -1;
	}
	return 0;
}

static void *
proofs_main(void *arg)
{
	pconn *s = arg;
	const bench_opts *o = s->o;
	evc_client *c = NULL;
	char err[512];
	size_t window = o->window, inflight = 0;
	pslot *slots = calloc(window, sizeof(*slots));
	unsigned k = o->verify_every ? o->verify_every : 1;
	pb_arena a;

	pb_arena_init(&a, 16u << 20);
	if (slots == NULL) {
		pnote(&s->r, "out of memory");
		s->r.broke = 1;
	} else if (client_connect(s->p, o->server, &c, err, sizeof(err)) != 0) {
		pnote(&s->r, err);
		s->r.broke = 1;
	}
	pthread_barrier_wait(s->go);
	if (s->r.broke)
		goto out;
	int64_t start = bench_mono_ns(), end = start + (int64_t)(o->duration * 1e9);
	s->t_first = start;
	int stopping = 0;
	while (!stopping || inflight > 0) {
		while (!stopping && inflight < window) {
			size_t i = 0;
			while (slots[i].used)
				i++;
			Request q = EVCHAIN__V1__REQUEST__INIT;
			Evchain__V1__InclusionProofRequest ir = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__INIT;
			ir.leaf_case = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__LEAF_INDEX;
			ir.index = xorshift(&s->seed) % s->tree_size;
			ir.tree_size = 0; /* the latest checkpoint */
			q.op_case = EVCHAIN__V1__REQUEST__OP_INCLUSION_PROOF;
			q.inclusion_proof = &ir;
			slots[i].t_ns = bench_mono_ns();
			int64_t id = client_send(c, &q);
			if (id < 0) {
				pnote(&s->r, client_error(c));
				s->r.broke = 1;
				goto out;
			}
			slots[i].id = (uint64_t)id;
			slots[i].index = ir.index;
			slots[i].used = 1;
			inflight++;
			s->r.requests++;
		}
		Response *r;
		pb_arena_reset(&a);
		if (client_recv(c, &a, &r) != 0) {
			pnote(&s->r, client_error(c));
			s->r.broke = 1;
			goto out;
		}
		int64_t t = bench_mono_ns();
		size_t i = 0;
		while (i < window && !(slots[i].used && slots[i].id == r->id))
			i++;
		if (i == window) {
			pnote(&s->r, "answer to an unknown request");
			s->r.broke = 1;
			goto out;
		}
		slots[i].used = 0;
		inflight--;
		if ((r->status && r->status->code != CODE_OK) ||
		    r->result_case != EVCHAIN__V1__RESPONSE__RESULT_INCLUSION_PROOF) {
			s->r.failed++;
			snprintf(err, sizeof(err), "proof refused: %s: %s",
			    client_status_name(r->status ? (int)r->status->code : 10),
			    r->status && r->status->message ? r->status->message : "malformed");
			pnote(&s->r, err);
		} else {
			if (s->r.ok % k == 0) {
				if (verify_proof(s->p, r->inclusion_proof, slots[i].index, err,
				    sizeof(err)) == 0) {
					s->r.verified++;
				} else {
					s->r.verify_failed++;
					pnote(&s->r, err);
				}
			}
			if (r->inclusion_proof->tree_size > s->r.tree_size)
				s->r.tree_size = r->inclusion_proof->tree_size;
			s->r.ok++;
			if (s->r.nlats == s->lcap) {
				size_t nc = s->lcap ? s->lcap * 2 : 65536;
				lat_sample *nl = realloc(s->r.lats, nc * sizeof(*nl));
				if (nl != NULL) {
					s->r.lats = nl;
					s->lcap = nc;
				}
			}
			if (s->r.nlats < s->lcap) {
				s->r.lats[s->r.nlats].ns = t - slots[i].t_ns;
				s->r.lats[s->r.nlats].weight = 1;
				s->r.nlats++;
			}
		}
		s->t_last = t;
		if (t >= end)
			stopping = 1;
	}
out:
	client_close(c);
	pb_arena_free(&a);
	free(slots);
	return NULL;
}

int
bench_proofs(const bench_opts *o, const evc_profile *p, uint64_t tree_size, run_probe *probe,
    long pid, proofs_result *res, char *err, size_t errcap)
{
	unsigned nc = o->connections;
	pthread_barrier_t go;
	pconn *cs = calloc(nc, sizeof(*cs));
	pthread_t *th = calloc(nc, sizeof(*th));

	memset(res, 0, sizeof(*res));
	if (tree_size == 0) {
		free(cs);
		free(th);
		snprintf(err, errcap, "the log is empty: nothing to prove (run --mode fill first)");
		return -1;
	}
	if (cs == NULL || th == NULL || pthread_barrier_init(&go, NULL, nc + 1) != 0) {
		free(cs);
		free(th);
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < nc; i++) {
		cs[i].o = o;
		cs[i].p = p;
		cs[i].tree_size = tree_size;
		cs[i].seed = 0x9E3779B97F4A7C15ull ^ ((uint64_t)(i + 1) * 0xD1B54A32D192ED03ull) ^
		    (uint64_t)bench_mono_ns();
		if (cs[i].seed == 0)
			cs[i].seed = 1;
		cs[i].go = &go;
		if (pthread_create(&th[i], NULL, proofs_main, &cs[i]) != 0)
			abort();
	}
	if (probe != NULL)
		probe_begin(probe, pid, o->data);
	pthread_barrier_wait(&go);
	for (unsigned i = 0; i < nc; i++)
		pthread_join(th[i], NULL);
	if (probe != NULL)
		probe_end(probe);
	pthread_barrier_destroy(&go);

	int64_t t0 = INT64_MAX, t1 = 0;
	size_t nl = 0;
	for (unsigned i = 0; i < nc; i++)
		nl += cs[i].r.nlats;
	res->lats = calloc(nl ? nl : 1, sizeof(*res->lats));
	for (unsigned i = 0; i < nc; i++) {
		proofs_result *r = &cs[i].r;
		res->requests += r->requests;
		res->ok += r->ok;
		res->failed += r->failed;
		res->verified += r->verified;
		res->verify_failed += r->verify_failed;
		if (r->tree_size > res->tree_size)
			res->tree_size = r->tree_size;
		if (r->broke)
			res->broke = 1;
		if (res->first_error[0] == '\0' && r->first_error[0] != '\0')
			snprintf(res->first_error, sizeof(res->first_error), "connection %u: %s", i,
			    r->first_error);
		if (r->ok > 0) {
			if (cs[i].t_first < t0)
				t0 = cs[i].t_first;
			if (cs[i].t_last > t1)
				t1 = cs[i].t_last;
		}
		if (res->lats != NULL && r->nlats > 0) {
			memcpy(res->lats + res->nlats, r->lats, r->nlats * sizeof(*r->lats));
			res->nlats += r->nlats;
		}
		free(r->lats);
	}
	res->seconds = t1 > t0 ? (double)(t1 - t0) / 1e9 : 0;
	free(cs);
	free(th);
	return 0;
}

void
proofs_result_free(proofs_result *r)
{
	free(r->lats);
	r->lats = NULL;
	r->nlats = 0;
}
