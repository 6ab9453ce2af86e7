/* The simulated Guangdong work-injury platform (省工伤 bizh family): sessions, the function
 * catalogue, the state rules and the settlement split of mod_sandbox/INJURY.md, on the tables of
 * mod_sandbox/sql/003_injury.sql.  No httpd headers.
 *
 * Every business call runs in one transaction: a refusal leaves nothing behind.  Visits and stays
 * are locked (FOR UPDATE) before their state is read, persons before an admission, so two
 * concurrent calls on one stay are served one after the other like the platform would. */
#include <string.h>
#include <stdarg.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "sandbox_injury.h"
#include "hg_xml.h"
#include "hg_money.h"
#include "hg_json.h"
#include "hg_status.h"

#define SBI_REFUSED (APR_OS_START_USERERR + 7901)   /* internal: the answer is a refusal */

#define RC_OK        "1"
#define RC_REFUSED   "-1"
#define RC_BAD       "-2"
#define RC_UNKNOWN   "-3"
#define RC_SESSION   "-9"

#define MSG_NOT_FOUND   "就医登记号[%s]不存在或已取消"
#define MSG_NO_AUTH     "该人员无有效的工伤认定(待遇审批)信息，不能办理工伤联网结算"
#define MSG_NO_PERSON   "未查询到该人员的参保信息"
#define MSG_DUP_REFUND  "已经办理过退费，不能重复退费"

/* China's day: sessions end at its midnight, dates are its dates */
#define CN_NOW "(now() AT TIME ZONE 'Asia/Shanghai')"
#define TS14(col) "to_char(" col " AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDDHH24MISS')"

/* ================================================================ pure parts */

apr_int64_t sbi_part_self(apr_int64_t amount)
{
    apr_int64_t m = amount < 0 ? -amount : amount, r = m / 10 + (m % 10 >= 5);
    return amount < 0 ? -r : r;
}

apr_status_t sbi_split_from(sbi_split_t *s, apr_int64_t akc264, apr_int64_t bka825, apr_int64_t bka826)
{
    apr_status_t rv;
    memset(s, 0, sizeof(*s));
    s->akc264 = akc264;
    s->bka825 = bka825;
    s->bka826 = bka826;
    if ((rv = hg_money_add(&s->bka831, bka825, bka826)) || (rv = hg_money_sub(&s->bka832, akc264, s->bka831)))
        return rv;
    s->akb067 = s->bka831;     /* the person pays in cash: no personal account in work injury */
    s->ake039 = s->bka832;     /* the fund pays everything else */
    return APR_SUCCESS;
}

apr_status_t sbi_split_lines(sbi_split_t *s, const sbi_line_t *l, int n)
{
    apr_int64_t total = 0, full = 0, part = 0;
    apr_status_t rv;
    int i;
    for (i = 0; i < n; i++) {
        if ((rv = hg_money_add(&total, total, l[i].amount)))
            return rv;
        if (l[i].self_full)
            rv = hg_money_add(&full, full, l[i].amount);
        else if (l[i].limited)
            rv = hg_money_add(&part, part, sbi_part_self(l[i].amount));
        if (rv)
            return rv;
    }
    return sbi_split_from(s, total, full, part);
}

int sbi_split_ok(const sbi_split_t *s)
{
    __int128 self = (__int128)s->akb067 + s->akb066 + s->bka839;
    __int128 fund = (__int128)s->ake039 + s->ake035 + s->ake026 + s->ake029 + s->bka841 + s->bka842
                    + s->bka840 + s->bka821;
    return (__int128)s->akc264 == (__int128)s->bka831 + s->bka832 && self == s->bka831 && fund == s->bka832;
}

void sbi_split_json(json_t *o, const sbi_split_t *s)
{
    hg_json_setm(o, "akc264", s->akc264);
    hg_json_setm(o, "bka831", s->bka831);
    hg_json_setm(o, "bka832", s->bka832);
    hg_json_setm(o, "bka825", s->bka825);
    hg_json_setm(o, "bka826", s->bka826);
    hg_json_setm(o, "aka151", s->aka151);
    hg_json_setm(o, "bka838", s->bka838);
    hg_json_setm(o, "akb067", s->akb067);
    hg_json_setm(o, "akb066", s->akb066);
    hg_json_setm(o, "bka821", s->bka821);
    hg_json_setm(o, "bka839", s->bka839);
    hg_json_setm(o, "ake039", s->ake039);
    hg_json_setm(o, "ake035", s->ake035);
    hg_json_setm(o, "ake026", s->ake026);
    hg_json_setm(o, "ake029", s->ake029);
    hg_json_setm(o, "bka841", s->bka841);
    hg_json_setm(o, "bka842", s->bka842);
    hg_json_setm(o, "bka840", s->bka840);
}

apr_status_t sbi_decimal(apr_int64_t *v, const char *s, int maxdec, int allow_neg)
{
    apr_int64_t r = 0;
    int neg = 0, ints = 0, decs = 0;
    if (!s)
        return HG_EINVALID;
    if (*s == '-') {
        if (!allow_neg)
            return HG_EINVALID;
        neg = 1;
        s++;
    }
    for (; *s >= '0' && *s <= '9'; s++, ints++)
        r = r * 10 + (*s - '0');
    if (!ints || ints > 12)
        return HG_EINVALID;
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, decs++) {
            if (decs >= maxdec)
                return HG_EINVALID;
            r = r * 10 + (*s - '0');
        }
        if (!decs)
            return HG_EINVALID;
    }
    if (*s)
        return HG_EINVALID;
    for (; decs < maxdec; decs++)
        r *= 10;
    *v = neg ? -r : r;
    return APR_SUCCESS;
}

const char *sbi_fee_amounts(apr_pool_t *p, json_t *row, int rowno, apr_int64_t *amount)
{
    static const struct { const char *k; int dec; int neg; } f[] = {
        { "bka056", 4, 0 }, { "bka057", 2, 1 }, { "bka058", 2, 1 } };
    apr_int64_t v[3], fen;
    __int128 prod;
    int i;
    for (i = 0; i < 3; i++) {
        const char *s = json_string_value(json_object_get(row, f[i].k));
        if (!s || !*s)
            return apr_psprintf(p, "第%d行参数[%s]不能为空", rowno, f[i].k);
        if (sbi_decimal(&v[i], s, f[i].dec, f[i].neg))
            return apr_psprintf(p, "第%d行参数[%s]格式错误：%s", rowno, f[i].k, s);
    }
    /* price (1e-4 yuan) x quantity (1e-2) = 1e-6 yuan; to fen half away from zero */
    prod = (__int128)v[0] * v[1];
    fen = (apr_int64_t)((prod < 0 ? -prod + 5000 : prod + 5000) / 10000);
    if (prod < 0)
        fen = -fen;
    if (v[2] - fen > 1 || fen - v[2] > 1)
        return apr_psprintf(p, "第%d行费用明细金额与单价×数量不符(bka058=%s，bka056×bka057=%s)", rowno,
                            hg_money_format(p, v[2]), hg_money_format(p, fen));
    *amount = v[2];
    return NULL;
}

/* the inpatient state machine of INJURY.md §5: from which states each function may run, where it
 * leads ("" = stays), and the platform's words for every other state */
static const struct {
    const char *fid, *from, *to;
    const char *if_admitted, *if_discharged, *if_settled;
} transitions[] = {
    { "bizh120002", "admitted", "", NULL, "已办理出院登记，不能再上传费用", "该住院业务已出院结算，不能再上传费用" },
    { "bizh120004", "admitted", "", NULL, "已办理出院登记，不能删除费用明细", "该住院业务已出院结算，不能删除费用明细" },
    { "bizh120003", "admitted discharged", "", NULL, NULL, "该住院业务已出院结算，不能再试算" },
    { "bizh120104", "admitted discharged", "", NULL, NULL, "该住院业务已出院结算，不能修改入院登记信息" },
    { "bizh120105", "admitted", "discharged", NULL, "已办理出院登记，不能重复办理",
      "该住院业务已出院结算，不能重复办理出院登记" },
    { "bizh120106", "discharged", "settled", "未办理出院登记，不能出院结算", NULL, "该住院业务已出院结算，不能重复结算" },
    { "bizh120107", "settled", "discharged", "该住院业务未出院结算，不能取消出院结算",
      "该住院业务未出院结算，不能取消出院结算", NULL },
    { "bizh120108", "discharged", "admitted", "该住院业务未办理出院登记，不能取消出院登记", NULL,
      "该住院业务已出院结算，请先取消出院结算" },
    { "bizh120109", "admitted", "cancelled", NULL, "该住院业务已办理出院登记，请先取消出院登记",
      "该住院业务已出院结算，请先取消出院结算" },
};

static int word_in(const char *list, const char *w)
{
    apr_size_t n = strlen(w);
    const char *s;
    if (!n)
        return 0;
    for (s = strstr(list, w); s; s = strstr(s + 1, w))
        if ((s == list || s[-1] == ' ') && (s[n] == ' ' || !s[n]))
            return 1;
    return 0;
}

