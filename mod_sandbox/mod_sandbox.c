/* mod_sandbox: faithful simulators of the outside platforms for `make run` and the tests.
 * Never load it in production.  It plugs into mod_hisgate's pipeline like any module. */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_core.h"
#include "apr_strings.h"
#include "hg_glue.h"
#include "hg_bosi.h"
#include "sandbox_fiscal.h"
#include "mod_sandbox_wechat.h"
#include "sandbox_injury.h"
#include "mod_sandbox_smtp.h"
#include "http_connection.h"

module AP_MODULE_DECLARE_DATA sandbox_module;

typedef struct sandbox_conf_t {
    apr_table_t *fiscal_apps;   /* appid → key */
    int smtp;                   /* SandboxSMTP: this virtual host's connections speak SMTP */
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

static const char *set_smtp(cmd_parms *cmd, void *dc, int on)
{
    sandbox_conf_t *c = ap_get_module_config(cmd->server->module_config, &sandbox_module);
    c->smtp = on;
    return NULL;
}

static const command_rec sandbox_cmds[] = {
    AP_INIT_FLAG("SandboxSMTP", set_smtp, NULL, RSRC_CONF,
                 "On in a <VirtualHost> of its own port: a mail server that keeps what it gets in sandbox.mails"),
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

/* The failure mode of one simulated platform (sandbox.modes): "down" is answered here with a
 * proxy's 503 page (*answered = 1), "slow" sleeps first; the others are the caller's to apply. */
static apr_status_t platform_mode(hg_call_t *c, const char *platform, const char **mode, int *answered)
{
    hg_db_result_t *m;
    apr_status_t rv;
    *answered = 0;
    if ((rv = hg_db_q(c->db, &m, "SELECT mode, slow_ms FROM sandbox.modes WHERE platform = $1", 1, platform)))
        return rv;
    *mode = m->nrows ? hg_db_val(m, 0, 0) : "normal";
    if (!strcmp(*mode, "down")) {
        c->status = 503;
        c->out_body = "<html><body>503 Service Unavailable</body></html>";
        c->out_len = strlen(c->out_body);
        c->out_type = "text/html";
        *answered = 1;
    }
    else if (!strcmp(*mode, "slow")) {
        /* the work-injury platform is another system: while it dawdles it holds none of hisgate's
         * database slots (the fiscal platform's slowness does hold one, on purpose: t/api/08 fills
         * every slot with it) */
        int injury = !strcmp(platform, "injury");
        apr_interval_time_t wait = apr_time_from_msec(atoi(hg_db_val(m, 0, 1)));
        if (injury)
            hg_call_db_release(c);
        apr_sleep(wait);
        if (injury && (rv = hg_call_db_reacquire(c)))
            return rv;
    }
    return APR_SUCCESS;
}

/* POST /sandbox/fiscal/<service> */
static apr_status_t route_fiscal(hg_call_t *c)
{
    sandbox_conf_t *conf = ap_get_module_config(c->r->server->module_config, &sandbox_module);
    const char *mode, *appid = NULL, *err = NULL, *result, *message;
    char *data = NULL;
    apr_status_t rv;
    int sign_ok = 0, answered;

    if ((rv = platform_mode(c, "fiscal", &mode, &answered)) || answered)
        return rv;
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
        /* "misanswer": a success whose answer names another bill (a platform's or a proxy's mix-up) */
        if (!strcmp(mode, "misanswer") && !strcmp(result, "S0000")) {
            json_t *m = NULL;
            if (hg_json_parse(&m, c->pool, message, strlen(message), 0, NULL) == APR_SUCCESS && json_is_object(m)
                && json_object_get(m, "billNo")) {
                json_object_set_new(m, "billNo", json_string("0000000000"));
                message = hg_json_dump(c->pool, m, 0);
            }
        }
    }
    else {
        result = rv == HG_EAUTH ? "E1001" : rv == HG_EBADSIG ? "E1002" : "E0001";
        message = err;
    }
    if ((rv = hg_db_q(c->db, NULL, "INSERT INTO sandbox.fiscal_calls (service, appid, sign_ok, result, data, "
                      "keepalives) VALUES ($1, $2, $3::boolean, $4, $5, $6::int)", 6, c->path_rest, appid,
                      sign_ok ? "true" : "false", result, data, apr_itoa(c->pool, c->r->connection->keepalives))))
        return rv;
    return answer_bosi(c, result, message);
}

static const hg_field_t control_schema[] = {
    { .name = "platform", .type = HG_JT_STRING, .flags = HG_F_REQUIRED,
      .enum_values = (const char *const[]){ "fiscal", "sms", "wechat", "injury", NULL } },
    { .name = "mode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED,
      .enum_values = (const char *const[]){ "normal", "down", "slow", "reject", "error", "expire", "lost", "late",
                                            "badsplit", "misanswer", NULL } },
    { .name = "slow_ms", .type = HG_JT_INTEGER, .flags = HG_F_MIN | HG_F_MAX, .min = 0, .max = 120000 },
    /* injury's one-shot modes (error, lost, late, badsplit): the function they wait for, error's message,
     * how many matching calls pass first */
    { .name = "function_id", .type = HG_JT_STRING, .max_len = 32, .pattern = "^[a-z]+[0-9]+$" },
    { .name = "message", .type = HG_JT_STRING, .max_len = 200 },
    { .name = "skip", .type = HG_JT_INTEGER, .flags = HG_F_MIN | HG_F_MAX, .min = 0, .max = 1000 },
    { .name = NULL }
};

/* POST /sandbox/control {"platform":"fiscal|sms|wechat|injury","mode":"down"} — switch failure modes on
 * demand.  expire / lost / late / badsplit are the work-injury platform's only (mod_sandbox/INJURY.md
 * §6), and reject is not one of its modes; misanswer (a success naming another bill) the fiscal one's. */
static apr_status_t route_control(hg_call_t *c)
{
    apr_int64_t slow = 3000, skip = 0;
    const char *platform, *mode;
    int injury;
    apr_status_t rv;
    if (hg_json_validate(c->pool, c->json, control_schema, &c->err) != APR_SUCCESS)
        return HG_EINVALID;
    platform = hg_json_gets(c->json, "platform", NULL);
    mode = hg_json_gets(c->json, "mode", NULL);
    injury = !strcmp(platform, "injury");
    if (injury ? (!strcmp(mode, "reject") || !strcmp(mode, "misanswer"))
               : (!strcmp(mode, "expire") || !strcmp(mode, "lost") || !strcmp(mode, "late") || !strcmp(mode, "badsplit")
                  || (strcmp(platform, "fiscal") && !strcmp(mode, "misanswer"))))
        return hg_call_fail(c, "HG_FIELD_ENUM", "mode",
                            apr_psprintf(c->pool, "mode %s is not one of platform %s", mode, platform));
    hg_json_geti(c->json, &slow, "slow_ms", NULL);
    hg_json_geti(c->json, &skip, "skip", NULL);
    if (injury && !strcmp(mode, "expire"))
        rv = sandbox_injury_expire(c->db);
    else
        rv = hg_db_q(c->db, NULL, "UPDATE sandbox.modes SET mode = $2, slow_ms = $3::int, target = $4, message = $5, "
                     "skip = $6::int, updated_at = now() WHERE platform = $1", 6, platform, mode,
                     apr_off_t_toa(c->pool, slow), injury ? hg_json_gets(c->json, "function_id", NULL) : NULL,
                     injury ? hg_json_gets(c->json, "message", NULL) : NULL, apr_off_t_toa(c->pool, injury ? skip : 0));
    if (rv)
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

/* ---------------------------------------------------------------- work-injury platform
 * POST /sandbox/injury/api/call.action: the Guangdong work-injury platform's single endpoint, raw
 * XML both ways (mod_sandbox/INJURY.md).  "down" and "slow" are platform_mode's; the one-shot
 * modes are the domain's, except what only the HTTP side can do: drop the answer ("lost") or
 * send it late ("late"), in both cases after the work was committed. */
static apr_status_t route_injury(hg_call_t *c)
{
    const char *mode, *xml;
    int answered, after, after_ms;
    apr_status_t rv;

    if ((rv = platform_mode(c, "injury", &mode, &answered)) || answered)
        return rv;
    if ((rv = sandbox_injury_serve(c->pool, c->db, c->body, c->body_len, &xml, &after, &after_ms)))
        return rv;
    if (after == SBI_AFTER_LOST) {
        apr_socket_t *sock = ap_get_conn_socket(c->r->connection);
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, c->r, "HG09002: sandbox injury answer dropped (mode lost)");
        c->r->connection->keepalive = AP_CONN_CLOSE;
        if (sock)
            apr_socket_shutdown(sock, APR_SHUTDOWN_READWRITE);
        c->r->connection->aborted = 1;      /* the output filters now discard the answer */
    }
    else if (after == SBI_AFTER_LATE) {
        hg_call_db_release(c);      /* the work is committed; another system's delay holds no slot here */
        apr_sleep(apr_time_from_msec(after_ms));
    }
    c->out_body = xml;
    c->out_len = strlen(xml);
    c->out_type = "text/xml;charset=UTF-8";
    return APR_SUCCESS;
}

/* GET /sandbox/injury/calls[?function_id=…] — what the simulated platform received, newest first */
static apr_status_t route_injury_calls(hg_call_t *c)
{
    const char *fid = NULL;
    char *args = c->r->args ? apr_pstrdup(c->pool, c->r->args) : NULL, *kv, *last;
    json_t *out;
    apr_status_t rv;
    for (kv = args ? apr_strtok(args, "&", &last) : NULL; kv; kv = apr_strtok(NULL, "&", &last))
        if (!strncmp(kv, "function_id=", 12)) {
            ap_unescape_url(kv + 12);
            fid = kv + 12;
        }
    if ((rv = sandbox_injury_calls(c->pool, c->db, fid, &out)))
        return rv;
    return hg_call_answer(c, 200, out);
}

/* ---------------------------------------------------------------- message gateways
 * What hospitals use to send patients their bill links.  Both parse their own body so that a bad
 * one gets the gateway's own answer, not hisgate's error envelope, and record what they accepted
 * in sandbox.messages. */

static apr_status_t sms_answer(hg_call_t *c, const char *code, const char *message, const char *biz_id)
{
    json_t *o = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (o && biz_id)
        json_object_set_new(o, "bizId", json_string(biz_id));
    return hg_call_answer(c, 200, o);
}

static int json_str_ok(json_t *o, const char *key)
{
    const char *v = hg_json_gets(o, key, NULL);
    return v && *v;
}

/* POST /sandbox/sms/send {"phone","content","sign"} -> {"code":"OK","message":"OK","bizId":…}.
 * Codes after the common Chinese SMS gateways: isv.* = the request or the account is wrong,
 * isp.* = the gateway's own trouble (mode "error"). */
static apr_status_t route_sms(hg_call_t *c)
{
    json_t *j = NULL;
    hg_db_result_t *r;
    const char *mode, *phone;
    apr_size_t n;
    apr_status_t rv;
    int answered;

    if ((rv = platform_mode(c, "sms", &mode, &answered)) || answered)
        return rv;
    if (!strcmp(mode, "error"))
        return sms_answer(c, "isp.SYSTEM_ERROR", "系统繁忙，请稍后重试(模拟)", NULL);
    if (!strcmp(mode, "reject"))
        return sms_answer(c, "isv.SMS_SIGNATURE_ILLEGAL", "短信签名不合法(模拟拒绝)", NULL);
    if (hg_json_parse(&j, c->pool, c->body, c->body_len, 0, NULL) != APR_SUCCESS)
        return sms_answer(c, "isv.INVALID_PARAMETERS", "请求体不是JSON对象", NULL);
    phone = hg_json_gets(j, "phone", NULL);
    if (!phone || strlen(phone) != 11 || phone[0] != '1' || strspn(phone, "0123456789") != 11)
        return sms_answer(c, "isv.MOBILE_NUMBER_ILLEGAL", "手机号码格式错误", NULL);
    if (!json_str_ok(j, "sign"))
        return sms_answer(c, "isv.SMS_SIGNATURE_ILLEGAL", "短信签名不能为空", NULL);
    if (!json_str_ok(j, "content") || hg_utf8_count(&n, hg_json_gets(j, "content", NULL),
                                                    strlen(hg_json_gets(j, "content", NULL))) || n > 500)
        return sms_answer(c, "isv.INVALID_PARAMETERS", "短信内容为空或超过500字", NULL);
    /* the first link of the text goes to url: tests open it */
    if ((rv = hg_db_q(c->db, &r, "INSERT INTO sandbox.messages (channel, recipient, content, url, sign) "
                      "VALUES ('sms', $1, $2, substring($2 from 'https?://[^[:space:]，。；、）)]+'), $3) RETURNING id",
                      3, phone, hg_json_gets(j, "content", NULL), hg_json_gets(j, "sign", NULL))))
        return rv;
    return sms_answer(c, "OK", "OK", apr_pstrcat(c->pool, hg_db_val(r, 0, 0), "^0", NULL));
}

static apr_status_t wechat_answer(hg_call_t *c, int errcode, const char *errmsg, const char *msgid)
{
    json_t *o = json_pack("{s:i, s:s}", "errcode", errcode, "errmsg", errmsg);
    if (o && msgid)
        json_object_set_new(o, "msgid", json_integer(apr_atoi64(msgid)));
    return hg_call_answer(c, 200, o);
}

/* POST /sandbox/wechat/template/send[?access_token=…] — WeChat's template message API
 * (cgi-bin/message/template/send): {"touser","template_id","url","data":{"first":{"value":…},…}}
 * -> {"errcode":0,"errmsg":"ok","msgid":…}; errcodes are WeChat's documented ones (an openid
 * beginning oSBXunfollow is a patient who does not follow the account: 43004).  The access
 * token must be one cgi-bin/token handed out and still valid (mod_sandbox_wechat.c). */
static apr_status_t route_wechat(hg_call_t *c)
{
    json_t *j = NULL, *data, *v;
    hg_db_result_t *r;
    const char *mode, *touser, *key, *url, *errmsg;
    apr_status_t rv;
    int answered, errcode;

    if ((rv = platform_mode(c, "wechat", &mode, &answered)) || answered)
        return rv;
    if (!strcmp(mode, "error"))
        return wechat_answer(c, -1, "system error", NULL);
    if (!strcmp(mode, "reject"))
        return wechat_answer(c, 40001, "invalid credential, access_token is invalid or not latest", NULL);
    if ((rv = sandbox_wechat_check_token(c, &errcode, &errmsg)) || errcode)
        return rv ? rv : wechat_answer(c, errcode, errmsg, NULL);
    if (hg_json_parse(&j, c->pool, c->body, c->body_len, 0, NULL) != APR_SUCCESS)
        return wechat_answer(c, 47001, "data format error", NULL);
    touser = hg_json_gets(j, "touser", NULL);
    if (!touser || strlen(touser) < 16 || strlen(touser) > 64
        || strspn(touser, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(touser))
        return wechat_answer(c, 40003, "invalid openid", NULL);
    /* a patient who does not follow the Official Account: no template message reaches them */
    if (!strncmp(touser, "oSBXunfollow", 12))
        return wechat_answer(c, 43004, "require subscribe hint", NULL);
    if (!json_str_ok(j, "template_id"))
        return wechat_answer(c, 40037, "invalid template_id", NULL);
    url = hg_json_gets(j, "url", NULL);
    if (json_object_get(j, "url") && (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))))
        return wechat_answer(c, 47003, "argument invalid! url invalid", NULL);
    data = json_object_get(j, "data");
    if (!json_is_object(data) || !json_object_size(data))
        return wechat_answer(c, 47003, "argument invalid! data invalid", NULL);
    json_object_foreach(data, key, v)
        if (!hg_json_gets(v, "value", NULL))
            return wechat_answer(c, 47003, apr_psprintf(c->pool, "argument invalid! data.%s.value invalid", key), NULL);
    if ((rv = hg_db_q(c->db, &r, "INSERT INTO sandbox.messages (channel, recipient, content, url, template_id) "
                      "VALUES ('wechat', $1, $2, $3, $4) RETURNING id", 4, touser, hg_json_dump(c->pool, data, 0),
                      url, hg_json_gets(j, "template_id", NULL))))
        return rv;
    return wechat_answer(c, 0, "ok", hg_db_val(r, 0, 0));
}

