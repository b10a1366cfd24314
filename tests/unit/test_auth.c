/* test_auth.c - the handshake and sealed frames of runtime/net/auth.c, and
 * key files (spec/PROTOCOL.md 11; spec/DAEMON.md "Authentication"). Both
 * ends run here, in memory: what one writes the other decodes. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/auth.h"
#include "runner.h"
#include "sk.h"

static uint8_t key_a[SK_AUTH_KEY_BYTES], key_b[SK_AUTH_KEY_BYTES];

static void keys(void)
{
    for (int i = 0; i < SK_AUTH_KEY_BYTES; i++) {
        key_a[i] = (uint8_t)(i * 7 + 1);
        key_b[i] = (uint8_t)(i * 7 + 2);
    }
}

/* Decode the frames in buf[0..len) into out (at most 2). Returns how many. */
static int decode_all(const uint8_t *buf, size_t len, struct sk_msg *out, int max)
{
    int n = 0;
    size_t off = 0;
    while (off < len && n < max) {
        int rv = sk_msg_decode(buf + off, len - off, &out[n]);
        if (rv <= 0) {
            return -1;
        }
        off += (size_t)rv;
        n++;
    }
    return off == len ? n : -1;
}

struct pair {
    struct sk_auth d, l; /* dialer, listener */
};

static uint8_t hello[256], answer[512], proof[256];

/* Run the handshake: the dialer with dkey as instance 2 (peer role) to
 * instance 1, the listener with lkey. Returns 0 when both ends are done,
 * 1 when the dialer refused the listener's proof, 2 when the listener
 * refused the dialer's proof. why gets the refusal. */
static int handshake(struct pair *p, const uint8_t *dkey, const uint8_t *lkey, int role,
                     char *why, size_t wl)
{
    uint32_t did = role == SK_AUTH_PEER ? 2 : 0, lid = role == SK_AUTH_PEER ? 1 : 0;
    int hn = sk_auth_dial(&p->d, dkey, role, did, lid, hello, sizeof hello);
    if (hn <= 0) return -1;
    struct sk_msg m[2];
    if (decode_all(hello, (size_t)hn, m, 2) != 1 || m[0].type != SK_MSG_AUTH) return -1;
    int an = sk_auth_accept(&p->l, lkey, &m[0], 1, answer, sizeof answer);
    if (an <= 0) return -1;
    if (decode_all(answer, (size_t)an, m, 2) != 2) return -1;
    int pn = sk_auth_dialer_finish(&p->d, &m[0], &m[1], proof, sizeof proof, why, wl);
    if (pn < 0) return 1;
    if (decode_all(proof, (size_t)pn, m, 2) != 1) return -1;
    if (sk_auth_listener_finish(&p->l, &m[0], why, wl) != 0) return 2;
    return 0;
}

/* A PREPARE from 2 to 1, encoded. */
static int prepare(uint8_t *out, size_t cap, uint64_t round)
{
    struct sk_msg m = {0};
    m.type = SK_MSG_PREPARE;
    m.from = 2;
    m.to = 1;
    m.seq = round;
    m.ballot.round = round;
    m.ballot.node = 2;
    m.key = (const uint8_t *)"printer";
    m.key_len = 7;
    return sk_msg_encode(&m, out, cap);
}

TEST(handshake_with_one_key_succeeds_and_frames_flow_both_ways)
{
    keys();
    ASSERT_EQ_INT(sk_auth_init(), 0);
    static struct pair p;
    char why[256] = "";
    ASSERT_EQ_INT(handshake(&p, key_a, key_a, SK_AUTH_PEER, why, sizeof why), 0);
    ASSERT_TRUE(p.d.done && p.l.done);
    ASSERT_EQ_INT(p.l.dialer_id, 2);
    ASSERT_EQ_INT(p.d.listener_id, 1);
    uint8_t f[256], s[512], o[512];
    for (uint64_t r = 1; r <= 3; r++) {
        int n = prepare(f, sizeof f, r);
        int sn = sk_auth_seal(&p.d, f, (size_t)n, s, sizeof s);
        ASSERT_EQ_INT(sn, 4 + n + SK_AUTH_TAG_BYTES);
        ASSERT_EQ_INT(sk_auth_sealed_len(s, (size_t)sn), sn);
        ASSERT_TRUE(memcmp(s + 4, f + 4, 16) != 0); /* encrypted */
        int on = sk_auth_open(&p.l, s, (size_t)sn, o, sizeof o);
        ASSERT_EQ_INT(on, n);
        ASSERT_TRUE(memcmp(o, f, (size_t)n) == 0);
        /* and back: the listener's direction has its own key and counter */
        sn = sk_auth_seal(&p.l, f, (size_t)n, s, sizeof s);
        ASSERT_EQ_INT(sk_auth_open(&p.d, s, (size_t)sn, o, sizeof o), n);
    }
}

