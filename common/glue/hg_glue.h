/* hg_glue: what a business module's Apache glue (mod_X.c) uses to plug into mod_hisgate.
 * mod_hisgate owns the request pipeline — request id, body limits, JSON parsing, HIS signature
 * and replay checks, staff sessions, roles and CSRF, the bounded wait for a database connection,
 * the audit row and the JSON error envelope — and calls a module's route functions with an
 * hg_call_t.  Modules register their routing table and outbox topics in post_config through the
 * optional functions below (mod_hisgate must be loaded first). */
#ifndef HG_GLUE_H
#define HG_GLUE_H
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_optional.h"
#include "apr_global_mutex.h"
#include "ap_socache.h"
#include "apr_strings.h"
#include "util_script.h"
#include <jansson.h>
#include "hg_db.h"
#include "hg_slots.h"
#include "hg_err.h"
#include "hg_json.h"
#include "hg_outbox.h"

typedef struct hg_call_t {
    request_rec  *r;
    apr_pool_t   *pool;          /* the request pool */
    const char   *request_id;
    const char   *institution;   /* of the HIS app, the staff user, or the server default */
    const char   *app_id;        /* signed HIS caller, else NULL */
    const char   *staff_user;    /* logged-in staff, else NULL */
    const char   *audit_caller;  /* whom the audit row names when no one is signed in yet (a login's account) */
    const char   *staff_department;
    const char   *staff_name;    /* the staff's display name (their username when they have none) */
    apr_array_header_t *staff_roles;  /* of const char * */
    const char   *path_rest;     /* for prefix routes: the path after the prefix */
    const char   *body;          /* raw request body (NUL-terminated) */
    apr_size_t    body_len;
    json_t       *json;          /* parsed body for HG_R_JSON routes (pool-owned) */
    hg_db_t      *db;            /* for HG_R_DB routes (and every signed or staff route) */
    const unsigned char *master_key;  /* 16 bytes: sealing secrets and personal data */
    void         *baton;         /* the module's pointer given at registration */
    /* the answer, set by the route function */
    int           status;        /* default 200 */
    json_t       *out;           /* JSON answer, or … */
    const char   *out_body;      /* … raw bytes with out_type */
    apr_size_t    out_len;
    const char   *out_type;
    hg_error_t   *err;           /* set through hg_call_fail */
    /* set by mod_hisgate, for hg_call_commit_answer */
    apr_status_t (*commit_answer)(struct hg_call_t *c, hg_db_result_t **res, const hg_db_stmt_t *last,
                                  int *applied);
    apr_status_t (*journal_row)(struct hg_call_t *c, const char ***cols);
    unsigned      route_flags;
    int           audited;       /* the call's audit row went with the route's commit */
    const char   *out_text;      /* c->out as it was journalled, sent as it is */
    int           report;        /* in a report's read (hg_call_report_begin) */
} hg_call_t;

typedef apr_status_t hg_route_fn(hg_call_t *c);

#define HG_R_PUBLIC  0x00   /* no authentication (patient pages, health) */
#define HG_R_SIGNED  0x01   /* HG1-HMAC-SM3 / HG1-HMAC-SHA256 signed HIS request; audited */
#define HG_R_STAFF   0x02   /* staff session or trusted REMOTE_USER; CSRF on non-GET */
#define HG_R_JSON    0x04   /* body must be a JSON object: c->json */
#define HG_R_DB      0x08   /* needs a database connection: c->db */
#define HG_R_PREFIX  0x10   /* path is a prefix; the rest goes to c->path_rest */
#define HG_R_AUDIT   0x20   /* write an audit row even when not signed */
#define HG_R_AUDIT_BARE 0x40 /* with HG_R_AUDIT: the row keeps no bodies (passwords, session tokens),
                              * only an error answer */
#define HG_R_ARENA   0x80   /* the call's JSON values take their memory from its pool (hg_json_arena):
                             * the route must keep none past the request (no cache of JSON values) */

