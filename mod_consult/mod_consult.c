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
#include "apr_thread_mutex.h"
#include "ap_socache.h"
#include "util_mutex.h"
#include "hg_glue.h"
#include "consult_engine.h"
#include "consult_store.h"
#include "consult_cache.h"
#include "mod_consult_stats.h"
#include "hg_auth.h"
#include "hg_crypto.h"
#include "mod_consult_private.h"

module AP_MODULE_DECLARE_DATA consult_module;

consult_conf_t *consult_G;
#define G consult_G

static void *create_conf(apr_pool_t *p, server_rec *s)
{
    consult_conf_t *c = apr_pcalloc(p, sizeof(*c));
    c->session_ttl = 172800;
    c->notify.timeout_ms = 5000;
    c->visit_cache = "shmcb:consult-visits(16777216)";
    return c;
}

static consult_conf_t *conf_of(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &consult_module);
}

static const char *set_ttl(cmd_parms *cmd, void *dc, const char *arg)
{
    int v = atoi(arg);
    if (v < 600 || v > 30 * 86400)
        return "ConsultSessionTTL: seconds between 600 and 2592000";
    conf_of(cmd)->session_ttl = v;
    return NULL;
}

static const char *set_sms(cmd_parms *cmd, void *dc, const char *url, const char *sign)
{
    conf_of(cmd)->notify.sms_url = url;
    conf_of(cmd)->notify.sms_sign = sign;
    return NULL;
}

static const char *set_wechat(cmd_parms *cmd, void *dc, const char *url, const char *tpl)
{
    conf_of(cmd)->notify.wechat_url = url;
    conf_of(cmd)->notify.wechat_template_id = tpl;
    return NULL;
}

static const char *set_push(cmd_parms *cmd, void *dc, const char *url, const char *secret)
{
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
        return "ConsultSummaryPushURL: an http(s) URL, then optionally the HMAC secret";
    conf_of(cmd)->notify.push_url = url;
    conf_of(cmd)->notify.push_secret = secret;
    return NULL;
}

static const char *set_visit_cache(cmd_parms *cmd, void *dc, const char *arg)
{
    conf_of(cmd)->visit_cache = arg;
    return NULL;
}

static const command_rec consult_cmds[] = {
    AP_INIT_TAKE1("ConsultSessionTTL", set_ttl, NULL, RSRC_CONF,
                  "seconds a patient's pre-consultation link stays valid (default 172800)"),
    AP_INIT_TAKE2("ConsultSMSGateway", set_sms, NULL, RSRC_CONF,
                  "SMS gateway URL and the signature text (【医院名】) for the link message"),
    AP_INIT_TAKE2("ConsultWeChatGateway", set_wechat, NULL, RSRC_CONF,
                  "WeChat template-message URL and template id for the link message"),
    AP_INIT_TAKE12("ConsultSummaryPushURL", set_push, NULL, RSRC_CONF,
                   "the HIS URL that receives submitted summaries, and the HMAC-SHA256 secret"),
    AP_INIT_TAKE1("ConsultVisitCache", set_visit_cache, NULL, RSRC_CONF,
                  "mod_socache provider[:args] for the visit rows shared by all processes "
                  "(default shmcb:consult-visits(16777216))"),
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
    { .name = "diagnosis", .type = HG_JT_STRING, .max_len = 50, .pattern = "[A-Za-z0-9_.-]+" },
    { .name = "disease", .type = HG_JT_STRING, .max_len = 50, .pattern = "[A-Za-z0-9_.-]+" },
    { .name = "phone", .type = HG_JT_STRING, .pattern = "1[0-9]{10}" },
    { .name = "openid", .type = HG_JT_STRING, .min_len = 16, .max_len = 64, .pattern = "[A-Za-z0-9_-]+" },
    /* where the patient came in: the statistics' entry grouping (挂号入口、预约入口…) */
    { .name = "entry", .type = HG_JT_STRING, .enum_values = (const char *const[]){ "registration", "appointment",
      "app", "wechat", "qrcode", "kiosk", "other", NULL } },
    HG_FIELDS_END
};

static const hg_field_t SUBMIT_SCHEMA[] = {
    { .name = "confirm", .type = HG_JT_BOOLEAN },
    { .name = "sections", .type = HG_JT_OBJECT },
    HG_FIELDS_END
};

static apr_status_t fail_rv(hg_call_t *c, apr_status_t rv, const char *what)
{
    if (rv == HG_ENOTFOUND)
        return hg_call_fail(c, "HG_CONSULT_SESSION", NULL, what);
    return rv;
}

/* the audit row names the session by its keyed index, never by the token (a credential);
 * the index is also the key of the session's row in visit_cache (NULL without a master key) */
static const char *redact_uri(hg_call_t *c, const char *token, const char *what)
{
    char *idx = NULL;
    if (!c->master_key || consult_store_token_index(&idx, c->pool, c->master_key, token) != APR_SUCCESS)
        idx = NULL;
    c->r->uri = apr_pstrcat(c->pool, "/consult/pub/v1/sessions/~", idx ? apr_pstrndup(c->pool, idx, 16) : "-",
                            what ? "/" : "", what ? what : "", NULL);
    return idx;
}

/* Visit rows shared by httpd's processes (consult_cache.h, ConsultVisitCache): an answer step
 * whose row is there is one guarded statement; the database decides whether it is still current. */
