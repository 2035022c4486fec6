/*
 * cli.h — helpers shared by the evchain-keys subcommands: option parsing,
 * paths, new files, and the list of files a failed command removes again.
 *
 * Exit status of every subcommand: 0 success, 1 failure (the message names
 * the file and the reason), 2 usage error.
 */
#ifndef EVC_KEYS_CLI_H
#define EVC_KEYS_CLI_H

#include <stddef.h>

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

#define PROG "evchain-keys"

/*
 * Match argv[*i] against option `--name`, in the forms `--name VALUE` and
 * `--name=VALUE`. Returns 1 and sets *val (advancing *i past a separate
 * value), 0 when argv[*i] is another argument, -1 when the value is missing
 * (a usage error; the message is printed).
 */
int cli_opt(int argc, char **argv, int *i, const char *cmd, const char *name, const char **val);

/* 1 if argv[i] is -h or --help. */
int cli_is_help(const char *arg);

/* Print "evchain-keys CMD: <message>" and a hint to --help on stderr;
 * returns CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "evchain-keys CMD: <message>" on stderr; returns CLI_FAIL. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* buf = a + b (b appended verbatim). 0, or -1 when it does not fit. */
int cli_cat(char *buf, size_t cap, const char *a, const char *b);

/* buf = dir + "/" + name. 0, or -1 when it does not fit. */
int cli_join(char *buf, size_t cap, const char *dir, const char *name);

/* 1 if anything (file, directory, symlink, even dangling) is at path; 0
 * otherwise (including when path cannot be looked up: creating it will fail
 * with the real reason). */
int cli_exists(const char *path);

/*
 * Create path (refusing an existing file or symlink) with exactly `mode`,
 * write data, fsync. On failure nothing is left behind.
 * 0, EVC_EEXIST, or EVC_EIO with errno kept.
 */
int cli_write_new(const char *path, unsigned mode, const void *data, size_t len);

/* Read a whole small regular file (at most cap bytes) into buf; refuses a
 * symlink when nofollow. 0 with *len set, EVC_EIO (errno kept), EVC_ETOOLARGE. */
int cli_read_file(const char *path, int nofollow, char *buf, size_t cap, size_t *len);

/* Files (and directories) created so far, removed in reverse order by
 * cli_undo_run when a command fails halfway. */
typedef struct cli_undo {
	char **paths;
	unsigned char *is_dir;
	size_t n, cap;
} cli_undo;

/* Remember path. 0 or EVC_ENOMEM. */
int cli_undo_add(cli_undo *u, const char *path, int is_dir);
/* Remove everything remembered, newest first, then forget it. */
void cli_undo_run(cli_undo *u);
/* Forget without removing (success). */
void cli_undo_free(cli_undo *u);

#endif
