/* trace_fmt.c - the trace's fixed JSON formatter (trace_fmt.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_value.h"
#include "sim/sim.h"
#include "trace_fmt.h"

void skl_trace_put(struct sk_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n + 1) {
            cap *= 2;
        }
        uint8_t *d = realloc(b->data, cap);
        if (d == NULL) {
            fprintf(stderr, "skinny: out of memory for the trace\n");
            abort();
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void skl_trace_printf(struct sk_buf *b, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0) {
        skl_trace_put(b, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    }
}

void skl_trace_str(struct sk_buf *b, const char *key, const void *s, size_t n)
{
    skl_trace_printf(b, ",\"%s\":\"", key);
    const uint8_t *p = s;
    for (size_t i = 0; i < n; i++) {
        char esc[8];
        if (p[i] == '"' || p[i] == '\\') {
            esc[0] = '\\';
            esc[1] = (char)p[i];
            skl_trace_put(b, esc, 2);
        } else if (p[i] < 0x20 || p[i] == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", p[i]);
            skl_trace_put(b, esc, 6);
        } else {
            skl_trace_put(b, &p[i], 1);
        }
    }
    skl_trace_put(b, "\"", 1);
}

void skl_trace_ballot(struct sk_buf *b, const char *key, struct sk_ballot bal)
{
    char buf[SK_BALLOT_STR_MAX];
    skl_trace_printf(b, ",\"%s\":\"%s\"", key, sk_ballot_str(bal, buf, sizeof buf));
}

void skl_trace_value(struct sk_buf *b, const char *key, const uint8_t *v, size_t n)
{
    const uint8_t *st;
    size_t st_len;
    skl_trace_printf(b, ",\"%s\":", key);
    if (sk_value_state(v, n, &st, &st_len) != 0) {
        skl_trace_printf(b, "\"<not a register value>\"");
        return;
    }
    if (skl_value_json(st, st_len, b) != 0) {
        fprintf(stderr, "skinny: out of memory for the trace\n");
        abort();
    }
}

void skl_trace_msg(struct sk_buf *b, uint64_t t, const char *ev, uint64_t msg_id, const char *from,
                   const char *to, const struct sk_msg *m, const char *why)
{
    skl_trace_printf(b, "{\"t\":%" PRIu64 ",\"ev\":\"%s\"", t, ev);
    if (msg_id != 0) {
        skl_trace_printf(b, ",\"id\":%" PRIu64, msg_id);
    }
    skl_trace_printf(b, ",\"from\":\"%s\",\"to\":\"%s\",\"msg\":\"%s\"", from, to,
                     sk_msg_type_name(m->type));
    skl_trace_str(b, "lock", m->key, m->key_len);
    skl_trace_ballot(b, "ballot", m->ballot);
    if (m->type == SK_MSG_PROMISE) {
        skl_trace_ballot(b, "accepted", m->other);
    } else if (m->type == SK_MSG_NAY) {
        skl_trace_ballot(b, "promised", m->other);
        skl_trace_printf(b, ",\"phase\":%u", m->phase);
    } else if ((m->type == SK_MSG_ACCEPT || m->type == SK_MSG_ACCEPTED) &&
               !sk_ballot_is_zero(m->other)) {
        skl_trace_ballot(b, "next", m->other);
    }
    if (strcmp(ev, "send") == 0 && (m->type == SK_MSG_PROMISE || m->type == SK_MSG_ACCEPT)) {
        skl_trace_value(b, "state", m->value, m->value_len);
    }
    if (why != NULL) {
        skl_trace_str(b, "why", why, strlen(why));
    }
}

static const char *note_name(int kind)
{
    switch (kind) {
    case SK_NOTE_PROMISED: return "promised";
    case SK_NOTE_ACCEPTED: return "accepted";
    case SK_NOTE_REFUSED: return "refused";
    case SK_NOTE_DECIDED: return "decided";
    case SK_NOTE_ATTEMPT: return "attempt";
    case SK_NOTE_CONFLICT: return "conflict";
    case SK_NOTE_HOOK_ERROR: return "hook_error";
    case SK_NOTE_BACKOFF: return "backoff";
    case SK_NOTE_REJOIN: return "rejoin";
    case SK_NOTE_FETCH: return "fetch";
    default: return "note";
    }
}

void skl_trace_note(struct sk_buf *b, uint64_t t, const char *node, const struct sk_note *nt)
{
    skl_trace_printf(b, "{\"t\":%" PRIu64 ",\"ev\":\"%s\",\"node\":\"%s\"", t,
                     note_name(nt->kind), node);
    skl_trace_str(b, "lock", nt->key, nt->key_len);
    if (nt->kind == SK_NOTE_BACKOFF) {
        skl_trace_printf(b, ",\"delay\":%" PRIu64 ",\"req\":%" PRIu64, nt->ballot.round,
                         nt->req_id);
    } else {
        skl_trace_ballot(b, "ballot", nt->ballot);
    }
    if (nt->kind == SK_NOTE_ACCEPTED || nt->kind == SK_NOTE_DECIDED) {
        skl_trace_value(b, "state", nt->value, nt->value_len);
    }
    if (nt->kind == SK_NOTE_ATTEMPT) {
        skl_trace_printf(b, ",\"req\":%" PRIu64 ",\"attempt\":%u", nt->req_id, nt->phase);
    }
    if (nt->kind == SK_NOTE_REFUSED || nt->kind == SK_NOTE_CONFLICT) {
        skl_trace_printf(b, ",\"phase\":%u", nt->phase);
    }
    if (nt->kind == SK_NOTE_DECIDED || nt->kind == SK_NOTE_CONFLICT ||
        nt->kind == SK_NOTE_HOOK_ERROR) {
        skl_trace_printf(b, ",\"req\":%" PRIu64, nt->req_id);
    }
    if (nt->text != NULL) {
        const char *k = nt->kind == SK_NOTE_DECIDED ? "result"
                        : (nt->kind == SK_NOTE_CONFLICT || nt->kind == SK_NOTE_BACKOFF) ? "why"
                                                                                      : "text";
        skl_trace_str(b, k, nt->text, strlen(nt->text));
    }
}

void skl_trace_describe(struct sk_buf *b, const char *text)
{
    skl_trace_str(b, "describe", text, strlen(text));
}

void skl_trace_persist(struct sk_buf *b, uint64_t t, const char *node, const struct sk_persist *p)
{
    skl_trace_printf(b, "{\"t\":%" PRIu64 ",\"ev\":\"persist\",\"node\":\"%s\"", t, node);
    skl_trace_str(b, "lock", p->key, p->key_len);
    skl_trace_ballot(b, "promised", p->promised);
    skl_trace_ballot(b, "accepted", p->accepted);
}

void skl_trace_fault(struct sk_buf *b, uint64_t t, const char *node, const char *what)
{
    skl_trace_printf(b, "{\"t\":%" PRIu64 ",\"ev\":\"fault\",\"node\":\"%s\"", t, node);
    skl_trace_str(b, "what", what, strlen(what));
}

void skl_trace_invoke(struct sk_buf *b, uint64_t t, uint64_t req, const char *client,
                      const char *node, const struct sk_client_req *r)
{
    skl_trace_printf(b, "{\"t\":%" PRIu64 ",\"ev\":\"invoke\",\"req\":%" PRIu64, t, req);
    if (client != NULL) {
        skl_trace_str(b, "client", client, strlen(client));
    }
    /* a shared acquire is traced as an acquire with "shared":true */
    skl_trace_printf(b, ",\"node\":\"%s\",\"op\":\"%s\"", node,
                     SK_OP_IS_ACQUIRE(r->op) ? "acquire" : sk_op_name(r->op));
    if (r->op == SK_OP_ACQUIRE_SHARED) {
        skl_trace_printf(b, ",\"shared\":true");
    }
    skl_trace_str(b, "lock", r->key, r->key_len);
    skl_trace_str(b, "holder", r->holder, r->holder_len);
    if (r->ttl_ms) {
        skl_trace_printf(b, ",\"ttl\":%u", r->ttl_ms);
    }
    if (r->fence) {
        skl_trace_printf(b, ",\"fence\":%" PRIu64, r->fence);
    }
}

