/* mod_invoice: the staff console's routes under /invoice/staff/v1/ — stock (申领入库, 分发),
 * staff issuance (手工开具), the daily report (日报) and the bill list.
 * Roles: invoice_admin moves stock, cashier issues, the invoice roles (and invoice_viewer) read; admin
 * passes everything (mod_hisgate checks roles and CSRF before we are called). */
#include <string.h>
#include "httpd.h"
#include "http_log.h"
#include "util_script.h"
#include "apr_strings.h"
#include "hg_money.h"
#include "hg_qr.h"
#include "hg_crypto.h"
#include "invoice_model.h"
#include "mod_invoice_private.h"

APLOG_USE_MODULE(invoice);

#define POOL_PLACE       "POOL"
#define POOL_PLACE_NAME  "票据库房"
#define PLACE_PATTERN    "[A-Za-z0-9_-]{1,50}"
#define BILL_NO_MAX      9999999999.0
#define LIST_DEFAULT     100
#define LIST_MAX         500

static const char *const STOCK_KINDS[] = { "ebill", "paper", NULL };

/* ---------------------------------------------------------------- helpers */

static const char *i64s(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

static apr_int64_t col64(const hg_db_result_t *r, int row, int col)
{
    const char *v = hg_db_val(r, row, col);
    return v ? apr_atoi64(v) : 0;
}


static const char *kind_label(const char *code)
{
    int k = invoice_kind_from_code(code);
    return k >= 0 ? invoice_kind_label((invoice_kind_t)k) : code && *code ? code : "空白纸质票";
}

/* places hang off invoice.institutions: the staff's institution may not be there yet */
static apr_status_t ensure_institution(hg_call_t *c, invoice_ctx_t *x)
{
    return hg_db_q(c->db, NULL, "INSERT INTO invoice.institutions (institution, name) VALUES ($1, $2) "
                   "ON CONFLICT DO NOTHING", 2, c->institution,
                   x->institution_name && *x->institution_name ? x->institution_name : c->institution);
}

/* the place must exist; with a name it is created when missing (never renamed here) */
static apr_status_t ensure_place(hg_call_t *c, invoice_ctx_t *x, const char *code, const char *name)
{
    hg_db_result_t *r;
    apr_status_t rv;
    if (name) {
        if ((rv = ensure_institution(c, x))
            || (rv = hg_db_q(c->db, NULL, "INSERT INTO invoice.places (institution, place_code, name) "
                             "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", 3, c->institution, code, name)))
            return rv;
    }
    if ((rv = hg_db_q(c->db, &r, "SELECT 1 FROM invoice.places WHERE institution = $1 AND place_code = $2",
                      2, c->institution, code)))
        return rv;
    if (!r->nrows)
        return hg_call_fail(c, "HG_NOT_FOUND", "placeCode", apr_psprintf(c->pool, "no billing point %s: "
                            "create it first or send placeName", code)), HG_ENOTFOUND;
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- stock */

#define STOCK_SELECT "SELECT s.id, s.place_code, coalesce(p.name, ''), s.kind, s.bill_batch_code, " \
    "s.start_no, s.end_no, s.next_no, s.next_no - s.start_no, s.end_no - s.next_no + 1, " \
    "to_char(s.created_at, 'YYYY-MM-DD HH24:MI:SS') FROM invoice.stock s LEFT JOIN invoice.places p " \
    "ON p.institution = s.institution AND p.place_code = s.place_code "

static json_t *stock_row(const hg_db_result_t *r, int i)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s}",
        "stockId", (json_int_t)col64(r, i, 0), "placeCode", hg_db_val(r, i, 1), "placeName", hg_db_val(r, i, 2),
        "kind", hg_db_val(r, i, 3), "billBatchCode", hg_db_val(r, i, 4), "startNo", (json_int_t)col64(r, i, 5),
        "endNo", (json_int_t)col64(r, i, 6), "nextNo", (json_int_t)col64(r, i, 7),
        "used", (json_int_t)col64(r, i, 8), "remaining", (json_int_t)col64(r, i, 9), "createdAt", hg_db_val(r, i, 10));
}

static apr_status_t stock_by_id(hg_call_t *c, apr_int64_t id, json_t **out)
{
    hg_db_result_t *r;
    apr_status_t rv = hg_db_q(c->db, &r, STOCK_SELECT "WHERE s.id = $1::bigint AND s.institution = $2", 2,
                              i64s(c->pool, id), c->institution);
    if (rv)
        return rv;
    *out = r->nrows ? stock_row(r, 0) : json_null();
    return APR_SUCCESS;
}

static const hg_field_t STOCK_QUERY[] = {
    { .name = "placeCode", .type = HG_JT_STRING, .pattern = PLACE_PATTERN },
    { .name = "kind", .type = HG_JT_STRING, .enum_values = STOCK_KINDS },
    { .name = "open", .type = HG_JT_STRING, .enum_values = (const char *const[]){ "0", "1", NULL } },
    HG_FIELDS_END_CLOSED
};

/* GET /invoice/staff/v1/stock[?placeCode=&kind=&open=1] — every range with used/remaining counts */
static apr_status_t route_stock(hg_call_t *c)
{
    json_t *q, *rows;
    hg_db_result_t *r;
    const char *open;
    apr_status_t rv;
    int i;
    if ((rv = hg_call_query(c, STOCK_QUERY, &q)))
        return rv;
    open = hg_json_opt(q, "open");
    if ((rv = hg_db_q(c->db, &r, STOCK_SELECT "WHERE s.institution = $1 AND ($2::text IS NULL OR s.place_code = $2) "
                      "AND ($3::text IS NULL OR s.kind = $3) AND ($4::text IS NULL OR s.next_no <= s.end_no) "
                      "ORDER BY s.place_code, s.kind, s.bill_batch_code, s.start_no", 4, c->institution,
                      hg_json_opt(q, "placeCode"), hg_json_opt(q, "kind"), open && !strcmp(open, "1") ? "1" : NULL)))
        return rv;
    rows = json_array();
    for (i = 0; i < r->nrows; i++)
        json_array_append_new(rows, stock_row(r, i));
    return hg_call_answer(c, 200, json_pack("{s:o}", "stock", rows));
}

/* GET /invoice/staff/v1/places — billing points with their unused numbers per kind */
static apr_status_t route_places(hg_call_t *c)
{
    static const hg_field_t schema[] = { HG_FIELDS_END_CLOSED };
    json_t *q, *rows;
    hg_db_result_t *r;
    apr_status_t rv;
    int i;
    if ((rv = hg_call_query(c, schema, &q)))
        return rv;
    if ((rv = hg_db_q(c->db, &r, "SELECT p.place_code, p.name, "
                      "coalesce(sum(s.end_no - s.next_no + 1) FILTER (WHERE s.kind = 'ebill' AND s.next_no <= s.end_no), 0), "
                      "coalesce(sum(s.end_no - s.next_no + 1) FILTER (WHERE s.kind = 'paper' AND s.next_no <= s.end_no), 0), "
                      "bool_or(s.kind = 'ebill') IS TRUE, bool_or(s.kind = 'paper') IS TRUE "
                      "FROM invoice.places p LEFT JOIN invoice.stock s ON s.institution = p.institution "
                      "AND s.place_code = p.place_code WHERE p.institution = $1 "
                      "GROUP BY p.place_code, p.name ORDER BY p.place_code", 1, c->institution)))
        return rv;
    rows = json_array();
    for (i = 0; i < r->nrows; i++)
        json_array_append_new(rows, json_pack("{s:s, s:s, s:I, s:I, s:b, s:b}", "placeCode", hg_db_val(r, i, 0),
                              "name", hg_db_val(r, i, 1), "ebillRemaining", (json_int_t)col64(r, i, 2),
                              "paperRemaining", (json_int_t)col64(r, i, 3),
                              /* low only for a kind the billing point holds or held (InvoiceStockLow) */
                              "ebillLow", hg_db_val(r, i, 4)[0] == 't' && col64(r, i, 2) < invoice_stock_low("ebill"),
                              "paperLow", hg_db_val(r, i, 5)[0] == 't' && col64(r, i, 3) < invoice_stock_low("paper")));
    return hg_call_answer(c, 200, json_pack("{s:o}", "places", rows));
}

