/*
 * witness.c — evchain-witness: an independent cosigner of the log's
 * checkpoints, run by the supervision authority and by the discipline
 * commission, each with its own cosignature/v1 key (type 0x04) and its own
 * state file. C2SP tlog-witness semantics over evchain's protocol, C2SP
 * tlog-cosignature signatures:
 *
 *   each round   latest checkpoint → the log's signature (profile log_key)
 *                → smaller than what it cosigned: ROLLBACK alarm
 *                → same size, other root: FORK alarm
 *                → larger: consistency proof from the size it cosigned,
 *                  verified; failing: FORK alarm
 *                → persist the new checkpoint and the cosignature (tmp,
 *                  fsync, rename, fsync dir) → only then hand the
 *                  cosignature to the log (AddCosignatureRequest)
 *
 * A witness never cosigns two trees of the same size, never a smaller tree
 * than it cosigned, and never forgets what it cosigned (a crash after the
 * rename is after the state changed; before it, nothing was handed out).
 * Without a state file it trusts the first checkpoint it sees (trust on
 * first use) and says so in its log. An alarm is a log line naming both
 * checkpoints and a file <state>.alarm-<n> holding both signed notes; while
 * one exists the witness refuses to run (exit 1) until an operator, having
 * kept the evidence, removes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

#include <sodium.h>

#include "client.h"
#include "durable.h"
#include "evc.h"
#include "keys.h"
#include "merkle.h"
#include "note.h"

#define EX_OK 0
#define EX_ALARM 1   /* misbehaviour found, an alarm pending, or a damaged state */
#define EX_USAGE 2
#define EX_ERROR 3   /* operational: the log unreachable, the state not writable */

typedef Evchain__V1__Request Request;
typedef Evchain__V1__Response Response;

enum { WR_OK = 0, WR_ALARM = 1, WR_ERR = 3 };

#define STATE_MAGIC "evchain-witness-state v1"
#define STATE_MAX (EVC_MAX_NOTE + 4096)

/* What the witness last cosigned. */
typedef struct wstate {
	int have;
	char origin[CHECKPOINT_MAX_ORIGIN + 1];
	uint64_t size;
	uint8_t root[32];
	uint64_t cosig_time;
	uint8_t cosig[NOTE_COSIG_LEN];
	char *note;          /* text, the log's signature line, this witness's line */
	size_t note_len;
	size_t text_len;     /* the checkpoint text (what was signed) */
} wstate;

typedef struct witness {
	evc_profile prof;
	evc_vkey vk;         /* this witness's verifier key */
	const char *server;
	char state[PATH_MAX];
	wstate st;
	evc_client *c;
	int once;
} witness;

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: evchain-witness -c PROFILE [--server HOST:PORT] [--state FILE] [--once]\n"
	    "                       [--interval MS]\n"
	    "       evchain-witness -c PROFILE [--state FILE] --check\n"
	    "\n"
	    "An independent witness of an evchain log (C2SP tlog-witness semantics,\n"
	    "cosignature/v1). PROFILE is a witness profile (role witness) whose\n"
	    "signing_key is the witness's type-0x04 key and whose log_key is the log's.\n"
	    "Each round it reads the latest checkpoint, checks the log's signature and,\n"
	    "against the checkpoint it cosigned last, the consistency proof; it saves the\n"
	    "new checkpoint durably, then cosigns it and hands the cosignature to the log.\n"
	    "\n"
	    "It refuses, with an alarm: a checkpoint not signed by the log key\n"
	    "(bad-signature), a smaller tree than it cosigned (rollback), the same size\n"
	    "with another root or a tree no consistency proof joins to it (fork). An\n"
	    "alarm is a log line naming both checkpoints and a file STATE.alarm-N with\n"
	    "both signed notes (the evidence). While an alarm file exists the witness\n"
	    "refuses to run: keep the evidence, then remove the file to resume.\n"
	    "\n"
	    "  -c, --config PROFILE   the witness's profile\n"
	    "  --server HOST:PORT     override the profile's server\n"
	    "  --state FILE           state file (default: WITNESS-NAME.state beside the\n"
	    "                         profile); without one, the first checkpoint seen is\n"
	    "                         trusted (trust on first use) and the log says so\n"
	    "  --once                 one round, then exit (default: follow the log)\n"
	    "  --interval MS          between rounds when following (default 1000)\n"
	    "  --check                no network: show the state and any alarm\n"
	    "  -h, --help             this text\n"
	    "\n"
	    "Exit status: 0 cosigned or up to date (--check: no alarm), 1 alarm (log\n"
	    "misbehaviour found, an alarm pending, or a damaged state file), 2 usage,\n"
	    "3 operational failure (log unreachable, state not writable).\n");
}

