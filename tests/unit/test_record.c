/*
 * test_record.c — record decode, validate (every rule, each refusal naming
 * its field), GB 32100 codes, sign / verify, attributes.
 *
 * Every case is checked twice: on the protobuf-c structs as built, and after
 * packing and record_decode() (the path the server takes), which must agree.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../check.h"
#include "evc.h"
#include "keys.h"
#include "pb.h"
#include "record.h"

#define NOW 1750000000000LL  /* 2025-06-15 */
#define T0 (NOW - 3600000LL) /* an hour earlier */
#define USCC "91350100M000100Y43"
#define USCC2 "91440300708461136T"

/* ------------------------------------------------------------------------ */
/* Fixtures: one valid record of every kind                                 */
/* ------------------------------------------------------------------------ */

typedef struct fx {
	Record rec;
	Evchain__V1__NodeKey nk;
	uint8_t pub[32];
	char vkey[KEYS_VKEY_MAX];
	Evchain__V1__InspectionPlan plan;
	Evchain__V1__InspectionPlan__MonthItem months[70];
	Evchain__V1__InspectionPlan__MonthItem *month_ptrs[70];
	Evchain__V1__InspectionPlan__Approval appr;
	Evchain__V1__InspectionPlan__Filing fil;
	char *partners[70];
	Evchain__V1__ScanIn scan;
	Evchain__V1__Officer officers[40];
	Evchain__V1__Officer *officer_ptrs[40];
	char certs[40][16];
	Evchain__V1__Location loc;
	Evchain__V1__ScanIn__Clue clue;
	Evchain__V1__ScanIn__Emergency emerg;
	char *joint[70];
	Evchain__V1__ScanIn__Sensitivity sens[70];
	Evchain__V1__CertificateCheck cc;
	Evchain__V1__Evidence ev;
	uint8_t sha[32], sm3[32];
	Evchain__V1__Location place;
	Evchain__V1__Officer recorder;
	Evchain__V1__Disposition disp;
	Evchain__V1__CompanyFeedback fb;
	Evchain__V1__FrequencyCap cap;
	Evchain__V1__RiskGrade rg;
} fx;

static fx F;
static uint8_t node_pub[32];

static void
fx_init(fx *f, Evchain__V1__RecordKind kind)
{
	memset(f, 0, sizeof(*f));
	f->rec = (Record)EVCHAIN__V1__RECORD__INIT;
	f->rec.record_id = "R-2025-000001";
	f->rec.signer = "node.liaocheng.example";
	f->rec.created_ms = T0;

	switch (kind) {
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY:
		f->nk = (Evchain__V1__NodeKey)EVCHAIN__V1__NODE_KEY__INIT;
		f->nk.action = EVCHAIN__V1__NODE_KEY__ACTION__REGISTER;
		f->nk.role = EVCHAIN__V1__NODE_KEY__ROLE__NODE;
		f->nk.key_name = "node-scjgj.liaocheng";
		memcpy(f->pub, node_pub, 32);
		f->nk.public_key.data = f->pub;
		f->nk.public_key.len = 32;
		f->nk.agency = "聊城市市场监督管理局";
		f->nk.valid_from_ms = T0;
		f->nk.reason = "平台节点接入";
		f->rec.body_case = EVCHAIN__V1__RECORD__BODY_NODE_KEY;
		f->rec.node_key = &f->nk;
		break;
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_INSPECTION_PLAN:
		f->plan = (Evchain__V1__InspectionPlan)EVCHAIN__V1__INSPECTION_PLAN__INIT;
		f->plan.plan_id = "PLAN-2025-SCJG-01";
		f->plan.agency = "聊城市市场监督管理局";
		f->plan.year = 2025;
		f->plan.plan_type = EVCHAIN__V1__INSPECTION_PLAN__PLAN_TYPE__ANNUAL;
		f->plan.legal_basis = "《中华人民共和国食品安全法》第八十七条";
		f->plan.objectives = "目标任务";
		f->plan.scope = "全市食品生产企业";
		for (int i = 0; i < 70; i++) {
			f->months[i] = (Evchain__V1__InspectionPlan__MonthItem)
			    EVCHAIN__V1__INSPECTION_PLAN__MONTH_ITEM__INIT;
			f->months[i].month = (uint32_t)(i % 12 + 1);
			f->months[i].content = "检查";
			f->month_ptrs[i] = &f->months[i];
			f->partners[i] = "聊城市应急管理局";
		}
		f->plan.n_schedule = 2;
		f->plan.schedule = f->month_ptrs;
		f->plan.start_ms = 1735660800000LL; /* 2025-01-01 */
		f->plan.end_ms = 1767196799000LL;   /* 2025-12-31, ahead of NOW */
		f->appr = (Evchain__V1__InspectionPlan__Approval)EVCHAIN__V1__INSPECTION_PLAN__APPROVAL__INIT;
		f->appr.legal_review = 1;
		f->appr.collective_discussion = 1;
		f->appr.approved_by = "聊城市人民政府";
		f->appr.approval_document = "聊政字〔２０２５〕１号";
		f->appr.approved_ms = T0 - 86400000LL;
		f->fil = (Evchain__V1__InspectionPlan__Filing)EVCHAIN__V1__INSPECTION_PLAN__FILING__INIT;
		f->fil.filed_with = "聊城市司法局";
		f->fil.filing_no = "BA-2025-001";
		f->fil.filed_ms = T0;
		f->fil.shared_with_discipline = 1;
		f->rec.body_case = EVCHAIN__V1__RECORD__BODY_INSPECTION_PLAN;
		f->rec.inspection_plan = &f->plan;
		break;
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_SCAN_IN:
		f->scan = (Evchain__V1__ScanIn)EVCHAIN__V1__SCAN_IN__INIT;
		f->scan.inspection_id = "INSP-2025-0001";
		f->scan.agency = "聊城市市场监督管理局";
		f->scan.company_uscc = USCC;
		f->scan.company_name = "聊城某某食品有限公司";
		for (int i = 0; i < 40; i++) {
			f->officers[i] = (Evchain__V1__Officer)EVCHAIN__V1__OFFICER__INIT;
			f->officers[i].name = i % 2 ? "李四" : "张三";
			snprintf(f->certs[i], sizeof(f->certs[i]), "371500%04d", i);
			f->officers[i].certificate_no = f->certs[i];
			f->officer_ptrs[i] = &f->officers[i];
		}
		f->scan.n_officers = 2;
		f->scan.officers = f->officer_ptrs;
		f->scan.method = EVCHAIN__V1__SCAN_IN__METHOD__LICENCE_QR_SCAN;
		f->loc = (Evchain__V1__Location)EVCHAIN__V1__LOCATION__INIT;
		f->loc.latitude = 36.4567;
		f->loc.longitude = 115.9854;
		f->loc.accuracy_m = 12.5;
		f->scan.device_ms = T0;
		f->scan.basis_case = EVCHAIN__V1__SCAN_IN__BASIS_PLAN_ID;
		f->scan.plan_id = "PLAN-2025-SCJG-01";
		f->clue = (Evchain__V1__ScanIn__Clue)EVCHAIN__V1__SCAN_IN__CLUE__INIT;
		f->clue.source = "12345热线工单";
		f->clue.reference = "GD-2025-8812";
		f->emerg = (Evchain__V1__ScanIn__Emergency)EVCHAIN__V1__SCAN_IN__EMERGENCY__INIT;
		f->emerg.reason = EVCHAIN__V1__SCAN_IN__EMERGENCY_REASON__COMPLAINT;
		f->scan.kind = EVCHAIN__V1__SCAN_IN__INSPECTION_KIND__ROUTINE;
		for (int i = 0; i < 70; i++) {
			f->joint[i] = "聊城市应急管理局";
			f->sens[i] = EVCHAIN__V1__SCAN_IN__SENSITIVITY__LIFE_AND_HEALTH;
		}
		f->scan.entry_type = EVCHAIN__V1__SCAN_IN__ENTRY_TYPE__ADMINISTRATIVE_INSPECTION;
		f->rec.body_case = EVCHAIN__V1__RECORD__BODY_SCAN_IN;
		f->rec.scan_in = &f->scan;
		break;
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_CERTIFICATE_CHECK:
		f->cc = (Evchain__V1__CertificateCheck)EVCHAIN__V1__CERTIFICATE_CHECK__INIT;
		f->cc.inspection_id = "INSP-2025-0001";
		f->cc.certificate_no = "3715000000";
		f->cc.officer_name = "张三";
		f->cc.verifier = EVCHAIN__V1__CERTIFICATE_CHECK__VERIFIER__COMPANY_APP;
		f->cc.result = EVCHAIN__V1__CERTIFICATE_CHECK__RESULT__VALID;
		f->cc.verified_ms = T0;
		f->cc.company_uscc = USCC;
		f->rec.body_case = EVCHAIN__V1__RECORD__BODY_CERTIFICATE_CHECK;
		f->rec.certificate_check = &f->cc;
		break;
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_EVIDENCE:
		f->ev = (Evchain__V1__Evidence)EVCHAIN__V1__EVIDENCE__INIT;
		f->ev.inspection_id = "INSP-2025-0001";
		f->ev.evidence_id = "EV-1";
		f->ev.media_kind = EVCHAIN__V1__EVIDENCE__MEDIA_KIND__VIDEO;
		for (int i = 0; i < 32; i++) {
			f->sha[i] = (uint8_t)(0xa0 + i);
			f->sm3[i] = (uint8_t)(0x10 + i);
		}
		f->ev.sha256.data = f->sha;
		f->ev.sha256.len = 32;
		f->ev.size = 10485760;
		f->ev.capture_start_ms = T0;
		f->ev.capture_end_ms = T0 + 600000;
		f->place = (Evchain__V1__Location)EVCHAIN__V1__LOCATION__INIT;
		f->place.address = "聊城市东昌府区某路1号";
		f->ev.place = &f->place;
		f->recorder = (Evchain__V1__Officer)EVCHAIN__V1__OFFICER__INIT;
		f->recorder.name = "张三";
		f->recorder.certificate_no = "3715000000";
		f->ev.recorder = &f->recorder;
		f->ev.proves = "现场仓库存放过期原料";
		f->ev.media_type = "video/mp4";
		f->ev.company_uscc = USCC;
		f->rec.body_case = EVCHAIN__V1__RECORD__BODY_EVIDENCE;
		f->rec.evidence = &f->ev;
		break;
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_DISPOSITION:
		f->disp = (Evchain__V1__Disposition)EVCHAIN__V1__DISPOSITION__INIT;
		f->disp.inspection_id = "INSP-2025-0001";
		f->disp.outcome = EVCHAIN__V1__DISPOSITION__OUTCOME__CORRECT_BY_DEADLINE;
		f->disp.decided_by = "张三";
		f->disp.decided_ms = T0;
		f->disp.deadline_ms = NOW + 30LL * 86400000; /* a month ahead: allowed */
		f->disp.legal_basis = "《食品安全法》第一百二十四条";
		f->disp.findings = "仓库存放过期原料。\n已责令限期改正。";
		f->disp.company_uscc = USCC;
		f->disp.ended_ms = T0;
		f->rec.body_case = EVCHAIN__V1__RECORD__BODY_DISPOSITION;
		f->rec.disposition = &f->disp;
		break;
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_COMPANY_FEEDBACK:
		f->fb = (Evchain__V1__CompanyFeedback)EVCHAIN__V1__COMPANY_FEEDBACK__INIT;
		f->fb.company_uscc = USCC;
		f->fb.inspection_id = "INSP-2025-0001";
		f->fb.feedback_type = EVCHAIN__V1__COMPANY_FEEDBACK__FEEDBACK_TYPE__RATING;
		f->fb.rating = 5;
		f->fb.channel = EVCHAIN__V1__COMPANY_FEEDBACK__CHANNEL__AISHANDONG_APP;
		f->fb.submitted_ms = T0;
		f->rec.body_case = EVCHAIN__V1__RECORD__BODY_COMPANY_FEEDBACK;
		f->rec.company_feedback = &f->fb;
		break;
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_FREQUENCY_CAP:
		f->cap = (Evchain__V1__FrequencyCap)EVCHAIN__V1__FREQUENCY_CAP__INIT;
		f->cap.agency = "聊城市市场监督管理局";
		f->cap.risk_grade = "A";
		f->cap.max_per_year = 1;
		f->cap.year = 2025;
		f->rec.body_case = EVCHAIN__V1__RECORD__BODY_FREQUENCY_CAP;
		f->rec.frequency_cap = &f->cap;
		break;
	case EVCHAIN__V1__RECORD_KIND__RECORD_KIND_RISK_GRADE:
		f->rg = (Evchain__V1__RiskGrade)EVCHAIN__V1__RISK_GRADE__INIT;
		f->rg.company_uscc = USCC;
		f->rg.agency = "聊城市市场监督管理局";
		f->rg.risk_grade = "A";
		f->rg.year = 2025;
		f->rec.body_case = EVCHAIN__V1__RECORD__BODY_RISK_GRADE;
		f->rec.risk_grade = &f->rg;
		break;
	default:
		break;
	}
}

