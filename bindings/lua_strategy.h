/* lua_strategy.h - a node's strategy implemented by calls into its own,
 * sandboxed Lua state (spec/HOOKS.md). */
#ifndef SKL_STRATEGY_H
#define SKL_STRATEGY_H

#include "sk.h"

struct skl_strategy;

struct skl_strategy_config {
    const char *scripts_dir; /* where require() may look: "scripts" */
    const char *proposer;    /* a name in scripts/proposers/, a path, or NULL for the C default */
    const char *backoff;     /* scripts/backoff/ */
    const char *lock;        /* scripts/locks/ */
    uint64_t budget;         /* instructions per hook call; 0: 10 million */
    bool virtual_time;       /* os.time/os.clock/math.random from the hook context */
    const struct sk_params *params; /* lock parameters, ctx.params (copied); NULL: none */
};

/* Build a state and load the scripts. On failure returns a negative code
 * with a message naming the file, line and reason in err. *out is owned
 * (free with skl_strategy_close). */
int skl_strategy_open(struct skl_strategy **out, const struct skl_strategy_config *cfg, char *err,
                      size_t errlen);
void skl_strategy_close(struct skl_strategy *s);
/* The vtable to give the core; valid while s lives. */
const struct sk_strategy *skl_strategy_vtable(struct skl_strategy *s);
/* Classic switches the proposer script asks for (enum sk_classic_flag). */
uint32_t skl_strategy_classic(const struct skl_strategy *s);
/* The resolved script paths ("" for a C default), for messages and traces. */
const char *skl_strategy_path(const struct skl_strategy *s, int kind); /* 0 proposer, 1 backoff, 2 lock */

#endif
