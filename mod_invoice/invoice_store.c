#include <string.h>
#include <stdlib.h>
#include <apr_strings.h>
#include <apr_hash.h>
#include "invoice_store.h"
#include "invoice_fiscal.h"
#include "hg_audit.h"
#include "invoice_pdf.h"
#include "hg_auth.h"
#include "hg_json.h"
#include "hg_money.h"
#include "hg_outbox.h"

#define BILL_COLS "b.id, b.bus_no, b.kind, b.service, b.place_code, b.bill_batch_code, b.bill_no, " \
    "b.random, b.create_time, b.total_fen, b.is_scarlet, b.state, coalesce(b.related_id, 0), " \
    "b.paper_batch_code, b.paper_no, b.doc_sealed, b.seal, coalesce(o.state, 'pending'), o.result::text"
#define BILL_FROM "invoice.bills b LEFT JOIN hg.outbox o ON o.topic = 'invoice.upload' " \
    "AND o.business_key = 'upload:' || b.id"

static apr_status_t fail(invoice_ctx_t *x, const char *code, const char *field, const char *msg,
                         apr_status_t rv)
{
    x->err = hg_error_make(x->p, code, field, msg ? "%s" : NULL, msg);
    return rv;
}

static invoice_bill_t *bill_from_row(invoice_ctx_t *x, hg_db_result_t *r, int i)
{
    invoice_bill_t *b = apr_pcalloc(x->p, sizeof(*b));
    b->id = apr_atoi64(hg_db_val(r, i, 0));
    b->bus_no = hg_db_val(r, i, 1);
    b->kind = hg_db_val(r, i, 2);
    b->service = hg_db_val(r, i, 3);
    b->place_code = hg_db_val(r, i, 4);
    b->bill_batch_code = hg_db_val(r, i, 5);
    b->bill_no = hg_db_val(r, i, 6);
    b->random = hg_db_val(r, i, 7);
    b->create_time = hg_db_val(r, i, 8);
    b->total_fen = apr_atoi64(hg_db_val(r, i, 9));
    b->is_scarlet = hg_db_val(r, i, 10)[0] == 't';
    b->state = hg_db_val(r, i, 11);
    b->related_id = apr_atoi64(hg_db_val(r, i, 12));
    b->paper_batch_code = hg_db_val(r, i, 13);
    b->paper_no = hg_db_val(r, i, 14);
    b->doc_sealed = hg_db_val(r, i, 15);
    b->seal = hg_db_val(r, i, 16);
    b->upload_state = hg_db_val(r, i, 17);
    b->supervision = hg_db_val(r, i, 18);
    return b;
}

static apr_status_t load_one(invoice_ctx_t *x, invoice_bill_t **bill, const char *where, int n,
                             const char *a, const char *b, const char *c)
{
    hg_db_result_t *r;
    apr_status_t rv = hg_db_q(x->db, &r, apr_pstrcat(x->p, "SELECT " BILL_COLS " FROM " BILL_FROM
                                                     " WHERE ", where, NULL), n, a, b, c);
    if (rv)
        return rv;
    if (r->nrows != 1)
        return fail(x, "HG_INVOICE_NOT_FOUND", NULL, NULL, HG_ENOTFOUND);
    *bill = bill_from_row(x, r, 0);
    return APR_SUCCESS;
}

apr_status_t invoice_find(invoice_ctx_t *x, const char *code, const char *no, invoice_bill_t **bill)
{
    return load_one(x, bill, "b.bill_batch_code = $1 AND b.bill_no = $2 AND b.institution = $3", 3,
                    code, no, x->institution);
}

apr_status_t invoice_find_bus(invoice_ctx_t *x, const char *bus_no, invoice_bill_t **bill)
{
    return load_one(x, bill, "b.institution = $1 AND b.bus_no = $2", 2, x->institution, bus_no, NULL);
}

apr_status_t invoice_find_id(invoice_ctx_t *x, apr_int64_t id, invoice_bill_t **bill)
{
    return load_one(x, bill, "b.id = $1::bigint", 1, apr_off_t_toa(x->p, id), NULL, NULL);
}

apr_status_t invoice_doc(invoice_ctx_t *x, const invoice_bill_t *bill, json_t **doc)
{
    unsigned char *plain;
    apr_size_t len;
    hg_error_t *e = NULL;
    apr_status_t rv = hg_secret_open(&plain, &len, x->p, x->master_key, bill->doc_sealed);
    if (rv)
        return rv;
    return hg_json_parse(doc, x->p, (const char *)plain, len, 0, &e);
}

static const char *seal_text(invoice_ctx_t *x, const char *json_text)
{
    char *s = NULL;
    return hg_secret_seal_packed(&s, x->p, x->master_key, json_text, strlen(json_text)) == APR_SUCCESS ? s : NULL;
}

/* keyed look-up index of one personal identifier, or NULL when absent */
static const char *pidx(invoice_ctx_t *x, const char *kind, const char *value)
{
    char *hex = NULL;
    if (!value || !*value)
        return NULL;
    hg_keyed_index(&hex, x->p, x->master_key,
                   apr_pstrcat(x->p, kind, ":", invoice_subject_canon(x->p, kind, value), NULL));
    return hex;
}

const char *invoice_subject_canon(apr_pool_t *p, const char *kind, const char *value)
{
    /* an ID number's check character is X or x depending on who typed it */
    char *v = apr_pstrdup(p, value), *c;
    if (!strcmp(kind, "id"))
        for (c = v; *c; c++)
            if (*c == 'x')
                *c = 'X';
    return v;
}

/* take the next number of a billing point (of the bill code batch_code when not NULL): the stock
 * row stays locked until COMMIT, so this comes as late as possible in the transaction
 * (design/performance.md); begin: open the transaction with it, in the same round trip.  The time
 * is Beijing time whatever the database's TimeZone (a server on UTC dated bills 8 hours early) */
static apr_status_t take_number(invoice_ctx_t *x, const char *kind, const char *place, const char *batch_code,
                                int begin, const char **batch, apr_int64_t *no, const char **create_time)
{
    hg_db_result_t *r;
    apr_status_t rv;
    if (!strcmp(place, "POOL"))      /* the store room holds stock for distribution, it issues nothing */
        return fail(x, !strcmp(kind, "ebill") ? "HG_INVOICE_NO_STOCK" : "HG_INVOICE_NO_PAPER_STOCK", "placeCode",
                    "POOL is the store room (票据库房), not a billing point", HG_ECONFLICT);
    rv = (begin ? hg_db_begin_q : hg_db_q)(x->db, &r,
        "UPDATE invoice.stock SET next_no = next_no + 1 WHERE id = ("
        "  SELECT id FROM invoice.stock WHERE institution = $1 AND place_code = $2 AND kind = $3 "
        "    AND next_no <= end_no AND ($4::text IS NULL OR bill_batch_code = $4) ORDER BY id LIMIT 1 FOR UPDATE) "
        "RETURNING bill_batch_code, next_no - 1, "
        "  to_char(clock_timestamp() AT TIME ZONE '" HG_TIME_ZONE "', 'YYYYMMDDHH24MISSMS')",
        4, x->institution, place, kind, batch_code && *batch_code ? batch_code : NULL);
    if (rv)
        return rv;
    if (r->nrows != 1 && batch_code && *batch_code)
        return fail(x, !strcmp(kind, "ebill") ? "HG_INVOICE_NO_STOCK" : "HG_INVOICE_NO_PAPER_STOCK",
                    !strcmp(kind, "ebill") ? "billBatchCode" : "pBillBatchCode",
                    apr_psprintf(x->p, "billing point %s has no numbers of %s left", place, batch_code),
                    HG_ECONFLICT);
    if (r->nrows != 1)
        return fail(x, !strcmp(kind, "ebill") ? "HG_INVOICE_NO_STOCK" : "HG_INVOICE_NO_PAPER_STOCK",
                    "placeCode", apr_psprintf(x->p, "billing point %s has no %s numbers left", place,
                                              !strcmp(kind, "ebill") ? "e-bill" : "paper"), HG_ECONFLICT);
    *batch = hg_db_val(r, 0, 0);
    *no = apr_atoi64(hg_db_val(r, 0, 1));
    if (create_time)
        *create_time = hg_db_val(r, 0, 2);
    return APR_SUCCESS;
}

json_t *invoice_notice_payload(invoice_ctx_t *x, const char *channel, const char *to, const invoice_bill_t *b,
                                const char *title)
{
    return hg_json_own(x->p, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?}", "channel", channel, "to", to,
                                       "url", invoice_h5_url(x, b), "billBatchCode", b->bill_batch_code,
                                       "billNo", b->bill_no, "totalAmt", hg_money_format(x->p, b->total_fen),
                                       "institutionName", x->institution_name ? x->institution_name : "",
                                       "title", title));
}

json_t *invoice_mail_payload(invoice_ctx_t *x, const char *to, const invoice_bill_t *b)
{
    return hg_json_own(x->p, json_pack("{s:s, s:s, s:s, s:s, s:s}", "channel", "email", "to", to,
        "subject", apr_psprintf(x->p, "%s电子票据 %s %s", x->institution_name, b->bill_batch_code, b->bill_no),
        "text", apr_psprintf(x->p, "您好：\n\n附件是您在%s的医疗收费电子票据（票据代码 %s，票据号码 %s，金额 %s 元），"
                             "可在财政电子票据查验平台查验真伪。\n\n此邮件由系统自动发送，请勿回复。\n",
                             x->institution_name, b->bill_batch_code, b->bill_no, hg_money_format(x->p, b->total_fen)),
        "filename", apr_psprintf(x->p, "ebill-%s-%s.pdf", b->bill_batch_code, b->bill_no)));
}

