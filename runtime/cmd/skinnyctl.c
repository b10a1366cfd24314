/* skinnyctl - talk to a Skinny cluster: acquire, release, renew, status,
 * control.
 *
 * Plain blocking sockets with poll() deadlines (skclient.c); no libuv. A
 * lock request goes to the first instance of the cluster; when one cannot
 * be reached, does not answer in time, or answers that it does not know the
 * outcome (unavailable, contended), the same request (same client id and
 * seq, so it takes effect at most once) goes to the next (failover), all
 * within --timeout. The cluster comes from --cluster, a --quorum file, a
 * lab's run directory (--lab DIR), $SKINNY_CLUSTER, or ./.lab/cluster, in
 * that order. Exit codes (spec/DAEMON.md):
 *   0  done: granted, released, status read, control applied
 *   1  refused: the lock is held by someone else, or release by a non-holder
 *   2  outcome unknown: no instance answered, no majority, contended, stale
 *   3  error: an instance answered with an error (a failing script, a bad request)
 *   4  queued: the acquire waits in the lock's queue (without --wait)
 *  64  usage
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/skclient.h"
#include "net/control.h"
#include "sk.h"

enum { CTL_OK = 0, CTL_REFUSED = 1, CTL_UNAVAILABLE = 2, CTL_ERROR = 3, CTL_QUEUED = 4,
       CTL_USAGE = 64 };

/* --wait: ask again this often whether a queued acquire's turn came */
#define WAIT_POLL_MS 250

#define MAX_ADDRS 32

struct ctl {
    char *addrs[MAX_ADDRS];
    int n_addrs;
    uint64_t timeout_ms;
    bool json;
    const char *lock;
    uint32_t ttl_ms;
    uint64_t seq;        /* control and status requests */
    const char *ttl_arg; /* --ttl as given */
    uint64_t fence;      /* --token: release/renew of that grant; 0: none */
    int last_status;     /* the answer request() printed (-1: none) */
    bool waiting;        /* --wait, after the first queued answer */
    uint64_t last_place; /* the place the last queued answer gave */
    bool shared;         /* --shared: an acquire asking for a shared hold (a reader's) */
};

static struct skc_conn g_conn; /* 32 KiB: not on the stack */

/* Keys (spec/DAEMON.md, "Authentication"): the client key (--key,
 * $SKINNY_KEY) for lock and status requests, the cluster key
 * (--cluster-key, $SKINNY_CLUSTER_KEY, or the lab's DIR/cluster.key) for
 * control. Without one, requests go unauthenticated. */
static uint8_t g_key[SK_AUTH_KEY_BYTES], g_ckey[SK_AUTH_KEY_BYTES];
static bool g_has_key, g_has_ckey;

/* Dial addr and authenticate as the request's type needs. 0, or -1 (why). */
static int ctl_dial(const char *addr, int type, uint64_t deadline, char *why, size_t wl)
{
    if (skc_dial(&g_conn, addr, deadline, why, wl) != 0) {
        return -1;
    }
    int rv = 0;
    if (type == SK_MSG_CONTROL && g_has_ckey) {
        rv = skc_auth(&g_conn, g_ckey, SK_AUTH_CONTROL, deadline, why, wl);
    } else if (type != SK_MSG_CONTROL && g_has_key) {
        rv = skc_auth(&g_conn, g_key, SK_AUTH_CLIENT, deadline, why, wl);
    }
    if (rv != 0) {
        size_t k = strlen(why);
        snprintf(why + k, wl - k, " (%s)",
                 type == SK_MSG_CONTROL ? "check --cluster-key" : "check --key");
        skc_close(&g_conn);
        return -1;
    }
    return 0;
}

static int put_file(void *ud, const void *p, size_t n)
{
    return fwrite(p, 1, n, ud) == n ? 0 : SK_EIO;
}

/* ,"key":"escaped" (sk_json_string: valid JSON whatever the bytes) */
static void json_str(FILE *f, const char *key, const void *s, size_t n, bool comma)
{
    fprintf(f, "%s\"%s\":", comma ? "," : "", key);
    sk_json_string(s, n, put_file, f);
}

/* ------------------------------------------------------------ requests */

static int exit_for(int status)
{
    switch (status) {
    case SK_ST_GRANTED:
    case SK_ST_RELEASED: return CTL_OK;
    case SK_ST_REFUSED:
    case SK_ST_NOT_HOLDER: return CTL_REFUSED;
    case SK_ST_CONTENDED:
    case SK_ST_UNAVAILABLE:
    case SK_ST_STALE: return CTL_UNAVAILABLE;
    case SK_ST_QUEUED: return CTL_QUEUED;
    default: return CTL_ERROR;
    }
}

/* Failover (spec/DAEMON.md, "Request identity and failover"; the lab's
 * clients follow the same rule): a pause between two rounds over the
 * instances. */
enum { ROUND_PAUSE_MS = 100 };

/* The deadline of one attempt within the command's: an instance that does
 * not answer may use half of what is left (at least 250 ms, or all that is
 * left) while others remain to try in this round, the last one all of it. */
static uint64_t attempt_deadline(uint64_t overall, bool more)
{
    uint64_t now = skc_now_ms();
    if (now >= overall) {
        return now;
    }
    uint64_t left = overall - now;
    if (!more) {
        return overall;
    }
    uint64_t half = left / 2;
    return now + (half < 250 ? (left < 250 ? left : 250) : half);
}

