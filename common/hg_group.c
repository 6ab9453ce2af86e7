/* hg_group: group commit inside one process (see hg_group.h).  One mutex guards every line and
 * member; each member sleeps on its own condition, so a post wakes exactly the thread it is for. */
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

static int wait_msg(hg_group_t *g, hg_group_member_t *m)
{
    int msg;
    while (!m->msg)
        pthread_cond_wait(&m->cond, &g->mutex);
    msg = m->msg;
    m->msg = 0;
    return msg;
}

int hg_group_enter(hg_group_t *g, const char *key, hg_group_member_t *m)
{
    hg_group_line_t *l;
    int msg;
    m->msg = m->replies = 0;
    m->leader = m->next = NULL;
    pthread_cond_init(&m->cond, NULL);
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
    if (m->before_wait) {
        /* a message posted meanwhile stays in m->msg: wait_msg returns it at once */
        pthread_mutex_unlock(&g->mutex);
        m->before_wait(m->before_wait_arg);
        pthread_mutex_lock(&g->mutex);
    }
    msg = wait_msg(g, m);
    pthread_mutex_unlock(&g->mutex);
    return msg;
}

int hg_group_take(hg_group_t *g, hg_group_member_t *leader, hg_group_member_t **batch, int max)
{
    hg_group_line_t *l = leader->line;
    int n = 0;
    pthread_mutex_lock(&g->mutex);
    leader->replies = 0;
    while (l && n < max && (batch[n] = line_pop(l)))
        batch[n++]->leader = leader;
    pthread_mutex_unlock(&g->mutex);
    return n;
}

void hg_group_post(hg_group_t *g, hg_group_member_t *m, int msg)
{
    pthread_mutex_lock(&g->mutex);
    m->msg = msg;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&g->mutex);
}

int hg_group_wait(hg_group_t *g, hg_group_member_t *m)
{
    int msg;
    pthread_mutex_lock(&g->mutex);
    msg = wait_msg(g, m);
    pthread_mutex_unlock(&g->mutex);
    return msg;
}

void hg_group_reply(hg_group_t *g, hg_group_member_t *m)
{
    pthread_mutex_lock(&g->mutex);
    if (m->leader) {
        m->leader->replies++;
        pthread_cond_signal(&m->leader->cond);
    }
    pthread_mutex_unlock(&g->mutex);
}

void hg_group_await(hg_group_t *g, hg_group_member_t *leader, int n)
{
    pthread_mutex_lock(&g->mutex);
    while (leader->replies < n)
        pthread_cond_wait(&leader->cond, &g->mutex);
    pthread_mutex_unlock(&g->mutex);
}

void hg_group_leave(hg_group_t *g, hg_group_member_t *leader)
{
    hg_group_line_t *l = leader->line;
    hg_group_member_t *next;
    if (!l)
        return;
    pthread_mutex_lock(&g->mutex);
    leader->line = NULL;
    if ((next = line_pop(l))) {
        /* the line stays led: the first in it takes over */
        next->msg = HG_GROUP_LEAD;
        pthread_cond_signal(&next->cond);
    } else {
        line_drop(g, l);
    }
    pthread_mutex_unlock(&g->mutex);
}

void hg_group_end(hg_group_member_t *m)
{
    pthread_cond_destroy(&m->cond);
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