/* GET /sandbox/messages[?to=<phone or openid>] — what the gateways accepted, newest first */
static apr_status_t route_messages(hg_call_t *c)
{
    const char *to = NULL;
    char *args = c->r->args ? apr_pstrdup(c->pool, c->r->args) : NULL, *kv, *last;
    hg_db_result_t *res;
    json_t *a = json_array();
    apr_status_t rv;
    int i;
    for (kv = args ? apr_strtok(args, "&", &last) : NULL; kv; kv = apr_strtok(NULL, "&", &last))
        if (!strncmp(kv, "to=", 3)) {
            ap_unescape_url(kv + 3);
            to = kv + 3;
        }
    if ((rv = hg_db_q(c->db, &res, "SELECT id, channel, recipient, content, url, template_id, sign, "
                      "to_char(at, 'YYYY-MM-DD\"T\"HH24:MI:SS.MSOF') FROM sandbox.messages "
                      "WHERE $1::text IS NULL OR recipient = $1 ORDER BY id DESC LIMIT 100", 1, to)))
        return rv;
    for (i = 0; i < res->nrows; i++)
        json_array_append_new(a, json_pack("{s:I, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s}",
            "id", (json_int_t)apr_atoi64(hg_db_val(res, i, 0)), "channel", hg_db_val(res, i, 1),
            "to", hg_db_val(res, i, 2), "content", hg_db_val(res, i, 3), "url", hg_db_val(res, i, 4),
            "template_id", hg_db_val(res, i, 5), "sign", hg_db_val(res, i, 6), "at", hg_db_val(res, i, 7)));
    return hg_call_answer(c, 200, json_pack("{s:o}", "messages", a));
}