/* the values of a bill's row (BILL_ROW_* order, 24 of them): sealed document, unit seal,
 * upload and notification payloads, index keys of the personal data, payee, channels and charges
 * for the summaries */
enum { BR_INST, BR_BUS, BR_KIND, BR_SERVICE, BR_PLACE, BR_BATCH, BR_NO, BR_RANDOM, BR_CTIME, BR_TOTAL,
       BR_RED, BR_RELATED, BR_HASH, BR_DOC, BR_SEAL, BR_ID_IDX, BR_TEL_IDX, BR_CARD_IDX, BR_TEL,
       BR_UPLOAD, BR_NOTIFY, BR_PAYEE, BR_CHANNELS, BR_CHARGES, BR_MI_IDX, BR_MAIL, BR_COUNT };

static apr_status_t bill_row(invoice_ctx_t *x, const char *bus_no, invoice_kind_t kind,
                             const char *service, const char *place, const char *batch,
                             const char *bill_no, const char *random, const char *create_time,
                             apr_int64_t total, int red, apr_int64_t related, const char *hash,
                             json_t *doc, json_t *norm, const char *upload_service, const char ***row)
{
    char *sig = NULL;
    const char *doc_text, *notify = NULL, *tel, *openid, *channels, *charges, *mail;
    const char **params;
    apr_status_t rv;

    /* the bill as its notices name it */
    const invoice_bill_t bill = { .bill_batch_code = batch, .bill_no = bill_no, .random = random, .total_fen = total };

    /* the stored document is the very text the seal signs: dump it once */
    if (!(doc_text = hg_json_dump(x->p, doc, HG_JSON_DUMP_SORTED)))
        return APR_ENOMEM;
    if ((rv = invoice_seal_text(&sig, x->p, x->seal_key, doc_text))
        || (rv = invoice_channels_json(&channels, x->p, norm))
        || (rv = invoice_charges_json(&charges, x->p, norm)))
        return rv;
    tel = hg_json_gets(norm, "tel", NULL);
    openid = hg_json_gets(norm, "openID", NULL);
    if (!red && ((tel && *tel) || (openid && *openid))) {
        json_t *n = invoice_notice_payload(x, openid && *openid ? "wechat" : "sms", openid && *openid ? openid : tel,
                                           &bill, hg_json_gets(doc, "title", NULL));
        if (openid && *openid && tel && *tel)    /* for the SMS when WeChat cannot reach the patient */
            json_object_set_new(n, "fallbackTel", json_string(tel));
        notify = seal_text(x, hg_json_dump(x->p, n, 0));
    }
    params = apr_palloc(x->p, BR_COUNT * sizeof(*params));
    params[BR_INST] = x->institution;
    params[BR_BUS] = bus_no;
    params[BR_KIND] = invoice_kind_code(kind);
    params[BR_SERVICE] = service;
    params[BR_PLACE] = place;
    params[BR_BATCH] = batch;
    params[BR_NO] = bill_no;
    params[BR_RANDOM] = random;
    params[BR_CTIME] = create_time;
    params[BR_TOTAL] = apr_off_t_toa(x->p, total);
    params[BR_RED] = red ? "true" : "false";
    params[BR_RELATED] = apr_off_t_toa(x->p, related);
    params[BR_HASH] = hash;
    if (!(params[BR_DOC] = seal_text(x, doc_text)))
        return APR_ENOMEM;
    params[BR_SEAL] = sig;
    params[BR_ID_IDX] = pidx(x, "id", hg_json_gets(norm, "idCardNo", NULL));
    params[BR_TEL_IDX] = pidx(x, "tel", tel);
    params[BR_CARD_IDX] = pidx(x, "card", hg_json_gets(norm, "cardNo", NULL));
    params[BR_MI_IDX] = pidx(x, "mi", hg_json_gets(norm, "medicalInsuranceID", NULL));
    params[BR_MAIL] = NULL;
    /* an address from the HIS: the layout file by e-mail, rendered by the delivery (the issue answers
     * before any PDF is drawn) from the document it carries, sealed like every notice */
    if (!red && (mail = hg_json_gets(norm, "email", NULL)) && *mail) {
        json_t *m = invoice_mail_payload(x, mail, &bill);
        json_object_set_new(m, "render", json_pack("{s:s, s:s, s:s}", "doc", doc_text, "url", invoice_h5_url(x, &bill),
                                                   "sealStatus", "待监制"));
        params[BR_MAIL] = seal_text(x, hg_json_dump(x->p, m, 0));
    }
    params[BR_TEL] = tel && *tel ? seal_text(x, tel) : NULL;
    /* what the fiscal platform receives is the sealed document and its seal (invoice_upload_data):
     * the upload row carries those, not a second sealed copy of the same data */
    params[BR_UPLOAD] = upload_service;
    params[BR_NOTIFY] = notify;
    params[BR_PAYEE] = hg_json_gets(norm, "payee", NULL);
    params[BR_CHANNELS] = channels;
    params[BR_CHARGES] = charges;
    *row = params;
    return APR_SUCCESS;
}

/* insert a bill with its upload (and notification) events; returns the new id */
static apr_status_t insert_bill(invoice_ctx_t *x, const char *bus_no, invoice_kind_t kind,
                                const char *service, const char *place, const char *batch,
                                const char *bill_no, const char *random, const char *create_time,
                                apr_int64_t total, int red, apr_int64_t related, const char *hash,
                                json_t *doc, json_t *norm, const char *upload_service,
                                int commit, const invoice_bill_t *answer_for, apr_int64_t *id)
{
    const char **params;
    hg_db_stmt_t st;
    hg_db_result_t *r;
    apr_status_t rv;

    if ((rv = bill_row(x, bus_no, kind, service, place, batch, bill_no, random, create_time, total, red,
                       related, hash, doc, norm, upload_service, &params)))
        return rv;
    st.sql = "WITH b AS (INSERT INTO invoice.bills (institution, bus_no, kind, service, place_code, "
        "    bill_batch_code, bill_no, random, create_time, total_fen, is_scarlet, related_id, "
        "    content_hash, doc_sealed, seal, id_idx, tel_idx, card_idx, tel_sealed, payee, channels, charges, mi_idx) "
        "  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::bigint, $11::boolean, "
        "    nullif($12, '0')::bigint, $13, $14, $15, $16, $17, $18, $19, $22, $23::jsonb, $24::jsonb, $25) RETURNING id), "
        " u AS (INSERT INTO hg.outbox (topic, institution, business_key, payload, max_attempts, order_key) "
        "  SELECT 'invoice.upload', $1, 'upload:' || b.id, jsonb_build_object('service', $20::text, "
        "    'bill', b.id), " APR_STRINGIFY(INVOICE_UPLOAD_ATTEMPTS) ", "
        "    'bill:' || coalesce(nullif($12, '0')::bigint, b.id) FROM b), "
        " n AS (INSERT INTO hg.outbox (topic, institution, business_key, payload, max_attempts) "
        "  SELECT 'invoice.notify', $1, 'notify:' || b.id, jsonb_build_object('sealed', $21::text), 8 "
        "  FROM b WHERE $21::text IS NOT NULL), "
        " m AS (INSERT INTO hg.outbox (topic, institution, business_key, payload, max_attempts) "
        "  SELECT 'invoice.notify', $1, 'issuemail:' || b.id, jsonb_build_object('sealed', $26::text), 10 "
        "  FROM b WHERE $26::text IS NOT NULL) "
        "SELECT id FROM b";
    st.n = BR_COUNT;
    st.params = params;
    /* commit: end the transaction with this statement, in the same round trip; with the caller's
     * answer and journal row when it takes them (answer_for: the bill as it will be answered) */
    if (commit && answer_for && x->commit_issue)
        rv = x->commit_issue(x, answer_for, &st, &r);
    else
        rv = hg_db_pipeline(x->db, &r, &st, 1, commit ? HG_DB_COMMIT : 0);
    if (rv)
        return rv;
    *id = apr_atoi64(hg_db_val(r, 0, 0));
    return APR_SUCCESS;
}

/* a busNo issued before: the same bill again for the same content of the same kind (service), a
 * conflict otherwise (the same body sent to invEBillRegistration after invoiceEBillOutpatient is
 * another bill, not a resend) */
static apr_status_t replay_or_conflict(invoice_ctx_t *x, invoice_kind_t kind, const char *bus_no, const char *hash,
                                       invoice_bill_t **bill, int *replayed, int *found)
{
    hg_db_result_t *r;
    apr_status_t rv = hg_db_q(x->db, &r, "SELECT id, content_hash, kind FROM invoice.bills "
                              "WHERE institution = $1 AND bus_no = $2", 2, x->institution, bus_no);
    *found = 0;
    if (rv || r->nrows == 0)
        return rv;
    *found = 1;
    if (strcmp(hg_db_val(r, 0, 2), invoice_kind_code(kind)) != 0)
        return fail(x, "HG_INVOICE_BUSNO_CONFLICT", "busNo", apr_psprintf(x->p,
                    "busNo %s was issued before as another kind of bill (%s)", bus_no, hg_db_val(r, 0, 2)),
                    HG_ECONFLICT);
    if (strcmp(hg_db_val(r, 0, 1), hash) != 0)
        return fail(x, "HG_INVOICE_BUSNO_CONFLICT", "busNo", apr_psprintf(x->p,
                    "busNo %s was issued before with different content", bus_no), HG_ECONFLICT);
    *replayed = 1;
    return invoice_find_id(x, apr_atoi64(hg_db_val(r, 0, 0)), bill);
}

