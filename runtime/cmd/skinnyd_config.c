/* skinnyd_config.c - skinnyd's config file: JSON in, struct skd_config out
 * (skinnyd_config.h, spec/DAEMON.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skinnyd_config.h"

/* ================================================================ JSON */

enum jt { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
    enum jt t;
    bool b;
    double n;
    char *s;         /* J_STR; NUL-terminated, holds no NUL (refused) */
    struct jv *kids; /* J_ARR, J_OBJ */
    char **keys;     /* J_OBJ */
    size_t len;
    int line;
};

struct jp {
    const char *p, *end;
    int line;
    const char *line_start; /* for columns */
    char err[256];
};

static void jv_free(struct jv *v)
{
    if (v == NULL) {
        return;
    }
    free(v->s);
    for (size_t i = 0; i < v->len; i++) {
        jv_free(&v->kids[i]);
        if (v->keys) {
            free(v->keys[i]);
        }
    }
    free(v->kids);
    free(v->keys);
}

/* How many bytes of a key to show in a message: at most 64, not cutting a
 * UTF-8 sequence (keys are valid UTF-8: the parser refuses others). */
static int shown(const char *s)
{
    size_t n = strlen(s);
    if (n <= 64) {
        return (int)n;
    }
    n = 64;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) {
        n--;
    }
    return (int)n;
}

static void jp_ws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) {
        if (*j->p == '\n') {
            j->line++;
            j->line_start = j->p + 1;
        }
        j->p++;
    }
}

/* The first failure wins, at the place the parser stands. */
static int jp_fail(struct jp *j, const char *what)
{
    if (j->err[0] == 0) {
        snprintf(j->err, sizeof j->err, "line %d, column %ld: %s", j->line,
                 (long)(j->p - j->line_start) + 1, what);
    }
    return -1;
}

/* The length of a well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xbf;
    if (c < 0x80) {
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }
    return n;
}

static int jp_string(struct jp *j, char **out)
{
    j->p++; /* opening quote */
    size_t cap = 32, n = 0;
    char *s = malloc(cap);
    if (s == NULL) {
        return jp_fail(j, "out of memory");
    }
    for (;;) {
        if (j->p >= j->end || *j->p == '\n') {
            free(s);
            return jp_fail(j, "unterminated string (a string ends on the line it starts)");
        }
        unsigned char u = (unsigned char)*j->p;
        if (u < 0x20) {
            free(s);
            return jp_fail(j, u == 0 ? "a NUL byte in a string"
                                     : "a control character in a string (escape it: \\t, ...)");
        }
        size_t ulen = utf8_len((const unsigned char *)j->p, (const unsigned char *)j->end);
        if (ulen == 0) {
            free(s);
            return jp_fail(j, "a string that is not UTF-8");
        }
        char c = *j->p;
        j->p += ulen;
        if (c == '"') {
            break;
        }
        if (c == '\\') {
            if (j->p >= j->end) {
                free(s);
                return jp_fail(j, "unterminated string");
            }
            char e = *j->p++;
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case '"': case '\\': case '/': c = e; break;
            default:
                j->p--;
                free(s);
                return jp_fail(j, "unsupported escape in a string (\\u is not supported)");
            }
            ulen = 1;
        }
        if (n + ulen + 1 > cap) {
            cap *= 2;
            char *t = realloc(s, cap);
            if (t == NULL) {
                free(s);
                return jp_fail(j, "out of memory");
            }
            s = t;
        }
        if (ulen == 1) {
            s[n++] = c;
        } else {
            memcpy(s + n, j->p - ulen, ulen);
            n += ulen;
        }
    }
    s[n] = 0;
    *out = s;
    return 0;
}

static int jp_push(struct jv *v, size_t *cap)
{
    if (v->len == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        struct jv *k = realloc(v->kids, c * sizeof *k);
        if (k == NULL) {
            return -1;
        }
        v->kids = k;
        if (v->t == J_OBJ) {
            char **ks = realloc(v->keys, c * sizeof *ks);
            if (ks == NULL) {
                return -1;
            }
            v->keys = ks;
        }
        *cap = c;
    }
    return 0;
}

