/* invoice_notify: SMS and WeChat template-message notices (see invoice_notify.h).  No httpd headers. */
#include <string.h>
#include <jansson.h>
#include <apr_strings.h>
#include <apr_base64.h>
#include <apr_date.h>
#include <apr_lib.h>
#include "invoice_notify.h"
#include "hg_http.h"
#include "hg_json.h"
#include "hg_money.h"
#include "hg_err.h"
#include "hg_wechat.h"
#include "hg_crypto.h"

static const hg_field_t NOTICE[] = {
    { .name = "channel", .type = HG_JT_STRING, .flags = HG_F_REQUIRED,
      .enum_values = (const char *const[]){ "sms", "wechat", NULL } },
    { .name = "to", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 64 },
    { .name = "url", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 2048,
      .pattern = "https?://[^[:space:]]+" },
    { .name = "billBatchCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "billNo", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20 },
    { .name = "totalAmt", .type = HG_JT_MONEY, .flags = HG_F_REQUIRED | HG_F_NEGATIVE },
    { .name = "institutionName", .type = HG_JT_STRING, .flags = HG_F_NULLABLE, .max_len = 100 },
    { .name = "title", .type = HG_JT_STRING, .flags = HG_F_NULLABLE, .max_len = 100 },
    /* wechat: the phone the HIS gave too, for the SMS when WeChat cannot reach the patient */
    { .name = "fallbackTel", .type = HG_JT_STRING, .max_len = 20 },
    HG_FIELDS_END };

static const hg_field_t PLAIN_SMS[] = {
    { .name = "channel", .type = HG_JT_STRING, .flags = HG_F_REQUIRED,
      .enum_values = (const char *const[]){ "sms", NULL } },
    { .name = "to", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 64 },
    { .name = "text", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 300 },
    HG_FIELDS_END };

static const hg_field_t MAIL[] = {
    { .name = "channel", .type = HG_JT_STRING, .flags = HG_F_REQUIRED,
      .enum_values = (const char *const[]){ "email", NULL } },
    { .name = "to", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 254, .pattern = INVOICE_MAIL_PATTERN },
    { .name = "subject", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 200 },
    { .name = "text", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 4000 },
    { .name = "filename", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 100,
      .pattern = "[A-Za-z0-9._-]{1,100}" },
    /* the file, or what to draw it from (an e-mail queued with the bill, before any PDF exists) */
    { .name = "pdf", .type = HG_JT_STRING, .max_len = 16 * 1024 * 1024 },
    { .name = "render", .type = HG_JT_OBJECT },
    HG_FIELDS_END };

#define LB "\xE3\x80\x90"          /* 【 */
#define RB "\xE3\x80\x91"          /* 】 */

/* the SMS sign without its brackets: the configured one, else the institution's name */
static const char *bare_sign(apr_pool_t *p, const char *conf_sign, json_t *payload)
{
    const char *s = conf_sign && *conf_sign ? conf_sign : hg_json_gets(payload, "institutionName", NULL);
    apr_size_t n;
    if (!s)
        return NULL;
    while (*s == ' ')
        s++;
    if (!strncmp(s, LB, 3))
        s += 3;
    n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        n--;
    if (n >= 3 && !memcmp(s + n - 3, RB, 3))
        n -= 3;
    return n ? apr_pstrndup(p, s, n) : NULL;
}

static const char *invalid_text(apr_pool_t *p, const hg_error_t *e)
{
    return apr_psprintf(p, "invoice.notify payload: %s%s%s", e && e->field ? e->field : "",
                        e && e->field ? ": " : "", e ? e->message : "invalid");
}

apr_status_t invoice_notify_sms_text(char **text, const char **why, apr_pool_t *p, const char *sms_sign,
                                     json_t *payload)
{
    int plain = json_object_get(payload, "text") != NULL;
    hg_error_t *e = NULL;
    const char *sign;
    apr_int64_t fen;

    *text = NULL;
    if (hg_json_validate(p, payload, plain ? PLAIN_SMS : NOTICE, &e) != APR_SUCCESS) {
        *why = invalid_text(p, e);
        return HG_EINVALID;
    }
    if (!(sign = bare_sign(p, sms_sign, payload))) {
        *why = "no SMS sign: neither InvoiceSMSGateway's sign nor the payload's institutionName";
        return HG_EINVALID;
    }
    if (plain) {
        *text = apr_pstrcat(p, LB, sign, RB, hg_json_gets(payload, "text", NULL), NULL);
        return APR_SUCCESS;
    }
    hg_json_getm(payload, &fen, "totalAmt", NULL);
    *text = apr_psprintf(p, LB "%s" RB "您的电子票据已开具：金额%s元，票据号码%s（代码%s），查看：%s", sign,
                         hg_money_format(p, fen), hg_json_gets(payload, "billNo", NULL),
                         hg_json_gets(payload, "billBatchCode", NULL), hg_json_gets(payload, "url", NULL));
    return APR_SUCCESS;
}

static apr_status_t give_up(hg_outbox_outcome_t *out, invoice_verdict_t v, const char *error, apr_status_t rv)
{
    out->permanent = v == INVOICE_PERMANENT;
    out->error = error;
    return rv;
}

/* POST a JSON body; on any answer but a 200, decide here */
static apr_status_t post(hg_http_resp_t **resp, apr_pool_t *p, const hg_outbox_item_t *item,
                         const invoice_notify_conf_t *conf, const char *url, const char *endpoint,
                         json_t *body, hg_outbox_outcome_t *out)
{
    hg_http_req_t req;
    invoice_verdict_t v;
    apr_status_t rv;
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = url;
    req.headers = apr_table_make(p, 2);
    apr_table_setn(req.headers, "Content-Type", "application/json;charset=UTF-8");
    if (!(req.body = hg_json_dump(p, body, 0)))
        return give_up(out, INVOICE_RETRY, "out of memory", APR_ENOMEM);
    req.body_len = strlen(req.body);
    req.timeout_ms = conf->timeout_ms;
    req.connect_timeout_ms = HG_HTTP_CONNECT_TIMEOUT_MS;
    req.idempotent = 0;            /* a second send is a second message */
    req.ca_file = conf->ca_file;
    req.endpoint_name = endpoint;
    req.observer = item->http_observer;
    req.observer_baton = item->http_observer_baton;
    rv = hg_http_do(resp, p, &req);
    if ((v = invoice_http_classify(rv, *resp ? (*resp)->status : 0)) == INVOICE_DELIVERED)
        return APR_SUCCESS;
    if (rv != APR_SUCCESS)
        return give_up(out, v, apr_psprintf(p, "%s: gateway not reached: %s", endpoint,
                                           *resp && (*resp)->error ? (*resp)->error
                                           : rv == HG_ETIMEOUT ? "timeout" : "error"), rv);
    return give_up(out, v, apr_psprintf(p, "%s: gateway answered HTTP %d", endpoint, (*resp)->status), HG_EPLATFORM);
}

static const char *jstr2(json_t *o, const char *a, const char *b)
{
    const char *s = hg_json_gets(o, a, NULL);
    return s ? s : hg_json_gets(o, b, NULL);
}

static apr_status_t send_sms(apr_pool_t *p, const hg_outbox_item_t *item, const invoice_notify_conf_t *conf,
                             json_t *payload, hg_outbox_outcome_t *out)
{
    hg_http_resp_t *resp = NULL;
    json_t *ans = NULL;
    const char *why, *phone = hg_json_gets(payload, "to", NULL), *code, *msg;
    char *text;
    apr_status_t rv;

    if (!conf->sms_url)
        return give_up(out, INVOICE_PERMANENT, "the SMS gateway is not configured (InvoiceSMSGateway)", HG_EINVALID);
    if (invoice_notify_sms_text(&text, &why, p, conf->sms_sign, payload) != APR_SUCCESS)
        return give_up(out, INVOICE_PERMANENT, why, HG_EINVALID);
    /* mainland mobile numbers only; the number itself stays out of the console */
    if (strlen(phone) != 11 || phone[0] != '1' || strspn(phone, "0123456789") != 11)
        return give_up(out, INVOICE_PERMANENT, "invoice.notify: 'to' is not an 11-digit mobile number", HG_EINVALID);
    if ((rv = post(&resp, p, item, conf, conf->sms_url, "notify.sms",
                   hg_json_own(p, json_pack("{s:s, s:s, s:s}", "phone", phone, "content", text,
                                            "sign", bare_sign(p, conf->sms_sign, payload))), out)))
        return rv;
    /* some gateways capitalise (Code/BizId): take either */
    if (hg_json_parse(&ans, p, resp->body, resp->body_len, 0, NULL) != APR_SUCCESS
        || !(code = jstr2(ans, "code", "Code")))
        return give_up(out, INVOICE_RETRY, "notify.sms: the answer is not the gateway's JSON", HG_EPLATFORM);
    if (invoice_notify_sms_classify(code) != INVOICE_DELIVERED) {
        msg = jstr2(ans, "message", "Message");
        return give_up(out, invoice_notify_sms_classify(code), apr_psprintf(p, "notify.sms: %s %s",
                       hg_utf8_repair(p, code), msg ? hg_utf8_repair(p, msg) : ""), HG_EPLATFORM);
    }
    out->result = hg_json_dump(p, hg_json_own(p, json_pack("{s:s, s:s?}", "channel", "sms", "bizId",
                                                          jstr2(ans, "bizId", "BizId"))), 0);
    return APR_SUCCESS;
}

/* the SMS in place of a template message WeChat refused for good; the outcome says both */
static apr_status_t wechat_to_sms(apr_pool_t *p, const hg_outbox_item_t *item, const invoice_notify_conf_t *conf,
                                  json_t *payload, const char *tel, long errcode, const char *why,
                                  hg_outbox_outcome_t *out)
{
    json_t *sms = hg_json_own(p, json_deep_copy(payload)), *res = NULL;
    apr_status_t rv;
    json_object_set_new(sms, "channel", json_string("sms"));
    json_object_set_new(sms, "to", json_string(tel));
    json_object_del(sms, "fallbackTel");
    if ((rv = send_sms(p, item, conf, sms, out)) != APR_SUCCESS) {
        out->error = apr_psprintf(p, "notify.wechat: %s; then %s", why, out->error ? out->error : "notify.sms failed");
        return rv;
    }
    if (out->result && hg_json_parse(&res, p, out->result, strlen(out->result), 0, NULL) == APR_SUCCESS) {
        json_object_set_new(res, "fallbackFrom", json_string("wechat"));
        json_object_set_new(res, "wechatErrcode", json_integer((json_int_t)errcode));
        out->result = hg_json_dump(p, res, 0);
    }
    return APR_SUCCESS;
}

static apr_status_t send_wechat(apr_pool_t *p, const hg_outbox_item_t *item, const invoice_notify_conf_t *conf,
                                json_t *payload, hg_outbox_outcome_t *out)
{
    hg_error_t *e = NULL;
    json_t *ans = NULL, *body, *msgid;
    hg_wechat_call_t call;
    const char *name, *title, *why = NULL;
    apr_int64_t fen;
    long errcode = 0;
    apr_status_t rv;
    int status = 0;

    if (!conf->wechat_url || !conf->wechat_template_id)
        return give_up(out, INVOICE_PERMANENT, "the WeChat gateway is not configured (InvoiceWeChatGateway)",
                       HG_EINVALID);
    if (json_object_get(payload, "text"))
        return give_up(out, INVOICE_PERMANENT, "invoice.notify: free text goes by SMS only", HG_EINVALID);
    if (hg_json_validate(p, payload, NOTICE, &e) != APR_SUCCESS)
        return give_up(out, INVOICE_PERMANENT, invalid_text(p, e), HG_EINVALID);
    name = hg_json_gets(payload, "institutionName", NULL);
    title = hg_json_gets(payload, "title", NULL);
    hg_json_getm(payload, &fen, "totalAmt", NULL);
    body = hg_json_own(p, json_pack("{s:s, s:s, s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}}",
        "touser", hg_json_gets(payload, "to", NULL), "template_id", conf->wechat_template_id,
        "url", hg_json_gets(payload, "url", NULL), "data",
        "first", "value", "您好，您的电子票据已开具。",
        "keyword1", "value", name && *name ? name : "—",
        "keyword2", "value", title && *title ? title : "医疗收费电子票据",
        "keyword3", "value", apr_pstrcat(p, hg_json_gets(payload, "billBatchCode", NULL), " ",
                                         hg_json_gets(payload, "billNo", NULL), NULL),
        "keyword4", "value", apr_pstrcat(p, hg_money_format(p, fen), "元", NULL),
        "remark", "value", "点击查看电子票据，可下载PDF。"));
    if (!body)
        return give_up(out, INVOICE_PERMANENT, "invoice.notify: the template message could not be built", HG_EINVALID);
    memset(&call, 0, sizeof(call));
    call.url = conf->wechat_url;
    call.body = hg_json_dump(p, body, 0);
    call.token = conf->wechat_token;
    call.ca_file = conf->ca_file;
    call.timeout_ms = conf->timeout_ms;
    call.endpoint_name = "notify.wechat";
    call.observer = item->http_observer;
    call.observer_baton = item->http_observer_baton;
    if ((rv = hg_wechat_call(p, &call, &errcode, &status, &ans, &why)) != APR_SUCCESS)
        return give_up(out, invoice_http_classify(rv == HG_EPLATFORM && status ? APR_SUCCESS : rv, status),
                       apr_pstrcat(p, "notify.wechat: ", why, NULL), rv);
    if (invoice_notify_wechat_classify(errcode) != INVOICE_DELIVERED) {
        const char *tel = hg_json_gets(payload, "fallbackTel", NULL);
        /* WeChat cannot reach this patient (43004: does not follow the account; 40003: the openid is
         * not the account's) and never will: the bill would reach nobody, so the phone given with it
         * gets the SMS.  Our own faults (template, data) dead-letter as before, to be fixed. */
        if ((errcode == 43004 || errcode == 40003) && tel && *tel)
            return wechat_to_sms(p, item, conf, payload, tel, errcode, why, out);
        return give_up(out, invoice_notify_wechat_classify(errcode), apr_pstrcat(p, "notify.wechat: ", why, NULL),
                       HG_EPLATFORM);
    }
    msgid = json_object_get(ans, "msgid");
    out->result = hg_json_dump(p, hg_json_own(p, json_pack("{s:s, s:O?}", "channel", "wechat", "msgid", msgid)), 0);
    return APR_SUCCESS;
}

/* base64 of data in lines of 76, each ended by CRLF */
static char *b64_lines(apr_pool_t *p, const unsigned char *data, apr_size_t len)
{
    char *flat = apr_palloc(p, apr_base64_encode_len((int)len)), *out, *o;
    apr_size_t n = (apr_size_t)apr_base64_encode_binary(flat, data, (int)len), i;
    if (n && !flat[n - 1])
        n--;                                    /* the count includes the NUL */
    o = out = apr_palloc(p, n + (n / 76 + 1) * 2 + 1);
    for (i = 0; i < n; i += 76) {
        apr_size_t k = n - i < 76 ? n - i : 76;
        memcpy(o, flat + i, k);
        o += k;
        *o++ = '\r';
        *o++ = '\n';
    }
    *o = '\0';
    return out;
}

/* an RFC 2047 encoded word for a header (UTF-8, base64); plain ASCII text as it is */
static const char *encoded_word(apr_pool_t *p, const char *s)
{
    const char *q;
    char *b;
    for (q = s; *q; q++)
        if ((unsigned char)*q >= 0x80 || *q == '"' || *q == '=' || *q == '?' || apr_iscntrl(*q))
            break;
    if (!*q)
        return s;
    b = apr_palloc(p, apr_base64_encode_len((int)strlen(s)));
    apr_base64_encode(b, s, (int)strlen(s));
    return apr_pstrcat(p, "=?UTF-8?B?", b, "?=", NULL);
}

apr_status_t invoice_mail_message(char **msg, apr_size_t *len, apr_pool_t *p, const char *from_name,
                                  const char *from, const char *to, const char *subject, const char *text,
                                  const char *filename, const unsigned char *pdf, apr_size_t pdf_len)
{
    char date[APR_RFC822_DATE_LEN], *tag;
    const char *s;
    apr_status_t rv;
    /* header values come from our own payload, but never let a line break through */
    for (s = apr_pstrcat(p, from_name ? from_name : "", from, to, subject, filename, NULL); *s; s++)
        if (*s == '\r' || *s == '\n')
            return HG_EINVALID;
    if ((rv = hg_random_string(&tag, p, 24, "abcdefghijklmnopqrstuvwxyz0123456789")))
        return rv;
    apr_rfc822_date(date, apr_time_now());
    *msg = apr_pstrcat(p,
        "From: ", from_name && *from_name ? apr_pstrcat(p, encoded_word(p, from_name), " ", NULL) : "",
        "<", from, ">\r\n",
        "To: <", to, ">\r\n",
        "Subject: ", encoded_word(p, subject), "\r\n",
        "Date: ", date, "\r\n",
        "Message-ID: <", tag, "@hisgate>\r\n",
        "MIME-Version: 1.0\r\n",
        "Content-Type: multipart/mixed; boundary=\"hg-", tag, "\"\r\n",
        "\r\n",
        "--hg-", tag, "\r\n",
        "Content-Type: text/plain; charset=UTF-8\r\n",
        "Content-Transfer-Encoding: base64\r\n\r\n",
        b64_lines(p, (const unsigned char *)text, strlen(text)),
        "--hg-", tag, "\r\n",
        "Content-Type: application/pdf; name=\"", filename, "\"\r\n",
        "Content-Transfer-Encoding: base64\r\n",
        "Content-Disposition: attachment; filename=\"", filename, "\"\r\n\r\n",
        b64_lines(p, pdf, pdf_len),
        "--hg-", tag, "--\r\n", NULL);
    *len = strlen(*msg);
    return APR_SUCCESS;
}

static apr_status_t send_email(apr_pool_t *p, const hg_outbox_item_t *item, const invoice_notify_conf_t *conf,
                               json_t *payload, hg_outbox_outcome_t *out)
{
    hg_error_t *e = NULL;
    hg_smtp_msg_t m;
    const char *b64, *err = NULL;
    unsigned char *pdf;
    char *msg;
    apr_size_t pdf_len, msg_len;
    apr_status_t rv;
    int reply = 0;

    if (!conf->mail_url || !conf->mail_from)
        return give_up(out, INVOICE_PERMANENT, "the mail server is not configured (InvoiceMail)", HG_EINVALID);
    if (hg_json_validate(p, payload, MAIL, &e) != APR_SUCCESS)
        return give_up(out, INVOICE_PERMANENT, invalid_text(p, e), HG_EINVALID);
    if ((b64 = hg_json_gets(payload, "pdf", NULL))) {
        pdf = apr_palloc(p, apr_base64_decode_len(b64));
        pdf_len = (apr_size_t)apr_base64_decode_binary(pdf, b64);
    }
    else if (json_is_object(json_object_get(payload, "render"))) {
        const char *drawn, *why = NULL;
        if (!conf->render_pdf)
            return give_up(out, INVOICE_PERMANENT, "invoice.notify: no PDF renderer here", HG_EINVALID);
        if ((rv = conf->render_pdf(&drawn, &pdf_len, p, json_object_get(payload, "render"), &why)) == APR_EAGAIN)
            return give_up(out, INVOICE_RETRY, "invoice.notify: no PDF render free now (InvoicePdfRenders)", rv);
        if (rv)
            return give_up(out, INVOICE_PERMANENT, apr_pstrcat(p, "invoice.notify: the layout file could not be "
                                                             "drawn: ", why ? why : "render failed", NULL), rv);
        pdf = (unsigned char *)drawn;
    }
    else
        return give_up(out, INVOICE_PERMANENT, "invoice.notify payload: neither pdf nor render", HG_EINVALID);
    if (pdf_len < 5 || memcmp(pdf, "%PDF-", 5))
        return give_up(out, INVOICE_PERMANENT, "invoice.notify payload: pdf is not a PDF", HG_EINVALID);
    if ((rv = invoice_mail_message(&msg, &msg_len, p, conf->mail_from_name, conf->mail_from,
                                   hg_json_gets(payload, "to", NULL), hg_json_gets(payload, "subject", NULL),
                                   hg_json_gets(payload, "text", NULL), hg_json_gets(payload, "filename", NULL),
                                   pdf, pdf_len)))
        return give_up(out, INVOICE_PERMANENT, "invoice.notify: the e-mail could not be built", rv);
    memset(&m, 0, sizeof(m));
    m.len = msg_len;
    m.url = conf->mail_url;
    m.user = conf->mail_user;
    m.password = conf->mail_password;
    m.require_tls = conf->mail_require_tls;
    m.from = conf->mail_from;
    m.to = hg_json_gets(payload, "to", NULL);
    m.data = msg;
    m.timeout_ms = conf->timeout_ms;
    m.ca_file = conf->ca_file;
    rv = hg_smtp_send(p, &m, &reply, &err);
    if (item->http_observer) {
        /* journalled like the platforms' calls: the message's head and the file's size, not the file */
        hg_http_req_t jr = { .method = "SMTP", .url = conf->mail_url, .endpoint_name = "notify.email" };
        hg_http_resp_t js = { .status = reply, .body = (char *)(err ? err : ""), .elapsed_ms = 0 };
        const char *cut = strstr(msg, "\r\n\r\n");
        jr.body = apr_psprintf(p, "%.*s\r\n\r\n[text and %s (%lu bytes), base64]", cut ? (int)(cut - msg) : 0, msg,
                               hg_json_gets(payload, "filename", NULL), (unsigned long)pdf_len);
        jr.body_len = strlen(jr.body);
        js.body_len = strlen(js.body);
        item->http_observer(item->http_observer_baton, p, &jr, &js, rv);
    }
    if (rv != APR_SUCCESS)
        return give_up(out, rv == HG_EPLATFORM ? invoice_mail_classify(reply) : INVOICE_RETRY,
                       apr_psprintf(p, "notify.email: %d %s", reply, err ? err : ""), rv);
    out->result = hg_json_dump(p, hg_json_own(p, json_pack("{s:s, s:i}", "channel", "email", "reply", reply)), 0);
    return APR_SUCCESS;
}

apr_status_t invoice_notify_deliver(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                    hg_outbox_outcome_t *out)
{
    const invoice_notify_conf_t *conf = baton;
    json_t *payload = NULL;
    const char *channel;

    if (!conf)
        return give_up(out, INVOICE_PERMANENT, "invoice.notify has no configuration", HG_EINVALID);
    if (hg_json_parse(&payload, p, item->payload, strlen(item->payload), 0, NULL) != APR_SUCCESS)
        return give_up(out, INVOICE_PERMANENT, "invoice.notify payload is not a JSON object", HG_EINVALID);
    channel = hg_json_gets(payload, "channel", NULL);
    if (channel && !strcmp(channel, "sms"))
        return send_sms(p, item, conf, payload, out);
    if (channel && !strcmp(channel, "wechat"))
        return send_wechat(p, item, conf, payload, out);
    if (channel && !strcmp(channel, "email"))
        return send_email(p, item, conf, payload, out);
    return give_up(out, INVOICE_PERMANENT, "invoice.notify payload: channel is not sms, wechat or email", HG_EINVALID);
}
