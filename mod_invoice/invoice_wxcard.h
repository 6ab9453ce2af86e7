/* invoice_wxcard: 存入微信卡包 — the patient puts their e-bill into WeChat's card package (卡包),
 * through WeChat's e-invoice API in its self-built-platform mode (自建平台: the hospital is both
 * the merchant and the invoicing platform, on its one Official Account).
 *
 * WeChat's calls (api base https://api.weixin.qq.com; every one with ?access_token= of the
 * Official Account, mod_hisgate's shared token):
 *   GET  cgi-bin/ticket/getticket?type=wx_card -> {"errcode":0,"ticket","expires_in":7200}
 *        the authorisation page's ticket (api_ticket), kept per process until 5 min before expiry
 *   POST card/invoice/getauthurl {"s_pappid","order_id","money" (fen),"timestamp","source":"web",
 *        "redirect_url","ticket","type":2} -> {"errcode":0,"auth_url","appid"}
 *        type 2 is 领取发票 (the bill exists already); the patient opens auth_url inside WeChat,
 *        taps 领取 and comes back to redirect_url
 *   POST card/invoice/getauthdata {"s_pappid","order_id"} -> {"errcode":0,"invoice_status":
 *        "auth success" | "never auth" | "reject insert","auth_time"}
 *   POST card/invoice/platform/setpdf multipart/form-data, the file in the part named "pdf"
 *        -> {"errcode":0,"s_media_id"} (valid 3 days unless used in an insert)
 *   POST card/invoice/insert {"order_id","card_id","appid","card_ext":{"nonce_str","user_card":
 *        {"invoice_user_data":{"fee","title","billing_time","billing_no","billing_code","info":[…],
 *        "fee_without_tax","tax","s_pdf_media_id","check_code"}}}} -> {"errcode":0,"code","openid"}
 * The card template (card_id, card/invoice/platform/createcard) and the platform's s_pappid
 * (card/invoice/seturl) are made once by the sysadmin: directive InvoiceWxCard.
 *
 * The insertion is an outbox item (topic "invoice.wxcard", business key wxcard:<order_id>), sealed
 * payload (it carries the payer's name, WeChat's "title"):
 *   {"orderId","fee" (fen),"title","billingTime" (Unix s),"billBatchCode","billNo","checkCode",
 *    "info":[{"name","num","unit","price" (fen)}],"filename","pdf": base64}
 * Each attempt uploads the file, then inserts.  On success out->result is {"code": the card's
 * code, "cardId", "mediaId"} (no openid: the result column is not sealed).
 *
 * 冲红 of a bill in a card package (WeChat shows a flushed e-invoice as written off):
 *   POST card/invoice/platform/updatestatus {"card_id","code","reimburse_status":
 *        "INVOICE_REIMBURSE_CANCEL"} -> {"errcode":0}
 * is the outbox item "invoice.wxcard_status" (business key cancel:<order_id>), plain payload
 * {"orderId","cardId","code","status"}: the flush queues it for an insertion already delivered, and
 * the delivery of an insertion queues it when its bill was flushed meanwhile (mod_invoice.c).
 *
 * No httpd headers (domain file). */
#ifndef INVOICE_WXCARD_H
#define INVOICE_WXCARD_H
#include <apr_pools.h>
#include <apr_thread_mutex.h>
#include <jansson.h>
#include "hg_wechat.h"
#include "hg_outbox.h"
#include "invoice_fiscal.h"

/* the authorisation page's ticket of one process (GET cgi-bin/ticket/getticket?type=wx_card) */
typedef struct invoice_wxcard_ticket_t {
    apr_thread_mutex_t *lock;      /* one fetch at a time; NULL: no cache (unit tests, one thread) */
    char ticket[512];
    apr_time_t refresh_at;         /* 0: none yet */
} invoice_wxcard_ticket_t;

typedef struct invoice_wxcard_conf_t {
    int on;                        /* InvoiceWxCard given (and not Off) */
    const char *s_pappid;          /* the platform's identity (card/invoice/seturl's invoice_url) */
    const char *card_id;           /* the card template (card/invoice/platform/createcard) */
    const char *appid;             /* the Official Account the patient authorises for */
    const char *api_base;          /* NULL: HG_WECHAT_API */
    const char *ca_file;
    int timeout_ms;
    hg_wechat_token_get_fn *token;
    invoice_wxcard_ticket_t *ticket;
} invoice_wxcard_conf_t;

