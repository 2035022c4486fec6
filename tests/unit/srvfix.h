/*
 * srvfix.h — the integration tests' harness around the real evchaind
 * (test_server.c, test_wire.c): a temporary `evchain-keys dev` deployment
 * with extra parties, servers started on 127.0.0.1:0 (the port is read from
 * the "listening on" line they log) and always killed at exit, profiles,
 * request helpers, signed records, and a raw TLS / plain TCP client for the
 * hostile cases. Header-only (static), like fixture.h.
 *
 * Set EVC_KEEP=1 to keep the temporary directory (server logs, ledger).
 */
#ifndef EVC_SRVFIX_H
#define EVC_SRVFIX_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "../check.h"
#include "client.h"
#include "fixture.h"
#include "frame.h"
#include "hash.h"
#include "merkle.h"
#include "note.h"

typedef Evchain__V1__Request Request;
typedef Evchain__V1__Response Response;
typedef Evchain__V1__Receipt Receipt;

#define SC(x) EVCHAIN__V1__STATUS__CODE__##x

/* ---- the deployment ------------------------------------------------------ */

static char *sf_tmp;          /* evc-<tag>-XXXXXX */
static char sf_dep[600];      /* sf_tmp/dep: `evchain-keys dev` */
static char sf_addr[64];      /* 127.0.0.1:PORT of the main server */
static const char *volatile sf_phase = "setup";

static evc_profile p_node, p_admin, p_sup, p_disc, p_court, p_wit;
static evc_profile p_node2;   /* platform-node-2: certificate, key never registered */
static evc_profile p_node3;   /* platform-node-3: registered, then revoked */
static evc_profile p_foreign; /* a certificate from another CA */
static evc_profile p_srvcert; /* the server's own kind of certificate (OU=server) */

/* ---- servers ------------------------------------------------------------- */

typedef struct sf_server {
	pid_t pid;                /* 0 once reaped */
	int port;
	char log[700];
} sf_server;

#define SF_MAX_SERVERS 16
static sf_server sf_servers[SF_MAX_SERVERS];
static size_t sf_nservers;

static inline void
sf_kill_all(void) /* async-signal-safe */
{
	for (size_t i = 0; i < sf_nservers; i++)
		if (sf_servers[i].pid > 0)
			kill(sf_servers[i].pid, SIGKILL);
}

static inline void
sf_dump_log(const sf_server *s, int lines)
{
	char cmd[1024];
	fprintf(stderr, "---- last %d lines of %s ----\n", lines, s->log);
	fflush(stderr);
	snprintf(cmd, sizeof cmd, "tail -n %d '%s' >&2", lines, s->log);
	if (system(cmd) != 0)
		fprintf(stderr, "(cannot show it)\n");
}

static inline void
sf_cleanup(void)
{
	sf_kill_all();
	for (size_t i = 0; i < sf_nservers; i++) {
		if (sf_servers[i].pid > 0) {
			waitpid(sf_servers[i].pid, NULL, 0);
			sf_servers[i].pid = 0;
		}
	}
	if (check_fail_ && sf_nservers > 0)
		sf_dump_log(&sf_servers[sf_nservers - 1], 25);
	if (sf_tmp != NULL) {
		if (getenv("EVC_KEEP"))
			fprintf(stderr, "kept %s\n", sf_tmp);
		else
			fx_rmrf(sf_tmp);
		free(sf_tmp);
		sf_tmp = NULL;
	}
}

static inline void
sf_on_signal(int sig)
{
	static const char m1[] = "\nintegration test: ";
	static const char m2[] = ": timed out or interrupted; killing the servers\n";
	const char *ph = sf_phase;
	if (write(2, m1, sizeof m1 - 1) < 0 || write(2, ph, strlen(ph)) < 0 ||
	    write(2, m2, sizeof m2 - 1) < 0) {
		/* nothing more to do */
	}
	sf_kill_all();
	if (sf_tmp != NULL && !getenv("EVC_KEEP"))
		fx_rmrf(sf_tmp); /* not async-signal-safe, but we are leaving */
	_exit(sig == SIGALRM ? 3 : 128 + sig);
}

