/* mod_hisgate's own routes: health, status, metrics, ping, staff login, outbox console,
 * and the fiscal platform probe (an outbox topic that proves the whole outbound path). */
#include <string.h>
#include "httpd.h"
#include "http_protocol.h"
#include "http_log.h"
#include "apr_strings.h"
#include "mod_hisgate_private.h"
#include "hg_crypto.h"
#include "hg_auth.h"
#include "hg_bosi.h"

APLOG_USE_MODULE(hisgate);

/* ---------------------------------------------------------------- health, status, metrics */

static apr_status_t db_ping(hg_call_t *c)
{
    hg_error_t *err;
    if (!c->db && hg_acquire_db(c->r, &c->db, &err) != APR_SUCCESS)
        return HG_EDBDOWN;
    return hg_db_q(c->db, NULL, "SELECT 1", 0);
}

static apr_status_t route_health(hg_call_t *c)
{
    int db_ok = db_ping(c) == APR_SUCCESS;
    json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "status", db_ok ? "ok" : "degraded",
                          "db", db_ok ? "ok" : "down", "version", HG_VERSION,
                          "time", (json_int_t)apr_time_sec(apr_time_now()));
    return hg_call_answer(c, db_ok ? 200 : 503, o);
}

/* rows not yet chained (their partial index) and rows chained (the chain head's seq): never a
 * count over the whole journal, which grows by every call */
#define AUDIT_COUNTS "SELECT (SELECT count(*) FROM hg.audit WHERE seq IS NULL), " \
                     "(SELECT seq FROM hg.audit_head WHERE id = 1), " \
                     "(SELECT coalesce(max(to_seq), 0) FROM hg.audit_purges)"

static apr_status_t route_status(hg_call_t *c)
{
    json_t *o = json_object(), *mods = json_array(), *topics = json_array(), *ob;
    hg_db_result_t *res, *au;
    json_int_t depth = 0, dead = 0;
    int i;

    hg_call_answer(c, 200, o);
    json_object_set_new(o, "version", json_string(HG_VERSION));
    json_object_set_new(o, "institution", json_string(c->institution ? c->institution : ""));
    for (i = 0; i < hg_module_names->nelts; i++)
        json_array_append_new(mods, json_string(APR_ARRAY_IDX(hg_module_names, i, const char *)));
    json_object_set_new(o, "modules", mods);
    if (db_ping(c) != APR_SUCCESS) {
        json_object_set_new(o, "db", json_string("down"));
        c->status = 503;
        json_decref(topics);
        return APR_SUCCESS;
    }
    json_object_set_new(o, "db", json_string("ok"));
    {
        int in_use, slots;       /* this process's bounded pool; this request holds one of them */
        json_t *ls = json_object();
        hg_db_slots(&in_use, &slots);
        json_object_set_new(o, "db_slots", json_pack("{s:i, s:i}", "in_use", in_use, "slots", slots));
        for (i = 0; i < hg_line_count(); i++) {
            int size, waiting;
            const char *name = hg_line_get(i, &in_use, &size, &waiting);
            json_object_set_new(ls, name, json_pack("{s:i, s:i, s:i}", "in_use", in_use, "size", size,
                                                    "waiting", waiting));
        }
        json_object_set_new(o, "lines", ls);
    }
    if (hg_outbox_stats(c->db, &res) != APR_SUCCESS)
        return HG_EDB;
    for (i = 0; i < res->nrows; i++) {
        json_int_t pend = apr_atoi64(hg_db_get(res, i, "pending")),
                   infl = apr_atoi64(hg_db_get(res, i, "inflight")),
                   d = apr_atoi64(hg_db_get(res, i, "dead"));
        const char *le = hg_db_get(res, i, "last_error"), *lat = hg_db_get(res, i, "last_error_at");
        const char *pr = hg_db_get(res, i, "paused_reason");
        /* a pause says why and until when, not who (this page is public): the journal has who */
        json_array_append_new(topics, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s?, s:s?, s:I, s:o}",
            "topic", hg_db_get(res, i, "topic"), "pending", pend, "inflight", infl, "dead", d,
            "held", (json_int_t)apr_atoi64(hg_db_get(res, i, "held")),
            "done", (json_int_t)apr_atoi64(hg_db_get(res, i, "done")), "last_error", le,
            "last_error_at", lat, "oldest_pending_s",
            (json_int_t)apr_atoi64(hg_db_get(res, i, "oldest_pending_s")),
            "paused", pr ? json_pack("{s:s, s:s, s:s?}", "reason", pr, "since", hg_db_get(res, i, "paused_at"),
                                     "until", hg_db_get(res, i, "paused_until")) : json_null()));
        depth += pend + infl;
        dead += d;
    }
    ob = json_pack("{s:I, s:I, s:o}", "depth", depth, "dead", dead, "topics", topics);
    json_object_set_new(o, "outbox", ob);
    /* retention: has the nightly `hisgate outbox purge` run lately? */
    if (hg_db_q(c->db, &au, "SELECT to_char(last_run, 'YYYY-MM-DD\"T\"HH24:MI:SSOF'), "
                "extract(epoch FROM now() - last_run)::bigint FROM hg.outbox_purge WHERE id = 1", 0) == APR_SUCCESS
        && au->nrows == 1)
        json_object_set_new(ob, "purge", hg_db_val(au, 0, 0)
                            ? json_pack("{s:s, s:I}", "last_run", hg_db_val(au, 0, 0), "age_s",
                                        (json_int_t)apr_atoi64(hg_db_val(au, 0, 1)))
                            : json_pack("{s:n}", "last_run"));
    for (i = 0; i < hg_status_part_count(); i++) {
        json_t *part;
        const char *metrics, *name = hg_status_part_get(i, c->db, c->pool, c->institution, &part, &metrics);
        if (part)
            json_object_set_new(o, name, part);
    }
    if (hg_db_q(c->db, &au, AUDIT_COUNTS, 0) == APR_SUCCESS)
        json_object_set_new(o, "audit", json_pack("{s:I, s:I, s:I}",
                            "unsealed", (json_int_t)apr_atoi64(hg_db_val(au, 0, 0)),
                            "sealed", (json_int_t)apr_atoi64(hg_db_val(au, 0, 1)),
                            "archived_to", (json_int_t)apr_atoi64(hg_db_val(au, 0, 2))));
    return APR_SUCCESS;
}

