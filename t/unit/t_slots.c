/* Unit tests for common/hg_slots: free slots at once; a full set makes callers wait in line and
 * time out; slots given back go to waiters in arrival order, never to a newcomer, first to the
 * `again` line; a waiter that gave up is skipped; the counts come back to zero; a wait in steps
 * (hg_slots_take_unless) ends within a step of a stop request and keeps its place between steps. */
#include <string.h>
#include <pthread.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_thread_proc.h>
#include <apr_time.h>
#include "tap.h"
#include "hg_slots.h"

#define WAITERS 5

static hg_slots_t *slots;
static pthread_mutex_t order_mu = PTHREAD_MUTEX_INITIALIZER;
static int order[16], served;

typedef struct {
    int id, again;
    apr_interval_time_t timeout;
    apr_status_t rv;
} waiter_t;

/* the order waiters were served in */
static void record_served(int id)
{
    pthread_mutex_lock(&order_mu);
    order[served++] = id;
    pthread_mutex_unlock(&order_mu);
}

static void *APR_THREAD_FUNC wait_for_slot(apr_thread_t *t, void *arg)
{
    waiter_t *w = arg;
    w->rv = hg_slots_take(slots, w->again, w->timeout);
    if (w->rv == APR_SUCCESS)
        record_served(w->id);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static int waiting_now(void)
{
    int w;
    hg_slots_count(slots, NULL, &w);
    return w;
}

static int in_use_now(void)
{
    int u;
    hg_slots_count(slots, &u, NULL);
    return u;
}

static int served_now(void)
{
    int n;
    pthread_mutex_lock(&order_mu);
    n = served;
    pthread_mutex_unlock(&order_mu);
    return n;
}

/* poll (bounded: 5 s) until f() reaches want */
static int reach(int (*f)(void), int want)
{
    int i;
    for (i = 0; i < 5000 && f() != want; i++)
        apr_sleep(1000);
    return f() == want;
}

/* a waiter thread, started only once the ones before it are in line */
static apr_thread_t *start(apr_pool_t *p, waiter_t *w, int id, int again, apr_interval_time_t timeout)
{
    apr_thread_t *t;
    int before = waiting_now();
    w->id = id;
    w->again = again;
    w->timeout = timeout;
    w->rv = APR_EGENERAL;
    apr_thread_create(&t, NULL, wait_for_slot, w, p);
    reach(waiting_now, before + 1);
    return t;
}

/* ---- hg_slots_take_unless: a wait in steps that a stop request ends */
static volatile int stop_flag;
static int stop_now(void) { return stop_flag; }

typedef struct {
    apr_interval_time_t timeout, step;
    int (*stop)(void);
    apr_status_t rv;
    apr_time_t took;
    int id;
} stepper_t;

static void *APR_THREAD_FUNC wait_in_steps(apr_thread_t *t, void *arg)
{
    stepper_t *w = arg;
    apr_time_t t0 = apr_time_now();
    w->rv = hg_slots_take_unless(slots, 0, w->timeout, w->step, w->stop);
    w->took = apr_time_now() - t0;
    if (w->rv == APR_SUCCESS)
        record_served(w->id);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void unless_cases(apr_pool_t *p)
{
    apr_thread_t *ta, *tb;
    apr_status_t trv;
    stepper_t a;
    waiter_t b;
    apr_time_t t0;

    /* from here on, a single slot, held by the main thread */
    hg_slots_create(&slots, p, 1);
    tap_ok(hg_slots_take_unless(slots, 0, apr_time_from_msec(100), apr_time_from_msec(50), stop_now) == APR_SUCCESS,
           "unless: a free slot is taken at once");

    /* the slot is held: a stop request 350 ms in ends a 10 s wait within one 100 ms step */
    memset(&a, 0, sizeof(a));
    a.timeout = apr_time_from_sec(10);
    a.step = apr_time_from_msec(100);
    a.stop = stop_now;
    stop_flag = 0;
    apr_thread_create(&ta, NULL, wait_in_steps, &a, p);
    apr_sleep(apr_time_from_msec(350));
    stop_flag = 1;
    apr_thread_join(&trv, ta);
    tap_ok(a.rv == APR_EINTR, "unless: asked to stop, it gives up (APR_EINTR, got %d)", a.rv);
    tap_ok(a.took >= apr_time_from_msec(340) && a.took < apr_time_from_msec(350 + 100 + 150),
           "unless: within one step of the request (%d ms; the wait was 10 s)", (int)apr_time_as_msec(a.took));
    tap_ok(waiting_now() == 0, "unless: out of line once it gave up");
    tap_ok(hg_slots_take_unless(slots, 0, apr_time_from_sec(1), apr_time_from_msec(100), stop_now) == APR_EINTR,
           "unless: a stop already requested ends it before any wait");
    stop_flag = 0;

    /* never stopped: the whole timeout, then APR_TIMEUP, out of line */
    memset(&a, 0, sizeof(a));
    a.timeout = apr_time_from_msec(300);
    a.step = apr_time_from_msec(100);
    a.stop = stop_now;
    apr_thread_create(&ta, NULL, wait_in_steps, &a, p);
    apr_thread_join(&trv, ta);
    tap_ok(a.rv == APR_TIMEUP && a.took >= apr_time_from_msec(290) && a.took < apr_time_from_msec(300 + 250)
           && waiting_now() == 0, "unless: the whole timeout, in steps, then APR_TIMEUP (%d ms)",
           (int)apr_time_as_msec(a.took));

    /* it keeps its place: a plain waiter that came in line behind it during its first 400 ms step
     * is still behind it in its second (which it waits in the again line), and is served after it */
    served = 0;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.id = 1; a.timeout = apr_time_from_sec(10); a.step = apr_time_from_msec(400); a.stop = stop_now;
    b.id = 2; b.again = 0; b.timeout = apr_time_from_sec(10);
    t0 = apr_time_now();
    apr_thread_create(&ta, NULL, wait_in_steps, &a, p);
    apr_sleep(apr_time_from_msec(150));
    apr_thread_create(&tb, NULL, wait_for_slot, &b, p);
    reach(waiting_now, 2);
    apr_sleep(apr_time_from_msec(600) - (apr_time_now() - t0));
    tap_ok(waiting_now() == 2 && apr_time_now() - t0 < apr_time_from_msec(750),
           "unless: both in line, it in its second step, the newcomer since its first");
    hg_slots_give(slots);
    apr_thread_join(&trv, ta);
    hg_slots_give(slots);
    apr_thread_join(&trv, tb);
    tap_ok(a.rv == APR_SUCCESS && b.rv == APR_SUCCESS && served == 2 && order[0] == 1 && order[1] == 2,
           "unless: the one that waited longer, in steps, is served before the newcomer");
    hg_slots_give(slots);
    tap_ok(waiting_now() == 0, "unless: nobody left in line");
}

int main(void)
{
    apr_pool_t *p;
    apr_thread_t *t[WAITERS + 4];
    waiter_t w[WAITERS + 4];
    apr_status_t trv;
    char got[64], want[64];
    int i;

    apr_initialize();
    apr_pool_create(&p, NULL);
    tap_ok(hg_slots_create(&slots, p, 0) == APR_EINVAL, "no slots at all is refused");
    tap_is_int(hg_slots_create(&slots, p, 2), APR_SUCCESS, "two slots");

    tap_ok(hg_slots_take(slots, 0, 0) == APR_SUCCESS && hg_slots_take(slots, 0, 0) == APR_SUCCESS,
           "both taken at once while free");
    {
        apr_time_t t0 = apr_time_now();
        apr_status_t rv = hg_slots_take(slots, 0, apr_time_from_msec(50));
        apr_interval_time_t took = apr_time_now() - t0;
        tap_ok(rv == APR_TIMEUP && took >= apr_time_from_msec(45),
               "a third waits its timeout, then gives up (%d after %ld ms)", rv, (long)(took / 1000));
    }
    tap_ok(in_use_now() == 2 && waiting_now() == 0, "and leaves the line: 2 in use, nobody waiting");

    /* arrival order: five in line, one slot given back at a time */
    for (i = 0; i < WAITERS; i++)
        t[i] = start(p, &w[i], i, 0, apr_time_from_sec(10));
    tap_is_int(waiting_now(), WAITERS, "five waiting in line");
    for (i = 0; i < WAITERS; i++) {
        hg_slots_give(slots);
        if (!reach(served_now, i + 1))
            break;
    }
    for (i = 0; i < WAITERS; i++)
        apr_thread_join(&trv, t[i]);
    got[0] = want[0] = '\0';
    for (i = 0; i < served; i++)
        sprintf(got + strlen(got), "%d", order[i]);
    for (i = 0; i < WAITERS; i++)
        sprintf(want + strlen(want), "%d", i);
    tap_is_str(got, want, "each slot given back went to the longest waiting, in arrival order");
    tap_ok(in_use_now() == 2 && waiting_now() == 0, "slots handed over stay counted: 2 in use, nobody waiting");

    /* a newcomer does not take a slot given back while someone is in line */
    served = 0;
    t[0] = start(p, &w[0], 10, 0, apr_time_from_sec(10));
    hg_slots_give(slots);
    tap_ok(hg_slots_take(slots, 0, 0) == APR_TIMEUP, "a newcomer finds no slot: it went to the one in line");
    apr_thread_join(&trv, t[0]);
    tap_ok(w[0].rv == APR_SUCCESS && served == 1 && order[0] == 10, "the one in line has it");

    /* the again line first, whatever the arrival order */
    served = 0;
    t[0] = start(p, &w[0], 20, 0, apr_time_from_sec(10));
    t[1] = start(p, &w[1], 21, 1, apr_time_from_sec(10));
    hg_slots_give(slots);
    reach(served_now, 1);
    tap_ok(served == 1 && order[0] == 21, "a slot given back goes to the again line first (went to %d)",
           served ? order[0] : -1);
    tap_ok(hg_slots_take(slots, 1, 0) == APR_TIMEUP, "an again newcomer does not pass the waiting either");
    hg_slots_give(slots);
    apr_thread_join(&trv, t[0]);
    apr_thread_join(&trv, t[1]);
    tap_ok(served == 2 && order[1] == 20, "then the first line");

    /* a waiter that gave up is out of line: the next slot goes to the one behind it */
    served = 0;
    t[0] = start(p, &w[0], 30, 0, apr_time_from_msec(100));
    t[1] = start(p, &w[1], 31, 0, apr_time_from_sec(10));
    apr_thread_join(&trv, t[0]);
    tap_ok(w[0].rv == APR_TIMEUP && waiting_now() == 1, "the first gave up after its timeout; one still waits");
    hg_slots_give(slots);
    apr_thread_join(&trv, t[1]);
    tap_ok(w[1].rv == APR_SUCCESS && served == 1 && order[0] == 31, "the slot went to the one still waiting");

    /* nine in line at once, three of them again: each slot given back serves one, again first */
    {
        int k, again_first = 1;
        served = 0;
        for (i = 0; i < WAITERS + 4; i++) {
            w[i].id = i;
            w[i].again = i % 3 == 0;
            w[i].timeout = apr_time_from_sec(10);
            apr_thread_create(&t[i], NULL, wait_for_slot, &w[i], p);
        }
        reach(waiting_now, WAITERS + 4);
        for (k = 0; k < WAITERS + 4; k++) {
            hg_slots_give(slots);
            if (!reach(served_now, k + 1))
                break;
        }
        for (i = 0; i < WAITERS + 4; i++)
            apr_thread_join(&trv, t[i]);
        for (k = 0; k < served && k < 3; k++)
            again_first &= order[k] % 3 == 0;
        tap_ok(served == WAITERS + 4 && again_first,
               "nine waiting on two slots: one served per slot given back (%d), the three again ones first", served);
    }
    hg_slots_give(slots);
    hg_slots_give(slots);
    tap_ok(in_use_now() == 0 && waiting_now() == 0, "all given back: none in use, nobody waiting");
    hg_slots_give(slots);
    tap_is_int(in_use_now(), 0, "a give too many does not go below zero");

    unless_cases(p);

    apr_pool_destroy(p);
    apr_terminate();
    tap_plan(tap_n);
    return tap_done();
}
