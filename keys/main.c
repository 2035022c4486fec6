/*
 * main.c — evchain-keys: signed-note keys (log, node, admin, witness), the
 * deployment CA and its TLS certificates, and a one-command local
 * deployment. See `evchain-keys --help`.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <sodium.h>

#include "cli.h"
#include "cmd.h"

#define MAIN_HELP \
"Usage: " PROG " COMMAND [OPTIONS]\n" \
"\n" \
"Keys and certificates of an evchain deployment.\n" \
"\n" \
"Commands:\n" \
"  gen       --type log|node|admin|witness --name NAME --out PREFIX\n" \
"            [--passphrase-file F]\n" \
"            a signed-note signing key: PREFIX.key (0600) and PREFIX.pub\n" \
"  init-ca   --out DIR [--name NAME]\n" \
"            the deployment's TLS CA: DIR/ca.crt and DIR/ca.key (0600)\n" \
"  issue     --ca DIR --role ROLE --name NAME [--dns D]... [--ip A]... --out PREFIX\n" \
"            a TLS certificate: PREFIX.crt and PREFIX-tls.key (0600); roles:\n" \
"            server, node, supervisor, discipline, court, witness, admin\n" \
"  dev       DIR [--port N]\n" \
"            a complete local deployment (keys, certificates, conf files)\n" \
"\n" \
"'" PROG " COMMAND --help' describes each command.\n" \
"Exit status: 0 success, 1 failure, 2 usage error. Existing files are never\n" \
"overwritten.\n"

int
main(int argc, char **argv)
{
	const char *cmd;
	int r;

	if (argc < 2)
		return cli_usage(NULL, "missing COMMAND (gen, init-ca, issue, dev)");
	cmd = argv[1];
	if (cli_is_help(cmd) || strcmp(cmd, "help") == 0) {
		fputs(MAIN_HELP, stdout);
		return CLI_OK;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, PROG ": libsodium failed to initialise\n");
		return CLI_FAIL;
	}
	if (strcmp(cmd, "gen") == 0)
		r = cmd_gen(argc - 1, argv + 1);
	else if (strcmp(cmd, "init-ca") == 0)
		r = cmd_init_ca(argc - 1, argv + 1);
	else if (strcmp(cmd, "issue") == 0)
		r = cmd_issue(argc - 1, argv + 1);
	else if (strcmp(cmd, "dev") == 0)
		r = cmd_dev(argc - 1, argv + 1);
	else
		return cli_usage(NULL, "unknown command '%s' (gen, init-ca, issue, dev)", cmd);
	if (fflush(stdout) != 0 && r == CLI_OK) {
		perror(PROG ": stdout");
		r = CLI_FAIL;
	}
	return r;
}