/* Does the text at j->p start with the literal word? (Bounded: the text is
 * not NUL-terminated.) */
static bool jp_word(const struct jp *j, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(j->end - j->p) >= n && memcmp(j->p, word, n) == 0;
}

static bool is_digit(const struct jp *j, const char *p)
{
    return p < j->end && *p >= '0' && *p <= '9';
}

/* A number as JSON writes it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 * (no hex, no inf or nan, no leading '+' or zeros). Too large ones become
 * infinite and fail the range checks. */
static int jp_number(struct jp *j, double *out)
{
    const char *p = j->p;
    if (p < j->end && *p == '-') {
        p++;
    }
    if (!is_digit(j, p)) {
        return jp_fail(j, "bad number");
    }
    if (*p == '0') {
        p++;
        if (is_digit(j, p)) {
            return jp_fail(j, "bad number (no leading zeros)");
        }
    }
    while (is_digit(j, p)) {
        p++;
    }
    if (p < j->end && *p == '.') {
        p++;
        if (!is_digit(j, p)) {
            return jp_fail(j, "bad number (digits must follow '.')");
        }
        while (is_digit(j, p)) {
            p++;
        }
    }
    if (p < j->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < j->end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (!is_digit(j, p)) {
            return jp_fail(j, "bad number (digits must follow the exponent)");
        }
        while (is_digit(j, p)) {
            p++;
        }
    }
    char buf[64];
    size_t n = (size_t)(p - j->p);
    if (n >= sizeof buf) {
        return jp_fail(j, "number too long (at most 63 characters)");
    }
    memcpy(buf, j->p, n);
    buf[n] = 0;
    *out = strtod(buf, NULL);
    j->p = p;
    return 0;
}

static int jp_value(struct jp *j, struct jv *v, int depth);

static int jp_container(struct jp *j, struct jv *v, int depth)
{
    char close = *j->p == '{' ? '}' : ']';
    v->t = close == '}' ? J_OBJ : J_ARR;
    size_t cap = 0;
    if (depth >= SKD_JSON_MAX_DEPTH) {
        char what[64];
        snprintf(what, sizeof what, "nested deeper than %d levels", SKD_JSON_MAX_DEPTH);
        return jp_fail(j, what);
    }
    j->p++;
    jp_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return 0;
    }
    for (;;) {
        if (jp_push(v, &cap) != 0) {
            return jp_fail(j, "out of memory");
        }
        char *key = NULL;
        if (v->t == J_OBJ) {
            jp_ws(j);
            if (j->p >= j->end || *j->p != '"') {
                return jp_fail(j, "expected a \"key\" in an object");
            }
            const char *at = j->p;
            int line = j->line;
            if (jp_string(j, &key) != 0) {
                return -1;
            }
            for (size_t i = 0; i < v->len; i++) {
                if (strcmp(v->keys[i], key) == 0) {
                    char what[160];
                    snprintf(what, sizeof what, "duplicate key \"%.*s%s\" (first on line %d)",
                             shown(key), key, strlen(key) > 64 ? "..." : "", v->kids[i].line);
                    free(key);
                    j->p = at;
                    j->line = line;
                    return jp_fail(j, what);
                }
            }
            jp_ws(j);
            if (j->p >= j->end || *j->p != ':') {
                free(key);
                return jp_fail(j, "expected ':' after a key");
            }
            j->p++;
        }
        if (jp_value(j, &v->kids[v->len], depth + 1) != 0) {
            free(key);
            jv_free(&v->kids[v->len]);
            return -1;
        }
        if (v->t == J_OBJ) {
            v->keys[v->len] = key;
        }
        v->len++;
        jp_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return 0;
        }
        if (j->p >= j->end) {
            return jp_fail(j, v->t == J_OBJ ? "unexpected end of file (expected ',' or '}')"
                                            : "unexpected end of file (expected ',' or ']')");
        }
        return jp_fail(j, v->t == J_OBJ ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int jp_value(struct jp *j, struct jv *v, int depth)
{
    memset(v, 0, sizeof *v);
    jp_ws(j);
    v->line = j->line;
    if (j->p >= j->end) {
        return jp_fail(j, "unexpected end of file");
    }
    char c = *j->p;
    if (c == '"') {
        v->t = J_STR;
        return jp_string(j, &v->s);
    }
    if (c == '{' || c == '[') {
        return jp_container(j, v, depth);
    }
    if (jp_word(j, "true") || jp_word(j, "false")) {
        v->t = J_BOOL;
        v->b = c == 't';
        j->p += v->b ? 4 : 5;
        return 0;
    }
    if (jp_word(j, "null")) {
        j->p += 4;
        return 0;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        v->t = J_NUM;
        return jp_number(j, &v->n);
    }
    return jp_fail(j, "unexpected character (this is JSON: strings in double quotes, no comments)");
}

/* ========================================================== addresses */

bool skd_addr_ok(const char *s)
{
    /* the forms sk_net_parse_addr (runtime/net/net.c) takes, without
     * libuv, and only ports a peer can be dialled on */
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || colon[1] == 0) {
        return false;
    }
    size_t digits = strlen(colon + 1);
    if (digits > 5 || strspn(colon + 1, "0123456789") != digits) {
        return false;
    }
    long port = strtol(colon + 1, NULL, 10);
    if (port < 1 || port > 65535) {
        return false;
    }
    const char *h = s;
    size_t hl = (size_t)(colon - s);
    if (s[0] == '[' && colon[-1] == ']') {
        h = s + 1;
        hl = hl >= 2 ? hl - 2 : 0;
    }
    char host[64];
    if (hl == 0 || hl >= sizeof host) {
        return false;
    }
    memcpy(host, h, hl);
    host[hl] = 0;
    if (strcmp(host, "localhost") == 0) {
        return true;
    }
    unsigned char a[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, host, a) == 1) {
        return true;
    }
    char *zone = strchr(host, '%'); /* fe80::1%eth0, as libuv takes it */
    if (zone != NULL) {
        *zone = 0;
    }
    return inet_pton(AF_INET6, host, a) == 1;
}

