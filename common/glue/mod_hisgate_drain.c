/* The outbox drain and the audit sealer: one named child-singleton watchdog (anchors §4).
 * Each tick: claim due rows (short transaction), deliver each with no DB connection held,
 * record the outcome and the journal of outbound exchanges, then seal new audit rows.
 * All state is in PostgreSQL, so a drainer on another node or child is harmless. */
#include <string.h>
#include "httpd.h"
#include "http_log.h"
#include "mod_watchdog.h"
#include "apr_strings.h"
#include "mod_hisgate_private.h"

APLOG_USE_MODULE(hisgate);

static APR_OPTIONAL_FN_TYPE(ap_dbd_open) *dbd_open;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) *dbd_close;
static int db_down_logged;

void hg_exchange_observer(void *baton, apr_pool_t *p, const hg_http_req_t *req,
                          const hg_http_resp_t *resp, apr_status_t rv)
{
    hg_exchange_log_t *log = baton;
    hg_audit_rec_t *rec = apr_array_push(log->recs);
    memset(rec, 0, sizeof(*rec));
    rec->caller = "hisgate";
    rec->direction = "out";
    rec->endpoint = apr_pstrdup(log->pool, req->endpoint_name ? req->endpoint_name : req->url);
    rec->status = resp && resp->status ? resp->status : (rv == HG_ETIMEOUT ? 504 : 502);
    rec->elapsed_ms = resp ? (int)resp->elapsed_ms : 0;
    rec->req_body = apr_pstrmemdup(log->pool, req->body ? req->body : "", req->body ? req->body_len : 0);
    rec->req_len = req->body ? req->body_len : 0;
    if (resp && resp->body) {
        rec->resp_body = apr_pstrmemdup(log->pool, resp->body, resp->body_len);
        rec->resp_len = resp->body_len;
    }
}

static ap_dbd_t *open_db(server_rec *s, apr_pool_t *p, hg_db_t **db)
{
    ap_dbd_t *dbd = dbd_open(p, s);
    if (!dbd || hg_db_revive(apr_dbd_native_handle(dbd->driver, dbd->handle)) != APR_SUCCESS
        || hg_db_wrap(db, p, apr_dbd_native_handle(dbd->driver, dbd->handle)) != APR_SUCCESS) {
        if (dbd)
            dbd_close(s, dbd);
        if (!db_down_logged++)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "HG00030: outbox drain: database unavailable; "
                         "will keep trying");
        return NULL;
    }
    if (db_down_logged) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "HG00031: outbox drain: database back");
        db_down_logged = 0;
    }
    return dbd;
}

static void deliver_one(server_rec *s, apr_pool_t *ptemp, hg_outbox_item_t *it)
{
    hg_outbox_outcome_t out;
    hg_exchange_log_t log;
    hg_topic_entry_t *t = NULL;
    ap_dbd_t *dbd;
    hg_db_t *db;
    apr_status_t rv = APR_ENOTIMPL;
    int i, dead = 0;

    memset(&out, 0, sizeof(out));
    log.pool = ptemp;
    log.recs = apr_array_make(ptemp, 2, sizeof(hg_audit_rec_t));
    it->http_observer = hg_exchange_observer;
    it->http_observer_baton = &log;
    for (i = 0; i < hg_topics->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(hg_topics, i, hg_topic_entry_t).topic, it->topic))
            t = &APR_ARRAY_IDX(hg_topics, i, hg_topic_entry_t);
    if (t)
        rv = t->fn(ptemp, it, t->baton, &out);
    else
        out.error = "no delivery function for this topic";

    if (!(dbd = open_db(s, ptemp, &db)))
        return;                       /* the lease expires and the row is claimed again */
    for (i = 0; i < log.recs->nelts; i++) {
        hg_audit_rec_t *rec = &APR_ARRAY_IDX(log.recs, i, hg_audit_rec_t);
        rec->institution = it->institution;
        rec->request_id = apr_psprintf(ptemp, "outbox-%" APR_INT64_T_FMT "-%d", it->id, it->attempts);
        if (hg_conf_global->keys_loaded)
            hg_audit_insert(db, hg_conf_global->audit_key, rec);
    }
    if (rv == APR_SUCCESS) {
        if (hg_outbox_mark_done(db, it->id, out.result) != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "HG00032: outbox %s: could not record delivery: %s",
                         apr_off_t_toa(ptemp, it->id), db->errmsg);
        else
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "HG00033: outbox %s (%s) delivered",
                         apr_off_t_toa(ptemp, it->id), it->topic);
    }
    else {
        hg_outbox_mark_failed(db, it, &out, hg_conf_global->retry_base_s, &dead);
        ap_log_error(APLOG_MARK, dead ? APLOG_WARNING : APLOG_INFO, 0, s,
                     "HG00034: outbox %s (%s) attempt %d %s: %s", apr_off_t_toa(ptemp, it->id), it->topic,
                     it->attempts, dead ? "dead-lettered" : "failed, will retry",
                     out.error ? out.error : "delivery failed");
    }
    dbd_close(s, dbd);
}

static apr_status_t drain_tick(int state, void *data, apr_pool_t *ptemp)
{
    server_rec *s = (server_rec *)data;
    apr_array_header_t *topics, *items;
    ap_dbd_t *dbd;
    hg_db_t *db;
    apr_pool_t *ip;
    apr_time_t until;
    int i, sealed = 0;

    if (state != AP_WATCHDOG_STATE_RUNNING)
        return APR_SUCCESS;
    topics = apr_array_make(ptemp, hg_topics->nelts, sizeof(const char *));
    for (i = 0; i < hg_topics->nelts; i++)
        APR_ARRAY_PUSH(topics, const char *) = APR_ARRAY_IDX(hg_topics, i, hg_topic_entry_t).topic;
    /* keep going while batches come back full (a backlog after an outage), for at most 2 s so
     * the watchdog thread stays responsive to shutdown */
    until = apr_time_now() + apr_time_from_sec(2);
    do {
        if (!(dbd = open_db(s, ptemp, &db)))
            return APR_SUCCESS;           /* never return an error: the watchdog would stop calling us */
        if (hg_outbox_claim(db, &items, topics, hg_conf_global->outbox_batch,
                            hg_conf_global->lease_s) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "HG00035: outbox claim failed: %s", db->errmsg);
            items = NULL;
        }
        if (!sealed && hg_audit_seal(db, 2000, &sealed) != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "HG00036: audit seal failed: %s", db->errmsg);
        sealed = 1;
        dbd_close(s, dbd);
        for (i = 0; items && i < items->nelts; i++) {
            apr_pool_create(&ip, ptemp);
            deliver_one(s, ip, APR_ARRAY_IDX(items, i, hg_outbox_item_t *));
            apr_pool_destroy(ip);
        }
    } while (items && items->nelts == hg_conf_global->outbox_batch && apr_time_now() < until);
    return APR_SUCCESS;
}

apr_status_t hg_drain_start(server_rec *s, apr_pool_t *p)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_instance;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_cb;
    ap_watchdog_t *wd;
    apr_status_t rv;

    dbd_open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    dbd_close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    register_cb = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!get_instance || !register_cb || !dbd_open) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "HG00037: mod_watchdog and mod_dbd are required");
        return APR_EGENERAL;
    }
    if ((rv = get_instance(&wd, "hisgate-outbox", 0, 1, p)) != APR_SUCCESS)
        return rv;
    return register_cb(wd, apr_time_from_msec(hg_conf_global->outbox_interval_ms), s, drain_tick);
}
