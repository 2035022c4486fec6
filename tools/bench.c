/*
 * evchain-bench — the benchmark of evchain (DESIGN §9).
 *
 *   evchain-bench -c PROFILE [--mode ingest|latency|proofs|fill] [options]
 *
 * Drives a running evchaind over N TLS connections with pipelining. Records
 * are generated (valid, distinct) and signed on every core before the clock
 * starts. Reports throughput, latency p50/p99/max, the server's anonymous
 * RSS, the ledger's bytes per entry, and the single-core libsodium Ed25519
 * verify rate measured in the same run, with ratio = ingest / (2 × that
 * rate). --json adds the same as one JSON object on the last line.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "bench.h"
#include "evc.h"
#include "hash.h"

#define EX_OK 0
#define EX_FAIL 1
#define EX_USAGE 2

/* DESIGN §9 / the issue: targets on the project's 2-core machine. */
#define TARGET_INGEST 15000.0
#define TARGET_RATIO 0.6
#define TARGET_P99_MS 25.0
#define TARGET_P99_RATE 5000.0
#define TARGET_PROOFS 30000.0
#define TARGET_RSS_MIB 64.0
#define TARGET_BYTES_PER_ENTRY 1536.0

static const char *progname = "evchain-bench";

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: evchain-bench -c PROFILE [--server HOST:PORT] [--mode MODE] [options]\n"
	    "\n"
	    "Benchmark a running evchaind. Records are generated and signed (on every core)\n"
	    "before the clock starts; each connection is one thread with its own TLS client,\n"
	    "pipelining --window requests.\n"
	    "\n"
	    "modes:\n"
	    "  ingest   (default) submit --records records as fast as the server takes them;\n"
	    "           throughput = records / (first send .. last receipt), latency per record\n"
	    "           = its batch's receipt time - send time. Node profile.\n"
	    "  latency  open loop: --rate records/s offered for --duration s in batches of\n"
	    "           --batch; latency counts from each batch's scheduled send time. Node profile.\n"
	    "  proofs   inclusion proofs by random index over the current tree for --duration s,\n"
	    "           pipelined; a supervisor, discipline or court profile.\n"
	    "  fill     load the ledger up to --records entries (signing in chunks of 100,000),\n"
	    "           e.g. 1,000,000 for the proofs run; --duration bounds it (0: none).\n"
	    "\n"
	    "options (defaults: ingest / latency / proofs / fill):\n"
	    "  -c, --config PROFILE   client profile (`evchain-keys dev` writes node.conf, court.conf, ...)\n"
	    "  --server HOST:PORT     override the profile's server\n"
	    "  --records N            200000 / - / - / 1000000 (fill: the target tree size)\n"
	    "  --connections N        4 / 2 / 4 / 4\n"
	    "  --batch N              records per submit: 256 / 16 / - / 512\n"
	    "  --window N             requests in flight per connection: 4 / 64 / 32 / 4\n"
	    "  --rate R               latency: records/s offered (5000)\n"
	    "  --duration S           latency 20, proofs 10, fill 0 (no limit)\n"
	    "  --verify-every K       verify every K-th receipt or proof in full, and always the\n"
	    "                         first and last receipt (64); every answer's status is checked\n"
	    "  --server-pid PID       the server's PID, for its RSS and CPU (default: the process\n"
	    "                         listening on the server's port, found through /proc)\n"
	    "  --data DIR             the server's data directory: ledger bytes per entry\n"
	    "  --threads N            signing threads (default: every core)\n"
	    "  --ids sequential|random  inspection and record ids numbered per agency as agencies\n"
	    "                         do (LC-SCJG-2025-<run>-0000001-scan-in; default), or UUID-like\n"
	    "  --quiet                no progress lines on standard error\n"
	    "  --json                 also print every figure as one JSON object on the last line\n"
	    "  -h, --help\n"
	    "\n"
	    "Exit status: 0 when every record got a receipt (every proof an answer) and every\n"
	    "sampled verification passed; 1 otherwise; 2 usage.\n");
}

__attribute__((format(printf, 1, 2))) static int
fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EX_FAIL;
}

__attribute__((format(printf, 1, 2))) static int
usage_err(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see %s --help)\n", progname);
	return EX_USAGE;
}

static int
parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
	char *end;
	if (s[0] == '\0' || s[0] == '-')
		return -1;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (*end != '\0' || errno != 0 || x < lo || x > hi)
		return -1;
	*v = x;
	return 0;
}

static int
parse_double(const char *s, double lo, double hi, double *v)
{
	char *end;
	errno = 0;
	double x = strtod(s, &end);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || !(x >= lo && x <= hi))
		return -1;
	*v = x;
	return 0;
}

static const char *
mode_name(bench_mode m)
{
	switch (m) {
	case MODE_INGEST: return "ingest";
	case MODE_LATENCY: return "latency";
	case MODE_PROOFS: return "proofs";
	default: return "fill";
	}
}

static void
cpu_model(char *buf, size_t cap)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");
	snprintf(buf, cap, "unknown");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "model name", 10) == 0) {
			const char *c = strchr(line, ':');
			if (c != NULL) {
				c++;
				while (*c == ' ' || *c == '\t')
					c++;
				snprintf(buf, cap, "%s", c);
				buf[strcspn(buf, "\n")] = '\0';
			}
			break;
		}
	fclose(f);
}

/* ---- the report ------------------------------------------------------------- */

