/* trace_fmt.h - the JSON-lines trace, one fixed formatter for the simulator
 * (lua_skinny.c) and the daemon (skinnyd), so both write the same events
 * with the same fields in the same order (byte-stable golden traces).
 * Every function appends to b; none writes the closing "}\n" but
 * skl_trace_end. */
#ifndef SKL_TRACE_FMT_H
#define SKL_TRACE_FMT_H

#include "sk.h"

/* Appends raw bytes; aborts when out of memory (a trace cannot have holes). */
void skl_trace_put(struct sk_buf *b, const void *p, size_t n);
void skl_trace_printf(struct sk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ,"key":"escaped" */
void skl_trace_str(struct sk_buf *b, const char *key, const void *s, size_t n);
/* ,"key":"round.node" */
void skl_trace_ballot(struct sk_buf *b, const char *key, struct sk_ballot bal);
/* ,"key":<the lock state of register value v as JSON> */
void skl_trace_value(struct sk_buf *b, const char *key, const uint8_t *v, size_t n);
/* {"t":..,"ev":.. : a message event (send, recv, drop, dup); msg_id 0 leaves "id" out */
void skl_trace_msg(struct sk_buf *b, uint64_t t, const char *ev, uint64_t msg_id, const char *from,
                   const char *to, const struct sk_msg *m, const char *why);
/* {"t":..,"ev":<note kind>,"node":.. : an acceptor or proposer note */
void skl_trace_note(struct sk_buf *b, uint64_t t, const char *node, const struct sk_note *nt);
/* ,"describe":"text" : appended to a decided note, what the decided state
 * means for people (the deciding instance's lock script's describe) */
void skl_trace_describe(struct sk_buf *b, const char *text);
/* {"t":..,"ev":"persist",... */
void skl_trace_persist(struct sk_buf *b, uint64_t t, const char *node, const struct sk_persist *p);
/* {"t":..,"ev":"fault","node":..,"what":.. */
void skl_trace_fault(struct sk_buf *b, uint64_t t, const char *node, const char *what);
/* {"t":..,"ev":"invoke",... : a client request (client may be NULL) */
void skl_trace_invoke(struct sk_buf *b, uint64_t t, uint64_t req, const char *client,
                      const char *node, const struct sk_client_req *r);
/* {"t":..,"ev":"complete",... : its answer; status is a name ("granted", "timeout") */
void skl_trace_complete(struct sk_buf *b, uint64_t t, uint64_t req, const char *client,
                        const char *node, const uint8_t *key, size_t key_len, const char *status,
                        const char *holder, uint64_t token, const char *text);
/* {"t":..,"ev":"late",... : an answer that reached its client after the client had
 * stopped waiting for it (fields as for complete) */
void skl_trace_late(struct sk_buf *b, uint64_t t, uint64_t req, const char *client,
                    const char *node, const uint8_t *key, size_t key_len, const char *status,
                    const char *holder, uint64_t token, const char *text);
/* ,"attempt":..,"resend_of":.. : appended to an invoke that resends a request
 * (failover: the same request, another attempt) */
void skl_trace_resend(struct sk_buf *b, uint32_t attempt, uint64_t resend_of);
/* {"t":..,"ev":"client_drop","req":..,"client":..,"node":..,"lost":"request"|"answer",
 * "why":"loss"|"cut" : a client's request or its answer lost on the client's link */
void skl_trace_client_drop(struct sk_buf *b, uint64_t t, uint64_t req, const char *client,
                           const char *node, bool answer_lost, const char *why);
/* closes the event: "}\n" */
void skl_trace_end(struct sk_buf *b);

/* A reply status for traces: sk_status_name, and the simulator's client
 * verdicts ("timeout", "down"). */
const char *skl_status_name(int st);

/* One simulator event (sim/sim.h) as a whole trace line, names from nm
 * (nodes by id, clients by index from 1); describe: appended to a decided
 * note (NULL: none). Returns false for a kind that has no line. The
 * simulator's trace and the explorer's counterexample both go through it. */
struct sk_sim_event;
struct skl_trace_names {
    const char *(*node)(void *ud, uint32_t id);
    const char *(*client)(void *ud, uint32_t id);
    void *ud;
};
bool skl_trace_event(struct sk_buf *b, const struct sk_sim_event *e,
                     const struct skl_trace_names *nm, const char *describe);

#endif
