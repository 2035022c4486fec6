/*
 * test_exhaust.c — the exhaustion campaign, against the real evchaind:
 *
 *   connections  with the default limits (max_connections 1024): 1,000 idle
 *                TLS connections (handshakes done, never a request) and 20
 *                slow-loris clients (a ClientHello, a frame header, a 4 MiB
 *                frame's body, each trickled a byte at a time) held open
 *                while a new client connects, asks its status and submits a
 *                record, again and again: each within a second. RLIMIT_NOFILE
 *                is raised for this process and the server it starts.
 *   reclaim      a server with max_connections 40 and a 400 ms handshake
 *                timeout, filled with half-open handshakes: new clients are
 *                refused at accept, and served again once the timeout has
 *                closed the squatters.
 *   map          a ledger with map_size 1M and map_max 2M (sync = no: the
 *                map, not the disk, is under test), filled by
 *                submits: the map grows to map_max, then every record is
 *                refused with RESOURCE_EXHAUSTED naming map_max, nothing
 *                acknowledged is lost, reads go on, SIGTERM stops the server
 *                cleanly, evchain-verify ledger passes; restarted with a
 *                larger map_max the log grows again, to its new limit
 *                (README "Storage").
 */
#include <sys/resource.h>

#include "srvfix.h"

static sf_server *srv;

/* A configuration: the dev one plus extra lines. */
static const char *
conf_with(const char *name, const char *extra)
{
	char conf[8192];
	FILE *f = fopen(sf_path("dep/evchaind.conf"), "r");
	REQUIRE(f != NULL);
	size_t n = fread(conf, 1, sizeof conf - 1024, f);
	fclose(f);
	conf[n] = '\0';
	REQUIRE(strlen(extra) < 1000);
	strcat(conf, extra);
	const char *path = sf_path("dep/%s", name);
	sf_write(path, conf);
	return path;
}

static void
register_node(void)
{
	evc_client *c = sf_conn(&p_admin);
	evc_vkey vk;
	fx_signed reg;
	char rid[64];
	snprintf(rid, sizeof rid, "exhaust-register-%d", srv->port);
	keys_public(&p_node.signing_key, &vk);
	REQUIRE(fx_node_key(rid, &p_admin.signing_key, &vk, EVCHAIN__V1__NODE_KEY__ROLE__NODE,
	    EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, fx_now_ms(), &reg) == 0);
	REQUIRE(sf_submit_ok(c, &p_admin, &reg, NULL));
	fx_signed_free(&reg);
	client_close(c);
}

