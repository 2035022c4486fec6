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
 *   hostile    while a well-behaved client checks the server every 50 ms
 *              (each answer within a second; 3 s under ASan): random bytes
 *              before and inside TLS, random and mutated requests in valid
 *              frames, repeated and nested fields, WIRE_TINY (default
 *              200,000; `make wire-test`: 1,000,000) tiny requests pipelined
 *              on one connection (each answered, within a time bound),
 *              records with every kind of validation error (INVALID_ARGUMENT
 *              naming the field), replayed and conflicting records raced over
 *              several connections (one entry each), another node's record,
 *              expired certificates; the log grows by exactly the records
 *              meant to be appended
 *   sigterm    hundreds of records pipelined, SIGTERM right after: exit 0
 *              within seconds; after a restart the records logged are exactly
 *              those acknowledged, at their indices; again with the client
 *              still sending during the shutdown; a peer that never reads
 *              does not hold the server past shutdown_grace_ms;
 *              evchain-verify ledger passes
 * EVC_VERBOSE=1 prints what each SIGTERM round saw.
 * The functional side is test_server.c.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include "pbjson.h"
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

/* ---- hostile peers, while a well-behaved client is served ------------------------ */

static uint64_t hrng = 0x243f6a8885a308d3ull;

static uint64_t
hrnd(void)
{
	uint64_t z = (hrng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
hfill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)hrnd();
}

/* The watcher: a supervisor connects and asks the status every 50 ms, each
 * time within a second (three under AddressSanitizer, which slows the
 * server's loop about fourfold while a connection floods it). */
#if defined(__SANITIZE_ADDRESS__)
#define WATCH_MS 3000
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WATCH_MS 3000
#endif
#endif
#ifndef WATCH_MS
#define WATCH_MS 1000
#endif

static struct {
	pthread_t th;
	atomic_int stop;
	char addr[64];
	unsigned ok, failed;
	uint64_t worst_ms;
	char err[512];
} watch;

static void *
watch_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&watch.stop)) {
		uint64_t t0 = sf_mono_ms();
		evc_client *c = NULL;
		char err[512] = "";
		pb_arena a;
		int ok = client_connect(&p_sup, watch.addr, &c, err, sizeof err) == 0;
		pb_arena_init(&a, 1 << 20);
		if (ok) {
			Response *r = NULL;
			Request q = EVCHAIN__V1__REQUEST__INIT;
			Evchain__V1__StatusRequest st = EVCHAIN__V1__STATUS_REQUEST__INIT;
			q.op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
			q.status = &st;
			ok = client_call(c, &q, &a, &r) == 0 && sf_code(r) == 0;
			if (!ok)
				snprintf(err, sizeof err, "status: %s", client_error(c));
			client_close(c);
		}
		pb_arena_free(&a);
		uint64_t ms = sf_mono_ms() - t0;
		if (ok && ms < WATCH_MS) {
			watch.ok++;
		} else {
			watch.failed++;
			if (!watch.err[0])
				snprintf(watch.err, sizeof watch.err, "%s after %" PRIu64 " ms: %s",
				    ok ? "served" : "not served", ms, err);
		}
		if (ms > watch.worst_ms)
			watch.worst_ms = ms;
		usleep(50000);
	}
	return NULL;
}

static uint64_t
tree_size(void)
{
	evc_client *c = sf_conn(&p_sup);
	pb_arena a;
	pb_arena_init(&a, 1 << 20);
	Response *r = sf_status(c, &a);
	uint64_t n = sf_code(r) == 0 ? r->status_info->tree_size : 0;
	pb_arena_free(&a);
	client_close(c);
	return n;
}

/* Random bytes instead of TLS, and random bytes inside TLS. */
static void
t_random_bytes(void)
{
	static uint8_t buf[8192];
	int closed = 0;

	for (int i = 0; i < 40; i++) {
		size_t n = 1 + hrnd() % sizeof buf;
		hfill(buf, n);
		int half = i % 2;
		if (!half && buf[0] == 0x16)
			buf[0] = 0x17; /* not a handshake record: refused at once */
		int fd = sf_tcp(srv->port);
		(void)send(fd, buf, n, MSG_NOSIGNAL);
		if (half)
			shutdown(fd, SHUT_WR);
		closed += sf_tcp_closed(fd);
		close(fd);
	}
	CHECK_EQ(closed, 40);
	sf_alive("random bytes instead of TLS");

	/* Inside TLS: random bytes, then whatever comes back (error frames, a
	 * close) until the connection is closed or 150 ms pass. */
	pb_arena a;
	pb_arena_init(&a, 4u << 20);
	for (int i = 0; i < 40; i++) {
		sf_raw *r = sf_raw_sup(srv->port);
		struct timeval tv = { 0, 150000 };
		setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		size_t n = 1 + hrnd() % sizeof buf;
		hfill(buf, n);
		if (i % 4 == 0) {
			buf[0] = 0; /* a plausible length: a body that is random */
			buf[1] = 0;
		}
		(void)sf_raw_write(r, buf, n);
		for (int k = 0; k < 64; k++) {
			Response *resp = NULL;
			pb_arena_reset(&a);
			int got = sf_raw_recv(r, &a, &resp);
			if (got == SF_FRAME) {
				CHECK_(resp->status != NULL, "an answer to random bytes without a status");
				continue;
			}
			CHECK_(got != SF_UNDECODABLE, "an undecodable answer to random bytes");
			break;
		}
		sf_raw_close(r, i % 3 == 0 ? SF_CLOSE_RST : SF_CLOSE_FIN);
	}
	pb_arena_free(&a);
	sf_alive("random bytes inside TLS");
}

/* Random and mutated requests, each in a valid frame: one answer each, under
 * the id that can be read, and the connection stays usable. A mutated submit
 * carries a record already logged, so that nothing new may be appended. */
