/*
 * bundle.h — evidence bundles for courts (DESIGN §6): build one from the
 * ledger, verify one offline.
 *
 * A bundle (proto Bundle, version BUNDLE_VERSION) holds
 *   - the entries about a subject (an inspection, or a company over a log
 *     time range, completed with every entry of each inspection it touches,
 *     and the filed plans its scan-ins name), each with its inclusion proof;
 *   - one checkpoint (signed note) with the log's signature and every
 *     witness cosignature the log holds for it;
 *   - the key entries: every node_key entry (registration, revocation) about
 *     each key that signed one of those entries, recursively about the keys
 *     that signed those (the admin keys, registered by the log key), up to
 *     the checkpoint, each with its inclusion proof.
 *
 * Verification trusts only the log key and the witness policy given to it.
 * It proves that every entry in the bundle was in the log the witnesses saw,
 * signed by a key the bundle's key history shows valid at that index. It
 * cannot prove that nothing was left out: that no revocation of a signing key
 * is missing rests on the witnesses (the log cannot show two histories) and
 * on a monitor of the log; the report says so.
 */
#ifndef EVC_BUNDLE_H
#define EVC_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "evc.h"
#include "evchain.pb-c.h"
#include "ledger.h"
#include "media.h"
#include "pb.h"
#include "policy.h"
#include "record.h"

#define BUNDLE_VERSION 1u

/* Limits of bundle_build (defaults of bundle_build_opts). */
#define BUNDLE_MAX_ENTRIES 2000u       /* entries about the subject */
#define BUNDLE_MAX_KEY_ENTRIES 1000u   /* node_key entries of the signers */
#define BUNDLE_MAX_KEY_SCAN 200000u    /* node_key entries of the whole log examined */
/* Packed size: under the default 4 MiB frame with room for the Response. */
#define BUNDLE_MAX_BYTES (EVC_MAX_FRAME_DEFAULT - (256u << 10))

/* Limits of bundle_verify. */
#define BUNDLE_MAX_FILE (32u << 20)    /* bytes of a bundle file */
#define BUNDLE_MAX_ITEMS 20000u        /* entries + key entries */
#define BUNDLE_MAX_MEDIA 256u          /* media files checked at once */
#define BUNDLE_MAX_FAILURES 200u       /* failures kept (the count goes on) */

/* ---- build --------------------------------------------------------------- */

typedef struct bundle_subject {
	const char *inspection_id;   /* either an inspection ... */
	const char *company_uscc;    /* ... or a company, with ... */
	int64_t from_ms, to_ms;      /* ... a log time range [from, to); 0: open */
} bundle_subject;

typedef struct bundle_build_opts {
	size_t max_entries;          /* 0: BUNDLE_MAX_ENTRIES */
	size_t max_key_entries;      /* 0: BUNDLE_MAX_KEY_ENTRIES */
	size_t max_bytes;            /* packed size; 0: BUNDLE_MAX_BYTES */
	uint64_t tree_size;          /* the checkpoint to prove to; 0: the latest ... */
	unsigned min_cosignatures;   /* ... that has at least this many cosignatures
	                              * (witnesses cosign after the fact, so the latest
	                              * often has none yet); 0: the latest */
	int64_t now_ms;              /* created_ms; 0: the clock */
} bundle_build_opts;

/* Checkpoints examined, newest first, to find one with min_cosignatures. */
#define BUNDLE_MAX_CP_SCAN 65536u

/*
 * Build the bundle about `subj` from read snapshot t. Every byte of the
 * result (the Bundle message, entry bytes, proofs, checkpoint) is allocated
 * from arena a (give it a budget of about 2 x max_bytes + 1 MiB), so it
 * stays valid after ledger_read_end and until the arena is reset; pack it
 * with pb_pack or as ExportBundleResponse.bundle. *packed (may be NULL)
 * receives its packed size. opts may be NULL (defaults).
 * Entries logged after the chosen checkpoint are not in the bundle.
 * 0; EVC_EINVAL (no or two subjects, bad range, over-long id); EVC_ENOTFOUND
 * (no checkpoint of that size, or none of the last BUNDLE_MAX_CP_SCAN with
 * min_cosignatures; nothing in the log about the subject);
 * EVC_ETOOLARGE (over max_entries, max_key_entries, BUNDLE_MAX_KEY_SCAN or
 * max_bytes: the message says which, and how to narrow the subject);
 * EVC_ECORRUPT (an entry in the log does not decode); EVC_ENOMEM (the arena);
 * EVC_EDB. err (errcap bytes, may be NULL) receives a reason.
 */
