/* hg_wechat: WeChat access-token requests and answers (see hg_wechat.h).  No httpd headers. */
#include <string.h>
#include <jansson.h>
#include <apr_strings.h>
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
