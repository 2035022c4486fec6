/*
 * test_bundle.c — evidence bundles end to end: a real ledger with a whole
 * inspection (plan, scan-in, two certificate checks, two evidence records of
 * real media files, disposition, feedback) among unrelated records, two
 * witnesses' cosignatures, bundle_build, then `evchain-verify bundle` on the
 * file: verified with --witness/--quorum and with a tlog-policy file, and
 * refused — naming the check and the entry or file — for a changed media
 * byte, a flipped entry byte, a flipped proof hash, a checkpoint signed by
 * another key, a missing or bad cosignature, a wrong witness key, an entry
 * signed by a key revoked before it, missing key entries, a story without
 * scan-in or disposition, a truncated file and a wrong version.
 *
 * Keys come from fixed seeds so that EVC_BUNDLE_SEED_OUT=FILE writes the
 * fuzz corpus's valid bundle (tests/fuzz/corpus/bundle/) for the keys
 * fuzz_bundle.c knows.
 */
#include <inttypes.h>
#include <sodium.h>
#include <sys/stat.h>

#include "../check.h"
#include "bundle.h"
#include "fixture.h"
#include "hash.h"
#include "ledger.h"
#include "media.h"
#include "merkle.h"
#include "note.h"
#include "pbjson.h"
#include "examples.h"

#define INSP "LC-SCJG-2025-0001"
#define EX_USCC "91371502MA0EXAMP1R"

static evc_skey log_sk, admin_sk, node_sk, w1_sk, w2_sk;
static evc_vkey log_vk, admin_vk, node_vk, w1_vk, w2_vk;
static char tmp[512], prog[600];
static char out[1 << 17];

/* ---- building the ledger ---------------------------------------------------- */

static void
seed_key(const char *name, uint8_t type, uint8_t fill, evc_skey *sk, evc_vkey *vk)
{
	uint8_t seed[32];
	memset(seed, fill, sizeof(seed));
	REQUIRE(keys_from_seed(name, type, seed, sk, vk) == 0);
}

/* The example record of `kind`, decoded into a, with created_ms = now. */
static Record *
example(const char *kind, pb_arena *a)
{
	Record *r = NULL;
	char err[256];
	const char *j = example_record_json(kind);
	REQUIRE(j != NULL);
	REQUIRE(pbjson_record_from_text(j, strlen(j), a, &r, err, sizeof(err)) == 0);
	r->created_ms = fx_now_ms();
	return r;
}

typedef struct batch {
	fx_signed s[16];
	size_t n;
} batch;

static void
add(batch *b, Record *r, const evc_skey *sk)
{
	REQUIRE(b->n < 16);
	REQUIRE(fx_sign(r, sk, &b->s[b->n]) == 0);
	b->n++;
}

static void
add_signed(batch *b, int rc)
{
	REQUIRE(rc == 0);
	b->n++;
}

/* Append the batch; return the index of its first entry. */
static uint64_t
commit(ledger *l, batch *b)
{
	ledger_item items[16];
	ledger_head head;
	char why[256];
	memset(items, 0, sizeof(items));
	for (size_t i = 0; i < b->n; i++) {
		REQUIRE(record_validate(b->s[i].decoded, fx_now_ms(), why, sizeof(why)) == 0 || !fprintf(stderr, "%s\n", why));
		items[i].record = b->s[i].rec;
		items[i].record_len = b->s[i].len;
		items[i].sig = b->s[i].sig;
		items[i].rec = b->s[i].decoded;
	}
	REQUIRE(ledger_append(l, items, b->n, &log_sk, fx_now_ms(), &head) == 0);
	for (size_t i = 0; i < b->n; i++) {
		REQUIRE(items[i].result == LEDGER_APPENDED);
		fx_signed_free(&b->s[i]);
	}
	uint64_t first = items[0].index;
	b->n = 0;
	return first;
}

/* Cosign the latest checkpoint with witness key sk. */
static void
cosign(ledger *l, const evc_skey *sk)
{
	ledger_head head;
	note nt;
	uint8_t sig[NOTE_COSIG_LEN];
	char line[512];
	REQUIRE(ledger_latest(l, &head) == 0);
	REQUIRE(note_parse(head.note, head.note_len, &nt) == 0);
	REQUIRE(cosig_sign(nt.text, nt.text_len, sk, (uint64_t)(fx_now_ms() / 1000), sig) == 0);
	int n = note_sig_line(sk->name, sk->id, sig + 4, NOTE_COSIG_LEN - 4, line, sizeof(line));
	REQUIRE(n > 0);
	REQUIRE(ledger_add_cosignature(l, head.size, sk->name, line, (size_t)n) >= 1);
}

static int
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	size_t n = fwrite(data, 1, len, f);
	return fclose(f) == 0 && n == len ? 0 : -1;
}

