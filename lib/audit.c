/*
 * audit.c — the compliance rules engine (audit.h).
 *
 * State, all in flat arrays that grow by doubling:
 *   strings   every inspection id, agency, company, plan id and (folded)
 *             certificate number, interned once: an id (uint32) per string;
 *             str_insp[id] maps an inspection id's string to its slot
 *   scans     one small struct per scan-in entry (index, time, ids, flags,
 *             offsets of its certificate and joint-agency ids in `ids`)
 *   insps     one per inspection id named by any record: first scan-in,
 *             earliest disposition, first full-process recording, the heads
 *             of its certificate-check list and (while it has no scan-in)
 *             of its orphan list
 *   plans, caps, grades, lates, complaints: one small struct each
 * No record, and no copy of one, is kept. audit_finish sorts copies of
 * index arrays and evaluates each rule in one pass.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "bundle.h"
#include "evc.h"

#define K(x) EVCHAIN__V1__RECORD_KIND__RECORD_KIND_##x
#define NONE32 UINT32_MAX
#define NO_INDEX UINT64_MAX
#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
#define BEIJING_MS (8LL * HOUR_MS)

static const char *const rule_ids[AUDIT_NRULES] = {
	"too_few_officers", "no_scan_in", "open_loop", "over_cap", "no_basis",
	"unverified_officer", "missing_av", "multi_agency", "late_record", "complaint",
};

static const char *const rule_titles[AUDIT_NRULES] = {
	"scan-in with fewer than two distinct certified officers and no stated legal exception",
	"records of an inspection that has no scan-in, or a complaint of entry without scanning",
	"scan-in with no disposition within the open-loop limit",
	"company inspected by one agency more often in a year than the cap for its risk grade",
	"inspection without a filed plan, traceable clue or emergency reason, or an unapproved special inspection",
	"officer whose certificate was not verified as valid in the inspection",
	"sensitive inspection without full-process audio/video evidence",
	"company inspected by two or more agencies within the window, not as a joint inspection",
	"record logged long after the event time it states",
	"company complaint, tied to its inspection",
};

const char *
audit_rule_id(audit_rule r)
{
	return (unsigned)r < AUDIT_NRULES ? rule_ids[r] : "unknown";
}

const char *
audit_rule_title(audit_rule r)
{
	return (unsigned)r < AUDIT_NRULES ? rule_titles[r] : "";
}

int
audit_rule_from_id(const char *id)
{
	for (int i = 0; id != NULL && i < AUDIT_NRULES; i++)
		if (strcmp(id, rule_ids[i]) == 0)
			return i;
	return -1;
}

/* ---- time --------------------------------------------------------------- */

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* a + b without overflow (saturating); b >= 0 */
static int64_t
sat_add(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* b - a for a <= b, exact (the difference of two int64 fits in uint64) */
static uint64_t
udiff(int64_t b, int64_t a)
{
	return (uint64_t)b - (uint64_t)a;
}

static void
beijing_tm(int64_t ms, struct tm *tm)
{
	time_t s = (time_t)floor_div(sat_add(ms, BEIJING_MS), 1000);
	memset(tm, 0, sizeof(*tm));
	gmtime_r(&s, tm);
}

int
audit_year(int64_t ms)
{
	/* civil_from_days (H. Hinnant), on the Beijing day number */
	int64_t z = floor_div(sat_add(ms, BEIJING_MS), DAY_MS) + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	return (int)(yoe + era * 400 + (m <= 2));
}

void
audit_format_time(int64_t ms, char *buf, size_t cap)
{
	struct tm tm;
	beijing_tm(ms, &tm);
	if (strftime(buf, cap, "%Y-%m-%d %H:%M", &tm) == 0 && cap > 0)
		buf[0] = '\0';
}

/* ---- sorting (qsort with NULL is undefined even for 0 elements) ---------- */

static void
sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static void
sort_r(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *, void *), void *ctx)
{
	if (n > 1)
		qsort_r(base, n, size, cmp, ctx);
}

/* ---- growable arrays ---------------------------------------------------- */

#define PUSH(a, arr, n, cap, val)                                                    \
	(evc_grow((void **)&(arr), &(cap), (n) + 1, sizeof(*(arr))) != 0 ? EVC_ENOMEM :  \
	    ((arr)[(n)++] = (val), 0))

/* ---- byte chunks (interned strings, reasons) ------------------------------ */

#define CHUNK (1u << 20)

typedef struct chunks {
	char **list;
	size_t n, cap;
	char *cur;
	size_t left;
	size_t bytes;
} chunks;

static char *
chunks_alloc(chunks *c, size_t len)
{
	if (len > c->left) {
		size_t sz = len > CHUNK / 4 ? len : CHUNK;
		char *b = malloc(sz);
		if (b == NULL || evc_grow((void **)&c->list, &c->cap, c->n + 1, sizeof(char *)) != 0) {
			free(b);
			return NULL;
		}
		c->list[c->n++] = b;
		c->bytes += sz;
		if (sz == len)
			return b; /* a big one of its own; keep the current chunk */
		c->cur = b;
		c->left = sz;
	}
	char *p = c->cur;
	c->cur += len;
	c->left -= len;
	return p;
}

static void
chunks_free(chunks *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->list[i]);
	free(c->list);
	memset(c, 0, sizeof(*c));
}

/* ---- string interning ----------------------------------------------------- */

typedef struct strtab {
	chunks mem;
	const char **str;      /* id → string */
	uint32_t *hash;        /* id → hash */
	uint32_t *aux;         /* id → inspection slot + 1 (0: none) */
	size_t n, cap;
	uint32_t *table;       /* open addressing: id + 1, 0 empty */
	size_t tcap;
} strtab;

static uint32_t
str_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return (uint32_t)(h ^ (h >> 32));
}

static int
strtab_rehash(strtab *t, size_t ncap)
{
	uint32_t *nt = calloc(ncap, sizeof(*nt));
	if (nt == NULL)
		return EVC_ENOMEM;
	for (size_t id = 0; id < t->n; id++) {
		size_t i = t->hash[id] & (ncap - 1);
		while (nt[i] != 0)
			i = (i + 1) & (ncap - 1);
		nt[i] = (uint32_t)id + 1;
	}
	free(t->table);
	t->table = nt;
	t->tcap = ncap;
	return 0;
}

/* Id of s[0..len) (added if new), or NONE32 on ENOMEM. */
static uint32_t
intern_n(strtab *t, const char *s, size_t len)
{
	uint32_t h = str_hash(s, len);
	size_t i = h & (t->tcap - 1);
	for (uint32_t v; (v = t->table[i]) != 0; i = (i + 1) & (t->tcap - 1)) {
		const char *o = t->str[v - 1];
		if (t->hash[v - 1] == h && strncmp(o, s, len) == 0 && o[len] == '\0')
			return v - 1;
	}
	if (t->n >= NONE32 - 1)
		return NONE32;
	size_t c1 = t->cap, c2 = t->cap, c3 = t->cap;
	if (evc_grow((void **)&t->str, &c1, t->n + 1, sizeof(*t->str)) != 0 ||
	    evc_grow((void **)&t->hash, &c2, t->n + 1, sizeof(*t->hash)) != 0 ||
	    evc_grow((void **)&t->aux, &c3, t->n + 1, sizeof(*t->aux)) != 0)
		return NONE32;
	t->cap = c1 < c2 ? (c1 < c3 ? c1 : c3) : (c2 < c3 ? c2 : c3);
	char *copy = chunks_alloc(&t->mem, len + 1);
	if (copy == NULL)
		return NONE32;
	memcpy(copy, s, len);
	copy[len] = '\0';
	uint32_t id = (uint32_t)t->n++;
	t->str[id] = copy;
	t->hash[id] = h;
	t->aux[id] = 0;
	if (2 * t->n > t->tcap) {
		if (strtab_rehash(t, t->tcap * 2) != 0)
			return NONE32;
	} else {
		t->table[i] = id + 1;
	}
	return id;
}

static uint32_t
intern(strtab *t, const char *s)
{
	return intern_n(t, s ? s : "", s ? strlen(s) : 0);
}

