/* hisgate authentication, the pure part (see hg_auth.h for the contracts). */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include <openssl/crypto.h>

#include "hg_auth.h"
#include "hg_crypto.h"
#include "hg_zip.h"

/* ---------------------------------------------------------------- signed requests */

/* the hg_err.h codes, spelled out so this file does not need that one */
#define E_MALFORMED "HG_AUTH_MALFORMED"
#define E_STALE     "HG_AUTH_STALE_TIMESTAMP"
#define E_BADSIG    "HG_AUTH_BAD_SIGNATURE"

#define TS_MAX_DIGITS 11        /* Unix seconds until the year 5138 */

static const char *alg_lookup(const char *s, apr_size_t n)
{
    if (n == sizeof(HG_AUTH_ALG_SM3) - 1 && !strncasecmp(s, HG_AUTH_ALG_SM3, n))
        return HG_AUTH_ALG_SM3;
    if (n == sizeof(HG_AUTH_ALG_SHA256) - 1 && !strncasecmp(s, HG_AUTH_ALG_SHA256, n))
        return HG_AUTH_ALG_SHA256;
    return NULL;
}

static int is_tchar(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* An HTTP method: a token (RFC 9110), so it can hold no "\n". */
static int valid_method(const char *m)
{
    apr_size_t n = 0;

    if (!m)
        return 0;
    for (; m[n]; n++)
        if (!is_tchar((unsigned char)m[n]) || n >= 32)
            return 0;
    return n > 0;
}

/* The raw request-target: starts with '/', visible ASCII only. A decoded path could carry a
 * "\n" (from %0A) and shift the fields of the string-to-sign, so that is refused here. */
static int valid_target(const char *t)
{
    if (!t || *t != '/')
        return 0;
    for (; *t; t++)
        if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
            return 0;
    return 1;
}

/* Canonical decimal (no sign, no leading zero) so the header's text and the number agree. */
static int valid_ts(const char *s)
{
    apr_size_t n = 0;

    if (!s || (s[0] == '0' && s[1]))
        return 0;
    for (; s[n]; n++)
        if (!apr_isdigit(s[n]) || n >= TS_MAX_DIGITS)
            return 0;
    return n > 0;
}

static int valid_nonce(const char *s)
{
    apr_size_t n;

    if (!s)
        return 0;
    n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
    return s[n] == '\0' && n >= 16 && n <= 64;
}

static int valid_app_id(const char *s)
{
    apr_size_t n;

    if (!s)
        return 0;
    n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
    return s[n] == '\0' && n >= 4 && n <= 64;
}

/* The ten pieces of the string-to-sign; both signing and checking MAC exactly these. */
static void sts_iov(hg_iov_t v[10], const char *method, const char *target, const char *ts,
                    const char *nonce, const void *body, apr_size_t body_len)
{
    int i;

    v[0].d = method;  v[0].n = strlen(method);
    v[2].d = target;  v[2].n = strlen(target);
    v[4].d = ts;      v[4].n = strlen(ts);
    v[6].d = nonce;   v[6].n = strlen(nonce);
    v[8].d = body;    v[8].n = body ? body_len : 0;
    for (i = 1; i < 10; i += 2) {
        v[i].d = "\n";
        v[i].n = 1;
    }
}

static apr_status_t sts_mac(unsigned char mac[32], const char *algorithm, const void *secret,
                            apr_size_t secret_len, const hg_iov_t v[10])
{
    if (!strcmp(algorithm, HG_AUTH_ALG_SM3))
        return hg_hmac_sm3_v(mac, secret, secret_len, v, 10);
    if (!strcmp(algorithm, HG_AUTH_ALG_SHA256))
        return hg_hmac_sha256_v(mac, secret, secret_len, v, 10);
    return HG_EINVALID;
}

static apr_status_t sts_validate(const char *method, const char *target, const char *ts,
                                 const char *nonce, const void *body, apr_size_t body_len)
{
    if (!valid_method(method) || !valid_target(target) || !valid_ts(ts) || !valid_nonce(nonce)
        || (!body && body_len))
        return HG_EINVALID;
    return APR_SUCCESS;
}

apr_status_t hg_auth_string_to_sign(char **sts, apr_size_t *len, apr_pool_t *p, const char *method,
                                    const char *target, const char *timestamp_str, const char *nonce,
                                    const void *body, apr_size_t body_len)
{
    apr_status_t rv;
    hg_iov_t v[10];
    apr_size_t total = 0;
    char *buf, *o;
    int i;

    *sts = NULL;
    *len = 0;
    if (APR_SUCCESS != (rv = sts_validate(method, target, timestamp_str, nonce, body, body_len)))
        goto leave;
    sts_iov(v, method, target, timestamp_str, nonce, body, body_len);
    for (i = 0; i < 10; i++)
        total += v[i].n;
    o = buf = apr_palloc(p, total + 1);
    for (i = 0; i < 10; i++) {
        if (v[i].n)
            memcpy(o, v[i].d, v[i].n);
        o += v[i].n;
    }
    *o = '\0';
    *sts = buf;
    *len = total;
leave:
    return rv;
}

apr_status_t hg_auth_sign(char **b64, apr_pool_t *p, const char *algorithm, const void *secret,
                          apr_size_t secret_len, const char *method, const char *target,
                          const char *timestamp_str, const char *nonce, const void *body,
                          apr_size_t body_len)
{
    apr_status_t rv;
    unsigned char mac[32];
    hg_iov_t v[10];
    const char *alg;

    *b64 = NULL;
    if (!algorithm || !(alg = alg_lookup(algorithm, strlen(algorithm))) || !secret || !secret_len) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (APR_SUCCESS != (rv = sts_validate(method, target, timestamp_str, nonce, body, body_len)))
        goto leave;
    sts_iov(v, method, target, timestamp_str, nonce, body, body_len);
    if (APR_SUCCESS != (rv = sts_mac(mac, alg, secret, secret_len, v)))
        goto leave;
    *b64 = hg_base64_encode(p, mac, sizeof(mac));
leave:
    return rv;
}

char *hg_auth_format_header(apr_pool_t *p, const char *algorithm, const char *app_id,
                            const char *timestamp_str, const char *nonce, const char *signature)
{
    return apr_psprintf(p, "%s app_id=\"%s\",timestamp=\"%s\",nonce=\"%s\",signature=\"%s\"",
                        algorithm, app_id, timestamp_str, nonce, signature);
}

static apr_status_t malformed(const char **errcode, const char **reason, const char *why)
{
    if (errcode)
        *errcode = E_MALFORMED;
    if (reason)
        *reason = why;
    return HG_EAUTH;
}

apr_status_t hg_auth_parse_header(hg_sig_header_t **hdr, apr_pool_t *p, const char *value,
                                  const char **errcode)
{
    return hg_auth_parse_header_ex(hdr, p, value, errcode, NULL);
}

apr_status_t hg_auth_parse_header_ex(hg_sig_header_t **hdr, apr_pool_t *p, const char *value,
                                     const char **errcode, const char **reason)
{
    static const char *const names[4] = { "app_id", "timestamp", "nonce", "signature" };
    const char *vals[4] = { NULL, NULL, NULL, NULL };
    const char *s = value, *alg, *why = NULL, *name = NULL;
    unsigned char sig[33];
    apr_size_t n, siglen = 0;
    hg_sig_header_t *h;
    int i;

    *hdr = NULL;
    if (errcode)
        *errcode = NULL;
    if (reason)
        *reason = NULL;
    if (!value || !*value) {
        why = "empty Authorization header";
        goto leave;
    }
    if (strlen(value) > 1024) {
        why = "Authorization header longer than 1024 characters";
        goto leave;
    }
    n = strcspn(s, " \t");
    if (!(alg = alg_lookup(s, n))) {
        why = apr_psprintf(p, "unknown algorithm '%.*s' (expected " HG_AUTH_ALG_SM3 " or "
                           HG_AUTH_ALG_SHA256 ")", (int)(n > 40 ? 40 : n), s);
        goto leave;
    }
    s += n;
    if (*s != ' ' && *s != '\t') {
        why = "expected parameters after the algorithm";
        goto leave;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    for (;;) {
        n = strspn(s, "abcdefghijklmnopqrstuvwxyz_");
        name = apr_pstrndup(p, s, n);
        for (i = 0; i < 4 && strcmp(names[i], name); i++)
            ;
        if (!n) {
            why = "expected a parameter name (app_id, timestamp, nonce, signature)";
            goto leave;
        }
        if (i == 4) {
            why = apr_psprintf(p, "unknown parameter '%.40s'", name);
            goto leave;
        }
        if (vals[i]) {
            why = apr_psprintf(p, "parameter %s given twice", name);
            goto leave;
        }
        s += n;
        if (*s != '=') {
            why = apr_psprintf(p, "expected '=' after %s", name);
            goto leave;
        }
        if (*++s != '"') {
            why = apr_psprintf(p, "the value of %s must be in double quotes", name);
            goto leave;
        }
        n = strcspn(++s, "\"\\");
        if (s[n] == '\\') {
            why = apr_psprintf(p, "the value of %s contains a backslash", name);
            goto leave;
        }
        if (s[n] != '"') {
            why = apr_psprintf(p, "the value of %s lacks its closing quote", name);
            goto leave;
        }
        vals[i] = apr_pstrndup(p, s, n);
        s += n + 1;
        if (*s == ',') {
            s++;
            while (*s == ' ' || *s == '\t')
                s++;
            continue;
        }
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        why = apr_psprintf(p, "expected ',' after the value of %s", name);
        goto leave;
    }
    for (i = 0; i < 4; i++) {
        if (!vals[i]) {
            why = apr_psprintf(p, "missing %s", names[i]);
            goto leave;
        }
    }
    if (!valid_app_id(vals[0])) {
        why = "app_id must have 4-64 characters of [A-Za-z0-9_.-]";
        goto leave;
    }
    if (!valid_ts(vals[1])) {
        why = "timestamp must be Unix seconds in decimal, without sign or leading zeros";
        goto leave;
    }
    if (!valid_nonce(vals[2])) {
        why = "nonce must have 16-64 characters of [A-Za-z0-9_-]";
        goto leave;
    }
    if (hg_base64_decode_buf(sig, sizeof(sig), &siglen, vals[3], 0) != APR_SUCCESS || siglen != 32) {
        why = "signature must be the Base64 (with padding) of the 32-byte MAC";
        goto leave;
    }
    h = apr_pcalloc(p, sizeof(*h));
    h->algorithm = alg;
    h->app_id = vals[0];
    h->timestamp = apr_atoi64(vals[1]);
    h->nonce = vals[2];
    h->signature = vals[3];
    *hdr = h;
leave:
    return why ? malformed(errcode, reason, why) : APR_SUCCESS;
}

apr_status_t hg_auth_check(const hg_sig_header_t *hdr, const void *secret, apr_size_t secret_len,
                           const char *method, const char *target, const void *body,
                           apr_size_t body_len, apr_int64_t now, apr_int64_t window,
                           const char **errcode)
{
    return hg_auth_check_ex(hdr, secret, secret_len, method, target, body, body_len, now, window,
                            errcode, NULL);
}

apr_status_t hg_auth_check_ex(const hg_sig_header_t *hdr, const void *secret, apr_size_t secret_len,
                              const char *method, const char *target, const void *body,
                              apr_size_t body_len, apr_int64_t now, apr_int64_t window,
                              const char **errcode, const char **reason)
{
    apr_status_t rv = HG_EAUTH;
    const char *code = E_MALFORMED, *why = NULL, *alg;
    unsigned char want[32], got[33];
    apr_size_t gotlen = 0;
    char ts[32];
    hg_iov_t v[10];
    apr_int64_t delta;

    if (errcode)
        *errcode = NULL;
    if (reason)
        *reason = NULL;
    if (!hdr || !hdr->algorithm || !(alg = alg_lookup(hdr->algorithm, strlen(hdr->algorithm)))
        || !valid_nonce(hdr->nonce) || !hdr->signature || hdr->timestamp < 0) {
        why = "incomplete or invalid signature header";
        goto leave;
    }
    if (window <= 0)
        window = HG_AUTH_DEFAULT_WINDOW;
    delta = now - hdr->timestamp;
    if (delta > window || delta < -window) {
        code = E_STALE;
        why = "timestamp is outside the allowed window around the server clock";
        goto leave;
    }
    if (!valid_method(method) || !valid_target(target) || (!body && body_len)) {
        why = "request method or target unusable for signing (control characters or spaces?)";
        goto leave;
    }
    if (hg_base64_decode_buf(got, sizeof(got), &gotlen, hdr->signature, 0) != APR_SUCCESS
        || gotlen != 32) {
        why = "signature must be the Base64 (with padding) of the 32-byte MAC";
        goto leave;
    }
    code = E_BADSIG;
    if (!secret || !secret_len) {       /* fail closed on a misconfigured app */
        why = "no secret for this app";
        goto leave;
    }
    /* the canonical timestamp text equals what the client put in its string-to-sign */
    apr_snprintf(ts, sizeof(ts), "%" APR_INT64_T_FMT, hdr->timestamp);
    sts_iov(v, method, target, ts, hdr->nonce, body, body_len);
    if (sts_mac(want, alg, secret, secret_len, v) != APR_SUCCESS) {
        why = "cannot compute the MAC";
        goto leave;
    }
    if (!hg_ct_equal(want, got, 32)) {
        why = "signature does not match the string-to-sign";
        goto leave;
    }
    rv = APR_SUCCESS;
leave:
    OPENSSL_cleanse(want, sizeof(want));
    if (rv != APR_SUCCESS) {
        if (errcode)
            *errcode = code;
        if (reason)
            *reason = why;
    }
    return rv;
}

/* ---------------------------------------------------------------- passwords */

#define PW_PREFIX     "$pbkdf2-sha256$"
#define PW_MAX_ITER   10000000u
#define PW_SALT_LEN   16
#define PW_HASH_LEN   32

apr_status_t hg_password_hash(char **encoded, apr_pool_t *p, const char *password)
{
    return hg_password_hash_ex(encoded, p, password, HG_PASSWORD_ITERATIONS);
}

apr_status_t hg_password_hash_ex(char **encoded, apr_pool_t *p, const char *password,
                                 unsigned int iterations)
{
    apr_status_t rv;
    unsigned char salt[PW_SALT_LEN], dk[PW_HASH_LEN];

    *encoded = NULL;
    if (!password || !iterations || iterations > PW_MAX_ITER) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (APR_SUCCESS != (rv = hg_random_bytes(salt, sizeof(salt)))
        || APR_SUCCESS != (rv = hg_pbkdf2_sha256(dk, sizeof(dk), password, strlen(password),
                                                 salt, sizeof(salt), iterations)))
        goto leave;
    *encoded = apr_psprintf(p, PW_PREFIX "%u$%s$%s", iterations, hg_base64_encode(p, salt, sizeof(salt)),
                            hg_base64_encode(p, dk, sizeof(dk)));
leave:
    OPENSSL_cleanse(dk, sizeof(dk));
    return rv;
}

/* Split "$pbkdf2-sha256$<it>$<salt>$<hash>" without a pool (verify runs without one). */
static apr_status_t pw_parse(const char *enc, unsigned int *iter, unsigned char *salt, apr_size_t *saltlen,
                             unsigned char *dk, apr_size_t *dklen)
{
    apr_status_t rv = HG_EINVALID;
    const char *s, *d1, *d2;
    char b64[100];
    apr_uint64_t it = 0;

    if (!enc || strncmp(enc, PW_PREFIX, sizeof(PW_PREFIX) - 1))
        goto leave;
    s = enc + sizeof(PW_PREFIX) - 1;
    for (; apr_isdigit(*s) && it <= PW_MAX_ITER; s++)
        it = it * 10 + (apr_uint64_t)(*s - '0');
    if (*s != '$' || it < 1 || it > PW_MAX_ITER)
        goto leave;
    d1 = s + 1;
    if (!(d2 = strchr(d1, '$')) || (apr_size_t)(d2 - d1) >= sizeof(b64))
        goto leave;
    memcpy(b64, d1, (apr_size_t)(d2 - d1));
    b64[d2 - d1] = '\0';
    if (hg_base64_decode_buf(salt, 64, saltlen, b64, 0) != APR_SUCCESS || *saltlen < 8)
        goto leave;
    if (strlen(d2 + 1) >= sizeof(b64) || strchr(d2 + 1, '$')
        || hg_base64_decode_buf(dk, 64, dklen, d2 + 1, 0) != APR_SUCCESS || *dklen < 16)
        goto leave;
    *iter = (unsigned int)it;
    rv = APR_SUCCESS;
leave:
    return rv;
}

apr_status_t hg_password_verify(const char *encoded, const char *password)
{
    apr_status_t rv;
    unsigned char salt[64], want[64], got[64];
    apr_size_t saltlen = 0, wantlen = 0;
    unsigned int iter = 0;

    if (!password) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (APR_SUCCESS != (rv = pw_parse(encoded, &iter, salt, &saltlen, want, &wantlen)))
        goto leave;
    if (APR_SUCCESS != (rv = hg_pbkdf2_sha256(got, wantlen, password, strlen(password), salt,
                                              saltlen, iter)))
        goto leave;
    rv = hg_ct_equal(got, want, wantlen) ? APR_SUCCESS : HG_EAUTH;
leave:
    OPENSSL_cleanse(got, sizeof(got));
    return rv;
}

int hg_password_needs_rehash(const char *encoded, unsigned int min_iterations)
{
    unsigned char salt[64], dk[64];
    apr_size_t saltlen, dklen;
    unsigned int iter = 0;

    if (pw_parse(encoded, &iter, salt, &saltlen, dk, &dklen) != APR_SUCCESS)
        return 1;
    return iter < min_iterations || saltlen < PW_SALT_LEN || dklen < PW_HASH_LEN;
}

/* Lowercased, as found in leaked-password lists; compared case-insensitively. */
static const char *const weak_passwords[] = {
    "123456", "1234567", "12345678", "123456789", "1234567890", "111111", "11111111", "000000",
    "666666", "66666666", "888888", "88888888", "123123", "112233", "5201314", "147258369",
    "password", "password1", "password123", "passw0rd", "p@ssw0rd", "p@ssword", "p@ssw0rd123",
    "qwerty", "qwerty123", "qwe123", "qwer1234", "1qaz2wsx", "1qaz@wsx", "1q2w3e4r", "1q2w3e4r5t",
    "zaq12wsx", "abc123", "abc123456", "a123456", "aa123456", "aa123456789", "abcd@1234",
    "admin", "admin123", "admin888", "admin@123", "admin@1234", "admin@2023", "admin@2024",
    "admin@2025", "administrator", "root", "root123", "sa123456", "test123", "iloveyou",
    "woaini1314", "his123456", "his@123456", "hospital", "hospital123", "hospital@123",
    "yiyuan123", "yiyuan@123", "huawei@123", "welcome1", "welcome@123", "changeme", "changeme@1",
};

/* Rows a 4-character run is taken from (also read backwards). */
static const char *const runs[] = {
    "abcdefghijklmnopqrstuvwxyz", "01234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "!@#$%^&*()",
};

#define R_COMMON   "属于常见弱密码 / is a commonly used password"
#define R_SHORT    "密码至少 10 个字符 / must have at least 10 characters"
#define R_LONG     "密码最多 128 个字符 / must have at most 128 characters"
#define R_CLASSES  "需包含大写字母、小写字母、数字、符号中的至少三类 / needs 3 of: lowercase, uppercase, digit, symbol"
#define R_USER     "不得包含用户名 / must not contain the username"
#define R_REPEAT   "不得有 4 个相同字符相连 / must not repeat a character 4 times in a row"
#define R_SEQUENCE "不得包含连续序列（如 1234、abcd、qwer）/ must not contain a sequence like 1234, abcd or qwer"

static char *lowercase(apr_pool_t *p, const char *s)
{
    char *r = apr_pstrdup(p, s), *c;

    for (c = r; *c; c++)
        *c = (char)apr_tolower(*c);
    return r;
}

static int has_run(const char *lc)
{
    char fwd[5], rev[5];
    apr_size_t r, i, n;

    for (r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
        n = strlen(runs[r]);
        for (i = 0; i + 4 <= n; i++) {
            memcpy(fwd, runs[r] + i, 4);
            fwd[4] = '\0';
            rev[0] = fwd[3]; rev[1] = fwd[2]; rev[2] = fwd[1]; rev[3] = fwd[0]; rev[4] = '\0';
            if (strstr(lc, fwd) || strstr(lc, rev))
                return 1;
        }
    }
    return 0;
}

apr_status_t hg_password_policy_check(apr_pool_t *p, const char *username, const char *password,
                                      const char **reason)
{
    const char *why = NULL, *s;
    apr_size_t chars = 0, i, n;
    int lower = 0, upper = 0, digit = 0, other = 0;
    char *lc;

    *reason = NULL;
    if (!password) {
        why = R_SHORT;
        goto leave;
    }
    lc = lowercase(p, password);
    for (i = 0; i < sizeof(weak_passwords) / sizeof(weak_passwords[0]); i++) {
        if (!strcmp(lc, weak_passwords[i])) {
            why = R_COMMON;
            goto leave;
        }
    }
    for (s = password; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c & 0xc0) != 0x80)         /* count UTF-8 code points, not bytes */
            chars++;
        if (c >= 'a' && c <= 'z')
            lower = 1;
        else if (c >= 'A' && c <= 'Z')
            upper = 1;
        else if (c >= '0' && c <= '9')
            digit = 1;
        else
            other = 1;
    }
    if (chars < 10) {
        why = R_SHORT;
        goto leave;
    }
    if (chars > 128) {
        why = R_LONG;
        goto leave;
    }
    if (lower + upper + digit + other < 3) {
        why = R_CLASSES;
        goto leave;
    }
    if (username && *username) {
        char *lu = lowercase(p, username), *at = strchr(lu, '@');
        if ((strlen(lu) >= 3 && strstr(lc, lu))
            || (at && at - lu >= 3 && strstr(lc, apr_pstrndup(p, lu, (apr_size_t)(at - lu))))) {
            why = R_USER;
            goto leave;
        }
    }
    n = strlen(lc);
    for (i = 0; i + 3 < n; i++) {
        if (lc[i] == lc[i + 1] && lc[i] == lc[i + 2] && lc[i] == lc[i + 3]) {
            why = R_REPEAT;
            goto leave;
        }
    }
    if (has_run(lc)) {
        why = R_SEQUENCE;
        goto leave;
    }
leave:
    *reason = why;
    return why ? HG_EINVALID : APR_SUCCESS;
}