/* ---- log lines ------------------------------------------------------------ */

__attribute__((format(printf, 3, 4))) static void
seterr(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(err, cap, fmt, ap) < 0)
		err[0] = '\0';
	va_end(ap);
}

__attribute__((format(printf, 2, 3))) static void
wlog(const witness *w, const char *fmt, ...)
{
	char when[64], msg[2048];
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	durable_utc((int64_t)time(NULL), when, sizeof(when));
	fprintf(stderr, "evchain-witness: %s %s: %s\n", when, w->vk.name, msg);
	fflush(stderr);
}

/* "size N root B64" */
static const char *
desc(uint64_t size, const uint8_t root[32], char *buf, size_t cap)
{
	char b[64];
	if (b64_encode(root, 32, b, sizeof(b)) < 0)
		b[0] = '\0';
	snprintf(buf, cap, "size %" PRIu64 " root %s", size, b);
	return buf;
}

/* ---- state file ------------------------------------------------------------- */

static void
state_free(wstate *s)
{
	free(s->note);
	memset(s, 0, sizeof(*s));
}

static int
state_format(const witness *w, const wstate *s, char **out, size_t *len)
{
	char root[64], cos[128], when[64];
	FILE *f = open_memstream(out, len);
	if (f == NULL)
		return -1;
	b64_encode(s->root, 32, root, sizeof(root));
	b64_encode(s->cosig, NOTE_COSIG_LEN, cos, sizeof(cos));
	durable_utc((int64_t)s->cosig_time, when, sizeof(when));
	fprintf(f, STATE_MAGIC "\n");
	fprintf(f, "witness %s\n", w->vk.name);
	fprintf(f, "origin %s\n", s->origin);
	fprintf(f, "size %" PRIu64 "\n", s->size);
	fprintf(f, "root %s\n", root);
	fprintf(f, "cosigned %" PRIu64 " %s\n", s->cosig_time, when);
	fprintf(f, "cosignature %s\n", cos);
	fprintf(f, "checkpoint %zu\n", s->note_len);
	fwrite(s->note, 1, s->note_len, f);
	return fclose(f) == 0 ? 0 : -1;
}

/* Parse and check a state file: every field present, the checkpoint signed
 * by the log key and cosigned by this witness's key with the recorded
 * cosignature, size and root as recorded. 0 or -1 with err. */
