/*
 * bench_gen.c — the records evchain-bench submits: one inspection told in four
 * records (扫码入企 scan-in, a photo, the full-process recording, the
 * disposition), as in tests/unit/fixture.h and lib/examples.c, with every
 * identifier distinct: inspection ids are numbered per agency as agencies do
 * (LC-SCJG-2025-<run tag>-0000001; or UUID-like with --ids random), record ids
 * are the inspection id and the step, evidence digests are SHA-256 of the
 * record id, companies have
 * valid 统一社会信用代码 (GB 32100 and GB 11714 check characters), officers
 * come in distinct pairs. Every record passes record_validate before it is
 * signed; signing runs on every core, before any clock starts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bench.h"
#include "evc.h"
#include "hash.h"
#include "pb.h"
#include "record.h"

static const char *const agencies[] = {
	"聊城市市场监督管理局", "聊城市应急管理局", "聊城市生态环境局",
	"聊城市消防救援支队", "聊城市卫生健康委员会", "东昌府区市场监督管理局",
};
#define NAGENCIES (sizeof(agencies) / sizeof(agencies[0]))
/* Each agency numbers its inspections (LC-SCJG-2025-0001 in lib/examples.c). */
static const char *const agency_codes[] = { "SCJG", "YJGL", "STHJ", "XFJY", "WJW", "DCF-SCJG" };
_Static_assert(sizeof(agency_codes) / sizeof(agency_codes[0]) == NAGENCIES, "one code per agency");
static const char *const step_suffix[] = { "scan-in", "E01", "E02", "disposition" };

static const char *const surnames[] = { "张", "李", "王", "刘", "陈", "杨", "赵", "黄", "周", "吴" };
static const char *const givens[] = { "伟", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰",
	"强", "芳" };

static const char *const proves[] = {
	"生产车间消防通道堵塞，安全出口指示标志损坏",
	"成品仓库3批次深沟球轴承外包装未标注生产厂厂名和厂址，企业负责人在场确认",
	"检查全过程音像记录：出示电子执法证件、告知检查依据、现场检查、告知结果",
	"危险化学品储存场所未按规定设置警示标识",
	"特种设备安全技术档案齐全，现场未发现问题",
};
#define NPROVES (sizeof(proves) / sizeof(proves[0]))

/* GB 11714 organisation code (8 characters + check) inside a GB 32100 code. */
static int
gb11714_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return c - 'A' + 10;
}

/* A valid 18-character 统一社会信用代码 for company number k (< 10^6). */
static void
make_uscc(uint32_t k, char out[19])
{
	static const unsigned w[8] = { 3, 7, 9, 10, 5, 8, 4, 2 };
	char org[10];
	snprintf(org, sizeof(org), "MA%06u", (unsigned)(k % 1000000u));
	unsigned sum = 0;
	for (int i = 0; i < 8; i++)
		sum += (unsigned)gb11714_value(org[i]) * w[i];
	unsigned c9 = 11 - sum % 11;
	org[8] = c9 == 10 ? 'X' : c9 == 11 ? '0' : (char)('0' + c9);
	org[9] = '\0';
	snprintf(out, 19, "91371502%s", org);
	out[17] = 'X';
	out[18] = '\0';
	char expected = 0;
	if (!uscc_valid(out, &expected) && expected != 0)
		out[17] = expected;
}

static void
officer_name(uint32_t k, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%s", surnames[k % 10], givens[(k / 10) % 12]);
}

typedef struct gen_ctx {
	const evc_skey *sk;
	const char *tag;
	int random_ids;
	uint64_t seq0;
	bench_rec *recs;
	size_t from, to;            /* this thread's share of recs */
	int64_t now;
	uint64_t bytes;
	size_t kinds[4];
	char err[512];
	int failed, started;
} gen_ctx;

