/*
 * bundle.c — build evidence bundles from the ledger and verify them offline
 * (bundle.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bundle.h"
#include "evc.h"
#include "hash.h"
#include "keyring.h"
#include "keys.h"
#include "ledger.h"
#include "media.h"
#include "merkle.h"
#include "note.h"
#include "pb.h"
#include "policy.h"
#include "record.h"

#define K(x) EVCHAIN__V1__RECORD_KIND__RECORD_KIND_##x

__attribute__((format(printf, 4, 5))) static int
say(int rc, char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errcap == 0)
		return rc;
	va_start(ap, fmt);
	int n = vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
	if (n < 0)
		err[0] = '\0';
	else if ((size_t)n >= errcap && errcap >= 4)
		memcpy(err + errcap - 4, "...", 4);
	return rc;
}

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

int64_t
bundle_event_time(const Record *r, const char **field)
{
	const char *f = "created_ms";
	int64_t t = 0;

	if (r == NULL) {
		if (field != NULL)
			*field = f;
		return 0;
	}
	switch (record_kind(r)) {
	case K(SCAN_IN):
		if (r->scan_in != NULL && r->scan_in->device_ms != 0) {
			t = r->scan_in->device_ms;
			f = "scan_in.device_ms";
		}
		break;
	case K(CERTIFICATE_CHECK):
		if (r->certificate_check != NULL && r->certificate_check->verified_ms != 0) {
			t = r->certificate_check->verified_ms;
			f = "certificate_check.verified_ms";
		}
		break;
	case K(EVIDENCE):
		if (r->evidence != NULL && r->evidence->capture_start_ms != 0) {
			t = r->evidence->capture_start_ms;
			f = "evidence.capture_start_ms";
		}
		break;
	case K(DISPOSITION):
		if (r->disposition != NULL && r->disposition->decided_ms != 0) {
			t = r->disposition->decided_ms;
			f = "disposition.decided_ms";
		}
		break;
	case K(COMPANY_FEEDBACK):
		if (r->company_feedback != NULL && r->company_feedback->submitted_ms != 0) {
			t = r->company_feedback->submitted_ms;
			f = "company_feedback.submitted_ms";
		}
		break;
	case K(INSPECTION_PLAN):
		if (r->inspection_plan != NULL && r->inspection_plan->filing != NULL &&
		    r->inspection_plan->filing->filed_ms != 0) {
			t = r->inspection_plan->filing->filed_ms;
			f = "inspection_plan.filing.filed_ms";
		}
		break;
	default:
		break;
	}
	if (t == 0) {
		t = r->created_ms;
		f = "created_ms";
	}
	if (field != NULL)
		*field = f;
	return t;
}

const char *
bundle_record_inspection(const Record *r)
{
	if (r == NULL)
		return NULL;
	switch (record_kind(r)) {
	case K(SCAN_IN): return r->scan_in ? r->scan_in->inspection_id : NULL;
	case K(CERTIFICATE_CHECK): return r->certificate_check ? r->certificate_check->inspection_id : NULL;
	case K(EVIDENCE): return r->evidence ? r->evidence->inspection_id : NULL;
	case K(DISPOSITION): return r->disposition ? r->disposition->inspection_id : NULL;
	case K(COMPANY_FEEDBACK): return r->company_feedback ? r->company_feedback->inspection_id : NULL;
	default: return NULL;
	}
}

/* ISO 8601 UTC of a Unix time in ms ("2025-05-12T01:30:00Z"). */
static void
iso_utc(int64_t ms, char *buf, size_t cap)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&s, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "%" PRId64 " ms", ms);
}

/* ======================================================================== */
/* Build                                                                    */
/* ======================================================================== */

/* A sorted set of entry indexes, bounded. */
typedef struct idxset {
	uint64_t *v;
	size_t n, cap, max;
} idxset;

/* Add x; 1 if added, 0 if present, EVC_ETOOLARGE past max, EVC_ENOMEM. */
static int
idx_add(idxset *s, uint64_t x)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->v[mid] == x)
			return 0;
		if (s->v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (s->n >= s->max)
		return EVC_ETOOLARGE;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		uint64_t *nv = realloc(s->v, nc * sizeof(*nv));
		if (nv == NULL)
			return EVC_ENOMEM;
		s->v = nv;
		s->cap = nc;
	}
	memmove(s->v + lo + 1, s->v + lo, (s->n - lo) * sizeof(*s->v));
	s->v[lo] = x;
	s->n++;
	return 1;
}

/* A set of strings (key names, inspection ids), bounded by its users. */
typedef struct strset {
	char **v;
	size_t n, cap;
} strset;

static int
str_has(const strset *s, const char *x)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], x) == 0)
			return 1;
	return 0;
}

/* Index of x in s (which holds it). */
static size_t
str_index(const strset *s, const char *x)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], x) == 0)
			break;
	return i;
}

/* 1 added, 0 present, EVC_ENOMEM. */
static int
str_add(strset *s, const char *x)
{
	if (str_has(s, x))
		return 0;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 16;
		char **nv = realloc(s->v, nc * sizeof(*nv));
		if (nv == NULL)
			return EVC_ENOMEM;
		s->v = nv;
		s->cap = nc;
	}
	if ((s->v[s->n] = strdup(x)) == NULL)
		return EVC_ENOMEM;
	s->n++;
	return 1;
}

