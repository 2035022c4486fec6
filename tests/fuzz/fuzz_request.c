/*
 * fuzz_request.c — libFuzzer target for evchaind's request handler: the first
 * byte chooses the caller's role (the certificate's OU: none, node,
 * supervisor, discipline, court, witness, admin), the rest is one request
 * frame's body, handed to srv_handle as a worker would (fuzz_srv.h: the real
 * server/ops.c over a small ledger in a temporary directory). Checks: exactly
 * one response per request, a frame of at most max_frame that decodes as a
 * Response with a status code it knows; the log grows only by a submit of a
 * node or an admin, and whatever it holds still verifies (the tree hashes
 * give the signed root).
 *
 * FUZZ_WRITE_SEEDS=DIR writes the seed corpus (tests/fuzz/corpus/request/):
 * every operation, valid and refused, from the roles that may and may not.
 */
#include <errno.h>

#include "fuzz_srv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static unsigned nframes;

static void
on_frame(const uint8_t *f, size_t len)
{
	pb_arena a;
	const uint8_t *p;
	size_t plen;

	nframes++;
	if (len < FRAME_HDR_LEN || frame_parse(f, len, (uint32_t)fsrv.cfg.max_frame, &p, &plen) !=
	    (ssize_t)len)
		abort(); /* not one whole frame within max_frame */
	pb_arena_init(&a, 4 * len + 65536);
	Evchain__V1__Response *r = (Evchain__V1__Response *)pb_unpack(&a,
	    &evchain__v1__response__descriptor, p, plen);
	if (r == NULL)
		abort();
	if (r->status != NULL && (r->status->code < 0 || r->status->code > 10))
		abort();
	pb_arena_free(&a);
}

/* ---- seeds ------------------------------------------------------------------ */

static const char *seed_dir;
static unsigned nseeds;

static void
seed(srv_role role, Evchain__V1__Request *q, const char *name)
{
	char path[1024];
	size_t n = evchain__v1__request__get_packed_size(q);
	uint8_t *b = malloc(n + 1);
	if (b == NULL)
		abort();
	b[0] = (uint8_t)role;
	evchain__v1__request__pack(q, b + 1);
	snprintf(path, sizeof(path), "%s/%02u-%s", seed_dir, nseeds++, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(b, 1, n + 1, f) != n + 1 || fclose(f) != 0)
		fsrv_die(path);
	free(b);
}

static void
submit_seed(srv_role role, uint8_t **b, size_t *l, uint8_t (*sig)[64], const char *key, size_t n,
    const char *name)
{
	Evchain__V1__Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__SubmitRequest sub = EVCHAIN__V1__SUBMIT_REQUEST__INIT;
	Evchain__V1__SignedRecord sr[4], *srp[4];
	for (size_t i = 0; i < n; i++) {
		evchain__v1__signed_record__init(&sr[i]);
		sr[i].record.data = b[i];
		sr[i].record.len = l[i];
		sr[i].signature.data = sig[i];
		sr[i].signature.len = 64;
		sr[i].key_name = (char *)key;
		srp[i] = &sr[i];
	}
	sub.records = srp;
	sub.n_records = n;
	q.id = 7;
	q.op_case = EVCHAIN__V1__REQUEST__OP_SUBMIT;
	q.submit = &sub;
	seed(role, &q, name);
}

