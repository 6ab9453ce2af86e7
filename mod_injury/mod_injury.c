/* mod_injury: the client of the Guangdong work-injury networked settlement platform (省工伤联网结算,
 * ../shared/specs/injury.md) — the Apache glue.  The HIS posts signed JSON to
 * /injury/api/v1/<function_id>; hisgate validates it against the catalogue (injury_model.c), checks
 * the local record of the visit or stay, fills what it owns, sends the XML (injury_platform.c),
 * applies the answer to the local record and returns it with the platform's return_code intact. */
#include <string.h>
#include <stdlib.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_core.h"
#include "ap_mpm.h"
#include "apr_strings.h"
#include "hg_glue.h"
#include "hg_pdf.h"
#include "injury_model.h"
#include "injury_platform.h"
#include "injury_store.h"
#include "injury_pdf.h"

module AP_MODULE_DECLARE_DATA injury_module;

typedef struct injury_mod_conf_t {
    injury_conf_t pc;
    int cache_ttl;                     /* seconds a cached code table / query answer is served */
    const unsigned char *audit_key;
} injury_mod_conf_t;

static injury_mod_conf_t *G;

static void *create_conf(apr_pool_t *p, server_rec *s)
{
    injury_mod_conf_t *c = apr_pcalloc(p, sizeof(*c));
    c->pc.timeout_ms = 15000;
    c->cache_ttl = 86400;
    return c;
}

static injury_mod_conf_t *conf_of(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &injury_module);
}

static const char *set_url(cmd_parms *cmd, void *dc, const char *arg)
{
    if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
        return "InjuryPlatform: an http:// or https:// URL";
    conf_of(cmd)->pc.url = arg;
    return NULL;
}

static const char *set_account(cmd_parms *cmd, void *dc, const char *user, const char *pw)
{
    conf_of(cmd)->pc.userid = user;
    conf_of(cmd)->pc.password = pw;
    return NULL;
}

static const char *set_institution(cmd_parms *cmd, void *dc, const char *code, const char *name)
{
    conf_of(cmd)->pc.akb020 = code;
    conf_of(cmd)->pc.institution_name = name;
    return NULL;
}

static const char *set_timeout(cmd_parms *cmd, void *dc, const char *arg)
{
    int v = atoi(arg);
    if (v < 100 || v > 300000)
        return "InjuryTimeout: milliseconds between 100 and 300000";
    conf_of(cmd)->pc.timeout_ms = v;
    return NULL;
}

static const char *set_operator(cmd_parms *cmd, void *dc, const char *code, const char *name)
{
    conf_of(cmd)->pc.operator_code = code;
    conf_of(cmd)->pc.operator_name = name;
    return NULL;
}

static const char *set_ttl(cmd_parms *cmd, void *dc, const char *arg)
{
    int v = atoi(arg);
    if (v < 0 || v > 30 * 86400)
        return "InjuryCodeTableTTL: seconds between 0 and 2592000";
    conf_of(cmd)->cache_ttl = v;
    return NULL;
}

static const command_rec injury_cmds[] = {
    AP_INIT_TAKE1("InjuryPlatform", set_url, NULL, RSRC_CONF, "URL of the work-injury platform's endpoint"),
    AP_INIT_TAKE2("InjuryAccount", set_account, NULL, RSRC_CONF, "sys0001 userid and password"),
    AP_INIT_TAKE12("InjuryInstitution", set_institution, NULL, RSRC_CONF,
                   "akb020 (医疗机构编码) and optionally the name printed on slips"),
    AP_INIT_TAKE1("InjuryTimeout", set_timeout, NULL, RSRC_CONF, "milliseconds one platform call may take (15000)"),
    AP_INIT_TAKE2("InjuryOperator", set_operator, NULL, RSRC_CONF,
                  "default operator code and name (bka014/bka015 …) when the HIS sends none"),
    AP_INIT_TAKE1("InjuryCodeTableTTL", set_ttl, NULL, RSRC_CONF,
                  "seconds a cached 410004/410005/120205 answer is served (86400)"),
    { NULL }
};

/* ---------------------------------------------------------------- answers */

static const char *text_of(hg_call_t *c, json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        return apr_psprintf(c->pool, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return "";
}

static json_t *session_info(injury_ctx_t *x)
{
    return json_pack("{s:i, s:i}", "logins", x->logins, "relogins", x->relogins);
}

/* an error envelope that also carries what the platform said */
static apr_status_t platform_fail(hg_call_t *c, injury_ctx_t *x, const injury_fn_t *fn, const char *code,
                                  const char *message, const injury_result_t *r, json_t *extra)
{
    const hg_errdef_t *d = hg_err_lookup(code);
    json_t *o = json_object();
    json_object_set_new(o, "code", json_string(code));
    json_object_set_new(o, "message", json_string(hg_utf8_repair(c->pool, message)));
    json_object_set_new(o, "request_id", json_string(c->request_id));
    json_object_set_new(o, "function_id", json_string(fn->id));
    if (r && r->code && *r->code) {
        json_object_set_new(o, "return_code", json_string(r->code));
        json_object_set_new(o, "return_code_message", json_string(r->msg ? r->msg : ""));
    }
    if (r && r->answer)
        json_object_set(o, "result", r->answer);
    if (extra)
        json_object_update(o, extra);
    json_object_set_new(o, "session", session_info(x));
    return hg_call_answer(c, d ? d->status : 502, o);
}

/* what the platform did, as an error for the HIS (r not OK) */
static apr_status_t fail_result(hg_call_t *c, injury_ctx_t *x, const injury_fn_t *fn, const injury_result_t *r,
                                json_t *extra)
{
    if (r->outcome == INJ_O_ANSWERED)
        return platform_fail(c, x, fn, "HG_PLATFORM_REJECTED",
                             apr_psprintf(c->pool, "the platform refused %s: %s %s", fn->id, r->code, r->msg), r, extra);
    if (r->outcome == INJ_O_UNREACHABLE)
        return platform_fail(c, x, fn, "HG_PLATFORM_UNAVAILABLE",
                             apr_psprintf(c->pool, "%s not sent: %s", fn->id, r->error ? r->error : "unreachable"),
                             r->login_failed ? r : NULL, extra);
    return platform_fail(c, x, fn, r->http_status && r->http_status != 200 ? "HG_PLATFORM_UNAVAILABLE"
                                                                           : "HG_PLATFORM_TIMEOUT",
                         apr_psprintf(c->pool, "%s: outcome unknown: %s", fn->id, r->error ? r->error : ""),
                         NULL, extra);
}

static apr_status_t ok_answer(hg_call_t *c, injury_ctx_t *x, const injury_fn_t *fn, const char *status,
                              const injury_result_t *r, json_t *extra)
{
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "function_id", json_string(fn->id));
    json_object_set_new(o, "return_code", json_string(r && r->code ? r->code : ""));
    json_object_set_new(o, "return_code_message", json_string(r && r->msg ? r->msg : ""));
    if (r && r->answer)
        json_object_set(o, "result", r->answer);
    if (extra)
        json_object_update(o, extra);
    json_object_set_new(o, "session", session_info(x));
    return hg_call_answer(c, 200, o);
}

