/*
 * test_audit.c — the compliance audit (lib/audit.h, `evchain audit`).
 *
 *   engine        a generated trail (signed, decoded records, fed in log
 *                 order without a server): clean inspections and every rule
 *                 violated at least once, with the edge cases — two officers
 *                 with one certificate number (a finding), a cap reached but
 *                 not exceeded, a disposition exactly on day N, a joint
 *                 inspection by two agencies, exactly N hours late, exactly N
 *                 days between two agencies (all no finding but the first and
 *                 the last) — every planted violation found with exactly the
 *                 entries that prove it, no other finding; filters
 *   scale         1,000,000 entries through the engine: time and memory
 *   integration   a real evchaind: a trail submitted through the client
 *                 library, `evchain -c supervisor.conf audit --format json`
 *                 (and text, csv, html, --bundle, discipline, node refused),
 *                 then entries altered in the LMDB file under the server
 *                 (record bytes, a log time in the middle, the last entry's
 *                 log time): the audit exits 1 with "verification failed at
 *                 entry N" and prints no finding
 *
 *   test_audit --bench-ledger DEPLOYMENT N   (scripts/audit-bench.sh)
 *                 writes DEPLOYMENT/data: a ledger of N entries (valid signed
 *                 records, ~1% of each kind of violation) for the benchmark.
 */
#include <lmdb.h>
#include <sys/resource.h>

#include <jansson.h>

#include "srvfix.h"
#include "audit.h"
#include "ledger.h"
#include "pbjson.h"

#define AG_A "聊城市市场监督管理局"
#define AG_B "聊城市应急管理局"
#define AG_C "聊城市生态环境局"
#define MIN_MS ((int64_t)60 * 1000)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)

#define SK(x) EVCHAIN__V1__SCAN_IN__##x

/* ---- a trail of signed records ------------------------------------------------ */

typedef struct item {
	fx_signed s;
	int64_t log_ms;     /* intended log time (engine test: the order) */
	size_t seq;
	uint64_t index;     /* assigned when logged */
} item;

typedef struct trail {
	item *it;
	size_t n, cap;
	const evc_skey *node, *admin;
	unsigned rid;
	char tag[16];
} trail;

static size_t
add(trail *tr, Record *r, const evc_skey *sk, int64_t log_ms)
{
	char rid[64];
	snprintf(rid, sizeof rid, "%s-%u", tr->tag, tr->rid++);
	r->record_id = rid;
	if (tr->n == tr->cap) {
		tr->cap = tr->cap ? 2 * tr->cap : 256;
		REQUIRE((tr->it = realloc(tr->it, tr->cap * sizeof(*tr->it))) != NULL);
	}
	item *it = &tr->it[tr->n];
	memset(it, 0, sizeof(*it));
	REQUIRE(fx_sign(r, sk, &it->s) == 0);
	it->log_ms = log_ms;
	it->seq = tr->n;
	it->index = UINT64_MAX;
	r->record_id = NULL;   /* rid is gone after the call */
	return tr->n++;
}

static void
trail_free(trail *tr)
{
	for (size_t i = 0; i < tr->n; i++)
		fx_signed_free(&tr->it[i].s);
	free(tr->it);
	memset(tr, 0, sizeof(*tr));
}

/* Index of the record with seq s. */
static uint64_t
IX(const trail *tr, size_t seq)
{
	for (size_t i = 0; i < tr->n; i++)
		if (tr->it[i].seq == seq)
			return tr->it[i].index;
	REQUIRE(0);
	return 0;
}

static size_t
b_plan(trail *tr, int64_t log_ms, const char *id, const char *agency, uint32_t year, int special,
    int64_t approved_ms, int64_t filed_ms)
{
	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__InspectionPlan p = EVCHAIN__V1__INSPECTION_PLAN__INIT;
	Evchain__V1__InspectionPlan__Approval ap = EVCHAIN__V1__INSPECTION_PLAN__APPROVAL__INIT;
	Evchain__V1__InspectionPlan__Filing fi = EVCHAIN__V1__INSPECTION_PLAN__FILING__INIT;
	r.created_ms = (log_ms ? log_ms : fx_now_ms()) - MIN_MS;
	r.body_case = EVCHAIN__V1__RECORD__BODY_INSPECTION_PLAN;
	r.inspection_plan = &p;
	p.plan_id = (char *)id;
	p.agency = (char *)agency;
	p.year = year;
	p.plan_type = special ? EVCHAIN__V1__INSPECTION_PLAN__PLAN_TYPE__SPECIAL :
	    EVCHAIN__V1__INSPECTION_PLAN__PLAN_TYPE__ANNUAL;
	p.legal_basis = "《优化营商环境条例》第五十九条";
	p.scope = "本市辖区内生产经营单位";
	if (approved_ms != 0) {
		ap.legal_review = 1;
		ap.collective_discussion = 1;
		ap.approved_by = "聊城市人民政府";
		ap.approval_document = "聊政字〔2025〕1号";
		ap.approved_ms = approved_ms;
		p.approval = &ap;
	}
	if (filed_ms != 0) {
		fi.filed_with = "聊城市司法局";
		fi.filing_no = "BA-2025-001";
		fi.filed_ms = filed_ms;
		p.filing = &fi;
	}
	return add(tr, &r, tr->node, log_ms);
}

static size_t
b_cap(trail *tr, int64_t log_ms, const char *agency, const char *grade, uint32_t year, uint32_t max)
{
	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__FrequencyCap c = EVCHAIN__V1__FREQUENCY_CAP__INIT;
	r.created_ms = (log_ms ? log_ms : fx_now_ms()) - MIN_MS;
	r.body_case = EVCHAIN__V1__RECORD__BODY_FREQUENCY_CAP;
	r.frequency_cap = &c;
	c.agency = (char *)agency;
	c.risk_grade = (char *)grade;
	c.max_per_year = max;
	c.year = year;
	c.legal_basis = "分级分类监管标准";
	return add(tr, &r, tr->admin, log_ms);
}

static size_t
b_grade(trail *tr, int64_t log_ms, const char *company, const char *agency, const char *grade,
    uint32_t year)
{
	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__RiskGrade g = EVCHAIN__V1__RISK_GRADE__INIT;
	r.created_ms = (log_ms ? log_ms : fx_now_ms()) - MIN_MS;
	r.body_case = EVCHAIN__V1__RECORD__BODY_RISK_GRADE;
	r.risk_grade = &g;
	g.company_uscc = (char *)company;
	g.agency = (char *)agency;
	g.risk_grade = (char *)grade;
	g.year = year;
	g.basis = "信用情况";
	return add(tr, &r, tr->admin, log_ms);
}

static size_t
b_check(trail *tr, int64_t log_ms, const char *insp, const char *cert, int result, int64_t t,
    const char *company)
{
	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__CertificateCheck c = EVCHAIN__V1__CERTIFICATE_CHECK__INIT;
	r.created_ms = t;
	r.body_case = EVCHAIN__V1__RECORD__BODY_CERTIFICATE_CHECK;
	r.certificate_check = &c;
	c.inspection_id = (char *)insp;
	c.certificate_no = (char *)cert;
	c.officer_name = "执法人员";
	c.verifier = EVCHAIN__V1__CERTIFICATE_CHECK__VERIFIER__COMPANY_APP;
	c.result = (Evchain__V1__CertificateCheck__Result)result;
	c.verified_ms = t;
	c.verified_by = "企业负责人";
	c.company_uscc = (char *)company;
	return add(tr, &r, tr->node, log_ms);
}

static size_t
b_evid(trail *tr, int64_t log_ms, const char *insp, int media, int64_t start, int64_t end,
    const char *company)
{
	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__Evidence e = EVCHAIN__V1__EVIDENCE__INIT;
	Evchain__V1__Location loc = EVCHAIN__V1__LOCATION__INIT;
	Evchain__V1__Officer rec = EVCHAIN__V1__OFFICER__INIT;
	uint8_t sha[32];
	hash_sha256(&tr->rid, sizeof tr->rid, sha);
	r.created_ms = end;
	r.body_case = EVCHAIN__V1__RECORD__BODY_EVIDENCE;
	r.evidence = &e;
	e.inspection_id = (char *)insp;
	e.media_kind = (Evchain__V1__Evidence__MediaKind)media;
	e.sha256.data = sha;
	e.sha256.len = 32;
	e.size = 1048576;
	e.capture_start_ms = start;
	e.capture_end_ms = end;
	loc.latitude = 36.45;
	loc.longitude = 115.98;
	loc.address = "聊城市东昌府区示例路1号";
	e.place = &loc;
	rec.name = "张伟";
	rec.certificate_no = "LC-ZF-0001";
	e.recorder = &rec;
	e.proves = "现场检查情况";
	e.company_uscc = (char *)company;
	return add(tr, &r, tr->node, log_ms);
}

static size_t
b_disp(trail *tr, int64_t log_ms, const char *insp, int64_t t, const char *agency,
    const char *company)
{
	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__Disposition d = EVCHAIN__V1__DISPOSITION__INIT;
	r.created_ms = t;
	r.body_case = EVCHAIN__V1__RECORD__BODY_DISPOSITION;
	r.disposition = &d;
	d.inspection_id = (char *)insp;
	d.outcome = EVCHAIN__V1__DISPOSITION__OUTCOME__NO_PROBLEM_TOLD_ON_SITE;
	d.decided_by = "执法大队";
	d.decided_ms = t;
	d.ended_ms = t;
	d.agency = (char *)agency;
	d.company_uscc = (char *)company;
	return add(tr, &r, tr->node, log_ms);
}