/* the bill as issued and answered: what we write, no read back (its id comes with the insert) */
static invoice_bill_t *issued_bill(invoice_ctx_t *x, invoice_kind_t kind, const char *bus_no, const char *place,
                                   const char *batch, const char *bill_no, const char *random,
                                   const char *create_time, apr_int64_t total)
{
    invoice_bill_t *b = apr_pcalloc(x->p, sizeof(*b));
    b->bus_no = bus_no;
    b->kind = invoice_kind_code(kind);
    b->service = invoice_kind_service(kind);
    b->place_code = place;
    b->bill_batch_code = batch;
    b->bill_no = apr_pstrdup(x->p, bill_no);
    b->random = apr_pstrdup(x->p, random);
    b->create_time = create_time;
    b->total_fen = total;
    b->state = "normal";
    b->upload_state = "pending";
    return b;
}

/* one bill on its own: the stock row is locked from the number to the COMMIT */
static apr_status_t issue_alone(invoice_ctx_t *x, invoice_kind_t kind, json_t *norm, const char *hash,
                                apr_int64_t total, invoice_bill_t **bill, int *replayed)
{
    json_t *doc;
    char random[7], bill_no[11];
    const char *bus_no = hg_json_gets(norm, "busNo", NULL), *place = hg_json_gets(norm, "placeCode", NULL);
    const char *batch, *create_time;
    apr_int64_t no, id;
    invoice_bill_t *b;
    apr_status_t rv;
    int found, attempt;

    /* optimistic: most busNos are new, so go straight for the number and the insert; a unique
     * violation rolls the number back with the transaction, and then we look at what is there */
    for (attempt = 0; attempt < 2; attempt++) {
        if ((rv = invoice_check_code(random)))
            return rv;
        /* BEGIN with the number, and the bill with COMMIT: two round trips for the transaction */
        if ((rv = take_number(x, "ebill", place, NULL, 1, &batch, &no, &create_time)))
            goto rollback;
        if ((rv = invoice_format_bill_no(bill_no, no)))
            goto rollback;
        if ((rv = invoice_make_doc(&doc, x->p, kind, x->institution, x->institution_name, batch, bill_no,
                                   random, create_time, 0, NULL, NULL, norm)))
            goto rollback;
        b = issued_bill(x, kind, bus_no, place, batch, bill_no, random, create_time, total);
        rv = insert_bill(x, bus_no, kind, invoice_kind_service(kind), place, batch, bill_no, random,
                         create_time, total, 0, 0, hash, doc, norm, invoice_kind_service(kind), 1, b, &id);
        if (rv == HG_ECONFLICT) {
            hg_db_rollback(x->db);
            if ((rv = replay_or_conflict(x, kind, bus_no, hash, bill, replayed, &found)) || found)
                return rv;
            continue;       /* the other request rolled back: try again */
        }
        if (rv)
            goto rollback;
        b->id = id;
        *bill = b;
        return APR_SUCCESS;
    }
    return fail(x, "HG_CONFLICT", "busNo", "concurrent issuance of the same busNo", HG_ECONFLICT);
rollback:
    hg_db_rollback(x->db);
    return rv;
}

/* ---- group issuance (common/hg_group.h).  Requests line up per lane (InvoiceIssueLanes: the
 * institution's billing points spread over a few lines by invoice_issue_lane, or one line per
 * billing point).  The leader takes the numbers of the whole batch in one statement (one UPDATE
 * per billing point's stock row, the rows locked in the order of their ids, so that no two
 * transactions wait on each other crosswise), each member seals its own bill in its own
 * thread while the rows are locked, and the leader writes all bills with their outbox rows in one
 * statement and one COMMIT: one transaction and one fsync for the batch instead of one per bill.
 * On one busy billing point that is what makes its row lock bearable; spread over many, it saves
 * PostgreSQL the per-transaction work that otherwise costs as much as the bills' own.
 * The numbers stay gapless: a batch commits whole or not at all, and then its members issue
 * alone as before. */
enum { GM_NUMBERED = 2,     /* member: your number is in; seal your row and reply */
       GM_DONE,             /* member: committed, your bill's id is in */
       GM_EXISTS,           /* member: your busNo is issued already: replay or conflict */
       GM_ALONE };          /* member: not in this batch after all: issue alone */

typedef struct issue_member_t {
    invoice_ctx_t *x;
    invoice_kind_t kind;
    json_t *norm;
    const char *hash, *bus_no, *place;
    apr_int64_t total;
    /* from the leader */
    const char *batch, *create_time;
    apr_int64_t no, id;
    /* the member's share: its bill's row (bill_row) */
    char random[7], bill_no[11];
    const char **row;
    const char **journal;       /* the call's journal row (x->journal_issue), or NULL */
    apr_status_t rv;
    int released;               /* gave its connection back while waiting in line */
} issue_member_t;

/* a member about to wait in line needs no connection until its last message: others may use it */
static void member_release(void *arg)
{
    issue_member_t *m = arg;
    m->x->db_release(m->x->db_baton);
    m->x->db = NULL;
    m->released = 1;
}

/* the connection again, for a member that leads after all, issues alone, or is done (its caller
 * goes on with x->db: the audit row, the next bill of a batch) */
static apr_status_t member_reacquire(issue_member_t *m)
{
    apr_status_t rv;
    if (!m->released)
        return APR_SUCCESS;
    m->released = 0;
    if ((rv = m->x->db_reacquire(m->x->db_baton, &m->x->db)))
        return fail(m->x, rv == HG_EDBBUSY ? "HG_DB_BUSY" : "HG_DB_UNAVAILABLE", NULL, NULL, rv);
    return APR_SUCCESS;
}

/* a member's share, in its own thread: the document with its number, sealed.  The batch code and
 * the time are the leader's (its result, in its pool): copied here, while the leader waits for
 * every share, because once it has posted GM_DONE it answers and its request's pool may be gone
 * before this thread runs again (a member read them after that and crashed under load) */
static apr_status_t member_row(issue_member_t *m)
{
    json_t *doc;
    apr_status_t rv;
    m->batch = apr_pstrdup(m->x->p, m->batch);
    m->create_time = apr_pstrdup(m->x->p, m->create_time);
    if ((rv = invoice_check_code(m->random)) || (rv = invoice_format_bill_no(m->bill_no, m->no))
        || (rv = invoice_make_doc(&doc, m->x->p, m->kind, m->x->institution, m->x->institution_name, m->batch,
                                  m->bill_no, m->random, m->create_time, 0, NULL, NULL, m->norm)))
        return rv;
    if ((rv = bill_row(m->x, m->bus_no, m->kind, invoice_kind_service(m->kind), m->place, m->batch, m->bill_no,
                       m->random, m->create_time, m->total, 0, 0, m->hash, doc, m->norm,
                       invoice_kind_service(m->kind), &m->row)))
        return rv;
    m->journal = NULL;
    if (m->x->journal_issue)
        return m->x->journal_issue(m->x, issued_bill(m->x, m->kind, m->bus_no, m->place, m->batch, m->bill_no,
                                                     m->random, m->create_time, m->total), &m->journal);
    return APR_SUCCESS;
}

/* the batch's columns as array parameters (hg_db_array): one statement for every row */
static const int GROUP_COLS[] = { BR_BUS, BR_KIND, BR_SERVICE, BR_NO, BR_RANDOM, BR_TOTAL, BR_HASH, BR_DOC,
                                  BR_SEAL, BR_ID_IDX, BR_TEL_IDX, BR_CARD_IDX, BR_TEL, BR_UPLOAD, BR_NOTIFY,
                                  BR_PAYEE, BR_CHANNELS, BR_CHARGES, BR_MI_IDX, BR_MAIL, BR_PLACE, BR_BATCH };
#define GROUP_NCOLS ((int)(sizeof(GROUP_COLS) / sizeof(*GROUP_COLS)))

/* the bills and their outbox rows in one statement, the members' journal rows in a second, and
 * COMMIT, in one round trip */
