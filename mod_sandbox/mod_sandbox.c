/* mod_sandbox: faithful simulators of the outside platforms for `make run` and the tests.
 * Never load it in production.  It plugs into mod_hisgate's pipeline like any module. */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"
#include "hg_glue.h"
#include "hg_bosi.h"
#include "sandbox_fiscal.h"

module AP_MODULE_DECLARE_DATA sandbox_module;

typedef struct sandbox_conf_t {
    apr_table_t *fiscal_apps;   /* appid → key */
} sandbox_conf_t;

static void *create_conf(apr_pool_t *p, server_rec *s)
{
    sandbox_conf_t *c = apr_pcalloc(p, sizeof(*c));
    c->fiscal_apps = apr_table_make(p, 4);
    return c;
}

static const char *set_fiscal_app(cmd_parms *cmd, void *dc, const char *appid, const char *key)
{
    sandbox_conf_t *c = ap_get_module_config(cmd->server->module_config, &sandbox_module);
    apr_table_set(c->fiscal_apps, appid, key);
    return NULL;
}

static const command_rec sandbox_cmds[] = {
    AP_INIT_TAKE2("SandboxFiscalApp", set_fiscal_app, NULL, RSRC_CONF,
                  "an appid and its signing key known to the simulated fiscal platform"),
    { NULL }
};

static const char *fiscal_key_of(void *baton, const char *appid)
{
    return apr_table_get(((sandbox_conf_t *)baton)->fiscal_apps, appid);
}

static apr_status_t answer_bosi(hg_call_t *c, const char *result, const char *message)
{
    char *body;
    apr_status_t rv = hg_bosi_answer(&body, c->pool, result, message);
    if (rv)
        return rv;
    c->out_body = body;
    c->out_len = strlen(body);
    c->out_type = "application/json;charset=UTF-8";
    return APR_SUCCESS;
}

/* POST /sandbox/fiscal/<service> */
static apr_status_t route_fiscal(hg_call_t *c)
{
    sandbox_conf_t *conf = ap_get_module_config(c->r->server->module_config, &sandbox_module);
    hg_db_result_t *m;
    const char *mode, *appid = NULL, *err = NULL, *result, *message;
    char *data = NULL;
    apr_status_t rv;
    int sign_ok = 0;

    if ((rv = hg_db_q(c->db, &m, "SELECT mode, slow_ms FROM sandbox.modes WHERE platform = 'fiscal'", 0)))
        return rv;
    mode = m->nrows ? hg_db_val(m, 0, 0) : "normal";
    if (!strcmp(mode, "down")) {
        c->status = 503;
        c->out_body = "<html><body>503 Service Unavailable</body></html>";
        c->out_len = strlen(c->out_body);
        c->out_type = "text/html";
        return APR_SUCCESS;
    }
    if (!strcmp(mode, "slow"))
        apr_sleep(apr_time_from_msec(atoi(hg_db_val(m, 0, 1))));
    rv = hg_bosi_open_request(&data, &appid, &err, c->pool, c->body, c->body_len, fiscal_key_of, conf);
    if (rv == APR_SUCCESS && !strcmp(mode, "reject")) {
        result = "E1002";
        message = "签名验证失败(模拟拒绝)";
    }
    else if (rv == APR_SUCCESS && !strcmp(mode, "error")) {
        sign_ok = 1;
        result = "E9999";
        message = "系统繁忙，请稍后重试";
    }
    else if (rv == APR_SUCCESS) {
        sign_ok = 1;
        sandbox_fiscal_serve(c->pool, c->db, c->path_rest, data, &result, &message);
    }
    else {
        result = rv == HG_EAUTH ? "E1001" : rv == HG_EBADSIG ? "E1002" : "E0001";
        message = err;
    }
    if ((rv = hg_db_q(c->db, NULL, "INSERT INTO sandbox.fiscal_calls (service, appid, sign_ok, result, data) "
                      "VALUES ($1, $2, $3::boolean, $4, $5)", 5, c->path_rest, appid,
                      sign_ok ? "true" : "false", result, data)))
        return rv;
    return answer_bosi(c, result, message);
}