const char *sbi_transition(apr_pool_t *p, const char *fid, const char *state, const char *aaz218,
                           const char **next)
{
    size_t i;
    *next = NULL;
    for (i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++) {
        if (strcmp(transitions[i].fid, fid))
            continue;
        if (!state || !*state || !strcmp(state, "cancelled")
            || !word_in("admitted discharged settled", state))
            return apr_psprintf(p, MSG_NOT_FOUND, aaz218 ? aaz218 : "");
        if (word_in(transitions[i].from, state)) {
            *next = *transitions[i].to ? transitions[i].to : state;
            return NULL;
        }
        if (!strcmp(state, "admitted") && transitions[i].if_admitted)
            return transitions[i].if_admitted;
        if (!strcmp(state, "discharged") && transitions[i].if_discharged)
            return transitions[i].if_discharged;
        if (!strcmp(state, "settled") && transitions[i].if_settled)
            return transitions[i].if_settled;
        return apr_psprintf(p, "当前业务状态[%s]不允许办理%s", state, fid);
    }
    return apr_psprintf(p, "功能号[%s]不是住院业务", fid);
}

/* ================================================================ the service */

typedef struct sbi_t {
    apr_pool_t *p;
    hg_db_t *db;
    json_t *req;                 /* the request's fields (pool-owned) */
    const char *fid, *akb020, *userid;
    json_t *out;                 /* answer fields after return_code / return_code_message */
    const char *rc, *msg;
    const char *aaz218;          /* for the call log */
    int rows;
} sbi_t;

typedef apr_status_t sbi_fn(sbi_t *s);

