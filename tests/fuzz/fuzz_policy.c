/*
 * fuzz_policy.c — libFuzzer target for C2SP tlog-policy files (policy_parse:
 * what `evchain-verify bundle --policy` reads), then the quorum over every
 * pattern of witnessed members drawn from the input, and the description.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evc.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static policy *pol;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], desc[4096];
	uint8_t witnessed[POLICY_MAX_NODES];

	if (pol == NULL && (pol = malloc(sizeof(*pol))) == NULL)
		abort();
	policy_init(pol);
	if (policy_parse((const char *)data, size, pol, err, sizeof(err)) != 0) {
		if (strlen(err) >= sizeof(err))
			abort();
		return 0;
	}
	if (pol->nlogs > POLICY_MAX_LOGS || pol->nnodes > POLICY_MAX_NODES ||
	    (pol->quorum != POLICY_QUORUM_NONE && (pol->quorum < 0 || (size_t)pol->quorum >= pol->nnodes)))
		abort();
	for (size_t i = 0; i < pol->nnodes; i++) {
		const policy_node *nd = &pol->nodes[i];
		if (nd->is_group && (nd->n == 0 || nd->k < 1 || nd->k > nd->n || nd->n > POLICY_MAX_MEMBERS))
			abort();
		for (unsigned m = 0; nd->is_group && m < nd->n; m++)
			if (nd->members[m] >= i)
				abort(); /* members are defined before their group */
	}
	/* Nobody witnessed; everybody; a pattern from the input's bytes. */
	memset(witnessed, 0, sizeof(witnessed));
	int none = policy_quorum_met(pol, witnessed);
	memset(witnessed, 1, sizeof(witnessed));
	int all = policy_quorum_met(pol, witnessed);
	if (pol->quorum == POLICY_QUORUM_NONE ? !(none && all) : (none || !all))
		abort();
	for (size_t i = 0; i < POLICY_MAX_NODES; i++)
		witnessed[i] = size ? (data[i % size] >> (i % 8)) & 1 : 0;
	(void)policy_quorum_met(pol, witnessed);
	(void)policy_describe(pol, desc, sizeof(desc));
	return 0;
}
