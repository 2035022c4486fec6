/*
 * fuzz_note.c — libFuzzer target for note_parse, note_open and
 * checkpoint_parse. Besides "never crash", it checks that whatever parses
 * is canonical: re-serialising the parsed note (note_sig_line) and the
 * parsed checkpoint (checkpoint_format) gives back the input byte for byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evc.h"
#include "note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static note nt;
static evc_vkey keys[2];
static int have_keys;

/* The Go sumdb/note example's key (type 0x01) and a cosigner key (0x04),
 * filled in by hand so that this target needs nothing but note.c. */
static void
init_keys(void)
{
	uint8_t raw[33];

	if (have_keys)
		return;
	if (b64_decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", 44, raw, sizeof raw) != 33)
		abort();
	strcpy(keys[0].name, "PeterNeumann");
	keys[0].type = raw[0];
	keys[0].id = 0xc74f20a3u;
	memcpy(keys[0].pub, raw + 1, 32);
	if (b64_decode("BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2", 44, raw, sizeof raw) != 33)
		abort();
	strcpy(keys[1].name, "remora.n621.de");
	keys[1].type = raw[0];
	keys[1].id = 0xda77ade7u;
	memcpy(keys[1].pub, raw + 1, 32);
	have_keys = 1;
}

/* checkpoint_parse, and if it succeeds, format must reproduce the text. */
static void
checkpoint_roundtrip(const char *text, size_t len)
{
	checkpoint cp;
	char *buf;
	int n;

	if (checkpoint_parse(text, len, &cp) != 0)
		return;
	if (cp.origin[0] == '\0' || strlen(cp.origin) > CHECKPOINT_MAX_ORIGIN)
		abort();
	if ((buf = malloc(len + 1)) == NULL)
		abort();
	n = checkpoint_format(&cp, buf, len + 1);
	if (n < 0 || (size_t)n != len || memcmp(buf, text, len) != 0)
		abort();
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	int rc;

	init_keys();
	rc = note_parse(s, size, &nt);
	if (rc == 0) {
		char line[EVC_MAX_KEY_NAME + 200];
		size_t o;

		if (nt.text != s || nt.text_len == 0 || nt.text_len + 2 > size ||
		    s[nt.text_len - 1] != '\n' || s[nt.text_len] != '\n' || nt.nsigs == 0 ||
		    nt.nsigs > EVC_MAX_NOTE_SIGS)
			abort();
		/* text "\n" signature lines == the input. */
		o = nt.text_len + 1;
		for (size_t k = 0; k < nt.nsigs; k++) {
			const note_sig *sg = &nt.sigs[k];
			int n;
			if (sg->sig_len == 0 || sg->sig_len > NOTE_SIG_MAX || sg->key != NULL)
				abort();
			if (sg->sig_len > NOTE_COSIG_LEN) {
				/* Another algorithm's: kept by its length only. */
				const char *nl = memchr(s + o, '\n', size - o);
				if (o >= size || nl == NULL)
					abort();
				o = (size_t)(nl - s) + 1;
				continue;
			}
			n = note_sig_line(sg->name, sg->id, sg->sig, sg->sig_len, line, sizeof line);
			if (n < 0 || o + (size_t)n > size || memcmp(s + o, line, (size_t)n) != 0)
				abort();
			o += (size_t)n;
		}
		if (o != size)
			abort();
		checkpoint_roundtrip(nt.text, nt.text_len);
	} else if (rc != EVC_EINVAL && rc != EVC_ETOOLARGE) {
		abort();
	}

	rc = note_open(s, size, keys, 2, &nt);
	if (rc > 0) {
		/* Only possible with a real signature by one of the two keys. */
		int seen = 0;
		for (size_t k = 0; k < nt.nsigs; k++)
			if (nt.sigs[k].key != NULL)
				seen++;
		if (seen != rc)
			abort();
	} else if (rc != EVC_EINVAL && rc != EVC_ETOOLARGE && rc != EVC_EBADSIG &&
	    rc != EVC_EUNKNOWNKEY) {
		abort();
	}

	checkpoint_roundtrip(s, size);
	return 0;
}