static const hg_field_t control_schema[] = {
    { .name = "platform", .type = HG_JT_STRING, .flags = HG_F_REQUIRED,
      .enum_values = (const char *const[]){ "fiscal", NULL } },
    { .name = "mode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED,
      .enum_values = (const char *const[]){ "normal", "down", "slow", "reject", "error", NULL } },
    { .name = "slow_ms", .type = HG_JT_INTEGER, .flags = HG_F_MIN | HG_F_MAX, .min = 0, .max = 120000 },
    { .name = NULL }
};

/* POST /sandbox/control {"platform":"fiscal","mode":"down"} — switch failure modes on demand */
static apr_status_t route_control(hg_call_t *c)
{
    apr_int64_t slow = 3000;
    apr_status_t rv;
    if (hg_json_validate(c->pool, c->json, control_schema, &c->err) != APR_SUCCESS)
        return HG_EINVALID;
    hg_json_geti(c->json, &slow, "slow_ms", NULL);
    if ((rv = hg_db_q(c->db, NULL, "UPDATE sandbox.modes SET mode = $2, slow_ms = $3::int, updated_at = now() "
                      "WHERE platform = $1", 3, hg_json_gets(c->json, "platform", NULL),
                      hg_json_gets(c->json, "mode", NULL), apr_off_t_toa(c->pool, slow))))
        return rv;
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, c->r, "HG09001: sandbox %s switched to %s",
                  hg_json_gets(c->json, "platform", NULL), hg_json_gets(c->json, "mode", NULL));
    return hg_call_answer(c, 200, json_deep_copy(c->json));
}

/* GET /sandbox/fiscal/calls — what the simulated platform received, newest first */
static apr_status_t route_calls(hg_call_t *c)
{
    hg_db_result_t *res;
    json_t *a = json_array();
    apr_status_t rv;
    int i;
    if ((rv = hg_db_q(c->db, &res, "SELECT id, service, appid, sign_ok, result, data FROM sandbox.fiscal_calls "
                      "ORDER BY id DESC LIMIT 50", 0)))
        return rv;
    for (i = 0; i < res->nrows; i++)
        json_array_append_new(a, json_pack("{s:I, s:s, s:s?, s:b, s:s, s:s?}",
            "id", (json_int_t)apr_atoi64(hg_db_val(res, i, 0)), "service", hg_db_val(res, i, 1),
            "appid", hg_db_val(res, i, 2), "sign_ok", hg_db_val(res, i, 3)[0] == 't',
            "result", hg_db_val(res, i, 4), "data", hg_db_val(res, i, 5)));
    return hg_call_answer(c, 200, json_pack("{s:o}", "calls", a));
}

static const hg_route_t sandbox_routes[] = {
    { "POST", "/sandbox/fiscal/", HG_R_PUBLIC | HG_R_DB | HG_R_PREFIX, NULL, route_fiscal },
    { "GET",  "/sandbox/fiscal/calls", HG_R_PUBLIC | HG_R_DB, NULL, route_calls },
    { "POST", "/sandbox/control", HG_R_PUBLIC | HG_R_DB | HG_R_JSON, NULL, route_control },
    { NULL }
};

static int sandbox_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(hg_register_routes) *reg = APR_RETRIEVE_OPTIONAL_FN(hg_register_routes);
    if (!reg) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "HG09000: mod_sandbox needs mod_hisgate loaded first");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    reg("sandbox", sandbox_routes, NULL);
    return OK;
}

static void sandbox_register_hooks(apr_pool_t *p)
{
    static const char *const pred[] = { "mod_hisgate.c", NULL };
    ap_hook_post_config(sandbox_post_config, pred, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(sandbox) = {
    STANDARD20_MODULE_STUFF, NULL, NULL, create_conf, NULL, sandbox_cmds, sandbox_register_hooks, 0
};