/* Start a phase: name it for the watchdog, which fires after `seconds`. */
static inline void
sf_begin(const char *name, unsigned seconds)
{
	sf_phase = name;
	alarm(seconds);
}

/* A precondition failed: say why and stop (the atexit cleanup runs). */
static inline void
sf_die(const char *why)
{
	fprintf(stderr, "integration test: %s\n", why);
	exit(2);
}

static inline const char *
sf_prog(const char *name)
{
	static char buf[4][PATH_MAX];
	static unsigned k;
	char *b = buf[k++ % 4], rel[1024];
	REQUIRE(fx_prog(name, rel, sizeof rel) != NULL);
	if (realpath(rel, b) == NULL) {
		fprintf(stderr, "%s: %s (run from the repository, or set BIN)\n", rel, strerror(errno));
		sf_die("program not found");
	}
	return b;
}

static inline const char *
sf_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline const char *
sf_path(const char *fmt, ...)
{
	static char buf[16][1024];
	static unsigned k;
	char *b = buf[k++ % 16], rel[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	REQUIRE(n >= 0 && (size_t)n < sizeof rel);
	n = snprintf(b, 1024, "%s/%s", sf_tmp, rel);
	REQUIRE(n > 0 && n < 1024);
	return b;
}

/* The port from "listening on 127.0.0.1:PORT" in the log, or 0. */
static inline int
sf_log_port(const char *log)
{
	char buf[16384];
	FILE *f = fopen(log, "r");
	if (f == NULL)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strstr(buf, "listening on 127.0.0.1:");
	if (p == NULL)
		return 0;
	long port = strtol(p + strlen("listening on 127.0.0.1:"), NULL, 10);
	return port > 0 && port < 65536 ? (int)port : 0;
}

/* Start evchaind -c conf [--listen listen] [--data data] (NULL: not given);
 * wait until it listens. Its stdout and stderr go to a log file of its own. */
static inline sf_server *
sf_start_with(const char *conf, const char *listen, const char *data)
{
	REQUIRE(sf_nservers < SF_MAX_SERVERS);
	sf_server *s = &sf_servers[sf_nservers];
	snprintf(s->log, sizeof s->log, "%s/server-%zu.log", sf_tmp, sf_nservers);
	sf_nservers++;
	const char *prog = sf_prog("evchaind");
	char *argv[10];
	int k = 0;
	argv[k++] = (char *)prog;
	argv[k++] = (char *)"-c";
	argv[k++] = (char *)conf;
	if (listen != NULL) {
		argv[k++] = (char *)"--listen";
		argv[k++] = (char *)listen;
	}
	if (data != NULL) {
		argv[k++] = (char *)"--data";
		argv[k++] = (char *)data;
	}
	argv[k] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int nul = open("/dev/null", O_RDONLY);
		if (fd < 0 || nul < 0)
			_exit(127);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		for (int i = 3; i < 1024; i++)
			close(i);
		execv(prog, argv);
		_exit(127);
	}
	s->pid = pid;
	for (int i = 0; i < 1000; i++) { /* 10 s */
		int st;
		if ((s->port = sf_log_port(s->log)) > 0)
			return s;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			s->pid = 0;
			sf_dump_log(s, 20);
			sf_die("evchaind exited while starting");
		}
		usleep(10000);
	}
	sf_dump_log(s, 20);
	sf_die("evchaind did not report its port within 10 s");
	return NULL;
}

/* Start evchaind -c conf --listen 127.0.0.1:0 [--data data]. */
static inline sf_server *
sf_start(const char *conf, const char *data)
{
	return sf_start_with(conf, "127.0.0.1:0", data);
}

static inline uint64_t
sf_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Send sig (0: none) and wait up to timeout_ms for the exit. The exit status,
 * -1 if it had to be killed, -2 if a signal ended it. *ms: time taken. */
