/* consult_notify: the outbox deliveries of mod_consult (no httpd headers).
 *
 * "consult.notify" — the patient's link after the HIS announced a visit; the plain payload (the
 * module opens its seal first) is {"channel":"sms"|"wechat","to": phone or openid,"url","department",
 * "doctor","visitTime"}.
 *   SMS     POST sms_url {"phone","content","sign"} -> {"code":"OK","bizId"}   (isv.* permanent except
 *           the flow controls; the rest retries — the same gateway scheme as mod_invoice)
 *   WeChat  POST wechat_url?access_token=<mod_hisgate's shared token>
 *           {"touser","template_id","url","data":{first,keyword1..3,remark}}
 *           -> {"errcode":0,"msgid"}; keyword1 科室, keyword2 医生, keyword3 就诊时间; a refused token
 *           (40001/40014/42001) is replaced once.
 * "consult.push" — the submitted summary to the HIS (ConsultSummaryPushURL): the plain payload is
 *   the JSON document POSTed as is, with the headers
 *     X-HG-Timestamp: <unix seconds>
 *     X-HG-Signature: hex HMAC-SHA256(secret, "<timestamp>\n<body>")   (when a secret is configured)
 *     X-HG-Idempotency-Key: consult-summary:<institution>:<visitNo>
 *   2xx delivered; 4xx other than 408/429 permanent (the HIS refuses the document); the rest retries.
 * On success out->result holds no personal data. */
#ifndef CONSULT_NOTIFY_H
#define CONSULT_NOTIFY_H
#include <apr_pools.h>
#include <jansson.h>
#include "hg_outbox.h"
#include "hg_http.h"
#include "hg_wechat.h"

typedef struct consult_notify_conf_t {
    const char *sms_url, *sms_sign;
    const char *wechat_url, *wechat_template_id;
    const char *push_url, *push_secret;
    int timeout_ms;
    const char *ca_file;
    /* mod_hisgate's shared WeChat access token (hg_wechat_token in hg_glue.h); NULL: not loaded */
    hg_wechat_token_get_fn *wechat_token;
} consult_notify_conf_t;

/* the SMS text of a link payload, sign in front: NULL when the payload cannot make one */
const char *consult_notify_sms_text(apr_pool_t *p, const char *sign, json_t *payload);

/* hex HMAC-SHA256(secret, ts "\n" body): 64 characters */
const char *consult_push_signature(apr_pool_t *p, const char *secret, const char *ts, const char *body,
                                   apr_size_t len);

/* hg_outbox_deliver_fn for the two topics; baton is a const consult_notify_conf_t * */
apr_status_t consult_notify_deliver(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                    hg_outbox_outcome_t *out);
apr_status_t consult_push_deliver(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                  hg_outbox_outcome_t *out);
#endif