static uint8_t *
read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	REQUIRE(f != NULL);
	REQUIRE(fseek(f, 0, SEEK_END) == 0);
	long n = ftell(f);
	REQUIRE(n >= 0);
	rewind(f);
	uint8_t *b = malloc((size_t)n + 1);
	REQUIRE(b != NULL && fread(b, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

/* A media file of len pseudo-random bytes; its SHA-256 into sha. */
static void
make_media(const char *path, size_t len, uint32_t seed, uint8_t sha[32])
{
	uint8_t *b = malloc(len);
	REQUIRE(b != NULL);
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (uint8_t)(seed >> 16);
	}
	REQUIRE(write_file(path, b, len) == 0);
	hash_sha256(b, len, sha);
	free(b);
}

/* ---- running the verifier -------------------------------------------------------- */

__attribute__((format(printf, 1, 2))) static int
verify(const char *fmt, ...)
{
	char args[4096], cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	REQUIRE(n > 0 && (size_t)n < sizeof(args));
	REQUIRE(snprintf(cmd, sizeof(cmd), "%s bundle %s", prog, args) < (int)sizeof(cmd));
	return fx_run(cmd, out, sizeof(out));
}

/* Write bundle b (packed) to tmp/name; return the path in path. */
static void
write_bundle(const Evchain__V1__Bundle *b, const char *name, char *path, size_t cap)
{
	size_t len;
	uint8_t *bytes = pb_pack(&b->base, &len);
	REQUIRE(bytes != NULL);
	REQUIRE(snprintf(path, cap, "%s/%s", tmp, name) < (int)cap);
	REQUIRE(write_file(path, bytes, len) == 0);
	free(bytes);
}

/* A fresh decoded copy of the good bundle, to tamper with. */
static Evchain__V1__Bundle *
copy_of(const uint8_t *bytes, size_t len, pb_arena *a)
{
	pb_arena_reset(a);
	Evchain__V1__Bundle *b = (Evchain__V1__Bundle *)pb_unpack(a, &evchain__v1__bundle__descriptor,
	    bytes, len);
	REQUIRE(b != NULL);
	return b;
}

/* Index in b->entries of the first entry of kind k. */
static size_t
find_kind(const Evchain__V1__Bundle *b, Evchain__V1__RecordKind k)
{
	pb_arena a;
	pb_arena_init(&a, 1 << 20);
	for (size_t i = 0; i < b->n_entries; i++) {
		pb_arena_reset(&a);
		Evchain__V1__Entry *e = (Evchain__V1__Entry *)pb_unpack(&a, &evchain__v1__entry__descriptor,
		    b->entries[i]->entry.data, b->entries[i]->entry.len);
		REQUIRE(e != NULL);
		Record *r = record_decode(&a, e->record.data, e->record.len);
		if (r != NULL && record_kind(r) == k) {
			pb_arena_free(&a);
			return i;
		}
	}
	pb_arena_free(&a);
	REQUIRE(0);
	return 0;
}

/* Remove entries[i]. */
static void
drop_entry(Evchain__V1__Bundle *b, size_t i)
{
	memmove(&b->entries[i], &b->entries[i + 1], (b->n_entries - i - 1) * sizeof(*b->entries));
	b->n_entries--;
}

#define EXPECT_FAIL(what, ...)                                                   \
	do {                                                                     \
		for (size_t k_ = 0; k_ < sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *); k_++) { \
			const char *w_ = ((const char *[]){ __VA_ARGS__ })[k_];  \
			CHECK_(strstr(out, w_) != NULL, "%s: want \"%s\" in:\n%s", what, w_, out); \
		}                                                                \
	} while (0)

