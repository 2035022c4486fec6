/*
 * test_server.c — integration: the real bin/evchaind ($BIN or bin) on
 * loopback with real TLS 1.3 and a fresh `evchain-keys dev` deployment,
 * driven through the client library (client/client.h) and the evchain CLI.
 *
 *   cli            the README quick start with bin/evchain, exit codes 0/1/2
 *   receipts       submit; every receipt verifies (client_verify_receipt);
 *                  receipts a lying log would forge (signed with the real log
 *                  key) do not
 *   idempotent     resubmission → duplicate, same index; conflict → CONFLICT
 *   refusals       unknown key, key/certificate mismatch, bad signature,
 *                  invalid record (field named), undecodable, oversized,
 *                  per-record statuses in a mixed batch, roles of signers
 *   revocation     admin registers and revokes a node key through the log
 *   roles          every operation × every role, against DESIGN §2
 *   queries        company, certificate, inspection, node, kind, time range,
 *                  evidence SHA-256; paging; proofs with every page
 *   proofs         inclusion by index and by leaf hash, consistency
 *   cosign         a witness cosigns; the checkpoint carries it
 *   pipelining     many submits and reads without waiting; ids matched
 *   restart        same checkpoint after a restart, appends continue,
 *                  evchain-verify ledger passes
 * The hostile side (TLS, framing, limits, SIGTERM in flight) is test_wire.c.
 */
#include "srvfix.h"

static sf_server *srv;

/* ---- the CLI (README quick start) ------------------------------------------- */

