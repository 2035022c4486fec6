/*
 * test_keyring.c — the trust chain log → admin → node, roles, revocation by
 * index, validity windows, conflicts, name reuse after revocation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../check.h"
#include "evc.h"
#include "keyring.h"
#include "keys.h"
#include "pb.h"
#include "record.h"

#define T0 1750000000000LL
#define ORIGIN "log.liaocheng.example/evchain"

#define NODE_ROLE EVCHAIN__V1__NODE_KEY__ROLE__NODE
#define ADMIN_ROLE EVCHAIN__V1__NODE_KEY__ROLE__ADMIN
#define REGISTER EVCHAIN__V1__NODE_KEY__ACTION__REGISTER
#define REVOKE EVCHAIN__V1__NODE_KEY__ACTION__REVOKE

typedef struct tkey {
	evc_skey sk;
	evc_vkey vk;
} tkey;

static void
make_key(tkey *k, const char *name, uint8_t seedbyte)
{
	uint8_t seed[32];

	memset(seed, seedbyte, sizeof(seed));
	memset(k, 0, sizeof(*k));
	snprintf(k->sk.name, sizeof(k->sk.name), "%s", name);
	snprintf(k->vk.name, sizeof(k->vk.name), "%s", name);
	REQUIRE(crypto_sign_seed_keypair(k->vk.pub, k->sk.sk, seed) == 0);
	k->sk.type = k->vk.type = EVC_KEY_ED25519;
	k->vk.id = k->sk.id = keys_key_id(name, EVC_KEY_ED25519, k->vk.pub);
}

/* A record in static storage (one at a time is enough here). */
typedef struct trec {
	Record rec;
	Evchain__V1__NodeKey nk;
	uint8_t pub[32];
	Evchain__V1__FrequencyCap cap;
	Evchain__V1__RiskGrade rg;
	Evchain__V1__CertificateCheck cc;
} trec;

static trec *
node_key_rec(trec *t, const char *signer, int action, int role, const tkey *subject,
    int64_t from, int64_t until)
{
	memset(t, 0, sizeof(*t));
	t->rec = (Record)EVCHAIN__V1__RECORD__INIT;
	t->rec.record_id = "K-1";
	t->rec.signer = (char *)signer;
	t->rec.created_ms = T0;
	t->nk = (Evchain__V1__NodeKey)EVCHAIN__V1__NODE_KEY__INIT;
	t->nk.action = (Evchain__V1__NodeKey__Action)action;
	t->nk.role = (Evchain__V1__NodeKey__Role)role;
	t->nk.key_name = (char *)subject->vk.name;
	if (action == REGISTER) {
		memcpy(t->pub, subject->vk.pub, 32);
		t->nk.public_key.data = t->pub;
		t->nk.public_key.len = 32;
	}
	t->nk.agency = "聊城市大数据局";
	t->nk.valid_from_ms = from;
	t->nk.valid_until_ms = until;
	t->rec.body_case = EVCHAIN__V1__RECORD__BODY_NODE_KEY;
	t->rec.node_key = &t->nk;
	return t;
}

static trec *
cap_rec(trec *t, const char *signer)
{
	memset(t, 0, sizeof(*t));
	t->rec = (Record)EVCHAIN__V1__RECORD__INIT;
	t->rec.record_id = "C-1";
	t->rec.signer = (char *)signer;
	t->rec.created_ms = T0;
	t->cap = (Evchain__V1__FrequencyCap)EVCHAIN__V1__FREQUENCY_CAP__INIT;
	t->cap.agency = "聊城市市场监督管理局";
	t->cap.risk_grade = "A";
	t->cap.max_per_year = 1;
	t->cap.year = 2025;
	t->rec.body_case = EVCHAIN__V1__RECORD__BODY_FREQUENCY_CAP;
	t->rec.frequency_cap = &t->cap;
	return t;
}

static trec *
grade_rec(trec *t, const char *signer)
{
	memset(t, 0, sizeof(*t));
	t->rec = (Record)EVCHAIN__V1__RECORD__INIT;
	t->rec.record_id = "G-1";
	t->rec.signer = (char *)signer;
	t->rec.created_ms = T0;
	t->rg = (Evchain__V1__RiskGrade)EVCHAIN__V1__RISK_GRADE__INIT;
	t->rg.company_uscc = "91350100M000100Y43";
	t->rg.agency = "聊城市市场监督管理局";
	t->rg.risk_grade = "A";
	t->rec.body_case = EVCHAIN__V1__RECORD__BODY_RISK_GRADE;
	t->rec.risk_grade = &t->rg;
	return t;
}