static void
t_random_requests(void)
{
	static uint8_t buf[4096];
	pb_arena a;
	int answered = 0, total = 0;
	sf_raw *r = sf_raw_sup(srv->port);
	sf_raw *rn = sf_raw_open(srv->port, sf_path("dep/node.crt"), sf_path("dep/node-tls.key"),
	    TLS1_3_VERSION);
	REQUIRE(rn->hs);
	pb_arena_init(&a, 16u << 20);

	for (int i = 0; i < 300; i++, total++) {
		size_t n = 1 + hrnd() % 2000;
		hfill(buf, n);
		Response *resp = NULL;
		pb_arena_reset(&a);
		if (sf_raw_frame(r, (uint32_t)n, buf, n) == 0 && sf_raw_recv(r, &a, &resp) == SF_FRAME)
			answered++;
	}
	/* Mutations of valid requests: a few random bytes changed. */
	fx_signed logged;
	sf_got g;
	evc_client *cn = sf_conn(&p_node);
	sf_scan("wire-mutant-base", "WIRE-MUT", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key,
	    &logged);
	REQUIRE(sf_submit_ok(cn, &p_node, &logged, &g));
	client_close(cn);
	Request q;
	Evchain__V1__SubmitRequest sub;
	Evchain__V1__SignedRecord sr, *srp;
	sf_item it = sf_it(&logged);
	size_t len;
	sf_submit_req(&q, &sub, &sr, &srp, &it, 1);
	q.id = 5;
	uint8_t *sf = sf_req_frame(&q, &len);
	Request qq = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__QueryRequest qr = EVCHAIN__V1__QUERY_REQUEST__INIT;
	qq.id = 6;
	qq.op_case = EVCHAIN__V1__REQUEST__OP_QUERY;
	qq.query = &qr;
	qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_INSPECTION_ID;
	qr.inspection_id = "WIRE-MUT";
	size_t qlen;
	uint8_t *qf = sf_req_frame(&qq, &qlen);
	for (int i = 0; i < 600; i++, total++) {
		int submit = i % 2;
		uint8_t *base = submit ? sf : qf;
		size_t bl = submit ? len : qlen;
		REQUIRE(bl - 4 <= sizeof buf);
		memcpy(buf, base + 4, bl - 4);
		for (int k = 0; k < 1 + (int)(hrnd() % 4); k++)
			buf[hrnd() % (bl - 4)] ^= (uint8_t)(1 + hrnd() % 255);
		Response *resp = NULL;
		pb_arena_reset(&a);
		sf_raw *rr = submit ? rn : r;
		if (sf_raw_frame(rr, (uint32_t)(bl - 4), buf, bl - 4) == 0 &&
		    sf_raw_recv(rr, &a, &resp) == SF_FRAME)
			answered++;
	}
	free(sf);
	free(qf);
	CHECK_(answered == total, "%d of %d random or mutated requests answered", answered, total);
	/* Both connections still serve. */
	Request qs = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__StatusRequest st = EVCHAIN__V1__STATUS_REQUEST__INIT;
	qs.id = 99;
	qs.op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
	qs.status = &st;
	pb_arena_reset(&a);
	Response *resp = sf_raw_call(r, &qs, &a);
	CHECK(resp != NULL && resp->id == 99 && sf_code(resp) == 0);
	pb_arena_reset(&a);
	resp = sf_raw_call(rn, &qs, &a);
	CHECK(resp != NULL && resp->id == 99 && sf_code(resp) == 0);
	pb_arena_free(&a);
	fx_signed_free(&logged);
	sf_raw_close(r, SF_CLOSE_NOTIFY);
	sf_raw_close(rn, SF_CLOSE_NOTIFY);
	sf_alive("random and mutated requests");
}

/* Bytes of a growing message. */
typedef struct wbuf {
	uint8_t *p;
	size_t n, cap;
} wbuf;