static const hg_field_t PLACE_SCHEMA[] = {
    { .name = "placeCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .pattern = PLACE_PATTERN },
    { .name = "name", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 100 },
    HG_FIELDS_END_CLOSED
};

/* POST /invoice/staff/v1/places {"placeCode","name"} — create a billing point, or rename it */
static apr_status_t route_place_save(hg_call_t *c)
{
    invoice_ctx_t *x = invoice_call_ctx(c);
    hg_db_result_t *r;
    apr_status_t rv;
    if ((rv = hg_json_validate(c->pool, c->json, PLACE_SCHEMA, &c->err)))
        return rv;
    if ((rv = ensure_institution(c, x))
        || (rv = hg_db_q(c->db, &r, "INSERT INTO invoice.places (institution, place_code, name) VALUES ($1, $2, $3) "
                         "ON CONFLICT (institution, place_code) DO UPDATE SET name = EXCLUDED.name "
                         "RETURNING xmax = 0", 3, c->institution, hg_json_gets(c->json, "placeCode", NULL),
                         hg_json_gets(c->json, "name", NULL))))
        return rv;
    return hg_call_answer(c, hg_db_val(r, 0, 0)[0] == 't' ? 201 : 200, json_pack("{s:s, s:s}", "placeCode",
                          hg_json_gets(c->json, "placeCode", NULL), "name", hg_json_gets(c->json, "name", NULL)));
}

static const hg_field_t APPLY_SCHEMA[] = {
    { .name = "kind", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .enum_values = STOCK_KINDS },
    { .name = "billBatchCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .pattern = "[0-9]{8}" },
    { .name = "startNo", .type = HG_JT_INTEGER, .flags = HG_F_REQUIRED | HG_F_MIN | HG_F_MAX, .min = 1,
      .max = BILL_NO_MAX },
    { .name = "endNo", .type = HG_JT_INTEGER, .flags = HG_F_REQUIRED | HG_F_MIN | HG_F_MAX, .min = 1,
      .max = BILL_NO_MAX },
    { .name = "placeCode", .type = HG_JT_STRING, .pattern = PLACE_PATTERN },
    { .name = "placeName", .type = HG_JT_STRING, .max_len = 100 },
    HG_FIELDS_END_CLOSED
};

/* POST /invoice/staff/v1/stock/apply — a range received from finance (申领入库), by default into the
 * store room POOL; a range overlapping any stored range of the same bill code is refused */
static apr_status_t route_stock_apply(hg_call_t *c)
{
    invoice_ctx_t *x = invoice_call_ctx(c);
    const char *kind, *batch, *place, *name;
    apr_int64_t start, end, id;
    hg_db_result_t *r;
    json_t *row;
    apr_status_t rv;

    if ((rv = hg_json_validate(c->pool, c->json, APPLY_SCHEMA, &c->err)))
        return rv;
    kind = hg_json_gets(c->json, "kind", NULL);
    batch = hg_json_gets(c->json, "billBatchCode", NULL);
    hg_json_geti(c->json, &start, "startNo", NULL);
    hg_json_geti(c->json, &end, "endNo", NULL);
    place = hg_json_opt(c->json, "placeCode");
    name = hg_json_opt(c->json, "placeName");
    if (start > end)
        return hg_call_fail(c, "HG_FIELD_RANGE", "endNo", "endNo must not be below startNo");
    if (!place)
        place = POOL_PLACE;
    if (!name && !strcmp(place, POOL_PLACE))
        name = POOL_PLACE_NAME;
    if ((rv = hg_db_begin(c->db)))
        return rv;
    /* two applies of one bill code serialise here, so the overlap check cannot race */
    if ((rv = hg_db_q(c->db, NULL, "SELECT pg_advisory_xact_lock(hashtext('invoice.stock'), hashtext($1))", 1, batch))
        || (rv = ensure_place(c, x, place, name)))
        goto rollback;
    /* bill numbers are unique per bill code everywhere (bills' UNIQUE), so look at every institution */
    if ((rv = hg_db_q(c->db, &r, "SELECT start_no, end_no FROM invoice.stock WHERE bill_batch_code = $1 "
                      "AND start_no <= $3::bigint AND end_no >= $2::bigint ORDER BY start_no LIMIT 1", 3, batch,
                      i64s(c->pool, start), i64s(c->pool, end))))
        goto rollback;
    if (r->nrows) {
        hg_call_fail(c, "HG_INVOICE_STOCK_OVERLAP", "startNo", apr_psprintf(c->pool, "%s %" APR_INT64_T_FMT "-%"
                     APR_INT64_T_FMT " overlaps the stored range %s-%s", batch, start, end, hg_db_val(r, 0, 0),
                     hg_db_val(r, 0, 1)));
        rv = HG_ECONFLICT;
        goto rollback;
    }
    if ((rv = hg_db_q(c->db, &r, "INSERT INTO invoice.stock (institution, place_code, kind, bill_batch_code, "
                      "start_no, end_no, next_no) VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint, $5::bigint) "
                      "RETURNING id", 6, c->institution, place, kind, batch, i64s(c->pool, start),
                      i64s(c->pool, end))))
        goto rollback;
    id = col64(r, 0, 0);
    if ((rv = hg_db_q(c->db, NULL, "INSERT INTO invoice.stock_log (institution, action, kind, bill_batch_code, "
                      "start_no, end_no, to_place, stock_id, operator) VALUES ($1, 'apply', $2, $3, $4::bigint, "
                      "$5::bigint, $6, $7::bigint, $8)", 8, c->institution, kind, batch, i64s(c->pool, start),
                      i64s(c->pool, end), place, i64s(c->pool, id), c->staff_user))
        || (rv = hg_db_commit(c->db)))
        goto rollback;
    if ((rv = stock_by_id(c, id, &row)))
        return rv;
    return hg_call_answer(c, 201, row);
rollback:
    hg_db_rollback(c->db);
    return rv;
}

static const hg_field_t WITHDRAW_SCHEMA[] = {
    { .name = "stockId", .type = HG_JT_INTEGER, .flags = HG_F_REQUIRED | HG_F_MIN, .min = 1 },
    { .name = "reason", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .min_len = 1, .max_len = 200 },
    HG_FIELDS_END_CLOSED
};

/* POST /invoice/staff/v1/stock/withdraw {"stockId","reason"} — 撤销入库: a range applied by mistake (a
 * typo in its numbers could be issued from at once) goes, with its apply record, as long as it is
 * as it was applied: no number taken, nothing distributed from it (that moves its start or its
 * place, and logs it).  The call is journalled (who, which range, why).  The row lock waits for an
 * issuance holding it */
static apr_status_t route_stock_withdraw(hg_call_t *c)
{
    hg_db_result_t *r;
    apr_int64_t id;
    apr_status_t rv;

    if ((rv = hg_json_validate(c->pool, c->json, WITHDRAW_SCHEMA, &c->err)))
        return rv;
    hg_json_geti(c->json, &id, "stockId", NULL);
    if ((rv = hg_db_begin(c->db)))
        return rv;
    /* the lock first: the check below then reads what an issuance or distribution that held the
     * row committed (in one statement it would read the log in the snapshot from before the wait) */
    if ((rv = hg_db_q(c->db, &r, "SELECT 1 FROM invoice.stock WHERE id = $1::bigint AND institution = $2 FOR UPDATE",
                      2, i64s(c->pool, id), c->institution)))
        goto rollback;
    if (r->nrows && (rv = hg_db_q(c->db, &r, "SELECT s.next_no = s.start_no AND l.id IS NOT NULL "
                      "  AND NOT EXISTS (SELECT 1 FROM invoice.stock_log o WHERE o.stock_id = s.id AND o.id <> l.id), "
                      "  s.kind, s.bill_batch_code, s.start_no, s.end_no, s.place_code, l.id "
                      "FROM invoice.stock s LEFT JOIN invoice.stock_log l ON l.stock_id = s.id AND l.action = 'apply' "
                      "  AND l.start_no = s.start_no AND l.end_no = s.end_no "
                      "WHERE s.id = $1::bigint AND s.institution = $2", 2, i64s(c->pool, id), c->institution)))
        goto rollback;
    if (!r->nrows) {
        hg_db_rollback(c->db);
        return hg_call_fail(c, "HG_NOT_FOUND", "stockId", "no such stock range");
    }
    if (hg_db_val(r, 0, 0)[0] != 't') {
        hg_db_rollback(c->db);
        return hg_call_fail(c, "HG_INVOICE_STOCK_IN_USE", "stockId", apr_psprintf(c->pool, "%s %s-%s has been "
                            "issued from or distributed (or did not come in by apply): it stays", hg_db_val(r, 0, 2),
                            hg_db_val(r, 0, 3), hg_db_val(r, 0, 4)));
    }
    if ((rv = hg_db_q(c->db, NULL, "DELETE FROM invoice.stock_log WHERE id = $1::bigint", 1, hg_db_val(r, 0, 6)))
        || (rv = hg_db_q(c->db, NULL, "DELETE FROM invoice.stock WHERE id = $1::bigint", 1, i64s(c->pool, id)))
        || (rv = hg_db_commit(c->db)))
        goto rollback;
    return hg_call_answer(c, 200, json_pack("{s:I, s:s, s:s, s:I, s:I, s:s, s:s, s:b}", "stockId", (json_int_t)id,
                          "kind", hg_db_val(r, 0, 1), "billBatchCode", hg_db_val(r, 0, 2),
                          "startNo", (json_int_t)col64(r, 0, 3), "endNo", (json_int_t)col64(r, 0, 4),
                          "placeCode", hg_db_val(r, 0, 5), "reason", hg_json_gets(c->json, "reason", NULL),
                          "withdrawn", 1));
rollback:
    hg_db_rollback(c->db);
    return rv;
}

static const hg_field_t DISTRIBUTE_SCHEMA[] = {
    { .name = "stockId", .type = HG_JT_INTEGER, .flags = HG_F_REQUIRED | HG_F_MIN, .min = 1 },
    { .name = "count", .type = HG_JT_INTEGER, .flags = HG_F_REQUIRED | HG_F_MIN | HG_F_MAX, .min = 1,
      .max = BILL_NO_MAX },
    { .name = "placeCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .pattern = PLACE_PATTERN },
    { .name = "placeName", .type = HG_JT_STRING, .max_len = 100 },
    HG_FIELDS_END_CLOSED
};

/* POST /invoice/staff/v1/stock/distribute — the next `count` unused numbers of a range go to a
 * billing point (分发), in order, so paper bundles leave the store room lowest number first.
 * With the source range [s, e] and next unused k, the place gets [k, k+n-1]; the source row keeps
 * what is left, [k+n, e], so its id stays valid for the next distribution (and a window issuing
 * from it keeps going); its used part [s, k-1] stays on record as its own, used-up row. */
static apr_status_t route_stock_distribute(hg_call_t *c)
{
    invoice_ctx_t *x = invoice_call_ctx(c);
    const char *place, *from, *kind, *batch;
    apr_int64_t id, n, s, e, k, moved_id;
    hg_db_result_t *r;
    json_t *moved, *src;
    apr_status_t rv;

    if ((rv = hg_json_validate(c->pool, c->json, DISTRIBUTE_SCHEMA, &c->err)))
        return rv;
    hg_json_geti(c->json, &id, "stockId", NULL);
    hg_json_geti(c->json, &n, "count", NULL);
    place = hg_json_gets(c->json, "placeCode", NULL);
    if ((rv = hg_db_begin(c->db)))
        return rv;
    /* the row lock also waits for a window taking a number from this range right now */
    if ((rv = hg_db_q(c->db, &r, "SELECT place_code, kind, bill_batch_code, start_no, end_no, next_no, "
                      "created_at FROM invoice.stock WHERE id = $1::bigint AND institution = $2 FOR UPDATE", 2,
                      i64s(c->pool, id), c->institution)))
        goto rollback;
    if (!r->nrows) {
        hg_call_fail(c, "HG_NOT_FOUND", "stockId", "no such stock range");
        rv = HG_ENOTFOUND;
        goto rollback;
    }
    from = hg_db_val(r, 0, 0);
    kind = hg_db_val(r, 0, 1);
    batch = hg_db_val(r, 0, 2);
    s = col64(r, 0, 3);
    e = col64(r, 0, 4);
    k = col64(r, 0, 5);
    if (!strcmp(from, place)) {
        hg_call_fail(c, "HG_CONFLICT", "placeCode", "the range is already at that billing point");
        rv = HG_ECONFLICT;
        goto rollback;
    }
    if (n > e - k + 1) {
        hg_call_fail(c, !strcmp(kind, "ebill") ? "HG_INVOICE_NO_STOCK" : "HG_INVOICE_NO_PAPER_STOCK", "count",
                     apr_psprintf(c->pool, "the range has %" APR_INT64_T_FMT " unused numbers left", e - k + 1));
        rv = HG_ECONFLICT;
        goto rollback;
    }
    if ((rv = ensure_place(c, x, place, hg_json_opt(c->json, "placeName"))))
        goto rollback;
    if (k + n <= e) {
        /* numbers remain: the source row becomes the rest, the moved and used parts are new rows */
        if ((rv = hg_db_q(c->db, NULL, "UPDATE invoice.stock SET start_no = $2::bigint, next_no = $2::bigint "
                          "WHERE id = $1::bigint", 2, i64s(c->pool, id), i64s(c->pool, k + n))))
            goto rollback;
        if (k > s && (rv = hg_db_q(c->db, NULL, "INSERT INTO invoice.stock (institution, place_code, kind, "
                                   "bill_batch_code, start_no, end_no, next_no, created_at) VALUES ($1, $2, $3, $4, "
                                   "$5::bigint, $6::bigint, $6::bigint + 1, $7::timestamptz)", 7, c->institution,
                                   from, kind, batch, i64s(c->pool, s), i64s(c->pool, k - 1), hg_db_val(r, 0, 6))))
            goto rollback;
        if ((rv = hg_db_q(c->db, &r, "INSERT INTO invoice.stock (institution, place_code, kind, bill_batch_code, "
                          "start_no, end_no, next_no) VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint, $5::bigint) "
                          "RETURNING id", 6, c->institution, place, kind, batch, i64s(c->pool, k),
                          i64s(c->pool, k + n - 1))))
            goto rollback;
        moved_id = col64(r, 0, 0);
    }
    else if (k > s) {
        /* all the rest moves: the source keeps its used part */
        if ((rv = hg_db_q(c->db, NULL, "UPDATE invoice.stock SET end_no = $2::bigint WHERE id = $1::bigint", 2,
                          i64s(c->pool, id), i64s(c->pool, k - 1)))
            || (rv = hg_db_q(c->db, &r, "INSERT INTO invoice.stock (institution, place_code, kind, bill_batch_code, "
                             "start_no, end_no, next_no) VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint, $5::bigint) "
                             "RETURNING id", 6, c->institution, place, kind, batch, i64s(c->pool, k),
                             i64s(c->pool, e))))
            goto rollback;
        moved_id = col64(r, 0, 0);
    }
    else {
        /* an untouched range moves whole */
        if ((rv = hg_db_q(c->db, NULL, "UPDATE invoice.stock SET place_code = $2 WHERE id = $1::bigint", 2,
                          i64s(c->pool, id), place)))
            goto rollback;
        moved_id = id;
    }
    if ((rv = hg_db_q(c->db, NULL, "INSERT INTO invoice.stock_log (institution, action, kind, bill_batch_code, "
                      "start_no, end_no, from_place, to_place, stock_id, operator) VALUES ($1, 'distribute', $2, $3, "
                      "$4::bigint, $5::bigint, $6, $7, $8::bigint, $9)", 9, c->institution, kind, batch,
                      i64s(c->pool, k), i64s(c->pool, k + n - 1), from, place, i64s(c->pool, moved_id),
                      c->staff_user))
        || (rv = hg_db_commit(c->db)))
        goto rollback;
    if ((rv = stock_by_id(c, moved_id, &moved)) || (rv = stock_by_id(c, id, &src)))
        return rv;
    json_object_set_new(moved, "count", json_integer((json_int_t)n));
    json_object_set_new(moved, "source", moved_id == id ? json_null() : src);
    if (moved_id == id)
        json_decref(src);
    return hg_call_answer(c, 200, moved);
rollback:
    hg_db_rollback(c->db);
    return rv;
}

/* ---------------------------------------------------------------- staff issuance */

/* POST /invoice/staff/v1/bills/<service> — the HIS body, issued by a cashier at the console (手工开具) */
static apr_status_t route_issue(hg_call_t *c)
{
    invoice_ctx_t *x = invoice_call_ctx(c);
    invoice_kind_t kind;
    invoice_bill_t *b;
    const char *url;
    int replayed;
    apr_status_t rv;

    if ((rv = invoice_kind_lookup(&kind, c->pool, c->path_rest, &c->err)))
        return rv;
    if (!x->seal_key)
        return hg_call_fail(c, "HG_INTERNAL", NULL, "InvoiceSealKey is not configured");
    /* the cashier at the console is the bill's payee and author, whatever the form says: the
     * summary by payee (收费员汇总表) must add up to what each cashier took in */
    if (json_is_object(c->json)) {
        json_object_set_new(c->json, "payee", json_string(invoice_staff_operator(c)));
        json_object_set_new(c->json, "author", json_string(invoice_staff_operator(c)));
    }
    if ((rv = invoice_issue(x, kind, c->json, &b, &replayed)))
        return invoice_call_failed(c, x, rv);
    /* a replay may be the HIS's bill: only a bill issued by this call is ours to sign */
    /* (no connection came back after a wait in a line of issuance: c->db is NULL) */
    if (!replayed && (!c->db || (rv = hg_db_q(c->db, NULL, "UPDATE invoice.bills SET issued_by = $2 WHERE id = $1::bigint", 2,
                                   i64s(c->pool, b->id), c->staff_user))))
        /* the bill is committed and valid: answer it, the operator is only missing from the list */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, c->r, "HG10010: bill %s %s issued by %s, operator not "
                      "recorded: %s", b->bill_batch_code, b->bill_no, c->staff_user,
                      c->db && c->db->errmsg ? c->db->errmsg : "no database connection");
    url = invoice_h5_url(x, b);
    return hg_call_answer(c, 200, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}",
        "busNo", b->bus_no, "billBatchCode", b->bill_batch_code, "billNo", b->bill_no, "random", b->random,
        "createTime", b->create_time, "billQRCode", invoice_qr_png_b64(c, url), "pictureUrl", url, "pictureNetUrl", url,
        "state", b->state, "isScarlet", b->is_scarlet ? "1" : "0", "totalAmt", hg_money_format(c->pool, b->total_fen),
        "replayed", replayed, "placeCode", b->place_code));
}

