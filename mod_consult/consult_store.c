/* mod_consult store: consult.templates and consult.visits (see consult_store.h). */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_time.h>
#include "hg_auth.h"
#include "hg_json.h"
#include "consult_store.h"

const char *consult_today(apr_pool_t *p)
{
    apr_time_exp_t tm;
    char buf[16];
    apr_size_t n;
    hg_time_exp_cn(&tm, apr_time_now());
    apr_strftime(buf, &n, sizeof(buf), "%Y-%m-%d", &tm);
    return apr_pstrdup(p, buf);
}

/* the newest approved version of a template id */
#define NEWEST_APPROVED(tid) "(SELECT version FROM consult.templates a WHERE a.template_id = " tid \
    " AND a.status = 'approved' ORDER BY a.approved_at DESC NULLS LAST, a.created_at DESC LIMIT 1)"

apr_status_t consult_store_pick_template(hg_db_t *db, apr_pool_t *p, const char *department,
                                         const char *disease, const char *doctor, consult_pick_t *pick)
{
    hg_db_result_t *r;
    apr_status_t rv;
    memset(pick, 0, sizeof(*pick));
    rv = hg_db_q(db, &r, "SELECT r.template_id, " NEWEST_APPROVED("r.template_id") ", r.id::text FROM consult.rules r "
                 "WHERE r.enabled AND (r.department IS NULL OR r.department = $1) "
                 "AND (r.disease IS NULL OR ($2::text IS NOT NULL AND starts_with(upper($2), upper(r.disease)))) "
                 "AND (r.doctor IS NULL OR r.doctor = $3) AND " NEWEST_APPROVED("r.template_id") " IS NOT NULL "
                 "ORDER BY (r.disease IS NOT NULL)::int + (r.doctor IS NOT NULL)::int + (r.department IS NOT NULL)::int DESC, "
                 "r.disease IS NOT NULL DESC, r.priority DESC, r.id DESC LIMIT 1", 3, department, disease, doctor);
    if (rv)
        return rv;
    if (r->nrows) {
        pick->template_id = hg_db_val(r, 0, 0);
        pick->version = hg_db_val(r, 0, 1);
        pick->rule_id = hg_db_val(r, 0, 2);
        pick->choice = "rule";
        return APR_SUCCESS;
    }
    rv = hg_db_q(db, &r, "SELECT template_id, version, department IS NULL FROM consult.templates WHERE status = 'approved' "
                 "AND disease IS NULL AND (department = $1 OR department IS NULL) "
                 "ORDER BY department IS NULL, approved_at DESC NULLS LAST, created_at DESC LIMIT 1", 1, department);
    if (rv)
        return rv;
    if (!r->nrows)
        return HG_ENOTFOUND;
    pick->template_id = hg_db_val(r, 0, 0);
    pick->version = hg_db_val(r, 0, 1);
    pick->choice = !strcmp(hg_db_val(r, 0, 2), "t") ? "generic" : "department";
    return APR_SUCCESS;
}

#define VISIT_COLS "v.id, v.institution, v.visit_no, v.patient_id, v.sex, v.birth_date::text, v.department, " \
    "v.doctor, to_char(v.visit_time, 'YYYY-MM-DD HH24:MI:SS'), v.template_id, v.version, " \
    /* an approved version never changes: the module keeps it parsed, so it is not read per step */ \
    "CASE WHEN t.status = 'approved' THEN NULL ELSE t.definition::text END, " \
    "v.token_sealed, v.state, v.answers::text, v.summary::text, v.nav::text, v.disease, v.rule_id::text, v.choice, " \
    "v.rev::text, extract(epoch FROM v.expires_at)::bigint::text"
#define VISIT_NCOLS 22
#define COL_STATE   13
#define COL_ANSWERS 14
#define COL_NAV     16
#define COL_REV     20
#define VISIT_FROM " FROM consult.visits v JOIN consult.templates t USING (template_id, version) "

