/*
 * cli_monitor.c — `evchain monitor`: for the supervision authority and the
 * discipline commission. Follows the log from a saved position and verifies
 * every new entry itself:
 *
 *   latest checkpoint, signed by the log key (profile log_key)
 *   → smaller than the trusted one: ROLLBACK alarm; same size, other root:
 *     FORK alarm
 *   → consistency proof from the trusted checkpoint (FORK alarm if it fails)
 *   → the new entries, page by page (EntriesRequest): index, hash chain
 *     (previous leaf hash), log time order, record decoding and validity,
 *     signer, the node signature with the key the log itself made valid at
 *     that index (key records replayed through a keyring from the log key),
 *     each leaf pushed on the compact range kept in the state file
 *     (BAD-ENTRY alarm naming the entry)
 *   → the recomputed root must be the signed root (FORK alarm)
 *   → the new trusted checkpoint, range and key entries saved atomically.
 *
 * The state file (default PROFILE-WITHOUT-.conf.monitor) holds:
 *
 *   evchain-monitor-state v1
 *   origin <origin>
 *   size <n>
 *   root <base64>               (the trusted root, recomputed from entries)
 *   prev-leaf <base64>          (leaf hash of entry n-1; zeros for n = 0)
 *   prev-time-ms <t>            (log time of entry n-1)
 *   range <base64>              (the compact range [0, n): one line per complete
 *   …                            subtree, largest first, popcount(n) lines)
 *   key-entry <index> <base64>  (every node-key entry so far, exact bytes)
 *   …
 *   checkpoint <bytes>
 *   <the trusted signed checkpoint, verbatim>
 *
 * so resuming costs O(log n + key records), not a replay of the log. A
 * monitor without a state file starts at the empty tree and verifies the
 * whole log. Alarms are files STATE.alarm-N (client/durable.h) holding the
 * trusted and the served signed checkpoints; while one exists the monitor
 * refuses to run.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "cli_monitor.h"
#include "client.h"
#include "durable.h"
#include "evc.h"
#include "keyring.h"
#include "merkle.h"
#include "note.h"
#include "record.h"

#define EX_OK 0
#define EX_ALARM 1
#define EX_USAGE 2
#define EX_ERROR 3

enum { MR_OK = 0, MR_ALARM = 1, MR_ERR = 3 };

typedef Evchain__V1__Request Request;
typedef Evchain__V1__Response Response;

#define STATE_MAGIC "evchain-monitor-state v1"

typedef struct key_entry {
	uint64_t index;
	uint8_t *entry;
	size_t len;
} key_entry;

/* What the monitor trusts: the tree it recomputed and the log signed. */
typedef struct mstate {
	uint64_t size;
	uint8_t root[32];
	uint8_t prev_leaf[32];
	int64_t prev_time;
	merkle_stream range;
	char *note;            /* the trusted signed checkpoint (NULL at size 0) */
	size_t note_len;
	key_entry *keys;
	size_t nkeys, capkeys;
	keyring *kr;
} mstate;

typedef struct monitor {
	const evc_profile *p;
	char state[PATH_MAX];
	char party[64];
	mstate st;
	evc_client *c;
	int once, quiet, tty;
	uint32_t page;
} monitor;

static volatile sig_atomic_t mon_stop;

static void
mon_on_signal(int sig)
{
	(void)sig;
	mon_stop = 1;
}

static void
mon_usage(FILE *f)
{
	fprintf(f,
	    "usage: evchain -c PROFILE monitor [--state FILE] [--once] [--interval MS] [--page N]\n"
	    "                                  [--quiet]\n"
	    "       evchain -c PROFILE monitor [--state FILE] --check\n"
	    "\n"
	    "Follow the log from a saved position and verify every new entry: the\n"
	    "log's signature on the latest checkpoint, the consistency proof from the\n"
	    "checkpoint trusted so far, each entry's hash chain, record, node signature\n"
	    "and key validity (key records replayed from the log key), and that the\n"
	    "entries give the signed root. A profile that may read entries is needed\n"
	    "(supervisor, discipline, court).\n"
	    "\n"
	    "  --state FILE   trusted position (default: the profile's name with .monitor\n"
	    "                 for .conf); without one, the whole log is verified\n"
	    "  --once         one round, then exit (default: follow the log)\n"
	    "  --interval MS  between rounds when following (default 1000)\n"
	    "  --page N       entries asked per request (default 1000; the server caps it)\n"
	    "  --quiet        no progress lines on stderr\n"
	    "  --check        no network: show the trusted position and any alarm\n"
	    "\n"
	    "On a rollback, a fork, a bad signature or an entry that does not verify it\n"
	    "writes STATE.alarm-N with both signed checkpoints, says so on stderr and\n"
	    "exits 1; while an alarm file exists it refuses to run. Each round that\n"
	    "verified entries prints one JSON line on stdout.\n"
	    "Exit status: 0 verified or up to date, 1 alarm, 2 usage, 3 the log\n"
	    "unreachable or the state not writable.\n");
}

