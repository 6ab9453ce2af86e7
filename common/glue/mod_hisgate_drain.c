/* The outbox drain and the audit sealer: one named child-singleton watchdog (anchors §4).
 *
 * The watchdog thread is the dispatcher; HisgateOutboxConcurrency delivery threads do the HTTP.
 *   - The dispatcher claims due rows only for idle delivery threads (FOR UPDATE SKIP LOCKED, a
 *     short statement), so a row's lease starts when its delivery starts: nothing waits in a
 *     queue while its lease runs out.  The claim never returns a row while an older row of its
 *     order_key is pending, in flight (002_outbox_order.sql) or dead (009: until retried or
 *     discarded), so two events of one order_key are never in flight together, and the successor
 *     becomes due once the outcome is recorded.
 *   - A delivery thread runs the topic's function with no database connection, on its own curl
 *     handle (keep-alive to the platform), and hands back the outcome and the journal of its
 *     exchanges.
 *   - The dispatcher records finished deliveries in one transaction (journal rows, done rows in
 *     one statement, retries and dead letters), holding a pooled connection only for that and
 *     the claim; if the database is unreachable the outcomes stay in memory and are recorded
 *     when it is back (their leases cover a crash meanwhile).
 *   - Stop (graceful restart or stop): no more claims; deliveries in flight finish and are
 *     recorded before the child lets go of its database pool (a pre-cleanup of the child pool).
 *     Those still in flight after HG_DRAIN_STOP_GRACE_S are cut short and recorded as failed
 *     attempts, retried later even when it was their last (the platform did not fail them);
 *     whatever is not recorded is covered by its lease.
 * All state is in PostgreSQL, so a drainer on another node or child is harmless. */
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "httpd.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "mod_watchdog.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"
#include "apr_thread_cond.h"
#include "mod_hisgate_private.h"

APLOG_USE_MODULE(hisgate);

/* Deliveries in flight at stop may finish for HG_DRAIN_STOP_GRACE_S; then their transfers are cut
 * short (hg_http_abort_reused; curl notices within about a second), and their outcomes recorded,
 * within HG_DRAIN_STOP_RECORD_S more.  httpd's parent warns about a child still there when it
 * checks at about 3.3 s and kills it after about 9: a platform that hangs must not make every stop
 * end in SIGKILL, nor in a warning (a 2 s grace left 0.2 s to spare; t/api/47_drain_stop.t). */
#define HG_DRAIN_STOP_GRACE_S 1
#define HG_DRAIN_STOP_RECORD_S 3
#define HG_DRAIN_SPARE_POOLS 64       /* jobs' pools kept for reuse (a batch of claims) */
#define HG_DRAIN_SPARE_KEEP (128 * 1024) /* bytes a kept pool's allocator holds on to */
#define HG_DRAIN_SEAL_EVERY_S 2       /* audit sealing while a backlog keeps the dispatcher busy */
#define HG_DRAIN_BURY_EVERY_S 5       /* dead-lettering of deliveries whose last lease ran out */
#define HG_DRAIN_PAUSES_EVERY_S 1     /* how soon a topic's pause (or its end) takes effect */

static APR_OPTIONAL_FN_TYPE(ap_dbd_open) *dbd_open;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) *dbd_close;
static int db_down_logged;

/* one claimed row on its way: everything lives in its own pool (own allocator: a delivery
 * thread allocates in it while other threads allocate in theirs) */
typedef struct job_t {
    struct job_t *next;
    apr_pool_t *pool;
    hg_outbox_item_t item;
    hg_exchange_log_t log;
    hg_outbox_outcome_t out;
    apr_status_t rv;
} job_t;

static struct {
    apr_thread_mutex_t *mu;
    apr_thread_cond_t *work;          /* delivery threads wait here for a job or stop */
    apr_thread_cond_t *done;          /* the dispatcher (and the child's exit) wait here */
    job_t *todo, *todo_tail;          /* claimed, not yet taken by a delivery thread */
    job_t *finished;                  /* delivered (or not), outcome not yet recorded */
    int busy;                         /* claimed and not yet recorded */
    int nthreads, started, stop, joined;
    apr_thread_t **threads;
    apr_pool_t *pool;                 /* unmanaged: outlives the child pool */
    int closing;                      /* the child is going away: claim nothing more */
    int in_tick, in_db, db_gone;      /* the dispatcher is running / using mod_dbd; dbd is gone */
    /* the next dead-lettering of stuck deliveries: across ticks (a quiet queue ends a tick at
     * once, and a tick's own clock made it run on every tick, reading a paused topic's whole
     * backlog once a second) */
    apr_time_t next_bury;
    server_rec *s;
    apr_pool_t *spare[HG_DRAIN_SPARE_POOLS];  /* jobs' pools, cleared, for the next jobs */
    int nspare;
} D;

