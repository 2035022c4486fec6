/*
 * test_tamper.c — the tamper campaign: a real ledger (the dev deployment's
 * log, admin and node keys; key records, scan-ins and evidence in batches of
 * random sizes, one signed checkpoint each) is copied, and each copy is
 * damaged one way, chosen at random:
 *
 *   entry       a random byte of a random entry flipped
 *   hash        a random byte of a random stored tree hash flipped
 *   checkpoint  a random byte of a random stored checkpoint (its log time or
 *               its signed note) flipped
 *   latest-signature  a random byte of the latest checkpoint's signature line
 *   swap        two entries exchanged
 *   truncate    the last k entries removed (a truncated log)
 *   hole        one entry removed from the middle
 *   file        the data file cut short (a partial copy)
 *
 * Each time `evchain-verify ledger` must fail (exit 1) and name the first bad
 * index — exactly the one damaged (for a truncated log, the first missing
 * entry) — and evchaind must refuse to serve the copy at start-up with a
 * message that says how to investigate (every case but a flipped signature of
 * an older checkpoint, which only the audit checks).
 *
 * The bytes are flipped in the values LMDB stores, found through a read-only
 * map of a compacted copy (no stale page holds an old version of a value).
 *
 *   TAMPER_ITERS  copies damaged (default 48; `make tamper-test`: 1000)
 *   TAMPER_SEED   the random seed (default: time; printed to reproduce a run)
 *   TAMPER_SERVER how many of them evchaind is also started on (default 16)
 */
#include <lmdb.h>

#include "srvfix.h"
#include "ledger.h"

static evc_skey log_sk;
static uint64_t nentries, nhashes;
static uint64_t cps[4096];     /* checkpoint sizes */
static size_t ncps;
static uint64_t rng_state;

static uint64_t
rnd(void)
{
	/* splitmix64: reproducible from TAMPER_SEED */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t
rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* ---- the ledger ------------------------------------------------------------ */

static void
append(ledger *l, fx_signed *s, size_t n)
{
	ledger_item it[16];
	ledger_head *h = malloc(sizeof *h);
	REQUIRE(h != NULL && n <= 16);
	memset(it, 0, sizeof it);
	for (size_t i = 0; i < n; i++) {
		it[i].record = s[i].rec;
		it[i].record_len = s[i].len;
		it[i].sig = s[i].sig;
		it[i].rec = s[i].decoded;
	}
	REQUIRE(ledger_append(l, it, n, &log_sk, fx_now_ms(), h) == 0);
	for (size_t i = 0; i < n; i++)
		REQUIRE(it[i].result == LEDGER_APPENDED);
	REQUIRE(ncps < sizeof cps / sizeof cps[0]);
	cps[ncps++] = h->size;
	nentries = h->size;
	free(h);
}

/* Entry 0 registers the admin (signed by the log key), entry 1 the node;
 * then `records` scan-ins and evidence records of the node in batches of
 * 1..12, and a revoked third key on the way. */
static void
build(const char *dir, int records)
{
	ledger_opts o = { .no_sync = 1 };
	ledger *l = NULL;
	char err[512], rid[64];
	fx_signed s[16];
	evc_vkey vk;

	REQUIRE(ledger_open(dir, &o, &l, err, sizeof err) == 0);
	keys_public(&p_admin.signing_key, &vk);
	REQUIRE(fx_node_key("tamper-admin", &log_sk, &vk, EVCHAIN__V1__NODE_KEY__ROLE__ADMIN,
	    EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, fx_now_ms() - 5000, &s[0]) == 0);
	append(l, s, 1);
	fx_signed_free(&s[0]);
	keys_public(&p_node.signing_key, &vk);
	REQUIRE(fx_node_key("tamper-node", &p_admin.signing_key, &vk, EVCHAIN__V1__NODE_KEY__ROLE__NODE,
	    EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, fx_now_ms() - 5000, &s[0]) == 0);
	append(l, s, 1);
	fx_signed_free(&s[0]);
	for (int done = 0; done < records;) {
		size_t n = 1 + rnd_below(12);
		if ((int)n > records - done)
			n = (size_t)(records - done);
		for (size_t i = 0; i < n; i++, done++) {
			snprintf(rid, sizeof rid, "tamper-%05d", done);
			if (done % 3 == 2) {
				uint8_t sha[32];
				hash_sha256(rid, strlen(rid), sha);
				sf_evid(rid, "TAMPER-INS", FX_USCC, sha, "LC-ZF-0001", &p_node.signing_key, &s[i]);
			} else {
				sf_scan(rid, "TAMPER-INS", FX_USCC, "LC-ZF-0001", "LC-ZF-0002",
				    &p_node.signing_key, &s[i]);
			}
		}
		append(l, s, n);
		for (size_t i = 0; i < n; i++)
			fx_signed_free(&s[i]);
		if (done > records / 2 && done - (int)n <= records / 2) {
			/* A key registered and revoked in the middle of the log. */
			evc_skey sk3;
			REQUIRE(keys_generate("tamper-node-3", EVC_KEY_ED25519, &sk3, &vk) == 0);
			REQUIRE(fx_node_key("tamper-node-3-reg", &p_admin.signing_key, &vk,
			    EVCHAIN__V1__NODE_KEY__ROLE__NODE, EVCHAIN__V1__NODE_KEY__ACTION__REGISTER,
			    fx_now_ms() - 1000, &s[0]) == 0);
			append(l, s, 1);
			fx_signed_free(&s[0]);
			REQUIRE(fx_node_key("tamper-node-3-rev", &p_admin.signing_key, &vk,
			    EVCHAIN__V1__NODE_KEY__ROLE__NODE, EVCHAIN__V1__NODE_KEY__ACTION__REVOKE,
			    fx_now_ms() - 1000, &s[0]) == 0);
			append(l, s, 1);
			fx_signed_free(&s[0]);
			keys_skey_wipe(&sk3);
		}
	}
	nhashes = merkle_stored_count(nentries);
	/* The pristine copy: compacted, so that every value is stored once. */
	REQUIRE(ledger_backup(l, sf_path("pristine"), err, sizeof err) == 0);
	ledger_close(l);
}

/* ---- copies and raw LMDB ------------------------------------------------------ */

static void
copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char buf[65536];
	ssize_t n;
	REQUIRE(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof buf)) > 0)
		REQUIRE(write(out, buf, (size_t)n) == n);
	REQUIRE(n == 0);
	close(in);
	REQUIRE(close(out) == 0);
}

