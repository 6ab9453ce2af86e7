/* mod_consult statistics and staff lists (see consult_stats.h for the definitions). */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <apr_strings.h>
#include <apr_hash.h>
#include "hg_auth.h"
#include "hg_err.h"
#include "hg_json.h"
#include "consult_engine.h"
#include "consult_store.h"
#include "consult_stats.h"

const char *const CONSULT_STATS_GROUPS[] = {
    "hour", "day", "week", "month", "dept", "template", "age_band", "sex", "channel", "entry", "fill_hour", NULL
};

static const char *const SECTION_KEYS[] = {
    "chief_complaint", "present_illness", "past_history", "personal_history", "allergy_history",
    "family_history", NULL
};
static const char *const SECTION_LABELS[] = { "主诉", "现病史", "既往史", "个人史", "过敏史", "家族史" };

/* ---------------------------------------------------------------- small helpers */

/* days from civil (Howard Hinnant's algorithm): exact for the proleptic Gregorian calendar */
long consult_stats_days(const char *ymd)
{
    long y = atol(ymd), m = atol(ymd + 5), d = atol(ymd + 8), era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

const char *consult_stats_ymd(apr_pool_t *p, long z)
{
    long era, doe, yoe, y, doy, mp, d, m;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp + (mp < 10 ? 3 : -9);
    return apr_psprintf(p, "%04ld-%02ld-%02ld", y + (m <= 2), m, d);
}

static apr_size_t cp_len(unsigned char c)
{
    return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
}

const char *consult_mask_name(apr_pool_t *p, const char *utf8)
{
    const char *s, *q, *last = NULL;
    apr_size_t n = 0, first_len;
    if (!utf8)
        return NULL;
    s = hg_utf8_repair(p, utf8);
    for (q = s; *q; q += cp_len((unsigned char)*q)) {
        last = q;
        n++;
    }
    if (n <= 1)
        return n ? "*" : "";
    first_len = cp_len((unsigned char)*s);
    if (n == 2)
        return apr_pstrcat(p, apr_pstrndup(p, s, first_len), "*", NULL);
    return apr_pstrcat(p, apr_pstrndup(p, s, first_len), "*", last, NULL);
}

static apr_int64_t col64(const hg_db_result_t *r, int row, int col)
{
    const char *v = hg_db_val(r, row, col);
    return v ? apr_atoi64(v) : 0;
}

/* a/b rounded to 4 decimals (0 when b is 0): rates are for people, not for float noise */
static json_t *ratio(apr_int64_t a, apr_int64_t b)
{
    return json_real(b ? (double)(apr_int64_t)((double)a * 10000.0 / (double)b + 0.5) / 10000.0 : 0.0);
}

/* ---------------------------------------------------------------- usage per grouping */

/* key and sort expressions per grouping: constants chosen by a validated enum, never user text */
static const struct { const char *group, *key, *order; } GROUP_SQL[] = {
    { "hour", "to_char(visit_time, 'HH24')", "1" },
    { "day", "to_char(visit_time, 'YYYY-MM-DD')", "1" },
    { "week", "to_char(visit_time, 'IYYY-\"W\"IW')", "1" },
    { "month", "to_char(visit_time, 'YYYY-MM')", "1" },
    { "dept", "department", "1" },
    { "template", "template_id || '|' || version", "1" },
    { "age_band", "CASE WHEN age < 7 THEN '0-6' WHEN age < 18 THEN '7-17' WHEN age < 45 THEN '18-44' "
                  "WHEN age < 60 THEN '45-59' WHEN age < 75 THEN '60-74' ELSE '75+' END", "min(age)" },
    { "sex", "sex", "1" },
    { "channel", "channel", "1" },
    { "entry", "coalesce(entry, 'unknown')", "1" },
    /* when patients fill the form in (the hour they submitted it, server time): the peaks to staff
     * the help desk for; '-' for the questionnaires not submitted */
    { "fill_hour", "coalesce(to_char(submitted_at, 'HH24'), '-')", "1" },
    { NULL, NULL, NULL }
};

static json_t *usage_obj(apr_int64_t v, apr_int64_t s, apr_int64_t c, apr_int64_t st, apr_int64_t o)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}", "visits", (json_int_t)v, "started", (json_int_t)s,
                     "completed", (json_int_t)c, "stopped", (json_int_t)st, "open", (json_int_t)o,
                     "completionRate", ratio(c, v));
}

