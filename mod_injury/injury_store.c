/* injury_store: see injury_store.h.  No httpd headers. */
#include <string.h>
#include <stdlib.h>
#include <apr_strings.h>
#include "injury_store.h"
#include "hg_status.h"

#define STAY_COLS "id, kind, bka025, aac001, aaz218, state, pending_fn, pending_body, fee_rows"

static injury_stay_t *stay_of(apr_pool_t *p, const hg_db_result_t *r, int i)
{
    injury_stay_t *s = apr_pcalloc(p, sizeof(*s));
    const char *n;
    s->id = hg_db_get(r, i, "id");
    s->kind = hg_db_get(r, i, "kind");
    s->bka025 = hg_db_get(r, i, "bka025");
    s->aac001 = hg_db_get(r, i, "aac001");
    s->aaz218 = hg_db_get(r, i, "aaz218");
    s->state = hg_db_get(r, i, "state");
    s->pending_fn = hg_db_get(r, i, "pending_fn");
    s->pending_body = hg_db_get(r, i, "pending_body");
    s->fee_rows = (n = hg_db_get(r, i, "fee_rows")) ? atoi(n) : 0;
    return s;
}

apr_status_t injury_store_stay(hg_db_t *db, apr_pool_t *p, const char *akb020, const char *aaz218,
                               injury_stay_t **out)
{
    hg_db_result_t *r;
    apr_status_t rv = hg_db_q(db, &r, "SELECT " STAY_COLS " FROM injury.stays WHERE akb020 = $1 AND aaz218 = $2",
                              2, akb020, aaz218);
    if (rv)
        return rv;
    if (r->nrows == 0)
        return HG_ENOTFOUND;
    *out = stay_of(p, r, 0);
    return APR_SUCCESS;
}

apr_status_t injury_store_live_stay(hg_db_t *db, apr_pool_t *p, const char *akb020, const char *kind,
                                    const char *bka025, injury_stay_t **out)
{
    hg_db_result_t *r;
    apr_status_t rv = hg_db_q(db, &r, "SELECT " STAY_COLS " FROM injury.stays WHERE akb020 = $1 AND kind = $2 "
                              "AND bka025 = $3 AND state <> 'cancelled'", 3, akb020, kind, bka025);
    if (rv)
        return rv;
    if (r->nrows == 0)
        return HG_ENOTFOUND;
    *out = stay_of(p, r, 0);
    return APR_SUCCESS;
}

apr_status_t injury_store_insert(hg_db_t *db, apr_pool_t *p, const char *akb020, const char *kind,
                                 const char *bka025, const char *aac001, int busy_s, const char **id)
{
    hg_db_result_t *r;
    apr_status_t rv = hg_db_q(db, &r, "INSERT INTO injury.stays (akb020, kind, bka025, aac001, state, busy_until) "
                              "VALUES ($1, $2, $3, $4, 'registered', now() + make_interval(secs => $5::int)) "
                              "RETURNING id", 5, akb020, kind, bka025, aac001, apr_itoa(p, busy_s));
    if (rv)
        return rv;
    *id = hg_db_val(r, 0, 0);
    return APR_SUCCESS;
}

apr_status_t injury_store_delete(hg_db_t *db, const char *id)
{
    return hg_db_q(db, NULL, "DELETE FROM injury.stays WHERE id = $1", 1, id);
}

apr_status_t injury_store_claim(hg_db_t *db, const char *id, int busy_s)
{
    hg_db_result_t *r;
    char n[16];
    apr_status_t rv;
    apr_snprintf(n, sizeof(n), "%d", busy_s);
    rv = hg_db_q(db, &r, "UPDATE injury.stays SET busy_until = now() + make_interval(secs => $2::int) "
                 "WHERE id = $1 AND (busy_until IS NULL OR busy_until < now())", 2, id, n);
    if (rv)
        return rv;
    return r->affected == 1 ? APR_SUCCESS : HG_ECONFLICT;
}

apr_status_t injury_store_release(hg_db_t *db, const char *id)
{
    return hg_db_q(db, NULL, "UPDATE injury.stays SET busy_until = NULL WHERE id = $1", 1, id);
}

apr_status_t injury_store_set_aaz218(hg_db_t *db, const char *id, const char *aaz218)
{
    return hg_db_q(db, NULL, "UPDATE injury.stays SET aaz218 = $2, updated_at = now() WHERE id = $1", 2, id, aaz218);
}

apr_status_t injury_store_set_state(hg_db_t *db, const char *id, const char *state, int fee_rows)
{
    char n[16];
    apr_snprintf(n, sizeof(n), "%d", fee_rows);
    return hg_db_q(db, NULL, "UPDATE injury.stays SET state = $2, fee_rows = CASE WHEN $3::int < 0 THEN fee_rows "
                   "ELSE $3::int END, updated_at = now() WHERE id = $1", 3, id, state, n);
}

