/*
 * keyring.c — which key may sign what, at which log index (keyring.h).
 *
 * Keys live in one array in the order they became known (the log key
 * first). A name may be registered again after its key was revoked, so one
 * name can have several versions; an open-addressing table maps a name to
 * its newest version and each version links to the one before. Checks at an
 * older index walk that chain to the version valid there.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evc.h"
#include "keyring.h"
#include "keys.h"
#include "record.h"

#define NO_SLOT SIZE_MAX

typedef struct kr_entry {
	keyring_key key;
	size_t prev;        /* older version of the same name, or NO_SLOT */
} kr_entry;

struct keyring {
	kr_entry *keys;
	size_t n, cap;
	size_t *table;      /* open addressing: index into keys, or NO_SLOT */
	size_t tcap;        /* power of two */
};

/* FNV-1a, 64 bits. */
static uint64_t
name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

/* Slot of name in the table: where it is, or the empty slot where it goes. */
static size_t
table_slot(const keyring *kr, const char *name)
{
	size_t mask = kr->tcap - 1;
	size_t i = (size_t)name_hash(name) & mask;

	while (kr->table[i] != NO_SLOT && strcmp(kr->keys[kr->table[i]].key.vk.name, name) != 0)
		i = (i + 1) & mask;
	return i;
}

static int
table_grow(keyring *kr)
{
	size_t ncap = kr->tcap * 2;
	size_t *nt = malloc(ncap * sizeof(*nt));
	size_t *old = kr->table;
	size_t ocap = kr->tcap;

	if (nt == NULL)
		return EVC_ENOMEM;
	for (size_t i = 0; i < ncap; i++)
		nt[i] = NO_SLOT;
	kr->table = nt;
	kr->tcap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i] != NO_SLOT)
			kr->table[table_slot(kr, kr->keys[old[i]].key.vk.name)] = old[i];
	free(old);
	return 0;
}

/* Newest version of name, or NO_SLOT. */
static size_t
find_newest(const keyring *kr, const char *name)
{
	if (name == NULL)
		return NO_SLOT;
	return kr->table[table_slot(kr, name)];
}

/* Append a key as the newest version of its name. */
static int
add_key(keyring *kr, const keyring_key *k)
{
	if (kr->n == kr->cap) {
		size_t ncap = kr->cap ? kr->cap * 2 : 16;
		kr_entry *nk = realloc(kr->keys, ncap * sizeof(*nk));
		if (nk == NULL)
			return EVC_ENOMEM;
		kr->keys = nk;
		kr->cap = ncap;
	}
	/* Keep the table at most half full (counting names, bounded by n). */
	if ((kr->n + 1) * 2 > kr->tcap && table_grow(kr) != 0)
		return EVC_ENOMEM;
	size_t slot = table_slot(kr, k->vk.name);
	kr->keys[kr->n].key = *k;
	kr->keys[kr->n].prev = kr->table[slot];
	kr->table[slot] = kr->n;
	kr->n++;
	return 0;
}

keyring *
keyring_new(const evc_vkey *log_key)
{
	keyring *kr;
	keyring_key k;

	if (log_key == NULL || log_key->type != EVC_KEY_ED25519 ||
	    !keys_name_valid(log_key->name, strnlen(log_key->name, sizeof(log_key->name))))
		return NULL;
	kr = calloc(1, sizeof(*kr));
	if (kr == NULL)
		return NULL;
	kr->tcap = 32;
	kr->table = malloc(kr->tcap * sizeof(*kr->table));
	if (kr->table == NULL)
		goto err;
	for (size_t i = 0; i < kr->tcap; i++)
		kr->table[i] = NO_SLOT;
	memset(&k, 0, sizeof(k));
	k.vk = *log_key;
	k.role = 0;
	k.registered_at = 0;    /* the log key is valid from the first entry on */
	k.revoked_at = UINT64_MAX;
	if (add_key(kr, &k) != 0)
		goto err;
	return kr;
err:
	keyring_free(kr);
	return NULL;
}

void
keyring_free(keyring *kr)
{
	if (kr == NULL)
		return;
	free(kr->keys);
	free(kr->table);
	free(kr);
}

const keyring_key *
keyring_find(const keyring *kr, const char *name)
{
	if (kr == NULL)
		return NULL;
	size_t i = find_newest(kr, name);
	return i == NO_SLOT ? NULL : &kr->keys[i].key;
}

size_t
keyring_count(const keyring *kr)
{
	return kr == NULL ? 0 : kr->n;
}

__attribute__((format(printf, 4, 5))) static int
say(int rc, char *why, size_t whycap, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whycap == 0)
		return rc;
	va_start(ap, fmt);
	int n = vsnprintf(why, whycap, fmt, ap);
	va_end(ap);
	if (n < 0)
		why[0] = '\0';
	else if ((size_t)n >= whycap && whycap >= 4)
		memcpy(why + whycap - 4, "...", 4); /* cut: mark it */
	return rc;
}