#define VISIT_CACHE_SECONDS 3600          /* an idle session's row leaves the cache after an hour */
#define VISIT_CACHE_MAX_BYTES 32768       /* larger rows (a draft's preview) are read each step */
static hg_socache_t visit_cache;           /* its mutex only for providers that need one (shmcb) */
static const char *const visit_mutex_type = "consult-visits";

/* how a step is written: guarded (from the cached row) or in the transaction of its locked read */
typedef struct {
    const char *idx;         /* cache key */
    int guarded, applied;
} step_t;

/* the cache key: the token index's bytes, not its hex.  shmcb picks a subcache by the key's first
 * byte, and a hex digit is one of 16 values: three quarters of the cache stayed unused, and rows
 * were pushed out before the patient's next step (measured: 58% of steps missed) */
static int visit_key(hg_call_t *c, const char *idx, const unsigned char **key, unsigned int *len)
{
    unsigned char *raw;
    apr_size_t n;
    if (!visit_cache.inst || !idx || hg_hex_decode(&raw, &n, c->pool, idx) != APR_SUCCESS || !n)
        return 0;
    *key = raw;
    *len = (unsigned int)n;
    return 1;
}

static void visit_lock(void)
{
    if (visit_cache.mutex)
        apr_global_mutex_lock(visit_cache.mutex);
}

static void visit_unlock(void)
{
    if (visit_cache.mutex)
        apr_global_mutex_unlock(visit_cache.mutex);
}

static consult_visit_t *cached_visit(hg_call_t *c, const char *idx)
{
    unsigned int len = VISIT_CACHE_MAX_BYTES, klen;
    const unsigned char *key;
    unsigned char *buf;
    hg_db_result_t *row;
    consult_visit_t *v;
    apr_status_t rv;
    if (!visit_key(c, idx, &key, &klen))
        return NULL;
    buf = apr_palloc(c->pool, len);
    visit_lock();
    rv = visit_cache.provider->retrieve(visit_cache.inst, c->r->server, key, klen, buf, &len, c->pool);
    visit_unlock();
    if (rv != APR_SUCCESS || !(row = consult_row_decode(c->pool, buf, len))
        || consult_store_visit_of_row(c->pool, row, &v) != APR_SUCCESS
        || v->expires_at <= apr_time_sec(apr_time_now()))
        return NULL;
    return v;
}

static void forget_visit(hg_call_t *c, const char *idx)
{
    const unsigned char *key;
    unsigned int klen;
    if (!visit_key(c, idx, &key, &klen))
        return;
    visit_lock();
    visit_cache.provider->remove(visit_cache.inst, c->r->server, key, klen, c->pool);
    visit_unlock();
}

static void remember_visit(hg_call_t *c, const char *idx, hg_db_result_t *row)
{
    apr_size_t len = 0;
    const unsigned char *key;
    unsigned int klen;
    unsigned char *buf;
    apr_status_t rv;
    if (!row || !visit_key(c, idx, &key, &klen))
        return;
    if (!(buf = consult_row_encode(c->pool, row, &len)) || len > VISIT_CACHE_MAX_BYTES) {
        forget_visit(c, idx);             /* an older, smaller row must not stay behind */
        return;
    }
    visit_lock();
    rv = visit_cache.provider->store(visit_cache.inst, c->r->server, key, klen,
                               apr_time_now() + apr_time_from_sec(VISIT_CACHE_SECONDS), buf, (unsigned int)len,
                               c->pool);
    visit_unlock();
    if (rv != APR_SUCCESS) {
        forget_visit(c, idx);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, c->r, "HG11010: visit row not cached (%lu bytes)",
                      (unsigned long)len);
    }
}

/* the visit's template (the stored definition is the authority: it was checked when published, and
 * is checked again here) and the patient's context */
/* Parsed templates, per process: a patient's every step would otherwise read, parse and compile the
 * definition again (about 120 µs in httpd, and the text from PostgreSQL).  An approved version never
 * changes (a trigger guards it): its key is id|version, and its text is read once.  Any other
 * version comes with its text, and its key holds a hash of it, so a changed draft is another entry.
 * The engine only reads a loaded template (jansson's reference counts are atomic): threads share it. */
#define TEMPLATE_CACHE_MAX 256
static apr_thread_mutex_t *template_mutex;
static apr_hash_t *template_cache;
static apr_pool_t *template_pool;

static const char *template_key(apr_pool_t *p, const consult_visit_t *v)
{
    apr_uint64_t h = 14695981039346656037ULL;   /* FNV-1a 64 */
    const unsigned char *s;
    if (!v->definition)
        return apr_pstrcat(p, v->template_id, "|", v->version, "|approved", NULL);
    for (s = (const unsigned char *)v->definition; *s; s++)
        h = (h ^ *s) * 1099511628211ULL;
    return apr_psprintf(p, "%s|%s|%" APR_UINT64_T_HEX_FMT, v->template_id, v->version, h);
}

static void consult_child_init(apr_pool_t *p, server_rec *s)
{
    if (apr_pool_create(&template_pool, p) == APR_SUCCESS
        && apr_thread_mutex_create(&template_mutex, APR_THREAD_MUTEX_DEFAULT, p) == APR_SUCCESS)
        template_cache = apr_hash_make(template_pool);
    if (visit_cache.mutex)
        apr_global_mutex_child_init(&visit_cache.mutex, apr_global_mutex_lockfile(visit_cache.mutex), p);
}