int bundle_build(ledger_txn *t, const bundle_subject *subj, const bundle_build_opts *opts,
    pb_arena *a, Evchain__V1__Bundle **out, size_t *packed, char *err, size_t errcap);

/*
 * The C2SP tlog-proof of b->entries[i] (or b->key_entries[i - n_entries]
 * for i >= n_entries) to the bundle's checkpoint, in a malloc'd *out
 * (*outlen bytes, NUL-terminated); the entry's exact bytes are
 * b->entries[i]->entry. 0; EVC_EINVAL (i out of range, malformed proof or
 * checkpoint); EVC_ENOMEM.
 */
int bundle_tlog_proof(const Evchain__V1__Bundle *b, size_t i, char **out, size_t *outlen);

/* ---- verify -------------------------------------------------------------- */

/* A check's result: not run (a check it depends on failed), passed, failed. */
enum { BUNDLE_UNCHECKED = -1, BUNDLE_FAIL = 0, BUNDLE_PASS = 1 };

#define BUNDLE_NO_INDEX UINT64_MAX

/* One failed check. `check` is a stable id:
 *   format       the file: size, protobuf, version, limits, duplicates
 *   checkpoint   the checkpoint's text, origin or log signature
 *   cosignature  a cosignature by a policy witness that does not verify
 *   quorum       the policy's quorum of witnesses is not met
 *   entry        an entry that does not decode or says another index
 *   inclusion    leaf hash and inclusion proof against the checkpoint root
 *   chain        two adjacent entries whose hash chain link differs
 *   log_time     log times that go backwards along the log
 *   record       the record does not decode, is invalid, or names another signer
 *   signature    the node's Ed25519 signature over the record
 *   key          the signing key is unknown, revoked or not allowed at that index
 *   key_history  a key entry that conflicts with the key history before it
 *   media        a media file: unreadable, or its digest or size differs
 *   story        an inspection's story: scan-in first, disposition present
 */
typedef struct bundle_failure {
	char check[16];
	uint64_t index;       /* entry index, or BUNDLE_NO_INDEX */
	const char *file;     /* media file path (from the options), or NULL */
	char msg[384];        /* English, names the entry or file again */
} bundle_failure;

typedef struct bundle_entry_report {
	uint64_t index;
	int key_entry;                      /* 1: from key_entries */
	const Evchain__V1__Entry *entry;    /* NULL if it does not decode */
	const Record *rec;                  /* NULL if the record does not decode */
	Evchain__V1__RecordKind kind;
	const char *signer;                 /* the entry's key name ("" if unknown) */
	int signer_role;                    /* keyring role (0: the log key), -1 unknown */
	char signer_agency[RECORD_MAX_NAME + 1];
	uint64_t signer_registered_at;      /* index of the key's registration (log key: 0) */
	int64_t log_time_ms;
	int64_t event_ms;                   /* bundle_event_time() */
	const char *event_field;
	uint8_t leaf[32];
	int inclusion, signature, key, record; /* BUNDLE_PASS / _FAIL / _UNCHECKED */
	int media;                          /* evidence: _PASS (a file matched), _FAIL, _UNCHECKED (none given) */
	const char *media_file;             /* the file that matched or failed */
} bundle_entry_report;

typedef struct bundle_cosigner {
	char name[EVC_MAX_KEY_NAME + 1];    /* key name on the signature line */
	char policy_name[POLICY_MAX_NAME + 1]; /* "" when not a policy witness */
	uint32_t id;
	int state;                          /* BUNDLE_PASS verified, _FAIL bad, _UNCHECKED not in the policy */
	uint64_t timestamp;                 /* cosignature/v1 time (s), when verified */
} bundle_cosigner;

typedef struct bundle_media_report {
	const char *path;                   /* from the options */
	int state;                          /* BUNDLE_PASS matched, _FAIL */
	media_digest digest;                /* when the file was read */
	int read_ok;
	uint64_t index;                     /* the evidence entry matched, or BUNDLE_NO_INDEX */
} bundle_media_report;