/* "a log key", "an admin key", … */
static const char *
role_name(int role)
{
	switch (role) {
	case 0: return "a log key";
	case EVCHAIN__V1__NODE_KEY__ROLE__NODE: return "a node key";
	case EVCHAIN__V1__NODE_KEY__ROLE__ADMIN: return "an admin key";
	default: return "a key of unknown role";
	}
}

/* 1 if key k (a log key when role 0) is registered and not revoked at index. */
static int
live_at(const keyring_key *k, uint64_t index)
{
	if (index >= k->revoked_at)
		return 0;
	return k->role == 0 || index > k->registered_at;
}

/* Would applying NodeKey nk succeed? 0 or EVC_ECONFLICT / EVC_EPERM with why. */
static int
node_key_applicable(const keyring *kr, const Evchain__V1__NodeKey *nk, char *why, size_t whycap)
{
	size_t i = find_newest(kr, nk->key_name);
	const keyring_key *cur = i == NO_SLOT ? NULL : &kr->keys[i].key;

	if (nk->action == EVCHAIN__V1__NODE_KEY__ACTION__REGISTER) {
		if (cur != NULL && cur->revoked_at == UINT64_MAX)
			return say(EVC_ECONFLICT, why, whycap,
			    "node_key.key_name: '%s' is already registered (entry %llu) and not revoked",
			    nk->key_name, (unsigned long long)cur->registered_at);
		return 0;
	}
	if (nk->action == EVCHAIN__V1__NODE_KEY__ACTION__REVOKE) {
		if (cur == NULL)
			return say(EVC_ECONFLICT, why, whycap,
			    "node_key.key_name: no key '%s' to revoke", nk->key_name);
		if (cur->role == 0)
			return say(EVC_EPERM, why, whycap,
			    "node_key.key_name: '%s' is the log key, which the log cannot revoke",
			    nk->key_name);
		if (cur->revoked_at != UINT64_MAX)
			return say(EVC_ECONFLICT, why, whycap,
			    "node_key.key_name: '%s' was already revoked at entry %llu",
			    nk->key_name, (unsigned long long)cur->revoked_at);
		if ((int)nk->role != cur->role)
			return say(EVC_ECONFLICT, why, whycap,
			    "node_key.role: '%s' is %s, the record says %s", nk->key_name,
			    role_name(cur->role), role_name((int)nk->role));
		return 0;
	}
	return say(EVC_EPERM, why, whycap, "node_key.action: unknown action %d", (int)nk->action);
}