/* The connection went back while the platform worked and none could be had again (HG_DB_BUSY /
 * HG_DB_UNAVAILABLE, c->err set by the glue): the HIS learns that, and what the platform said;
 * `left` says in what state the local record was left (always one the next call resolves or
 * refuses cleanly: nothing is written after the platform's answer without a connection). */
static apr_status_t db_lost(hg_call_t *c, injury_ctx_t *x, const injury_fn_t *fn, const injury_result_t *r,
                            json_t *extra, const char *left)
{
    const char *code = c->err && c->err->code ? c->err->code : "HG_DB_UNAVAILABLE";
    c->err = NULL;
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, c->r, "HG12033: work-injury %s: no database connection came back "
                  "(%s) after waiting on the platform: %s", fn->id, code, left);
    apr_table_setn(c->r->err_headers_out, "Retry-After", "5");
    if (!extra)
        extra = hg_json_object(c->pool);
    json_object_set_new(extra, "recorded", json_false());
    return platform_fail(c, x, fn, code, apr_psprintf(c->pool, "%s: %s; %s", fn->id,
                         !r ? "no answer" : r->outcome == INJ_O_ANSWERED ? "the platform answered"
                         : r->outcome == INJ_O_UNREACHABLE ? "not sent" : "outcome unknown",
                         apr_pstrcat(c->pool, "no database connection could be had again to record it: ", left, NULL)),
                         r && r->outcome == INJ_O_ANSWERED ? r : NULL, extra);
}

/* the split rules on a settlement answer: logged and flagged, never passed on silently */
static int split_check(hg_call_t *c, const injury_fn_t *fn, const char *aaz218, json_t *answer, json_t *extra)
{
    json_t *violations;
    int v = injury_split_check(c->pool, answer, &violations);
    json_object_set_new(extra, "split_check", json_pack("{s:s, s:O}", "result",
                        v == 1 ? "ok" : v == 0 ? "violated" : "absent", "violations", violations));
    if (v == 0) {
        size_t i;
        json_t *e;
        json_array_foreach(violations, i, e)
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, c->r, "HG12010: work-injury %s for aaz218 %s: settlement split "
                          "does not add up: %s", fn->id, aaz218, json_string_value(e));
    }
    return v;
}

/* ---------------------------------------------------------------- plain relays and cached queries */

static apr_status_t do_relay(hg_call_t *c, injury_ctx_t *x, const injury_fn_t *fn)
{
    injury_result_t r;
    const char *why = NULL;
    apr_status_t rv = injury_call(x, fn, c->json, NULL, NULL, &r, &why);
    if (rv == HG_EINVALID)
        return hg_call_fail(c, "HG_FIELD_PATTERN", NULL, why);
    if (rv && !c->db && r.outcome != INJ_O_UNREACHABLE)
        c->err = NULL;      /* nothing to record: the platform's answer as it is (the audit row tries again) */
    else if (rv)
        return rv;          /* nothing was sent: HG_DB_BUSY / HG_DB_UNAVAILABLE as the glue set it */
    if (r.outcome != INJ_O_ANSWERED || r.verdict != INJ_R_OK)
        return fail_result(c, x, fn, &r, NULL);
    return ok_answer(c, x, fn, "ok", &r, NULL);
}

static apr_status_t cached_answer(hg_call_t *c, injury_ctx_t *x, const injury_fn_t *fn, const char *answer,
                                  const char *at, int stale)
{
    injury_result_t r;
    json_t *a = hg_json_own(c->pool, json_loads(answer, 0, NULL));
    memset(&r, 0, sizeof(r));
    r.answer = a;
    r.code = hg_json_gets(a, "return_code", NULL);
    r.msg = hg_json_gets(a, "return_code_message", NULL);
    return ok_answer(c, x, fn, "ok", &r, hg_json_own(c->pool, json_pack("{s:b, s:b, s:s}", "cached", 1, "stale",
                                                                        stale, "fetched_at", at)));
}

static apr_status_t do_codes(hg_call_t *c, injury_ctx_t *x, const injury_fn_t *fn)
{
    const char *key = hg_json_dump(c->pool, c->json, HG_JSON_DUMP_SORTED), *answer, *at, *why = NULL;
    injury_result_t r;
    apr_status_t rv;

    rv = injury_store_cache_get(c->db, c->pool, G->pc.akb020, fn->id, key, G->cache_ttl, &answer, &at);
    if (rv == APR_SUCCESS)
        return cached_answer(c, x, fn, answer, at, 0);
    if (rv != HG_ENOTFOUND)
        return rv;
    if ((rv = injury_call(x, fn, c->json, NULL, NULL, &r, &why)) == HG_EINVALID)
        return hg_call_fail(c, "HG_FIELD_PATTERN", NULL, why);
    if (rv && !c->db && r.outcome != INJ_O_UNREACHABLE) {
        /* no connection came back: the answer without the cache (written next time), no stale table */
        c->err = NULL;
        if (r.outcome == INJ_O_ANSWERED && r.verdict == INJ_R_OK)
            return ok_answer(c, x, fn, "ok", &r, hg_json_own(c->pool, json_pack("{s:b}", "cached", 0)));
        return fail_result(c, x, fn, &r, NULL);
    }
    if (rv)
        return rv;
    if (r.outcome == INJ_O_ANSWERED && r.verdict == INJ_R_OK) {
        if ((rv = injury_store_cache_put(c->db, G->pc.akb020, fn->id, key, hg_json_dump(c->pool, r.answer, 0))))
            return rv;
        return ok_answer(c, x, fn, "ok", &r, hg_json_own(c->pool, json_pack("{s:b}", "cached", 0)));
    }
    /* the platform is away: yesterday's table is better than none (marked stale) */
    if (r.outcome != INJ_O_ANSWERED
        && injury_store_cache_get(c->db, c->pool, G->pc.akb020, fn->id, key, 365 * 86400, &answer, &at) == APR_SUCCESS)
        return cached_answer(c, x, fn, answer, at, 1);
    return fail_result(c, x, fn, &r, NULL);
}

