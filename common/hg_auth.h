/* hisgate authentication, the pure part: signed HIS requests, staff passwords, session and CSRF
 * tokens, secrets at rest. No I/O here: which app ids exist and whether a nonce was already
 * seen are decided by the caller (database and mod_socache); see hg_auth_check.
 *
 * ---- Signed HIS requests (integrators code against this) ----
 *   Authorization: HG1-HMAC-SM3 app_id="his01",timestamp="1700000000",nonce="b3Jk-x_9Qz1aa7Lm",signature="…"
 *   (or HG1-HMAC-SHA256). signature = Base64(HMAC(app secret, string-to-sign)), where
 *   string-to-sign = METHOD "\n" request-target "\n" timestamp "\n" nonce "\n" body "\n"
 *     METHOD          the HTTP method as sent (uppercase letters, e.g. POST)
 *     request-target  path and query exactly as sent on the request line, e.g. /api/v1/x?a=1
 *                     (no scheme/host, no fragment; percent-encoding NOT decoded)
 *     timestamp       Unix seconds, decimal, no sign or leading zeros; must be within the
 *                     window (default ±300 s) of the server's clock
 *     nonce           16-64 characters of [A-Za-z0-9_-], never reused by an app within the window
 *     body            the raw request body bytes (empty for none)
 *   Header grammar: the scheme (case-insensitive), one or more spaces, then exactly the four
 *   parameters in any order, each name="value" with the value in double quotes (no escapes),
 *   separated by "," optionally followed by spaces. app_id is [A-Za-z0-9_.-]{4,64}; signature is
 *   the standard Base64 (with padding) of the 32-byte MAC. */
#ifndef HG_AUTH_H
#define HG_AUTH_H

#include <apr_pools.h>
#include "hg_status.h"

#define HG_AUTH_ALG_SM3       "HG1-HMAC-SM3"
#define HG_AUTH_ALG_SHA256    "HG1-HMAC-SHA256"
#define HG_AUTH_DEFAULT_WINDOW 300

/* errcode strings are codes of hg_err.h's table: "HG_AUTH_MALFORMED", "HG_AUTH_STALE_TIMESTAMP",
 * "HG_AUTH_BAD_SIGNATURE" (hg_err.h declares constants of those names; this file does not
 * depend on it). */

typedef struct {
    const char *algorithm;      /* HG_AUTH_ALG_SM3 or HG_AUTH_ALG_SHA256, canonical spelling */
    const char *app_id;
    apr_int64_t timestamp;      /* Unix seconds */
    const char *nonce;
    const char *signature;      /* Base64, as sent */
} hg_sig_header_t;

/* Parse an Authorization value. APR_SUCCESS, or HG_EAUTH with *errcode = "HG_AUTH_MALFORMED";
 * the _ex variant also gives a precise English reason ("missing nonce", "nonce must have
 * 16-64 characters of [A-Za-z0-9_-]", ...) fit to return to the integrator. */
apr_status_t hg_auth_parse_header(hg_sig_header_t **hdr, apr_pool_t *p, const char *value,
                                  const char **errcode);
apr_status_t hg_auth_parse_header_ex(hg_sig_header_t **hdr, apr_pool_t *p, const char *value,
                                     const char **errcode, const char **reason);

/* The exact bytes that are MACed (for clients, tests and debugging). *len excludes the NUL that
 * follows. HG_EINVALID if method/target/timestamp/nonce break the rules above (which would make
 * the string ambiguous or the request unacceptable). */
apr_status_t hg_auth_string_to_sign(char **sts, apr_size_t *len, apr_pool_t *p, const char *method,
                                    const char *target, const char *timestamp_str, const char *nonce,
                                    const void *body, apr_size_t body_len);

/* Base64 signature for a request (our own clients, the CLI, tests). algorithm is one of the
 * HG_AUTH_ALG_* names. HG_EINVALID as for hg_auth_string_to_sign or for an unknown algorithm. */
apr_status_t hg_auth_sign(char **b64, apr_pool_t *p, const char *algorithm, const void *secret,
                          apr_size_t secret_len, const char *method, const char *target,
                          const char *timestamp_str, const char *nonce, const void *body,
                          apr_size_t body_len);

/* The complete header value for the parts above. */
char *hg_auth_format_header(apr_pool_t *p, const char *algorithm, const char *app_id,
                            const char *timestamp_str, const char *nonce, const char *signature);

/* Check a parsed header against the request and the app's secret. now = Unix seconds
 * (apr_time_sec(r->request_time)); window in seconds, <= 0 means HG_AUTH_DEFAULT_WINDOW;
 * |now - timestamp| <= window passes. Returns APR_SUCCESS or HG_EAUTH with *errcode one of
 * "HG_AUTH_MALFORMED" (bad header struct, or a method/target with control characters or spaces),
 * "HG_AUTH_STALE_TIMESTAMP" (checked first), "HG_AUTH_BAD_SIGNATURE" (constant-time compare;
 * also for an empty secret). errcode/reason may be NULL; reason is a static English text.
 * NOT checked here: that app_id is known and enabled, and that (app_id, nonce) was not seen in
 * the last 2 x window seconds; the caller does both (after this succeeds, so that unsigned
 * junk cannot fill the replay cache). */