static const char *prom_label(apr_pool_t *p, const char *v)
{
    /* Prometheus label values escape backslash, quote and newline */
    char *o = apr_palloc(p, strlen(v) * 2 + 1), *q = o;
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            *q++ = '\\';
        if (*v == '\n') {
            *q++ = '\\';
            *q++ = 'n';
            continue;
        }
        *q++ = *v;
    }
    *q = '\0';
    return o;
}

static apr_status_t route_metrics(hg_call_t *c)
{
    hg_db_result_t *res, *au;
    int db_ok = db_ping(c) == APR_SUCCESS, i;
    const char *t = apr_psprintf(c->pool,
        "# HELP hisgate_up 1 while httpd answers\n# TYPE hisgate_up gauge\nhisgate_up 1\n"
        "# HELP hisgate_db_up 1 when PostgreSQL answers\n# TYPE hisgate_db_up gauge\nhisgate_db_up %d\n",
        db_ok);
    {
        static const char *const what[] = { "in_use", "size", "waiting" };
        static const char *const help[] = { "work under way", "work that may be under way at once",
                                            "requests waiting" };
        int k;
        for (k = 0; k < 3; k++) {
            t = apr_pstrcat(c->pool, t, "# HELP hisgate_line_", what[k], " ", help[k], " in a bounded line of "
                            "the answering process (db: database slots)\n# TYPE hisgate_line_", what[k],
                            " gauge\n", NULL);
            for (i = 0; i < hg_line_count(); i++) {
                int v[3];
                const char *name = hg_line_get(i, &v[0], &v[1], &v[2]);
                t = apr_pstrcat(c->pool, t, "hisgate_line_", what[k], "{line=\"", prom_label(c->pool, name),
                                "\"} ", apr_itoa(c->pool, v[k]), "\n", NULL);
            }
        }
    }
    if (db_ok && hg_outbox_stats(c->db, &res) == APR_SUCCESS) {
        static const char *const kinds[] = { "pending", "inflight", "dead", "done", "held" };
        int k;
        for (k = 0; k < 5; k++) {
            t = apr_pstrcat(c->pool, t, "# HELP hisgate_outbox_", kinds[k],
                            k == 4 ? " queued outbox rows waiting behind a dead row of their order (retry it)"
                                   : apr_pstrcat(c->pool, " outbox rows in state ", kinds[k], NULL),
                            "\n# TYPE hisgate_outbox_", kinds[k], " gauge\n", NULL);
            for (i = 0; i < res->nrows; i++)
                t = apr_pstrcat(c->pool, t, "hisgate_outbox_", kinds[k], "{topic=\"",
                                prom_label(c->pool, hg_db_get(res, i, "topic")), "\"} ",
                                hg_db_get(res, i, kinds[k]), "\n", NULL);
        }
        t = apr_pstrcat(c->pool, t, "# HELP hisgate_outbox_oldest_pending_seconds age of the oldest "
                        "undelivered row\n# TYPE hisgate_outbox_oldest_pending_seconds gauge\n", NULL);
        for (i = 0; i < res->nrows; i++)
            t = apr_pstrcat(c->pool, t, "hisgate_outbox_oldest_pending_seconds{topic=\"",
                            prom_label(c->pool, hg_db_get(res, i, "topic")), "\"} ",
                            hg_db_get(res, i, "oldest_pending_s"), "\n", NULL);
        /* so that an alert on the oldest pending row can leave out a topic held back on purpose */
        t = apr_pstrcat(c->pool, t, "# HELP hisgate_outbox_paused 1 while the topic is paused (hisgate outbox "
                        "pause)\n# TYPE hisgate_outbox_paused gauge\n", NULL);
        for (i = 0; i < res->nrows; i++)
            t = apr_pstrcat(c->pool, t, "hisgate_outbox_paused{topic=\"", prom_label(c->pool, hg_db_get(res, i, "topic")),
                            "\"} ", hg_db_get(res, i, "paused_reason") ? "1" : "0", "\n", NULL);
    }
    if (db_ok && hg_db_q(c->db, &au, AUDIT_COUNTS, 0) == APR_SUCCESS)
        t = apr_pstrcat(c->pool, t,
                        "# HELP hisgate_audit_unsealed audit rows not yet hash-chained\n"
                        "# TYPE hisgate_audit_unsealed gauge\nhisgate_audit_unsealed ",
                        hg_db_val(au, 0, 0), "\n# HELP hisgate_audit_rows audit rows journalled, sealed or not\n"
                        "# TYPE hisgate_audit_rows gauge\nhisgate_audit_rows ",
                        apr_off_t_toa(c->pool, apr_atoi64(hg_db_val(au, 0, 0)) + apr_atoi64(hg_db_val(au, 0, 1))),
                        "\n", NULL);
    for (i = 0; db_ok && i < hg_status_part_count(); i++) {
        json_t *part;
        const char *metrics;
        hg_status_part_get(i, c->db, c->pool, c->institution, &part, &metrics);
        json_decref(part);
        if (metrics)
            t = apr_pstrcat(c->pool, t, metrics, NULL);
    }
    c->out_body = t;
    c->out_len = strlen(t);
    c->out_type = "text/plain; version=0.0.4; charset=utf-8";
    return APR_SUCCESS;
}