apr_status_t consult_stats_usage(json_t **out, hg_db_t *db, apr_pool_t *p, const consult_stats_q_t *q)
{
    hg_db_result_t *r;
    json_t *rows, *o;
    apr_int64_t t[5] = { 0 };
    apr_status_t rv;
    int i, g;
    const char *sql;

    for (g = 0; GROUP_SQL[g].group && strcmp(GROUP_SQL[g].group, q->group); g++)
        ;
    if (!GROUP_SQL[g].group)
        return HG_EINVALID;
    /* the channel column may not exist in this schema: to_jsonb of the row reads it when it does */
    sql = apr_pstrcat(p,
        "WITH v AS (SELECT v.visit_time, v.department, v.template_id, v.version, v.sex, v.state, "
        "v.answers <> '{}'::jsonb AS any_answer, v.entry, v.submitted_at, "
        "date_part('year', age(v.visit_time::date, v.birth_date))::int AS age, ",
        strcmp(q->group, "channel") ? "NULL::text" : "coalesce(nullif(to_jsonb(v) ->> 'channel', ''), 'unknown')",
        " AS channel FROM consult.visits v WHERE v.institution = $1 AND v.visit_time >= $2::date "
        "AND v.visit_time < $3::date + 1 AND ($4::text IS NULL OR v.department = $4) "
        "AND ($5::text IS NULL OR v.template_id = $5)) "
        "SELECT ", GROUP_SQL[g].key, " AS k, count(*), "
        "count(*) FILTER (WHERE any_answer OR state <> 'in-progress'), count(*) FILTER (WHERE state = 'completed'), "
        "count(*) FILTER (WHERE state = 'stopped'), count(*) FILTER (WHERE state IN ('in-progress', 'review')) "
        "FROM v GROUP BY 1 ORDER BY ", GROUP_SQL[g].order, ", 1", NULL);
    if ((rv = hg_db_q(db, &r, sql, 5, q->institution, q->from, q->to, q->dept, q->template_id)))
        return rv;
    rows = json_array();
    for (i = 0; i < r->nrows; i++) {
        apr_int64_t v[5];
        int k;
        for (k = 0; k < 5; k++)
            t[k] += v[k] = col64(r, i, 1 + k);
        o = usage_obj(v[0], v[1], v[2], v[3], v[4]);
        json_object_set_new(o, "key", json_string(hg_db_val(r, i, 0) ? hg_db_val(r, i, 0) : ""));
        json_array_append_new(rows, o);
    }
    *out = hg_json_own(p, json_pack("{s:o, s:o}", "rows", rows, "totals", usage_obj(t[0], t[1], t[2], t[3], t[4])));
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- per question */

static int answerable(const char *type)
{
    static const char *const T[] = { "choice", "multi", "text", "number", "date", "boolean", NULL };
    int i;
    for (i = 0; type && T[i]; i++)
        if (!strcmp(type, T[i]))
            return 1;
    return 0;
}

/* every answerable item of the definition, depth first in template order */
static void flatten(json_t *items, apr_array_header_t *out)
{
    apr_size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        if (answerable(hg_json_gets(it, "type", NULL)))
            APR_ARRAY_PUSH(out, json_t *) = it;
        if (json_is_array(json_object_get(it, "items")))
            flatten(json_object_get(it, "items"), out);
    }
}

