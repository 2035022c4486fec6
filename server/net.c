/*
 * net.c — connections: libuv TCP, OpenSSL over memory BIOs, framing,
 * timeouts, back-pressure, and the hand-off of responses from other threads.
 *
 * Rules (h2o, Node): one uv_write in flight per connection; after every
 * SSL_read/SSL_write/handshake step the write BIO is drained; reading stops
 * above the queued-output high-water mark; close_notify goes out before
 * uv_close; the peer certificate is verified and its result checked.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "evc.h"
#include "frame.h"
#include "server.h"

typedef struct outmsg {
	struct outmsg *next;
	size_t len;
	uint8_t *data;
} outmsg;

struct srv_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	srv *s;
	SSL *ssl;
	BIO *rbio, *wbio;
	int handshake_done;
	int closing;                /* close begun (loop thread) */
	int handles_open;           /* tcp + timer not yet closed */
	int finished;               /* uv_close called */
	int lingering;              /* FIN sent; discarding input until the peer closes */
	int no_linger;              /* the peer closed or failed: close at once */
	uv_shutdown_t sreq;
	int reading;
	int fatal_after_flush;      /* close once the queued output is written */
	srv_role role;
	char identity[EVC_MAX_KEY_NAME + 1];
	char peer[80];
	uint8_t *in;                /* plaintext not yet framed */
	size_t inlen, incap;
	uv_write_t wreq;
	uv_buf_t wbuf;
	int writing;
	/* shared with other threads */
	pthread_mutex_t mu;
	outmsg *outq, *outq_tail;
	size_t outq_bytes;
	int gone;                   /* no more output accepted */
	int in_flush_list;
	srv_conn *flush_next;
	atomic_int refs;
	atomic_uint inflight;
	/* loop thread list */
	srv_conn *prev, *next;
};

static void conn_close(srv_conn *c, const char *why);
static void conn_flush(srv_conn *c);

void
srv_log(const char *fmt, ...)
{
	char ts[32], line[2048];
	struct timespec now;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	if (vsnprintf(line, sizeof(line), fmt, ap) < 0)
		line[0] = '\0';
	va_end(ap);
	fprintf(stderr, "%s.%03ldZ evchaind: %s\n", ts, now.tv_nsec / 1000000, line);
}

int64_t
srv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
srv_mono_ms(void)
{
	return uv_hrtime() / 1000000u;
}

const char *
conn_peer(const srv_conn *c)
{
	return c->peer;
}

static void
conn_free(srv_conn *c)
{
	outmsg *m = c->outq;
	while (m != NULL) {
		outmsg *n = m->next;
		free(m->data);
		free(m);
		m = n;
	}
	SSL_free(c->ssl); /* frees the BIOs */
	free(c->in);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void
conn_unref(srv_conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1)
		conn_free(c);
}

/* Total bytes waiting to go out. */
static size_t
conn_queued(srv_conn *c)
{
	size_t n = c->wbuf.len + BIO_ctrl_pending(c->wbio);
	pthread_mutex_lock(&c->mu);
	n += c->outq_bytes;
	pthread_mutex_unlock(&c->mu);
	return n;
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char slab[65536]; /* the loop is single-threaded: consumed in read_cb */
	(void)h;
	(void)suggested;
	buf->base = slab;
	buf->len = sizeof(slab);
}

static void read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);

static void
conn_read_start(srv_conn *c)
{
	if (!c->reading && !c->closing && !c->s->draining) {
		if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) == 0)
			c->reading = 1;
	}
}

static void
conn_read_stop(srv_conn *c)
{
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = 0;
	}
}

/* Resume reading when back under the limits. */
static void
conn_maybe_resume(srv_conn *c)
{
	if (c->reading || c->closing || c->fatal_after_flush)
		return;
	if (conn_queued(c) <= c->s->cfg.max_queued_output / 2 &&
	    atomic_load(&c->inflight) < c->s->cfg.max_inflight)
		conn_read_start(c);
}

