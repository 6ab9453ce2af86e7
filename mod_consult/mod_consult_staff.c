/* mod_consult: the staff routes under /consult/staff/v1/ — authoring and review of questionnaire
 * templates (draft -> review -> approved | rejected), preview, FHIR R4 import/export, and the
 * rules that choose a template for a visit.
 *
 * Roles (a staff user's roles; "admin" passes everything):
 *   consult_author    creates and edits drafts of their own department (department and disease scope)
 *   consult_reviewer  approves or rejects versions of their own department; never their own work
 *   consult_admin     all departments, and the institution-wide templates (which others only read)
 * A user sees the institution-wide templates and those of their department (consult_admin: all).
 * mod_hisgate checks the session and CSRF before we are called. */
#include <string.h>
#include "httpd.h"
#include "http_log.h"
#include "util_script.h"
#include "apr_strings.h"
#include "mod_consult_private.h"
#include "consult_fhir.h"

APLOG_USE_MODULE(consult);

#define ID_PATTERN "[A-Za-z0-9_.-]{1,64}"

/* ---------------------------------------------------------------- roles */

static int is_admin(hg_call_t *c) { return hg_call_has_role(c, "consult_admin") || hg_call_has_role(c, "admin"); }
static int is_author(hg_call_t *c) { return hg_call_has_role(c, "consult_author") || is_admin(c); }
static int is_reviewer(hg_call_t *c) { return hg_call_has_role(c, "consult_reviewer") || is_admin(c); }

static int own_dept(hg_call_t *c, const char *dept)
{
    return dept && c->staff_department && *c->staff_department && !strcmp(dept, c->staff_department);
}

/* dept NULL = institution-wide */
static int may_see(hg_call_t *c, const char *dept) { return is_admin(c) || !dept || own_dept(c, dept); }
static int may_edit(hg_call_t *c, const char *dept) { return is_author(c) && (is_admin(c) || own_dept(c, dept)); }
static int may_review(hg_call_t *c, const char *dept) { return is_reviewer(c) && (is_admin(c) || own_dept(c, dept)); }

static apr_status_t need_role(hg_call_t *c)
{
    if (is_author(c) || is_reviewer(c))
        return APR_SUCCESS;
    return hg_call_fail(c, "HG_FORBIDDEN", NULL, "this needs the role consult_author, consult_reviewer or consult_admin");
}

/* a doctor reads the published templates of their department and the institution-wide ones
 * (医生查看本科室发布的问卷模板): approved versions only, nothing to write */
static int reader_only(hg_call_t *c) { return !is_author(c) && !is_reviewer(c); }

static apr_status_t need_reader(hg_call_t *c)
{
    if (!reader_only(c) || hg_call_has_role(c, "consult_doctor"))
        return APR_SUCCESS;
    return hg_call_fail(c, "HG_FORBIDDEN", NULL,
                        "this needs the role consult_doctor, consult_author, consult_reviewer or consult_admin");
}

/* ---------------------------------------------------------------- helpers */

typedef struct tver_t tver_t;
static int t_is_own_work(hg_call_t *c, const tver_t *t);

struct tver_t {
    const char *template_id, *version, *department, *disease, *status, *title, *scope;
    const char *created_by, *updated_by, *submitted_by, *reviewed_by, *review_comment, *approved_by, *updated_at;
    json_t *definition;
};

#define TVER_COLS "template_id, version, department, disease, status, title, scope, created_by, updated_by, " \
    "submitted_by, reviewed_by, review_comment, approved_by, to_char(updated_at, 'YYYY-MM-DD\"T\"HH24:MI:SSOF'), " \
    "definition::text"

static tver_t *tver_of(apr_pool_t *p, hg_db_result_t *r, int i)
{
    tver_t *t = apr_pcalloc(p, sizeof(*t));
    t->template_id = hg_db_val(r, i, 0);
    t->version = hg_db_val(r, i, 1);
    t->department = hg_db_val(r, i, 2);
    t->disease = hg_db_val(r, i, 3);
    t->status = hg_db_val(r, i, 4);
    t->title = hg_db_val(r, i, 5);
    t->scope = hg_db_val(r, i, 6);
    t->created_by = hg_db_val(r, i, 7);
    t->updated_by = hg_db_val(r, i, 8);
    t->submitted_by = hg_db_val(r, i, 9);
    t->reviewed_by = hg_db_val(r, i, 10);
    t->review_comment = hg_db_val(r, i, 11);
    t->approved_by = hg_db_val(r, i, 12);
    t->updated_at = hg_db_val(r, i, 13);
    t->definition = hg_json_own(p, json_loads(hg_db_val(r, i, 14), 0, NULL));
    return t;
}

