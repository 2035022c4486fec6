/*
 * test_ops.c — integration: the operator's tools of the real evchaind.
 *
 *   metrics     GET /metrics on the default endpoint (metrics_listen = auto:
 *               loopback, the main port + 1, or 0 with --listen …:0); the
 *               exposition parses (HELP/TYPE, names, labels, values,
 *               cumulative buckets ending in +Inf = _count) and its figures
 *               match what the test did: entries, commits, requests by op,
 *               refusals by code (a role refusal, a bad signature, an
 *               undecodable request, an oversized frame), connections by
 *               role, cosignatures by witness
 *   http        other methods 405, other paths 404, bad request lines 400,
 *               an oversized request 431, an unfinished one 408, connections
 *               over the limit closed; the log still serves
 *   config      a non-loopback metrics_listen refused at start-up (nothing
 *               created) unless metrics_public = yes; bad values refused;
 *               auto is the main port + 1; off serves none
 *   backup      `evchaind backup` while the server serves and appends; usage
 *               and refusals (non-empty DEST, a file); `evchain-verify ledger`
 *               passes on the copy; the restore procedure (stop, move aside,
 *               move in, start) serves the copy's checkpoint byte for byte,
 *               and a witness that cosigned more refuses it (rollback)
 *   succession  a new log key, a new origin: entry 0 of the new log carries
 *               the old log's last checkpoint (SECURITY.md); refused when the
 *               checkpoint is not the old key's, names the new origin, or one
 *               of the two keys is missing; the contrib configuration parses
 */
#include <ctype.h>
#include <math.h>
#include <stdatomic.h>
#include <pthread.h>

#include "srvfix.h"

static sf_server *srv;
static int mport;             /* the main server's metrics port */

/* ---- starting servers with any arguments ------------------------------------------ */

/* Wait (5 s at most) until the server's log holds needle; the log's text
 * (static), whatever it holds then. */
static const char *
await_log(const char *log, const char *needle)
{
	static char buf[16384];
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(log, "r");
		size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = '\0';
		if (strstr(buf, needle) != NULL)
			break;
		usleep(10000);
	}
	return buf;
}

/* The metrics port from "metrics: serving http://HOST:PORT/metrics" in the
 * log of a server that has started, or 0. */
static int
log_metrics_port(const char *log, char *host, size_t hcap)
{
	const char *buf = await_log(log, "evchaind: serving log");
	if (host != NULL && hcap > 0)
		host[0] = '\0';
	const char *p = strstr(buf, "metrics: serving http://");
	if (p == NULL)
		return 0;
	p += strlen("metrics: serving http://");
	const char *colon = strstr(p, "/metrics");
	if (colon == NULL)
		return 0;
	while (colon > p && colon[-1] != ':')
		colon--;
	if (colon == p)
		return 0;
	if (host != NULL)
		snprintf(host, hcap, "%.*s", (int)(colon - 1 - p), p);
	long port = strtol(colon, NULL, 10);
	return port > 0 && port < 65536 ? (int)port : 0;
}

/* A port free on 127.0.0.1 whose successor is free too (0 if none found). */
static int
free_port_pair(void)
{
	for (int tries = 0; tries < 50; tries++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), fd2;
		struct sockaddr_in sa;
		socklen_t sl = sizeof sa;
		memset(&sa, 0, sizeof sa);
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
		    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		int port = ntohs(sa.sin_port);
		close(fd);
		if (port >= 65535)
			continue;
		fd2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sa.sin_port = htons((uint16_t)(port + 1));
		int ok = fd2 >= 0 && bind(fd2, (struct sockaddr *)&sa, sizeof sa) == 0;
		if (fd2 >= 0)
			close(fd2);
		if (ok)
			return port;
	}
	return 0;
}

/* ---- HTTP ------------------------------------------------------------------------ */

/* Send req (len bytes) to 127.0.0.1:port and read until the server closes
 * (at most 10 s). The malloc'd response; *status the HTTP status (-1: none). */
static char *
http_raw(int port, const char *req, size_t len, int *status)
{
	int fd = sf_tcp(port);
	struct timeval tv = { 10, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server may stop reading an oversized request */
		off += (size_t)n;
	}
	size_t cap = 65536, got = 0;
	char *buf = malloc(cap);
	REQUIRE(buf != NULL);
	for (;;) {
		if (cap - got < 4096) {
			cap *= 2;
			REQUIRE((buf = realloc(buf, cap)) != NULL);
		}
		ssize_t n = recv(fd, buf + got, cap - got - 1, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*status = -1;
	if (strncmp(buf, "HTTP/1.0 ", 9) == 0)
		*status = atoi(buf + 9);
	return buf;
}

/* GET /metrics: the body (malloc'd; NULL and a failed check if not 200). */
static char *
scrape(int port)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n";
	int st;
	char *r = http_raw(port, req, sizeof req - 1, &st);
	char *body = strstr(r, "\r\n\r\n");
	int ok = st == 200 && body != NULL &&
	    strstr(r, "\r\nContent-Type: text/plain; version=0.0.4") != NULL;
	CHECK_(ok, "GET /metrics: status %d: %.200s", st, r);
	if (!ok) {
		free(r);
		return NULL;
	}
	/* Content-Length is the body's. */
	const char *cl = strstr(r, "\r\nContent-Length: ");
	CHECK(cl != NULL && cl < body && strtoul(cl + 18, NULL, 10) == strlen(body + 4));
	char *out = strdup(body + 4);
	free(r);
	return out;
}

/* ---- the exposition format (text 0.0.4), checked strictly ----------------------- */

typedef struct sample {
	char name[128];
	char labels[512];   /* as written between the braces, le included */
	double v;
} sample;

typedef struct expo {
	sample *s;
	size_t n;
} expo;

typedef struct fam {
	char name[128];
	char type[32];
	int help, samples;
} fam;

static int
name_ok(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
			return 0;
	return 1;
}

/* Labels `k="v",…` from *p to the closing brace; 0 ok. */
static int
labels_ok(const char **pp, char *out, size_t cap)
{
	const char *p = *pp, *start = p;
	while (*p != '}') {
		const char *k = p;
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		if (p == k || !name_ok(k, (size_t)(p - k)) || p[0] != '=' || p[1] != '"')
			return -1;
		p += 2;
		while (*p != '"') {
			if (*p == '\0' || *p == '\n')
				return -1;
			if (*p == '\\') {
				if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
					return -1;
				p++;
			}
			p++;
		}
		p++;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return -1;
	}
	if ((size_t)(p - start) >= cap)
		return -1;
	memcpy(out, start, (size_t)(p - start));
	out[p - start] = '\0';
	*pp = p + 1;
	return 0;
}

static fam *
fam_find(fam *f, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0)
			return &f[i];
	return NULL;
}