static apr_status_t load_template(hg_call_t *c, consult_visit_t *v, consult_template_t **t, consult_ctx_t *ctx)
{
    json_t *def;
    hg_error_t *e = NULL;
    const char *key = template_cache ? template_key(c->pool, v) : NULL;
    apr_pool_t *tp = NULL;

    *t = NULL;
    if (key && !v->definition) {           /* approved: its text only when it is not cached yet */
        apr_thread_mutex_lock(template_mutex);
        *t = apr_hash_get(template_cache, key, APR_HASH_KEY_STRING);
        apr_thread_mutex_unlock(template_mutex);
    }
    if (!*t && !v->definition) {
        apr_status_t rv = consult_store_definition(c->db, c->pool, v->template_id, v->version, &v->definition);
        if (rv)
            return rv == HG_ENOTFOUND ? hg_call_fail(c, "HG_CONSULT_TEMPLATE", NULL, NULL) : rv;
    }
    if (key && !*t) {
        apr_thread_mutex_lock(template_mutex);
        *t = apr_hash_get(template_cache, key, APR_HASH_KEY_STRING);
        /* a miss is loaded into its own pool under the lock: rare, and never loaded twice */
        if (!*t && apr_hash_count(template_cache) < TEMPLATE_CACHE_MAX
            && apr_pool_create(&tp, template_pool) == APR_SUCCESS) {
            def = hg_json_own(tp, json_loads(v->definition, 0, NULL));
            if (def && consult_template_load(t, tp, def, &e) == APR_SUCCESS)
                apr_hash_set(template_cache, apr_pstrdup(tp, key), APR_HASH_KEY_STRING, *t);
            else {
                *t = NULL;
                apr_pool_destroy(tp);
                e = NULL;             /* loaded again below, in the request's pool, to report */
            }
        }
        apr_thread_mutex_unlock(template_mutex);
    }
    if (*t)
        goto loaded;
    def = hg_json_own(c->pool, json_loads(v->definition, 0, NULL));
    if (!def || consult_template_load(t, c->pool, def, &e) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, c->r, "HG11001: consult template %s/%s does not load: %s",
                      v->template_id, v->version, e ? e->message : "not JSON");
        return hg_call_fail(c, "HG_CONSULT_TEMPLATE", NULL, NULL);
    }
loaded:
    ctx->sex = v->sex;
    ctx->birth_date = v->birth_date;
    ctx->today = consult_today(c->pool);
    return APR_SUCCESS;
}

/* the sections as the patient confirmed them: generated, with the patient's edits over them */
static json_t *final_sections(apr_pool_t *p, json_t *summary)
{
    json_t *o = hg_json_own(p, json_deep_copy(json_object_get(summary, "sections")));
    if (o && json_is_object(json_object_get(summary, "patientEdits")))
        json_object_update(o, json_object_get(summary, "patientEdits"));
    return o ? o : hg_json_object(p);
}

/* what the patient's page shows */
static apr_status_t session_view(hg_call_t *c, consult_visit_t *v, consult_template_t *t, consult_ctx_t *ctx,
                                 json_t **out)
{
    if (!strcmp(v->state, "completed")) {
        *out = hg_json_own(c->pool, json_pack("{s:s, s:[], s:O}", "state", "completed", "items", "summary",
                                              final_sections(c->pool, v->summary)));
        return APR_SUCCESS;
    }
    return consult_view(out, c->pool, t, v->answers, v->nav, ctx);
}

static apr_status_t answer_view(hg_call_t *c, consult_visit_t *v, consult_template_t *t, consult_ctx_t *ctx)
{
    json_t *o;
    apr_status_t rv = session_view(c, v, t, ctx, &o);
    return rv ? rv : hg_call_answer(c, 200, json_incref(o));
}

/* store answers, pages and the state the view shows (in-progress, review or stopped), answer the view:
 * the write and its audit row in one commit, either one guarded statement (s->applied says whether
 * the cached row was still current) or the last round trip of the locked transaction */
static apr_status_t save_and_answer(hg_call_t *c, consult_visit_t *v, consult_template_t *t, consult_ctx_t *ctx,
                                    step_t *s)
{
    hg_db_stmt_t last;
    json_t *view;
    apr_status_t rv;
    if ((rv = consult_view(&view, c->pool, t, v->answers, v->nav, ctx)))
        return rv;
    v->state = hg_json_gets(view, "state", NULL);
    consult_store_save_stmt(&last, c->pool, v, v->answers, v->nav, v->state, s->guarded);
    if (s->guarded) {
        if ((rv = hg_call_answer_if(c, 200, json_incref(view), &last, &s->applied)) || !s->applied)
            return rv;
    }
    else if (!c->db->in_tx)
        return APR_EINVAL;        /* a step writes from a locked read, or guarded */
    else if ((rv = hg_call_commit_answer(c, 200, json_incref(view), NULL, &last)))
        return rv;
    remember_visit(c, s->idx, consult_store_row_after_save(c->pool, v, &last));
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- HIS: announce a visit */

/* key: the outbox business key (one message per key, whatever the retries) */
static apr_status_t enqueue_link(hg_call_t *c, const consult_visit_in_t *in, const char *url, const char *key)
{
    const char *to = in->openid ? in->openid : in->phone;
    char *payload, *sealed;
    int created;
    apr_status_t rv;
    if (!to)
        return APR_SUCCESS;
    payload = hg_json_dump(c->pool, hg_json_own(c->pool, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s}",
        "channel", in->openid ? "wechat" : "sms", "to", to, "url", url, "department", in->department,
        "doctor", in->doctor, "visitTime", in->visit_time)), 0);
    if ((rv = hg_secret_seal_packed(&sealed, c->pool, c->master_key, payload, strlen(payload))))
        return rv;
    return hg_outbox_enqueue(c->db, "consult.notify", c->institution, key,
                             hg_json_dump(c->pool, hg_json_own(c->pool, json_pack("{s:s}", "sealed", sealed)), 0),
                             8, &created);
}

