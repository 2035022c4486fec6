/*
 * test_ledger.c — the LMDB ledger: batches, checkpoints, proofs against an
 * in-memory reference, dedup and conflicts, queries, cosignatures, reopen,
 * map growth and exhaustion, and evchain-verify ledger on good and tampered
 * copies (each tamper must be named at its index).
 */
#include <inttypes.h>
#include <lmdb.h>
#include <sodium.h>

#include "../check.h"
#include "fixture.h"
#include "hash.h"
#include "ledger.h"
#include "merkle.h"
#include "note.h"

#define MAXN 2048

static evc_skey log_sk, admin_sk, node_sk;
static evc_vkey log_vk, admin_vk, node_vk;
static uint8_t leaves[MAXN][32];
static uint64_t nleaves;

/* Append signed records as one batch; check the head and the results. */
static int
append(ledger *l, fx_signed *s, size_t n, ledger_head *head, ledger_item *items)
{
	for (size_t i = 0; i < n; i++) {
		memset(&items[i], 0, sizeof(items[i]));
		items[i].record = s[i].rec;
		items[i].record_len = s[i].len;
		items[i].sig = s[i].sig;
		items[i].rec = s[i].decoded;
	}
	return ledger_append(l, items, n, &log_sk, fx_now_ms(), head);
}

/* Read every entry back and rebuild the reference leaves. */
static void
reload_leaves(ledger *l)
{
	ledger_txn *t;
	REQUIRE(ledger_read_begin(l, &t) == 0);
	nleaves = ledger_txn_size(t);
	REQUIRE(nleaves <= MAXN);
	for (uint64_t i = 0; i < nleaves; i++) {
		const uint8_t *e;
		size_t el;
		REQUIRE(ledger_entry(t, i, &e, &el) == 0);
		merkle_leaf_hash(e, el, leaves[i]);
	}
	ledger_read_end(t);
}

static void
check_head(const ledger_head *h)
{
	note nt;
	checkpoint cp;
	uint8_t ref[32];

	CHECK(note_open(h->note, h->note_len, &log_vk, 1, &nt) == 1);
	CHECK_EQ(checkpoint_parse(nt.text, nt.text_len, &cp), 0);
	CHECK_EQ(cp.size, h->size);
	CHECK_STR(cp.origin, log_vk.name);
	merkle_root_naive((const uint8_t(*)[32])leaves, h->size, ref);
	CHECK_MEM(cp.root, ref, 32);
	CHECK_MEM(h->root, ref, 32);
}

static void
check_proofs_with(ledger *l, int memo)
{
	ledger_txn *t;
	uint8_t proof[EVC_MAX_PROOF][32], root[32], ref[32], oldroot[32];
	size_t plen;

	REQUIRE(ledger_read_begin(l, &t) == 0);
	if (memo)
		ledger_txn_memo(t); /* the same answers, from remembered hashes */
	uint64_t n = ledger_txn_size(t);
	for (uint64_t size = 1; size <= n; size += 1 + size / 7) {
		merkle_root_naive((const uint8_t(*)[32])leaves, size, ref);
		CHECK_EQ(ledger_tree_hash(t, size, root), 0);
		CHECK_MEM(root, ref, 32);
		for (uint64_t i = 0; i < size; i += 1 + size / 5) {
			CHECK_EQ(ledger_prove_inclusion(t, i, size, proof, EVC_MAX_PROOF, &plen), 0);
			CHECK_EQ(merkle_verify_inclusion(i, size, leaves[i],
			    (const uint8_t(*)[32])proof, plen, ref), 0);
		}
		for (uint64_t m = 1; m <= size; m += 1 + m / 3) {
			merkle_root_naive((const uint8_t(*)[32])leaves, m, oldroot);
			CHECK_EQ(ledger_prove_consistency(t, m, size, proof, EVC_MAX_PROOF, &plen), 0);
			CHECK_EQ(merkle_verify_consistency(m, size, oldroot, ref,
			    (const uint8_t(*)[32])proof, plen), 0);
		}
	}
	/* Out of range. */
	CHECK_EQ(ledger_prove_inclusion(t, n, n, proof, EVC_MAX_PROOF, &plen), EVC_ENOTFOUND);
	CHECK_EQ(ledger_prove_consistency(t, 1, n + 1, proof, EVC_MAX_PROOF, &plen), EVC_ENOTFOUND);
	ledger_read_end(t);
}

