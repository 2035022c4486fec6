/* ca_cmd.c — `evchain-keys init-ca` and `evchain-keys issue`. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca.h"
#include "cli.h"
#include "cmd.h"
#include "evc.h"

#define INIT_CA_HELP \
"Usage: " PROG " init-ca --out DIR [--name NAME]\n" \
"\n" \
"Create the deployment's TLS certificate authority: DIR/ca.crt and\n" \
"DIR/ca.key (EC P-256, PKCS#8 PEM, mode 0600), valid 10 years, subject\n" \
"CN=NAME, O=evchain. DIR is created (mode 0700) when missing. Existing\n" \
"files are never overwritten.\n" \
"\n" \
"  --out DIR     directory for ca.crt and ca.key\n" \
"  --name NAME   the CA's common name (default \"" CA_DEFAULT_NAME "\")\n"

#define ISSUE_HELP \
"Usage: " PROG " issue --ca DIR --role ROLE --name NAME [--dns D]... [--ip A]...\n" \
"                      [--days N] [--not-before-days-ago M] --out PREFIX\n" \
"\n" \
"Issue a TLS certificate from the CA in DIR (ca.crt, ca.key): PREFIX.crt and\n" \
"its key PREFIX-tls.key (EC P-256, PKCS#8 PEM, mode 0600), valid 2 years,\n" \
"subject CN=NAME, OU=ROLE, O=evchain. The role is what the server grants.\n" \
"\n" \
"  --ca DIR      directory holding ca.crt and ca.key\n" \
"  --role ROLE   server, node, supervisor, discipline, court, witness or admin\n" \
"  --name NAME   common name (a node's must equal its signing key's name)\n" \
"  --dns D       subjectAltName DNS name (server only; repeatable)\n" \
"  --ip A        subjectAltName IP address (server only; repeatable)\n" \
"  --out PREFIX  where to write PREFIX.crt and PREFIX-tls.key\n" \
"  --days N      valid N days from notBefore (1..36500; default 730)\n" \
"  --not-before-days-ago M\n" \
"                notBefore M days ago (0..36500; default an hour ago); with\n" \
"                N < M the certificate has already expired (for tests)\n" \
"A server certificate (extendedKeyUsage serverAuth) needs at least one\n" \
"--dns or --ip; all other roles get clientAuth certificates.\n" \
"Existing files are never overwritten.\n"

int
cmd_init_ca(int argc, char **argv)
{
	const char *out = NULL, *name = NULL;
	char err[8192];
	struct stat st;
	int made = 0;

	for (int i = 1; i < argc; i++) {
		int m;
		if (cli_is_help(argv[i])) {
			fputs(INIT_CA_HELP, stdout);
			return CLI_OK;
		}
		if ((m = cli_opt(argc, argv, &i, "init-ca", "out", &out)) != 0 ||
		    (m = cli_opt(argc, argv, &i, "init-ca", "name", &name)) != 0) {
			if (m < 0)
				return CLI_USAGE;
			continue;
		}
		return cli_usage("init-ca", "unexpected argument '%s'", argv[i]);
	}
	if (out == NULL)
		return cli_usage("init-ca", "missing --out DIR");
	if (name != NULL && !ca_cn_valid(name))
		return cli_usage("init-ca", "invalid --name '%s': 1 to %u bytes, no control "
		    "characters", name, CA_MAX_CN);
	if (stat(out, &st) != 0) {
		if (errno != ENOENT)
			return cli_fail("init-ca", "%s: %s", out, strerror(errno));
		if (mkdir(out, 0700) != 0)
			return cli_fail("init-ca", "%s: %s", out, strerror(errno));
		made = 1;
	} else if (!S_ISDIR(st.st_mode)) {
		return cli_fail("init-ca", "%s: not a directory", out);
	}
	if (ca_init(out, name, err, sizeof err) != 0) {
		if (made)
			rmdir(out);
		return cli_fail("init-ca", "%s", err);
	}
	printf("wrote %s/" CA_CRT_FILE " and %s/" CA_KEY_FILE " (mode 0600)\n", out, out);
	return CLI_OK;
}

/* A number of days in min..CA_MAX_DAYS, decimal digits only. */
static int
parse_days(const char *s, long min, long *out)
{
	long v = 0;

	if (*s == '\0')
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > CA_MAX_DAYS)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (v < min || v > CA_MAX_DAYS)
		return -1;
	*out = v;
	return 0;
}