typedef struct report {
	const bench_opts *o;
	const char *server;
	uint64_t records;            /* submitted (or proofs answered) */
	double seconds;
	double per_s;
	lat_summary lat;
	int have_lat;
	double rate_offered;
	/* submit */
	const submit_result *sub;
	const bench_set *set;
	uint64_t ok, refused, duplicates, verified, verify_failed, bad;
	double record_bytes, receipt_bytes;
	double sign_seconds;
	unsigned sign_threads;
	/* proofs */
	const proofs_result *pr;
	/* server */
	long pid;
	const run_probe *probe;
	uint64_t tree_before, tree_after;
	int have_ledger;
	uint64_t ledger_bytes, ledger_alloc;
	double verify_rate;          /* the larger of the two: the conservative ratio */
	double verify_before, verify_after;
	double verify_all;           /* every core verifying at once, summed */
	double ratio;
	double fill_wall;
	int targets_checked;
	char first_error[512];
} report;

static double
rss_mib(const report *r)
{
	return r->probe && r->probe->rss.max_kib >= 0 ? (double)r->probe->rss.max_kib / 1024.0 : -1;
}

/* Per-thread CPU of the server during the run, as % of one core. */
static json_t *
server_threads(const report *r, FILE *out)
{
	json_t *arr = json_array();
	const run_probe *p = r->probe;
	if (p == NULL || !p->have_cpu)
		return arr;
	double wall = (double)(p->t1 - p->t0) / 1e9, hz = (double)sysconf(_SC_CLK_TCK);
	unsigned ncpu = bench_ncpu();
	double total = (double)(p->cpu1.total - p->cpu0.total) / hz;
	if (out != NULL)
		fprintf(out, "  server CPU       %.2f s in %.2f s = %.0f%% of one core (%u cores)\n",
		    total, wall, 100.0 * total / wall, ncpu);
	size_t nth = p->cpu1.ntids;
	for (size_t i = 0; i < nth; i++) {
		uint64_t before = 0;
		for (size_t k = 0; k < p->cpu0.ntids; k++)
			if (p->cpu0.tid[k] == p->cpu1.tid[i])
				before = p->cpu0.ticks[k];
		double s = (double)(p->cpu1.ticks[i] - before) / hz;
		/* evchaind names its threads; the main thread runs the loop. */
		const char *role = "thread", *comm = p->cpu1.comm[i];
		if (p->cpu1.tid[i] == p->pid)
			role = "loop (TLS, framing)";
		else if (strcmp(comm, "evc-worker") == 0)
			role = "worker (decode, verify)";
		else if (strcmp(comm, "evc-writer") == 0)
			role = "writer (append, fsync, receipts)";
		else if (strcmp(comm, "evc-indexer") == 0)
			role = "indexer (leaf, attribute keys)";
		json_array_append_new(arr, json_pack("{s:I, s:s, s:f, s:f}", "tid",
		    (json_int_t)p->cpu1.tid[i], "role", role, "cpu_s", s, "cpu_pct", 100.0 * s / wall));
		if (out != NULL)
			fprintf(out, "    tid %-8ld %-34s %6.1f%%\n", p->cpu1.tid[i], role, 100.0 * s / wall);
	}
	if (out != NULL)
		fprintf(out, "  client CPU       %.2f s (evchain-bench itself, all threads) = %.0f%% of one core\n",
		    p->client_cpu_s, 100.0 * p->client_cpu_s / wall);
	return arr;
}

/* The whole machine during the run: busy share, and what neither evchaind
 * nor evchain-bench used (other processes: a disturbed measurement). */
static json_t *
machine_json(const report *r, FILE *out)
{
	const run_probe *p = r->probe;
	if (p == NULL || p->sys_total1 <= p->sys_total0)
		return json_null();
	double hz = (double)sysconf(_SC_CLK_TCK);
	double wall = (double)(p->t1 - p->t0) / 1e9;
	double busy = (double)(p->sys_busy1 - p->sys_busy0) / hz;
	double total = (double)(p->sys_total1 - p->sys_total0) / hz;
	double server = p->have_cpu ? (double)(p->cpu1.total - p->cpu0.total) / hz : 0;
	double irq = (double)(p->sys_irq1 - p->sys_irq0) / hz;
	double steal = (double)(p->sys_steal1 - p->sys_steal0) / hz;
	/* Interrupts and softirqs serve the run's own disk and loopback
	 * traffic; other processes and steal are someone else's. */
	double other = busy - server - p->client_cpu_s - irq - steal;
	if (other < 0)
		other = 0;
	int disturbed = (other + steal) / wall > 0.15;
	if (out != NULL)
		fprintf(out, "  machine          %.0f%% busy during the run; interrupts and softirqs %.0f%% "
		    "of one core; other processes %.2f s (%.0f%%), steal %.2f s (%.0f%%)%s\n"
		    "                   largest: %s\n", 100.0 * busy / total, 100.0 * irq / wall, other,
		    100.0 * other / wall, steal, 100.0 * steal / wall,
		    disturbed ? " -- DISTURBED: figures may be low" : "", p->others[0] ? p->others : "-");
	return json_pack("{s:f, s:f, s:f, s:f, s:f, s:s, s:b}", "busy_pct", 100.0 * busy / total,
	    "irq_cpu_pct", 100.0 * irq / wall, "steal_cpu_pct", 100.0 * steal / wall,
	    "other_cpu_s", other, "other_cpu_pct", 100.0 * other / wall, "other_largest", p->others,
	    "disturbed", disturbed);
}

static json_t *
lat_json(const lat_summary *l)
{
	return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "p50", l->p50_ms, "p90", l->p90_ms,
	    "p99", l->p99_ms, "p999", l->p999_ms, "max", l->max_ms, "mean", l->mean_ms);
}