/* ---------------------------------------------------------------- the daily report */

/* ps.place_code: the billing point whose paper stock a paper exchange p took its number from (a
 * used number stays in the range of the point that used it when the rest moves on) */
#define PAPER_PLACE \
    " LEFT JOIN LATERAL (SELECT x.place_code FROM invoice.stock x WHERE x.institution = $1 AND x.kind = 'paper'" \
    "  AND x.bill_batch_code = p.p_bill_batch_code AND p.p_bill_no ~ '^[0-9]{1,18}$'" \
    "  AND x.start_no <= (CASE WHEN p.p_bill_no ~ '^[0-9]{1,18}$' THEN p.p_bill_no::bigint END)" \
    "  AND x.end_no >= (CASE WHEN p.p_bill_no ~ '^[0-9]{1,18}$' THEN p.p_bill_no::bigint END) LIMIT 1) ps ON true"

/* one row per billing point and bill kind; every event of the day counted where it happened:
 * blue and red bills at their own point, a flushed original at the original's point, a paper
 * exchange or void at the point whose paper stock the number came from (the window that printed
 * it), blank voids at their point with no kind; uploads of the day's bills by outbox state */
static const char REPORT_SQL[] =
    "WITH w AS (SELECT $2::date::timestamptz AS lo, ($3::date + 1)::timestamptz AS hi), "
    "ev AS ("
    " SELECT b.place_code AS place, b.kind AS kind,"
    "  CASE WHEN b.is_scarlet THEN 0 ELSE 1 END AS bills, CASE WHEN b.is_scarlet THEN 0 ELSE b.total_fen END AS amt,"
    "  CASE WHEN b.is_scarlet THEN 1 ELSE 0 END AS reds, CASE WHEN b.is_scarlet THEN b.total_fen ELSE 0 END AS red_amt,"
    "  0 AS flushed, 0 AS papers, 0 AS paper_voids, 0 AS blank_voids,"
    "  CASE WHEN o.state = 'done' THEN 1 ELSE 0 END AS up_done,"
    "  CASE WHEN o.state IS NULL OR o.state IN ('pending', 'inflight') THEN 1 ELSE 0 END AS up_pending,"
    "  CASE WHEN o.state = 'dead' THEN 1 ELSE 0 END AS up_dead"
    " FROM w JOIN invoice.bills b ON b.institution = $1 AND b.issued_at >= w.lo AND b.issued_at < w.hi"
    " LEFT JOIN hg.outbox o ON o.topic = 'invoice.upload' AND o.business_key = 'upload:' || b.id"
    " UNION ALL"
    " SELECT ob.place_code, ob.kind, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0"
    " FROM w JOIN invoice.bills rb ON rb.institution = $1 AND rb.is_scarlet AND rb.issued_at >= w.lo"
    "  AND rb.issued_at < w.hi JOIN invoice.bills ob ON ob.id = rb.related_id"
    " UNION ALL"
    " SELECT coalesce(ps.place_code, b.place_code), b.kind, 0, 0, 0, 0, 0,"
    "  CASE WHEN p.created_at >= w.lo AND p.created_at < w.hi THEN 1 ELSE 0 END,"
    "  CASE WHEN p.voided_at >= w.lo AND p.voided_at < w.hi THEN 1 ELSE 0 END, 0, 0, 0, 0"
    " FROM w JOIN invoice.papers p ON (p.created_at >= w.lo AND p.created_at < w.hi)"
    "  OR (p.voided_at >= w.lo AND p.voided_at < w.hi)"
    " JOIN invoice.bills b ON b.id = p.bill_id AND b.institution = $1"
    PAPER_PLACE
    " UNION ALL"
    " SELECT v.place_code, '', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0"
    " FROM w JOIN invoice.blank_voids v ON v.institution = $1 AND v.created_at >= w.lo AND v.created_at < w.hi"
    ") "
    "SELECT e.place, coalesce(pl.name, ''), e.kind, sum(e.bills)::bigint, sum(e.amt)::bigint, sum(e.reds)::bigint,"
    " sum(e.red_amt)::bigint, sum(e.flushed)::bigint, sum(e.papers)::bigint, sum(e.paper_voids)::bigint,"
    " sum(e.blank_voids)::bigint, sum(e.up_done)::bigint, sum(e.up_pending)::bigint, sum(e.up_dead)::bigint "
    "FROM ev e LEFT JOIN invoice.places pl ON pl.institution = $1 AND pl.place_code = e.place "
    "GROUP BY e.place, pl.name, e.kind ORDER BY e.place, e.kind";