static apr_status_t visit_of(apr_pool_t *p, hg_db_result_t *r, consult_visit_t **out)
{
    consult_visit_t *v;
    const char *s;
    if (!r->nrows || r->ncols != VISIT_NCOLS || !hg_db_val(r, 0, 20))
        return HG_ENOTFOUND;
    v = apr_pcalloc(p, sizeof(*v));
    v->id = hg_db_val(r, 0, 0);
    v->institution = hg_db_val(r, 0, 1);
    v->visit_no = hg_db_val(r, 0, 2);
    v->patient_id = hg_db_val(r, 0, 3);
    v->sex = hg_db_val(r, 0, 4);
    v->birth_date = hg_db_val(r, 0, 5);
    v->department = hg_db_val(r, 0, 6);
    v->doctor = hg_db_val(r, 0, 7);
    v->visit_time = hg_db_val(r, 0, 8);
    v->template_id = hg_db_val(r, 0, 9);
    v->version = hg_db_val(r, 0, 10);
    v->definition = hg_db_val(r, 0, 11);
    v->token_sealed = hg_db_val(r, 0, 12);
    v->state = hg_db_val(r, 0, 13);
    v->answers = hg_json_own(p, json_loads(hg_db_val(r, 0, 14), 0, NULL));
    if (!json_is_object(v->answers))
        v->answers = hg_json_object(p);
    s = hg_db_val(r, 0, 15);
    v->summary = s ? hg_json_own(p, json_loads(s, 0, NULL)) : NULL;
    v->nav = hg_json_own(p, json_loads(hg_db_val(r, 0, 16), 0, NULL));
    if (!json_is_object(v->nav))
        v->nav = hg_json_object(p);
    v->disease = hg_db_val(r, 0, 17);
    v->rule_id = hg_db_val(r, 0, 18);
    v->choice = hg_db_val(r, 0, 19);
    v->rev = hg_db_val(r, 0, 20);
    v->expires_at = apr_atoi64(hg_db_val(r, 0, 21) ? hg_db_val(r, 0, 21) : "0");
    v->row = r;
    *out = v;
    return APR_SUCCESS;
}

apr_status_t consult_store_token_index(char **hex, apr_pool_t *p, const unsigned char *key, const char *token)
{
    return hg_keyed_index(hex, p, key, apr_pstrcat(p, "consult-token:", token, NULL));
}

/* The end of a link given out now for a visit at vt (a timestamp without zone, the HIS's local time,
 * read in the database's TimeZone like every visit_time), ttl ($ttl seconds): the patient fills the
 * questionnaire in before the visit, often on its day in the waiting room, and a late appointment
 * still falls on that day; the link lives until the visit day's end plus the TTL, and at least the
 * TTL from now (a visit announced late, or on the day). */
#define VISIT_DAY_END(vt) "(date_trunc('day', " vt ") + interval '1 day')::timestamptz"
#define LINK_END(vt, ttl) "greatest(now(), " VISIT_DAY_END(vt) ") + make_interval(secs => " ttl "::int)"

apr_status_t consult_store_visit_upsert(hg_db_t *db, apr_pool_t *p, const unsigned char *key,
                                        const char *institution, const consult_visit_in_t *in,
                                        int ttl_seconds, consult_visit_t **v, const char **token,
                                        int *created)
{
    consult_pick_t pk;
    char *tok, *idx, *tok_sealed, *name_sealed, *contact_sealed = NULL;
    const char *channel = NULL;
    unsigned char *raw;
    apr_size_t len;
    hg_db_result_t *r;
    apr_status_t rv;

    *created = 0;
    if ((rv = consult_store_by_visit_no(db, p, institution, in->visit_no, v)) != HG_ENOTFOUND)
        goto existing;
    if ((rv = consult_store_pick_template(db, p, in->department, in->disease, in->doctor, &pk)))
        return rv;
    if ((rv = hg_token_new(&tok, p)) || (rv = consult_store_token_index(&idx, p, key, tok))
        || (rv = hg_secret_seal(&tok_sealed, p, key, tok, strlen(tok)))
        || (rv = hg_secret_seal(&name_sealed, p, key, in->name, strlen(in->name))))
        return rv;
    /* WeChat when the patient follows the account, else SMS; the address itself only sealed */
    if (in->openid || in->phone) {
        const char *c = in->openid ? in->openid : in->phone;
        channel = in->openid ? "wechat" : "sms";
        if ((rv = hg_secret_seal(&contact_sealed, p, key, c, strlen(c))))
            return rv;
    }
    rv = hg_db_q(db, &r, "INSERT INTO consult.visits (institution, visit_no, patient_id, name_sealed, sex, birth_date, "
                 "department, doctor, visit_time, template_id, version, token_hash, token_sealed, expires_at, "
                 "disease, rule_id, choice, contact_sealed, channel, entry) "
                 "VALUES ($1, $2, $3, $4, $5, $6::date, $7, $8, $9::timestamp, $10, $11, $12, $13, "
                 LINK_END("$9::timestamp", "$14") ", $15, $16::bigint, $17, $18, $19, $20) "
                 "ON CONFLICT (institution, visit_no) DO NOTHING RETURNING id",
                 20, institution, in->visit_no, in->patient_id, name_sealed, in->sex, in->birth_date, in->department,
                 in->doctor, in->visit_time, pk.template_id, pk.version, idx, tok_sealed, apr_itoa(p, ttl_seconds),
                 in->disease, pk.rule_id, pk.choice, contact_sealed, channel, in->entry);
    if (rv)
        return rv;
    if (r->nrows) {
        *created = 1;
        *token = tok;
        return consult_store_by_visit_no(db, p, institution, in->visit_no, v);
    }
    /* a concurrent announcement won: answer its visit */
    rv = consult_store_by_visit_no(db, p, institution, in->visit_no, v);
existing:
    if (rv)
        return rv;
    if ((rv = hg_secret_open(&raw, &len, p, key, (*v)->token_sealed)))
        return rv;
    *token = (const char *)raw;
    return APR_SUCCESS;
}