typedef struct hg_route_t {
    const char  *method;     /* "GET", "POST", … */
    const char  *path;
    unsigned     flags;
    const char  *role;       /* staff role required ("a|b": any of them), or NULL; admin passes */
    hg_route_fn *fn;
} hg_route_t;               /* a table ends with an entry whose method is NULL */

APR_DECLARE_OPTIONAL_FN(apr_status_t, hg_register_routes,
                        (const char *module, const hg_route_t *routes, void *baton));
/* the delivery function receives items of this topic; the http observer in each item journals
 * every outbound exchange: pass it on in hg_http_req_t */
APR_DECLARE_OPTIONAL_FN(apr_status_t, hg_register_topic,
                        (const char *topic, hg_outbox_deliver_fn *fn, void *baton));
/* a module's follow-up of delivered items of a registered topic: one statement, $1 the delivered
 * rows' ids (bigint[]), run in the transaction that records them as done, so that the follow-up
 * (say, another outbox row) is committed with the outcome or not at all */
APR_DECLARE_OPTIONAL_FN(apr_status_t, hg_register_topic_after, (const char *topic, const char *sql));
/* a topic whose rows keep their payload by reference (say, to a bill that holds the document): one
 * statement, $1 the claimed rows' ids (bigint[]), returning (id, payload text) of the rows it
 * completes, run right after the claim; what it does not return is delivered as stored */
APR_DECLARE_OPTIONAL_FN(apr_status_t, hg_register_topic_payload, (const char *topic, const char *sql));

/* An event the WeChat Official Account pushes to hisgate (HisgateWeChatPush; the message's <Event>,
 * e.g. "user_authorize_invoice"): msg is the message's fields as JSON strings (FromUserName,
 * CreateTime, Event, …), signature checked and decrypted.  The handler runs in the push's request
 * (c->db is there): APR_SUCCESS answers WeChat "success"; an error answers 503 so that WeChat pushes
 * again (it does, three times): handlers must be idempotent.  Events nobody registered are answered
 * "success" and logged at debug level. */
typedef apr_status_t hg_wechat_event_fn(hg_call_t *c, json_t *msg, void *baton);
APR_DECLARE_OPTIONAL_FN(apr_status_t, hg_register_wechat_event,
                        (const char *event, hg_wechat_event_fn *fn, void *baton));

/* core settings a module may read after post_config: "institution", "public_url", "fiscal_url",
 * "fiscal_appid", "fiscal_key", "fiscal_timeout_ms", "ca_file", "fonts", "wechat_appid", "wechat_api"; "master_key" gives the 16 raw bytes
 * (NULL when HisgateKeyFile is not set), "audit_key" likewise (for hg_audit_insert of outbound exchanges a
 * route makes itself, as mod_injury does). NULL for an unknown or unset name. */
APR_DECLARE_OPTIONAL_FN(const char *, hg_conf_get, (const char *name));

/* The WeChat access token (HisgateWeChat or HisgateWeChatTokenURL; see common/hg_wechat.h):
 * shared by every child through mod_hisgate's shared-memory cache, fetched by one at a time.
 * stale: the token WeChat just refused (40001/40014/42001) — another is fetched unless a sibling
 * already did; NULL otherwise.  The fetch is journalled through observer (may be NULL) with the
 * secret and the token redacted.  HG_EINVALID when WeChat is not configured, HG_EPLATFORM /
 * HG_ETIMEOUT when the token service failed; *why then says why (no secret in it). */
typedef apr_status_t hg_wechat_token_fn(apr_pool_t *p, const char *stale, hg_http_observer_fn *observer,
                                        void *observer_baton, const char **token, const char **why);
APR_DECLARE_OPTIONAL_FN(apr_status_t, hg_wechat_token,
                        (apr_pool_t *p, const char *stale, hg_http_observer_fn *observer,
                         void *observer_baton, const char **token, const char **why));

