/*
 * dev.c — `evchain-keys dev DIR`: a complete local deployment in one
 * command: CA, server and client TLS certificates, the log, admin, node and
 * witness signing keys, evchaind.conf and one profile per party. Paths
 * inside the conf files are bare file names (relative to DIR), so the
 * directory can be moved. Nothing existing is ever overwritten; a failure
 * halfway removes what this run created.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ca.h"
#include "cli.h"
#include "cmd.h"
#include "conf.h"
#include "evc.h"
#include "keys.h"

#define DEV_DEFAULT_PORT 7800
#define DEV_ORIGIN "evchain.local/dev-log"
#define DEV_CA_NAME "evchain dev CA"

#define DEV_HELP \
"Usage: " PROG " dev DIR [--port N]\n" \
"\n" \
"Create a complete local deployment in DIR (made with mode 0700): a CA, the\n" \
"server's TLS certificate for localhost, a client certificate for every\n" \
"role, the log, admin, node and two witness signing keys, evchaind.conf and\n" \
"one client profile per party (node, admin, supervisor, discipline, court,\n" \
"witness-supervisor, witness-discipline). Paths inside the conf files are\n" \
"relative to DIR, so the directory can be moved.\n" \
"\n" \
"  --port N   the server's port on 127.0.0.1 (default 7800)\n" \
"\n" \
"Refuses (exit 1, nothing changed) when DIR already holds any of these files.\n" \
"The private keys are unencrypted (mode 0600): for development only.\n"

typedef struct party {
	const char *file;     /* file stem: X.crt, X-tls.key, X.conf, X.key, X.pub */
	const char *cn;       /* certificate CN */
	const char *role;     /* certificate OU and profile role */
	const char *key_name; /* signing key name, or NULL for none */
	uint8_t key_type;
} party;

static const party parties[] = {
	{ "node", "platform-node-1", "node", "platform-node-1", EVC_KEY_ED25519 },
	{ "admin", "admin", "admin", "admin", EVC_KEY_ED25519 },
	{ "supervisor", "supervisor", "supervisor", NULL, 0 },
	{ "discipline", "discipline", "discipline", NULL, 0 },
	{ "court", "court", "court", NULL, 0 },
	{ "witness-supervisor", "witness-supervisor", "witness", "witness-supervisor",
	    EVC_KEY_COSIGNATURE },
	{ "witness-discipline", "witness-discipline", "witness", "witness-discipline",
	    EVC_KEY_COSIGNATURE },
};
#define NPARTIES (sizeof parties / sizeof parties[0])

/* Files outside the parties (the data directory counts: a used deployment). */
static const char *const fixed_files[] = {
	"ca.crt", "ca.key", "server.crt", "server-tls.key", "log.key", "log.pub",
	"evchaind.conf", "data",
};
#define NFIXED (sizeof fixed_files / sizeof fixed_files[0])

#define CONF_HEADER \
"evchain development deployment, made by `" PROG " dev`.\n" \
"Paths are relative to this file's directory."

typedef struct dev {
	const char *dir;
	cli_undo undo;
	char err[8192];
} dev;

/* d->dir/name into buf (PATH_MAX-sized buffers; the length was checked). */
static const char *
dpath(const dev *d, const char *name, char *buf, size_t cap)
{
	if (cli_join(buf, cap, d->dir, name) != 0)
		return NULL;
	return buf;
}

static int
remember(dev *d, const char *name)
{
	char p[4096];

	if (dpath(d, name, p, sizeof p) == NULL || cli_undo_add(&d->undo, p, 0) != 0) {
		snprintf(d->err, sizeof d->err, "out of memory");
		return EVC_ENOMEM;
	}
	return 0;
}