apr_status_t consult_store_visit_reschedule(hg_db_t *db, apr_pool_t *p, consult_visit_t *v, const char *visit_time,
                                            int *rescheduled)
{
    hg_db_result_t *r;
    apr_status_t rv;
    *rescheduled = 0;
    if ((rv = hg_db_q(db, &r, "UPDATE consult.visits SET visit_time = $2::timestamp, updated_at = now(), rev = rev + 1 "
                      "WHERE id = $1::bigint AND state <> 'completed' AND visit_time <> $2::timestamp "
                      "RETURNING to_char(visit_time, 'YYYY-MM-DD HH24:MI:SS')", 2,
                      v->id, visit_time)))
        return rv;
    if (r->nrows) {
        *rescheduled = 1;
        v->visit_time = hg_db_val(r, 0, 0);
    }
    return APR_SUCCESS;
}

apr_status_t consult_store_visit_renew(hg_db_t *db, apr_pool_t *p, const unsigned char *key, int ttl_seconds,
                                       consult_visit_t **v, const char **token, consult_renewal_t *rn)
{
    char *tok, *idx, *tok_sealed;
    unsigned char *raw;
    apr_size_t len;
    hg_db_result_t *r;
    apr_status_t rv;

    memset(rn, 0, sizeof(*rn));
    if (!strcmp((*v)->state, "completed"))
        goto same;               /* submitted: never reopened, its link is what it is */
    if ((rv = hg_token_new(&tok, p)) || (rv = consult_store_token_index(&idx, p, key, tok))
        || (rv = hg_secret_seal(&tok_sealed, p, key, tok, strlen(tok))))
        return rv;
    /* One statement, decided by the database's clock on the row as it is now: an expired link gets
     * the new token (the old one is gone with its hash); a live one keeps its token and, when it was
     * given out shorter (before links followed the visit), now lives to the visit day's end + TTL.
     * A concurrent announcement that renewed first leaves no row to update here: its token is read. */
    rv = hg_db_q(db, &r, "UPDATE consult.visits SET "
                 "token_hash = CASE WHEN expires_at <= now() THEN $2 ELSE token_hash END, "
                 "token_sealed = CASE WHEN expires_at <= now() THEN $3 ELSE token_sealed END, "
                 "expires_at = CASE WHEN expires_at <= now() THEN " LINK_END("visit_time", "$4")
                 " ELSE " VISIT_DAY_END("visit_time") " + make_interval(secs => $4::int) END, "
                 "updated_at = now(), rev = rev + 1 "
                 "WHERE id = $1::bigint AND state <> 'completed' AND (expires_at <= now() "
                 "OR expires_at < " VISIT_DAY_END("visit_time") " + make_interval(secs => $4::int)) "
                 "RETURNING token_hash = $2, contact_sealed, channel, rev::text",
                 4, (*v)->id, idx, tok_sealed, apr_itoa(p, ttl_seconds));
    if (rv)
        return rv;
    if (r->nrows) {
        rn->renewed = !strcmp(hg_db_val(r, 0, 0), "t");
        rn->contact_sealed = hg_db_val(r, 0, 1);
        rn->channel = hg_db_val(r, 0, 2);
        rn->rev = hg_db_val(r, 0, 3);
    }
    if ((rv = consult_store_by_visit_no(db, p, (*v)->institution, (*v)->visit_no, v)))
        return rv;
    if (rn->renewed) {
        *token = tok;
        return APR_SUCCESS;
    }
same:
    if ((rv = hg_secret_open(&raw, &len, p, key, (*v)->token_sealed)))
        return rv;
    *token = (const char *)raw;
    return APR_SUCCESS;
}