static json_t *tver_json(hg_call_t *c, const tver_t *t, int with_def)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s, s:b, s:b}",
        "templateId", t->template_id, "version", t->version, "title", t->title, "department", t->department,
        "disease", t->disease, "scope", t->scope, "status", t->status, "createdBy", t->created_by,
        "updatedBy", t->updated_by, "submittedBy", t->submitted_by, "reviewedBy", t->reviewed_by,
        "reviewComment", t->review_comment, "approvedBy", t->approved_by, "updatedAt", t->updated_at,
        "editable", may_edit(c, t->department) && strcmp(t->status, "review") != 0,
        "reviewable", !strcmp(t->status, "review") && may_review(c, t->department) && !t_is_own_work(c, t));
    if (with_def && t->definition)
        json_object_set(o, "definition", t->definition);
    return o;
}

static apr_status_t load_version(hg_call_t *c, const char *tid, const char *ver, int lock, tver_t **out)
{
    hg_db_result_t *r;
    apr_status_t rv = hg_db_q(c->db, &r, lock ? "SELECT " TVER_COLS " FROM consult.templates WHERE template_id = $1 "
                                                "AND version = $2 FOR UPDATE"
                                              : "SELECT " TVER_COLS " FROM consult.templates WHERE template_id = $1 "
                                                "AND version = $2", 2, tid, ver);
    if (rv)
        return rv;
    if (!r->nrows)
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, "no such template version");
    *out = tver_of(c->pool, r, 0);
    if (!may_see(c, (*out)->department) || (reader_only(c) && strcmp((*out)->status, "approved")))
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, "no such template version");   /* not even its existence */
    return APR_SUCCESS;
}

/* the definition checked as the engine will run it; id and version are the row's */
static apr_status_t check_definition(hg_call_t *c, json_t *def, const char *tid, const char *ver, const char *field)
{
    consult_template_t *t;
    hg_error_t *e = NULL;
    if (!json_is_object(def))
        return hg_call_fail(c, "HG_FIELD_TYPE", field, "the definition is a JSON object");
    json_object_set_new(def, "id", json_string(tid));
    json_object_set_new(def, "version", json_string(ver));
    if (consult_template_load(&t, c->pool, def, &e) != APR_SUCCESS) {
        c->err = hg_error_make(c->pool, HG_CONSULT_TEMPLATE, e && e->field ? apr_pstrcat(c->pool, field, ".", e->field, NULL)
                               : field, "%s", e ? e->message : "invalid");
        return HG_EINVALID;
    }
    return APR_SUCCESS;
}

static const char *next_version(hg_call_t *c, const char *tid)
{
    hg_db_result_t *r;
    if (hg_db_q(c->db, &r, "SELECT coalesce(max(version::int), 0) + 1 FROM consult.templates WHERE template_id = $1 "
                "AND version ~ '^[0-9]{1,9}$'", 1, tid) || !r->nrows)
        return NULL;
    return hg_db_val(r, 0, 0);
}

static apr_status_t insert_version(hg_call_t *c, const char *tid, const char *ver, const char *dept, const char *disease,
                                   const char *title, json_t *def)
{
    hg_db_result_t *r;
    apr_status_t rv = hg_db_q(c->db, &r, "INSERT INTO consult.templates (template_id, version, department, disease, title, "
                              "status, definition, created_by, updated_by) VALUES ($1, $2, $3, $4, $5, 'draft', $6::jsonb, $7, $7) "
                              "ON CONFLICT (template_id, version) DO NOTHING RETURNING 1", 7, tid, ver, dept, disease,
                              title ? title : "", hg_json_dump(c->pool, def, HG_JSON_DUMP_SORTED), c->staff_user);
    if (rv)
        return rv;
    if (!r->nrows)      /* a concurrent author took this version */
        return hg_call_fail(c, "HG_CONFLICT", "version", "this version was just created by someone else: try again");
    return APR_SUCCESS;
}

