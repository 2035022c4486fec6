/*
 * policy.c — C2SP tlog-policy parsing and quorum evaluation (policy.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evc.h"
#include "keys.h"
#include "policy.h"

#define MAX_TOKENS (POLICY_MAX_MEMBERS + 4)

__attribute__((format(printf, 4, 5))) static int
say(int rc, char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errcap == 0)
		return rc;
	va_start(ap, fmt);
	int n = vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
	if (n < 0)
		err[0] = '\0';
	else if ((size_t)n >= errcap && errcap >= 4)
		memcpy(err + errcap - 4, "...", 4);
	return rc;
}

void
policy_init(policy *p)
{
	memset(p, 0, sizeof(*p));
	p->quorum = POLICY_QUORUM_UNSET;
}

/* Node index of name, or -1. */
static int
find_node(const policy *p, const char *name)
{
	for (size_t i = 0; i < p->nnodes; i++)
		if (strcmp(p->nodes[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* A new name for a witness or group: not empty, no white space or control
 * character, not "none", not defined yet. */
static int
check_new_name(const policy *p, const char *name, char *err, size_t errcap)
{
	size_t len = strlen(name);

	if (len == 0 || len > POLICY_MAX_NAME)
		return say(len ? EVC_ETOOLARGE : EVC_EINVAL, err, errcap,
		    "a name must have 1 to %d bytes", POLICY_MAX_NAME);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= 0x20 || c == 0x7f)
			return say(EVC_EINVAL, err, errcap, "name \"%s\" holds white space or a control "
			    "character", name);
	}
	if (strcmp(name, "none") == 0)
		return say(EVC_EINVAL, err, errcap, "\"none\" is reserved and cannot be defined");
	if (find_node(p, name) >= 0)
		return say(EVC_EINVAL, err, errcap, "\"%s\" is already defined", name);
	if (p->nnodes >= POLICY_MAX_NODES)
		return say(EVC_ETOOLARGE, err, errcap, "more than %d witnesses and groups",
		    POLICY_MAX_NODES);
	return 0;
}

int
policy_add_log(policy *p, const evc_vkey *vk, char *err, size_t errcap)
{
	if (p == NULL || vk == NULL)
		return say(EVC_EINVAL, err, errcap, "no policy or key");
	if (vk->type != EVC_KEY_ED25519)
		return say(EVC_EINVAL, err, errcap, "log key \"%s\" is not an Ed25519 (type 0x01) key",
		    vk->name);
	for (size_t i = 0; i < p->nlogs; i++)
		if (memcmp(p->logs[i].pub, vk->pub, 32) == 0)
			return say(EVC_EINVAL, err, errcap, "log key \"%s\" duplicates log key \"%s\"",
			    vk->name, p->logs[i].name);
	if (p->nlogs >= POLICY_MAX_LOGS)
		return say(EVC_ETOOLARGE, err, errcap, "more than %d logs", POLICY_MAX_LOGS);
	p->logs[p->nlogs++] = *vk;
	return 0;
}

int
policy_add_witness(policy *p, const char *name, const evc_vkey *vk, char *err, size_t errcap)
{
	int rc;

	if (p == NULL || name == NULL || vk == NULL)
		return say(EVC_EINVAL, err, errcap, "no policy, name or key");
	if ((rc = check_new_name(p, name, err, errcap)) != 0)
		return rc;
	if (vk->type != EVC_KEY_COSIGNATURE)
		return say(EVC_EINVAL, err, errcap, "witness \"%s\": key \"%s\" is not a "
		    "cosignature/v1 (type 0x04) key", name, vk->name);
	for (size_t i = 0; i < p->nnodes; i++)
		if (!p->nodes[i].is_group && memcmp(p->nodes[i].vk.pub, vk->pub, 32) == 0)
			return say(EVC_EINVAL, err, errcap, "witness \"%s\" has the same public key as "
			    "witness \"%s\"", name, p->nodes[i].name);
	policy_node *nd = &p->nodes[p->nnodes];
	memset(nd, 0, sizeof(*nd));
	memcpy(nd->name, name, strlen(name) + 1);
	nd->vk = *vk;
	return (int)p->nnodes++;
}

int
policy_add_group(policy *p, const char *name, unsigned k, const int *members, size_t n,
    char *err, size_t errcap)
{
	int rc;

	if (p == NULL || name == NULL || (members == NULL && n > 0))
		return say(EVC_EINVAL, err, errcap, "no policy, name or members");
	if ((rc = check_new_name(p, name, err, errcap)) != 0)
		return rc;
	if (n == 0)
		return say(EVC_EINVAL, err, errcap, "group \"%s\" has no members", name);
	if (n > POLICY_MAX_MEMBERS)
		return say(EVC_ETOOLARGE, err, errcap, "group \"%s\" has more than %d members", name,
		    POLICY_MAX_MEMBERS);
	if (k < 1 || k > n)
		return say(EVC_EINVAL, err, errcap, "group \"%s\": threshold %u is not within 1..%zu",
		    name, k, n);
	policy_node *nd = &p->nodes[p->nnodes];
	memset(nd, 0, sizeof(*nd));
	for (size_t i = 0; i < n; i++) {
		if (members[i] < 0 || (size_t)members[i] >= p->nnodes)
			return say(EVC_EINVAL, err, errcap, "group \"%s\": member %zu is not defined",
			    name, i + 1);
		for (size_t j = 0; j < i; j++)
			if (members[j] == members[i])
				return say(EVC_EINVAL, err, errcap, "group \"%s\": \"%s\" is listed twice",
				    name, p->nodes[members[i]].name);
		nd->members[i] = (uint16_t)members[i];
	}
	memcpy(nd->name, name, strlen(name) + 1);
	nd->is_group = 1;
	nd->k = k;
	nd->n = (unsigned)n;
	return (int)p->nnodes++;
}

int
policy_set_quorum(policy *p, int quorum, char *err, size_t errcap)
{
	if (p == NULL)
		return say(EVC_EINVAL, err, errcap, "no policy");
	if (p->quorum != POLICY_QUORUM_UNSET)
		return say(EVC_EINVAL, err, errcap, "the quorum is defined twice");
	if (quorum != POLICY_QUORUM_NONE && (quorum < 0 || (size_t)quorum >= p->nnodes))
		return say(EVC_EINVAL, err, errcap, "the quorum names nothing defined");
	p->quorum = quorum;
	return 0;
}

/* ---- the file --------------------------------------------------------------- */

/* Split line[0..len) (NUL-terminated copy in buf) at spaces and tabs. */
static size_t
tokenize(char *buf, char **tok, size_t cap, int *over)
{
	size_t n = 0;
	char *s = buf;

	*over = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		if (n == cap) {
			*over = 1;
			break;
		}
		tok[n++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
		if (*s == '\0')
			break;
		*s++ = '\0';
	}
	return n;
}

static int
parse_line(policy *p, char **tok, size_t nt, char *err, size_t errcap)
{
	evc_vkey vk;

	if (strcmp(tok[0], "log") == 0) {
		if (nt < 2 || nt > 3)
			return say(EVC_EINVAL, err, errcap, "expected \"log <vkey> [<url>]\"");
		if (keys_vkey_parse(tok[1], strlen(tok[1]), &vk) != 0)
			return say(EVC_EINVAL, err, errcap, "log: \"%.80s\" is not a verifier key", tok[1]);
		if (nt == 3 && strlen(tok[2]) > POLICY_MAX_URL)
			return say(EVC_ETOOLARGE, err, errcap, "log: URL over %d bytes", POLICY_MAX_URL);
		return policy_add_log(p, &vk, err, errcap);
	}
	if (strcmp(tok[0], "witness") == 0) {
		if (nt < 3 || nt > 4)
			return say(EVC_EINVAL, err, errcap, "expected \"witness <name> <vkey> [<url>]\"");
		if (keys_vkey_parse(tok[2], strlen(tok[2]), &vk) != 0)
			return say(EVC_EINVAL, err, errcap, "witness %.80s: \"%.80s\" is not a verifier key",
			    tok[1], tok[2]);
		if (nt == 4 && strlen(tok[3]) > POLICY_MAX_URL)
			return say(EVC_ETOOLARGE, err, errcap, "witness: URL over %d bytes", POLICY_MAX_URL);
		int rc = policy_add_witness(p, tok[1], &vk, err, errcap);
		return rc < 0 ? rc : 0;
	}
	if (strcmp(tok[0], "group") == 0) {
		int members[POLICY_MAX_MEMBERS];
		unsigned long k;
		size_t n = nt >= 3 ? nt - 3 : 0;
		if (nt < 4)
			return say(EVC_EINVAL, err, errcap,
			    "expected \"group <name> all|any|<k> <name>...\" with at least one member");
		if (n > POLICY_MAX_MEMBERS)
			return say(EVC_ETOOLARGE, err, errcap, "group: more than %d members",
			    POLICY_MAX_MEMBERS);
		for (size_t i = 0; i < n; i++) {
			const char *m = tok[3 + i];
			if (strcmp(m, "none") == 0)
				return say(EVC_EINVAL, err, errcap, "group %.80s: \"none\" cannot be a member",
				    tok[1]);
			if ((members[i] = find_node(p, m)) < 0)
				return say(EVC_EINVAL, err, errcap, "group %.80s: \"%.80s\" is not defined "
				    "on an earlier line", tok[1], m);
		}
		if (strcmp(tok[2], "all") == 0) {
			k = n;
		} else if (strcmp(tok[2], "any") == 0) {
			k = 1;
		} else {
			char *end;
			const char *t = tok[2];
			if (t[0] < '1' || t[0] > '9' || strlen(t) > 6)
				return say(EVC_EINVAL, err, errcap, "group %.80s: threshold \"%.20s\" is not "
				    "all, any or a decimal number from 1", tok[1], t);
			errno = 0;
			k = strtoul(t, &end, 10);
			if (*end != '\0' || errno != 0)
				return say(EVC_EINVAL, err, errcap, "group %.80s: threshold \"%.20s\" is not "
				    "all, any or a decimal number from 1", tok[1], t);
		}
		if (k > n)
			return say(EVC_EINVAL, err, errcap, "group %.80s: threshold %lu exceeds its %zu "
			    "members", tok[1], k, n);
		int rc = policy_add_group(p, tok[1], (unsigned)k, members, n, err, errcap);
		return rc < 0 ? rc : 0;
	}
	if (strcmp(tok[0], "quorum") == 0) {
		if (nt != 2)
			return say(EVC_EINVAL, err, errcap, "expected \"quorum <name>|none\"");
		int q = strcmp(tok[1], "none") == 0 ? POLICY_QUORUM_NONE : find_node(p, tok[1]);
		if (q == -1 && strcmp(tok[1], "none") != 0)
			return say(EVC_EINVAL, err, errcap, "quorum: \"%.80s\" is not defined on an "
			    "earlier line", tok[1]);
		return policy_set_quorum(p, q, err, errcap);
	}
	return say(EVC_EINVAL, err, errcap, "unknown keyword \"%.40s\" (expected log, witness, "
	    "group or quorum)", tok[0]);
}

int
policy_parse(const char *text, size_t len, policy *p, char *err, size_t errcap)
{
	char *buf = NULL, *tok[MAX_TOKENS];
	size_t line = 0, pos = 0;
	int rc = 0;

	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (p == NULL || (text == NULL && len > 0))
		return say(EVC_EINVAL, err, errcap, "no policy or text");
	policy_init(p);
	if (len > POLICY_MAX_TEXT)
		return say(EVC_ETOOLARGE, err, errcap, "policy of %zu bytes, over %d", len,
		    POLICY_MAX_TEXT);
	if ((buf = malloc(len + 1)) == NULL)
		return say(EVC_ENOMEM, err, errcap, "out of memory");
	while (pos < len) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - s) : len - pos;
		line++;
		pos += ll + (nl ? 1 : 0);
		for (size_t i = 0; i < ll; i++) {
			unsigned char c = (unsigned char)s[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				rc = say(EVC_EINVAL, err, errcap, "line %zu: control character 0x%02x "
				    "(only tab and newline are allowed)", line, c);
				goto out;
			}
		}
		memcpy(buf, s, ll);
		buf[ll] = '\0';
		int over;
		size_t nt = tokenize(buf, tok, MAX_TOKENS, &over);
		if (over) {
			rc = say(EVC_ETOOLARGE, err, errcap, "line %zu: more than %d items", line,
			    MAX_TOKENS);
			goto out;
		}
		if (nt == 0 || tok[0][0] == '#')
			continue;
		char why[384];
		if ((rc = parse_line(p, tok, nt, why, sizeof(why))) != 0) {
			say(rc, err, errcap, "line %zu: %s", line, why);
			goto out;
		}
	}
	if (p->quorum == POLICY_QUORUM_UNSET)
		rc = say(EVC_EINVAL, err, errcap, "the policy has no quorum line");
out:
	free(buf);
	if (rc != 0)
		policy_init(p);
	return rc;
}

