/*
 * evchain — the command-line client.
 *
 *   evchain -c PROFILE [--server ADDR] COMMAND [ARGS]
 *
 * Every answer is verified against the log key (checkpoints, receipts,
 * proofs) before it is reported. Exit status: 0 success, 1 refused or failed
 * verification, 2 usage.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "bundle.h"
#include "cli_audit.h"
#include "cli_monitor.h"
#include "client.h"
#include "evc.h"
#include "examples.h"
#include "hash.h"
#include "media.h"
#include "merkle.h"
#include "note.h"
#include "pbjson.h"
#include "policy.h"
#include "record.h"

#define EX_OK 0
#define EX_FAIL 1
#define EX_USAGE 2

typedef Evchain__V1__Request Request;
typedef Evchain__V1__Response Response;

static const char *progname = "evchain";
static evc_profile prof;
static const char *server_override;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: evchain -c PROFILE [--server HOST:PORT] COMMAND [ARGS]\n"
	    "\n"
	    "commands:\n"
	    "  submit [FILE|-] [--batch N] [--window N]\n"
	    "                          sign and submit JSON Lines records (one per line) with the\n"
	    "                          profile's key; prints one verified receipt line per record\n"
	    "  example KIND            print a valid JSON record of KIND (node_key, inspection_plan,\n"
	    "                          scan_in, certificate_check, evidence, disposition,\n"
	    "                          company_feedback, frequency_cap, risk_grade)\n"
	    "  register-node PUBFILE --agency A [--role node|admin] [--reason R]   (admin)\n"
	    "  revoke-node NAME [--reason R]                                        (admin)\n"
	    "  checkpoint [--witnesses K] [--wait SECONDS]\n"
	    "                          print the latest checkpoint, verified (and cosigned by K\n"
	    "                          of the profile's witnesses)\n"
	    "  get INDEX [--raw]       an entry, verified against the latest checkpoint;\n"
	    "                          --raw writes the exact entry bytes\n"
	    "  prove INDEX [--size N]  a C2SP tlog-proof for the entry, checked before printing\n"
	    "  consistency OLD NEW     verify that checkpoint NEW extends checkpoint OLD\n"
	    "  query (--company USCC | --cert NO | --inspection ID | --node NAME | --kind KIND |\n"
	    "         --evidence SHA256HEX) [--from TIME] [--to TIME] [--limit N] [--all]\n"
	    "                          matching entries as JSON lines, each verified\n"
	    "  status                  the server's status\n"
	    "  hash FILE... [--sm3]    SHA-256 (and SM3) of media files, streaming\n"
	    "  evidence --inspection ID --media FILE --kind KIND --proves TEXT --recorder NAME\n"
	    "           --recorder-cert NO --place TEXT [--lat X --lon Y] [--start TIME] [--end TIME]\n"
	    "           [--evidence-id ID] [--company USCC] [--media-type T] [--sm3]\n"
	    "                          hash a media file and submit its evidence record\n"
	    "  export (--inspection ID | --company USCC [--from TIME] [--to TIME]) -o FILE\n"
	    "         [--tlog-proof DIR] [--witnesses K]\n"
	    "                          the evidence bundle, verified, for evchain-verify bundle;\n"
	    "                          --tlog-proof also writes each entry and its C2SP tlog-proof;\n"
	    "                          --witnesses K proves to the newest checkpoint K witnesses cosigned\n"
	    "  monitor [--state FILE] [--once] [--interval MS] [--page N] [--quiet] [--check]\n"
	    "                          follow the log from a saved position and verify every new\n"
	    "                          entry; alarms on a rollback or fork (supervisor, discipline)\n"
	    "  audit [--from DATE] [--to DATE] [--agency A] [--company USCC]\n"
	    "        [--format text|json|csv|html] [-o FILE] [--bundle DIR] [--rule ID,...]\n"
	    "                          verify every entry against the signed checkpoint, then\n"
	    "                          report compliance findings (supervisor, discipline)\n"
	    "\n"
	    "TIME is Unix milliseconds, YYYY-MM-DD, or RFC 3339 (2025-05-12T09:30:00+08:00).\n"
	    "Exit status: 0 success, 1 refused or failed verification, 2 usage.\n");
}

__attribute__((format(printf, 1, 2))) static int
fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EX_FAIL;
}

__attribute__((format(printf, 1, 2))) static int
usage_err(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see %s --help)\n", progname);
	return EX_USAGE;
}

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
parse_u64(const char *s, uint64_t *v)
{
	char *end;
	if (s[0] == '\0' || s[0] == '-')
		return -1;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (*end != '\0' || errno != 0)
		return -1;
	*v = x;
	return 0;
}

static evc_client *
connect_or_die(void)
{
	evc_client *c;
	char err[512];
	if (client_connect(&prof, server_override, &c, err, sizeof(err)) != 0) {
		fail("%s", err);
		return NULL;
	}
	return c;
}

/* A non-OK status: print it, return EX_FAIL. */
static int
status_fail(const Response *r)
{
	int code = r->status ? (int)r->status->code : 10;
	return fail("%s: %s", client_status_name(code), r->status && r->status->message ?
	    r->status->message : "");
}

static int
call(evc_client *c, Request *q, pb_arena *a, Response **r)
{
	int rc = client_call(c, q, a, r);
	if (rc != 0)
		return fail("%s", client_error(c));
	if ((*r)->status != NULL && (*r)->status->code != EVCHAIN__V1__STATUS__CODE__OK)
		return status_fail(*r);
	return EX_OK;
}

static void
print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII * 0);
	if (s != NULL) {
		puts(s);
		free(s);
	}
	json_decref(j);
}

static char *
hex(const uint8_t *p, size_t n, char *buf)
{
	hash_hex(p, n, buf);
	return buf;
}

/* ---- submit --------------------------------------------------------------- */

typedef struct pending {
	uint64_t id;
	size_t first, n;    /* records [first, first+n) of the input */
	int done;
} pending;

typedef struct rec_in {
	uint8_t *bytes;
	size_t len;
	uint8_t sig[64];
	char *record_id;
	unsigned line;
} rec_in;

static int
sign_line(const char *line, size_t len, unsigned lineno, rec_in *out)
{
	pb_arena a;
	Record *r;
	char err[512], rid[96];
	int ret = -1;

	pb_arena_init(&a, 4 * len + (1 << 20));
	if (pbjson_record_from_text(line, len, &a, &r, err, sizeof(err)) != 0) {
		fail("line %u: %s", lineno, err);
		goto out;
	}
	r->signer = prof.signing_key.name;
	if (r->created_ms == 0)
		r->created_ms = now_ms();
	if (r->record_id == NULL || r->record_id[0] == '\0') {
		uint8_t rnd[8];
		char rh[17];
		randombytes_buf(rnd, sizeof(rnd));
		snprintf(rid, sizeof(rid), "%" PRId64 "-%s", r->created_ms, hex(rnd, 8, rh));
		r->record_id = rid;
	}
	char why[512];
	if (record_validate(r, now_ms(), why, sizeof(why)) != 0) {
		fail("line %u: %s", lineno, why);
		goto out;
	}
	out->bytes = pb_pack(&r->base, &out->len);
	out->record_id = strdup(r->record_id);
	out->line = lineno;
	if (out->bytes == NULL || out->record_id == NULL)
		goto out;
	record_sign(&prof.signing_key, out->bytes, out->len, out->sig);
	ret = 0;
out:
	pb_arena_free(&a);
	return ret;
}

