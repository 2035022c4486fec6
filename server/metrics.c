/*
 * metrics.c — evchaind's counters and its Prometheus endpoint.
 *
 * Counters and histograms are process-wide relaxed atomics updated by
 * one-line hooks in net.c and ops.c (metrics_*); a scrape reads each one
 * once, so a histogram's _count always equals its +Inf bucket (both come
 * from the same bucket reads) while _sum may be a request ahead or behind.
 *
 * The endpoint is plain HTTP/1.0 on the libuv loop, on its own listener
 * (`metrics_listen`, README "Operations"): GET /metrics answers the text
 * exposition format 0.0.4; any other method 405, any other path 404, a
 * request line and headers over METRICS_REQ_MAX bytes 431, a request not
 * complete within METRICS_REQ_MS 408. Every connection is closed after its
 * response; at most METRICS_MAX_CONNS at once. The listener is loopback
 * only unless `metrics_public = yes`: the figures say how busy the log is
 * and who is connected, which is nobody else's business.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evc.h"
#include "server.h"

#define METRICS_REQ_MAX 4096
#define METRICS_REQ_MS 5000
#define METRICS_MAX_CONNS 16
#define METRICS_LINGER_MS 2000

#define RLX memory_order_relaxed

/* ---- the figures ------------------------------------------------------------ */

/* Latency bounds (ns) and their `le` labels. */
static const uint64_t lat_le[] = { 500000, 1000000, 2500000, 5000000, 10000000, 25000000,
	50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000u, 5000000000u,
	10000000000u };
static const char *const lat_le_s[] = { "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
	"0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10" };
/* Records per group commit. */
static const uint64_t cnt_le[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192 };
static const char *const cnt_le_s[] = { "1", "2", "4", "8", "16", "32", "64", "128", "256", "512",
	"1024", "2048", "4096", "8192" };
#define NB 14

typedef struct hist {
	atomic_uint_fast64_t b[NB + 1];  /* per bucket, not cumulative; [NB] is +Inf */
	atomic_uint_fast64_t sum;        /* ns, or records */
} hist;

/* Ops: Request.op oneof cases 10..19; [NOPS - 1] for a request that named no
 * operation or did not decode. */
#define OP_FIRST 10
#define NOPS 11
static const char *const op_label[NOPS] = { "submit", "checkpoint", "entries",
	"inclusion_proof", "consistency_proof", "query", "export_bundle", "add_cosignature", "audit",
	"status", "invalid" };

/* Status codes 0..10 (Status.Code). */
#define NCODES 11
static const char *const code_label[NCODES] = { "ok", "invalid_argument", "bad_signature",
	"unknown_key", "permission_denied", "conflict", "not_found", "too_large",
	"resource_exhausted", "unavailable", "internal" };

#define NROLES 7
static const char *const role_label[NROLES] = { "none", "node", "supervisor", "discipline",
	"court", "witness", "admin" };

static struct {
	hist req[NOPS];                            /* request latency by op */
	hist commit_records, commit_ns;            /* group commits */
	atomic_uint_fast64_t req_refused[NCODES];  /* whole requests, by code */
	atomic_uint_fast64_t rec_refused[NCODES];  /* records of a submit, by code */
	atomic_uint_fast64_t rec_accepted;         /* receipts (new entries and duplicates) */
	atomic_int_fast64_t conns[NROLES];         /* authenticated connections by role */
	atomic_uint_fast64_t cosigs[SRV_MAX_WITNESSES];
	atomic_uint_fast64_t cosigned_size[SRV_MAX_WITNESSES];
	atomic_uint_fast64_t cp_size;
	atomic_int_fast64_t cp_time_ms;
} M;

static void
hist_observe(hist *h, const uint64_t *le, uint64_t v)
{
	size_t i = 0;
	while (i < NB && v > le[i])
		i++;
	atomic_fetch_add_explicit(&h->b[i], 1, RLX);
	atomic_fetch_add_explicit(&h->sum, v, RLX);
}

