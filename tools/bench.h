/*
 * bench.h — evchain-bench internals, shared by tools/bench*.c.
 *
 *   bench.c       options, modes, the report (text and JSON)
 *   bench_gen.c   valid, distinct records, signed on every core before the clock
 *   bench_load.c  the drivers: pipelined submits (ingest, latency, fill), proofs
 *   bench_sys.c   clocks, percentiles, the server's PID / RSS / CPU, ledger size,
 *                 the single-core Ed25519 verify rate
 */
#ifndef EVC_BENCH_H
#define EVC_BENCH_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"

/* ---- options --------------------------------------------------------------- */

typedef enum bench_mode {
	MODE_INGEST,
	MODE_LATENCY,
	MODE_PROOFS,
	MODE_FILL,
} bench_mode;

typedef struct bench_opts {
	const char *profile;
	const char *server;          /* NULL: the profile's */
	bench_mode mode;
	uint64_t records;            /* ingest: how many; fill: target tree size */
	unsigned connections;
	unsigned batch;
	unsigned window;
	double rate;                 /* latency: records/s offered */
	double duration;             /* latency, proofs: seconds; fill: time limit */
	long server_pid;             /* 0: find it */
	const char *data;            /* the server's data directory, for bytes/entry */
	unsigned verify_every;       /* verify every K-th receipt / proof in full */
	unsigned threads;            /* signing threads (0: every core) */
	int random_ids;              /* --ids random: UUID-like inspection and record ids */
	int json;
	int quiet;
} bench_opts;

/* ---- time and statistics (bench_sys.c) -------------------------------------- */

int64_t bench_mono_ns(void);
int64_t bench_now_ms(void);
void bench_sleep_until_ns(int64_t t);

/* A latency sample: `weight` records (or requests) waited `ns`. */
typedef struct lat_sample {
	int64_t ns;
	uint32_t weight;
} lat_sample;

typedef struct lat_summary {
	uint64_t count;              /* total weight */
	double p50_ms, p90_ms, p99_ms, p999_ms, max_ms, mean_ms;
} lat_summary;

/* Sorts s in place. */
void lat_summarise(lat_sample *s, size_t n, lat_summary *out);

/* ---- the server process (bench_sys.c) ------------------------------------- */

/* PID of the process listening on TCP `port` (IPv4 or IPv6), via
 * /proc/net/tcp{,6} and /proc/PID/fd socket inodes; 0 if not found. */
long bench_find_listener(unsigned port);

/* Port of "HOST:PORT"; 0 on error. */
unsigned bench_port_of(const char *addr);

/* RssAnon of a process in KiB, or -1. */
long bench_rss_anon_kib(long pid);

#define BENCH_MAX_TIDS 64

/* CPU ticks of a process and of each of its threads. */
typedef struct proc_cpu {
	long pid;
	uint64_t total;              /* utime + stime of the process (ticks) */
	size_t ntids;
	long tid[BENCH_MAX_TIDS];
	uint64_t ticks[BENCH_MAX_TIDS];
	char comm[BENCH_MAX_TIDS][32];
} proc_cpu;

int bench_proc_cpu(long pid, proc_cpu *out);

/* Samples RssAnon every 50 ms in a thread while a run goes on. */
typedef struct rss_sampler {
	long pid;
	pthread_t th;
	volatile int stop;
	long max_kib, first_kib, last_kib;
	unsigned samples;
	int running;
} rss_sampler;

void rss_start(rss_sampler *r, long pid);
void rss_stop(rss_sampler *r);

/* Everything watched around one timed run: the server's RssAnon (sampled),
 * its CPU time per thread, and this process's own CPU time. */
typedef struct run_probe {
	long pid;                    /* the server, 0 when unknown */
	rss_sampler rss;
	proc_cpu cpu0, cpu1;
	int have_cpu;
	double client_cpu_s;         /* user + system of evchain-bench during the run */
	double client_cpu0;
	uint64_t sys_busy0, sys_busy1, sys_total0, sys_total1; /* /proc/stat ticks, all cores */
	uint64_t sys_irq0, sys_irq1, sys_steal0, sys_steal1;   /* of them: irq + softirq, steal */
	int64_t wbytes0, wbytes1;    /* the server's wchar (/proc/PID/io), -1 unknown */
	struct proc_snap *snap0;     /* every process's CPU at the start */
	char others[256];            /* the largest other consumers during the run */
	char blockdev[128];          /* /sys/dev/block/M:m/stat of the data directory, or "" */
	int64_t dev0, dev1;          /* sectors written on it (whole machine), -1 unknown */
	int64_t t0, t1;
} run_probe;