__attribute__((format(printf, 2, 3))) static void
mlog(const monitor *m, const char *fmt, ...)
{
	char when[64], msg[2048];
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	durable_utc((int64_t)time(NULL), when, sizeof(when));
	fprintf(stderr, "evchain monitor: %s %s: %s\n", when, m->party, msg);
	fflush(stderr);
}

__attribute__((format(printf, 3, 4))) static void
seterr(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(err, cap, fmt, ap) < 0)
		err[0] = '\0';
	va_end(ap);
}

static const char *
desc(uint64_t size, const uint8_t root[32], char *buf, size_t cap)
{
	char b[64];
	if (b64_encode(root, 32, b, sizeof(b)) < 0)
		b[0] = '\0';
	snprintf(buf, cap, "size %" PRIu64 " root %s", size, b);
	return buf;
}

static unsigned
popcount64(uint64_t x)
{
	unsigned n = 0;
	for (; x; x &= x - 1)
		n++;
	return n;
}

/* ---- state ----------------------------------------------------------------- */

static void
mstate_free(mstate *s)
{
	free(s->note);
	for (size_t i = 0; i < s->nkeys; i++)
		free(s->keys[i].entry);
	free(s->keys);
	keyring_free(s->kr);
	memset(s, 0, sizeof(*s));
}

static int
mstate_init(const monitor *m, mstate *s)
{
	memset(s, 0, sizeof(*s));
	merkle_stream_init(&s->range);
	merkle_empty_root(s->root);
	return (s->kr = keyring_new(&m->p->log_key)) != NULL ? 0 : -1;
}

/* Apply a node-key entry (already verified) to the keyring and remember it. */
static int
mstate_add_key(mstate *s, uint64_t index, const uint8_t *entry, size_t len, const Record *r)
{
	int rc = keyring_apply(s->kr, r, index);
	if (rc != 0)
		return rc;
	if (s->nkeys == s->capkeys) {
		size_t nc = s->capkeys ? 2 * s->capkeys : 16;
		key_entry *k = realloc(s->keys, nc * sizeof(*k));
		if (k == NULL)
			return EVC_ENOMEM;
		s->keys = k;
		s->capkeys = nc;
	}
	key_entry *k = &s->keys[s->nkeys];
	if ((k->entry = malloc(len ? len : 1)) == NULL)
		return EVC_ENOMEM;
	memcpy(k->entry, entry, len);
	k->len = len;
	k->index = index;
	s->nkeys++;
	return 0;
}

/* Re-apply a saved key entry. */
static int
replay_key(mstate *s, uint64_t index, const char *b64, size_t n, char *err, size_t errcap)
{
	size_t cap = n / 4 * 3 + 3;
	uint8_t *e = malloc(cap);
	pb_arena a;
	int ret = -1;
	if (e == NULL) {
		seterr(err, errcap, "out of memory");
		return -1;
	}
	pb_arena_init(&a, 4 * cap + 65536);
	int len = b64_decode(b64, n, e, cap);
	Evchain__V1__Entry *en = len > 0 ? (Evchain__V1__Entry *)pb_unpack(&a,
	    &evchain__v1__entry__descriptor, e, (size_t)len) : NULL;
	Record *r = en ? record_decode(&a, en->record.data, en->record.len) : NULL;
	if (r == NULL || en->index != index || index >= s->size ||
	    record_kind(r) != EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY) {
		seterr(err, errcap, "key entry %" PRIu64 " is malformed", index);
		goto out;
	}
	int rc = mstate_add_key(s, index, e, (size_t)len, r);
	if (rc != 0) {
		seterr(err, errcap, "key entry %" PRIu64 " does not apply: %s", index, evc_strerror(rc));
		goto out;
	}
	ret = 0;
out:
	pb_arena_free(&a);
	free(e);
	return ret;
}