/* ---------------------------------------------------------------- tokens */

apr_status_t hg_token_new(char **tok, apr_pool_t *p)
{
    apr_status_t rv;
    unsigned char r[32];

    *tok = NULL;
    if (APR_SUCCESS != (rv = hg_random_bytes(r, sizeof(r))))
        goto leave;
    *tok = hg_base64url_encode(p, r, sizeof(r));
leave:
    OPENSSL_cleanse(r, sizeof(r));
    return rv;
}

apr_status_t hg_csrf_token(char **tok, apr_pool_t *p, const void *key, apr_size_t keylen,
                           const char *session_id)
{
    apr_status_t rv;
    unsigned char mac[32];

    *tok = NULL;
    if (!key || !keylen || !session_id) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (APR_SUCCESS != (rv = hg_hmac_sha256(mac, key, keylen, session_id, strlen(session_id))))
        goto leave;
    *tok = hg_base64url_encode(p, mac, sizeof(mac));
leave:
    return rv;
}

apr_status_t hg_csrf_check(const void *key, apr_size_t keylen, const char *session_id,
                           const char *token)
{
    apr_status_t rv = HG_EAUTH;
    unsigned char want[32], got[33];
    apr_size_t gotlen = 0;

    if (!key || !keylen || !session_id || !token)
        goto leave;
    if (hg_base64_decode_buf(got, sizeof(got), &gotlen, token, 1) != APR_SUCCESS || gotlen != 32)
        goto leave;
    if (hg_hmac_sha256(want, key, keylen, session_id, strlen(session_id)) != APR_SUCCESS)
        goto leave;
    if (hg_ct_equal(want, got, 32))
        rv = APR_SUCCESS;
leave:
    return rv;
}