/* counters from column 3 on, in REPORT_SQL order; money columns are fen */
static const struct { const char *key, *head; int money; } REPORT_COLS[] = {
    { "bills", "开票张数", 0 }, { "amount", "开票金额", 1 }, { "redBills", "红票张数", 0 },
    { "redAmount", "红票金额", 1 }, { "flushed", "被冲红原票", 0 }, { "paperExchanges", "换开纸质", 0 },
    { "paperVoids", "作废纸质", 0 }, { "blankVoids", "作废空白票", 0 }, { "uploadsDone", "上传成功", 0 },
    { "uploadsPending", "待上传", 0 }, { "uploadsDead", "上传失败", 0 }
};
#define REPORT_NCOLS (sizeof(REPORT_COLS) / sizeof(REPORT_COLS[0]))

/* one CSV cell: quoted when needed; text that a spreadsheet would run as a formula is defused */
static const char *csv_cell(apr_pool_t *p, const char *s, int text)
{
    const char *q;
    char *out, *o;
    if (!s)
        return "";
    if (text && s[0] && strchr("=+-@\t\r", s[0]))
        s = apr_pstrcat(p, "'", s, NULL);
    if (!strpbrk(s, ",\"\r\n"))
        return s;
    o = out = apr_palloc(p, strlen(s) * 2 + 3);
    *o++ = '"';
    for (q = s; *q; q++) {
        if (*q == '"')
            *o++ = '"';
        *o++ = *q;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

/* one CSV line; text[i]: cell i is free text to defuse (NULL: none is) */
static void csv_line(apr_array_header_t *out, apr_pool_t *p, const char *const *cells, int n, const int *text)
{
    int i;
    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(out, const char *) = csv_cell(p, cells[i], text && text[i]);
        APR_ARRAY_PUSH(out, const char *) = i + 1 < n ? "," : "\r\n";
    }
}

/* the last line of a CSV cut at max rows: said in the file, which has no "truncated" flag to read */
static void csv_cut(apr_array_header_t *out, apr_pool_t *p, int max, int n)
{
    const char **cells = apr_pcalloc(p, n * sizeof(*cells));
    int i;
    cells[0] = apr_psprintf(p, "（仅列出前 %d 条，请缩短期间或选择开票点）", max);
    for (i = 1; i < n; i++)
        cells[i] = "";
    csv_line(out, p, cells, n, NULL);
}

/* a CSV download under way: the BOM Excel needs to read UTF-8, then the header line; room for
 * about `rows` lines of n cells */
static apr_array_header_t *csv_begin(apr_pool_t *p, int rows, const char *const *heads, int n)
{
    apr_array_header_t *csv = apr_array_make(p, (rows + 2) * n * 2 + 1, sizeof(const char *));
    APR_ARRAY_PUSH(csv, const char *) = "\xEF\xBB\xBF";
    csv_line(csv, p, heads, n, NULL);      /* our own headers: nothing to defuse */
    return csv;
}

/* the filters of every period report: days from and to, a billing point, JSON or CSV */
#define PERIOD_FIELDS \
    { .name = "from", .type = HG_JT_DATE, .date_format = HG_DATE_DATE }, \
    { .name = "to", .type = HG_JT_DATE, .date_format = HG_DATE_DATE }, \
    { .name = "placeCode", .type = HG_JT_STRING, .pattern = PLACE_PATTERN }, \
    { .name = "format", .type = HG_JT_STRING, .enum_values = (const char *const[]){ "json", "csv", NULL } }
#define KIND_FIELD \
    { .name = "kind", .type = HG_JT_STRING, .enum_values = (const char *const[]){ "ebill", "paper", NULL } }

/* from and to of a period query: days, inclusive, today for one left out, at most 366 days */
static apr_status_t query_period(hg_call_t *c, json_t *q, const char **from, const char **to)
{
    hg_db_result_t *r;
    apr_status_t rv;
    int days;
    if ((rv = hg_db_q(c->db, &r, "SELECT to_char(coalesce($1::date, $2::date, current_date), 'YYYY-MM-DD'), "
                      "to_char(coalesce($2::date, $1::date, current_date), 'YYYY-MM-DD'), "
                      "coalesce($2::date, $1::date, current_date) - coalesce($1::date, $2::date, current_date)",
                      2, hg_json_opt(q, "from"), hg_json_opt(q, "to"))))
        return rv;
    *from = hg_db_val(r, 0, 0);
    *to = hg_db_val(r, 0, 1);
    days = atoi(hg_db_val(r, 0, 2));
    if (days < 0)
        return hg_call_fail(c, "HG_FIELD_RANGE", "to", "to must not be before from");
    if (days > 365)
        return hg_call_fail(c, "HG_FIELD_RANGE", "to", "at most 366 days in one report");
    return APR_SUCCESS;
}

/* a period report's query: its fields checked, the period, and the format asked for */
static apr_status_t period_query(hg_call_t *c, const hg_field_t *schema, json_t **q, const char **from,
                                 const char **to, const char **format)
{
    apr_status_t rv;
    if ((rv = hg_call_query(c, schema, q)) || (rv = query_period(c, *q, from, to)))
        return rv;
    *format = hg_json_opt(*q, "format");
    return APR_SUCCESS;
}

/* a CSV answer (UTF-8 with the BOM Excel needs) under a file name */
static apr_status_t csv_answer(hg_call_t *c, apr_array_header_t *csv, const char *filename)
{
    c->out_body = apr_array_pstrcat(c->pool, csv, 0);
    c->out_len = strlen(c->out_body);
    c->out_type = "text/csv; charset=utf-8";
    apr_table_setn(c->r->headers_out, "Content-Disposition",
                   apr_psprintf(c->pool, "attachment; filename=\"%s\"", filename));
    return APR_SUCCESS;
}

static const hg_field_t REPORT_QUERY[] = {
    { .name = "date", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    { .name = "from", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    { .name = "to", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    { .name = "format", .type = HG_JT_STRING, .enum_values = (const char *const[]){ "json", "csv", NULL } },
    HG_FIELDS_END_CLOSED
};

/* GET /invoice/staff/v1/reports/daily?date=yyyy-MM-dd[&format=csv] — the day (日报) per billing
 * point and bill kind, in the database's time zone like createTime; today when no date.  With
 * from=&to= instead of date, the same over a period (开票汇总表) */
static apr_status_t route_report_daily(hg_call_t *c)
{
    enum { NFIX = 4 };
    json_t *q, *rows, *totals, *row;
    hg_db_result_t *r;
    const char *date, *format, *from, *to, *when;
    apr_int64_t sum[REPORT_NCOLS] = { 0 };
    apr_array_header_t *csv = NULL;
    const char *cells[NFIX + REPORT_NCOLS];
    int text[NFIX + REPORT_NCOLS] = { 0, 1, 1, 1 };
    apr_status_t rv;
    apr_size_t j;
    int i;

    if ((rv = hg_call_query(c, REPORT_QUERY, &q)))
        return rv;
    format = hg_json_opt(q, "format");
    /* one day (日报), or a period (开票汇总表: from and to, days inclusive, at most 366) */
    if (hg_json_opt(q, "date") && (hg_json_opt(q, "from") || hg_json_opt(q, "to")))
        return hg_call_fail(c, "HG_FIELD_UNKNOWN", hg_json_opt(q, "from") ? "from" : "to",
                            "either date (one day) or from and to (a period)");
    if (hg_json_opt(q, "from") || hg_json_opt(q, "to")) {
        if ((rv = query_period(c, q, &from, &to)))
            return rv;
        date = NULL;
    }
    else {
        if (!(date = hg_json_opt(q, "date"))) {
            if ((rv = hg_db_q(c->db, &r, "SELECT to_char(current_date, 'YYYY-MM-DD')", 0)))
                return rv;
            date = hg_db_val(r, 0, 0);
        }
        from = to = date;
    }
    if ((rv = hg_call_report_begin(c)))
        return rv;
    if ((rv = hg_db_q(c->db, &r, REPORT_SQL, 3, c->institution, from, to)))
        return rv;
    when = date ? date : apr_pstrcat(c->pool, from, "~", to, NULL);
    if (format && !strcmp(format, "csv")) {
        cells[0] = date ? "日期" : "期间"; cells[1] = "开票点编码"; cells[2] = "开票点名称"; cells[3] = "票据类别";
        for (j = 0; j < REPORT_NCOLS; j++)
            cells[NFIX + j] = REPORT_COLS[j].head;
        csv = csv_begin(c->pool, r->nrows, cells, NFIX + REPORT_NCOLS);
    }
    rows = json_array();
    for (i = 0; i < r->nrows; i++) {
        row = json_pack("{s:s, s:s, s:s, s:s}", "placeCode", hg_db_val(r, i, 0), "placeName", hg_db_val(r, i, 1),
                        "kind", hg_db_val(r, i, 2), "kindLabel", kind_label(hg_db_val(r, i, 2)));
        cells[0] = when;
        cells[1] = hg_db_val(r, i, 0);
        cells[2] = hg_db_val(r, i, 1);
        cells[3] = kind_label(hg_db_val(r, i, 2));
        for (j = 0; j < REPORT_NCOLS; j++) {
            apr_int64_t v = col64(r, i, 3 + (int)j);
            sum[j] += v;
            cells[NFIX + j] = REPORT_COLS[j].money ? hg_money_format(c->pool, v) : i64s(c->pool, v);
            json_object_set_new(row, REPORT_COLS[j].key, REPORT_COLS[j].money
                                ? json_string(cells[NFIX + j]) : json_integer((json_int_t)v));
        }
        json_array_append_new(rows, row);
        if (csv)
            csv_line(csv, c->pool, cells, NFIX + REPORT_NCOLS, text);
    }
    totals = json_object();
    cells[0] = when; cells[1] = "合计"; cells[2] = ""; cells[3] = "";
    for (j = 0; j < REPORT_NCOLS; j++) {
        cells[NFIX + j] = REPORT_COLS[j].money ? hg_money_format(c->pool, sum[j]) : i64s(c->pool, sum[j]);
        json_object_set_new(totals, REPORT_COLS[j].key, REPORT_COLS[j].money
                            ? json_string(cells[NFIX + j]) : json_integer((json_int_t)sum[j]));
    }
    if (csv) {
        json_decref(rows);
        json_decref(totals);
        csv_line(csv, c->pool, cells, NFIX + REPORT_NCOLS, text);
        return csv_answer(c, csv, date ? apr_psprintf(c->pool, "invoice-daily-%s.csv", date)
                                       : apr_psprintf(c->pool, "invoice-summary-%s-%s.csv", from, to));
    }
    return hg_call_answer(c, 200, json_pack("{s:s?, s:s, s:s, s:o, s:o}", "date", date, "from", from, "to", to,
                                            "rows", rows, "totals", totals));
}

/* ---------------------------------------------------------------- 票据领发情况: the stock log */

static const hg_field_t STOCK_LOG_QUERY[] = {
    PERIOD_FIELDS,
    KIND_FIELD,
    HG_FIELDS_END_CLOSED
};
#define STOCK_LOG_MAX 5000

/* GET /invoice/staff/v1/stock/log?from=&to=[&placeCode=][&kind=][&format=csv] — every range
 * received from finance (申领入库) or moved between billing points (分发) in the period, oldest
 * first, with who did it; a billing point's filter takes what it received and what it gave */
static apr_status_t route_stock_log(hg_call_t *c)
{
    json_t *q, *rows;
    hg_db_result_t *r;
    const char *from, *to, *format, *place;
    apr_array_header_t *csv = NULL;
    apr_int64_t applied = 0, distributed = 0;
    apr_status_t rv;
    int i, n;

    if ((rv = period_query(c, STOCK_LOG_QUERY, &q, &from, &to, &format)))
        return rv;
    place = hg_json_opt(q, "placeCode");
    if ((rv = hg_db_q(c->db, &r,
            "SELECT l.id, to_char(l.created_at, 'YYYY-MM-DD HH24:MI:SS'), l.action, l.kind, l.bill_batch_code, "
            "  l.start_no, l.end_no, l.end_no - l.start_no + 1, coalesce(l.from_place, ''), coalesce(fp.name, ''), "
            "  l.to_place, coalesce(tp.name, ''), l.operator "
            "FROM invoice.stock_log l "
            "LEFT JOIN invoice.places fp ON fp.institution = l.institution AND fp.place_code = l.from_place "
            "LEFT JOIN invoice.places tp ON tp.institution = l.institution AND tp.place_code = l.to_place "
            "WHERE l.institution = $1 AND l.created_at >= $2::date::timestamptz "
            "  AND l.created_at < ($3::date + 1)::timestamptz "
            "  AND ($4::text IS NULL OR l.from_place = $4 OR l.to_place = $4) AND ($5::text IS NULL OR l.kind = $5) "
            "ORDER BY l.id LIMIT $6::int", 6, c->institution, from, to, place, hg_json_opt(q, "kind"),
            apr_itoa(c->pool, STOCK_LOG_MAX + 1))))
        return rv;
    n = r->nrows > STOCK_LOG_MAX ? STOCK_LOG_MAX : r->nrows;
    if (format && !strcmp(format, "csv")) {
        csv = csv_begin(c->pool, n, (const char *const[]){ "时间", "操作", "票据种类", "票据代码", "起始号",
                        "终止号", "张数", "发出", "领入", "操作员" }, 10);
    }
    rows = json_array();
    for (i = 0; i < n; i++) {
        const char *action = hg_db_val(r, i, 2), *label = !strcmp(action, "apply") ? "申领入库" : "分发";
        const char *kind = !strcmp(hg_db_val(r, i, 3), "ebill") ? "电子" : "纸质";
        const char *fromp = *hg_db_val(r, i, 8) ? apr_pstrcat(c->pool, hg_db_val(r, i, 8), " ", hg_db_val(r, i, 9), NULL)
                                                : "财政";
        const char *top = apr_pstrcat(c->pool, hg_db_val(r, i, 10), " ", hg_db_val(r, i, 11), NULL);
        apr_int64_t count = col64(r, i, 7);
        *(!strcmp(action, "apply") ? &applied : &distributed) += count;
        json_array_append_new(rows, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s?, s:s, s:s, s:s, s:s}",
            "id", (json_int_t)col64(r, i, 0), "at", hg_db_val(r, i, 1), "action", action, "actionLabel", label,
            "kind", hg_db_val(r, i, 3), "kindLabel", kind, "billBatchCode", hg_db_val(r, i, 4),
            "startNo", (json_int_t)col64(r, i, 5), "endNo", (json_int_t)col64(r, i, 6), "count", (json_int_t)count,
            "fromPlace", *hg_db_val(r, i, 8) ? hg_db_val(r, i, 8) : NULL, "fromPlaceName", hg_db_val(r, i, 9),
            "toPlace", hg_db_val(r, i, 10), "toPlaceName", hg_db_val(r, i, 11), "operator", hg_db_val(r, i, 12)));
        if (csv)
            csv_line(csv, c->pool, (const char *const[]){ hg_db_val(r, i, 1), label, kind,
                     hg_db_val(r, i, 4), hg_db_val(r, i, 5), hg_db_val(r, i, 6), hg_db_val(r, i, 7), fromp, top,
                     hg_db_val(r, i, 12) }, 10, (const int[10]){ 0, 0, 0, 0, 0, 0, 0, 1, 1, 1 });
    }
    if (csv) {
        json_decref(rows);
        if (r->nrows > STOCK_LOG_MAX)
            csv_cut(csv, c->pool, STOCK_LOG_MAX, 10);
        return csv_answer(c, csv, apr_psprintf(c->pool, "invoice-stock-log-%s-%s.csv", from, to));
    }
    return hg_call_answer(c, 200, json_pack("{s:s, s:s, s:o, s:b, s:{s:I, s:I}}", "from", from, "to", to,
                                            "rows", rows, "truncated", r->nrows > STOCK_LOG_MAX, "totals",
                                            "applied", (json_int_t)applied, "distributed", (json_int_t)distributed));
}

/* ---------------------------------------------------------------- 票据领用存: the stock balance */

/* per billing point, kind and bill code: numbers held at the start of the period, received,
 * given to another point, used (e-bills issued, blue and red; papers printed), blank papers voided,
 * and held at its end.  Worked back from what the stock table holds now and the movements since
 * the period began, so only those are read (an opening balance never needs every bill ever
 * issued).  Ranges put in outside the console (the demo data) have no receipt: they show as
 * held from the start.  Movements: stock_log (received, given), bills, papers, blank voids. */
static const char STOCK_BALANCE_SQL[] =
    "WITH w AS (SELECT $2::date::timestamptz AS lo, ($3::date + 1)::timestamptz AS hi), "
    "now_left AS (SELECT place_code AS place, kind, bill_batch_code AS batch, sum(end_no - next_no + 1) AS n "
    "  FROM invoice.stock WHERE institution = $1 GROUP BY 1, 2, 3), "
    /* each source summed on its own (p: in the period, a: after it): a month of bills is read once,
     * not handed on row by row (3.9 s before for 520,000 bills, the most of it in the union) */
    "mv AS ("
    " SELECT l.to_place AS place, l.kind, l.bill_batch_code AS batch, 'in' AS what, "
    "   sum(l.end_no - l.start_no + 1) FILTER (WHERE l.created_at < w.hi) AS p, "
    "   sum(l.end_no - l.start_no + 1) FILTER (WHERE l.created_at >= w.hi) AS a "
    "   FROM w JOIN invoice.stock_log l ON l.institution = $1 AND l.created_at >= w.lo GROUP BY 1, 2, 3"
    " UNION ALL"
    " SELECT l.from_place, l.kind, l.bill_batch_code, 'out', "
    "   sum(l.end_no - l.start_no + 1) FILTER (WHERE l.created_at < w.hi), "
    "   sum(l.end_no - l.start_no + 1) FILTER (WHERE l.created_at >= w.hi) "
    "   FROM w JOIN invoice.stock_log l ON l.institution = $1 AND l.created_at >= w.lo AND l.from_place IS NOT NULL "
    "   GROUP BY 1, 2, 3"
    " UNION ALL"
    " SELECT b.place_code, 'ebill', b.bill_batch_code, 'used', count(*) FILTER (WHERE b.issued_at < w.hi), "
    "   count(*) FILTER (WHERE b.issued_at >= w.hi) "
    "   FROM w JOIN invoice.bills b ON b.institution = $1 AND b.issued_at >= w.lo GROUP BY 1, 3"
    " UNION ALL"
    " SELECT coalesce(ps.place_code, b.place_code), 'paper', p.p_bill_batch_code, 'used', "
    "   count(*) FILTER (WHERE p.created_at < w.hi), count(*) FILTER (WHERE p.created_at >= w.hi) "
    "   FROM w JOIN invoice.papers p ON p.created_at >= w.lo JOIN invoice.bills b ON b.id = p.bill_id "
    "   AND b.institution = $1" PAPER_PLACE " GROUP BY 1, 3"
    " UNION ALL"
    " SELECT v.place_code, 'paper', v.p_bill_batch_code, 'voided', count(*) FILTER (WHERE v.created_at < w.hi), "
    "   count(*) FILTER (WHERE v.created_at >= w.hi) "
    "   FROM w JOIN invoice.blank_voids v ON v.institution = $1 AND v.created_at >= w.lo GROUP BY 1, 3), "
    "agg AS (SELECT place, kind, batch, sum(p) FILTER (WHERE what = 'in') AS rin, "
    "   sum(p) FILTER (WHERE what = 'out') AS rout, sum(p) FILTER (WHERE what = 'used') AS used, "
    "   sum(p) FILTER (WHERE what = 'voided') AS voided, "
    /* after the period: what came in since counts against the closing, what went out for it */
    "   sum(CASE WHEN what = 'in' THEN -coalesce(a, 0) ELSE coalesce(a, 0) END) AS since "
    "   FROM mv GROUP BY 1, 2, 3), "
    "r AS (SELECT coalesce(a.place, l.place) AS place, coalesce(a.kind, l.kind) AS kind, "
    "   coalesce(a.batch, l.batch) AS batch, coalesce(a.rin, 0) AS rin, coalesce(a.rout, 0) AS rout, "
    "   coalesce(a.used, 0) AS used, coalesce(a.voided, 0) AS voided, "
    "   coalesce(l.n, 0) + coalesce(a.since, 0) AS closing "
    "   FROM agg a FULL JOIN now_left l ON l.place = a.place AND l.kind = a.kind AND l.batch = a.batch) "
    "SELECT r.place, coalesce(pl.name, ''), r.kind, r.batch, r.closing - r.rin + r.rout + r.used + r.voided, "
    "  r.rin, r.rout, r.used, r.voided, r.closing "
    "FROM r LEFT JOIN invoice.places pl ON pl.institution = $1 AND pl.place_code = r.place "
    "WHERE ($4::text IS NULL OR r.place = $4) AND ($5::text IS NULL OR r.kind = $5) "
    "ORDER BY r.place, r.kind, r.batch";

static const hg_field_t STOCK_BALANCE_QUERY[] = {
    PERIOD_FIELDS,
    KIND_FIELD,
    HG_FIELDS_END_CLOSED
};

/* GET /invoice/staff/v1/reports/stock?from=&to=[&placeCode=][&kind=][&format=csv] — 票据领用存 */
static apr_status_t route_report_stock(hg_call_t *c)
{
    static const char *const keys[] = { "opening", "received", "sent", "used", "voided", "closing" };
    json_t *q, *rows, *totals;
    hg_db_result_t *r;
    const char *from, *to, *format, *cells[3 + 6];
    apr_array_header_t *csv = NULL;
    apr_int64_t sum[6] = { 0 };
    apr_status_t rv;
    int i, j;

    if ((rv = period_query(c, STOCK_BALANCE_QUERY, &q, &from, &to, &format)))
        return rv;
    if ((rv = hg_call_report_begin(c)))
        return rv;
    if ((rv = hg_db_q(c->db, &r, STOCK_BALANCE_SQL, 5, c->institution, from, to, hg_json_opt(q, "placeCode"),
                      hg_json_opt(q, "kind"))))
        return rv;
    if (format && !strcmp(format, "csv")) {
        csv = csv_begin(c->pool, r->nrows, (const char *const[]){ "开票点", "票据种类", "票据代码", "期初结存",
                        "本期领入", "本期发出", "本期使用", "本期作废空白票", "期末结存" }, 9);
    }
    rows = json_array();
    for (i = 0; i < r->nrows; i++) {
        json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s}", "placeCode", hg_db_val(r, i, 0), "placeName",
                                hg_db_val(r, i, 1), "kind", hg_db_val(r, i, 2), "kindLabel",
                                !strcmp(hg_db_val(r, i, 2), "ebill") ? "电子" : "纸质", "billBatchCode",
                                hg_db_val(r, i, 3));
        cells[0] = apr_pstrcat(c->pool, hg_db_val(r, i, 0), " ", hg_db_val(r, i, 1), NULL);
        cells[1] = !strcmp(hg_db_val(r, i, 2), "ebill") ? "电子" : "纸质";
        cells[2] = hg_db_val(r, i, 3);
        for (j = 0; j < 6; j++) {
            apr_int64_t v = col64(r, i, 4 + j);
            sum[j] += v;
            cells[3 + j] = i64s(c->pool, v);
            json_object_set_new(row, keys[j], json_integer((json_int_t)v));
        }
        json_array_append_new(rows, row);
        if (csv)
            csv_line(csv, c->pool, cells, 9, (const int[9]){ 1 });
    }
    totals = json_object();
    cells[0] = "合计"; cells[1] = ""; cells[2] = "";
    for (j = 0; j < 6; j++) {
        cells[3 + j] = i64s(c->pool, sum[j]);
        json_object_set_new(totals, keys[j], json_integer((json_int_t)sum[j]));
    }
    if (csv) {
        json_decref(rows);
        json_decref(totals);
        csv_line(csv, c->pool, cells, 9, NULL);
        return csv_answer(c, csv, apr_psprintf(c->pool, "invoice-stock-%s-%s.csv", from, to));
    }
    return hg_call_answer(c, 200, json_pack("{s:s, s:s, s:o, s:o}", "from", from, "to", to, "rows", rows,
                                            "totals", totals));
}

