/* durable.c — crash-safe state files and alarm files (see durable.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "durable.h"
#include "note.h"

__attribute__((format(printf, 3, 4))) static void
seterr(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;
	if (err == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	if (vsnprintf(err, cap, fmt, ap) < 0)
		err[0] = '\0';
	va_end(ap);
}

/* Directory part of path into buf ("." when there is none). */
static int
dir_of(const char *path, char *buf, size_t cap)
{
	const char *slash = strrchr(path, '/');
	int n;
	if (slash == NULL)
		n = snprintf(buf, cap, ".");
	else if (slash == path)
		n = snprintf(buf, cap, "/");
	else
		n = snprintf(buf, cap, "%.*s", (int)(slash - path), path);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int
fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	if (dir_of(path, dir, sizeof(dir)) != 0)
		return -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

static int
write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
durable_write(const char *path, const void *data, size_t len, char *err, size_t errcap)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		seterr(err, errcap, "%s: path too long", path);
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		seterr(err, errcap, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		seterr(err, errcap, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) != 0) {
		seterr(err, errcap, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		seterr(err, errcap, "rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (fsync_dir(path) != 0) {
		seterr(err, errcap, "fsync of the directory of %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
durable_read(const char *path, size_t max, char **out, size_t *len, char *err, size_t errcap)
{
	struct stat st;
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		seterr(err, errcap, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		seterr(err, errcap, "%s: %s", path, S_ISREG(st.st_mode) ? "too large" : "not a regular file");
		close(fd);
		return -1;
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *buf = malloc(cap);
	if (buf == NULL) {
		seterr(err, errcap, "out of memory");
		close(fd);
		return -1;
	}
	for (;;) {
		if (n + 1 == cap) {
			/* The file grew while we read it: give up rather than guess. */
			char c;
			ssize_t k = read(fd, &c, 1);
			if (k == 0)
				break;
			seterr(err, errcap, "%s: changed while being read", path);
			free(buf);
			close(fd);
			return -1;
		}
		ssize_t k = read(fd, buf + n, cap - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			seterr(err, errcap, "%s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int
durable_create_next(const char *stem, const void *data, size_t len, char *path, size_t cap,
    char *err, size_t errcap)
{
	for (unsigned k = 1; k < 1000000; k++) {
		int n = snprintf(path, cap, "%s%u", stem, k);
		if (n < 0 || (size_t)n >= cap) {
			seterr(err, errcap, "%s: path too long", stem);
			return -1;
		}
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			if (errno == EEXIST)
				continue;
			seterr(err, errcap, "%s: %s", path, strerror(errno));
			return -1;
		}
		if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
			seterr(err, errcap, "%s: %s", path, strerror(errno));
			close(fd);
			return -1; /* keep the partial file: it is still an alarm */
		}
		close(fd);
		if (fsync_dir(path) != 0) {
			seterr(err, errcap, "fsync of the directory of %s: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	seterr(err, errcap, "%s: too many files", stem);
	return -1;
}

typedef struct numbered {
	unsigned long n;
	char *name;
} numbered;

static int
by_number(const void *a, const void *b)
{
	const numbered *x = a, *y = b;
	return x->n < y->n ? -1 : x->n > y->n;
}

int
durable_list(const char *stem, int (*fn)(void *ctx, const char *path), void *ctx)
{
	char dir[PATH_MAX], path[PATH_MAX];
	const char *base = strrchr(stem, '/');
	base = base ? base + 1 : stem;
	size_t bl = strlen(base);
	if (dir_of(stem, dir, sizeof(dir)) != 0)
		return -1;
	DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	numbered *v = NULL;
	size_t nv = 0, cap = 0;
	int ret = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *s = de->d_name;
		if (strncmp(s, base, bl) != 0 || s[bl] == '\0' || strspn(s + bl, "0123456789") !=
		    strlen(s + bl))
			continue;
		if (nv == cap) {
			cap = cap ? 2 * cap : 16;
			numbered *nn = realloc(v, cap * sizeof(*v));
			if (nn == NULL) {
				ret = -1;
				goto out;
			}
			v = nn;
		}
		v[nv].n = strtoul(s + bl, NULL, 10);
		if ((v[nv].name = strdup(s)) == NULL) {
			ret = -1;
			goto out;
		}
		nv++;
	}
	if (nv > 1)
		qsort(v, nv, sizeof(*v), by_number);
	for (size_t i = 0; i < nv; i++) {
		int n = snprintf(path, sizeof(path), "%s/%s", dir, v[i].name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		ret++;
		if (fn != NULL && fn(ctx, path) != 0)
			break;
	}
out:
	for (size_t i = 0; i < nv; i++)
		free(v[i].name);
	free(v);
	closedir(d);
	return ret;
}

void
durable_utc(int64_t t, char *buf, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "%" PRId64, t);
}

int
durable_line(const char *buf, size_t n, size_t *pos, const char **line, size_t *len)
{
	if (*pos >= n)
		return -1;
	const char *p = buf + *pos, *nl = memchr(p, '\n', n - *pos);
	if (nl == NULL)
		return -1;
	*line = p;
	*len = (size_t)(nl - p);
	*pos += *len + 1;
	return 0;
}

/* One line of text with control characters (but tab) replaced: a reason
 * must stay one line. */
static void
put_line(FILE *f, const char *key, const char *val)
{
	fprintf(f, "%s ", key);
	for (const char *p = val ? val : ""; *p; p++)
		fputc((unsigned char)*p < 0x20 ? ' ' : *p, f);
	fputc('\n', f);
}

static void
put_b64(FILE *f, const char *key, const uint8_t *h)
{
	char b[64];
	if (h == NULL || b64_encode(h, 32, b, sizeof(b)) < 0)
		snprintf(b, sizeof(b), "-");
	if (key[0] != '\0')
		fprintf(f, "%s %s\n", key, b);
	else
		fprintf(f, "%s\n", b);
}

int
durable_alarm_write(const char *state_path, const durable_alarm *a, char *path, size_t cap,
    char *err, size_t errcap)
{
	char stem[PATH_MAX], when[64], *buf = NULL;
	size_t len = 0;
	int n = snprintf(stem, sizeof(stem), "%s.alarm-", state_path);
	if (n < 0 || (size_t)n >= sizeof(stem)) {
		seterr(err, errcap, "%s: path too long", state_path);
		return -1;
	}
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL) {
		seterr(err, errcap, "out of memory");
		return -1;
	}
	int64_t now = (int64_t)time(NULL);
	durable_utc(now, when, sizeof(when));
	fprintf(f, "evchain-alarm v1\n");
	put_line(f, "program", a->program);
	put_line(f, "party", a->party);
	put_line(f, "kind", a->kind);
	fprintf(f, "time %" PRId64 " %s\n", now, when);
	put_line(f, "reason", a->reason);
	fprintf(f, "trusted-size %" PRIu64 "\n", a->trusted_size);
	put_b64(f, "trusted-root", a->trusted_root);
	fprintf(f, "seen-size %" PRIu64 "\n", a->seen_size);
	put_b64(f, "seen-root", a->seen_root);
	if (a->proof != NULL || a->nproof > 0) {
		fprintf(f, "proof %" PRIu64 " %" PRIu64 " %zu\n", a->proof_old, a->proof_new, a->nproof);
		for (size_t i = 0; i < a->nproof; i++)
			put_b64(f, "", a->proof[i]);
	}
	fprintf(f, "trusted-checkpoint %zu\n", a->trusted ? a->trusted_len : 0);
	if (a->trusted != NULL)
		fwrite(a->trusted, 1, a->trusted_len, f);
	fprintf(f, "seen-checkpoint %zu\n", a->seen ? a->seen_len : 0);
	if (a->seen != NULL)
		fwrite(a->seen, 1, a->seen_len, f);
	if (fclose(f) != 0 || buf == NULL) {
		free(buf);
		seterr(err, errcap, "out of memory");
		return -1;
	}
	int rc = durable_create_next(stem, buf, len, path, cap, err, errcap);
	free(buf);
	return rc;
}

int
durable_alarm_summary(const char *path, char *kind, size_t kcap, char *reason, size_t rcap)
{
	char *buf, err[256];
	size_t len, pos = 0, ll;
	const char *line;
	snprintf(kind, kcap, "?");
	snprintf(reason, rcap, "(unreadable)");
	if (durable_read(path, DURABLE_MAX_FILE, &buf, &len, err, sizeof(err)) != 0)
		return -1;
	int ok = 0;
	while (durable_line(buf, len, &pos, &line, &ll) == 0) {
		if (ll > 5 && strncmp(line, "kind ", 5) == 0) {
			snprintf(kind, kcap, "%.*s", (int)(ll - 5), line + 5);
			ok |= 1;
		} else if (ll > 7 && strncmp(line, "reason ", 7) == 0) {
			snprintf(reason, rcap, "%.*s", (int)(ll - 7), line + 7);
			ok |= 2;
		} else if (strncmp(line, "trusted-checkpoint ", 19) == 0) {
			break;
		}
	}
	free(buf);
	return ok == 3 ? 0 : -1;
}

int
durable_alarm_list(const char *state_path, int (*fn)(void *ctx, const char *path), void *ctx)
{
	char stem[PATH_MAX];
	int n = snprintf(stem, sizeof(stem), "%s.alarm-", state_path);
	if (n < 0 || (size_t)n >= sizeof(stem))
		return -1;
	return durable_list(stem, fn, ctx);
}

int
durable_field(const char *line, size_t len, const char *key, const char **val, size_t *vlen)
{
	size_t kl = strlen(key);
	if (len <= kl || strncmp(line, key, kl) != 0 || line[kl] != ' ')
		return 0;
	*val = line + kl + 1;
	*vlen = len - kl - 1;
	return 1;
}

int
durable_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return 0;
}