static size_t
b_feedback(trail *tr, int64_t log_ms, const char *company, const char *insp, int type, int ctype,
    int64_t t, const char *agency)
{
	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__CompanyFeedback f = EVCHAIN__V1__COMPANY_FEEDBACK__INIT;
	r.created_ms = t;
	r.body_case = EVCHAIN__V1__RECORD__BODY_COMPANY_FEEDBACK;
	r.company_feedback = &f;
	f.company_uscc = (char *)company;
	f.inspection_id = (char *)(insp ? insp : "");
	f.feedback_type = (Evchain__V1__CompanyFeedback__FeedbackType)type;
	if (type == EVCHAIN__V1__COMPANY_FEEDBACK__FEEDBACK_TYPE__RATING)
		f.rating = 5;
	f.complaint_type = (Evchain__V1__CompanyFeedback__ComplaintType)ctype;
	f.channel = EVCHAIN__V1__COMPANY_FEEDBACK__CHANNEL__AISHANDONG_APP;
	f.text = "企业反馈";
	f.submitted_ms = t;
	f.agency = (char *)(agency ? agency : "");
	return add(tr, &r, tr->node, log_ms);
}

/* One inspection: what it is, and which of its parts to log. */
typedef struct spec {
	const char *insp, *agency, *company;
	int64_t t;                 /* scan-in device time */
	const char *certs[4];      /* NULL-terminated (default two distinct) */
	const char *exception;
	int basis;                 /* 'p' plan (default), 'c' clue, 'e' emergency */
	const char *plan;
	const char *clue_ref;      /* clue: reference (NULL: none) */
	int kind;                  /* 0: ROUTINE */
	const char *joint;         /* joint partner (kind JOINT) */
	int sens;                  /* a Sensitivity value, 0 none */
	int bad_check;             /* result of the last certificate's check (0: VALID; -1: none) */
	int media;                 /* evidence kind (0: PHOTO; -1: none) */
	int64_t disp_after;        /* disposition after t (0: 1 hour; -1: none) */
	int64_t ev_late;           /* evidence logged this long after its capture end (0: 5 min) */
	int no_scan;               /* log no scan-in */
} spec;

typedef struct ires {
	size_t scan, checks[4], evid, disp;
	size_t nchecks;
} ires;

static ires
inspection(trail *tr, const spec *sp)
{
	ires o;
	memset(&o, 0, sizeof(o));
	o.scan = o.evid = o.disp = SIZE_MAX;
	const char *defc[3];
	char c1[64], c2[64];
	const char *const *certs = sp->certs;
	if (certs[0] == NULL) {
		snprintf(c1, sizeof c1, "ZF-%s-1", sp->insp);
		snprintf(c2, sizeof c2, "ZF-%s-2", sp->insp);
		defc[0] = c1;
		defc[1] = c2;
		defc[2] = NULL;
		certs = defc;
	}
	size_t nc = 0;
	while (nc < 4 && certs[nc] != NULL)
		nc++;
	if (!sp->no_scan) {
		Record r = EVCHAIN__V1__RECORD__INIT;
		Evchain__V1__ScanIn s = EVCHAIN__V1__SCAN_IN__INIT;
		Evchain__V1__Officer of[4], *ofp[4];
		Evchain__V1__ScanIn__Clue cl = EVCHAIN__V1__SCAN_IN__CLUE__INIT;
		Evchain__V1__ScanIn__Emergency em = EVCHAIN__V1__SCAN_IN__EMERGENCY__INIT;
		Evchain__V1__ScanIn__Sensitivity sens = (Evchain__V1__ScanIn__Sensitivity)sp->sens;
		char *joint[1] = { (char *)sp->joint };
		static const char *names[4] = { "张伟", "李娜", "王强", "刘洋" };
		for (size_t i = 0; i < nc; i++) {
			evchain__v1__officer__init(&of[i]);
			of[i].name = (char *)names[i];
			of[i].certificate_no = (char *)certs[i];
			ofp[i] = &of[i];
		}
		r.created_ms = sp->t;
		r.body_case = EVCHAIN__V1__RECORD__BODY_SCAN_IN;
		r.scan_in = &s;
		s.inspection_id = (char *)sp->insp;
		s.agency = (char *)sp->agency;
		s.company_uscc = (char *)sp->company;
		s.company_name = "聊城示例企业有限公司";
		s.officers = ofp;
		s.n_officers = nc;
		s.officer_exception = (char *)(sp->exception ? sp->exception : "");
		s.method = SK(METHOD__LICENCE_QR_SCAN);
		s.device_ms = sp->t;
		if (sp->basis == 'c') {
			s.basis_case = SK(BASIS_CLUE);
			cl.source = "12345热线";
			cl.reference = (char *)(sp->clue_ref ? sp->clue_ref : "");
			s.clue = &cl;
		} else if (sp->basis == 'e') {
			s.basis_case = SK(BASIS_EMERGENCY);
			em.reason = SK(EMERGENCY_REASON__COMPLAINT);
			em.reference = "TS-2025-0001";
			s.emergency = &em;
		} else {
			s.basis_case = SK(BASIS_PLAN_ID);
			s.plan_id = (char *)sp->plan;
		}
		s.kind = sp->kind ? (Evchain__V1__ScanIn__InspectionKind)sp->kind :
		    SK(INSPECTION_KIND__ROUTINE);
		if (sp->joint != NULL) {
			s.joint_agencies = joint;
			s.n_joint_agencies = 1;
		}
		if (sp->sens) {
			s.sensitivity = &sens;
			s.n_sensitivity = 1;
		}
		s.entry_type = SK(ENTRY_TYPE__ADMINISTRATIVE_INSPECTION);
		o.scan = add(tr, &r, tr->node, sp->t + 5 * MIN_MS);
	}
	for (size_t i = 0; i < nc && sp->bad_check >= 0; i++) {
		if (i > 0 && strcmp(certs[i], certs[0]) == 0)
			continue;
		int res = i == nc - 1 && sp->bad_check > 0 ? sp->bad_check :
		    EVCHAIN__V1__CERTIFICATE_CHECK__RESULT__VALID;
		o.checks[o.nchecks++] = b_check(tr, sp->t + 6 * MIN_MS, sp->insp, certs[i], res,
		    sp->t + MIN_MS, sp->company);
	}
	if (sp->media >= 0) {
		int64_t end = sp->t + 20 * MIN_MS;
		o.evid = b_evid(tr, end + (sp->ev_late ? sp->ev_late : 5 * MIN_MS), sp->insp,
		    sp->media ? sp->media : EVCHAIN__V1__EVIDENCE__MEDIA_KIND__PHOTO, sp->t + MIN_MS, end,
		    sp->company);
	}
	if (sp->disp_after >= 0) {
		int64_t t = sp->t + (sp->disp_after ? sp->disp_after : HOUR_MS);
		o.disp = b_disp(tr, t + 5 * MIN_MS, sp->insp, t, sp->agency, sp->company);
	}
	return o;
}

/* ---- expectations ---------------------------------------------------------------- */

typedef struct expect {
	audit_rule rule;
	char insp[64];
	size_t seq[8];
	size_t nseq;
	int found;
} expect;

static expect expects[64];
static size_t nexpects;

static void
EXPECT(audit_rule rule, const char *insp, size_t n, ...)
{
	REQUIRE(nexpects < 64 && n <= 8);
	expect *e = &expects[nexpects++];
	memset(e, 0, sizeof(*e));
	e->rule = rule;
	snprintf(e->insp, sizeof e->insp, "%s", insp);
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		e->seq[i] = va_arg(ap, size_t);
	va_end(ap);
	e->nseq = n;
}

static int
cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* Does finding (rule, insp, entries) match an unmatched expectation? */
static int
match(const trail *tr, int rule, const char *insp, const uint64_t *ent, size_t ne)
{
	for (size_t i = 0; i < nexpects; i++) {
		expect *e = &expects[i];
		if (e->found || (int)e->rule != rule || strcmp(e->insp, insp) != 0 || e->nseq != ne)
			continue;
		uint64_t want[8];
		for (size_t k = 0; k < e->nseq; k++)
			want[k] = IX(tr, e->seq[k]);
		qsort(want, e->nseq, sizeof(*want), cmp_u64);
		if (memcmp(want, ent, ne * sizeof(*ent)) == 0) {
			e->found = 1;
			return 1;
		}
	}
	return 0;
}

static void
expect_all_found(const trail *tr, const char *where)
{
	for (size_t i = 0; i < nexpects; i++) {
		const expect *e = &expects[i];
		char ents[200] = "";
		size_t o = 0;
		for (size_t k = 0; k < e->nseq; k++)
			o += (size_t)snprintf(ents + o, sizeof ents - o, " %" PRIu64, IX(tr, e->seq[k]));
		CHECK_(e->found, "%s: planted %s in inspection \"%s\" (entries%s) not found", where,
		    audit_rule_id(e->rule), e->insp, ents);
	}
}

/* ---- the engine on a generated trail ---------------------------------------------- */

static char co[40][19];   /* companies */

static void
companies(void)
{
	for (int k = 0; k < 40; k++) {
		char first[18];
		snprintf(first, sizeof first, "91371500MA%07d", 1000 + k);
		sf_uscc(co[k], first);
	}
}