static void print_reply(struct ctl *c, const struct sk_msg *req, const struct sk_msg *m,
                        const char *addr, const char *what, int code)
{
    if (m->status == SK_ST_QUEUED && c->waiting && (c->json || m->token == c->last_place)) {
        return; /* still waiting, nothing new */
    }
    if (m->status == SK_ST_QUEUED) {
        c->last_place = m->token;
    }
    if (c->json) {
        printf("{\"op\":\"%s\",\"status\":\"%s\"", what, sk_status_name(m->status));
        json_str(stdout, "instance", addr, strlen(addr), true);
        if (m->key_len) json_str(stdout, "lock", m->key, m->key_len, true);
        if (m->holder_len) json_str(stdout, "holder", m->holder, m->holder_len, true);
        if (m->token) {
            printf(",\"%s\":%" PRIu64, m->status == SK_ST_QUEUED ? "position" : "token", m->token);
        }
        if (m->phase == 1) printf(",\"waited\":true");
        if (req->ttl_ms && req->type == SK_MSG_CLIENT_REQ) printf(",\"ttl_ms\":%u", req->ttl_ms);
        if (req->type == SK_MSG_CLIENT_REQ) {
            printf(",\"client\":\"%016" PRIx64 "\",\"seq\":%" PRIu64, req->client, req->seq);
            if (req->token) printf(",\"fence\":%" PRIu64, req->token);
            if (req->op == SK_OP_ACQUIRE_SHARED) printf(",\"shared\":true");
        }
        if (m->text_len) json_str(stdout, "text", m->text, m->text_len, true);
        printf(",\"exit\":%d}\n", code);
        return;
    }
    const char *lk = c->lock;
    switch (m->status) {
    case SK_ST_GRANTED:
        if (req->type == SK_MSG_CONTROL) {
            printf("%s: %.*s\n", addr, (int)m->text_len, (const char *)m->text);
        } else {
            printf("%s: %.*s holds \"%s\"%s (fencing token %" PRIu64 ")",
                   req->op == SK_OP_RENEW ? "renewed" : "granted", (int)req->holder_len,
                   (const char *)req->holder, lk, req->op == SK_OP_ACQUIRE_SHARED ? " shared" : "",
                   m->token);
            if (req->ttl_ms) {
                printf(" for %u ms", req->ttl_ms);
            }
            if (m->text_len) {
                printf("; %.*s", (int)m->text_len, (const char *)m->text);
            }
            printf("\n");
        }
        break;
    case SK_ST_RELEASED:
        if (m->text_len) {
            printf("released: %.*s\n", (int)m->text_len, (const char *)m->text);
        } else {
            printf("released: \"%s\" is free\n", lk);
        }
        break;
    case SK_ST_QUEUED:
        printf("queued: %.*s waits for \"%s\" at place %" PRIu64 "%s%.*s\n", (int)req->holder_len,
               (const char *)req->holder, lk, m->token, m->holder_len ? ", held by " : "",
               (int)m->holder_len, (const char *)m->holder);
        if (!c->waiting) {
            printf("Wait for your turn with --wait, or ask again with this very request:\n"
                   "  skinnyctl --client %016" PRIx64 " --seq %" PRIu64 " acquire %.*s --lock %s\n"
                   "Leave the queue: skinnyctl release %.*s --lock %s\n",
                   req->client, req->seq, (int)req->holder_len, (const char *)req->holder, lk,
                   (int)req->holder_len, (const char *)req->holder, lk);
        }
        break;
    case SK_ST_REFUSED:
        /* the script's reply text, as on a grant ("lease ends in 900 ms") */
        printf("refused: \"%s\"%s%.*s%s%.*s\n", lk, m->holder_len ? " is held by " : "",
               (int)m->holder_len, (const char *)m->holder, m->text_len ? "; " : "",
               (int)m->text_len, (const char *)m->text);
        break;
    case SK_ST_NOT_HOLDER:
        printf("refused: %.*s does not hold \"%s\"%s%.*s%s%.*s\n", (int)req->holder_len,
               (const char *)req->holder, lk, m->holder_len ? "; it is held by " : "",
               (int)m->holder_len, (const char *)m->holder, m->text_len ? "; " : "",
               (int)m->text_len, (const char *)m->text);
        break;
    default:
        printf("%s (from %s): %.*s\n", sk_status_name(m->status), addr, (int)m->text_len,
               (const char *)m->text);
        break;
    }
}

/* An answer after which a lock request is not sent again: definite
 * (granted, refused, released, not_holder), stale (no copy of it can take
 * effect any more) or error. Unavailable and contended are not: the instance
 * does not know whether the request took effect, and the next one may. */
static bool final_answer(int status)
{
    return sk_status_is_settled(status) || status == SK_ST_ERROR || status == SK_ST_QUEUED;
}

/* The lock request was sent and its outcome is not known (every attempt
 * timed out, or the last answer was indefinite or stale): say so, and what
 * to do. Returns CTL_UNAVAILABLE. */
static int outcome_unknown(struct ctl *c, const struct sk_msg *req, const char *what,
                           const char *status, const char *addr, const char *last, int attempts)
{
    bool stale = strcmp(status, "stale") == 0;
    char resend[768] = "";
    if (!stale) { /* resending a stale request can only be stale again */
        int n = snprintf(resend, sizeof resend,
                         "skinnyctl --client %016" PRIx64 " --seq %" PRIu64 " %s %.*s --lock %s",
                         req->client, req->seq, what, (int)req->holder_len,
                         (const char *)req->holder, c->lock);
        if (c->fence != 0 && n > 0 && (size_t)n < sizeof resend) {
            n += snprintf(resend + n, sizeof resend - (size_t)n, " --token %" PRIu64, c->fence);
        }
        if (c->shared && n > 0 && (size_t)n < sizeof resend) {
            n += snprintf(resend + n, sizeof resend - (size_t)n, " --shared");
        }
        if (c->ttl_arg != NULL && req->op != SK_OP_RELEASE && n > 0 && (size_t)n < sizeof resend) {
            snprintf(resend + n, sizeof resend - (size_t)n, " --ttl %s", c->ttl_arg);
        }
    }
    if (c->json) {
        printf("{\"op\":\"%s\",\"status\":\"%s\",\"outcome\":\"unknown\"", what, status);
        if (addr != NULL) json_str(stdout, "instance", addr, strlen(addr), true);
        json_str(stdout, "lock", c->lock, strlen(c->lock), true);
        json_str(stdout, "holder", req->holder, req->holder_len, true);
        printf(",\"client\":\"%016" PRIx64 "\",\"seq\":%" PRIu64 ",\"attempts\":%d",
               req->client, req->seq, attempts);
        if (c->fence) printf(",\"fence\":%" PRIu64, c->fence);
        if (c->shared) printf(",\"shared\":true");
        json_str(stdout, "text", last, strlen(last), true);
        char check[SK_KEY_MAX + 64];
        snprintf(check, sizeof check, "skinnyctl status --lock %s", c->lock);
        json_str(stdout, "check", check, strlen(check), true);
        if (resend[0]) json_str(stdout, "resend", resend, strlen(resend), true);
        printf(",\"exit\":%d}\n", CTL_UNAVAILABLE);
        return CTL_UNAVAILABLE;
    }
    printf("outcome unknown: the %s of \"%s\" by %.*s may or may not have taken effect\n"
           "  (last: %s)\n"
           "Check with `skinnyctl status --lock %s`, then retry%s\n",
           what, c->lock, (int)req->holder_len, (const char *)req->holder, last, c->lock,
           stale ? " with a new request (this one is stale: it changed nothing, and no copy of "
                   "it ever will)."
                 : ".");
    if (resend[0]) {
        printf("Or, before %.*s sends anything else, resend this very request (it takes effect "
               "at most once):\n  %s\n",
               (int)req->holder_len, (const char *)req->holder, resend);
    }
    return CTL_UNAVAILABLE;
}

