/*
 * verify_bundle.c — `evchain-verify bundle FILE --log-key PUB …`: verify an
 * evidence bundle offline (lib/bundle.h does the checks) and print the
 * report a judge reads, with Chinese and English labels, as text on stdout
 * and, with --html, as one self-contained printable HTML page.
 *
 * Exit status: 0 verified, 1 any check failed (or the bundle or a key could
 * not be read), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "evc.h"
#include "hash.h"
#include "keys.h"
#include "media.h"
#include "note.h"
#include "policy.h"
#include "record.h"
#include "verify.h"

#define K(x) EVCHAIN__V1__RECORD_KIND__RECORD_KIND_##x
#define OK_MARK "✓"
#define BAD_MARK "✗"
#define NA_MARK "–"

/* ======================================================================== */
/* Output: one document, written as text or as HTML                          */
/* ======================================================================== */

typedef struct doc {
	FILE *f;
	int html;
	int indent;      /* text: spaces before a line */
	int in_table;    /* html: a key/value table is open */
	int in_list;     /* html: a list is open */
} doc;

/* Columns a UTF-8 string takes on a terminal (wide East Asian characters 2). */
static size_t
display_width(const char *s)
{
	size_t w = 0;
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		unsigned cp;
		size_t n;
		if (*p < 0x80) {
			cp = *p;
			n = 1;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1fu;
			n = 2;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0fu;
			n = 3;
		} else {
			cp = *p & 0x07u;
			n = 4;
		}
		size_t k = 1;
		for (; k < n && (p[k] & 0xc0) == 0x80; k++)
			cp = (cp << 6) | (p[k] & 0x3fu);
		p += k;
		w += (cp >= 0x2e80 && cp <= 0xffdc) || (cp >= 0x20000 && cp <= 0x3fffd) ? 2 : 1;
	}
	return w;
}

/* Write s for the output, HTML-escaped for HTML. Text from the bundle is
 * hostile until verified: control characters (C0, DEL, C1 — terminal escape
 * sequences) and bidirectional overrides are shown as '?'. */
static void
put(doc *d, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	for (; *p != '\0'; p++) {
		if (*p < 0x20 && *p != '\n') {
			fputc('?', d->f);
		} else if (*p == 0x7f) {
			fputc('?', d->f);
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			fputc('?', d->f);
			p++;
		} else if (*p == 0xe2 && ((p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
		    (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9))) {
			/* Bidirectional overrides and isolates (U+202A–202E,
			 * U+2066–2069) could make a record read otherwise. */
			fputc('?', d->f);
			p += 2;
		} else if (d->html && *p == '&') {
			fputs("&amp;", d->f);
		} else if (d->html && *p == '<') {
			fputs("&lt;", d->f);
		} else if (d->html && *p == '>') {
			fputs("&gt;", d->f);
		} else if (d->html && *p == '"') {
			fputs("&quot;", d->f);
		} else if (d->html && *p == '\'') {
			fputs("&#39;", d->f);
		} else if (d->html && *p == '\n') {
			fputs("<br>", d->f);
		} else if (*p == '\n') {
			fputc('\n', d->f);
			for (int i = 0; i < d->indent + 4; i++)
				fputc(' ', d->f);
		} else {
			fputc(*p, d->f);
		}
	}
}

/* Raw markup (HTML only). */
static void
raw(doc *d, const char *s)
{
	if (d->html)
		fputs(s, d->f);
}

static void
pad(doc *d)
{
	for (int i = 0; i < d->indent; i++)
		fputc(' ', d->f);
}

static const char css[] =
	"body{font-family:\"Noto Serif CJK SC\",\"Source Han Serif SC\",\"SimSun\",serif;"
	"margin:2em auto;max-width:60em;color:#111;line-height:1.45}"
	"h1{font-size:1.5em;border-bottom:3px double #333;padding-bottom:.3em}"
	"h2{font-size:1.2em;border-bottom:1px solid #999;margin-top:1.6em}"
	"h3{font-size:1.05em;margin:1.2em 0 .3em}"
	".en{font-weight:normal;color:#444;font-size:.9em}"
	"table{border-collapse:collapse;width:100%;margin:.4em 0}"
	"th,td{border:1px solid #bbb;padding:.25em .5em;vertical-align:top;text-align:left}"
	"th{width:14em;background:#f3f3f3;font-weight:bold}"
	"td{word-break:break-all}"
	".ok{color:#07602a;font-weight:bold}.bad{color:#a00;font-weight:bold}.na{color:#666}"
	".verdict{border:3px solid;padding:.6em 1em;font-size:1.2em;margin:1em 0}"
	".verdict.ok{border-color:#07602a}.verdict.bad{border-color:#a00}"
	"ul{margin:.3em 0}li{margin:.2em 0}"
	".mono{font-family:monospace;font-size:.9em}"
	"@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}"
	"table{page-break-inside:auto}tr{page-break-inside:avoid}}";

static void
d_begin(doc *d, const char *title)
{
	if (!d->html)
		return;
	fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", d->f);
	put(d, title);
	fprintf(d->f, "</title>\n<style>%s</style>\n</head>\n<body>\n", css);
}

static void
d_end(doc *d)
{
	if (d->html)
		fputs("</body>\n</html>\n", d->f);
}

/* Close an open table or list (HTML). */
static void
d_table_end(doc *d)
{
	if (d->html && d->in_table)
		fputs("</table>\n", d->f);
	if (d->html && d->in_list)
		fputs("</ul>\n", d->f);
	d->in_table = 0;
	d->in_list = 0;
}

static void
d_h1(doc *d, const char *zh, const char *en)
{
	if (d->html) {
		raw(d, "<h1>");
		put(d, zh);
		raw(d, " <span class=\"en\">");
		put(d, en);
		raw(d, "</span></h1>\n");
		return;
	}
	char line[256];
	int n = snprintf(line, sizeof(line), "%s  %s", zh, en);
	if (n < 0 || (size_t)n >= sizeof(line))
		line[0] = '\0';
	put(d, line);
	fputc('\n', d->f);
	for (size_t i = display_width(line); i > 0; i--)
		fputc('=', d->f);
	fputc('\n', d->f);
}

static void
d_h2(doc *d, const char *zh, const char *en)
{
	d_table_end(d);
	if (d->html) {
		raw(d, "<h2>");
		put(d, zh);
		raw(d, " <span class=\"en\">");
		put(d, en);
		raw(d, "</span></h2>\n");
		return;
	}
	fprintf(d->f, "\n%s  %s\n", zh, en);
	d->indent = 2;
}

static void
d_h3(doc *d, const char *text)
{
	d_table_end(d);
	if (d->html) {
		raw(d, "<h3>");
		put(d, text);
		raw(d, "</h3>\n");
		return;
	}
	d->indent = 2;
	pad(d);
	put(d, text);
	fputc('\n', d->f);
	d->indent = 6;
}

/* A labelled value: "中文 English:" then the value. */
__attribute__((format(printf, 4, 5))) static void
kv(doc *d, const char *zh, const char *en, const char *fmt, ...)
{
	char val[4096], label[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(val))
		memcpy(val + sizeof(val) - 4, "...", 4);
	if (d->html) {
		if (d->in_list)
			d_table_end(d);
		if (!d->in_table)
			fputs("<table>\n", d->f);
		d->in_table = 1;
		raw(d, "<tr><th>");
		put(d, zh);
		raw(d, "<br><span class=\"en\">");
		put(d, en);
		raw(d, "</span></th><td>");
		put(d, val);
		raw(d, "</td></tr>\n");
		return;
	}
	n = snprintf(label, sizeof(label), "%s %s:", zh, en);
	if (n < 0 || (size_t)n >= sizeof(label))
		label[0] = '\0';
	pad(d);
	put(d, label);
	for (size_t w = display_width(label); w < 30; w++)
		fputc(' ', d->f);
	fputc(' ', d->f);
	put(d, val);
	fputc('\n', d->f);
}

/* kv for a string that may be empty (then nothing is written). */
static void
kvs(doc *d, const char *zh, const char *en, const char *s)
{
	if (s != NULL && s[0] != '\0')
		kv(d, zh, en, "%s", s);
}

/* A list item with a status mark. */
__attribute__((format(printf, 3, 4))) static void
item(doc *d, int state, const char *fmt, ...)
{
	char val[4096];
	va_list ap;
	const char *mark = state == BUNDLE_PASS ? OK_MARK : state == BUNDLE_FAIL ? BAD_MARK : NA_MARK;
	const char *cls = state == BUNDLE_PASS ? "ok" : state == BUNDLE_FAIL ? "bad" : "na";

	va_start(ap, fmt);
	int n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(val))
		memcpy(val + sizeof(val) - 4, "...", 4);
	if (d->html) {
		if (d->in_table)
			d_table_end(d);
		if (!d->in_list)
			fputs("<ul>\n", d->f);
		d->in_list = 1;
		fprintf(d->f, "<li><span class=\"%s\">%s</span> ", cls, mark);
		put(d, val);
		raw(d, "</li>\n");
		return;
	}
	pad(d);
	fprintf(d->f, "%s ", mark);
	put(d, val);
	fputc('\n', d->f);
}