static void
str_free(strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

typedef struct builder {
	ledger_txn *t;
	uint64_t size;        /* the checkpoint's tree size */
	pb_arena scratch;     /* per-entry decodes */
	char *err;
	size_t errcap;
} builder;

/* Decode entry `index` (and its record) in the scratch arena. On success
 * *e (and *r) are set; on failure they are NULL. */
static int
load(builder *b, uint64_t index, Evchain__V1__Entry **e, Record **r)
{
	const uint8_t *buf;
	size_t len;
	int rc;

	*e = NULL;
	if (r != NULL)
		*r = NULL;
	pb_arena_reset(&b->scratch);
	if ((rc = ledger_entry(b->t, index, &buf, &len)) != 0) {
		say(rc, b->err, b->errcap, "entry %" PRIu64 " cannot be read: %s", index, evc_strerror(rc));
		return rc == EVC_ENOTFOUND ? EVC_ECORRUPT : rc;
	}
	*e = (Evchain__V1__Entry *)pb_unpack(&b->scratch, &evchain__v1__entry__descriptor, buf, len);
	if (*e == NULL) {
		say(0, b->err, b->errcap, "entry %" PRIu64 " does not decode", index);
		return EVC_ECORRUPT;
	}
	if (r != NULL && (*r = record_decode(&b->scratch, (*e)->record.data, (*e)->record.len)) == NULL) {
		*e = NULL;
		say(0, b->err, b->errcap, "the record of entry %" PRIu64 " does not decode", index);
		return EVC_ECORRUPT;
	}
	return 0;
}

/* Every entry with attribute (attr, val) at index in [start, end) into set.
 * `what` names the subject for the error message. */
static int
query_into(builder *b, int attr, const void *val, size_t len, uint64_t start, uint64_t end,
    idxset *set, const char *what)
{
	uint64_t idx[512], next = start;
	size_t n;
	int rc;

	do {
		if ((rc = ledger_query(b->t, attr, val, len, next, idx, 512, &n, &next)) != 0)
			return say(rc, b->err, b->errcap, "query: %s", evc_strerror(rc));
		for (size_t i = 0; i < n; i++) {
			if (idx[i] >= end)
				return 0;
			if ((rc = idx_add(set, idx[i])) < 0) {
				if (rc == EVC_ETOOLARGE)
					return say(rc, b->err, b->errcap, "%s: more than %zu entries, over the "
					    "limit of one bundle; export a shorter time range", what, set->max);
				return say(rc, b->err, b->errcap, "out of memory");
			}
		}
	} while (next != 0 && next < end);
	return 0;
}

/* Copy into the arena. */
static void *
adup(pb_arena *a, const void *p, size_t n)
{
	void *d = pb_arena_alloc(a, n ? n : 1);
	if (d != NULL && n > 0)
		memcpy(d, p, n);
	return d;
}

static char *
astr(pb_arena *a, const char *s)
{
	return adup(a, s, strlen(s) + 1);
}

/* One BundleEntry with the entry's bytes and its inclusion proof. */
static int
make_entry(builder *b, pb_arena *a, uint64_t index, Evchain__V1__BundleEntry **out)
{
	uint8_t proof[EVC_MAX_PROOF][32];
	const uint8_t *buf;
	size_t len, plen;
	int rc;

	Evchain__V1__BundleEntry *be = pb_arena_alloc(a, sizeof(*be));
	if (be == NULL)
		return say(EVC_ENOMEM, b->err, b->errcap, "out of memory (arena budget)");
	evchain__v1__bundle_entry__init(be);
	if ((rc = ledger_entry(b->t, index, &buf, &len)) != 0)
		return say(rc, b->err, b->errcap, "entry %" PRIu64 ": %s", index, evc_strerror(rc));
	if ((rc = ledger_prove_inclusion(b->t, index, b->size, proof, EVC_MAX_PROOF, &plen)) != 0)
		return say(rc, b->err, b->errcap, "inclusion proof of entry %" PRIu64 ": %s", index,
		    evc_strerror(rc));
	be->index = index;
	be->entry.len = len;
	be->entry.data = adup(a, buf, len);
	be->n_inclusion_proof = plen;
	be->inclusion_proof = pb_arena_alloc(a, (plen ? plen : 1) * sizeof(ProtobufCBinaryData));
	if (be->entry.data == NULL || be->inclusion_proof == NULL)
		return say(EVC_ENOMEM, b->err, b->errcap, "out of memory (arena budget)");
	for (size_t i = 0; i < plen; i++) {
		be->inclusion_proof[i].len = 32;
		if ((be->inclusion_proof[i].data = adup(a, proof[i], 32)) == NULL)
			return say(EVC_ENOMEM, b->err, b->errcap, "out of memory (arena budget)");
	}
	*out = be;
	return 0;
}

/* A node_key entry of the log: whom it is about, who signed it. */
typedef struct nk_entry {
	uint64_t index;
	char *key_name;
	char *signer;
	int selected;
} nk_entry;

/* The node_key entries about the signers in `needed`, recursively. */
static int
collect_keys(builder *b, strset *needed, idxset *keys)
{
	nk_entry *v = NULL;
	size_t n = 0, cap = 0;
	uint8_t kind = (uint8_t)K(NODE_KEY);
	uint64_t idx[512], next = 0;
	size_t got;
	int rc = 0;

	do {
		if ((rc = ledger_query(b->t, RECORD_ATTR_KIND, &kind, 1, next, idx, 512, &got,
		    &next)) != 0) {
			say(rc, b->err, b->errcap, "query: %s", evc_strerror(rc));
			goto out;
		}
		for (size_t i = 0; i < got && idx[i] < b->size; i++) {
			Evchain__V1__Entry *e;
			Record *r;
			if (n >= BUNDLE_MAX_KEY_SCAN) {
				rc = say(EVC_ETOOLARGE, b->err, b->errcap, "the log holds more than %u "
				    "node_key entries", BUNDLE_MAX_KEY_SCAN);
				goto out;
			}
			if ((rc = load(b, idx[i], &e, &r)) != 0)
				goto out;
			if (record_kind(r) != K(NODE_KEY) || r->node_key == NULL)
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				nk_entry *nv = realloc(v, nc * sizeof(*nv));
				if (nv == NULL) {
					rc = say(EVC_ENOMEM, b->err, b->errcap, "out of memory");
					goto out;
				}
				v = nv;
				cap = nc;
			}
			v[n].index = idx[i];
			v[n].selected = 0;
			v[n].key_name = strdup(nz(r->node_key->key_name));
			v[n].signer = strdup(nz(e->key_name));
			n++;
			if (v[n - 1].key_name == NULL || v[n - 1].signer == NULL) {
				rc = say(EVC_ENOMEM, b->err, b->errcap, "out of memory");
				goto out;
			}
		}
	} while (next != 0 && next < b->size);

	/* Closure: the entries about a needed name; their signers are needed. */
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t i = 0; i < n; i++) {
			if (v[i].selected || !str_has(needed, v[i].key_name))
				continue;
			v[i].selected = 1;
			changed = 1;
			if ((rc = idx_add(keys, v[i].index)) < 0) {
				if (rc == EVC_ETOOLARGE)
					say(rc, b->err, b->errcap, "the signers' key history has more than %zu "
					    "node_key entries", keys->max);
				else
					say(rc, b->err, b->errcap, "out of memory");
				goto out;
			}
			if ((rc = str_add(needed, v[i].signer)) < 0) {
				say(rc, b->err, b->errcap, "out of memory");
				goto out;
			}
		}
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++) {
		free(v[i].key_name);
		free(v[i].signer);
	}
	free(v);
	return rc;
}

/*
 * The inspection_plan entries filed under plan_id before entry `before` (the
 * scan-in that names it) into set, their signers into signers. The plan
 * index also lists every scan-in under the plan, so at most PLAN_SCAN
 * entries are examined (plans are filed before the inspections that follow
 * them, so they come first); each is recognised from its bytes (the
 * record's inspection_plan field) before it is decoded.
 */
#define PLAN_SCAN 100000u
static int
add_plans(builder *b, const char *plan_id, uint64_t before, idxset *set, strset *signers)
{
	uint64_t idx[512], next = 0;
	size_t n, seen = 0;
	int rc;

	do {
		if ((rc = ledger_query(b->t, RECORD_ATTR_PLAN, plan_id, strlen(plan_id), next, idx, 512,
		    &n, &next)) != 0)
			return say(rc, b->err, b->errcap, "query: %s", evc_strerror(rc));
		for (size_t i = 0; i < n; i++) {
			const uint8_t *eb, *rb, *pb;
			size_t el, rl, pl;
			Evchain__V1__Entry *e;
			Record *r;
			if (idx[i] >= before || ++seen > PLAN_SCAN)
				return 0;
			if (ledger_entry(b->t, idx[i], &eb, &el) != 0 ||
			    pb_field_bytes(eb, el, 5, &rb, &rl) != 0 ||
			    pb_field_bytes(rb, rl, 11, &pb, &pl) != 0)
				continue;
			if ((rc = load(b, idx[i], &e, &r)) != 0)
				return rc;
			if (record_kind(r) != K(INSPECTION_PLAN))
				continue;
			if ((rc = idx_add(set, idx[i])) < 0)
				return say(rc, b->err, b->errcap, rc == EVC_ETOOLARGE ? "more than %zu entries "
				    "with the plans, over the limit of one bundle" : "out of memory", set->max);
			if (e->key_name != NULL && (rc = str_add(signers, e->key_name)) < 0)
				return say(rc, b->err, b->errcap, "out of memory");
		}
	} while (next != 0 && next < before);
	return 0;
}

/* Cosignature lines of a signed checkpoint: its signatures but the log's. */
static size_t
count_cosigs(const char *msg, size_t len, const char *origin)
{
	note nt;
	size_t n = 0;

	if (note_parse(msg, len, &nt) != 0)
		return 0;
	for (size_t i = 0; i < nt.nsigs; i++)
		if (strcmp(nt.sigs[i].name, origin) != 0)
			n++;
	return n;
}

/*
 * The size of the newest checkpoint (at most `latest`) with at least min
 * cosignatures: scan the checkpoints of sizes in (latest - w, latest] for
 * growing windows w, at most BUNDLE_MAX_CP_SCAN of them. EVC_ENOTFOUND.
 */
