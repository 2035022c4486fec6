/*
 * verify.c — evchain-verify: offline verification, no network.
 *
 *   evchain-verify ledger DATADIR --log-key FILE [--threads N] [--quiet]
 *   evchain-verify bundle FILE --log-key PUB [--witness PUB … [--quorum K] | --policy FILE]
 *                         [--media FILE …] [--html OUT.html]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evc.h"
#include "keys.h"
#include "verify.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: evchain-verify ledger DATADIR --log-key FILE [--threads N] [--quiet]\n"
	    "       evchain-verify bundle FILE --log-key PUB [--witness PUB ... [--quorum K] |\n"
	    "                             --policy FILE] [--media FILE ...] [--html OUT.html]\n"
	    "\n"
	    "  ledger   audit a ledger directory offline (a copy, or the live one read-only):\n"
	    "           recompute the hash chain, every leaf and tree hash, check every\n"
	    "           stored checkpoint's signature and root, and every record signature\n"
	    "           against the node key valid at that index (on all cores).\n"
	    "           Exit 0 and a summary when all holds; exit 1 naming the first bad\n"
	    "           index and what is wrong with it.\n"
	    "\n"
	    "  --log-key FILE  the log's verifier key (log.pub)\n"
	    "  --threads N     signature threads (default: the number of cores)\n"
	    "  --quiet         no progress on stderr\n"
	    "\n"
	    "  bundle   verify an evidence bundle offline: every entry's inclusion proof to\n"
	    "           its checkpoint, the log's signature, the witnesses' cosignatures and\n"
	    "           quorum, every record's signature and key validity at its index, each\n"
	    "           media file's digest, and each inspection's story; print a report\n"
	    "           (Chinese and English) with a verdict. Exit 0 verified, 1 failed.\n"
	    "           `evchain-verify bundle --help` lists its options.\n");
}

static int
cmd_ledger(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "log-key", required_argument, NULL, 'k' },
		{ "threads", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *keyfile = NULL;
	long threads = sysconf(_SC_NPROCESSORS_ONLN);
	int quiet = 0, c;
	evc_vkey vk;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:t:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keyfile = optarg; break;
		case 't': {
			char *end;
			threads = strtol(optarg, &end, 10);
			if (*end != '\0' || threads < 1 || threads > 64) {
				fprintf(stderr, "evchain-verify: --threads takes 1..64\n");
				return 2;
			}
			break;
		}
		case 'q': quiet = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc || keyfile == NULL) {
		fprintf(stderr, "evchain-verify ledger: need DATADIR and --log-key FILE\n");
		usage(stderr);
		return 2;
	}
	int rc = keys_read_public(keyfile, &vk);
	if (rc != 0) {
		fprintf(stderr, "evchain-verify: %s: %s\n", keyfile, evc_strerror(rc));
		return 1;
	}
	if (vk.type != EVC_KEY_ED25519) {
		fprintf(stderr, "evchain-verify: %s is not an Ed25519 log key\n", keyfile);
		return 1;
	}
	if (threads < 1)
		threads = 1;
	return verify_ledger(argv[optind], &vk, (unsigned)threads, quiet);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "ledger") == 0)
		return cmd_ledger(argc - 1, argv + 1);
	if (strcmp(argv[1], "bundle") == 0)
		return verify_bundle_main(argc - 1, argv + 1);
	fprintf(stderr, "evchain-verify: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
