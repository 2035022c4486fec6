/* cli.c — helpers shared by the evchain-keys subcommands (see cli.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "evc.h"

int
cli_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int
cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG "%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" PROG "%s%s --help'.\n", cmd ? " " : "", cmd ? cmd : "");
	return CLI_USAGE;
}

int
cli_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG "%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_FAIL;
}

int
cli_opt(int argc, char **argv, int *i, const char *cmd, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0)
		return 0;
	if (a[2 + n] == '=') {
		*val = a + 3 + n;
		if (**val == '\0') {
			cli_usage(cmd, "option --%s needs a value", name);
			return -1;
		}
		return 1;
	}
	if (a[2 + n] != '\0')
		return 0;
	if (*i + 1 >= argc || argv[*i + 1][0] == '\0') {
		cli_usage(cmd, "option --%s needs a value", name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

int
cli_cat(char *buf, size_t cap, const char *a, const char *b)
{
	int n = snprintf(buf, cap, "%s%s", a, b);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int
cli_join(char *buf, size_t cap, const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	int n = snprintf(buf, cap, "%s%s%s", dir, dl > 0 && dir[dl - 1] == '/' ? "" : "/", name);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int
cli_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int
cli_write_new(const char *path, unsigned mode, const void *data, size_t len)
{
	const unsigned char *p = data;
	int fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return errno == EEXIST ? EVC_EEXIST : EVC_EIO;
	if (fchmod(fd, (mode_t)mode) != 0)
		goto fail;
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
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(path);
	errno = e;
	return EVC_EIO;
}

int
cli_read_file(const char *path, int nofollow, char *buf, size_t cap, size_t *len)
{
	struct stat st;
	size_t n = 0;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return EVC_EIO;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return EVC_EIO;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			close(fd);
			return EVC_ETOOLARGE;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*len = n;
	return 0;
fail:
	e = errno;
	close(fd);
	errno = e;
	return EVC_EIO;
}

int
cli_undo_add(cli_undo *u, const char *path, int is_dir)
{
	if (u->n == u->cap) {
		size_t ncap = u->cap ? u->cap * 2 : 32;
		char **np = realloc(u->paths, ncap * sizeof *np);
		if (np == NULL)
			return EVC_ENOMEM;
		u->paths = np;
		unsigned char *nd = realloc(u->is_dir, ncap);
		if (nd == NULL)
			return EVC_ENOMEM;
		u->is_dir = nd;
		u->cap = ncap;
	}
	if ((u->paths[u->n] = strdup(path)) == NULL)
		return EVC_ENOMEM;
	u->is_dir[u->n] = is_dir ? 1 : 0;
	u->n++;
	return 0;
}

void
cli_undo_run(cli_undo *u)
{
	for (size_t i = u->n; i > 0; i--) {
		if (u->is_dir[i - 1])
			rmdir(u->paths[i - 1]);
		else
			unlink(u->paths[i - 1]);
	}
	cli_undo_free(u);
}

void
cli_undo_free(cli_undo *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->paths[i]);
	free(u->paths);
	free(u->is_dir);
	memset(u, 0, sizeof *u);
}
