/* injury_model: catalogue, validation, XML envelope, batches, split rules, state machine
 * (see injury_model.h).  No httpd headers. */
#include <string.h>
#include <stdlib.h>
#include <apr_strings.h>
#include "injury_model.h"
#include "hg_json.h"
#include "hg_money.h"
#include "hg_xml.h"

/* ---------------------------------------------------------------- the catalogue */

#define L(...) (const char *const[]){ __VA_ARGS__, NULL }
static const char *const NONE[] = { NULL };
static const char *const FEEINFO[] = { "feeinfo", NULL };
static const char *const DETAIL[] = { "detail", NULL };

static const injury_fn_t CATALOGUE[] = {
    /* 4.1 outpatient */
    { "bizh110001", "门诊挂号时取人员信息", INJ_K_OUTPATIENT, INJ_A_RELAY, L("bka895", "bka896", "bka006"), NONE, NULL, 0 },
    { "bizh110102", "收费时提取门诊业务信息", INJ_K_OUTPATIENT, INJ_A_RELAY, L("bka895", "bka896", "bka006"), NONE, NULL, 0 },
    { "bizh110103", "退费时提取门诊业务信息", INJ_K_OUTPATIENT, INJ_A_RELAY, L("bka895", "bka896", "bka006", "bka001"), NONE, NULL, 0 },
    { "bizh110104", "门诊挂号", INJ_K_OUTPATIENT, INJ_A_OP_REGISTER,
      L("aac001", "aka130", "bka006", "bka017", "bka025"), FEEINFO, NULL, INJ_FILL_OPERATOR },
    { "bizh110105", "门诊费用上传并结算", INJ_K_OUTPATIENT, INJ_A_OP_SETTLE, L("aaz218", "bka893"), FEEINFO, "feeinfo",
      INJ_FILL_OPERATOR },
    { "bizh110106", "取消门诊挂号", INJ_K_OUTPATIENT, INJ_A_OP_CANCEL, L("aaz218"), NONE, NULL, INJ_FILL_OPERATOR },
    /* 4.2 inpatient */
    { "bizh120001", "入院登记时取人员信息", INJ_K_INPATIENT, INJ_A_RELAY, L("bka895", "bka896", "aka130", "bka017", "bka006"),
      NONE, NULL, 0 },
    { "bizh120102", "入院登记后取业务信息", INJ_K_INPATIENT, INJ_A_RELAY, L("bka895", "bka896"), NONE, NULL, 0 },
    { "bizh120103", "入院登记", INJ_K_INPATIENT, INJ_A_IP_ADMIT, L("aac001", "aka130", "bka006", "bka017", "bka025"),
      NONE, NULL, INJ_FILL_OPERATOR },
    { "bizh120104", "入院登记信息修改", INJ_K_INPATIENT, INJ_A_IP_MODIFY, L("aaz218"), NONE, NULL, 0 },
    { "bizh120002", "校验并保存费用信息", INJ_K_INPATIENT, INJ_A_IP_FEES, L("aaz218"), FEEINFO, "feeinfo", 0 },
    { "bizh120003", "校验并计算费用信息", INJ_K_INPATIENT, INJ_A_IP_PRESETTLE, L("aaz218", "bka438"), NONE, NULL, 0 },
    { "bizh120004", "删除住院业务费用明细", INJ_K_INPATIENT, INJ_A_IP_WIPE, L("aaz218"), NONE, NULL, 0 },
    { "bizh120105", "出院登记", INJ_K_INPATIENT, INJ_A_IP_DISCHARGE, L("aaz218", "bka032"), NONE, NULL, INJ_FILL_DISCHARGER },
    { "bizh120106", "出院结算", INJ_K_INPATIENT, INJ_A_IP_SETTLE, L("aaz218"), NONE, NULL, INJ_FILL_SETTLER },
    { "bizh120107", "取消出院结算", INJ_K_INPATIENT, INJ_A_IP_UNSETTLE, L("aaz218"), NONE, NULL, 0 },
    { "bizh120108", "取消出院登记", INJ_K_INPATIENT, INJ_A_IP_UNDISCHARGE, L("aaz218"), NONE, NULL, 0 },
    { "bizh120109", "取消入院登记", INJ_K_INPATIENT, INJ_A_IP_UNADMIT, L("aaz218"), NONE, NULL, 0 },
    /* named by the issue, not by the spec (injury.md has no layout for them): read-only queries */
    { "bizh120206", "结算信息查询", INJ_K_INPATIENT, INJ_A_RELAY, L("aaz218"), NONE, NULL, 0 },
    { "bizh120113", "住院业务查询", INJ_K_INPATIENT, INJ_A_RELAY, L("aaz218"), NONE, NULL, 0 },
    /* 4.3 medical records (病案首页) */
    { "bizh200101", "住院病人信息（病案首页）录入", INJ_K_RECORD, INJ_A_IP_RECORD, L("aaz218"), NONE, NULL, 0 },
    { "bizh200102", "住院病人诊断信息录入", INJ_K_RECORD, INJ_A_IP_RECORD, L("aaz218"), DETAIL, "detail", 0 },
    { "bizh200103", "住院病人手术信息", INJ_K_RECORD, INJ_A_IP_RECORD, L("aaz218"), DETAIL, "detail", 0 },
    { "bizh200104", "产科分娩婴儿信息", INJ_K_RECORD, INJ_A_IP_RECORD, L("aaz218"), DETAIL, "detail", 0 },
    { "bizh200105", "肿瘤专科病人治疗记录", INJ_K_RECORD, INJ_A_IP_RECORD, L("aaz218"), DETAIL, NULL, 0 },
    { "bizh200106", "出院小结", INJ_K_RECORD, INJ_A_IP_RECORD, L("aaz218"), NONE, NULL, 0 },
    /* 4.4 queries, cached for a day */
    { "bizh410004", "累计查询", INJ_K_QUERY, INJ_A_CODES, L("aac001", "aae001"), NONE, NULL, 0 },
    { "bizh410005", "基金状态查询", INJ_K_QUERY, INJ_A_CODES, L("aac001"), NONE, NULL, 0 },
    { "bizh120205", "码表服务", INJ_K_QUERY, INJ_A_CODES, L("aaa100"), NONE, NULL, 0 },
};
#define N_CATALOGUE (sizeof(CATALOGUE) / sizeof(CATALOGUE[0]))

