/* Unit tests for mod_consult/consult_cache: rows in and out by copy, replacement, drop, NULL cells,
 * the bound (oldest write out first) and threads putting and getting at once. */
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include "tap.h"
#include "consult_cache.h"

static apr_pool_t *pool;

static hg_db_result_t *row(apr_pool_t *p, const char *a, const char *b, const char *c)
{
    hg_db_result_t *r = apr_pcalloc(p, sizeof(*r));
    r->nrows = 1;
    r->ncols = 3;
    r->vals = apr_palloc(p, 3 * sizeof(*r->vals));
    r->vals[0] = a;
    r->vals[1] = b;
    r->vals[2] = c;
    return r;
}

static const char *cell(hg_db_result_t *r, int i)
{
    return r ? r->vals[i] : "(no row)";
}

typedef struct { consult_cache_t *c; int id, bad; } worker_t;

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    worker_t *w = data;
    apr_pool_t *p;
    int i;
    apr_pool_create(&p, NULL);
    for (i = 0; i < 2000; i++) {
        const char *key = apr_psprintf(p, "k%d", (w->id * 7 + i) % 50);
        hg_db_result_t *got;
        consult_cache_put(w->c, key, row(p, key, apr_itoa(p, i), NULL));
        got = consult_cache_get(w->c, p, key);
        /* another thread may have replaced it, but a row is always whole: its key cell is the key */
        if (got && (got->ncols != 3 || strcmp(got->vals[0], key) || got->vals[2]))
            w->bad++;
        if (i % 100 == 0)
            apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

int main(void)
{
    consult_cache_t *c;
    apr_pool_t *scratch;
    hg_db_result_t *in, *got;
    apr_thread_t *th[4];
    worker_t w[4];
    apr_status_t rv;
    int i, bad = 0, present;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    tap_plan(19);

    tap_ok(consult_cache_create(&c, pool, 0) == APR_EINVAL, "a cache needs room for one row");
    tap_ok(consult_cache_create(&c, pool, 3) == APR_SUCCESS, "created with room for 3");
    tap_ok(consult_cache_get(c, pool, "a") == NULL, "empty: nothing found");

    /* the caller's row may go away: the cache keeps its own copy, and hands out copies */
    apr_pool_create(&scratch, pool);
    in = row(scratch, "1", "in-progress", NULL);
    consult_cache_put(c, "a", in);
    in->vals[1] = "changed by the caller";
    apr_pool_destroy(scratch);
    got = consult_cache_get(c, pool, "a");
    tap_is_str(cell(got, 1), "in-progress", "stored by copy");
    tap_ok(got && got->vals[2] == NULL, "an SQL NULL stays NULL");
    tap_ok(got && got->nrows == 1 && got->ncols == 3, "one row, its columns");
    got->vals[1] = "changed by a reader";
    tap_is_str(cell(consult_cache_get(c, pool, "a"), 1), "in-progress", "handed out by copy");

    consult_cache_put(c, "a", row(pool, "1", "review", "{}"));
    got = consult_cache_get(c, pool, "a");
    tap_is_str(cell(got, 1), "review", "a put replaces the row of its key");
    tap_is_str(cell(got, 2), "{}", "all of it");
    tap_is_int(consult_cache_count(c), 1, "one key, one entry");

    consult_cache_drop(c, "a");
    tap_ok(consult_cache_get(c, pool, "a") == NULL, "dropped");
    tap_is_int(consult_cache_count(c), 0, "none left");
    consult_cache_drop(c, "never there");
    tap_is_int(consult_cache_count(c), 0, "dropping an absent key is harmless");

    /* the bound: the oldest write goes first */
    consult_cache_put(c, "x", row(pool, "x", "1", NULL));
    consult_cache_put(c, "y", row(pool, "y", "1", NULL));
    consult_cache_put(c, "z", row(pool, "z", "1", NULL));
    consult_cache_put(c, "x", row(pool, "x", "2", NULL));   /* x written again: now the newest */
    consult_cache_put(c, "w", row(pool, "w", "1", NULL));
    tap_ok(consult_cache_get(c, pool, "y") == NULL, "full: the row written longest ago is out");
    tap_is_str(cell(consult_cache_get(c, pool, "x"), 1), "2", "a row written again stays");
    tap_ok(consult_cache_get(c, pool, "z") && consult_cache_get(c, pool, "w"), "the others stay");
    tap_ok(consult_cache_count(c) <= 3, "never more than the bound (%d)", consult_cache_count(c));

    /* threads */
    tap_ok(consult_cache_create(&c, pool, 20) == APR_SUCCESS, "a cache for threads");
    for (i = 0; i < 4; i++) {
        w[i].c = c;
        w[i].id = i;
        w[i].bad = 0;
        apr_thread_create(&th[i], NULL, worker, &w[i], pool);
    }
    for (i = 0; i < 4; i++) {
        apr_thread_join(&rv, th[i]);
        bad += w[i].bad;
    }
    present = 0;
    for (i = 0; i < 50; i++)
        present += consult_cache_get(c, pool, apr_psprintf(pool, "k%d", i)) != NULL;
    tap_ok(bad == 0 && present == consult_cache_count(c) && present <= 20,
           "4 threads × 2000 puts and gets: every row whole (%d torn), %d held, within the bound", bad, present);
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}