int
cmd_issue(int argc, char **argv)
{
	const char *cadir = NULL, *role = NULL, *name = NULL, *out = NULL;
	const char *days_s = NULL, *ago_s = NULL;
	long days = 0, ago = 0;
	const char *dns[CA_MAX_SAN], *ips[CA_MAX_SAN];
	size_t ndns = 0, nips = 0;
	char crt[4096], keyp[4096], err[8192];
	ca *c = NULL;
	int r;

	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		int m;
		if (cli_is_help(argv[i])) {
			fputs(ISSUE_HELP, stdout);
			return CLI_OK;
		}
		if ((m = cli_opt(argc, argv, &i, "issue", "ca", &cadir)) != 0 ||
		    (m = cli_opt(argc, argv, &i, "issue", "role", &role)) != 0 ||
		    (m = cli_opt(argc, argv, &i, "issue", "name", &name)) != 0 ||
		    (m = cli_opt(argc, argv, &i, "issue", "out", &out)) != 0 ||
		    (m = cli_opt(argc, argv, &i, "issue", "days", &days_s)) != 0 ||
		    (m = cli_opt(argc, argv, &i, "issue", "not-before-days-ago", &ago_s)) != 0) {
			if (m < 0)
				return CLI_USAGE;
			continue;
		}
		if ((m = cli_opt(argc, argv, &i, "issue", "dns", &v)) != 0) {
			if (m < 0)
				return CLI_USAGE;
			if (ndns == CA_MAX_SAN)
				return cli_usage("issue", "at most %u --dns", CA_MAX_SAN);
			if (!ca_dns_valid(v))
				return cli_usage("issue", "--dns '%s' is not a DNS name", v);
			dns[ndns++] = v;
			continue;
		}
		if ((m = cli_opt(argc, argv, &i, "issue", "ip", &v)) != 0) {
			if (m < 0)
				return CLI_USAGE;
			if (nips == CA_MAX_SAN)
				return cli_usage("issue", "at most %u --ip", CA_MAX_SAN);
			if (!ca_ip_valid(v))
				return cli_usage("issue", "--ip '%s' is not an IP address", v);
			ips[nips++] = v;
			continue;
		}
		return cli_usage("issue", "unexpected argument '%s'", argv[i]);
	}
	if (cadir == NULL)
		return cli_usage("issue", "missing --ca DIR");
	if (role == NULL)
		return cli_usage("issue", "missing --role");
	if (!ca_role_valid(role))
		return cli_usage("issue", "unknown --role '%s' (server, node, supervisor, "
		    "discipline, court, witness or admin)", role);
	if (name == NULL)
		return cli_usage("issue", "missing --name");
	if (!ca_cn_valid(name))
		return cli_usage("issue", "invalid --name '%s': 1 to %u bytes, no control "
		    "characters", name, CA_MAX_CN);
	if (out == NULL)
		return cli_usage("issue", "missing --out PREFIX");
	if (strcmp(role, "server") == 0 && ndns + nips == 0)
		return cli_usage("issue", "a server certificate needs --dns or --ip");
	if (strcmp(role, "server") != 0 && ndns + nips > 0)
		return cli_usage("issue", "--dns and --ip are for server certificates only");
	if (days_s != NULL && parse_days(days_s, 1, &days) != 0)
		return cli_usage("issue", "--days takes 1..%u, not '%s'", CA_MAX_DAYS, days_s);
	if (ago_s != NULL && parse_days(ago_s, 0, &ago) != 0)
		return cli_usage("issue", "--not-before-days-ago takes 0..%u, not '%s'", CA_MAX_DAYS,
		    ago_s);
	if (cli_cat(crt, sizeof crt, out, ".crt") != 0 ||
	    cli_cat(keyp, sizeof keyp, out, "-tls.key") != 0)
		return cli_usage("issue", "--out PREFIX is too long");

	if (ca_load(cadir, &c, err, sizeof err) != 0)
		return cli_fail("issue", "%s", err);
	ca_leaf leaf = { .role = role, .cn = name, .dns = dns, .ndns = ndns, .ips = ips,
		.nips = nips, .days = days, .not_before_days_ago = ago };
	r = ca_issue(c, &leaf, crt, keyp, err, sizeof err);
	ca_free(c);
	if (r != 0)
		return cli_fail("issue", "%s", err);
	printf("wrote %s (CN=%s, OU=%s) and %s (mode 0600)\n", crt, name, role, keyp);
	return CLI_OK;
}
