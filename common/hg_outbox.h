/* hg_outbox: the durable outbox in PostgreSQL (hg.outbox).
 * Producers enqueue inside their own transaction; the watchdog singleton claims due rows with
 * FOR UPDATE SKIP LOCKED (so several nodes cooperate), delivers them through the topic's
 * registered function outside any transaction (several at once, one thread each: a delivery
 * function must be thread-safe), then records done / retry / dead. */
#ifndef HG_OUTBOX_H
#define HG_OUTBOX_H
#include <apr_pools.h>
#include <apr_tables.h>
#include "hg_db.h"
#include "hg_http.h"

typedef struct hg_outbox_item_t {
    apr_int64_t id;
    const char *topic, *institution, *business_key;
    const char *payload;          /* JSON text */
    int attempts, max_attempts;   /* attempts counts this one */
    /* the drainer's journal hook: a delivery function copies these into every hg_http_req_t */
    hg_http_observer_fn *http_observer;
    void *http_observer_baton;
} hg_outbox_item_t;

typedef struct hg_outbox_outcome_t {
    int         permanent;        /* the platform said the request itself is wrong: dead-letter now */
    int         interrupted;      /* cut short by this process's own stop: retried even after its
                                     last attempt (the platform did not fail it) */
    const char *error;            /* short text for the console when not delivered */
    const char *result;           /* JSON text kept on success (e.g. the platform's answer) */
} hg_outbox_outcome_t;

/* APR_SUCCESS = delivered; anything else = failed (out->permanent decides retry or dead) */
typedef apr_status_t hg_outbox_deliver_fn(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                          hg_outbox_outcome_t *out);

/* idempotent on (topic, business_key): a second enqueue of the same key is a no-op (*created = 0) */
apr_status_t hg_outbox_enqueue(hg_db_t *db, const char *topic, const char *institution,
                               const char *business_key, const char *payload_json,
                               int max_attempts, int *created);

/* the same, for events that must be delivered after the older ones sharing order_key (NULL: none) */
apr_status_t hg_outbox_enqueue_ordered(hg_db_t *db, const char *topic, const char *institution,
                                       const char *business_key, const char *order_key,
                                       const char *payload_json, int max_attempts, int *created);

/* claim up to n due rows of the given topics (lease: how long an inflight row stays ours) */
apr_status_t hg_outbox_claim(hg_db_t *db, apr_array_header_t **items /* of hg_outbox_item_t* */,
                             const apr_array_header_t *topics, int n, int lease_seconds);

/* rows of the given topics whose lease ran out on their last attempt become dead letters (the claim
 * leaves them); reads the whole queue, so for every few seconds, not every claim */
apr_status_t hg_outbox_bury_stuck(hg_db_t *db, const apr_array_header_t *topics, int *buried);

apr_status_t hg_outbox_mark_done(hg_db_t *db, apr_int64_t id, const char *result_json);
/* the same for n rows in one statement (results[i] may be NULL) */
apr_status_t hg_outbox_mark_done_many(hg_db_t *db, int n, const apr_int64_t *ids,
                                      const char *const *results);
/* schedules the next attempt with back-off, or dead-letters (permanent or attempts exhausted);
 * only while the row is in flight with item->attempts (a stale drainer changes nothing) */
apr_status_t hg_outbox_mark_failed(hg_db_t *db, const hg_outbox_item_t *item,
                                   const hg_outbox_outcome_t *out, int base_delay_s, int *dead);
/* manual retry from the console or the CLI: a dead (or pending) row becomes due now */
apr_status_t hg_outbox_retry(hg_db_t *db, apr_int64_t id, int *found);
/* a dead row given up by ops (dealt with by hand): 'discarded', which releases the later rows of
 * its order_key that it held back; who goes into last_error (the journal has the call) */
apr_status_t hg_outbox_discard(hg_db_t *db, apr_int64_t id, const char *who, int *found);

/* Holding a topic back (a platform's announced maintenance): the drain claims none of its rows,
 * which stay pending with their attempts, until hg_outbox_resume or `until` has passed.
 * topic: hg_outbox_topic_valid; reason: 1-200 characters; by: who (a staff user, "cli:<user>");
 * until: NULL (until resumed) or a time hg_outbox_time_valid accepts, read in the database's time
 * zone unless it carries an offset.  A topic paused again takes the new reason and end.
 * HG_EINVALID when until is not in the future (nothing written). */
apr_status_t hg_outbox_pause(hg_db_t *db, const char *topic, const char *reason, const char *by,
                             const char *until);
/* the topics paused now, one column: the drain leaves them out of what it claims */
apr_status_t hg_outbox_paused_topics(hg_db_t *db, hg_db_result_t **res);
/* lifts a pause (*found = 0: the topic was not paused, or its pause had run out) */
apr_status_t hg_outbox_resume(hg_db_t *db, const char *topic, int *found);
/* an outbox topic name: dot-separated lower-case words of [a-z0-9_], at most 64 characters */
int hg_outbox_topic_valid(const char *topic);
/* YYYY-MM-DD HH:MM[:SS] (or T between), optionally Z or ±HH[:MM]; a real calendar date */
int hg_outbox_time_valid(const char *t);

/* back-off: base·2^(attempt-1), capped at one hour, ±50 % jitter (mod_md's rule); jitter01 in [0,1) */
int hg_outbox_delay_seconds(int attempt, int base_s, double jitter01);

/* per-topic depth, dead letters, last error: columns topic, pending, inflight, dead, done,
 * last_error, last_error_at, oldest_pending_s, and for a topic paused now paused_reason,
 * paused_by, paused_at, paused_until (NULL when it is not paused; until NULL: until resumed) */
apr_status_t hg_outbox_stats(hg_db_t *db, hg_db_result_t **res);

/* The newest rows (at most limit), optionally of one state, topic and institution (NULL or ""
 * = any), newest first: id, topic, business_key, state, attempts, max_attempts, last_error,
 * next_at, updated_at (ISO 8601).  Dead and queued rows are read through their partial indexes. */
apr_status_t hg_outbox_list(hg_db_t *db, hg_db_result_t **res, const char *state, const char *topic,
                            const char *institution, int limit);

/* what a purge did: rows deleted, record rows whose payload was emptied, old rows left as they
 * were (still queued, dead, or delivered within the retention), rows read */
typedef struct hg_outbox_purge_t {
    apr_int64_t deleted, emptied, kept, read;
} hg_outbox_purge_t;

/* Retention: rows delivered more than keep_days ago (>= 1) are deleted, or, for the topics of
 * hg.outbox_records, kept with an empty payload.  Reads in id order from where the last purge
 * stopped, in short statements of at most `batch` rows (no long lock on the outbox), until it
 * reaches rows younger than the retention.  Queued and dead rows are never touched; the next
 * purge looks at them again.  HG_ECONFLICT if another purge is running. */
apr_status_t hg_outbox_purge(hg_db_t *db, int keep_days, int batch, hg_outbox_purge_t *done);
#endif