TEST(a_record_holds_several_whole_frames)
{
    keys();
    static struct pair p;
    char why[256];
    ASSERT_EQ_INT(handshake(&p, key_a, key_a, SK_AUTH_PEER, why, sizeof why), 0);
    static uint8_t f[SK_AUTH_RECORD_MAX + 64], s[SK_AUTH_RECORD_MAX + 64], o[SK_AUTH_RECORD_MAX];
    int n1 = prepare(f, sizeof f, 1);
    int n2 = prepare(f + n1, sizeof f - (size_t)n1, 2);
    int sn = sk_auth_seal(&p.d, f, (size_t)(n1 + n2), s, sizeof s);
    ASSERT_EQ_INT(sn, 4 + n1 + n2 + SK_AUTH_TAG_BYTES);
    int on = sk_auth_open(&p.l, s, (size_t)sn, o, sizeof o);
    ASSERT_EQ_INT(on, n1 + n2);
    struct sk_msg m[2];
    ASSERT_EQ_INT(decode_all(o, (size_t)on, m, 2), 2);
    ASSERT_EQ_INT(m[0].seq, 1);
    ASSERT_EQ_INT(m[1].seq, 2);
    /* a record is at most SK_AUTH_RECORD_MAX bytes of frames */
    ASSERT_EQ_INT(sk_auth_seal(&p.d, f, SK_AUTH_RECORD_MAX + 1, s, sizeof s), SK_EINVAL);
}

TEST(wrong_key_fails_at_the_dialer_with_a_reason)
{
    keys();
    static struct pair p;
    char why[256] = "";
    ASSERT_EQ_INT(handshake(&p, key_a, key_b, SK_AUTH_PEER, why, sizeof why), 1);
    ASSERT_TRUE(strstr(why, "does not match our key") != NULL);
    ASSERT_FALSE(p.d.done);
    /* the other way round: a listener with the wrong key is refused too */
    ASSERT_EQ_INT(handshake(&p, key_b, key_a, SK_AUTH_CONTROL, why, sizeof why), 1);
}

TEST(listener_refuses_a_proof_made_with_another_key_or_another_session)
{
    keys();
    static struct pair p, q;
    char why[256];
    ASSERT_EQ_INT(handshake(&p, key_a, key_a, SK_AUTH_PEER, why, sizeof why), 0);
    /* a second session's listener, and the first session's proof replayed
     * to it: its nonce differs, so the proof does not match */
    int hn = sk_auth_dial(&q.d, key_a, SK_AUTH_PEER, 2, 1, hello, sizeof hello);
    struct sk_msg m[2];
    ASSERT_EQ_INT(decode_all(hello, (size_t)hn, m, 2), 1);
    ASSERT_TRUE(sk_auth_accept(&q.l, key_a, &m[0], 1, answer, sizeof answer) > 0);
    ASSERT_EQ_INT(decode_all(proof, 4 + 79 + 32, m, 2), 1); /* p's proof */
    ASSERT_EQ_INT(sk_auth_listener_finish(&q.l, &m[0], why, sizeof why), -1);
    ASSERT_TRUE(strstr(why, "does not match") != NULL);
    ASSERT_FALSE(q.l.done);
}

