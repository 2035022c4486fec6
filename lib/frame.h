/*
 * frame.h — the wire framing of DESIGN §5: a 4-byte big-endian length N, then
 * N bytes of protobuf. 1 <= N <= max; N = 0 or N > max is a protocol error.
 * Zero-copy: the caller owns the buffer.
 */
#ifndef EVC_FRAME_H
#define EVC_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FRAME_HDR_LEN 4
#define FRAME_BAD (-1)       /* length 0 or over the maximum */
#define FRAME_NEED_MORE (-2) /* not a whole frame yet */

/*
 * Look at buf[0..len). On a whole frame: *payload points at its body,
 * *plen is N, and the return value is the bytes consumed (4 + N).
 * FRAME_NEED_MORE when more bytes are needed (checked against max as soon as
 * the header is complete, before anything is buffered or allocated);
 * FRAME_BAD for N == 0 or N > max (*plen receives N, for the error message).
 */
ssize_t frame_parse(const uint8_t *buf, size_t len, uint32_t max,
    const uint8_t **payload, size_t *plen);

/* Write the 4-byte header for a body of n bytes. */
void frame_header(uint8_t hdr[FRAME_HDR_LEN], uint32_t n);

#endif
