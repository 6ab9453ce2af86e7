/* mod_consult: smart pre-consultation (智能预问诊) — the Apache glue.
 * The HIS announces a visit (signed) and gets the patient's link; the patient answers the
 * questionnaire through /consult/pub/v1/sessions/<token> (the token is the only credential); the
 * doctor's workstation reads the 五史一诉 summary and the FHIR QuestionnaireResponse (signed).
 * The questionnaire rules are in consult_engine.c, the SQL in consult_store.c. */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_core.h"
#include "ap_mpm.h"
#include "apr_strings.h"
#include "hg_glue.h"
#include "consult_engine.h"
#include "consult_store.h"
#include "mod_consult_stats.h"

module AP_MODULE_DECLARE_DATA consult_module;

typedef struct consult_conf_t {
    int session_ttl;               /* seconds a patient link stays valid */
    const char *public_url;
} consult_conf_t;

static consult_conf_t *G;

static void *create_conf(apr_pool_t *p, server_rec *s)
{
    consult_conf_t *c = apr_pcalloc(p, sizeof(*c));
    c->session_ttl = 172800;
    return c;
}

static const char *set_ttl(cmd_parms *cmd, void *dc, const char *arg)
{
    consult_conf_t *c = ap_get_module_config(cmd->server->module_config, &consult_module);
    int v = atoi(arg);
    if (v < 600 || v > 30 * 86400)
        return "ConsultSessionTTL: seconds between 600 and 2592000";
    c->session_ttl = v;
    return NULL;
}

static const command_rec consult_cmds[] = {
    AP_INIT_TAKE1("ConsultSessionTTL", set_ttl, NULL, RSRC_CONF,
                  "seconds a patient's pre-consultation link stays valid (default 172800)"),
    { NULL }
};

/* ---------------------------------------------------------------- helpers */

static const char *const SEXES[] = { "M", "F", NULL };

static const hg_field_t VISIT_SCHEMA[] = {
    { .name = "visitNo", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50, .pattern = "[A-Za-z0-9_.-]+" },
    { .name = "patientId", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "name", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "sex", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .enum_values = SEXES },
    { .name = "birthDate", .type = HG_JT_DATE, .flags = HG_F_REQUIRED, .date_format = HG_DATE_DATE },
    { .name = "department", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "doctor", .type = HG_JT_STRING, .max_len = 50 },
    { .name = "visitTime", .type = HG_JT_DATE, .flags = HG_F_REQUIRED, .date_format = HG_DATE_DATETIME },
    HG_FIELDS_END
};

static const char *const STATE_NAMES[] = { "in-progress", "review", "stopped" };

static apr_status_t fail_rv(hg_call_t *c, apr_status_t rv, const char *what)
{
    if (rv == HG_ENOTFOUND)
        return hg_call_fail(c, "HG_CONSULT_SESSION", NULL, what);
    return rv;
}

/* the visit's template (the stored definition is the authority: it was checked when published, and
 * is checked again here) and the patient's context */
static apr_status_t load_template(hg_call_t *c, consult_visit_t *v, consult_template_t **t, consult_ctx_t *ctx)
{
    json_t *def = hg_json_own(c->pool, json_loads(v->definition, 0, NULL));
    hg_error_t *e = NULL;
    if (!def || consult_template_load(t, c->pool, def, &e) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, c->r, "HG11001: consult template %s/%s does not load: %s",
                      v->template_id, v->version, e ? e->message : "not JSON");
        return hg_call_fail(c, "HG_CONSULT_TEMPLATE", NULL, NULL);
    }
    ctx->sex = v->sex;
    ctx->birth_date = v->birth_date;
    ctx->today = consult_today(c->pool);
    return APR_SUCCESS;
}