#define K_NODE_KEY EVCHAIN__V1__RECORD_KIND__RECORD_KIND_NODE_KEY
#define K_PLAN EVCHAIN__V1__RECORD_KIND__RECORD_KIND_INSPECTION_PLAN
#define K_SCAN EVCHAIN__V1__RECORD_KIND__RECORD_KIND_SCAN_IN
#define K_CERT EVCHAIN__V1__RECORD_KIND__RECORD_KIND_CERTIFICATE_CHECK
#define K_EVID EVCHAIN__V1__RECORD_KIND__RECORD_KIND_EVIDENCE
#define K_DISP EVCHAIN__V1__RECORD_KIND__RECORD_KIND_DISPOSITION
#define K_FEED EVCHAIN__V1__RECORD_KIND__RECORD_KIND_COMPANY_FEEDBACK
#define K_CAP EVCHAIN__V1__RECORD_KIND__RECORD_KIND_FREQUENCY_CAP
#define K_GRADE EVCHAIN__V1__RECORD_KIND__RECORD_KIND_RISK_GRADE

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static unsigned wire_refused; /* cases protobuf-c itself refused to decode */

/*
 * Validate f->rec directly and after pack + record_decode. want_ok: must
 * pass; otherwise must fail with EVC_EINVAL and a reason containing needle
 * (and, when needle2 != NULL, needle2 too).
 */
static void
expect_(fx *f, int want_ok, const char *needle, const char *needle2, int line)
{
	char why[512], why2[512];
	int rc = record_validate(&f->rec, NOW, why, sizeof(why));

	if (want_ok) {
		CHECK_(rc == 0, "line %d: expected valid, got %d: %s", line, rc, why);
	} else {
		if (getenv("TEST_VERBOSE") != NULL)
			printf("line %d: %s\n", line, why);
		CHECK_(rc == EVC_EINVAL, "line %d: expected EVC_EINVAL, got %d", line, rc);
		CHECK_(strstr(why, needle) != NULL, "line %d: reason \"%s\" does not name \"%s\"",
		    line, why, needle);
		if (needle2 != NULL)
			CHECK_(strstr(why, needle2) != NULL, "line %d: reason \"%s\" lacks \"%s\"",
			    line, why, needle2);
	}

	size_t len = 0;
	uint8_t *buf = pb_pack(&f->rec.base, &len);
	REQUIRE(buf != NULL);
	pb_arena a;
	pb_arena_init(&a, 1u << 20);
	Record *d = record_decode(&a, buf, len);
	if (d == NULL) {
		/* Only an invalid record may be refused at decoding. */
		CHECK_(!want_ok, "line %d: a valid record does not decode", line);
		wire_refused++;
	} else {
		int rc2 = record_validate(d, NOW, why2, sizeof(why2));
		CHECK_(rc2 == rc, "line %d: decoded record validates to %d, struct to %d", line, rc2, rc);
		if (rc != 0 && rc2 != 0)
			CHECK_(strcmp(why, why2) == 0, "line %d: \"%s\" vs decoded \"%s\"", line, why, why2);
	}
	pb_arena_free(&a);
	free(buf);
}

#define OK_(f) expect_((f), 1, NULL, NULL, __LINE__)
#define BAD(f, needle) expect_((f), 0, (needle), NULL, __LINE__)
#define BAD2(f, needle, n2) expect_((f), 0, (needle), (n2), __LINE__)

