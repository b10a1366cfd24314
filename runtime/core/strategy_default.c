/* strategy_default.c - the built-in decisions: correct Paxos, jittered
 * exponential backoff, advisory locks with owner-checked release. The Lua
 * scripts in scripts/ mirror these; a missing Lua hook falls back here. */
#include <stdio.h>
#include <string.h>

#include "core.h"

static uint32_t majority(const struct sk_hook_ctx *ctx)
{
    return ctx->cluster_size / 2 + 1;
}

/* Paxos Made Simple 2.2: a proposer picks a number higher than any it has
 * seen; (round, id) pairs keep proposers' numbers disjoint. */
static int default_next_ballot(void *ud, struct sk_hook_ctx *ctx,
                               const struct sk_ballot_info *info, struct sk_ballot *out)
{
    (void)ud;
    uint64_t r = info->last.round;
    if (info->promised.round > r) r = info->promised.round;
    if (info->highest.round > r) r = info->highest.round;
    out->round = r + 1;
    out->node = ctx->node_id;
    return 0;
}

/* Early stopping: proceed as soon as a majority said yes, fail as soon as
 * a majority can no longer say yes. */
static int default_enough(void *ud, struct sk_hook_ctx *ctx, int phase, uint32_t yeas,
                          uint32_t nays, bool timed_out, int *verdict)
{
    (void)ud;
    (void)phase;
    uint32_t maj = majority(ctx);
    if (yeas >= maj) {
        *verdict = SK_PROCEED;
    } else if (nays > ctx->cluster_size - maj || timed_out) {
        *verdict = SK_FAIL;
    } else {
        *verdict = SK_WAIT;
    }
    return 0;
}

/* Paxos Made Simple phase 2a: the value of the highest-numbered proposal
 * among the promises, or the proposer's own if none accepted anything. */
static int default_pick_value(void *ud, struct sk_hook_ctx *ctx, const struct sk_promise_view *p,
                              size_t count, int *index)
{
    (void)ud;
    (void)ctx;
    int best = -1;
    for (size_t i = 0; i < count; i++) {
        if (sk_ballot_is_zero(p[i].accepted)) {
            continue;
        }
        if (best < 0 || sk_ballot_cmp(p[i].accepted, p[best].accepted) > 0) {
            best = (int)i;
        }
    }
    *index = best;
    return 0;
}

static int default_skip_phase1(void *ud, struct sk_hook_ctx *ctx, bool *skip)
{
    (void)ud;
    (void)ctx;
    *skip = false;
    return 0;
}

static int default_thrifty(void *ud, struct sk_hook_ctx *ctx, uint64_t *fill_ms)
{
    (void)ud;
    (void)ctx;
    *fill_ms = 0;
    return 0;
}

/* Full jitter (half fixed, half random) over a doubling base: 10, 20, 40 ...
 * capped at 640 ms; give up after 8 attempts. */
static int default_backoff(void *ud, struct sk_hook_ctx *ctx, uint32_t attempt, const char *why,
                           uint64_t *delay_ms, bool *give_up)
{
    (void)ud;
    (void)why;
    if (attempt > 8) {
        *give_up = true;
        return 0;
    }
    uint32_t shift = attempt >= 2 ? attempt - 2 : 0;
    uint64_t base = 10u << (shift > 6 ? 6 : shift);
    *delay_ms = base / 2 + (uint64_t)(sk_rng_unit(ctx->rng) * (double)(base / 2 + 1));
    *give_up = false;
    return 0;
}

static int holder_is(const struct sk_value_field *f, const struct sk_client_req *req)
{
    return f->tag == 's' && f->s_len == req->holder_len &&
           memcmp(f->s, req->holder, req->holder_len) == 0;
}

static void copy_holder(char *dst, const struct sk_value_field *f)
{
    size_t n = f->s_len > SK_HOLDER_MAX ? SK_HOLDER_MAX : f->s_len;
    memcpy(dst, f->s, n);
    dst[n] = 0;
}