static trec *
cert_rec(trec *t, const char *signer)
{
	memset(t, 0, sizeof(*t));
	t->rec = (Record)EVCHAIN__V1__RECORD__INIT;
	t->rec.record_id = "V-1";
	t->rec.signer = (char *)signer;
	t->rec.created_ms = T0;
	t->cc = (Evchain__V1__CertificateCheck)EVCHAIN__V1__CERTIFICATE_CHECK__INIT;
	t->cc.certificate_no = "3715000001";
	t->cc.verifier = EVCHAIN__V1__CERTIFICATE_CHECK__VERIFIER__COMPANY_APP;
	t->cc.result = EVCHAIN__V1__CERTIFICATE_CHECK__RESULT__VALID;
	t->rec.body_case = EVCHAIN__V1__RECORD__BODY_CERTIFICATE_CHECK;
	t->rec.certificate_check = &t->cc;
	return t;
}

static char why[256];

/* keyring_check with the reason printed on a mismatch. */
static int
chk(const keyring *kr, const char *signer, const trec *t, uint64_t index, int64_t log_ms,
    const keyring_key **key)
{
	why[0] = '\0';
	int rc = keyring_check(kr, signer, &t->rec, index, log_ms, key, why, sizeof(why));
	if (getenv("TEST_VERBOSE") != NULL)
		printf("check %s @%llu: %d %s\n", signer, (unsigned long long)index, rc, why);
	return rc;
}

#define CHECK_RC(expr, want)                                                        \
	do {                                                                        \
		int got_ = (expr);                                                  \
		CHECK_(got_ == (want), "%s = %d (%s), want %d (%s); why: %s", #expr, \
		    got_, evc_strerror(got_), (want), evc_strerror(want), why);     \
	} while (0)

static tkey logk, admin, admin2, node, node2, node3, ghost;
static trec t;