static int
print_report(report *r)
{
	const bench_opts *o = r->o;
	FILE *out = stdout;
	char model[256];
	unsigned ncpu = bench_ncpu();
	double rss = rss_mib(r);
	double bpe = r->have_ledger && r->tree_after ? (double)r->ledger_bytes / (double)r->tree_after : -1;
	int bad = 0;

	cpu_model(model, sizeof(model));
	json_t *j = json_object();
	json_object_set_new(j, "mode", json_string(mode_name(o->mode)));
	json_object_set_new(j, "server", json_string(r->server));
	json_object_set_new(j, "connections", json_integer(o->connections));
	json_object_set_new(j, "window", json_integer(o->window));
	json_object_set_new(j, "ncpu", json_integer(ncpu));
	json_object_set_new(j, "cpu_model", json_string(model));

	fprintf(out, "evchain-bench %s against %s: %u connections, window %u, %u cores (%s)\n",
	    mode_name(o->mode), r->server, o->connections, o->window, ncpu, model);
	if (o->mode != MODE_PROOFS) {
		json_object_set_new(j, "batch", json_integer(o->batch));
		fprintf(out, "  records          %" PRIu64 " in batches of %u: scan_in %zu, evidence %zu, "
		    "disposition %zu; %.0f B each on average\n", r->records, o->batch,
		    r->set ? r->set->kinds[0] : 0, r->set ? r->set->kinds[1] + r->set->kinds[2] : 0,
		    r->set ? r->set->kinds[3] : 0, r->record_bytes);
		fprintf(out, "  signed           before the clock, on %u threads in %.2f s; ids %s\n",
		    r->sign_threads, r->sign_seconds, o->random_ids ? "random (UUID-like)" :
		    "numbered per agency");
		if (o->mode == MODE_LATENCY)
			fprintf(out, "  offered          %.0f records/s (open loop), achieved %.0f records/s\n",
			    r->rate_offered, r->per_s);
		fprintf(out, "  time             %.3f s (first send .. last receipt)\n", r->seconds);
		fprintf(out, "  throughput       %.0f records/s\n", r->per_s);
		if (o->mode == MODE_FILL)
			fprintf(out, "  fill wall time   %.1f s including signing\n", r->fill_wall);
		fprintf(out, "  latency          p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms "
		    "(submit -> receipt%s)\n", r->lat.p50_ms, r->lat.p90_ms, r->lat.p99_ms,
		    r->lat.max_ms, o->mode == MODE_LATENCY ? ", from the scheduled send time" :
		    ", per record = its batch");
		fprintf(out, "  receipts         %" PRIu64 " OK, %" PRIu64 " refused, %" PRIu64
		    " malformed, %" PRIu64 " duplicates; %" PRIu64 " verified in full (every %u-th, "
		    "the first and the last), %" PRIu64 " failed verification\n", r->ok, r->refused, r->bad,
		    r->duplicates, r->verified, o->verify_every, r->verify_failed);
		if (r->receipt_bytes > 0)
			fprintf(out, "  receipt size     %.0f B per record on the wire (entry, proof, checkpoint)\n",
			    r->receipt_bytes);
		json_object_set_new(j, "records", json_integer((json_int_t)r->records));
		json_object_set_new(j, "seconds", json_real(r->seconds));
		json_object_set_new(j, "records_per_s", json_real(r->per_s));
		json_object_set_new(j, "latency_ms", lat_json(&r->lat));
		if (o->mode == MODE_LATENCY)
			json_object_set_new(j, "rate_offered", json_real(r->rate_offered));
		if (o->mode == MODE_FILL)
			json_object_set_new(j, "fill_wall_seconds", json_real(r->fill_wall));
		json_object_set_new(j, "receipts", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:i}",
		    "ok", (json_int_t)r->ok, "refused", (json_int_t)r->refused, "malformed",
		    (json_int_t)r->bad, "duplicates", (json_int_t)r->duplicates, "verified",
		    (json_int_t)r->verified, "verify_failed", (json_int_t)r->verify_failed,
		    "verify_every", (int)o->verify_every));
		json_object_set_new(j, "record_bytes_avg", json_real(r->record_bytes));
		json_object_set_new(j, "receipt_bytes", json_real(r->receipt_bytes));
		json_object_set_new(j, "sign_seconds", json_real(r->sign_seconds));
		json_object_set_new(j, "sign_threads", json_integer(r->sign_threads));
		json_object_set_new(j, "ids", json_string(o->random_ids ? "random" : "sequential"));
		bad = r->ok != r->records || r->verify_failed > 0 || r->duplicates > 0;
	} else {
		const proofs_result *p = r->pr;
		fprintf(out, "  tree             %" PRIu64 " entries\n", p->tree_size);
		fprintf(out, "  time             %.3f s\n", r->seconds);
		fprintf(out, "  proofs           %" PRIu64 " answered, %" PRIu64 " refused: %.0f proofs/s\n",
		    p->ok, p->failed, r->per_s);
		fprintf(out, "  latency          p50 %.2f ms  p99 %.2f ms  max %.2f ms (request -> proof)\n",
		    r->lat.p50_ms, r->lat.p99_ms, r->lat.max_ms);
		fprintf(out, "  verified         %" PRIu64 " in full (every %u-th: checkpoint signature and "
		    "inclusion under its root), %" PRIu64 " failed\n", p->verified, o->verify_every,
		    p->verify_failed);
		json_object_set_new(j, "proofs", json_integer((json_int_t)p->ok));
		json_object_set_new(j, "refused", json_integer((json_int_t)p->failed));
		json_object_set_new(j, "seconds", json_real(r->seconds));
		json_object_set_new(j, "proofs_per_s", json_real(r->per_s));
		json_object_set_new(j, "latency_ms", lat_json(&r->lat));
		json_object_set_new(j, "verified", json_integer((json_int_t)p->verified));
		json_object_set_new(j, "verify_failed", json_integer((json_int_t)p->verify_failed));
		json_object_set_new(j, "verify_every", json_integer(o->verify_every));
		bad = p->failed > 0 || p->verify_failed > 0 || p->broke || p->ok == 0;
	}
	/* The server. */
	if (r->pid > 0)
		fprintf(out, "  server RSS       RssAnon max %.1f MiB during the run (pid %ld, %u samples, "
		    "%.1f MiB at the start)\n", rss, r->pid, r->probe ? r->probe->rss.samples : 0,
		    r->probe && r->probe->rss.first_kib > 0 ? (double)r->probe->rss.first_kib / 1024.0 : 0);
	else
		fprintf(out, "  server RSS       unknown (no --server-pid, and no local process listens "
		    "on the port)\n");
	json_object_set_new(j, "server_pid", r->pid > 0 ? json_integer(r->pid) : json_null());
	json_object_set_new(j, "server_rss_anon_mib_max", rss >= 0 ? json_real(rss) : json_null());
	json_object_set_new(j, "server_threads", server_threads(r, out));
	json_object_set_new(j, "machine", machine_json(r, out));
	if (r->probe && r->probe->have_cpu) {
		double hz = (double)sysconf(_SC_CLK_TCK);
		json_object_set_new(j, "server_cpu_s",
		    json_real((double)(r->probe->cpu1.total - r->probe->cpu0.total) / hz));
	}
	if (r->probe)
		json_object_set_new(j, "client_cpu_s", json_real(r->probe->client_cpu_s));
	if (r->probe && r->probe->wbytes0 >= 0 && r->probe->wbytes1 >= r->probe->wbytes0) {
		double wb = (double)(r->probe->wbytes1 - r->probe->wbytes0);
		double wall = (double)(r->probe->t1 - r->probe->t0) / 1e9;
		fprintf(out, "  server writes    %.1f MiB through write calls (%.1f MiB/s", wb / 1048576.0,
		    wb / 1048576.0 / wall);
		if (o->mode != MODE_PROOFS && r->ok > 0)
			fprintf(out, ", %.0f B per record", wb / (double)r->ok);
		fprintf(out, ")\n");
		json_object_set_new(j, "server_write_bytes", json_integer((json_int_t)wb));
		if (o->mode != MODE_PROOFS && r->ok > 0)
			json_object_set_new(j, "server_write_bytes_per_record", json_real(wb / (double)r->ok));
	}
	if (r->probe && r->probe->dev0 >= 0 && r->probe->dev1 >= r->probe->dev0) {
		double db = (double)(r->probe->dev1 - r->probe->dev0) * 512.0;
		double wall = (double)(r->probe->t1 - r->probe->t0) / 1e9;
		fprintf(out, "  disk writes      %.1f MiB reached the data directory's device (%.1f MiB/s",
		    db / 1048576.0, db / 1048576.0 / wall);
		if (o->mode != MODE_PROOFS && r->ok > 0)
			fprintf(out, ", %.0f B per record", db / (double)r->ok);
		fprintf(out, "; whole machine)\n");
		json_object_set_new(j, "disk_write_bytes", json_integer((json_int_t)db));
		if (o->mode != MODE_PROOFS && r->ok > 0)
			json_object_set_new(j, "disk_write_bytes_per_record", json_real(db / (double)r->ok));
	}
	json_object_set_new(j, "tree_size", json_integer((json_int_t)r->tree_after));
	if (r->have_ledger) {
		fprintf(out, "  ledger           %.0f B per entry (ledger and index %.1f MiB, %.1f MiB allocated, "
		    "%" PRIu64 " entries)\n", bpe, (double)r->ledger_bytes / 1048576.0,
		    (double)r->ledger_alloc / 1048576.0, r->tree_after);
		json_object_set_new(j, "ledger_bytes", json_integer((json_int_t)r->ledger_bytes));
		json_object_set_new(j, "ledger_allocated_bytes", json_integer((json_int_t)r->ledger_alloc));
		json_object_set_new(j, "ledger_bytes_per_entry", json_real(bpe));
	} else {
		fprintf(out, "  ledger           (give --data DIR for bytes per entry) %" PRIu64 " entries\n",
		    r->tree_after);
		json_object_set_new(j, "ledger_bytes_per_entry", json_null());
	}
	fprintf(out, "  verify rate      %.0f Ed25519 verifies/s on one core (libsodium "
	    "crypto_sign_verify_detached, %.0f-byte messages, 1 s before the load: %.0f, 1 s after: "
	    "%.0f; the larger is used)\n", r->verify_rate,
	    r->record_bytes > 0 ? r->record_bytes + sizeof(EVC_RECORD_SIG_PREFIX) - 1 : 400.0,
	    r->verify_before, r->verify_after);
	json_object_set_new(j, "verify_rate_per_s", json_real(r->verify_rate));
	json_object_set_new(j, "verify_rate_before", json_real(r->verify_before));
	json_object_set_new(j, "verify_rate_after", json_real(r->verify_after));
	if (o->mode == MODE_INGEST || o->mode == MODE_FILL) {
		fprintf(out, "  ratio            %.3f = %.0f / (2 x %.0f)  (ingest / twice the single-core "
		    "verify rate)\n", r->ratio, r->per_s, r->verify_rate);
		json_object_set_new(j, "ratio", json_real(r->ratio));
		if (r->verify_all > 0) {
			fprintf(out, "  all cores        %.0f verifies/s with all %u cores verifying at once "
			    "(after the load); ingest is %.3f of it\n", r->verify_all, bench_ncpu(),
			    r->per_s / r->verify_all);
			json_object_set_new(j, "verify_rate_all_cores", json_real(r->verify_all));
			json_object_set_new(j, "ratio_all_cores", json_real(r->per_s / r->verify_all));
		}
	}

	/* The targets, where this run measures them. */
	json_t *t = json_object();
	if (o->mode == MODE_INGEST) {
		json_object_set_new(t, "ingest_15000", json_boolean(r->per_s >= TARGET_INGEST));
		json_object_set_new(t, "ratio_0.6", json_boolean(r->ratio >= TARGET_RATIO));
		fprintf(out, "  target           ingest >= %.0f/s: %s; ratio >= %.1f: %s\n", TARGET_INGEST,
		    r->per_s >= TARGET_INGEST ? "met" : "NOT met", TARGET_RATIO,
		    r->ratio >= TARGET_RATIO ? "met" : "NOT met");
	}
	if (o->mode == MODE_LATENCY) {
		int at = r->rate_offered >= TARGET_P99_RATE;
		json_object_set_new(t, "p99_25ms_at_5000", at ? json_boolean(r->lat.p99_ms <= TARGET_P99_MS)
		    : json_null());
		fprintf(out, "  target           p99 <= %.0f ms at %.0f records/s offered: %s\n",
		    TARGET_P99_MS, TARGET_P99_RATE, !at ? "not measured (offer at least 5000/s)" :
		    r->lat.p99_ms <= TARGET_P99_MS ? "met" : "NOT met");
	}
	if (o->mode == MODE_PROOFS) {
		int big = r->pr->tree_size >= 1000000;
		json_object_set_new(t, "proofs_30000_on_1M", big ? json_boolean(r->per_s >= TARGET_PROOFS)
		    : json_null());
		fprintf(out, "  target           >= %.0f proofs/s on 1,000,000 entries: %s\n", TARGET_PROOFS,
		    !big ? "not measured (tree under 1,000,000; run --mode fill)" :
		    r->per_s >= TARGET_PROOFS ? "met" : "NOT met");
	}
	if (o->mode == MODE_INGEST && rss >= 0) {
		json_object_set_new(t, "rss_64mib", json_boolean(rss <= TARGET_RSS_MIB));
		fprintf(out, "  target           server RssAnon <= %.0f MiB during ingest: %s\n",
		    TARGET_RSS_MIB, rss <= TARGET_RSS_MIB ? "met" : "NOT met");
	}
	if (bpe > 0) {
		json_object_set_new(t, "ledger_1.5kib", json_boolean(bpe <= TARGET_BYTES_PER_ENTRY));
		fprintf(out, "  target           ledger <= 1.5 KiB per entry: %s\n",
		    bpe <= TARGET_BYTES_PER_ENTRY ? "met" : "NOT met");
	}
	json_object_set_new(j, "targets", t);
	if (r->first_error[0])
		fprintf(out, "  first error      %s\n", r->first_error);
	json_object_set_new(j, "first_error", r->first_error[0] ? json_string(r->first_error) : json_null());
	json_object_set_new(j, "ok", json_boolean(!bad));
	if (o->json) {
		char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
		if (s != NULL) {
			fflush(out);
			printf("%s\n", s);
			free(s);
		}
	}
	json_decref(j);
	fflush(out);
	return bad ? EX_FAIL : EX_OK;
}

