/* mod_consult: the staff console's lists and statistics (预问诊统计) under /consult/staff/v1/.
 *   GET sessions?date=&patientId=&dept=&state=&limit=  the day's questionnaires, or a patient's (names masked)
 *   GET sessions/<visitNo>                       one questionnaire: answers, sections, narrative
 *   GET stats?from=&to=&dept=&template=&group=   usage per hour/day/week/month/dept/template/age band/sex/channel
 *   GET stats/questions?template=&version=&from=&to=&dept=   per question: options, completion rate
 * every one with &format=csv.  Who sees what: admin and consult_admin every department of their
 * institution; consult_doctor, consult_author and consult_reviewer only the department of their
 * account; anyone else 403.
 * The figures and the SQL are in consult_stats.c. */
#include <string.h>
#include "httpd.h"
#include "http_log.h"
#include "util_script.h"
#include "apr_strings.h"
#include "hg_glue.h"
#include "consult_store.h"
#include "consult_stats.h"
#include "mod_consult_stats.h"

#define MAX_DAYS    366
#define LIST_LIMIT  500
#define LIST_MAX    2000

static const char *const FORMATS[] = { "json", "csv", NULL };
static const char *const STATES[] = { "in-progress", "review", "completed", "stopped", NULL };
static const char *const SEX_LABEL[][2] = { { "M", "男" }, { "F", "女" } };


/* the caller's scope: *dept in = the asked department (NULL = all), out = what they may see */
static apr_status_t scope(hg_call_t *c, const char **dept)
{
    const char *mine = c->staff_department;
    if (hg_call_has_role(c, "admin") || hg_call_has_role(c, "consult_admin"))
        return APR_SUCCESS;
    /* a department's doctors, and its template authors and reviewers (mod_consult_staff.c) */
    if (!hg_call_has_role(c, "consult_doctor") && !hg_call_has_role(c, "consult_author")
        && !hg_call_has_role(c, "consult_reviewer"))
        return hg_call_fail(c, "HG_FORBIDDEN", NULL,
                            "this needs the role consult_doctor, consult_author, consult_reviewer or consult_admin");
    if (!mine || !*mine)
        return hg_call_fail(c, "HG_FORBIDDEN", "dept", "your account has no department");
    if (*dept && strcmp(*dept, mine))
        return hg_call_fail(c, "HG_FORBIDDEN", "dept", "only your own department (仅限本科室)");
    *dept = mine;
    return APR_SUCCESS;
}

apr_status_t consult_check_period(hg_call_t *c, const char *from, const char *to)
{
    long f = consult_stats_days(from), t = consult_stats_days(to);
    if (f > t)
        return hg_call_fail(c, "HG_FIELD_RANGE", "from", "from is after to");
    if (t - f + 1 > MAX_DAYS)
        return hg_call_fail(c, "HG_FIELD_RANGE", "to", apr_psprintf(c->pool, "at most %d days at once", MAX_DAYS));
    return APR_SUCCESS;
}

/* from/to: both optional (to = today, from = 29 days before to), from <= to, at most a year */
static apr_status_t date_range(hg_call_t *c, json_t *q, consult_stats_q_t *sq)
{
    sq->to = hg_json_opt(q, "to") ? hg_json_opt(q, "to") : consult_stats_ymd(c->pool, consult_stats_days(consult_today(c->pool)));
    sq->from = hg_json_opt(q, "from") ? hg_json_opt(q, "from") : consult_stats_ymd(c->pool, consult_stats_days(sq->to) - 29);
    return consult_check_period(c, sq->from, sq->to);
}

static apr_array_header_t *row_new(apr_pool_t *p, apr_array_header_t *rows)
{
    apr_array_header_t *r = apr_array_make(p, 12, sizeof(const char *));
    APR_ARRAY_PUSH(rows, apr_array_header_t *) = r;
    return r;
}
#define CELL(row, s) (APR_ARRAY_PUSH((row), const char *) = (s))

static const char *i64s(apr_pool_t *p, json_t *o, const char *key)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(json_object_get(o, key)));
}

static const char *pct(apr_pool_t *p, json_t *o, const char *key)
{
    return apr_psprintf(p, "%.1f%%", 100.0 * json_number_value(json_object_get(o, key)));
}

static apr_status_t answer_csv(hg_call_t *c, apr_array_header_t *rows, const char *filename)
{
    c->out_body = consult_csv(c->pool, rows);
    c->out_len = strlen(c->out_body);
    c->out_type = "text/csv; charset=utf-8";
    apr_table_setn(c->r->headers_out, "Content-Disposition",
                   apr_psprintf(c->pool, "attachment; filename=\"%s\"", filename));
    return APR_SUCCESS;
}

