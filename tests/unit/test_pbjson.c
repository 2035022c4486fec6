/*
 * test_pbjson.c — the JSON mapping (lib/pbjson.c) and the example records
 * (lib/examples.c): every example decodes, validates and round-trips byte
 * for byte; every field type maps both ways; bad input fails with a precise
 * "path: reason".
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../check.h"
#include "evc.h"
#include "evchain.pb-c.h"
#include "examples.h"
#include "keys.h"
#include "pb.h"
#include "pbjson.h"
#include "record.h"

#define ARENA_BUDGET (4u << 20)
#define FX_USCC "91350100M000100Y43" /* as tests/unit/fixture.h */

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Pack m; compare with want[0..wlen) when want != NULL. Returns malloc'd bytes. */
static uint8_t *
pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *b = pb_pack(m, len);
	REQUIRE(b != NULL);
	return b;
}

/* encode(m) → text → decode → pack must give the bytes of m. */
static void
check_roundtrip(const ProtobufCMessage *m, const char *what)
{
	size_t alen, blen;
	uint8_t *a = pack(m, &alen);
	json_t *j = pbjson_encode(m);
	CHECK_(j != NULL, "%s: encode", what);
	if (j == NULL) {
		free(a);
		return;
	}
	char *text = json_dumps(j, JSON_COMPACT);
	REQUIRE(text != NULL);
	json_error_t je;
	json_t *back = json_loads(text, 0, &je);
	REQUIRE(back != NULL);

	pb_arena ar;
	pb_arena_init(&ar, ARENA_BUDGET);
	ProtobufCMessage *m2 = NULL;
	char err[256];
	int rc = pbjson_decode(m->descriptor, back, &ar, &m2, err, sizeof(err));
	CHECK_(rc == 0, "%s: decode of %s: %s", what, text, err);
	if (rc == 0) {
		uint8_t *b = pack(m2, &blen);
		CHECK_(alen == blen && memcmp(a, b, alen) == 0, "%s: bytes differ after %s", what, text);
		/* and the JSON is stable */
		json_t *j2 = pbjson_encode(m2);
		CHECK_(j2 != NULL && json_equal(j, j2), "%s: JSON differs on re-encode", what);
		json_decref(j2);
		free(b);
	}
	pb_arena_free(&ar);
	json_decref(back);
	free(text);
	json_decref(j);
	free(a);
}

/* Decode text as a Record; expect failure `code` with exactly `want`. */
static void
expect_err(const char *text, int code, const char *want, int line)
{
	pb_arena ar;
	Record *r = (Record *)1;
	char err[512];

	pb_arena_init(&ar, ARENA_BUDGET);
	int rc = pbjson_record_from_text(text, strlen(text), &ar, &r, err, sizeof(err));
	CHECK_(rc == code, "line %d: rc %d, want %d (%s)", line, rc, code, rc ? err : "ok");
	CHECK_(r == NULL, "line %d: *out not NULL on failure", line);
	CHECK_(strcmp(err, want) == 0, "line %d:\n  got  \"%s\"\n  want \"%s\"", line, err, want);
	pb_arena_free(&ar);
}
#define EXPECT_ERR(text, want) expect_err((text), EVC_EINVAL, (want), __LINE__)

/* Like expect_err, but only the beginning of the message is known. */
static void
expect_err_prefix(const char *text, int code, const char *want, int line)
{
	pb_arena ar;
	Record *r = (Record *)1;
	char err[512];

	pb_arena_init(&ar, ARENA_BUDGET);
	int rc = pbjson_record_from_text(text, strlen(text), &ar, &r, err, sizeof(err));
	CHECK_(rc == code, "line %d: rc %d, want %d (%s)", line, rc, code, rc ? err : "ok");
	CHECK_(r == NULL, "line %d: *out not NULL on failure", line);
	CHECK_(strncmp(err, want, strlen(want)) == 0, "line %d:\n  got  \"%s\"\n  want \"%s...\"",
	    line, err, want);
	pb_arena_free(&ar);
}

/* Decode text (which must succeed) into ar. */
static Record *
must_decode(const char *text, pb_arena *ar)
{
	Record *r = NULL;
	char err[512];
	int rc = pbjson_record_from_text(text, strlen(text), ar, &r, err, sizeof(err));
	CHECK_(rc == 0 && r != NULL, "decode %s: %s", text, err);
	return rc == 0 ? r : NULL;
}

/* ------------------------------------------------------------------------ */

static void
test_examples(void)
{
	size_t n = 0;
	const char *const *kinds = example_kinds(&n);
	int64_t now = now_ms();

	CHECK_EQ(n, 9);
	for (size_t i = 0; i < n; i++) {
		const char *k = kinds[i];
		const char *text = example_record_json(k);
		CHECK_(text != NULL, "no example for %s", k);
		if (text == NULL)
			continue;
		CHECK_(strchr(text, '\n') == NULL, "%s: example is not one line", k);
		CHECK_(strstr(text, "\"signer\"") == NULL, "%s: example has a signer", k);
		CHECK_(strstr(text, "\"created_ms\"") == NULL, "%s: example has created_ms", k);
		CHECK_(strstr(text, "\"record_id\"") != NULL, "%s: example has no record_id", k);
		CHECK_(strstr(text, "LC-SCJG-2025-0001") != NULL || strcmp(k, "node_key") == 0 ||
		    strcmp(k, "inspection_plan") == 0 || strcmp(k, "frequency_cap") == 0 ||
		    strcmp(k, "risk_grade") == 0, "%s: not about the shared inspection", k);

		pb_arena ar;
		pb_arena_init(&ar, ARENA_BUDGET);
		Record *r = must_decode(text, &ar);
		if (r == NULL) {
			pb_arena_free(&ar);
			continue;
		}
		CHECK_(record_kind(r) == record_kind_from_name(k), "%s: kind %d", k, (int)record_kind(r));
		CHECK_STR(record_kind_name(record_kind(r)), k);
		CHECK(r->record_id != NULL && *r->record_id != '\0');
		CHECK_STR(r->signer, "");
		CHECK_EQ(r->created_ms, 0);

		r->signer = "platform-node-1";
		r->created_ms = now;
		size_t len;
		uint8_t *bytes = pack(&r->base, &len);
		CHECK_(len <= EVC_MAX_RECORD, "%s: %zu bytes", k, len);
		pb_arena ar2;
		pb_arena_init(&ar2, ARENA_BUDGET);
		Record *d = record_decode(&ar2, bytes, len);
		CHECK_(d != NULL, "%s: record_decode", k);
		if (d != NULL) {
			char why[256];
			int rc = record_validate(d, now, why, sizeof(why));
			CHECK_(rc == 0, "%s: record_validate: %s", k, why);
			/* The JSON of the decoded bytes equals the JSON of the record. */
			json_t *j1 = pbjson_encode(&r->base), *j2 = pbjson_encode(&d->base);
			CHECK_(j1 != NULL && j2 != NULL && json_equal(j1, j2), "%s: JSON differs", k);
			json_decref(j1);
			json_decref(j2);
			check_roundtrip(&d->base, k);
		}
		free(bytes);
		pb_arena_free(&ar2);
		pb_arena_free(&ar);
	}
	CHECK(example_record_json("no_such_kind") == NULL);
	CHECK(example_record_json("") == NULL);
	CHECK(example_record_json(NULL) == NULL);
	CHECK(example_record_json("unspecified") == NULL);
	CHECK(example_kinds(NULL) == kinds);
}