static inline int
sf_stop(sf_server *s, int sig, uint64_t timeout_ms, uint64_t *ms)
{
	uint64_t t0 = sf_mono_ms();
	int st;
	if (ms)
		*ms = 0;
	if (s->pid <= 0)
		return -1;
	if (sig)
		kill(s->pid, sig);
	for (;;) {
		pid_t w = waitpid(s->pid, &st, WNOHANG);
		if (w == s->pid)
			break;
		if (sf_mono_ms() - t0 > timeout_ms) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
			s->pid = 0;
			if (ms)
				*ms = sf_mono_ms() - t0;
			return -1;
		}
		usleep(5000);
	}
	s->pid = 0;
	if (ms)
		*ms = sf_mono_ms() - t0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -2;
}

static inline void
sf_use(const sf_server *s)
{
	snprintf(sf_addr, sizeof sf_addr, "127.0.0.1:%d", s->port);
}

/* ---- setup ----------------------------------------------------------------- */

static inline void
sf_keys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run evchain-keys with arguments (shell words); it must succeed. */
static inline void
sf_keys(const char *fmt, ...)
{
	char args[2048], cmd[4096], out[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	REQUIRE(n > 0 && (size_t)n < sizeof args);
	snprintf(cmd, sizeof cmd, "'%s' %s", sf_prog("evchain-keys"), args);
	int rc = fx_run(cmd, out, sizeof out);
	if (rc != 0)
		fprintf(stderr, "%s\n%s", cmd, out);
	REQUIRE(rc == 0);
}

static inline void
sf_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	REQUIRE(f != NULL);
	REQUIRE(fputs(text, f) >= 0);
	REQUIRE(fclose(f) == 0);
}

static inline void
sf_profile(const char *file, evc_profile *p)
{
	char err[1024];
	const char *path = sf_path("dep/%s", file);
	if (client_profile_load(path, p, err, sizeof err) != 0)
		fprintf(stderr, "%s\n", err);
	REQUIRE(client_profile_load(path, p, err, sizeof err) == 0);
}

/* A deployment with every party, plus: platform-node-2 (never registered),
 * platform-node-3 (to be revoked), a foreign CA's supervisor certificate and
 * a server certificate offered as a client's. */
static inline void
sf_setup(const char *tag)
{
	REQUIRE(sodium_init() >= 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, sf_on_signal);
	signal(SIGINT, sf_on_signal);
	signal(SIGTERM, sf_on_signal);
	signal(SIGHUP, sf_on_signal);
	REQUIRE((sf_tmp = fx_tmpdir(tag)) != NULL);
	atexit(sf_cleanup);
	snprintf(sf_dep, sizeof sf_dep, "%s/dep", sf_tmp);
	sf_keys("dev '%s' --port 9 >/dev/null", sf_dep);
	for (int i = 2; i <= 3; i++) {
		sf_keys("gen --type node --name platform-node-%d --out '%s/node%d'", i, sf_dep, i);
		sf_keys("issue --ca '%s' --role node --name platform-node-%d --out '%s/node%d'", sf_dep, i,
		    sf_dep, i);
		char text[1024];
		snprintf(text, sizeof text, "server = 127.0.0.1:9\nrole = node\nca = ca.crt\n"
		    "cert = node%d.crt\nkey = node%d-tls.key\nlog_key = log.pub\nsigning_key = node%d.key\n",
		    i, i, i);
		sf_write(sf_path("dep/node%d.conf", i), text);
	}
	sf_keys("init-ca --out '%s' --name 'foreign CA'", sf_path("foreign"));
	sf_keys("issue --ca '%s' --role supervisor --name supervisor --out '%s'", sf_path("foreign"),
	    sf_path("dep/foreign-sup"));
	sf_write(sf_path("dep/foreign.conf"), "server = 127.0.0.1:9\nrole = supervisor\nca = ca.crt\n"
	    "cert = foreign-sup.crt\nkey = foreign-sup-tls.key\nlog_key = log.pub\n");
	sf_keys("issue --ca '%s' --role server --name evil --ip 127.0.0.1 --out '%s'", sf_dep,
	    sf_path("dep/evil"));
	sf_write(sf_path("dep/evil.conf"), "server = 127.0.0.1:9\nrole = supervisor\nca = ca.crt\n"
	    "cert = evil.crt\nkey = evil-tls.key\nlog_key = log.pub\n");

	sf_profile("node.conf", &p_node);
	sf_profile("admin.conf", &p_admin);
	sf_profile("supervisor.conf", &p_sup);
	sf_profile("discipline.conf", &p_disc);
	sf_profile("court.conf", &p_court);
	sf_profile("witness-supervisor.conf", &p_wit);
	sf_profile("node2.conf", &p_node2);
	sf_profile("node3.conf", &p_node3);
	sf_profile("foreign.conf", &p_foreign);
	sf_profile("evil.conf", &p_srvcert);
	REQUIRE(p_node.has_signing_key && p_admin.has_signing_key && p_wit.has_signing_key);
	REQUIRE(strcmp(p_node.signing_key.name, "platform-node-1") == 0);
}

