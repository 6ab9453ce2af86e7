/* mod_sandbox_wxcard: WeChat's e-invoice API (微信电子发票, self-built platform mode) as the card
 * package's side of it — the calls and errcodes of WeChat's public documentation (see README:
 * 微信卡包), with their rules: every call's access token is one cgi-bin/token handed out and still
 * valid (mod_sandbox_wechat.c), getauthurl takes only a live ticket of the same account, an order
 * goes into a card package only once the patient authorised it, a bill code and number only once.
 *
 * WeChat's authorisation page is played by GET /sandbox/wechat/invoice/auth: it shows the order and
 * two buttons; 授权 records the simulated patient (openid, editable on the page) and sends the
 * browser to the order's redirect_url, as WeChat does.  The openid chooses the failure modes of
 * the insertion, like the mail server's reject@/greylist@:
 *   oSBXreject…  card/invoice/insert answers 40003 invalid openid, every time (a dead letter)
 *   oSBXbusy…    the first insert of the order answers -1 system error, the next succeeds (a retry);
 *                so does its first card/invoice/platform/updatestatus
 *   oSBXslow…    card/invoice/insert answers after 3 s (a delivery in flight long enough for a test
 *                to flush the bill meanwhile) */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_core.h"
#include "util_script.h"
#include "apr_strings.h"
#include "hg_glue.h"
#include "hg_auth.h"
#include "hg_crypto.h"
#include "mod_sandbox_wechat.h"
#include "hg_wechat.h"
#include "hg_http.h"

APLOG_USE_MODULE(sandbox);

#define DEFAULT_OPENID "oSBXpatient0000000000000001"

static apr_status_t answer(hg_call_t *c, int errcode, const char *errmsg)
{
    return hg_call_answer(c, 200, json_pack("{s:i, s:s}", "errcode", errcode, "errmsg", errmsg));
}

/* the account of the call's access token; *appid NULL when the call was answered (refused) */
static apr_status_t caller(hg_call_t *c, const char **appid)
{
    apr_table_t *q = NULL;
    hg_db_result_t *r;
    const char *errmsg;
    apr_status_t rv;
    int errcode;

    *appid = NULL;
    if ((rv = sandbox_wechat_check_token(c, &errcode, &errmsg)))
        return rv;
    if (errcode)
        return answer(c, errcode, errmsg);
    ap_args_to_table(c->r, &q);
    if ((rv = hg_db_q(c->db, &r, "SELECT appid FROM sandbox.wechat_tokens WHERE token = $1", 1,
                      apr_table_get(q, "access_token"))))
        return rv;
    *appid = apr_pstrdup(c->pool, hg_db_val(r, 0, 0));
    return APR_SUCCESS;
}

/* the JSON body, or NULL when answered 47001 */
static json_t *body_json(hg_call_t *c)
{
    json_t *j = NULL;
    if (hg_json_parse(&j, c->pool, c->body, c->body_len, 0, NULL) != APR_SUCCESS || !json_is_object(j)) {
        answer(c, 47001, "data format error");
        return NULL;
    }
    return j;
}

static int str_ok(json_t *o, const char *key, apr_size_t max)
{
    const char *v = hg_json_gets(o, key, NULL);
    return v && *v && strlen(v) <= max;
}

static int int_ok(json_t *o, const char *key, json_int_t min, json_int_t max)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max;
}

/* GET /sandbox/wechat/cgi-bin/ticket/getticket?access_token=…&type=wx_card */
static apr_status_t route_ticket(hg_call_t *c)
{
    apr_table_t *q = NULL;
    const char *appid, *type;
    char *ticket;
    apr_status_t rv;

    if ((rv = caller(c, &appid)) || !appid)
        return rv;
    ap_args_to_table(c->r, &q);
    type = apr_table_get(q, "type");
    if (!type || (strcmp(type, "wx_card") && strcmp(type, "jsapi")))
        return answer(c, 40097, "invalid args");
    if ((rv = hg_token_new(&ticket, c->pool)))
        return rv;
    ticket = apr_pstrcat(c->pool, "SBXT_", ticket, NULL);
    if ((rv = hg_db_q(c->db, NULL, "INSERT INTO sandbox.wxcard_tickets (ticket, appid, expires_at) "
                      "VALUES ($1, $2, now() + interval '7200 seconds')", 2, ticket, appid)))
        return rv;
    return hg_call_answer(c, 200, json_pack("{s:i, s:s, s:s, s:i}", "errcode", 0, "errmsg", "ok", "ticket", ticket,
                                            "expires_in", 7200));
}

