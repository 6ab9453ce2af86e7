/* invoice_store: the e-invoice life cycle in PostgreSQL — issue, red-flush, paper exchange,
 * queries — each business write one short transaction with its outbox events.  No httpd here. */
#ifndef INVOICE_STORE_H
#define INVOICE_STORE_H
#include <apr_pools.h>
#include <jansson.h>
#include "hg_db.h"
#include "hg_group.h"
#include "hg_err.h"
#include "hg_crypto.h"
#include "invoice_model.h"

struct invoice_bill_t;

typedef struct invoice_ctx_t {
    hg_db_t             *db;
    apr_pool_t          *p;
    const char          *institution;
    const char          *institution_name;
    const unsigned char *master_key;   /* seals documents and personal data (16 bytes) */
    hg_pkey_t           *seal_key;     /* the unit's SM2 seal */
    const char          *public_url;   /* base URL for H5 links */
    hg_error_t          *err;          /* set when a function returns a business error */
    hg_group_t          *issue_group;  /* this process's lines of issuance (NULL: none) */
    int                  issue_group_max;  /* bills in one grouped transaction at most (<2: none) */
    int                  issue_lanes;  /* lines per institution, billing points by invoice_issue_lane
                                          (0: one line per billing point) */
    /* optional: give the connection back while waiting in a line of issuance, take one again
     * (hg_call_db_release / hg_call_db_reacquire; reacquire sets *db, NULL when none came) */
    void               (*db_release)(void *baton);
    apr_status_t       (*db_reacquire)(void *baton, hg_db_t **db);
    void                *db_baton;
    /* optional: end a bill's issuing transaction with the caller's answer to it (and the call's
     * journal row): last is the bill's INSERT, to be sent with COMMIT in one round trip, as
     * hg_db_pipeline would (its result in *r, HG_ECONFLICT on a used busNo, nothing committed on
     * failure).  The bill has no id yet.  NULL: the store commits by itself. */
    apr_status_t       (*commit_issue)(struct invoice_ctx_t *x, const struct invoice_bill_t *b,
                                       const hg_db_stmt_t *last, hg_db_result_t **r);
    /* optional: the same for a bill of a group, whose statement another request's connection
     * sends: answer the bill and give the call's journal row (hg_call_answer_journal; *cols NULL
     * when the call has none) for the group to commit with it */
    apr_status_t       (*journal_issue)(struct invoice_ctx_t *x, const struct invoice_bill_t *b,
                                        const char ***cols);
    int                  answered;    /* the bill is answered, its journal row committed with it */
} invoice_ctx_t;

typedef struct invoice_bill_t {
    apr_int64_t id, related_id, total_fen;
    const char *bus_no, *kind, *service, *place_code;
    const char *bill_batch_code, *bill_no, *random, *create_time;
    int         is_scarlet;
    const char *state;                 /* normal | flushed */
    const char *paper_batch_code, *paper_no;
    const char *upload_state;          /* pending | inflight | done | dead (from the outbox) */
    const char *supervision;           /* the platform's answer (JSON) once uploaded */
    const char *doc_sealed, *seal;
} invoice_bill_t;

/* what the patient is sent about a bill (invoice.notify payloads, sealed by the caller): the notice
 * with its H5 link (channel sms or wechat, to a phone or openid; title may be NULL), and an
 * e-mail's subject, text and file name (the PDF, or what to draw it from, is the caller's) */
json_t *invoice_notice_payload(invoice_ctx_t *x, const char *channel, const char *to, const invoice_bill_t *b,
                                const char *title);
json_t *invoice_mail_payload(invoice_ctx_t *x, const char *to, const invoice_bill_t *b);

/* issue one bill; *replayed = 1 when the same busNo with the same content was issued before.
 * data (the request's bill, owned by x->p) is normalized in place and kept in the bill's document:
 * the caller does not use or change it afterwards */
apr_status_t invoice_issue(invoice_ctx_t *x, invoice_kind_t kind, json_t *data,
                           invoice_bill_t **bill, int *replayed);
/* red-flush (冲红) by billBatchCode + billNo; the red bill comes back (again, if already flushed).
 * A bill already in patients' WeChat card packages gets each card's cancellation queued
 * (invoice.wxcard_status, invoice_wxcard.h) in the same transaction. */
apr_status_t invoice_flush(invoice_ctx_t *x, json_t *req, invoice_bill_t **red, int *replayed);
/* the same through Bosi's writeOffPayMentVoucher (预交金凭证冲红): only a deposit voucher
 * (HG_INVOICE_WRONG_SERVICE otherwise).  Either way a deposit voucher's red bill is uploaded as
 * writeOffPayMentVoucher, any other as writeOffEBill. */