/* ============================================================== config */

static const char *const known_keys[] = {
    "name", "cluster", "listen", "data_dir", "scripts_dir", "proposer", "backoff", "lock",
    "phase_timeout_ms", "max_inflight", "hook_budget", "max_connections", "max_queue_bytes",
    "idle_timeout_ms", "reconnect_min_ms", "reconnect_max_ms", "compact_ratio", "fsync",
    "send_before_sync", "lock_params", "cluster_key", "client_key", "insecure", NULL};

static const struct jv *obj_get(const struct jv *o, const char *key)
{
    for (size_t i = 0; i < o->len; i++) {
        if (strcmp(o->keys[i], key) == 0) {
            return &o->kids[i];
        }
    }
    return NULL;
}

#define CFG_ERR(...)                                                                     \
    do {                                                                                 \
        snprintf(err, errlen, __VA_ARGS__);                                              \
        return -1;                                                                       \
    } while (0)

static int cfg_str(const struct skd_config *c, const struct jv *o, const char *key, char *out,
                   size_t cap, bool required, const char *form, char *err, size_t errlen)
{
    const struct jv *v = obj_get(o, key);
    if (v == NULL) {
        if (required) {
            CFG_ERR("%s: missing key \"%s\": expected %s", c->file, key, form);
        }
        return 0;
    }
    if (v->t != J_STR || v->s[0] == 0) {
        CFG_ERR("%s:%d: key \"%s\": expected %s", c->file, v->line, key, form);
    }
    if (strlen(v->s) >= cap) {
        CFG_ERR("%s:%d: key \"%s\": too long (at most %zu bytes)", c->file, v->line, key,
                cap - 1);
    }
    snprintf(out, cap, "%s", v->s);
    return 0;
}

