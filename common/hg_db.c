#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <stdarg.h>
#include <poll.h>
#include <libpq-events.h>
#include <apr_strings.h>
#include "hg_db.h"

apr_status_t hg_db_revive(PGconn *conn)
{
    struct pollfd pfd;
    if (!conn)
        return HG_EDBDOWN;
    pfd.fd = PQsocket(conn);
    pfd.events = POLLIN;
    pfd.revents = 0;
    /* an idle connection has nothing to say unless the server is leaving (we use no LISTEN):
     * its goodbye (FATAL 57P01 + EOF) would only surface on the next query, so start afresh */
    if (PQstatus(conn) != CONNECTION_OK || (pfd.fd >= 0 && poll(&pfd, 1, 0) > 0))
        PQreset(conn);
    return PQstatus(conn) == CONNECTION_OK ? APR_SUCCESS : HG_EDBDOWN;
}

apr_status_t hg_db_wrap(hg_db_t **pdb, apr_pool_t *p, PGconn *conn)
{
    hg_db_t *db;
    if (!conn)
        return HG_EDBDOWN;
    db = apr_pcalloc(p, sizeof(*db));
    db->conn = conn;
    db->pool = p;
    *pdb = db;
    return PQstatus(conn) == CONNECTION_OK ? APR_SUCCESS : HG_EDBDOWN;
}

static apr_status_t fail(hg_db_t *db, PGresult *r)
{
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    apr_cpystrn(db->sqlstate, st ? st : "", sizeof(db->sqlstate));
    db->errmsg = apr_pstrdup(db->pool, r ? PQresultErrorMessage(r) : PQerrorMessage(db->conn));
    if (r)
        PQclear(r);
    if (PQstatus(db->conn) != CONNECTION_OK)
        return HG_EDBDOWN;
    if (strcmp(db->sqlstate, "23505") == 0)
        return HG_ECONFLICT;
    return HG_EDB;
}

/* ---- prepared statements, per connection ----
 * Every statement of a module is a constant string used again and again; PQexecParams would have
 * the server parse and plan it on every call (about a tenth of PostgreSQL's time per bill).  Each
 * connection prepares a statement once, under a name, and executes it by name after.  The table
 * hangs off the connection through libpq's event interface, so it is emptied when PQreset gives
 * the connection a new server session and freed with the connection. */
#define STMT_SLOTS 512             /* open addressing; at most half used */
#define STMT_MAX   (STMT_SLOTS / 2)

typedef struct stmt_slot_t {
    char        *sql;              /* malloc'ed copy; NULL = empty slot */
    unsigned int hash;
} stmt_slot_t;

typedef struct stmt_cache_t {
    stmt_slot_t slot[STMT_SLOTS];
    int         used;
} stmt_cache_t;

static void stmt_cache_clear(stmt_cache_t *c)
{
    int i;
    for (i = 0; i < STMT_SLOTS; i++) {
        free(c->slot[i].sql);
        c->slot[i].sql = NULL;
    }
    c->used = 0;
}

static int stmt_event(PGEventId id, void *info, void *pass)
{
    stmt_cache_t *c;
    (void)pass;
    switch (id) {
    case PGEVT_CONNRESET:
        if ((c = PQinstanceData(((PGEventConnReset *)info)->conn, stmt_event)))
            stmt_cache_clear(c);
        break;
    case PGEVT_CONNDESTROY:
        if ((c = PQinstanceData(((PGEventConnDestroy *)info)->conn, stmt_event))) {
            stmt_cache_clear(c);
            free(c);
        }
        break;
    default:
        break;
    }
    return 1;
}