/* A new client: connect, status (supervisor), or a submit (node); ms taken. */
static uint64_t
newcomer(int submit, unsigned k, int *ok)
{
	uint64_t t0 = sf_mono_ms();
	evc_client *c = NULL;
	char err[512];
	*ok = client_connect(submit ? &p_node : &p_sup, sf_addr, &c, err, sizeof err) == 0;
	if (*ok && submit) {
		fx_signed s;
		char rid[64];
		snprintf(rid, sizeof rid, "exhaust-newcomer-%u-%d", k, srv->port);
		sf_scan(rid, "EXHAUST-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key, &s);
		pb_arena a;
		pb_arena_init(&a, 16u << 20);
		fx_signed *sp = &s;
		Response *r = NULL;
		Request q;
		Evchain__V1__SubmitRequest sub;
		Evchain__V1__SignedRecord sr, *srp;
		sf_item it = sf_it(&s);
		sf_submit_req(&q, &sub, &sr, &srp, &it, 1);
		*ok = client_call(c, &q, &a, &r) == 0 && sf_code(r) == 0 &&
		    r->result_case == EVCHAIN__V1__RESPONSE__RESULT_SUBMIT && r->submit->n_receipts == 1 &&
		    sf_rcode(r->submit->receipts[0]) == 0;
		(void)sp;
		pb_arena_free(&a);
		fx_signed_free(&s);
	} else if (*ok) {
		pb_arena a;
		pb_arena_init(&a, 1 << 20);
		Response *r = NULL;
		Request q = EVCHAIN__V1__REQUEST__INIT;
		Evchain__V1__StatusRequest st = EVCHAIN__V1__STATUS_REQUEST__INIT;
		q.op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
		q.status = &st;
		*ok = client_call(c, &q, &a, &r) == 0 && sf_code(r) == 0;
		pb_arena_free(&a);
	}
	client_close(c);
	return sf_mono_ms() - t0;
}

/* ---- connections ------------------------------------------------------------- */

enum { IDLE = 1000, LORIS = 20 };

/* An idle TLS connection as a supervisor: one client context for all. */
typedef struct idle_conn {
	int fd;
	SSL *ssl;
} idle_conn;

static SSL_CTX *
idle_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	REQUIRE(ctx != NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	REQUIRE(SSL_CTX_load_verify_locations(ctx, sf_path("dep/ca.crt"), NULL) == 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	REQUIRE(SSL_CTX_use_certificate_chain_file(ctx, sf_path("dep/supervisor.crt")) == 1);
	REQUIRE(SSL_CTX_use_PrivateKey_file(ctx, sf_path("dep/supervisor-tls.key"), SSL_FILETYPE_PEM) == 1);
	return ctx;
}

static int
idle_open(SSL_CTX *ctx, idle_conn *ic)
{
	ic->fd = sf_tcp(srv->port);
	REQUIRE((ic->ssl = SSL_new(ctx)) != NULL);
	SSL_set_fd(ic->ssl, ic->fd);
	int ok = SSL_connect(ic->ssl) == 1;
	ERR_clear_error();
	return ok;
}

static void
idle_close(idle_conn *ic, int notify)
{
	if (notify)
		SSL_shutdown(ic->ssl);
	SSL_free(ic->ssl);
	close(ic->fd);
	ERR_clear_error();
}

static void
t_connections(void)
{
	static idle_conn idle[IDLE];
	SSL_CTX *ctx = idle_ctx();
	sf_raw *loris_tls[LORIS];
	int loris_fd[LORIS], kind[LORIS];
	uint64_t worst = 0, t0;
	int served = 0, tries = 0;

	sf_begin("connections", 120);
	/* 1,000 idle TLS connections, as a supervisor, handshakes complete. */
	t0 = sf_mono_ms();
	int done = 0;
	for (int i = 0; i < IDLE; i++)
		done += idle_open(ctx, &idle[i]);
	uint64_t t_idle = sf_mono_ms() - t0;
	CHECK_EQ(done, IDLE);
	/* TLS 1.3: the server has checked the certificate once it answers. */
	pb_arena a;
	pb_arena_init(&a, 1 << 20);
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__StatusRequest st = EVCHAIN__V1__STATUS_REQUEST__INIT;
	q.op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
	q.status = &st;
	sf_raw *probe = sf_raw_sup(srv->port);
	Response *r = sf_raw_call(probe, &q, &a);
	CHECK_(r != NULL && sf_code(r) == 0 && r->status_info->connections >= IDLE,
	    "the server sees %u connections", r && r->status_info ? r->status_info->connections : 0);
	pb_arena_free(&a);
	sf_raw_close(probe, SF_CLOSE_NOTIFY);

	/* 20 slow-loris clients: a TLS handshake, a frame header and a large
	 * frame's body, each trickled. */
	for (int i = 0; i < LORIS; i++) {
		kind[i] = i % 3;
		loris_fd[i] = -1;
		loris_tls[i] = NULL;
		if (kind[i] == 0) {
			loris_fd[i] = sf_tcp(srv->port);
			/* A TLS record header of a ClientHello: more is promised. */
			CHECK(send(loris_fd[i], "\x16\x03\x01\x02", 4, 0) == 4);
		} else {
			loris_tls[i] = sf_raw_sup(srv->port);
			if (kind[i] == 2)
				CHECK(sf_raw_write(loris_tls[i], "\x00\x40\x00\x00", 4) == 0); /* 4 MiB */
		}
	}

	/* New clients while the squatters trickle, for about 2.5 s. */
	t0 = sf_mono_ms();
	for (unsigned k = 0; sf_mono_ms() - t0 < 2500; k++) {
		for (int i = 0; i < LORIS; i++) {
			if (kind[i] == 0)
				(void)send(loris_fd[i], "\x01", 1, MSG_NOSIGNAL);
			else if (kind[i] == 1 && k < 3)
				(void)sf_raw_write(loris_tls[i], "\x00", 1); /* a header, never finished */
			else if (kind[i] == 2)
				(void)sf_raw_write(loris_tls[i], "\x0a", 1);
		}
		int ok;
		uint64_t ms = newcomer(k % 2, k, &ok);
		tries++;
		served += ok;
		CHECK_(ok && ms < 1000, "a new client with %d idle and %d slow connections: %s after %"
		    PRIu64 " ms", IDLE, LORIS, ok ? "served" : "not served", ms);
		if (ms > worst)
			worst = ms;
		usleep(150000);
	}
	printf("exhaust: %d idle TLS connections (set up in %" PRIu64 " ms) + %d slow-loris: %d/%d new "
	    "clients served, the slowest in %" PRIu64 " ms\n", IDLE, t_idle, LORIS, served, tries, worst);

	for (int i = 0; i < LORIS; i++) {
		if (loris_fd[i] >= 0)
			close(loris_fd[i]);
		sf_raw_close(loris_tls[i], SF_CLOSE_RST);
	}
	for (int i = 0; i < IDLE; i++)
		idle_close(&idle[i], i % 2);
	SSL_CTX_free(ctx);
	sf_alive("1,000 idle and 20 slow-loris connections");
}

/* ---- reclaim --------------------------------------------------------------------- */

static void
t_reclaim(void)
{
	enum { MAXC = 40 };
	int fd[MAXC + 10];
	char main_addr[64];

	sf_begin("reclaim", 60);
	memcpy(main_addr, sf_addr, sizeof main_addr);
	sf_server *s = sf_start(conf_with("reclaim.conf", "max_connections = 40\n"
	    "handshake_timeout_ms = 400\n"), sf_path("reclaim-data"));
	sf_use(s);
	/* Squatters: TCP connections that never finish a handshake. */
	for (int i = 0; i < MAXC + 10; i++) {
		fd[i] = sf_tcp(s->port);
		(void)send(fd[i], "\x16\x03\x01", 3, MSG_NOSIGNAL);
	}
	usleep(50000);
	int ok;
	(void)newcomer(0, 0, &ok);
	CHECK_(!ok, "a client beyond max_connections was served");
	/* The handshake timeout closes the squatters; new clients get in. */
	usleep(600000);
	uint64_t ms = newcomer(0, 1, &ok);
	CHECK_(ok && ms < 1000, "after the handshake timeout: %s in %" PRIu64 " ms",
	    ok ? "served" : "not served", ms);
	int closed = 0;
	for (int i = 0; i < MAXC + 10; i++) {
		closed += sf_tcp_closed(fd[i]);
		close(fd[i]);
	}
	CHECK_EQ(closed, MAXC + 10);
	CHECK_EQ(sf_stop(s, SIGTERM, 10000, NULL), 0);
	memcpy(sf_addr, main_addr, sizeof sf_addr);
}

/* ---- the map ------------------------------------------------------------------ */

typedef struct acked {
	uint64_t index;
	uint8_t leaf[32];
} acked;

static long
file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* Entries [0, size) as seen by a supervisor must hold every acknowledged
 * record at its index. Returns how many were found. */
static size_t
check_acked(const acked *ack, size_t n)
{
	evc_client *c = sf_conn(&p_sup);
	pb_arena a;
	size_t found = 0;
	pb_arena_init(&a, 16u << 20);
	for (size_t i = 0; i < n; i++) {
		Request q = EVCHAIN__V1__REQUEST__INIT;
		Evchain__V1__EntriesRequest er = EVCHAIN__V1__ENTRIES_REQUEST__INIT;
		er.start = ack[i].index;
		er.count = 1;
		q.op_case = EVCHAIN__V1__REQUEST__OP_ENTRIES;
		q.entries = &er;
		pb_arena_reset(&a);
		Response *r = sf_rpc(c, &q, &a);
		uint8_t leaf[32];
		if (sf_code(r) == 0 && r->entries->n_entries == 1) {
			merkle_leaf_hash(r->entries->entries[0].data, r->entries->entries[0].len, leaf);
			found += memcmp(leaf, ack[i].leaf, 32) == 0;
		}
	}
	pb_arena_free(&a);
	client_close(c);
	return found;
}

/* Submit batches of B records until the map is full: FULL_STREAK batches in a
 * row refused RESOURCE_EXHAUSTED (the space a batch needs is not exact:
 * pages an older snapshot held are reused once it ends). Returns the records
 * acknowledged; *exhausted: 1 full, 0 not full after `batches`, -1 an error. */
enum { B = 32, FULL_STREAK = 4 };

static size_t
fill(acked *ack, size_t cap, const char *tag, unsigned batches, int *exhausted, char *msg,
    size_t msgcap)
{
	evc_client *c = sf_conn(&p_node);
	size_t n = 0;
	int streak = 0;
	*exhausted = 0;
	for (unsigned b = 0; b < batches && streak < FULL_STREAK && *exhausted >= 0; b++) {
		fx_signed s[B], *sp[B];
		char rid[64];
		int refused = 0;
		for (int i = 0; i < B; i++) {
			snprintf(rid, sizeof rid, "exhaust-%s-%05u-%02d", tag, b, i);
			uint8_t sha[32];
			hash_sha256(rid, strlen(rid), sha);
			sf_evid(rid, "EXHAUST-MAP", FX_USCC, sha, "LC-ZF-0001", &p_node.signing_key, &s[i]);
			sp[i] = &s[i];
		}
		pb_arena a;
		pb_arena_init(&a, 16u << 20);
		Response *r = sf_submit(c, sp, B, &a);
		for (int i = 0; i < B && r != NULL && sf_code(r) == 0; i++) {
			Receipt *rc = r->submit->receipts[i];
			if (sf_rcode(rc) == SC(RESOURCE_EXHAUSTED)) {
				refused++;
				snprintf(msg, msgcap, "%s", sf_rmsg(rc));
			} else if (sf_receipt_ok(&p_node, rc, &s[i], NULL)) {
				REQUIRE(n < cap);
				ack[n].index = rc->index;
				memcpy(ack[n].leaf, rc->leaf_hash.data, 32);
				n++;
			}
		}
		CHECK_(refused == 0 || refused == B, "a batch partly refused (%d of %d)", refused, B);
		streak = refused ? streak + 1 : 0;
		if (r == NULL || sf_code(r) != 0) {
			CHECK_(0, "submit while filling the map: %d %s", sf_code(r), sf_msg(r));
			*exhausted = -1;
		}
		pb_arena_free(&a);
		for (int i = 0; i < B; i++)
			fx_signed_free(&s[i]);
	}
	if (*exhausted == 0 && streak >= FULL_STREAK)
		*exhausted = 1;
	client_close(c);
	return n;
}

static void
t_map(void)
{
	static acked ack[40000];
	char msg[512] = "", out[8192], cmd[4096], main_addr[64];
	int exhausted;

	sf_begin("map", 120);
	memcpy(main_addr, sf_addr, sizeof main_addr);
	const char *data = sf_path("map-data");
	char datafile[1024];
	snprintf(datafile, sizeof datafile, "%s/data.mdb", data);
	sf_server *s = sf_start(conf_with("map.conf", "map_size = 1M\nmap_max = 2M\nsync = no\n"), data);
	sf_use(s);
	srv = s;
	register_node();
	size_t n = fill(ack, 40000, "a", 1000, &exhausted, msg, sizeof msg);
	long size_full = file_size(datafile);
	CHECK_(exhausted == 1, "the map never filled (%zu records)", n);
	CHECK_(strstr(msg, "resource exhausted") != NULL && strstr(msg, "map_max") != NULL,
	    "the refusal says: %s", msg);
	CHECK_(size_full > (1 << 20) && size_full <= (2 << 20), "the data file is %ld bytes "
	    "(map 1 MiB, growing to 2 MiB)", size_full);
	/* Full: a refused submit appends nothing; reads go on. */
	evc_client *c = sf_conn(&p_sup);
	pb_arena a;
	pb_arena_init(&a, 1 << 20);
	Response *r = sf_status(c, &a);
	uint64_t size0 = sf_code(r) == 0 ? r->status_info->tree_size : 0;
	pb_arena_free(&a);
	int ex2;
	char msg2[512];
	size_t n2 = fill(ack + n, 40000 - n, "b", 1, &ex2, msg2, sizeof msg2);
	n += n2;
	pb_arena_init(&a, 1 << 20);
	r = sf_status(c, &a);
	CHECK_(sf_code(r) == 0 && r->status_info->tree_size == size0 + n2, "reads after the map "
	    "filled: status %d, size %" PRIu64 " → %" PRIu64 " with %zu accepted", sf_code(r), size0,
	    sf_code(r) == 0 ? r->status_info->tree_size : 0, n2);
	pb_arena_free(&a);
	client_close(c);
	CHECK_EQ(check_acked(ack, n), n);
	uint64_t ms;
	CHECK_EQ(sf_stop(s, SIGTERM, 10000, &ms), 0);
	snprintf(cmd, sizeof cmd, "'%s' ledger '%s' --log-key '%s' --quiet", sf_prog("evchain-verify"),
	    data, sf_path("dep/log.pub"));
	int rc = fx_run(cmd, out, sizeof out);
	CHECK_(rc == 0, "evchain-verify ledger of the full map: exit %d: %s", rc, out);

	/* Restarted with a larger map_max: it grows again; nothing was lost. */
	s = sf_start(conf_with("map2.conf", "map_size = 1M\nmap_max = 4M\nsync = no\n"), data);
	sf_use(s);
	srv = s;
	CHECK_EQ(check_acked(ack, n), n);
	size_t n3 = fill(ack + n, 40000 - n, "c", 1000, &ex2, msg2, sizeof msg2);
	CHECK_(n3 > 0, "after a restart with map_max 4M no record was accepted: %s", msg2);
	CHECK_EQ(check_acked(ack, n + n3), n + n3);
	long size_after = file_size(datafile);
	printf("exhaust: map 1 MiB → map_max 2 MiB: %zu records acknowledged, then RESOURCE_EXHAUSTED "
	    "(\"%s\"); data file %ld bytes; restarted with map_max 4 MiB: %zu more%s, data file %ld "
	    "bytes; none lost\n", n, msg, size_full, n3, ex2 == 1 ? " until full again" : "",
	    size_after);
	CHECK_EQ(sf_stop(s, SIGTERM, 10000, &ms), 0);
	rc = fx_run(cmd, out, sizeof out);
	CHECK_(rc == 0, "evchain-verify ledger after growing again: exit %d: %s", rc, out);
	memcpy(sf_addr, main_addr, sizeof sf_addr);
}

int
main(void)
{
	struct rlimit rl;

	/* Room for 1,000+ connections on both ends (the server inherits it). */
	REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
		REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	}
	if (rl.rlim_cur < IDLE + LORIS + 64) {
		fprintf(stderr, "test_exhaust: RLIMIT_NOFILE is %llu (hard %llu); %d needed\n",
		    (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, IDLE + LORIS + 64);
		REQUIRE(rl.rlim_cur >= IDLE + LORIS + 64);
	}
	sf_setup("exhaust");
	sf_begin("start", 20);
	srv = sf_start(sf_path("dep/evchaind.conf"), sf_path("exhaust-data"));
	sf_use(srv);
	register_node();

	t_connections();
	uint64_t ms;
	CHECK_EQ(sf_stop(srv, SIGTERM, 10000, &ms), 0);
	t_reclaim();
	t_map();
	alarm(0);
	CHECK_DONE("test_exhaust");
}