/* Build, validate, encode and sign record number seq into *out. */
static int
make_one(gen_ctx *g, uint64_t seq, bench_rec *out)
{
	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__ScanIn s = EVCHAIN__V1__SCAN_IN__INIT;
	Evchain__V1__Evidence ev = EVCHAIN__V1__EVIDENCE__INIT;
	Evchain__V1__Disposition dp = EVCHAIN__V1__DISPOSITION__INIT;
	Evchain__V1__Officer o1 = EVCHAIN__V1__OFFICER__INIT, o2 = EVCHAIN__V1__OFFICER__INIT;
	Evchain__V1__Officer *offs[2] = { &o1, &o2 };
	Evchain__V1__Location loc = EVCHAIN__V1__LOCATION__INIT;
	Evchain__V1__ScanIn__Clue clue = EVCHAIN__V1__SCAN_IN__CLUE__INIT;
	char rid[128], insp[80], uscc[19], cname[96], n1[32], n2[32], c1[32], c2[32], plan[48];
	char addr[128], fname[128], caseno[64], draw[64], clueref[64];
	uint8_t sha[32];
	uint64_t in = seq / 4;                 /* the inspection */
	unsigned step = (unsigned)(seq % 4);
	uint32_t company = (uint32_t)((in * 7919u) % 200000u);
	uint32_t off1 = (uint32_t)((in * 2u) % 600u), off2 = off1 + 1;
	const char *agency = agencies[in % NAGENCIES];
	int64_t t = g->now - (int64_t)(4 - step) * 600000; /* the inspection's story, 10 min apart */
	char why[384];

	if (g->random_ids) {
		/* Identifiers without order (UUID-like): every insert lands on a
		 * random page of the ledger's record and inspection indexes. */
		uint8_t h[32];
		char hx[65];
		char src[64];
		snprintf(src, sizeof(src), "%s/%" PRIu64, g->tag, in);
		crypto_hash_sha256(h, (const uint8_t *)src, strlen(src));
		hash_hex(h, 16, hx);
		snprintf(insp, sizeof(insp), "%.8s-%.4s-%.4s-%.4s-%.12s", hx, hx + 8, hx + 12, hx + 16,
		    hx + 20);
	} else {
		/* As agencies number them: LC-SCJG-2025-<run>-0000001, … */
		snprintf(insp, sizeof(insp), "LC-%s-2025-%s-%07" PRIu64, agency_codes[in % NAGENCIES],
		    g->tag, in / NAGENCIES);
	}
	snprintf(rid, sizeof(rid), "%s-%s", insp, step_suffix[step]);
	make_uscc(company, uscc);
	snprintf(cname, sizeof(cname), "聊城示例制造%05u有限公司", (unsigned)company);
	officer_name(off1, n1, sizeof(n1));
	officer_name(off2 * 7u, n2, sizeof(n2));
	snprintf(c1, sizeof(c1), "LC-ZF-%06u", (unsigned)off1);
	snprintf(c2, sizeof(c2), "LC-ZF-%06u", (unsigned)off2);
	o1.name = n1;
	o1.certificate_no = c1;
	o2.name = n2;
	o2.certificate_no = c2;
	snprintf(addr, sizeof(addr), "山东省聊城市东昌府区示例路%u号", (unsigned)(company % 900u) + 1u);
	loc.latitude = 36.40 + (double)(company % 1000u) / 10000.0;
	loc.longitude = 115.90 + (double)(company % 997u) / 10000.0;
	loc.address = addr;

	r.record_id = rid;
	r.signer = (char *)g->sk->name;
	r.created_ms = t;
	switch (step) {
	case 0: /* 扫码入企 */
		r.body_case = EVCHAIN__V1__RECORD__BODY_SCAN_IN;
		r.scan_in = &s;
		s.inspection_id = insp;
		s.agency = (char *)agency;
		s.company_uscc = uscc;
		s.company_name = cname;
		s.n_officers = 2;
		s.officers = offs;
		s.device_ms = t - 5000;
		if (in % 10 == 9) {
			s.method = EVCHAIN__V1__SCAN_IN__METHOD__LOCATION_CHECKIN;
			loc.accuracy_m = 12.5;
			s.location = &loc;
		} else {
			s.method = EVCHAIN__V1__SCAN_IN__METHOD__LICENCE_QR_SCAN;
		}
		if (in % 7 == 6) {
			snprintf(clueref, sizeof(clueref), "12345-2025-%06u", (unsigned)(in % 1000000u));
			s.basis_case = EVCHAIN__V1__SCAN_IN__BASIS_CLUE;
			s.clue = &clue;
			clue.source = "12345政务服务便民热线";
			clue.reference = clueref;
			clue.description = "群众反映企业夜间违规排放";
			s.kind = EVCHAIN__V1__SCAN_IN__INSPECTION_KIND__SPECIAL;
		} else {
			snprintf(plan, sizeof(plan), "LC-JH-2025-%02u", (unsigned)(in % NAGENCIES) + 1u);
			s.basis_case = EVCHAIN__V1__SCAN_IN__BASIS_PLAN_ID;
			s.plan_id = plan;
			if (in % 2 == 0) {
				s.kind = EVCHAIN__V1__SCAN_IN__INSPECTION_KIND__RANDOM_DRAW;
				snprintf(draw, sizeof(draw), "LC-SSJ-2025-%05u", (unsigned)(in % 100000u));
				s.random_draw_ref = draw;
			} else {
				s.kind = EVCHAIN__V1__SCAN_IN__INSPECTION_KIND__ROUTINE;
			}
		}
		s.entry_type = EVCHAIN__V1__SCAN_IN__ENTRY_TYPE__ADMINISTRATIVE_INSPECTION;
		s.checklist_id = "LC-BD-2025-03";
		break;
	case 1: /* a photo */
	case 2: /* the full-process recording (全过程音像记录) */
		r.body_case = EVCHAIN__V1__RECORD__BODY_EVIDENCE;
		r.evidence = &ev;
		ev.inspection_id = insp;
		ev.evidence_id = rid;
		crypto_hash_sha256(sha, (const uint8_t *)rid, strlen(rid));
		ev.sha256.data = sha;
		ev.sha256.len = 32;
		if (step == 1) {
			ev.media_kind = EVCHAIN__V1__EVIDENCE__MEDIA_KIND__PHOTO;
			ev.size = 2000000u + (uint64_t)(seq % 1000000u);
			ev.capture_start_ms = t - 900000;
			ev.capture_end_ms = ev.capture_start_ms;
			ev.media_type = "image/jpeg";
			snprintf(fname, sizeof(fname), "%s-P01.jpg", insp);
		} else {
			ev.media_kind = EVCHAIN__V1__EVIDENCE__MEDIA_KIND__FULL_PROCESS_RECORDING;
			ev.size = 700000000u + (uint64_t)(seq % 100000000u);
			ev.capture_start_ms = t - 1800000 - 3600000;
			ev.capture_end_ms = t - 1800000;
			ev.media_type = "video/mp4";
			snprintf(fname, sizeof(fname), "%s-全过程记录.mp4", insp);
		}
		ev.file_name = fname;
		ev.place = &loc;
		ev.recorder = step == 1 ? &o1 : &o2;
		ev.proves = (char *)proves[(seq / 4 + step) % NPROVES];
		ev.company_uscc = uscc;
		break;
	default: /* 检查结果处置, closing the inspection */
		r.body_case = EVCHAIN__V1__RECORD__BODY_DISPOSITION;
		r.disposition = &dp;
		dp.inspection_id = insp;
		dp.decided_by = n1;
		dp.decided_ms = t - 60000;
		dp.ended_ms = t - 30000;
		dp.company_uscc = uscc;
		dp.agency = (char *)agency;
		switch (in % 5) {
		case 0:
			dp.outcome = EVCHAIN__V1__DISPOSITION__OUTCOME__NO_PROBLEM_TOLD_ON_SITE;
			dp.findings = "未发现问题，当场告知企业检查结果";
			break;
		case 1:
			dp.outcome = EVCHAIN__V1__DISPOSITION__OUTCOME__CORRECT_BY_DEADLINE;
			dp.deadline_ms = t + 14LL * 86400000;
			dp.legal_basis = "《中华人民共和国产品质量法》第二十七条";
			dp.findings = "产品标识不符合规定，责令限期改正并书面报告整改情况";
			break;
		case 2:
			dp.outcome = EVCHAIN__V1__DISPOSITION__OUTCOME__CORRECT_IMMEDIATELY;
			dp.legal_basis = "《中华人民共和国消防法》第二十八条";
			dp.findings = "消防通道堵塞，责令立即改正，现场已整改完毕";
			break;
		case 3:
			dp.outcome = EVCHAIN__V1__DISPOSITION__OUTCOME__CASE_FILED;
			snprintf(caseno, sizeof(caseno), "LC-LA-2025-%06u", (unsigned)(in % 1000000u));
			dp.case_no = caseno;
			dp.legal_basis = "《中华人民共和国行政处罚法》第五十四条";
			dp.findings = "涉嫌违法，依法立案调查";
			break;
		default:
			dp.outcome = EVCHAIN__V1__DISPOSITION__OUTCOME__NO_PENALTY_FIRST_VIOLATION;
			dp.legal_basis = "《中华人民共和国行政处罚法》第三十三条第一款";
			dp.findings = "首次违法且危害后果轻微并及时改正，依法不予行政处罚";
			break;
		}
		break;
	}
	if (record_validate(&r, g->now, why, sizeof(why)) != 0) {
		snprintf(g->err, sizeof(g->err), "generated record %" PRIu64 " is invalid: %s", seq, why);
		return -1;
	}
	out->bytes = pb_pack(&r.base, &out->len);
	if (out->bytes == NULL) {
		snprintf(g->err, sizeof(g->err), "out of memory");
		return -1;
	}
	record_sign(g->sk, out->bytes, out->len, out->sig);
	g->bytes += out->len;
	g->kinds[step]++;
	return 0;
}