/* Advisory locks: {holder = "beaver", token = 4353}; free is empty. */
static int default_apply_lock(void *ud, struct sk_hook_ctx *ctx, const uint8_t *state,
                              size_t state_len, const struct sk_client_req *req,
                              struct sk_ballot ballot, struct sk_buf *out,
                              struct sk_lock_reply *reply)
{
    (void)ud;
    struct sk_value_field h = {0}, t = {0};
    int has_h = sk_value_get(state, state_len, "holder", &h);
    int has_t = sk_value_get(state, state_len, "token", &t);
    if (has_h < 0 || has_t < 0) {
        snprintf(ctx->errmsg, SK_ERRMSG_LEN, "lock state is not an sk value table");
        return SK_EHOOK;
    }
    bool held = has_h == 1 && h.tag == 's' && h.s_len > 0;
    bool mine = held && holder_is(&h, req);
    /* unchanged state unless said otherwise */
    if (state_len > out->cap) {
        snprintf(ctx->errmsg, SK_ERRMSG_LEN, "lock state of %zu bytes is too large", state_len);
        return SK_EHOOK;
    }
    if (state_len > 0) {
        memcpy(out->data, state, state_len);
    }
    out->len = state_len;
    switch (req->op) {
    case SK_OP_ACQUIRE:
    case SK_OP_ACQUIRE_SHARED: /* no shared holds here: a reader is a holder like any */
        if (!held) {
            uint64_t token = sk_ballot_token(ballot);
            struct sk_value_writer w;
            sk_value_begin(&w, out->data, out->cap);
            sk_value_put_str(&w, "holder", req->holder, req->holder_len);
            sk_value_put_int(&w, "token", (int64_t)token);
            int len = sk_value_end(&w);
            if (len < 0) {
                snprintf(ctx->errmsg, SK_ERRMSG_LEN, "lock state does not fit");
                return SK_EHOOK;
            }
            out->len = (size_t)len;
            reply->status = SK_ST_GRANTED;
            reply->token = token;
            copy_holder(reply->holder, &(struct sk_value_field){.tag = 's', .s = req->holder,
                                                                 .s_len = req->holder_len});
        } else if (mine) {
            reply->status = SK_ST_GRANTED;
            reply->token = has_t == 1 && t.tag == 'i' ? (uint64_t)t.i : 0;
            copy_holder(reply->holder, &h);
            snprintf(reply->text, sizeof reply->text, "already held by you");
        } else {
            reply->status = SK_ST_REFUSED;
            copy_holder(reply->holder, &h);
        }
        return 0;
    case SK_OP_RELEASE:
    case SK_OP_RENEW: {
        /* Fencing on release (and renew): a request that names the token of
         * the grant it ends is refused unless that grant is the current one.
         * Without a token the holder's name is enough (request identity
         * still orders one holder's requests: PROTOCOL.md 7.4). */
        uint64_t cur = held && has_t == 1 && t.tag == 'i' ? (uint64_t)t.i : 0;
        if (mine && req->fence != 0 && req->fence != cur) {
            reply->status = SK_ST_NOT_HOLDER;
            copy_holder(reply->holder, &h);
            snprintf(reply->text, sizeof reply->text,
                     "token %llu names an earlier grant; the current grant's token is %llu",
                     (unsigned long long)req->fence, (unsigned long long)cur);
            return 0;
        }
        if (mine) {
            if (req->op == SK_OP_RELEASE) {
                out->len = 0;
                reply->status = SK_ST_RELEASED;
            } else {
                reply->status = SK_ST_GRANTED;
                reply->token = has_t == 1 && t.tag == 'i' ? (uint64_t)t.i : 0;
            }
            copy_holder(reply->holder, &h);
        } else {
            reply->status = SK_ST_NOT_HOLDER;
            if (held) {
                copy_holder(reply->holder, &h);
            }
        }
        return 0;
    }
    default:
        snprintf(ctx->errmsg, SK_ERRMSG_LEN, "unknown operation %u", req->op);
        return SK_EHOOK;
    }
}