static int
state_parse(const witness *w, const char *buf, size_t len, wstate *s, char *err, size_t errcap)
{
	size_t pos = 0, ll, vl;
	const char *line, *v;
	uint64_t note_len = UINT64_MAX, x;
	int have = 0;
	enum { F_WIT = 1, F_ORIGIN = 2, F_SIZE = 4, F_ROOT = 8, F_TIME = 16, F_COSIG = 32 };

	memset(s, 0, sizeof(*s));
	if (durable_line(buf, len, &pos, &line, &ll) != 0 || ll != strlen(STATE_MAGIC) ||
	    memcmp(line, STATE_MAGIC, ll) != 0) {
		seterr(err, errcap, "not an evchain-witness state file (first line)");
		return -1;
	}
	while (note_len == UINT64_MAX && durable_line(buf, len, &pos, &line, &ll) == 0) {
		if (durable_field(line, ll, "witness", &v, &vl)) {
			if (vl != strlen(w->vk.name) || memcmp(v, w->vk.name, vl) != 0) {
				seterr(err, errcap, "it belongs to witness \"%.*s\", not \"%s\"", (int)vl, v,
				    w->vk.name);
				return -1;
			}
			have |= F_WIT;
		} else if (durable_field(line, ll, "origin", &v, &vl)) {
			if (vl > CHECKPOINT_MAX_ORIGIN)
				break;
			memcpy(s->origin, v, vl);
			s->origin[vl] = '\0';
			have |= F_ORIGIN;
		} else if (durable_field(line, ll, "size", &v, &vl)) {
			if (durable_u64(v, vl, &s->size) != 0)
				break;
			have |= F_SIZE;
		} else if (durable_field(line, ll, "root", &v, &vl)) {
			if (b64_decode(v, vl, s->root, 32) != 32)
				break;
			have |= F_ROOT;
		} else if (durable_field(line, ll, "cosigned", &v, &vl)) {
			const char *sp = memchr(v, ' ', vl);
			if (durable_u64(v, sp ? (size_t)(sp - v) : vl, &s->cosig_time) != 0)
				break;
			have |= F_TIME;
		} else if (durable_field(line, ll, "cosignature", &v, &vl)) {
			if (b64_decode(v, vl, s->cosig, NOTE_COSIG_LEN) != NOTE_COSIG_LEN)
				break;
			have |= F_COSIG;
		} else if (durable_field(line, ll, "checkpoint", &v, &vl)) {
			if (durable_u64(v, vl, &x) != 0)
				break;
			note_len = x;
		} else {
			seterr(err, errcap, "unknown line \"%.*s\"", (int)(ll > 60 ? 60 : ll), line);
			return -1;
		}
	}
	if (have != 63 || note_len == UINT64_MAX) {
		seterr(err, errcap, "a field is missing or malformed");
		return -1;
	}
	if (note_len != len - pos || note_len == 0 || note_len > EVC_MAX_NOTE) {
		seterr(err, errcap, "the checkpoint is %zu bytes, %" PRIu64 " recorded", len - pos,
		    note_len);
		return -1;
	}
	if (strcmp(s->origin, w->prof.log_key.name) != 0) {
		seterr(err, errcap, "it is about log \"%s\", the profile's log is \"%s\"", s->origin,
		    w->prof.log_key.name);
		return -1;
	}
	/* The checkpoint: the log's signature and this witness's, both valid. */
	evc_vkey keys[2] = { w->prof.log_key, w->vk };
	note nt;
	checkpoint cp;
	const char *nb = buf + pos;
	int rc = note_open(nb, (size_t)note_len, keys, 2, &nt);
	if (rc < 2) {
		seterr(err, errcap, "its checkpoint does not carry both the log's signature and this "
		    "witness's cosignature (%s)", rc < 0 ? evc_strerror(rc) : "one is missing");
		return -1;
	}
	if (checkpoint_parse(nt.text, nt.text_len, &cp) != 0 || cp.size != s->size ||
	    memcmp(cp.root, s->root, 32) != 0 || strcmp(cp.origin, s->origin) != 0) {
		seterr(err, errcap, "its checkpoint is not the recorded size and root");
		return -1;
	}
	uint64_t ts;
	if (cosig_verify(nt.text, nt.text_len, &w->vk, s->cosig, &ts) != 0 || ts != s->cosig_time) {
		seterr(err, errcap, "the recorded cosignature does not verify");
		return -1;
	}
	if ((s->note = malloc((size_t)note_len + 1)) == NULL) {
		seterr(err, errcap, "out of memory");
		return -1;
	}
	memcpy(s->note, nb, (size_t)note_len);
	s->note[note_len] = '\0';
	s->note_len = (size_t)note_len;
	s->text_len = nt.text_len;
	s->have = 1;
	return 0;
}

/* Load the state: 0 (s->have tells whether there was one) or -1 with err. */
static int
state_load(const witness *w, wstate *s, char *err, size_t errcap)
{
	char *buf, why[512];
	size_t len;
	memset(s, 0, sizeof(*s));
	int rc = durable_read(w->state, STATE_MAX, &buf, &len, err, errcap);
	if (rc == 1)
		return 0;
	if (rc != 0)
		return -1;
	rc = state_parse(w, buf, len, s, why, sizeof(why));
	free(buf);
	if (rc != 0)
		seterr(err, errcap, "state file %s is damaged or not this witness's: %s", w->state, why);
	return rc;
}

static int
state_save(const witness *w, const wstate *s, char *err, size_t errcap)
{
	char *buf = NULL;
	size_t len = 0;
	if (state_format(w, s, &buf, &len) != 0) {
		free(buf);
		seterr(err, errcap, "out of memory");
		return -1;
	}
	int rc = durable_write(w->state, buf, len, err, errcap);
	free(buf);
	return rc;
}

/* ---- alarms ------------------------------------------------------------------ */

typedef struct alarm_ctx {
	const witness *w;
	FILE *out;
	int n;
} alarm_ctx;

static int
show_alarm(void *ctx, const char *path)
{
	alarm_ctx *a = ctx;
	char kind[64], reason[1024];
	durable_alarm_summary(path, kind, sizeof(kind), reason, sizeof(reason));
	if (a->out == stderr)
		wlog(a->w, "ALARM pending in %s: %s: %s", path, kind, reason);
	else
		fprintf(a->out, "ALARM %s: %s: %s\n", path, kind, reason);
	a->n++;
	return 0;
}

