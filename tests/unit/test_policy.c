/*
 * test_policy.c — C2SP tlog-policy: the spec's two-level example, quorum
 * evaluation, every rule the spec states (negative cases name their line),
 * and the builders evchain-verify uses for --witness/--quorum.
 */
#include <sodium.h>

#include "../check.h"
#include "fixture.h"
#include "policy.h"

static char lk[KEYS_VKEY_MAX], wk[6][KEYS_VKEY_MAX];
static evc_vkey lv, wv[6];

/* Parse text built from a template where %L is the log key and %0..%5 the
 * witness keys. */
static int
parse_t(const char *tmpl, policy *p, char *err, size_t errcap)
{
	char text[8192];
	size_t n = 0;
	for (const char *s = tmpl; *s != '\0' && n + KEYS_VKEY_MAX < sizeof(text); s++) {
		if (s[0] == '%' && s[1] == 'L') {
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", lk);
			s++;
		} else if (s[0] == '%' && s[1] >= '0' && s[1] <= '5') {
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", wk[s[1] - '0']);
			s++;
		} else {
			text[n++] = *s;
		}
	}
	text[n] = '\0';
	return policy_parse(text, n, p, err, errcap);
}

static void
bad(policy *p, const char *tmpl, const char *want)
{
	char err[512] = "";
	int rc = parse_t(tmpl, p, err, sizeof(err));
	CHECK_(rc < 0, "accepted: %s", tmpl);
	CHECK_(strstr(err, want) != NULL, "for %s: want \"%s\" in \"%s\"", tmpl, want, err);
	CHECK_EQ(p->quorum, POLICY_QUORUM_UNSET);  /* a failed parse leaves an empty policy */
}

