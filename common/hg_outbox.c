#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <apr_strings.h>
#include "hg_outbox.h"
#include "hg_crypto.h"

apr_status_t hg_outbox_enqueue(hg_db_t *db, const char *topic, const char *institution,
                               const char *business_key, const char *payload_json,
                               int max_attempts, int *created)
{
    return hg_outbox_enqueue_ordered(db, topic, institution, business_key, NULL, payload_json,
                                     max_attempts, created);
}

apr_status_t hg_outbox_enqueue_ordered(hg_db_t *db, const char *topic, const char *institution,
                                       const char *business_key, const char *order_key,
                                       const char *payload_json, int max_attempts, int *created)
{
    hg_db_result_t *res;
    apr_status_t rv;
    const char *max = apr_itoa(db->pool, max_attempts > 0 ? max_attempts : 10);
    rv = hg_db_q(db, &res,
                 "INSERT INTO hg.outbox (topic, institution, business_key, payload, max_attempts, order_key) "
                 "VALUES ($1, $2, $3, $4::jsonb, $5::int, $6) "
                 "ON CONFLICT (topic, business_key) DO NOTHING RETURNING id",
                 6, topic, institution ? institution : "", business_key, payload_json, max, order_key);
    if (rv == APR_SUCCESS && created)
        *created = res->nrows;
    return rv;
}

static const char *pg_text_array(apr_pool_t *p, const apr_array_header_t *a)
{
    return hg_db_array(p, (const char *const *)a->elts, a->nelts);
}

apr_status_t hg_outbox_claim(hg_db_t *db, apr_array_header_t **items,
                             const apr_array_header_t *topics, int n, int lease_seconds)
{
    hg_db_result_t *res;
    apr_status_t rv;
    int i;
    *items = apr_array_make(db->pool, n, sizeof(hg_outbox_item_t *));
    if (topics->nelts == 0)
        return APR_SUCCESS;
    /* one statement: claim and lease; an expired lease means the claimer died mid-delivery.
     * `live` (not state) picks the partial indexes: a claim changes no indexed value (HOT).
     * Paused topics are left out of `topics` by the caller (hg_outbox_paused_topics): a filter on
     * them here made the planner expect the limit to need the whole index, and JIT-compile every
     * claim (13 ms).
     * Topic by topic (outbox_due is by topic, next_at: common migration 011), the earliest due of
     * all of them: in one index by next_at, the claim read the whole queue of topics not delivered
     * here (paused, or no drain's) before it found a due row, 150-250 ms a claim.  A topic's rows
     * locked past the overall limit are let go at the statement's end.
     * Rows whose lease ran out on their last attempt are not claimed: hg_outbox_bury_stuck makes
     * them dead letters, apart from this statement (it reads the whole queue).  A row waits while
     * an older row of its order_key is queued, in flight or dead (retried from the console, the
     * dead one goes first) */
    rv = hg_db_q(db, &res,
                 "UPDATE hg.outbox o SET state = 'inflight', attempts = o.attempts + 1, "
                 "  lease_until = now() + make_interval(secs => $3::int), updated_at = now() "
                 "WHERE o.id IN (SELECT c.id FROM unnest($1::text[]) AS t(topic) CROSS JOIN LATERAL ("
                 "  SELECT id, next_at FROM hg.outbox "
                 "  WHERE live AND topic = t.topic AND ((state = 'pending' AND next_at <= now()) "
                 "     OR (state = 'inflight' AND lease_until < now() AND attempts < max_attempts)) "
                 "    AND (order_key IS NULL OR (NOT EXISTS (SELECT 1 FROM hg.outbox e "
                 "      WHERE e.order_key = hg.outbox.order_key AND e.id < hg.outbox.id AND e.live_ordered) "
                 "     AND NOT EXISTS (SELECT 1 FROM hg.outbox f "
                 "      WHERE f.order_key = hg.outbox.order_key AND f.id < hg.outbox.id AND f.dead))) "
                 "  ORDER BY next_at LIMIT $2::int FOR UPDATE SKIP LOCKED) c "
                 "  ORDER BY c.next_at LIMIT $2::int) "
                 "RETURNING o.id, o.topic, o.institution, o.business_key, o.payload::text, "
                 "  o.attempts, o.max_attempts",
                 3, pg_text_array(db->pool, topics), apr_itoa(db->pool, n),
                 apr_itoa(db->pool, lease_seconds));
    if (rv != APR_SUCCESS)
        return rv;
    for (i = 0; i < res->nrows; i++) {
        hg_outbox_item_t *it = apr_pcalloc(db->pool, sizeof(*it));
        it->id = apr_atoi64(hg_db_val(res, i, 0));
        it->topic = hg_db_val(res, i, 1);
        it->institution = hg_db_val(res, i, 2);
        it->business_key = hg_db_val(res, i, 3);
        it->payload = hg_db_val(res, i, 4);
        it->attempts = atoi(hg_db_val(res, i, 5));
        it->max_attempts = atoi(hg_db_val(res, i, 6));
        APR_ARRAY_PUSH(*items, hg_outbox_item_t *) = it;
    }
    return APR_SUCCESS;
}