/* A job's pool has its own allocator (see job_t), whose memory APR maps and unmaps: destroying
 * one per delivery unmapped its memory each time, and every unmap interrupts all threads of the
 * process (TLB shootdown).  Pools are cleared and kept for the next jobs instead. */
static apr_pool_t *job_pool_get(void)
{
    apr_pool_t *p = NULL;
    apr_thread_mutex_lock(D.mu);
    if (D.nspare)
        p = D.spare[--D.nspare];
    apr_thread_mutex_unlock(D.mu);
    if (!p && apr_pool_create_unmanaged_ex(&p, NULL, NULL) == APR_SUCCESS)
        apr_allocator_max_free_set(apr_pool_allocator_get(p), HG_DRAIN_SPARE_KEEP);
    return p;
}

static void job_pool_put(apr_pool_t *p)
{
    apr_pool_clear(p);
    apr_thread_mutex_lock(D.mu);
    if (D.nspare < HG_DRAIN_SPARE_POOLS) {
        D.spare[D.nspare++] = p;
        p = NULL;
    }
    apr_thread_mutex_unlock(D.mu);
    if (p)
        apr_pool_destroy(p);
}

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

/* ---------------------------------------------------------------- delivery threads */

static void deliver(job_t *j)
{
    hg_topic_entry_t *t = hg_topic_find(j->item.topic);
    j->log.pool = j->pool;
    j->log.recs = apr_array_make(j->pool, 2, sizeof(hg_audit_rec_t));
    j->item.http_observer = hg_exchange_observer;
    j->item.http_observer_baton = &j->log;
    j->rv = APR_ENOTIMPL;
    if (t)
        j->rv = t->fn(j->pool, &j->item, t->baton, &j->out);
    else
        j->out.error = "no delivery function for this topic";
}

static void *APR_THREAD_FUNC delivery_thread(apr_thread_t *thread, void *data)
{
    job_t *j;
#ifdef SYS_gettid
    /* background work: while the HIS's calls keep the CPUs busy, they go first (nice 10 for this
     * thread only, Linux); an idle machine delivers at full speed all the same */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
#endif
    hg_http_thread_reuse_begin();     /* one curl handle per thread: connections are kept */
    apr_thread_mutex_lock(D.mu);
    for (;;) {
        while (!D.todo && !D.stop)
            apr_thread_cond_wait(D.work, D.mu);
        if (!(j = D.todo))
            break;
        if (!(D.todo = j->next))
            D.todo_tail = NULL;
        apr_thread_mutex_unlock(D.mu);
        deliver(j);
        apr_thread_mutex_lock(D.mu);
        j->next = D.finished;
        D.finished = j;
        apr_thread_cond_broadcast(D.done);
    }
    apr_thread_mutex_unlock(D.mu);
    hg_http_thread_reuse_end();
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

static void start_threads(server_rec *s)
{
    apr_threadattr_t *attr;
    apr_allocator_t *a = NULL;
    apr_thread_mutex_t *am;
    int i;
    D.started = 1;
    D.nthreads = 0;
    /* the threads' pools are children of D.pool and go away from their own threads: locked allocator */
    if (apr_allocator_create(&a) != APR_SUCCESS
        || apr_pool_create_unmanaged_ex(&D.pool, NULL, a) != APR_SUCCESS
        || (apr_allocator_owner_set(a, D.pool), apr_thread_mutex_create(&am, APR_THREAD_MUTEX_DEFAULT, D.pool))
           != APR_SUCCESS
        || (apr_allocator_mutex_set(a, am), apr_threadattr_create(&attr, D.pool)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "HG00043: outbox drain: cannot start delivery threads");
        return;
    }
    D.threads = apr_pcalloc(D.pool, sizeof(apr_thread_t *) * hg_conf_global->outbox_concurrency);
    for (i = 0; i < hg_conf_global->outbox_concurrency; i++) {
        apr_status_t rv = apr_thread_create(&D.threads[i], attr, delivery_thread, NULL, D.pool);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "HG00043: outbox drain: started %d of %d delivery "
                         "threads", i, hg_conf_global->outbox_concurrency);
            break;
        }
        D.nthreads++;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "HG00044: outbox drain: %d delivery threads", D.nthreads);
}