/* A mod_socache instance from a directive's "provider[:args]", for post_config's real pass: the
 * provider looked up and created; a global mutex of mutex_type (which the caller registered in
 * pre_config) when the provider is not safe across threads and processes (shmcb), or always when
 * always_mutex (a check-and-store must be atomic); then initialised under namespace ns, and
 * destroyed with pconf.  Failures are logged naming the directive (HG00004-HG00006) and give
 * HTTP_INTERNAL_SERVER_ERROR, else OK.  The caller's child_init reattaches c->mutex when set. */
typedef struct hg_socache_t {
    ap_socache_provider_t *provider;
    ap_socache_instance_t *inst;
    apr_global_mutex_t    *mutex;    /* NULL: the provider needs none */
} hg_socache_t;
/* a module's bounded line of work in this process (hg_slots.h), shown with the database slots
 * under "lines" in /hg/status and as hisgate_line_* in /hg/metrics (the answering process's).
 * Register it in child_init; the name is "module.what", e.g. "invoice.pdf". */
APR_DECLARE_OPTIONAL_FN(void, hg_register_line, (const char *name, hg_slots_t *line));

/* A module's part of /hg/status and /hg/metrics: its own operational state, read from the
 * database when either is asked for.  fn sets *status to a JSON object (shown under the module's
 * name in /hg/status; NULL for none, owned by the caller after) and *metrics to Prometheus text
 * lines with their HELP and TYPE (NULL for none), for the institution; an error leaves the part out
 * of that answer.  Register in child_init, as hg_register_line. */
typedef apr_status_t hg_status_fn(hg_db_t *db, apr_pool_t *p, const char *institution, json_t **status,
                                  const char **metrics);
APR_DECLARE_OPTIONAL_FN(void, hg_register_status, (const char *name, hg_status_fn *fn));

APR_DECLARE_OPTIONAL_FN(int, hg_socache_open,
                        (hg_socache_t *c, const char *directive, const char *spec, const char *ns,
                         const struct ap_socache_hints *hints, const char *mutex_type, int always_mutex,
                         server_rec *s, apr_pool_t *pconf, apr_pool_t *ptemp));

/* Giving the database back during long work without it (a PDF render, a wait on a platform).
 * c->db and its slot in the bounded pool (HisgateDBSlots) are the route's from the start of the
 * call; a route that has read what it needs calls hg_call_db_release(c): any open transaction is
 * rolled back (commit first what must stay), the connection goes back to mod_dbd's pool, the slot
 * to the waiting requests, and c->db becomes NULL (copies of the pointer are dead too).
 * hg_call_db_reacquire(c) takes a slot and a connection again — a call that gave one back goes
 * before requests still waiting for their first — with the same bounded wait: APR_SUCCESS and a
 * new c->db, or HG_EDBBUSY (HG_DB_BUSY) / HG_EDBDOWN (HG_DB_UNAVAILABLE) with c->err set (clear
 * it to carry on without the database).  Nothing to do when c->db is set.  The audit row of a
 * signed (or HG_R_AUDIT) call is written whatever the route did: mod_hisgate takes a connection
 * again for it when the route ended without one, and hg_call_commit_answer / hg_call_answer_if
 * on a call that gave its connection back take one again first.  Both are cheap: release when the work ahead
 * costs more than a few milliseconds. */
APR_DECLARE_OPTIONAL_FN(void, hg_glue_db_release, (hg_call_t *c));
APR_DECLARE_OPTIONAL_FN(apr_status_t, hg_glue_db_reacquire, (hg_call_t *c));

/* A report's reads (period reports, statistics), which may read a year of rows: they run in one
 * read-only transaction under HisgateReportTimeout instead of every statement's 5 s, and at most
 * HisgateReports of them at once per process, so that they never hold more than that many of
 * the database slots the HIS's calls need.  hg_call_report_begin gives the connection back, waits
 * in the "reports" line (HisgateReports' wait, holding no connection; then 503 HG_REPORT_BUSY),
 * takes a connection again and opens the transaction; the route's reads follow on c->db.
 * hg_call_report_end (or the end of the route) rolls the transaction back and leaves the line: a
 * report writes nothing.  A statement past the timeout answers 503 HG_DB_TIMEOUT saying so. */
