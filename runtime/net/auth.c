/* auth.c - key files, the handshake and sealed frames (auth.h). */
#include "net/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define LABEL "skinny-auth-v1"
#define LABEL_LEN 14
#define TRANSCRIPT_LEN (LABEL_LEN + 1 + 4 + 4 + 2 * SK_AUTH_NONCE_BYTES)
#define KDF_CONTEXT "skauthv1" /* crypto_kdf's 8-byte context */

enum { SUB_SEAL_D = 1, SUB_SEAL_L = 2, SUB_PROOF_D = 3, SUB_PROOF_L = 4 };

const char *sk_auth_role_name(int role)
{
    switch (role) {
    case SK_AUTH_PEER: return "peer";
    case SK_AUTH_CONTROL: return "control";
    case SK_AUTH_CLIENT: return "client";
    default: return "unknown";
    }
}

int sk_auth_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ------------------------------------------------------------ key files */

int sk_auth_key_load(const char *path, const char *what, uint8_t key[SK_AUTH_KEY_BYTES],
                     char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen,
                 "%s %s: cannot read it: %s (create a key with: skinnyd --keygen %s)", what,
                 path, strerror(errno), path);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(err, errlen, "%s %s: not a regular file", what, path);
        return -1;
    }
    if ((st.st_mode & 077) != 0) {
        close(fd);
        snprintf(err, errlen,
                 "%s %s: mode %04o lets other users read or change the key; refusing it "
                 "(make it private: chmod 600 %s)",
                 what, path, (unsigned)(st.st_mode & 07777), path);
        return -1;
    }
    char text[SK_AUTH_KEYFILE_BYTES + 2];
    ssize_t n = read(fd, text, sizeof text);
    close(fd);
    bool ok = n == SK_AUTH_KEYFILE_BYTES && text[64] == '\n';
    for (int i = 0; ok && i < 64; i++) {
        ok = (text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f');
    }
    size_t bin = 0;
    if (ok) {
        ok = sodium_hex2bin(key, SK_AUTH_KEY_BYTES, text, 64, NULL, &bin, NULL) == 0 &&
             bin == SK_AUTH_KEY_BYTES;
    }
    sodium_memzero(text, sizeof text);
    if (!ok) {
        snprintf(err, errlen,
                 "%s %s: not a Skinny key (expected exactly 64 lowercase hex digits and a "
                 "newline, %zd bytes read); make one with: skinnyd --keygen FILE",
                 what, path, n);
        sodium_memzero(key, SK_AUTH_KEY_BYTES);
        return -1;
    }
    return 0;
}

int sk_auth_keygen(const char *path, char *err, size_t errlen)
{
    if (sk_auth_init() != 0) {
        snprintf(err, errlen, "libsodium cannot start");
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) {
            snprintf(err, errlen,
                     "%s already exists; refusing to overwrite a key (instances holding it "
                     "would no longer authenticate). Remove it first to replace it",
                     path);
        } else {
            snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        }
        return -1;
    }
    uint8_t key[SK_AUTH_KEY_BYTES];
    char text[SK_AUTH_KEYFILE_BYTES + 1];
    randombytes_buf(key, sizeof key);
    sodium_bin2hex(text, sizeof text, key, sizeof key);
    text[64] = '\n';
    sodium_memzero(key, sizeof key);
    bool ok = fchmod(fd, 0600) == 0 &&
              write(fd, text, SK_AUTH_KEYFILE_BYTES) == SK_AUTH_KEYFILE_BYTES && fsync(fd) == 0;
    int e = errno;
    sodium_memzero(text, sizeof text);
    if (close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlink(path);
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
        return -1;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* the new name is durable too */
        close(dfd);
    }
    return 0;
}

/* ------------------------------------------------------------ handshake */

static int auth_frame(int phase, int role, uint32_t from, uint32_t to, const uint8_t *value,
                      uint8_t *out, size_t cap)
{
    struct sk_msg m = {0};
    m.type = SK_MSG_AUTH;
    m.phase = (uint8_t)phase;
    m.status = SK_AUTH_VERSION;
    m.op = (uint8_t)role;
    m.from = from;
    m.to = to;
    m.value = value;
    m.value_len = 32;
    return sk_msg_encode(&m, out, cap);
}