static void
strtab_free(strtab *t)
{
	chunks_free(&t->mem);
	free(t->str);
	free(t->hash);
	free(t->aux);
	free(t->table);
	memset(t, 0, sizeof(*t));
}

/* ---- text helpers --------------------------------------------------------- */

/* Next code point of UTF-8 s[*i..len); invalid bytes come back one by one
 * as themselves + 0x110000 (never equal to a real code point). */
static uint32_t
utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[*i];
	uint32_t cp;
	size_t n;
	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if ((c & 0xe0) == 0xc0) {
		cp = c & 0x1fu;
		n = 1;
	} else if ((c & 0xf0) == 0xe0) {
		cp = c & 0x0fu;
		n = 2;
	} else if ((c & 0xf8) == 0xf0) {
		cp = c & 0x07u;
		n = 3;
	} else {
		(*i)++;
		return 0x110000u + c;
	}
	if (*i + n >= len) { /* fewer than n continuation bytes left */
		(*i)++;
		return 0x110000u + c;
	}
	for (size_t k = 1; k <= n; k++) {
		unsigned char d = s[*i + k];
		if ((d & 0xc0) != 0x80) {
			(*i)++;
			return 0x110000u + c;
		}
		cp = (cp << 6) | (d & 0x3fu);
	}
	*i += n + 1;
	return cp;
}

/* Append code point cp as UTF-8 to out (cap); returns the new length. */
static size_t
utf8_put(char *out, size_t o, size_t cap, uint32_t cp)
{
	unsigned char b[4];
	size_t n;
	if (cp >= 0x110000u) {
		b[0] = (unsigned char)(cp - 0x110000u);
		n = 1;
	} else if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (o + n >= cap)
		return o;
	memcpy(out + o, b, n);
	return o + n;
}

/* Certificate number folded as record_validate compares them. */
static void
fold_cert(const char *s, char *out, size_t cap)
{
	size_t len = strlen(s), i = 0, o = 0;
	while (i < len) {
		uint32_t cp = utf8_next((const unsigned char *)s, len, &i);
		if (cp >= 0xff01 && cp <= 0xff5e)
			cp -= 0xfee0;
		if (cp >= 'a' && cp <= 'z')
			cp -= 'a' - 'A';
		o = utf8_put(out, o, cap, cp);
	}
	out[o] = '\0';
}

/* 1 if s is NULL, empty or only white space and invisible characters
 * (ASCII and Unicode spaces, zero-width and direction marks, BOM). */
static int
blank(const char *s)
{
	if (s == NULL)
		return 1;
	size_t len = strlen(s), i = 0;
	while (i < len) {
		uint32_t cp = utf8_next((const unsigned char *)s, len, &i);
		int space = cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0xa0 || cp == 0x1680 ||
		    (cp >= 0x2000 && cp <= 0x200f) || cp == 0x2028 || cp == 0x2029 ||
		    (cp >= 0x202a && cp <= 0x202f) || cp == 0x205f || cp == 0x2060 || cp == 0x3000 ||
		    cp == 0xfeff || cp == 0x180e;
		if (!space)
			return 0;
	}
	return 1;
}

/* ---- the engine's state --------------------------------------------------- */

enum {
	SF_ADMIN = 1,        /* administrative inspection */
	SF_EXCEPTION = 2,    /* a legal exception to two officers is stated */
	SF_JOINT = 4,        /* kind JOINT */
	SF_SPECIAL = 8,      /* kind SPECIAL */
};

enum { B_OK = 0, B_NONE, B_CLUE_NO_SOURCE, B_CLUE_NO_REF, B_EMERGENCY_NO_REASON };

typedef struct scan {
	uint64_t index;
	int64_t t;
	uint32_t insp;        /* inspection slot */
	uint32_t agency, company, plan; /* string ids (plan: NONE32 unless the basis is a plan) */
	uint32_t certs, joint;          /* offsets in ids[] */
	uint8_t ncerts, njoint, nofficers, flags, basis, sens; /* sens: bit per sensitivity value */
} scan;

typedef struct insp {
	uint32_t id;
	uint32_t first_scan;  /* scan slot + 1; 0: none */
	uint32_t first_sens;  /* first sensitive scan slot + 1 */
	uint32_t checks;      /* certificate check list head + 1 */
	uint32_t orphans;     /* orphan list head + 1 (records while no scan-in) */
	uint32_t norphans;
	uint32_t hint_agency, hint_company;
	uint8_t orphan_kinds; /* bits: 1 evidence, 2 certificate check, 4 disposition */
	uint64_t disp_index;
	int64_t disp_ms;
	uint64_t av_index;
	int64_t orphan_ms;
} insp;

typedef struct link {
	uint64_t index;
	uint32_t next;        /* + 1; 0: end */
	uint32_t val;         /* check: folded certificate id; orphan: record kind */
	uint32_t result;      /* check: result */
} link;

typedef struct plan {
	uint64_t index;
	uint32_t id, agency, lead, partners;
	uint32_t year;
	uint8_t npartners, special, approved, filed;
	int64_t approved_ms, filed_ms;
} plan;

typedef struct cap_rec {
	uint64_t index;
	uint32_t agency, grade, year, max;
} cap_rec;

typedef struct grade_rec {
	uint64_t index;
	uint32_t company, agency, grade, year;
} grade_rec;

typedef struct late_rec {
	uint64_t index;
	int64_t event_ms, log_ms;
	uint32_t insp_str, agency, company, sagency; /* agency: the record's own (0: none) */
	uint8_t kind;
	uint8_t end_field;    /* evidence: the capture end was used */
} late_rec;

typedef struct complaint_rec {
	uint64_t index;
	int64_t t;
	uint32_t company, agency, insp_str, signer_agency;
	uint32_t ctype;
} complaint_rec;

typedef struct fnd {
	uint32_t rule, agency, company, insp;
	const char *reason;
	size_t eoff, ne;
	int64_t t;
	uint32_t rank;
} fnd;

struct audit {
	audit_opts o;
	uint32_t f_agency, f_company; /* filter string ids; NONE32: none */
	int finished;
	uint64_t last_index;
	int any;
	int64_t max_log;
	uint64_t nentries;
	strtab st;
	scan *scans;
	size_t nscans, capscans;
	insp *insps;
	size_t ninsps, capinsps;
	link *checks;
	size_t nchecks, capchecks;
	link *orph;
	size_t norph, caporph;
	uint32_t *ids;
	size_t nids, capids;
	plan *plans;
	size_t nplans, capplans;
	cap_rec *caps;
	size_t ncaps, capcaps;
	grade_rec *grades;
	size_t ngrades, capgrades;
	late_rec *lates;
	size_t nlates, caplates;
	complaint_rec *complaints;
	size_t ncomplaints, capcomplaints;
	/* results */
	fnd *f;
	size_t nf, capf;
	uint64_t *ent;
	size_t nent, capent;
	chunks reasons;
	audit_finding *out;
};

audit *
audit_new(const audit_opts *opts)
{
	audit *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	if (opts != NULL)
		a->o = *opts;
	if (a->o.open_loop_days == 0)
		a->o.open_loop_days = AUDIT_DEFAULT_OPEN_LOOP_DAYS;
	if (a->o.multi_agency_days == 0)
		a->o.multi_agency_days = AUDIT_DEFAULT_MULTI_AGENCY_DAYS;
	if (a->o.late_record_hours == 0)
		a->o.late_record_hours = AUDIT_DEFAULT_LATE_RECORD_HOURS;
	if (a->o.rules == 0)
		a->o.rules = (1u << AUDIT_NRULES) - 1;
	a->o.agency = a->o.company = NULL;
	a->f_agency = a->f_company = NONE32;
	a->st.tcap = 1024;
	if (a->o.open_loop_days > AUDIT_MAX_DAYS || a->o.multi_agency_days > AUDIT_MAX_DAYS ||
	    a->o.late_record_hours > AUDIT_MAX_DAYS * 24 ||
	    (a->st.table = calloc(a->st.tcap, sizeof(uint32_t))) == NULL) {
		free(a);
		return NULL;
	}
	/* id 0 is "" */
	if (intern(&a->st, "") != 0)
		goto err;
	if (opts != NULL && opts->agency != NULL && opts->agency[0] != '\0' &&
	    (a->f_agency = intern(&a->st, opts->agency)) == NONE32)
		goto err;
	if (opts != NULL && opts->company != NULL && opts->company[0] != '\0' &&
	    (a->f_company = intern(&a->st, opts->company)) == NONE32)
		goto err;
	return a;
err:
	audit_free(a);
	return NULL;
}

