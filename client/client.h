/*
 * client.h — the evchain client library: profiles, a TLS 1.3 connection with
 * pipelined requests, and verification of everything the server returns
 * (checkpoints against the log key, receipts, inclusion and consistency
 * proofs) before anything is reported as success.
 *
 * A connection is blocking and single-threaded: use one per thread. Requests
 * may be pipelined: client_send() several, then client_recv() the responses,
 * which may arrive in any order (match them by id).
 */
#ifndef EVC_CLIENT_H
#define EVC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "evchain.pb-c.h"
#include "keys.h"
#include "note.h"
#include "pb.h"

#define CLIENT_MAX_WITNESSES 16

/* A party's profile (written by `evchain-keys dev`): README "Profiles". */
typedef struct evc_profile {
	char path[1024];
	char server[256];          /* HOST:PORT */
	char role[32];
	char ca[1024], cert[1024], key[1024];
	evc_vkey log_key;
	int has_signing_key;
	evc_skey signing_key;      /* node/admin (0x01) or witness (0x04) */
	evc_vkey witnesses[CLIENT_MAX_WITNESSES];
	size_t nwitnesses;
} evc_profile;

/* Load a profile; relative paths are resolved against its directory. The
 * signing key is read when present (passphrase from signing_key_passphrase_file
 * or the EVCHAIN_PASSPHRASE_FILE environment variable). 0 or -1 with err. */
int client_profile_load(const char *path, evc_profile *p, char *err, size_t errcap);

/* Wipe the signing key. */
void client_profile_wipe(evc_profile *p);

typedef struct evc_client evc_client;

/* Connect and handshake (TLS 1.3, the server's certificate verified against
 * the profile's CA and the host name/IP). server may override p->server.
 * 0 or -1 with err. */
int client_connect(const evc_profile *p, const char *server, evc_client **out, char *err,
    size_t errcap);

/* Close (sends close_notify). Accepts NULL. */
void client_close(evc_client *c);

/* Send a request; req->id is set to a fresh id (returned). Negative on
 * error (EVC_EIO, EVC_ETOOLARGE). */
int64_t client_send(evc_client *c, Evchain__V1__Request *req);

/* Receive the next response into the arena. 0, EVC_EIO (connection lost,
 * reason in client_error()), EVC_EINVAL (undecodable), EVC_ETOOLARGE. */
int client_recv(evc_client *c, pb_arena *a, Evchain__V1__Response **resp);

/* Send one request and wait for its response (others received meanwhile are
 * an error: use send/recv to pipeline). A non-OK status is returned as the
 * response, not as an error. */
int client_call(evc_client *c, Evchain__V1__Request *req, pb_arena *a,
    Evchain__V1__Response **resp);

/* Why the last operation failed. */
const char *client_error(const evc_client *c);

/* Responses larger than this are refused by the client. */
#define CLIENT_MAX_FRAME (64u << 20)

/* ---- verification --------------------------------------------------------- */

/* Open a signed checkpoint with the log key (and count the profile's
 * witnesses' valid cosignatures into *cosigned, may be NULL). 0 or -1. */
int client_verify_checkpoint(const evc_profile *p, const uint8_t *note, size_t len,
    checkpoint *cp, size_t *cosigned, char *err, size_t errcap);

/* Check a receipt for the record bytes we submitted: checkpoint signature,
 * entry contents (record bytes, signature, signer, index), leaf hash, and the
 * inclusion proof to the checkpoint's root. 0 or -1 with err. */
int client_verify_receipt(const evc_profile *p, const Evchain__V1__Receipt *r,
    const uint8_t *record, size_t record_len, const uint8_t sig[64], char *err, size_t errcap);

/* Inclusion of entry bytes at index under a verified checkpoint. */
int client_verify_inclusion(const checkpoint *cp, uint64_t index, const uint8_t *entry,
    size_t len, ProtobufCBinaryData *proof, size_t nproof, char *err, size_t errcap);

/* Name of a status code ("invalid argument", …). */
const char *client_status_name(int code);

/* A time for the command line: Unix ms; YYYY-MM-DD, midnight at UTC +
 * date_offset_s (*date_only set, when not NULL); or RFC 3339 with Z or
 * ±HH:MM. Into Unix ms; 0, or -1 if malformed. */
int client_parse_time(const char *s, int64_t date_offset_s, int64_t *out, int *date_only);

#endif