static apr_status_t route_ping(hg_call_t *c)
{
    char iso[APR_RFC822_DATE_LEN];
    apr_time_t now = apr_time_now();
    apr_time_exp_t x;
    apr_size_t n;
    apr_time_exp_lt(&x, now);
    apr_strftime(iso, &n, sizeof(iso), "%Y-%m-%dT%H:%M:%S%z", &x);
    return hg_call_answer(c, 200, json_pack("{s:s, s:s, s:I, s:s, s:s}", "app_id", c->app_id,
                          "institution", c->institution, "server_time", (json_int_t)apr_time_sec(now),
                          "server_time_iso", iso, "request_id", c->request_id));
}

/* ---------------------------------------------------------------- staff login */

static void set_session_cookie(hg_call_t *c, const char *token, int max_age)
{
    int secure = hg_conf_global->cookie_secure;
    if (secure < 0)
        secure = apr_table_get(c->r->subprocess_env, "HTTPS") != NULL;
    apr_table_addn(c->r->err_headers_out, "Set-Cookie",
                   apr_psprintf(c->pool, "hg_session=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s",
                                token, max_age, secure ? "; Secure" : ""));
}

apr_status_t hg_staff_session_json(hg_call_t *c, const char *subject)
{
    char *csrf;
    json_t *roles = json_array();
    int i;
    hg_csrf_token(&csrf, c->pool, c->master_key, 16, subject);
    for (i = 0; c->staff_roles && i < c->staff_roles->nelts; i++)
        json_array_append_new(roles, json_string(APR_ARRAY_IDX(c->staff_roles, i, const char *)));
    return hg_call_answer(c, 200, json_pack("{s:s, s:s, s:s, s:o, s:s}", "username", c->staff_user,
                          "institution", c->institution ? c->institution : "", "department",
                          c->staff_department ? c->staff_department : "", "roles", roles,
                          "csrf_token", csrf));
}

static const hg_field_t login_schema[] = {
    { .name = "username", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 64 },
    { .name = "password", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 256 },
    { .name = NULL }
};