void
metrics_reply(const srv_job *j, const Evchain__V1__Response *resp)
{
	int64_t ns = (int64_t)uv_hrtime() - j->t_start_ns;
	size_t op = NOPS - 1;
	if (j->req != NULL && (int)j->req->op_case >= OP_FIRST && (int)j->req->op_case < OP_FIRST + NOPS - 1)
		op = (size_t)((int)j->req->op_case - OP_FIRST);
	hist_observe(&M.req[op], lat_le, ns > 0 ? (uint64_t)ns : 0);
	if (resp->status != NULL && resp->status->code != EVCHAIN__V1__STATUS__CODE__OK) {
		metrics_refused((int)resp->status->code);
		return;
	}
	if (resp->result_case != EVCHAIN__V1__RESPONSE__RESULT_SUBMIT || resp->submit == NULL)
		return;
	for (size_t i = 0; i < resp->submit->n_receipts; i++) {
		const Evchain__V1__Receipt *r = resp->submit->receipts[i];
		int code = r != NULL && r->status != NULL ? (int)r->status->code : 0;
		if (code == 0)
			atomic_fetch_add_explicit(&M.rec_accepted, 1, RLX);
		else
			atomic_fetch_add_explicit(&M.rec_refused[code > 0 && code < NCODES ? code
			    : NCODES - 1], 1, RLX);
	}
}

void
metrics_refused(int code)
{
	atomic_fetch_add_explicit(&M.req_refused[code > 0 && code < NCODES ? code : NCODES - 1], 1, RLX);
}

void
metrics_commit(size_t appended, uint64_t ns, const ledger_head *head)
{
	if (appended == 0)
		return;
	hist_observe(&M.commit_records, cnt_le, appended);
	hist_observe(&M.commit_ns, lat_le, ns);
	atomic_store_explicit(&M.cp_size, head->size, RLX);
	atomic_store_explicit(&M.cp_time_ms, head->time_ms, RLX);
}

void
metrics_conn(srv_role role, int delta)
{
	if ((int)role > 0 && (int)role < NROLES)
		atomic_fetch_add_explicit(&M.conns[role], delta, RLX);
}

void
metrics_cosigned(size_t witness, uint64_t tree_size)
{
	if (witness >= SRV_MAX_WITNESSES)
		return;
	atomic_fetch_add_explicit(&M.cosigs[witness], 1, RLX);
	uint64_t cur = atomic_load_explicit(&M.cosigned_size[witness], RLX);
	while (tree_size > cur && !atomic_compare_exchange_weak_explicit(&M.cosigned_size[witness],
	    &cur, tree_size, RLX, RLX)) {
	}
}

/* ---- the exposition ---------------------------------------------------------- */

typedef struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_printf(sbuf *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		if (b->oom)
			return;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if (b->p != NULL && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t nc = b->cap ? 2 * b->cap : 16384;
		while (nc < b->len + (size_t)n + 1)
			nc *= 2;
		char *q = realloc(b->p, nc);
		if (q == NULL) {
			b->oom = 1;
			return;
		}
		b->p = q;
		b->cap = nc;
	}
}

/* A label value, escaped as the format wants (\\, \", \n). */
static void
sb_label(sbuf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			sb_printf(b, "\\%c", *v);
		else if (*v == '\n')
			sb_printf(b, "\\n");
		else
			sb_printf(b, "%c", *v);
	}
}