/* ---------------------------------------------------------------- 票据作废情况: what was voided */

/* every void of the period, oldest first: paper bills voided (invalidPaper, or a re-exchange) at
 * the point whose paper stock they came from, blank paper numbers voided, and e-bills flushed by
 * a red bill (its payee is the operator who flushed).  The number is the voided one; related is
 * the e-bill a paper belonged to, or a flushed bill's red bill. */
static const char VOIDS_SQL[] =
    "WITH w AS (SELECT $2::date::timestamptz AS lo, ($3::date + 1)::timestamptz AS hi), v AS ("
    " SELECT p.voided_at AS at, 'paper' AS what, coalesce(ps.place_code, b.place_code) AS place, "
    "   p.p_bill_batch_code AS batch, p.p_bill_no AS no, b.bill_batch_code || ' ' || b.bill_no AS related, "
    "   p.void_operator AS operator, p.void_reason AS reason "
    "   FROM w JOIN invoice.papers p ON p.voided_at >= w.lo AND p.voided_at < w.hi "
    "   JOIN invoice.bills b ON b.id = p.bill_id AND b.institution = $1" PAPER_PLACE
    " UNION ALL"
    " SELECT v.created_at, 'blank', v.place_code, v.p_bill_batch_code, v.p_bill_no, NULL, v.operator, v.reason "
    "   FROM w JOIN invoice.blank_voids v ON v.institution = $1 AND v.created_at >= w.lo AND v.created_at < w.hi"
    " UNION ALL"
    " SELECT rb.issued_at, 'flush', ob.place_code, ob.bill_batch_code, ob.bill_no, "
    "   rb.bill_batch_code || ' ' || rb.bill_no, rb.payee, NULL "
    "   FROM w JOIN invoice.bills rb ON rb.institution = $1 AND rb.is_scarlet AND rb.issued_at >= w.lo "
    "   AND rb.issued_at < w.hi JOIN invoice.bills ob ON ob.id = rb.related_id) "
    "SELECT to_char(v.at, 'YYYY-MM-DD HH24:MI:SS'), v.what, v.place, coalesce(pl.name, ''), v.batch, v.no, "
    "  v.related, v.operator, v.reason "
    "FROM v LEFT JOIN invoice.places pl ON pl.institution = $1 AND pl.place_code = v.place "
    "WHERE ($4::text IS NULL OR v.place = $4) ORDER BY v.at, v.batch, v.no LIMIT $5::int";