/* The family of a sample name: itself, or a histogram's base for
 * _bucket/_sum/_count. */
static fam *
fam_of(fam *f, size_t n, const char *name)
{
	fam *x = fam_find(f, n, name);
	if (x != NULL)
		return x;
	static const char *const suf[] = { "_bucket", "_sum", "_count" };
	for (size_t i = 0; i < 3; i++) {
		size_t nl = strlen(name), sl = strlen(suf[i]);
		if (nl > sl && strcmp(name + nl - sl, suf[i]) == 0) {
			char base[128];
			snprintf(base, sizeof base, "%.*s", (int)(nl - sl), name);
			x = fam_find(f, n, base);
			if (x != NULL && strcmp(x->type, "histogram") == 0)
				return x;
		}
	}
	return NULL;
}

/* Parse and check body; 0, or -1 with the reason in why. */
static int
expo_parse(const char *body, expo *e, char *why, size_t cap)
{
	fam f[128];
	size_t nf = 0, line = 0;
	const char *p = body;

	memset(e, 0, sizeof *e);
	size_t scap = 1024;
	REQUIRE((e->s = calloc(scap, sizeof *e->s)) != NULL);
	if (*body == '\0' || body[strlen(body) - 1] != '\n') {
		snprintf(why, cap, "the body does not end with a newline");
		return -1;
	}
	while (*p) {
		const char *eol = strchr(p, '\n');
		line++;
		if (strncmp(p, "# HELP ", 7) == 0 || strncmp(p, "# TYPE ", 7) == 0) {
			int help = p[2] == 'H';
			const char *n = p + 7, *sp = n;
			while (sp < eol && *sp != ' ')
				sp++;
			if (!name_ok(n, (size_t)(sp - n)) || sp == eol) {
				snprintf(why, cap, "line %zu: bad %s line", line, help ? "HELP" : "TYPE");
				return -1;
			}
			char name[128];
			snprintf(name, sizeof name, "%.*s", (int)(sp - n), n);
			fam *x = fam_find(f, nf, name);
			if (x == NULL) {
				if (nf == 128) {
					snprintf(why, cap, "too many families");
					return -1;
				}
				x = &f[nf++];
				memset(x, 0, sizeof *x);
				snprintf(x->name, sizeof x->name, "%s", name);
			}
			if (x->samples) {
				snprintf(why, cap, "line %zu: %s of %s after its samples", line,
				    help ? "HELP" : "TYPE", name);
				return -1;
			}
			if (help) {
				if (x->help++) {
					snprintf(why, cap, "line %zu: second HELP of %s", line, name);
					return -1;
				}
			} else {
				char type[32];
				snprintf(type, sizeof type, "%.*s", (int)(eol - sp - 1), sp + 1);
				if (x->type[0] || (strcmp(type, "counter") && strcmp(type, "gauge") &&
				    strcmp(type, "histogram") && strcmp(type, "summary") && strcmp(type, "untyped"))) {
					snprintf(why, cap, "line %zu: bad or second TYPE for %s", line, name);
					return -1;
				}
				snprintf(x->type, sizeof x->type, "%s", type);
			}
		} else if (*p == '#') {
			/* a comment */
		} else {
			sample s;
			const char *n = p, *q = p;
			memset(&s, 0, sizeof s);
			while (q < eol && *q != '{' && *q != ' ')
				q++;
			if (!name_ok(n, (size_t)(q - n)) || (size_t)(q - n) >= sizeof s.name) {
				snprintf(why, cap, "line %zu: bad metric name", line);
				return -1;
			}
			memcpy(s.name, n, (size_t)(q - n));
			if (*q == '{') {
				q++;
				if (labels_ok(&q, s.labels, sizeof s.labels) != 0 || q > eol) {
					snprintf(why, cap, "line %zu: bad labels", line);
					return -1;
				}
			}
			if (*q != ' ') {
				snprintf(why, cap, "line %zu: no value", line);
				return -1;
			}
			char *end;
			q++;
			if (strncmp(q, "+Inf", 4) == 0) {
				s.v = INFINITY;
				end = (char *)q + 4;
			} else {
				s.v = strtod(q, &end);
			}
			if (end == q || (*end != '\n' && *end != ' ')) {
				snprintf(why, cap, "line %zu: bad value", line);
				return -1;
			}
			fam *x = fam_of(f, nf, s.name);
			if (x == NULL || !x->type[0]) {
				snprintf(why, cap, "line %zu: %s has no TYPE before it", line, s.name);
				return -1;
			}
			x->samples++;
			if (strcmp(x->type, "counter") == 0 && (s.v < 0 ||
			    strlen(s.name) < 7 || strcmp(s.name + strlen(s.name) - 6, "_total") != 0)) {
				snprintf(why, cap, "line %zu: counter %s negative or not named _total", line, s.name);
				return -1;
			}
			if (e->n == scap) {
				scap *= 2;
				REQUIRE((e->s = realloc(e->s, scap * sizeof *e->s)) != NULL);
			}
			e->s[e->n++] = s;
		}
		p = eol + 1;
	}
	/* Histograms: per series, cumulative buckets ending in +Inf = _count. */
	for (size_t i = 0; i < nf; i++) {
		if (strcmp(f[i].type, "histogram") != 0)
			continue;
		char bn[160], cn[160];
		snprintf(bn, sizeof bn, "%s_bucket", f[i].name);
		snprintf(cn, sizeof cn, "%s_count", f[i].name);
		for (size_t k = 0; k < e->n; k++) {
			if (strcmp(e->s[k].name, cn) != 0)
				continue;
			/* The series' label prefix: the _count's labels, then `le`. */
			double last = -1, lastle = -INFINITY;
			int inf = 0;
			for (size_t b = 0; b < e->n; b++) {
				if (strcmp(e->s[b].name, bn) != 0)
					continue;
				const char *le = strstr(e->s[b].labels, "le=\"");
				size_t pl = strlen(e->s[k].labels);
				if (le == NULL || (pl && (strncmp(e->s[b].labels, e->s[k].labels, pl) != 0 ||
				    e->s[b].labels + pl + 1 != le)) || (!pl && le != e->s[b].labels))
					continue;
				double lev = strncmp(le + 4, "+Inf", 4) == 0 ? INFINITY : strtod(le + 4, NULL);
				if (lev <= lastle || e->s[b].v < last || inf) {
					snprintf(why, cap, "%.100s{%.100s}: buckets not increasing", bn, e->s[b].labels);
					return -1;
				}
				lastle = lev;
				last = e->s[b].v;
				inf = isinf(lev);
			}
			if (!inf || last != e->s[k].v) {
				snprintf(why, cap, "%.100s{%.100s}: no +Inf bucket equal to _count", f[i].name,
				    e->s[k].labels);
				return -1;
			}
		}
	}
	return 0;
}