static apr_status_t route_login(hg_call_t *c)
{
    hg_db_result_t *res;
    const char *user, *pw, *hash;
    char *token, *idx;
    apr_status_t rv;
    int locked;

    if (hg_json_validate(c->pool, c->json, login_schema, &c->err) != APR_SUCCESS)
        return HG_EINVALID;
    user = hg_json_gets(c->json, "username", NULL);
    pw = hg_json_gets(c->json, "password", NULL);
    if ((rv = hg_db_q(c->db, &res, "SELECT password_hash, locked_until > now(), roles::text, "
                      "institution, department FROM hg.staff WHERE username = $1 AND enabled",
                      1, user)))
        return rv;
    hash = res->nrows ? hg_db_val(res, 0, 0) : NULL;
    /* the journal names the account tried; not what was typed for one that does not exist (a
     * password typed into the name field, say) */
    c->audit_caller = res->nrows ? user : "(unknown user)";
    locked = res->nrows && hg_db_val(res, 0, 1) && hg_db_val(res, 0, 1)[0] == 't';
    if (locked)
        return hg_call_fail(c, "HG_ACCOUNT_LOCKED", "username", NULL);
    if (!hash || hg_password_verify(hash, pw) != APR_SUCCESS) {
        if (res->nrows) {
            /* count the failure; the threshold-th one locks the account for a while */
            hg_db_result_t *f;
            if ((rv = hg_db_q(c->db, &f,
                    "UPDATE hg.staff SET failed_logins = CASE WHEN failed_logins + 1 >= $2::int THEN 0 "
                    "  ELSE failed_logins + 1 END, locked_until = CASE WHEN failed_logins + 1 >= $2::int "
                    "  THEN now() + make_interval(secs => $3::int) ELSE locked_until END "
                    "WHERE username = $1 RETURNING locked_until > now()", 3, user,
                    apr_itoa(c->pool, hg_conf_global->lockout_threshold),
                    apr_itoa(c->pool, hg_conf_global->lockout_seconds))))
                return rv;
            ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, c->r, "HG00020: failed login for %s", user);
            if (f->nrows && hg_db_val(f, 0, 0) && hg_db_val(f, 0, 0)[0] == 't')
                return hg_call_fail(c, "HG_ACCOUNT_LOCKED", "username", NULL);
        }
        return hg_call_fail(c, "HG_LOGIN_FAILED", NULL, NULL);
    }
    hg_token_new(&token, c->pool);
    hg_keyed_index(&idx, c->pool, c->master_key, token);
    if ((rv = hg_db_q(c->db, NULL, "WITH s AS (INSERT INTO hg.sessions (token_hash, username, expires_at) "
                      "VALUES ($1, $2, now() + make_interval(secs => $3::int))) "
                      "UPDATE hg.staff SET failed_logins = 0, locked_until = NULL, last_login_at = now() "
                      "WHERE username = $2", 3, idx, user,
                      apr_itoa(c->pool, hg_conf_global->session_ttl))))
        return rv;
    set_session_cookie(c, token, hg_conf_global->session_ttl);
    c->staff_user = user;
    c->institution = hg_db_val(res, 0, 3);
    c->staff_department = hg_db_val(res, 0, 4);
    {
        char *s = apr_pstrdup(c->pool, hg_db_val(res, 0, 2)), *tok, *last;
        c->staff_roles = apr_array_make(c->pool, 4, sizeof(const char *));
        s[strlen(s) - 1] = '\0';
        for (tok = apr_strtok(s + 1, ",", &last); tok; tok = apr_strtok(NULL, ",", &last))
            APR_ARRAY_PUSH(c->staff_roles, const char *) = tok;
    }
    return hg_staff_session_json(c, token);
}

static apr_status_t route_logout(hg_call_t *c)
{
    const char *subject = apr_table_get(c->r->notes, "hg-csrf-subject");
    if (subject && strncmp(subject, "sso:", 4) != 0) {
        char *idx;
        hg_keyed_index(&idx, c->pool, c->master_key, subject);
        hg_db_q(c->db, NULL, "DELETE FROM hg.sessions WHERE token_hash = $1", 1, idx);
    }
    set_session_cookie(c, "", 0);
    return hg_call_answer(c, 200, json_pack("{s:b}", "logged_out", 1));
}

static apr_status_t route_me(hg_call_t *c)
{
    return hg_staff_session_json(c, apr_table_get(c->r->notes, "hg-csrf-subject"));
}

static const hg_field_t password_schema[] = {
    { .name = "old_password", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 256 },
    { .name = "new_password", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 256 },
    { .name = NULL }
};

