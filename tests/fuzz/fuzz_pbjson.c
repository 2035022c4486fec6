/*
 * fuzz_pbjson.c — libFuzzer target for the JSON form of records (pbjson), the
 * decoder `evchain submit` runs on its input lines and the encoder `get` and
 * `query` run on records from the log.
 *
 *   input starting with 0x00: the rest is Record bytes (record_decode); the
 *       record is encoded to JSON, and when it is valid (record_validate)
 *       that JSON must decode back to a record that packs to the same bytes
 *       (pbjson.h: exactness)
 *   any other input: JSON Lines text (pbjson_record_from_text); what decodes
 *       is validated, encoded, and if valid must decode back to the same bytes
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evc.h"
#include "pb.h"
#include "pbjson.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1750000000000LL

/* Unknown fields are not written (pbjson.h): drop them, at every depth. */
static void
strip_unknown(ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	m->n_unknown_fields = 0;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		char *base = (char *)m;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(size_t *)(base + f->quantifier_offset);
			ProtobufCMessage **v = *(ProtobufCMessage ***)(base + f->offset);
			for (size_t k = 0; k < n; k++)
				if (v[k] != NULL)
					strip_unknown(v[k]);
		} else {
			if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
			    *(uint32_t *)(base + f->quantifier_offset) != f->id)
				continue;
			ProtobufCMessage *sub = *(ProtobufCMessage **)(base + f->offset);
			if (sub != NULL)
				strip_unknown(sub);
		}
	}
}

/* m → JSON → message → bytes must equal m's bytes when m is a valid record
 * (its strings valid UTF-8 without NUL: pbjson writes U+FFFD for a bad byte,
 * so that a broken record can be shown); for any other, no crash. */
static void
roundtrip(const Record *m, int valid)
{
	size_t len, len2;
	uint8_t *b = pb_pack(&m->base, &len);
	json_t *j = pbjson_encode(&m->base);
	if (b == NULL)
		abort();
	if (j == NULL) { /* only too deep a message may be refused; records are not */
		free(b);
		abort();
	}
	char *text = json_dumps(j, 0);
	json_decref(j);
	if (text == NULL)
		abort();
	pb_arena a;
	Record *r2 = NULL;
	char err[256];
	pb_arena_init(&a, 8 * strlen(text) + (1u << 20));
	int rc = pbjson_record_from_text(text, strlen(text), &a, &r2, err, sizeof(err));
	if (rc != 0 && valid) {
		fprintf(stderr, "fuzz_pbjson: its own JSON does not read back: %s\n%s\n", err, text);
		abort(); /* what it wrote, it must read */
	}
	uint8_t *b2 = rc == 0 ? pb_pack(&r2->base, &len2) : NULL;
	if (valid && (b2 == NULL || len2 != len || memcmp(b, b2, len) != 0))
		abort();
	free(b2);
	free(b);
	free(text);
	pb_arena_free(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pb_arena a;
	char why[256];

	if (size > 0 && data[0] == 0x00) {
		pb_arena_init(&a, 1u << 20);
		Record *r = record_decode(&a, data + 1, size - 1);
		if (r != NULL) {
			int valid = record_validate(r, FUZZ_NOW, why, sizeof(why)) == 0;
			strip_unknown(&r->base);
			roundtrip(r, valid);
		}
		pb_arena_free(&a);
		return 0;
	}
	Record *r = NULL;
	pb_arena_init(&a, 8 * size + (1u << 20));
	int rc = pbjson_record_from_text((const char *)data, size, &a, &r, why, sizeof(why));
	if (rc == 0) {
		if (r == NULL)
			abort();
		strip_unknown(&r->base);
		roundtrip(r, record_validate(r, FUZZ_NOW, why, sizeof(why)) == 0);
	} else if (r != NULL || strlen(why) >= sizeof(why)) {
		abort();
	}
	pb_arena_free(&a);
	return 0;
}
