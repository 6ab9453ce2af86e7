/* invoice_wxcard: 存入微信卡包 through WeChat's e-invoice API (see invoice_wxcard.h).  No httpd headers. */
#include <string.h>
#include <jansson.h>
#include <apr_strings.h>
#include <apr_base64.h>
#include "invoice_wxcard.h"
#include "hg_json.h"
#include "hg_money.h"
#include "hg_err.h"
#include "hg_crypto.h"

/* the early refresh of the ticket: as for the access token, a little before WeChat's expiry */
#define TICKET_EARLY apr_time_from_sec(HG_WECHAT_EARLY_S)

static const char *api(apr_pool_t *p, const invoice_wxcard_conf_t *conf, const char *path)
{
    return apr_pstrcat(p, conf->api_base && *conf->api_base ? conf->api_base : HG_WECHAT_API, path, NULL);
}

/* ---------------------------------------------------------------- the journal */

/* The journal gets every exchange as hg_http hands it over, less what must not be in it: the
 * ticket (a credential, in getticket's answer and getauthurl's request) and the file (setpdf:
 * its name and size instead). */
typedef struct journal_t {
    hg_http_observer_fn *fn;
    void *baton;
    const char *file_note;
} journal_t;

static const char *without_ticket(apr_pool_t *p, const char *body, apr_size_t len)
{
    json_t *o = NULL;
    if (!body || hg_json_parse(&o, p, body, len, 0, NULL) != APR_SUCCESS || !json_is_object(o))
        return NULL;
    if (!json_object_get(o, "ticket"))
        return NULL;
    json_object_set_new(o, "ticket", json_string("***"));
    return hg_json_dump(p, o, 0);
}

static void journal(void *baton, apr_pool_t *p, const hg_http_req_t *req, const hg_http_resp_t *resp,
                    apr_status_t rv)
{
    journal_t *j = baton;
    hg_http_req_t q = *req;
    hg_http_resp_t a;
    const char *t;
    q.url = hg_wechat_redact_url(p, req->url);
    if (j->file_note) {
        q.body = j->file_note;
        q.body_len = strlen(q.body);
    }
    else if ((t = without_ticket(p, req->body, req->body_len))) {
        q.body = t;
        q.body_len = strlen(t);
    }
    if (resp) {
        a = *resp;
        if ((t = without_ticket(p, resp->body, resp->body_len))) {
            a.body = (char *)t;
            a.body_len = strlen(t);
        }
        resp = &a;
    }
    j->fn(j->baton, p, &q, resp, rv);
}