/* let idle delivery threads go; a thread still delivering (stop grace exceeded) is left alone */
static void stop_threads(void)
{
    int i, join;
    if (!D.mu)
        return;
    apr_thread_mutex_lock(D.mu);
    D.stop = 1;
    apr_thread_cond_broadcast(D.work);
    join = !D.joined && D.busy == 0 && D.nthreads > 0;
    if (join)
        D.joined = 1;
    apr_thread_mutex_unlock(D.mu);
    for (i = 0; join && i < D.nthreads; i++) {
        apr_status_t trv;
        apr_thread_join(&trv, D.threads[i]);
    }
}

/* ---------------------------------------------------------------- the dispatcher */

static int stopping(void)
{
    int st = 0, closing;
    apr_thread_mutex_lock(D.mu);
    closing = D.closing;
    apr_thread_mutex_unlock(D.mu);
    return closing || (ap_mpm_query(AP_MPMQ_MPM_STATE, &st) == APR_SUCCESS && st == AP_MPMQ_STOPPING);
}

static int db_enter(void)
{
    int ok;
    apr_thread_mutex_lock(D.mu);
    if ((ok = !D.db_gone))
        D.in_db = 1;
    apr_thread_mutex_unlock(D.mu);
    return ok;
}

static void db_leave(void)
{
    apr_thread_mutex_lock(D.mu);
    D.in_db = 0;
    apr_thread_cond_broadcast(D.done);
    apr_thread_mutex_unlock(D.mu);
}

static void journal(job_t *j)
{
    int i;
    for (i = 0; i < j->log.recs->nelts; i++) {
        hg_audit_rec_t *rec = &APR_ARRAY_IDX(j->log.recs, i, hg_audit_rec_t);
        rec->institution = j->item.institution;
        rec->request_id = apr_psprintf(j->pool, "outbox-%" APR_INT64_T_FMT "-%d", j->item.id, j->item.attempts);
    }
}

static apr_status_t journal_insert(hg_db_t *db, job_t *j)
{
    apr_status_t rv = APR_SUCCESS;
    int i;
    if (!hg_conf_global->keys_loaded)
        return APR_SUCCESS;
    for (i = 0; rv == APR_SUCCESS && i < j->log.recs->nelts; i++)
        rv = hg_audit_insert(db, hg_conf_global->audit_key, &APR_ARRAY_IDX(j->log.recs, i, hg_audit_rec_t));
    return rv;
}

static void log_outcome(server_rec *s, job_t *j, int dead)
{
    if (j->rv == APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "HG00033: outbox %s (%s) delivered",
                     apr_off_t_toa(j->pool, j->item.id), j->item.topic);
    else
        ap_log_error(APLOG_MARK, dead ? APLOG_WARNING : APLOG_INFO, 0, s,
                     "HG00034: outbox %s (%s) attempt %d %s: %s", apr_off_t_toa(j->pool, j->item.id),
                     j->item.topic, j->item.attempts, dead ? "dead-lettered" : "failed, will retry",
                     j->out.error ? j->out.error : "delivery failed");
}

/* the modules' follow-ups (hg_register_topic_after) of the delivered jobs of fin (only: one job
 * when only is not NULL), one statement per topic, in the caller's transaction */
static apr_status_t run_followups(hg_db_t *db, apr_pool_t *tp, job_t *fin, job_t *only)
{
    int i;
    for (i = 0; i < hg_topics->nelts; i++) {
        hg_topic_entry_t *t = &APR_ARRAY_IDX(hg_topics, i, hg_topic_entry_t);
        const char **ids;
        int n = 0;
        job_t *j;
        apr_status_t rv;
        if (!t->after_sql)
            continue;
        for (j = fin; j; j = j->next)
            n += (!only || j == only) && j->rv == APR_SUCCESS && !strcmp(j->item.topic, t->topic);
        if (!n)
            continue;
        ids = apr_palloc(tp, n * sizeof(*ids));
        n = 0;
        for (j = fin; j; j = j->next)
            if ((!only || j == only) && j->rv == APR_SUCCESS && !strcmp(j->item.topic, t->topic))
                ids[n++] = apr_off_t_toa(tp, j->item.id);
        if ((rv = hg_db_q(db, NULL, t->after_sql, 1, hg_db_array(tp, ids, n))) != APR_SUCCESS)
            return rv;
    }
    return APR_SUCCESS;
}