/* ---------------------------------------------------------------- secrets at rest */

#define SEAL_TAG "sm4cbc"
/* the packed form of large documents: LZ4-packed before encryption (hg_lz4_pack), base64url
 * fields; its own tag label, so a packed ciphertext never authenticates as the plain form or back.
 * Documents sealed by earlier versions were deflated instead, under their own label. */
#define PACK_TAG "sm4l1"
#define DEFLATE_TAG "sm4z1"

/* Sub-keys from the master key, one label per use, so no key serves two algorithms. */
static apr_status_t derive(unsigned char out[32], const unsigned char master[16], const char *label)
{
    return hg_hmac_sm3(out, master, 16, label, strlen(label));
}

static apr_status_t seal_keys(unsigned char enc[32], unsigned char mac[32], const unsigned char master[16])
{
    apr_status_t rv;

    if (APR_SUCCESS == (rv = derive(enc, master, "hisgate/seal/enc/v1")))
        rv = derive(mac, master, "hisgate/seal/mac/v1");
    return rv;
}

static apr_status_t seal_tag(unsigned char tag[32], const unsigned char mac_key[32], const char *label,
                             const unsigned char *iv, const unsigned char *ct, apr_size_t ctlen)
{
    hg_iov_t v[3] = { { label, strlen(label) }, { iv, 16 }, { ct, ctlen } };

    return hg_hmac_sm3_v(tag, mac_key, 32, v, 3);
}