/* one call of the card API; the answer's errcode in *errcode (0 when APR_SUCCESS) */
static apr_status_t card_call(apr_pool_t *p, const invoice_wxcard_conf_t *conf, const char *path,
                              const char *endpoint, const char *body, apr_size_t body_len, const char *content_type,
                              const char *file_note, hg_http_observer_fn *observer, void *observer_baton,
                              json_t **answer, long *errcode, const char **why)
{
    hg_wechat_call_t call;
    journal_t *j = apr_pcalloc(p, sizeof(*j));
    int status = 0;
    apr_status_t rv;

    memset(&call, 0, sizeof(call));
    call.url = api(p, conf, path);
    call.body = body;
    call.body_len = body_len;
    call.content_type = content_type;
    call.token = conf->token;
    call.ca_file = conf->ca_file;
    call.timeout_ms = conf->timeout_ms;
    call.endpoint_name = endpoint;
    if (observer) {
        j->fn = observer;
        j->baton = observer_baton;
        j->file_note = file_note;
        call.observer = journal;
        call.observer_baton = j;
    }
    if ((rv = hg_wechat_call(p, &call, errcode, &status, answer, why)) != APR_SUCCESS)
        return rv;
    if (*errcode) {
        *why = apr_pstrcat(p, endpoint, ": ", *why, NULL);
        return HG_EPLATFORM;
    }
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- the authorisation */

/* the ticket of this process, fetched when there is none or it is near its end */
static apr_status_t ticket(apr_pool_t *p, const invoice_wxcard_conf_t *conf, hg_http_observer_fn *observer,
                           void *observer_baton, const char **out, long *errcode, const char **why)
{
    invoice_wxcard_ticket_t *t = conf->ticket;
    json_t *ans = NULL;
    const char *s;
    apr_int64_t expires = 0;
    apr_status_t rv = APR_SUCCESS;

    if (t && t->lock)
        apr_thread_mutex_lock(t->lock);
    if (t && t->refresh_at > apr_time_now()) {
        *out = apr_pstrdup(p, t->ticket);
        goto leave;
    }
    if ((rv = card_call(p, conf, "/cgi-bin/ticket/getticket?type=wx_card", "wxcard.ticket", NULL, 0, NULL, NULL,
                        observer, observer_baton, &ans, errcode, why)))
        goto leave;
    s = hg_json_gets(ans, "ticket", NULL);
    if (!s || !*s || strlen(s) >= sizeof(t->ticket) || hg_json_geti(ans, &expires, "expires_in", NULL)
        || expires < 600 || expires > 86400) {
        *why = "wxcard.ticket: the answer has no usable ticket and expires_in";
        rv = HG_EPLATFORM;
        goto leave;
    }
    *out = apr_pstrdup(p, s);
    if (t) {
        apr_cpystrn(t->ticket, s, sizeof(t->ticket));
        t->refresh_at = apr_time_now() + apr_time_from_sec(expires) - TICKET_EARLY;
    }
leave:
    if (t && t->lock)
        apr_thread_mutex_unlock(t->lock);
    return rv;
}

/* WeChat refused a link made with the cached ticket: the next tap fetches another (a ticket can
 * end before its time, as a token does when another system fetched a newer one) */
static void ticket_forget(const invoice_wxcard_conf_t *conf)
{
    invoice_wxcard_ticket_t *t = conf->ticket;
    if (!t)
        return;
    if (t->lock)
        apr_thread_mutex_lock(t->lock);
    t->refresh_at = 0;
    if (t->lock)
        apr_thread_mutex_unlock(t->lock);
}

apr_status_t invoice_wxcard_auth_url(apr_pool_t *p, const invoice_wxcard_conf_t *conf, const char *order_id,
                                     apr_int64_t money_fen, const char *redirect_url,
                                     hg_http_observer_fn *observer, void *observer_baton,
                                     const char **auth_url, long *errcode, const char **why)
{
    const char *tk, *url;
    json_t *ans = NULL, *body;
    apr_status_t rv;

    *auth_url = NULL;
    *errcode = 0;
    if ((rv = ticket(p, conf, observer, observer_baton, &tk, errcode, why)))
        return rv;
    /* type 2 (领取发票): the bill exists, the patient only collects it; source web: an H5 page in WeChat */
    body = hg_json_own(p, json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:i}", "s_pappid", conf->s_pappid,
                                    "order_id", order_id, "money", (json_int_t)money_fen,
                                    "timestamp", (json_int_t)apr_time_sec(apr_time_now()), "source", "web",
                                    "redirect_url", redirect_url, "ticket", tk, "type", 2));
    if (!body) {
        *why = "wxcard.getauthurl: the request could not be built";
        return HG_EINVALID;
    }
    if ((rv = card_call(p, conf, "/card/invoice/getauthurl", "wxcard.getauthurl", hg_json_dump(p, body, 0), 0, NULL,
                        NULL, observer, observer_baton, &ans, errcode, why))) {
        if (*errcode)
            ticket_forget(conf);
        return rv;
    }
    url = hg_json_gets(ans, "auth_url", NULL);
    if (!url || (strncmp(url, "https://", 8) && strncmp(url, "http://", 7))) {
        *why = "wxcard.getauthurl: the answer has no auth_url";
        return HG_EPLATFORM;
    }
    *auth_url = url;
    return APR_SUCCESS;
}