/* Raise an alarm: evidence file, then one log line. WR_ALARM. */
__attribute__((format(printf, 6, 7))) static int
raise_alarm(witness *w, const char *kind, const char *seen, size_t seen_len, const checkpoint *seen_cp,
    const char *fmt, ...)
{
	char reason[2048], path[PATH_MAX], err[512];
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(reason, sizeof(reason), fmt, ap) < 0)
		reason[0] = '\0';
	va_end(ap);
	durable_alarm a = { 0 };
	a.program = "evchain-witness";
	a.party = w->vk.name;
	a.kind = kind;
	a.reason = reason;
	if (w->st.have) {
		a.trusted_size = w->st.size;
		a.trusted_root = w->st.root;
		a.trusted = w->st.note;
		a.trusted_len = w->st.note_len;
	}
	if (seen_cp != NULL) {
		a.seen_size = seen_cp->size;
		a.seen_root = seen_cp->root;
	}
	a.seen = seen;
	a.seen_len = seen_len;
	if (durable_alarm_write(w->state, &a, path, sizeof(path), err, sizeof(err)) != 0)
		wlog(w, "ALARM %s: %s (the evidence could NOT be saved: %s); refusing to cosign", kind,
		    reason, err);
	else
		wlog(w, "ALARM %s: %s; evidence (both signed checkpoints) in %s; refusing to cosign "
		    "until an operator removes it", kind, reason, path);
	return WR_ALARM;
}

/* A failing consistency proof, kept with the alarm. */
static int
alarm_proof(witness *w, const char *seen, size_t seen_len, const checkpoint *cp,
    const uint8_t (*proof)[32], size_t nproof, const char *why)
{
	char reason[2048], path[PATH_MAX], err[512], d1[128], d2[128];
	snprintf(reason, sizeof(reason), "the log's checkpoint %s is not consistent with %s that this "
	    "witness cosigned: %s", desc(cp->size, cp->root, d1, sizeof(d1)),
	    desc(w->st.size, w->st.root, d2, sizeof(d2)), why);
	durable_alarm a = { 0 };
	a.program = "evchain-witness";
	a.party = w->vk.name;
	a.kind = "fork";
	a.reason = reason;
	a.trusted_size = w->st.size;
	a.trusted_root = w->st.root;
	a.trusted = w->st.note;
	a.trusted_len = w->st.note_len;
	a.seen_size = cp->size;
	a.seen_root = cp->root;
	a.seen = seen;
	a.seen_len = seen_len;
	a.proof = proof;
	a.nproof = nproof;
	a.proof_old = w->st.size;
	a.proof_new = cp->size;
	if (durable_alarm_write(w->state, &a, path, sizeof(path), err, sizeof(err)) != 0)
		wlog(w, "ALARM fork: %s (the evidence could NOT be saved: %s); refusing to cosign", reason,
		    err);
	else
		wlog(w, "ALARM fork: %s; evidence (both signed checkpoints and the proof) in %s; refusing "
		    "to cosign until an operator removes it", reason, path);
	return WR_ALARM;
}

/* ---- one round -------------------------------------------------------------------- */

/* The served note's own valid cosignature by this witness over its text? */
static int
carries_ours(const witness *w, const note *nt)
{
	uint8_t sig[NOTE_COSIG_LEN];
	for (size_t i = 0; i < nt->nsigs; i++) {
		const note_sig *s = &nt->sigs[i];
		if (s->id != w->vk.id || strcmp(s->name, w->vk.name) != 0 ||
		    s->sig_len != NOTE_COSIG_LEN - 4)
			continue;
		sig[0] = (uint8_t)(s->id >> 24);
		sig[1] = (uint8_t)(s->id >> 16);
		sig[2] = (uint8_t)(s->id >> 8);
		sig[3] = (uint8_t)s->id;
		memcpy(sig + 4, s->sig, NOTE_COSIG_LEN - 4);
		if (cosig_verify(nt->text, nt->text_len, &w->vk, sig, NULL) == 0)
			return 1;
	}
	return 0;
}

/* The note this witness keeps: text, the log's signature(s), its own line. */
static int
build_note(const witness *w, const note *nt, const uint8_t cos[NOTE_COSIG_LEN], char **out,
    size_t *outlen)
{
	size_t cap = nt->text_len + 1 + (nt->nsigs + 1) * 512, n;
	char *b = malloc(cap);
	if (b == NULL)
		return -1;
	memcpy(b, nt->text, nt->text_len);
	n = nt->text_len;
	b[n++] = '\n';
	for (size_t i = 0; i < nt->nsigs; i++) {
		const note_sig *s = &nt->sigs[i];
		if (s->key == NULL || s->key->type != EVC_KEY_ED25519)
			continue;
		int l = note_sig_line(s->name, s->id, s->sig, s->sig_len, b + n, cap - n);
		if (l < 0) {
			free(b);
			return -1;
		}
		n += (size_t)l;
	}
	int l = note_sig_line(w->vk.name, w->vk.id, cos + 4, NOTE_COSIG_LEN - 4, b + n, cap - n);
	if (l < 0) {
		free(b);
		return -1;
	}
	n += (size_t)l;
	b[n] = '\0';
	*out = b;
	*outlen = n;
	return 0;
}

