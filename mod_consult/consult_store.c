/* mod_consult store: consult.templates and consult.visits (see consult_store.h). */
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
    apr_time_exp_lt(&tm, apr_time_now());
    apr_strftime(buf, &n, sizeof(buf), "%Y-%m-%d", &tm);
    return apr_pstrdup(p, buf);
}

apr_status_t consult_store_pick_template(hg_db_t *db, apr_pool_t *p, const char *department,
                                         const char **template_id, const char **version)
{
    hg_db_result_t *r;
    apr_status_t rv = hg_db_q(db, &r, "SELECT template_id, version FROM consult.templates WHERE status = 'approved' "
                              "AND (department = $1 OR department IS NULL) "
                              "ORDER BY department IS NULL, approved_at DESC NULLS LAST, created_at DESC LIMIT 1",
                              1, department);
    if (rv)
        return rv;
    if (!r->nrows)
        return HG_ENOTFOUND;
    *template_id = hg_db_val(r, 0, 0);
    *version = hg_db_val(r, 0, 1);
    return APR_SUCCESS;
}

#define VISIT_COLS "v.id, v.institution, v.visit_no, v.patient_id, v.sex, v.birth_date::text, v.department, " \
    "v.doctor, to_char(v.visit_time, 'YYYY-MM-DD HH24:MI:SS'), v.template_id, v.version, t.definition::text, " \
    "v.token_sealed, v.state, v.answers::text, v.summary::text"
#define VISIT_FROM " FROM consult.visits v JOIN consult.templates t USING (template_id, version) "

static apr_status_t visit_of(apr_pool_t *p, hg_db_result_t *r, consult_visit_t **out)
{
    consult_visit_t *v;
    const char *s;
    if (!r->nrows)
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
    *out = v;
    return APR_SUCCESS;
}

static apr_status_t token_index(char **hex, apr_pool_t *p, const unsigned char *key, const char *token)
{
    return hg_keyed_index(hex, p, key, apr_pstrcat(p, "consult-token:", token, NULL));
}

apr_status_t consult_store_visit_upsert(hg_db_t *db, apr_pool_t *p, const unsigned char *key,
                                        const char *institution, const consult_visit_in_t *in,
                                        int ttl_seconds, consult_visit_t **v, const char **token,
                                        int *created)
{
    const char *tid, *ver;
    char *tok, *idx, *tok_sealed, *name_sealed;
    unsigned char *raw;
    apr_size_t len;
    hg_db_result_t *r;
    apr_status_t rv;

    *created = 0;
    if ((rv = consult_store_by_visit_no(db, p, institution, in->visit_no, v)) != HG_ENOTFOUND)
        goto existing;
    if ((rv = consult_store_pick_template(db, p, in->department, &tid, &ver)))
        return rv;
    if ((rv = hg_token_new(&tok, p)) || (rv = token_index(&idx, p, key, tok))
        || (rv = hg_secret_seal(&tok_sealed, p, key, tok, strlen(tok)))
        || (rv = hg_secret_seal(&name_sealed, p, key, in->name, strlen(in->name))))
        return rv;
    rv = hg_db_q(db, &r, "INSERT INTO consult.visits (institution, visit_no, patient_id, name_sealed, sex, birth_date, "
                 "department, doctor, visit_time, template_id, version, token_hash, token_sealed, expires_at) "
                 "VALUES ($1, $2, $3, $4, $5, $6::date, $7, $8, $9::timestamp, $10, $11, $12, $13, "
                 "now() + make_interval(secs => $14::int)) ON CONFLICT (institution, visit_no) DO NOTHING RETURNING id",
                 14, institution, in->visit_no, in->patient_id, name_sealed, in->sex, in->birth_date, in->department,
                 in->doctor, in->visit_time, tid, ver, idx, tok_sealed, apr_itoa(p, ttl_seconds));
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

apr_status_t consult_store_by_token(hg_db_t *db, apr_pool_t *p, const unsigned char *key,
                                    const char *token, int lock, consult_visit_t **v)
{
    char *idx;
    hg_db_result_t *r;
    apr_status_t rv;
    if (!token || strlen(token) != 43)
        return HG_ENOTFOUND;
    if ((rv = token_index(&idx, p, key, token)))
        return rv;
    if ((rv = hg_db_q(db, &r, lock ? "SELECT " VISIT_COLS VISIT_FROM "WHERE v.token_hash = $1 AND v.expires_at > now() "
                                     "FOR UPDATE OF v"
                                   : "SELECT " VISIT_COLS VISIT_FROM "WHERE v.token_hash = $1 AND v.expires_at > now()",
                      1, idx)))
        return rv;
    return visit_of(p, r, v);
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

apr_status_t consult_store_save(hg_db_t *db, apr_pool_t *p, const consult_visit_t *v, json_t *answers,
                                const char *state)
{
    return hg_db_q(db, NULL, "UPDATE consult.visits SET answers = $2::jsonb, state = $3, updated_at = now() "
                   "WHERE id = $1::bigint", 3, v->id, hg_json_dump(p, answers, HG_JSON_DUMP_SORTED), state);
}

apr_status_t consult_store_complete(hg_db_t *db, apr_pool_t *p, const consult_visit_t *v, json_t *answers,
                                    json_t *summary)
{
    return hg_db_q(db, NULL, "UPDATE consult.visits SET answers = $2::jsonb, summary = $3::jsonb, state = 'completed', "
                   "submitted_at = now(), updated_at = now() WHERE id = $1::bigint", 3, v->id,
                   hg_json_dump(p, answers, HG_JSON_DUMP_SORTED), hg_json_dump(p, summary, HG_JSON_DUMP_SORTED));
}
