/* config.c — evchaind's configuration file (README "Configuration"). */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "evc.h"
#include "server.h"

static int
path_opt(const conf *c, const char *key, const char *def, char *out, size_t cap, int required,
    char *err, size_t errcap)
{
	const char *v = conf_get(c, key);
	if (v == NULL)
		v = def;
	if (v == NULL) {
		if (required) {
			snprintf(err, errcap, "%s: `%s` is required", c->path, key);
			return -1;
		}
		out[0] = '\0';
		return 0;
	}
	if (conf_resolve(c, v, out, cap) == NULL) {
		snprintf(err, errcap, "%s: `%s` path is too long", c->path, key);
		return -1;
	}
	return 0;
}

int
srv_config_load(const char *path, srv_config *cfg, char *err, size_t errcap)
{
	conf c = { 0 };
	int ret = -1;
	static const char *known[] = { "listen", "data", "log_key", "log_key_passphrase_file",
		"admin_key", "ca", "cert", "key", "witness", "max_frame", "max_batch",
		"max_connections", "max_queued_output", "max_inflight", "handshake_timeout_ms",
		"idle_timeout_ms", "page_size", "group_max", "workers", "map_size", "map_max",
		"index_interval_ms", "shutdown_grace_ms", "sync", "metrics_listen", "metrics_public", "predecessor_checkpoint",
		"predecessor_key", NULL };

	memset(cfg, 0, sizeof(*cfg));
	if (conf_load(path, &c, err, errcap) != 0)
		return -1;
	snprintf(cfg->conf_path, sizeof(cfg->conf_path), "%s", path);
	for (size_t i = 0; i < c.n; i++) {
		size_t k = 0;
		while (known[k] != NULL && strcmp(known[k], c.items[i].key) != 0)
			k++;
		if (known[k] == NULL) {
			snprintf(err, errcap, "%s:%u: unknown option `%s`", path, c.items[i].line,
			    c.items[i].key);
			goto out;
		}
	}
	const char *listen = conf_get(&c, "listen");
	snprintf(cfg->listen, sizeof(cfg->listen), "%s", listen ? listen : "127.0.0.1:7800");
	if (path_opt(&c, "data", "data", cfg->data, sizeof(cfg->data), 0, err, errcap) ||
	    path_opt(&c, "log_key", NULL, cfg->log_key, sizeof(cfg->log_key), 1, err, errcap) ||
	    path_opt(&c, "log_key_passphrase_file", NULL, cfg->log_key_passphrase_file,
		sizeof(cfg->log_key_passphrase_file), 0, err, errcap) ||
	    path_opt(&c, "admin_key", NULL, cfg->admin_key, sizeof(cfg->admin_key), 1, err, errcap) ||
	    path_opt(&c, "ca", NULL, cfg->ca, sizeof(cfg->ca), 1, err, errcap) ||
	    path_opt(&c, "cert", NULL, cfg->cert, sizeof(cfg->cert), 1, err, errcap) ||
	    path_opt(&c, "key", NULL, cfg->key, sizeof(cfg->key), 1, err, errcap) ||
	    path_opt(&c, "predecessor_checkpoint", NULL, cfg->predecessor_checkpoint,
		sizeof(cfg->predecessor_checkpoint), 0, err, errcap) ||
	    path_opt(&c, "predecessor_key", NULL, cfg->predecessor_key, sizeof(cfg->predecessor_key), 0,
		err, errcap))
		goto out;
	if (!cfg->predecessor_checkpoint[0] != !cfg->predecessor_key[0]) {
		snprintf(err, errcap, "%s: `predecessor_checkpoint` and `predecessor_key` go together", path);
		goto out;
	}
	const char *w[SRV_MAX_WITNESSES + 1];
	size_t nw = conf_get_all(&c, "witness", w, SRV_MAX_WITNESSES + 1);
	if (nw > SRV_MAX_WITNESSES) {
		snprintf(err, errcap, "%s: at most %d witnesses", path, SRV_MAX_WITNESSES);
		goto out;
	}
	for (size_t i = 0; i < nw; i++)
		if (conf_resolve(&c, w[i], cfg->witness[i], sizeof(cfg->witness[i])) == NULL) {
			snprintf(err, errcap, "%s: witness path too long", path);
			goto out;
		}
	cfg->nwitness = nw;
	if (conf_get_u64(&c, "max_frame", EVC_MAX_FRAME_DEFAULT, 1024, 64u << 20, &cfg->max_frame, err, errcap) ||
	    conf_get_u64(&c, "max_batch", 1024, 1, 65536, &cfg->max_batch, err, errcap) ||
	    conf_get_u64(&c, "max_connections", 1024, 1, 1000000, &cfg->max_connections, err, errcap) ||
	    conf_get_u64(&c, "max_queued_output", 8u << 20, 65536, 1ull << 32, &cfg->max_queued_output, err, errcap) ||
	    conf_get_u64(&c, "max_inflight", 256, 1, 65536, &cfg->max_inflight, err, errcap) ||
	    conf_get_u64(&c, "handshake_timeout_ms", 10000, 0, 3600000, &cfg->handshake_timeout_ms, err, errcap) ||
	    conf_get_u64(&c, "idle_timeout_ms", 300000, 0, 86400000, &cfg->idle_timeout_ms, err, errcap) ||
	    conf_get_u64(&c, "page_size", 1000, 1, 100000, &cfg->page_size, err, errcap) ||
	    conf_get_u64(&c, "group_max", 8192, 1, 1000000, &cfg->group_max, err, errcap) ||
	    conf_get_u64(&c, "workers", 0, 0, 256, &cfg->workers, err, errcap) ||
	    conf_get_u64(&c, "map_size", 1ull << 30, 1u << 20, 1ull << 44, &cfg->map_size, err, errcap) ||
	    conf_get_u64(&c, "map_max", 1ull << 40, 1u << 20, 1ull << 46, &cfg->map_max, err, errcap) ||
	    conf_get_u64(&c, "index_interval_ms", 1000, 10, 600000, &cfg->index_interval_ms, err, errcap) ||
	    conf_get_u64(&c, "shutdown_grace_ms", 10000, 0, 600000, &cfg->shutdown_grace_ms, err, errcap))
		goto out;
	const char *sync = conf_get(&c, "sync");
	if (sync != NULL && strcmp(sync, "yes") != 0 && strcmp(sync, "no") != 0) {
		snprintf(err, errcap, "%s: `sync` is yes or no", path);
		goto out;
	}
	cfg->no_sync = sync != NULL && strcmp(sync, "no") == 0;
	const char *ml = conf_get(&c, "metrics_listen"), *mp = conf_get(&c, "metrics_public");
	snprintf(cfg->metrics_listen, sizeof(cfg->metrics_listen), "%s", ml ? ml : "auto");
	if (mp != NULL && strcmp(mp, "yes") != 0 && strcmp(mp, "no") != 0) {
		snprintf(err, errcap, "%s: `metrics_public` is yes or no", path);
		goto out;
	}
	cfg->metrics_public = mp != NULL && strcmp(mp, "yes") == 0;
	if (metrics_check_config(cfg, err, errcap) != 0)
		goto out;
	ret = 0;
out:
	conf_free(&c);
	return ret;
}
