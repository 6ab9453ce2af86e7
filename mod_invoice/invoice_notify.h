/* invoice_notify: tells patients their bill is ready — an SMS, or a WeChat template message —
 * with the link to the bill's H5 page.  Delivers the outbox topic "invoice.notify".
 *
 * Outbox payload (plain JSON, after the module opened its seal), one of:
 *   a bill notice  {"channel":"sms"|"wechat", "to": phone or openid, "url": the bill's H5 link,
 *                   "billBatchCode","billNo","totalAmt":"12.30","institutionName","title"}
 *                   (institutionName and title may be null or absent)
 *   a plain SMS    {"channel":"sms", "to": phone, "text": "您查询电子票据的验证码为…"}
 *   an e-mail      {"channel":"email", "to": address, "subject", "text", "filename", "pdf": base64}
 *                  (the bill's layout file, asked for by the patient on the bill page: 发送到邮箱)
 * The SMS gets the sign in front: 【sms_sign】… (sms_sign with or without the brackets; without one
 * configured, the institutionName of the payload).
 *
 * Wire shapes:
 *   SMS gateway   POST sms_url {"phone","content","sign"} -> {"code":"OK","bizId":…}
 *   WeChat        POST wechat_url?access_token=<mod_hisgate's shared token> (…/cgi-bin/message/template/send)
 *                 {"touser","template_id","url","data":{"first","keyword1".."keyword4","remark"}}
 *                 -> {"errcode":0,"errmsg":"ok","msgid":…}
 *                 keyword1 开票单位, keyword2 票据名称, keyword3 票据代码/号码, keyword4 金额.
 * Sending is not idempotent: a call that timed out is sent again by the outbox, so a patient may
 * rarely get a message twice; that beats never getting it.
 * On success out->result is {"channel":"sms","bizId":…} or {"channel":"wechat","msgid":…} (no
 * personal data: the result column is not sealed).
 *
 * No httpd headers (domain file). */
#ifndef INVOICE_NOTIFY_H
#define INVOICE_NOTIFY_H
#include <string.h>
#include <apr_pools.h>
#include <jansson.h>
#include "invoice_fiscal.h"
#include "hg_wechat.h"

typedef struct invoice_notify_conf_t {
    const char *sms_url;             /* NULL: SMS notices are dead-lettered as not configured */
    const char *sms_sign;            /* "某某医院" or "【某某医院】" */
    const char *wechat_url;          /* NULL: WeChat notices are dead-lettered as not configured;
                                      * without access_token: the token comes from wechat_token */
    const char *wechat_template_id;
    int timeout_ms;                  /* one call; 0 = hg_http's default */
    const char *ca_file;             /* PEM bundle for https; NULL = system store */
    const char *mail_url;            /* smtp[s]://host:port; NULL: e-mails are dead-lettered as not configured */
    const char *mail_from;           /* sender address */
    const char *mail_from_name;      /* shown beside it: the institution's name */
    const char *mail_user, *mail_password;   /* AUTH when set */
    int mail_require_tls;
    /* mod_hisgate's shared WeChat access token (hg_wechat_token in hg_glue.h); NULL: not loaded */
    hg_wechat_token_get_fn *wechat_token;
    /* the layout file of an e-mail that carries the bill's document instead of the file
     * ({"doc": its JSON text, "url", "sealStatus"}): APR_EAGAIN when no render is free now (a retry),
     * anything else with *why a payload that will never render; NULL: such e-mails dead-letter */
    apr_status_t (*render_pdf)(const char **pdf, apr_size_t *len, apr_pool_t *p, json_t *render,
                               const char **why);
} invoice_notify_conf_t;

/* An SMS gateway's answer code (the common Chinese gateways' scheme): OK delivered; isv.* the
 * request or the account is wrong (bad number, sign, template, content) -> permanent, except the
 * flow controls isv.BUSINESS_LIMIT_CONTROL / isv.DAY_LIMIT_CONTROL -> retry; isp.* (the gateway's
 * own trouble) and anything else -> retry. */
static inline invoice_verdict_t invoice_notify_sms_classify(const char *code)
{
    if (!code || !*code)
        return INVOICE_RETRY;
    if (!strcmp(code, "OK"))
        return INVOICE_DELIVERED;
    if (!strcmp(code, "isv.BUSINESS_LIMIT_CONTROL") || !strcmp(code, "isv.DAY_LIMIT_CONTROL"))
        return INVOICE_RETRY;
    if (!strncmp(code, "isv.", 4))
        return INVOICE_PERMANENT;
    return INVOICE_RETRY;
}

/* A WeChat errcode (documented global codes): 0 delivered; permanent when waiting cannot help —
 * 40003 invalid openid, 40037 invalid template_id, 43004 the patient does not follow the account,
 * 47001 data format error, 47003 argument invalid; everything else retries (-1 system busy, 40001 /
 * 42001 access_token invalid or expired: a fresh one comes with a later attempt, 45009 rate limit). */
static inline invoice_verdict_t invoice_notify_wechat_classify(long errcode)
{
    return !errcode ? INVOICE_DELIVERED : hg_wechat_errcode_permanent(errcode) ? INVOICE_PERMANENT : INVOICE_RETRY;
}

/* the SMS text for a payload (either shape), sign included; HG_EINVALID (with *why) when the
 * payload cannot make one */
apr_status_t invoice_notify_sms_text(char **text, const char **why, apr_pool_t *p, const char *sms_sign,
                                     json_t *payload);

/* an address we send a bill to: a bare local part, a dotted domain (no display name, no brackets) */
#define INVOICE_MAIL_PATTERN "[^@<>\"[:space:][:cntrl:]]{1,64}@[A-Za-z0-9.-]{1,190}\\.[A-Za-z]{2,24}"

/* An e-mail with one PDF attached (RFC 5322 / MIME, CRLF line ends): UTF-8 subject and sender name
 * as encoded words, the text and the file in base64 lines of 76; *msg is NUL-terminated. */
apr_status_t invoice_mail_message(char **msg, apr_size_t *len, apr_pool_t *p, const char *from_name,
                                  const char *from, const char *to, const char *subject, const char *text,
                                  const char *filename, const unsigned char *pdf, apr_size_t pdf_len);

/* an SMTP reply code: 2xx delivered; 5xx (the address or the message refused) permanent; anything
 * else (4xx greylisting, a full mailbox for now, no answer) worth a retry */
static inline invoice_verdict_t invoice_mail_classify(int reply)
{
    return reply >= 200 && reply < 300 ? INVOICE_DELIVERED : reply >= 500 && reply < 600 ? INVOICE_PERMANENT
         : INVOICE_RETRY;
}

/* hg_outbox_deliver_fn for "invoice.notify"; baton is a const invoice_notify_conf_t *. */
apr_status_t invoice_notify_deliver(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                    hg_outbox_outcome_t *out);
#endif