/* info items and the longest name WeChat shows (inferred: no documented limit was found) */
#define INVOICE_WXCARD_MAX_INFO 50
#define INVOICE_WXCARD_NAME_MAX 60

/* The bill's charges (chargeDetail: chargeName, unit, std, number, amt) as WeChat's info list
 * [{"name","num","unit","price" (fen)}]: num and price when number is a whole count and
 * std × number is the amount, else one of the amount (num must be an integer); past
 * INVOICE_WXCARD_MAX_INFO lines the rest are summed in one 其他 line.  HG_EINVALID (*why) when an
 * amount does not parse. */
apr_status_t invoice_wxcard_info(json_t **info, const char **why, apr_pool_t *p, json_t *charge_detail);

/* the insert call's body for an outbox payload (see above), the card template and the account's
 * appid, the uploaded file's media id and a nonce; HG_EINVALID (*why) when the payload is not
 * the shape above */
apr_status_t invoice_wxcard_insert_body(json_t **body, const char **why, apr_pool_t *p, json_t *payload,
                                        const char *card_id, const char *appid, const char *media_id,
                                        const char *nonce);

/* A multipart/form-data body with one file part named "pdf" (setpdf); *content_type carries the
 * boundary.  The boundary is checked against the file. */
apr_status_t invoice_wxcard_multipart(char **body, apr_size_t *len, const char **content_type, apr_pool_t *p,
                                      const char *filename, const unsigned char *pdf, apr_size_t pdf_len);

/* What an insert's (or setpdf's) errcode means for the outbox:
 *   0                   delivered
 *   72042               delivered: the same bill code and number are in a card package already
 *                       (an earlier attempt went through and its answer was lost)
 *   40003 invalid openid, 40078 invalid card status, 47001 data format error, 47003 argument
 *   invalid, 72015 unauthorized create invoice, 72031 invalid params, 72035 biz reject insert,
 *   72038 invoice order never auth, 72040 invoice pdf error, 72082 PDF_CHECK_ERROR
 *                       permanent: dead letter
 *   -1 system busy, 45009 rate limit, anything else   retry */
invoice_verdict_t invoice_wxcard_classify(long errcode);

/* An authorisation link: the ticket (cached), then getauthurl for the order.  money in fen,
 * redirect_url the bill page.  APR_SUCCESS with *auth_url; HG_EPLATFORM (*errcode, *why) when
 * WeChat refused; HG_ETIMEOUT / HG_EHTTP when not reached; HG_EINVALID when no token source. */
apr_status_t invoice_wxcard_auth_url(apr_pool_t *p, const invoice_wxcard_conf_t *conf, const char *order_id,
                                     apr_int64_t money_fen, const char *redirect_url,
                                     hg_http_observer_fn *observer, void *observer_baton,
                                     const char **auth_url, long *errcode, const char **why);

/* The order's authorisation (getauthdata): *status "auth success" | "never auth" | "reject
 * insert" (as WeChat says it).  Errors as invoice_wxcard_auth_url. */
apr_status_t invoice_wxcard_auth_status(apr_pool_t *p, const invoice_wxcard_conf_t *conf, const char *order_id,
                                        hg_http_observer_fn *observer, void *observer_baton,
                                        const char **status, long *errcode, const char **why);

/* What updatestatus's errcode means: 0 delivered; 40056 invalid serial code (no such card code),
 * 40078 invalid card status (reimbursed or cancelled already), 47001 data format error, 47003
 * argument invalid: permanent; -1, 45009, token errors and anything else: retry */
invoice_verdict_t invoice_wxcard_status_classify(long errcode);

/* the updatestatus body for an "invoice.wxcard_status" payload; the card template when the payload
 * names none (insertions delivered before the card id was kept).  HG_EINVALID (*why) when the
 * payload has no card code: WeChat answered 72042 (already inserted) to the insertion without one,
 * so only a person can change that card (the message says where). */
apr_status_t invoice_wxcard_status_body(json_t **body, const char **why, apr_pool_t *p, json_t *payload,
                                        const char *card_id);

/* hg_outbox_deliver_fn for "invoice.wxcard_status"; baton is a const invoice_wxcard_conf_t * */
apr_status_t invoice_wxcard_status_deliver(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                           hg_outbox_outcome_t *out);

/* hg_outbox_deliver_fn for "invoice.wxcard"; baton is a const invoice_wxcard_conf_t *; the item's
 * payload is the plain (opened) JSON above. */
apr_status_t invoice_wxcard_deliver(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                    hg_outbox_outcome_t *out);
#endif