/* A renewed link goes where the first one went: to this announcement's openid or phone when it has
 * one, else to the contact stored with the visit.  Once per renewal (the key names the row's write
 * counter after it); the patient's old message points at a dead link. */
static apr_status_t enqueue_renewed_link(hg_call_t *c, const consult_visit_in_t *given, const consult_visit_t *v,
                                         const consult_renewal_t *rn, const char *url)
{
    consult_visit_in_t in = *given;
    unsigned char *raw;
    apr_size_t len;
    apr_status_t rv;
    if (!in.openid && !in.phone && rn->contact_sealed && rn->channel) {
        if ((rv = hg_secret_open(&raw, &len, c->pool, c->master_key, rn->contact_sealed)))
            return rv;
        if (!strcmp(rn->channel, "wechat"))
            in.openid = apr_pstrmemdup(c->pool, (const char *)raw, len);
        else
            in.phone = apr_pstrmemdup(c->pool, (const char *)raw, len);
    }
    in.department = v->department;
    in.doctor = v->doctor;
    in.visit_time = v->visit_time;
    return enqueue_link(c, &in, url, apr_pstrcat(c->pool, c->institution, ":", v->visit_no, ":renewed:", rn->rev, NULL));
}

/* the link's end as ISO 8601 with the server's offset */
static const char *iso_time(apr_pool_t *p, apr_int64_t secs)
{
    apr_time_exp_t tm;
    long off;
    apr_time_exp_lt(&tm, apr_time_from_sec(secs));
    off = tm.tm_gmtoff / 60;
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

static apr_status_t route_visit(hg_call_t *c)
{
    consult_visit_in_t in;
    consult_visit_t *v;
    consult_renewal_t rn = { 0 };
    int rescheduled = 0;
    const char *token, *url;
    int created;
    apr_status_t rv;

    if ((rv = hg_json_validate(c->pool, c->json, VISIT_SCHEMA, &c->err)))
        return rv;
    if (!c->master_key)
        return hg_call_fail(c, "HG_INTERNAL", NULL, "HisgateKeyFile is not configured");
    memset(&in, 0, sizeof(in));
    in.visit_no = hg_json_gets(c->json, "visitNo", NULL);
    in.patient_id = hg_json_gets(c->json, "patientId", NULL);
    in.name = hg_json_gets(c->json, "name", NULL);
    in.sex = hg_json_gets(c->json, "sex", NULL);
    in.birth_date = hg_json_gets(c->json, "birthDate", NULL);
    in.department = hg_json_gets(c->json, "department", NULL);
    in.doctor = hg_json_gets(c->json, "doctor", NULL);
    in.visit_time = hg_json_gets(c->json, "visitTime", NULL);
    in.disease = hg_json_gets(c->json, "diagnosis", NULL);
    if (!in.disease)
        in.disease = hg_json_gets(c->json, "disease", NULL);
    in.phone = hg_json_gets(c->json, "phone", NULL);
    in.openid = hg_json_gets(c->json, "openid", NULL);
    in.entry = hg_json_gets(c->json, "entry", NULL);
    if ((rv = hg_db_begin(c->db)))
        return rv;
    rv = consult_store_visit_upsert(c->db, c->pool, c->master_key, c->institution, &in, G->session_ttl,
                                    &v, &token, &created);
    if (rv == HG_ENOTFOUND)
        return hg_call_fail(c, "HG_CONSULT_TEMPLATE", "department",
                            "no approved questionnaire for this department and no generic one (无可用问卷模板)");
    if (rv)
        return rv;
    if (!created && (strcmp(v->patient_id, in.patient_id) || strcmp(v->department, in.department)))
        return hg_call_fail(c, "HG_CONFLICT", "visitNo", "visitNo already announced for another patient or department");
    /* announced again with another time: the visit was rescheduled (改约), and its link follows it */
    if (!created && (rv = consult_store_visit_reschedule(c->db, c->pool, v, in.visit_time, &rescheduled)))
        return rv;
    /* announced again: the HIS wants a link that works (a new one when it expired, unless submitted) */
    if (!created && (rv = consult_store_visit_renew(c->db, c->pool, c->master_key, G->session_ttl, &v, &token, &rn)))
        return rv;
    url = apr_psprintf(c->pool, "%s/consult/q.html#t=%s", G->public_url ? G->public_url : "", token);
    /* the link message leaves with the visit (or its renewal), or not at all */
    if (created && (rv = enqueue_link(c, &in, url, apr_pstrcat(c->pool, c->institution, ":", in.visit_no, NULL))))
        return rv;
    if (rn.renewed && (rv = enqueue_renewed_link(c, &in, v, &rn, url)))
        return rv;
    if ((rv = hg_db_commit(c->db)))
        return rv;
    return hg_call_answer(c, created ? 201 : 200, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:s, s:s, s:s?}",
        "visitNo", v->visit_no, "token", token, "url", url,
        "template", apr_pstrcat(c->pool, v->template_id, "|", v->version, NULL), "state", v->state,
        "replayed", !created, "renewed", rn.renewed, "rescheduled", rescheduled,
        "expiresAt", iso_time(c->pool, v->expires_at), "choice", v->choice, "rule", v->rule_id));
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
    json_t *pruned, *sections, *qr, *calc, *warn;
    apr_status_t rv;

    if (!no || !what || strcmp(what, "summary") || apr_strtok(NULL, "/", &last))
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
    if ((rv = consult_store_by_visit_no(c->db, c->pool, c->institution, no, &v)) == HG_ENOTFOUND)
        return hg_call_fail(c, "HG_NOT_FOUND", "visitNo", "no pre-consultation for this visit");
    if (rv)
        return rv;
    if (!strcmp(v->state, "completed") && v->summary) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "visitNo", v->visit_no, "state", v->state, "template",
                              apr_pstrcat(c->pool, v->template_id, "|", v->version, NULL));
        json_object_update(o, v->summary);
        return hg_call_answer(c, 200, o);
    }
    /* not submitted yet: what the answers say so far */
    if ((rv = load_template(c, v, &t, &ctx)))
        return rv;
    if ((rv = consult_prune(&pruned, c->pool, t, v->answers, &ctx))
        || (rv = consult_summary(&sections, c->pool, t, pruned, &ctx))
        || (rv = consult_calculate(&calc, c->pool, t, pruned, &ctx))
        || (rv = consult_quality(&warn, c->pool, t, pruned, &ctx))
        || (rv = consult_fhir_response(&qr, c->pool, t, pruned, &ctx)))
        return rv;
    return hg_call_answer(c, 200, json_pack("{s:s, s:s, s:s, s:O, s:{}, s:s, s:O, s:{s:O, s:O}, s:O}",
        "visitNo", v->visit_no, "state", v->state, "template", apr_pstrcat(c->pool, v->template_id, "|", v->version, NULL),
        "sections", sections, "patientEdits", "narrative", consult_narrative(c->pool, sections), "warnings", warn,
        "structured", "answers", pruned, "calculated", calc, "questionnaireResponse", qr));
}