static apr_status_t group_insert(invoice_ctx_t *x, issue_member_t **ms, int n, hg_db_result_t **r)
{
    const char *params[2 + GROUP_NCOLS], **col = apr_palloc(x->p, n * sizeof(*col));
    const char *const **journal = apr_palloc(x->p, n * sizeof(*journal));
    hg_db_stmt_t st[2];
    apr_status_t rv;
    int i, j, nj = 0;
    params[0] = x->institution;
    params[1] = ms[0]->create_time;
    for (j = 0; j < GROUP_NCOLS; j++) {
        for (i = 0; i < n; i++)
            col[i] = ms[i]->row[GROUP_COLS[j]];
        params[2 + j] = hg_db_array(x->p, col, n);
    }
    st[0].sql = "WITH d AS (SELECT * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "
        "    $8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], "
        "    $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[], "
        "    $22::text[], $23::text[], $24::text[]) WITH ORDINALITY AS d(bus_no, kind, service, bill_no, random, "
        "    total_fen, content_hash, doc_sealed, seal, id_idx, tel_idx, card_idx, tel_sealed, upload, notify, "
        "    payee, channels, charges, mi_idx, mail, place_code, bill_batch_code, i)), "
        " b AS (INSERT INTO invoice.bills (institution, bus_no, kind, service, place_code, "
        "    bill_batch_code, bill_no, random, create_time, total_fen, is_scarlet, content_hash, "
        "    doc_sealed, seal, id_idx, tel_idx, card_idx, tel_sealed, payee, channels, charges, mi_idx) "
        "  SELECT $1, bus_no, kind, service, place_code, bill_batch_code, bill_no, random, $2, total_fen, false, "
        "    content_hash, doc_sealed, seal, id_idx, tel_idx, card_idx, tel_sealed, payee, channels::jsonb, "
        "    charges::jsonb, mi_idx FROM d ORDER BY i RETURNING id, bus_no), "
        " u AS (INSERT INTO hg.outbox (topic, institution, business_key, payload, max_attempts, order_key) "
        "  SELECT 'invoice.upload', $1, 'upload:' || b.id, jsonb_build_object('service', d.upload, "
        "    'bill', b.id), " APR_STRINGIFY(INVOICE_UPLOAD_ATTEMPTS) ", "
        "    'bill:' || b.id FROM b JOIN d USING (bus_no) ORDER BY b.id), "
        " n AS (INSERT INTO hg.outbox (topic, institution, business_key, payload, max_attempts) "
        "  SELECT 'invoice.notify', $1, 'notify:' || b.id, jsonb_build_object('sealed', d.notify), 8 "
        "  FROM b JOIN d USING (bus_no) WHERE d.notify IS NOT NULL ORDER BY b.id), "
        " m AS (INSERT INTO hg.outbox (topic, institution, business_key, payload, max_attempts) "
        "  SELECT 'invoice.notify', $1, 'issuemail:' || b.id, jsonb_build_object('sealed', d.mail), 10 "
        "  FROM b JOIN d USING (bus_no) WHERE d.mail IS NOT NULL ORDER BY b.id) "
        "SELECT bus_no, id FROM b";
    st[0].n = 2 + GROUP_NCOLS;
    st[0].params = params;
    for (i = 0; i < n; i++)
        if (ms[i]->journal)
            journal[nj++] = ms[i]->journal;
    if (nj && (rv = hg_audit_rows_stmt(&st[1], x->p, journal, nj)))
        return rv;
    return hg_db_pipeline(x->db, r, st, nj ? 2 : 1, HG_DB_COMMIT);
}

/* what a batch took of one billing point's stock row: numbers next .. next + left - 1 */
typedef struct {
    const char *batch;
    apr_int64_t next, left;
} place_take_t;

/* the leader's batch: ms[0] is the leader, gms[i] the group member of ms[i] (i >= 1).  Every
 * member but the leader gets its final message here; the leader's is returned. */
static int group_run(invoice_ctx_t *x, issue_member_t **ms, hg_group_member_t **gms, int n)
{
    hg_group_t *g = x->issue_group;
    const char **bus = apr_palloc(x->p, n * sizeof(*bus)), **place = apr_palloc(x->p, n * sizeof(*place));
    char *exists;
    hg_db_result_t *r;
    issue_member_t **numbered = apr_palloc(x->p, n * sizeof(*numbered));
    int *fate = apr_pcalloc(x->p, n * sizeof(*fate)), i, k = 0, failed = 0;
    apr_hash_t *taken = apr_hash_make(x->p);    /* billing point → place_take_t */

    for (i = 0; i < n; i++) {
        bus[i] = ms[i]->bus_no;
        place[i] = ms[i]->place;
    }
    /* the numbers for those not issued yet, and which are, in one round trip that opens the
     * transaction.  Per billing point its first stock row with numbers left (f, read unlocked),
     * then those rows locked in the order of their ids, as every other statement that locks stock
     * rows takes them (take_number: ascending id, one after another when one has run out): so no
     * two transactions wait on each other crosswise, even when a range moves between billing
     * points meanwhile (distribute).  A row that changed meanwhile (run out, or moved to another
     * billing point) is not used: that billing point's members issue alone.  The time is taken
     * after every lock (u read whole first).  A row held long by someone else holds the whole lane
     * meanwhile; no lock_timeout: the group's members then all issuing alone at once took every
     * database slot while the held point's ones waited on its row (HG_DB_BUSY in t/api/27). */
    if (hg_db_begin_q(x->db, &r,
        "WITH ex AS (SELECT bus_no FROM invoice.bills WHERE institution = $1 AND bus_no = ANY($3::text[])), "
        " w AS (SELECT p, count(*)::int AS want FROM unnest($2::text[], $3::text[]) AS m(p, b) "
        "   WHERE b NOT IN (SELECT bus_no FROM ex) GROUP BY p), "
        " f AS (SELECT w.p, w.want, (SELECT id FROM invoice.stock WHERE institution = $1 AND place_code = w.p "
        "   AND kind = 'ebill' AND next_no <= end_no ORDER BY id LIMIT 1) AS id FROM w), "
        " s AS (SELECT t.id, t.place_code, t.next_no, t.end_no FROM invoice.stock t "
        "   WHERE t.id = ANY(ARRAY(SELECT id FROM f WHERE id IS NOT NULL)) AND t.next_no <= t.end_no "
        "   ORDER BY t.id FOR UPDATE), "
        " u AS (UPDATE invoice.stock t SET next_no = t.next_no + least(f.want, s.end_no - s.next_no + 1) "
        "   FROM s JOIN f ON f.id = s.id AND f.p = s.place_code WHERE t.id = s.id "
        "   RETURNING t.place_code, t.bill_batch_code, s.next_no AS first, least(f.want, s.end_no - s.next_no + 1) AS taken) "
        "SELECT ct.t, array_to_string(array(SELECT (v IN (SELECT bus_no FROM ex))::int FROM unnest($3::text[]) "
        "    WITH ORDINALITY AS a(v, o) ORDER BY o), ''), u.place_code, u.bill_batch_code, u.first, u.taken "
        "FROM (SELECT to_char(clock_timestamp() AT TIME ZONE '" HG_TIME_ZONE "', 'YYYYMMDDHH24MISSMS') AS t "
        "      FROM (SELECT count(*) FROM u) locked) ct LEFT JOIN u ON true",
        3, x->institution, hg_db_array(x->p, place, n), hg_db_array(x->p, bus, n)) || r->nrows < 1
        || strlen(exists = (char *)hg_db_val(r, 0, 1)) != (size_t)n) {
        hg_db_rollback(x->db);
        for (i = 1; i < n; i++)
            hg_group_post(g, gms[i], GM_ALONE);
        return GM_ALONE;
    }
    for (i = 0; i < r->nrows; i++)
        if (hg_db_val(r, i, 2)) {
            place_take_t *t = apr_palloc(x->p, sizeof(*t));
            t->batch = hg_db_val(r, i, 3);
            t->next = apr_atoi64(hg_db_val(r, i, 4));
            t->left = apr_atoi64(hg_db_val(r, i, 5));
            apr_hash_set(taken, hg_db_val(r, i, 2), APR_HASH_KEY_STRING, t);
        }
    for (i = 0; i < n; i++) {
        place_take_t *t = apr_hash_get(taken, ms[i]->place, APR_HASH_KEY_STRING);
        if (exists[i] == '1')
            fate[i] = GM_EXISTS;
        else if (t && t->left > 0) {
            ms[i]->batch = t->batch;
            ms[i]->create_time = hg_db_val(r, 0, 0);
            ms[i]->no = t->next++;
            t->left--;
            numbered[k++] = ms[i];
            fate[i] = GM_NUMBERED;
        } else
            fate[i] = GM_ALONE;       /* its stock row ran out (or it has none): the next row, alone */
    }
    /* who is out of the batch goes now; the others seal their rows at the same time as the leader */
    for (i = 1; i < n; i++)
        hg_group_post(g, gms[i], fate[i]);
    if (k == 0) {
        hg_db_rollback(x->db);
        return fate[0];
    }
    if (fate[0] == GM_NUMBERED)
        ms[0]->rv = member_row(ms[0]);
    hg_group_await(g, gms[0], fate[0] == GM_NUMBERED ? k - 1 : k);
    for (i = 0; i < k; i++)
        failed += numbered[i]->rv != APR_SUCCESS;
    if (failed || group_insert(x, numbered, k, &r) || r->nrows != k) {
        /* nothing of the batch stays (a number is never skipped): each of them again, alone */
        hg_db_rollback(x->db);
        for (i = 1; i < n; i++)
            if (fate[i] == GM_NUMBERED)
                hg_group_post(g, gms[i], GM_ALONE);
        return fate[0] == GM_NUMBERED ? GM_ALONE : fate[0];
    }
    for (i = 0; i < r->nrows; i++) {
        const char *b = hg_db_val(r, i, 0);
        int j;
        for (j = 0; j < k; j++)
            if (!strcmp(numbered[j]->bus_no, b))
                numbered[j]->id = apr_atoi64(hg_db_val(r, i, 1));
    }
    for (i = 1; i < n; i++)
        if (fate[i] == GM_NUMBERED)
            hg_group_post(g, gms[i], GM_DONE);
    return fate[0] == GM_NUMBERED ? GM_DONE : fate[0];
}

