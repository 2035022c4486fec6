/*
 * test_crash.c — the crash campaign: the real evchaind (sync = yes) under a
 * continuous signed load is killed with SIGKILL at a random moment, CYCLES
 * times (default 5; `make crash-test`: 50), and restarted on the same data.
 * In every cycle, at random moments of their own, a witness (evchain-witness
 * following the log) and a client (`evchain submit` of a JSON Lines file, in
 * pipelined batches) are killed with SIGKILL too.
 *
 * The load: two node connections pipelining submits of 1..8 records (scan-ins
 * and evidence, 4 requests in flight), and an admin registering node keys
 * (key records are committed alone). A record is acknowledged when its
 * receipt verifies (client_verify_receipt: entry bytes, leaf, inclusion proof,
 * checkpoint signed by the log key).
 *
 * After each kill:
 *   - `evchain-verify ledger` passes on the data as the crash left it;
 *   - evchaind starts on it; its checkpoint is consistent (RFC 6962 proof)
 *     with the one verified after the last cycle;
 *   - every entry appended since is one of ours, none twice; every
 *     acknowledged record is there with the index and leaf hash of its
 *     receipt (none lost); records sent but unacknowledged may be there
 *     (committed while their answer was lost);
 *   - every unacknowledged record is submitted again: a record that was
 *     committed is answered duplicate with its index, the others are
 *     appended (never a conflict, never a second entry);
 *   - the client's printed receipts are in the log; run again on the same
 *     file it completes, each earlier record a duplicate at its index;
 *   - the witness, run once, cosigns the new head (no rollback, no fork) and
 *     has no alarm.
 * At the end every acknowledged record is checked once more over the whole
 * log, and the final ledger is audited.
 *
 *   CYCLES       kill cycles (default 5)
 *   CRASH_MAX_MS the latest moment of a kill after the load starts (default
 *                800; the earliest is 50)
 *   CRASH_SEED   the seed of the random moments (default: time; printed)
 *   EVC_VERBOSE  one line per cycle
 */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "srvfix.h"

/* ---- what was sent and what was acknowledged ------------------------------ */

enum { R_SENT = 0, R_ACKED = 1 };

typedef struct rec {
	char id[64];
	int state;           /* R_SENT: no answer yet; R_ACKED: a verified receipt */
	int seen;            /* found in the log (index, leaf below) */
	int cli;             /* submitted by the `evchain submit` client */
	int admin;           /* signed by the admin (a key record) */
	uint64_t index;
	uint8_t leaf[32];
	fx_signed s;         /* the signed record, kept until it is in the log */
} rec;

#define MAXREC (1u << 20)
static rec **recs;       /* hash table by id, open addressing */
static size_t nrecs;
static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;

static uint64_t
id_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

/* Find (or with add, create) the record with this id. Under rec_mu. */
static rec *
rec_get(const char *id, int add)
{
	size_t k = (size_t)id_hash(id) & (MAXREC - 1);
	while (recs[k] != NULL) {
		if (strcmp(recs[k]->id, id) == 0)
			return recs[k];
		k = (k + 1) & (MAXREC - 1);
	}
	if (!add)
		return NULL;
	REQUIRE(nrecs < MAXREC / 2);
	rec *r = calloc(1, sizeof *r);
	REQUIRE(r != NULL && strlen(id) < sizeof r->id);
	strcpy(r->id, id);
	recs[k] = r;
	nrecs++;
	return r;
}

/* ---- figures --------------------------------------------------------------- */

static struct {
	unsigned cycles, cli_killed, cli_finished, cli_cut, wit_killed;
	uint64_t acked, lost, unacked_committed, resubmitted, strangers, twice, mismatched;
	uint64_t cli_acked, load_errors;
} fig;

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- the load --------------------------------------------------------------- */

static atomic_int load_stop;
static char load_err[512];

typedef struct pend {
	int64_t id;
	rec *r[8];
	size_t n;
} pend;

typedef struct loader {
	pthread_t th;
	int no;
	int admin;
	unsigned cycle;
	uint64_t sent, acked;
} loader;

static void
load_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
load_error(const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&rec_mu);
	if (load_err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(load_err, sizeof load_err, fmt, ap);
		va_end(ap);
	}
	fig.load_errors++;
	pthread_mutex_unlock(&rec_mu);
}

