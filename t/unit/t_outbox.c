/* hg_outbox against the test cluster (HG_DSN): what the parallel drain relies on — a claim never
 * returns two rows of one order_key, the successor becomes due once the first is recorded, many
 * outcomes recorded in one statement (results with quotes, backslashes, NULL), and a stale
 * attempt (its lease ran out, the row was claimed again) cannot change the row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tap.h"
#include "tap_db.h"
#include "hg_outbox.h"

static hg_db_t *db;
static const char *topic;

static const char *state_of(apr_pool_t *p, const char *key)
{
    hg_db_result_t *r;
    if (hg_db_q(db, &r, "SELECT state || '/' || attempts FROM hg.outbox WHERE topic = $1 AND business_key = $2",
                2, topic, key) || r->nrows != 1)
        return "?";
    return apr_pstrdup(p, hg_db_val(r, 0, 0));
}

/* hg.outbox_delivered's count for the test topic ("0" without a row) */
static const char *delivered(apr_pool_t *p)
{
    hg_db_result_t *r;
    if (hg_db_q(db, &r, "SELECT coalesce((SELECT n FROM hg.outbox_delivered WHERE topic = $1), 0)", 1, topic)
        || r->nrows != 1)
        return "?";
    return apr_pstrdup(p, hg_db_val(r, 0, 0));
}

static hg_outbox_item_t *find(apr_array_header_t *items, const char *key)
{
    int i;
    for (i = 0; items && i < items->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(items, i, hg_outbox_item_t *)->business_key, key))
            return APR_ARRAY_IDX(items, i, hg_outbox_item_t *);
    return NULL;
}