/* what the patient's page shows: the state, the next items, or the advice */
static json_t *session_view(hg_call_t *c, consult_visit_t *v, consult_template_t *t, consult_ctx_t *ctx)
{
    json_t *o = json_object(), *items = NULL;
    const char *advice = NULL;
    if (!strcmp(v->state, "completed")) {
        json_object_set_new(o, "state", json_string("completed"));
        json_object_set_new(o, "items", json_array());
        if (v->summary && json_object_get(v->summary, "sections"))
            json_object_set(o, "summary", json_object_get(v->summary, "sections"));
        return o;
    }
    consult_state_t st = consult_state(t, v->answers, ctx, &advice, c->pool);
    json_object_set_new(o, "state", json_string(STATE_NAMES[st]));
    if (st == CONSULT_STOPPED) {
        json_object_set_new(o, "items", json_array());
        json_object_set_new(o, "advice", json_string(advice ? advice : ""));
        return o;
    }
    if (consult_next_items(&items, c->pool, t, v->answers, ctx) != APR_SUCCESS)
        items = NULL;
    json_object_set_new(o, "items", items ? json_incref(items) : json_array());
    return o;
}

/* ---------------------------------------------------------------- HIS: announce a visit */

static apr_status_t route_visit(hg_call_t *c)
{
    consult_visit_in_t in;
    consult_visit_t *v;
    const char *token;
    int created;
    apr_status_t rv;

    if ((rv = hg_json_validate(c->pool, c->json, VISIT_SCHEMA, &c->err)))
        return rv;
    if (!c->master_key)
        return hg_call_fail(c, "HG_INTERNAL", NULL, "HisgateKeyFile is not configured");
    in.visit_no = hg_json_gets(c->json, "visitNo", NULL);
    in.patient_id = hg_json_gets(c->json, "patientId", NULL);
    in.name = hg_json_gets(c->json, "name", NULL);
    in.sex = hg_json_gets(c->json, "sex", NULL);
    in.birth_date = hg_json_gets(c->json, "birthDate", NULL);
    in.department = hg_json_gets(c->json, "department", NULL);
    in.doctor = hg_json_gets(c->json, "doctor", NULL);
    in.visit_time = hg_json_gets(c->json, "visitTime", NULL);
    rv = consult_store_visit_upsert(c->db, c->pool, c->master_key, c->institution, &in, G->session_ttl,
                                    &v, &token, &created);
    if (rv == HG_ENOTFOUND)
        return hg_call_fail(c, "HG_CONSULT_TEMPLATE", "department",
                            "no approved questionnaire for this department and no generic one (无可用问卷模板)");
    if (rv)
        return rv;
    if (!created && (strcmp(v->patient_id, in.patient_id) || strcmp(v->department, in.department)))
        return hg_call_fail(c, "HG_CONFLICT", "visitNo", "visitNo already announced for another patient or department");
    return hg_call_answer(c, created ? 201 : 200, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}",
        "visitNo", v->visit_no, "token", token, "url",
        apr_psprintf(c->pool, "%s/consult/q.html#t=%s", G->public_url ? G->public_url : "", token),
        "template", apr_pstrcat(c->pool, v->template_id, "|", v->version, NULL), "state", v->state,
        "replayed", !created));
}

/* ---------------------------------------------------------------- doctor: the summary */

/* GET /consult/api/v1/visits/<visitNo>/summary */
static apr_status_t route_summary(hg_call_t *c)
{
    char *rest = apr_pstrdup(c->pool, c->path_rest), *last;
    const char *no = apr_strtok(rest, "/", &last), *what = apr_strtok(NULL, "/", &last);
    consult_visit_t *v;
    consult_template_t *t;
    consult_ctx_t ctx;
    json_t *pruned, *sections, *qr;
    apr_status_t rv;

    if (!no || !what || strcmp(what, "summary") || apr_strtok(NULL, "/", &last))
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
    if ((rv = consult_store_by_visit_no(c->db, c->pool, c->institution, no, &v)) == HG_ENOTFOUND)
        return hg_call_fail(c, "HG_NOT_FOUND", "visitNo", "no pre-consultation for this visit");
    if (rv)
        return rv;
    if (!strcmp(v->state, "completed") && v->summary)
        return hg_call_answer(c, 200, json_pack("{s:s, s:s, s:O, s:O}", "visitNo", v->visit_no, "state", v->state,
                              "sections", json_object_get(v->summary, "sections"),
                              "questionnaireResponse", json_object_get(v->summary, "questionnaireResponse")));
    /* not submitted yet: what the answers say so far */
    if ((rv = load_template(c, v, &t, &ctx)))
        return rv;
    if ((rv = consult_prune(&pruned, c->pool, t, v->answers, &ctx))
        || (rv = consult_summary(&sections, c->pool, t, pruned, &ctx))
        || (rv = consult_fhir_response(&qr, c->pool, t, pruned, &ctx)))
        return rv;
    return hg_call_answer(c, 200, json_pack("{s:s, s:s, s:O, s:O}", "visitNo", v->visit_no, "state", v->state,
                                            "sections", sections, "questionnaireResponse", qr));
}

