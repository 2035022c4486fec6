/*
 * audit.h — the compliance rules engine of `evchain audit` (what the
 * discipline commission and the supervision authority look for, seed 四 to
 * 十九), independent of the network and of verification.
 *
 * Use: audit_new(opts); audit_add() every entry of the log — entries the
 * caller has VERIFIED (inclusion in a signed checkpoint, hash chain, node
 * signature with the key valid at that index) — in log order; then
 * audit_finish() gives the findings. A caller must not call audit_finish()
 * before every entry it fed is verified: a finding never rests on an
 * unverified entry. The engine keeps no record: per inspection and per
 * scan-in it keeps a few numbers and interned string ids (inspection ids,
 * agencies, companies, certificate numbers, plan ids are stored once), so
 * 1,000,000 entries take well under 100 MB.
 *
 * Times. Event times are the records' own *_ms fields (device time of the
 * node that signed them), never the log time, except where a rule says so:
 *   scan-in          scan_in.device_ms
 *   certificate      certificate_check.verified_ms
 *   evidence         evidence.capture_start_ms (late_record: capture_end_ms
 *                    when set — a recording is complete only at its end)
 *   disposition      disposition.decided_ms
 *   feedback         company_feedback.submitted_ms
 *   (a zero field falls back to record.created_ms, as bundle_event_time()).
 * A day is 86,400,000 ms; an hour 3,600,000 ms. Calendar years are Beijing
 * time (UTC+8): 2025-01-01T00:00+08:00 ≤ t < 2026-01-01T00:00+08:00 is 2025.
 * Certificate numbers are compared folded, as record_validate() does: ASCII
 * letters in upper case, full-width forms (U+FF01..U+FF5E) as ASCII, so
 * "lc-zf-0001" and "ＬＣ-ZF-0001" are one certificate.
 * "Administrative inspection" below means a scan-in whose entry_type is
 * ADMINISTRATIVE_INSPECTION (or unspecified); other entries (督查, 调查,
 * 巡查, 抽查, 技术性检查, other) are judged by the per-scan-in rules only.
 * Inspection ids are taken as unique across the log (the export of evidence
 * bundles relies on the same assumption).
 *
 * THE RULES (stable ids; entries = the entry indices a finding cites):
 *
 * too_few_officers   A scan-in with fewer than two distinct certified
 *     officers — officers with a non-empty certificate number, counted by
 *     folded certificate number — and no stated legal exception
 *     (officer_exception empty, or only white space and invisible
 *     characters: ASCII and Unicode spaces such as U+3000, zero-width
 *     characters — the log accepts any text there, the audit wants words).
 *     Exactly two officers with the same certificate number are ONE
 *     certified officer: a finding. Entries: the scan-in.
 *
 * no_scan_in   (a) An inspection id that evidence, certificate checks or
 *     dispositions name, and that no scan-in anywhere in the log names.
 *     One finding per inspection id; entries: those records (at most
 *     AUDIT_MAX_CITED, the reason gives the count). Agency: the disposition's
 *     agency, else the signing node's agency; company: the records'.
 *     (b) A company complaint of entry without scanning (complaint_type
 *     ENTERED_WITHOUT_SCAN), one finding each (besides its complaint
 *     finding); entries: the complaint, and the scan-in it is tied to (as
 *     for complaint) when there is one.
 *
 * open_loop   An administrative inspection whose scan-in (the first scan-in
 *     of the inspection id) at time t0 has no disposition with
 *     decided_ms <= t0 + N days (N = open_loop_days, default 30): "after N
 *     days" means strictly after the instant t0 + N x 86,400,000 ms, so a
 *     disposition decided exactly on that instant (day N) closes the loop in
 *     time and is no finding; one a millisecond later is. Reported when the
 *     earliest disposition is late (entries: scan-in and that disposition),
 *     or when there is none and the reference time (as_of_ms) is past
 *     t0 + N days (entries: the scan-in). An inspection not yet N days old
 *     is not judged.
 *
 * over_cap   For one agency, one company and one Beijing calendar year Y
 *     (of the scan-in times): the administrative inspections (distinct
 *     inspection ids, each at its first scan-in by that agency) are
 *     ordered by event time; the cap is
 *     max_per_year of the FrequencyCap of (agency, risk grade, year Y) where
 *     the grade is the company's RiskGrade for (company, agency) of year Y,
 *     else one with year 0 (the latest logged wins in both). Every
 *     inspection beyond the cap (the (cap+1)-th, …) is a finding; reaching
 *     the cap is not. Without a grade or a cap nothing is judged. Entries:
 *     the grade, the cap, the first `cap` scan-ins and the one over it.
 *
 * no_basis   A scan-in that cites
 *     - no basis at all, an emergency without a reason, or a clue without a
 *       traceable source: a clue needs a non-blank source AND a non-blank
 *       reference (线索要有来源依据, 可追溯);
 *     - a plan_id with no inspection_plan of that id logged BEFORE the
 *       scan-in (lower index) for its agency (plan agency, lead agency or a
 *       partner agency) and for the Beijing year of the scan-in; a special
 *       plan counts only when it carries its approval (legal review,
 *       collective discussion, approved_by, approved_ms) and filing
 *       (filed_with, filed_ms), both dated no later than the scan-in;
 *     - or, for a scan-in of kind SPECIAL, anything but such an approved and
 *       filed SPECIAL plan (擅自开展专项检查).
 *     Entries: the scan-in, and the plan entries of that id it was checked
 *     against (at most AUDIT_MAX_CITED).
 *
 * unverified_officer   An officer (certificate number) of a scan-in for
 *     which no certificate_check naming the same inspection id and the same
 *     (folded) certificate number has result VALID — at any position in the
 *     log. One finding per scan-in listing the numbers; entries: the scan-in
 *     and the checks of those numbers that did not say VALID. Checks without
 *     an inspection id are not attributed to any inspection.
 *
 * missing_av   An inspection with a sensitive scan-in — any sensitivity
 *     value: personal freedom, life and health, major property, and also
 *     dispute-prone (易引发争议, seed 九 and the schema: non-empty → full
 *     audio/video) — and no evidence of media kind FULL_PROCESS_RECORDING
 *     for that inspection id anywhere in the log. Entries: the first
 *     sensitive scan-in.
 *
 * multi_agency   Administrative inspections of one company by two different
 *     agencies whose scan-in times are at most N days apart (N =
 *     multi_agency_days, default 7; exactly N days apart is within) and that
 *     are not one joint inspection: neither scan-in is of kind JOINT naming
 *     the other's agency in joint_agencies, and they are not the same
 *     inspection id. Reported on the later scan-in (ties by log index),
 *     entries: the earlier scan-ins it repeats (at most AUDIT_MAX_CITED)
 *     and itself.
 *
 * late_record   A scan-in, certificate check, evidence, disposition or
 *     company feedback logged more than N hours (N = late_record_hours,
 *     default 24) after the event time it states: log_time_ms - event_ms >
 *     N x 3,600,000 (exactly N hours is no finding). Policy records (plans,
 *     keys, caps, grades) are not judged. Entries: the record.
 *
 * complaint   Every company_feedback of type COMPLAINT, tied to its
 *     inspection: the inspection id it names, else the latest
 *     administrative scan-in at that company (by the agency it names, if
 *     any) at or before its submission time. Entries: the complaint and
 *     that scan-in when found.
 *
 * Filters (audit_opts) select the findings reported, never the facts the
 * rules count (an over-cap inspection is found with every inspection of the
 * year counted, whatever the time range): from_ms <= event time < to_ms
 * (0: open) where the event time is the scan-in's for scan-in and
 * inspection rules (for multi_agency the later scan-in's), the record's for
 * late_record and complaint, and for no_scan_in the complaint's or the
 * earliest of the inspection's records; agency and company equal to the
 * finding's. Time arithmetic saturates: no input overflows it.
 */