static const hg_field_t VOIDS_QUERY[] = {
    PERIOD_FIELDS,
    HG_FIELDS_END_CLOSED
};
#define VOIDS_MAX 5000

/* GET /invoice/staff/v1/reports/voids?from=&to=[&placeCode=][&format=csv] — 票据作废情况 */
static apr_status_t route_report_voids(hg_call_t *c)
{
    json_t *q, *rows;
    hg_db_result_t *r;
    const char *from, *to, *format;
    apr_array_header_t *csv = NULL;
    apr_int64_t count[3] = { 0 };
    apr_status_t rv;
    int i, n;

    if ((rv = period_query(c, VOIDS_QUERY, &q, &from, &to, &format)))
        return rv;
    if ((rv = hg_call_report_begin(c)))
        return rv;
    if ((rv = hg_db_q(c->db, &r, VOIDS_SQL, 5, c->institution, from, to, hg_json_opt(q, "placeCode"),
                      apr_itoa(c->pool, VOIDS_MAX + 1))))
        return rv;
    n = r->nrows > VOIDS_MAX ? VOIDS_MAX : r->nrows;
    if (format && !strcmp(format, "csv")) {
        csv = csv_begin(c->pool, n, (const char *const[]){ "时间", "类别", "开票点", "票据代码", "票据号码",
                        "关联票据", "操作员", "原因" }, 8);
    }
    rows = json_array();
    for (i = 0; i < n; i++) {
        const char *what = hg_db_val(r, i, 1);
        int k = !strcmp(what, "paper") ? 0 : !strcmp(what, "blank") ? 1 : 2;
        static const char *const label[] = { "作废纸质票", "作废空白纸质票", "电子票据冲红" };
        count[k]++;
        json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?}",
            "at", hg_db_val(r, i, 0), "type", what, "typeLabel", label[k], "placeCode", hg_db_val(r, i, 2),
            "placeName", hg_db_val(r, i, 3), "billBatchCode", hg_db_val(r, i, 4), "billNo", hg_db_val(r, i, 5),
            "related", hg_db_val(r, i, 6), "operator", hg_db_val(r, i, 7), "reason", hg_db_val(r, i, 8)));
        if (csv)
            csv_line(csv, c->pool, (const char *const[]){ hg_db_val(r, i, 0), label[k],
                     apr_pstrcat(c->pool, hg_db_val(r, i, 2), " ", hg_db_val(r, i, 3), NULL), hg_db_val(r, i, 4),
                     hg_db_val(r, i, 5), hg_db_val(r, i, 6), hg_db_val(r, i, 7), hg_db_val(r, i, 8) }, 8,
                     (const int[8]){ 0, 0, 1, 0, 0, 0, 1, 1 });
    }
    if (csv) {
        json_decref(rows);
        if (r->nrows > VOIDS_MAX)
            csv_cut(csv, c->pool, VOIDS_MAX, 8);
        return csv_answer(c, csv, apr_psprintf(c->pool, "invoice-voids-%s-%s.csv", from, to));
    }
    return hg_call_answer(c, 200, json_pack("{s:s, s:s, s:o, s:b, s:{s:I, s:I, s:I}}", "from", from, "to", to,
                                            "rows", rows, "truncated", r->nrows > VOIDS_MAX, "totals",
                                            "paper", (json_int_t)count[0], "blank", (json_int_t)count[1],
                                            "flush", (json_int_t)count[2]));
}

/* ---------------------------------------------------------------- summaries by cashier, by channel */