/* ---- requests ----------------------------------------------------------- */

static inline evc_client *
sf_conn(const evc_profile *p)
{
	evc_client *c = NULL;
	char err[512];
	if (client_connect(p, sf_addr, &c, err, sizeof err) != 0)
		fprintf(stderr, "connect as %s (%s): %s\n", p->role, p->cert, err);
	REQUIRE(c != NULL);
	return c;
}

/* One request, one response (NULL, and a failed check, if the connection
 * failed). */
static inline Response *
sf_rpc(evc_client *c, Request *q, pb_arena *a)
{
	Response *r = NULL;
	int rc = client_call(c, q, a, &r);
	CHECK_(rc == 0, "client_call: %d (%s)", rc, client_error(c));
	return rc == 0 ? r : NULL;
}

/* The response's status code; -1 for no response. */
static inline int
sf_code(const Response *r)
{
	if (r == NULL)
		return -1;
	return r->status ? (int)r->status->code : 0;
}

static inline const char *
sf_msg(const Response *r)
{
	return r && r->status && r->status->message ? r->status->message : "";
}

static inline int
sf_rcode(const Receipt *rc)
{
	return rc == NULL ? -1 : rc->status ? (int)rc->status->code : 0;
}

static inline const char *
sf_rmsg(const Receipt *rc)
{
	return rc && rc->status && rc->status->message ? rc->status->message : "";
}

static inline Response *
sf_status(evc_client *c, pb_arena *a)
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__StatusRequest s = EVCHAIN__V1__STATUS_REQUEST__INIT;
	q.op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
	q.status = &s;
	return sf_rpc(c, &q, a);
}

static inline Response *
sf_checkpoint(evc_client *c, pb_arena *a)
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__CheckpointRequest cr = EVCHAIN__V1__CHECKPOINT_REQUEST__INIT;
	q.op_case = EVCHAIN__V1__REQUEST__OP_CHECKPOINT;
	q.checkpoint = &cr;
	return sf_rpc(c, &q, a);
}

/* The latest checkpoint, verified with the log key (REQUIREd). */
static inline void
sf_latest(evc_client *c, const evc_profile *p, checkpoint *cp)
{
	pb_arena a;
	char err[512];
	pb_arena_init(&a, 1 << 20);
	Response *r = sf_checkpoint(c, &a);
	REQUIRE(sf_code(r) == 0 && r->result_case == EVCHAIN__V1__RESPONSE__RESULT_CHECKPOINT);
	int ok = client_verify_checkpoint(p, r->checkpoint->checkpoint.data,
	    r->checkpoint->checkpoint.len, cp, NULL, err, sizeof err) == 0;
	if (!ok)
		fprintf(stderr, "%s\n", err);
	REQUIRE(ok);
	pb_arena_free(&a);
}