/* ======================================================================== */
/* Values for people                                                         */
/* ======================================================================== */

/* Beijing time (UTC+8, no daylight saving) of Unix ms. */
static const char *
bjt(int64_t ms, char *buf, size_t cap)
{
	if (ms == 0) {
		snprintf(buf, cap, "—");
		return buf;
	}
	int64_t s = ms / 1000, frac = ms % 1000;
	if (frac < 0) {
		frac += 1000;
		s--;
	}
	time_t t = (time_t)(s + 8 * 3600);
	struct tm tm;
	char d[32];
	int n;
	if (gmtime_r(&t, &tm) == NULL || strftime(d, sizeof(d), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		n = snprintf(buf, cap, "%" PRId64 " ms", ms);
	else
		n = snprintf(buf, cap, "%s.%03d 北京时间 (UTC+8)", d, (int)frac);
	if (n < 0 || (size_t)n >= cap)
		snprintf(buf, cap, "?");
	return buf;
}

static const char *
kind_zh(Evchain__V1__RecordKind k)
{
	switch (k) {
	case K(NODE_KEY): return "密钥登记/注销";
	case K(INSPECTION_PLAN): return "检查计划备案";
	case K(SCAN_IN): return "扫码入企";
	case K(CERTIFICATE_CHECK): return "执法证件核验";
	case K(EVIDENCE): return "取证";
	case K(DISPOSITION): return "检查结果处置";
	case K(COMPANY_FEEDBACK): return "企业反馈";
	case K(FREQUENCY_CAP): return "检查频次上限";
	case K(RISK_GRADE): return "企业风险等级";
	default: return "未知记录";
	}
}

static const char *
kind_en(Evchain__V1__RecordKind k)
{
	switch (k) {
	case K(NODE_KEY): return "Node key";
	case K(INSPECTION_PLAN): return "Inspection plan";
	case K(SCAN_IN): return "Scan-in";
	case K(CERTIFICATE_CHECK): return "Certificate check";
	case K(EVIDENCE): return "Evidence";
	case K(DISPOSITION): return "Disposition";
	case K(COMPANY_FEEDBACK): return "Company feedback";
	case K(FREQUENCY_CAP): return "Frequency cap";
	case K(RISK_GRADE): return "Risk grade";
	default: return "Unknown record";
	}
}

static const char *
check_zh(const char *check)
{
	static const struct { const char *id, *zh; } t[] = {
		{ "format", "文件格式" }, { "checkpoint", "检查点签名" }, { "cosignature", "见证签名" },
		{ "quorum", "见证法定数" }, { "entry", "条目" }, { "inclusion", "包含证明" },
		{ "chain", "哈希链" }, { "log_time", "记录时间顺序" }, { "record", "记录内容" },
		{ "signature", "节点签名" }, { "key", "密钥有效性" }, { "key_history", "密钥历史" },
		{ "media", "媒体文件" }, { "story", "检查流程" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].id, check) == 0)
			return t[i].zh;
	return "核验";
}

/* Name of an enum value, with a Chinese gloss for the values a judge meets. */
static const char *
enum_str(const ProtobufCEnumDescriptor *desc, int value, char *buf, size_t cap)
{
	static const struct { const char *name, *zh; } gloss[] = {
		{ "NO_PROBLEM_TOLD_ON_SITE", "未发现问题，当场告知" },
		{ "CORRECT_IMMEDIATELY", "责令立即改正" }, { "CORRECT_BY_DEADLINE", "限期改正" },
		{ "TRANSFER", "移送有管辖权的机关" }, { "CASE_FILED", "立案处理" },
		{ "NO_PENALTY_FIRST_VIOLATION", "首违不罚" }, { "NO_PENALTY_MINOR", "轻微不罚" },
		{ "NO_PENALTY_NO_FAULT", "无主观过错不罚" },
		{ "PHOTO", "照片" }, { "AUDIO", "录音" }, { "VIDEO", "录像" }, { "DOCUMENT", "文书" },
		{ "FULL_PROCESS_RECORDING", "全过程音像记录" },
		{ "LICENCE_QR_SCAN", "扫描营业执照二维码" }, { "LOCATION_CHECKIN", "定位入企" },
		{ "VALID", "有效" }, { "INVALID", "无效" }, { "EXPIRED", "已过期" },
		{ "NOT_FOUND", "未查到" }, { "COMPANY_APP", "企业“爱山东”APP扫码核验" },
		{ "PLATFORM", "平台核验" }, { "PAPER_SHOWN", "出示纸质证件" },
		{ "ROUTINE", "日常检查" }, { "SPECIAL", "专项检查" }, { "JOINT", "联合检查" },
		{ "RANDOM_DRAW", "双随机、一公开" }, { "ANNUAL", "年度检查计划" },
		{ "ADMINISTRATIVE_INSPECTION", "行政检查" }, { "PERSONAL_FREEDOM", "人身自由" },
		{ "LIFE_AND_HEALTH", "生命健康" }, { "MAJOR_PROPERTY", "重大财产权益" },
		{ "DISPUTE_PRONE", "易引发争议" }, { "ENTERED_WITHOUT_SCAN", "未扫码入企" }, { "RATING", "评价" }, { "COMPLAINT", "投诉" },
		{ "AISHANDONG_APP", "爱山东APP" }, { "HOTLINE_12345", "12345热线" },
		{ "REGISTER", "登记" }, { "REVOKE", "注销" }, { "NODE", "平台节点" }, { "ADMIN", "管理员" },
	};
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(desc, value);

	if (ev == NULL) {
		snprintf(buf, cap, "%d", value);
		return buf;
	}
	for (size_t i = 0; i < sizeof(gloss) / sizeof(gloss[0]); i++)
		if (strcmp(gloss[i].name, ev->name) == 0) {
			snprintf(buf, cap, "%s %s", gloss[i].zh, ev->name);
			return buf;
		}
	snprintf(buf, cap, "%s", ev->name);
	return buf;
}

static const char *
check_str(int state)
{
	return state == BUNDLE_PASS ? OK_MARK : state == BUNDLE_FAIL ? BAD_MARK : NA_MARK;
}

static const char *
hex32(const ProtobufCBinaryData *b, char *buf)
{
	if (b->len == 32)
		hash_hex(b->data, 32, buf);
	else
		snprintf(buf, 65, "—");
	return buf;
}

/* "张伟 (LC-ZF-0001), 李娜 (LC-ZF-0002)" */
static const char *
officers_str(Evchain__V1__Officer *const *o, size_t n, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (o[i] == NULL)
			continue;
		int k = snprintf(buf + len, cap - len, "%s%s (%s)%s%s", len ? ", " : "",
		    o[i]->name ? o[i]->name : "", o[i]->certificate_no ? o[i]->certificate_no : "",
		    o[i]->agency && o[i]->agency[0] ? " " : "", o[i]->agency ? o[i]->agency : "");
		if (k < 0 || (size_t)k >= cap - len) {
			if (cap >= 4)
				memcpy(buf + cap - 4, "...", 4);
			break;
		}
		len += (size_t)k;
	}
	return buf;
}

