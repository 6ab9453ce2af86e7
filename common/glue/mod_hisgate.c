/* mod_hisgate: the core module of hisgate.
 * Directives, the request pipeline shared by every business module (see hg_glue.h), the HIS
 * signature and replay checks, staff sessions, the bounded database wait, and the hooks that
 * start the outbox drain.  Domain logic lives in common/hg_*.c (no httpd headers there). */
#include <string.h>
#include <stdio.h>
#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "util_mutex.h"
#include "ap_provider.h"
#include "ap_mpm.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"
#include "apr_thread_cond.h"
#include "apr_global_mutex.h"
#include "apr_hash.h"
#include "apr_lib.h"
#include "mod_hisgate_private.h"
#include "hg_crypto.h"
#include "hg_wechat.h"
#include "hg_auth.h"
#include "hg_pdf.h"
#include "hg_slots.h"


hg_conf_t *hg_conf_global;
apr_array_header_t *hg_routes, *hg_topics, *hg_module_names;


/* Droid has the CJK glyphs but no Latin letters or digits; Liberation supplies those */
#define HG_DEFAULT_FONTS "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf:" \
                         "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"


/* ---------------------------------------------------------------- configuration */

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    hg_conf_t *c = apr_pcalloc(p, sizeof(*c));
    c->institution = "";
    c->db_slots = 4;
    c->db_wait_ms = 2000;
    c->reports = 1;
    c->report_wait_s = 30;
    c->report_timeout_s = 120;
    c->auth_window = 300;
    /* every nonce must be remembered for 2 x HisgateAuthWindow: shmcb's default 512 KB held ~5,000,
     * i.e. under a minute at 100 signed requests/s, after which a captured request could be
     * replayed inside the window; 32 MB holds ~550,000 (15 minutes at 600/s) */
    c->replay_cache = "shmcb:hisgate-replay(33554432)";
    c->outbox_interval_ms = 1000;
    c->outbox_batch = 20;
    c->outbox_concurrency = 8;
    c->retry_base_s = 30;
    c->lease_s = 120;
    c->max_body = 4 * 1024 * 1024;
    c->fiscal_timeout_ms = 10000;
    c->session_ttl = 8 * 3600;
    c->lockout_threshold = 5;
    c->lockout_seconds = 900;
    c->cookie_secure = -1;
    c->fonts = HG_DEFAULT_FONTS;
    return c;
}

static hg_conf_t *conf_of(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &hisgate_module);
}

static const char *set_int(cmd_parms *cmd, void *dc, const char *arg)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (*end || v < 0 || v > 100000000)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a non-negative whole number",
                            cmd->cmd->name, arg);
    *(int *)((char *)conf_of(cmd) + (apr_size_t)cmd->info) = (int)v;
    return NULL;
}

static const char *set_str(cmd_parms *cmd, void *dc, const char *arg)
{
    *(const char **)((char *)conf_of(cmd) + (apr_size_t)cmd->info) = arg;
    return NULL;
}

static const char *set_flag(cmd_parms *cmd, void *dc, int on)
{
    *(int *)((char *)conf_of(cmd) + (apr_size_t)cmd->info) = on;
    return NULL;
}

static const char *set_max_body(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_off_t v;
    if (apr_strtoff(&v, arg, NULL, 10) != APR_SUCCESS || v < 1024)
        return "HisgateMaxBody: give a size in bytes (at least 1024)";
    conf_of(cmd)->max_body = (apr_size_t)v;
    return NULL;
}

static const char *set_cookie_secure(cmd_parms *cmd, void *dc, const char *arg)
{
    hg_conf_t *c = conf_of(cmd);
    if (!strcasecmp(arg, "auto"))
        c->cookie_secure = -1;
    else if (!strcasecmp(arg, "on"))
        c->cookie_secure = 1;
    else if (!strcasecmp(arg, "off"))
        c->cookie_secure = 0;
    else
        return "HisgateCookieSecure: Auto, On or Off";
    return NULL;
}

