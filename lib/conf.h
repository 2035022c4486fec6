/*
 * conf.h — the configuration and profile files of evchain: UTF-8 text,
 * one `key = value` a line, `#` starts a comment line, blank lines ignored.
 * Keys are [a-z0-9_.-]+; the value is the rest of the line, trimmed. A key
 * may repeat (e.g. `witness`); conf_get() returns the last occurrence.
 * Relative paths in values are resolved against the file's directory.
 */
#ifndef EVC_CONF_H
#define EVC_CONF_H

#include <stddef.h>
#include <stdint.h>

typedef struct conf_item {
	char *key;
	char *val;
	unsigned line;
} conf_item;

typedef struct conf {
	conf_item *items;
	size_t n;
	char *dir;   /* directory of the file, for relative paths */
	char *path;
} conf;

/* Load `path` (at most 1 MiB). On error returns EVC_EIO / EVC_EINVAL /
 * EVC_ETOOLARGE and writes "path:line: reason" into err. */
int conf_load(const char *path, conf *c, char *err, size_t errcap);

/* Free everything. Accepts NULL and a zeroed conf. */
void conf_free(conf *c);

/* The last value of key, or NULL. Valid until conf_free. */
const char *conf_get(const conf *c, const char *key);

/* All values of key in file order into vals[0..cap); returns the count (may
 * exceed cap: only cap are stored). */
size_t conf_get_all(const conf *c, const char *key, const char **vals, size_t cap);

/* Unsigned integer value with optional suffix k/K, m/M, g/G (powers of 1024)
 * for sizes; default when absent; range-checked. 0, or EVC_EINVAL with err. */
int conf_get_u64(const conf *c, const char *key, uint64_t def, uint64_t min, uint64_t max,
    uint64_t *out, char *err, size_t errcap);

/* Path value resolved against the file's directory into buf (cap). Returns
 * buf, or NULL when the key is absent or the path does not fit. */
const char *conf_get_path(const conf *c, const char *key, char *buf, size_t cap);

/* Resolve any path string against the file's directory. */
const char *conf_resolve(const conf *c, const char *val, char *buf, size_t cap);

/* Write a conf file atomically-ish (O_EXCL, mode `mode`): items as
 * "key = value\n" after a comment header. EVC_EEXIST if it exists. */
int conf_write(const char *path, const char *header, const char *const *keys,
    const char *const *vals, size_t n, unsigned mode);

#endif
