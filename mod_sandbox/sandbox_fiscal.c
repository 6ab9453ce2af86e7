/* The simulated fiscal e-bill platform (Bosi style, specs/fiscal-einvoice.md): the business side of
 * each service, once mod_sandbox.c has checked the envelope.  The hospital-side platform (our
 * mod_invoice) issues bills from its own stock and uploads every one for supervision (监制); this
 * file keeps them in sandbox.fiscal_bills and applies the platform's rules to red-flushes and paper
 * exchanges.  No httpd headers.
 *
 * Result codes.  The real platform's table is unknown (spec §5): these are ours, chosen so that a
 * client can tell "retry later" from "the request is wrong" from "our configuration is wrong".
 *   S0000  success
 *   E0001  malformed business data (a field missing or badly formed, totals that do not add up)
 *   E1001  unknown appid                       (answered by mod_sandbox.c from the envelope)
 *   E1002  sign check failed                   (mod_sandbox.c; also mode "reject")
 *   E2001  bill not found
 *   E2002  conflict with what is stored: the bill exists with other content, a paper is already
 *          live, a paper number is already used
 *   E2003  the bill is already red-flushed (冲红)
 *   E2004  no live paper bill to void or re-exchange
 *   E2005  the original has a live paper bill: its void must come first (the issue's rule)
 *   E3001  unknown service
 *   E9999  busy, try again later               (mod_sandbox.c, mode "error")
 */
#include <string.h>
#include <stdarg.h>
#include <jansson.h>
#include <apr_strings.h>
#include "sandbox_fiscal.h"
#include "hg_json.h"
#include "hg_money.h"
#include "hg_err.h"

#define SBF_OK          "S0000"
#define SBF_MALFORMED   "E0001"
#define SBF_NOT_FOUND   "E2001"
#define SBF_CONFLICT    "E2002"
#define SBF_FLUSHED     "E2003"
#define SBF_NO_PAPER    "E2004"
#define SBF_PAPER_LIVE  "E2005"
#define SBF_UNKNOWN_SVC "E3001"

/* the platform answers its times in China's zone, as yyyyMMddHHmmssSSS */
#define TS17(col) "to_char(" col " AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDDHH24MISSMS')"

typedef struct sbf_t {
    apr_pool_t *p;
    hg_db_t *db;
    const char *service;
    const char *data_json;
    json_t *d;                     /* the business data (pool-owned) */
    const char **result, **message;
} sbf_t;

/* ---------------------------------------------------------------- answers */