/* One request/reply with failover over the cluster (only >= 0: just that
 * instance), all within c->timeout_ms. A lock request keeps its identity
 * (client, seq) on every instance it is sent to. */
static int request(struct ctl *c, struct sk_msg *req, int only, const char *what)
{
    char why[256] = "";
    char last[768] = "no instances given";
    bool lock_req = req->type == SK_MSG_CLIENT_REQ;
    const char *last_status = "unavailable", *last_addr = NULL;
    int attempts = 0;
    uint64_t overall = skc_now_ms() + c->timeout_ms;
    int round = 1;
    for (int i = 0;; i++) {
        if (i == c->n_addrs) {
            /* a lock request that every instance left unsettled goes round
             * again ROUND_PAUSE_MS later, if that is before the deadline */
            uint64_t at = skc_now_ms() + ROUND_PAUSE_MS;
            if (!lock_req || only >= 0 || at >= overall) {
                break;
            }
            round++;
            if (!c->json) {
                fprintf(stderr, "skinnyctl: no instance settled it; sending it again from the "
                                "first in %d ms (round %d)\n",
                        ROUND_PAUSE_MS, round);
            }
            uint64_t now;
            while ((now = skc_now_ms()) < at) {
                poll(NULL, 0, (int)(at - now));
            }
            i = 0;
        }
        if (only >= 0 && i != only) {
            continue;
        }
        const char *addr = c->addrs[i];
        bool more = only < 0 && i + 1 < c->n_addrs;
        if (skc_now_ms() >= overall) {
            snprintf(last + strlen(last), sizeof last - strlen(last),
                     "; %s: not tried, the %" PRIu64 " ms timeout ran out", addr, c->timeout_ms);
            break;
        }
        uint64_t deadline = attempt_deadline(overall, more);
        struct sk_msg m;
        int rv = -1;
        bool sent = false;
        if (ctl_dial(addr, req->type, deadline, why, sizeof why) == 0) {
            if (!lock_req) {
                req->seq = ++c->seq; /* a lock request keeps its identity on every instance */
            }
            attempts++;
            sent = true;
            rv = skc_call(&g_conn, req, &m, deadline, why, sizeof why);
        }
        if (rv != 1) {
            skc_close(&g_conn);
            snprintf(last, sizeof last, "%s: %s", addr, why);
            if (sent || attempts > 0) { /* no answer; or down, after a copy left */
                last_status = sent ? "timeout" : "down";
                last_addr = addr;
            }
            if (!c->json) {
                const char *next = "";
                if (more) {
                    next = lock_req && sent ? "; sending the same request to the next instance"
                                            : "; trying the next instance";
                }
                fprintf(stderr, "skinnyctl: %s%s\n", last, next);
            }
            continue;
        }
        int code = exit_for(m.status);
        if (lock_req && !final_answer(m.status)) {
            snprintf(last, sizeof last, "%s answered %s: %.*s", addr, sk_status_name(m.status),
                     (int)m.text_len, (const char *)m.text);
            last_status = sk_status_name(m.status);
            last_addr = addr;
            skc_close(&g_conn);
            if (more && !c->json) {
                fprintf(stderr, "skinnyctl: %s; sending the same request to the next instance\n",
                        last);
            }
            continue;
        }
        if (lock_req && m.status == SK_ST_STALE) {
            c->last_status = SK_ST_STALE;
            snprintf(last, sizeof last, "%s: %.*s", addr, (int)m.text_len, (const char *)m.text);
            skc_close(&g_conn);
            return outcome_unknown(c, req, what, "stale", addr, last, attempts);
        }
        c->last_status = m.status;
        print_reply(c, req, &m, addr, what, code);
        skc_close(&g_conn);
        return code;
    }
    if (lock_req && attempts > 0) {
        return outcome_unknown(c, req, what, last_status, last_addr, last, attempts);
    }
    if (c->json) {
        printf("{\"op\":\"%s\",\"status\":\"unavailable\"", what);
        json_str(stdout, "text", last, strlen(last), true);
        printf(",\"exit\":%d}\n", CTL_UNAVAILABLE);
    } else {
        fprintf(stderr, "skinnyctl: unavailable: no instance answered within %" PRIu64
                        " ms (last: %s)%s\n",
                c->timeout_ms, last,
                lock_req ? "; nothing was sent, so nothing took effect" : "");
    }
    return CTL_UNAVAILABLE;
}

/* ------------------------------------------------------------- waiting */

static volatile sig_atomic_t g_stop; /* ctrl-c or SIGTERM while waiting */

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* acquire --wait: send the acquire; while it is queued, ask again with the
 * same request (same client and seq: PROTOCOL.md 7.4, "Waiting") every
 * WAIT_POLL_MS until it is granted or refused. With --timeout, give up after
 * that long in all (each ask gets at most 3 s); without, wait until ctrl-c.
 * Giving up leaves the queue: a release, a new request. */
