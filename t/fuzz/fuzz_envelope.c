/* libFuzzer harness: what comes back from the platforms and the HIS header, not as JSON bodies:
 * the first byte picks the entry point, the rest is the text.
 *   0 the Bosi fiscal answer envelope (hg_bosi_open_answer, then its message parsed as
 *     invoice_fiscal.c does); 1 a Bosi request envelope as mod_sandbox opens it (hg_bosi_open_request);
 *   2 the WeChat access-token answer (hg_wechat_token_parse);
 *   3 the Authorization header of a signed HIS call (hg_auth_parse_header_ex, then hg_auth_check);
 *   4 the decoders: hex, base64, base64url (pool and buffer forms), DER signatures and SM2 ciphertext;
 *   5 sealed secrets and journal bodies under a fixed key (hg_secret_open, hg_audit_decrypt) and
 *     stored password hashes (hg_password_needs_rehash only: verify would run PBKDF2 for up to 10^7
 *     iterations on purpose);
 *   6 WeChat's message push: the XML (hg_wechat_push_parse) and, in safe mode, the Encrypt text
 *     under a fixed EncodingAESKey (hg_wechat_push_decrypt, whose message is parsed in turn); an
 *     encrypted round trip of the input must give it back. */
#include "fuzz.h"
#include <stdio.h>
#include "hg_json.h"
#include "hg_bosi.h"
#include "hg_wechat.h"
#include "hg_auth.h"
#include "hg_crypto.h"
#include "hg_audit.h"

static const char *key_of(void *baton, const char *appid)
{
    return strlen(appid) > 3 ? "0123456789abcdef" : NULL;
}

static const unsigned char KEY[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_begin();
    const char *s, *result, *appid, *why, *code, *reason;
    char *message, *json, *plain_s;
    unsigned char *out, buf[256];
    apr_size_t n;
    json_t *j;
    int exp;
    hg_sig_header_t *h;

    if (size < 1 || size > 16384)
        return -1;
    s = fuzz_str(p, data + 1, size - 1);
    switch (data[0] % 7) {
    case 0:
        if (hg_bosi_open_answer(&result, &message, p, s, size - 1) == APR_SUCCESS) {
            if (!result || !message) abort();
            hg_json_parse(&j, p, message, strlen(message), 0, NULL);
        }
        break;
    case 1:
        hg_bosi_open_request(&json, &appid, &why, p, s, size - 1, key_of, NULL);
        break;
    case 2:
        if (hg_wechat_token_parse(&result, &exp, &why, p, s, size - 1) == APR_SUCCESS && !result) abort();
        break;
    case 3:
        if (hg_auth_parse_header_ex(&h, p, s, &code, &reason) == APR_SUCCESS) {
            if (!h || !h->algorithm || !h->app_id || !h->nonce || !h->signature) abort();
            hg_auth_check_ex(h, "secret", 6, "POST", "/hg/ping", "{}", 2, h->timestamp, 0, &code, &reason);
        }
        else if (!code || !reason)
            abort();
        break;
    case 4:
        hg_hex_decode(&out, &n, p, s);
        hg_base64_decode(&out, &n, p, s);
        hg_base64url_decode(&out, &n, p, s);
        hg_base64_decode_buf(buf, sizeof buf, &n, s, 0);
        hg_base64_decode_buf(buf, sizeof buf, &n, s, 1);
        {
            unsigned char raw[64];
            hg_sm2_sig_der_to_raw(raw, data + 1, size - 1);
            hg_sm2_cipher_der_to_c1c3c2(&out, &n, p, data + 1, size - 1);
            hg_sm2_cipher_c1c3c2_to_der(&out, &n, p, data + 1, size - 1);
        }
        break;
    case 5:
        hg_secret_open(&out, &n, p, KEY, s);
        hg_audit_decrypt(&plain_s, &n, p, KEY, s);
        hg_password_needs_rehash(s, HG_PASSWORD_ITERATIONS);
        break;
    case 6: {
        static const char *aes = "c2FuZGJveFB1c2hLZXlGb3JIaXNnYXRlMjAyNkFFUzI";
        char *msg, *enc;
        apr_size_t len;
        const char *app;
        hg_wechat_push_parse(&j, &why, p, s, size - 1);
        if (hg_wechat_push_decrypt(&msg, &len, &app, &why, p, aes, s) == APR_SUCCESS)
            hg_wechat_push_parse(&j, &why, p, msg, len);
        else if (!why)
            abort();
        if (hg_wechat_push_encrypt(&enc, p, aes, s, size - 1, "wx5a1dbe0d3e5b0001") != APR_SUCCESS
            || hg_wechat_push_decrypt(&msg, &len, &app, &why, p, aes, enc) != APR_SUCCESS
            || len != size - 1 || memcmp(msg, s, len) || strcmp(app, "wx5a1dbe0d3e5b0001"))
            abort();
        break;
    }
    }
    return 0;
}