static apr_status_t refuse(sbf_t *s, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static apr_status_t refuse(sbf_t *s, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *s->result = code;
    *s->message = hg_utf8_repair(s->p, apr_pvsprintf(s->p, fmt, ap));
    va_end(ap);
    return APR_SUCCESS;
}

/* a validator refusal: E0001 naming the first bad field */
static apr_status_t refuse_invalid(sbf_t *s, apr_status_t rv, const hg_error_t *e)
{
    if (rv != HG_EINVALID)
        return rv;          /* a broken schema is our bug, not the caller's */
    return refuse(s, SBF_MALFORMED, "%s%s%s", e && e->field ? e->field : "", e && e->field ? ": " : "",
                  e ? e->message : "invalid");
}

static apr_status_t succeed(sbf_t *s, json_t *msg)
{
    char *text = hg_json_dump(s->p, hg_json_own(s->p, msg), 0);
    if (!text)
        return APR_ENOMEM;
    *s->result = SBF_OK;
    *s->message = text;
    return APR_SUCCESS;
}

static apr_status_t answer_supervised(sbf_t *s, const char *code, const char *no, const char *sup_code,
                                      const char *sup_time)
{
    return succeed(s, json_pack("{s:s, s:s, s:s, s:s, s:s}", "billBatchCode", code, "billNo", no,
                                "supervisionCode", sup_code, "supervisionTime", sup_time, "state", "1"));
}

static apr_status_t answer_paper(sbf_t *s, const char *code, const char *no, const char *pcode,
                                 const char *pno, const char *time_key, const char *time)
{
    return succeed(s, json_pack("{s:s, s:s, s:s, s:s, s:s}", "billBatchCode", code, "billNo", no,
                                "pBillBatchCode", pcode, "pBillNo", pno, time_key, time));
}

/* ---------------------------------------------------------------- schemas */

#define CODE8  "[0-9]{8}"
#define NO10   "[0-9]{10}"

static const hg_field_t CHARGE_DETAIL[] = {
    { .name = "chargeCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "chargeName", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 100 },
    { .name = "amt",        .type = HG_JT_MONEY,  .flags = HG_F_REQUIRED | HG_F_NEGATIVE },
    HG_FIELDS_END };

static const hg_field_t LIST_DETAIL[] = {
    { .name = "name",   .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 200 },
    { .name = "std",    .type = HG_JT_ANY,    .flags = HG_F_REQUIRED },   /* unit prices may have 4 decimals */
    { .name = "number", .type = HG_JT_ANY,    .flags = HG_F_REQUIRED },
    { .name = "amt",    .type = HG_JT_MONEY,  .flags = HG_F_REQUIRED | HG_F_NEGATIVE },
    HG_FIELDS_END };

static const hg_field_t PAY_CHANNEL[] = {
    { .name = "payChannelCode",  .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20 },
    { .name = "payChannelValue", .type = HG_JT_MONEY,  .flags = HG_F_REQUIRED | HG_F_NEGATIVE },
    HG_FIELDS_END };

/* the Bosi issue payload (§4.1): the fields marked mandatory that every bill type shares */
static const hg_field_t ISSUE_DATA[] = {
    { .name = "busNo",       .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "busType",     .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20 },
    { .name = "payer",       .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 100 },
    { .name = "busDateTime", .type = HG_JT_DATE,   .flags = HG_F_REQUIRED, .date_format = HG_DATE_TS17 },
    { .name = "placeCode",   .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "payee",       .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "author",      .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "totalAmt",    .type = HG_JT_MONEY,  .flags = HG_F_REQUIRED },
    { .name = "chargeDetail", .type = HG_JT_ARRAY, .flags = HG_F_REQUIRED, .fields = CHARGE_DETAIL,
      .max_items = 2000 },
    { .name = "listDetail",  .type = HG_JT_ARRAY,  .fields = LIST_DETAIL, .max_items = 5000 },
    { .name = "payChannelDetail", .type = HG_JT_ARRAY, .flags = HG_F_REQUIRED, .fields = PAY_CHANNEL,
      .max_items = 50 },
    HG_FIELDS_END };

/* a deposit voucher (住院预交金, [ZB] EnoteDepoReqVo): amt instead of totalAmt, no charge items */
static const hg_field_t DEPOSIT_DATA[] = {
    { .name = "busNo",       .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "payer",       .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 100 },
    { .name = "busDateTime", .type = HG_JT_DATE,   .flags = HG_F_REQUIRED, .date_format = HG_DATE_TS17 },
    { .name = "placeCode",   .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "payee",       .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "author",      .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "amt",         .type = HG_JT_MONEY,  .flags = HG_F_REQUIRED },
    { .name = "hospitalNo",  .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "payChannelDetail", .type = HG_JT_ARRAY, .flags = HG_F_REQUIRED, .fields = PAY_CHANNEL,
      .max_items = 50 },
    HG_FIELDS_END };

/* what every upload wraps its payload in: the bill's identifiers, its time and the unit's seal */
#define UPLOAD_HEAD \
    { .name = "billBatchCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .pattern = CODE8 }, \
    { .name = "billNo",        .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .pattern = NO10 }, \
    { .name = "random",        .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .pattern = "[0-9A-Za-z]{6}" }, \
    { .name = "createTime",    .type = HG_JT_DATE,   .flags = HG_F_REQUIRED, .date_format = HG_DATE_TS17 }, \
    { .name = "isScarlet",     .type = HG_JT_BOOLEAN, .flags = HG_F_REQUIRED }, \
    { .name = "sealSignature", .type = HG_JT_STRING, .flags = HG_F_REQUIRED }

/* what the hospital-side platform uploads: the bill it issued, sealed, around the issue payload */
static const hg_field_t ISSUE_UPLOAD[] = {
    UPLOAD_HEAD,
    { .name = "data",          .type = HG_JT_OBJECT, .flags = HG_F_REQUIRED, .fields = ISSUE_DATA },
    HG_FIELDS_END };

static const hg_field_t DEPOSIT_UPLOAD[] = {
    UPLOAD_HEAD,
    { .name = "data",          .type = HG_JT_OBJECT, .flags = HG_F_REQUIRED, .fields = DEPOSIT_DATA },
    HG_FIELDS_END };

static const hg_field_t RELATED_BILL[] = {
    { .name = "billBatchCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .pattern = CODE8 },
    { .name = "billNo",        .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .pattern = NO10 },
    HG_FIELDS_END };

/* the red bill's own payload: the original's, reversed (§4.2: the whole bill is reversed), with
 * the flush's time, place and operator; amounts in either sign (negated or as on the original),
 * the details optional (when present they must add up like a blue bill's).  The reason may come
 * as reason or inside remark. */
static const hg_field_t SCARLET_DATA[] = {
    { .name = "busNo",       .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "busDateTime", .type = HG_JT_DATE,   .flags = HG_F_REQUIRED, .date_format = HG_DATE_TS17 },
    { .name = "placeCode",   .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "payee",       .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "author",      .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "totalAmt",    .type = HG_JT_MONEY,  .flags = HG_F_REQUIRED | HG_F_NEGATIVE },
    { .name = "chargeDetail", .type = HG_JT_ARRAY, .fields = CHARGE_DETAIL, .max_items = 2000 },
    { .name = "listDetail",  .type = HG_JT_ARRAY,  .fields = LIST_DETAIL, .max_items = 5000 },
    { .name = "payChannelDetail", .type = HG_JT_ARRAY, .fields = PAY_CHANNEL, .max_items = 50 },
    { .name = "reason",      .type = HG_JT_STRING, .flags = HG_F_NULLABLE, .max_len = 200 },
    { .name = "operator",    .type = HG_JT_STRING, .flags = HG_F_NULLABLE, .max_len = 60 },
    HG_FIELDS_END };

/* a red deposit voucher (writeOffPayMentVoucher): the voucher's payload reversed */
static const hg_field_t SCARLET_DEPOSIT_DATA[] = {
    { .name = "busNo",       .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "busDateTime", .type = HG_JT_DATE,   .flags = HG_F_REQUIRED, .date_format = HG_DATE_TS17 },
    { .name = "placeCode",   .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "payee",       .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "author",      .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "amt",         .type = HG_JT_MONEY,  .flags = HG_F_REQUIRED | HG_F_NEGATIVE },
    { .name = "payChannelDetail", .type = HG_JT_ARRAY, .fields = PAY_CHANNEL, .max_items = 50 },
    { .name = "reason",      .type = HG_JT_STRING, .flags = HG_F_NULLABLE, .max_len = 200 },
    { .name = "operator",    .type = HG_JT_STRING, .flags = HG_F_NULLABLE, .max_len = 60 },
    HG_FIELDS_END };

static const hg_field_t SCARLET_UPLOAD[] = {
    UPLOAD_HEAD,
    { .name = "relatedBill",   .type = HG_JT_OBJECT, .flags = HG_F_REQUIRED, .fields = RELATED_BILL },
    { .name = "data",          .type = HG_JT_OBJECT, .flags = HG_F_REQUIRED, .fields = SCARLET_DATA },
    HG_FIELDS_END };

static const hg_field_t SCARLET_DEPOSIT_UPLOAD[] = {
    UPLOAD_HEAD,
    { .name = "relatedBill",   .type = HG_JT_OBJECT, .flags = HG_F_REQUIRED, .fields = RELATED_BILL },
    { .name = "data",          .type = HG_JT_OBJECT, .flags = HG_F_REQUIRED, .fields = SCARLET_DEPOSIT_DATA },
    HG_FIELDS_END };

/* the two deposit services: the voucher and its red-flush (§3.3) */
static int deposit_service(const char *service)
{
    return !strcmp(service, "invoicePayMentVoucher") || !strcmp(service, "invEBillPrepayment")
           || !strcmp(service, "writeOffPayMentVoucher");
}

/* turnPaper / reTurnPaper (§4.3, widths from [BK]) */
static const hg_field_t PAPER_TURN[] = {
    { .name = "billBatchCode",  .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "billNo",         .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20 },
    { .name = "pBillBatchCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "pBillNo",        .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20 },
    { .name = "busDateTime",    .type = HG_JT_DATE,   .flags = HG_F_REQUIRED, .date_format = HG_DATE_TS17 },
    { .name = "placeCode",      .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "operator",       .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 60 },
    HG_FIELDS_END };

/* invalidPaper: the real field list is unknown (§4.3); the paper number is required here so that a
 * repeated call can be recognised and answered the same */
static const hg_field_t PAPER_INVALID[] = {
    { .name = "billBatchCode",  .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "billNo",         .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20 },
    { .name = "pBillBatchCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "pBillNo",        .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20 },
    { .name = "busDateTime",    .type = HG_JT_DATE,   .flags = HG_F_NULLABLE, .date_format = HG_DATE_TS17 },
    { .name = "placeCode",      .type = HG_JT_STRING, .flags = HG_F_NULLABLE, .max_len = 50 },
    { .name = "operator",       .type = HG_JT_STRING, .flags = HG_F_NULLABLE, .max_len = 60 },
    { .name = "reason",         .type = HG_JT_STRING, .flags = HG_F_NULLABLE, .max_len = 200 },
    HG_FIELDS_END };

/* ---------------------------------------------------------------- storage */

/* the bill (code, no) as uploaded before: answers what the platform answered then when the upload is
 * the same (a client retry), E2002 when it differs.  *known = 0 when there is no such bill */
static apr_status_t answer_known(sbf_t *s, const char *code, const char *no, int *known)
{
    hg_db_result_t *r;
    apr_status_t rv;
    *known = 0;
    if ((rv = hg_db_q(s->db, &r, "SELECT service = $3 AND content = $4::jsonb, supervision_code, "
                      TS17("supervised_at") " FROM sandbox.fiscal_bills "
                      "WHERE bill_batch_code = $1 AND bill_no = $2", 4, code, no, s->service, s->data_json)))
        return rv;
    if (!r->nrows)
        return APR_SUCCESS;
    *known = 1;
    if (hg_db_val(r, 0, 0)[0] != 't')
        return refuse(s, SBF_CONFLICT, "票据已存在且内容不一致: %s %s", code, no);
    return answer_supervised(s, code, no, hg_db_val(r, 0, 1), hg_db_val(r, 0, 2));
}

/* insert a supervised bill; *r gets (supervision_code, time) or no row when (code, no) exists */
static apr_status_t insert_bill(hg_db_result_t **r, sbf_t *s, apr_int64_t total, const char *rel_code,
                                const char *rel_no)
{
    return hg_db_q(s->db, r,
        "INSERT INTO sandbox.fiscal_bills (bill_batch_code, bill_no, service, random, create_time, is_scarlet, "
        "  related_batch_code, related_no, total_fen, content, supervision_code) "
        "VALUES ($1, $2, $3, $4, $5, $6::text IS NOT NULL, $6, $7, $8::bigint, $9::jsonb, "
        "  to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') "
        "  || lpad(nextval('sandbox.fiscal_supervision_seq')::text, 12, '0')) "
        "ON CONFLICT (bill_batch_code, bill_no) DO NOTHING "
        "RETURNING supervision_code, " TS17("supervised_at"), 9,
        hg_json_gets(s->d, "billBatchCode", NULL), hg_json_gets(s->d, "billNo", NULL), s->service,
        hg_json_gets(s->d, "random", NULL), hg_json_gets(s->d, "createTime", NULL), rel_code, rel_no,
        apr_off_t_toa(s->p, total), s->data_json);
}

/* Σ arr[].key in fen (values already validated as amounts) */
static apr_status_t sum_money(apr_int64_t *sum, json_t *arr, const char *key)
{
    size_t i;
    json_t *v;
    apr_int64_t fen;
    apr_status_t rv;
    *sum = 0;
    json_array_foreach(arr, i, v) {
        if ((rv = hg_json_getm(v, &fen, key, NULL)) != APR_SUCCESS)
            return rv;
        if ((rv = hg_money_add(sum, *sum, fen)) != APR_SUCCESS)
            return rv;
    }
    return APR_SUCCESS;
}

/* totalAmt against the details that are there; *total gets totalAmt.  0 when they add up */
static int totals_refused(sbf_t *s, json_t *bill, apr_int64_t *total)
{
    json_t *charges_a = json_object_get(bill, "chargeDetail"), *paid_a = json_object_get(bill, "payChannelDetail");
    apr_int64_t charges = 0, paid = 0;
    const char *key = deposit_service(s->service) ? "amt" : "totalAmt";
    hg_json_getm(bill, total, key, NULL);
    if (sum_money(&charges, charges_a, "amt") != APR_SUCCESS
        || sum_money(&paid, paid_a, "payChannelValue") != APR_SUCCESS) {
        refuse(s, SBF_MALFORMED, "data: 金额合计超出范围");
        return 1;
    }
    if (json_array_size(charges_a) && charges != *total) {
        refuse(s, SBF_MALFORMED, "data.%s: 票据总金额%s与收费项目金额合计%s不符",
               key, hg_money_format(s->p, *total), hg_money_format(s->p, charges));
        return 1;
    }
    if (json_array_size(paid_a) && paid != *total) {
        refuse(s, SBF_MALFORMED, "data.%s: 票据总金额%s与交款渠道金额合计%s不符",
               key, hg_money_format(s->p, *total), hg_money_format(s->p, paid));
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- services */

/* invoiceEBillOutpatient, invEBillHospitalized, … : supervise a bill the hospital issued */
static apr_status_t issue(sbf_t *s)
{
    hg_error_t *e = NULL;
    hg_db_result_t *r;
    json_t *bill;
    apr_int64_t total;
    const char *code, *no;
    apr_status_t rv;
    int known;

    if (json_is_true(json_object_get(s->d, "isScarlet")))
        return refuse(s, SBF_MALFORMED, "isScarlet: 红票请通过writeOffEBill上传");
    if ((rv = hg_json_validate(s->p, s->d, deposit_service(s->service) ? DEPOSIT_UPLOAD : ISSUE_UPLOAD, &e))
        != APR_SUCCESS)
        return refuse_invalid(s, rv, e);
    bill = json_object_get(s->d, "data");
    if (!strcmp(s->service, "invEBillHospitalized") && !hg_json_gets(bill, "hospitalNo", NULL))
        return refuse(s, SBF_MALFORMED, "data.hospitalNo: 住院票据必须填写住院号");
    if (totals_refused(s, bill, &total))       /* both lists are required here */
        return APR_SUCCESS;

    code = hg_json_gets(s->d, "billBatchCode", NULL);
    no = hg_json_gets(s->d, "billNo", NULL);
    if ((rv = insert_bill(&r, s, total, NULL, NULL)) != APR_SUCCESS)
        return rv;
    if (r->nrows)
        return answer_supervised(s, code, no, hg_db_val(r, 0, 0), hg_db_val(r, 0, 1));
    if ((rv = answer_known(s, code, no, &known)) != APR_SUCCESS || known)
        return rv;
    return refuse(s, SBF_CONFLICT, "票据已存在且内容不一致: %s %s", code, no);   /* deleted meanwhile */
}

/* writeOffEBill: a red bill that reverses a whole original (§4.2); the original becomes flushed */
static apr_status_t write_off(sbf_t *s)
{
    hg_error_t *e = NULL;
    hg_db_result_t *r;
    json_t *red = json_object_get(s->d, "data");
    const char *code, *no, *rcode, *rno;
    apr_int64_t total, orig_total;
    apr_status_t rv;
    int known;

    if ((rv = hg_json_validate(s->p, s->d, deposit_service(s->service) ? SCARLET_DEPOSIT_UPLOAD : SCARLET_UPLOAD, &e))
        != APR_SUCCESS)
        return refuse_invalid(s, rv, e);
    if (!json_is_true(json_object_get(s->d, "isScarlet")))
        return refuse(s, SBF_MALFORMED, "isScarlet: writeOffEBill上传的是红票，isScarlet须为true");
    code = hg_json_gets(s->d, "billBatchCode", NULL);
    no = hg_json_gets(s->d, "billNo", NULL);
    rcode = hg_json_gets(s->d, "relatedBill", "billBatchCode", NULL);
    rno = hg_json_gets(s->d, "relatedBill", "billNo", NULL);
    if (!strcmp(code, rcode) && !strcmp(no, rno))
        return refuse(s, SBF_MALFORMED, "relatedBill: 红票不能与原票据同号");
    if (totals_refused(s, red, &total))
        return APR_SUCCESS;

    /* a repeat of an upload that went through gets the same answer, whatever the original is now */
    if ((rv = answer_known(s, code, no, &known)) != APR_SUCCESS || known)
        return rv;

    if ((rv = hg_db_begin(s->db)) != APR_SUCCESS)
        return rv;
    /* the lock serialises concurrent flushes of one original */
    if ((rv = hg_db_q(s->db, &r, "SELECT is_scarlet, scarlet_batch_code, scarlet_no, total_fen, service "
                      "FROM sandbox.fiscal_bills WHERE bill_batch_code = $1 AND bill_no = $2 FOR UPDATE",
                      2, rcode, rno)) != APR_SUCCESS)
        goto leave;
    if (!r->nrows) {
        hg_db_rollback(s->db);
        return refuse(s, SBF_NOT_FOUND, "原票据不存在: %s %s", rcode, rno);
    }
    /* deposit vouchers have their own red-flush service (inferred from the separate names, §3.3) */
    if (deposit_service(s->service) != deposit_service(hg_db_val(r, 0, 4))) {
        hg_db_rollback(s->db);
        return refuse(s, SBF_MALFORMED, "relatedBill: %s %s 是%s，请通过%s冲红", rcode, rno,
                      deposit_service(hg_db_val(r, 0, 4)) ? "预交金凭证" : "医疗收费票据",
                      deposit_service(hg_db_val(r, 0, 4)) ? "writeOffPayMentVoucher" : "writeOffEBill");
    }
    if (hg_db_val(r, 0, 0)[0] == 't') {
        hg_db_rollback(s->db);
        return refuse(s, SBF_MALFORMED, "relatedBill: %s %s 是红票，不能冲红", rcode, rno);
    }
    if (hg_db_val(r, 0, 2)) {
        const char *by_code = hg_db_val(r, 0, 1), *by_no = hg_db_val(r, 0, 2);
        hg_db_rollback(s->db);
        if (!strcmp(by_code, code) && !strcmp(by_no, no)) {   /* this very red bill, a moment ago */
            if ((rv = answer_known(s, code, no, &known)) != APR_SUCCESS || known)
                return rv;
        }
        return refuse(s, SBF_FLUSHED, "原票据已冲红: %s %s（红票 %s %s）", rcode, rno, by_code, by_no);
    }
    orig_total = apr_atoi64(hg_db_val(r, 0, 3));
    {
        /* exchanged for paper: the paper is voided first (invalidPaper), then the bill flushed */
        hg_db_result_t *pp;
        if ((rv = hg_db_q(s->db, &pp, "SELECT p_bill_batch_code || ' ' || p_bill_no FROM sandbox.fiscal_papers "
                          "WHERE bill_batch_code = $1 AND bill_no = $2 AND state = 'live'", 2, rcode, rno)) != APR_SUCCESS)
            goto leave;
        if (pp->nrows) {
            hg_db_rollback(s->db);
            return refuse(s, SBF_PAPER_LIVE, "原票据已换开纸质票据 %s，请先作废纸质票据（invalidPaper）",
                          hg_db_val(pp, 0, 0));
        }
    }
    if (total != -orig_total && total != orig_total) {
        hg_db_rollback(s->db);
        return refuse(s, SBF_MALFORMED, "data.%s: 红票金额%s与原票据金额%s不符",
                      deposit_service(s->service) ? "amt" : "totalAmt",
                      hg_money_format(s->p, total), hg_money_format(s->p, orig_total));
    }
    if ((rv = insert_bill(&r, s, -orig_total, rcode, rno)) != APR_SUCCESS)
        goto leave;
    if (!r->nrows) {                                        /* the red number was taken meanwhile */
        hg_db_rollback(s->db);
        if ((rv = answer_known(s, code, no, &known)) != APR_SUCCESS || known)
            return rv;
        return refuse(s, SBF_CONFLICT, "票据已存在且内容不一致: %s %s", code, no);
    }
    if ((rv = hg_db_q(s->db, NULL, "UPDATE sandbox.fiscal_bills SET scarlet_batch_code = $3, scarlet_no = $4, "
                      "scarlet_at = now() WHERE bill_batch_code = $1 AND bill_no = $2",
                      4, rcode, rno, code, no)) != APR_SUCCESS)
        goto leave;
    if ((rv = hg_db_commit(s->db)) != APR_SUCCESS)
        goto leave;
    return answer_supervised(s, code, no, hg_db_val(r, 0, 0), hg_db_val(r, 0, 1));
leave:
    hg_db_rollback(s->db);
    return rv;
}

/* a new live paper for the locked bill; E2002 when the paper number was used before */
static apr_status_t insert_paper(sbf_t *s, const char *code, const char *no, const char *pcode,
                                 const char *pno, int *done)
{
    hg_db_result_t *r;
    apr_status_t rv;
    *done = 0;
    if ((rv = hg_db_q(s->db, &r, "INSERT INTO sandbox.fiscal_papers (bill_batch_code, bill_no, p_bill_batch_code, "
                      "p_bill_no, operator) VALUES ($1, $2, $3, $4, $5) "
                      "ON CONFLICT (p_bill_batch_code, p_bill_no) DO NOTHING RETURNING " TS17("turned_at"),
                      5, code, no, pcode, pno, hg_json_gets(s->d, "operator", NULL))) != APR_SUCCESS)
        return rv;
    if (!r->nrows)
        return refuse(s, SBF_CONFLICT, "纸质票据 %s %s 已被使用", pcode, pno);
    if ((rv = hg_db_commit(s->db)) != APR_SUCCESS)
        return rv;
    *done = 1;
    return answer_paper(s, code, no, pcode, pno, "turnTime", hg_db_val(r, 0, 0));
}

/* turnPaper, reTurnPaper, invalidPaper (§4.3): at most one live paper per e-bill */
static apr_status_t paper(sbf_t *s)
{
    int turn = !strcmp(s->service, "turnPaper"), reTurn = !strcmp(s->service, "reTurnPaper"), done = 0;
    hg_error_t *e = NULL;
    hg_db_result_t *b, *live, *r;
    const char *code, *no, *pcode, *pno, *lcode = NULL, *lno = NULL;
    apr_status_t rv;

    if ((rv = hg_json_validate(s->p, s->d, turn || reTurn ? PAPER_TURN : PAPER_INVALID, &e)) != APR_SUCCESS)
        return refuse_invalid(s, rv, e);
    code = hg_json_gets(s->d, "billBatchCode", NULL);
    no = hg_json_gets(s->d, "billNo", NULL);
    pcode = hg_json_gets(s->d, "pBillBatchCode", NULL);
    pno = hg_json_gets(s->d, "pBillNo", NULL);

    if ((rv = hg_db_begin(s->db)) != APR_SUCCESS)
        return rv;
    if ((rv = hg_db_q(s->db, &b, "SELECT scarlet_no FROM sandbox.fiscal_bills "
                      "WHERE bill_batch_code = $1 AND bill_no = $2 FOR UPDATE", 2, code, no)) != APR_SUCCESS)
        goto leave;
    if (!b->nrows) {
        hg_db_rollback(s->db);
        return refuse(s, SBF_NOT_FOUND, "票据不存在: %s %s", code, no);
    }
    if ((rv = hg_db_q(s->db, &live, "SELECT id, p_bill_batch_code, p_bill_no, " TS17("turned_at")
                      " FROM sandbox.fiscal_papers WHERE bill_batch_code = $1 AND bill_no = $2 AND state = 'live'",
                      2, code, no)) != APR_SUCCESS)
        goto leave;
    if (live->nrows) {
        lcode = hg_db_val(live, 0, 1);
        lno = hg_db_val(live, 0, 2);
    }
    /* the same paper as the live one: a repeat of a call that went through */
    if ((turn || reTurn) && lcode && !strcmp(lcode, pcode) && !strcmp(lno, pno)) {
        hg_db_rollback(s->db);
        return answer_paper(s, code, no, pcode, pno, "turnTime", hg_db_val(live, 0, 3));
    }

    if (turn || reTurn) {
        if (hg_db_val(b, 0, 0)) {
            hg_db_rollback(s->db);
            return refuse(s, SBF_FLUSHED, "票据已冲红，不能换开纸质票据: %s %s", code, no);
        }
        if (turn && lcode) {
            hg_db_rollback(s->db);
            return refuse(s, SBF_CONFLICT, "票据已换开纸质票据 %s %s，重新换开请调用reTurnPaper", lcode, lno);
        }
        if (reTurn && !lcode) {
            /* the old paper may have been voided by an invalidPaper that came first: re-exchange
             * needs a paper exchanged before, live or not */
            if ((rv = hg_db_q(s->db, &r, "SELECT 1 FROM sandbox.fiscal_papers WHERE bill_batch_code = $1 "
                              "AND bill_no = $2 LIMIT 1", 2, code, no)) != APR_SUCCESS)
                goto leave;
            if (!r->nrows) {
                hg_db_rollback(s->db);
                return refuse(s, SBF_NO_PAPER, "票据没有换开过纸质票据，请调用turnPaper: %s %s", code, no);
            }
        }
        if (reTurn && lcode
            && (rv = hg_db_q(s->db, NULL, "UPDATE sandbox.fiscal_papers SET state = 'void', voided_at = now() "
                             "WHERE id = $1::bigint", 1, hg_db_val(live, 0, 0))) != APR_SUCCESS)
            goto leave;
        if ((rv = insert_paper(s, code, no, pcode, pno, &done)) != APR_SUCCESS || !done)
            goto leave;
        return APR_SUCCESS;
    }

    /* invalidPaper: allowed after a red-flush too (the paper is voided alongside) */
    if (lcode && !strcmp(lcode, pcode) && !strcmp(lno, pno)) {
        if ((rv = hg_db_q(s->db, &r, "UPDATE sandbox.fiscal_papers SET state = 'void', voided_at = now() "
                          "WHERE id = $1::bigint RETURNING " TS17("voided_at"), 1, hg_db_val(live, 0, 0)))
            || (rv = hg_db_commit(s->db)))
            goto leave;
        return answer_paper(s, code, no, pcode, pno, "invalidTime", hg_db_val(r, 0, 0));
    }
    if ((rv = hg_db_q(s->db, &r, "SELECT " TS17("voided_at") " FROM sandbox.fiscal_papers "
                      "WHERE bill_batch_code = $1 AND bill_no = $2 AND p_bill_batch_code = $3 AND p_bill_no = $4 "
                      "AND state = 'void'", 4, code, no, pcode, pno)) != APR_SUCCESS)
        goto leave;
    hg_db_rollback(s->db);
    if (r->nrows)                                           /* voided before: the same answer */
        return answer_paper(s, code, no, pcode, pno, "invalidTime", hg_db_val(r, 0, 0));
    if (lcode)
        return refuse(s, SBF_NO_PAPER, "纸质票据 %s %s 不是该票据的有效纸质票据（当前为 %s %s）", pcode, pno, lcode, lno);
    return refuse(s, SBF_NO_PAPER, "票据没有已换开的纸质票据: %s %s", code, no);
leave:
    hg_db_rollback(s->db);
    return rv;
}

/* getEBillStatesByBillInfo (§4.4): state 1 正常 (this simulator voids no e-bill, so never 2),
 * isScarlet 1 once a red bill reversed it */
static apr_status_t states(sbf_t *s)
{
    const char *code = hg_json_gets(s->d, "billBatchCode", NULL), *no = hg_json_gets(s->d, "billNo", NULL);
    hg_db_result_t *r;
    json_t *m;
    apr_status_t rv;
    if (!code || !no || !*code || !*no)
        return refuse(s, SBF_MALFORMED, "billBatchCode、billNo不能为空");
    if ((rv = hg_db_q(s->db, &r, "SELECT b.scarlet_batch_code, b.scarlet_no, p.p_bill_batch_code, p.p_bill_no "
                      "FROM sandbox.fiscal_bills b LEFT JOIN sandbox.fiscal_papers p "
                      "  ON p.bill_batch_code = b.bill_batch_code AND p.bill_no = b.bill_no AND p.state = 'live' "
                      "WHERE b.bill_batch_code = $1 AND b.bill_no = $2", 2, code, no)) != APR_SUCCESS)
        return rv;
    if (!r->nrows)
        return refuse(s, SBF_NOT_FOUND, "票据不存在: %s %s", code, no);
    m = json_pack("{s:s, s:s, s:s, s:s}", "billBatchCode", code, "billNo", no, "state", "1",
                  "isScarlet", hg_db_val(r, 0, 1) ? "1" : "0");
    if (m && hg_db_val(r, 0, 1)) {
        json_object_set_new(m, "scarletBillBatchCode", json_string(hg_db_val(r, 0, 0)));
        json_object_set_new(m, "scarletBillNo", json_string(hg_db_val(r, 0, 1)));
    }
    if (m && hg_db_val(r, 0, 3)) {
        json_object_set_new(m, "pBillBatchCode", json_string(hg_db_val(r, 0, 2)));
        json_object_set_new(m, "pBillNo", json_string(hg_db_val(r, 0, 3)));
    }
    return succeed(s, m);
}

/* ---------------------------------------------------------------- dispatch */

static const char *const ISSUE_SERVICES[] = {
    "invoiceEBillOutpatient", "invEBillHospitalized", "invEBillRegistration",
    "invEBillPhysicalExamination", "invEBillImmunization", "invEBillPrepayment", "invoicePayMentVoucher", NULL };

/* invalidBlankBillNo: a paper number voided before use; the platform only records it */
static apr_status_t blank_void(sbf_t *s)
{
    const char *code = hg_json_gets(s->d, "pBillBatchCode", NULL), *no = hg_json_gets(s->d, "pBillNo", NULL);
    if (!code || !no || strlen(code) != 8 || strlen(no) != 10)
        return refuse(s, SBF_MALFORMED, "pBillBatchCode(8位)、pBillNo(10位)不能为空");
    return succeed(s, json_pack("{s:s, s:s, s:s}", "pBillBatchCode", code, "pBillNo", no, "state", "2"));
}

apr_status_t sandbox_fiscal_serve(apr_pool_t *p, hg_db_t *db, const char *service,
                                  const char *data_json, const char **result, const char **message)
{
    sbf_t s = { .p = p, .db = db, .service = service, .data_json = data_json,
                .result = result, .message = message };
    hg_error_t *e = NULL;
    apr_status_t rv;
    int i;

    if (hg_json_parse(&s.d, p, data_json, strlen(data_json), 0, &e) != APR_SUCCESS)
        return refuse(&s, SBF_MALFORMED, "业务参数不是JSON对象: %s", e ? e->message : "");
    for (i = 0; ISSUE_SERVICES[i]; i++)
        if (!strcmp(service, ISSUE_SERVICES[i]))
            break;
    if (ISSUE_SERVICES[i])
        rv = issue(&s);
    else if (!strcmp(service, "writeOffEBill") || !strcmp(service, "writeOffPayMentVoucher"))
        rv = write_off(&s);
    else if (!strcmp(service, "turnPaper") || !strcmp(service, "reTurnPaper") || !strcmp(service, "invalidPaper"))
        rv = paper(&s);
    else if (!strcmp(service, "getEBillStatesByBillInfo"))
        rv = states(&s);
    else if (!strcmp(service, "invalidBlankBillNo"))
        rv = blank_void(&s);
    else
        rv = refuse(&s, SBF_UNKNOWN_SVC, "未知服务: %s", service);
    if (rv != APR_SUCCESS)
        hg_db_rollback(db);
    return rv;
}
