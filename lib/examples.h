/*
 * examples.h — one realistic record of every kind, as JSON text: the input
 * format of pbjson_record_from_text() and of `evchain submit` (JSON Lines).
 *
 * Together the examples tell one inspection by 聊城市市场监督管理局 of one
 * company (91371502MA0EXAMP1R, a fictitious but valid 统一社会信用代码):
 * the platform node's key, the annual plan filed with 聊城市司法局, scan-in
 * LC-SCJG-2025-0001 by two officers (扫码入企), the company's check of an
 * electronic certificate, the full-process recording, the disposition
 * (限期改正) and the company's rating through 爱山东 APP, plus the frequency
 * cap and the company's risk grade. Times are RFC 3339 strings in 2025.
 *
 * The texts leave out "signer" (filled from the signing key) and
 * "created_ms" (filled with the current time); each has a "record_id".
 */
#ifndef EVC_EXAMPLES_H
#define EVC_EXAMPLES_H

#include <stddef.h>

/*
 * The example record of `kind` (a record_kind_name(): "node_key",
 * "inspection_plan", "scan_in", "certificate_check", "evidence",
 * "disposition", "company_feedback", "frequency_cap", "risk_grade") as one
 * line of JSON (a static string, no newline), or NULL for an unknown kind.
 */
const char *example_record_json(const char *kind);

/*
 * The kinds that have an example, in the order of the RecordKind enum (which
 * is also the order of the inspection's story). *n receives the count.
 * The array and its strings are static.
 */
const char *const *example_kinds(size_t *n);

#endif