/* *out = arg when it is a whole number from lo to hi (digits only) */
static int int_between(const char *arg, int lo, int hi, int *out)
{
    int v = atoi(arg);
    if (!*arg || strspn(arg, "0123456789") != strlen(arg) || strlen(arg) > 9 || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

static const char *set_outbox_concurrency(cmd_parms *cmd, void *dc, const char *arg)
{
    return int_between(arg, 1, 64, &conf_of(cmd)->outbox_concurrency) ? NULL
         : "HisgateOutboxConcurrency: 1 to 64 delivery threads";
}

static const char *set_reports(cmd_parms *cmd, void *dc, const char *n, const char *wait)
{
    hg_conf_t *c = conf_of(cmd);
    if (!int_between(n, 1, 64, &c->reports))
        return "HisgateReports: 1 to 64 reports at once per process";
    if (wait && !int_between(wait, 1, 600, &c->report_wait_s))
        return "HisgateReports: the wait is 1 to 600 seconds";
    return NULL;
}

static const char *set_report_timeout(cmd_parms *cmd, void *dc, const char *arg)
{
    return int_between(arg, 1, 3600, &conf_of(cmd)->report_timeout_s) ? NULL
         : "HisgateReportTimeout: 1 to 3600 seconds";
}

static const char *set_lockout(cmd_parms *cmd, void *dc, const char *n, const char *secs)
{
    hg_conf_t *c = conf_of(cmd);
    c->lockout_threshold = atoi(n);
    c->lockout_seconds = atoi(secs);
    if (c->lockout_threshold < 1 || c->lockout_seconds < 1)
        return "HisgateLockout: failures (>= 1) and seconds (>= 1)";
    return NULL;
}

static const char *set_wechat(cmd_parms *cmd, void *dc, const char *appid, const char *secret,
                              const char *api)
{
    hg_conf_t *c = conf_of(cmd);
    if (api && strncmp(api, "http://", 7) && strncmp(api, "https://", 8))
        return "HisgateWeChat: the API base must start with http:// or https://";
    c->wechat_appid = appid;
    c->wechat_secret = secret;
    c->wechat_api = api;
    return NULL;
}

static const char *set_wechat_push(cmd_parms *cmd, void *dc, const char *token, const char *aeskey)
{
    hg_conf_t *c = conf_of(cmd);
    const char *k;
    /* WeChat's rule for the Token: 3 to 32 letters and digits */
    if (strlen(token) < 3 || strlen(token) > 32 || strspn(token, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != strlen(token))
        return "HisgateWeChatPush: the Token is 3 to 32 letters and digits";
    if (aeskey) {
        if (strlen(aeskey) != HG_WECHAT_AESKEY_LEN)
            return "HisgateWeChatPush: the EncodingAESKey is 43 characters";
        for (k = aeskey; *k; k++)
            if (!apr_isalnum(*k))
                return "HisgateWeChatPush: the EncodingAESKey is letters and digits";
    }
    c->wechat_push_token = token;
    c->wechat_push_aeskey = aeskey;
    return NULL;
}

static const char *set_wechat_token_url(cmd_parms *cmd, void *dc, const char *url)
{
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
        return "HisgateWeChatTokenURL must start with http:// or https://";
    conf_of(cmd)->wechat_token_url = url;
    return NULL;
}

static const char *set_fiscal(cmd_parms *cmd, void *dc, const char *url, const char *appid,
                              const char *key)
{
    hg_conf_t *c = conf_of(cmd);
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
        return "HisgateFiscal: the platform URL must start with http:// or https://";
    c->fiscal_url = url;
    c->fiscal_appid = appid;
    c->fiscal_key = key;
    return NULL;
}

#define OFF(f) (void *)APR_OFFSETOF(hg_conf_t, f)
static const command_rec hg_cmds[] = {
    AP_INIT_TAKE1("HisgateInstitution", set_str, OFF(institution), RSRC_CONF,
                  "institution code used when a caller does not carry one"),
    AP_INIT_TAKE1("HisgateKeyFile", set_str, OFF(key_file), RSRC_CONF,
                  "file with master_key= and audit_key= (32 hex digits each)"),
    AP_INIT_TAKE1("HisgateDBSlots", set_int, OFF(db_slots), RSRC_CONF,
                  "database connections one process's requests may use at once (DBDMax minus one: the drain's)"),
    AP_INIT_TAKE1("HisgateDBWait", set_int, OFF(db_wait_ms), RSRC_CONF,
                  "milliseconds a request waits for a database connection before 503"),
    AP_INIT_TAKE12("HisgateReports", set_reports, NULL, RSRC_CONF,
                   "reports read at once per process, and how long others wait for one (seconds; default 1 30)"),
    AP_INIT_TAKE1("HisgateReportTimeout", set_report_timeout, NULL, RSRC_CONF,
                  "how long a report's statements may run (seconds; default 120)"),
    AP_INIT_TAKE1("HisgateAuthWindow", set_int, OFF(auth_window), RSRC_CONF,
                  "seconds a signed request's timestamp may differ from the server clock"),
    AP_INIT_TAKE1("HisgateReplayCache", set_str, OFF(replay_cache), RSRC_CONF,
                  "mod_socache provider for seen nonces, e.g. shmcb or memcache:host:port"),
    AP_INIT_TAKE1("HisgateOutboxInterval", set_int, OFF(outbox_interval_ms), RSRC_CONF,
                  "milliseconds between outbox drain ticks"),
    AP_INIT_TAKE1("HisgateOutboxBatch", set_int, OFF(outbox_batch), RSRC_CONF,
                  "most outbox rows claimed by one statement"),
    AP_INIT_TAKE1("HisgateOutboxConcurrency", set_outbox_concurrency, NULL, RSRC_CONF,
                  "outbox deliveries in flight at once (delivery threads of the drain)"),
    AP_INIT_TAKE1("HisgateOutboxRetryBase", set_int, OFF(retry_base_s), RSRC_CONF,
                  "first retry delay in seconds (doubles per attempt, capped at one hour)"),
    AP_INIT_TAKE1("HisgateOutboxLease", set_int, OFF(lease_s), RSRC_CONF,
                  "seconds a claimed row stays with its drainer before another may take it"),
    AP_INIT_TAKE1("HisgateMaxBody", set_max_body, NULL, RSRC_CONF,
                  "largest request body accepted, in bytes"),
    AP_INIT_TAKE3("HisgateFiscal", set_fiscal, NULL, RSRC_CONF,
                  "fiscal e-bill platform: base URL, appid, signing key"),
    AP_INIT_TAKE23("HisgateWeChat", set_wechat, NULL, RSRC_CONF,
                   "WeChat Official Account: appid, appsecret [, API base URL]; hisgate holds the access token"),
    AP_INIT_TAKE12("HisgateWeChatPush", set_wechat_push, NULL, RSRC_CONF,
                   "the Official Account's message push (服务器配置): Token [EncodingAESKey for safe mode]"),
    AP_INIT_TAKE1("HisgateWeChatTokenURL", set_wechat_token_url, NULL, RSRC_CONF,
                  "the hospital's central WeChat access-token service (answers like cgi-bin/token)"),
    AP_INIT_TAKE1("HisgateFiscalTimeout", set_int, OFF(fiscal_timeout_ms), RSRC_CONF,
                  "milliseconds for a call to the fiscal platform"),
    AP_INIT_TAKE1("HisgateCAFile", set_str, OFF(ca_file), RSRC_CONF,
                  "CA bundle for outbound TLS (default: the system's)"),
    AP_INIT_FLAG("HisgateTrustRemoteUser", set_flag, OFF(trust_remote_user), RSRC_CONF,
                 "On: staff identity comes from REMOTE_USER set by an SSO module"),
    AP_INIT_TAKE1("HisgateSessionTTL", set_int, OFF(session_ttl), RSRC_CONF,
                  "seconds a staff login session lasts"),
    AP_INIT_TAKE2("HisgateLockout", set_lockout, NULL, RSRC_CONF,
                  "failed logins before lockout, and lockout seconds"),
    AP_INIT_TAKE1("HisgateCookieSecure", set_cookie_secure, NULL, RSRC_CONF,
                  "Auto (Secure when the request came over TLS), On or Off"),
    AP_INIT_TAKE1("HisgatePublicURL", set_str, OFF(public_base_url), RSRC_CONF,
                  "base URL patients reach this server at, for links and QR codes"),
    AP_INIT_TAKE1("HisgateFonts", set_str, OFF(fonts), RSRC_CONF,
                  "':'-separated TrueType fonts for PDF layout files (a CJK font and a Latin one)"),
    { NULL }
};

static apr_status_t load_keys(hg_conf_t *c, apr_pool_t *p, server_rec *s)
{
    apr_file_t *f;
    char line[256];
    int have = 0;
    apr_status_t rv = apr_file_open(&f, c->key_file, APR_READ, 0, p);
    if (rv != APR_SUCCESS)
        return rv;
    while (apr_file_gets(line, sizeof(line), f) == APR_SUCCESS) {
        char *eq = strchr(line, '='), *v;
        unsigned char *raw;
        apr_size_t len;
        if (!eq || line[0] == '#')
            continue;
        *eq = '\0';
        apr_collapse_spaces(eq + 1, eq + 1);   /* returns the end, not the start */
        v = eq + 1;
        if (hg_hex_decode(&raw, &len, p, v) != APR_SUCCESS || len != 16)
            continue;
        if (!strcmp(line, "master_key")) {
            memcpy(c->master_key, raw, 16);
            have |= 1;
        }
        else if (!strcmp(line, "audit_key")) {
            memcpy(c->audit_key, raw, 16);
            have |= 2;
        }
    }
    apr_file_close(f);
    c->keys_loaded = (have == 3);
    return c->keys_loaded ? APR_SUCCESS : APR_EINVAL;
}

/* ---------------------------------------------------------------- registries */

apr_status_t hg_register_routes(const char *module, const hg_route_t *routes, void *baton)
{
    const hg_route_t *r;
    for (r = routes; r->method; r++) {
        hg_route_entry_t *e = apr_array_push(hg_routes);
        e->module = module;
        e->route = r;
        e->baton = baton;
    }
    APR_ARRAY_PUSH(hg_module_names, const char *) = module;
    return APR_SUCCESS;
}

apr_status_t hg_register_topic(const char *topic, hg_outbox_deliver_fn *fn, void *baton)
{
    hg_topic_entry_t *e = apr_array_push(hg_topics);
    e->topic = topic;
    e->fn = fn;
    e->baton = baton;
    e->after_sql = NULL;
    e->payload_sql = NULL;
    return APR_SUCCESS;
}

hg_topic_entry_t *hg_topic_find(const char *topic)
{
    int i;
    for (i = 0; i < hg_topics->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(hg_topics, i, hg_topic_entry_t).topic, topic))
            return &APR_ARRAY_IDX(hg_topics, i, hg_topic_entry_t);
    return NULL;
}

apr_status_t hg_register_topic_after(const char *topic, const char *sql)
{
    hg_topic_entry_t *e = hg_topic_find(topic);
    if (!e)
        return APR_NOTFOUND;     /* register the topic first */
    e->after_sql = sql;
    return APR_SUCCESS;
}

apr_status_t hg_register_topic_payload(const char *topic, const char *sql)
{
    hg_topic_entry_t *e = hg_topic_find(topic);
    if (!e)
        return APR_NOTFOUND;
    e->payload_sql = sql;
    return APR_SUCCESS;
}

static const char *hg_conf_get(const char *name)
{
    hg_conf_t *c = hg_conf_global;
    if (!c || !name)
        return NULL;
    if (!strcmp(name, "institution"))
        return c->institution;
    if (!strcmp(name, "public_url"))
        return c->public_base_url;
    if (!strcmp(name, "fiscal_url"))
        return c->fiscal_url;
    if (!strcmp(name, "fiscal_appid"))
        return c->fiscal_appid;
    if (!strcmp(name, "fiscal_key"))
        return c->fiscal_key;
    if (!strcmp(name, "ca_file"))
        return c->ca_file;
    if (!strcmp(name, "fonts"))
        return c->fonts;
    if (!strcmp(name, "fiscal_timeout_ms"))
        return c->fiscal_timeout_text;
    if (!strcmp(name, "master_key"))
        return c->keys_loaded ? (const char *)c->master_key : NULL;
    if (!strcmp(name, "wechat_appid"))   /* the Official Account (HisgateWeChat), NULL with a central token URL */
        return c->wechat_appid;
    if (!strcmp(name, "wechat_api"))     /* HisgateWeChat's API base, NULL for WeChat's own */
        return c->wechat_api;
    if (!strcmp(name, "audit_key"))      /* for modules that journal their own outbound exchanges */
        return c->keys_loaded ? (const char *)c->audit_key : NULL;
    return NULL;
}

/* ---------------------------------------------------------------- bounded DB wait */

/* mod_dbd's pool waits forever once DBDMax connections are out; count them ourselves and give
 * up with a 503 after HisgateDBWait instead of piling up worker threads.  A request holds its
 * slot and connection only while it uses the database: connections come from ap_dbd_open and go
 * back with ap_dbd_close (not ap_dbd_acquire, which keeps one until the request pool is gone,
 * i.e. until the last byte reached the client), so a route can give both back for long work
 * without the database (hg_call_db_release) and take them again (hg_call_db_reacquire). */
static hg_slots_t *db_slots_line;   /* HisgateDBSlots of this process, in arrival order (hg_slots.h) */

static APR_OPTIONAL_FN_TYPE(ap_dbd_open) *dbd_open;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) *dbd_close;

typedef struct db_hold_t {
    request_rec *r;
    ap_dbd_t *dbd;               /* the connection held now, or NULL */
    hg_db_t *db;
    int slot;                    /* 1 while this request counts in slots_in_use */
    int released;                /* gave them back once: a later acquire goes before new requests */
} db_hold_t;

static void hold_drop(db_hold_t *h)
{
    if (h->dbd) {
        /* never hand a connection back with a transaction open */
        if (h->db)
            hg_db_rollback(h->db);
        dbd_close(h->r->server, h->dbd);
        h->dbd = NULL;
        h->db = NULL;
    }
    if (h->slot) {
        hg_slots_give(db_slots_line);
        h->slot = 0;
    }
}

/* whatever is still held when the request ends (errors, early returns) */
static apr_status_t hold_cleanup(void *data)
{
    hold_drop(data);
    return APR_SUCCESS;
}

static db_hold_t *hold_of(request_rec *r, int create)
{
    void *v = NULL;
    db_hold_t *h;
    apr_pool_userdata_get(&v, "hg-db-hold", r->pool);
    if (v || !create)
        return v;
    h = apr_pcalloc(r->pool, sizeof(*h));
    h->r = r;
    apr_pool_userdata_setn(h, "hg-db-hold", NULL, r->pool);
    apr_pool_cleanup_register(r->pool, h, hold_cleanup, apr_pool_cleanup_null);
    return h;
}

static apr_status_t take_slot(request_rec *r, int again, hg_error_t **err)
{
    hg_conf_t *c = hg_conf_global;
    if (db_slots_line
        && hg_slots_take(db_slots_line, again, apr_time_from_msec(c->db_wait_ms)) == APR_SUCCESS)
        return APR_SUCCESS;
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "HG00010: no database connection free within %d ms", c->db_wait_ms);
    *err = hg_error_make(r->pool, "HG_DB_BUSY", NULL, NULL);
    return HG_EDBBUSY;
}

