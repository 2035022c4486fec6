/*
 * test_conf.c — conf files: parsing, comments, repeats, conf_get_all,
 * integers with suffixes and ranges, error line numbers, relative paths,
 * conf_write.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "conf.h"
#include "evc.h"

static char tmpdir[] = "/tmp/evc-test-conf-XXXXXX";
static char realtmp[PATH_MAX];

static const char *
tpath(const char *name)
{
	static char buf[8][PATH_MAX];
	static unsigned k;
	char *p = buf[k++ % 8];
	int n = snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
	REQUIRE(n > 0 && (size_t)n < sizeof buf[0]);
	return p;
}

static const char *
spit(const char *name, const char *text, size_t len)
{
	const char *p = tpath(name);
	FILE *f;

	unlink(p);
	f = fopen(p, "wb");
	REQUIRE(f != NULL);
	REQUIRE(fwrite(text, 1, len, f) == len);
	REQUIRE(fclose(f) == 0);
	return p;
}

/* want = realpath(tmpdir) + suffix */
static void
want_path(char *want, size_t cap, const char *suffix)
{
	int n = snprintf(want, cap, "%s%s", realtmp, suffix);
	REQUIRE(n > 0 && (size_t)n < cap);
}

#define SPIT(name, lit) spit((name), (lit), sizeof(lit) - 1)

/* Load text; expect failure code `want` with "path:line:" in the message. */
static void
expect_error(const char *text, size_t len, int want, unsigned line, int lineno)
{
	char err[512], needle[PATH_MAX + 32];
	conf c;
	const char *p = spit("bad.conf", text, len);
	int r = conf_load(p, &c, err, sizeof err);

	CHECK_(r == want, "line %d: conf_load returned %d, want %d", lineno, r, want);
	snprintf(needle, sizeof needle, "%s:%u: ", p, line);
	CHECK_(strstr(err, needle) != NULL, "line %d: error \"%s\" lacks \"%s\"", lineno, err, needle);
	CHECK_(c.n == 0 && c.items == NULL, "line %d: conf not cleared", lineno);
}
#define EXPECT_ERROR(lit, line) expect_error((lit), sizeof(lit) - 1, EVC_EINVAL, (line), __LINE__)

static void
test_parse(void)
{
	char err[512];
	const char *vals[8];
	conf c;
	const char *p = SPIT("a.conf",
	    "# a comment\n"
	    "\n"
	    "listen = 127.0.0.1:7800\n"
	    "   # indented comment\n"
	    "\t\n"
	    "witness = w1.pub\n"
	    "data=data\n"
	    "  witness\t=\t  w2.pub   \n"
	    "hash.in_value = a # not a comment\n"
	    "eq = a=b\n"
	    "crlf = yes\r\n"
	    "utf8 = \xe8\xaf\x81\xe6\x8d\xae\xe9\x93\xbe\n"
	    "witness = w3.pub\n"
	    "listen = 0.0.0.0:7801\n"
	    "last-key_1.x = no newline at end");

	CHECK_EQ(conf_load(p, &c, err, sizeof err), 0);
	CHECK_EQ(c.n, 11);
	CHECK_STR(c.path, p);
	CHECK_STR(c.dir, realtmp);
	CHECK_STR(conf_get(&c, "listen"), "0.0.0.0:7801");
	CHECK_STR(conf_get(&c, "data"), "data");
	CHECK_STR(conf_get(&c, "witness"), "w3.pub");
	CHECK_STR(conf_get(&c, "hash.in_value"), "a # not a comment");
	CHECK_STR(conf_get(&c, "eq"), "a=b");
	CHECK_STR(conf_get(&c, "crlf"), "yes");
	CHECK_STR(conf_get(&c, "utf8"), "\xe8\xaf\x81\xe6\x8d\xae\xe9\x93\xbe");
	CHECK_STR(conf_get(&c, "last-key_1.x"), "no newline at end");
	CHECK(conf_get(&c, "missing") == NULL);
	CHECK(conf_get(&c, "Listen") == NULL);
	CHECK(conf_get(NULL, "listen") == NULL);

	/* Line numbers are kept. */
	CHECK_EQ(c.items[0].line, 3);
	CHECK_STR(c.items[0].key, "listen");
	CHECK_EQ(c.items[2].line, 7);
	CHECK_EQ(c.items[3].line, 8);

	/* Repeats, in file order. */
	CHECK_EQ(conf_get_all(&c, "witness", vals, 8), 3);
	CHECK_STR(vals[0], "w1.pub");
	CHECK_STR(vals[1], "w2.pub");
	CHECK_STR(vals[2], "w3.pub");
	vals[1] = NULL;
	CHECK_EQ(conf_get_all(&c, "witness", vals, 1), 3);   /* count beyond cap */
	CHECK_STR(vals[0], "w1.pub");
	CHECK(vals[1] == NULL);
	CHECK_EQ(conf_get_all(&c, "witness", NULL, 0), 3);
	CHECK_EQ(conf_get_all(&c, "listen", vals, 8), 2);
	CHECK_EQ(conf_get_all(&c, "missing", vals, 8), 0);
	conf_free(&c);
	CHECK(c.items == NULL && c.n == 0 && c.dir == NULL && c.path == NULL);
	conf_free(&c);
	conf_free(NULL);

	/* Empty and comment-only files are fine. */
	p = SPIT("empty.conf", "");
	CHECK_EQ(conf_load(p, &c, err, sizeof err), 0);
	CHECK_EQ(c.n, 0);
	conf_free(&c);
	p = SPIT("comments.conf", "# one\n#two\n\n   \n");
	CHECK_EQ(conf_load(p, &c, err, sizeof err), 0);
	CHECK_EQ(c.n, 0);
	conf_free(&c);
}