static void
test_chain(void)
{
	const keyring_key *k = NULL;
	keyring *kr = keyring_new(&logk.vk);

	REQUIRE(kr != NULL);
	CHECK_EQ(keyring_count(kr), 1);
	k = keyring_find(kr, ORIGIN);
	REQUIRE(k != NULL);
	CHECK_EQ(k->role, 0);
	CHECK_MEM(k->vk.pub, logk.vk.pub, 32);

	/* Entry 0: the log key registers the admin key. */
	node_key_rec(&t, ORIGIN, REGISTER, ADMIN_ROLE, &admin, 0, 0);
	CHECK_RC(chk(kr, ORIGIN, &t, 0, T0, &k), 0);
	CHECK(k != NULL && k->role == 0);
	CHECK_RC(keyring_apply(kr, &t.rec, 0), 0);
	CHECK_EQ(keyring_count(kr), 2);
	k = keyring_find(kr, admin.vk.name);
	REQUIRE(k != NULL);
	CHECK_EQ(k->role, ADMIN_ROLE);
	CHECK_EQ(k->registered_at, 0);
	CHECK(k->revoked_at == UINT64_MAX);
	CHECK_STR(k->agency, "聊城市大数据局");
	CHECK_MEM(k->vk.pub, admin.vk.pub, 32);
	CHECK_EQ(k->vk.type, EVC_KEY_ED25519);
	CHECK_EQ(k->vk.id, admin.vk.id);

	/* The log key may not register node keys, nor sign other records. */
	node_key_rec(&t, ORIGIN, REGISTER, NODE_ROLE, &node, 0, 0);
	CHECK_RC(chk(kr, ORIGIN, &t, 1, T0, &k), EVC_EPERM);
	CHECK(k == NULL);
	CHECK_RC(chk(kr, ORIGIN, cap_rec(&t, ORIGIN), 1, T0, NULL), EVC_EPERM);
	CHECK_RC(chk(kr, ORIGIN, cert_rec(&t, ORIGIN), 1, T0, NULL), EVC_EPERM);

	/* The admin key is valid only after its registration entry. */
	node_key_rec(&t, admin.vk.name, REGISTER, NODE_ROLE, &node, 0, 0);
	CHECK_RC(chk(kr, admin.vk.name, &t, 0, T0, NULL), EVC_EUNKNOWNKEY);
	CHECK(strstr(why, admin.vk.name) != NULL);
	/* Entry 1: admin registers the node key. */
	CHECK_RC(chk(kr, admin.vk.name, &t, 1, T0, &k), 0);
	CHECK(k != NULL && k->role == ADMIN_ROLE);
	CHECK_RC(keyring_apply(kr, &t.rec, 1), 0);

	/* Admin may not register admins, nor sign inspection records. */
	node_key_rec(&t, admin.vk.name, REGISTER, ADMIN_ROLE, &admin2, 0, 0);
	CHECK_RC(chk(kr, admin.vk.name, &t, 2, T0, NULL), EVC_EPERM);
	CHECK_RC(chk(kr, admin.vk.name, cert_rec(&t, admin.vk.name), 2, T0, NULL), EVC_EPERM);
	/* Admin policy records. */
	CHECK_RC(chk(kr, admin.vk.name, cap_rec(&t, admin.vk.name), 2, T0, NULL), 0);
	CHECK_RC(chk(kr, admin.vk.name, grade_rec(&t, admin.vk.name), 2, T0, NULL), 0);
	CHECK_RC(keyring_apply(kr, &t.rec, 2), 0); /* not a node key: no change */
	CHECK_EQ(keyring_count(kr), 3);

	/* The node key: valid after entry 1, for everything but node keys. */
	CHECK_RC(chk(kr, node.vk.name, cert_rec(&t, node.vk.name), 1, T0, NULL), EVC_EUNKNOWNKEY);
	CHECK_RC(chk(kr, node.vk.name, cert_rec(&t, node.vk.name), 3, T0, &k), 0);
	CHECK(k != NULL && k->role == NODE_ROLE && memcmp(k->vk.pub, node.vk.pub, 32) == 0);
	CHECK_RC(chk(kr, node.vk.name, cap_rec(&t, node.vk.name), 3, T0, NULL), 0);
	CHECK_RC(chk(kr, node.vk.name, grade_rec(&t, node.vk.name), 3, T0, NULL), 0);
	node_key_rec(&t, node.vk.name, REGISTER, NODE_ROLE, &node2, 0, 0);
	CHECK_RC(chk(kr, node.vk.name, &t, 3, T0, NULL), EVC_EPERM);
	CHECK(strstr(why, "node") != NULL);
	node_key_rec(&t, node.vk.name, REVOKE, NODE_ROLE, &node, 0, 0);
	CHECK_RC(chk(kr, node.vk.name, &t, 3, T0, NULL), EVC_EPERM);
	node_key_rec(&t, node.vk.name, REGISTER, ADMIN_ROLE, &node2, 0, 0);
	CHECK_RC(chk(kr, node.vk.name, &t, 3, T0, NULL), EVC_EPERM);

	/* The record must name the key that signs it. */
	cert_rec(&t, node.vk.name);
	CHECK_RC(chk(kr, admin.vk.name, &t, 3, T0, NULL), EVC_EPERM);
	CHECK(strstr(why, "signer") != NULL);

	/* Unknown keys. */
	CHECK_RC(chk(kr, ghost.vk.name, cert_rec(&t, ghost.vk.name), 3, T0, NULL), EVC_EUNKNOWNKEY);
	CHECK(strstr(why, "unknown") != NULL);
	CHECK(keyring_find(kr, ghost.vk.name) == NULL);

	/* Re-registering an active name is a conflict, in check and apply. */
	node_key_rec(&t, admin.vk.name, REGISTER, NODE_ROLE, &node, 0, 0);
	CHECK_RC(chk(kr, admin.vk.name, &t, 3, T0, NULL), EVC_ECONFLICT);
	CHECK_RC(keyring_apply(kr, &t.rec, 3), EVC_ECONFLICT);
	node_key_rec(&t, admin.vk.name, REGISTER, NODE_ROLE, &admin, 0, 0); /* the admin's own name */
	CHECK_RC(keyring_apply(kr, &t.rec, 3), EVC_ECONFLICT);
	node_key_rec(&t, ORIGIN, REGISTER, ADMIN_ROLE, &logk, 0, 0); /* the log key's name */
	CHECK_RC(chk(kr, ORIGIN, &t, 3, T0, NULL), EVC_ECONFLICT);
	CHECK_RC(keyring_apply(kr, &t.rec, 3), EVC_ECONFLICT);

	/* Revoking unknown keys, the log key, or with the wrong role. */
	node_key_rec(&t, admin.vk.name, REVOKE, NODE_ROLE, &ghost, 0, 0);
	CHECK_RC(chk(kr, admin.vk.name, &t, 3, T0, NULL), EVC_ECONFLICT);
	CHECK_RC(keyring_apply(kr, &t.rec, 3), EVC_ECONFLICT);
	node_key_rec(&t, ORIGIN, REVOKE, ADMIN_ROLE, &logk, 0, 0);
	CHECK_RC(chk(kr, ORIGIN, &t, 3, T0, NULL), EVC_EPERM);
	CHECK_RC(keyring_apply(kr, &t.rec, 3), EVC_EPERM);
	node_key_rec(&t, admin.vk.name, REVOKE, NODE_ROLE, &admin, 0, 0); /* admin posing as node */
	CHECK_RC(chk(kr, admin.vk.name, &t, 3, T0, NULL), EVC_ECONFLICT);
	CHECK(strstr(why, "admin") != NULL);
	CHECK_RC(keyring_apply(kr, &t.rec, 3), EVC_ECONFLICT);
	CHECK(keyring_find(kr, admin.vk.name)->revoked_at == UINT64_MAX);

	/* Entry 5: admin revokes the node key (by name). */
	node_key_rec(&t, admin.vk.name, REVOKE, NODE_ROLE, &node, 0, 0);
	CHECK_RC(chk(kr, admin.vk.name, &t, 5, T0, NULL), 0);
	CHECK_RC(keyring_apply(kr, &t.rec, 5), 0);
	CHECK_EQ(keyring_find(kr, node.vk.name)->revoked_at, 5);
	/* Valid before the revocation index, not from it on. */
	cert_rec(&t, node.vk.name);
	CHECK_RC(chk(kr, node.vk.name, &t, 4, T0, &k), 0);
	CHECK_RC(chk(kr, node.vk.name, &t, 5, T0, NULL), EVC_EUNKNOWNKEY);
	CHECK(strstr(why, "revoked") != NULL);
	CHECK_RC(chk(kr, node.vk.name, &t, 6, T0, NULL), EVC_EUNKNOWNKEY);
	CHECK_RC(chk(kr, node.vk.name, &t, 1, T0, NULL), EVC_EUNKNOWNKEY);
	/* Revoking it again is a conflict. */
	node_key_rec(&t, admin.vk.name, REVOKE, NODE_ROLE, &node, 0, 0);
	CHECK_RC(chk(kr, admin.vk.name, &t, 6, T0, NULL), EVC_ECONFLICT);
	CHECK_RC(keyring_apply(kr, &t.rec, 6), EVC_ECONFLICT);

	/* Entry 7: the name is registered again with a new key. */
	tkey node_b;
	make_key(&node_b, node.vk.name, 0x77);
	node_key_rec(&t, admin.vk.name, REGISTER, NODE_ROLE, &node_b, 0, 0);
	CHECK_RC(chk(kr, admin.vk.name, &t, 7, T0, NULL), 0);
	CHECK_RC(keyring_apply(kr, &t.rec, 7), 0);
	CHECK_EQ(keyring_count(kr), 4);
	k = keyring_find(kr, node.vk.name);
	CHECK(k != NULL && memcmp(k->vk.pub, node_b.vk.pub, 32) == 0 && k->registered_at == 7);
	cert_rec(&t, node.vk.name);
	CHECK_RC(chk(kr, node.vk.name, &t, 4, T0, &k), 0); /* old entries: the old key */
	CHECK(k != NULL && memcmp(k->vk.pub, node.vk.pub, 32) == 0);
	CHECK_RC(chk(kr, node.vk.name, &t, 6, T0, NULL), EVC_EUNKNOWNKEY); /* between the two */
	CHECK_RC(chk(kr, node.vk.name, &t, 7, T0, NULL), EVC_EUNKNOWNKEY);
	CHECK_RC(chk(kr, node.vk.name, &t, 8, T0, &k), 0); /* new entries: the new key */
	CHECK(k != NULL && memcmp(k->vk.pub, node_b.vk.pub, 32) == 0);

	/* Entry 9: a node key with a validity window on the log time. */
	node_key_rec(&t, admin.vk.name, REGISTER, NODE_ROLE, &node3, T0 + 1000, T0 + 2000);
	CHECK_RC(chk(kr, admin.vk.name, &t, 9, T0, NULL), 0);
	CHECK_RC(keyring_apply(kr, &t.rec, 9), 0);
	k = keyring_find(kr, node3.vk.name);
	CHECK(k != NULL && k->valid_from_ms == T0 + 1000 && k->valid_until_ms == T0 + 2000);
	cert_rec(&t, node3.vk.name);
	CHECK_RC(chk(kr, node3.vk.name, &t, 10, T0 + 999, NULL), EVC_EUNKNOWNKEY);
	CHECK(strstr(why, "not yet valid") != NULL);
	CHECK_RC(chk(kr, node3.vk.name, &t, 10, T0 + 1000, NULL), 0);
	CHECK_RC(chk(kr, node3.vk.name, &t, 10, T0 + 1999, NULL), 0);
	CHECK_RC(chk(kr, node3.vk.name, &t, 10, T0 + 2000, NULL), EVC_EUNKNOWNKEY);
	CHECK(strstr(why, "expired") != NULL);

	/* Entry 11 (log key): a second admin; admin revokes admin? No: only
	 * the log key signs admin records. */
	node_key_rec(&t, ORIGIN, REGISTER, ADMIN_ROLE, &admin2, 0, 0);
	CHECK_RC(chk(kr, ORIGIN, &t, 11, T0, NULL), 0);
	CHECK_RC(keyring_apply(kr, &t.rec, 11), 0);
	node_key_rec(&t, admin2.vk.name, REVOKE, ADMIN_ROLE, &admin, 0, 0);
	CHECK_RC(chk(kr, admin2.vk.name, &t, 12, T0, NULL), EVC_EPERM);
	node_key_rec(&t, ORIGIN, REVOKE, ADMIN_ROLE, &admin, 0, 0);
	CHECK_RC(chk(kr, ORIGIN, &t, 12, T0, NULL), 0);
	CHECK_RC(keyring_apply(kr, &t.rec, 12), 0);
	/* The revoked admin can no longer register nodes; what it signed
	 * before stays valid. */
	node_key_rec(&t, admin.vk.name, REGISTER, NODE_ROLE, &node2, 0, 0);
	CHECK_RC(chk(kr, admin.vk.name, &t, 13, T0, NULL), EVC_EUNKNOWNKEY);
	CHECK_RC(chk(kr, admin.vk.name, &t, 11, T0, NULL), 0);
	node_key_rec(&t, admin2.vk.name, REGISTER, NODE_ROLE, &node2, 0, 0);
	CHECK_RC(chk(kr, admin2.vk.name, &t, 13, T0, NULL), 0);

	/* keyring_apply argument checks. */
	CHECK_RC(keyring_apply(kr, NULL, 14), EVC_EINVAL);
	CHECK_RC(keyring_apply(NULL, &t.rec, 14), EVC_EINVAL);
	node_key_rec(&t, admin2.vk.name, REGISTER, NODE_ROLE, &node2, 0, 0);
	t.nk.public_key.len = 31;
	CHECK_RC(keyring_apply(kr, &t.rec, 14), EVC_EINVAL);
	CHECK_RC(chk(NULL, admin2.vk.name, &t, 14, T0, NULL), EVC_EUNKNOWNKEY);

	keyring_free(kr);
	keyring_free(NULL);
}