/* ---------------------------------------------------------------- registration / admission */

static const char *kind_name(const injury_fn_t *fn)
{
    return fn->kind == INJ_K_OUTPATIENT ? "outpatient" : "inpatient";
}

static int busy_seconds(void)
{
    /* a claim outlives the longest exchange chain of one call (fee batches, wipe, resolution) */
    return G->pc.timeout_ms / 1000 * 40 + 30;
}

static apr_status_t store_settlement(hg_call_t *c, const injury_fn_t *fn, const char *stay_id, const char *kind,
                                     json_t *answer, int split_ok, int resolved, json_t *extra)
{
    const char *sid;
    apr_status_t rv = injury_store_add_settlement(c->db, c->pool, stay_id, fn->id, kind,
                                                  hg_json_dump(c->pool, answer, 0), split_ok, resolved, &sid);
    if (rv)
        return rv;
    json_object_set_new(extra, "settlement_id", json_string(sid));
    json_object_set_new(extra, "slip", json_string(apr_psprintf(c->pool, "/injury/api/v1/settlements/%s/slip", sid)));
    return APR_SUCCESS;
}

/* A registration whose answer was lost: does the platform hold a live visit or stay with our
 * bka025 for this person (110102 by aac001 / 120102 by bka025)?  Its aaz218, "" when it holds none,
 * NULL when the platform cannot tell. */
static const char *platform_registration(hg_call_t *c, injury_ctx_t *x, const injury_fn_t *fn, const char *aac001,
                                         const char *bka025)
{
    int ip = fn->kind != INJ_K_OUTPATIENT;
    const injury_fn_t *q = injury_fn_find(ip ? "bizh120102" : "bizh110102");
    json_t *in = hg_json_own(c->pool, json_pack("{s:s, s:s, s:s}", "bka895", ip ? "bka025" : "aac001",
                                               "bka896", ip ? bka025 : aac001, "bka006", ip ? "420" : "410")), *v, *row;
    injury_result_t r;
    const char *why, *k;
    size_t i;
    if (injury_call(x, q, in, NULL, NULL, &r, &why) || r.outcome != INJ_O_ANSWERED)
        return NULL;
    if (r.verdict != INJ_R_OK)
        return r.verdict == INJ_R_REJECTED ? "" : NULL;     /* "no such business" */
    json_object_foreach(r.answer, k, v)
        json_array_foreach(v, i, row)
            if (!strcmp(text_of(c, row, "bka025"), bka025) && !strcmp(text_of(c, row, "aac001"), aac001)
                && strcmp(text_of(c, row, "aae100"), "0") && *text_of(c, row, "aaz218"))
                return text_of(c, row, "aaz218");
    return "";
}

static apr_status_t do_register(hg_call_t *c, injury_ctx_t *x, const injury_fn_t *fn)
{
    const char *bka025 = text_of(c, c->json, "bka025"), *aac001 = text_of(c, c->json, "aac001"), *id, *aaz218;
    const char *why = NULL;
    injury_stay_t *live;
    injury_result_t r;
    json_t *extra = hg_json_object(c->pool);
    apr_status_t rv;
    int orphan = 0;
    const char *unrecorded = apr_psprintf(c->pool, "the local record of this bka025 has no aaz218 yet: the same call "
                                          "again, once this one's claim has run out (%d s), asks the platform whether "
                                          "the registration exists", busy_seconds());

    rv = injury_store_live_stay(c->db, c->pool, G->pc.akb020, kind_name(fn), bka025, &live);
    if (rv == APR_SUCCESS) {
        if (strcmp(live->aac001, aac001))
            return hg_call_fail(c, "HG_CONFLICT", "bka025", "this 门诊号/住院号 is registered for another person");
        if (live->aaz218) {
            /* idempotent on the HIS's business number: the same registration again */
            json_object_set_new(extra, "replayed", json_true());
            json_object_set_new(extra, "aaz218", json_string(live->aaz218));
            json_object_set_new(extra, "state", json_string(live->state));
            return ok_answer(c, x, fn, "ok", NULL, extra);
        }
        /* a registration sent by an earlier call that never recorded its outcome (the request died,
         * or no connection came back after the platform's answer): in progress while that call's
         * claim lasts, then resolved here as a lost answer is — by query, never sent twice blindly */
        if ((rv = injury_store_claim(c->db, live->id, busy_seconds())) == HG_ECONFLICT)
            return hg_call_fail(c, "HG_INJURY_BUSY", "bka025", "the registration of this bka025 is in progress");
        if (rv)
            return rv;
        orphan = 1;
        id = live->id;
        memset(&r, 0, sizeof(r));
        r.outcome = INJ_O_UNKNOWN;
        r.error = "an earlier call sent it and never recorded the outcome";
    }
    else if (rv != HG_ENOTFOUND)
        return rv;
    if (!orphan) {
        rv = injury_store_insert(c->db, c->pool, G->pc.akb020, kind_name(fn), bka025, aac001, busy_seconds(), &id);
        if (rv == HG_ECONFLICT)
            return hg_call_fail(c, "HG_INJURY_BUSY", "bka025", "the registration of this bka025 is in progress");
        if (rv)
            return rv;
        rv = injury_call(x, fn, c->json, NULL, NULL, &r, &why);
        if (rv && !c->db)
            return db_lost(c, x, fn, &r, NULL, unrecorded);
    }
    if (!rv && r.outcome == INJ_O_UNKNOWN) {
        /* the answer was lost: ask the platform whether the registration exists before anyone repeats it */
        const char *found = platform_registration(c, x, fn, aac001, bka025);
        if (!c->db)
            return db_lost(c, x, fn, &r, NULL, unrecorded);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, c->r, "HG12031: work-injury %s for bka025 %s: %s; the query says %s",
                      fn->id, bka025, r.error ? r.error : "no answer", !found ? "nothing (platform away)"
                      : *found ? found : "not registered");
        if (!found && orphan) {
            /* the platform cannot tell: the record stays as it is for a later call */
            injury_store_release(c->db, id);
            return platform_fail(c, x, fn, "HG_PLATFORM_TIMEOUT", apr_psprintf(c->pool, "%s: an earlier registration "
                                 "of this bka025 was sent and its outcome never recorded; the platform cannot tell yet "
                                 "whether it holds it: call again later", fn->id), NULL, NULL);
        }
        if (found && *found && !(fn->action == INJ_A_OP_REGISTER && json_array_size(json_object_get(c->json, "feeinfo")))) {
            if ((rv = injury_store_set_aaz218(c->db, id, found)))
                return rv;
            injury_store_release(c->db, id);
            json_object_set_new(extra, "replayed", json_false());
            json_object_set_new(extra, "aaz218", json_string(found));
            json_object_set_new(extra, "state", json_string("registered"));
            json_object_set_new(extra, "resolved_by_query", json_true());
            return ok_answer(c, x, fn, "ok", NULL, extra);
        }
        if (found && !*found) {
            injury_store_delete(c->db, id);
            return platform_fail(c, x, fn, "HG_PLATFORM_UNAVAILABLE", apr_psprintf(c->pool, "%s: the answer was lost "
                                 "and the platform holds no such registration (checked by query): safe to call again",
                                 fn->id), NULL, NULL);
        }
    }
    if (rv || r.outcome != INJ_O_ANSWERED || r.verdict != INJ_R_OK
        || !(aaz218 = hg_json_gets(r.answer, "aaz218", NULL)) || !*aaz218) {
        apr_status_t drv = injury_store_delete(c->db, id);
        if (rv == HG_EINVALID)
            return hg_call_fail(c, "HG_FIELD_PATTERN", NULL, why);
        if (rv || drv)
            return rv ? rv : drv;
        if (r.outcome == INJ_O_ANSWERED && r.verdict == INJ_R_OK)   /* "yes" without aaz218 */
            return platform_fail(c, x, fn, "HG_PLATFORM_REJECTED", "the platform's answer has no aaz218", &r, NULL);
        /* a lost registration answer is safe to repeat: the platform answers the same aaz218 for the
         * same (aac001, bka025) — say so instead of guessing */
        return fail_result(c, x, fn, &r, NULL);
    }
    if ((rv = injury_store_set_aaz218(c->db, id, aaz218)) == HG_ECONFLICT) {
        injury_store_delete(c->db, id);
        return platform_fail(c, x, fn, "HG_CONFLICT", "the platform answered an aaz218 that is already recorded "
                             "for another visit or stay", &r, NULL);
    }
    if (rv)
        return rv;
    json_object_set_new(extra, "replayed", json_false());
    json_object_set_new(extra, "aaz218", json_string(aaz218));
    /* 110104 with fee lines and bka893=1 registers and settles in one call */
    if (fn->action == INJ_A_OP_REGISTER && json_array_size(json_object_get(c->json, "feeinfo"))
        && !strcmp(text_of(c, c->json, "bka893"), "1")) {
        int v = split_check(c, fn, aaz218, r.answer, extra);
        if ((rv = injury_store_set_state(c->db, id, "settled", -1))
            || (rv = store_settlement(c, fn, id, "settle", r.answer, v, 0, extra)))
            return rv;
        json_object_set_new(extra, "state", json_string("settled"));
        if (v == 0)
            json_object_set_new(extra, "status", json_string("split_mismatch"));
    }
    else
        json_object_set_new(extra, "state", json_string("registered"));
    injury_store_release(c->db, id);
    return ok_answer(c, x, fn, json_object_get(extra, "status") ? "split_mismatch" : "ok", &r, extra);
}