static int
cmp_item(const void *x, const void *y)
{
	const item *a = x, *b = y;
	if (a->log_ms != b->log_ms)
		return a->log_ms < b->log_ms ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The unit trail, times from T0 = 2025-03-03 09:00 (UTC+8). */
static void
unit_trail(trail *tr)
{
	const int64_t T0 = 1740963600000LL, pre = T0 - 10 * DAY_MS;
	nexpects = 0;
	size_t pA = b_plan(tr, pre, "P-A-2025", AG_A, 2025, 0, 0, 0);
	b_plan(tr, pre, "P-B-2025", AG_B, 2025, 0, 0, 0);
	b_plan(tr, pre, "P-C-2025", AG_C, 2025, 0, 0, 0);
	b_plan(tr, pre, "SP-A-2025", AG_A, 2025, 1, T0 - 20 * DAY_MS, T0 - 19 * DAY_MS);
	size_t spbad = b_plan(tr, pre, "SP-A-BAD", AG_A, 2025, 1, 0, 0);
	size_t cap = b_cap(tr, pre, AG_A, "B", 2025, 2);
	b_grade(tr, pre, co[10], AG_A, "B", 2025);
	size_t grade20 = b_grade(tr, pre, co[20], AG_A, "B", 2025);

#define SP(...) (&(spec){ __VA_ARGS__ })
	/* Clean inspections. */
	inspection(tr, SP(.insp = "CLEAN-1", .agency = AG_A, .company = co[1], .t = T0, .plan = "P-A-2025"));
	inspection(tr, SP(.insp = "CLEAN-2", .agency = AG_B, .company = co[2], .t = T0 + HOUR_MS,
	    .plan = "P-B-2025", .sens = SK(SENSITIVITY__LIFE_AND_HEALTH),
	    .media = EVCHAIN__V1__EVIDENCE__MEDIA_KIND__FULL_PROCESS_RECORDING));
	inspection(tr, SP(.insp = "CLEAN-3", .agency = AG_A, .company = co[3], .t = T0 + 2 * HOUR_MS,
	    .plan = "SP-A-2025", .kind = SK(INSPECTION_KIND__SPECIAL)));
	inspection(tr, SP(.insp = "CLEAN-4", .agency = AG_C, .company = co[4], .t = T0 + 3 * HOUR_MS,
	    .basis = 'c', .clue_ref = "12345-2025-000123"));
	inspection(tr, SP(.insp = "CLEAN-5", .agency = AG_C, .company = co[5], .t = T0 + 4 * HOUR_MS,
	    .basis = 'e'));
	inspection(tr, SP(.insp = "CLEAN-6", .agency = AG_A, .company = co[6], .t = T0 + 5 * HOUR_MS,
	    .plan = "P-A-2025", .certs = { "LC-ZF-0601", NULL },
	    .exception = "《中华人民共和国行政处罚法》第四十二条：法律另有规定的除外"));
	/* Edge: the disposition exactly on day 30. */
	inspection(tr, SP(.insp = "CLEAN-7-DAY30", .agency = AG_A, .company = co[7], .t = T0 + 6 * HOUR_MS,
	    .plan = "P-A-2025", .disp_after = 30 * DAY_MS));
	/* Edge: a joint inspection by A (naming B) and B on the same day. */
	inspection(tr, SP(.insp = "CLEAN-8-JOINT", .agency = AG_A, .company = co[8], .t = T0 + 2 * DAY_MS,
	    .plan = "P-A-2025", .kind = SK(INSPECTION_KIND__JOINT), .joint = AG_B));
	inspection(tr, SP(.insp = "CLEAN-9-JOINT", .agency = AG_B, .company = co[8],
	    .t = T0 + 2 * DAY_MS + HOUR_MS, .plan = "P-B-2025"));
	/* Edge: the cap (2) reached, not exceeded. */
	inspection(tr, SP(.insp = "CLEAN-10-CAP1", .agency = AG_A, .company = co[10], .t = T0 + 3 * DAY_MS,
	    .plan = "P-A-2025"));
	inspection(tr, SP(.insp = "CLEAN-10-CAP2", .agency = AG_A, .company = co[10], .t = T0 + 5 * DAY_MS,
	    .plan = "P-A-2025"));
	/* Edge: evidence logged exactly 24 hours after its capture ended. */
	inspection(tr, SP(.insp = "CLEAN-11-24H", .agency = AG_A, .company = co[11], .t = T0 + 7 * HOUR_MS,
	    .plan = "P-A-2025", .ev_late = 24 * HOUR_MS, .disp_after = 2 * DAY_MS));
	/* Two agencies 7 days and 1 minute apart: outside the window. */
	inspection(tr, SP(.insp = "CLEAN-12A", .agency = AG_A, .company = co[12], .t = T0 + 50 * DAY_MS,
	    .plan = "P-A-2025"));
	inspection(tr, SP(.insp = "CLEAN-12B", .agency = AG_B, .company = co[12],
	    .t = T0 + 57 * DAY_MS + MIN_MS, .plan = "P-B-2025"));
	/* A rating is no complaint. */
	b_feedback(tr, T0 + 3 * HOUR_MS, co[1], "CLEAN-1", EVCHAIN__V1__COMPANY_FEEDBACK__FEEDBACK_TYPE__RATING,
	    0, T0 + 2 * HOUR_MS, AG_A);

	/* Violations. */
	ires r;
	r = inspection(tr, SP(.insp = "V1-ONE-OFFICER", .agency = AG_A, .company = co[13],
	    .t = T0 + 8 * HOUR_MS, .plan = "P-A-2025", .certs = { "LC-ZF-1301", NULL }));
	EXPECT(AUDIT_TOO_FEW_OFFICERS, "V1-ONE-OFFICER", 1, r.scan);
	r = inspection(tr, SP(.insp = "V2-SAME-CERT", .agency = AG_A, .company = co[14],
	    .t = T0 + 9 * HOUR_MS, .plan = "P-A-2025", .certs = { "LC-ZF-1401", "lc-zf-1401", NULL }));
	EXPECT(AUDIT_TOO_FEW_OFFICERS, "V2-SAME-CERT", 1, r.scan);
	r = inspection(tr, SP(.insp = "V2B-BLANK-EXCEPTION", .agency = AG_B, .company = co[15],
	    .t = T0 + 10 * HOUR_MS, .plan = "P-B-2025", .certs = { "LC-ZF-1501", NULL },
	    .exception = "\xe3\x80\x80 "));
	EXPECT(AUDIT_TOO_FEW_OFFICERS, "V2B-BLANK-EXCEPTION", 1, r.scan);
	r = inspection(tr, SP(.insp = "V3-NO-SCAN", .agency = AG_A, .company = co[16],
	    .t = T0 + 11 * HOUR_MS, .certs = { "LC-ZF-1601", NULL }, .no_scan = 1));
	EXPECT(AUDIT_NO_SCAN_IN, "V3-NO-SCAN", 3, r.checks[0], r.evid, r.disp);
	size_t fb4 = b_feedback(tr, T0 + 12 * HOUR_MS, co[17], NULL,
	    EVCHAIN__V1__COMPANY_FEEDBACK__FEEDBACK_TYPE__COMPLAINT,
	    EVCHAIN__V1__COMPANY_FEEDBACK__COMPLAINT_TYPE__ENTERED_WITHOUT_SCAN, T0 + 11 * HOUR_MS, AG_C);
	EXPECT(AUDIT_NO_SCAN_IN, "", 1, fb4);
	EXPECT(AUDIT_COMPLAINT, "", 1, fb4);
	r = inspection(tr, SP(.insp = "V5-OPEN", .agency = AG_A, .company = co[18], .t = T0 + 13 * HOUR_MS,
	    .plan = "P-A-2025", .disp_after = -1));
	EXPECT(AUDIT_OPEN_LOOP, "V5-OPEN", 1, r.scan);
	r = inspection(tr, SP(.insp = "V6-CLOSED-DAY30+1MS", .agency = AG_A, .company = co[19],
	    .t = T0 + 14 * HOUR_MS, .plan = "P-A-2025", .disp_after = 30 * DAY_MS + 1));
	EXPECT(AUDIT_OPEN_LOOP, "V6-CLOSED-DAY30+1MS", 2, r.scan, r.disp);
	ires c1 = inspection(tr, SP(.insp = "V7-CAP1", .agency = AG_A, .company = co[20],
	    .t = T0 + 1 * DAY_MS, .plan = "P-A-2025"));
	ires c2 = inspection(tr, SP(.insp = "V7-CAP2", .agency = AG_A, .company = co[20],
	    .t = T0 + 11 * DAY_MS, .plan = "P-A-2025"));
	ires c3 = inspection(tr, SP(.insp = "V7-CAP3", .agency = AG_A, .company = co[20],
	    .t = T0 + 21 * DAY_MS, .plan = "P-A-2025"));
	EXPECT(AUDIT_OVER_CAP, "V7-CAP3", 5, grade20, cap, c1.scan, c2.scan, c3.scan);
	r = inspection(tr, SP(.insp = "V8-CLUE-NO-REF", .agency = AG_C, .company = co[21],
	    .t = T0 + 15 * HOUR_MS, .basis = 'c'));
	EXPECT(AUDIT_NO_BASIS, "V8-CLUE-NO-REF", 1, r.scan);
	r = inspection(tr, SP(.insp = "V9-PLAN-NEVER-FILED", .agency = AG_A, .company = co[22],
	    .t = T0 + 16 * HOUR_MS, .plan = "P-NEVER"));
	EXPECT(AUDIT_NO_BASIS, "V9-PLAN-NEVER-FILED", 1, r.scan);
	r = inspection(tr, SP(.insp = "V10-SPECIAL-UNAPPROVED", .agency = AG_A, .company = co[23],
	    .t = T0 + 17 * HOUR_MS, .plan = "SP-A-BAD", .kind = SK(INSPECTION_KIND__SPECIAL)));
	EXPECT(AUDIT_NO_BASIS, "V10-SPECIAL-UNAPPROVED", 2, r.scan, spbad);
	r = inspection(tr, SP(.insp = "V11-SPECIAL-ANNUAL", .agency = AG_A, .company = co[24],
	    .t = T0 + 18 * HOUR_MS, .plan = "P-A-2025", .kind = SK(INSPECTION_KIND__SPECIAL)));
	EXPECT(AUDIT_NO_BASIS, "V11-SPECIAL-ANNUAL", 2, r.scan, pA);
	r = inspection(tr, SP(.insp = "V12-PLAN-FILED-LATER", .agency = AG_B, .company = co[25],
	    .t = T0 + 19 * HOUR_MS, .plan = "P-B-LATE"));
	size_t late_plan = b_plan(tr, T0 + 19 * HOUR_MS + 30 * MIN_MS, "P-B-LATE", AG_B, 2025, 0, 0, 0);
	EXPECT(AUDIT_NO_BASIS, "V12-PLAN-FILED-LATER", 2, r.scan, late_plan);
	r = inspection(tr, SP(.insp = "V13-EXPIRED-CERT", .agency = AG_A, .company = co[26],
	    .t = T0 + 20 * HOUR_MS, .plan = "P-A-2025",
	    .bad_check = EVCHAIN__V1__CERTIFICATE_CHECK__RESULT__EXPIRED));
	EXPECT(AUDIT_UNVERIFIED_OFFICER, "V13-EXPIRED-CERT", 2, r.scan, r.checks[1]);
	{
		/* two officers, only the first checked */
		spec s = { .insp = "V14-CERT-NOT-CHECKED", .agency = AG_B, .company = co[27],
			.t = T0 + 21 * HOUR_MS, .plan = "P-B-2025", .certs = { "LC-ZF-2701", "LC-ZF-2702", NULL },
			.bad_check = -1 };
		r = inspection(tr, &s);
		b_check(tr, s.t + 6 * MIN_MS, s.insp, "LC-ZF-2701", EVCHAIN__V1__CERTIFICATE_CHECK__RESULT__VALID,
		    s.t + MIN_MS, s.company);
		EXPECT(AUDIT_UNVERIFIED_OFFICER, "V14-CERT-NOT-CHECKED", 1, r.scan);
	}
	r = inspection(tr, SP(.insp = "V15-SENSITIVE-NO-AV", .agency = AG_C, .company = co[28],
	    .t = T0 + 22 * HOUR_MS, .plan = "P-C-2025", .sens = SK(SENSITIVITY__PERSONAL_FREEDOM),
	    .media = EVCHAIN__V1__EVIDENCE__MEDIA_KIND__VIDEO));
	EXPECT(AUDIT_MISSING_AV, "V15-SENSITIVE-NO-AV", 1, r.scan);
	ires m1 = inspection(tr, SP(.insp = "V16-MULTI-A", .agency = AG_A, .company = co[29],
	    .t = T0 + 30 * DAY_MS, .plan = "P-A-2025"));
	ires m2 = inspection(tr, SP(.insp = "V16-MULTI-B", .agency = AG_B, .company = co[29],
	    .t = T0 + 33 * DAY_MS, .plan = "P-B-2025"));
	EXPECT(AUDIT_MULTI_AGENCY, "V16-MULTI-B", 2, m1.scan, m2.scan);
	r = inspection(tr, SP(.insp = "V17-LATE", .agency = AG_A, .company = co[30], .t = T0 + 23 * HOUR_MS,
	    .plan = "P-A-2025", .ev_late = 30 * HOUR_MS, .disp_after = 2 * DAY_MS));
	EXPECT(AUDIT_LATE_RECORD, "V17-LATE", 1, r.evid);
	r = inspection(tr, SP(.insp = "V18-COMPLAINED", .agency = AG_B, .company = co[31],
	    .t = T0 + 24 * HOUR_MS, .plan = "P-B-2025"));
	size_t fb18 = b_feedback(tr, T0 + 26 * HOUR_MS, co[31], "V18-COMPLAINED",
	    EVCHAIN__V1__COMPANY_FEEDBACK__FEEDBACK_TYPE__COMPLAINT,
	    EVCHAIN__V1__COMPANY_FEEDBACK__COMPLAINT_TYPE__TOO_FREQUENT, T0 + 25 * HOUR_MS, NULL);
	EXPECT(AUDIT_COMPLAINT, "V18-COMPLAINED", 2, fb18, r.scan);
	/* Exactly 7 days apart is within the window. */
	m1 = inspection(tr, SP(.insp = "V19-MULTI-A", .agency = AG_A, .company = co[32],
	    .t = T0 + 40 * DAY_MS, .plan = "P-A-2025"));
	m2 = inspection(tr, SP(.insp = "V19-MULTI-C-7D", .agency = AG_C, .company = co[32],
	    .t = T0 + 47 * DAY_MS, .plan = "P-C-2025"));
	EXPECT(AUDIT_MULTI_AGENCY, "V19-MULTI-C-7D", 2, m1.scan, m2.scan);
	/* A complaint naming no inspection is tied to the latest one at the company. */
	r = inspection(tr, SP(.insp = "V20-COMPLAINED-UNNAMED", .agency = AG_C, .company = co[33],
	    .t = T0 + 27 * HOUR_MS, .plan = "P-C-2025"));
	size_t fb20 = b_feedback(tr, T0 + 29 * HOUR_MS, co[33], NULL,
	    EVCHAIN__V1__COMPANY_FEEDBACK__FEEDBACK_TYPE__COMPLAINT,
	    EVCHAIN__V1__COMPANY_FEEDBACK__COMPLAINT_TYPE__MISCONDUCT, T0 + 28 * HOUR_MS, AG_C);
	EXPECT(AUDIT_COMPLAINT, "V20-COMPLAINED-UNNAMED", 2, fb20, r.scan);
#undef SP
}

/* Feed the trail in log order (indices from 0) into a new engine. */
static audit *
feed(trail *tr, const audit_opts *o)
{
	qsort(tr->it, tr->n, sizeof(*tr->it), cmp_item);
	audit *a = audit_new(o);
	REQUIRE(a != NULL);
	for (size_t i = 0; i < tr->n; i++) {
		tr->it[i].index = i;
		CHECK_EQ(audit_add(a, i, tr->it[i].log_ms, tr->it[i].s.decoded, "聊城市大数据局平台"), 0);
	}
	return a;
}

static void
t_engine(void)
{
	evc_skey sk;
	evc_vkey vk;
	trail tr;
	memset(&tr, 0, sizeof tr);
	REQUIRE(keys_generate("audit-test-node", EVC_KEY_ED25519, &sk, &vk) == 0);
	tr.node = tr.admin = &sk;
	snprintf(tr.tag, sizeof tr.tag, "u");
	unit_trail(&tr);
	/* every record is one a log would accept, but the unapproved special plan */
	for (size_t i = 0; i < tr.n; i++) {
		char why[512];
		const Record *r = tr.it[i].s.decoded;
		int ok = record_validate(r, tr.it[i].log_ms, why, sizeof why) == 0;
		int exempt = record_kind(r) == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_INSPECTION_PLAN &&
		    strcmp(r->inspection_plan->plan_id, "SP-A-BAD") == 0;
		exempt |= record_kind(r) == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_SCAN_IN &&
		    strncmp(r->scan_in->inspection_id, "V2-", 3) == 0;
		exempt |= record_kind(r) == EVCHAIN__V1__RECORD_KIND__RECORD_KIND_SCAN_IN &&
		    strncmp(r->scan_in->inspection_id, "V1-", 3) == 0;
		CHECK_(ok || exempt, "record %zu of the trail is invalid: %s", i, why);
	}
	audit_opts o;
	memset(&o, 0, sizeof o);
	o.as_of_ms = 1740963600000LL + 200 * DAY_MS;
	audit *a = feed(&tr, &o);
	const audit_finding *f;
	size_t n;
	REQUIRE(audit_finish(a, &f, &n) == 0);
	size_t unexpected = 0;
	for (size_t i = 0; i < n; i++) {
		int ok = match(&tr, (int)f[i].rule, f[i].inspection, f[i].entries, f[i].nentries);
		if (!ok) {
			unexpected++;
			fprintf(stderr, "  unexpected: %s %s/%s: %s [", audit_rule_id(f[i].rule), f[i].agency,
			    f[i].inspection, f[i].reason);
			for (size_t k = 0; k < f[i].nentries; k++)
				fprintf(stderr, " %" PRIu64, f[i].entries[k]);
			fprintf(stderr, " ]\n");
		}
		CHECK_(ok, "finding %zu (%s, inspection \"%s\") was not planted", i,
		    audit_rule_id(f[i].rule), f[i].inspection);
		CHECK_(strncmp(f[i].inspection, "CLEAN", 5) != 0, "a clean inspection was flagged: %s %s",
		    audit_rule_id(f[i].rule), f[i].inspection);
		CHECK(f[i].reason[0] != '\0' && strchr(f[i].reason, '\n') == NULL);
		if (i > 0)
			CHECK(strcmp(f[i - 1].agency, f[i].agency) <= 0);
	}
	expect_all_found(&tr, "engine");
	CHECK_EQ(n, nexpects);
	/* every rule was planted */
	for (int r = 0; r < AUDIT_NRULES; r++) {
		int seen = 0;
		for (size_t i = 0; i < n; i++)
			seen |= (int)f[i].rule == r;
		CHECK_(seen, "rule %s was never found", audit_rule_id((audit_rule)r));
	}
	/* some reasons */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(f[i].inspection, "V2-SAME-CERT") == 0)
			CHECK_(strstr(f[i].reason, "2 officers listed but 1 distinct") != NULL, "%s", f[i].reason);
		if (strcmp(f[i].inspection, "V13-EXPIRED-CERT") == 0)
			CHECK_(strstr(f[i].reason, "EXPIRED") != NULL, "%s", f[i].reason);
		if (strcmp(f[i].inspection, "V9-PLAN-NEVER-FILED") == 0)
			CHECK_(strstr(f[i].reason, "never filed") != NULL, "%s", f[i].reason);
		if (strcmp(f[i].inspection, "V7-CAP3") == 0)
			CHECK_(strstr(f[i].reason, "cap of 2") != NULL, "%s", f[i].reason);
	}
	audit_stats st;
	audit_get_stats(a, &st);
	CHECK_EQ(st.entries, tr.n);
	audit_free(a);

	/* Filters: agency, company, time, rules; thresholds. */
	struct {
		audit_opts o;
		size_t want;
		const char *what;
	} cases[6];
	memset(cases, 0, sizeof cases);
	for (int i = 0; i < 6; i++)
		cases[i].o.as_of_ms = 1740963600000LL + 200 * DAY_MS;
	size_t nB = 0, n29 = 0, nlate = 0;
	for (size_t i = 0; i < nexpects; i++) {
		const char *id = expects[i].insp;
		nB += strstr(id, "V2B") || strstr(id, "V12") || strstr(id, "V14") || strstr(id, "V16-MULTI-B") ||
		    strstr(id, "V18");
		n29 += strncmp(id, "V16", 3) == 0;
		nlate += expects[i].rule == AUDIT_LATE_RECORD;
	}
	cases[0].o.agency = AG_B;
	cases[0].want = nB;
	cases[0].what = "agency B";
	cases[1].o.company = co[29];
	cases[1].want = n29;
	cases[1].what = "company 29";
	cases[2].o.rules = 1u << AUDIT_LATE_RECORD;
	cases[2].want = nlate;
	cases[2].what = "rule late_record";
	/* event times from day 30 on: V7-CAP3 (day 21)? no; V16 (days 30, 33), V19 (47) */
	cases[3].o.from_ms = 1740963600000LL + 30 * DAY_MS;
	cases[3].want = 2;
	cases[3].what = "from day 30";
	/* a 31-day open loop limit closes V6; a 2-day multi-agency window drops V16 and V19;
	 * a 31-hour lateness drops V17 */
	cases[4].o.open_loop_days = 31;
	cases[4].o.multi_agency_days = 2;
	cases[4].o.late_record_hours = 31;
	cases[4].want = nexpects - 4;
	cases[4].what = "thresholds";
	cases[5].o.to_ms = 1740963600000LL; /* before T0: nothing */
	cases[5].want = 0;
	cases[5].what = "to T0";
	for (int c = 0; c < 6; c++) {
		a = feed(&tr, &cases[c].o);
		REQUIRE(audit_finish(a, &f, &n) == 0);
		CHECK_(n == cases[c].want, "filter %s: %zu findings, %zu expected", cases[c].what, n,
		    cases[c].want);
		for (size_t i = 0; c == 0 && i < n; i++)
			CHECK_STR(f[i].agency, AG_B);
		audit_free(a);
	}

	/* Misuse. */
	a = audit_new(NULL);
	REQUIRE(a != NULL);
	CHECK_EQ(audit_add(a, 5, 0, tr.it[0].s.decoded, NULL), 0);
	CHECK_EQ(audit_add(a, 5, 0, tr.it[0].s.decoded, NULL), EVC_EINVAL);
	CHECK_EQ(audit_add(a, 6, 0, NULL, NULL), EVC_EINVAL);
	REQUIRE(audit_finish(a, &f, &n) == 0);
	CHECK_EQ(audit_finish(a, &f, &n), EVC_EINVAL);
	CHECK_EQ(audit_add(a, 7, 0, tr.it[0].s.decoded, NULL), EVC_EINVAL);
	audit_free(a);
	audit_opts bad = { .open_loop_days = AUDIT_MAX_DAYS + 1 };
	CHECK(audit_new(&bad) == NULL);
	CHECK_EQ(audit_rule_from_id("over_cap"), AUDIT_OVER_CAP);
	CHECK_EQ(audit_rule_from_id("nope"), -1);
	/* 1735660800000 is 2025-01-01 00:00 +08:00 (2024-12-31 16:00 UTC) */
	CHECK_EQ(audit_year(1735660800000LL), 2025);
	CHECK_EQ(audit_year(1735660800000LL - 1), 2024);
	CHECK_EQ(audit_year(1735660800000LL + 8 * HOUR_MS), 2025);
	CHECK_EQ(audit_year(-1), 1970);
	char buf[32];
	audit_format_time(1735660800000LL, buf, sizeof buf);
	CHECK_STR(buf, "2025-01-01 00:00");
	trail_free(&tr);
	keys_skey_wipe(&sk);
}