static void
close_cb(uv_handle_t *h)
{
	srv_conn *c = h->data;
	if (--c->handles_open == 0) {
		srv *s = c->s;
		if (c->prev)
			c->prev->next = c->next;
		else
			s->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		atomic_fetch_sub(&s->stats.connections, 1);
		metrics_conn(c->handshake_done ? c->role : ROLE_NONE, -1);
		conn_unref(c);
	}
}

static void
conn_finish_close(srv_conn *c)
{
	if (c->finished)
		return;
	c->finished = 1;
	pthread_mutex_lock(&c->mu);
	c->gone = 1;
	pthread_mutex_unlock(&c->mu);
	conn_read_stop(c);
	uv_close((uv_handle_t *)&c->tcp, close_cb);
	uv_close((uv_handle_t *)&c->timer, close_cb);
}

/*
 * Lingering close (as nginx and Apache do): once every response is written,
 * send FIN and read and discard until the peer closes, for at most
 * LINGER_MS. Closing a socket with unread input (a pipelining client still
 * sending, e.g. during a shutdown) makes the kernel send RST and drop the
 * output the peer has not read yet: receipts of committed records were lost.
 */
#define LINGER_MS 2000

static void
linger_read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	(void)buf;
	if (n < 0)
		conn_finish_close(st->data); /* the peer closed (or failed) */
}

static void
linger_timer_cb(uv_timer_t *t)
{
	conn_finish_close(t->data);
}

static void
linger_shutdown_cb(uv_shutdown_t *req, int status)
{
	srv_conn *c = req->data;

	if (c->finished)
		return;
	if (status < 0 || uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, linger_read_cb) != 0) {
		conn_finish_close(c);
		return;
	}
	c->reading = 1;
	uv_timer_start(&c->timer, linger_timer_cb, LINGER_MS, 0);
}

/* End a closing connection whose output is all written. */
static void
conn_end(srv_conn *c)
{
	if (!c->handshake_done || c->no_linger || c->lingering) {
		conn_finish_close(c);
		return;
	}
	c->lingering = 1;
	conn_read_stop(c);
	c->sreq.data = c;
	if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, linger_shutdown_cb) != 0)
		conn_finish_close(c);
}

static void
write_cb(uv_write_t *req, int status)
{
	srv_conn *c = req->data;

	free(c->wbuf.base);
	c->wbuf.base = NULL;
	c->wbuf.len = 0;
	c->writing = 0;
	if (status < 0) {
		if (!c->closing) {
			c->closing = 1;
			srv_log("connection %s: write failed: %s", c->peer, uv_strerror(status));
		}
		conn_finish_close(c);
		return;
	}
	conn_flush(c);
	if (!c->writing && c->closing) {
		conn_end(c);
		return;
	}
	if (!c->writing && c->fatal_after_flush) {
		conn_close(c, NULL);
		return;
	}
	conn_maybe_resume(c);
}

/* Drain the TLS write BIO into one uv_write (one in flight at a time). */
static void
conn_flush(srv_conn *c)
{
	if (c->writing || c->finished)
		return;
	size_t pending = BIO_ctrl_pending(c->wbio);
	if (pending == 0)
		return;
	char *buf = malloc(pending);
	if (buf == NULL) {
		conn_close(c, "out of memory");
		return;
	}
	int n = BIO_read(c->wbio, buf, (int)pending);
	if (n <= 0) {
		free(buf);
		return;
	}
	c->wbuf = uv_buf_init(buf, (unsigned)n);
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &c->wbuf, 1, write_cb) != 0) {
		free(buf);
		c->wbuf.base = NULL;
		c->wbuf.len = 0;
		c->closing = 1;
		conn_finish_close(c);
		return;
	}
	c->writing = 1;
}

/* Begin closing: close_notify if the handshake was done, then close once the
 * queued output is written. why (may be NULL) is logged. */