/* Both nonces and ids known: derive the session from the transcript. */
static void derive(struct sk_auth *a)
{
    uint8_t t[TRANSCRIPT_LEN], secret[32];
    uint8_t *p = t;
    memcpy(p, LABEL, LABEL_LEN);
    p += LABEL_LEN;
    *p++ = a->role;
    put32(p, a->dialer_id);
    p += 4;
    put32(p, a->listener_id);
    p += 4;
    memcpy(p, a->nonce_d, SK_AUTH_NONCE_BYTES);
    p += SK_AUTH_NONCE_BYTES;
    memcpy(p, a->nonce_l, SK_AUTH_NONCE_BYTES);
    crypto_generichash(secret, sizeof secret, t, sizeof t, a->key, sizeof a->key);
    uint8_t seal_d[32], seal_l[32], proof_d[32], proof_l[32];
    crypto_kdf_derive_from_key(seal_d, 32, SUB_SEAL_D, KDF_CONTEXT, secret);
    crypto_kdf_derive_from_key(seal_l, 32, SUB_SEAL_L, KDF_CONTEXT, secret);
    crypto_kdf_derive_from_key(proof_d, 32, SUB_PROOF_D, KDF_CONTEXT, secret);
    crypto_kdf_derive_from_key(proof_l, 32, SUB_PROOF_L, KDF_CONTEXT, secret);
    memcpy(a->tx_key, a->dialer ? seal_d : seal_l, 32);
    memcpy(a->rx_key, a->dialer ? seal_l : seal_d, 32);
    memcpy(a->my_proof, a->dialer ? proof_d : proof_l, 32);
    memcpy(a->their_proof, a->dialer ? proof_l : proof_d, 32);
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(seal_d, 32);
    sodium_memzero(seal_l, 32);
    sodium_memzero(proof_d, 32);
    sodium_memzero(proof_l, 32);
    a->tx_n = a->rx_n = 0;
    a->keyed = true;
}

int sk_auth_dial(struct sk_auth *a, const uint8_t key[SK_AUTH_KEY_BYTES], int role, uint32_t id,
                 uint32_t listener_id, uint8_t *out, size_t cap)
{
    memset(a, 0, sizeof *a);
    memcpy(a->key, key, SK_AUTH_KEY_BYTES);
    a->dialer = true;
    a->role = (uint8_t)role;
    a->dialer_id = id;
    a->listener_id = listener_id;
    randombytes_buf(a->nonce_d, sizeof a->nonce_d);
    return auth_frame(1, role, id, listener_id, a->nonce_d, out, cap);
}

int sk_auth_dialer_finish(struct sk_auth *a, const struct sk_msg *hello, const struct sk_msg *proof,
                          uint8_t *out, size_t cap, char *why, size_t wl)
{
    if (hello->type != SK_MSG_AUTH || hello->phase != 1 || proof->type != SK_MSG_AUTH ||
        proof->phase != 2) {
        snprintf(why, wl, "the answer is not a hello and a proof");
        return -1;
    }
    if (hello->op != a->role || proof->op != a->role) {
        snprintf(why, wl, "the answer is for role %s, we asked for %s",
                 sk_auth_role_name(hello->op), sk_auth_role_name(a->role));
        return -1;
    }
    if (a->listener_id != 0 && hello->from != a->listener_id) {
        snprintf(why, wl, "it says it is instance %u, we dialled instance %u", hello->from,
                 a->listener_id);
        return -1;
    }
    if (hello->to != a->dialer_id) {
        snprintf(why, wl, "its hello is addressed to instance %u, we are %u", hello->to,
                 a->dialer_id);
        return -1;
    }
    a->listener_id = hello->from;
    memcpy(a->nonce_l, hello->value, SK_AUTH_NONCE_BYTES);
    derive(a);
    if (sodium_memcmp(proof->value, a->their_proof, SK_AUTH_PROOF_BYTES) != 0) {
        snprintf(why, wl, "its proof does not match our key (it holds a different key)");
        return -1;
    }
    int n = auth_frame(2, a->role, a->dialer_id, a->listener_id, a->my_proof, out, cap);
    if (n < 0) {
        snprintf(why, wl, "cannot encode our proof: %s", sk_strerror(n));
        return -1;
    }
    a->done = true;
    return n;
}