/* the options of a choice/multi item, or 是/否 for a boolean (codes "true"/"false" as SQL's #>> prints them) */
static json_t *options_of(json_t *it)
{
    const char *type = hg_json_gets(it, "type", NULL);
    json_t *o = json_array(), *opt;
    apr_size_t i;
    if (!strcmp(type, "boolean")) {
        json_array_append_new(o, json_pack("{s:s, s:s}", "code", "true", "display", "是"));
        json_array_append_new(o, json_pack("{s:s, s:s}", "code", "false", "display", "否"));
        return o;
    }
    json_array_foreach(json_object_get(it, "options"), i, opt) {
        const char *code = hg_json_gets(opt, "code", NULL);
        const char *disp = hg_json_gets(opt, "display", NULL);
        if (code)
            json_array_append_new(o, json_pack("{s:s, s:s}", "code", code, "display", disp ? disp : code));
    }
    return o;
}

#define QBASE "WITH b AS (SELECT v.id, v.answers FROM consult.visits v WHERE v.institution = $1 " \
    "AND v.template_id = $2 AND v.version = $3 AND v.state = 'completed' AND v.visit_time >= $4::date " \
    "AND v.visit_time < $5::date + 1 AND ($6::text IS NULL OR v.department = $6)) "

apr_status_t consult_stats_questions(json_t **out, hg_db_t *db, apr_pool_t *p, const consult_stats_q_t *q,
                                     const char *version)
{
    hg_db_result_t *r, *rk, *ro;
    json_t *def, *items, *res;
    apr_array_header_t *flat = apr_array_make(p, 32, sizeof(json_t *));
    apr_hash_t *per_key, *per_opt;
    const char *ver, *title, *codes_lit;
    apr_int64_t total;
    apr_status_t rv;
    int i, j = 0;

    if (version)
        rv = hg_db_q(db, &r, "SELECT version, definition::text FROM consult.templates WHERE template_id = $1 "
                     "AND version = $2", 2, q->template_id, version);
    else
        rv = hg_db_q(db, &r, "SELECT version, definition::text FROM consult.templates WHERE template_id = $1 "
                     "AND status = 'approved' ORDER BY approved_at DESC NULLS LAST, created_at DESC LIMIT 1",
                     1, q->template_id);
    if (rv)
        return rv;
    if (!r->nrows)
        return HG_ENOTFOUND;
    ver = hg_db_val(r, 0, 0);
    def = hg_json_own(p, json_loads(hg_db_val(r, 0, 1), 0, NULL));
    if (!json_is_object(def))
        return HG_EINVALID;
    title = hg_json_gets(def, "title", NULL);
    flatten(json_object_get(def, "items"), flat);

    /* the option-bearing items' linkIds as a text[] literal (each element quoted and escaped) */
    {
        apr_array_header_t *parts = apr_array_make(p, flat->nelts, sizeof(const char *));
        for (i = 0; i < flat->nelts; i++) {
            json_t *it = APR_ARRAY_IDX(flat, i, json_t *);
            const char *type = hg_json_gets(it, "type", NULL), *id = hg_json_gets(it, "linkId", NULL), *c;
            char *e, *w;
            if (!id || (strcmp(type, "choice") && strcmp(type, "multi") && strcmp(type, "boolean")))
                continue;
            w = e = apr_palloc(p, strlen(id) * 2 + 3);
            *w++ = '"';
            for (c = id; *c; c++) {
                if (*c == '"' || *c == '\\')
                    *w++ = '\\';
                *w++ = *c;
            }
            *w++ = '"';
            *w = '\0';
            APR_ARRAY_PUSH(parts, const char *) = e;
        }
        codes_lit = apr_pstrcat(p, "{", apr_array_pstrcat(p, parts, ','), "}", NULL);
    }

    if ((rv = hg_db_q(db, &r, QBASE "SELECT count(*) FROM b", 6, q->institution, q->template_id, ver,
                      q->from, q->to, q->dept)))
        return rv;
    total = col64(r, 0, 0);
    /* per key: asked, answered, and for numbers min / max / mean */
    if ((rv = hg_db_q(db, &rk, QBASE "SELECT e.key, count(*), "
                      "count(*) FILTER (WHERE e.value NOT IN ('null'::jsonb, '\"\"'::jsonb, '[]'::jsonb)), "
                      "min((e.value)::numeric) FILTER (WHERE jsonb_typeof(e.value) = 'number'), "
                      "max((e.value)::numeric) FILTER (WHERE jsonb_typeof(e.value) = 'number'), "
                      "round(avg((e.value)::numeric) FILTER (WHERE jsonb_typeof(e.value) = 'number'), 2) "
                      "FROM b CROSS JOIN LATERAL jsonb_each(b.answers) e GROUP BY e.key", 6,
                      q->institution, q->template_id, ver, q->from, q->to, q->dept)))
        return rv;
    /* per option: respondents (a code listed twice in one answer counts once) */
    if ((rv = hg_db_q(db, &ro, QBASE "SELECT e.key, o.code, count(DISTINCT b.id) "
                      "FROM b CROSS JOIN LATERAL jsonb_each(b.answers) e CROSS JOIN LATERAL ("
                      " SELECT e.value #>> '{}' WHERE jsonb_typeof(e.value) IN ('string', 'boolean')"
                      " UNION ALL SELECT x FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(e.value) = 'array'"
                      " THEN e.value ELSE '[]'::jsonb END) x) o(code) "
                      "WHERE e.key = ANY($7::text[]) GROUP BY 1, 2", 7,
                      q->institution, q->template_id, ver, q->from, q->to, q->dept, codes_lit)))
        return rv;
    per_key = apr_hash_make(p);
    for (i = 0; i < rk->nrows; i++)
        apr_hash_set(per_key, hg_db_val(rk, i, 0), APR_HASH_KEY_STRING, apr_itoa(p, i));
    per_opt = apr_hash_make(p);
    for (i = 0; i < ro->nrows; i++)
        apr_hash_set(per_opt, apr_pstrcat(p, hg_db_val(ro, i, 0), "\x1f", hg_db_val(ro, i, 1), NULL),
                     APR_HASH_KEY_STRING, hg_db_val(ro, i, 2));

    items = json_array();
    for (i = 0; i < flat->nelts; i++) {
        json_t *it = APR_ARRAY_IDX(flat, i, json_t *), *o, *opts, *opt;
        const char *id = hg_json_gets(it, "linkId", NULL), *type = hg_json_gets(it, "type", NULL);
        const char *row = id ? apr_hash_get(per_key, id, APR_HASH_KEY_STRING) : NULL;
        apr_int64_t asked = 0, answered = 0;
        apr_size_t k;
        if (!id)
            continue;
        if (row) {
            j = atoi(row);
            asked = col64(rk, j, 1);
            answered = col64(rk, j, 2);
        }
        o = json_pack("{s:s, s:s, s:s, s:s?, s:I, s:I, s:o}", "linkId", id, "type", type,
                      "text", hg_json_gets(it, "text", NULL) ? hg_json_gets(it, "text", NULL) : "",
                      "section", hg_json_gets(it, "section", NULL), "asked", (json_int_t)asked,
                      "answered", (json_int_t)answered, "completionRate", ratio(answered, asked));
        if (!strcmp(type, "choice") || !strcmp(type, "multi") || !strcmp(type, "boolean")) {
            opts = options_of(it);
            json_array_foreach(opts, k, opt) {
                const char *n = apr_hash_get(per_opt, apr_pstrcat(p, id, "\x1f", hg_json_gets(opt, "code", NULL), NULL),
                                             APR_HASH_KEY_STRING);
                apr_int64_t cnt = n ? apr_atoi64(n) : 0;
                json_object_set_new(opt, "count", json_integer((json_int_t)cnt));
                json_object_set_new(opt, "share", ratio(cnt, answered));
            }
            json_object_set_new(o, "options", opts);
        }
        if (!strcmp(type, "number") && row && hg_db_val(rk, j, 3))
            json_object_set_new(o, "number", json_pack("{s:f, s:f, s:f}", "min", atof(hg_db_val(rk, j, 3)),
                                "max", atof(hg_db_val(rk, j, 4)), "mean", atof(hg_db_val(rk, j, 5))));
        json_array_append_new(items, o);
    }
    res = json_pack("{s:s, s:s, s:s?, s:I, s:o}", "template", q->template_id, "version", ver, "title", title,
                    "questionnaires", (json_int_t)total, "items", items);
    *out = hg_json_own(p, res);
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- the day's list */

static const char *open_name(apr_pool_t *p, const unsigned char *key, const char *sealed)
{
    unsigned char *plain;
    apr_size_t len;
    if (!key || !sealed || hg_secret_open(&plain, &len, p, key, sealed) != APR_SUCCESS)
        return "?";
    return consult_mask_name(p, (const char *)plain);
}

apr_status_t consult_stats_day_list(json_t **out, hg_db_t *db, apr_pool_t *p, const unsigned char *master_key,
                                    const char *institution, const char *date, const char *dept,
                                    const char *state, const char *patient_id, int limit)
{
    hg_db_result_t *r;
    json_t *rows;
    apr_status_t rv;
    int i;
    if ((rv = hg_db_q(db, &r, "SELECT v.visit_no, v.patient_id, v.name_sealed, v.sex, "
                      "date_part('year', age(v.visit_time::date, v.birth_date))::int, v.department, v.doctor, "
                      "to_char(v.visit_time, 'YYYY-MM-DD HH24:MI:SS'), v.state, v.template_id || '|' || v.version, "
                      "t.definition ->> 'title', (SELECT count(*) FROM jsonb_object_keys(v.answers)), "
                      "to_char(v.submitted_at, 'YYYY-MM-DD HH24:MI:SS'), to_char(v.updated_at, 'YYYY-MM-DD HH24:MI:SS') "
                      "FROM consult.visits v JOIN consult.templates t USING (template_id, version) "
                      "WHERE v.institution = $1 AND ($2::date IS NULL OR (v.visit_time >= $2::date "
                      "AND v.visit_time < $2::date + 1)) AND ($6::text IS NULL OR v.patient_id = $6) "
                      "AND ($3::text IS NULL OR v.department = $3) AND ($4::text IS NULL OR v.state = $4) "
                      /* a day: per department in time; a patient's: newest first */
                      "ORDER BY CASE WHEN $6::text IS NULL THEN v.department END, "
                      "CASE WHEN $6::text IS NULL THEN v.visit_time END, v.visit_time DESC, v.id LIMIT $5::int + 1", 6,
                      institution, date, dept, state, apr_itoa(p, limit), patient_id)))
        return rv;
    rows = json_array();
    for (i = 0; i < r->nrows && i < limit; i++)
        json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s?, s:s, s:s, s:s, s:s?, s:I, s:s?, s:s?}",
            "visitNo", hg_db_val(r, i, 0), "patientId", hg_db_val(r, i, 1),
            "name", open_name(p, master_key, hg_db_val(r, i, 2)), "sex", hg_db_val(r, i, 3),
            "age", (json_int_t)col64(r, i, 4), "department", hg_db_val(r, i, 5), "doctor", hg_db_val(r, i, 6),
            "visitTime", hg_db_val(r, i, 7), "state", hg_db_val(r, i, 8), "template", hg_db_val(r, i, 9),
            "title", hg_db_val(r, i, 10), "answered", (json_int_t)col64(r, i, 11),
            "submittedAt", hg_db_val(r, i, 12), "updatedAt", hg_db_val(r, i, 13)));
    *out = hg_json_own(p, json_pack("{s:s?, s:s?, s:o, s:b}", "date", date, "patientId", patient_id, "sessions", rows,
                                    "truncated", r->nrows > limit));
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- one questionnaire */