static void
conn_close(srv_conn *c, const char *why)
{
	if (c->closing)
		return;
	c->closing = 1;
	if (why != NULL)
		srv_log("connection %s (%s %s): closed: %s", c->peer, srv_role_name(c->role),
		    c->identity[0] ? c->identity : "-", why);
	conn_read_stop(c);
	uv_timer_stop(&c->timer);
	pthread_mutex_lock(&c->mu);
	c->gone = 1;
	pthread_mutex_unlock(&c->mu);
	if (c->handshake_done) {
		SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	conn_flush(c);
	if (!c->writing)
		conn_end(c);
}

/* Write plaintext into TLS (always succeeds into the memory BIO). */
static int
conn_tls_write(srv_conn *c, const uint8_t *p, size_t len)
{
	while (len > 0) {
		int chunk = len > (1 << 30) ? (1 << 30) : (int)len;
		int n = SSL_write(c->ssl, p, chunk);
		if (n <= 0) {
			ERR_clear_error();
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Send a framed error from the loop thread, then close. */
static void
conn_fatal(srv_conn *c, uint64_t id, Evchain__V1__Status__Code code, const char *msg)
{
	size_t len;
	uint8_t *f = srv_error_frame(id, code, msg, &len);

	srv_log("connection %s (%s %s): protocol error: %s", c->peer, srv_role_name(c->role),
	    c->identity[0] ? c->identity : "-", msg);
	metrics_refused((int)code);
	conn_read_stop(c);
	if (f != NULL) {
		conn_tls_write(c, f, len);
		free(f);
	}
	c->fatal_after_flush = 1;
	conn_flush(c);
	if (!c->writing)
		conn_close(c, NULL);
}

/* Field 1 (varint) of a message, without decoding the rest: the request id,
 * so that even a refused request is answered under its id. */
static uint64_t
peek_id(const uint8_t *p, size_t len)
{
	if (len < 2 || p[0] != 0x08)
		return 0;
	uint64_t v = 0;
	for (size_t i = 1, shift = 0; i < len && shift < 64; i++, shift += 7) {
		v |= (uint64_t)(p[i] & 0x7f) << shift;
		if (!(p[i] & 0x80))
			return v;
	}
	return 0;
}

static void
dispatch(srv_conn *c, const uint8_t *body, size_t len)
{
	srv *s = c->s;
	uint64_t id = peek_id(body, len);

	atomic_fetch_add(&s->stats.requests, 1);
	if (atomic_load(&c->inflight) >= s->cfg.max_inflight) {
		size_t fl;
		char msg[128];
		snprintf(msg, sizeof(msg), "more than %llu requests in flight on this connection",
		    (unsigned long long)s->cfg.max_inflight);
		uint8_t *f = srv_error_frame(id, EVCHAIN__V1__STATUS__CODE__RESOURCE_EXHAUSTED, msg, &fl);
		if (f != NULL) {
			conn_tls_write(c, f, fl);
			free(f);
		}
		atomic_fetch_add(&s->stats.refused, 1);
		metrics_refused(EVCHAIN__V1__STATUS__CODE__RESOURCE_EXHAUSTED);
		return;
	}
	srv_job *j = calloc(1, sizeof(*j));
	uint8_t *copy = malloc(len);
	if (j == NULL || copy == NULL) {
		free(j);
		free(copy);
		conn_fatal(c, id, EVCHAIN__V1__STATUS__CODE__INTERNAL, "out of memory");
		return;
	}
	memcpy(copy, body, len);
	j->s = s;
	j->conn = c;
	j->role = c->role;
	memcpy(j->identity, c->identity, sizeof(j->identity));
	j->body = copy;
	j->len = len;
	j->id = id;
	j->t_start_ns = (int64_t)uv_hrtime();
	atomic_fetch_add(&c->refs, 1);
	atomic_fetch_add(&c->inflight, 1);
	atomic_fetch_add(&s->busy, 1);
	srv_queue_push(&s->work_q, j);
	if (atomic_load(&c->inflight) >= s->cfg.max_inflight)
		conn_read_stop(c); /* resume when responses go out */
}

/* Frame what plaintext we have; dispatch whole frames. */
static void
conn_frames(srv_conn *c)
{
	size_t off = 0;

	while (!c->closing && !c->fatal_after_flush) {
		const uint8_t *p;
		size_t plen;
		ssize_t n = frame_parse(c->in + off, c->inlen - off, (uint32_t)c->s->cfg.max_frame,
		    &p, &plen);
		if (n == FRAME_NEED_MORE)
			break;
		if (n == FRAME_BAD) {
			char msg[160];
			snprintf(msg, sizeof(msg), plen == 0 ? "frame length 0" :
			    "frame length %zu exceeds the maximum %llu", plen,
			    (unsigned long long)c->s->cfg.max_frame);
			conn_fatal(c, 0, plen == 0 ? EVCHAIN__V1__STATUS__CODE__INVALID_ARGUMENT
			    : EVCHAIN__V1__STATUS__CODE__TOO_LARGE, msg);
			return;
		}
		dispatch(c, p, plen);
		off += (size_t)n;
	}
	if (off > 0) {
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
	}
}

static int
conn_after_handshake(srv_conn *c)
{
	char err[256];

	if (srv_tls_peer(c->ssl, &c->role, c->identity, sizeof(c->identity), err, sizeof(err)) != 0) {
		srv_log("connection %s: refused: %s", c->peer, err);
		return -1;
	}
	c->handshake_done = 1;
	metrics_conn(c->role, 1);
	srv_log("connection %s: %s \"%s\" connected (%s)", c->peer, srv_role_name(c->role),
	    c->identity, SSL_get_cipher_name(c->ssl));
	uv_timer_stop(&c->timer);
	return 0;
}

static void
timer_cb(uv_timer_t *t)
{
	srv_conn *c = t->data;
	conn_close(c, c->handshake_done ? "idle timeout" : "handshake timeout");
}

static void
read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	srv_conn *c = st->data;
	srv *s = c->s;

	if (n < 0) {
		c->no_linger = 1;
		conn_close(c, n == UV_EOF ? (c->handshake_done ? NULL : "peer closed before the handshake")
		    : uv_strerror((int)n));
		return;
	}
	if (n == 0)
		return;
	if (BIO_write(c->rbio, buf->base, (int)n) != n) {
		conn_close(c, "out of memory");
		return;
	}
	if (!c->handshake_done) {
		int r = SSL_do_handshake(c->ssl);
		if (r != 1) {
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ) {
				conn_flush(c);
				return;
			}
			char eb[256];
			unsigned long code = ERR_get_error();
			ERR_error_string_n(code, eb, sizeof(eb));
			ERR_clear_error();
			conn_flush(c); /* the alert */
			conn_close(c, code ? eb : "TLS handshake failed");
			return;
		}
		if (conn_after_handshake(c) != 0) {
			conn_flush(c);
			conn_close(c, NULL);
			return;
		}
	}
	if (s->cfg.idle_timeout_ms > 0)
		uv_timer_start(&c->timer, timer_cb, s->cfg.idle_timeout_ms, 0);

	for (;;) {
		if (c->incap - c->inlen < 16384) {
			size_t nc = c->incap ? c->incap * 2 : 32768;
			if (nc > s->cfg.max_frame + 65536 && c->incap >= s->cfg.max_frame + 65536) {
				conn_fatal(c, 0, EVCHAIN__V1__STATUS__CODE__TOO_LARGE, "input buffer overflow");
				return;
			}
			uint8_t *p = realloc(c->in, nc);
			if (p == NULL) {
				conn_close(c, "out of memory");
				return;
			}
			c->in = p;
			c->incap = nc;
		}
		int r = SSL_read(c->ssl, c->in + c->inlen, (int)(c->incap - c->inlen));
		if (r <= 0) {
			int e = SSL_get_error(c->ssl, r);
			ERR_clear_error();
			if (e == SSL_ERROR_WANT_READ)
				break;
			if (e == SSL_ERROR_ZERO_RETURN) {
				c->no_linger = 1;
				conn_frames(c);
				conn_close(c, NULL);
				return;
			}
			c->no_linger = 1;
			conn_close(c, "TLS read error");
			return;
		}
		c->inlen += (size_t)r;
		conn_frames(c);
		if (c->closing || c->fatal_after_flush)
			return;
	}
	conn_flush(c);
	if (conn_queued(c) > s->cfg.max_queued_output)
		conn_read_stop(c);
}

static void
accept_cb(uv_stream_t *server, int status)
{
	srv *s = server->data;
	srv_conn *c;

	if (status < 0) {
		srv_log("accept: %s", uv_strerror(status));
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->s = s;
	pthread_mutex_init(&c->mu, NULL);
	atomic_init(&c->refs, 1);
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles_open = 2;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	atomic_fetch_add(&s->stats.connections, 1);
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		c->closing = 1;
		conn_finish_close(c);
		return;
	}
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	char host[64] = "?";
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET6) {
			uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof(host));
			snprintf(c->peer, sizeof(c->peer), "[%s]:%u", host,
			    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
		} else {
			uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof(host));
			snprintf(c->peer, sizeof(c->peer), "%s:%u", host,
			    ntohs(((struct sockaddr_in *)&ss)->sin_port));
		}
	}
	atomic_fetch_add(&s->stats.connections_total, 1);
	if (atomic_load(&s->stats.connections) > s->cfg.max_connections || s->draining) {
		srv_log("connection %s: refused: %s", c->peer,
		    s->draining ? "shutting down" : "too many connections");
		c->closing = 1;
		conn_finish_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	c->ssl = SSL_new(s->ssl_ctx);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		c->rbio = c->wbio = NULL;
		c->closing = 1;
		conn_finish_close(c);
		return;
	}
	BIO_set_mem_eof_return(c->rbio, -1);
	BIO_set_mem_eof_return(c->wbio, -1);
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_accept_state(c->ssl);
	if (s->cfg.handshake_timeout_ms > 0)
		uv_timer_start(&c->timer, timer_cb, s->cfg.handshake_timeout_ms, 0);
	conn_read_start(c);
}

