/* frame.c — 4-byte big-endian length-prefixed frames. */
#include "frame.h"

ssize_t
frame_parse(const uint8_t *buf, size_t len, uint32_t max, const uint8_t **payload, size_t *plen)
{
	if (len < FRAME_HDR_LEN)
		return FRAME_NEED_MORE;
	uint32_t n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | (uint32_t)buf[3];
	*plen = n;
	if (n == 0 || n > max)
		return FRAME_BAD;
	if (len - FRAME_HDR_LEN < n)
		return FRAME_NEED_MORE;
	*payload = buf + FRAME_HDR_LEN;
	return (ssize_t)(FRAME_HDR_LEN + (size_t)n);
}

void
frame_header(uint8_t hdr[FRAME_HDR_LEN], uint32_t n)
{
	hdr[0] = (uint8_t)(n >> 24);
	hdr[1] = (uint8_t)(n >> 16);
	hdr[2] = (uint8_t)(n >> 8);
	hdr[3] = (uint8_t)n;
}