static int
find_cosigned(builder *b, uint64_t latest, const char *origin, unsigned min, char *buf,
    uint64_t *found)
{
	/* The caller looked at `latest`; sizes >= done_below are done. */
	uint64_t w = 256, scanned = 0, done_below = latest;
	int rc;

	for (;;) {
		uint64_t from = latest > w ? latest - w : 0, best = 0, after = from;
		while (after < done_below && scanned < BUNDLE_MAX_CP_SCAN) {
			uint64_t size;
			const char *nb;
			size_t nl, cl;
			rc = ledger_next_checkpoint(b->t, after, &size, &nb, &nl, NULL);
			if (rc == EVC_ENOTFOUND || (rc == 0 && size >= done_below))
				break;
			if (rc != 0)
				return say(rc, b->err, b->errcap, "checkpoints: %s", evc_strerror(rc));
			scanned++;
			after = size;
			if ((rc = ledger_checkpoint(b->t, size, buf, EVC_MAX_NOTE + 1, &cl, NULL, NULL)) != 0)
				return say(rc, b->err, b->errcap, "checkpoint %" PRIu64 ": %s", size,
				    evc_strerror(rc));
			if (count_cosigs(buf, cl, origin) >= min)
				best = size;
		}
		if (best != 0) {
			*found = best;
			return 0;
		}
		/* Everything down to size 1 scanned, or the scan bound reached. */
		if (from == 0 || scanned >= BUNDLE_MAX_CP_SCAN)
			return say(EVC_ENOTFOUND, b->err, b->errcap, "no checkpoint%s has %u cosignatures yet",
			    from == 0 ? "" : " of the latest examined", min);
		done_below = from + 1;
		w = w > UINT64_MAX / 8 ? UINT64_MAX : w * 8;
	}
}