const injury_fn_t *injury_fn_find(const char *id)
{
    apr_size_t i;
    for (i = 0; id && i < N_CATALOGUE; i++)
        if (!strcmp(CATALOGUE[i].id, id))
            return &CATALOGUE[i];
    return NULL;
}

const injury_fn_t *injury_fn_table(apr_size_t *n)
{
    *n = N_CATALOGUE;
    return CATALOGUE;
}

/* ---------------------------------------------------------------- validation */

/* code values fixed by the spec (§3); checked wherever the field appears */
static const struct { const char *field; const char *const *values; } ENUMS[] = {
    { "bka006", L("410", "420") },
    { "aka130", L("41", "42") },
    { "bka893", L("0", "1") },
    { "bka895", L("aac001", "aac002", "bka100", "aaz218", "bka025") },
    { "bka438", L("1", "2", "3") },
    { "bka891", L("0", "1") },
};

/* fields hisgate owns: the HIS may not send them */
static const char *const OWNED[] = { "session_id", "function_id", NULL };

static int in_list(const char *const *l, const char *s)
{
    for (; l && *l; l++)
        if (!strcmp(*l, s))
            return 1;
    return 0;
}

static int field_code_ok(const char *k)
{
    apr_size_t i, n = strlen(k);
    if (n == 0 || n > 32 || !((k[0] >= 'A' && k[0] <= 'Z') || (k[0] >= 'a' && k[0] <= 'z') || k[0] == '_'))
        return 0;
    for (i = 1; i < n; i++)
        if (!((k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9')
              || k[i] == '_'))
            return 0;
    return strcmp(k, "row") != 0;
}

/* a scalar's text ("" for null); NULL when the value is not a string, an integer or null */
static const char *scalar_text(apr_pool_t *p, json_t *v)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        return apr_psprintf(p, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    if (json_is_null(v))
        return "";
    return NULL;
}

static apr_status_t fail(hg_error_t **err, apr_pool_t *p, const char *code, const char *field, const char *msg)
{
    if (err)
        *err = hg_error_make(p, code, field, "%s", msg);
    return HG_EINVALID;
}

static apr_status_t check_scalar(apr_pool_t *p, const char *path, const char *key, json_t *v, hg_error_t **err)
{
    const char *t = scalar_text(p, v);
    apr_size_t i, ncp;
    if (!t)
        return fail(err, p, "HG_FIELD_TYPE", path, json_is_real(v) || json_is_boolean(v)
                    ? "amounts, quantities and flags travel as strings (\"12.50\", \"1\")"
                    : "a field code takes a string, an integer or null");
    if (hg_utf8_count(&ncp, t, strlen(t)) != APR_SUCCESS || ncp > 2000)
        return fail(err, p, "HG_FIELD_TOO_LONG", path, "at most 2000 characters");
    for (i = 0; i < sizeof(ENUMS) / sizeof(ENUMS[0]); i++)
        if (!strcmp(ENUMS[i].field, key) && *t && !in_list(ENUMS[i].values, t))
            return fail(err, p, "HG_FIELD_ENUM", path,
                        apr_psprintf(p, "%s is not one of the spec's values", key));
    if ((!strcmp(key, "bka017") || !strcmp(key, "bka032")) && *t
        && hg_date_parse(NULL, t, strlen(t), HG_DATE_DATE8, NULL) != APR_SUCCESS)
        return fail(err, p, "HG_FIELD_DATE", path, "a date as yyyyMMdd");
    return APR_SUCCESS;
}

static const char *const FEE_REQUIRED[] = { "ake005", "ake006", "bka058", NULL };

/* a fee line: item code and name, an amount with at most two decimals (negative = refund line) */
static apr_status_t check_fee_row(apr_pool_t *p, const char *path, json_t *row, hg_error_t **err)
{
    const char *const *f;
    const char *t;
    apr_int64_t fen;
    for (f = FEE_REQUIRED; *f; f++) {
        t = scalar_text(p, json_object_get(row, *f));
        if (!t || !*t)
            return fail(err, p, "HG_FIELD_REQUIRED", apr_pstrcat(p, path, ".", *f, NULL), "required in a fee line");
    }
    t = scalar_text(p, json_object_get(row, "bka058"));
    if (hg_money_parse(&fen, t, HG_MONEY_ALLOW_NEG) != APR_SUCCESS)
        return fail(err, p, "HG_FIELD_MONEY", apr_pstrcat(p, path, ".bka058", NULL), "an amount such as \"12.50\"");
    return APR_SUCCESS;
}

apr_status_t injury_validate(apr_pool_t *p, const injury_fn_t *fn, json_t *in, hg_error_t **err)
{
    const char *key, *const *r;
    json_t *v;
    apr_status_t rv;

    if (!json_is_object(in))
        return fail(err, p, "HG_JSON_NOT_OBJECT", NULL, "request body must be a JSON object");
    json_object_foreach(in, key, v) {
        if (!field_code_ok(key))
            return fail(err, p, "HG_FIELD_UNKNOWN", key, "keys are the spec's field codes (aac001, bka006 …)");
        if (in_list(OWNED, key))
            return fail(err, p, "HG_FIELD_UNKNOWN", key, "filled in by hisgate, do not send it");
        if (json_is_array(v)) {
            apr_size_t i;
            json_t *row;
            if (!in_list(fn->datasets, key))
                return fail(err, p, "HG_FIELD_TYPE", key,
                            apr_psprintf(p, "%s is not a dataset of %s", key, fn->id));
            if (json_array_size(v) > INJURY_FEES_MAX)
                return fail(err, p, "HG_TOO_MANY_ITEMS", key, apr_psprintf(p, "at most %d rows", INJURY_FEES_MAX));
            json_array_foreach(v, i, row) {
                const char *path = apr_psprintf(p, "%s[%d]", key, (int)i), *k2;
                json_t *v2;
                if (!json_is_object(row))
                    return fail(err, p, "HG_FIELD_TYPE", path, "a dataset row is an object of field codes");
                json_object_foreach(row, k2, v2) {
                    const char *p2 = apr_pstrcat(p, path, ".", k2, NULL);
                    if (!field_code_ok(k2))
                        return fail(err, p, "HG_FIELD_UNKNOWN", p2, "keys are the spec's field codes");
                    if ((rv = check_scalar(p, p2, k2, v2, err)))
                        return rv;
                }
                if (!strcmp(key, "feeinfo") && (rv = check_fee_row(p, path, row, err)))
                    return rv;
            }
            continue;
        }
        if (json_is_object(v))
            return fail(err, p, "HG_FIELD_TYPE", key, "nested objects are not part of the interface");
        if ((rv = check_scalar(p, key, key, v, err)))
            return rv;
    }
    for (r = fn->required; r && *r; r++) {
        const char *t = scalar_text(p, json_object_get(in, *r));
        if (!t || !*t)
            return fail(err, p, json_object_get(in, *r) && !t ? "HG_FIELD_TYPE" : "HG_FIELD_REQUIRED", *r,
                        apr_psprintf(p, "%s needs %s", fn->id, *r));
    }
    if (fn->required_dataset) {
        v = json_object_get(in, fn->required_dataset);
        if (!json_is_array(v) || json_array_size(v) == 0)
            return fail(err, p, "HG_FIELD_REQUIRED", fn->required_dataset,
                        apr_psprintf(p, "%s needs at least one %s row", fn->id, fn->required_dataset));
    }
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- the envelope */

static void fill_pair(json_t *o, json_t *in, const char *kc, const char *kn, const injury_fill_t *f)
{
    const char *c = hg_json_gets(in, kc, NULL), *n = hg_json_gets(in, kn, NULL);
    if ((!c || !*c) && f->operator_code)
        json_object_set_new(o, kc, json_string(f->operator_code));
    if ((!n || !*n) && f->operator_name)
        json_object_set_new(o, kn, json_string(f->operator_name));
}

json_t *injury_request_json(apr_pool_t *p, const injury_fn_t *fn, json_t *in, const injury_fill_t *f,
                            const char *dataset, json_t *rows)
{
    json_t *o = hg_json_object(p), *v;
    const char *key;
    json_object_set_new(o, "function_id", json_string(fn->id));
    if (f->session_id)
        json_object_set_new(o, "session_id", json_string(f->session_id));
    json_object_set_new(o, "akb020", json_string(f->akb020 ? f->akb020 : ""));
    json_object_foreach(in, key, v) {
        if (!strcmp(key, "akb020"))
            continue;
        if (dataset && rows && !strcmp(key, dataset))
            json_object_set(o, key, rows);
        else
            json_object_set(o, key, v);
    }
    if (dataset && rows && !json_object_get(o, dataset))
        json_object_set(o, dataset, rows);
    if (fn->fill & INJ_FILL_OPERATOR)
        fill_pair(o, in, "bka014", "bka015", f);
    if (fn->fill & INJ_FILL_DISCHARGER)
        fill_pair(o, in, "bka033", "bka034", f);
    if (fn->fill & INJ_FILL_SETTLER)
        fill_pair(o, in, "bka046", "bka047", f);
    return o;
}

apr_status_t injury_request_xml(const char **xml, apr_pool_t *p, json_t *req, const char **why)
{
    apr_status_t rv = hg_xml_from_json(xml, p, "program", req);
    if (rv && why)
        *why = hg_xml_errmsg(p);
    return rv;
}

injury_verdict_t injury_parse_answer(apr_pool_t *p, const char *body, apr_size_t len, json_t **out,
                                     const char **code, const char **msg)
{
    json_t *o = NULL;
    const char *c, *e;
    long v;
    *out = NULL;
    *code = *msg = "";
    if (!body || hg_xml_to_json(&o, p, body, len) != APR_SUCCESS || !json_is_object(o))
        return INJ_R_GARBLED;
    *out = o;
    c = hg_json_gets(o, "return_code", NULL);
    *msg = (e = hg_json_gets(o, "return_code_message", NULL)) ? e : "";
    if (!c || !*c)
        return INJ_R_GARBLED;
    *code = c;
    v = strtol(c, (char **)&e, 10);
    if (*e)
        return INJ_R_GARBLED;
    if (v == -9)
        return INJ_R_SESSION;
    return v > 0 ? INJ_R_OK : INJ_R_REJECTED;
}

/* ---------------------------------------------------------------- batches */

int injury_batch_count(apr_size_t n, apr_size_t max)
{
    return max ? (int)((n + max - 1) / max) : 0;
}

json_t *injury_batch_slice(apr_pool_t *p, json_t *rows, apr_size_t start, apr_size_t count)
{
    json_t *a = hg_json_own(p, json_array());
    apr_size_t i, n = json_array_size(rows);
    for (i = start; i < n && i < start + count; i++)
        json_array_append(a, json_array_get(rows, i));
    return a;
}

void injury_number_fees(json_t *rows, long first_seq)
{
    apr_size_t i;
    json_t *row;
    char buf[32];
    json_array_foreach(rows, i, row) {
        json_t *v = json_object_get(row, "aaz213");
        if (!v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v))) {
            apr_snprintf(buf, sizeof(buf), "%ld", first_seq + (long)i);
            json_object_set_new(row, "aaz213", json_string(buf));
        }
    }
}