apr_status_t hg_acquire_db(request_rec *r, hg_db_t **db, hg_error_t **err)
{
    db_hold_t *h = hold_of(r, 1);
    PGconn *conn;
    apr_status_t rv;

    if (h->db) {
        *db = h->db;
        return APR_SUCCESS;
    }
    if (!h->slot) {
        if ((rv = take_slot(r, h->released, err)) != APR_SUCCESS)
            return rv;
        h->slot = 1;
    }
    if (!dbd_open || !(h->dbd = dbd_open(r->pool, r->server))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "HG00011: database unavailable");
        hold_drop(h);
        *err = hg_error_make(r->pool, "HG_DB_UNAVAILABLE", NULL, NULL);
        return HG_EDBDOWN;
    }
    conn = apr_dbd_native_handle(h->dbd->driver, h->dbd->handle);
    if (hg_db_revive(conn) != APR_SUCCESS || hg_db_wrap(&h->db, r->pool, conn) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "HG00011: database unavailable: %s", PQerrorMessage(conn));
        h->db = NULL;
        hold_drop(h);
        *err = hg_error_make(r->pool, "HG_DB_UNAVAILABLE", NULL, NULL);
        return HG_EDBDOWN;
    }
    *db = h->db;
    return APR_SUCCESS;
}

void hg_release_db(request_rec *r)
{
    db_hold_t *h = hold_of(r, 0);
    if (h && (h->dbd || h->slot)) {
        hold_drop(h);
        h->released = 1;
    }
}

/* this process's lines of work ("db" and the modules'): registered in child_init, before any
 * request reads them, and never changed after (no lock) */
#define HG_LINES_MAX 16
static struct { const char *name; hg_slots_t *line; } lines[HG_LINES_MAX];
static int nlines;

static void hg_register_line(const char *name, hg_slots_t *line)
{
    if (line && nlines < HG_LINES_MAX) {
        lines[nlines].name = name;
        lines[nlines++].line = line;
    }
}

int hg_line_count(void)
{
    return nlines;
}

const char *hg_line_get(int i, int *in_use, int *size, int *waiting)
{
    hg_slots_count(lines[i].line, in_use, waiting);
    *size = hg_slots_size(lines[i].line);
    return lines[i].name;
}

/* the modules' parts of /hg/status and /hg/metrics: registered in child_init like the lines */
#define HG_STATUS_PARTS_MAX 8
static struct { const char *name; hg_status_fn *fn; } status_parts[HG_STATUS_PARTS_MAX];
static int nstatus_parts;

static void hg_register_status(const char *name, hg_status_fn *fn)
{
    if (fn && nstatus_parts < HG_STATUS_PARTS_MAX) {
        status_parts[nstatus_parts].name = name;
        status_parts[nstatus_parts++].fn = fn;
    }
}

