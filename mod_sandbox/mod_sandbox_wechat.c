/* mod_sandbox_wechat: the WeChat access token as WeChat hands it out (cgi-bin/token) and checks it
 * on every API call.  Errcodes are WeChat's documented ones. */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "util_script.h"
#include "apr_strings.h"
#include "hg_glue.h"
#include "hg_auth.h"
#include "mod_sandbox_wechat.h"

APLOG_USE_MODULE(sandbox);

static apr_status_t token_answer(hg_call_t *c, int errcode, const char *errmsg)
{
    return hg_call_answer(c, 200, json_pack("{s:i, s:s}", "errcode", errcode, "errmsg", errmsg));
}

/* GET /sandbox/wechat/cgi-bin/token?grant_type=client_credential&appid=…&secret=…
 * -> {"access_token":…, "expires_in":7200} */
static apr_status_t route_token(hg_call_t *c)
{
    apr_table_t *q = NULL;
    const char *grant, *appid, *secret;
    hg_db_result_t *r;
    char *token;
    apr_status_t rv;

    ap_args_to_table(c->r, &q);
    grant = q ? apr_table_get(q, "grant_type") : NULL;
    appid = q ? apr_table_get(q, "appid") : NULL;
    secret = q ? apr_table_get(q, "secret") : NULL;
    if (!grant || strcmp(grant, "client_credential"))
        return token_answer(c, 40002, "invalid grant_type");
    if (!appid || !secret)
        return token_answer(c, 41002, "appid missing");
    if ((rv = hg_db_q(c->db, &r, "SELECT secret FROM sandbox.wechat_apps WHERE appid = $1", 1, appid)))
        return rv;
    if (!r->nrows)
        return token_answer(c, 40013, "invalid appid");
    if (strcmp(hg_db_val(r, 0, 0), secret))
        return token_answer(c, 40125, "invalid appsecret");
    if ((rv = hg_token_new(&token, c->pool)))
        return rv;
    token = apr_pstrcat(c->pool, "SBX_", token, NULL);
    if ((rv = hg_db_q(c->db, NULL,
                      "WITH older AS (UPDATE sandbox.wechat_tokens SET expires_at = least(expires_at, now() + interval '5 minutes') "
                      "  WHERE appid = $1 AND expires_at > now()) "
                      "INSERT INTO sandbox.wechat_tokens (token, appid, expires_at) "
                      "VALUES ($2, $1, now() + interval '7200 seconds')", 2, appid, token)))
        return rv;
    return hg_call_answer(c, 200, json_pack("{s:s, s:i}", "access_token", token, "expires_in", 7200));
}

/* POST /sandbox/wechat/expire-tokens — every token handed out so far stops working now (as when
 * another system fetched a newer one 5 minutes ago); -> {"expired": n} */
static apr_status_t route_expire(hg_call_t *c)
{
    hg_db_result_t *r;
    apr_status_t rv;
    if ((rv = hg_db_q(c->db, &r, "WITH e AS (UPDATE sandbox.wechat_tokens SET expires_at = now() "
                      "WHERE expires_at > now() RETURNING 1) SELECT count(*) FROM e", 0)))
        return rv;
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, c->r, "HG09002: sandbox WeChat tokens expired: %s", hg_db_val(r, 0, 0));
    return hg_call_answer(c, 200, json_pack("{s:I}", "expired", (json_int_t)apr_atoi64(hg_db_val(r, 0, 0))));
}

apr_status_t sandbox_wechat_check_token(hg_call_t *c, int *errcode, const char **errmsg)
{
    apr_table_t *q = NULL;
    const char *token;
    hg_db_result_t *r;
    apr_status_t rv;

    *errcode = 0;
    *errmsg = NULL;
    ap_args_to_table(c->r, &q);
    token = q ? apr_table_get(q, "access_token") : NULL;
    if (!token || !*token) {
        *errcode = 41001;
        *errmsg = "access_token missing";
        return APR_SUCCESS;
    }
    if ((rv = hg_db_q(c->db, &r, "SELECT expires_at > now() FROM sandbox.wechat_tokens WHERE token = $1", 1, token)))
        return rv;
    if (!r->nrows) {
        *errcode = 40001;
        *errmsg = "invalid credential, access_token is invalid or not latest";
    }
    else if (hg_db_val(r, 0, 0)[0] != 't') {
        *errcode = 42001;
        *errmsg = "access_token expired";
    }
    return APR_SUCCESS;
}

const hg_route_t sandbox_wechat_routes[] = {
    { "GET",  "/sandbox/wechat/cgi-bin/token", HG_R_PUBLIC | HG_R_DB, NULL, route_token },
    { "POST", "/sandbox/wechat/expire-tokens", HG_R_PUBLIC | HG_R_DB, NULL, route_expire },
    { NULL }
};