/* ---------------------------------------------------------------- split rules */

static const char *const SPLIT_831[] = { "akb067", "akb066", "bka839", NULL };
static const char *const SPLIT_832[] = { "ake039", "ake035", "ake026", "ake029", "bka841", "bka842", "bka840",
                                         "bka821", NULL };

/* an amount of the answer in fen: missing or "" = 0 (*seen untouched); unreadable -> -1 */
static int amount(json_t *o, const char *k, apr_int64_t *fen, int *seen)
{
    const char *t = hg_json_gets(o, k, NULL);
    *fen = 0;
    if (!t || !*t)
        return json_object_get(o, k) && !json_is_string(json_object_get(o, k)) ? -1 : 0;
    *seen = 1;
    return hg_money_parse(fen, t, HG_MONEY_ALLOW_NEG) == APR_SUCCESS ? 0 : -1;
}

static int sum_of(json_t *o, const char *const *ks, apr_int64_t *sum, int *seen, const char **bad)
{
    apr_int64_t v;
    *sum = 0;
    for (; *ks; ks++) {
        if (amount(o, *ks, &v, seen)) {
            *bad = *ks;
            return -1;
        }
        if (hg_money_add(sum, *sum, v) != APR_SUCCESS) {
            *bad = *ks;
            return -1;
        }
    }
    return 0;
}