/* Make record `seq` of this loader and register it as sent. */
static rec *
make_rec(loader *L, uint64_t seq)
{
	char id[64];
	fx_signed s;
	if (L->admin) {
		evc_skey sk;
		evc_vkey vk;
		snprintf(id, sizeof id, "crash-c%u-admin-%05" PRIu64, L->cycle, seq);
		REQUIRE(keys_generate(id, EVC_KEY_ED25519, &sk, &vk) == 0);
		keys_skey_wipe(&sk);
		REQUIRE(fx_node_key(id, &p_admin.signing_key, &vk, EVCHAIN__V1__NODE_KEY__ROLE__NODE,
		    EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, fx_now_ms() - 1000, &s) == 0);
	} else {
		snprintf(id, sizeof id, "crash-c%u-t%d-%06" PRIu64, L->cycle, L->no, seq);
		if (seq % 4 == 3) {
			uint8_t sha[32];
			hash_sha256(id, strlen(id), sha);
			sf_evid(id, "CRASH-INS", FX_USCC, sha, "LC-ZF-0001", &p_node.signing_key, &s);
		} else {
			sf_scan(id, "CRASH-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key, &s);
		}
	}
	pthread_mutex_lock(&rec_mu);
	rec *r = rec_get(id, 1);
	r->s = s;
	r->admin = L->admin;
	r->state = R_SENT;
	pthread_mutex_unlock(&rec_mu);
	return r;
}

/* A verified receipt: the record is acknowledged. */
static void
ack(rec *r, const Receipt *rc, const evc_profile *p)
{
	char err[512];
	if (rc->status != NULL && rc->status->code != 0) {
		load_error("record %s refused: %d %s", r->id, (int)rc->status->code,
		    rc->status->message ? rc->status->message : "");
		return;
	}
	if (client_verify_receipt(p, rc, r->s.rec, r->s.len, r->s.sig, err, sizeof err) != 0) {
		load_error("receipt of %s does not verify: %s", r->id, err);
		return;
	}
	pthread_mutex_lock(&rec_mu);
	r->state = R_ACKED;
	r->index = rc->index;
	memcpy(r->leaf, rc->leaf_hash.data, 32);
	fig.acked++;
	pthread_mutex_unlock(&rec_mu);
}

static void *
load_main(void *arg)
{
	loader *L = arg;
	const evc_profile *p = L->admin ? &p_admin : &p_node;
	evc_client *c = NULL;
	char err[512];
	pend pd[4];
	size_t npd = 0;
	uint64_t seq = 0;

	if (client_connect(p, sf_addr, &c, err, sizeof err) != 0)
		return NULL; /* killed already */
	while (!atomic_load(&load_stop)) {
		/* Keep 4 submits in flight (the admin: one key record at a time). */
		while (npd < (L->admin ? 1u : 4u)) {
			Request q;
			Evchain__V1__SubmitRequest sub;
			Evchain__V1__SignedRecord srs[8], *ptrs[8];
			sf_item it[8];
			pend *P = &pd[npd];
			P->n = L->admin ? 1 : 1 + (size_t)(rnd() % 8);
			for (size_t i = 0; i < P->n; i++) {
				P->r[i] = make_rec(L, seq++);
				it[i] = sf_it(&P->r[i]->s);
			}
			sf_submit_req(&q, &sub, srs, ptrs, it, P->n);
			if ((P->id = client_send(c, &q)) < 0)
				goto out; /* the server is gone */
			L->sent += P->n;
			npd++;
		}
		pb_arena a;
		Response *resp;
		pb_arena_init(&a, 16u << 20);
		if (client_recv(c, &a, &resp) != 0) {
			pb_arena_free(&a);
			break;
		}
		size_t k = 0;
		while (k < npd && (uint64_t)pd[k].id != resp->id)
			k++;
		if (k == npd) {
			load_error("a response for id %" PRIu64 " that was not asked", resp->id);
		} else if (sf_code(resp) != 0 || resp->result_case != EVCHAIN__V1__RESPONSE__RESULT_SUBMIT ||
		    resp->submit->n_receipts != pd[k].n) {
			load_error("submit refused: %d %s", sf_code(resp), sf_msg(resp));
		} else {
			for (size_t i = 0; i < pd[k].n; i++)
				ack(pd[k].r[i], resp->submit->receipts[i], p);
			L->acked += pd[k].n;
		}
		pb_arena_free(&a);
		if (k < npd)
			pd[k] = pd[--npd];
		if (L->admin)
			usleep(20000);
	}
out:
	client_close(c);
	return NULL;
}

/* ---- child processes (witness, client) ---------------------------------------- */

static pid_t
spawn(char *const argv[], const char *out)
{
	fflush(NULL);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int efd = open(sf_path("children.log"), O_WRONLY | O_CREAT | O_APPEND, 0600);
		int nul = open("/dev/null", O_RDONLY);
		if (fd < 0 || nul < 0 || efd < 0)
			_exit(127);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(efd, 2);
		for (int i = 3; i < 1024; i++)
			close(i);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Reap pid: its exit status, or -2 if a signal ended it; -1 if still running
 * after wait_ms (then it is killed). */
static int
reap(pid_t pid, uint64_t wait_ms)
{
	int st;
	uint64_t t0 = sf_mono_ms();
	for (;;) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -2;
		if (sf_mono_ms() - t0 >= wait_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return -1;
		}
		usleep(2000);
	}
}

/* evchain-witness following the log (its state survives every kill). */
static pid_t
witness_start(void)
{
	char *argv[] = { (char *)sf_prog("evchain-witness"), (char *)"-c",
		(char *)sf_path("dep/witness-supervisor.conf"), (char *)"--server", sf_addr,
		(char *)"--state", (char *)sf_path("witness.state"), (char *)"--interval", (char *)"20",
		NULL };
	return spawn(argv, sf_path("witness.out"));
}

/* The witness, once: 0 = it cosigned the head, consistent with what it
 * cosigned before. */
static int
witness_once(void)
{
	char *argv[] = { (char *)sf_prog("evchain-witness"), (char *)"-c",
		(char *)sf_path("dep/witness-supervisor.conf"), (char *)"--server", sf_addr,
		(char *)"--state", (char *)sf_path("witness.state"), (char *)"--once", NULL };
	return reap(spawn(argv, sf_path("witness-once.out")), 20000);
}

static int cli_n = 1000;

/* A JSON Lines file of cli_n scan-ins for `evchain submit`, each with its
 * record id and creation time (so that running it again is idempotent). */
static void
cli_file(unsigned cycle)
{
	FILE *f = fopen(sf_path("cli-%u.jsonl", cycle), "w");
	REQUIRE(f != NULL);
	int64_t now = fx_now_ms();
	for (int i = 0; i < cli_n; i++) {
		char id[64];
		snprintf(id, sizeof id, "crash-c%u-cli-%04d", cycle, i);
		fprintf(f, "{\"record_id\":\"%s\",\"created_ms\":%" PRId64 ",\"scan_in\":{"
		    "\"inspection_id\":\"CRASH-CLI\",\"agency\":\"聊城市市场监督管理局\","
		    "\"company_uscc\":\"%s\",\"company_name\":\"聊城示例轴承有限公司\","
		    "\"officers\":[{\"name\":\"张伟\",\"certificate_no\":\"LC-ZF-0001\"},"
		    "{\"name\":\"李娜\",\"certificate_no\":\"LC-ZF-0002\"}],\"method\":\"LICENCE_QR_SCAN\","
		    "\"device_ms\":%" PRId64 ",\"plan_id\":\"PLAN-2025-SCJG-01\",\"kind\":\"ROUTINE\","
		    "\"entry_type\":\"ADMINISTRATIVE_INSPECTION\"}}\n", id, now - 1000, FX_USCC, now - 2000);
		pthread_mutex_lock(&rec_mu);
		rec *r = rec_get(id, 1);
		r->cli = 1;
		r->state = R_SENT;
		pthread_mutex_unlock(&rec_mu);
	}
	REQUIRE(fclose(f) == 0);
}

static pid_t
cli_start(unsigned cycle, const char *out)
{
	char *argv[] = { (char *)sf_prog("evchain"), (char *)"-c", (char *)sf_path("dep/node.conf"),
		(char *)"--server", sf_addr, (char *)"submit", (char *)sf_path("cli-%u.jsonl", cycle),
		(char *)"--batch", (char *)"8", (char *)"--window", (char *)"4", NULL };
	return spawn(argv, out);
}

static int
unhex(const char *h, uint8_t *out, size_t n)
{
	if (h == NULL || strlen(h) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* The receipts `evchain submit` printed (complete lines only: it may have
 * died mid-line). rerun: every line must be a receipt, records the log
 * holds already must be duplicates at their index; returns the lines read. */
static int
cli_receipts(const char *out, int rerun, unsigned cycle)
{
	FILE *f = fopen(out, "r");
	char line[4096];
	int n = 0;
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		size_t len = strlen(line);
		if (len == 0 || line[len - 1] != '\n')
			break; /* cut by the kill */
		json_error_t je;
		json_t *j = json_loads(line, 0, &je);
		const char *id = j ? json_string_value(json_object_get(j, "record_id")) : NULL;
		json_t *jidx = j ? json_object_get(j, "index") : NULL;
		uint8_t leaf[32];
		CHECK_(j != NULL && id != NULL && json_is_integer(jidx) &&
		    unhex(json_string_value(json_object_get(j, "leaf_hash")), leaf, 32) == 0,
		    "cycle %u: client %s: not a receipt: %s", cycle, rerun ? "rerun" : "run", line);
		if (j == NULL || id == NULL || !json_is_integer(jidx) ||
		    unhex(json_string_value(json_object_get(j, "leaf_hash")), leaf, 32) != 0) {
			json_decref(j);
			continue;
		}
		uint64_t idx = (uint64_t)json_integer_value(jidx);
		int dup = json_is_true(json_object_get(j, "duplicate"));
		pthread_mutex_lock(&rec_mu);
		rec *r = rec_get(id, 0);
		pthread_mutex_unlock(&rec_mu);
		CHECK_(r != NULL && r->cli, "cycle %u: client receipt for a record it was not given: %s",
		    cycle, id);
		if (r != NULL) {
			if (r->state == R_ACKED || r->seen) {
				CHECK_(r->index == idx && memcmp(r->leaf, leaf, 32) == 0, "cycle %u: %s was at "
				    "%" PRIu64 ", the client now says %" PRIu64, cycle, id, r->index, idx);
				if (rerun)
					CHECK_(dup, "cycle %u: %s is in the log, resubmitted it is not a duplicate",
					    cycle, id);
			}
			if (r->state != R_ACKED) {
				r->state = R_ACKED;
				r->index = idx;
				memcpy(r->leaf, leaf, 32);
				fig.cli_acked += !rerun;
				fig.acked++;
			}
		}
		json_decref(j);
		n++;
	}
	fclose(f);
	return n;
}

/* ---- the checks after a restart -------------------------------------------- */

static checkpoint trusted;   /* verified after the last cycle */
static int have_trusted;

/* The latest checkpoint, consistent with the trusted one; it becomes trusted. */
static void
check_consistency(evc_client *c, unsigned cycle)
{
	pb_arena a;
	char err[512];
	checkpoint cp;
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__ConsistencyProofRequest cr = EVCHAIN__V1__CONSISTENCY_PROOF_REQUEST__INIT;

	sf_latest(c, &p_sup, &cp);
	if (have_trusted) {
		CHECK_(cp.size >= trusted.size, "cycle %u: the log shrank from %" PRIu64 " to %" PRIu64,
		    cycle, trusted.size, cp.size);
		pb_arena_init(&a, 1 << 20);
		cr.old_size = trusted.size;
		cr.new_size = cp.size;
		q.op_case = EVCHAIN__V1__REQUEST__OP_CONSISTENCY_PROOF;
		q.consistency_proof = &cr;
		Response *r = sf_rpc(c, &q, &a);
		int ok = sf_code(r) == 0 && r->result_case == EVCHAIN__V1__RESPONSE__RESULT_CONSISTENCY_PROOF;
		uint8_t (*proof)[32] = NULL;
		if (ok) {
			size_t n = r->consistency_proof->n_proof;
			proof = calloc(n ? n : 1, 32);
			REQUIRE(proof != NULL);
			for (size_t i = 0; i < n; i++) {
				ok = ok && r->consistency_proof->proof[i].len == 32;
				if (ok)
					memcpy(proof[i], r->consistency_proof->proof[i].data, 32);
			}
			ok = ok && merkle_verify_consistency(trusted.size, cp.size, trusted.root, cp.root,
			    (const uint8_t (*)[32])proof, n) == 0;
		}
		CHECK_(ok, "cycle %u: no valid consistency proof from %" PRIu64 " to %" PRIu64 ": %s",
		    cycle, trusted.size, cp.size, sf_msg(r));
		free(proof);
		pb_arena_free(&a);
	}
	(void)err;
	trusted = cp;
	have_trusted = 1;
}

/* Entries [from, to): each one of ours, once; acknowledged ones where their
 * receipts said. Unacknowledged ones found are marked seen. */
static void
scan(evc_client *c, uint64_t from, uint64_t to, unsigned cycle, int final)
{
	pb_arena a, ea;
	pb_arena_init(&a, 64u << 20);
	pb_arena_init(&ea, 1u << 20);
	for (uint64_t start = from; start < to;) {
		Request q = EVCHAIN__V1__REQUEST__INIT;
		Evchain__V1__EntriesRequest er = EVCHAIN__V1__ENTRIES_REQUEST__INIT;
		er.start = start;
		er.count = (uint32_t)(to - start < 1000 ? to - start : 1000);
		q.op_case = EVCHAIN__V1__REQUEST__OP_ENTRIES;
		q.entries = &er;
		pb_arena_reset(&a);
		Response *r = sf_rpc(c, &q, &a);
		if (sf_code(r) != 0 || r->entries->n_entries == 0) {
			CHECK_(0, "cycle %u: entries from %" PRIu64 ": %d (%s)", cycle, start, sf_code(r),
			    sf_msg(r));
			break;
		}
		for (size_t e = 0; e < r->entries->n_entries && start + e < to; e++) {
			uint64_t idx = start + e;
			uint8_t leaf[32];
			const ProtobufCBinaryData *b = &r->entries->entries[e];
			merkle_leaf_hash(b->data, b->len, leaf);
			pb_arena_reset(&ea);
			Evchain__V1__Entry *en = (Evchain__V1__Entry *)pb_unpack(&ea,
			    &evchain__v1__entry__descriptor, b->data, b->len);
			Record *rd = en ? record_decode(&ea, en->record.data, en->record.len) : NULL;
			if (rd == NULL) {
				CHECK_(0, "cycle %u: entry %" PRIu64 " does not decode", cycle, idx);
				continue;
			}
			pthread_mutex_lock(&rec_mu);
			rec *rr = rec_get(rd->record_id, 0);
			pthread_mutex_unlock(&rec_mu);
			if (rr == NULL) {
				/* The admin key registered at start-up (once) and the
				 * node's registration by the harness. */
				if (idx > 1) {
					fig.strangers++;
					CHECK_(0, "cycle %u: entry %" PRIu64 " (%s) was never sent", cycle, idx,
					    rd->record_id);
				}
				continue;
			}
			if (final) {
				if (rr->state == R_ACKED && (rr->index != idx || memcmp(rr->leaf, leaf, 32)))
					fig.mismatched++;
				continue;
			}
			if (rr->seen) {
				fig.twice++;
				CHECK_(0, "cycle %u: %s appended twice: at %" PRIu64 " and %" PRIu64, cycle,
				    rr->id, rr->index, idx);
				continue;
			}
			if (rr->state == R_ACKED) {
				int same = rr->index == idx && memcmp(rr->leaf, leaf, 32) == 0;
				fig.mismatched += !same;
				CHECK_(same, "cycle %u: %s acknowledged at %" PRIu64 " is at %" PRIu64
				    " (or another leaf)", cycle, rr->id, rr->index, idx);
			} else {
				rr->index = idx;
				memcpy(rr->leaf, leaf, 32);
				fig.unacked_committed++;
			}
			rr->seen = 1;
		}
		start += r->entries->n_entries;
	}
	pb_arena_free(&a);
	pb_arena_free(&ea);
}

/* Acknowledged records in [from, ∞) must have been seen below `to`. */
static void
check_acked(uint64_t from, uint64_t to, unsigned cycle)
{
	for (size_t k = 0; k < MAXREC; k++) {
		rec *r = recs[k];
		if (r == NULL || r->state != R_ACKED || r->index < from || r->seen)
			continue;
		fig.lost++;
		CHECK_(0, "cycle %u: %s acknowledged at %" PRIu64 " is not in the log (size %" PRIu64 ")",
		    cycle, r->id, r->index, to);
	}
}

/* Every record sent but not acknowledged (not the client's: it resubmits
 * them itself) again: a duplicate if it was committed, else appended. */
static void
resubmit(unsigned cycle)
{
	evc_client *cn = sf_conn(&p_node), *ca = sf_conn(&p_admin);
	pb_arena a;
	pb_arena_init(&a, 16u << 20);
	for (size_t k = 0; k < MAXREC; k++) {
		rec *r = recs[k];
		if (r == NULL || r->cli || r->state == R_ACKED)
			continue;
		const evc_profile *p = r->admin ? &p_admin : &p_node;
		fx_signed *sp = &r->s;
		pb_arena_reset(&a);
		Response *resp = sf_submit(r->admin ? ca : cn, &sp, 1, &a);
		Receipt *rc = sf_receipt(resp, 0, 1);
		char err[512] = "";
		int ok = rc != NULL && sf_rcode(rc) == 0 &&
		    client_verify_receipt(p, rc, r->s.rec, r->s.len, r->s.sig, err, sizeof err) == 0;
		CHECK_(ok, "cycle %u: %s resubmitted: %d %s %s", cycle, r->id, sf_rcode(rc), sf_rmsg(rc), err);
		if (!ok)
			continue;
		fig.resubmitted++;
		if (r->seen) {
			CHECK_(rc->duplicate && rc->index == r->index, "cycle %u: %s committed at %" PRIu64
			    " came back %s at %" PRIu64, cycle, r->id, r->index,
			    rc->duplicate ? "a duplicate" : "new", rc->index);
		} else {
			CHECK_(!rc->duplicate, "cycle %u: %s not in the log came back a duplicate at %" PRIu64,
			    cycle, r->id, rc->index);
			r->index = rc->index;
			memcpy(r->leaf, rc->leaf_hash.data, 32);
		}
		r->state = R_ACKED;
		fig.acked++;
	}
	pb_arena_free(&a);
	client_close(cn);
	client_close(ca);
}

/* Records in the log or acknowledged no longer need their bytes. */
static void
release_bytes(void)
{
	for (size_t k = 0; k < MAXREC; k++)
		if (recs[k] != NULL && recs[k]->state == R_ACKED && recs[k]->s.rec != NULL)
			fx_signed_free(&recs[k]->s);
}

static int
verify_ledger(const char *dir, char *out, size_t cap)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "'%s' ledger '%s' --log-key '%s' --quiet", sf_prog("evchain-verify"),
	    dir, sf_path("dep/log.pub"));
	return fx_run(cmd, out, cap);
}

