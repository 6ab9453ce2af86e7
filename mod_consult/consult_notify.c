/* consult_notify: link messages and the summary push (see consult_notify.h).  No httpd headers. */
#include <string.h>
#include <apr_strings.h>
#include <apr_time.h>
#include "hg_http.h"
#include "hg_json.h"
#include "hg_crypto.h"
#include "hg_err.h"
#include "hg_wechat.h"
#include "consult_notify.h"

#define LB "\xE3\x80\x90"          /* 【 */
#define RB "\xE3\x80\x91"          /* 】 */

static const char *bare_sign(apr_pool_t *p, const char *s)
{
    apr_size_t n;
    if (!s) return NULL;
    if (!strncmp(s, LB, 3)) s += 3;
    n = strlen(s);
    if (n >= 3 && !memcmp(s + n - 3, RB, 3)) n -= 3;
    return n ? apr_pstrndup(p, s, n) : NULL;
}

const char *consult_notify_sms_text(apr_pool_t *p, const char *sign, json_t *payload)
{
    const char *b = bare_sign(p, sign), *url = hg_json_gets(payload, "url", NULL);
    const char *dept = hg_json_gets(payload, "department", NULL), *when = hg_json_gets(payload, "visitTime", NULL);
    if (!b || !url) return NULL;
    return apr_psprintf(p, LB "%s" RB "您已预约%s%s就诊，请在就诊前花几分钟完成预问诊，医生将提前了解您的病情：%s",
                        b, when ? when : "", dept ? apr_pstrcat(p, "（", dept, "）", NULL) : "", url);
}

const char *consult_push_signature(apr_pool_t *p, const char *secret, const char *ts, const char *body,
                                   apr_size_t len)
{
    unsigned char mac[32];
    const char *msg = apr_pstrcat(p, ts, "\n", NULL);
    char *all = apr_palloc(p, strlen(msg) + len + 1);
    memcpy(all, msg, strlen(msg));
    memcpy(all + strlen(msg), body, len);
    if (hg_hmac_sha256(mac, secret, strlen(secret), all, strlen(msg) + len) != APR_SUCCESS) return NULL;
    return hg_hex_encode(p, mac, sizeof(mac), 0);
}

static apr_status_t give_up(hg_outbox_outcome_t *out, int permanent, const char *error, apr_status_t rv)
{
    out->permanent = permanent;
    out->error = error;
    return rv;
}

/* POST body; *resp on a 2xx, else the outcome decided (4xx but 408/429 permanent) */
static apr_status_t post(hg_http_resp_t **resp, apr_pool_t *p, const hg_outbox_item_t *item,
                         const consult_notify_conf_t *conf, const char *url, const char *endpoint,
                         const char *body, apr_table_t *headers, int idempotent, hg_outbox_outcome_t *out)
{
    hg_http_req_t req;
    apr_status_t rv;
    int st;
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = url;
    req.headers = headers ? headers : apr_table_make(p, 2);
    apr_table_setn(req.headers, "Content-Type", "application/json;charset=UTF-8");
    req.body = body;
    req.body_len = strlen(body);
    req.timeout_ms = conf->timeout_ms;
    req.connect_timeout_ms = HG_HTTP_CONNECT_TIMEOUT_MS;
    req.idempotent = idempotent;
    req.ca_file = conf->ca_file;
    req.endpoint_name = endpoint;
    req.observer = item->http_observer;
    req.observer_baton = item->http_observer_baton;
    *resp = NULL;
    rv = hg_http_do(resp, p, &req);
    if (rv != APR_SUCCESS)
        return give_up(out, 0, apr_psprintf(p, "%s: not reached: %s", endpoint, *resp && (*resp)->error ? (*resp)->error
                                            : rv == HG_ETIMEOUT ? "timeout" : "error"), rv);
    st = (*resp)->status;
    if (st >= 200 && st < 300) return APR_SUCCESS;
    return give_up(out, st >= 400 && st < 500 && st != 408 && st != 429,
                   apr_psprintf(p, "%s: answered HTTP %d", endpoint, st), HG_EPLATFORM);
}

static apr_status_t send_sms(apr_pool_t *p, const hg_outbox_item_t *item, const consult_notify_conf_t *conf,
                             json_t *pl, hg_outbox_outcome_t *out)
{
    hg_http_resp_t *resp;
    json_t *ans = NULL;
    const char *to = hg_json_gets(pl, "to", NULL), *text, *code;
    apr_status_t rv;
    if (!conf->sms_url) return give_up(out, 1, "the SMS gateway is not configured (ConsultSMSGateway)", HG_EINVALID);
    if (!to || strlen(to) != 11 || to[0] != '1' || strspn(to, "0123456789") != 11)
        return give_up(out, 1, "consult.notify: 'to' is not an 11-digit mobile number", HG_EINVALID);
    if (!(text = consult_notify_sms_text(p, conf->sms_sign, pl)))
        return give_up(out, 1, "consult.notify: no SMS sign or no url", HG_EINVALID);
    if ((rv = post(&resp, p, item, conf, conf->sms_url, "consult.sms",
                   hg_json_dump(p, hg_json_own(p, json_pack("{s:s, s:s, s:s}", "phone", to, "content", text, "sign",
                                                            bare_sign(p, conf->sms_sign))), 0), NULL, 0, out)))
        return rv;
    if (hg_json_parse(&ans, p, resp->body, resp->body_len, 0, NULL) != APR_SUCCESS
        || (!(code = hg_json_gets(ans, "code", NULL)) && !(code = hg_json_gets(ans, "Code", NULL))))
        return give_up(out, 0, "consult.sms: the answer is not the gateway's JSON", HG_EPLATFORM);
    if (strcmp(code, "OK"))
        return give_up(out, !strncmp(code, "isv.", 4) && strcmp(code, "isv.BUSINESS_LIMIT_CONTROL")
                       && strcmp(code, "isv.DAY_LIMIT_CONTROL"),
                       apr_psprintf(p, "consult.sms: %s", hg_utf8_repair(p, code)), HG_EPLATFORM);
    out->result = hg_json_dump(p, hg_json_own(p, json_pack("{s:s, s:s?}", "channel", "sms", "bizId",
                                                          hg_json_gets(ans, "bizId", NULL))), 0);
    return APR_SUCCESS;
}