/* A sample's value; NAN (and a failed check) if it is not there. */
static double
mval(const expo *e, const char *name, const char *labels)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->s[i].name, name) == 0 && strcmp(e->s[i].labels, labels) == 0)
			return e->s[i].v;
	CHECK_(0, "no sample %s{%s}", name, labels);
	return NAN;
}

/* Scrape and parse (REQUIREd to parse). */
static void
get_expo(int port, expo *e)
{
	char why[256];
	char *body = scrape(port);
	REQUIRE(body != NULL);
	int rc = expo_parse(body, e, why, sizeof why);
	CHECK_(rc == 0, "the exposition does not parse: %s", why);
	if (rc != 0)
		fprintf(stderr, "%s", body);
	free(body);
	REQUIRE(rc == 0);
}

#define MV(e, name, labels) mval((e), (name), (labels))

/* Poll until name{labels} == want (2 s); its last value. */
static double
await_val(int port, const char *name, const char *labels, double want)
{
	double v = NAN;
	for (int i = 0; i < 250; i++) {
		expo e;
		get_expo(port, &e);
		for (size_t k = 0; k < e.n; k++)
			if (strcmp(e.s[k].name, name) == 0 && strcmp(e.s[k].labels, labels) == 0)
				v = e.s[k].v;
		free(e.s);
		if (v == want)
			break;
		usleep(20000);
	}
	return v;
}

/* ---- metrics ------------------------------------------------------------------------ */

static fx_signed regnode;