/* a failed delivery: after the stop's cut, not the platform's doing, so never its last attempt */
static apr_status_t mark_failed(hg_db_t *db, job_t *j, int *dead)
{
    if (!j->out.permanent && hg_http_aborting())
        j->out.interrupted = 1;
    return hg_outbox_mark_failed(db, &j->item, &j->out, hg_conf_global->retry_base_s, dead);
}

/* the outcomes and journals of finished deliveries: one transaction for all of them; if that
 * fails, one by one (autocommit) so that one bad row does not hold back the others.  Returns 0
 * when the connection was lost: nothing is recorded, the caller keeps the outcomes for later. */
static int record(server_rec *s, hg_db_t *db, apr_pool_t *tp, job_t *fin)
{
    apr_array_header_t *ids = apr_array_make(tp, 16, sizeof(apr_int64_t));
    apr_array_header_t *results = apr_array_make(tp, 16, sizeof(const char *));
    apr_array_header_t *deads = apr_array_make(tp, 16, sizeof(int));
    job_t *j;
    apr_status_t rv = hg_db_begin(db);
    int n = 0, dead;

    for (j = fin; rv == APR_SUCCESS && j; j = j->next) {
        journal(j);
        dead = 0;
        if ((rv = journal_insert(db, j)) != APR_SUCCESS)
            break;
        if (j->rv == APR_SUCCESS) {
            APR_ARRAY_PUSH(ids, apr_int64_t) = j->item.id;
            APR_ARRAY_PUSH(results, const char *) = j->out.result;
        }
        else
            rv = mark_failed(db, j, &dead);
        APR_ARRAY_PUSH(deads, int) = dead;
    }
    if (rv == APR_SUCCESS && ids->nelts)
        rv = hg_outbox_mark_done_many(db, ids->nelts, (const apr_int64_t *)ids->elts,
                                      (const char *const *)results->elts);
    if (rv == APR_SUCCESS && ids->nelts)
        rv = run_followups(db, tp, fin, NULL);
    if (rv == APR_SUCCESS)
        rv = hg_db_commit(db);
    if (rv == APR_SUCCESS) {
        for (j = fin; j; j = j->next)
            log_outcome(s, j, APR_ARRAY_IDX(deads, n++, int));
        return 1;
    }
    hg_db_rollback(db);
    if (rv == HG_EDBDOWN || PQstatus(db->conn) != CONNECTION_OK)
        return 0;
    for (j = fin, n = 0; j; j = j->next)
        n++;
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "HG00046: outbox: recording %d outcomes together failed (%s); "
                 "one by one", n, db->errmsg ? db->errmsg : "");
    for (j = fin; j; j = j->next) {
        const hg_topic_entry_t *te = hg_topic_find(j->item.topic);
        dead = 0;
        if (journal_insert(db, j) != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "HG00047: outbox %s: exchange not journalled: %s",
                         apr_off_t_toa(j->pool, j->item.id), db->errmsg);
        if (j->rv == APR_SUCCESS && te && te->after_sql) {
            /* the outcome and its follow-up together, or neither (the row is then delivered again) */
            if ((rv = hg_db_begin(db)) == APR_SUCCESS
                && (rv = hg_outbox_mark_done_many(db, 1, &j->item.id, &j->out.result)) == APR_SUCCESS
                && (rv = run_followups(db, tp, fin, j)) == APR_SUCCESS)
                rv = hg_db_commit(db);
            if (rv != APR_SUCCESS)
                hg_db_rollback(db);
        }
        else if (j->rv == APR_SUCCESS)
            rv = hg_outbox_mark_done_many(db, 1, &j->item.id, &j->out.result);
        else
            rv = mark_failed(db, j, &dead);
        if (rv != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "HG00032: outbox %s: could not record the outcome: %s",
                         apr_off_t_toa(j->pool, j->item.id), db->errmsg);
        else
            log_outcome(s, j, dead);
    }
    return 1;
}

