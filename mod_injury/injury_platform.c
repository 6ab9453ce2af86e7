/* injury_platform: see injury_platform.h.  No httpd headers. */
#include <string.h>
#include <apr_strings.h>
#include "injury_platform.h"
#include "hg_audit.h"
#include "hg_http.h"
#include "hg_json.h"
#include "hg_xml.h"

#define REDACTED_LOGIN "<?xml version=\"1.0\" encoding=\"UTF-8\"?><program><function_id>sys0001</function_id>" \
                       "<userid>%s</userid><password>(redacted)</password></program>"

void injury_ctx_init(injury_ctx_t *x, const injury_conf_t *conf, hg_db_t *db, apr_pool_t *p,
                     const char *institution, const char *request_id, const unsigned char *audit_key)
{
    memset(x, 0, sizeof(*x));
    x->conf = conf;
    x->db = db;
    x->p = p;
    x->institution = institution;
    x->request_id = request_id;
    x->audit_key = audit_key;
    x->journal = apr_array_make(p, 4, sizeof(hg_audit_rec_t));
}

/* every exchange: the journal row (bodies are encrypted at rest by hg_audit; the login's password
 * is replaced before it gets there) */
static void observe(void *baton, apr_pool_t *p, const hg_http_req_t *req, const hg_http_resp_t *resp,
                    apr_status_t rv)
{
    injury_ctx_t *x = baton;
    hg_audit_rec_t *rec = apr_array_push(x->journal);
    int login = req->endpoint_name && !strcmp(req->endpoint_name, "injury.sys0001");
    memset(rec, 0, sizeof(*rec));
    rec->institution = x->institution;
    rec->caller = "hisgate";
    rec->direction = "out";
    rec->endpoint = apr_pstrdup(x->p, req->endpoint_name ? req->endpoint_name : "injury");
    rec->request_id = x->request_id;
    rec->status = resp && resp->status ? resp->status : (rv == HG_ETIMEOUT ? 504 : 502);
    rec->elapsed_ms = resp ? (int)resp->elapsed_ms : 0;
    if (login)
        rec->req_body = apr_psprintf(x->p, REDACTED_LOGIN, x->conf->userid ? x->conf->userid : "");
    else
        rec->req_body = apr_pstrmemdup(x->p, req->body ? req->body : "", req->body ? req->body_len : 0);
    rec->req_len = strlen(rec->req_body);
    if (resp && resp->body) {
        rec->resp_body = apr_pstrmemdup(x->p, resp->body, resp->body_len);
        rec->resp_len = resp->body_len;
    }
}

void injury_journal_flush(injury_ctx_t *x)
{
    int i;
    if (x->audit_key && x->db)
        for (i = 0; i < x->journal->nelts; i++)
            hg_audit_insert(x->db, x->audit_key, &APR_ARRAY_IDX(x->journal, i, hg_audit_rec_t));
    apr_array_clear(x->journal);
}

/* one POST of an XML document.  Outside a transaction the connection goes back for the wait
 * (x->db_release) and is taken again after it, before anything reads the answer: a non-zero
 * return (HG_EDBBUSY / HG_EDBDOWN) says none came back (x->db NULL); *r is filled either way.
 * Inside one (the login, under its advisory lock) the connection is kept. */