static int cfg_uint(const struct skd_config *c, const struct jv *o, const char *key,
                    uint64_t *out, uint64_t lo, uint64_t hi, char *err, size_t errlen)
{
    const struct jv *v = obj_get(o, key);
    if (v == NULL) {
        return 0;
    }
    /* the range first: converting a double outside uint64_t is undefined */
    if (v->t != J_NUM || !(v->n >= (double)lo && v->n <= (double)hi) ||
        v->n != (double)(uint64_t)v->n) {
        CFG_ERR("%s:%d: key \"%s\": expected an integer from %" PRIu64 " to %" PRIu64, c->file,
                v->line, key, lo, hi);
    }
    *out = (uint64_t)v->n;
    return 0;
}

static int cfg_bool(const struct skd_config *c, const struct jv *o, const char *key, bool *out,
                    char *err, size_t errlen)
{
    const struct jv *v = obj_get(o, key);
    if (v == NULL) {
        return 0;
    }
    if (v->t != J_BOOL) {
        CFG_ERR("%s:%d: key \"%s\": expected true or false", c->file, v->line, key);
    }
    *out = v->b;
    return 0;
}

/* "lock_params": a flat object of at most SK_PARAMS_MAX keys of 1 to
 * SK_PARAM_KEY_MAX bytes, each an integer, a string of at most
 * SK_PARAM_STR_MAX bytes, or true/false. */
static int cfg_params(struct skd_config *c, const struct jv *o, char *err, size_t errlen)
{
    const struct jv *v = obj_get(o, "lock_params");
    if (v == NULL) {
        return 0;
    }
    if (v->t != J_OBJ) {
        CFG_ERR("%s:%d: key \"lock_params\": expected an object {\"permits\": 3, ...} of "
                "integers, strings and booleans",
                c->file, v->line);
    }
    if (v->len > SK_PARAMS_MAX) {
        CFG_ERR("%s:%d: key \"lock_params\": at most %d parameters, got %zu", c->file, v->line,
                SK_PARAMS_MAX, v->len);
    }
    struct sk_params *ps = &c->lock_params;
    ps->n = 0;
    for (size_t i = 0; i < v->len; i++) {
        const char *k = v->keys[i];
        const struct jv *x = &v->kids[i];
        size_t kl = strlen(k);
        if (kl < 1 || kl > SK_PARAM_KEY_MAX) {
            CFG_ERR("%s:%d: key \"lock_params.%.*s%s\": a parameter's name is 1 to %d bytes",
                    c->file, x->line, shown(k), k, kl > 64 ? "..." : "", SK_PARAM_KEY_MAX);
        }
        for (uint32_t j = 0; j < ps->n; j++) {
            if (strcmp(ps->p[j].key, k) == 0) {
                CFG_ERR("%s:%d: key \"lock_params.%s\": given twice", c->file, x->line, k);
            }
        }
        struct sk_param *p = &ps->p[ps->n];
        memset(p, 0, sizeof *p);
        memcpy(p->key, k, kl);
        if (x->t == J_NUM) {
            /* the range first: converting a double outside int64_t is undefined */
            if (!(x->n >= -9007199254740992.0 && x->n <= 9007199254740992.0) ||
                x->n != (double)(int64_t)x->n) {
                CFG_ERR("%s:%d: key \"lock_params.%s\": expected an integer (of at most 2^53 "
                        "in size), a string or true/false",
                        c->file, x->line, k);
            }
            p->type = SK_PARAM_INT;
            p->i = (int64_t)x->n;
        } else if (x->t == J_BOOL) {
            p->type = SK_PARAM_BOOL;
            p->i = x->b ? 1 : 0;
        } else if (x->t == J_STR) {
            if (strlen(x->s) > SK_PARAM_STR_MAX) {
                CFG_ERR("%s:%d: key \"lock_params.%s\": a string of at most %d bytes", c->file,
                        x->line, k, SK_PARAM_STR_MAX);
            }
            p->type = SK_PARAM_STR;
            snprintf(p->s, sizeof p->s, "%s", x->s);
        } else {
            CFG_ERR("%s:%d: key \"lock_params.%s\": expected an integer, a string or "
                    "true/false (lock_params is flat: no lists, objects or null)",
                    c->file, x->line, k);
        }
        ps->n++;
    }
    return 0;
}