static const char *join(apr_pool_t *p, const apr_array_header_t *a, const char *sep)
{
    const char *out = "";
    int i;
    for (i = 0; i < a->nelts; i++)
        out = apr_pstrcat(p, out, i ? sep : "", APR_ARRAY_IDX(a, i, const char *), NULL);
    return out;
}

/* one answer value as the patient saw it: an option's display for a code */
static const char *value_text(apr_pool_t *p, json_t *it, json_t *x)
{
    json_t *opt;
    apr_size_t k;
    if (json_is_string(x)) {
        const char *s = json_string_value(x), *code;
        json_array_foreach(json_object_get(it, "options"), k, opt)
            if ((code = hg_json_gets(opt, "code", NULL)) && !strcmp(code, s))
                return hg_json_gets(opt, "display", NULL) ? hg_json_gets(opt, "display", NULL) : s;
        return s;
    }
    if (json_is_true(x))
        return "是";
    if (json_is_false(x))
        return "否";
    if (json_is_null(x))
        return "（跳过）";
    return hg_json_dump(p, x, 0);
}

static const char *answer_text(apr_pool_t *p, json_t *it, json_t *v)
{
    apr_array_header_t *parts;
    json_t *x;
    apr_size_t i;
    if (!json_is_array(v))
        return value_text(p, it, v);
    parts = apr_array_make(p, 4, sizeof(const char *));
    json_array_foreach(v, i, x)
        APR_ARRAY_PUSH(parts, const char *) = value_text(p, it, x);
    return parts->nelts ? join(p, parts, "、") : "无";
}