/* ---------------------------------------------------------------- the patient */

/* GET /consult/pub/v1/sessions/<token> */
static apr_status_t route_session(hg_call_t *c)
{
    consult_visit_t *v;
    consult_template_t *t;
    consult_ctx_t ctx;
    apr_status_t rv;
    if (strchr(c->path_rest, '/'))
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
    if ((rv = consult_store_by_token(c->db, c->pool, c->master_key, c->path_rest, 0, &v)))
        return fail_rv(c, rv, "预问诊链接无效或已过期");
    if ((rv = load_template(c, v, &t, &ctx)))
        return rv;
    return hg_call_answer(c, 200, session_view(c, v, t, &ctx));
}

static apr_status_t do_answers(hg_call_t *c, consult_visit_t *v)
{
    consult_template_t *t;
    consult_ctx_t ctx;
    json_t *list = json_object_get(c->json, "answers"), *a, *merged;
    const char *advice;
    apr_size_t i;
    apr_status_t rv;

    if (!json_is_array(list) || json_array_size(list) == 0)
        return hg_call_fail(c, "HG_FIELD_REQUIRED", "answers", "answers: [{\"linkId\",\"value\"}…]");
    if (json_array_size(list) > 500)
        return hg_call_fail(c, "HG_TOO_MANY_ITEMS", "answers", NULL);
    if (strcmp(v->state, "in-progress") && strcmp(v->state, "review"))
        return hg_call_fail(c, "HG_CONSULT_CLOSED", NULL, NULL);
    if ((rv = load_template(c, v, &t, &ctx)))
        return rv;
    merged = hg_json_own(c->pool, json_deep_copy(v->answers));
    json_array_foreach(list, i, a) {
        const char *id = hg_json_gets(a, "linkId", NULL);
        json_t *val = json_object_get(a, "value");
        hg_error_t *e = NULL;
        if (!id || !*id)
            return hg_call_fail(c, "HG_FIELD_REQUIRED", apr_psprintf(c->pool, "answers[%d].linkId", (int)i), NULL);
        if (!val)
            return hg_call_fail(c, "HG_FIELD_REQUIRED", id, NULL);
        if (consult_validate_answer(c->pool, t, id, val, &e) != APR_SUCCESS) {
            c->err = e;
            return HG_EINVALID;
        }
        json_object_set(merged, id, val);
    }
    /* every answered item must be shown under the answers as they now stand */
    json_array_foreach(list, i, a) {
        const char *id = hg_json_gets(a, "linkId", NULL);
        if (!consult_enabled(t, merged, &ctx, id, c->pool))
            return hg_call_fail(c, "HG_FIELD_UNKNOWN", id, "this question does not apply (问题不适用)");
    }
    v->answers = merged;
    v->state = STATE_NAMES[consult_state(t, merged, &ctx, &advice, c->pool)];
    if ((rv = consult_store_save(c->db, c->pool, v, merged, v->state)))
        return rv;
    return hg_call_answer(c, 200, session_view(c, v, t, &ctx));
}