static apr_status_t answer_version(hg_call_t *c, int status, const char *tid, const char *ver)
{
    tver_t *t;
    apr_status_t rv;
    if ((rv = load_version(c, tid, ver, 0, &t)))
        return rv;
    return hg_call_answer(c, status, tver_json(c, t, 1));
}

/* ---------------------------------------------------------------- list, create, import */

static const hg_field_t LIST_SCHEMA[] = {
    { .name = "status", .type = HG_JT_STRING,
      .enum_values = (const char *const[]){ "draft", "review", "approved", "rejected", NULL } },
    HG_FIELDS_END_CLOSED
};

/* GET /consult/staff/v1/templates[?status=] */
static apr_status_t route_list(hg_call_t *c)
{
    json_t *q, *a = json_array();
    const char *status;
    hg_db_result_t *r;
    apr_status_t rv;
    int i;
    if ((rv = need_reader(c)) || (rv = hg_call_query(c, LIST_SCHEMA, &q)))
        return rv;
    status = reader_only(c) ? "approved" : hg_json_gets(q, "status", NULL);
    if ((rv = hg_db_q(c->db, &r, "SELECT " TVER_COLS " FROM consult.templates WHERE ($1::text IS NULL OR status = $1) "
                      "AND ($2 OR department IS NULL OR department = $3) ORDER BY template_id, "
                      "CASE WHEN version ~ '^[0-9]{1,9}$' THEN version::int END DESC NULLS LAST, version DESC", 3,
                      status && *status ? status : NULL, is_admin(c) ? "t" : "f",
                      c->staff_department ? c->staff_department : "")))
        return rv;
    for (i = 0; i < r->nrows; i++)
        json_array_append_new(a, tver_json(c, tver_of(c->pool, r, i), 0));
    return hg_call_answer(c, 200, json_pack("{s:o}", "templates", a));
}

static const hg_field_t CREATE_SCHEMA[] = {
    { .name = "templateId", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .pattern = ID_PATTERN },
    { .name = "title", .type = HG_JT_STRING, .max_len = 100 },
    { .name = "department", .type = HG_JT_STRING, .flags = HG_F_NULLABLE, .max_len = 50 },
    { .name = "disease", .type = HG_JT_STRING, .flags = HG_F_NULLABLE, .max_len = 50, .pattern = "[A-Za-z0-9_.-]+" },
    { .name = "definition", .type = HG_JT_OBJECT, .flags = HG_F_REQUIRED },
    HG_FIELDS_END
};

/* the department a new template goes to: the given one ("" / null = institution-wide), by default
 * the author's own; only consult_admin writes outside their department */
static apr_status_t target_dept(hg_call_t *c, json_t *body, const char **dept)
{
    json_t *d = json_object_get(body, "department");
    if (!d)
        *dept = is_admin(c) ? NULL : c->staff_department;
    else
        *dept = json_is_string(d) && *json_string_value(d) ? json_string_value(d) : NULL;
    if (!may_edit(c, *dept))
        return hg_call_fail(c, "HG_FORBIDDEN", "department", *dept ? "you may only author templates of your own department"
                            : "institution-wide templates need the role consult_admin");
    return APR_SUCCESS;
}

static apr_status_t create_from(hg_call_t *c, const char *tid, json_t *def, json_t *body, const char *field)
{
    const char *dept, *disease = hg_json_gets(body, "disease", NULL), *title = hg_json_gets(body, "title", NULL);
    hg_db_result_t *r;
    apr_status_t rv;
    if ((rv = target_dept(c, body, &dept)))
        return rv;
    if ((rv = hg_db_q(c->db, &r, "SELECT 1 FROM consult.templates WHERE template_id = $1 LIMIT 1", 1, tid)))
        return rv;
    if (r->nrows)
        return hg_call_fail(c, "HG_CONFLICT", "templateId", "this template exists: add a version to it");
    if ((rv = check_definition(c, def, tid, "1", field)))
        return rv;
    if (!title)
        title = hg_json_gets(def, "title", NULL);
    if ((rv = insert_version(c, tid, "1", dept, disease && *disease ? disease : NULL, title, def)))
        return rv;
    return answer_version(c, 201, tid, "1");
}