int sk_auth_accept(struct sk_auth *a, const uint8_t key[SK_AUTH_KEY_BYTES], const struct sk_msg *hello,
                   uint32_t self, uint8_t *out, size_t cap)
{
    memset(a, 0, sizeof *a);
    memcpy(a->key, key, SK_AUTH_KEY_BYTES);
    a->dialer = false;
    a->role = hello->op;
    a->dialer_id = hello->from;
    a->listener_id = self;
    memcpy(a->nonce_d, hello->value, SK_AUTH_NONCE_BYTES);
    randombytes_buf(a->nonce_l, sizeof a->nonce_l);
    derive(a);
    int n = auth_frame(1, a->role, self, a->dialer_id, a->nonce_l, out, cap);
    if (n < 0) {
        return n;
    }
    int k = auth_frame(2, a->role, self, a->dialer_id, a->my_proof, out + n, cap - (size_t)n);
    return k < 0 ? k : n + k;
}

int sk_auth_listener_finish(struct sk_auth *a, const struct sk_msg *proof, char *why, size_t wl)
{
    if (proof->type != SK_MSG_AUTH || proof->phase != 2 || proof->op != a->role ||
        proof->from != a->dialer_id) {
        snprintf(why, wl, "expected the dialer's proof, got another frame");
        return -1;
    }
    if (sodium_memcmp(proof->value, a->their_proof, SK_AUTH_PROOF_BYTES) != 0) {
        snprintf(why, wl, "its proof does not match our key (it holds a different key)");
        return -1;
    }
    a->done = true;
    return 0;
}

/* ---------------------------------------------------------------- frames */

static void nonce_of(uint64_t n, uint8_t out[crypto_aead_chacha20poly1305_IETF_NPUBBYTES])
{
    memset(out, 0, crypto_aead_chacha20poly1305_IETF_NPUBBYTES);
    put32(out + 4, (uint32_t)(n >> 32));
    put32(out + 8, (uint32_t)n);
}

int sk_auth_seal(struct sk_auth *a, const uint8_t *frames, size_t len, uint8_t *out, size_t cap)
{
    if (!a->keyed || len < 6 || len > SK_AUTH_RECORD_MAX) {
        return SK_EINVAL;
    }
    if (cap < 4 + len + SK_AUTH_TAG_BYTES) {
        return SK_ENOSPACE;
    }
    put32(out, (uint32_t)(len + SK_AUTH_TAG_BYTES));
    uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
    nonce_of(a->tx_n++, nonce);
    unsigned long long clen = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(out + 4, &clen, frames, len, out, 4, NULL, nonce,
                                              a->tx_key);
    return (int)(4 + clen);
}

int sk_auth_sealed_len(const uint8_t *buf, size_t len)
{
    if (len < 4) {
        return 0;
    }
    uint32_t l = get32(buf);
    if (l > SK_AUTH_RECORD_MAX + SK_AUTH_TAG_BYTES) {
        return SK_ETOOBIG;
    }
    if (l < SK_AUTH_TAG_BYTES + 6) {
        return SK_ETRUNC;
    }
    return (int)(l + 4);
}

int sk_auth_open(struct sk_auth *a, const uint8_t *buf, size_t len, uint8_t *out, size_t cap)
{
    int sl = sk_auth_sealed_len(buf, len);
    if (!a->keyed || sl <= 0 || (size_t)sl != len || cap < len - 4 - SK_AUTH_TAG_BYTES) {
        return -1;
    }
    uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
    nonce_of(a->rx_n, nonce);
    unsigned long long plen = 0;
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &plen, NULL, buf + 4, len - 4, buf, 4,
                                                  nonce, a->rx_key) != 0) {
        return -1;
    }
    a->rx_n++;
    return (int)plen;
}

void sk_auth_wipe(struct sk_auth *a)
{
    sodium_memzero(a, sizeof *a);
}