apr_status_t hg_outbox_bury_stuck(hg_db_t *db, const apr_array_header_t *topics, int *buried)
{
    hg_db_result_t *res;
    apr_status_t rv;
    *buried = 0;
    if (topics->nelts == 0)
        return APR_SUCCESS;
    /* A lease that ran out on the last attempt is a delivery that never finishes (it crashed its
     * child, or outlived its lease, every time): dead, saying why, not claimed for ever.  No index
     * finds these rows without a claim's update becoming non-HOT, so this reads every queued row:
     * the drain runs it every few seconds, not with each claim (at 30,000 queued rows it took
     * 11 ms, and under load the drain claims hundreds of times a second) */
    rv = hg_db_q(db, &res,
                 "WITH d AS (UPDATE hg.outbox SET state = 'dead', lease_until = NULL, updated_at = now(), "
                 "    last_error = left('the delivery never finished: its lease ran out on attempt ' || attempts "
                 "      || ' of ' || max_attempts || coalesce(' (' || last_error || ')', ''), 1000) "
                 "  WHERE live AND topic = ANY($1::text[]) AND state = 'inflight' AND lease_until < now() "
                 "    AND attempts >= max_attempts RETURNING id) "
                 "SELECT count(*) FROM d",
                 1, pg_text_array(db->pool, topics));
    if (rv == APR_SUCCESS)
        *buried = atoi(hg_db_val(res, 0, 0));
    return rv;
}

apr_status_t hg_outbox_mark_done(hg_db_t *db, apr_int64_t id, const char *result_json)
{
    return hg_outbox_mark_done_many(db, 1, &id, &result_json);
}

apr_status_t hg_outbox_mark_done_many(hg_db_t *db, int n, const apr_int64_t *ids,
                                      const char *const *results)
{
    char *list;
    int i;
    if (n <= 0)
        return APR_SUCCESS;
    list = apr_palloc(db->pool, (apr_size_t)n * 21 + 3);
    strcpy(list, "{");
    for (i = 0; i < n; i++)
        strcat(strcat(list, i ? "," : ""), apr_off_t_toa(db->pool, ids[i]));
    strcat(list, "}");
    /* one statement for the lot, counted per topic with it; a delivered row is done even if its
     * lease ran out meanwhile, but a row already done (delivered twice) keeps its first result
     * and is counted once */
    return hg_db_q(db, NULL,
                   "WITH d AS (UPDATE hg.outbox o SET state = 'done', lease_until = NULL, last_error = NULL, "
                   "    result = v.result::jsonb, updated_at = now() "
                   "  FROM unnest($1::bigint[], $2::text[]) AS v(id, result) "
                   "  WHERE o.id = v.id AND o.state <> 'done' RETURNING o.topic) "
                   "INSERT INTO hg.outbox_delivered (topic, n) SELECT topic, count(*) FROM d GROUP BY topic "
                   "ON CONFLICT (topic) DO UPDATE SET n = hg.outbox_delivered.n + EXCLUDED.n",
                   2, list, hg_db_array(db->pool, results, n));
}