static int
mstate_parse(const monitor *m, const char *buf, size_t len, mstate *s, char *err, size_t errcap)
{
	size_t pos = 0, ll, vl, nrange = 0;
	const char *line, *v;
	uint64_t note_len = UINT64_MAX, last_key = 0;
	int have = 0;
	enum { F_ORIGIN = 1, F_SIZE = 2, F_ROOT = 4, F_PREV = 8, F_TIME = 16 };

	if (mstate_init(m, s) != 0) {
		seterr(err, errcap, "out of memory");
		return -1;
	}
	if (durable_line(buf, len, &pos, &line, &ll) != 0 || ll != strlen(STATE_MAGIC) ||
	    memcmp(line, STATE_MAGIC, ll) != 0) {
		seterr(err, errcap, "not an evchain monitor state file (first line)");
		return -1;
	}
	while (note_len == UINT64_MAX && durable_line(buf, len, &pos, &line, &ll) == 0) {
		uint64_t x;
		if (durable_field(line, ll, "origin", &v, &vl)) {
			if (vl != strlen(m->p->log_key.name) || memcmp(v, m->p->log_key.name, vl) != 0) {
				seterr(err, errcap, "it is about log \"%.*s\", the profile's is \"%s\"",
				    (int)(vl > 200 ? 200 : vl), v, m->p->log_key.name);
				return -1;
			}
			have |= F_ORIGIN;
		} else if (durable_field(line, ll, "size", &v, &vl) && durable_u64(v, vl, &s->size) == 0 &&
		    !(have & F_SIZE)) {
			have |= F_SIZE;
		} else if (durable_field(line, ll, "root", &v, &vl) && b64_decode(v, vl, s->root, 32) == 32) {
			have |= F_ROOT;
		} else if (durable_field(line, ll, "prev-leaf", &v, &vl) &&
		    b64_decode(v, vl, s->prev_leaf, 32) == 32) {
			have |= F_PREV;
		} else if (durable_field(line, ll, "prev-time-ms", &v, &vl) && durable_u64(v, vl, &x) == 0 &&
		    x <= INT64_MAX) {
			s->prev_time = (int64_t)x;
			have |= F_TIME;
		} else if (durable_field(line, ll, "range", &v, &vl) && (have & F_SIZE) &&
		    nrange < popcount64(s->size) && b64_decode(v, vl, s->range.stack[nrange], 32) == 32) {
			nrange++;
		} else if (durable_field(line, ll, "key-entry", &v, &vl) && (have & F_SIZE) &&
		    nrange == popcount64(s->size)) {
			const char *sp = memchr(v, ' ', vl);
			if (sp == NULL || durable_u64(v, (size_t)(sp - v), &x) != 0 ||
			    (s->nkeys > 0 && x <= last_key)) {
				seterr(err, errcap, "a key entry line is malformed or out of order");
				return -1;
			}
			if (replay_key(s, x, sp + 1, vl - (size_t)(sp - v) - 1, err, errcap) != 0)
				return -1;
			last_key = x;
		} else if (durable_field(line, ll, "checkpoint", &v, &vl) && durable_u64(v, vl, &x) == 0) {
			note_len = x;
		} else {
			seterr(err, errcap, "unexpected line \"%.*s\"", (int)(ll > 60 ? 60 : ll), line);
			return -1;
		}
	}
	if (have != 31 || note_len == UINT64_MAX || nrange != popcount64(s->size)) {
		seterr(err, errcap, "a field is missing or malformed");
		return -1;
	}
	if (note_len != len - pos || note_len > EVC_MAX_NOTE || (note_len == 0) != (s->size == 0)) {
		seterr(err, errcap, "the checkpoint is %zu bytes, %" PRIu64 " recorded", len - pos,
		    note_len);
		return -1;
	}
	/* The compact range must give the trusted root. */
	uint8_t root[32];
	s->range.size = s->size;
	s->range.depth = (unsigned)nrange;
	merkle_stream_root(&s->range, root);
	if (memcmp(root, s->root, 32) != 0) {
		seterr(err, errcap, "the saved range does not give the saved root");
		return -1;
	}
	if (s->size > 0) {
		checkpoint cp;
		char why[512];
		if (client_verify_checkpoint(m->p, (const uint8_t *)buf + pos, (size_t)note_len, &cp, NULL,
		    why, sizeof(why)) != 0 || cp.size != s->size || memcmp(cp.root, s->root, 32) != 0) {
			seterr(err, errcap, "the saved checkpoint is not the log's signed checkpoint of the "
			    "saved size and root");
			return -1;
		}
		if ((s->note = malloc((size_t)note_len + 1)) == NULL) {
			seterr(err, errcap, "out of memory");
			return -1;
		}
		memcpy(s->note, buf + pos, (size_t)note_len);
		s->note[note_len] = '\0';
		s->note_len = (size_t)note_len;
	}
	return 0;
}

/* 0 (a fresh state when there is no file) or -1 with err. */
static int
mstate_load(const monitor *m, mstate *s, int *existed, char *err, size_t errcap)
{
	char *buf, why[512];
	size_t len;
	int rc = durable_read(m->state, DURABLE_MAX_FILE, &buf, &len, err, errcap);
	*existed = rc == 0;
	if (rc == 1) {
		if (mstate_init(m, s) != 0) {
			seterr(err, errcap, "out of memory");
			return -1;
		}
		return 0;
	}
	if (rc != 0)
		return -1;
	rc = mstate_parse(m, buf, len, s, why, sizeof(why));
	free(buf);
	if (rc != 0) {
		mstate_free(s);
		seterr(err, errcap, "state file %s is damaged or not for this log: %s", m->state, why);
	}
	return rc;
}