/* Run bin/evchain with a shell tail; output (stdout+stderr) in out. */
static int
cli(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
cli(char *out, size_t cap, const char *fmt, ...)
{
	char args[2048], cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	REQUIRE(n > 0 && (size_t)n < sizeof args);
	snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s", sf_dep, sf_prog("evchain"), args);
	return fx_run(cmd, out, cap);
}

static void
t_cli(void)
{
	static char out[65536];
	const char *ev = sf_prog("evchain");
	char cmd[4096];
	int rc;

	sf_begin("cli", 30);
	/* Register the node key (admin), then the example scan-in (node). */
	rc = cli(out, sizeof out, "-c admin.conf --server %s register-node node.pub --agency '聊城市市场监督管理局'",
	    sf_addr);
	CHECK_(rc == 0 && strstr(out, "\"index\":1,") != NULL, "register-node: exit %d: %s", rc, out);
	REQUIRE(rc == 0); /* everything after needs the node key */
	snprintf(cmd, sizeof cmd, "cd '%s' && '%s' example scan_in | '%s' -c node.conf --server %s submit",
	    sf_dep, ev, ev, sf_addr);
	rc = fx_run(cmd, out, sizeof out);
	CHECK_(rc == 0, "submit: exit %d: %s", rc, out);
	CHECK_(strstr(out, "\"index\":2,") && strstr(out, "\"tree_size\":3,") &&
	    strstr(out, "\"duplicate\":false"), "submit output: %s", out);
	/* The same example again is signed anew (created_ms): a conflict, exit 1. */
	rc = fx_run(cmd, out, sizeof out);
	CHECK_(rc == 1 && strstr(out, "conflict"), "resubmit: exit %d: %s", rc, out);

	rc = cli(out, sizeof out, "-c node.conf --server %s checkpoint", sf_addr);
	CHECK_(rc == 0 && strncmp(out, "evchain.local/dev-log\n3\n", 24) == 0, "checkpoint: %d: %s",
	    rc, out);
	rc = cli(out, sizeof out, "-c supervisor.conf --server %s get 2", sf_addr);
	CHECK_(rc == 0 && strstr(out, "\"index\":2,") && strstr(out, "\"kind\":\"scan_in\"") &&
	    strstr(out, "\"verified_in_tree_size\":3"), "get: %d: %s", rc, out);
	rc = cli(out, sizeof out, "-c node.conf --server %s get 2", sf_addr);
	CHECK_(rc == 1 && strstr(out, "permission denied"), "get as node: %d: %s", rc, out);
	rc = cli(out, sizeof out, "-c node.conf --server %s prove 2", sf_addr);
	CHECK_(rc == 0 && strncmp(out, "c2sp.org/tlog-proof@v1\nindex 2\n", 31) == 0, "prove: %d: %s",
	    rc, out);
	rc = cli(out, sizeof out, "-c supervisor.conf --server %s consistency 1 3", sf_addr);
	CHECK_(rc == 0 && strncmp(out, "consistent: size 3", 18) == 0, "consistency: %d: %s", rc, out);
	rc = cli(out, sizeof out, "-c supervisor.conf --server %s query --company 91371502MA0EXAMP1R",
	    sf_addr);
	CHECK_(rc == 0 && strncmp(out, "{\"index\":2,", 11) == 0 && strchr(out, '\n') ==
	    out + strlen(out) - 1, "query: %d: %s", rc, out);
	rc = cli(out, sizeof out, "-c supervisor.conf --server %s query --kind node_key --all", sf_addr);
	CHECK_(rc == 0 && strncmp(out, "{\"index\":0,", 11) == 0 && strstr(out, "\n{\"index\":1,"),
	    "query --kind: %d: %s", rc, out);
	rc = cli(out, sizeof out, "-c node.conf --server %s query --node platform-node-1", sf_addr);
	CHECK_(rc == 0 && strncmp(out, "{\"index\":2,", 11) == 0, "query --node as node: %d: %s", rc,
	    out);
	rc = cli(out, sizeof out, "-c node.conf --server %s query --company 91371502MA0EXAMP1R", sf_addr);
	CHECK_(rc == 1 && strstr(out, "permission denied"), "query other as node: %d: %s", rc, out);
	rc = cli(out, sizeof out, "-c node.conf --server %s status", sf_addr);
	CHECK_(rc == 0 && strstr(out, "\"tree_size\":3,") && strstr(out, "\"role\":\"node\"") &&
	    strstr(out, "\"identity\":\"platform-node-1\"") && strstr(out, "\"checkpoint_verified\":true"),
	    "status: %d: %s", rc, out);

	/* Usage errors exit 2; an unreachable server 1. */
	rc = cli(out, sizeof out, "-c node.conf --server %s frobnicate", sf_addr);
	CHECK_EQ(rc, 2);
	rc = cli(out, sizeof out, "-c node.conf --server %s get", sf_addr);
	CHECK_EQ(rc, 2);
	rc = cli(out, sizeof out, "-c node.conf --server %s consistency 3 1", sf_addr);
	CHECK_EQ(rc, 2);
	rc = cli(out, sizeof out, "-c supervisor.conf --server %s query --evidence 12zz", sf_addr);
	CHECK_EQ(rc, 2);
	rc = cli(out, sizeof out, "status");
	CHECK_EQ(rc, 2);
	rc = cli(out, sizeof out, " ");
	CHECK_EQ(rc, 2);
	rc = cli(out, sizeof out, "-c node.conf --server 127.0.0.1:1 status");
	CHECK_(rc == 1, "unreachable server: exit %d: %s", rc, out);
	rc = cli(out, sizeof out, "-c node.conf --server %s get 999", sf_addr);
	CHECK_(rc == 1, "get past the end: exit %d: %s", rc, out);
}

/* ---- submit, receipts, idempotence, conflicts ----------------------------- */

static void
t_receipts(void)
{
	evc_client *c;
	fx_signed s[8];
	sf_got g[8];
	memset(g, 0, sizeof g);
	pb_arena a;
	char rid[64];

	sf_begin("receipts", 20);
	c = sf_conn(&p_node);
	/* One by one, then a batch of five. */
	for (int i = 0; i < 3; i++) {
		snprintf(rid, sizeof rid, "rcpt-one-%d", i);
		sf_scan(rid, "RCPT-INS-1", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key, &s[i]);
		CHECK(sf_submit_ok(c, &p_node, &s[i], &g[i]));
		CHECK_EQ(g[i].dup, 0);
		if (i > 0) {
			CHECK_EQ(g[i].index, g[i - 1].index + 1);
			CHECK_EQ(g[i].tree_size, g[i].index + 1);
			CHECK(g[i].log_ms >= g[i - 1].log_ms);
		}
	}
	fx_signed *b[5];
	for (int i = 0; i < 5; i++) {
		snprintf(rid, sizeof rid, "rcpt-batch-%d", i);
		uint8_t sha[32];
		hash_sha256(rid, strlen(rid), sha);
		sf_evid(rid, "RCPT-INS-1", FX_USCC, sha, "LC-ZF-0001", &p_node.signing_key, &s[3 + i]);
		b[i] = &s[3 + i];
	}
	pb_arena_init(&a, 16u << 20);
	Response *r = sf_submit(c, b, 5, &a);
	for (int i = 0; i < 5; i++) {
		sf_got gb;
		if (sf_receipt_ok(&p_node, sf_receipt(r, (size_t)i, 5), b[i], &gb)) {
			/* One group: consecutive, one checkpoint covering all. */
			CHECK_EQ(gb.index, g[2].index + 1 + (uint64_t)i);
			CHECK_EQ(gb.tree_size, g[2].index + 6);
		}
	}
	/* A receipt does not verify for other bytes or another signature. */
	Receipt *rc = sf_receipt(r, 0, 5);
	char err[256];
	if (rc != NULL) {
		CHECK(client_verify_receipt(&p_node, rc, b[1]->rec, b[1]->len, b[0]->sig, err,
		    sizeof err) != 0);
		CHECK(client_verify_receipt(&p_node, rc, b[0]->rec, b[0]->len, b[1]->sig, err,
		    sizeof err) != 0);
		CHECK(client_verify_receipt(&p_sup, rc, b[0]->rec, b[0]->len, b[0]->sig, err,
		    sizeof err) == 0);
	}
	pb_arena_free(&a);
	for (int i = 0; i < 8; i++)
		fx_signed_free(&s[i]);
	client_close(c);
}

/* A receipt as a lying log would make it (signed with the real log key): the
 * record as entry 0 of a one-entry tree; change one thing; must the client
 * notice? */
enum { FORGE_NONE, FORGE_KEY_NAME, FORGE_INDEX, FORGE_TIME, FORGE_SIG, FORGE_ORIGIN, FORGE_SIZE,
	FORGE_SIGNER_KEY, NFORGE };

static int
forged_receipt_verifies(const evc_skey *logsk, const fx_signed *s, int forge)
{
	Evchain__V1__Entry e = EVCHAIN__V1__ENTRY__INIT;
	Evchain__V1__Receipt rc = EVCHAIN__V1__RECEIPT__INIT;
	uint8_t zero[32] = { 0 }, leaf[32], sig[64];
	char text[512], err[256];
	checkpoint cp;
	evc_skey other;
	evc_vkey ovk;

	memcpy(sig, s->sig, 64);
	if (forge == FORGE_SIG)
		sig[5] ^= 1;
	e.index = forge == FORGE_INDEX ? 1 : 0;
	e.log_time_ms = fx_now_ms();
	e.prev_leaf_hash.data = zero;
	e.prev_leaf_hash.len = 32;
	e.key_name = forge == FORGE_KEY_NAME ? "platform-node-2" : s->decoded->signer;
	e.record.data = s->rec;
	e.record.len = s->len;
	e.signature.data = sig;
	e.signature.len = 64;
	size_t elen;
	uint8_t *eb = pb_pack(&e.base, &elen);
	REQUIRE(eb != NULL);
	merkle_leaf_hash(eb, elen, leaf);
	memset(&cp, 0, sizeof cp);
	snprintf(cp.origin, sizeof cp.origin, "%s", forge == FORGE_ORIGIN ? "another/log" : logsk->name);
	cp.size = 1;
	memcpy(cp.root, leaf, 32);
	int tl = checkpoint_format(&cp, text, sizeof text);
	REQUIRE(tl > 0);
	const evc_skey *signer = logsk;
	if (forge == FORGE_SIGNER_KEY) {
		REQUIRE(keys_generate(logsk->name, EVC_KEY_ED25519, &other, &ovk) == 0);
		signer = &other;
	}
	char *note_text;
	size_t nl;
	REQUIRE(note_sign(text, (size_t)tl, &signer, 1, &note_text, &nl) == 0);
	rc.index = 0;
	rc.leaf_hash.data = leaf;
	rc.leaf_hash.len = 32;
	rc.log_time_ms = forge == FORGE_TIME ? e.log_time_ms + 1 : e.log_time_ms;
	rc.tree_size = forge == FORGE_SIZE ? 2 : 1;
	rc.checkpoint.data = (uint8_t *)note_text;
	rc.checkpoint.len = nl;
	rc.entry.data = eb;
	rc.entry.len = elen;
	int ok = client_verify_receipt(&p_node, &rc, s->rec, s->len, s->sig, err, sizeof err) == 0;
	free(note_text);
	free(eb);
	return ok;
}

static void
t_receipt_forgery(void)
{
	evc_skey logsk;
	fx_signed s;

	sf_begin("receipt forgery", 10);
	REQUIRE(keys_read_private(sf_path("dep/log.key"), NULL, 0, &logsk) == 0);
	sf_scan("forged", "FORGE-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key, &s);
	CHECK_(forged_receipt_verifies(&logsk, &s, FORGE_NONE), "a faithful receipt does not verify");
	static const char *const what[NFORGE] = { "", "entry key name", "entry index", "log time",
		"entry signature", "checkpoint origin", "tree size", "checkpoint signer" };
	for (int f = FORGE_NONE + 1; f < NFORGE; f++)
		CHECK_(!forged_receipt_verifies(&logsk, &s, f), "a receipt with another %s verifies",
		    what[f]);
	keys_skey_wipe(&logsk);
	fx_signed_free(&s);
}

static uint64_t
tree_size(evc_client *c)
{
	pb_arena a;
	pb_arena_init(&a, 1 << 20);
	Response *r = sf_status(c, &a);
	uint64_t n = sf_code(r) == 0 && r->result_case == EVCHAIN__V1__RESPONSE__RESULT_STATUS_INFO ?
	    r->status_info->tree_size : 0;
	pb_arena_free(&a);
	CHECK(n > 0);
	return n;
}

static void
t_idempotent(void)
{
	evc_client *c;
	fx_signed s1, s1b, s2, s3, s3b;
	sf_got g1, g1d, g;
	pb_arena a;
	char msg[512];

	sf_begin("idempotent", 20);
	c = sf_conn(&p_node);
	sf_scan("idem-1", "IDEM-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key, &s1);
	REQUIRE(sf_submit_ok(c, &p_node, &s1, &g1));
	uint64_t size = tree_size(c);
	/* The same bytes again: the same entry, marked duplicate, still verifying. */
	CHECK(sf_submit_ok(c, &p_node, &s1, &g1d));
	CHECK_EQ(g1d.dup, 1);
	CHECK_EQ(g1d.index, g1.index);
	CHECK_MEM(g1d.leaf, g1.leaf, 32);
	CHECK_EQ(g1d.log_ms, g1.log_ms);
	CHECK_EQ(tree_size(c), size);

	/* Same record id, other bytes (a later created_ms): CONFLICT, nothing logged. */
	usleep(2000);
	sf_scan("idem-1", "IDEM-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key, &s1b);
	REQUIRE(s1b.len != s1.len || memcmp(s1b.rec, s1.rec, s1.len) != 0);
	sf_item it = sf_it(&s1b);
	CHECK_EQ(sf_submit_code(c, &it, msg, sizeof msg), SC(CONFLICT));
	char want[64];
	snprintf(want, sizeof want, "at index %" PRIu64, g1.index);
	CHECK_(strstr(msg, "idem-1") && strstr(msg, want), "conflict message: %s", msg);
	CHECK_EQ(tree_size(c), size);

	/* Within one batch: the same record twice is one entry; a conflicting
	 * twin of another is refused while the rest is logged. */
	sf_scan("idem-2", "IDEM-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key, &s2);
	sf_scan("idem-3", "IDEM-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key, &s3);
	usleep(2000);
	sf_scan("idem-3", "IDEM-INS", FX_USCC, "LC-ZF-0003", "LC-ZF-0002", &p_node.signing_key, &s3b);
	fx_signed *batch[4] = { &s2, &s2, &s3, &s3b };
	pb_arena_init(&a, 16u << 20);
	Response *r = sf_submit(c, batch, 4, &a);
	sf_got g2a, g2b;
	if (sf_receipt_ok(&p_node, sf_receipt(r, 0, 4), &s2, &g2a) &&
	    sf_receipt_ok(&p_node, sf_receipt(r, 1, 4), &s2, &g2b)) {
		CHECK_EQ(g2a.index, g2b.index);
		CHECK_EQ(g2a.dup + g2b.dup, 1);
	}
	CHECK(sf_receipt_ok(&p_node, sf_receipt(r, 2, 4), &s3, &g));
	Receipt *rc = sf_receipt(r, 3, 4);
	CHECK_EQ(sf_rcode(rc), SC(CONFLICT));
	if (rc != NULL && rc->status != NULL)
		CHECK_EQ(rc->status->record_index, 3);
	pb_arena_free(&a);
	CHECK_EQ(tree_size(c), size + 2);

	/* Resubmitted on another connection, later: still the same entry. */
	client_close(c);
	c = sf_conn(&p_node);
	CHECK(sf_submit_ok(c, &p_node, &s1, &g1d));
	CHECK(g1d.dup && g1d.index == g1.index);
	fx_signed_free(&s1);
	fx_signed_free(&s1b);
	fx_signed_free(&s2);
	fx_signed_free(&s3);
	fx_signed_free(&s3b);
	client_close(c);
}

/* ---- refusals ------------------------------------------------------------ */

static void
t_refusals(void)
{
	evc_client *c1, *c2, *ca;
	fx_signed s1, s2, sa, sbad, sone, sfut, sreg, sok1, sok2;
	char msg[512];
	sf_item it;
	uint8_t sig[64];

	sf_begin("refusals", 20);
	c1 = sf_conn(&p_node);
	c2 = sf_conn(&p_node2);
	ca = sf_conn(&p_admin);
	uint64_t size = tree_size(c1);

	/* A node key never registered: UNKNOWN_KEY. */
	sf_scan("ref-unknown", "REF-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node2.signing_key, &s2);
	it = sf_it(&s2);
	CHECK_EQ(sf_submit_code(c2, &it, msg, sizeof msg), SC(UNKNOWN_KEY));
	CHECK_(strstr(msg, "platform-node-2") != NULL, "unknown key message: %s", msg);

	/* The certificate's identity must be the signer's key name. */
	sf_scan("ref-mismatch", "REF-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key, &s1);
	it = sf_it(&s2);
	CHECK_EQ(sf_submit_code(c1, &it, msg, sizeof msg), SC(PERMISSION_DENIED));
	CHECK_(strstr(msg, "platform-node-2") && strstr(msg, "platform-node-1"), "mismatch: %s", msg);
	it = sf_it(&s1);
	CHECK_EQ(sf_submit_code(c2, &it, NULL, 0), SC(PERMISSION_DENIED));
	CHECK_EQ(sf_submit_code(ca, &it, NULL, 0), SC(PERMISSION_DENIED));
	/* key_name agrees with the certificate but Record.signer names another. */
	{
		Record r = EVCHAIN__V1__RECORD__INIT;
		Evchain__V1__FrequencyCap fc = EVCHAIN__V1__FREQUENCY_CAP__INIT;
		r.record_id = "ref-signer";
		r.created_ms = fx_now_ms();
		r.body_case = EVCHAIN__V1__RECORD__BODY_FREQUENCY_CAP;
		r.frequency_cap = &fc;
		fc.agency = "聊城市市场监督管理局";
		fc.risk_grade = "A";
		fc.max_per_year = 1;
		fc.year = 2025;
		r.signer = "platform-node-2";
		size_t len;
		uint8_t *bytes = pb_pack(&r.base, &len);
		REQUIRE(bytes != NULL);
		record_sign(&p_node.signing_key, bytes, len, sig);
		sf_item x = { bytes, len, sig, 64, "platform-node-1" };
		CHECK_EQ(sf_submit_code(c1, &x, msg, sizeof msg), SC(INVALID_ARGUMENT));
		CHECK_(strstr(msg, "signer") != NULL, "signer mismatch message: %s", msg);
		free(bytes);
	}

	/* Bad signatures. */
	memcpy(sig, s1.sig, 64);
	sig[10] ^= 0x20;
	it = sf_it(&s1);
	it.sig = sig;
	CHECK_EQ(sf_submit_code(c1, &it, msg, sizeof msg), SC(BAD_SIGNATURE));
	it.siglen = 63;
	CHECK_EQ(sf_submit_code(c1, &it, NULL, 0), SC(BAD_SIGNATURE));
	it = sf_it(&s1);
	it.siglen = 0;
	CHECK_EQ(sf_submit_code(c1, &it, NULL, 0), SC(BAD_SIGNATURE));
	/* Signed by another registered key (the admin's) under the node's name. */
	record_sign(&p_admin.signing_key, s1.rec, s1.len, sig);
	it = sf_it(&s1);
	it.sig = sig;
	CHECK_EQ(sf_submit_code(c1, &it, NULL, 0), SC(BAD_SIGNATURE));

	/* Invalid records: the broken field is named. */
	sf_scan("ref-uscc", "REF-INS", "91350100M000100Y44", "LC-ZF-0001", "LC-ZF-0002",
	    &p_node.signing_key, &sbad);
	it = sf_it(&sbad);
	CHECK_EQ(sf_submit_code(c1, &it, msg, sizeof msg), SC(INVALID_ARGUMENT));
	CHECK_(strstr(msg, "scan_in.company_uscc") != NULL, "invalid USCC message: %s", msg);
	sf_scan("ref-one", "REF-INS", FX_USCC, "LC-ZF-0001", NULL, &p_node.signing_key, &sone);
	it = sf_it(&sone);
	CHECK_EQ(sf_submit_code(c1, &it, msg, sizeof msg), SC(INVALID_ARGUMENT));
	CHECK_(strstr(msg, "scan_in.officers") != NULL, "one officer message: %s", msg);
	{
		Record r = EVCHAIN__V1__RECORD__INIT;
		Evchain__V1__RiskGrade rg = EVCHAIN__V1__RISK_GRADE__INIT;
		r.record_id = "ref-future";
		r.created_ms = fx_now_ms() + 3600 * 1000;
		r.body_case = EVCHAIN__V1__RECORD__BODY_RISK_GRADE;
		r.risk_grade = &rg;
		rg.company_uscc = FX_USCC;
		rg.agency = "聊城市市场监督管理局";
		rg.risk_grade = "A";
		rg.year = 2025;
		REQUIRE(fx_sign(&r, &p_node.signing_key, &sfut) == 0);
		it = sf_it(&sfut);
		CHECK_EQ(sf_submit_code(c1, &it, msg, sizeof msg), SC(INVALID_ARGUMENT));
		CHECK_(strstr(msg, "created_ms") != NULL, "future message: %s", msg);
	}
	/* Bytes that are no Record; a record over 64 KiB. */
	static const uint8_t junk[] = { 0x0a, 0x7f, 0x01 };
	record_sign(&p_node.signing_key, junk, sizeof junk, sig);
	sf_item j = { junk, sizeof junk, sig, 64, "platform-node-1" };
	CHECK_EQ(sf_submit_code(c1, &j, msg, sizeof msg), SC(INVALID_ARGUMENT));
	uint8_t *big = calloc(1, EVC_MAX_RECORD + 1);
	REQUIRE(big != NULL);
	sf_item bj = { big, EVC_MAX_RECORD + 1, sig, 64, "platform-node-1" };
	CHECK_EQ(sf_submit_code(c1, &bj, NULL, 0), SC(TOO_LARGE));
	free(big);

	/* Signers' roles: an admin may not sign a scan-in, a node no key record;
	 * registering an active name again is a conflict. */
	sf_scan("ref-admin-scan", "REF-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_admin.signing_key,
	    &sa);
	it = sf_it(&sa);
	CHECK_EQ(sf_submit_code(ca, &it, msg, sizeof msg), SC(PERMISSION_DENIED));
	CHECK_(strstr(msg, "scan_in") != NULL, "admin scan-in message: %s", msg);
	evc_vkey vk2, vk1;
	keys_public(&p_node2.signing_key, &vk2);
	keys_public(&p_node.signing_key, &vk1);
	REQUIRE(fx_node_key("ref-node-registers", &p_node.signing_key, &vk2,
	    EVCHAIN__V1__NODE_KEY__ROLE__NODE, EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, fx_now_ms(),
	    &sreg) == 0);
	it = sf_it(&sreg);
	CHECK_EQ(sf_submit_code(c1, &it, NULL, 0), SC(PERMISSION_DENIED));
	fx_signed_free(&sreg);
	REQUIRE(fx_node_key("ref-register-again", &p_admin.signing_key, &vk1,
	    EVCHAIN__V1__NODE_KEY__ROLE__NODE, EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, fx_now_ms(),
	    &sreg) == 0);
	it = sf_it(&sreg);
	CHECK_EQ(sf_submit_code(ca, &it, msg, sizeof msg), SC(CONFLICT));
	CHECK_EQ(tree_size(c1), size);

	/* A mixed batch: each record answered on its own, with its index. */
	sf_scan("ref-mixed-ok-1", "REF-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key,
	    &sok1);
	sf_scan("ref-mixed-ok-2", "REF-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key,
	    &sok2);
	memcpy(sig, s1.sig, 64);
	sig[0] ^= 1;
	sf_item mixed[5] = { sf_it(&sok1), sf_it(&s1), sf_it(&sbad), sf_it(&s2), sf_it(&sok2) };
	mixed[1].sig = sig;
	pb_arena a;
	pb_arena_init(&a, 16u << 20);
	Response *r = sf_submit_items(c1, mixed, 5, &a);
	sf_got g1, g2;
	static const int want[5] = { 0, SC(BAD_SIGNATURE), SC(INVALID_ARGUMENT), SC(PERMISSION_DENIED), 0 };
	for (size_t i = 0; i < 5; i++) {
		Receipt *rc = sf_receipt(r, i, 5);
		CHECK_(sf_rcode(rc) == want[i], "mixed batch record %zu: %d (%s), want %d", i,
		    sf_rcode(rc), sf_rmsg(rc), want[i]);
		if (rc != NULL && rc->status != NULL && want[i] != 0)
			CHECK_EQ(rc->status->record_index, i);
	}
	if (sf_receipt_ok(&p_node, sf_receipt(r, 0, 5), &sok1, &g1) &&
	    sf_receipt_ok(&p_node, sf_receipt(r, 4, 5), &sok2, &g2))
		CHECK_EQ(g2.index, g1.index + 1);
	pb_arena_free(&a);
	CHECK_EQ(tree_size(c1), size + 2);

	fx_signed *all[] = { &s1, &s2, &sa, &sbad, &sone, &sfut, &sreg, &sok1, &sok2 };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		fx_signed_free(all[i]);
	client_close(c1);
	client_close(c2);
	client_close(ca);
}

/* ---- revocation ------------------------------------------------------------ */

static void
t_revocation(void)
{
	evc_client *ca, *c3, *cs;
	fx_signed reg, rev, rev2, r1, r2;
	sf_got greg, g1, g1d, grev;
	evc_vkey vk3;
	char msg[512];
	sf_item it;

	sf_begin("revocation", 20);
	ca = sf_conn(&p_admin);
	c3 = sf_conn(&p_node3);
	cs = sf_conn(&p_sup);
	keys_public(&p_node3.signing_key, &vk3);
	REQUIRE(fx_node_key("register-platform-node-3", &p_admin.signing_key, &vk3,
	    EVCHAIN__V1__NODE_KEY__ROLE__NODE, EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, fx_now_ms(),
	    &reg) == 0);
	CHECK(sf_submit_ok(ca, &p_admin, &reg, &greg));
	sf_scan("rev-before", "REV-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node3.signing_key, &r1);
	CHECK(sf_submit_ok(c3, &p_node3, &r1, &g1));
	CHECK(g1.index > greg.index);

	/* The admin revokes the key with a signed NodeKey REVOKE entry. */
	REQUIRE(fx_node_key("revoke-platform-node-3", &p_admin.signing_key, &vk3,
	    EVCHAIN__V1__NODE_KEY__ROLE__NODE, EVCHAIN__V1__NODE_KEY__ACTION__REVOKE, fx_now_ms(),
	    &rev) == 0);
	CHECK(sf_submit_ok(ca, &p_admin, &rev, &grev));
	sf_scan("rev-after", "REV-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node3.signing_key, &r2);
	it = sf_it(&r2);
	CHECK_EQ(sf_submit_code(c3, &it, msg, sizeof msg), SC(UNKNOWN_KEY));
	CHECK_(strstr(msg, "revoked") != NULL, "revoked key message: %s", msg);
	/* On a new connection too (nothing cached per connection). */
	client_close(c3);
	c3 = sf_conn(&p_node3);
	CHECK_EQ(sf_submit_code(c3, &it, NULL, 0), SC(UNKNOWN_KEY));
	/* What it logged before stays: resubmission answers with the entry. */
	CHECK(sf_submit_ok(c3, &p_node3, &r1, &g1d));
	CHECK(g1d.dup && g1d.index == g1.index);
	/* Revoking again is a conflict. */
	REQUIRE(fx_node_key("revoke-platform-node-3-again", &p_admin.signing_key, &vk3,
	    EVCHAIN__V1__NODE_KEY__ROLE__NODE, EVCHAIN__V1__NODE_KEY__ACTION__REVOKE, fx_now_ms(),
	    &rev2) == 0);
	it = sf_it(&rev2);
	CHECK_EQ(sf_submit_code(ca, &it, NULL, 0), SC(CONFLICT));

	/* The earlier entry still verifies, by leaf hash, under the latest checkpoint. */
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__InclusionProofRequest ir = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__INIT;
	ir.leaf_case = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__LEAF_LEAF_HASH;
	ir.leaf_hash.data = g1.leaf;
	ir.leaf_hash.len = 32;
	q.op_case = EVCHAIN__V1__REQUEST__OP_INCLUSION_PROOF;
	q.inclusion_proof = &ir;
	pb_arena a;
	pb_arena_init(&a, 4u << 20);
	Response *r = sf_rpc(cs, &q, &a);
	CHECK_EQ(sf_code(r), 0);
	if (sf_code(r) == 0) {
		checkpoint cp;
		char err[256];
		Evchain__V1__InclusionProofResponse *ip = r->inclusion_proof;
		CHECK_EQ(ip->index, g1.index);
		CHECK(ip->tree_size > grev.index);
		CHECK(client_verify_checkpoint(&p_sup, ip->checkpoint.data, ip->checkpoint.len, &cp, NULL,
		    err, sizeof err) == 0);
		uint8_t h[EVC_MAX_PROOF][32];
		for (size_t i = 0; i < ip->n_proof && i < EVC_MAX_PROOF; i++)
			memcpy(h[i], ip->proof[i].data, 32);
		CHECK_EQ(merkle_verify_inclusion(g1.index, cp.size, g1.leaf, (const uint8_t(*)[32])h,
		    ip->n_proof, cp.root), 0);
	}
	pb_arena_free(&a);
	fx_signed *all[] = { &reg, &rev, &rev2, &r1, &r2 };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		fx_signed_free(all[i]);
	client_close(ca);
	client_close(c3);
	client_close(cs);
}

/* ---- roles ------------------------------------------------------------------ */

enum { OP_SUBMIT, OP_CHECKPOINT, OP_ENTRIES, OP_INCLUSION, OP_CONSISTENCY, OP_QUERY, OP_EXPORT,
	OP_COSIGN, OP_AUDIT, OP_STATUS, NOPS };
static const char *const op_names[NOPS] = { "submit", "checkpoint", "entries", "inclusion",
	"consistency", "query", "export", "cosign", "audit", "status" };

/* The smallest request of each operation; `who` is the caller's CN. */
static void
op_request(int op, Request *q, const char *who)
{
	static Evchain__V1__SubmitRequest sub;
	static Evchain__V1__CheckpointRequest cp;
	static Evchain__V1__EntriesRequest en;
	static Evchain__V1__InclusionProofRequest ip;
	static Evchain__V1__ConsistencyProofRequest cs;
	static Evchain__V1__QueryRequest qr;
	static Evchain__V1__ExportBundleRequest ex;
	static Evchain__V1__AddCosignatureRequest co;
	static Evchain__V1__AuditRequest au;
	static Evchain__V1__StatusRequest st;
	static uint8_t root[32], sig[3];

	evchain__v1__request__init(q);
	switch (op) {
	case OP_SUBMIT: /* no record: refused as invalid, if the role may submit at all */
		evchain__v1__submit_request__init(&sub);
		q->op_case = EVCHAIN__V1__REQUEST__OP_SUBMIT;
		q->submit = &sub;
		break;
	case OP_CHECKPOINT:
		evchain__v1__checkpoint_request__init(&cp);
		q->op_case = EVCHAIN__V1__REQUEST__OP_CHECKPOINT;
		q->checkpoint = &cp;
		break;
	case OP_ENTRIES:
		evchain__v1__entries_request__init(&en);
		en.count = 2;
		q->op_case = EVCHAIN__V1__REQUEST__OP_ENTRIES;
		q->entries = &en;
		break;
	case OP_INCLUSION: /* entry 0: the admin key, signed by the log key */
		evchain__v1__inclusion_proof_request__init(&ip);
		ip.leaf_case = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__LEAF_INDEX;
		ip.index = 0;
		q->op_case = EVCHAIN__V1__REQUEST__OP_INCLUSION_PROOF;
		q->inclusion_proof = &ip;
		break;
	case OP_CONSISTENCY:
		evchain__v1__consistency_proof_request__init(&cs);
		cs.old_size = 1;
		q->op_case = EVCHAIN__V1__REQUEST__OP_CONSISTENCY_PROOF;
		q->consistency_proof = &cs;
		break;
	case OP_QUERY:
		evchain__v1__query_request__init(&qr);
		qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_COMPANY_USCC;
		qr.company_uscc = FX_USCC;
		qr.limit = 2;
		q->op_case = EVCHAIN__V1__REQUEST__OP_QUERY;
		q->query = &qr;
		break;
	case OP_EXPORT:
		evchain__v1__export_bundle_request__init(&ex);
		ex.subject_case = EVCHAIN__V1__EXPORT_BUNDLE_REQUEST__SUBJECT_INSPECTION_ID;
		ex.inspection_id = "LC-SCJG-2025-0001";
		q->op_case = EVCHAIN__V1__REQUEST__OP_EXPORT_BUNDLE;
		q->export_bundle = &ex;
		break;
	case OP_COSIGN: /* as itself, with a malformed cosignature */
		evchain__v1__add_cosignature_request__init(&co);
		co.tree_size = 1;
		co.root_hash.data = root;
		co.root_hash.len = 32;
		co.witness_name = (char *)who;
		co.signature.data = sig;
		co.signature.len = sizeof sig;
		q->op_case = EVCHAIN__V1__REQUEST__OP_ADD_COSIGNATURE;
		q->add_cosignature = &co;
		break;
	case OP_AUDIT:
		evchain__v1__audit_request__init(&au);
		q->op_case = EVCHAIN__V1__REQUEST__OP_AUDIT;
		q->audit = &au;
		break;
	default:
		evchain__v1__status_request__init(&st);
		q->op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
		q->status = &st;
		break;
	}
}

static void
t_roles(void)
{
	/* SV: allowed, and served (OK) or not served yet (UNAVAILABLE): export
	 * and audit are being brought up; the permission is what is tested. */
	enum { D = SC(PERMISSION_DENIED), IA = SC(INVALID_ARGUMENT), SV = -2 };
	/* DESIGN §2. Where a role may, the smallest request gets its exact answer:
	 * an empty submit is invalid, a malformed cosignature is invalid. A node reads only
	 * its own entries: entry 0 and another company's query are refused.
	 * NOTE court/query: allowed() lets a court query; DESIGN §2 lists
	 * "read, export and verify bundles" for courts (see the report). */
	static const struct {
		const evc_profile *p;
		const char *role, *cn;
		int want[NOPS];
	} rows[] = {
		/*                                       sub ckp ent inc con qry exp cos aud sta */
		{ &p_node, "node", "platform-node-1",   { IA, 0, D, D, 0, D, D, D, D, 0 } },
		{ &p_sup, "supervisor", "supervisor",   { D, 0, 0, 0, 0, 0, SV, D, SV, 0 } },
		{ &p_disc, "discipline", "discipline",  { D, 0, 0, 0, 0, 0, SV, D, SV, 0 } },
		{ &p_court, "court", "court",           { D, 0, 0, 0, 0, 0, SV, D, D, 0 } },
		{ &p_wit, "witness", "witness-supervisor", { D, 0, D, D, 0, D, D, IA, D, 0 } },
		{ &p_admin, "admin", "admin",           { IA, 0, D, D, 0, D, D, D, D, 0 } },
	};

	sf_begin("roles", 20);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		evc_client *c = sf_conn(rows[i].p);
		for (int op = 0; op < NOPS; op++) {
			Request q;
			pb_arena a;
			pb_arena_init(&a, 8u << 20);
			op_request(op, &q, rows[i].cn);
			Response *r = sf_rpc(c, &q, &a);
			int want = rows[i].want[op], got = sf_code(r);
			int ok = want == SV ? got == 0 || got == SC(UNAVAILABLE) : got == want;
			CHECK_(ok, "%s %s: status %d (%s), want %d", rows[i].role, op_names[op], got, sf_msg(r),
			    want);
			if (op == OP_EXPORT && got == 0)
				CHECK(r->result_case == EVCHAIN__V1__RESPONSE__RESULT_EXPORT_BUNDLE &&
				    r->export_bundle->bundle != NULL && r->export_bundle->bundle->n_entries >= 1);
			if (r != NULL)
				CHECK_EQ(r->id, q.id);
			if (op == OP_STATUS && sf_code(r) == 0) {
				CHECK_STR(r->status_info->role, rows[i].role);
				CHECK_STR(r->status_info->identity, rows[i].cn);
			}
			if (op == OP_ENTRIES && sf_code(r) == 0)
				CHECK_EQ(r->entries->n_entries, 2);
			pb_arena_free(&a);
		}
		client_close(c);
	}
}

/* ---- queries --------------------------------------------------------------- */

/* Every page of a query (limit per page); each page's proofs verified
 * against its checkpoint. Indices into out; the count, or -1. */
static long
query_all(evc_client *c, const evc_profile *p, Evchain__V1__QueryRequest *qr, uint32_t limit,
    uint64_t *out, size_t cap, size_t *pages)
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	size_t n = 0;
	int ok = 1;

	q.op_case = EVCHAIN__V1__REQUEST__OP_QUERY;
	q.query = qr;
	qr->limit = limit;
	qr->with_proofs = 1;
	qr->page_token = 0;
	*pages = 0;
	for (int guard = 0; guard < 200; guard++) {
		pb_arena a;
		checkpoint cp;
		char err[256];
		pb_arena_init(&a, 16u << 20);
		Response *r = sf_rpc(c, &q, &a);
		ok = sf_code(r) == 0 && r->result_case == EVCHAIN__V1__RESPONSE__RESULT_QUERY;
		CHECK_(ok, "query: %d (%s)", sf_code(r), sf_msg(r));
		if (!ok) {
			pb_arena_free(&a);
			return -1;
		}
		Evchain__V1__QueryResponse *res = r->query;
		(*pages)++;
		CHECK(res->n_indices == res->n_entries && res->n_entries <= limit);
		if (res->n_entries > 0) {
			CHECK(res->n_proofs == res->n_entries);
			ok = client_verify_checkpoint(p, res->checkpoint.data, res->checkpoint.len, &cp, NULL,
			    err, sizeof err) == 0;
			CHECK_(ok, "query checkpoint: %s", err);
		}
		for (size_t i = 0; ok && i < res->n_entries && i < res->n_proofs; i++) {
			CHECK_EQ(res->proofs[i]->index, res->indices[i]);
			int v = client_verify_inclusion(&cp, res->indices[i], res->entries[i].data,
			    res->entries[i].len, res->proofs[i]->hashes, res->proofs[i]->n_hashes, err,
			    sizeof err) == 0;
			CHECK_(v, "query result %" PRIu64 ": %s", res->indices[i], err);
			if (n > 0)
				CHECK(res->indices[i] > out[n - 1]);
			if (n < cap)
				out[n++] = res->indices[i];
		}
		uint64_t next = res->next_page_token;
		pb_arena_free(&a);
		if (next == 0)
			return (long)n;
		CHECK(n == 0 || next > out[n - 1]);
		qr->page_token = next;
	}
	CHECK_(0, "query did not end after 200 pages");
	return -1;
}

static void
expect_indices(const char *what, long n, const uint64_t *got, const uint64_t *want, size_t nw)
{
	int same = n == (long)nw;
	for (size_t i = 0; same && i < nw; i++)
		same = got[i] == want[i];
	if (!same) {
		fprintf(stderr, "query %s: got", what);
		for (long i = 0; i < n; i++)
			fprintf(stderr, " %" PRIu64, got[i]);
		fprintf(stderr, "; want");
		for (size_t i = 0; i < nw; i++)
			fprintf(stderr, " %" PRIu64, want[i]);
		fputc('\n', stderr);
	}
	CHECK_(same, "query %s returns exactly the expected entries", what);
}

static sf_got qx[6], qy[4]; /* the query fixture's receipts */

static void
t_queries(void)
{
	evc_client *cn, *cs;
	fx_signed x[6], y[4];
	char ua[19], ub[19], uc[19];
	uint8_t s1[32], s2[32], s3[32], s4[32];
	pb_arena a;

	sf_begin("queries", 20);
	sf_uscc(ua, "91371500QRYTEXT0A");
	sf_uscc(ub, "91371500QRYTEXT0B");
	sf_uscc(uc, "91371500QRYTEXT0C");
	hash_sha256("file one", 8, s1);
	hash_sha256("file two", 8, s2);
	hash_sha256("file three", 10, s3);
	hash_sha256("file four", 9, s4);
	const evc_skey *k = &p_node.signing_key;
	sf_scan("q-x0", "Q-I-0", ua, "QC-1", "QC-2", k, &x[0]);
	sf_scan("q-x1", "Q-I-1", ub, "QC-1", "QC-3", k, &x[1]);
	sf_scan("q-x2", "Q-I-2", ua, "QC-2", "QC-3", k, &x[2]);
	sf_evid("q-x3", "Q-I-0", ua, s1, "QC-1", k, &x[3]);
	sf_evid("q-x4", "Q-I-0", ua, s2, "QC-2", k, &x[4]);
	sf_evid("q-x5", "Q-I-1", ub, s1, "QC-3", k, &x[5]);
	sf_scan("q-y0", "Q-I-3", ua, "QC-1", "QC-2", k, &y[0]);
	sf_evid("q-y1", "Q-I-3", ua, s2, "QC-1", k, &y[1]);
	sf_scan("q-y2", "Q-I-4", ub, "QC-2", "QC-3", k, &y[2]);
	sf_evid("q-y3", "Q-I-4", ub, s3, "QC-3", k, &y[3]);

	cn = sf_conn(&p_node);
	cs = sf_conn(&p_sup);
	fx_signed *px[6] = { &x[0], &x[1], &x[2], &x[3], &x[4], &x[5] };
	fx_signed *py[4] = { &y[0], &y[1], &y[2], &y[3] };
	pb_arena_init(&a, 16u << 20);
	Response *r = sf_submit(cn, px, 6, &a);
	for (size_t i = 0; i < 6; i++)
		REQUIRE(sf_receipt_ok(&p_node, sf_receipt(r, i, 6), &x[i], &qx[i]));
	pb_arena_free(&a);
	usleep(30000); /* the second group gets a later log time */
	pb_arena_init(&a, 16u << 20);
	r = sf_submit(cn, py, 4, &a);
	for (size_t i = 0; i < 4; i++)
		REQUIRE(sf_receipt_ok(&p_node, sf_receipt(r, i, 4), &y[i], &qy[i]));
	pb_arena_free(&a);
	int64_t tx = qx[0].log_ms, ty = qy[0].log_ms;
	CHECK(ty > tx);
	CHECK_EQ(qx[5].log_ms, tx);

	uint64_t got[64];
	size_t pages;
	long n;
#define X(i) qx[i].index
#define Y(i) qy[i].index
#define QUERY(label, limit, ...)                                                   \
	do {                                                                       \
		const uint64_t want_[] = { __VA_ARGS__ };                          \
		n = query_all(cs, &p_sup, &qr, (limit), got, 64, &pages);         \
		expect_indices((label), n, got, want_, sizeof want_ / sizeof want_[0]); \
	} while (0)

	Evchain__V1__QueryRequest qr = EVCHAIN__V1__QUERY_REQUEST__INIT;
	/* Twice: right after the submits, which the index does not cover yet
	 * (the server scans them), then once the indexer has caught up
	 * (index_interval_ms, 1 s): the same answers. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			usleep(1300 * 1000);
		qr = (Evchain__V1__QueryRequest)EVCHAIN__V1__QUERY_REQUEST__INIT;
		qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_COMPANY_USCC;
		qr.company_uscc = ua;
		QUERY("company A, pages of 4", 4, X(0), X(2), X(3), X(4), Y(0), Y(1));
		CHECK_EQ(pages, 2);
		QUERY("company A, pages of 1", 1, X(0), X(2), X(3), X(4), Y(0), Y(1));
		CHECK(pages >= 6);
		QUERY("company A, one page", 100, X(0), X(2), X(3), X(4), Y(0), Y(1));
		CHECK_EQ(pages, 1);
		qr.to_ms = ty;
		QUERY("company A before the second group", 3, X(0), X(2), X(3), X(4));
		qr.to_ms = 0;
		qr.from_ms = ty;
		QUERY("company A from the second group", 3, Y(0), Y(1));
		qr.from_ms = 0;
		qr.company_uscc = ub;
		QUERY("company B", 2, X(1), X(5), Y(2), Y(3));
		CHECK_EQ(pages, 2);
		qr.company_uscc = uc;
		n = query_all(cs, &p_sup, &qr, 10, got, 64, &pages);
		CHECK_EQ(n, 0);
		CHECK_EQ(pages, 1);

		qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_CERTIFICATE_NO;
		qr.certificate_no = "QC-1";
		QUERY("certificate QC-1", 2, X(0), X(1), X(3), Y(0), Y(1));
		qr.certificate_no = "QC-3";
		QUERY("certificate QC-3", 2, X(1), X(2), X(5), Y(2), Y(3));

		qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_INSPECTION_ID;
		qr.inspection_id = "Q-I-0";
		QUERY("inspection Q-I-0", 2, X(0), X(3), X(4));
		qr.inspection_id = "Q-I-4";
		QUERY("inspection Q-I-4", 5, Y(2), Y(3));

		qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_NODE;
		qr.node = "platform-node-1";
		qr.from_ms = tx;
		QUERY("node since the first group", 3, X(0), X(1), X(2), X(3), X(4), X(5), Y(0), Y(1), Y(2),
		    Y(3));
		CHECK_EQ(pages, 4);
		qr.from_ms = 0;
		qr.node = "platform-node-2";
		n = query_all(cs, &p_sup, &qr, 10, got, 64, &pages);
		CHECK_EQ(n, 0);

		qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_KIND;
		qr.kind = EVCHAIN__V1__RECORD_KIND__RECORD_KIND_EVIDENCE;
		qr.from_ms = tx;
		QUERY("kind evidence since the first group", 2, X(3), X(4), X(5), Y(1), Y(3));
		qr.from_ms = 0;
		qr.kind = EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY;
		n = query_all(cs, &p_sup, &qr, 1000, got, 64, &pages);
		CHECK(n >= 2 && got[0] == 0 && got[1] == 1);

		qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY__NOT_SET;
		qr.from_ms = tx;
		qr.to_ms = ty;
		QUERY("time range of the first group", 4, X(0), X(1), X(2), X(3), X(4), X(5));
		qr.from_ms = ty;
		qr.to_ms = 0;
		QUERY("time range from the second group", 3, Y(0), Y(1), Y(2), Y(3));
		qr.from_ms = ty + 1;
		n = query_all(cs, &p_sup, &qr, 10, got, 64, &pages);
		CHECK_EQ(n, 0);

		qr.from_ms = 0;
		qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_EVIDENCE_SHA256;
		qr.evidence_sha256.data = s1;
		qr.evidence_sha256.len = 32;
		QUERY("evidence file one", 1, X(3), X(5));
		qr.evidence_sha256.data = s2;
		QUERY("evidence file two", 1, X(4), Y(1));
		qr.evidence_sha256.data = s3;
		QUERY("evidence file three", 1, Y(3));
		qr.evidence_sha256.data = s4;
		n = query_all(cs, &p_sup, &qr, 10, got, 64, &pages);
		CHECK_EQ(n, 0);
	}

	/* Malformed keys. */
	Request q = EVCHAIN__V1__REQUEST__INIT;
	q.op_case = EVCHAIN__V1__REQUEST__OP_QUERY;
	q.query = &qr;
	qr.evidence_sha256.len = 31;
	pb_arena_init(&a, 1 << 20);
	CHECK_EQ(sf_code(sf_rpc(cs, &q, &a)), SC(INVALID_ARGUMENT));
	qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_INSPECTION_ID;
	qr.inspection_id = "";
	CHECK_EQ(sf_code(sf_rpc(cs, &q, &a)), SC(INVALID_ARGUMENT));
	/* A node queries its own entries only. */
	qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_NODE;
	qr.node = "platform-node-1";
	qr.from_ms = ty;
	qr.limit = 10;
	Response *rn = sf_rpc(cn, &q, &a);
	CHECK(sf_code(rn) == 0 && rn->query->n_indices == 4 && rn->query->indices[0] == Y(0));
	qr.node = "platform-node-3";
	CHECK_EQ(sf_code(sf_rpc(cn, &q, &a)), SC(PERMISSION_DENIED));
	qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_INSPECTION_ID;
	qr.inspection_id = "Q-I-0";
	CHECK_EQ(sf_code(sf_rpc(cn, &q, &a)), SC(PERMISSION_DENIED));
	pb_arena_free(&a);
#undef QUERY
#undef X
#undef Y
	for (int i = 0; i < 6; i++)
		fx_signed_free(&x[i]);
	for (int i = 0; i < 4; i++)
		fx_signed_free(&y[i]);
	client_close(cn);
	client_close(cs);
}

/* ---- proofs ----------------------------------------------------------------- */

static Response *
inclusion(evc_client *c, int by_hash, uint64_t index, const uint8_t *leaf, size_t leaflen,
    uint64_t size, pb_arena *a)
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__InclusionProofRequest ir = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__INIT;
	if (by_hash) {
		ir.leaf_case = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__LEAF_LEAF_HASH;
		ir.leaf_hash.data = (uint8_t *)leaf;
		ir.leaf_hash.len = leaflen;
	} else {
		ir.leaf_case = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__LEAF_INDEX;
		ir.index = index;
	}
	ir.tree_size = size;
	q.op_case = EVCHAIN__V1__REQUEST__OP_INCLUSION_PROOF;
	q.inclusion_proof = &ir;
	return sf_rpc(c, &q, a);
}

/* The inclusion response proves leaf at index under its own signed checkpoint. */
static int
inclusion_ok(const Response *r, uint64_t index, const uint8_t leaf[32], uint64_t size)
{
	checkpoint cp;
	char err[256] = "";
	uint8_t h[EVC_MAX_PROOF][32];

	if (sf_code(r) != 0 || r->result_case != EVCHAIN__V1__RESPONSE__RESULT_INCLUSION_PROOF) {
		CHECK_(0, "inclusion proof: %d (%s)", sf_code(r), sf_msg(r));
		return 0;
	}
	Evchain__V1__InclusionProofResponse *ip = r->inclusion_proof;
	int ok = ip->index == index && ip->leaf_hash.len == 32 && memcmp(ip->leaf_hash.data, leaf, 32) == 0 &&
	    (size == 0 || ip->tree_size == size) && ip->n_proof <= EVC_MAX_PROOF;
	CHECK_(ok, "inclusion response fields (index %" PRIu64 " vs %" PRIu64 ")", ip->index, index);
	if (!ok)
		return 0;
	ok = client_verify_checkpoint(&p_sup, ip->checkpoint.data, ip->checkpoint.len, &cp, NULL, err,
	    sizeof err) == 0 && cp.size == ip->tree_size;
	CHECK_(ok, "inclusion checkpoint: %s", err);
	for (size_t i = 0; ok && i < ip->n_proof; i++) {
		REQUIRE(ip->proof[i].len == 32);
		memcpy(h[i], ip->proof[i].data, 32);
	}
	ok = ok && merkle_verify_inclusion(index, cp.size, leaf, (const uint8_t(*)[32])h, ip->n_proof,
	    cp.root) == 0;
	CHECK_(ok, "inclusion proof of %" PRIu64 " does not verify", index);
	return ok;
}

static Response *
consistency(evc_client *c, uint64_t m, uint64_t n, pb_arena *a)
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__ConsistencyProofRequest cr = EVCHAIN__V1__CONSISTENCY_PROOF_REQUEST__INIT;
	cr.old_size = m;
	cr.new_size = n;
	q.op_case = EVCHAIN__V1__REQUEST__OP_CONSISTENCY_PROOF;
	q.consistency_proof = &cr;
	return sf_rpc(c, &q, a);
}

/* Root of the signed checkpoint of size m (from its consistency response). */
static int
root_at(evc_client *c, uint64_t m, uint8_t root[32])
{
	pb_arena a;
	checkpoint cp;
	char err[256] = "";
	pb_arena_init(&a, 1 << 20);
	Response *r = consistency(c, m, m, &a);
	int ok = sf_code(r) == 0 && client_verify_checkpoint(&p_sup, r->consistency_proof->checkpoint.data,
	    r->consistency_proof->checkpoint.len, &cp, NULL, err, sizeof err) == 0 && cp.size == m;
	CHECK_(ok, "checkpoint of size %" PRIu64 ": %d %s", m, sf_code(r), err);
	if (ok)
		memcpy(root, cp.root, 32);
	pb_arena_free(&a);
	return ok;
}

static int
consistency_ok(evc_client *c, uint64_t m, uint64_t n, const uint8_t oldroot[32],
    const uint8_t newroot[32])
{
	pb_arena a;
	uint8_t h[2 * EVC_MAX_PROOF][32];
	pb_arena_init(&a, 1 << 20);
	Response *r = consistency(c, m, n, &a);
	int ok = sf_code(r) == 0 && r->consistency_proof->old_size == m &&
	    r->consistency_proof->new_size == n && r->consistency_proof->n_proof <= 2 * EVC_MAX_PROOF;
	CHECK_(ok, "consistency %" PRIu64 " → %" PRIu64 ": %d (%s)", m, n, sf_code(r), sf_msg(r));
	for (size_t i = 0; ok && i < r->consistency_proof->n_proof; i++) {
		REQUIRE(r->consistency_proof->proof[i].len == 32);
		memcpy(h[i], r->consistency_proof->proof[i].data, 32);
	}
	size_t np = ok ? r->consistency_proof->n_proof : 0;
	if (ok) {
		ok = merkle_verify_consistency(m, n, oldroot, newroot, (const uint8_t(*)[32])h, np) == 0;
		CHECK_(ok, "consistency proof %" PRIu64 " → %" PRIu64 " does not verify", m, n);
		/* ... and would not for another old root. */
		uint8_t bad[32];
		memcpy(bad, oldroot, 32);
		bad[31] ^= 1;
		if (m > 0 && m < n)
			CHECK(merkle_verify_consistency(m, n, bad, newroot, (const uint8_t(*)[32])h, np) != 0);
	}
	pb_arena_free(&a);
	return ok;
}

static void
t_proofs(void)
{
	evc_client *cs, *cn;
	checkpoint cp;
	pb_arena a;
	uint8_t leaf0[32], rootm[32], root1[32], zero[32] = { 0 };

	sf_begin("proofs", 20);
	cs = sf_conn(&p_sup);
	cn = sf_conn(&p_node);
	sf_latest(cs, &p_sup, &cp);
	uint64_t n = cp.size;
	CHECK(n > qy[3].index);

	pb_arena_init(&a, 4u << 20);
	/* By index (entry 0's leaf from the entries range). */
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__EntriesRequest er = EVCHAIN__V1__ENTRIES_REQUEST__INIT;
	er.start = 0;
	er.count = 1;
	q.op_case = EVCHAIN__V1__REQUEST__OP_ENTRIES;
	q.entries = &er;
	Response *r = sf_rpc(cs, &q, &a);
	REQUIRE(sf_code(r) == 0 && r->entries->n_entries == 1);
	merkle_leaf_hash(r->entries->entries[0].data, r->entries->entries[0].len, leaf0);
	CHECK(inclusion_ok(inclusion(cs, 0, 0, NULL, 0, 0, &a), 0, leaf0, n));
	CHECK(inclusion_ok(inclusion(cs, 0, qx[3].index, NULL, 0, 0, &a), qx[3].index, qx[3].leaf, n));
	CHECK(inclusion_ok(inclusion(cs, 0, qy[3].index, NULL, 0, 0, &a), qy[3].index, qy[3].leaf, n));
	/* By leaf hash. */
	CHECK(inclusion_ok(inclusion(cs, 1, 0, qx[3].leaf, 32, 0, &a), qx[3].index, qx[3].leaf, n));
	CHECK(inclusion_ok(inclusion(cs, 1, 0, leaf0, 32, 0, &a), 0, leaf0, n));
	/* To an older signed checkpoint: the one the first query group's receipts carry. */
	uint64_t m = qx[0].tree_size;
	CHECK(inclusion_ok(inclusion(cs, 0, qx[3].index, NULL, 0, m, &a), qx[3].index, qx[3].leaf, m));
	CHECK(inclusion_ok(inclusion(cs, 1, 0, qx[3].leaf, 32, m, &a), qx[3].index, qx[3].leaf, m));
	/* A node proves its own entries, not others'. */
	CHECK(inclusion_ok(inclusion(cn, 0, qx[1].index, NULL, 0, 0, &a), qx[1].index, qx[1].leaf, 0));
	CHECK(inclusion_ok(inclusion(cn, 1, 0, qx[1].leaf, 32, 0, &a), qx[1].index, qx[1].leaf, 0));
	CHECK_EQ(sf_code(inclusion(cn, 0, 0, NULL, 0, 0, &a)), SC(PERMISSION_DENIED));
	CHECK_EQ(sf_code(inclusion(cn, 1, 0, leaf0, 32, 0, &a)), SC(PERMISSION_DENIED));
	/* What does not exist. */
	CHECK_EQ(sf_code(inclusion(cs, 1, 0, zero, 32, 0, &a)), SC(NOT_FOUND));
	CHECK_EQ(sf_code(inclusion(cs, 1, 0, leaf0, 31, 0, &a)), SC(INVALID_ARGUMENT));
	CHECK_EQ(sf_code(inclusion(cs, 0, n + 5, NULL, 0, 0, &a)), SC(NOT_FOUND));
	CHECK_EQ(sf_code(inclusion(cs, 0, qy[0].index, NULL, 0, m, &a)), SC(NOT_FOUND));
	CHECK_EQ(sf_code(inclusion(cs, 0, 0, NULL, 0, n + 1, &a)), SC(NOT_FOUND));
	pb_arena_free(&a);

	/* Consistency between signed checkpoints. */
	if (root_at(cs, m, rootm) && root_at(cs, 1, root1)) {
		CHECK(consistency_ok(cs, m, n, rootm, cp.root));
		CHECK(consistency_ok(cs, 1, n, root1, cp.root));
		CHECK(consistency_ok(cs, 1, m, root1, rootm));
		CHECK(consistency_ok(cs, n, n, cp.root, cp.root));
		CHECK(consistency_ok(cn, m, n, rootm, cp.root)); /* nodes and witnesses may */
	}
	pb_arena_init(&a, 1 << 20);
	CHECK_EQ(sf_code(consistency(cs, n, n + 1, &a)), SC(NOT_FOUND));
	CHECK_EQ(sf_code(consistency(cs, m + 1, m, &a)), SC(NOT_FOUND));
	/* Entries past the end. */
	er.start = n;
	CHECK_EQ(sf_code(sf_rpc(cs, &q, &a)), SC(NOT_FOUND));
	pb_arena_free(&a);
	client_close(cs);
	client_close(cn);
}

/* ---- cosignatures -------------------------------------------------------- */

static void
t_cosign(void)
{
	evc_client *cw, *cs;
	pb_arena a;
	note nt;
	checkpoint cp;
	uint8_t sig[NOTE_COSIG_LEN];
	char err[256];

	sf_begin("cosign", 20);
	cw = sf_conn(&p_wit);
	cs = sf_conn(&p_sup);
	pb_arena_init(&a, 4u << 20);
	Response *r = sf_checkpoint(cw, &a);
	REQUIRE(sf_code(r) == 0);
	const char *text = (const char *)r->checkpoint->checkpoint.data;
	size_t len = r->checkpoint->checkpoint.len;
	REQUIRE(note_parse(text, len, &nt) == 0 && checkpoint_parse(nt.text, nt.text_len, &cp) == 0);
	REQUIRE(cosig_sign(nt.text, nt.text_len, &p_wit.signing_key, (uint64_t)time(NULL), sig) == 0);

	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__AddCosignatureRequest ar = EVCHAIN__V1__ADD_COSIGNATURE_REQUEST__INIT;
	ar.tree_size = cp.size;
	ar.root_hash.data = cp.root;
	ar.root_hash.len = 32;
	ar.witness_name = "witness-supervisor";
	ar.signature.data = sig;
	ar.signature.len = sizeof sig;
	q.op_case = EVCHAIN__V1__REQUEST__OP_ADD_COSIGNATURE;
	q.add_cosignature = &ar;
	/* Wrong root, broken signature, another witness's name: refused. */
	cp.root[0] ^= 1;
	CHECK_EQ(sf_code(sf_rpc(cw, &q, &a)), SC(CONFLICT));
	cp.root[0] ^= 1;
	sig[NOTE_COSIG_LEN - 1] ^= 1;
	CHECK_EQ(sf_code(sf_rpc(cw, &q, &a)), SC(BAD_SIGNATURE));
	sig[NOTE_COSIG_LEN - 1] ^= 1;
	ar.witness_name = "witness-discipline";
	CHECK_EQ(sf_code(sf_rpc(cw, &q, &a)), SC(PERMISSION_DENIED));
	ar.witness_name = "witness-supervisor";
	r = sf_rpc(cw, &q, &a);
	CHECK(sf_code(r) == 0 && r->add_cosignature->cosignatures == 1);

	/* The checkpoint of that size now carries it (a consistency response
	 * names the checkpoint of its new size). */
	Response *rc = consistency(cs, cp.size, cp.size, &a);
	size_t cos = 0;
	checkpoint cp2;
	CHECK(sf_code(rc) == 0 && client_verify_checkpoint(&p_sup, rc->consistency_proof->checkpoint.data,
	    rc->consistency_proof->checkpoint.len, &cp2, &cos, err, sizeof err) == 0);
	CHECK_EQ(cos, 1);
	/* And the latest checkpoint, with min_cosignatures 1, is that one. */
	Request q2 = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__CheckpointRequest cr = EVCHAIN__V1__CHECKPOINT_REQUEST__INIT;
	cr.min_cosignatures = 1;
	cr.wait_ms = 100;
	q2.op_case = EVCHAIN__V1__REQUEST__OP_CHECKPOINT;
	q2.checkpoint = &cr;
	r = sf_rpc(cs, &q2, &a);
	cos = 0;
	CHECK(sf_code(r) == 0 && client_verify_checkpoint(&p_sup, r->checkpoint->checkpoint.data,
	    r->checkpoint->checkpoint.len, &cp2, &cos, err, sizeof err) == 0 && cos == 1 &&
	    cp2.size == cp.size);
	/* The client remembers the last checkpoint it verified: the same bytes
	 * again answer the same; any other byte is verified afresh. */
	if (sf_code(r) == 0) {
		size_t nl = r->checkpoint->checkpoint.len;
		uint8_t *copy = malloc(nl);
		REQUIRE(copy != NULL);
		memcpy(copy, r->checkpoint->checkpoint.data, nl);
		checkpoint cp3;
		size_t cos3 = 0;
		CHECK(client_verify_checkpoint(&p_sup, copy, nl, &cp3, &cos3, err, sizeof err) == 0);
		CHECK(cos3 == 1 && cp3.size == cp2.size && memcmp(cp3.root, cp2.root, 32) == 0);
		for (size_t at = 0; at < nl; at += nl / 7 + 1) {
			copy[at] ^= 0x01;
			/* Refused, or (a witness's name changed) its cosignature
			 * no longer counted. */
			cos3 = 9;
			int vr = client_verify_checkpoint(&p_sup, copy, nl, &cp3, &cos3, err, sizeof err);
			CHECK_(vr != 0 || cos3 == 0, "a checkpoint with byte %zu changed verified", at);
			copy[at] ^= 0x01;
			CHECK(client_verify_checkpoint(&p_sup, copy, nl, &cp3, NULL, err, sizeof err) == 0);
		}
		/* The same note against other keys (a profile without the
		 * witness): verified afresh, zero cosignatures counted. */
		evc_profile nowit = p_sup;
		nowit.nwitnesses = 0;
		cos3 = 9;
		CHECK(client_verify_checkpoint(&nowit, copy, nl, &cp3, &cos3, err, sizeof err) == 0);
		CHECK_EQ(cos3, 0);
		free(copy);
	}
	pb_arena_free(&a);
	client_close(cw);
	client_close(cs);
}

/* ---- pipelining -------------------------------------------------------------- */

static void
t_pipelining(void)
{
	enum { NSUB = 100, NREQ = 2 * NSUB };
	evc_client *c;
	fx_signed s[NSUB];
	int64_t ids[NREQ];
	int kind[NREQ], seen[NREQ];
	uint64_t first = 0, indices[NSUB];
	char rid[64];

	sf_begin("pipelining", 30);
	for (int i = 0; i < NSUB; i++) {
		snprintf(rid, sizeof rid, "pipe-%03d", i);
		sf_scan(rid, "PIPE-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key, &s[i]);
	}
	c = sf_conn(&p_node);
	/* Send everything: a submit, then a read, alternately. */
	for (int i = 0; i < NSUB; i++) {
		Request q;
		Evchain__V1__SubmitRequest sub;
		Evchain__V1__SignedRecord sr, *srp = &sr;
		sf_item it = sf_it(&s[i]);
		sf_submit_req(&q, &sub, &sr, &srp, &it, 1);
		ids[2 * i] = client_send(c, &q);
		kind[2 * i] = -1;
		/* Reads a node may make: status, checkpoint, consistency, its own
		 * entries' proofs and its own query. */
		Request r = EVCHAIN__V1__REQUEST__INIT;
		Evchain__V1__StatusRequest st = EVCHAIN__V1__STATUS_REQUEST__INIT;
		Evchain__V1__CheckpointRequest cp = EVCHAIN__V1__CHECKPOINT_REQUEST__INIT;
		Evchain__V1__ConsistencyProofRequest cr = EVCHAIN__V1__CONSISTENCY_PROOF_REQUEST__INIT;
		Evchain__V1__InclusionProofRequest ip = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__INIT;
		Evchain__V1__QueryRequest qr = EVCHAIN__V1__QUERY_REQUEST__INIT;
		kind[2 * i + 1] = i % 5;
		switch (i % 5) {
		case 0: r.op_case = EVCHAIN__V1__REQUEST__OP_STATUS; r.status = &st; break;
		case 1: r.op_case = EVCHAIN__V1__REQUEST__OP_CHECKPOINT; r.checkpoint = &cp; break;
		case 2:
			cr.old_size = 1;
			r.op_case = EVCHAIN__V1__REQUEST__OP_CONSISTENCY_PROOF;
			r.consistency_proof = &cr;
			break;
		case 3:
			ip.leaf_case = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__LEAF_INDEX;
			ip.index = qx[0].index;
			r.op_case = EVCHAIN__V1__REQUEST__OP_INCLUSION_PROOF;
			r.inclusion_proof = &ip;
			break;
		default:
			qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_NODE;
			qr.node = "platform-node-1";
			qr.limit = 2;
			r.op_case = EVCHAIN__V1__REQUEST__OP_QUERY;
			r.query = &qr;
			break;
		}
		ids[2 * i + 1] = client_send(c, &r);
	}
	for (int i = 0; i < NREQ; i++) {
		REQUIRE(ids[i] > 0);
		if (i > 0)
			REQUIRE(ids[i] == ids[i - 1] + 1);
		seen[i] = 0;
	}
	/* Receive: every id exactly once, in whatever order. */
	int got = 0, out_of_order = 0, bad = 0;
	int64_t maxid = 0;
	for (int k = 0; k < NREQ; k++) {
		pb_arena a;
		Response *r = NULL;
		pb_arena_init(&a, 16u << 20);
		int rc = client_recv(c, &a, &r);
		CHECK_(rc == 0, "pipelined response %d: %d (%s)", k, rc, client_error(c));
		if (rc != 0) {
			pb_arena_free(&a);
			break;
		}
		int64_t id = (int64_t)r->id;
		long i = (long)(id - ids[0]);
		if (i < 0 || i >= NREQ || seen[i]) {
			CHECK_(0, "response id %" PRId64 " unexpected or repeated", id);
			pb_arena_free(&a);
			continue;
		}
		seen[i]++;
		got++;
		if (id < maxid)
			out_of_order++;
		else
			maxid = id;
		if (sf_code(r) != 0) {
			CHECK_(0, "pipelined request %ld: %d (%s)", i, sf_code(r), sf_msg(r));
			bad++;
		} else if (kind[i] < 0) {
			sf_got g;
			if (sf_receipt_ok(&p_node, sf_receipt(r, 0, 1), &s[i / 2], &g))
				indices[i / 2] = g.index;
			else
				bad++;
		} else {
			static const int want[5] = { EVCHAIN__V1__RESPONSE__RESULT_STATUS_INFO,
				EVCHAIN__V1__RESPONSE__RESULT_CHECKPOINT,
				EVCHAIN__V1__RESPONSE__RESULT_CONSISTENCY_PROOF,
				EVCHAIN__V1__RESPONSE__RESULT_INCLUSION_PROOF, EVCHAIN__V1__RESPONSE__RESULT_QUERY };
			CHECK_EQ(r->result_case, want[kind[i]]);
		}
		pb_arena_free(&a);
	}
	CHECK_EQ(got, NREQ);
	CHECK_EQ(bad, 0);
	/* Reads overtake submits waiting for their group commit. */
	CHECK_(out_of_order > 0, "no response came out of order (%d)", out_of_order);
	/* Every record got its own entry. */
	if (bad == 0 && got == NREQ) {
		first = indices[0];
		for (int i = 0; i < NSUB; i++)
			if (indices[i] < first)
				first = indices[i];
		uint8_t used[NSUB] = { 0 };
		int distinct = 1;
		for (int i = 0; i < NSUB; i++) {
			uint64_t k = indices[i] - first;
			if (k >= NSUB || used[k]++)
				distinct = 0;
		}
		CHECK_(distinct, "the %d pipelined records occupy %d consecutive entries", NSUB, NSUB);
	}
	client_close(c);
	for (int i = 0; i < NSUB; i++)
		fx_signed_free(&s[i]);
}

/* ---- restart -------------------------------------------------------------- */

static void
t_restart(void)
{
	evc_client *c;
	pb_arena a;
	uint64_t ms;
	char before[16384], out[8192], cmd[4096];
	size_t blen = 0;
	uint64_t size = 0;

	sf_begin("restart", 30);
	c = sf_conn(&p_sup);
	pb_arena_init(&a, 1 << 20);
	Response *r = sf_status(c, &a);
	REQUIRE(sf_code(r) == 0 && r->status_info->checkpoint.len < sizeof before);
	size = r->status_info->tree_size;
	blen = r->status_info->checkpoint.len;
	memcpy(before, r->status_info->checkpoint.data, blen);
	pb_arena_free(&a);
	client_close(c);

	CHECK_EQ(sf_stop(srv, SIGTERM, 10000, &ms), 0);
	CHECK_(ms < 5000, "evchaind took %" PRIu64 " ms to stop", ms);
	srv = sf_start(sf_path("dep/evchaind.conf"), NULL);
	sf_use(srv);

	/* The same signed checkpoint: nothing appended at start. */
	c = sf_conn(&p_sup);
	pb_arena_init(&a, 1 << 20);
	r = sf_status(c, &a);
	CHECK(sf_code(r) == 0 && r->status_info->tree_size == size &&
	    r->status_info->checkpoint.len == blen &&
	    memcmp(r->status_info->checkpoint.data, before, blen) == 0);
	CHECK(sf_code(r) == 0 && r->status_info->entries_appended == 0);
	pb_arena_free(&a);
	client_close(c);

	/* Appends continue where the log ended, consistent with the old head. */
	evc_client *cn = sf_conn(&p_node);
	fx_signed s;
	sf_got g;
	sf_scan("after-restart", "RESTART-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key,
	    &s);
	if (sf_submit_ok(cn, &p_node, &s, &g)) {
		CHECK_EQ(g.index, size);
		CHECK_EQ(g.tree_size, size + 1);
	}
	note nt;
	checkpoint old, cur;
	c = sf_conn(&p_sup);
	REQUIRE(note_parse(before, blen, &nt) == 0 && checkpoint_parse(nt.text, nt.text_len, &old) == 0);
	sf_latest(c, &p_sup, &cur);
	CHECK(consistency_ok(c, old.size, cur.size, old.root, cur.root));
	client_close(c);
	client_close(cn);
	fx_signed_free(&s);

	/* Stopped cleanly, the ledger passes the offline audit. */
	CHECK_EQ(sf_stop(srv, SIGTERM, 10000, &ms), 0);
	snprintf(cmd, sizeof cmd, "'%s' ledger '%s' --log-key '%s' --quiet", sf_prog("evchain-verify"),
	    sf_path("dep/data"), sf_path("dep/log.pub"));
	int rc = fx_run(cmd, out, sizeof out);
	CHECK_(rc == 0, "evchain-verify ledger: exit %d: %s", rc, out);
}

int
main(void)
{
	sf_setup("server");
	sf_begin("start", 20);
	srv = sf_start(sf_path("dep/evchaind.conf"), NULL);
	sf_use(srv);

	t_cli();
	t_receipts();
	t_receipt_forgery();
	t_idempotent();
	t_refusals();
	t_revocation();
	t_roles();
	t_queries();
	t_proofs();
	t_cosign();
	t_pipelining();
	sf_alive("the functional tests");
	t_restart();
	alarm(0);
	CHECK_DONE("test_server");
}