static const char *sex_label(const char *s)
{
    size_t i;
    for (i = 0; s && i < sizeof(SEX_LABEL) / sizeof(SEX_LABEL[0]); i++)
        if (!strcmp(s, SEX_LABEL[i][0]))
            return SEX_LABEL[i][1];
    return s;
}

static const char *state_label(const char *s)
{
    return !s ? "" : !strcmp(s, "in-progress") ? "填写中" : !strcmp(s, "review") ? "待确认"
         : !strcmp(s, "completed") ? "已提交" : !strcmp(s, "stopped") ? "已终止(建议急诊)" : s;
}

/* ---------------------------------------------------------------- the day's list */

static const hg_field_t LIST_QUERY[] = {
    { .name = "date", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    { .name = "patientId", .type = HG_JT_STRING, .max_len = 50 },
    { .name = "dept", .type = HG_JT_STRING, .max_len = 50 },
    { .name = "state", .type = HG_JT_STRING, .enum_values = STATES },
    { .name = "limit", .type = HG_JT_STRING, .pattern = "[0-9]{1,4}" },
    { .name = "format", .type = HG_JT_STRING, .enum_values = FORMATS },
    HG_FIELDS_END_CLOSED
};

/* GET /consult/staff/v1/sessions */
static apr_status_t route_list(hg_call_t *c)
{
    json_t *q, *out, *s;
    const char *date, *dept, *lim, *fmt;
    int limit = LIST_LIMIT;
    apr_size_t i;
    apr_status_t rv;

    if ((rv = hg_call_query(c, LIST_QUERY, &q)))
        return rv;
    dept = hg_json_opt(q, "dept");
    if ((rv = scope(c, &dept)))
        return rv;
    if ((lim = hg_json_opt(q, "limit")) && ((limit = atoi(lim)) < 1 || limit > LIST_MAX))
        return hg_call_fail(c, "HG_FIELD_RANGE", "limit", apr_psprintf(c->pool, "1 to %d", LIST_MAX));
    /* a patient's questionnaires: every day unless one is asked; else the day's, today by default */
    date = hg_json_opt(q, "date") ? hg_json_opt(q, "date") : hg_json_opt(q, "patientId") ? NULL : consult_today(c->pool);
    if ((rv = consult_stats_day_list(&out, c->db, c->pool, c->master_key, c->institution, date, dept,
                                     hg_json_opt(q, "state"), hg_json_opt(q, "patientId"), limit)))
        return rv;
    if ((fmt = hg_json_opt(q, "format")) && !strcmp(fmt, "csv")) {
        apr_array_header_t *rows = apr_array_make(c->pool, 64, sizeof(apr_array_header_t *)), *r;
        r = row_new(c->pool, rows);
        CELL(r, "就诊号"); CELL(r, "患者ID"); CELL(r, "姓名"); CELL(r, "性别"); CELL(r, "年龄"); CELL(r, "科室");
        CELL(r, "医生"); CELL(r, "就诊时间"); CELL(r, "状态"); CELL(r, "问卷"); CELL(r, "已答题数"); CELL(r, "提交时间");
        json_array_foreach(json_object_get(out, "sessions"), i, s) {
            r = row_new(c->pool, rows);
            CELL(r, hg_json_gets(s, "visitNo", NULL)); CELL(r, hg_json_gets(s, "patientId", NULL));
            CELL(r, hg_json_gets(s, "name", NULL)); CELL(r, sex_label(hg_json_gets(s, "sex", NULL)));
            CELL(r, i64s(c->pool, s, "age")); CELL(r, hg_json_gets(s, "department", NULL));
            CELL(r, hg_json_gets(s, "doctor", NULL)); CELL(r, hg_json_gets(s, "visitTime", NULL));
            CELL(r, state_label(hg_json_gets(s, "state", NULL)));
            CELL(r, hg_json_gets(s, "title", NULL) ? hg_json_gets(s, "title", NULL) : hg_json_gets(s, "template", NULL));
            CELL(r, i64s(c->pool, s, "answered")); CELL(r, hg_json_gets(s, "submittedAt", NULL));
        }
        return answer_csv(c, rows, apr_psprintf(c->pool, "consult-sessions-%s.csv", date ? date : "patient"));
    }
    return hg_call_answer(c, 200, json_incref(out));
}

/* GET /consult/staff/v1/sessions/<visitNo> */
static apr_status_t route_visit(hg_call_t *c)
{
    static const hg_field_t schema[] = { HG_FIELDS_END_CLOSED };
    json_t *q, *out;
    const char *dept = NULL, *vdept;
    apr_status_t rv;
    if ((rv = hg_call_query(c, schema, &q)))
        return rv;
    if (strchr(c->path_rest, '/') || strlen(c->path_rest) > 50)
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
    if ((rv = scope(c, &dept)))
        return rv;
    rv = consult_stats_visit(&out, &vdept, c->db, c->pool, c->master_key, c->institution, c->path_rest);
    if (rv == HG_ENOTFOUND)
        return hg_call_fail(c, "HG_NOT_FOUND", "visitNo", "no pre-consultation for this visit");
    if (rv)
        return rv;
    if (dept && strcmp(dept, vdept))
        return hg_call_fail(c, "HG_FORBIDDEN", "visitNo", "a visit of another department (非本科室就诊)");
    return hg_call_answer(c, 200, json_incref(out));
}

/* ---------------------------------------------------------------- statistics */

static const hg_field_t STATS_QUERY[] = {
    { .name = "from", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    { .name = "to", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    { .name = "dept", .type = HG_JT_STRING, .max_len = 50 },
    { .name = "template", .type = HG_JT_STRING, .pattern = "[A-Za-z0-9_.-]{1,64}" },
    { .name = "group", .type = HG_JT_STRING, .enum_values = CONSULT_STATS_GROUPS },
    { .name = "format", .type = HG_JT_STRING, .enum_values = FORMATS },
    HG_FIELDS_END_CLOSED
};

static const char *group_label(const char *g)
{
    return !strcmp(g, "hour") ? "时段" : !strcmp(g, "day") ? "日期" : !strcmp(g, "week") ? "周"
         : !strcmp(g, "month") ? "月份" : !strcmp(g, "dept") ? "科室" : !strcmp(g, "template") ? "问卷"
         : !strcmp(g, "age_band") ? "年龄段" : !strcmp(g, "sex") ? "性别" : "入口渠道";
}

/* GET /consult/staff/v1/stats */
static apr_status_t route_stats(hg_call_t *c)
{
    consult_stats_q_t sq = { 0 };
    json_t *q, *out, *row;
    const char *fmt;
    apr_size_t i;
    apr_status_t rv;

    if ((rv = hg_call_query(c, STATS_QUERY, &q)))
        return rv;
    sq.dept = hg_json_opt(q, "dept");
    if ((rv = scope(c, &sq.dept)) || (rv = date_range(c, q, &sq)))
        return rv;
    sq.institution = c->institution;
    sq.template_id = hg_json_opt(q, "template");
    sq.group = hg_json_opt(q, "group") ? hg_json_opt(q, "group") : "day";
    if ((rv = hg_call_report_begin(c)))
        return rv;
    if ((rv = consult_stats_usage(&out, c->db, c->pool, &sq)))
        return rv;
    if ((fmt = hg_json_opt(q, "format")) && !strcmp(fmt, "csv")) {
        apr_array_header_t *rows = apr_array_make(c->pool, 64, sizeof(apr_array_header_t *)), *r;
        json_t *tot = json_object_get(out, "totals");
        r = row_new(c->pool, rows);
        CELL(r, group_label(sq.group)); CELL(r, "问卷数"); CELL(r, "已开始"); CELL(r, "已提交"); CELL(r, "红旗终止");
        CELL(r, "未完成"); CELL(r, "完成率");
        json_array_foreach(json_object_get(out, "rows"), i, row) {
            const char *k = hg_json_gets(row, "key", NULL);
            r = row_new(c->pool, rows);
            CELL(r, !strcmp(sq.group, "sex") ? sex_label(k) : k);
            CELL(r, i64s(c->pool, row, "visits")); CELL(r, i64s(c->pool, row, "started"));
            CELL(r, i64s(c->pool, row, "completed")); CELL(r, i64s(c->pool, row, "stopped"));
            CELL(r, i64s(c->pool, row, "open")); CELL(r, pct(c->pool, row, "completionRate"));
        }
        r = row_new(c->pool, rows);
        CELL(r, "合计");
        CELL(r, i64s(c->pool, tot, "visits")); CELL(r, i64s(c->pool, tot, "started"));
        CELL(r, i64s(c->pool, tot, "completed")); CELL(r, i64s(c->pool, tot, "stopped"));
        CELL(r, i64s(c->pool, tot, "open")); CELL(r, pct(c->pool, tot, "completionRate"));
        return answer_csv(c, rows, apr_psprintf(c->pool, "consult-stats-%s-%s-%s.csv", sq.group, sq.from, sq.to));
    }
    json_object_set_new(out, "from", json_string(sq.from));
    json_object_set_new(out, "to", json_string(sq.to));
    json_object_set_new(out, "group", json_string(sq.group));
    json_object_set_new(out, "dept", sq.dept ? json_string(sq.dept) : json_null());
    json_object_set_new(out, "template", sq.template_id ? json_string(sq.template_id) : json_null());
    return hg_call_answer(c, 200, json_incref(out));
}

static const hg_field_t QUESTIONS_QUERY[] = {
    { .name = "template", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .pattern = "[A-Za-z0-9_.-]{1,64}" },
    { .name = "version", .type = HG_JT_STRING, .pattern = "[A-Za-z0-9_.-]{1,32}" },
    { .name = "from", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    { .name = "to", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    { .name = "dept", .type = HG_JT_STRING, .max_len = 50 },
    { .name = "format", .type = HG_JT_STRING, .enum_values = FORMATS },
    HG_FIELDS_END_CLOSED
};

/* GET /consult/staff/v1/stats/questions */
static apr_status_t route_questions(hg_call_t *c)
{
    consult_stats_q_t sq = { 0 };
    json_t *q, *out, *it, *o;
    const char *fmt;
    apr_size_t i, k;
    apr_status_t rv;

    if ((rv = hg_call_query(c, QUESTIONS_QUERY, &q)))
        return rv;
    sq.dept = hg_json_opt(q, "dept");
    if ((rv = scope(c, &sq.dept)) || (rv = date_range(c, q, &sq)))
        return rv;
    sq.institution = c->institution;
    sq.template_id = hg_json_opt(q, "template");
    if ((rv = hg_call_report_begin(c)))
        return rv;
    rv = consult_stats_questions(&out, c->db, c->pool, &sq, hg_json_opt(q, "version"));
    if (rv == HG_ENOTFOUND)
        return hg_call_fail(c, "HG_NOT_FOUND", hg_json_opt(q, "version") ? "version" : "template", "no such questionnaire template");
    if (rv)
        return rv;
    if ((fmt = hg_json_opt(q, "format")) && !strcmp(fmt, "csv")) {
        apr_array_header_t *rows = apr_array_make(c->pool, 64, sizeof(apr_array_header_t *)), *r;
        r = row_new(c->pool, rows);
        CELL(r, "题目编码"); CELL(r, "题目"); CELL(r, "题型"); CELL(r, "应答人数"); CELL(r, "作答人数"); CELL(r, "完成率");
        CELL(r, "选项编码"); CELL(r, "选项"); CELL(r, "选择人数"); CELL(r, "占比");
        json_array_foreach(json_object_get(out, "items"), i, it) {
            json_t *opts = json_object_get(it, "options");
            const char *head[6] = { hg_json_gets(it, "linkId", NULL), hg_json_gets(it, "text", NULL),
                                    hg_json_gets(it, "type", NULL), i64s(c->pool, it, "asked"),
                                    i64s(c->pool, it, "answered"), pct(c->pool, it, "completionRate") };
            int h;
            if (!json_array_size(opts)) {
                r = row_new(c->pool, rows);
                for (h = 0; h < 6; h++)
                    CELL(r, head[h]);
                CELL(r, NULL); CELL(r, NULL); CELL(r, NULL); CELL(r, NULL);
                continue;
            }
            json_array_foreach(opts, k, o) {
                r = row_new(c->pool, rows);
                for (h = 0; h < 6; h++)
                    CELL(r, head[h]);
                CELL(r, hg_json_gets(o, "code", NULL)); CELL(r, hg_json_gets(o, "display", NULL));
                CELL(r, i64s(c->pool, o, "count")); CELL(r, pct(c->pool, o, "share"));
            }
        }
        return answer_csv(c, rows, apr_psprintf(c->pool, "consult-questions-%s-%s.csv", sq.template_id,
                                                hg_json_gets(out, "version", NULL)));
    }
    json_object_set_new(out, "from", json_string(sq.from));
    json_object_set_new(out, "to", json_string(sq.to));
    json_object_set_new(out, "dept", sq.dept ? json_string(sq.dept) : json_null());
    return hg_call_answer(c, 200, json_incref(out));
}

const hg_route_t consult_stats_routes[] = {
    { "GET", "/consult/staff/v1/sessions", HG_R_STAFF | HG_R_AUDIT, NULL, route_list },
    { "GET", "/consult/staff/v1/sessions/", HG_R_STAFF | HG_R_AUDIT | HG_R_PREFIX, NULL, route_visit },
    { "GET", "/consult/staff/v1/stats", HG_R_STAFF, NULL, route_stats },
    { "GET", "/consult/staff/v1/stats/questions", HG_R_STAFF, NULL, route_questions },
    { NULL }
};
