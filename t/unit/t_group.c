/* Unit tests for common/hg_group: the idle key (lead at once), then real threads on two keys
 * doing a simulated group commit — one leader per key at a time, batches no larger than asked,
 * every member numbered exactly once and contiguously, members' replies counted, leadership
 * handed on, lines gone afterwards. */
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_thread_proc.h>
#include <apr_time.h>
#include "tap.h"
#include "hg_group.h"

#define THREADS 48          /* per key */
#define BATCH_MAX 8
#define MSG_NUMBER 2
#define MSG_DONE 3

typedef struct {
    pthread_mutex_t mu;
    int leading, max_leading;        /* leaders at work on this key at once */
    int next_no, batches, max_batch, bad;
    int seen[THREADS];
} key_state_t;

typedef struct {
    hg_group_t *g;
    const char *key;
    key_state_t *ks;
    int no, doubled, msgs_after;     /* set by the leader / the member itself */
    int bad, waited, led;
} worker_t;

static key_state_t keys[2];
static const char *names[2] = { "inst\x1fPLACE-A", "inst\x1fPLACE-B" };

static void lead(worker_t *w, hg_group_member_t *self)
{
    hg_group_member_t *batch[BATCH_MAX];
    key_state_t *ks = w->ks;
    int n, i;

    pthread_mutex_lock(&ks->mu);
    if (++ks->leading > ks->max_leading)
        ks->max_leading = ks->leading;
    pthread_mutex_unlock(&ks->mu);
    apr_sleep(3000);                 /* the locked part: others arrive and line up meanwhile */
    n = hg_group_take(w->g, self, batch, BATCH_MAX - 1);
    pthread_mutex_lock(&ks->mu);
    w->no = ks->next_no++;
    for (i = 0; i < n; i++)
        ((worker_t *)batch[i]->baton)->no = ks->next_no++;
    ks->batches++;
    if (n + 1 > ks->max_batch)
        ks->max_batch = n + 1;
    pthread_mutex_unlock(&ks->mu);
    for (i = 0; i < n; i++)
        hg_group_post(w->g, batch[i], MSG_NUMBER);
    hg_group_await(w->g, self, n);
    for (i = 0; i < n; i++) {
        worker_t *m = batch[i]->baton;
        if (m->doubled != 2 * m->no)
            w->bad++;                /* a reply came before the member's work was there */
    }
    for (i = 0; i < n; i++)
        hg_group_post(w->g, batch[i], MSG_DONE);
    pthread_mutex_lock(&ks->mu);
    ks->leading--;
    pthread_mutex_unlock(&ks->mu);
    hg_group_leave(w->g, self);
}

static void count_wait(void *arg)
{
    ((worker_t *)arg)->waited++;
}

static void *APR_THREAD_FUNC work(apr_thread_t *t, void *arg)
{
    worker_t *w = arg;
    hg_group_member_t m = { .baton = w, .before_wait = count_wait, .before_wait_arg = w };
    int msg = hg_group_enter(w->g, w->key, &m);
    if (msg == HG_GROUP_LEAD) {
        w->led = 1;
        lead(w, &m);
    } else if (msg == MSG_NUMBER) {
        w->doubled = 2 * w->no;
        hg_group_reply(w->g, &m);
        if (hg_group_wait(w->g, &m) != MSG_DONE)
            w->bad++;
    } else {
        w->bad++;
    }
    hg_group_end(&m);
    pthread_mutex_lock(&w->ks->mu);
    if (w->no >= 0 && w->no < THREADS)
        w->ks->seen[w->no]++;
    else
        w->ks->bad++;
    pthread_mutex_unlock(&w->ks->mu);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

int main(void)
{
    apr_pool_t *p;
    hg_group_t *g;
    hg_group_member_t alone = { 0 }, other = { 0 };
    apr_thread_t *th[2 * THREADS];
    worker_t w[2 * THREADS];
    int i, k, bad = 0, once, leaders_total = 0, waits_ok = 0, waited_led = 0;

    apr_initialize();
    apr_pool_create(&p, NULL);
    tap_plan(17);

    tap_ok(hg_group_create(&g) == APR_SUCCESS, "a group is created");
    tap_is_int(hg_group_enter(g, "idle", &alone), HG_GROUP_LEAD, "an idle key: the first comes leads at once");
    tap_is_int(hg_group_take(g, &alone, (hg_group_member_t *[1]){ 0 }, 1), 0, "nobody behind it to take");
    tap_is_int(hg_group_waiting(g, "idle"), 0, "nobody waiting");
    hg_group_leave(g, &alone);
    hg_group_end(&alone);
    tap_is_int(hg_group_enter(g, "idle", &other), HG_GROUP_LEAD, "after the leader left, the next on the key leads at once too");
    hg_group_leave(g, &other);
    hg_group_end(&other);

    for (k = 0; k < 2; k++) {
        pthread_mutex_init(&keys[k].mu, NULL);
        keys[k].next_no = 0;
    }
    for (i = 0; i < 2 * THREADS; i++) {
        w[i] = (worker_t){ .g = g, .key = names[i % 2], .ks = &keys[i % 2], .no = -1 };
        apr_thread_create(&th[i], NULL, work, &w[i], p);
    }
    for (i = 0; i < 2 * THREADS; i++) {
        apr_status_t trv;
        apr_thread_join(&trv, th[i]);
        bad += w[i].bad;
        waits_ok += w[i].waited == (w[i].led ? w[i].waited : 1) && w[i].waited <= 1;
        waited_led += w[i].led && w[i].waited;
    }
    tap_is_int(bad, 0, "every member got NUMBER then DONE, and every reply came after the member's work");
    for (k = 0; k < 2; k++) {
        once = 0;
        for (i = 0; i < THREADS; i++)
            once += keys[k].seen[i] == 1;
        tap_is_int(once, THREADS, "key %c: numbers 0..%d each given exactly once (no gap, no double)", 'A' + k, THREADS - 1);
        tap_is_int(keys[k].max_leading, 1, "key %c: never two leaders at once", 'A' + k);
        tap_ok(keys[k].max_batch > 1 && keys[k].max_batch <= BATCH_MAX,
               "key %c: batches formed, none above the limit (largest %d)", 'A' + k, keys[k].max_batch);
        leaders_total += keys[k].batches;
    }
    tap_ok(keys[0].bad + keys[1].bad == 0, "no member left without a number");
    tap_is_int(waits_ok, 2 * THREADS, "before_wait: exactly once for every member that followed, at most once for a leader");
    tap_ok(waited_led > 0, "leaders handed the line after waiting had their before_wait too (%d)", waited_led);
    tap_ok(leaders_total < 2 * THREADS, "fewer batches (%d) than members (%d): the locked part ran for several at once",
           leaders_total, 2 * THREADS);
    tap_is_int(hg_group_waiting(g, names[0]) + hg_group_waiting(g, names[1]), 0, "nobody left waiting");
    hg_group_destroy(g);
    apr_pool_destroy(p);
    apr_terminate();
    return tap_failed ? 1 : 0;
}