static void violation(apr_pool_t *p, json_t *list, const char *where, const char *rule, apr_int64_t l,
                      apr_int64_t r)
{
    json_array_append_new(list, json_string(apr_psprintf(p, "%s%s (%s != %s)", where,
                                                         rule, hg_money_format(p, l), hg_money_format(p, r))));
}

/* checks one object; 1 ok, 0 broken, -1 no split fields */
static int check_one(apr_pool_t *p, json_t *o, const char *where, json_t *list)
{
    apr_int64_t t264, t831, t832, s831, s832, sum;
    int seen = 0, ok = 1;
    const char *bad = NULL;
    if (amount(o, "akc264", &t264, &seen) || amount(o, "bka831", &t831, &seen) || amount(o, "bka832", &t832, &seen)) {
        json_array_append_new(list, json_string(apr_psprintf(p, "%sakc264/bka831/bka832 is not an amount", where)));
        return 0;
    }
    if (!seen)
        return -1;
    if (sum_of(o, SPLIT_831, &s831, &seen, &bad) || sum_of(o, SPLIT_832, &s832, &seen, &bad)) {
        json_array_append_new(list, json_string(apr_psprintf(p, "%s%s is not an amount", where, bad)));
        return 0;
    }
    if (hg_money_add(&sum, t831, t832) != APR_SUCCESS || sum != t264) {
        violation(p, list, where, "akc264 = bka831 + bka832", t264, sum);
        ok = 0;
    }
    if (s831 != t831) {
        violation(p, list, where, "bka831 = akb067 + akb066 + bka839", t831, s831);
        ok = 0;
    }
    if (s832 != t832) {
        violation(p, list, where, "bka832 = ake039 + ake035 + ake026 + ake029 + bka841 + bka842 + bka840 + bka821",
                  t832, s832);
        ok = 0;
    }
    return ok;
}

