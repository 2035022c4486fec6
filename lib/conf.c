/*
 * conf.c — `key = value` configuration and profile files.
 *
 * A file is read whole (at most CONF_MAX_FILE bytes), checked to be UTF-8
 * without control characters (tab excepted), and split into items. The
 * directory of the file is kept as an absolute path when it can be resolved,
 * so relative paths in values still name the same files after a chdir.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "evc.h"

#define CONF_MAX_FILE (1u << 20)

static void
seterr(char *err, size_t errcap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errcap == 0)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
	if (n < 0)
		err[0] = '\0';
	/* A truncated message is still a useful message: keep it. */
}

static int
key_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 if invalid. */
static size_t
utf8_len(const unsigned char *s, size_t len)
{
	uint32_t c = s[0], min;
	size_t n;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		n = 2, c &= 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		n = 3, c &= 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		n = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3fu);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

static char *
dup_range(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* The directory of path: absolute when realpath() can resolve it. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *abs;

	if (slash == NULL)
		dir = dup_range(".", 1);
	else if (slash == path)
		dir = dup_range("/", 1);
	else
		dir = dup_range(path, (size_t)(slash - path));
	if (dir == NULL)
		return NULL;
	if ((abs = realpath(dir, NULL)) != NULL) {
		free(dir);
		return abs;
	}
	return dir;
}

static int
add_item(conf *c, size_t *cap, const char *k, size_t klen, const char *v, size_t vlen,
    unsigned line)
{
	if (c->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		conf_item *ni = realloc(c->items, ncap * sizeof *ni);
		if (ni == NULL)
			return EVC_ENOMEM;
		c->items = ni;
		*cap = ncap;
	}
	conf_item *it = &c->items[c->n];
	if ((it->key = dup_range(k, klen)) == NULL)
		return EVC_ENOMEM;
	if ((it->val = dup_range(v, vlen)) == NULL) {
		free(it->key);
		return EVC_ENOMEM;
	}
	it->line = line;
	c->n++;
	return 0;
}

/* Parse one line (without its newline). 0, or EVC_EINVAL with err. */
static int
parse_line(conf *c, size_t *cap, const char *s, size_t len, unsigned line, char *err,
    size_t errcap)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, k0, k1, v0, v1;
	int r;

	if (len > 0 && s[len - 1] == '\r')
		len--;
	for (i = 0; i < len;) {
		size_t n;

		if (u[i] == '\t') {
			i++;
			continue;
		}
		if (u[i] < 0x20 || u[i] == 0x7f) {
			seterr(err, errcap, "%s:%u: control character in line", c->path, line);
			return EVC_EINVAL;
		}
		if ((n = utf8_len(u + i, len - i)) == 0) {
			seterr(err, errcap, "%s:%u: invalid UTF-8", c->path, line);
			return EVC_EINVAL;
		}
		i += n;
	}
	for (i = 0; i < len && (s[i] == ' ' || s[i] == '\t'); i++)
		;
	if (i == len || s[i] == '#')
		return 0;
	k0 = i;
	while (i < len && key_char(u[i]))
		i++;
	k1 = i;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (k1 == k0 || i == len || s[i] != '=') {
		if (k1 == k0 || (i < len && s[i] != '=' && k1 == i))
			seterr(err, errcap, "%s:%u: invalid key (keys are [a-z0-9_.-]+)", c->path, line);
		else
			seterr(err, errcap, "%s:%u: expected 'key = value'", c->path, line);
		return EVC_EINVAL;
	}
	i++;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	v0 = i;
	v1 = len;
	while (v1 > v0 && (s[v1 - 1] == ' ' || s[v1 - 1] == '\t'))
		v1--;
	if (v1 == v0) {
		seterr(err, errcap, "%s:%u: empty value for '%.*s'", c->path, line,
		    (int)(k1 - k0), s + k0);
		return EVC_EINVAL;
	}
	if ((r = add_item(c, cap, s + k0, k1 - k0, s + v0, v1 - v0, line)) != 0) {
		seterr(err, errcap, "%s:%u: out of memory", c->path, line);
		return r;
	}
	return 0;
}