int hg_status_part_count(void)
{
    return nstatus_parts;
}

const char *hg_status_part_get(int i, hg_db_t *db, apr_pool_t *p, const char *institution, json_t **status,
                               const char **metrics)
{
    *status = NULL;
    *metrics = NULL;
    if (status_parts[i].fn(db, p, institution, status, metrics) != APR_SUCCESS) {
        json_decref(*status);
        *status = NULL;
        *metrics = NULL;
    }
    return status_parts[i].name;
}

void hg_db_slots(int *in_use, int *slots)
{
    *in_use = 0;
    if (db_slots_line)
        hg_slots_count(db_slots_line, in_use, NULL);
    *slots = hg_conf_global->db_slots;
}

/* the optional functions behind hg_call_db_release / hg_call_db_reacquire (hg_glue.h) */
static void hg_glue_db_release(hg_call_t *c)
{
    hg_release_db(c->r);
    c->db = NULL;
}

static apr_status_t hg_glue_db_reacquire(hg_call_t *c)
{
    hg_error_t *err = NULL;
    apr_status_t rv;
    if (c->db)
        return APR_SUCCESS;
    if ((rv = hg_acquire_db(c->r, &c->db, &err)) != APR_SUCCESS) {
        c->db = NULL;
        c->err = err;
    }
    return rv;
}

/* ---------------------------------------------------------------- reports (hg_glue.h) */

static hg_slots_t *report_line;   /* HisgateReports of this process */

static apr_status_t hg_glue_report_begin(hg_call_t *c)
{
    hg_conf_t *g = hg_conf_global;
    apr_status_t rv;
    if (c->report)
        return APR_SUCCESS;
    hg_glue_db_release(c);
    if (!report_line || hg_slots_take(report_line, 0, apr_time_from_sec(g->report_wait_s)) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, c->r, "HG00050: no report free within %d s (HisgateReports %d)",
                      g->report_wait_s, g->reports);
        c->err = hg_error_make(c->pool, "HG_REPORT_BUSY", NULL, NULL);
        return HG_EDBBUSY;
    }
    c->report = 1;
    if ((rv = hg_glue_db_reacquire(c)) != APR_SUCCESS
        || (rv = hg_db_begin_q(c->db, NULL, "SELECT set_config('statement_timeout', $1, true), "
                               "set_config('transaction_read_only', 'on', true)", 1,
                               apr_itoa(c->pool, g->report_timeout_s * 1000))) != APR_SUCCESS) {
        hg_slots_give(report_line);
        c->report = 0;
        return rv;
    }
    return APR_SUCCESS;
}

static void hg_glue_report_end(hg_call_t *c)
{
    if (!c->report)
        return;
    if (c->db)
        hg_db_rollback(c->db);
    hg_slots_give(report_line);
    c->report = 0;
}

/* ---------------------------------------------------------------- replay cache */

hg_socache_t hg_shared_cache;
static const char *const replay_mutex_type = "hisgate-replay";

/* APR_SUCCESS when the nonce is new (and now remembered), HG_EAUTH when seen before */
static apr_status_t nonce_check_and_store(request_rec *r, const char *app_id, const char *nonce)
{
    const char *key = apr_pstrcat(r->pool, app_id, ":", nonce, NULL);
    unsigned char buf[8];
    unsigned int buflen = sizeof(buf);
    apr_status_t rv;
    /* check-and-store under one mutex so two requests with the same nonce cannot both pass */
    apr_global_mutex_lock(hg_shared_cache.mutex);
    rv = hg_shared_cache.provider->retrieve(hg_shared_cache.inst, r->server, (const unsigned char *)key,
                                   strlen(key), buf, &buflen, r->pool);
    if (rv == APR_SUCCESS) {
        apr_global_mutex_unlock(hg_shared_cache.mutex);
        return HG_EAUTH;
    }
    rv = hg_shared_cache.provider->store(hg_shared_cache.inst, r->server, (const unsigned char *)key, strlen(key),
                                apr_time_now() + apr_time_from_sec(2 * hg_conf_global->auth_window + 5),
                                (unsigned char *)"1", 1, r->pool);
    apr_global_mutex_unlock(hg_shared_cache.mutex);
    if (rv != APR_SUCCESS)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, "HG00012: replay cache store failed");
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- app secrets (cached) */

typedef struct app_entry_t {
    char *institution;
    unsigned char *secret;
    apr_size_t secret_len;
    int enabled;
    apr_time_t loaded;
} app_entry_t;
static apr_hash_t *app_cache;
static apr_pool_t *app_cache_pool;
static apr_thread_mutex_t *app_mutex;
#define APP_CACHE_TTL apr_time_from_sec(30)

static apr_status_t app_lookup(hg_call_t *c, const char *app_id, app_entry_t *out, int *found)
{
    app_entry_t *e;
    hg_db_result_t *res;
    apr_status_t rv;
    unsigned char *secret;
    apr_size_t len;

    apr_thread_mutex_lock(app_mutex);
    e = apr_hash_get(app_cache, app_id, APR_HASH_KEY_STRING);
    if (e && apr_time_now() - e->loaded < APP_CACHE_TTL) {
        out->institution = apr_pstrdup(c->pool, e->institution);
        out->secret = apr_pmemdup(c->pool, e->secret, e->secret_len);
        out->secret_len = e->secret_len;
        out->enabled = e->enabled;
        apr_thread_mutex_unlock(app_mutex);
        *found = 1;
        return APR_SUCCESS;
    }
    apr_thread_mutex_unlock(app_mutex);

    rv = hg_db_q(c->db, &res, "SELECT institution, secret_sealed, enabled FROM hg.apps "
                 "WHERE app_id = $1", 1, app_id);
    if (rv != APR_SUCCESS)
        return rv;
    *found = res->nrows == 1;
    if (!*found)
        return APR_SUCCESS;
    if ((rv = hg_secret_open(&secret, &len, c->pool, c->master_key, hg_db_val(res, 0, 1))) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, c->r,
                      "HG00013: secret of app %s does not open with this master key", app_id);
        return rv;
    }
    out->institution = apr_pstrdup(c->pool, hg_db_val(res, 0, 0));
    out->secret = secret;
    out->secret_len = len;
    out->enabled = hg_db_val(res, 0, 2)[0] == 't';

    apr_thread_mutex_lock(app_mutex);
    if (apr_hash_count(app_cache) > 1000) {      /* bounded: start over rather than grow */
        apr_pool_clear(app_cache_pool);
        app_cache = apr_hash_make(app_cache_pool);
    }
    e = apr_pcalloc(app_cache_pool, sizeof(*e));
    e->institution = apr_pstrdup(app_cache_pool, out->institution);
    e->secret = apr_pmemdup(app_cache_pool, secret, len);
    e->secret_len = len;
    e->enabled = out->enabled;
    e->loaded = apr_time_now();
    apr_hash_set(app_cache, apr_pstrdup(app_cache_pool, app_id), APR_HASH_KEY_STRING, e);
    apr_thread_mutex_unlock(app_mutex);
    return APR_SUCCESS;
}