TEST(a_listener_claiming_another_instance_is_refused)
{
    keys();
    static struct pair p;
    char why[256];
    int hn = sk_auth_dial(&p.d, key_a, SK_AUTH_PEER, 2, 3, hello, sizeof hello); /* we dial 3 */
    struct sk_msg m[2];
    ASSERT_EQ_INT(decode_all(hello, (size_t)hn, m, 2), 1);
    int an = sk_auth_accept(&p.l, key_a, &m[0], 1, answer, sizeof answer); /* 1 answers */
    ASSERT_EQ_INT(decode_all(answer, (size_t)an, m, 2), 2);
    ASSERT_EQ_INT(sk_auth_dialer_finish(&p.d, &m[0], &m[1], proof, sizeof proof, why, sizeof why),
                  -1);
    ASSERT_TRUE(strstr(why, "instance 1") != NULL);
}

TEST(tampered_replayed_and_reordered_frames_fail)
{
    keys();
    static struct pair p;
    char why[256];
    ASSERT_EQ_INT(handshake(&p, key_a, key_a, SK_AUTH_PEER, why, sizeof why), 0);
    uint8_t f[256], s1[512], s2[512], o[512];
    int n = prepare(f, sizeof f, 1);
    int n1 = sk_auth_seal(&p.d, f, (size_t)n, s1, sizeof s1);
    n = prepare(f, sizeof f, 2);
    int n2 = sk_auth_seal(&p.d, f, (size_t)n, s2, sizeof s2);
    /* reordered: the second before the first */
    ASSERT_EQ_INT(sk_auth_open(&p.l, s2, (size_t)n2, o, sizeof o), -1);
    /* tampered: one bit of the body, of the tag, or of the length prefix */
    s1[20] ^= 1;
    ASSERT_EQ_INT(sk_auth_open(&p.l, s1, (size_t)n1, o, sizeof o), -1);
    s1[20] ^= 1;
    s1[n1 - 1] ^= 0x80;
    ASSERT_EQ_INT(sk_auth_open(&p.l, s1, (size_t)n1, o, sizeof o), -1);
    s1[n1 - 1] ^= 0x80;
    /* in order: both open */
    ASSERT_TRUE(sk_auth_open(&p.l, s1, (size_t)n1, o, sizeof o) > 0);
    /* replayed: the first again */
    ASSERT_EQ_INT(sk_auth_open(&p.l, s1, (size_t)n1, o, sizeof o), -1);
    ASSERT_TRUE(sk_auth_open(&p.l, s2, (size_t)n2, o, sizeof o) > 0);
    /* a frame from the other direction (its own key) does not open here */
    int n3 = sk_auth_seal(&p.l, f, (size_t)n, s1, sizeof s1);
    ASSERT_EQ_INT(sk_auth_open(&p.l, s1, (size_t)n3, o, sizeof o), -1);
    /* a frame of another session with the same key does not open either */
    static struct pair q;
    ASSERT_EQ_INT(handshake(&q, key_a, key_a, SK_AUTH_PEER, why, sizeof why), 0);
    n3 = sk_auth_seal(&q.d, f, (size_t)n, s1, sizeof s1);
    ASSERT_EQ_INT(sk_auth_open(&p.l, s1, (size_t)n3, o, sizeof o), -1);
}

TEST(sealed_lengths_out_of_range_and_a_truncated_handshake)
{
    uint8_t b[8] = {0, 0, 0, 0};
    ASSERT_EQ_INT(sk_auth_sealed_len(b, 3), 0); /* need more */
    ASSERT_EQ_INT(sk_auth_sealed_len(b, 4), SK_ETRUNC);
    b[1] = 1; /* 65536: more than any sealed frame */
    ASSERT_EQ_INT(sk_auth_sealed_len(b, 4), SK_ETOOBIG);
    /* a handshake frame cut short is "need more" to the decoder: the
     * connection waits (and an accepted one times out idle) */
    keys();
    static struct sk_auth d;
    int hn = sk_auth_dial(&d, key_a, SK_AUTH_CONTROL, 0, 0, hello, sizeof hello);
    struct sk_msg m;
    for (int k = 0; k < hn; k++) {
        ASSERT_EQ_INT(sk_msg_decode(hello, (size_t)k, &m), 0);
    }
    ASSERT_EQ_INT(sk_msg_decode(hello, (size_t)hn, &m), hn);
    /* the dialer given only a hello and a non-proof refuses */
    char why[128];
    ASSERT_EQ_INT(sk_auth_dialer_finish(&d, &m, &m, proof, sizeof proof, why, sizeof why), -1);
}