typedef struct bundle_inspection {
	const char *inspection_id;
	const char *company_uscc, *company_name, *agency; /* from the scan-in ("" if none) */
	uint64_t scan_in;                   /* first scan-in's index, or BUNDLE_NO_INDEX */
	uint64_t disposition;               /* last disposition's index, or BUNDLE_NO_INDEX */
	size_t n_records, n_evidence, n_cert_checks, n_feedback;
	int story;                          /* BUNDLE_PASS / _FAIL */
} bundle_inspection;

typedef struct bundle_report {
	/* The file. Strings point into the decoded bundle. */
	size_t size;
	uint32_t version;
	const char *subject;                /* unsigned label chosen by the exporter */
	const char *origin;
	int64_t created_ms;                 /* unsigned: when the exporter built it */

	/* The checkpoint. */
	int checkpoint;                     /* BUNDLE_PASS: parsed, origin and log signature good */
	uint64_t tree_size;
	uint8_t root[32];
	char log_key[KEYS_VKEY_MAX];        /* the verifier key that verified it */
	bundle_cosigner *cosigners;         /* every signature line but the log's */
	size_t ncosigners;
	int quorum;                         /* BUNDLE_PASS / _FAIL */
	char quorum_rule[512];              /* policy_describe() */
	uint64_t witnessed_ms;              /* earliest verified cosignature time (ms), 0 if none */
	int64_t last_log_ms;                /* latest log time among the entries */

	bundle_entry_report *entries;       /* the subject entries, in bundle order */
	size_t nentries;
	bundle_entry_report *key_entries;
	size_t nkey_entries;
	bundle_inspection *inspections;
	size_t ninspections;
	bundle_media_report *media;
	size_t nmedia;

	bundle_failure *failures;
	size_t nfailures;                   /* kept (at most BUNDLE_MAX_FAILURES) */
	size_t failures_total;              /* found */
	int verified;                       /* 1 iff failures_total == 0 */

	void *priv_;                        /* the decode arena */
} bundle_report;

typedef struct bundle_verify_opts {
	const policy *policy;               /* log keys, witnesses, quorum (required) */
	const char *const *media;           /* media files to check against evidence records */
	size_t nmedia;
	media_progress_fn progress;         /* while hashing media (may be NULL) */
	void *progress_ctx;
	/* Called before hashing media file i (may be NULL), e.g. to label a bar. */
	void (*media_start)(void *ctx, size_t i, const char *path);
} bundle_verify_opts;

/*
 * Verify bundle bytes[0..len) fully offline: format and version; the
 * checkpoint's log signature (a policy log key named as the origin); each
 * policy witness's cosignature and the quorum; for every entry and key entry:
 * its decode and index, leaf and inclusion proof, hash chain links and log
 * time order between adjacent entries, the record's decode, validity and
 * signer, its node signature, and that the key was valid at that index
 * (replaying the key entries in index order into a keyring, keyring.h); each
 * media file's SHA-256 (and SM3 when the record has one) against the
 * evidence record it matches; and each inspection's story (a scan-in exists
 * and comes before, by index and by event time, every evidence, certificate
 * check and disposition — a full-process recording must end after it, not
 * start after it; a disposition exists).
 *
 * Every failure is recorded (the first BUNDLE_MAX_FAILURES in detail); the
 * verification goes on past failures where it can, so the report shows all
 * that holds. *out receives the report (free with bundle_report_free) even
 * when checks fail. Returns 0 (see (*out)->verified), or EVC_EINVAL (no
 * options or policy, or a policy without a quorum), EVC_ENOMEM.
 */
int bundle_verify(const uint8_t *bytes, size_t len, const bundle_verify_opts *opts,
    bundle_report **out);

/* Free a report. Accepts NULL. */
void bundle_report_free(bundle_report *r);

/*
 * The main event time of a record ("when it happened"): scan_in.device_ms,
 * certificate_check.verified_ms, evidence.capture_start_ms,
 * disposition.decided_ms, company_feedback.submitted_ms,
 * inspection_plan.filing.filed_ms, else created_ms. *field (may be NULL)
 * receives the field's name, e.g. "scan_in.device_ms".
 */
int64_t bundle_event_time(const Record *r, const char **field);

/* The inspection id a record belongs to ("" / NULL when none). */
const char *bundle_record_inspection(const Record *r);

#endif