static void
test_errors(void)
{
	char err[512];
	conf c;
	char *big;

	EXPECT_ERROR("a = 1\n# c\nno equals here\n", 3);
	EXPECT_ERROR("a = 1\nkeyonly\n", 2);
	EXPECT_ERROR("Upper = 1\n", 1);
	EXPECT_ERROR("a = 1\nb c = 2\n", 2);
	EXPECT_ERROR("a = 1\n\n\nké = 2\n", 4);
	EXPECT_ERROR("= value\n", 1);
	EXPECT_ERROR("a = 1\nb =\n", 2);
	EXPECT_ERROR("a = 1\nb =   \t \n", 2);
	EXPECT_ERROR("a = 1\nb = x\x01y\n", 2);
	EXPECT_ERROR("a = 1\nb = x\x7fy\n", 2);
	EXPECT_ERROR("a = \xff\xfe\n", 1);
	EXPECT_ERROR("a = 1\nb = \xc0\xaf\n", 2);       /* overlong */
	EXPECT_ERROR("a = 1\nb = \xe8\xaf\n", 2);       /* truncated */
	EXPECT_ERROR("a = 1\r\rb = 2\n", 1);            /* bare CR */
	expect_error("a = 1\nb = x\0y\n", 13, EVC_EINVAL, 2, __LINE__);
	/* An error mentions the key. */
	spit("bad2.conf", "x = 1\nport =\n", 13);
	CHECK_EQ(conf_load(tpath("bad2.conf"), &c, err, sizeof err), EVC_EINVAL);
	CHECK(strstr(err, "port") != NULL);

	/* Missing file, directory. */
	CHECK_EQ(conf_load(tpath("missing.conf"), &c, err, sizeof err), EVC_EIO);
	CHECK(strstr(err, tpath("missing.conf")) != NULL);
	CHECK_EQ(conf_load(tmpdir, &c, err, sizeof err), EVC_EIO);

	/* Over 1 MiB. */
	big = malloc((1u << 20) + 10);
	REQUIRE(big != NULL);
	memset(big, '#', (1u << 20) + 10);
	spit("big.conf", big, (1u << 20) + 10);
	CHECK_EQ(conf_load(tpath("big.conf"), &c, err, sizeof err), EVC_ETOOLARGE);
	spit("max.conf", big, 1u << 20);   /* exactly 1 MiB: one long comment */
	CHECK_EQ(conf_load(tpath("max.conf"), &c, err, sizeof err), 0);
	conf_free(&c);
	free(big);

	/* A tiny error buffer is not overrun. */
	char tiny[8];
	memset(tiny, 'z', sizeof tiny);
	spit("bad3.conf", "nope\n", 5);
	CHECK_EQ(conf_load(tpath("bad3.conf"), &c, tiny, sizeof tiny), EVC_EINVAL);
	CHECK_EQ(strlen(tiny), 7);
}