static const char *
place_str(const Evchain__V1__Location *l, char *buf, size_t cap)
{
	if (l == NULL) {
		buf[0] = '\0';
		return buf;
	}
	if (l->latitude != 0 || l->longitude != 0)
		snprintf(buf, cap, "%s%s(%.6f, %.6f)", l->address ? l->address : "",
		    l->address && l->address[0] ? " " : "", l->latitude, l->longitude);
	else
		snprintf(buf, cap, "%s", l->address ? l->address : "");
	return buf;
}

static const char *
role_str(int role)
{
	switch (role) {
	case 0: return "日志密钥 log key";
	case EVCHAIN__V1__NODE_KEY__ROLE__ADMIN: return "管理员密钥 admin key";
	case EVCHAIN__V1__NODE_KEY__ROLE__NODE: return "平台节点密钥 node key";
	default: return "密钥 key";
	}
}

/* ======================================================================== */
/* The report                                                                */
/* ======================================================================== */

typedef struct ctx {
	const char *file;
	const policy *pol;
	const bundle_report *r;
} ctx;

static void
record_fields(doc *d, const Record *rec)
{
	char b1[1024], b2[1024], hx[65];

	switch (record_kind(rec)) {
	case K(SCAN_IN): {
		const Evchain__V1__ScanIn *s = rec->scan_in;
		kvs(d, "检查编号", "Inspection", s->inspection_id);
		if (s->company_name && s->company_name[0])
			kv(d, "企业", "Company", "%s (%s)", s->company_name, s->company_uscc);
		else
			kvs(d, "企业", "Company", s->company_uscc);
		kvs(d, "执法机关", "Agency", s->agency);
		kvs(d, "执法人员", "Officers", officers_str(s->officers, s->n_officers, b1, sizeof(b1)));
		kvs(d, "人员例外说明", "Officer exception", s->officer_exception);
		kv(d, "入企方式", "Method", "%s",
		    enum_str(&evchain__v1__scan_in__method__descriptor, (int)s->method, b1, sizeof(b1)));
		kvs(d, "位置", "Location", place_str(s->location, b1, sizeof(b1)));
		if (s->basis_case == EVCHAIN__V1__SCAN_IN__BASIS_PLAN_ID)
			kv(d, "检查依据", "Basis", "检查计划 plan %s", s->plan_id);
		else if (s->basis_case == EVCHAIN__V1__SCAN_IN__BASIS_CLUE && s->clue != NULL)
			kv(d, "检查依据", "Basis", "线索 clue: %s %s %s", s->clue->source ? s->clue->source : "",
			    s->clue->reference ? s->clue->reference : "",
			    s->clue->description ? s->clue->description : "");
		else if (s->basis_case == EVCHAIN__V1__SCAN_IN__BASIS_EMERGENCY && s->emergency != NULL)
			kv(d, "检查依据", "Basis", "紧急情况 emergency: %s %s",
			    enum_str(&evchain__v1__scan_in__emergency_reason__descriptor,
			    (int)s->emergency->reason, b1, sizeof(b1)),
			    s->emergency->description ? s->emergency->description : "");
		kv(d, "检查类别", "Kind", "%s / %s",
		    enum_str(&evchain__v1__scan_in__inspection_kind__descriptor, (int)s->kind, b1, sizeof(b1)),
		    enum_str(&evchain__v1__scan_in__entry_type__descriptor, (int)s->entry_type, b2,
		    sizeof(b2)));
		if (s->n_sensitivity > 0) {
			size_t len = 0;
			b2[0] = '\0';
			for (size_t i = 0; i < s->n_sensitivity && len < sizeof(b2); i++) {
				int k = snprintf(b2 + len, sizeof(b2) - len, "%s%s", i ? ", " : "",
				    enum_str(&evchain__v1__scan_in__sensitivity__descriptor,
				    (int)s->sensitivity[i], b1, sizeof(b1)));
				if (k < 0 || (size_t)k >= sizeof(b2) - len)
					break;
				len += (size_t)k;
			}
			kv(d, "敏感情形", "Sensitive", "%s（应全过程音像记录 full recording required)", b2);
		}
		break;
	}
	case K(CERTIFICATE_CHECK): {
		const Evchain__V1__CertificateCheck *c = rec->certificate_check;
		kvs(d, "检查编号", "Inspection", c->inspection_id);
		kv(d, "执法人员", "Officer", "%s (%s)", c->officer_name, c->certificate_no);
		kv(d, "核验结果", "Result", "%s", enum_str(&evchain__v1__certificate_check__result__descriptor,
		    (int)c->result, b1, sizeof(b1)));
		kv(d, "核验方式", "Verified through", "%s",
		    enum_str(&evchain__v1__certificate_check__verifier__descriptor, (int)c->verifier, b1,
		    sizeof(b1)));
		kvs(d, "核验人", "Verified by", c->verified_by);
		kvs(d, "企业", "Company", c->company_uscc);
		break;
	}
	case K(EVIDENCE): {
		const Evchain__V1__Evidence *e = rec->evidence;
		char t1[96], t2[96];
		kvs(d, "检查编号", "Inspection", e->inspection_id);
		kvs(d, "证据编号", "Evidence id", e->evidence_id);
		kv(d, "证据类型", "Media kind", "%s", enum_str(&evchain__v1__evidence__media_kind__descriptor,
		    (int)e->media_kind, b1, sizeof(b1)));
		kvs(d, "文件名", "File name", e->file_name);
		kvs(d, "文件类型", "Media type", e->media_type);
		kv(d, "文件大小", "Size", "%" PRIu64 " 字节 bytes", e->size);
		kv(d, "文件摘要", "SHA-256", "%s", hex32(&e->sha256, hx));
		if (e->sm3.len > 0)
			kv(d, "国密摘要", "SM3", "%s", hex32(&e->sm3, hx));
		kv(d, "拍摄时间", "Captured", "%s — %s", bjt(e->capture_start_ms, t1, sizeof(t1)),
		    bjt(e->capture_end_ms, t2, sizeof(t2)));
		kvs(d, "地点", "Place", place_str(e->place, b1, sizeof(b1)));
		if (e->recorder != NULL)
			kv(d, "拍摄人员", "Recorder", "%s (%s)", e->recorder->name, e->recorder->certificate_no);
		kvs(d, "证明内容", "Proves", e->proves);
		kvs(d, "企业", "Company", e->company_uscc);
		break;
	}
	case K(DISPOSITION): {
		const Evchain__V1__Disposition *p = rec->disposition;
		char t1[96];
		kvs(d, "检查编号", "Inspection", p->inspection_id);
		kv(d, "处置结果", "Outcome", "%s", enum_str(&evchain__v1__disposition__outcome__descriptor,
		    (int)p->outcome, b1, sizeof(b1)));
		if (p->deadline_ms != 0)
			kv(d, "改正期限", "Deadline", "%s", bjt(p->deadline_ms, t1, sizeof(t1)));
		kvs(d, "移送机关", "Receiving agency", p->receiving_agency);
		kvs(d, "案件编号", "Case number", p->case_no);
		kvs(d, "法律依据", "Legal basis", p->legal_basis);
		kvs(d, "决定人", "Decided by", p->decided_by);
		kvs(d, "检查发现", "Findings", p->findings);
		kvs(d, "执法机关", "Agency", p->agency);
		kvs(d, "企业", "Company", p->company_uscc);
		if (p->ended_ms != 0)
			kv(d, "现场检查结束", "Inspection ended", "%s", bjt(p->ended_ms, t1, sizeof(t1)));
		break;
	}
	case K(COMPANY_FEEDBACK): {
		const Evchain__V1__CompanyFeedback *f = rec->company_feedback;
		kvs(d, "检查编号", "Inspection", f->inspection_id);
		kvs(d, "企业", "Company", f->company_uscc);
		kv(d, "反馈类型", "Type", "%s", enum_str(&evchain__v1__company_feedback__feedback_type__descriptor,
		    (int)f->feedback_type, b1, sizeof(b1)));
		if (f->rating != 0)
			kv(d, "评分", "Rating", "%u / 5", f->rating);
		if (f->complaint_type != 0)
			kv(d, "投诉事项", "Complaint", "%s",
			    enum_str(&evchain__v1__company_feedback__complaint_type__descriptor,
			    (int)f->complaint_type, b1, sizeof(b1)));
		kv(d, "渠道", "Channel", "%s", enum_str(&evchain__v1__company_feedback__channel__descriptor,
		    (int)f->channel, b1, sizeof(b1)));
		kvs(d, "内容", "Text", f->text);
		break;
	}
	case K(INSPECTION_PLAN): {
		const Evchain__V1__InspectionPlan *p = rec->inspection_plan;
		kvs(d, "计划编号", "Plan", p->plan_id);
		kvs(d, "执法机关", "Agency", p->agency);
		kv(d, "年度与类型", "Year and type", "%u %s", p->year,
		    enum_str(&evchain__v1__inspection_plan__plan_type__descriptor, (int)p->plan_type, b1,
		    sizeof(b1)));
		kvs(d, "编制依据", "Legal basis", p->legal_basis);
		kvs(d, "检查范围", "Scope", p->scope);
		if (p->filing != NULL)
			kv(d, "备案", "Filed with", "%s %s", p->filing->filed_with ? p->filing->filed_with : "",
			    p->filing->filing_no ? p->filing->filing_no : "");
		break;
	}
	case K(NODE_KEY): {
		const Evchain__V1__NodeKey *k = rec->node_key;
		char t1[96];
		kv(d, "操作", "Action", "%s %s",
		    enum_str(&evchain__v1__node_key__action__descriptor, (int)k->action, b1, sizeof(b1)),
		    enum_str(&evchain__v1__node_key__role__descriptor, (int)k->role, b2, sizeof(b2)));
		kvs(d, "密钥名", "Key name", k->key_name);
		kvs(d, "公钥", "Verifier key", k->verifier_key);
		kvs(d, "服务机关", "Agency", k->agency);
		if (k->valid_from_ms != 0)
			kv(d, "有效期自", "Valid from", "%s", bjt(k->valid_from_ms, t1, sizeof(t1)));
		if (k->valid_until_ms != 0)
			kv(d, "有效期至", "Valid until", "%s", bjt(k->valid_until_ms, t1, sizeof(t1)));
		kvs(d, "事由", "Reason", k->reason);
		break;
	}
	case K(FREQUENCY_CAP): {
		const Evchain__V1__FrequencyCap *c = rec->frequency_cap;
		kvs(d, "执法机关", "Agency", c->agency);
		kv(d, "频次上限", "Cap", "%s 级 grade: %u 次/年 per year (%u)", c->risk_grade, c->max_per_year,
		    c->year);
		break;
	}
	case K(RISK_GRADE): {
		const Evchain__V1__RiskGrade *g = rec->risk_grade;
		kvs(d, "企业", "Company", g->company_uscc);
		kv(d, "风险等级", "Risk grade", "%s (%u, %s)", g->risk_grade, g->year, g->agency);
		break;
	}
	default:
		break;
	}
}