/* Is the server still serving a well-behaved client? */
static inline void
sf_alive(const char *after)
{
	evc_client *c = NULL;
	char err[512];
	pb_arena a;
	int ok = client_connect(&p_sup, sf_addr, &c, err, sizeof err) == 0;
	pb_arena_init(&a, 1 << 20);
	if (ok) {
		Response *r = NULL;
		Request q = EVCHAIN__V1__REQUEST__INIT;
		Evchain__V1__StatusRequest s = EVCHAIN__V1__STATUS_REQUEST__INIT;
		q.op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
		q.status = &s;
		ok = client_call(c, &q, &a, &r) == 0 && sf_code(r) == 0 &&
		    r->result_case == EVCHAIN__V1__RESPONSE__RESULT_STATUS_INFO;
		client_close(c);
	}
	pb_arena_free(&a);
	CHECK_(ok, "the server no longer serves a well-behaved client after %s%s%s", after,
	    ok ? "" : ": ", ok ? "" : err);
}

/* ---- records --------------------------------------------------------------- */

/* A valid 统一社会信用代码 from 17 characters (the check digit computed). */
static inline void
sf_uscc(char out[19], const char *first17)
{
	char e = 0;
	REQUIRE(strlen(first17) == 17);
	memcpy(out, first17, 17);
	out[17] = '0';
	out[18] = '\0';
	if (!uscc_valid(out, &e))
		out[17] = e;
	REQUIRE(uscc_valid(out, NULL));
}

/* A scan-in of inspection insp at company uscc by officers cert1 and cert2
 * (cert2 NULL: one officer, which validation refuses). */
static inline void
sf_scan(const char *rid, const char *insp, const char *uscc, const char *cert1, const char *cert2,
    const evc_skey *sk, fx_signed *out)
{
	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__ScanIn s = EVCHAIN__V1__SCAN_IN__INIT;
	Evchain__V1__Officer o1 = EVCHAIN__V1__OFFICER__INIT, o2 = EVCHAIN__V1__OFFICER__INIT;
	Evchain__V1__Officer *offs[2] = { &o1, &o2 };
	int64_t now = fx_now_ms();
	r.record_id = (char *)rid;
	r.created_ms = now;
	r.body_case = EVCHAIN__V1__RECORD__BODY_SCAN_IN;
	r.scan_in = &s;
	s.inspection_id = (char *)insp;
	s.agency = "聊城市市场监督管理局";
	s.company_uscc = (char *)uscc;
	s.company_name = "聊城示例轴承有限公司";
	o1.name = "张伟";
	o1.certificate_no = (char *)cert1;
	o2.name = "李娜";
	o2.certificate_no = (char *)cert2;
	s.n_officers = cert2 ? 2 : 1;
	s.officers = offs;
	s.method = EVCHAIN__V1__SCAN_IN__METHOD__LICENCE_QR_SCAN;
	s.device_ms = now;
	s.basis_case = EVCHAIN__V1__SCAN_IN__BASIS_PLAN_ID;
	s.plan_id = "PLAN-2025-SCJG-01";
	s.kind = EVCHAIN__V1__SCAN_IN__INSPECTION_KIND__ROUTINE;
	s.entry_type = EVCHAIN__V1__SCAN_IN__ENTRY_TYPE__ADMINISTRATIVE_INSPECTION;
	REQUIRE(fx_sign(&r, sk, out) == 0);
}

/* Evidence of inspection insp with file digest sha, recorded by officer cert. */
static inline void
sf_evid(const char *rid, const char *insp, const char *uscc, const uint8_t sha[32], const char *cert,
    const evc_skey *sk, fx_signed *out)
{
	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__Evidence ev = EVCHAIN__V1__EVIDENCE__INIT;
	Evchain__V1__Location loc = EVCHAIN__V1__LOCATION__INIT;
	Evchain__V1__Officer rec = EVCHAIN__V1__OFFICER__INIT;
	int64_t now = fx_now_ms();
	r.record_id = (char *)rid;
	r.created_ms = now;
	r.body_case = EVCHAIN__V1__RECORD__BODY_EVIDENCE;
	r.evidence = &ev;
	ev.inspection_id = (char *)insp;
	ev.evidence_id = (char *)rid;
	ev.media_kind = EVCHAIN__V1__EVIDENCE__MEDIA_KIND__VIDEO;
	ev.sha256.data = (uint8_t *)sha;
	ev.sha256.len = 32;
	ev.size = 1048576;
	ev.capture_start_ms = now - 60000;
	ev.capture_end_ms = now;
	loc.latitude = 36.45;
	loc.longitude = 115.98;
	loc.address = "聊城市东昌府区示例路1号";
	ev.place = &loc;
	rec.name = "张伟";
	rec.certificate_no = (char *)cert;
	ev.recorder = &rec;
	ev.proves = "生产车间消防通道堵塞";
	ev.company_uscc = (char *)uscc;
	REQUIRE(fx_sign(&r, sk, out) == 0);
}

