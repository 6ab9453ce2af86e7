/* injury_store: the SQL of mod_injury (schema injury, sql/001_injury.sql).  No httpd headers.
 * Every statement binds its parameters. */
#ifndef INJURY_STORE_H
#define INJURY_STORE_H
#include <apr_pools.h>
#include <jansson.h>
#include "hg_db.h"

typedef struct injury_stay_t {
    const char *id, *kind, *bka025, *aac001, *aaz218, *state;
    const char *pending_fn, *pending_body;      /* NULL when nothing is pending */
    int fee_rows;
} injury_stay_t;

/* HG_ENOTFOUND when there is none */
apr_status_t injury_store_stay(hg_db_t *db, apr_pool_t *p, const char *akb020, const char *aaz218,
                               injury_stay_t **out);
apr_status_t injury_store_live_stay(hg_db_t *db, apr_pool_t *p, const char *akb020, const char *kind,
                                    const char *bka025, injury_stay_t **out);
/* a new record (state registered, aaz218 NULL, claimed for busy_s seconds); HG_ECONFLICT when a live
 * record has this business number */
apr_status_t injury_store_insert(hg_db_t *db, apr_pool_t *p, const char *akb020, const char *kind,
                                 const char *bka025, const char *aac001, int busy_s, const char **id);
apr_status_t injury_store_delete(hg_db_t *db, const char *id);
/* one call per record at a time: HG_ECONFLICT while another holds it (claims expire after busy_s) */
apr_status_t injury_store_claim(hg_db_t *db, const char *id, int busy_s);
apr_status_t injury_store_release(hg_db_t *db, const char *id);
apr_status_t injury_store_set_aaz218(hg_db_t *db, const char *id, const char *aaz218);
/* fee_rows < 0 keeps the count */
apr_status_t injury_store_set_state(hg_db_t *db, const char *id, const char *state, int fee_rows);
/* fn NULL clears the pending call */
apr_status_t injury_store_set_pending(hg_db_t *db, const char *id, const char *fn, const char *body);

/* settlements; split_ok -1 = no split fields */
apr_status_t injury_store_add_settlement(hg_db_t *db, apr_pool_t *p, const char *stay_id, const char *fn,
                                         const char *kind, const char *result_json, int split_ok,
                                         int resolved, const char **id);
/* marks the newest live settlement of the stay cancelled */
apr_status_t injury_store_cancel_settlement(hg_db_t *db, const char *stay_id);
apr_status_t injury_store_count_settlements(hg_db_t *db, const char *stay_id, int *n);
typedef struct injury_settlement_t {
    const char *id, *function_id, *kind, *result, *created_at, *cancelled_at;
    int split_ok;                 /* 1, 0, -1 unknown */
    injury_stay_t stay;
} injury_settlement_t;
apr_status_t injury_store_settlement(hg_db_t *db, apr_pool_t *p, const char *akb020, const char *id,
                                     injury_settlement_t **out);

/* cached queries: the answer when younger than max_age_s, else HG_ENOTFOUND */
apr_status_t injury_store_cache_get(hg_db_t *db, apr_pool_t *p, const char *akb020, const char *fn,
                                    const char *key, int max_age_s, const char **answer, const char **fetched_at);
apr_status_t injury_store_cache_put(hg_db_t *db, const char *akb020, const char *fn, const char *key,
                                    const char *answer);
#endif