static void
entry_block(doc *d, const bundle_entry_report *e, size_t n)
{
	char head[512], t1[96];

	if (e->rec != NULL)
		snprintf(head, sizeof(head), "[%zu] 条目 Entry %" PRIu64 " — %s %s — 记录 record \"%s\"", n,
		    e->index, kind_zh(e->kind), kind_en(e->kind), e->rec->record_id);
	else
		snprintf(head, sizeof(head), "[%zu] 条目 Entry %" PRIu64 " — 无法解析 does not decode", n,
		    e->index);
	d_h3(d, head);
	if (e->rec != NULL) {
		kv(d, "事件时间", "Event time", "%s  [%s]", bjt(e->event_ms, t1, sizeof(t1)), e->event_field);
	}
	if (e->entry != NULL)
		kv(d, "记录时间", "Logged", "%s", bjt(e->log_time_ms, t1, sizeof(t1)));
	if (e->signer[0] != '\0') {
		if (e->key == BUNDLE_PASS && e->signer_role == 0)
			kv(d, "签名者", "Signed by", "%s (%s)", e->signer, role_str(0));
		else if (e->key == BUNDLE_PASS)
			kv(d, "签名者", "Signed by", "%s (%s%s%s; 登记于条目 registered at entry %" PRIu64 ")",
			    e->signer, role_str(e->signer_role), e->signer_agency[0] ? ", " : "",
			    e->signer_agency, e->signer_registered_at);
		else
			kv(d, "签名者", "Signed by", "%s", e->signer);
	}
	if (e->rec != NULL)
		record_fields(d, e->rec);
	if (e->kind == K(EVIDENCE)) {
		if (e->media == BUNDLE_PASS)
			kv(d, "媒体文件", "Media file", "%s 一致 matches: %s", OK_MARK, e->media_file);
		else if (e->media == BUNDLE_FAIL)
			kv(d, "媒体文件", "Media file", "%s 不一致 does not match: %s", BAD_MARK, e->media_file);
		else
			kv(d, "媒体文件", "Media file", "%s 未提供文件 no file given", NA_MARK);
	}
	{
		char lh[65];
		hash_hex(e->leaf, 32, lh);
		kv(d, "叶哈希", "Leaf hash", "%s", lh);
	}
	kv(d, "核验", "Checks", "包含证明 inclusion %s  节点签名 signature %s  密钥有效 key %s  "
	    "记录规则 record %s", check_str(e->inclusion), check_str(e->signature), check_str(e->key),
	    check_str(e->record));
}