static apr_status_t authenticate_his(hg_call_t *c)
{
    request_rec *r = c->r;
    const char *h = apr_table_get(r->headers_in, "Authorization");
    hg_sig_header_t *sh;
    const char *code = NULL, *reason = NULL, *target;
    app_entry_t app;
    int found;
    apr_status_t rv;

    if (!h)
        return hg_call_fail(c, "HG_AUTH_MISSING", "Authorization", NULL), HG_EAUTH;
    if (hg_auth_parse_header_ex(&sh, c->pool, h, &code, &reason) != APR_SUCCESS)
        return hg_call_fail(c, code ? code : "HG_AUTH_MALFORMED", "Authorization", reason), HG_EAUTH;
    c->app_id = sh->app_id;
    if ((rv = app_lookup(c, sh->app_id, &app, &found)) != APR_SUCCESS) {
        c->err = hg_error_make(c->pool, rv == HG_EDBDOWN ? "HG_DB_UNAVAILABLE" : "HG_INTERNAL", NULL, NULL);
        return rv;
    }
    if (!found) {
        c->app_id = NULL;
        return hg_call_fail(c, "HG_AUTH_UNKNOWN_APP", "app_id", NULL), HG_EAUTH;
    }
    /* the raw target as the client sent and signed it, not httpd's percent-decoded r->uri */
    target = r->parsed_uri.query ? apr_pstrcat(c->pool, r->parsed_uri.path, "?", r->parsed_uri.query, NULL)
                                 : r->parsed_uri.path;
    if (hg_auth_check_ex(sh, app.secret, app.secret_len, r->method, target, c->body, c->body_len,
                         apr_time_sec(r->request_time), hg_conf_global->auth_window, &code, &reason)
        != APR_SUCCESS)
        return hg_call_fail(c, code ? code : "HG_AUTH_BAD_SIGNATURE",
                            code && !strcmp(code, "HG_AUTH_STALE_TIMESTAMP") ? "timestamp" : "signature",
                            reason), HG_EAUTH;
    if (!app.enabled)
        return hg_call_fail(c, "HG_AUTH_APP_DISABLED", "app_id", NULL), HG_EAUTH;
    if (nonce_check_and_store(r, sh->app_id, sh->nonce) != APR_SUCCESS)
        return hg_call_fail(c, "HG_AUTH_REPLAY", "nonce", NULL), HG_EAUTH;
    c->institution = app.institution;
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- staff */

static const char *cookie_value(request_rec *r, const char *name)
{
    const char *cookies = apr_table_get(r->headers_in, "Cookie");
    apr_size_t n = strlen(name);
    while (cookies && *cookies) {
        while (*cookies == ' ' || *cookies == ';')
            cookies++;
        if (!strncmp(cookies, name, n) && cookies[n] == '=') {
            const char *v = cookies + n + 1, *end = strchr(v, ';');
            return end ? apr_pstrndup(r->pool, v, end - v) : apr_pstrdup(r->pool, v);
        }
        cookies = strchr(cookies, ';');
    }
    return NULL;
}

static void roles_from_pg(hg_call_t *c, const char *arr)
{
    /* text[] comes back as {a,b,"c d"}; role names are identifiers, so a split is enough */
    char *s = apr_pstrdup(c->pool, arr ? arr : "{}"), *tok, *last;
    c->staff_roles = apr_array_make(c->pool, 4, sizeof(const char *));
    s[strlen(s) - 1] = '\0';
    for (tok = apr_strtok(s + 1, ",", &last); tok; tok = apr_strtok(NULL, ",", &last))
        APR_ARRAY_PUSH(c->staff_roles, const char *) = tok;
}

static apr_status_t authenticate_staff(hg_call_t *c, const hg_route_t *route)
{
    request_rec *r = c->r;
    const char *token = cookie_value(r, "hg_session"), *csrf_subject = NULL;
    hg_db_result_t *res = NULL;
    apr_status_t rv;

    if (token && strlen(token) < 200) {
        char *idx;
        hg_keyed_index(&idx, c->pool, c->master_key, token);
        rv = hg_db_q(c->db, &res,
                     "SELECT st.username, st.roles::text, st.institution, st.department, st.display_name "
                     "FROM hg.sessions s JOIN hg.staff st USING (username) "
                     "WHERE s.token_hash = $1 AND s.expires_at > now() AND st.enabled", 1, idx);
        if (rv != APR_SUCCESS)
            return hg_call_fail(c, rv == HG_EDBDOWN ? "HG_DB_UNAVAILABLE" : "HG_INTERNAL", NULL, NULL), rv;
        if (res->nrows == 1)
            csrf_subject = token;
        else
            res = NULL;
    }
    if (!res && hg_conf_global->trust_remote_user && r->user) {
        rv = hg_db_q(c->db, &res, "SELECT username, roles::text, institution, department, display_name "
                     "FROM hg.staff WHERE username = $1 AND enabled", 1, r->user);
        if (rv != APR_SUCCESS)
            return hg_call_fail(c, "HG_INTERNAL", NULL, NULL), rv;
        if (res->nrows == 1)
            csrf_subject = apr_pstrcat(c->pool, "sso:", r->user, NULL);
        else
            res = NULL;
    }
    if (!res)
        return hg_call_fail(c, "HG_LOGIN_REQUIRED", NULL, NULL), HG_EAUTH;
    c->staff_user = hg_db_val(res, 0, 0);
    roles_from_pg(c, hg_db_val(res, 0, 1));
    c->institution = hg_db_val(res, 0, 2);
    c->staff_department = hg_db_val(res, 0, 3);
    c->staff_name = *hg_db_val(res, 0, 4) ? hg_db_val(res, 0, 4) : c->staff_user;
    apr_table_setn(r->notes, "hg-csrf-subject", csrf_subject);
    if (route->role && !hg_call_has_role_of(c, route->role) && !hg_call_has_role(c, "admin"))
        return hg_call_fail(c, "HG_FORBIDDEN", NULL,
                            apr_psprintf(c->pool, strchr(route->role, '|') ? "this needs one of the roles '%s'"
                                                                           : "this needs the role '%s'",
                                         route->role)), HG_EAUTH;
    if (r->method_number != M_GET) {
        const char *sent = apr_table_get(r->headers_in, "X-CSRF-Token");
        if (!sent || hg_csrf_check(c->master_key, 16, csrf_subject, sent) != APR_SUCCESS)
            return hg_call_fail(c, "HG_CSRF", "X-CSRF-Token", NULL), HG_EAUTH;
    }
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- the pipeline */

static const hg_route_entry_t *find_route(request_rec *r, const char **rest, int *other_method)
{
    int i;
    *other_method = 0;
    for (i = 0; i < hg_routes->nelts; i++) {
        const hg_route_entry_t *e = &APR_ARRAY_IDX(hg_routes, i, hg_route_entry_t);
        const hg_route_t *rt = e->route;
        apr_size_t n = strlen(rt->path);
        int match = (rt->flags & HG_R_PREFIX) ? strncmp(r->uri, rt->path, n) == 0 && r->uri[n]
                                              : strcmp(r->uri, rt->path) == 0;
        if (!match)
            continue;
        if (strcmp(r->method, rt->method) != 0) {
            *other_method = 1;
            continue;
        }
        *rest = (rt->flags & HG_R_PREFIX) ? r->uri + n : "";
        return e;
    }
    return NULL;
}

static apr_status_t read_body(hg_call_t *c)
{
    request_rec *r = c->r;
    apr_size_t cap = 8192, len = 0;
    char *buf;
    long n;
    if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK)
        return hg_call_fail(c, "HG_JSON_MALFORMED", NULL, "the request body could not be read");
    if (r->remaining > (apr_off_t)hg_conf_global->max_body)
        return hg_call_fail(c, "HG_BODY_TOO_LARGE", NULL, NULL);
    if (r->remaining > 0)
        cap = (apr_size_t)r->remaining + 1;
    buf = apr_palloc(r->pool, cap);
    if (ap_should_client_block(r)) {
        for (;;) {
            if (len + 1 >= cap) {
                char *nb;
                if (cap > hg_conf_global->max_body)
                    return hg_call_fail(c, "HG_BODY_TOO_LARGE", NULL, NULL);
                nb = apr_palloc(r->pool, cap * 2);
                memcpy(nb, buf, len);
                buf = nb;
                cap *= 2;
            }
            n = ap_get_client_block(r, buf + len, cap - len - 1);
            if (n < 0)
                return hg_call_fail(c, "HG_JSON_MALFORMED", NULL, "the request body could not be read");
            if (n == 0)
                break;
            len += (apr_size_t)n;
            if (len > hg_conf_global->max_body)
                return hg_call_fail(c, "HG_BODY_TOO_LARGE", NULL, NULL);
        }
    }
    buf[len] = '\0';
    c->body = buf;
    c->body_len = len;
    return APR_SUCCESS;
}

static const char *new_request_id(request_rec *r)
{
    const char *u = apr_table_get(r->subprocess_env, "UNIQUE_ID");
    unsigned char raw[12];
    if (u)
        return u;
    if (hg_random_bytes(raw, sizeof(raw)) != APR_SUCCESS)
        return apr_psprintf(r->pool, "%" APR_TIME_T_FMT, r->request_time);
    return hg_hex_encode(r->pool, raw, sizeof(raw), 0);
}

/* a route that gave its connection back (hg_call_db_release) still gets its audit row */
static int db_again_for_audit(hg_call_t *c)
{
    db_hold_t *h = hold_of(c->r, 0);
    hg_error_t *err = NULL;
    if (!h || !h->released)
        return 0;           /* never had one: the call ended before the database was reached */
    if (hg_acquire_db(c->r, &c->db, &err) == APR_SUCCESS)
        return 1;
    c->db = NULL;
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, c->r, "HG00014: audit row not written: %s",
                  err ? err->code : "no database connection");
    return 0;
}