/* What the examples say, read back field by field. */
static void
test_example_values(void)
{
	pb_arena ar;
	pb_arena_init(&ar, ARENA_BUDGET);

	Record *r = must_decode(example_record_json("scan_in"), &ar);
	REQUIRE(r != NULL && r->body_case == EVCHAIN__V1__RECORD__BODY_SCAN_IN);
	const Evchain__V1__ScanIn *s = r->scan_in;
	CHECK_STR(s->inspection_id, "LC-SCJG-2025-0001");
	CHECK_STR(s->agency, "聊城市市场监督管理局");
	CHECK(uscc_valid(s->company_uscc, NULL));
	CHECK_EQ(s->n_officers, 2);
	CHECK_STR(s->officers[1]->certificate_no, "LC-ZF-250102");
	CHECK_EQ(s->method, EVCHAIN__V1__SCAN_IN__METHOD__LICENCE_QR_SCAN);
	CHECK_EQ(s->device_ms, 1747013400000LL); /* 2025-05-12T09:30:00+08:00 */
	CHECK_EQ(s->basis_case, EVCHAIN__V1__SCAN_IN__BASIS_PLAN_ID);
	CHECK_EQ(s->n_sensitivity, 1);
	CHECK_EQ(s->sensitivity[0], EVCHAIN__V1__SCAN_IN__SENSITIVITY__DISPUTE_PRONE);
	REQUIRE(s->location != NULL);
	CHECK(s->location->latitude == 36.4567 && s->location->accuracy_m == 8.5);
	const char *company = s->company_uscc, *plan = s->plan_id;

	Record *p = must_decode(example_record_json("inspection_plan"), &ar);
	REQUIRE(p != NULL && p->inspection_plan != NULL);
	CHECK_STR(p->inspection_plan->plan_id, plan);
	CHECK_EQ(p->inspection_plan->year, 2025);
	CHECK_EQ(p->inspection_plan->n_schedule, 2);
	CHECK_EQ(p->inspection_plan->schedule[1]->month, 9);
	REQUIRE(p->inspection_plan->filing != NULL);
	CHECK(p->inspection_plan->filing->shared_with_discipline);

	Record *e = must_decode(example_record_json("evidence"), &ar);
	REQUIRE(e != NULL && e->evidence != NULL);
	CHECK_EQ(e->evidence->sha256.len, 32);
	CHECK_EQ(e->evidence->sha256.data[0], 0xff);
	CHECK_EQ(e->evidence->sha256.data[31], 0x4e);
	CHECK_STR(e->evidence->company_uscc, company);
	CHECK(e->evidence->capture_end_ms - e->evidence->capture_start_ms == 75LL * 60 * 1000);

	Record *d = must_decode(example_record_json("disposition"), &ar);
	REQUIRE(d != NULL && d->disposition != NULL);
	CHECK_EQ(d->disposition->outcome, EVCHAIN__V1__DISPOSITION__OUTCOME__CORRECT_BY_DEADLINE);
	CHECK_EQ(d->disposition->deadline_ms, 1748250000000LL); /* 2025-05-26T17:00:00+08:00 */
	CHECK_STR(d->disposition->company_uscc, company);

	Record *f = must_decode(example_record_json("company_feedback"), &ar);
	REQUIRE(f != NULL && f->company_feedback != NULL);
	CHECK_EQ(f->company_feedback->feedback_type, EVCHAIN__V1__COMPANY_FEEDBACK__FEEDBACK_TYPE__RATING);
	CHECK_EQ(f->company_feedback->channel, EVCHAIN__V1__COMPANY_FEEDBACK__CHANNEL__AISHANDONG_APP);

	Record *k = must_decode(example_record_json("node_key"), &ar);
	REQUIRE(k != NULL && k->node_key != NULL);
	CHECK_STR(k->node_key->key_name, "platform-node-2");
	CHECK_EQ(k->node_key->public_key.len, 32);
	evc_vkey vk;
	CHECK_EQ(keys_vkey_parse(k->node_key->verifier_key, strlen(k->node_key->verifier_key), &vk), 0);
	CHECK_MEM(vk.pub, k->node_key->public_key.data, 32);

	Record *g = must_decode(example_record_json("risk_grade"), &ar);
	Record *c = must_decode(example_record_json("frequency_cap"), &ar);
	REQUIRE(g != NULL && c != NULL && g->risk_grade != NULL && c->frequency_cap != NULL);
	CHECK_STR(g->risk_grade->risk_grade, c->frequency_cap->risk_grade);
	CHECK_STR(g->risk_grade->company_uscc, company);
	pb_arena_free(&ar);
}