void
audit_free(audit *a)
{
	if (a == NULL)
		return;
	strtab_free(&a->st);
	free(a->scans);
	free(a->insps);
	free(a->checks);
	free(a->orph);
	free(a->ids);
	free(a->plans);
	free(a->caps);
	free(a->grades);
	free(a->lates);
	free(a->complaints);
	free(a->f);
	free(a->ent);
	chunks_free(&a->reasons);
	free(a->out);
	free(a);
}

static const char *
S(const audit *a, uint32_t id)
{
	return id < a->st.n ? a->st.str[id] : "";
}

/* Inspection slot of an inspection id (created if new); NONE32 on ENOMEM. */
static uint32_t
insp_slot(audit *a, const char *id)
{
	uint32_t sid = intern(&a->st, id);
	if (sid == NONE32)
		return NONE32;
	if (a->st.aux[sid] != 0)
		return a->st.aux[sid] - 1;
	insp in;
	memset(&in, 0, sizeof(in));
	in.id = sid;
	in.disp_index = NO_INDEX;
	in.disp_ms = INT64_MAX;
	in.av_index = NO_INDEX;
	in.orphan_ms = INT64_MAX;
	if (PUSH(a, a->insps, a->ninsps, a->capinsps, in) != 0 || a->ninsps >= NONE32)
		return NONE32;
	a->st.aux[sid] = (uint32_t)a->ninsps;
	return (uint32_t)a->ninsps - 1;
}

/* Existing inspection slot of an inspection id string, or NONE32. */
static uint32_t
insp_lookup(const audit *a, uint32_t sid)
{
	return sid < a->st.n && a->st.aux[sid] != 0 ? a->st.aux[sid] - 1 : NONE32;
}

static int
add_orphan(audit *a, uint32_t slot, uint64_t index, Evchain__V1__RecordKind kind, int64_t t,
    const char *company, uint32_t agency)
{
	insp *in = &a->insps[slot];
	if (in->first_scan != 0)
		return 0;
	if (in->norphans < AUDIT_MAX_CITED) {
		link l = { index, in->orphans, (uint32_t)kind, 0 };
		if (PUSH(a, a->orph, a->norph, a->caporph, l) != 0)
			return EVC_ENOMEM;
		in = &a->insps[slot];
		in->orphans = (uint32_t)a->norph;
	}
	in->norphans++;
	in->orphan_kinds |= (uint8_t)(kind == K(EVIDENCE) ? 1 : kind == K(CERTIFICATE_CHECK) ? 2 : 4);
	if (t < in->orphan_ms)
		in->orphan_ms = t;
	if (in->hint_company == 0 && company != NULL && company[0] != '\0') {
		uint32_t c = intern(&a->st, company);
		if (c == NONE32)
			return EVC_ENOMEM;
		a->insps[slot].hint_company = c;
	}
	if (a->insps[slot].hint_agency == 0)
		a->insps[slot].hint_agency = agency;
	return 0;
}

static int
add_late(audit *a, uint64_t index, int64_t log_ms, int64_t event_ms, Evchain__V1__RecordKind kind,
    const char *insp_id, const char *agency, const char *company, int end_field, uint32_t sagency)
{
	if (event_ms >= log_ms || udiff(log_ms, event_ms) <= (uint64_t)a->o.late_record_hours * HOUR_MS)
		return 0;
	late_rec l;
	memset(&l, 0, sizeof(l));
	l.index = index;
	l.event_ms = event_ms;
	l.log_ms = log_ms;
	l.kind = (uint8_t)kind;
	l.end_field = (uint8_t)end_field;
	l.sagency = sagency;
	if ((l.insp_str = intern(&a->st, blank(insp_id) ? "" : insp_id)) == NONE32 ||
	    (l.agency = intern(&a->st, blank(agency) ? "" : agency)) == NONE32 ||
	    (l.company = intern(&a->st, company)) == NONE32)
		return EVC_ENOMEM;
	return PUSH(a, a->lates, a->nlates, a->caplates, l);
}

static int
add_scan(audit *a, uint64_t index, int64_t log_ms, const Record *r, uint32_t sagency)
{
	const Evchain__V1__ScanIn *s = r->scan_in;
	scan sc;
	char folded[4 * RECORD_MAX_ID + 8];

	memset(&sc, 0, sizeof(sc));
	sc.index = index;
	sc.t = s->device_ms != 0 ? s->device_ms : r->created_ms;
	sc.plan = NONE32;
	uint32_t slot = insp_slot(a, s->inspection_id);
	if (slot == NONE32 || (sc.agency = intern(&a->st, s->agency)) == NONE32 ||
	    (sc.company = intern(&a->st, s->company_uscc)) == NONE32)
		return EVC_ENOMEM;
	sc.insp = slot;
	/* Distinct certified officers. */
	sc.certs = (uint32_t)a->nids;
	size_t nof = s->n_officers;
	for (size_t i = 0; i < nof; i++) {
		const Evchain__V1__Officer *o = s->officers[i];
		if (o == NULL || o->certificate_no == NULL || blank(o->certificate_no))
			continue;
		if (strlen(o->certificate_no) >= sizeof(folded) / 4)
			continue; /* longer than any valid number: not a certificate */
		fold_cert(o->certificate_no, folded, sizeof(folded));
		uint32_t c = intern(&a->st, folded);
		if (c == NONE32)
			return EVC_ENOMEM;
		size_t k = 0;
		while (k < sc.ncerts && a->ids[sc.certs + k] != c)
			k++;
		if (k < sc.ncerts || sc.ncerts == UINT8_MAX)
			continue;
		if (PUSH(a, a->ids, a->nids, a->capids, c) != 0)
			return EVC_ENOMEM;
		sc.ncerts++;
	}
	sc.nofficers = (uint8_t)(nof > UINT8_MAX ? UINT8_MAX : nof);
	if (!blank(s->officer_exception))
		sc.flags |= SF_EXCEPTION;
	/* Joint partners. */
	sc.joint = (uint32_t)a->nids;
	for (size_t i = 0; i < s->n_joint_agencies && sc.njoint < UINT8_MAX; i++) {
		uint32_t j = intern(&a->st, s->joint_agencies[i]);
		if (j == NONE32 || PUSH(a, a->ids, a->nids, a->capids, j) != 0)
			return EVC_ENOMEM;
		sc.njoint++;
	}
	if (s->kind == EVCHAIN__V1__SCAN_IN__INSPECTION_KIND__JOINT)
		sc.flags |= SF_JOINT;
	if (s->kind == EVCHAIN__V1__SCAN_IN__INSPECTION_KIND__SPECIAL)
		sc.flags |= SF_SPECIAL;
	if (s->entry_type == EVCHAIN__V1__SCAN_IN__ENTRY_TYPE__ADMINISTRATIVE_INSPECTION ||
	    s->entry_type == EVCHAIN__V1__SCAN_IN__ENTRY_TYPE__ENTRY_TYPE_UNSPECIFIED)
		sc.flags |= SF_ADMIN;
	for (size_t i = 0; i < s->n_sensitivity; i++) {
		int v = (int)s->sensitivity[i];
		sc.sens |= (uint8_t)(v >= 1 && v <= 6 ? 1u << v : 1u << 7);
	}
	switch (s->basis_case) {
	case EVCHAIN__V1__SCAN_IN__BASIS_PLAN_ID:
		if (blank(s->plan_id))
			sc.basis = B_NONE;
		else if ((sc.plan = intern(&a->st, s->plan_id)) == NONE32)
			return EVC_ENOMEM;
		break;
	case EVCHAIN__V1__SCAN_IN__BASIS_CLUE:
		if (s->clue == NULL || blank(s->clue->source))
			sc.basis = B_CLUE_NO_SOURCE;
		else if (blank(s->clue->reference))
			sc.basis = B_CLUE_NO_REF;
		break;
	case EVCHAIN__V1__SCAN_IN__BASIS_EMERGENCY:
		if (s->emergency == NULL || s->emergency->reason <= 0 ||
		    s->emergency->reason > EVCHAIN__V1__SCAN_IN__EMERGENCY_REASON__SUDDEN_EVENT)
			sc.basis = B_EMERGENCY_NO_REASON;
		break;
	default:
		sc.basis = B_NONE;
		break;
	}
	if (PUSH(a, a->scans, a->nscans, a->capscans, sc) != 0 || a->nscans >= NONE32)
		return EVC_ENOMEM;
	insp *in = &a->insps[slot];
	if (in->first_scan == 0)
		in->first_scan = (uint32_t)a->nscans;
	if (sc.sens != 0 && in->first_sens == 0)
		in->first_sens = (uint32_t)a->nscans;
	return add_late(a, index, log_ms, sc.t, K(SCAN_IN), s->inspection_id, s->agency,
	    s->company_uscc, 0, sagency);
}

