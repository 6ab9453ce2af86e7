/* mod_hisgate internals shared by its glue files (not for business modules: see hg_glue.h) */
#ifndef MOD_HISGATE_PRIVATE_H
#define MOD_HISGATE_PRIVATE_H
#include "hg_glue.h"
#include "ap_socache.h"
#include "apr_dbd.h"
#include "mod_dbd.h"
#include "hg_audit.h"
#include "hg_http.h"

#define HG_VERSION "0.1.0"
#define HG_LOG_MARK APLOG_MARK

typedef struct hg_conf_t {
    const char *institution;
    const char *key_file;
    unsigned char master_key[16], audit_key[16];
    int keys_loaded;
    int db_slots, db_wait_ms;
    int reports, report_wait_s, report_timeout_s;   /* long reads at once per process, their wait and timeout */
    int auth_window;
    const char *replay_cache;          /* socache provider[:args] */
    int outbox_interval_ms, outbox_batch, retry_base_s, lease_s;
    int outbox_concurrency;            /* delivery threads of the drain */
    apr_size_t max_body;
    const char *fiscal_url, *fiscal_appid, *fiscal_key;
    int fiscal_timeout_ms;
    const char *fiscal_timeout_text;   /* the same, for hg_conf_get */
    const char *ca_file;
    int trust_remote_user;
    int session_ttl, lockout_threshold, lockout_seconds;
    int cookie_secure;                 /* -1 auto (when the request came over TLS) */
    const char *public_base_url;       /* e.g. https://his.example.org, for links sent to patients */
    const char *fonts;                 /* ':'-separated TrueType files for PDFs (CJK + Latin) */
    const char *wechat_appid, *wechat_secret, *wechat_api, *wechat_token_url;
    const char *wechat_push_token, *wechat_push_aeskey;   /* HisgateWeChatPush (aeskey NULL: plain mode) */
} hg_conf_t;

extern module AP_MODULE_DECLARE_DATA hisgate_module;
extern hg_conf_t *hg_conf_global;

/* routes and topics registered by modules (process-wide, set up in post_config) */
typedef struct hg_route_entry_t {
    const char *module;
    const hg_route_t *route;
    void *baton;
} hg_route_entry_t;
typedef struct hg_topic_entry_t {
    const char *topic;
    hg_outbox_deliver_fn *fn;
    void *baton;
    const char *after_sql;     /* hg_register_topic_after: NULL when none */
    const char *payload_sql;   /* hg_register_topic_payload: NULL when none */
} hg_topic_entry_t;
extern apr_array_header_t *hg_routes;     /* of hg_route_entry_t */
extern apr_array_header_t *hg_topics;     /* of hg_topic_entry_t */
extern apr_array_header_t *hg_module_names;

apr_status_t hg_register_routes(const char *module, const hg_route_t *routes, void *baton);
apr_status_t hg_register_topic(const char *topic, hg_outbox_deliver_fn *fn, void *baton);
apr_status_t hg_register_topic_after(const char *topic, const char *sql);
apr_status_t hg_register_topic_payload(const char *topic, const char *sql);
/* the registered entry of a topic, NULL when none */
hg_topic_entry_t *hg_topic_find(const char *topic);

/* core routes (mod_hisgate_routes.c) */
extern const hg_route_t hg_core_routes[];
/* the fiscal platform probe topic (mod_hisgate_routes.c) */
apr_status_t hg_probe_fiscal_deliver(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                     hg_outbox_outcome_t *out);
apr_status_t hg_staff_session_json(hg_call_t *c, const char *token);

/* the shared-memory cache (HisgateReplayCache): nonces, and the WeChat token (mod_hisgate.c) */
extern hg_socache_t hg_shared_cache;

/* the WeChat access token (mod_hisgate_wechat.c) */
apr_status_t hg_wechat_pre_config(apr_pool_t *pconf);
apr_status_t hg_wechat_post_config(server_rec *s, apr_pool_t *pconf);
void hg_wechat_child_init(apr_pool_t *p);
/* the account's message push (HisgateWeChatPush): GET /hg/wechat/push, POST /hg/wechat/push */
apr_status_t hg_wechat_push_get(hg_call_t *c);
apr_status_t hg_wechat_push_post(hg_call_t *c);
apr_status_t hg_register_wechat_event(const char *event, hg_wechat_event_fn *fn, void *baton);
void hg_wechat_push_reset(apr_pool_t *pconf);   /* pre_config: no handlers yet */
apr_status_t hg_wechat_token(apr_pool_t *p, const char *stale, hg_http_observer_fn *observer,
                             void *observer_baton, const char **token, const char **why);

/* the drain (mod_hisgate_drain.c) */
apr_status_t hg_drain_start(server_rec *s, apr_pool_t *p);
void hg_drain_child_init(apr_pool_t *pchild, server_rec *s);

/* DB access with a bounded wait for a pool slot (mod_hisgate.c): the same connection until
 * hg_release_db gives it and the slot back (rolled back first); the request pool's cleanup
 * releases whatever is still held.  After a release, hg_acquire_db takes them again. */
apr_status_t hg_acquire_db(request_rec *r, hg_db_t **db, hg_error_t **err);
void hg_release_db(request_rec *r);
/* this process's slots taken now, and how many there are (HisgateDBSlots) */
void hg_db_slots(int *in_use, int *slots);
/* this process's lines of work (hg_register_line, "db" among them): how many, and line i's name
 * with its counts now */
int hg_line_count(void);
const char *hg_line_get(int i, int *in_use, int *size, int *waiting);
/* the modules' status parts (hg_register_status): part i's name, with its status (NULL for none or
 * on error; the caller owns it) and its metrics text (NULL likewise) */
int hg_status_part_count(void);
const char *hg_status_part_get(int i, hg_db_t *db, apr_pool_t *p, const char *institution, json_t **status,
                               const char **metrics);

/* observer that collects outbound exchanges for the audit journal */
typedef struct hg_exchange_log_t {
    apr_pool_t *pool;
    apr_array_header_t *recs;   /* of hg_audit_rec_t */
} hg_exchange_log_t;
void hg_exchange_observer(void *baton, apr_pool_t *p, const hg_http_req_t *req,
                          const hg_http_resp_t *resp, apr_status_t rv);
#endif
