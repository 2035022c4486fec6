/*
 * durable.h — small local files that must survive a crash at any moment:
 * the state of evchain-witness and of `evchain monitor` (the checkpoint each
 * trusts), and their alarm files (the evidence of a log's misbehaviour).
 *
 * A state file is replaced whole: written to PATH.tmp (mode 0600), fsynced,
 * renamed over PATH, then the directory is fsynced, so PATH always holds
 * either the old or the new state, never a mix or nothing.
 *
 * An alarm file is created once and never overwritten: STEM1, STEM2, …
 * (STEM is "<state>.alarm-"), O_EXCL, mode 0600, fsynced with its directory.
 * Its text:
 *
 *   evchain-alarm v1
 *   program <evchain-witness | evchain monitor>
 *   party <witness key name | profile>
 *   kind <rollback | fork | bad-signature | bad-entry>
 *   time <unix seconds> <RFC 3339 UTC>
 *   reason <one line naming both checkpoints>
 *   trusted-size <n>            (the checkpoint the party cosigned / trusted)
 *   trusted-root <base64>
 *   seen-size <n>               (what the log served instead)
 *   seen-root <base64>
 *   proof <old> <new> <count>   (a consistency proof that failed, if any,
 *   <base64 hash>                then one hash a line)
 *   trusted-checkpoint <bytes>
 *   <that many bytes: the signed note, verbatim>
 *   seen-checkpoint <bytes>
 *   <that many bytes: the signed note as served, verbatim>
 *
 * Both signed checkpoints are kept byte for byte: two notes signed by the log
 * key for the same size with different roots, or for sizes that no
 * consistency proof joins, prove the log's misbehaviour to anyone.
 */
#ifndef EVC_DURABLE_H
#define EVC_DURABLE_H

#include <stddef.h>
#include <stdint.h>

#define DURABLE_MAX_FILE (64u << 20)

/* Replace `path` atomically with data[0..len) (mode 0600). 0, or -1 with a
 * reason in err. */
int durable_write(const char *path, const void *data, size_t len, char *err, size_t errcap);

/* Read a whole file (at most max bytes) into a malloc'd, NUL-terminated
 * *out. 0; 1 when the file does not exist; -1 with a reason in err. */
int durable_read(const char *path, size_t max, char **out, size_t *len, char *err, size_t errcap);

/* Create the first free "<stem><n>" (n = 1, 2, …) exclusively with data,
 * durably. Its path goes to path (cap). 0 or -1 with err. */
int durable_create_next(const char *stem, const void *data, size_t len, char *path, size_t cap,
    char *err, size_t errcap);

/* The existing "<stem><n>" files, by n ascending: fn(ctx, path) for each.
 * Returns how many (fn's non-zero return stops early), -1 if the directory
 * cannot be read. */
int durable_list(const char *stem, int (*fn)(void *ctx, const char *path), void *ctx);

typedef struct durable_alarm {
	const char *program;
	const char *party;
	const char *kind;
	const char *reason;
	uint64_t trusted_size, seen_size;
	const uint8_t *trusted_root, *seen_root; /* 32 bytes each, or NULL */
	const char *trusted; size_t trusted_len; /* signed notes, may be NULL */
	const char *seen; size_t seen_len;
	const uint8_t (*proof)[32]; size_t nproof; /* a failing consistency proof */
	uint64_t proof_old, proof_new;
} durable_alarm;

/* Write a new alarm file "<state>.alarm-<n>". 0 or -1 with err. */
int durable_alarm_write(const char *state_path, const durable_alarm *a, char *path, size_t cap,
    char *err, size_t errcap);

/* Kind and reason of an alarm file (for listings). 0 or -1. */
int durable_alarm_summary(const char *path, char *kind, size_t kcap, char *reason, size_t rcap);

/* Alarm files of a state file: fn(ctx, path) for each; the count or -1. */
int durable_alarm_list(const char *state_path, int (*fn)(void *ctx, const char *path), void *ctx);

/* RFC 3339 UTC of a Unix time in seconds ("2025-05-12T01:30:00Z"). */
void durable_utc(int64_t t, char *buf, size_t cap);

/* One line of a text buffer: [*pos, newline) into *line and *len, *pos moved
 * past the newline. 0, or -1 at the end (or when no newline ends it). */
int durable_line(const char *buf, size_t n, size_t *pos, const char **line, size_t *len);

/* A state-file line "key value": 1 with *val, *vlen the value, else 0. */
int durable_field(const char *line, size_t len, const char *key, const char **val, size_t *vlen);

/* A decimal u64 of exactly n characters, no sign, no leading zero, no
 * overflow: 0, or -1. */
int durable_u64(const char *s, size_t n, uint64_t *v);

#endif