/* Any thread: queue a response. */
void
conn_send(srv_conn *c, uint8_t *frame, size_t len)
{
	srv *s = c->s;
	outmsg *m = malloc(sizeof(*m));
	int wake = 0;

	pthread_mutex_lock(&c->mu);
	if (c->gone || m == NULL) {
		pthread_mutex_unlock(&c->mu);
		free(m);
		free(frame);
	} else {
		m->next = NULL;
		m->data = frame;
		m->len = len;
		if (c->outq_tail)
			c->outq_tail->next = m;
		else
			c->outq = m;
		c->outq_tail = m;
		c->outq_bytes += len;
		if (!c->in_flush_list) {
			c->in_flush_list = 1;
			atomic_fetch_add(&c->refs, 1);
			pthread_mutex_lock(&s->flush_mu);
			c->flush_next = s->flush_list;
			s->flush_list = c;
			pthread_mutex_unlock(&s->flush_mu);
			wake = 1;
		}
		pthread_mutex_unlock(&c->mu);
	}
	atomic_fetch_sub(&c->inflight, 1);
	atomic_fetch_sub(&s->busy, 1);
	if (wake)
		uv_async_send(&s->wake);
	else if (atomic_load(&s->busy) == 0 && s->draining)
		uv_async_send(&s->wake);
}