/* bills of a period grouped by the bill's payee (收款人: 收费员汇总表), by payment channel
 * (缴款渠道汇总表) or by charge item (收费项目汇总), the totals in the same scan (the grouping set
 * ()).  Columns: key, is-total, blue bills, blue amount, red bills, red amount, blue and red bills
 * counted once each (a bill paid through two channels is in both channel rows: its first channel
 * counts it in the totals), the charge item's name, and of the row the deposit vouchers (住院预交金:
 * money taken, but a stay's inpatient bill settles it again, so finance must see them apart): blue
 * vouchers, their net amount (red ones negative), blue vouchers counted once.
 * Bills issued before payee and channels were kept fall under '' with their whole amount.  No
 * count(DISTINCT): it sorted every row (4 s instead of 1.1 s for 520,000 bills). */
#define SUMMARY_PERIOD "b.institution = $1 AND b.issued_at >= $2::date::timestamptz " \
    "AND b.issued_at < ($3::date + 1)::timestamptz AND ($4::text IS NULL OR b.place_code = $4)"
static const char SUMMARY_SQL_PAYEE[] =
    "SELECT coalesce(b.payee, ''), GROUPING(coalesce(b.payee, '')), "
    "  count(*) FILTER (WHERE NOT b.is_scarlet), coalesce(sum(b.total_fen) FILTER (WHERE NOT b.is_scarlet), 0), "
    "  count(*) FILTER (WHERE b.is_scarlet), coalesce(sum(b.total_fen) FILTER (WHERE b.is_scarlet), 0), "
    "  count(*) FILTER (WHERE NOT b.is_scarlet), count(*) FILTER (WHERE b.is_scarlet), '', "
    "  count(*) FILTER (WHERE NOT b.is_scarlet AND b.kind = 'prepayment'), "
    "  coalesce(sum(b.total_fen) FILTER (WHERE b.kind = 'prepayment'), 0), "
    "  count(*) FILTER (WHERE NOT b.is_scarlet AND b.kind = 'prepayment') "
    "FROM invoice.bills b WHERE " SUMMARY_PERIOD " "
    "GROUP BY ROLLUP (coalesce(b.payee, '')) ORDER BY 2, 1";
static const char SUMMARY_SQL_CHANNEL[] =
    "SELECT coalesce(ch.key, ''), GROUPING(coalesce(ch.key, '')), "
    "  count(*) FILTER (WHERE NOT b.is_scarlet), "
    "  coalesce(sum(coalesce(ch.value::bigint, b.total_fen)) FILTER (WHERE NOT b.is_scarlet), 0), "
    "  count(*) FILTER (WHERE b.is_scarlet), "
    "  coalesce(sum(coalesce(ch.value::bigint, b.total_fen)) FILTER (WHERE b.is_scarlet), 0), "
    "  count(*) FILTER (WHERE NOT b.is_scarlet AND coalesce(ch.n, 1) = 1), "
    "  count(*) FILTER (WHERE b.is_scarlet AND coalesce(ch.n, 1) = 1), '', "
    "  count(*) FILTER (WHERE NOT b.is_scarlet AND b.kind = 'prepayment'), "
    "  coalesce(sum(coalesce(ch.value::bigint, b.total_fen)) FILTER (WHERE b.kind = 'prepayment'), 0), "
    "  count(*) FILTER (WHERE NOT b.is_scarlet AND b.kind = 'prepayment' AND coalesce(ch.n, 1) = 1) "
    "FROM invoice.bills b LEFT JOIN LATERAL jsonb_each_text(b.channels) WITH ORDINALITY ch(key, value, n) ON true "
    "WHERE " SUMMARY_PERIOD " "
    "GROUP BY ROLLUP (coalesce(ch.key, '')) ORDER BY 2, 1";
static const char SUMMARY_SQL_CHARGE[] =
    "SELECT coalesce(ch.key, ''), GROUPING(coalesce(ch.key, '')), "
    "  count(*) FILTER (WHERE NOT b.is_scarlet), "
    "  coalesce(sum(coalesce((ch.value->>'fen')::bigint, b.total_fen)) FILTER (WHERE NOT b.is_scarlet), 0), "
    "  count(*) FILTER (WHERE b.is_scarlet), "
    "  coalesce(sum(coalesce((ch.value->>'fen')::bigint, b.total_fen)) FILTER (WHERE b.is_scarlet), 0), "
    "  count(*) FILTER (WHERE NOT b.is_scarlet AND coalesce(ch.n, 1) = 1), "
    "  count(*) FILTER (WHERE b.is_scarlet AND coalesce(ch.n, 1) = 1), coalesce(min(ch.value->>'name'), ''), 0, 0, 0 "
    "FROM invoice.bills b LEFT JOIN LATERAL jsonb_each(b.charges) WITH ORDINALITY ch(key, value, n) ON true "
    "WHERE " SUMMARY_PERIOD " AND b.kind <> 'prepayment' "     /* a deposit voucher charges nothing */
    "GROUP BY ROLLUP (coalesce(ch.key, '')) ORDER BY 2, 1";

static const hg_field_t SUMMARY_QUERY[] = {
    { .name = "by", .type = HG_JT_STRING,
      .enum_values = (const char *const[]){ "payee", "channel", "charge", NULL } },
    PERIOD_FIELDS,
    HG_FIELDS_END_CLOSED
};

/* the groupings of the summary: query value, SQL, key of a row's group, CSV head of that column */
static const struct {
    const char *by, *sql, *key, *head;
} SUMMARIES[] = {
    { "payee", SUMMARY_SQL_PAYEE, "payee", "收费员" },
    { "channel", SUMMARY_SQL_CHANNEL, "channel", "缴款渠道" },
    { "charge", SUMMARY_SQL_CHARGE, "charge", "收费项目" },
};

/* GET /invoice/staff/v1/reports/summary?by=payee|channel|charge&from=&to=[&placeCode=][&format=csv]
 * — from and to are days (inclusive, at most 366 of them; today when left out) */
static apr_status_t route_report_summary(hg_call_t *c)
{
    static const char *const keys[] = { "bills", "amount", "redBills", "redAmount", "net", "depositBills",
                                        "depositNet" };
    json_t *q, *rows, *totals = NULL, *row;
    hg_db_result_t *r;
    const char *by, *from, *to, *place, *format, *cells[8];
    apr_array_header_t *csv = NULL;
    apr_status_t rv;
    int i, j, s = 0;

    if ((rv = period_query(c, SUMMARY_QUERY, &q, &from, &to, &format)))
        return rv;
    by = hg_json_opt(q, "by");
    while (by && strcmp(SUMMARIES[s].by, by))
        s++;                          /* the schema let only the three names through */
    place = hg_json_opt(q, "placeCode");
    if ((rv = hg_call_report_begin(c)))
        return rv;
    if ((rv = hg_db_q(c->db, &r, SUMMARIES[s].sql, 4, c->institution, from, to, place)))
        return rv;
    if (format && !strcmp(format, "csv")) {
        csv = csv_begin(c->pool, r->nrows, (const char *const[]){ "起始日期", "截止日期", SUMMARIES[s].head,
                        "开票张数", "开票金额", "红票张数", "红票金额", "净额", "其中预交金收据张数", "其中预交金净额" }, 10);
    }
    rows = json_array();
    for (i = 0; i < r->nrows; i++) {
        apr_int64_t v[7];
        int total = !strcmp(hg_db_val(r, i, 1), "1");
        const char *key = hg_db_val(r, i, 0), *name = hg_db_val(r, i, 8);
        for (j = 0; j < 4; j++)
            v[j] = col64(r, i, 2 + j);
        v[5] = col64(r, i, 9);
        v[6] = col64(r, i, 10);
        if (total) {                  /* every bill once */
            v[0] = col64(r, i, 6);
            v[2] = col64(r, i, 7);
            v[5] = col64(r, i, 11);
        }
        v[4] = v[1] + v[3];
        row = total ? json_object() : json_pack("{s:s}", SUMMARIES[s].key, key);
        if (!total && *name)
            json_object_set_new(row, "name", json_string(name));
        cells[0] = total ? "合计" : !*key ? "（未记录）" : *name ? apr_pstrcat(c->pool, key, " ", name, NULL) : key;
        for (j = 0; j < 7; j++) {
            int money = j == 1 || j == 3 || j == 4 || j == 6;
            cells[1 + j] = money ? hg_money_format(c->pool, v[j]) : i64s(c->pool, v[j]);
            json_object_set_new(row, keys[j], money ? json_string(cells[1 + j]) : json_integer((json_int_t)v[j]));
        }
        if (total)
            totals = row;
        else
            json_array_append_new(rows, row);
        if (csv)
            csv_line(csv, c->pool, (const char *const[]){ from, to, cells[0], cells[1], cells[2], cells[3], cells[4],
                     cells[5], cells[6], cells[7] }, 10, (const int[10]){ 0, 0, !total });
    }
    if (!totals)
        totals = json_pack("{s:i, s:s, s:i, s:s, s:s, s:i, s:s}", "bills", 0, "amount", "0.00", "redBills", 0,
                           "redAmount", "0.00", "net", "0.00", "depositBills", 0, "depositNet", "0.00");
    if (csv) {
        json_decref(rows);
        json_decref(totals);
        return csv_answer(c, csv, apr_psprintf(c->pool, "invoice-%s-%s-%s.csv", SUMMARIES[s].by, from, to));
    }
    return hg_call_answer(c, 200, json_pack("{s:s, s:s, s:s, s:s?, s:o, s:o}", "by", SUMMARIES[s].by, "from", from,
                                            "to", to, "placeCode", place, "rows", rows, "totals", totals));
}

/* ---------------------------------------------------------------- the bill list */

