/* Unit tests for mod_injury/injury_platform: the connection goes back while the platform works on
 * a business call (injury_ctx_t's db_release / db_reacquire) and the answer is read with the one
 * taken again; a connection that does not come back; a call after that sends nothing; calls that
 * wait for another's sys0001 login do so without their connection.  A loopback HTTP server plays
 * the platform; PostgreSQL is HG_DSN's (a session row of an institution of this test's own). */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <pthread.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>
#include "tap.h"
#include "tap_db.h"
#include "tap_http.h"
#include "hg_status.h"
#include "hg_http.h"
#include "hg_json.h"
#include "injury_platform.h"

#define AKB "HUNITSLOT01"

static int srv_port;
static volatile int released;       /* the fake glue holds the connection back now */
static volatile int seen_released;  /* what the platform saw when the last business request came */
static volatile int hits, logins;

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[65536], out[1024];
    size_t hlen, clen;
    const char *answer, *hend;
    if (tap_http_read(fd, buf, sizeof(buf) - 1, &hlen, &clen) != 0)
        goto done;
    hend = buf + hlen;
    if (strstr(hend, "<function_id>sys0001</function_id>")) {
        logins++;
        answer = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><program><return_code>1</return_code>"
                 "<return_code_message>ok</return_code_message><session_id>SUNIT2</session_id></program>";
    }
    else {
        hits++;
        seen_released = released;
        answer = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><program><return_code>1</return_code>"
                 "<return_code_message>ok</return_code_message></program>";
    }
    snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n%s", strlen(answer), answer);
    send(fd, out, strlen(out), MSG_NOSIGNAL);
done:
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    for (;;) {
        pthread_t t;
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_create(&t, NULL, serve, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
    return NULL;
}

static int start_server(void)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    pthread_t t;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0)
        return -1;
    getsockname(fd, (struct sockaddr *)&a, &al);
    srv_port = ntohs(a.sin_port);
    pthread_create(&t, NULL, accept_loop, (void *)(intptr_t)fd);
    pthread_detach(t);
    return 0;
}

/* the glue's part, faked: counts, and which connection comes back (or none) */
typedef struct glue_t {
    hg_db_t *back;              /* the connection reacquire hands out */
    apr_status_t fail;          /* reacquire's answer instead, when set */
    int releases, reacquires;
} glue_t;

static void g_release(void *baton)
{
    ((glue_t *)baton)->releases++;
    released = 1;
}

static apr_status_t g_reacquire(void *baton, hg_db_t **db)
{
    glue_t *g = baton;
    g->reacquires++;
    if (g->fail) {
        *db = NULL;
        return g->fail;
    }
    released = 0;
    *db = g->back;
    return APR_SUCCESS;
}

static int exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        printf("# %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    return ok;
}

typedef struct waiter_t {
    injury_ctx_t *x;
    const injury_fn_t *fn;
    json_t *in;
    injury_result_t r;
    apr_status_t rv;
    volatile int done;
} waiter_t;

static void *wait_call(void *arg)
{
    waiter_t *w = arg;
    const char *why = NULL;
    w->rv = injury_call(w->x, w->fn, w->in, NULL, NULL, &w->r, &why);
    w->done = 1;
    return NULL;
}

