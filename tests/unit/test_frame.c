/* test_frame.c — the 4-byte length-prefixed framing and the bounded arena. */
#include "../check.h"
#include "evc.h"
#include "evchain.pb-c.h"
#include "frame.h"
#include "pb.h"

int
main(void)
{
	uint8_t buf[64];
	const uint8_t *p = NULL;
	size_t plen = 0;

	/* A whole frame, then need-more at every truncation. */
	frame_header(buf, 5);
	memcpy(buf + 4, "hello", 5);
	CHECK_EQ(frame_parse(buf, 9, 1024, &p, &plen), 9);
	CHECK_EQ(plen, 5);
	CHECK(p == buf + 4);
	for (size_t n = 0; n < 9; n++)
		CHECK_EQ(frame_parse(buf, n, 1024, &p, &plen), FRAME_NEED_MORE);
	/* Two frames back to back: only the first is consumed. */
	frame_header(buf + 9, 1);
	buf[13] = 'x';
	CHECK_EQ(frame_parse(buf, 14, 1024, &p, &plen), 9);
	CHECK_EQ(frame_parse(buf + 9, 5, 1024, &p, &plen), 5);
	CHECK_EQ(plen, 1);

	/* Length 0 and over the maximum are refused as soon as the header is in. */
	frame_header(buf, 0);
	CHECK_EQ(frame_parse(buf, 4, 1024, &p, &plen), FRAME_BAD);
	frame_header(buf, 1025);
	CHECK_EQ(frame_parse(buf, 4, 1024, &p, &plen), FRAME_BAD);
	CHECK_EQ(plen, 1025);
	memset(buf, 0xff, 4);
	CHECK_EQ(frame_parse(buf, 4, EVC_MAX_FRAME_DEFAULT, &p, &plen), FRAME_BAD);
	CHECK_EQ(plen, 0xffffffffu);
	frame_header(buf, 1024);
	CHECK_EQ(frame_parse(buf, 4, 1024, &p, &plen), FRAME_NEED_MORE);

	/* Arena: a decode within budget works, over budget fails cleanly. */
	Evchain__V1__EntriesResponse r = EVCHAIN__V1__ENTRIES_RESPONSE__INIT;
	ProtobufCBinaryData items[100];
	uint8_t blob[100];
	memset(blob, 7, sizeof(blob));
	for (int i = 0; i < 100; i++) {
		items[i].data = blob;
		items[i].len = sizeof(blob);
	}
	r.n_entries = 100;
	r.entries = items;
	size_t len;
	uint8_t *packed = pb_pack(&r.base, &len);
	REQUIRE(packed != NULL);
	pb_arena a;
	pb_arena_init(&a, 1 << 20);
	Evchain__V1__EntriesResponse *d = (Evchain__V1__EntriesResponse *)pb_unpack(&a,
	    &evchain__v1__entries_response__descriptor, packed, len);
	CHECK(d != NULL);
	CHECK_EQ(d ? d->n_entries : 0, 100);
	CHECK_EQ(a.exhausted, 0);
	pb_arena_reset(&a);
	CHECK_EQ(a.used, 0);
	pb_arena_free(&a);
	pb_arena_init(&a, 2048);
	d = (Evchain__V1__EntriesResponse *)pb_unpack(&a, &evchain__v1__entries_response__descriptor,
	    packed, len);
	CHECK(d == NULL);
	CHECK_EQ(a.exhausted, 1);
	pb_arena_free(&a);
	/* Garbage does not decode. */
	pb_arena_init(&a, 1 << 20);
	uint8_t junk[] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01 };
	CHECK(pb_unpack(&a, &evchain__v1__request__descriptor, junk, sizeof(junk)) == NULL);
	pb_arena_free(&a);
	free(packed);
	CHECK_DONE("test_frame");
}
