/* auth.h - authenticated connections: key files, the handshake and sealed
 * frames (spec/PROTOCOL.md section 11; threat model in spec/DAEMON.md,
 * "Authentication").
 *
 * Every primitive is libsodium's: BLAKE2b (crypto_generichash) keyed with
 * the pre-shared key over the handshake transcript gives a session secret,
 * crypto_kdf derives the four session values from it (a seal key and a
 * proof per direction), and every frame after the handshake is sealed with
 * ChaCha20-Poly1305 (IETF) under its direction's key, its nonce a 64-bit
 * counter that both ends keep. Nothing here does I/O on sockets or knows
 * libuv: skinnyd's net.c, the blocking client (skclient.c) and the Lua lab
 * (bindings/lua_real.c) drive it the same way.
 *
 * The key never leaves the struct it was loaded into; nothing here logs it
 * or puts it in a message. */
#ifndef SK_AUTH_H
#define SK_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk.h"

#define SK_AUTH_KEY_BYTES 32
#define SK_AUTH_NONCE_BYTES 32 /* a hello's value */
#define SK_AUTH_PROOF_BYTES 32 /* a proof's value */
#define SK_AUTH_TAG_BYTES 16   /* what sealing adds to a frame body */
#define SK_AUTH_VERSION 1      /* an AUTH frame's status */
#define SK_AUTH_KEYFILE_BYTES 65 /* 64 lowercase hex digits and a newline */

/* The role a connection claims in its hello (an AUTH frame's op). */
enum sk_auth_role {
    SK_AUTH_PEER = 1,    /* an instance's link to another: peer frames */
    SK_AUTH_CONTROL = 2, /* skinnyctl / the lab: CONTROL (and client) frames */
    SK_AUTH_CLIENT = 3,  /* a client holding the client key */
};
const char *sk_auth_role_name(int role);

/* libsodium's sodium_init. 0, or -1 when the library cannot start (then
 * nothing here may be used). Safe to call more than once. */
int sk_auth_init(void);

/* Read a key file: exactly 64 lowercase hex digits and a newline, the file
 * readable and writable by its owner only (mode 0600 or 0400). 0, or -1
 * with a message naming the file, what is wrong and what to do in err.
 * what names the key for people ("cluster_key"). */
int sk_auth_key_load(const char *path, const char *what, uint8_t key[SK_AUTH_KEY_BYTES],
                     char *err, size_t errlen);
/* Create a key file: 32 random bytes as hex, O_CREAT|O_EXCL, mode 0600,
 * fsync (the file and its directory). Refuses an existing file. 0, or -1
 * with the reason in err. */
int sk_auth_keygen(const char *path, char *err, size_t errlen);

/* One side of one connection's handshake, then its session. */
struct sk_auth {
    uint8_t key[SK_AUTH_KEY_BYTES]; /* the pre-shared key (wiped by sk_auth_wipe) */
    bool dialer;                    /* we opened the connection */
    uint8_t role;
    uint32_t dialer_id, listener_id; /* 0 for a client or control dialer */
    uint8_t nonce_d[SK_AUTH_NONCE_BYTES], nonce_l[SK_AUTH_NONCE_BYTES];
    uint8_t tx_key[32], rx_key[32];
    uint8_t my_proof[SK_AUTH_PROOF_BYTES], their_proof[SK_AUTH_PROOF_BYTES];
    uint64_t tx_n, rx_n; /* frames sealed / opened so far (the nonces) */
    bool keyed;          /* both nonces known, keys derived */
    bool done;           /* the other side's proof checked */
};

/* The dialer: start with our hello. id is our instance id (peer role) or 0;
 * listener_id the instance we dial (0 when unknown: a client). Writes the
 * hello frame (length prefix included) into out; returns its length or a
 * negative SK_E code. */
int sk_auth_dial(struct sk_auth *a, const uint8_t key[SK_AUTH_KEY_BYTES], int role, uint32_t id,
                 uint32_t listener_id, uint8_t *out, size_t cap);
/* The dialer: the listener's hello and proof arrived (both AUTH frames,
 * decoded). Checks them; on success writes our proof frame into out and
 * returns its length, and a->done is set. On failure returns -1 with the
 * reason in why (a wrong key reads "its proof does not match our key"). */
int sk_auth_dialer_finish(struct sk_auth *a, const struct sk_msg *hello, const struct sk_msg *proof,
                          uint8_t *out, size_t cap, char *why, size_t wl);

/* The listener: a hello arrived (decoded AUTH frame, phase 1). self is our
 * instance id (0 for a tool that is not an instance). The caller has
 * decided which key the role uses and that the claim may be made. Writes
 * our hello and our proof (two frames) into out; returns their length. */
int sk_auth_accept(struct sk_auth *a, const uint8_t key[SK_AUTH_KEY_BYTES], const struct sk_msg *hello,
                   uint32_t self, uint8_t *out, size_t cap);
/* The listener: the dialer's proof arrived. 0 (a->done set), or -1 with
 * why. */
int sk_auth_listener_finish(struct sk_auth *a, const struct sk_msg *proof, char *why, size_t wl);

/* The most plaintext one sealed record holds: one or more whole frames
 * (length prefixes included), back to back. */
#define SK_AUTH_RECORD_MAX (SK_FRAME_MAX + 4)

/* Seal a record: len bytes of whole encoded frames (each with its length
 * prefix; 6..SK_AUTH_RECORD_MAX bytes) into out as a new length prefix and
 * the frames encrypted and authenticated (SK_AUTH_TAG_BYTES more), the
 * prefix as associated data, a->tx_n as the nonce. Returns the sealed
 * length, or a negative SK_E code. in and out may not overlap. */
int sk_auth_seal(struct sk_auth *a, const uint8_t *frames, size_t len, uint8_t *out, size_t cap);
/* How many bytes the sealed record at the start of buf takes: 0 when fewer
 * than 4 bytes are in, SK_ETOOBIG / SK_ETRUNC for a length no record has,
 * else the whole record's length (which may exceed len: wait). */
int sk_auth_sealed_len(const uint8_t *buf, size_t len);
/* Open the whole sealed record in buf (sk_auth_sealed_len bytes) into out
 * (at least SK_AUTH_RECORD_MAX bytes): the frames it holds, for
 * sk_msg_decode one after another. Returns their length, or -1 when it
 * does not authenticate: tampered, replayed, reordered, or sealed under
 * another key. */
int sk_auth_open(struct sk_auth *a, const uint8_t *buf, size_t len, uint8_t *out, size_t cap);

/* Zero the key and session keys. */
void sk_auth_wipe(struct sk_auth *a);

#endif