static int
make_keypair(dev *d, const char *stem, const char *name, uint8_t type)
{
	char kf[256], pf[256], kp[4096], pp[4096];
	int r;

	if (cli_cat(kf, sizeof kf, stem, ".key") != 0 || cli_cat(pf, sizeof pf, stem, ".pub") != 0 ||
	    dpath(d, kf, kp, sizeof kp) == NULL || dpath(d, pf, pp, sizeof pp) == NULL) {
		snprintf(d->err, sizeof d->err, "%s: path too long", d->dir);
		return EVC_EINVAL;
	}
	if ((r = keygen_write(name, type, kp, pp, NULL, 0, NULL, d->err, sizeof d->err)) != 0)
		return r;
	if ((r = remember(d, kf)) != 0 || (r = remember(d, pf)) != 0)
		return r;
	return 0;
}

static int
issue_cert(dev *d, const ca *c, const char *stem, const ca_leaf *leaf)
{
	char cf[256], kf[256], cp[4096], kp[4096];
	int r;

	if (cli_cat(cf, sizeof cf, stem, ".crt") != 0 || cli_cat(kf, sizeof kf, stem, "-tls.key") != 0 ||
	    dpath(d, cf, cp, sizeof cp) == NULL || dpath(d, kf, kp, sizeof kp) == NULL) {
		snprintf(d->err, sizeof d->err, "%s: path too long", d->dir);
		return EVC_EINVAL;
	}
	if ((r = ca_issue(c, leaf, cp, kp, d->err, sizeof d->err)) != 0)
		return r;
	if ((r = remember(d, kf)) != 0 || (r = remember(d, cf)) != 0)
		return r;
	return 0;
}

static int
write_conf(dev *d, const char *file, const char *const *k, const char *const *v, size_t n)
{
	char p[4096];
	int r;

	if (dpath(d, file, p, sizeof p) == NULL) {
		snprintf(d->err, sizeof d->err, "%s: path too long", d->dir);
		return EVC_EINVAL;
	}
	if ((r = conf_write(p, CONF_HEADER, k, v, n, 0644)) != 0) {
		snprintf(d->err, sizeof d->err, "%s: %s", p,
		    r == EVC_EIO ? strerror(errno) : evc_strerror(r));
		return r;
	}
	return remember(d, file);
}

static int
write_confs(dev *d, unsigned port)
{
	char addr[32], crt[NPARTIES][256], key[NPARTIES][256], sig[NPARTIES][256];
	const char *k[16], *v[16];
	size_t n;
	int r;

	int an = snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
	if (an < 0 || (size_t)an >= sizeof addr)
		return EVC_EINVAL;

	n = 0;
	k[n] = "listen", v[n++] = addr;
	k[n] = "data", v[n++] = "data";
	k[n] = "log_key", v[n++] = "log.key";
	k[n] = "admin_key", v[n++] = "admin.pub";
	k[n] = "ca", v[n++] = "ca.crt";
	k[n] = "cert", v[n++] = "server.crt";
	k[n] = "key", v[n++] = "server-tls.key";
	k[n] = "witness", v[n++] = "witness-supervisor.pub";
	k[n] = "witness", v[n++] = "witness-discipline.pub";
	if ((r = write_conf(d, "evchaind.conf", k, v, n)) != 0)
		return r;

	for (size_t i = 0; i < NPARTIES; i++) {
		const party *p = &parties[i];
		char file[256];

		if (cli_cat(crt[i], sizeof crt[i], p->file, ".crt") != 0 ||
		    cli_cat(key[i], sizeof key[i], p->file, "-tls.key") != 0 ||
		    cli_cat(sig[i], sizeof sig[i], p->file, ".key") != 0 ||
		    cli_cat(file, sizeof file, p->file, ".conf") != 0)
			return EVC_EINVAL;
		n = 0;
		k[n] = "server", v[n++] = addr;
		k[n] = "role", v[n++] = p->role;
		k[n] = "ca", v[n++] = "ca.crt";
		k[n] = "cert", v[n++] = crt[i];
		k[n] = "key", v[n++] = key[i];
		k[n] = "log_key", v[n++] = "log.pub";
		if (p->key_name != NULL)
			k[n] = "signing_key", v[n++] = sig[i];
		k[n] = "witness", v[n++] = "witness-supervisor.pub";
		k[n] = "witness", v[n++] = "witness-discipline.pub";
		if ((r = write_conf(d, file, k, v, n)) != 0)
			return r;
	}
	return 0;
}