static void
write_seeds(void)
{
	Evchain__V1__Request q = EVCHAIN__V1__REQUEST__INIT;
	q.id = 1;

	Evchain__V1__StatusRequest st = EVCHAIN__V1__STATUS_REQUEST__INIT;
	q.op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
	q.status = &st;
	seed(ROLE_SUPERVISOR, &q, "status");
	seed(ROLE_NONE, &q, "status-no-role");

	Evchain__V1__CheckpointRequest cr = EVCHAIN__V1__CHECKPOINT_REQUEST__INIT;
	cr.min_cosignatures = 1;
	cr.wait_ms = 100;
	q.op_case = EVCHAIN__V1__REQUEST__OP_CHECKPOINT;
	q.checkpoint = &cr;
	seed(ROLE_COURT, &q, "checkpoint");

	Evchain__V1__EntriesRequest er = EVCHAIN__V1__ENTRIES_REQUEST__INIT;
	er.start = 1;
	er.count = 5;
	q.op_case = EVCHAIN__V1__REQUEST__OP_ENTRIES;
	q.entries = &er;
	seed(ROLE_SUPERVISOR, &q, "entries");
	seed(ROLE_NODE, &q, "entries-node");

	Evchain__V1__InclusionProofRequest ir = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__INIT;
	ir.leaf_case = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__LEAF_INDEX;
	ir.index = 3;
	ir.tree_size = 5;
	q.op_case = EVCHAIN__V1__REQUEST__OP_INCLUSION_PROOF;
	q.inclusion_proof = &ir;
	seed(ROLE_NODE, &q, "inclusion-node");
	ledger_txn *t;
	uint8_t leaf[32];
	if (ledger_read_begin(fsrv.ledger, &t) != 0 || ledger_leaf_hash(t, 4, leaf) != 0)
		fsrv_die("leaf");
	ir.leaf_case = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__LEAF_LEAF_HASH;
	ir.leaf_hash.data = leaf;
	ir.leaf_hash.len = 32;
	ir.tree_size = 0;
	seed(ROLE_COURT, &q, "inclusion-leaf");

	Evchain__V1__ConsistencyProofRequest pr = EVCHAIN__V1__CONSISTENCY_PROOF_REQUEST__INIT;
	pr.old_size = 2;
	pr.new_size = 8;
	q.op_case = EVCHAIN__V1__REQUEST__OP_CONSISTENCY_PROOF;
	q.consistency_proof = &pr;
	seed(ROLE_WITNESS, &q, "consistency");

	Evchain__V1__QueryRequest qr = EVCHAIN__V1__QUERY_REQUEST__INIT;
	uint8_t sha[32];
	crypto_hash_sha256(sha, (const uint8_t *)"FUZZ-INS-0001", 13);
	q.op_case = EVCHAIN__V1__REQUEST__OP_QUERY;
	q.query = &qr;
	qr.limit = 10;
	qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_COMPANY_USCC;
	qr.company_uscc = "91350100M000100Y43";
	seed(ROLE_DISCIPLINE, &q, "query-company");
	qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_CERTIFICATE_NO;
	qr.certificate_no = "LC-ZF-0001";
	seed(ROLE_SUPERVISOR, &q, "query-cert");
	qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_INSPECTION_ID;
	qr.inspection_id = "FUZZ-INS";
	qr.from_ms = FSRV_T0 - 1;
	qr.to_ms = FSRV_T0 + 100000;
	seed(ROLE_COURT, &q, "query-inspection");
	qr.from_ms = qr.to_ms = 0;
	qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_NODE;
	qr.node = (char *)fsrv_node_sk.name;
	seed(ROLE_NODE, &q, "query-node");
	qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_KIND;
	qr.kind = EVCHAIN__V1__RECORD_KIND__RECORD_KIND_EVIDENCE;
	seed(ROLE_SUPERVISOR, &q, "query-kind");
	qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_EVIDENCE_SHA256;
	qr.evidence_sha256.data = sha;
	qr.evidence_sha256.len = 32;
	seed(ROLE_COURT, &q, "query-evidence");
	qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY__NOT_SET;
	qr.from_ms = 1;
	qr.page_token = 2;
	seed(ROLE_SUPERVISOR, &q, "query-time");

	Evchain__V1__ExportBundleRequest xr = EVCHAIN__V1__EXPORT_BUNDLE_REQUEST__INIT;
	xr.subject_case = EVCHAIN__V1__EXPORT_BUNDLE_REQUEST__SUBJECT_INSPECTION_ID;
	xr.inspection_id = "FUZZ-INS";
	q.op_case = EVCHAIN__V1__REQUEST__OP_EXPORT_BUNDLE;
	q.export_bundle = &xr;
	seed(ROLE_COURT, &q, "export-inspection");
	xr.subject_case = EVCHAIN__V1__EXPORT_BUNDLE_REQUEST__SUBJECT_COMPANY_USCC;
	xr.company_uscc = "91350100M000100Y43";
	xr.from_ms = FSRV_T0 - 1;
	xr.to_ms = FSRV_T0 + 100000;
	xr.min_cosignatures = 1;
	seed(ROLE_SUPERVISOR, &q, "export-company");

	/* A valid cosignature of the latest checkpoint by the witness. */
	char buf[LEDGER_NOTE_MAX];
	size_t len;
	uint64_t size;
	note nt;
	checkpoint cp;
	uint8_t cs[NOTE_COSIG_LEN];
	if (ledger_checkpoint(t, 0, buf, sizeof(buf), &len, &size, NULL) != 0 ||
	    note_parse(buf, len, &nt) != 0 || checkpoint_parse(nt.text, nt.text_len, &cp) != 0 ||
	    cosig_sign(nt.text, nt.text_len, &fsrv_wit_sk, 1750000000, cs) != 0)
		fsrv_die("cosign");
	ledger_read_end(t);
	Evchain__V1__AddCosignatureRequest ar = EVCHAIN__V1__ADD_COSIGNATURE_REQUEST__INIT;
	ar.tree_size = size;
	ar.root_hash.data = cp.root;
	ar.root_hash.len = 32;
	ar.witness_name = (char *)fsrv_wit_sk.name;
	ar.signature.data = cs;
	ar.signature.len = NOTE_COSIG_LEN;
	q.op_case = EVCHAIN__V1__REQUEST__OP_ADD_COSIGNATURE;
	q.add_cosignature = &ar;
	seed(ROLE_WITNESS, &q, "cosign");

	Evchain__V1__AuditRequest au = EVCHAIN__V1__AUDIT_REQUEST__INIT;
	q.op_case = EVCHAIN__V1__REQUEST__OP_AUDIT;
	q.audit = &au;
	seed(ROLE_SUPERVISOR, &q, "audit");

	q.op_case = EVCHAIN__V1__REQUEST__OP__NOT_SET;
	seed(ROLE_COURT, &q, "no-operation");

	/* Submits: a new record; a batch of a new one, a bad signature and a
	 * duplicate; a key registration by the admin; a node's record from
	 * the wrong role. */
	uint8_t *b[4], sig[4][64];
	size_t l[4];
	fsrv_record(100, &b[0], &l[0], sig[0]);
	submit_seed(ROLE_NODE, b, l, sig, fsrv_node_sk.name, 1, "submit");
	submit_seed(ROLE_COURT, b, l, sig, fsrv_node_sk.name, 1, "submit-court");
	fsrv_record(101, &b[1], &l[1], sig[1]);
	fsrv_record(102, &b[2], &l[2], sig[2]);
	sig[2][10] ^= 1;
	fsrv_record(1, &b[3], &l[3], sig[3]);
	submit_seed(ROLE_NODE, b + 1, l + 1, sig + 1, fsrv_node_sk.name, 3, "submit-batch");
	for (int i = 0; i < 4; i++)
		free(b[i]);
	evc_skey sk;
	evc_vkey vk;
	fsrv_seed_key("fuzz-node-2", EVC_KEY_ED25519, 5, &sk, &vk);
	fsrv_node_key("fuzz-node-2-key", &fsrv_admin_sk, &vk, EVCHAIN__V1__NODE_KEY__ROLE__NODE, &b[0],
	    &l[0], sig[0]);
	submit_seed(ROLE_ADMIN, b, l, sig, fsrv_admin_sk.name, 1, "submit-key");
	free(b[0]);
	fprintf(stderr, "fuzz_request: %u seeds written to %s\n", nseeds, seed_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fsrv_init();
	if ((seed_dir = getenv("FUZZ_WRITE_SEEDS")) != NULL) {
		write_seeds();
		exit(0);
	}
	fsrv_on_frame = on_frame;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	srv_role role = (srv_role)(data[0] % 7);
	uint64_t before = ledger_size(fsrv.ledger);
	nframes = 0;
	fsrv_run(role, data + 1, size - 1);
	if (nframes != 1)
		abort(); /* every request is answered, once */
	uint64_t after = ledger_size(fsrv.ledger);
	if (after < before || (after > before && role != ROLE_NODE && role != ROLE_ADMIN))
		abort();
	if (after > before) {
		/* The head it committed is the root of its stored tree hashes. */
		ledger_head *h = malloc(sizeof(*h));
		uint8_t root[32];
		ledger_txn *t;
		if (h == NULL || ledger_latest(fsrv.ledger, h) != 0 || h->size != after ||
		    ledger_read_begin(fsrv.ledger, &t) != 0)
			abort();
		if (ledger_tree_hash(t, after, root) != 0 || memcmp(root, h->root, 32) != 0)
			abort();
		ledger_read_end(t);
		free(h);
	}
	return 0;
}