static apr_status_t seal_as(char **sealed, apr_pool_t *p, const unsigned char key[16], int packed,
                            const void *plaintext, apr_size_t len)
{
    apr_status_t rv;
    unsigned char enc[32], mac[32], iv[16], tag[32], *ct = NULL, *z = NULL;
    apr_size_t ctlen = 0, zlen = 0;

    *sealed = NULL;
    if (!key || (!plaintext && len)) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (packed && APR_SUCCESS != (rv = hg_lz4_pack(&z, &zlen, p, plaintext, len)))
        goto leave;
    if (APR_SUCCESS != (rv = seal_keys(enc, mac, key))
        || APR_SUCCESS != (rv = hg_random_bytes(iv, sizeof(iv)))
        || APR_SUCCESS != (rv = hg_sm4_cbc_encrypt(p, &ct, &ctlen, enc, iv,
                                                   packed ? z : plaintext, packed ? zlen : len))
        || APR_SUCCESS != (rv = seal_tag(tag, mac, packed ? PACK_TAG : SEAL_TAG, iv, ct, ctlen)))
        goto leave;
    if (packed)
        *sealed = apr_pstrcat(p, PACK_TAG ":", hg_base64url_encode(p, iv, 16), ":",
                              hg_base64url_encode(p, ct, ctlen), ":", hg_base64url_encode(p, tag, 32), NULL);
    else
        *sealed = apr_pstrcat(p, SEAL_TAG ":", hg_hex_encode(p, iv, 16, 0), ":",
                              hg_hex_encode(p, ct, ctlen, 0), ":", hg_hex_encode(p, tag, 32, 0), NULL);
leave:
    OPENSSL_cleanse(enc, sizeof(enc));
    OPENSSL_cleanse(mac, sizeof(mac));
    return rv;
}