/* ---------------------------------------------------------------- the patient */

/* GET /consult/pub/v1/sessions/<token> */
static apr_status_t route_session(hg_call_t *c)
{
    consult_visit_t *v;
    consult_template_t *t;
    consult_ctx_t ctx;
    apr_status_t rv;
    const char *idx = redact_uri(c, c->path_rest, NULL);
    if (strchr(c->path_rest, '/'))
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
    if ((rv = consult_store_by_token(c->db, c->pool, c->master_key, c->path_rest, 0, &v)))
        return fail_rv(c, rv, "预问诊链接无效或已过期");
    remember_visit(c, idx, v->row);  /* the page's next step: one guarded statement */
    if ((rv = load_template(c, v, &t, &ctx)))
        return rv;
    return answer_view(c, v, t, &ctx);
}

apr_status_t consult_merge_answers(hg_call_t *c, const consult_template_t *t, const consult_ctx_t *ctx,
                                   json_t *answers, json_t *list, json_t **merged_out, json_t **posted_out)
{
    json_t *a, *merged, *posted;
    apr_size_t i, k;

    merged = hg_json_own(c->pool, json_deep_copy(answers));
    posted = hg_json_own(c->pool, json_array());
    json_array_foreach(list, i, a) {
        const char *id = hg_json_gets(a, "linkId", NULL);
        json_t *val = json_object_get(a, "value");
        hg_error_t *e = NULL;
        if (!json_is_object(a))
            return hg_call_fail(c, "HG_FIELD_TYPE", apr_psprintf(c->pool, "answers[%d]", (int)i), "{\"linkId\",\"value\"}");
        if (!id || !*id)
            return hg_call_fail(c, "HG_FIELD_REQUIRED", apr_psprintf(c->pool, "answers[%d].linkId", (int)i), NULL);
        if (!val)
            return hg_call_fail(c, "HG_FIELD_REQUIRED", id, NULL);
        if (consult_validate_answer(c->pool, t, id, val, &e) != APR_SUCCESS) {
            c->err = e;
            return HG_EINVALID;
        }
        for (k = 0; k < i; k++)
            if (!strcmp(hg_json_gets(json_array_get(list, k), "linkId", NULL), id))
                return hg_call_fail(c, "HG_CONFLICT", id, "the same question is answered twice in one request");
        json_object_set(merged, id, val);
        json_array_append_new(posted, json_string(id));
    }
    /* every answered item must be shown under the answers as they now stand */
    json_array_foreach(list, i, a) {
        const char *id = hg_json_gets(a, "linkId", NULL);
        if (!consult_enabled(t, merged, ctx, id, c->pool))
            return hg_call_fail(c, "HG_FIELD_UNKNOWN", id, "this question does not apply (问题不适用)");
    }
    *merged_out = merged;
    *posted_out = posted;
    return APR_SUCCESS;
}

static apr_status_t do_answers(hg_call_t *c, consult_visit_t *v, step_t *s)
{
    consult_template_t *t;
    consult_ctx_t ctx;
    json_t *list = json_object_get(c->json, "answers"), *merged, *posted;
    apr_status_t rv;

    if (!json_is_array(list) || json_array_size(list) == 0)
        return hg_call_fail(c, "HG_FIELD_REQUIRED", "answers", "answers: [{\"linkId\",\"value\"}…]");
    if (json_array_size(list) > CONSULT_MAX_ANSWERS)
        return hg_call_fail(c, "HG_TOO_MANY_ITEMS", "answers", NULL);
    if (strcmp(v->state, "in-progress") && strcmp(v->state, "review"))
        return hg_call_fail(c, "HG_CONSULT_CLOSED", NULL, NULL);
    if ((rv = load_template(c, v, &t, &ctx))
        || (rv = consult_merge_answers(c, t, &ctx, v->answers, list, &merged, &posted)))
        return rv;
    v->answers = merged;
    consult_nav_record(v->nav, posted);
    return save_and_answer(c, v, t, &ctx, s);
}