APR_DECLARE_OPTIONAL_FN(apr_status_t, hg_glue_report_begin, (hg_call_t *c));
APR_DECLARE_OPTIONAL_FN(void, hg_glue_report_end, (hg_call_t *c));

static inline apr_status_t hg_call_report_begin(hg_call_t *c)
{
    APR_OPTIONAL_FN_TYPE(hg_glue_report_begin) *fn = APR_RETRIEVE_OPTIONAL_FN(hg_glue_report_begin);
    return fn ? fn(c) : APR_SUCCESS;
}

static inline void hg_call_report_end(hg_call_t *c)
{
    APR_OPTIONAL_FN_TYPE(hg_glue_report_end) *fn = APR_RETRIEVE_OPTIONAL_FN(hg_glue_report_end);
    if (fn)
        fn(c);
}

/* A route with HG_R_ARENA that makes and drops much JSON in one call (a batch of 500 bills): its
 * values from here on take heap memory again, freed as they are dropped, rather than the pool's,
 * kept to the end of the call.  Values made before stay in the pool and may take heap values. */
APR_DECLARE_OPTIONAL_FN(void, hg_glue_json_heap, (hg_call_t *c));

static inline void hg_call_json_heap(hg_call_t *c)
{
    APR_OPTIONAL_FN_TYPE(hg_glue_json_heap) *fn = APR_RETRIEVE_OPTIONAL_FN(hg_glue_json_heap);
    if (fn)
        fn(c);
}

static inline void hg_call_db_release(hg_call_t *c)
{
    APR_OPTIONAL_FN_TYPE(hg_glue_db_release) *fn = APR_RETRIEVE_OPTIONAL_FN(hg_glue_db_release);
    if (fn && c->db)
        fn(c);
}

static inline apr_status_t hg_call_db_reacquire(hg_call_t *c)
{
    APR_OPTIONAL_FN_TYPE(hg_glue_db_reacquire) *fn = APR_RETRIEVE_OPTIONAL_FN(hg_glue_db_reacquire);
    if (c->db)
        return APR_SUCCESS;
    if (!fn) {
        c->err = hg_error_make(c->pool, "HG_DB_UNAVAILABLE", NULL, NULL);
        return HG_EDBDOWN;
    }
    return fn(c);
}

/* NB: libhisgate is linked into every module with hidden symbols, so process-wide state of a
 * common/ file (hg_pdf's fonts, hg_http's default observer) is per module: a module that renders
 * PDFs calls hg_pdf_global_init(hg_conf_get("fonts")) in its own child_init. */

/* a route function's error: the envelope is rendered by mod_hisgate */
static inline apr_status_t hg_call_fail(hg_call_t *c, const char *code, const char *field,
                                        const char *msg)
{
    c->err = hg_error_make(c->pool, code, field, msg ? "%s" : NULL, msg);
    return HG_EINVALID;
}

static inline apr_status_t hg_call_answer(hg_call_t *c, int status, json_t *out)
{
    c->status = status;
    c->out = hg_json_own(c->pool, out);
    c->out_text = NULL;       /* a new answer is journalled as it is sent */
    c->audited = 0;
    return APR_SUCCESS;
}

/* Answer, and end the route's open transaction with its last statement and the call's audit row
 * (for audited routes) in one round trip and one commit; an audited route would otherwise commit
 * twice, its write and then its audit row.  The answer must be final: the audit row keeps it.  On
 * failure nothing is committed, the answer is dropped and the statement's error is returned (the
 * route may still answer otherwise, e.g. a replay after a unique violation). */
static inline apr_status_t hg_call_commit_answer(hg_call_t *c, int status, json_t *out, hg_db_result_t **res,
                                                 const hg_db_stmt_t *last)
{
    hg_call_answer(c, status, out);
    return c->commit_answer(c, res, last, NULL);
}