static void
check_proofs(ledger *l)
{
	check_proofs_with(l, 0);
	check_proofs_with(l, 1);
}

/* Overwrite one value of a named database of a closed ledger. */
static int
tamper(const char *dir, const char *dbname, size_t key, size_t byte)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { sizeof(key), &key }, v;
	int rc;

	if ((rc = mdb_env_create(&env)) != 0)
		return rc;
	mdb_env_set_maxdbs(env, 8);
	if ((rc = mdb_env_open(env, dir, 0, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
		goto out;
	if ((rc = mdb_dbi_open(txn, dbname, MDB_INTEGERKEY, &dbi)) != 0 ||
	    (rc = mdb_get(txn, dbi, &k, &v)) != 0) {
		mdb_txn_abort(txn);
		goto out;
	}
	uint8_t buf[EVC_MAX_ENTRY];
	memcpy(buf, v.mv_data, v.mv_size);
	buf[byte % v.mv_size] ^= 0x01;
	v.mv_data = buf;
	if ((rc = mdb_put(txn, dbi, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		goto out;
	}
	rc = mdb_txn_commit(txn);
out:
	mdb_env_close(env);
	return rc;
}

static int
run_verify(const char *dir, char *out, size_t cap)
{
	char prog[512], cmd[4096], pub[1024];
	snprintf(pub, sizeof(pub), "%s/../log.pub", dir);
	REQUIRE(fx_prog("evchain-verify", prog, sizeof(prog)) != NULL);
	snprintf(cmd, sizeof(cmd), "%s ledger '%s' --log-key '%s' --quiet", prog, dir, pub);
	return fx_run(cmd, out, cap);
}

/*
 * Every lookup the secondary index serves, on n entries; the same answers
 * whatever part of the log the index covers (none, some, all).
 */
static void
check_queries(ledger *l, uint64_t n, const char *when)
{
	fprintf(stderr, "# queries with %s (index covers %" PRIu64 " of %" PRIu64 ")\n", when,
	    ledger_indexed(l), n);
	ledger_txn *t;
	uint64_t idx[512], next;
	size_t cnt;
	REQUIRE(ledger_read_begin(l, &t) == 0);
	CHECK_EQ(ledger_query(t, RECORD_ATTR_INSPECTION, "INSP-0000", 9, 0, idx, 512, &cnt, &next), 0);
	CHECK_EQ(cnt, 3);
	CHECK_EQ(idx[0], 2);
	CHECK_EQ(idx[1], 3);
	CHECK_EQ(idx[2], 4);
	CHECK_EQ(next, 0);
	CHECK_EQ(ledger_query(t, RECORD_ATTR_COMPANY, FX_USCC, 18, 0, idx, 100, &cnt, &next), 0);
	CHECK_EQ(cnt, 100);
	CHECK_EQ(idx[0], 2);
	CHECK_EQ(next, idx[99] + 1);
	uint64_t total = cnt;
	while (next != 0) {
		CHECK_EQ(ledger_query(t, RECORD_ATTR_COMPANY, FX_USCC, 18, next, idx, 100, &cnt, &next), 0);
		total += cnt;
	}
	CHECK_EQ(total, n - 2);
	uint8_t k = EVCHAIN__V1__RECORD_KIND__RECORD_KIND_EVIDENCE;
	CHECK_EQ(ledger_query(t, RECORD_ATTR_KIND, &k, 1, 0, idx, 512, &cnt, &next), 0);
	CHECK_EQ(cnt, 122);
	{
		uint8_t sha[32];
		hash_sha256("rec-000001", 10, sha);
		CHECK_EQ(ledger_query(t, RECORD_ATTR_EVIDENCE, sha, 32, 0, idx, 8, &cnt, &next), 0);
		CHECK_EQ(cnt, 1);
		CHECK_EQ(idx[0], 3);
	}
	CHECK_EQ(ledger_query(t, RECORD_ATTR_CERT, "LC-ZF-0002", 10, 0, idx, 512, &cnt, &next), 0);
	CHECK_EQ(cnt, 245);
	CHECK_EQ(ledger_query(t, RECORD_ATTR_NODE, "admin", 5, 0, idx, 8, &cnt, &next), 0);
	CHECK_EQ(cnt, 1);
	CHECK_EQ(idx[0], 1);
	CHECK_EQ(ledger_query(t, RECORD_ATTR_INSPECTION, "NOPE", 4, 0, idx, 8, &cnt, &next), 0);
	CHECK_EQ(cnt, 0);
	/* Bytes that are in the entries, but as another attribute: a scan
	 * decodes the entries that hold them, and finds no such certificate. */
	CHECK_EQ(ledger_query(t, RECORD_ATTR_CERT, "INSP-0000", 9, 0, idx, 8, &cnt, &next), 0);
	CHECK_EQ(cnt, 0);
	CHECK_EQ(ledger_query(t, RECORD_ATTR_COMPANY, "platform-node-1", 15, 0, idx, 8, &cnt, &next), 0);
	CHECK_EQ(cnt, 0);
	uint64_t fi;
	CHECK_EQ(ledger_find_leaf(t, leaves[17], &fi), 0);
	CHECK_EQ(fi, 17);
	CHECK_EQ(ledger_find_record(t, "platform-node-1", "rec-000010", &fi), 0);
	CHECK_EQ(fi, 12);
	CHECK_EQ(ledger_find_record(t, "platform-node-1", "nope", &fi), EVC_ENOTFOUND);
	CHECK_EQ(ledger_first_at_time(t, 0, &fi), 0);
	CHECK_EQ(fi, 0);
	CHECK_EQ(ledger_first_at_time(t, INT64_MAX, &fi), 0);
	CHECK_EQ(fi, n);
	ledger_read_end(t);
	/* Every leaf, by hash. */
	REQUIRE(ledger_read_begin(l, &t) == 0);
	for (uint64_t i = 0; i < n; i += 7) {
		uint64_t at = UINT64_MAX;
		CHECK_EQ(ledger_find_leaf(t, leaves[i], &at), 0);
		CHECK_EQ(at, i);
	}
	uint8_t none[32] = { 1 };
	uint64_t at;
	CHECK_EQ(ledger_find_leaf(t, none, &at), EVC_ENOTFOUND);
	ledger_read_end(t);
}

/*
 * Record-id claims against a model: batches drawn at random from a pool of
 * ids, a third of the items too large to be logged (their id is given back:
 * the same id later logs normally), duplicates and conflicts inside a batch
 * and across batches; then the index and a reopen agree on the size.
 */
static void
test_claims(const char *tmp)
{
	enum { NI = 400, POOL = 120, ROUNDS = 6 };
	static ledger_item it[NI];
	static fx_signed s[POOL];
	static uint8_t big[EVC_MAX_ENTRY + 16];  /* its entry exceeds EVC_MAX_ENTRY */
	int64_t logged[POOL];                    /* index of each pool id, or -1 */
	ledger_opts o = { .no_sync = 1, .index_gen_bits = 2, .index_interval_ms = 3600000 };
	char dir[700], err[512];
	ledger *l;
	ledger_head head;
	uint64_t x = 12345, size = 0;
	unsigned long bad = 0, large = 0, dups = 0, conflicts = 0;

	snprintf(dir, sizeof(dir), "%s/claims", tmp);
	REQUIRE(ledger_open(dir, &o, &l, err, sizeof(err)) == 0);
	for (int i = 0; i < POOL; i++) {
		char rid[32], insp[32];
		snprintf(rid, sizeof(rid), "rec-%06d", (i * 7919) % 100000);
		snprintf(insp, sizeof(insp), "INSP-%d", i);
		REQUIRE(fx_scan_in(rid, insp, &node_sk, fx_now_ms(), &s[i]) == 0);
		logged[i] = -1;
	}
	for (int round = 0; round < ROUNDS; round++) {
		int who[NI], isbig[NI];
		for (int i = 0; i < NI; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			who[i] = (int)((x >> 33) % POOL);
			isbig[i] = (x >> 20) % 3 == 0;
			memset(&it[i], 0, sizeof(it[i]));
			it[i].record = isbig[i] ? big : s[who[i]].rec;
			it[i].record_len = isbig[i] ? sizeof(big) : s[who[i]].len;
			it[i].sig = s[who[i]].sig;
			it[i].rec = s[who[i]].decoded;
		}
		REQUIRE(ledger_append(l, it, NI, &log_sk, fx_now_ms(), &head) == 0);
		for (int i = 0; i < NI; i++) {
			int w = who[i], want;
			int64_t at = logged[w];
			if (at >= 0) {
				/* the same bytes: a duplicate; other bytes: a conflict */
				want = isbig[i] ? EVC_ECONFLICT : LEDGER_DUPLICATE;
				if (isbig[i])
					conflicts++;
				else
					dups++;
			} else if (isbig[i]) {
				want = EVC_ETOOLARGE;
				large++;
			} else {
				want = LEDGER_APPENDED;
				at = logged[w] = (int64_t)size++;
			}
			if (it[i].result != want || (at >= 0 && (int64_t)it[i].index != at)) {
				if (bad++ < 3)
					CHECK_(0, "round %d item %d: result %d at %" PRIu64 ", want %d at %" PRId64,
					    round, i, it[i].result, it[i].index, want, at);
			}
			/* An appended item's entry bytes (for its receipt) are its own:
			 * they hash to its leaf; the others have none. */
			uint8_t lh[32];
			if (want == LEDGER_APPENDED && it[i].entry != NULL)
				merkle_leaf_hash(it[i].entry, it[i].entry_len, lh);
			if (want == LEDGER_APPENDED ? it[i].entry == NULL || memcmp(lh, it[i].leaf, 32) != 0
			                            : it[i].entry != NULL) {
				if (bad++ < 3)
					CHECK_(0, "round %d item %d: entry bytes not the item's", round, i);
			}
		}
		CHECK_EQ(ledger_size(l), size);
		CHECK_EQ(ledger_index_sync(l), 0);
	}
	printf("# claims: %lu appended, %lu duplicates, %lu conflicts, %lu too large\n",
	    (unsigned long)size, dups, conflicts, large);
	CHECK_EQ(bad, 0);
	CHECK(large > 0 && dups > 0 && conflicts > 0);
	ledger_close(l);
	REQUIRE(ledger_open(dir, &o, &l, err, sizeof(err)) == 0);
	CHECK_EQ(ledger_size(l), size);
	ledger_close(l);
	for (int i = 0; i < POOL; i++)
		fx_signed_free(&s[i]);
}

int
main(void)
{
	char err[512], out[8192], path[1024];
	ledger *l = NULL;
	ledger_head head;
	static ledger_item items[600];
	static fx_signed s[600];
	/* Generations of 4 entries: lookups cross many; the indexer runs only
	 * when the test says (ledger_index_sync). */
	ledger_opts o = { .no_sync = 1, .index_gen_bits = 2, .index_interval_ms = 3600000 };
	int64_t t0 = fx_now_ms();
	ledger_txn *t;

	REQUIRE(sodium_init() >= 0);
	char *tmp = fx_tmpdir("ledger");
	REQUIRE(tmp != NULL);
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/data", tmp);

	REQUIRE(keys_generate("test.evchain/log", EVC_KEY_ED25519, &log_sk, &log_vk) == 0);
	REQUIRE(keys_generate("admin", EVC_KEY_ED25519, &admin_sk, &admin_vk) == 0);
	REQUIRE(keys_generate("platform-node-1", EVC_KEY_ED25519, &node_sk, &node_vk) == 0);
	snprintf(path, sizeof(path), "%s/log.pub", tmp);
	REQUIRE(keys_write_public(path, &log_vk) == 0);

	REQUIRE(ledger_open(dir, &o, &l, err, sizeof(err)) == 0);
	CHECK_EQ(ledger_size(l), 0);
	CHECK_EQ(ledger_latest(l, &head), 0);
	CHECK_EQ(head.size, 0);

	/* Genesis: the log key registers the admin; then the admin the node. */
	REQUIRE(fx_node_key("genesis-admin", &log_sk, &admin_vk, EVCHAIN__V1__NODE_KEY__ROLE__ADMIN,
	    EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, t0, &s[0]) == 0);
	CHECK_EQ(append(l, s, 1, &head, items), 0);
	CHECK_EQ(items[0].result, LEDGER_APPENDED);
	CHECK_EQ(items[0].index, 0);
	CHECK_STR(ledger_origin(l), "test.evchain/log");
	reload_leaves(l);
	check_head(&head);
	fx_signed_free(&s[0]);

	REQUIRE(fx_node_key("reg-node-1", &admin_sk, &node_vk, EVCHAIN__V1__NODE_KEY__ROLE__NODE,
	    EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, t0, &s[0]) == 0);
	CHECK_EQ(append(l, s, 1, &head, items), 0);
	CHECK_EQ(items[0].index, 1);
	fx_signed_free(&s[0]);

	/* Batches of several sizes of scan-ins and evidence. */
	static const size_t sizes[] = { 1, 7, 64, 3, 200, 1, 90 };
	int seq = 0;
	for (size_t b = 0; b < sizeof(sizes) / sizeof(sizes[0]); b++) {
		uint64_t before = ledger_size(l);
		for (size_t i = 0; i < sizes[b]; i++, seq++) {
			char rid[64], insp[64];
			snprintf(rid, sizeof(rid), "rec-%06d", seq);
			snprintf(insp, sizeof(insp), "INSP-%04d", seq / 3);
			if (seq % 3 == 1) {
				uint8_t sha[32];
				hash_sha256(rid, strlen(rid), sha);
				REQUIRE(fx_evidence(rid, insp, sha, &node_sk, t0, &s[i]) == 0);
			} else {
				REQUIRE(fx_scan_in(rid, insp, &node_sk, t0, &s[i]) == 0);
			}
		}
		CHECK_EQ(append(l, s, sizes[b], &head, items), 0);
		CHECK_EQ(head.size, before + sizes[b]);
		for (size_t i = 0; i < sizes[b]; i++) {
			CHECK_EQ(items[i].result, LEDGER_APPENDED);
			CHECK_EQ(items[i].index, before + i);
			fx_signed_free(&s[i]);
		}
		reload_leaves(l);
		check_head(&head);
		for (size_t i = 0; i < sizes[b]; i++)
			CHECK_MEM(items[i].leaf, leaves[before + i], 32);
		/* The entry bytes handed back for receipts are the logged ones. */
		REQUIRE(ledger_read_begin(l, &t) == 0);
		for (size_t i = 0; i < sizes[b]; i++) {
			const uint8_t *eb;
			size_t el;
			REQUIRE(ledger_entry(t, before + i, &eb, &el) == 0);
			REQUIRE(items[i].entry != NULL);
			CHECK_EQ(items[i].entry_len, el);
			CHECK_MEM(items[i].entry, eb, el);
		}
		ledger_read_end(t);
		if (b == 3) {
			/* The index covers the log up to here, and no further. */
			CHECK_EQ(ledger_indexed(l), 0);
			CHECK_EQ(ledger_index_sync(l), 0);
			CHECK_EQ(ledger_indexed(l), ledger_size(l));
		}
	}
	uint64_t n = ledger_size(l);
	CHECK_EQ(n, 2 + 366);
	check_proofs(l);

	/* Idempotent resubmission; conflict; a duplicate inside one batch. */
	REQUIRE(fx_scan_in("rec-000000", "INSP-0000", &node_sk, t0, &s[0]) == 0);
	REQUIRE(fx_scan_in("rec-000000", "INSP-OTHER", &node_sk, t0, &s[1]) == 0);
	REQUIRE(fx_scan_in("rec-new-1", "INSP-NEW", &node_sk, t0, &s[2]) == 0);
	REQUIRE(fx_scan_in("rec-new-1", "INSP-NEW", &node_sk, t0, &s[3]) == 0);
	CHECK_EQ(append(l, s, 4, &head, items), 0);
	CHECK_EQ(items[0].result, LEDGER_DUPLICATE);
	CHECK_EQ(items[0].index, 2);
	CHECK_EQ(items[1].result, EVC_ECONFLICT);
	CHECK_EQ(items[2].result, LEDGER_APPENDED);
	CHECK_EQ(items[2].index, n);
	CHECK_EQ(items[3].result, LEDGER_DUPLICATE);
	CHECK_EQ(items[3].index, n);
	CHECK_EQ(head.size, n + 1);
	for (int i = 0; i < 4; i++)
		fx_signed_free(&s[i]);
	/* All duplicates: no new checkpoint, the same head. */
	REQUIRE(fx_scan_in("rec-new-1", "INSP-NEW", &node_sk, t0, &s[0]) == 0);
	ledger_head h2;
	CHECK_EQ(append(l, s, 1, &h2, items), 0);
	CHECK_EQ(items[0].result, LEDGER_DUPLICATE);
	CHECK_EQ(h2.size, head.size);
	CHECK_MEM(h2.root, head.root, 32);
	fx_signed_free(&s[0]);
	n = ledger_size(l);
	reload_leaves(l);

	/* Queries: with the index behind the log, then covering it all. */
	CHECK(ledger_indexed(l) > 0 && ledger_indexed(l) < n);
	check_queries(l, n, "the index behind");
	CHECK_EQ(ledger_index_sync(l), 0);
	CHECK_EQ(ledger_indexed(l), n);
	check_queries(l, n, "the index complete");
	REQUIRE(ledger_read_begin(l, &t) == 0);
	ledger_read_end(t);

	/* Cosignatures: stored, replaced by name, served with the checkpoint. */
	{
		evc_skey w_sk;
		evc_vkey w_vk;
		uint8_t sig[NOTE_COSIG_LEN];
		char line[512], cpbuf[LEDGER_NOTE_MAX];
		size_t cplen;
		note nt;
		REQUIRE(keys_generate("witness-supervisor", EVC_KEY_COSIGNATURE, &w_sk, &w_vk) == 0);
		REQUIRE(note_parse(head.note, head.note_len, &nt) == 0);
		for (int round = 0; round < 2; round++) {
			CHECK_EQ(cosig_sign(nt.text, nt.text_len, &w_sk, 1700000000u + (unsigned)round, sig), 0);
			int ll = note_sig_line(w_sk.name, w_sk.id, sig + 4, NOTE_COSIG_LEN - 4, line, sizeof(line));
			CHECK(ll > 0);
			CHECK_EQ(ledger_add_cosignature(l, head.size, w_sk.name, line, (size_t)ll), 1);
		}
		CHECK_EQ(ledger_add_cosignature(l, 999999, w_sk.name, line, strlen(line)), EVC_ENOTFOUND);
		REQUIRE(ledger_read_begin(l, &t) == 0);
		CHECK_EQ(ledger_checkpoint(t, 0, cpbuf, sizeof(cpbuf), &cplen, NULL, NULL), 0);
		ledger_read_end(t);
		evc_vkey both[2] = { log_vk, w_vk };
		note n2;
		CHECK_EQ(note_open(cpbuf, cplen, both, 2, &n2), 2);
		CHECK_EQ(n2.nsigs, 2);
		keys_skey_wipe(&w_sk);
	}

	/* Reopen: same head; appending continues the chain. */
	ledger_close(l);
	l = NULL;
	REQUIRE(ledger_open(dir, &o, &l, err, sizeof(err)) == 0);
	CHECK_EQ(ledger_size(l), n);
	CHECK_EQ(ledger_indexed(l), n);
	check_queries(l, n, "the index reopened");
	ledger_close(l);
	/* An index that is not this ledger's (its tip is another leaf) is
	 * dropped and rebuilt; so is a deleted one. */
	{
		char ip[700];
		MDB_env *env;
		MDB_txn *x;
		MDB_dbi meta;
		uint8_t zero[32] = { 0 };
		snprintf(ip, sizeof(ip), "%s/index", dir);
		REQUIRE(mdb_env_create(&env) == 0);
		mdb_env_set_maxdbs(env, 4);
		REQUIRE(mdb_env_open(env, ip, 0, 0600) == 0);
		REQUIRE(mdb_txn_begin(env, NULL, 0, &x) == 0);
		REQUIRE(mdb_dbi_open(x, "meta", 0, &meta) == 0);
		MDB_val k = { 3, "tip" }, v = { 32, zero };
		REQUIRE(mdb_put(x, meta, &k, &v, 0) == 0);
		REQUIRE(mdb_txn_commit(x) == 0);
		mdb_env_close(env);
	}
	REQUIRE(ledger_open(dir, &o, &l, err, sizeof(err)) == 0);
	CHECK_EQ(ledger_indexed(l), 0);
	check_queries(l, n, "a foreign index dropped");
	CHECK_EQ(ledger_index_sync(l), 0);
	ledger_close(l);
	{
		char cmd[800];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s/index'", dir);
		REQUIRE(system(cmd) == 0);
	}
	REQUIRE(ledger_open(dir, &o, &l, err, sizeof(err)) == 0);
	CHECK_EQ(ledger_indexed(l), 0);
	check_queries(l, n, "the index deleted");
	CHECK_EQ(ledger_index_sync(l), 0);
	CHECK_EQ(ledger_indexed(l), n);
	/* An index of another layout (generation size) is rebuilt too: of 8
	 * entries, and the production size (one generation here: every company,
	 * officer, kind key carries hundreds of entries, written at once). */
	ledger_close(l);
	for (unsigned gb = 3; gb <= 16; gb += 13) {
		ledger_opts o3 = o;
		o3.index_gen_bits = gb;
		REQUIRE(ledger_open(dir, &o3, &l, err, sizeof(err)) == 0);
		CHECK_EQ(ledger_indexed(l), 0);
		CHECK_EQ(ledger_index_sync(l), 0);
		check_queries(l, n, gb == 3 ? "generations of 8 entries" : "generations of 65,536 entries");
		ledger_close(l);
	}
	REQUIRE(ledger_open(dir, &o, &l, err, sizeof(err)) == 0);
	CHECK_EQ(ledger_indexed(l), 0);
	CHECK_EQ(ledger_index_sync(l), 0);
	CHECK_EQ(ledger_indexed(l), n);
	CHECK_EQ(ledger_latest(l, &h2), 0);
	CHECK_EQ(h2.size, head.size);
	CHECK_MEM(h2.root, head.root, 32);
	REQUIRE(fx_scan_in("rec-after-reopen", "INSP-R", &node_sk, t0, &s[0]) == 0);
	CHECK_EQ(append(l, s, 1, &head, items), 0);
	CHECK_EQ(items[0].index, n);
	fx_signed_free(&s[0]);
	n++;
	reload_leaves(l);
	check_head(&head);
	check_proofs(l);
	/* A different log key may not append to this log. */
	{
		evc_skey other;
		evc_vkey ov;
		REQUIRE(keys_generate("other.log", EVC_KEY_ED25519, &other, &ov) == 0);
		REQUIRE(fx_scan_in("rec-other", "INSP-O", &node_sk, t0, &s[0]) == 0);
		items[0].record = s[0].rec;
		items[0].record_len = s[0].len;
		items[0].sig = s[0].sig;
		items[0].rec = s[0].decoded;
		CHECK_EQ(ledger_append(l, items, 1, &other, fx_now_ms(), &h2), EVC_EINVAL);
		fx_signed_free(&s[0]);
		keys_skey_wipe(&other);
	}
	ledger_close(l);
	l = NULL;

	/* The offline audit passes on the good ledger ... */
	int rc = run_verify(dir, out, sizeof(out));
	CHECK_(rc == 0, "evchain-verify ledger on a good ledger: exit %d: %s", rc, out);
	CHECK(strstr(out, "OK:") != NULL);

	/* ... and fails at the right index on tampered copies. */
	struct { const char *db; size_t key; size_t byte; uint64_t want; } cases[] = {
		{ "entries", 100, 40, 100 },                  /* a record byte */
		{ "entries", 7, 3, 7 },                       /* the header: log time */
		{ "hashes", 0, 5, 0 },                        /* leaf hash of entry 0 */
		{ "hashes", 0, 0, 0 },
	};
	cases[2].key = (size_t)merkle_stored_index(0, 250);
	cases[2].want = 250;
	cases[3].key = (size_t)merkle_stored_index(3, 20); /* a level-3 subtree over 160..167 */
	cases[3].want = 167;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char copy[700], want[64];
		snprintf(copy, sizeof(copy), "%s/copy%zu", tmp, c);
		REQUIRE(fx_sh("cp -r '%s' '%s'", dir, copy) == 0);
		CHECK_EQ(tamper(copy, cases[c].db, cases[c].key, cases[c].byte), 0);
		rc = run_verify(copy, out, sizeof(out));
		snprintf(want, sizeof(want), "entry %" PRIu64 ":", cases[c].want);
		CHECK_(rc == 1, "tamper %zu: exit %d", c, rc);
		CHECK_(strstr(out, want) != NULL, "tamper %zu: want \"%s\" in: %s", c, want, out);
	}
	/* Two entries swapped. */
	{
		char copy[700];
		snprintf(copy, sizeof(copy), "%s/swap", tmp);
		REQUIRE(fx_sh("cp -r '%s' '%s'", dir, copy) == 0);
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		size_t a = 40, b = 41;
		MDB_val ka = { 8, &a }, kb = { 8, &b }, va, vb;
		uint8_t ba[EVC_MAX_ENTRY], bb[EVC_MAX_ENTRY];
		REQUIRE(mdb_env_create(&env) == 0);
		mdb_env_set_maxdbs(env, 8);
		REQUIRE(mdb_env_open(env, copy, 0, 0600) == 0);
		REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
		REQUIRE(mdb_dbi_open(txn, "entries", MDB_INTEGERKEY, &dbi) == 0);
		REQUIRE(mdb_get(txn, dbi, &ka, &va) == 0 && mdb_get(txn, dbi, &kb, &vb) == 0);
		size_t la = va.mv_size, lb = vb.mv_size;
		memcpy(ba, va.mv_data, la);
		memcpy(bb, vb.mv_data, lb);
		va.mv_data = bb; va.mv_size = lb;
		vb.mv_data = ba; vb.mv_size = la;
		REQUIRE(mdb_put(txn, dbi, &ka, &va, 0) == 0 && mdb_put(txn, dbi, &kb, &vb, 0) == 0);
		REQUIRE(mdb_txn_commit(txn) == 0);
		mdb_env_close(env);
		rc = run_verify(copy, out, sizeof(out));
		CHECK_EQ(rc, 1);
		CHECK_(strstr(out, "entry 40:") != NULL, "swap: %s", out);
	}
	/* The wrong log key. */
	{
		char cmd[4096], prog[512], pub[700];
		evc_skey other;
		evc_vkey ov;
		REQUIRE(keys_generate("test.evchain/log", EVC_KEY_ED25519, &other, &ov) == 0);
		snprintf(pub, sizeof(pub), "%s/other.pub", tmp);
		REQUIRE(keys_write_public(pub, &ov) == 0);
		fx_prog("evchain-verify", prog, sizeof(prog));
		snprintf(cmd, sizeof(cmd), "%s ledger '%s' --log-key '%s' --quiet", prog, dir, pub);
		rc = fx_run(cmd, out, sizeof(out));
		CHECK_EQ(rc, 1);
		CHECK_(strstr(out, "entry 0:") != NULL, "wrong log key: %s", out);
		keys_skey_wipe(&other);
	}
	/* Usage errors. */
	{
		char cmd[4096], prog[512];
		fx_prog("evchain-verify", prog, sizeof(prog));
		snprintf(cmd, sizeof(cmd), "%s ledger '%s'", prog, dir);
		CHECK_EQ(fx_run(cmd, out, sizeof(out)), 2);
		snprintf(cmd, sizeof(cmd), "%s frobnicate", prog);
		CHECK_EQ(fx_run(cmd, out, sizeof(out)), 2);
		snprintf(cmd, sizeof(cmd), "%s ledger /nonexistent/evc --log-key '%s/log.pub'", prog, tmp);
		CHECK_EQ(fx_run(cmd, out, sizeof(out)), 1);
	}

	/* Map growth: a 256 KiB map grows while appending; at its limit the batch
	 * is refused whole with EVC_EFULL and nothing committed is lost. */
	{
		char d2[700];
		ledger_opts small = { .map_size = 256 << 10, .map_max = 4 << 20, .no_sync = 1 };
		snprintf(d2, sizeof(d2), "%s/small", tmp);
		REQUIRE(ledger_open(d2, &small, &l, err, sizeof(err)) == 0);
		uint64_t committed = 0;
		int full = 0;
		for (int b = 0; b < 400 && !full; b++) {
			for (int i = 0; i < 50; i++) {
				char rid[64];
				snprintf(rid, sizeof(rid), "g-%d-%d", b, i);
				REQUIRE(fx_scan_in(rid, rid, &node_sk, t0, &s[i]) == 0);
			}
			rc = append(l, s, 50, &head, items);
			if (rc == EVC_EFULL)
				full = 1;
			else if (rc == 0)
				committed = head.size;
			else
				CHECK_(0, "append: %d", rc);
			for (int i = 0; i < 50; i++)
				fx_signed_free(&s[i]);
		}
		CHECK(full);
		CHECK(committed > 1000);   /* it grew past 256 KiB */
		CHECK(ledger_map_size(l) == 4u << 20);
		ledger_close(l);
		REQUIRE(ledger_open(d2, &small, &l, err, sizeof(err)) == 0);
		CHECK_EQ(ledger_size(l), committed);
		ledger_close(l);
		l = NULL;
	}

	test_claims(tmp);

	keys_skey_wipe(&log_sk);
	keys_skey_wipe(&admin_sk);
	keys_skey_wipe(&node_sk);
	fx_rmrf(tmp);
	free(tmp);
	CHECK_DONE("test_ledger");
}