/* ---------------------------------------------------------------- resolving a lost answer */

/* the platform's state of an inpatient stay (120102 by aaz218): INJ_S_NONE when it cannot be had */
static injury_state_t platform_stay_state(hg_call_t *c, injury_ctx_t *x, const injury_stay_t *st)
{
    const injury_fn_t *q = injury_fn_find("bizh120102");
    json_t *in = hg_json_own(c->pool, json_pack("{s:s, s:s, s:s}", "bka895", "aaz218", "bka896", st->aaz218,
                                               "bka006", "420")), *rows, *row;
    injury_result_t r;
    const char *why, *s;
    size_t i;
    if (injury_call(x, q, in, NULL, NULL, &r, &why) || r.outcome != INJ_O_ANSWERED || r.verdict != INJ_R_OK)
        return INJ_S_NONE;
    rows = json_object_get(r.answer, "bizinfo");
    json_array_foreach(rows, i, row) {
        if (strcmp(text_of(c, row, "aaz218"), st->aaz218))
            continue;
        s = text_of(c, row, "bkz001");
        if (!strcmp(text_of(c, row, "aae100"), "0") || !strcmp(s, "cancelled"))
            return INJ_S_CANCELLED;
        if (!strcmp(text_of(c, row, "bka891"), "1") || !strcmp(s, "settled"))
            return INJ_S_SETTLED;
        if (!strcmp(s, "discharged") || (!*s && *text_of(c, row, "bka032")))
            return INJ_S_DISCHARGED;
        return st->fee_rows > 0 ? INJ_S_FEES : INJ_S_REGISTERED;
    }
    return INJ_S_NONE;
}

/* the newest live settlement of a stay (120206), as a payinfo answer, or NULL */
static json_t *platform_settlement(hg_call_t *c, injury_ctx_t *x, const char *aaz218)
{
    const injury_fn_t *q = injury_fn_find("bizh120206");
    json_t *in = hg_json_own(c->pool, json_pack("{s:s}", "aaz218", aaz218)), *rows, *row;
    injury_result_t r;
    const char *why;
    size_t i;
    if (injury_call(x, q, in, NULL, NULL, &r, &why) || r.outcome != INJ_O_ANSWERED || r.verdict != INJ_R_OK)
        return NULL;
    rows = json_object_get(r.answer, "payinfo");
    json_array_foreach(rows, i, row)
        if (strcmp(text_of(c, row, "aae100"), "0"))
            return hg_json_own(c->pool, json_pack("{s:s, s:s, s:[O]}", "return_code", r.code, "return_code_message",
                                                  r.msg, "payinfo", row));
    return NULL;
}

/* outpatient: the visit's batches (110103 bka001=0) and whether it is cancelled (110102); -1 unknown */
static int platform_visit(hg_call_t *c, injury_ctx_t *x, const injury_stay_t *st, json_t **batches, int *cancelled)
{
    const injury_fn_t *q3 = injury_fn_find("bizh110103"), *q2 = injury_fn_find("bizh110102");
    json_t *in = hg_json_own(c->pool, json_pack("{s:s, s:s, s:s, s:s}", "bka895", "aaz218", "bka896", st->aaz218,
                                               "bka006", "410", "bka001", "0")), *row;
    injury_result_t r;
    const char *why;
    size_t i;
    if (injury_call(x, q3, in, NULL, NULL, &r, &why) || r.outcome != INJ_O_ANSWERED || r.verdict != INJ_R_OK)
        return -1;
    *batches = json_is_array(json_object_get(r.answer, "payinfo")) ? json_object_get(r.answer, "payinfo") : NULL;
    json_object_del(in, "bka001");
    if (injury_call(x, q2, in, NULL, NULL, &r, &why) || r.outcome != INJ_O_ANSWERED || r.verdict != INJ_R_OK)
        return -1;
    *cancelled = 0;
    json_array_foreach(json_object_get(r.answer, "bizinfo"), i, row)
        if (!strcmp(text_of(c, row, "aaz218"), st->aaz218) && !strcmp(text_of(c, row, "aae100"), "0"))
            *cancelled = 1;
    return 0;
}