int
bundle_build(ledger_txn *t, const bundle_subject *subj, const bundle_build_opts *opts,
    pb_arena *a, Evchain__V1__Bundle **out, size_t *packed, char *err, size_t errcap)
{
	bundle_build_opts o = { 0 };
	builder b;
	idxset subject = { 0 }, keys = { 0 }, planset = { 0 };
	strset signers = { 0 }, inspections = { 0 }, plans = { 0 };
	char *cpbuf = NULL, subjtext[512];
	uint64_t *plan_before = NULL;
	size_t cplen;
	note nt;
	checkpoint cp;
	int rc;

	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (out != NULL)
		*out = NULL;
	if (t == NULL || subj == NULL || a == NULL || out == NULL)
		return say(EVC_EINVAL, err, errcap, "missing argument");
	if (opts != NULL)
		o = *opts;
	if (o.max_entries == 0)
		o.max_entries = BUNDLE_MAX_ENTRIES;
	if (o.max_key_entries == 0)
		o.max_key_entries = BUNDLE_MAX_KEY_ENTRIES;
	if (o.max_bytes == 0)
		o.max_bytes = BUNDLE_MAX_BYTES;
	if (o.now_ms == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		o.now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}

	int by_insp = subj->inspection_id != NULL && subj->inspection_id[0] != '\0';
	int by_comp = subj->company_uscc != NULL && subj->company_uscc[0] != '\0';
	if (by_insp == by_comp)
		return say(EVC_EINVAL, err, errcap, "give either an inspection id or a company code");
	const char *key = by_insp ? subj->inspection_id : subj->company_uscc;
	if (strlen(key) > RECORD_MAX_ID)
		return say(EVC_EINVAL, err, errcap, "the subject is over %d bytes", RECORD_MAX_ID);
	if (subj->from_ms < 0 || subj->to_ms < 0 || (subj->to_ms != 0 && subj->to_ms <= subj->from_ms))
		return say(EVC_EINVAL, err, errcap, "the time range [%" PRId64 ", %" PRId64 ") is empty",
		    subj->from_ms, subj->to_ms);

	memset(&b, 0, sizeof(b));
	b.t = t;
	b.err = err;
	b.errcap = errcap;
	pb_arena_init(&b.scratch, 4 * EVC_MAX_ENTRY + 65536);
	subject.max = o.max_entries;
	planset.max = o.max_entries;
	keys.max = o.max_key_entries;

	/* The checkpoint, with its cosignatures. */
	if ((cpbuf = malloc(EVC_MAX_NOTE + 1)) == NULL) {
		rc = say(EVC_ENOMEM, err, errcap, "out of memory");
		goto out;
	}
	rc = ledger_checkpoint(t, o.tree_size, cpbuf, EVC_MAX_NOTE + 1, &cplen, &b.size, NULL);
	if (rc != 0) {
		if (rc == EVC_ENOTFOUND && o.tree_size == 0)
			say(rc, err, errcap, "the log is empty");
		else if (rc == EVC_ENOTFOUND)
			say(rc, err, errcap, "no checkpoint of tree size %" PRIu64, o.tree_size);
		else
			say(rc, err, errcap, "checkpoint: %s", evc_strerror(rc));
		goto out;
	}
	if (note_parse(cpbuf, cplen, &nt) != 0 || checkpoint_parse(nt.text, nt.text_len, &cp) != 0 ||
	    cp.size != b.size) {
		rc = say(EVC_ECORRUPT, err, errcap, "the stored checkpoint of size %" PRIu64
		    " is malformed", b.size);
		goto out;
	}
	if (o.min_cosignatures > 0 && count_cosigs(cpbuf, cplen, cp.origin) < o.min_cosignatures) {
		uint64_t found = 0;
		if ((rc = find_cosigned(&b, b.size, cp.origin, o.min_cosignatures, cpbuf, &found)) != 0)
			goto out;
		if ((rc = ledger_checkpoint(t, found, cpbuf, EVC_MAX_NOTE + 1, &cplen, &b.size, NULL)) != 0) {
			say(rc, err, errcap, "checkpoint %" PRIu64 ": %s", found, evc_strerror(rc));
			goto out;
		}
		if (note_parse(cpbuf, cplen, &nt) != 0 || checkpoint_parse(nt.text, nt.text_len, &cp) != 0 ||
		    cp.size != b.size) {
			rc = say(EVC_ECORRUPT, err, errcap, "the stored checkpoint of size %" PRIu64
			    " is malformed", b.size);
			goto out;
		}
	}

	/* The subject's entries. */
	if (by_insp) {
		snprintf(subjtext, sizeof(subjtext), "inspection %s", key);
		if ((rc = query_into(&b, RECORD_ATTR_INSPECTION, key, strlen(key), 0, b.size, &subject,
		    subjtext)) != 0)
			goto out;
	} else {
		uint64_t start = 0, end = b.size;
		char f[40] = "", u[40] = "";
		if (subj->from_ms > 0 && (rc = ledger_first_at_time(t, subj->from_ms, &start)) != 0) {
			say(rc, err, errcap, "time range: %s", evc_strerror(rc));
			goto out;
		}
		if (subj->to_ms > 0 && (rc = ledger_first_at_time(t, subj->to_ms, &end)) != 0) {
			say(rc, err, errcap, "time range: %s", evc_strerror(rc));
			goto out;
		}
		if (end > b.size)
			end = b.size;
		if (subj->from_ms > 0)
			iso_utc(subj->from_ms, f, sizeof(f));
		if (subj->to_ms > 0)
			iso_utc(subj->to_ms, u, sizeof(u));
		int n = snprintf(subjtext, sizeof(subjtext), "company %s%s%s%s%s%s", key,
		    f[0] || u[0] ? ", logged" : "", f[0] ? " from " : "", f, u[0] ? " until " : "", u);
		if (n < 0 || (size_t)n >= sizeof(subjtext)) {
			rc = say(EVC_EINVAL, err, errcap, "subject text too long");
			goto out;
		}
		if (start < end && (rc = query_into(&b, RECORD_ATTR_COMPANY, key, strlen(key), start, end,
		    &subject, subjtext)) != 0)
			goto out;
		/* Complete every inspection the range touches. */
		for (size_t i = 0; i < subject.n; i++) {
			Evchain__V1__Entry *e;
			Record *r;
			if ((rc = load(&b, subject.v[i], &e, &r)) != 0)
				goto out;
			const char *insp = bundle_record_inspection(r);
			if (insp != NULL && insp[0] != '\0' && strlen(insp) <= RECORD_MAX_ID &&
			    (rc = str_add(&inspections, insp)) < 0) {
				say(rc, err, errcap, "out of memory");
				goto out;
			}
		}
		for (size_t i = 0; i < inspections.n; i++) {
			if ((rc = query_into(&b, RECORD_ATTR_INSPECTION, inspections.v[i],
			    strlen(inspections.v[i]), 0, b.size, &subject, subjtext)) != 0)
				goto out;
		}
	}
	if (subject.n == 0) {
		rc = say(EVC_ENOTFOUND, err, errcap, "no entry about %s in the log (size %" PRIu64 ")",
		    subjtext, b.size);
		goto out;
	}

	/* Every signer, and the filed plans the scan-ins name. */
	size_t n0 = subject.n;
	if ((plan_before = calloc(n0, sizeof(*plan_before))) == NULL) {
		rc = say(EVC_ENOMEM, err, errcap, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n0; i++) {
		Evchain__V1__Entry *e;
		Record *r;
		if ((rc = load(&b, subject.v[i], &e, &r)) != 0)
			goto out;
		if (e->key_name != NULL && (rc = str_add(&signers, e->key_name)) < 0) {
			say(rc, err, errcap, "out of memory");
			goto out;
		}
		if (record_kind(r) == K(SCAN_IN) && r->scan_in != NULL &&
		    r->scan_in->basis_case == EVCHAIN__V1__SCAN_IN__BASIS_PLAN_ID &&
		    r->scan_in->plan_id != NULL && r->scan_in->plan_id[0] != '\0' &&
		    strlen(r->scan_in->plan_id) <= RECORD_MAX_ID) {
			/* Each plan once, up to its last scan-in here (subject is ascending). */
			if ((rc = str_add(&plans, r->scan_in->plan_id)) < 0) {
				say(rc, err, errcap, "out of memory");
				goto out;
			}
			size_t k = str_index(&plans, r->scan_in->plan_id);
			if (k < n0)   /* at most one plan per subject entry */
				plan_before[k] = subject.v[i];
		}
	}
	for (size_t i = 0; i < plans.n && i < n0; i++)
		if ((rc = add_plans(&b, plans.v[i], plan_before[i], &planset, &signers)) != 0)
			goto out;
	for (size_t i = 0; i < planset.n; i++) {
		if ((rc = idx_add(&subject, planset.v[i])) < 0) {
			say(rc, err, errcap, rc == EVC_ETOOLARGE ? "%s: more than %zu entries with its "
			    "plans, over the limit of one bundle" : "out of memory", subjtext, subject.max);
			goto out;
		}
	}

	/* The key history of the signers. */
	if ((rc = collect_keys(&b, &signers, &keys)) != 0)
		goto out;

	/* The message, in the caller's arena. */
	Evchain__V1__Bundle *bu = pb_arena_alloc(a, sizeof(*bu));
	if (bu == NULL) {
		rc = say(EVC_ENOMEM, err, errcap, "out of memory (arena budget)");
		goto out;
	}
	evchain__v1__bundle__init(bu);
	bu->version = BUNDLE_VERSION;
	bu->origin = astr(a, cp.origin);
	bu->subject = astr(a, subjtext);
	bu->created_ms = o.now_ms;
	bu->checkpoint.data = adup(a, cpbuf, cplen);
	bu->checkpoint.len = cplen;
	bu->entries = pb_arena_alloc(a, subject.n * sizeof(*bu->entries));
	bu->key_entries = pb_arena_alloc(a, (keys.n ? keys.n : 1) * sizeof(*bu->key_entries));
	if (bu->origin == NULL || bu->subject == NULL || bu->checkpoint.data == NULL ||
	    bu->entries == NULL || bu->key_entries == NULL) {
		rc = say(EVC_ENOMEM, err, errcap, "out of memory (arena budget)");
		goto out;
	}
	/* The packed size is checked as it grows (an entry costs its bytes, its
	 * proof and a few bytes of framing), so a subject too large for one
	 * bundle stops early, before the arena runs out. */
	size_t psize = cplen + 64;
	for (size_t i = 0; i < subject.n + keys.n && psize <= o.max_bytes; i++) {
		int is_key = i >= subject.n;
		Evchain__V1__BundleEntry **slot = is_key ? &bu->key_entries[i - subject.n] : &bu->entries[i];
		if ((rc = make_entry(&b, a, is_key ? keys.v[i - subject.n] : subject.v[i], slot)) != 0)
			goto out;
		if (is_key)
			bu->n_key_entries = i - subject.n + 1;
		else
			bu->n_entries = i + 1;
		psize += (*slot)->entry.len + 36 * (*slot)->n_inclusion_proof + 16;
	}
	if (psize <= o.max_bytes)
		psize = evchain__v1__bundle__get_packed_size(bu);
	if (psize > o.max_bytes) {
		rc = say(EVC_ETOOLARGE, err, errcap, "the bundle about %s would be over %zu bytes (%zu "
		    "entries, %zu key entries), over the limit of %zu; export a shorter time range",
		    subjtext, psize, subject.n, keys.n, o.max_bytes);
		goto out;
	}
	if (packed != NULL)
		*packed = psize;
	*out = bu;
	rc = 0;
out:
	free(cpbuf);
	free(subject.v);
	free(keys.v);
	free(planset.v);
	free(plan_before);
	str_free(&signers);
	str_free(&inspections);
	str_free(&plans);
	pb_arena_free(&b.scratch);
	return rc;
}

int
bundle_tlog_proof(const Evchain__V1__Bundle *b, size_t i, char **out, size_t *outlen)
{
	uint8_t proof[EVC_MAX_PROOF][32];
	const Evchain__V1__BundleEntry *be;

	if (b == NULL || out == NULL || outlen == NULL)
		return EVC_EINVAL;
	if (i < b->n_entries)
		be = b->entries[i];
	else if (i - b->n_entries < b->n_key_entries)
		be = b->key_entries[i - b->n_entries];
	else
		return EVC_EINVAL;
	if (be == NULL || be->n_inclusion_proof > EVC_MAX_PROOF || b->checkpoint.len == 0)
		return EVC_EINVAL;
	for (size_t k = 0; k < be->n_inclusion_proof; k++) {
		if (be->inclusion_proof[k].len != 32)
			return EVC_EINVAL;
		memcpy(proof[k], be->inclusion_proof[k].data, 32);
	}
	return tlog_proof_format(be->index, NULL, 0, (const uint8_t(*)[32])proof,
	    be->n_inclusion_proof, (const char *)b->checkpoint.data, b->checkpoint.len, out, outlen);
}

/* ======================================================================== */
/* Verify                                                                   */
/* ======================================================================== */

typedef struct verifier {
	bundle_report *r;
	pb_arena *a;
	const bundle_verify_opts *o;
	const Evchain__V1__Bundle *b;
	checkpoint cp;
	int cp_parsed;
	const evc_vkey *log_key;       /* the policy's key that signed the checkpoint */
	bundle_entry_report **order;   /* every entry report by index, duplicates removed */
	size_t norder;
} verifier;

__attribute__((format(printf, 5, 6))) static void
fail(bundle_report *r, const char *check, uint64_t index, const char *file, const char *fmt, ...)
{
	va_list ap;

	r->failures_total++;
	if (r->nfailures >= BUNDLE_MAX_FAILURES)
		return;
	bundle_failure *f = &r->failures[r->nfailures++];
	snprintf(f->check, sizeof(f->check), "%s", check);
	f->index = index;
	f->file = file;
	va_start(ap, fmt);
	int n = vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		f->msg[0] = '\0';
	else if ((size_t)n >= sizeof(f->msg))
		memcpy(f->msg + sizeof(f->msg) - 4, "...", 4);
}

/* Short description of an entry for messages: "entry 12 (scan_in LC-…)". */
static const char *
what(const bundle_entry_report *e, char *buf, size_t cap)
{
	if (e->rec != NULL && e->rec->record_id != NULL)
		snprintf(buf, cap, "entry %" PRIu64 " (%s \"%.64s\")", e->index,
		    record_kind_name(e->kind), e->rec->record_id);
	else
		snprintf(buf, cap, "entry %" PRIu64, e->index);
	return buf;
}

/* The checkpoint: text, origin, the log's signature, cosignatures, quorum. */
static void
verify_checkpoint(verifier *v)
{
	bundle_report *r = v->r;
	const policy *p = v->o->policy;
	const Evchain__V1__Bundle *b = v->b;
	const char *msg = (const char *)b->checkpoint.data;
	size_t len = b->checkpoint.len;
	note parsed, opened;
	uint8_t witnessed[POLICY_MAX_NODES] = { 0 };
	evc_vkey cands[POLICY_MAX_LOGS];
	size_t ncands = 0;
	int rc;

	r->checkpoint = BUNDLE_FAIL;
	r->quorum = BUNDLE_FAIL;
	policy_describe(p, r->quorum_rule, sizeof(r->quorum_rule));
	if (len == 0 || msg == NULL) {
		fail(r, "checkpoint", BUNDLE_NO_INDEX, NULL, "the bundle holds no checkpoint");
		return;
	}
	if ((rc = note_parse(msg, len, &parsed)) != 0) {
		fail(r, "checkpoint", BUNDLE_NO_INDEX, NULL, "the checkpoint is not a well-formed "
		    "signed note (%s)", evc_strerror(rc));
		return;
	}
	if (checkpoint_parse(parsed.text, parsed.text_len, &v->cp) != 0) {
		fail(r, "checkpoint", BUNDLE_NO_INDEX, NULL, "the checkpoint's text is not a "
		    "tlog-checkpoint (origin, tree size, root hash)");
		return;
	}
	v->cp_parsed = 1;
	r->tree_size = v->cp.size;
	memcpy(r->root, v->cp.root, 32);
	r->origin = astr(v->a, v->cp.origin);
	if (r->origin == NULL)
		r->origin = "";
	if (b->origin != NULL && b->origin[0] != '\0' && strcmp(b->origin, v->cp.origin) != 0)
		fail(r, "checkpoint", BUNDLE_NO_INDEX, NULL, "the bundle names origin \"%.100s\" but its "
		    "checkpoint is of \"%.100s\"", b->origin, v->cp.origin);

	/* The log's signature: a policy log key named as the origin. */
	for (size_t i = 0; i < p->nlogs; i++)
		if (strcmp(p->logs[i].name, v->cp.origin) == 0)
			cands[ncands++] = p->logs[i];
	if (ncands == 0) {
		fail(r, "checkpoint", BUNDLE_NO_INDEX, NULL, "no trusted log key is named \"%.100s\" (the "
		    "checkpoint's origin)%s%.100s", v->cp.origin, p->nlogs ? "; the log key given is "
		    "named " : "", p->nlogs ? p->logs[0].name : "");
	} else {
		rc = note_open(msg, len, cands, ncands, &opened);
		if (rc >= 1) {
			for (size_t i = 0; i < opened.nsigs && v->log_key == NULL; i++)
				for (size_t k = 0; k < p->nlogs; k++)
					if (opened.sigs[i].key != NULL && opened.sigs[i].key->id == p->logs[k].id &&
					    strcmp(opened.sigs[i].key->name, p->logs[k].name) == 0 &&
					    memcmp(opened.sigs[i].key->pub, p->logs[k].pub, 32) == 0)
						v->log_key = &p->logs[k];
		}
		if (v->log_key != NULL) {
			r->checkpoint = BUNDLE_PASS;
			if (keys_vkey_format(v->log_key, r->log_key, sizeof(r->log_key)) < 0)
				r->log_key[0] = '\0';
		} else if (rc == EVC_EBADSIG) {
			fail(r, "checkpoint", BUNDLE_NO_INDEX, NULL, "the log's signature on the checkpoint "
			    "does not verify with the log key \"%.100s\"", cands[0].name);
		} else if (rc == EVC_EUNKNOWNKEY || rc >= 0) {
			fail(r, "checkpoint", BUNDLE_NO_INDEX, NULL, "the checkpoint is not signed by the "
			    "trusted log key \"%.100s\" (key id %08" PRIx32 "): signed by another key",
			    cands[0].name, cands[0].id);
		} else {
			fail(r, "checkpoint", BUNDLE_NO_INDEX, NULL, "the checkpoint cannot be opened: %s",
			    evc_strerror(rc));
		}
	}

	/* Every other signature line: a policy witness's cosignature, or ignored. */
	r->cosigners = pb_arena_alloc(v->a, (parsed.nsigs ? parsed.nsigs : 1) * sizeof(*r->cosigners));
	if (r->cosigners == NULL) {
		fail(r, "format", BUNDLE_NO_INDEX, NULL, "out of memory");
		return;
	}
	for (size_t i = 0; i < parsed.nsigs; i++) {
		const note_sig *s = &parsed.sigs[i];
		int is_log = 0;
		for (size_t k = 0; k < ncands; k++)
			if (cands[k].id == s->id && strcmp(cands[k].name, s->name) == 0)
				is_log = 1;
		if (is_log)
			continue;
		bundle_cosigner *c = &r->cosigners[r->ncosigners++];
		memset(c, 0, sizeof(*c));
		snprintf(c->name, sizeof(c->name), "%s", s->name);
		c->id = s->id;
		c->state = BUNDLE_UNCHECKED;
		for (size_t k = 0; k < p->nnodes; k++) {
			const policy_node *nd = &p->nodes[k];
			if (nd->is_group || nd->vk.id != s->id || strcmp(nd->vk.name, s->name) != 0)
				continue;
			uint8_t sig[NOTE_COSIG_LEN];
			uint64_t ts = 0;
			snprintf(c->policy_name, sizeof(c->policy_name), "%s", nd->name);
			rc = EVC_EBADSIG;
			if (s->sig_len == NOTE_COSIG_LEN - 4) {
				sig[0] = (uint8_t)(s->id >> 24);
				sig[1] = (uint8_t)(s->id >> 16);
				sig[2] = (uint8_t)(s->id >> 8);
				sig[3] = (uint8_t)s->id;
				memcpy(sig + 4, s->sig, NOTE_COSIG_LEN - 4);
				rc = cosig_verify(parsed.text, parsed.text_len, &nd->vk, sig, &ts);
			}
			if (rc == 0) {
				c->state = BUNDLE_PASS;
				c->timestamp = ts;
				witnessed[k] = 1;
				uint64_t ms = ts <= UINT64_MAX / 1000 ? ts * 1000 : UINT64_MAX;
				if (r->witnessed_ms == 0 || ms < r->witnessed_ms)
					r->witnessed_ms = ms;
			} else {
				c->state = BUNDLE_FAIL;
				fail(r, "cosignature", BUNDLE_NO_INDEX, NULL, "the cosignature of witness "
				    "\"%.100s\" (key \"%.100s\") on the checkpoint does not verify", nd->name,
				    s->name);
			}
			break;
		}
	}

	if (policy_quorum_met(p, witnessed)) {
		r->quorum = BUNDLE_PASS;
	} else {
		char got[256] = "";
		size_t gl = 0;
		for (size_t k = 0; k < p->nnodes && k < POLICY_MAX_NODES; k++) {
			if (!witnessed[k])
				continue;
			int n = snprintf(got + gl, sizeof(got) - gl, "%s%s", gl ? ", " : "", p->nodes[k].name);
			if (n < 0 || (size_t)n >= sizeof(got) - gl)
				break;
			gl += (size_t)n;
		}
		fail(r, "quorum", BUNDLE_NO_INDEX, NULL, "the witness quorum is not met: the policy needs "
		    "%.200s; verified cosignatures: %s", r->quorum_rule, gl ? got : "none");
	}
}

/* Decode one BundleEntry and check its proof. */
static void
verify_entry(verifier *v, const Evchain__V1__BundleEntry *be, int key_entry,
    bundle_entry_report *e)
{
	bundle_report *r = v->r;
	char w[200], why[256];

	memset(e, 0, sizeof(*e));
	e->index = be->index;
	e->key_entry = key_entry;
	e->signer = "";
	e->signer_role = -1;
	e->inclusion = e->signature = e->key = e->record = e->media = BUNDLE_UNCHECKED;
	e->event_field = "";
	merkle_leaf_hash(be->entry.data, be->entry.len, e->leaf);

	/* Inclusion of exactly these bytes at this index. */
	if (v->cp_parsed) {
		e->inclusion = BUNDLE_FAIL;
		if (be->index >= v->cp.size) {
			fail(r, "inclusion", be->index, NULL, "entry %" PRIu64 " is beyond the checkpoint's "
			    "tree size %" PRIu64, be->index, v->cp.size);
		} else if (be->n_inclusion_proof > EVC_MAX_PROOF) {
			fail(r, "inclusion", be->index, NULL, "entry %" PRIu64 ": inclusion proof of %zu "
			    "hashes, more than %u", be->index, be->n_inclusion_proof, EVC_MAX_PROOF);
		} else {
			uint8_t proof[EVC_MAX_PROOF][32];
			int ok = 1;
			for (size_t k = 0; k < be->n_inclusion_proof; k++) {
				if (be->inclusion_proof[k].len != 32) {
					ok = 0;
					break;
				}
				memcpy(proof[k], be->inclusion_proof[k].data, 32);
			}
			if (!ok)
				fail(r, "inclusion", be->index, NULL, "entry %" PRIu64 ": a proof hash is not "
				    "32 bytes", be->index);
			else if (merkle_verify_inclusion(be->index, v->cp.size, e->leaf,
			    (const uint8_t(*)[32])proof, be->n_inclusion_proof, v->cp.root) != 0)
				fail(r, "inclusion", be->index, NULL, "entry %" PRIu64 ": the inclusion proof "
				    "does not lead from the entry's leaf hash to the checkpoint's root (the entry "
				    "or its proof was altered)", be->index);
			else
				e->inclusion = BUNDLE_PASS;
		}
	}

	/* The entry and its record. */
	Evchain__V1__Entry *en = NULL;
	if (be->entry.len == 0 || be->entry.len > EVC_MAX_ENTRY ||
	    (en = (Evchain__V1__Entry *)pb_unpack(v->a, &evchain__v1__entry__descriptor,
	    be->entry.data, be->entry.len)) == NULL) {
		fail(r, "entry", be->index, NULL, "entry %" PRIu64 ": its bytes do not decode as an "
		    "Entry", be->index);
		return;
	}
	e->entry = en;
	e->signer = nz(en->key_name);
	e->log_time_ms = en->log_time_ms;
	if (en->index != be->index)
		fail(r, "entry", be->index, NULL, "entry %" PRIu64 ": the entry itself says index %" PRIu64,
		    be->index, en->index);
	e->record = BUNDLE_FAIL;
	Record *rec = record_decode(v->a, en->record.data, en->record.len);
	if (rec == NULL) {
		fail(r, "record", be->index, NULL, "entry %" PRIu64 ": the record does not decode",
		    be->index);
		return;
	}
	e->rec = rec;
	e->kind = record_kind(rec);
	e->event_ms = bundle_event_time(rec, &e->event_field);
	what(e, w, sizeof(w));
	if (strcmp(nz(rec->signer), e->signer) != 0)
		fail(r, "record", be->index, NULL, "%s: the entry names signer \"%.100s\" but the record "
		    "\"%.100s\"", w, e->signer, nz(rec->signer));
	else if (record_validate(rec, en->log_time_ms, why, sizeof(why)) != 0)
		fail(r, "record", be->index, NULL, "%s: the record breaks a rule: %s", w, why);
	else if (key_entry && e->kind != K(NODE_KEY))
		fail(r, "format", be->index, NULL, "%s: a key entry must be a node_key record", w);
	else
		e->record = BUNDLE_PASS;
}

static int
cmp_order(const void *x, const void *y)
{
	const bundle_entry_report *a = *(const bundle_entry_report *const *)x;
	const bundle_entry_report *b = *(const bundle_entry_report *const *)y;

	if (a->index != b->index)
		return a->index < b->index ? -1 : 1;
	return memcmp(a->leaf, b->leaf, 32);
}

/* Copy the key-check results of `from` to its duplicate `to`. */
static void
copy_results(bundle_entry_report *to, const bundle_entry_report *from)
{
	to->signature = from->signature;
	to->key = from->key;
	to->signer_role = from->signer_role;
	to->signer_registered_at = from->signer_registered_at;
	memcpy(to->signer_agency, from->signer_agency, sizeof(to->signer_agency));
}

/* Index order, duplicates, the hash chain between neighbours, log time
 * order, the key history replay, the signatures. */
static void
verify_order_and_keys(verifier *v)
{
	bundle_report *r = v->r;
	size_t total = r->nentries + r->nkey_entries, n = 0;
	char w[200], why[256];

	v->order = pb_arena_alloc(v->a, (total ? total : 1) * sizeof(*v->order));
	bundle_entry_report **all = pb_arena_alloc(v->a, (total ? total : 1) * sizeof(*all));
	if (v->order == NULL || all == NULL) {
		fail(r, "format", BUNDLE_NO_INDEX, NULL, "out of memory");
		return;
	}
	for (size_t i = 0; i < r->nentries; i++)
		all[n++] = &r->entries[i];
	for (size_t i = 0; i < r->nkey_entries; i++)
		all[n++] = &r->key_entries[i];
	qsort(all, n, sizeof(*all), cmp_order);
	for (size_t i = 0; i < n; i++) {
		if (v->norder > 0 && v->order[v->norder - 1]->index == all[i]->index) {
			if (memcmp(v->order[v->norder - 1]->leaf, all[i]->leaf, 32) != 0)
				fail(r, "format", all[i]->index, NULL, "two different entries claim index %" PRIu64,
				    all[i]->index);
			continue;
		}
		v->order[v->norder++] = all[i];
	}

	/* Neighbours: the hash chain and the log time. */
	static const uint8_t zero[32];
	for (size_t i = 0; i < v->norder; i++) {
		bundle_entry_report *e = v->order[i];
		if (e->entry == NULL)
			continue;
		const ProtobufCBinaryData *prev = &e->entry->prev_leaf_hash;
		if (e->index == 0 && (prev->len != 32 || memcmp(prev->data, zero, 32) != 0))
			fail(r, "chain", e->index, NULL, "entry 0: its previous leaf hash is not all zeros");
		if (i == 0)
			continue;
		bundle_entry_report *p = v->order[i - 1];
		if (p->entry == NULL)
			continue;
		if (p->index + 1 == e->index && (prev->len != 32 || memcmp(prev->data, p->leaf, 32) != 0))
			fail(r, "chain", e->index, NULL, "entry %" PRIu64 ": its previous leaf hash is not the "
			    "leaf hash of entry %" PRIu64, e->index, p->index);
		if (e->log_time_ms < p->log_time_ms)
			fail(r, "log_time", e->index, NULL, "entry %" PRIu64 " was logged at %" PRId64 " ms, "
			    "before entry %" PRIu64 " (%" PRId64 " ms): log times go backwards", e->index,
			    e->log_time_ms, p->index, p->log_time_ms);
	}

	/* Keys: replay the history the bundle holds, in index order. */
	keyring *kr = NULL;
	if (v->log_key != NULL)
		kr = keyring_new(v->log_key);
	else if (v->cp_parsed)
		for (size_t k = 0; k < v->o->policy->nlogs && kr == NULL; k++)
			if (strcmp(v->o->policy->logs[k].name, v->cp.origin) == 0)
				kr = keyring_new(&v->o->policy->logs[k]);
	for (size_t i = 0; kr != NULL && i < v->norder; i++) {
		bundle_entry_report *e = v->order[i];
		const keyring_key *k = NULL;
		if (e->rec == NULL)
			continue;
		what(e, w, sizeof(w));
		e->key = BUNDLE_FAIL;
		if (keyring_check(kr, e->signer, e->rec, e->index, e->log_time_ms, &k, why,
		    sizeof(why)) != 0) {
			fail(r, "key", e->index, NULL, "%s: signing key not valid at this index: %s", w, why);
			continue;
		}
		e->key = BUNDLE_PASS;
		e->signer_role = k->role;
		e->signer_registered_at = k->registered_at;
		snprintf(e->signer_agency, sizeof(e->signer_agency), "%s", k->agency);
		if (e->entry->signature.len != 64 || record_verify(&k->vk, e->entry->record.data,
		    e->entry->record.len, e->entry->signature.data) != 0) {
			e->signature = BUNDLE_FAIL;
			fail(r, "signature", e->index, NULL, "%s: the signature does not verify with key "
			    "\"%.100s\" (registered at entry %" PRIu64 ")", w, k->vk.name, k->registered_at);
			continue;
		}
		e->signature = BUNDLE_PASS;
		if (e->kind == K(NODE_KEY)) {
			int rc = keyring_apply(kr, e->rec, e->index);
			if (rc != 0)
				fail(r, "key_history", e->index, NULL, "%s: conflicts with the key history "
				    "before it (%s)", w, evc_strerror(rc));
		}
	}
	keyring_free(kr);
	/* Duplicates share the results of the entry they repeat. */
	for (size_t i = 0; i < n; i++) {
		bundle_entry_report **hit = bsearch(&all[i], v->order, v->norder, sizeof(*v->order),
		    cmp_order);
		if (hit != NULL && *hit != all[i])
			copy_results(all[i], *hit);
	}
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Each media file against the evidence records. */
static void
verify_media(verifier *v)
{
	bundle_report *r = v->r;
	const bundle_verify_opts *o = v->o;
	unsigned algs = MEDIA_SHA256;
	char hx[65], hx2[65], w[200];
	size_t n = o->nmedia;

	if (n == 0)
		return;
	if (n > BUNDLE_MAX_MEDIA) {
		fail(r, "media", BUNDLE_NO_INDEX, NULL, "%zu media files given; at most %u are checked "
		    "at once", n, BUNDLE_MAX_MEDIA);
		n = BUNDLE_MAX_MEDIA;
	}
	for (size_t i = 0; i < r->nentries; i++) {
		const Record *rec = r->entries[i].rec;
		if (r->entries[i].kind == K(EVIDENCE) && rec->evidence != NULL &&
		    rec->evidence->sm3.len == 32 && media_sm3_available())
			algs |= MEDIA_SM3;
	}
	r->media = pb_arena_alloc(v->a, n * sizeof(*r->media));
	if (r->media == NULL) {
		fail(r, "format", BUNDLE_NO_INDEX, NULL, "out of memory");
		return;
	}
	for (size_t m = 0; m < n; m++) {
		bundle_media_report *mr = &r->media[m];
		const char *path = o->media[m];
		memset(mr, 0, sizeof(*mr));
		mr->path = path;
		mr->state = BUNDLE_FAIL;
		mr->index = BUNDLE_NO_INDEX;
		r->nmedia = m + 1;
		if (path == NULL)
			continue;
		if (o->media_start != NULL)
			o->media_start(o->progress_ctx, m, path);
		int rc = media_digest_file(path, algs, o->progress, o->progress_ctx, &mr->digest);
		if (rc != 0) {
			fail(r, "media", BUNDLE_NO_INDEX, path, "file \"%s\": cannot be read (%s)", path,
			    rc == EVC_EIO || rc == EVC_EINVAL ? strerror(errno) : evc_strerror(rc));
			continue;
		}
		mr->read_ok = 1;
		hash_hex(mr->digest.sha256, 32, hx);

		/* The evidence record with this digest. */
		bundle_entry_report *hit = NULL, *named = NULL;
		for (size_t i = 0; i < r->nentries && hit == NULL; i++) {
			bundle_entry_report *e = &r->entries[i];
			if (e->kind != K(EVIDENCE) || e->rec->evidence == NULL)
				continue;
			const Evchain__V1__Evidence *ev = e->rec->evidence;
			if (ev->sha256.len == 32 && memcmp(ev->sha256.data, mr->digest.sha256, 32) == 0)
				hit = e;
			else if (named == NULL && ev->file_name != NULL && ev->file_name[0] != '\0' &&
			    strcmp(ev->file_name, base_name(path)) == 0)
				named = e;
		}
		if (hit == NULL) {
			if (named != NULL) {
				const Evchain__V1__Evidence *ev = named->rec->evidence;
				if (ev->sha256.len == 32)
					hash_hex(ev->sha256.data, 32, hx2);
				else
					snprintf(hx2, sizeof(hx2), "(none)");
				named->media = BUNDLE_FAIL;
				named->media_file = path;
				mr->index = named->index;
				fail(r, "media", named->index, path, "file \"%s\": its SHA-256 %s differs from "
				    "the %s, which records %s: this is not the recorded file, or it was altered",
				    path, hx, what(named, w, sizeof(w)), hx2);
			} else {
				fail(r, "media", BUNDLE_NO_INDEX, path, "file \"%s\" (SHA-256 %s, %" PRIu64
				    " bytes) matches no evidence record in the bundle", path, hx, mr->digest.size);
			}
			continue;
		}
		const Evchain__V1__Evidence *ev = hit->rec->evidence;
		mr->index = hit->index;
		hit->media_file = path;
		what(hit, w, sizeof(w));
		if (ev->size != 0 && ev->size != mr->digest.size) {
			hit->media = BUNDLE_FAIL;
			fail(r, "media", hit->index, path, "file \"%s\": %" PRIu64 " bytes, but the %s records "
			    "%" PRIu64, path, mr->digest.size, w, ev->size);
			continue;
		}
		if (ev->sm3.len == 32 && mr->digest.has_sm3 &&
		    memcmp(ev->sm3.data, mr->digest.sm3, 32) != 0) {
			hit->media = BUNDLE_FAIL;
			fail(r, "media", hit->index, path, "file \"%s\": its SM3 differs from the one the %s "
			    "records", path, w);
			continue;
		}
		if (hit->media != BUNDLE_FAIL)
			hit->media = BUNDLE_PASS;
		mr->state = BUNDLE_PASS;
	}
}

/* Each inspection's story. */
static void
verify_story(verifier *v)
{
	bundle_report *r = v->r;
	char w[200];

	r->inspections = pb_arena_alloc(v->a, (r->nentries ? r->nentries : 1) *
	    sizeof(*r->inspections));
	if (r->inspections == NULL) {
		fail(r, "format", BUNDLE_NO_INDEX, NULL, "out of memory");
		return;
	}
	/* The inspections, in index order of their first entry. */
	for (size_t i = 0; i < v->norder; i++) {
		const bundle_entry_report *e = v->order[i];
		const char *id = e->key_entry ? NULL : bundle_record_inspection(e->rec);
		if (id == NULL || id[0] == '\0')
			continue;
		size_t k;
		for (k = 0; k < r->ninspections; k++)
			if (strcmp(r->inspections[k].inspection_id, id) == 0)
				break;
		if (k == r->ninspections) {
			bundle_inspection *in = &r->inspections[r->ninspections++];
			memset(in, 0, sizeof(*in));
			in->inspection_id = id;
			in->company_uscc = in->company_name = in->agency = "";
			in->scan_in = in->disposition = BUNDLE_NO_INDEX;
		}
	}
	for (size_t k = 0; k < r->ninspections; k++) {
		bundle_inspection *in = &r->inspections[k];
		const bundle_entry_report *scan = NULL;
		size_t before = r->failures_total;
		uint64_t first = BUNDLE_NO_INDEX;

		for (size_t i = 0; i < v->norder; i++) {
			const bundle_entry_report *e = v->order[i];
			const char *id = e->key_entry ? NULL : bundle_record_inspection(e->rec);
			if (id == NULL || strcmp(id, in->inspection_id) != 0)
				continue;
			if (first == BUNDLE_NO_INDEX)
				first = e->index;
			in->n_records++;
			switch (e->kind) {
			case K(SCAN_IN):
				if (scan == NULL) {
					scan = e;
					in->scan_in = e->index;
					in->company_uscc = nz(e->rec->scan_in->company_uscc);
					in->company_name = nz(e->rec->scan_in->company_name);
					in->agency = nz(e->rec->scan_in->agency);
				}
				break;
			case K(EVIDENCE): in->n_evidence++; break;
			case K(CERTIFICATE_CHECK): in->n_cert_checks++; break;
			case K(DISPOSITION): in->disposition = e->index; break;
			case K(COMPANY_FEEDBACK): in->n_feedback++; break;
			default: break;
			}
		}
		if (scan == NULL) {
			fail(r, "story", first, NULL, "inspection \"%.128s\": no scan-in (扫码入企) record: "
			    "nothing in the bundle shows the officers scanned in before acting",
			    in->inspection_id);
		} else {
			int64_t t0 = scan->event_ms;
			for (size_t i = 0; i < v->norder; i++) {
				const bundle_entry_report *e = v->order[i];
				const char *id = e->key_entry ? NULL : bundle_record_inspection(e->rec);
				if (id == NULL || strcmp(id, in->inspection_id) != 0)
					continue;
				if (e->kind != K(EVIDENCE) && e->kind != K(CERTIFICATE_CHECK) &&
				    e->kind != K(DISPOSITION))
					continue;
				what(e, w, sizeof(w));
				if (e->index < scan->index) {
					fail(r, "story", e->index, NULL, "inspection \"%.128s\": the %s was logged "
					    "before the scan-in (entry %" PRIu64 ")", in->inspection_id, w,
					    scan->index);
					continue;
				}
				/* A full-process recording starts with (or before) the entry:
				 * it must end after the scan-in, the rest must happen after it. */
				int64_t t = e->event_ms;
				const char *f = e->event_field;
				if (e->kind == K(EVIDENCE) && e->rec->evidence != NULL &&
				    e->rec->evidence->media_kind ==
				    EVCHAIN__V1__EVIDENCE__MEDIA_KIND__FULL_PROCESS_RECORDING &&
				    e->rec->evidence->capture_end_ms != 0) {
					t = e->rec->evidence->capture_end_ms;
					f = "evidence.capture_end_ms";
				}
				if (t < t0)
					fail(r, "story", e->index, NULL, "inspection \"%.128s\": the %s happened "
					    "before the scan-in (%s %" PRId64 " < scan_in.device_ms %" PRId64 ")",
					    in->inspection_id, w, f, t, t0);
			}
		}
		if (in->disposition == BUNDLE_NO_INDEX)
			fail(r, "story", first, NULL, "inspection \"%.128s\": no disposition (检查结果处置) "
			    "record: the inspection is not closed", in->inspection_id);
		in->story = r->failures_total == before ? BUNDLE_PASS : BUNDLE_FAIL;
	}
}

int
bundle_verify(const uint8_t *bytes, size_t len, const bundle_verify_opts *opts,
    bundle_report **out)
{
	verifier v;
	bundle_report *r;
	pb_arena *a;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || opts == NULL || opts->policy == NULL ||
	    opts->policy->quorum == POLICY_QUORUM_UNSET || (bytes == NULL && len > 0) ||
	    (opts->media == NULL && opts->nmedia > 0))
		return EVC_EINVAL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return EVC_ENOMEM;
	if ((a = malloc(sizeof(*a))) == NULL ||
	    (r->failures = calloc(BUNDLE_MAX_FAILURES, sizeof(*r->failures))) == NULL) {
		free(a);
		free(r);
		return EVC_ENOMEM;
	}
	r->priv_ = a;
	r->size = len;
	r->subject = r->origin = "";
	r->checkpoint = r->quorum = BUNDLE_UNCHECKED;
	pb_arena_init(a, len <= BUNDLE_MAX_FILE ? 8 * len + (4u << 20) : 1u << 20);
	memset(&v, 0, sizeof(v));
	v.r = r;
	v.a = a;
	v.o = opts;
	policy_describe(opts->policy, r->quorum_rule, sizeof(r->quorum_rule));

	if (len == 0) {
		fail(r, "format", BUNDLE_NO_INDEX, NULL, "the bundle is empty");
		goto done;
	}
	if (len > BUNDLE_MAX_FILE) {
		fail(r, "format", BUNDLE_NO_INDEX, NULL, "the bundle is %zu bytes, over the limit of %u",
		    len, BUNDLE_MAX_FILE);
		goto done;
	}
	const Evchain__V1__Bundle *b = (const Evchain__V1__Bundle *)pb_unpack(a,
	    &evchain__v1__bundle__descriptor, bytes, len);
	if (b == NULL) {
		fail(r, "format", BUNDLE_NO_INDEX, NULL, a->exhausted ? "the bundle holds too many "
		    "elements for its size to be a real bundle" : "the file does not decode as a Bundle "
		    "message (truncated, damaged, or not a bundle)");
		goto done;
	}
	v.b = b;
	r->version = b->version;
	r->subject = nz(b->subject);
	r->origin = nz(b->origin);
	r->created_ms = b->created_ms;
	if (b->version != BUNDLE_VERSION) {
		fail(r, "format", BUNDLE_NO_INDEX, NULL, "bundle format version %" PRIu32 "; this verifier "
		    "reads version %u", b->version, BUNDLE_VERSION);
		goto done;
	}
	if (b->n_entries == 0) {
		fail(r, "format", BUNDLE_NO_INDEX, NULL, "the bundle holds no entries");
		goto done;
	}
	if (b->n_entries + b->n_key_entries > BUNDLE_MAX_ITEMS) {
		fail(r, "format", BUNDLE_NO_INDEX, NULL, "the bundle holds %zu entries, over the limit "
		    "of %u", b->n_entries + b->n_key_entries, BUNDLE_MAX_ITEMS);
		goto done;
	}

	verify_checkpoint(&v);

	r->entries = pb_arena_alloc(a, b->n_entries * sizeof(*r->entries));
	r->key_entries = pb_arena_alloc(a, (b->n_key_entries ? b->n_key_entries : 1) *
	    sizeof(*r->key_entries));
	if (r->entries == NULL || r->key_entries == NULL) {
		fail(r, "format", BUNDLE_NO_INDEX, NULL, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < b->n_entries; i++) {
		verify_entry(&v, b->entries[i], 0, &r->entries[i]);
		r->nentries = i + 1;
	}
	for (size_t i = 0; i < b->n_key_entries; i++) {
		verify_entry(&v, b->key_entries[i], 1, &r->key_entries[i]);
		r->nkey_entries = i + 1;
	}
	for (size_t i = 0; i < r->nentries + r->nkey_entries; i++) {
		const bundle_entry_report *e = i < r->nentries ? &r->entries[i] :
		    &r->key_entries[i - r->nentries];
		if (e->entry != NULL && e->log_time_ms > r->last_log_ms)
			r->last_log_ms = e->log_time_ms;
	}
	verify_order_and_keys(&v);
	verify_media(&v);
	verify_story(&v);
done:
	r->verified = r->failures_total == 0;
	*out = r;
	return 0;
}

void
bundle_report_free(bundle_report *r)
{
	if (r == NULL)
		return;
	pb_arena_free(r->priv_);
	free(r->priv_);
	free(r->failures);
	free(r);
}