static apr_status_t refuse(sbi_t *s, const char *rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static apr_status_t refuse(sbi_t *s, const char *rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s->rc = rc;
    s->msg = hg_utf8_repair(s->p, apr_pvsprintf(s->p, fmt, ap));
    va_end(ap);
    return SBI_REFUSED;
}

/* a string field of obj, NULL when absent, empty or not text */
static const char *sfld(json_t *obj, const char *k)
{
    const char *v = json_string_value(json_object_get(obj, k));
    return v && *v ? v : NULL;
}

static const char *fld(sbi_t *s, const char *k)
{
    return sfld(s->req, k);
}

static const char *fld0(sbi_t *s, const char *k)      /* "" when absent */
{
    const char *v = fld(s, k);
    return v ? v : "";
}

/* a required field: NULL (and the -2 refusal set) when missing */
static const char *need(sbi_t *s, const char *k)
{
    const char *v = fld(s, k);
    if (!v)
        refuse(s, RC_BAD, "参数[%s]不能为空", k);
    return v;
}

#define NEED(var, key) do { if (!((var) = need(s, (key)))) return SBI_REFUSED; } while (0)

static int is_date8(const char *v)
{
    return v && strlen(v) == 8 && strspn(v, "0123456789") == 8 && v[4] <= '1' && v[6] <= '3';
}

/* a dataset of the request: *rows NULL when absent or empty; -2 when it is not a dataset */
static apr_status_t dataset(sbi_t *s, const char *k, json_t **rows)
{
    json_t *v = json_object_get(s->req, k);
    size_t i;
    *rows = NULL;
    if (!v || (json_is_string(v) && !*json_string_value(v)))
        return APR_SUCCESS;
    if (!json_is_array(v))
        return refuse(s, RC_BAD, "参数[%s]应为数据集(<%s><row>…</row></%s>)", k, k, k);
    for (i = 0; i < json_array_size(v); i++)
        if (!json_is_object(json_array_get(v, i)))
            return refuse(s, RC_BAD, "参数[%s]第%d行不是数据行", k, (int)i + 1);
    *rows = json_array_size(v) ? v : NULL;
    return APR_SUCCESS;
}

static void set(json_t *o, const char *k, const char *v)
{
    json_object_set_new(o, k, json_string(v ? v : ""));
}

static json_t *dataset_out(sbi_t *s, const char *name)
{
    json_t *a = json_array();
    json_object_set_new(s->out, name, a);
    return a;
}

/* ---------------------------------------------------------------- persons */

#define PERSON_COLS "p.aac001, p.aac003, p.aac004, p.bka004, p.aac013, p.bka005, p.aac002, p.aae005, " \
                    "p.aac006, p.baa027, p.aab001, p.bka008, p.aae140, p.bka888, p.aaa027"
static const char *const person_names[] = { "aac001", "aac003", "aac004", "bka004", "aac013", "bka005",
    "aac002", "aae005", "aac006", "baa027", "aab001", "bka008", "aae140", "bka888", "aaa027", NULL };

/* the person named by bka895/bka896 (aac001, aac002 or bka100) */
static apr_status_t find_person(sbi_t *s, const char *type, const char *value, hg_db_result_t **res)
{
    apr_status_t rv;
    if (strcmp(type, "aac001") && strcmp(type, "aac002") && strcmp(type, "bka100"))
        return refuse(s, RC_BAD, "入参类型[bka895]取值错误：%s", type);
    if ((rv = hg_db_q(s->db, res, "SELECT " PERSON_COLS " FROM sandbox.injury_persons p WHERE "
                      "CASE $1 WHEN 'aac001' THEN p.aac001 WHEN 'aac002' THEN p.aac002 ELSE p.bka100 END = $2",
                      2, type, value)))
        return rv;
    if (!(*res)->nrows)
        return refuse(s, RC_REFUSED, MSG_NO_PERSON);
    return APR_SUCCESS;
}

/* authorisations valid today: bka042, aaz267, bka006, bka026, aae030, aae031 */
static apr_status_t valid_auths(sbi_t *s, const char *aac001, hg_db_result_t **res)
{
    return hg_db_q(s->db, res, "SELECT bka042, aaz267, bka006, bka026, to_char(aae030, 'YYYYMMDD'), "
                   "to_char(aae031, 'YYYYMMDD') FROM sandbox.injury_auths WHERE aac001 = $1 AND "
                   CN_NOW "::date BETWEEN aae030 AND aae031 ORDER BY aae031 DESC, bka042", 1, aac001);
}

/* a registration may go on: the person exists (locked), holds a valid authorisation, and bka042 if
 * given is that authorisation's */
static apr_status_t check_entitled(sbi_t *s, const char *aac001)
{
    hg_db_result_t *r;
    const char *bka042 = fld(s, "bka042");
    apr_status_t rv;
    int i;
    if ((rv = hg_db_q(s->db, &r, "SELECT 1 FROM sandbox.injury_persons WHERE aac001 = $1 FOR UPDATE", 1, aac001)))
        return rv;
    if (!r->nrows)
        return refuse(s, RC_REFUSED, MSG_NO_PERSON);
    if ((rv = valid_auths(s, aac001, &r)))
        return rv;
    if (!r->nrows)
        return refuse(s, RC_REFUSED, MSG_NO_AUTH);
    if (!bka042)
        return APR_SUCCESS;
    for (i = 0; i < r->nrows; i++)
        if (!strcmp(hg_db_val(r, i, 0), bka042))
            return APR_SUCCESS;
    return refuse(s, RC_REFUSED, "工伤凭证号[%s]与该人员有效的工伤认定信息不符", bka042);
}

/* bizh110001 / bizh120001 */
static apr_status_t fn_person_info(sbi_t *s)
{
    const char *type, *value, *bka006, *aka130 = fld(s, "aka130");
    int inpatient = !strcmp(s->fid, "bizh120001");
    hg_db_result_t *pr, *ar;
    json_t *row;
    apr_status_t rv;
    int i;
    NEED(type, "bka895");
    NEED(value, "bka896");
    NEED(bka006, "bka006");
    if (inpatient ? strcmp(bka006, "420") : strcmp(bka006, "410") && strcmp(bka006, "420"))
        return refuse(s, RC_BAD, "待遇类型[bka006]取值错误：%s", bka006);
    if (inpatient && aka130 && strcmp(aka130, "42"))
        return refuse(s, RC_BAD, "业务类型[aka130]取值错误：%s", aka130);
    if ((rv = find_person(s, type, value, &pr)) || (rv = valid_auths(s, hg_db_val(pr, 0, 0), &ar)))
        return rv;
    row = json_object();
    for (i = 0; person_names[i]; i++)
        set(row, person_names[i], hg_db_val(pr, 0, i));
    set(row, "aaz267", ar->nrows ? hg_db_val(ar, 0, 1) : "");
    set(row, "bka006", bka006);
    set(row, "bka026", ar->nrows ? hg_db_val(ar, 0, 3) : "");
    set(row, "bka042", ar->nrows ? hg_db_val(ar, 0, 0) : "");
    set(row, "aae030", ar->nrows ? hg_db_val(ar, 0, 4) : "");
    set(row, "aae031", ar->nrows ? hg_db_val(ar, 0, 5) : "");
    json_array_append_new(dataset_out(s, "personinfo"), row);
    dataset_out(s, "freezeinfo");
    {
        json_t *inj = dataset_out(s, "injuryorbirthinfo");
        for (i = 0; i < ar->nrows; i++) {
            row = json_object();
            set(row, "bka042", hg_db_val(ar, i, 0));
            set(row, "aae030", hg_db_val(ar, i, 4));
            set(row, "aae031", hg_db_val(ar, i, 5));
            json_array_append_new(inj, row);
        }
    }
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- visits */

/* the request's fields minus the envelope and the datasets, as JSON text (stored as sent) */
static const char *fields_json(sbi_t *s)
{
    json_t *o = hg_json_object(s->p), *v;
    const char *k;
    json_object_foreach(s->req, k, v)
        if (json_is_string(v) && strcmp(k, "session_id") && strcmp(k, "function_id") && strcmp(k, "akb020"))
            json_object_set(o, k, v);
    return hg_json_dump(s->p, o, 0);
}

static apr_status_t new_visit(sbi_t *s, const char *kind, const char *aac001, const char *bka025,
                              const char *state, const char **aaz218)
{
    hg_db_result_t *r;
    apr_status_t rv = hg_db_q(s->db, &r, "INSERT INTO sandbox.injury_visits (aaz218, kind, akb020, aac001, bka025, "
        "state, reg) VALUES (to_char(" CN_NOW ", 'YYYYMMDD') || lpad(nextval('sandbox.injury_aaz218_seq')::text, 8, '0'), "
        "$1, $2, $3, $4, $5, $6::jsonb) RETURNING aaz218", 6, kind, s->akb020, aac001, bka025, state, fields_json(s));
    if (rv)
        return rv;
    *aaz218 = hg_db_val(r, 0, 0);
    return APR_SUCCESS;
}

/* lock a visit of this institution: *kind and *state "" when there is none */
static apr_status_t lock_visit(sbi_t *s, const char *aaz218, const char **kind, const char **state,
                               json_t **reg)
{
    hg_db_result_t *r;
    apr_status_t rv;
    s->aaz218 = aaz218;
    if ((rv = hg_db_q(s->db, &r, "SELECT kind, state, reg::text FROM sandbox.injury_visits "
                      "WHERE aaz218 = $1 AND akb020 = $2 FOR UPDATE", 2, aaz218, s->akb020)))
        return rv;
    *kind = r->nrows ? hg_db_val(r, 0, 0) : "";
    *state = r->nrows ? hg_db_val(r, 0, 1) : "";
    if (reg)
        *reg = r->nrows ? hg_json_own(s->p, json_loads(hg_db_val(r, 0, 2), 0, NULL)) : NULL;
    return APR_SUCCESS;
}

/* lock a stay and apply the state machine for s->fid */
static apr_status_t stay_step(sbi_t *s, const char *aaz218, const char **state, const char **next, json_t **reg)
{
    const char *kind, *why;
    apr_status_t rv;
    if ((rv = lock_visit(s, aaz218, &kind, state, reg)))
        return rv;
    if (strcmp(kind, "ip"))
        *state = "";
    if ((why = sbi_transition(s->p, s->fid, *state, aaz218, next)))
        return refuse(s, RC_REFUSED, "%s", why);
    return APR_SUCCESS;
}

static apr_status_t set_state(sbi_t *s, const char *aaz218, const char *state)
{
    return hg_db_q(s->db, NULL, "UPDATE sandbox.injury_visits SET state = $2, updated_at = now() WHERE aaz218 = $1",
                   2, aaz218, state);
}

/* a payinfo row of a stored settlement (cols: aaz218, bka001, bka045, akc264, bka825, bka826, aae100) */
static apr_status_t pay_row(sbi_t *s, json_t *rows, hg_db_result_t *r, int i)
{
    sbi_split_t sp;
    json_t *row = json_object();
    apr_status_t rv = sbi_split_from(&sp, apr_atoi64(hg_db_val(r, i, 3)), apr_atoi64(hg_db_val(r, i, 4)),
                                     apr_atoi64(hg_db_val(r, i, 5)));
    set(row, "akb020", s->akb020);
    set(row, "aaz218", hg_db_val(r, i, 0));
    set(row, "bka001", hg_db_val(r, i, 1));
    set(row, "bka045", hg_db_val(r, i, 2));
    sbi_split_json(row, &sp);
    set(row, "aae100", hg_db_val(r, i, 6)[0] == 't' ? "1" : "0");
    json_array_append_new(rows, row);
    return rv;
}

#define SETTLE_COLS "aaz218, bka001::text, " TS14("settled_at") ", akc264_fen::text, bka825_fen::text, " \
                    "bka826_fen::text, aae100::text"

/* a fresh payinfo row from sums (trials and new settlements) */
static apr_status_t pay_new(sbi_t *s, const char *aaz218, const char *bka001, const char *bka045,
                            apr_int64_t total, apr_int64_t full, apr_int64_t part)
{
    sbi_split_t sp;
    json_t *row;
    if (sbi_split_from(&sp, total, full, part))
        return refuse(s, RC_BAD, "费用金额超出范围");
    row = json_object();
    set(row, "akb020", s->akb020);
    set(row, "aaz218", aaz218);
    set(row, "bka001", bka001);
    set(row, "bka045", bka045);
    sbi_split_json(row, &sp);
    set(row, "aae100", "1");
    json_array_append_new(dataset_out(s, "payinfo"), row);
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- fee rows */

typedef struct fee_t {
    json_t *row;
    const char *aaz213, *refund_of, *bka071;
    apr_int64_t amount, part;
    int self_full;
} fee_t;

/* the checks every fee row gets, inpatient or outpatient; fills f */
static apr_status_t fee_common(sbi_t *s, json_t *row, int n, fee_t *f)
{
    static const char *const req[] = { "ake005", "ake006", "bka051", NULL };
    const char *why, *lim1, *lim2, *x;
    int i;
    for (i = 0; req[i]; i++)
        if (!sfld(row, req[i]))
            return refuse(s, RC_BAD, "第%d行参数[%s]不能为空", n, req[i]);
    x = sfld(row, "bka051");
    if (!(is_date8(x) || (strlen(x) == 14 && strspn(x, "0123456789") == 14 && is_date8(apr_pstrndup(s->p, x, 8)))))
        return refuse(s, RC_BAD, "第%d行参数[bka051]格式错误：%s", n, x);
    if ((why = sbi_fee_amounts(s->p, row, n, &f->amount)))
        return refuse(s, RC_BAD, "%s", why);
    f->row = row;
    f->aaz213 = sfld(row, "aaz213");
    f->bka071 = sfld(row, "bka071");
    f->refund_of = NULL;
    f->self_full = !strncmp(sfld(row, "ake005"), "ZF", 2);
    lim1 = sfld(row, "aka036");
    lim2 = sfld(row, "aka063");
    f->part = !f->self_full && ((lim1 && !strcmp(lim1, "1")) || (lim2 && !strcmp(lim2, "1")))
              ? sbi_part_self(f->amount) : 0;
    return APR_SUCCESS;
}

/* the rows as one JSON array for the bulk INSERT */
static const char *fees_json(sbi_t *s, fee_t *f, int n)
{
    json_t *a = hg_json_own(s->p, json_array());
    int i;
    for (i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:O, s:I, s:b, s:I, s:s?}", "aaz213", f[i].aaz213,
            "row", f[i].row, "amount", (json_int_t)f[i].amount, "self_full", f[i].self_full,
            "part", (json_int_t)f[i].part, "refund_of", f[i].refund_of));
    return hg_json_dump(s->p, a, 0);
}

static apr_status_t feeinfo_rows(sbi_t *s, int min_rows, json_t **rows, int *n)
{
    apr_status_t rv;
    if ((rv = dataset(s, "feeinfo", rows)))
        return rv;
    *n = *rows ? (int)json_array_size(*rows) : 0;
    s->rows = *n;
    if (*n < min_rows)
        return refuse(s, RC_BAD, "费用明细(feeinfo)不能为空");
    if (*n > SBI_MAX_ROWS)
        return refuse(s, RC_BAD, "每次上传的费用明细不能超过%d条(本次%d条)", SBI_MAX_ROWS, *n);
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- outpatient */

/* 110105's work on a registered visit (also 110104 with fees) */
static apr_status_t op_fees(sbi_t *s, const char *aaz218, const char *bka893, json_t *rows, int n)
{
    hg_db_result_t *old, *r;
    fee_t *f = apr_pcalloc(s->p, sizeof(fee_t) * (n ? n : 1));
    apr_table_t *refunding = apr_table_make(s->p, 8), *bka071s = apr_table_make(s->p, 8);
    apr_int64_t total = 0, full = 0, part = 0, serial;
    const char *batch, *bka045 = "";
    apr_status_t rv;
    int i, j;

    if (strcmp(bka893, "0") && strcmp(bka893, "1"))
        return refuse(s, RC_BAD, "保存/结算标志[bka893]取值错误：%s", bka893);
    if ((rv = hg_db_q(s->db, &old, "SELECT aaz213, amount_fen::text, self_full::text, part_fen::text, "
                      "refund_of, refunded_by, row->>'bka071' FROM sandbox.injury_fees WHERE aaz218 = $1", 1, aaz218)))
        return rv;
    serial = old->nrows;                  /* outpatient serials are 1..n, never deleted */
    for (i = 0; i < n; i++) {
        fee_t *x = &f[i];
        if ((rv = fee_common(s, json_array_get(rows, i), i + 1, x)))
            return rv;
        if (x->aaz213) {                  /* a refund line: the whole original, negated, once */
            for (j = 0; j < old->nrows; j++)
                if (!strcmp(hg_db_val(old, j, 0), x->aaz213) && !hg_db_val(old, j, 4))
                    break;
            if (j == old->nrows)
                return refuse(s, RC_REFUSED, "第%d行退费明细对应的原费用序号[%s]不存在", i + 1, x->aaz213);
            if (hg_db_val(old, j, 5) || apr_table_get(refunding, x->aaz213))
                return refuse(s, RC_REFUSED, MSG_DUP_REFUND);
            if (x->amount != -apr_atoi64(hg_db_val(old, j, 1)))
                return refuse(s, RC_REFUSED, "第%d行退费金额与原费用不符(原费用%s)", i + 1,
                              hg_money_format(s->p, apr_atoi64(hg_db_val(old, j, 1))));
            apr_table_setn(refunding, x->aaz213, "1");
            x->refund_of = x->aaz213;
            x->self_full = hg_db_val(old, j, 2)[0] == 't';
            x->part = -apr_atoi64(hg_db_val(old, j, 3));
        }
        else {
            if (x->amount < 0)
                return refuse(s, RC_BAD, "第%d行为退费明细(金额为负)，必须填写原费用序号aaz213", i + 1);
            if (x->bka071) {
                if (apr_table_get(bka071s, x->bka071))
                    return refuse(s, RC_BAD, "第%d行医院费用唯一标识[bka071=%s]在本次上传中重复", i + 1, x->bka071);
                apr_table_setn(bka071s, x->bka071, "1");
                for (j = 0; j < old->nrows; j++)
                    if (hg_db_val(old, j, 6) && !strcmp(hg_db_val(old, j, 6), x->bka071)
                        && !hg_db_val(old, j, 4) && !hg_db_val(old, j, 5))
                        return refuse(s, RC_REFUSED, "第%d行费用明细[bka071=%s]已结算，不能重复结算", i + 1, x->bka071);
            }
        }
        if (hg_money_add(&total, total, x->amount) || hg_money_add(&part, part, x->part)
            || (x->self_full && hg_money_add(&full, full, x->amount)))
            return refuse(s, RC_BAD, "费用金额超出范围");
    }
    if ((rv = hg_db_q(s->db, &r, "SELECT (coalesce(max(bka001), 0) + 1)::text FROM sandbox.injury_settlements "
                      "WHERE aaz218 = $1", 1, aaz218)))
        return rv;
    batch = hg_db_val(r, 0, 0);
    if (!strcmp(bka893, "1")) {
        for (i = 0; i < n; i++)
            f[i].aaz213 = apr_ltoa(s->p, (long)++serial);
        if ((rv = hg_db_q(s->db, NULL, "INSERT INTO sandbox.injury_fees (aaz218, aaz213, bka001, row, amount_fen, "
                "self_full, part_fen, refund_of) SELECT $1, e->>'aaz213', $2::int, e->'row', (e->>'amount')::bigint, "
                "(e->>'self_full')::boolean, (e->>'part')::bigint, e->>'refund_of' "
                "FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n",
                3, aaz218, batch, fees_json(s, f, n)))
            || (rv = hg_db_q(s->db, NULL, "UPDATE sandbox.injury_fees o SET refunded_by = e->>'aaz213' "
                "FROM jsonb_array_elements($2::jsonb) e WHERE o.aaz218 = $1 AND o.aaz213 = e->>'refund_of'",
                2, aaz218, fees_json(s, f, n)))
            || (rv = hg_db_q(s->db, &r, "INSERT INTO sandbox.injury_settlements (aaz218, bka001, akc264_fen, "
                "bka825_fen, bka826_fen) VALUES ($1, $2::int, $3::bigint, $4::bigint, $5::bigint) "
                "RETURNING " TS14("settled_at"), 5, aaz218, batch, apr_off_t_toa(s->p, total),
                apr_off_t_toa(s->p, full), apr_off_t_toa(s->p, part))))
            return rv;
        bka045 = hg_db_val(r, 0, 0);
    }
    if ((rv = pay_new(s, aaz218, batch, bka045, total, full, part)))
        return rv;
    {
        json_t *out = dataset_out(s, "feeinfo");
        for (i = 0; i < n; i++) {
            json_t *row = json_object();
            set(row, "aaz213", strcmp(bka893, "1") ? "" : f[i].aaz213);
            set(row, "ake005", sfld(f[i].row, "ake005"));
            set(row, "ake006", sfld(f[i].row, "ake006"));
            set(row, "bka058", hg_money_format(s->p, f[i].amount));
            set(row, "bka071", f[i].bka071);
            json_array_append_new(out, row);
        }
    }
    s->msg = strcmp(bka893, "1") ? "试算成功" : "结算成功";
    return APR_SUCCESS;
}

/* bizh110104 门诊挂号 */
static apr_status_t fn_op_register(sbi_t *s)
{
    const char *aac001, *aka130, *bka006, *bka017, *bka025, *x, *aaz218;
    hg_db_result_t *r;
    json_t *rows;
    apr_status_t rv;
    int n = 0;
    NEED(aac001, "aac001");
    NEED(aka130, "aka130");
    NEED(bka006, "bka006");
    NEED(bka017, "bka017");
    NEED(x, "bka014");
    NEED(x, "bka015");
    NEED(bka025, "bka025");
    if (strcmp(aka130, "41"))
        return refuse(s, RC_BAD, "业务类型[aka130]取值错误：%s(工伤门诊应为41)", aka130);
    if (strcmp(bka006, "410"))
        return refuse(s, RC_BAD, "待遇类型[bka006]取值错误：%s(工伤门诊应为410)", bka006);
    if (!is_date8(bka017))
        return refuse(s, RC_BAD, "参数[bka017]格式错误：%s", bka017);
    if ((rv = dataset(s, "feeinfo", &rows)))
        return rv;
    if (rows && (rv = feeinfo_rows(s, 1, &rows, &n)))
        return rv;
    if ((rv = check_entitled(s, aac001)))
        return rv;
    /* the same 门诊号 again: the same visit (a retry must not open a second one) */
    if ((rv = hg_db_q(s->db, &r, "SELECT aaz218 FROM sandbox.injury_visits WHERE kind = 'op' AND state = 'registered' "
                      "AND akb020 = $1 AND aac001 = $2 AND bka025 = $3 FOR UPDATE", 3, s->akb020, aac001, bka025)))
        return rv;
    if (r->nrows)
        aaz218 = hg_db_val(r, 0, 0);
    else if ((rv = new_visit(s, "op", aac001, bka025, "registered", &aaz218)))
        return rv;
    s->aaz218 = aaz218;
    set(s->out, "aaz218", aaz218);
    if (rows)
        return op_fees(s, aaz218, fld(s, "bka893") ? fld(s, "bka893") : "0", rows, n);
    s->msg = r->nrows ? "该门诊号已办理挂号" : "挂号成功";
    return APR_SUCCESS;
}

static apr_status_t lock_op_visit(sbi_t *s, const char *aaz218)
{
    const char *kind, *state;
    apr_status_t rv;
    if ((rv = lock_visit(s, aaz218, &kind, &state, NULL)))
        return rv;
    if (strcmp(kind, "op") || strcmp(state, "registered"))
        return refuse(s, RC_REFUSED, MSG_NOT_FOUND, aaz218);
    return APR_SUCCESS;
}

/* bizh110105 门诊费用上传并结算 */
static apr_status_t fn_op_settle(sbi_t *s)
{
    const char *aaz218, *bka893, *x;
    json_t *rows;
    apr_status_t rv;
    int n;
    NEED(aaz218, "aaz218");
    s->aaz218 = aaz218;
    NEED(x, "bka014");
    NEED(x, "bka015");
    NEED(bka893, "bka893");
    if ((rv = feeinfo_rows(s, 1, &rows, &n)) || (rv = lock_op_visit(s, aaz218)))
        return rv;
    return op_fees(s, aaz218, bka893, rows, n);
}

/* bizh110106 取消门诊挂号 */
static apr_status_t fn_op_cancel(sbi_t *s)
{
    const char *aaz218, *x;
    hg_db_result_t *r;
    apr_status_t rv;
    NEED(aaz218, "aaz218");
    s->aaz218 = aaz218;
    NEED(x, "bka014");
    NEED(x, "bka015");
    if ((rv = lock_op_visit(s, aaz218)))
        return rv;
    if ((rv = hg_db_q(s->db, &r, "SELECT 1 FROM sandbox.injury_fees WHERE aaz218 = $1 AND refund_of IS NULL "
                      "AND refunded_by IS NULL LIMIT 1", 1, aaz218)))
        return rv;
    if (r->nrows)
        return refuse(s, RC_REFUSED, "该门诊业务已有结算费用，请先退费");
    s->msg = "取消挂号成功";
    return set_state(s, aaz218, "cancelled");
}

/* ---------------------------------------------------------------- business queries */

/* visits of this institution of one kind, by bka895/bka896, newest first:
 * aaz218, aac001, aac003, state, reg, bka025, has a live settlement */
static apr_status_t find_visits(sbi_t *s, const char *kind, int allow_bka025, hg_db_result_t **res)
{
    const char *type, *value;
    NEED(type, "bka895");
    NEED(value, "bka896");
    if (strcmp(type, "aac001") && strcmp(type, "aac002") && strcmp(type, "bka100") && strcmp(type, "aaz218")
        && (!allow_bka025 || strcmp(type, "bka025")))
        return refuse(s, RC_BAD, "入参类型[bka895]取值错误：%s", type);
    if (!strcmp(type, "aaz218"))
        s->aaz218 = value;
    return hg_db_q(s->db, res, "SELECT v.aaz218, v.aac001, p.aac003, v.state, v.reg::text, v.bka025, "
        "EXISTS (SELECT 1 FROM sandbox.injury_settlements st WHERE st.aaz218 = v.aaz218 AND st.aae100)::text, "
        "coalesce(v.discharge->>'bka032', '') FROM sandbox.injury_visits v JOIN sandbox.injury_persons p USING (aac001) "
        "WHERE v.akb020 = $1 AND v.kind = $2 AND CASE $3 WHEN 'aaz218' THEN v.aaz218 WHEN 'bka025' THEN v.bka025 "
        "WHEN 'aac001' THEN p.aac001 WHEN 'aac002' THEN p.aac002 ELSE p.bka100 END = $4 "
        "ORDER BY v.created_at DESC, v.aaz218 DESC", 4, s->akb020, kind, type, value);
}

/* bizh110102 / bizh120102 */
static apr_status_t fn_visits(sbi_t *s)
{
    static const char *const op_keys[] = { "aka130", "bka006", "bka017", "bka025", "bka019", "bka020", "bka026", NULL };
    static const char *const ip_keys[] = { "aka130", "bka006", "bka017", "bka025", "bka019", "bka020", "bka021",
                                           "bka022", "bka023", "bka024", "bka026", NULL };
    int ip = !strcmp(s->fid, "bizh120102"), i, k;
    const char *const *keys = ip ? ip_keys : op_keys;
    hg_db_result_t *r;
    json_t *out;
    apr_status_t rv;
    if ((rv = find_visits(s, ip ? "ip" : "op", ip, &r)))
        return rv;
    out = dataset_out(s, "bizinfo");
    for (i = 0; i < r->nrows; i++) {
        json_t *row = json_object(), *reg = hg_json_own(s->p, json_loads(hg_db_val(r, i, 4), 0, NULL));
        const char *state = hg_db_val(r, i, 3);
        set(row, "aaz218", hg_db_val(r, i, 0));
        set(row, "aac001", hg_db_val(r, i, 1));
        set(row, "aac003", hg_db_val(r, i, 2));
        for (k = 0; keys[k]; k++)
            set(row, keys[k], !strcmp(keys[k], "bka025") ? hg_db_val(r, i, 5) : sfld(reg, keys[k]));
        if (ip)
            set(row, "bka032", hg_db_val(r, i, 7));
        set(row, "aae100", strcmp(state, "cancelled") ? "1" : "0");
        set(row, "bka891", (ip ? !strcmp(state, "settled") : hg_db_val(r, i, 6)[0] == 't') ? "1" : "0");
        set(row, "bkz001", state);
        json_array_append_new(out, row);
    }
    return APR_SUCCESS;
}

static const char *const fee_out_keys[] = { "aaz213", "bka001", "ake005", "ake006", "bka051", "bka052", "bka053",
    "bka054", "bka055", "bka056", "bka057", "bka058", "bka070", "bka071", "bka074", "bka075", "aka036", "aka063",
    NULL };

/* bizh110103 退费时提取门诊业务信息 */
static apr_status_t fn_op_refund_info(sbi_t *s)
{
    const char *bka001 = fld0(s, "bka001");
    hg_db_result_t *v, *r;
    json_t *pay, *fees;
    apr_status_t rv;
    int i, j, k;
    if (*bka001 && strspn(bka001, "0123456789") != strlen(bka001))
        return refuse(s, RC_BAD, "参数[bka001]格式错误：%s", bka001);
    if (!*bka001)
        bka001 = "0";
    if ((rv = find_visits(s, "op", 0, &v)))
        return rv;
    pay = dataset_out(s, "payinfo");
    fees = dataset_out(s, "feeinfo");
    for (i = 0; i < v->nrows; i++) {
        const char *aaz218 = hg_db_val(v, i, 0);
        if ((rv = hg_db_q(s->db, &r, "SELECT " SETTLE_COLS " FROM sandbox.injury_settlements WHERE aaz218 = $1 "
                          "AND ($2::int = 0 OR bka001 = $2::int) ORDER BY bka001", 2, aaz218, bka001)))
            return rv;
        for (j = 0; j < r->nrows; j++)
            if ((rv = pay_row(s, pay, r, j)))
                return rv;
        if ((rv = hg_db_q(s->db, &r, "SELECT aaz213, bka001::text, row::text, refund_of, refunded_by "
                          "FROM sandbox.injury_fees WHERE aaz218 = $1 AND ($2::int = 0 OR bka001 = $2::int) ORDER BY id",
                          2, aaz218, bka001)))
            return rv;
        for (j = 0; j < r->nrows; j++) {
            json_t *row = json_object(), *in = hg_json_own(s->p, json_loads(hg_db_val(r, j, 2), 0, NULL));
            for (k = 0; fee_out_keys[k]; k++)
                set(row, fee_out_keys[k], k == 0 ? hg_db_val(r, j, 0) : k == 1 ? hg_db_val(r, j, 1)
                                                 : json_string_value(json_object_get(in, fee_out_keys[k])));
            set(row, "bkz002", hg_db_val(r, j, 4) ? "1" : "0");
            set(row, "bkz003", hg_db_val(r, j, 3));
            json_array_append_new(fees, row);
        }
    }
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- inpatient */

/* bizh120103 入院登记 */
static apr_status_t fn_ip_admit(sbi_t *s)
{
    const char *aac001, *aka130, *bka006, *bka017, *bka025, *x, *aaz218;
    hg_db_result_t *r;
    apr_status_t rv;
    NEED(aac001, "aac001");
    NEED(aka130, "aka130");
    NEED(bka006, "bka006");
    NEED(bka017, "bka017");
    NEED(x, "bka014");
    NEED(x, "bka015");
    NEED(bka025, "bka025");
    if (strcmp(aka130, "42"))
        return refuse(s, RC_BAD, "业务类型[aka130]取值错误：%s(工伤住院应为42)", aka130);
    if (strcmp(bka006, "420"))
        return refuse(s, RC_BAD, "待遇类型[bka006]取值错误：%s(工伤住院应为420)", bka006);
    if (!is_date8(bka017))
        return refuse(s, RC_BAD, "参数[bka017]格式错误：%s", bka017);
    if ((rv = check_entitled(s, aac001)))
        return rv;
    if ((rv = hg_db_q(s->db, &r, "SELECT aaz218, akb020, bka025 FROM sandbox.injury_visits WHERE aac001 = $1 "
                      "AND kind = 'ip' AND state IN ('admitted','discharged')", 1, aac001)))
        return rv;
    if (r->nrows) {
        if (strcmp(hg_db_val(r, 0, 1), s->akb020))
            return refuse(s, RC_REFUSED, "业务互斥：该人员已在其他医疗机构住院，不能办理入院登记");
        if (strcmp(hg_db_val(r, 0, 2), bka025))
            return refuse(s, RC_REFUSED, "业务互斥：该人员已在本院住院(就医登记号%s)，不能重复办理入院登记",
                          hg_db_val(r, 0, 0));
        aaz218 = hg_db_val(r, 0, 0);          /* a retry of the same admission */
        s->msg = "该住院号已办理入院登记";
    }
    else {
        rv = new_visit(s, "ip", aac001, bka025, "admitted", &aaz218);
        if (rv == HG_ECONFLICT)               /* a concurrent admission won */
            return refuse(s, RC_REFUSED, "业务互斥：该人员已在其他医疗机构住院，不能办理入院登记");
        if (rv)
            return rv;
        s->msg = "入院登记成功";
    }
    s->aaz218 = aaz218;
    set(s->out, "aaz218", aaz218);
    return APR_SUCCESS;
}

/* bizh120104 入院登记信息修改 */
static apr_status_t fn_ip_modify(sbi_t *s)
{
    static const char *const changeable[] = { "bka021", "bka022", "bka019", "bka020", "bka025", "bka023", "bka503",
                                              "ykc679", "ykc680", NULL };
    static const char *const fixed[] = { "aka130", "bka006", "bka017", "bka026", NULL };
    const char *aaz218, *state, *next, *v;
    json_t *reg, *change = hg_json_object(s->p);
    hg_db_result_t *r;
    apr_status_t rv;
    int i;
    NEED(aaz218, "aaz218");
    if ((rv = stay_step(s, aaz218, &state, &next, &reg)))
        return rv;
    if ((rv = hg_db_q(s->db, &r, "SELECT aac001 FROM sandbox.injury_visits WHERE aaz218 = $1", 1, aaz218)))
        return rv;
    if ((v = fld(s, "aac001")) && strcmp(v, hg_db_val(r, 0, 0)))
        return refuse(s, RC_REFUSED, "入院登记信息修改只能修改病区、科室、住院号、床位号、医师、住院原因、补助类型");
    for (i = 0; fixed[i]; i++)
        if ((v = fld(s, fixed[i])) && (!sfld(reg, fixed[i]) || strcmp(v, sfld(reg, fixed[i]))))
            return refuse(s, RC_REFUSED, "入院登记信息修改只能修改病区、科室、住院号、床位号、医师、住院原因、补助类型");
    for (i = 0; changeable[i]; i++)
        if ((v = fld(s, changeable[i])))
            json_object_set_new(change, changeable[i], json_string(v));
    if (!json_object_size(change))
        return refuse(s, RC_BAD, "没有可修改的入院登记信息");
    s->msg = "修改成功";
    return hg_db_q(s->db, NULL, "UPDATE sandbox.injury_visits SET reg = reg || $2::jsonb, "
                   "bka025 = coalesce($2::jsonb->>'bka025', bka025), updated_at = now() WHERE aaz218 = $1",
                   2, aaz218, hg_json_dump(s->p, change, 0));
}

/* bizh120002 校验并保存费用信息 */
static apr_status_t fn_ip_fees(sbi_t *s)
{
    const char *aaz218, *state, *next;
    apr_table_t *seen = apr_table_make(s->p, 64);
    hg_db_result_t *r;
    json_t *rows;
    fee_t *f;
    apr_status_t rv;
    int i, n;
    NEED(aaz218, "aaz218");
    s->aaz218 = aaz218;
    if ((rv = feeinfo_rows(s, 1, &rows, &n)))
        return rv;
    f = apr_pcalloc(s->p, sizeof(fee_t) * n);
    for (i = 0; i < n; i++) {
        if ((rv = fee_common(s, json_array_get(rows, i), i + 1, &f[i])))
            return rv;
        if (!f[i].aaz213)
            return refuse(s, RC_BAD, "第%d行参数[aaz213]不能为空", i + 1);
        if (apr_table_get(seen, f[i].aaz213))
            return refuse(s, RC_BAD, "第%d行费用序号[aaz213=%s]在本次上传中重复", i + 1, f[i].aaz213);
        apr_table_setn(seen, f[i].aaz213, "1");
    }
    if ((rv = stay_step(s, aaz218, &state, &next, NULL)))
        return rv;
    /* a row sent again must be the same row: then it is not stored twice */
    if ((rv = hg_db_q(s->db, &r, "SELECT t.n::text, f.aaz213 FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY "
                      "AS t(e, n) JOIN sandbox.injury_fees f ON f.aaz218 = $1 AND f.aaz213 = t.e->>'aaz213' "
                      "WHERE f.row <> t.e->'row' ORDER BY t.n LIMIT 1", 2, aaz218, fees_json(s, f, n))))
        return rv;
    if (r->nrows)
        return refuse(s, RC_REFUSED, "第%s行费用序号[%s]已存在且内容不一致", hg_db_val(r, 0, 0), hg_db_val(r, 0, 1));
    if ((rv = hg_db_q(s->db, &r, "INSERT INTO sandbox.injury_fees (aaz218, aaz213, row, amount_fen, self_full, part_fen) "
                      "SELECT $1, e->>'aaz213', e->'row', (e->>'amount')::bigint, (e->>'self_full')::boolean, "
                      "(e->>'part')::bigint FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n "
                      "ON CONFLICT (aaz218, aaz213) DO NOTHING", 2, aaz218, fees_json(s, f, n))))
        return rv;
    set(s->out, "bkz004", apr_ltoa(s->p, r->affected));
    s->msg = apr_psprintf(s->p, "保存成功，共%d条费用明细", n);
    return APR_SUCCESS;
}

/* bizh120004 删除住院业务费用明细 */
static apr_status_t fn_ip_wipe(sbi_t *s)
{
    const char *aaz218, *state, *next;
    hg_db_result_t *r;
    apr_status_t rv;
    NEED(aaz218, "aaz218");
    if ((rv = stay_step(s, aaz218, &state, &next, NULL))
        || (rv = hg_db_q(s->db, &r, "DELETE FROM sandbox.injury_fees WHERE aaz218 = $1", 1, aaz218)))
        return rv;
    if (!r->affected)
        return refuse(s, RC_REFUSED, "该住院业务没有可删除的费用明细");
    s->msg = apr_psprintf(s->p, "删除成功，共%ld条费用明细", r->affected);
    return APR_SUCCESS;
}

static apr_status_t stay_sums(sbi_t *s, const char *aaz218, apr_int64_t *total, apr_int64_t *full,
                              apr_int64_t *part, int *count)
{
    hg_db_result_t *r;
    apr_status_t rv = hg_db_q(s->db, &r, "SELECT coalesce(sum(amount_fen), 0)::text, "
        "coalesce(sum(amount_fen) FILTER (WHERE self_full), 0)::text, coalesce(sum(part_fen), 0)::text, count(*)::text "
        "FROM sandbox.injury_fees WHERE aaz218 = $1", 1, aaz218);
    if (rv)
        return rv;
    *total = apr_atoi64(hg_db_val(r, 0, 0));
    *full = apr_atoi64(hg_db_val(r, 0, 1));
    *part = apr_atoi64(hg_db_val(r, 0, 2));
    *count = atoi(hg_db_val(r, 0, 3));
    return APR_SUCCESS;
}

/* bizh120003 校验并计算费用信息 (trial) */
static apr_status_t fn_ip_trial(sbi_t *s)
{
    const char *aaz218, *bka438, *state, *next;
    apr_int64_t total, full, part;
    apr_status_t rv;
    int count;
    NEED(aaz218, "aaz218");
    NEED(bka438, "bka438");
    if (strcmp(bka438, "1") && strcmp(bka438, "2") && strcmp(bka438, "3"))
        return refuse(s, RC_BAD, "业务场景阶段[bka438]取值错误：%s", bka438);
    if ((rv = stay_step(s, aaz218, &state, &next, NULL)) || (rv = stay_sums(s, aaz218, &total, &full, &part, &count)))
        return rv;
    s->msg = "试算成功";
    return pay_new(s, aaz218, "", "", total, full, part);
}

/* bizh120105 出院登记 */
static apr_status_t fn_ip_discharge(sbi_t *s)
{
    const char *aaz218, *bka032, *x, *state, *next, *bka017;
    json_t *reg;
    apr_status_t rv;
    NEED(aaz218, "aaz218");
    NEED(bka032, "bka032");
    NEED(x, "bka033");
    NEED(x, "bka034");
    if (!is_date8(bka032))
        return refuse(s, RC_BAD, "参数[bka032]格式错误：%s", bka032);
    if ((rv = stay_step(s, aaz218, &state, &next, &reg)))
        return rv;
    if ((bka017 = sfld(reg, "bka017")) && strcmp(bka032, bka017) < 0)
        return refuse(s, RC_BAD, "出院日期不能早于入院日期(bka017=%s)", bka017);
    s->msg = "出院登记成功";
    return hg_db_q(s->db, NULL, "UPDATE sandbox.injury_visits SET state = $2, discharge = $3::jsonb, updated_at = now() "
                   "WHERE aaz218 = $1", 3, aaz218, next, fields_json(s));
}

/* bizh120106 出院结算 */
static apr_status_t fn_ip_settle(sbi_t *s)
{
    const char *aaz218, *x, *state, *next;
    apr_int64_t total, full, part;
    hg_db_result_t *r;
    apr_status_t rv;
    int count;
    NEED(aaz218, "aaz218");
    NEED(x, "bka046");
    NEED(x, "bka047");
    if ((rv = stay_step(s, aaz218, &state, &next, NULL)) || (rv = stay_sums(s, aaz218, &total, &full, &part, &count)))
        return rv;
    if (!count)
        return refuse(s, RC_REFUSED, "该住院业务没有费用明细，不能结算");
    if ((rv = hg_db_q(s->db, &r, "INSERT INTO sandbox.injury_settlements (aaz218, bka001, akc264_fen, bka825_fen, "
            "bka826_fen) SELECT $1, coalesce(max(bka001), 0) + 1, $2::bigint, $3::bigint, $4::bigint "
            "FROM sandbox.injury_settlements WHERE aaz218 = $1 RETURNING bka001::text, " TS14("settled_at"),
            4, aaz218, apr_off_t_toa(s->p, total), apr_off_t_toa(s->p, full), apr_off_t_toa(s->p, part)))
        || (rv = set_state(s, aaz218, next)))
        return rv;
    s->msg = "出院结算成功";
    return pay_new(s, aaz218, hg_db_val(r, 0, 0), hg_db_val(r, 0, 1), total, full, part);
}

/* bizh120107 / 120108 / 120109: the cancel chain, one step back each */
static apr_status_t fn_ip_cancel(sbi_t *s)
{
    const char *aaz218, *state, *next;
    apr_status_t rv;
    NEED(aaz218, "aaz218");
    if ((rv = stay_step(s, aaz218, &state, &next, NULL)))
        return rv;
    if (!strcmp(s->fid, "bizh120107")
        && (rv = hg_db_q(s->db, NULL, "UPDATE sandbox.injury_settlements SET aae100 = false, cancelled_at = now() "
                         "WHERE aaz218 = $1 AND aae100", 1, aaz218)))
        return rv;
    if (!strcmp(s->fid, "bizh120108")
        && (rv = hg_db_q(s->db, NULL, "UPDATE sandbox.injury_visits SET discharge = NULL WHERE aaz218 = $1", 1, aaz218)))
        return rv;
    s->msg = !strcmp(s->fid, "bizh120107") ? "取消出院结算成功" : !strcmp(s->fid, "bizh120108") ? "取消出院登记成功"
                                                                                    : "取消入院登记成功";
    return set_state(s, aaz218, next);
}

/* a stay of this institution, any state but unknown */
static apr_status_t any_stay(sbi_t *s, const char **aaz218)
{
    const char *kind, *state;
    apr_status_t rv;
    NEED(*aaz218, "aaz218");
    if ((rv = lock_visit(s, *aaz218, &kind, &state, NULL)))
        return rv;
    if (strcmp(kind, "ip"))
        return refuse(s, RC_REFUSED, MSG_NOT_FOUND, *aaz218);
    return APR_SUCCESS;
}

/* bizh120113 住院费用明细查询 [chosen] */
static apr_status_t fn_ip_fee_query(sbi_t *s)
{
    const char *aaz218;
    hg_db_result_t *r;
    json_t *out;
    apr_status_t rv;
    int i;
    if ((rv = any_stay(s, &aaz218))
        || (rv = hg_db_q(s->db, &r, "SELECT row::text FROM sandbox.injury_fees WHERE aaz218 = $1 ORDER BY id", 1, aaz218)))
        return rv;
    out = dataset_out(s, "feeinfo");
    for (i = 0; i < r->nrows; i++)
        json_array_append_new(out, json_incref(hg_json_own(s->p, json_loads(hg_db_val(r, i, 0), 0, NULL))));
    return APR_SUCCESS;
}

/* bizh120206 出院结算信息查询 [chosen] */
static apr_status_t fn_ip_settle_query(sbi_t *s)
{
    const char *aaz218;
    hg_db_result_t *r;
    json_t *out;
    apr_status_t rv;
    int i;
    if ((rv = any_stay(s, &aaz218))
        || (rv = hg_db_q(s->db, &r, "SELECT " SETTLE_COLS " FROM sandbox.injury_settlements WHERE aaz218 = $1 "
                         "ORDER BY bka001 DESC", 1, aaz218)))
        return rv;
    out = dataset_out(s, "payinfo");
    for (i = 0; i < r->nrows; i++)
        if ((rv = pay_row(s, out, r, i)))
            return rv;
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- 病案首页 */

static apr_status_t need_rows(sbi_t *s, const char *const *keys)
{
    json_t *rows;
    apr_status_t rv;
    size_t i;
    int k;
    if ((rv = dataset(s, "detail", &rows)))
        return rv;
    if (!rows)
        return refuse(s, RC_BAD, "明细(detail)不能为空");
    s->rows = (int)json_array_size(rows);
    for (i = 0; i < json_array_size(rows); i++)
        for (k = 0; keys[k]; k++)
            if (!sfld(json_array_get(rows, i), keys[k]))
                return refuse(s, RC_BAD, "明细第%d行参数[%s]不能为空", (int)i + 1, keys[k]);
    return APR_SUCCESS;
}

static apr_status_t fn_record(sbi_t *s)
{
    static const char *const header[] = { "aab299", "akb021", "aac002", "aac043", "aac044", NULL };
    static const char *const r101[] = { "yzy001", "yzy002", "ykc701", "ykc702", NULL };
    static const char *const r102[] = { "yzy201", "yzy202", "akc185", "akc196", NULL };
    static const char *const r103[] = { "yzy201", "yzy207", "yzy208", "yzy209", NULL };
    static const char *const r104[] = { "aac004", NULL };
    static const char *const r105[] = { "yzy265", NULL };
    static const char *const r106[] = { "yzy301", "yzy302", "akc273", NULL };
    const char *aaz218, *kind, *state, *x, *content;
    json_t *o;
    apr_status_t rv;
    int i;
    NEED(aaz218, "aaz218");
    s->aaz218 = aaz218;
    for (i = 0; header[i]; i++)
        NEED(x, header[i]);
    if (!strcmp(s->fid, "bizh200101") || !strcmp(s->fid, "bizh200106")) {
        const char *const *k = !strcmp(s->fid, "bizh200101") ? r101 : r106;
        for (i = 0; k[i]; i++)
            NEED(x, k[i]);
    }
    else if ((rv = need_rows(s, !strcmp(s->fid, "bizh200102") ? r102 : !strcmp(s->fid, "bizh200103") ? r103
                               : !strcmp(s->fid, "bizh200104") ? r104 : r105)))
        return rv;
    if ((rv = lock_visit(s, aaz218, &kind, &state, NULL)))
        return rv;
    if (strcmp(kind, "ip") || !strcmp(state, "cancelled"))
        return refuse(s, RC_REFUSED, MSG_NOT_FOUND, aaz218);
    o = hg_json_own(s->p, json_deep_copy(s->req));
    json_object_del(o, "session_id");
    content = hg_json_dump(s->p, o, 0);
    s->msg = "上传成功";
    return hg_db_q(s->db, NULL, "INSERT INTO sandbox.injury_records (aaz218, function_id, content) VALUES ($1, $2, $3::jsonb) "
                   "ON CONFLICT (aaz218, function_id) DO UPDATE SET content = EXCLUDED.content, at = now()",
                   3, aaz218, s->fid, content);
}

/* ---------------------------------------------------------------- queries */

static apr_status_t person_of(sbi_t *s, const char *aac001)
{
    hg_db_result_t *r;
    apr_status_t rv = hg_db_q(s->db, &r, "SELECT 1 FROM sandbox.injury_persons WHERE aac001 = $1", 1, aac001);
    if (rv)
        return rv;
    return r->nrows ? APR_SUCCESS : refuse(s, RC_REFUSED, MSG_NO_PERSON);
}

/* bizh410004 累计查询 */
static apr_status_t fn_totals(sbi_t *s)
{
    const char *aac001, *aae001;
    hg_db_result_t *r;
    sbi_split_t sp;
    json_t *row;
    apr_status_t rv;
    NEED(aac001, "aac001");
    NEED(aae001, "aae001");
    if (strlen(aae001) != 4 || strspn(aae001, "0123456789") != 4)
        return refuse(s, RC_BAD, "参数[aae001]格式错误：%s", aae001);
    if ((rv = person_of(s, aac001))
        || (rv = hg_db_q(s->db, &r, "SELECT coalesce(sum(st.akc264_fen), 0)::text, coalesce(sum(st.bka825_fen), 0)::text, "
            "coalesce(sum(st.bka826_fen), 0)::text, count(*)::text FROM sandbox.injury_settlements st "
            "JOIN sandbox.injury_visits v USING (aaz218) WHERE v.aac001 = $1 AND st.aae100 "
            "AND to_char(st.settled_at AT TIME ZONE 'Asia/Shanghai', 'YYYY') = $2", 2, aac001, aae001)))
        return rv;
    if (sbi_split_from(&sp, apr_atoi64(hg_db_val(r, 0, 0)), apr_atoi64(hg_db_val(r, 0, 1)), apr_atoi64(hg_db_val(r, 0, 2))))
        return refuse(s, RC_REFUSED, "累计金额超出范围");
    row = json_object();
    set(row, "aac001", aac001);
    set(row, "aae001", aae001);
    set(row, "aae140", fld(s, "aae140") ? fld(s, "aae140") : "410");
    hg_json_setm(row, "akc264", sp.akc264);
    hg_json_setm(row, "bka831", sp.bka831);
    hg_json_setm(row, "bka832", sp.bka832);
    set(row, "bkz005", hg_db_val(r, 0, 3));
    json_array_append_new(dataset_out(s, "totalinfo"), row);
    return APR_SUCCESS;
}

/* bizh410005 基金状态查询 */
static apr_status_t fn_fund(sbi_t *s)
{
    const char *aac001;
    hg_db_result_t *p, *a;
    json_t *row;
    apr_status_t rv;
    NEED(aac001, "aac001");
    if ((rv = person_of(s, aac001)) || (rv = valid_auths(s, aac001, &a))
        || (rv = hg_db_q(s->db, &p, "SELECT aae140, bka888 FROM sandbox.injury_persons WHERE aac001 = $1", 1, aac001)))
        return rv;
    row = json_object();
    set(row, "aac001", aac001);
    set(row, "aae140", hg_db_val(p, 0, 0));
    set(row, "bka888", hg_db_val(p, 0, 1));
    set(row, "aae030", a->nrows ? hg_db_val(a, 0, 4) : "");
    set(row, "aae031", a->nrows ? hg_db_val(a, 0, 5) : "");
    json_array_append_new(dataset_out(s, "fundinfo"), row);
    return APR_SUCCESS;
}

/* bizh120205 码表服务 */
static apr_status_t fn_codes(sbi_t *s)
{
    const char *aaa100;
    hg_db_result_t *r;
    json_t *out;
    apr_status_t rv;
    int i;
    NEED(aaa100, "aaa100");
    if ((rv = hg_db_q(s->db, &r, "SELECT aaa102, aaa103, aaa102 = $2 OR $2 = '' FROM sandbox.injury_codes "
                      "WHERE aaa100 = $1 ORDER BY length(aaa102), aaa102", 2, aaa100, fld0(s, "aaa102"))))
        return rv;
    if (!r->nrows)
        return refuse(s, RC_REFUSED, "代码类别[%s]不存在", aaa100);
    out = dataset_out(s, "codeinfo");
    for (i = 0; i < r->nrows; i++)
        if (hg_db_val(r, i, 2)[0] == 't') {
            json_t *row = json_object();
            set(row, "aaa100", aaa100);
            set(row, "aaa102", hg_db_val(r, i, 0));
            set(row, "aaa103", hg_db_val(r, i, 1));
            json_array_append_new(out, row);
        }
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- dispatch */

static const struct { const char *fid; sbi_fn *fn; } catalogue[] = {
    { "bizh110001", fn_person_info },    { "bizh110102", fn_visits },        { "bizh110103", fn_op_refund_info },
    { "bizh110104", fn_op_register },    { "bizh110105", fn_op_settle },     { "bizh110106", fn_op_cancel },
    { "bizh120001", fn_person_info },    { "bizh120102", fn_visits },        { "bizh120103", fn_ip_admit },
    { "bizh120104", fn_ip_modify },      { "bizh120002", fn_ip_fees },       { "bizh120003", fn_ip_trial },
    { "bizh120004", fn_ip_wipe },        { "bizh120105", fn_ip_discharge },  { "bizh120106", fn_ip_settle },
    { "bizh120107", fn_ip_cancel },      { "bizh120108", fn_ip_cancel },     { "bizh120109", fn_ip_cancel },
    { "bizh120113", fn_ip_fee_query },   { "bizh120206", fn_ip_settle_query },
    { "bizh200101", fn_record },         { "bizh200102", fn_record },        { "bizh200103", fn_record },
    { "bizh200104", fn_record },         { "bizh200105", fn_record },        { "bizh200106", fn_record },
    { "bizh410004", fn_totals },         { "bizh410005", fn_fund },          { "bizh120205", fn_codes },
};

static apr_status_t login(sbi_t *s)
{
    const char *userid, *password;
    hg_db_result_t *r;
    apr_status_t rv;
    NEED(userid, "userid");
    NEED(password, "password");
    if ((rv = hg_db_q(s->db, &r, "SELECT akb020 FROM sandbox.injury_accounts WHERE userid = $1 AND password = $2",
                      2, userid, password)))
        return rv;
    if (!r->nrows)
        return refuse(s, RC_REFUSED, "用户名或密码错误");
    if ((rv = hg_db_q(s->db, &r, "INSERT INTO sandbox.injury_sessions (session_id, userid, akb020, expires_at) "
            "VALUES (replace(gen_random_uuid()::text, '-', ''), $1, $2, "
            "(" CN_NOW "::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai') "
            "RETURNING session_id, akb020, " TS14("expires_at"), 2, userid, hg_db_val(r, 0, 0))))
        return rv;
    set(s->out, "session_id", hg_db_val(r, 0, 0));
    set(s->out, "akb020", hg_db_val(r, 0, 1));
    set(s->out, "aae036", hg_db_val(r, 0, 2));
    s->msg = "登录成功";
    return APR_SUCCESS;
}

/* take the one-shot failure mode meant for this call, if any: *mode NULL when none */
static apr_status_t one_shot(sbi_t *s, const char **mode, const char **message, int *ms)
{
    hg_db_result_t *r;
    /* a matching call either counts down skip or takes the mode (and the platform is normal again) */
    apr_status_t rv = hg_db_q(s->db, &r, "WITH o AS (SELECT platform, mode, message, slow_ms, skip FROM sandbox.modes "
        "WHERE platform = 'injury' AND mode IN ('error','lost','late','badsplit') "
        "AND (target = $1 OR (target IS NULL AND $1 <> 'sys0001')) FOR UPDATE) "
        "UPDATE sandbox.modes m SET mode = CASE WHEN o.skip > 0 THEN m.mode ELSE 'normal' END, "
        "target = CASE WHEN o.skip > 0 THEN m.target END, message = CASE WHEN o.skip > 0 THEN m.message END, "
        "skip = greatest(o.skip - 1, 0), updated_at = now() FROM o "
        "WHERE m.platform = o.platform RETURNING o.mode, o.message, o.slow_ms::text, o.skip", 1, s->fid);
    *mode = NULL;
    if (rv || !r->nrows || atoi(hg_db_val(r, 0, 3)) > 0)
        return rv;
    *mode = hg_db_val(r, 0, 0);
    *message = hg_db_val(r, 0, 1);
    *ms = atoi(hg_db_val(r, 0, 2));
    return APR_SUCCESS;
}

/* mode badsplit: the answer's bka832 one fen too high in every payinfo row (what was stored is right) */
static void break_split(sbi_t *s)
{
    json_t *rows = json_object_get(s->out, "payinfo");
    apr_int64_t v;
    size_t i;
    for (i = 0; json_is_array(rows) && i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);
        if (sbi_decimal(&v, json_string_value(json_object_get(row, "bka832")), 2, 1) == APR_SUCCESS)
            hg_json_setm(row, "bka832", v + 1);
    }
}

static apr_status_t serve(sbi_t *s, const char *body, apr_size_t len, const char **mode, int *after, int *after_ms)
{
    const char *message, *given;
    sbi_fn *fn = NULL;
    hg_db_result_t *r;
    apr_status_t rv;
    size_t i;
    int ms = 0;

    if (hg_xml_to_json(&s->req, s->p, body, len) != APR_SUCCESS || !json_is_object(s->req)) {
        s->req = hg_json_object(s->p);
        return refuse(s, RC_BAD, "请求报文不是合法的XML：%s", hg_xml_errmsg(s->p) ? hg_xml_errmsg(s->p) : "");
    }
    if (!(s->fid = fld(s, "function_id")))
        return refuse(s, RC_BAD, "参数[function_id]不能为空");
    if (strcmp(s->fid, "sys0001")) {
        for (i = 0; i < sizeof(catalogue) / sizeof(catalogue[0]) && !fn; i++)
            if (!strcmp(catalogue[i].fid, s->fid))
                fn = catalogue[i].fn;
        if (!fn)
            return refuse(s, RC_UNKNOWN, "功能号[%s]不存在", s->fid);
        if ((rv = hg_db_q(s->db, &r, "SELECT userid, akb020 FROM sandbox.injury_sessions WHERE session_id = $1 "
                          "AND expires_at > now()", 1, fld0(s, "session_id"))))
            return rv;
        if (!r->nrows)
            return refuse(s, RC_SESSION, "会话已失效(session_id无效或已过期)，请重新登录");
        s->userid = hg_db_val(r, 0, 0);
        s->akb020 = hg_db_val(r, 0, 1);
        if (!(given = need(s, "akb020")))
            return SBI_REFUSED;
        if (strcmp(given, s->akb020))
            return refuse(s, RC_REFUSED, "医疗机构编码[%s]与登录机构[%s]不符", given, s->akb020);
    }
    if ((rv = one_shot(s, mode, &message, &ms)))
        return rv;
    if (*mode && !strcmp(*mode, "error"))
        return refuse(s, RC_REFUSED, "%s", message ? message : "模拟业务错误：平台业务处理失败，请稍后重试");
    if (*mode && !strcmp(*mode, "lost"))
        *after = SBI_AFTER_LOST;
    else if (*mode && !strcmp(*mode, "late"))
        *after = SBI_AFTER_LATE;
    *after_ms = ms;
    if ((rv = hg_db_begin(s->db)))
        return rv;
    rv = fn ? fn(s) : login(s);
    if (rv == APR_SUCCESS && *mode && !strcmp(*mode, "badsplit"))
        break_split(s);
    if (rv == APR_SUCCESS)
        return hg_db_commit(s->db);
    hg_db_rollback(s->db);
    return rv;
}

apr_status_t sandbox_injury_serve(apr_pool_t *p, hg_db_t *db, const char *body, apr_size_t len,
                                  const char **xml, int *after, int *after_ms)
{
    sbi_t s = { .p = p, .db = db, .rc = RC_OK, .msg = "成功" };
    const char *mode = NULL, *k;
    json_t *ans, *v;
    apr_status_t rv;

    *after = SBI_AFTER_NONE;
    *after_ms = 0;
    s.out = hg_json_object(p);
    rv = serve(&s, body, len, &mode, after, after_ms);
    if (rv != APR_SUCCESS && rv != SBI_REFUSED)
        return rv;
    if (!s.aaz218 && s.req)
        s.aaz218 = fld(&s, "aaz218");
    ans = hg_json_object(p);
    set(ans, "return_code", s.rc);
    set(ans, "return_code_message", s.msg);
    if (rv == APR_SUCCESS)
        json_object_foreach(s.out, k, v)
            json_object_set(ans, k, v);
    if (hg_xml_from_json(xml, p, "program", ans) != APR_SUCCESS) {   /* cannot happen with our own fields */
        json_object_clear(ans);
        set(ans, "return_code", RC_BAD);
        set(ans, "return_code_message", "应答报文生成失败");
        if ((rv = hg_xml_from_json(xml, p, "program", ans)))
            return rv;
    }
    return hg_db_q(db, NULL, "INSERT INTO sandbox.injury_calls (function_id, aaz218, rows, return_code, message, mode) "
                   "VALUES ($1, $2, $3::int, $4, $5, $6)", 6, s.fid, s.aaz218, apr_itoa(p, s.rows), s.rc, s.msg, mode);
}

apr_status_t sandbox_injury_expire(hg_db_t *db)
{
    return hg_db_q(db, NULL, "UPDATE sandbox.injury_sessions SET expires_at = now() WHERE expires_at > now()", 0);
}

apr_status_t sandbox_injury_calls(apr_pool_t *p, hg_db_t *db, const char *function_id, json_t **out)
{
    hg_db_result_t *r;
    json_t *a;
    apr_status_t rv;
    int i;
    if ((rv = hg_db_q(db, &r, "SELECT id::text, function_id, aaz218, rows::text, return_code, message, mode, "
                      "to_char(at, 'YYYY-MM-DD\"T\"HH24:MI:SS.MSOF') FROM sandbox.injury_calls "
                      "WHERE $1::text IS NULL OR function_id = $1 ORDER BY injury_calls.id DESC LIMIT 200", 1, function_id)))
        return rv;
    a = json_array();
    for (i = 0; i < r->nrows; i++)
        json_array_append_new(a, json_pack("{s:I, s:s?, s:s?, s:I, s:s, s:s?, s:s?, s:s}",
            "id", (json_int_t)apr_atoi64(hg_db_val(r, i, 0)), "function_id", hg_db_val(r, i, 1),
            "aaz218", hg_db_val(r, i, 2), "rows", (json_int_t)apr_atoi64(hg_db_val(r, i, 3)),
            "return_code", hg_db_val(r, i, 4), "message", hg_db_val(r, i, 5), "mode", hg_db_val(r, i, 6),
            "at", hg_db_val(r, i, 7)));
    *out = json_pack("{s:o}", "calls", a);
    return APR_SUCCESS;
}