static apr_status_t send_wechat(apr_pool_t *p, const hg_outbox_item_t *item, const consult_notify_conf_t *conf,
                                json_t *pl, hg_outbox_outcome_t *out)
{
    hg_wechat_call_t call;
    json_t *ans = NULL, *body;
    long errcode = 0;
    int status = 0;
    const char *dept = hg_json_gets(pl, "department", NULL), *doc = hg_json_gets(pl, "doctor", NULL);
    const char *when = hg_json_gets(pl, "visitTime", NULL), *why = NULL;
    apr_status_t rv;
    if (!conf->wechat_url || !conf->wechat_template_id)
        return give_up(out, 1, "the WeChat gateway is not configured (ConsultWeChatGateway)", HG_EINVALID);
    if (!hg_json_gets(pl, "to", NULL) || !hg_json_gets(pl, "url", NULL))
        return give_up(out, 1, "consult.notify: no openid or no url", HG_EINVALID);
    body = hg_json_own(p, json_pack("{s:s, s:s, s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}}",
        "touser", hg_json_gets(pl, "to", NULL), "template_id", conf->wechat_template_id, "url", hg_json_gets(pl, "url", NULL),
        "data", "first", "value", "您好，请在就诊前完成预问诊。",
        "keyword1", "value", dept && *dept ? dept : "—", "keyword2", "value", doc && *doc ? doc : "—",
        "keyword3", "value", when && *when ? when : "—", "remark", "value", "点击填写，医生将提前了解您的病情。"));
    if (!body) return give_up(out, 1, "consult.notify: the template message could not be built", HG_EINVALID);
    memset(&call, 0, sizeof(call));
    call.url = conf->wechat_url;
    call.body = hg_json_dump(p, body, 0);
    call.token = conf->wechat_token;
    call.ca_file = conf->ca_file;
    call.timeout_ms = conf->timeout_ms;
    call.endpoint_name = "consult.wechat";
    call.observer = item->http_observer;
    call.observer_baton = item->http_observer_baton;
    if ((rv = hg_wechat_call(p, &call, &errcode, &status, &ans, &why)) != APR_SUCCESS)
        /* not configured: permanent; a 4xx but 408/429: permanent; the rest retries */
        return give_up(out, rv == HG_EINVALID || (status >= 400 && status < 500 && status != 408 && status != 429),
                       apr_pstrcat(p, "consult.wechat: ", why ? why : "failed", NULL), rv);
    if (errcode != 0)
        return give_up(out, hg_wechat_errcode_permanent(errcode),
                       apr_pstrcat(p, "consult.wechat: ", why ? why : apr_ltoa(p, errcode), NULL), HG_EPLATFORM);
    out->result = hg_json_dump(p, hg_json_own(p, json_pack("{s:s, s:O?}", "channel", "wechat", "msgid",
                                                          json_object_get(ans, "msgid"))), 0);
    return APR_SUCCESS;
}

apr_status_t consult_notify_deliver(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                    hg_outbox_outcome_t *out)
{
    const consult_notify_conf_t *conf = baton;
    json_t *pl = NULL;
    const char *ch;
    if (!conf || hg_json_parse(&pl, p, item->payload, strlen(item->payload), 0, NULL) != APR_SUCCESS)
        return give_up(out, 1, "consult.notify payload is not a JSON object", HG_EINVALID);
    ch = hg_json_gets(pl, "channel", NULL);
    if (ch && !strcmp(ch, "sms")) return send_sms(p, item, conf, pl, out);
    if (ch && !strcmp(ch, "wechat")) return send_wechat(p, item, conf, pl, out);
    return give_up(out, 1, "consult.notify payload: channel is neither sms nor wechat", HG_EINVALID);
}

apr_status_t consult_push_deliver(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                  hg_outbox_outcome_t *out)
{
    const consult_notify_conf_t *conf = baton;
    hg_http_resp_t *resp;
    apr_table_t *h = apr_table_make(p, 4);
    const char *ts = apr_psprintf(p, "%" APR_TIME_T_FMT, apr_time_sec(apr_time_now())), *sig;
    apr_status_t rv;
    if (!conf || !conf->push_url)
        return give_up(out, 1, "ConsultSummaryPushURL is not configured", HG_EINVALID);
    apr_table_setn(h, "X-HG-Timestamp", ts);
    apr_table_setn(h, "X-HG-Idempotency-Key", apr_pstrcat(p, "consult-summary:", item->business_key, NULL));
    if (conf->push_secret && *conf->push_secret) {
        if (!(sig = consult_push_signature(p, conf->push_secret, ts, item->payload, strlen(item->payload))))
            return give_up(out, 0, "consult.push: no signature", HG_ECRYPTO);
        apr_table_setn(h, "X-HG-Signature", sig);
    }
    /* the same document again is harmless: the HIS keys it by the idempotency key */
    if ((rv = post(&resp, p, item, conf, conf->push_url, "consult.push", item->payload, h, 1, out)))
        return rv;
    out->result = apr_psprintf(p, "{\"status\":%d}", resp->status);
    return APR_SUCCESS;
}