static void
t_metrics(void)
{
	expo e;
	char host[64], out[8192];
	pb_arena a;

	sf_begin("metrics", 60);
	mport = log_metrics_port(srv->log, host, sizeof host);
	REQUIRE(mport > 0);
	CHECK_STR(host, "127.0.0.1");
	CHECK(mport != srv->port);

	/* Fresh: the admin key entry the server logged at start, nothing since. */
	get_expo(mport, &e);
	CHECK_EQ(MV(&e, "evchain_entries", ""), 1);
	CHECK_EQ(MV(&e, "evchain_checkpoint_size", ""), 1);
	CHECK_EQ(MV(&e, "evchain_entries_appended_total", ""), 0);
	CHECK_EQ(MV(&e, "evchain_commit_records_count", ""), 0);
	CHECK_EQ(MV(&e, "evchain_request_duration_seconds_count", "op=\"submit\""), 0);
	CHECK_EQ(MV(&e, "evchain_connections", "role=\"node\""), 0);
	CHECK_EQ(MV(&e, "evchain_witness_cosignatures_total", "witness=\"witness-supervisor\""), 0);
	CHECK_EQ(MV(&e, "evchain_witness_cosignatures_total", "witness=\"witness-discipline\""), 0);
	CHECK_EQ(MV(&e, "evchain_build_info", "version=\"0.1.0\",origin=\"evchain.local/dev-log\""), 1);
	double t = MV(&e, "evchain_checkpoint_timestamp_seconds", "");
	CHECK(t > 1.7e9 && fabs(t - (double)fx_now_ms() / 1000) < 120);
	CHECK(MV(&e, "evchain_checkpoint_age_seconds", "") >= 0);
	CHECK(MV(&e, "evchain_workers", "") >= 1);
	CHECK_EQ(MV(&e, "evchain_verify_queue_depth", ""), 0);
	free(e.s);

	/* The admin registers the node key; the node logs 1 + 4 records. */
	evc_client *ca = sf_conn(&p_admin);
	evc_vkey vk;
	keys_public(&p_node.signing_key, &vk);
	REQUIRE(fx_node_key("ops-register-node", &p_admin.signing_key, &vk,
	    EVCHAIN__V1__NODE_KEY__ROLE__NODE, EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, fx_now_ms(),
	    &regnode) == 0);
	REQUIRE(sf_submit_ok(ca, &p_admin, &regnode, NULL));
	client_close(ca);
	evc_client *cn = sf_conn(&p_node);
	fx_signed s[5], *sp[4];
	char rid[64];
	for (int i = 0; i < 5; i++) {
		snprintf(rid, sizeof rid, "ops-metrics-%d", i);
		sf_scan(rid, "OPS-INS-1", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key, &s[i]);
		if (i > 0)
			sp[i - 1] = &s[i];
	}
	CHECK(sf_submit_ok(cn, &p_node, &s[0], NULL));
	pb_arena_init(&a, 16u << 20);
	Response *r = sf_submit(cn, sp, 4, &a);
	for (size_t i = 0; i < 4; i++)
		CHECK(sf_receipt_ok(&p_node, sf_receipt(r, i, 4), sp[i], NULL));
	pb_arena_free(&a);

	/* Refusals: a record with a bad signature (the request is answered,
	 * the record refused), a submit by the court (the request refused). */
	fx_signed bad;
	sf_scan("ops-bad-sig", "OPS-INS-1", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key,
	    &bad);
	bad.sig[5] ^= 1;
	sf_item it = sf_it(&bad);
	CHECK_EQ(sf_submit_code(cn, &it, NULL, 0), SC(BAD_SIGNATURE));
	evc_client *cc = sf_conn(&p_court);
	pb_arena_init(&a, 1 << 20);
	r = sf_submit(cc, sp, 1, &a);
	CHECK_EQ(sf_code(r), SC(PERMISSION_DENIED));
	pb_arena_free(&a);
	/* The loop's refusals: a frame that does not decode (the connection
	 * stays), then a frame over max_frame (protocol error, closed). */
	sf_raw *raw = sf_raw_sup(srv->port);
	static const uint8_t junk[] = { 0x08, 0x07, 0xff, 0xff, 0xff };
	Response *rr = NULL;
	pb_arena_init(&a, 1 << 20);
	CHECK(sf_raw_frame(raw, sizeof junk, junk, sizeof junk) == 0);
	CHECK(sf_raw_recv(raw, &a, &rr) == SF_FRAME && sf_code(rr) == SC(INVALID_ARGUMENT));
	CHECK(sf_raw_frame(raw, 64u << 20, NULL, 0) == 0);
	CHECK(sf_raw_recv(raw, &a, &rr) == SF_FRAME && sf_code(rr) == SC(TOO_LARGE));
	pb_arena_free(&a);
	sf_raw_close(raw, SF_CLOSE_FIN);

	/* Connections by role: node 1, court 1, supervisor 2, admin 0 (closed). */
	evc_client *cs1 = sf_conn(&p_sup), *cs2 = sf_conn(&p_sup);
	CHECK_EQ(await_val(mport, "evchain_connections", "role=\"supervisor\"", 2), 2);
	CHECK_EQ(await_val(mport, "evchain_connections", "role=\"admin\"", 0), 0);
	get_expo(mport, &e);
	CHECK_EQ(MV(&e, "evchain_connections", "role=\"node\""), 1);
	CHECK_EQ(MV(&e, "evchain_connections", "role=\"court\""), 1);
	CHECK_EQ(MV(&e, "evchain_connections", "role=\"witness\""), 0);
	CHECK_EQ(MV(&e, "evchain_connections", "role=\"discipline\""), 0);
	CHECK(MV(&e, "evchain_connections_open", "") >= 4);
	CHECK(MV(&e, "evchain_connections_accepted_total", "") >= 6);

	/* Entries: admin at start, the node key, five scan-ins. */
	CHECK_EQ(MV(&e, "evchain_entries", ""), 7);
	CHECK(MV(&e, "evchain_index_entries", "") <= 7);
	CHECK_EQ(MV(&e, "evchain_index_errors_total", ""), 0);
	/* The indexer catches up within about a second (index_interval_ms). */
	CHECK_EQ(await_val(mport, "evchain_index_entries", "", 7), 7);
	CHECK_EQ(MV(&e, "evchain_checkpoint_size", ""), 7);
	CHECK_EQ(MV(&e, "evchain_entries_appended_total", ""), 6);
	CHECK_EQ(MV(&e, "evchain_commit_records_sum", ""), 6);
	double commits = MV(&e, "evchain_commit_records_count", "");
	CHECK(commits >= 3 && commits <= 6); /* node key alone, one, the batch of four (1+) */
	CHECK_EQ(MV(&e, "evchain_commit_records_bucket", "le=\"+Inf\""), commits);
	CHECK_EQ(MV(&e, "evchain_commit_duration_seconds_count", ""), commits);
	CHECK(MV(&e, "evchain_commit_duration_seconds_sum", "") > 0);
	/* Requests by op: submits: admin 1, node 2 + the bad one, court 1. */
	CHECK_EQ(MV(&e, "evchain_request_duration_seconds_count", "op=\"submit\""), 5);
	CHECK(MV(&e, "evchain_request_duration_seconds_sum", "op=\"submit\"") > 0);
	CHECK_EQ(MV(&e, "evchain_request_duration_seconds_bucket", "op=\"submit\",le=\"+Inf\""), 5);
	CHECK_EQ(MV(&e, "evchain_request_duration_seconds_count", "op=\"invalid\""), 1);
	CHECK_EQ(MV(&e, "evchain_records_accepted_total", ""), 6);
	CHECK_EQ(MV(&e, "evchain_records_refused_total", "code=\"bad_signature\""), 1);
	CHECK_EQ(MV(&e, "evchain_records_refused_total", "code=\"conflict\""), 0);
	CHECK_EQ(MV(&e, "evchain_requests_refused_total", "code=\"permission_denied\""), 1);
	CHECK_EQ(MV(&e, "evchain_requests_refused_total", "code=\"invalid_argument\""), 1);
	CHECK_EQ(MV(&e, "evchain_requests_refused_total", "code=\"too_large\""), 1);
	CHECK_EQ(MV(&e, "evchain_requests_refused_total", "code=\"bad_signature\""), 0);
	CHECK_EQ(MV(&e, "evchain_requests_in_flight", ""), 0);
	CHECK_EQ(MV(&e, "evchain_write_queue_depth", ""), 0);
	CHECK(MV(&e, "evchain_checkpoint_age_seconds", "") < 60);
	free(e.s);
	client_close(cs1);
	client_close(cs2);
	client_close(cc);
	CHECK_EQ(await_val(mport, "evchain_connections", "role=\"supervisor\"", 0), 0);
	CHECK_EQ(await_val(mport, "evchain_connections", "role=\"court\"", 0), 0);

	/* A witness cosigns: its counter and size; the other's stay 0. */
	int rc;
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "cd '%s' && '%s' -c witness-supervisor.conf --server %s --state '%s' "
	    "--once", sf_dep, sf_prog("evchain-witness"), sf_addr, sf_path("wsup.state"));
	rc = fx_run(cmd, out, sizeof out);
	CHECK_(rc == 0, "evchain-witness: %d: %s", rc, out);
	get_expo(mport, &e);
	CHECK_EQ(MV(&e, "evchain_witness_cosignatures_total", "witness=\"witness-supervisor\""), 1);
	CHECK_EQ(MV(&e, "evchain_witness_cosigned_size", "witness=\"witness-supervisor\""), 7);
	CHECK_EQ(MV(&e, "evchain_witness_cosignatures_total", "witness=\"witness-discipline\""), 0);
	CHECK_EQ(MV(&e, "evchain_witness_cosigned_size", "witness=\"witness-discipline\""), 0);
	CHECK_EQ(MV(&e, "evchain_request_duration_seconds_count", "op=\"add_cosignature\""), 1);
	free(e.s);

	client_close(cn);
	for (int i = 0; i < 5; i++)
		fx_signed_free(&s[i]);
	fx_signed_free(&bad);
}

/* ---- the endpoint's HTTP ------------------------------------------------------------------ */

