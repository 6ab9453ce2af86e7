/* The test cluster for unit tests that need PostgreSQL (HG_DSN, set by make test). */
#ifndef HG_TAP_DB_H
#define HG_TAP_DB_H
#include <stdio.h>
#include <stdlib.h>
#include <libpq-fe.h>

/* *conn connected to HG_DSN and -1, or the exit status the test must end with now: 0 after a
 * SKIP plan when HG_DSN is not set, 2 after "Bail out!" when the cluster cannot be reached */
static inline int tap_db_connect(PGconn **conn, const char **dsn)
{
    *dsn = getenv("HG_DSN");
    *conn = NULL;
    if (!*dsn || !**dsn) {
        printf("1..0 # SKIP HG_DSN is not set (make test sets it)\n");
        return 0;
    }
    *conn = PQconnectdb(*dsn);
    if (PQstatus(*conn) != CONNECTION_OK) {
        printf("Bail out! cannot connect to HG_DSN: %s", PQerrorMessage(*conn));
        return 2;
    }
    return -1;
}
#endif