/* The whole path: signed record bytes, decoded, checked, verified with the
 * key the keyring hands out. */
static void
test_signed_flow(void)
{
	keyring *kr = keyring_new(&logk.vk);
	const keyring_key *k;
	uint8_t sig[64];
	size_t len;
	pb_arena a;

	REQUIRE(kr != NULL);
	pb_arena_init(&a, 1u << 20);
	const struct {
		tkey *signer;
		int action, role;
		tkey *subject;
	} steps[] = {
		{ &logk, REGISTER, ADMIN_ROLE, &admin },
		{ &admin, REGISTER, NODE_ROLE, &node },
	};
	uint64_t index = 0;
	for (size_t i = 0; i < 2; i++, index++) {
		node_key_rec(&t, steps[i].signer->vk.name, steps[i].action, steps[i].role,
		    steps[i].subject, 0, 0);
		uint8_t *buf = pb_pack(&t.rec.base, &len);
		REQUIRE(buf != NULL);
		record_sign(&steps[i].signer->sk, buf, len, sig);
		Record *r = record_decode(&a, buf, len);
		REQUIRE(r != NULL);
		CHECK_EQ(record_validate(r, T0, why, sizeof(why)), 0);
		CHECK_RC(keyring_check(kr, steps[i].signer->vk.name, r, index, T0, &k, why, sizeof(why)), 0);
		REQUIRE(k != NULL);
		CHECK_EQ(record_verify(&k->vk, buf, len, sig), 0);
		CHECK_RC(keyring_apply(kr, r, index), 0);
		free(buf);
		pb_arena_reset(&a);
	}
	cert_rec(&t, node.vk.name);
	uint8_t *buf = pb_pack(&t.rec.base, &len);
	REQUIRE(buf != NULL);
	record_sign(&node.sk, buf, len, sig);
	Record *r = record_decode(&a, buf, len);
	REQUIRE(r != NULL);
	CHECK_RC(keyring_check(kr, node.vk.name, r, index, T0, &k, why, sizeof(why)), 0);
	REQUIRE(k != NULL);
	CHECK_EQ(record_verify(&k->vk, buf, len, sig), 0);
	/* Signed by another key under the node's name: the keyring's key
	 * does not verify it. */
	record_sign(&node2.sk, buf, len, sig);
	CHECK_EQ(record_verify(&k->vk, buf, len, sig), EVC_EBADSIG);
	free(buf);
	pb_arena_free(&a);
	keyring_free(kr);
}