static void
test_u64(void)
{
	char err[512];
	uint64_t v;
	conf c;
	const char *p = SPIT("n.conf",
	    "plain = 42\n"
	    "zero = 0\n"
	    "k = 64k\n"
	    "k2 = 3K\n"
	    "m = 4m\n"
	    "m2 = 2M\n"
	    "g = 1g\n"
	    "g2 = 5G\n"
	    "max = 18446744073709551615\n"
	    "over = 18446744073709551616\n"
	    "overg = 17179869184G\n"
	    "neg = -1\n"
	    "plus = +1\n"
	    "hex = 0x10\n"
	    "suffix2 = 1kk\n"
	    "tb = 1t\n"
	    "space = 1 k\n"
	    "word = many\n");

	REQUIRE(conf_load(p, &c, err, sizeof err) == 0);
	CHECK_EQ(conf_get_u64(&c, "plain", 7, 0, 100, &v, err, sizeof err), 0);
	CHECK_EQ(v, 42);
	CHECK_EQ(conf_get_u64(&c, "zero", 7, 0, 100, &v, err, sizeof err), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(conf_get_u64(&c, "absent", 7, 0, 100, &v, err, sizeof err), 0);
	CHECK_EQ(v, 7);
	CHECK_EQ(conf_get_u64(&c, "k", 0, 0, UINT64_MAX, &v, err, sizeof err), 0);
	CHECK_EQ(v, 65536);
	CHECK_EQ(conf_get_u64(&c, "k2", 0, 0, UINT64_MAX, &v, err, sizeof err), 0);
	CHECK_EQ(v, 3072);
	CHECK_EQ(conf_get_u64(&c, "m", 0, 0, UINT64_MAX, &v, err, sizeof err), 0);
	CHECK_EQ(v, 4u << 20);
	CHECK_EQ(conf_get_u64(&c, "m2", 0, 0, UINT64_MAX, &v, err, sizeof err), 0);
	CHECK_EQ(v, 2u << 20);
	CHECK_EQ(conf_get_u64(&c, "g", 0, 0, UINT64_MAX, &v, err, sizeof err), 0);
	CHECK_EQ(v, 1ull << 30);
	CHECK_EQ(conf_get_u64(&c, "g2", 0, 0, UINT64_MAX, &v, err, sizeof err), 0);
	CHECK(v == 5ull << 30);
	CHECK_EQ(conf_get_u64(&c, "max", 0, 0, UINT64_MAX, &v, err, sizeof err), 0);
	CHECK(v == UINT64_MAX);

	/* Range: inclusive bounds. */
	CHECK_EQ(conf_get_u64(&c, "plain", 0, 42, 42, &v, err, sizeof err), 0);
	v = 99;
	CHECK_EQ(conf_get_u64(&c, "plain", 0, 43, 100, &v, err, sizeof err), EVC_EINVAL);
	CHECK_EQ(v, 99);   /* untouched on error */
	CHECK(strstr(err, tpath("n.conf")) != NULL && strstr(err, ":1: ") != NULL);
	CHECK(strstr(err, "plain") != NULL && strstr(err, "[43, 100]") != NULL);
	CHECK_EQ(conf_get_u64(&c, "plain", 0, 0, 41, &v, err, sizeof err), EVC_EINVAL);
	CHECK_EQ(conf_get_u64(&c, "k", 0, 0, 65535, &v, err, sizeof err), EVC_EINVAL);
	CHECK(strstr(err, ":3: ") != NULL);
	CHECK_EQ(conf_get_u64(&c, "zero", 0, 1, 10, &v, err, sizeof err), EVC_EINVAL);

	/* Overflow and syntax. */
	CHECK_EQ(conf_get_u64(&c, "over", 0, 0, UINT64_MAX, &v, err, sizeof err), EVC_EINVAL);
	CHECK(strstr(err, ":10: ") != NULL);
	CHECK_EQ(conf_get_u64(&c, "overg", 0, 0, UINT64_MAX, &v, err, sizeof err), EVC_EINVAL);
	CHECK_EQ(conf_get_u64(&c, "neg", 0, 0, UINT64_MAX, &v, err, sizeof err), EVC_EINVAL);
	CHECK(strstr(err, ":12: ") != NULL);
	CHECK_EQ(conf_get_u64(&c, "plus", 0, 0, UINT64_MAX, &v, err, sizeof err), EVC_EINVAL);
	CHECK_EQ(conf_get_u64(&c, "hex", 0, 0, UINT64_MAX, &v, err, sizeof err), EVC_EINVAL);
	CHECK_EQ(conf_get_u64(&c, "suffix2", 0, 0, UINT64_MAX, &v, err, sizeof err), EVC_EINVAL);
	CHECK_EQ(conf_get_u64(&c, "tb", 0, 0, UINT64_MAX, &v, err, sizeof err), EVC_EINVAL);
	CHECK_EQ(conf_get_u64(&c, "space", 0, 0, UINT64_MAX, &v, err, sizeof err), EVC_EINVAL);
	CHECK_EQ(conf_get_u64(&c, "word", 0, 0, UINT64_MAX, &v, err, sizeof err), EVC_EINVAL);
	CHECK(strstr(err, ":18: ") != NULL && strstr(err, "word") != NULL);
	conf_free(&c);
}

static void
test_paths(void)
{
	char err[512], buf[PATH_MAX], want[PATH_MAX], cwd[PATH_MAX];
	conf c;

	REQUIRE(mkdir(tpath("sub"), 0700) == 0);
	SPIT("sub/p.conf",
	    "ca = ca.crt\n"
	    "nested = keys/node.key\n"
	    "abs = /etc/evchain/ca.crt\n"
	    "dot = ./x\n");
	REQUIRE(conf_load(tpath("sub/p.conf"), &c, err, sizeof err) == 0);
	want_path(want, sizeof want, "/sub");
	CHECK_STR(c.dir, want);
	want_path(want, sizeof want, "/sub/ca.crt");
	CHECK_STR(conf_get_path(&c, "ca", buf, sizeof buf), want);
	want_path(want, sizeof want, "/sub/keys/node.key");
	CHECK_STR(conf_get_path(&c, "nested", buf, sizeof buf), want);
	CHECK_STR(conf_get_path(&c, "abs", buf, sizeof buf), "/etc/evchain/ca.crt");
	want_path(want, sizeof want, "/sub/./x");
	CHECK_STR(conf_get_path(&c, "dot", buf, sizeof buf), want);
	CHECK(conf_get_path(&c, "absent", buf, sizeof buf) == NULL);
	/* Does not fit. */
	CHECK(conf_get_path(&c, "ca", buf, strlen(realtmp) + 5) == NULL);
	want_path(want, sizeof want, "/sub/ca.crt");
	CHECK_STR(conf_get_path(&c, "ca", buf, strlen(want) + 1), want);
	CHECK(conf_get_path(&c, "ca", buf, strlen(want)) == NULL);
	/* Any string. */
	want_path(want, sizeof want, "/sub/data");
	CHECK_STR(conf_resolve(&c, "data", buf, sizeof buf), want);
	CHECK_STR(conf_resolve(&c, "/data", buf, sizeof buf), "/data");
	CHECK(conf_resolve(&c, "", buf, sizeof buf) == NULL);
	CHECK(conf_resolve(&c, NULL, buf, sizeof buf) == NULL);
	conf_free(&c);

	/* Loaded by a relative path, the directory is still absolute: the
	 * resolved paths survive a chdir. */
	REQUIRE(getcwd(cwd, sizeof cwd) != NULL);
	REQUIRE(chdir(tmpdir) == 0);
	REQUIRE(conf_load("sub/p.conf", &c, err, sizeof err) == 0);
	REQUIRE(chdir(cwd) == 0);
	want_path(want, sizeof want, "/sub/ca.crt");
	CHECK_STR(conf_get_path(&c, "ca", buf, sizeof buf), want);
	conf_free(&c);
	REQUIRE(chdir(tpath("sub")) == 0);
	REQUIRE(conf_load("p.conf", &c, err, sizeof err) == 0);
	REQUIRE(chdir(cwd) == 0);
	CHECK_STR(conf_get_path(&c, "ca", buf, sizeof buf), want);
	CHECK_STR(c.path, "p.conf");
	conf_free(&c);
}

static void
test_write(void)
{
	static const char *const keys[] = { "server", "role", "witness", "witness" };
	static const char *const vals[] = { "127.0.0.1:7800", "node", "a.pub", "b b.pub" };
	char err[512], text[1024];
	const char *all[4];
	struct stat st;
	conf c;
	FILE *f;
	size_t n;

	umask(022);
	CHECK_EQ(conf_write(tpath("w.conf"), "made by a test\n\nsecond line", keys, vals, 4, 0640), 0);
	REQUIRE(stat(tpath("w.conf"), &st) == 0);
	CHECK_EQ(st.st_mode & 07777, 0640);
	f = fopen(tpath("w.conf"), "r");
	REQUIRE(f != NULL);
	n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	CHECK_STR(text, "# made by a test\n#\n# second line\n"
	    "server = 127.0.0.1:7800\nrole = node\nwitness = a.pub\nwitness = b b.pub\n");
	CHECK_EQ(conf_load(tpath("w.conf"), &c, err, sizeof err), 0);
	CHECK_EQ(c.n, 4);
	CHECK_STR(conf_get(&c, "role"), "node");
	CHECK_EQ(conf_get_all(&c, "witness", all, 4), 2);
	CHECK_STR(all[1], "b b.pub");
	conf_free(&c);

	/* Refusals. */
	CHECK_EQ(conf_write(tpath("w.conf"), NULL, keys, vals, 4, 0644), EVC_EEXIST);
	REQUIRE(symlink(tpath("w-target.conf"), tpath("w-link.conf")) == 0);
	CHECK_EQ(conf_write(tpath("w-link.conf"), NULL, keys, vals, 4, 0644), EVC_EEXIST);
	CHECK(access(tpath("w-target.conf"), F_OK) != 0);
	{
		const char *bk[] = { "Bad" }, *bv[] = { "x" };
		CHECK_EQ(conf_write(tpath("w2.conf"), NULL, bk, bv, 1, 0644), EVC_EINVAL);
		const char *k2[] = { "ok" }, *v2[] = { "two\nlines" };
		CHECK_EQ(conf_write(tpath("w2.conf"), NULL, k2, v2, 1, 0644), EVC_EINVAL);
		const char *v3[] = { "" };
		CHECK_EQ(conf_write(tpath("w2.conf"), NULL, k2, v3, 1, 0644), EVC_EINVAL);
		const char *v4[] = { " padded" };
		CHECK_EQ(conf_write(tpath("w2.conf"), NULL, k2, v4, 1, 0644), EVC_EINVAL);
		CHECK(access(tpath("w2.conf"), F_OK) != 0);
	}
	CHECK_EQ(conf_write(tpath("nodir/w.conf"), NULL, keys, vals, 4, 0644), EVC_EIO);
	/* No items, no header: an empty file. */
	CHECK_EQ(conf_write(tpath("w3.conf"), NULL, NULL, NULL, 0, 0600), 0);
	REQUIRE(stat(tpath("w3.conf"), &st) == 0);
	CHECK_EQ(st.st_size, 0);
	CHECK_EQ(st.st_mode & 07777, 0600);
}

int
main(void)
{
	REQUIRE(mkdtemp(tmpdir) != NULL);
	REQUIRE(realpath(tmpdir, realtmp) != NULL);
	test_parse();
	test_errors();
	test_u64();
	test_paths();
	test_write();
	char cmd[PATH_MAX + 16];
	int n = snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (n > 0 && (size_t)n < sizeof cmd && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	CHECK_DONE("test_conf");
}