/* Answer, and take the call's journal row to commit it with a write that someone else sends (a
 * group's statement, on another connection): *cols = the row's HG_AUDIT_NCOLS values
 * (hg_audit_rows_stmt), NULL for a call that is not journalled.  The answer must be final.  Once
 * the row is committed, hg_call_journalled(c) says so; until then (or if the write fails and the
 * route answers again) mod_hisgate writes the row for the answer it sends, as for any call. */
static inline apr_status_t hg_call_answer_journal(hg_call_t *c, int status, json_t *out, const char ***cols)
{
    hg_call_answer(c, status, out);
    return c->journal_row(c, cols);
}

static inline void hg_call_journalled(hg_call_t *c)
{
    c->audited = c->out_text != NULL;
}

/* Answer with a guarded write outside any transaction: `guard` is a data-modifying statement with
 * RETURNING (e.g. UPDATE … WHERE rev = $n RETURNING …) and it commits with the call's audit row in
 * one statement.  *applied = 0 when it returned no row: then nothing was written, the answer is
 * dropped, and the route decides again (e.g. from a fresh, locked read). */
static inline apr_status_t hg_call_answer_if(hg_call_t *c, int status, json_t *out, const hg_db_stmt_t *guard,
                                             int *applied)
{
    hg_call_answer(c, status, out);
    return c->commit_answer(c, NULL, guard, applied);
}

/* The query string as a JSON object of strings, validated like a body against schema: one rule
 * for all input.  A parameter given twice is refused (ap_args_to_table would keep one of them
 * silently), and so is one that is not UTF-8 (jansson refuses it as a key or a value). */
static inline apr_status_t hg_call_query(hg_call_t *c, const hg_field_t *schema, json_t **out)
{
    apr_table_t *t = NULL;
    const apr_array_header_t *arr;
    json_t *o = hg_json_object(c->pool);
    char *args, *last, *kv, *eq;
    int i;
    *out = NULL;
    if (c->r->args) {
        apr_table_t *seen = apr_table_make(c->pool, 8);
        args = apr_pstrdup(c->pool, c->r->args);
        for (kv = apr_strtok(args, "&", &last); kv; kv = apr_strtok(NULL, "&", &last)) {
            if ((eq = strchr(kv, '=')))
                *eq = '\0';
            if (apr_table_get(seen, kv))
                return hg_call_fail(c, "HG_FIELD_UNKNOWN", hg_utf8_repair(c->pool, kv), "given twice");
            apr_table_setn(seen, kv, "1");
        }
    }
    ap_args_to_table(c->r, &t);
    arr = t ? apr_table_elts(t) : NULL;
    for (i = 0; arr && i < arr->nelts; i++) {
        const apr_table_entry_t *e = &APR_ARRAY_IDX(arr, i, apr_table_entry_t);
        json_t *v = json_string(e->val);
        if (!v || json_object_set_new(o, e->key, v) != 0)
            return hg_call_fail(c, "HG_FIELD_PATTERN", hg_utf8_repair(c->pool, e->key), "not UTF-8 text");
    }
    *out = o;
    return hg_json_validate(c->pool, o, schema, &c->err);
}

static inline int hg_call_has_role(const hg_call_t *c, const char *role)
{
    int i;
    for (i = 0; c->staff_roles && i < c->staff_roles->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(c->staff_roles, i, const char *), role) == 0)
            return 1;
    return 0;
}

/* a route's role: one name, or alternatives "a|b|c" of which the user needs any */
static inline int hg_call_has_role_of(const hg_call_t *c, const char *spec)
{
    int i;
    for (i = 0; c->staff_roles && i < c->staff_roles->nelts; i++) {
        const char *have = APR_ARRAY_IDX(c->staff_roles, i, const char *), *s = spec;
        apr_size_t n = strlen(have);
        while (*s) {
            const char *end = strchr(s, '|');
            apr_size_t len = end ? (apr_size_t)(end - s) : strlen(s);
            if (len == n && !strncmp(s, have, n))
                return 1;
            s += len + (end ? 1 : 0);
        }
    }
    return 0;
}
#endif