static int bka001_of(hg_call_t *c, json_t *row)
{
    return atoi(text_of(c, row, "bka001"));
}

/* The pending call of st (a settle or cancel whose answer never came) against what the platform
 * says now.  Returns 1 when it happened (the local record now says so; *answer the platform's
 * settlement when there is one), 0 when it did not (pending cleared), -1 when the platform could not
 * tell (pending kept), -2 when no connection came back after a query (nothing written, pending kept). */
static int resolve_pending(hg_call_t *c, injury_ctx_t *x, injury_stay_t *st, json_t *extra, json_t **answer)
{
    const injury_fn_t *pf = injury_fn_find(st->pending_fn);
    json_t *pin = st->pending_body ? hg_json_own(c->pool, json_loads(st->pending_body, 0, NULL)) : NULL;
    injury_stay_facts_t facts = { 1, !strcmp(st->kind, "inpatient"), injury_state_parse(st->state), st->fee_rows };
    injury_state_t want, now;
    const char *why;
    int happened;

    *answer = NULL;
    if (!pf || !pin || injury_transition(pf, &facts, injury_is_trial(pf, pin), injury_is_refund(pf, pin), &want, &why)) {
        injury_store_set_pending(c->db, st->id, NULL, NULL);   /* nothing sensible to resolve */
        return 0;
    }
    if (facts.inpatient) {
        if ((now = platform_stay_state(c, x, st)) == INJ_S_NONE)
            return c->db ? -1 : -2;
        happened = now == want || (want == INJ_S_REGISTERED && now == INJ_S_FEES)
                   || (want == INJ_S_FEES && now == INJ_S_REGISTERED);
        if (happened && want == INJ_S_SETTLED) {
            if (!(*answer = platform_settlement(c, x, st->aaz218)))
                return c->db ? -1 : -2;
            if (store_settlement(c, pf, st->id, "settle", *answer, split_check(c, pf, st->aaz218, *answer, extra),
                                 1, extra))
                return -1;
        }
        if (happened && pf->action == INJ_A_IP_UNSETTLE)
            injury_store_cancel_settlement(c->db, st->id);
        /* it did not happen, and the platform's state is not ours either: the platform is the truth
         * (a settled stay is not adopted this way: its settlement would be missing here) */
        if (!happened && now != facts.state && now != INJ_S_SETTLED) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, c->r, "HG12032: work-injury stay %s: local state %s, the "
                          "platform's %s: adopted", st->aaz218, st->state, injury_state_name(now));
            injury_store_set_state(c->db, st->id, injury_state_name(now), -1);
            st->state = injury_state_name(now);
        }
    }
    else {
        json_t *batches = NULL, *row, *newest = NULL;
        int cancelled = 0, known;
        size_t i;
        if (platform_visit(c, x, st, &batches, &cancelled) < 0)
            return c->db ? -1 : -2;
        if (injury_store_count_settlements(c->db, st->id, &known))
            return -1;
        if (pf->action == INJ_A_OP_CANCEL)
            happened = cancelled;
        else {
            /* one more batch on the platform than settlements recorded here: the lost one */
            json_array_foreach(batches, i, row)
                if (!newest || bka001_of(c, row) > bka001_of(c, newest))
                    newest = row;
            happened = (int)json_array_size(batches) > known && newest;
            if (happened) {
                *answer = hg_json_own(c->pool, json_pack("{s:s, s:[O]}", "return_code", "1", "payinfo", newest));
                if (store_settlement(c, pf, st->id, want == INJ_S_REFUNDED ? "refund" : "settle", *answer,
                                     split_check(c, pf, st->aaz218, *answer, extra), 1, extra))
                    return -1;
            }
        }
    }
    if (happened) {
        injury_store_set_state(c->db, st->id, injury_state_name(want), want == INJ_S_REGISTERED ? 0 : -1);
        st->state = injury_state_name(want);
    }
    injury_store_set_pending(c->db, st->id, NULL, NULL);
    json_object_set_new(extra, "resolved", json_pack("{s:s, s:b}", "function_id", pf->id, "happened", happened));
    st->pending_fn = NULL;
    return happened;
}

/* ---------------------------------------------------------------- inpatient fees in batches */