static int
mstate_save(const monitor *m, const mstate *s, char *err, size_t errcap)
{
	char *buf = NULL, b[64];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL) {
		seterr(err, errcap, "out of memory");
		return -1;
	}
	fprintf(f, STATE_MAGIC "\n");
	fprintf(f, "origin %s\n", m->p->log_key.name);
	fprintf(f, "size %" PRIu64 "\n", s->size);
	b64_encode(s->root, 32, b, sizeof(b));
	fprintf(f, "root %s\n", b);
	b64_encode(s->prev_leaf, 32, b, sizeof(b));
	fprintf(f, "prev-leaf %s\n", b);
	fprintf(f, "prev-time-ms %" PRId64 "\n", s->prev_time);
	for (unsigned i = 0; i < s->range.depth; i++) {
		b64_encode(s->range.stack[i], 32, b, sizeof(b));
		fprintf(f, "range %s\n", b);
	}
	for (size_t i = 0; i < s->nkeys; i++) {
		size_t el = b64_encoded_len(s->keys[i].len) + 1;
		char *e = malloc(el);
		if (e == NULL || b64_encode(s->keys[i].entry, s->keys[i].len, e, el) < 0) {
			free(e);
			fclose(f);
			free(buf);
			seterr(err, errcap, "out of memory");
			return -1;
		}
		fprintf(f, "key-entry %" PRIu64 " %s\n", s->keys[i].index, e);
		free(e);
	}
	fprintf(f, "checkpoint %zu\n", s->note ? s->note_len : 0);
	if (s->note != NULL)
		fwrite(s->note, 1, s->note_len, f);
	if (fclose(f) != 0) {
		free(buf);
		seterr(err, errcap, "out of memory");
		return -1;
	}
	int rc = durable_write(m->state, buf, len, err, errcap);
	free(buf);
	return rc;
}

/* ---- alarms -------------------------------------------------------------------- */

typedef struct list_ctx {
	const monitor *m;
	FILE *out;
} list_ctx;

static int
show_alarm(void *ctx, const char *path)
{
	list_ctx *l = ctx;
	char kind[64], reason[1024];
	durable_alarm_summary(path, kind, sizeof(kind), reason, sizeof(reason));
	if (l->out == stderr)
		mlog(l->m, "ALARM pending in %s: %s: %s", path, kind, reason);
	else
		fprintf(l->out, "ALARM %s: %s: %s\n", path, kind, reason);
	return 0;
}

__attribute__((format(printf, 8, 9))) static int
raise_alarm(monitor *m, const char *kind, const char *seen, size_t seen_len,
    const checkpoint *seen_cp, const uint8_t (*proof)[32], size_t nproof, const char *fmt, ...)
{
	char reason[2048], path[PATH_MAX], err[512];
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(reason, sizeof(reason), fmt, ap) < 0)
		reason[0] = '\0';
	va_end(ap);
	durable_alarm a = { 0 };
	a.program = "evchain monitor";
	a.party = m->party;
	a.kind = kind;
	a.reason = reason;
	a.trusted_size = m->st.size;
	a.trusted_root = m->st.root;
	a.trusted = m->st.note;
	a.trusted_len = m->st.note_len;
	if (seen_cp != NULL) {
		a.seen_size = seen_cp->size;
		a.seen_root = seen_cp->root;
	}
	a.seen = seen;
	a.seen_len = seen_len;
	if (proof != NULL) {
		a.proof = proof;
		a.nproof = nproof;
		a.proof_old = m->st.size;
		a.proof_new = seen_cp ? seen_cp->size : 0;
	}
	if (durable_alarm_write(m->state, &a, path, sizeof(path), err, sizeof(err)) != 0)
		mlog(m, "ALARM %s: %s (the evidence could NOT be saved: %s)", kind, reason, err);
	else
		mlog(m, "ALARM %s: %s; evidence (both signed checkpoints) in %s; the monitor refuses to "
		    "run until an operator removes it", kind, reason, path);
	return MR_ALARM;
}

/* ---- one round ------------------------------------------------------------------- */

static int
status_code(const Response *r)
{
	return r->status ? (int)r->status->code : 0;
}

static const char *
status_msg(const Response *r)
{
	return r->status && r->status->message ? r->status->message : "";
}

static int
call(monitor *m, Request *q, pb_arena *a, Response **r, const char *what)
{
	if (client_call(m->c, q, a, r) != 0) {
		mlog(m, "%s: %s", what, client_error(m->c));
		return MR_ERR;
	}
	return MR_OK;
}