/* ---- modes ---------------------------------------------------------------- */

/* The single-core verify rate, on messages shaped like this run's (the
 * record signature prefix and the record bytes), with a throwaway key. */
static double
verify_rate(const bench_set *set)
{
	enum { N = 64 };
	uint8_t pk[32], sk[64], sigs[N][64];
	uint8_t *msgs[N];
	size_t lens[N];
	const size_t pl = sizeof(EVC_RECORD_SIG_PREFIX) - 1;

	crypto_sign_keypair(pk, sk);
	for (size_t i = 0; i < N; i++) {
		size_t rl = set && set->n ? set->recs[i % set->n].len : 400;
		msgs[i] = malloc(pl + rl);
		if (msgs[i] == NULL)
			abort();
		memcpy(msgs[i], EVC_RECORD_SIG_PREFIX, pl);
		if (set && set->n)
			memcpy(msgs[i] + pl, set->recs[i % set->n].bytes, rl);
		else
			randombytes_buf(msgs[i] + pl, rl);
		lens[i] = pl + rl;
		crypto_sign_detached(sigs[i], NULL, msgs[i], lens[i], sk);
	}
	double rate = bench_verify_rate((const uint8_t *const *)msgs, lens,
	    (const uint8_t(*)[64])sigs, N, pk, 1.0);
	for (size_t i = 0; i < N; i++)
		free(msgs[i]);
	sodium_memzero(sk, sizeof(sk));
	return rate;
}