/* ---- one cycle ---------------------------------------------------------------- */

static sf_server *srv;
static uint64_t scanned;     /* entries [0, scanned) checked */

static void
cycle(unsigned n, uint64_t max_ms)
{
	static char out[16384];
	loader L[3];
	uint64_t t_srv = 50 + rnd() % (max_ms - 49), t_cli = 10 + rnd() % (max_ms - 9),
	    t_wit = rnd() % (max_ms + 1);
	const char *cli_out = sf_path("cli-%u.out", n);
	char cli_out_c[1024];
	snprintf(cli_out_c, sizeof cli_out_c, "%s", cli_out);

	sf_begin("load", 60);
	cli_file(n);
	pid_t wit = witness_start(), cli = cli_start(n, cli_out_c);
	atomic_store(&load_stop, 0);
	for (int i = 0; i < 3; i++) {
		memset(&L[i], 0, sizeof L[i]);
		L[i].no = i;
		L[i].admin = i == 2;
		L[i].cycle = n;
		REQUIRE(pthread_create(&L[i].th, NULL, load_main, &L[i]) == 0);
	}
	/* The three kills at their moments. */
	uint64_t t0 = sf_mono_ms();
	int cli_done = 0, wit_done = 0;
	while (!cli_done || !wit_done || srv->pid > 0) {
		uint64_t t = sf_mono_ms() - t0;
		if (!cli_done && t >= t_cli) {
			int st = reap(cli, 0);
			if (st == -1)
				fig.cli_killed++;    /* SIGKILL while it ran */
			else if (st == 0)
				fig.cli_finished++;  /* done before its moment */
			else
				fig.cli_cut++;       /* the server went first */
			cli_done = 1;
		}
		if (!wit_done && t >= t_wit) {
			kill(wit, SIGKILL);
			waitpid(wit, NULL, 0);
			fig.wit_killed++;
			wit_done = 1;
		}
		if (srv->pid > 0 && t >= t_srv) {
			kill(srv->pid, SIGKILL);
			waitpid(srv->pid, NULL, 0);
			srv->pid = 0;
		}
		usleep(1000);
	}
	atomic_store(&load_stop, 1);
	uint64_t sent = 0, acked = 0;
	for (int i = 0; i < 3; i++) {
		pthread_join(L[i].th, NULL);
		sent += L[i].sent;
		acked += L[i].acked;
	}
	CHECK_(load_err[0] == '\0', "cycle %u: load: %s", n, load_err);
	load_err[0] = '\0';

	/* The ledger as the crash left it. */
	sf_begin("verify", 120);
	int rc = verify_ledger(sf_path("crash-data"), out, sizeof out);
	CHECK_(rc == 0, "cycle %u: evchain-verify ledger after SIGKILL: exit %d: %s", n, rc, out);

	/* Restart; the log is consistent with what was verified before. */
	sf_begin("restart", 120);
	/* One server at a time: its slot is reused, its log kept by cycle. */
	char kept[1024];
	snprintf(kept, sizeof kept, "%s", sf_path("server-cycle-%u.log", n));
	REQUIRE(sf_nservers == 1 && rename(sf_servers[0].log, kept) == 0);
	sf_nservers = 0;
	srv = sf_start(sf_path("dep/crash.conf"), sf_path("crash-data"));
	sf_use(srv);
	evc_client *c = sf_conn(&p_sup);
	uint64_t before = scanned;
	check_consistency(c, n);
	cli_receipts(cli_out_c, 0, n);
	scan(c, scanned, trusted.size, n, 0);
	check_acked(scanned, trusted.size, n);
	scanned = trusted.size;
	client_close(c);

	/* What was not acknowledged, again; the client, again, to the end. */
	resubmit(n);
	snprintf(cli_out_c, sizeof cli_out_c, "%s", sf_path("cli-%u.rerun", n));
	rc = reap(cli_start(n, cli_out_c), 60000);
	CHECK_(rc == 0, "cycle %u: the client run again: exit %d", n, rc);
	CHECK_EQ(cli_receipts(cli_out_c, 1, n), cli_n);
	release_bytes();

	/* The witness cosigns the new head: no rollback, no fork. */
	rc = witness_once();
	CHECK_(rc == 0, "cycle %u: evchain-witness --once after the crash: exit %d", n, rc);
	fig.cycles++;
	if (getenv("EVC_VERBOSE"))
		fprintf(stderr, "cycle %u: killed at %" PRIu64 " ms (client %s at %" PRIu64 ", witness at %"
		    PRIu64 "): %" PRIu64 " records sent, %" PRIu64 " acknowledged; log %" PRIu64 " → %"
		    PRIu64 " entries\n", n, t_srv, cli_done ? "stopped" : "?", t_cli, t_wit, sent, acked,
		    before, scanned);
}