/* issue through the line of the billing point's lane: *handled = 0 when the bill must be issued alone */
static apr_status_t issue_grouped(invoice_ctx_t *x, invoice_kind_t kind, json_t *norm, const char *hash,
                                  apr_int64_t total, invoice_bill_t **bill, int *replayed, int *handled)
{
    hg_group_t *g = x->issue_group;
    issue_member_t me = { .x = x, .kind = kind, .norm = norm, .hash = hash, .total = total,
                          .bus_no = hg_json_gets(norm, "busNo", NULL), .place = hg_json_gets(norm, "placeCode", NULL) };
    hg_group_member_t gm = { .baton = &me };
    invoice_bill_t *b;
    apr_status_t rv = APR_SUCCESS;
    int msg, found;

    /* the store room issues nothing: take_number says so, alone (a line would number from it) */
    if (!me.place || !strcmp(me.place, "POOL")) {
        *handled = 0;
        return APR_SUCCESS;
    }
    *handled = 1;
    if (x->db_release && x->db_reacquire) {
        gm.before_wait = member_release;
        gm.before_wait_arg = &me;
    }
    /* a lane's line, or the billing point's own */
    msg = hg_group_enter(g, x->issue_lanes > 0
                            ? apr_psprintf(x->p, "%s\x1f#%d", x->institution, invoice_issue_lane(me.place, x->issue_lanes))
                            : apr_pstrcat(x->p, x->institution, "\x1f", me.place, NULL), &gm);
    if (msg == HG_GROUP_LEAD) {
        hg_group_member_t **gms = apr_palloc(x->p, x->issue_group_max * sizeof(*gms));
        issue_member_t **ms = apr_palloc(x->p, x->issue_group_max * sizeof(*ms));
        int n = 1 + hg_group_take(g, &gm, gms + 1, x->issue_group_max - 1), i, j;
        if ((rv = member_reacquire(&me))) {
            /* led after waiting, and no connection came back: the line must not wait on us */
            for (i = 1; i < n; i++)
                hg_group_post(g, gms[i], GM_ALONE);
            hg_group_leave(g, &gm);
            hg_group_end(&gm);
            return rv;
        }
        if (n == 1) {
            /* nobody waiting: the plain way, still leading, so that who comes meanwhile lines up */
            rv = issue_alone(x, kind, norm, hash, total, bill, replayed);
            hg_group_leave(g, &gm);
            hg_group_end(&gm);
            return rv;
        }
        ms[0] = &me;
        gms[0] = &gm;
        /* the same busNo twice in the line: the later one goes alone (and finds the first's bill) */
        for (i = j = 1; i < n; i++) {
            issue_member_t *m = gms[i]->baton;
            int dup = 0, d;
            for (d = 0; d < j && !dup; d++)
                dup = !strcmp(ms[d]->bus_no, m->bus_no);
            if (dup) {
                hg_group_post(g, gms[i], GM_ALONE);
                continue;
            }
            gms[j] = gms[i];
            ms[j++] = m;
        }
        msg = j > 1 ? group_run(x, ms, gms, j) : GM_ALONE;
        hg_group_leave(g, &gm);
    } else if (msg == GM_NUMBERED) {
        me.rv = member_row(&me);
        hg_group_reply(g, &gm);
        msg = hg_group_wait(g, &gm);
    }
    hg_group_end(&gm);

    switch (msg) {
    case GM_DONE:
        /* the bill is committed: without a connection back it is still issued (the caller copes
         * with x->db NULL; the audit row takes its own) */
        if (member_reacquire(&me))
            x->err = NULL;
        /* me.batch and me.create_time are in this request's pool since member_row */
        b = issued_bill(x, kind, me.bus_no, me.place, me.batch, me.bill_no, me.random, me.create_time, total);
        b->id = me.id;
        /* answered in member_row, its journal row committed with the group */
        x->answered = x->journal_issue != NULL;
        *bill = b;
        return APR_SUCCESS;
    case GM_EXISTS:
        if ((rv = member_reacquire(&me)))
            return rv;
        if ((rv = replay_or_conflict(x, kind, me.bus_no, hash, bill, replayed, &found)) || found)
            return rv;
        /* gone since (its transaction was rolled back): alone */
        /* fall through */
    default:
        if ((rv = member_reacquire(&me)))
            return rv;
        *handled = 0;
        return APR_SUCCESS;
    }
}

apr_status_t invoice_issue(invoice_ctx_t *x, invoice_kind_t kind, json_t *data,
                           invoice_bill_t **bill, int *replayed)
{
    json_t *norm;
    char *hash;
    apr_int64_t total;
    apr_status_t rv;
    int handled;

    *replayed = 0;
    /* the request's own tree becomes the bill's data (the callers answer from the bill) */
    if ((rv = invoice_validate_in_place(x->p, kind, data, &x->err)))
        return rv;
    norm = data;
    if ((rv = invoice_normalize_in_place(norm)) || (rv = invoice_content_hash(&hash, x->p, norm))
        || (rv = invoice_total_fen(norm, &total)))
        return rv;
    /* busType (业务标识, mandatory on the platform's side) from the service when the HIS sends none;
     * after the content hash, so that a resend of a bill issued before this default still matches */
    if (!(hg_json_gets(norm, "busType", NULL) && *hg_json_gets(norm, "busType", NULL))
        && (rv = hg_json_sets(norm, "busType", invoice_kind_bus_type(kind))))
        return rv;
    /* a batch's earlier bill may have waited in line and found no connection afterwards */
    if (!x->db && (!x->db_reacquire || (rv = x->db_reacquire(x->db_baton, &x->db))))
        return fail(x, rv == HG_EDBBUSY ? "HG_DB_BUSY" : "HG_DB_UNAVAILABLE", NULL, NULL, rv ? rv : HG_EDBDOWN);
    if (x->issue_group && x->issue_group_max > 1 && !x->db->in_tx) {
        rv = issue_grouped(x, kind, norm, hash, total, bill, replayed, &handled);
        if (handled)
            return rv;
    }
    return issue_alone(x, kind, norm, hash, total, bill, replayed);
}

