/*
 * test_wire.c — integration: the real bin/evchaind ($BIN or bin) against
 * hostile and careless peers, over loopback with real TLS. After every
 * hostile case a well-behaved client must still be served.
 *
 *   tls        no client certificate, a foreign CA's certificate, a server
 *              certificate offered by a client, a TLS 1.2-only client,
 *              plaintext bytes: all refused, the connection closed
 *   frames     length 0 (error + close), over the maximum (TOO_LARGE +
 *              close), truncated then closed / reset, protobuf garbage in a
 *              valid frame (INVALID_ARGUMENT, the connection stays usable),
 *              frames split byte by byte and coalesced
 *   limits     a server with small limits: max_batch → TOO_LARGE, a batch
 *              whose receipts would not fit a frame → TOO_LARGE before
 *              anything is logged, max_inflight → RESOURCE_EXHAUSTED,
 *              max_frame exactly, handshake timeout
 *   sigterm    hundreds of records pipelined, SIGTERM right after: exit 0
 *              within seconds; after a restart the records logged are exactly
 *              those acknowledged, at their indices; again with the client
 *              still sending during the shutdown; a peer that never reads
 *              does not hold the server past shutdown_grace_ms;
 *              evchain-verify ledger passes
 * EVC_VERBOSE=1 prints what each SIGTERM round saw.
 * The functional side is test_server.c.
 */
#include "srvfix.h"

static sf_server *srv;

/* ---- TLS ------------------------------------------------------------------- */

/* A profile's connection must not get a single response. */
static void
refused_profile(const evc_profile *p, const char *what)
{
	evc_client *c = NULL;
	char err[512] = "";
	pb_arena a;
	int served = 0;

	pb_arena_init(&a, 1 << 20);
	if (client_connect(p, sf_addr, &c, err, sizeof err) == 0) {
		/* TLS 1.3: the client finishes before the server has checked its
		 * certificate; the refusal shows on the first read. */
		Response *r = NULL;
		Request q = EVCHAIN__V1__REQUEST__INIT;
		Evchain__V1__StatusRequest s = EVCHAIN__V1__STATUS_REQUEST__INIT;
		q.op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
		q.status = &s;
		served = client_call(c, &q, &a, &r) == 0;
		client_close(c);
	}
	CHECK_(!served, "%s: the server answered", what);
	pb_arena_free(&a);
	sf_alive(what);
}

/* A raw TLS connection must not get a response to a status request. */
static void
refused_raw(sf_raw *r, const char *what)
{
	pb_arena a;
	Response *resp = NULL;
	int got = SF_CLOSED;

	pb_arena_init(&a, 1 << 20);
	if (r->hs) {
		Request q = EVCHAIN__V1__REQUEST__INIT;
		Evchain__V1__StatusRequest s = EVCHAIN__V1__STATUS_REQUEST__INIT;
		size_t n;
		q.id = 1;
		q.op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
		q.status = &s;
		uint8_t *f = sf_req_frame(&q, &n);
		if (sf_raw_write(r, f, n) == 0)
			got = sf_raw_recv(r, &a, &resp);
		free(f);
	}
	CHECK_(got == SF_CLOSED, "%s: %s", what, got == SF_FRAME ? "answered" : "not closed within 5 s");
	pb_arena_free(&a);
	sf_raw_close(r, SF_CLOSE_FIN);
	sf_alive(what);
}