static void answer(struct sk_buf *b, const char *ev, uint64_t t, uint64_t req, const char *client,
                   const char *node, const uint8_t *key, size_t key_len, const char *status,
                   const char *holder, uint64_t token, const char *text)
{
    skl_trace_printf(b, "{\"t\":%" PRIu64 ",\"ev\":\"%s\",\"req\":%" PRIu64, t, ev, req);
    if (client != NULL) {
        skl_trace_str(b, "client", client, strlen(client));
    }
    skl_trace_printf(b, ",\"node\":\"%s\"", node);
    skl_trace_str(b, "lock", key, key_len);
    skl_trace_printf(b, ",\"status\":\"%s\"", status);
    if (holder != NULL && holder[0]) {
        skl_trace_str(b, "holder", holder, strlen(holder));
    }
    if (token) {
        skl_trace_printf(b, ",\"token\":%" PRIu64, token);
    }
    if (text != NULL && text[0]) {
        skl_trace_str(b, "text", text, strlen(text));
    }
}

void skl_trace_complete(struct sk_buf *b, uint64_t t, uint64_t req, const char *client,
                        const char *node, const uint8_t *key, size_t key_len, const char *status,
                        const char *holder, uint64_t token, const char *text)
{
    answer(b, "complete", t, req, client, node, key, key_len, status, holder, token, text);
}

