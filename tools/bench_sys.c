/*
 * bench_sys.c — clocks, percentiles, and what evchain-bench reads about the
 * machine and the server process: its PID (the listener of the port), its
 * anonymous RSS and CPU time, the ledger's size, the Ed25519 verify rate.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "bench.h"

int64_t
bench_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
bench_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
bench_sleep_until_ns(int64_t t)
{
	struct timespec ts = { (time_t)(t / 1000000000), (long)(t % 1000000000) };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

unsigned
bench_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* ---- percentiles -------------------------------------------------------- */

static int
cmp_lat(const void *a, const void *b)
{
	const lat_sample *x = a, *y = b;
	return x->ns < y->ns ? -1 : x->ns > y->ns;
}

/* The smallest latency that at least q of the weight does not exceed. */
static double
quantile_ms(const lat_sample *s, size_t n, uint64_t total, double q)
{
	double want = q * (double)total;
	uint64_t acc = 0;
	for (size_t i = 0; i < n; i++) {
		acc += s[i].weight;
		if ((double)acc >= want)
			return (double)s[i].ns / 1e6;
	}
	return n ? (double)s[n - 1].ns / 1e6 : 0.0;
}

void
lat_summarise(lat_sample *s, size_t n, lat_summary *out)
{
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return;
	qsort(s, n, sizeof(*s), cmp_lat);
	double sum = 0;
	for (size_t i = 0; i < n; i++) {
		out->count += s[i].weight;
		sum += (double)s[i].ns * s[i].weight;
	}
	if (out->count == 0)
		return;
	out->p50_ms = quantile_ms(s, n, out->count, 0.50);
	out->p90_ms = quantile_ms(s, n, out->count, 0.90);
	out->p99_ms = quantile_ms(s, n, out->count, 0.99);
	out->p999_ms = quantile_ms(s, n, out->count, 0.999);
	out->max_ms = (double)s[n - 1].ns / 1e6;
	out->mean_ms = sum / (double)out->count / 1e6;
}

/* ---- the server process ---------------------------------------------------- */

unsigned
bench_port_of(const char *addr)
{
	const char *c = addr ? strrchr(addr, ':') : NULL;
	if (c == NULL || c[1] == '\0')
		return 0;
	char *end;
	unsigned long p = strtoul(c + 1, &end, 10);
	return *end == '\0' && p > 0 && p < 65536 ? (unsigned)p : 0;
}

/* Inodes of sockets listening on `port` in /proc/net/tcp or tcp6. */
static size_t
listen_inodes(const char *file, unsigned port, unsigned long *inodes, size_t cap, size_t n)
{
	FILE *f = fopen(file, "r");
	char line[512];

	if (f == NULL)
		return n;
	if (fgets(line, sizeof(line), f) == NULL) { /* header */
		fclose(f);
		return n;
	}
	while (n < cap && fgets(line, sizeof(line), f) != NULL) {
		char local[80], remote[80];
		unsigned st;
		unsigned long inode;
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, "%*s %79s %79s %x %*s %*s %*s %*s %*s %lu", local, remote, &st,
		    &inode) != 4)
			continue;
		const char *colon = strrchr(local, ':');
		if (colon == NULL || st != 0x0A) /* TCP_LISTEN */
			continue;
		if (strtoul(colon + 1, NULL, 16) == port && inode != 0)
			inodes[n++] = inode;
	}
	fclose(f);
	return n;
}