static unsigned int stmt_hash(const char *s)
{
    unsigned int h = 2166136261u;  /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Statements worth preparing: data statements, not transaction control (BEGIN, COMMIT, SET …) */
static int stmt_preparable(const char *sql)
{
    static const char *const verbs[] = { "SELECT", "WITH", "INSERT", "UPDATE", "DELETE", NULL };
    int i;
    for (i = 0; verbs[i]; i++)
        if (!strncmp(sql, verbs[i], strlen(verbs[i])))
            return 1;
    return 0;
}

/* Every module links its own copy of this file (hidden symbols), and one pooled connection serves
 * mod_hisgate and a business module in the same request: each copy keeps its own table, so the
 * names carry the copy's identity (the address of its event procedure) as well as the slot. */
static void stmt_format_name(char name[32], unsigned int slot)
{
    snprintf(name, 32, "hg%lx_%u", (unsigned long)(uintptr_t)&stmt_event, slot);
}

/* the statement's name on this connection ("hg<copy>_<slot>"), preparing it first when new; NULL = run it
 * unnamed (not preparable, the table is full, or the connection takes no events) */
static const char *stmt_name(hg_db_t *db, const char *sql, int n, char name[32], PGresult **err)
{
    stmt_cache_t *c = PQinstanceData(db->conn, stmt_event);
    unsigned int h, i;
    PGresult *r;

    *err = NULL;
    if (!stmt_preparable(sql))
        return NULL;
    if (!c) {
        if (!PQregisterEventProc(db->conn, stmt_event, "hg_db statements", NULL)
            || !(c = calloc(1, sizeof(*c))))
            return NULL;
        if (!PQsetInstanceData(db->conn, stmt_event, c)) {
            free(c);
            return NULL;
        }
    }
    h = stmt_hash(sql);
    for (i = h % STMT_SLOTS; c->slot[i].sql; i = (i + 1) % STMT_SLOTS)
        if (c->slot[i].hash == h && !strcmp(c->slot[i].sql, sql)) {
            stmt_format_name(name, i);
            return name;
        }
    if (c->used >= STMT_MAX)
        return NULL;
    stmt_format_name(name, i);
    r = PQprepare(db->conn, name, sql, n, NULL);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        *err = r;                  /* the statement itself is wrong: its error is the answer */
        return NULL;
    }
    PQclear(r);
    if (!(c->slot[i].sql = strdup(sql))) {
        PQclear(PQexec(db->conn, apr_psprintf(db->pool, "DEALLOCATE %s", name)));
        return NULL;
    }
    c->slot[i].hash = h;
    c->used++;
    return name;
}

static void keep_result(hg_db_t *db, hg_db_result_t **pres, PGresult *r);

apr_status_t hg_db_exec(hg_db_t *db, hg_db_result_t **pres, const char *sql, int n,
                        const char *const *params)
{
    PGresult *r;
    ExecStatusType st;
    const char *name;
    char buf[32];

    db->sqlstate[0] = '\0';
    db->errmsg = NULL;
    name = stmt_name(db, sql, n, buf, &r);
    if (!r)
        r = name ? PQexecPrepared(db->conn, name, n, params, NULL, NULL, 0)
                 : PQexecParams(db->conn, sql, n, NULL, params, NULL, NULL, 0);
    st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return fail(db, r);
    keep_result(db, pres, r);
    PQclear(r);
    return APR_SUCCESS;
}

/* the whole result in pool memory */
static void keep_result(hg_db_t *db, hg_db_result_t **pres, PGresult *r)
{
    hg_db_result_t *res;
    int i, j;
    if (pres) {
        res = apr_pcalloc(db->pool, sizeof(*res));
        res->nrows = PQntuples(r);
        res->ncols = PQnfields(r);
        res->names = apr_pcalloc(db->pool, sizeof(char *) * (res->ncols + 1));
        for (j = 0; j < res->ncols; j++)
            res->names[j] = apr_pstrdup(db->pool, PQfname(r, j));
        res->vals = apr_pcalloc(db->pool, sizeof(char *) * ((apr_size_t)res->nrows * res->ncols + 1));
        for (i = 0; i < res->nrows; i++)
            for (j = 0; j < res->ncols; j++)
                if (!PQgetisnull(r, i, j))
                    res->vals[i * res->ncols + j] =
                        apr_pstrmemdup(db->pool, PQgetvalue(r, i, j), PQgetlength(r, i, j));
        res->affected = atol(PQcmdTuples(r));
        *pres = res;
    }
}