struct vr_arg {
	const bench_set *set;
	double rate;
};

static void *
vr_main(void *arg)
{
	struct vr_arg *v = arg;
	v->rate = verify_rate(v->set);
	return NULL;
}

/* Every core verifying at once (summed): what the machine can really give
 * signature checks when all its cores are busy, which can be less than the
 * cores times the single-core rate (shared caches, clocks, a hypervisor). */
static double
verify_rate_all(const bench_set *set)
{
	enum { MAXT = 64 };
	pthread_t th[MAXT];
	struct vr_arg args[MAXT];
	unsigned n = bench_ncpu(), started = 0;
	double sum = 0;

	if (n > MAXT)
		n = MAXT;
	for (unsigned i = 0; i < n; i++) {
		args[i].set = set;
		args[i].rate = 0;
		if (pthread_create(&th[i], NULL, vr_main, &args[i]) != 0)
			break;
		started++;
	}
	for (unsigned i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		sum += args[i].rate;
	}
	return started == n ? sum : 0;
}

static void
run_tag(char out[17])
{
	uint8_t rnd[8];
	randombytes_buf(rnd, sizeof(rnd));
	hash_hex(rnd, sizeof(rnd), out);
}

static void
finish_ledger(report *r, const evc_profile *p)
{
	char err[512];
	uint64_t ts;
	if (bench_status(p, r->o->server, &ts, err, sizeof(err)) == 0)
		r->tree_after = ts;
	if (r->o->data != NULL && bench_ledger_size(r->o->data, &r->ledger_bytes, &r->ledger_alloc) == 0)
		r->have_ledger = 1;
	else if (r->o->data != NULL)
		fprintf(stderr, "%s: cannot read %s/data.mdb\n", progname, r->o->data);
}

