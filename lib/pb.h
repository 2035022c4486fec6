/*
 * pb.h — a bounded arena allocator for protobuf-c.
 *
 * protobuf-c 1.4.1 (Debian's) has open bugs on malformed input, so every
 * decode of untrusted bytes goes through an arena with a hard budget: an
 * allocation past the budget fails, protobuf_c_message_unpack() returns NULL,
 * and nothing leaks. Messages unpacked with an arena are never freed one by
 * one: pb_arena_reset() or pb_arena_free() releases them all at once.
 */
#ifndef EVC_PB_H
#define EVC_PB_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

typedef struct pb_chunk pb_chunk;

typedef struct pb_arena {
	ProtobufCAllocator alloc;  /* pass &arena.alloc to protobuf-c */
	pb_chunk *chunks;
	size_t budget;             /* bytes that may be handed out in all */
	size_t used;
	int exhausted;             /* 1 once an allocation was refused */
} pb_arena;

/* Set up an arena that hands out at most `budget` bytes. No allocation yet. */
void pb_arena_init(pb_arena *a, size_t budget);

/* Release everything handed out, keep the first chunk for reuse. */
void pb_arena_reset(pb_arena *a);

/* Release all memory. Accepts NULL. */
void pb_arena_free(pb_arena *a);

/* Allocate n bytes (8-byte aligned) from the arena; NULL past the budget. */
void *pb_arena_alloc(pb_arena *a, size_t n);

/*
 * Unpack `desc` from buf[0..len) within the arena. NULL on malformed input
 * or when the budget is exhausted (a->exhausted tells which).
 */
ProtobufCMessage *pb_unpack(pb_arena *a, const ProtobufCMessageDescriptor *desc,
    const uint8_t *buf, size_t len);

/*
 * Zero-copy field lookups in encoded bytes (protobuf-c copies bytes fields on
 * unpack; these point into the caller's buffer instead). The last occurrence
 * of the field wins, as in a decode. 0; EVC_ENOTFOUND when the field is
 * absent; EVC_EINVAL on malformed input or a field of another wire type.
 */
int pb_field_bytes(const uint8_t *msg, size_t len, unsigned field, const uint8_t **p, size_t *plen);
int pb_field_varint(const uint8_t *msg, size_t len, unsigned field, uint64_t *v);

/* Pack msg into a malloc'd buffer; *len receives its size. NULL on ENOMEM. */
uint8_t *pb_pack(const ProtobufCMessage *msg, size_t *len);

#endif
