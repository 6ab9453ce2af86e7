/* consult_cache: the visit rows a process has seen, by the session's keyed token index.
 * A patient's page sends its steps one after another over one connection, so the process that
 * answered the last step usually answers the next: with the row at hand, a step is one guarded
 * UPDATE (… WHERE rev = cached rev) instead of a locking read and a write.  The database stays the
 * authority: a stale row (another process or node wrote since) fails the guard, and the step is
 * done again from a locked read.  Bounded (oldest entry out first), thread-safe, rows copied in and
 * out (a caller's copy outlives an eviction).  No httpd header: unit-tested. */
#ifndef CONSULT_CACHE_H
#define CONSULT_CACHE_H
#include <apr_pools.h>
#include "hg_status.h"
#include "hg_db.h"

typedef struct consult_cache_t consult_cache_t;

/* max entries; the cache lives (and its mutex) in p */
apr_status_t consult_cache_create(consult_cache_t **c, apr_pool_t *p, int max);

/* a copy in p of row 0 of the result stored under key, or NULL */
hg_db_result_t *consult_cache_get(consult_cache_t *c, apr_pool_t *p, const char *key);

/* store (or replace) row 0 of r under key */
apr_status_t consult_cache_put(consult_cache_t *c, const char *key, const hg_db_result_t *r);

void consult_cache_drop(consult_cache_t *c, const char *key);

/* entries held now (for tests) */
int consult_cache_count(consult_cache_t *c);
#endif