apr_status_t consult_stats_visit(json_t **out, const char **department, hg_db_t *db, apr_pool_t *p,
                                 const unsigned char *master_key, const char *institution,
                                 const char *visit_no)
{
    hg_db_result_t *r;
    json_t *def, *answers, *summary = NULL, *sections = NULL, *list, *o, *pruned;
    apr_array_header_t *flat = apr_array_make(p, 32, sizeof(json_t *)), *narr;
    consult_template_t *t = NULL;
    consult_ctx_t ctx;
    hg_error_t *err = NULL;
    const char *state, *advice = NULL, *narrative = NULL;
    apr_status_t rv;
    int i;

    if ((rv = hg_db_q(db, &r, "SELECT v.visit_no, v.patient_id, v.name_sealed, v.sex, v.birth_date::text, "
                      "date_part('year', age(v.visit_time::date, v.birth_date))::int, v.department, v.doctor, "
                      "to_char(v.visit_time, 'YYYY-MM-DD HH24:MI:SS'), v.state, v.template_id, v.version, "
                      "t.definition::text, v.answers::text, v.summary::text, "
                      "to_char(v.submitted_at, 'YYYY-MM-DD HH24:MI:SS'), to_char(v.created_at, 'YYYY-MM-DD HH24:MI:SS') "
                      "FROM consult.visits v JOIN consult.templates t USING (template_id, version) "
                      "WHERE v.institution = $1 AND v.visit_no = $2", 2, institution, visit_no)))
        return rv;
    if (!r->nrows)
        return HG_ENOTFOUND;
    *department = hg_db_val(r, 0, 6);
    state = hg_db_val(r, 0, 9);
    def = hg_json_own(p, json_loads(hg_db_val(r, 0, 12), 0, NULL));
    answers = hg_json_own(p, json_loads(hg_db_val(r, 0, 13), 0, NULL));
    if (!json_is_object(answers))
        answers = hg_json_object(p);
    if (hg_db_val(r, 0, 14))
        summary = hg_json_own(p, json_loads(hg_db_val(r, 0, 14), 0, NULL));
    ctx.sex = hg_db_val(r, 0, 3);
    ctx.birth_date = hg_db_val(r, 0, 4);
    ctx.today = consult_today(p);
    if (json_is_object(def) && consult_template_load(&t, p, def, &err) != APR_SUCCESS)
        t = NULL;

    /* the sections: as submitted (the patient may have edited them), else what the answers say now */
    if (summary && json_is_object(json_object_get(summary, "sections")))
        sections = json_object_get(summary, "sections");
    else if (t && consult_prune(&pruned, p, t, answers, &ctx) == APR_SUCCESS)
        consult_summary(&sections, p, t, pruned, &ctx);
    if (summary && json_is_string(json_object_get(summary, "narrative")))
        narrative = json_string_value(json_object_get(summary, "narrative"));
    if (!narrative && json_is_object(sections)) {
        narr = apr_array_make(p, 6, sizeof(const char *));
        for (i = 0; SECTION_KEYS[i]; i++) {
            const char *s = hg_json_gets(sections, SECTION_KEYS[i], NULL);
            if (s && *s)
                APR_ARRAY_PUSH(narr, const char *) = apr_pstrcat(p, SECTION_LABELS[i], "：", s, NULL);
        }
        narrative = join(p, narr, "\n");
    }
    if (t && !strcmp(state, "stopped"))
        consult_state(t, answers, &ctx, &advice, p);

    /* the answers in template order, with the question and the answer as the patient saw them */
    list = json_array();
    if (json_is_object(def))
        flatten(json_object_get(def, "items"), flat);
    for (i = 0; i < flat->nelts; i++) {
        json_t *it = APR_ARRAY_IDX(flat, i, json_t *);
        const char *id = hg_json_gets(it, "linkId", NULL);
        json_t *v = id ? json_object_get(answers, id) : NULL;
        if (!v)
            continue;
        json_array_append_new(list, json_pack("{s:s, s:s, s:s?, s:O, s:s, s:b}", "linkId", id,
            "text", hg_json_gets(it, "text", NULL) ? hg_json_gets(it, "text", NULL) : "",
            "section", hg_json_gets(it, "section", NULL), "value", v, "display", answer_text(p, it, v),
            "applies", t ? consult_enabled(t, answers, &ctx, id, p) : 1));
    }
    o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s?, s:s, s:s, s:s, s:s?, s:o, s:O?, s:s?, s:s?, s:s?, s:s?}",
                  "visitNo", hg_db_val(r, 0, 0), "patientId", hg_db_val(r, 0, 1),
                  "name", open_name(p, master_key, hg_db_val(r, 0, 2)), "sex", hg_db_val(r, 0, 3),
                  "age", (json_int_t)col64(r, 0, 5), "department", hg_db_val(r, 0, 6), "doctor", hg_db_val(r, 0, 7),
                  "visitTime", hg_db_val(r, 0, 8), "state", state,
                  "template", apr_pstrcat(p, hg_db_val(r, 0, 10), "|", hg_db_val(r, 0, 11), NULL),
                  "title", json_is_object(def) ? hg_json_gets(def, "title", NULL) : NULL,
                  "answers", list, "sections", json_is_object(sections) ? sections : NULL,
                  "narrative", narrative, "advice", advice, "submittedAt", hg_db_val(r, 0, 15),
                  "createdAt", hg_db_val(r, 0, 16));
    *out = hg_json_own(p, o);
    return o ? APR_SUCCESS : HG_EINVALID;
}