static apr_status_t post(injury_ctx_t *x, const char *endpoint, const char *xml, injury_result_t *r)
{
    hg_http_req_t req;
    hg_http_resp_t *resp = NULL;
    apr_status_t rv, back = APR_SUCCESS;
    int released = 0;

    memset(r, 0, sizeof(*r));
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = x->conf->url;
    req.headers = apr_table_make(x->p, 2);
    apr_table_setn(req.headers, "Content-Type", "text/xml; charset=utf-8");
    req.body = xml;
    req.body_len = strlen(xml);
    req.timeout_ms = x->conf->timeout_ms;
    req.connect_timeout_ms = HG_HTTP_CONNECT_TIMEOUT_MS < x->conf->timeout_ms ? HG_HTTP_CONNECT_TIMEOUT_MS
                                                                             : x->conf->timeout_ms;
    req.idempotent = 0;            /* never resent blindly: a settlement must not happen twice */
    req.ca_file = x->conf->ca_file;
    req.endpoint_name = endpoint;
    req.observer = observe;
    req.observer_baton = x;
    if (x->db_release && x->db_reacquire && x->db && !x->db->in_tx) {
        x->db_release(x->db_baton);
        x->db = NULL;
        x->db_releases++;
        released = 1;
    }
    rv = hg_http_do(&resp, x->p, &req);
    if (released && (back = x->db_reacquire(x->db_baton, &x->db)) != APR_SUCCESS)
        x->db = NULL;
    r->http_status = resp ? resp->status : 0;
    if (rv == HG_EHTTP && r->http_status == 0) {
        r->outcome = INJ_O_UNREACHABLE;
        r->error = resp && resp->error ? resp->error : "platform not reached";
        return back;
    }
    if (rv != APR_SUCCESS) {
        r->outcome = INJ_O_UNKNOWN;
        r->error = rv == HG_ETIMEOUT ? apr_psprintf(x->p, "no answer within %d ms (%s)", x->conf->timeout_ms,
                                                    resp && resp->error ? resp->error : "timeout")
                                     : resp && resp->error ? resp->error : "the answer was refused";
        return back;
    }
    /* [DG]: this text in a body is the platform's own transport-level failure */
    if (resp->status != 200 || (resp->body && strstr(resp->body, "服务执行发生异常"))) {
        r->outcome = INJ_O_UNKNOWN;
        r->error = apr_psprintf(x->p, "the platform answered HTTP %d without a usable answer", resp->status);
        return back;
    }
    r->outcome = INJ_O_ANSWERED;
    r->verdict = injury_parse_answer(x->p, resp->body, resp->body_len, &r->answer, &r->code, &r->msg);
    if (r->verdict == INJ_R_GARBLED) {
        r->outcome = INJ_O_UNKNOWN;
        r->error = "the answer is not a <program> with a return_code";
    }
    return back;
}

/* sys0001 with the configured account */
static apr_status_t login(injury_ctx_t *x, const char **sid, injury_result_t *r)
{
    hg_xml_writer_t *w;
    const char *xml, *s;
    hg_xml_w_create(&w, x->p);
    hg_xml_w_open(w, "program");
    hg_xml_w_elem(w, "function_id", "sys0001");
    hg_xml_w_elem(w, "userid", x->conf->userid);
    hg_xml_w_elem(w, "password", x->conf->password);
    hg_xml_w_close(w);
    if (!(xml = hg_xml_w_result(w))) {
        memset(r, 0, sizeof(*r));
        r->outcome = INJ_O_UNREACHABLE;
        r->login_failed = 1;
        r->error = "the login request cannot be written (InjuryAccount is not valid UTF-8)";
        return HG_EINVALID;
    }
    x->logins++;
    post(x, "injury.sys0001", xml, r);     /* in session()'s transaction: the connection is kept */
    if (r->outcome == INJ_O_ANSWERED && r->verdict == INJ_R_OK
        && (s = hg_json_gets(r->answer, "session_id", NULL)) && *s) {
        *sid = s;
        return APR_SUCCESS;
    }
    r->login_failed = 1;
    if (r->outcome == INJ_O_ANSWERED)
        r->error = apr_psprintf(x->p, "login sys0001 refused: %s %s", r->code, r->msg);
    else
        r->error = apr_psprintf(x->p, "login sys0001 failed: %s", r->error ? r->error : "no answer");
    r->outcome = INJ_O_UNREACHABLE;     /* the business call itself was not sent */
    return HG_EAUTH;
}

#define LOGIN_POLL_MS 200      /* a call waiting for another's login looks again this often */

/* The session: the stored one while valid (and not the one the platform just called stale);
 * otherwise log in — under a transaction-level advisory lock, so two children or nodes never log
 * in at once: the second waits, then finds and reuses the first's session.  The one logging in
 * keeps its connection (the lock is its transaction's); the others wait without theirs when they
 * can give it back (x->db_release): they try the lock, and while another holds it they look for
 * its session every LOGIN_POLL_MS with a connection taken again for the look only — a slow
 * platform at midnight must not hold a slot per waiting call.  Past two timeouts they wait on the
 * lock as before. */
