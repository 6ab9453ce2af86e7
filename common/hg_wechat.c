/* hg_wechat: WeChat access-token requests and answers (see hg_wechat.h).  No httpd headers. */
#include <string.h>
#include <jansson.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "hg_wechat.h"
#include "hg_json.h"
#include "hg_err.h"
#include "hg_crypto.h"
#include "hg_xml.h"

static const char *query_escape(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
            || ch == '-' || ch == '_' || ch == '.' || ch == '~')
            *o++ = (char)ch;
        else {
            *o++ = '%';
            *o++ = hex[ch >> 4];
            *o++ = hex[ch & 15];
        }
    }
    *o = '\0';
    return out;
}

apr_status_t hg_wechat_token_request(hg_http_req_t *req, apr_pool_t *p, const hg_wechat_conf_t *conf)
{
    memset(req, 0, sizeof(*req));
    req->method = "GET";
    req->ca_file = conf->ca_file;
    req->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : 5000;
    req->connect_timeout_ms = HG_HTTP_CONNECT_TIMEOUT_MS;
    req->idempotent = 1;           /* a token fetch may be repeated: the newest one wins */
    req->max_retries = 2;
    if (conf->token_url && *conf->token_url) {
        req->url = conf->token_url;
        req->endpoint_name = "wechat.token.central";
        return APR_SUCCESS;
    }
    if (!conf->appid || !*conf->appid || !conf->secret || !*conf->secret)
        return HG_EINVALID;
    req->url = apr_pstrcat(p, conf->api_base && *conf->api_base ? conf->api_base : HG_WECHAT_API,
                           "/cgi-bin/token?grant_type=client_credential&appid=", query_escape(p, conf->appid),
                           "&secret=", query_escape(p, conf->secret), NULL);
    req->endpoint_name = "wechat.token";
    return APR_SUCCESS;
}

apr_status_t hg_wechat_token_parse(const char **token, int *expires_in, const char **why, apr_pool_t *p,
                                   const char *body, apr_size_t len)
{
    json_t *o = NULL;
    apr_int64_t exp = 0, errcode = 0;
    const char *t, *msg;

    *token = NULL;
    *expires_in = 0;
    *why = NULL;
    if (!body || hg_json_parse(&o, p, body, len, 0, NULL) != APR_SUCCESS || !json_is_object(o)) {
        *why = "the token service did not answer a JSON object";
        return HG_EPLATFORM;
    }
    t = hg_json_gets(o, "access_token", NULL);
    if (t && *t && strlen(t) <= 2048 && strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                  "0123456789-_.~+/=*") == strlen(t)) {
        if (hg_json_geti(o, &exp, "expires_in", NULL) != APR_SUCCESS || exp < 60 || exp > 86400) {
            *why = "the token service answered no usable expires_in";
            return HG_EPLATFORM;
        }
        *token = apr_pstrdup(p, t);
        *expires_in = (int)exp;
        return APR_SUCCESS;
    }
    if (hg_json_geti(o, &errcode, "errcode", NULL) == APR_SUCCESS) {
        msg = hg_json_gets(o, "errmsg", NULL);
        *why = apr_psprintf(p, "the token service refused: %" APR_INT64_T_FMT " %s", errcode,
                            msg ? hg_utf8_repair(p, msg) : "");
        return HG_EPLATFORM;
    }
    *why = "the token service answered neither a token nor an errcode";
    return HG_EPLATFORM;
}

int hg_wechat_token_refused(long errcode)
{
    return errcode == 40001 || errcode == 40014 || errcode == 42001;
}

int hg_wechat_errcode_permanent(long errcode)
{
    return errcode == 40003 || errcode == 40037 || errcode == 43004 || errcode == 47001 || errcode == 47003;
}

const char *hg_wechat_with_token(apr_pool_t *p, const char *url, const char *token)
{
    return apr_pstrcat(p, url, strchr(url, '?') ? "&" : "?", "access_token=", query_escape(p, token), NULL);
}

const char *hg_wechat_redact_url(apr_pool_t *p, const char *url)
{
    const char *q = strchr(url, '?'), *part, *eq;
    char *rest, *last;
    const char *out;
    if (!q)
        return url;
    out = apr_pstrndup(p, url, q - url + 1);
    rest = apr_pstrdup(p, q + 1);
    for (part = apr_strtok(rest, "&", &last); part; part = apr_strtok(NULL, "&", &last)) {
        eq = strchr(part, '=');
        if (eq && ((eq - part == 6 && !strncmp(part, "secret", 6))
                   || (eq - part == 12 && !strncmp(part, "access_token", 12))))
            part = apr_pstrcat(p, apr_pstrndup(p, part, eq - part + 1), "***", NULL);
        out = apr_pstrcat(p, out, out[strlen(out) - 1] == '?' ? "" : "&", part, NULL);
    }
    return out;
}