static int
send_batch(evc_client *c, rec_in *recs, size_t first, size_t n, pending *p)
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__SubmitRequest sub = EVCHAIN__V1__SUBMIT_REQUEST__INIT;
	Evchain__V1__SignedRecord *srs = calloc(n, sizeof(*srs)), **ptrs = calloc(n, sizeof(*ptrs));
	int64_t id = -1;

	if (srs == NULL || ptrs == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		evchain__v1__signed_record__init(&srs[i]);
		srs[i].record.data = recs[first + i].bytes;
		srs[i].record.len = recs[first + i].len;
		srs[i].key_name = prof.signing_key.name;
		srs[i].signature.data = recs[first + i].sig;
		srs[i].signature.len = 64;
		ptrs[i] = &srs[i];
	}
	sub.records = ptrs;
	sub.n_records = n;
	q.op_case = EVCHAIN__V1__REQUEST__OP_SUBMIT;
	q.submit = &sub;
	id = client_send(c, &q);
	p->id = (uint64_t)id;
	p->first = first;
	p->n = n;
	p->done = 0;
out:
	free(srs);
	free(ptrs);
	return id < 0 ? -1 : 0;
}

/* Verify and print the receipts of one response; returns records refused. */
static size_t
print_receipts(const Response *r, rec_in *recs, const pending *p, int *fatal)
{
	size_t refused = 0;
	char err[512], hx[65];

	if (r == NULL)
		return p->n;
	if (r->status && r->status->code != EVCHAIN__V1__STATUS__CODE__OK) {
		for (size_t i = 0; i < p->n; i++) {
			json_t *j = json_pack("{s:s, s:s, s:s}", "record_id", recs[p->first + i].record_id,
			    "error", client_status_name((int)r->status->code), "message",
			    r->status->message ? r->status->message : "");
			print_json(j);
		}
		return p->n;
	}
	if (r->result_case != EVCHAIN__V1__RESPONSE__RESULT_SUBMIT || r->submit->n_receipts != p->n) {
		*fatal = fail("malformed submit response");
		return p->n;
	}
	for (size_t i = 0; i < p->n; i++) {
		const Evchain__V1__Receipt *rc = r->submit->receipts[i];
		rec_in *in = &recs[p->first + i];
		if (rc->status && rc->status->code != EVCHAIN__V1__STATUS__CODE__OK) {
			print_json(json_pack("{s:s, s:s, s:s}", "record_id", in->record_id, "error",
			    client_status_name((int)rc->status->code), "message",
			    rc->status->message ? rc->status->message : ""));
			refused++;
			continue;
		}
		if (client_verify_receipt(&prof, rc, in->bytes, in->len, in->sig, err, sizeof(err)) != 0) {
			print_json(json_pack("{s:s, s:s, s:s}", "record_id", in->record_id, "error",
			    "verification failed", "message", err));
			*fatal = EX_FAIL;
			refused++;
			continue;
		}
		print_json(json_pack("{s:s, s:I, s:s, s:I, s:I, s:b}", "record_id", in->record_id,
		    "index", (json_int_t)rc->index, "leaf_hash", hex(rc->leaf_hash.data, 32, hx),
		    "log_time_ms", (json_int_t)rc->log_time_ms, "tree_size", (json_int_t)rc->tree_size,
		    "duplicate", rc->duplicate));
	}
	return refused;
}

static int
cmd_submit(int argc, char **argv)
{
	const char *file = "-";
	uint64_t batch = 256, window = 4;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &batch) || batch < 1 || batch > 65536)
				return usage_err("--batch takes 1..65536");
		} else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &window) || window < 1 || window > 256)
				return usage_err("--window takes 1..256");
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			return usage_err("submit: unknown option %s", argv[i]);
		} else {
			file = argv[i];
		}
	}
	if (!prof.has_signing_key || prof.signing_key.type != EVC_KEY_ED25519)
		return fail("profile %s has no Ed25519 signing_key: only nodes and admins submit", prof.path);
	FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	if (in == NULL)
		return fail("%s: %s", file, strerror(errno));

	/* Read and sign everything first: nothing is sent if a line is bad. */
	rec_in *recs = NULL;
	size_t n = 0, cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t ll;
	unsigned lineno = 0;
	int ret = EX_OK;
	while ((ll = getline(&line, &lcap, in)) >= 0) {
		lineno++;
		size_t len = (size_t)ll;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		size_t sp = 0;
		while (sp < len && isspace((unsigned char)line[sp]))
			sp++;
		if (sp == len)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			rec_in *nr = realloc(recs, cap * sizeof(*recs));
			if (nr == NULL) {
				ret = fail("out of memory");
				goto out;
			}
			recs = nr;
		}
		memset(&recs[n], 0, sizeof(recs[n]));
		if (sign_line(line, len, lineno, &recs[n]) != 0) {
			ret = EX_FAIL;
			goto out;
		}
		n++;
	}
	if (n == 0) {
		ret = fail("no record in %s", strcmp(file, "-") == 0 ? "standard input" : file);
		goto out;
	}

	evc_client *c = connect_or_die();
	if (c == NULL) {
		ret = EX_FAIL;
		goto out;
	}
	size_t nb = (n + batch - 1) / batch, sent = 0, printed = 0, refused = 0;
	pending *pend = calloc(nb, sizeof(*pend));
	Response **resp = calloc(nb, sizeof(*resp));
	pb_arena *arenas = calloc(nb, sizeof(*arenas));
	int fatal = 0;
	if (pend == NULL || resp == NULL || arenas == NULL) {
		ret = fail("out of memory");
		goto out2;
	}
	/* Pipelined: up to `window` batches in flight; print in input order. */
	while (printed < nb && !fatal) {
		while (sent < nb && sent - printed < window) {
			size_t first = sent * batch;
			size_t cnt = n - first < batch ? n - first : batch;
			if (send_batch(c, recs, first, cnt, &pend[sent]) != 0) {
				fatal = fail("%s", client_error(c));
				break;
			}
			sent++;
		}
		if (fatal)
			break;
		Response *r;
		pb_arena a;
		pb_arena_init(&a, CLIENT_MAX_FRAME * 4u);
		if (client_recv(c, &a, &r) != 0) {
			pb_arena_free(&a);
			fatal = fail("%s", client_error(c));
			break;
		}
		size_t k;
		for (k = printed; k < sent && pend[k].id != r->id; k++)
			;
		if (k == sent) {
			pb_arena_free(&a);
			if (r->status && r->status->code != EVCHAIN__V1__STATUS__CODE__OK)
				fatal = status_fail(r);
			else
				fatal = fail("response to an unknown request %" PRIu64, r->id);
			break;
		}
		resp[k] = r;
		arenas[k] = a;
		pend[k].done = 1;
		while (printed < sent && pend[printed].done) {
			refused += print_receipts(resp[printed], recs, &pend[printed], &fatal);
			pb_arena_free(&arenas[printed]);
			printed++;
		}
		/* Receipts out as each batch is verified, not when a buffer
		 * fills: a client killed mid-run keeps what it acknowledged. */
		fflush(stdout);
	}
	fflush(stdout);
	if (fatal)
		ret = EX_FAIL;
	else if (refused) {
		fprintf(stderr, "%s: %zu of %zu records refused\n", progname, refused, n);
		ret = EX_FAIL;
	}
