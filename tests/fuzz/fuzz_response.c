/*
 * fuzz_response.c — libFuzzer target for the client's side of the wire: what
 * a hostile or broken server may send. The first byte says what the client
 * asked (0 checkpoint, 1 submit of a known record, 2 inclusion proof of entry
 * 3, 3 consistency proof from 2, 4 entries from 0); the rest is the Response
 * frame body, decoded in a bounded arena and checked with the client library
 * as `evchain` checks it (client_verify_checkpoint, client_verify_receipt,
 * client_verify_inclusion, merkle_verify_consistency).
 *
 * The oracle: the log key is known only to the in-process log of fuzz_srv.h,
 * so whatever verifies must be true of that log — a verified checkpoint's root
 * is the root of the log at that size, a verified receipt names the log's own
 * entry at its index, a verified entry is the log's entry. Anything else that
 * verifies is a forgery the client let through: abort.
 *
 * FUZZ_WRITE_SEEDS=DIR writes the seed corpus (tests/fuzz/corpus/response/):
 * the real server's answers (server/ops.c in process) to each of the five
 * requests, and refusals.
 */
#include "client.h"
#include "fuzz_srv.h"
#include "merkle.h"

/* The client library, as `evchain` links it. */
#include "../../client/client.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static evc_profile prof;
static uint8_t *rec_bytes;           /* the record the client submitted */
static size_t rec_len;
static uint8_t rec_sig[64];

/* The log's root at size n (n within the log). */
static int
true_root(uint64_t n, uint8_t root[32])
{
	ledger_txn *t;
	if (ledger_read_begin(fsrv.ledger, &t) != 0)
		abort();
	int rc = n <= ledger_txn_size(t) ? ledger_tree_hash(t, n, root) : -1;
	ledger_read_end(t);
	return rc;
}

/* The log's entry at index i equals e[0..len). */
static int
true_entry(uint64_t i, const uint8_t *e, size_t len)
{
	ledger_txn *t;
	const uint8_t *b;
	size_t bl;
	if (ledger_read_begin(fsrv.ledger, &t) != 0)
		abort();
	int same = ledger_entry(t, i, &b, &bl) == 0 && bl == len && memcmp(b, e, len) == 0;
	ledger_read_end(t);
	return same;
}

/* A checkpoint that verifies must be the log's. */
static int
checked_checkpoint(const ProtobufCBinaryData *note_bytes, checkpoint *cp)
{
	char err[512];
	size_t cosigned = 0;
	uint8_t root[32];
	if (client_verify_checkpoint(&prof, note_bytes->data, note_bytes->len, cp, &cosigned, err,
	    sizeof(err)) != 0)
		return 0;
	if (true_root(cp->size, root) != 0 || memcmp(root, cp->root, 32) != 0)
		abort();
	return 1;
}

