/* gen.c — `evchain-keys gen`: a signed-note key pair (log, node, admin, witness). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "cmd.h"
#include "evc.h"
#include "keys.h"

#define GEN_HELP \
"Usage: " PROG " gen --type log|node|admin|witness --name NAME --out PREFIX\n" \
"                    [--passphrase-file FILE]\n" \
"\n" \
"Generate an Ed25519 key in the C2SP signed-note forms:\n" \
"  PREFIX.key  signer key PRIVATE+KEY+NAME+ID+BASE64 (mode 0600)\n" \
"  PREFIX.pub  verifier key NAME+ID+BASE64\n" \
"Types log, node and admin are signed-note keys (type 0x01); witness is a\n" \
"C2SP cosignature/v1 key (type 0x04). A log key's name is the log origin.\n" \
"\n" \
"  --type T               log, node, admin or witness\n" \
"  --name NAME            key name: no white space, no '+', at most 128 bytes\n" \
"  --out PREFIX           where to write PREFIX.key and PREFIX.pub\n" \
"  --passphrase-file F    encrypt PREFIX.key (argon2id + XSalsa20-Poly1305)\n" \
"                         with the first line of F\n" \
"Existing files are never overwritten.\n"

#define PASS_MAX 1024

int
keygen_write(const char *name, uint8_t type, const char *key_path, const char *pub_path,
    const char *pass, size_t passlen, evc_vkey *vk, char *err, size_t errcap)
{
	evc_skey sk;
	evc_vkey v;
	int r;

	if (cli_exists(key_path) || cli_exists(pub_path)) {
		snprintf(err, errcap, "%s: already exists (refusing to overwrite)",
		    cli_exists(key_path) ? key_path : pub_path);
		return EVC_EEXIST;
	}
	if ((r = keys_generate(name, type, &sk, &v)) != 0) {
		snprintf(err, errcap, "key '%s': %s", name, evc_strerror(r));
		return r;
	}
	r = keys_write_private(key_path, &sk, pass, passlen);
	keys_skey_wipe(&sk);
	if (r != 0) {
		snprintf(err, errcap, "%s: %s", key_path,
		    r == EVC_EIO ? strerror(errno) : evc_strerror(r));
		return r;
	}
	if ((r = keys_write_public(pub_path, &v)) != 0) {
		snprintf(err, errcap, "%s: %s", pub_path,
		    r == EVC_EIO ? strerror(errno) : evc_strerror(r));
		unlink(key_path);
		return r;
	}
	if (vk != NULL)
		*vk = v;
	return 0;
}

int
cmd_gen(int argc, char **argv)
{
	const char *type = NULL, *name = NULL, *out = NULL, *passfile = NULL;
	char keyp[4096], pubp[4096], err[8192], pass[PASS_MAX], vs[KEYS_VKEY_MAX];
	uint8_t t;
	evc_vkey vk;
	int passlen = 0, r;

	for (int i = 1; i < argc; i++) {
		int m;
		if (cli_is_help(argv[i])) {
			fputs(GEN_HELP, stdout);
			return CLI_OK;
		}
		if ((m = cli_opt(argc, argv, &i, "gen", "type", &type)) != 0 ||
		    (m = cli_opt(argc, argv, &i, "gen", "name", &name)) != 0 ||
		    (m = cli_opt(argc, argv, &i, "gen", "out", &out)) != 0 ||
		    (m = cli_opt(argc, argv, &i, "gen", "passphrase-file", &passfile)) != 0) {
			if (m < 0)
				return CLI_USAGE;
			continue;
		}
		return cli_usage("gen", "unexpected argument '%s'", argv[i]);
	}
	if (type == NULL)
		return cli_usage("gen", "missing --type (log, node, admin or witness)");
	if (name == NULL)
		return cli_usage("gen", "missing --name");
	if (out == NULL)
		return cli_usage("gen", "missing --out PREFIX");
	if (strcmp(type, "log") == 0 || strcmp(type, "node") == 0 || strcmp(type, "admin") == 0)
		t = EVC_KEY_ED25519;
	else if (strcmp(type, "witness") == 0)
		t = EVC_KEY_COSIGNATURE;
	else
		return cli_usage("gen", "unknown --type '%s' (log, node, admin or witness)", type);
	if (!keys_name_valid(name, strlen(name)))
		return cli_usage("gen", "invalid --name '%s': 1 to %u bytes of UTF-8, no white "
		    "space, no '+', no control characters", name, EVC_MAX_KEY_NAME);
	if (cli_cat(keyp, sizeof keyp, out, ".key") != 0 || cli_cat(pubp, sizeof pubp, out, ".pub") != 0)
		return cli_usage("gen", "--out PREFIX is too long");

	if (passfile != NULL) {
		passlen = keys_read_passphrase(passfile, pass, sizeof pass);
		if (passlen < 0) {
			r = passlen;
			sodium_memzero(pass, sizeof pass);
			return cli_fail("gen", "%s: %s", passfile, r == EVC_EIO ? strerror(errno) :
			    r == EVC_ETOOLARGE ? "passphrase too long" : evc_strerror(r));
		}
		if (passlen == 0) {
			sodium_memzero(pass, sizeof pass);
			return cli_fail("gen", "%s: empty passphrase", passfile);
		}
	}
	r = keygen_write(name, t, keyp, pubp, passfile ? pass : NULL, (size_t)passlen, &vk,
	    err, sizeof err);
	sodium_memzero(pass, sizeof pass);
	if (r != 0)
		return cli_fail("gen", "%s", err);
	if (keys_vkey_format(&vk, vs, sizeof vs) < 0)
		return cli_fail("gen", "formatting the verifier key failed");
	printf("wrote %s (signer key, mode 0600%s) and %s\n%s\n", keyp,
	    passfile ? ", encrypted" : "", pubp, vs);
	return CLI_OK;
}