static void
t_http(void)
{
	int st;
	char *r;
	sf_begin("http", 40);

#define HTTP_IS(req, want, contains)                                                     \
	do {                                                                               \
		r = http_raw(mport, (req), sizeof(req) - 1, &st);                          \
		CHECK_(st == (want) && strstr(r, (contains)) != NULL, "%s: %d: %.200s",    \
		    #req, st, r);                                                          \
		free(r);                                                                   \
	} while (0)
	HTTP_IS("POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n", 405, "\r\nAllow: GET\r\n");
	HTTP_IS("HEAD /metrics HTTP/1.0\r\n\r\n", 405, "Allow: GET");
	HTTP_IS("DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405, "Allow: GET");
	HTTP_IS("GET / HTTP/1.0\r\n\r\n", 404, "Not Found");
	HTTP_IS("GET /metricsx HTTP/1.0\r\n\r\n", 404, "Not Found");
	HTTP_IS("GET /../metrics HTTP/1.0\r\n\r\n", 404, "Not Found");
	HTTP_IS("GET /metrics?name[]=x HTTP/1.0\r\n\r\n", 200, "# TYPE evchain_entries gauge");
	HTTP_IS("GET /metrics HTTP/1.0\n\n", 200, "Connection: close");
	HTTP_IS("hello\r\n\r\n", 400, "Bad Request");
	HTTP_IS("GET /metrics\r\n\r\n", 400, "Bad Request");
	HTTP_IS("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, "Bad Request");
#undef HTTP_IS
	/* Oversized: a request line of 64 KiB is cut at 4 KiB. */
	size_t big = 65536;
	char *req = malloc(big);
	REQUIRE(req != NULL);
	memcpy(req, "GET /", 5);
	memset(req + 5, 'a', big - 5);
	r = http_raw(mport, req, big, &st);
	CHECK_(st == 431, "oversized request: %d: %.200s", st, r);
	free(r);
	/* Headers that never end: 4 KiB of them, then 431 as well. */
	memcpy(req, "GET /metrics HTTP/1.0\r\n", 23);
	for (size_t i = 23; i + 8 < 5000; i += 8)
		memcpy(req + i, "X-a: b\r\n", 8);
	r = http_raw(mport, req, 4992, &st);
	CHECK_(st == 431, "endless headers: %d", st);
	free(r);
	free(req);
	/* Unfinished: 408 after 5 s, not held forever. */
	uint64_t t0 = sf_mono_ms();
	r = http_raw(mport, "GET /metrics HTTP/1.0\r\n", 23, &st);
	uint64_t dt = sf_mono_ms() - t0;
	CHECK_(st == 408 && dt >= 4000 && dt < 9000, "unfinished request: %d after %" PRIu64 " ms", st,
	    dt);
	free(r);

	/* At most 16 at once: the 17th is closed unanswered; then all is well.
	 * (First the connections above finish their lingering close.) */
	usleep(300000);
	int fds[17];
	for (int i = 0; i < 16; i++) {
		fds[i] = sf_tcp(mport);
		CHECK(send(fds[i], "GET", 3, MSG_NOSIGNAL) == 3);
	}
	usleep(100000);
	fds[16] = sf_tcp(mport);
	char b[256];
	ssize_t n = recv(fds[16], b, sizeof b - 1, 0);
	b[n > 0 ? n : 0] = '\0';
	CHECK_(n <= 0, "the 17th metrics connection was answered (%zd): %s", n, b);
	for (int i = 0; i < 17; i++)
		close(fds[i]);
	usleep(100000);
	char *body = scrape(mport);
	CHECK(body != NULL);
	free(body);
	/* Plain HTTP on the TLS port is not metrics (and does not hurt). */
	r = http_raw(srv->port, "GET /metrics HTTP/1.0\r\n\r\n", 25, &st);
	CHECK_EQ(st, -1);
	free(r);
	sf_alive("the metrics endpoint's hostile clients");
}

/* ---- configuration ------------------------------------------------------------------- */

/* dep/evchaind.conf plus extra lines, as dep/NAME (relative paths still hold). */
static const char *
conf_with(const char *name, const char *extra)
{
	static char text[8192];
	FILE *f = fopen(sf_path("dep/evchaind.conf"), "r");
	REQUIRE(f != NULL);
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	REQUIRE(strlen(text) + strlen(extra) + 2 < sizeof text);
	strcat(text, "\n");
	strcat(text, extra);
	static char paths[32][1024];
	static unsigned k;
	char *p = paths[k++ % 32];
	snprintf(p, 1024, "%s", sf_path("dep/%s", name));
	sf_write(p, text);
	return p;
}

/* evchaind -c conf --listen 127.0.0.1:0 --data data, which must refuse to
 * start: exit status (124 if it served), output in out. */
static int
refused_start(const char *conf, const char *data, char *out, size_t cap)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "timeout 10 '%s' -c '%s' --listen 127.0.0.1:0 --data '%s'",
	    sf_prog("evchaind"), conf, data);
	return fx_run(cmd, out, cap);
}

static void
t_config(void)
{
	char out[8192], host[64];
	struct stat st;
	int rc;

	sf_begin("config", 60);
	/* Not loopback, not public: refused before anything is made. */
	const char *c1 = conf_with("m-any.conf", "metrics_listen = 0.0.0.0:0\n");
	rc = refused_start(c1, sf_path("data-m1"), out, sizeof out);
	CHECK_(rc == 1 && strstr(out, "not a loopback address") && strstr(out, "metrics_public"),
	    "metrics_listen = 0.0.0.0:0: exit %d: %s", rc, out);
	CHECK(stat(sf_path("data-m1"), &st) != 0);
	const char *c2 = conf_with("m-v6.conf", "metrics_listen = [::]:0\n");
	rc = refused_start(c2, sf_path("data-m1"), out, sizeof out);
	CHECK_(rc == 1 && strstr(out, "not a loopback address"), "[::]:0: exit %d: %s", rc, out);
	const char *c3 = conf_with("m-name.conf", "metrics_listen = localhost:7801\n");
	rc = refused_start(c3, sf_path("data-m1"), out, sizeof out);
	CHECK_(rc == 1 && strstr(out, "numeric HOST:PORT"), "a host name: exit %d: %s", rc, out);
	const char *c4 = conf_with("m-pub-bad.conf", "metrics_public = maybe\n");
	rc = refused_start(c4, sf_path("data-m1"), out, sizeof out);
	CHECK_(rc == 1 && strstr(out, "`metrics_public` is yes or no"), "metrics_public: exit %d: %s", rc,
	    out);
	/* The metrics port is taken: refused (no silent start without metrics). */
	char line[128];
	snprintf(line, sizeof line, "metrics_listen = 127.0.0.1:%d\n", mport);
	const char *c5 = conf_with("m-taken.conf", line);
	rc = refused_start(c5, sf_path("data-m5"), out, sizeof out);
	CHECK_(rc == 1 && strstr(out, "cannot listen for metrics"), "metrics port taken: exit %d: %s", rc,
	    out);

	/* metrics_public = yes: served on the wildcard address. */
	const char *c6 = conf_with("m-pub.conf", "metrics_listen = 0.0.0.0:0\nmetrics_public = yes\n");
	sf_server *s6 = sf_start_with(c6, "127.0.0.1:0", sf_path("data-m6"));
	int p6 = log_metrics_port(s6->log, host, sizeof host);
	CHECK_(p6 > 0 && strcmp(host, "0.0.0.0") == 0, "public metrics on %s:%d", host, p6);
	if (p6 > 0) {
		char *b = scrape(p6);
		CHECK(b != NULL && strstr(b, "\nevchain_entries 1\n") != NULL);
		free(b);
	}
	CHECK_EQ(sf_stop(s6, SIGTERM, 10000, NULL), 0);

	/* auto is the main port + 1, on 127.0.0.1. */
	int p = free_port_pair();
	if (p > 0) {
		char listen[64];
		snprintf(listen, sizeof listen, "127.0.0.1:%d", p);
		sf_server *s7 = sf_start_with(sf_path("dep/evchaind.conf"), listen, sf_path("data-m7"));
		int p7 = log_metrics_port(s7->log, host, sizeof host);
		CHECK_(s7->port == p && p7 == p + 1 && strcmp(host, "127.0.0.1") == 0,
		    "auto: main %d, metrics %s:%d", s7->port, host, p7);
		CHECK_EQ(sf_stop(s7, SIGTERM, 10000, NULL), 0);
	}

	/* off: no endpoint, and the log says so. */
	const char *c8 = conf_with("m-off.conf", "metrics_listen = off\n");
	sf_server *s8 = sf_start_with(c8, "127.0.0.1:0", sf_path("data-m8"));
	CHECK_EQ(log_metrics_port(s8->log, NULL, 0), 0);
	CHECK(strstr(await_log(s8->log, "metrics: off"), "metrics: off") != NULL);
	CHECK_EQ(sf_stop(s8, SIGTERM, 10000, NULL), 0);
}

/* ---- backup and restore -------------------------------------------------------------------- */

typedef struct appender {
	pthread_t th;
	atomic_int stop;
	atomic_int done, failed;
} appender;

/* Submit scan-ins one at a time until told to stop (no CHECKs here: the
 * counters of check.h are the main thread's). */
static void *
append_main(void *arg)
{
	appender *ap = arg;
	evc_client *c = NULL;
	char err[256];

	if (client_connect(&p_node, sf_addr, &c, err, sizeof err) != 0) {
		atomic_fetch_add(&ap->failed, 1);
		return NULL;
	}
	for (int i = 0; !atomic_load(&ap->stop) && i < 100000; i++) {
		char rid[64];
		fx_signed s;
		snprintf(rid, sizeof rid, "ops-backup-%d", i);
		sf_scan(rid, "OPS-BACKUP", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key, &s);
		Request q;
		Evchain__V1__SubmitRequest sub;
		Evchain__V1__SignedRecord sr, *srp = &sr;
		sf_item it = sf_it(&s);
		sf_submit_req(&q, &sub, &sr, &srp, &it, 1);
		pb_arena a;
		Response *r = NULL;
		pb_arena_init(&a, 1 << 20);
		int ok = client_call(c, &q, &a, &r) == 0 && sf_code(r) == 0 && r->submit->n_receipts == 1 &&
		    r->submit->receipts[0]->status == NULL;
		pb_arena_free(&a);
		fx_signed_free(&s);
		if (ok)
			atomic_fetch_add(&ap->done, 1);
		else
			atomic_fetch_add(&ap->failed, 1);
	}
	client_close(c);
	return NULL;
}

static uint64_t
tree_size(void)
{
	evc_client *c = sf_conn(&p_sup);
	pb_arena a;
	pb_arena_init(&a, 1 << 20);
	Response *r = sf_status(c, &a);
	REQUIRE(sf_code(r) == 0);
	uint64_t n = r->status_info->tree_size;
	pb_arena_free(&a);
	client_close(c);
	return n;
}

static void
t_backup(void)
{
	static char out[65536];
	char cmd[4096];
	char bk[1024];
	const char *ev = sf_prog("evchaind");
	appender ap;
	int rc;

	sf_begin("backup", 90);
	snprintf(bk, sizeof bk, "%s", sf_path("backup-1"));
	/* Usage and refusals. */
	snprintf(cmd, sizeof cmd, "'%s' backup -c '%s'", ev, sf_path("dep/evchaind.conf"));
	rc = fx_run(cmd, out, sizeof out);
	CHECK_(rc == 2 && strstr(out, "usage: evchaind backup"), "no DEST: %d: %s", rc, out);
	snprintf(cmd, sizeof cmd, "'%s' backup '%s'", ev, bk);
	rc = fx_run(cmd, out, sizeof out);
	CHECK_(rc == 2, "no -c: %d: %s", rc, out);
	snprintf(cmd, sizeof cmd, "'%s' backup -c '%s' '%s'", ev, sf_path("dep/evchaind.conf"),
	    sf_path("dep"));
	rc = fx_run(cmd, out, sizeof out);
	CHECK_(rc == 1 && strstr(out, "is not empty; refusing"), "DEST not empty: %d: %s", rc, out);
	snprintf(cmd, sizeof cmd, "'%s' backup -c '%s' '%s'", ev, sf_path("dep/evchaind.conf"),
	    sf_path("dep/ca.crt"));
	rc = fx_run(cmd, out, sizeof out);
	CHECK_(rc == 1 && strstr(out, "not a directory"), "DEST a file: %d: %s", rc, out);
	snprintf(cmd, sizeof cmd, "'%s' backup -c '%s' --data '%s' '%s'", ev, sf_path("dep/evchaind.conf"),
	    sf_path("no-such-data"), sf_path("backup-0"));
	rc = fx_run(cmd, out, sizeof out);
	struct stat st;
	CHECK_(rc == 1 && stat(sf_path("backup-0"), &st) != 0, "no ledger: %d: %s", rc, out);

	/* While a node appends, one record after another. */
	uint64_t before = tree_size();
	memset(&ap, 0, sizeof ap);
	REQUIRE(pthread_create(&ap.th, NULL, append_main, &ap) == 0);
	for (int i = 0; i < 500 && atomic_load(&ap.done) < 20; i++)
		usleep(10000);
	CHECK(mkdir(sf_path("backup-1"), 0700) == 0); /* an empty DEST is fine */
	snprintf(cmd, sizeof cmd, "'%s' backup -c '%s' '%s'", ev, sf_path("dep/evchaind.conf"), bk);
	rc = fx_run(cmd, out, sizeof out);
	int during = atomic_load(&ap.done);
	for (int i = 0; i < 500 && atomic_load(&ap.done) < during + 20; i++)
		usleep(10000);
	atomic_store(&ap.stop, 1);
	pthread_join(ap.th, NULL);
	CHECK_EQ(atomic_load(&ap.failed), 0);
	CHECK(atomic_load(&ap.done) >= during + 20);
	uint64_t after = tree_size();
	CHECK_(rc == 0 && strstr(out, "evchain-verify ledger") && strstr(out, "witnesses") &&
	    strstr(out, "mv "), "evchaind backup: %d: %s", rc, out);
	REQUIRE(rc == 0);
	/* "backup of the log "ORIGIN" in DEST: N entries, …" */
	const char *p = strstr(out, bk);
	p = p ? strstr(p, ": ") : NULL;
	uint64_t n = p ? strtoull(p + 2, NULL, 10) : 0;
	CHECK_(n > before + 10 && n < after, "backup size %" PRIu64 " within (%" PRIu64 ", %" PRIu64 ")",
	    n, before, after);
	CHECK(stat(sf_path("backup-1/data.mdb"), &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(stat(sf_path("backup-1/lock.mdb"), &st) != 0);
	/* The suggested verification, as printed (the log key found beside log.key). */
	char want[1200];
	snprintf(want, sizeof want, "evchain-verify ledger %s --log-key %s", bk, sf_path("dep/log.pub"));
	CHECK_(strstr(out, want) != NULL, "no `%s` in: %s", want, out);

	/* The copy passes the offline audit, at size n. */
	snprintf(cmd, sizeof cmd, "'%s' ledger '%s' --log-key '%s'", sf_prog("evchain-verify"), bk,
	    sf_path("dep/log.pub"));
	rc = fx_run(cmd, out, sizeof out);
	char sz[64];
	snprintf(sz, sizeof sz, "size %" PRIu64 ",", n);
	CHECK_(rc == 0 && strstr(out, sz), "evchain-verify ledger on the backup: %d: %s", rc, out);

	/* The witness cosigns the live log, larger than the copy. */
	snprintf(cmd, sizeof cmd, "cd '%s' && '%s' -c witness-supervisor.conf --server %s --state '%s' "
	    "--once", sf_dep, sf_prog("evchain-witness"), sf_addr, sf_path("wsup.state"));
	rc = fx_run(cmd, out, sizeof out);
	CHECK_(rc == 0, "evchain-witness on the live log: %d: %s", rc, out);

	/* The live log's checkpoint of size n (from a consistency proof n → n). */
	char note_n[16384];
	size_t note_len = 0;
	{
		evc_client *c = sf_conn(&p_sup);
		pb_arena a;
		Request q = EVCHAIN__V1__REQUEST__INIT;
		Evchain__V1__ConsistencyProofRequest cr = EVCHAIN__V1__CONSISTENCY_PROOF_REQUEST__INIT;
		cr.old_size = n;
		cr.new_size = n;
		q.op_case = EVCHAIN__V1__REQUEST__OP_CONSISTENCY_PROOF;
		q.consistency_proof = &cr;
		pb_arena_init(&a, 1 << 20);
		Response *r = sf_rpc(c, &q, &a);
		REQUIRE(sf_code(r) == 0 && r->consistency_proof->checkpoint.len > 0 &&
		    r->consistency_proof->checkpoint.len < sizeof note_n);
		note_len = r->consistency_proof->checkpoint.len;
		memcpy(note_n, r->consistency_proof->checkpoint.data, note_len);
		pb_arena_free(&a);
		client_close(c);
	}

	/* The restore procedure: stop, move the data aside, move the copy in, start. */
	CHECK_EQ(sf_stop(srv, SIGTERM, 10000, NULL), 0);
	REQUIRE(rename(sf_path("dep/data"), sf_path("dep/data.aside")) == 0);
	REQUIRE(rename(bk, sf_path("dep/data")) == 0);
	srv = sf_start_with(sf_path("dep/evchaind.conf"), "127.0.0.1:0", NULL);
	sf_use(srv);
	{
		evc_client *c = sf_conn(&p_sup);
		pb_arena a;
		pb_arena_init(&a, 1 << 20);
		Response *r = sf_status(c, &a);
		CHECK(sf_code(r) == 0 && r->status_info->tree_size == n);
		r = sf_checkpoint(c, &a);
		CHECK_(sf_code(r) == 0 && r->checkpoint->checkpoint.len == note_len &&
		    memcmp(r->checkpoint->checkpoint.data, note_n, note_len) == 0,
		    "the restored log serves another checkpoint: %.*s", (int)(r ? r->checkpoint->checkpoint.len
		    : 0), r ? (const char *)r->checkpoint->checkpoint.data : "");
		checkpoint cp;
		sf_latest(c, &p_sup, &cp);
		CHECK_EQ(cp.size, n);
		pb_arena_free(&a);
		client_close(c);
	}
	int mp = log_metrics_port(srv->log, NULL, 0);
	expo e;
	if (mp > 0) {
		get_expo(mp, &e);
		CHECK_EQ(MV(&e, "evchain_entries", ""), (double)n);
		CHECK_EQ(MV(&e, "evchain_checkpoint_size", ""), (double)n);
		free(e.s);
	}

	/* The witness, which cosigned a larger tree, refuses the restored log. */
	snprintf(cmd, sizeof cmd, "cd '%s' && '%s' -c witness-supervisor.conf --server %s --state '%s' "
	    "--once", sf_dep, sf_prog("evchain-witness"), sf_addr, sf_path("wsup.state"));
	rc = fx_run(cmd, out, sizeof out);
	CHECK_(rc == 1 && strstr(out, "rollback"), "evchain-witness on the restored log: %d: %s", rc, out);
	sf_alive("the restore");
}

/* ---- a new log continuing the old one --------------------------------------------- */

static void
t_succession(void)
{
	static char out[65536];
	char cmd[4096], cpnote[16384];
	size_t nlen;
	int rc;

	sf_begin("succession", 60);
	/* The old log's last checkpoint, as `evchain checkpoint` prints it. */
	{
		evc_client *c = sf_conn(&p_court);
		pb_arena a;
		pb_arena_init(&a, 1 << 20);
		Response *r = sf_checkpoint(c, &a);
		REQUIRE(sf_code(r) == 0 && r->checkpoint->checkpoint.len < sizeof cpnote);
		nlen = r->checkpoint->checkpoint.len;
		memcpy(cpnote, r->checkpoint->checkpoint.data, nlen);
		cpnote[nlen] = '\0';
		pb_arena_free(&a);
		client_close(c);
	}
	sf_write(sf_path("dep/old.checkpoint"), cpnote);
	sf_keys("gen --type log --name evchain.local/dev-log-2 --out '%s' >/dev/null", sf_path("dep/log2"));
	const char *ok = conf_with("new-log.conf", "log_key = log2.key\npredecessor_checkpoint = "
	    "old.checkpoint\npredecessor_key = log.pub\n");

	/* Refusals, nothing logged: a checkpoint the key did not sign, the new
	 * log's own origin, one key without the other, a missing file. */
	const char *bad1 = conf_with("new-bad1.conf", "log_key = log2.key\npredecessor_checkpoint = "
	    "old.checkpoint\npredecessor_key = log2.pub\n");
	rc = refused_start(bad1, sf_path("data-s1"), out, sizeof out);
	CHECK_(rc == 1 && strstr(out, "is not a checkpoint signed by"), "wrong key: %d: %s", rc, out);
	const char *bad2 = conf_with("new-bad2.conf", "predecessor_checkpoint = old.checkpoint\n"
	    "predecessor_key = log.pub\n");
	rc = refused_start(bad2, sf_path("data-s1"), out, sizeof out);
	CHECK_(rc == 1 && strstr(out, "a new log needs a log key with a new name"), "same origin: %d: %s",
	    rc, out);
	const char *bad3 = conf_with("new-bad3.conf", "log_key = log2.key\npredecessor_key = log.pub\n");
	rc = refused_start(bad3, sf_path("data-s1"), out, sizeof out);
	CHECK_(rc == 1 && strstr(out, "go together"), "one of two: %d: %s", rc, out);
	const char *bad4 = conf_with("new-bad4.conf", "log_key = log2.key\npredecessor_checkpoint = "
	    "nothing.checkpoint\npredecessor_key = log.pub\n");
	rc = refused_start(bad4, sf_path("data-s1"), out, sizeof out);
	CHECK_(rc == 1 && strstr(out, "cannot open"), "no file: %d: %s", rc, out);
	sf_write(sf_path("dep/forged.checkpoint"), "evchain.local/dev-log\n999\n"
	    "RE7aDN5CGSB5+4eYoSxdQ0CAS1YSvzGF1GHSgANTsiA=\n\n"
	    "\xe2\x80\x94 evchain.local/dev-log mpyh0vr+QysQduSvfO3al4Om8ppqJfKZFsMrqFU2Ip4WjF0uLHMx7KnAK4m8Xv"
	    "ZHg2gEp/O6923DLvoxyrwHRgIq4AM=\n");
	const char *bad5 = conf_with("new-bad5.conf", "log_key = log2.key\npredecessor_checkpoint = "
	    "forged.checkpoint\npredecessor_key = log.pub\n");
	rc = refused_start(bad5, sf_path("data-s1"), out, sizeof out);
	CHECK_(rc == 1 && strstr(out, "is not a checkpoint signed by"), "forged: %d: %s", rc, out);
	/* (the ledger directory of a refused start holds no entry) */
	snprintf(cmd, sizeof cmd, "'%s' ledger '%s' --log-key '%s' 2>&1", sf_prog("evchain-verify"),
	    sf_path("data-s1"), sf_path("dep/log2.pub"));
	rc = fx_run(cmd, out, sizeof out);
	CHECK_(rc != 0 || strstr(out, " 0 entries") != NULL, "a refused start logged: %d: %s", rc, out);

	/* The new log: entry 0, signed by the new log key, holds the old checkpoint. */
	sf_server *s2 = sf_start_with(ok, "127.0.0.1:0", sf_path("data-new"));
	CHECK(strstr(await_log(s2->log, "serving log"), "continues \"evchain.local/dev-log\"") != NULL);
	char addr[64];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", s2->port);
	evc_client *c = NULL;
	char err[512];
	REQUIRE(client_connect(&p_sup, addr, &c, err, sizeof err) == 0);
	pb_arena a;
	pb_arena_init(&a, 4u << 20);
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__EntriesRequest er = EVCHAIN__V1__ENTRIES_REQUEST__INIT;
	er.start = 0;
	er.count = 1;
	q.op_case = EVCHAIN__V1__REQUEST__OP_ENTRIES;
	q.entries = &er;
	Response *r = sf_rpc(c, &q, &a);
	REQUIRE(sf_code(r) == 0 && r->entries->n_entries == 1);
	Evchain__V1__Entry *en = (Evchain__V1__Entry *)pb_unpack(&a, &evchain__v1__entry__descriptor,
	    r->entries->entries[0].data, r->entries->entries[0].len);
	REQUIRE(en != NULL);
	Record *rec = record_decode(&a, en->record.data, en->record.len);
	REQUIRE(rec != NULL && rec->body_case == EVCHAIN__V1__RECORD__BODY_NODE_KEY);
	CHECK_STR(en->key_name, "evchain.local/dev-log-2");
	CHECK_STR(rec->signer, "evchain.local/dev-log-2");
	CHECK_STR(rec->node_key->key_name, p_admin.signing_key.name);
	CHECK(rec->node_key->role == EVCHAIN__V1__NODE_KEY__ROLE__ADMIN);
	char want[17000];
	snprintf(want, sizeof want, "evchain-predecessor/v1\n%s", cpnote);
	CHECK_STR(rec->node_key->reason, want);
	pb_arena_free(&a);
	client_close(c);
	CHECK_EQ(sf_stop(s2, SIGTERM, 10000, NULL), 0);
	snprintf(cmd, sizeof cmd, "'%s' ledger '%s' --log-key '%s'", sf_prog("evchain-verify"),
	    sf_path("data-new"), sf_path("dep/log2.pub"));
	rc = fx_run(cmd, out, sizeof out);
	CHECK_(rc == 0 && strstr(out, "origin evchain.local/dev-log-2"), "the new log: %d: %s", rc, out);
	/* Started again, the predecessor lines change nothing. */
	s2 = sf_start_with(ok, "127.0.0.1:0", sf_path("data-new"));
	CHECK(strstr(await_log(s2->log, "serving log"), "serving log \"evchain.local/dev-log-2\": 1 entries")
	    != NULL);
	CHECK_EQ(sf_stop(s2, SIGTERM, 10000, NULL), 0);

	/* contrib/evchaind.conf is a configuration evchaind accepts (it stops
	 * later, at the missing /etc/evchain files, not at the configuration). */
	snprintf(cmd, sizeof cmd, "'%s' backup -c contrib/evchaind.conf '%s'", sf_prog("evchaind"),
	    sf_path("no-such-dir/x"));
	rc = fx_run(cmd, out, sizeof out);
	CHECK_(rc == 1 && strstr(out, "contrib/evchaind.conf") == NULL && strstr(out, "cannot create"),
	    "contrib/evchaind.conf: %d: %s", rc, out);
}

int
main(void)
{
	sf_setup("ops");
	sf_begin("start", 20);
	srv = sf_start(sf_path("dep/evchaind.conf"), NULL);
	sf_use(srv);

	t_metrics();
	t_http();
	t_config();
	t_backup();
	t_succession();
	alarm(0);
	fx_signed_free(&regnode);
	CHECK_DONE("test_ops");
}