int
policy_read(const char *path, policy *p, char *err, size_t errcap)
{
	struct stat st;
	char *text;
	int fd, rc;

	if (path == NULL || p == NULL)
		return say(EVC_EINVAL, err, errcap, "no path or policy");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return say(EVC_EIO, err, errcap, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return say(EVC_EIO, err, errcap, "%s: not a regular file", path);
	}
	if (st.st_size > POLICY_MAX_TEXT) {
		close(fd);
		return say(EVC_ETOOLARGE, err, errcap, "%s: over %d bytes", path, POLICY_MAX_TEXT);
	}
	size_t len = (size_t)st.st_size, got = 0;
	if ((text = malloc(len + 1)) == NULL) {
		close(fd);
		return say(EVC_ENOMEM, err, errcap, "out of memory");
	}
	while (got < len) {
		ssize_t n = read(fd, text + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != len) {
		free(text);
		return say(EVC_EIO, err, errcap, "%s: short read", path);
	}
	rc = policy_parse(text, len, p, err, errcap);
	free(text);
	return rc;
}

/* ---- evaluation ------------------------------------------------------------- */

int
policy_quorum_met(const policy *p, const uint8_t *witnessed)
{
	uint8_t sat[POLICY_MAX_NODES];

	if (p == NULL || p->quorum == POLICY_QUORUM_UNSET)
		return 0;
	if (p->quorum == POLICY_QUORUM_NONE)
		return 1;
	if (witnessed == NULL || (size_t)p->quorum >= p->nnodes || p->nnodes > POLICY_MAX_NODES)
		return 0;
	for (size_t i = 0; i < p->nnodes; i++) {
		const policy_node *nd = &p->nodes[i];
		if (!nd->is_group) {
			sat[i] = witnessed[i] ? 1 : 0;
			continue;
		}
		unsigned c = 0;
		for (unsigned j = 0; j < nd->n && j < POLICY_MAX_MEMBERS; j++)
			if (nd->members[j] < i && sat[nd->members[j]])
				c++;
		sat[i] = c >= nd->k;
	}
	return sat[p->quorum];
}

typedef struct sbuf {
	char *b;
	size_t cap, len;
	int cut;
} sbuf;

static void
sb_put(sbuf *s, const char *t)
{
	size_t n = strlen(t);

	if (s->cut)
		return;
	if (s->len + n + 1 > s->cap) {
		n = s->cap - s->len - 1;   /* what fits; "..." marks the cut */
		s->cut = 1;
	}
	memcpy(s->b + s->len, t, n);
	s->len += n;
	s->b[s->len] = '\0';
}

static void
describe_node(const policy *p, size_t i, sbuf *s, int depth)
{
	const policy_node *nd = &p->nodes[i];
	char num[32];

	if (!nd->is_group || depth > 8) {
		sb_put(s, nd->name);
		return;
	}
	if (depth > 0) {
		sb_put(s, nd->name);
		sb_put(s, ": ");
	}
	if (nd->k == nd->n && nd->n > 1)
		sb_put(s, "all");
	else if (nd->k == 1 && nd->n > 1)
		sb_put(s, "any");
	else {
		snprintf(num, sizeof(num), "%u", nd->k);
		sb_put(s, num);
	}
	sb_put(s, " of {");
	for (unsigned j = 0; j < nd->n && j < POLICY_MAX_MEMBERS; j++) {
		if (j > 0)
			sb_put(s, ", ");
		if (nd->members[j] < i)
			describe_node(p, nd->members[j], s, depth + 1);
	}
	sb_put(s, "}");
}

const char *
policy_describe(const policy *p, char *buf, size_t cap)
{
	sbuf s = { buf, cap, 0, 0 };

	if (buf == NULL || cap == 0)
		return buf;
	buf[0] = '\0';
	if (p == NULL || p->quorum == POLICY_QUORUM_UNSET)
		sb_put(&s, "unset");
	else if (p->quorum == POLICY_QUORUM_NONE)
		sb_put(&s, "none");
	else if ((size_t)p->quorum < p->nnodes)
		describe_node(p, (size_t)p->quorum, &s, 0);
	if (s.cut && cap >= 4) {
		size_t at = s.len + 4 <= cap ? s.len : cap - 4;
		memcpy(buf + at, "...", 4);
	}
	return buf;
}