int
main(void)
{
	policy *p = malloc(sizeof(*p));
	char err[512], desc[512];
	uint8_t w[POLICY_MAX_NODES];
	evc_skey sk;

	REQUIRE(p != NULL && sodium_init() >= 0);
	REQUIRE(keys_generate("example.com/log", EVC_KEY_ED25519, &sk, &lv) == 0);
	REQUIRE(keys_vkey_format(&lv, lk, sizeof(lk)) > 0);
	for (int i = 0; i < 6; i++) {
		char name[32];
		snprintf(name, sizeof(name), "witness-%d.example", i);
		REQUIRE(keys_generate(name, EVC_KEY_COSIGNATURE, &sk, &wv[i]) == 0);
		REQUIRE(keys_vkey_format(&wv[i], wk[i], sizeof(wk[i])) > 0);
	}
	keys_skey_wipe(&sk);

	/* The spec's example: two groups of three, 2-of-X and any-of-Y, both. */
	CHECK_EQ(parse_t("# example policy\n"
	    "log %L https://log.example/\n"
	    "\n"
	    "witness X1 %0\n"
	    "witness X2 %1 https://x2.example/\n"
	    "  witness\tX3 %2   \n"
	    "group X-witnesses 2 X1 X2 X3\n"
	    "\t# the Y operator\n"
	    "witness Y1 %3\n"
	    "witness Y2 %4\n"
	    "witness Y3 %5\n"
	    "group Y-witnesses any Y1 Y2 Y3\n"
	    "group X-and-Y all X-witnesses Y-witnesses\n"
	    "quorum X-and-Y", p, err, sizeof(err)), 0);
	CHECK_(err[0] == '\0', "%s", err);
	CHECK_EQ(p->nlogs, 1);
	CHECK_STR(p->logs[0].name, "example.com/log");
	CHECK_EQ(p->nnodes, 9);
	CHECK_EQ(p->quorum, 8);
	CHECK_STR(p->nodes[2].name, "X3");
	CHECK_MEM(p->nodes[2].vk.pub, wv[2].pub, 32);
	policy_describe(p, desc, sizeof(desc));
	CHECK_STR(desc, "all of {X-witnesses: 2 of {X1, X2, X3}, Y-witnesses: any of {Y1, Y2, Y3}}");
	/* X1+X2+Y3 witnessed: met; X1+Y1: not (one X); X1+X2: not (no Y). */
	memset(w, 0, sizeof(w));
	w[0] = w[1] = w[6] = 1;
	CHECK_EQ(policy_quorum_met(p, w), 1);
	memset(w, 0, sizeof(w));
	w[0] = w[4] = 1;
	CHECK_EQ(policy_quorum_met(p, w), 0);
	memset(w, 0, sizeof(w));
	w[0] = w[1] = 1;
	CHECK_EQ(policy_quorum_met(p, w), 0);
	/* Group entries in `witnessed` do not count by themselves. */
	memset(w, 0, sizeof(w));
	w[3] = w[7] = w[8] = 1;
	CHECK_EQ(policy_quorum_met(p, w), 0);

	/* A single witness as the quorum; quorum none; no logs is allowed. */
	CHECK_EQ(parse_t("witness A %0\nquorum A\n", p, err, sizeof(err)), 0);
	memset(w, 0, sizeof(w));
	CHECK_EQ(policy_quorum_met(p, w), 0);
	w[0] = 1;
	CHECK_EQ(policy_quorum_met(p, w), 1);
	CHECK_STR(policy_describe(p, desc, sizeof(desc)), "A");
	CHECK_EQ(parse_t("log %L\nquorum none\n", p, err, sizeof(err)), 0);
	CHECK_EQ(p->quorum, POLICY_QUORUM_NONE);
	CHECK_EQ(policy_quorum_met(p, NULL), 1);
	CHECK_STR(policy_describe(p, desc, sizeof(desc)), "none");
	/* Non-ASCII names are opaque octets. */
	CHECK_EQ(parse_t("witness 司法局见证 %0\nwitness 纪委见证 %1\ngroup 双方 all 司法局见证 纪委见证\n"
	    "quorum 双方\n", p, err, sizeof(err)), 0);
	CHECK_STR(policy_describe(p, desc, sizeof(desc)), "all of {司法局见证, 纪委见证}");

	/* What the spec refuses. */
	bad(p, "log %L\n", "no quorum");
	bad(p, "witness A %0\nquorum A\nquorum none\n", "line 3: the quorum is defined twice");
	bad(p, "quorum A\nwitness A %0\n", "line 1: quorum: \"A\" is not defined");
	bad(p, "witness A %0\ngroup G any A B\nwitness B %1\nquorum G\n", "line 2: group G: \"B\" is not defined");
	bad(p, "witness A %0\nwitness B %1\ngroup G any A B A\nquorum G\n", "line 3: group \"G\": \"A\" is listed twice");
	bad(p, "witness A %0\nwitness B %1\ngroup G 3 A B\nquorum G\n", "line 3: group G: threshold 3 exceeds");
	bad(p, "witness A %0\ngroup G 0 A\nquorum G\n", "line 2: group G: threshold \"0\"");
	bad(p, "witness A %0\ngroup G 01 A\nquorum G\n", "threshold \"01\"");
	bad(p, "witness A %0\ngroup G any\nquorum G\n", "at least one member");
	bad(p, "witness A %0\ngroup G any A none\nquorum G\n", "\"none\" cannot be a member");
	bad(p, "witness none %0\nquorum none\n", "line 1: \"none\" is reserved");
	bad(p, "witness A %0\nwitness A %1\nquorum A\n", "line 2: \"A\" is already defined");
	bad(p, "witness A %0\ngroup A any A\nquorum A\n", "\"A\" is already defined");
	bad(p, "witness A %0\nwitness B %0\nquorum A\n", "line 2: witness \"B\" has the same public key");
	bad(p, "log %L\nlog %L\nquorum none\n", "line 2: log key \"example.com/log\" duplicates");
	bad(p, "log %0\nquorum none\n", "line 1: log key \"witness-0.example\" is not an Ed25519");
	bad(p, "witness A %L\nquorum A\n", "line 1: witness \"A\": key \"example.com/log\" is not a cosignature/v1");
	bad(p, "witness A not-a-key\nquorum A\n", "line 1: witness A: \"not-a-key\" is not a verifier key");
	bad(p, "witness A %0 url extra\nquorum A\n", "line 1: expected \"witness <name> <vkey> [<url>]\"");
	bad(p, "witnesses A %0\nquorum A\n", "line 1: unknown keyword \"witnesses\"");
	bad(p, "log %L\r\nquorum none\n", "line 1: control character 0x0d");
	bad(p, "quorum none\nlog %L\n\x01\n", "line 3: control character 0x01");
	bad(p, "quorum\n", "line 1: expected \"quorum <name>|none\"");
	{
		/* Over the limits. */
		char big[POLICY_MAX_TEXT + 2];
		memset(big, '#', sizeof(big));
		CHECK_EQ(policy_parse(big, sizeof(big), p, err, sizeof(err)), EVC_ETOOLARGE);
		char line[4096] = "group G any";
		for (int i = 0; i < POLICY_MAX_MEMBERS + 1; i++)
			strcat(line, " A");
		strcat(line, "\n");
		CHECK_EQ(policy_parse(line, strlen(line), p, err, sizeof(err)), EVC_ETOOLARGE);
	}

	/* Builders, as evchain-verify uses them for --witness … --quorum K. */
	policy_init(p);
	CHECK_EQ(policy_add_log(p, &lv, err, sizeof(err)), 0);
	int m[3];
	for (int i = 0; i < 3; i++)
		CHECK_EQ(m[i] = policy_add_witness(p, wv[i].name, &wv[i], err, sizeof(err)), i);
	CHECK_EQ(policy_add_witness(p, "again", &wv[0], err, sizeof(err)), EVC_EINVAL);
	CHECK_EQ(policy_add_group(p, "q", 4, m, 3, err, sizeof(err)), EVC_EINVAL);
	CHECK_EQ(policy_add_group(p, "q", 2, m, 3, err, sizeof(err)), 3);
	CHECK_EQ(policy_set_quorum(p, 7, err, sizeof(err)), EVC_EINVAL);
	CHECK_EQ(policy_set_quorum(p, 3, err, sizeof(err)), 0);
	CHECK_EQ(policy_set_quorum(p, 3, err, sizeof(err)), EVC_EINVAL);
	memset(w, 0, sizeof(w));
	w[2] = 1;
	CHECK_EQ(policy_quorum_met(p, w), 0);
	w[0] = 1;
	CHECK_EQ(policy_quorum_met(p, w), 1);
	policy_describe(p, desc, sizeof(desc));
	CHECK_STR(desc, "2 of {witness-0.example, witness-1.example, witness-2.example}");
	char small[16];
	policy_describe(p, small, sizeof(small));
	CHECK_STR(small, "2 of {witnes...");

	/* A file. */
	{
		char *dir = fx_tmpdir("policy"), path[600];
		REQUIRE(dir != NULL);
		snprintf(path, sizeof(path), "%s/p.policy", dir);
		FILE *f = fopen(path, "w");
		REQUIRE(f != NULL);
		fprintf(f, "log %s\nwitness sup %s\nquorum sup\n", lk, wk[0]);
		fclose(f);
		CHECK_EQ(policy_read(path, p, err, sizeof(err)), 0);
		CHECK_EQ(p->nnodes, 1);
		snprintf(path, sizeof(path), "%s/none", dir);
		CHECK_EQ(policy_read(path, p, err, sizeof(err)), EVC_EIO);
		fx_rmrf(dir);
		free(dir);
	}
	free(p);
	CHECK_DONE("test_policy");
}