static apr_status_t do_fees(hg_call_t *c, injury_ctx_t *x, const injury_fn_t *fn, injury_stay_t *st)
{
    json_t *rows = json_object_get(c->json, "feeinfo"), *list = hg_json_own(c->pool, json_array());
    json_t *extra = hg_json_object(c->pool);
    apr_size_t n = json_array_size(rows), done = 0;
    int nb = injury_batch_count(n, INJURY_BATCH_MAX), b;
    injury_result_t r;
    const char *why = NULL;
    apr_status_t rv;

    injury_number_fees(rows, st->fee_rows + 1);     /* the spec's client numbers aaz213 from 1 per stay */
    json_object_set_new(extra, "aaz218", json_string(st->aaz218));
    json_object_set(extra, "batches", list);
    for (b = 0; b < nb; b++) {
        json_t *slice = injury_batch_slice(c->pool, rows, done, INJURY_BATCH_MAX);
        if ((rv = injury_call(x, fn, c->json, "feeinfo", slice, &r, &why)) == HG_EINVALID)
            return hg_call_fail(c, "HG_FIELD_PATTERN", apr_psprintf(c->pool, "feeinfo[%d]", (int)done), why);
        if (rv && !c->db) {
            json_array_append_new(list, json_pack("{s:i, s:i, s:s, s:s}", "batch", b + 1, "rows",
                                                  (int)json_array_size(slice), "return_code", r.code ? r.code : "",
                                                  "return_code_message", r.msg ? r.msg : (r.error ? r.error : "")));
            return db_lost(c, x, fn, &r, extra, apr_psprintf(c->pool, "batch %d of %d was the last sent (see "
                           "batches); the stay's record here still counts %d fee lines and does not count the ones "
                           "the platform accepted in this call", b + 1, nb, st->fee_rows));
        }
        if (rv)
            return rv;
        json_array_append_new(list, json_pack("{s:i, s:i, s:s, s:s}", "batch", b + 1, "rows", (int)json_array_size(slice),
                                              "return_code", r.code ? r.code : "", "return_code_message",
                                              r.msg ? r.msg : (r.error ? r.error : "")));
        if (r.outcome != INJ_O_ANSWERED || r.verdict != INJ_R_OK)
            break;
        done += json_array_size(slice);
    }
    if (b == nb) {
        int total = st->fee_rows + (int)n;
        if ((rv = injury_store_set_state(c->db, st->id, "fees_uploaded", total)))
            return rv;
        json_object_set_new(extra, "rows", json_integer((json_int_t)n));
        json_object_set_new(extra, "fee_rows", json_integer(total));
        json_object_set_new(extra, "state", json_string("fees_uploaded"));
        return ok_answer(c, x, fn, "ok", &r, extra);
    }
    if (b == 0 && r.outcome != INJ_O_UNKNOWN)
        return fail_result(c, x, fn, &r, extra);           /* nothing of this call was stored */
    {
        /* a later batch failed (or one whose answer was lost): wipe the stay's fees with 120004, as the
         * spec's client does, and say which batch failed and why */
        const injury_fn_t *wipe = injury_fn_find("bizh120004");
        json_t *in = hg_json_own(c->pool, json_pack("{s:s}", "aaz218", st->aaz218));
        injury_result_t w;
        int wiped;
        if ((rv = injury_call(x, wipe, in, NULL, NULL, &w, &why)) && !c->db) {
            json_object_set_new(extra, "failed_batch", json_integer(b + 1));
            json_object_set_new(extra, "wipe", json_pack("{s:s, s:s}", "return_code", w.code ? w.code : "",
                                                         "return_code_message", w.msg ? w.msg : (w.error ? w.error : "")));
            return db_lost(c, x, fn, &r, extra, apr_psprintf(c->pool, "fee batch %d of %d failed, then the stay's "
                           "fee lines were deleted on the platform (bizh120004: %s); the stay's record here (%d fee "
                           "lines) was not updated", b + 1, nb,
                           w.outcome == INJ_O_ANSWERED && w.verdict == INJ_R_OK ? "done" : "not done", st->fee_rows));
        }
        if (rv)
            return rv;
        wiped = w.outcome == INJ_O_ANSWERED && w.verdict == INJ_R_OK;
        json_object_set_new(extra, "failed_batch", json_integer(b + 1));
        json_object_set_new(extra, "rows_accepted_before", json_integer((json_int_t)done));
        json_object_set_new(extra, "wiped", json_boolean(wiped));
        json_object_set_new(extra, "wipe", json_pack("{s:s, s:s}", "return_code", w.code ? w.code : "",
                                                     "return_code_message", w.msg ? w.msg : (w.error ? w.error : "")));
        if (wiped)
            rv = injury_store_set_state(c->db, st->id, "registered", 0);
        else
            rv = injury_store_set_state(c->db, st->id, "fees_uploaded", st->fee_rows + (int)done);
        if (rv)
            return rv;
        json_object_set_new(extra, "state", json_string(wiped ? "registered" : "fees_uploaded"));
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, c->r, "HG12020: work-injury fee batch %d/%d of aaz218 %s failed "
                      "(%s %s); the stay's fees %s", b + 1, nb, st->aaz218, r.code ? r.code : "-",
                      r.error ? r.error : "", wiped ? "were wiped with bizh120004" : "could NOT be wiped");
        return platform_fail(c, x, fn, "HG_INJURY_FEE_BATCH",
                             apr_psprintf(c->pool, "fee batch %d of %d failed: %s%s; %s", b + 1, nb,
                                          r.outcome == INJ_O_ANSWERED ? r.msg : "",
                                          r.outcome == INJ_O_ANSWERED ? "" : (r.error ? r.error : "no answer"),
                                          wiped ? "all fee lines of the stay were deleted (120004): upload them again"
                                                : "deleting the uploaded fee lines failed too"), &r, extra);
    }
}

/* ---------------------------------------------------------------- calls on an existing visit or stay */

static apr_status_t apply_ok(hg_call_t *c, injury_ctx_t *x, const injury_fn_t *fn, injury_stay_t *st,
                             injury_state_t next, int trial, int refund, const injury_result_t *r, json_t *extra,
                             int resolved)
{
    apr_status_t rv = APR_SUCCESS;
    const char *status = "ok";
    if (fn->action == INJ_A_OP_SETTLE || fn->action == INJ_A_IP_SETTLE || fn->action == INJ_A_IP_PRESETTLE) {
        int v = split_check(c, fn, st->aaz218, r->answer, extra);
        if (v == 0)
            status = "split_mismatch";
        if (!trial && (rv = store_settlement(c, fn, st->id, refund ? "refund" : "settle", r->answer, v, resolved,
                                             extra)))
            return rv;
    }
    if (fn->action == INJ_A_IP_UNSETTLE && (rv = injury_store_cancel_settlement(c->db, st->id)))
        return rv;
    if (fn->kind != INJ_K_QUERY && next != injury_state_parse(st->state)
        && (rv = injury_store_set_state(c->db, st->id, injury_state_name(next), next == INJ_S_REGISTERED
                                        && fn->action == INJ_A_IP_WIPE ? 0 : -1)))
        return rv;
    json_object_set_new(extra, "aaz218", json_string(st->aaz218));
    json_object_set_new(extra, "state", json_string(injury_state_name(next)));
    if (resolved)
        json_object_set_new(extra, "resolved_by_query", json_true());
    return ok_answer(c, x, fn, status, r, extra);
}