static apr_status_t route_password(hg_call_t *c)
{
    hg_db_result_t *res;
    const char *reason = NULL, *oldp, *newp;
    char *hash;
    apr_status_t rv;
    if (hg_json_validate(c->pool, c->json, password_schema, &c->err) != APR_SUCCESS)
        return HG_EINVALID;
    oldp = hg_json_gets(c->json, "old_password", NULL);
    newp = hg_json_gets(c->json, "new_password", NULL);
    if ((rv = hg_db_q(c->db, &res, "SELECT password_hash FROM hg.staff WHERE username = $1", 1,
                      c->staff_user)))
        return rv;
    if (!res->nrows || !hg_db_val(res, 0, 0) || hg_password_verify(hg_db_val(res, 0, 0), oldp) != APR_SUCCESS)
        return hg_call_fail(c, "HG_LOGIN_FAILED", "old_password", "the current password is wrong");
    if (hg_password_policy_check(c->pool, c->staff_user, newp, &reason) != APR_SUCCESS)
        return hg_call_fail(c, "HG_WEAK_PASSWORD", "new_password", reason);
    if ((rv = hg_password_hash(&hash, c->pool, newp)))
        return rv;
    if ((rv = hg_db_q(c->db, NULL, "UPDATE hg.staff SET password_hash = $2 WHERE username = $1", 2,
                      c->staff_user, hash)))
        return rv;
    return hg_call_answer(c, 200, json_pack("{s:b}", "changed", 1));
}

/* ---------------------------------------------------------------- outbox console */

static apr_status_t route_outbox_list(hg_call_t *c)
{
    const char *state = NULL, *topic = NULL;
    apr_table_t *q = apr_table_make(c->pool, 4);
    hg_db_result_t *res;
    json_t *rows = json_array();
    apr_status_t rv;
    int i;
    char *args = c->r->args ? apr_pstrdup(c->pool, c->r->args) : NULL, *kv, *last;
    for (kv = args ? apr_strtok(args, "&", &last) : NULL; kv; kv = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(kv, '=');
        if (eq) {
            *eq = '\0';
            ap_unescape_url(eq + 1);
            apr_table_set(q, kv, eq + 1);
        }
    }
    state = apr_table_get(q, "state");
    topic = apr_table_get(q, "topic");
    if (state && strcmp(state, "pending") && strcmp(state, "inflight") && strcmp(state, "dead")
        && strcmp(state, "done"))
        return hg_call_fail(c, "HG_FIELD_ENUM", "state", "state is one of pending, inflight, dead, done");
    if ((rv = hg_outbox_list(c->db, &res, state, topic, c->institution, 200)))
        return rv;
    for (i = 0; i < res->nrows; i++)
        json_array_append_new(rows, json_pack("{s:I, s:s, s:s, s:s, s:i, s:i, s:s?, s:s, s:s}",
            "id", (json_int_t)apr_atoi64(hg_db_val(res, i, 0)), "topic", hg_db_val(res, i, 1),
            "business_key", hg_db_val(res, i, 2), "state", hg_db_val(res, i, 3),
            "attempts", atoi(hg_db_val(res, i, 4)), "max_attempts", atoi(hg_db_val(res, i, 5)),
            "last_error", hg_db_val(res, i, 6), "next_at", hg_db_val(res, i, 7),
            "updated_at", hg_db_val(res, i, 8)));
    return hg_call_answer(c, 200, json_pack("{s:o}", "items", rows));
}

/* ---------------------------------------------------------------- the audit journal, read */