/* POST /sandbox/wechat/card/invoice/seturl {} -> {"invoice_url": "…&s_pappid=…"} */
static apr_status_t route_seturl(hg_call_t *c)
{
    const char *appid;
    hg_db_result_t *r;
    apr_status_t rv;
    if ((rv = caller(c, &appid)) || !appid)
        return rv;
    if ((rv = hg_db_q(c->db, &r, "WITH n AS (INSERT INTO sandbox.wxcard_platforms (appid, s_pappid) "
                      "  VALUES ($1, 'SBX' || md5($1)) ON CONFLICT (appid) DO NOTHING RETURNING s_pappid) "
                      "SELECT s_pappid FROM n UNION ALL SELECT s_pappid FROM sandbox.wxcard_platforms WHERE appid = $1",
                      1, appid)))
        return rv;
    return hg_call_answer(c, 200, json_pack("{s:i, s:s, s:s}", "errcode", 0, "errmsg", "ok", "invoice_url",
        apr_pstrcat(c->pool, "https://mp.weixin.qq.com/bizmall/authinvoice?action=list&s_pappid=",
                    hg_db_val(r, 0, 0), NULL)));
}

/* POST /sandbox/wechat/card/invoice/platform/createcard {"invoice_info":{"base_info":{"logo_url",
 * "title"},"payee","type"}} -> {"card_id"} */