static int acquire_waiting(struct ctl *c, struct sk_msg *req, bool bounded)
{
    uint64_t start = skc_now_ms();
    uint64_t end = bounded ? start + c->timeout_ms : UINT64_MAX;
    uint64_t per_ask = 3000;
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    c->waiting = true;
    int rv;
    for (;;) {
        uint64_t now = skc_now_ms();
        c->timeout_ms = end - now < per_ask ? (end > now ? end - now : 1) : per_ask;
        c->last_status = -1;
        rv = request(c, req, -1, "acquire");
        bool queued = c->last_status == SK_ST_QUEUED;
        bool unsettled = c->last_status == -1; /* outcome unknown: may still be queued */
        if (!queued && !unsettled) {
            return rv;
        }
        if (unsettled && c->last_place == 0) {
            return rv; /* never heard it queued: nothing to wait for */
        }
        uint64_t next = skc_now_ms() + WAIT_POLL_MS;
        while (!g_stop && skc_now_ms() < next && skc_now_ms() < end) {
            poll(NULL, 0, 50);
        }
        if (g_stop || skc_now_ms() >= end) {
            break;
        }
    }
    /* give up: leave the queue (or give the lock back, if the turn came meanwhile) */
    if (!c->json) {
        printf("gave up waiting after %" PRIu64 " ms%s; leaving the queue\n",
               skc_now_ms() - start, g_stop ? " (interrupted)" : "");
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    c->waiting = false;
    struct sk_msg rel = *req;
    uint64_t last = req->seq;
    rel.op = SK_OP_RELEASE;
    rel.ttl_ms = 0;
    rel.seq = skc_next_seq(&last); /* above the acquire's: a newer request of the holder */
    c->timeout_ms = per_ask;
    c->last_status = -1;
    int r2 = request(c, &rel, -1, "release");
    return r2 == CTL_OK ? CTL_REFUSED : r2;
}

/* -------------------------------------------------------------- status */

struct row {
    char lock[SK_KEY_MAX + 1];
    char promised[48], accepted[48];
    char holder[SK_HOLDER_MAX + 1];
    uint64_t token;
    char describe[SK_DESCRIBE_MAX]; /* what the state means: the lock script's describe */
    char *state;                    /* the lock state as JSON (malloc'd), or NULL */
};

struct inst {
    char name[64];
    bool reachable;
    char why[256];
    uint64_t seen_ms; /* last answer; 0: never */
    struct row *rows;
    size_t n, cap;
};

static void fmt_ballot(char *out, size_t len, struct sk_ballot b)
{
    if (sk_ballot_is_zero(b)) {
        snprintf(out, len, "-");
    } else {
        sk_ballot_str(b, out, len);
    }
}

/* The lock state inside register value v as JSON text (malloc'd), or NULL
 * when v is not a register value (the "state" key is then left out). */
static char *state_json(const uint8_t *v, size_t len)
{
    const uint8_t *st = NULL;
    size_t sl = 0;
    if (len > 0 && sk_value_state(v, len, &st, &sl) != 0) {
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    if (m == NULL) {
        return NULL;
    }
    int rv = sk_value_json(st, sl, put_file, m);
    fclose(m);
    if (rv != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Ask every instance for its registers; an instance that does not answer
 * keeps its last rows (and its LAST SEEN). */
static void poll_status(struct ctl *c, struct inst *in)
{
    for (int i = 0; i < c->n_addrs; i++) {
        const char *addr = c->addrs[i];
        struct inst *s = &in[i];
        uint64_t deadline = skc_now_ms() + c->timeout_ms;
        struct sk_msg req = {0};
        req.type = SK_MSG_STATUS_REQ;
        req.seq = ++c->seq;
        if (c->lock != NULL && strcmp(c->lock, "*") != 0) {
            req.key = (const uint8_t *)c->lock;
            req.key_len = (uint32_t)strlen(c->lock);
        }
        s->reachable = false;
        if (ctl_dial(addr, req.type, deadline, s->why, sizeof s->why) != 0) {
            continue;
        }
        if (skc_send(&g_conn, &req, deadline, s->why, sizeof s->why) != 0) {
            skc_close(&g_conn);
            continue;
        }
        size_t n = 0;
        for (;;) {
            struct sk_msg m;
            int rv = skc_recv(&g_conn, &m, deadline, s->why, sizeof s->why);
            if (rv <= 0) {
                break;
            }
            if (m.type == SK_MSG_CLIENT_REPLY && m.seq == req.seq && m.status == SK_ST_ERROR) {
                /* refused, e.g. "this instance requires a client key" */
                snprintf(s->why, sizeof s->why, "%.*s", (int)m.text_len, (const char *)m.text);
                break;
            }
            if (m.type != SK_MSG_STATUS_REPLY || m.seq != req.seq) {
                continue;
            }
            if (m.status == SK_STATUS_END) {
                /* the closing frame's text is the instance's name */
                snprintf(s->name, sizeof s->name, "%.*s", (int)m.text_len, (const char *)m.text);
                s->reachable = true;
                break;
            }
            if (n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 16;
                struct row *r = realloc(s->rows, cap * sizeof *r);
                if (r == NULL) {
                    snprintf(s->why, sizeof s->why, "out of memory");
                    break;
                }
                memset(r + s->cap, 0, (cap - s->cap) * sizeof *r);
                s->rows = r;
                s->cap = cap;
            }
            struct row *r = &s->rows[n++];
            snprintf(r->lock, sizeof r->lock, "%.*s", (int)m.key_len, (const char *)m.key);
            fmt_ballot(r->promised, sizeof r->promised, m.ballot);
            fmt_ballot(r->accepted, sizeof r->accepted, m.other);
            snprintf(r->holder, sizeof r->holder, "%.*s", (int)m.holder_len,
                     (const char *)m.holder);
            r->token = m.token;
            /* a row's text: what the state means (spec/PROTOCOL.md 4) */
            snprintf(r->describe, sizeof r->describe, "%.*s", (int)m.text_len,
                     (const char *)m.text);
            free(r->state);
            r->state = state_json(m.value, m.value_len);
        }
        skc_close(&g_conn);
        if (s->reachable) {
            s->n = n;
            s->seen_ms = skc_now_ms();
        } else if (s->why[0] == 0) {
            snprintf(s->why, sizeof s->why, "incomplete status answer");
        }
    }
}

static void seen_text(char *out, size_t cap, const struct inst *s)
{
    if (s->reachable) {
        snprintf(out, cap, "now");
    } else if (s->seen_ms == 0) {
        snprintf(out, cap, "never: %s", s->why);
    } else {
        uint64_t ago = skc_now_ms() - s->seen_ms;
        snprintf(out, cap, "%" PRIu64 ".%" PRIu64 "s ago: %s", ago / 1000, ago % 1000 / 100,
                 s->why);
    }
}

/* The table, each line ending in eol ("\n", or clear-to-end-of-line and
 * "\n" when redrawing in place). */
static void render_table(FILE *f, struct ctl *c, const struct inst *in, const char *eol)
{
    /* DESCRIPTION last: it is as long as the lock script makes it */
    fprintf(f, "%-12s %-16s %-12s %-12s %-9s %s%s", "NAME", "LOCK", "PROMISED", "ACCEPTED",
            "LAST SEEN", "DESCRIPTION", eol);
    for (int i = 0; i < c->n_addrs; i++) {
        const struct inst *s = &in[i];
        char seen[320];
        seen_text(seen, sizeof seen, s);
        const char *name = s->name[0] ? s->name : c->addrs[i];
        if (s->n == 0 || (!s->reachable && s->seen_ms == 0)) {
            fprintf(f, "%-12s %-16s %-12s %-12s %-9s %s%s", name,
                    s->reachable || s->seen_ms ? "(none)" : "?", "-", "-", seen, "-", eol);
            continue;
        }
        for (size_t k = 0; k < s->n; k++) {
            const struct row *r = &s->rows[k];
            fprintf(f, "%-12s %-16s %-12s %-12s %-9s %s%s", name, r->lock, r->promised,
                    r->accepted, seen, r->describe, eol);
        }
    }
}

static void render_json(FILE *f, struct ctl *c, const struct inst *in)
{
    bool first = true;
    fprintf(f, "[");
    for (int i = 0; i < c->n_addrs; i++) {
        const struct inst *s = &in[i];
        const char *addr = c->addrs[i];
        if (!s->reachable) {
            fprintf(f, "%s{", first ? "" : ",");
            first = false;
            json_str(f, "address", addr, strlen(addr), false);
            if (s->name[0]) json_str(f, "name", s->name, strlen(s->name), true);
            fprintf(f, ",\"reachable\":false");
            json_str(f, "error", s->why, strlen(s->why), true);
            fprintf(f, "}");
            continue;
        }
        for (size_t k = 0; k < s->n; k++) {
            const struct row *r = &s->rows[k];
            fprintf(f, "%s{", first ? "" : ",");
            first = false;
            json_str(f, "name", s->name, strlen(s->name), false);
            json_str(f, "address", addr, strlen(addr), true);
            json_str(f, "lock", r->lock, strlen(r->lock), true);
            fprintf(f, ",\"promised\":\"%s\",\"accepted\":\"%s\"", r->promised, r->accepted);
            if (r->holder[0]) json_str(f, "holder", r->holder, strlen(r->holder), true);
            if (r->token) fprintf(f, ",\"token\":%" PRIu64, r->token);
            json_str(f, "describe", r->describe, strlen(r->describe), true);
            if (r->state != NULL) fprintf(f, ",\"state\":%s", r->state);
            fprintf(f, ",\"reachable\":true}");
        }
    }
    fprintf(f, "]\n");
}

static volatile sig_atomic_t g_stop;

static void on_sigint(int s)
{
    (void)s;
    g_stop = 1;
}

static int status(struct ctl *c, bool watch)
{
    struct inst *in = calloc((size_t)c->n_addrs, sizeof *in);
    if (in == NULL) {
        fprintf(stderr, "skinnyctl: out of memory\n");
        return CTL_ERROR;
    }
    int code = CTL_OK;
    if (!watch) {
        poll_status(c, in);
        if (c->json) {
            render_json(stdout, c, in);
        } else {
            render_table(stdout, c, in, "\n");
        }
        int up = 0;
        for (int i = 0; i < c->n_addrs; i++) {
            up += in[i].reachable;
        }
        code = up > 0 ? CTL_OK : CTL_UNAVAILABLE;
    } else {
        struct sigaction sa = {0};
        sa.sa_handler = on_sigint;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        bool tty = isatty(STDOUT_FILENO) && !c->json;
        if (tty) {
            fputs("\033[H\033[2J", stdout); /* once; then redraw in place */
        }
        while (!g_stop) {
            uint64_t next = skc_now_ms() + 500;
            poll_status(c, in);
            char *buf = NULL;
            size_t len = 0;
            FILE *m = open_memstream(&buf, &len);
            if (m == NULL) {
                code = CTL_ERROR;
                break;
            }
            if (c->json) {
                render_json(m, c, in);
            } else {
                /* cursor home; each line clears its own tail; then clear
                 * what a longer previous frame left below */
                if (tty) fputs("\033[H", m);
                render_table(m, c, in, tty ? "\033[K\n" : "\n");
                if (tty) {
                    fputs("(every 500 ms; ctrl-c to stop)\033[K\n\033[J", m);
                } else {
                    fputs("\n", m);
                }
            }
            fclose(m);
            fwrite(buf, 1, len, stdout); /* one write per frame: no flicker */
            fflush(stdout);
            free(buf);
            uint64_t now;
            while (!g_stop && (now = skc_now_ms()) < next) {
                poll(NULL, 0, (int)(next - now));
            }
        }
    }
    for (int i = 0; i < c->n_addrs; i++) {
        for (size_t k = 0; k < in[i].cap; k++) {
            free(in[i].rows[k].state);
        }
        free(in[i].rows);
    }
    free(in);
    return code;
}

/* ------------------------------------------------------ where's the cluster */

static char *read_all(const char *file, char *err, size_t errlen)
{
    FILE *f = fopen(file, "r");
    if (f == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", file, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 1024 > cap) {
            cap = cap ? cap * 2 : 4096;
            char *t = realloc(buf, cap);
            if (t == NULL) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "out of memory");
                return NULL;
            }
            buf = t;
        }
        size_t r = fread(buf + len, 1, cap - len - 1, f);
        len += r;
        if (r == 0) {
            break;
        }
    }
    fclose(f);
    buf[len] = 0;
    return buf;
}

/* A cluster file: addresses separated by commas, spaces or newlines;
 * '#' starts a comment. Returns a comma-joined list (owned). */
static char *cluster_file(const char *file, char *err, size_t errlen)
{
    char *text = read_all(file, err, errlen);
    if (text == NULL) {
        return NULL;
    }
    char *out = calloc(1, strlen(text) + 2);
    if (out == NULL) {
        free(text);
        return NULL;
    }
    bool comment = false;
    for (char *p = text; *p; p++) {
        if (*p == '#') comment = true;
        if (*p == '\n') comment = false;
        if (comment || *p == '\r') continue;
        if (*p == ' ' || *p == '\t' || *p == '\n') *p = ',';
        strncat(out, p, 1);
    }
    free(text);
    if (strspn(out, ",") == strlen(out)) {
        snprintf(err, errlen, "%s names no instance (expected host:port,host:port,...)", file);
        free(out);
        return NULL;
    }
    return out;
}

/* A quorum file: a JSON list of "host:port" strings. */
static char *quorum_file(const char *file, char *err, size_t errlen)
{
    char *text = read_all(file, err, errlen);
    if (text == NULL) {
        return NULL;
    }
    char *out = calloc(1, strlen(text) + 2);
    const char *p = text + strspn(text, " \t\r\n");
    const char *form = "expected a JSON list of \"host:port\" strings, e.g. "
                       "[\"10.0.0.1:7000\", \"10.0.0.2:7000\", \"10.0.0.3:7000\"]";
    int n = 0;
    if (out == NULL || *p++ != '[') {
        goto bad;
    }
    for (;;) {
        p += strspn(p, " \t\r\n");
        if (*p == ']' && n == 0) {
            break;
        }
        if (*p != '"') {
            goto bad;
        }
        const char *e = strchr(p + 1, '"');
        if (e == NULL || e == p + 1 || memchr(p + 1, ',', (size_t)(e - p - 1)) != NULL) {
            goto bad;
        }
        if (n++) {
            strcat(out, ",");
        }
        strncat(out, p + 1, (size_t)(e - p - 1));
        p = e + 1 + strspn(e + 1, " \t\r\n");
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == ']') {
            break;
        }
        goto bad;
    }
    p++;
    p += strspn(p, " \t\r\n");
    if (*p != 0 || n == 0) {
        goto bad;
    }
    free(text);
    return out;
bad:
    snprintf(err, errlen, "%s: %s", file, form);
    free(text);
    free(out);
    return NULL;
}