/* ---- scale: 1,000,000 entries through the engine ------------------------------------ */

static void
t_scale(void)
{
	const size_t N = 1000000;
	char insp[32], cert1[32], cert2[32], company[19], plan[32];
	const char *agencies[8] = { AG_A, AG_B, AG_C, "聊城市消防救援支队", "聊城市卫生健康委员会",
		"聊城市交通运输局", "聊城市住房和城乡建设局", "聊城市农业农村局" };
	audit_opts o;
	memset(&o, 0, sizeof o);
	audit *a = audit_new(&o);
	REQUIRE(a != NULL);
	const int64_t T0 = 1740963600000LL;
	uint8_t sha[32] = { 1 };
	double t0 = (double)sf_mono_ms();
	int ok = 1;
	for (size_t i = 0; i < N && ok; i++) {
		size_t k = i / 5, part = i % 5;
		int64_t t = T0 + (int64_t)k * 60000;
		snprintf(insp, sizeof insp, "LC-%08zu", k);
		snprintf(cert1, sizeof cert1, "ZF-%05zu", k % 5000);
		snprintf(cert2, sizeof cert2, "ZF-%05zu", (k + 1) % 5000);
		snprintf(company, sizeof company, "91371500MA%08zu", k % 50000);
		snprintf(plan, sizeof plan, "P-%zu", k % 8);
		Record r = EVCHAIN__V1__RECORD__INIT;
		Evchain__V1__ScanIn s = EVCHAIN__V1__SCAN_IN__INIT;
		Evchain__V1__Officer o1 = EVCHAIN__V1__OFFICER__INIT, o2 = EVCHAIN__V1__OFFICER__INIT;
		Evchain__V1__Officer *offs[2] = { &o1, &o2 };
		Evchain__V1__CertificateCheck c = EVCHAIN__V1__CERTIFICATE_CHECK__INIT;
		Evchain__V1__Evidence e = EVCHAIN__V1__EVIDENCE__INIT;
		Evchain__V1__Disposition d = EVCHAIN__V1__DISPOSITION__INIT;
		r.record_id = insp;
		r.signer = "n";
		r.created_ms = t;
		switch (part) {
		case 0:
			r.body_case = EVCHAIN__V1__RECORD__BODY_SCAN_IN;
			r.scan_in = &s;
			s.inspection_id = insp;
			s.agency = (char *)agencies[k % 8];
			s.company_uscc = company;
			o1.name = o2.name = "x";
			o1.certificate_no = cert1;
			o2.certificate_no = cert2;
			s.officers = offs;
			s.n_officers = 2;
			s.device_ms = t;
			s.basis_case = SK(BASIS_PLAN_ID);
			s.plan_id = plan;
			s.kind = SK(INSPECTION_KIND__ROUTINE);
			s.entry_type = SK(ENTRY_TYPE__ADMINISTRATIVE_INSPECTION);
			break;
		case 1:
		case 2:
			r.body_case = EVCHAIN__V1__RECORD__BODY_CERTIFICATE_CHECK;
			r.certificate_check = &c;
			c.inspection_id = insp;
			c.certificate_no = part == 1 ? cert1 : cert2;
			c.result = EVCHAIN__V1__CERTIFICATE_CHECK__RESULT__VALID;
			c.verified_ms = t;
			break;
		case 3:
			r.body_case = EVCHAIN__V1__RECORD__BODY_EVIDENCE;
			r.evidence = &e;
			e.inspection_id = insp;
			e.media_kind = EVCHAIN__V1__EVIDENCE__MEDIA_KIND__PHOTO;
			e.sha256.data = sha;
			e.sha256.len = 32;
			e.capture_start_ms = t;
			break;
		default:
			r.body_case = EVCHAIN__V1__RECORD__BODY_DISPOSITION;
			r.disposition = &d;
			d.inspection_id = insp;
			d.outcome = EVCHAIN__V1__DISPOSITION__OUTCOME__NO_PROBLEM_TOLD_ON_SITE;
			d.decided_ms = t + 1000;
			break;
		}
		ok = audit_add(a, i, t + 2000, &r, "platform") == 0;
	}
	CHECK(ok);
	const audit_finding *f;
	size_t n;
	REQUIRE(audit_finish(a, &f, &n) == 0);
	double secs = ((double)sf_mono_ms() - t0) / 1000.0;
	audit_stats st;
	audit_get_stats(a, &st);
	/* the plans were never filed: one no_basis per scan-in, nothing else */
	CHECK_EQ(n, N / 5);
	CHECK_EQ(st.entries, N);
	CHECK_EQ(st.inspections, N / 5);
	CHECK_(st.memory < (200u << 20), "the engine holds %zu MiB for 1,000,000 entries",
	    st.memory >> 20);
	CHECK_(secs < 60, "the engine took %.1f s for 1,000,000 entries", secs);
	printf("scale: 1,000,000 entries through the engine in %.2f s, %zu MiB held, %" PRIu64
	    " strings interned\n", secs, st.memory >> 20, st.strings);
	audit_free(a);
}