/* The written form of every field type. */
static void
test_encode_forms(void)
{
	Evchain__V1__Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__Evidence ev = EVCHAIN__V1__EVIDENCE__INIT;
	Evchain__V1__Location loc = EVCHAIN__V1__LOCATION__INIT;
	uint8_t sha[32];

	for (int i = 0; i < 32; i++)
		sha[i] = (uint8_t)(i * 9);
	r.record_id = "r\xff" "1"; /* invalid UTF-8: shown with U+FFFD */
	r.created_ms = -5;
	r.body_case = EVCHAIN__V1__RECORD__BODY_EVIDENCE;
	r.evidence = &ev;
	ev.media_kind = 77; /* unknown number */
	ev.sha256.data = sha;
	ev.sha256.len = 32;
	ev.size = 1;
	ev.place = &loc;
	loc.latitude = NAN;
	loc.longitude = -INFINITY;
	loc.accuracy_m = 0.5;

	json_t *j = pbjson_encode(&r.base);
	REQUIRE(j != NULL);
	char *t = json_dumps(j, JSON_COMPACT);
	REQUIRE(t != NULL);
	CHECK_STR(t, "{\"record_id\":\"r\xef\xbf\xbd" "1\",\"created_ms\":-5,\"evidence\":{"
	    "\"media_kind\":77,"
	    "\"sha256\":\"0009121b242d363f48515a636c757e879099a2abb4bdc6cfd8e1eaf3fc050e17\","
	    "\"size\":1,\"place\":{\"latitude\":\"NaN\",\"longitude\":\"-Infinity\","
	    "\"accuracy_m\":0.5}}}");
	free(t);
	json_decref(j);
	CHECK(pbjson_encode(NULL) == NULL);

	/* An empty oneof member is written (it is set); an empty message is {}. */
	Evchain__V1__Request q = EVCHAIN__V1__REQUEST__INIT;
	Evchain__V1__InclusionProofRequest ip = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__INIT;
	q.id = UINT64_MAX;
	q.op_case = EVCHAIN__V1__REQUEST__OP_INCLUSION_PROOF;
	q.inclusion_proof = &ip;
	ip.leaf_case = EVCHAIN__V1__INCLUSION_PROOF_REQUEST__LEAF_INDEX;
	ip.index = 0;
	j = pbjson_encode(&q.base);
	REQUIRE(j != NULL);
	t = json_dumps(j, JSON_COMPACT);
	REQUIRE(t != NULL);
	CHECK_STR(t, "{\"id\":\"18446744073709551615\",\"inclusion_proof\":{\"index\":0}}");
	free(t);
	json_decref(j);
	check_roundtrip(&q.base, "request uint64 max, oneof zero");

	Evchain__V1__StatusRequest sr = EVCHAIN__V1__STATUS_REQUEST__INIT;
	q.op_case = EVCHAIN__V1__REQUEST__OP_STATUS;
	q.status = &sr;
	q.id = 7;
	j = pbjson_encode(&q.base);
	REQUIRE(j != NULL);
	t = json_dumps(j, JSON_COMPACT);
	REQUIRE(t != NULL);
	CHECK_STR(t, "{\"id\":7,\"status\":{}}");
	free(t);
	json_decref(j);
	check_roundtrip(&q.base, "request with empty message");
}

/* Round trips of messages outside the records: repeated bytes / uint64 /
 * messages, bools, nested enums, oneof members of every type. */
static void
test_roundtrip_types(void)
{
	uint8_t h1[32], h2[32], h3[3] = { 0, 1, 0xfe };
	for (int i = 0; i < 32; i++) {
		h1[i] = (uint8_t)i;
		h2[i] = (uint8_t)(255 - i);
	}

	Evchain__V1__Status st = EVCHAIN__V1__STATUS__INIT;
	st.code = EVCHAIN__V1__STATUS__CODE__CONFLICT;
	st.message = "同一记录编号，内容不同";
	st.record_index = 4294967295u;
	Evchain__V1__Receipt rc = EVCHAIN__V1__RECEIPT__INIT;
	ProtobufCBinaryData proof[3] = { { 32, h1 }, { 32, h2 }, { 3, h3 } };
	rc.status = &st;
	rc.index = 12345678901234ULL;
	rc.leaf_hash.data = h1;
	rc.leaf_hash.len = 32;
	rc.log_time_ms = 1747013400000LL;
	rc.tree_size = (uint64_t)INT64_MAX + 10;
	rc.n_inclusion_proof = 3;
	rc.inclusion_proof = proof;
	rc.duplicate = 1;
	check_roundtrip(&rc.base, "receipt");

	Evchain__V1__QueryResponse qr = EVCHAIN__V1__QUERY_RESPONSE__INIT;
	uint64_t idx[4] = { 0, 1, (uint64_t)INT64_MAX, UINT64_MAX };
	Evchain__V1__InclusionProof p1 = EVCHAIN__V1__INCLUSION_PROOF__INIT, p2 = p1;
	Evchain__V1__InclusionProof *ps[2] = { &p1, &p2 };
	p1.index = 3;
	p1.n_hashes = 2;
	p1.hashes = proof;
	qr.n_indices = 4;
	qr.indices = idx;
	qr.n_proofs = 2;
	qr.proofs = ps;
	qr.next_page_token = 99;
	check_roundtrip(&qr.base, "query response");

	/* oneof members: enum at its zero value, bytes, string. */
	Evchain__V1__QueryRequest qq = EVCHAIN__V1__QUERY_REQUEST__INIT;
	qq.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_KIND;
	qq.kind = EVCHAIN__V1__RECORD_KIND__RECORD_KIND_UNSPECIFIED;
	qq.with_proofs = 1;
	qq.limit = 100;
	check_roundtrip(&qq.base, "query by kind 0");
	json_t *j = pbjson_encode(&qq.base);
	CHECK(j != NULL && json_is_string(json_object_get(j, "kind")) &&
	    strcmp(json_string_value(json_object_get(j, "kind")), "RECORD_KIND_UNSPECIFIED") == 0);
	json_decref(j);
	qq.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_EVIDENCE_SHA256;
	qq.evidence_sha256.data = h2;
	qq.evidence_sha256.len = 32;
	check_roundtrip(&qq.base, "query by digest");
	qq.key_case = EVCHAIN__V1__QUERY_REQUEST__KEY_COMPANY_USCC;
	qq.company_uscc = "";
	check_roundtrip(&qq.base, "query by empty company");

	/* A status code the schema does not know survives as a number. */
	st.code = 42;
	check_roundtrip(&st.base, "unknown enum number");

	/* Doubles: extremes and non-finite values. */
	Evchain__V1__Location loc = EVCHAIN__V1__LOCATION__INIT;
	loc.latitude = -0.1;
	loc.longitude = 1e308;
	loc.accuracy_m = 5e-324;
	loc.address = "聊城市";
	check_roundtrip(&loc.base, "location");
	loc.latitude = INFINITY;
	loc.longitude = NAN;
	check_roundtrip(&loc.base, "location non-finite");
}

