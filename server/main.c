/*
 * evchaind — the evchain log server.
 *
 *   evchaind -c FILE [--listen ADDR] [--data DIR]
 *   evchaind backup -c FILE [--data DIR] DEST      (backup.c)
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "evc.h"
#include "keys.h"
#include "note.h"
#include "record.h"
#include "server.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: evchaind -c FILE [--listen HOST:PORT] [--data DIR]\n"
	    "       evchaind backup -c FILE [--data DIR] DEST\n"
	    "\n"
	    "The evchain log server: protobuf over TLS 1.3 with client certificates.\n"
	    "FILE is the configuration (see README \"Configuration\"; `evchain-keys dev DIR`\n"
	    "writes one). --listen and --data override the file. SIGTERM or SIGINT stop\n"
	    "it cleanly: no new requests, the batch in hand is committed and answered.\n"
	    "`backup` writes a compacted copy of the ledger into DEST while evchaind serves\n"
	    "(README \"Operations\"). Metrics: GET /metrics on `metrics_listen`.\n");
}

static void *
worker_main(void *arg)
{
	srv *s = arg;
	srv_job *j;

	pthread_setname_np(pthread_self(), "evc-worker");

	while ((j = srv_queue_pop(&s->work_q)) != NULL)
		srv_handle(j);
	return NULL;
}

/* Replay the key records of the log into the keyring. */
static int
load_keyring(srv *s, char *err, size_t errcap)
{
	ledger_txn *t;
	uint64_t idx[256], next = 0;
	size_t n;
	uint8_t kind = EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY;
	pb_arena a;
	int rc;

	if ((s->keys = keyring_new(&s->log_vk)) == NULL)
		return -1;
	if ((rc = ledger_read_begin(s->ledger, &t)) != 0)
		return -1;
	pb_arena_init(&a, 4 * EVC_MAX_ENTRY + 65536);
	do {
		rc = ledger_query(t, RECORD_ATTR_KIND, &kind, 1, next, idx, 256, &n, &next);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			const uint8_t *e;
			size_t el;
			pb_arena_reset(&a);
			Evchain__V1__Entry *en = NULL;
			Record *r = NULL;
			if (ledger_entry(t, idx[i], &e, &el) == 0)
				en = (Evchain__V1__Entry *)pb_unpack(&a, &evchain__v1__entry__descriptor, e, el);
			if (en != NULL)
				r = record_decode(&a, en->record.data, en->record.len);
			if (r == NULL || keyring_apply(s->keys, r, idx[i]) != 0) {
				snprintf(err, errcap, "key record at index %" PRIu64 " cannot be applied; "
				    "run evchain-verify ledger", idx[i]);
				rc = -1;
			}
		}
	} while (rc == 0 && next != 0);
	pb_arena_free(&a);
	ledger_read_end(t);
	return rc == 0 ? 0 : -1;
}

/* The admin key named in the configuration must be an active admin; if not,
 * the log key registers it (an auditable entry, like every key change). */