/* A fresh copy of the pristine ledger in dir. */
static void
fresh_copy(const char *dir)
{
	char p[1024];
	fx_rmrf(dir);
	REQUIRE(mkdir(dir, 0700) == 0);
	snprintf(p, sizeof p, "%s/data.mdb", dir);
	copy_file(sf_path("pristine/data.mdb"), p);
}

typedef struct raw {
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi entries, hashes, cps;
	size_t psize;
	const char *dir;
} raw;

static void
raw_open(raw *r, const char *dir, int write)
{
	MDB_stat ms;
	memset(r, 0, sizeof *r);
	REQUIRE(mdb_env_create(&r->env) == 0);
	REQUIRE(mdb_env_set_maxdbs(r->env, 8) == 0);
	REQUIRE(mdb_env_open(r->env, dir, (write ? 0 : MDB_RDONLY) | MDB_NOSYNC, 0600) == 0);
	REQUIRE(mdb_env_stat(r->env, &ms) == 0);
	r->psize = ms.ms_psize;
	r->dir = dir;
	REQUIRE(mdb_txn_begin(r->env, NULL, write ? 0 : MDB_RDONLY, &r->txn) == 0);
	REQUIRE(mdb_dbi_open(r->txn, "entries", MDB_INTEGERKEY, &r->entries) == 0);
	REQUIRE(mdb_dbi_open(r->txn, "hashes", MDB_INTEGERKEY, &r->hashes) == 0);
	REQUIRE(mdb_dbi_open(r->txn, "checkpoints", MDB_INTEGERKEY, &r->cps) == 0);
}

static void
raw_close(raw *r, int commit)
{
	if (commit)
		REQUIRE(mdb_txn_commit(r->txn) == 0);
	else
		mdb_txn_abort(r->txn);
	mdb_env_close(r->env);
}

