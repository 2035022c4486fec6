/*
 * backup.c — `evchaind backup -c FILE [--data DIR] DEST`: a hot backup.
 *
 * Opens the configured ledger read-only next to the running evchaind (LMDB
 * lets a second process read an environment another one writes: readers
 * register in the lock file and never block the writer), copies one read
 * snapshot of it with mdb_env_copy2(MDB_CP_COMPACT) into DEST (free pages
 * dropped), fsyncs the copy, opens the copy to check its head the way
 * evchaind does at start-up, and prints how to verify and how to restore it.
 * Run it as the user evchaind runs as (the lock file is that user's).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "evc.h"
#include "server.h"

static void
backup_usage(FILE *f)
{
	fprintf(f,
	    "usage: evchaind backup -c FILE [--data DIR] DEST\n"
	    "\n"
	    "Copy the ledger of FILE's `data` directory (or DIR) into DEST, compacted,\n"
	    "while evchaind serves: one consistent snapshot, the latest committed batch.\n"
	    "DEST must not exist or be an empty directory. Run it as evchaind's user.\n"
	    "Prints how to verify the copy and how to restore it.\n");
}

/* 1 if dir holds no entry, 0 if it does, -1 if it cannot be read. */
static int
dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int empty = 1;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

static int
fsync_path(const char *path, int dir)
{
	int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Remove what a failed backup left in dest (and dest, if it made it). */
static void
undo(const char *dest, int made)
{
	char p[1100];
	snprintf(p, sizeof(p), "%s/data.mdb", dest);
	unlink(p);
	snprintf(p, sizeof(p), "%s/lock.mdb", dest);
	unlink(p);
	if (made)
		rmdir(dest);
}

int
srv_backup_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "data", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfile = NULL, *data = NULL;
	static srv_config cfg;
	char err[1024], path[1100];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cfile = optarg; break;
		case 'd': data = optarg; break;
		case 'h': backup_usage(stdout); return 0;
		default: backup_usage(stderr); return 2;
		}
	}
	if (cfile == NULL || optind != argc - 1) {
		backup_usage(stderr);
		return 2;
	}
	const char *dest = argv[optind];
	if (srv_config_load(cfile, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "evchaind backup: %s\n", err);
		return 1;
	}
	if (data != NULL && snprintf(cfg.data, sizeof(cfg.data), "%s", data) >= (int)sizeof(cfg.data))
		return 2;

	/* DEST: new, or an empty directory; never over anything. */
	struct stat st;
	int made = 0;
	if (stat(dest, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			fprintf(stderr, "evchaind backup: %s exists and is not a directory; refusing\n", dest);
			return 1;
		}
		int e = dir_empty(dest);
		if (e != 1) {
			fprintf(stderr, "evchaind backup: %s %s; refusing (a backup goes into a new or "
			    "empty directory)\n", dest, e < 0 ? "cannot be read" : "is not empty");
			return 1;
		}
	} else if (errno != ENOENT) {
		fprintf(stderr, "evchaind backup: %s: %s\n", dest, strerror(errno));
		return 1;
	} else {
		if (mkdir(dest, 0700) != 0) {
			fprintf(stderr, "evchaind backup: cannot create %s: %s\n", dest, strerror(errno));
			return 1;
		}
		made = 1;
	}

	/* The live ledger, read-only: its head is checked as at start-up. */
	ledger *l = NULL;
	ledger_opts ro = { .read_only = 1 };
	int rc = ledger_open(cfg.data, &ro, &l, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "evchaind backup: %s\n", err);
		if (rc == EVC_ECORRUPT)
			fprintf(stderr, "evchaind backup: the live ledger fails its head check; investigate "
			    "with `evchain-verify ledger %s --log-key LOG.pub`\n", cfg.data);
		undo(dest, made);
		return 1;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = ledger_backup(l, dest, err, sizeof(err));
	ledger_close(l);
	snprintf(path, sizeof(path), "%s/data.mdb", dest);
	if (rc == 0 && (chmod(path, 0600) != 0 || fsync_path(path, 0) != 0 || fsync_path(dest, 1) != 0)) {
		snprintf(err, sizeof(err), "fsync %s: %s", dest, strerror(errno));
		rc = EVC_EIO;
	}
	if (rc != 0) {
		fprintf(stderr, "evchaind backup: %s; nothing kept, run it again\n", err);
		undo(dest, made);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	/* The copy opens and its head checks, as evchaind will check it. */
	ledger_head *h = malloc(sizeof(*h));
	l = NULL;
	if (h == NULL || (rc = ledger_open(dest, &ro, &l, err, sizeof(err))) != 0 ||
	    (rc = ledger_latest(l, h)) != 0) {
		fprintf(stderr, "evchaind backup: the copy in %s does not check: %s\n", dest,
		    rc ? (err[0] ? err : evc_strerror(rc)) : "out of memory");
		ledger_close(l);
		free(h);
		undo(dest, made);
		return 1;
	}
	char origin[EVC_MAX_KEY_NAME + 1];
	snprintf(origin, sizeof(origin), "%s", ledger_origin(l));
	ledger_close(l);
	snprintf(path, sizeof(path), "%s/lock.mdb", dest);
	unlink(path); /* made by the check; evchaind makes its own */
	snprintf(path, sizeof(path), "%s/data.mdb", dest);
	off_t bytes = stat(path, &st) == 0 ? st.st_size : 0;
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

	/* The log's verifier key: LOG.pub beside LOG.key, when it is there. */
	char pub[1100] = "LOG.pub";
	size_t kl = strlen(cfg.log_key);
	if (kl > 4 && strcmp(cfg.log_key + kl - 4, ".key") == 0 && kl < sizeof(pub)) {
		char cand[1100];
		snprintf(cand, sizeof(cand), "%.*s.pub", (int)(kl - 4), cfg.log_key);
		if (access(cand, R_OK) == 0)
			snprintf(pub, sizeof(pub), "%s", cand);
	}
	time_t tt = (time_t)(h->time_ms / 1000);
	struct tm tm;
	char when[32] = "-";
	if (h->size > 0 && gmtime_r(&tt, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);

	printf("backup of the log \"%s\" in %s: %" PRIu64 " entries, checkpoint of %s, "
	    "%lld bytes, %.1f s\n\n", origin[0] ? origin : "(empty)", dest, h->size, when,
	    (long long)bytes, secs);
	printf("%.*s\n", (int)h->note_len, h->note);
	printf("Verify the copy (offline, anywhere; it reads the copy only):\n"
	    "  evchain-verify ledger %s --log-key %s\n\n", dest, pub);
	printf("Restore it only when the live ledger is lost or fails `evchain-verify ledger`:\n"
	    "  1. stop evchaind (systemctl stop evchaind; SIGTERM answers what it holds)\n"
	    "  2. move the data directory aside and keep it:  mv %s %s.broken\n"
	    "  3. move the copy into its place (evchaind's user, mode 0700):  mv %s %s\n"
	    "  4. start evchaind: it checks the copy's head before it serves\n\n",
	    cfg.data, cfg.data, dest, cfg.data);
	printf("The restored log ends at size %" PRIu64 ". Everything logged after this backup is\n"
	    "lost from it, and receipts for those entries prove it. The witnesses that cosigned a\n"
	    "larger tree refuse the restored log (rollback; a fork once it appends again) and keep\n"
	    "both checkpoints as evidence: that is the point of witnesses, a log cannot quietly go\n"
	    "back in time. Treat a restore as an incident (SECURITY.md, \"Incident response\").\n",
	    h->size);
	free(h);
	return 0;
}