apr_status_t injury_store_set_pending(hg_db_t *db, const char *id, const char *fn, const char *body)
{
    return hg_db_q(db, NULL, "UPDATE injury.stays SET pending_fn = $2, pending_body = $3, "
                   "pending_at = CASE WHEN $2::text IS NULL THEN NULL ELSE now() END, updated_at = now() "
                   "WHERE id = $1", 3, id, fn, fn ? body : NULL);
}

apr_status_t injury_store_add_settlement(hg_db_t *db, apr_pool_t *p, const char *stay_id, const char *fn,
                                         const char *kind, const char *result_json, int split_ok,
                                         int resolved, const char **id)
{
    hg_db_result_t *r;
    apr_status_t rv = hg_db_q(db, &r, "INSERT INTO injury.settlements (stay_id, function_id, kind, result, split_ok, "
                              "resolved_by_query) VALUES ($1, $2, $3, $4::jsonb, $5::boolean, $6::boolean) RETURNING id",
                              6, stay_id, fn, kind, result_json,
                              split_ok < 0 ? NULL : split_ok ? "true" : "false", resolved ? "true" : "false");
    if (rv)
        return rv;
    *id = hg_db_val(r, 0, 0);
    return APR_SUCCESS;
}

apr_status_t injury_store_cancel_settlement(hg_db_t *db, const char *stay_id)
{
    return hg_db_q(db, NULL, "UPDATE injury.settlements SET cancelled_at = now() WHERE id = (SELECT id FROM "
                   "injury.settlements WHERE stay_id = $1 AND kind = 'settle' AND cancelled_at IS NULL "
                   "ORDER BY id DESC LIMIT 1)", 1, stay_id);
}

apr_status_t injury_store_count_settlements(hg_db_t *db, const char *stay_id, int *n)
{
    hg_db_result_t *r;
    apr_status_t rv = hg_db_q(db, &r, "SELECT count(*) FROM injury.settlements WHERE stay_id = $1", 1, stay_id);
    if (rv)
        return rv;
    *n = atoi(hg_db_val(r, 0, 0));
    return APR_SUCCESS;
}

apr_status_t injury_store_settlement(hg_db_t *db, apr_pool_t *p, const char *akb020, const char *id,
                                     injury_settlement_t **out)
{
    hg_db_result_t *r;
    injury_settlement_t *s;
    const char *ok;
    apr_status_t rv = hg_db_q(db, &r, "SELECT s.id AS sid, s.function_id, s.kind AS skind, s.result::text AS result, "
                              "to_char(s.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') AS created, "
                              "to_char(s.cancelled_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') AS cancelled, "
                              "s.split_ok::text AS split_ok, t.id, t.kind, t.bka025, t.aac001, t.aaz218, t.state, "
                              "t.pending_fn, t.pending_body, t.fee_rows "
                              "FROM injury.settlements s JOIN injury.stays t ON t.id = s.stay_id "
                              "WHERE t.akb020 = $1 AND s.id = $2::bigint", 2, akb020, id);
    if (rv)
        return rv;
    if (r->nrows == 0)
        return HG_ENOTFOUND;
    s = apr_pcalloc(p, sizeof(*s));
    s->id = hg_db_get(r, 0, "sid");
    s->function_id = hg_db_get(r, 0, "function_id");
    s->kind = hg_db_get(r, 0, "skind");
    s->result = hg_db_get(r, 0, "result");
    s->created_at = hg_db_get(r, 0, "created");
    s->cancelled_at = hg_db_get(r, 0, "cancelled");
    ok = hg_db_get(r, 0, "split_ok");
    s->split_ok = !ok ? -1 : !strcmp(ok, "true");
    s->stay = *stay_of(p, r, 0);
    *out = s;
    return APR_SUCCESS;
}

apr_status_t injury_store_cache_get(hg_db_t *db, apr_pool_t *p, const char *akb020, const char *fn,
                                    const char *key, int max_age_s, const char **answer, const char **fetched_at)
{
    hg_db_result_t *r;
    apr_status_t rv = hg_db_q(db, &r, "SELECT answer::text, to_char(fetched_at AT TIME ZONE 'Asia/Shanghai', "
                              "'YYYY-MM-DD HH24:MI:SS') FROM injury.code_cache WHERE akb020 = $1 AND function_id = $2 "
                              "AND request_key = $3 AND fetched_at > now() - make_interval(secs => $4::int)",
                              4, akb020, fn, key, apr_itoa(p, max_age_s));
    if (rv)
        return rv;
    if (r->nrows == 0)
        return HG_ENOTFOUND;
    *answer = hg_db_val(r, 0, 0);
    *fetched_at = hg_db_val(r, 0, 1);
    return APR_SUCCESS;
}

apr_status_t injury_store_cache_put(hg_db_t *db, const char *akb020, const char *fn, const char *key,
                                    const char *answer)
{
    return hg_db_q(db, NULL, "INSERT INTO injury.code_cache (akb020, function_id, request_key, answer) "
                   "VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (akb020, function_id, request_key) "
                   "DO UPDATE SET answer = EXCLUDED.answer, fetched_at = now()", 4, akb020, fn, key, answer);
}
