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

/* ---------------------------------------------------------------- the account's message push */

typedef struct push_handler_t {
    const char *event;
    hg_wechat_event_fn *fn;
    void *baton;
} push_handler_t;
static apr_array_header_t *push_handlers;     /* set up in post_config, read-only afterwards */

apr_status_t hg_register_wechat_event(const char *event, hg_wechat_event_fn *fn, void *baton)
{
    push_handler_t *h;
    if (!push_handlers)
        return APR_EINIT;
    h = apr_array_push(push_handlers);
    h->event = event;
    h->fn = fn;
    h->baton = baton;
    return APR_SUCCESS;
}

void hg_wechat_push_reset(apr_pool_t *pconf)
{
    push_handlers = apr_array_make(pconf, 4, sizeof(push_handler_t));
}

static apr_status_t push_answer(hg_call_t *c, const char *text)
{
    c->status = 200;
    c->out_body = text;
    c->out_len = strlen(text);
    c->out_type = "text/plain; charset=utf-8";
    return APR_SUCCESS;
}

/* the query's signature over the configured token, within HisgateAuthWindow; safe mode adds
 * the Encrypt text.  A push seen again (WeChat retries, or someone replays one) is not refused:
 * every handler is idempotent, and WeChat reads a refusal as a failure and pushes again. */
static apr_status_t push_checked(hg_call_t *c, apr_table_t **q, const char *encrypt)
{
    hg_conf_t *g = hg_conf_global;
    const char *ts, *sig;
    apr_int64_t t;
    char *end;

    if (!g->wechat_push_token)
        return hg_call_fail(c, "HG_WECHAT_PUSH_OFF", NULL, NULL);
    ap_args_to_table(c->r, q);
    ts = apr_table_get(*q, "timestamp");
    sig = encrypt ? apr_table_get(*q, "msg_signature") : apr_table_get(*q, "signature");
    if (!ts || !sig || !apr_table_get(*q, "nonce"))
        return hg_call_fail(c, "HG_AUTH_MISSING", !ts ? "timestamp" : !sig ? (encrypt ? "msg_signature" : "signature")
                            : "nonce", NULL);
    t = apr_strtoi64(ts, &end, 10);
    if (*end || end == ts || t < apr_time_sec(apr_time_now()) - g->auth_window
        || t > apr_time_sec(apr_time_now()) + g->auth_window)
        return hg_call_fail(c, "HG_AUTH_STALE_TIMESTAMP", "timestamp", NULL);
    if (!hg_wechat_push_signed(sig, c->pool, g->wechat_push_token, ts, apr_table_get(*q, "nonce"), encrypt))
        return hg_call_fail(c, "HG_AUTH_BAD_SIGNATURE", encrypt ? "msg_signature" : "signature", NULL);
    return APR_SUCCESS;
}

/* GET /hg/wechat/push?signature=&timestamp=&nonce=&echostr= — the account's URL check */
apr_status_t hg_wechat_push_get(hg_call_t *c)
{
    apr_table_t *q = NULL;
    const char *echo;
    apr_status_t rv;
    if ((rv = push_checked(c, &q, NULL)))
        return rv;
    if (!(echo = apr_table_get(q, "echostr")) || !*echo || strlen(echo) > 128)
        return hg_call_fail(c, "HG_FIELD_REQUIRED", "echostr", NULL);
    return push_answer(c, echo);
}

/* POST /hg/wechat/push?signature=&timestamp=&nonce=[&encrypt_type=aes&msg_signature=] — a message */
apr_status_t hg_wechat_push_post(hg_call_t *c)
{
    hg_conf_t *g = hg_conf_global;
    apr_table_t *q = NULL;
    json_t *outer = NULL, *msg = NULL;
    const char *encrypt = NULL, *why = NULL, *event, *type;
    apr_status_t rv;
    int i, aes;

    ap_args_to_table(c->r, &q);
    aes = q && apr_table_get(q, "encrypt_type") && !strcmp(apr_table_get(q, "encrypt_type"), "aes");
    if (aes || g->wechat_push_aeskey) {
        /* an account in safe mode takes only encrypted pushes: a plain one would be a forgery */
        if (!g->wechat_push_aeskey || !aes)
            return hg_call_fail(c, "HG_AUTH_MALFORMED", "encrypt_type",
                                g->wechat_push_aeskey ? "the account is in safe mode (安全模式): encrypt_type=aes"
                                                      : "no EncodingAESKey configured (HisgateWeChatPush)");
        if (hg_wechat_push_parse(&outer, &why, c->pool, c->body, c->body_len)
            || !(encrypt = hg_json_gets(outer, "Encrypt", NULL)))
            return hg_call_fail(c, "HG_XML_MALFORMED", "Encrypt", why ? why : "no <Encrypt>");
    }
    if ((rv = push_checked(c, &q, encrypt)))
        return rv;
    if (encrypt) {
        char *plain;
        apr_size_t len;
        const char *appid;
        if (hg_wechat_push_decrypt(&plain, &len, &appid, &why, c->pool, g->wechat_push_aeskey, encrypt))
            return hg_call_fail(c, "HG_AUTH_BAD_SIGNATURE", "Encrypt", why);
        if (g->wechat_appid && strcmp(appid, g->wechat_appid))
            return hg_call_fail(c, "HG_AUTH_UNKNOWN_APP", "Encrypt", "the message is for another account");
        c->body = plain;        /* the journal keeps the message, not the ciphertext */
        c->body_len = len;
    }
    if (hg_wechat_push_parse(&msg, &why, c->pool, c->body, c->body_len))
        return hg_call_fail(c, "HG_XML_MALFORMED", NULL, why);
    if (!(type = hg_json_gets(msg, "MsgType", NULL)))
        type = "";
    if (!(event = hg_json_gets(msg, "Event", NULL)))
        event = "";
    for (i = 0; push_handlers && !strcmp(type, "event") && i < push_handlers->nelts; i++) {
        push_handler_t *h = &APR_ARRAY_IDX(push_handlers, i, push_handler_t);
        if (!strcmp(h->event, event)) {
            if ((rv = h->fn(c, msg, h->baton)))
                return rv;
            return push_answer(c, "success");
        }
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, c->r, "HG00053: WeChat push %s %s: nobody handles it",
                  hg_utf8_repair(c->pool, type), hg_utf8_repair(c->pool, event));
    return push_answer(c, "success");
}
