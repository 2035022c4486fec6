/*
 * ops.c — what evchaind does with a request: roles, submit (verify and
 * validate on the workers, append on the writer), and every read.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bundle.h"
#include "evc.h"
#include "frame.h"
#include "merkle.h"
#include "note.h"
#include "record.h"
#include "server.h"

typedef Evchain__V1__Response Response;
typedef Evchain__V1__Status Status;
#define CODE(x) EVCHAIN__V1__STATUS__CODE__##x

/* ---- replies ----------------------------------------------------------- */

static uint8_t *
pack_frame(const Response *r, size_t *len)
{
	size_t n = evchain__v1__response__get_packed_size(r);
	uint8_t *f = malloc(FRAME_HDR_LEN + n);

	if (f == NULL)
		return NULL;
	frame_header(f, (uint32_t)n);
	evchain__v1__response__pack(r, f + FRAME_HDR_LEN);
	*len = FRAME_HDR_LEN + n;
	return f;
}

uint8_t *
srv_error_frame(uint64_t id, Evchain__V1__Status__Code code, const char *msg, size_t *len)
{
	Response r = EVCHAIN__V1__RESPONSE__INIT;
	Status st = EVCHAIN__V1__STATUS__INIT;

	st.code = code;
	st.message = (char *)msg;
	r.id = id;
	r.status = &st;
	return pack_frame(&r, len);
}

void
srv_job_free(srv_job *j)
{
	if (j == NULL)
		return;
	pb_arena_free(&j->arena);
	free(j->body);
	if (j->conn)
		conn_unref(j->conn);
	free(j);
}

void
srv_reply(srv_job *j, Response *resp)
{
	size_t len;
	Status ok = EVCHAIN__V1__STATUS__INIT;

	resp->id = j->id;
	if (resp->status == NULL)
		resp->status = &ok;
	else if (resp->status->code != CODE(OK))
		atomic_fetch_add(&j->s->stats.refused, 1);
	metrics_reply(j, resp);
	uint8_t *f = pack_frame(resp, &len);
	if (f == NULL || len - FRAME_HDR_LEN > j->s->cfg.max_frame) {
		free(f);
		f = srv_error_frame(j->id, CODE(TOO_LARGE),
		    "response exceeds the maximum frame; ask for a smaller page", &len);
	}
	if (resp->status == &ok)
		resp->status = NULL; /* no pointer to this frame outlives it */
	if (f != NULL)
		conn_send(j->conn, f, len);
	else
		conn_send(j->conn, NULL, 0); /* still releases the in-flight slot */
	srv_job_free(j);
}

void
srv_reply_error(srv_job *j, Evchain__V1__Status__Code code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	Response r = EVCHAIN__V1__RESPONSE__INIT;
	Status st = EVCHAIN__V1__STATUS__INIT;

	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	st.code = code;
	st.message = msg;
	r.status = &st;
	srv_reply(j, &r);
}

/* ---- helpers ------------------------------------------------------------ */

static void *
jalloc(srv_job *j, size_t n)
{
	return pb_arena_alloc(&j->arena, n);
}

static int
copy_bytes(srv_job *j, ProtobufCBinaryData *d, const void *p, size_t n)
{
	d->data = jalloc(j, n ? n : 1);
	if (d->data == NULL)
		return -1;
	memcpy(d->data, p, n);
	d->len = n;
	return 0;
}