static int
mode_submit(const bench_opts *o, evc_profile *p, report *r, long pid)
{
	char tag[17], err[1024];
	bench_set set;
	submit_result res;
	run_probe probe;
	size_t n;

	if (!p->has_signing_key || p->signing_key.type != EVC_KEY_ED25519)
		return fail("%s has no Ed25519 signing_key: %s needs a node profile", p->path,
		    mode_name(o->mode));
	if (bench_status(p, o->server, &r->tree_before, err, sizeof(err)) != 0)
		return fail("%s", err);
	if (o->mode == MODE_LATENCY) {
		double want = o->rate * o->duration;
		n = want < 1 ? 1 : (size_t)want;
	} else {
		n = (size_t)o->records;
	}
	run_tag(tag);
	if (!o->quiet)
		fprintf(stderr, "%s: signing %zu records on %u threads (run %s)...\n", progname, n,
		    o->threads ? o->threads : bench_ncpu(), tag);
	if (bench_generate(&p->signing_key, tag, o->random_ids, 0, n, o->threads, &set, err, sizeof(err)) != 0)
		return fail("%s", err);
	r->set = &set;
	r->record_bytes = (double)set.total_bytes / (double)set.n;
	r->sign_seconds = set.sign_seconds;
	r->sign_threads = set.sign_threads;
	r->verify_before = verify_rate(&set);
	if (!o->quiet)
		fprintf(stderr, "%s: verify rate %.0f/s on one core; %s run...\n", progname,
		    r->verify_before, mode_name(o->mode));
	double rate = o->mode == MODE_LATENCY ? o->rate : 0;
	if (bench_submit(o, p, &set, rate, &probe, pid, &res, err, sizeof(err)) != 0) {
		bench_set_free(&set);
		r->set = NULL;
		return fail("%s", err);
	}
	r->probe = &probe;
	r->sub = &res;
	r->records = set.n;
	r->seconds = res.seconds;
	r->per_s = res.seconds > 0 ? (double)res.ok / res.seconds : 0;
	r->rate_offered = rate;
	r->ok = res.ok;
	r->refused = res.refused;
	r->duplicates = res.duplicates;
	r->verified = res.verified;
	r->verify_failed = res.verify_failed;
	r->bad = res.bad;
	r->receipt_bytes = res.receipt_bytes;
	snprintf(r->first_error, sizeof(r->first_error), "%s", res.first_error);
	lat_summarise(res.lats, res.nlats, &r->lat);
	r->verify_after = verify_rate(&set);
	r->verify_rate = r->verify_after > r->verify_before ? r->verify_after : r->verify_before;
	r->ratio = r->verify_rate > 0 ? r->per_s / (2 * r->verify_rate) : 0;
	if (o->mode == MODE_INGEST)
		r->verify_all = verify_rate_all(&set);
	finish_ledger(r, p);
	int rc = print_report(r);
	submit_result_free(&res);
	bench_set_free(&set);
	r->set = NULL;
	r->probe = NULL;
	r->sub = NULL;
	return rc;
}

