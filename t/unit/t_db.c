/* hg_db against the test cluster (HG_DSN from t/pg-fixture.sh): statements are prepared once per
 * connection and run by name after; a reset connection prepares again; errors keep SQLSTATE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tap.h"
#include "hg_db.h"

static int prepared_count(hg_db_t *db, const char *like)
{
    hg_db_result_t *r;
    /* this query is itself prepared on first use: count only the statement under test */
    if (hg_db_q(db, &r, "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", 1, like))
        return -1;
    return atoi(hg_db_val(r, 0, 0));
}

int main(void)
{
    const char *dsn = getenv("HG_DSN");
    const char *sql = "SELECT $1::int + 1 AS n";
    apr_pool_t *p;
    hg_db_t *db;
    hg_db_result_t *r;
    PGconn *conn;
    int pid, ok = 1, i;

    if (!dsn || !*dsn) {
        printf("1..0 # SKIP HG_DSN is not set (make test sets it)\n");
        return 0;
    }
    apr_initialize();
    apr_pool_create(&p, NULL);
    conn = PQconnectdb(dsn);
    if (PQstatus(conn) != CONNECTION_OK) {
        printf("Bail out! cannot connect to HG_DSN: %s", PQerrorMessage(conn));
        return 2;
    }
    hg_db_wrap(&db, p, conn);

    for (i = 0; i < 5; i++)
        ok = ok && hg_db_q(db, &r, sql, 1, apr_itoa(p, i)) == APR_SUCCESS && atoi(hg_db_val(r, 0, 0)) == i + 1;
    tap_ok(ok, "the same statement five times with different parameters gives each answer");
    tap_is_int(prepared_count(db, sql), 1, "prepared once on this connection");

    tap_is_int(hg_db_q(db, NULL, "SELECT 1/$1::int", 1, "0"), HG_EDB, "a failing prepared statement: HG_EDB");
    tap_is_str(db->sqlstate, "22012", "with its SQLSTATE (division by zero)");
    tap_is_int(hg_db_q(db, NULL, "SELECT nonsense FROM", 0), HG_EDB, "a statement that does not parse: HG_EDB");
    tap_is_str(db->sqlstate, "42601", "syntax error SQLSTATE, from the prepare step");
    tap_is_int(prepared_count(db, "SELECT nonsense FROM"), 0, "a statement that failed to prepare is not kept");

    /* inside a transaction, after an error, until rollback */
    tap_is_int(hg_db_begin(db), APR_SUCCESS, "begin");
    hg_db_q(db, NULL, "SELECT 1/$1::int", 1, "0");
    tap_is_str(db->sqlstate, "22012", "error inside the transaction");
    tap_is_int(hg_db_q(db, &r, sql, 1, "41"), HG_EDB, "the aborted transaction refuses the next statement");
    hg_db_rollback(db);
    tap_ok(hg_db_q(db, &r, sql, 1, "41") == APR_SUCCESS && atoi(hg_db_val(r, 0, 0)) == 42,
           "after rollback the prepared statement runs again");

    /* a new server session (what hg_db_revive does after a restart) has no prepared statements */
    pid = PQbackendPID(conn);
    PQreset(conn);
    tap_ok(PQstatus(conn) == CONNECTION_OK && PQbackendPID(conn) != pid, "PQreset gives a new server session");
    tap_ok(hg_db_q(db, &r, sql, 1, "1") == APR_SUCCESS && atoi(hg_db_val(r, 0, 0)) == 2,
           "the statement is prepared again on the new session");
    tap_is_int(prepared_count(db, sql), 1, "once");

    /* statements that are not data statements are not prepared */
    hg_db_q(db, NULL, "SET application_name = 'hg-unit'", 0);
    tap_is_int(prepared_count(db, "SET application_name = 'hg-unit'"), 0, "SET is not prepared");

    PQfinish(conn);                   /* frees the statement table (valgrind-clean by design) */
    apr_pool_destroy(p);
    apr_terminate();
    tap_plan(tap_n);
    return tap_done();
}
