/*
 * succession.c — a new log that continues an old one (SECURITY.md, "The log
 * key").
 *
 * The log key cannot be rotated inside a log: it is the origin, and every
 * checkpoint is signed by it. A new log key starts a new log, with a new
 * origin, whose entry 0 — the admin key registration that evchaind makes,
 * signed by the new log key — carries in NodeKey.reason:
 *
 *   evchain-predecessor/v1\n
 *   <the old log's last signed checkpoint, verbatim: origin, size and root
 *    lines, the empty line, the old log key's signature line and the
 *    witnesses' cosignature lines>
 *
 * evchaind writes it only into an empty log, and only after the old log
 * key's signature on that checkpoint verifies and its origin is the old
 * key's name and not the new one. Every later checkpoint of the new log
 * covers entry 0, and every bundle of the new log carries it (it registers
 * the admin key the node keys descend from).
 */
#include <stdio.h>
#include <string.h>

#include "evc.h"
#include "note.h"
#include "server.h"

#define PREDECESSOR_TAG "evchain-predecessor/v1\n"

int
srv_predecessor_reason(srv *s, char *out, size_t cap, char *err, size_t errcap)
{
	const srv_config *cfg = &s->cfg;
	char text[RECORD_MAX_TEXT + 1];
	evc_vkey old;
	note nt;
	checkpoint cp;
	int rc;

	if (!cfg->predecessor_checkpoint[0] || ledger_size(s->ledger) > 0)
		return 0;
	if ((rc = keys_read_public(cfg->predecessor_key, &old)) != 0 || old.type != EVC_KEY_ED25519) {
		snprintf(err, errcap, "predecessor_key %s: %s", cfg->predecessor_key,
		    rc ? evc_strerror(rc) : "not a log (Ed25519) key");
		return -1;
	}
	FILE *f = fopen(cfg->predecessor_checkpoint, "rb");
	if (f == NULL) {
		snprintf(err, errcap, "predecessor_checkpoint %s: cannot open it", cfg->predecessor_checkpoint);
		return -1;
	}
	size_t max = RECORD_MAX_TEXT - strlen(PREDECESSOR_TAG);
	size_t n = fread(text, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		snprintf(err, errcap, "predecessor_checkpoint %s: over %zu bytes", cfg->predecessor_checkpoint,
		    max);
		return -1;
	}
	if ((rc = note_open(text, n, &old, 1, &nt)) < 1 ||
	    (rc = checkpoint_parse(nt.text, nt.text_len, &cp)) != 0) {
		snprintf(err, errcap, "predecessor_checkpoint %s is not a checkpoint signed by %s (%s): %s",
		    cfg->predecessor_checkpoint, old.name, cfg->predecessor_key, evc_strerror(rc));
		return -1;
	}
	if (strcmp(cp.origin, old.name) != 0) {
		snprintf(err, errcap, "predecessor_checkpoint: its origin \"%s\" is not the name of "
		    "predecessor_key \"%s\"", cp.origin, old.name);
		return -1;
	}
	if (strcmp(cp.origin, s->log_key.name) == 0) {
		snprintf(err, errcap, "predecessor_checkpoint: the predecessor's origin \"%s\" is this log's: "
		    "a new log needs a log key with a new name", cp.origin);
		return -1;
	}
	if (snprintf(out, cap, "%s%.*s", PREDECESSOR_TAG, (int)n, text) >= (int)cap) {
		snprintf(err, errcap, "predecessor_checkpoint: too long");
		return -1;
	}
	srv_log("this log continues \"%s\" from its checkpoint of size %llu (in entry 0)", cp.origin,
	    (unsigned long long)cp.size);
	return 1;
}
