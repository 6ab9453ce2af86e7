/* mod_sandbox: a stand-in for the HIS that receives mod_consult's summaries (ConsultSummaryPushURL).
 *   POST /sandbox/his/consult-summary   stores the body with its X-HG-* headers, one row per
 *                                       idempotency key (a repeat counts a delivery) -> {"code":"0"}
 *   GET  /sandbox/his/consult-summaries[?visitNo=]   what arrived, newest first
 * The signature is stored, not checked: the tests check it with their own HMAC. */
#include <string.h>
#include "httpd.h"
#include "http_log.h"
#include "util_script.h"
#include "apr_strings.h"
#include "hg_glue.h"

static apr_status_t route_receive(hg_call_t *c)
{
    const char *key = apr_table_get(c->r->headers_in, "X-HG-Idempotency-Key");
    json_t *doc = NULL;
    apr_status_t rv;
    if (hg_json_parse(&doc, c->pool, c->body, c->body_len, 0, NULL) != APR_SUCCESS)
        return hg_call_answer(c, 400, json_pack("{s:s, s:s}", "code", "400", "message", "body is not a JSON object"));
    if (!key || !*key)
        return hg_call_answer(c, 400, json_pack("{s:s, s:s}", "code", "400", "message", "X-HG-Idempotency-Key missing"));
    if ((rv = hg_db_q(c->db, NULL, "INSERT INTO sandbox.his_consult_summaries (idempotency_key, visit_no, ts, signature, body) "
                      "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO UPDATE SET deliveries = "
                      "sandbox.his_consult_summaries.deliveries + 1, body = EXCLUDED.body, ts = EXCLUDED.ts, "
                      "signature = EXCLUDED.signature, at = now()", 5, key, hg_json_gets(doc, "visitNo", NULL),
                      apr_table_get(c->r->headers_in, "X-HG-Timestamp"), apr_table_get(c->r->headers_in, "X-HG-Signature"),
                      c->body)))
        return rv;
    return hg_call_answer(c, 200, json_pack("{s:s, s:s}", "code", "0", "message", "ok"));
}

static apr_status_t route_list(hg_call_t *c)
{
    apr_table_t *args = NULL;
    hg_db_result_t *r;
    json_t *a = json_array();
    apr_status_t rv;
    int i;
    ap_args_to_table(c->r, &args);
    if ((rv = hg_db_q(c->db, &r, "SELECT id, idempotency_key, visit_no, ts, signature, body, deliveries, "
                      "to_char(at, 'YYYY-MM-DD\"T\"HH24:MI:SS.MSOF') FROM sandbox.his_consult_summaries "
                      "WHERE $1::text IS NULL OR visit_no = $1 ORDER BY id DESC LIMIT 100", 1,
                      args ? apr_table_get(args, "visitNo") : NULL)))
        return rv;
    for (i = 0; i < r->nrows; i++)
        json_array_append_new(a, json_pack("{s:I, s:s, s:s?, s:s?, s:s?, s:s, s:i, s:s}",
            "id", (json_int_t)apr_atoi64(hg_db_val(r, i, 0)), "idempotencyKey", hg_db_val(r, i, 1),
            "visitNo", hg_db_val(r, i, 2), "timestamp", hg_db_val(r, i, 3), "signature", hg_db_val(r, i, 4),
            "body", hg_db_val(r, i, 5), "deliveries", atoi(hg_db_val(r, i, 6)), "at", hg_db_val(r, i, 7)));
    return hg_call_answer(c, 200, json_pack("{s:o}", "summaries", a));
}

const hg_route_t sandbox_his_routes[] = {
    { "POST", "/sandbox/his/consult-summary", HG_R_PUBLIC | HG_R_DB, NULL, route_receive },
    { "GET",  "/sandbox/his/consult-summaries", HG_R_PUBLIC | HG_R_DB, NULL, route_list },
    { NULL }
};