apr_status_t consult_store_by_token(hg_db_t *db, apr_pool_t *p, const unsigned char *key,
                                    const char *token, int lock, consult_visit_t **v)
{
    char *idx;
    hg_db_result_t *r;
    apr_status_t rv;
    if (!token || strlen(token) != 43)
        return HG_ENOTFOUND;
    if ((rv = consult_store_token_index(&idx, p, key, token)))
        return rv;
    if ((rv = (lock == 2 ? hg_db_begin_q : hg_db_q)(db, &r, lock ? "SELECT " VISIT_COLS VISIT_FROM "WHERE v.token_hash = $1 AND v.expires_at > now() "
                                     "FOR UPDATE OF v"
                                   : "SELECT " VISIT_COLS VISIT_FROM "WHERE v.token_hash = $1 AND v.expires_at > now()",
                      1, idx)))
        return rv;
    return visit_of(p, r, v);
}

apr_status_t consult_store_definition(hg_db_t *db, apr_pool_t *p, const char *template_id,
                                      const char *version, const char **definition)
{
    hg_db_result_t *r;
    apr_status_t rv;
    if ((rv = hg_db_q(db, &r, "SELECT definition::text FROM consult.templates WHERE template_id = $1 AND version = $2",
                      2, template_id, version)))
        return rv;
    if (!r->nrows)
        return HG_ENOTFOUND;
    *definition = hg_db_val(r, 0, 0);
    return APR_SUCCESS;
}

apr_status_t consult_store_by_visit_no(hg_db_t *db, apr_pool_t *p, const char *institution,
                                       const char *visit_no, consult_visit_t **v)
{
    hg_db_result_t *r;
    apr_status_t rv;
    if ((rv = hg_db_q(db, &r, "SELECT " VISIT_COLS VISIT_FROM "WHERE v.institution = $1 AND v.visit_no = $2",
                      2, institution, visit_no)))
        return rv;
    return visit_of(p, r, v);
}

void consult_store_save_stmt(hg_db_stmt_t *st, apr_pool_t *p, const consult_visit_t *v, json_t *answers,
                             json_t *nav, const char *state, int guarded)
{
    const char **params = apr_palloc(p, 5 * sizeof(*params));
    params[0] = v->id;
    params[1] = hg_json_dump(p, answers, HG_JSON_DUMP_SORTED);
    params[2] = state;
    params[3] = hg_json_dump(p, nav, HG_JSON_DUMP_SORTED);
    params[4] = v->rev;
    st->sql = guarded
        ? "UPDATE consult.visits SET answers = $2::jsonb, state = $3, nav = $4::jsonb, updated_at = now(), "
          "rev = rev + 1 WHERE id = $1::bigint AND rev = $5::int AND expires_at > now() RETURNING rev"
        : "UPDATE consult.visits SET answers = $2::jsonb, state = $3, nav = $4::jsonb, updated_at = now(), "
          "rev = rev + 1 WHERE id = $1::bigint";
    st->n = guarded ? 5 : 4;
    st->params = params;
}

hg_db_result_t *consult_store_row_after_save(apr_pool_t *p, const consult_visit_t *v, const hg_db_stmt_t *st)
{
    hg_db_result_t *r;
    if (!v->row || v->row->ncols != VISIT_NCOLS)
        return NULL;
    r = apr_pmemdup(p, v->row, sizeof(*r));
    r->nrows = 1;
    r->vals = apr_pmemdup(p, v->row->vals, VISIT_NCOLS * sizeof(*r->vals));
    r->vals[COL_ANSWERS] = st->params[1];
    r->vals[COL_STATE] = st->params[2];
    r->vals[COL_NAV] = st->params[3];
    r->vals[COL_REV] = apr_ltoa(p, atol(v->rev) + 1);
    return r;
}

apr_status_t consult_store_visit_of_row(apr_pool_t *p, hg_db_result_t *row, consult_visit_t **v)
{
    return visit_of(p, row, v);
}

apr_status_t consult_store_save(hg_db_t *db, apr_pool_t *p, const consult_visit_t *v, json_t *answers,
                                json_t *nav, const char *state)
{
    hg_db_stmt_t st;
    consult_store_save_stmt(&st, p, v, answers, nav, state, 0);
    return hg_db_exec(db, NULL, st.sql, st.n, st.params);
}

apr_status_t consult_store_complete(hg_db_t *db, apr_pool_t *p, const consult_visit_t *v, json_t *answers,
                                    json_t *summary)
{
    return hg_db_q(db, NULL, "UPDATE consult.visits SET answers = $2::jsonb, summary = $3::jsonb, state = 'completed', "
                   "submitted_at = now(), updated_at = now(), rev = rev + 1 WHERE id = $1::bigint", 3, v->id,
                   hg_json_dump(p, answers, HG_JSON_DUMP_SORTED), hg_json_dump(p, summary, HG_JSON_DUMP_SORTED));
}