apr_status_t hg_auth_check(const hg_sig_header_t *hdr, const void *secret, apr_size_t secret_len,
                           const char *method, const char *target, const void *body,
                           apr_size_t body_len, apr_int64_t now, apr_int64_t window,
                           const char **errcode);
apr_status_t hg_auth_check_ex(const hg_sig_header_t *hdr, const void *secret, apr_size_t secret_len,
                              const char *method, const char *target, const void *body,
                              apr_size_t body_len, apr_int64_t now, apr_int64_t window,
                              const char **errcode, const char **reason);

/* ---- staff passwords: "$pbkdf2-sha256$<iterations>$<Base64 salt>$<Base64 hash>" ----
 * standard Base64 with padding, 16-byte random salt, 32-byte PBKDF2-HMAC-SHA256 output. */
#define HG_PASSWORD_ITERATIONS 210000
apr_status_t hg_password_hash(char **encoded, apr_pool_t *p, const char *password);
/* iterations >= 1 (tests use a few thousand; production keeps the default) */
apr_status_t hg_password_hash_ex(char **encoded, apr_pool_t *p, const char *password,
                                 unsigned int iterations);
/* APR_SUCCESS if password matches (constant-time compare), HG_EAUTH if not, HG_EINVALID if the
 * encoded string is not ours or is corrupt (iterations outside 1..10,000,000, odd sizes). */
apr_status_t hg_password_verify(const char *encoded, const char *password);
/* 1 if the hash should be recomputed at the next successful login (fewer iterations than
 * min_iterations, or unparseable). */
int hg_password_needs_rehash(const char *encoded, unsigned int min_iterations);
/* APR_SUCCESS or HG_EINVALID with a short Chinese + English *reason. Rejects, in this order:
 * a commonly used password (built-in list, case-insensitive), fewer than 10 or more than 128
 * characters (UTF-8 code points), fewer than 3 of the classes lower/upper/digit/other,
 * containing the username (case-insensitive; also its part before '@'; only parts of 3+
 * characters count), 4 identical characters in a row, and 4-character runs up or down the
 * alphabet, the digits or a keyboard row (abcd, 4321, qwer, asdf, !@#$). */
apr_status_t hg_password_policy_check(apr_pool_t *p, const char *username, const char *password,
                                      const char **reason);

/* ---- session and CSRF tokens ---- */
/* 32 random bytes, base64url without padding (43 characters). */
apr_status_t hg_token_new(char **tok, apr_pool_t *p);
/* base64url(HMAC-SHA256(key, session_id)), 43 characters */
apr_status_t hg_csrf_token(char **tok, apr_pool_t *p, const void *key, apr_size_t keylen,
                           const char *session_id);
/* APR_SUCCESS if token is the CSRF token of session_id (constant-time), else HG_EAUTH. */
apr_status_t hg_csrf_check(const void *key, apr_size_t keylen, const char *session_id,
                           const char *token);

/* ---- secrets at rest, under the 16-byte master key ----
 * sealed = "sm4cbc:<hex iv>:<hex ciphertext>:<hex tag>", lowercase hex, random 16-byte IV,
 * SM4-CBC/PKCS#7, tag = HMAC-SM3 over "sm4cbc" || iv || ciphertext (encrypt-then-MAC). The
 * encryption and MAC keys are HMAC-SM3(master, "hisgate/seal/enc/v1")[0..16) and
 * HMAC-SM3(master, "hisgate/seal/mac/v1"), so the master key itself never keys a cipher. */
apr_status_t hg_secret_seal(char **sealed, apr_pool_t *p, const unsigned char key[16],
                            const void *plaintext, apr_size_t len);
/* The same for documents of a few KB (bills, outbox payloads): LZ4-packed before encryption
 * (hg_lz4_pack) and encoded in base64url, "sm4l1:<iv>:<ciphertext>:<tag>", tag label "sm4l1".
 * Under half of the hex form's size, so a bill row stays out of PostgreSQL's TOAST table.
 * Compressing before encrypting leaks only the length, which no attacker influences at rest.
 * Documents sealed by earlier versions ("sm4z1", raw deflate) still open. */
apr_status_t hg_secret_seal_packed(char **sealed, apr_pool_t *p, const unsigned char key[16],
                                   const void *plaintext, apr_size_t len);
/* Opens every form.  Tag checked (constant time) before decrypting; any tampering or
 * malformation -> HG_ECRYPTO.
 * *plain is NUL-terminated one past *len. */
apr_status_t hg_secret_open(unsigned char **plain, apr_size_t *len, apr_pool_t *p,
                            const unsigned char key[16], const char *sealed);
/* Deterministic look-up key for an encrypted personal identifier or a session token: lowercase
 * hex of HMAC-SM3(HMAC-SM3(master, "hisgate/index/v1"), value), 64 characters. Normalise the
 * value first (e.g. uppercase the X of an ID-card number). */
apr_status_t hg_keyed_index(char **hex, apr_pool_t *p, const unsigned char key[16], const char *value);

#endif