/* Independent implementation of the GB 32100 check character. */
static char
uscc_make_check(const char *first17)
{
	static const char sym[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
	static const int w[17] = { 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28 };
	int sum = 0;

	for (int i = 0; i < 17; i++)
		sum += (int)(strchr(sym, first17[i]) - sym) * w[i];
	return sym[(31 - sum % 31) % 31];
}

static char big[RECORD_MAX_TEXT + 2];

/* A string of n copies of c in big. */
static char *
repeat(char c, size_t n)
{
	REQUIRE(n < sizeof(big));
	memset(big, c, n);
	big[n] = '\0';
	return big;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

static void
test_valid_each_kind(void)
{
	for (int k = 1; k <= 9; k++) {
		fx_init(&F, (Evchain__V1__RecordKind)k);
		CHECK_EQ(record_kind(&F.rec), k);
		OK_(&F);
	}
}

static void
test_common(void)
{
	fx_init(&F, K_CERT);
	F.rec.record_id = "";
	BAD(&F, "record_id: is required");
	F.rec.record_id = repeat('r', RECORD_MAX_ID + 1);
	BAD2(&F, "record_id", "too long");
	F.rec.record_id = repeat('r', RECORD_MAX_ID);
	OK_(&F);
	F.rec.record_id = "R 1";
	BAD2(&F, "record_id", "white space");
	F.rec.record_id = "R\x01" "1";
	BAD2(&F, "record_id", "control character");
	F.rec.record_id = "R\xe3\x80\x80" "1"; /* U+3000 ideographic space */
	BAD2(&F, "record_id", "U+3000");
	F.rec.record_id = "聊市监〔２０２５〕１号"; /* non-ASCII ids are fine */
	OK_(&F);

	fx_init(&F, K_CERT);
	F.rec.signer = "";
	BAD(&F, "signer: is required");
	F.rec.signer = "node+1";
	BAD2(&F, "signer", "key name");
	F.rec.signer = "node 1";
	BAD(&F, "signer");

	fx_init(&F, K_CERT);
	F.rec.created_ms = 0;
	BAD(&F, "created_ms: is required");
	F.rec.created_ms = RECORD_MIN_TIME_MS - 1;
	BAD2(&F, "created_ms", "before 2000");
	F.rec.created_ms = -5;
	BAD2(&F, "created_ms", "before 2000");
	F.rec.created_ms = RECORD_MIN_TIME_MS;
	OK_(&F);
	F.rec.created_ms = NOW + RECORD_MAX_SKEW_MS;
	OK_(&F);
	F.rec.created_ms = NOW + RECORD_MAX_SKEW_MS + 1;
	BAD2(&F, "created_ms", "future");

	fx_init(&F, K_CERT);
	F.rec.body_case = EVCHAIN__V1__RECORD__BODY__NOT_SET;
	F.rec.certificate_check = NULL;
	BAD(&F, "body: is required");

	/* UTF-8, lengths, control and spoofing characters in every class. */
	fx_init(&F, K_SCAN);
	F.scan.company_name = "\xc3\x28";
	BAD2(&F, "scan_in.company_name", "UTF-8");
	F.scan.company_name = "\xc0\xaf"; /* overlong '/' */
	BAD2(&F, "scan_in.company_name", "UTF-8");
	F.scan.company_name = "\xed\xa0\x80"; /* a surrogate */
	BAD2(&F, "scan_in.company_name", "UTF-8");
	F.scan.company_name = "\xf4\x90\x80\x80"; /* above U+10FFFF */
	BAD2(&F, "scan_in.company_name", "UTF-8");
	F.scan.company_name = "\xe4\xb8"; /* cut short */
	BAD2(&F, "scan_in.company_name", "UTF-8");
	F.scan.company_name = "a\xe2\x80\xae" "b"; /* RIGHT-TO-LEFT OVERRIDE */
	BAD2(&F, "scan_in.company_name", "U+202E");
	F.scan.company_name = "a\nb";
	BAD2(&F, "scan_in.company_name", "control");
	F.scan.company_name = "a\xc2\x85" "b"; /* C1 NEL */
	BAD2(&F, "scan_in.company_name", "control");
	F.scan.company_name = "有限公司 😀 ok";
	OK_(&F);
	F.scan.company_name = repeat('n', RECORD_MAX_NAME + 1);
	BAD2(&F, "scan_in.company_name", "too long");
	F.scan.company_name = repeat('n', RECORD_MAX_NAME);
	OK_(&F);

	fx_init(&F, K_DISP);
	F.disp.findings = repeat('t', RECORD_MAX_TEXT + 1);
	BAD2(&F, "disposition.findings", "too long");
	F.disp.findings = repeat('t', RECORD_MAX_TEXT);
	OK_(&F);
	F.disp.findings = "line 1\r\nline 2\tend";
	OK_(&F);
	F.disp.findings = "bell\a";
	BAD2(&F, "disposition.findings", "control");
}

static void
test_node_key(void)
{
	fx_init(&F, K_NODE_KEY);
	F.nk.action = EVCHAIN__V1__NODE_KEY__ACTION__ACTION_UNSPECIFIED;
	BAD(&F, "node_key.action: is required");
	F.nk.action = (Evchain__V1__NodeKey__Action)7;
	BAD2(&F, "node_key.action", "unknown value 7");
	F.nk.action = (Evchain__V1__NodeKey__Action)-1;
	BAD2(&F, "node_key.action", "unknown value -1");

	fx_init(&F, K_NODE_KEY);
	F.nk.role = EVCHAIN__V1__NODE_KEY__ROLE__ROLE_UNSPECIFIED;
	BAD(&F, "node_key.role");
	F.nk.role = (Evchain__V1__NodeKey__Role)3;
	BAD2(&F, "node_key.role", "unknown");
	F.nk.role = EVCHAIN__V1__NODE_KEY__ROLE__ADMIN;
	OK_(&F);

	fx_init(&F, K_NODE_KEY);
	F.nk.key_name = "";
	BAD(&F, "node_key.key_name: is required");
	F.nk.key_name = "a+b";
	BAD2(&F, "node_key.key_name", "key name");
	F.nk.key_name = repeat('k', EVC_MAX_KEY_NAME + 1);
	BAD2(&F, "node_key.key_name", "too long");

	fx_init(&F, K_NODE_KEY);
	F.nk.public_key.len = 0;
	F.nk.public_key.data = NULL;
	BAD2(&F, "node_key.public_key", "required");
	F.nk.action = EVCHAIN__V1__NODE_KEY__ACTION__REVOKE; /* revoke names the key */
	OK_(&F);
	fx_init(&F, K_NODE_KEY);
	F.nk.public_key.len = 31;
	BAD2(&F, "node_key.public_key", "32 bytes");
	fx_init(&F, K_NODE_KEY);
	memset(F.pub, 0, 32); /* small-order point */
	F.pub[0] = 1;
	BAD2(&F, "node_key.public_key", "Ed25519");

	fx_init(&F, K_NODE_KEY);
	F.nk.valid_until_ms = F.nk.valid_from_ms;
	BAD2(&F, "node_key.valid_until_ms", "after valid_from_ms");
	F.nk.valid_until_ms = NOW + 365LL * 86400000; /* a year ahead: exempt */
	OK_(&F);
	F.nk.valid_from_ms = NOW + 86400000; /* valid from tomorrow: fine */
	OK_(&F);
	F.nk.valid_from_ms = 1000;
	BAD2(&F, "node_key.valid_from_ms", "before 2000");

	/* verifier_key, when present, must describe the same key. */
	fx_init(&F, K_NODE_KEY);
	evc_vkey vk;
	memset(&vk, 0, sizeof(vk));
	snprintf(vk.name, sizeof(vk.name), "%s", F.nk.key_name);
	vk.type = EVC_KEY_ED25519;
	memcpy(vk.pub, F.pub, 32);
	vk.id = keys_key_id(vk.name, vk.type, vk.pub);
	REQUIRE(keys_vkey_format(&vk, F.vkey, sizeof(F.vkey)) > 0);
	F.nk.verifier_key = F.vkey;
	OK_(&F);
	F.nk.key_name = "other-node";
	BAD2(&F, "node_key.verifier_key", "key_name");
	F.nk.key_name = vk.name;
	uint8_t seed2[32], sk2[64];
	memset(seed2, 0x43, sizeof(seed2));
	REQUIRE(crypto_sign_seed_keypair(F.pub, sk2, seed2) == 0); /* another key */
	BAD2(&F, "node_key.verifier_key", "does not match public_key");
	F.nk.verifier_key = "garbage";
	BAD2(&F, "node_key.verifier_key", "not a valid");
}

static void
test_plan(void)
{
	fx_init(&F, K_PLAN);
	F.plan.plan_id = "";
	BAD(&F, "inspection_plan.plan_id: is required");
	fx_init(&F, K_PLAN);
	F.plan.agency = "";
	BAD(&F, "inspection_plan.agency: is required");
	fx_init(&F, K_PLAN);
	F.plan.year = 0;
	BAD(&F, "inspection_plan.year: is required");
	F.plan.year = 1999;
	BAD2(&F, "inspection_plan.year", "2000..2100");
	F.plan.year = 2101;
	BAD(&F, "inspection_plan.year");
	F.plan.year = 2100;
	OK_(&F);
	fx_init(&F, K_PLAN);
	F.plan.plan_type = EVCHAIN__V1__INSPECTION_PLAN__PLAN_TYPE__PLAN_TYPE_UNSPECIFIED;
	BAD(&F, "inspection_plan.plan_type: is required");
	F.plan.plan_type = (Evchain__V1__InspectionPlan__PlanType)3;
	BAD2(&F, "inspection_plan.plan_type", "unknown value 3");
	/* Seed 四: no legal basis, no filing. */
	fx_init(&F, K_PLAN);
	F.plan.legal_basis = "";
	BAD(&F, "inspection_plan.legal_basis: is required");

	/* Special plans: approval (legal review, collective discussion, by whom,
	 * when) and filing. */
	fx_init(&F, K_PLAN);
	F.plan.plan_type = EVCHAIN__V1__INSPECTION_PLAN__PLAN_TYPE__SPECIAL;
	BAD(&F, "inspection_plan.approval: is required");
	F.plan.approval = &F.appr;
	BAD(&F, "inspection_plan.filing: is required");
	F.plan.filing = &F.fil;
	OK_(&F);
	F.appr.approved_by = "";
	BAD(&F, "inspection_plan.approval.approved_by");
	F.appr.approved_by = "聊城市人民政府";
	F.appr.approved_ms = 0;
	BAD(&F, "inspection_plan.approval.approved_ms");
	F.appr.approved_ms = NOW + 86400000;
	BAD2(&F, "inspection_plan.approval.approved_ms", "future");
	F.appr.approved_ms = T0;
	F.appr.legal_review = 0;
	BAD(&F, "inspection_plan.approval.legal_review");
	F.appr.legal_review = 1;
	F.appr.collective_discussion = 0;
	BAD(&F, "inspection_plan.approval.collective_discussion");
	F.appr.collective_discussion = 1;
	F.fil.filed_with = "";
	BAD(&F, "inspection_plan.filing.filed_with");
	F.fil.filed_with = "聊城市司法局";
	F.fil.filed_ms = 0;
	BAD(&F, "inspection_plan.filing.filed_ms");
	F.fil.filed_ms = T0;
	F.fil.filing_no = "BA 1";
	BAD(&F, "inspection_plan.filing.filing_no");

	fx_init(&F, K_PLAN);
	F.months[1].month = 13;
	BAD2(&F, "inspection_plan.schedule[1].month", "1..12");
	F.months[1].month = 0;
	BAD(&F, "inspection_plan.schedule[1].month");
	fx_init(&F, K_PLAN);
	F.plan.n_schedule = RECORD_MAX_REPEATED;
	OK_(&F);
	F.plan.n_schedule = RECORD_MAX_REPEATED + 1;
	BAD2(&F, "inspection_plan.schedule", "too many");

	fx_init(&F, K_PLAN);
	F.plan.n_partner_agencies = 2;
	F.plan.partner_agencies = F.partners;
	BAD(&F, "inspection_plan.lead_agency");
	F.plan.lead_agency = "聊城市市场监督管理局";
	OK_(&F);
	F.plan.n_partner_agencies = RECORD_MAX_REPEATED + 1;
	BAD2(&F, "inspection_plan.partner_agencies", "too many");
	F.plan.n_partner_agencies = 2;
	F.partners[1] = "";
	BAD(&F, "inspection_plan.partner_agencies[1]");

	fx_init(&F, K_PLAN);
	F.plan.end_ms = F.plan.start_ms - 1;
	BAD2(&F, "inspection_plan.end_ms", "before start_ms");
	F.plan.start_ms = NOW + 86400000; /* a plan may start and end ahead */
	F.plan.end_ms = NOW + 100LL * 86400000;
	OK_(&F);
}

static void
test_scan_in(void)
{
	fx_init(&F, K_SCAN);
	F.scan.inspection_id = "";
	BAD(&F, "scan_in.inspection_id: is required");
	fx_init(&F, K_SCAN);
	F.scan.agency = "";
	BAD(&F, "scan_in.agency: is required");
	fx_init(&F, K_SCAN);
	F.scan.company_uscc = "";
	BAD(&F, "scan_in.company_uscc: is required");
	F.scan.company_uscc = "91350100M000100Y44";
	BAD2(&F, "scan_in.company_uscc", "check digit is '4', expected '3'");
	F.scan.company_uscc = "91350100M000100Y4";
	BAD2(&F, "scan_in.company_uscc", "18 characters");

	/* Seed 九: at least two officers, distinct certificates. */
	fx_init(&F, K_SCAN);
	F.scan.n_officers = 1;
	BAD2(&F, "scan_in.officers", "at least 2");
	F.scan.officer_exception = "《行政处罚法》第四十二条 另有规定";
	OK_(&F); /* exception stated: one officer is enough */
	F.scan.n_officers = 0;
	BAD2(&F, "scan_in.officers", "at least one");
	fx_init(&F, K_SCAN);
	F.scan.n_officers = 0;
	BAD(&F, "scan_in.officers");
	fx_init(&F, K_SCAN);
	F.officers[1].certificate_no = F.officers[0].certificate_no;
	BAD2(&F, "scan_in.officers", "distinct");
	F.scan.n_officers = 3; /* a third, distinct certificate: two distinct now */
	OK_(&F);
	fx_init(&F, K_SCAN);
	F.officers[0].certificate_no = "AB1234";
	F.officers[1].certificate_no = "ab１２３４"; /* same number: case, full width */
	BAD2(&F, "scan_in.officers", "distinct");
	fx_init(&F, K_SCAN);
	F.officers[1].name = "";
	BAD(&F, "scan_in.officers[1].name: is required");
	fx_init(&F, K_SCAN);
	F.officers[0].certificate_no = "";
	BAD(&F, "scan_in.officers[0].certificate_no: is required");
	fx_init(&F, K_SCAN);
	F.scan.n_officers = RECORD_MAX_OFFICERS;
	OK_(&F);
	F.scan.n_officers = RECORD_MAX_OFFICERS + 1;
	BAD2(&F, "scan_in.officers", "too many");

	/* Seed 八: scan, or location check-in with coordinates. */
	fx_init(&F, K_SCAN);
	F.scan.method = EVCHAIN__V1__SCAN_IN__METHOD__METHOD_UNSPECIFIED;
	BAD(&F, "scan_in.method: is required");
	F.scan.method = (Evchain__V1__ScanIn__Method)5;
	BAD2(&F, "scan_in.method", "unknown value 5");
	F.scan.method = EVCHAIN__V1__SCAN_IN__METHOD__LOCATION_CHECKIN;
	BAD2(&F, "scan_in.location", "required");
	F.scan.location = &F.loc;
	OK_(&F);
	F.loc.latitude = 90.5;
	BAD2(&F, "scan_in.location.latitude", "[-90, 90]");
	F.loc.latitude = 36.0;
	F.loc.longitude = -180.5;
	BAD2(&F, "scan_in.location.longitude", "[-180, 180]");
	F.loc.longitude = 0;
	F.loc.latitude = 0;
	BAD2(&F, "scan_in.location.latitude", "both 0");
	F.loc.latitude = NAN;
	F.loc.longitude = 115.0;
	BAD2(&F, "scan_in.location.latitude", "finite");
	F.loc.latitude = 36.0;
	F.loc.accuracy_m = -1;
	BAD(&F, "scan_in.location.accuracy_m");
	F.loc.accuracy_m = 3;
	F.loc.latitude = -90;
	F.loc.longitude = 180;
	OK_(&F);
	F.scan.method = EVCHAIN__V1__SCAN_IN__METHOD__LICENCE_QR_SCAN;
	F.loc.latitude = 0;
	F.loc.longitude = 0; /* a scan with only an address: fine */
	F.loc.address = "东昌府区";
	OK_(&F);

	fx_init(&F, K_SCAN);
	F.scan.device_ms = 0;
	BAD(&F, "scan_in.device_ms: is required");
	F.scan.device_ms = NOW + 3600000;
	BAD2(&F, "scan_in.device_ms", "future");

	/* Basis: a plan, a traceable clue, an emergency. */
	fx_init(&F, K_SCAN);
	F.scan.basis_case = EVCHAIN__V1__SCAN_IN__BASIS__NOT_SET;
	F.scan.plan_id = NULL;
	BAD(&F, "scan_in.basis: is required");
	F.scan.basis_case = EVCHAIN__V1__SCAN_IN__BASIS_PLAN_ID;
	F.scan.plan_id = "";
	BAD(&F, "scan_in.plan_id");
	F.scan.basis_case = EVCHAIN__V1__SCAN_IN__BASIS_CLUE;
	F.scan.clue = &F.clue;
	OK_(&F);
	F.clue.source = "";
	BAD(&F, "scan_in.clue.source: is required");
	F.scan.basis_case = EVCHAIN__V1__SCAN_IN__BASIS_EMERGENCY;
	F.scan.emergency = &F.emerg;
	OK_(&F);
	F.emerg.reason = EVCHAIN__V1__SCAN_IN__EMERGENCY_REASON__EMERGENCY_REASON_UNSPECIFIED;
	BAD(&F, "scan_in.emergency.reason: is required");
	F.emerg.reason = (Evchain__V1__ScanIn__EmergencyReason)9;
	BAD2(&F, "scan_in.emergency.reason", "unknown value 9");
	for (int r = 1; r <= 4; r++) {
		F.emerg.reason = (Evchain__V1__ScanIn__EmergencyReason)r;
		OK_(&F);
	}

	fx_init(&F, K_SCAN);
	F.scan.kind = EVCHAIN__V1__SCAN_IN__INSPECTION_KIND__INSPECTION_KIND_UNSPECIFIED;
	BAD(&F, "scan_in.kind: is required");
	F.scan.kind = (Evchain__V1__ScanIn__InspectionKind)5;
	BAD2(&F, "scan_in.kind", "unknown value 5");
	F.scan.kind = EVCHAIN__V1__SCAN_IN__INSPECTION_KIND__JOINT;
	BAD(&F, "scan_in.joint_agencies");
	F.scan.n_joint_agencies = 1;
	F.scan.joint_agencies = F.joint;
	OK_(&F);
	F.scan.n_joint_agencies = RECORD_MAX_REPEATED + 1;
	BAD2(&F, "scan_in.joint_agencies", "too many");
	F.scan.n_joint_agencies = 2;
	F.joint[1] = "";
	BAD(&F, "scan_in.joint_agencies[1]");

	fx_init(&F, K_SCAN);
	F.scan.n_sensitivity = 2;
	F.scan.sensitivity = F.sens;
	OK_(&F);
	F.sens[1] = (Evchain__V1__ScanIn__Sensitivity)9;
	BAD2(&F, "scan_in.sensitivity[1]", "unknown value 9");
	F.sens[1] = EVCHAIN__V1__SCAN_IN__SENSITIVITY__SENSITIVITY_UNSPECIFIED;
	BAD(&F, "scan_in.sensitivity[1]");
	F.sens[1] = EVCHAIN__V1__SCAN_IN__SENSITIVITY__DISPUTE_PRONE;
	F.scan.n_sensitivity = RECORD_MAX_REPEATED + 1;
	BAD2(&F, "scan_in.sensitivity", "too many");

	fx_init(&F, K_SCAN);
	F.scan.entry_type = EVCHAIN__V1__SCAN_IN__ENTRY_TYPE__ENTRY_TYPE_UNSPECIFIED;
	BAD(&F, "scan_in.entry_type: is required");
	F.scan.entry_type = (Evchain__V1__ScanIn__EntryType)8;
	BAD2(&F, "scan_in.entry_type", "unknown value 8");
	F.scan.entry_type = EVCHAIN__V1__SCAN_IN__ENTRY_TYPE__OTHER_ENTRY;
	OK_(&F);
}

static void
test_certificate_check(void)
{
	fx_init(&F, K_CERT);
	F.cc.certificate_no = "";
	BAD(&F, "certificate_check.certificate_no: is required");
	fx_init(&F, K_CERT);
	F.cc.verifier = EVCHAIN__V1__CERTIFICATE_CHECK__VERIFIER__VERIFIER_UNSPECIFIED;
	BAD(&F, "certificate_check.verifier: is required");
	F.cc.verifier = (Evchain__V1__CertificateCheck__Verifier)4;
	BAD2(&F, "certificate_check.verifier", "unknown value 4");
	fx_init(&F, K_CERT);
	F.cc.result = EVCHAIN__V1__CERTIFICATE_CHECK__RESULT__RESULT_UNSPECIFIED;
	BAD(&F, "certificate_check.result: is required");
	F.cc.result = (Evchain__V1__CertificateCheck__Result)5;
	BAD2(&F, "certificate_check.result", "unknown value 5");
	F.cc.result = EVCHAIN__V1__CERTIFICATE_CHECK__RESULT__EXPIRED;
	OK_(&F);
	fx_init(&F, K_CERT);
	F.cc.company_uscc = "";
	OK_(&F); /* optional here */
	F.cc.company_uscc = "91350100M000100Y4I";
	BAD2(&F, "certificate_check.company_uscc", "'I'");
	fx_init(&F, K_CERT);
	F.cc.verified_ms = NOW + RECORD_MAX_SKEW_MS + 1;
	BAD2(&F, "certificate_check.verified_ms", "future");
}

static void
test_evidence(void)
{
	fx_init(&F, K_EVID);
	F.ev.inspection_id = "";
	BAD(&F, "evidence.inspection_id: is required");
	fx_init(&F, K_EVID);
	F.ev.sha256.len = 31;
	BAD2(&F, "evidence.sha256", "32 bytes");
	F.ev.sha256.len = 0;
	F.ev.sha256.data = NULL;
	BAD2(&F, "evidence.sha256", "got 0");
	fx_init(&F, K_EVID);
	F.ev.sm3.data = F.sm3;
	F.ev.sm3.len = 32;
	OK_(&F);
	F.ev.sm3.len = 16;
	BAD2(&F, "evidence.sm3", "32 bytes");
	fx_init(&F, K_EVID);
	F.ev.size = 0;
	BAD(&F, "evidence.size");
	fx_init(&F, K_EVID);
	F.ev.capture_end_ms = F.ev.capture_start_ms - 1;
	BAD2(&F, "evidence.capture_end_ms", "before capture_start_ms");
	F.ev.capture_end_ms = F.ev.capture_start_ms;
	OK_(&F);
	F.ev.capture_end_ms = 0; /* a photo: one instant */
	OK_(&F);
	F.ev.capture_start_ms = 0;
	BAD(&F, "evidence.capture_start_ms: is required");
	fx_init(&F, K_EVID);
	F.ev.media_kind = EVCHAIN__V1__EVIDENCE__MEDIA_KIND__MEDIA_KIND_UNSPECIFIED;
	BAD(&F, "evidence.media_kind: is required");
	F.ev.media_kind = (Evchain__V1__Evidence__MediaKind)6;
	BAD2(&F, "evidence.media_kind", "unknown value 6");
	fx_init(&F, K_EVID);
	F.ev.recorder = NULL;
	BAD(&F, "evidence.recorder: is required");
	F.ev.recorder = &F.recorder;
	F.recorder.name = "";
	BAD(&F, "evidence.recorder.name: is required");
	F.recorder.name = "张三";
	F.recorder.certificate_no = "";
	OK_(&F); /* the recorder's certificate is optional */
	fx_init(&F, K_EVID);
	F.ev.proves = "";
	BAD(&F, "evidence.proves: is required");
	fx_init(&F, K_EVID);
	F.ev.place = NULL;
	BAD(&F, "evidence.place: is required");
	F.ev.place = &F.place;
	F.place.address = "";
	BAD2(&F, "evidence.place", "coordinates or an address");
	F.place.latitude = 36.45;
	F.place.longitude = 115.98;
	OK_(&F);
	F.place.longitude = 200;
	BAD(&F, "evidence.place.longitude");
	fx_init(&F, K_EVID);
	F.ev.company_uscc = "91350100M000100Y4";
	BAD(&F, "evidence.company_uscc");
}

static void
test_disposition(void)
{
	fx_init(&F, K_DISP);
	F.disp.outcome = EVCHAIN__V1__DISPOSITION__OUTCOME__OUTCOME_UNSPECIFIED;
	BAD(&F, "disposition.outcome: is required");
	F.disp.outcome = (Evchain__V1__Disposition__Outcome)9;
	BAD2(&F, "disposition.outcome", "unknown value 9");
	fx_init(&F, K_DISP);
	F.disp.deadline_ms = 0;
	BAD2(&F, "disposition.deadline_ms", "required");
	F.disp.deadline_ms = F.disp.decided_ms;
	BAD2(&F, "disposition.deadline_ms", "after decided_ms");
	F.disp.deadline_ms = NOW + 3650LL * 86400000; /* years ahead: exempt */
	OK_(&F);
	fx_init(&F, K_DISP);
	F.disp.outcome = EVCHAIN__V1__DISPOSITION__OUTCOME__TRANSFER;
	BAD(&F, "disposition.receiving_agency");
	F.disp.receiving_agency = "聊城市公安局";
	OK_(&F);
	fx_init(&F, K_DISP);
	F.disp.outcome = EVCHAIN__V1__DISPOSITION__OUTCOME__CASE_FILED;
	BAD(&F, "disposition.case_no");
	F.disp.case_no = "聊市监立〔２０２５〕１２号";
	OK_(&F);
	fx_init(&F, K_DISP);
	F.disp.decided_by = "";
	BAD(&F, "disposition.decided_by: is required");
	fx_init(&F, K_DISP);
	F.disp.decided_ms = 0;
	BAD(&F, "disposition.decided_ms: is required");
	fx_init(&F, K_DISP);
	F.disp.inspection_id = "";
	BAD(&F, "disposition.inspection_id: is required");
	/* Every outcome of seed 十 with what it needs. */
	fx_init(&F, K_DISP);
	F.disp.receiving_agency = "聊城市公安局";
	F.disp.case_no = "C-1";
	for (int o = 1; o <= 8; o++) {
		F.disp.outcome = (Evchain__V1__Disposition__Outcome)o;
		OK_(&F);
	}
}

static void
test_feedback(void)
{
	fx_init(&F, K_FEED);
	F.fb.company_uscc = "";
	BAD(&F, "company_feedback.company_uscc: is required");
	fx_init(&F, K_FEED);
	F.fb.feedback_type = EVCHAIN__V1__COMPANY_FEEDBACK__FEEDBACK_TYPE__FEEDBACK_TYPE_UNSPECIFIED;
	BAD(&F, "company_feedback.feedback_type: is required");
	F.fb.feedback_type = (Evchain__V1__CompanyFeedback__FeedbackType)3;
	BAD2(&F, "company_feedback.feedback_type", "unknown value 3");
	fx_init(&F, K_FEED);
	F.fb.rating = 0;
	BAD2(&F, "company_feedback.rating", "1..5");
	F.fb.rating = 6;
	BAD2(&F, "company_feedback.rating", "1..5");
	F.fb.rating = 1;
	OK_(&F);
	fx_init(&F, K_FEED);
	F.fb.feedback_type = EVCHAIN__V1__COMPANY_FEEDBACK__FEEDBACK_TYPE__COMPLAINT;
	F.fb.rating = 0;
	BAD(&F, "company_feedback.complaint_type: is required");
	F.fb.complaint_type = (Evchain__V1__CompanyFeedback__ComplaintType)8;
	BAD2(&F, "company_feedback.complaint_type", "unknown value 8");
	F.fb.complaint_type = EVCHAIN__V1__COMPANY_FEEDBACK__COMPLAINT_TYPE__ENTERED_WITHOUT_SCAN;
	F.fb.inspection_id = ""; /* a complaint may name no inspection */
	F.fb.text = "检查人员未扫码入企";
	OK_(&F);
	fx_init(&F, K_FEED);
	F.fb.channel = EVCHAIN__V1__COMPANY_FEEDBACK__CHANNEL__CHANNEL_UNSPECIFIED;
	BAD(&F, "company_feedback.channel: is required");
	F.fb.channel = (Evchain__V1__CompanyFeedback__Channel)6;
	BAD2(&F, "company_feedback.channel", "unknown value 6");
	F.fb.channel = EVCHAIN__V1__COMPANY_FEEDBACK__CHANNEL__HOTLINE_12345;
	OK_(&F);
}

static void
test_policy(void)
{
	fx_init(&F, K_CAP);
	F.cap.agency = "";
	BAD(&F, "frequency_cap.agency: is required");
	fx_init(&F, K_CAP);
	F.cap.risk_grade = "";
	BAD(&F, "frequency_cap.risk_grade: is required");
	fx_init(&F, K_CAP);
	F.cap.max_per_year = 0;
	BAD(&F, "frequency_cap.max_per_year");
	fx_init(&F, K_CAP);
	F.cap.year = 0;
	BAD(&F, "frequency_cap.year: is required");
	F.cap.year = 2101;
	BAD2(&F, "frequency_cap.year", "2000..2100");

	fx_init(&F, K_GRADE);
	F.rg.company_uscc = "";
	BAD(&F, "risk_grade.company_uscc: is required");
	F.rg.company_uscc = "91350100M000100Y4O";
	BAD2(&F, "risk_grade.company_uscc", "'O'");
	fx_init(&F, K_GRADE);
	F.rg.agency = "";
	BAD(&F, "risk_grade.agency: is required");
	fx_init(&F, K_GRADE);
	F.rg.risk_grade = "";
	BAD(&F, "risk_grade.risk_grade: is required");
	fx_init(&F, K_GRADE);
	F.rg.year = 0;
	OK_(&F); /* optional */
	F.rg.year = 1999;
	BAD(&F, "risk_grade.year");
}

static void
test_uscc(void)
{
	char exp = 'z';

	CHECK(uscc_valid("91350100M000100Y43", &exp));
	CHECK_EQ(exp, 0);
	/* Real codes, and codes made with an independent implementation. */
	CHECK(uscc_valid("91440300708461136T", NULL));
	CHECK(uscc_valid("91330100716105852F", NULL));
	CHECK(uscc_valid("91110000802100433B", NULL));
	CHECK(uscc_valid("12100000400000843P", NULL));
	const char *bases[] = { "91371500MA3C12345", "52371502MJE000001", "11371500004303988",
		"93371521MA94XY7Q0", "Y1371500000000000", "00000000000000000" };
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		char code[19];
		memcpy(code, bases[i], 17);
		code[17] = uscc_make_check(bases[i]);
		code[18] = '\0';
		CHECK_(uscc_valid(code, NULL), "%s should be valid", code);
		/* Every other check character is refused and the right one named. */
		for (const char *c = "0123456789ABCDEFGHJKLMNPQRTUWXY"; *c; c++) {
			if (*c == code[17])
				continue;
			char bad[19];
			memcpy(bad, code, 19);
			bad[17] = *c;
			exp = 0;
			CHECK_(!uscc_valid(bad, &exp) && exp == code[17], "%s: expected '%c'", bad,
			    code[17]);
		}
	}
	/* A flipped check character. */
	exp = 0;
	CHECK(!uscc_valid("91350100M000100Y4X", &exp));
	CHECK_EQ(exp, '3');
	/* Wrong length. */
	exp = 'z';
	CHECK(!uscc_valid("91350100M000100Y4", &exp));
	CHECK_EQ(exp, 0);
	CHECK(!uscc_valid("91350100M000100Y433", &exp));
	CHECK(!uscc_valid("", &exp));
	CHECK(!uscc_valid(NULL, &exp));
	/* Letters outside the alphabet, lower case, non-ASCII. */
	const char forbidden[] = "IOSVZ";
	for (const char *c = forbidden; *c; c++) {
		char bad[19] = "91350100M000100Y43";
		bad[8] = *c;
		exp = 'z';
		CHECK_(!uscc_valid(bad, &exp) && exp == 0, "%s must be refused", bad);
		fx_init(&F, K_SCAN);
		F.scan.company_uscc = bad;
		char needle[8];
		snprintf(needle, sizeof(needle), "'%c'", *c);
		BAD2(&F, "scan_in.company_uscc", needle);
	}
	CHECK(!uscc_valid("91350100m000100Y43", NULL));
	CHECK(!uscc_valid("9135010０M000100Y4", NULL));
	fx_init(&F, K_SCAN);
	F.scan.company_uscc = "91350100M000100Y4X";
	BAD2(&F, "scan_in.company_uscc", "check digit is 'X', expected '3'");
	F.scan.company_uscc = "91350100M000100Y43";
	OK_(&F);
	F.scan.company_uscc = USCC2;
	OK_(&F);
}

static void
test_decode(void)
{
	pb_arena a;
	size_t len;

	fx_init(&F, K_SCAN);
	F.scan.n_sensitivity = 2;
	F.scan.sensitivity = F.sens;
	F.scan.location = &F.loc;
	uint8_t *buf = pb_pack(&F.rec.base, &len);
	REQUIRE(buf != NULL);
	pb_arena_init(&a, 1u << 20);
	Record *r = record_decode(&a, buf, len);
	REQUIRE(r != NULL);
	CHECK_STR(r->scan_in->company_uscc, USCC);
	CHECK_EQ(r->scan_in->n_officers, 2);
	CHECK_EQ(r->scan_in->n_sensitivity, 2);
	CHECK_EQ(record_kind(r), K_SCAN);
	pb_arena_free(&a);

	/* Unknown fields (a newer writer) are kept out of the way. */
	uint8_t *ext = malloc(len + 4);
	REQUIRE(ext != NULL);
	memcpy(ext, buf, len);
	ext[len] = 0x98; /* field 99, varint: tag 792 */
	ext[len + 1] = 0x06;
	ext[len + 2] = 0x01;
	pb_arena_init(&a, 1u << 20);
	r = record_decode(&a, ext, len + 3);
	CHECK(r != NULL);
	if (r != NULL)
		CHECK_EQ(record_validate(r, NOW, NULL, 0), 0);
	pb_arena_free(&a);
	free(ext);

	/* A budget too small for the record: refused, nothing leaks. */
	pb_arena_init(&a, 64);
	CHECK(record_decode(&a, buf, len) == NULL);
	CHECK(a.exhausted);
	pb_arena_free(&a);

	/* Truncated and garbage input. */
	pb_arena_init(&a, 1u << 20);
	CHECK(record_decode(&a, buf, len - 1) == NULL);
	pb_arena_reset(&a);
	const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	CHECK(record_decode(&a, junk, sizeof(junk)) == NULL);
	pb_arena_reset(&a);
	const uint8_t group[] = { 0x0b, 0x0c }; /* field 1 start/end group */
	CHECK(record_decode(&a, group, sizeof(group)) == NULL);
	pb_arena_reset(&a);
	/* Empty input decodes (an empty record) and does not validate. */
	r = record_decode(&a, (const uint8_t *)"", 0);
	CHECK(r != NULL);
	if (r != NULL)
		CHECK_EQ(record_validate(r, NOW, NULL, 0), EVC_EINVAL);
	pb_arena_free(&a);
	free(buf);

	/* A string with a NUL byte inside, at top level and nested: the
	 * signed bytes would say more than the decoded string. */
	const uint8_t nul_top[] = { 0x0a, 0x03, 'R', 0x00, '1' };
	pb_arena_init(&a, 1u << 20);
	CHECK(record_decode(&a, nul_top, sizeof(nul_top)) == NULL);
	pb_arena_reset(&a);
	/* record { scan_in (12) { inspection_id (1) "A\0" } } */
	const uint8_t nul_nested[] = { 0x62, 0x04, 0x0a, 0x02, 'A', 0x00 };
	CHECK(record_decode(&a, nul_nested, sizeof(nul_nested)) == NULL);
	pb_arena_reset(&a);
	const uint8_t ok_nested[] = { 0x62, 0x04, 0x0a, 0x02, 'A', 'B' };
	r = record_decode(&a, ok_nested, sizeof(ok_nested));
	CHECK(r != NULL && r->scan_in != NULL && strcmp(r->scan_in->inspection_id, "AB") == 0);
	pb_arena_reset(&a);
	/* A NUL inside bytes fields is fine (sha256). */
	fx_init(&F, K_EVID);
	F.sha[3] = 0;
	buf = pb_pack(&F.rec.base, &len);
	REQUIRE(buf != NULL);
	r = record_decode(&a, buf, len);
	CHECK(r != NULL);
	if (r != NULL)
		CHECK_EQ(record_validate(r, NOW, NULL, 0), 0);
	free(buf);
	pb_arena_free(&a);

	/* Oversized input is refused before decoding. */
	uint8_t *huge = calloc(1, EVC_MAX_RECORD + 1);
	REQUIRE(huge != NULL);
	pb_arena_init(&a, 1u << 20);
	CHECK(record_decode(&a, huge, EVC_MAX_RECORD + 1) == NULL);
	pb_arena_free(&a);
	free(huge);

	/* Unknown enum values survive decoding (proto3) and are refused. */
	fx_init(&F, K_SCAN);
	F.scan.method = (Evchain__V1__ScanIn__Method)42;
	buf = pb_pack(&F.rec.base, &len);
	REQUIRE(buf != NULL);
	pb_arena_init(&a, 1u << 20);
	r = record_decode(&a, buf, len);
	REQUIRE(r != NULL);
	CHECK_EQ(r->scan_in->method, 42);
	char why[256];
	CHECK_EQ(record_validate(r, NOW, why, sizeof(why)), EVC_EINVAL);
	CHECK(strstr(why, "scan_in.method: unknown value 42") != NULL);
	pb_arena_free(&a);
	free(buf);
}

static void
test_why_buffer(void)
{
	char tiny[12];

	fx_init(&F, K_SCAN);
	F.scan.company_uscc = "91350100M000100Y4X";
	CHECK_EQ(record_validate(&F.rec, NOW, tiny, sizeof(tiny)), EVC_EINVAL);
	CHECK_EQ(strlen(tiny), sizeof(tiny) - 1);
	CHECK(strcmp(tiny + sizeof(tiny) - 4, "...") == 0);
	CHECK_EQ(record_validate(&F.rec, NOW, NULL, 0), EVC_EINVAL);
	CHECK_EQ(record_validate(&F.rec, NOW, tiny, 0), EVC_EINVAL);
	CHECK_EQ(record_validate(NULL, NOW, tiny, sizeof(tiny)), EVC_EINVAL);
	fx_init(&F, K_SCAN);
	char why[64] = "stale";
	CHECK_EQ(record_validate(&F.rec, NOW, why, sizeof(why)), 0);
	CHECK_STR(why, "");
}

static void
test_kind_names(void)
{
	static const char *names[] = { "node_key", "inspection_plan", "scan_in",
		"certificate_check", "evidence", "disposition", "company_feedback",
		"frequency_cap", "risk_grade" };
	for (int k = 1; k <= 9; k++) {
		CHECK_STR(record_kind_name((Evchain__V1__RecordKind)k), names[k - 1]);
		CHECK_EQ(record_kind_from_name(names[k - 1]), k);
	}
	CHECK_EQ(record_kind_from_name("nope"), 0);
	CHECK_EQ(record_kind_from_name(NULL), 0);
	CHECK_EQ(record_kind_from_name("unspecified"), 0);
	CHECK(record_kind_name((Evchain__V1__RecordKind)0) != NULL);
	CHECK(record_kind_name((Evchain__V1__RecordKind)10) != NULL);
	CHECK(record_kind_name((Evchain__V1__RecordKind)-3) != NULL);
	CHECK_EQ(record_kind(NULL), 0);
}

static void
test_sign_verify(void)
{
	uint8_t seed[32], pk[32], sig[64], sig2[64];
	evc_skey sk;
	evc_vkey vk, other;
	size_t len;

	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(i * 7 + 1);
	memset(&sk, 0, sizeof(sk));
	memset(&vk, 0, sizeof(vk));
	snprintf(sk.name, sizeof(sk.name), "node.liaocheng.example");
	REQUIRE(crypto_sign_seed_keypair(pk, sk.sk, seed) == 0);
	sk.type = vk.type = EVC_KEY_ED25519;
	memcpy(vk.name, sk.name, sizeof(vk.name));
	memcpy(vk.pub, pk, 32);

	fx_init(&F, K_EVID);
	uint8_t *buf = pb_pack(&F.rec.base, &len);
	REQUIRE(buf != NULL);
	record_sign(&sk, buf, len, sig);
	CHECK_EQ(record_verify(&vk, buf, len, sig), 0);

	/* It is plain Ed25519 over prefix || record. */
	size_t plen = strlen(EVC_RECORD_SIG_PREFIX);
	CHECK_EQ(plen, 18);
	uint8_t *m = malloc(plen + len);
	REQUIRE(m != NULL);
	memcpy(m, EVC_RECORD_SIG_PREFIX, plen);
	memcpy(m + plen, buf, len);
	CHECK_EQ(crypto_sign_verify_detached(sig, m, plen + len, pk), 0);
	crypto_sign_detached(sig2, NULL, m, plen + len, sk.sk);
	CHECK_MEM(sig, sig2, 64);
	/* ... and not over the record alone. */
	CHECK(crypto_sign_verify_detached(sig, buf, len, pk) != 0);
	free(m);

	/* Forgeries: one flipped bit of record or signature. */
	for (size_t bit = 0; bit < len * 8; bit += 37) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CHECK_EQ(record_verify(&vk, buf, len, sig), EVC_EBADSIG);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t bit = 0; bit < 512; bit += 13) {
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CHECK_EQ(record_verify(&vk, buf, len, sig), EVC_EBADSIG);
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	CHECK_EQ(record_verify(&vk, buf, len - 1, sig), EVC_EBADSIG);
	/* Another key; a cosignature-type key. */
	other = vk;
	other.pub[0] ^= 1;
	CHECK_EQ(record_verify(&other, buf, len, sig), EVC_EBADSIG);
	other = vk;
	other.type = EVC_KEY_COSIGNATURE;
	CHECK_EQ(record_verify(&other, buf, len, sig), EVC_EBADSIG);
	free(buf);

	/* A large record (past the stack buffer) round-trips too. */
	fx_init(&F, K_DISP);
	F.disp.findings = repeat('x', RECORD_MAX_TEXT);
	buf = pb_pack(&F.rec.base, &len);
	REQUIRE(buf != NULL && len > 4096);
	record_sign(&sk, buf, len, sig);
	CHECK_EQ(record_verify(&vk, buf, len, sig), 0);
	buf[len - 1] ^= 0x80;
	CHECK_EQ(record_verify(&vk, buf, len, sig), EVC_EBADSIG);
	free(buf);

	/* Over the record limit: refused. */
	uint8_t *huge = calloc(1, EVC_MAX_RECORD + 1);
	REQUIRE(huge != NULL);
	record_sign(&sk, huge, EVC_MAX_RECORD + 1, sig);
	CHECK_EQ(record_verify(&vk, huge, EVC_MAX_RECORD + 1, sig), EVC_EBADSIG);
	record_sign(&sk, huge, EVC_MAX_RECORD, sig);
	CHECK_EQ(record_verify(&vk, huge, EVC_MAX_RECORD, sig), 0);
	free(huge);
	/* The empty record. */
	record_sign(&sk, NULL, 0, sig);
	CHECK_EQ(record_verify(&vk, NULL, 0, sig), 0);
	sodium_memzero(&sk, sizeof(sk));
}

/* Attribute collector. */
typedef struct attrs {
	int n;
	char attr[64];
	size_t len[64];
	uint8_t val[64][160];
} attrs;

static void
collect(void *ctx, enum record_attr attr, const void *val, size_t len)
{
	attrs *a = ctx;
	if (a->n >= 64 || len > sizeof(a->val[0]))
		return;
	a->attr[a->n] = (char)attr;
	a->len[a->n] = len;
	memcpy(a->val[a->n], val, len);
	a->n++;
}

static int
has(const attrs *a, enum record_attr attr, const void *val, size_t len)
{
	for (int i = 0; i < a->n; i++)
		if (a->attr[i] == (char)attr && a->len[i] == len && memcmp(a->val[i], val, len) == 0)
			return 1;
	return 0;
}

static int
count(const attrs *a, enum record_attr attr)
{
	int n = 0;
	for (int i = 0; i < a->n; i++)
		n += a->attr[i] == (char)attr;
	return n;
}

#define HAS_S(a, attr, s) CHECK_(has((a), (attr), (s), strlen(s)), "attribute %c=%s", (char)(attr), (s))

static void
test_attributes(void)
{
	static attrs a;
	uint8_t kb;

	fx_init(&F, K_SCAN);
	F.scan.n_officers = 3;
	memset(&a, 0, sizeof(a));
	record_attributes(&F.rec, collect, &a);
	HAS_S(&a, RECORD_ATTR_NODE, "node.liaocheng.example");
	kb = (uint8_t)K_SCAN;
	CHECK(has(&a, RECORD_ATTR_KIND, &kb, 1));
	HAS_S(&a, RECORD_ATTR_COMPANY, USCC);
	HAS_S(&a, RECORD_ATTR_INSPECTION, "INSP-2025-0001");
	HAS_S(&a, RECORD_ATTR_CERT, F.certs[0]);
	HAS_S(&a, RECORD_ATTR_CERT, F.certs[1]);
	HAS_S(&a, RECORD_ATTR_CERT, F.certs[2]);
	HAS_S(&a, RECORD_ATTR_PLAN, "PLAN-2025-SCJG-01");
	CHECK_EQ(count(&a, RECORD_ATTR_EVIDENCE), 0);
	/* A clue basis: no plan attribute. */
	F.scan.basis_case = EVCHAIN__V1__SCAN_IN__BASIS_CLUE;
	F.scan.clue = &F.clue;
	memset(&a, 0, sizeof(a));
	record_attributes(&F.rec, collect, &a);
	CHECK_EQ(count(&a, RECORD_ATTR_PLAN), 0);

	fx_init(&F, K_EVID);
	memset(&a, 0, sizeof(a));
	record_attributes(&F.rec, collect, &a);
	CHECK(has(&a, RECORD_ATTR_EVIDENCE, F.sha, 32));
	HAS_S(&a, RECORD_ATTR_CERT, "3715000000");
	HAS_S(&a, RECORD_ATTR_COMPANY, USCC);
	HAS_S(&a, RECORD_ATTR_INSPECTION, "INSP-2025-0001");
	kb = (uint8_t)K_EVID;
	CHECK(has(&a, RECORD_ATTR_KIND, &kb, 1));

	fx_init(&F, K_CERT);
	memset(&a, 0, sizeof(a));
	record_attributes(&F.rec, collect, &a);
	HAS_S(&a, RECORD_ATTR_CERT, "3715000000");
	HAS_S(&a, RECORD_ATTR_COMPANY, USCC);
	HAS_S(&a, RECORD_ATTR_INSPECTION, "INSP-2025-0001");

	fx_init(&F, K_PLAN);
	F.plan.amends_plan_id = "PLAN-2025-SCJG-00";
	memset(&a, 0, sizeof(a));
	record_attributes(&F.rec, collect, &a);
	HAS_S(&a, RECORD_ATTR_PLAN, "PLAN-2025-SCJG-01");
	HAS_S(&a, RECORD_ATTR_PLAN, "PLAN-2025-SCJG-00");
	CHECK_EQ(count(&a, RECORD_ATTR_COMPANY), 0);

	fx_init(&F, K_DISP);
	memset(&a, 0, sizeof(a));
	record_attributes(&F.rec, collect, &a);
	HAS_S(&a, RECORD_ATTR_COMPANY, USCC);
	HAS_S(&a, RECORD_ATTR_INSPECTION, "INSP-2025-0001");

	fx_init(&F, K_FEED);
	memset(&a, 0, sizeof(a));
	record_attributes(&F.rec, collect, &a);
	HAS_S(&a, RECORD_ATTR_COMPANY, USCC);
	HAS_S(&a, RECORD_ATTR_INSPECTION, "INSP-2025-0001");

	fx_init(&F, K_GRADE);
	memset(&a, 0, sizeof(a));
	record_attributes(&F.rec, collect, &a);
	HAS_S(&a, RECORD_ATTR_COMPANY, USCC);
	CHECK_EQ(a.n, 3); /* node, kind, company */

	fx_init(&F, K_NODE_KEY);
	memset(&a, 0, sizeof(a));
	record_attributes(&F.rec, collect, &a);
	CHECK_EQ(a.n, 2); /* node, kind */
	fx_init(&F, K_CAP);
	memset(&a, 0, sizeof(a));
	record_attributes(&F.rec, collect, &a);
	CHECK_EQ(a.n, 2);

	/* Optional empties emit nothing; a missing body emits node and kind 0. */
	fx_init(&F, K_CERT);
	F.cc.company_uscc = "";
	F.cc.inspection_id = "";
	memset(&a, 0, sizeof(a));
	record_attributes(&F.rec, collect, &a);
	CHECK_EQ(count(&a, RECORD_ATTR_COMPANY), 0);
	CHECK_EQ(count(&a, RECORD_ATTR_INSPECTION), 0);
	F.rec.body_case = EVCHAIN__V1__RECORD__BODY__NOT_SET;
	F.rec.certificate_check = NULL;
	memset(&a, 0, sizeof(a));
	record_attributes(&F.rec, collect, &a);
	kb = 0;
	CHECK(has(&a, RECORD_ATTR_KIND, &kb, 1));
	CHECK_EQ(a.n, 2);
	record_attributes(NULL, collect, &a);
}

int
main(void)
{
	uint8_t seed[32], sk[64];

	REQUIRE(sodium_init() >= 0);
	memset(seed, 0x42, sizeof(seed));
	REQUIRE(crypto_sign_seed_keypair(node_pub, sk, seed) == 0);

	test_valid_each_kind();
	test_common();
	test_node_key();
	test_plan();
	test_scan_in();
	test_certificate_check();
	test_evidence();
	test_disposition();
	test_feedback();
	test_policy();
	test_uscc();
	test_decode();
	test_why_buffer();
	test_kind_names();
	test_sign_verify();
	test_attributes();
	if (wire_refused)
		printf("test_record: %u invalid cases refused already by the decoder\n", wire_refused);
	CHECK_DONE("test_record");
}