static apr_status_t session(injury_ctx_t *x, const char *stale, const char **sid, injury_result_t *r)
{
    hg_db_result_t *res;
    apr_status_t rv;
    const char *akb = x->conf->akb020;
    apr_time_t until = apr_time_now() + apr_time_from_msec(2 * (apr_int64_t)x->conf->timeout_ms + 1000);

    if (!stale) {
        if ((rv = hg_db_q(x->db, &res, "SELECT session_id FROM injury.sessions WHERE akb020 = $1 "
                          "AND valid_until > now()", 1, akb)))
            return rv;
        if (res->nrows == 1) {
            *sid = hg_db_val(res, 0, 0);
            return APR_SUCCESS;
        }
    }
    for (;;) {
        int polite = x->db_release && x->db_reacquire && !x->db->in_tx && apr_time_now() < until;
        if ((rv = hg_db_begin(x->db)))
            return rv;
        if (!polite) {
            if ((rv = hg_db_q(x->db, NULL, "SELECT pg_advisory_xact_lock(hashtext('injury.sys0001'), hashtext($1))",
                              1, akb))) {
                hg_db_rollback(x->db);
                return rv;
            }
            break;
        }
        if ((rv = hg_db_q(x->db, &res, "SELECT pg_try_advisory_xact_lock(hashtext('injury.sys0001'), hashtext($1))",
                          1, akb))) {
            hg_db_rollback(x->db);
            return rv;
        }
        if (!strcmp(hg_db_val(res, 0, 0), "t"))
            break;
        /* another child or node is logging in: wait for its session without a connection */
        hg_db_rollback(x->db);
        x->db_release(x->db_baton);
        x->db = NULL;
        x->db_releases++;
        apr_sleep(apr_time_from_msec(LOGIN_POLL_MS));
        if ((rv = x->db_reacquire(x->db_baton, &x->db))) {
            x->db = NULL;
            return rv;
        }
        if ((rv = hg_db_q(x->db, &res, "SELECT session_id FROM injury.sessions WHERE akb020 = $1 "
                          "AND valid_until > now() AND session_id IS DISTINCT FROM $2", 2, akb, stale)))
            return rv;
        if (res->nrows == 1) {
            *sid = hg_db_val(res, 0, 0);
            return APR_SUCCESS;
        }
    }
    if ((rv = hg_db_q(x->db, &res, "SELECT session_id FROM injury.sessions WHERE akb020 = $1 "
                      "AND valid_until > now() AND session_id IS DISTINCT FROM $2", 2, akb, stale))) {
        hg_db_rollback(x->db);
        return rv;
    }
    if (res->nrows == 1) {
        *sid = hg_db_val(res, 0, 0);
        return hg_db_commit(x->db);
    }
    if ((rv = login(x, sid, r)) != APR_SUCCESS) {
        hg_db_rollback(x->db);
        return rv;
    }
    /* valid until 24:00 China time (spec §1.1) */
    if ((rv = hg_db_q(x->db, NULL, "INSERT INTO injury.sessions (akb020, session_id, valid_until) VALUES ($1, $2, "
                      "(date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai') + interval '1 day') "
                      "AT TIME ZONE 'Asia/Shanghai') ON CONFLICT (akb020) DO UPDATE SET session_id = EXCLUDED.session_id, "
                      "valid_until = EXCLUDED.valid_until, logged_in_at = now(), logins = injury.sessions.logins + 1",
                      2, akb, *sid))) {
        hg_db_rollback(x->db);
        return rv;
    }
    return hg_db_commit(x->db);
}

apr_status_t injury_call(injury_ctx_t *x, const injury_fn_t *fn, json_t *in, const char *dataset, json_t *rows,
                         injury_result_t *r, const char **why)
{
    injury_fill_t f;
    const char *sid = NULL, *xml, *endpoint = apr_pstrcat(x->p, "injury.", fn->id, NULL);
    apr_status_t rv;
    int attempt;

    memset(r, 0, sizeof(*r));
    if (!x->db) {                           /* lost after an earlier call of this request: send nothing more */
        r->outcome = INJ_O_UNREACHABLE;
        r->error = "no database connection";
        return HG_EDBDOWN;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        rv = session(x, attempt ? sid : NULL, &sid, r);
        if (rv == HG_EAUTH || rv == HG_EINVALID)
            return APR_SUCCESS;             /* r says the login failed; nothing business was sent */
        if (rv && !x->db) {                 /* no connection came back while another logged in */
            memset(r, 0, sizeof(*r));
            r->outcome = INJ_O_UNREACHABLE;
            r->error = "no database connection came back while another call logged in: nothing was sent";
            return rv;
        }
        if (rv)
            return rv;
        memset(&f, 0, sizeof(f));
        f.session_id = sid;
        f.akb020 = x->conf->akb020;
        f.operator_code = x->conf->operator_code;
        f.operator_name = x->conf->operator_name;
        if ((rv = injury_request_xml(&xml, x->p, injury_request_json(x->p, fn, in, &f, dataset, rows), why)))
            return rv;
        if ((rv = post(x, endpoint, xml, r)))
            return rv;                      /* no connection came back: *r says what the platform did */
        if (r->outcome != INJ_O_ANSWERED || r->verdict != INJ_R_SESSION)
            return APR_SUCCESS;
        if (attempt == 0)
            x->relogins++;                  /* -9: the session is gone; log in again, once */
    }
    return APR_SUCCESS;                     /* -9 twice: answered as a refusal */
}
