/*
 * fuzz_srv.h — evchaind's request handler in process, for the fuzz targets
 * (fuzz_request.c, fuzz_response.c): server/ops.c, queue.c and tls.c as they
 * are, with the connection layer (net.c) and the metrics hooks stubbed; a
 * small ledger in a temporary directory (no fsync) holding a log whose keys
 * come from fixed seeds: the log key ("fuzz.evchain/log", seed 1), the admin
 * ("fuzz-admin", 2), a node ("fuzz-node", 3) and a witness ("fuzz-witness",
 * 4, cosignature/v1), registered as the server registers them, then a few
 * records of the node in two batches.
 *
 * fsrv_run(role, body, len) hands one request body to srv_handle exactly as a
 * worker does (a submit goes on to the writer, which commits it as a group);
 * each response frame comes back through conn_send to fsrv_on_frame. With
 * one worker, checkpoint requests never wait for cosignatures.
 */
#ifndef EVC_FUZZ_SRV_H
#define EVC_FUZZ_SRV_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../../server/ops.c"
#include "../../server/queue.c"
#include "../../server/tls.c"

/* ---- the connection layer and the metrics hooks, stubbed ------------------ */

/* Called with each response frame (header included); may be NULL. */
static void (*fsrv_on_frame)(const uint8_t *frame, size_t len);

void
conn_send(srv_conn *c, uint8_t *frame, size_t len)
{
	(void)c;
	if (frame != NULL && fsrv_on_frame != NULL)
		fsrv_on_frame(frame, len);
	free(frame);
}

void
conn_unref(srv_conn *c)
{
	(void)c;
}

const char *
conn_peer(const srv_conn *c)
{
	(void)c;
	return "fuzz";
}

void
srv_log(const char *fmt, ...)
{
	(void)fmt;
}

int64_t
srv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
srv_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
metrics_reply(const srv_job *j, const Evchain__V1__Response *resp)
{
	(void)j;
	(void)resp;
}

void
metrics_refused(int code)
{
	(void)code;
}

void
metrics_commit(size_t appended, uint64_t ns, const ledger_head *head)
{
	(void)appended;
	(void)ns;
	(void)head;
}

void
metrics_conn(srv_role role, int delta)
{
	(void)role;
	(void)delta;
}

void
metrics_cosigned(size_t witness, uint64_t tree_size)
{
	(void)witness;
	(void)tree_size;
}

/* ---- the in-process server --------------------------------------------------- */

static srv fsrv;
static evc_skey fsrv_admin_sk, fsrv_node_sk, fsrv_wit_sk;
static evc_vkey fsrv_admin_vk, fsrv_node_vk, fsrv_wit_vk;
static char fsrv_dir[64];
static char fsrv_conn_dummy;

#define FSRV_T0 1750000000000LL   /* created_ms of the records made here */

static void
fsrv_die(const char *why)
{
	fprintf(stderr, "fuzz_srv: %s\n", why);
	abort();
}

static void
fsrv_seed_key(const char *name, uint8_t type, uint8_t fill, evc_skey *sk, evc_vkey *vk)
{
	uint8_t seed[32];
	memset(seed, fill, sizeof(seed));
	if (keys_from_seed(name, type, seed, sk, vk) != 0)
		fsrv_die("keys_from_seed");
}

/* A record signed by sk, packed into *bytes (malloc'd) with its signature. */
static void
fsrv_sign(Record *r, const evc_skey *sk, uint8_t **bytes, size_t *len, uint8_t sig[64])
{
	r->signer = (char *)sk->name;
	if ((*bytes = pb_pack(&r->base, len)) == NULL)
		fsrv_die("pb_pack");
	record_sign(sk, *bytes, *len, sig);
}

static void
fsrv_node_key(const char *rid, const evc_skey *by, const evc_vkey *vk, int role, uint8_t **b,
    size_t *l, uint8_t sig[64])
{
	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__NodeKey nk = EVCHAIN__V1__NODE_KEY__INIT;
	r.record_id = (char *)rid;
	r.created_ms = FSRV_T0;
	r.body_case = EVCHAIN__V1__RECORD__BODY_NODE_KEY;
	r.node_key = &nk;
	nk.action = EVCHAIN__V1__NODE_KEY__ACTION__REGISTER;
	nk.role = (Evchain__V1__NodeKey__Role)role;
	nk.key_name = (char *)vk->name;
	nk.public_key.data = (uint8_t *)vk->pub;
	nk.public_key.len = 32;
	nk.agency = "聊城市大数据局";
	nk.valid_from_ms = FSRV_T0;
	fsrv_sign(&r, by, b, l, sig);
}