static void
report(doc *d, const ctx *c)
{
	const bundle_report *r = c->r;
	char t1[96], b64[64], buf[1024];
	time_t now = time(NULL);

	d_begin(d, "证据包核验报告 Evidence bundle verification report");
	d_h1(d, "证据包核验报告", "Evidence Bundle Verification Report");
	if (d->html) {
		fprintf(d->f, "<div class=\"verdict %s\">结论 VERDICT: %s</div>\n", r->verified ? "ok" : "bad",
		    r->verified ? "通过 VERIFIED" : "不通过 FAILED");
	}
	kv(d, "证据包", "Bundle file", "%s (%zu 字节 bytes, 格式版本 format version %" PRIu32 ")", c->file,
	    r->size, r->version);
	kvs(d, "主题", "Subject", r->subject);
	if (r->created_ms != 0)
		kv(d, "导出时间", "Exported", "%s", bjt(r->created_ms, t1, sizeof(t1)));
	kv(d, "核验时间", "Verified at", "%s", bjt((int64_t)now * 1000, t1, sizeof(t1)));
	kv(d, "核验方式", "Method", "离线核验，不依赖网络、平台节点或日志运营方 offline; trusts only the keys below");

	d_h2(d, "一、日志检查点", "1. Log checkpoint");
	kvs(d, "日志", "Log (origin)", r->origin);
	if (r->checkpoint == BUNDLE_PASS)
		kv(d, "日志签名", "Log signature", "%s 有效 valid — %s", OK_MARK, r->log_key);
	else
		kv(d, "日志签名", "Log signature", "%s 无效或无法核验 not verified", BAD_MARK);
	if (r->tree_size != 0) {
		kv(d, "树大小", "Tree size", "%" PRIu64 " 条 entries", r->tree_size);
		if (b64_encode(r->root, 32, b64, sizeof(b64)) < 0)
			b64[0] = '\0';
		kv(d, "根哈希", "Root hash", "%s", b64);
	}
	if (r->witnessed_ms != 0)
		kv(d, "见证时间", "Witnessed by", "%s（最早的见证签名 earliest cosignature）",
		    bjt(r->witnessed_ms > INT64_MAX ? INT64_MAX : (int64_t)r->witnessed_ms, t1, sizeof(t1)));
	if (r->last_log_ms != 0)
		kv(d, "最近记录时间", "Latest entry logged", "%s", bjt(r->last_log_ms, t1, sizeof(t1)));
	kv(d, "见证规则", "Witness quorum rule", "%s", r->quorum_rule);
	if (c->pol->quorum == POLICY_QUORUM_NONE)
		kv(d, "注意", "Caution", "未要求见证签名：检查点仅凭日志运营方的签名采信，运营方可能向不同的人展示不同的历史 "
		    "no witness cosignature is required: the checkpoint rests on the log operator's "
		    "signature alone, and an operator could show different histories to different people");
	kv(d, "法定见证", "Quorum", "%s", r->quorum == BUNDLE_PASS ? OK_MARK " 满足 met" :
	    BAD_MARK " 未满足 not met");
	if (r->ncosigners == 0)
		kv(d, "见证签名", "Cosignatures", "无 none");
	d_table_end(d);
	for (size_t i = 0; i < r->ncosigners; i++) {
		const bundle_cosigner *cs = &r->cosigners[i];
		if (cs->state == BUNDLE_PASS)
			item(d, cs->state, "见证 witness %s (%s): 签名有效 cosigned at %s", cs->policy_name,
			    cs->name, bjt((int64_t)(cs->timestamp > INT64_MAX / 1000 ? INT64_MAX / 1000 :
			    cs->timestamp) * 1000, t1, sizeof(t1)));
		else if (cs->state == BUNDLE_FAIL)
			item(d, cs->state, "见证 witness %s (%s): 签名无效 cosignature does not verify",
			    cs->policy_name, cs->name);
		else
			item(d, cs->state, "%s (key id %08" PRIx32 "): 不在策略中，未采信 not in the policy, "
			    "ignored", cs->name, cs->id);
	}

	d_h2(d, "二、检查", "2. Inspections");
	if (r->ninspections == 0)
		kv(d, "检查", "Inspections", "无 none");
	for (size_t i = 0; i < r->ninspections; i++) {
		const bundle_inspection *in = &r->inspections[i];
		snprintf(buf, sizeof(buf), "检查编号 Inspection: %s", in->inspection_id);
		d_h3(d, buf);
		if (in->company_name[0])
			kv(d, "企业", "Company", "%s (%s)", in->company_name, in->company_uscc);
		kvs(d, "执法机关", "Agency", in->agency);
		char sc[64], di[64];
		if (in->scan_in != BUNDLE_NO_INDEX)
			snprintf(sc, sizeof(sc), "%s (条目 entry %" PRIu64 ")", OK_MARK, in->scan_in);
		else
			snprintf(sc, sizeof(sc), "%s 缺失 missing", BAD_MARK);
		if (in->disposition != BUNDLE_NO_INDEX)
			snprintf(di, sizeof(di), "%s (条目 entry %" PRIu64 ")", OK_MARK, in->disposition);
		else
			snprintf(di, sizeof(di), "%s 缺失 missing", BAD_MARK);
		kv(d, "流程", "Story", "扫码入企 scan-in %s → 证件核验 certificate checks %zu → 取证 evidence %zu "
		    "→ 处置 disposition %s; 企业反馈 feedback %zu; 共 %zu 条记录 records", sc, in->n_cert_checks,
		    in->n_evidence, di, in->n_feedback, in->n_records);
		kv(d, "流程核验", "Story check", "%s", in->story == BUNDLE_PASS ?
		    OK_MARK " 先扫码后取证、处置，已闭环 scan-in first, closed by a disposition" :
		    BAD_MARK " 未通过 failed (见结论 see the verdict)");
	}

	snprintf(buf, sizeof(buf), "3. Records (%zu)", r->nentries);
	d_h2(d, "三、记录", buf);
	for (size_t i = 0; i < r->nentries; i++)
		entry_block(d, &r->entries[i], i + 1);

	snprintf(buf, sizeof(buf), "4. Key history (%zu entries)", r->nkey_entries);
	d_h2(d, "四、密钥记录", buf);
	kv(d, "说明", "Note", "每个签名密钥的登记与注销记录，按条目顺序重放以判断签名时密钥是否有效 "
	    "the registrations and revocations of every signing key, replayed in log order");
	d_table_end(d);
	for (size_t i = 0; i < r->nkey_entries; i++) {
		const bundle_entry_report *e = &r->key_entries[i];
		char a[128], ro[128];
		if (e->rec == NULL) {
			item(d, BUNDLE_FAIL, "条目 entry %" PRIu64 ": 无法解析 does not decode", e->index);
			continue;
		}
		if (e->kind != K(NODE_KEY) || e->rec->node_key == NULL) {
			item(d, BUNDLE_FAIL, "条目 entry %" PRIu64 ": 不是密钥记录 not a node_key record (%s)",
			    e->index, record_kind_name(e->kind));
			continue;
		}
		const Evchain__V1__NodeKey *k = e->rec->node_key;
		int ok = e->inclusion == BUNDLE_PASS && e->signature == BUNDLE_PASS && e->key == BUNDLE_PASS &&
		    e->record == BUNDLE_PASS ? BUNDLE_PASS : BUNDLE_FAIL;
		item(d, ok, "条目 entry %" PRIu64 ", %s: %s %s \"%s\"%s%s — 签名者 signed by %s — "
		    "包含证明 inclusion %s 签名 signature %s 密钥 key %s", e->index,
		    bjt(e->log_time_ms, t1, sizeof(t1)),
		    enum_str(&evchain__v1__node_key__action__descriptor, (int)k->action, a, sizeof(a)),
		    enum_str(&evchain__v1__node_key__role__descriptor, (int)k->role, ro, sizeof(ro)),
		    k->key_name, k->agency && k->agency[0] ? ", " : "", k->agency ? k->agency : "", e->signer,
		    check_str(e->inclusion), check_str(e->signature), check_str(e->key));
	}

	if (r->nmedia > 0) {
		d_h2(d, "五、媒体文件", "5. Media files");
		for (size_t i = 0; i < r->nmedia; i++) {
			const bundle_media_report *m = &r->media[i];
			char hx[65];
			if (!m->read_ok) {
				item(d, BUNDLE_FAIL, "%s: 无法读取 cannot be read", m->path);
				continue;
			}
			hash_hex(m->digest.sha256, 32, hx);
			if (m->state == BUNDLE_PASS)
				item(d, BUNDLE_PASS, "%s: SHA-256 %s, %" PRIu64 " 字节 bytes — 与条目 %" PRIu64 " 的取证"
				    "记录一致 matches the evidence record of entry %" PRIu64, m->path, hx, m->digest.size,
				    m->index, m->index);
			else
				item(d, BUNDLE_FAIL, "%s: SHA-256 %s, %" PRIu64 " 字节 bytes — 不一致 does not match "
				    "(见结论 see the verdict)", m->path, hx, m->digest.size);
		}
	}

	d_h2(d, "说明", "Notes");
	kv(d, "证明范围", "What this proves", "本证据包证明其中每条记录确在日志中（包含证明指向上述检查点），"
	    "检查点经日志签名并由见证方联署，记录由当时有效的密钥签名。它不能证明没有遗漏："
	    "证据包是否包含了有关该检查的全部记录、密钥注销记录是否完整，依赖见证方（日志无法向不同的人"
	    "展示两种历史）和日志监测方；流程核验只确认关键记录（扫码入企、处置）在包内且顺序正确。 "
	    "The bundle proves that each record in it is in the log the witnesses saw and was signed "
	    "by a key its key history shows valid at that index. It cannot prove that nothing was left "
	    "out: that it holds every record about the inspection, and that no revocation of a signing "
	    "key is missing, rest on the witnesses and on a monitor of the log; the story check only "
	    "shows that the essential records (scan-in, disposition) are present and in order.");
	kv(d, "未签名信息", "Unsigned labels", "“主题”和“导出时间”由导出方填写，未经签名 the subject and "
	    "export time are labels from the exporter, not signed.");
	kv(d, "时间", "Times", "事件时间为记录者设备时间；记录时间为日志接收时间；均以北京时间显示 "
	    "event times are the recorder's device clock, log times the log's; shown in Beijing time.");

	d_h2(d, "结论", "Verdict");
	d_table_end(d);
	if (r->verified) {
		if (d->html)
			fputs("<div class=\"verdict ok\">结论 VERDICT: 通过 VERIFIED</div>\n", d->f);
		else
			fprintf(d->f, "  结论 VERDICT: 通过 VERIFIED — %zu 条记录、%zu 条密钥记录、%zu 个媒体文件全部核验通过 "
			    "all %zu records, %zu key entries and %zu media files verified\n", r->nentries,
			    r->nkey_entries, r->nmedia, r->nentries, r->nkey_entries, r->nmedia);
	} else {
		if (d->html)
			fprintf(d->f, "<div class=\"verdict bad\">结论 VERDICT: 不通过 FAILED — %zu 项检查未通过 "
			    "%zu check%s failed</div>\n", r->failures_total, r->failures_total,
			    r->failures_total == 1 ? "" : "s");
		else
			fprintf(d->f, "  结论 VERDICT: 不通过 FAILED — %zu 项检查未通过 %zu check%s failed:\n",
			    r->failures_total, r->failures_total, r->failures_total == 1 ? "" : "s");
		for (size_t i = 0; i < r->nfailures; i++) {
			const bundle_failure *f = &r->failures[i];
			/* The message names the entry or file itself. */
			item(d, BUNDLE_FAIL, "[%s %s] %s", check_zh(f->check), f->check, f->msg);
		}
		if (r->failures_total > r->nfailures)
			item(d, BUNDLE_FAIL, "…… 另有 %zu 项 and %zu more", r->failures_total - r->nfailures,
			    r->failures_total - r->nfailures);
	}
	d_table_end(d);
	d_end(d);
}

