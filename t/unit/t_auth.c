/* Unit tests for common/hg_auth.c: header grammar, request signatures (with a known answer made by
 * the openssl command line), passwords and their policy, CSRF, sealed secrets, keyed indexes. */
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
#include <ctype.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "tap.h"
#include "hg_auth.h"
#include "hg_crypto.h"

static apr_pool_t *pool;
static char dir[] = "/tmp/t_auth.XXXXXX";

static void write_file(const char *name, const void *d, apr_size_t n)
{
    FILE *f = fopen(apr_pstrcat(pool, dir, "/", name, NULL), "wb");
    if (!f || fwrite(d, 1, n, f) != n) {
        printf("Bail out! cannot write %s/%s\n", dir, name);
        exit(2);
    }
    fclose(f);
}

/* Run a shell command in the temp dir; returns its exit status and (trimmed) output. */
static int run(char **out, const char *fmt, ...)
{
    char cmd[4096], buf[8192];
    size_t n = 0, r;
    va_list ap;
    FILE *f;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    f = popen(apr_psprintf(pool, "cd %s && (%s) 2>&1 </dev/null", dir, cmd), "r");
    if (!f)
        return -1;
    while (n < sizeof(buf) - 1 && (r = fread(buf + n, 1, sizeof(buf) - 1 - n, f)) > 0)
        n += r;
    buf[n] = '\0';
    while (n && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    st = pclose(f);
    if (out)
        *out = apr_pstrdup(pool, buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *hex(const void *d, apr_size_t n)
{
    return hg_hex_encode(pool, d, n, 0);
}

static int contains(const char *s, const char *what)
{
    return s && strstr(s, what) != NULL;
}

/* ---- header parsing ---- */

#define SIG44 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="     /* 32 zero bytes */

static void expect_malformed(const char *value, const char *reason_part, const char *what)
{
    hg_sig_header_t *h = (hg_sig_header_t *)1;
    const char *code = NULL, *reason = NULL;
    apr_status_t rv = hg_auth_parse_header_ex(&h, pool, value, &code, &reason);

    tap_ok(rv == HG_EAUTH && h == NULL && code && !strcmp(code, "HG_AUTH_MALFORMED")
           && contains(reason, reason_part), "%s -> HG_AUTH_MALFORMED (%s)", what,
           reason ? reason : "no reason");
}

static void t_parse(void)
{
    hg_sig_header_t *h;
    const char *code = "x", *reason = "x";
    char n64[65];

    tap_is_int(hg_auth_parse_header(&h, pool, "HG1-HMAC-SM3 app_id=\"his01\",timestamp=\"1700000000\","
                                    "nonce=\"abcdefghij_-0123\",signature=\"" SIG44 "\"", &code),
               APR_SUCCESS, "good header parses");
    tap_ok(h && !strcmp(h->algorithm, HG_AUTH_ALG_SM3) && !strcmp(h->app_id, "his01")
           && h->timestamp == 1700000000 && !strcmp(h->nonce, "abcdefghij_-0123")
           && !strcmp(h->signature, SIG44), "fields of the good header");
    tap_ok(code == NULL, "no errcode on success");
    tap_is_int(hg_auth_parse_header_ex(&h, pool, "hg1-hmac-sha256   signature=\"" SIG44 "\",  nonce="
                                       "\"ABCDEFGHIJKLMNOP\",\ttimestamp=\"9\", app_id=\"a.b-c_d\"  ", &code, &reason),
               APR_SUCCESS, "any order, spaces after commas and at the end, scheme in lowercase");
    tap_ok(h && !strcmp(h->algorithm, HG_AUTH_ALG_SHA256) && h->timestamp == 9 && !strcmp(h->app_id, "a.b-c_d"),
           "algorithm comes back in canonical spelling");

    expect_malformed("HG1-HMAC-SM3 app_id=\"his01\",timestamp=\"1700000000\",signature=\"" SIG44 "\"",
                     "missing nonce", "missing nonce");
    expect_malformed("HG1-HMAC-SM3 app_id=\"his01\",nonce=\"abcdefghij_-0123\",signature=\"" SIG44 "\"",
                     "missing timestamp", "missing timestamp");
    expect_malformed("HG1-HMAC-SM3", "expected parameters", "scheme only");
    expect_malformed("", "empty", "empty value");
    expect_malformed(NULL, "empty", "NULL value");
    expect_malformed("HG1-HMAC-SM3 app_id=his01,timestamp=\"1700000000\",nonce=\"abcdefghij_-0123\",signature=\"" SIG44 "\"",
                     "double quotes", "unquoted value");
    expect_malformed("HG1-HMAC-SM3 app_id='his01',timestamp=\"1700000000\",nonce=\"abcdefghij_-0123\",signature=\"" SIG44 "\"",
                     "double quotes", "single quotes");
    expect_malformed("HG1-HMAC-SM3 app_id=\"his01,timestamp=1700000000", "closing quote", "unterminated quote");
    expect_malformed("HG1-HMAC-SM3 app_id=\"his\\\"01\",timestamp=\"1700000000\",nonce=\"abcdefghij_-0123\",signature=\"" SIG44 "\"",
                     "backslash", "escaped quote");
    expect_malformed("HG1-HMAC-SM3 app_id = \"his01\",timestamp=\"1700000000\",nonce=\"abcdefghij_-0123\",signature=\"" SIG44 "\"",
                     "expected '='", "space around =");
    expect_malformed("HG1-HMAC-SM3 app_id=\"his01\" ,timestamp=\"1700000000\",nonce=\"abcdefghij_-0123\",signature=\"" SIG44 "\"",
                     "expected ','", "space before comma");
    expect_malformed("HG1-HMAC-SM3 app_id=\"his01\"timestamp=\"1700000000\",nonce=\"abcdefghij_-0123\",signature=\"" SIG44 "\"",
                     "expected ','", "no comma");
    expect_malformed("HG1-HMAC-SM3 app_id=\"his01\",timestamp=\"1700000000\",nonce=\"abcdefghij_-0123\",signature=\"" SIG44 "\",",
                     "parameter name", "trailing comma");
    expect_malformed("HG1-HMAC-MD5 app_id=\"his01\",timestamp=\"1700000000\",nonce=\"abcdefghij_-0123\",signature=\"" SIG44 "\"",
                     "unknown algorithm 'HG1-HMAC-MD5'", "unknown algorithm");
    expect_malformed("Bearer abc", "unknown algorithm", "other scheme");
    expect_malformed("HG1-HMAC-SM3 app_id=\"his01\",app_id=\"his02\",timestamp=\"1700000000\",nonce=\"abcdefghij_-0123\",signature=\"" SIG44 "\"",
                     "given twice", "duplicate parameter");
    expect_malformed("HG1-HMAC-SM3 app_id=\"his01\",timestamp=\"1700000000\",nonce=\"abcdefghij_-0123\",signature=\"" SIG44 "\",realm=\"x\"",
                     "unknown parameter 'realm'", "unknown parameter");
    expect_malformed("HG1-HMAC-SM3 app_id=\"his01\",timestamp=\"1700000000\",nonce=\"abcdefghij_-012\",signature=\"" SIG44 "\"",
                     "nonce must", "nonce of 15 characters");
    memset(n64, 'n', 64);
    n64[64] = '\0';
    tap_is_int(hg_auth_parse_header(&h, pool, apr_psprintf(pool, "HG1-HMAC-SM3 app_id=\"his01\",timestamp=\"1700000000\","
                                    "nonce=\"%s\",signature=\"" SIG44 "\"", n64), &code), APR_SUCCESS, "nonce of 64 characters ok");
    expect_malformed(apr_psprintf(pool, "HG1-HMAC-SM3 app_id=\"his01\",timestamp=\"1700000000\",nonce=\"%sn\",signature=\""
                                  SIG44 "\"", n64), "nonce must", "nonce of 65 characters");
    expect_malformed("HG1-HMAC-SM3 app_id=\"his01\",timestamp=\"1700000000\",nonce=\"abcdefghij.01234\",signature=\"" SIG44 "\"",
                     "nonce must", "nonce with '.'");
    expect_malformed("HG1-HMAC-SM3 app_id=\"his01\",timestamp=\"1700000000\",nonce=\"abcdefghij 01234\",signature=\"" SIG44 "\"",
                     "nonce must", "nonce with a space");
    expect_malformed("HG1-HMAC-SM3 app_id=\"his01\",timestamp=\"01700000000\",nonce=\"abcdefghij_-0123\",signature=\"" SIG44 "\"",
                     "timestamp must", "timestamp with a leading zero");
    expect_malformed("HG1-HMAC-SM3 app_id=\"his01\",timestamp=\"1700000000.5\",nonce=\"abcdefghij_-0123\",signature=\"" SIG44 "\"",
                     "timestamp must", "fractional timestamp");
    expect_malformed("HG1-HMAC-SM3 app_id=\"his01\",timestamp=\"-1\",nonce=\"abcdefghij_-0123\",signature=\"" SIG44 "\"",
                     "timestamp must", "negative timestamp");
    expect_malformed("HG1-HMAC-SM3 app_id=\"his\",timestamp=\"1700000000\",nonce=\"abcdefghij_-0123\",signature=\"" SIG44 "\"",
                     "app_id must", "app_id of 3 characters");
    expect_malformed("HG1-HMAC-SM3 app_id=\"his01\",timestamp=\"1700000000\",nonce=\"abcdefghij_-0123\",signature=\"AAAA\"",
                     "signature must", "signature of 3 bytes");
    expect_malformed("HG1-HMAC-SM3 app_id=\"his01\",timestamp=\"1700000000\",nonce=\"abcdefghij_-0123\",signature=\""
                     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"", "signature must", "unpadded signature");
    tap_is_int(hg_auth_parse_header(&h, pool, "HG1-HMAC-SM3 nonce=\"x\"", NULL), HG_EAUTH,
               "NULL errcode pointer is allowed");
}

/* ---- signatures ---- */

static void t_sign_check(void)
{
    static const char *algs[2] = { HG_AUTH_ALG_SM3, HG_AUTH_ALG_SHA256 };
    const char *secret = "his-secret-0123456789abcdef", *body = "{\"patientId\":\"P001\",\"amount\":\"12.50\"}";
    const char *target = "/api/v1/orders?inst=H001&page=2", *nonce = "n0nce-0123456789_AB", *code, *reason;
    apr_int64_t now = 1700000000;
    hg_sig_header_t *h;
    char *sig, *ts;
    int a;

    for (a = 0; a < 2; a++) {
        const char *alg = algs[a];
        ts = apr_psprintf(pool, "%" APR_INT64_T_FMT, now);
        tap_is_int(hg_auth_sign(&sig, pool, alg, secret, strlen(secret), "POST", target, ts, nonce, body,
                                strlen(body)), APR_SUCCESS, "%s: sign", alg);
        tap_is_int(hg_auth_parse_header(&h, pool, hg_auth_format_header(pool, alg, "his01", ts, nonce, sig), &code),
                   APR_SUCCESS, "%s: the formatted header parses", alg);
        tap_is_int(hg_auth_check(h, secret, strlen(secret), "POST", target, body, strlen(body), now, 300, &code),
                   APR_SUCCESS, "%s: sign then check", alg);
#define CHECK_FAILS(want, what, ...) do { \
            apr_status_t rv_; \
            code = reason = NULL; \
            rv_ = hg_auth_check_ex(__VA_ARGS__, &code, &reason); \
            tap_ok(rv_ == HG_EAUTH && code && !strcmp(code, want) && reason, \
                   "%s: %s -> %s (%s)", alg, what, want, reason ? reason : "no reason"); \
        } while (0)
        CHECK_FAILS("HG_AUTH_BAD_SIGNATURE", "tampered body", h, secret, strlen(secret), "POST", target,
                    "{\"patientId\":\"P001\",\"amount\":\"92.50\"}", strlen(body), now, 300);
        CHECK_FAILS("HG_AUTH_BAD_SIGNATURE", "body dropped", h, secret, strlen(secret), "POST", target, NULL, 0, now, 300);
        CHECK_FAILS("HG_AUTH_BAD_SIGNATURE", "wrong method", h, secret, strlen(secret), "PUT", target, body,
                    strlen(body), now, 300);
        CHECK_FAILS("HG_AUTH_BAD_SIGNATURE", "wrong target", h, secret, strlen(secret), "POST",
                    "/api/v1/orders?inst=H001&page=3", body, strlen(body), now, 300);
        CHECK_FAILS("HG_AUTH_BAD_SIGNATURE", "wrong secret", h, "his-secret-0123456789abcdeF", strlen(secret), "POST",
                    target, body, strlen(body), now, 300);
        CHECK_FAILS("HG_AUTH_BAD_SIGNATURE", "empty secret", h, "", 0, "POST", target, body, strlen(body), now, 300);
        CHECK_FAILS("HG_AUTH_MALFORMED", "target with a newline", h, secret, strlen(secret), "POST",
                    "/api/v1/orders\n1700000000", body, strlen(body), now, 300);
        /* header says one algorithm, MAC made with the other */
        {
            hg_sig_header_t other = *h;
            other.algorithm = algs[1 - a];
            CHECK_FAILS("HG_AUTH_BAD_SIGNATURE", "MAC of the other algorithm", &other, secret, strlen(secret),
                        "POST", target, body, strlen(body), now, 300);
        }
        /* the time window, each signed properly for its own timestamp */
        {
            static const int offsets[] = { -301, 301, -299, 299, -300, 300 };
            int i;
            for (i = 0; i < 6; i++) {
                ts = apr_psprintf(pool, "%" APR_INT64_T_FMT, now + offsets[i]);
                hg_auth_sign(&sig, pool, alg, secret, strlen(secret), "POST", target, ts, nonce, body, strlen(body));
                hg_auth_parse_header(&h, pool, hg_auth_format_header(pool, alg, "his01", ts, nonce, sig), &code);
                if (abs(offsets[i]) > 300)
                    CHECK_FAILS("HG_AUTH_STALE_TIMESTAMP", apr_psprintf(pool, "timestamp %+d s", offsets[i]), h, secret,
                                strlen(secret), "POST", target, body, strlen(body), now, 300);
                else
                    tap_is_int(hg_auth_check(h, secret, strlen(secret), "POST", target, body, strlen(body), now, 300,
                                             &code), APR_SUCCESS, "%s: timestamp %+d s passes", alg, offsets[i]);
            }
            tap_is_int(hg_auth_check(h, secret, strlen(secret), "POST", target, body, strlen(body), now + 301 + 300,
                                     0, &code), HG_EAUTH, "%s: window 0 means the default 300 s", alg);
            ts = apr_psprintf(pool, "%" APR_INT64_T_FMT, now - 301);
            hg_auth_sign(&sig, pool, alg, secret, strlen(secret), "POST", target, ts, nonce, body, strlen(body));
            hg_auth_parse_header(&h, pool, hg_auth_format_header(pool, alg, "his01", ts, nonce, sig), &code);
            tap_is_int(hg_auth_check(h, secret, strlen(secret), "POST", target, body, strlen(body), now, 600, &code),
                       APR_SUCCESS, "%s: a 600 s window accepts 301 s", alg);
        }
    }
    tap_is_int(hg_auth_sign(&sig, pool, "HG1-HMAC-MD5", secret, 3, "POST", "/x", "1", nonce, "", 0), HG_EINVALID,
               "sign: unknown algorithm refused");
    tap_is_int(hg_auth_sign(&sig, pool, HG_AUTH_ALG_SM3, secret, 3, "POST", "/x", "1", "short", "", 0), HG_EINVALID,
               "sign: short nonce refused");
    tap_is_int(hg_auth_sign(&sig, pool, HG_AUTH_ALG_SM3, secret, 3, "POST", "/x", "0123", nonce, "", 0), HG_EINVALID,
               "sign: non-canonical timestamp refused");
    tap_is_int(hg_auth_sign(&sig, pool, HG_AUTH_ALG_SM3, secret, 3, "POST", "x", "1", nonce, "", 0), HG_EINVALID,
               "sign: target without leading / refused");
    tap_is_int(hg_auth_sign(&sig, pool, HG_AUTH_ALG_SM3, secret, 3, "PO ST", "/x", "1", nonce, "", 0), HG_EINVALID,
               "sign: method with a space refused");
}

/* A known answer made by the openssl command line over a literal string-to-sign. */
static void t_known_answer(void)
{
    const char *secret = "his-secret-0123456789abcdef";
    const char *body = "{\"name\":\"张三\",\"idType\":\"01\"}";
    const char *want_sts = "POST\n/api/v1/patients/register?inst=H001\n1700000000\nn0nce-0123456789_AB\n"
                           "{\"name\":\"张三\",\"idType\":\"01\"}\n";
    char *sts, *sig, *cli;
    apr_size_t len;
    const char *code;
    hg_sig_header_t *h;
    static const char nul_body[] = { 'a', '\0', 'b' };

    tap_is_int(hg_auth_string_to_sign(&sts, &len, pool, "POST", "/api/v1/patients/register?inst=H001", "1700000000",
                                      "n0nce-0123456789_AB", body, strlen(body)), APR_SUCCESS, "string-to-sign");
    tap_is_str(sts, want_sts, "string-to-sign is METHOD\\nTARGET\\nTS\\nNONCE\\nBODY\\n");
    tap_is_int(len, strlen(want_sts), "string-to-sign length");
    write_file("sts.txt", want_sts, strlen(want_sts));

    hg_auth_sign(&sig, pool, HG_AUTH_ALG_SM3, secret, strlen(secret), "POST", "/api/v1/patients/register?inst=H001",
                 "1700000000", "n0nce-0123456789_AB", body, strlen(body));
    run(&cli, "openssl mac -digest SM3 -macopt hexkey:%s -binary -in sts.txt HMAC | openssl base64 -A",
        hex(secret, strlen(secret)));
    tap_is_str(sig, cli, "HG1-HMAC-SM3 signature = openssl mac -digest SM3 over the string-to-sign");
    tap_ok(strlen(cli) == 44, "(the command line produced a 44-character Base64 MAC)");
    tap_is_int(hg_auth_parse_header(&h, pool, hg_auth_format_header(pool, HG_AUTH_ALG_SM3, "his01", "1700000000",
                                    "n0nce-0123456789_AB", cli), &code), APR_SUCCESS, "CLI-signed header parses");
    tap_is_int(hg_auth_check(h, secret, strlen(secret), "POST", "/api/v1/patients/register?inst=H001", body,
                             strlen(body), 1700000100, 300, &code), APR_SUCCESS, "CLI-signed request checks");

    hg_auth_sign(&sig, pool, HG_AUTH_ALG_SHA256, secret, strlen(secret), "POST",
                 "/api/v1/patients/register?inst=H001", "1700000000", "n0nce-0123456789_AB", body, strlen(body));
    run(&cli, "openssl mac -digest SHA256 -macopt hexkey:%s -binary -in sts.txt HMAC | openssl base64 -A",
        hex(secret, strlen(secret)));
    tap_is_str(sig, cli, "HG1-HMAC-SHA256 signature = openssl mac -digest SHA256 over the string-to-sign");

    tap_ok(hg_auth_string_to_sign(&sts, &len, pool, "PUT", "/b", "1", "n0nce-0123456789_AB", nul_body, 3) == APR_SUCCESS
           && len == strlen("PUT\n/b\n1\nn0nce-0123456789_AB\n") + 4 && !memcmp(sts + len - 4, "a\0b\n", 4),
           "a body with a NUL byte is signed whole");
}

/* ---- passwords ---- */

static void t_passwords(void)
{
    char *enc, *enc2, *cli, **parts = NULL;
    unsigned char *salt, *dk;
    apr_size_t saltlen = 0, dklen = 0;
    char *tok, *last, *copy;
    int n = 0;

    tap_is_int(hg_password_hash_ex(&enc, pool, "Correct-Horse-9", 1000), APR_SUCCESS, "hash (1000 iterations)");
    tap_ok(!strncmp(enc, "$pbkdf2-sha256$1000$", 20), "encoded form starts with $pbkdf2-sha256$1000$: %s", enc);
    parts = apr_pcalloc(pool, 8 * sizeof(char *));
    copy = apr_pstrdup(pool, enc);
    for (tok = apr_strtok(copy, "$", &last); tok && n < 8; tok = apr_strtok(NULL, "$", &last))
        parts[n++] = tok;
    tap_ok(n == 4 && hg_base64_decode(&salt, &saltlen, pool, parts[2]) == APR_SUCCESS && saltlen == 16
           && hg_base64_decode(&dk, &dklen, pool, parts[3]) == APR_SUCCESS && dklen == 32,
           "16-byte salt and 32-byte hash in Base64");
    if (n == 4) {
        run(&cli, "openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt pass:Correct-Horse-9 -kdfopt hexsalt:%s "
                  "-kdfopt iter:1000 PBKDF2 | tr -d ':' | tr A-F a-f", hex(salt, saltlen));
        tap_is_str(hex(dk, dklen), cli, "stored hash = openssl kdf PBKDF2 with the stored salt");
    }
    else {
        tap_ok(0, "stored hash = openssl kdf PBKDF2 with the stored salt");
    }
    tap_is_int(hg_password_verify(enc, "Correct-Horse-9"), APR_SUCCESS, "right password verifies");
    tap_is_int(hg_password_verify(enc, "Correct-Horse-8"), HG_EAUTH, "wrong password -> HG_EAUTH");
    tap_is_int(hg_password_verify(enc, ""), HG_EAUTH, "empty password -> HG_EAUTH");
    hg_password_hash_ex(&enc2, pool, "Correct-Horse-9", 1000);
    tap_ok(strcmp(enc, enc2) != 0, "same password, different salt, different string");
    tap_is_int(hg_password_verify("$pbkdf2-sha512$1000$c2FsdHNhbHRzYWx0c2FsdA==$AAAAAAAAAAAAAAAAAAAAAA==", "x"),
               HG_EINVALID, "other scheme -> HG_EINVALID");
    tap_is_int(hg_password_verify("$pbkdf2-sha256$0$c2FsdHNhbHRzYWx0c2FsdA==$AAAAAAAAAAAAAAAAAAAAAA==", "x"),
               HG_EINVALID, "0 iterations -> HG_EINVALID");
    tap_is_int(hg_password_verify("$pbkdf2-sha256$99999999999$c2FsdHNhbHRzYWx0c2FsdA==$AAAAAAAAAAAAAAAAAAAAAA==", "x"),
               HG_EINVALID, "absurd iteration count -> HG_EINVALID");
    tap_is_int(hg_password_verify("$pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0c2FsdA==", "x"), HG_EINVALID,
               "missing hash -> HG_EINVALID");
    tap_is_int(hg_password_verify("$pbkdf2-sha256$1000$c2Fs*HNhbHRzYWx0c2FsdA==$AAAAAAAAAAAAAAAAAAAAAA==", "x"),
               HG_EINVALID, "bad Base64 -> HG_EINVALID");
    tap_is_int(hg_password_verify(NULL, "x"), HG_EINVALID, "NULL hash -> HG_EINVALID");
    tap_ok(hg_password_needs_rehash(enc, HG_PASSWORD_ITERATIONS) && !hg_password_needs_rehash(enc, 1000),
           "needs_rehash follows the iteration count");
    {
        apr_time_t t0 = apr_time_now();
        tap_is_int(hg_password_hash(&enc, pool, "Correct-Horse-9"), APR_SUCCESS, "hash with the default count");
        tap_diag("one hash at the default count took %d ms", (int)((apr_time_now() - t0) / 1000));
    }
    tap_ok(!strncmp(enc, apr_psprintf(pool, "$pbkdf2-sha256$%d$", HG_PASSWORD_ITERATIONS), 22)
           && HG_PASSWORD_ITERATIONS >= 210000, "default count is %d", HG_PASSWORD_ITERATIONS);
    tap_is_int(hg_password_verify(enc, "Correct-Horse-9"), APR_SUCCESS, "and it verifies");
}

static void policy_rejects(const char *user, const char *pw, const char *reason_part, const char *what)
{
    const char *reason = NULL;
    apr_status_t rv = hg_password_policy_check(pool, user, pw, &reason);

    tap_ok(rv == HG_EINVALID && contains(reason, reason_part),
           "policy rejects %s: '%s' (%s)", what, pw, reason ? reason : "accepted");
}

static void t_policy(void)
{
    static const char *common[] = { "admin123", "Aa123456", "123456", "password", "qwerty", "88888888", "his123456",
                                    "Woaini1314", "Huawei@123", "ADMIN@2024" };
    const char *reason = "x";
    char *longpw;
    size_t i;

    for (i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        policy_rejects("zhangsan", common[i], "commonly used", "a common password");
    policy_rejects("zhangsan", "Tq7#vLp2x", "at least 10", "9 characters");
    policy_rejects("zhangsan", "医院Ab1!xy", "at least 10", "8 code points in 14 bytes");
    longpw = apr_pstrcat(pool, "Tq7#", apr_psprintf(pool, "%0125d", 5), NULL);
    for (i = 4; longpw[i]; i++)
        longpw[i] = "vLp2@xNwKr"[i % 10];
    policy_rejects("zhangsan", longpw, "at most 128", "129 characters");
    policy_rejects("zhangsan", "correcthorsebattery", "3 of", "lowercase only");
    policy_rejects("zhangsan", "CorrectHorseBattery", "3 of", "two classes");
    policy_rejects("zhangsan", "Zhangsan#2024", "username", "the username");
    policy_rejects("Zhang.San@rmyy", "my.ZHANG.san!97x", "username", "the part of the username before @");
    policy_rejects("zhangsan", "Tq7#vvvvLp2x", "4 times", "4 repeated characters");
    policy_rejects("zhangsan", "Tq7#VvVvLp2x", "4 times", "4 repeated characters in mixed case");
    policy_rejects("zhangsan", "Tq7#6789Lpx!", "sequence", "an ascending digit run");
    policy_rejects("zhangsan", "Tq7#dcbaLp2x", "sequence", "a descending letter run");
    policy_rejects("zhangsan", "Tq7#aSdFLp2x", "sequence", "a keyboard row");
    policy_rejects("zhangsan", "Tq7vL!@#$p2x", "sequence", "a shifted digit row");
    tap_is_int(hg_password_policy_check(pool, "zhangsan", "Tq7#vLp2@xNw", &reason), APR_SUCCESS,
               "a strong password passes");
    tap_ok(reason == NULL, "and leaves no reason");
    tap_is_int(hg_password_policy_check(pool, "li", "Tq7#vLp2@xNwli", &reason), APR_SUCCESS,
               "a 2-character username inside the password does not count");
    tap_is_int(hg_password_policy_check(pool, "zhangsan", "医院密码很安全Ab1", &reason), APR_SUCCESS,
               "10 code points of mixed Chinese and ASCII pass");
}

/* ---- tokens ---- */

static void t_tokens(void)
{
    const unsigned char key[16] = "0123456789abcdef";
    char *t1, *t2, *csrf, *cli;

    tap_ok(hg_token_new(&t1, pool) == APR_SUCCESS && hg_token_new(&t2, pool) == APR_SUCCESS
           && strlen(t1) == 43 && strcmp(t1, t2) != 0, "session tokens: 43 characters, not repeated");
    tap_ok(strspn(t1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43,
           "session token is base64url");
    tap_is_int(hg_csrf_token(&csrf, pool, key, 16, t1), APR_SUCCESS, "csrf token");
    write_file("sid", t1, strlen(t1));
    run(&cli, "openssl mac -digest SHA256 -macopt hexkey:%s -binary -in sid HMAC | openssl base64 -A | "
              "tr '+/' '-_' | tr -d '='", hex(key, 16));
    tap_is_str(csrf, cli, "CSRF token = base64url(HMAC-SHA256(key, session id)) by the command line");
    tap_is_int(hg_csrf_check(key, 16, t1, csrf), APR_SUCCESS, "csrf check passes");
    tap_is_int(hg_csrf_check(key, 16, t2, csrf), HG_EAUTH, "csrf token of another session -> HG_EAUTH");
    tap_is_int(hg_csrf_check((const unsigned char *)"0123456789abcdeF", 16, t1, csrf), HG_EAUTH,
               "csrf under another key -> HG_EAUTH");
    tap_is_int(hg_csrf_check(key, 16, t1, apr_pstrndup(pool, csrf, 42)), HG_EAUTH, "truncated csrf -> HG_EAUTH");
    tap_is_int(hg_csrf_check(key, 16, t1, apr_pstrcat(pool, csrf, "=", NULL)), HG_EAUTH, "padded csrf -> HG_EAUTH");
    csrf[5] = csrf[5] == 'A' ? 'B' : 'A';
    tap_is_int(hg_csrf_check(key, 16, t1, csrf), HG_EAUTH, "altered csrf -> HG_EAUTH");
    tap_is_int(hg_csrf_check(key, 16, t1, NULL), HG_EAUTH, "missing csrf -> HG_EAUTH");
    tap_is_int(hg_csrf_check(key, 16, t1, ""), HG_EAUTH, "empty csrf -> HG_EAUTH");
}

/* ---- sealed secrets and keyed indexes ---- */

static void t_seal(void)
{
    const unsigned char key[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                    0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
    const unsigned char other[16] = { 1 };
    const char *secret = "app-secret: 8f3Kq!z 中文";
    char *sealed, *sealed2, *bad, *enc_key, *mac_key, *cli, *idx, *idx2, **f, *last;
    unsigned char *plain;
    apr_size_t len;
    int n = 0;

    tap_is_int(hg_secret_seal(&sealed, pool, key, secret, strlen(secret)), APR_SUCCESS, "seal");
    tap_ok(!strncmp(sealed, "sm4cbc:", 7) && strlen(sealed) == 7 + 32 + 1 + 2 * 32 + 1 + 64,
           "sealed = sm4cbc:<32 hex iv>:<hex ct>:<64 hex tag>: %s", sealed);
    tap_ok(hg_secret_open(&plain, &len, pool, key, sealed) == APR_SUCCESS && len == strlen(secret)
           && !strcmp((char *)plain, secret), "open gives the secret back");
    hg_secret_seal(&sealed2, pool, key, secret, strlen(secret));
    tap_ok(strcmp(sealed, sealed2) != 0, "random IV: two seals differ");
    tap_ok(hg_secret_seal(&sealed2, pool, key, "", 0) == APR_SUCCESS
           && hg_secret_open(&plain, &len, pool, key, sealed2) == APR_SUCCESS && len == 0, "empty secret round trip");
    tap_ok(hg_secret_seal(&sealed2, pool, key, "a\0b", 3) == APR_SUCCESS
           && hg_secret_open(&plain, &len, pool, key, sealed2) == APR_SUCCESS && len == 3 && !memcmp(plain, "a\0b", 3),
           "binary secret round trip");

    /* the documented construction, rebuilt with the command line */
    f = apr_pcalloc(pool, 5 * sizeof(char *));
    for (cli = apr_strtok(apr_pstrdup(pool, sealed), ":", &last); cli && n < 5; cli = apr_strtok(NULL, ":", &last))
        f[n++] = cli;
    run(&enc_key, "printf %%s hisgate/seal/enc/v1 | openssl mac -digest SM3 -macopt hexkey:%s HMAC | cut -c1-32",
        hex(key, 16));
    run(&mac_key, "printf %%s hisgate/seal/mac/v1 | openssl mac -digest SM3 -macopt hexkey:%s HMAC", hex(key, 16));
    if (n == 4) {
        run(&cli, "perl -e 'print pack(q(H*), $ARGV[0])' %s > ct.bin; openssl enc -d -sm4-cbc -K %s -iv %s -in ct.bin", f[2],
            enc_key, f[1]);
        tap_is_str(cli, secret, "openssl enc -d -sm4-cbc with HMAC-SM3(master, enc label)[0..16) decrypts");
        run(&cli, "(printf sm4cbc; perl -e 'print pack(q(H*), $ARGV[0])' %s%s) | openssl mac -digest SM3 -macopt hexkey:%s HMAC "
                  "| tr A-F a-f", f[1], f[2], mac_key);
        tap_is_str(cli, f[3], "tag = HMAC-SM3(mac key, \"sm4cbc\" || iv || ct) by the command line");
    }
    else {
        tap_ok(0, "sealed string has 4 fields");
        tap_ok(0, "sealed string has 4 fields");
    }

    tap_is_int(hg_secret_open(&plain, &len, pool, other, sealed), HG_ECRYPTO, "wrong master key -> HG_ECRYPTO");
#define TAMPER(pos, what) do { \
        bad = apr_pstrdup(pool, sealed); \
        bad[pos] = bad[pos] == '0' ? '1' : '0'; \
        tap_is_int(hg_secret_open(&plain, &len, pool, key, bad), HG_ECRYPTO, "tampered %s -> HG_ECRYPTO", what); \
    } while (0)
    TAMPER(7, "IV");
    TAMPER(7 + 33 + 5, "ciphertext");
    TAMPER(strlen(sealed) - 1, "tag");
    tap_is_int(hg_secret_open(&plain, &len, pool, key, apr_pstrndup(pool, sealed, strlen(sealed) - 65)), HG_ECRYPTO,
               "tag removed -> HG_ECRYPTO");
    tap_is_int(hg_secret_open(&plain, &len, pool, key, apr_pstrcat(pool, sealed, ":00", NULL)), HG_ECRYPTO,
               "extra field -> HG_ECRYPTO");
    tap_is_int(hg_secret_open(&plain, &len, pool, key, apr_pstrcat(pool, "aes", sealed + 6, NULL)), HG_ECRYPTO,
               "other scheme -> HG_ECRYPTO");
    tap_is_int(hg_secret_open(&plain, &len, pool, key, "sm4cbc:zz:zz:zz"), HG_ECRYPTO, "garbage -> HG_ECRYPTO");

    tap_is_int(hg_keyed_index(&idx, pool, key, "11010119900307425X"), APR_SUCCESS, "keyed index");
    hg_keyed_index(&idx2, pool, key, "11010119900307425X");
    tap_ok(strlen(idx) == 64 && !strcmp(idx, idx2), "keyed index: 64 hex, deterministic");
    hg_keyed_index(&idx2, pool, key, "110101199003074258");
    tap_ok(strcmp(idx, idx2) != 0, "other value, other index");
    hg_keyed_index(&idx2, pool, other, "11010119900307425X");
    tap_ok(strcmp(idx, idx2) != 0, "other key, other index");
    run(&cli, "k=$(printf %%s hisgate/index/v1 | openssl mac -digest SM3 -macopt hexkey:%s HMAC); "
              "printf %%s 11010119900307425X | openssl mac -digest SM3 -macopt hexkey:$k HMAC | tr A-F a-f",
        hex(key, 16));
    tap_is_str(idx, cli, "keyed index = HMAC-SM3(HMAC-SM3(master, index label), value) by the command line");
}

static void t_seal_packed(void)
{
    const unsigned char key[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                    0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
    char *doc, *sealed, *hexform, *bad, *cli, *enc_key, *f[5], *last, *w;
    unsigned char *plain, *big;
    apr_size_t len, i;
    int n = 0;

    /* a bill-like JSON document: repetitive keys, Chinese text */
    doc = "";
    for (i = 0; i < 40; i++)
        doc = apr_psprintf(pool, "%s{\"chargeCode\":\"%04d\",\"chargeName\":\"西药费\",\"amt\":%d.50},", doc,
                           (int)i, (int)i * 7);
    doc = apr_pstrcat(pool, "[", doc, "{}]", NULL);
    tap_is_int(hg_secret_seal_packed(&sealed, pool, key, doc, strlen(doc)), APR_SUCCESS, "packed seal");
    hg_secret_seal(&hexform, pool, key, doc, strlen(doc));
    tap_ok(!strncmp(sealed, "sm4l1:", 6) && strlen(sealed) * 3 < strlen(hexform),
           "packed form sm4l1: is under a third of the hex form (%d vs %d characters)",
           (int)strlen(sealed), (int)strlen(hexform));
    tap_ok(hg_secret_open(&plain, &len, pool, key, sealed) == APR_SUCCESS && len == strlen(doc)
           && !strcmp((char *)plain, doc), "hg_secret_open gives the packed document back");
    tap_ok(hg_secret_seal_packed(&bad, pool, key, "", 0) == APR_SUCCESS
           && hg_secret_open(&plain, &len, pool, key, bad) == APR_SUCCESS && len == 0, "empty packed round trip");
    {
        /* sealed by the version before LZ4 (raw deflate, label sm4z1): still opens */
        static const char *old_doc = "{\"billNo\":\"0000000001\",\"payer\":\"张三\",\"chargeDetail\":"
            "[{\"chargeName\":\"西药费\",\"amt\":\"12.00\"},{\"chargeName\":\"西药费\",\"amt\":\"12.00\"}]}";
        static const char *old_sealed = "sm4z1:JErqskkyg1ld85mLJcHtRA:cqT17B_6zXM8Kp2JBedTfCl4ZyD0ZzKb_txo8zivwHSmX2am1"
            "Pm5Yjt-9o9PrdGC7Odh2wlxKcH-t21vgJZlz4SW4jdtf7PtnA5eXtcbt47pxIE4JaPLlyNEXaxYadPu:"
            "jUcwnDANngcwCg0AlsfFku5HUAMV1AVl1q3tzxA5nTU";
        tap_ok(hg_secret_open(&plain, &len, pool, key, old_sealed) == APR_SUCCESS && !strcmp((char *)plain, old_doc),
               "a document sealed in the deflated form (sm4z1) opens");
        tap_is_int(hg_secret_open(&plain, &len, pool, key, apr_pstrcat(pool, "sm4l1", old_sealed + 5, NULL)),
                   HG_ECRYPTO, "its fields under the sm4l1 label -> HG_ECRYPTO");
    }
    /* incompressible: the packed block is larger than its input and still round trips */
    big = apr_palloc(pool, 200000);
    hg_random_bytes(big, 200000);
    tap_ok(hg_secret_seal_packed(&bad, pool, key, big, 200000) == APR_SUCCESS
           && hg_secret_open(&plain, &len, pool, key, bad) == APR_SUCCESS && len == 200000 && !memcmp(plain, big, len),
           "200 KB of random bytes round trip");

    /* the construction by the command line: decrypt with openssl, unpack with Perl's Compress::LZ4
     * (the same 4-byte little-endian length in front of the LZ4 block) */
    for (w = apr_strtok(apr_pstrdup(pool, sealed), ":", &last); w && n < 5; w = apr_strtok(NULL, ":", &last))
        f[n++] = w;
    run(&enc_key, "printf %%s hisgate/seal/enc/v1 | openssl mac -digest SM3 -macopt hexkey:%s HMAC | cut -c1-32",
        hex(key, 16));
    if (n == 4) {
        run(&cli, "perl -MMIME::Base64 -e '($s = $ARGV[0]) =~ tr{-_}{+/}; print unpack(q(H*), decode_base64($s))' -- %s",
            f[1]);
        run(&cli, "perl -MMIME::Base64 -e '($s = $ARGV[0]) =~ tr{-_}{+/}; print decode_base64($s)' -- %s > z.bin; "
                  "openssl enc -d -sm4-cbc -K %s -iv %s -in z.bin | perl -MCompress::LZ4 -e "
                  "'local $/; print Compress::LZ4::decompress(<STDIN>)'", f[2], enc_key, cli);
        tap_is_str(cli, doc, "openssl enc -d -sm4-cbc, then Compress::LZ4::decompress, gives the document");
    }
    else
        tap_ok(0, "packed string has 4 fields");

    bad = apr_pstrdup(pool, sealed);
    bad[6 + 23 + 5] = bad[6 + 23 + 5] == 'A' ? 'B' : 'A';
    tap_is_int(hg_secret_open(&plain, &len, pool, key, bad), HG_ECRYPTO, "tampered packed ciphertext -> HG_ECRYPTO");
    /* the label is under the tag: the packed ciphertext does not pass as the other form */
    tap_is_int(hg_secret_open(&plain, &len, pool, key, apr_pstrcat(pool, "sm4cbc", sealed + 5, NULL)), HG_ECRYPTO,
               "packed fields under the sm4cbc label -> HG_ECRYPTO");
    tap_is_int(hg_secret_open(&plain, &len, pool, key, apr_pstrcat(pool, "sm4l1", hexform + 6, NULL)), HG_ECRYPTO,
               "hex fields under the sm4l1 label -> HG_ECRYPTO");
    tap_is_int(hg_secret_open(&plain, &len, pool, key, apr_pstrcat(pool, "sm4z1", sealed + 5, NULL)), HG_ECRYPTO,
               "LZ4 fields under the deflate label sm4z1 -> HG_ECRYPTO");
}

int main(void)
{
    char *out;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp\n");
        return 2;
    }
    if (run(&out, "openssl version") != 0) {
        printf("Bail out! needs the openssl command line: %s\n", out);
        return 2;
    }
    t_parse();
    t_sign_check();
    t_known_answer();
    t_passwords();
    t_policy();
    t_tokens();
    t_seal();
    t_seal_packed();
    tap_plan(tap_n);
    run(NULL, "rm -rf %s", dir);
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}