int
conf_load(const char *path, conf *c, char *err, size_t errcap)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	unsigned line = 1;
	int fd, r;

	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (c == NULL || path == NULL) {
		seterr(err, errcap, "conf_load: no path");
		return EVC_EINVAL;
	}
	memset(c, 0, sizeof *c);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		seterr(err, errcap, "%s: %s", path, strerror(errno));
		return EVC_EIO;
	}
	if (fstat(fd, &st) != 0) {
		seterr(err, errcap, "%s: %s", path, strerror(errno));
		r = EVC_EIO;
		goto err1;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errcap, "%s: not a regular file", path);
		r = EVC_EIO;
		goto err1;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > CONF_MAX_FILE) {
		seterr(err, errcap, "%s: larger than %u bytes", path, CONF_MAX_FILE);
		r = EVC_ETOOLARGE;
		goto err1;
	}
	if ((buf = malloc(CONF_MAX_FILE + 1)) == NULL) {
		seterr(err, errcap, "%s: out of memory", path);
		r = EVC_ENOMEM;
		goto err1;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, CONF_MAX_FILE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			seterr(err, errcap, "%s: %s", path, strerror(errno));
			r = EVC_EIO;
			goto err2;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONF_MAX_FILE) {
			seterr(err, errcap, "%s: larger than %u bytes", path, CONF_MAX_FILE);
			r = EVC_ETOOLARGE;
			goto err2;
		}
	}
	close(fd);
	fd = -1;

	if ((c->path = dup_range(path, strlen(path))) == NULL || (c->dir = dir_of(path)) == NULL) {
		seterr(err, errcap, "%s: out of memory", path);
		r = EVC_ENOMEM;
		goto err2;
	}
	for (size_t i = 0; i < len; line++) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - buf) : len;

		if (memchr(buf + i, '\0', end - i) != NULL) {
			seterr(err, errcap, "%s:%u: NUL byte in line", path, line);
			r = EVC_EINVAL;
			goto err2;
		}
		if ((r = parse_line(c, &cap, buf + i, end - i, line, err, errcap)) != 0)
			goto err2;
		i = end + 1;
	}
	free(buf);
	return 0;
err2:
	free(buf);
err1:
	if (fd >= 0)
		close(fd);
	conf_free(c);
	return r;
}

void
conf_free(conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->items[i].key);
		free(c->items[i].val);
	}
	free(c->items);
	free(c->dir);
	free(c->path);
	memset(c, 0, sizeof *c);
}

static const conf_item *
last_item(const conf *c, const char *key)
{
	if (c == NULL || key == NULL)
		return NULL;
	for (size_t i = c->n; i > 0; i--)
		if (strcmp(c->items[i - 1].key, key) == 0)
			return &c->items[i - 1];
	return NULL;
}

const char *
conf_get(const conf *c, const char *key)
{
	const conf_item *it = last_item(c, key);

	return it != NULL ? it->val : NULL;
}

size_t
conf_get_all(const conf *c, const char *key, const char **vals, size_t cap)
{
	size_t n = 0;

	if (c == NULL || key == NULL)
		return 0;
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->items[i].key, key) != 0)
			continue;
		if (n < cap && vals != NULL)
			vals[n] = c->items[i].val;
		n++;
	}
	return n;
}

int
conf_get_u64(const conf *c, const char *key, uint64_t def, uint64_t min, uint64_t max,
    uint64_t *out, char *err, size_t errcap)
{
	const conf_item *it = last_item(c, key);
	const char *s;
	uint64_t v = 0, mul = 1;
	size_t i = 0;

	if (out == NULL)
		return EVC_EINVAL;
	if (it == NULL) {
		*out = def;
		return 0;
	}
	s = it->val;
	while (s[i] >= '0' && s[i] <= '9') {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			goto range;
		v = v * 10 + d;
		i++;
	}
	if (i == 0)
		goto syntax;
	switch (s[i]) {
	case '\0': break;
	case 'k': case 'K': mul = 1ull << 10; i++; break;
	case 'm': case 'M': mul = 1ull << 20; i++; break;
	case 'g': case 'G': mul = 1ull << 30; i++; break;
	default: goto syntax;
	}
	if (s[i] != '\0')
		goto syntax;
	if (v > UINT64_MAX / mul)
		goto range;
	v *= mul;
	if (v < min || v > max)
		goto range;
	*out = v;
	return 0;
syntax:
	seterr(err, errcap, "%s:%u: %s: '%s' is not an unsigned integer (optional suffix k, m, g)",
	    c->path ? c->path : "(conf)", it->line, key, s);
	return EVC_EINVAL;
range:
	seterr(err, errcap, "%s:%u: %s: '%s' is out of range [%" PRIu64 ", %" PRIu64 "]",
	    c->path ? c->path : "(conf)", it->line, key, s, min, max);
	return EVC_EINVAL;
}