static void
wb_put(wbuf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		REQUIRE((b->p = realloc(b->p, b->cap)) != NULL);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void
wb_varint(wbuf *b, uint64_t v)
{
	uint8_t t[10];
	size_t k = 0;
	do {
		t[k] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			t[k] |= 0x80;
		k++;
	} while (v);
	wb_put(b, t, k);
}

/* Field `field` (wire type 2) holding b's bytes. */
static void
wb_bytes(wbuf *out, unsigned field, const uint8_t *p, size_t n)
{
	wb_varint(out, (uint64_t)field << 3 | 2);
	wb_varint(out, n);
	wb_put(out, p, n);
}

/* Send body as one frame on r: the answer's status code (-1 none, and the
 * connection is then closed by the caller). */
static int
one_frame(sf_raw *r, const wbuf *body, pb_arena *a, uint64_t *id)
{
	Response *resp = NULL;
	pb_arena_reset(a);
	if (sf_raw_frame(r, (uint32_t)body->n, body->p, body->n) != 0 ||
	    sf_raw_recv(r, a, &resp) != SF_FRAME)
		return -1;
	if (id)
		*id = resp->id;
	return sf_code(resp);
}

/* Repeated and deeply nested fields. */
static void
t_fields(void)
{
	pb_arena a;
	wbuf b = { 0 };
	uint64_t id = 0;
	int code;
	sf_raw *r = sf_raw_sup(srv->port);
	pb_arena_init(&a, 64u << 20);

	/* id 100,000 times (the last counts), then a status. */
	for (uint64_t i = 1; i <= 100000; i++) {
		wb_varint(&b, 0x08);
		wb_varint(&b, i);
	}
	wb_put(&b, "\x9a\x01\x00", 3);
	code = one_frame(r, &b, &a, &id);
	CHECK_(code == 0 && id == 100000, "id repeated 100,000 times: %d, id %" PRIu64, code, id);

	/* An unknown field 200,000 times: decoded within the budget, or refused
	 * for exceeding it. */
	b.n = 0;
	wb_put(&b, "\x08\x07", 2);
	for (int i = 0; i < 200000; i++)
		wb_put(&b, "\xc0\x3e\x01", 3); /* field 1000, varint 1 */
	wb_put(&b, "\x9a\x01\x00", 3);
	code = one_frame(r, &b, &a, &id);
	CHECK_((code == 0 || code == SC(INVALID_ARGUMENT)) && id == 7,
	    "an unknown field 200,000 times: %d", code);

	/* The oneof set 20,000 times, alternating: the last counts. */
	b.n = 0;
	wb_put(&b, "\x08\x08", 2);
	for (int i = 0; i < 20000; i++)
		wb_put(&b, i % 2 ? "\x9a\x01\x00" : "\x5a\x00", i % 2 ? 3 : 2);
	code = one_frame(r, &b, &a, &id);
	CHECK_(code == 0 && id == 8, "the operation set 20,000 times: %d", code);

	/* Unknown length-delimited fields nested 20,000 deep inside a status
	 * request: skipped whole, never recursed into. */
	wbuf in = { 0 }, tmp = { 0 };
	for (int d = 0; d < 20000; d++) {
		tmp.n = 0;
		wb_bytes(&tmp, 1000, in.p, in.n);
		wbuf sw = in;
		in = tmp;
		tmp = sw;
	}
	b.n = 0;
	wb_put(&b, "\x08\x09", 2);
	wb_bytes(&b, 19, in.p, in.n);
	code = one_frame(r, &b, &a, &id);
	CHECK_(code == 0 && id == 9, "unknown fields nested 20,000 deep: %d", code);

	/* Groups (wire types 3 and 4) nested 20,000 deep: protobuf-c has no
	 * groups: refused, the connection usable. */
	b.n = 0;
	wb_put(&b, "\x08\x0a", 2);
	for (int d = 0; d < 20000; d++)
		wb_put(&b, "\xc3\x3e", 2); /* field 1000, start group */
	for (int d = 0; d < 20000; d++)
		wb_put(&b, "\xc4\x3e", 2);
	wb_put(&b, "\x9a\x01\x00", 3);
	code = one_frame(r, &b, &a, &id);
	CHECK_((code == 0 || code == SC(INVALID_ARGUMENT)) && id == 10, "groups nested 20,000 deep: %d",
	    code);

	/* Nested messages the schema knows, repeated: the submit field 3,000
	 * times with one empty record each (merged: 3,000 records, over
	 * max_batch), and 100,000 empty records in one submit. */
	sf_raw *rn = sf_raw_open(srv->port, sf_path("dep/node.crt"), sf_path("dep/node-tls.key"),
	    TLS1_3_VERSION);
	REQUIRE(rn->hs);
	b.n = 0;
	wb_put(&b, "\x08\x0b", 2);
	for (int i = 0; i < 3000; i++)
		wb_put(&b, "\x52\x02\x0a\x00", 4);
	code = one_frame(rn, &b, &a, &id);
	/* protobuf-c keeps the last occurrence: one empty record, refused in its
	 * receipt (or, merged, over max_batch). */
	CHECK_((code == 0 || code == SC(TOO_LARGE) || code == SC(INVALID_ARGUMENT)) && id == 11,
	    "the submit field 3,000 times: %d", code);
	tmp.n = 0;
	for (int i = 0; i < 100000; i++)
		wb_put(&tmp, "\x0a\x00", 2);
	b.n = 0;
	wb_put(&b, "\x08\x0c", 2);
	wb_bytes(&b, 10, tmp.p, tmp.n);
	code = one_frame(rn, &b, &a, &id);
	CHECK_((code == SC(TOO_LARGE) || code == SC(INVALID_ARGUMENT)) && id == 12,
	    "100,000 records in one submit: %d", code);

	/* A record whose scan-in has 2,000 officers (at most 32): refused,
	 * naming the field. */
	Record rec = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__ScanIn si = EVCHAIN__V1__SCAN_IN__INIT;
	static Evchain__V1__Officer off[2000], *offp[2000];
	static char certs[2000][16];
	for (int i = 0; i < 2000; i++) {
		evchain__v1__officer__init(&off[i]);
		snprintf(certs[i], sizeof certs[i], "LC-ZF-%05d", i);
		off[i].name = "张伟";
		off[i].certificate_no = certs[i];
		offp[i] = &off[i];
	}
	fx_signed base;
	sf_scan("wire-officers", "WIRE-NEST", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key,
	    &base);
	rec = *base.decoded;
	si = *base.decoded->scan_in;
	rec.scan_in = &si;
	si.officers = offp;
	si.n_officers = 2000;
	fx_signed big;
	REQUIRE(fx_sign(&rec, &p_node.signing_key, &big) == 0);
	char msg[512];
	sf_item itb = sf_it(&big);
	evc_client *cn = sf_conn(&p_node);
	int rc = sf_submit_code(cn, &itb, msg, sizeof msg);
	CHECK_(rc == SC(INVALID_ARGUMENT) && strstr(msg, "officers"), "2,000 officers: %d %s", rc, msg);
	/* The scan-in appended again, its location repeated 5,000 times within
	 * 64 KiB (protobuf-c keeps the last occurrence of a message field: a
	 * scan-in with a location only, refused), and 20,000 times (over 64
	 * KiB: TOO_LARGE). */
	for (int round = 0; round < 2; round++) {
		int times = round ? 20000 : 5000;
		wbuf rb = { 0 }, scan = { 0 };
		wb_put(&rb, base.rec, base.len);
		tmp.n = 0;
		wb_put(&tmp, "\x09\x00\x00\x00\x00\x00\xc0\x57\x40", 9); /* latitude 95.0 */
		for (int i = 0; i < times; i++)
			wb_bytes(&scan, 8, tmp.p, tmp.n);   /* ScanIn.location */
		wb_bytes(&rb, 12, scan.p, scan.n);          /* Record.scan_in, merged */
		uint8_t sig[64];
		record_sign(&p_node.signing_key, rb.p, rb.n, sig);
		sf_item itr = { rb.p, rb.n, sig, 64, p_node.signing_key.name };
		uint64_t t0 = sf_mono_ms();
		rc = sf_submit_code(cn, &itr, msg, sizeof msg);
		uint64_t ms = sf_mono_ms() - t0;
		if (round == 0) /* protobuf-c keeps the last scan-in: no inspection id */
			CHECK_(rc == SC(INVALID_ARGUMENT), "a location repeated %d times: %d %s", times, rc,
			    msg);
		else
			CHECK_(rc == SC(TOO_LARGE), "a location repeated %d times: %d %s", times, rc, msg);
		CHECK_(ms < 1000, "a location repeated %d times took %" PRIu64 " ms", times, ms);
		free(rb.p);
		free(scan.p);
	}
	client_close(cn);
	fx_signed_free(&base);
	fx_signed_free(&big);

	pb_arena_free(&a);
	free(b.p);
	free(in.p);
	free(tmp.p);
	/* Still usable. */
	Request qs = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__StatusRequest st = EVCHAIN__V1__STATUS_REQUEST__INIT;
	qs.id = 77;
	qs.op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
	qs.status = &st;
	pb_arena_init(&a, 1 << 20);
	Response *resp = sf_raw_call(r, &qs, &a);
	CHECK_(resp != NULL && resp->id == 77 && sf_code(resp) == 0, "usable after nested fields");
	pb_arena_free(&a);
	sf_raw_close(r, SF_CLOSE_NOTIFY);
	sf_raw_close(rn, SF_CLOSE_NOTIFY);
	sf_alive("repeated and nested fields");
}

/* WIRE_TINY tiny requests (status, checkpoint, no operation) pipelined on one
 * connection, written and read without waiting: every one answered, each a
 * status or RESOURCE_EXHAUSTED (over max_inflight), in a bounded time. */
static void
t_tiny(void)
{
	uint64_t n = 200000;
	const char *e = getenv("WIRE_TINY");
	if (e != NULL)
		n = strtoull(e, NULL, 10);
	if (n == 0)
		return;
	/* Frames of 6..9 bytes: header, id, operation. */
	wbuf out = { 0 };
	for (uint64_t i = 1; i <= n; i++) {
		uint8_t body[16];
		size_t bl = 0;
		body[bl++] = 0x08;
		uint64_t v = i;
		do {
			body[bl] = (uint8_t)(v & 0x7f);
			v >>= 7;
			if (v)
				body[bl] |= 0x80;
			bl++;
		} while (v);
		switch (i % 4) {
		case 0: memcpy(body + bl, "\x5a\x00", 2); bl += 2; break;      /* checkpoint */
		case 1: case 2: memcpy(body + bl, "\x9a\x01\x00", 3); bl += 3; break; /* status */
		default: break;                                                 /* no operation */
		}
		uint8_t hdr[4];
		frame_header(hdr, (uint32_t)bl);
		wb_put(&out, hdr, 4);
		wb_put(&out, body, bl);
	}
	sf_raw *r = sf_raw_sup(srv->port);
	int fl = fcntl(r->fd, F_GETFL);
	REQUIRE(fcntl(r->fd, F_SETFL, fl | O_NONBLOCK) == 0);
	pb_arena a;
	pb_arena_init(&a, 1 << 20);
	uint64_t written = 0, got = 0, ok = 0, exhausted = 0, other = 0, bad_id = 0;
	uint64_t limit_ms = 30000 + n / 10; /* 30 s + 0.1 ms a request */
	uint64_t t0 = sf_mono_ms();
	int closed = 0;
	while (got < n && sf_mono_ms() - t0 < limit_ms && !closed) {
		int want_write = written < out.n;
		if (want_write) {
			size_t chunk = out.n - written < 16384 ? out.n - written : 16384;
			int k = SSL_write(r->ssl, out.p + written, (int)chunk);
			if (k > 0)
				written += (uint64_t)k;
			else
				ERR_clear_error();
		}
		/* Everything readable now. */
		for (;;) {
			const uint8_t *p;
			size_t plen;
			ssize_t fn = r->len ? frame_parse(r->in, r->len, CLIENT_MAX_FRAME, &p, &plen)
			    : FRAME_NEED_MORE;
			if (fn > 0) {
				pb_arena_reset(&a);
				Response *resp = (Response *)pb_unpack(&a, &evchain__v1__response__descriptor,
				    p, plen);
				got++;
				if (resp == NULL)
					other++;
				else if (resp->id < 1 || resp->id > n)
					bad_id++;
				else if (sf_code(resp) == 0 || (resp->id % 4 == 3 &&
				    sf_code(resp) == SC(INVALID_ARGUMENT)))
					ok++;
				else if (sf_code(resp) == SC(RESOURCE_EXHAUSTED))
					exhausted++;
				else
					other++;
				memmove(r->in, r->in + fn, r->len - (size_t)fn);
				r->len -= (size_t)fn;
				continue;
			}
			if (r->cap - r->len < 16384) {
				size_t nc = r->cap ? 2 * r->cap : 65536;
				REQUIRE((r->in = realloc(r->in, nc)) != NULL);
				r->cap = nc;
			}
			int k = SSL_read(r->ssl, r->in + r->len, (int)(r->cap - r->len));
			if (k > 0) {
				r->len += (size_t)k;
				continue;
			}
			int err = SSL_get_error(r->ssl, k);
			ERR_clear_error();
			if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
				closed = 1;
			break;
		}
		struct pollfd pfd = { r->fd, (short)(POLLIN | (written < out.n ? POLLOUT : 0)), 0 };
		(void)poll(&pfd, 1, 50);
	}
	uint64_t ms = sf_mono_ms() - t0;
	CHECK_(got == n && ok + exhausted == n, "%" PRIu64 " tiny requests: %" PRIu64 " answered (%"
	    PRIu64 " ok, %" PRIu64 " resource exhausted, %" PRIu64 " other, %" PRIu64 " bad ids) in %"
	    PRIu64 " ms%s", n, got, ok, exhausted, other, bad_id, ms, closed ? ", then closed" : "");
	printf("wire: %" PRIu64 " tiny requests pipelined on one connection: all answered in %" PRIu64
	    " ms (%" PRIu64 " refused RESOURCE_EXHAUSTED over max_inflight)\n", n, ms, exhausted);
	REQUIRE(fcntl(r->fd, F_SETFL, fl) == 0);
	pb_arena_free(&a);
	free(out.p);
	sf_raw_close(r, SF_CLOSE_NOTIFY);
	sf_alive("tiny requests");
}

/* Records with every kind of validation error: the example of each kind
 * (`evchain example`) with one change; signed by the node (the admin for
 * key and policy records); INVALID_ARGUMENT naming the field, each. */
typedef struct badcase {
	const char *kind;
	const char *from, *to;
	const char *from2, *to2;
	const char *needle;
} badcase;

static const badcase bad_records[] = {
	{ "scan_in", "\"record_id\": \"LC-SCJG-2025-0001-scan-in\"", "\"record_id\": \"\"", NULL, NULL,
	  "record_id" },
	{ "scan_in", "\"record_id\": \"LC-SCJG-2025-0001-scan-in\"", "\"record_id\": \"LC 0001\"", NULL,
	  NULL, "record_id" },
	{ "scan_in", "\"record_id\": \"LC-SCJG-2025-0001-scan-in\"", "\"record_id\": \"@LONGID@\"", NULL,
	  NULL, "record_id" },
	{ "scan_in", "\"record_id\": \"LC-SCJG-2025-0001-scan-in\"",
	  "\"record_id\": \"R-future\", \"created_ms\": @FUTURE@", NULL, NULL, "created_ms" },
	{ "scan_in", "\"record_id\": \"LC-SCJG-2025-0001-scan-in\"",
	  "\"record_id\": \"R-1999\", \"created_ms\": 915148800000", NULL, NULL, "created_ms" },
	{ "scan_in", "91371502MA0EXAMP1R", "91371502MA0EXAMP1A", NULL, NULL, "company_uscc" },
	{ "scan_in", "91371502MA0EXAMP1R", "91371502MA0", NULL, NULL, "company_uscc" },
	{ "scan_in", "91371502MA0EXAMP1R", "91371502ma0examp1r", NULL, NULL, "company_uscc" },
	{ "scan_in", ", {\"name\": \"李娜\", \"certificate_no\": \"LC-ZF-250102\"}", "", NULL, NULL,
	  "officers" },
	{ "scan_in", "LC-ZF-250102", "LC-ZF-250101", NULL, NULL, "officers" },
	{ "scan_in", "\"name\": \"张伟\"", "\"name\": \"\"", NULL, NULL, "name" },
	{ "scan_in", "\"method\": \"LICENCE_QR_SCAN\", ", "", NULL, NULL, "method" },
	{ "scan_in", "\"method\": \"LICENCE_QR_SCAN\"", "\"method\": \"LOCATION_CHECKIN\"",
	  "\"location\": {\"latitude\": 36.4567, \"longitude\": 115.9853, \"address\": "
	  "\"山东省聊城市东昌府区示例路88号\", \"accuracy_m\": 8.5}, ", "", "location" },
	{ "scan_in", "\"latitude\": 36.4567", "\"latitude\": 95.5", NULL, NULL, "latitude" },
	{ "scan_in", "\"accuracy_m\": 8.5", "\"accuracy_m\": -1", NULL, NULL, "accuracy_m" },
	{ "scan_in", "\"plan_id\": \"LC-SCJG-JH-2025-01\", ", "", NULL, NULL, "basis" },
	{ "scan_in", "\"kind\": \"RANDOM_DRAW\", ", "", NULL, NULL, "kind" },
	{ "scan_in", "\"entry_type\": \"ADMINISTRATIVE_INSPECTION\", ", "", NULL, NULL, "entry_type" },
	{ "scan_in", "\"company_name\": \"聊城示例轴承制造有限公司\"",
	  "\"company_name\": \"聊城示例\\u202e轴承\"", NULL, NULL, "company_name" },
	{ "scan_in", "\"company_name\": \"聊城示例轴承制造有限公司\"", "\"company_name\": \"a\\u0007b\"",
	  NULL, NULL, "company_name" },
	{ "scan_in", "\"company_name\": \"聊城示例轴承制造有限公司\"", "\"company_name\": \"@LONGNAME@\"",
	  NULL, NULL, "company_name" },
	{ "scan_in", "\"sensitivity\": [\"DISPUTE_PRONE\"]", "\"sensitivity\": [@MANYSENS@]", NULL, NULL,
	  "sensitivity" },
	{ "certificate_check", "\"certificate_no\": \"LC-ZF-250101\"", "\"certificate_no\": \"\"", NULL,
	  NULL, "certificate_no" },
	{ "certificate_check", "\"result\": \"VALID\", ", "", NULL, NULL, "result" },
	{ "evidence", "ffdd43c164a1466aaa06ecaa36f24daf1b02f3b344a3d565f352a06fc41ffd4e",
	  "ffdd43c164a1466aaa06ecaa36f24daf1b02f3b344a3d565f352a06fc41ffd", NULL, NULL, "sha256" },
	{ "evidence", "\"size\": 734003200", "\"size\": 734003200, \"sm3\": \"0102\"", NULL, NULL, "sm3" },
	{ "evidence", "\"size\": 734003200", "\"size\": 0", NULL, NULL, "size" },
	{ "evidence", "\"capture_end_ms\": \"2025-05-12T10:45:00+08:00\"",
	  "\"capture_end_ms\": \"2025-05-12T08:45:00+08:00\"", NULL, NULL, "capture_end_ms" },
	{ "evidence", "\"place\": {\"latitude\": 36.4567, \"longitude\": 115.9853, \"address\": "
	  "\"山东省聊城市东昌府区示例路88号 成品仓库\"}, ", "", NULL, NULL, "place" },
	{ "evidence", "\"recorder\": {\"name\": \"李娜\", \"certificate_no\": \"LC-ZF-250102\"}, ", "",
	  NULL, NULL, "recorder" },
	{ "evidence", "\"media_kind\": \"FULL_PROCESS_RECORDING\"", "\"media_kind\": 77", NULL, NULL,
	  "media_kind" },
	{ "disposition", "\"deadline_ms\": \"2025-05-26T17:00:00+08:00\", ", "", NULL, NULL,
	  "deadline_ms" },
	{ "disposition", "\"deadline_ms\": \"2025-05-26T17:00:00+08:00\"",
	  "\"deadline_ms\": \"2025-05-01T17:00:00+08:00\"", NULL, NULL, "deadline_ms" },
	{ "disposition", "\"outcome\": \"CORRECT_BY_DEADLINE\"", "\"outcome\": \"TRANSFER\"", NULL, NULL,
	  "receiving_agency" },
	{ "disposition", "\"outcome\": \"CORRECT_BY_DEADLINE\"", "\"outcome\": \"CASE_FILED\"", NULL,
	  NULL, "case_no" },
	{ "disposition", "\"outcome\": \"CORRECT_BY_DEADLINE\", ", "", NULL, NULL, "outcome" },
	{ "inspection_plan", "\"legal_basis\": \"《中华人民共和国产品质量法》《中华人民共和国计量法》"
	  "《聊城市严格规范涉企行政检查工作实施方案》（聊政办发〔2025〕3号）\", ", "", NULL, NULL,
	  "legal_basis" },
	{ "inspection_plan", "\"plan_type\": \"ANNUAL\"", "\"plan_type\": \"SPECIAL\"", NULL, NULL,
	  "approval" },
	{ "inspection_plan", "\"month\": 5", "\"month\": 13", NULL, NULL, "month" },
	{ "inspection_plan", "\"end_ms\": \"2025-12-31T23:59:59+08:00\"",
	  "\"end_ms\": \"2025-01-31T23:59:59+08:00\"", NULL, NULL, "end_ms" },
	{ "inspection_plan", "\"year\": 2025", "\"year\": 1999", NULL, NULL, "year" },
	{ "company_feedback", "\"rating\": 5", "\"rating\": 6", NULL, NULL, "rating" },
	{ "company_feedback", "\"channel\": \"AISHANDONG_APP\", ", "", NULL, NULL, "channel" },
	{ "frequency_cap", "\"max_per_year\": 1", "\"max_per_year\": 0", NULL, NULL, "max_per_year" },
	{ "risk_grade", "\"company_uscc\": \"91371502MA0EXAMP1R\"", "\"company_uscc\": \"91371502MA0EXAMP1A\"",
	  NULL, NULL, "company_uscc" },
	{ "risk_grade", "\"risk_grade\": \"A\"", "\"risk_grade\": \"\"", NULL, NULL, "risk_grade" },
	{ "node_key", "aef76aa8d664e8da0ba09869922c8e532450a5c8f45e50fae31beb19dff3b375",
	  "aef76aa8d664e8da0ba09869922c8e532450a5c8f45e50fae31beb19dff3b3", NULL, NULL, "public_key" },
	{ "node_key", "aef76aa8d664e8da0ba09869922c8e532450a5c8f45e50fae31beb19dff3b375",
	  "0100000000000000000000000000000000000000000000000000000000000000",
	  ", \"verifier_key\": \"platform-node-2+1a3bc595+Aa73aqjWZOjaC6CYaZIsjlMkUKXI9F5Q+uMb6xnf87N1\"",
	  "", "public_key" },
	{ "node_key", "\"key_name\": \"platform-node-2\"", "\"key_name\": \"platform-node-9\"", NULL, NULL,
	  "verifier_key" },
	{ "node_key", "\"key_name\": \"platform-node-2\"", "\"key_name\": \"platform node 2\"", NULL, NULL,
	  "key_name" },
	{ "node_key", "\"valid_until_ms\": \"2027-04-27T23:59:59+08:00\"",
	  "\"valid_until_ms\": \"2024-04-27T23:59:59+08:00\"", NULL, NULL, "valid_until_ms" },
	{ "", NULL, NULL, NULL, NULL, "body" },
};

/* s with `from` replaced by `to` (and the @…@ placeholders expanded). */
static char *
replace(const char *s, const char *from, const char *to)
{
	static char longid[200], longname[400], future[32], manysens[2048];
	if (!longid[0]) {
		memset(longid, 'r', 129);
		memset(longname, 'x', 300);
		snprintf(future, sizeof future, "%" PRId64, fx_now_ms() + 11 * 60000);
		for (int i = 0; i < 65; i++)
			strcat(manysens, i ? ",\"DISPUTE_PRONE\"" : "\"DISPUTE_PRONE\"");
	}
	const char *at = from ? strstr(s, from) : NULL;
	if (from != NULL && at == NULL)
		return NULL;
	char *out = malloc(strlen(s) + 4096);
	REQUIRE(out != NULL);
	if (from == NULL) {
		strcpy(out, s);
		return out;
	}
	size_t k = (size_t)(at - s);
	memcpy(out, s, k);
	out[k] = '\0';
	const char *t = to;
	static const struct { const char *ph, *val; } ph[] = { { "@LONGID@", longid },
		{ "@LONGNAME@", longname }, { "@FUTURE@", future }, { "@MANYSENS@", manysens } };
	int done = 0;
	for (size_t i = 0; i < sizeof ph / sizeof ph[0] && !done; i++) {
		const char *p = strstr(t, ph[i].ph);
		if (p != NULL) {
			strncat(out, t, (size_t)(p - t));
			strcat(out, ph[i].val);
			strcat(out, p + strlen(ph[i].ph));
			done = 1;
		}
	}
	if (!done)
		strcat(out, t);
	strcat(out, at + strlen(from));
	return out;
}

static void
t_invalid_records(void)
{
	char out[8192], cmd[1024];
	size_t n = sizeof bad_records / sizeof bad_records[0];
	uint64_t before = tree_size();
	int checked = 0;
	evc_client *cn = sf_conn(&p_node), *ca = sf_conn(&p_admin);

	for (size_t i = 0; i < n; i++) {
		const badcase *bc = &bad_records[i];
		char *json;
		if (bc->kind[0] == '\0') {
			json = strdup("{\"record_id\": \"no-body\"}");
		} else {
			snprintf(cmd, sizeof cmd, "'%s' example %s", sf_prog("evchain"), bc->kind);
			REQUIRE(fx_run(cmd, out, sizeof out) == 0);
			char *j1 = replace(out, bc->from, bc->to);
			CHECK_(j1 != NULL, "case %zu: \"%s\" is not in the %s example", i, bc->from, bc->kind);
			if (j1 == NULL)
				continue;
			json = bc->from2 ? replace(j1, bc->from2, bc->to2) : strdup(j1);
			CHECK_(json != NULL, "case %zu: \"%s\" is not in the %s example", i, bc->from2,
			    bc->kind);
			free(j1);
			if (json == NULL)
				continue;
		}
		int admin = strcmp(bc->kind, "node_key") == 0 || strcmp(bc->kind, "frequency_cap") == 0 ||
		    strcmp(bc->kind, "risk_grade") == 0;
		const evc_skey *sk = admin ? &p_admin.signing_key : &p_node.signing_key;
		pb_arena a;
		Record *r = NULL;
		char err[512] = "";
		pb_arena_init(&a, 4u << 20);
		if (pbjson_record_from_text(json, strlen(json), &a, &r, err, sizeof err) != 0) {
			/* JSON the client itself refuses (unknown field): nothing to send. */
			CHECK_(bc->needle[0] == '\0', "case %zu: pbjson refused it: %s\n%s", i, err, json);
			pb_arena_free(&a);
			free(json);
			continue;
		}
		if (r->created_ms == 0)
			r->created_ms = fx_now_ms();
		fx_signed s;
		REQUIRE(fx_sign(r, sk, &s) == 0);
		sf_item it = sf_it(&s);
		char msg[512];
		int code = sf_submit_code(admin ? ca : cn, &it, msg, sizeof msg);
		CHECK_(code == SC(INVALID_ARGUMENT) && strstr(msg, bc->needle) != NULL,
		    "case %zu (%s, %s): %d \"%s\"", i, bc->kind, bc->needle, code, msg);
		checked++;
		if (getenv("EVC_VERBOSE"))
			fprintf(stderr, "invalid record %zu: %d %s\n", i, code, msg);
		fx_signed_free(&s);
		pb_arena_free(&a);
		free(json);
	}
	client_close(cn);
	client_close(ca);
	CHECK_(tree_size() == before, "invalid records were appended");
	printf("wire: %d invalid records (every rule kind), each INVALID_ARGUMENT naming its field; none "
	    "appended\n", checked);
}

/* Replays and conflicts raced over 4 connections: one entry each. */
enum { RACERS = 4, ROUNDS = 10 };

typedef struct racer {
	pthread_t th;
	fx_signed *s;       /* what this racer sends, ROUNDS times */
	int ok, dup, conflict, other;
	uint64_t index;
	int index_varies;
} racer;

static void *
racer_main(void *arg)
{
	racer *R = arg;
	evc_client *c = NULL;
	char err[512];
	if (client_connect(&p_node, sf_addr, &c, err, sizeof err) != 0) {
		R->other = ROUNDS;
		return NULL;
	}
	int64_t ids[ROUNDS];
	for (int k = 0; k < ROUNDS; k++) {
		Request q;
		Evchain__V1__SubmitRequest sub;
		Evchain__V1__SignedRecord sr, *srp;
		sf_item it = sf_it(R->s);
		sf_submit_req(&q, &sub, &sr, &srp, &it, 1);
		ids[k] = client_send(c, &q);
	}
	R->index = UINT64_MAX;
	for (int k = 0; k < ROUNDS; k++) {
		pb_arena a;
		Response *resp;
		pb_arena_init(&a, 4u << 20);
		if (ids[k] < 0 || client_recv(c, &a, &resp) != 0) {
			R->other++;
			pb_arena_free(&a);
			continue;
		}
		Receipt *rc = sf_code(resp) == 0 && resp->result_case == EVCHAIN__V1__RESPONSE__RESULT_SUBMIT &&
		    resp->submit->n_receipts == 1 ? resp->submit->receipts[0] : NULL;
		if (rc == NULL)
			R->other++;
		else if (sf_rcode(rc) == SC(CONFLICT))
			R->conflict++;
		else if (sf_rcode(rc) == 0 && client_verify_receipt(&p_node, rc, R->s->rec, R->s->len,
		    R->s->sig, err, sizeof err) == 0) {
			if (rc->duplicate)
				R->dup++;
			else
				R->ok++;
			if (R->index != UINT64_MAX && R->index != rc->index)
				R->index_varies = 1;
			R->index = rc->index;
		} else {
			R->other++;
		}
		pb_arena_free(&a);
	}
	client_close(c);
	return NULL;
}

static void
race(fx_signed *const *s, const char *what, int conflicting)
{
	racer R[RACERS];
	for (int i = 0; i < RACERS; i++) {
		memset(&R[i], 0, sizeof R[i]);
		R[i].s = s[i];
		REQUIRE(pthread_create(&R[i].th, NULL, racer_main, &R[i]) == 0);
	}
	int appended = 0, dups = 0, conflicts = 0, other = 0, winners = 0;
	uint64_t index = UINT64_MAX;
	int same_index = 1;
	for (int i = 0; i < RACERS; i++) {
		pthread_join(R[i].th, NULL);
		appended += R[i].ok;
		dups += R[i].dup;
		conflicts += R[i].conflict;
		other += R[i].other;
		if (R[i].ok + R[i].dup > 0) {
			winners++;
			if (index != UINT64_MAX && R[i].index != index)
				same_index = 0;
			index = R[i].index;
			same_index &= !R[i].index_varies;
		}
	}
	CHECK_(appended == 1 && other == 0 && same_index, "%s: %d appended, %d duplicates, %d conflicts, "
	    "%d other%s", what, appended, dups, conflicts, other, same_index ? "" : ", indexes differ");
	if (conflicting)
		CHECK_(winners == 1 && conflicts == (RACERS - 1) * ROUNDS, "%s: %d versions won, %d conflicts",
		    what, winners, conflicts);
	else
		CHECK_(dups == RACERS * ROUNDS - 1, "%s: %d duplicates", what, dups);
}

static void
t_replay(void)
{
	fx_signed same, v[RACERS];
	fx_signed *sp[RACERS];
	uint64_t before = tree_size();

	/* The same record from 4 connections, 10 times each, all at once. */
	sf_scan("wire-race-same", "WIRE-RACE", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key,
	    &same);
	for (int i = 0; i < RACERS; i++)
		sp[i] = &same;
	race(sp, "one record raced", 0);
	/* 4 versions of one record id (other bytes), raced. */
	for (int i = 0; i < RACERS; i++) {
		char cert[32];
		snprintf(cert, sizeof cert, "LC-ZF-%04d", 100 + i);
		sf_scan("wire-race-conflict", "WIRE-RACE", FX_USCC, cert, "LC-ZF-0002", &p_node.signing_key,
		    &v[i]);
		sp[i] = &v[i];
	}
	race(sp, "four versions raced", 1);
	CHECK_EQ(tree_size(), before + 2);

	/* Replayed later: still the same entry; another version still a conflict. */
	evc_client *c = sf_conn(&p_node);
	sf_got g;
	CHECK(sf_submit_ok(c, &p_node, &same, &g) && g.dup);
	char msg[512];
	int won = -1;
	for (int i = 0; i < RACERS; i++) {
		sf_item it = sf_it(&v[i]);
		int code = sf_submit_code(c, &it, msg, sizeof msg);
		if (code == 0)
			won = i;
		else
			CHECK_(code == SC(CONFLICT), "a losing version replayed: %d %s", code, msg);
	}
	CHECK(won >= 0);
	client_close(c);
	/* Another node's record, over this node's... and the node's record over
	 * the connection of another (unregistered) node: refused. */
	evc_client *c2 = sf_conn(&p_node2);
	sf_item it = sf_it(&same);
	int code = sf_submit_code(c2, &it, msg, sizeof msg);
	CHECK_(code == SC(PERMISSION_DENIED), "another node's record replayed: %d %s", code, msg);
	it.key = p_node2.signing_key.name;
	code = sf_submit_code(c2, &it, msg, sizeof msg);
	CHECK_(code != 0, "another node's record under this node's name: %d %s", code, msg);
	client_close(c2);
	CHECK_EQ(tree_size(), before + 2);
	fx_signed_free(&same);
	for (int i = 0; i < RACERS; i++)
		fx_signed_free(&v[i]);
}

/* Certificates from the deployment CA that have expired. */
static void
t_expired(void)
{
	static const char *const roles[][2] = { { "supervisor", "supervisor" },
		{ "node", "platform-node-1" } };
	for (int i = 0; i < 2; i++) {
		sf_keys("issue --ca '%s' --role %s --name %s --days 30 --not-before-days-ago 40 --out '%s'",
		    sf_dep, roles[i][0], roles[i][1], sf_path("dep/expired-%s", roles[i][0]));
		char text[1024];
		evc_profile p;
		snprintf(text, sizeof text, "server = 127.0.0.1:9\nrole = %s\nca = ca.crt\n"
		    "cert = expired-%s.crt\nkey = expired-%s-tls.key\nlog_key = log.pub\n%s", roles[i][0],
		    roles[i][0], roles[i][0], i ? "signing_key = node.key\n" : "");
		sf_write(sf_path("dep/expired-%s.conf", roles[i][0]), text);
		char name[64];
		snprintf(name, sizeof name, "expired-%s.conf", roles[i][0]);
		sf_profile(name, &p);
		char what[64];
		snprintf(what, sizeof what, "an expired %s certificate", roles[i][0]);
		refused_profile(&p, what);
		client_profile_wipe(&p);
	}
}

static void
t_hostile(void)
{
	sf_begin("hostile", 240);
	uint64_t before = tree_size();
	memcpy(watch.addr, sf_addr, sizeof watch.addr);
	atomic_store(&watch.stop, 0);
	REQUIRE(pthread_create(&watch.th, NULL, watch_main, NULL) == 0);

	static const struct {
		void (*fn)(void);
		const char *name;
	} phases[] = { { t_random_bytes, "random bytes" }, { t_random_requests, "random requests" },
		{ t_fields, "repeated and nested fields" }, { t_tiny, "tiny requests" },
		{ t_invalid_records, "invalid records" }, { t_replay, "replays" },
		{ t_expired, "expired certificates" } };
	for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++) {
		uint64_t t0 = sf_mono_ms();
		phases[i].fn();
		if (getenv("EVC_VERBOSE"))
			fprintf(stderr, "hostile: %s: %" PRIu64 " ms, the watcher's slowest so far %" PRIu64
			    " ms\n", phases[i].name, sf_mono_ms() - t0, watch.worst_ms);
	}

	atomic_store(&watch.stop, 1);
	pthread_join(watch.th, NULL);
	CHECK_(watch.failed == 0 && watch.ok > 0, "the well-behaved client: %u served, %u not (%s)",
	    watch.ok, watch.failed, watch.err);
	/* Appended: the mutants' base record and the two raced ones, nothing else. */
	CHECK_EQ(tree_size(), before + 3);
	printf("wire: hostile peers throughout: a well-behaved client served %u times, the slowest in %"
	    PRIu64 " ms, never refused\n", watch.ok, watch.worst_ms);
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

	t_tls();
	t_frames();
	t_hostile();
	t_limits();
	t_sigterm();
	alarm(0);
	CHECK_DONE("test_wire");
}