int hg_outbox_delay_seconds(int attempt, int base_s, double jitter01)
{
    double d = base_s > 0 ? base_s : 1;
    int i;
    for (i = 1; i < attempt && d < 3600; i++)
        d *= 2;
    if (d > 3600)
        d = 3600;
    d = d * (0.5 + jitter01);          /* ±50 % so retries from many rows do not bunch up */
    return d < 1 ? 1 : (int)lround(d);
}

apr_status_t hg_outbox_mark_failed(hg_db_t *db, const hg_outbox_item_t *item,
                                   const hg_outbox_outcome_t *out, int base_delay_s, int *dead)
{
    unsigned char r[4];
    double j = 0.5;
    int is_dead = out->permanent || (item->attempts >= item->max_attempts && !out->interrupted);
    const char *err = out->error ? out->error : "delivery failed";
    if (hg_random_bytes(r, sizeof(r)) == APR_SUCCESS)
        j = ((r[0] << 16) | (r[1] << 8) | r[2]) / 16777216.0;
    if (dead)
        *dead = is_dead;
    if (strlen(err) > 1000)
        err = apr_pstrndup(db->pool, err, 1000);
    /* only while the row is still this attempt's: a drainer whose lease ran out must not turn a
     * row that another one delivered (or is delivering) back into pending */
    if (is_dead)
        return hg_db_q(db, NULL,
                       "UPDATE hg.outbox SET state = 'dead', lease_until = NULL, last_error = $2, "
                       "  updated_at = now() WHERE id = $1::bigint AND state = 'inflight' AND attempts = $3::int",
                       3, apr_off_t_toa(db->pool, item->id), err, apr_itoa(db->pool, item->attempts));
    return hg_db_q(db, NULL,
                   "UPDATE hg.outbox SET state = 'pending', lease_until = NULL, last_error = $2, "
                   "  next_at = now() + make_interval(secs => $3::int), updated_at = now() "
                   "WHERE id = $1::bigint AND state = 'inflight' AND attempts = $4::int",
                   4, apr_off_t_toa(db->pool, item->id), err,
                   apr_itoa(db->pool, hg_outbox_delay_seconds(item->attempts, base_delay_s, j)),
                   apr_itoa(db->pool, item->attempts));
}

apr_status_t hg_outbox_retry(hg_db_t *db, apr_int64_t id, int *found)
{
    hg_db_result_t *res;
    /* the purge's start has moved past a dead row (it does not wait for operators): put it back
     * before this one, or the row would never be purged once delivered */
    apr_status_t rv = hg_db_q(db, &res,
                              "WITH r AS (UPDATE hg.outbox SET state = 'pending', attempts = 0, next_at = now(), "
                              "  updated_at = now() WHERE id = $1::bigint AND state IN ('dead','pending') "
                              "  RETURNING id), "
                              " p AS (UPDATE hg.outbox_purge SET resume_from = r.id - 1 FROM r "
                              "  WHERE hg.outbox_purge.id = 1 AND resume_from >= r.id RETURNING 1) "
                              "SELECT id FROM r",
                              1, apr_off_t_toa(db->pool, id));
    if (rv == APR_SUCCESS && found)
        *found = res->nrows;
    return rv;
}

apr_status_t hg_outbox_discard(hg_db_t *db, apr_int64_t id, const char *who, int *found)
{
    hg_db_result_t *res;
    /* only a dead row: what is queued or in flight is the drain's */
    apr_status_t rv = hg_db_q(db, &res,
                              "UPDATE hg.outbox SET state = 'discarded', lease_until = NULL, updated_at = now(), "
                              "  last_error = left('discarded by ' || $2 || coalesce(': ' || last_error, ''), 1000) "
                              "WHERE id = $1::bigint AND state = 'dead' RETURNING id",
                              2, apr_off_t_toa(db->pool, id), who ? who : "?");
    if (rv == APR_SUCCESS && found)
        *found = res->nrows;
    return rv;
}

int hg_outbox_topic_valid(const char *topic)
{
    const char *c;
    int word = 0;
    if (!topic || !*topic || strlen(topic) > 64)
        return 0;
    for (c = topic; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')
            word++;
        else if (*c == '.' && word)
            word = 0;
        else
            return 0;
    }
    return word > 0;
}