static const hg_field_t AUDIT_QUERY[] = {
    { .name = "from", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    { .name = "to", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    { .name = "caller", .type = HG_JT_STRING, .max_len = 100 },
    { .name = "endpoint", .type = HG_JT_STRING, .max_len = 200 },
    { .name = "requestId", .type = HG_JT_STRING, .pattern = "[A-Za-z0-9_-]{1,64}" },
    { .name = "limit", .type = HG_JT_STRING, .pattern = "[0-9]{1,3}" },
    { .name = "beforeId", .type = HG_JT_STRING, .pattern = "[0-9]{1,18}" },
    HG_FIELDS_END_CLOSED
};
#define AUDIT_BODY_SHOWN (64 * 1024)   /* a batch of 500 bills is megabytes: the start says enough */

/* one journalled body, decrypted for the auditor (shortened past AUDIT_BODY_SHOWN) */
static json_t *audit_body(hg_call_t *c, const char *enc)
{
    char *plain;
    apr_size_t n, all;
    json_t *text;
    if (!enc || !*enc)
        return json_null();
    if (hg_audit_decrypt(&plain, &n, c->pool, hg_conf_global->audit_key, enc) != APR_SUCCESS)
        return json_string("(cannot be decrypted with this server's audit_key)");
    if (!n)
        return json_null();           /* none, or not kept (a login's) */
    all = n;
    if (n > AUDIT_BODY_SHOWN) {
        while (n > AUDIT_BODY_SHOWN - 64 || (n && ((unsigned char)plain[n] & 0xC0) == 0x80))
            n--;                      /* whole UTF-8 characters */
        text = json_string(apr_psprintf(c->pool, "%.*s … (%" APR_SIZE_T_FMT " bytes in all)", (int)n, plain, all));
    }
    else
        text = json_stringn(plain, n);
    /* a refused request may have been anything: say what it was rather than fail the page */
    return text ? text : json_string(apr_psprintf(c->pool, "(%" APR_SIZE_T_FMT " bytes, not UTF-8 text)", all));
}

/* GET /hg/audit?from=&to=&caller=&endpoint=&requestId=&limit=&beforeId= — the journal of the
 * caller's institution, newest first, bodies decrypted (role auditor; the looking is journalled
 * too, without what it was shown) */
static apr_status_t route_audit(hg_call_t *c)
{
    json_t *q, *rows;
    hg_db_result_t *r;
    const char *lim;
    apr_status_t rv;
    int i, limit = 50;

    if ((rv = hg_call_query(c, AUDIT_QUERY, &q)))
        return rv;
    if ((lim = hg_json_opt(q, "limit")) && ((limit = atoi(lim)) < 1 || limit > 200))
        return hg_call_fail(c, "HG_FIELD_RANGE", "limit", "1 to 200 rows");
    if (!hg_conf_global->keys_loaded)
        return hg_call_fail(c, "HG_INTERNAL", NULL, "no audit_key loaded (HisgateKeyFile)");
    if ((rv = hg_db_q(c->db, &r,
            "SELECT id, to_char(at, 'YYYY-MM-DD HH24:MI:SS.MS'), caller, direction, endpoint, status, elapsed_ms, "
            "  request_id, req_enc, resp_enc, seq::text FROM hg.audit "
            "WHERE institution IN ($1, '') AND ($2::date IS NULL OR at >= $2::date::timestamptz) "
            "  AND ($3::date IS NULL OR at < ($3::date + 1)::timestamptz) AND ($4::text IS NULL OR caller = $4) "
            "  AND ($5::text IS NULL OR strpos(endpoint, $5) > 0) AND ($6::text IS NULL OR request_id = $6) "
            "  AND ($7::bigint IS NULL OR id < $7::bigint) "
            "ORDER BY id DESC LIMIT $8::int", 8, c->institution, hg_json_opt(q, "from"), hg_json_opt(q, "to"),
            hg_json_opt(q, "caller"), hg_json_opt(q, "endpoint"), hg_json_opt(q, "requestId"),
            hg_json_opt(q, "beforeId"), apr_itoa(c->pool, limit))))
        return rv;
    rows = json_array();
    for (i = 0; i < r->nrows; i++)
        json_array_append_new(rows, json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:o, s:o, s:s?}",
            "id", (json_int_t)apr_atoi64(hg_db_val(r, i, 0)), "at", hg_db_val(r, i, 1), "caller", hg_db_val(r, i, 2),
            "direction", hg_db_val(r, i, 3), "endpoint", hg_db_val(r, i, 4), "status", atoi(hg_db_val(r, i, 5)),
            "elapsedMs", atoi(hg_db_val(r, i, 6)), "requestId", hg_db_val(r, i, 7),
            "request", audit_body(c, hg_db_val(r, i, 8)), "response", audit_body(c, hg_db_val(r, i, 9)),
            "seq", hg_db_val(r, i, 10)));
    return hg_call_answer(c, 200, json_pack("{s:o, s:o}", "rows", rows, "nextBeforeId", r->nrows == limit
                                            ? json_integer(apr_atoi64(hg_db_val(r, r->nrows - 1, 0))) : json_null()));
}

/* POST /hg/outbox/<id>/retry | discard — 重试 a dead (or pending) row now; 放弃 a dead row dealt
 * with by hand, which lets the later rows of its order go on */