/* Verify entry i (bytes eb) against the running state ns; why on failure. */
static int
check_entry(mstate *ns, uint64_t i, const uint8_t *eb, size_t el, pb_arena *a, char *why,
    size_t cap)
{
	char reason[512];
	pb_arena_reset(a);
	Evchain__V1__Entry *e = (Evchain__V1__Entry *)pb_unpack(a, &evchain__v1__entry__descriptor,
	    eb, el);
	if (e == NULL) {
		seterr(why, cap, "the entry bytes do not decode");
		return -1;
	}
	if (e->index != i) {
		seterr(why, cap, "the entry says index %" PRIu64, e->index);
		return -1;
	}
	if (e->prev_leaf_hash.len != 32 || memcmp(e->prev_leaf_hash.data, ns->prev_leaf, 32) != 0) {
		seterr(why, cap, "hash chain broken: its previous leaf hash is not entry %" PRIu64 "'s",
		    i ? i - 1 : 0);
		return -1;
	}
	if (e->log_time_ms < ns->prev_time) {
		seterr(why, cap, "log time goes backwards (%" PRId64 " < %" PRId64 ")", e->log_time_ms,
		    ns->prev_time);
		return -1;
	}
	if (e->signature.len != 64) {
		seterr(why, cap, "the signature is %zu bytes, not 64", e->signature.len);
		return -1;
	}
	Record *r = record_decode(a, e->record.data, e->record.len);
	if (r == NULL) {
		seterr(why, cap, "the record bytes do not decode");
		return -1;
	}
	if (strcmp(r->signer, e->key_name) != 0) {
		seterr(why, cap, "the entry names signer \"%s\" but the record \"%s\"", e->key_name,
		    r->signer);
		return -1;
	}
	if (record_validate(r, e->log_time_ms, reason, sizeof(reason)) != 0) {
		seterr(why, cap, "the record is invalid: %s", reason);
		return -1;
	}
	const keyring_key *k;
	if (keyring_check(ns->kr, r->signer, r, i, e->log_time_ms, &k, reason, sizeof(reason)) != 0) {
		seterr(why, cap, "signer \"%s\" may not sign it: %s", r->signer, reason);
		return -1;
	}
	if (record_verify(&k->vk, e->record.data, e->record.len, e->signature.data) != 0) {
		seterr(why, cap, "the node signature does not verify with \"%s\"'s key", r->signer);
		return -1;
	}
	if (record_kind(r) == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY) {
		int rc = mstate_add_key(ns, i, eb, el, r);
		if (rc != 0) {
			seterr(why, cap, "the key record conflicts with the key history (%s)",
			    evc_strerror(rc));
			return -1;
		}
	}
	uint8_t leaf[32];
	merkle_leaf_hash(eb, el, leaf);
	merkle_stream_push(&ns->range, leaf, NULL);
	memcpy(ns->prev_leaf, leaf, 32);
	ns->prev_time = e->log_time_ms;
	return 0;
}

static double
mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fetch and verify entries [m->st.size, cp->size) into m->st. The keyring
 * and key list change as entries are verified: on any failure the caller
 * reloads the state from disk (*dirty). */
static int
catch_up(monitor *m, const char *served, size_t slen, const checkpoint *cp, int *dirty)
{
	uint64_t from = m->st.range.size, next = from, total = cp->size - from;
	uint32_t count = m->page;
	pb_arena ea;
	char why[1024], d1[128];
	double t0 = mono_s(), last = t0;
	int ret = MR_OK;

	pb_arena_init(&ea, 4 * (size_t)EVC_MAX_ENTRY + 65536);
	while (next < cp->size) {
		if (mon_stop) {
			ret = MR_ERR;
			break;
		}
		Request q = EVCHAIN__V1__REQUEST__INIT;
		Evchain__V1__EntriesRequest er = EVCHAIN__V1__ENTRIES_REQUEST__INIT;
		Response *r;
		pb_arena a;
		uint64_t want = cp->size - next;
		er.start = next;
		er.count = want < count ? (uint32_t)want : count;
		q.op_case = EVCHAIN__V1__REQUEST__OP_ENTRIES;
		q.entries = &er;
		pb_arena_init(&a, CLIENT_MAX_FRAME * 4u);
		if (call(m, &q, &a, &r, "entries") != MR_OK) {
			pb_arena_free(&a);
			ret = MR_ERR;
			break;
		}
		int code = status_code(r);
		if ((code == EVCHAIN__V1__STATUS__CODE__TOO_LARGE ||
		    code == EVCHAIN__V1__STATUS__CODE__RESOURCE_EXHAUSTED) && count > 1) {
			count /= 2; /* large entries: smaller pages */
			pb_arena_free(&a);
			continue;
		}
		if (code != 0 || r->result_case != EVCHAIN__V1__RESPONSE__RESULT_ENTRIES ||
		    r->entries->start != next || r->entries->n_entries == 0 ||
		    r->entries->n_entries > want) {
			mlog(m, "the log did not give entries from %" PRIu64 ": %s: %s", next,
			    client_status_name(code), status_msg(r));
			pb_arena_free(&a);
			ret = MR_ERR;
			break;
		}
		for (size_t i = 0; i < r->entries->n_entries && ret == MR_OK; i++, next++) {
			*dirty = 1;
			if (check_entry(&m->st, next, r->entries->entries[i].data, r->entries->entries[i].len,
			    &ea, why, sizeof(why)) != 0)
				ret = raise_alarm(m, "bad-entry", served, slen, cp, NULL, 0, "entry %" PRIu64
				    " (under the log's checkpoint %s) cannot be verified: %s", next,
				    desc(cp->size, cp->root, d1, sizeof(d1)), why);
		}
		pb_arena_free(&a);
		if (ret != MR_OK)
			break;
		double now = mono_s();
		if (!m->quiet && total >= 10000 && now - last >= (m->tty ? 0.5 : 10.0)) {
			fprintf(stderr, m->tty ? "\rmonitor: verified %" PRIu64 " / %" PRIu64 " new entries "
			    "(%.0f%%, %.0f/s)" : "monitor: verified %" PRIu64 " / %" PRIu64 " new entries "
			    "(%.0f%%, %.0f/s)\n", next - from, total, 100.0 * (double)(next - from) /
			    (double)total, (double)(next - from) / (now - t0));
			last = now;
		}
	}
	if (!m->quiet && m->tty && total >= 10000 && last > t0)
		fputc('\n', stderr);
	pb_arena_free(&ea);
	return ret;
}