out2:
	for (size_t k = printed; k < nb && arenas; k++)
		pb_arena_free(&arenas[k]);
	free(pend);
	free(resp);
	free(arenas);
	client_close(c);
out:
	for (size_t i = 0; i < n; i++) {
		free(recs[i].bytes);
		free(recs[i].record_id);
	}
	free(recs);
	free(line);
	if (in != stdin)
		fclose(in);
	return ret;
}

/* ---- key records (admin) -------------------------------------------------- */

static int
submit_one(Record *r)
{
	uint8_t *bytes, sig[64];
	size_t len;
	char err[512], why[512], hx[65];
	pb_arena a;
	Response *resp;
	int ret;

	if (!prof.has_signing_key || prof.signing_key.type != EVC_KEY_ED25519)
		return fail("profile %s has no Ed25519 signing_key", prof.path);
	r->signer = prof.signing_key.name;
	if (record_validate(r, now_ms(), why, sizeof(why)) != 0)
		return fail("%s", why);
	if ((bytes = pb_pack(&r->base, &len)) == NULL)
		return fail("out of memory");
	record_sign(&prof.signing_key, bytes, len, sig);
	evc_client *c = connect_or_die();
	if (c == NULL) {
		free(bytes);
		return EX_FAIL;
	}
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__SubmitRequest sub = EVCHAIN__V1__SUBMIT_REQUEST__INIT;
	Evchain__V1__SignedRecord sr = EVCHAIN__V1__SIGNED_RECORD__INIT, *srp = &sr;
	sr.record.data = bytes;
	sr.record.len = len;
	sr.key_name = prof.signing_key.name;
	sr.signature.data = sig;
	sr.signature.len = 64;
	sub.records = &srp;
	sub.n_records = 1;
	q.op_case = EVCHAIN__V1__REQUEST__OP_SUBMIT;
	q.submit = &sub;
	pb_arena_init(&a, 16u << 20);
	if ((ret = call(c, &q, &a, &resp)) != EX_OK)
		goto out;
	if (resp->result_case != EVCHAIN__V1__RESPONSE__RESULT_SUBMIT || resp->submit->n_receipts != 1) {
		ret = fail("malformed response");
		goto out;
	}
	Evchain__V1__Receipt *rc = resp->submit->receipts[0];
	if (rc->status && rc->status->code != EVCHAIN__V1__STATUS__CODE__OK) {
		ret = fail("%s: %s", client_status_name((int)rc->status->code), rc->status->message);
		goto out;
	}
	if (client_verify_receipt(&prof, rc, bytes, len, sig, err, sizeof(err)) != 0) {
		ret = fail("receipt: %s", err);
		goto out;
	}
	print_json(json_pack("{s:s, s:I, s:s, s:I, s:I, s:b}", "record_id", r->record_id, "index",
	    (json_int_t)rc->index, "leaf_hash", hex(rc->leaf_hash.data, 32, hx), "log_time_ms",
	    (json_int_t)rc->log_time_ms, "tree_size", (json_int_t)rc->tree_size, "duplicate",
	    rc->duplicate));
	ret = EX_OK;
out:
	pb_arena_free(&a);
	client_close(c);
	free(bytes);
	return ret;
}

static int
cmd_node_key(int argc, char **argv, int revoke)
{
	const char *agency = NULL, *reason = NULL, *role = "node", *arg = NULL;
	evc_vkey vk;
	char rid[128], vks[KEYS_VKEY_MAX];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--agency") == 0 && i + 1 < argc)
			agency = argv[++i];
		else if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
			reason = argv[++i];
		else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
			role = argv[++i];
		else if (argv[i][0] == '-')
			return usage_err("%s: unknown option %s", argv[0], argv[i]);
		else if (arg == NULL)
			arg = argv[i];
		else
			return usage_err("%s: one argument only", argv[0]);
	}
	if (arg == NULL)
		return usage_err(revoke ? "revoke-node NAME" : "register-node PUBFILE --agency A");
	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__NodeKey nk = EVCHAIN__V1__NODE_KEY__INIT;
	r.created_ms = now_ms();
	r.body_case = EVCHAIN__V1__RECORD__BODY_NODE_KEY;
	r.node_key = &nk;
	nk.role = strcmp(role, "admin") == 0 ? EVCHAIN__V1__NODE_KEY__ROLE__ADMIN
	    : EVCHAIN__V1__NODE_KEY__ROLE__NODE;
	if (strcmp(role, "node") != 0 && strcmp(role, "admin") != 0)
		return usage_err("--role is node or admin");
	nk.reason = (char *)(reason ? reason : "");
	if (revoke) {
		nk.action = EVCHAIN__V1__NODE_KEY__ACTION__REVOKE;
		nk.key_name = (char *)arg;
		snprintf(rid, sizeof(rid), "revoke-%.64s-%" PRId64, arg, r.created_ms);
	} else {
		if (agency == NULL)
			return usage_err("register-node needs --agency");
		int rc = keys_read_public(arg, &vk);
		if (rc != 0)
			return fail("%s: %s", arg, evc_strerror(rc));
		if (vk.type != EVC_KEY_ED25519)
			return fail("%s is not an Ed25519 signing key", arg);
		if (keys_vkey_format(&vk, vks, sizeof(vks)) < 0)
			return fail("cannot format the key");
		nk.action = EVCHAIN__V1__NODE_KEY__ACTION__REGISTER;
		nk.key_name = vk.name;
		nk.public_key.data = vk.pub;
		nk.public_key.len = 32;
		nk.agency = (char *)agency;
		nk.valid_from_ms = r.created_ms;
		nk.verifier_key = vks;
		snprintf(rid, sizeof(rid), "register-%.64s-%" PRId64, vk.name, r.created_ms);
	}
	r.record_id = rid;
	return submit_one(&r);
}

/* ---- reads ------------------------------------------------------------------- */