long
bench_find_listener(unsigned port)
{
	unsigned long inodes[16];
	size_t n = listen_inodes("/proc/net/tcp", port, inodes, 16, 0);
	n = listen_inodes("/proc/net/tcp6", port, inodes, 16, n);
	if (n == 0)
		return 0;
	DIR *proc = opendir("/proc");
	if (proc == NULL)
		return 0;
	struct dirent *d;
	long found = 0;
	while (found == 0 && (d = readdir(proc)) != NULL) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		char path[300];
		snprintf(path, sizeof(path), "/proc/%s/fd", d->d_name);
		DIR *fds = opendir(path);
		if (fds == NULL)
			continue;
		struct dirent *fd;
		while (found == 0 && (fd = readdir(fds)) != NULL) {
			char lp[600], target[128];
			if (fd->d_name[0] == '.')
				continue;
			snprintf(lp, sizeof(lp), "%s/%s", path, fd->d_name);
			ssize_t tl = readlink(lp, target, sizeof(target) - 1);
			if (tl <= 0)
				continue;
			target[tl] = '\0';
			unsigned long ino;
			if (sscanf(target, "socket:[%lu]", &ino) != 1)
				continue;
			for (size_t i = 0; i < n; i++)
				if (inodes[i] == ino)
					found = strtol(d->d_name, NULL, 10);
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

long
bench_rss_anon_kib(long pid)
{
	char path[64], line[256];
	long v = -1;
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "RssAnon:", 8) == 0) {
			v = strtol(line + 8, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* utime + stime (fields 14, 15) and comm of /proc/.../stat. */
static int
stat_ticks(const char *path, uint64_t *ticks, char *comm, size_t commcap)
{
	char buf[1024];
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
	if (lp == NULL || rp == NULL || rp < lp)
		return -1;
	if (comm != NULL) {
		size_t cl = (size_t)(rp - lp - 1);
		if (cl >= commcap)
			cl = commcap - 1;
		memcpy(comm, lp + 1, cl);
		comm[cl] = '\0';
	}
	unsigned long long ut, st;
	/* after ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime(14) stime(15) */
	if (sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	*ticks = (uint64_t)(ut + st);
	return 0;
}

int
bench_proc_cpu(long pid, proc_cpu *out)
{
	char path[96];
	memset(out, 0, sizeof(*out));
	out->pid = pid;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (stat_ticks(path, &out->total, NULL, 0) != 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	DIR *d = opendir(path);
	if (d == NULL)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && out->ntids < BENCH_MAX_TIDS) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		char tp[320];
		snprintf(tp, sizeof(tp), "/proc/%ld/task/%s/stat", pid, e->d_name);
		size_t k = out->ntids;
		if (stat_ticks(tp, &out->ticks[k], out->comm[k], sizeof(out->comm[k])) == 0) {
			out->tid[k] = strtol(e->d_name, NULL, 10);
			out->ntids++;
		}
	}
	closedir(d);
	/* By thread id: the loop (tid == pid) first, then in creation order. */
	for (size_t i = 1; i < out->ntids; i++)
		for (size_t j = i; j > 0 && out->tid[j - 1] > out->tid[j]; j--) {
			long t = out->tid[j];
			out->tid[j] = out->tid[j - 1];
			out->tid[j - 1] = t;
			uint64_t k = out->ticks[j];
			out->ticks[j] = out->ticks[j - 1];
			out->ticks[j - 1] = k;
			char c[32];
			memcpy(c, out->comm[j], sizeof(c));
			memcpy(out->comm[j], out->comm[j - 1], sizeof(c));
			memcpy(out->comm[j - 1], c, sizeof(c));
		}
	return 0;
}

static void *
rss_main(void *arg)
{
	rss_sampler *r = arg;
	while (!r->stop) {
		long v = bench_rss_anon_kib(r->pid);
		if (v >= 0) {
			if (r->samples == 0)
				r->first_kib = v;
			if (v > r->max_kib)
				r->max_kib = v;
			r->last_kib = v;
			r->samples++;
		}
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

void
rss_start(rss_sampler *r, long pid)
{
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->max_kib = -1;
	if (pid <= 0)
		return;
	if (pthread_create(&r->th, NULL, rss_main, r) == 0)
		r->running = 1;
}

void
rss_stop(rss_sampler *r)
{
	if (!r->running)
		return;
	r->stop = 1;
	pthread_join(r->th, NULL);
	r->running = 0;
	long v = bench_rss_anon_kib(r->pid); /* one more, at the end of the run */
	if (v > r->max_kib)
		r->max_kib = v;
}

int
bench_ledger_size(const char *dir, uint64_t *bytes, uint64_t *allocated)
{
	char path[4096];
	struct stat st;
	if (snprintf(path, sizeof(path), "%s/data.mdb", dir) >= (int)sizeof(path) ||
	    stat(path, &st) != 0)
		return -1;
	*bytes = (uint64_t)st.st_size;
	*allocated = (uint64_t)st.st_blocks * 512u;
	/* The secondary index (ledger.h) is part of what an entry costs. */
	if (snprintf(path, sizeof(path), "%s/index/data.mdb", dir) < (int)sizeof(path) &&
	    stat(path, &st) == 0) {
		*bytes += (uint64_t)st.st_size;
		*allocated += (uint64_t)st.st_blocks * 512u;
	}
	return 0;
}

double
bench_verify_rate(const uint8_t *const *msgs, const size_t *lens, const uint8_t (*sigs)[64],
    size_t n, const uint8_t pk[32], double seconds)
{
	if (n == 0)
		return 0;
	/* Warm up, then count whole rounds of 64 until the time is up. */
	for (size_t i = 0; i < 64; i++)
		if (crypto_sign_verify_detached(sigs[i % n], msgs[i % n], lens[i % n], pk) != 0)
			return -1;
	int64_t t0 = bench_mono_ns(), end = t0 + (int64_t)(seconds * 1e9), t;
	uint64_t done = 0;
	size_t k = 0;
	do {
		for (int i = 0; i < 64; i++, k = (k + 1) % n)
			if (crypto_sign_verify_detached(sigs[k], msgs[k], lens[k], pk) != 0)
				return -1;
		done += 64;
	} while ((t = bench_mono_ns()) < end);
	return (double)done / ((double)(t - t0) / 1e9);
}

static double
self_cpu_s(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Busy and total ticks of the whole machine (first line of /proc/stat), and
 * of them: interrupts and softirqs (the run's own disk and loopback network
 * among them) and steal (the hypervisor ran someone else). */
static void
sys_ticks(uint64_t *busy, uint64_t *total, uint64_t *irq, uint64_t *steal)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	*busy = *total = *irq = *steal = 0;
	if (f == NULL)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
	    &v[4], &v[5], &v[6], &v[7]) == 8) {
		for (int i = 0; i < 8; i++)
			*total += v[i];
		*busy = *total - v[3] - v[4]; /* not idle, not iowait */
		*irq = v[5] + v[6];
		*steal = v[7];
	}
	fclose(f);
}

/* Bytes the process passed to write calls (/proc/PID/io wchar). Its
 * write_bytes is not used: with large folios (ext4, Linux >= 6.16) it counts
 * whole folios dirtied, many times what reaches the disk. */
static int64_t
io_write_bytes(long pid)
{
	char path[64], line[128];
	int64_t v = -1;
	snprintf(path, sizeof(path), "/proc/%ld/io", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "wchar:", 6) == 0) {
			v = strtoll(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Sectors written to the block device (field 7 of its stat file). */
static int64_t
dev_sectors_written(const char *statpath)
{
	unsigned long long v[7];
	if (statpath[0] == '\0')
		return -1;
	FILE *f = fopen(statpath, "r");
	if (f == NULL)
		return -1;
	int n = fscanf(f, "%llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
	    &v[5], &v[6]);
	fclose(f);
	return n == 7 ? (int64_t)v[6] : -1;
}

/* CPU ticks of every process, to name what else ran during a run. */
typedef struct proc_snap {
	size_t n;
	long pid[4096];
	uint64_t ticks[4096];
	char comm[4096][20];
} proc_snap;

static proc_snap *
snap_all(void)
{
	proc_snap *s = calloc(1, sizeof(*s));
	DIR *d = opendir("/proc");
	struct dirent *e;
	if (s == NULL || d == NULL) {
		if (d != NULL)
			closedir(d);
		return s;
	}
	while ((e = readdir(d)) != NULL && s->n < 4096) {
		char path[300];
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (stat_ticks(path, &s->ticks[s->n], s->comm[s->n], sizeof(s->comm[s->n])) == 0)
			s->pid[s->n++] = strtol(e->d_name, NULL, 10);
	}
	closedir(d);
	return s;
}

/* "name (pid) 1.2 s, ..." of the three largest consumers other than the
 * server and ourselves. */
static void
snap_others(const proc_snap *a, const proc_snap *b, long server, char *out, size_t cap)
{
	long self = (long)getpid();
	double hz = (double)sysconf(_SC_CLK_TCK);
	size_t best[3] = { SIZE_MAX, SIZE_MAX, SIZE_MAX };
	uint64_t bestd[3] = { 0, 0, 0 };
	out[0] = '\0';
	for (size_t i = 0; i < b->n; i++) {
		if (b->pid[i] == server || b->pid[i] == self)
			continue;
		uint64_t before = 0;
		for (size_t k = 0; k < a->n; k++)
			if (a->pid[k] == b->pid[i]) {
				before = a->ticks[k];
				break;
			}
		uint64_t dlt = b->ticks[i] >= before ? b->ticks[i] - before : 0;
		for (int r = 0; r < 3; r++)
			if (dlt > bestd[r]) {
				for (int q = 2; q > r; q--) {
					best[q] = best[q - 1];
					bestd[q] = bestd[q - 1];
				}
				best[r] = i;
				bestd[r] = dlt;
				break;
			}
	}
	size_t len = 0;
	for (int r = 0; r < 3 && best[r] != SIZE_MAX; r++) {
		int w = snprintf(out + len, cap - len, "%s%s (%ld) %.2f s", r ? ", " : "",
		    b->comm[best[r]], b->pid[best[r]], (double)bestd[r] / hz);
		if (w < 0 || (size_t)w >= cap - len)
			break;
		len += (size_t)w;
	}
}

void
probe_begin(run_probe *p, long pid, const char *data)
{
	memset(p, 0, sizeof(*p));
	struct stat st;
	if (data != NULL && stat(data, &st) == 0)
		snprintf(p->blockdev, sizeof(p->blockdev), "/sys/dev/block/%u:%u/stat",
		    major(st.st_dev), minor(st.st_dev));
	p->dev0 = dev_sectors_written(p->blockdev);
	p->snap0 = snap_all();
	p->pid = pid;
	rss_start(&p->rss, pid);
	p->have_cpu = pid > 0 && bench_proc_cpu(pid, &p->cpu0) == 0;
	p->client_cpu0 = self_cpu_s();
	sys_ticks(&p->sys_busy0, &p->sys_total0, &p->sys_irq0, &p->sys_steal0);
	p->wbytes0 = pid > 0 ? io_write_bytes(pid) : -1;
	p->t0 = bench_mono_ns();
}

void
probe_end(run_probe *p)
{
	p->t1 = bench_mono_ns();
	p->client_cpu_s = self_cpu_s() - p->client_cpu0;
	sys_ticks(&p->sys_busy1, &p->sys_total1, &p->sys_irq1, &p->sys_steal1);
	p->wbytes1 = p->pid > 0 ? io_write_bytes(p->pid) : -1;
	p->dev1 = dev_sectors_written(p->blockdev);
	proc_snap *s1 = snap_all();
	if (p->snap0 != NULL && s1 != NULL)
		snap_others(p->snap0, s1, p->pid, p->others, sizeof(p->others));
	free(s1);
	free(p->snap0);
	p->snap0 = NULL;
	if (p->have_cpu && bench_proc_cpu(p->pid, &p->cpu1) != 0)
		p->have_cpu = 0;
	rss_stop(&p->rss);
}