#ifndef EVC_AUDIT_H
#define EVC_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

typedef enum audit_rule {
	AUDIT_TOO_FEW_OFFICERS = 0,
	AUDIT_NO_SCAN_IN,
	AUDIT_OPEN_LOOP,
	AUDIT_OVER_CAP,
	AUDIT_NO_BASIS,
	AUDIT_UNVERIFIED_OFFICER,
	AUDIT_MISSING_AV,
	AUDIT_MULTI_AGENCY,
	AUDIT_LATE_RECORD,
	AUDIT_COMPLAINT,
	AUDIT_NRULES
} audit_rule;

#define AUDIT_DEFAULT_OPEN_LOOP_DAYS 30u
#define AUDIT_DEFAULT_MULTI_AGENCY_DAYS 7u
#define AUDIT_DEFAULT_LATE_RECORD_HOURS 24u
#define AUDIT_MAX_CITED 64u     /* entries of one kind cited by one finding */
#define AUDIT_MAX_DAYS 3650u    /* threshold ranges (days; hours: x 24) */

/* Stable id of a rule ("too_few_officers", …) and back (-1 if unknown). */
const char *audit_rule_id(audit_rule r);
int audit_rule_from_id(const char *id);
/* One line of English: what the rule looks for (for reports). */
const char *audit_rule_title(audit_rule r);