/* Thousands of keys: the table grows, every key is found. */
static void
test_many(void)
{
	keyring *kr = keyring_new(&logk.vk);
	char name[64];
	tkey k;
	int missing = 0, bad = 0;

	REQUIRE(kr != NULL);
	node_key_rec(&t, ORIGIN, REGISTER, ADMIN_ROLE, &admin, 0, 0);
	REQUIRE(keyring_apply(kr, &t.rec, 0) == 0);
	make_key(&k, "x", 0x11);
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "node-%04d.example", i);
		memcpy(k.vk.name, name, strlen(name) + 1);
		node_key_rec(&t, admin.vk.name, REGISTER, NODE_ROLE, &k, 0, 0);
		if (keyring_apply(kr, &t.rec, (uint64_t)i + 1) != 0)
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(keyring_count(kr), 3002);
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "node-%04d.example", i);
		const keyring_key *f = keyring_find(kr, name);
		if (f == NULL || f->registered_at != (uint64_t)i + 1 || strcmp(f->vk.name, name) != 0)
			missing++;
	}
	CHECK_EQ(missing, 0);
	CHECK(keyring_find(kr, "node-3000.example") == NULL);
	CHECK(keyring_find(kr, ORIGIN) != NULL);
	keyring_free(kr);
}

static void
test_new(void)
{
	evc_vkey v = logk.vk;

	CHECK(keyring_new(NULL) == NULL);
	v.type = EVC_KEY_COSIGNATURE;
	CHECK(keyring_new(&v) == NULL);
	v = logk.vk;
	v.name[0] = '\0';
	CHECK(keyring_new(&v) == NULL);
	CHECK(keyring_find(NULL, ORIGIN) == NULL);
	CHECK_EQ(keyring_count(NULL), 0);
}

int
main(void)
{
	REQUIRE(sodium_init() >= 0);
	make_key(&logk, ORIGIN, 0x01);
	make_key(&admin, "admin.liaocheng", 0x02);
	make_key(&admin2, "admin2.liaocheng", 0x03);
	make_key(&node, "node-scjgj.liaocheng", 0x04);
	make_key(&node2, "node-yjj.liaocheng", 0x05);
	make_key(&node3, "node-temp.liaocheng", 0x06);
	make_key(&ghost, "ghost.example", 0x07);

	test_new();
	test_chain();
	test_signed_flow();
	test_many();
	CHECK_DONE("test_keyring");
}
