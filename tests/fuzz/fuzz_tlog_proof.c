/*
 * fuzz_tlog_proof.c — libFuzzer target for tlog_proof_parse. Whatever
 * parses must format back (tlog_proof_format) to the input byte for byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evc.h"
#include "note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tlog_proof tp;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char *out;
	size_t outlen;
	int rc;

	rc = tlog_proof_parse(s, size, &tp);
	if (rc != 0) {
		if (rc != EVC_EINVAL && rc != EVC_ETOOLARGE)
			abort();
		return 0;
	}
	if (tp.nhashes > EVC_MAX_PROOF || tp.extra_len > TLOG_PROOF_MAX_EXTRA ||
	    (!tp.has_extra && tp.extra_len != 0) || tp.checkpoint < s ||
	    tp.checkpoint + tp.checkpoint_len != s + size || tp.checkpoint_len == 0)
		abort();
	if (tlog_proof_format(tp.index, tp.has_extra ? tp.extra : NULL, tp.extra_len,
	    (const uint8_t (*)[32])tp.hashes, tp.nhashes, tp.checkpoint, tp.checkpoint_len,
	    &out, &outlen) != 0)
		abort();
	if (outlen != size || memcmp(out, s, size) != 0)
		abort();
	free(out);
	return 0;
}