static void
family(sbuf *b, const char *name, const char *type, const char *help)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One histogram's series; label is `key="value",` or "". */
static void
hist_write(sbuf *b, const char *name, const char *label, hist *h, const char *const *le_s,
    int seconds)
{
	uint64_t cum = 0;
	for (size_t i = 0; i <= NB; i++) {
		cum += atomic_load_explicit(&h->b[i], RLX);
		sb_printf(b, "%s_bucket{%sle=\"%s\"} %" PRIu64 "\n", name, label, i < NB ? le_s[i] : "+Inf",
		    cum);
	}
	uint64_t sum = atomic_load_explicit(&h->sum, RLX);
	const char *bare = label[0] ? "{" : "";
	size_t ll = strlen(label);
	/* The label without its trailing comma, in braces. */
	if (seconds)
		sb_printf(b, "%s_sum%s%.*s%s %" PRIu64 ".%09" PRIu64 "\n", name, bare,
		    ll ? (int)ll - 1 : 0, label, label[0] ? "}" : "", sum / 1000000000u, sum % 1000000000u);
	else
		sb_printf(b, "%s_sum%s%.*s%s %" PRIu64 "\n", name, bare, ll ? (int)ll - 1 : 0, label,
		    label[0] ? "}" : "", sum);
	sb_printf(b, "%s_count%s%.*s%s %" PRIu64 "\n", name, bare, ll ? (int)ll - 1 : 0, label,
	    label[0] ? "}" : "", cum);
}

static srv *S;

static size_t
queue_len(srv_queue *q)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->n;
	pthread_mutex_unlock(&q->mu);
	return n;
}