static int
add_plan(audit *a, uint64_t index, const Evchain__V1__InspectionPlan *p)
{
	plan pl;
	memset(&pl, 0, sizeof(pl));
	pl.index = index;
	pl.year = p->year;
	pl.special = p->plan_type == EVCHAIN__V1__INSPECTION_PLAN__PLAN_TYPE__SPECIAL;
	if ((pl.id = intern(&a->st, p->plan_id)) == NONE32 ||
	    (pl.agency = intern(&a->st, p->agency)) == NONE32 ||
	    (pl.lead = intern(&a->st, p->lead_agency)) == NONE32)
		return EVC_ENOMEM;
	pl.partners = (uint32_t)a->nids;
	for (size_t i = 0; i < p->n_partner_agencies && pl.npartners < UINT8_MAX; i++) {
		uint32_t j = intern(&a->st, p->partner_agencies[i]);
		if (j == NONE32 || PUSH(a, a->ids, a->nids, a->capids, j) != 0)
			return EVC_ENOMEM;
		pl.npartners++;
	}
	const Evchain__V1__InspectionPlan__Approval *ap = p->approval;
	pl.approved = ap != NULL && ap->legal_review && ap->collective_discussion &&
	    !blank(ap->approved_by) && ap->approved_ms != 0;
	pl.approved_ms = ap != NULL ? ap->approved_ms : 0;
	const Evchain__V1__InspectionPlan__Filing *fi = p->filing;
	pl.filed = fi != NULL && !blank(fi->filed_with) && fi->filed_ms != 0;
	pl.filed_ms = fi != NULL ? fi->filed_ms : 0;
	return PUSH(a, a->plans, a->nplans, a->capplans, pl);
}

int
audit_add(audit *a, uint64_t index, int64_t log_ms, const Record *r, const char *signer_agency)
{
	if (a == NULL || r == NULL || a->finished || (a->any && index <= a->last_index))
		return EVC_EINVAL;
	a->any = 1;
	a->last_index = index;
	a->nentries++;
	if (log_ms > a->max_log)
		a->max_log = log_ms;
	uint32_t sagency = intern(&a->st, signer_agency);
	if (sagency == NONE32)
		return EVC_ENOMEM;
	Evchain__V1__RecordKind kind = record_kind(r);
	if (kind != K(UNSPECIFIED) && r->node_key == NULL)
		return 0; /* a oneof member without a body: nothing to judge */
	char folded[4 * RECORD_MAX_ID + 8];
	switch (kind) {
	case K(SCAN_IN):
		return add_scan(a, index, log_ms, r, sagency);
	case K(CERTIFICATE_CHECK): {
		const Evchain__V1__CertificateCheck *c = r->certificate_check;
		int64_t t = c->verified_ms != 0 ? c->verified_ms : r->created_ms;
		if (!blank(c->inspection_id)) {
			uint32_t slot = insp_slot(a, c->inspection_id);
			if (slot == NONE32)
				return EVC_ENOMEM;
			const char *no = c->certificate_no ? c->certificate_no : "";
			uint32_t cid = 0;
			if (strlen(no) < sizeof(folded) / 4) {
				fold_cert(no, folded, sizeof(folded));
				if ((cid = intern(&a->st, folded)) == NONE32)
					return EVC_ENOMEM;
			}
			link l = { index, a->insps[slot].checks, cid, (uint32_t)c->result };
			if (PUSH(a, a->checks, a->nchecks, a->capchecks, l) != 0)
				return EVC_ENOMEM;
			a->insps[slot].checks = (uint32_t)a->nchecks;
			if (add_orphan(a, slot, index, kind, t, c->company_uscc, sagency) != 0)
				return EVC_ENOMEM;
		}
		return add_late(a, index, log_ms, t, kind, c->inspection_id, "", c->company_uscc, 0,
		    sagency);
	}
	case K(EVIDENCE): {
		const Evchain__V1__Evidence *e = r->evidence;
		int64_t t = e->capture_start_ms != 0 ? e->capture_start_ms : r->created_ms;
		if (!blank(e->inspection_id)) {
			uint32_t slot = insp_slot(a, e->inspection_id);
			if (slot == NONE32)
				return EVC_ENOMEM;
			if (e->media_kind == EVCHAIN__V1__EVIDENCE__MEDIA_KIND__FULL_PROCESS_RECORDING &&
			    a->insps[slot].av_index == NO_INDEX)
				a->insps[slot].av_index = index;
			if (add_orphan(a, slot, index, kind, t, e->company_uscc, sagency) != 0)
				return EVC_ENOMEM;
		}
		int end = e->capture_end_ms != 0;
		return add_late(a, index, log_ms, end ? e->capture_end_ms : t, kind, e->inspection_id,
		    "", e->company_uscc, end, sagency);
	}
	case K(DISPOSITION): {
		const Evchain__V1__Disposition *d = r->disposition;
		int64_t t = d->decided_ms != 0 ? d->decided_ms : r->created_ms;
		uint32_t dag = blank(d->agency) ? sagency : intern(&a->st, d->agency);
		if (dag == NONE32)
			return EVC_ENOMEM;
		if (!blank(d->inspection_id)) {
			uint32_t slot = insp_slot(a, d->inspection_id);
			if (slot == NONE32)
				return EVC_ENOMEM;
			insp *in = &a->insps[slot];
			if (t < in->disp_ms) {
				in->disp_ms = t;
				in->disp_index = index;
			}
			if (!blank(d->agency))
				in->hint_agency = dag;
			if (add_orphan(a, slot, index, kind, t, d->company_uscc, dag) != 0)
				return EVC_ENOMEM;
		}
		return add_late(a, index, log_ms, t, kind, d->inspection_id, d->agency, d->company_uscc, 0,
		    sagency);
	}
	case K(COMPANY_FEEDBACK): {
		const Evchain__V1__CompanyFeedback *f = r->company_feedback;
		int64_t t = f->submitted_ms != 0 ? f->submitted_ms : r->created_ms;
		if (f->feedback_type == EVCHAIN__V1__COMPANY_FEEDBACK__FEEDBACK_TYPE__COMPLAINT) {
			complaint_rec c;
			memset(&c, 0, sizeof(c));
			c.index = index;
			c.t = t;
			c.ctype = (uint32_t)f->complaint_type;
			c.signer_agency = sagency;
			if ((c.company = intern(&a->st, f->company_uscc)) == NONE32 ||
			    (c.agency = intern(&a->st, blank(f->agency) ? "" : f->agency)) == NONE32 ||
			    (c.insp_str = intern(&a->st, blank(f->inspection_id) ? "" : f->inspection_id)) ==
			    NONE32 || PUSH(a, a->complaints, a->ncomplaints, a->capcomplaints, c) != 0)
				return EVC_ENOMEM;
		}
		return add_late(a, index, log_ms, t, kind, f->inspection_id, f->agency, f->company_uscc, 0,
		    sagency);
	}
	case K(INSPECTION_PLAN):
		return add_plan(a, index, r->inspection_plan);
	case K(FREQUENCY_CAP): {
		const Evchain__V1__FrequencyCap *c = r->frequency_cap;
		cap_rec cr = { index, 0, 0, c->year, c->max_per_year };
		if ((cr.agency = intern(&a->st, c->agency)) == NONE32 ||
		    (cr.grade = intern(&a->st, c->risk_grade)) == NONE32)
			return EVC_ENOMEM;
		return PUSH(a, a->caps, a->ncaps, a->capcaps, cr);
	}
	case K(RISK_GRADE): {
		const Evchain__V1__RiskGrade *g = r->risk_grade;
		grade_rec gr = { index, 0, 0, 0, g->year };
		if ((gr.company = intern(&a->st, g->company_uscc)) == NONE32 ||
		    (gr.agency = intern(&a->st, g->agency)) == NONE32 ||
		    (gr.grade = intern(&a->st, g->risk_grade)) == NONE32)
			return EVC_ENOMEM;
		return PUSH(a, a->grades, a->ngrades, a->capgrades, gr);
	}
	default:
		return 0;
	}
}

