/*
 * policy.h — C2SP tlog-policy: which logs and witnesses a verifier trusts
 * and how many witness cosignatures make a checkpoint valid.
 *
 *   log <vkey> [<url>]                      a log (type 0x01 key; name = origin)
 *   witness <name> <vkey> [<url>]           a witness (type 0x04 cosignature/v1 key)
 *   group <name> all|any|<k> <name>...      witnessed if >= k members witnessed
 *   quorum <name>|none                      exactly one, naming a witness or group
 *
 * As the spec (c2sp.org/tlog-policy): items are separated by spaces and tabs;
 * empty lines and lines starting with '#' (after white space) are ignored;
 * the only control characters allowed are tab and newline; witness and
 * group names share one namespace, are opaque octet strings and may not be
 * "none"; a group or the quorum may only name what earlier lines defined; a
 * member appears at most once in a group; 1 <= k <= n; two logs or two
 * witnesses with the same public key are refused (even under other names).
 * A checkpoint is valid if one listed log signed it and the quorum holds.
 *
 * A policy is a plain struct (about 60 KiB: allocate it, do not put it on a
 * small stack); it holds no pointers and needs no freeing.
 */
#ifndef EVC_POLICY_H
#define EVC_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"

#define POLICY_MAX_LOGS 32
#define POLICY_MAX_NODES 128    /* witnesses + groups (the spec asks for 32 + 32) */
#define POLICY_MAX_MEMBERS 64   /* members of one group */
#define POLICY_MAX_NAME 128     /* bytes of a witness or group name */
#define POLICY_MAX_URL 512
#define POLICY_MAX_TEXT 65536   /* bytes of a policy file */

#define POLICY_QUORUM_NONE (-1) /* "quorum none": no cosignature needed */
#define POLICY_QUORUM_UNSET (-2)

typedef struct policy_node {
	char name[POLICY_MAX_NAME + 1];
	int is_group;
	evc_vkey vk;                          /* a witness's key */
	unsigned k, n;                        /* a group: threshold and member count */
	uint16_t members[POLICY_MAX_MEMBERS]; /* node indexes, all < this node's */
} policy_node;

typedef struct policy {
	evc_vkey logs[POLICY_MAX_LOGS];
	size_t nlogs;
	policy_node nodes[POLICY_MAX_NODES];  /* witnesses and groups, in file order */
	size_t nnodes;
	int quorum;                           /* node index, POLICY_QUORUM_NONE or _UNSET */
} policy;

/* An empty policy: no logs, no witnesses, quorum unset. */
void policy_init(policy *p);

/*
 * Parse a policy file's text[0..len) into p (which it initialises). The
 * file must define the quorum. 0; EVC_EINVAL with "line N: reason" in err
 * (errcap bytes, may be NULL); EVC_ETOOLARGE (over POLICY_MAX_TEXT or a
 * POLICY_MAX_* limit, also with its line).
 */
int policy_parse(const char *text, size_t len, policy *p, char *err, size_t errcap);

/* Read and parse a policy file. As policy_parse; EVC_EIO when it cannot be read. */
int policy_read(const char *path, policy *p, char *err, size_t errcap);

/* Builders (the spec's rules apply; err as above, without a line number). */
int policy_add_log(policy *p, const evc_vkey *vk, char *err, size_t errcap);
/* Returns the new node's index, or an error. */
int policy_add_witness(policy *p, const char *name, const evc_vkey *vk, char *err, size_t errcap);
/* A group of members[0..n) (node indexes) needing k of them; returns its index. */
int policy_add_group(policy *p, const char *name, unsigned k, const int *members, size_t n,
    char *err, size_t errcap);
/* quorum: a node index or POLICY_QUORUM_NONE. */
int policy_set_quorum(policy *p, int quorum, char *err, size_t errcap);

/*
 * Is the quorum met? witnessed[i] (for i < p->nnodes) is 1 if witness node i
 * verifiably cosigned the checkpoint (entries of group nodes are ignored).
 * Returns 1 (met, also for quorum none), 0 (not met, or quorum unset).
 */
int policy_quorum_met(const policy *p, const uint8_t *witnessed);

/*
 * Describe the quorum rule for people into buf (cap), e.g.
 * "2 of {witness-a, witness-b, witness-c}", "all of {X-witnesses: 2 of {…},
 * Y-witnesses: any of {…}}", "none". Long descriptions end in "...".
 * Returns buf.
 */
const char *policy_describe(const policy *p, char *buf, size_t cap);

#endif