apr_status_t hg_db_q(hg_db_t *db, hg_db_result_t **res, const char *sql, int n, ...)
{
    const char *params[32];
    va_list ap;
    int i;
    if (n > 32)
        return APR_EINVAL;
    va_start(ap, n);
    for (i = 0; i < n; i++)
        params[i] = va_arg(ap, const char *);
    va_end(ap);
    return hg_db_exec(db, res, sql, n, params);
}

/* Statements sent at once (libpq pipeline mode), optionally opened by BEGIN and closed by COMMIT:
 * one round trip instead of one per statement.  The first statement's result is what the caller
 * gets; the first error of any of them is the answer, and then the transaction is rolled back. */
static apr_status_t pipelined(hg_db_t *db, hg_db_result_t **pres, int before, const hg_db_stmt_t *stmts,
                              int count, int after)
{
    PGconn *conn = db->conn;
    PGresult *r, *mine = NULL, *err = NULL;
    const char *names[HG_DB_PIPELINE_MAX];
    char bufs[HG_DB_PIPELINE_MAX][32];
    int cmds = before + count + after, mine_at = before, i, ok;

    if (count < 1 || count > HG_DB_PIPELINE_MAX)
        return APR_EINVAL;
    db->sqlstate[0] = '\0';
    db->errmsg = NULL;
    for (i = 0; i < count; i++) {      /* a new statement is prepared first, on its own */
        names[i] = stmt_name(db, stmts[i].sql, stmts[i].n, bufs[i], &r);
        if (r) {
            apr_status_t rv = fail(db, r);
            hg_db_rollback(db);
            return rv;
        }
    }
    if (!PQenterPipelineMode(conn))
        return fail(db, NULL);
    ok = !before || PQsendQueryParams(conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    for (i = 0; ok && i < count; i++)
        ok = names[i] ? PQsendQueryPrepared(conn, names[i], stmts[i].n, stmts[i].params, NULL, NULL, 0)
                      : PQsendQueryParams(conn, stmts[i].sql, stmts[i].n, NULL, stmts[i].params, NULL, NULL, 0);
    ok = ok && (!after || PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0))
         && PQpipelineSync(conn);
    if (!ok) {
        PQexitPipelineMode(conn);
        return fail(db, NULL);
    }
    /* each command's results end with NULL; after a failure the rest come back "aborted" */
    for (i = 0; i < cmds && PQstatus(conn) == CONNECTION_OK; i++)
        while ((r = PQgetResult(conn))) {
            ExecStatusType st = PQresultStatus(r);
            if (i == mine_at && !mine && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK))
                mine = r;
            else if (!err && st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && st != PGRES_PIPELINE_ABORTED)
                err = r;
            else
                PQclear(r);
        }
    if (PQstatus(conn) == CONNECTION_OK && (r = PQgetResult(conn)))      /* the sync */
        PQclear(r);
    PQexitPipelineMode(conn);
    if (err || !mine || PQstatus(conn) != CONNECTION_OK) {
        apr_status_t rv;
        if (mine)
            PQclear(mine);
        rv = fail(db, err);
        hg_db_rollback(db);       /* BEGIN went through but a statement did not, or COMMIT failed */
        return rv;
    }
    keep_result(db, pres, mine);
    PQclear(mine);
    db->in_tx = after ? 0 : (before || db->in_tx);
    return APR_SUCCESS;
}

static apr_status_t pipelined_va(hg_db_t *db, hg_db_result_t **res, int before, const char *sql, int n,
                                 int after, va_list ap)
{
    const char *params[32];
    hg_db_stmt_t st = { sql, n, params };
    int i;
    if (n > 32)
        return APR_EINVAL;
    for (i = 0; i < n; i++)
        params[i] = va_arg(ap, const char *);
    return pipelined(db, res, before, &st, 1, after);
}

apr_status_t hg_db_begin_q(hg_db_t *db, hg_db_result_t **res, const char *sql, int n, ...)
{
    apr_status_t rv;
    va_list ap;
    va_start(ap, n);
    rv = pipelined_va(db, res, 1, sql, n, 0, ap);
    va_end(ap);
    return rv;
}