/* Every file dev would create; the first one that exists goes to *which. */
static int
anything_exists(const dev *d, char *which, size_t cap)
{
	static const char *const suffixes[] = { ".crt", "-tls.key", ".conf", ".key", ".pub" };
	char name[256];

	for (size_t i = 0; i < NFIXED; i++)
		if (dpath(d, fixed_files[i], which, cap) != NULL && cli_exists(which))
			return 1;
	for (size_t i = 0; i < NPARTIES; i++) {
		for (size_t s = 0; s < sizeof suffixes / sizeof suffixes[0]; s++) {
			if (s >= 3 && parties[i].key_name == NULL)
				continue;
			if (cli_cat(name, sizeof name, parties[i].file, suffixes[s]) == 0 &&
			    dpath(d, name, which, cap) != NULL && cli_exists(which))
				return 1;
		}
	}
	return 0;
}

static int
parse_port(const char *s, unsigned *port)
{
	unsigned long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

static void
summary(const dev *d, unsigned port, const char *logvk)
{
	const char *D = d->dir;

	printf("evchain dev deployment in %s (server 127.0.0.1:%u)\n\n", D, port);
	printf("  CA                   ca.crt, ca.key\n");
	printf("  server TLS           server.crt, server-tls.key"
	    "  (CN=localhost; DNS:localhost, IP:127.0.0.1, IP:::1)\n");
	printf("  log key              log.key, log.pub  (origin " DEV_ORIGIN ")\n");
	printf("                       %s\n", logvk);
	printf("  admin key            admin.key, admin.pub\n");
	printf("  node key             node.key, node.pub  (platform-node-1)\n");
	printf("  witness keys         witness-supervisor.key/.pub, witness-discipline.key/.pub"
	    "  (cosignature/v1)\n");
	printf("  client certificates  node, admin, supervisor, discipline, court,\n"
	    "                       witness-supervisor, witness-discipline  (X.crt, X-tls.key)\n");
	printf("  server config        evchaind.conf\n");
	printf("  client profiles      node.conf, admin.conf, supervisor.conf, discipline.conf,\n"
	    "                       court.conf, witness-supervisor.conf, witness-discipline.conf\n");
	printf("\nPrivate keys are unencrypted, mode 0600: for development only.\n");
	printf("\nNext:\n");
	printf("  evchaind -c %s/evchaind.conf      start the log server\n", D);
	printf("  then each party uses its profile:\n");
	printf("    %s/admin.conf     register the node key %s/node.pub\n", D, D);
	printf("    %s/node.conf      submit signed records\n", D);
	printf("    %s/witness-supervisor.conf, %s/witness-discipline.conf  cosign\n", D, D);
	printf("    %s/supervisor.conf, %s/discipline.conf, %s/court.conf  audit, export\n",
	    D, D, D);
}

int
cmd_dev(int argc, char **argv)
{
	const char *dir = NULL, *portarg = NULL;
	char which[4096], logvs[KEYS_VKEY_MAX] = "";
	unsigned port = DEV_DEFAULT_PORT;
	struct stat st;
	dev d;
	ca *c = NULL;
	int r;

	for (int i = 1; i < argc; i++) {
		int m;
		if (cli_is_help(argv[i])) {
			fputs(DEV_HELP, stdout);
			return CLI_OK;
		}
		if ((m = cli_opt(argc, argv, &i, "dev", "port", &portarg)) != 0) {
			if (m < 0)
				return CLI_USAGE;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return cli_usage("dev", "unknown option '%s'", argv[i]);
		if (dir != NULL)
			return cli_usage("dev", "unexpected argument '%s' (one DIR only)", argv[i]);
		if (argv[i][0] == '\0')
			return cli_usage("dev", "empty DIR");
		dir = argv[i];
	}
	if (dir == NULL)
		return cli_usage("dev", "missing DIR");
	if (portarg != NULL && parse_port(portarg, &port) != 0)
		return cli_usage("dev", "--port '%s' is not a port number (1-65535)", portarg);
	if (strlen(dir) > 3000)
		return cli_usage("dev", "DIR is too long");

	memset(&d, 0, sizeof d);
	d.dir = dir;
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return cli_fail("dev", "%s: exists and is not a directory", dir);
		if (anything_exists(&d, which, sizeof which))
			return cli_fail("dev", "%s already exists: %s already holds a deployment "
			    "(refusing to overwrite anything)", which, dir);
	} else if (errno != ENOENT) {
		return cli_fail("dev", "%s: %s", dir, strerror(errno));
	} else {
		if (mkdir(dir, 0700) != 0)
			return cli_fail("dev", "%s: %s", dir, strerror(errno));
		if (cli_undo_add(&d.undo, dir, 1) != 0) {
			cli_undo_run(&d.undo);
			return cli_fail("dev", "out of memory");
		}
	}

	/* CA. */
	if ((r = ca_init(dir, DEV_CA_NAME, d.err, sizeof d.err)) != 0)
		goto fail;
	if ((r = remember(&d, CA_KEY_FILE)) != 0 || (r = remember(&d, CA_CRT_FILE)) != 0)
		goto fail;
	if ((r = ca_load(dir, &c, d.err, sizeof d.err)) != 0)
		goto fail;

	/* Server certificate. */
	{
		static const char *const dns[] = { "localhost" };
		static const char *const ips[] = { "127.0.0.1", "::1" };
		ca_leaf leaf = { .role = "server", .cn = "localhost", .dns = dns, .ndns = 1,
			.ips = ips, .nips = 2 };
		if ((r = issue_cert(&d, c, "server", &leaf)) != 0)
			goto fail;
	}

	/* Log key. */
	{
		char kp[4096], pp[4096];
		evc_vkey vk;
		if (dpath(&d, "log.key", kp, sizeof kp) == NULL ||
		    dpath(&d, "log.pub", pp, sizeof pp) == NULL) {
			r = EVC_EINVAL;
			snprintf(d.err, sizeof d.err, "%s: path too long", dir);
			goto fail;
		}
		if ((r = keygen_write(DEV_ORIGIN, EVC_KEY_ED25519, kp, pp, NULL, 0, &vk, d.err,
		    sizeof d.err)) != 0)
			goto fail;
		if ((r = remember(&d, "log.key")) != 0 || (r = remember(&d, "log.pub")) != 0)
			goto fail;
		if (keys_vkey_format(&vk, logvs, sizeof logvs) < 0)
			logvs[0] = '\0';
	}

	/* Every party: client certificate and, for signers, a signing key. */
	for (size_t i = 0; i < NPARTIES; i++) {
		const party *p = &parties[i];
		ca_leaf leaf = { .role = p->role, .cn = p->cn };

		if ((r = issue_cert(&d, c, p->file, &leaf)) != 0)
			goto fail;
		if (p->key_name != NULL &&
		    (r = make_keypair(&d, p->file, p->key_name, p->key_type)) != 0)
			goto fail;
	}

	if ((r = write_confs(&d, port)) != 0)
		goto fail;

	ca_free(c);
	cli_undo_free(&d.undo);
	summary(&d, port, logvs);
	return CLI_OK;
fail:
	ca_free(c);
	cli_undo_run(&d.undo);
	if (d.err[0] == '\0')
		snprintf(d.err, sizeof d.err, "%s", evc_strerror(r));
	return cli_fail("dev", "%s (nothing was left behind)", d.err);
}