int injury_split_check(apr_pool_t *p, json_t *answer, json_t **violations)
{
    json_t *list = hg_json_own(p, json_array()), *v, *row;
    const char *key;
    apr_size_t i;
    int verdict = -1, r;

    *violations = list;
    if (!json_is_object(answer))
        return -1;
    if ((r = check_one(p, answer, "", list)) >= 0)
        verdict = r;
    json_object_foreach(answer, key, v) {
        if (!json_is_array(v))
            continue;
        json_array_foreach(v, i, row) {
            if (!json_is_object(row))
                continue;
            r = check_one(p, row, apr_psprintf(p, "%s[%d]: ", key, (int)i), list);
            if (r == 0)
                verdict = 0;
            else if (r == 1 && verdict == -1)
                verdict = 1;
        }
    }
    return verdict;
}

/* ---------------------------------------------------------------- states */

static const char *const STATE_NAMES[] = {
    "none", "registered", "fees_uploaded", "discharge_registered", "settled", "refunded", "cancelled"
};

const char *injury_state_name(injury_state_t s)
{
    return s <= INJ_S_CANCELLED ? STATE_NAMES[s] : "none";
}

injury_state_t injury_state_parse(const char *name)
{
    int i;
    for (i = 1; name && i <= INJ_S_CANCELLED; i++)
        if (!strcmp(STATE_NAMES[i], name))
            return (injury_state_t)i;
    return INJ_S_NONE;
}