static apr_status_t do_back(hg_call_t *c, consult_visit_t *v, step_t *s)
{
    consult_template_t *t;
    consult_ctx_t ctx;
    apr_status_t rv;
    if (strcmp(v->state, "in-progress") && strcmp(v->state, "review"))
        return hg_call_fail(c, "HG_CONSULT_CLOSED", NULL, NULL);
    if ((rv = load_template(c, v, &t, &ctx)))
        return rv;
    if (!consult_nav_back(t, v->answers, v->nav, &ctx, c->pool))
        return s->guarded ? APR_SUCCESS : answer_view(c, v, t, &ctx);  /* guarded: nothing written, read again */
    return save_and_answer(c, v, t, &ctx, s);
}

/* the summary pushed to the HIS (sealed in the outbox: it is the patient's history) */
static apr_status_t enqueue_push(hg_call_t *c, consult_visit_t *v, json_t *summary)
{
    json_t *doc;
    char *sealed;
    const char *text;
    int created;
    apr_status_t rv;
    if (!G->notify.push_url)
        return APR_SUCCESS;
    doc = hg_json_own(c->pool, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:s}", "visitNo", v->visit_no,
        "patientId", v->patient_id, "institution", c->institution, "department", v->department, "doctor", v->doctor,
        "visitTime", v->visit_time, "template", apr_pstrcat(c->pool, v->template_id, "|", v->version, NULL)));
    json_object_update(doc, summary);
    text = hg_json_dump(c->pool, doc, HG_JSON_DUMP_SORTED);
    if ((rv = hg_secret_seal_packed(&sealed, c->pool, c->master_key, text, strlen(text))))
        return rv;
    return hg_outbox_enqueue(c->db, "consult.push", c->institution,
                             apr_pstrcat(c->pool, c->institution, ":", v->visit_no, NULL),
                             hg_json_dump(c->pool, hg_json_own(c->pool, json_pack("{s:s}", "sealed", sealed)), 0),
                             10, &created);
}

static apr_status_t do_submit(hg_call_t *c, consult_visit_t *v)
{
    consult_template_t *t;
    consult_ctx_t ctx;
    json_t *items, *it, *pruned, *sections, *qr, *summary, *warnings, *calc, *edits, *given, *val;
    const char *advice, *key;
    apr_size_t i;
    apr_status_t rv;

    if ((rv = hg_json_validate(c->pool, c->json, SUBMIT_SCHEMA, &c->err)))
        return rv;
    if (!strcmp(v->state, "completed") && v->summary)   /* again: the same summary */
        return hg_call_answer(c, 200, json_pack("{s:s, s:O, s:b}", "state", "completed", "summary",
                              final_sections(c->pool, v->summary), "replayed", 1));
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
        || (rv = consult_calculate(&calc, c->pool, t, pruned, &ctx))
        || (rv = consult_quality(&warnings, c->pool, t, pruned, &ctx))
        || (rv = consult_fhir_response(&qr, c->pool, t, pruned, &ctx)))
        return rv;
    /* the patient's own words beside the generated text; only what differs is an edit */
    edits = hg_json_object(c->pool);
    given = json_object_get(c->json, "sections");
    json_object_foreach(given, key, val) {
        const char *f = apr_pstrcat(c->pool, "sections.", key, NULL), *s = json_string_value(val);
        apr_size_t ncp;
        if (consult_section_key(key) < 0)
            return hg_call_fail(c, "HG_FIELD_UNKNOWN", hg_utf8_repair(c->pool, f), "not a section of 五史一诉");
        if (!s)
            return hg_call_fail(c, "HG_FIELD_TYPE", f, "a section is text");
        if (hg_utf8_count(&ncp, s, strlen(s)) != APR_SUCCESS || ncp > 2000)
            return hg_call_fail(c, "HG_FIELD_TOO_LONG", f, "at most 2000 characters");
        if (strcmp(s, hg_json_gets(sections, key, NULL)))
            hg_json_sets(edits, key, s);
    }
    /* every warning waits for the patient's confirmation; a blocking one for a changed answer */
    if (json_array_size(warnings) && (consult_warnings_block(warnings) || !json_is_true(json_object_get(c->json, "confirm"))))
        return hg_call_answer(c, 409, json_pack("{s:s, s:s, s:O, s:s}", "code", "HG_CONSULT_QUALITY", "message",
            consult_warnings_block(warnings) ? "请先修改与您情况不符的回答" : "请确认以下提示后再提交",
            "warnings", warnings, "request_id", c->request_id));
    summary = hg_json_own(c->pool, json_pack("{s:O, s:O, s:s, s:O, s:{s:O, s:O}, s:O}", "sections", sections,
        "patientEdits", edits, "narrative", consult_narrative(c->pool, sections), "warnings", warnings,
        "structured", "answers", pruned, "calculated", calc, "questionnaireResponse", qr));
    if ((rv = consult_store_complete(c->db, c->pool, v, pruned, summary)) || (rv = enqueue_push(c, v, summary)))
        return rv;
    return hg_call_answer(c, 200, json_pack("{s:s, s:O, s:b}", "state", "completed", "summary",
                                            final_sections(c->pool, summary), "replayed", 0));
}

