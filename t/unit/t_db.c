/* hg_db against the test cluster (HG_DSN from t/pg-fixture.sh): statements are prepared once per
 * connection and run by name after; a reset connection prepares again; errors keep SQLSTATE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tap.h"
#include "tap_db.h"
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
    const char *dsn;
    const char *sql = "SELECT $1::int + 1 AS n";
    apr_pool_t *p;
    hg_db_t *db;
    hg_db_result_t *r;
    PGconn *conn;
    int st;
    int pid, ok = 1, i;

    if ((st = tap_db_connect(&conn, &dsn)) >= 0)
        return st;
    apr_initialize();
    apr_pool_create(&p, NULL);
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

    /* BEGIN + statement, and statement + COMMIT, in one round trip each */
    {
        PGconn *other = PQconnectdb(dsn);
        hg_db_t *odb;
        hg_db_wrap(&odb, p, other);
        hg_db_q(db, NULL, "SET client_min_messages = warning", 0);
        hg_db_q(db, NULL, "DROP TABLE IF EXISTS hg_unit_pipeline", 0);
        tap_is_int(hg_db_q(db, NULL, "CREATE TABLE hg_unit_pipeline (k text PRIMARY KEY, "
                           "d int UNIQUE DEFERRABLE INITIALLY DEFERRED)", 0), APR_SUCCESS, "a scratch table");
        tap_ok(hg_db_begin_q(db, &r, "INSERT INTO hg_unit_pipeline VALUES ($1, $2::int) RETURNING k || '!'", 2, "a", "1")
               == APR_SUCCESS && !strcmp(hg_db_val(r, 0, 0), "a!"), "begin_q: the statement's result");
        tap_ok(PQtransactionStatus(conn) == PQTRANS_INTRANS && db->in_tx, "and the transaction is open");
        tap_ok(hg_db_q_commit(db, &r, "INSERT INTO hg_unit_pipeline VALUES ($1, $2::int) RETURNING d", 2, "b", "2")
               == APR_SUCCESS && !strcmp(hg_db_val(r, 0, 0), "2"), "q_commit: the statement's result");
        tap_ok(PQtransactionStatus(conn) == PQTRANS_IDLE && !db->in_tx, "and the transaction is over");
        tap_ok(hg_db_q(odb, &r, "SELECT count(*) FROM hg_unit_pipeline", 0) == APR_SUCCESS
               && !strcmp(hg_db_val(r, 0, 0), "2"), "another connection sees both rows: committed");

        tap_is_int(hg_db_begin_q(db, &r, "SELECT 1/$1::int", 1, "0"), HG_EDB, "begin_q with a failing statement: HG_EDB");
        tap_ok(!strcmp(db->sqlstate, "22012") && PQtransactionStatus(conn) == PQTRANS_IDLE && !db->in_tx,
               "its SQLSTATE, and no transaction left open");

        hg_db_begin_q(db, NULL, "INSERT INTO hg_unit_pipeline VALUES ($1, $2::int)", 2, "c", "3");
        tap_is_int(hg_db_q_commit(db, NULL, "INSERT INTO hg_unit_pipeline VALUES ($1, $2::int)", 2, "a", "4"),
                   HG_ECONFLICT, "q_commit with a unique violation: HG_ECONFLICT");
        tap_ok(PQtransactionStatus(conn) == PQTRANS_IDLE && hg_db_q(odb, &r, "SELECT count(*) FROM hg_unit_pipeline "
               "WHERE k = 'c'", 0) == APR_SUCCESS && !strcmp(hg_db_val(r, 0, 0), "0"),
               "the whole transaction rolled back (the row before it is gone too)");

        hg_db_begin_q(db, NULL, "INSERT INTO hg_unit_pipeline VALUES ($1, $2::int)", 2, "d", "1");
        tap_is_int(hg_db_q_commit(db, NULL, "INSERT INTO hg_unit_pipeline VALUES ($1, $2::int)", 2, "e", "5"),
                   HG_ECONFLICT, "a constraint that fails only at COMMIT: HG_ECONFLICT from the commit");
        tap_ok(PQtransactionStatus(conn) == PQTRANS_IDLE && hg_db_q(odb, &r, "SELECT count(*) FROM hg_unit_pipeline "
               "WHERE k IN ('d', 'e')", 0) == APR_SUCCESS && !strcmp(hg_db_val(r, 0, 0), "0"), "nothing of it stays");
        tap_is_int(hg_db_q_commit(db, NULL, "SELECT $1::int", 1, "1"), APR_EINVAL, "q_commit outside a transaction: refused");

        /* several statements in one round trip (a write and its journal row) */
        {
            const char *p1[] = { "f", "6" }, *p2[] = { "g", "7" }, *p3[] = { "h", "8" }, *p4[] = { "i", "9" };
            hg_db_stmt_t two[2] = { { "INSERT INTO hg_unit_pipeline VALUES ($1, $2::int) RETURNING k || d", 2, p1 },
                                    { "INSERT INTO hg_unit_pipeline VALUES ($1, $2::int)", 2, p2 } };
            tap_ok(hg_db_pipeline(db, &r, two, 2, HG_DB_BEGIN | HG_DB_COMMIT) == APR_SUCCESS
                   && !strcmp(hg_db_val(r, 0, 0), "f6") && !db->in_tx && PQtransactionStatus(conn) == PQTRANS_IDLE,
                   "pipeline BEGIN, two statements, COMMIT: the first one's result, no transaction left");
            tap_ok(hg_db_q(odb, &r, "SELECT count(*) FROM hg_unit_pipeline WHERE k IN ('f', 'g')", 0) == APR_SUCCESS
                   && !strcmp(hg_db_val(r, 0, 0), "2"), "both committed");
            two[0].params = p3;          /* h: fine; then g again: a unique violation in the second */
            tap_is_int(hg_db_pipeline(db, &r, two, 2, HG_DB_BEGIN | HG_DB_COMMIT), HG_ECONFLICT,
                       "the second statement fails: its error");
            tap_ok(hg_db_q(odb, &r, "SELECT count(*) FROM hg_unit_pipeline WHERE k = 'h'", 0) == APR_SUCCESS
                   && !strcmp(hg_db_val(r, 0, 0), "0") && PQtransactionStatus(conn) == PQTRANS_IDLE,
                   "and the first is rolled back with it");
            tap_is_int(hg_db_pipeline(db, NULL, two, 1, HG_DB_COMMIT), APR_EINVAL,
                       "COMMIT without BEGIN outside a transaction: refused");
            tap_is_int(hg_db_pipeline(db, NULL, two, 0, HG_DB_BEGIN), APR_EINVAL, "no statement: refused");
            hg_db_begin(db);
            two[0].params = p4;
            tap_ok(hg_db_pipeline(db, NULL, two, 1, HG_DB_COMMIT) == APR_SUCCESS && !db->in_tx
                   && hg_db_q(odb, &r, "SELECT count(*) FROM hg_unit_pipeline WHERE k = 'i'", 0) == APR_SUCCESS
                   && !strcmp(hg_db_val(r, 0, 0), "1"), "an open transaction ends with the pipeline's COMMIT");
        }
        tap_ok(hg_db_q(db, &r, sql, 1, "6") == APR_SUCCESS && atoi(hg_db_val(r, 0, 0)) == 7,
               "the connection is back to normal mode afterwards");

        /* an array parameter: every element comes back as it went, NULL as NULL */
        {
            const char *odd[] = { "plain", "with,comma", "{braces}", "quote\"in", "back\\slash", "",
                                  NULL, "NULL", " blanks ", "中文", "new\nline" };
            int i, n = (int)(sizeof(odd) / sizeof(*odd)), same = 0;
            apr_status_t arv = hg_db_q(db, &r, "SELECT v, v IS NULL FROM unnest($1::text[]) WITH ORDINALITY AS u(v, i) "
                                       "ORDER BY i", 1, hg_db_array(p, odd, n));
            for (i = 0; arv == APR_SUCCESS && i < r->nrows && i < n; i++)
                same += odd[i] ? !strcmp(hg_db_val(r, i, 1), "f") && !strcmp(hg_db_val(r, i, 0), odd[i])
                               : !strcmp(hg_db_val(r, i, 1), "t");
            tap_ok(arv == APR_SUCCESS && r->nrows == n && same == n,
                   "hg_db_array: %d odd texts (quotes, backslashes, commas, braces, NULL and 'NULL') round-trip", n);
            tap_ok(hg_db_q(db, &r, "SELECT cardinality($1::text[])", 1, hg_db_array(p, odd, 0)) == APR_SUCCESS
                   && !strcmp(hg_db_val(r, 0, 0), "0"), "and no element is the empty array");
        }
        hg_db_q(db, NULL, "DROP TABLE hg_unit_pipeline", 0);
        PQfinish(other);
    }

    PQfinish(conn);                   /* frees the statement table (valgrind-clean by design) */
    apr_pool_destroy(p);
    apr_terminate();
    tap_plan(tap_n);
    return tap_done();
}