static const hg_field_t BILLS_QUERY[] = {
    { .name = "date", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    { .name = "placeCode", .type = HG_JT_STRING, .pattern = PLACE_PATTERN },
    { .name = "state", .type = HG_JT_STRING,
      .enum_values = (const char *const[]){ "normal", "flushed", "red", NULL } },
    { .name = "limit", .type = HG_JT_STRING, .pattern = "[0-9]{1,3}" },
    { .name = "beforeId", .type = HG_JT_STRING, .pattern = "[0-9]{1,18}" },
    { .name = "format", .type = HG_JT_STRING, .enum_values = (const char *const[]){ "json", "csv", NULL } },
    HG_FIELDS_END_CLOSED
};

/* the bill list's filters ($1-$5) and columns; the CSV takes the day's whole list, oldest first */
#define BILLS_SELECT \
    "SELECT b.id, b.bill_batch_code, b.bill_no, b.bus_no, b.kind, b.place_code, " \
    "b.total_fen, b.state, b.is_scarlet, b.paper_batch_code, b.paper_no, coalesce(o.state, 'pending'), " \
    "b.create_time, to_char(b.issued_at, 'YYYY-MM-DD HH24:MI:SS'), b.issued_by, b.payee " \
    "FROM invoice.bills b LEFT JOIN hg.outbox o ON o.topic = 'invoice.upload' " \
    "AND o.business_key = 'upload:' || b.id WHERE b.institution = $1 " \
    "AND ($2::date IS NULL OR (b.issued_at >= $2::date::timestamptz " \
    "AND b.issued_at < ($2::date + 1)::timestamptz)) " \
    "AND ($3::text IS NULL OR b.place_code = $3) " \
    "AND ($4::text IS NULL OR ($4 = 'red' AND b.is_scarlet) " \
    "OR ($4 <> 'red' AND NOT b.is_scarlet AND b.state = $4)) " \
    "AND ($5::bigint IS NULL OR b.id < $5::bigint) "
#define BILLS_CSV_MAX 200000

static const char *bill_state_label(const hg_db_result_t *r, int i)
{
    return hg_db_val(r, i, 8)[0] == 't' ? "红票" : !strcmp(hg_db_val(r, i, 7), "flushed") ? "已冲红" : "正常";
}

static const char *upload_label(const char *state)
{
    return !strcmp(state, "done") ? "已上传" : !strcmp(state, "dead") ? "上传失败"
         : !strcmp(state, "inflight") ? "上传中" : "待上传";
}

/* 开票明细表: one day's bills (today when no date), with the list's filters, as CSV */
static apr_status_t bills_csv(hg_call_t *c, json_t *q)
{
    static const char *const heads[] = { "开票时间", "开票点编码", "票据类别", "票据代码", "票据号码", "业务流水号",
                                         "金额", "状态", "纸质票据代码", "纸质票据号码", "上传状态", "收费员", "开具人" };
    static const int text[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1 };
    enum { N = sizeof(heads) / sizeof(heads[0]) };
    const char *cells[N], *date = hg_json_opt(q, "date");
    apr_array_header_t *csv;
    hg_db_result_t *r;
    apr_status_t rv;
    int i;

    if (hg_json_opt(q, "beforeId") || hg_json_opt(q, "limit"))
        return hg_call_fail(c, "HG_FIELD_UNKNOWN", hg_json_opt(q, "beforeId") ? "beforeId" : "limit",
                            "the CSV holds the whole day: no paging");
    if (!date) {
        if ((rv = hg_db_q(c->db, &r, "SELECT to_char(current_date, 'YYYY-MM-DD')", 0)))
            return rv;
        date = hg_db_val(r, 0, 0);
    }
    if ((rv = hg_call_report_begin(c))
        || (rv = hg_db_q(c->db, &r, BILLS_SELECT "ORDER BY b.id LIMIT $6::int", 6, c->institution, date,
                         hg_json_opt(q, "placeCode"), hg_json_opt(q, "state"), NULL,
                         apr_itoa(c->pool, BILLS_CSV_MAX + 1))))
        return rv;
    if (r->nrows > BILLS_CSV_MAX)
        return hg_call_fail(c, "HG_FIELD_RANGE", "placeCode", apr_psprintf(c->pool,
                            "more than %d bills that day: choose a billing point", BILLS_CSV_MAX));
    csv = csv_begin(c->pool, r->nrows, heads, N);
    for (i = 0; i < r->nrows; i++) {
        cells[0] = hg_db_val(r, i, 13);
        cells[1] = hg_db_val(r, i, 5);
        cells[2] = kind_label(hg_db_val(r, i, 4));
        cells[3] = hg_db_val(r, i, 1);
        cells[4] = hg_db_val(r, i, 2);
        cells[5] = hg_db_val(r, i, 3);
        cells[6] = hg_money_format(c->pool, col64(r, i, 6));
        cells[7] = bill_state_label(r, i);
        cells[8] = hg_db_val(r, i, 10) ? hg_db_val(r, i, 9) : "";
        cells[9] = hg_db_val(r, i, 10) ? hg_db_val(r, i, 10) : "";
        cells[10] = upload_label(hg_db_val(r, i, 11));
        cells[11] = hg_db_val(r, i, 15) ? hg_db_val(r, i, 15) : "";
        cells[12] = hg_db_val(r, i, 14) ? hg_db_val(r, i, 14) : "HIS";
        csv_line(csv, c->pool, cells, N, text);
    }
    return csv_answer(c, csv, apr_psprintf(c->pool, "invoice-bills-%s.csv", date));
}

/* GET /invoice/staff/v1/bills?date=&placeCode=&state=normal|flushed|red&limit=&beforeId=[&format=csv]
 * — newest first, without personal data (the payer is only in the sealed document) */
static apr_status_t route_bills(hg_call_t *c)
{
    json_t *q, *rows;
    hg_db_result_t *r;
    const char *lim, *format;
    apr_int64_t limit = LIST_DEFAULT;
    apr_status_t rv;
    int i;

    if ((rv = hg_call_query(c, BILLS_QUERY, &q)))
        return rv;
    if ((format = hg_json_opt(q, "format")) && !strcmp(format, "csv"))
        return bills_csv(c, q);
    if ((lim = hg_json_opt(q, "limit")) && ((limit = apr_atoi64(lim)) < 1 || limit > LIST_MAX))
        return hg_call_fail(c, "HG_FIELD_RANGE", "limit", apr_psprintf(c->pool, "1 to %d", LIST_MAX));
    if ((rv = hg_db_q(c->db, &r, BILLS_SELECT "ORDER BY b.id DESC LIMIT $6::int", 6,
                      c->institution, hg_json_opt(q, "date"), hg_json_opt(q, "placeCode"), hg_json_opt(q, "state"),
                      hg_json_opt(q, "beforeId"), i64s(c->pool, limit))))
        return rv;
    rows = json_array();
    for (i = 0; i < r->nrows; i++) {
        json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s?, s:s?}",
            "id", (json_int_t)col64(r, i, 0), "billBatchCode", hg_db_val(r, i, 1), "billNo", hg_db_val(r, i, 2),
            "busNo", hg_db_val(r, i, 3), "kind", hg_db_val(r, i, 4), "kindLabel", kind_label(hg_db_val(r, i, 4)),
            "placeCode", hg_db_val(r, i, 5), "totalAmt", hg_money_format(c->pool, col64(r, i, 6)),
            "state", hg_db_val(r, i, 7), "isScarlet", hg_db_val(r, i, 8)[0] == 't',
            "uploadState", hg_db_val(r, i, 11), "createTime", hg_db_val(r, i, 12), "issuedAt", hg_db_val(r, i, 13),
            "issuedBy", hg_db_val(r, i, 14), "payee", hg_db_val(r, i, 15));
        json_object_set_new(o, "paper", hg_db_val(r, i, 10) ? json_pack("{s:s, s:s}", "pBillBatchCode",
                            hg_db_val(r, i, 9), "pBillNo", hg_db_val(r, i, 10)) : json_null());
        json_array_append_new(rows, o);
    }
    return hg_call_answer(c, 200, json_pack("{s:o, s:o}", "bills", rows, "nextBeforeId",
                          r->nrows == limit ? json_integer((json_int_t)col64(r, r->nrows - 1, 0)) : json_null()));
}

/* ---------------------------------------------------------------- the table */

#define STAFF_POST (HG_R_STAFF | HG_R_JSON | HG_R_AUDIT)
/* bills carry patients' names, amounts and items: read by the invoice roles only (a read-only
 * invoice_viewer for finance and inspection), not by every staff user of the institution */
#define INVOICE_READERS "cashier|invoice_admin|invoice_viewer"

const hg_route_t invoice_staff_routes[] = {
    { "GET",  "/invoice/staff/v1/stock", HG_R_STAFF, INVOICE_READERS, route_stock },
    { "GET",  "/invoice/staff/v1/stock/log", HG_R_STAFF, INVOICE_READERS, route_stock_log },
    { "POST", "/invoice/staff/v1/stock/apply", STAFF_POST, "invoice_admin", route_stock_apply },
    { "POST", "/invoice/staff/v1/stock/distribute", STAFF_POST, "invoice_admin", route_stock_distribute },
    { "POST", "/invoice/staff/v1/stock/withdraw", STAFF_POST, "invoice_admin", route_stock_withdraw },
    { "GET",  "/invoice/staff/v1/places", HG_R_STAFF, INVOICE_READERS, route_places },
    { "POST", "/invoice/staff/v1/places", STAFF_POST, "invoice_admin", route_place_save },
    { "POST", "/invoice/staff/v1/bills/", STAFF_POST | HG_R_PREFIX, "cashier", route_issue },
    { "GET",  "/invoice/staff/v1/bills", HG_R_STAFF, INVOICE_READERS, route_bills },
    { "POST", "/invoice/staff/v1/bill/", STAFF_POST | HG_R_PREFIX, "cashier", invoice_window_action },
    { "POST", "/invoice/staff/v1/paper/", STAFF_POST | HG_R_PREFIX, "cashier", invoice_window_paper },
    /* the layout file shows the payer unmasked and every item: who printed whose bill is journalled
     * (who, which bill, the outcome: not the file again) */
    { "GET",  "/invoice/staff/v1/bill/", HG_R_STAFF | HG_R_PREFIX | HG_R_AUDIT | HG_R_AUDIT_BARE, INVOICE_READERS,
      invoice_window_pdf },
    { "GET",  "/invoice/staff/v1/reports/daily", HG_R_STAFF, INVOICE_READERS, route_report_daily },
    { "GET",  "/invoice/staff/v1/reports/summary", HG_R_STAFF, INVOICE_READERS, route_report_summary },
    { "GET",  "/invoice/staff/v1/reports/stock", HG_R_STAFF, INVOICE_READERS, route_report_stock },
    { "GET",  "/invoice/staff/v1/reports/voids", HG_R_STAFF, INVOICE_READERS, route_report_voids },
    { NULL }
};
