/* hg_wechat: WeChat access-token requests and answers (see hg_wechat.h).  No httpd headers. */
#include <string.h>
#include <jansson.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "hg_wechat.h"
#include "hg_json.h"
#include "hg_err.h"

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