static int
cmd_checkpoint(int argc, char **argv)
{
	uint64_t want = 0, wait_s = 10;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--witnesses") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &want) || want > CLIENT_MAX_WITNESSES)
				return usage_err("--witnesses takes 0..%d", CLIENT_MAX_WITNESSES);
		} else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &wait_s) || wait_s > 30)
				return usage_err("--wait takes 0..30 seconds");
		} else {
			return usage_err("checkpoint: unknown argument %s", argv[i]);
		}
	}
	if (want > prof.nwitnesses)
		return fail("the profile names %zu witnesses; %" PRIu64 " asked", prof.nwitnesses, want);
	evc_client *c = connect_or_die();
	if (c == NULL)
		return EX_FAIL;
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__CheckpointRequest cr = EVCHAIN__V1__CHECKPOINT_REQUEST__INIT;
	cr.min_cosignatures = (uint32_t)want;
	cr.wait_ms = want ? (uint32_t)(wait_s * 1000) : 0;
	q.op_case = EVCHAIN__V1__REQUEST__OP_CHECKPOINT;
	q.checkpoint = &cr;
	pb_arena a;
	Response *r;
	checkpoint cp;
	size_t cos = 0;
	char err[512];
	pb_arena_init(&a, 1 << 20);
	int ret = call(c, &q, &a, &r);
	if (ret == EX_OK) {
		if (r->result_case != EVCHAIN__V1__RESPONSE__RESULT_CHECKPOINT)
			ret = fail("malformed response");
		else if (client_verify_checkpoint(&prof, r->checkpoint->checkpoint.data,
		    r->checkpoint->checkpoint.len, &cp, &cos, err, sizeof(err)) != 0)
			ret = fail("%s", err);
		else if (cos < want)
			ret = fail("checkpoint of size %" PRIu64 " has %zu valid cosignatures, %" PRIu64
			    " required", cp.size, cos, want);
		else
			fwrite(r->checkpoint->checkpoint.data, 1, r->checkpoint->checkpoint.len, stdout);
	}
	pb_arena_free(&a);
	client_close(c);
	return ret;
}

/* Entry bytes → JSON with the record decoded. */
static json_t *
entry_json(const uint8_t *e, size_t len, uint64_t index)
{
	pb_arena a;
	pb_arena_init(&a, 4 * len + 65536);
	Evchain__V1__Entry *en = (Evchain__V1__Entry *)pb_unpack(&a, &evchain__v1__entry__descriptor,
	    e, len);
	json_t *j = json_object();
	char hx[129];
	json_object_set_new(j, "index", json_integer((json_int_t)index));
	if (en != NULL) {
		Record *r = record_decode(&a, en->record.data, en->record.len);
		json_object_set_new(j, "log_time_ms", json_integer(en->log_time_ms));
		json_object_set_new(j, "signer", json_string(en->key_name));
		json_object_set_new(j, "prev_leaf_hash", json_string(en->prev_leaf_hash.len == 32 ?
		    hex(en->prev_leaf_hash.data, 32, hx) : ""));
		if (r != NULL) {
			json_object_set_new(j, "kind", json_string(record_kind_name(record_kind(r))));
			json_object_set_new(j, "record", pbjson_encode(&r->base));
		}
		json_object_set_new(j, "signature", json_string(en->signature.len == 64 ?
		    hex(en->signature.data, 64, hx) : ""));
	}
	uint8_t leaf[32];
	merkle_leaf_hash(e, len, leaf);
	json_object_set_new(j, "leaf_hash", json_string(hex(leaf, 32, hx)));
	pb_arena_free(&a);
	return j;
}

static int
cmd_get(int argc, char **argv)
{
	int raw = 0;
	const char *arg = NULL;
	uint64_t index;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--raw") == 0)
			raw = 1;
		else if (arg == NULL)
			arg = argv[i];
		else
			return usage_err("get INDEX [--raw]");
	}
	if (arg == NULL || parse_u64(arg, &index))
		return usage_err("get INDEX [--raw]");
	evc_client *c = connect_or_die();
	if (c == NULL)
		return EX_FAIL;
	Request q1 = EVCHAIN__V1__REQUEST__INIT, q2 = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__EntriesRequest er = EVCHAIN__V1__ENTRIES_REQUEST__INIT;
	Evchain__V1__InclusionProofRequest ir = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__INIT;
	er.start = index;
	er.count = 1;
	q1.op_case = EVCHAIN__V1__REQUEST__OP_ENTRIES;
	q1.entries = &er;
	ir.leaf_case = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__LEAF_INDEX;
	ir.index = index;
	q2.op_case = EVCHAIN__V1__REQUEST__OP_INCLUSION_PROOF;
	q2.inclusion_proof = &ir;
	pb_arena a;
	Response *r1, *r2;
	char err[512];
	checkpoint cp;
	int ret;
	pb_arena_init(&a, 4u << 20);
	if ((ret = call(c, &q1, &a, &r1)) != EX_OK || (ret = call(c, &q2, &a, &r2)) != EX_OK)
		goto out;
	if (r1->result_case != EVCHAIN__V1__RESPONSE__RESULT_ENTRIES || r1->entries->n_entries != 1 ||
	    r2->result_case != EVCHAIN__V1__RESPONSE__RESULT_INCLUSION_PROOF) {
		ret = fail("malformed response");
		goto out;
	}
	ProtobufCBinaryData *e = &r1->entries->entries[0];
	Evchain__V1__InclusionProofResponse *ip = r2->inclusion_proof;
	if (client_verify_checkpoint(&prof, ip->checkpoint.data, ip->checkpoint.len, &cp, NULL, err,
	    sizeof(err)) != 0 || cp.size != ip->tree_size ||
	    client_verify_inclusion(&cp, index, e->data, e->len, ip->proof, ip->n_proof, err,
	    sizeof(err)) != 0) {
		ret = fail("entry %" PRIu64 " does not verify: %s", index, err);
		goto out;
	}
	if (raw) {
		if (isatty(1)) {
			ret = fail("--raw writes binary; redirect standard output to a file");
			goto out;
		}
		fwrite(e->data, 1, e->len, stdout);
	} else {
		json_t *j = entry_json(e->data, e->len, index);
		json_object_set_new(j, "verified_in_tree_size", json_integer((json_int_t)cp.size));
		print_json(j);
	}
out:
	pb_arena_free(&a);
	client_close(c);
	return ret;
}