int
main(void)
{
	static char out[16384];
	const char *e;
	unsigned cycles = 5;
	uint64_t max_ms = 800;

	if ((e = getenv("CYCLES")) != NULL)
		cycles = (unsigned)strtoul(e, NULL, 10);
	if ((e = getenv("CRASH_MAX_MS")) != NULL && strtoull(e, NULL, 10) >= 100)
		max_ms = strtoull(e, NULL, 10);
	rng_state = (e = getenv("CRASH_SEED")) != NULL ? (uint64_t)strtoull(e, NULL, 10)
	    : (uint64_t)fx_now_ms() ^ ((uint64_t)getpid() << 20);
	uint64_t seed = rng_state;
	REQUIRE((recs = calloc(MAXREC, sizeof *recs)) != NULL);

	sf_setup("crash");
	sf_begin("start", 30);
	/* The dev configuration as it is (sync = yes: durable commits). */
	char conf[4096];
	FILE *f = fopen(sf_path("dep/evchaind.conf"), "r");
	REQUIRE(f != NULL);
	size_t n = fread(conf, 1, sizeof conf - 1, f);
	fclose(f);
	conf[n] = '\0';
	REQUIRE(strstr(conf, "sync") == NULL);
	sf_write(sf_path("dep/crash.conf"), conf);
	srv = sf_start(sf_path("dep/crash.conf"), sf_path("crash-data"));
	sf_use(srv);
	evc_client *c = sf_conn(&p_admin);
	evc_vkey vk;
	fx_signed reg;
	keys_public(&p_node.signing_key, &vk);
	REQUIRE(fx_node_key("crash-register-node-1", &p_admin.signing_key, &vk,
	    EVCHAIN__V1__NODE_KEY__ROLE__NODE, EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, fx_now_ms(),
	    &reg) == 0);
	REQUIRE(sf_submit_ok(c, &p_admin, &reg, NULL));
	fx_signed_free(&reg);
	client_close(c);
	c = sf_conn(&p_sup);
	check_consistency(c, 0);
	scanned = trusted.size;
	client_close(c);

	uint64_t t0 = sf_mono_ms();
	for (unsigned i = 1; i <= cycles; i++)
		cycle(i, max_ms);

	/* Every acknowledged record, over the whole log, once more. */
	sf_begin("final", 300);
	c = sf_conn(&p_sup);
	check_consistency(c, cycles + 1);
	scan(c, 0, trusted.size, cycles + 1, 1);
	for (size_t k = 0; k < MAXREC; k++)
		if (recs[k] != NULL && recs[k]->state == R_ACKED && recs[k]->index >= trusted.size)
			fig.lost++;
	/* The index (rebuilt behind the commits, killed with the rest) finds
	 * acknowledged records by leaf hash. */
	unsigned by_leaf = 0, by_leaf_bad = 0;
	{
		pb_arena a;
		pb_arena_init(&a, 1u << 20);
		for (size_t k = 0, seen = 0; k < MAXREC; k++) {
			rec *rr = recs[k];
			if (rr == NULL || rr->state != R_ACKED || seen++ % 97 != 0)
				continue;
			Request q = EVCHAIN__V1__REQUEST__INIT;
			Evchain__V1__InclusionProofRequest ir = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__INIT;
			ir.leaf_case = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__LEAF_LEAF_HASH;
			ir.leaf_hash.data = rr->leaf;
			ir.leaf_hash.len = 32;
			q.op_case = EVCHAIN__V1__REQUEST__OP_INCLUSION_PROOF;
			q.inclusion_proof = &ir;
			pb_arena_reset(&a);
			Response *r = sf_rpc(c, &q, &a);
			by_leaf++;
			if (sf_code(r) != 0 || r->inclusion_proof->index != rr->index) {
				by_leaf_bad++;
				CHECK_(0, "%s (index %" PRIu64 ") not found by its leaf hash: %d (%s)", rr->id,
				    rr->index, sf_code(r), sf_msg(r));
			}
		}
		pb_arena_free(&a);
	}
	CHECK(by_leaf > 0);
	CHECK_EQ(by_leaf_bad, 0);
	client_close(c);
	CHECK_EQ(sf_stop(srv, SIGTERM, 10000, NULL), 0);
	int rc = verify_ledger(sf_path("crash-data"), out, sizeof out);
	CHECK_(rc == 0, "final evchain-verify ledger: exit %d: %s", rc, out);
	CHECK_EQ(fig.lost, 0);
	CHECK_EQ(fig.mismatched, 0);
	CHECK_EQ(fig.twice, 0);
	CHECK_EQ(fig.strangers, 0);
	alarm(0);
	printf("crash: seed %" PRIu64 ": %u SIGKILL cycles survived in %.0f s; %" PRIu64 " entries; %"
	    PRIu64 " records acknowledged, %" PRIu64 " lost, %" PRIu64 " moved, %" PRIu64 " twice; %"
	    PRIu64 " committed but unacknowledged (resubmitted: duplicates); %" PRIu64 " resubmitted "
	    "in all; client killed mid-batch %u times (cut off by the server's kill %u, done before "
	    "its kill %u), its %" PRIu64 " printed receipts kept; witness killed %u times, never an "
	    "alarm\n", seed, fig.cycles,
	    (double)(sf_mono_ms() - t0) / 1000.0, trusted.size, fig.acked, fig.lost, fig.mismatched,
	    fig.twice, fig.unacked_committed, fig.resubmitted, fig.cli_killed, fig.cli_cut, fig.cli_finished,
	    fig.cli_acked, fig.wit_killed);
	for (size_t k = 0; k < MAXREC; k++)
		if (recs[k] != NULL) {
			fx_signed_free(&recs[k]->s);
			free(recs[k]);
		}
	free(recs);
	CHECK_DONE("test_crash");
}