static apr_status_t do_submit(hg_call_t *c, consult_visit_t *v)
{
    consult_template_t *t;
    consult_ctx_t ctx;
    json_t *items, *it, *pruned, *sections, *qr, *summary;
    const char *advice;
    apr_size_t i;
    apr_status_t rv;

    if (!strcmp(v->state, "completed") && v->summary)   /* again: the same summary */
        return hg_call_answer(c, 200, json_pack("{s:s, s:O, s:b}", "state", "completed", "summary",
                              json_object_get(v->summary, "sections"), "replayed", 1));
    if ((rv = load_template(c, v, &t, &ctx)))
        return rv;
    if (consult_state(t, v->answers, &ctx, &advice, c->pool) == CONSULT_STOPPED || !strcmp(v->state, "stopped"))
        return hg_call_fail(c, "HG_CONSULT_CLOSED", NULL, advice ? advice : NULL);
    if ((rv = consult_next_items(&items, c->pool, t, v->answers, &ctx)))
        return rv;
    json_array_foreach(items, i, it)
        if (json_is_true(json_object_get(it, "required")))
            return hg_call_fail(c, "HG_FIELD_REQUIRED", hg_json_gets(it, "linkId", NULL), "请先回答所有必答问题");
    if ((rv = consult_prune(&pruned, c->pool, t, v->answers, &ctx))
        || (rv = consult_summary(&sections, c->pool, t, pruned, &ctx))
        || (rv = consult_fhir_response(&qr, c->pool, t, pruned, &ctx)))
        return rv;
    summary = hg_json_own(c->pool, json_pack("{s:O, s:O}", "sections", sections, "questionnaireResponse", qr));
    if ((rv = consult_store_complete(c->db, c->pool, v, pruned, summary)))
        return rv;
    return hg_call_answer(c, 200, json_pack("{s:s, s:O, s:b}", "state", "completed", "summary", sections,
                                            "replayed", 0));
}

/* POST /consult/pub/v1/sessions/<token>/answers | /submit — one transaction, the visit row locked */
static apr_status_t route_session_post(hg_call_t *c)
{
    char *rest = apr_pstrdup(c->pool, c->path_rest), *last;
    const char *tok = apr_strtok(rest, "/", &last), *what = apr_strtok(NULL, "/", &last);
    consult_visit_t *v;
    apr_status_t rv;
    if (!tok || !what || apr_strtok(NULL, "/", &last) || (strcmp(what, "answers") && strcmp(what, "submit")))
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
    if ((rv = hg_db_begin(c->db)))
        return rv;
    if ((rv = consult_store_by_token(c->db, c->pool, c->master_key, tok, 1, &v))) {
        hg_db_rollback(c->db);
        return fail_rv(c, rv, "预问诊链接无效或已过期");
    }
    rv = !strcmp(what, "answers") ? do_answers(c, v) : do_submit(c, v);
    if (rv) {
        hg_db_rollback(c->db);
        return rv;
    }
    return hg_db_commit(c->db);
}

static const hg_route_t consult_routes[] = {
    { "POST", "/consult/api/v1/visits", HG_R_SIGNED | HG_R_JSON, NULL, route_visit },
    { "GET",  "/consult/api/v1/visits/", HG_R_SIGNED | HG_R_PREFIX, NULL, route_summary },
    { "GET",  "/consult/pub/v1/sessions/", HG_R_DB | HG_R_PREFIX, NULL, route_session },
    { "POST", "/consult/pub/v1/sessions/", HG_R_DB | HG_R_JSON | HG_R_PREFIX, NULL, route_session_post },
    { NULL }
};

/* ---------------------------------------------------------------- hooks */

static int consult_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(hg_register_routes) *reg_routes = APR_RETRIEVE_OPTIONAL_FN(hg_register_routes);
    APR_OPTIONAL_FN_TYPE(hg_conf_get) *conf_get = APR_RETRIEVE_OPTIONAL_FN(hg_conf_get);
    consult_conf_t *c = ap_get_module_config(s->module_config, &consult_module);

    if (!reg_routes || !conf_get) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "HG11000: mod_consult needs mod_hisgate loaded first");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    G = c;
    reg_routes("consult", consult_routes, c);
    reg_routes("consult-stats", consult_stats_routes, c);
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    c->public_url = conf_get("public_url");
    return OK;
}

static void consult_register_hooks(apr_pool_t *p)
{
    static const char *const pred[] = { "mod_hisgate.c", NULL };
    ap_hook_post_config(consult_post_config, pred, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(consult) = {
    STANDARD20_MODULE_STUFF, NULL, NULL, create_conf, NULL, consult_cmds, consult_register_hooks, 0
};