/* Loop thread: move queued responses into TLS and out. */
static void
wake_cb(uv_async_t *a)
{
	srv *s = a->data;

	pthread_mutex_lock(&s->flush_mu);
	srv_conn *list = s->flush_list;
	s->flush_list = NULL;
	pthread_mutex_unlock(&s->flush_mu);
	while (list != NULL) {
		srv_conn *c = list;
		list = c->flush_next;
		pthread_mutex_lock(&c->mu);
		outmsg *m = c->outq;
		c->outq = c->outq_tail = NULL;
		c->outq_bytes = 0;
		c->in_flush_list = 0;
		int gone = c->gone;
		pthread_mutex_unlock(&c->mu);
		while (m != NULL) {
			outmsg *n = m->next;
			if (!gone && !c->closing)
				conn_tls_write(c, m->data, m->len);
			free(m->data);
			free(m);
			m = n;
		}
		if (!gone && !c->closing) {
			conn_flush(c);
			conn_maybe_resume(c);
		}
		conn_unref(c);
	}
}

static void
drain_cb(uv_timer_t *t)
{
	srv *s = t->data;
	int done = atomic_load(&s->busy) == 0;
	int expired = srv_mono_ms() - s->drain_started >= s->cfg.shutdown_grace_ms;

	if (!done && !expired)
		return;
	/* Responses queued since the last wake (busy reaches 0 in conn_send,
	 * before the loop has seen the uv_async) go out first: closing marks
	 * the connections gone, and wake_cb would drop them. */
	wake_cb(&s->wake);
	/* Everything answered (or the grace period is over): close all. Once it
	 * is over, also those whose output a peer does not read (or that linger):
	 * their writes would never finish, nor would the server. */
	for (srv_conn *c = s->conns; c != NULL; c = c->next)
		if (expired)
			conn_finish_close(c);
		else if (!c->closing && !c->writing)
			conn_close(c, NULL);
		else if (!c->closing)
			c->fatal_after_flush = 1;
	if (s->conns == NULL) {
		uv_timer_stop(t);
		uv_close((uv_handle_t *)&s->wake, NULL);
		uv_close((uv_handle_t *)&s->sigterm, NULL);
		uv_close((uv_handle_t *)&s->sigint, NULL);
		uv_close((uv_handle_t *)&s->drain_timer, NULL);
		metrics_stop();
		if (!done)
			srv_log("shutdown: %d requests unanswered after %llu ms", atomic_load(&s->busy),
			    (unsigned long long)s->cfg.shutdown_grace_ms);
	}
}