apr_status_t invoice_wxcard_auth_status(apr_pool_t *p, const invoice_wxcard_conf_t *conf, const char *order_id,
                                        hg_http_observer_fn *observer, void *observer_baton,
                                        const char **status, long *errcode, const char **why)
{
    json_t *ans = NULL;
    const char *body = hg_json_dump(p, hg_json_own(p, json_pack("{s:s, s:s}", "s_pappid", conf->s_pappid,
                                                                "order_id", order_id)), 0);
    apr_status_t rv;

    *status = NULL;
    *errcode = 0;
    if ((rv = card_call(p, conf, "/card/invoice/getauthdata", "wxcard.getauthdata", body, 0, NULL, NULL,
                        observer, observer_baton, &ans, errcode, why)))
        return rv;
    if (!(*status = hg_json_gets(ans, "invoice_status", NULL))) {
        *why = "wxcard.getauthdata: the answer has no invoice_status";
        return HG_EPLATFORM;
    }
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- the insertion's payload */

/* "3", "3.0", "3.000": a whole positive count, else 0 */
static apr_int64_t whole_count(const char *s)
{
    apr_int64_t n = 0;
    const char *q = s;
    if (!s || *s < '1' || *s > '9')
        return 0;
    for (; *q >= '0' && *q <= '9'; q++) {
        if (n > 1000000)
            return 0;
        n = n * 10 + (*q - '0');
    }
    if (*q == '.')
        for (q++; *q == '0'; q++)
            ;
    return *q ? 0 : n;
}

/* a name cut to at most INVOICE_WXCARD_NAME_MAX characters, never inside one */
static const char *cut_name(apr_pool_t *p, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i = 0, chars = 0;
    while (u[i] && chars < INVOICE_WXCARD_NAME_MAX) {
        i += u[i] < 0x80 ? 1 : u[i] < 0xE0 ? 2 : u[i] < 0xF0 ? 3 : 4;
        chars++;
    }
    return u[i] ? apr_pstrndup(p, s, i) : s;
}

apr_status_t invoice_wxcard_info(json_t **info, const char **why, apr_pool_t *p, json_t *charge_detail)
{
    json_t *a = hg_json_own(p, json_array()), *it;
    apr_int64_t amt, std, num, rest = 0;
    apr_size_t i;
    const char *name, *unit;

    *info = a;
    json_array_foreach(charge_detail, i, it) {
        if (hg_json_getm(it, &amt, "amt", NULL) != APR_SUCCESS) {
            *why = apr_psprintf(p, "chargeDetail[%lu].amt is not an amount", (unsigned long)i);
            return HG_EINVALID;
        }
        if (i + 1 >= INVOICE_WXCARD_MAX_INFO && json_array_size(charge_detail) > INVOICE_WXCARD_MAX_INFO) {
            if (hg_money_add(&rest, rest, amt)) {
                *why = "chargeDetail: the amounts overflow";
                return HG_EINVALID;
            }
            continue;
        }
        name = hg_json_gets(it, "chargeName", NULL);
        unit = hg_json_gets(it, "unit", NULL);
        num = whole_count(hg_json_gets(it, "number", NULL));
        if (!num || hg_money_parse(&std, hg_json_gets(it, "std", NULL) ? hg_json_gets(it, "std", NULL) : "", 0)
            || std * num != amt) {
            num = 1;                   /* a fraction of a unit, or a price that does not add up: the line */
            std = amt;
        }
        json_array_append_new(a, json_pack("{s:s, s:I, s:s, s:I}", "name", cut_name(p, name && *name ? name : "收费项目"),
                                           "num", (json_int_t)num, "unit", unit ? unit : "",
                                           "price", (json_int_t)std));
    }
    if (json_array_size(charge_detail) > INVOICE_WXCARD_MAX_INFO)
        json_array_append_new(a, json_pack("{s:s, s:i, s:s, s:I}", "name", "其他", "num", 1, "unit", "",
                                           "price", (json_int_t)rest));
    return APR_SUCCESS;
}

static const hg_field_t INFO[] = {
    { .name = "name", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = INVOICE_WXCARD_NAME_MAX },
    { .name = "num", .type = HG_JT_INTEGER, .flags = HG_F_REQUIRED | HG_F_MIN, .min = 1 },
    { .name = "unit", .type = HG_JT_STRING, .max_len = 20 },
    { .name = "price", .type = HG_JT_INTEGER, .flags = HG_F_REQUIRED },
    HG_FIELDS_END_CLOSED };

static const hg_field_t PAYLOAD[] = {
    { .name = "orderId", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 64, .pattern = "[0-9A-Za-z_-]+" },
    { .name = "fee", .type = HG_JT_INTEGER, .flags = HG_F_REQUIRED | HG_F_MIN, .min = 1 },
    { .name = "title", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 100 },
    { .name = "billingTime", .type = HG_JT_INTEGER, .flags = HG_F_REQUIRED | HG_F_MIN | HG_F_MAX,
      .min = 1000000000, .max = 9999999999.0 },   /* 10 digits */
    { .name = "billBatchCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "billNo", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20 },
    { .name = "checkCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20 },
    { .name = "info", .type = HG_JT_ARRAY, .flags = HG_F_REQUIRED, .fields = INFO,
      .max_items = INVOICE_WXCARD_MAX_INFO },
    { .name = "filename", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 100,
      .pattern = "[A-Za-z0-9._-]{1,100}" },
    { .name = "pdf", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 16 * 1024 * 1024 },
    HG_FIELDS_END };

apr_status_t invoice_wxcard_insert_body(json_t **body, const char **why, apr_pool_t *p, json_t *payload,
                                        const char *card_id, const char *appid, const char *media_id,
                                        const char *nonce)
{
    hg_error_t *e = NULL;
    apr_int64_t fee, when;

    *body = NULL;
    if (hg_json_validate(p, payload, PAYLOAD, &e) != APR_SUCCESS) {
        *why = apr_psprintf(p, "invoice.wxcard payload: %s%s%s", e && e->field ? e->field : "",
                            e && e->field ? ": " : "", e ? e->message : "invalid");
        return HG_EINVALID;
    }
    if (!card_id || !*card_id || !appid || !*appid || !media_id || !*media_id || !nonce || !*nonce) {
        *why = "invoice.wxcard: card_id, appid, media id and nonce are all needed";
        return HG_EINVALID;
    }
    hg_json_geti(payload, &fee, "fee", NULL);
    hg_json_geti(payload, &when, "billingTime", NULL);
    /* 票据代码 goes in billing_no and 票据号码 in billing_code, as WeChat's fiscal-bill (nontax)
     * insert documents them and as the clients in use fill them (README: 微信卡包) */
    *body = hg_json_own(p, json_pack("{s:s, s:s, s:s, s:{s:s, s:{s:{s:I, s:s, s:I, s:s, s:s, s:O, s:I, s:i, s:s, s:s}}}}",
        "order_id", hg_json_gets(payload, "orderId", NULL), "card_id", card_id, "appid", appid,
        "card_ext", "nonce_str", nonce, "user_card", "invoice_user_data",
        "fee", (json_int_t)fee, "title", hg_json_gets(payload, "title", NULL), "billing_time", (json_int_t)when,
        "billing_no", hg_json_gets(payload, "billBatchCode", NULL),
        "billing_code", hg_json_gets(payload, "billNo", NULL), "info", json_object_get(payload, "info"),
        /* medical charges are not taxed (非税收入): all of the fee is without tax */
        "fee_without_tax", (json_int_t)fee, "tax", 0,
        "s_pdf_media_id", media_id, "check_code", hg_json_gets(payload, "checkCode", NULL)));
    if (!*body) {
        *why = "invoice.wxcard: the insert could not be built";
        return HG_EINVALID;
    }
    return APR_SUCCESS;
}

apr_status_t invoice_wxcard_multipart(char **body, apr_size_t *len, const char **content_type, apr_pool_t *p,
                                      const char *filename, const unsigned char *pdf, apr_size_t pdf_len)
{
    char *tag, *head, *tail, *o;
    apr_size_t hl, tl;
    apr_status_t rv;

    if (strpbrk(filename, "\"\r\n"))
        return HG_EINVALID;
    do {
        if ((rv = hg_random_string(&tag, p, 32, "abcdefghijklmnopqrstuvwxyz0123456789")))
            return rv;
        tag = apr_pstrcat(p, "hgwx", tag, NULL);
    } while (pdf_len >= strlen(tag) && memmem(pdf, pdf_len, tag, strlen(tag)));
    head = apr_pstrcat(p, "--", tag, "\r\nContent-Disposition: form-data; name=\"pdf\"; filename=\"", filename,
                       "\"\r\nContent-Type: application/pdf\r\n\r\n", NULL);
    tail = apr_pstrcat(p, "\r\n--", tag, "--\r\n", NULL);
    hl = strlen(head);
    tl = strlen(tail);
    o = *body = apr_palloc(p, hl + pdf_len + tl + 1);
    memcpy(o, head, hl);
    memcpy(o + hl, pdf, pdf_len);
    memcpy(o + hl + pdf_len, tail, tl + 1);
    *len = hl + pdf_len + tl;
    *content_type = apr_pstrcat(p, "multipart/form-data; boundary=", tag, NULL);
    return APR_SUCCESS;
}

invoice_verdict_t invoice_wxcard_classify(long errcode)
{
    static const long permanent[] = { 40003, 40078, 47001, 47003, 72015, 72031, 72035, 72038, 72040, 72082, 0 };
    int i;
    if (errcode == 0 || errcode == 72042)
        return INVOICE_DELIVERED;
    for (i = 0; permanent[i]; i++)
        if (errcode == permanent[i])
            return INVOICE_PERMANENT;
    return INVOICE_RETRY;
}

/* ---------------------------------------------------------------- the delivery */

static apr_status_t give_up(hg_outbox_outcome_t *out, invoice_verdict_t v, const char *error, apr_status_t rv)
{
    out->permanent = v == INVOICE_PERMANENT;
    out->error = error;
    return rv;
}

/* a call's failure: WeChat's errcode decides, else the transport (not reached, HTTP status) */
static apr_status_t failed(hg_outbox_outcome_t *out, apr_status_t rv, long errcode, const char *why)
{
    if (errcode)
        return give_up(out, invoice_wxcard_classify(errcode), why, rv);
    return give_up(out, rv == HG_EINVALID ? INVOICE_PERMANENT : INVOICE_RETRY, why, rv);
}

apr_status_t invoice_wxcard_deliver(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                    hg_outbox_outcome_t *out)
{
    const invoice_wxcard_conf_t *conf = baton;
    json_t *payload = NULL, *body, *ans = NULL, *probe;
    const char *b64, *why = NULL, *media, *filename, *note;
    unsigned char *pdf;
    char *mp, *nonce;
    const char *ctype;
    apr_size_t pdf_len, mp_len;
    long errcode = 0;
    apr_status_t rv;

    if (!conf || !conf->on)
        return give_up(out, INVOICE_PERMANENT, "the WeChat card package is not configured (InvoiceWxCard)", HG_EINVALID);
    if (hg_json_parse(&payload, p, item->payload, strlen(item->payload), 0, NULL) != APR_SUCCESS)
        return give_up(out, INVOICE_PERMANENT, "invoice.wxcard payload is not a JSON object", HG_EINVALID);
    /* the payload is checked whole before the file goes anywhere */
    if (invoice_wxcard_insert_body(&probe, &why, p, payload, conf->card_id, conf->appid, "0", "0"))
        return give_up(out, INVOICE_PERMANENT, why, HG_EINVALID);
    b64 = hg_json_gets(payload, "pdf", NULL);
    pdf = apr_palloc(p, apr_base64_decode_len(b64));
    pdf_len = (apr_size_t)apr_base64_decode_binary(pdf, b64);
    if (pdf_len < 5 || memcmp(pdf, "%PDF-", 5))
        return give_up(out, INVOICE_PERMANENT, "invoice.wxcard payload: pdf is not a PDF", HG_EINVALID);
    filename = hg_json_gets(payload, "filename", NULL);
    if ((rv = invoice_wxcard_multipart(&mp, &mp_len, &ctype, p, filename, pdf, pdf_len)))
        return give_up(out, INVOICE_PERMANENT, "invoice.wxcard: the upload could not be built", rv);
    /* a media id lives 3 days unless used: each attempt uploads again rather than keep one */
    note = apr_psprintf(p, "[multipart/form-data: pdf %s (%lu bytes)]", filename, (unsigned long)pdf_len);
    if ((rv = card_call(p, conf, "/card/invoice/platform/setpdf", "wxcard.setpdf", mp, mp_len, ctype, note,
                        item->http_observer, item->http_observer_baton, &ans, &errcode, &why)))
        return failed(out, rv, errcode, why);
    media = hg_json_gets(ans, "s_media_id", NULL);
    if (!media) {
        json_t *m = json_object_get(ans, "s_media_id");   /* "a 64-bit integer": a number, if not a string */
        media = json_is_integer(m) ? apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(m)) : NULL;
    }
    if (!media || !*media)
        return give_up(out, INVOICE_RETRY, "wxcard.setpdf: the answer has no s_media_id", HG_EPLATFORM);
    if ((rv = hg_random_string(&nonce, p, 24, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")))
        return give_up(out, INVOICE_RETRY, "invoice.wxcard: no random nonce", rv);
    if ((rv = invoice_wxcard_insert_body(&body, &why, p, payload, conf->card_id, conf->appid, media, nonce)))
        return give_up(out, INVOICE_PERMANENT, why, rv);
    ans = NULL;
    rv = card_call(p, conf, "/card/invoice/insert", "wxcard.insert", hg_json_dump(p, body, 0), 0, NULL, NULL,
                   item->http_observer, item->http_observer_baton, &ans, &errcode, &why);
    if (rv != APR_SUCCESS && invoice_wxcard_classify(errcode) != INVOICE_DELIVERED)
        return failed(out, rv, errcode, why);
    out->result = hg_json_dump(p, hg_json_own(p, json_pack("{s:s?, s:s, s:s, s:b}", "code",
                               ans ? hg_json_gets(ans, "code", NULL) : NULL, "cardId", conf->card_id,
                               "mediaId", media, "already", errcode == 72042)), 0);
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- 冲红: the card is cancelled */

invoice_verdict_t invoice_wxcard_status_classify(long errcode)
{
    static const long permanent[] = { 40056, 40078, 47001, 47003, 0 };
    int i;
    if (errcode == 0)
        return INVOICE_DELIVERED;
    for (i = 0; permanent[i]; i++)
        if (errcode == permanent[i])
            return INVOICE_PERMANENT;
    return INVOICE_RETRY;
}

static const char *const REIMBURSE_STATUSES[] = { "INVOICE_REIMBURSE_INIT", "INVOICE_REIMBURSE_LOCK",
                                                  "INVOICE_REIMBURSE_CLOSURE", "INVOICE_REIMBURSE_CANCEL", NULL };

apr_status_t invoice_wxcard_status_body(json_t **body, const char **why, apr_pool_t *p, json_t *payload,
                                        const char *card_id)
{
    const char *code = hg_json_gets(payload, "code", NULL), *status = hg_json_gets(payload, "status", NULL);
    const char *card = hg_json_gets(payload, "cardId", NULL);
    int i;

    *body = NULL;
    if (!code || !*code) {
        *why = "invoice.wxcard_status: the card's code is unknown (WeChat answered 72042, already inserted, "
               "without it): mark the bill's card cancelled by hand on WeChat's merchant platform (微信支付商户平台/公众平台 发票)";
        return HG_EINVALID;
    }
    for (i = 0; status && REIMBURSE_STATUSES[i] && strcmp(REIMBURSE_STATUSES[i], status); i++)
        ;
    if (!status || !REIMBURSE_STATUSES[i]) {
        *why = "invoice.wxcard_status: status is not one of WeChat's reimburse_status values";
        return HG_EINVALID;
    }
    if (!card || !*card)
        card = card_id;
    if (!card || !*card) {
        *why = "invoice.wxcard_status: no card template (InvoiceWxCard)";
        return HG_EINVALID;
    }
    *body = hg_json_own(p, json_pack("{s:s, s:s, s:s}", "card_id", card, "code", code, "reimburse_status", status));
    return *body ? APR_SUCCESS : HG_EINVALID;
}

apr_status_t invoice_wxcard_status_deliver(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                           hg_outbox_outcome_t *out)
{
    const invoice_wxcard_conf_t *conf = baton;
    json_t *payload = NULL, *body, *ans = NULL;
    const char *why = NULL;
    long errcode = 0;
    apr_status_t rv;

    if (!conf || !conf->on)
        return give_up(out, INVOICE_PERMANENT, "the WeChat card package is not configured (InvoiceWxCard)", HG_EINVALID);
    if (hg_json_parse(&payload, p, item->payload, strlen(item->payload), 0, NULL) != APR_SUCCESS)
        return give_up(out, INVOICE_PERMANENT, "invoice.wxcard_status payload is not a JSON object", HG_EINVALID);
    if ((rv = invoice_wxcard_status_body(&body, &why, p, payload, conf->card_id)))
        return give_up(out, INVOICE_PERMANENT, why, rv);
    rv = card_call(p, conf, "/card/invoice/platform/updatestatus", "wxcard.updatestatus", hg_json_dump(p, body, 0), 0,
                   NULL, NULL, item->http_observer, item->http_observer_baton, &ans, &errcode, &why);
    if (rv != APR_SUCCESS) {
        if (!why)
            why = "wxcard.updatestatus: not called (no WeChat token source: HisgateWeChat)";
        if (errcode)
            return give_up(out, invoice_wxcard_status_classify(errcode), why, rv);
        return give_up(out, rv == HG_EINVALID ? INVOICE_PERMANENT : INVOICE_RETRY, why, rv);
    }
    out->result = hg_json_dump(p, hg_json_own(p, json_pack("{s:s}", "status", hg_json_gets(payload, "status", NULL))), 0);
    return APR_SUCCESS;
}