static apr_status_t route_createcard(hg_call_t *c)
{
    const char *appid;
    json_t *j, *info, *base;
    char *id;
    apr_size_t n = 0;
    apr_status_t rv;
    if ((rv = caller(c, &appid)) || !appid)
        return rv;
    if (!(j = body_json(c)))
        return APR_SUCCESS;
    info = json_object_get(j, "invoice_info");
    base = json_object_get(info, "base_info");
    if (!str_ok(info, "payee", 200) || !str_ok(info, "type", 100) || !str_ok(base, "logo_url", 1024)
        || !str_ok(base, "title", 100) || hg_utf8_count(&n, hg_json_gets(base, "title", NULL),
                                                       strlen(hg_json_gets(base, "title", NULL))) || n > 9)
        return answer(c, 72031, "invalid params");      /* the title: at most 9 characters */
    if ((rv = hg_random_string(&id, c->pool, 24, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")))
        return rv;
    id = apr_pstrcat(c->pool, "pSBX", id, NULL);
    if ((rv = hg_db_q(c->db, NULL, "INSERT INTO sandbox.wxcard_cards (card_id, appid, payee, type, title) "
                      "VALUES ($1, $2, $3, $4, $5)", 5, id, appid, hg_json_gets(info, "payee", NULL),
                      hg_json_gets(info, "type", NULL), hg_json_gets(base, "title", NULL))))
        return rv;
    return hg_call_answer(c, 200, json_pack("{s:i, s:s, s:s}", "errcode", 0, "errmsg", "ok", "card_id", id));
}

/* POST /sandbox/wechat/card/invoice/getauthurl {"s_pappid","order_id","money","timestamp","source",
 * "redirect_url","ticket","type"} -> {"auth_url","appid"} */
static apr_status_t route_getauthurl(hg_call_t *c)
{
    static const char *const sources[] = { "app", "web", "wxa", "wap", NULL };
    const char *appid, *source, *redirect;
    json_t *j;
    hg_db_result_t *r;
    apr_status_t rv;
    int i, known = 0;

    if ((rv = caller(c, &appid)) || !appid)
        return rv;
    if (!(j = body_json(c)))
        return APR_SUCCESS;
    source = hg_json_gets(j, "source", NULL);
    for (i = 0; source && sources[i]; i++)
        known |= !strcmp(source, sources[i]);
    redirect = hg_json_gets(j, "redirect_url", NULL);
    if (!str_ok(j, "s_pappid", 128) || !str_ok(j, "order_id", 64) || !int_ok(j, "money", 1, 100000000000LL)
        || !int_ok(j, "timestamp", 1000000000, 9999999999LL) || !known || !int_ok(j, "type", 0, 2)
        || !str_ok(j, "ticket", 512)
        || (!strcmp(source, "web") && (!redirect || (strncmp(redirect, "http://", 7) && strncmp(redirect, "https://", 8)))))
        return answer(c, 72031, "invalid params");
    if ((rv = hg_db_q(c->db, &r, "SELECT (SELECT count(*) FROM sandbox.wxcard_platforms WHERE s_pappid = $1), "
                      "(SELECT count(*) FROM sandbox.wxcard_tickets WHERE ticket = $2 AND appid = $3 AND expires_at > now())",
                      3, hg_json_gets(j, "s_pappid", NULL), hg_json_gets(j, "ticket", NULL), appid)))
        return rv;
    if (!strcmp(hg_db_val(r, 0, 0), "0"))
        return answer(c, 72031, "invalid params: s_pappid");
    if (!strcmp(hg_db_val(r, 0, 1), "0"))
        return answer(c, 40097, "invalid args: ticket invalid or expired");
    /* the same order again: a new link to the same authorisation (an authorised order stays so) */
    if ((rv = hg_db_q(c->db, NULL, "INSERT INTO sandbox.wxcard_orders (s_pappid, order_id, appid, money, source, type, "
                      "redirect_url) VALUES ($1, $2, $3, $4::bigint, $5, $6::int, $7) ON CONFLICT (s_pappid, order_id) "
                      "DO UPDATE SET money = EXCLUDED.money, redirect_url = EXCLUDED.redirect_url "
                      "WHERE sandbox.wxcard_orders.status = 'never auth'", 7,
                      hg_json_gets(j, "s_pappid", NULL), hg_json_gets(j, "order_id", NULL), appid,
                      apr_psprintf(c->pool, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(json_object_get(j, "money"))),
                      source, apr_psprintf(c->pool, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(json_object_get(j, "type"))),
                      redirect)))
        return rv;
    return hg_call_answer(c, 200, json_pack("{s:i, s:s, s:s, s:s}", "errcode", 0, "errmsg", "ok", "auth_url",
        ap_construct_url(c->pool, apr_psprintf(c->pool, "/sandbox/wechat/invoice/auth?s_pappid=%s&order_id=%s",
                         ap_escape_uri(c->pool, hg_json_gets(j, "s_pappid", NULL)),
                         ap_escape_uri(c->pool, hg_json_gets(j, "order_id", NULL))), c->r), "appid", appid));
}

static const char *form_get(apr_pool_t *p, const char *body, const char *key)
{
    char *copy = apr_pstrdup(p, body ? body : ""), *kv, *last, *v;
    apr_size_t n = strlen(key);
    for (kv = apr_strtok(copy, "&", &last); kv; kv = apr_strtok(NULL, "&", &last))
        if (!strncmp(kv, key, n) && kv[n] == '=') {
            for (v = kv + n + 1; *v; v++)
                if (*v == '+')
                    *v = ' ';
            v = kv + n + 1;
            return ap_unescape_url(v) == OK ? v : NULL;
        }
    return NULL;
}

static apr_status_t html(hg_call_t *c, int status, const char *body)
{
    c->status = status;
    c->out_body = body;
    c->out_len = strlen(body);
    c->out_type = "text/html; charset=utf-8";
    return APR_SUCCESS;
}

/* GET /sandbox/wechat/invoice/auth?s_pappid=…&order_id=… — WeChat's authorisation page (领取发票) */
static apr_status_t route_auth_page(hg_call_t *c)
{
    apr_table_t *q = NULL;
    hg_db_result_t *r;
    const char *pappid, *order;
    apr_status_t rv;

    ap_args_to_table(c->r, &q);
    pappid = q ? apr_table_get(q, "s_pappid") : NULL;
    order = q ? apr_table_get(q, "order_id") : NULL;
    if (!pappid || !order)
        return html(c, 400, "<!doctype html><p>链接参数不完整</p>");
    if ((rv = hg_db_q(c->db, &r, "SELECT to_char(money / 100.0, 'FM999999999990.00'), status FROM sandbox.wxcard_orders "
                      "WHERE s_pappid = $1 AND order_id = $2", 2, pappid, order)))
        return rv;
    if (!r->nrows)
        return html(c, 404, "<!doctype html><p>订单不存在</p>");
    return html(c, 200, apr_psprintf(c->pool,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>领取发票</title>"
        "<link rel=\"icon\" href=\"data:,\">"
        "<style>body{margin:0;font:16px/1.5 -apple-system,'PingFang SC',sans-serif;background:#ededed;color:#111}"
        ".box{background:#fff;margin:16px;padding:24px 16px;border-radius:8px;text-align:center}"
        ".amt{font-size:32px;font-weight:600;margin:8px 0}.tip{color:#888;font-size:13px}"
        "button{display:block;width:100%%;margin:12px 0 0;padding:11px;border:0;border-radius:8px;font-size:17px}"
        "#sbx-accept{background:#07c160;color:#fff}#sbx-reject{background:#f2f2f2;color:#07c160}"
        "label{display:block;text-align:left;font-size:13px;color:#888;margin-top:16px}"
        "input{width:100%%;box-sizing:border-box;padding:6px;font:13px monospace}</style></head><body>"
        "<div class=\"box\"><p>将电子票据存入微信卡包</p><p class=\"amt\">¥%s</p>"
        "<p class=\"tip\">沙箱模拟的微信授权页（领取发票）%s</p>"
        "<form method=\"post\" action=\"/sandbox/wechat/invoice/auth\">"
        "<input type=\"hidden\" name=\"s_pappid\" value=\"%s\"><input type=\"hidden\" name=\"order_id\" value=\"%s\">"
        "<button id=\"sbx-accept\" name=\"decision\" value=\"accept\">授权</button>"
        "<button id=\"sbx-reject\" name=\"decision\" value=\"reject\">暂不领取</button>"
        "<label for=\"sbx-openid\">模拟用户 openid</label>"
        "<input id=\"sbx-openid\" name=\"openid\" value=\"%s\"></form></div></body></html>",
        hg_db_val(r, 0, 0), strcmp(hg_db_val(r, 0, 1), "never auth") ? "（已授权）" : "",
        ap_escape_html(c->pool, pappid), ap_escape_html(c->pool, order), DEFAULT_OPENID));
}

/* POST /sandbox/wechat/invoice/auth (the page's form): 授权 binds the order to the openid; either
 * way the browser goes back to the order's redirect_url */
/* WeChat pushes the patient's decision to the account's server (user_authorize_invoice: SuccOrderId
 * when authorised, FailOrderId when not), in safe mode when the account has an EncodingAESKey.
 * Here the account's server is this host.  Done once, after the answer is decided and the
 * database given back; a failure is logged (WeChat would try twice more). */
static void push_decision(hg_call_t *c, const char *appid, const char *order, const char *openid, int authorised)
{
    hg_db_result_t *r;
    hg_http_req_t req;
    hg_http_resp_t *resp = NULL;
    const char *path, *token, *aeskey, *xml, *ts, *query, *body;
    char *nonce, *enc = NULL, sig[41], msig[41];
    apr_status_t rv;

    if (hg_db_q(c->db, &r, "UPDATE sandbox.wechat_apps SET pushes = pushes + 1 WHERE appid = $1 AND push_path IS NOT NULL "
                "RETURNING push_path, push_token, coalesce(push_aeskey, '')", 1, appid) || !r->nrows)
        return;
    path = apr_pstrdup(c->pool, hg_db_val(r, 0, 0));
    token = apr_pstrdup(c->pool, hg_db_val(r, 0, 1));
    aeskey = apr_pstrdup(c->pool, hg_db_val(r, 0, 2));
    hg_call_db_release(c);
    ts = apr_psprintf(c->pool, "%" APR_TIME_T_FMT, apr_time_sec(apr_time_now()));
    if (hg_random_string(&nonce, c->pool, 10, "0123456789"))
        return;
    /* openid and order id are checked characters: no "]]>" can end a CDATA early */
    xml = apr_psprintf(c->pool, "<xml><ToUserName><![CDATA[gh_sandbox0001]]></ToUserName>"
                       "<FromUserName><![CDATA[%s]]></FromUserName><CreateTime>%s</CreateTime>"
                       "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[user_authorize_invoice]]></Event>"
                       "<SuccOrderId><![CDATA[%s]]></SuccOrderId><FailOrderId><![CDATA[%s]]></FailOrderId>"
                       "<AuthorizeAppId><![CDATA[%s]]></AuthorizeAppId><Source><![CDATA[web]]></Source></xml>",
                       openid, ts, authorised ? order : "", authorised ? "" : order, appid);
    if (hg_wechat_push_signature(sig, c->pool, token, ts, nonce, NULL))
        return;
    query = apr_psprintf(c->pool, "?signature=%s&timestamp=%s&nonce=%s&openid=%s", sig, ts, nonce, openid);
    body = xml;
    if (*aeskey) {
        if (hg_wechat_push_encrypt(&enc, c->pool, aeskey, xml, strlen(xml), appid)
            || hg_wechat_push_signature(msig, c->pool, token, ts, nonce, enc))
            return;
        query = apr_pstrcat(c->pool, query, "&encrypt_type=aes&msg_signature=", msig, NULL);
        body = apr_pstrcat(c->pool, "<xml><ToUserName><![CDATA[gh_sandbox0001]]></ToUserName><Encrypt><![CDATA[",
                           enc, "]]></Encrypt></xml>", NULL);
    }
    memset(&req, 0, sizeof(req));
    req.url = ap_construct_url(c->pool, apr_pstrcat(c->pool, path, query, NULL), c->r);
    req.body = body;
    req.headers = apr_table_make(c->pool, 1);
    apr_table_setn(req.headers, "Content-Type", "text/xml");
    req.timeout_ms = 5000;          /* WeChat waits 5 s for the answer */
    req.endpoint_name = "sandbox.wechat.push";
    rv = hg_http_do(&resp, c->pool, &req);
    if (rv != APR_SUCCESS || resp->status != 200)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, c->r, "HG09011: sandbox WeChat: the push of order %s was not "
                      "taken (%d)", order, resp ? resp->status : 0);
}

static apr_status_t route_auth_submit(hg_call_t *c)
{
    const char *pappid = form_get(c->pool, c->body, "s_pappid"), *order = form_get(c->pool, c->body, "order_id"),
               *openid = form_get(c->pool, c->body, "openid"), *decision = form_get(c->pool, c->body, "decision");
    hg_db_result_t *r;
    apr_status_t rv;

    if (!pappid || !order || !decision || !openid || strlen(openid) < 16 || strlen(openid) > 64
        || strspn(openid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(openid))
        return html(c, 400, "<!doctype html><p>参数错误</p>");
    if ((rv = hg_db_q(c->db, &r, "UPDATE sandbox.wxcard_orders SET status = CASE WHEN $3 = 'accept' AND status = "
                      "'never auth' THEN 'auth success' ELSE status END, openid = CASE WHEN $3 = 'accept' AND status = "
                      "'never auth' THEN $4 ELSE openid END, auth_time = CASE WHEN $3 = 'accept' AND status = 'never auth' "
                      "THEN now() ELSE auth_time END WHERE s_pappid = $1 AND order_id = $2 "
                      "RETURNING coalesce(redirect_url, ''), status, appid",
                      4, pappid, order, decision, openid)))
        return rv;
    if (!r->nrows)
        return html(c, 404, "<!doctype html><p>订单不存在</p>");
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, c->r, "HG09010: sandbox WeChat: invoice order %s: %s", order,
                  hg_db_val(r, 0, 1));
    push_decision(c, apr_pstrdup(c->pool, hg_db_val(r, 0, 2)), order, openid, !strcmp(hg_db_val(r, 0, 1), "auth success"));
    if (!*hg_db_val(r, 0, 0))
        return html(c, 200, "<!doctype html><p>已授权，请返回</p>");
    apr_table_setn(c->r->headers_out, "Location", apr_pstrdup(c->pool, hg_db_val(r, 0, 0)));
    return html(c, 302, "<!doctype html><p>正在返回</p>");
}

/* POST /sandbox/wechat/card/invoice/getauthdata {"s_pappid","order_id"} -> {"invoice_status","auth_time"} */
static apr_status_t route_getauthdata(hg_call_t *c)
{
    const char *appid;
    json_t *j, *o;
    hg_db_result_t *r;
    apr_status_t rv;
    if ((rv = caller(c, &appid)) || !appid)
        return rv;
    if (!(j = body_json(c)))
        return APR_SUCCESS;
    if (!str_ok(j, "s_pappid", 128) || !str_ok(j, "order_id", 64))
        return answer(c, 72031, "invalid params");
    if ((rv = hg_db_q(c->db, &r, "SELECT status, coalesce(extract(epoch FROM auth_time)::bigint, 0) FROM sandbox.wxcard_orders "
                      "WHERE s_pappid = $1 AND order_id = $2 AND appid = $3", 3,
                      hg_json_gets(j, "s_pappid", NULL), hg_json_gets(j, "order_id", NULL), appid)))
        return rv;
    o = json_pack("{s:i, s:s, s:s}", "errcode", 0, "errmsg", "ok", "invoice_status",
                  r->nrows ? hg_db_val(r, 0, 0) : "never auth");
    if (r->nrows && strcmp(hg_db_val(r, 0, 0), "never auth"))
        json_object_set_new(o, "auth_time", json_integer(apr_atoi64(hg_db_val(r, 0, 1))));
    return hg_call_answer(c, 200, o);
}

/* the file part named "pdf" of a multipart/form-data body */
static int pdf_part(hg_call_t *c, const char **data, apr_size_t *len, const char **filename)
{
    const char *ct = apr_table_get(c->r->headers_in, "Content-Type"), *b, *head, *start, *end, *fn;
    const char *stop = c->body + c->body_len;
    char *delim;
    if (!ct || strncasecmp(ct, "multipart/form-data", 19) || !(b = strstr(ct, "boundary=")))
        return 0;
    b += 9;
    delim = apr_pstrcat(c->pool, "\r\n--", *b == '"' ? apr_pstrndup(c->pool, b + 1, strcspn(b + 1, "\"")) : b, NULL);
    head = memmem(c->body, c->body_len, "name=\"pdf\"", 10);
    if (!head || !(start = memmem(head, stop - head, "\r\n\r\n", 4)))
        return 0;
    fn = memmem(head, start - head, "filename=\"", 10);
    *filename = fn ? apr_pstrndup(c->pool, fn + 10, strcspn(fn + 10, "\"\r\n")) : NULL;
    start += 4;
    if (!(end = memmem(start, stop - start, delim, strlen(delim))))
        return 0;
    *data = start;
    *len = end - start;
    return 1;
}

/* POST /sandbox/wechat/card/invoice/platform/setpdf (multipart, part "pdf") -> {"s_media_id"} */
static apr_status_t route_setpdf(hg_call_t *c)
{
    const char *appid, *data, *filename = NULL;
    apr_size_t len;
    char *id;
    apr_status_t rv;
    if ((rv = caller(c, &appid)) || !appid)
        return rv;
    if (!pdf_part(c, &data, &len, &filename))
        return answer(c, 47001, "data format error");
    if (len < 5 || memcmp(data, "%PDF-", 5))
        return answer(c, 72040, "invoice pdf error");
    if ((rv = hg_random_string(&id, c->pool, 17, "0123456789")))
        return rv;
    id[0] = id[0] == '0' ? '1' : id[0];
    if ((rv = hg_db_q(c->db, NULL, "INSERT INTO sandbox.wxcard_pdfs (s_media_id, appid, filename, size) "
                      "VALUES ($1, $2, $3, $4::int)", 4, id, appid, filename, apr_psprintf(c->pool, "%lu", (unsigned long)len))))
        return rv;
    return hg_call_answer(c, 200, json_pack("{s:i, s:s, s:s}", "errcode", 0, "errmsg", "ok", "s_media_id", id));
}

/* POST /sandbox/wechat/card/invoice/insert — into the patient's card package -> {"code","openid"} */
static apr_status_t route_insert(hg_call_t *c)
{
    const char *appid, *order, *openid, *status;
    json_t *j, *ext, *d, *it;
    hg_db_result_t *r;
    char *code;
    apr_size_t i;
    apr_status_t rv;

    if ((rv = caller(c, &appid)) || !appid)
        return rv;
    if (!(j = body_json(c)))
        return APR_SUCCESS;
    ext = json_object_get(j, "card_ext");
    d = json_object_get(json_object_get(ext, "user_card"), "invoice_user_data");
    if (!str_ok(j, "order_id", 64) || !str_ok(j, "card_id", 64) || !str_ok(j, "appid", 64) || !str_ok(ext, "nonce_str", 64)
        || !json_is_object(d) || !int_ok(d, "fee", 1, 100000000000LL) || !str_ok(d, "title", 200)
        || !int_ok(d, "billing_time", 1000000000, 9999999999LL) || !str_ok(d, "billing_no", 20)
        || !str_ok(d, "billing_code", 20) || !str_ok(d, "s_pdf_media_id", 32) || !str_ok(d, "check_code", 32)
        || !int_ok(d, "fee_without_tax", 0, 100000000000LL) || !int_ok(d, "tax", 0, 100000000000LL))
        return answer(c, 72031, "invalid params");
    json_array_foreach(json_object_get(d, "info"), i, it)
        if (!str_ok(it, "name", 200) || !int_ok(it, "num", 1, 100000000) || !int_ok(it, "price", 0, 100000000000LL))
            return answer(c, 72031, apr_psprintf(c->pool, "invalid params: info[%lu]", (unsigned long)i));
    order = hg_json_gets(j, "order_id", NULL);
    if ((rv = hg_db_q(c->db, &r, "SELECT (SELECT count(*) FROM sandbox.wxcard_cards WHERE card_id = $1 AND appid = $2), "
                      "(SELECT count(*) FROM sandbox.wxcard_pdfs WHERE s_media_id = $3 AND appid = $2 "
                      "   AND created_at > now() - interval '3 days')", 3,
                      hg_json_gets(j, "card_id", NULL), appid, hg_json_gets(d, "s_pdf_media_id", NULL))))
        return rv;
    if (!strcmp(hg_db_val(r, 0, 0), "0"))
        return answer(c, 40078, "invalid card status");
    if (!strcmp(hg_db_val(r, 0, 1), "0"))
        return answer(c, 72040, "invoice pdf error");
    /* the order of the platform's s_pappid, authorised for the appid the insert names */
    if ((rv = hg_db_q(c->db, &r, "UPDATE sandbox.wxcard_orders o SET insert_attempts = insert_attempts + 1 "
                      "FROM sandbox.wxcard_platforms p WHERE p.appid = $1 AND o.s_pappid = p.s_pappid AND o.order_id = $2 "
                      "AND o.appid = $3 RETURNING o.status, coalesce(o.openid, ''), o.insert_attempts", 3,
                      appid, order, hg_json_gets(j, "appid", NULL))))
        return rv;
    if (!r->nrows || strcmp((status = hg_db_val(r, 0, 0)), "auth success"))
        return answer(c, 72038, "invoice order never auth");
    openid = apr_pstrdup(c->pool, hg_db_val(r, 0, 1));
    if (!strncmp(openid, "oSBXreject", 10))
        return answer(c, 40003, "invalid openid");
    if (!strncmp(openid, "oSBXbusy", 8) && atoi(hg_db_val(r, 0, 2)) == 1)
        return answer(c, -1, "system error");
    if (!strncmp(openid, "oSBXslow", 8))
        apr_sleep(apr_time_from_sec(3));
    if ((rv = hg_random_string(&code, c->pool, 12, "0123456789")))
        return rv;
    if ((rv = hg_db_q(c->db, &r, "INSERT INTO sandbox.wxcard_inserts (order_id, card_id, appid, openid, code, billing_no, "
                      "billing_code, fee, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::bigint, $9::jsonb) "
                      "ON CONFLICT (billing_no, billing_code) DO NOTHING RETURNING id", 9,
                      order, hg_json_gets(j, "card_id", NULL), hg_json_gets(j, "appid", NULL), openid, code,
                      hg_json_gets(d, "billing_no", NULL), hg_json_gets(d, "billing_code", NULL),
                      apr_psprintf(c->pool, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(json_object_get(d, "fee"))),
                      hg_json_dump(c->pool, j, 0))))
        return rv;
    if (!r->nrows)
        return answer(c, 72042, "billing_code and billing_no repeated");
    return hg_call_answer(c, 200, json_pack("{s:i, s:s, s:s, s:s}", "errcode", 0, "errmsg", "ok", "code", code,
                                            "openid", openid));
}

/* POST /sandbox/wechat/card/invoice/platform/updatestatus {"card_id","code","reimburse_status"} —
 * the platform changes a card's status in the patient's package (冲红: INVOICE_REIMBURSE_CANCEL).
 * A card of another account, or a code never handed out, is 40056 invalid serial code (WeChat's
 * card errcode, inferred for this call); setting the status a card has already is ok (a platform
 * retrying after a lost answer); a card reimbursed (CLOSURE) or cancelled stays so: 40078 invalid
 * card status (WeChat's card errcode, inferred here too). */
static apr_status_t route_updatestatus(hg_call_t *c)
{
    static const char *const statuses[] = { "INVOICE_REIMBURSE_INIT", "INVOICE_REIMBURSE_LOCK",
                                            "INVOICE_REIMBURSE_CLOSURE", "INVOICE_REIMBURSE_CANCEL", NULL };
    const char *appid, *status, *now;
    json_t *j;
    hg_db_result_t *r;
    int i;
    apr_status_t rv;

    if ((rv = caller(c, &appid)) || !appid)
        return rv;
    if (!(j = body_json(c)))
        return APR_SUCCESS;
    if (!str_ok(j, "card_id", 64) || !str_ok(j, "code", 64) || !str_ok(j, "reimburse_status", 64))
        return answer(c, 47001, "data format error");
    status = hg_json_gets(j, "reimburse_status", NULL);
    for (i = 0; statuses[i] && strcmp(statuses[i], status); i++)
        ;
    if (!statuses[i])
        return answer(c, 47003, "argument invalid! reimburse_status");
    if ((rv = hg_db_q(c->db, &r, "UPDATE sandbox.wxcard_inserts SET status_updates = status_updates + 1 "
                      "WHERE card_id = $1 AND code = $2 AND appid = $3 "
                      "RETURNING reimburse_status, openid, status_updates", 3,
                      hg_json_gets(j, "card_id", NULL), hg_json_gets(j, "code", NULL), appid)))
        return rv;
    if (!r->nrows)
        return answer(c, 40056, "invalid serial code");
    now = hg_db_val(r, 0, 0);
    if (!strncmp(hg_db_val(r, 0, 1), "oSBXbusy", 8) && atoi(hg_db_val(r, 0, 2)) == 1)
        return answer(c, -1, "system error");
    if (!strcmp(now, status))
        return answer(c, 0, "ok");
    if (!strcmp(now, "INVOICE_REIMBURSE_CLOSURE") || !strcmp(now, "INVOICE_REIMBURSE_CANCEL"))
        return answer(c, 40078, "invalid card status");
    if ((rv = hg_db_q(c->db, NULL, "UPDATE sandbox.wxcard_inserts SET reimburse_status = $3, status_at = now() "
                      "WHERE card_id = $1 AND code = $2", 3, hg_json_gets(j, "card_id", NULL),
                      hg_json_gets(j, "code", NULL), status)))
        return rv;
    return answer(c, 0, "ok");
}

/* POST /sandbox/wechat/expire-tickets — every authorisation-page ticket handed out stops working
 * now (WeChat ends them early too); -> {"expired": n} */
static apr_status_t route_expire_tickets(hg_call_t *c)
{
    hg_db_result_t *r;
    apr_status_t rv;
    if ((rv = hg_db_q(c->db, &r, "WITH e AS (UPDATE sandbox.wxcard_tickets SET expires_at = now() "
                      "WHERE expires_at > now() RETURNING 1) SELECT count(*) FROM e", 0)))
        return rv;
    return hg_call_answer(c, 200, json_pack("{s:I}", "expired", (json_int_t)apr_atoi64(hg_db_val(r, 0, 0))));
}

const hg_route_t sandbox_wxcard_routes[] = {
    { "POST", "/sandbox/wechat/expire-tickets", HG_R_PUBLIC | HG_R_DB, NULL, route_expire_tickets },
    { "GET",  "/sandbox/wechat/cgi-bin/ticket/getticket", HG_R_PUBLIC | HG_R_DB, NULL, route_ticket },
    { "POST", "/sandbox/wechat/card/invoice/seturl", HG_R_PUBLIC | HG_R_DB, NULL, route_seturl },
    { "POST", "/sandbox/wechat/card/invoice/platform/createcard", HG_R_PUBLIC | HG_R_DB, NULL, route_createcard },
    { "POST", "/sandbox/wechat/card/invoice/getauthurl", HG_R_PUBLIC | HG_R_DB, NULL, route_getauthurl },
    { "GET",  "/sandbox/wechat/invoice/auth", HG_R_PUBLIC | HG_R_DB, NULL, route_auth_page },
    { "POST", "/sandbox/wechat/invoice/auth", HG_R_PUBLIC | HG_R_DB, NULL, route_auth_submit },
    { "POST", "/sandbox/wechat/card/invoice/getauthdata", HG_R_PUBLIC | HG_R_DB, NULL, route_getauthdata },
    { "POST", "/sandbox/wechat/card/invoice/platform/setpdf", HG_R_PUBLIC | HG_R_DB, NULL, route_setpdf },
    { "POST", "/sandbox/wechat/card/invoice/insert", HG_R_PUBLIC | HG_R_DB, NULL, route_insert },
    { "POST", "/sandbox/wechat/card/invoice/platform/updatestatus", HG_R_PUBLIC | HG_R_DB, NULL, route_updatestatus },
    { NULL }
};