int
keyring_check(const keyring *kr, const char *signer, const Record *r, uint64_t index,
    int64_t log_ms, const keyring_key **key, char *why, size_t whycap)
{
	const keyring_key *k = NULL;

	if (key != NULL)
		*key = NULL;
	if (why != NULL && whycap != 0)
		why[0] = '\0';
	if (kr == NULL || signer == NULL || r == NULL)
		return say(EVC_EUNKNOWNKEY, why, whycap, "no keyring, signer or record");
	if (r->signer == NULL || strcmp(r->signer, signer) != 0)
		return say(EVC_EPERM, why, whycap, "signer: the record names '%s' but '%s' signed it",
		    r->signer ? r->signer : "", signer);

	size_t i = find_newest(kr, signer);
	if (i == NO_SLOT)
		return say(EVC_EUNKNOWNKEY, why, whycap, "unknown key '%s'", signer);
	/* The version of the name that is live at index (names may be reused
	 * after a revocation). */
	for (size_t j = i; j != NO_SLOT; j = kr->keys[j].prev) {
		if (live_at(&kr->keys[j].key, index)) {
			k = &kr->keys[j].key;
			break;
		}
	}
	if (k == NULL) {
		/* Not live: revoked (a version registered before index) or not
		 * yet registered at index. */
		size_t j = i, oldest = i;
		while (j != NO_SLOT && kr->keys[j].key.registered_at >= index) {
			oldest = j;
			j = kr->keys[j].prev;
		}
		if (j != NO_SLOT && j != i)
			return say(EVC_EUNKNOWNKEY, why, whycap,
			    "key '%s' was revoked at entry %llu and registered again at entry %llu "
			    "(checked at entry %llu)", signer,
			    (unsigned long long)kr->keys[j].key.revoked_at,
			    (unsigned long long)kr->keys[oldest].key.registered_at,
			    (unsigned long long)index);
		if (j != NO_SLOT)
			return say(EVC_EUNKNOWNKEY, why, whycap,
			    "key '%s' was revoked at entry %llu (checked at entry %llu)", signer,
			    (unsigned long long)kr->keys[j].key.revoked_at,
			    (unsigned long long)index);
		return say(EVC_EUNKNOWNKEY, why, whycap,
		    "key '%s' is registered at entry %llu, not valid at entry %llu", signer,
		    (unsigned long long)kr->keys[oldest].key.registered_at,
		    (unsigned long long)index);
	}
	if (k->valid_from_ms != 0 && log_ms < k->valid_from_ms)
		return say(EVC_EUNKNOWNKEY, why, whycap,
		    "key '%s' is not yet valid (valid from %lld, log time %lld)", signer,
		    (long long)k->valid_from_ms, (long long)log_ms);
	if (k->valid_until_ms != 0 && log_ms >= k->valid_until_ms)
		return say(EVC_EUNKNOWNKEY, why, whycap,
		    "key '%s' has expired (valid until %lld, log time %lld)", signer,
		    (long long)k->valid_until_ms, (long long)log_ms);

	Evchain__V1__RecordKind kind = record_kind(r);
	int allowed;
	switch (k->role) {
	case 0: /* the log key: admin keys only */
		allowed = kind == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY &&
		    r->node_key != NULL && r->node_key->role == EVCHAIN__V1__NODE_KEY__ROLE__ADMIN;
		break;
	case EVCHAIN__V1__NODE_KEY__ROLE__ADMIN:
		allowed = (kind == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY &&
		    r->node_key != NULL && r->node_key->role == EVCHAIN__V1__NODE_KEY__ROLE__NODE) ||
		    kind == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_FREQUENCY_CAP ||
		    kind == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_RISK_GRADE;
		break;
	case EVCHAIN__V1__NODE_KEY__ROLE__NODE:
		allowed = kind != EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY &&
		    kind != EVCHAIN__V1__RECORD_KIND__RECORD_KIND_UNSPECIFIED;
		break;
	default:
		allowed = 0;
		break;
	}
	if (!allowed) {
		if (kind == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY && r->node_key != NULL)
			return say(EVC_EPERM, why, whycap,
			    "%s may not sign a node_key record for %s", role_name(k->role),
			    role_name((int)r->node_key->role));
		return say(EVC_EPERM, why, whycap, "%s may not sign %s records",
		    role_name(k->role), record_kind_name(kind));
	}
	if (kind == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY) {
		int rc = node_key_applicable(kr, r->node_key, why, whycap);
		if (rc != 0)
			return rc;
	}
	if (key != NULL)
		*key = k;
	return 0;
}

int
keyring_apply(keyring *kr, const Record *r, uint64_t index)
{
	if (kr == NULL || r == NULL)
		return EVC_EINVAL;
	if (r->body_case != EVCHAIN__V1__RECORD__BODY_NODE_KEY)
		return 0;
	const Evchain__V1__NodeKey *nk = r->node_key;
	if (nk == NULL || nk->key_name == NULL)
		return EVC_EINVAL;
	size_t namelen = strlen(nk->key_name);
	if (!keys_name_valid(nk->key_name, namelen) || namelen > EVC_MAX_KEY_NAME)
		return EVC_EINVAL;
	if (nk->role != EVCHAIN__V1__NODE_KEY__ROLE__NODE && nk->role != EVCHAIN__V1__NODE_KEY__ROLE__ADMIN)
		return EVC_EINVAL;

	int rc = node_key_applicable(kr, nk, NULL, 0);
	if (rc != 0)
		return rc;
	size_t i = find_newest(kr, nk->key_name);

	if (nk->action == EVCHAIN__V1__NODE_KEY__ACTION__REVOKE) {
		keyring_key *cur = &kr->keys[i].key;
		if (index <= cur->registered_at)
			return EVC_EINVAL;
		cur->revoked_at = index;
		return 0;
	}

	/* REGISTER */
	keyring_key k;
	if (nk->public_key.len != EVC_ED25519_PK_LEN || nk->public_key.data == NULL)
		return EVC_EINVAL;
	if (nk->agency != NULL && strlen(nk->agency) > RECORD_MAX_NAME)
		return EVC_EINVAL;
	if (i != NO_SLOT && index <= kr->keys[i].key.revoked_at)
		return EVC_EINVAL; /* re-registered before (or at) its own revocation */
	memset(&k, 0, sizeof(k));
	memcpy(k.vk.name, nk->key_name, namelen + 1);
	k.vk.type = EVC_KEY_ED25519;
	memcpy(k.vk.pub, nk->public_key.data, EVC_ED25519_PK_LEN);
	k.vk.id = keys_key_id(k.vk.name, k.vk.type, k.vk.pub);
	k.role = (int)nk->role;
	if (nk->agency != NULL)
		memcpy(k.agency, nk->agency, strlen(nk->agency) + 1);
	k.registered_at = index;
	k.revoked_at = UINT64_MAX;
	k.valid_from_ms = nk->valid_from_ms;
	k.valid_until_ms = nk->valid_until_ms;
	return add_key(kr, &k);
}
