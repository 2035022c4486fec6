/*
 * fuzz_record.c — libFuzzer target for record_decode, then record_validate
 * and record_attributes on whatever decodes. Every input runs in a fresh
 * arena with a budget and must neither crash nor leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "evc.h"
#include "pb.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1750000000000LL
#define FUZZ_BUDGET (1u << 20)

typedef struct sink {
	uint64_t sum;
	size_t n;
} sink;

static void
emit(void *ctx, enum record_attr attr, const void *val, size_t len)
{
	sink *s = ctx;
	const uint8_t *p = val;

	/* Touch every byte so the sanitizers see a bad pointer or length. */
	for (size_t i = 0; i < len; i++)
		s->sum += p[i];
	s->sum += (uint64_t)attr;
	s->n++;
	if (attr == RECORD_ATTR_KIND && len != 1)
		__builtin_trap();
	if (attr == RECORD_ATTR_EVIDENCE && len != EVC_HASH_LEN)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pb_arena a;
	char why[256];
	sink s = { 0, 0 };

	pb_arena_init(&a, FUZZ_BUDGET);
	Record *r = record_decode(&a, data, size);
	if (r != NULL) {
		int rc = record_validate(r, FUZZ_NOW, why, sizeof(why));
		if (rc != 0 && rc != EVC_EINVAL)
			__builtin_trap();
		if (strlen(why) >= sizeof(why))
			__builtin_trap();
		/* A small reason buffer: truncation must stay in bounds and
		 * give the same verdict. */
		char tiny[7];
		if (record_validate(r, FUZZ_NOW, tiny, size % sizeof(tiny)) != rc)
			__builtin_trap();
		record_attributes(r, emit, &s);
		if (s.n < 1)
			__builtin_trap();
		const char *name = record_kind_name(record_kind(r));
		if (name == NULL)
			__builtin_trap();
		if (record_kind(r) != 0 && record_kind_from_name(name) != record_kind(r))
			__builtin_trap();
	}
	/* The USCC checker on raw input. */
	if (size >= 18) {
		char code[19], exp;
		memcpy(code, data, 18);
		code[18] = '\0';
		(void)uscc_valid(code, &exp);
	}
	pb_arena_free(&a);
	return 0;
}
