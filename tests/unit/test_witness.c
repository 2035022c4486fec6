/*
 * test_witness.c — integration: the real evchaind, two real evchain-witness
 * processes (the supervision authority's and the discipline commission's,
 * from an `evchain-keys dev` deployment) and `evchain monitor`.
 *
 *   cosign      both witnesses cosign (trust on first use); `evchain
 *               checkpoint --witnesses 2` as the court; each cosignature
 *               checked byte for byte against C2SP cosignature/v1 (key id,
 *               big-endian time, Ed25519 over "cosignature/v1\ntime T\n" ||
 *               checkpoint text) and against the witness's state file
 *   court       an exported bundle verifies with --witness ×2 --quorum 2 and
 *               with a C2SP tlog-policy demanding both; cosigned by one
 *               witness only, --quorum 2 fails; `checkpoint --witnesses 2
 *               --wait` waits for the second
 *   restart     a witness run again keeps its state, does not cosign again;
 *               the log restored to the same tree without the cosignature
 *               gets the very same cosignature bytes back
 *   follow      a witness following the log (--interval) cosigns new
 *               checkpoints and stops cleanly on SIGTERM
 *   monitor     verifies the whole log, resumes from its state (only new
 *               entries), a second monitor from scratch
 *   rollback    the log restored from an older copy of its data directory:
 *               both witnesses and the monitor alarm (exit 1, alarm files
 *               with both signed checkpoints, --check exits 1) and keep
 *               refusing
 *   fork        the restored log grows other entries: the same size with
 *               another root (fork), a larger tree no proof joins (fork,
 *               proof kept); nobody cosigns it
 *   badsig      a log with another key under the same origin: bad-signature
 */
#include <sys/stat.h>

#include "examples.h"
#include "pbjson.h"
#include "srvfix.h"

static sf_server *srv;
static evc_profile p_wdisc;     /* witness-discipline */
static int mon_ok = 1;          /* `evchain monitor` is there */
static unsigned recno;

/* ---- running the programs ----------------------------------------------------- */