/* One SignedRecord as sent: any bytes, any signature, any key name. */
typedef struct sf_item {
	const uint8_t *rec;
	size_t len;
	const uint8_t *sig;
	size_t siglen;
	const char *key;
} sf_item;

static inline sf_item
sf_it(const fx_signed *s)
{
	sf_item i = { s->rec, s->len, s->sig, 64, s->decoded->signer };
	return i;
}

/* Fill q (and the arrays, n each) with a submit of items. */
static inline void
sf_submit_req(Request *q, Evchain__V1__SubmitRequest *sub, Evchain__V1__SignedRecord *srs,
    Evchain__V1__SignedRecord **ptrs, const sf_item *it, size_t n)
{
	evchain__v1__request__init(q);
	evchain__v1__submit_request__init(sub);
	for (size_t i = 0; i < n; i++) {
		evchain__v1__signed_record__init(&srs[i]);
		srs[i].record.data = (uint8_t *)it[i].rec;
		srs[i].record.len = it[i].len;
		srs[i].signature.data = (uint8_t *)it[i].sig;
		srs[i].signature.len = it[i].siglen;
		srs[i].key_name = (char *)it[i].key;
		ptrs[i] = &srs[i];
	}
	sub->records = ptrs;
	sub->n_records = n;
	q->op_case = EVCHAIN__V1__REQUEST__OP_SUBMIT;
	q->submit = sub;
}

static inline Response *
sf_submit_items(evc_client *c, const sf_item *it, size_t n, pb_arena *a)
{
	Request q;
	Evchain__V1__SubmitRequest sub;
	Evchain__V1__SignedRecord *srs = calloc(n ? n : 1, sizeof *srs);
	Evchain__V1__SignedRecord **ptrs = calloc(n ? n : 1, sizeof *ptrs);
	REQUIRE(srs != NULL && ptrs != NULL);
	sf_submit_req(&q, &sub, srs, ptrs, it, n);
	Response *r = sf_rpc(c, &q, a);
	free(srs);
	free(ptrs);
	return r;
}

static inline Response *
sf_submit(evc_client *c, fx_signed *const *s, size_t n, pb_arena *a)
{
	sf_item it[64];
	REQUIRE(n <= 64);
	for (size_t i = 0; i < n; i++)
		it[i] = sf_it(s[i]);
	return sf_submit_items(c, it, n, a);
}

/* Receipt i of a submit response with n receipts; NULL (and a failed check)
 * if the response is not that. */
static inline Receipt *
sf_receipt(const Response *r, size_t i, size_t n)
{
	int ok = r != NULL && sf_code(r) == 0 && r->result_case == EVCHAIN__V1__RESPONSE__RESULT_SUBMIT &&
	    r->submit->n_receipts == n && i < n;
	CHECK_(ok, "submit response: status %d (%s), %zu receipts, %zu expected", sf_code(r),
	    sf_msg(r), r && r->result_case == EVCHAIN__V1__RESPONSE__RESULT_SUBMIT ?
	    r->submit->n_receipts : 0, n);
	return ok ? r->submit->receipts[i] : NULL;
}

/* What a test keeps of an accepted record. */
typedef struct sf_got {
	uint64_t index, tree_size;
	int64_t log_ms;
	uint8_t leaf[32];
	int dup;
} sf_got;