apr_status_t hg_secret_seal(char **sealed, apr_pool_t *p, const unsigned char key[16],
                            const void *plaintext, apr_size_t len)
{
    return seal_as(sealed, p, key, 0, plaintext, len);
}

apr_status_t hg_secret_seal_packed(char **sealed, apr_pool_t *p, const unsigned char key[16],
                                   const void *plaintext, apr_size_t len)
{
    return seal_as(sealed, p, key, 1, plaintext, len);
}

apr_status_t hg_secret_open(unsigned char **plain, apr_size_t *len, apr_pool_t *p,
                            const unsigned char key[16], const char *sealed)
{
    apr_status_t rv = HG_ECRYPTO;
    unsigned char enc[32], mac[32], want[32], *iv = NULL, *ct = NULL, *tag = NULL, *z = NULL;
    apr_size_t ivlen = 0, ctlen = 0, taglen = 0, zlen = 0;
    apr_status_t (*decode)(unsigned char **, apr_size_t *, apr_pool_t *, const char *);
    char *f[4];
    int i, packed, deflated;

    *plain = NULL;
    *len = 0;
    memset(enc, 0, sizeof(enc));
    memset(mac, 0, sizeof(mac));
    if (!key || !sealed) {
        rv = HG_EINVALID;
        goto leave;
    }
    f[0] = apr_pstrdup(p, sealed);
    for (i = 1; i < 4; i++) {
        if (!(f[i] = strchr(f[i - 1], ':')))
            goto leave;
        *f[i]++ = '\0';
    }
    deflated = !strcmp(f[0], DEFLATE_TAG);
    packed = deflated || !strcmp(f[0], PACK_TAG);
    decode = packed ? hg_base64url_decode : hg_hex_decode;
    if (strchr(f[3], ':') || (!packed && strcmp(f[0], SEAL_TAG))
        || decode(&iv, &ivlen, p, f[1]) != APR_SUCCESS || ivlen != 16
        || decode(&ct, &ctlen, p, f[2]) != APR_SUCCESS || !ctlen || ctlen % 16
        || decode(&tag, &taglen, p, f[3]) != APR_SUCCESS || taglen != 32)
        goto leave;
    if (seal_keys(enc, mac, key) != APR_SUCCESS
        || seal_tag(want, mac, f[0], iv, ct, ctlen) != APR_SUCCESS)
        goto leave;
    /* authenticate before decrypting: no padding oracle */
    if (!hg_ct_equal(want, tag, 32))
        goto leave;
    if (hg_sm4_cbc_decrypt(p, packed ? &z : plain, packed ? &zlen : len, enc, iv, ct, ctlen) != APR_SUCCESS)
        goto leave;
    if (packed && (deflated ? hg_inflate_raw : hg_lz4_unpack)(plain, len, p, z, zlen) != APR_SUCCESS) {
        *plain = NULL;
        *len = 0;
        goto leave;
    }
    rv = APR_SUCCESS;
leave:
    OPENSSL_cleanse(enc, sizeof(enc));
    OPENSSL_cleanse(mac, sizeof(mac));
    return rv;
}

apr_status_t hg_keyed_index(char **hex, apr_pool_t *p, const unsigned char key[16], const char *value)
{
    apr_status_t rv;
    unsigned char k[32], mac[32];

    *hex = NULL;
    if (!key || !value) {
        rv = HG_EINVALID;
        goto leave;
    }
    if (APR_SUCCESS != (rv = derive(k, key, "hisgate/index/v1"))
        || APR_SUCCESS != (rv = hg_hmac_sm3(mac, k, sizeof(k), value, strlen(value))))
        goto leave;
    *hex = hg_hex_encode(p, mac, sizeof(mac), 0);
leave:
    OPENSSL_cleanse(k, sizeof(k));
    return rv;
}