static int
mode_fill(const bench_opts *o, evc_profile *p, report *r, long pid)
{
	char tag[17], err[1024];
	uint64_t size, seq = 0;
	run_probe probe;
	bench_set last;
	size_t nl = 0, lcap = 0;
	lat_sample *lats = NULL;
	double submit_s = 0, sign_s = 0, bytes = 0;
	int64_t t0 = bench_mono_ns();
	int ret = EX_OK;

	memset(&last, 0, sizeof(last));
	if (!p->has_signing_key || p->signing_key.type != EVC_KEY_ED25519)
		return fail("%s has no Ed25519 signing_key: fill needs a node profile", p->path);
	if (bench_status(p, o->server, &size, err, sizeof(err)) != 0)
		return fail("%s", err);
	r->tree_before = size;
	if (size >= o->records) {
		fprintf(stderr, "%s: the tree already has %" PRIu64 " entries (>= %" PRIu64 ")\n",
		    progname, size, o->records);
	}
	run_tag(tag);
	r->verify_before = verify_rate(NULL);
	probe_begin(&probe, pid, o->data);
	while (size < o->records) {
		if (o->duration > 0 && (double)(bench_mono_ns() - t0) / 1e9 >= o->duration) {
			fprintf(stderr, "%s: --duration %.0f s reached at %" PRIu64 " entries\n", progname,
			    o->duration, size);
			break;
		}
		size_t n = o->records - size > 100000 ? 100000 : (size_t)(o->records - size);
		bench_set set;
		submit_result res;
		if (bench_generate(&p->signing_key, tag, o->random_ids, seq, n, o->threads, &set, err, sizeof(err)) != 0) {
			ret = fail("%s", err);
			break;
		}
		if (bench_submit(o, p, &set, 0, NULL, pid, &res, err, sizeof(err)) != 0) {
			bench_set_free(&set);
			ret = fail("%s", err);
			break;
		}
		seq += n;
		sign_s += set.sign_seconds;
		submit_s += res.seconds;
		bytes += (double)set.total_bytes;
		r->records += set.n;
		r->ok += res.ok;
		r->refused += res.refused;
		r->duplicates += res.duplicates;
		r->verified += res.verified;
		r->verify_failed += res.verify_failed;
		r->bad += res.bad;
		if (res.receipt_bytes > 0)
			r->receipt_bytes = res.receipt_bytes;
		if (r->first_error[0] == '\0' && res.first_error[0] != '\0')
			snprintf(r->first_error, sizeof(r->first_error), "%s", res.first_error);
		if (nl + res.nlats > lcap) {
			size_t nc = (nl + res.nlats) * 2;
			lat_sample *x = realloc(lats, nc * sizeof(*x));
			if (x != NULL) {
				lats = x;
				lcap = nc;
			}
		}
		if (res.nlats > 0 && nl + res.nlats <= lcap) {
			memcpy(lats + nl, res.lats, res.nlats * sizeof(*lats));
			nl += res.nlats;
		}
		for (int k = 0; k < 4; k++)
			last.kinds[k] += set.kinds[k];
		int broke = res.failed || res.ok != set.n;
		submit_result_free(&res);
		bench_set_free(&set);
		if (bench_status(p, o->server, &size, err, sizeof(err)) != 0) {
			ret = fail("%s", err);
			break;
		}
		if (!o->quiet)
			fprintf(stderr, "%s: %" PRIu64 " entries (%.0f s)\n", progname, size,
			    (double)(bench_mono_ns() - t0) / 1e9);
		if (broke) {
			fprintf(stderr, "%s: stopping: %s\n", progname, r->first_error);
			break;
		}
	}
	probe_end(&probe);
	r->probe = &probe;
	r->set = &last;
	r->fill_wall = (double)(bench_mono_ns() - t0) / 1e9;
	r->seconds = submit_s;
	r->per_s = submit_s > 0 ? (double)r->ok / submit_s : 0;
	r->record_bytes = r->records ? bytes / (double)r->records : 0;
	r->sign_seconds = sign_s;
	r->sign_threads = o->threads ? o->threads : bench_ncpu();
	r->verify_after = verify_rate(NULL);
	r->verify_rate = r->verify_after > r->verify_before ? r->verify_after : r->verify_before;
	r->ratio = r->verify_rate > 0 ? r->per_s / (2 * r->verify_rate) : 0;
	lat_summarise(lats, nl, &r->lat);
	finish_ledger(r, p);
	int rc = print_report(r);
	free(lats);
	r->set = NULL;
	r->probe = NULL;
	return ret != EX_OK ? ret : rc;
}

static int
mode_proofs(const bench_opts *o, evc_profile *p, report *r, long pid)
{
	char err[1024];
	uint64_t size;
	proofs_result res;
	run_probe probe;

	if (strcmp(p->role, "node") == 0 || strcmp(p->role, "admin") == 0 ||
	    strcmp(p->role, "witness") == 0)
		return fail("proofs needs a supervisor, discipline or court profile (%s is %s)", p->path,
		    p->role);
	if (bench_status(p, o->server, &size, err, sizeof(err)) != 0)
		return fail("%s", err);
	r->tree_before = size;
	r->verify_before = verify_rate(NULL);
	if (!o->quiet)
		fprintf(stderr, "%s: verify rate %.0f/s on one core; proofs over %" PRIu64
		    " entries for %.0f s...\n", progname, r->verify_before, size, o->duration);
	if (bench_proofs(o, p, size, &probe, pid, &res, err, sizeof(err)) != 0)
		return fail("%s", err);
	r->probe = &probe;
	r->pr = &res;
	r->records = res.ok;
	r->seconds = res.seconds;
	r->per_s = res.seconds > 0 ? (double)res.ok / res.seconds : 0;
	snprintf(r->first_error, sizeof(r->first_error), "%s", res.first_error);
	lat_summarise(res.lats, res.nlats, &r->lat);
	r->verify_after = verify_rate(NULL);
	r->verify_rate = r->verify_after > r->verify_before ? r->verify_after : r->verify_before;
	finish_ledger(r, p);
	int rc = print_report(r);
	proofs_result_free(&res);
	r->probe = NULL;
	r->pr = NULL;
	return rc;
}