/* POST /consult/staff/v1/templates {templateId, title, department, disease, definition} */
static apr_status_t route_create(hg_call_t *c)
{
    apr_status_t rv;
    if ((rv = hg_json_validate(c->pool, c->json, CREATE_SCHEMA, &c->err)))
        return rv;
    if (!is_author(c))
        return hg_call_fail(c, "HG_FORBIDDEN", NULL, "this needs the role consult_author");
    return create_from(c, hg_json_gets(c->json, "templateId", NULL),
                       hg_json_own(c->pool, json_deep_copy(json_object_get(c->json, "definition"))), c->json, "definition");
}

/* POST /consult/staff/v1/templates/import — a FHIR R4 Questionnaire, or {"questionnaire":…,
 * "templateId","title","department","disease"} */
static apr_status_t route_import(hg_call_t *c)
{
    json_t *q = json_object_get(c->json, "questionnaire") ? json_object_get(c->json, "questionnaire") : c->json, *def;
    const char *tid = hg_json_gets(c->json, "templateId", NULL);
    hg_error_t *e = NULL;
    if (!is_author(c))
        return hg_call_fail(c, "HG_FORBIDDEN", NULL, "this needs the role consult_author");
    if (consult_fhir_import(&def, c->pool, q, tid, "1", &e) != APR_SUCCESS) {
        c->err = e;
        return HG_EINVALID;
    }
    tid = apr_pstrdup(c->pool, hg_json_gets(def, "id", NULL));   /* def's "id" is replaced when checked */
    if (!tid || strlen(tid) > 64 || strspn(tid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(tid))
        return hg_call_fail(c, "HG_FIELD_PATTERN", "id", "the template id is 1 to 64 of [A-Za-z0-9_.-]");
    return create_from(c, tid, def, q == c->json ? hg_json_object(c->pool) : c->json, "questionnaire");
}

/* ---------------------------------------------------------------- one template's versions */

/* POST …/templates/<id>/versions {definition?, title?} — a new draft (default: the newest version's copy) */
static apr_status_t new_version(hg_call_t *c, const char *tid, json_t *def, const char *title, int status)
{
    hg_db_result_t *r;
    tver_t *base;
    const char *ver;
    apr_status_t rv;
    if ((rv = hg_db_q(c->db, &r, "SELECT " TVER_COLS " FROM consult.templates WHERE template_id = $1 ORDER BY "
                      "CASE WHEN version ~ '^[0-9]{1,9}$' THEN version::int END DESC NULLS LAST, created_at DESC LIMIT 1",
                      1, tid)))
        return rv;
    if (!r->nrows || !may_see(c, (base = tver_of(c->pool, r, 0))->department))
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, "no such template");
    if (!may_edit(c, base->department))
        return hg_call_fail(c, "HG_FORBIDDEN", NULL, base->department ? "not a template of your department"
                            : "institution-wide templates need the role consult_admin");
    if (!(ver = next_version(c, tid)))
        return HG_EINVALID;
    def = def ? def : hg_json_own(c->pool, json_deep_copy(base->definition));
    if ((rv = check_definition(c, def, tid, ver, "definition")))
        return rv;
    if ((rv = insert_version(c, tid, ver, base->department, base->disease, title ? title : base->title, def)))
        return rv;
    return answer_version(c, status, tid, ver);
}

static int t_is_own_work(hg_call_t *c, const tver_t *t)
{
    const char *u = c->staff_user ? c->staff_user : "";
    return (t->created_by && !strcmp(t->created_by, u)) || (t->updated_by && !strcmp(t->updated_by, u))
        || (t->submitted_by && !strcmp(t->submitted_by, u));
}

static apr_status_t edit_version(hg_call_t *c, tver_t *t)
{
    json_t *def = json_object_get(c->json, "definition");
    const char *title = hg_json_gets(c->json, "title", NULL);
    apr_status_t rv;
    if (!def)
        return hg_call_fail(c, "HG_FIELD_REQUIRED", "definition", NULL);
    if (!may_edit(c, t->department))
        return hg_call_fail(c, "HG_FORBIDDEN", NULL, t->department ? "not a template of your department"
                            : "institution-wide templates need the role consult_admin");
    def = hg_json_own(c->pool, json_deep_copy(def));
    /* a published version never changes: an edit of it is the next draft */
    if (!strcmp(t->status, "approved"))
        return new_version(c, t->template_id, def, title, 201);
    if (!strcmp(t->status, "review"))
        return hg_call_fail(c, "HG_CONSULT_STATE", NULL, "the version is in review: it can be edited once rejected");
    if ((rv = check_definition(c, def, t->template_id, t->version, "definition")))
        return rv;
    if ((rv = hg_db_q(c->db, NULL, "UPDATE consult.templates SET definition = $3::jsonb, title = coalesce($4, title), "
                      "status = 'draft', updated_by = $5, updated_at = now() WHERE template_id = $1 AND version = $2", 5,
                      t->template_id, t->version, hg_json_dump(c->pool, def, HG_JSON_DUMP_SORTED), title, c->staff_user)))
        return rv;
    return answer_version(c, 200, t->template_id, t->version);
}