/* Index of the instance named or numbered by s (1-based), or -1. Names are
 * learnt by pinging: the answer's text is the instance's name. */
static int instance_index(struct ctl *c, const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end == 0 && end != s) {
        return v >= 1 && v <= c->n_addrs ? (int)v - 1 : -1;
    }
    for (int i = 0; i < c->n_addrs; i++) {
        if (strcmp(c->addrs[i], s) == 0) {
            return i;
        }
        char name[SK_TEXT_MAX + 64];
        uint64_t t = c->timeout_ms < 1000 ? c->timeout_ms : 1000;
        int st = skc_control_keyed(c->addrs[i], g_has_ckey ? g_ckey : NULL, SK_CTL_PING, NULL, 0,
                                   t, name, sizeof name);
        if (st == SK_ST_GRANTED && strcmp(name, s) == 0) {
            return i;
        }
        if (st >= 0 && st != SK_ST_GRANTED) {
            fprintf(stderr, "skinnyctl: %s: %s\n", c->addrs[i], name);
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: skinnyctl [--cluster HOST:PORT,... | --quorum FILE | --lab DIR]\n"
            "                 [--timeout DURATION] [--json] [--client HEX16 [--seq N]]\n"
            "                 [--key FILE] [--cluster-key FILE] COMMAND\n"
            "commands:\n"
            "  acquire HOLDER [--lock NAME] [--ttl DURATION] [--shared] [--wait]\n"
            "                                            take the lock (default \"lock\");\n"
            "                                            --shared: as a reader (a shared\n"
            "                                            hold, for a lock script that has\n"
            "                                            them, e.g. rwlock; others treat it\n"
            "                                            as a plain acquire); --wait: if the\n"
            "                                            lock queues it, wait for the turn\n"
            "                                            (--timeout then bounds the wait; none:\n"
            "                                            until ctrl-c, which leaves the queue)\n"
            "  release HOLDER [--lock NAME] [--token N]  give it back (--token: only if the\n"
            "                                            grant with that fencing token holds)\n"
            "  renew HOLDER [--lock NAME] [--ttl DURATION] [--token N]\n"
            "                                            extend the holder's lease\n"
            "  status [--lock NAME] [--watch]            every instance's registers: NAME,\n"
            "                                            LOCK, PROMISED, ACCEPTED, LAST SEEN,\n"
            "                                            DESCRIPTION (the lock script's\n"
            "                                            describe); --json adds holder, token\n"
            "                                            and the state; --watch redraws\n"
            "                                            every 500 ms until ctrl-c\n"
            "  reload [INSTANCE]                         reload scripts (all, or one)\n"
            "  drop INSTANCE PEER | delay INSTANCE PEER DURATION | heal [INSTANCE]\n"
            "                                            fault injection at INSTANCE; PEER is\n"
            "                                            a name or \"*\"\n"
            "  ping [INSTANCE]\n"
            "INSTANCE is a name (catbus), an address, or a 1-based position in the cluster.\n"
            "DURATION: 250ms, 10s, 2m; a bare number is milliseconds.\n"
            "The cluster comes from --cluster, --quorum (a JSON list of \"host:port\"),\n"
            "--lab DIR (DIR/cluster), $SKINNY_CLUSTER, or ./.lab/cluster, in that order.\n"
            "Keys (files made by `skinnyd --keygen`): --key FILE ($SKINNY_KEY) is the\n"
            "client key, for acquire, release, renew and status when the instances\n"
            "require one; --cluster-key FILE ($SKINNY_CLUSTER_KEY) is the cluster key,\n"
            "for reload, drop, delay, heal and ping (a lab's RUNDIR/cluster.key is\n"
            "used when the cluster comes from its directory).\n"
            "--timeout (default 3s) bounds the whole command, failover included: an\n"
            "instance that does not answer, or answers unavailable or contended, is\n"
            "sent the same request again at the next one (same --client and --seq, so\n"
            "it takes effect at most once; both are random/clock-based unless given).\n"
            "Exit codes: 0 done, 1 refused (or gave up waiting and left the queue),\n"
            "2 outcome unknown (unavailable, contended, stale, no answer), 3 error,\n"
            "4 queued (waits in the lock's queue; without --wait), 64 usage.\n");
}