static const char *const cl_form = "a list of 1 to 16 objects {\"name\": \"alpha\", \"address\": "
                                   "\"127.0.0.1:7001\"}";

/* cluster[i] (1-based), into c->peers[i]. */
static int cfg_peer(struct skd_config *c, const struct jv *e, uint32_t i, char *err,
                    size_t errlen)
{
    const char *file = c->file;
    struct skd_peer *p = &c->peers[i];
    char key[64];
    snprintf(key, sizeof key, "cluster[%u]", i);
    if (e->t != J_OBJ) {
        CFG_ERR("%s:%d: key \"%s\": expected %s", file, e->line, key, cl_form);
    }
    for (size_t k = 0; k < e->len; k++) {
        if (strcmp(e->keys[k], "name") != 0 && strcmp(e->keys[k], "address") != 0) {
            CFG_ERR("%s:%d: key \"%s.%.*s%s\": unknown key (a member has \"name\" and "
                    "\"address\")",
                    file, e->kids[k].line, key, shown(e->keys[k]), e->keys[k],
                    strlen(e->keys[k]) > 64 ? "..." : "");
        }
    }
    const struct jv *nm = obj_get(e, "name"), *ad = obj_get(e, "address");
    if (nm == NULL || nm->t != J_STR || nm->s[0] == 0 || strlen(nm->s) >= sizeof p->name) {
        CFG_ERR("%s:%d: key \"%s.name\": expected a non-empty string of at most %zu bytes",
                file, nm ? nm->line : e->line, key, sizeof p->name - 1);
    }
    if (ad == NULL || ad->t != J_STR || strlen(ad->s) >= sizeof p->address ||
        !skd_addr_ok(ad->s)) {
        CFG_ERR("%s:%d: key \"%s.address\": expected \"host:port\" with a numeric IPv4/IPv6 "
                "host and a port from 1 to 65535",
                file, ad ? ad->line : e->line, key);
    }
    snprintf(p->name, sizeof p->name, "%s", nm->s);
    snprintf(p->address, sizeof p->address, "%s", ad->s);
    for (uint32_t k = 1; k < i; k++) {
        if (strcmp(c->peers[k].name, p->name) == 0) {
            CFG_ERR("%s:%d: key \"%s.name\": duplicate peer name \"%s\" (also cluster[%u])",
                    file, nm->line, key, p->name, k);
        }
        if (strcmp(c->peers[k].address, p->address) == 0) {
            CFG_ERR("%s:%d: key \"%s.address\": duplicate peer address \"%s\" (also "
                    "cluster[%u])",
                    file, ad->line, key, p->address, k);
        }
    }
    return 0;
}

/* A relative key path, resolved against the config file's directory. */
static int key_path(const struct skd_config *c, char *path, size_t cap, char *err, size_t errlen)
{
    if (path[0] == 0 || path[0] == '/') {
        return 0;
    }
    const char *slash = strrchr(c->file, '/');
    if (slash == NULL) {
        return 0; /* the config is in the working directory */
    }
    char full[2048];
    int n = snprintf(full, sizeof full, "%.*s/%s", (int)(slash - c->file), c->file, path);
    if (n < 0 || (size_t)n >= cap) {
        CFG_ERR("%s: key file path \"%s\" is too long once resolved against the config's "
                "directory",
                c->file, path);
    }
    memcpy(path, full, (size_t)n + 1);
    return 0;
}

bool skd_addr_loopback(const char *s)
{
    if (strncmp(s, "127.", 4) == 0 || strncmp(s, "localhost:", 10) == 0 ||
        strncmp(s, "[::1]:", 6) == 0) {
        return true;
    }
    return false;
}

static void defaults(struct skd_config *c, const char *file)
{
    memset(c, 0, sizeof *c);
    snprintf(c->file, sizeof c->file, "%s", file);
    c->phase_timeout_ms = 500;
    c->max_inflight = 1024;
    c->max_connections = 256;
    c->max_queue_bytes = 1u << 20;
    c->idle_timeout_ms = 60000;
    c->reconnect_min_ms = 50;
    c->reconnect_max_ms = 2000;
    c->compact_ratio = 4;
    c->fsync = true;
    c->early_send = true;
    snprintf(c->scripts_dir, sizeof c->scripts_dir, "scripts");
}