static int
ensure_admin(srv *s, const evc_vkey *admin, char *err, size_t errcap)
{
	const keyring_key *k = keyring_find(s->keys, admin->name);

	if (k != NULL && k->revoked_at == UINT64_MAX) {
		if (k->role == EVCHAIN__V1__NODE_KEY__ROLE__ADMIN && memcmp(k->vk.pub, admin->pub, 32) == 0)
			return 0;
		snprintf(err, errcap, "key name \"%s\" is registered in the log with another key or role; "
		    "name the admin key differently", admin->name);
		return -1;
	}
	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__NodeKey nk = EVCHAIN__V1__NODE_KEY__INIT;
	char rid[64], vks[KEYS_VKEY_MAX];
	int64_t now = srv_now_ms();
	snprintf(rid, sizeof(rid), "admin-key-%" PRId64, now);
	if (keys_vkey_format(admin, vks, sizeof(vks)) < 0)
		return -1;
	r.record_id = rid;
	r.signer = s->log_key.name;
	r.created_ms = now;
	r.body_case = EVCHAIN__V1__RECORD__BODY_NODE_KEY;
	r.node_key = &nk;
	nk.action = EVCHAIN__V1__NODE_KEY__ACTION__REGISTER;
	nk.role = EVCHAIN__V1__NODE_KEY__ROLE__ADMIN;
	nk.key_name = (char *)admin->name;
	nk.public_key.data = (uint8_t *)admin->pub;
	nk.public_key.len = 32;
	nk.agency = "log operator";
	nk.valid_from_ms = now;
	char pred[RECORD_MAX_TEXT + 1];
	int pr = srv_predecessor_reason(s, pred, sizeof(pred), err, errcap);
	if (pr < 0)
		return -1;
	nk.reason = pr > 0 ? pred : "admin key named in the server configuration";
	nk.verifier_key = vks;
	size_t len;
	uint8_t *bytes = pb_pack(&r.base, &len), sig[64];
	if (bytes == NULL)
		return -1;
	record_sign(&s->log_key, bytes, len, sig);
	pb_arena a;
	pb_arena_init(&a, 1 << 20);
	Record *dec = record_decode(&a, bytes, len);
	ledger_item it = { .record = bytes, .record_len = len, .sig = sig, .rec = dec };
	ledger_head *head = malloc(sizeof(*head));
	int rc = -1;
	if (dec != NULL && head != NULL &&
	    ledger_append(s->ledger, &it, 1, &s->log_key, now, head) == 0 &&
	    it.result == LEDGER_APPENDED && keyring_apply(s->keys, dec, it.index) == 0) {
		srv_log("registered admin key \"%s\" at index %" PRIu64 " (signed by the log key)",
		    admin->name, it.index);
		rc = 0;
	} else {
		snprintf(err, errcap, "cannot register the admin key \"%s\"", admin->name);
	}
	free(head);
	free(bytes);
	pb_arena_free(&a);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "data", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfile = NULL, *listen = NULL, *data = NULL;
	char err[1024];
	static srv s;
	evc_vkey admin;
	int c, ret = 1;

	if (argc > 1 && strcmp(argv[1], "backup") == 0)
		return srv_backup_main(argc - 1, argv + 1);
	while ((c = getopt_long(argc, argv, "c:l:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cfile = optarg; break;
		case 'l': listen = optarg; break;
		case 'd': data = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (cfile == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "evchaind: libsodium failed to initialise\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (srv_config_load(cfile, &s.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "evchaind: %s\n", err);
		return 1;
	}
	if (listen != NULL && snprintf(s.cfg.listen, sizeof(s.cfg.listen), "%s", listen) >=
	    (int)sizeof(s.cfg.listen))
		return 2;
	if (data != NULL && snprintf(s.cfg.data, sizeof(s.cfg.data), "%s", data) >=
	    (int)sizeof(s.cfg.data))
		return 2;

	/* Keys. */
	char pass[1024];
	int plen = 0;
	if (s.cfg.log_key_passphrase_file[0] &&
	    (plen = keys_read_passphrase(s.cfg.log_key_passphrase_file, pass, sizeof(pass))) < 0) {
		fprintf(stderr, "evchaind: %s: cannot read the passphrase\n", s.cfg.log_key_passphrase_file);
		return 1;
	}
	int rc = keys_read_private(s.cfg.log_key, plen ? pass : NULL, (size_t)plen, &s.log_key);
	sodium_memzero(pass, sizeof(pass));
	if (rc != 0 || s.log_key.type != EVC_KEY_ED25519) {
		fprintf(stderr, "evchaind: log key %s: %s\n", s.cfg.log_key,
		    rc ? evc_strerror(rc) : "not an Ed25519 key");
		return 1;
	}
	keys_public(&s.log_key, &s.log_vk);
	if ((rc = keys_read_public(s.cfg.admin_key, &admin)) != 0 || admin.type != EVC_KEY_ED25519) {
		fprintf(stderr, "evchaind: admin key %s: %s\n", s.cfg.admin_key,
		    rc ? evc_strerror(rc) : "not an Ed25519 key");
		goto out_key;
	}
	for (size_t i = 0; i < s.cfg.nwitness; i++) {
		if ((rc = keys_read_public(s.cfg.witness[i], &s.witnesses[i])) != 0 ||
		    s.witnesses[i].type != EVC_KEY_COSIGNATURE) {
			fprintf(stderr, "evchaind: witness key %s: %s\n", s.cfg.witness[i],
			    rc ? evc_strerror(rc) : "not a cosignature (type 0x04) key");
			goto out_key;
		}
	}
	s.nwitnesses = s.cfg.nwitness;

	/* The ledger: refuses to start on a head that its entries do not give. */
	ledger_opts lo = { .map_size = s.cfg.map_size, .map_max = s.cfg.map_max,
		.no_sync = s.cfg.no_sync, .index_interval_ms = (unsigned)s.cfg.index_interval_ms };
	if ((rc = ledger_open(s.cfg.data, &lo, &s.ledger, err, sizeof(err))) != 0) {
		fprintf(stderr, "evchaind: %s\n", err);
		if (rc == EVC_ECORRUPT)
			fprintf(stderr, "evchaind: refusing to serve a damaged ledger; investigate with "
			    "`evchain-verify ledger %s --log-key LOG.pub` on a copy\n", s.cfg.data);
		goto out_key;
	}
	if (ledger_indexed(s.ledger) + 65536 < ledger_size(s.ledger))
		fprintf(stderr, "evchaind: the index covers %" PRIu64 " of %" PRIu64 " entries: "
		    "the key records are first found by scanning the rest (about 2 s a million "
		    "entries), then the index catches up in the background (queries scan the rest "
		    "meanwhile)\n",
		    ledger_indexed(s.ledger), ledger_size(s.ledger));
	if (ledger_origin(s.ledger)[0] && strcmp(ledger_origin(s.ledger), s.log_key.name) != 0) {
		fprintf(stderr, "evchaind: %s holds the log \"%s\", but the log key is \"%s\"\n",
		    s.cfg.data, ledger_origin(s.ledger), s.log_key.name);
		goto out_ledger;
	}
	if (ledger_size(s.ledger) > 0) {
		ledger_head *h = malloc(sizeof(*h));
		note nt;
		if (h == NULL || ledger_latest(s.ledger, h) != 0 ||
		    note_open(h->note, h->note_len, &s.log_vk, 1, &nt) < 1) {
			fprintf(stderr, "evchaind: the latest checkpoint in %s is not signed by %s\n"
			    "evchaind: refusing to serve a damaged ledger; investigate with "
			    "`evchain-verify ledger %s --log-key LOG.pub` on a copy\n",
			    s.cfg.data, s.cfg.log_key, s.cfg.data);
			free(h);
			goto out_ledger;
		}
		free(h);
	}
	pthread_rwlock_init(&s.keys_lock, NULL);
	if (load_keyring(&s, err, sizeof(err)) != 0 || ensure_admin(&s, &admin, err, sizeof(err)) != 0) {
		fprintf(stderr, "evchaind: %s\n", err);
		goto out_ledger;
	}
	if ((s.ssl_ctx = srv_tls_ctx(s.cfg.ca, s.cfg.cert, s.cfg.key, err, sizeof(err))) == NULL) {
		fprintf(stderr, "evchaind: %s\n", err);
		goto out_ledger;
	}

	/* Threads and the loop. */
	s.started_ms = srv_now_ms();
	s.loop = uv_default_loop();
	pthread_mutex_init(&s.flush_mu, NULL);
	srv_queue_init(&s.work_q);
	srv_queue_init(&s.write_q);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	s.nworkers = s.cfg.workers ? s.cfg.workers : (size_t)(ncpu > 0 ? ncpu : 1);
	if ((s.workers = calloc(s.nworkers, sizeof(*s.workers))) == NULL)
		goto out_tls;
	if (srv_net_start(&s, err, sizeof(err)) != 0 || metrics_start(&s, err, sizeof(err)) != 0) {
		fprintf(stderr, "evchaind: %s\n", err);
		goto out_tls;
	}
	for (size_t i = 0; i < s.nworkers; i++)
		pthread_create(&s.workers[i], NULL, worker_main, &s);
	pthread_create(&s.writer, NULL, srv_writer_main, &s);
	srv_log("serving log \"%s\": %" PRIu64 " entries, %zu witnesses, %zu workers, data %s",
	    s.log_key.name, ledger_size(s.ledger), s.nwitnesses, s.nworkers, s.cfg.data);

	uv_run(s.loop, UV_RUN_DEFAULT);

	srv_queue_close(&s.work_q);
	for (size_t i = 0; i < s.nworkers; i++)
		pthread_join(s.workers[i], NULL);
	srv_queue_close(&s.write_q);
	pthread_join(s.writer, NULL);
	uv_loop_close(s.loop);
	srv_log("stopped: %" PRIu64 " entries", ledger_size(s.ledger));
	ret = 0;
out_tls:
	free(s.workers);
	SSL_CTX_free(s.ssl_ctx);
out_ledger:
	keyring_free(s.keys);
	ledger_close(s.ledger);
out_key:
	keys_skey_wipe(&s.log_key);
	return ret;
}