/* ---- findings ------------------------------------------------------------- */

static int
cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

__attribute__((format(printf, 8, 9))) static int
finding(audit *a, audit_rule rule, uint32_t agency, uint32_t company, uint32_t insp_str, int64_t t,
    const uint64_t *e, const char *fmt, ...)
{
	/* e: entry indices terminated by NO_INDEX */
	if (!(a->o.rules & (1u << rule)))
		return 0;
	if (a->f_agency != NONE32 && agency != a->f_agency)
		return 0;
	if (a->f_company != NONE32 && company != a->f_company)
		return 0;
	if ((a->o.from_ms != 0 && t < a->o.from_ms) || (a->o.to_ms != 0 && t >= a->o.to_ms))
		return 0;
	char reason[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(reason))
		n = (int)sizeof(reason) - 1;
	char *rs = chunks_alloc(&a->reasons, (size_t)n + 1);
	if (rs == NULL)
		return EVC_ENOMEM;
	memcpy(rs, reason, (size_t)n);
	rs[n] = '\0';
	size_t ne = 0;
	while (e[ne] != NO_INDEX)
		ne++;
	if (evc_grow((void **)&a->ent, &a->capent, a->nent + ne, sizeof(*a->ent)) != 0)
		return EVC_ENOMEM;
	uint64_t *dst = a->ent + a->nent;
	if (ne > 0)
		memcpy(dst, e, ne * sizeof(*e));
	sort(dst, ne, sizeof(*dst), cmp_u64);
	size_t k = 0;
	for (size_t i = 0; i < ne; i++)
		if (k == 0 || dst[k - 1] != dst[i])
			dst[k++] = dst[i];
	fnd f = { (uint32_t)rule, agency, company, insp_str, rs, a->nent, k, t, 0 };
	a->nent += k;
	return PUSH(a, a->f, a->nf, a->capf, f);
}

static const char *
sens_names(uint8_t sens, char *buf, size_t cap)
{
	static const char *names[] = { "", "personal freedom 人身自由", "life and health 生命健康",
		"major property 重大财产权益", "dispute-prone 易引发争议" };
	size_t o = 0;
	buf[0] = '\0';
	for (unsigned v = 1; v < 8; v++) {
		if (!(sens & (1u << v)))
			continue;
		int n = snprintf(buf + o, cap - o, "%s%s", o ? ", " : "",
		    v < 5 ? names[v] : "another sensitivity");
		if (n < 0 || (size_t)n >= cap - o)
			break;
		o += (size_t)n;
	}
	return buf;
}

static const char *
kind_word(uint32_t kind)
{
	switch (kind) {
	case K(SCAN_IN): return "scan-in";
	case K(CERTIFICATE_CHECK): return "certificate check";
	case K(EVIDENCE): return "evidence";
	case K(DISPOSITION): return "disposition";
	case K(COMPANY_FEEDBACK): return "company feedback";
	default: return "record";
	}
}

static const char *
result_word(uint32_t r)
{
	switch (r) {
	case EVCHAIN__V1__CERTIFICATE_CHECK__RESULT__VALID: return "VALID";
	case EVCHAIN__V1__CERTIFICATE_CHECK__RESULT__INVALID: return "INVALID";
	case EVCHAIN__V1__CERTIFICATE_CHECK__RESULT__EXPIRED: return "EXPIRED";
	case EVCHAIN__V1__CERTIFICATE_CHECK__RESULT__NOT_FOUND: return "NOT_FOUND";
	default: return "no result";
	}
}

static const char *
complaint_word(uint32_t t)
{
	static const char *w[] = { "unspecified", "entered without scanning (未扫码入企)",
		"too few officers", "no certificate shown", "too frequent (多头/重复检查)",
		"third-party inspection", "misconduct", "other" };
	return t < sizeof(w) / sizeof(w[0]) ? w[t] : "other";
}

/* -- per scan-in: too_few_officers, no_basis, unverified_officer -------------- */