/* POST /consult/pub/v1/sessions/<token>/answers | /back | /submit.  An answer or back step whose row
 * this process holds is one guarded statement; otherwise, or when the row was not current (or the
 * step was refused on what may be a stale row), it is one transaction from a locked read. */
static apr_status_t route_session_post(hg_call_t *c)
{
    char *rest = apr_pstrdup(c->pool, c->path_rest), *last;
    const char *tok = apr_strtok(rest, "/", &last), *what = apr_strtok(NULL, "/", &last), *idx;
    consult_visit_t *v;
    const char *ct = apr_table_get(c->r->headers_in, "Content-Type");
    step_t s = { NULL, 0, 0 };
    apr_status_t rv;
    idx = redact_uri(c, tok ? tok : "", what && strlen(what) < 10 ? what : NULL);
    if (!tok || !what || apr_strtok(NULL, "/", &last)
        || (strcmp(what, "answers") && strcmp(what, "submit") && strcmp(what, "back")))
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
    /* the body is parsed here, not by the pipeline: the token is out of the URI the audit row keeps */
    if (ct && strncasecmp(ct, "application/json", 16) != 0)
        return hg_call_fail(c, "HG_UNSUPPORTED_MEDIA_TYPE", "Content-Type", NULL);
    if ((rv = hg_json_parse(&c->json, c->pool, c->body, c->body_len, 0, &c->err)))
        return rv;
    s.idx = idx;
    if (strcmp(what, "submit") && (v = cached_visit(c, idx))) {
        s.guarded = 1;
        rv = !strcmp(what, "answers") ? do_answers(c, v, &s) : do_back(c, v, &s);
        if (rv == APR_SUCCESS && s.applied)
            return APR_SUCCESS;
        forget_visit(c, idx);
        if (rv == HG_EDBDOWN)
            return rv;
        c->err = NULL;          /* decided again from the current row */
        c->out = NULL;
        c->status = 0;
        s.guarded = s.applied = 0;
    }
    /* BEGIN with the locking read; an answer or back step commits with its last write */
    if ((rv = consult_store_by_token(c->db, c->pool, c->master_key, tok, 2, &v))) {
        hg_db_rollback(c->db);
        return fail_rv(c, rv, "预问诊链接无效或已过期");
    }
    if (strcmp(what, "submit"))
        remember_visit(c, idx, v->row);
    else
        forget_visit(c, idx);
    rv = !strcmp(what, "answers") ? do_answers(c, v, &s) : !strcmp(what, "back") ? do_back(c, v, &s) : do_submit(c, v);
    if (rv) {
        hg_db_rollback(c->db);
        return rv;
    }
    return c->db->in_tx ? hg_db_commit(c->db) : APR_SUCCESS;
}

/* GET /consult/api/v1/patients/<patientId>/visits[?date=yyyy-MM-dd] — the doctor's workstation: the
 * patient's pre-consultations of the day (today by default), each with its state, and the sections
 * (五史一诉) and narrative of those submitted; …/visits/<visitNo>/summary has the rest */