static int
cmd_prove(int argc, char **argv)
{
	uint64_t index, size = 0;
	const char *arg = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &size) || size == 0)
				return usage_err("--size takes a tree size");
		} else if (arg == NULL) {
			arg = argv[i];
		} else {
			return usage_err("prove INDEX [--size N]");
		}
	}
	if (arg == NULL || parse_u64(arg, &index))
		return usage_err("prove INDEX [--size N]");
	evc_client *c = connect_or_die();
	if (c == NULL)
		return EX_FAIL;
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__InclusionProofRequest ir = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__INIT;
	ir.leaf_case = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__LEAF_INDEX;
	ir.index = index;
	ir.tree_size = size;
	q.op_case = EVCHAIN__V1__REQUEST__OP_INCLUSION_PROOF;
	q.inclusion_proof = &ir;
	pb_arena a;
	Response *r;
	char err[512];
	checkpoint cp;
	uint8_t hashes[EVC_MAX_PROOF][32];
	int ret;
	pb_arena_init(&a, 4u << 20);
	if ((ret = call(c, &q, &a, &r)) != EX_OK)
		goto out;
	Evchain__V1__InclusionProofResponse *ip = r->inclusion_proof;
	if (r->result_case != EVCHAIN__V1__RESPONSE__RESULT_INCLUSION_PROOF || ip->leaf_hash.len != 32 ||
	    ip->n_proof > EVC_MAX_PROOF) {
		ret = fail("malformed response");
		goto out;
	}
	if (ip->checkpoint.len == 0) {
		ret = fail("the log signed no checkpoint of size %" PRIu64 "; use a size it signed",
		    ip->tree_size);
		goto out;
	}
	if (client_verify_checkpoint(&prof, ip->checkpoint.data, ip->checkpoint.len, &cp, NULL, err,
	    sizeof(err)) != 0 || cp.size != ip->tree_size) {
		ret = fail("checkpoint: %s", err);
		goto out;
	}
	for (size_t i = 0; i < ip->n_proof; i++) {
		if (ip->proof[i].len != 32) {
			ret = fail("malformed proof");
			goto out;
		}
		memcpy(hashes[i], ip->proof[i].data, 32);
	}
	if (merkle_verify_inclusion(index, cp.size, ip->leaf_hash.data, (const uint8_t(*)[32])hashes,
	    ip->n_proof, cp.root) != 0) {
		ret = fail("inclusion proof of %" PRIu64 " does not verify", index);
		goto out;
	}
	char *txt;
	size_t tl;
	tlog_proof *tp = malloc(sizeof(*tp));
	if (tp == NULL || tlog_proof_format(index, NULL, 0, (const uint8_t(*)[32])hashes, ip->n_proof,
	    (const char *)ip->checkpoint.data, ip->checkpoint.len, &txt, &tl) != 0) {
		free(tp);
		ret = fail("cannot format the proof");
		goto out;
	}
	/* Checked before printing: it must parse back to the same proof. */
	if (tlog_proof_parse(txt, tl, tp) != 0 || tp->index != index || tp->nhashes != ip->n_proof) {
		ret = fail("formatted proof does not parse back");
	} else {
		fwrite(txt, 1, tl, stdout);
	}
	free(tp);
	free(txt);
out:
	pb_arena_free(&a);
	client_close(c);
	return ret;
}

/* The signed checkpoint of a size, via a consistency request from 0. */
static int
checkpoint_at(evc_client *c, uint64_t size, pb_arena *a, checkpoint *cp)
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__ConsistencyProofRequest cr = EVCHAIN__V1__CONSISTENCY_PROOF_REQUEST__INIT;
	Response *r;
	char err[512];
	cr.old_size = 0;
	cr.new_size = size;
	q.op_case = EVCHAIN__V1__REQUEST__OP_CONSISTENCY_PROOF;
	q.consistency_proof = &cr;
	int ret = call(c, &q, a, &r);
	if (ret != EX_OK)
		return ret;
	if (r->result_case != EVCHAIN__V1__RESPONSE__RESULT_CONSISTENCY_PROOF ||
	    r->consistency_proof->checkpoint.len == 0)
		return fail("the log signed no checkpoint of size %" PRIu64, size);
	if (client_verify_checkpoint(&prof, r->consistency_proof->checkpoint.data,
	    r->consistency_proof->checkpoint.len, cp, NULL, err, sizeof(err)) != 0)
		return fail("checkpoint of size %" PRIu64 ": %s", size, err);
	if (cp->size != size)
		return fail("asked for size %" PRIu64 ", got %" PRIu64, size, cp->size);
	return EX_OK;
}

static int
cmd_consistency(int argc, char **argv)
{
	uint64_t m, n;
	if (argc != 3 || parse_u64(argv[1], &m) || parse_u64(argv[2], &n) || m == 0 || m > n)
		return usage_err("consistency OLD NEW (0 < OLD <= NEW)");
	evc_client *c = connect_or_die();
	if (c == NULL)
		return EX_FAIL;
	pb_arena a;
	checkpoint oldcp, newcp;
	Response *r;
	uint8_t hashes[2 * EVC_MAX_PROOF][32];
	int ret;
	pb_arena_init(&a, 4u << 20);
	if ((ret = checkpoint_at(c, m, &a, &oldcp)) != EX_OK ||
	    (ret = checkpoint_at(c, n, &a, &newcp)) != EX_OK)
		goto out;
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__ConsistencyProofRequest cr = EVCHAIN__V1__CONSISTENCY_PROOF_REQUEST__INIT;
	cr.old_size = m;
	cr.new_size = n;
	q.op_case = EVCHAIN__V1__REQUEST__OP_CONSISTENCY_PROOF;
	q.consistency_proof = &cr;
	if ((ret = call(c, &q, &a, &r)) != EX_OK)
		goto out;
	Evchain__V1__ConsistencyProofResponse *p = r->consistency_proof;
	if (r->result_case != EVCHAIN__V1__RESPONSE__RESULT_CONSISTENCY_PROOF ||
	    p->n_proof > 2 * EVC_MAX_PROOF) {
		ret = fail("malformed response");
		goto out;
	}
	for (size_t i = 0; i < p->n_proof; i++) {
		if (p->proof[i].len != 32) {
			ret = fail("malformed proof");
			goto out;
		}
		memcpy(hashes[i], p->proof[i].data, 32);
	}
	if (merkle_verify_consistency(m, n, oldcp.root, newcp.root, (const uint8_t(*)[32])hashes,
	    p->n_proof) != 0) {
		ret = fail("INCONSISTENT: the checkpoint of size %" PRIu64 " does not extend the one of "
		    "size %" PRIu64, n, m);
		goto out;
	}
	char r1[64], r2[64];
	b64_encode(oldcp.root, 32, r1, sizeof(r1));
	b64_encode(newcp.root, 32, r2, sizeof(r2));
	printf("consistent: size %" PRIu64 " (root %s) extends size %" PRIu64 " (root %s), %zu proof "
	    "hashes, both checkpoints signed by %s\n", n, r2, m, r1, p->n_proof, prof.log_key.name);
out:
	pb_arena_free(&a);
	client_close(c);
	return ret;
}