/* Forms accepted on input besides the canonical ones. */
static void
test_decode_forms(void)
{
	pb_arena ar;
	pb_arena_init(&ar, ARENA_BUDGET);

	/* lowerCamelCase, decimal strings, RFC 3339 in Z with a fraction, nulls. */
	Record *r = must_decode("{\"recordId\":\"r1\",\"createdMs\":\"2025-05-12T01:30:00.250Z\","
	    "\"signer\":null,\"scanIn\":{\"companyUscc\":\"" FX_USCC "\",\"deviceMs\":\"1747013400000\","
	    "\"planId\":\"P\",\"clue\":null,\"sensitivity\":[1,\"LIFE_AND_HEALTH\"],"
	    "\"location\":{\"latitude\":36,\"longitude\":115.5,\"accuracyM\":\"NaN\"},"
	    "\"method\":2}}", &ar);
	REQUIRE(r != NULL && r->scan_in != NULL);
	CHECK_STR(r->record_id, "r1");
	CHECK_EQ(r->created_ms, 1747013400250LL);
	CHECK_STR(r->signer, "");
	CHECK_STR(r->scan_in->company_uscc, FX_USCC);
	CHECK_EQ(r->scan_in->device_ms, 1747013400000LL);
	CHECK_EQ(r->scan_in->basis_case, EVCHAIN__V1__SCAN_IN__BASIS_PLAN_ID);
	CHECK_STR(r->scan_in->plan_id, "P");
	CHECK_EQ(r->scan_in->n_sensitivity, 2);
	CHECK_EQ(r->scan_in->sensitivity[0], 1);
	CHECK_EQ(r->scan_in->sensitivity[1], 2);
	CHECK(r->scan_in->location->latitude == 36.0);
	CHECK(isnan(r->scan_in->location->accuracy_m));
	CHECK_EQ(r->scan_in->method, EVCHAIN__V1__SCAN_IN__METHOD__LOCATION_CHECKIN);

	/* RFC 3339 variants: lowercase t/z, negative offset, fraction digits, leap day. */
	struct {
		const char *t;
		long long ms;
	} times[] = {
		{ "2025-05-12t01:30:00z", 1747013400000LL },
		{ "2025-05-11T20:30:00-05:00", 1747013400000LL },
		{ "2025-05-12T01:30:00.1Z", 1747013400100LL },
		{ "2025-05-12T01:30:00.123456789Z", 1747013400123LL },
		{ "2024-02-29T00:00:00Z", 1709164800000LL },
		{ "1970-01-01T00:00:00Z", 0LL },
		{ "1969-12-31T23:59:59Z", -1000LL },
		{ "2000-01-01T08:00:00+08:00", 946684800000LL },
	};
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		char text[256];
		REQUIRE(snprintf(text, sizeof(text), "{\"created_ms\":\"%s\"}", times[i].t) <
		    (int)sizeof(text));
		Record *t = must_decode(text, &ar);
		CHECK_(t != NULL && t->created_ms == times[i].ms, "%s -> %lld, want %lld", times[i].t,
		    t ? (long long)t->created_ms : 0LL, times[i].ms);
	}

	/* Bytes: hex in either case, base64 padded and not, empty. */
	const char *keyhex = "aef76aa8d664e8da0ba09869922c8e532450a5c8f45e50fae31beb19dff3b375";
	Record *a = must_decode("{\"node_key\":{\"public_key\":"
	    "\"AEF76AA8D664E8DA0BA09869922C8E532450A5C8F45E50FAE31BEB19DFF3B375\"}}", &ar);
	Record *b = must_decode("{\"node_key\":{\"public_key\":"
	    "\"base64:rvdqqNZk6NoLoJhpkiyOUyRQpcj0XlD64xvrGd/zs3U=\"}}", &ar);
	Record *c = must_decode("{\"node_key\":{\"public_key\":"
	    "\"base64:rvdqqNZk6NoLoJhpkiyOUyRQpcj0XlD64xvrGd/zs3U\"}}", &ar);
	REQUIRE(a != NULL && b != NULL && c != NULL);
	uint8_t want[32];
	for (int i = 0; i < 32; i++) {
		unsigned x;
		REQUIRE(sscanf(keyhex + 2 * i, "%2x", &x) == 1);
		want[i] = (uint8_t)x;
	}
	CHECK_EQ(a->node_key->public_key.len, 32);
	CHECK_MEM(a->node_key->public_key.data, want, 32);
	CHECK_EQ(b->node_key->public_key.len, 32);
	CHECK_MEM(b->node_key->public_key.data, want, 32);
	CHECK_EQ(c->node_key->public_key.len, 32);
	CHECK_MEM(c->node_key->public_key.data, want, 32);
	Record *e = must_decode("{\"evidence\":{\"sha256\":\"\",\"sm3\":\"base64:AAE=\"}}", &ar);
	REQUIRE(e != NULL);
	CHECK_EQ(e->evidence->sha256.len, 0);
	CHECK_EQ(e->evidence->sm3.len, 2);
	CHECK(e->evidence->sm3.data[0] == 0 && e->evidence->sm3.data[1] == 1);

	/* Integer limits exactly at the edges. */
	Record *l = must_decode("{\"created_ms\":-9223372036854775808,\"inspection_plan\":"
	    "{\"year\":4294967295},\"evidence\":null}", &ar);
	REQUIRE(l != NULL);
	CHECK(l->created_ms == INT64_MIN);
	CHECK(l->inspection_plan->year == UINT32_MAX);
	Record *u = must_decode("{\"evidence\":{\"size\":\"18446744073709551615\"}}", &ar);
	REQUIRE(u != NULL);
	CHECK(u->evidence->size == UINT64_MAX);
	Record *z = must_decode("{\"evidence\":{\"size\":\"-0\"}}", &ar);
	CHECK(z != NULL && z->evidence->size == 0);

	/* Generic decode of another message type, and surrounding white space. */
	json_t *j = json_pack("{s:s, s:i, s:b}", "message", "ok", "recordIndex", 3, "code", 0);
	REQUIRE(j != NULL);
	ProtobufCMessage *m = NULL;
	char err[256];
	CHECK_EQ(pbjson_decode(&evchain__v1__status__descriptor, j, &ar, &m, err, sizeof(err)),
	    EVC_EINVAL);
	CHECK_STR(err, "code: expected an enum value name or an integer, got false");
	CHECK(m == NULL);
	json_decref(j);
	j = json_pack("{s:s, s:i, s:s}", "message", "ok", "recordIndex", 3, "code", "NOT_FOUND");
	REQUIRE(j != NULL);
	CHECK_EQ(pbjson_decode(&evchain__v1__status__descriptor, j, &ar, &m, err, sizeof(err)), 0);
	REQUIRE(m != NULL);
	Evchain__V1__Status *st = (Evchain__V1__Status *)m;
	CHECK_EQ(st->code, EVCHAIN__V1__STATUS__CODE__NOT_FOUND);
	CHECK_EQ(st->record_index, 3);
	CHECK_STR(st->message, "ok");
	json_decref(j);
	Record *w = must_decode(" \t{\"record_id\":\"x\"}\r\n", &ar);
	CHECK(w != NULL);

	/* Arguments. */
	CHECK_EQ(pbjson_decode(NULL, NULL, &ar, &m, err, sizeof(err)), EVC_EINVAL);
	CHECK_EQ(pbjson_record_from_text(NULL, 0, &ar, &r, err, sizeof(err)), EVC_EINVAL);
	CHECK_EQ(pbjson_record_from_text("{}", 2, &ar, &r, NULL, 0), 0);
	pb_arena_free(&ar);
}