static void audit_rec(hg_call_t *c, hg_audit_rec_t *rec, const char *resp, apr_size_t resp_len, int status)
{
    memset(rec, 0, sizeof(*rec));
    rec->institution = c->institution;
    rec->caller = c->app_id ? c->app_id : c->staff_user ? c->staff_user
                : c->audit_caller ? c->audit_caller : "anonymous";
    rec->direction = "in";
    rec->endpoint = apr_pstrcat(c->pool, c->r->method, " ", c->r->uri, NULL);
    rec->request_id = c->request_id;
    rec->status = status;
    rec->elapsed_ms = (int)apr_time_as_msec(apr_time_now() - c->r->request_time);
    rec->req_body = c->body;
    rec->req_len = c->body_len;
    rec->resp_body = resp;
    rec->resp_len = resp_len;
    if (c->route_flags & HG_R_AUDIT_BARE) {
        /* a password in, a CSRF token out: who, what and the outcome only (an error says why) */
        rec->req_body = NULL;
        rec->req_len = 0;
        if (status < 400) {
            rec->resp_body = NULL;
            rec->resp_len = 0;
        }
    }
}

static void audit_call(hg_call_t *c, const char *resp, apr_size_t resp_len, int status)
{
    hg_audit_rec_t rec;
    apr_status_t rv;
    if (!hg_conf_global->keys_loaded || (!c->db && !db_again_for_audit(c)))
        return;
    audit_rec(c, &rec, resp, resp_len, status);
    hg_db_rollback(c->db);    /* a route that failed mid-transaction must not take the audit row down with it */
    if ((rv = hg_audit_insert(c->db, hg_conf_global->audit_key, &rec)) != APR_SUCCESS)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, c->r, "HG00014: audit row not written: %s",
                      c->db->errmsg ? c->db->errmsg : "");
}

static int call_audited(const hg_call_t *c)
{
    return (c->route_flags & (HG_R_SIGNED | HG_R_AUDIT)) && hg_conf_global->keys_loaded;
}

/* the audit row of the call's answer (c->out, as it will be sent): its text, and *rec */
static const char *answer_audit_rec(hg_call_t *c, hg_audit_rec_t *rec)
{
    const char *text = hg_json_dump(c->pool, c->out, 0);
    audit_rec(c, rec, text, strlen(text), c->status ? c->status : 200);
    return text;
}

/* hg_call_commit_answer: [last statement, audit row, COMMIT] in one pipeline;
 * hg_call_answer_if (applied != NULL): the guard with the audit row in one statement, no transaction */
static apr_status_t commit_answer(hg_call_t *c, hg_db_result_t **res, const hg_db_stmt_t *last, int *applied)
{
    hg_db_stmt_t st[2];
    hg_db_result_t *r = NULL;
    hg_audit_rec_t rec;
    const char *text = NULL;
    apr_status_t rv;
    int n = 1;

    if (!c->db && (rv = hg_glue_db_reacquire(c)) != APR_SUCCESS) {   /* the route gave it back */
        c->out = NULL;
        c->status = 0;
        return rv;
    }
    st[0] = *last;
    if (call_audited(c)) {
        text = answer_audit_rec(c, &rec);
        rv = applied ? hg_audit_stmt_guarded(&st[0], c->pool, hg_conf_global->audit_key, &rec, last)
                     : hg_audit_stmt(&st[1], c->pool, hg_conf_global->audit_key, &rec);
        if (rv != APR_SUCCESS) {   /* cannot happen short of memory: the row is then written after */
            st[0] = *last;
            text = NULL;
        }
        else if (!applied)
            n = 2;
    }
    if (applied) {
        if (c->db->in_tx)
            return APR_EINVAL;
        *applied = 0;
        rv = hg_db_exec(c->db, &r, st[0].sql, st[0].n, st[0].params);
        if (rv == APR_SUCCESS && !(*applied = r->nrows > 0))
            text = NULL;
        if (res)
            *res = r;
    }
    else
        rv = hg_db_pipeline(c->db, res, st, n, HG_DB_COMMIT);
    if (rv != APR_SUCCESS || (applied && !*applied)) {
        c->out = NULL;
        c->status = 0;
        return rv;
    }
    c->audited = text != NULL;
    c->out_text = text;
    return APR_SUCCESS;
}

/* hg_call_answer_journal: the row for the answer, not written; the answer is sent as journalled */
static apr_status_t journal_row(hg_call_t *c, const char ***cols)
{
    hg_db_stmt_t st;
    hg_audit_rec_t rec;
    const char *text;
    apr_status_t rv;
    *cols = NULL;
    if (!call_audited(c))
        return APR_SUCCESS;
    text = answer_audit_rec(c, &rec);
    if ((rv = hg_audit_stmt(&st, c->pool, hg_conf_global->audit_key, &rec)) != APR_SUCCESS)
        return rv;
    c->out_text = text;
    *cols = (const char **)st.params;
    return APR_SUCCESS;
}