static apr_status_t workflow(hg_call_t *c, tver_t *t, const char *what)
{
    const char *comment = hg_json_gets(c->json, "comment", NULL);
    apr_size_t n;
    apr_status_t rv;
    if (comment && (hg_utf8_count(&n, comment, strlen(comment)) != APR_SUCCESS || n > 500))
        return hg_call_fail(c, "HG_FIELD_TOO_LONG", "comment", "at most 500 characters");
    if (!strcmp(what, "submit")) {
        if (!may_edit(c, t->department))
            return hg_call_fail(c, "HG_FORBIDDEN", NULL, "only an author of the department submits for review");
        if (strcmp(t->status, "draft") && strcmp(t->status, "rejected"))
            return hg_call_fail(c, "HG_CONSULT_STATE", NULL, apr_psprintf(c->pool, "a %s version cannot be submitted", t->status));
        rv = hg_db_q(c->db, NULL, "UPDATE consult.templates SET status = 'review', submitted_by = $3, submitted_at = now(), "
                     "updated_at = now() WHERE template_id = $1 AND version = $2", 3, t->template_id, t->version, c->staff_user);
    }
    else {
        int approve = !strcmp(what, "approve");
        if (!may_review(c, t->department))
            return hg_call_fail(c, "HG_FORBIDDEN", NULL, t->department ? "this needs the role consult_reviewer of the department"
                                : "institution-wide templates are reviewed by consult_admin");
        if (strcmp(t->status, "review"))
            return hg_call_fail(c, "HG_CONSULT_STATE", NULL, apr_psprintf(c->pool, "a %s version is not in review", t->status));
        if (t_is_own_work(c, t))
            return hg_call_fail(c, "HG_FORBIDDEN", NULL, "an author cannot review their own version (不能审核自己编写的版本)");
        if (!approve && (!comment || !*comment))
            return hg_call_fail(c, "HG_FIELD_REQUIRED", "comment", "a rejection says why");
        rv = hg_db_q(c->db, NULL, approve
                     ? "UPDATE consult.templates SET status = 'approved', reviewed_by = $3, reviewed_at = now(), "
                       "review_comment = $4, approved_by = $3, approved_at = now(), updated_at = now() "
                       "WHERE template_id = $1 AND version = $2"
                     : "UPDATE consult.templates SET status = 'rejected', reviewed_by = $3, reviewed_at = now(), "
                       "review_comment = $4, updated_at = now() WHERE template_id = $1 AND version = $2",
                     4, t->template_id, t->version, c->staff_user, comment);
    }
    if (rv)
        return rv;
    return answer_version(c, 200, t->template_id, t->version);
}