static void *
gen_main(void *arg)
{
	gen_ctx *g = arg;
	for (size_t i = g->from; i < g->to; i++)
		if (make_one(g, g->seq0 + i, &g->recs[i]) != 0) {
			g->failed = 1;
			break;
		}
	return NULL;
}

int
bench_generate(const evc_skey *sk, const char *tag, int random_ids, uint64_t seq0, size_t n,
    unsigned threads, bench_set *out, char *err, size_t errcap)
{
	memset(out, 0, sizeof(*out));
	if (threads == 0)
		threads = bench_ncpu();
	if ((size_t)threads > n)
		threads = n ? (unsigned)n : 1;
	out->recs = calloc(n ? n : 1, sizeof(*out->recs));
	gen_ctx *g = calloc(threads, sizeof(*g));
	pthread_t *th = calloc(threads, sizeof(*th));
	int ret = -1;
	if (out->recs == NULL || g == NULL || th == NULL) {
		snprintf(err, errcap, "out of memory for %zu records", n);
		goto out;
	}
	out->n = n;
	int64_t t0 = bench_mono_ns(), now = bench_now_ms();
	for (unsigned i = 0; i < threads; i++) {
		g[i].sk = sk;
		g[i].tag = tag;
		g[i].random_ids = random_ids;
		g[i].seq0 = seq0;
		g[i].recs = out->recs;
		g[i].from = n * i / threads;
		g[i].to = n * (i + 1) / threads;
		g[i].now = now;
		if (pthread_create(&th[i], NULL, gen_main, &g[i]) != 0)
			gen_main(&g[i]); /* no thread: do this share here */
		else
			g[i].started = 1;
	}
	ret = 0;
	for (unsigned i = 0; i < threads; i++) {
		if (g[i].started)
			pthread_join(th[i], NULL);
		if (g[i].failed) {
			if (ret == 0)
				snprintf(err, errcap, "%s", g[i].err);
			ret = -1;
		}
		out->total_bytes += g[i].bytes;
		for (int k = 0; k < 4; k++)
			out->kinds[k] += g[i].kinds[k];
	}
	out->sign_seconds = (double)(bench_mono_ns() - t0) / 1e9;
	out->sign_threads = threads;
out:
	free(g);
	free(th);
	if (ret != 0)
		bench_set_free(out);
	return ret;
}

void
bench_set_free(bench_set *s)
{
	if (s->recs != NULL)
		for (size_t i = 0; i < s->n; i++)
			free(s->recs[i].bytes);
	free(s->recs);
	memset(s, 0, sizeof(*s));
}