static int
round_once(monitor *m, int *dirty)
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__CheckpointRequest cr = EVCHAIN__V1__CHECKPOINT_REQUEST__INIT;
	Response *r;
	pb_arena a;
	checkpoint cp;
	size_t cos = 0;
	char err[512], d1[128], d2[128], b[64];
	int ret;

	q.op_case = EVCHAIN__V1__REQUEST__OP_CHECKPOINT;
	q.checkpoint = &cr;
	pb_arena_init(&a, 4u << 20);
	if ((ret = call(m, &q, &a, &r, "latest checkpoint")) != MR_OK)
		goto out;
	if (status_code(r) != 0 || r->result_case != EVCHAIN__V1__RESPONSE__RESULT_CHECKPOINT) {
		mlog(m, "the log gave no checkpoint: %s: %s", client_status_name(status_code(r)),
		    status_msg(r));
		ret = MR_ERR;
		goto out;
	}
	const char *served = (const char *)r->checkpoint->checkpoint.data;
	size_t slen = r->checkpoint->checkpoint.len;
	if (client_verify_checkpoint(m->p, (const uint8_t *)served, slen, &cp, &cos, err,
	    sizeof(err)) != 0) {
		ret = raise_alarm(m, "bad-signature", served, slen, NULL, NULL, 0, "the checkpoint served "
		    "is refused: %s; the monitor trusts %s", err, desc(m->st.size, m->st.root, d2,
		    sizeof(d2)));
		goto out;
	}
	if (cp.size < m->st.size) {
		ret = raise_alarm(m, "rollback", served, slen, &cp, NULL, 0, "rollback: the log serves %s "
		    "after the monitor verified %s", desc(cp.size, cp.root, d1, sizeof(d1)),
		    desc(m->st.size, m->st.root, d2, sizeof(d2)));
		goto out;
	}
	if (cp.size == m->st.size) {
		if (memcmp(cp.root, m->st.root, 32) != 0)
			ret = raise_alarm(m, "fork", served, slen, &cp, NULL, 0, "fork: the log signed %s, "
			    "but the monitor verified %s (two trees of one size)", desc(cp.size, cp.root, d1,
			    sizeof(d1)), desc(m->st.size, m->st.root, d2, sizeof(d2)));
		else if (m->once) {
			b64_encode(cp.root, 32, b, sizeof(b));
			printf("{\"event\":\"up-to-date\",\"origin\":\"%s\",\"size\":%" PRIu64 ",\"root\":"
			    "\"%s\",\"verified\":0,\"cosignatures\":%zu}\n", cp.origin, cp.size, b, cos);
			fflush(stdout);
		}
		goto out;
	}
	/* Larger: consistent with what the monitor trusts? */
	if (m->st.size > 0) {
		Request q2 = EVCHAIN__V1__REQUEST__INIT;
		Evchain__V1__ConsistencyProofRequest pr = EVCHAIN__V1__CONSISTENCY_PROOF_REQUEST__INIT;
		Response *r2;
		uint8_t proof[2 * EVC_MAX_PROOF][32];
		pr.old_size = m->st.size;
		pr.new_size = cp.size;
		q2.op_case = EVCHAIN__V1__REQUEST__OP_CONSISTENCY_PROOF;
		q2.consistency_proof = &pr;
		if ((ret = call(m, &q2, &a, &r2, "consistency proof")) != MR_OK)
			goto out;
		if (status_code(r2) != 0 ||
		    r2->result_case != EVCHAIN__V1__RESPONSE__RESULT_CONSISTENCY_PROOF) {
			mlog(m, "the log gave no consistency proof from %" PRIu64 " to %" PRIu64 ": %s: %s",
			    m->st.size, cp.size, client_status_name(status_code(r2)), status_msg(r2));
			ret = MR_ERR;
			goto out;
		}
		Evchain__V1__ConsistencyProofResponse *p = r2->consistency_proof;
		int ok = p->n_proof <= 2 * EVC_MAX_PROOF && p->old_size == m->st.size &&
		    p->new_size == cp.size;
		for (size_t i = 0; ok && i < p->n_proof; i++) {
			if (p->proof[i].len != 32)
				ok = 0;
			else
				memcpy(proof[i], p->proof[i].data, 32);
		}
		if (!ok || merkle_verify_consistency(m->st.size, cp.size, m->st.root, cp.root,
		    (const uint8_t(*)[32])proof, p->n_proof) != 0) {
			ret = raise_alarm(m, "fork", served, slen, &cp, ok ? (const uint8_t(*)[32])proof : NULL,
			    ok ? p->n_proof : 0, "fork: the log's checkpoint %s is not consistent with %s that "
			    "the monitor verified (the consistency proof fails)", desc(cp.size, cp.root, d1,
			    sizeof(d1)), desc(m->st.size, m->st.root, d2, sizeof(d2)));
			goto out;
		}
	}
	/* The entries themselves. The trusted checkpoint (size, root, note)
	 * stays in m->st, for the alarms, until everything verified. */
	uint64_t from = m->st.size;
	if ((ret = catch_up(m, served, slen, &cp, dirty)) != MR_OK)
		goto out;
	uint8_t root[32];
	merkle_stream_root(&m->st.range, root);
	if (m->st.range.size != cp.size || memcmp(root, cp.root, 32) != 0) {
		ret = raise_alarm(m, "fork", served, slen, &cp, NULL, 0, "fork: the entries the log "
		    "gives for %" PRIu64 "..%" PRIu64 " make root %s, but it signed %s", from, cp.size,
		    (b64_encode(root, 32, b, sizeof(b)), b), desc(cp.size, cp.root, d1, sizeof(d1)));
		goto out;
	}
	/* Trust the new checkpoint: persist it. */
	char *kept = malloc(slen + 1);
	if (kept == NULL) {
		ret = MR_ERR;
		goto out;
	}
	memcpy(kept, served, slen);
	kept[slen] = 0;
	free(m->st.note);
	m->st.note = kept;
	m->st.note_len = slen;
	memcpy(m->st.root, cp.root, 32);
	m->st.size = cp.size;
	if (mstate_save(m, &m->st, err, sizeof(err)) != 0) {
		mlog(m, "cannot save the state: %s", err);
		ret = MR_ERR;
		goto out;
	}
	*dirty = 0;
	b64_encode(cp.root, 32, b, sizeof(b));
	printf("{\"event\":\"verified\",\"origin\":\"%s\",\"from\":%" PRIu64 ",\"size\":%" PRIu64
	    ",\"root\":\"%s\",\"verified\":%" PRIu64 ",\"cosignatures\":%zu}\n", cp.origin, from,
	    cp.size, b, cp.size - from, cos);
	fflush(stdout);
	if (!m->quiet)
		mlog(m, "verified entries %" PRIu64 "..%" PRIu64 "; trusting %s (%zu witness "
		    "cosignatures)", from, cp.size, desc(cp.size, cp.root, d1, sizeof(d1)), cos);