static void
check(int ctx, const Evchain__V1__Response *r)
{
	char err[512];
	checkpoint cp;

	switch (ctx) {
	case 0:
		if (r->result_case == EVCHAIN__V1__RESPONSE__RESULT_CHECKPOINT)
			(void)checked_checkpoint(&r->checkpoint->checkpoint, &cp);
		break;
	case 1:
		if (r->result_case != EVCHAIN__V1__RESPONSE__RESULT_SUBMIT)
			break;
		for (size_t i = 0; i < r->submit->n_receipts; i++) {
			const Evchain__V1__Receipt *rc = r->submit->receipts[i];
			if (rc == NULL || client_verify_receipt(&prof, rc, rec_bytes, rec_len, rec_sig, err,
			    sizeof(err)) != 0)
				continue;
			/* Verified: the checkpoint is the log's, the entry the log's own
			 * at that index, holding the record submitted. */
			if (!checked_checkpoint(&rc->checkpoint, &cp) || !true_entry(rc->index,
			    rc->entry.data, rc->entry.len))
				abort();
		}
		break;
	case 2:
		if (r->result_case != EVCHAIN__V1__RESPONSE__RESULT_INCLUSION_PROOF)
			break;
		{
			const Evchain__V1__InclusionProofResponse *ip = r->inclusion_proof;
			ledger_txn *t;
			const uint8_t *e;
			size_t el;
			if (!checked_checkpoint(&ip->checkpoint, &cp) || ledger_read_begin(fsrv.ledger, &t) != 0)
				break;
			/* The client holds the entry it asks about (entry 3). */
			if (ledger_entry(t, 3, &e, &el) != 0)
				abort();
			if (client_verify_inclusion(&cp, ip->index, e, el, ip->proof, ip->n_proof, err,
			    sizeof(err)) == 0 && ip->index != 3)
				abort(); /* entry 3 proven at another index */
			ledger_read_end(t);
		}
		break;
	case 3:
		if (r->result_case != EVCHAIN__V1__RESPONSE__RESULT_CONSISTENCY_PROOF)
			break;
		{
			const Evchain__V1__ConsistencyProofResponse *pr = r->consistency_proof;
			uint8_t old_root[32], (*proof)[32];
			if (!checked_checkpoint(&pr->checkpoint, &cp) || pr->n_proof > 2 * EVC_MAX_PROOF ||
			    true_root(2, old_root) != 0)
				break;
			if ((proof = calloc(pr->n_proof + 1, 32)) == NULL)
				abort();
			int ok = 1;
			for (size_t i = 0; i < pr->n_proof; i++) {
				ok &= pr->proof[i].len == 32;
				if (ok)
					memcpy(proof[i], pr->proof[i].data, 32);
			}
			/* A verified proof joins the trusted size 2 to the log's tree. */
			if (ok)
				(void)merkle_verify_consistency(2, cp.size, old_root, cp.root,
				    (const uint8_t (*)[32])proof, pr->n_proof);
			free(proof);
		}
		break;
	default:
		if (r->result_case != EVCHAIN__V1__RESPONSE__RESULT_ENTRIES)
			break;
		{
			/* Entries, checked the way `evchain get` checks one: an
			 * inclusion proof to a verified checkpoint (here, the log's
			 * own proofs: a bad entry must fail). */
			const Evchain__V1__EntriesResponse *er = r->entries;
			ledger_txn *t;
			uint8_t proof[EVC_MAX_PROOF][32];
			size_t pl;
			if (ledger_read_begin(fsrv.ledger, &t) != 0)
				abort();
			uint64_t n = ledger_txn_size(t);
			uint8_t root[32];
			checkpoint lcp;
			memset(&lcp, 0, sizeof(lcp));
			lcp.size = n;
			if (ledger_tree_hash(t, n, root) != 0)
				abort();
			memcpy(lcp.root, root, 32);
			for (size_t i = 0; i < er->n_entries && i < 64; i++) {
				uint64_t idx = er->start + i;
				if (idx >= n || ledger_prove_inclusion(t, idx, n, proof, EVC_MAX_PROOF, &pl) != 0)
					break;
				ProtobufCBinaryData pv[EVC_MAX_PROOF];
				for (size_t k = 0; k < pl; k++) {
					pv[k].data = proof[k];
					pv[k].len = 32;
				}
				if (client_verify_inclusion(&lcp, idx, er->entries[i].data, er->entries[i].len, pv,
				    pl, err, sizeof(err)) == 0 && !true_entry(idx, er->entries[i].data,
				    er->entries[i].len))
					abort();
			}
			ledger_read_end(t);
		}
		break;
	}
}

/* ---- seeds ------------------------------------------------------------------ */

static const char *seed_dir;
static unsigned nseeds;
static int seed_ctx;

static void
seed_frame(const uint8_t *f, size_t len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%02u-ctx%d", seed_dir, nseeds++, seed_ctx);
	FILE *fp = fopen(path, "wb");
	uint8_t c = (uint8_t)seed_ctx;
	if (fp == NULL || fwrite(&c, 1, 1, fp) != 1 ||
	    fwrite(f + FRAME_HDR_LEN, 1, len - FRAME_HDR_LEN, fp) != len - FRAME_HDR_LEN || fclose(fp) != 0)
		fsrv_die(path);
}

static void
ask(int ctx, srv_role role, Evchain__V1__Request *q)
{
	size_t n = evchain__v1__request__get_packed_size(q);
	uint8_t *b = malloc(n + 1);
	if (b == NULL)
		abort();
	evchain__v1__request__pack(q, b);
	seed_ctx = ctx;
	fsrv_run(role, b, n);
	free(b);
}