static void
exposition(sbuf *b)
{
	srv *s = S;
	char lab[128];

	family(b, "evchain_build_info", "gauge", "evchaind's version and the log's origin (always 1).");
	sb_printf(b, "evchain_build_info{version=\"%s\",origin=\"", EVCHAIND_VERSION);
	sb_label(b, s->log_key.name);
	sb_printf(b, "\"} 1\n");
	family(b, "evchain_start_time_seconds", "gauge", "When evchaind started (Unix seconds).");
	sb_printf(b, "evchain_start_time_seconds %" PRId64 ".%03" PRId64 "\n", s->started_ms / 1000,
	    s->started_ms % 1000);

	family(b, "evchain_entries", "gauge", "Entries in the log (its tree size).");
	sb_printf(b, "evchain_entries %" PRIu64 "\n", ledger_size(s->ledger));
	family(b, "evchain_index_entries", "gauge",
	    "Entries the secondary index covers (queries and leaf lookups scan the rest).");
	sb_printf(b, "evchain_index_entries %" PRIu64 "\n", ledger_indexed(s->ledger));
	family(b, "evchain_index_errors_total", "counter",
	    "Index runs that failed (disk full, map at map_max); each is retried.");
	sb_printf(b, "evchain_index_errors_total %" PRIu64 "\n", ledger_index_errors(s->ledger));
	family(b, "evchain_entries_appended_total", "counter", "Entries appended since start.");
	sb_printf(b, "evchain_entries_appended_total %" PRIu64 "\n",
	    (uint64_t)atomic_load_explicit(&s->stats.entries_appended, RLX));
	uint64_t cps = atomic_load_explicit(&M.cp_size, RLX);
	int64_t cpt = atomic_load_explicit(&M.cp_time_ms, RLX), now = srv_now_ms();
	family(b, "evchain_checkpoint_size", "gauge", "Tree size of the latest signed checkpoint.");
	sb_printf(b, "evchain_checkpoint_size %" PRIu64 "\n", cps);
	family(b, "evchain_checkpoint_timestamp_seconds", "gauge",
	    "Log time of the latest signed checkpoint (Unix seconds; 0: the log is empty).");
	sb_printf(b, "evchain_checkpoint_timestamp_seconds %" PRId64 ".%03" PRId64 "\n", cpt / 1000,
	    cpt % 1000);
	family(b, "evchain_checkpoint_age_seconds", "gauge",
	    "Seconds since the latest checkpoint was signed (a checkpoint is signed only when the log grows).");
	int64_t age = cps > 0 && now > cpt ? now - cpt : 0;
	sb_printf(b, "evchain_checkpoint_age_seconds %" PRId64 ".%03" PRId64 "\n", age / 1000, age % 1000);

	family(b, "evchain_commit_records", "histogram",
	    "Records appended by one group commit (one LMDB transaction, one checkpoint).");
	hist_write(b, "evchain_commit_records", "", &M.commit_records, cnt_le_s, 0);
	family(b, "evchain_commit_duration_seconds", "histogram",
	    "Time of one group commit: append, sign the checkpoint, commit with fsync.");
	hist_write(b, "evchain_commit_duration_seconds", "", &M.commit_ns, lat_le_s, 1);
	family(b, "evchain_request_duration_seconds", "histogram",
	    "Requests answered, by operation: from the whole frame read to the response queued "
	    "(a submit: through its group commit).");
	for (size_t i = 0; i < NOPS; i++) {
		snprintf(lab, sizeof(lab), "op=\"%s\",", op_label[i]);
		hist_write(b, "evchain_request_duration_seconds", lab, &M.req[i], lat_le_s, 1);
	}

	family(b, "evchain_requests_refused_total", "counter",
	    "Requests answered with an error status, by status code.");
	for (size_t i = 1; i < NCODES; i++)
		sb_printf(b, "evchain_requests_refused_total{code=\"%s\"} %" PRIu64 "\n", code_label[i],
		    (uint64_t)atomic_load_explicit(&M.req_refused[i], RLX));
	family(b, "evchain_records_refused_total", "counter",
	    "Records of submit requests refused, by status code.");
	for (size_t i = 1; i < NCODES; i++)
		sb_printf(b, "evchain_records_refused_total{code=\"%s\"} %" PRIu64 "\n", code_label[i],
		    (uint64_t)atomic_load_explicit(&M.rec_refused[i], RLX));
	family(b, "evchain_records_accepted_total", "counter",
	    "Records of submit requests answered with a receipt (new entries and duplicates).");
	sb_printf(b, "evchain_records_accepted_total %" PRIu64 "\n",
	    (uint64_t)atomic_load_explicit(&M.rec_accepted, RLX));

	family(b, "evchain_verify_queue_depth", "gauge",
	    "Requests waiting for a worker (decode, roles, signature verification, reads).");
	sb_printf(b, "evchain_verify_queue_depth %zu\n", queue_len(&s->work_q));
	family(b, "evchain_write_queue_depth", "gauge", "Verified submit requests waiting for the writer.");
	sb_printf(b, "evchain_write_queue_depth %zu\n", queue_len(&s->write_q));
	family(b, "evchain_requests_in_flight", "gauge", "Requests read and not answered yet.");
	sb_printf(b, "evchain_requests_in_flight %d\n", atomic_load_explicit(&s->busy, RLX));
	family(b, "evchain_workers", "gauge", "Worker threads.");
	sb_printf(b, "evchain_workers %zu\n", s->nworkers);

	family(b, "evchain_connections", "gauge",
	    "Open connections by the role of their client certificate (after the TLS handshake).");
	for (size_t i = 1; i < NROLES; i++) {
		int64_t v = atomic_load_explicit(&M.conns[i], RLX);
		sb_printf(b, "evchain_connections{role=\"%s\"} %" PRId64 "\n", role_label[i], v > 0 ? v : 0);
	}
	family(b, "evchain_connections_open", "gauge", "Open TLS connections, handshaking ones included.");
	sb_printf(b, "evchain_connections_open %u\n", atomic_load_explicit(&s->stats.connections, RLX));
	family(b, "evchain_connections_accepted_total", "counter", "TCP connections accepted since start.");
	sb_printf(b, "evchain_connections_accepted_total %" PRIu64 "\n",
	    (uint64_t)atomic_load_explicit(&s->stats.connections_total, RLX));

	family(b, "evchain_witness_cosignatures_total", "counter",
	    "Cosignatures stored since start, by witness.");
	for (size_t i = 0; i < s->nwitnesses; i++) {
		sb_printf(b, "evchain_witness_cosignatures_total{witness=\"");
		sb_label(b, s->witnesses[i].name);
		sb_printf(b, "\"} %" PRIu64 "\n", (uint64_t)atomic_load_explicit(&M.cosigs[i], RLX));
	}
	family(b, "evchain_witness_cosigned_size", "gauge",
	    "Largest tree size each witness cosigned since start (0: none yet).");
	for (size_t i = 0; i < s->nwitnesses; i++) {
		sb_printf(b, "evchain_witness_cosigned_size{witness=\"");
		sb_label(b, s->witnesses[i].name);
		sb_printf(b, "\"} %" PRIu64 "\n", (uint64_t)atomic_load_explicit(&M.cosigned_size[i], RLX));
	}
}