static const hg_field_t FLUSH_SCHEMA[] = {
    { .name = "billBatchCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "billNo", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20 },
    { .name = "reason", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .min_len = 1,
      .max_len = INVOICE_RED_REASON_MAX },
    { .name = "operator", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .min_len = 1,
      .max_len = INVOICE_RED_OPERATOR_MAX },
    { .name = "busDateTime", .type = HG_JT_DATE, .flags = HG_F_REQUIRED, .date_format = HG_DATE_TS17 },
    { .name = "placeCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    HG_FIELDS_END
};

/* a card's status change (invoice_wxcard.h) from its insertion's outbox row o and order w, keyed
 * key (an SQL text expression) so that it is queued once; the card's code (and template) are what
 * the insertion's delivery kept.  A card's changes reach WeChat in the order they were made (its
 * lock while a paper is live, the unlock when the paper is voided, the cancellation of a flush) */
#define WXCARD_STATUS_INSERT \
    "INSERT INTO hg.outbox (topic, institution, business_key, payload, max_attempts, order_key) "
#define WXCARD_STATUS_VALUES(o, w, key, status) \
    "SELECT 'invoice.wxcard_status', " w ".institution, " key " || ':' || " w ".order_id, " \
    "  jsonb_build_object('orderId', " w ".order_id, 'cardId', " o ".result->>'cardId', " \
    "    'code', " o ".result->>'code', 'status', " status "), 50, 'wxcard:' || " w ".order_id "
#define WXCARD_CANCEL_VALUES(o, w) WXCARD_STATUS_VALUES(o, w, "'cancel'", "'INVOICE_REIMBURSE_CANCEL'")
#define WXCARD_ONCE " ON CONFLICT (topic, business_key) DO NOTHING"

const char *const INVOICE_UPLOAD_PAYLOAD_SQL =
    "SELECT o.id, ((o.payload - 'bill') || jsonb_build_object('sealSignature', b.seal, "
    "  'docSealed', b.doc_sealed))::text "
    "FROM hg.outbox o JOIN invoice.bills b ON b.id = (o.payload->>'bill')::bigint "
    "WHERE o.id = ANY($1::bigint[]) AND o.payload ? 'bill'";

/* an insertion delivered after its bill was flushed: the card's cancellation; after it was
 * exchanged for paper (the insertion queued before): the card's lock, keyed as the exchange's */
const char *const INVOICE_WXCARD_AFTER_INSERT_SQL =
    "WITH ins AS (SELECT o.result, w.order_id, w.bill_id, w.institution FROM hg.outbox o "
    "  JOIN invoice.wxcard_orders w ON w.order_id = substr(o.business_key, 8) "
    "  WHERE o.id = ANY($1::bigint[]) AND o.topic = 'invoice.wxcard' AND o.state = 'done'), "
    /* the bill's row as the lock returns it (the latest, after an exchange or void that held it):
     * the live paper is read from it, not from another table in the statement's older snapshot */
    " b AS MATERIALIZED (SELECT id, state, paper_batch_code, paper_no FROM invoice.bills "
    "  WHERE id IN (SELECT bill_id FROM ins) FOR SHARE), "
    " c AS (" WXCARD_STATUS_INSERT WXCARD_CANCEL_VALUES("ins", "ins")
    "  FROM ins JOIN b ON b.id = ins.bill_id WHERE b.state = 'flushed'" WXCARD_ONCE " RETURNING 1) "
    WXCARD_STATUS_INSERT WXCARD_STATUS_VALUES("ins", "ins", "'lock:' || b.paper_batch_code || b.paper_no",
                                              "'INVOICE_REIMBURSE_LOCK'")
    "FROM ins JOIN b ON b.id = ins.bill_id AND b.state = 'normal' AND b.paper_no IS NOT NULL "
    "WHERE ins.result->>'code' IS NOT NULL" WXCARD_ONCE;

/* in a paper exchange's or void's transaction (the bill locked): the cards of the bill's delivered
 * insertions locked while the paper is live (it is reimbursed on paper: WeChat's card must not be
 * submitted too) and unlocked when it is voided; key: 'lock:' or 'unlock:' and the paper's code and
 * number.  An insertion WeChat answered without a card code (72042) has no card to lock */
static apr_status_t wxcard_status_delivered(invoice_ctx_t *x, apr_int64_t bill_id, const char *key,
                                            const char *status)
{
    return hg_db_q(x->db, NULL, WXCARD_STATUS_INSERT WXCARD_STATUS_VALUES("o", "w", "$2::text", "$3::text")
                   "FROM invoice.wxcard_orders w JOIN hg.outbox o ON o.topic = 'invoice.wxcard' "
                   "  AND o.business_key = 'wxcard:' || w.order_id "
                   "WHERE w.bill_id = $1::bigint AND o.state = 'done' AND o.result->>'code' IS NOT NULL"
                   WXCARD_ONCE, 3, apr_off_t_toa(x->p, bill_id), key, status);
}

/* in the flush's transaction, the bill flushed (and locked since the flush began) */
static apr_status_t wxcard_cancel_delivered(invoice_ctx_t *x, apr_int64_t bill_id)
{
    return hg_db_q(x->db, NULL, WXCARD_STATUS_INSERT WXCARD_CANCEL_VALUES("o", "w")
                   "FROM invoice.wxcard_orders w JOIN hg.outbox o ON o.topic = 'invoice.wxcard' "
                   "  AND o.business_key = 'wxcard:' || w.order_id "
                   "WHERE w.bill_id = $1::bigint AND o.state = 'done'" WXCARD_ONCE,
                   1, apr_off_t_toa(x->p, bill_id));
}

static apr_status_t flush(invoice_ctx_t *x, json_t *req, int deposit_only, invoice_bill_t **red, int *replayed);

apr_status_t invoice_flush(invoice_ctx_t *x, json_t *req, invoice_bill_t **red, int *replayed)
{
    return flush(x, req, 0, red, replayed);
}

apr_status_t invoice_flush_deposit(invoice_ctx_t *x, json_t *req, invoice_bill_t **red, int *replayed)
{
    return flush(x, req, 1, red, replayed);
}

static apr_status_t flush(invoice_ctx_t *x, json_t *req, int deposit_only, invoice_bill_t **red, int *replayed)
{
    invoice_bill_t *orig;
    json_t *doc, *red_data, *red_norm, *red_doc;
    char *hash, random[7], bill_no[11];
    const char *batch, *create_time, *place;
    apr_int64_t no, total, id;
    invoice_kind_t kind;
    apr_status_t rv;

    *replayed = 0;
    if ((rv = hg_json_validate(x->p, req, FLUSH_SCHEMA, &x->err)))
        return rv;
    place = hg_json_gets(req, "placeCode", NULL);
    if ((rv = hg_db_begin(x->db)))
        return rv;
    /* lock the original: two flushes of one bill serialise here */
    if ((rv = hg_db_q(x->db, NULL, "SELECT 1 FROM invoice.bills WHERE bill_batch_code = $1 AND bill_no = $2 "
                      "AND institution = $3 FOR UPDATE", 3, hg_json_gets(req, "billBatchCode", NULL),
                      hg_json_gets(req, "billNo", NULL), x->institution)))
        goto rollback;
    if ((rv = invoice_find(x, hg_json_gets(req, "billBatchCode", NULL), hg_json_gets(req, "billNo", NULL), &orig)))
        goto rollback;
    if (orig->is_scarlet) {
        rv = fail(x, "HG_INVOICE_IS_RED", "billNo", "a red bill cannot be flushed", HG_ECONFLICT);
        goto rollback;
    }
    kind = invoice_kind_from_service(orig->service);
    if (deposit_only && kind != INV_PREPAYMENT) {
        rv = fail(x, "HG_INVOICE_WRONG_SERVICE", "billNo", "writeOffPayMentVoucher flushes deposit vouchers "
                  "(住院预交金凭证); this bill is not one: use writeOffEBill", HG_ECONFLICT);
        goto rollback;
    }
    if (!strcmp(orig->state, "flushed")) {
        hg_db_rollback(x->db);
        *replayed = 1;
        return invoice_find_id(x, orig->related_id, red);
    }
    if (orig->paper_no) {
        rv = fail(x, "HG_INVOICE_PAPER_LIVE", "billNo", apr_psprintf(x->p, "the bill was exchanged for "
                  "paper %s %s: void the paper first (invalidPaper)", orig->paper_batch_code, orig->paper_no),
                  HG_ECONFLICT);
        goto rollback;
    }
    if ((rv = invoice_doc(x, orig, &doc)))
        goto rollback;
    if ((rv = invoice_make_red_data(&red_data, x->p, json_object_get(doc, "data"),
                                    hg_json_gets(req, "reason", NULL), hg_json_gets(req, "operator", NULL),
                                    hg_json_gets(req, "busDateTime", NULL)))
        || (rv = invoice_normalize(&red_norm, x->p, red_data))
        || (rv = invoice_content_hash(&hash, x->p, red_norm))
        || (rv = invoice_total_fen(red_norm, &total))
        || (rv = invoice_check_code(random)))
        goto rollback;
    json_object_set_new(red_norm, "placeCode", json_string(place));
    if ((rv = take_number(x, "ebill", place, NULL, 0, &batch, &no, &create_time))
        || (rv = invoice_format_bill_no(bill_no, no))
        || (rv = invoice_make_doc(&red_doc, x->p, kind, x->institution, x->institution_name, batch, bill_no,
                                  random, create_time, 1, orig->bill_batch_code, orig->bill_no, red_norm))
        || (rv = insert_bill(x, hg_json_gets(red_norm, "busNo", NULL), kind, "writeOffEBill", place, batch,
                             bill_no, random, create_time, total, 1, orig->id, hash, red_doc, red_norm,
                             kind == INV_PREPAYMENT ? "writeOffPayMentVoucher" : "writeOffEBill", 0, NULL, &id))
        || (rv = hg_db_q(x->db, NULL, "UPDATE invoice.bills SET state = 'flushed', related_id = $2::bigint "
                         "WHERE id = $1::bigint", 2, apr_off_t_toa(x->p, orig->id), apr_off_t_toa(x->p, id)))
        || (rv = wxcard_cancel_delivered(x, orig->id))
        || (rv = hg_db_commit(x->db)))
        goto rollback;
    return invoice_find_id(x, id, red);
rollback:
    hg_db_rollback(x->db);
    return rv;
}

/* ---------------------------------------------------------------- paper */

/* every billing point's (and the store room's) unused numbers per kind it ever held: columns
 * place_code, kind, remaining; a kind whose ranges are used up is there with 0 */
apr_status_t invoice_stock_levels(invoice_ctx_t *x, hg_db_result_t **r)
{
    return hg_db_q(x->db, r, "SELECT place_code, kind, coalesce(sum(end_no - next_no + 1) "
                   "FILTER (WHERE next_no <= end_no), 0) FROM invoice.stock WHERE institution = $1 "
                   "GROUP BY place_code, kind ORDER BY place_code, kind", 1, x->institution);
}

/* getValidBillBatchCode / getValidBillNo: a billing point's paper ranges with numbers left, in the
 * order getPaperBillNo uses them; one row with NULLs when it has none, HG_NOT_FOUND when there is
 * no such billing point */
apr_status_t invoice_paper_ranges(invoice_ctx_t *x, const char *place_code, const char *batch_code,
                                  hg_db_result_t **r)
{
    apr_status_t rv = hg_db_q(x->db, r,
        "SELECT s.bill_batch_code, s.next_no, s.end_no FROM invoice.places p "
        "LEFT JOIN invoice.stock s ON s.institution = p.institution AND s.place_code = p.place_code "
        "  AND s.kind = 'paper' AND s.next_no <= s.end_no AND ($3::text IS NULL OR s.bill_batch_code = $3) "
        "WHERE p.institution = $1 AND p.place_code = $2 ORDER BY s.id", 3, x->institution, place_code,
        batch_code && *batch_code ? batch_code : NULL);
    if (rv)
        return rv;
    if (!(*r)->nrows)
        return fail(x, "HG_NOT_FOUND", "placeCode", apr_psprintf(x->p, "no billing point %s", place_code),
                    HG_ENOTFOUND);
    return APR_SUCCESS;
}

/* getEBillUnPrintList: the card's blue bills, normal and with no live paper, newest first.  Issued
 * (create_time, our clock) no earlier than the day before the period's first business day: a bill
 * is issued after its settlement, and a day covers a HIS clock that is off.  The caller keeps those
 * whose documents match (invoice_list_match). */
apr_status_t invoice_unprinted(invoice_ctx_t *x, const invoice_list_query_t *q, invoice_bill_t ***bills, int *n)
{
    hg_db_result_t *r;
    int i;
    apr_status_t rv = hg_db_q(x->db, &r, "SELECT " BILL_COLS " FROM " BILL_FROM " WHERE b.institution = $1 "
        "AND b.card_idx = $2 AND NOT b.is_scarlet AND b.state = 'normal' AND b.paper_no IS NULL "
        "AND b.create_time >= to_char(to_date(left($3, 8), 'YYYYMMDD') - 1, 'YYYYMMDD') ORDER BY b.id DESC "
        "LIMIT " APR_STRINGIFY(INVOICE_LIST_MAX_CANDIDATES) " + 1",
        3, x->institution, pidx(x, "card", q->card_no), q->begin);
    if (rv)
        return rv;
    /* each candidate's document is opened to test it: a card with more in one period than any
     * patient has (a test card, a HIS that sends one number for all) is refused, not scanned */
    if (r->nrows > INVOICE_LIST_MAX_CANDIDATES)
        return fail(x, "HG_TOO_MANY_ITEMS", "busBgnDate", apr_psprintf(x->p, "more than %d printable bills of this "
                    "card from busBgnDate on: give a shorter period", INVOICE_LIST_MAX_CANDIDATES), HG_EINVALID);
    *n = r->nrows;
    *bills = apr_palloc(x->p, (r->nrows + 1) * sizeof(**bills));
    for (i = 0; i < r->nrows; i++)
        (*bills)[i] = bill_from_row(x, r, i);
    return APR_SUCCESS;
}

apr_status_t invoice_paper_next(invoice_ctx_t *x, const char *place_code, const char *batch_code,
                                const char **p_batch, const char **p_no)
{
    hg_db_result_t *r;
    char no[11];
    apr_status_t rv = hg_db_q(x->db, &r,
        "SELECT bill_batch_code, next_no FROM invoice.stock WHERE institution = $1 AND place_code = $2 "
        "AND kind = 'paper' AND next_no <= end_no AND ($3::text IS NULL OR bill_batch_code = $3) "
        "ORDER BY id LIMIT 1", 3, x->institution, place_code, batch_code && *batch_code ? batch_code : NULL);
    if (rv)
        return rv;
    if (!r->nrows)
        return fail(x, "HG_INVOICE_NO_PAPER_STOCK", "placeCode", NULL, HG_ECONFLICT);
    invoice_format_bill_no(no, apr_atoi64(hg_db_val(r, 0, 1)));
    *p_batch = hg_db_val(r, 0, 0);
    *p_no = apr_pstrdup(x->p, no);
    return APR_SUCCESS;
}

static const hg_field_t PAPER_SCHEMA[] = {
    { .name = "billBatchCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "billNo", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20 },
    { .name = "pBillBatchCode", .type = HG_JT_STRING, .max_len = 50 },
    { .name = "pBillNo", .type = HG_JT_STRING, .max_len = 20 },
    { .name = "busDateTime", .type = HG_JT_DATE, .flags = HG_F_REQUIRED, .date_format = HG_DATE_TS17 },
    { .name = "placeCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "operator", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 60 },
    { .name = "reason", .type = HG_JT_STRING, .max_len = 200 },
    HG_FIELDS_END
};

/* paper events of a bill reach the platform after its upload and in the order they happened */
static apr_status_t queue_paper_event(invoice_ctx_t *x, apr_int64_t bill_id, const char *service,
                                      const char *key, json_t *data)
{
    const char *sealed = seal_text(x, hg_json_dump(x->p, hg_json_own(x->p, json_pack("{s:s, s:O}",
                                   "service", service, "data", data)), 0));
    int created;
    return hg_outbox_enqueue_ordered(x->db, "invoice.upload", x->institution, key,
                                     bill_id ? apr_psprintf(x->p, "bill:%" APR_INT64_T_FMT, bill_id) : NULL,
                                     hg_json_dump(x->p, hg_json_own(x->p, json_pack("{s:s}", "sealed", sealed)), 0),
                                     INVOICE_UPLOAD_ATTEMPTS, &created);
}

/* void the live paper of a locked bill (the caller holds the transaction) */
/* why: the reason recorded when the request gives none (a re-exchange's) */
static apr_status_t void_live_paper(invoice_ctx_t *x, invoice_bill_t *b, json_t *req, const char *why,
                                    int unlock_card)
{
    hg_db_result_t *r;
    const char *reason = hg_json_gets(req, "reason", NULL);
    apr_status_t rv = hg_db_q(x->db, &r, "UPDATE invoice.papers SET state = 'void', voided_at = now(), "
                              "void_operator = $2, void_reason = $3 "
                              "WHERE bill_id = $1::bigint AND state = 'live' RETURNING id", 3,
                              apr_off_t_toa(x->p, b->id), hg_json_gets(req, "operator", NULL),
                              reason && *reason ? reason : why);
    if (rv)
        return rv;
    if (!r->nrows)
        return fail(x, "HG_INVOICE_NO_PAPER", "billNo", "the bill has no live paper bill", HG_ECONFLICT);
    if ((rv = hg_db_q(x->db, NULL, "UPDATE invoice.bills SET paper_batch_code = NULL, paper_no = NULL "
                      "WHERE id = $1::bigint", 1, apr_off_t_toa(x->p, b->id))))
        return rv;
    if (unlock_card && (rv = wxcard_status_delivered(x, b->id, apr_pstrcat(x->p, "unlock:", b->paper_batch_code,
                                                                           b->paper_no, NULL),
                                                     "INVOICE_REIMBURSE_INIT")))
        return rv;
    return queue_paper_event(x, b->id, "invalidPaper", apr_pstrcat(x->p, "paper-void:", hg_db_val(r, 0, 0), NULL),
                             hg_json_own(x->p, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?}",
                             "billBatchCode", b->bill_batch_code, "billNo", b->bill_no, "pBillBatchCode",
                             b->paper_batch_code, "pBillNo", b->paper_no, "operator",
                             hg_json_gets(req, "operator", NULL), "reason", hg_json_gets(req, "reason", NULL))));
}

static apr_status_t lock_bill(invoice_ctx_t *x, json_t *req, invoice_bill_t **b)
{
    apr_status_t rv = hg_db_q(x->db, NULL, "SELECT 1 FROM invoice.bills WHERE bill_batch_code = $1 "
                              "AND bill_no = $2 AND institution = $3 FOR UPDATE", 3,
                              hg_json_gets(req, "billBatchCode", NULL), hg_json_gets(req, "billNo", NULL),
                              x->institution);
    return rv ? rv : invoice_find(x, hg_json_gets(req, "billBatchCode", NULL), hg_json_gets(req, "billNo", NULL), b);
}

apr_status_t invoice_paper_turn(invoice_ctx_t *x, json_t *req, int re, const char **p_batch,
                                const char **p_no, int *replayed)
{
    invoice_bill_t *b;
    const char *want_batch = hg_json_gets(req, "pBillBatchCode", NULL), *want_no = hg_json_gets(req, "pBillNo", NULL);
    const char *batch;
    char no[11];
    apr_int64_t n;
    hg_db_result_t *r;
    apr_status_t rv;

    *replayed = 0;
    if ((rv = hg_json_validate(x->p, req, PAPER_SCHEMA, &x->err)))
        return rv;
    if ((rv = hg_db_begin(x->db)))
        return rv;
    if ((rv = lock_bill(x, req, &b)))
        goto rollback;
    if (b->is_scarlet || strcmp(b->state, "normal")) {
        rv = fail(x, "HG_INVOICE_NOT_EXCHANGEABLE", "billNo", "a flushed or red bill cannot be exchanged for paper",
                  HG_ECONFLICT);
        goto rollback;
    }
    if (b->paper_no && !re) {
        /* the same exchange again: the same paper, or none named (a resend after a timeout: the
         * bill has its one live paper, and a new one is reTurnPaper's) */
        if ((!want_no || !*want_no || !strcmp(want_no, b->paper_no))
            && (!want_batch || !*want_batch || !strcmp(want_batch, b->paper_batch_code))) {
            hg_db_rollback(x->db);
            *p_batch = b->paper_batch_code;
            *p_no = b->paper_no;
            *replayed = 1;
            return APR_SUCCESS;
        }
        rv = fail(x, "HG_INVOICE_PAPER_EXISTS", "billNo", apr_psprintf(x->p, "the bill already has the live "
                  "paper %s %s (reTurnPaper, or invalidPaper first)", b->paper_batch_code, b->paper_no),
                  HG_ECONFLICT);
        goto rollback;
    }
    /* a re-exchange: the card stays locked, under the new paper */
    if (re && b->paper_no && (rv = void_live_paper(x, b, req, "重新换开", 0)))
        goto rollback;
    if (re && !b->paper_no) {
        rv = fail(x, "HG_INVOICE_NO_PAPER", "billNo", "reTurnPaper needs an exchanged paper bill", HG_ECONFLICT);
        goto rollback;
    }
    if ((rv = take_number(x, "paper", hg_json_gets(req, "placeCode", NULL), want_batch, 0, &batch, &n, NULL))
        || (rv = invoice_format_bill_no(no, n)))
        goto rollback;
    /* the HIS printed on the paper it holds: the number must be the one the stock hands out */
    if ((want_no && *want_no && strcmp(want_no, no)) || (want_batch && *want_batch && strcmp(want_batch, batch))) {
        rv = fail(x, "HG_INVOICE_PAPER_NO_MISMATCH", "pBillNo", apr_psprintf(x->p, "the next paper number "
                  "of this billing point is %s %s", batch, no), HG_ECONFLICT);
        goto rollback;
    }
    if ((rv = hg_db_q(x->db, &r, "INSERT INTO invoice.papers (bill_id, p_bill_batch_code, p_bill_no, operator) "
                      "VALUES ($1::bigint, $2, $3, $4) RETURNING id", 4, apr_off_t_toa(x->p, b->id), batch, no,
                      hg_json_gets(req, "operator", NULL)))
        || (rv = hg_db_q(x->db, NULL, "UPDATE invoice.bills SET paper_batch_code = $2, paper_no = $3 "
                         "WHERE id = $1::bigint", 3, apr_off_t_toa(x->p, b->id), batch, no))
        || (!re && (rv = wxcard_status_delivered(x, b->id, apr_pstrcat(x->p, "lock:", batch, no, NULL),
                                                 "INVOICE_REIMBURSE_LOCK")))
        || (rv = queue_paper_event(x, b->id, re ? "reTurnPaper" : "turnPaper",
                                   apr_pstrcat(x->p, "paper:", hg_db_val(r, 0, 0), NULL),
                                   hg_json_own(x->p, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                                   "billBatchCode", b->bill_batch_code, "billNo", b->bill_no, "pBillBatchCode",
                                   batch, "pBillNo", no, "busDateTime", hg_json_gets(req, "busDateTime", NULL),
                                   "placeCode", hg_json_gets(req, "placeCode", NULL), "operator",
                                   hg_json_gets(req, "operator", NULL)))))
        || (rv = hg_db_commit(x->db)))
        goto rollback;
    *p_batch = batch;
    *p_no = apr_pstrdup(x->p, no);
    return APR_SUCCESS;
rollback:
    hg_db_rollback(x->db);
    return rv;
}

apr_status_t invoice_paper_void(invoice_ctx_t *x, json_t *req)
{
    static const hg_field_t schema[] = {
        { .name = "billBatchCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
        { .name = "billNo", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20 },
        { .name = "operator", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 60 },
        { .name = "reason", .type = HG_JT_STRING, .max_len = 200 },
        HG_FIELDS_END
    };
    invoice_bill_t *b;
    apr_status_t rv;
    if ((rv = hg_json_validate(x->p, req, schema, &x->err)))
        return rv;
    if ((rv = hg_db_begin(x->db)))
        return rv;
    if ((rv = lock_bill(x, req, &b)) || (rv = void_live_paper(x, b, req, NULL, 1)) || (rv = hg_db_commit(x->db))) {
        hg_db_rollback(x->db);
        return rv;
    }
    return APR_SUCCESS;
}

apr_status_t invoice_blank_void(invoice_ctx_t *x, json_t *req)
{
    static const hg_field_t schema[] = {
        { .name = "placeCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
        { .name = "pBillBatchCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .pattern = "[0-9]{8}" },
        { .name = "pBillNo", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .pattern = "[0-9]{10}" },
        { .name = "operator", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 60 },
        { .name = "reason", .type = HG_JT_STRING, .max_len = 200 },
        HG_FIELDS_END
    };
    hg_db_result_t *r;
    const char *place, *batch, *no;
    apr_status_t rv;
    if ((rv = hg_json_validate(x->p, req, schema, &x->err)))
        return rv;
    place = hg_json_gets(req, "placeCode", NULL);
    batch = hg_json_gets(req, "pBillBatchCode", NULL);
    no = hg_json_gets(req, "pBillNo", NULL);
    if ((rv = hg_db_begin(x->db)))
        return rv;
    /* only the next unused number can be voided blank: anything else is used or not ours yet */
    if ((rv = hg_db_q(x->db, &r, "UPDATE invoice.stock SET next_no = next_no + 1 WHERE institution = $1 "
                      "AND place_code = $2 AND kind = 'paper' AND bill_batch_code = $3 AND next_no = $4::bigint "
                      "AND next_no <= end_no RETURNING id", 4, x->institution, place, batch,
                      apr_off_t_toa(x->p, apr_atoi64(no)))))
        goto rollback;
    if (!r->nrows) {
        rv = fail(x, "HG_INVOICE_PAPER_NO_MISMATCH", "pBillNo", "only the next unused paper number of the "
                  "billing point can be voided blank", HG_ECONFLICT);
        goto rollback;
    }
    if ((rv = hg_db_q(x->db, NULL, "INSERT INTO invoice.blank_voids (p_bill_batch_code, p_bill_no, institution, "
                      "place_code, reason, operator) VALUES ($1, $2, $3, $4, $5, $6)", 6, batch, no,
                      x->institution, place, hg_json_gets(req, "reason", NULL), hg_json_gets(req, "operator", NULL)))
        || (rv = queue_paper_event(x, 0, "invalidBlankBillNo", apr_pstrcat(x->p, "blank:", batch, ":", no, NULL),
                                   json_deep_copy(req)))
        || (rv = hg_db_commit(x->db)))
        goto rollback;
    return APR_SUCCESS;
rollback:
    hg_db_rollback(x->db);
    return rv;
}

/* ---------------------------------------------------------------- links and layout files */

const char *invoice_h5_url(invoice_ctx_t *x, const invoice_bill_t *b)
{
    /* the codes travel in the fragment: they never reach a server log as part of a path */
    return apr_psprintf(x->p, "%s/invoice/bill.html#code=%s&no=%s&r=%s", x->public_url ? x->public_url : "",
                        b->bill_batch_code, b->bill_no, b->random);
}

static const char *link_sig(invoice_ctx_t *x, const char *code, const char *no, const char *exp)
{
    char *tok = NULL;
    hg_csrf_token(&tok, x->p, x->master_key, 16, apr_pstrcat(x->p, "pdf-link:", code, ":", no, ":", exp, NULL));
    return tok;
}

const char *invoice_pdf_link(invoice_ctx_t *x, const invoice_bill_t *b, int ttl_s)
{
    const char *exp = apr_psprintf(x->p, "%" APR_TIME_T_FMT, apr_time_sec(apr_time_now()) + ttl_s);
    return apr_psprintf(x->p, "/invoice/pub/v1/pdf/%s/%s?exp=%s&sig=%s", b->bill_batch_code, b->bill_no, exp,
                        link_sig(x, b->bill_batch_code, b->bill_no, exp));
}

int invoice_pdf_link_ok(invoice_ctx_t *x, const char *code, const char *no, const char *exp, const char *sig)
{
    if (!exp || !sig || apr_atoi64(exp) < apr_time_sec(apr_time_now()))
        return 0;
    return hg_csrf_check(x->master_key, 16, apr_pstrcat(x->p, "pdf-link:", code, ":", no, ":", exp, NULL),
                         sig) == APR_SUCCESS;
}

/* what the layout file's seal box says (and what its cache is keyed by): a bill exchanged for paper
 * says so, so that its PDF is not taken for a second bill to claim on */
static const char *seal_status(const invoice_bill_t *b)
{
    int done = !strcmp(b->upload_state, "done");
    if (!strcmp(b->state, "flushed"))
        return "已冲红";
    if (b->paper_no)
        return done ? "已监制·已换开纸质" : "待监制·已换开纸质";
    return done ? "已监制" : "待监制";
}

apr_status_t invoice_pdf_cached(invoice_ctx_t *x, const invoice_bill_t *b, const char **pdf, apr_size_t *len)
{
    hg_db_result_t *r;
    unsigned char *raw;
    apr_status_t rv = hg_db_q(x->db, &r, "SELECT encode(pdf, 'base64') FROM invoice.pdf_cache "
                              "WHERE bill_id = $1::bigint AND seal_status = $2", 2,
                              apr_off_t_toa(x->p, b->id), seal_status(b));
    *pdf = NULL;
    *len = 0;
    if (rv)
        return rv;
    if (r->nrows == 1) {
        char *b64 = apr_pstrdup(x->p, hg_db_val(r, 0, 0)), *s, *d;
        for (s = d = b64; *s; s++)            /* PostgreSQL wraps base64 at 76 columns */
            if (*s != '\n')
                *d++ = *s;
        *d = '\0';
        if (hg_base64_decode(&raw, len, x->p, b64) == APR_SUCCESS) {
            *pdf = (const char *)raw;
            return APR_SUCCESS;
        }
        *len = 0;
    }
    return HG_ENOTFOUND;
}

apr_status_t invoice_pdf_make(invoice_ctx_t *x, const invoice_bill_t *b, const char **pdf, apr_size_t *len)
{
    json_t *doc;
    apr_status_t rv = invoice_doc(x, b, &doc);
    if (rv)
        return rv;
    return invoice_pdf_render(pdf, len, x->p, doc, invoice_h5_url(x, b), seal_status(b));
}

apr_status_t invoice_pdf_store(invoice_ctx_t *x, const invoice_bill_t *b, const char *pdf, apr_size_t len)
{
    return hg_db_q(x->db, NULL, "INSERT INTO invoice.pdf_cache (bill_id, seal_status, pdf) VALUES ($1::bigint, $2, "
                   "decode($3, 'base64')) ON CONFLICT (bill_id) DO UPDATE SET seal_status = EXCLUDED.seal_status, "
                   "pdf = EXCLUDED.pdf, rendered_at = now()", 3, apr_off_t_toa(x->p, b->id), seal_status(b),
                   hg_base64_encode(x->p, (const unsigned char *)pdf, len));
}

apr_status_t invoice_notice_pdf(invoice_ctx_t *x, const invoice_bill_t *b, const char **pdf, apr_size_t *len)
{
    json_t *doc;
    apr_status_t rv = invoice_doc(x, b, &doc);
    if (rv)
        return rv;
    return invoice_notice_pdf_render(pdf, len, x->p, doc, invoice_h5_url(x, b));
}