#define R(body) "{\"record_id\":\"r\"," body "}"

static void
test_errors(void)
{
	/* unknown field, at the top and nested */
	EXPECT_ERR(R("\"scan_in\":{\"methd\":\"LICENCE_QR_SCAN\"}"), "scan_in.methd: unknown field");
	EXPECT_ERR("{\"kind\":\"scan_in\",\"body\":{}}", "kind: unknown field");
	EXPECT_ERR("{\"record_Id\":\"x\"}", "record_Id: unknown field");
	/* wrong types, with the path and the array index */
	EXPECT_ERR(R("\"scan_in\":{\"officers\":[{\"name\":\"张伟\",\"certificate_no\":\"A1\"},"
	    "{\"name\":\"李娜\",\"certificate_no\":7}]}"),
	    "scan_in.officers[1].certificate_no: expected a string, got an integer");
	EXPECT_ERR(R("\"inspection_plan\":{\"schedule\":[{\"month\":5},{\"month\":\"x\"}]}"),
	    "inspection_plan.schedule[1].month: expected an integer or a decimal string, got \"x\"");
	EXPECT_ERR(R("\"inspection_plan\":{\"schedule\":{\"month\":5}}"),
	    "inspection_plan.schedule: expected an array, got an object");
	EXPECT_ERR(R("\"scan_in\":{\"officers\":[null]}"),
	    "scan_in.officers[0]: null is not allowed in an array");
	EXPECT_ERR(R("\"scan_in\":\"yes\""), "scan_in: expected an object (ScanIn), got a string");
	EXPECT_ERR(R("\"inspection_plan\":{\"filing\":{\"shared_with_discipline\":\"yes\"}}"),
	    "inspection_plan.filing.shared_with_discipline: expected true or false, got a string");
	EXPECT_ERR(R("\"scan_in\":{\"location\":{\"latitude\":\"north\"}}"),
	    "scan_in.location.latitude: expected a number, got a string");
	EXPECT_ERR(R("\"frequency_cap\":{\"year\":2025.5}"),
	    "frequency_cap.year: expected an integer, got a real number");
	EXPECT_ERR(R("\"created_ms\":true"),
	    "created_ms: expected an integer (Unix ms) or an RFC 3339 time string, got true");
	EXPECT_ERR(R("\"evidence\":{\"sha256\":32}"),
	    "evidence.sha256: expected a hex string (or \"base64:...\"), got an integer");
	EXPECT_ERR("[1]", "Record: expected an object (Record), got an array");
	/* bad hex / base64 */
	EXPECT_ERR(R("\"evidence\":{\"sha256\":\"abc\"}"), "evidence.sha256: odd number of hex digits (3)");
	EXPECT_ERR(R("\"evidence\":{\"sha256\":\"00zz\"}"),
	    "evidence.sha256: 'z' at offset 2 is not a hex digit (bytes are hex, or \"base64:\" and base64)");
	EXPECT_ERR(R("\"evidence\":{\"sha256\":\"base64:AA*A\"}"),
	    "evidence.sha256: '*' at offset 9 is not a base64 character");
	EXPECT_ERR(R("\"evidence\":{\"sha256\":\"base64:AAAAA\"}"),
	    "evidence.sha256: base64 of a wrong length (5 characters)");
	EXPECT_ERR(R("\"evidence\":{\"sha256\":\"base64:AB==\"}"),
	    "evidence.sha256: non-canonical base64 (unused bits set)");
	EXPECT_ERR(R("\"evidence\":{\"sha256\":\"base64:AA=\"}"),
	    "evidence.sha256: base64 with padding must be a multiple of 4 characters");
	/* integers out of range */
	EXPECT_ERR(R("\"inspection_plan\":{\"year\":4294967296}"),
	    "inspection_plan.year: 4294967296 is out of range for uint32 (0..4294967295)");
	EXPECT_ERR(R("\"inspection_plan\":{\"year\":-1}"),
	    "inspection_plan.year: -1 is out of range for uint32 (0..4294967295)");
	EXPECT_ERR(R("\"inspection_plan\":{\"year\":\"-2025\"}"),
	    "inspection_plan.year: -2025 is out of range for uint32 (0..4294967295)");
	EXPECT_ERR(R("\"evidence\":{\"size\":-1}"),
	    "evidence.size: -1 is out of range for uint64 (0..18446744073709551615)");
	EXPECT_ERR(R("\"evidence\":{\"size\":\"18446744073709551616\"}"),
	    "evidence.size: 18446744073709551616 is out of range for uint64 (0..18446744073709551615)");
	EXPECT_ERR(R("\"created_ms\":\"9223372036854775808\""),
	    "created_ms: 9223372036854775808 is out of range for int64 "
	    "(-9223372036854775808..9223372036854775807)");
	EXPECT_ERR(R("\"evidence\":{\"size\":\" 12\"}"),
	    "evidence.size: expected an integer or a decimal string, got \" 12\"");
	EXPECT_ERR(R("\"scan_in\":{\"method\":4294967296}"),
	    "scan_in.method: 4294967296 is out of range for an enum (int32)");
	/* unknown enum names (case-sensitive) */
	EXPECT_ERR(R("\"scan_in\":{\"method\":\"LICENSE_QR_SCAN\"}"),
	    "scan_in.method: unknown value \"LICENSE_QR_SCAN\" of evchain.v1.ScanIn.Method "
	    "(one of METHOD_UNSPECIFIED, LICENCE_QR_SCAN, LOCATION_CHECKIN)");
	EXPECT_ERR(R("\"disposition\":{\"outcome\":\"correct_by_deadline\"}"),
	    "disposition.outcome: unknown value \"correct_by_deadline\" of "
	    "evchain.v1.Disposition.Outcome (one of OUTCOME_UNSPECIFIED, NO_PROBLEM_TOLD_ON_SITE, "
	    "CORRECT_IMMEDIATELY, CORRECT_BY_DEADLINE, TRANSFER, CASE_FILED, "
	    "NO_PENALTY_FIRST_VIOLATION, NO_PENALTY_MINOR, NO_PENALTY_NO_FAULT)");
	/* two members of one oneof */
	EXPECT_ERR(R("\"scan_in\":{\"plan_id\":\"P\",\"clue\":{\"source\":\"12345\"}}"),
	    "scan_in.clue: only one of plan_id, clue, emergency may be set (plan_id is set too)");
	EXPECT_ERR(R("\"scan_in\":{},\"evidence\":{}"),
	    "evidence: only one of node_key, inspection_plan, scan_in, certificate_check, "
	    "evidence, disposition, company_feedback, frequency_cap, risk_grade may be set "
	    "(scan_in is set too)");
	/* the same field twice, as snake_case and lowerCamelCase */
	EXPECT_ERR("{\"record_id\":\"a\",\"recordId\":\"b\"}",
	    "record_id: given twice (as record_id and recordId)");
	/* bad RFC 3339 */
	EXPECT_ERR(R("\"scan_in\":{\"device_ms\":\"2025-02-29T09:30:00+08:00\"}"),
	    "scan_in.device_ms: \"2025-02-29T09:30:00+08:00\" is not an RFC 3339 time: "
	    "day out of range for the month");
	EXPECT_ERR(R("\"scan_in\":{\"device_ms\":\"2025-05-12T09:30:00\"}"),
	    "scan_in.device_ms: \"2025-05-12T09:30:00\" is not an RFC 3339 time: "
	    "missing time zone offset (Z or +HH:MM)");
	EXPECT_ERR(R("\"scan_in\":{\"device_ms\":\"2025-05-12 09:30:00Z\"}"),
	    "scan_in.device_ms: \"2025-05-12 09:30:00Z\" is not an RFC 3339 time: "
	    "expected YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)");
	EXPECT_ERR(R("\"scan_in\":{\"device_ms\":\"2025-13-12T09:30:00Z\"}"),
	    "scan_in.device_ms: \"2025-13-12T09:30:00Z\" is not an RFC 3339 time: "
	    "month out of range (01..12)");
	EXPECT_ERR(R("\"scan_in\":{\"device_ms\":\"2025-05-12T24:00:00Z\"}"),
	    "scan_in.device_ms: \"2025-05-12T24:00:00Z\" is not an RFC 3339 time: "
	    "hour out of range (00..23)");
	EXPECT_ERR(R("\"scan_in\":{\"device_ms\":\"2016-12-31T23:59:60Z\"}"),
	    "scan_in.device_ms: \"2016-12-31T23:59:60Z\" is not an RFC 3339 time: "
	    "second out of range (00..59; leap seconds are not Unix time)");
	EXPECT_ERR(R("\"scan_in\":{\"device_ms\":\"2025-05-12T09:30:00.Z\"}"),
	    "scan_in.device_ms: \"2025-05-12T09:30:00.Z\" is not an RFC 3339 time: "
	    "no digits after the decimal point");
	EXPECT_ERR(R("\"scan_in\":{\"device_ms\":\"2025-05-12T09:30:00+24:00\"}"),
	    "scan_in.device_ms: \"2025-05-12T09:30:00+24:00\" is not an RFC 3339 time: "
	    "time zone offset out of range");
	/* an RFC 3339 time where no time is expected */
	EXPECT_ERR(R("\"evidence\":{\"size\":\"2025-05-12T09:30:00Z\"}"),
	    "evidence.size: expected an integer or a decimal string, got \"2025-05-12T09:30:00Z\"");
	/* malformed JSON, duplicate keys, trailing data */
	expect_err_prefix("{\"record_id\": }", EVC_EINVAL, "invalid JSON at line 1, column 15: ", __LINE__);
	expect_err_prefix("{\"record_id\":\"a\",\"record_id\":\"b\"}", EVC_EINVAL,
	    "invalid JSON at line 1, column ", __LINE__);
	{
		pb_arena ar;
		Record *r;
		char err[256];
		const char *dup = "{\"record_id\":\"a\",\"record_id\":\"b\"}";
		pb_arena_init(&ar, ARENA_BUDGET);
		CHECK_EQ(pbjson_record_from_text(dup, strlen(dup), &ar, &r, err, sizeof(err)), EVC_EINVAL);
		CHECK_(strstr(err, "duplicate object key") != NULL, "%s", err);
		pb_arena_free(&ar);
	}
	expect_err_prefix("{\"record_id\":\"a\"} {}", EVC_EINVAL, "invalid JSON at line 1, column ", __LINE__);
	expect_err_prefix("", EVC_EINVAL, "invalid JSON at line 1, column ", __LINE__);
	expect_err_prefix("{\"record_id\":\"a\\u0000b\"}", EVC_EINVAL, "invalid JSON at line 1", __LINE__);
}

