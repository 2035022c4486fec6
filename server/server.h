/*
 * server.h — evchaind's internals, shared by its files.
 *
 * Threads:
 *   loop     libuv: accept, TLS (memory BIOs), framing, timeouts, writes.
 *   workers  one per core: decode requests, check roles, verify record
 *            signatures and validate records, answer every read.
 *   writer   one: sequences verified records, appends a whole group in one
 *            LMDB transaction with one signed checkpoint, commits (fsync),
 *            then answers every request of the group (group commit).
 * Responses reach the loop through conn_send() (any thread) and a uv_async.
 */
#ifndef EVC_SERVER_H
#define EVC_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <uv.h>

#include "evchain.pb-c.h"
#include "keyring.h"
#include "keys.h"
#include "ledger.h"
#include "pb.h"

#define EVCHAIND_VERSION "0.1.0"
#define SRV_MAX_WITNESSES 16

typedef enum srv_role {
	ROLE_NONE = 0,
	ROLE_NODE,
	ROLE_SUPERVISOR,
	ROLE_DISCIPLINE,
	ROLE_COURT,
	ROLE_WITNESS,
	ROLE_ADMIN,
} srv_role;

const char *srv_role_name(srv_role r);
srv_role srv_role_from_name(const char *s);

/* Configuration (README "Configuration"); every option has a default. */
typedef struct srv_config {
	char conf_path[1024];
	char listen[256];
	char data[1024];
	char log_key[1024];
	char log_key_passphrase_file[1024];
	char admin_key[1024];
	char ca[1024], cert[1024], key[1024];
	char witness[SRV_MAX_WITNESSES][1024];
	size_t nwitness;
	uint64_t max_frame;          /* bytes */
	uint64_t max_batch;          /* records per submit request */
	uint64_t max_connections;
	uint64_t max_queued_output;  /* bytes per connection before reading stops */
	uint64_t max_inflight;       /* requests in flight per connection */
	uint64_t handshake_timeout_ms;
	uint64_t idle_timeout_ms;
	uint64_t page_size;          /* entries / query results per response */
	uint64_t group_max;          /* records per group commit */
	uint64_t index_interval_ms;  /* indexer period */
	uint64_t workers;            /* 0: one per core */
	uint64_t map_size, map_max;  /* LMDB map */
	uint64_t shutdown_grace_ms;
	int no_sync;                 /* tests only */
	char metrics_listen[256];    /* "auto", "off" or HOST:PORT (metrics.c) */
	int metrics_public;          /* a non-loopback metrics_listen is allowed */
	char predecessor_checkpoint[1024]; /* a new log's predecessor (succession.c) */
	char predecessor_key[1024];
} srv_config;

/* Load FILE into cfg with defaults; command-line overrides applied after.
 * 0, or -1 with a message in err. */
int srv_config_load(const char *path, srv_config *cfg, char *err, size_t errcap);

typedef struct srv srv;
typedef struct srv_conn srv_conn;

/* One request, from the loop to a worker (and to the writer for submits). */
typedef struct srv_job {
	struct srv_job *next;
	srv *s;
	srv_conn *conn;              /* a reference is held */
	srv_role role;
	char identity[EVC_MAX_KEY_NAME + 1];
	uint8_t *body;               /* request bytes (owned) */
	size_t len;
	uint64_t id;
	pb_arena arena;              /* the decoded request lives here */
	Evchain__V1__Request *req;
	/* submit: per record */
	size_t nrec;
	Evchain__V1__Receipt **receipts;  /* arena */
	Record **recs;                     /* decoded records (NULL: refused) */
	int64_t t_start_ns;
} srv_job;

/* Thread-safe, bounded MPSC/MPMC job queue. */
typedef struct srv_queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	srv_job *head, *tail;
	size_t n;
	int closed;
} srv_queue;

void srv_queue_init(srv_queue *q);
void srv_queue_push(srv_queue *q, srv_job *j);
/* Pop one (blocking); NULL once closed and empty. */
srv_job *srv_queue_pop(srv_queue *q);
/* Pop everything queued (blocking for the first); NULL once closed and empty. */
srv_job *srv_queue_pop_all(srv_queue *q);
void srv_queue_close(srv_queue *q);

/* Counters for status and metrics. */
typedef struct srv_stats {
	atomic_uint_fast64_t entries_appended, batches_committed, requests, refused;
	atomic_uint_fast64_t connections_total;
	atomic_uint connections;
} srv_stats;