int
main(void)
{
	char err[512], dir[700], path[800], m1[800], m2[800], pub_log[800], pub_w1[800], pub_w2[800],
	    pub_w3[800], pub_other[800], pol[800], html[800];
	uint8_t sha1[32], sha2[32];
	ledger *l = NULL;
	ledger_opts lo = { .no_sync = 1 };
	pb_arena a, ta;
	batch b = { 0 };

	REQUIRE(sodium_init() >= 0);
	char *t = fx_tmpdir("bundle");
	REQUIRE(t != NULL);
	snprintf(tmp, sizeof(tmp), "%s", t);
	REQUIRE(fx_prog("evchain-verify", prog, sizeof(prog)) != NULL);
	seed_key("test.evchain/log", EVC_KEY_ED25519, 1, &log_sk, &log_vk);
	seed_key("admin", EVC_KEY_ED25519, 2, &admin_sk, &admin_vk);
	seed_key("platform-node-1", EVC_KEY_ED25519, 3, &node_sk, &node_vk);
	seed_key("witness-supervisor", EVC_KEY_COSIGNATURE, 4, &w1_sk, &w1_vk);
	seed_key("witness-discipline", EVC_KEY_COSIGNATURE, 5, &w2_sk, &w2_vk);
	snprintf(pub_log, sizeof(pub_log), "%s/log.pub", tmp);
	snprintf(pub_w1, sizeof(pub_w1), "%s/w1.pub", tmp);
	snprintf(pub_w2, sizeof(pub_w2), "%s/w2.pub", tmp);
	snprintf(pub_w3, sizeof(pub_w3), "%s/w3.pub", tmp);
	snprintf(pub_other, sizeof(pub_other), "%s/other-log.pub", tmp);
	REQUIRE(keys_write_public(pub_log, &log_vk) == 0);
	REQUIRE(keys_write_public(pub_w1, &w1_vk) == 0);
	REQUIRE(keys_write_public(pub_w2, &w2_vk) == 0);
	evc_skey other_sk, w3_sk;
	evc_vkey other_vk, w3_vk;
	REQUIRE(keys_generate("test.evchain/log", EVC_KEY_ED25519, &other_sk, &other_vk) == 0);
	REQUIRE(keys_generate("witness-supervisor", EVC_KEY_COSIGNATURE, &w3_sk, &w3_vk) == 0);
	REQUIRE(keys_write_public(pub_other, &other_vk) == 0);
	REQUIRE(keys_write_public(pub_w3, &w3_vk) == 0);

	/* The media files the evidence records describe. */
	snprintf(m1, sizeof(m1), "%s/" INSP "-E01.mp4", tmp);
	snprintf(m2, sizeof(m2), "%s/" INSP "-E02.jpg", tmp);
	make_media(m1, (3u << 20) + 777, 7, sha1);
	make_media(m2, 200000, 8, sha2);

	/* ---- the ledger --------------------------------------------------- */
	snprintf(dir, sizeof(dir), "%s/data", tmp);
	REQUIRE(ledger_open(dir, &lo, &l, err, sizeof(err)) == 0);
	pb_arena_init(&a, 4 << 20);
	int64_t t0 = fx_now_ms();
	add_signed(&b, fx_node_key("genesis-admin", &log_sk, &admin_vk, EVCHAIN__V1__NODE_KEY__ROLE__ADMIN,
	    EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, t0, &b.s[b.n]));
	commit(l, &b);
	add_signed(&b, fx_node_key("reg-node-1", &admin_sk, &node_vk, EVCHAIN__V1__NODE_KEY__ROLE__NODE,
	    EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, t0, &b.s[b.n]));
	commit(l, &b);
	/* The annual plan, and another inspection. */
	add(&b, example("inspection_plan", &a), &node_sk);
	add_signed(&b, fx_scan_in("other-scan", "INSP-OTHER-1", &node_sk, t0, &b.s[b.n]));
	commit(l, &b);
	/* Scan-in and both certificate checks. */
	Record *r = example("scan_in", &a);
	add(&b, r, &node_sk);
	add(&b, example("certificate_check", &a), &node_sk);
	r = example("certificate_check", &a);
	r->record_id = INSP "-cert-LC-ZF-250102";
	r->certificate_check->certificate_no = "LC-ZF-250102";
	r->certificate_check->officer_name = "李娜";
	r->certificate_check->verified_ms += 60000;
	add(&b, r, &node_sk);
	uint64_t scan_index = commit(l, &b);
	{
		uint8_t other_sha[32];
		hash_sha256("other", 5, other_sha);
		add_signed(&b, fx_evidence("other-ev", "INSP-OTHER-1", other_sha, &node_sk, t0, &b.s[b.n]));
		commit(l, &b);
	}
	/* The two evidence records and the disposition. */
	r = example("evidence", &a);
	r->evidence->sha256.data = sha1;
	r->evidence->size = (3u << 20) + 777;
	r->evidence->file_name = INSP "-E01.mp4";
	add(&b, r, &node_sk);
	r = example("evidence", &a);
	r->record_id = INSP "-E02";
	r->evidence->evidence_id = INSP "-E02";
	r->evidence->media_kind = EVCHAIN__V1__EVIDENCE__MEDIA_KIND__PHOTO;
	r->evidence->sha256.data = sha2;
	r->evidence->size = 200000;
	r->evidence->file_name = INSP "-E02.jpg";
	r->evidence->media_type = "image/jpeg";
	r->evidence->capture_start_ms += 10 * 60000;
	r->evidence->capture_end_ms = r->evidence->capture_start_ms;
	r->evidence->proves = "成品仓库深沟球轴承外包装照片，未标注生产厂厂名和厂址";
	add(&b, r, &node_sk);
	add(&b, example("disposition", &a), &node_sk);
	uint64_t ev_index = commit(l, &b);
	/* Feedback; the admin's policy records; more of the other inspection. */
	add(&b, example("company_feedback", &a), &node_sk);
	add(&b, example("risk_grade", &a), &admin_sk);
	add(&b, example("frequency_cap", &a), &admin_sk);
	add_signed(&b, fx_scan_in("other-scan-2", "INSP-OTHER-2", &node_sk, t0, &b.s[b.n]));
	commit(l, &b);
	cosign(l, &w1_sk);
	cosign(l, &w2_sk);

	/* ---- bundle_build ---------------------------------------------------- */
	ledger_txn *txn;
	Evchain__V1__Bundle *bu;
	size_t packed;
	pb_arena ba;
	pb_arena_init(&ba, 16 << 20);
	REQUIRE(ledger_read_begin(l, &txn) == 0);
	bundle_subject subj = { .inspection_id = INSP };
	CHECK_EQ(bundle_build(txn, &subj, NULL, &ba, &bu, &packed, err, sizeof(err)), 0);
	REQUIRE(bu != NULL);
	CHECK_EQ(bu->version, 1);
	CHECK_STR(bu->origin, "test.evchain/log");
	CHECK_STR(bu->subject, "inspection " INSP);
	CHECK_EQ(bu->n_entries, 8);        /* plan, scan-in, 2 checks, 2 evidence, disposition, feedback */
	CHECK_EQ(bu->n_key_entries, 2);    /* the admin's and the node's registrations */
	CHECK_EQ(bu->entries[0]->index, 2);  /* the plan */
	CHECK_EQ(bu->entries[1]->index, scan_index);
	CHECK_EQ(bu->key_entries[0]->index, 0);
	CHECK_EQ(bu->key_entries[1]->index, 1);
	CHECK(packed > 1000 && packed < BUNDLE_MAX_BYTES);
	CHECK_EQ(packed, evchain__v1__bundle__get_packed_size(bu));
	printf("inspection bundle: %zu entries, %zu key entries, %zu bytes\n", bu->n_entries,
	    bu->n_key_entries, packed);
	/* A tlog-proof of an entry parses and proves it. */
	{
		char *tp;
		size_t tl;
		tlog_proof *pr = malloc(sizeof(*pr));
		REQUIRE(pr != NULL);
		CHECK_EQ(bundle_tlog_proof(bu, 1, &tp, &tl), 0);
		CHECK_EQ(tlog_proof_parse(tp, tl, pr), 0);
		CHECK_EQ(pr->index, scan_index);
		note nt;
		checkpoint cp;
		uint8_t leaf[32];
		CHECK(note_open(pr->checkpoint, pr->checkpoint_len, &log_vk, 1, &nt) == 1);
		CHECK_EQ(checkpoint_parse(nt.text, nt.text_len, &cp), 0);
		merkle_leaf_hash(bu->entries[1]->entry.data, bu->entries[1]->entry.len, leaf);
		CHECK_EQ(merkle_verify_inclusion(pr->index, cp.size, leaf, (const uint8_t(*)[32])pr->hashes,
		    pr->nhashes, cp.root), 0);
		free(tp);
		CHECK_EQ(bundle_tlog_proof(bu, 9, &tp, &tl), 0);   /* a key entry */
		free(tp);
		CHECK_EQ(bundle_tlog_proof(bu, 10, &tp, &tl), EVC_EINVAL);
		free(pr);
	}
	/* The company, over all time: its inspection, the risk grade, the plan. */
	{
		Evchain__V1__Bundle *cb;
		bundle_subject cs = { .company_uscc = EX_USCC };
		CHECK_EQ(bundle_build(txn, &cs, NULL, &ba, &cb, NULL, err, sizeof(err)), 0);
		CHECK_EQ(cb->n_entries, 9);
		CHECK_EQ(cb->n_key_entries, 2);
		CHECK_STR(cb->subject, "company " EX_USCC);
		/* A range that starts after the scan-in still brings the whole inspection. */
		int64_t tfrom;
		const uint8_t *eb;
		size_t el;
		REQUIRE(ledger_entry(txn, ev_index, &eb, &el) == 0);
		REQUIRE(ledger_entry_time(eb, el, &tfrom) == 0);
		cs.from_ms = tfrom;
		CHECK_EQ(bundle_build(txn, &cs, NULL, &ba, &cb, NULL, err, sizeof(err)), 0);
		CHECK_EQ(cb->n_entries, 9);
		CHECK(strstr(cb->subject, ", logged from ") != NULL);
		cs.from_ms = 1000;
		cs.to_ms = 2000;   /* nothing logged then */
		CHECK_EQ(bundle_build(txn, &cs, NULL, &ba, &cb, NULL, err, sizeof(err)), EVC_ENOTFOUND);
	}
	/* Limits and bad subjects, each with a reason. */
	{
		Evchain__V1__Bundle *xb;
		bundle_build_opts o = { .max_entries = 3 };
		CHECK_EQ(bundle_build(txn, &subj, &o, &ba, &xb, NULL, err, sizeof(err)), EVC_ETOOLARGE);
		CHECK_(strstr(err, "more than 3 entries") != NULL, "%s", err);
		bundle_build_opts o2 = { .max_bytes = 2000 };
		CHECK_EQ(bundle_build(txn, &subj, &o2, &ba, &xb, NULL, err, sizeof(err)), EVC_ETOOLARGE);
		CHECK_(strstr(err, "over the limit of 2000") != NULL, "%s", err);
		bundle_build_opts o3 = { .max_key_entries = 1 };
		CHECK_EQ(bundle_build(txn, &subj, &o3, &ba, &xb, NULL, err, sizeof(err)), EVC_ETOOLARGE);
		bundle_subject none = { .inspection_id = "NO-SUCH" };
		CHECK_EQ(bundle_build(txn, &none, NULL, &ba, &xb, NULL, err, sizeof(err)), EVC_ENOTFOUND);
		CHECK_(strstr(err, "no entry about inspection NO-SUCH") != NULL, "%s", err);
		bundle_subject both = { .inspection_id = INSP, .company_uscc = EX_USCC };
		CHECK_EQ(bundle_build(txn, &both, NULL, &ba, &xb, NULL, err, sizeof(err)), EVC_EINVAL);
		bundle_subject neither = { 0 };
		CHECK_EQ(bundle_build(txn, &neither, NULL, &ba, &xb, NULL, err, sizeof(err)), EVC_EINVAL);
		bundle_build_opts o4 = { .tree_size = 3 };   /* no checkpoint of that size */
		CHECK_EQ(bundle_build(txn, &subj, &o4, &ba, &xb, NULL, err, sizeof(err)), EVC_ENOTFOUND);
		pb_arena tiny;
		pb_arena_init(&tiny, 4096);
		CHECK_EQ(bundle_build(txn, &subj, NULL, &tiny, &xb, NULL, err, sizeof(err)), EVC_ENOMEM);
		pb_arena_free(&tiny);
	}
	ledger_read_end(txn);

	char good[800];
	write_bundle(bu, "insp.bundle", good, sizeof(good));
	size_t glen;
	uint8_t *gbytes = read_all(good, &glen);
	if (getenv("EVC_BUNDLE_SEED_OUT") != NULL)
		REQUIRE(write_file(getenv("EVC_BUNDLE_SEED_OUT"), gbytes, glen) == 0);

	/* Witnesses cosign after the fact: with 300 newer checkpoints not yet
	 * cosigned, min_cosignatures finds the cosigned one (a scan over more
	 * than one window). */
	{
		ledger_head h;
		REQUIRE(ledger_latest(l, &h) == 0);
		uint64_t cosigned = h.size;
		for (int i = 0; i < 300; i++) {
			char rid[32];
			snprintf(rid, sizeof(rid), "later-%d", i);
			add_signed(&b, fx_scan_in(rid, "INSP-LATER", &node_sk, t0, &b.s[b.n]));
			commit(l, &b);
		}
		Evchain__V1__Bundle *xb;
		bundle_build_opts o = { .min_cosignatures = 2 };
		REQUIRE(ledger_read_begin(l, &txn) == 0);
		CHECK_EQ(bundle_build(txn, &subj, &o, &ba, &xb, NULL, err, sizeof(err)), 0);
		note nt;
		checkpoint cp;
		REQUIRE(note_parse((const char *)xb->checkpoint.data, xb->checkpoint.len, &nt) == 0);
		REQUIRE(checkpoint_parse(nt.text, nt.text_len, &cp) == 0);
		CHECK_EQ(cp.size, cosigned);
		CHECK_EQ(nt.nsigs, 3);
		CHECK_EQ(bundle_build(txn, &subj, NULL, &ba, &xb, NULL, err, sizeof(err)), 0);
		REQUIRE(note_parse((const char *)xb->checkpoint.data, xb->checkpoint.len, &nt) == 0);
		REQUIRE(checkpoint_parse(nt.text, nt.text_len, &cp) == 0);
		CHECK_EQ(cp.size, cosigned + 300);
		CHECK_EQ(nt.nsigs, 1);
		o.min_cosignatures = 3;
		CHECK_EQ(bundle_build(txn, &subj, &o, &ba, &xb, NULL, err, sizeof(err)), EVC_ENOTFOUND);
		CHECK_(strstr(err, "no checkpoint has 3 cosignatures yet") != NULL, "%s", err);
		ledger_read_end(txn);
	}

	/* ---- the library's report ------------------------------------------------ */
	{
		policy *p = malloc(sizeof(*p));
		REQUIRE(p != NULL);
		policy_init(p);
		int mem[2];
		REQUIRE(policy_add_log(p, &log_vk, err, sizeof(err)) == 0);
		mem[0] = policy_add_witness(p, "supervisor", &w1_vk, err, sizeof(err));
		mem[1] = policy_add_witness(p, "discipline", &w2_vk, err, sizeof(err));
		REQUIRE(policy_set_quorum(p, policy_add_group(p, "both", 2, mem, 2, err, sizeof(err)), err,
		    sizeof(err)) == 0);
		const char *media[2] = { m1, m2 };
		bundle_verify_opts vo = { .policy = p, .media = media, .nmedia = 2 };
		bundle_report *rep;
		CHECK_EQ(bundle_verify(gbytes, glen, &vo, &rep), 0);
		REQUIRE(rep != NULL);
		for (size_t i = 0; i < rep->nfailures; i++)
			fprintf(stderr, "unexpected failure: [%s] %s\n", rep->failures[i].check, rep->failures[i].msg);
		CHECK_EQ(rep->verified, 1);
		CHECK_EQ(rep->failures_total, 0);
		CHECK_EQ(rep->checkpoint, BUNDLE_PASS);
		CHECK_EQ(rep->quorum, BUNDLE_PASS);
		CHECK_STR(rep->quorum_rule, "all of {supervisor, discipline}");
		CHECK_EQ(rep->ncosigners, 2);
		CHECK_EQ(rep->cosigners[0].state, BUNDLE_PASS);
		CHECK_EQ(rep->cosigners[1].state, BUNDLE_PASS);
		CHECK(rep->witnessed_ms > 0);
		CHECK_EQ(rep->nentries, 8);
		CHECK_EQ(rep->nkey_entries, 2);
		CHECK_EQ(rep->ninspections, 1);
		CHECK_STR(rep->inspections[0].inspection_id, INSP);
		CHECK_EQ(rep->inspections[0].story, BUNDLE_PASS);
		CHECK_EQ(rep->inspections[0].n_evidence, 2);
		CHECK_EQ(rep->inspections[0].n_cert_checks, 2);
		CHECK_EQ(rep->inspections[0].scan_in, scan_index);
		CHECK_STR(rep->inspections[0].company_uscc, EX_USCC);
		size_t matched = 0;
		for (size_t i = 0; i < rep->nentries; i++) {
			const bundle_entry_report *e = &rep->entries[i];
			CHECK(e->inclusion == BUNDLE_PASS && e->signature == BUNDLE_PASS &&
			    e->key == BUNDLE_PASS && e->record == BUNDLE_PASS);
			CHECK_STR(e->signer, "platform-node-1");
			CHECK_EQ(e->signer_registered_at, 1);
			if (e->kind == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_EVIDENCE && e->media == BUNDLE_PASS)
				matched++;
			if (e->kind == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_SCAN_IN) {
				CHECK_STR(e->event_field, "scan_in.device_ms");
				CHECK(e->event_ms < e->log_time_ms);
			}
		}
		CHECK_EQ(matched, 2);
		CHECK_EQ(rep->nmedia, 2);
		CHECK_EQ(rep->media[0].state, BUNDLE_PASS);
		CHECK_EQ(rep->key_entries[0].signer_role, 0);   /* the admin: registered by the log key */
		bundle_report_free(rep);
		/* Without a quorum rule the library refuses to judge. */
		policy_init(p);
		CHECK_EQ(bundle_verify(gbytes, glen, &vo, &rep), EVC_EINVAL);
		CHECK(rep == NULL);
		free(p);
	}

	/* ---- evchain-verify bundle: verified ----------------------------------- */
	snprintf(html, sizeof(html), "%s/report.html", tmp);
	int rc = verify("'%s' --log-key '%s' --witness '%s' --witness '%s' --media '%s' --media '%s' "
	    "--html '%s'", good, pub_log, pub_w1, pub_w2, m1, m2, html);
	CHECK_(rc == 0, "good bundle: exit %d:\n%s", rc, out);
	EXPECT_FAIL("good", "检查编号 Inspection", INSP, "结论 VERDICT: 通过 VERIFIED", "记录时间 Logged",
	    "witness-supervisor", "witness-discipline", "聊城示例轴承制造有限公司", "张伟 (LC-ZF-250101)",
	    "限期改正 CORRECT_BY_DEADLINE", "一致 matches", "北京时间", "platform-node-1");
	CHECK(strstr(out, "不通过") == NULL);
	{
		size_t hl;
		uint8_t *h = read_all(html, &hl);
		h[hl] = 0;
		const char *hs = (const char *)h;
		CHECK(strncmp(hs, "<!DOCTYPE html>", 15) == 0);
		CHECK(strstr(hs, "<meta charset=\"utf-8\">") != NULL);
		CHECK(strstr(hs, INSP) != NULL);
		CHECK(strstr(hs, "通过 VERIFIED") != NULL);
		CHECK(strstr(hs, "<script") == NULL && strstr(hs, "src=") == NULL &&
		    strstr(hs, "href=") == NULL && strstr(hs, "@import") == NULL);
		CHECK(strstr(hs, "&lt;") == NULL || 1);
		CHECK(strstr(hs, "</html>") != NULL);
		free(h);
	}
	/* Hostile text in the (unsigned) subject reaches neither the terminal nor
	 * the page as markup or escape sequences. */
	{
		Evchain__V1__Bundle *x;
		pb_arena ha;
		pb_arena_init(&ha, 16 << 20);
		x = copy_of(gbytes, glen, &ha);
		x->subject = "\x1b]0;pwned\x07<script>alert(1)</script>\xe2\x80\xae\xc2\x9b" "2J&\"'";
		write_bundle(x, "hostile.bundle", path, sizeof(path));
		rc = verify("'%s' --log-key '%s' --html '%s'", path, pub_log, html);
		CHECK_(rc == 0, "hostile subject: exit %d: %s", rc, out);
		CHECK(strchr(out, 0x1b) == NULL && strchr(out, 0x07) == NULL);
		CHECK(strstr(out, "\xe2\x80\xae") == NULL && strstr(out, "\xc2\x9b") == NULL);
		size_t hl;
		uint8_t *h = read_all(html, &hl);
		h[hl] = 0;
		CHECK(strstr((char *)h, "<script") == NULL);
		CHECK(strstr((char *)h, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
		CHECK(strstr((char *)h, "&amp;&quot;&#39;") != NULL);
		CHECK(memchr(h, 0x1b, hl) == NULL);
		free(h);
		pb_arena_free(&ha);
	}
	/* Media given as extra arguments; --quorum; key strings instead of files. */
	{
		char lks[KEYS_VKEY_MAX];
		REQUIRE(keys_vkey_format(&log_vk, lks, sizeof(lks)) > 0);
		rc = verify("'%s' --log-key '%s' --witness '%s' --witness '%s' --quorum 1 --media '%s' '%s'",
		    good, lks, pub_w1, pub_w3, m1, m2);
		CHECK_(rc == 0, "quorum 1 of w1, w3: exit %d:\n%s", rc, out);
		EXPECT_FAIL("quorum 1", "any of {witness-supervisor, witness-supervisor#2}");
	}
	/* A tlog-policy file. */
	snprintf(pol, sizeof(pol), "%s/court.policy", tmp);
	{
		char lks[KEYS_VKEY_MAX], w1s[KEYS_VKEY_MAX], w2s[KEYS_VKEY_MAX];
		keys_vkey_format(&log_vk, lks, sizeof(lks));
		keys_vkey_format(&w1_vk, w1s, sizeof(w1s));
		keys_vkey_format(&w2_vk, w2s, sizeof(w2s));
		FILE *f = fopen(pol, "w");
		REQUIRE(f != NULL);
		fprintf(f, "# 法院采信的日志与见证方\nlog %s\n\nwitness 司法局 %s\nwitness 纪委监委 %s\n"
		    "group 双方 all 司法局 纪委监委\nquorum 双方\n", lks, w1s, w2s);
		fclose(f);
		rc = verify("'%s' --policy '%s' --media '%s'", good, pol, m2);
		CHECK_(rc == 0, "policy: exit %d:\n%s", rc, out);
		EXPECT_FAIL("policy", "all of {司法局, 纪委监委}", "通过 VERIFIED");
		rc = verify("'%s' --policy '%s' --log-key '%s'", good, pol, pub_log);
		CHECK_(rc == 0, "policy and the same log key: exit %d:\n%s", rc, out);
		rc = verify("'%s' --policy '%s' --log-key '%s'", good, pol, pub_other);
		CHECK_EQ(rc, 1);   /* the policy does not list that log key */
	}

	/* ---- refused, naming what failed ---------------------------------------- */
	/* One byte of a media file changed (same name, another directory). */
	{
		char d2[800], m1x[900];
		snprintf(d2, sizeof(d2), "%s/copy", tmp);
		REQUIRE(mkdir(d2, 0700) == 0);
		snprintf(m1x, sizeof(m1x), "%s/" INSP "-E01.mp4", d2);
		size_t ml;
		uint8_t *mb = read_all(m1, &ml);
		mb[ml / 2] ^= 0x01;
		REQUIRE(write_file(m1x, mb, ml) == 0);
		free(mb);
		rc = verify("'%s' --log-key '%s' --witness '%s' --witness '%s' --media '%s' --media '%s'",
		    good, pub_log, pub_w1, pub_w2, m1x, m2);
		CHECK_EQ(rc, 1);
		char want[1000];
		snprintf(want, sizeof(want), "[媒体文件 media] file \"%s\"", m1x);
		EXPECT_FAIL("media byte", want, "不通过 FAILED", "differs from the entry");
		/* A file that is no evidence at all; one that cannot be read. */
		rc = verify("'%s' --log-key '%s' --media '%s' --media '%s/nope.mp4'", good, pub_log, pub_w1, tmp);
		CHECK_EQ(rc, 1);
		EXPECT_FAIL("unrelated media", "matches no evidence record", "nope.mp4\": cannot be read");
	}
	pb_arena_init(&ta, 16 << 20);
	/* A flipped byte in an entry (in its signature: it still decodes). */
	{
		Evchain__V1__Bundle *x = copy_of(gbytes, glen, &ta);
		size_t i = find_kind(x, EVCHAIN__V1__RECORD_KIND__RECORD_KIND_DISPOSITION);
		x->entries[i]->entry.data[x->entries[i]->entry.len - 3] ^= 0x01;
		write_bundle(x, "flip-entry.bundle", path, sizeof(path));
		rc = verify("'%s' --log-key '%s' --witness '%s' --witness '%s'", path, pub_log, pub_w1, pub_w2);
		CHECK_EQ(rc, 1);
		char want[200];
		snprintf(want, sizeof(want), "[包含证明 inclusion] entry %" PRIu64 ":", x->entries[i]->index);
		EXPECT_FAIL("entry byte", want, "[节点签名 signature] entry");
		/* A flipped record byte that breaks the decode is named too. */
		x = copy_of(gbytes, glen, &ta);
		x->entries[1]->entry.data[60] ^= 0x80;
		write_bundle(x, "flip-entry2.bundle", path, sizeof(path));
		rc = verify("'%s' --log-key '%s'", path, pub_log);
		CHECK_EQ(rc, 1);
		snprintf(want, sizeof(want), "entry %" PRIu64 ":", scan_index);
		EXPECT_FAIL("entry byte 2", want, "[包含证明 inclusion]");
	}
	/* A flipped proof hash. */
	{
		Evchain__V1__Bundle *x = copy_of(gbytes, glen, &ta);
		REQUIRE(x->entries[3]->n_inclusion_proof > 0);
		x->entries[3]->inclusion_proof[0].data[7] ^= 0x40;
		write_bundle(x, "flip-proof.bundle", path, sizeof(path));
		rc = verify("'%s' --log-key '%s' --witness '%s' --witness '%s'", path, pub_log, pub_w1, pub_w2);
		CHECK_EQ(rc, 1);
		char want[200];
		snprintf(want, sizeof(want), "[包含证明 inclusion] entry %" PRIu64 ": the inclusion proof "
		    "does not lead", x->entries[3]->index);
		EXPECT_FAIL("proof hash", want, "1 项检查未通过");
	}
	/* The checkpoint signed by another key of the same name. */
	{
		Evchain__V1__Bundle *x = copy_of(gbytes, glen, &ta);
		note nt;
		char *signed_note;
		size_t sl;
		REQUIRE(note_parse((const char *)x->checkpoint.data, x->checkpoint.len, &nt) == 0);
		const evc_skey *ks[1] = { &other_sk };
		REQUIRE(note_sign(nt.text, nt.text_len, ks, 1, &signed_note, &sl) == 0);
		x->checkpoint.data = (uint8_t *)signed_note;
		x->checkpoint.len = sl;
		write_bundle(x, "other-log.bundle", path, sizeof(path));
		free(signed_note);
		rc = verify("'%s' --log-key '%s'", path, pub_log);
		CHECK_EQ(rc, 1);
		EXPECT_FAIL("other log key", "[检查点签名 checkpoint]", "not signed by the trusted log key");
		/* ... which verifies for who trusts that other key, but not its entries' keys. */
		rc = verify("'%s' --log-key '%s'", good, pub_other);
		CHECK_EQ(rc, 1);
		EXPECT_FAIL("wrong log key", "[检查点签名 checkpoint]");
	}
	/* Quorum not met: one witness's cosignature missing. */
	{
		Evchain__V1__Bundle *x = copy_of(gbytes, glen, &ta);
		char *cp = (char *)x->checkpoint.data;
		char *line = strstr(cp, "— witness-discipline ");
		REQUIRE(line != NULL);
		char *end = strchr(line, '\n');
		REQUIRE(end != NULL);
		size_t tail = x->checkpoint.len - (size_t)(end + 1 - cp);
		memmove(line, end + 1, tail);
		x->checkpoint.len = (size_t)(line - cp) + tail;
		write_bundle(x, "one-witness.bundle", path, sizeof(path));
		rc = verify("'%s' --log-key '%s' --witness '%s' --witness '%s'", path, pub_log, pub_w1, pub_w2);
		CHECK_EQ(rc, 1);
		EXPECT_FAIL("quorum", "[见证法定数 quorum]", "needs all of {witness-supervisor, witness-discipline}",
		    "verified cosignatures: witness-supervisor");
		/* Any one of them suffices: verified. */
		rc = verify("'%s' --log-key '%s' --witness '%s' --witness '%s' --quorum 1", path, pub_log,
		    pub_w1, pub_w2);
		CHECK_(rc == 0, "quorum 1: %s", out);
	}
	/* A wrong witness key (same name, another key): its cosignature is not there. */
	rc = verify("'%s' --log-key '%s' --witness '%s'", good, pub_log, pub_w3);
	CHECK_EQ(rc, 1);
	EXPECT_FAIL("wrong witness", "[见证法定数 quorum]", "verified cosignatures: none");
	/* A cosignature that does not verify. */
	{
		Evchain__V1__Bundle *x = copy_of(gbytes, glen, &ta);
		char *cp = (char *)x->checkpoint.data;
		char *line = strstr(cp, "— witness-supervisor ");
		REQUIRE(line != NULL);
		char *sig = line + strlen("— witness-supervisor ") + 40;
		*sig = *sig == 'A' ? 'B' : 'A';
		write_bundle(x, "bad-cosig.bundle", path, sizeof(path));
		rc = verify("'%s' --log-key '%s' --witness '%s' --witness '%s'", path, pub_log, pub_w1, pub_w2);
		CHECK_EQ(rc, 1);
		EXPECT_FAIL("bad cosig", "[见证签名 cosignature]", "witness \"witness-supervisor\"");
	}
	/* The key entries removed: the signers are unknown. */
	{
		Evchain__V1__Bundle *x = copy_of(gbytes, glen, &ta);
		x->n_key_entries = 0;
		write_bundle(x, "no-keys.bundle", path, sizeof(path));
		rc = verify("'%s' --log-key '%s' --witness '%s' --witness '%s'", path, pub_log, pub_w1, pub_w2);
		CHECK_EQ(rc, 1);
		char want[200];
		snprintf(want, sizeof(want), "[密钥有效性 key] entry %" PRIu64 " (scan_in", scan_index);
		EXPECT_FAIL("no keys", want, "unknown key 'platform-node-1'");
		/* Only the node's registration removed: the admin's alone does not do. */
		x = copy_of(gbytes, glen, &ta);
		x->n_key_entries = 1;
		write_bundle(x, "admin-only.bundle", path, sizeof(path));
		rc = verify("'%s' --log-key '%s'", path, pub_log);
		CHECK_EQ(rc, 1);
		EXPECT_FAIL("admin only", "unknown key 'platform-node-1'");
	}
	/* The story: no disposition; no scan-in. */
	{
		Evchain__V1__Bundle *x = copy_of(gbytes, glen, &ta);
		drop_entry(x, find_kind(x, EVCHAIN__V1__RECORD_KIND__RECORD_KIND_DISPOSITION));
		write_bundle(x, "open.bundle", path, sizeof(path));
		rc = verify("'%s' --log-key '%s' --witness '%s' --witness '%s'", path, pub_log, pub_w1, pub_w2);
		CHECK_EQ(rc, 1);
		EXPECT_FAIL("no disposition", "[检查流程 story]", "inspection \"" INSP "\": no disposition",
		    "1 项检查未通过");
		x = copy_of(gbytes, glen, &ta);
		drop_entry(x, find_kind(x, EVCHAIN__V1__RECORD_KIND__RECORD_KIND_SCAN_IN));
		write_bundle(x, "no-scan.bundle", path, sizeof(path));
		rc = verify("'%s' --log-key '%s'", path, pub_log);
		CHECK_EQ(rc, 1);
		EXPECT_FAIL("no scan-in", "[检查流程 story]", "no scan-in");
	}
	/* A truncated file; a wrong version; not a bundle; an empty file. */
	{
		snprintf(path, sizeof(path), "%s/truncated.bundle", tmp);
		REQUIRE(write_file(path, gbytes, glen / 2) == 0);
		rc = verify("'%s' --log-key '%s'", path, pub_log);
		CHECK_EQ(rc, 1);
		EXPECT_FAIL("truncated", "[文件格式 format]", "does not decode as a Bundle");
		Evchain__V1__Bundle *x = copy_of(gbytes, glen, &ta);
		x->version = 2;
		write_bundle(x, "v2.bundle", path, sizeof(path));
		rc = verify("'%s' --log-key '%s'", path, pub_log);
		CHECK_EQ(rc, 1);
		EXPECT_FAIL("version", "[文件格式 format]", "version 2; this verifier reads version 1");
		rc = verify("'%s' --log-key '%s'", pub_log, pub_log);
		CHECK_EQ(rc, 1);
		snprintf(path, sizeof(path), "%s/empty.bundle", tmp);
		REQUIRE(write_file(path, "", 0) == 0);
		rc = verify("'%s' --log-key '%s'", path, pub_log);
		CHECK_EQ(rc, 1);
		EXPECT_FAIL("empty", "the bundle is empty");
		rc = verify("'%s/missing.bundle' --log-key '%s'", tmp, pub_log);
		CHECK_EQ(rc, 1);
		EXPECT_FAIL("missing", "cannot be read");
	}
	/* Usage. */
	CHECK_EQ(verify("'%s'", good), 2);
	CHECK_EQ(verify("--log-key '%s'", pub_log), 2);
	CHECK_EQ(verify("'%s' --log-key '%s' --policy '%s' --witness '%s'", good, pub_log, pol, pub_w1), 2);
	CHECK_EQ(verify("'%s' --log-key '%s' --witness '%s' --quorum 2", good, pub_log, pub_w1), 2);
	CHECK_EQ(verify("'%s' --log-key '%s' --quorum x", good, pub_log), 2);
	CHECK_EQ(verify("--help"), 0);
	CHECK_EQ(verify("'%s' --log-key /nonexistent.pub", good), 1);

	ledger_close(l);
	l = NULL;

	/* ---- an entry signed by a key revoked before it ------------------------------ */
	{
		evc_skey n2_sk;
		evc_vkey n2_vk;
		char d3[800], rb[800];
		seed_key("platform-node-2", EVC_KEY_ED25519, 6, &n2_sk, &n2_vk);
		snprintf(d3, sizeof(d3), "%s/revoked", tmp);
		REQUIRE(ledger_open(d3, &lo, &l, err, sizeof(err)) == 0);
		int64_t now = fx_now_ms();
		add_signed(&b, fx_node_key("genesis-admin", &log_sk, &admin_vk, EVCHAIN__V1__NODE_KEY__ROLE__ADMIN,
		    EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, now, &b.s[b.n]));
		add_signed(&b, fx_node_key("reg-node-2", &admin_sk, &n2_vk, EVCHAIN__V1__NODE_KEY__ROLE__NODE,
		    EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, now, &b.s[b.n]));
		commit(l, &b);
		add_signed(&b, fx_scan_in("rev-scan", "INSP-REV", &n2_sk, now, &b.s[b.n]));
		uint8_t sha[32];
		hash_sha256("rev", 3, sha);
		add_signed(&b, fx_evidence("rev-ev", "INSP-REV", sha, &n2_sk, now + 120000, &b.s[b.n]));
		commit(l, &b);
		add_signed(&b, fx_node_key("revoke-node-2", &admin_sk, &n2_vk, EVCHAIN__V1__NODE_KEY__ROLE__NODE,
		    EVCHAIN__V1__NODE_KEY__ACTION__REVOKE, now, &b.s[b.n]));
		commit(l, &b);
		/* Bypassing the server: the ledger does not check keys. */
		r = example("disposition", &a);
		r->record_id = "rev-disposition";
		r->disposition->inspection_id = "INSP-REV";
		r->disposition->company_uscc = FX_USCC;
		r->disposition->decided_ms = now + 130000;
		r->disposition->ended_ms = now + 130000;
		r->disposition->deadline_ms = now + 14LL * 86400000;
		add(&b, r, &n2_sk);
		uint64_t bad_index = commit(l, &b);
		REQUIRE(ledger_read_begin(l, &txn) == 0);
		bundle_subject rs = { .inspection_id = "INSP-REV" };
		Evchain__V1__Bundle *xb;
		CHECK_EQ(bundle_build(txn, &rs, NULL, &ba, &xb, NULL, err, sizeof(err)), 0);
		ledger_read_end(txn);
		CHECK_EQ(xb->n_entries, 3);
		CHECK_EQ(xb->n_key_entries, 3);   /* admin, node-2 registered, node-2 revoked */
		write_bundle(xb, "revoked.bundle", rb, sizeof(rb));
		rc = verify("'%s' --log-key '%s'", rb, pub_log);
		CHECK_EQ(rc, 1);
		char want[200];
		snprintf(want, sizeof(want), "[密钥有效性 key] entry %" PRIu64 " (disposition", bad_index);
		EXPECT_FAIL("revoked", want, "was revoked at entry 4", "1 项检查未通过", "quorum rule",
		    "none");
		ledger_close(l);
		l = NULL;
		keys_skey_wipe(&n2_sk);
	}

	free(gbytes);
	pb_arena_free(&a);
	pb_arena_free(&ba);
	pb_arena_free(&ta);
	keys_skey_wipe(&log_sk);
	keys_skey_wipe(&admin_sk);
	keys_skey_wipe(&node_sk);
	keys_skey_wipe(&w1_sk);
	keys_skey_wipe(&w2_sk);
	keys_skey_wipe(&other_sk);
	keys_skey_wipe(&w3_sk);
	if (getenv("EVC_KEEP") == NULL)   /* EVC_KEEP=1: keep the files to look at */
		fx_rmrf(tmp);
	else
		printf("kept %s\n", tmp);
	free(t);
	CHECK_DONE("test_bundle");
}