static int
cmd_query(int argc, char **argv)
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__QueryRequest qr = EVCHAIN__V1__QUERY_REQUEST__INIT;
	uint8_t sha[32];
	int all = 0;
	uint64_t limit = 0;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(o, "--all") == 0) {
			all = 1;
			continue;
		}
		if (v == NULL)
			return usage_err("query: %s needs a value", o);
		i++;
		if (strcmp(o, "--company") == 0) {
			qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_COMPANY_USCC;
			qr.company_uscc = (char *)v;
		} else if (strcmp(o, "--cert") == 0) {
			qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_CERTIFICATE_NO;
			qr.certificate_no = (char *)v;
		} else if (strcmp(o, "--inspection") == 0) {
			qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_INSPECTION_ID;
			qr.inspection_id = (char *)v;
		} else if (strcmp(o, "--node") == 0) {
			qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_NODE;
			qr.node = (char *)v;
		} else if (strcmp(o, "--kind") == 0) {
			qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_KIND;
			qr.kind = record_kind_from_name(v);
			if (qr.kind == 0)
				return usage_err("query: unknown kind %s", v);
		} else if (strcmp(o, "--evidence") == 0) {
			if (hash_unhex(v, strlen(v), sha, 32) != 0)
				return usage_err("--evidence takes 64 hex digits (a SHA-256)");
			qr.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_EVIDENCE_SHA256;
			qr.evidence_sha256.data = sha;
			qr.evidence_sha256.len = 32;
		} else if (strcmp(o, "--from") == 0) {
			if (client_parse_time(v, 0, &qr.from_ms, NULL))
				return usage_err("--from: bad time %s", v);
		} else if (strcmp(o, "--to") == 0) {
			if (client_parse_time(v, 0, &qr.to_ms, NULL))
				return usage_err("--to: bad time %s", v);
		} else if (strcmp(o, "--limit") == 0) {
			if (parse_u64(v, &limit) || limit == 0 || limit > 100000)
				return usage_err("--limit takes 1..100000");
		} else {
			return usage_err("query: unknown option %s", o);
		}
	}
	if (qr.key_case == EVCHAIN__V1__QUERY_REQUEST__KEY__NOT_SET && qr.from_ms == 0 && qr.to_ms == 0)
		return usage_err("query needs a key or a time range");
	qr.limit = (uint32_t)limit;
	qr.with_proofs = 1;
	q.op_case = EVCHAIN__V1__REQUEST__OP_QUERY;
	q.query = &qr;
	evc_client *c = connect_or_die();
	if (c == NULL)
		return EX_FAIL;
	int ret = EX_OK;
	uint64_t total = 0;
	for (;;) {
		pb_arena a;
		Response *r;
		checkpoint cp;
		char err[512];
		pb_arena_init(&a, CLIENT_MAX_FRAME * 4u);
		if ((ret = call(c, &q, &a, &r)) != EX_OK) {
			pb_arena_free(&a);
			break;
		}
		Evchain__V1__QueryResponse *res = r->query;
		if (r->result_case != EVCHAIN__V1__RESPONSE__RESULT_QUERY ||
		    res->n_entries != res->n_indices ||
		    (res->n_entries > 0 && (res->n_proofs != res->n_entries ||
		    client_verify_checkpoint(&prof, res->checkpoint.data, res->checkpoint.len, &cp, NULL,
		    err, sizeof(err)) != 0))) {
			ret = fail("query response does not verify");
			pb_arena_free(&a);
			break;
		}
		for (size_t i = 0; i < res->n_entries; i++) {
			if (res->proofs[i]->index != res->indices[i] ||
			    client_verify_inclusion(&cp, res->indices[i], res->entries[i].data,
			    res->entries[i].len, res->proofs[i]->hashes, res->proofs[i]->n_hashes, err,
			    sizeof(err)) != 0) {
				ret = fail("entry %" PRIu64 ": %s", res->indices[i], err);
				break;
			}
			print_json(entry_json(res->entries[i].data, res->entries[i].len, res->indices[i]));
			total++;
		}
		uint64_t next = res->next_page_token;
		pb_arena_free(&a);
		if (ret != EX_OK || !all || next == 0) {
			if (ret == EX_OK && next != 0)
				fprintf(stderr, "%s: more results: add --all\n", progname);
			break;
		}
		qr.page_token = next;
	}
	client_close(c);
	if (ret == EX_OK && isatty(2))
		fprintf(stderr, "%" PRIu64 " entries, each verified\n", total);
	return ret;
}

static int
cmd_status(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return usage_err("status takes no argument");
	evc_client *c = connect_or_die();
	if (c == NULL)
		return EX_FAIL;
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__StatusRequest sq = EVCHAIN__V1__STATUS_REQUEST__INIT;
	q.op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
	q.status = &sq;
	pb_arena a;
	Response *r;
	pb_arena_init(&a, 1 << 20);
	int ret = call(c, &q, &a, &r);
	if (ret == EX_OK && r->result_case == EVCHAIN__V1__RESPONSE__RESULT_STATUS_INFO) {
		Evchain__V1__StatusResponse *s = r->status_info;
		checkpoint cp;
		char err[512];
		json_t *j = pbjson_encode(&s->base);
		json_object_del(j, "checkpoint");
		if (s->checkpoint.len > 0) {
			if (client_verify_checkpoint(&prof, s->checkpoint.data, s->checkpoint.len, &cp, NULL,
			    err, sizeof(err)) != 0)
				ret = fail("status checkpoint: %s", err);
			json_object_set_new(j, "checkpoint_verified", json_boolean(ret == EX_OK));
		}
		print_json(j);
	}
	pb_arena_free(&a);
	client_close(c);
	return ret;
}

static int
cmd_example(int argc, char **argv)
{
	if (argc != 2) {
		size_t n;
		const char *const *k = example_kinds(&n);
		fprintf(stderr, "%s: example KIND, one of:", progname);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %s", k[i]);
		fputc('\n', stderr);
		return EX_USAGE;
	}
	const char *j = example_record_json(argv[1]);
	if (j == NULL)
		return usage_err("no example of kind \"%s\"", argv[1]);
	puts(j);
	return EX_OK;
}

/* ---- media, evidence, export --------------------------------------------- */

typedef struct bar {
	const char *name;
	int tty;
	double t0;
	uint64_t last;
} bar;

static double
mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A progress bar on a terminal for files over 64 MiB. */
static void
bar_cb(void *ctx, uint64_t done, uint64_t total)
{
	bar *b = ctx;
	if (!b->tty || total < (64u << 20) || (done - b->last < (32u << 20) && done < total))
		return;
	b->last = done;
	double el = mono_s() - b->t0;
	int w = (int)(30.0 * (double)done / (double)total);
	fprintf(stderr, "\r%-24.24s [%.*s%*s] %3.0f%% %6.0f MB/s", b->name, w,
	    "##############################", 30 - w, "", 100.0 * (double)done / (double)total,
	    el > 0 ? (double)done / el / 1e6 : 0.0);
	if (done >= total)
		fputc('\n', stderr);
}

static int
digest_file(const char *path, int sm3, media_digest *d)
{
	bar b = { path, isatty(2), mono_s(), 0 };
	const char *base = strrchr(path, '/');
	b.name = base ? base + 1 : path;
	if (sm3 && !media_sm3_available())
		return fail("SM3 is not available in this OpenSSL");
	int rc = media_digest_file(path, MEDIA_SHA256 | (sm3 ? MEDIA_SM3 : 0), bar_cb, &b, d);
	if (rc != 0)
		return fail("%s: %s", path, rc == EVC_EIO ? strerror(errno) : evc_strerror(rc));
	return EX_OK;
}

