#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>
#include <apr_strings.h>
#include "hg_slots.h"

/* on the waiting thread's stack while it is in line.  A hand-over sets `granted` under the mutex
 * and posts `handed` after releasing it: the woken thread runs without first waiting for the
 * mutex its waker still held (with a condition variable signalled under the mutex it did: the
 * slot line made ~45 % of httpd's futex calls in make bench's consult walk; this hand-over took
 * them from 8.3 to 7.2 per step).  A waiter that is granted always consumes the one post that
 * follows, so its semaphore outlives the hand-over. */
typedef struct waiter_t {
    struct waiter_t *next;
    sem_t handed;
    int granted;
} waiter_t;

typedef struct {
    waiter_t *head, *tail;
} line_t;

struct hg_slots_t {
    pthread_mutex_t mu;
    int max, in_use, waiting;
    line_t again, first;         /* served in that order */
};

static apr_status_t slots_cleanup(void *data)
{
    pthread_mutex_destroy(&((hg_slots_t *)data)->mu);
    return APR_SUCCESS;
}

apr_status_t hg_slots_create(hg_slots_t **out, apr_pool_t *p, int max)
{
    hg_slots_t *s;
    if (max < 1)
        return APR_EINVAL;
    s = apr_pcalloc(p, sizeof(*s));
    if (pthread_mutex_init(&s->mu, NULL))
        return APR_ENOMEM;
    s->max = max;
    apr_pool_cleanup_register(p, s, slots_cleanup, apr_pool_cleanup_null);
    *out = s;
    return APR_SUCCESS;
}

static void line_push(line_t *l, waiter_t *w)
{
    w->next = NULL;
    if (l->tail)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
}

static waiter_t *line_pop(line_t *l)
{
    waiter_t *w = l->head;
    if (w && !(l->head = w->next))
        l->tail = NULL;
    return w;
}

static void line_remove(line_t *l, waiter_t *w)
{
    waiter_t **pp, *prev = NULL;
    for (pp = &l->head; *pp; prev = *pp, pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            if (l->tail == w)
                l->tail = prev;
            return;
        }
}

apr_status_t hg_slots_take(hg_slots_t *s, int again, apr_interval_time_t timeout)
{
    line_t *l = again ? &s->again : &s->first;
    struct timespec until;
    waiter_t w;
    int rc;

    pthread_mutex_lock(&s->mu);
    if (s->in_use < s->max && !s->again.head && (again || !s->first.head)) {
        s->in_use++;
        pthread_mutex_unlock(&s->mu);
        return APR_SUCCESS;
    }
    sem_init(&w.handed, 0, 0);
    w.granted = 0;
    line_push(l, &w);
    s->waiting++;
    pthread_mutex_unlock(&s->mu);

    /* a monotonic deadline: a clock set back must not stretch the wait */
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout / APR_USEC_PER_SEC;
    until.tv_nsec += (long)(timeout % APR_USEC_PER_SEC) * 1000;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while ((rc = sem_clockwait(&w.handed, CLOCK_MONOTONIC, &until)) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        /* timed out, unless a hand-over came in between: then its post is on the way */
        pthread_mutex_lock(&s->mu);
        if (!w.granted) {
            line_remove(l, &w);
            s->waiting--;
        }
        pthread_mutex_unlock(&s->mu);
        if (w.granted)
            while (sem_wait(&w.handed) != 0 && errno == EINTR)
                ;
    }
    sem_destroy(&w.handed);
    return w.granted ? APR_SUCCESS : APR_TIMEUP;
}

apr_status_t hg_slots_take_unless(hg_slots_t *s, int again, apr_interval_time_t timeout,
                                  apr_interval_time_t step, int (*stop)(void))
{
    apr_interval_time_t waited = 0, t;
    apr_status_t rv;
    if (step <= 0)
        step = timeout;
    do {
        if (stop && stop())
            return APR_EINTR;
        t = timeout - waited < step ? timeout - waited : step;
        if ((rv = hg_slots_take(s, again || waited > 0, t)) == APR_SUCCESS)
            return rv;
        waited += t;
    } while (waited < timeout);
    return APR_TIMEUP;
}

void hg_slots_give(hg_slots_t *s)
{
    waiter_t *w;
    pthread_mutex_lock(&s->mu);
    if (!(w = line_pop(&s->again)))
        w = line_pop(&s->first);
    if (w) {
        w->granted = 1;            /* still counted in use: it is the waiter's now */
        s->waiting--;
    }
    else if (s->in_use > 0)
        s->in_use--;
    pthread_mutex_unlock(&s->mu);
    if (w)
        sem_post(&w->handed);
}

void hg_slots_count(hg_slots_t *s, int *in_use, int *waiting)
{
    pthread_mutex_lock(&s->mu);
    if (in_use)
        *in_use = s->in_use;
    if (waiting)
        *waiting = s->waiting;
    pthread_mutex_unlock(&s->mu);
}

int hg_slots_size(const hg_slots_t *s)
{
    return s->max;
}