/* ------------------------------------------------------------ key files */

static char g_dir[256];

static const char *tmp_path(const char *name)
{
    static char p[512];
    if (g_dir[0] == 0) {
        snprintf(g_dir, sizeof g_dir, "/tmp/skinny-auth-XXXXXX");
        if (mkdtemp(g_dir) == NULL) abort();
    }
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    return p;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) abort();
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) abort();
    fchmod(fd, mode);
    close(fd);
}

TEST(keygen_writes_a_private_key_that_loads_and_refuses_to_overwrite)
{
    char err[512];
    const char *p = tmp_path("k1");
    unlink(p);
    ASSERT_EQ_INT(sk_auth_keygen(p, err, sizeof err), 0);
    struct stat st;
    ASSERT_EQ_INT(stat(p, &st), 0);
    ASSERT_EQ_INT(st.st_mode & 0777, 0600);
    ASSERT_EQ_INT(st.st_size, SK_AUTH_KEYFILE_BYTES);
    uint8_t k[SK_AUTH_KEY_BYTES], k2[SK_AUTH_KEY_BYTES];
    ASSERT_EQ_INT(sk_auth_key_load(p, "cluster_key", k, err, sizeof err), 0);
    ASSERT_EQ_INT(sk_auth_keygen(p, err, sizeof err), -1);
    ASSERT_TRUE(strstr(err, "already exists") != NULL);
    ASSERT_EQ_INT(sk_auth_key_load(p, "cluster_key", k2, err, sizeof err), 0);
    ASSERT_TRUE(memcmp(k, k2, sizeof k) == 0); /* not overwritten */
    const char *p2 = tmp_path("k2");
    unlink(p2);
    ASSERT_EQ_INT(sk_auth_keygen(p2, err, sizeof err), 0);
    ASSERT_EQ_INT(sk_auth_key_load(p2, "cluster_key", k2, err, sizeof err), 0);
    ASSERT_TRUE(memcmp(k, k2, sizeof k) != 0); /* random */
}

TEST(key_file_refusals_name_the_file_and_what_to_do)
{
    char err[512];
    uint8_t k[SK_AUTH_KEY_BYTES];
    const char *good = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
    const char *p = tmp_path("bad");
    write_text(p, good, 0600);
    ASSERT_EQ_INT(sk_auth_key_load(p, "cluster_key", k, err, sizeof err), 0);
    ASSERT_EQ_INT(k[1], 0x11);
    write_text(p, good, 0400); /* read-only for the owner: fine */
    ASSERT_EQ_INT(sk_auth_key_load(p, "cluster_key", k, err, sizeof err), 0);
    write_text(p, good, 0644);
    ASSERT_EQ_INT(sk_auth_key_load(p, "cluster_key", k, err, sizeof err), -1);
    ASSERT_TRUE(strstr(err, p) != NULL && strstr(err, "0644") != NULL &&
                strstr(err, "chmod 600") != NULL);
    write_text(p, good, 0640);
    ASSERT_EQ_INT(sk_auth_key_load(p, "cluster_key", k, err, sizeof err), -1);
    static const char *const bad[] = {
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddee\n",     /* short */
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00\n", /* long */
        "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\n",   /* upper */
        "0011223344556677889zaabbccddeeff00112233445566778899aabbccddeeff\n",   /* not hex */
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",     /* no newline */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        TEST_CONTEXT("bad key %zu", i);
        write_text(p, bad[i], 0600);
        ASSERT_EQ_INT(sk_auth_key_load(p, "cluster_key", k, err, sizeof err), -1);
        ASSERT_TRUE(strstr(err, p) != NULL && strstr(err, "64 lowercase hex") != NULL);
        ASSERT_TRUE(strstr(err, "--keygen") != NULL);
    }
    const char *missing = tmp_path("missing");
    unlink(missing);
    ASSERT_EQ_INT(sk_auth_key_load(missing, "client_key", k, err, sizeof err), -1);
    ASSERT_TRUE(strstr(err, "client_key") != NULL && strstr(err, missing) != NULL &&
                strstr(err, "--keygen") != NULL);
    unlink(p);
    unlink(tmp_path("k1"));
    unlink(tmp_path("k2"));
    rmdir(g_dir);
}