static int
cmd_hash(int argc, char **argv)
{
	int sm3 = 0, ret = EX_OK, nfiles = 0;
	char hx[65], hx2[65];

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--sm3") == 0)
			sm3 = 1;
	for (int i = 1; i < argc; i++) {
		media_digest d = { 0 };
		if (strcmp(argv[i], "--sm3") == 0)
			continue;
		nfiles++;
		if (digest_file(argv[i], sm3, &d) != EX_OK) {
			ret = EX_FAIL;
			continue;
		}
		if (sm3)
			printf("sha256:%s  sm3:%s  %" PRIu64 "  %s\n", hex(d.sha256, 32, hx),
			    hex(d.sm3, 32, hx2), d.size, argv[i]);
		else
			printf("%s  %" PRIu64 "  %s\n", hex(d.sha256, 32, hx), d.size, argv[i]);
	}
	if (nfiles == 0)
		return usage_err("hash FILE... [--sm3]");
	return ret;
}

static int
cmd_evidence(int argc, char **argv)
{
	const char *insp = NULL, *media = NULL, *kind = NULL, *proves = NULL, *recorder = NULL,
	    *cert = NULL, *place = NULL, *eid = NULL, *company = NULL, *mtype = NULL;
	int64_t start = 0, end = 0;
	double lat = 0, lon = 0;
	int sm3 = 0, has_geo = 0;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(o, "--sm3") == 0) {
			sm3 = 1;
			continue;
		}
		if (v == NULL)
			return usage_err("evidence: %s needs a value", o);
		i++;
		if (strcmp(o, "--inspection") == 0) insp = v;
		else if (strcmp(o, "--media") == 0) media = v;
		else if (strcmp(o, "--kind") == 0) kind = v;
		else if (strcmp(o, "--proves") == 0) proves = v;
		else if (strcmp(o, "--recorder") == 0) recorder = v;
		else if (strcmp(o, "--recorder-cert") == 0) cert = v;
		else if (strcmp(o, "--place") == 0) place = v;
		else if (strcmp(o, "--evidence-id") == 0) eid = v;
		else if (strcmp(o, "--company") == 0) company = v;
		else if (strcmp(o, "--media-type") == 0) mtype = v;
		else if (strcmp(o, "--start") == 0) {
			if (client_parse_time(v, 0, &start, NULL))
				return usage_err("--start: bad time %s", v);
		} else if (strcmp(o, "--end") == 0) {
			if (client_parse_time(v, 0, &end, NULL))
				return usage_err("--end: bad time %s", v);
		} else if (strcmp(o, "--lat") == 0 || strcmp(o, "--lon") == 0) {
			char *e;
			double x = strtod(v, &e);
			if (*e != '\0')
				return usage_err("%s takes decimal degrees", o);
			if (o[3] == 'a')
				lat = x;
			else
				lon = x;
			has_geo = 1;
		} else
			return usage_err("evidence: unknown option %s", o);
	}
	if (!insp || !media || !kind || !proves || !recorder || !cert || !place)
		return usage_err("evidence needs --inspection --media --kind --proves --recorder "
		    "--recorder-cert --place");
	char kn[64];
	size_t kl = strlen(kind);
	if (kl >= sizeof(kn))
		return usage_err("--kind: unknown media kind %s", kind);
	for (size_t i = 0; i <= kl; i++)
		kn[i] = (char)toupper((unsigned char)kind[i]);
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(
	    &evchain__v1__evidence__media_kind__descriptor, kn);
	if (ev == NULL || ev->value == 0)
		return usage_err("--kind: one of PHOTO, AUDIO, VIDEO, DOCUMENT, FULL_PROCESS_RECORDING");

	media_digest d = { 0 };
	if (digest_file(media, sm3, &d) != EX_OK)
		return EX_FAIL;
	if (end == 0) {
		struct stat st;
		if (stat(media, &st) == 0)
			end = (int64_t)st.st_mtime * 1000;
	}
	if (start == 0)
		start = end;
	char idbuf[RECORD_MAX_ID + 1], hx[65], rid[RECORD_MAX_ID + 1];
	if (eid == NULL) {
		snprintf(idbuf, sizeof(idbuf), "%.80s-%.16s", insp, hex(d.sha256, 32, hx));
		eid = idbuf;
	}
	snprintf(rid, sizeof(rid), "%.120s", eid);
	const char *fname = strrchr(media, '/');
	fname = fname ? fname + 1 : media;

	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__Evidence e = EVCHAIN__V1__EVIDENCE__INIT;
	Evchain__V1__Location loc = EVCHAIN__V1__LOCATION__INIT;
	Evchain__V1__Officer off = EVCHAIN__V1__OFFICER__INIT;
	r.record_id = rid;
	r.created_ms = now_ms();
	r.body_case = EVCHAIN__V1__RECORD__BODY_EVIDENCE;
	r.evidence = &e;
	e.inspection_id = (char *)insp;
	e.evidence_id = (char *)eid;
	e.media_kind = (Evchain__V1__Evidence__MediaKind)ev->value;
	e.sha256.data = d.sha256;
	e.sha256.len = 32;
	if (d.has_sm3) {
		e.sm3.data = d.sm3;
		e.sm3.len = 32;
	}
	e.size = d.size;
	e.capture_start_ms = start;
	e.capture_end_ms = end;
	loc.address = (char *)place;
	if (has_geo) {
		loc.latitude = lat;
		loc.longitude = lon;
	}
	e.place = &loc;
	off.name = (char *)recorder;
	off.certificate_no = (char *)cert;
	e.recorder = &off;
	e.proves = (char *)proves;
	e.file_name = (char *)fname;
	e.media_type = (char *)(mtype ? mtype : "");
	e.company_uscc = (char *)(company ? company : "");
	return submit_one(&r);
}

static int
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return fail("%s: %s", path, strerror(errno));
	if (fwrite(data, 1, len, f) != len || fclose(f) != 0)
		return fail("%s: write failed", path);
	return EX_OK;
}