static void
test_limits(void)
{
	pb_arena ar;
	ProtobufCMessage *m = NULL;
	char err[256];

	/* 10000 elements pass, 10001 do not. */
	pb_arena_init(&ar, 8u << 20);
	json_t *arr = json_array();
	REQUIRE(arr != NULL);
	for (unsigned i = 0; i < PBJSON_MAX_ARRAY; i++)
		REQUIRE(json_array_append_new(arr, json_integer(i)) == 0);
	json_t *q = json_pack("{s:O}", "indices", arr);
	REQUIRE(q != NULL);
	CHECK_EQ(pbjson_decode(&evchain__v1__query_response__descriptor, q, &ar, &m, err,
	    sizeof(err)), 0);
	CHECK(m != NULL && ((Evchain__V1__QueryResponse *)m)->n_indices == PBJSON_MAX_ARRAY);
	REQUIRE(json_array_append_new(arr, json_integer(1)) == 0);
	CHECK_EQ(pbjson_decode(&evchain__v1__query_response__descriptor, q, &ar, &m, err,
	    sizeof(err)), EVC_ETOOLARGE);
	CHECK_STR(err, "indices: too many elements (10001, at most 10000)");
	json_decref(q);
	json_decref(arr);

	/* Strings up to 1 MiB. */
	char *big = malloc(PBJSON_MAX_STRING + 2);
	REQUIRE(big != NULL);
	memset(big, 'a', PBJSON_MAX_STRING + 1);
	json_t *s = json_pack("{s:s%}", "message", big, (size_t)PBJSON_MAX_STRING);
	REQUIRE(s != NULL);
	CHECK_EQ(pbjson_decode(&evchain__v1__status__descriptor, s, &ar, &m, err, sizeof(err)), 0);
	CHECK(m != NULL && strlen(((Evchain__V1__Status *)m)->message) == PBJSON_MAX_STRING);
	json_decref(s);
	s = json_pack("{s:s%}", "message", big, (size_t)PBJSON_MAX_STRING + 1);
	REQUIRE(s != NULL);
	CHECK_EQ(pbjson_decode(&evchain__v1__status__descriptor, s, &ar, &m, err, sizeof(err)),
	    EVC_ETOOLARGE);
	CHECK_STR(err, "message: string too long (1048577 bytes, at most 1048576)");
	json_decref(s);
	free(big);

	/* A NUL inside a string built in memory (the parser refuses \u0000 itself). */
	s = json_object();
	REQUIRE(s != NULL && json_object_set_new(s, "message", json_stringn("a\0b", 3)) == 0);
	CHECK_EQ(pbjson_decode(&evchain__v1__status__descriptor, s, &ar, &m, err, sizeof(err)),
	    EVC_EINVAL);
	CHECK_STR(err, "message: contains a NUL character (\\u0000)");
	json_decref(s);
	pb_arena_free(&ar);

	/* The arena's budget bounds the whole message. */
	pb_arena_init(&ar, 256);
	s = json_pack("{s:s}", "message", "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789");
	REQUIRE(s != NULL);
	CHECK_EQ(pbjson_decode(&evchain__v1__status__descriptor, s, &ar, &m, err, sizeof(err)),
	    EVC_ETOOLARGE);
	CHECK_STR(err, "message: does not fit the arena's budget (256 bytes)");
	CHECK(m == NULL);
	json_decref(s);
	pb_arena_free(&ar);

	/* A JSON text over the limit is refused before parsing. */
	pb_arena_init(&ar, 1024);
	Record *r;
	CHECK_EQ(pbjson_record_from_text("{}", (size_t)PBJSON_MAX_TEXT + 1, &ar, &r, err, sizeof(err)),
	    EVC_ETOOLARGE);
	CHECK_STR(err, "Record: JSON text too long (4194305 bytes, at most 4194304)");

	/* A short error buffer is cut and marked. */
	char small[20];
	const char *bad = R("\"scan_in\":{\"methd\":1}");
	CHECK_EQ(pbjson_record_from_text(bad, strlen(bad), &ar, &r, small, sizeof(small)), EVC_EINVAL);
	CHECK_STR(small, "scan_in.methd: u...");
	CHECK_EQ(pbjson_record_from_text(bad, strlen(bad), &ar, &r, small, 1), EVC_EINVAL);
	CHECK_STR(small, "");
	pb_arena_free(&ar);
}