static int send_answer(hg_call_t *c, int audit)
{
    request_rec *r = c->r;
    const char *body;
    apr_size_t len;
    int status;

    if (c->err) {
        status = c->err->status;
        body = hg_error_json(c->pool, c->err, c->request_id);
        len = strlen(body);
        ap_set_content_type(r, "application/json; charset=utf-8");
        if (status == 401)
            apr_table_setn(r->err_headers_out, "WWW-Authenticate", "HG1-HMAC-SM3");
        if (status == 503)
            apr_table_setn(r->err_headers_out, "Retry-After", "5");
    }
    else if (c->out) {
        status = c->status ? c->status : 200;
        body = c->out_text ? c->out_text : hg_json_dump(c->pool, c->out, 0);
        len = strlen(body);
        ap_set_content_type(r, "application/json; charset=utf-8");
    }
    else {
        status = c->status ? c->status : 200;
        body = c->out_body ? c->out_body : "";
        len = c->out_body ? c->out_len : 0;
        ap_set_content_type(r, c->out_type ? c->out_type : "application/octet-stream");
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    if (audit && !(c->audited && !c->err))
        audit_call(c, body, len, status);
    /* the database is done with: the slot must not wait for a slow client to read the answer */
    hg_release_db(r);
    c->db = NULL;
    r->status = status;
    ap_set_content_length(r, len);
    if (r->header_only)
        return OK;
    ap_rwrite(body, (int)len, r);
    return OK;
}

static int handle(request_rec *r);
/* a route with HG_R_ARENA has its JSON in the request's pool until the handler returns */
static int hg_handler(request_rec *r)
{
    int rc = handle(r);
    hg_json_arena(NULL);
    return rc;
}

static void hg_glue_json_heap(hg_call_t *c)
{
    hg_json_arena(NULL);
}

static int handle(request_rec *r)
{
    hg_call_t *c;
    const hg_route_entry_t *e;
    const char *rest = "";
    int other_method, audit = 0, report;
    unsigned flags;
    apr_status_t rv;

    if (!r->handler || strcmp(r->handler, "hisgate"))
        return DECLINED;
    c = apr_pcalloc(r->pool, sizeof(*c));
    c->r = r;
    c->pool = r->pool;
    c->request_id = new_request_id(r);
    c->institution = hg_conf_global->institution;
    c->master_key = hg_conf_global->master_key;
    apr_table_setn(r->err_headers_out, "X-Request-Id", c->request_id);   /* sent with every status */

    if (!(e = find_route(r, &rest, &other_method))) {
        if (other_method) {
            hg_call_fail(c, "HG_METHOD_NOT_ALLOWED", NULL, NULL);
            r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
        }
        else
            hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
        return send_answer(c, 0);
    }
    flags = e->route->flags;
    if (flags & HG_R_ARENA)
        hg_json_arena(c->pool);
    c->route_flags = flags;
    c->commit_answer = commit_answer;
    c->journal_row = journal_row;
    c->path_rest = rest;
    c->baton = e->baton;
    if (!hg_conf_global->keys_loaded && (flags & (HG_R_SIGNED | HG_R_STAFF))) {
        hg_call_fail(c, "HG_INTERNAL", NULL, "HisgateKeyFile is not configured");
        return send_answer(c, 0);
    }
    if (read_body(c) != APR_SUCCESS)
        return send_answer(c, 0);
    if ((flags & (HG_R_DB | HG_R_SIGNED | HG_R_STAFF))
        && hg_acquire_db(r, &c->db, &c->err) != APR_SUCCESS)
        return send_answer(c, 0);
    audit = (flags & (HG_R_SIGNED | HG_R_AUDIT)) != 0;
    if (flags & HG_R_SIGNED) {
        if ((rv = authenticate_his(c)) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "HG00015: HIS request refused: %s (app %s)",
                          c->err ? c->err->code : "?", c->app_id ? c->app_id : "-");
            return send_answer(c, audit);
        }
    }
    else if (flags & HG_R_STAFF) {
        if (authenticate_staff(c, e->route) != APR_SUCCESS)
            return send_answer(c, 0);
    }
    if (flags & HG_R_JSON) {
        const char *ct = apr_table_get(r->headers_in, "Content-Type");
        /* a public route wants it said: a POST with no Content-Type is a "simple" cross-site request,
         * which any web page can make its visitors' browsers send (an SMS code to a stranger's phone) */
        if ((ct && strncasecmp(ct, "application/json", 16) != 0) || (!ct && !(flags & (HG_R_SIGNED | HG_R_STAFF)))) {
            hg_call_fail(c, "HG_UNSUPPORTED_MEDIA_TYPE", "Content-Type", NULL);
            return send_answer(c, audit);
        }
        if (hg_json_parse(&c->json, c->pool, c->body, c->body_len, 0, &c->err) != APR_SUCCESS)
            return send_answer(c, audit);
    }
    rv = e->route->fn(c);
    report = c->report;
    hg_glue_report_end(c);
    if (c->db)
        hg_db_rollback(c->db);   /* never hand a connection back with a transaction open */
    if (rv == HG_EDBDOWN && !c->err) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "HG00011: database unavailable: %s",
                      c->db && c->db->errmsg ? c->db->errmsg : "");
        c->err = hg_error_make(c->pool, "HG_DB_UNAVAILABLE", NULL, NULL);
    }
    else if (rv != APR_SUCCESS && !c->err) {
        int timeout = c->db && !strcmp(c->db->sqlstate, "57014");
        if (timeout && report)    /* a period too long for HisgateReportTimeout: the user's to narrow */
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "HG00052: %s %s: the report ran past %d s "
                          "(HisgateReportTimeout)", r->method, r->uri, hg_conf_global->report_timeout_s);
        else
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "HG00016: %s %s failed without an error: %s",
                          r->method, r->uri, c->db && c->db->errmsg ? c->db->errmsg : "");
        c->err = hg_error_make(c->pool, timeout ? "HG_DB_TIMEOUT" : "HG_INTERNAL", NULL,
                               timeout && report ? "the report took longer than %d s (HisgateReportTimeout): "
                               "choose a shorter period (报表超时，请缩短查询期间)" : NULL,
                               hg_conf_global->report_timeout_s);
    }
    return send_answer(c, audit);
}

/* ---------------------------------------------------------------- hooks */

static int hg_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    hg_routes = apr_array_make(pconf, 64, sizeof(hg_route_entry_t));
    hg_topics = apr_array_make(pconf, 16, sizeof(hg_topic_entry_t));
    hg_wechat_push_reset(pconf);
    hg_module_names = apr_array_make(pconf, 8, sizeof(const char *));
    hg_register_routes("hisgate", hg_core_routes, NULL);
    hg_register_topic("hg.probe.fiscal", hg_probe_fiscal_deliver, NULL);
    if (hg_wechat_pre_config(pconf) != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    return ap_mutex_register(pconf, replay_mutex_type, NULL, APR_LOCK_DEFAULT, 0);
}

static apr_status_t socache_destroy(void *data)
{
    hg_socache_t *c = data;
    if (c->provider && c->inst)
        c->provider->destroy(c->inst, ap_server_conf);
    c->inst = NULL;
    c->mutex = NULL;
    return APR_SUCCESS;
}