static int
call(witness *w, Request *q, pb_arena *a, Response **r, const char *what)
{
	int rc = client_call(w->c, q, a, r);
	if (rc != 0) {
		wlog(w, "%s: %s", what, client_error(w->c));
		return WR_ERR;
	}
	return WR_OK;
}

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

/* The signed checkpoint of exactly `size` as the log stores it, opened with
 * the log key (for a split view found when adding a cosignature). */
static int
checkpoint_of_size(witness *w, uint64_t size, pb_arena *a, const uint8_t **buf, size_t *len,
    checkpoint *cp)
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__ConsistencyProofRequest cr = EVCHAIN__V1__CONSISTENCY_PROOF_REQUEST__INIT;
	Response *r;
	note nt;
	cr.old_size = size;
	cr.new_size = size;
	q.op_case = EVCHAIN__V1__REQUEST__OP_CONSISTENCY_PROOF;
	q.consistency_proof = &cr;
	if (call(w, &q, a, &r, "consistency proof") != WR_OK || status_code(r) != 0 ||
	    r->result_case != EVCHAIN__V1__RESPONSE__RESULT_CONSISTENCY_PROOF ||
	    r->consistency_proof->checkpoint.len == 0)
		return -1;
	*buf = r->consistency_proof->checkpoint.data;
	*len = r->consistency_proof->checkpoint.len;
	if (note_open((const char *)*buf, *len, &w->prof.log_key, 1, &nt) < 1 ||
	    checkpoint_parse(nt.text, nt.text_len, cp) != 0 || cp->size != size)
		return -1;
	return 0;
}

/* Hand the state's cosignature to the log. */
static int
send_cosignature(witness *w, pb_arena *a, int again)
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__AddCosignatureRequest ar = EVCHAIN__V1__ADD_COSIGNATURE_REQUEST__INIT;
	Response *r;
	char d[128], d2[128];

	ar.tree_size = w->st.size;
	ar.root_hash.data = w->st.root;
	ar.root_hash.len = 32;
	ar.witness_name = w->vk.name;
	ar.signature.data = w->st.cosig;
	ar.signature.len = NOTE_COSIG_LEN;
	q.op_case = EVCHAIN__V1__REQUEST__OP_ADD_COSIGNATURE;
	q.add_cosignature = &ar;
	if (call(w, &q, a, &r, "add cosignature") != WR_OK)
		return WR_ERR;
	int code = status_code(r);
	if (code == 0 && r->result_case == EVCHAIN__V1__RESPONSE__RESULT_ADD_COSIGNATURE) {
		wlog(w, "%s %s %s (cosignature time %" PRIu64 "); cosignatures the log holds for it: %u",
		    again ? "handed again the cosignature of" : "cosigned", w->st.origin,
		    desc(w->st.size, w->st.root, d, sizeof(d)), w->st.cosig_time,
		    r->add_cosignature->cosignatures);
		return WR_OK;
	}
	if (code == EVCHAIN__V1__STATUS__CODE__CONFLICT) {
		/* The log keeps another checkpoint of this size than it just
		 * served: fetch it; two signed roots of one size are a fork. */
		const uint8_t *other;
		size_t olen;
		checkpoint ocp;
		if (checkpoint_of_size(w, w->st.size, a, &other, &olen, &ocp) == 0 &&
		    memcmp(ocp.root, w->st.root, 32) != 0)
			return raise_alarm(w, "fork", (const char *)other, olen, &ocp, "split view: the log "
			    "stores %s while it served %s, which this witness cosigned",
			    desc(ocp.size, ocp.root, d, sizeof(d)), desc(w->st.size, w->st.root, d2,
			    sizeof(d2)));
	}
	wlog(w, "the log refused the cosignature of %s: %s: %s", desc(w->st.size, w->st.root, d,
	    sizeof(d)), client_status_name(code), status_msg(r));
	return WR_ERR;
}