static void
t_tls(void)
{
	sf_begin("tls", 40);
	refused_profile(&p_foreign, "a certificate from a foreign CA");
	refused_profile(&p_srvcert, "a server certificate (OU=server) offered by a client");
	refused_raw(sf_raw_open(srv->port, NULL, NULL, TLS1_3_VERSION), "no client certificate");
	refused_raw(sf_raw_open(srv->port, sf_path("foreign/ca.crt"), sf_path("foreign/ca.key"),
	    TLS1_3_VERSION), "a foreign CA's own certificate");

	/* TLS 1.2 only, with a good certificate: the handshake itself fails. */
	sf_raw *r = sf_raw_open(srv->port, sf_path("dep/supervisor.crt"),
	    sf_path("dep/supervisor-tls.key"), TLS1_2_VERSION);
	CHECK_(!r->hs, "a TLS 1.2-only client completed a handshake");
	sf_raw_close(r, SF_CLOSE_FIN);
	sf_alive("a TLS 1.2-only client");

	/* The same client and certificate with TLS 1.3: served (the control). */
	r = sf_raw_sup(srv->port);
	pb_arena a;
	pb_arena_init(&a, 1 << 20);
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__StatusRequest st = EVCHAIN__V1__STATUS_REQUEST__INIT;
	q.id = 77;
	q.op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
	q.status = &st;
	Response *resp = sf_raw_call(r, &q, &a);
	CHECK(resp != NULL && resp->id == 77 && sf_code(resp) == 0);
	pb_arena_free(&a);
	sf_raw_close(r, SF_CLOSE_NOTIFY);

	/* Plaintext: HTTP, then a bare frame. */
	static const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
	int fd = sf_tcp(srv->port);
	CHECK(send(fd, http, sizeof http - 1, 0) == (ssize_t)(sizeof http - 1));
	CHECK_(sf_tcp_closed(fd), "plaintext HTTP: the connection stayed open");
	close(fd);
	sf_alive("plaintext HTTP");
	static const uint8_t frame[] = { 0, 0, 0, 4, 0x08, 0x01, 0x9a, 0x01 };
	fd = sf_tcp(srv->port);
	CHECK(send(fd, frame, sizeof frame, 0) == (ssize_t)sizeof frame);
	CHECK_(sf_tcp_closed(fd), "a plaintext frame: the connection stayed open");
	close(fd);
	sf_alive("a plaintext frame");
	/* Connect and go away before any byte. */
	fd = sf_tcp(srv->port);
	close(fd);
	sf_alive("a connection closed before the handshake");
}

/* ---- frames ---------------------------------------------------------------- */

/* After a protocol error: an error response (id 0, code), then the close. */
static void
fatal_frame(uint32_t len, int want, const char *what)
{
	sf_raw *r = sf_raw_sup(srv->port);
	pb_arena a;
	Response *resp = NULL;
	pb_arena_init(&a, 1 << 20);
	CHECK(sf_raw_frame(r, len, "\x08\x05", 2) == 0);
	int got = sf_raw_recv(r, &a, &resp);
	CHECK_(got == SF_FRAME && resp->id == 0 && sf_code(resp) == want, "%s: %d, status %d (%s)",
	    what, got, got == SF_FRAME ? sf_code(resp) : -1, got == SF_FRAME ? sf_msg(resp) : "");
	got = sf_raw_recv(r, &a, &resp);
	CHECK_(got == SF_CLOSED, "%s: the connection was not closed (%d)", what, got);
	pb_arena_free(&a);
	sf_raw_close(r, SF_CLOSE_FIN);
	sf_alive(what);
}