/* ======================================================================== */
/* Command line                                                              */
/* ======================================================================== */

/* A verifier key given as its string or as a file holding it. */
static int
read_vkey(const char *arg, evc_vkey *vk)
{
	if (keys_vkey_parse(arg, strlen(arg), vk) == 0)
		return 0;
	return keys_read_public(arg, vk);
}

/* Read a whole file of at most max bytes; EVC_ETOOLARGE beyond. */
static int
read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return EVC_EIO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return EVC_EIO;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		*len = (size_t)st.st_size;
		return EVC_ETOOLARGE;
	}
	size_t n = (size_t)st.st_size, got = 0;
	uint8_t *buf = malloc(n ? n : 1);
	if (buf == NULL) {
		close(fd);
		return EVC_ENOMEM;
	}
	while (got < n) {
		ssize_t k = read(fd, buf + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	*out = buf;
	*len = got;
	return 0;
}

/* Progress bar on a terminal for large media files. */
typedef struct progress {
	int on;
	const char *path;
	struct timespec t0;
	int drawn;
} progress;

static void
media_start(void *vctx, size_t i, const char *path)
{
	progress *p = vctx;
	(void)i;
	p->path = path;
	p->drawn = 0;
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
}

static void
media_progress(void *vctx, uint64_t done, uint64_t total)
{
	progress *p = vctx;
	struct timespec t;
	char bar[41];

	if (!p->on || total < (64u << 20))
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	double secs = (double)(t.tv_sec - p->t0.tv_sec) + (double)(t.tv_nsec - p->t0.tv_nsec) / 1e9;
	unsigned fill = (unsigned)(40.0 * (double)done / (double)total);
	for (unsigned i = 0; i < 40; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[40] = '\0';
	fprintf(stderr, "\r[%s] %3.0f%% %.0f MB/s %s", bar, 100.0 * (double)done / (double)total,
	    secs > 0 ? (double)done / secs / 1e6 : 0.0, p->path);
	p->drawn = 1;
	if (done >= total)
		fputc('\n', stderr);
}

static void
usage_bundle(FILE *f)
{
	fprintf(f,
	    "usage: evchain-verify bundle FILE --log-key PUB [--witness PUB ... [--quorum K] | --policy FILE]\n"
	    "                             [--media FILE ...] [--html OUT.html] [--quiet]\n"
	    "\n"
	    "  Verify an evidence bundle offline and print a report with a verdict.\n"
	    "  --log-key PUB   the log's verifier key (a key string, or a file such as log.pub)\n"
	    "  --witness PUB   a witness's cosignature/v1 verifier key (string or file); repeatable\n"
	    "  --quorum K      how many of the --witness keys must have cosigned (default: all)\n"
	    "  --policy FILE   a C2SP tlog-policy file (log, witness, group, quorum lines) instead\n"
	    "  --media FILE    a media file to check against its evidence record; repeatable\n"
	    "                  (further arguments after FILE are media files too)\n"
	    "  --html OUT      also write the report as one printable HTML page\n"
	    "  --quiet         no progress bar while hashing media\n"
	    "  Exit status: 0 verified, 1 a check failed, 2 usage.\n");
}

int
verify_bundle_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "log-key", required_argument, NULL, 'k' },
		{ "witness", required_argument, NULL, 'w' },
		{ "quorum", required_argument, NULL, 'Q' },
		{ "policy", required_argument, NULL, 'p' },
		{ "media", required_argument, NULL, 'm' },
		{ "html", required_argument, NULL, 'H' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *logkey = NULL, *policy_file = NULL, *html = NULL;
	const char **witnesses = NULL, **media = NULL;
	size_t nwit = 0, nmedia = 0;
	long quorum = -1;
	int quiet = 0, c, ret = 2;
	policy *pol = NULL;
	uint8_t *bytes = NULL;
	size_t len = 0;
	bundle_report *r = NULL;
	char err[512];

	witnesses = calloc((size_t)argc + 1, sizeof(*witnesses));
	media = calloc((size_t)argc + 1, sizeof(*media));
	pol = malloc(sizeof(*pol));
	if (witnesses == NULL || media == NULL || pol == NULL) {
		fprintf(stderr, "evchain-verify: out of memory\n");
		ret = 1;
		goto out;
	}
	policy_init(pol);
	optind = 1;
	while ((c = getopt_long(argc, argv, "k:w:Q:p:m:H:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'k': logkey = optarg; break;
		case 'w': witnesses[nwit++] = optarg; break;
		case 'p': policy_file = optarg; break;
		case 'm': media[nmedia++] = optarg; break;
		case 'H': html = optarg; break;
		case 'q': quiet = 1; break;
		case 'Q': {
			char *end;
			errno = 0;
			quorum = strtol(optarg, &end, 10);
			if (*end != '\0' || end == optarg || errno != 0 || quorum < 0 || quorum > 1000) {
				fprintf(stderr, "evchain-verify bundle: --quorum takes a number\n");
				goto out;
			}
			break;
		}
		case 'h': usage_bundle(stdout); ret = 0; goto out;
		default: usage_bundle(stderr); goto out;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "evchain-verify bundle: need the bundle FILE\n");
		usage_bundle(stderr);
		goto out;
	}
	const char *file = argv[optind];
	for (int i = optind + 1; i < argc; i++)
		media[nmedia++] = argv[i];
	if (policy_file != NULL && (nwit > 0 || quorum >= 0)) {
		fprintf(stderr, "evchain-verify bundle: --policy excludes --witness and --quorum\n");
		goto out;
	}
	if (quorum > (long)nwit) {
		fprintf(stderr, "evchain-verify bundle: --quorum %ld but only %zu --witness keys\n", quorum,
		    nwit);
		goto out;
	}

	/* The trust policy. */
	evc_vkey lk;
	if (logkey != NULL && read_vkey(logkey, &lk) != 0) {
		fprintf(stderr, "evchain-verify bundle: --log-key %s: not a verifier key or a file holding "
		    "one\n", logkey);
		ret = 1;
		goto out;
	}
	if (policy_file != NULL) {
		if (policy_read(policy_file, pol, err, sizeof(err)) != 0) {
			fprintf(stderr, "evchain-verify bundle: policy %s: %s\n", policy_file, err);
			ret = 1;
			goto out;
		}
		if (logkey != NULL) {
			size_t k;
			for (k = 0; k < pol->nlogs; k++)
				if (memcmp(pol->logs[k].pub, lk.pub, 32) == 0 && strcmp(pol->logs[k].name, lk.name) == 0)
					break;
			if (pol->nlogs > 0 && k == pol->nlogs) {
				fprintf(stderr, "evchain-verify bundle: the policy does not list the --log-key\n");
				ret = 1;
				goto out;
			}
			if (pol->nlogs == 0 && policy_add_log(pol, &lk, err, sizeof(err)) != 0) {
				fprintf(stderr, "evchain-verify bundle: --log-key: %s\n", err);
				ret = 1;
				goto out;
			}
			if (pol->nlogs > 1) { /* --log-key picks one of them */
				evc_vkey keep = lk;
				pol->nlogs = 0;
				pol->logs[pol->nlogs++] = keep;
			}
		} else if (pol->nlogs == 0) {
			fprintf(stderr, "evchain-verify bundle: the policy lists no log: give --log-key\n");
			goto out;
		}
	} else {
		if (logkey == NULL) {
			fprintf(stderr, "evchain-verify bundle: need --log-key PUB (or --policy FILE)\n");
			usage_bundle(stderr);
			goto out;
		}
		if (policy_add_log(pol, &lk, err, sizeof(err)) != 0) {
			fprintf(stderr, "evchain-verify bundle: --log-key: %s\n", err);
			ret = 1;
			goto out;
		}
		int members[POLICY_MAX_MEMBERS];
		if (nwit > POLICY_MAX_MEMBERS) {
			fprintf(stderr, "evchain-verify bundle: at most %d --witness keys\n", POLICY_MAX_MEMBERS);
			goto out;
		}
		for (size_t i = 0; i < nwit; i++) {
			evc_vkey wk;
			if (read_vkey(witnesses[i], &wk) != 0) {
				fprintf(stderr, "evchain-verify bundle: --witness %s: not a verifier key or a file "
				    "holding one\n", witnesses[i]);
				ret = 1;
				goto out;
			}
			/* Named by the key's name; two keys of one name get "#2", "#3", … */
			char wname[POLICY_MAX_NAME + 1];
			snprintf(wname, sizeof(wname), "%s", wk.name);
			for (size_t j = 0, dup = 1; j < pol->nnodes; j++) {
				if (strcmp(pol->nodes[j].name, wname) != 0)
					continue;
				if (snprintf(wname, sizeof(wname), "%s#%zu", wk.name, ++dup) >= (int)sizeof(wname)) {
					fprintf(stderr, "evchain-verify bundle: --witness %s: name too long\n",
					    witnesses[i]);
					goto out;
				}
				j = (size_t)-1;   /* look again */
			}
			if ((members[i] = policy_add_witness(pol, wname, &wk, err, sizeof(err))) < 0) {
				fprintf(stderr, "evchain-verify bundle: --witness %s: %s\n", witnesses[i], err);
				ret = 1;
				goto out;
			}
		}
		int q = POLICY_QUORUM_NONE;
		if (nwit > 0 && quorum != 0) {
			unsigned k = quorum < 0 ? (unsigned)nwit : (unsigned)quorum;
			if ((q = policy_add_group(pol, "quorum", k, members, nwit, err, sizeof(err))) < 0) {
				fprintf(stderr, "evchain-verify bundle: %s\n", err);
				goto out;
			}
		}
		if (policy_set_quorum(pol, q, err, sizeof(err)) != 0) {
			fprintf(stderr, "evchain-verify bundle: %s\n", err);
			goto out;
		}
	}

	/* The bundle. */
	int rc = read_file(file, BUNDLE_MAX_FILE, &bytes, &len);
	if (rc != 0) {
		if (rc == EVC_ETOOLARGE)
			printf("结论 VERDICT: 不通过 FAILED\n  %s [文件格式 format] file \"%s\": %zu bytes, over the "
			    "limit of %u\n", BAD_MARK, file, len, BUNDLE_MAX_FILE);
		else
			printf("结论 VERDICT: 不通过 FAILED\n  %s [文件格式 format] file \"%s\": cannot be read (%s)\n",
			    BAD_MARK, file, rc == EVC_EIO ? strerror(errno) : evc_strerror(rc));
		ret = 1;
		goto out;
	}
	progress pg = { 0 };
	pg.on = !quiet && isatty(2);
	bundle_verify_opts vo = {
		.policy = pol, .media = media, .nmedia = nmedia,
		.progress = media_progress, .progress_ctx = &pg, .media_start = media_start,
	};
	if ((rc = bundle_verify(bytes, len, &vo, &r)) != 0) {
		fprintf(stderr, "evchain-verify bundle: %s\n", evc_strerror(rc));
		ret = 1;
		goto out;
	}
	ctx cx = { file, pol, r };
	doc d = { stdout, 0, 0, 0, 0 };
	report(&d, &cx);
	ret = r->verified ? 0 : 1;
	if (html != NULL) {
		FILE *f = fopen(html, "w");
		if (f == NULL) {
			fprintf(stderr, "evchain-verify bundle: %s: %s\n", html, strerror(errno));
			ret = 1;
			goto out;
		}
		doc h = { f, 1, 0, 0, 0 };
		report(&h, &cx);
		if (fclose(f) != 0) {
			fprintf(stderr, "evchain-verify bundle: %s: %s\n", html, strerror(errno));
			ret = 1;
		}
	}
	if (fflush(stdout) != 0)
		ret = 1;
out:
	bundle_report_free(r);
	free(bytes);
	free(pol);
	free(witnesses);
	free(media);
	return ret;
}