/* Cosign the checkpoint (opened: nt, cp), persist, then hand it out. */
static int
cosign(witness *w, const note *nt, const checkpoint *cp, pb_arena *a)
{
	wstate ns;
	char err[512];
	memset(&ns, 0, sizeof(ns));
	ns.have = 1;
	snprintf(ns.origin, sizeof(ns.origin), "%s", cp->origin);
	ns.size = cp->size;
	memcpy(ns.root, cp->root, 32);
	ns.cosig_time = (uint64_t)time(NULL);
	if (w->st.have && ns.cosig_time < w->st.cosig_time)
		ns.cosig_time = w->st.cosig_time; /* never back in time */
	int rc = cosig_sign(nt->text, nt->text_len, &w->prof.signing_key, ns.cosig_time, ns.cosig);
	if (rc != 0 || build_note(w, nt, ns.cosig, &ns.note, &ns.note_len) != 0) {
		wlog(w, "cannot cosign: %s", evc_strerror(rc ? rc : EVC_ENOMEM));
		state_free(&ns);
		return WR_ERR;
	}
	ns.text_len = nt->text_len;
	/* Durable before anything is handed out. */
	if (state_save(w, &ns, err, sizeof(err)) != 0) {
		wlog(w, "cannot save the state, so nothing was cosigned: %s", err);
		state_free(&ns);
		return WR_ERR;
	}
	state_free(&w->st);
	w->st = ns;
	return send_cosignature(w, a, 0);
}

/* Judge a signed checkpoint the log served. */
static int
judge(witness *w, const char *served, size_t len, pb_arena *a)
{
	note nt;
	checkpoint cp;
	char d1[128], d2[128];
	int rc = note_open(served, len, &w->prof.log_key, 1, &nt);

	if (rc < 1) {
		/* What it claims, for the record (not verified). */
		checkpoint claim;
		int parsed = note_parse(served, len, &nt) == 0 &&
		    checkpoint_parse(nt.text, nt.text_len, &claim) == 0;
		return raise_alarm(w, "bad-signature", served, len, parsed ? &claim : NULL, "the "
		    "checkpoint served%s%s does not verify with the log key %s (%s)%s%s",
		    parsed ? ", claiming " : "", parsed ? desc(claim.size, claim.root, d1, sizeof(d1)) : "",
		    w->prof.log_key.name, evc_strerror(rc), w->st.have ? "; this witness cosigned " : "",
		    w->st.have ? desc(w->st.size, w->st.root, d2, sizeof(d2)) : "");
	}
	if (checkpoint_parse(nt.text, nt.text_len, &cp) != 0 || strcmp(cp.origin,
	    w->prof.log_key.name) != 0)
		return raise_alarm(w, "bad-signature", served, len, NULL, "the checkpoint served is "
		    "signed by the log key but is malformed or names another origin");
	if (!w->st.have) {
		wlog(w, "no state in %s: trusting the first checkpoint seen (trust on first use): %s %s",
		    w->state, cp.origin, desc(cp.size, cp.root, d1, sizeof(d1)));
		return cosign(w, &nt, &cp, a);
	}
	if (cp.size < w->st.size)
		return raise_alarm(w, "rollback", served, len, &cp, "rollback: the log serves %s after "
		    "this witness cosigned %s", desc(cp.size, cp.root, d1, sizeof(d1)),
		    desc(w->st.size, w->st.root, d2, sizeof(d2)));
	if (cp.size == w->st.size) {
		if (memcmp(cp.root, w->st.root, 32) != 0)
			return raise_alarm(w, "fork", served, len, &cp, "fork: the log signed %s, but this "
			    "witness cosigned %s (two trees of one size)", desc(cp.size, cp.root, d1,
			    sizeof(d1)), desc(w->st.size, w->st.root, d2, sizeof(d2)));
		if (carries_ours(w, &nt)) {
			if (w->once)
				wlog(w, "up to date: %s already cosigned", desc(cp.size, cp.root, d1, sizeof(d1)));
			return WR_OK;
		}
		/* The same tree without this witness's cosignature (the add was
		 * lost, or the log was restored): hand the same cosignature
		 * again if it is over the same text; never a second one. */
		if (nt.text_len == w->st.text_len && memcmp(nt.text, w->st.note, nt.text_len) == 0)
			return send_cosignature(w, a, 1);
		return cosign(w, &nt, &cp, a); /* same tree, other extension lines */
	}

	/* A larger tree: it must extend the one cosigned (any tree extends
	 * the empty one). */
	if (w->st.size == 0)
		return cosign(w, &nt, &cp, a);
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__ConsistencyProofRequest cr = EVCHAIN__V1__CONSISTENCY_PROOF_REQUEST__INIT;
	Response *r;
	uint8_t proof[2 * EVC_MAX_PROOF][32];
	cr.old_size = w->st.size;
	cr.new_size = cp.size;
	q.op_case = EVCHAIN__V1__REQUEST__OP_CONSISTENCY_PROOF;
	q.consistency_proof = &cr;
	if (call(w, &q, a, &r, "consistency proof") != WR_OK)
		return WR_ERR;
	if (status_code(r) != 0 || r->result_case != EVCHAIN__V1__RESPONSE__RESULT_CONSISTENCY_PROOF) {
		wlog(w, "the log gave no consistency proof from %" PRIu64 " to %" PRIu64 ": %s: %s",
		    w->st.size, cp.size, client_status_name(status_code(r)), status_msg(r));
		return WR_ERR;
	}
	Evchain__V1__ConsistencyProofResponse *p = r->consistency_proof;
	if (p->n_proof > 2 * EVC_MAX_PROOF)
		return alarm_proof(w, served, len, &cp, NULL, 0, "the proof is too long");
	for (size_t i = 0; i < p->n_proof; i++) {
		if (p->proof[i].len != 32)
			return alarm_proof(w, served, len, &cp, NULL, 0, "a proof hash is not 32 bytes");
		memcpy(proof[i], p->proof[i].data, 32);
	}
	if (p->old_size != w->st.size || p->new_size != cp.size ||
	    merkle_verify_consistency(w->st.size, cp.size, w->st.root, cp.root,
	    (const uint8_t(*)[32])proof, p->n_proof) != 0)
		return alarm_proof(w, served, len, &cp, (const uint8_t(*)[32])proof, p->n_proof,
		    "the consistency proof does not verify");
	return cosign(w, &nt, &cp, a);
}