static int
cmd_export(int argc, char **argv)
{
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__ExportBundleRequest xr = EVCHAIN__V1__EXPORT_BUNDLE_REQUEST__INIT;
	const char *out = NULL, *tdir = NULL;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			return usage_err("export: %s needs a value", o);
		i++;
		if (strcmp(o, "--inspection") == 0) {
			xr.subject_case = EVCHAIN__V1__EXPORT_BUNDLE_REQUEST__SUBJECT_INSPECTION_ID;
			xr.inspection_id = (char *)v;
		} else if (strcmp(o, "--company") == 0) {
			xr.subject_case = EVCHAIN__V1__EXPORT_BUNDLE_REQUEST__SUBJECT_COMPANY_USCC;
			xr.company_uscc = (char *)v;
		} else if (strcmp(o, "--from") == 0) {
			if (client_parse_time(v, 0, &xr.from_ms, NULL))
				return usage_err("--from: bad time %s", v);
		} else if (strcmp(o, "--to") == 0) {
			if (client_parse_time(v, 0, &xr.to_ms, NULL))
				return usage_err("--to: bad time %s", v);
		} else if (strcmp(o, "-o") == 0 || strcmp(o, "--out") == 0) {
			out = v;
		} else if (strcmp(o, "--tlog-proof") == 0) {
			tdir = v;
		} else if (strcmp(o, "--witnesses") == 0) {
			uint64_t k;
			if (parse_u64(v, &k) || k > CLIENT_MAX_WITNESSES)
				return usage_err("--witnesses takes 0..%d", CLIENT_MAX_WITNESSES);
			xr.min_cosignatures = (uint32_t)k;
		} else {
			return usage_err("export: unknown option %s", o);
		}
	}
	if (xr.subject_case == EVCHAIN__V1__EXPORT_BUNDLE_REQUEST__SUBJECT__NOT_SET || out == NULL)
		return usage_err("export (--inspection ID | --company USCC) -o FILE");
	q.op_case = EVCHAIN__V1__REQUEST__OP_EXPORT_BUNDLE;
	q.export_bundle = &xr;
	evc_client *c = connect_or_die();
	if (c == NULL)
		return EX_FAIL;
	pb_arena a;
	Response *r;
	bundle_report *rep = NULL;
	uint8_t *bytes = NULL;
	size_t len = 0;
	char err[512];
	pb_arena_init(&a, CLIENT_MAX_FRAME * 4u);
	int ret = call(c, &q, &a, &r);
	client_close(c);
	if (ret != EX_OK)
		goto out;
	if (r->result_case != EVCHAIN__V1__RESPONSE__RESULT_EXPORT_BUNDLE ||
	    r->export_bundle->bundle == NULL) {
		ret = fail("malformed response");
		goto out;
	}
	Evchain__V1__Bundle *b = r->export_bundle->bundle;
	if ((bytes = pb_pack(&b->base, &len)) == NULL) {
		ret = fail("out of memory");
		goto out;
	}
	/* Verified before it is written: the log key and the profile's witnesses
	 * (no quorum asked; the court's own policy decides that later). */
	policy pol;
	policy_init(&pol);
	if (policy_add_log(&pol, &prof.log_key, err, sizeof(err)) != 0) {
		ret = fail("%s", err);
		goto out;
	}
	for (size_t i = 0; i < prof.nwitnesses; i++)
		policy_add_witness(&pol, prof.witnesses[i].name, &prof.witnesses[i], err, sizeof(err));
	policy_set_quorum(&pol, POLICY_QUORUM_NONE, err, sizeof(err));
	bundle_verify_opts vo = { 0 };
	vo.policy = &pol;
	bundle_verify(bytes, len, &vo, &rep);
	if (rep == NULL) {
		ret = fail("out of memory");
		goto out;
	}
	if (rep->checkpoint != BUNDLE_PASS) {
		ret = fail("the bundle's checkpoint does not verify with %s", prof.log_key.name);
		goto out;
	}
	for (size_t i = 0; i < rep->nfailures; i++) {
		/* The story is the court's to judge; everything else must hold. */
		if (strcmp(rep->failures[i].check, "story") != 0) {
			ret = fail("the bundle does not verify: %s", rep->failures[i].msg);
			goto out;
		}
	}
	if ((ret = write_file(out, bytes, len)) != EX_OK)
		goto out;
	if (tdir != NULL) {
		if (mkdir(tdir, 0755) != 0 && errno != EEXIST) {
			ret = fail("%s: %s", tdir, strerror(errno));
			goto out;
		}
		for (size_t i = 0; i < b->n_entries; i++) {
			char path[2048], *txt;
			size_t tl;
			if (bundle_tlog_proof(b, i, &txt, &tl) != 0) {
				ret = fail("cannot format the tlog-proof of entry %" PRIu64, b->entries[i]->index);
				goto out;
			}
			snprintf(path, sizeof(path), "%s/%" PRIu64 ".tlog-proof", tdir, b->entries[i]->index);
			ret = write_file(path, txt, tl);
			free(txt);
			snprintf(path, sizeof(path), "%s/%" PRIu64 ".entry", tdir, b->entries[i]->index);
			if (ret == EX_OK)
				ret = write_file(path, b->entries[i]->entry.data, b->entries[i]->entry.len);
			if (ret != EX_OK)
				goto out;
		}
	}
	printf("bundle %s: %zu entries and %zu key entries about \"%s\", proved to checkpoint %s "
	    "size %" PRIu64 " (%zu cosignatures), %zu bytes, verified\n", out, b->n_entries,
	    b->n_key_entries, b->subject, b->origin, rep->tree_size, rep->ncosigners, len);
	if (tdir != NULL)
		printf("entries and C2SP tlog-proofs in %s/\n", tdir);
out:
	bundle_report_free(rep);
	free(bytes);
	pb_arena_free(&a);
	return ret;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "server", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pfile = NULL;
	char err[1024];
	int c;

	/* Options before the command only; the command parses the rest. */
	while ((c = getopt_long(argc, argv, "+c:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': pfile = optarg; break;
		case 's': server_override = optarg; break;
		case 'h': usage(stdout); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	int cargc = argc - optind;
	char **cargv = argv + optind;
	const char *cmd = cargv[0];
	if (strcmp(cmd, "example") == 0)
		return cmd_example(cargc, cargv);
	if (strcmp(cmd, "hash") == 0)
		return cmd_hash(cargc, cargv);
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return EX_OK;
	}
	if (pfile == NULL)
		return usage_err("-c PROFILE is required");
	if (sodium_init() < 0)
		return fail("libsodium failed to initialise");
	if (client_profile_load(pfile, &prof, err, sizeof(err)) != 0)
		return fail("%s", err);
	int ret;
	if (strcmp(cmd, "submit") == 0)
		ret = cmd_submit(cargc, cargv);
	else if (strcmp(cmd, "register-node") == 0)
		ret = cmd_node_key(cargc, cargv, 0);
	else if (strcmp(cmd, "revoke-node") == 0)
		ret = cmd_node_key(cargc, cargv, 1);
	else if (strcmp(cmd, "checkpoint") == 0)
		ret = cmd_checkpoint(cargc, cargv);
	else if (strcmp(cmd, "get") == 0)
		ret = cmd_get(cargc, cargv);
	else if (strcmp(cmd, "prove") == 0)
		ret = cmd_prove(cargc, cargv);
	else if (strcmp(cmd, "consistency") == 0)
		ret = cmd_consistency(cargc, cargv);
	else if (strcmp(cmd, "query") == 0)
		ret = cmd_query(cargc, cargv);
	else if (strcmp(cmd, "status") == 0)
		ret = cmd_status(cargc, cargv);
	else if (strcmp(cmd, "evidence") == 0)
		ret = cmd_evidence(cargc, cargv);
	else if (strcmp(cmd, "export") == 0)
		ret = cmd_export(cargc, cargv);
	else if (strcmp(cmd, "audit") == 0) {
		if (server_override != NULL)
			snprintf(prof.server, sizeof(prof.server), "%s", server_override);
		ret = cli_audit(cargc, cargv, &prof);
	}
	else if (strcmp(cmd, "monitor") == 0) {
		if (server_override != NULL)
			snprintf(prof.server, sizeof(prof.server), "%s", server_override);
		ret = cli_monitor(cargc, cargv, &prof);
	}
	else
		ret = usage_err("unknown command \"%s\"", cmd);
	client_profile_wipe(&prof);
	return ret;
}
