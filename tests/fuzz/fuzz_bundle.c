/*
 * fuzz_bundle.c — libFuzzer target for bundle_verify and the report of
 * evchain-verify bundle (text and HTML) on arbitrary bytes: never a crash,
 * a leak or undefined behaviour, and a report whose verdict agrees with its
 * failures. The policy trusts the keys tests/unit/test_bundle.c derives from
 * fixed seeds, so the seed corpus's valid bundle (tests/fuzz/corpus/bundle/,
 * written by `EVC_BUNDLE_SEED_OUT=FILE test_bundle`) goes deep.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "evc.h"
#include "keys.h"
#include "policy.h"

/* The report writer of evchain-verify, to run it on hostile content too. */
#include "../../tools/verify_bundle.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static policy *pol;
static FILE *devnull;

static void
setup(void)
{
	evc_skey sk;
	evc_vkey lk, w1, w2;
	uint8_t seed[32];
	char err[256];
	int m[2];

	pol = malloc(sizeof(*pol));
	devnull = fopen("/dev/null", "w");
	if (pol == NULL || devnull == NULL)
		abort();
	policy_init(pol);
	memset(seed, 1, 32);
	if (keys_from_seed("test.evchain/log", EVC_KEY_ED25519, seed, &sk, &lk) != 0)
		abort();
	memset(seed, 4, 32);
	if (keys_from_seed("witness-supervisor", EVC_KEY_COSIGNATURE, seed, &sk, &w1) != 0)
		abort();
	memset(seed, 5, 32);
	if (keys_from_seed("witness-discipline", EVC_KEY_COSIGNATURE, seed, &sk, &w2) != 0)
		abort();
	keys_skey_wipe(&sk);
	if (policy_add_log(pol, &lk, err, sizeof(err)) != 0 ||
	    (m[0] = policy_add_witness(pol, "supervisor", &w1, err, sizeof(err))) < 0 ||
	    (m[1] = policy_add_witness(pol, "discipline", &w2, err, sizeof(err))) < 0 ||
	    policy_set_quorum(pol, policy_add_group(pol, "both", 2, m, 2, err, sizeof(err)), err,
	    sizeof(err)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bundle_report *r = NULL;

	if (pol == NULL)
		setup();
	bundle_verify_opts o = { .policy = pol };
	if (bundle_verify(data, size, &o, &r) != 0 || r == NULL)
		abort();
	if (r->verified != (r->failures_total == 0) || r->nfailures > BUNDLE_MAX_FAILURES ||
	    r->nfailures > r->failures_total || r->size != size)
		abort();
	for (size_t i = 0; i < r->nfailures; i++)
		if (strnlen(r->failures[i].msg, sizeof(r->failures[i].msg)) == sizeof(r->failures[i].msg))
			abort();
	ctx c = { "fuzz.bundle", pol, r };
	doc text = { devnull, 0, 0, 0, 0 }, html = { devnull, 1, 0, 0, 0 };
	report(&text, &c);
	report(&html, &c);
	bundle_report_free(r);
	return 0;
}
