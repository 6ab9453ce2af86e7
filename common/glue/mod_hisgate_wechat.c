/* mod_hisgate_wechat: the WeChat access token for every module and child (see hg_wechat.h).
 * The token lives in the shared-memory cache of HisgateReplayCache under "wechat-token:<appid>";
 * a global mutex lets one child fetch while the others wait and then read what it stored. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "util_mutex.h"
#include "apr_strings.h"
#include "mod_hisgate_private.h"
#include "hg_wechat.h"

APLOG_USE_MODULE(hisgate);

static apr_global_mutex_t *wechat_mutex;
static const char *const wechat_mutex_type = "hisgate-wechat";
static server_rec *main_server;

apr_status_t hg_wechat_pre_config(apr_pool_t *pconf)
{
    return ap_mutex_register(pconf, wechat_mutex_type, NULL, APR_LOCK_DEFAULT, 0);
}

apr_status_t hg_wechat_post_config(server_rec *s, apr_pool_t *pconf)
{
    main_server = s;
    return ap_global_mutex_create(&wechat_mutex, NULL, wechat_mutex_type, NULL, s, pconf, 0);
}

void hg_wechat_child_init(apr_pool_t *p)
{
    if (wechat_mutex)
        apr_global_mutex_child_init(&wechat_mutex, apr_global_mutex_lockfile(wechat_mutex), p);
}

static void conf_of(hg_wechat_conf_t *w)
{
    hg_conf_t *c = hg_conf_global;
    memset(w, 0, sizeof(*w));
    w->appid = c->wechat_appid;
    w->secret = c->wechat_secret;
    w->api_base = c->wechat_api;
    w->token_url = c->wechat_token_url;
    w->ca_file = c->ca_file;
}

/* the journal gets the exchange without the secret (URL) and without the token (answer) */
typedef struct redact_t {
    hg_http_observer_fn *fn;
    void *baton;
} redact_t;

static void redacting_observer(void *baton, apr_pool_t *p, const hg_http_req_t *req,
                               const hg_http_resp_t *resp, apr_status_t rv)
{
    redact_t *r = baton;
    hg_http_req_t q = *req;
    hg_http_resp_t a;
    q.url = hg_wechat_redact_url(p, req->url);
    if (resp) {
        a = *resp;
        if (a.body && strstr(a.body, "access_token")) {
            a.body = apr_pstrdup(p, "{\"access_token\":\"***\"}");
            a.body_len = strlen(a.body);
        }
        resp = &a;
    }
    r->fn(r->baton, p, &q, resp, rv);
}

static const char *cache_key(apr_pool_t *p, const hg_wechat_conf_t *w)
{
    return apr_pstrcat(p, "wechat-token:", w->token_url ? w->token_url : w->appid, NULL);
}

/* the cached token and its refresh time, or NULL */
static const char *cached(apr_pool_t *p, const char *key, apr_time_t *refresh_at)
{
    unsigned char buf[2300];
    unsigned int len = sizeof(buf) - 1;
    char *bar;
    if (hg_shared_cache.provider->retrieve(hg_shared_cache.inst, main_server, (const unsigned char *)key, strlen(key),
                                      buf, &len, p) != APR_SUCCESS)
        return NULL;
    buf[len] = '\0';
    if (!(bar = strchr((char *)buf, '|')))
        return NULL;
    *bar = '\0';
    *refresh_at = apr_atoi64((char *)buf);
    return apr_pstrdup(p, bar + 1);
}

apr_status_t hg_wechat_token(apr_pool_t *p, const char *stale, hg_http_observer_fn *observer,
                             void *observer_baton, const char **token, const char **why)
{
    hg_wechat_conf_t w;
    hg_http_req_t req;
    hg_http_resp_t *resp = NULL;
    redact_t red;
    const char *key, *t, *val;
    apr_time_t refresh_at = 0;
    apr_status_t rv;
    int expires_in;

    *token = NULL;
    *why = NULL;
    conf_of(&w);
    if (!hg_shared_cache.provider || !wechat_mutex || hg_wechat_token_request(&req, p, &w) != APR_SUCCESS) {
        *why = "WeChat is not configured (HisgateWeChat appid secret, or HisgateWeChatTokenURL)";
        return HG_EINVALID;
    }
    key = cache_key(p, &w);
    if ((rv = apr_global_mutex_lock(wechat_mutex)) != APR_SUCCESS) {
        *why = "the WeChat token lock failed";
        return rv;
    }
    /* a sibling may have fetched while we waited: its token is good unless it is the stale one */
    t = cached(p, key, &refresh_at);
    if (t && apr_time_now() < refresh_at && !(stale && !strcmp(t, stale))) {
        apr_global_mutex_unlock(wechat_mutex);
        *token = t;
        return APR_SUCCESS;
    }
    if (observer) {
        red.fn = observer;
        red.baton = observer_baton;
        req.observer = redacting_observer;
        req.observer_baton = &red;
    }
    rv = hg_http_do(&resp, p, &req);
    if (rv == APR_SUCCESS && resp->status != 200) {
        *why = apr_psprintf(p, "the token service answered HTTP %d", resp->status);
        rv = HG_EPLATFORM;
    }
    else if (rv != APR_SUCCESS)
        *why = apr_pstrcat(p, "the token service was not reached: ",
                           resp && resp->error ? resp->error : rv == HG_ETIMEOUT ? "timeout" : "error", NULL);
    else if ((rv = hg_wechat_token_parse(&t, &expires_in, why, p, resp->body, resp->body_len)) == APR_SUCCESS) {
        if (stale && !strcmp(t, stale)) {
            /* a central service that hands out what WeChat just refused: try again later */
            *why = "the central token service answered the token WeChat refused";
            rv = HG_EPLATFORM;
        }
        else {
            refresh_at = apr_time_now() + apr_time_from_sec(expires_in > 2 * HG_WECHAT_EARLY_S
                                                            ? expires_in - HG_WECHAT_EARLY_S : expires_in / 2);
            val = apr_psprintf(p, "%" APR_TIME_T_FMT "|%s", refresh_at, t);
            if (hg_shared_cache.provider->store(hg_shared_cache.inst, main_server, (const unsigned char *)key, strlen(key),
                                           refresh_at, (unsigned char *)val, strlen(val), p) != APR_SUCCESS)
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, main_server,
                             "HG00040: the WeChat token could not be cached (HisgateReplayCache full?)");
            *token = t;
        }
    }
    apr_global_mutex_unlock(wechat_mutex);
    if (rv == APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, main_server, "HG00041: new WeChat access token for %s (%s)",
                     w.token_url ? "the central token service" : w.appid, stale ? "the old one was refused" : "none cached");
    else
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, main_server, "HG00042: no WeChat access token: %s", *why);
    return rv;
}