/* A self-referencing message type the schema does not have, to reach the
 * depth limit and the scalar types the records do not use (int32, float,
 * repeated bool, proto2-style optional with has_). */
typedef struct TNode {
	ProtobufCMessage base;
	struct TNode *child;
	int32_t i32;
	float f;
	size_t n_flags;
	protobuf_c_boolean *flags;
	protobuf_c_boolean has_opt;
	int64_t opt;
} TNode;

static const ProtobufCMessageDescriptor tnode_desc;
static const ProtobufCFieldDescriptor tnode_fields[5] = {
	{ "child", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_MESSAGE, 0, offsetof(TNode, child),
	    &tnode_desc, NULL, 0, 0, NULL, NULL },
	{ "i32", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_INT32, 0, offsetof(TNode, i32),
	    NULL, NULL, 0, 0, NULL, NULL },
	{ "f", 3, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_FLOAT, 0, offsetof(TNode, f),
	    NULL, NULL, 0, 0, NULL, NULL },
	{ "flags", 4, PROTOBUF_C_LABEL_REPEATED, PROTOBUF_C_TYPE_BOOL, offsetof(TNode, n_flags),
	    offsetof(TNode, flags), NULL, NULL, 0, 0, NULL, NULL },
	{ "opt", 5, PROTOBUF_C_LABEL_OPTIONAL, PROTOBUF_C_TYPE_SINT64, offsetof(TNode, has_opt),
	    offsetof(TNode, opt), NULL, NULL, 0, 0, NULL, NULL },
};
static const unsigned tnode_by_name[5] = { 0, 2, 3, 1, 4 };
static const ProtobufCIntRange tnode_ranges[2] = { { 1, 0 }, { 0, 5 } };