apr_status_t hg_wechat_call(apr_pool_t *p, const hg_wechat_call_t *call, long *errcode, int *http_status,
                            json_t **answer, const char **why)
{
    hg_http_req_t req;
    hg_http_resp_t *resp = NULL;
    const char *token = NULL, *msg;
    apr_int64_t code = 0;
    apr_status_t rv;
    int attempt;

    *errcode = 0;
    *http_status = 0;
    *answer = NULL;
    *why = NULL;
    if (!call->token) {
        *why = "no WeChat access token source (HisgateWeChat or HisgateWeChatTokenURL in mod_hisgate)";
        return HG_EINVALID;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        if ((rv = call->token(p, attempt ? token : NULL, call->observer, call->observer_baton, &token, why)))
            return rv;
        memset(&req, 0, sizeof(req));
        req.method = call->body ? "POST" : "GET";
        req.url = hg_wechat_with_token(p, call->url, token);
        req.headers = apr_table_make(p, 2);
        if (call->body) {
            apr_table_setn(req.headers, "Content-Type", call->content_type ? call->content_type
                                                                           : "application/json;charset=UTF-8");
            req.body = call->body;
            req.body_len = call->body_len ? call->body_len : strlen(call->body);
        }
        req.timeout_ms = call->timeout_ms;
        req.connect_timeout_ms = HG_HTTP_CONNECT_TIMEOUT_MS;
        req.idempotent = 0;
        req.ca_file = call->ca_file;
        req.endpoint_name = call->endpoint_name;
        req.observer = call->observer;
        req.observer_baton = call->observer_baton;
        rv = hg_http_do(&resp, p, &req);
        if (rv != APR_SUCCESS) {
            *why = apr_pstrcat(p, "WeChat not reached: ", resp && resp->error ? resp->error
                               : rv == HG_ETIMEOUT ? "timeout" : "error", NULL);
            return rv;
        }
        if ((*http_status = resp->status) != 200) {
            *why = apr_psprintf(p, "WeChat answered HTTP %d", resp->status);
            return HG_EPLATFORM;
        }
        if (hg_json_parse(answer, p, resp->body, resp->body_len, 0, NULL) != APR_SUCCESS
            || hg_json_geti(*answer, &code, "errcode", NULL) != APR_SUCCESS) {
            *why = "the answer is not WeChat's JSON";
            return HG_EPLATFORM;
        }
        *errcode = (long)code;
        if (!hg_wechat_token_refused(*errcode))
            break;
    }
    if (*errcode) {
        msg = hg_json_gets(*answer, "errmsg", NULL);
        *why = apr_psprintf(p, "%ld %s", *errcode, msg ? hg_utf8_repair(p, msg) : "");
    }
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- the message push */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

apr_status_t hg_wechat_push_signature(char out[41], apr_pool_t *p, const char *token, const char *timestamp,
                                      const char *nonce, const char *encrypt)
{
    const char *v[4] = { token, timestamp, nonce, encrypt };
    int n = encrypt ? 4 : 3;
    char *all, *hex;
    apr_status_t rv;
    if (!token || !timestamp || !nonce)
        return HG_EINVALID;
    qsort(v, (size_t)n, sizeof(v[0]), cmp_str);
    all = apr_pstrcat(p, v[0], v[1], v[2], n == 4 ? v[3] : "", NULL);
    if ((rv = hg_sha1_hex(&hex, p, all, strlen(all))))
        return rv;
    memcpy(out, hex, 41);
    return APR_SUCCESS;
}

int hg_wechat_push_signed(const char *given, apr_pool_t *p, const char *token, const char *timestamp,
                          const char *nonce, const char *encrypt)
{
    char want[41], low[41];
    int i;
    if (!given || strlen(given) != 40 || hg_wechat_push_signature(want, p, token, timestamp, nonce, encrypt))
        return 0;
    for (i = 0; i < 40; i++)
        low[i] = (char)(given[i] >= 'A' && given[i] <= 'F' ? given[i] - 'A' + 'a' : given[i]);
    low[40] = '\0';
    return hg_ct_equal(low, want, 40);
}

static apr_status_t push_key(unsigned char key[32], apr_pool_t *p, const char *aes_key43)
{
    unsigned char *k;
    apr_size_t klen;
    const char *c;
    if (!aes_key43 || strlen(aes_key43) != HG_WECHAT_AESKEY_LEN)
        return HG_EINVALID;
    for (c = aes_key43; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '+' || *c == '/'))
            return HG_EINVALID;
    if (hg_base64_decode(&k, &klen, p, apr_pstrcat(p, aes_key43, "=", NULL)) || klen != 32)
        return HG_EINVALID;
    memcpy(key, k, 32);
    return APR_SUCCESS;
}