/* ---------------------------------------------------------------- CSV */

static int is_number(const char *s)
{
    char *end;
    if (!*s)
        return 0;
    strtod(s, &end);
    return *end == '\0';
}

static const char *csv_cell(apr_pool_t *p, const char *s)
{
    const char *q;
    char *out, *o;
    if (!s)
        return "";
    if (s[0] && strchr("=+-@\t\r", s[0]) && !is_number(s))
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

const char *consult_csv(apr_pool_t *p, const apr_array_header_t *rows)
{
    apr_array_header_t *out = apr_array_make(p, 64, sizeof(const char *));
    int i, j = 0;
    APR_ARRAY_PUSH(out, const char *) = "\xEF\xBB\xBF";     /* the BOM makes Excel read UTF-8 */
    for (i = 0; i < rows->nelts; i++) {
        const apr_array_header_t *row = APR_ARRAY_IDX(rows, i, const apr_array_header_t *);
        for (j = 0; j < row->nelts; j++) {
            APR_ARRAY_PUSH(out, const char *) = csv_cell(p, APR_ARRAY_IDX(row, j, const char *));
            APR_ARRAY_PUSH(out, const char *) = j + 1 < row->nelts ? "," : "\r\n";
        }
    }
    return apr_array_pstrcat(p, out, 0);
}