static const hg_route_t sandbox_routes[] = {
    { "POST", "/sandbox/fiscal/", HG_R_PUBLIC | HG_R_DB | HG_R_PREFIX, NULL, route_fiscal },
    { "GET",  "/sandbox/fiscal/calls", HG_R_PUBLIC | HG_R_DB, NULL, route_calls },
    { "POST", "/sandbox/control", HG_R_PUBLIC | HG_R_DB | HG_R_JSON, NULL, route_control },
    { "POST", "/sandbox/sms/send", HG_R_PUBLIC | HG_R_DB, NULL, route_sms },
    { "POST", "/sandbox/wechat/template/send", HG_R_PUBLIC | HG_R_DB, NULL, route_wechat },
    { "GET",  "/sandbox/messages", HG_R_PUBLIC | HG_R_DB, NULL, route_messages },
    { "POST", "/sandbox/injury/api/call.action", HG_R_PUBLIC | HG_R_DB, NULL, route_injury },
    { "GET",  "/sandbox/injury/calls", HG_R_PUBLIC | HG_R_DB, NULL, route_injury_calls },
    { NULL }
};

extern const hg_route_t sandbox_his_routes[];   /* mod_sandbox_his.c */

static int sandbox_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(hg_register_routes) *reg = APR_RETRIEVE_OPTIONAL_FN(hg_register_routes);
    if (!reg) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "HG09000: mod_sandbox needs mod_hisgate loaded first");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    reg("sandbox", sandbox_routes, NULL);
    reg("sandbox-wechat", sandbox_wechat_routes, NULL);
    reg("sandbox-wxcard", sandbox_wxcard_routes, NULL);
    reg("sandbox-his", sandbox_his_routes, NULL);
    return OK;
}

static int sandbox_process_connection(conn_rec *c)
{
    sandbox_conf_t *conf = ap_get_module_config(c->base_server->module_config, &sandbox_module);
    return conf && conf->smtp ? sandbox_smtp_converse(c) : DECLINED;
}

static void sandbox_register_hooks(apr_pool_t *p)
{
    static const char *const pred[] = { "mod_hisgate.c", NULL };
    ap_hook_post_config(sandbox_post_config, pred, NULL, APR_HOOK_MIDDLE);
    /* before http's own (APR_HOOK_REALLY_LAST), as mod_echo */
    ap_hook_process_connection(sandbox_process_connection, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(sandbox) = {
    STANDARD20_MODULE_STUFF, NULL, NULL, create_conf, NULL, sandbox_cmds, sandbox_register_hooks, 0
};