static void
write_seeds(void)
{
	Evchain__V1__Request q = EVCHAIN__V1__REQUEST__INIT;
	q.id = 3;
	fsrv_on_frame = seed_frame;

	Evchain__V1__CheckpointRequest cr = EVCHAIN__V1__CHECKPOINT_REQUEST__INIT;
	q.op_case = EVCHAIN__V1__REQUEST__OP_CHECKPOINT;
	q.checkpoint = &cr;
	ask(0, ROLE_COURT, &q);

	Evchain__V1__SubmitRequest sub = EVCHAIN__V1__SUBMIT_REQUEST__INIT;
	Evchain__V1__SignedRecord sr = EVCHAIN__V1__SIGNED_RECORD__INIT, *srp = &sr;
	sr.record.data = rec_bytes;
	sr.record.len = rec_len;
	sr.signature.data = rec_sig;
	sr.signature.len = 64;
	sr.key_name = (char *)fsrv_node_sk.name;
	sub.records = &srp;
	sub.n_records = 1;
	q.op_case = EVCHAIN__V1__REQUEST__OP_SUBMIT;
	q.submit = &sub;
	ask(1, ROLE_NODE, &q);      /* a receipt (a duplicate: it is logged) */
	ask(1, ROLE_SUPERVISOR, &q); /* refused */

	Evchain__V1__InclusionProofRequest ir = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__INIT;
	ir.leaf_case = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__LEAF_INDEX;
	ir.index = 3;
	q.op_case = EVCHAIN__V1__REQUEST__OP_INCLUSION_PROOF;
	q.inclusion_proof = &ir;
	ask(2, ROLE_COURT, &q);
	ir.tree_size = 5;
	ask(2, ROLE_COURT, &q);

	Evchain__V1__ConsistencyProofRequest pr = EVCHAIN__V1__CONSISTENCY_PROOF_REQUEST__INIT;
	pr.old_size = 2;
	q.op_case = EVCHAIN__V1__REQUEST__OP_CONSISTENCY_PROOF;
	q.consistency_proof = &pr;
	ask(3, ROLE_WITNESS, &q);
	pr.new_size = 5;
	ask(3, ROLE_WITNESS, &q);

	Evchain__V1__EntriesRequest er = EVCHAIN__V1__ENTRIES_REQUEST__INIT;
	q.op_case = EVCHAIN__V1__REQUEST__OP_ENTRIES;
	q.entries = &er;
	ask(4, ROLE_SUPERVISOR, &q);
	er.start = 100;
	ask(4, ROLE_SUPERVISOR, &q);
	fprintf(stderr, "fuzz_response: %u seeds written to %s\n", nseeds, seed_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fsrv_init();
	/* The record the client submits, in the log (as in the seeds). */
	fsrv_record(100, &rec_bytes, &rec_len, rec_sig);
	fsrv_append(&rec_bytes, &rec_len, &rec_sig, 1);
	memset(&prof, 0, sizeof(prof));
	snprintf(prof.role, sizeof(prof.role), "court");
	prof.log_key = fsrv.log_vk;
	prof.witnesses[0] = fsrv_wit_vk;
	prof.nwitnesses = 1;
	if ((seed_dir = getenv("FUZZ_WRITE_SEEDS")) != NULL) {
		write_seeds();
		exit(0);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pb_arena a;

	if (size < 1)
		return 0;
	pb_arena_init(&a, 4 * size + 65536);
	Evchain__V1__Response *r = (Evchain__V1__Response *)pb_unpack(&a,
	    &evchain__v1__response__descriptor, data + 1, size - 1);
	if (r != NULL)
		check(data[0] % 5, r);
	/* The hand-written scanners the server and the audit use on entries. */
	const uint8_t *p;
	size_t pl;
	int64_t t;
	uint64_t v;
	(void)pb_field_bytes(data + 1, size - 1, 5, &p, &pl);
	(void)pb_field_varint(data + 1, size - 1, 1, &v);
	(void)ledger_entry_time(data + 1, size - 1, &t);
	pb_arena_free(&a);
	return 0;
}