/* The keys of the parsed root, into c (file: c->file). */
static int config_keys(struct skd_config *c, const struct jv *root, char *err, size_t errlen)
{
    const char *file = c->file;
    uint64_t u;
    if (root->t != J_OBJ) {
        CFG_ERR("%s:%d: expected one JSON object {\"name\": ..., \"cluster\": [...]}", file,
                root->line);
    }
    for (size_t i = 0; i < root->len; i++) {
        bool known = false;
        for (const char *const *k = known_keys; *k; k++) {
            known = known || strcmp(*k, root->keys[i]) == 0;
        }
        if (!known) {
            CFG_ERR("%s:%d: unknown key \"%.*s%s\" (known keys are listed in spec/DAEMON.md)",
                    file, root->kids[i].line, shown(root->keys[i]), root->keys[i],
                    strlen(root->keys[i]) > 64 ? "..." : "");
        }
    }
    if (cfg_str(c, root, "name", c->name, sizeof c->name, true,
                "a string: this instance's name, one of the cluster's names", err, errlen) ||
        cfg_str(c, root, "data_dir", c->data_dir, sizeof c->data_dir, true,
                "a string: a directory for this instance's durable state", err, errlen) ||
        cfg_str(c, root, "scripts_dir", c->scripts_dir, sizeof c->scripts_dir, false,
                "a string: the scripts directory", err, errlen) ||
        cfg_str(c, root, "proposer", c->proposer, sizeof c->proposer, false,
                "a string: a script name in scripts/proposers/ or a path", err, errlen) ||
        cfg_str(c, root, "backoff", c->backoff, sizeof c->backoff, false,
                "a string: a script name in scripts/backoff/ or a path", err, errlen) ||
        cfg_str(c, root, "lock", c->lock, sizeof c->lock, false,
                "a string: a script name in scripts/locks/ or a path", err, errlen) ||
        cfg_str(c, root, "listen", c->listen, sizeof c->listen, false,
                "a string \"host:port\"", err, errlen)) {
        return -1;
    }
    if (c->listen[0] != 0 && !skd_addr_ok(c->listen)) {
        CFG_ERR("%s:%d: key \"listen\": expected \"host:port\" with a numeric IPv4/IPv6 host "
                "and a port from 1 to 65535",
                file, obj_get(root, "listen")->line);
    }
    const struct jv *cl = obj_get(root, "cluster");
    if (cl == NULL) {
        CFG_ERR("%s: missing key \"cluster\": expected %s", file, cl_form);
    }
    if (cl->t != J_ARR || cl->len < 1 || cl->len > SK_MAX_NODES) {
        CFG_ERR("%s:%d: key \"cluster\": expected %s", file, cl->line, cl_form);
    }
    c->n = (uint32_t)cl->len;
    for (uint32_t i = 1; i <= c->n; i++) {
        if (cfg_peer(c, &cl->kids[i - 1], i, err, errlen) != 0) {
            return -1;
        }
        if (strcmp(c->peers[i].name, c->name) == 0) {
            c->id = i;
        }
    }
    if (c->id == 0) {
        CFG_ERR("%s:%d: key \"name\": \"%s\" is not one of the names in \"cluster\"", file,
                obj_get(root, "name")->line, c->name);
    }
    if (c->listen[0] == 0) {
        snprintf(c->listen, sizeof c->listen, "%s", c->peers[c->id].address);
    }
    u = c->phase_timeout_ms;
    if (cfg_uint(c, root, "phase_timeout_ms", &u, 1, 600000, err, errlen)) return -1;
    c->phase_timeout_ms = u;
    u = c->max_inflight;
    if (cfg_uint(c, root, "max_inflight", &u, 1, 1000000, err, errlen)) return -1;
    c->max_inflight = (uint32_t)u;
    if (cfg_uint(c, root, "hook_budget", &c->hook_budget, 1000, 1000000000, err, errlen)) return -1;
    u = c->max_connections;
    if (cfg_uint(c, root, "max_connections", &u, 1, 100000, err, errlen)) return -1;
    c->max_connections = (uint32_t)u;
    if (cfg_uint(c, root, "max_queue_bytes", &c->max_queue_bytes, 65536, 1u << 30, err, errlen)) return -1;
    if (cfg_uint(c, root, "idle_timeout_ms", &c->idle_timeout_ms, 100, 86400000, err, errlen)) return -1;
    if (cfg_uint(c, root, "reconnect_min_ms", &c->reconnect_min_ms, 1, 60000, err, errlen)) return -1;
    if (cfg_uint(c, root, "reconnect_max_ms", &c->reconnect_max_ms, 1, 600000, err, errlen)) return -1;
    u = c->compact_ratio;
    if (cfg_uint(c, root, "compact_ratio", &u, 2, 1000, err, errlen)) return -1;
    c->compact_ratio = (uint32_t)u;
    if (cfg_str(c, root, "cluster_key", c->cluster_key, sizeof c->cluster_key, false,
                "a string: the path of the cluster's key file (skinnyd --keygen FILE)", err,
                errlen) ||
        cfg_str(c, root, "client_key", c->client_key, sizeof c->client_key, false,
                "a string: the path of the client key file (skinnyd --keygen FILE)", err,
                errlen) ||
        cfg_bool(c, root, "insecure", &c->insecure, err, errlen) ||
        key_path(c, c->cluster_key, sizeof c->cluster_key, err, errlen) ||
        key_path(c, c->client_key, sizeof c->client_key, err, errlen)) {
        return -1;
    }
    if (cfg_bool(c, root, "fsync", &c->fsync, err, errlen) ||
        cfg_bool(c, root, "send_before_sync", &c->early_send, err, errlen) ||
        cfg_params(c, root, err, errlen)) {
        return -1;
    }
    return 0;
}

