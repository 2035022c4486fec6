/*
 * cmd.h — the evchain-keys subcommands. Each takes the arguments after its
 * name (argv[0] is the subcommand) and returns the exit status: 0, 1
 * (failure, message names the file and the reason) or 2 (usage).
 */
#ifndef EVC_KEYS_CMD_H
#define EVC_KEYS_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "keys.h"

int cmd_gen(int argc, char **argv);
int cmd_init_ca(int argc, char **argv);
int cmd_issue(int argc, char **argv);
int cmd_dev(int argc, char **argv);

/*
 * Generate a signed-note key pair (name, type) and write key_path (signer,
 * 0600, encrypted when pass != NULL) and pub_path (verifier, 0644). Refuses
 * when either exists; on failure neither is left behind. vk (may be NULL)
 * receives the verifier key. 0 or EVC_E* with "file: reason" in err.
 */
int keygen_write(const char *name, uint8_t type, const char *key_path, const char *pub_path,
    const char *pass, size_t passlen, evc_vkey *vk, char *err, size_t errcap);

#endif