static void free_jobs(job_t *fin)
{
    int n = 0;
    while (fin) {
        job_t *next = fin->next;
        job_pool_put(fin->pool);
        fin = next;
        n++;
    }
    apr_thread_mutex_lock(D.mu);
    D.busy -= n;
    apr_thread_mutex_unlock(D.mu);
}

/* the payloads kept by reference (hg_register_topic_payload) of the claimed items: one statement
 * per such topic, $1 the ids of its items; an item the statement returns is delivered with that
 * payload, the others as stored */
static apr_status_t complete_payloads(hg_db_t *db, apr_array_header_t *items)
{
    int i, k, n;
    for (i = 0; i < hg_topics->nelts; i++) {
        hg_topic_entry_t *t = &APR_ARRAY_IDX(hg_topics, i, hg_topic_entry_t);
        const char **ids;
        hg_db_result_t *r;
        apr_status_t rv;
        if (!t->payload_sql || !items->nelts)
            continue;
        ids = apr_palloc(db->pool, items->nelts * sizeof(*ids));
        for (k = n = 0; k < items->nelts; k++) {
            hg_outbox_item_t *it = APR_ARRAY_IDX(items, k, hg_outbox_item_t *);
            if (!strcmp(it->topic, t->topic))
                ids[n++] = apr_off_t_toa(db->pool, it->id);
        }
        if (!n)
            continue;
        if ((rv = hg_db_q(db, &r, t->payload_sql, 1, hg_db_array(db->pool, ids, n))) != APR_SUCCESS)
            return rv;
        for (n = 0; n < r->nrows; n++) {
            apr_int64_t id = apr_atoi64(hg_db_val(r, n, 0));
            for (k = 0; k < items->nelts; k++) {
                hg_outbox_item_t *it = APR_ARRAY_IDX(items, k, hg_outbox_item_t *);
                if (it->id == id && hg_db_val(r, n, 1))
                    it->payload = hg_db_val(r, n, 1);
            }
        }
    }
    return APR_SUCCESS;
}

/* hand claimed rows to the delivery threads; returns how many */
static int hand_out(apr_array_header_t *items)
{
    job_t *first = NULL, *last = NULL;
    int i;
    for (i = 0; i < items->nelts; i++) {
        const hg_outbox_item_t *it = APR_ARRAY_IDX(items, i, hg_outbox_item_t *);
        apr_pool_t *p;
        job_t *j;
        if (!(p = job_pool_get()))
            continue;                 /* the lease brings the row back */
        j = apr_pcalloc(p, sizeof(*j));
        j->pool = p;
        j->item = *it;
        j->item.topic = apr_pstrdup(p, it->topic);
        j->item.institution = apr_pstrdup(p, it->institution);
        j->item.business_key = apr_pstrdup(p, it->business_key);
        j->item.payload = apr_pstrdup(p, it->payload);
        if (last)
            last->next = j;
        else
            first = j;
        last = j;
    }
    if (!first)
        return 0;
    for (i = 1, last = first; last->next; last = last->next)
        i++;
    apr_thread_mutex_lock(D.mu);
    if (D.todo_tail)
        D.todo_tail->next = first;
    else
        D.todo = first;
    D.todo_tail = last;
    D.busy += i;
    apr_thread_cond_broadcast(D.work);
    apr_thread_mutex_unlock(D.mu);
    return i;
}

/* flowing = topics less the paused ones (kept as they were when the pauses cannot be read) */
static void refresh_flowing(hg_db_t *db, const apr_array_header_t *topics, apr_array_header_t *flowing,
                            apr_time_t *next, apr_time_t now)
{
    hg_db_result_t *res;
    int i, k;
    *next = now + apr_time_from_sec(HG_DRAIN_PAUSES_EVERY_S);
    if (hg_outbox_paused_topics(db, &res) != APR_SUCCESS)
        return;
    apr_array_clear(flowing);
    for (i = 0; i < topics->nelts; i++) {
        const char *t = APR_ARRAY_IDX(topics, i, const char *);
        for (k = 0; k < res->nrows && strcmp(hg_db_val(res, k, 0), t); k++)
            ;
        if (k == res->nrows)
            APR_ARRAY_PUSH(flowing, const char *) = t;
    }
}