int
main(int argc, char **argv)
{
	enum { O_SERVER = 256, O_MODE, O_RECORDS, O_CONNS, O_BATCH, O_WINDOW, O_RATE, O_DURATION,
		O_PID, O_DATA, O_VERIFY, O_THREADS, O_JSON, O_QUIET, O_IDS };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "server", required_argument, NULL, O_SERVER },
		{ "mode", required_argument, NULL, O_MODE },
		{ "records", required_argument, NULL, O_RECORDS },
		{ "connections", required_argument, NULL, O_CONNS },
		{ "batch", required_argument, NULL, O_BATCH },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "rate", required_argument, NULL, O_RATE },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "server-pid", required_argument, NULL, O_PID },
		{ "data", required_argument, NULL, O_DATA },
		{ "verify-every", required_argument, NULL, O_VERIFY },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "json", no_argument, NULL, O_JSON },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "ids", required_argument, NULL, O_IDS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bench_opts o;
	uint64_t v;
	int c, set_records = 0, set_conns = 0, set_batch = 0, set_window = 0, set_duration = 0;
	char err[1024];

	memset(&o, 0, sizeof(o));
	o.mode = MODE_INGEST;
	o.verify_every = 64;
	o.rate = 5000;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o.profile = optarg; break;
		case O_SERVER: o.server = optarg; break;
		case O_MODE:
			if (strcmp(optarg, "ingest") == 0)
				o.mode = MODE_INGEST;
			else if (strcmp(optarg, "latency") == 0)
				o.mode = MODE_LATENCY;
			else if (strcmp(optarg, "proofs") == 0)
				o.mode = MODE_PROOFS;
			else if (strcmp(optarg, "fill") == 0)
				o.mode = MODE_FILL;
			else
				return usage_err("--mode is ingest, latency, proofs or fill");
			break;
		case O_RECORDS:
			if (parse_u64(optarg, 1, 100000000, &o.records))
				return usage_err("--records takes 1..100000000");
			set_records = 1;
			break;
		case O_CONNS:
			if (parse_u64(optarg, 1, 256, &v))
				return usage_err("--connections takes 1..256");
			o.connections = (unsigned)v;
			set_conns = 1;
			break;
		case O_BATCH:
			if (parse_u64(optarg, 1, 65536, &v))
				return usage_err("--batch takes 1..65536");
			o.batch = (unsigned)v;
			set_batch = 1;
			break;
		case O_WINDOW:
			if (parse_u64(optarg, 1, 4096, &v))
				return usage_err("--window takes 1..4096");
			o.window = (unsigned)v;
			set_window = 1;
			break;
		case O_RATE:
			if (parse_double(optarg, 1, 1e7, &o.rate))
				return usage_err("--rate takes 1..10000000 records/s");
			break;
		case O_DURATION:
			if (parse_double(optarg, 0, 86400, &o.duration))
				return usage_err("--duration takes 0..86400 seconds");
			set_duration = 1;
			break;
		case O_PID:
			if (parse_u64(optarg, 1, 1u << 30, &v))
				return usage_err("--server-pid takes a process id");
			o.server_pid = (long)v;
			break;
		case O_DATA: o.data = optarg; break;
		case O_VERIFY:
			if (parse_u64(optarg, 1, 1u << 30, &v))
				return usage_err("--verify-every takes 1 or more");
			o.verify_every = (unsigned)v;
			break;
		case O_THREADS:
			if (parse_u64(optarg, 1, 1024, &v))
				return usage_err("--threads takes 1..1024");
			o.threads = (unsigned)v;
			break;
		case O_JSON: o.json = 1; break;
		case O_QUIET: o.quiet = 1; break;
		case O_IDS:
			if (strcmp(optarg, "sequential") == 0)
				o.random_ids = 0;
			else if (strcmp(optarg, "random") == 0)
				o.random_ids = 1;
			else
				return usage_err("--ids is sequential or random");
			break;
		case 'h': usage(stdout); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc)
		return usage_err("unexpected argument \"%s\"", argv[optind]);
	if (o.profile == NULL)
		return usage_err("-c PROFILE is required");
	/* Per-mode defaults. */
	static const unsigned dconn[] = { 4, 2, 4, 4 }, dbatch[] = { 256, 16, 1, 512 },
	    dwin[] = { 4, 64, 32, 4 };
	static const double ddur[] = { 0, 20, 10, 0 };
	if (!set_conns)
		o.connections = dconn[o.mode];
	if (!set_batch)
		o.batch = dbatch[o.mode];
	if (!set_window)
		o.window = dwin[o.mode];
	if (!set_duration)
		o.duration = ddur[o.mode];
	if (!set_records)
		o.records = o.mode == MODE_FILL ? 1000000 : 200000;
	if ((o.mode == MODE_LATENCY || o.mode == MODE_PROOFS) && o.duration <= 0)
		return usage_err("--duration must be > 0 for %s", mode_name(o.mode));
	if (o.mode != MODE_PROOFS && (uint64_t)o.window * o.batch > 8192)
		fprintf(stderr, "%s: warning: window x batch = %u records in flight per connection; "
		    "their receipts (~1.7 KiB each) may exceed the server's max_queued_output (8 MiB) "
		    "and stall the connection\n", progname, o.window * o.batch);

	if (sodium_init() < 0)
		return fail("libsodium failed to initialise");
	evc_profile *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return fail("out of memory");
	if (client_profile_load(o.profile, p, err, sizeof(err)) != 0) {
		free(p);
		return fail("%s", err);
	}
	const char *server = o.server ? o.server : p->server;
	long pid = o.server_pid;
	if (pid == 0) {
		unsigned port = bench_port_of(server);
		pid = port ? bench_find_listener(port) : 0;
	}
	if (pid > 0 && bench_rss_anon_kib(pid) < 0) {
		fprintf(stderr, "%s: cannot read /proc/%ld/status: server RSS unknown\n", progname, pid);
		pid = 0;
	}
	report r;
	memset(&r, 0, sizeof(r));
	r.o = &o;
	r.server = server;
	r.pid = pid;
	int rc;
	switch (o.mode) {
	case MODE_PROOFS: rc = mode_proofs(&o, p, &r, pid); break;
	case MODE_FILL: rc = mode_fill(&o, p, &r, pid); break;
	default: rc = mode_submit(&o, p, &r, pid); break;
	}
	client_profile_wipe(p);
	free(p);
	return rc;
}