apr_status_t hg_db_q_commit(hg_db_t *db, hg_db_result_t **res, const char *sql, int n, ...)
{
    apr_status_t rv;
    va_list ap;
    if (!db->in_tx)
        return APR_EINVAL;
    va_start(ap, n);
    rv = pipelined_va(db, res, 0, sql, n, 1, ap);
    va_end(ap);
    return rv;
}

apr_status_t hg_db_pipeline(hg_db_t *db, hg_db_result_t **res, const hg_db_stmt_t *stmts, int count,
                            unsigned flags)
{
    if ((flags & HG_DB_COMMIT) && !(flags & HG_DB_BEGIN) && !db->in_tx)
        return APR_EINVAL;
    return pipelined(db, res, (flags & HG_DB_BEGIN) != 0, stmts, count, (flags & HG_DB_COMMIT) != 0);
}

apr_status_t hg_db_begin(hg_db_t *db)
{
    apr_status_t rv = hg_db_exec(db, NULL, "BEGIN", 0, NULL);
    if (rv == APR_SUCCESS)
        db->in_tx = 1;
    return rv;
}

apr_status_t hg_db_commit(hg_db_t *db)
{
    apr_status_t rv;
    if (!db->in_tx)
        return APR_EINVAL;
    rv = hg_db_exec(db, NULL, "COMMIT", 0, NULL);
    if (rv != APR_SUCCESS)
        hg_db_rollback(db);
    db->in_tx = 0;
    return rv;
}

void hg_db_rollback(hg_db_t *db)
{
    PGresult *r;
    /* plain ROLLBACK outside a transaction only warns; keep the pooled connection clean either way */
    if (PQstatus(db->conn) == CONNECTION_OK && PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
        r = PQexec(db->conn, "ROLLBACK");
        if (r)
            PQclear(r);
    }
    db->in_tx = 0;
}

apr_status_t hg_db_tx(hg_db_t *db, hg_db_tx_fn *fn, void *baton)
{
    apr_status_t rv;
    if ((rv = hg_db_begin(db)) != APR_SUCCESS)
        return rv;
    rv = fn(db, baton);
    if (rv != APR_SUCCESS) {
        /* keep the first error's diagnostics, not the rollback's */
        hg_db_rollback(db);
        return rv;
    }
    return hg_db_commit(db);
}

const char *hg_db_val(const hg_db_result_t *res, int row, int col)
{
    if (!res || row < 0 || row >= res->nrows || col < 0 || col >= res->ncols)
        return NULL;
    return res->vals[row * res->ncols + col];
}

const char *hg_db_get(const hg_db_result_t *res, int row, const char *col)
{
    int j;
    if (!res)
        return NULL;
    for (j = 0; j < res->ncols; j++)
        if (strcmp(res->names[j], col) == 0)
            return hg_db_val(res, row, j);
    return NULL;
}

const char *hg_db_array(apr_pool_t *p, const char *const *vals, int n)
{
    apr_size_t len = 3;
    char *out, *o;
    const char *c;
    int i;
    for (i = 0; i < n; i++)
        len += vals[i] ? 2 * strlen(vals[i]) + 3 : 5;
    o = out = apr_palloc(p, len);
    *o++ = '{';
    for (i = 0; i < n; i++) {
        if (i)
            *o++ = ',';
        if (!vals[i]) {
            memcpy(o, "NULL", 4);
            o += 4;
            continue;
        }
        /* quoted, so that commas, braces, blanks and the word NULL are plain text */
        *o++ = '"';
        for (c = vals[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                *o++ = '\\';
            *o++ = *c;
        }
        *o++ = '"';
    }
    *o++ = '}';
    *o = '\0';
    return out;
}

apr_status_t hg_db_exec_script(hg_db_t *db, const char *sql)
{
    PGresult *r = PQexec(db->conn, sql);   /* simple protocol: several statements in one string */
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
        return fail(db, r);
    PQclear(r);
    return APR_SUCCESS;
}
