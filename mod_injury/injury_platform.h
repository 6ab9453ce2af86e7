/* injury_platform: one exchange with the provincial work-injury platform — the sys0001 session
 * (shared through injury.sessions, logins serialised by an advisory lock), the XML envelope over
 * hg_http, -9 handled by one re-login and one retry, and the journal of every exchange.
 * No httpd headers. */
#ifndef INJURY_PLATFORM_H
#define INJURY_PLATFORM_H
#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include "hg_db.h"
#include "injury_model.h"

typedef struct injury_conf_t {
    const char *url;               /* the platform's single endpoint */
    const char *userid, *password; /* sys0001 account; the password is never logged or journalled */
    const char *akb020;            /* institution code (医疗机构编码) */
    int timeout_ms;                /* one call */
    const char *operator_code, *operator_name;
    const char *ca_file;           /* outbound TLS (verification always on) */
    const char *institution_name;  /* printed on the slip */
} injury_conf_t;

typedef struct injury_ctx_t {
    const injury_conf_t *conf;
    hg_db_t *db;
    apr_pool_t *p;
    const char *institution, *request_id;
    const unsigned char *audit_key;     /* NULL: no journal (HisgateKeyFile unset) */
    apr_array_header_t *journal;        /* of hg_audit_rec_t, written by injury_journal_flush */
    int logins;                         /* sys0001 calls this request made */
    int relogins;                       /* re-logins after -9 */
    /* The connection goes back while a business call waits on the platform (seconds: a slow
     * platform must not use up the DB slots of every module).  db_release(baton) gives it back;
     * db_reacquire(baton, &db) takes one again: APR_SUCCESS and a new db, or HG_EDBBUSY /
     * HG_EDBDOWN (db NULL).  NULL (injury_ctx_init's default): the connection is kept. */
    void (*db_release)(void *baton);
    apr_status_t (*db_reacquire)(void *baton, hg_db_t **db);
    void *db_baton;
    int db_releases;                    /* times it went back (and came back, or did not) */
} injury_ctx_t;

typedef enum {
    INJ_O_ANSWERED,      /* the platform answered (verdict says how) */
    INJ_O_UNREACHABLE,   /* provably nothing was sent (or the login failed): safe to retry */
    INJ_O_UNKNOWN        /* sent, no usable answer: outcome unknown */
} injury_outcome_t;

typedef struct injury_result_t {
    injury_outcome_t outcome;
    injury_verdict_t verdict;
    json_t *answer;            /* the <program> as JSON (owned by the pool) */
    const char *code, *msg;    /* return_code / return_code_message */
    const char *error;         /* transport or login failure, no secrets */
    int http_status;
    int login_failed;
} injury_result_t;

void injury_ctx_init(injury_ctx_t *x, const injury_conf_t *conf, hg_db_t *db, apr_pool_t *p,
                     const char *institution, const char *request_id, const unsigned char *audit_key);

/* fn with the HIS's fields in (dataset replaced by rows when given).  APR_SUCCESS with *r filled
 * whatever the platform did; HG_EINVALID (*why) when the XML cannot be built; DB errors as they come.
 * The business request is posted without the connection (when db_release is set and no
 * transaction is open: commit first what must survive the wait); x->db is the new connection
 * after it.  HG_EDBBUSY / HG_EDBDOWN: none could be had again — *r still says what the platform
 * did, x->db is NULL, nothing was recorded after the call. */
apr_status_t injury_call(injury_ctx_t *x, const injury_fn_t *fn, json_t *in, const char *dataset, json_t *rows,
                         injury_result_t *r, const char **why);

/* write the collected exchanges to hg.audit (call with no transaction open) */
void injury_journal_flush(injury_ctx_t *x);
#endif