static int
round_once(witness *w)
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__CheckpointRequest cr = EVCHAIN__V1__CHECKPOINT_REQUEST__INIT;
	Response *r;
	pb_arena a;
	int ret;

	q.op_case = EVCHAIN__V1__REQUEST__OP_CHECKPOINT;
	q.checkpoint = &cr;
	pb_arena_init(&a, 1u << 20);
	if ((ret = call(w, &q, &a, &r, "latest checkpoint")) != WR_OK)
		goto out;
	if (status_code(r) != 0 || r->result_case != EVCHAIN__V1__RESPONSE__RESULT_CHECKPOINT) {
		wlog(w, "the log gave no checkpoint: %s: %s", client_status_name(status_code(r)),
		    status_msg(r));
		ret = WR_ERR;
		goto out;
	}
	ret = judge(w, (const char *)r->checkpoint->checkpoint.data, r->checkpoint->checkpoint.len,
	    &a);
out:
	pb_arena_free(&a);
	return ret;
}

/* ---- main ---------------------------------------------------------------------------- */

static int
check_only(witness *w)
{
	char err[1024], d[128], when[64];
	int ret = EX_OK;
	wstate s;
	if (state_load(w, &s, err, sizeof(err)) != 0) {
		printf("DAMAGED %s: %s\n", w->state, err);
		ret = EX_ALARM;
	} else if (!s.have) {
		printf("state %s: none yet (the first checkpoint seen will be trusted)\n", w->state);
	} else {
		durable_utc((int64_t)s.cosig_time, when, sizeof(when));
		printf("state %s: witness %s cosigned %s %s at %s\n", w->state, w->vk.name, s.origin,
		    desc(s.size, s.root, d, sizeof(d)), when);
	}
	state_free(&s);
	alarm_ctx ac = { w, stdout, 0 };
	int n = durable_alarm_list(w->state, show_alarm, &ac);
	if (n < 0) {
		printf("ALARMS unknown: cannot list the directory of %s\n", w->state);
		ret = EX_ALARM;
	} else if (n > 0) {
		printf("%d alarm%s: this witness refuses to cosign until an operator removes %s\n", n,
		    n == 1 ? "" : "s", n == 1 ? "it" : "them");
		ret = EX_ALARM;
	} else {
		printf("no alarm\n");
	}
	return ret;
}