apr_status_t invoice_flush_deposit(invoice_ctx_t *x, json_t *req, invoice_bill_t **red, int *replayed);
/* the drainer's follow-up of delivered card insertions (hg_register_topic_after "invoice.wxcard",
 * $1 their outbox ids): the cancellation of each card whose bill was flushed meanwhile.  It waits
 * for a flush in progress (FOR SHARE on the bill), so that of the two, the one committing second
 * sees the other's work: no card of a flushed bill stays valid. */
extern const char *const INVOICE_WXCARD_AFTER_INSERT_SQL;
/* a bill's upload row holds the service and the bill's id, not a copy of its sealed document: the
 * drainer completes it with the bill's document and unit seal (hg_register_topic_payload
 * "invoice.upload", $1 the claimed rows' ids) */
extern const char *const INVOICE_UPLOAD_PAYLOAD_SQL;

apr_status_t invoice_find(invoice_ctx_t *x, const char *code, const char *no, invoice_bill_t **bill);
apr_status_t invoice_find_id(invoice_ctx_t *x, apr_int64_t id, invoice_bill_t **bill);
apr_status_t invoice_find_bus(invoice_ctx_t *x, const char *bus_no, invoice_bill_t **bill);
/* the decrypted bill document */
apr_status_t invoice_doc(invoice_ctx_t *x, const invoice_bill_t *bill, json_t **doc);

/* paper: next number of a billing point's paper stock; exchange (re = reTurnPaper); void paper;
 * void a blank paper number */
apr_status_t invoice_paper_next(invoice_ctx_t *x, const char *place_code, const char *batch_code,
                                const char **p_batch, const char **p_no);
/* unused numbers per billing point and kind (columns place_code, kind, remaining), for every kind
 * a billing point (or the store room POOL) has ever held, used up ones with 0 */
apr_status_t invoice_stock_levels(invoice_ctx_t *x, hg_db_result_t **r);
/* a billing point's paper ranges with numbers left (columns bill_batch_code, next_no, end_no; one
 * row of NULLs when none; batch_code NULL: every code), HG_NOT_FOUND for an unknown billing point */
apr_status_t invoice_paper_ranges(invoice_ctx_t *x, const char *place_code, const char *batch_code,
                                  hg_db_result_t **r);
apr_status_t invoice_paper_turn(invoice_ctx_t *x, json_t *req, int re, const char **p_batch,
                                const char **p_no, int *replayed);
apr_status_t invoice_paper_void(invoice_ctx_t *x, json_t *req);
apr_status_t invoice_blank_void(invoice_ctx_t *x, json_t *req);

/* getEBillUnPrintList's candidates: the blue, normal bills of q's card with no live paper, issued
 * from the day before q's period, newest first; filter them with invoice_list_match */
apr_status_t invoice_unprinted(invoice_ctx_t *x, const invoice_list_query_t *q, invoice_bill_t ***bills, int *n);

/* the layout file (rendered on first download, cached per seal status) in three steps, so that a
 * caller can give its connection back during the render: the cached file (HG_ENOTFOUND when there
 * is none for the bill's seal status), the render (no database: x->db may be NULL), and the cache
 * write */
apr_status_t invoice_pdf_cached(invoice_ctx_t *x, const invoice_bill_t *bill, const char **pdf, apr_size_t *len);
apr_status_t invoice_pdf_make(invoice_ctx_t *x, const invoice_bill_t *bill, const char **pdf, apr_size_t *len);
apr_status_t invoice_pdf_store(invoice_ctx_t *x, const invoice_bill_t *bill, const char *pdf, apr_size_t len);
/* the 告知单 (not cached; no database) */
apr_status_t invoice_notice_pdf(invoice_ctx_t *x, const invoice_bill_t *bill, const char **pdf,
                                apr_size_t *len);

/* the canonical form of a personal identifier before it is indexed (ID numbers: upper-case X) */
const char *invoice_subject_canon(apr_pool_t *p, const char *kind, const char *value);

/* links: the bill's H5 page, and a short-lived signed PDF link */
const char *invoice_h5_url(invoice_ctx_t *x, const invoice_bill_t *bill);
const char *invoice_pdf_link(invoice_ctx_t *x, const invoice_bill_t *bill, int ttl_s);
int invoice_pdf_link_ok(invoice_ctx_t *x, const char *code, const char *no, const char *exp,
                        const char *sig);
#endif