int main(void)
{
    apr_pool_t *p;
    PGconn *c1, *c2, *c3;
    hg_db_t *db1, *db2;
    const char *dsn, *why = NULL;
    injury_conf_t conf;
    injury_ctx_t x;
    injury_result_t r;
    glue_t g;
    const injury_fn_t *fn = injury_fn_find("bizh110001");
    json_t *in;
    apr_status_t rv;
    int st, h;

    if ((st = tap_db_connect(&c1, &dsn)) >= 0)
        return st;
    c2 = PQconnectdb(dsn);
    c3 = PQconnectdb(dsn);
    apr_initialize();
    apr_pool_create(&p, NULL);
    hg_http_global_init();
    if (start_server() != 0) {
        printf("Bail out! no loopback listener\n");
        return 2;
    }
    hg_db_wrap(&db1, p, c1);
    hg_db_wrap(&db2, p, c2);
    memset(&conf, 0, sizeof(conf));
    conf.url = apr_psprintf(p, "http://127.0.0.1:%d/api/call.action", srv_port);
    conf.userid = "unit";
    conf.password = "secret";
    conf.akb020 = AKB;
    conf.timeout_ms = 3000;
    conf.operator_code = "0001";
    conf.operator_name = "op";
    in = hg_json_own(p, json_pack("{s:s, s:s, s:s}", "bka895", "aac001", "bka896", "1000000001", "bka006", "410"));
    exec_ok(c1, "DELETE FROM injury.sessions WHERE akb020 = '" AKB "'");
    exec_ok(c1, "INSERT INTO injury.sessions (akb020, session_id, valid_until) VALUES ('" AKB "', 'SUNIT1', "
                "now() + interval '1 hour')");

    /* 1. with the glue's callbacks: released during the post, the answer read with the new one */
    memset(&g, 0, sizeof(g));
    g.back = db2;
    injury_ctx_init(&x, &conf, db1, p, "H", "req1", NULL);
    x.db_release = g_release;
    x.db_reacquire = g_reacquire;
    x.db_baton = &g;
    rv = injury_call(&x, fn, in, NULL, NULL, &r, &why);
    tap_is_int(rv, APR_SUCCESS, "a call with the callbacks: APR_SUCCESS");
    tap_ok(r.outcome == INJ_O_ANSWERED && r.verdict == INJ_R_OK, "the platform's answer is read");
    tap_is_int(seen_released, 1, "the connection was given back while the platform worked");
    tap_is_int(g.releases * 10 + g.reacquires, 11, "given back once, taken again once");
    tap_ok(x.db == db2, "x->db is the connection taken again, not the one given back");
    tap_is_int(x.db_releases, 1, "db_releases counts it");
    tap_is_int(x.journal->nelts, 1, "the exchange is journalled");

    /* 2. without them (injury_ctx_init's default) the connection is kept */
    injury_ctx_init(&x, &conf, db1, p, "H", "req2", NULL);
    rv = injury_call(&x, fn, in, NULL, NULL, &r, &why);
    tap_ok(rv == APR_SUCCESS && seen_released == 0 && x.db == db1, "no callbacks: the connection is kept");

    /* 3. none comes back: the platform's answer all the same, x->db NULL, the glue's status */
    memset(&g, 0, sizeof(g));
    g.fail = HG_EDBBUSY;
    injury_ctx_init(&x, &conf, db1, p, "H", "req3", NULL);
    x.db_release = g_release;
    x.db_reacquire = g_reacquire;
    x.db_baton = &g;
    rv = injury_call(&x, fn, in, NULL, NULL, &r, &why);
    tap_is_int(rv, HG_EDBBUSY, "no connection came back: HG_EDBBUSY");
    tap_ok(r.outcome == INJ_O_ANSWERED && r.verdict == INJ_R_OK && !strcmp(r.code, "1"),
           "… and *r still says what the platform answered");
    tap_ok(x.db == NULL, "… and x->db is NULL (the old pointer is dead)");
    released = 0;

    /* 4. a later call of that request sends nothing */
    h = hits;
    rv = injury_call(&x, fn, in, NULL, NULL, &r, &why);
    tap_ok(rv == HG_EDBDOWN && r.outcome == INJ_O_UNREACHABLE && hits == h,
           "without a connection a call sends nothing: HG_EDBDOWN, unreachable");

    /* 5. no session, another holds the login lock: this call waits without its connection, then
     *    takes the other's session (no second login) */
    exec_ok(c1, "DELETE FROM injury.sessions WHERE akb020 = '" AKB "'");
    exec_ok(c3, "BEGIN");
    exec_ok(c3, "SELECT pg_advisory_xact_lock(hashtext('injury.sys0001'), hashtext('" AKB "'))");
    {
        waiter_t w;
        pthread_t t;
        int l = logins, waited_released;
        memset(&g, 0, sizeof(g));
        g.back = db1;
        injury_ctx_init(&x, &conf, db1, p, "H", "req5", NULL);
        x.db_release = g_release;
        x.db_reacquire = g_reacquire;
        x.db_baton = &g;
        memset(&w, 0, sizeof(w));
        w.x = &x;
        w.fn = fn;
        w.in = in;
        pthread_create(&t, NULL, wait_call, &w);
        apr_sleep(apr_time_from_msec(700));
        waited_released = g.releases;
        tap_ok(!w.done && waited_released >= 2, "while another logs in, the call waits and gives its connection "
               "back between looks (%d so far)", waited_released);
        exec_ok(c3, "INSERT INTO injury.sessions (akb020, session_id, valid_until) VALUES ('" AKB "', 'SUNIT3', "
                    "now() + interval '1 hour')");
        exec_ok(c3, "COMMIT");
        pthread_join(t, NULL);
        tap_ok(w.rv == APR_SUCCESS && w.r.outcome == INJ_O_ANSWERED && w.r.verdict == INJ_R_OK,
               "then it is answered");
        tap_ok(x.logins == 0 && logins == l, "with the other's session: no login of its own");
        tap_ok(g.reacquires == g.releases && x.db == db1, "every connection given back was taken again");
    }

    exec_ok(c1, "DELETE FROM injury.sessions WHERE akb020 = '" AKB "'");
    PQfinish(c3);
    PQfinish(c2);
    PQfinish(c1);
    tap_plan(tap_n);
    apr_pool_destroy(p);
    apr_terminate();
    return tap_done();
}