int hg_socache_open(hg_socache_t *c, const char *directive, const char *spec, const char *ns,
                    const struct ap_socache_hints *hints, const char *mutex_type, int always_mutex,
                    server_rec *s, apr_pool_t *pconf, apr_pool_t *ptemp)
{
    char *name = apr_pstrdup(ptemp, spec), *args;
    const char *err;
    apr_status_t rv;
    memset(c, 0, sizeof(*c));
    if ((args = strchr(name, ':')))
        *args++ = '\0';
    if (!(c->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION))) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "HG00004: %s: no socache provider '%s' "
                     "(LoadModule socache_%s_module?)", directive, name, name);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if ((err = c->provider->create(&c->inst, args, ptemp, pconf))) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "HG00005: %s: %s", directive, err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if ((always_mutex || (c->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE))
        && (rv = ap_global_mutex_create(&c->mutex, NULL, mutex_type, NULL, s, pconf, 0)) != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;     /* ap_global_mutex_create logged why */
    if ((rv = c->provider->init(c->inst, ns, hints, s, pconf)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "HG00006: %s %s could not be set up", directive, spec);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, c, socache_destroy, apr_pool_cleanup_null);
    return OK;
}

static int hg_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    hg_conf_t *c = ap_get_module_config(s->module_config, &hisgate_module);
    /* "app:nonce" (~35 bytes) -> "1".  shmcb makes size / (id + object) index slots of 24 bytes each
     * in the same memory: counting them in the id keeps index and data in proportion (with the
     * bare id length the index took 60 % of the cache and data ran out at ~400,000 nonces) */
    struct ap_socache_hints hints = { 35 + 24, 1, apr_time_from_sec(605) };
    apr_status_t rv;

    hg_conf_global = c;
    c->fiscal_timeout_text = apr_itoa(pconf, c->fiscal_timeout_ms);
    /* the first of httpd's two config passes only checks; the real one sets things up */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    dbd_open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    dbd_close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    if (!dbd_open || !dbd_close) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "HG00001: mod_dbd is not loaded; load it before mod_hisgate");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (c->key_file) {
        if ((rv = load_keys(c, ptemp, s)) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "HG00002: HisgateKeyFile %s must hold "
                         "master_key= and audit_key= (32 hex digits each)", c->key_file);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    else
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "HG00003: no HisgateKeyFile: signed and staff "
                     "routes answer HG_INTERNAL until one is configured");

    if (hg_socache_open(&hg_shared_cache, "HisgateReplayCache", c->replay_cache, "hisgate-replay", &hints,
                        replay_mutex_type, 1, s, pconf, ptemp) != OK)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (hg_http_global_init() != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (hg_wechat_post_config(s, pconf) != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    if ((rv = hg_drain_start(s, pconf)) != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "HG00007: hisgate %s ready", HG_VERSION);
    return OK;
}

static void hg_child_init(apr_pool_t *p, server_rec *s)
{
    if (hg_slots_create(&db_slots_line, p, hg_conf_global->db_slots) != APR_SUCCESS) {
        db_slots_line = NULL;     /* every database request then answers HG_DB_BUSY */
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "HG00049: database slots not set up (HisgateDBSlots %d)",
                     hg_conf_global->db_slots);
    }
    hg_register_line("db", db_slots_line);
    if (hg_slots_create(&report_line, p, hg_conf_global->reports) != APR_SUCCESS) {
        report_line = NULL;       /* every report then answers HG_REPORT_BUSY */
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "HG00051: report line not set up (HisgateReports %d)",
                     hg_conf_global->reports);
    }
    hg_register_line("reports", report_line);
    apr_thread_mutex_create(&app_mutex, APR_THREAD_MUTEX_DEFAULT, p);
    apr_pool_create(&app_cache_pool, p);
    app_cache = apr_hash_make(app_cache_pool);
    if (hg_shared_cache.mutex)
        apr_global_mutex_child_init(&hg_shared_cache.mutex, apr_global_mutex_lockfile(hg_shared_cache.mutex), p);
    hg_wechat_child_init(p);
    hg_drain_child_init(p, s);
    /* fonts are read and parsed once per process, before any worker thread renders a PDF */
    if (hg_pdf_global_init(hg_conf_global->fonts) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "HG00008: HisgateFonts %s: %s; PDF layout files "
                     "cannot be rendered", hg_conf_global->fonts, hg_pdf_init_error());
}

/* hisgate's URIs name no file.  Core's map_to_storage would walk the document root for them, one
 * stat per path segment (six for a patient's answer step, a fifth of the step's system calls); as
 * mod_proxy does for its URIs, translate_name marks a request that <Location>'s SetHandler gives
 * to hisgate (the location walk runs before translate_name) and map_to_storage ends there.
 * <Location> sections still apply: they are walked again after map_to_storage. */
#define HG_FILENAME_PREFIX "hisgate:"

static int hg_translate_name(request_rec *r)
{
    core_dir_config *d = ap_get_core_module_config(r->per_dir_config);
    const char *handler, *err = NULL;
    if (!d || !d->expr_handler)
        return DECLINED;
    handler = ap_expr_str_exec(r, d->expr_handler, &err);
    if (err || !handler || strcmp(handler, "hisgate"))
        return DECLINED;
    r->filename = apr_pstrcat(r->pool, HG_FILENAME_PREFIX, r->uri, NULL);
    return OK;
}

static int hg_map_to_storage(request_rec *r)
{
    return r->filename && !strncmp(r->filename, HG_FILENAME_PREFIX, sizeof(HG_FILENAME_PREFIX) - 1)
        ? OK : DECLINED;
}

/* jansson's allocator, in the child before anything else (hg_json.h) */
static void json_child_init(apr_pool_t *p, server_rec *s)
{
    hg_json_arena_init();
}

static void hg_register_hooks(apr_pool_t *p)
{
    /* after URL rewriting and aliases, which may send a URI elsewhere */
    static const char *const trans_pred[] = { "mod_rewrite.c", "mod_alias.c", NULL };
    static const char *const succ[] = { "mod_watchdog.c", NULL };
    hg_http_share();        /* the delivery threads' kept connections, whichever module calls */
    APR_REGISTER_OPTIONAL_FN(hg_register_routes);
    APR_REGISTER_OPTIONAL_FN(hg_register_topic);
    APR_REGISTER_OPTIONAL_FN(hg_register_topic_after);
    APR_REGISTER_OPTIONAL_FN(hg_register_topic_payload);
    APR_REGISTER_OPTIONAL_FN(hg_register_wechat_event);
    APR_REGISTER_OPTIONAL_FN(hg_conf_get);
    APR_REGISTER_OPTIONAL_FN(hg_wechat_token);
    APR_REGISTER_OPTIONAL_FN(hg_socache_open);
    APR_REGISTER_OPTIONAL_FN(hg_register_line);
    APR_REGISTER_OPTIONAL_FN(hg_register_status);
    APR_REGISTER_OPTIONAL_FN(hg_glue_json_heap);
    APR_REGISTER_OPTIONAL_FN(hg_glue_db_release);
    APR_REGISTER_OPTIONAL_FN(hg_glue_db_reacquire);
    APR_REGISTER_OPTIONAL_FN(hg_glue_report_begin);
    APR_REGISTER_OPTIONAL_FN(hg_glue_report_end);
    ap_hook_pre_config(hg_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* before mod_watchdog's post_config, which decides which watchdog threads to start */
    ap_hook_post_config(hg_post_config, NULL, succ, APR_HOOK_MIDDLE);
    ap_hook_child_init(json_child_init, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_child_init(hg_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_translate_name(hg_translate_name, trans_pred, NULL, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(hg_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(hg_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(hisgate) = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL,
    create_server_conf, NULL,
    hg_cmds,
    hg_register_hooks,
    0
};