static apr_status_t drain_tick(int state, void *data, apr_pool_t *ptemp)
{
    server_rec *s = (server_rec *)data;
    apr_array_header_t *topics, *flowing;
    apr_time_t next_claim = 0, next_seal = 0, next_db = 0, next_pauses = 0, stop_deadline = 0, cut_at = 0;
    int i;

    if (state == AP_WATCHDOG_STATE_STOPPING) {
        stop_threads();
        return APR_SUCCESS;
    }
    if (state != AP_WATCHDOG_STATE_RUNNING || !D.mu)
        return APR_SUCCESS;
    apr_thread_mutex_lock(D.mu);
    if (D.closing) {
        apr_thread_mutex_unlock(D.mu);
        return APR_SUCCESS;
    }
    D.in_tick = 1;
    apr_thread_mutex_unlock(D.mu);
    if (!D.started)
        start_threads(s);
    topics = apr_array_make(ptemp, hg_topics->nelts, sizeof(const char *));
    for (i = 0; i < hg_topics->nelts; i++)
        APR_ARRAY_PUSH(topics, const char *) = APR_ARRAY_IDX(hg_topics, i, hg_topic_entry_t).topic;
    flowing = apr_array_copy(ptemp, topics);     /* the topics not paused (hg.outbox_pauses) */

    /* run while there is work: claim for idle threads, record what finished, wait */
    for (;;) {
        int stop = stopping(), busy, idle, want_claim, want_seal, claimed_short = 0;
        apr_time_t now = apr_time_now();
        job_t *fin;

        if (stop && !stop_deadline) {
            cut_at = now + apr_time_from_sec(HG_DRAIN_STOP_GRACE_S);
            stop_deadline = cut_at + apr_time_from_sec(HG_DRAIN_STOP_RECORD_S);
        }
        if (stop && cut_at && now >= cut_at) {
            hg_http_abort_reused();
            cut_at = 0;
        }
        apr_thread_mutex_lock(D.mu);
        fin = now >= next_db ? D.finished : NULL;
        if (fin)
            D.finished = NULL;
        busy = D.busy;
        apr_thread_mutex_unlock(D.mu);
        idle = D.nthreads - busy;
        /* a recorded outcome may have made the next event of its order_key due: claim again */
        want_claim = !stop && idle > 0 && topics->nelts && now >= next_db && (fin || now >= next_claim);
        want_seal = !stop && now >= next_seal && now >= next_db;

        if (fin || want_claim || want_seal) {
            apr_pool_t *tp;
            ap_dbd_t *dbd = NULL;
            hg_db_t *db;
            apr_pool_create(&tp, ptemp);
            if (db_enter()) {
                if ((dbd = open_db(s, tp, &db))) {
                    if (fin && record(s, db, tp, fin)) {
                        free_jobs(fin);
                        fin = NULL;
                    }
                    else if (fin) {
                        dbd_close(s, dbd);
                        dbd = NULL;   /* connection lost: keep the outcomes (below) */
                        want_seal = want_claim = 0;
                    }
                    if (dbd && want_seal) {
                        int sealed = 0;
                        if (hg_audit_seal(db, 2000, &sealed) != APR_SUCCESS)
                            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "HG00036: audit seal failed: %s",
                                         db->errmsg);
                        next_seal = now + apr_time_from_sec(HG_DRAIN_SEAL_EVERY_S);
                    }
                    if (dbd && want_claim) {
                        apr_array_header_t *items;
                        int n = idle < hg_conf_global->outbox_batch ? idle : hg_conf_global->outbox_batch;
                        if (now >= next_pauses)
                            refresh_flowing(db, topics, flowing, &next_pauses, now);
                        if (now >= D.next_bury) {
                            int buried = 0;
                            if (hg_outbox_bury_stuck(db, flowing, &buried) != APR_SUCCESS)
                                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "HG00056: outbox: dead-lettering "
                                             "deliveries whose lease ran out failed: %s", db->errmsg);
                            else if (buried)
                                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "HG00057: outbox: %d deliveries "
                                             "never finished on their last attempt (lease ran out): dead letters",
                                             buried);
                            D.next_bury = now + apr_time_from_sec(HG_DRAIN_BURY_EVERY_S);
                        }
                        /* items whose payload cannot be completed stay leased: the lease brings
                         * them back */
                        if (hg_outbox_claim(db, &items, flowing, n, hg_conf_global->lease_s) != APR_SUCCESS
                            || complete_payloads(db, items) != APR_SUCCESS) {
                            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "HG00035: outbox claim failed: %s",
                                         db->errmsg);
                            items = NULL;
                        }
                        if (!items || items->nelts < n) {
                            claimed_short = 1;
                            next_claim = now + apr_time_from_msec(hg_conf_global->outbox_interval_ms);
                        }
                        if (items)
                            hand_out(items);
                    }
                    if (dbd)
                        dbd_close(s, dbd);
                }
                db_leave();
            }
            if (!dbd) {
                /* database away: keep the outcomes, try again in a second */
                next_db = now + apr_time_from_sec(1);
                claimed_short = 1;
                if (fin) {
                    job_t *last = fin;
                    while (last->next)
                        last = last->next;
                    apr_thread_mutex_lock(D.mu);
                    last->next = D.finished;
                    D.finished = fin;
                    apr_thread_mutex_unlock(D.mu);
                }
            }
            apr_pool_destroy(tp);
        }
        else if (!stop && now < next_claim)
            claimed_short = 1;

        apr_thread_mutex_lock(D.mu);
        if (D.busy == 0 && (stop || claimed_short || D.nthreads == 0)) {
            apr_thread_mutex_unlock(D.mu);
            break;                    /* nothing in flight, nothing due: next tick */
        }
        if (stop && apr_time_now() >= stop_deadline) {
            apr_thread_mutex_unlock(D.mu);
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "HG00045: outbox drain stopping with %d deliveries "
                         "unfinished; their leases bring them back", D.busy);
            break;
        }
        if (!D.finished || apr_time_now() < next_db)
            apr_thread_cond_timedwait(D.done, D.mu, apr_time_from_msec(100));
        apr_thread_mutex_unlock(D.mu);
    }

    apr_thread_mutex_lock(D.mu);
    D.in_tick = 0;
    apr_thread_cond_broadcast(D.done);
    apr_thread_mutex_unlock(D.mu);
    return APR_SUCCESS;                /* never an error: the watchdog would stop calling us */
}

