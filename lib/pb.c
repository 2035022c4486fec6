/* pb.c — bounded arena allocator for protobuf-c. */
#include <stdlib.h>
#include <string.h>

#include "evc.h"
#include "pb.h"

struct pb_chunk {
	pb_chunk *next;
	size_t cap, used;
	_Alignas(16) unsigned char data[];
};

#define PB_CHUNK_MIN 4096u

static void *
arena_alloc_cb(void *ctx, size_t n)
{
	return pb_arena_alloc(ctx, n);
}

static void
arena_free_cb(void *ctx, void *p)
{
	(void)ctx;
	(void)p; /* released with the arena */
}

void
pb_arena_init(pb_arena *a, size_t budget)
{
	memset(a, 0, sizeof(*a));
	a->alloc.alloc = arena_alloc_cb;
	a->alloc.free = arena_free_cb;
	a->alloc.allocator_data = a;
	a->budget = budget;
}

void *
pb_arena_alloc(pb_arena *a, size_t n)
{
	pb_chunk *c = a->chunks;
	size_t need = (n + 15) & ~(size_t)15;

	if (need < n || need > a->budget - a->used) {
		a->exhausted = 1;
		return NULL;
	}
	if (c == NULL || c->cap - c->used < need) {
		size_t cap = need > PB_CHUNK_MIN ? need : PB_CHUNK_MIN;
		if (c != NULL && c->cap * 2 > cap && c->cap * 2 <= a->budget)
			cap = c->cap * 2;
		pb_chunk *nc = malloc(sizeof(*nc) + cap);
		if (nc == NULL) {
			a->exhausted = 1;
			return NULL;
		}
		nc->cap = cap;
		nc->used = 0;
		nc->next = c;
		a->chunks = c = nc;
	}
	void *p = c->data + c->used;
	c->used += need;
	a->used += need;
	return p;
}

void
pb_arena_reset(pb_arena *a)
{
	pb_chunk *c = a->chunks;

	if (c == NULL)
		return;
	/* Keep the newest (largest) chunk, free the rest. */
	pb_chunk *rest = c->next;
	while (rest != NULL) {
		pb_chunk *next = rest->next;
		free(rest);
		rest = next;
	}
	c->next = NULL;
	c->used = 0;
	a->used = 0;
	a->exhausted = 0;
}

void
pb_arena_free(pb_arena *a)
{
	if (a == NULL)
		return;
	pb_chunk *c = a->chunks;
	while (c != NULL) {
		pb_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->chunks = NULL;
	a->used = 0;
}

ProtobufCMessage *
pb_unpack(pb_arena *a, const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len)
{
	return protobuf_c_message_unpack(desc, &a->alloc, len, buf);
}

uint8_t *
pb_pack(const ProtobufCMessage *msg, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(n ? n : 1);

	if (buf == NULL)
		return NULL;
	*len = protobuf_c_message_pack(msg, buf);
	return buf;
}

static int
read_varint(const uint8_t *p, size_t len, size_t *i, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (*i >= len)
			return EVC_EINVAL;
		uint8_t b = p[(*i)++];
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return EVC_EINVAL;
}

/* Walk the fields; report the last occurrence of `field`. */
static int
find_field(const uint8_t *msg, size_t len, unsigned field, unsigned *wt_out, uint64_t *val,
    size_t *off)
{
	size_t i = 0;
	int found = 0;

	while (i < len) {
		uint64_t tag, v;
		if (read_varint(msg, len, &i, &tag) != 0 || (tag >> 3) == 0)
			return EVC_EINVAL;
		unsigned wt = (unsigned)(tag & 7);
		size_t start = i;
		switch (wt) {
		case 0:
			if (read_varint(msg, len, &i, &v) != 0)
				return EVC_EINVAL;
			break;
		case 1:
			if (len - i < 8)
				return EVC_EINVAL;
			v = 0;
			i += 8;
			break;
		case 2:
			if (read_varint(msg, len, &i, &v) != 0 || v > len - i)
				return EVC_EINVAL;
			start = i;
			i += (size_t)v;
			break;
		case 5:
			if (len - i < 4)
				return EVC_EINVAL;
			v = 0;
			i += 4;
			break;
		default:
			return EVC_EINVAL;
		}
		if ((tag >> 3) == field) {
			found = 1;
			*wt_out = wt;
			*val = v;
			*off = start;
		}
	}
	return found ? 0 : EVC_ENOTFOUND;
}

int
pb_field_bytes(const uint8_t *msg, size_t len, unsigned field, const uint8_t **p, size_t *plen)
{
	unsigned wt;
	uint64_t v;
	size_t off;
	int rc = find_field(msg, len, field, &wt, &v, &off);

	if (rc != 0)
		return rc;
	if (wt != 2)
		return EVC_EINVAL;
	*p = msg + off;
	*plen = (size_t)v;
	return 0;
}

int
pb_field_varint(const uint8_t *msg, size_t len, unsigned field, uint64_t *v)
{
	unsigned wt;
	size_t off;
	int rc = find_field(msg, len, field, &wt, v, &off);

	if (rc != 0)
		return rc;
	return wt == 0 ? 0 : EVC_EINVAL;
}