/* The value of key k in dbi: its length and its offset in the data file. */
static void
raw_locate(raw *r, MDB_dbi dbi, uint64_t k, size_t *len, uint64_t *off)
{
	size_t key = k;
	MDB_val kv = { sizeof key, &key }, v;
	REQUIRE(mdb_get(r->txn, dbi, &kv, &v) == 0);
	/* The value lies in a page of the map (pages are OS-page aligned);
	 * each page starts with its page number: page * psize + offset in it. */
	uintptr_t p = (uintptr_t)v.mv_data, page = p - p % r->psize;
	uint64_t pgno;
	memcpy(&pgno, (const void *)page, sizeof pgno);
	*len = v.mv_size;
	*off = pgno * r->psize + (p - page);
	/* That is where the file holds it. */
	char path[1024];
	uint8_t *buf = malloc(v.mv_size);
	snprintf(path, sizeof path, "%s/data.mdb", r->dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	REQUIRE(buf != NULL && fd >= 0);
	REQUIRE(pread(fd, buf, v.mv_size, (off_t)*off) == (ssize_t)v.mv_size);
	REQUIRE(memcmp(buf, v.mv_data, v.mv_size) == 0);
	close(fd);
	free(buf);
}

/* XOR one byte of dir/data.mdb at off with a non-zero mask. */
static void
flip_at(const char *dir, uint64_t off, uint8_t mask)
{
	char p[1024];
	uint8_t b;
	snprintf(p, sizeof p, "%s/data.mdb", dir);
	int fd = open(p, O_RDWR | O_CLOEXEC);
	REQUIRE(fd >= 0);
	REQUIRE(pread(fd, &b, 1, (off_t)off) == 1);
	b ^= mask;
	REQUIRE(pwrite(fd, &b, 1, (off_t)off) == 1);
	REQUIRE(close(fd) == 0);
}

/* ---- the checks -------------------------------------------------------------- */

/* evchain-verify ledger on dir: its exit status, and the index it names
 * (UINT64_MAX when it names none). out receives its output. */
static int
run_verify(const char *dir, uint64_t *index, char *out, size_t cap)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "'%s' ledger '%s' --log-key '%s' --quiet", sf_prog("evchain-verify"),
	    dir, sf_path("dep/log.pub"));
	int rc = fx_run(cmd, out, cap);
	const char *p = strstr(out, ": entry ");
	*index = UINT64_MAX;
	if (rc == 1 && strncmp(out, "FAIL: ", 6) == 0 && p != NULL)
		*index = strtoull(p + 8, NULL, 10);
	return rc;
}

/* Start evchaind on dir: 1 if it refused to start, with a message naming
 * evchain-verify (the documented way to investigate); 0 if it served. */
static int
server_refuses(const char *dir, char *log, size_t cap)
{
	char path[600];
	sf_server *s = NULL;
	snprintf(path, sizeof path, "%s/evchaind.log", sf_tmp);
	unlink(path); /* the last run's "listening on" must not be read */
	const char *prog = sf_prog("evchaind");
	fflush(NULL);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int nul = open("/dev/null", O_RDONLY);
		if (fd < 0 || nul < 0)
			_exit(127);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(prog, prog, "-c", sf_path("dep/evchaind.conf"), "--listen", "127.0.0.1:0",
		    "--data", dir, (char *)NULL);
		_exit(127);
	}
	/* Registered so that the harness kills it if the test dies meanwhile. */
	REQUIRE(sf_nservers < SF_MAX_SERVERS);
	s = &sf_servers[sf_nservers++];
	s->pid = pid;
	snprintf(s->log, sizeof s->log, "%s", path);
	int st = 0, exited = 0;
	for (int i = 0; i < 1000 && !exited; i++) { /* 10 s */
		if (waitpid(pid, &st, WNOHANG) == pid)
			exited = 1;
		else if (sf_log_port(path) > 0)
			break;
		else
			usleep(10000);
	}
	if (!exited) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	s->pid = 0;
	sf_nservers--;
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(log, 1, cap - 1, f) : 0;
	if (f)
		fclose(f);
	log[n] = '\0';
	return exited && WIFEXITED(st) && WEXITSTATUS(st) != 0 &&
	    strstr(log, "evchain-verify ledger") != NULL;
}

enum { T_ENTRY, T_HASH, T_CHECKPOINT, T_LATEST_SIG, T_SWAP, T_TRUNCATE, T_HOLE, T_FILE, T_KINDS };
static const char *const kind_name[T_KINDS] = { "entry", "hash", "checkpoint", "latest-signature",
	"swap", "truncate", "hole", "file" };
static unsigned tried[T_KINDS], detected[T_KINDS], srv_tried, srv_refused;

