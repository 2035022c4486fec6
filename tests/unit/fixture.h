/*
 * fixture.h — helpers shared by the tests: temporary directories, keys,
 * valid records of each kind, running the built programs. Header-only
 * (static inline) so each test stays one file.
 */
#ifndef EVC_FIXTURE_H
#define EVC_FIXTURE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evc.h"
#include "evchain.pb-c.h"
#include "keys.h"
#include "pb.h"
#include "record.h"

#define FX_USCC "91350100M000100Y43"

static inline int64_t
fx_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A fresh temporary directory (removed by fx_rmrf). */
static inline char *
fx_tmpdir(const char *tag)
{
	char tmpl[256];
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	if (snprintf(tmpl, sizeof(tmpl), "%s/evc-%s-XXXXXX", base, tag) >= (int)sizeof(tmpl))
		return NULL;
	char *d = mkdtemp(tmpl);
	return d ? strdup(d) : NULL;
}

__attribute__((format(printf, 1, 2))) static inline int
fx_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(cmd))
		return -1;
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline void
fx_rmrf(const char *dir)
{
	if (dir != NULL && strncmp(dir, "/", 1) == 0 && strstr(dir, "/evc-") != NULL)
		fx_sh("rm -rf '%s'", dir);
}

/* Path of a built program: $BIN/name, else bin/name. */
static inline const char *
fx_prog(const char *name, char *buf, size_t cap)
{
	const char *bin = getenv("BIN") ? getenv("BIN") : "bin";
	if (snprintf(buf, cap, "%s/%s", bin, name) >= (int)cap)
		return NULL;
	return buf;
}

/*
 * Run a shell command, capture its stdout+stderr into out (cap), return its
 * exit status (or -1).
 */
static inline int
fx_run(const char *cmd, char *out, size_t cap)
{
	char full[8192];
	if (snprintf(full, sizeof(full), "%s 2>&1", cmd) >= (int)sizeof(full))
		return -1;
	FILE *p = popen(full, "r");
	if (p == NULL)
		return -1;
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	while (fgetc(p) != EOF)
		;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A signed record: bytes and signature. */
typedef struct fx_signed {
	uint8_t *rec;
	size_t len;
	uint8_t sig[64];
	pb_arena arena;
	Record *decoded;
} fx_signed;

static inline void
fx_signed_free(fx_signed *s)
{
	free(s->rec);
	pb_arena_free(&s->arena);
	memset(s, 0, sizeof(*s));
}

/* Pack, sign and decode r with sk (r->signer is set to sk's name). */
static inline int
fx_sign(Record *r, const evc_skey *sk, fx_signed *out)
{
	memset(out, 0, sizeof(*out));
	r->signer = (char *)sk->name;
	out->rec = pb_pack(&r->base, &out->len);
	if (out->rec == NULL)
		return -1;
	record_sign(sk, out->rec, out->len, out->sig);
	pb_arena_init(&out->arena, 1 << 20);
	out->decoded = record_decode(&out->arena, out->rec, out->len);
	return out->decoded ? 0 : -1;
}

/* NodeKey registration of vk (role NODE or ADMIN). */
static inline int
fx_node_key(const char *record_id, const evc_skey *signer, const evc_vkey *vk, int role,
    int action, int64_t created, fx_signed *out)
{
	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__NodeKey nk = EVCHAIN__V1__NODE_KEY__INIT;
	r.record_id = (char *)record_id;
	r.created_ms = created;
	r.body_case = EVCHAIN__V1__RECORD__BODY_NODE_KEY;
	r.node_key = &nk;
	nk.action = (Evchain__V1__NodeKey__Action)action;
	nk.role = (Evchain__V1__NodeKey__Role)role;
	nk.key_name = (char *)vk->name;
	nk.public_key.data = (uint8_t *)vk->pub;
	nk.public_key.len = 32;
	nk.agency = "聊城市大数据局";
	nk.valid_from_ms = created;
	return fx_sign(&r, signer, out);
}

/* A valid scan-in by two officers at FX_USCC. */
static inline int
fx_scan_in(const char *record_id, const char *inspection, const evc_skey *signer,
    int64_t created, fx_signed *out)
{
	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__ScanIn s = EVCHAIN__V1__SCAN_IN__INIT;
	Evchain__V1__Officer o1 = EVCHAIN__V1__OFFICER__INIT, o2 = EVCHAIN__V1__OFFICER__INIT;
	Evchain__V1__Officer *offs[2] = { &o1, &o2 };
	r.record_id = (char *)record_id;
	r.created_ms = created;
	r.body_case = EVCHAIN__V1__RECORD__BODY_SCAN_IN;
	r.scan_in = &s;
	s.inspection_id = (char *)inspection;
	s.agency = "聊城市市场监督管理局";
	s.company_uscc = FX_USCC;
	s.company_name = "聊城示例轴承有限公司";
	o1.name = "张伟";
	o1.certificate_no = "LC-ZF-0001";
	o2.name = "李娜";
	o2.certificate_no = "LC-ZF-0002";
	s.n_officers = 2;
	s.officers = offs;
	s.method = EVCHAIN__V1__SCAN_IN__METHOD__LICENCE_QR_SCAN;
	s.device_ms = created;
	s.basis_case = EVCHAIN__V1__SCAN_IN__BASIS_PLAN_ID;
	s.plan_id = "PLAN-2025-SCJG-01";
	s.kind = EVCHAIN__V1__SCAN_IN__INSPECTION_KIND__ROUTINE;
	s.entry_type = EVCHAIN__V1__SCAN_IN__ENTRY_TYPE__ADMINISTRATIVE_INSPECTION;
	return fx_sign(&r, signer, out);
}

/* A valid evidence record with the given file digest. */
static inline int
fx_evidence(const char *record_id, const char *inspection, const uint8_t sha[32],
    const evc_skey *signer, int64_t created, fx_signed *out)
{
	Record r = EVCHAIN__V1__RECORD__INIT;
	Evchain__V1__Evidence ev = EVCHAIN__V1__EVIDENCE__INIT;
	Evchain__V1__Location loc = EVCHAIN__V1__LOCATION__INIT;
	Evchain__V1__Officer rec = EVCHAIN__V1__OFFICER__INIT;
	r.record_id = (char *)record_id;
	r.created_ms = created;
	r.body_case = EVCHAIN__V1__RECORD__BODY_EVIDENCE;
	r.evidence = &ev;
	ev.inspection_id = (char *)inspection;
	ev.evidence_id = (char *)record_id;
	ev.media_kind = EVCHAIN__V1__EVIDENCE__MEDIA_KIND__VIDEO;
	ev.sha256.data = (uint8_t *)sha;
	ev.sha256.len = 32;
	ev.size = 1048576;
	ev.capture_start_ms = created - 60000;
	ev.capture_end_ms = created;
	loc.latitude = 36.45;
	loc.longitude = 115.98;
	loc.address = "聊城市东昌府区示例路1号";
	ev.place = &loc;
	rec.name = "张伟";
	rec.certificate_no = "LC-ZF-0001";
	ev.recorder = &rec;
	ev.proves = "生产车间消防通道堵塞";
	ev.company_uscc = FX_USCC;
	return fx_sign(&r, signer, out);
}

#endif