/* The receipt is OK and verifies for s (client_verify_receipt); *g filled. */
static inline int
sf_receipt_ok(const evc_profile *p, const Receipt *rc, const fx_signed *s, sf_got *g)
{
	char err[512] = "";
	if (rc == NULL)
		return 0;
	int ok = sf_rcode(rc) == 0;
	CHECK_(ok, "record \"%s\": status %d (%s)", s->decoded->record_id, sf_rcode(rc), sf_rmsg(rc));
	if (!ok)
		return 0;
	ok = client_verify_receipt(p, rc, s->rec, s->len, s->sig, err, sizeof err) == 0;
	CHECK_(ok, "receipt of \"%s\" does not verify: %s", s->decoded->record_id, err);
	if (ok && g != NULL) {
		g->index = rc->index;
		g->tree_size = rc->tree_size;
		g->log_ms = rc->log_time_ms;
		memcpy(g->leaf, rc->leaf_hash.data, 32);
		g->dup = rc->duplicate;
	}
	return ok;
}

/* Submit one record that must be accepted; its receipt kept in *g. */
static inline int
sf_submit_ok(evc_client *c, const evc_profile *p, fx_signed *s, sf_got *g)
{
	pb_arena a;
	pb_arena_init(&a, 16u << 20);
	Response *r = sf_submit(c, &s, 1, &a);
	int ok = sf_receipt_ok(p, sf_receipt(r, 0, 1), s, g);
	pb_arena_free(&a);
	return ok;
}

/* Submit one record; the receipt's status code (-1: no receipt). */
static inline int
sf_submit_code(evc_client *c, const sf_item *it, char *msg, size_t cap)
{
	pb_arena a;
	pb_arena_init(&a, 16u << 20);
	Response *r = sf_submit_items(c, it, 1, &a);
	Receipt *rc = sf_receipt(r, 0, 1);
	int code = sf_rcode(rc);
	if (msg != NULL)
		snprintf(msg, cap, "%s", sf_rmsg(rc));
	pb_arena_free(&a);
	return code;
}

/* ---- raw clients (hostile cases) ------------------------------------------- */