/* The entry whose append wrote stored hash si. */
static uint64_t
entry_of_hash(uint64_t si)
{
	uint64_t lo = 0, hi = nentries - 1;
	while (lo < hi) { /* the last i with merkle_stored_index(0, i) <= si */
		uint64_t mid = lo + (hi - lo + 1) / 2;
		if (merkle_stored_index(0, mid) <= si)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* Damage a fresh copy one way; the index evchain-verify must name (for
 * T_FILE, UINT64_MAX: no index, the file is refused whole); *server_too:
 * whether evchaind's start-up check must see it. */
static uint64_t
tamper(const char *dir, unsigned kind, char *what, size_t cap, int *server_too)
{
	raw r;
	size_t len;
	uint64_t off, want = UINT64_MAX;
	uint8_t mask = (uint8_t)(1 + rnd_below(255));

	fresh_copy(dir);
	*server_too = 1;
	switch (kind) {
	case T_ENTRY: {
		uint64_t i = rnd_below(nentries);
		raw_open(&r, dir, 0);
		raw_locate(&r, r.entries, i, &len, &off);
		raw_close(&r, 0);
		uint64_t b = rnd_below(len);
		flip_at(dir, off + b, mask);
		snprintf(what, cap, "entry %" PRIu64 " byte %" PRIu64 "/%zu ^ %02x", i, b, len, mask);
		want = i;
		break;
	}
	case T_HASH: {
		uint64_t si = rnd_below(nhashes);
		raw_open(&r, dir, 0);
		raw_locate(&r, r.hashes, si, &len, &off);
		raw_close(&r, 0);
		REQUIRE(len == 32);
		uint64_t b = rnd_below(32);
		flip_at(dir, off + b, mask);
		want = entry_of_hash(si);
		snprintf(what, cap, "stored hash %" PRIu64 " (of entry %" PRIu64 ") byte %" PRIu64 " ^ %02x",
		    si, want, b, mask);
		break;
	}
	case T_CHECKPOINT:
	case T_LATEST_SIG: {
		size_t c = kind == T_LATEST_SIG ? ncps - 1 : (size_t)rnd_below(ncps);
		raw_open(&r, dir, 0);
		raw_locate(&r, r.cps, cps[c], &len, &off);
		/* Where the note's text ends: a flip after it is in the signature. */
		size_t k = cps[c];
		MDB_val kv = { sizeof k, &k }, v;
		REQUIRE(mdb_get(r.txn, r.cps, &kv, &v) == 0);
		const char *nt = (const char *)v.mv_data + 8;
		const char *end = memmem(nt, v.mv_size - 8, "\n\n", 2);
		REQUIRE(end != NULL);
		size_t text_end = 8 + (size_t)(end - nt) + 1;
		raw_close(&r, 0);
		uint64_t b = kind == T_LATEST_SIG ? text_end + 1 + rnd_below(len - text_end - 1)
		    : rnd_below(len);
		flip_at(dir, off + b, mask);
		snprintf(what, cap, "checkpoint %zu/%zu (size %" PRIu64 ") byte %" PRIu64 "/%zu ^ %02x (%s)",
		    c + 1, ncps, cps[c], b, len, mask, b < 8 ? "log time" : b < text_end ? "text" :
		    "signature");
		want = cps[c] - 1;
		*server_too = c + 1 == ncps || b < text_end;
		break;
	}
	case T_SWAP: {
		uint64_t i = rnd_below(nentries - 1), j = i + 1 + rnd_below(nentries - 1 - i);
		size_t ki = i, kj = j;
		MDB_val a = { sizeof ki, &ki }, b = { sizeof kj, &kj }, va, vb;
		raw_open(&r, dir, 1);
		REQUIRE(mdb_get(r.txn, r.entries, &a, &va) == 0 && mdb_get(r.txn, r.entries, &b, &vb) == 0);
		uint8_t *ca = malloc(va.mv_size), *cb = malloc(vb.mv_size);
		REQUIRE(ca != NULL && cb != NULL);
		memcpy(ca, va.mv_data, va.mv_size);
		memcpy(cb, vb.mv_data, vb.mv_size);
		MDB_val na = { vb.mv_size, cb }, nb = { va.mv_size, ca };
		REQUIRE(mdb_put(r.txn, r.entries, &a, &na, 0) == 0);
		REQUIRE(mdb_put(r.txn, r.entries, &b, &nb, 0) == 0);
		raw_close(&r, 1);
		free(ca);
		free(cb);
		snprintf(what, cap, "entries %" PRIu64 " and %" PRIu64 " swapped", i, j);
		want = i;
		break;
	}
	case T_TRUNCATE:
	case T_HOLE: {
		uint64_t from = 1 + rnd_below(nentries - 1), to = nentries;
		if (kind == T_HOLE)
			to = from + 1 == nentries ? from + 1 : from + 1; /* one entry */
		raw_open(&r, dir, 1);
		for (uint64_t i = from; i < to; i++) {
			size_t k = i;
			MDB_val kv = { sizeof k, &k };
			REQUIRE(mdb_del(r.txn, r.entries, &kv, NULL) == 0);
		}
		raw_close(&r, 1);
		snprintf(what, cap, kind == T_HOLE ? "entry %" PRIu64 " removed" :
		    "entries %" PRIu64 "..%" PRIu64 " removed", from, to - 1);
		want = from;
		break;
	}
	case T_FILE: {
		char p[1024];
		struct stat st;
		snprintf(p, sizeof p, "%s/data.mdb", dir);
		REQUIRE(stat(p, &st) == 0);
		off_t cut = (off_t)(8192 + rnd_below((uint64_t)st.st_size - 8192));
		REQUIRE(truncate(p, cut) == 0);
		snprintf(what, cap, "data.mdb cut from %lld to %lld bytes", (long long)st.st_size,
		    (long long)cut);
		break;
	}
	}
	return want;
}

static void
t_campaign(unsigned iters, unsigned server_runs)
{
	static char out[16384], log[16384];
	char what[256], dir[900];
	uint64_t got;

	snprintf(dir, sizeof dir, "%s", sf_path("work"));

	for (unsigned it = 0; it < iters; it++) {
		unsigned kind = (unsigned)(it < T_KINDS ? it : rnd_below(T_KINDS));
		int server_too;
		uint64_t want = tamper(dir, kind, what, sizeof what, &server_too);
		tried[kind]++;
		int rc = run_verify(dir, &got, out, sizeof out);
		int ok = kind == T_FILE ? rc == 1 && strstr(out, "truncated") != NULL
		    : rc == 1 && got == want;
		CHECK_(ok, "tamper %u (%s): evchain-verify exit %d, named %s%" PRIu64 " (want %" PRIu64
		    "):\n%s", it, what, rc, got == UINT64_MAX ? "no index " : "", got, want, out);
		detected[kind] += ok != 0;
		if (getenv("EVC_VERBOSE"))
			fprintf(stderr, "%u %s: %s", it, what, out);
		if (server_too && srv_tried < server_runs) {
			srv_tried++;
			int refused = server_refuses(dir, log, sizeof log);
			CHECK_(refused, "tamper %u (%s): evchaind did not refuse it:\n%s", it, what, log);
			srv_refused += refused != 0;
			if (getenv("EVC_VERBOSE"))
				fprintf(stderr, "   evchaind: %s", log);
		}
	}
}

int
main(void)
{
	char out[16384];
	uint64_t got;
	unsigned iters = 48, server_runs = 16;
	const char *e;

	if ((e = getenv("TAMPER_ITERS")) != NULL)
		iters = (unsigned)strtoul(e, NULL, 10);
	if ((e = getenv("TAMPER_SERVER")) != NULL)
		server_runs = (unsigned)strtoul(e, NULL, 10);
	rng_state = (e = getenv("TAMPER_SEED")) != NULL ? (uint64_t)strtoull(e, NULL, 10)
	    : (uint64_t)fx_now_ms() ^ (uint64_t)getpid();
	uint64_t seed = rng_state;

	sf_setup("tamper");
	sf_begin("build", 60);
	REQUIRE(keys_read_private(sf_path("dep/log.key"), NULL, 0, &log_sk) == 0);
	build(sf_path("ledger"), 400);
	int rc = run_verify(sf_path("pristine"), &got, out, sizeof out);
	CHECK_(rc == 0, "the pristine ledger does not verify: %d %s", rc, out);
	/* The pristine copy is served. */
	fresh_copy(sf_path("work"));
	sf_server *s = sf_start(sf_path("dep/evchaind.conf"), sf_path("work"));
	CHECK_EQ(sf_stop(s, SIGTERM, 10000, NULL), 0);
	fresh_copy(sf_path("work"));

	sf_begin("campaign", 60 + iters / 2 + server_runs / 2);
	t_campaign(iters, server_runs);
	alarm(0);
	unsigned total = 0, caught = 0;
	for (int k = 0; k < T_KINDS; k++) {
		total += tried[k];
		caught += detected[k];
	}
	printf("tamper: seed %" PRIu64 ", %u entries, %zu checkpoints: %u damaged copies, %u detected "
	    "at the exact index (", seed, (unsigned)nentries, ncps, total, caught);
	for (int k = 0; k < T_KINDS; k++)
		printf("%s%s %u/%u", k ? ", " : "", kind_name[k], detected[k], tried[k]);
	printf("); evchaind refused %u of %u\n", srv_refused, srv_tried);
	keys_skey_wipe(&log_sk);
	CHECK_DONE("test_tamper");
}