int injury_is_trial(const injury_fn_t *fn, json_t *in)
{
    const char *f = hg_json_gets(in, "bka893", NULL);
    if (fn->action == INJ_A_IP_PRESETTLE)
        return 1;
    return fn->action == INJ_A_OP_SETTLE && (!f || strcmp(f, "1"));
}

int injury_is_refund(const injury_fn_t *fn, json_t *in)
{
    json_t *rows = json_object_get(in, "feeinfo"), *row;
    apr_size_t i;
    if (fn->action != INJ_A_OP_SETTLE)
        return 0;
    json_array_foreach(rows, i, row) {
        const char *t = hg_json_gets(row, "bka058", NULL);
        if (t && t[0] == '-')
            return 1;
    }
    return 0;
}

int injury_needs_resolution(const injury_fn_t *fn, json_t *in)
{
    switch (fn->action) {
    case INJ_A_OP_SETTLE:
        return !injury_is_trial(fn, in);
    case INJ_A_OP_CANCEL:
    case INJ_A_IP_SETTLE:
    case INJ_A_IP_UNSETTLE:
    case INJ_A_IP_UNDISCHARGE:
    case INJ_A_IP_UNADMIT:
        return 1;
    default:
        return 0;
    }
}

static apr_status_t refuse(const char **why, const char *text)
{
    *why = text;
    return HG_ECONFLICT;
}