const char *
conf_resolve(const conf *c, const char *val, char *buf, size_t cap)
{
	int n;

	if (val == NULL || buf == NULL || cap == 0 || val[0] == '\0')
		return NULL;
	if (val[0] == '/' || c == NULL || c->dir == NULL || strcmp(c->dir, ".") == 0)
		n = snprintf(buf, cap, "%s", val);
	else
		n = snprintf(buf, cap, "%s%s%s", c->dir,
		    c->dir[strlen(c->dir) - 1] == '/' ? "" : "/", val);
	if (n < 0 || (size_t)n >= cap)
		return NULL;
	return buf;
}

const char *
conf_get_path(const conf *c, const char *key, char *buf, size_t cap)
{
	return conf_resolve(c, conf_get(c, key), buf, cap);
}

/* Append s[0..n) to the growing buffer. */
static int
sb_add(char **b, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t ncap = *cap ? *cap : 256;
		while (*len + n + 1 > ncap)
			ncap *= 2;
		char *nb = realloc(*b, ncap);
		if (nb == NULL)
			return EVC_ENOMEM;
		*b = nb;
		*cap = ncap;
	}
	memcpy(*b + *len, s, n);
	*len += n;
	(*b)[*len] = '\0';
	return 0;
}

static int
valid_value(const char *v)
{
	size_t len = strlen(v);

	if (len == 0 || v[0] == ' ' || v[0] == '\t' || v[len - 1] == ' ' || v[len - 1] == '\t')
		return 0;
	for (size_t i = 0; i < len;) {
		const unsigned char *u = (const unsigned char *)v;
		size_t n;

		if ((u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7f)
			return 0;
		if ((n = utf8_len(u + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

int
conf_write(const char *path, const char *header, const char *const *keys,
    const char *const *vals, size_t n, unsigned mode)
{
	char *b = NULL;
	size_t len = 0, cap = 0;
	const uint8_t *p;
	int fd, r, e;

	if (path == NULL || (n > 0 && (keys == NULL || vals == NULL)) || mode > 07777)
		return EVC_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (keys[i] == NULL || vals[i] == NULL || keys[i][0] == '\0' || !valid_value(vals[i]))
			return EVC_EINVAL;
		for (const char *k = keys[i]; *k; k++)
			if (!key_char((unsigned char)*k))
				return EVC_EINVAL;
	}
	if (header != NULL) {
		const char *h = header;
		while (*h) {
			const char *nl = strchr(h, '\n');
			size_t hl = nl ? (size_t)(nl - h) : strlen(h);
			if ((r = sb_add(&b, &len, &cap, hl ? "# " : "#", hl ? 2 : 1)) != 0 ||
			    (r = sb_add(&b, &len, &cap, h, hl)) != 0 ||
			    (r = sb_add(&b, &len, &cap, "\n", 1)) != 0)
				goto err0;
			h += hl + (nl ? 1 : 0);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if ((r = sb_add(&b, &len, &cap, keys[i], strlen(keys[i]))) != 0 ||
		    (r = sb_add(&b, &len, &cap, " = ", 3)) != 0 ||
		    (r = sb_add(&b, &len, &cap, vals[i], strlen(vals[i]))) != 0 ||
		    (r = sb_add(&b, &len, &cap, "\n", 1)) != 0)
			goto err0;
	}

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
	if (fd < 0) {
		r = errno == EEXIST ? EVC_EEXIST : EVC_EIO;
		goto err0;
	}
	if (fchmod(fd, (mode_t)mode) != 0)
		goto fail;
	p = (const uint8_t *)b;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	free(b);
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(path);
	errno = e;
	r = EVC_EIO;
err0:
	free(b);
	return r;
}
