/* hg_db: PostgreSQL through libpq on a connection that mod_dbd pooled (or the CLI opened).
 * Text-format parameters (always bound, never pasted into SQL), whole results in pool memory,
 * SQLSTATE kept, and transactions that always end (rollback on any error).  Data statements
 * (SELECT/WITH/INSERT/UPDATE/DELETE) are prepared once per connection and then executed by name,
 * so the server neither parses nor re-plans them per call; the table follows the connection
 * through PQreset and PQfinish (libpq events).  Not for a transaction-pooling proxy in between. */
#ifndef HG_DB_H
#define HG_DB_H
#include <apr_pools.h>
#include <libpq-fe.h>
#include "hg_status.h"

typedef struct hg_db_t {
    PGconn     *conn;
    apr_pool_t *pool;
    int         in_tx;
    char        sqlstate[6];      /* of the last failed statement, "" when none */
    const char *errmsg;           /* of the last failed statement */
} hg_db_t;

typedef struct hg_db_result_t {
    int          nrows, ncols;
    const char **names;           /* ncols column names */
    const char **vals;            /* nrows*ncols, row-major; NULL = SQL NULL */
    long         affected;        /* rows affected by INSERT/UPDATE/DELETE */
} hg_db_result_t;

/* A pooled connection may have died while idle (server restart): the server's goodbye makes the
 * socket readable, which a zero-timeout poll sees without a round trip.  A dead connection is
 * re-established in place (PQreset).  APR_SUCCESS when the connection is usable now. */
apr_status_t hg_db_revive(PGconn *conn);

/* wrap a live connection (not owned: whoever opened it closes it) */
apr_status_t hg_db_wrap(hg_db_t **db, apr_pool_t *p, PGconn *conn);

/* run one statement with n text parameters (NULL = SQL NULL). res may be NULL.
 * Errors: HG_ECONFLICT (23505 unique violation), HG_EDBDOWN (connection lost),
 * HG_EDB otherwise (db->sqlstate / db->errmsg say what; 57014 = statement timeout). */
apr_status_t hg_db_exec(hg_db_t *db, hg_db_result_t **res, const char *sql, int n,
                        const char *const *params);
/* the same with the parameters as varargs (exactly n const char *) */
apr_status_t hg_db_q(hg_db_t *db, hg_db_result_t **res, const char *sql, int n, ...);

apr_status_t hg_db_begin(hg_db_t *db);
/* BEGIN + one statement, and one statement + COMMIT, each in one round trip (pipeline mode): for
 * short hot transactions (a number taken, a bill written).  On any error the transaction is rolled
 * back and the error is the statement's (or COMMIT's); hg_db_q_commit needs an open transaction. */
apr_status_t hg_db_begin_q(hg_db_t *db, hg_db_result_t **res, const char *sql, int n, ...);
apr_status_t hg_db_q_commit(hg_db_t *db, hg_db_result_t **res, const char *sql, int n, ...);
/* several statements in one round trip: flags HG_DB_BEGIN opens a transaction before them,
 * HG_DB_COMMIT ends it after them (or the open one).  *res is the first statement's result; on any
 * error the transaction is rolled back and the error is the first that happened. */
#define HG_DB_PIPELINE_MAX 8
#define HG_DB_BEGIN  0x1
#define HG_DB_COMMIT 0x2
typedef struct hg_db_stmt_t {
    const char *sql;
    int n;
    const char *const *params;
} hg_db_stmt_t;
apr_status_t hg_db_pipeline(hg_db_t *db, hg_db_result_t **res, const hg_db_stmt_t *stmts, int count,
                            unsigned flags);
apr_status_t hg_db_commit(hg_db_t *db);
void         hg_db_rollback(hg_db_t *db);   /* safe to call when no transaction is open */

/* run fn inside BEGIN … COMMIT; any non-success from fn or COMMIT rolls back */
typedef apr_status_t hg_db_tx_fn(hg_db_t *db, void *baton);
apr_status_t hg_db_tx(hg_db_t *db, hg_db_tx_fn *fn, void *baton);

/* cell by row and column name (NULL when absent or SQL NULL) */
const char *hg_db_get(const hg_db_result_t *res, int row, const char *col);
/* a PostgreSQL array literal of n texts (NULL elements stay NULL), for one parameter that carries
 * a column of many rows: `unnest($1::text[])` turns it back into rows */
const char *hg_db_array(apr_pool_t *p, const char *const *vals, int n);
const char *hg_db_val(const hg_db_result_t *res, int row, int col);

/* run a file of SQL statements (migrations) in one transaction */
apr_status_t hg_db_exec_script(hg_db_t *db, const char *sql);
#endif