void skl_trace_late(struct sk_buf *b, uint64_t t, uint64_t req, const char *client,
                    const char *node, const uint8_t *key, size_t key_len, const char *status,
                    const char *holder, uint64_t token, const char *text)
{
    answer(b, "late", t, req, client, node, key, key_len, status, holder, token, text);
}

void skl_trace_resend(struct sk_buf *b, uint32_t attempt, uint64_t resend_of)
{
    skl_trace_printf(b, ",\"attempt\":%u,\"resend_of\":%" PRIu64, attempt, resend_of);
}

void skl_trace_client_drop(struct sk_buf *b, uint64_t t, uint64_t req, const char *client,
                           const char *node, bool answer_lost, const char *why)
{
    skl_trace_printf(b, "{\"t\":%" PRIu64 ",\"ev\":\"client_drop\",\"req\":%" PRIu64, t, req);
    if (client != NULL) {
        skl_trace_str(b, "client", client, strlen(client));
    }
    skl_trace_printf(b, ",\"node\":\"%s\",\"lost\":\"%s\"", node,
                     answer_lost ? "answer" : "request");
    skl_trace_str(b, "why", why, strlen(why));
}

void skl_trace_end(struct sk_buf *b)
{
    skl_trace_put(b, "}\n", 2);
}

const char *skl_status_name(int st)
{
    return st == SK_ST_TIMEOUT ? "timeout" : st == SK_ST_DOWN ? "down" : sk_status_name(st);
}

bool skl_trace_event(struct sk_buf *b, const struct sk_sim_event *e,
                     const struct skl_trace_names *nm, const char *describe)
{
    const char *node = nm->node(nm->ud, e->node);
    switch (e->kind) {
    case SK_EV_SEND:
    case SK_EV_RECV:
    case SK_EV_DROP:
    case SK_EV_DUP: {
        static const char *const evs[] = {"", "send", "recv", "drop", "dup"};
        const char *peer = nm->node(nm->ud, e->peer);
        bool recv = e->kind == SK_EV_RECV;
        skl_trace_msg(b, e->t, evs[e->kind], e->msg_id, recv ? peer : node, recv ? node : peer,
                      e->msg, e->text);
        break;
    }
    case SK_EV_NOTE:
        skl_trace_note(b, e->t, node, e->note);
        if (e->note->kind == SK_NOTE_DECIDED && describe != NULL) {
            skl_trace_describe(b, describe);
        }
        break;
    case SK_EV_PERSIST: skl_trace_persist(b, e->t, node, e->persist); break;
    case SK_EV_INVOKE:
        skl_trace_invoke(b, e->t, e->req->req_id, nm->client(nm->ud, e->client), node, e->req);
        if (e->attempt > 1) {
            skl_trace_resend(b, e->attempt, e->resend_of);
        }
        break;
    case SK_EV_COMPLETE:
    case SK_EV_LATE: {
        const struct sk_reply *r = e->reply;
        (e->kind == SK_EV_LATE ? skl_trace_late : skl_trace_complete)(
            b, e->t, r->req_id, nm->client(nm->ud, e->client), node, r->key, r->key_len,
            skl_status_name(r->status), r->holder, r->token, r->text);
        if (r->waited) {
            skl_trace_printf(b, ",\"waited\":true");
        }
        break;
    }
    case SK_EV_CLIENT_DROP:
        skl_trace_client_drop(b, e->t, e->msg_id, nm->client(nm->ud, e->client), node,
                              e->way == SK_CLIENT_ANSWERS, e->text);
        break;
    case SK_EV_FAULT: skl_trace_fault(b, e->t, e->node ? node : "*", e->text); break;
    default: return false;
    }
    skl_trace_end(b);
    return true;
}