static int
parse_ms(const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || errno != 0 || v < 10 || v > 86400000)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (!stop && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int
run(witness *w, unsigned interval)
{
	char err[1024], last_err[1024] = "";
	time_t last_err_t = 0;
	int ret = EX_OK;

	for (;;) {
		if (stop)
			break;
		int r;
		if (w->c == NULL && client_connect(&w->prof, w->server, &w->c, err, sizeof(err)) != 0) {
			w->c = NULL;
			/* Say it once, then every minute while it lasts. */
			if (w->once || strcmp(err, last_err) != 0 || time(NULL) - last_err_t >= 60) {
				wlog(w, "cannot reach the log: %s", err);
				snprintf(last_err, sizeof(last_err), "%s", err);
				last_err_t = time(NULL);
			}
			r = WR_ERR;
		} else {
			if (last_err[0] != '\0') {
				wlog(w, "connected to the log again");
				last_err[0] = '\0';
			}
			r = round_once(w);
		}
		if (r == WR_ALARM) {
			ret = EX_ALARM;
			break;
		}
		if (r == WR_ERR) {
			client_close(w->c);
			w->c = NULL;
		}
		if (w->once) {
			ret = r == WR_OK ? EX_OK : EX_ERROR;
			break;
		}
		sleep_ms(interval);
	}
	if (stop)
		wlog(w, "stopping on a signal; state %s", w->state);
	client_close(w->c);
	w->c = NULL;
	return ret;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "server", required_argument, NULL, 's' },
		{ "state", required_argument, NULL, 'S' },
		{ "once", no_argument, NULL, 'o' },
		{ "interval", required_argument, NULL, 'i' },
		{ "check", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static witness w;
	const char *pfile = NULL, *state = NULL;
	unsigned interval = 1000;
	int check = 0, c, ret;
	char err[1024];

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': pfile = optarg; break;
		case 's': w.server = optarg; break;
		case 'S': state = optarg; break;
		case 'o': w.once = 1; break;
		case 'i':
			if (parse_ms(optarg, &interval) != 0) {
				fprintf(stderr, "evchain-witness: --interval takes 10..86400000 ms "
				    "(see evchain-witness --help)\n");
				return EX_USAGE;
			}
			break;
		case 'k': check = 1; break;
		case 'h': usage(stdout); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc || pfile == NULL) {
		fprintf(stderr, "evchain-witness: %s (see evchain-witness --help)\n",
		    pfile == NULL ? "-c PROFILE is required" : "unexpected argument");
		return EX_USAGE;
	}
	if (check && w.once) {
		fprintf(stderr, "evchain-witness: --check and --once exclude each other\n");
		return EX_USAGE;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "evchain-witness: libsodium failed to initialise\n");
		return EX_ERROR;
	}
	if (client_profile_load(pfile, &w.prof, err, sizeof(err)) != 0) {
		fprintf(stderr, "evchain-witness: %s\n", err);
		return EX_USAGE;
	}
	if (!w.prof.has_signing_key || w.prof.signing_key.type != EVC_KEY_COSIGNATURE) {
		fprintf(stderr, "evchain-witness: %s: signing_key must be a witness (cosignature/v1, "
		    "type 0x04) key\n", pfile);
		client_profile_wipe(&w.prof);
		return EX_USAGE;
	}
	keys_public(&w.prof.signing_key, &w.vk);
	if (state != NULL) {
		snprintf(w.state, sizeof(w.state), "%s", state);
	} else {
		/* WITNESS-NAME.state beside the profile ('/' in a name becomes '_'). */
		char name[EVC_MAX_KEY_NAME + 1];
		const char *slash = strrchr(pfile, '/');
		snprintf(name, sizeof(name), "%s", w.vk.name);
		for (char *p = name; *p; p++)
			if (*p == '/')
				*p = '_';
		int n = slash ? snprintf(w.state, sizeof(w.state), "%.*s/%s.state", (int)(slash - pfile),
		    pfile, name) : snprintf(w.state, sizeof(w.state), "%s.state", name);
		if (n < 0 || (size_t)n >= sizeof(w.state)) {
			fprintf(stderr, "evchain-witness: state path too long\n");
			client_profile_wipe(&w.prof);
			return EX_USAGE;
		}
	}
	if (check) {
		ret = check_only(&w);
		client_profile_wipe(&w.prof);
		return ret;
	}

	/* One witness process per state file. */
	char lock[PATH_MAX + 8];
	snprintf(lock, sizeof(lock), "%s.lock", w.state);
	int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) != 0) {
		wlog(&w, "%s: %s", lock, lfd < 0 ? strerror(errno) :
		    "another evchain-witness runs with this state file");
		client_profile_wipe(&w.prof);
		return EX_ERROR;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	ret = EX_ALARM;
	if (state_load(&w, &w.st, err, sizeof(err)) != 0) {
		wlog(&w, "%s; refusing to run (restore it, or remove it to trust the log anew)", err);
		goto out;
	}
	alarm_ctx ac = { &w, stderr, 0 };
	int na = durable_alarm_list(w.state, show_alarm, &ac);
	if (na != 0) {
		wlog(&w, na < 0 ? "cannot list alarm files; refusing to run" :
		    "refusing to cosign while an alarm is pending: keep the evidence, then remove the "
		    "alarm file(s) to resume");
		goto out;
	}
	if (w.st.have) {
		char d[128];
		wlog(&w, "following %s from %s (state %s)", w.st.origin, desc(w.st.size, w.st.root, d,
		    sizeof(d)), w.state);
	}
	ret = run(&w, interval);
out:
	state_free(&w.st);
	client_profile_wipe(&w.prof);
	close(lfd);
	return ret;
}