static apr_status_t route_outbox_retry(hg_call_t *c)
{
    char *end;
    apr_int64_t id = apr_strtoi64(c->path_rest, &end, 10);
    int found = 0, discard;
    apr_status_t rv;
    if (end == c->path_rest || (strcmp(end, "/retry") && strcmp(end, "/discard")) || id <= 0)
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
    discard = !strcmp(end, "/discard");
    if ((rv = discard ? hg_outbox_discard(c->db, id, c->staff_user, &found) : hg_outbox_retry(c->db, id, &found)))
        return rv;
    if (!found)
        return hg_call_fail(c, "HG_NOT_FOUND", "id", discard ? "no dead outbox row with that id"
                                                             : "no dead or pending outbox row with that id");
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, c->r, "%s: outbox row %s %s by %s", discard ? "HG00058" : "HG00021",
                  apr_off_t_toa(c->pool, id), discard ? "discarded" : "retried", c->staff_user);
    return hg_call_answer(c, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state",
                                            discard ? "discarded" : "pending"));
}

static const hg_field_t PAUSE_SCHEMA[] = {
    { .name = "topic", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 64 },
    { .name = "reason", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 200 },
    { .name = "until", .type = HG_JT_STRING, .max_len = 32 },
    HG_FIELDS_END_CLOSED
};
static const hg_field_t RESUME_SCHEMA[] = {
    { .name = "topic", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 64 },
    HG_FIELDS_END_CLOSED
};

/* POST /hg/outbox/pause {topic, reason, until?}: hold a topic back for a platform's announced
 * maintenance; its rows wait, pending, with their attempts, instead of failing into dead letters */
static apr_status_t route_outbox_pause(hg_call_t *c)
{
    const char *topic, *until;
    apr_status_t rv;
    if ((rv = hg_json_validate(c->pool, c->json, PAUSE_SCHEMA, &c->err)))
        return rv;
    topic = hg_json_gets(c->json, "topic", NULL);
    until = hg_json_gets(c->json, "until", NULL);
    if (until && !*until)
        until = NULL;
    if (!hg_outbox_topic_valid(topic))
        return hg_call_fail(c, "HG_FIELD_PATTERN", "topic", "a topic name such as invoice.upload");
    if (until && !hg_outbox_time_valid(until))
        return hg_call_fail(c, "HG_FIELD_DATE", "until", "a time such as 2026-12-01 06:00 (or ISO 8601 with an offset)");
    rv = hg_outbox_pause(c->db, topic, hg_json_gets(c->json, "reason", NULL), c->staff_user, until);
    if (rv == HG_EINVALID)
        return hg_call_fail(c, "HG_FIELD_RANGE", "until", "the end of a pause must be in the future");
    if (rv)
        return rv;
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, c->r, "HG00054: outbox topic %s paused by %s until %s",
                  topic, c->staff_user, until ? until : "resumed");
    return hg_call_answer(c, 200, json_pack("{s:s, s:b, s:s?}", "topic", topic, "paused", 1, "until", until));
}

/* POST /hg/outbox/resume {topic} */
static apr_status_t route_outbox_resume(hg_call_t *c)
{
    const char *topic;
    int found = 0;
    apr_status_t rv;
    if ((rv = hg_json_validate(c->pool, c->json, RESUME_SCHEMA, &c->err)))
        return rv;
    topic = hg_json_gets(c->json, "topic", NULL);
    if ((rv = hg_outbox_resume(c->db, topic, &found)))
        return rv;
    if (!found)
        return hg_call_fail(c, "HG_NOT_FOUND", "topic", "that topic is not paused");
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, c->r, "HG00055: outbox topic %s resumed by %s", topic, c->staff_user);
    return hg_call_answer(c, 200, json_pack("{s:s, s:b}", "topic", topic, "paused", 0));
}

/* POST /hg/probe/fiscal: enqueue a signed call to the fiscal platform through the real outbox */
static apr_status_t route_probe_fiscal(hg_call_t *c)
{
    int created = 0;
    apr_status_t rv;
    if (!hg_conf_global->fiscal_url)
        return hg_call_fail(c, "HG_PLATFORM_UNAVAILABLE", NULL, "HisgateFiscal is not configured");
    if ((rv = hg_outbox_enqueue(c->db, "hg.probe.fiscal", c->institution, c->request_id,
                                hg_json_dump(c->pool, hg_json_own(c->pool, json_pack("{s:s}", "requested_by",
                                             c->staff_user)), 0),
                                3, &created)))
        return rv;
    return hg_call_answer(c, 202, json_pack("{s:s, s:s}", "topic", "hg.probe.fiscal",
                                            "business_key", c->request_id));
}