/* A scan-in (i even) or an evidence record (i odd) of inspection FUZZ-INS. */
static void
fsrv_record(int i, uint8_t **b, size_t *l, uint8_t sig[64])
{
	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__ScanIn s = EVCHAIN__V1__SCAN_IN__INIT;
	Evchain__V1__Evidence ev = EVCHAIN__V1__EVIDENCE__INIT;
	Evchain__V1__Location loc = EVCHAIN__V1__LOCATION__INIT;
	Evchain__V1__Officer o1 = EVCHAIN__V1__OFFICER__INIT, o2 = EVCHAIN__V1__OFFICER__INIT;
	Evchain__V1__Officer *offs[2] = { &o1, &o2 };
	uint8_t sha[32];
	char rid[64];

	snprintf(rid, sizeof(rid), "FUZZ-INS-%04d", i);
	r.record_id = rid;
	r.created_ms = FSRV_T0 + i;
	o1.name = "张伟";
	o1.certificate_no = "LC-ZF-0001";
	o2.name = "李娜";
	o2.certificate_no = "LC-ZF-0002";
	if (i % 2 == 0) {
		r.body_case = EVCHAIN__V1__RECORD__BODY_SCAN_IN;
		r.scan_in = &s;
		s.inspection_id = "FUZZ-INS";
		s.agency = "聊城市市场监督管理局";
		s.company_uscc = "91350100M000100Y43";
		s.company_name = "聊城示例轴承有限公司";
		s.n_officers = 2;
		s.officers = offs;
		s.method = EVCHAIN__V1__SCAN_IN__METHOD__LICENCE_QR_SCAN;
		s.device_ms = FSRV_T0;
		s.basis_case = EVCHAIN__V1__SCAN_IN__BASIS_PLAN_ID;
		s.plan_id = "PLAN-2025-SCJG-01";
		s.kind = EVCHAIN__V1__SCAN_IN__INSPECTION_KIND__ROUTINE;
		s.entry_type = EVCHAIN__V1__SCAN_IN__ENTRY_TYPE__ADMINISTRATIVE_INSPECTION;
	} else {
		crypto_hash_sha256(sha, (const uint8_t *)rid, strlen(rid));
		r.body_case = EVCHAIN__V1__RECORD__BODY_EVIDENCE;
		r.evidence = &ev;
		ev.inspection_id = "FUZZ-INS";
		ev.evidence_id = rid;
		ev.media_kind = EVCHAIN__V1__EVIDENCE__MEDIA_KIND__PHOTO;
		ev.sha256.data = sha;
		ev.sha256.len = 32;
		ev.size = 4096;
		ev.capture_start_ms = FSRV_T0 - 60000;
		ev.capture_end_ms = FSRV_T0;
		loc.latitude = 36.45;
		loc.longitude = 115.98;
		loc.address = "聊城市东昌府区示例路1号";
		ev.place = &loc;
		ev.recorder = &o1;
		ev.proves = "生产车间消防通道堵塞";
		ev.company_uscc = "91350100M000100Y43";
	}
	fsrv_sign(&r, &fsrv_node_sk, b, l, sig);
}

/* Append records (already valid, signed) to the ledger and the keyring. */
static void
fsrv_append(uint8_t **b, size_t *l, uint8_t (*sig)[64], size_t n)
{
	ledger_item it[8];
	pb_arena a;
	ledger_head *h = malloc(sizeof(*h));

	if (h == NULL || n > 8)
		fsrv_die("append");
	pb_arena_init(&a, 1 << 20);
	memset(it, 0, sizeof(it));
	for (size_t i = 0; i < n; i++) {
		it[i].record = b[i];
		it[i].record_len = l[i];
		it[i].sig = sig[i];
		if ((it[i].rec = record_decode(&a, b[i], l[i])) == NULL)
			fsrv_die("record_decode");
	}
	if (ledger_append(fsrv.ledger, it, n, &fsrv.log_key, FSRV_T0 + 1000, h) != 0)
		fsrv_die("ledger_append");
	for (size_t i = 0; i < n; i++)
		if (record_kind(it[i].rec) == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY &&
		    keyring_apply(fsrv.keys, it[i].rec, it[i].index) != 0)
			fsrv_die("keyring_apply");
	pb_arena_free(&a);
	free(h);
}

static void
fsrv_cleanup(void)
{
	char cmd[128];
	if (fsrv_dir[0] && snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fsrv_dir) < (int)sizeof(cmd) &&
	    system(cmd) != 0)
		fprintf(stderr, "fuzz_srv: cannot remove %s\n", fsrv_dir);
}