/* data: the server's data directory (NULL: no device statistics). */
void probe_begin(run_probe *p, long pid, const char *data);
void probe_end(run_probe *p);

/* Size of DIR/data.mdb plus DIR/index/data.mdb (apparent and allocated
 * bytes); -1 if the ledger is unreadable. */
int bench_ledger_size(const char *dir, uint64_t *bytes, uint64_t *allocated);

/* Single-core crypto_sign_verify_detached rate over msgs for about `seconds`. */
double bench_verify_rate(const uint8_t *const *msgs, const size_t *lens,
    const uint8_t (*sigs)[64], size_t n, const uint8_t pk[32], double seconds);

/* Number of online cores. */
unsigned bench_ncpu(void);

/* ---- records (bench_gen.c) ------------------------------------------------- */

typedef struct bench_rec {
	uint8_t *bytes;              /* encoded Record, never re-encoded */
	size_t len;
	uint8_t sig[64];
} bench_rec;

typedef struct bench_set {
	bench_rec *recs;
	size_t n;
	uint64_t total_bytes;
	size_t kinds[4];             /* scan_in, evidence (photo), evidence (recording), disposition */
	double sign_seconds;
	unsigned sign_threads;
} bench_set;

/*
 * Generate records seq0 .. seq0+n-1 of run `tag` (distinct record ids,
 * inspection ids, evidence digests; ids numbered per agency, or UUID-like
 * when random_ids), each validated with record_validate and signed with sk,
 * on `threads` threads. 0, or -1 with err.
 */
int bench_generate(const evc_skey *sk, const char *tag, int random_ids, uint64_t seq0, size_t n,
    unsigned threads, bench_set *out, char *err, size_t errcap);
void bench_set_free(bench_set *s);

/* ---- drivers (bench_load.c) ------------------------------------------------ */

/* What a submit run measured. */
typedef struct submit_result {
	uint64_t sent, ok, refused, duplicates, verified, verify_failed, bad;
	double seconds;              /* first send .. last receipt */
	lat_sample *lats;            /* one per batch, weight = records */
	size_t nlats;
	uint64_t tree_size;          /* largest tree size seen in a receipt */
	uint64_t bytes_out;          /* record + signature bytes sent */
	double receipt_bytes;        /* encoded size of one receipt (first response) */
	char first_error[512];
	int failed;                  /* a connection broke */
} submit_result;

/*
 * Submit set->recs over o->connections connections (one thread and one
 * evc_client each), o->batch records per request, o->window requests in
 * flight per connection. rate > 0: open loop at `rate` records/s in all
 * (latency then counts from each batch's scheduled send time). `probe` (may
 * be NULL) is begun when the clock starts (pid: the server, 0 if unknown) and
 * ended after the last receipt. 0, or -1 if nothing could run.
 */
int bench_submit(const bench_opts *o, const evc_profile *p, const bench_set *set, double rate,
    run_probe *probe, long pid, submit_result *res, char *err, size_t errcap);
void submit_result_free(submit_result *r);

typedef struct proofs_result {
	uint64_t requests, ok, failed, verified, verify_failed;
	double seconds;
	lat_sample *lats;
	size_t nlats;
	uint64_t tree_size;
	char first_error[512];
	int broke;
} proofs_result;

int bench_proofs(const bench_opts *o, const evc_profile *p, uint64_t tree_size,
    run_probe *probe, long pid, proofs_result *res, char *err, size_t errcap);
void proofs_result_free(proofs_result *r);

/* Latest tree size and checkpoint (verified against the log key). 0 or -1. */
int bench_status(const evc_profile *p, const char *server, uint64_t *tree_size, char *err,
    size_t errcap);

#endif