static apr_status_t do_stay(hg_call_t *c, injury_ctx_t *x, const injury_fn_t *fn)
{
    const char *aaz218 = text_of(c, c->json, "aaz218"), *why = NULL;
    injury_stay_t *st = NULL;
    injury_stay_facts_t facts;
    injury_state_t next;
    injury_result_t r;
    json_t *extra = hg_json_object(c->pool), *answer;
    int trial = injury_is_trial(fn, c->json), refund = injury_is_refund(fn, c->json), needs, mark;
    apr_status_t rv;
    const char *kept = apr_psprintf(c->pool, "the call stays recorded as pending: the next call for this aaz218 "
                                    "(once this one's claim has run out, %d s) asks the platform whether it happened",
                                    busy_seconds());

    memset(&facts, 0, sizeof(facts));
    rv = injury_store_stay(c->db, c->pool, G->pc.akb020, aaz218, &st);
    if (rv && rv != HG_ENOTFOUND)
        return rv;
    if (rv == HG_ENOTFOUND) {
        injury_transition(fn, &facts, trial, refund, &next, &why);
        return hg_call_fail(c, "HG_INJURY_STATE", "aaz218", why);
    }
    if ((rv = injury_store_claim(c->db, st->id, busy_seconds())) == HG_ECONFLICT)
        return hg_call_fail(c, "HG_INJURY_BUSY", "aaz218", NULL);
    if (rv)
        return rv;

    /* a settle or cancel whose answer never came: ask the platform first, never do it twice */
    if (st->pending_fn) {
        const char *pending = st->pending_fn;
        int h = resolve_pending(c, x, st, extra, &answer);
        if (h == -2)
            return db_lost(c, x, fn, NULL, extra, apr_psprintf(c->pool, "%s was not sent; the earlier %s is still "
                           "pending: the next call for this aaz218 (once this one's claim has run out, %d s) asks the "
                           "platform again", fn->id, pending, busy_seconds()));
        if (h < 0) {
            injury_store_release(c->db, st->id);
            return platform_fail(c, x, fn, "HG_PLATFORM_TIMEOUT", apr_psprintf(c->pool, "the answer of an earlier %s "
                                 "never came and the platform cannot tell yet whether it happened; nothing was sent",
                                 pending), NULL, hg_json_own(c->pool, json_pack("{s:s}", "pending", pending)));
        }
        if (h == 1 && !strcmp(pending, fn->id)) {
            /* the HIS retries what already happened: the platform's result, not a second call */
            injury_result_t rr;
            memset(&rr, 0, sizeof(rr));
            rr.code = answer ? hg_json_gets(answer, "return_code", NULL) : "1";
            rr.msg = answer ? hg_json_gets(answer, "return_code_message", NULL) : "";
            rr.answer = answer;
            json_object_set_new(extra, "replayed", json_true());
            json_object_set_new(extra, "aaz218", json_string(st->aaz218));
            json_object_set_new(extra, "state", json_string(st->state));
            json_object_set_new(extra, "resolved_by_query", json_true());
            injury_store_release(c->db, st->id);
            return ok_answer(c, x, fn, "ok", &rr, extra);
        }
    }
    facts.exists = 1;
    facts.inpatient = !strcmp(st->kind, "inpatient");
    facts.state = injury_state_parse(st->state);
    facts.fee_rows = st->fee_rows;
    if (injury_transition(fn, &facts, trial, refund, &next, &why)) {
        injury_store_release(c->db, st->id);
        return hg_call_fail(c, "HG_INJURY_STATE", "aaz218", why);
    }
    if (fn->action == INJ_A_IP_FEES) {
        rv = do_fees(c, x, fn, st);
        if (c->db)      /* else the claim runs out */
            injury_store_release(c->db, st->id);
        return rv;
    }
    /* settles and cancels are marked pending (committed) before they are sent, resolved by query when
     * their answer is lost; a discharge too, so that one whose answer came while no connection
     * could be had again is resolved by the next call rather than left unknown here */
    needs = injury_needs_resolution(fn, c->json);
    mark = needs || fn->action == INJ_A_IP_DISCHARGE;
    if (mark && (rv = injury_store_set_pending(c->db, st->id, fn->id, c->body))) {
        injury_store_release(c->db, st->id);
        return rv;
    }
    rv = injury_call(x, fn, c->json, NULL, NULL, &r, &why);
    if (rv && !c->db)
        return db_lost(c, x, fn, &r, extra, mark ? kept : "the stay's record here was not updated to the platform's "
                       "answer");
    if (rv) {
        injury_store_set_pending(c->db, st->id, NULL, NULL);
        injury_store_release(c->db, st->id);
        return rv == HG_EINVALID ? hg_call_fail(c, "HG_FIELD_PATTERN", NULL, why) : rv;
    }
    if (r.outcome == INJ_O_ANSWERED && r.verdict == INJ_R_OK) {
        if (mark)
            injury_store_set_pending(c->db, st->id, NULL, NULL);
        rv = apply_ok(c, x, fn, st, next, trial, refund, &r, extra, 0);
        injury_store_release(c->db, st->id);
        return rv;
    }
    if (r.outcome != INJ_O_UNKNOWN || !needs) {
        if (mark)
            injury_store_set_pending(c->db, st->id, NULL, NULL);
        injury_store_release(c->db, st->id);
        return fail_result(c, x, fn, &r, extra);
    }
    /* outcome unknown: resolve it by query now; if the platform cannot tell, it stays pending */
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, c->r, "HG12030: work-injury %s for aaz218 %s: %s; resolving by query",
                  fn->id, st->aaz218, r.error ? r.error : "no answer");
    st->pending_fn = fn->id;
    st->pending_body = c->body;
    {
        int h = resolve_pending(c, x, st, extra, &answer);
        if (h == -2)
            return db_lost(c, x, fn, &r, extra, kept);
        injury_store_release(c->db, st->id);
        if (h == 1) {
            injury_result_t rr;
            memset(&rr, 0, sizeof(rr));
            rr.code = answer ? hg_json_gets(answer, "return_code", NULL) : "1";
            rr.msg = answer ? hg_json_gets(answer, "return_code_message", NULL) : "";
            rr.answer = answer;
            json_object_set_new(extra, "aaz218", json_string(st->aaz218));
            json_object_set_new(extra, "state", json_string(st->state));
            json_object_set_new(extra, "resolved_by_query", json_true());
            return ok_answer(c, x, fn, json_is_object(json_object_get(extra, "split_check"))
                             && !strcmp(hg_json_gets(extra, "split_check", "result", NULL), "violated")
                             ? "split_mismatch" : "ok", &rr, extra);
        }
        if (h == 0)
            return platform_fail(c, x, fn, "HG_PLATFORM_UNAVAILABLE", apr_psprintf(c->pool, "%s: the answer was lost "
                                 "and the platform says it did not happen (checked by query): safe to call again",
                                 fn->id), NULL, extra);
        json_object_set_new(extra, "pending", json_string(fn->id));
        return platform_fail(c, x, fn, "HG_PLATFORM_TIMEOUT", apr_psprintf(c->pool, "%s: outcome unknown (%s); "
                             "recorded as pending: the next call for this aaz218 asks the platform first",
                             fn->id, r.error ? r.error : "no answer"), NULL, extra);
    }
}

/* ---------------------------------------------------------------- routes */

/* injury_ctx_t's way to give the connection back while the platform works (hg_glue.h) */
static void ctx_db_release(void *baton)
{
    hg_call_db_release(baton);
}

