/*
 * fuzz_conf.c — libFuzzer target for the `key = value` files every program
 * reads (evchaind's configuration, client profiles): conf_load on the input
 * written to a file, then every getter on every key it found (numbers with
 * their K/M/G suffixes, paths resolved against the file's directory).
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "evc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void
cleanup(void)
{
	if (path[0])
		unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	conf c;
	char err[512], buf[4096];
	const char *vals[8];
	uint64_t v;

	if (!path[0]) {
		/* tmpfs when there is one: a file is written for every input */
		snprintf(path, sizeof(path), "%s/evc-fuzz-conf-%d.conf",
		    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
		atexit(cleanup);
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size) || close(fd) != 0)
		abort();
	memset(&c, 0, sizeof(c));
	if (conf_load(path, &c, err, sizeof(err)) != 0) {
		if (strlen(err) >= sizeof(err))
			abort();
		return 0;
	}
	for (size_t i = 0; i < c.n; i++) {
		const char *k = c.items[i].key;
		const char *val = conf_get(&c, k);
		if (val == NULL)
			abort(); /* a key it listed must be found */
		size_t nv = conf_get_all(&c, k, vals, 8);
		if (nv == 0)
			abort();
		(void)conf_get_u64(&c, k, 7, 0, UINT64_MAX, &v, err, sizeof(err));
		(void)conf_get_u64(&c, k, 7, 1024, 64u << 20, &v, err, sizeof(err));
		(void)conf_get_path(&c, k, buf, sizeof(buf));
		(void)conf_resolve(&c, val, buf, 16);
	}
	(void)conf_get(&c, "absent");
	conf_free(&c);
	return 0;
}