static void
t_frames(void)
{
	pb_arena a;
	Response *resp;
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__StatusRequest st = EVCHAIN__V1__STATUS_REQUEST__INIT;
	size_t n;

	sf_begin("frames", 40);
	fatal_frame(0, SC(INVALID_ARGUMENT), "a frame of length 0");
	fatal_frame(EVC_MAX_FRAME_DEFAULT + 1, SC(TOO_LARGE), "a frame over 4 MiB");
	fatal_frame(0xffffffffu, SC(TOO_LARGE), "a frame of length 2^32-1");

	/* Truncated frames, then close_notify, FIN or RST. */
	static const int hows[] = { SF_CLOSE_NOTIFY, SF_CLOSE_FIN, SF_CLOSE_RST };
	static const char *const hown[] = { "a truncated frame, then close_notify",
		"a truncated frame, then FIN", "a truncated frame, then RST" };
	for (int i = 0; i < 3; i++) {
		sf_raw *r = sf_raw_sup(srv->port);
		CHECK(sf_raw_frame(r, 100, "\x08\x05\x9a\x01\x00\x00\x00\x00\x00\x00", 10) == 0);
		usleep(20000);
		sf_raw_close(r, hows[i]);
		sf_alive(hown[i]);
	}
	/* A truncated header alone. */
	sf_raw *r = sf_raw_sup(srv->port);
	CHECK(sf_raw_write(r, "\x00\x00", 2) == 0);
	sf_raw_close(r, SF_CLOSE_NOTIFY);
	sf_alive("half a frame header");

	/* Garbage inside valid frames: INVALID_ARGUMENT under the id that can
	 * be read, and the connection stays usable. */
	r = sf_raw_sup(srv->port);
	pb_arena_init(&a, 4u << 20);
	static const struct {
		const char *bytes;
		size_t len;
		uint64_t id;
		const char *what;
	} junk[] = {
		{ "\x08\x2a\x0f\x01", 4, 42, "an invalid wire type" },
		{ "\x52\x05\x01", 3, 0, "a truncated submit" },
		{ "\x08\x07", 2, 7, "a request with no operation" },
		{ "\x08\x09\xfa\x06\x00", 5, 9, "only an unknown field" },
		{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11, 0, "an endless varint" },
		{ "\x08\x0b\x62\x02\x10\x80", 6, 11, "entries with a truncated count" },
	};
	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
		resp = NULL;
		CHECK(sf_raw_frame(r, (uint32_t)junk[i].len, junk[i].bytes, junk[i].len) == 0);
		int got = sf_raw_recv(r, &a, &resp);
		CHECK_(got == SF_FRAME && sf_code(resp) == SC(INVALID_ARGUMENT) && resp->id == junk[i].id,
		    "%s: %d, status %d, id %" PRIu64, junk[i].what, got, got == SF_FRAME ? sf_code(resp) : -1,
		    got == SF_FRAME ? resp->id : 0);
	}
	q.id = 1234;
	q.op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
	q.status = &st;
	resp = sf_raw_call(r, &q, &a);
	CHECK_(resp != NULL && resp->id == 1234 && sf_code(resp) == 0,
	    "after garbage frames the connection is not usable");

	/* One request written a byte at a time (a TLS record per byte). */
	q.id = 1235;
	uint8_t *f = sf_req_frame(&q, &n);
	for (size_t i = 0; i < n; i++)
		CHECK(sf_raw_write(r, f + i, 1) == 0);
	resp = NULL;
	CHECK(sf_raw_recv(r, &a, &resp) == SF_FRAME && resp->id == 1235 && sf_code(resp) == 0);
	/* Three requests in one write, the third cut short and finished later. */
	size_t n1, n2, n3;
	q.id = 2001;
	uint8_t *f1 = sf_req_frame(&q, &n1);
	q.id = 2002;
	uint8_t *f2 = sf_req_frame(&q, &n2);
	q.id = 2003;
	uint8_t *f3 = sf_req_frame(&q, &n3);
	uint8_t *all = malloc(n1 + n2 + n3);
	REQUIRE(all != NULL);
	memcpy(all, f1, n1);
	memcpy(all + n1, f2, n2);
	memcpy(all + n1 + n2, f3, n3);
	CHECK(sf_raw_write(r, all, n1 + n2 + 3) == 0);
	usleep(20000);
	CHECK(sf_raw_write(r, all + n1 + n2 + 3, n3 - 3) == 0);
	int seen = 0;
	for (int i = 0; i < 3; i++) {
		resp = NULL;
		if (sf_raw_recv(r, &a, &resp) == SF_FRAME && sf_code(resp) == 0 && resp->id >= 2001 &&
		    resp->id <= 2003)
			seen |= 1 << (resp->id - 2001);
	}
	CHECK_EQ(seen, 7);
	free(all);
	free(f);
	free(f1);
	free(f2);
	free(f3);
	pb_arena_free(&a);
	sf_raw_close(r, SF_CLOSE_NOTIFY);
	sf_alive("garbage frames");

	/* 2^32-1 entries asked: one page (page_size) comes back, not an error. */
	evc_client *c = sf_conn(&p_sup);
	Request qe = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__EntriesRequest er = EVCHAIN__V1__ENTRIES_REQUEST__INIT;
	er.count = 0xffffffffu;
	qe.op_case = EVCHAIN__V1__REQUEST__OP_ENTRIES;
	qe.entries = &er;
	pb_arena_init(&a, 64u << 20);
	resp = sf_rpc(c, &qe, &a);
	CHECK(sf_code(resp) == 0 && resp->entries->n_entries >= 1);
	pb_arena_free(&a);
	client_close(c);
}

/* ---- limits ------------------------------------------------------------------ */

/* Fill buf (a string field of q) with 'Q's until q packs to exactly want bytes. */
static int
pad_request(Request *q, char *buf, size_t cap, size_t want)
{
	for (size_t l = cap - 1; l > 0; l--) {
		memset(buf, 'Q', l);
		buf[l] = '\0';
		if (evchain__v1__request__get_packed_size(q) == want)
			return 1;
	}
	return 0;
}