apr_status_t injury_transition(const injury_fn_t *fn, const injury_stay_facts_t *st, int trial, int refund,
                               injury_state_t *next, const char **why)
{
    injury_state_t s = st->exists ? st->state : INJ_S_NONE;
    int ip = fn->kind != INJ_K_OUTPATIENT;

    *next = s;
    *why = NULL;
    switch (fn->action) {
    case INJ_A_RELAY:
    case INJ_A_CODES:
        return APR_SUCCESS;
    case INJ_A_OP_REGISTER:
    case INJ_A_IP_ADMIT:
        *next = INJ_S_REGISTERED;
        return APR_SUCCESS;        /* an existing live record is answered as a replay by the caller */
    default:
        break;
    }
    if (!st->exists || s == INJ_S_NONE)
        return refuse(why, ip ? "no inpatient stay with this aaz218: admit first (无此住院登记)"
                              : "no outpatient visit with this aaz218: register first (无此门诊挂号)");
    if (st->inpatient != ip)
        return refuse(why, ip ? "this aaz218 is an outpatient visit, not an inpatient stay (门诊业务不能做住院交易)"
                              : "this aaz218 is an inpatient stay, not an outpatient visit (住院业务不能做门诊交易)");
    if (s == INJ_S_CANCELLED)
        return refuse(why, "the visit or stay is cancelled (业务已取消)");

    switch (fn->action) {
    case INJ_A_OP_SETTLE:
        if (trial)
            return APR_SUCCESS;
        if (refund) {
            if (s != INJ_S_SETTLED)
                return refuse(why, "nothing settled to refund (未结算，不能退费)");
            *next = INJ_S_REFUNDED;
            return APR_SUCCESS;
        }
        if (s == INJ_S_SETTLED)
            return refuse(why, "already settled: refund first (已结算，请先退费)");
        *next = INJ_S_SETTLED;
        return APR_SUCCESS;
    case INJ_A_OP_CANCEL:
        if (s == INJ_S_SETTLED)
            return refuse(why, "the visit has a live settlement: refund it first (已结算，请先退费再取消挂号)");
        *next = INJ_S_CANCELLED;
        return APR_SUCCESS;
    case INJ_A_IP_MODIFY:
    case INJ_A_IP_FEES:
    case INJ_A_IP_WIPE:
        if (s != INJ_S_REGISTERED && s != INJ_S_FEES)
            return refuse(why, s == INJ_S_DISCHARGED
                          ? "the stay is discharge-registered: cancel the discharge first (已出院登记)"
                          : "the stay is settled (已出院结算)");
        if (fn->action == INJ_A_IP_WIPE && st->fee_rows == 0)
            return refuse(why, "no fee lines to delete (无费用明细)");
        *next = fn->action == INJ_A_IP_FEES ? INJ_S_FEES : fn->action == INJ_A_IP_WIPE ? INJ_S_REGISTERED : s;
        return APR_SUCCESS;
    case INJ_A_IP_PRESETTLE:
        if (s == INJ_S_SETTLED)
            return refuse(why, "the stay is already settled (已出院结算)");
        if (st->fee_rows == 0)
            return refuse(why, "no fee lines uploaded yet (未上传费用)");
        return APR_SUCCESS;
    case INJ_A_IP_DISCHARGE:
        if (s == INJ_S_DISCHARGED || s == INJ_S_SETTLED)
            return refuse(why, "already discharge-registered (已出院登记)");
        *next = INJ_S_DISCHARGED;
        return APR_SUCCESS;
    case INJ_A_IP_SETTLE:
        if (s == INJ_S_SETTLED)
            return refuse(why, "already settled (已出院结算)");
        if (s != INJ_S_DISCHARGED)
            return refuse(why, "discharge-register first: settlement comes after 出院登记 (未出院登记，不能出院结算)");
        *next = INJ_S_SETTLED;
        return APR_SUCCESS;
    case INJ_A_IP_UNSETTLE:
        if (s != INJ_S_SETTLED)
            return refuse(why, "the stay is not settled: nothing to cancel (未出院结算)");
        *next = INJ_S_DISCHARGED;
        return APR_SUCCESS;
    case INJ_A_IP_UNDISCHARGE:
        if (s == INJ_S_SETTLED)
            return refuse(why, "cancel the settlement first (已出院结算，请先取消结算)");
        if (s != INJ_S_DISCHARGED)
            return refuse(why, "the stay is not discharge-registered: nothing to cancel (未出院登记)");
        *next = st->fee_rows > 0 ? INJ_S_FEES : INJ_S_REGISTERED;
        return APR_SUCCESS;
    case INJ_A_IP_UNADMIT:
        if (s != INJ_S_REGISTERED && s != INJ_S_FEES)
            return refuse(why, s == INJ_S_SETTLED ? "cancel the settlement and the discharge first (已出院结算)"
                                                  : "cancel the discharge first (已出院登记)");
        *next = INJ_S_CANCELLED;
        return APR_SUCCESS;
    case INJ_A_IP_RECORD:
        return APR_SUCCESS;
    default:
        return refuse(why, "not allowed now");
    }
}
