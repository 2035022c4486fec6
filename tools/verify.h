/* verify.h — the subcommands of evchain-verify. */
#ifndef EVC_VERIFY_H
#define EVC_VERIFY_H

#include "keys.h"

/* Audit the ledger in dir against the log key; prints a summary or the first
 * bad index on stdout. Returns the exit status (0 all holds, 1 failure). */
int verify_ledger(const char *dir, const evc_vkey *log_key, unsigned threads, int quiet);

/* `evchain-verify bundle FILE --log-key PUB …` (verify_bundle.c): argv[0] is
 * "bundle". Returns the exit status (0 verified, 1 a check failed, 2 usage). */
int verify_bundle_main(int argc, char **argv);

#endif