static Status *
mkstatus(srv_job *j, Evchain__V1__Status__Code code, uint32_t index, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static Status *
mkstatus(srv_job *j, Evchain__V1__Status__Code code, uint32_t index, const char *fmt, ...)
{
	Status *st = jalloc(j, sizeof(*st));
	char *msg = jalloc(j, 512);
	va_list ap;

	if (st == NULL || msg == NULL)
		return NULL;
	evchain__v1__status__init(st);
	va_start(ap, fmt);
	if (vsnprintf(msg, 512, fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	st->code = code;
	st->message = msg;
	st->record_index = index;
	return st;
}

static Evchain__V1__Status__Code
code_of(int err)
{
	switch (err) {
	case EVC_EINVAL: return CODE(INVALID_ARGUMENT);
	case EVC_EBADSIG: return CODE(BAD_SIGNATURE);
	case EVC_EUNKNOWNKEY: return CODE(UNKNOWN_KEY);
	case EVC_EPERM: return CODE(PERMISSION_DENIED);
	case EVC_ECONFLICT: return CODE(CONFLICT);
	case EVC_ENOTFOUND: return CODE(NOT_FOUND);
	case EVC_ETOOLARGE: return CODE(TOO_LARGE);
	case EVC_EFULL: return CODE(RESOURCE_EXHAUSTED);
	default: return CODE(INTERNAL);
	}
}

/* DESIGN §2: which role may do what. */
static int
allowed(srv_role r, int op)
{
	switch (op) {
	case EVCHAIN__V1__REQUEST__OP_SUBMIT:
		return r == ROLE_NODE || r == ROLE_ADMIN;
	case EVCHAIN__V1__REQUEST__OP_CHECKPOINT:
	case EVCHAIN__V1__REQUEST__OP_CONSISTENCY_PROOF:
	case EVCHAIN__V1__REQUEST__OP_STATUS:
		return r != ROLE_NONE;
	case EVCHAIN__V1__REQUEST__OP_ENTRIES:
	case EVCHAIN__V1__REQUEST__OP_EXPORT_BUNDLE:
		return r == ROLE_SUPERVISOR || r == ROLE_DISCIPLINE || r == ROLE_COURT;
	case EVCHAIN__V1__REQUEST__OP_INCLUSION_PROOF:
	case EVCHAIN__V1__REQUEST__OP_QUERY:
		/* nodes: only their own entries (checked by the handler) */
		return r == ROLE_SUPERVISOR || r == ROLE_DISCIPLINE || r == ROLE_COURT ||
		    r == ROLE_NODE;
	case EVCHAIN__V1__REQUEST__OP_ADD_COSIGNATURE:
		return r == ROLE_WITNESS;
	case EVCHAIN__V1__REQUEST__OP_AUDIT:
		return r == ROLE_SUPERVISOR || r == ROLE_DISCIPLINE;
	default:
		return 0;
	}
}

static const char *
op_name(int op)
{
	switch (op) {
	case EVCHAIN__V1__REQUEST__OP_SUBMIT: return "submit";
	case EVCHAIN__V1__REQUEST__OP_CHECKPOINT: return "checkpoint";
	case EVCHAIN__V1__REQUEST__OP_ENTRIES: return "entries";
	case EVCHAIN__V1__REQUEST__OP_INCLUSION_PROOF: return "inclusion proof";
	case EVCHAIN__V1__REQUEST__OP_CONSISTENCY_PROOF: return "consistency proof";
	case EVCHAIN__V1__REQUEST__OP_QUERY: return "query";
	case EVCHAIN__V1__REQUEST__OP_EXPORT_BUNDLE: return "export bundle";
	case EVCHAIN__V1__REQUEST__OP_ADD_COSIGNATURE: return "add cosignature";
	case EVCHAIN__V1__REQUEST__OP_AUDIT: return "audit";
	case EVCHAIN__V1__REQUEST__OP_STATUS: return "status";
	default: return "unknown operation";
	}
}

/* Inclusion proof as repeated bytes in the job arena. */
static int
fill_proof(srv_job *j, ledger_txn *t, uint64_t index, uint64_t size, ProtobufCBinaryData **out,
    size_t *n)
{
	uint8_t proof[EVC_MAX_PROOF][32];
	size_t len;
	int rc = ledger_prove_inclusion(t, index, size, proof, EVC_MAX_PROOF, &len);

	if (rc != 0)
		return rc;
	ProtobufCBinaryData *p = jalloc(j, sizeof(*p) * (len ? len : 1));
	if (p == NULL)
		return EVC_ENOMEM;
	for (size_t i = 0; i < len; i++)
		if (copy_bytes(j, &p[i], proof[i], 32) != 0)
			return EVC_ENOMEM;
	*out = p;
	*n = len;
	return 0;
}

/* The entry's signer, for the nodes-read-their-own rule. */
static int
entry_signed_by(const uint8_t *e, size_t len, const char *who)
{
	pb_arena a;
	pb_arena_init(&a, 2 * len + 4096);
	Evchain__V1__Entry *en = (Evchain__V1__Entry *)pb_unpack(&a, &evchain__v1__entry__descriptor,
	    e, len);
	int yes = en != NULL && strcmp(en->key_name, who) == 0;
	pb_arena_free(&a);
	return yes;
}

/* ---- reads -------------------------------------------------------------- */

static void
op_checkpoint(srv_job *j, ledger_txn *t)
{
	Evchain__V1__CheckpointRequest *q = j->req->checkpoint;
	Response r = EVCHAIN__V1__RESPONSE__INIT;
	Evchain__V1__CheckpointResponse cr = EVCHAIN__V1__CHECKPOINT_RESPONSE__INIT;
	char *buf = jalloc(j, LEDGER_NOTE_MAX);
	size_t len;
	int rc;

	if (buf == NULL) {
		ledger_read_end(t);
		srv_reply_error(j, CODE(INTERNAL), "out of memory");
		return;
	}
	/* Waiting for witnesses holds a worker: at most all workers but one may
	 * wait at once, so reads and submits always have a worker. The others
	 * get the checkpoint as it is (the client checks the count and retries). */
	uint32_t wait = q->wait_ms > 30000 ? 30000 : q->wait_ms;
	int waiting = 0;
	if (wait > 0 && q->min_cosignatures > 0) {
		int limit = j->s->nworkers > 1 ? (int)j->s->nworkers - 1 : 0;
		if (atomic_fetch_add(&j->s->waiters, 1) < limit)
			waiting = 1;
		else
			atomic_fetch_sub(&j->s->waiters, 1);
	}
	if (!waiting)
		wait = 0;
	uint64_t deadline = srv_mono_ms() + wait;
	for (;;) {
		rc = ledger_checkpoint(t, 0, buf, LEDGER_NOTE_MAX, &len, NULL, NULL);
		if (rc != 0) {
			ledger_read_end(t);
			if (waiting)
				atomic_fetch_sub(&j->s->waiters, 1);
			srv_reply_error(j, code_of(rc), rc == EVC_ENOTFOUND ? "the log is empty"
			    : "cannot read the checkpoint: %s", evc_strerror(rc));
			return;
		}
		/* Lines after the log's signature are cosignatures. */
		uint32_t sigs = 0;
		for (const char *p = buf; (p = strstr(p, "\n\xe2\x80\x94 ")) != NULL; p++)
			sigs++;
		if (sigs == 0 || sigs - 1 >= q->min_cosignatures || srv_mono_ms() >= deadline)
			break;
		/* Wait for witnesses: a fresh snapshot every 50 ms. */
		ledger_read_end(t);
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
		if ((rc = ledger_read_begin(j->s->ledger, &t)) != 0) {
			if (waiting)
				atomic_fetch_sub(&j->s->waiters, 1);
			srv_reply_error(j, CODE(INTERNAL), "ledger: %s", evc_strerror(rc));
			return;
		}
	}
	ledger_read_end(t);
	if (waiting)
		atomic_fetch_sub(&j->s->waiters, 1);
	cr.checkpoint.data = (uint8_t *)buf;
	cr.checkpoint.len = len;
	r.result_case = EVCHAIN__V1__RESPONSE__RESULT_CHECKPOINT;
	r.checkpoint = &cr;
	srv_reply(j, &r);
}

static void
op_entries(srv_job *j, ledger_txn *t)
{
	Evchain__V1__EntriesRequest *q = j->req->entries;
	Response r = EVCHAIN__V1__RESPONSE__INIT;
	Evchain__V1__EntriesResponse er = EVCHAIN__V1__ENTRIES_RESPONSE__INIT;
	uint64_t size = ledger_txn_size(t);

	if (q->start >= size) {
		ledger_read_end(t);
		srv_reply_error(j, CODE(NOT_FOUND), "start %" PRIu64 " is at or past the tree size %" PRIu64,
		    q->start, size);
		return;
	}
	uint64_t n = q->count ? q->count : j->s->cfg.page_size;
	if (n > j->s->cfg.page_size)
		n = j->s->cfg.page_size;
	if (n > size - q->start)
		n = size - q->start;
	er.start = q->start;
	er.entries = jalloc(j, sizeof(*er.entries) * n);
	if (er.entries == NULL)
		goto nomem;
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *e;
		size_t el;
		if (ledger_entry(t, q->start + i, &e, &el) != 0 ||
		    copy_bytes(j, &er.entries[i], e, el) != 0)
			goto nomem;
	}
	er.n_entries = n;
	ledger_read_end(t);
	r.result_case = EVCHAIN__V1__RESPONSE__RESULT_ENTRIES;
	r.entries = &er;
	srv_reply(j, &r);
	return;
nomem:
	ledger_read_end(t);
	srv_reply_error(j, CODE(RESOURCE_EXHAUSTED), "page too large; ask for fewer entries");
}

static void
op_inclusion(srv_job *j, ledger_txn *t)
{
	Evchain__V1__InclusionProofRequest *q = j->req->inclusion_proof;
	Response r = EVCHAIN__V1__RESPONSE__INIT;
	Evchain__V1__InclusionProofResponse ir = EVCHAIN__V1__INCLUSION_PROOF_RESPONSE__INIT;
	uint64_t size = ledger_txn_size(t), index = 0;
	uint8_t leaf[32];
	int rc;

	if (q->leaf_case == EVCHAIN__V1__INCLUSION_PROOF_REQUEST__LEAF_LEAF_HASH) {
		if (q->leaf_hash.len != 32) {
			ledger_read_end(t);
			srv_reply_error(j, CODE(INVALID_ARGUMENT), "leaf_hash must be 32 bytes, not %zu",
			    q->leaf_hash.len);
			return;
		}
		if (ledger_find_leaf(t, q->leaf_hash.data, &index) != 0) {
			ledger_read_end(t);
			srv_reply_error(j, CODE(NOT_FOUND), "no entry has that leaf hash");
			return;
		}
	} else {
		index = q->index;
	}
	uint64_t ts = q->tree_size ? q->tree_size : size;
	if (ts > size || index >= ts) {
		ledger_read_end(t);
		srv_reply_error(j, CODE(NOT_FOUND), "index %" PRIu64 " is not in a tree of size %" PRIu64
		    " (the log has %" PRIu64 ")", index, ts, size);
		return;
	}
	if (j->role == ROLE_NODE) {
		const uint8_t *e;
		size_t el;
		if (ledger_entry(t, index, &e, &el) != 0 || !entry_signed_by(e, el, j->identity)) {
			ledger_read_end(t);
			srv_reply_error(j, CODE(PERMISSION_DENIED), "a node may read only its own entries");
			return;
		}
	}
	if ((rc = fill_proof(j, t, index, ts, &ir.proof, &ir.n_proof)) != 0 ||
	    (rc = ledger_leaf_hash(t, index, leaf)) != 0 || copy_bytes(j, &ir.leaf_hash, leaf, 32) != 0) {
		ledger_read_end(t);
		srv_reply_error(j, code_of(rc), "proof: %s", evc_strerror(rc));
		return;
	}
	char *cp = jalloc(j, LEDGER_NOTE_MAX);
	size_t cpl;
	if (cp != NULL && ledger_checkpoint(t, ts, cp, LEDGER_NOTE_MAX, &cpl, NULL, NULL) == 0) {
		ir.checkpoint.data = (uint8_t *)cp;
		ir.checkpoint.len = cpl;
	}
	ledger_read_end(t);
	ir.index = index;
	ir.tree_size = ts;
	r.result_case = EVCHAIN__V1__RESPONSE__RESULT_INCLUSION_PROOF;
	r.inclusion_proof = &ir;
	srv_reply(j, &r);
}

static void
op_consistency(srv_job *j, ledger_txn *t)
{
	Evchain__V1__ConsistencyProofRequest *q = j->req->consistency_proof;
	Response r = EVCHAIN__V1__RESPONSE__INIT;
	Evchain__V1__ConsistencyProofResponse cr = EVCHAIN__V1__CONSISTENCY_PROOF_RESPONSE__INIT;
	uint64_t size = ledger_txn_size(t);
	uint64_t nw = q->new_size ? q->new_size : size;
	uint8_t proof[2 * EVC_MAX_PROOF][32];
	size_t len;

	if (nw > size || q->old_size > nw) {
		ledger_read_end(t);
		srv_reply_error(j, CODE(NOT_FOUND), "no consistency proof from %" PRIu64 " to %" PRIu64
		    " (the log has %" PRIu64 ")", q->old_size, nw, size);
		return;
	}
	int rc = ledger_prove_consistency(t, q->old_size, nw, proof, 2 * EVC_MAX_PROOF, &len);
	if (rc != 0) {
		ledger_read_end(t);
		srv_reply_error(j, code_of(rc), "proof: %s", evc_strerror(rc));
		return;
	}
	cr.proof = jalloc(j, sizeof(*cr.proof) * (len ? len : 1));
	for (size_t i = 0; cr.proof != NULL && i < len; i++)
		copy_bytes(j, &cr.proof[i], proof[i], 32);
	cr.n_proof = len;
	char *cp = jalloc(j, LEDGER_NOTE_MAX);
	size_t cpl;
	if (cp != NULL && ledger_checkpoint(t, nw, cp, LEDGER_NOTE_MAX, &cpl, NULL, NULL) == 0) {
		cr.checkpoint.data = (uint8_t *)cp;
		cr.checkpoint.len = cpl;
	}
	ledger_read_end(t);
	cr.old_size = q->old_size;
	cr.new_size = nw;
	r.result_case = EVCHAIN__V1__RESPONSE__RESULT_CONSISTENCY_PROOF;
	r.consistency_proof = &cr;
	srv_reply(j, &r);
}

static void
op_query(srv_job *j, ledger_txn *t)
{
	Evchain__V1__QueryRequest *q = j->req->query;
	Response r = EVCHAIN__V1__RESPONSE__INIT;
	Evchain__V1__QueryResponse qr = EVCHAIN__V1__QUERY_RESPONSE__INIT;
	uint64_t size = ledger_txn_size(t), start = q->page_token, end = size;
	int attr = 0;
	const void *val = NULL;
	size_t vlen = 0;
	uint8_t kind;

	switch (q->key_case) {
	case EVCHAIN__V1__QUERY_REQUEST__KEY_COMPANY_USCC:
		attr = RECORD_ATTR_COMPANY; val = q->company_uscc; vlen = strlen(q->company_uscc); break;
	case EVCHAIN__V1__QUERY_REQUEST__KEY_CERTIFICATE_NO:
		attr = RECORD_ATTR_CERT; val = q->certificate_no; vlen = strlen(q->certificate_no); break;
	case EVCHAIN__V1__QUERY_REQUEST__KEY_INSPECTION_ID:
		attr = RECORD_ATTR_INSPECTION; val = q->inspection_id; vlen = strlen(q->inspection_id); break;
	case EVCHAIN__V1__QUERY_REQUEST__KEY_NODE:
		attr = RECORD_ATTR_NODE; val = q->node; vlen = strlen(q->node); break;
	case EVCHAIN__V1__QUERY_REQUEST__KEY_KIND:
		kind = (uint8_t)q->kind; attr = RECORD_ATTR_KIND; val = &kind; vlen = 1; break;
	case EVCHAIN__V1__QUERY_REQUEST__KEY_EVIDENCE_SHA256:
		if (q->evidence_sha256.len != 32) {
			ledger_read_end(t);
			srv_reply_error(j, CODE(INVALID_ARGUMENT), "evidence_sha256 must be 32 bytes");
			return;
		}
		attr = RECORD_ATTR_EVIDENCE; val = q->evidence_sha256.data; vlen = 32; break;
	default:
		break; /* time range only */
	}
	if (j->role == ROLE_NODE && !(attr == RECORD_ATTR_NODE && strcmp(q->node, j->identity) == 0)) {
		ledger_read_end(t);
		srv_reply_error(j, CODE(PERMISSION_DENIED),
		    "a node may query only its own entries (key node = \"%s\")", j->identity);
		return;
	}
	if (vlen == 0 && attr != 0) {
		ledger_read_end(t);
		srv_reply_error(j, CODE(INVALID_ARGUMENT), "empty query key");
		return;
	}
	uint64_t tf;
	if (q->from_ms > 0 && ledger_first_at_time(t, q->from_ms, &tf) == 0 && tf > start)
		start = tf;
	if (q->to_ms > 0 && ledger_first_at_time(t, q->to_ms, &tf) == 0 && tf < end)
		end = tf;
	size_t cap = q->limit ? q->limit : j->s->cfg.page_size;
	if (cap > j->s->cfg.page_size)
		cap = j->s->cfg.page_size;
	uint64_t *idx = jalloc(j, sizeof(uint64_t) * (cap ? cap : 1));
	size_t n = 0;
	uint64_t next = 0;
	if (idx == NULL)
		goto nomem;
	if (attr != 0) {
		int rc = ledger_query(t, attr, val, vlen, start, idx, cap, &n, &next);
		if (rc != 0) {
			ledger_read_end(t);
			srv_reply_error(j, code_of(rc), "query: %s", evc_strerror(rc));
			return;
		}
		while (n > 0 && idx[n - 1] >= end) {
			n--;
			next = 0;
		}
		if (next >= end)
			next = 0;
	} else {
		for (uint64_t i = start; i < end && n < cap; i++)
			idx[n++] = i;
		next = start + n < end ? start + n : 0;
	}
	qr.indices = idx;
	qr.n_indices = n;
	qr.next_page_token = next;
	qr.entries = jalloc(j, sizeof(*qr.entries) * (n ? n : 1));
	if (qr.entries == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e;
		size_t el;
		if (ledger_entry(t, idx[i], &e, &el) != 0 || copy_bytes(j, &qr.entries[i], e, el) != 0)
			goto nomem;
	}
	qr.n_entries = n;
	if (q->with_proofs && n > 0) {
		qr.proofs = jalloc(j, sizeof(*qr.proofs) * n);
		if (qr.proofs == NULL)
			goto nomem;
		for (size_t i = 0; i < n; i++) {
			Evchain__V1__InclusionProof *p = jalloc(j, sizeof(*p));
			if (p == NULL)
				goto nomem;
			evchain__v1__inclusion_proof__init(p);
			p->index = idx[i];
			if (fill_proof(j, t, idx[i], size, &p->hashes, &p->n_hashes) != 0)
				goto nomem;
			qr.proofs[i] = p;
		}
		qr.n_proofs = n;
		char *cp = jalloc(j, LEDGER_NOTE_MAX);
		size_t cpl;
		if (cp != NULL && ledger_checkpoint(t, size, cp, LEDGER_NOTE_MAX, &cpl, NULL, NULL) == 0) {
			qr.checkpoint.data = (uint8_t *)cp;
			qr.checkpoint.len = cpl;
		}
	}
	ledger_read_end(t);
	r.result_case = EVCHAIN__V1__RESPONSE__RESULT_QUERY;
	r.query = &qr;
	srv_reply(j, &r);
	return;
nomem:
	ledger_read_end(t);
	srv_reply_error(j, CODE(RESOURCE_EXHAUSTED), "page too large; ask for a smaller limit");
}

static void
op_add_cosignature(srv_job *j, ledger_txn *t)
{
	Evchain__V1__AddCosignatureRequest *q = j->req->add_cosignature;
	Response r = EVCHAIN__V1__RESPONSE__INIT;
	Evchain__V1__AddCosignatureResponse ar = EVCHAIN__V1__ADD_COSIGNATURE_RESPONSE__INIT;
	const evc_vkey *wk = NULL;
	char buf[LEDGER_NOTE_MAX], line[512];
	size_t len;
	note nt;
	checkpoint cp;
	uint64_t ts;

	for (size_t i = 0; i < j->s->nwitnesses; i++)
		if (strcmp(j->s->witnesses[i].name, q->witness_name) == 0)
			wk = &j->s->witnesses[i];
	if (strcmp(q->witness_name, j->identity) != 0) {
		ledger_read_end(t);
		srv_reply_error(j, CODE(PERMISSION_DENIED), "witness \"%s\" may not cosign as \"%s\"",
		    j->identity, q->witness_name);
		return;
	}
	if (wk == NULL) {
		ledger_read_end(t);
		srv_reply_error(j, CODE(UNKNOWN_KEY), "\"%s\" is not a witness of this log", q->witness_name);
		return;
	}
	if (q->signature.len != NOTE_COSIG_LEN || q->root_hash.len != 32) {
		ledger_read_end(t);
		srv_reply_error(j, CODE(INVALID_ARGUMENT), "a cosignature is %d bytes and a root 32",
		    NOTE_COSIG_LEN);
		return;
	}
	int rc = ledger_checkpoint(t, q->tree_size, buf, sizeof(buf), &len, NULL, NULL);
	ledger_read_end(t);
	if (rc != 0) {
		srv_reply_error(j, CODE(NOT_FOUND), "no checkpoint of size %" PRIu64, q->tree_size);
		return;
	}
	if (note_parse(buf, len, &nt) != 0 || checkpoint_parse(nt.text, nt.text_len, &cp) != 0) {
		srv_reply_error(j, CODE(INTERNAL), "stored checkpoint unreadable");
		return;
	}
	if (memcmp(cp.root, q->root_hash.data, 32) != 0) {
		srv_reply_error(j, CODE(CONFLICT), "the root hash differs from the log's at size %" PRIu64,
		    q->tree_size);
		return;
	}
	if (cosig_verify(nt.text, nt.text_len, wk, q->signature.data, &ts) != 0) {
		srv_reply_error(j, CODE(BAD_SIGNATURE), "cosignature does not verify with %s's key",
		    wk->name);
		return;
	}
	int ll = note_sig_line(wk->name, wk->id, q->signature.data + 4, NOTE_COSIG_LEN - 4, line,
	    sizeof(line));
	if (ll < 0 || (rc = ledger_add_cosignature(j->s->ledger, q->tree_size, wk->name, line,
	    (size_t)ll)) < 0) {
		srv_reply_error(j, code_of(ll < 0 ? ll : rc), "cannot store the cosignature");
		return;
	}
	srv_log("witness \"%s\" cosigned size %" PRIu64, wk->name, q->tree_size);
	metrics_cosigned((size_t)(wk - j->s->witnesses), q->tree_size);
	ar.cosignatures = (uint32_t)rc;
	r.result_case = EVCHAIN__V1__RESPONSE__RESULT_ADD_COSIGNATURE;
	r.add_cosignature = &ar;
	srv_reply(j, &r);
}

static void
op_status(srv_job *j, ledger_txn *t)
{
	srv *s = j->s;
	Response r = EVCHAIN__V1__RESPONSE__INIT;
	Evchain__V1__StatusResponse sr = EVCHAIN__V1__STATUS_RESPONSE__INIT;
	char *cp = jalloc(j, LEDGER_NOTE_MAX);
	size_t cpl;
	int64_t cpt = 0;

	sr.version = EVCHAIND_VERSION;
	sr.origin = s->log_key.name;
	sr.tree_size = ledger_txn_size(t);
	if (cp != NULL && ledger_checkpoint(t, 0, cp, LEDGER_NOTE_MAX, &cpl, NULL, &cpt) == 0) {
		sr.checkpoint.data = (uint8_t *)cp;
		sr.checkpoint.len = cpl;
		sr.checkpoint_ms = cpt;
	}
	ledger_read_end(t);
	sr.uptime_ms = srv_now_ms() - s->started_ms;
	sr.connections = atomic_load(&s->stats.connections);
	sr.entries_appended = atomic_load(&s->stats.entries_appended);
	sr.batches_committed = atomic_load(&s->stats.batches_committed);
	sr.role = (char *)srv_role_name(j->role);
	sr.identity = j->identity;
	r.result_case = EVCHAIN__V1__RESPONSE__RESULT_STATUS_INFO;
	r.status_info = &sr;
	srv_reply(j, &r);
}

/* The evidence bundle of an inspection (or a company over a time range),
 * proved to the latest checkpoint with every cosignature (DESIGN §6). */
static void
op_export_bundle(srv_job *j, ledger_txn *t)
{
	Evchain__V1__ExportBundleRequest *q = j->req->export_bundle;
	Response r = EVCHAIN__V1__RESPONSE__INIT;
	Evchain__V1__ExportBundleResponse er = EVCHAIN__V1__EXPORT_BUNDLE_RESPONSE__INIT;
	bundle_subject subj = { 0 };
	bundle_build_opts o = { 0 };
	char err[512];
	size_t packed;

	if (q->subject_case == EVCHAIN__V1__EXPORT_BUNDLE_REQUEST__SUBJECT_INSPECTION_ID)
		subj.inspection_id = q->inspection_id;
	else if (q->subject_case == EVCHAIN__V1__EXPORT_BUNDLE_REQUEST__SUBJECT_COMPANY_USCC)
		subj.company_uscc = q->company_uscc;
	subj.from_ms = q->from_ms;
	subj.to_ms = q->to_ms;
	o.min_cosignatures = q->min_cosignatures;
	o.max_bytes = j->s->cfg.max_frame > (256u << 10) ? j->s->cfg.max_frame - (256u << 10) : 0;
	if (o.max_bytes > BUNDLE_MAX_BYTES)
		o.max_bytes = BUNDLE_MAX_BYTES;
	int rc = bundle_build(t, &subj, &o, &j->arena, &er.bundle, &packed, err, sizeof(err));
	ledger_read_end(t);
	if (rc != 0) {
		srv_reply_error(j, code_of(rc), "export: %s", err);
		return;
	}
	srv_log("%s \"%s\" exported a bundle of %zu entries (%zu bytes)", srv_role_name(j->role),
	    j->identity, er.bundle->n_entries, packed);
	r.result_case = EVCHAIN__V1__RESPONSE__RESULT_EXPORT_BUNDLE;
	r.export_bundle = &er;
	srv_reply(j, &r);
}

/* ---- submit: the worker half ------------------------------------------ */

/* 1 if exactly these record bytes are already logged under (signer, id): an
 * idempotent resubmission, answered with the existing entry even when the
 * keyring has changed since (a key record registered twice, a key revoked).
 * Asked only when the keyring refuses, so it costs nothing on the hot path. */
static int
already_logged(srv *s, const Record *rec, const uint8_t *bytes, size_t len)
{
	ledger_txn *t;
	uint64_t idx;
	const uint8_t *e, *rb;
	size_t el, rl;
	int yes = 0;

	if (ledger_read_begin(s->ledger, &t) != 0)
		return 0;
	if (ledger_find_record(t, rec->signer, rec->record_id, &idx) == 0 &&
	    ledger_entry(t, idx, &e, &el) == 0 && pb_field_bytes(e, el, 5, &rb, &rl) == 0)
		yes = rl == len && memcmp(rb, bytes, len) == 0;
	ledger_read_end(t);
	return yes;
}

/* An upper bound on the size of the submit response: each receipt carries
 * its entry (record, key name, signature and 32-byte previous leaf hash, with
 * index, time and tags), the leaf hash, an inclusion proof, the checkpoint and
 * small integers; a refused record only a status (message up to 512 bytes). */
static uint64_t
submit_response_bound(const srv *s, const Evchain__V1__SubmitRequest *q)
{
	/* Proof depth: the tree may grow by what other jobs append meanwhile. */
	uint64_t size = 2 * (ledger_size(s->ledger) + q->n_records) + 65536;
	uint64_t depth = 0;
	while (size > 1) {
		size = (size + 1) / 2;
		depth++;
	}
	uint64_t cp = 2 * strlen(s->log_key.name) + 256 + s->nwitnesses * (EVC_MAX_KEY_NAME + 128);
	uint64_t total = 64;
	for (size_t i = 0; i < q->n_records; i++) {
		const Evchain__V1__SignedRecord *sr = q->records[i];
		uint64_t entry = sr->record.len + strlen(sr->key_name) + sr->signature.len + 160;
		uint64_t ok = entry + 34 * depth + cp + 96;
		total += (ok > 600 ? ok : 600) + 8;
	}
	return total;
}

static void
submit_check(srv_job *j)
{
	srv *s = j->s;
	Evchain__V1__SubmitRequest *q = j->req->submit;
	size_t n = q->n_records, ok = 0;
	int64_t now = srv_now_ms();
	char why[512];

	if (n == 0) {
		srv_reply_error(j, CODE(INVALID_ARGUMENT), "submit carries no record");
		return;
	}
	if (n > s->cfg.max_batch) {
		srv_reply_error(j, CODE(TOO_LARGE), "%zu records in one submit; the maximum is %llu", n,
		    (unsigned long long)s->cfg.max_batch);
		return;
	}
	/* Refused now what could not be answered once logged. */
	uint64_t bound = submit_response_bound(s, q);
	if (bound > s->cfg.max_frame) {
		srv_reply_error(j, CODE(TOO_LARGE), "the receipts of these %zu records may take %llu "
		    "bytes, over the maximum frame of %llu; submit fewer at a time", n,
		    (unsigned long long)bound, (unsigned long long)s->cfg.max_frame);
		return;
	}
	j->nrec = n;
	j->receipts = jalloc(j, sizeof(*j->receipts) * n);
	j->recs = jalloc(j, sizeof(*j->recs) * n);
	if (j->receipts == NULL || j->recs == NULL) {
		srv_reply_error(j, CODE(RESOURCE_EXHAUSTED), "request too large for its memory budget");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		Evchain__V1__SignedRecord *sr = q->records[i];
		Evchain__V1__Receipt *rc = jalloc(j, sizeof(*rc));
		uint32_t ri = (uint32_t)i;

		j->recs[i] = NULL;
		if (rc == NULL) {
			srv_reply_error(j, CODE(RESOURCE_EXHAUSTED), "request too large for its memory budget");
			return;
		}
		evchain__v1__receipt__init(rc);
		j->receipts[i] = rc;
		if (sr->record.len == 0 || sr->record.len > EVC_MAX_RECORD) {
			rc->status = mkstatus(j, CODE(TOO_LARGE), ri, "record %zu is %zu bytes (1..%u)", i,
			    sr->record.len, EVC_MAX_RECORD);
			continue;
		}
		if (strcmp(sr->key_name, j->identity) != 0) {
			rc->status = mkstatus(j, CODE(PERMISSION_DENIED), ri,
			    "record %zu is signed by \"%s\" but the certificate is \"%s\"", i,
			    sr->key_name, j->identity);
			continue;
		}
		if (sr->signature.len != 64) {
			rc->status = mkstatus(j, CODE(BAD_SIGNATURE), ri,
			    "record %zu: signature is %zu bytes, not 64", i, sr->signature.len);
			continue;
		}
		Record *rec = record_decode(&j->arena, sr->record.data, sr->record.len);
		if (rec == NULL) {
			rc->status = mkstatus(j, CODE(INVALID_ARGUMENT), ri,
			    "record %zu does not decode as evchain.v1.Record", i);
			continue;
		}
		if (strcmp(rec->signer, sr->key_name) != 0) {
			rc->status = mkstatus(j, CODE(INVALID_ARGUMENT), ri,
			    "record %zu: signer \"%s\" differs from key_name \"%s\"", i, rec->signer,
			    sr->key_name);
			continue;
		}
		if (record_validate(rec, now, why, sizeof(why)) != 0) {
			rc->status = mkstatus(j, CODE(INVALID_ARGUMENT), ri, "record %zu: %s", i, why);
			continue;
		}
		const keyring_key *k;
		evc_vkey vk;
		pthread_rwlock_rdlock(&s->keys_lock);
		int kr = keyring_check(s->keys, rec->signer, rec, ledger_size(s->ledger), now, &k, why,
		    sizeof(why));
		if (kr == 0)
			vk = k->vk;
		pthread_rwlock_unlock(&s->keys_lock);
		if (kr != 0 && already_logged(s, rec, sr->record.data, sr->record.len)) {
			j->recs[i] = rec; /* the writer answers with the existing entry */
			ok++;
			continue;
		}
		if (kr != 0) {
			rc->status = mkstatus(j, code_of(kr), ri, "record %zu: %s", i, why);
			continue;
		}
		if (record_verify(&vk, sr->record.data, sr->record.len, sr->signature.data) != 0) {
			rc->status = mkstatus(j, CODE(BAD_SIGNATURE), ri,
			    "record %zu: signature does not verify with the key of \"%s\"", i, vk.name);
			continue;
		}
		j->recs[i] = rec;
		ok++;
	}
	if (ok == 0) {
		/* Nothing for the writer: answer now. */
		Response r = EVCHAIN__V1__RESPONSE__INIT;
		Evchain__V1__SubmitResponse sub = EVCHAIN__V1__SUBMIT_RESPONSE__INIT;
		sub.receipts = j->receipts;
		sub.n_receipts = n;
		r.result_case = EVCHAIN__V1__RESPONSE__RESULT_SUBMIT;
		r.submit = &sub;
		srv_reply(j, &r);
		return;
	}
	srv_queue_push(&s->write_q, j);
}

void
srv_handle(srv_job *j)
{
	srv *s = j->s;
	ledger_txn *t;
	int rc;

	/* The request's decode and its response share one bounded arena: a
	 * decode may use a small multiple of its input, a response at most
	 * about two frames. */
	pb_arena_init(&j->arena, 4 * j->len + 2 * s->cfg.max_frame + (1u << 20));
	j->req = (Evchain__V1__Request *)pb_unpack(&j->arena, &evchain__v1__request__descriptor,
	    j->body, j->len);
	if (j->req == NULL) {
		srv_reply_error(j, CODE(INVALID_ARGUMENT), j->arena.exhausted
		    ? "request exceeds its decoding budget" : "request does not decode as evchain.v1.Request");
		return;
	}
	/* Answer under the id the request carries as decoded (the last one, in
	 * any field order), not the leading one peeked for undecodable frames. */
	j->id = j->req->id;
	int op = (int)j->req->op_case;
	if (op == EVCHAIN__V1__REQUEST__OP__NOT_SET) {
		srv_reply_error(j, CODE(INVALID_ARGUMENT), "request names no operation");
		return;
	}
	if (!allowed(j->role, op)) {
		srv_log("refused: %s \"%s\" may not %s", srv_role_name(j->role), j->identity, op_name(op));
		srv_reply_error(j, CODE(PERMISSION_DENIED), "role %s may not %s", srv_role_name(j->role),
		    op_name(op));
		return;
	}
	if (op == EVCHAIN__V1__REQUEST__OP_SUBMIT) {
		submit_check(j);
		return;
	}
	if (op == EVCHAIN__V1__REQUEST__OP_AUDIT) {
		srv_reply_error(j, CODE(UNAVAILABLE), "%s is not served by evchaind %s", op_name(op),
		    EVCHAIND_VERSION);
		return;
	}
	if ((rc = ledger_read_begin(s->ledger, &t)) != 0) {
		srv_reply_error(j, CODE(INTERNAL), "ledger: %s", evc_strerror(rc));
		return;
	}
	switch (op) {
	case EVCHAIN__V1__REQUEST__OP_CHECKPOINT: op_checkpoint(j, t); break;
	case EVCHAIN__V1__REQUEST__OP_ENTRIES: op_entries(j, t); break;
	case EVCHAIN__V1__REQUEST__OP_INCLUSION_PROOF: op_inclusion(j, t); break;
	case EVCHAIN__V1__REQUEST__OP_CONSISTENCY_PROOF: op_consistency(j, t); break;
	case EVCHAIN__V1__REQUEST__OP_QUERY: op_query(j, t); break;
	case EVCHAIN__V1__REQUEST__OP_ADD_COSIGNATURE: op_add_cosignature(j, t); break;
	case EVCHAIN__V1__REQUEST__OP_STATUS: op_status(j, t); break;
	case EVCHAIN__V1__REQUEST__OP_EXPORT_BUNDLE: op_export_bundle(j, t); break;
	default:
		ledger_read_end(t);
		srv_reply_error(j, CODE(INVALID_ARGUMENT), "unknown operation %d", op);
	}
}

/* ---- submit: the writer half (group commit) ---------------------------- */

typedef struct wslot {
	srv_job *job;
	size_t rec;   /* index in the job */
} wslot;

/* Append slots[0..n) (no NodeKey among them, or exactly one alone) and fill
 * their receipts. */
static void
commit_group(srv *s, wslot *slots, size_t n, ledger_item *items, ledger_head *head)
{
	size_t m = 0;
	int64_t now = srv_now_ms();
	char why[512];
	uint64_t base = ledger_size(s->ledger);
	size_t *map = malloc(sizeof(size_t) * (n ? n : 1));

	if (map == NULL)
		return;
	/* Re-check the signer's key as of the head it will be appended after. */
	pthread_rwlock_rdlock(&s->keys_lock);
	for (size_t i = 0; i < n; i++) {
		srv_job *j = slots[i].job;
		size_t k = slots[i].rec;
		Record *rec = j->recs[k];
		const keyring_key *key;
		Evchain__V1__SignedRecord *sr0 = j->req->submit->records[k];
		int kr = keyring_check(s->keys, rec->signer, rec, base, now, &key, why, sizeof(why));
		if (kr != 0 && already_logged(s, rec, sr0->record.data, sr0->record.len))
			kr = 0; /* an identical record: the ledger answers with its entry */
		if (kr != 0) {
			j->receipts[k]->status = mkstatus(j, code_of(kr), (uint32_t)k, "record %zu: %s", k, why);
			continue;
		}
		Evchain__V1__SignedRecord *sr = j->req->submit->records[k];
		memset(&items[m], 0, sizeof(items[m]));
		items[m].record = sr->record.data;
		items[m].record_len = sr->record.len;
		items[m].sig = sr->signature.data;
		items[m].rec = rec;
		map[m++] = i;
	}
	pthread_rwlock_unlock(&s->keys_lock);
	if (m == 0) {
		free(map);
		return;
	}

	uint64_t t0 = uv_hrtime();
	int rc = ledger_append(s->ledger, items, m, &s->log_key, now, head);
	if (rc != 0) {
		srv_log("append of %zu records failed: %s", m, evc_strerror(rc));
		for (size_t i = 0; i < m; i++) {
			srv_job *j = slots[map[i]].job;
			size_t k = slots[map[i]].rec;
			j->receipts[k]->status = mkstatus(j, rc == EVC_EFULL ? CODE(RESOURCE_EXHAUSTED)
			    : CODE(UNAVAILABLE), (uint32_t)k, "record %zu not logged: %s%s", k,
			    evc_strerror(rc), rc == EVC_EFULL ? " (the ledger's map is at map_max)" : "");
		}
		free(map);
		return;
	}
	size_t appended = 0;
	for (size_t i = 0; i < m; i++)
		appended += items[i].result == LEDGER_APPENDED;
	atomic_fetch_add(&s->stats.entries_appended, appended);
	if (appended)
		atomic_fetch_add(&s->stats.batches_committed, 1);
	metrics_commit(appended, uv_hrtime() - t0, head);

	/* Key records change the keyring only once committed. */
	for (size_t i = 0; i < m; i++) {
		if (items[i].result == LEDGER_APPENDED &&
		    record_kind(items[i].rec) == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY) {
			pthread_rwlock_wrlock(&s->keys_lock);
			int ar = keyring_apply(s->keys, items[i].rec, items[i].index);
			pthread_rwlock_unlock(&s->keys_lock);
			srv_log("key record at %" PRIu64 ": %s %s%s", items[i].index,
			    items[i].rec->node_key->action == EVCHAIN__V1__NODE_KEY__ACTION__REVOKE
			    ? "revoked" : "registered", items[i].rec->node_key->key_name,
			    ar ? " (keyring refused it)" : "");
		}
	}

	/* Receipts: proofs to the new checkpoint, from one snapshot. */
	ledger_txn *t = NULL;
	int trc = ledger_read_begin(s->ledger, &t);
	if (trc == 0 && m > 1)
		ledger_txn_memo(t);
	for (size_t i = 0; i < m; i++) {
		srv_job *j = slots[map[i]].job;
		size_t k = slots[map[i]].rec;
		Evchain__V1__Receipt *r = j->receipts[k];
		ledger_item *it = &items[i];
		if (it->result == EVC_ECONFLICT) {
			r->status = mkstatus(j, CODE(CONFLICT), (uint32_t)k,
			    "record %zu: record id \"%s\" of \"%s\" is already logged at index %" PRIu64
			    " with other bytes", k, it->rec->record_id, it->rec->signer, it->index);
			continue;
		}
		if (it->result < 0) {
			r->status = mkstatus(j, code_of(it->result), (uint32_t)k, "record %zu: %s", k,
			    evc_strerror(it->result));
			continue;
		}
		const uint8_t *e;
		size_t el;
		if (trc != 0 || fill_proof(j, t, it->index, head->size, &r->inclusion_proof,
		    &r->n_inclusion_proof) != 0 ||
		    (it->entry != NULL ? (e = it->entry, el = it->entry_len, 0) :
		    ledger_entry(t, it->index, &e, &el)) != 0 ||
		    copy_bytes(j, &r->entry, e, el) != 0 || copy_bytes(j, &r->leaf_hash, it->leaf, 32) != 0 ||
		    copy_bytes(j, &r->checkpoint, head->note, head->note_len) != 0) {
			r->status = mkstatus(j, CODE(INTERNAL), (uint32_t)k,
			    "record %zu logged at %" PRIu64 " but its receipt could not be built", k, it->index);
			continue;
		}
		r->index = it->index;
		r->log_time_ms = it->log_time_ms;
		r->tree_size = head->size;
		r->duplicate = it->result == LEDGER_DUPLICATE;
	}
	ledger_read_end(t);
	free(map);
}

void *
srv_writer_main(void *arg)
{
	srv *s = arg;
	size_t cap = 0;
	wslot *slots = NULL;
	ledger_item *items = NULL;
	ledger_head *head = malloc(sizeof(*head));

	pthread_setname_np(pthread_self(), "evc-writer");
	if (head == NULL)
		return NULL;
	for (;;) {
		srv_job *list = srv_queue_pop_all(&s->write_q);
		if (list == NULL)
			break;
		/* Flatten every accepted record of every job, in arrival order. */
		size_t n = 0;
		for (srv_job *j = list; j != NULL; j = j->next)
			n += j->nrec;
		if (n > cap || slots == NULL) {
			wslot *ns = realloc(slots, sizeof(*slots) * (n ? n : 1));
			ledger_item *ni = ns ? realloc(items, sizeof(*items) * (n ? n : 1)) : NULL;
			if (ns)
				slots = ns;
			if (ni)
				items = ni;
			if (ns == NULL || ni == NULL) {
				for (srv_job *j = list, *nx; j != NULL; j = nx) {
					nx = j->next;
					srv_reply_error(j, CODE(RESOURCE_EXHAUSTED), "server out of memory");
				}
				continue;
			}
			cap = n;
		}
		size_t m = 0;
		for (srv_job *j = list; j != NULL; j = j->next)
			for (size_t k = 0; k < j->nrec; k++)
				if (j->recs[k] != NULL) {
					slots[m].job = j;
					slots[m].rec = k;
					m++;
				}
		/* Groups of at most group_max; a key record goes alone so that the
		 * records after it see the keyring it makes. */
		size_t start = 0;
		while (start < m) {
			size_t end = start;
			if (record_kind(slots[start].job->recs[slots[start].rec]) ==
			    EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY) {
				end = start + 1;
			} else {
				while (end < m && end - start < s->cfg.group_max &&
				    record_kind(slots[end].job->recs[slots[end].rec]) !=
				    EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY)
					end++;
			}
			commit_group(s, slots + start, end - start, items, head);
			start = end;
		}
		/* Every job of the group is answered together. */
		for (srv_job *j = list, *nx; j != NULL; j = nx) {
			nx = j->next;
			Response r = EVCHAIN__V1__RESPONSE__INIT;
			Evchain__V1__SubmitResponse sub = EVCHAIN__V1__SUBMIT_RESPONSE__INIT;
			sub.receipts = j->receipts;
			sub.n_receipts = j->nrec;
			r.result_case = EVCHAIN__V1__RESPONSE__RESULT_SUBMIT;
			r.submit = &sub;
			srv_reply(j, &r);
		}
	}
	free(slots);
	free(items);
	free(head);
	return NULL;
}