static int64_t duration_arg(const char *flag, const char *v, int64_t max)
{
    int64_t d = skc_parse_duration(v);
    if (d < 0 || d > max) {
        fprintf(stderr, "skinnyctl: %s expects a duration like 500ms or 10s (at most %" PRId64
                        " ms), not \"%s\"\n",
                flag, max, v);
        exit(CTL_USAGE);
    }
    return d;
}

/* A positive decimal 64-bit number (--token, --seq), or exit with a usage
 * error naming the flag. */
static uint64_t u64_arg(const char *flag, const char *v, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end != 0 || errno != 0 || x == 0) {
        fprintf(stderr, "skinnyctl: %s expects %s (a positive whole number), not \"%s\"\n", flag,
                what, v);
        exit(CTL_USAGE);
    }
    return (uint64_t)x;
}

/* --client: exactly 16 hex digits, not all zero. */
static uint64_t client_arg(const char *v)
{
    uint64_t x = 0;
    size_t n = strlen(v);
    bool ok = n == 16;
    for (size_t k = 0; ok && k < n; k++) {
        char ch = v[k];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        ok = d >= 0;
        x = x << 4 | (uint64_t)(d >= 0 ? d : 0);
    }
    if (!ok || x == 0) {
        fprintf(stderr, "skinnyctl: --client expects a client id of exactly 16 hex digits, not "
                        "all zero (e.g. --client 9f86d081884c7d65), not \"%s\"\n",
                v);
        exit(CTL_USAGE);
    }
    return x;
}