static void
fsrv_init(void)
{
	char err[512];
	static int done;

	if (done++)
		return;
	if (sodium_init() < 0)
		fsrv_die("sodium_init");
	snprintf(fsrv_dir, sizeof(fsrv_dir), "%s/evc-fuzz-srv-XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(fsrv_dir) == NULL)
		fsrv_die("mkdtemp");
	atexit(fsrv_cleanup);

	srv_config *c = &fsrv.cfg;
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:0");
	c->max_frame = 1u << 20;
	c->max_batch = 64;
	c->max_connections = 16;
	c->max_queued_output = 1u << 20;
	c->max_inflight = 16;
	c->page_size = 64;
	c->group_max = 64;
	c->workers = 1;
	c->map_size = 64u << 20;
	c->map_max = 256u << 20;
	c->shutdown_grace_ms = 1000;
	c->no_sync = 1;

	evc_vkey log_vk;
	fsrv_seed_key("fuzz.evchain/log", EVC_KEY_ED25519, 1, &fsrv.log_key, &log_vk);
	fsrv.log_vk = log_vk;
	fsrv_seed_key("fuzz-admin", EVC_KEY_ED25519, 2, &fsrv_admin_sk, &fsrv_admin_vk);
	fsrv_seed_key("fuzz-node", EVC_KEY_ED25519, 3, &fsrv_node_sk, &fsrv_node_vk);
	fsrv_seed_key("fuzz-witness", EVC_KEY_COSIGNATURE, 4, &fsrv_wit_sk, &fsrv_wit_vk);
	fsrv.witnesses[0] = fsrv_wit_vk;
	fsrv.nwitnesses = 1;
	fsrv.nworkers = 1;

	ledger_opts lo = { .map_size = c->map_size, .map_max = c->map_max, .no_sync = 1 };
	if (ledger_open(fsrv_dir, &lo, &fsrv.ledger, err, sizeof(err)) != 0)
		fsrv_die(err);
	if ((fsrv.keys = keyring_new(&fsrv.log_vk)) == NULL)
		fsrv_die("keyring_new");
	pthread_rwlock_init(&fsrv.keys_lock, NULL);
	pthread_mutex_init(&fsrv.flush_mu, NULL);
	srv_queue_init(&fsrv.work_q);
	srv_queue_init(&fsrv.write_q);
	fsrv.started_ms = srv_now_ms();

	uint8_t *b[8], sig[8][64];
	size_t l[8];
	fsrv_node_key("fuzz-admin-key", &fsrv.log_key, &fsrv_admin_vk, EVCHAIN__V1__NODE_KEY__ROLE__ADMIN,
	    &b[0], &l[0], sig[0]);
	fsrv_append(b, l, sig, 1);
	free(b[0]);
	fsrv_node_key("fuzz-node-key", &fsrv_admin_sk, &fsrv_node_vk, EVCHAIN__V1__NODE_KEY__ROLE__NODE,
	    &b[0], &l[0], sig[0]);
	fsrv_append(b, l, sig, 1);
	free(b[0]);
	for (int batch = 0; batch < 2; batch++) {
		for (int i = 0; i < 3; i++)
			fsrv_record(batch * 3 + i, &b[i], &l[i], sig[i]);
		fsrv_append(b, l, sig, 3);
		for (int i = 0; i < 3; i++)
			free(b[i]);
	}
}

/* The identity of a role's certificate in this deployment. */
static const char *
fsrv_identity(srv_role role)
{
	switch (role) {
	case ROLE_NODE: return fsrv_node_sk.name;
	case ROLE_ADMIN: return fsrv_admin_sk.name;
	case ROLE_WITNESS: return fsrv_wit_sk.name;
	case ROLE_SUPERVISOR: return "supervisor";
	case ROLE_DISCIPLINE: return "discipline";
	case ROLE_COURT: return "court";
	default: return "";
	}
}

/* One request, as a worker (and the writer) handle it. */
static void
fsrv_run(srv_role role, const uint8_t *body, size_t len)
{
	srv_job *j = calloc(1, sizeof(*j));
	if (j == NULL || (j->body = malloc(len ? len : 1)) == NULL)
		fsrv_die("out of memory");
	memcpy(j->body, body, len);
	j->len = len;
	j->s = &fsrv;
	j->conn = (srv_conn *)&fsrv_conn_dummy;
	j->role = role;
	snprintf(j->identity, sizeof(j->identity), "%s", fsrv_identity(role));
	srv_handle(j);
	/* A submit with records to append is queued for the writer: run it
	 * until the queue is empty, then reopen the queue. */
	pthread_mutex_lock(&fsrv.write_q.mu);
	int pending = fsrv.write_q.head != NULL;
	pthread_mutex_unlock(&fsrv.write_q.mu);
	if (pending) {
		srv_queue_close(&fsrv.write_q);
		srv_writer_main(&fsrv);
		pthread_mutex_lock(&fsrv.write_q.mu);
		fsrv.write_q.closed = 0;
		pthread_mutex_unlock(&fsrv.write_q.mu);
	}
}

#endif