static void
t_limits(void)
{
	char conf[4096], extra[512];
	FILE *f;
	size_t n;
	pb_arena a;
	Response *resp;

	sf_begin("limits", 40);
	/* The dev configuration with small limits, on a ledger of its own. */
	REQUIRE((f = fopen(sf_path("dep/evchaind.conf"), "r")) != NULL);
	n = fread(conf, 1, sizeof conf - 600, f);
	fclose(f);
	conf[n] = '\0';
	snprintf(extra, sizeof extra, "max_batch = 4\nmax_inflight = 2\nmax_frame = 16384\n"
	    "handshake_timeout_ms = 300\nworkers = 3\n");
	strcat(conf, extra);
	sf_write(sf_path("dep/limits.conf"), conf);
	sf_server *ls = sf_start(sf_path("dep/limits.conf"), sf_path("limits-data"));
	char main_addr[64];
	memcpy(main_addr, sf_addr, sizeof main_addr);
	sf_use(ls);

	/* max_batch: 5 records refused whole (TOO_LARGE), 4 accepted (their
	 * receipts fit in max_frame: the refusal is max_batch's). */
	evc_client *ca = sf_conn(&p_admin);
	fx_signed k[5];
	evc_vkey vk;
	char rid[64];
	for (int i = 0; i < 5; i++) {
		snprintf(rid, sizeof rid, "limits-reg-%d", i);
		REQUIRE(keys_generate(rid, EVC_KEY_ED25519, &(evc_skey){ 0 }, &vk) == 0);
		REQUIRE(fx_node_key(rid, &p_admin.signing_key, &vk, EVCHAIN__V1__NODE_KEY__ROLE__NODE,
		    EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, fx_now_ms(), &k[i]) == 0);
	}
	fx_signed *kp[5] = { &k[0], &k[1], &k[2], &k[3], &k[4] };
	pb_arena_init(&a, 16u << 20);
	resp = sf_submit(ca, kp, 5, &a);
	CHECK_(sf_code(resp) == SC(TOO_LARGE), "5 records: %d (%s)", sf_code(resp), sf_msg(resp));
	resp = sf_submit(ca, kp, 4, &a);
	for (size_t i = 0; i < 4; i++)
		CHECK(sf_receipt_ok(&p_admin, sf_receipt(resp, i, 4), &k[i], NULL));
	pb_arena_free(&a);
	for (int i = 0; i < 5; i++)
		fx_signed_free(&k[i]);

	/* A submit that fits in a frame but whose receipts would not: refused
	 * before anything is logged (it used to be logged, then answered
	 * TOO_LARGE, so that its receipts could never be had). */
	static char reason[3001];
	memset(reason, 'r', sizeof reason - 1);
	Request sq;
	Evchain__V1__SubmitRequest sub;
	Evchain__V1__SignedRecord srs[4], *srp[4];
	sf_item its[4];
	for (int i = 0; i < 4; i++) {
		Record rec = EVCHAIN__V1__RECORD__INIT;
		Evchain__V1__NodeKey nk = EVCHAIN__V1__NODE_KEY__INIT;
		evc_skey sk;
		snprintf(rid, sizeof rid, "limits-big-%d", i);
		REQUIRE(keys_generate(rid, EVC_KEY_ED25519, &sk, &vk) == 0);
		rec.record_id = rid;
		rec.created_ms = fx_now_ms();
		rec.body_case = EVCHAIN__V1__RECORD__BODY_NODE_KEY;
		rec.node_key = &nk;
		nk.action = EVCHAIN__V1__NODE_KEY__ACTION__REGISTER;
		nk.role = EVCHAIN__V1__NODE_KEY__ROLE__NODE;
		nk.key_name = vk.name;
		nk.public_key.data = vk.pub;
		nk.public_key.len = 32;
		nk.reason = reason;
		REQUIRE(fx_sign(&rec, &p_admin.signing_key, &k[i]) == 0);
		its[i] = sf_it(&k[i]);
	}
	sf_submit_req(&sq, &sub, srs, srp, its, 4);
	size_t reqlen = evchain__v1__request__get_packed_size(&sq);
	REQUIRE(reqlen > 12000 && reqlen < 16000);
	pb_arena_init(&a, 16u << 20);
	uint64_t size0 = 0, size1 = 0;
	evc_client *cs = sf_conn(&p_sup);
	resp = sf_status(cs, &a);
	if (sf_code(resp) == 0)
		size0 = resp->status_info->tree_size;
	resp = sf_submit(ca, kp, 4, &a);
	CHECK_(sf_code(resp) == SC(TOO_LARGE), "receipts over max_frame: %d (%s)", sf_code(resp),
	    sf_msg(resp));
	resp = sf_status(cs, &a);
	if (sf_code(resp) == 0)
		size1 = resp->status_info->tree_size;
	CHECK_(size0 > 0 && size1 == size0, "a refused submit was logged (%" PRIu64 " → %" PRIu64 ")",
	    size0, size1);
	/* One at a time they fit. */
	for (int i = 0; i < 4; i++)
		CHECK(sf_submit_ok(ca, &p_admin, &k[i], NULL));
	pb_arena_free(&a);
	for (int i = 0; i < 4; i++)
		fx_signed_free(&k[i]);
	client_close(cs);
	client_close(ca);

	/* max_inflight 2: two slow requests (checkpoints waiting for
	 * cosignatures that never come; with 3 workers two may wait) and three
	 * more in the same TLS record.
	 * The three are refused at once; the two answered; then it serves on. */
	sf_raw *r = sf_raw_sup(ls->port);
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__CheckpointRequest cr = EVCHAIN__V1__CHECKPOINT_REQUEST__INIT;
	Evchain__V1__StatusRequest st = EVCHAIN__V1__STATUS_REQUEST__INIT;
	uint8_t buf[1024];
	size_t off = 0;
	cr.min_cosignatures = 1;
	cr.wait_ms = 700;
	for (uint64_t id = 1; id <= 5; id++) {
		evchain__v1__request__init(&q);
		q.id = id;
		if (id <= 2) {
			q.op_case = EVCHAIN__V1__REQUEST__OP_CHECKPOINT;
			q.checkpoint = &cr;
		} else {
			q.op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
			q.status = &st;
		}
		uint8_t *fr = sf_req_frame(&q, &n);
		REQUIRE(off + n <= sizeof buf);
		memcpy(buf + off, fr, n);
		off += n;
		free(fr);
	}
	uint64_t t0 = sf_mono_ms();
	CHECK(sf_raw_write(r, buf, off) == 0);
	pb_arena_init(&a, 4u << 20);
	int codes[6] = { -1, -1, -1, -1, -1, -1 }, order[5], k2 = 0;
	uint64_t t_refused = 0;
	for (int i = 0; i < 5; i++) {
		resp = NULL;
		if (sf_raw_recv(r, &a, &resp) != SF_FRAME || resp->id < 1 || resp->id > 5)
			break;
		codes[resp->id] = sf_code(resp);
		order[k2++] = (int)resp->id;
		if (resp->id >= 3)
			t_refused = sf_mono_ms() - t0;
	}
	CHECK_EQ(k2, 5);
	CHECK_EQ(codes[1], 0);
	CHECK_EQ(codes[2], 0);
	for (int id = 3; id <= 5; id++)
		CHECK_(codes[id] == SC(RESOURCE_EXHAUSTED), "request %d over max_inflight: %d", id,
		    codes[id]);
	CHECK_(k2 == 5 && order[0] >= 3 && t_refused < 500, "the refusals come first, at once "
	    "(first %d, %" PRIu64 " ms)", k2 ? order[0] : 0, t_refused);
	evchain__v1__request__init(&q);
	q.id = 6;
	q.op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
	q.status = &st;
	resp = sf_raw_call(r, &q, &a);
	CHECK_(resp != NULL && resp->id == 6 && sf_code(resp) == 0, "after RESOURCE_EXHAUSTED");
	pb_arena_free(&a);

	/* max_frame 16384: a request of exactly 16384 bytes is read, 16385 is not. */
	Evchain__V1__QueryRequest qr = EVCHAIN__V1__QUERY_REQUEST__INIT;
	static char company[16384];
	evchain__v1__request__init(&q);
	q.id = 7;
	q.op_case = EVCHAIN__V1__REQUEST__OP_QUERY;
	q.query = &qr;
	qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_COMPANY_USCC;
	qr.company_uscc = company;
	REQUIRE(pad_request(&q, company, sizeof company, 16384));
	pb_arena_init(&a, 4u << 20);
	resp = sf_raw_call(r, &q, &a);
	CHECK_(resp != NULL && resp->id == 7 && sf_code(resp) == 0, "a frame of exactly max_frame: %d",
	    sf_code(resp));
	REQUIRE(pad_request(&q, company, sizeof company, 16385));
	q.id = 8;
	uint8_t *fr = sf_req_frame(&q, &n);
	CHECK(sf_raw_write(r, fr, n) == 0);
	free(fr);
	resp = NULL;
	int got = sf_raw_recv(r, &a, &resp);
	CHECK_(got == SF_FRAME && sf_code(resp) == SC(TOO_LARGE), "max_frame + 1: %d", got);
	CHECK_EQ(sf_raw_recv(r, &a, &resp), SF_CLOSED);
	pb_arena_free(&a);
	sf_raw_close(r, SF_CLOSE_FIN);

	/* The handshake timeout closes a silent connection. */
	uint64_t t1 = sf_mono_ms();
	int fd = sf_tcp(ls->port);
	CHECK_(sf_tcp_closed(fd), "a silent connection was not closed");
	uint64_t dt = sf_mono_ms() - t1;
	CHECK_(dt >= 250 && dt < 3000, "silent connection closed after %" PRIu64 " ms (timeout 300)", dt);
	close(fd);
	sf_alive("the limits");

	uint64_t ms;
	CHECK_EQ(sf_stop(ls, SIGTERM, 10000, &ms), 0);
	memcpy(sf_addr, main_addr, sizeof sf_addr);
}