static const char *const SEXES[] = { "M", "F", NULL };
static const hg_field_t PREVIEW_SCHEMA[] = {
    { .name = "sex", .type = HG_JT_STRING, .enum_values = SEXES },
    { .name = "birthDate", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    HG_FIELDS_END_CLOSED
};

/* POST preview: the same patient and the answers so far, in the patient's answer shape */
static const hg_field_t PREVIEW_POST_SCHEMA[] = {
    { .name = "sex", .type = HG_JT_STRING, .enum_values = SEXES },
    { .name = "birthDate", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    { .name = "answers", .type = HG_JT_ANY },
    HG_FIELDS_END_CLOSED
};

/* What the patient sees, computed as the patient's own steps compute it (consult_merge_answers, then
 * consult_view: the items to answer now, review with the generated sections, or stopped with the
 * advice).  GET: the first page for ?sex=&birthDate=; POST: after {"sex","birthDate","answers":[…]},
 * as if the patient had posted them all (each checked, each must apply).  Nothing is stored: the
 * reviewer's walk lives in the console, which posts the answers so far at every step. */
static apr_status_t preview(hg_call_t *c, tver_t *t, int post)
{
    json_t *q, *view, *answers, *list = NULL, *posted;
    consult_template_t *tpl;
    consult_ctx_t ctx;
    hg_error_t *e = NULL;
    apr_status_t rv;
    if (post) {
        if ((rv = hg_json_validate(c->pool, c->json, PREVIEW_POST_SCHEMA, &c->err)))
            return rv;
        q = c->json;
        list = json_object_get(q, "answers");
        if (list && !json_is_array(list))
            return hg_call_fail(c, "HG_FIELD_TYPE", "answers", "answers: [{\"linkId\",\"value\"}…]");
        if (json_array_size(list) > CONSULT_MAX_ANSWERS)
            return hg_call_fail(c, "HG_TOO_MANY_ITEMS", "answers", NULL);
    }
    else if ((rv = hg_call_query(c, PREVIEW_SCHEMA, &q)))
        return rv;
    if (consult_template_load(&tpl, c->pool, t->definition, &e) != APR_SUCCESS) {
        c->err = e;
        return HG_EINVALID;
    }
    ctx.sex = hg_json_gets(q, "sex", NULL);
    ctx.birth_date = hg_json_gets(q, "birthDate", NULL);
    ctx.today = consult_today(c->pool);
    answers = hg_json_object(c->pool);
    if (json_array_size(list) && (rv = consult_merge_answers(c, tpl, &ctx, answers, list, &answers, &posted)))
        return rv;
    if ((rv = consult_view(&view, c->pool, tpl, answers, NULL, &ctx)))
        return rv;
    json_object_set_new(view, "template", json_string(apr_pstrcat(c->pool, t->template_id, "|", t->version, NULL)));
    return hg_call_answer(c, 200, json_incref(view));
}

/* …/templates/<id>/versions/<v>[/<what>] */
static apr_status_t parse_path(hg_call_t *c, const char **tid, const char **ver, const char **what)
{
    char *rest = apr_pstrdup(c->pool, c->path_rest), *last;
    const char *vs;
    *tid = apr_strtok(rest, "/", &last);
    vs = apr_strtok(NULL, "/", &last);
    *ver = apr_strtok(NULL, "/", &last);
    *what = apr_strtok(NULL, "/", &last);
    if (!*tid || !vs || strcmp(vs, "versions") || apr_strtok(NULL, "/", &last))
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
    return APR_SUCCESS;
}

/* GET …/templates/<id>/versions | …/versions/<v> | …/preview | …/fhir */
static apr_status_t route_get(hg_call_t *c)
{
    const char *tid, *ver, *what;
    tver_t *t;
    json_t *q;
    apr_status_t rv;
    if ((rv = need_reader(c)) || (rv = parse_path(c, &tid, &ver, &what)))
        return rv;
    if (!ver) {     /* …/versions: every version of the template, newest first (a doctor: the published) */
        hg_db_result_t *r;
        json_t *a = json_array();
        int i;
        if ((rv = hg_db_q(c->db, &r, "SELECT " TVER_COLS " FROM consult.templates WHERE template_id = $1 "
                          "AND (NOT $2 OR status = 'approved') ORDER BY "
                          "CASE WHEN version ~ '^[0-9]{1,9}$' THEN version::int END DESC NULLS LAST, version DESC", 2, tid,
                          reader_only(c) ? "t" : "f")))
            return rv;
        if (!r->nrows || !may_see(c, tver_of(c->pool, r, 0)->department)) {
            json_decref(a);
            return hg_call_fail(c, "HG_NOT_FOUND", NULL, "no such template");
        }
        for (i = 0; i < r->nrows; i++)
            json_array_append_new(a, tver_json(c, tver_of(c->pool, r, i), 0));
        return hg_call_answer(c, 200, json_pack("{s:s, s:o}", "templateId", tid, "versions", a));
    }
    if ((rv = load_version(c, tid, ver, 0, &t)))
        return rv;
    if (!what)
        return hg_call_answer(c, 200, tver_json(c, t, 1));
    if (!strcmp(what, "preview"))
        return preview(c, t, 0);
    if (!strcmp(what, "fhir")) {
        if ((rv = consult_fhir_export(&q, c->pool, t->definition, !strcmp(t->status, "approved") ? "active" : "draft")))
            return rv;
        return hg_call_answer(c, 200, json_incref(q));
    }
    return hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
}

/* POST …/templates/<id>/versions | …/versions/<v> | …/<v>/submit|approve|reject|preview */
static apr_status_t route_post(hg_call_t *c)
{
    const char *tid, *ver, *what;
    tver_t *t;
    json_t *def;
    apr_status_t rv;
    if ((rv = parse_path(c, &tid, &ver, &what)))
        return rv;
    if (ver && what && !strcmp(what, "preview"))      /* reads only: no transaction, no lock */
        return (rv = need_reader(c)) || (rv = load_version(c, tid, ver, 0, &t)) ? rv : preview(c, t, 1);
    if ((rv = need_role(c)))
        return rv;
    if ((rv = hg_db_begin(c->db)))
        return rv;
    if (!ver) {
        def = json_object_get(c->json, "definition");
        if (def && !json_is_object(def))
            return hg_call_fail(c, "HG_FIELD_TYPE", "definition", "the definition is a JSON object");
        rv = new_version(c, tid, def ? hg_json_own(c->pool, json_deep_copy(def)) : NULL, hg_json_gets(c->json, "title", NULL), 201);
    }
    else if ((rv = load_version(c, tid, ver, 1, &t)))
        ;
    else if (!what)
        rv = edit_version(c, t);
    else if (!strcmp(what, "submit") || !strcmp(what, "approve") || !strcmp(what, "reject"))
        rv = workflow(c, t, what);
    else
        rv = hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
    if (rv)
        return rv;
    return hg_db_commit(c->db);
}

/* ---------------------------------------------------------------- template choice rules */

static const hg_field_t RULE_SCHEMA[] = {
    { .name = "templateId", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .pattern = ID_PATTERN },
    { .name = "department", .type = HG_JT_STRING, .flags = HG_F_NULLABLE, .max_len = 50 },
    { .name = "disease", .type = HG_JT_STRING, .flags = HG_F_NULLABLE, .max_len = 50, .pattern = "[A-Za-z0-9_.-]+" },
    { .name = "doctor", .type = HG_JT_STRING, .flags = HG_F_NULLABLE, .max_len = 50 },
    { .name = "priority", .type = HG_JT_INTEGER, .flags = HG_F_MIN | HG_F_MAX, .min = -1000, .max = 1000 },
    { .name = "note", .type = HG_JT_STRING, .max_len = 200 },
    HG_FIELDS_END_CLOSED
};

static json_t *rule_json(hg_db_result_t *r, int i)
{
    return json_pack("{s:I, s:s, s:s?, s:s?, s:s?, s:i, s:b, s:s, s:s}", "id", (json_int_t)apr_atoi64(hg_db_val(r, i, 0)),
        "templateId", hg_db_val(r, i, 1), "department", hg_db_val(r, i, 2), "disease", hg_db_val(r, i, 3),
        "doctor", hg_db_val(r, i, 4), "priority", atoi(hg_db_val(r, i, 5)), "enabled", !strcmp(hg_db_val(r, i, 6), "t"),
        "note", hg_db_val(r, i, 7), "createdBy", hg_db_val(r, i, 8));
}

#define RULE_COLS "id, template_id, department, disease, doctor, priority, enabled, note, created_by"

/* GET /consult/staff/v1/rules */
static apr_status_t route_rules(hg_call_t *c)
{
    hg_db_result_t *r;
    json_t *a = json_array();
    apr_status_t rv;
    int i;
    if ((rv = need_role(c)))
        return rv;
    if ((rv = hg_db_q(c->db, &r, "SELECT " RULE_COLS " FROM consult.rules WHERE $1 OR department IS NULL OR department = $2 "
                      "ORDER BY enabled DESC, department NULLS FIRST, priority DESC, id", 2, is_admin(c) ? "t" : "f",
                      c->staff_department ? c->staff_department : "")))
        return rv;
    for (i = 0; i < r->nrows; i++)
        json_array_append_new(a, rule_json(r, i));
    return hg_call_answer(c, 200, json_pack("{s:o}", "rules", a));
}

/* POST /consult/staff/v1/rules {templateId, department, disease, doctor, priority, note} */
static apr_status_t route_rule_add(hg_call_t *c)
{
    const char *dept = hg_json_gets(c->json, "department", NULL), *tid = hg_json_gets(c->json, "templateId", NULL);
    const char *dis = hg_json_gets(c->json, "disease", NULL), *doc = hg_json_gets(c->json, "doctor", NULL);
    apr_int64_t prio = 0;
    hg_db_result_t *r;
    apr_status_t rv;
    if ((rv = hg_json_validate(c->pool, c->json, RULE_SCHEMA, &c->err)))
        return rv;
    if (!is_admin(c) && !((is_author(c) || is_reviewer(c)) && own_dept(c, dept)))
        return hg_call_fail(c, "HG_FORBIDDEN", "department", "rules outside your department need the role consult_admin");
    hg_json_geti(c->json, &prio, "priority", NULL);
    if ((rv = hg_db_q(c->db, &r, "SELECT department FROM consult.templates WHERE template_id = $1 LIMIT 1", 1, tid)))
        return rv;
    if (!r->nrows || !may_see(c, hg_db_val(r, 0, 0)))
        return hg_call_fail(c, "HG_FIELD_UNKNOWN", "templateId", "no such template");
    if ((rv = hg_db_q(c->db, &r, "INSERT INTO consult.rules (template_id, department, disease, doctor, priority, note, "
                      "created_by) VALUES ($1, $2, $3, $4, $5::int, $6, $7) RETURNING " RULE_COLS, 7, tid,
                      dept && *dept ? dept : NULL, dis && *dis ? dis : NULL, doc && *doc ? doc : NULL,
                      apr_psprintf(c->pool, "%" APR_INT64_T_FMT, prio), hg_json_gets(c->json, "note", NULL) ?
                      hg_json_gets(c->json, "note", NULL) : "", c->staff_user)))
        return rv;
    return hg_call_answer(c, 201, rule_json(r, 0));
}

/* POST /consult/staff/v1/rules/<id>/disable | enable */
static apr_status_t route_rule_post(hg_call_t *c)
{
    char *rest = apr_pstrdup(c->pool, c->path_rest), *last;
    const char *id = apr_strtok(rest, "/", &last), *what = apr_strtok(NULL, "/", &last);
    hg_db_result_t *r;
    apr_status_t rv;
    if (!id || strspn(id, "0123456789") != strlen(id) || strlen(id) > 18 || !what || apr_strtok(NULL, "/", &last)
        || (strcmp(what, "disable") && strcmp(what, "enable")))
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
    if ((rv = hg_db_q(c->db, &r, "SELECT department FROM consult.rules WHERE id = $1::bigint", 1, id)))
        return rv;
    if (!r->nrows)
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, "no such rule");
    if (!is_admin(c) && !((is_author(c) || is_reviewer(c)) && own_dept(c, hg_db_val(r, 0, 0))))
        return hg_call_fail(c, "HG_FORBIDDEN", NULL, "rules outside your department need the role consult_admin");
    if ((rv = hg_db_q(c->db, &r, "UPDATE consult.rules SET enabled = $2 WHERE id = $1::bigint RETURNING " RULE_COLS, 2, id,
                      !strcmp(what, "enable") ? "t" : "f")))
        return rv;
    return hg_call_answer(c, 200, rule_json(r, 0));
}

#define STAFF_POST (HG_R_STAFF | HG_R_JSON | HG_R_AUDIT)

const hg_route_t consult_staff_routes[] = {
    { "GET",  "/consult/staff/v1/templates", HG_R_STAFF, NULL, route_list },
    { "POST", "/consult/staff/v1/templates", STAFF_POST, NULL, route_create },
    { "POST", "/consult/staff/v1/templates/import", STAFF_POST, NULL, route_import },
    { "GET",  "/consult/staff/v1/templates/", HG_R_STAFF | HG_R_PREFIX, NULL, route_get },
    { "POST", "/consult/staff/v1/templates/", STAFF_POST | HG_R_PREFIX, NULL, route_post },
    { "GET",  "/consult/staff/v1/rules", HG_R_STAFF, NULL, route_rules },
    { "POST", "/consult/staff/v1/rules", STAFF_POST, NULL, route_rule_add },
    { "POST", "/consult/staff/v1/rules/", STAFF_POST | HG_R_PREFIX, NULL, route_rule_post },
    { NULL }
};