static int
cmp_plan(const void *x, const void *y)
{
	const plan *a = x, *b = y;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* First plan with id pid in the sorted plans, or nplans. */
static size_t
plan_first(const audit *a, uint32_t pid)
{
	size_t lo = 0, hi = a->nplans;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->plans[mid].id < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

enum {
	P_LATER = 1, P_AGENCY, P_YEAR, P_UNAPPROVED, P_APPROVED_LATE, P_NOT_SPECIAL, P_OK,
};

static int
plan_check(const audit *a, const scan *s, const plan *p)
{
	if (p->index >= s->index)
		return P_LATER;
	int mine = p->agency == s->agency || p->lead == s->agency;
	for (uint32_t k = 0; !mine && k < p->npartners; k++)
		mine = a->ids[p->partners + k] == s->agency;
	if (!mine)
		return P_AGENCY;
	if (p->year != 0 && (int)p->year != audit_year(s->t))
		return P_YEAR;
	if (p->special && (!p->approved || !p->filed))
		return P_UNAPPROVED;
	if (p->special && (p->approved_ms > s->t || p->filed_ms > s->t))
		return P_APPROVED_LATE;
	if ((s->flags & SF_SPECIAL) && !p->special)
		return P_NOT_SPECIAL;
	return P_OK;
}

static int
rule_no_basis(audit *a, const scan *s, uint32_t insp_str)
{
	uint64_t e[AUDIT_MAX_CITED + 2];
	size_t ne = 0;
	char when[32];
	e[ne++] = s->index;
	e[ne] = NO_INDEX;
	const char *what = s->flags & SF_SPECIAL ? "special inspection (专项检查)" : "scan-in";
	switch (s->basis) {
	case B_NONE:
		return finding(a, AUDIT_NO_BASIS, s->agency, s->company, insp_str, s->t, e,
		    "%s cites no basis: no filed plan, no traceable clue, no emergency reason", what);
	case B_CLUE_NO_SOURCE:
		return finding(a, AUDIT_NO_BASIS, s->agency, s->company, insp_str, s->t, e,
		    "%s cites a clue without a source", what);
	case B_CLUE_NO_REF:
		return finding(a, AUDIT_NO_BASIS, s->agency, s->company, insp_str, s->t, e,
		    "%s cites a clue with no reference to trace it (线索不可追溯)", what);
	case B_EMERGENCY_NO_REASON:
		return finding(a, AUDIT_NO_BASIS, s->agency, s->company, insp_str, s->t, e,
		    "%s cites an emergency without a reason", what);
	default:
		break;
	}
	if (s->plan == NONE32) {
		if (!(s->flags & SF_SPECIAL))
			return 0;
		return finding(a, AUDIT_NO_BASIS, s->agency, s->company, insp_str, s->t, e,
		    "special inspection (专项检查) without an approved special plan: it cites a %s",
		    s->basis == B_OK ? "clue or emergency" : "no plan");
	}
	int best = 0;
	const plan *bp = NULL;
	for (size_t i = plan_first(a, s->plan); i < a->nplans && a->plans[i].id == s->plan; i++) {
		int c = plan_check(a, s, &a->plans[i]);
		if (c == P_OK)
			return 0;
		if (ne < AUDIT_MAX_CITED)
			e[ne++] = a->plans[i].index;
		if (c > best) {
			best = c;
			bp = &a->plans[i];
		}
	}
	e[ne] = NO_INDEX;
	const char *pid = S(a, s->plan);
	switch (best) {
	case 0:
		return finding(a, AUDIT_NO_BASIS, s->agency, s->company, insp_str, s->t, e,
		    "%s cites plan \"%s\", which was never filed", what, pid);
	case P_LATER:
		return finding(a, AUDIT_NO_BASIS, s->agency, s->company, insp_str, s->t, e,
		    "%s cites plan \"%s\", filed only at entry %" PRIu64 ", after the scan-in", what, pid,
		    bp->index);
	case P_AGENCY:
		return finding(a, AUDIT_NO_BASIS, s->agency, s->company, insp_str, s->t, e,
		    "%s cites plan \"%s\" of %s, not a plan of %s", what, pid, S(a, bp->agency),
		    S(a, s->agency));
	case P_YEAR:
		return finding(a, AUDIT_NO_BASIS, s->agency, s->company, insp_str, s->t, e,
		    "%s cites plan \"%s\" for %u; the inspection is in %d", what, pid, bp->year,
		    audit_year(s->t));
	case P_UNAPPROVED:
		return finding(a, AUDIT_NO_BASIS, s->agency, s->company, insp_str, s->t, e,
		    "%s cites special plan \"%s\", which was never %s", what, pid,
		    !bp->approved && !bp->filed ? "approved and filed" : !bp->approved ?
		    "approved (legal review, collective discussion, approval)" : "filed");
	case P_APPROVED_LATE:
		audit_format_time(bp->approved_ms > s->t ? bp->approved_ms : bp->filed_ms, when,
		    sizeof(when));
		return finding(a, AUDIT_NO_BASIS, s->agency, s->company, insp_str, s->t, e,
		    "%s cites special plan \"%s\", %s only on %s (UTC+8), after the scan-in", what, pid,
		    bp->approved_ms > s->t ? "approved" : "filed", when);
	case P_NOT_SPECIAL:
	default:
		return finding(a, AUDIT_NO_BASIS, s->agency, s->company, insp_str, s->t, e,
		    "special inspection (专项检查) citing \"%s\", which is not an approved special plan",
		    pid);
	}
}

static int
rule_unverified(audit *a, const scan *s, const insp *in)
{
	uint64_t e[AUDIT_MAX_CITED + 2];
	size_t ne = 0;
	char reason[900];
	size_t o = 0;
	unsigned bad = 0;
	e[ne++] = s->index;
	reason[0] = '\0';
	for (uint32_t k = 0; k < s->ncerts; k++) {
		uint32_t c = a->ids[s->certs + k];
		int valid = 0;
		uint32_t other = 0, last_result = 0;
		for (uint32_t l = in->checks; l != 0 && !valid; l = a->checks[l - 1].next) {
			const link *ck = &a->checks[l - 1];
			if (ck->val != c)
				continue;
			if (ck->result == EVCHAIN__V1__CERTIFICATE_CHECK__RESULT__VALID) {
				valid = 1;
			} else {
				other++;
				last_result = ck->result;
			}
		}
		if (valid)
			continue;
		bad++;
		for (uint32_t l = in->checks; l != 0 && ne < AUDIT_MAX_CITED; l = a->checks[l - 1].next)
			if (a->checks[l - 1].val == c)
				e[ne++] = a->checks[l - 1].index;
		int n = other ? snprintf(reason + o, sizeof(reason) - o, "%s%s checked %s", o ? "; " : "",
		    S(a, c), result_word(last_result)) : snprintf(reason + o, sizeof(reason) - o,
		    "%s%s never verified", o ? "; " : "", S(a, c));
		if (n > 0 && (size_t)n < sizeof(reason) - o)
			o += (size_t)n;
	}
	if (bad == 0)
		return 0;
	e[ne] = NO_INDEX;
	return finding(a, AUDIT_UNVERIFIED_OFFICER, s->agency, s->company, a->insps[s->insp].id, s->t, e,
	    "%u of %u officer certificate%s not verified as valid in this inspection: %s", bad,
	    (unsigned)s->ncerts, s->ncerts == 1 ? "" : "s", reason);
}

static int
rules_per_scan(audit *a)
{
	for (size_t i = 0; i < a->nscans; i++) {
		const scan *s = &a->scans[i];
		const insp *in = &a->insps[s->insp];
		uint64_t e[2] = { s->index, NO_INDEX };
		int rc = 0;
		if (s->ncerts < 2 && !(s->flags & SF_EXCEPTION)) {
			if (s->nofficers >= 2)
				rc = finding(a, AUDIT_TOO_FEW_OFFICERS, s->agency, s->company, in->id, s->t, e,
				    "%u officers listed but %u distinct certified officer%s (certificate "
				    "numbers), and no legal exception stated", (unsigned)s->nofficers,
				    (unsigned)s->ncerts, s->ncerts == 1 ? "" : "s");
			else
				rc = finding(a, AUDIT_TOO_FEW_OFFICERS, s->agency, s->company, in->id, s->t, e,
				    "%u certified officer%s, fewer than two, and no legal exception stated",
				    (unsigned)s->ncerts, s->ncerts == 1 ? "" : "s");
		}
		if (rc == 0 && (a->o.rules & (1u << AUDIT_NO_BASIS)))
			rc = rule_no_basis(a, s, in->id);
		if (rc == 0 && (a->o.rules & (1u << AUDIT_UNVERIFIED_OFFICER)))
			rc = rule_unverified(a, s, in);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* -- per inspection: open_loop, missing_av, no_scan_in (a) -------------------- */

static int
rules_per_insp(audit *a, int64_t as_of)
{
	char when[32], when2[32], kinds[80];
	int64_t limit = (int64_t)a->o.open_loop_days * DAY_MS;
	for (size_t i = 0; i < a->ninsps; i++) {
		const insp *in = &a->insps[i];
		int rc = 0;
		if (in->first_scan == 0) {
			if (in->norphans == 0)
				continue;
			uint64_t e[AUDIT_MAX_CITED + 1];
			size_t ne = 0;
			for (uint32_t l = in->orphans; l != 0 && ne < AUDIT_MAX_CITED; l = a->orph[l - 1].next)
				e[ne++] = a->orph[l - 1].index;
			e[ne] = NO_INDEX;
			snprintf(kinds, sizeof(kinds), "%s%s%s", in->orphan_kinds & 1 ? ", evidence" : "",
			    in->orphan_kinds & 2 ? ", certificate check" : "",
			    in->orphan_kinds & 4 ? ", disposition" : "");
			rc = finding(a, AUDIT_NO_SCAN_IN, in->hint_agency, in->hint_company, in->id,
			    in->orphan_ms, e, "%u record%s (%s) of this inspection but no scan-in (扫码入企) "
			    "in the log%s", in->norphans, in->norphans == 1 ? "" : "s", kinds + 2,
			    in->norphans > ne ? " (the first ones cited)" : "");
			if (rc != 0)
				return rc;
			continue;
		}
		const scan *s = &a->scans[in->first_scan - 1];
		if ((s->flags & SF_ADMIN) && (a->o.rules & (1u << AUDIT_OPEN_LOOP))) {
			audit_format_time(s->t, when, sizeof(when));
			if (in->disp_index != NO_INDEX && in->disp_ms > sat_add(s->t, limit)) {
				uint64_t e[3] = { s->index, in->disp_index, NO_INDEX };
				audit_format_time(in->disp_ms, when2, sizeof(when2));
				rc = finding(a, AUDIT_OPEN_LOOP, s->agency, s->company, in->id, s->t, e,
				    "disposition only on %s, %.1f days after the scan-in of %s (limit %u days)",
				    when2, (double)udiff(in->disp_ms, s->t) / (double)DAY_MS, when,
				    a->o.open_loop_days);
			} else if (in->disp_index == NO_INDEX && as_of > sat_add(s->t, limit)) {
				uint64_t e[2] = { s->index, NO_INDEX };
				rc = finding(a, AUDIT_OPEN_LOOP, s->agency, s->company, in->id, s->t, e,
				    "no disposition (检查结果处置) %.0f days after the scan-in of %s (limit %u days)",
				    (double)(udiff(as_of, s->t) / (uint64_t)DAY_MS), when, a->o.open_loop_days);
			}
		}
		if (rc == 0 && in->first_sens != 0 && in->av_index == NO_INDEX) {
			const scan *ss = &a->scans[in->first_sens - 1];
			uint64_t e[2] = { ss->index, NO_INDEX };
			rc = finding(a, AUDIT_MISSING_AV, ss->agency, ss->company, in->id, ss->t, e,
			    "sensitive inspection (%s) without full-process audio/video (全过程音像记录): no "
			    "FULL_PROCESS_RECORDING evidence", sens_names(ss->sens, kinds, sizeof(kinds)));
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* -- over_cap and multi_agency ------------------------------------------------- */

static int
cmp_by_insp_agency(const void *x, const void *y, void *ctx)
{
	const audit *au = ctx;
	const scan *a = &au->scans[*(const uint32_t *)x], *b = &au->scans[*(const uint32_t *)y];
	if (a->insp != b->insp)
		return a->insp < b->insp ? -1 : 1;
	if (a->agency != b->agency)
		return a->agency < b->agency ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

static int
cmp_for_cap(const void *x, const void *y, void *ctx)
{
	const audit *au = ctx;
	const scan *a = &au->scans[*(const uint32_t *)x], *b = &au->scans[*(const uint32_t *)y];
	if (a->agency != b->agency)
		return a->agency < b->agency ? -1 : 1;
	if (a->company != b->company)
		return a->company < b->company ? -1 : 1;
	int ya = audit_year(a->t), yb = audit_year(b->t);
	if (ya != yb)
		return ya < yb ? -1 : 1;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

static int
cmp_for_company(const void *x, const void *y, void *ctx)
{
	const audit *au = ctx;
	const scan *a = &au->scans[*(const uint32_t *)x], *b = &au->scans[*(const uint32_t *)y];
	if (a->company != b->company)
		return a->company < b->company ? -1 : 1;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

static int
cmp_grade(const void *x, const void *y)
{
	const grade_rec *a = x, *b = y;
	if (a->company != b->company)
		return a->company < b->company ? -1 : 1;
	if (a->agency != b->agency)
		return a->agency < b->agency ? -1 : 1;
	if (a->year != b->year)
		return a->year < b->year ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

static int
cmp_cap(const void *x, const void *y)
{
	const cap_rec *a = x, *b = y;
	if (a->agency != b->agency)
		return a->agency < b->agency ? -1 : 1;
	if (a->grade != b->grade)
		return a->grade < b->grade ? -1 : 1;
	if (a->year != b->year)
		return a->year < b->year ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* The latest logged grade of (company, agency) for year y (exactly). */
static const grade_rec *
find_grade(const audit *a, uint32_t company, uint32_t agency, uint32_t y)
{
	grade_rec key = { UINT64_MAX, company, agency, 0, y };
	size_t lo = 0, hi = a->ngrades;
	while (lo < hi) { /* first element > key (key has the largest index) */
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_grade(&a->grades[mid], &key) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const grade_rec *g = &a->grades[lo - 1];
	return g->company == company && g->agency == agency && g->year == y ? g : NULL;
}

static const cap_rec *
find_cap(const audit *a, uint32_t agency, uint32_t grade, uint32_t y)
{
	cap_rec key = { UINT64_MAX, agency, grade, y, 0 };
	size_t lo = 0, hi = a->ncaps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_cap(&a->caps[mid], &key) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const cap_rec *c = &a->caps[lo - 1];
	return c->agency == agency && c->grade == grade && c->year == y ? c : NULL;
}

static int
rule_over_cap(audit *a, uint32_t *v, size_t n)
{
	sort_r(v, n, sizeof(*v), cmp_for_cap, a);
	for (size_t i = 0; i < n;) {
		const scan *s0 = &a->scans[v[i]];
		int y = audit_year(s0->t);
		size_t j = i;
		while (j < n && a->scans[v[j]].agency == s0->agency &&
		    a->scans[v[j]].company == s0->company && audit_year(a->scans[v[j]].t) == y)
			j++;
		const grade_rec *g = find_grade(a, s0->company, s0->agency, (uint32_t)y);
		if (g == NULL)
			g = find_grade(a, s0->company, s0->agency, 0);
		const cap_rec *c = g ? find_cap(a, s0->agency, g->grade, (uint32_t)y) : NULL;
		if (c != NULL && j - i > c->max) {
			for (size_t k = i + c->max; k < j; k++) {
				const scan *s = &a->scans[v[k]];
				uint64_t e[AUDIT_MAX_CITED + 4];
				size_t ne = 0;
				e[ne++] = g->index;
				e[ne++] = c->index;
				for (size_t m = i; m < i + c->max && ne < AUDIT_MAX_CITED + 2; m++)
					e[ne++] = a->scans[v[m]].index;
				e[ne++] = s->index;
				e[ne] = NO_INDEX;
				int rc = finding(a, AUDIT_OVER_CAP, s->agency, s->company, a->insps[s->insp].id,
				    s->t, e, "inspection %zu of %s at this company in %d, over the cap of %u a "
				    "year for risk grade \"%s\" (年度频次上限)", k - i + 1, S(a, s->agency), y,
				    c->max, S(a, g->grade));
				if (rc != 0)
					return rc;
			}
		}
		i = j;
	}
	return 0;
}

static int
joint_names(const audit *a, const scan *s, uint32_t agency)
{
	if (!(s->flags & SF_JOINT))
		return 0;
	for (uint32_t k = 0; k < s->njoint; k++)
		if (a->ids[s->joint + k] == agency)
			return 1;
	return 0;
}

static int
rule_multi_agency(audit *a, uint32_t *v, size_t n)
{
	int64_t win = (int64_t)a->o.multi_agency_days * DAY_MS;
	char when[32], reason[900];
	sort_r(v, n, sizeof(*v), cmp_for_company, a);
	size_t lo = 0;
	for (size_t j = 0; j < n; j++) {
		const scan *sj = &a->scans[v[j]];
		if (lo < j && a->scans[v[lo]].company != sj->company)
			lo = j;
		while (lo < j && udiff(sj->t, a->scans[v[lo]].t) > (uint64_t)win)
			lo++;
		uint64_t e[AUDIT_MAX_CITED + 2];
		size_t ne = 0, o = 0;
		unsigned others = 0;
		for (size_t i = lo; i < j; i++) {
			const scan *si = &a->scans[v[i]];
			if (si->agency == sj->agency || si->insp == sj->insp || joint_names(a, si, sj->agency) ||
			    joint_names(a, sj, si->agency))
				continue;
			others++;
			if (ne < AUDIT_MAX_CITED) {
				e[ne++] = si->index;
				audit_format_time(si->t, when, sizeof(when));
				int k = snprintf(reason + o, sizeof(reason) - o, "%s%s on %s (%s)", o ? "; " : "",
				    S(a, si->agency), when, S(a, a->insps[si->insp].id));
				if (k > 0 && (size_t)k < sizeof(reason) - o)
					o += (size_t)k;
			}
		}
		if (others == 0)
			continue;
		e[ne++] = sj->index;
		e[ne] = NO_INDEX;
		int rc = finding(a, AUDIT_MULTI_AGENCY, sj->agency, sj->company, a->insps[sj->insp].id,
		    sj->t, e, "company also inspected by %s, within %u days, not as a joint inspection "
		    "(综合查一次)", reason, a->o.multi_agency_days);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* The latest administrative scan-in at company (by agency, if not 0) at or
 * before t, in v sorted by (company, t, index); NULL if none. */
static const scan *
latest_scan(const audit *a, const uint32_t *v, size_t n, uint32_t company, uint32_t agency, int64_t t)
{
	size_t lo = 0, hi = n;
	while (lo < hi) { /* first element with (company, t) > (company, t) */
		size_t mid = lo + (hi - lo) / 2;
		const scan *s = &a->scans[v[mid]];
		if (s->company < company || (s->company == company && s->t <= t))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, steps = 0; i > 0 && steps < 100000; i--, steps++) {
		const scan *s = &a->scans[v[i - 1]];
		if (s->company != company)
			break;
		if (agency == 0 || s->agency == agency)
			return s;
	}
	return NULL;
}

static int
rules_records(audit *a, const uint32_t *byco, size_t nco)
{
	char when[32];
	for (size_t i = 0; i < a->nlates; i++) {
		const late_rec *l = &a->lates[i];
		uint32_t agency = l->agency, company = l->company;
		uint32_t slot = l->insp_str != 0 ? insp_lookup(a, l->insp_str) : NONE32;
		if (slot != NONE32 && a->insps[slot].first_scan != 0) {
			const scan *s = &a->scans[a->insps[slot].first_scan - 1];
			if (agency == 0)
				agency = s->agency;
			if (company == 0)
				company = s->company;
		}
		if (agency == 0)
			agency = l->sagency;
		uint64_t e[2] = { l->index, NO_INDEX };
		audit_format_time(l->event_ms, when, sizeof(when));
		const char *field = l->kind == K(SCAN_IN) ? "device time" :
		    l->kind == K(CERTIFICATE_CHECK) ? "verification time" :
		    l->kind == K(EVIDENCE) ? (l->end_field ? "capture end" : "capture start") :
		    l->kind == K(DISPOSITION) ? "decision time" : "submission time";
		int rc = finding(a, AUDIT_LATE_RECORD, agency, company, l->insp_str, l->event_ms, e,
		    "%s logged %.1f hours after its %s %s (UTC+8) (limit %u hours)", kind_word(l->kind),
		    (double)udiff(l->log_ms, l->event_ms) / (double)HOUR_MS, field, when,
		    a->o.late_record_hours);
		if (rc != 0)
			return rc;
	}
	for (size_t i = 0; i < a->ncomplaints; i++) {
		const complaint_rec *c = &a->complaints[i];
		const scan *s = NULL;
		uint32_t insp_str = c->insp_str;
		if (insp_str != 0) {
			uint32_t slot = insp_lookup(a, insp_str);
			if (slot != NONE32 && a->insps[slot].first_scan != 0)
				s = &a->scans[a->insps[slot].first_scan - 1];
		} else {
			s = latest_scan(a, byco, nco, c->company, c->agency, c->t);
			if (s != NULL)
				insp_str = a->insps[s->insp].id;
		}
		uint32_t agency = c->agency != 0 ? c->agency : s != NULL ? s->agency : c->signer_agency;
		uint64_t e[3] = { c->index, s ? s->index : NO_INDEX, NO_INDEX };
		audit_format_time(c->t, when, sizeof(when));
		int rc = finding(a, AUDIT_COMPLAINT, agency, c->company, insp_str, c->t, e,
		    "complaint: %s, submitted %s (UTC+8)%s%s", complaint_word(c->ctype), when,
		    s != NULL ? "" : insp_str != 0 ? "; the inspection it names has no scan-in" :
		    "; no inspection of this company found before it", "");
		if (rc == 0 && c->ctype == EVCHAIN__V1__COMPANY_FEEDBACK__COMPLAINT_TYPE__ENTERED_WITHOUT_SCAN)
			rc = finding(a, AUDIT_NO_SCAN_IN, agency, c->company, insp_str, c->t, e,
			    "company complains of entry without scanning (未扫码入企)%s",
			    s != NULL ? "; the log holds a scan-in for the inspection" :
			    "; the log holds no scan-in for it");
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
cmp_fnd(const void *x, const void *y, void *ctx)
{
	const audit *au = ctx;
	const fnd *a = x, *b = y;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	uint64_t ea = a->ne ? au->ent[a->eoff] : 0, eb = b->ne ? au->ent[b->eoff] : 0;
	if (ea != eb)
		return ea < eb ? -1 : 1;
	if (a->rule != b->rule)
		return a->rule < b->rule ? -1 : 1;
	return a->eoff < b->eoff ? -1 : a->eoff > b->eoff;
}

static int
cmp_str_ids(const void *x, const void *y, void *ctx)
{
	return strcmp(S(ctx, *(const uint32_t *)x), S(ctx, *(const uint32_t *)y));
}

int
audit_finish(audit *a, const audit_finding **out, size_t *n)
{
	if (a == NULL || a->finished)
		return EVC_EINVAL;
	a->finished = 1;
	*out = NULL;
	*n = 0;
	int64_t as_of = a->o.as_of_ms != 0 ? a->o.as_of_ms : a->max_log;
	sort(a->plans, a->nplans, sizeof(*a->plans), cmp_plan);
	sort(a->grades, a->ngrades, sizeof(*a->grades), cmp_grade);
	sort(a->caps, a->ncaps, sizeof(*a->caps), cmp_cap);

	int rc = rules_per_scan(a);
	if (rc == 0)
		rc = rules_per_insp(a, as_of);
	/* Administrative scan-ins, the first of each (inspection, agency). */
	uint32_t *v = NULL;
	size_t nv = 0;
	if (rc == 0 && a->nscans > 0) {
		uint32_t *all = malloc(a->nscans * sizeof(*all));
		v = malloc(a->nscans * sizeof(*v));
		if (all == NULL || v == NULL) {
			free(all);
			rc = EVC_ENOMEM;
		} else {
			size_t na = 0;
			for (size_t i = 0; i < a->nscans; i++)
				if (a->scans[i].flags & SF_ADMIN)
					all[na++] = (uint32_t)i;
			sort_r(all, na, sizeof(*all), cmp_by_insp_agency, a);
			for (size_t i = 0; i < na; i++)
				if (i == 0 || a->scans[all[i]].insp != a->scans[all[i - 1]].insp ||
				    a->scans[all[i]].agency != a->scans[all[i - 1]].agency)
					v[nv++] = all[i];
			free(all);
		}
	}
	if (rc == 0 && (a->o.rules & (1u << AUDIT_OVER_CAP)))
		rc = rule_over_cap(a, v, nv);
	if (rc == 0)
		rc = rule_multi_agency(a, v, nv); /* leaves v sorted by (company, t) */
	if (rc == 0)
		rc = rules_records(a, v, nv);
	free(v);
	if (rc != 0)
		return rc;

	/* Rank agencies by name, then sort. */
	uint32_t *ag = malloc((a->nf ? a->nf : 1) * sizeof(*ag));
	if (ag == NULL)
		return EVC_ENOMEM;
	for (size_t i = 0; i < a->nf; i++)
		ag[i] = a->f[i].agency;
	sort_r(ag, a->nf, sizeof(*ag), cmp_str_ids, a);
	/* rank = position of the first equal name; use aux-free binary search */
	for (size_t i = 0; i < a->nf; i++) {
		size_t lo = 0, hi = a->nf;
		const char *name = S(a, a->f[i].agency);
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(S(a, ag[mid]), name) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		a->f[i].rank = (uint32_t)lo;
	}
	free(ag);
	sort_r(a->f, a->nf, sizeof(*a->f), cmp_fnd, a);
	if ((a->out = calloc(a->nf ? a->nf : 1, sizeof(*a->out))) == NULL)
		return EVC_ENOMEM;
	for (size_t i = 0; i < a->nf; i++) {
		audit_finding *o = &a->out[i];
		o->rule = (audit_rule)a->f[i].rule;
		o->agency = S(a, a->f[i].agency);
		o->company = S(a, a->f[i].company);
		o->inspection = S(a, a->f[i].insp);
		o->reason = a->f[i].reason;
		o->entries = a->ent + a->f[i].eoff;
		o->nentries = a->f[i].ne;
		o->event_ms = a->f[i].t;
	}
	*out = a->out;
	*n = a->nf;
	return 0;
}

void
audit_get_stats(const audit *a, audit_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (a == NULL)
		return;
	st->entries = a->nentries;
	st->scan_ins = a->nscans;
	st->inspections = a->ninsps;
	st->plans = a->nplans;
	st->caps = a->ncaps;
	st->grades = a->ngrades;
	st->strings = a->st.n;
	st->memory = sizeof(*a) + a->st.mem.bytes + a->st.cap * (sizeof(char *) + 8) +
	    a->st.tcap * 4 + a->capscans * sizeof(scan) + a->capinsps * sizeof(insp) +
	    (a->capchecks + a->caporph) * sizeof(link) + a->capids * 4 + a->capplans * sizeof(plan) +
	    a->capcaps * sizeof(cap_rec) + a->capgrades * sizeof(grade_rec) +
	    a->caplates * sizeof(late_rec) + a->capcomplaints * sizeof(complaint_rec) +
	    a->capf * sizeof(fnd) + a->capent * 8 + a->reasons.bytes;
}