const hg_route_t hg_core_routes[] = {
    { "GET",  "/hg/health",   HG_R_PUBLIC, NULL, route_health },
    { "GET",  "/hg/status",   HG_R_PUBLIC, NULL, route_status },
    { "GET",  "/hg/metrics",  HG_R_PUBLIC, NULL, route_metrics },
    { "POST", "/hg/ping",     HG_R_SIGNED, NULL, route_ping },
    { "POST", "/hg/login",    HG_R_JSON | HG_R_DB | HG_R_AUDIT | HG_R_AUDIT_BARE, NULL, route_login },
    { "POST", "/hg/logout",   HG_R_STAFF | HG_R_AUDIT | HG_R_AUDIT_BARE, NULL, route_logout },
    { "GET",  "/hg/me",       HG_R_STAFF, NULL, route_me },
    { "POST", "/hg/password", HG_R_STAFF | HG_R_JSON | HG_R_AUDIT | HG_R_AUDIT_BARE, NULL, route_password },
    { "GET",  "/hg/outbox",   HG_R_STAFF, "ops", route_outbox_list },
    { "GET",  "/hg/audit",    HG_R_STAFF | HG_R_AUDIT | HG_R_AUDIT_BARE, "auditor", route_audit },
    { "POST", "/hg/outbox/pause",  HG_R_STAFF | HG_R_JSON | HG_R_AUDIT, "ops", route_outbox_pause },
    { "POST", "/hg/outbox/resume", HG_R_STAFF | HG_R_JSON | HG_R_AUDIT, "ops", route_outbox_resume },
    { "POST", "/hg/outbox/",  HG_R_STAFF | HG_R_PREFIX | HG_R_AUDIT, "ops", route_outbox_retry },
    { "POST", "/hg/probe/fiscal", HG_R_STAFF | HG_R_AUDIT, "ops", route_probe_fiscal },
    { "GET",  "/hg/wechat/push", HG_R_PUBLIC, NULL, hg_wechat_push_get },
    { "POST", "/hg/wechat/push", HG_R_DB | HG_R_AUDIT, NULL, hg_wechat_push_post },
    { NULL }
};

/* ---------------------------------------------------------------- the probe's delivery */

apr_status_t hg_probe_fiscal_deliver(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                     hg_outbox_outcome_t *out)
{
    hg_conf_t *c = hg_conf_global;
    hg_http_req_t req;
    hg_http_resp_t *resp;
    const char *result;
    char *body, *message;
    apr_status_t rv;

    if (!c->fiscal_url) {
        out->permanent = 1;
        out->error = "HisgateFiscal is not configured";
        return HG_EPLATFORM;
    }
    /* a state query for a bill that cannot exist: any well-formed platform answer proves the
     * route, the appid and the signing key; a signature or appid refusal is a permanent error */
    if ((rv = hg_bosi_request(&body, p, c->fiscal_appid, c->fiscal_key,
                              "{\"billBatchCode\":\"00000000\",\"billNo\":\"0000000000\"}")))
        return rv;
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = apr_pstrcat(p, c->fiscal_url, "/getEBillStatesByBillInfo", NULL);
    req.headers = apr_table_make(p, 2);
    apr_table_setn(req.headers, "Content-Type", "application/json;charset=UTF-8");
    req.body = body;
    req.body_len = strlen(body);
    req.timeout_ms = c->fiscal_timeout_ms;
    req.connect_timeout_ms = 3000;
    req.idempotent = 1;
    req.ca_file = c->ca_file;
    req.endpoint_name = "fiscal.getEBillStatesByBillInfo";
    req.observer = item->http_observer;
    req.observer_baton = item->http_observer_baton;
    if ((rv = hg_http_do(&resp, p, &req)) != APR_SUCCESS) {
        out->error = apr_psprintf(p, "fiscal platform not reached: %s",
                                  resp && resp->error ? resp->error : rv == HG_ETIMEOUT ? "timeout" : "error");
        return rv;
    }
    if (resp->status != 200) {
        out->error = apr_psprintf(p, "fiscal platform answered HTTP %d", resp->status);
        out->permanent = resp->status >= 400 && resp->status < 500;
        return HG_EPLATFORM;
    }
    if (hg_bosi_open_answer(&result, &message, p, resp->body, resp->body_len) != APR_SUCCESS) {
        out->error = "fiscal platform answer is not a Bosi envelope";
        return HG_EPLATFORM;
    }
    out->result = hg_json_dump(p, hg_json_own(p, json_pack("{s:s, s:s}", "result", result,
                                                              "message", message)), 0);
    /* the platform's own refusals of the envelope: E1xxx (appid/sign) in our sandbox's table */
    if (!strncmp(result, "E1", 2)) {
        out->permanent = 1;
        out->error = apr_psprintf(p, "fiscal platform refused the envelope: %s %s", result, message);
        return HG_EPLATFORM;
    }
    return APR_SUCCESS;
}
