/*
 * fuzz_keys.c — libFuzzer target for the signed-note key strings
 * (keys_vkey_parse, keys_skey_parse: what profiles, configurations and
 * policies name) and the key files read by every program (keys_read_public,
 * keys_read_private, keys_read_passphrase). The first byte chooses:
 *   0  a verifier key string: what parses formats back and parses again to
 *      the same key
 *   1  a signer key string: the same, and its public half is a valid key
 *   2  a key file: the rest written to a file (mode 0600) and read as a
 *      public key, a private key (no passphrase: an encrypted one must be
 *      refused, not decrypted), and a passphrase file
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "evc.h"
#include "keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void
cleanup(void)
{
	if (path[0])
		unlink(path);
}

static void
write_file(const uint8_t *p, size_t n)
{
	if (!path[0]) {
		snprintf(path, sizeof(path), "%s/evc-fuzz-keys-%d",
		    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
		atexit(cleanup);
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n) || close(fd) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[KEYS_VKEY_MAX + KEYS_SKEY_MAX + 64];
	evc_vkey vk, vk2;
	evc_skey sk, sk2;

	if (size < 1 || sodium_init() < 0)
		return 0;
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	switch (data[0] % 3) {
	case 0:
		if (keys_vkey_parse(s, n, &vk) == 0) {
			int k = keys_vkey_format(&vk, buf, sizeof(buf));
			if (k < 0 || keys_vkey_parse(buf, (size_t)k, &vk2) != 0 ||
			    memcmp(&vk, &vk2, sizeof(vk)) != 0 || !keys_name_valid(vk.name, strlen(vk.name)))
				abort();
		}
		break;
	case 1:
		if (keys_skey_parse(s, n, &sk) == 0) {
			int k = keys_skey_format(&sk, buf, sizeof(buf));
			if (k < 0 || keys_skey_parse(buf, (size_t)k, &sk2) != 0 ||
			    memcmp(&sk, &sk2, sizeof(sk)) != 0)
				abort();
			keys_public(&sk, &vk);
			if (strcmp(vk.name, sk.name) != 0)
				abort();
			keys_skey_wipe(&sk);
			keys_skey_wipe(&sk2);
		}
		break;
	default:
		write_file(data + 1, n);
		(void)keys_read_public(path, &vk);
		if (keys_read_private(path, NULL, 0, &sk) == 0)
			keys_skey_wipe(&sk);
		(void)keys_read_passphrase(path, buf, sizeof(buf));
		break;
	}
	return 0;
}