out:
	pb_arena_free(&a);
	return ret;
}

/* ---- command -------------------------------------------------------------------- */

static int
mon_check(monitor *m)
{
	char err[1024], d[128];
	int existed, ret = EX_OK;
	mstate s;
	if (mstate_load(m, &s, &existed, err, sizeof(err)) != 0) {
		printf("DAMAGED %s: %s\n", m->state, err);
		ret = EX_ALARM;
	} else {
		if (!existed)
			printf("state %s: none yet (the whole log will be verified)\n", m->state);
		else
			printf("state %s: verified %s %s, %zu key records\n", m->state, m->p->log_key.name,
			    desc(s.size, s.root, d, sizeof(d)), s.nkeys);
		mstate_free(&s);
	}
	list_ctx lc = { m, stdout };
	int n = durable_alarm_list(m->state, show_alarm, &lc);
	if (n != 0) {
		printf(n < 0 ? "alarms unknown: cannot list the directory\n" : "%d alarm(s): the monitor "
		    "refuses to run until an operator removes them\n", n);
		ret = EX_ALARM;
	} else {
		printf("no alarm\n");
	}
	return ret;
}

static int
parse_num(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || errno != 0 || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int
cli_monitor(int argc, char **argv, const evc_profile *p)
{
	static monitor m;
	const char *state = NULL;
	unsigned long interval = 1000, page = 1000;
	int check = 0, ret;
	char err[1024];

	memset(&m, 0, sizeof(m));
	m.p = p;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (strcmp(o, "--once") == 0) {
			m.once = 1;
		} else if (strcmp(o, "--check") == 0) {
			check = 1;
		} else if (strcmp(o, "--quiet") == 0) {
			m.quiet = 1;
		} else if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
			mon_usage(stdout);
			return EX_OK;
		} else if (i + 1 < argc && strcmp(o, "--state") == 0) {
			state = argv[++i];
		} else if (i + 1 < argc && strcmp(o, "--interval") == 0) {
			if (parse_num(argv[++i], 10, 86400000, &interval) != 0) {
				fprintf(stderr, "evchain: monitor: --interval takes 10..86400000 ms\n");
				return EX_USAGE;
			}
		} else if (i + 1 < argc && strcmp(o, "--page") == 0) {
			if (parse_num(argv[++i], 1, 100000, &page) != 0) {
				fprintf(stderr, "evchain: monitor: --page takes 1..100000\n");
				return EX_USAGE;
			}
		} else {
			fprintf(stderr, "evchain: monitor: unknown argument %s (see evchain monitor --help)\n",
			    o);
			return EX_USAGE;
		}
	}
	if (check && m.once) {
		fprintf(stderr, "evchain: monitor: --check and --once exclude each other\n");
		return EX_USAGE;
	}
	m.page = (uint32_t)page;
	m.tty = isatty(2);
	const char *base = strrchr(p->path, '/');
	snprintf(m.party, sizeof(m.party), "%.63s", base ? base + 1 : p->path);
	if (state != NULL) {
		snprintf(m.state, sizeof(m.state), "%s", state);
	} else {
		/* PROFILE.conf → PROFILE.monitor */
		size_t pl = strlen(p->path);
		if (pl > 5 && strcmp(p->path + pl - 5, ".conf") == 0)
			pl -= 5;
		int n = snprintf(m.state, sizeof(m.state), "%.*s.monitor", (int)pl, p->path);
		if (n < 0 || (size_t)n >= sizeof(m.state)) {
			fprintf(stderr, "evchain: monitor: state path too long\n");
			return EX_USAGE;
		}
	}
	if (check)
		return mon_check(&m);

	char lock[PATH_MAX + 8];
	snprintf(lock, sizeof(lock), "%s.lock", m.state);
	int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) != 0) {
		mlog(&m, "%s: %s", lock, lfd < 0 ? strerror(errno) :
		    "another monitor runs with this state file");
		if (lfd >= 0)
			close(lfd);
		return EX_ERROR;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = mon_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int existed;
	ret = EX_ALARM;
	if (mstate_load(&m, &m.st, &existed, err, sizeof(err)) != 0) {
		mlog(&m, "%s; refusing to run", err);
		close(lfd);
		return EX_ALARM;
	}
	list_ctx lc = { &m, stderr };
	int na = durable_alarm_list(m.state, show_alarm, &lc);
	if (na != 0) {
		mlog(&m, na < 0 ? "cannot list alarm files; refusing to run" : "refusing to run while "
		    "an alarm is pending: keep the evidence, then remove the alarm file(s) to resume");
		goto out;
	}
	if (!existed && !m.quiet)
		mlog(&m, "no state in %s: verifying the log from its first entry", m.state);

	char last_err[1024] = "";
	time_t last_err_t = 0;
	ret = EX_OK;
	for (;;) {
		if (mon_stop)
			break;
		int r, dirty = 0;
		if (m.c == NULL && client_connect(p, NULL, &m.c, err, sizeof(err)) != 0) {
			m.c = NULL;
			if (m.once || strcmp(err, last_err) != 0 || time(NULL) - last_err_t >= 60) {
				mlog(&m, "cannot reach the log: %s", err);
				snprintf(last_err, sizeof(last_err), "%s", err);
				last_err_t = time(NULL);
			}
			r = MR_ERR;
		} else {
			last_err[0] = '\0';
			r = round_once(&m, &dirty);
		}
		if (r == MR_ALARM) {
			ret = EX_ALARM;
			break;
		}
		if (r == MR_ERR) {
			client_close(m.c);
			m.c = NULL;
			if (dirty) {
				/* Half-verified entries changed the keyring: start the
				 * next round from what is on disk. */
				mstate_free(&m.st);
				if (mstate_load(&m, &m.st, &existed, err, sizeof(err)) != 0) {
					mlog(&m, "%s", err);
					ret = EX_ALARM;
					break;
				}
			}
		}
		if (m.once) {
			ret = r == MR_OK ? EX_OK : EX_ERROR;
			break;
		}
		struct timespec ts = { (time_t)(interval / 1000), (long)(interval % 1000) * 1000000L };
		while (!mon_stop && nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	if (mon_stop)
		mlog(&m, "stopping on a signal; state %s", m.state);
out:
	client_close(m.c);
	m.c = NULL;
	mstate_free(&m.st);
	close(lfd);
	return ret;
}