int skd_config_parse(struct skd_config *c, const char *file, const char *text, size_t len,
                     char *err, size_t errlen)
{
    defaults(c, file);
    if (errlen > 0) {
        err[0] = 0;
    }
    if (len > SKD_CONFIG_MAX_BYTES) {
        CFG_ERR("%s: larger than %u bytes; not a config file?", file, SKD_CONFIG_MAX_BYTES);
    }
    if (text == NULL) {
        text = ""; /* len is 0 */
    }
    struct jp j = {text, text + len, 1, text, ""};
    struct jv root;
    if (jp_value(&j, &root, 0) != 0) {
        jv_free(&root);
        CFG_ERR("%s: %s", file, j.err);
    }
    jp_ws(&j);
    if (j.p != j.end) {
        jv_free(&root);
        jp_fail(&j, "trailing text after the config object");
        CFG_ERR("%s: %s", file, j.err);
    }
    int rv = config_keys(c, &root, err, errlen);
    jv_free(&root);
    return rv;
}

int skd_config_load(struct skd_config *c, const char *file, char *err, size_t errlen)
{
    defaults(c, file);
    FILE *f = fopen(file, "rb");
    if (f == NULL) {
        CFG_ERR("%s: cannot read the config: %s", file, strerror(errno));
    }
    /* one byte more than allowed, to tell a file that is too large */
    size_t cap = SKD_CONFIG_MAX_BYTES + 1, len = 0;
    char *text = malloc(cap);
    if (text == NULL) {
        fclose(f);
        CFG_ERR("%s: out of memory", file);
    }
    size_t r;
    while (len < cap && (r = fread(text + len, 1, cap - len, f)) > 0) {
        len += r;
    }
    int rerr = ferror(f) ? errno : 0;
    fclose(f);
    if (rerr != 0) {
        free(text);
        CFG_ERR("%s: cannot read the config: %s", file, strerror(rerr));
    }
    int rv = skd_config_parse(c, file, text, len, err, errlen);
    free(text);
    return rv;
}
