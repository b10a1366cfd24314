/* fuzz_lua.c - libFuzzer target for frames through three core nodes that
 * run the shipped Lua scripts (`make fuzz FUZZ_TARGET=lua`), through the
 * protected boundary of bindings/lua_strategy.c.
 *
 * The harness, the input format, the checks and the seeds are those of
 * fuzz_decode.c, which this file includes with its own fuzz_strategy: so
 * the two targets cannot drift apart. What differs is what runs the hooks:
 *
 *   flags bit 6 (classic)  proposers/classic.lua, backoff/classic.lua,
 *                          locks/classic.lua
 *   otherwise              proposers/paxos.lua, backoff/exponential_jitter,
 *                          and locks/advisory.lua, or locks/lease.lua when
 *                          bit 7 (time passes) is set
 *
 * Injected promises carry lock states the fuzzer makes up, so apply and
 * pick_value see values no script wrote; every hook failure must be a
 * reply with status error, never a crash, a hang or a refused frame
 * between the nodes.
 *
 * One Lua state per node and variant, opened once and reused across
 * inputs (opening loads the scripts from disk). The scripts are run from
 * the repository root ("scripts/"). */
#define SK_FUZZ_LUA
#include <stdio.h>
#include <stdlib.h>

#include "lua_strategy.h"
#include "sk.h"

static const struct sk_strategy *fuzz_strategy(uint32_t id, uint8_t flags)
{
    static struct skl_strategy *st[3][4];
    int variant = (flags & 0x40) ? 0 : (flags & 0x80) ? 2 : 1;
    if (st[variant][id] == NULL) {
        static const char *const scripts[3][3] = {
            {"classic", "classic", "classic"},
            {"paxos", "exponential_jitter", "advisory"},
            {"paxos", "exponential_jitter", "lease"},
        };
        struct skl_strategy_config sc = {"scripts", scripts[variant][0], scripts[variant][1],
                                         scripts[variant][2], 0, true, NULL};
        char err[SK_ERRMSG_LEN];
        if (skl_strategy_open(&st[variant][id], &sc, err, sizeof err) != 0) {
            fprintf(stderr, "fuzz_lua: cannot load the shipped scripts (run from the "
                            "repository root): %s\n", err);
            abort();
        }
    }
    return skl_strategy_vtable(st[variant][id]);
}

#include "fuzz_decode.c"