struct srv {
	srv_config cfg;
	ledger *ledger;
	evc_skey log_key;
	evc_vkey log_vk;
	evc_vkey witnesses[SRV_MAX_WITNESSES];
	size_t nwitnesses;
	keyring *keys;
	pthread_rwlock_t keys_lock;
	SSL_CTX *ssl_ctx;
	/* loop */
	uv_loop_t *loop;
	uv_tcp_t listener;
	uv_async_t wake;
	uv_signal_t sigterm, sigint;
	uv_timer_t drain_timer;
	int draining;
	uint64_t drain_started;
	srv_conn *conns;             /* all live connections (loop thread) */
	pthread_mutex_t flush_mu;
	srv_conn *flush_list;        /* connections with queued responses */
	/* threads */
	pthread_t *workers;
	size_t nworkers;
	pthread_t writer;
	srv_queue work_q, write_q;
	atomic_int busy;             /* jobs between the loop and their response */
	atomic_int waiters;          /* checkpoint requests waiting for cosignatures */
	int64_t started_ms;
	srv_stats stats;
};

/* ---- net.c: connections -------------------------------------------------- */

int srv_net_start(srv *s, char *err, size_t errcap);
/* Queue a framed response (malloc'd, ownership taken) for the connection.
 * Any thread. Dropped if the connection is gone. */
void conn_send(srv_conn *c, uint8_t *frame, size_t len);
void conn_unref(srv_conn *c);
const char *conn_peer(const srv_conn *c);
/* Begin a graceful shutdown (loop thread). */
void srv_net_shutdown(srv *s);

/* ---- tls.c ------------------------------------------------------------- */

SSL_CTX *srv_tls_ctx(const char *ca, const char *cert, const char *key, char *err, size_t errcap);
/* After a handshake: role (OU) and identity (CN) of the verified peer. */
int srv_tls_peer(SSL *ssl, srv_role *role, char *cn, size_t cncap, char *err, size_t errcap);

/* ---- ops.c: request handling (workers and writer) ---------------------- */

/* Worker entry: handle one job (answers it, or hands it to the writer). */
void srv_handle(srv_job *j);
/* Writer thread body. */
void *srv_writer_main(void *arg);
/* Answer a job with a packed response and release it. */
void srv_reply(srv_job *j, Evchain__V1__Response *resp);
/* Answer with an error status. */
void srv_reply_error(srv_job *j, Evchain__V1__Status__Code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void srv_job_free(srv_job *j);
/* An error response for a request that could not be decoded (id may be 0). */
uint8_t *srv_error_frame(uint64_t id, Evchain__V1__Status__Code code, const char *msg, size_t *len);

/* ---- metrics.c: counters (relaxed atomics) and the Prometheus endpoint --- */

/* Config check (config.c): metrics_listen is auto, off or a numeric
 * HOST:PORT, and loopback unless metrics_public. */
int metrics_check_config(const srv_config *cfg, char *err, size_t errcap);
/* Loop thread, after srv_net_start: listen for GET /metrics (unless off). */
int metrics_start(srv *s, char *err, size_t errcap);
/* Loop thread: close the endpoint and its connections (end of a shutdown). */
void metrics_stop(void);
/* Hooks, any thread: a response (by op, status, latency since t_start_ns;
 * per-record statuses of a submit); a refusal made by the loop; a group
 * commit (records appended, time in ledger_append, the new head); a
 * connection of a role opened (+1) or closed (-1); a witness cosignature. */
void metrics_reply(const srv_job *j, const Evchain__V1__Response *resp);
void metrics_refused(int code);
void metrics_commit(size_t appended, uint64_t ns, const ledger_head *head);
void metrics_conn(srv_role role, int delta);
void metrics_cosigned(size_t witness, uint64_t tree_size);

/* ---- succession.c: a new log continuing an old one (SECURITY.md) ----------- */

/* The `reason` of the admin key registration that becomes entry 0 of an
 * empty log whose configuration names predecessor_checkpoint and
 * predecessor_key: "evchain-predecessor/v1\n" and the old log's checkpoint,
 * verified with its key. 1 and out filled; 0 when not configured or the log
 * is not empty; -1 with err. */
int srv_predecessor_reason(srv *s, char *out, size_t cap, char *err, size_t errcap);

/* ---- backup.c: `evchaind backup -c FILE DEST` ---------------------------- */

int srv_backup_main(int argc, char **argv);

/* ---- logging ------------------------------------------------------------- */

void srv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int64_t srv_now_ms(void);
uint64_t srv_mono_ms(void);

#endif
