/* client.c — profiles, TLS connection, framing, pipelining, verification. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "client.h"
#include "conf.h"
#include "evc.h"
#include "frame.h"
#include "hash.h"
#include "merkle.h"

struct evc_client {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	uint64_t next_id;
	uint8_t *in;                 /* received bytes: in[inoff..inlen) not yet parsed */
	size_t inoff, inlen, incap;
	char err[512];
};

__attribute__((format(printf, 3, 4))) static void
seterr(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;
	if (err == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	if (vsnprintf(err, cap, fmt, ap) < 0)
		err[0] = '\0';
	va_end(ap);
}

/* ---- profiles ------------------------------------------------------------ */

int
client_profile_load(const char *path, evc_profile *p, char *err, size_t errcap)
{
	conf c = { 0 };
	char buf[1024];
	int ret = -1, rc;

	memset(p, 0, sizeof(*p));
	if (conf_load(path, &c, err, errcap) != 0)
		return -1;
	snprintf(p->path, sizeof(p->path), "%s", path);
	const char *v;
	if ((v = conf_get(&c, "server")) == NULL) {
		seterr(err, errcap, "%s: `server` is required", path);
		goto out;
	}
	snprintf(p->server, sizeof(p->server), "%s", v);
	snprintf(p->role, sizeof(p->role), "%s", (v = conf_get(&c, "role")) ? v : "");
	if (!conf_get_path(&c, "ca", p->ca, sizeof(p->ca)) ||
	    !conf_get_path(&c, "cert", p->cert, sizeof(p->cert)) ||
	    !conf_get_path(&c, "key", p->key, sizeof(p->key))) {
		seterr(err, errcap, "%s: `ca`, `cert` and `key` are required", path);
		goto out;
	}
	if (!conf_get_path(&c, "log_key", buf, sizeof(buf))) {
		seterr(err, errcap, "%s: `log_key` is required", path);
		goto out;
	}
	if ((rc = keys_read_public(buf, &p->log_key)) != 0 || p->log_key.type != EVC_KEY_ED25519) {
		seterr(err, errcap, "%s: log key %s: %s", path, buf, rc ? evc_strerror(rc) : "not Ed25519");
		goto out;
	}
	const char *w[CLIENT_MAX_WITNESSES + 1];
	size_t nw = conf_get_all(&c, "witness", w, CLIENT_MAX_WITNESSES + 1);
	if (nw > CLIENT_MAX_WITNESSES) {
		seterr(err, errcap, "%s: at most %d witnesses", path, CLIENT_MAX_WITNESSES);
		goto out;
	}
	for (size_t i = 0; i < nw; i++) {
		if (conf_resolve(&c, w[i], buf, sizeof(buf)) == NULL ||
		    (rc = keys_read_public(buf, &p->witnesses[i])) != 0) {
			seterr(err, errcap, "%s: witness key %s: unreadable", path, w[i]);
			goto out;
		}
	}
	p->nwitnesses = nw;
	if (conf_get_path(&c, "signing_key", buf, sizeof(buf))) {
		char pass[1024], pf[1024];
		int plen = 0;
		const char *pfile = conf_get_path(&c, "signing_key_passphrase_file", pf, sizeof(pf));
		if (pfile == NULL)
			pfile = getenv("EVCHAIN_PASSPHRASE_FILE");
		if (pfile != NULL && (plen = keys_read_passphrase(pfile, pass, sizeof(pass))) < 0) {
			seterr(err, errcap, "%s: cannot read passphrase file %s", path, pfile);
			goto out;
		}
		rc = keys_read_private(buf, plen > 0 ? pass : NULL, plen > 0 ? (size_t)plen : 0,
		    &p->signing_key);
		sodium_memzero(pass, sizeof(pass));
		if (rc != 0) {
			seterr(err, errcap, "%s: signing key %s: %s", path, buf, evc_strerror(rc));
			goto out;
		}
		p->has_signing_key = 1;
	}
	ret = 0;
out:
	conf_free(&c);
	return ret;
}

void
client_profile_wipe(evc_profile *p)
{
	keys_skey_wipe(&p->signing_key);
	p->has_signing_key = 0;
}

/* ---- connection ------------------------------------------------------------ */

const char *
client_error(const evc_client *c)
{
	return c->err;
}

static void
ssl_reason(char *buf, size_t cap)
{
	unsigned long e = ERR_get_error();
	if (e == 0)
		snprintf(buf, cap, "%s", errno ? strerror(errno) : "connection closed");
	else
		ERR_error_string_n(e, buf, cap);
	ERR_clear_error();
}

int
client_connect(const evc_profile *p, const char *server, evc_client **out, char *err,
    size_t errcap)
{
	char host[256], why[256];
	const char *port;
	struct addrinfo hints, *ai = NULL;
	evc_client *c;

	if (server == NULL)
		server = p->server;
	const char *colon = strrchr(server, ':');
	if (colon == NULL || (size_t)(colon - server) >= sizeof(host) || colon[1] == '\0') {
		seterr(err, errcap, "server \"%s\" is not HOST:PORT", server);
		return -1;
	}
	memcpy(host, server, (size_t)(colon - server));
	host[colon - server] = '\0';
	port = colon + 1;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->fd = -1;
	c->next_id = 1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	int gai = getaddrinfo(host, port, &hints, &ai);
	if (gai != 0) {
		seterr(err, errcap, "%s: %s", server, gai_strerror(gai));
		goto fail;
	}
	for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
		c->fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (c->fd < 0)
			continue;
		if (connect(c->fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(ai);
	if (c->fd < 0) {
		seterr(err, errcap, "cannot connect to %s: %s", server, strerror(errno));
		goto fail;
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto sslfail;
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(c->ctx, TLS1_3_VERSION);
	if (SSL_CTX_load_verify_locations(c->ctx, p->ca, NULL) != 1) {
		ssl_reason(why, sizeof(why));
		seterr(err, errcap, "CA %s: %s", p->ca, why);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(c->ctx, p->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(c->ctx, p->key, SSL_FILETYPE_PEM) != 1) {
		ssl_reason(why, sizeof(why));
		seterr(err, errcap, "client certificate %s / key %s: %s", p->cert, p->key, why);
		goto fail;
	}
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	/* Read what the socket has, not a record header then its body: half
	 * the read calls for the large pipelined responses of a submit. */
	SSL_CTX_set_read_ahead(c->ctx, 1);
	if ((c->ssl = SSL_new(c->ctx)) == NULL)
		goto sslfail;
	/* The server's certificate must name the host (DNS) or IP we dialled. */
	struct in6_addr a6;
	struct in_addr a4;
	X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
	if (inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1)
		X509_VERIFY_PARAM_set1_ip_asc(vp, host);
	else {
		SSL_set1_host(c->ssl, host);
		SSL_set_tlsext_host_name(c->ssl, host);
	}
	SSL_set_fd(c->ssl, c->fd);
	if (SSL_connect(c->ssl) != 1) {
		long vr = SSL_get_verify_result(c->ssl);
		ssl_reason(why, sizeof(why));
		seterr(err, errcap, "TLS handshake with %s failed: %s", server,
		    vr != X509_V_OK ? X509_verify_cert_error_string(vr) : why);
		goto fail;
	}
	*out = c;
	return 0;
sslfail:
	ssl_reason(why, sizeof(why));
	seterr(err, errcap, "TLS: %s", why);
fail:
	client_close(c);
	return -1;
}

void
client_close(evc_client *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c);
}

static int
write_all(evc_client *c, const uint8_t *p, size_t len)
{
	while (len > 0) {
		int n = SSL_write(c->ssl, p, len > (1u << 30) ? (1 << 30) : (int)len);
		if (n <= 0) {
			ssl_reason(c->err, sizeof(c->err));
			return EVC_EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int64_t
client_send(evc_client *c, Evchain__V1__Request *req)
{
	req->id = c->next_id++;
	size_t n = evchain__v1__request__get_packed_size(req);
	if (n > CLIENT_MAX_FRAME || n == 0) {
		seterr(c->err, sizeof(c->err), "request of %zu bytes is too large", n);
		return EVC_ETOOLARGE;
	}
	uint8_t *buf = malloc(FRAME_HDR_LEN + n);
	if (buf == NULL)
		return EVC_ENOMEM;
	frame_header(buf, (uint32_t)n);
	evchain__v1__request__pack(req, buf + FRAME_HDR_LEN);
	int rc = write_all(c, buf, FRAME_HDR_LEN + n);
	free(buf);
	return rc != 0 ? rc : (int64_t)req->id;
}

int
client_recv(evc_client *c, pb_arena *a, Evchain__V1__Response **resp)
{
	for (;;) {
		const uint8_t *p;
		size_t plen;
		ssize_t n = c->inlen == c->inoff ? FRAME_NEED_MORE :
		    frame_parse(c->in + c->inoff, c->inlen - c->inoff, CLIENT_MAX_FRAME, &p, &plen);
		if (n > 0) {
			/* Unpacking copies what it keeps: the bytes can be reused. */
			*resp = (Evchain__V1__Response *)pb_unpack(a, &evchain__v1__response__descriptor,
			    p, plen);
			c->inoff += (size_t)n;
			if (c->inoff == c->inlen)
				c->inoff = c->inlen = 0;
			if (*resp == NULL) {
				seterr(c->err, sizeof(c->err), "response does not decode");
				return EVC_EINVAL;
			}
			return 0;
		}
		if (n == FRAME_BAD) {
			seterr(c->err, sizeof(c->err), "response frame of %zu bytes refused", plen);
			return EVC_ETOOLARGE;
		}
		if (c->incap - c->inlen < 65536 && c->inoff > 0) {
			/* Move the partial frame to the front only when room runs
			 * out, not after every frame (responses are pipelined). */
			memmove(c->in, c->in + c->inoff, c->inlen - c->inoff);
			c->inlen -= c->inoff;
			c->inoff = 0;
		}
		if (c->incap - c->inlen < 65536) {
			size_t nc = c->incap ? c->incap * 2 : 131072;
			uint8_t *q = realloc(c->in, nc);
			if (q == NULL)
				return EVC_ENOMEM;
			c->in = q;
			c->incap = nc;
		}
		int r = SSL_read(c->ssl, c->in + c->inlen, (int)(c->incap - c->inlen));
		if (r <= 0) {
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_ZERO_RETURN)
				seterr(c->err, sizeof(c->err), "the server closed the connection");
			else
				ssl_reason(c->err, sizeof(c->err));
			return EVC_EIO;
		}
		c->inlen += (size_t)r;
	}
}

int
client_call(evc_client *c, Evchain__V1__Request *req, pb_arena *a, Evchain__V1__Response **resp)
{
	int64_t id = client_send(c, req);
	if (id < 0)
		return (int)id;
	int rc = client_recv(c, a, resp);
	if (rc != 0)
		return rc;
	if ((*resp)->id != (uint64_t)id && (*resp)->id != 0) {
		seterr(c->err, sizeof(c->err), "response to request %" PRIu64 " while waiting for %" PRId64,
		    (*resp)->id, id);
		return EVC_EINVAL;
	}
	return 0;
}

const char *
client_status_name(int code)
{
	static const char *names[] = { "ok", "invalid argument", "bad signature", "unknown key",
		"permission denied", "conflict", "not found", "too large", "resource exhausted",
		"unavailable", "internal" };
	if (code < 0 || (size_t)code >= sizeof(names) / sizeof(names[0]))
		return "unknown status";
	return names[code];
}

/* ---- verification ------------------------------------------------------------ */

/*
 * The last checkpoint this thread verified: the receipts of one commit all
 * carry the same note, and verifying it again would cost an Ed25519
 * verification (or more) per receipt. A hit needs the same note bytes
 * (SHA-256) verified against the same keys (compared byte for byte).
 */
static _Thread_local struct {
	int valid;
	uint8_t digest[32];
	evc_vkey keys[1 + CLIENT_MAX_WITNESSES];
	size_t nkeys;
	checkpoint cp;
	size_t cosigned;
} last_cp;

int
client_verify_checkpoint(const evc_profile *p, const uint8_t *text, size_t len, checkpoint *cp,
    size_t *cosigned, char *err, size_t errcap)
{
	evc_vkey keys[1 + CLIENT_MAX_WITNESSES];
	note nt;
	size_t nk = 0;
	uint8_t digest[32];

	memset(keys, 0, sizeof(keys));
	keys[nk++] = p->log_key;
	for (size_t i = 0; i < p->nwitnesses; i++)
		keys[nk++] = p->witnesses[i];
	hash_sha256(text, len, digest);
	if (last_cp.valid && last_cp.nkeys == nk && memcmp(last_cp.digest, digest, 32) == 0 &&
	    memcmp(last_cp.keys, keys, nk * sizeof(keys[0])) == 0) {
		*cp = last_cp.cp;
		if (cosigned != NULL)
			*cosigned = last_cp.cosigned;
		return 0;
	}
	last_cp.valid = 0;
	int rc = note_open((const char *)text, len, keys, nk, &nt);
	if (rc < 1) {
		seterr(err, errcap, "checkpoint does not verify: %s", evc_strerror(rc));
		return -1;
	}
	int by_log = 0;
	size_t cos = 0;
	for (size_t i = 0; i < nt.nsigs; i++) {
		if (nt.sigs[i].key == NULL)
			continue;
		if (nt.sigs[i].key->type == EVC_KEY_ED25519 && strcmp(nt.sigs[i].key->name,
		    p->log_key.name) == 0)
			by_log = 1;
		else if (nt.sigs[i].key->type == EVC_KEY_COSIGNATURE)
			cos++;
	}
	if (!by_log) {
		seterr(err, errcap, "checkpoint is not signed by the log key %s", p->log_key.name);
		return -1;
	}
	if (checkpoint_parse(nt.text, nt.text_len, cp) != 0) {
		seterr(err, errcap, "checkpoint text is malformed");
		return -1;
	}
	if (strcmp(cp->origin, p->log_key.name) != 0) {
		seterr(err, errcap, "checkpoint origin \"%s\" is not the log \"%s\"", cp->origin,
		    p->log_key.name);
		return -1;
	}
	if (cosigned != NULL)
		*cosigned = cos;
	memcpy(last_cp.digest, digest, 32);
	memcpy(last_cp.keys, keys, sizeof(keys));
	last_cp.nkeys = nk;
	last_cp.cp = *cp;
	last_cp.cosigned = cos;
	last_cp.valid = 1;
	return 0;
}

int
client_verify_inclusion(const checkpoint *cp, uint64_t index, const uint8_t *entry, size_t len,
    ProtobufCBinaryData *proof, size_t nproof, char *err, size_t errcap)
{
	uint8_t leaf[32], hashes[EVC_MAX_PROOF][32];

	if (nproof > EVC_MAX_PROOF) {
		seterr(err, errcap, "proof of %zu hashes is too long", nproof);
		return -1;
	}
	for (size_t i = 0; i < nproof; i++) {
		if (proof[i].len != 32) {
			seterr(err, errcap, "proof hash %zu is %zu bytes", i, proof[i].len);
			return -1;
		}
		memcpy(hashes[i], proof[i].data, 32);
	}
	merkle_leaf_hash(entry, len, leaf);
	if (merkle_verify_inclusion(index, cp->size, leaf, (const uint8_t(*)[32])hashes, nproof,
	    cp->root) != 0) {
		seterr(err, errcap, "inclusion proof of entry %" PRIu64 " in tree %" PRIu64 " fails", index,
		    cp->size);
		return -1;
	}
	return 0;
}

int
client_verify_receipt(const evc_profile *p, const Evchain__V1__Receipt *r, const uint8_t *record,
    size_t record_len, const uint8_t sig[64], char *err, size_t errcap)
{
	checkpoint cp;
	uint8_t leaf[32];
	pb_arena a;
	int ret = -1;

	if (client_verify_checkpoint(p, r->checkpoint.data, r->checkpoint.len, &cp, NULL, err,
	    errcap) != 0)
		return -1;
	if (cp.size != r->tree_size || r->index >= cp.size) {
		seterr(err, errcap, "receipt index %" PRIu64 " / tree size %" PRIu64
		    " do not match its checkpoint (size %" PRIu64 ")", r->index, r->tree_size, cp.size);
		return -1;
	}
	merkle_leaf_hash(r->entry.data, r->entry.len, leaf);
	if (r->leaf_hash.len != 32 || memcmp(leaf, r->leaf_hash.data, 32) != 0) {
		seterr(err, errcap, "receipt leaf hash is not the hash of its entry");
		return -1;
	}
	pb_arena_init(&a, 4 * r->entry.len + 65536);
	Evchain__V1__Entry *e = (Evchain__V1__Entry *)pb_unpack(&a, &evchain__v1__entry__descriptor,
	    r->entry.data, r->entry.len);
	if (e == NULL) {
		seterr(err, errcap, "receipt entry does not decode");
		goto out;
	}
	if (e->index != r->index || e->record.len != record_len ||
	    memcmp(e->record.data, record, record_len) != 0 || e->signature.len != 64 ||
	    memcmp(e->signature.data, sig, 64) != 0 || e->log_time_ms != r->log_time_ms) {
		seterr(err, errcap, "receipt entry does not hold the submitted record as sent");
		goto out;
	}
	/* The entry must name the record's signer (Record.signer, field 2). */
	const uint8_t *signer;
	size_t signer_len;
	if (pb_field_bytes(record, record_len, 2, &signer, &signer_len) != 0 ||
	    strlen(e->key_name) != signer_len || memcmp(e->key_name, signer, signer_len) != 0) {
		seterr(err, errcap, "receipt entry names the signer \"%s\", not the record's",
		    e->key_name);
		goto out;
	}
	if (client_verify_inclusion(&cp, r->index, r->entry.data, r->entry.len, r->inclusion_proof,
	    r->n_inclusion_proof, err, errcap) != 0)
		goto out;
	ret = 0;
out:
	pb_arena_free(&a);
	return ret;
}

int
client_parse_time(const char *s, int64_t date_offset_s, int64_t *out, int *date_only)
{
	int Y, M, D, h = 0, m = 0, sec = 0, n = 0;
	if (date_only != NULL)
		*date_only = 0;
	if (s[0] != '\0' && strspn(s, "0123456789") == strlen(s)) {
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (errno != 0)
			return -1;
		*out = (int64_t)v;
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2d%n", &Y, &M, &D, &n) != 3)
		return -1;
	const char *p = s + n;
	int64_t off = date_offset_s;
	if (*p == '\0') {
		if (date_only != NULL)
			*date_only = 1;
	} else if (*p == 'T' || *p == ' ') {
		int k = 0;
		if (sscanf(p + 1, "%2d:%2d:%2d%n", &h, &m, &sec, &k) != 3)
			return -1;
		p += 1 + k;
		if (*p == '.')
			while (*++p >= '0' && *p <= '9')
				;
		if (*p == 'Z') {
			off = 0;
			p++;
		} else if (*p == '+' || *p == '-') {
			int oh, om;
			if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 || strlen(p) != 6)
				return -1;
			off = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
			p += 6;
		} else {
			return -1;
		}
	}
	if (*p != '\0' || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		return -1;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	*out = ((int64_t)timegm(&tm) - off) * 1000;
	return 0;
}