/* ---- integration: a real evchaind ----------------------------------------------------- */

static sf_server *srv;

static int
cli(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
cli(char *out, size_t cap, const char *fmt, ...)
{
	char args[2048], cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	REQUIRE(n > 0 && (size_t)n < sizeof args);
	snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s", sf_dep, sf_prog("evchain"), args);
	return fx_run(cmd, out, cap);
}

/* Run `evchain audit` into a file; returns the exit status, stderr in err. */
static int
audit_run(const char *profile, const char *args, const char *outfile, char *err, size_t cap)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "{ cd '%s' && '%s' -c %s --server %s audit %s > '%s'; }", sf_dep,
	    sf_prog("evchain"), profile, sf_addr, args, outfile);
	return fx_run(cmd, err, cap);
}

/* Flip one bit of byte `byte` of entry `index` in the LMDB file (the
 * server stopped). */
static int
tamper(const char *dir, size_t index, size_t byte)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	size_t key = index;
	MDB_val k = { sizeof(key), &key }, v;
	int rc;
	if ((rc = mdb_env_create(&env)) != 0)
		return rc;
	mdb_env_set_maxdbs(env, 8);
	if ((rc = mdb_env_open(env, dir, 0, 0600)) != 0 || (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
		goto out;
	if ((rc = mdb_dbi_open(txn, "entries", MDB_INTEGERKEY, &dbi)) != 0 ||
	    (rc = mdb_get(txn, dbi, &k, &v)) != 0) {
		mdb_txn_abort(txn);
		goto out;
	}
	static uint8_t buf[EVC_MAX_ENTRY];
	memcpy(buf, v.mv_data, v.mv_size);
	buf[byte % v.mv_size] ^= 0x01;
	v.mv_data = buf;
	if ((rc = mdb_put(txn, dbi, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		goto out;
	}
	rc = mdb_txn_commit(txn);
out:
	mdb_env_close(env);
	return rc;
}

/* Offset of the first byte of field 2 (log_time_ms)'s varint in entry bytes. */
static size_t
log_time_offset(const uint8_t *e, size_t len)
{
	size_t i = 0;
	REQUIRE(len > 2 && e[0] == 0x08);
	i = 1;
	while (i < len && (e[i] & 0x80))
		i++;
	i++;
	REQUIRE(i < len && e[i] == 0x10);
	return i + 1;
}

static void
t_integration(void)
{
	static char out[1 << 16], err[1 << 14];
	pb_arena a;
	evc_client *c;
	sf_got g;

	sf_setup("audit");
	sf_begin("start", 20);
	srv = sf_start(sf_path("dep/evchaind.conf"), NULL);
	sf_use(srv);

	sf_begin("trail", 30);
	/* The admin registers the node key (entry 1). */
	c = sf_conn(&p_admin);
	fx_signed nk;
	evc_vkey node_vk;
	keys_public(&p_node.signing_key, &node_vk);
	REQUIRE(fx_node_key("reg-node-1", &p_admin.signing_key, &node_vk, EVCHAIN__V1__NODE_KEY__ROLE__NODE,
	    EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, fx_now_ms(), &nk) == 0);
	REQUIRE(sf_submit_ok(c, &p_admin, &nk, &g));
	fx_signed_free(&nk);
	client_close(c);

	/* The trail: every event within the last hours (the server refuses
	 * future times), open loops judged with --as-of 31 days ahead. */
	trail tr;
	memset(&tr, 0, sizeof tr);
	tr.node = &p_node.signing_key;
	tr.admin = &p_admin.signing_key;
	snprintf(tr.tag, sizeof tr.tag, "i");
	nexpects = 0;
	int64_t now = fx_now_ms(), T = now - 6 * HOUR_MS;
	uint32_t year = (uint32_t)audit_year(T);
	char cA[19], cB[19], cX[19], cY[19], cZ[19], cJ[19], cN[19], cS[19];
	sf_uscc(cA, "91371500MA0000001");
	sf_uscc(cB, "91371500MA0000002");
	sf_uscc(cX, "91371500MA0000003");
	sf_uscc(cY, "91371500MA0000004");
	sf_uscc(cZ, "91371500MA0000005");
	sf_uscc(cJ, "91371500MA0000006");
	sf_uscc(cN, "91371500MA0000007");
	sf_uscc(cS, "91371500MA0000008");
	b_plan(&tr, 0, "IP-A", AG_A, year, 0, 0, 0);
	b_plan(&tr, 0, "IP-B", AG_B, year, 0, 0, 0);
	size_t icap = b_cap(&tr, 0, AG_A, "C", year, 2);
	size_t igX = b_grade(&tr, 0, cX, AG_A, "C", year);
	b_grade(&tr, 0, cY, AG_A, "C", year);
#define SP(...) (&(spec){ __VA_ARGS__ })
	inspection(&tr, SP(.insp = "I-CLEAN-1", .agency = AG_A, .company = cA, .t = T, .plan = "IP-A"));
	inspection(&tr, SP(.insp = "I-CLEAN-2", .agency = AG_B, .company = cB, .t = T + MIN_MS,
	    .plan = "IP-B", .sens = SK(SENSITIVITY__MAJOR_PROPERTY),
	    .media = EVCHAIN__V1__EVIDENCE__MEDIA_KIND__FULL_PROCESS_RECORDING));
	/* joint inspection: A names B, B logs its own scan-in */
	inspection(&tr, SP(.insp = "I-CLEAN-JOINT-A", .agency = AG_A, .company = cJ, .t = T + 2 * MIN_MS,
	    .plan = "IP-A", .kind = SK(INSPECTION_KIND__JOINT), .joint = AG_B));
	inspection(&tr, SP(.insp = "I-CLEAN-JOINT-B", .agency = AG_B, .company = cJ, .t = T + 3 * MIN_MS,
	    .plan = "IP-B"));
	/* cap 2 reached at Y (clean), exceeded at X */
	inspection(&tr, SP(.insp = "I-CLEAN-Y1", .agency = AG_A, .company = cY, .t = T + 4 * MIN_MS,
	    .plan = "IP-A"));
	inspection(&tr, SP(.insp = "I-CLEAN-Y2", .agency = AG_A, .company = cY, .t = T + 5 * MIN_MS,
	    .plan = "IP-A"));
	ires x1 = inspection(&tr, SP(.insp = "I-X1", .agency = AG_A, .company = cX, .t = T + 6 * MIN_MS,
	    .plan = "IP-A"));
	ires x2 = inspection(&tr, SP(.insp = "I-X2", .agency = AG_A, .company = cX, .t = T + 7 * MIN_MS,
	    .plan = "IP-A"));
	ires x3 = inspection(&tr, SP(.insp = "I-X3", .agency = AG_A, .company = cX, .t = T + 8 * MIN_MS,
	    .plan = "IP-A"));
	EXPECT(AUDIT_OVER_CAP, "I-X3", 5, igX, icap, x1.scan, x2.scan, x3.scan);
	ires r;
	/* two officers, one certificate number, a blank "exception" (accepted by the log) */
	r = inspection(&tr, SP(.insp = "I-SAME-CERT", .agency = AG_B, .company = cS, .t = T + 9 * MIN_MS,
	    .plan = "IP-B", .certs = { "LC-ZF-9001", "lc-zf-9001", NULL }, .exception = " "));
	EXPECT(AUDIT_TOO_FEW_OFFICERS, "I-SAME-CERT", 1, r.scan);
	r = inspection(&tr, SP(.insp = "I-NO-SCAN", .agency = AG_A, .company = cN, .t = T + 10 * MIN_MS,
	    .no_scan = 1, .bad_check = -1));
	EXPECT(AUDIT_NO_SCAN_IN, "I-NO-SCAN", 2, r.evid, r.disp);
	r = inspection(&tr, SP(.insp = "I-OPEN", .agency = AG_B, .company = cB, .t = T + 11 * MIN_MS,
	    .plan = "IP-B", .disp_after = -1));
	EXPECT(AUDIT_OPEN_LOOP, "I-OPEN", 1, r.scan);
	r = inspection(&tr, SP(.insp = "I-CLUE", .agency = AG_A, .company = cA, .t = T + 12 * MIN_MS,
	    .basis = 'c'));
	EXPECT(AUDIT_NO_BASIS, "I-CLUE", 1, r.scan);
	r = inspection(&tr, SP(.insp = "I-EXPIRED", .agency = AG_A, .company = cA, .t = T + 13 * MIN_MS,
	    .plan = "IP-A", .bad_check = EVCHAIN__V1__CERTIFICATE_CHECK__RESULT__EXPIRED));
	EXPECT(AUDIT_UNVERIFIED_OFFICER, "I-EXPIRED", 2, r.scan, r.checks[1]);
	r = inspection(&tr, SP(.insp = "I-NO-AV", .agency = AG_B, .company = cB, .t = T + 14 * MIN_MS,
	    .plan = "IP-B", .sens = SK(SENSITIVITY__LIFE_AND_HEALTH),
	    .media = EVCHAIN__V1__EVIDENCE__MEDIA_KIND__VIDEO));
	EXPECT(AUDIT_MISSING_AV, "I-NO-AV", 1, r.scan);
	ires mz = inspection(&tr, SP(.insp = "I-MULTI-B", .agency = AG_B, .company = cZ, .t = T + 15 * MIN_MS,
	    .plan = "IP-B"));
	r = inspection(&tr, SP(.insp = "I-MULTI-A", .agency = AG_A, .company = cZ, .t = T + 16 * MIN_MS,
	    .plan = "IP-A"));
	EXPECT(AUDIT_MULTI_AGENCY, "I-MULTI-A", 2, mz.scan, r.scan);
	{
		/* evidence captured 30 hours ago, logged now */
		spec s = { .insp = "I-LATE", .agency = AG_A, .company = cA, .t = T + 17 * MIN_MS, .plan = "IP-A",
			.media = -1 };
		r = inspection(&tr, &s);
		size_t ev = b_evid(&tr, 0, "I-LATE", EVCHAIN__V1__EVIDENCE__MEDIA_KIND__PHOTO,
		    now - 31 * HOUR_MS, now - 30 * HOUR_MS, cA);
		EXPECT(AUDIT_LATE_RECORD, "I-LATE", 1, ev);
	}
	r = inspection(&tr, SP(.insp = "I-COMPLAINED", .agency = AG_A, .company = cA, .t = T + 18 * MIN_MS,
	    .plan = "IP-A"));
	size_t fb = b_feedback(&tr, 0, cA, "I-COMPLAINED", EVCHAIN__V1__COMPANY_FEEDBACK__FEEDBACK_TYPE__COMPLAINT,
	    EVCHAIN__V1__COMPANY_FEEDBACK__COMPLAINT_TYPE__MISCONDUCT, T + 19 * MIN_MS, NULL);
	EXPECT(AUDIT_COMPLAINT, "I-COMPLAINED", 2, fb, r.scan);
#undef SP
	/* Submit in trail order, 32 a batch: the log assigns the indices. */
	c = sf_conn(&p_node);
	evc_client *ca = sf_conn(&p_admin);
	for (size_t i = 0; i < tr.n; i++) {
		item *it = &tr.it[i];
		int admin = strcmp(it->s.decoded->signer, p_admin.signing_key.name) == 0;
		CHECK_(sf_submit_ok(admin ? ca : c, admin ? &p_admin : &p_node, &it->s, &g),
		    "submit of trail record %zu", i);
		it->index = g.index;
	}
	client_close(c);
	client_close(ca);
	uint64_t size = g.index + 1;

	/* Is `audit` hooked into the CLI? */
	int rc = cli(out, sizeof out, "-c supervisor.conf --server %s audit --help", sf_addr);
	if (rc != 0 || strstr(out, "unknown command") != NULL) {
		CHECK_(0, "audit is not hooked into client/main.c (add the audit lines to main.c): "
		    "`evchain audit --help` exits %d: %.200s", rc, out);
		trail_free(&tr);
		return;
	}

	sf_begin("audit", 40);
	char as_of[64];
	snprintf(as_of, sizeof as_of, "--as-of %" PRId64, (int64_t)(now + 31 * DAY_MS));
	const char *json = sf_path("audit.json");
	char args[512];
	snprintf(args, sizeof args, "--format json %s", as_of);
	rc = audit_run("supervisor.conf", args, json, err, sizeof err);
	CHECK_(rc == 0, "audit --format json: exit %d: %s", rc, err);
	CHECK_(strstr(err, "findings") != NULL, "no summary on stderr: %s", err);
	/* Parse the findings (evchain.v1.Finding, one per line). */
	FILE *jf = fopen(json, "r");
	REQUIRE(jf != NULL);
	char line[8192];
	size_t nfind = 0;
	while (fgets(line, sizeof line, jf) != NULL) {
		json_error_t je;
		json_t *j = json_loads(line, 0, &je);
		CHECK_(j != NULL, "a JSON line does not parse: %s", line);
		if (j == NULL)
			continue;
		pb_arena_init(&a, 1 << 20);
		ProtobufCMessage *m = NULL;
		char perr[256];
		int prc = pbjson_decode(&evchain__v1__finding__descriptor, j, &a, &m, perr, sizeof perr);
		CHECK_(prc == 0, "a finding is not an evchain.v1.Finding: %s: %s", perr, line);
		if (prc == 0) {
			Evchain__V1__Finding *f = (Evchain__V1__Finding *)m;
			int rule = audit_rule_from_id(f->rule);
			int ok = match(&tr, rule, f->inspection_id, f->entry_indices, f->n_entry_indices);
			CHECK_(ok, "unexpected finding: %s", line);
			CHECK_(strncmp(f->inspection_id, "I-CLEAN", 7) != 0, "a clean inspection flagged: %s",
			    line);
			for (size_t k = 0; k < f->n_entry_indices; k++)
				CHECK(f->entry_indices[k] < size);
			nfind++;
		}
		pb_arena_free(&a);
		json_decref(j);
	}
	fclose(jf);
	expect_all_found(&tr, "integration");
	CHECK_EQ(nfind, nexpects);

	/* The other formats, the discipline commission, a node (refused). */
	snprintf(args, sizeof args, "%s --bundle '%s'", as_of, sf_path("bundles"));
	rc = audit_run("discipline.conf", args, sf_path("audit.txt"), err, sizeof err);
	CHECK_(rc == 0, "audit (text) as discipline: exit %d: %s", rc, err);
	snprintf(line, sizeof line, "grep -c 'finding' '%s'", sf_path("audit.txt"));
	rc = fx_run(line, out, sizeof out);
	CHECK_(rc == 0, "text report: %s", out);
	snprintf(line, sizeof line, "'%s' bundle '%s' --log-key '%s'", sf_prog("evchain-verify"),
	    sf_path("bundles/I-X3.bundle"), sf_path("dep/log.pub"));
	rc = fx_run(line, out, sizeof out);
	CHECK_(rc == 0, "the exported bundle of I-X3 does not verify: %d: %.500s", rc, out);
	snprintf(args, sizeof args, "--format csv %s", as_of);
	rc = audit_run("supervisor.conf", args, sf_path("audit.csv"), err, sizeof err);
	CHECK_(rc == 0, "audit --format csv: exit %d: %s", rc, err);
	snprintf(args, sizeof args, "--format html %s --agency %s", as_of, AG_A);
	rc = audit_run("supervisor.conf", args, sf_path("audit.html"), err, sizeof err);
	CHECK_(rc == 0, "audit --format html: exit %d: %s", rc, err);
	snprintf(line, sizeof line, "grep -c '<svg' '%s' && grep -c 'href=\"#e' '%s' && "
	    "! grep -q '%s' '%s'", sf_path("audit.html"), sf_path("audit.html"), AG_B "<", sf_path("audit.html"));
	rc = fx_run(line, out, sizeof out);
	CHECK_(rc == 0, "html report (svg, entry links, agency filter): %s", out);
	rc = audit_run("node.conf", "", sf_path("audit.node"), err, sizeof err);
	CHECK_(rc == 1 && strstr(err, "permission denied"), "audit as a node: exit %d: %s", rc, err);
	rc = audit_run("supervisor.conf", "--format yaml", sf_path("audit.bad"), err, sizeof err);
	CHECK_EQ(rc, 2);

	/* Tampering: the audit must stop at the altered entry and print no
	 * finding. The bytes are altered in the LMDB file under the running
	 * server (as an intruder with the disk would: evchaind may refuse to
	 * start on a ledger whose entries no longer give its tree hashes, but
	 * it serves what the file holds). */
	struct {
		uint64_t index;
		int where;       /* 0: inside the record; 1: the log time */
	} tampers[3] = { { IX(&tr, x2.evid), 0 }, { IX(&tr, x1.checks[0]), 1 }, { size - 1, 1 } };
	for (int k = 0; k < 3; k++) {
		sf_begin("tamper", 40);
		ledger *l;
		ledger_opts lo = { .read_only = 1, .no_check = 1 };
		char lerr[256];
		REQUIRE(ledger_open(sf_path("dep/data"), &lo, &l, lerr, sizeof lerr) == 0);
		ledger_txn *t;
		const uint8_t *eb;
		size_t el, byte;
		REQUIRE(ledger_read_begin(l, &t) == 0);
		REQUIRE(ledger_entry(t, tampers[k].index, &eb, &el) == 0);
		byte = tampers[k].where == 0 ? el - 100 : log_time_offset(eb, el);
		ledger_read_end(t);
		ledger_close(l);
		REQUIRE(tamper(sf_path("dep/data"), (size_t)tampers[k].index, byte) == 0);
		rc = audit_run("supervisor.conf", "--format json", sf_path("audit.tampered"), err, sizeof err);
		char want[80];
		snprintf(want, sizeof want, "verification failed at entry %" PRIu64 ":", tampers[k].index);
		CHECK_(rc == 1 && strstr(err, want) != NULL, "tamper %d (entry %" PRIu64 ", byte %zu): exit %d: "
		    "%s", k, tampers[k].index, byte, rc, err);
		printf("tamper %d: %s", k, err);
		struct stat stt;
		CHECK_(stat(sf_path("audit.tampered"), &stt) == 0 && stt.st_size == 0,
		    "findings were printed after a verification failure");
		/* put the byte back for the next case */
		REQUIRE(tamper(sf_path("dep/data"), (size_t)tampers[k].index, byte) == 0);
	}
	/* restored: the audit passes again */
	rc = audit_run("supervisor.conf", "--format json", sf_path("audit.restored"), err, sizeof err);
	CHECK_(rc == 0, "audit after restoring: exit %d: %s", rc, err);
	alarm(0);
	trail_free(&tr);
}

/* ---- the benchmark ledger ------------------------------------------------------------- */

static int
bench_ledger(const char *dep, uint64_t n)
{
	char path[1024], err[512];
	evc_skey log_sk, admin_sk, node_sk;
	evc_vkey admin_vk, node_vk;
	REQUIRE(sodium_init() >= 0);
#define KEYFILE(f) (snprintf(path, sizeof path, "%s/%s", dep, f), path)
	if (keys_read_private(KEYFILE("log.key"), NULL, 0, &log_sk) != 0 ||
	    keys_read_private(KEYFILE("admin.key"), NULL, 0, &admin_sk) != 0 ||
	    keys_read_private(KEYFILE("node.key"), NULL, 0, &node_sk) != 0) {
		fprintf(stderr, "bench-ledger: cannot read the keys of %s (an `evchain-keys dev` deployment)\n",
		    dep);
		return 2;
	}
	keys_public(&admin_sk, &admin_vk);
	keys_public(&node_sk, &node_vk);
	ledger *l;
	ledger_opts lo = { .no_sync = 1, .map_size = 4ull << 30 };
	if (ledger_open(KEYFILE("data"), &lo, &l, err, sizeof err) != 0) {
		fprintf(stderr, "bench-ledger: %s\n", err);
		return 1;
	}
	if (ledger_size(l) != 0) {
		fprintf(stderr, "bench-ledger: %s/data is not empty\n", dep);
		ledger_close(l);
		return 1;
	}
	static const char *agencies[8] = { AG_A, AG_B, AG_C, "聊城市消防救援支队", "聊城市卫生健康委员会",
		"聊城市交通运输局", "聊城市住房和城乡建设局", "聊城市农业农村局" };
	enum { NCO = 50000, PER_AG = NCO / 8 };
	static char cos[NCO][19];
	for (int k = 0; k < NCO; k++) {
		char first[18];
		snprintf(first, sizeof first, "91371500MA%07d", k);
		sf_uscc(cos[k], first);
	}
	int64_t start = fx_now_ms();
	uint32_t year = (uint32_t)audit_year(start);
	uint64_t ninsp = n > 100 ? (n - 100) / 5 : 1;
	int64_t span = 20 * HOUR_MS, t0 = start - 22 * HOUR_MS;
	trail tr;
	memset(&tr, 0, sizeof tr);
	tr.node = &node_sk;
	tr.admin = &admin_sk;
	snprintf(tr.tag, sizeof tr.tag, "b");
	/* entries 0 and 1: the admin key (by the log key), the node key (by the admin) */
	fx_signed ks;
	REQUIRE(fx_node_key("admin-key", &log_sk, &admin_vk, EVCHAIN__V1__NODE_KEY__ROLE__ADMIN,
	    EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, start - DAY_MS, &ks) == 0);
	tr.it = calloc(1, sizeof(*tr.it));
	tr.cap = 1;
	tr.it[0].s = ks;
	tr.n = 1;
	uint64_t done = 0;
	ledger_head *head = malloc(sizeof(*head));
	ledger_item *items = calloc(1024, sizeof(*items));
	REQUIRE(head != NULL && items != NULL);
	double tstart = (double)sf_mono_ms();
#define FLUSH()                                                                              \
	do {                                                                                 \
		for (size_t q = 0; q < tr.n; q++) {                                          \
			memset(&items[q], 0, sizeof(items[q]));                              \
			items[q].record = tr.it[q].s.rec;                                    \
			items[q].record_len = tr.it[q].s.len;                                \
			items[q].sig = tr.it[q].s.sig;                                       \
			items[q].rec = tr.it[q].s.decoded;                                   \
		}                                                                            \
		REQUIRE(ledger_append(l, items, tr.n, &log_sk, fx_now_ms(), head) == 0);     \
		done += tr.n;                                                                \
		for (size_t q = 0; q < tr.n; q++)                                            \
			fx_signed_free(&tr.it[q].s);                                         \
		tr.n = 0;                                                                    \
	} while (0)
	FLUSH();
	REQUIRE(fx_node_key("node-key", &admin_sk, &node_vk, EVCHAIN__V1__NODE_KEY__ROLE__NODE,
	    EVCHAIN__V1__NODE_KEY__ACTION__REGISTER, start - DAY_MS, &ks) == 0);
	tr.it[0].s = ks;
	tr.n = 1;
	FLUSH();
	/* policy: an annual plan per agency, caps, grades for 1% of the companies */
	char pid[8][32];
	for (int k = 0; k < 8; k++) {
		snprintf(pid[k], sizeof pid[k], "BP-%d-%u", k, year);
		b_plan(&tr, 0, pid[k], agencies[k], year, 0, 0, 0);
		b_cap(&tr, 0, agencies[k], "C", year, 2);
	}
	for (int k = 0; k < NCO; k += 100)
		b_grade(&tr, 0, cos[k], agencies[k / PER_AG], "C", year);
	FLUSH();
	char insp[32];
	for (uint64_t i = 0; done < n; i++) {
		int ag = (int)(i % 8), plant = (int)(i % 100);
		int co_k = ag * PER_AG + (int)((i / 8) % PER_AG);
		if (plant == 5) /* another agency's company: multi_agency */
			co_k = ((ag + 1) % 8) * PER_AG + (int)((i / 8) % PER_AG);
		snprintf(insp, sizeof insp, "LC-%d-%08" PRIu64, ag, i);
		int64_t t = t0 + (int64_t)((double)span * (double)(i % ninsp) / (double)ninsp);
		spec s;
		memset(&s, 0, sizeof s);
		s.insp = insp;
		s.agency = agencies[ag];
		s.company = cos[co_k];
		s.t = t;
		s.plan = pid[ag];
		if (plant == 0) {
			static const char *one[2] = { "LC-ZF-0000", NULL };
			s.certs[0] = one[0];
			s.exception = " ";
		}
		s.no_scan = plant == 1;
		if (plant == 1)
			s.bad_check = -1;
		if (plant == 2)
			s.basis = 'c';
		if (plant == 3)
			s.bad_check = EVCHAIN__V1__CERTIFICATE_CHECK__RESULT__EXPIRED;
		if (plant == 4)
			s.sens = SK(SENSITIVITY__LIFE_AND_HEALTH);
		if (plant == 6)
			s.ev_late = 0; /* see below: the evidence is back-dated instead */
		ires r = inspection(&tr, &s);
		(void)r;
		if (plant == 1) /* keep 5 entries per inspection */
			b_evid(&tr, 0, insp, EVCHAIN__V1__EVIDENCE__MEDIA_KIND__PHOTO, t, t + MIN_MS, s.company);
		if (plant == 0)
			b_evid(&tr, 0, insp, EVCHAIN__V1__EVIDENCE__MEDIA_KIND__DOCUMENT, t, t + MIN_MS, s.company);
		if (plant == 6)
			b_evid(&tr, 0, insp, EVCHAIN__V1__EVIDENCE__MEDIA_KIND__PHOTO, start - 31 * HOUR_MS,
			    start - 30 * HOUR_MS, s.company);
		if (plant == 7)
			b_feedback(&tr, 0, s.company, insp, EVCHAIN__V1__COMPANY_FEEDBACK__FEEDBACK_TYPE__COMPLAINT,
			    EVCHAIN__V1__COMPANY_FEEDBACK__COMPLAINT_TYPE__TOO_FREQUENT, t + HOUR_MS, NULL);
		if (tr.n >= 1000 || done + tr.n >= n) {
			/* never more than n entries */
			while (done + tr.n > n) {
				fx_signed_free(&tr.it[tr.n - 1].s);
				tr.n--;
			}
			FLUSH();
			if (done % 100000 < 1000)
				fprintf(stderr, "bench-ledger: %" PRIu64 " / %" PRIu64 " entries (%.0f/s)\n", done, n,
				    (double)done * 1000.0 / ((double)sf_mono_ms() - tstart + 1));
		}
	}
#undef FLUSH
	ledger_close(l);
	printf("bench-ledger: %" PRIu64 " entries in %s/data in %.1f s\n", done, dep,
	    ((double)sf_mono_ms() - tstart) / 1000.0);
	free(head);
	free(items);
	trail_free(&tr);
	keys_skey_wipe(&log_sk);
	keys_skey_wipe(&admin_sk);
	keys_skey_wipe(&node_sk);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--bench-ledger") == 0)
		return bench_ledger(argv[2], strtoull(argv[3], NULL, 10));
	REQUIRE(sodium_init() >= 0);
	companies();
	t_engine();
	t_scale();
	t_integration();
	CHECK_DONE("test_audit");
}