/* ---- the endpoint -------------------------------------------------------------- */

typedef struct mconn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wreq;
	uv_shutdown_t sreq;
	int handles;          /* open handles; freed at 0 */
	int closing, answered;
	int shut, eof;        /* FIN sent after the response; the client's FIN seen */
	char req[METRICS_REQ_MAX];
	size_t len;
	char *resp;
	struct mconn *prev, *next;
} mconn;

static uv_tcp_t listener;
static int listening;
static mconn *mconns;
static size_t nmconns;

static void
mconn_closed(uv_handle_t *h)
{
	mconn *c = h->data;
	if (--c->handles > 0)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		mconns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	nmconns--;
	free(c->resp);
	free(c);
}

static void
mconn_close(mconn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	uv_close((uv_handle_t *)&c->tcp, mconn_closed);
	uv_close((uv_handle_t *)&c->timer, mconn_closed);
}

/* Lingering close: after the response and a FIN, read and drop what the
 * client still sends until it closes, at most METRICS_LINGER_MS; closing
 * with unread input would reset the connection and could lose the response. */
static void
linger_cb(uv_timer_t *t)
{
	mconn_close(t->data);
}

static void
shutdown_cb(uv_shutdown_t *req, int status)
{
	mconn *c = req->data;
	if (c->closing)
		return;
	c->shut = 1;
	if (status < 0 || c->eof)
		mconn_close(c);
	else
		uv_timer_start(&c->timer, linger_cb, METRICS_LINGER_MS, 0);
}

static void
write_cb(uv_write_t *req, int status)
{
	mconn *c = req->data;
	if (c->closing)
		return;
	/* FIN after the response, then close. */
	if (status < 0 || uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, shutdown_cb) != 0)
		mconn_close(c);
}

static void
respond(mconn *c, const char *status, const char *extra, const char *body, size_t blen,
    const char *ctype)
{
	char head[512];
	int hl = snprintf(head, sizeof(head), "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n", status, ctype, blen, extra);
	c->answered = 1;
	uv_timer_stop(&c->timer);
	if (hl < 0 || (size_t)hl >= sizeof(head) || (c->resp = malloc((size_t)hl + blen)) == NULL) {
		mconn_close(c);
		return;
	}
	memcpy(c->resp, head, (size_t)hl);
	memcpy(c->resp + hl, body, blen);
	uv_buf_t b = uv_buf_init(c->resp, (unsigned)((size_t)hl + blen));
	c->wreq.data = c;
	c->sreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0)
		mconn_close(c);
}

static void
respond_text(mconn *c, const char *status, const char *extra, const char *msg)
{
	respond(c, status, extra, msg, strlen(msg), "text/plain; charset=utf-8");
}