static inline int
sf_tcp(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa;
	struct timeval tv = { 5, 0 };
	REQUIRE(fd >= 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	REQUIRE(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

/* Wait for the peer to close (EOF or reset): 1, or 0 after 5 s of silence.
 * Bytes that come first (a TLS alert) are skipped. */
static inline int
sf_tcp_closed(int fd)
{
	char buf[4096];
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n == 0)
			return 1;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : 1;
	}
	return 0;
}

typedef struct sf_raw {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	int hs;                   /* the handshake completed (client side) */
	uint8_t *in;
	size_t len, cap;
} sf_raw;

/* TLS to the main server with cert/key (NULL: no client certificate) and
 * at most TLS version maxver; the server is verified against the CA. */
static inline sf_raw *
sf_raw_open(int port, const char *cert, const char *key, int maxver)
{
	sf_raw *r = calloc(1, sizeof *r);
	REQUIRE(r != NULL);
	r->fd = sf_tcp(port);
	REQUIRE((r->ctx = SSL_CTX_new(TLS_client_method())) != NULL);
	SSL_CTX_set_min_proto_version(r->ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(r->ctx, maxver);
	REQUIRE(SSL_CTX_load_verify_locations(r->ctx, sf_path("dep/ca.crt"), NULL) == 1);
	SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, NULL);
	if (cert != NULL) {
		REQUIRE(SSL_CTX_use_certificate_chain_file(r->ctx, cert) == 1);
		REQUIRE(SSL_CTX_use_PrivateKey_file(r->ctx, key, SSL_FILETYPE_PEM) == 1);
	}
	REQUIRE((r->ssl = SSL_new(r->ctx)) != NULL);
	SSL_set_fd(r->ssl, r->fd);
	r->hs = SSL_connect(r->ssl) == 1;
	ERR_clear_error();
	return r;
}

/* As the supervisor, TLS 1.3. */
static inline sf_raw *
sf_raw_sup(int port)
{
	sf_raw *r = sf_raw_open(port, sf_path("dep/supervisor.crt"), sf_path("dep/supervisor-tls.key"),
	    TLS1_3_VERSION);
	CHECK_(r->hs, "raw TLS handshake as supervisor failed");
	return r;
}

enum { SF_CLOSE_NOTIFY, SF_CLOSE_FIN, SF_CLOSE_RST };

static inline void
sf_raw_close(sf_raw *r, int how)
{
	if (r == NULL)
		return;
	if (how == SF_CLOSE_NOTIFY && r->hs)
		SSL_shutdown(r->ssl);
	if (how == SF_CLOSE_RST) {
		struct linger lg = { 1, 0 };
		setsockopt(r->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
	SSL_free(r->ssl);
	SSL_CTX_free(r->ctx);
	close(r->fd);
	free(r->in);
	free(r);
	ERR_clear_error();
}

static inline int
sf_raw_write(sf_raw *r, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		int k = SSL_write(r->ssl, b, (int)n);
		if (k <= 0) {
			ERR_clear_error();
			return -1;
		}
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* A frame: header for n (not necessarily the payload's length) + payload. */
static inline int
sf_raw_frame(sf_raw *r, uint32_t n, const void *payload, size_t plen)
{
	uint8_t *b = malloc(4 + plen);
	REQUIRE(b != NULL);
	frame_header(b, n);
	if (plen)
		memcpy(b + 4, payload, plen);
	int rc = sf_raw_write(r, b, 4 + plen);
	free(b);
	return rc;
}

/* Pack a Request into a malloc'd frame. */
static inline uint8_t *
sf_req_frame(Request *q, size_t *len)
{
	size_t n = evchain__v1__request__get_packed_size(q);
	uint8_t *b = malloc(4 + n);
	REQUIRE(b != NULL);
	frame_header(b, (uint32_t)n);
	evchain__v1__request__pack(q, b + 4);
	*len = 4 + n;
	return b;
}

enum { SF_FRAME = 0, SF_CLOSED = 1, SF_TIMEOUT = -1, SF_UNDECODABLE = -2 };

/* The next response: SF_FRAME, SF_CLOSED (close_notify, EOF or reset),
 * SF_TIMEOUT (5 s), SF_UNDECODABLE. */
static inline int
sf_raw_recv(sf_raw *r, pb_arena *a, Response **resp)
{
	for (;;) {
		const uint8_t *p;
		size_t plen;
		ssize_t n = r->len ? frame_parse(r->in, r->len, CLIENT_MAX_FRAME, &p, &plen) : FRAME_NEED_MORE;
		if (n > 0) {
			*resp = (Response *)pb_unpack(a, &evchain__v1__response__descriptor, p, plen);
			memmove(r->in, r->in + n, r->len - (size_t)n);
			r->len -= (size_t)n;
			return *resp ? SF_FRAME : SF_UNDECODABLE;
		}
		if (n == FRAME_BAD)
			return SF_UNDECODABLE;
		if (r->cap - r->len < 16384) {
			size_t nc = r->cap ? 2 * r->cap : 65536;
			uint8_t *q = realloc(r->in, nc);
			REQUIRE(q != NULL);
			r->in = q;
			r->cap = nc;
		}
		errno = 0;
		int k = SSL_read(r->ssl, r->in + r->len, (int)(r->cap - r->len));
		if (k <= 0) {
			int e = SSL_get_error(r->ssl, k);
			int timeout = e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK);
			ERR_clear_error();
			return timeout ? SF_TIMEOUT : SF_CLOSED;
		}
		r->len += (size_t)k;
	}
}

/* Send q and wait for its response on a raw connection. */
static inline Response *
sf_raw_call(sf_raw *r, Request *q, pb_arena *a)
{
	size_t n;
	Response *resp = NULL;
	uint8_t *f = sf_req_frame(q, &n);
	int ok = sf_raw_write(r, f, n) == 0 && sf_raw_recv(r, a, &resp) == SF_FRAME;
	free(f);
	return ok ? resp : NULL;
}

#endif
