/* hg_group: group commit inside one process (see hg_group.h).  One mutex guards every line; each
 * member sleeps on its own semaphores, posted after the mutex is released, so a post wakes exactly
 * the thread it is for and that thread does not first wait for the mutex its waker holds (with
 * condition variables signalled under the mutex it did: two more futex calls and a context switch
 * per message, a third of httpd's futex calls when every bill goes to one billing point).  Every
 * post has its wait (a member waits for each message it is sent, a leader for each reply), so a
 * member's semaphores outlive the posts to them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hg_group.h"

#define LINE_BUCKETS 64

typedef struct hg_group_line_t {
    struct hg_group_line_t *next;       /* in its bucket */
    hg_group_member_t *head, *tail;     /* waiting behind the leader */
    int waiting;
    int led;                            /* a leader is at work on this key */
    char key[];
} hg_group_line_t;

struct hg_group_t {
    pthread_mutex_t mutex;
    hg_group_line_t *buckets[LINE_BUCKETS];
};

apr_status_t hg_group_create(hg_group_t **pg)
{
    hg_group_t *g = calloc(1, sizeof(*g));
    if (!g)
        return APR_ENOMEM;
    if (pthread_mutex_init(&g->mutex, NULL)) {
        free(g);
        return APR_EGENERAL;
    }
    *pg = g;
    return APR_SUCCESS;
}

void hg_group_destroy(hg_group_t *g)
{
    int i;
    if (!g)
        return;
    for (i = 0; i < LINE_BUCKETS; i++)
        while (g->buckets[i]) {
            hg_group_line_t *l = g->buckets[i];
            g->buckets[i] = l->next;
            free(l);
        }
    pthread_mutex_destroy(&g->mutex);
    free(g);
}

static unsigned bucket_of(const char *key)
{
    unsigned h = 5381;
    while (*key)
        h = h * 33 + (unsigned char)*key++;
    return h % LINE_BUCKETS;
}

static hg_group_line_t *line_find(hg_group_t *g, const char *key, int create)
{
    unsigned b = bucket_of(key);
    hg_group_line_t *l;
    size_t len;
    for (l = g->buckets[b]; l; l = l->next)
        if (!strcmp(l->key, key))
            return l;
    if (!create)
        return NULL;
    len = strlen(key);
    if (!(l = calloc(1, sizeof(*l) + len + 1)))
        return NULL;
    memcpy(l->key, key, len + 1);
    l->next = g->buckets[b];
    g->buckets[b] = l;
    return l;
}

/* an idle line with nobody waiting goes: keys come from requests, memory must not grow with them */
static void line_drop(hg_group_t *g, hg_group_line_t *dead)
{
    hg_group_line_t **pl = &g->buckets[bucket_of(dead->key)];
    for (; *pl; pl = &(*pl)->next)
        if (*pl == dead) {
            *pl = dead->next;
            free(dead);
            return;
        }
}

/* with the mutex held: the first member waiting in the line, out of it (NULL if none) */
static hg_group_member_t *line_pop(hg_group_line_t *l)
{
    hg_group_member_t *m = l->head;
    if (!m)
        return NULL;
    l->head = m->next;
    if (!l->head)
        l->tail = NULL;
    l->waiting--;
    m->next = NULL;
    return m;
}

static int wait_msg(hg_group_member_t *m)
{
    int msg;
    while (sem_wait(&m->posted) != 0 && errno == EINTR)
        ;
    msg = m->msg;                /* written before the post: sem_post and sem_wait order memory */
    m->msg = 0;
    return msg;
}

int hg_group_enter(hg_group_t *g, const char *key, hg_group_member_t *m)
{
    hg_group_line_t *l;
    m->msg = 0;
    m->leader = m->next = NULL;
    sem_init(&m->posted, 0, 0);
    sem_init(&m->replied, 0, 0);
    pthread_mutex_lock(&g->mutex);
    l = line_find(g, key, 1);
    m->line = l;
    if (!l || !l->led) {
        /* no line (out of memory: lead alone, unbatched) or an idle one: lead at once */
        if (l)
            l->led = 1;
        pthread_mutex_unlock(&g->mutex);
        return HG_GROUP_LEAD;
    }
    if (l->tail)
        l->tail->next = m;
    else
        l->head = m;
    l->tail = m;
    l->waiting++;
    pthread_mutex_unlock(&g->mutex);
    /* a message posted meanwhile stays counted: wait_msg returns it at once */
    if (m->before_wait)
        m->before_wait(m->before_wait_arg);
    return wait_msg(m);
}

int hg_group_take(hg_group_t *g, hg_group_member_t *leader, hg_group_member_t **batch, int max)
{
    hg_group_line_t *l = leader->line;
    int n = 0;
    pthread_mutex_lock(&g->mutex);
    while (l && n < max && (batch[n] = line_pop(l)))
        batch[n++]->leader = leader;
    pthread_mutex_unlock(&g->mutex);
    return n;
}

void hg_group_post(hg_group_t *g, hg_group_member_t *m, int msg)
{
    m->msg = msg;                /* m is out of every line: only its leader writes to it */
    sem_post(&m->posted);
}

int hg_group_wait(hg_group_t *g, hg_group_member_t *m)
{
    return wait_msg(m);
}

void hg_group_reply(hg_group_t *g, hg_group_member_t *m)
{
    if (m->leader)
        sem_post(&m->leader->replied);
}

void hg_group_await(hg_group_t *g, hg_group_member_t *leader, int n)
{
    for (; n > 0; n--)
        while (sem_wait(&leader->replied) != 0 && errno == EINTR)
            ;
}

void hg_group_leave(hg_group_t *g, hg_group_member_t *leader)
{
    hg_group_line_t *l = leader->line;
    hg_group_member_t *next;
    if (!l)
        return;
    pthread_mutex_lock(&g->mutex);
    leader->line = NULL;
    if (!(next = line_pop(l)))
        line_drop(g, l);         /* else the line stays led: the first in it takes over */
    pthread_mutex_unlock(&g->mutex);
    if (next) {
        next->msg = HG_GROUP_LEAD;
        sem_post(&next->posted);
    }
}

void hg_group_end(hg_group_member_t *m)
{
    sem_destroy(&m->posted);
    sem_destroy(&m->replied);
}

int hg_group_waiting(hg_group_t *g, const char *key)
{
    hg_group_line_t *l;
    int n;
    pthread_mutex_lock(&g->mutex);
    l = line_find(g, key, 0);
    n = l ? l->waiting : 0;
    pthread_mutex_unlock(&g->mutex);
    return n;
}