/* A whole request head is in c->req[0..len): answer it. */
static void
handle(mconn *c)
{
	char *sp1 = memchr(c->req, ' ', c->len);
	char *eol = memchr(c->req, '\n', c->len);
	if (sp1 == NULL || eol == NULL || sp1 > eol) {
		respond_text(c, "400 Bad Request", "", "bad request\n");
		return;
	}
	char *target = sp1 + 1;
	char *sp2 = memchr(target, ' ', (size_t)(eol - target));
	if (sp2 == NULL || (size_t)(eol - sp2) < 9 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		respond_text(c, "400 Bad Request", "", "bad request\n");
		return;
	}
	if ((size_t)(sp1 - c->req) != 3 || memcmp(c->req, "GET", 3) != 0) {
		respond_text(c, "405 Method Not Allowed", "Allow: GET\r\n", "only GET /metrics\n");
		return;
	}
	size_t tl = (size_t)(sp2 - target);
	if (!((tl == 8 && memcmp(target, "/metrics", 8) == 0) ||
	    (tl > 8 && memcmp(target, "/metrics?", 9) == 0))) {
		respond_text(c, "404 Not Found", "", "not found: this endpoint serves GET /metrics\n");
		return;
	}
	sbuf b = { 0 };
	exposition(&b);
	if (b.oom) {
		free(b.p);
		respond_text(c, "500 Internal Server Error", "", "out of memory\n");
		return;
	}
	respond(c, "200 OK", "", b.p, b.len, "text/plain; version=0.0.4; charset=utf-8");
	free(b.p);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	mconn *c = h->data;
	(void)suggested;
	if (c->answered) { /* lingering: input is dropped */
		buf->base = c->req;
		buf->len = sizeof(c->req);
		return;
	}
	buf->base = c->req + c->len;
	buf->len = sizeof(c->req) - c->len;
}

static void
read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	mconn *c = st->data;
	(void)buf;
	if (c->closing)
		return;
	if (n < 0) {
		if (!c->answered || c->shut) {
			mconn_close(c);
		} else { /* the response is still going out */
			c->eof = 1;
			uv_read_stop(st);
		}
		return;
	}
	if (c->answered)
		return;
	size_t from = c->len > 3 ? c->len - 3 : 0;
	c->len += (size_t)n;
	for (size_t i = from; i < c->len; i++) {
		if (c->req[i] != '\n')
			continue;
		if ((i >= 1 && c->req[i - 1] == '\n') ||
		    (i >= 2 && c->req[i - 1] == '\r' && c->req[i - 2] == '\n')) {
			handle(c);
			return;
		}
	}
	if (c->len == sizeof(c->req))
		respond_text(c, "431 Request Header Fields Too Large", "",
		    "request too large (at most 4096 bytes of request line and headers)\n");
}

static void
timer_cb(uv_timer_t *t)
{
	mconn *c = t->data;
	respond_text(c, "408 Request Timeout", "", "request timeout\n");
}

static void
accept_cb(uv_stream_t *server, int status)
{
	mconn *c;
	if (status < 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return;
	uv_tcp_init(server->loop, &c->tcp);
	uv_timer_init(server->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->handles = 2;
	c->next = mconns;
	if (mconns)
		mconns->prev = c;
	mconns = c;
	nmconns++;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || nmconns > METRICS_MAX_CONNS ||
	    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0) {
		mconn_close(c);
		return;
	}
	uv_timer_start(&c->timer, timer_cb, METRICS_REQ_MS, 0);
}

/* ---- addresses --------------------------------------------------------------------- */

static int
parse_addr(const char *a, struct sockaddr_storage *ss)
{
	char host[256];
	const char *colon = strrchr(a, ':');
	if (colon == NULL || (size_t)(colon - a) >= sizeof(host) || colon[1] == '\0')
		return -1;
	memcpy(host, a, (size_t)(colon - a));
	host[colon - a] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 0 || port > 65535)
		return -1;
	char *h = host;
	size_t hl = strlen(h);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h[hl - 1] = '\0';
		h++;
	}
	memset(ss, 0, sizeof(*ss));
	if (uv_ip4_addr(h, (int)port, (struct sockaddr_in *)ss) == 0)
		return 0;
	if (uv_ip6_addr(h, (int)port, (struct sockaddr_in6 *)ss) == 0)
		return 0;
	return -1;
}

static int
is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (IN6_IS_ADDR_LOOPBACK(a))
		return 1;
	return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
}