typedef struct audit_opts {
	uint32_t open_loop_days;     /* 0: AUDIT_DEFAULT_OPEN_LOOP_DAYS */
	uint32_t multi_agency_days;  /* 0: AUDIT_DEFAULT_MULTI_AGENCY_DAYS */
	uint32_t late_record_hours;  /* 0: AUDIT_DEFAULT_LATE_RECORD_HOURS */
	int64_t as_of_ms;            /* open_loop reference time; 0: the newest log time fed */
	int64_t from_ms, to_ms;      /* event time filter [from, to); 0: open */
	const char *agency;          /* NULL or "": every agency (copied) */
	const char *company;         /* NULL or "": every company (copied) */
	unsigned rules;              /* bit (1u << rule) per rule reported; 0: all */
} audit_opts;

typedef struct audit_finding {
	audit_rule rule;
	const char *agency;          /* "" when unknown */
	const char *company;         /* 统一社会信用代码, "" when unknown */
	const char *inspection;      /* "" when none */
	const char *reason;          /* one line of English */
	const uint64_t *entries;     /* ascending, distinct */
	size_t nentries;
	int64_t event_ms;            /* the event time the filter applied to */
} audit_finding;

typedef struct audit_stats {
	uint64_t entries;            /* fed */
	uint64_t scan_ins, inspections, plans, caps, grades;
	uint64_t strings;            /* distinct strings interned */
	size_t memory;               /* bytes held by the engine (approximate) */
} audit_stats;

typedef struct audit audit;

/* New engine; opts may be NULL (defaults, no filter). NULL on ENOMEM or a
 * threshold over AUDIT_MAX_DAYS (days) / AUDIT_MAX_DAYS x 24 (hours). */
audit *audit_new(const audit_opts *opts);
void audit_free(audit *a);   /* accepts NULL */

/*
 * Feed one verified entry: its index (strictly increasing from call to
 * call), log time and decoded record (borrowed for the call only).
 * signer_agency (may be NULL): the agency of the key that signed it (from
 * the keyring), used when a record names none. Records of any kind may be
 * fed; kinds the rules do not use are counted and ignored. Records that
 * break today's validation rules are judged all the same (the rules are
 * what they break). 0; EVC_EINVAL (index not increasing, NULL record, or
 * after audit_finish); EVC_ENOMEM (the engine is then unusable).
 */
int audit_add(audit *a, uint64_t index, int64_t log_time_ms, const Record *r,
    const char *signer_agency);

/*
 * Evaluate the rules over everything fed and return the findings in
 * *out[0..*n): sorted by agency (byte order), then the first entry cited,
 * then rule. Valid until audit_free. Once only (EVC_EINVAL after). 0 or
 * EVC_ENOMEM.
 */
int audit_finish(audit *a, const audit_finding **out, size_t *n);

void audit_get_stats(const audit *a, audit_stats *st);

/* Beijing calendar year of a Unix time in ms; and "YYYY-MM-DD HH:MM" in
 * Beijing time (buf of at least 24 bytes). */
int audit_year(int64_t ms);
void audit_format_time(int64_t ms, char *buf, size_t cap);

#endif