static const hg_field_t PATIENT_QUERY[] = {
    { .name = "date", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    /* or the history over a period (病史的多次浏览): days inclusive, at most 366 */
    { .name = "from", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    { .name = "to", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    HG_FIELDS_END_CLOSED
};

static apr_status_t route_patient(hg_call_t *c)
{
    char *rest = apr_pstrdup(c->pool, c->path_rest), *last;
    const char *pid = apr_strtok(rest, "/", &last), *what = apr_strtok(NULL, "/", &last), *date, *from, *to;
    hg_db_result_t *r;
    json_t *q, *list;
    apr_status_t rv;
    int i;

    if (!pid || !what || strcmp(what, "visits") || apr_strtok(NULL, "/", &last))
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
    if (strlen(pid) > 50)
        return hg_call_fail(c, "HG_FIELD_TOO_LONG", "patientId", "at most 50 characters");
    if ((rv = hg_call_query(c, PATIENT_QUERY, &q)))
        return rv;
    date = hg_json_opt(q, "date");
    from = hg_json_opt(q, "from");
    to = hg_json_opt(q, "to");
    if (date && (from || to))
        return hg_call_fail(c, "HG_FIELD_UNKNOWN", from ? "from" : "to", "either date (one day) or from and to");
    if (from || to) {
        from = from ? from : to;
        to = to ? to : from;
        if ((rv = consult_check_period(c, from, to)))
            return rv;
    }
    else
        from = to = date ? date : consult_today(c->pool);
    if ((rv = hg_db_q(c->db, &r, "SELECT visit_no, department, doctor, to_char(visit_time, 'YYYY-MM-DD HH24:MI:SS'), "
                      "state, template_id || '|' || version, to_char(submitted_at, 'YYYY-MM-DD HH24:MI:SS'), "
                      "(summary -> 'sections')::text, summary ->> 'narrative' FROM consult.visits "
                      "WHERE institution = $1 AND patient_id = $2 AND visit_time >= $3::date "
                      "AND visit_time < $4::date + 1 ORDER BY visit_time, id LIMIT 500", 4, c->institution, pid, from, to)))
        return rv;
    list = json_array();
    for (i = 0; i < r->nrows; i++) {
        json_t *v = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:s?, s:s?}", "visitNo", hg_db_val(r, i, 0),
                              "department", hg_db_val(r, i, 1), "doctor", hg_db_val(r, i, 2),
                              "visitTime", hg_db_val(r, i, 3), "state", hg_db_val(r, i, 4),
                              "template", hg_db_val(r, i, 5), "submittedAt", hg_db_val(r, i, 6),
                              "narrative", hg_db_val(r, i, 8));
        if (hg_db_val(r, i, 7))
            json_object_set_new(v, "sections", json_loads(hg_db_val(r, i, 7), 0, NULL));
        json_array_append_new(list, v);
    }
    return hg_call_answer(c, 200, json_pack("{s:s, s:s?, s:s, s:s, s:o}", "patientId", pid, "date", !strcmp(from, to) ? from : NULL,
                                            "from", from, "to", to, "visits", list));
}

static const hg_route_t consult_routes[] = {
    { "POST", "/consult/api/v1/visits", HG_R_SIGNED | HG_R_JSON, NULL, route_visit },
    { "GET",  "/consult/api/v1/visits/", HG_R_SIGNED | HG_R_PREFIX, NULL, route_summary },
    { "GET",  "/consult/api/v1/patients/", HG_R_SIGNED | HG_R_PREFIX, NULL, route_patient },
    { "GET",  "/consult/pub/v1/sessions/", HG_R_DB | HG_R_PREFIX | HG_R_AUDIT, NULL, route_session },
    { "POST", "/consult/pub/v1/sessions/", HG_R_DB | HG_R_PREFIX | HG_R_AUDIT, NULL, route_session_post },
    { NULL }
};

/* ---------------------------------------------------------------- outbox topics */

/* payloads are sealed (personal data): open, then hand the adapter the plain item */
static apr_status_t open_item(apr_pool_t *p, const hg_outbox_item_t *item, hg_outbox_item_t *plain,
                              hg_outbox_outcome_t *out)
{
    json_t *o = hg_json_own(p, json_loads(item->payload, 0, NULL));
    const char *sealed = hg_json_gets(o, "sealed", NULL);
    const unsigned char *key = G->master_key;
    unsigned char *raw;
    apr_size_t len;
    *plain = *item;
    if (!sealed || !key || hg_secret_open(&raw, &len, p, key, sealed) != APR_SUCCESS) {
        out->permanent = 1;
        out->error = "outbox payload does not open with the master key";
        return HG_ECRYPTO;
    }
    plain->payload = apr_pstrmemdup(p, (const char *)raw, len);
    return APR_SUCCESS;
}

static apr_status_t deliver_notify(apr_pool_t *p, const hg_outbox_item_t *item, void *baton, hg_outbox_outcome_t *out)
{
    hg_outbox_item_t plain;
    apr_status_t rv = open_item(p, item, &plain, out);
    return rv ? rv : consult_notify_deliver(p, &plain, &G->notify, out);
}

static apr_status_t deliver_push(apr_pool_t *p, const hg_outbox_item_t *item, void *baton, hg_outbox_outcome_t *out)
{
    hg_outbox_item_t plain;
    apr_status_t rv = open_item(p, item, &plain, out);
    return rv ? rv : consult_push_deliver(p, &plain, &G->notify, out);
}

/* ---------------------------------------------------------------- hooks */

static int consult_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    return ap_mutex_register(pconf, visit_mutex_type, NULL, APR_LOCK_DEFAULT, 0);
}

static int consult_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(hg_register_routes) *reg_routes = APR_RETRIEVE_OPTIONAL_FN(hg_register_routes);
    APR_OPTIONAL_FN_TYPE(hg_register_topic) *reg_topic = APR_RETRIEVE_OPTIONAL_FN(hg_register_topic);
    APR_OPTIONAL_FN_TYPE(hg_conf_get) *conf_get = APR_RETRIEVE_OPTIONAL_FN(hg_conf_get);
    consult_conf_t *c = ap_get_module_config(s->module_config, &consult_module);

    if (!reg_routes || !reg_topic || !conf_get) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "HG11000: mod_consult needs mod_hisgate loaded first");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    G = c;
    reg_routes("consult", consult_routes, c);
    reg_routes("consult-stats", consult_stats_routes, c);
    reg_routes("consult-staff", consult_staff_routes, c);
    reg_topic("consult.notify", deliver_notify, c);
    reg_topic("consult.push", deliver_push, c);
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    c->public_url = conf_get("public_url");
    c->institution = conf_get("institution");
    c->notify.ca_file = conf_get("ca_file");
    c->master_key = (const unsigned char *)conf_get("master_key");
    c->notify.wechat_token = APR_RETRIEVE_OPTIONAL_FN(hg_wechat_token);
    {
        struct ap_socache_hints hints = { 32, 2000, apr_time_from_sec(VISIT_CACHE_SECONDS) };
        APR_OPTIONAL_FN_TYPE(hg_socache_open) *open = APR_RETRIEVE_OPTIONAL_FN(hg_socache_open);
        return open ? open(&visit_cache, "ConsultVisitCache", c->visit_cache, "consult-visits", &hints,
                           visit_mutex_type, 0, s, pconf, ptemp)
                    : HTTP_INTERNAL_SERVER_ERROR;
    }
}

static void consult_register_hooks(apr_pool_t *p)
{
    static const char *const pred[] = { "mod_hisgate.c", NULL };
    ap_hook_pre_config(consult_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(consult_post_config, pred, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(consult_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(consult) = {
    STANDARD20_MODULE_STUFF, NULL, NULL, create_conf, NULL, consult_cmds, consult_register_hooks, 0
};