/* "auto": 127.0.0.1, the main listen port + 1 (port 0 stays 0). */
static int
resolve(const srv_config *cfg, char *out, size_t cap, char *err, size_t errcap)
{
	if (strcmp(cfg->metrics_listen, "auto") != 0) {
		snprintf(out, cap, "%s", cfg->metrics_listen);
		return 0;
	}
	const char *colon = strrchr(cfg->listen, ':');
	char *end;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	if (colon == NULL || *end != '\0' || port < 0 || port >= 65535) {
		snprintf(err, errcap, "metrics_listen = auto needs the listen port + 1, and listen is \"%s\"; "
		    "set metrics_listen", cfg->listen);
		return -1;
	}
	snprintf(out, cap, "127.0.0.1:%ld", port ? port + 1 : 0);
	return 0;
}

int
metrics_check_config(const srv_config *cfg, char *err, size_t errcap)
{
	struct sockaddr_storage ss;
	const char *m = cfg->metrics_listen;

	if (strcmp(m, "auto") == 0 || strcmp(m, "off") == 0)
		return 0;
	if (parse_addr(m, &ss) != 0) {
		snprintf(err, errcap, "%s: `metrics_listen` is auto, off or a numeric HOST:PORT "
		    "(127.0.0.1:7801, [::1]:7801), not \"%s\"", cfg->conf_path, m);
		return -1;
	}
	if (!is_loopback(&ss) && !cfg->metrics_public) {
		snprintf(err, errcap, "%s: `metrics_listen = %s` is not a loopback address; the metrics "
		    "endpoint has no authentication: put it behind a proxy that has, or set "
		    "`metrics_public = yes` to serve it there anyway", cfg->conf_path, m);
		return -1;
	}
	return 0;
}

int
metrics_start(srv *s, char *err, size_t errcap)
{
	char addr[300];
	struct sockaddr_storage ss;
	int rc;

	S = s;
	ledger_head *h = malloc(sizeof(*h));
	if (h != NULL && ledger_latest(s->ledger, h) == 0) {
		atomic_store_explicit(&M.cp_size, h->size, RLX);
		atomic_store_explicit(&M.cp_time_ms, h->time_ms, RLX);
	}
	free(h);
	if (strcmp(s->cfg.metrics_listen, "off") == 0) {
		srv_log("metrics: off (metrics_listen = off)");
		return 0;
	}
	if (resolve(&s->cfg, addr, sizeof(addr), err, errcap) != 0)
		return -1;
	if (parse_addr(addr, &ss) != 0 || (!is_loopback(&ss) && !s->cfg.metrics_public)) {
		snprintf(err, errcap, "metrics address \"%s\" refused", addr);
		return -1;
	}
	uv_tcp_init(s->loop, &listener);
	listener.data = s;
	if ((rc = uv_tcp_bind(&listener, (struct sockaddr *)&ss, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&listener, 64, accept_cb)) != 0) {
		snprintf(err, errcap, "cannot listen for metrics on %s: %s (set metrics_listen to another "
		    "address, or off)", addr, uv_strerror(rc));
		uv_close((uv_handle_t *)&listener, NULL);
		return -1;
	}
	listening = 1;
	struct sockaddr_storage bound;
	int bl = sizeof(bound);
	char host[64] = "?";
	unsigned port = 0;
	if (uv_tcp_getsockname(&listener, (struct sockaddr *)&bound, &bl) == 0) {
		if (bound.ss_family == AF_INET6) {
			uv_ip6_name((struct sockaddr_in6 *)&bound, host + 1, sizeof(host) - 2);
			host[0] = '[';
			strcat(host, "]");
			port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
		} else {
			uv_ip4_name((struct sockaddr_in *)&bound, host, sizeof(host));
			port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
		}
	}
	srv_log("metrics: serving http://%s:%u/metrics (Prometheus text format%s)", host, port,
	    is_loopback(&bound) ? ", loopback only" : "; metrics_public = yes");
	return 0;
}

void
metrics_stop(void)
{
	if (listening) {
		listening = 0;
		uv_close((uv_handle_t *)&listener, NULL);
	}
	for (mconn *c = mconns; c != NULL; c = c->next)
		mconn_close(c);
}