static void
tnode_init(ProtobufCMessage *m)
{
	memset(m, 0, sizeof(TNode));
	m->descriptor = &tnode_desc;
}

static const ProtobufCMessageDescriptor tnode_desc = {
	PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "test.TNode", "TNode", "TNode", "test",
	sizeof(TNode), 5, tnode_fields, tnode_by_name, 1, tnode_ranges, tnode_init,
	NULL, NULL, NULL,
};

static void
test_generic_descriptor(void)
{
	pb_arena ar;
	ProtobufCMessage *m;
	char err[256];

	pb_arena_init(&ar, ARENA_BUDGET);
	/* Depth: 32 nested below the top pass, 33 do not. */
	for (int depth = 32; depth <= 33; depth++) {
		char text[1024];
		size_t o = 0;
		for (int i = 0; i < depth; i++)
			o += (size_t)snprintf(text + o, sizeof(text) - o, "{\"child\":");
		o += (size_t)snprintf(text + o, sizeof(text) - o, "{\"i32\":-7}");
		for (int i = 0; i < depth; i++)
			text[o++] = '}';
		text[o] = '\0';
		json_error_t je;
		json_t *j = json_loads(text, 0, &je);
		REQUIRE(j != NULL);
		int rc = pbjson_decode(&tnode_desc, j, &ar, &m, err, sizeof(err));
		if (depth == 32) {
			CHECK_EQ(rc, 0);
			const TNode *t = (const TNode *)m;
			for (int i = 0; t != NULL && i < depth; i++)
				t = t->child;
			CHECK(t != NULL && t->i32 == -7 && t->child == NULL);
			json_t *e = pbjson_encode(m);
			CHECK(e != NULL && json_equal(e, j));
			json_decref(e);
			check_roundtrip(m, "depth 32");
			/* one more level below is too deep to write */
			TNode top;
			tnode_init(&top.base);
			top.child = (TNode *)m;
			CHECK(pbjson_encode(&top.base) == NULL);
		} else {
			CHECK_EQ(rc, EVC_ETOOLARGE);
			char want[512];
			o = 0;
			for (int i = 0; i < depth; i++)
				o += (size_t)snprintf(want + o, sizeof(want) - o, "%s", i ? ".child" : "child");
			snprintf(want + o, sizeof(want) - o, ": messages nested deeper than 32");
			CHECK_STR(err, want);
		}
		json_decref(j);
	}

	/* int32 range, float, repeated bool, optional with has_. */
	json_t *j = json_loads("{\"i32\":\"-2147483648\",\"f\":1.5,\"flags\":[true,false,true],"
	    "\"opt\":0}", 0, NULL);
	REQUIRE(j != NULL);
	CHECK_EQ(pbjson_decode(&tnode_desc, j, &ar, &m, err, sizeof(err)), 0);
	const TNode *t = (const TNode *)m;
	REQUIRE(t != NULL);
	CHECK_EQ(t->i32, INT32_MIN);
	CHECK(t->f == 1.5f);
	CHECK(t->n_flags == 3 && t->flags[0] && !t->flags[1] && t->flags[2]);
	CHECK(t->has_opt && t->opt == 0);
	json_t *e = pbjson_encode(m);
	CHECK(e != NULL && json_integer_value(json_object_get(e, "opt")) == 0 &&
	    json_object_get(e, "opt") != NULL);
	json_decref(e);
	check_roundtrip(m, "generic types");
	json_decref(j);
	j = json_loads("{\"i32\":2147483648}", 0, NULL);
	REQUIRE(j != NULL);
	CHECK_EQ(pbjson_decode(&tnode_desc, j, &ar, &m, err, sizeof(err)), EVC_EINVAL);
	CHECK_STR(err, "i32: 2147483648 is out of range for int32 (-2147483648..2147483647)");
	json_decref(j);
	j = json_loads("{\"f\":1e39}", 0, NULL);
	REQUIRE(j != NULL);
	CHECK_EQ(pbjson_decode(&tnode_desc, j, &ar, &m, err, sizeof(err)), EVC_EINVAL);
	CHECK_STR(err, "f: 1e+39 is out of range for float");
	json_decref(j);
	j = json_loads("{\"flags\":[true,1]}", 0, NULL);
	REQUIRE(j != NULL);
	CHECK_EQ(pbjson_decode(&tnode_desc, j, &ar, &m, err, sizeof(err)), EVC_EINVAL);
	CHECK_STR(err, "flags[1]: expected true or false, got an integer");
	json_decref(j);
	pb_arena_free(&ar);
}

int
main(void)
{
	test_examples();
	test_example_values();
	test_encode_forms();
	test_roundtrip_types();
	test_decode_forms();
	test_errors();
	test_limits();
	test_generic_descriptor();
	CHECK_DONE("test_pbjson");
}
