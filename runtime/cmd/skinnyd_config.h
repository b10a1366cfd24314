/* skinnyd_config.h - skinnyd's config file (spec/DAEMON.md, "Config"): a
 * small JSON parser and the check of every key.
 *
 * Kept apart from skinnyd.c so that the config fuzzer (tests/fuzz/
 * fuzz_config.c) and tests/unit/test_config.c link it alone: no libuv, no
 * Lua. Bad input never crashes it; every refusal is one message naming the
 * file and either the key ("FILE:LINE: key \"cluster[2].address\": ...")
 * or, for text that is not JSON, the place ("FILE: line L, column C: ...";
 * columns count bytes from 1). */
#ifndef SKINNYD_CONFIG_H
#define SKINNYD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk.h"

/* A config file larger than this is refused unread (a real one is a few
 * KiB; this bounds what parsing it may allocate). */
#define SKD_CONFIG_MAX_BYTES (1u << 20)
/* Arrays and objects nest at most this deep (the parser recurses). */
#define SKD_JSON_MAX_DEPTH 32

struct skd_peer {
    char name[64];
    char address[80];
};

struct skd_config {
    char file[1024];
    char name[64];
    uint32_t id, n;                        /* this instance: id of n */
    struct skd_peer peers[SK_MAX_NODES + 1]; /* 1-based */
    char listen[80];
    char data_dir[1024];
    char scripts_dir[1024];
    char proposer[256], backoff[256], lock[256];
    uint64_t phase_timeout_ms;
    uint32_t max_inflight;
    uint64_t hook_budget;
    uint32_t max_connections;
    uint64_t max_queue_bytes;
    uint64_t idle_timeout_ms;
    uint64_t reconnect_min_ms, reconnect_max_ms;
    uint32_t compact_ratio;
    bool fsync;
    bool early_send; /* "send_before_sync": proposer frames leave before the batch's sync */
    struct sk_params lock_params; /* "lock_params": the lock script's ctx.params */
    /* Authentication (spec/DAEMON.md, "Authentication"): key file paths,
     * relative ones resolved against the config file's directory; empty
     * when not set. insecure: a listen address that is not loopback may go
     * without a cluster_key. */
    char cluster_key[1024];
    char client_key[1024];
    bool insecure;
};

/* Is the listen address a loopback one (127.0.0.0/8, ::1, localhost)? */
bool skd_addr_loopback(const char *s);

/* Read the file and parse it (skd_config_parse). Returns 0, or -1 with the
 * message in err. */
int skd_config_load(struct skd_config *c, const char *file, char *err, size_t errlen);

/* Parse len bytes of text (not necessarily NUL-terminated; any bytes) as
 * the contents of the config file named file, which messages name. Fills
 * *c with the defaults and then the keys given. Returns 0, or -1 with the
 * message in err (always NUL-terminated when errlen > 0). */
int skd_config_parse(struct skd_config *c, const char *file, const char *text, size_t len,
                     char *err, size_t errlen);

/* Is s an address a cluster member or `listen` may have: "host:port" with
 * a numeric IPv4 host, a bracketed IPv6 host ("[::1]:7001", an interface
 * zone allowed) or localhost, and a decimal port 1..65535? */
bool skd_addr_ok(const char *s);

#endif