/* pre-cleanup of the child pool: runs before mod_dbd's pool goes away.  Stop claiming, let the
 * dispatcher record what is in flight (bounded), then keep it away from mod_dbd for good. */
static apr_status_t drain_child_exit(void *data)
{
    apr_time_t deadline = apr_time_now() + apr_time_from_sec(HG_DRAIN_STOP_GRACE_S + HG_DRAIN_STOP_RECORD_S + 1);
    apr_thread_mutex_lock(D.mu);
    D.closing = 1;
    apr_thread_cond_broadcast(D.done);
    while (D.in_tick && apr_time_now() < deadline)
        apr_thread_cond_timedwait(D.done, D.mu, apr_time_from_msec(100));
    D.db_gone = 1;
    while (D.in_db && apr_time_now() < deadline + apr_time_from_sec(10))
        apr_thread_cond_timedwait(D.done, D.mu, apr_time_from_msec(100));
    apr_thread_mutex_unlock(D.mu);
    stop_threads();
    return APR_SUCCESS;
}

void hg_drain_child_init(apr_pool_t *pchild, server_rec *s)
{
    if (D.mu)
        apr_pool_pre_cleanup_register(pchild, NULL, drain_child_exit);
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
    /* a delivery must end before its lease does, or another drainer may send it again */
    if ((apr_int64_t)hg_conf_global->lease_s * 1000 < 2 * (apr_int64_t)hg_conf_global->fiscal_timeout_ms + 5000)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "HG00048: HisgateOutboxLease %d s is shorter than a fiscal "
                     "delivery may take (2 x HisgateFiscalTimeout + 5 s): it could be claimed again while in flight",
                     hg_conf_global->lease_s);
    /* created before the fork (this generation's pconf), used by the child that runs the drain */
    memset(&D, 0, sizeof(D));
    D.s = s;
    if ((rv = apr_thread_mutex_create(&D.mu, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&D.work, p)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&D.done, p)) != APR_SUCCESS)
        return rv;
    if ((rv = get_instance(&wd, "hisgate-outbox", 0, 1, p)) != APR_SUCCESS)
        return rv;
    return register_cb(wd, apr_time_from_msec(hg_conf_global->outbox_interval_ms), s, drain_tick);
}