static int
run_in_dep(char *out, size_t cap, const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
run_in_dep(char *out, size_t cap, const char *prog, const char *fmt, ...)
{
	char args[2048], cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	REQUIRE(n > 0 && (size_t)n < sizeof args);
	n = snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s", sf_dep, sf_prog(prog), args);
	REQUIRE(n > 0 && (size_t)n < sizeof cmd);
	return fx_run(cmd, out, cap);
}

/* evchain-witness -c witness-WHO.conf --server ADDR EXTRA */
static int
wit(const char *who, char *out, size_t cap, const char *extra)
{
	return run_in_dep(out, cap, "evchain-witness", "-c witness-%s.conf --server %s %s", who,
	    sf_addr, extra);
}

/* evchain -c PROFILE --server ADDR monitor EXTRA */
static int
mon(const char *profile, char *out, size_t cap, const char *extra)
{
	int rc = run_in_dep(out, cap, "evchain", "-c %s --server %s monitor %s", profile, sf_addr,
	    extra);
	if (rc == 2 && strstr(out, "unknown command") != NULL) {
		if (mon_ok)
			CHECK_(0, "`evchain monitor` is not hooked into client/main.c: %s", out);
		mon_ok = 0;
	}
	return rc;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *b = malloc(1 << 20);
	REQUIRE(b != NULL);
	size_t n = fread(b, 1, (1 << 20) - 1, f);
	fclose(f);
	b[n] = '\0';
	if (len)
		*len = n;
	return b;
}

static int
exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* The number after "KEY " at the start of a line of text, or UINT64_MAX. */
static uint64_t
line_u64(const char *text, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\n%s ", key);
	const char *p = strstr(text, pat);
	if (p == NULL)
		return UINT64_MAX;
	return strtoull(p + strlen(pat), NULL, 10);
}

static uint64_t
state_size(const char *who)
{
	size_t n;
	char *s = slurp(sf_path("dep/witness-%s.state", who), &n);
	uint64_t v = s ? line_u64(s, "size") : UINT64_MAX;
	free(s);
	return v;
}

/* ---- the log ----------------------------------------------------------------- */

static void
restart(const char *conf)
{
	uint64_t ms;
	CHECK_EQ(sf_stop(srv, SIGTERM, 10000, &ms), 0);
	srv = sf_start(conf ? conf : sf_path("dep/evchaind.conf"), NULL);
	sf_use(srv);
}

/* Append n scan-ins of inspection `tag`; the new tree size. */
static uint64_t
append(const char *tag, int n)
{
	evc_client *c = sf_conn(&p_node);
	sf_got g = { 0 };
	for (int i = 0; i < n; i++) {
		fx_signed s;
		char rid[64];
		snprintf(rid, sizeof rid, "%s-%u", tag, recno++);
		sf_scan(rid, tag, FX_USCC, "LC-ZF-0001", "LC-ZF-0002", &p_node.signing_key, &s);
		REQUIRE(sf_submit_ok(c, &p_node, &s, &g));
		fx_signed_free(&s);
	}
	client_close(c);
	return g.tree_size;
}

/* The latest checkpoint as served; *cos: valid cosignatures of the profile's
 * witnesses. Malloc'd note, NUL-terminated. */
static char *
latest(checkpoint *cp, size_t *cos, size_t *len)
{
	evc_client *c = sf_conn(&p_court);
	pb_arena a;
	char err[512];
	pb_arena_init(&a, 1 << 20);
	/* Not sf_checkpoint(): polled, and the count of checks stays fixed. */
	Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__CheckpointRequest cr = EVCHAIN__V1__CHECKPOINT_REQUEST__INIT;
	Response *r = NULL;
	q.op_case = EVCHAIN__V1__REQUEST__OP_CHECKPOINT;
	q.checkpoint = &cr;
	REQUIRE(client_call(c, &q, &a, &r) == 0);
	REQUIRE(sf_code(r) == 0 && r->result_case == EVCHAIN__V1__RESPONSE__RESULT_CHECKPOINT);
	size_t n = r->checkpoint->checkpoint.len;
	char *nb = malloc(n + 1);
	REQUIRE(nb != NULL);
	memcpy(nb, r->checkpoint->checkpoint.data, n);
	nb[n] = '\0';
	int ok = client_verify_checkpoint(&p_court, (const uint8_t *)nb, n, cp, cos, err,
	    sizeof err) == 0;
	if (!ok)
		fprintf(stderr, "latest checkpoint: %s\n", err);
	REQUIRE(ok);
	if (len)
		*len = n;
	pb_arena_free(&a);
	client_close(c);
	return nb;
}

/* ---- cosignature/v1, byte for byte ------------------------------------------------ */

/* The 76 bytes of the cosignature line by `name` in a signed note. */
static int
cosig_of(const char *sn, const char *name, uint8_t out[NOTE_COSIG_LEN])
{
	char pat[256];
	snprintf(pat, sizeof pat, "\xe2\x80\x94 %s ", name);
	const char *p = strstr(sn, pat);
	if (p == NULL)
		return -1;
	p += strlen(pat);
	const char *nl = strchr(p, '\n');
	if (nl == NULL)
		return -1;
	return b64_decode(p, (size_t)(nl - p), out, NOTE_COSIG_LEN) == NOTE_COSIG_LEN ? 0 : -1;
}

/* The signed note's cosignature by witness profile wp follows C2SP
 * cosignature/v1 to the byte; its time is in [t_lo, now]. The bytes go to
 * out (may be NULL). */
static void
check_cosig(const char *signed_note, const evc_profile *wp, uint64_t t_lo, uint8_t *out)
{
	evc_vkey vk;
	note nt;
	uint8_t sig[NOTE_COSIG_LEN], id[32];
	keys_public(&wp->signing_key, &vk);
	REQUIRE(note_parse(signed_note, strlen(signed_note), &nt) == 0);
	int ok = cosig_of(signed_note, vk.name, sig) == 0;
	CHECK_(ok, "no cosignature line by %s in:\n%s", vk.name, signed_note);
	if (!ok)
		return;
	/* Key id: SHA-256(name || "\n" || 0x04 || key)[:4], computed here. */
	size_t nl = strlen(vk.name);
	uint8_t kb[EVC_MAX_KEY_NAME + 34];
	memcpy(kb, vk.name, nl);
	kb[nl] = '\n';
	kb[nl + 1] = 0x04;
	memcpy(kb + nl + 2, vk.pub, 32);
	crypto_hash_sha256(id, kb, nl + 34);
	CHECK_MEM(sig, id, 4);
	CHECK_EQ(vk.type, EVC_KEY_COSIGNATURE);
	/* Time: u64 big-endian seconds. */
	uint64_t t = 0;
	for (int i = 4; i < 12; i++)
		t = t << 8 | sig[i];
	CHECK_(t >= t_lo && t <= (uint64_t)time(NULL) + 1, "cosignature time %" PRIu64 " not in [%"
	    PRIu64 ", now]", t, t_lo);
	/* Ed25519 over "cosignature/v1\ntime T\n" || the checkpoint text. */
	char head[64];
	int hl = snprintf(head, sizeof head, "cosignature/v1\ntime %" PRIu64 "\n", t);
	uint8_t *msg = malloc((size_t)hl + nt.text_len);
	REQUIRE(msg != NULL);
	memcpy(msg, head, (size_t)hl);
	memcpy(msg + hl, nt.text, nt.text_len);
	CHECK(crypto_sign_verify_detached(sig + 12, msg, (size_t)hl + nt.text_len, vk.pub) == 0);
	free(msg);
	/* And lib/note agrees, also on a changed byte. */
	uint64_t t2 = 0;
	CHECK(cosig_verify(nt.text, nt.text_len, &vk, sig, &t2) == 0 && t2 == t);
	sig[40] ^= 1;
	CHECK(cosig_verify(nt.text, nt.text_len, &vk, sig, NULL) == EVC_EBADSIG);
	sig[40] ^= 1;
	if (out != NULL)
		memcpy(out, sig, NOTE_COSIG_LEN);
}

/* The state file's recorded cosignature. */
static int
state_cosig(const char *who, uint8_t out[NOTE_COSIG_LEN])
{
	char *s = slurp(sf_path("dep/witness-%s.state", who), NULL);
	if (s == NULL)
		return -1;
	const char *p = strstr(s, "\ncosignature ");
	int rc = -1;
	if (p != NULL) {
		p += strlen("\ncosignature ");
		const char *nl = strchr(p, '\n');
		rc = nl && b64_decode(p, (size_t)(nl - p), out, NOTE_COSIG_LEN) == NOTE_COSIG_LEN ? 0 : -1;
	}
	free(s);
	return rc;
}

/* ---- phases ----------------------------------------------------------------------- */

static Record *
example(const char *kind, pb_arena *a)
{
	Record *r = NULL;
	char err[256];
	const char *j = example_record_json(kind);
	REQUIRE(j != NULL);
	REQUIRE(pbjson_record_from_text(j, strlen(j), a, &r, err, sizeof err) == 0);
	r->created_ms = fx_now_ms();
	return r;
}

#define INSP "LC-SCJG-2025-0001"

/* The node's key, then one inspection with a story a court accepts. */
static void
t_seed(void)
{
	evc_client *c;
	fx_signed s;
	evc_vkey nvk;
	pb_arena a;

	sf_begin("seed", 20);
	keys_public(&p_node.signing_key, &nvk);
	c = sf_conn(&p_admin);
	REQUIRE(fx_node_key("reg-node-1", &p_admin.signing_key, &nvk, EVCHAIN__V1__NODE_KEY__ROLE__NODE,
	    EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, fx_now_ms(), &s) == 0);
	REQUIRE(sf_submit_ok(c, &p_admin, &s, NULL));
	fx_signed_free(&s);
	client_close(c);
	c = sf_conn(&p_node);
	pb_arena_init(&a, 1 << 20);
	REQUIRE(fx_sign(example("scan_in", &a), &p_node.signing_key, &s) == 0);
	REQUIRE(sf_submit_ok(c, &p_node, &s, NULL));
	fx_signed_free(&s);
	REQUIRE(fx_sign(example("disposition", &a), &p_node.signing_key, &s) == 0);
	REQUIRE(sf_submit_ok(c, &p_node, &s, NULL));
	fx_signed_free(&s);
	pb_arena_free(&a);
	client_close(c);
}

static int
verify_bundle(char *out, size_t cap, const char *args)
{
	return run_in_dep(out, cap, "evchain-verify", "bundle court.bundle --log-key log.pub %s", args);
}

static int
export_bundle(void)
{
	static char out[16384];
	unlink(sf_path("dep/court.bundle"));
	int rc = run_in_dep(out, sizeof out, "evchain", "-c court.conf --server %s export "
	    "--inspection " INSP " -o court.bundle", sf_addr);
	CHECK_(rc == 0, "export: exit %d: %s", rc, out);
	return rc;
}

static void
t_cosign(void)
{
	static char out[65536];
	uint8_t st_sup[NOTE_COSIG_LEN], st_disc[NOTE_COSIG_LEN], got[NOTE_COSIG_LEN];
	uint64_t t0 = (uint64_t)time(NULL);
	int rc;

	sf_begin("cosign", 30);
	/* Usage and a first --check. */
	rc = run_in_dep(out, sizeof out, "evchain-witness", "--help");
	CHECK_(rc == 0 && strstr(out, "usage: evchain-witness") && strstr(out, "--once"),
	    "--help: %d: %s", rc, out);
	rc = run_in_dep(out, sizeof out, "evchain-witness", "-c witness-supervisor.conf --bogus");
	CHECK_EQ(rc, 2);
	rc = run_in_dep(out, sizeof out, "evchain-witness", "--once");
	CHECK_EQ(rc, 2);
	rc = run_in_dep(out, sizeof out, "evchain-witness", "-c court.conf --once");
	CHECK_(rc == 2 && strstr(out, "0x04"), "a profile without a witness key: %d: %s", rc, out);
	rc = wit("supervisor", out, sizeof out, "--check");
	CHECK_(rc == 0 && strstr(out, "none yet") && strstr(out, "no alarm"), "--check: %d: %s", rc,
	    out);

	/* Both cosign: trust on first use, said so. */
	rc = wit("supervisor", out, sizeof out, "--once");
	CHECK_(rc == 0 && strstr(out, "trust on first use") && strstr(out, "cosigned"),
	    "witness-supervisor: %d: %s", rc, out);
	rc = wit("discipline", out, sizeof out, "--once");
	CHECK_(rc == 0 && strstr(out, "cosigned") && strstr(out, "holds for it: 2"),
	    "witness-discipline: %d: %s", rc, out);
	struct stat st;
	CHECK(stat(sf_path("dep/witness-supervisor.state"), &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(stat(sf_path("dep/witness-discipline.state"), &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(!exists(sf_path("dep/witness-supervisor.state.tmp")));

	/* The court asks for both. */
	rc = run_in_dep(out, sizeof out, "evchain", "-c court.conf --server %s checkpoint "
	    "--witnesses 2", sf_addr);
	CHECK_(rc == 0, "checkpoint --witnesses 2: %d: %s", rc, out);
	checkpoint cp;
	size_t cos = 0;
	char err[512];
	CHECK(client_verify_checkpoint(&p_court, (const uint8_t *)out, strlen(out), &cp, &cos, err,
	    sizeof err) == 0 && cos == 2);
	CHECK_EQ(cp.size, state_size("supervisor"));
	CHECK_EQ(cp.size, state_size("discipline"));
	/* Byte for byte, and the very bytes each witness recorded. */
	REQUIRE(state_cosig("supervisor", st_sup) == 0 && state_cosig("discipline", st_disc) == 0);
	check_cosig(out, &p_wit, t0, got);
	CHECK_MEM(got, st_sup, NOTE_COSIG_LEN);
	check_cosig(out, &p_wdisc, t0, got);
	CHECK_MEM(got, st_disc, NOTE_COSIG_LEN);
	/* Each state file's checkpoint is the log's note plus its own line. */
	char *sf = slurp(sf_path("dep/witness-supervisor.state"), NULL);
	REQUIRE(sf != NULL);
	const char *body = strstr(sf, "\ncheckpoint ");
	REQUIRE(body != NULL && (body = strchr(body + 1, '\n')) != NULL);
	body++;
	note nt;
	evc_vkey keys[2];
	keys[0] = p_wit.log_key;
	keys_public(&p_wit.signing_key, &keys[1]);
	CHECK(note_open(body, strlen(body), keys, 2, &nt) == 2);
	free(sf);
}

static void
t_court(void)
{
	static char out[65536];
	int rc;

	sf_begin("court", 40);
	/* The bundle as exported now carries both cosignatures. */
	if (export_bundle() == 0) {
		rc = verify_bundle(out, sizeof out, "--witness witness-supervisor.pub "
		    "--witness witness-discipline.pub --quorum 2");
		CHECK_(rc == 0, "bundle, quorum 2: exit %d: %s", rc, out);
		/* A C2SP tlog-policy demanding both. */
		char pol[2048], lv[KEYS_VKEY_MAX], w1[KEYS_VKEY_MAX], w2[KEYS_VKEY_MAX];
		evc_vkey v1, v2;
		keys_public(&p_wit.signing_key, &v1);
		keys_public(&p_wdisc.signing_key, &v2);
		REQUIRE(keys_vkey_format(&p_court.log_key, lv, sizeof lv) > 0);
		REQUIRE(keys_vkey_format(&v1, w1, sizeof w1) > 0 && keys_vkey_format(&v2, w2, sizeof w2) > 0);
		snprintf(pol, sizeof pol, "# the court's policy\nlog %s\nwitness sup %s\nwitness disc %s\n"
		    "group both all sup disc\nquorum both\n", lv, w1, w2);
		sf_write(sf_path("dep/court.policy"), pol);
		rc = verify_bundle(out, sizeof out, "--policy court.policy");
		CHECK_(rc == 0, "bundle, policy: exit %d: %s", rc, out);
	}

	/* A new entry: the court waits for both witnesses. */
	uint64_t size = append("COURT", 1);
	char cmd[4096];
	unlink(sf_path("dep/wait.rc"));
	snprintf(cmd, sizeof cmd, "cd '%s' && ( '%s' -c court.conf --server %s checkpoint --witnesses 2 "
	    "--wait 20 >wait.out 2>&1; echo $? >wait.rc.tmp; mv wait.rc.tmp wait.rc ) &", sf_dep,
	    sf_prog("evchain"), sf_addr);
	REQUIRE(system(cmd) == 0);
	rc = wit("supervisor", out, sizeof out, "--once");
	CHECK_(rc == 0 && strstr(out, "cosigned"), "witness-supervisor: %d: %s", rc, out);
	CHECK_EQ(state_size("supervisor"), size);
	usleep(300000);
	CHECK_(!exists(sf_path("dep/wait.rc")), "checkpoint --witnesses 2 returned with one cosignature");
	/* Cosigned by one witness only: a court demanding two refuses it. */
	if (export_bundle() == 0) {
		rc = verify_bundle(out, sizeof out, "--witness witness-supervisor.pub "
		    "--witness witness-discipline.pub --quorum 2");
		CHECK_(rc == 1 && strstr(out, "quorum"), "bundle with one cosignature, quorum 2: %d: %s", rc,
		    out);
		rc = verify_bundle(out, sizeof out, "--policy court.policy");
		CHECK_(rc == 1, "bundle with one cosignature, policy: %d", rc);
		rc = verify_bundle(out, sizeof out, "--witness witness-supervisor.pub "
		    "--witness witness-discipline.pub --quorum 1");
		CHECK_(rc == 0, "bundle with one cosignature, quorum 1: %d: %s", rc, out);
	}
	rc = wit("discipline", out, sizeof out, "--once");
	CHECK_(rc == 0 && strstr(out, "cosigned"), "witness-discipline: %d: %s", rc, out);
	int waited = 0;
	for (int i = 0; i < 500 && !exists(sf_path("dep/wait.rc")); i++, waited++)
		usleep(20000);
	char *wrc = slurp(sf_path("dep/wait.rc"), NULL), *wout = slurp(sf_path("dep/wait.out"), NULL);
	CHECK_(wrc != NULL && atoi(wrc) == 0 && wout != NULL && strstr(wout, "witness-discipline") &&
	    strstr(wout, "witness-supervisor"), "checkpoint --witnesses 2 --wait: %s: %s",
	    wrc ? wrc : "(none)", wout ? wout : "");
	free(wrc);
	free(wout);
	if (export_bundle() == 0) {
		rc = verify_bundle(out, sizeof out, "--witness witness-supervisor.pub "
		    "--witness witness-discipline.pub --quorum 2");
		CHECK_(rc == 0, "bundle, both again: %d: %s", rc, out);
	}
}

static void
t_restart(void)
{
	static char out[65536];
	size_t l1, l2, cos;
	checkpoint cp;
	uint8_t before[NOTE_COSIG_LEN], after[NOTE_COSIG_LEN];
	int rc;

	sf_begin("restart", 20);
	char *s1 = slurp(sf_path("dep/witness-supervisor.state"), &l1);
	REQUIRE(s1 != NULL);
	char *n1 = latest(&cp, &cos, NULL);
	REQUIRE(cosig_of(n1, "witness-supervisor", before) == 0);
	rc = wit("supervisor", out, sizeof out, "--once");
	CHECK_(rc == 0 && strstr(out, "following") && strstr(out, "up to date") && !strstr(out,
	    "trust on first use") && !strstr(out, "cosigned evchain"), "restarted witness: %d: %s", rc,
	    out);
	char *s2 = slurp(sf_path("dep/witness-supervisor.state"), &l2);
	CHECK(s2 != NULL && l1 == l2 && memcmp(s1, s2, l1) == 0);
	char *n2 = latest(&cp, &cos, NULL);
	CHECK_EQ(cos, 2);
	CHECK(cosig_of(n2, "witness-supervisor", after) == 0 && memcmp(before, after, sizeof after) == 0);
	free(s1);
	free(s2);
	free(n1);
	free(n2);
	/* A damaged state file: refused loudly, never overwritten by trust anew. */
	sf_write(sf_path("dep/witness-x.state"), "evchain-witness-state v1\nwitness witness-supervisor\n");
	rc = wit("supervisor", out, sizeof out, "--once --state witness-x.state");
	CHECK_(rc == 1 && strstr(out, "damaged"), "damaged state: %d: %s", rc, out);
	rc = wit("supervisor", out, sizeof out, "--check --state witness-x.state");
	CHECK_(rc == 1 && strstr(out, "DAMAGED"), "damaged state --check: %d: %s", rc, out);
	unlink(sf_path("dep/witness-x.state"));
}

/* Start a program in the background (killed at exit like the servers);
 * stdout and stderr to `log` in the temporary directory. */
static sf_server *
spawn(const char *log, char *const argv[])
{
	REQUIRE(sf_nservers < SF_MAX_SERVERS);
	sf_server *w = &sf_servers[sf_nservers];
	snprintf(w->log, sizeof w->log, "%s/%s", sf_tmp, log);
	sf_nservers++;
	fflush(NULL);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(w->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || chdir(sf_dep) != 0)
			_exit(127);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	w->pid = pid;
	return w;
}

/* A witness following the log; stopped with SIGTERM. */
static void
t_follow(void)
{
	sf_begin("follow", 30);
	char *argv[] = { (char *)sf_prog("evchain-witness"), "-c", "witness-supervisor.conf",
		"--server", sf_addr, "--interval", "50", NULL };
	sf_server *w = spawn("witness-follow.log", argv);
	/* A second witness on the same state is refused while it runs. */
	for (int i = 0; i < 250; i++) {
		char *l = slurp(w->log, NULL);
		int up = l != NULL && strstr(l, "following") != NULL;
		free(l);
		if (up)
			break;
		usleep(20000);
	}
	static char out[8192];
	int rc = wit("supervisor", out, sizeof out, "--once");
	CHECK_(rc == 3 && strstr(out, "another evchain-witness"), "second witness on one state: %d: %s",
	    rc, out);

	uint64_t size = append("FOLLOW", 2);
	int seen = 0;
	for (int i = 0; i < 250 && !seen; i++) {
		checkpoint cp;
		size_t cos;
		uint8_t sig[NOTE_COSIG_LEN];
		char *n = latest(&cp, &cos, NULL);
		seen = cp.size == size && cosig_of(n, "witness-supervisor", sig) == 0;
		free(n);
		if (!seen)
			usleep(20000);
	}
	CHECK_(seen, "the following witness did not cosign size %" PRIu64, size);
	CHECK_EQ(state_size("supervisor"), size);
	uint64_t ms;
	CHECK_EQ(sf_stop(w, SIGTERM, 5000, &ms), 0);
	char *log = slurp(w->log, NULL);
	CHECK_(log && strstr(log, "cosigned") && strstr(log, "stopping on a signal") &&
	    !strstr(log, "ALARM"), "follow log: %s", log ? log : "");
	free(log);
}

static void
t_monitor(void)
{
	static char out[65536];
	int rc;

	sf_begin("monitor", 30);
	rc = mon("supervisor.conf", out, sizeof out, "--once");
	if (!mon_ok)
		return;
	checkpoint cp;
	size_t cos;
	free(latest(&cp, &cos, NULL));
	char want[128];
	snprintf(want, sizeof want, "\"from\":0,\"size\":%" PRIu64 ",", cp.size);
	CHECK_(rc == 0 && strstr(out, "\"event\":\"verified\"") && strstr(out, want),
	    "monitor from scratch: %d: %s", rc, out);
	CHECK(exists(sf_path("dep/supervisor.monitor")));
	/* Resume: only what is new. */
	uint64_t size = append("MON", 3);
	rc = mon("supervisor.conf", out, sizeof out, "--once");
	snprintf(want, sizeof want, "\"from\":%" PRIu64 ",\"size\":%" PRIu64 ",", cp.size, size);
	CHECK_(rc == 0 && strstr(out, want) && strstr(out, "\"verified\":3,"), "monitor resumed: %d: %s",
	    rc, out);
	rc = mon("supervisor.conf", out, sizeof out, "--once");
	CHECK_(rc == 0 && strstr(out, "up-to-date"), "monitor again: %d: %s", rc, out);
	rc = mon("supervisor.conf", out, sizeof out, "--check");
	CHECK_(rc == 0 && strstr(out, "no alarm"), "monitor --check: %d: %s", rc, out);
	/* Following (--interval), stopped with SIGTERM. */
	char *argv[] = { (char *)sf_prog("evchain"), "-c", "supervisor.conf", "--server", sf_addr,
		"monitor", "--interval", "50", NULL };
	sf_server *mp = spawn("monitor-follow.log", argv);
	size = append("MONF", 2);
	int seen = 0;
	for (int i = 0; i < 250 && !seen; i++) {
		char *st = slurp(sf_path("dep/supervisor.monitor"), NULL);
		seen = st != NULL && line_u64(st, "size") == size;
		free(st);
		if (!seen)
			usleep(20000);
	}
	CHECK_(seen, "the following monitor did not reach size %" PRIu64, size);
	uint64_t ms;
	CHECK_EQ(sf_stop(mp, SIGTERM, 5000, &ms), 0);
	char *log = slurp(mp->log, NULL);
	CHECK_(log && strstr(log, "\"event\":\"verified\"") && strstr(log, "stopping on a signal") &&
	    !strstr(log, "ALARM"), "monitor follow log: %s", log ? log : "");
	free(log);

	/* The discipline commission's own, from scratch, in small pages. */
	rc = mon("discipline.conf", out, sizeof out, "--once --page 2");
	snprintf(want, sizeof want, "\"from\":0,\"size\":%" PRIu64 ",", size);
	CHECK_(rc == 0 && strstr(out, want), "discipline monitor: %d: %s", rc, out);
	/* A node may not read entries: an error, not an alarm. */
	rc = mon("node.conf", out, sizeof out, "--once --state node.monitor");
	CHECK_(rc == 3 && !strstr(out, "ALARM"), "monitor as a node: %d: %s", rc, out);
}

/* Check an alarm file: kind, both signed checkpoints valid under the log key
 * with the given sizes. Returns the two roots. */
static void
check_alarm(const char *path, const char *kind, uint64_t trusted, uint64_t seen, uint8_t tr[32],
    uint8_t sr[32])
{
	size_t n;
	char *a = slurp(path, &n);
	CHECK_(a != NULL, "no alarm file %s", path);
	if (a == NULL)
		return;
	char k[64];
	snprintf(k, sizeof k, "\nkind %s\n", kind);
	CHECK_(strstr(a, k) != NULL, "%s: not a %s alarm:\n%s", path, kind, a);
	CHECK_EQ(line_u64(a, "trusted-size"), trusted);
	CHECK_EQ(line_u64(a, "seen-size"), seen);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	/* The evidence: two notes the log key signed. */
	const char *names[2] = { "trusted-checkpoint", "seen-checkpoint" };
	uint64_t sizes[2] = { trusted, seen };
	uint8_t *roots[2] = { tr, sr };
	for (int i = 0; i < 2; i++) {
		char pat[64];
		snprintf(pat, sizeof pat, "\n%s ", names[i]);
		const char *p = strstr(a, pat);
		CHECK_(p != NULL, "%s: no %s", path, names[i]);
		if (p == NULL)
			continue;
		uint64_t len = strtoull(p + strlen(pat), NULL, 10);
		const char *body = strchr(p + 1, '\n');
		REQUIRE(body != NULL);
		body++;
		REQUIRE((size_t)(body - a) + len <= n);
		note nt;
		checkpoint cp;
		int ok = note_open(body, (size_t)len, &p_court.log_key, 1, &nt) >= 1 &&
		    checkpoint_parse(nt.text, nt.text_len, &cp) == 0 && cp.size == sizes[i];
		CHECK_(ok, "%s: the %s is not a log-signed checkpoint of size %" PRIu64, path, names[i],
		    sizes[i]);
		if (ok && roots[i] != NULL)
			memcpy(roots[i], cp.root, 32);
	}
	free(a);
}

static void
t_rollback_and_fork(void)
{
	static char out[65536];
	char cmd[4096];
	int rc;
	uint8_t r1[32], r2[32];

	sf_begin("restore", 40);
	/* Copy the data directory at S1, before the discipline witness cosigned S1. */
	uint64_t s1 = append("S1", 1);
	CHECK_EQ(sf_stop(srv, SIGTERM, 10000, NULL), 0);
	CHECK_EQ(fx_sh("cp -a '%s/data' '%s/data-s1'", sf_dep, sf_dep), 0);
	srv = sf_start(sf_path("dep/evchaind.conf"), NULL);
	sf_use(srv);
	rc = wit("discipline", out, sizeof out, "--once");
	CHECK_(rc == 0 && strstr(out, "cosigned"), "witness-discipline at S1: %d: %s", rc, out);
	CHECK_EQ(state_size("discipline"), s1);
	uint8_t mine[NOTE_COSIG_LEN], again[NOTE_COSIG_LEN];
	REQUIRE(state_cosig("discipline", mine) == 0);

	/* The same tree restored without that cosignature: the same bytes are
	 * handed again, no second cosignature. */
	CHECK_EQ(sf_stop(srv, SIGTERM, 10000, NULL), 0);
	CHECK_EQ(fx_sh("rm -rf '%s/data' && cp -a '%s/data-s1' '%s/data'", sf_dep, sf_dep, sf_dep), 0);
	srv = sf_start(sf_path("dep/evchaind.conf"), NULL);
	sf_use(srv);
	rc = wit("discipline", out, sizeof out, "--once");
	CHECK_(rc == 0 && strstr(out, "handed again"), "witness-discipline, restored same tree: %d: %s",
	    rc, out);
	checkpoint cp;
	size_t cos;
	char *n = latest(&cp, &cos, NULL);
	CHECK(cp.size == s1 && cosig_of(n, "witness-discipline", again) == 0 &&
	    memcmp(mine, again, NOTE_COSIG_LEN) == 0);
	free(n);

	/* The log grows to S2; both witnesses and the monitor follow. */
	uint64_t s2 = append("S2", 2);
	rc = wit("supervisor", out, sizeof out, "--once");
	CHECK_EQ(rc, 0);
	rc = wit("discipline", out, sizeof out, "--once");
	CHECK_EQ(rc, 0);
	CHECK(state_size("supervisor") == s2 && state_size("discipline") == s2);
	if (mon_ok) {
		rc = mon("supervisor.conf", out, sizeof out, "--once");
		CHECK_(rc == 0, "monitor at S2: %d: %s", rc, out);
	}

	/* Rollback: the log restored from the copy at S1. */
	sf_begin("rollback", 40);
	CHECK_EQ(sf_stop(srv, SIGTERM, 10000, NULL), 0);
	CHECK_EQ(fx_sh("rm -rf '%s/data' && cp -a '%s/data-s1' '%s/data'", sf_dep, sf_dep, sf_dep), 0);
	srv = sf_start(sf_path("dep/evchaind.conf"), NULL);
	sf_use(srv);
	const char *who[2] = { "supervisor", "discipline" };
	for (int i = 0; i < 2; i++) {
		rc = wit(who[i], out, sizeof out, "--once");
		CHECK_(rc == 1 && strstr(out, "ALARM rollback") && strstr(out, "alarm-1"),
		    "witness-%s on a rolled-back log: %d: %s", who[i], rc, out);
		check_alarm(sf_path("dep/witness-%s.state.alarm-1", who[i]), "rollback", s2, s1, NULL, NULL);
		CHECK_EQ(state_size(who[i]), s2);
		rc = wit(who[i], out, sizeof out, "--check");
		CHECK_(rc == 1 && strstr(out, "ALARM") && strstr(out, "rollback"), "--check: %d: %s", rc,
		    out);
		/* Persistently: run again, still refused, no new cosignature. */
		rc = wit(who[i], out, sizeof out, "--once");
		CHECK_(rc == 1 && strstr(out, "refusing"), "witness-%s again: %d: %s", who[i], rc, out);
		CHECK(!exists(sf_path("dep/witness-%s.state.alarm-2", who[i])));
	}
	if (mon_ok) {
		rc = mon("supervisor.conf", out, sizeof out, "--once");
		CHECK_(rc == 1 && strstr(out, "ALARM rollback"), "monitor on a rolled-back log: %d: %s", rc,
		    out);
		check_alarm(sf_path("dep/supervisor.monitor.alarm-1"), "rollback", s2, s1, NULL, NULL);
		rc = mon("supervisor.conf", out, sizeof out, "--check");
		CHECK_(rc == 1 && strstr(out, "rollback"), "monitor --check: %d: %s", rc, out);
		rc = mon("supervisor.conf", out, sizeof out, "--once");
		CHECK_(rc == 1 && strstr(out, "refusing"), "monitor again: %d: %s", rc, out);
	}

	/* Fork: the operator removes the alarms (the evidence kept elsewhere);
	 * the restored log grows other entries to the same size S2. */
	sf_begin("fork", 40);
	CHECK_EQ(fx_sh("mkdir '%s/evidence-rollback' && mv '%s'/*.alarm-* '%s/evidence-rollback/'",
	    sf_dep, sf_dep, sf_dep), 0);
	uint64_t f2 = append("FORK", (int)(s2 - s1));
	REQUIRE(f2 == s2);
	rc = wit("supervisor", out, sizeof out, "--once");
	CHECK_(rc == 1 && strstr(out, "ALARM fork") && strstr(out, "two trees of one size"),
	    "witness-supervisor on a fork: %d: %s", rc, out);
	check_alarm(sf_path("dep/witness-supervisor.state.alarm-1"), "fork", s2, s2, r1, r2);
	CHECK_(memcmp(r1, r2, 32) != 0, "the fork's two checkpoints have the same root");
	/* Nobody cosigned the forked tree. */
	n = latest(&cp, &cos, NULL);
	CHECK(cp.size == s2 && cos == 0);
	free(n);
	/* One more entry: no consistency proof joins it to S2. */
	uint64_t f3 = append("FORK", 1);
	rc = wit("discipline", out, sizeof out, "--once");
	CHECK_(rc == 1 && strstr(out, "ALARM fork") && strstr(out, "not consistent"),
	    "witness-discipline on a fork: %d: %s", rc, out);
	check_alarm(sf_path("dep/witness-discipline.state.alarm-1"), "fork", s2, f3, NULL, NULL);
	char *a = slurp(sf_path("dep/witness-discipline.state.alarm-1"), NULL);
	char pat[64];
	snprintf(pat, sizeof pat, "\nproof %" PRIu64 " %" PRIu64 " ", s2, f3);
	CHECK_(a && strstr(a, pat), "the failing proof is kept: %s", a ? a : "");
	free(a);
	for (int i = 0; i < 2; i++) {
		rc = wit(who[i], out, sizeof out, "--check");
		CHECK_(rc == 1 && strstr(out, "fork"), "--check after the fork: %d: %s", rc, out);
		CHECK_EQ(state_size(who[i]), s2);
	}
	if (mon_ok) {
		rc = mon("supervisor.conf", out, sizeof out, "--once");
		CHECK_(rc == 1 && strstr(out, "ALARM fork"), "monitor on a fork: %d: %s", rc, out);
		check_alarm(sf_path("dep/supervisor.monitor.alarm-1"), "fork", s2, f3, NULL, NULL);
	}

	/* Another key under the log's name: a bad signature. */
	sf_begin("badsig", 30);
	CHECK_EQ(fx_sh("mkdir '%s/evidence-fork' && mv '%s'/*.alarm-* '%s/evidence-fork/'", sf_dep,
	    sf_dep, sf_dep), 0);
	sf_keys("gen --type log --name evchain.local/dev-log --out '%s/evil-log'", sf_dep);
	sf_write(sf_path("dep/evchaind-evil.conf"), "listen = 127.0.0.1:9\ndata = data-evil\n"
	    "log_key = evil-log.key\nadmin_key = admin.pub\nca = ca.crt\ncert = server.crt\n"
	    "key = server-tls.key\nwitness = witness-supervisor.pub\nwitness = witness-discipline.pub\n");
	restart(sf_path("dep/evchaind-evil.conf"));
	rc = wit("supervisor", out, sizeof out, "--once");
	CHECK_(rc == 1 && strstr(out, "ALARM bad-signature"), "witness on an impostor log: %d: %s", rc,
	    out);
	char *ba = slurp(sf_path("dep/witness-supervisor.state.alarm-1"), NULL);
	CHECK_(ba && strstr(ba, "\nkind bad-signature\n") && line_u64(ba, "seen-size") == 1 &&
	    line_u64(ba, "trusted-size") == s2, "bad-signature alarm: %s", ba ? ba : "");
	free(ba);
	if (mon_ok) {
		rc = mon("supervisor.conf", out, sizeof out, "--once");
		CHECK_(rc == 1 && strstr(out, "ALARM bad-signature"), "monitor on an impostor log: %d: %s",
		    rc, out);
	}
	snprintf(cmd, sizeof cmd, "ls '%s/evidence-rollback' '%s/evidence-fork' | grep -c alarm", sf_dep,
	    sf_dep);
	rc = fx_run(cmd, out, sizeof out);
	CHECK_(rc == 0 && atoi(out) == (mon_ok ? 6 : 4), "evidence kept: %s", out);
}

int
main(void)
{
	sf_setup("witness");
	sf_profile("witness-discipline.conf", &p_wdisc);
	REQUIRE(p_wdisc.has_signing_key && p_wdisc.signing_key.type == EVC_KEY_COSIGNATURE);
	sf_begin("start", 20);
	srv = sf_start(sf_path("dep/evchaind.conf"), NULL);
	sf_use(srv);

	t_seed();
	t_cosign();
	t_court();
	t_restart();
	t_follow();
	t_monitor();
	t_rollback_and_fork();
	alarm(0);
	CHECK_DONE("test_witness");
}
