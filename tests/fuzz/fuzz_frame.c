/* fuzz_frame.c — the frame codec, then each whole frame's body as a Request
 * (the server's first decoder) within a bounded arena. */
#include <stddef.h>
#include <stdint.h>

#include "evc.h"
#include "evchain.pb-c.h"
#include "frame.h"
#include "pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pb_arena a;
	const uint8_t *p;
	size_t plen;

	pb_arena_init(&a, 1 << 20);
	while (size > 0) {
		ssize_t n = frame_parse(data, size, 1 << 16, &p, &plen);
		if (n < 0)
			break;
		pb_unpack(&a, &evchain__v1__request__descriptor, p, plen);
		pb_arena_reset(&a);
		data += n;
		size -= (size_t)n;
	}
	pb_arena_free(&a);
	return 0;
}
