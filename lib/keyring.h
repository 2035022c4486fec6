/*
 * keyring.h — which key may sign what, at which log index.
 *
 * The trust chain lives in the log itself:
 *   log key (name = origin) ──signs──▶ NodeKey{role ADMIN} registrations / revocations
 *   admin key               ──signs──▶ NodeKey{role NODE} registrations / revocations,
 *                                       FrequencyCap, RiskGrade (policy records)
 *   node key                ──signs──▶ every other record kind (and policy records)
 * A key is valid from the index after its registration entry until its
 * revocation entry, and only while the entry's log time is within
 * [valid_from, valid_until) when those are set. The server and the offline
 * audit (evchain-verify ledger) apply exactly these rules.
 */
#ifndef EVC_KEYRING_H
#define EVC_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "record.h"

typedef struct keyring keyring;

typedef struct keyring_key {
	evc_vkey vk;
	int role;                 /* EVCHAIN__V1__NODE_KEY__ROLE__NODE / ADMIN, or 0 for the log key */
	char agency[RECORD_MAX_NAME + 1];
	uint64_t registered_at;   /* entry index of the registration */
	uint64_t revoked_at;      /* entry index of the revocation, or UINT64_MAX */
	int64_t valid_from_ms, valid_until_ms;
} keyring_key;

/* New keyring trusting the log key (type 0x01; its name is the origin). */
keyring *keyring_new(const evc_vkey *log_key);
void keyring_free(keyring *kr);

/*
 * May `signer` sign record r (already decoded and validated) as entry
 * `index` with log time log_ms? On success *key receives the key (valid
 * until the keyring changes). EVC_EUNKNOWNKEY (unknown, revoked, not yet or
 * no longer valid) or EVC_EPERM (the key's role may not sign this kind, or
 * r->signer is not `signer`), with a reason in why. For a NodeKey record it
 * also refuses what keyring_apply() would refuse (EVC_ECONFLICT: registering
 * an active name, revoking an unknown or revoked key or one of another role;
 * EVC_EPERM: revoking the log key), so a refused key change is never logged.
 * A name registered again after its revocation is looked up by index: older
 * entries are checked against the older key.
 */
int keyring_check(const keyring *kr, const char *signer, const Record *r, uint64_t index,
    int64_t log_ms, const keyring_key **key, char *why, size_t whycap);

/* Apply an accepted record at `index` (only NodeKey records change the
 * keyring). Registering a name that is registered and not revoked, or
 * revoking an unknown or already revoked key (or with a role other than the
 * key's), is EVC_ECONFLICT; revoking the log key EVC_EPERM; a malformed
 * NodeKey EVC_EINVAL; EVC_ENOMEM. Not thread-safe: callers serialise
 * keyring_apply against keyring_check / keyring_find. */
int keyring_apply(keyring *kr, const Record *r, uint64_t index);

/* Look a key up by name (any state). NULL if unknown. */
const keyring_key *keyring_find(const keyring *kr, const char *name);

/* Number of keys known (log key included). */
size_t keyring_count(const keyring *kr);

#endif