apr_status_t hg_wechat_push_decrypt(char **msg, apr_size_t *len, const char **appid, const char **why,
                                    apr_pool_t *p, const char *aes_key43, const char *encrypt)
{
    unsigned char key[32], *ct, *pt;
    apr_size_t n, mlen;
    unsigned pad, i;

    *why = NULL;
    if (push_key(key, p, aes_key43)) {
        *why = "EncodingAESKey is not 43 base64 characters";
        return HG_EINVALID;
    }
    if (!encrypt || hg_base64_decode(&ct, &n, p, encrypt) || n == 0 || n % 32) {
        *why = "Encrypt is not base64 of whole 32-byte blocks";
        return HG_EINVALID;
    }
    pt = apr_palloc(p, n + 1);
    if (hg_aes256_cbc_raw(pt, key, key, ct, n, 0)) {
        *why = "Encrypt does not decrypt";
        return HG_EINVALID;
    }
    pad = pt[n - 1];
    if (pad < 1 || pad > 32 || pad > n - 20) {
        *why = "bad padding: not this account's key";
        return HG_EINVALID;
    }
    for (i = 1; i <= pad; i++)
        if (pt[n - i] != pad) {
            *why = "bad padding: not this account's key";
            return HG_EINVALID;
        }
    n -= pad;
    mlen = ((apr_size_t)pt[16] << 24) | ((apr_size_t)pt[17] << 16) | ((apr_size_t)pt[18] << 8) | pt[19];
    if (mlen > n - 20) {
        *why = "the length inside is longer than the message";
        return HG_EINVALID;
    }
    *msg = apr_pstrmemdup(p, (const char *)pt + 20, mlen);
    *len = mlen;
    *appid = apr_pstrmemdup(p, (const char *)pt + 20 + mlen, n - 20 - mlen);
    return APR_SUCCESS;
}

apr_status_t hg_wechat_push_encrypt(char **encrypt, apr_pool_t *p, const char *aes_key43, const char *msg,
                                    apr_size_t len, const char *appid)
{
    unsigned char key[32], *pt, *ct;
    apr_size_t alen = appid ? strlen(appid) : 0, n = 20 + len + alen, padded;
    unsigned pad;
    apr_status_t rv;

    if (push_key(key, p, aes_key43) || len > 0x7fffffff)
        return HG_EINVALID;
    pad = (unsigned)(32 - n % 32);
    padded = n + pad;
    pt = apr_palloc(p, padded);
    ct = apr_palloc(p, padded);
    if ((rv = hg_random_bytes(pt, 16)))
        return rv;
    pt[16] = (unsigned char)(len >> 24);
    pt[17] = (unsigned char)(len >> 16);
    pt[18] = (unsigned char)(len >> 8);
    pt[19] = (unsigned char)len;
    memcpy(pt + 20, msg, len);
    if (alen)
        memcpy(pt + 20 + len, appid, alen);
    memset(pt + n, (int)pad, pad);
    if ((rv = hg_aes256_cbc_raw(ct, key, key, pt, padded, 1)))
        return rv;
    *encrypt = hg_base64_encode(p, ct, padded);
    return APR_SUCCESS;
}

apr_status_t hg_wechat_push_parse(json_t **msg, const char **why, apr_pool_t *p, const char *xml, apr_size_t len)
{
    json_t *o = NULL;
    *msg = NULL;
    *why = NULL;
    if (hg_xml_to_json(&o, p, xml, len) != APR_SUCCESS || !json_is_object(o)) {
        *why = hg_xml_errmsg(p) ? hg_xml_errmsg(p) : "not an XML message";
        return HG_EINVALID;
    }
    *msg = o;
    return APR_SUCCESS;
}