static int digits(const char *s, int n, int *v)
{
    int i;
    for (*v = 0, i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

int hg_outbox_time_valid(const char *t)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y, mo, d, h, mi, sec = 0, oh, om;
    const char *z;
    if (!t || strlen(t) < 16 || !digits(t, 4, &y) || t[4] != '-' || !digits(t + 5, 2, &mo) || t[7] != '-'
        || !digits(t + 8, 2, &d) || (t[10] != ' ' && t[10] != 'T') || !digits(t + 11, 2, &h) || t[13] != ':'
        || !digits(t + 14, 2, &mi))
        return 0;
    z = t + 16;
    if (*z == ':') {
        if (!digits(z + 1, 2, &sec))
            return 0;
        z += 3;
    }
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1
        || d > mdays[mo - 1] + (mo == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        || h > 23 || mi > 59 || sec > 59)
        return 0;
    if (*z == 'Z')
        return z[1] == '\0';
    if (*z == '+' || *z == '-') {
        if (!digits(z + 1, 2, &oh) || oh > 14)
            return 0;
        z += 3;
        if (*z == ':')
            z++;
        if (!*z)
            return 1;
        return digits(z, 2, &om) && om <= 59 && z[2] == '\0';
    }
    return *z == '\0';
}

/* characters of UTF-8 text (its bytes that do not continue a character) */
static apr_size_t utf8_chars(const char *s)
{
    apr_size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

apr_status_t hg_outbox_pause(hg_db_t *db, const char *topic, const char *reason, const char *by,
                             const char *until)
{
    hg_db_result_t *res;
    apr_status_t rv;
    if (!hg_outbox_topic_valid(topic) || !reason || !*reason || utf8_chars(reason) > 200 || !by
        || (until && !hg_outbox_time_valid(until)))
        return HG_EINVALID;
    rv = hg_db_q(db, &res,
                 "INSERT INTO hg.outbox_pauses (topic, reason, paused_by, until) "
                 "SELECT $1, $2, $3, $4::timestamptz WHERE $4::timestamptz IS NULL OR $4::timestamptz > now() "
                 "ON CONFLICT (topic) DO UPDATE SET reason = EXCLUDED.reason, paused_by = EXCLUDED.paused_by, "
                 "  paused_at = now(), until = EXCLUDED.until RETURNING topic",
                 4, topic, reason, by, until);
    if (rv == APR_SUCCESS && res->nrows != 1)
        return HG_EINVALID;
    return rv;
}

apr_status_t hg_outbox_paused_topics(hg_db_t *db, hg_db_result_t **res)
{
    return hg_db_q(db, res, "SELECT topic FROM hg.outbox_pauses WHERE until IS NULL OR until > now()", 0);
}

apr_status_t hg_outbox_resume(hg_db_t *db, const char *topic, int *found)
{
    hg_db_result_t *res;
    /* a pause that has run out is gone as well, but was not in force */
    apr_status_t rv = hg_db_q(db, &res, "DELETE FROM hg.outbox_pauses WHERE topic = $1 "
                              "RETURNING until IS NULL OR until > now()", 1, topic);
    if (rv == APR_SUCCESS && found)
        *found = res->nrows == 1 && !strcmp(hg_db_val(res, 0, 0), "t");
    return rv;
}

apr_status_t hg_outbox_stats(hg_db_t *db, hg_db_result_t **res)
{
    /* queued and dead rows through their partial indexes, delivered ones from their counter:
     * never a read of the whole outbox (done rows are nearly all of it) */
    return hg_db_q(db, res,
                   "SELECT topic, coalesce(q.pending, 0) AS pending, coalesce(q.inflight, 0) AS inflight, "
                   "  coalesce(q.dead, 0) AS dead, coalesce(c.n, 0) AS done, q.last_error, q.last_error_at, "
                   "  coalesce(q.oldest_pending_s, 0) AS oldest_pending_s, p.reason AS paused_reason, "
                   "  p.paused_by, to_char(p.paused_at, 'YYYY-MM-DD\"T\"HH24:MI:SSOF') AS paused_at, "
                   "  to_char(p.until, 'YYYY-MM-DD\"T\"HH24:MI:SSOF') AS paused_until, "
                   "  coalesce(h.held, 0) AS held "
                   "FROM (SELECT topic, "
                   "    count(*) FILTER (WHERE state = 'pending') AS pending, "
                   "    count(*) FILTER (WHERE state = 'inflight') AS inflight, "
                   "    count(*) FILTER (WHERE state = 'dead') AS dead, "
                   "    (array_agg(last_error ORDER BY updated_at DESC) FILTER (WHERE last_error IS NOT NULL))[1] AS last_error, "
                   "    to_char(max(updated_at) FILTER (WHERE last_error IS NOT NULL), 'YYYY-MM-DD\"T\"HH24:MI:SSOF') AS last_error_at, "
                   "    extract(epoch FROM now() - min(created_at) FILTER (WHERE live))::bigint AS oldest_pending_s "
                   "  FROM hg.outbox WHERE live OR dead GROUP BY topic) q "
                   "FULL JOIN hg.outbox_delivered c USING (topic) "
                   "FULL JOIN (SELECT * FROM hg.outbox_pauses WHERE until IS NULL OR until > now()) p USING (topic) "
                   /* queued rows waiting behind a dead row of their order_key (from the few dead ones) */
                   "LEFT JOIN (SELECT o.topic, count(DISTINCT o.id) AS held FROM hg.outbox d "
                   "  JOIN hg.outbox o ON o.order_key = d.order_key AND o.id > d.id AND o.live_ordered "
                   "  WHERE d.dead GROUP BY o.topic) h USING (topic) "
                   "ORDER BY topic", 0);
}

apr_status_t hg_outbox_list(hg_db_t *db, hg_db_result_t **res, const char *state, const char *topic,
                            const char *institution, int limit)
{
    /* a filter on a rare state must use its partial index: ordered by id alone, the newest dead
     * rows were found by reading back through every delivered one (0.5 s at 600,000 rows) */
    const char *which = !state ? "true"
                      : !strcmp(state, "dead") ? "dead"
                      : !strcmp(state, "pending") || !strcmp(state, "inflight") ? "live AND state = $1"
                      : "state = $1";
    return hg_db_q(db, res, apr_pstrcat(db->pool,
                   "SELECT id, topic, business_key, state, attempts, max_attempts, last_error, "
                   "  to_char(next_at, 'YYYY-MM-DD\"T\"HH24:MI:SSOF'), to_char(updated_at, 'YYYY-MM-DD\"T\"HH24:MI:SSOF') "
                   "FROM hg.outbox WHERE ", which, " AND ($1::text IS NULL OR state = $1) "
                   "  AND ($2::text IS NULL OR topic = $2) AND ($3::text = '' OR institution = $3) "
                   "ORDER BY id DESC LIMIT $4::int", NULL),
                   4, state, topic && *topic ? topic : NULL, institution ? institution : "",
                   apr_itoa(db->pool, limit));
}

/* one batch of the purge: the rows after *cursor in id order.  Ids follow creation, so the rows
 * created before the cut-off come first; a batch that meets a younger row is the last. */
static apr_status_t purge_batch(hg_db_t *db, int keep_days, int batch, apr_int64_t *cursor,
                                apr_int64_t *left_min, hg_outbox_purge_t *done, int *more)
{
    hg_db_result_t *r;
    apr_status_t rv;
    apr_int64_t head, old;
    const char *lm;
    rv = hg_db_q(db, &r,
                 "WITH cut AS (SELECT now() - make_interval(days => $2::int) AS t), "
                 " head AS (SELECT id, topic, state, updated_at, created_at, payload = '{}'::jsonb AS empty "
                 "   FROM hg.outbox WHERE id > $1::bigint ORDER BY id LIMIT $3::int), "
                 " old AS (SELECT h.id, h.empty, h.state = 'done' AND h.updated_at < cut.t AS due, "
                 "     r.topic IS NOT NULL AS record "
                 "   FROM head h CROSS JOIN cut LEFT JOIN hg.outbox_records r ON r.topic = h.topic "
                 "   WHERE h.created_at < cut.t), "
                 " upto AS (SELECT coalesce(max(id), $1::bigint) AS id FROM old), "
                 " del AS (DELETE FROM hg.outbox o USING old WHERE o.id = old.id AND old.due AND NOT old.record "
                 "   AND o.state = 'done' RETURNING o.id), "
                 " emp AS (UPDATE hg.outbox o SET payload = '{}'::jsonb FROM old WHERE o.id = old.id AND old.due "
                 "   AND old.record AND NOT old.empty AND o.state = 'done' RETURNING o.id) "
                 "SELECT (SELECT count(*) FROM del), (SELECT count(*) FROM emp), (SELECT count(*) FROM head), "
                 "  (SELECT count(*) FROM old), (SELECT id FROM upto), "
                 /* left as they were, below the new cursor: queued, dead, recently delivered, and a
                  * younger row among older ones (ids are taken before their transaction's time).
                  * All but the dead are read again next time: they are still to be delivered or
                  * to age.  A dead row waits for an operator and must not hold the start back, nor
                  * does one the operator discarded (it stays, like a dead one). */
                 "  (SELECT min(h.id) FROM head h, upto WHERE h.id <= upto.id "
                 "     AND h.state NOT IN ('dead', 'discarded') "
                 "     AND h.id NOT IN (SELECT id FROM old WHERE due)), "
                 "  (SELECT count(*) FROM head h, upto WHERE h.id <= upto.id "
                 "     AND h.id NOT IN (SELECT id FROM old WHERE due))",
                 3, apr_off_t_toa(db->pool, *cursor), apr_itoa(db->pool, keep_days), apr_itoa(db->pool, batch));
    if (rv)
        return rv;
    done->deleted += apr_atoi64(hg_db_val(r, 0, 0));
    done->emptied += apr_atoi64(hg_db_val(r, 0, 1));
    head = apr_atoi64(hg_db_val(r, 0, 2));
    old = apr_atoi64(hg_db_val(r, 0, 3));
    done->read += head;
    *cursor = apr_atoi64(hg_db_val(r, 0, 4));
    if ((lm = hg_db_val(r, 0, 5)) && (*left_min == 0 || apr_atoi64(lm) < *left_min))
        *left_min = apr_atoi64(lm);
    done->kept += apr_atoi64(hg_db_val(r, 0, 6));
    *more = head == batch && old == head;
    return APR_SUCCESS;
}

apr_status_t hg_outbox_purge(hg_db_t *db, int keep_days, int batch, hg_outbox_purge_t *done)
{
    hg_db_result_t *r;
    apr_status_t rv, rv2;
    apr_int64_t cursor, left_min = 0;
    int more = 1;

    memset(done, 0, sizeof(*done));
    if (keep_days < 1 || batch < 1)
        return HG_EINVALID;
    /* one purge at a time (cron on several nodes): a session lock, released below */
    if ((rv = hg_db_q(db, &r, "SELECT pg_try_advisory_lock(hashtext('hisgate.outbox.purge'))", 0)))
        return rv;
    if (strcmp(hg_db_val(r, 0, 0), "t"))
        return HG_ECONFLICT;
    if (!(rv = hg_db_q(db, &r, "SELECT resume_from FROM hg.outbox_purge WHERE id = 1", 0)))
        cursor = r->nrows ? apr_atoi64(hg_db_val(r, 0, 0)) : 0;
    while (!rv && more)
        rv = purge_batch(db, keep_days, batch, &cursor, &left_min, done, &more);
    if (!rv) {
        /* what was left (queued, dead, delivered lately) is read again next time */
        apr_int64_t resume = left_min ? left_min - 1 : cursor;
        rv = hg_db_q(db, NULL, "INSERT INTO hg.outbox_purge (id, resume_from, last_run) VALUES (1, $1::bigint, now()) "
                         "ON CONFLICT (id) DO UPDATE SET resume_from = EXCLUDED.resume_from, last_run = now()",
                         1, apr_off_t_toa(db->pool, resume));
    }
    rv2 = hg_db_q(db, NULL, "SELECT pg_advisory_unlock(hashtext('hisgate.outbox.purge'))", 0);
    return rv ? rv : rv2;
}