/* ---- SIGTERM with requests in flight ------------------------------------- */

enum { PER = 2, MAXREQ = 700, MAXREC = MAXREQ * PER };
static fx_signed term_rec[MAXREC];
static int term_acked[MAXREC];
static sf_got term_got[MAXREC];
static pb_arena term_arena[MAXREQ];
static Response *term_resp[MAXREQ];

/*
 * `before` submits of PER records pipelined; SIGTERM as soon as the server
 * is at work (the first answer) with the rest in flight; then `after` bulky
 * requests (16 KiB queries a node may not make) that the server should no
 * longer read: a client still sending during the shutdown, whose receive
 * window is full meanwhile. Every answer is read first and checked after.
 * The server exits 0 within seconds; after a restart the records logged
 * since are exactly those acknowledged (every committed record was
 * answered), each at its index; appends continue.
 */
static void
sigterm_round(const char *tag, int before, int after)
{
	int nreq = before + after, nrec = before * PER;
	static char bulk[16000];
	memset(bulk, 'B', sizeof bulk - 1);
	int64_t first_id = -1;
	char rid[64];
	uint64_t ms;

	REQUIRE(nreq <= MAXREQ && before >= 1 && before * PER <= MAXREC);
	for (int i = 0; i < nrec; i++) {
		snprintf(rid, sizeof rid, "term-%s-%04d", tag, i);
		sf_scan(rid, "TERM-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key,
		    &term_rec[i]);
		term_acked[i] = 0;
	}
	checkpoint cp0;
	evc_client *c = sf_conn(&p_sup);
	sf_latest(c, &p_sup, &cp0);
	client_close(c);

	c = sf_conn(&p_node);
	int nresp = 0, sent = 0;
	uint64_t t0 = 0;
	for (int k = 0; k < nreq; k++) {
		Request q;
		Evchain__V1__SubmitRequest sub;
		Evchain__V1__SignedRecord sr[PER], *srp[PER];
		Evchain__V1__QueryRequest qr = EVCHAIN__V1__QUERY_REQUEST__INIT;
		sf_item it[PER];
		if (k < before) {
			for (int j = 0; j < PER; j++)
				it[j] = sf_it(&term_rec[k * PER + j]);
			sf_submit_req(&q, &sub, sr, srp, it, PER);
		} else {
			evchain__v1__request__init(&q);
			qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_COMPANY_USCC;
			qr.company_uscc = bulk;
			q.op_case = EVCHAIN__V1__REQUEST__OP_QUERY;
			q.query = &qr;
		}
		int64_t id = client_send(c, &q);
		if (id < 0) {
			CHECK_(k >= before, "send %d of %s failed before SIGTERM", k, tag);
			break; /* the server has gone: fine after SIGTERM */
		}
		if (k == 0)
			first_id = id;
		sent++;
		if (k == before - 1) {
			pb_arena_init(&term_arena[0], 16u << 20);
			REQUIRE(client_recv(c, &term_arena[0], &term_resp[0]) == 0);
			nresp = 1;
			REQUIRE(kill(srv->pid, SIGTERM) == 0);
			t0 = sf_mono_ms();
		}
	}
	while (nresp < nreq) {
		pb_arena_init(&term_arena[nresp], 16u << 20);
		if (client_recv(c, &term_arena[nresp], &term_resp[nresp]) != 0) {
			pb_arena_free(&term_arena[nresp]);
			break;
		}
		nresp++;
	}
	client_close(c);
	int st = sf_stop(srv, 0, 10000, &ms);
	uint64_t took = sf_mono_ms() - t0;
	CHECK_(st == 0, "%s: evchaind after SIGTERM: exit %d", tag, st);
	CHECK_(took < 5000, "%s: evchaind took %" PRIu64 " ms to stop", tag, took);

	/* Every response is for one of ours, once; every OK receipt verifies. */
	static int seen[MAXREQ];
	int nacked = 0, refused = 0, exhausted = 0;
	memset(seen, 0, sizeof seen);
	for (int n = 0; n < nresp; n++) {
		Response *r = term_resp[n];
		long k = (long)((int64_t)r->id - first_id);
		if (k < 0 || k >= sent || seen[k]++) {
			CHECK_(0, "%s: response id %" PRIu64 " unexpected or repeated", tag, r->id);
			continue;
		}
		/* Read before the signal took effect: refused (the node may not
		 * query a company; past max_inflight, RESOURCE_EXHAUSTED). */
		if (k >= before) {
			CHECK_(sf_code(r) == SC(PERMISSION_DENIED) || sf_code(r) == SC(RESOURCE_EXHAUSTED),
			    "%s: bulk request %ld: %d (%s)", tag, k, sf_code(r), sf_msg(r));
			exhausted++;
			continue;
		}
		if (sf_code(r) != 0 || r->result_case != EVCHAIN__V1__RESPONSE__RESULT_SUBMIT ||
		    r->submit->n_receipts != PER) {
			refused += PER;
			continue;
		}
		for (int j = 0; j < PER; j++) {
			int i = (int)k * PER + j;
			Receipt *rc = r->submit->receipts[j];
			if (sf_rcode(rc) != 0)
				refused++;
			else if (sf_receipt_ok(&p_node, rc, &term_rec[i], &term_got[i])) {
				term_acked[i] = 1;
				nacked++;
			}
		}
	}
	for (int n = 0; n < nresp; n++)
		pb_arena_free(&term_arena[n]);
	CHECK_EQ(refused, 0);
	CHECK_(nresp >= 1 && nresp <= before + (after ? sent - before : 0), "%s: %d answers", tag, nresp);
	if (getenv("EVC_VERBOSE"))
		fprintf(stderr, "%s: %d sent, %d answered (%d bulk), %d records "
		    "acknowledged, stopped in %" PRIu64 " ms\n", tag, sent, nresp, exhausted, nacked, took);

	/* Restart on the same data. */
	srv = sf_start(sf_path("dep/evchaind.conf"), sf_path("wire-data"));
	sf_use(srv);
	c = sf_conn(&p_sup);
	checkpoint cp1;
	sf_latest(c, &p_sup, &cp1);
	/* Logged since: exactly the acknowledged records (every record that
	 * was committed was answered), each where its receipt says. */
	CHECK_(cp1.size == cp0.size + (uint64_t)nacked, "%s: after SIGTERM the log grew by %" PRIu64
	    ", but %d records were acknowledged", tag, cp1.size - cp0.size, nacked);
	pb_arena a;
	pb_arena_init(&a, 64u << 20);
	int found = 0, strangers = 0;
	uint64_t first_stranger = 0;
	for (uint64_t start = cp0.size; start < cp1.size;) {
		Request q = EVCHAIN__V1__REQUEST__INIT;
		Evchain__V1__EntriesRequest er = EVCHAIN__V1__ENTRIES_REQUEST__INIT;
		er.start = start;
		er.count = 500;
		q.op_case = EVCHAIN__V1__REQUEST__OP_ENTRIES;
		q.entries = &er;
		pb_arena_reset(&a);
		Response *r = sf_rpc(c, &q, &a);
		if (sf_code(r) != 0 || r->entries->n_entries == 0) {
			CHECK_(0, "entries from %" PRIu64 ": %d (%s)", start, sf_code(r), sf_msg(r));
			break;
		}
		for (size_t e = 0; e < r->entries->n_entries; e++) {
			uint8_t leaf[32];
			uint64_t idx = start + e;
			merkle_leaf_hash(r->entries->entries[e].data, r->entries->entries[e].len, leaf);
			int match = 0;
			for (int i = 0; i < nrec && !match; i++)
				match = term_acked[i] && term_got[i].index == idx &&
				    memcmp(term_got[i].leaf, leaf, 32) == 0;
			if (!match && strangers++ == 0)
				first_stranger = idx;
			found += match;
		}
		start += r->entries->n_entries;
	}
	CHECK_(strangers == 0, "%s: %d entries logged since SIGTERM were not acknowledged (the first "
	    "at %" PRIu64 ")", tag, strangers, first_stranger);
	CHECK_EQ(found, nacked);
	pb_arena_free(&a);
	/* Appends continue. */
	evc_client *cn = sf_conn(&p_node);
	fx_signed more;
	sf_got gm;
	snprintf(rid, sizeof rid, "term-%s-after", tag);
	sf_scan(rid, "TERM-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key, &more);
	if (sf_submit_ok(cn, &p_node, &more, &gm))
		CHECK_EQ(gm.index, cp1.size);
	fx_signed_free(&more);
	client_close(cn);
	client_close(c);
	for (int i = 0; i < nrec; i++)
		fx_signed_free(&term_rec[i]);
}

/* A peer that pipelines large reads and never reads the answers: once
 * shutdown_grace_ms is over, evchaind closes it and exits anyway. */
static void
sigterm_stuck_reader(void)
{
	char conf[4096];
	FILE *f;
	uint64_t ms = 0;

	REQUIRE((f = fopen(sf_path("dep/evchaind.conf"), "r")) != NULL);
	size_t n = fread(conf, 1, sizeof conf - 100, f);
	fclose(f);
	conf[n] = '\0';
	strcat(conf, "shutdown_grace_ms = 1000\n");
	sf_write(sf_path("dep/grace.conf"), conf);
	srv = sf_start(sf_path("dep/grace.conf"), sf_path("wire-data"));
	sf_use(srv);
	sf_raw *r = sf_raw_sup(srv->port);
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__EntriesRequest er = EVCHAIN__V1__ENTRIES_REQUEST__INIT;
	er.count = 1000;
	q.op_case = EVCHAIN__V1__REQUEST__OP_ENTRIES;
	q.entries = &er;
	for (uint64_t i = 1; i <= 60; i++) { /* ~60 × 600 KiB */
		size_t len;
		q.id = i;
		uint8_t *fr = sf_req_frame(&q, &len);
		CHECK(sf_raw_write(r, fr, len) == 0);
		free(fr);
	}
	usleep(300000);
	int st = sf_stop(srv, SIGTERM, 10000, &ms);
	CHECK_(st == 0 && ms < 3500, "evchaind with a peer that does not read: exit %d after %" PRIu64
	    " ms (grace 1000)", st, ms);
	sf_raw_close(r, SF_CLOSE_FIN);
}

static void
t_sigterm(void)
{
	char out[8192], cmd[4096];
	uint64_t ms;

	sf_begin("sigterm", 50);
	/* The node key, so that the node may submit (this ledger is fresh). */
	evc_client *c = sf_conn(&p_admin);
	evc_vkey vk;
	fx_signed reg;
	keys_public(&p_node.signing_key, &vk);
	REQUIRE(fx_node_key("wire-register-node-1", &p_admin.signing_key, &vk,
	    EVCHAIN__V1__NODE_KEY__ROLE__NODE, EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, fx_now_ms(),
	    &reg) == 0);
	REQUIRE(sf_submit_ok(c, &p_admin, &reg, NULL));
	fx_signed_free(&reg);
	client_close(c);

	sigterm_round("in-flight", 200, 0);
	sigterm_round("still-sending", 150, 500);
	CHECK_EQ(sf_stop(srv, SIGTERM, 10000, &ms), 0);
	sigterm_stuck_reader();

	snprintf(cmd, sizeof cmd, "'%s' ledger '%s' --log-key '%s' --quiet", sf_prog("evchain-verify"),
	    sf_path("wire-data"), sf_path("dep/log.pub"));
	int rc = fx_run(cmd, out, sizeof out);
	CHECK_(rc == 0, "evchain-verify ledger: exit %d: %s", rc, out);
}

int
main(void)
{
	sf_setup("wire");
	sf_begin("start", 20);
	srv = sf_start(sf_path("dep/evchaind.conf"), sf_path("wire-data"));
	sf_use(srv);

	t_tls();
	t_frames();
	t_limits();
	t_sigterm();
	alarm(0);
	CHECK_DONE("test_wire");
}