void
srv_net_shutdown(srv *s)
{
	if (s->draining)
		return;
	s->draining = 1;
	s->drain_started = srv_mono_ms();
	srv_log("shutting down: no new connections or requests; answering %d in hand",
	    atomic_load(&s->busy));
	uv_close((uv_handle_t *)&s->listener, NULL);
	for (srv_conn *c = s->conns; c != NULL; c = c->next)
		conn_read_stop(c);
	uv_timer_init(s->loop, &s->drain_timer);
	s->drain_timer.data = s;
	uv_timer_start(&s->drain_timer, drain_cb, 0, 20);
}

static void
signal_cb(uv_signal_t *h, int signum)
{
	srv *s = h->data;
	srv_log("signal %d", signum);
	srv_net_shutdown(s);
}

static int
parse_addr(const char *listen, struct sockaddr_storage *ss)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	if (colon == NULL || (size_t)(colon - listen) >= sizeof(host))
		return -1;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
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
	if (uv_ip4_addr(h, (int)port, (struct sockaddr_in *)ss) == 0)
		return 0;
	if (uv_ip6_addr(h, (int)port, (struct sockaddr_in6 *)ss) == 0)
		return 0;
	return -1;
}

int
srv_net_start(srv *s, char *err, size_t errcap)
{
	struct sockaddr_storage ss;
	int rc;

	if (parse_addr(s->cfg.listen, &ss) != 0) {
		snprintf(err, errcap, "listen address \"%s\" is not HOST:PORT", s->cfg.listen);
		return -1;
	}
	uv_tcp_init(s->loop, &s->listener);
	s->listener.data = s;
	if ((rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&s->listener, 1024, accept_cb)) != 0) {
		snprintf(err, errcap, "cannot listen on %s: %s", s->cfg.listen, uv_strerror(rc));
		return -1;
	}
	uv_async_init(s->loop, &s->wake, wake_cb);
	s->wake.data = s;
	uv_signal_init(s->loop, &s->sigterm);
	uv_signal_init(s->loop, &s->sigint);
	s->sigterm.data = s->sigint.data = s;
	uv_signal_start(&s->sigterm, signal_cb, SIGTERM);
	uv_signal_start(&s->sigint, signal_cb, SIGINT);
	/* Report the bound address (port 0 picks a free one: tests). */
	struct sockaddr_storage bound;
	int bl = sizeof(bound);
	char host[64] = "?";
	unsigned port = 0;
	if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &bl) == 0) {
		if (bound.ss_family == AF_INET6) {
			uv_ip6_name((struct sockaddr_in6 *)&bound, host, sizeof(host));
			port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
		} else {
			uv_ip4_name((struct sockaddr_in *)&bound, host, sizeof(host));
			port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
		}
	}
	srv_log("listening on %s:%u (TLS 1.3, client certificates required)", host, port);
	return 0;
}