/* What a state means, for people: the advisory lock's shape ("free",
 * "held by beaver (token 257)"), else the state itself as JSON, so that a
 * state this default does not know (a semaphore's {holders = {...}}) is
 * never mistaken for a free lock. */
static int default_describe_lock(void *ud, struct sk_hook_ctx *ctx, const uint8_t *state,
                                 size_t len, char *out, size_t cap)
{
    (void)ud;
    if (cap == 0) {
        snprintf(ctx->errmsg, SK_ERRMSG_LEN, "no room for a description");
        return SK_EHOOK;
    }
    if (len == 0) {
        snprintf(out, cap, "free");
        return 0;
    }
    struct sk_value_field h = {0}, t = {0};
    int has_h = sk_value_get(state, len, "holder", &h);
    int has_t = sk_value_get(state, len, "token", &t);
    if (has_h < 0 || has_t < 0) {
        snprintf(ctx->errmsg, SK_ERRMSG_LEN, "lock state is not an sk value table");
        return SK_EHOOK;
    }
    if (has_h == 1 && h.tag == 's' && h.s_len > 0) {
        int n = h.s_len > SK_HOLDER_MAX ? SK_HOLDER_MAX : (int)h.s_len;
        if (has_t == 1 && t.tag == 'i') {
            snprintf(out, cap, "held by %.*s (token %lld)", n, (const char *)h.s,
                     (long long)t.i);
        } else {
            snprintf(out, cap, "held by %.*s", n, (const char *)h.s);
        }
        return 0;
    }
    static const char lead[] = "state ";
    snprintf(out, cap, "%s", lead);
    size_t used = strlen(out);
    if (sk_value_json_text(state, len, out + used, cap - used) == SK_ENOSPACE && cap > 8) {
        snprintf(out + cap - 4, 4, "...");
    }
    return 0;
}

/* Make a description one line of text: control characters become spaces,
 * and a UTF-8 sequence cut at the end by a length limit is dropped. */
static void tidy(char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            s[i] = ' ';
        }
    }
    size_t k = n;
    while (k > 0 && n - k < 4 && ((unsigned char)s[k - 1] & 0xc0) == 0x80) {
        k--;
    }
    if (k > 0 && (unsigned char)s[k - 1] >= 0xc0) {
        unsigned char lead = (unsigned char)s[k - 1];
        size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
        if (n - (k - 1) < want) {
            s[k - 1] = 0;
        }
    }
}

int sk_describe(const struct sk_strategy *st, struct sk_hook_ctx *ctx, const uint8_t *v,
                size_t len, char *out, size_t cap)
{
    if (cap == 0) {
        return SK_EINVAL;
    }
    out[0] = 0;
    const uint8_t *state = NULL;
    size_t sl = 0;
    char why[SK_ERRMSG_LEN];
    if (len > 0 && sk_value_state(v, len, &state, &sl) != 0) {
        snprintf(out, cap, "unreadable value: not a register value");
        return SK_EFRAME;
    }
    if (sk_value_check(state, sl, why, sizeof why) != 0) {
        snprintf(out, cap, "unreadable value: %s", why);
        tidy(out);
        return SK_EFRAME;
    }
    ctx->errmsg[0] = 0;
    int rv = st != NULL && st->describe_lock != NULL
                 ? st->describe_lock(st->ud, ctx, state, sl, out, cap)
                 : default_describe_lock(NULL, ctx, state, sl, out, cap);
    if (rv != 0) {
        snprintf(why, sizeof why, "%s", ctx->errmsg[0] ? ctx->errmsg : "no reason given");
        default_describe_lock(NULL, ctx, state, sl, out, cap);
        size_t used = strlen(out);
        snprintf(out + used, cap - used, " (describe failed: %s)", why);
        rv = SK_EHOOK;
    }
    tidy(out);
    return rv;
}

const struct sk_strategy sk_strategy_default = {
    NULL,
    default_next_ballot,
    default_enough,
    default_pick_value,
    default_skip_phase1,
    default_thrifty,
    default_backoff,
    default_apply_lock,
    default_describe_lock,
};