int main(void)
{
    const char *dsn, *key_k = NULL;
    apr_pool_t *p;
    apr_array_header_t *topics, *items;
    hg_db_result_t *r;
    hg_outbox_item_t *a1, *b1, *a2 = NULL, *stale, *again = NULL;
    hg_outbox_outcome_t out;
    PGconn *conn;
    int st;
    int created, dead;

    if ((st = tap_db_connect(&conn, &dsn)) >= 0)
        return st;
    apr_initialize();
    apr_pool_create(&p, NULL);
    hg_db_wrap(&db, p, conn);
    topic = apr_psprintf(p, "unit.outbox.%ld", (long)getpid());   /* a topic no drain delivers */
    topics = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(topics, const char *) = topic;
    key_k = apr_psprintf(p, "order:%s", topic);

    /* pauses: the names and times accepted, and the rows they write */
    {
        static const char *const good_topics[] = { "invoice.upload", "hg.probe.fiscal", "a", "wx_card.status_2", NULL };
        static const char *const bad_topics[] = { "", ".a", "a.", "a..b", "Invoice.upload", "invoice upload",
                                                  "invoice.upload;", "a-b", NULL };
        static const char *const good_times[] = { "2026-12-01 06:00", "2026-12-01T06:00:30", "2028-02-29 23:59:59",
                                                  "2026-12-01 06:00Z", "2026-12-01T06:00:00+08:00", "2026-12-01 06:00-0330",
                                                  "2026-12-01 06:00+08", NULL };
        static const char *const bad_times[] = { "", "2026-12-01", "2026-12-01 6:00", "2026-13-01 06:00",
                                                 "2026-02-29 06:00", "1900-02-29 06:00", "2026-04-31 06:00",
                                                 "2026-12-01 24:00", "2026-12-01 06:60", "2026-12-01 06:00:60",
                                                 "2026-12-01 06:00+15:00", "2026-12-01 06:00 ", "2026-12-01 06:00+8",
                                                 "2026-12-01 06:00Zx", "tomorrow", NULL };
        const char *const *t;
        char *long_topic = apr_pcalloc(p, 66);
        int ok = 1, found = -1, k, listed;
        for (t = good_topics; *t; t++)
            ok &= hg_outbox_topic_valid(*t);
        for (t = bad_topics; *t; t++)
            ok &= !hg_outbox_topic_valid(*t);
        memset(long_topic, 'a', 65);
        tap_ok(ok && !hg_outbox_topic_valid(long_topic) && !hg_outbox_topic_valid(NULL), "pause: topic names");
        for (ok = 1, t = good_times; *t; t++)
            ok &= hg_outbox_time_valid(*t);
        for (t = bad_times; *t; t++)
            if (hg_outbox_time_valid(*t)) {
                ok = 0;
                tap_diag("accepted: %s", *t);
            }
        tap_ok(ok && !hg_outbox_time_valid(NULL), "pause: times (calendar dates, offsets)");
        tap_is_int(hg_outbox_pause(db, topic, "test", "unit", "2020-01-01 00:00"), HG_EINVALID,
                   "pause: an end in the past writes nothing");
        tap_is_int(hg_outbox_pause(db, topic, "", "unit", NULL), HG_EINVALID, "pause: no reason");
        {
            char *r200 = apr_pcalloc(p, 601), *r201;
            for (k = 0; k < 200; k++)
                memcpy(r200 + 3 * k, "维", 3);      /* 200 characters, 600 bytes */
            r201 = apr_pstrcat(p, r200, "x", NULL);
            tap_is_int(hg_outbox_pause(db, topic, r201, "unit", NULL), HG_EINVALID,
                       "pause: a reason of 201 characters");
            tap_is_int(hg_outbox_pause(db, topic, r200, "unit", NULL), APR_SUCCESS,
                       "pause: 200 characters (600 bytes) is the most");
            hg_outbox_resume(db, topic, NULL);
        }
        tap_is_int(hg_outbox_pause(db, topic, "test", "unit", NULL), APR_SUCCESS, "pause: until resumed");
        hg_outbox_paused_topics(db, &r);
        for (listed = 0, k = 0; k < r->nrows; k++)
            listed += !strcmp(hg_db_val(r, k, 0), topic);
        tap_is_int(listed, 1, "pause: listed as paused");
        tap_is_int(hg_outbox_pause(db, topic, "again", "unit", "2099-01-01 00:00"), APR_SUCCESS, "pause: again, with an end");
        hg_db_q(db, &r, "SELECT reason || ' ' || to_char(until, 'YYYY') FROM hg.outbox_pauses WHERE topic = $1", 1, topic);
        tap_is_str(r->nrows ? hg_db_val(r, 0, 0) : "", "again 2099", "pause: the new reason and end replace the old");
        tap_ok(hg_outbox_resume(db, topic, &found) == APR_SUCCESS && found == 1, "resume: found");
        tap_ok(hg_outbox_resume(db, topic, &found) == APR_SUCCESS && found == 0, "resume: not paused any more");
        hg_db_q(db, NULL, "INSERT INTO hg.outbox_pauses (topic, reason, paused_by, until) "
                "VALUES ($1, 'ran out', 'unit', now() - interval '1 second')", 1, topic);
        hg_outbox_paused_topics(db, &r);
        for (listed = 0, k = 0; k < r->nrows; k++)
            listed += !strcmp(hg_db_val(r, k, 0), topic);
        tap_ok(listed == 0 && hg_outbox_resume(db, topic, &found) == APR_SUCCESS && found == 0,
               "a pause that ran out is not listed, and resuming it finds none in force");
    }

    /* a1 then a2 share an order_key; b1 has none */
    hg_outbox_enqueue_ordered(db, topic, "44010001", "a1", key_k, "{\"n\":1}", 5, &created);
    hg_outbox_enqueue_ordered(db, topic, "44010001", "a2", key_k, "{\"n\":2}", 5, &created);
    hg_outbox_enqueue(db, topic, "44010001", "b1", "{\"n\":3}", 5, &created);
    tap_is_int(hg_outbox_claim(db, &items, topics, 10, 60), APR_SUCCESS, "claim");
    if (!items->nelts) {
        tap_ok(0, "Bail out! nothing claimed");
        goto end;
    }
    a1 = find(items, "a1");
    b1 = find(items, "b1");
    tap_ok(items->nelts == 2 && a1 && b1 && !find(items, "a2"),
           "the claim takes the first of an order_key and the free row, never the second (%d rows)", items->nelts);
    tap_ok(hg_outbox_claim(db, &items, topics, 10, 60) == APR_SUCCESS && items->nelts == 0,
           "while the first is in flight its successor is not due (%d rows)", items->nelts);
    if (!a1 || !b1)
        goto end;

    /* both delivered, recorded in one statement; results keep quotes and backslashes, NULL is NULL */
    {
        apr_int64_t ids[2];
        const char *results[2] = { "{\"m\":\"say \\\"hi\\\" \\\\ {ok}, \\u00e9\"}", NULL };
        ids[0] = a1->id;
        ids[1] = b1->id;
        tap_is_int(hg_outbox_mark_done_many(db, 2, ids, results), APR_SUCCESS, "two outcomes in one statement");
    }
    r = NULL;
    tap_ok(hg_db_q(db, &r, "SELECT coalesce(result->>'m', '-') || '|' || state FROM hg.outbox "
                   "WHERE topic = $1 AND business_key = 'a1'", 1, topic) == APR_SUCCESS
           && r->nrows == 1 && !strcmp(hg_db_val(r, 0, 0), "say \"hi\" \\ {ok}, \xc3\xa9|done"),
           "the result is stored as sent (%s)", r && r->nrows ? hg_db_val(r, 0, 0) : db->errmsg);
    r = NULL;
    tap_ok(hg_db_q(db, &r, "SELECT state, result IS NULL FROM hg.outbox WHERE topic = $1 AND business_key = 'b1'",
                   1, topic) == APR_SUCCESS && r->nrows == 1 && !strcmp(hg_db_val(r, 0, 0), "done")
           && !strcmp(hg_db_val(r, 0, 1), "t"), "a NULL result stays NULL");
    tap_is_str(delivered(p), "2", "the topic's delivered count went up by both");
    {
        const char *again_result = "{\"m\":\"second\"}";
        tap_is_int(hg_outbox_mark_done_many(db, 1, &a1->id, &again_result), APR_SUCCESS,
                   "a row delivered twice is recorded again without error");
    }
    r = NULL;
    tap_ok(hg_db_q(db, &r, "SELECT result->>'m' FROM hg.outbox WHERE topic = $1 AND business_key = 'a1'",
                   1, topic) == APR_SUCCESS && r->nrows == 1 && !strcmp(hg_db_val(r, 0, 0), "say \"hi\" \\ {ok}, \xc3\xa9"),
           "it keeps its first result");
    tap_is_str(delivered(p), "2", "and is counted once");

    /* now the successor is due */
    tap_ok(hg_outbox_claim(db, &items, topics, 10, 0) == APR_SUCCESS && items->nelts == 1
           && (a2 = find(items, "a2")) && a2->attempts == 1,
           "once the first is recorded, its successor is claimed (%d rows)", items->nelts);
    /* lease 0: it runs out at once, so the next claim takes it again as attempt 2 */
    stale = a2;
    usleep(20000);
    tap_ok(hg_outbox_claim(db, &items, topics, 10, 60) == APR_SUCCESS && items->nelts == 1
           && (again = find(items, "a2")) && again->attempts == 2,
           "a row whose lease ran out is claimed again, attempt 2 (%d rows)", items->nelts);
    memset(&out, 0, sizeof(out));
    if (!stale || !again) {
        tap_ok(0, "Bail out! the claims above failed");
        goto end;
    }
    out.error = "stale";
    tap_is_int(hg_outbox_mark_failed(db, stale, &out, 30, &dead), APR_SUCCESS, "the stale attempt reports a failure");
    tap_is_str(state_of(p, "a2"), "inflight/2", "and changes nothing: attempt 2 owns the row");
    tap_is_int(hg_outbox_mark_done(db, again->id, NULL), APR_SUCCESS, "attempt 2 delivers");
    tap_is_int(hg_outbox_mark_failed(db, stale, &out, 30, &dead), APR_SUCCESS, "the stale failure arrives late");
    tap_is_str(state_of(p, "a2"), "done/2", "and does not turn a delivered row back into pending");
    tap_is_str(delivered(p), "3", "three rows of the topic delivered");

    /* a real failure: back-off, then dead letter after max_attempts */
    hg_outbox_enqueue(db, topic, "44010001", "c1", "{}", 1, &created);
    hg_outbox_claim(db, &items, topics, 10, 60);
    a1 = find(items, "c1");
    out.error = "platform said no";
    tap_ok(a1 && hg_outbox_mark_failed(db, a1, &out, 30, &dead) == APR_SUCCESS && dead,
           "the last attempt's failure dead-letters");
    tap_is_str(state_of(p, "c1"), "dead/1", "dead after one attempt of one");
    /* the same last attempt cut short by the process's own stop: retried, not dead */
    hg_outbox_enqueue(db, topic, "44010001", "c2", "{}", 1, &created);
    hg_outbox_claim(db, &items, topics, 10, 60);
    a1 = find(items, "c2");
    out.error = "cut short: this httpd child is stopping";
    out.interrupted = 1;
    tap_ok(a1 && hg_outbox_mark_failed(db, a1, &out, 30, &dead) == APR_SUCCESS && !dead,
           "a last attempt cut short by the stop is not a dead letter");
    tap_is_str(state_of(p, "c2"), "pending/1", "it waits for another attempt");
    out.interrupted = 0;

    /* a delivery that never finishes: its lease runs out on the last attempt.  The claim leaves it;
     * hg_outbox_bury_stuck makes it a dead letter saying why, and leaves one with attempts left
     * (claimed again) and one whose lease still runs */
    {
        hg_outbox_item_t *d2 = NULL, *d3 = NULL;
        int buried = -1;
        hg_outbox_enqueue(db, topic, "44010001", "d1", "{}", 1, &created);
        hg_outbox_enqueue(db, topic, "44010001", "d2", "{}", 2, &created);
        hg_outbox_claim(db, &items, topics, 10, 0);         /* both leases run out at once */
        usleep(20000);
        hg_outbox_enqueue(db, topic, "44010001", "d3", "{}", 1, &created);
        tap_ok(hg_outbox_claim(db, &items, topics, 10, 60) == APR_SUCCESS && items->nelts == 2
               && (d2 = find(items, "d2")) && (d3 = find(items, "d3")) && !find(items, "d1"),
               "a row whose last lease ran out is not claimed again; one with attempts left is (%d rows)",
               items->nelts);
        tap_is_str(state_of(p, "d1"), "inflight/1", "the claim leaves it as it was");
        tap_ok(hg_outbox_bury_stuck(db, topics, &buried) == APR_SUCCESS && buried == 1,
               "hg_outbox_bury_stuck dead-letters it, and only it (%d)", buried);
        tap_is_str(state_of(p, "d1"), "dead/1", "dead after its one attempt");
        tap_is_str(state_of(p, "d2"), "inflight/2", "the row claimed again is untouched");
        tap_is_str(state_of(p, "d3"), "inflight/1", "a last attempt whose lease still runs is untouched");
        r = NULL;
        tap_ok(hg_db_q(db, &r, "SELECT last_error FROM hg.outbox WHERE topic = $1 AND business_key = 'd1'", 1,
                       topic) == APR_SUCCESS && r->nrows == 1
               && !strncmp(hg_db_val(r, 0, 0), "the delivery never finished: its lease ran out on attempt 1 of 1", 64),
               "the dead letter says why (%s)", r && r->nrows ? hg_db_val(r, 0, 0) : db->errmsg);
        if (d2)
            hg_outbox_mark_done(db, d2->id, NULL);
        if (d3)
            hg_outbox_mark_done(db, d3->id, NULL);
    }

    /* a dead row holds back the later rows of its order_key (a bill's red-flush behind its dead
     * upload: the platform would answer "no such bill" for weeks); /hg/status counts them as held;
     * retried and delivered, the dead one lets them go */
    {
        const char *key_e = apr_psprintf(p, "dead:%s", topic);
        hg_outbox_item_t *e1 = NULL, *e2 = NULL;
        hg_db_result_t *st = NULL;
        int found = 0, held = -1, k;
        hg_outbox_enqueue_ordered(db, topic, "44010001", "e1", key_e, "{}", 1, &created);
        hg_outbox_enqueue_ordered(db, topic, "44010001", "e2", key_e, "{}", 5, &created);
        hg_outbox_claim(db, &items, topics, 10, 60);
        e1 = find(items, "e1");
        out.error = "platform said no";
        tap_ok(e1 && !find(items, "e2") && hg_outbox_mark_failed(db, e1, &out, 30, &dead) == APR_SUCCESS && dead,
               "the first of an order fails on its last attempt: dead");
        tap_ok(hg_outbox_claim(db, &items, topics, 10, 60) == APR_SUCCESS && !find(items, "e2"),
               "its successor is not claimed behind the dead row (%d rows)", items->nelts);
        tap_is_str(state_of(p, "e2"), "pending/0", "it waits, untouched");
        if (hg_outbox_stats(db, &st) == APR_SUCCESS)
            for (k = 0; k < st->nrows; k++)
                if (!strcmp(hg_db_get(st, k, "topic"), topic))
                    held = atoi(hg_db_get(st, k, "held"));
        tap_is_int(held, 1, "the statistics count it as held");
        tap_ok(e1 && hg_outbox_retry(db, e1->id, &found) == APR_SUCCESS && found == 1
               && hg_outbox_claim(db, &items, topics, 10, 60) == APR_SUCCESS && find(items, "e1") && !find(items, "e2"),
               "retried, the dead row goes first, alone (%d rows)", items->nelts);
        if ((e1 = find(items, "e1")))
            hg_outbox_mark_done(db, e1->id, NULL);
        tap_ok(hg_outbox_claim(db, &items, topics, 10, 60) == APR_SUCCESS && (e2 = find(items, "e2")),
               "delivered, it lets its successor go (%d rows)", items->nelts);
        if (e2)
            hg_outbox_mark_done(db, e2->id, NULL);
    }
    /* a dead row that will never go (dealt with by hand): ops discard it, and what it held goes on */
    {
        const char *key_f = apr_psprintf(p, "discard:%s", topic);
        hg_outbox_item_t *f1 = NULL, *f2 = NULL;
        int found = -1;
        hg_outbox_enqueue_ordered(db, topic, "44010001", "f1", key_f, "{}", 1, &created);
        hg_outbox_enqueue_ordered(db, topic, "44010001", "f2", key_f, "{}", 5, &created);
        hg_outbox_claim(db, &items, topics, 10, 60);
        f1 = find(items, "f1");
        out.error = "platform said no";
        if (f1)
            hg_outbox_mark_failed(db, f1, &out, 30, &dead);
        tap_ok(f1 && hg_outbox_discard(db, f1->id + 1000000000, "unit", &found) == APR_SUCCESS && found == 0
               && hg_outbox_discard(db, f1->id, "unit", &found) == APR_SUCCESS && found == 1,
               "discard: a row that is not there is not found; the dead one is discarded");
        tap_is_str(state_of(p, "f1"), "discarded/1", "it is discarded, not dead");
        tap_ok(hg_outbox_claim(db, &items, topics, 10, 60) == APR_SUCCESS && (f2 = find(items, "f2")),
               "and the row it held goes (%d rows)", items->nelts);
        tap_ok(f2 && hg_outbox_discard(db, f2->id, "unit", &found) == APR_SUCCESS && found == 0,
               "a row in flight is not discarded (the drain's)");
        if (f2)
            hg_outbox_mark_done(db, f2->id, NULL);
    }

    /* a claim changes no indexed value, so PostgreSQL writes it in place (HOT): no index entries.
     * The backend's pending statistics span transactions until flushed: compare before and after
     * the claim inside one transaction */
    hg_outbox_enqueue(db, topic, "44010001", "h1", "{}", 5, &created);
    {
        static const char counts[] = "SELECT pg_stat_get_xact_tuples_updated('hg.outbox'::regclass), "
            "pg_stat_get_xact_tuples_hot_updated('hg.outbox'::regclass), "
            "pg_stat_get_xact_numscans('hg.outbox_due'::regclass), "
            "pg_stat_get_xact_numscans('hg.outbox_order'::regclass)";
        hg_db_result_t *b = NULL, *a = NULL;
        int claimed = -1, d[4] = { -1, -1, -1, -1 }, k;
#define COUNT_AROUND_CLAIM(n)                                                                      \
        do {                                                                                      \
            claimed = -1;                                                                         \
            if (hg_db_begin(db) == APR_SUCCESS && hg_db_q(db, &b, counts, 0) == APR_SUCCESS           \
                && hg_outbox_claim(db, &items, topics, (n), 60) == APR_SUCCESS                       \
                && hg_db_q(db, &a, counts, 0) == APR_SUCCESS) {                                    \
                claimed = items->nelts;                                                           \
                for (k = 0; k < 4; k++)                                                           \
                    d[k] = atoi(hg_db_val(a, 0, k)) - atoi(hg_db_val(b, 0, k));                  \
            }                                                                                     \
            hg_db_commit(db);                                                                     \
        } while (0)
        COUNT_AROUND_CLAIM(10);
        tap_ok(claimed == 1 && d[0] == 1 && d[1] == 1,
               "a claim is a HOT update (%d claimed; %d updated, %d of them HOT)", claimed, d[0], d[1]);

        /* a backlog of ordered rows, statistics taken with the queue nearly empty (as after a quiet
         * night): the claim's "older row of my key still queued?" is answered from outbox_order,
         * never by reading outbox_due (that plan read the whole backlog once per candidate row).
         * outbox_due is read once, for the candidates: not once per row, and not for the stuck
         * rows (hg_outbox_bury_stuck's, every few seconds) */
        hg_db_q(db, NULL, "ANALYZE hg.outbox", 0);
        hg_db_q(db, NULL, "INSERT INTO hg.outbox (topic, institution, business_key, payload, order_key) "
                "SELECT $1, '44010001', 'q' || g, '{}', $1 || ':' || (g % 150) FROM generate_series(1, 300) g",
                1, topic);
        COUNT_AROUND_CLAIM(400);
        tap_ok(claimed == 150 && d[2] <= 1 && d[3] >= 1,
               "150 of 300 ordered rows claimed (%d): outbox_due scanned %d time(s), outbox_order %d",
               claimed, d[2], d[3]);
#undef COUNT_AROUND_CLAIM
    }

    /* a backlog of a topic this drain does not deliver (paused, or another's), due: a claim of
     * this topic's one due row reads this topic's range of outbox_due, not the other's rows (in
     * one index by next_at it read all 2,000 of them first) */
    hg_db_q(db, NULL, "INSERT INTO hg.outbox (topic, institution, business_key, payload, next_at) "
            "SELECT $1 || '.other', '44010001', 'o' || g, '{}', now() - interval '1 hour' "
            "FROM generate_series(1, 2000) g", 1, topic);
    {
        /* a topic of its own: the rows this test claimed and deleted above leave index entries */
        const char *mine = apr_pstrcat(p, topic, ".mine", NULL);
        apr_array_header_t *only = apr_array_make(p, 1, sizeof(const char *));
        hg_db_result_t *b = NULL, *a = NULL;
        APR_ARRAY_PUSH(only, const char *) = mine;
        hg_outbox_enqueue(db, mine, "44010001", "mine", "{}", 5, &created);
        static const char read_sql[] = "SELECT pg_stat_get_xact_tuples_returned('hg.outbox_due'::regclass)";
        int claimed = -1, read = -1;
        if (hg_db_begin(db) == APR_SUCCESS && hg_db_q(db, &b, read_sql, 0) == APR_SUCCESS
            && hg_outbox_claim(db, &items, only, 10, 60) == APR_SUCCESS && hg_db_q(db, &a, read_sql, 0) == APR_SUCCESS) {
            claimed = items->nelts;
            read = atoi(hg_db_val(a, 0, 0)) - atoi(hg_db_val(b, 0, 0));
        }
        hg_db_commit(db);
        tap_ok(claimed == 1 && read >= 1 && read < 100,
               "2,000 due rows of a topic not delivered here: the claim takes its own one (%d) and reads "
               "%d entries of outbox_due", claimed, read);
    }
    hg_db_q(db, NULL, "DELETE FROM hg.outbox WHERE topic IN ($1 || '.other', $1 || '.mine')", 1, topic);

end:
    hg_db_rollback(db);
    hg_db_q(db, NULL, "DELETE FROM hg.outbox WHERE topic = $1", 1, topic);
    hg_db_q(db, NULL, "DELETE FROM hg.outbox_delivered WHERE topic = $1", 1, topic);
    PQfinish(conn);
    apr_pool_destroy(p);
    apr_terminate();
    tap_plan(tap_n);
    return tap_done();
}