int main(int argc, char **argv)
{
    static struct ctl c;
    c.timeout_ms = 3000;
    c.lock = NULL;
    const char *cluster = NULL, *quorum = NULL, *lab = NULL, *keyf = NULL, *ckeyf = NULL;
    const char *pos[8];
    int n_pos = 0;
    bool watch = false, wait = false, timeout_given = false;
    uint64_t client = 0, seq = 0;
    signal(SIGPIPE, SIG_IGN);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--cluster") == 0 && i + 1 < argc) {
            cluster = argv[++i];
        } else if (strcmp(a, "--quorum") == 0 && i + 1 < argc) {
            quorum = argv[++i];
        } else if (strcmp(a, "--lab") == 0 && i + 1 < argc) {
            lab = argv[++i];
        } else if (strcmp(a, "--key") == 0 && i + 1 < argc) {
            keyf = argv[++i];
        } else if (strcmp(a, "--cluster-key") == 0 && i + 1 < argc) {
            ckeyf = argv[++i];
        } else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
            c.timeout_ms = (uint64_t)duration_arg(a, argv[++i], 3600000);
            timeout_given = true;
        } else if (strcmp(a, "--json") == 0) {
            c.json = true;
        } else if (strcmp(a, "--watch") == 0) {
            watch = true;
        } else if (strcmp(a, "--wait") == 0) {
            wait = true;
        } else if (strcmp(a, "--shared") == 0) {
            c.shared = true;
        } else if (strcmp(a, "--lock") == 0 && i + 1 < argc) {
            c.lock = argv[++i];
        } else if (strcmp(a, "--ttl") == 0 && i + 1 < argc) {
            c.ttl_arg = argv[i + 1];
            c.ttl_ms = (uint32_t)duration_arg(a, argv[++i], UINT32_MAX);
        } else if (strcmp(a, "--token") == 0 && i + 1 < argc) {
            c.fence = u64_arg(a, argv[++i], "the fencing token of the grant to end");
        } else if (strcmp(a, "--client") == 0 && i + 1 < argc) {
            client = client_arg(argv[++i]);
        } else if (strcmp(a, "--seq") == 0 && i + 1 < argc) {
            seq = u64_arg(a, argv[++i], "the request's sequence number");
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return CTL_OK;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "skinnyctl: unknown or incomplete option \"%s\"\n", a);
            usage(stderr);
            return CTL_USAGE;
        } else if (n_pos < 8) {
            pos[n_pos++] = a;
        } else {
            fprintf(stderr, "skinnyctl: too many arguments\n");
            return CTL_USAGE;
        }
    }
    if (n_pos == 0) {
        usage(stderr);
        return CTL_USAGE;
    }
    if (c.timeout_ms == 0) {
        fprintf(stderr, "skinnyctl: --timeout must be positive\n");
        return CTL_USAGE;
    }
    char err[1200];
    char *cl = NULL;
    if (cluster != NULL) {
        cl = strdup(cluster);
    } else if (quorum != NULL) {
        cl = quorum_file(quorum, err, sizeof err);
    } else if (lab != NULL) {
        char p[4096];
        snprintf(p, sizeof p, "%s/cluster", lab);
        cl = cluster_file(p, err, sizeof err);
        if (cl == NULL) {
            snprintf(err + strlen(err), sizeof err - strlen(err),
                     " (is a lab up there? `skinny lab up --dir %s`)", lab);
        }
    } else if (getenv("SKINNY_CLUSTER") != NULL && getenv("SKINNY_CLUSTER")[0] != 0) {
        cl = strdup(getenv("SKINNY_CLUSTER"));
    } else if (access(".lab/cluster", F_OK) == 0) {
        cl = cluster_file(".lab/cluster", err, sizeof err);
    } else {
        snprintf(err, sizeof err, "no cluster: give --cluster HOST:PORT,..., --quorum FILE or "
                                  "--lab DIR, set SKINNY_CLUSTER, or start a lab here with "
                                  "`skinny lab up`");
    }
    if (cl == NULL) {
        fprintf(stderr, "skinnyctl: %s\n", err);
        return CTL_USAGE;
    }
    int kr = skc_key_from(keyf, "SKINNY_KEY", "client key", g_key, err, sizeof err);
    if (kr < 0) {
        fprintf(stderr, "skinnyctl: %s\n", err);
        return CTL_USAGE;
    }
    g_has_key = kr == 1;
    kr = skc_key_from(ckeyf, "SKINNY_CLUSTER_KEY", "cluster key", g_ckey, err, sizeof err);
    if (kr == 0 && cluster == NULL && quorum == NULL) {
        /* a lab's own key, next to its cluster file */
        const char *dir = lab != NULL ? lab
                          : (getenv("SKINNY_CLUSTER") == NULL || getenv("SKINNY_CLUSTER")[0] == 0)
                              ? ".lab"
                              : NULL;
        char kp[4096];
        if (dir != NULL) {
            snprintf(kp, sizeof kp, "%s/cluster.key", dir);
            if (access(kp, F_OK) == 0) {
                kr = skc_key_from(kp, NULL, "the lab's cluster key", g_ckey, err, sizeof err);
            }
        }
    }
    if (kr < 0) {
        fprintf(stderr, "skinnyctl: %s\n", err);
        return CTL_USAGE;
    }
    g_has_ckey = kr == 1;
    for (char *tok = strtok(cl, ","); tok && c.n_addrs < MAX_ADDRS; tok = strtok(NULL, ",")) {
        struct sockaddr_storage sa;
        socklen_t sl;
        if (skc_parse_addr(tok, &sa, &sl) != 0) {
            fprintf(stderr, "skinnyctl: bad address \"%s\" in the cluster (expected host:port "
                            "with a numeric IPv4 or [IPv6] host)\n",
                    tok);
            return CTL_USAGE;
        }
        c.addrs[c.n_addrs++] = tok;
    }
    if (c.n_addrs == 0) {
        fprintf(stderr, "skinnyctl: the cluster list is empty\n");
        return CTL_USAGE;
    }
    c.seq = (uint64_t)getpid() << 20;
    const char *cmd = pos[0];
    struct sk_msg req = {0};
    int rv;
    bool lock_cmd = strcmp(cmd, "acquire") == 0 || strcmp(cmd, "release") == 0 ||
                    strcmp(cmd, "renew") == 0;
    if (!lock_cmd && c.shared) {
        fprintf(stderr, "skinnyctl: --shared is for acquire (a reader's acquire), not %s\n", cmd);
        return CTL_USAGE;
    }
    if (!lock_cmd && (c.fence != 0 || client != 0 || seq != 0)) {
        fprintf(stderr, "skinnyctl: --token, --client and --seq are for acquire, release and "
                        "renew, not %s\n",
                cmd);
        return CTL_USAGE;
    }
    if (lock_cmd) {
        if (n_pos != 2) {
            fprintf(stderr, "skinnyctl: %s needs exactly one HOLDER\n", cmd);
            return CTL_USAGE;
        }
        if (c.shared && cmd[0] != 'a') {
            fprintf(stderr, "skinnyctl: --shared is for acquire (a reader's acquire), not %s\n",
                    cmd);
            return CTL_USAGE;
        }
        if (c.fence != 0 && cmd[0] == 'a') {
            fprintf(stderr, "skinnyctl: --token is for release and renew (it names the grant "
                            "they end); an acquire carries no token\n");
            return CTL_USAGE;
        }
        if (seq != 0 && client == 0) {
            fprintf(stderr, "skinnyctl: --seq needs --client: a request is named by both (use "
                            "the pair an earlier `outcome unknown` printed)\n");
            return CTL_USAGE;
        }
        if (c.lock == NULL) {
            c.lock = "lock";
        }
        req.type = SK_MSG_CLIENT_REQ;
        req.op = cmd[0] == 'a'   ? (c.shared ? SK_OP_ACQUIRE_SHARED : SK_OP_ACQUIRE)
                 : cmd[2] == 'l' ? SK_OP_RELEASE
                                 : SK_OP_RENEW;
        req.ttl_ms = req.op != SK_OP_RELEASE ? c.ttl_ms : 0;
        req.token = c.fence;
        req.key = (const uint8_t *)c.lock;
        req.key_len = (uint32_t)strlen(c.lock);
        req.holder = (const uint8_t *)pos[1];
        req.holder_len = (uint32_t)strlen(pos[1]);
        /* the identity: kept on every instance the request goes to */
        req.client = client != 0 ? client : skc_client_id();
        uint64_t last = 0;
        req.seq = seq != 0 ? seq : skc_next_seq(&last);
        if (req.key_len == 0 || req.key_len > SK_KEY_MAX || req.holder_len == 0 ||
            req.holder_len > SK_HOLDER_MAX) {
            fprintf(stderr, "skinnyctl: lock name and holder must be 1..%d bytes\n", SK_KEY_MAX);
            return CTL_USAGE;
        }
        if (wait && !SK_OP_IS_ACQUIRE(req.op)) {
            fprintf(stderr, "skinnyctl: --wait is for acquire (to wait in the lock's queue)\n");
            return CTL_USAGE;
        }
        rv = wait ? acquire_waiting(&c, &req, timeout_given) : request(&c, &req, -1, cmd);
    } else if (strcmp(cmd, "status") == 0) {
        if (n_pos != 1) {
            fprintf(stderr, "skinnyctl: status takes no arguments (use --lock NAME)\n");
            return CTL_USAGE;
        }
        rv = status(&c, watch);
    } else if (strcmp(cmd, "reload") == 0 || strcmp(cmd, "ping") == 0 ||
               strcmp(cmd, "heal") == 0 || strcmp(cmd, "drop") == 0 ||
               strcmp(cmd, "delay") == 0) {
        req.type = SK_MSG_CONTROL;
        int idx = -1;
        if (n_pos >= 2) {
            idx = instance_index(&c, pos[1]);
            if (idx < 0) {
                fprintf(stderr, "skinnyctl: no instance \"%s\": give a name that answers, an "
                                "address, or a position 1..%d\n",
                        pos[1], c.n_addrs);
                return CTL_USAGE;
            }
        }
        if (strcmp(cmd, "reload") == 0) {
            req.op = SK_CTL_RELOAD;
        } else if (strcmp(cmd, "ping") == 0) {
            req.op = SK_CTL_PING;
        } else if (strcmp(cmd, "heal") == 0) {
            req.op = SK_CTL_HEAL;
        } else {
            req.op = cmd[1] == 'r' ? SK_CTL_DROP : SK_CTL_DELAY;
            if (n_pos != (req.op == SK_CTL_DROP ? 3 : 4) || idx < 0) {
                fprintf(stderr, "skinnyctl: usage: drop INSTANCE PEER | delay INSTANCE PEER "
                                "DURATION\n");
                return CTL_USAGE;
            }
            req.key = (const uint8_t *)pos[2];
            req.key_len = (uint32_t)strlen(pos[2]);
            if (req.op == SK_CTL_DELAY) {
                req.ttl_ms = (uint32_t)duration_arg("delay", pos[3], 600000);
            }
        }
        if (idx < 0 && (req.op == SK_CTL_RELOAD || req.op == SK_CTL_HEAL)) {
            rv = CTL_OK;
            for (int i = 0; i < c.n_addrs; i++) {
                int r1 = request(&c, &req, i, cmd);
                rv = r1 > rv ? r1 : rv;
            }
        } else {
            rv = request(&c, &req, idx, cmd);
        }
    } else {
        fprintf(stderr, "skinnyctl: unknown command \"%s\"\n", cmd);
        usage(stderr);
        rv = CTL_USAGE;
    }
    free(cl);
    return rv;
}
