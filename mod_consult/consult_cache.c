#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include "consult_cache.h"

/* one malloc'd block per row: the key, then each value with its NUL; NULL values marked */
typedef struct entry_t {
    char  *key;
    int    ncols;
    char **vals;              /* into the block; NULL = SQL NULL */
    char  *block;
    int    live;              /* 0 once dropped or replaced: its ring slot still points here */
} entry_t;

struct consult_cache_t {
    apr_thread_mutex_t *mutex;
    apr_hash_t *by_key;
    entry_t   **ring;         /* oldest-first eviction: the slot at pos is the next to go */
    int         max, pos, count;
};

static apr_status_t cache_cleanup(void *data)
{
    consult_cache_t *c = data;
    int i;
    for (i = 0; i < c->max; i++)
        if (c->ring[i]) {
            free(c->ring[i]->block);
            free(c->ring[i]);
            c->ring[i] = NULL;
        }
    return APR_SUCCESS;
}

apr_status_t consult_cache_create(consult_cache_t **out, apr_pool_t *p, int max)
{
    consult_cache_t *c = apr_pcalloc(p, sizeof(*c));
    apr_status_t rv;
    if (max < 1)
        return APR_EINVAL;
    if ((rv = apr_thread_mutex_create(&c->mutex, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS)
        return rv;
    c->by_key = apr_hash_make(p);
    c->ring = apr_pcalloc(p, max * sizeof(*c->ring));
    c->max = max;
    apr_pool_cleanup_register(p, c, cache_cleanup, apr_pool_cleanup_null);
    *out = c;
    return APR_SUCCESS;
}

static entry_t *entry_make(const char *key, const hg_db_result_t *r)
{
    apr_size_t size = strlen(key) + 1, at;
    entry_t *e;
    int i;
    for (i = 0; i < r->ncols; i++)
        size += r->vals[i] ? strlen(r->vals[i]) + 1 : 0;
    if (!(e = calloc(1, sizeof(*e))) || !(e->block = malloc(size + r->ncols * sizeof(char *)))) {
        free(e);
        return NULL;
    }
    e->vals = (char **)e->block;
    at = r->ncols * sizeof(char *);
    e->key = e->block + at;
    memcpy(e->key, key, strlen(key) + 1);
    at += strlen(key) + 1;
    for (i = 0; i < r->ncols; i++) {
        if (!r->vals[i]) {
            e->vals[i] = NULL;
            continue;
        }
        e->vals[i] = e->block + at;
        memcpy(e->vals[i], r->vals[i], strlen(r->vals[i]) + 1);
        at += strlen(r->vals[i]) + 1;
    }
    e->ncols = r->ncols;
    e->live = 1;
    return e;
}

hg_db_result_t *consult_cache_get(consult_cache_t *c, apr_pool_t *p, const char *key)
{
    hg_db_result_t *r = NULL;
    entry_t *e;
    int i;
    apr_thread_mutex_lock(c->mutex);
    if ((e = apr_hash_get(c->by_key, key, APR_HASH_KEY_STRING))) {
        r = apr_pcalloc(p, sizeof(*r));
        r->nrows = 1;
        r->ncols = e->ncols;
        r->vals = apr_palloc(p, e->ncols * sizeof(*r->vals));
        for (i = 0; i < e->ncols; i++)
            r->vals[i] = e->vals[i] ? apr_pstrdup(p, e->vals[i]) : NULL;
    }
    apr_thread_mutex_unlock(c->mutex);
    return r;
}

static void unlink_key(consult_cache_t *c, const char *key)
{
    entry_t *old = apr_hash_get(c->by_key, key, APR_HASH_KEY_STRING);
    if (old) {
        apr_hash_set(c->by_key, old->key, APR_HASH_KEY_STRING, NULL);
        old->live = 0;        /* freed when its ring slot comes round */
        c->count--;
    }
}

apr_status_t consult_cache_put(consult_cache_t *c, const char *key, const hg_db_result_t *r)
{
    entry_t *e, *victim;
    if (!r || r->nrows < 1)
        return APR_EINVAL;
    if (!(e = entry_make(key, r)))
        return APR_ENOMEM;
    apr_thread_mutex_lock(c->mutex);
    unlink_key(c, key);
    if ((victim = c->ring[c->pos])) {
        if (victim->live)
            unlink_key(c, victim->key);
        free(victim->block);
        free(victim);
    }
    c->ring[c->pos] = e;
    c->pos = (c->pos + 1) % c->max;
    apr_hash_set(c->by_key, e->key, APR_HASH_KEY_STRING, e);
    c->count++;
    apr_thread_mutex_unlock(c->mutex);
    return APR_SUCCESS;
}

void consult_cache_drop(consult_cache_t *c, const char *key)
{
    apr_thread_mutex_lock(c->mutex);
    unlink_key(c, key);
    apr_thread_mutex_unlock(c->mutex);
}

int consult_cache_count(consult_cache_t *c)
{
    int n;
    apr_thread_mutex_lock(c->mutex);
    n = c->count;
    apr_thread_mutex_unlock(c->mutex);
    return n;
}
