#include <string.h>
#include <jansson.h>
#include <apr_strings.h>
#include "hg_bosi.h"
#include "hg_crypto.h"
#include "hg_json.h"

apr_status_t hg_bosi_sign(char **sign, apr_pool_t *p, const char *appid, const char *data_b64,
                          const char *noise, const char *key, const char *version)
{
    char hex[33];
    /* the order is the platform's, not alphabetical: key sits between noise and version */
    const char *s = apr_pstrcat(p, "appid=", appid, "&data=", data_b64, "&noise=", noise,
                                "&key=", key, "&version=", version, NULL);
    apr_status_t rv = hg_md5_hex_upper(hex, s, strlen(s));
    if (rv == APR_SUCCESS)
        *sign = apr_pstrdup(p, hex);
    return rv;
}

apr_status_t hg_bosi_request(char **body, apr_pool_t *p, const char *appid, const char *key,
                             const char *data_json)
{
    unsigned char r[16];
    char *noise, *sign;
    const char *data = hg_base64_encode(p, (const unsigned char *)data_json, strlen(data_json));
    json_t *o;
    apr_status_t rv;
    if ((rv = hg_random_bytes(r, sizeof(r))) != APR_SUCCESS)
        return rv;
    r[6] = (r[6] & 0x0f) | 0x40;   /* a version-4 UUID, as the platform's Java clients send */
    r[8] = (r[8] & 0x3f) | 0x80;
    noise = hg_hex_encode(p, r, 16, 0);
    noise = apr_psprintf(p, "%.8s-%.4s-%.4s-%.4s-%.12s", noise, noise + 8, noise + 12, noise + 16, noise + 20);
    if ((rv = hg_bosi_sign(&sign, p, appid, data, noise, key, "1.0")) != APR_SUCCESS)
        return rv;
    o = hg_json_own(p, json_pack("{s:s, s:s, s:s, s:s, s:s}", "appid", appid, "data", data,
                                 "noise", noise, "version", "1.0", "sign", sign));
    *body = hg_json_dump(p, o, 0);
    return *body ? APR_SUCCESS : APR_ENOMEM;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

apr_status_t hg_bosi_open_request(char **data_json, const char **appid, const char **err,
                                  apr_pool_t *p, const char *body, apr_size_t len,
                                  hg_bosi_key_fn *key_of, void *baton)
{
    json_t *o = hg_json_own(p, json_loadb(body, len, 0, NULL));
    const char *data, *noise, *version, *sign, *key;
    char *want;
    unsigned char *raw;
    apr_size_t rawlen;
    *appid = NULL;
    if (!json_is_object(o)) {
        *err = "request body is not a JSON object";
        return HG_EINVALID;
    }
    *appid = jstr(o, "appid");
    data = jstr(o, "data");
    noise = jstr(o, "noise");
    version = jstr(o, "version");
    sign = jstr(o, "sign");
    if (!*appid || !data || !noise || !version || !sign) {
        *err = "envelope field missing (appid, data, noise, version, sign)";
        return HG_EINVALID;
    }
    if (!(key = key_of(baton, *appid))) {
        *err = "unknown appid";
        return HG_EAUTH;
    }
    if (hg_bosi_sign(&want, p, *appid, data, noise, key, version) != APR_SUCCESS
        || strlen(sign) != 32 || !hg_ct_equal(want, sign, 32)) {
        *err = "sign check failed";
        return HG_EBADSIG;
    }
    if (hg_base64_decode(&raw, &rawlen, p, data) != APR_SUCCESS) {
        *err = "data is not base64";
        return HG_EINVALID;
    }
    *data_json = apr_pstrmemdup(p, (const char *)raw, rawlen);
    return APR_SUCCESS;
}

apr_status_t hg_bosi_answer(char **body, apr_pool_t *p, const char *result, const char *message)
{
    const char *m = hg_base64_encode(p, (const unsigned char *)message, strlen(message));
    json_t *inner = hg_json_own(p, json_pack("{s:s, s:s}", "result", result, "message", m));
    char *ij = hg_json_dump(p, inner, 0);
    json_t *outer = hg_json_own(p, json_pack("{s:s}", "data",
                                             hg_base64_encode(p, (const unsigned char *)ij, strlen(ij))));
    *body = hg_json_dump(p, outer, 0);
    return *body ? APR_SUCCESS : APR_ENOMEM;
}

apr_status_t hg_bosi_open_answer(const char **result, char **message, apr_pool_t *p,
                                 const char *body, apr_size_t len)
{
    json_t *o = hg_json_own(p, json_loadb(body, len, 0, NULL)), *inner;
    unsigned char *raw;
    apr_size_t rawlen;
    const char *d, *m;
    if (!json_is_object(o) || !(d = jstr(o, "data")))
        return HG_EPLATFORM;
    if (hg_base64_decode(&raw, &rawlen, p, d) != APR_SUCCESS)
        return HG_EPLATFORM;
    inner = hg_json_own(p, json_loadb((const char *)raw, rawlen, 0, NULL));
    if (!json_is_object(inner) || !(*result = jstr(inner, "result")))
        return HG_EPLATFORM;
    *result = apr_pstrdup(p, *result);
    m = jstr(inner, "message");
    *message = "";
    if (m && hg_base64_decode(&raw, &rawlen, p, m) == APR_SUCCESS)
        *message = apr_pstrmemdup(p, (const char *)raw, rawlen);
    else if (m)
        *message = apr_pstrdup(p, m);   /* be defensive: some deployments send plain text */
    return APR_SUCCESS;
}
