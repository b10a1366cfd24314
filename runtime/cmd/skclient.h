/* skclient.h - a small blocking client for Skinny's client frames, with
 * deadlines (poll), shared by skinnyctl, skinny-lab, the daemon benchmark
 * and the e2e tests. No libuv. Times are CLOCK_MONOTONIC milliseconds. */
#ifndef SK_CLIENT_H
#define SK_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net/auth.h"
#include "sk.h"

struct skc_conn {
    int fd; /* -1 when closed */
    size_t len, off;
    uint8_t buf[2 * (SK_FRAME_MAX + 4 + SK_AUTH_TAG_BYTES)];
    bool sealed;               /* authenticated (skc_auth): every frame sealed */
    struct sk_auth auth;
    uint8_t plain[SK_AUTH_RECORD_MAX]; /* the record last opened: whole frames */
    size_t plain_len, plain_off;       /* its length; the next frame to decode */
};

uint64_t skc_now_ms(void);
/* Microseconds, for measurements. */
uint64_t skc_now_us(void);

/* Request identity (spec/PROTOCOL.md 7.4). A client id: random, non-zero,
 * one per client process. The next sequence number after *last: the wall
 * clock in microseconds, or *last + 1 if the clock has not moved past it, so
 * that the requests of one holder grow across processes on a host whose
 * clock does not step back. */
uint64_t skc_client_id(void);
uint64_t skc_next_seq(uint64_t *last);

/* "host:port", "[v6]:port", "localhost:port". 0 or -1. */
int skc_parse_addr(const char *s, struct sockaddr_storage *sa, socklen_t *len);

/* Connect by the deadline. 0, or -1 with the reason in why. */
int skc_dial(struct skc_conn *c, const char *addr, uint64_t deadline, char *why, size_t wl);
void skc_close(struct skc_conn *c);
/* Authenticate a fresh connection (spec/PROTOCOL.md 11) as role
 * (SK_AUTH_CONTROL with the cluster key, SK_AUTH_CLIENT with the client
 * key). Afterwards skc_send and skc_recv seal and open every frame.
 * 0, or -1 with why (a wrong key: "... does not match our key"). */
int skc_auth(struct skc_conn *c, const uint8_t key[SK_AUTH_KEY_BYTES], int role,
             uint64_t deadline, char *why, size_t wl);
/* A key file for a tool: path from the flag, else from the environment
 * variable env (may be unset). 1 loaded, 0 none given, -1 bad (why says). */
int skc_key_from(const char *path, const char *env, const char *what,
                 uint8_t key[SK_AUTH_KEY_BYTES], char *why, size_t wl);
/* Encode and send m. 0, or -1 with why. */
int skc_send(struct skc_conn *c, const struct sk_msg *m, uint64_t deadline, char *why, size_t wl);
/* Next frame: 1 with m filled (borrowing c->buf until the next call), 0 on
 * timeout or end of connection, -1 on a frame the codec refuses. why says. */
int skc_recv(struct skc_conn *c, struct sk_msg *m, uint64_t deadline, char *why, size_t wl);
/* Send req and wait for the CLIENT_REPLY with its seq (others are skipped).
 * 1 answered, 0 no answer in time, -1 failure; why says. */
int skc_call(struct skc_conn *c, const struct sk_msg *req, struct sk_msg *rep, uint64_t deadline,
             char *why, size_t wl);

/* One control operation (net/control.h) at addr on a fresh connection.
 * Returns the reply status (SK_ST_GRANTED when applied), or -1 when the
 * instance did not answer; text (node name or reason) goes to out. */
int skc_control(const char *addr, int op, const char *key, uint32_t ms, uint64_t timeout_ms,
                char *out, size_t outlen);
/* The same, authenticated with the cluster key when ckey is not NULL. */
int skc_control_keyed(const char *addr, const uint8_t *ckey, int op, const char *key, uint32_t ms,
                      uint64_t timeout_ms, char *out, size_t outlen);

/* Durations: "250ms", "10s", "2m", "1.5s"; a bare number is milliseconds.
 * -1 when s is not one. */
int64_t skc_parse_duration(const char *s);

#endif