static apr_status_t ctx_db_reacquire(void *baton, hg_db_t **db)
{
    hg_call_t *c = baton;
    apr_status_t rv = hg_call_db_reacquire(c);
    *db = c->db;
    return rv;
}

/* POST /injury/api/v1/<function_id> */
static apr_status_t route_call(hg_call_t *c)
{
    const injury_fn_t *fn = injury_fn_find(c->path_rest);
    const char *akb;
    injury_ctx_t x;
    apr_status_t rv;

    if (!fn)
        return hg_call_fail(c, "HG_INJURY_UNKNOWN_FUNCTION", "function_id",
                            apr_psprintf(c->pool, "no work-injury function %.40s (see README: mod_injury)",
                                         hg_utf8_repair(c->pool, c->path_rest)));
    if ((rv = injury_validate(c->pool, fn, c->json, &c->err)))
        return rv;
    if (!G->pc.url || !G->pc.userid || !G->pc.akb020)
        return hg_call_fail(c, "HG_INTERNAL", NULL, "InjuryPlatform, InjuryAccount and InjuryInstitution are not "
                            "configured");
    if ((akb = hg_json_gets(c->json, "akb020", NULL)) && *akb && strcmp(akb, G->pc.akb020))
        return hg_call_fail(c, "HG_FIELD_ENUM", "akb020", "akb020 is the institution hisgate is configured for "
                            "(leave it out)");
    injury_ctx_init(&x, &G->pc, c->db, c->pool, c->institution, c->request_id, G->audit_key);
    x.db_release = ctx_db_release;
    x.db_reacquire = ctx_db_reacquire;
    x.db_baton = c;
    switch (fn->action) {
    case INJ_A_RELAY:
        rv = do_relay(c, &x, fn);
        break;
    case INJ_A_CODES:
        rv = do_codes(c, &x, fn);
        break;
    case INJ_A_OP_REGISTER:
    case INJ_A_IP_ADMIT:
        rv = do_register(c, &x, fn);
        break;
    default:
        rv = do_stay(c, &x, fn);
        break;
    }
    if (c->db)
        hg_db_rollback(c->db);
    else if (x.journal->nelts) {
        /* no connection came back after the platform's answer: one more try for the journal */
        hg_error_t *err = c->err;
        if (hg_call_db_reacquire(c) != APR_SUCCESS)
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, c->r, "HG12034: work-injury journal of %d exchange(s) not "
                          "written: no database connection", x.journal->nelts);
        c->err = err;
    }
    x.db = c->db;
    injury_journal_flush(&x);
    return rv;
}

/* GET /injury/api/v1/settlements/<id>/slip — the settlement slip (PDF) */
static apr_status_t route_slip(hg_call_t *c)
{
    char *rest = apr_pstrdup(c->pool, c->path_rest), *last;
    const char *id = apr_strtok(rest, "/", &last), *what = apr_strtok(NULL, "/", &last), *buf, *err = NULL;
    injury_settlement_t *s;
    apr_size_t len;
    apr_status_t rv;

    if (!id || !what || strcmp(what, "slip") || apr_strtok(NULL, "/", &last) || strspn(id, "0123456789") != strlen(id)
        || strlen(id) > 18)
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
    if (!G->pc.akb020)
        return hg_call_fail(c, "HG_INJURY_NOT_FOUND", NULL, NULL);
    if ((rv = injury_store_settlement(c->db, c->pool, G->pc.akb020, id, &s)) == HG_ENOTFOUND)
        return hg_call_fail(c, "HG_INJURY_NOT_FOUND", "id", NULL);
    if (rv)
        return rv;
    hg_call_db_release(c);      /* the render needs no database: let others have the slot meanwhile */
    if ((rv = injury_pdf_slip(&buf, &len, c->pool, &G->pc, s, &err))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, c->r, "HG12040: work-injury slip %s not rendered: %s", id,
                      err ? err : "");
        return hg_call_fail(c, "HG_INTERNAL", NULL, "the slip could not be rendered");
    }
    c->out_body = buf;
    c->out_len = len;
    c->out_type = "application/pdf";
    apr_table_setn(c->r->headers_out, "Content-Disposition",
                   apr_psprintf(c->pool, "inline; filename=\"injury-settlement-%s.pdf\"", id));
    return APR_SUCCESS;
}

static const hg_route_t injury_routes[] = {
    { "GET",  "/injury/api/v1/settlements/", HG_R_SIGNED | HG_R_PREFIX, NULL, route_slip },
    { "POST", "/injury/api/v1/", HG_R_SIGNED | HG_R_JSON | HG_R_PREFIX, NULL, route_call },
    { NULL }
};

/* ---------------------------------------------------------------- hooks */

static int injury_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(hg_register_routes) *reg_routes = APR_RETRIEVE_OPTIONAL_FN(hg_register_routes);
    APR_OPTIONAL_FN_TYPE(hg_conf_get) *conf_get = APR_RETRIEVE_OPTIONAL_FN(hg_conf_get);
    injury_mod_conf_t *c = ap_get_module_config(s->module_config, &injury_module);

    if (!reg_routes || !conf_get) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "HG12000: mod_injury needs mod_hisgate loaded first");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    G = c;
    reg_routes("injury", injury_routes, c);
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    c->pc.ca_file = conf_get("ca_file");
    c->audit_key = (const unsigned char *)conf_get("audit_key");
    if (!c->pc.url || !c->pc.userid || !c->pc.akb020)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "HG12001: mod_injury: InjuryPlatform, InjuryAccount and "
                     "InjuryInstitution must all be set; the /injury routes answer HG_INTERNAL until they are");
    return OK;
}

/* this module's copy of hg_pdf needs its fonts (slips) */
static void injury_child_init(apr_pool_t *p, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(hg_conf_get) *conf_get = APR_RETRIEVE_OPTIONAL_FN(hg_conf_get);
    const char *fonts = conf_get ? conf_get("fonts") : NULL;
    if (!fonts || hg_pdf_global_init(fonts) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "HG12002: mod_injury: fonts %s not loaded (%s): slips will "
                     "fail", fonts ? fonts : "(none)", hg_pdf_init_error());
}

static void injury_register_hooks(apr_pool_t *p)
{
    static const char *const pred[] = { "mod_hisgate.c", NULL };
    ap_hook_post_config(injury_post_config, pred, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(injury_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(injury) = {
    STANDARD20_MODULE_STUFF, NULL, NULL, create_conf, NULL, injury_cmds, injury_register_hooks, 0
};
