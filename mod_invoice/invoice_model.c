/* mod_invoice domain: bill kinds, titles, validation, canonical form, documents and seals, red bills,
 * identifiers, masks, offline tokens (see invoice_model.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "hg_json.h"
#include "hg_money.h"
#include "hg_crypto.h"
#include "invoice_model.h"

/* ---- kinds ---- */

typedef struct {
    const char *service, *code, *bus_type, *label;
} kind_row;

static const kind_row KINDS[INVOICE_KIND_COUNT] = {
    [INV_OUTPATIENT]   = { "invoiceEBillOutpatient",      "outpatient",   "02", "门诊" },
    [INV_INPATIENT]    = { "invEBillHospitalized",        "inpatient",    "01", "住院" },
    [INV_REGISTRATION] = { "invEBillRegistration",        "registration", "06", "挂号" },
    [INV_PHYSICAL]     = { "invEBillPhysicalExamination", "physical",     "05", "体检" },
    [INV_IMMUNISATION] = { "invEBillImmunization",        "immunisation", "02", "免疫接种" },
    [INV_PREPAYMENT]   = { "invoicePayMentVoucher",       "prepayment",   "07", "住院预交金" },
};

/* payChannelCode → a name patients understand, the same on the H5 page and the layout file; 01
 * POS刷卡 is from the spec, the rest is the hospitals' common usage (inferred); NULL when unknown */
const char *invoice_pay_channel_name(const char *code)
{
    static const char *const table[][2] = {
        { "01", "POS刷卡" }, { "02", "现金" }, { "03", "微信支付" }, { "04", "支付宝" },
        { "05", "银联" }, { "06", "转账" }, { "07", "预交金" }, { "11", "医保统筹基金" },
        { "12", "医保个人账户" }, { "13", "其他医保" }, { "HBWC", "货币误差" }, { NULL, NULL }
    };
    int i;
    for (i = 0; code && table[i][0]; i++)
        if (!strcmp(code, table[i][0]))
            return table[i][1];
    return NULL;
}

static int kind_ok(invoice_kind_t k)
{
    return (int)k >= 0 && (int)k < INVOICE_KIND_COUNT;
}

int invoice_kind_from_service(const char *service)
{
    int i;
    if (!service) return -1;
    for (i = 0; i < INVOICE_KIND_COUNT; i++)
        if (strcmp(KINDS[i].service, service) == 0) return i;
    /* the name the brief first gave the deposit service; Bosi's is invoicePayMentVoucher */
    if (strcmp(service, "invEBillPrepayment") == 0) return INV_PREPAYMENT;
    return -1;
}

apr_status_t invoice_kind_lookup(invoice_kind_t *kind, apr_pool_t *p, const char *service,
                                 hg_error_t **err)
{
    int k = invoice_kind_from_service(service);
    if (err) *err = NULL;
    if (k < 0) {
        if (err) *err = hg_error_make(p, HG_INVOICE_UNKNOWN_SERVICE, "service",
                                      "unknown e-bill service '%s' (未知的开票服务)",
                                      service ? hg_utf8_repair(p, apr_pstrndup(p, service, 64)) : "");
        return HG_ENOTFOUND;
    }
    *kind = (invoice_kind_t)k;
    return APR_SUCCESS;
}

int invoice_kind_from_code(const char *code)
{
    int i;
    if (!code) return -1;
    for (i = 0; i < INVOICE_KIND_COUNT; i++)
        if (strcmp(KINDS[i].code, code) == 0) return i;
    return -1;
}

const char *invoice_kind_service(invoice_kind_t kind)  { return kind_ok(kind) ? KINDS[kind].service : NULL; }
const char *invoice_kind_code(invoice_kind_t kind)     { return kind_ok(kind) ? KINDS[kind].code : NULL; }
const char *invoice_kind_bus_type(invoice_kind_t kind) { return kind_ok(kind) ? KINDS[kind].bus_type : NULL; }
const char *invoice_kind_label(invoice_kind_t kind)    { return kind_ok(kind) ? KINDS[kind].label : NULL; }

/* ---- titles ---- */

/* GB/T 2260 province-level divisions (mainland), by the first two digits of a code */
static const struct {
    char code[3];
    const char *name;
} PROVINCES[] = {
    { "11", "北京市" }, { "12", "天津市" }, { "13", "河北省" }, { "14", "山西省" },
    { "15", "内蒙古自治区" }, { "21", "辽宁省" }, { "22", "吉林省" }, { "23", "黑龙江省" },
    { "31", "上海市" }, { "32", "江苏省" }, { "33", "浙江省" }, { "34", "安徽省" },
    { "35", "福建省" }, { "36", "江西省" }, { "37", "山东省" }, { "41", "河南省" },
    { "42", "湖北省" }, { "43", "湖南省" }, { "44", "广东省" }, { "45", "广西壮族自治区" },
    { "46", "海南省" }, { "50", "重庆市" }, { "51", "四川省" }, { "52", "贵州省" },
    { "53", "云南省" }, { "54", "西藏自治区" }, { "61", "陕西省" }, { "62", "甘肃省" },
    { "63", "青海省" }, { "64", "宁夏回族自治区" }, { "65", "新疆维吾尔自治区" },
};

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

static const char *province_of(const char *inst)
{
    apr_size_t i;
    if (!inst) return "";
    if (is_alpha(inst[0])) inst++;                    /* NHSA codes: H44010600001 */
    if (!is_digit(inst[0]) || !is_digit(inst[1])) return "";
    for (i = 0; i < sizeof(PROVINCES) / sizeof(PROVINCES[0]); i++)
        if (inst[0] == PROVINCES[i].code[0] && inst[1] == PROVINCES[i].code[1]) return PROVINCES[i].name;
    return "";
}

const char *invoice_title(apr_pool_t *p, invoice_kind_t kind, const char *institution_code)
{
    const char *t;
    if (!kind_ok(kind)) return NULL;
    switch (kind) {
    case INV_INPATIENT:  t = "医疗住院收费票据（电子）"; break;
    case INV_PREPAYMENT: t = "医疗住院预交金凭证（电子）"; break;
    default:             t = "医疗门诊收费票据（电子）"; break;   /* the MOF has 门诊 and 住院 only */
    }
    return apr_pstrcat(p, province_of(institution_code), t, NULL);
}

/* ---- schemas ---- */

/* canonical decimals (see coerce_decimal): identified by this very pointer */
static const char DEC_PATTERN[] = "(0|[1-9][0-9]{0,11})(\\.[0-9]{1,6})?";
#define BUSNO_PATTERN "[A-Za-z0-9_.-]+"
#define PLACE_PATTERN "[A-Za-z0-9_-]+"
#define TEL_PATTERN   "[0-9+ ()-]+"
#define EMAIL_PATTERN "[^@[:space:]]+@[^@[:space:]]+"

static const char *const PAYER_TYPES[] = { "1", "2", NULL };
static const char *const SEXES[] = { "男", "女", "未知", "未说明", "0", "1", "2", "9", NULL };
static const char *const ZERO_ONE[] = { "0", "1", NULL };
static const char *const PREPAY_BUS_TYPES[] = { "07", NULL };

#define R HG_F_REQUIRED
#define STR(n, f, max)       { .name = n, .type = HG_JT_STRING, .flags = (f), .max_len = (max) }
#define STRP(n, f, max, pat) { .name = n, .type = HG_JT_STRING, .flags = (f), .max_len = (max), .pattern = pat }
#define ENUM(n, f, ev)       { .name = n, .type = HG_JT_STRING, .flags = (f), .enum_values = ev }
#define DATE(n, f, fmt)      { .name = n, .type = HG_JT_DATE, .flags = (f), .date_format = fmt }
#define MONEY(n, f)          { .name = n, .type = HG_JT_MONEY, .flags = (f) }
#define MONEY_POS(n)         { .name = n, .type = HG_JT_MONEY, .flags = R | HG_F_MIN, .min = 0.01 }
#define DEC(n, f)            { .name = n, .type = HG_JT_STRING, .flags = (f), .max_len = 20, .pattern = DEC_PATTERN }
#define INT(n, f)            { .name = n, .type = HG_JT_INTEGER, .flags = (f) | HG_F_MIN | HG_F_MAX, \
                               .min = 0, .max = 999999999 }
#define LIST_MAX(n, f, tbl, max) { .name = n, .type = HG_JT_ARRAY, .flags = (f) | HG_F_CLOSED, .fields = tbl, \
                                   .max_items = (max) }
#define LIST(n, f, tbl)      LIST_MAX(n, f, tbl, INVOICE_MAX_ITEMS)
#define OBJ(n, f, tbl)       { .name = n, .type = HG_JT_OBJECT, .flags = (f) | HG_F_CLOSED, .fields = tbl }

static const hg_field_t CHARGE_ITEM[] = {
    INT("sortNo", R),
    STR("chargeCode", R, 50),
    STR("chargeName", R, 100),
    STR("unit", 0, 20),
    DEC("std", R),
    DEC("number", R),
    MONEY("amt", R),
    MONEY("selfAmt", R),
    STR("remark", 0, 200),
    HG_FIELDS_END_CLOSED
};

static const hg_field_t LIST_ITEM[] = {
    STR("listDetailNo", 0, 50),
    STR("chargeCode", 0, 50),
    STR("chargeName", 0, 100),
    STR("prescribeCode", 0, 50),
    STR("listTypeCode", 0, 50),
    STR("listTypeName", 0, 100),
    STR("code", 0, 50),
    STR("name", R, 100),
    STR("form", 0, 50),
    STR("specification", 0, 100),
    STR("unit", 0, 20),
    DEC("std", R),
    DEC("number", R),
    MONEY("amt", R),
    MONEY("selfAmt", R),
    MONEY("receivableAmt", 0),
    STR("medicalCareType", 0, 20),
    STR("medCareItemType", 0, 20),
    DEC("medReimburseRate", 0),
    STR("remark", 0, 200),
    INT("sortNo", 0),
    STR("chrgtype", 0, 20),
    HG_FIELDS_END_CLOSED
};

static const hg_field_t PAY_CHANNEL[] = {
    STRP("payChannelCode", R, 20, "[A-Za-z0-9_]+"),
    MONEY("payChannelValue", R),
    HG_FIELDS_END_CLOSED
};

static const hg_field_t VOUCHER[] = {
    STR("voucherBatchCode", R, 50),
    STR("voucherNo", R, 20),
    MONEY("voucherAmt", R),
    HG_FIELDS_END_CLOSED
};

static const hg_field_t OTHER_INFO[] = {
    INT("infoNo", R),
    STR("infoName", R, 100),
    STR("infoValue", R, 200),
    HG_FIELDS_END_CLOSED
};

static const hg_field_t OTHER_MEDICAL[] = {
    INT("infoNo", R),
    STR("infoName", R, 100),
    STR("infoValue", R, 200),
    STR("infoOther", 0, 200),
    HG_FIELDS_END_CLOSED
};

/* EnotePrintReqVo, in the spec's order; the flags that differ per kind are parameters */
#define SETTLEMENT_FIELDS(HOSP, INOUT, LISTF, CHECKUP) \
    STRP("busNo", R, 50, BUSNO_PATTERN), \
    STRP("busType", 0, 2, "[0-9]{2}"), \
    STR("payer", R, 100), \
    DATE("busDateTime", R, HG_DATE_TS17), \
    STRP("placeCode", R, 50, PLACE_PATTERN), \
    STR("payee", R, 50), \
    STR("author", R, 50), \
    MONEY_POS("totalAmt"), \
    STR("remark", 0, 200), \
    STR("alipayCode", 0, 100), \
    STR("weChatOrderNo", 0, 100), \
    STR("weChatMedTransNo", 0, 100), \
    STR("openID", 0, 100), \
    STRP("tel", 0, 20, TEL_PATTERN), \
    STRP("email", 0, 100, EMAIL_PATTERN), \
    ENUM("payerType", R, PAYER_TYPES), \
    STR("idCardNo", 0, 30), \
    STR("cardType", R, 20), \
    STR("cardNo", R, 50), \
    STR("medicalInstitution", 0, 60), \
    STR("medCareInstitution", 0, 60), \
    STR("medCareTypeCode", 0, 20), \
    STR("medicalCareType", 0, 60), \
    STR("medicalInsuranceID", 0, 50), \
    STR("category", 0, 60), \
    STR("categoryCode", 0, 50), \
    STR("patientCategory", 0, 60), \
    STR("patientCategoryCode", 0, 50), \
    STR("leaveCategory", 0, 60), \
    STR("leaveCategoryCode", 0, 50), \
    STR("hospitalNo", HOSP, 50), \
    STR("visitNo", HOSP, 50), \
    DATE("consultationDate", 0, HG_DATE_DATE), \
    STR("patientId", 0, 50), \
    STR("patientNo", 0, 50), \
    ENUM("sex", R, SEXES), \
    STR("age", R, 20), \
    STR("hospitalArea", 0, 60), \
    STR("bedNo", 0, 20), \
    STR("caseNumber", 0, 50), \
    STR("specialDiseasesName", 0, 100), \
    DATE("inHospitalDate", INOUT, HG_DATE_DATE), \
    DATE("outHospitalDate", INOUT, HG_DATE_DATE), \
    DEC("hospitalDays", 0), \
    LIST("payMentVoucher", 0, VOUCHER), \
    MONEY("accountPay", R), \
    MONEY("fundPay", R), \
    MONEY("otherfundPay", R), \
    MONEY("ownPay", R), \
    MONEY("selfConceitedAmt", R), \
    MONEY("selfPayAmt", R), \
    MONEY("selfCashPay", R), \
    MONEY("cashPay", 0), \
    MONEY("chequePay", 0), \
    MONEY("transferAccountPay", 0), \
    MONEY("cashRecharge", 0), \
    MONEY("chequeRecharge", 0), \
    MONEY("transferRecharge", 0), \
    MONEY("cashRefund", 0), \
    MONEY("chequeRefund", 0), \
    MONEY("transferRefund", 0), \
    MONEY("ownAcBalance", HG_F_NEGATIVE), \
    MONEY("reimbursementAmt", 0), \
    STR("balancedNumber", 0, 50), \
    LIST("otherInfo", 0, OTHER_INFO), \
    OBJ("otherMedicalList", 0, OTHER_MEDICAL), \
    LIST("payChannelDetail", R, PAY_CHANNEL), \
    STR("eBillRelateNo", 0, 50), \
    ENUM("isArrears", 0, ZERO_ONE), \
    STR("arrearsReason", 0, 200), \
    LIST("chargeDetail", R, CHARGE_ITEM), \
    LIST_MAX("listDetail", LISTF, LIST_ITEM, INVOICE_MAX_LIST_LINES), \
    STR("checkUpNo", CHECKUP, 50)

static const hg_field_t OUTPATIENT_SCHEMA[] = { SETTLEMENT_FIELDS(0, 0, 0, 0), HG_FIELDS_END_CLOSED };
static const hg_field_t INPATIENT_SCHEMA[]  = { SETTLEMENT_FIELDS(R, R, R, 0), HG_FIELDS_END_CLOSED };
static const hg_field_t PHYSICAL_SCHEMA[]   = { SETTLEMENT_FIELDS(0, 0, 0, R), HG_FIELDS_END_CLOSED };

/* EnoteDepoReqVo ([ZB] invoicePayMentVoucher) */
#define PREPAYMENT_ONLY_FIELDS \
    STR("drawee", 0, 100), \
    STR("accountName", 0, 100), \
    STR("accountNo", 0, 50), \
    STR("accountBank", 0, 100), \
    STR("workUnit", 0, 100)

static const hg_field_t PREPAYMENT_SCHEMA[] = {
    STRP("busNo", R, 50, BUSNO_PATTERN),
    ENUM("busType", 0, PREPAY_BUS_TYPES),
    STR("payer", R, 100),
    DATE("busDateTime", R, HG_DATE_TS17),
    STRP("placeCode", R, 50, PLACE_PATTERN),
    STR("payee", R, 50),
    STR("author", R, 50),
    STRP("tel", 0, 20, TEL_PATTERN),
    STRP("email", 0, 100, EMAIL_PATTERN),
    STR("idCardNo", 0, 30),
    STR("cardType", R, 20),
    STR("cardNo", R, 50),
    MONEY_POS("amt"),
    MONEY("ownAcBalance", HG_F_NEGATIVE),
    STR("category", 0, 60),
    STR("categoryCode", 0, 50),
    DATE("inHospitalDate", 0, HG_DATE_DATE),
    STR("hospitalNo", R, 50),
    STR("visitNo", R, 50),
    STR("patientId", 0, 50),
    STR("patientNo", 0, 50),
    STR("caseNumber", 0, 50),
    LIST("payChannelDetail", R, PAY_CHANNEL),
    STR("remark", 0, 200),
    PREPAYMENT_ONLY_FIELDS,
    HG_FIELDS_END_CLOSED
};

/* every field of every kind, for the kind-less canonical form and the red copy (a name means the
 * same thing in all kinds, so one table serves) */
static const hg_field_t UNION_SCHEMA[] = {
    SETTLEMENT_FIELDS(0, 0, 0, 0),
    MONEY("amt", 0),
    PREPAYMENT_ONLY_FIELDS,
    HG_FIELDS_END
};

static const hg_field_t *const SCHEMAS[INVOICE_KIND_COUNT] = {
    [INV_OUTPATIENT]   = OUTPATIENT_SCHEMA,
    [INV_INPATIENT]    = INPATIENT_SCHEMA,
    [INV_REGISTRATION] = OUTPATIENT_SCHEMA,
    [INV_PHYSICAL]     = PHYSICAL_SCHEMA,
    [INV_IMMUNISATION] = OUTPATIENT_SCHEMA,
    [INV_PREPAYMENT]   = PREPAYMENT_SCHEMA,
};

/* ---- canonical form ---- */

/* s[0..len) as a canonical decimal into out: ['-'] digits ['.' digits] in, leading zeros of the integer
 * part and trailing zeros of the fraction dropped, "-0" -> "0".  0 on success. */
static int canon_decimal(char *out, apr_size_t outsz, const char *s, apr_size_t len)
{
    apr_size_t i = 0, is, il, fs = 0, fl = 0, o = 0;
    int neg = 0;

    if (len && s[0] == '-') {
        neg = 1;
        i++;
    }
    for (is = i; i < len && is_digit(s[i]); i++) ;
    il = i - is;
    if (il == 0) return -1;
    if (i < len && s[i] == '.') {
        for (fs = ++i; i < len && is_digit(s[i]); i++) ;
        fl = i - fs;
        if (fl == 0) return -1;
    }
    if (i != len) return -1;
    while (il > 1 && s[is] == '0') {
        is++;
        il--;
    }
    while (fl && s[fs + fl - 1] == '0') fl--;
    if (il + fl + 3 > outsz) return -1;
    if (neg && !(il == 1 && s[is] == '0' && fl == 0)) out[o++] = '-';
    memcpy(out + o, s + is, il);
    o += il;
    if (fl) {
        out[o++] = '.';
        memcpy(out + o, s + fs, fl);
        o += fl;
    }
    out[o] = '\0';
    return 0;
}

static void set_str(json_t *obj, const char *key, const char *s)
{
    json_t *v = json_string(s);
    if (v) json_object_set_new(obj, key, v);
}

static void coerce_money(json_t *obj, const char *key, json_t *v)
{
    apr_int64_t fen;
    apr_status_t rv;
    char buf[HG_MONEY_BUFSZ];

    if (json_is_integer(v))
        rv = hg_money_from_yuan(&fen, (apr_int64_t)json_integer_value(v));
    else if (json_is_real(v))
        rv = hg_money_from_real(&fen, json_real_value(v));
    else if (json_is_string(v))   /* only strings that already have two decimals: the house rule */
        rv = hg_money_parsen(&fen, json_string_value(v), json_string_length(v),
                             HG_MONEY_EXACT2 | HG_MONEY_ALLOW_NEG);
    else
        return;
    if (rv == APR_SUCCESS) set_str(obj, key, hg_money_format_buf(buf, fen));
}

static void coerce_decimal(json_t *obj, const char *key, json_t *v)
{
    char in[64], out[64];
    apr_size_t n;

    if (json_is_integer(v)) {
        snprintf(in, sizeof(in), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        n = strlen(in);
    }
    else if (json_is_real(v)) {
        snprintf(in, sizeof(in), "%.15g", json_real_value(v));    /* what the HIS wrote; 1e-07 fails */
        n = strlen(in);
    }
    else if (json_is_string(v)) {
        n = json_string_length(v);
        if (n >= sizeof(in)) return;
        memcpy(in, json_string_value(v), n);
        in[n] = '\0';
    }
    else {
        return;
    }
    if (canon_decimal(out, sizeof(out), in, n) == 0) set_str(obj, key, out);
}

static void coerce_integer(json_t *obj, const char *key, json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        apr_size_t n = json_string_length(v), i;
        json_int_t x = 0;
        if (n == 0 || n > 9 || (n > 1 && s[0] == '0')) return;
        for (i = 0; i < n; i++) {
            if (!is_digit(s[i])) return;
            x = x * 10 + (s[i] - '0');
        }
        json_object_set_new(obj, key, json_integer(x));
    }
    else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d >= -1e9 && d <= 1e9 && d == (double)(json_int_t)d)
            json_object_set_new(obj, key, json_integer((json_int_t)d));
    }
}

/* Put obj's members named in fields into canonical form, recursively; see invoice_normalize. */
static void coerce_object(json_t *obj, const hg_field_t *fields)
{
    const hg_field_t *f;
    apr_size_t i;

    for (f = fields; f->name; f++) {
        json_t *v = json_object_get(obj, f->name);
        if (!v) continue;
        switch (f->type) {
        case HG_JT_STRING:
        case HG_JT_DATE:
        case HG_JT_MONEY:
            if (json_is_string(v) && json_string_length(v) == 0) {
                json_object_del(obj, f->name);        /* "" = not given */
            }
            else if (f->type == HG_JT_MONEY) {
                coerce_money(obj, f->name, v);
            }
            else if (f->pattern == DEC_PATTERN) {
                coerce_decimal(obj, f->name, v);
            }
            else if (json_is_integer(v)) {            /* cardNo 440101…, age 36 */
                char buf[32];
                snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                set_str(obj, f->name, buf);
            }
            break;
        case HG_JT_INTEGER:
            coerce_integer(obj, f->name, v);
            break;
        case HG_JT_OBJECT:
            if (json_is_object(v) && f->fields) coerce_object(v, f->fields);
            break;
        case HG_JT_ARRAY:
            if (!json_is_array(v)) break;
            if (json_array_size(v) == 0) {
                json_object_del(obj, f->name);        /* [] = not given */
                break;
            }
            if (f->fields)
                for (i = 0; i < json_array_size(v); i++) {
                    json_t *item = json_array_get(v, i);
                    if (json_is_object(item)) coerce_object(item, f->fields);
                }
            break;
        default:
            break;
        }
    }
}

apr_status_t invoice_normalize(json_t **out, apr_pool_t *p, json_t *data)
{
    json_t *d;
    *out = NULL;
    if (!json_is_object(data)) return HG_EINVALID;
    if (!(d = hg_json_own(p, json_deep_copy(data)))) return APR_ENOMEM;
    coerce_object(d, UNION_SCHEMA);
    *out = d;
    return APR_SUCCESS;
}

apr_status_t invoice_normalize_in_place(json_t *data)
{
    if (!json_is_object(data)) return HG_EINVALID;
    coerce_object(data, UNION_SCHEMA);
    return APR_SUCCESS;
}

apr_status_t invoice_content_hash(char **hex, apr_pool_t *p, json_t *normalized)
{
    unsigned char md[32];
    char *txt;
    apr_status_t rv;

    *hex = NULL;
    if (!(txt = hg_json_dump(p, normalized, HG_JSON_DUMP_SORTED))) return HG_EINVALID;
    if ((rv = hg_sm3(md, txt, strlen(txt))) != APR_SUCCESS) return rv;
    *hex = hg_hex_encode(p, md, sizeof(md), 0);
    return APR_SUCCESS;
}

apr_status_t invoice_total_fen(json_t *data, apr_int64_t *fen)
{
    apr_status_t rv = hg_json_getm(data, fen, "totalAmt", NULL);
    if (rv == APR_NOTFOUND) rv = hg_json_getm(data, fen, "amt", NULL);
    return rv;
}

/* the amounts of a list of lines added up per code: {code: fen}, or with a name field
 * {code: {"name": …, "fen": …}} (the first line's name) */
static apr_status_t sums_by_code(const char **out, apr_pool_t *p, json_t *data, const char *list_name,
                                 const char *code_name, const char *amount_name, const char *name_name)
{
    json_t *list = json_object_get(data, list_name), *sums, *line;
    size_t i;
    apr_status_t rv = APR_SUCCESS;

    *out = "{}";
    if (!json_is_array(list) || !json_array_size(list))
        return APR_SUCCESS;
    sums = json_object();
    json_array_foreach(list, i, line) {
        const char *code = hg_json_gets(line, code_name, NULL);
        json_t *held;
        apr_int64_t fen, sum;
        if (!code) {
            rv = HG_EINVALID;
            break;
        }
        if ((rv = hg_json_getm(line, &fen, amount_name, NULL)))
            break;
        held = json_object_get(sums, code);
        if ((rv = hg_money_add(&sum, json_integer_value(name_name ? json_object_get(held, "fen") : held), fen)))
            break;
        if (!name_name)
            json_object_set_new(sums, code, json_integer(sum));
        else if (held)
            json_object_set_new(held, "fen", json_integer(sum));
        else {
            const char *name = hg_json_gets(line, name_name, NULL);
            json_object_set_new(sums, code, json_pack("{s:s, s:I}", "name", name ? name : "", "fen", (json_int_t)sum));
        }
    }
    if (!rv && !(*out = hg_json_dump(p, sums, HG_JSON_DUMP_SORTED)))
        rv = APR_ENOMEM;
    json_decref(sums);
    return rv == APR_NOTFOUND ? HG_EINVALID : rv;
}

apr_status_t invoice_channels_json(const char **out, apr_pool_t *p, json_t *data)
{
    return sums_by_code(out, p, data, "payChannelDetail", "payChannelCode", "payChannelValue", NULL);
}

apr_status_t invoice_charges_json(const char **out, apr_pool_t *p, json_t *data)
{
    return sums_by_code(out, p, data, "chargeDetail", "chargeCode", "amt", "chargeName");
}

/* ---- sign flips (red bills) ---- */

typedef struct {
    apr_pool_t *p;
    hg_error_t **err;
    int check;          /* red -> blue: every amount and quantity must be <= 0 first */
} flip_ctx;

static const char *join_path(apr_pool_t *p, const char *prefix, const char *name)
{
    return *prefix ? apr_pstrcat(p, prefix, ".", name, NULL) : name;
}

/* Negate the amounts (and quantities, named "number") of obj per fields.  Values not in canonical
 * form are left for the validator.  ownAcBalance is a balance, not a flow: never negated. */
static apr_status_t flip_object(flip_ctx *c, json_t *obj, const hg_field_t *fields, const char *path)
{
    const hg_field_t *f;
    apr_status_t rv;
    apr_size_t i;

    for (f = fields; f->name; f++) {
        json_t *v = json_object_get(obj, f->name);
        if (!v) continue;
        if (f->type == HG_JT_MONEY && strcmp(f->name, "ownAcBalance") != 0) {
            apr_int64_t fen;
            char buf[HG_MONEY_BUFSZ];
            if (!json_is_string(v)
                || hg_money_parse(&fen, json_string_value(v), HG_MONEY_EXACT2 | HG_MONEY_ALLOW_NEG))
                continue;
            if (c->check && fen > 0) {
                if (c->err)
                    *c->err = hg_error_make(c->p, HG_FIELD_MONEY, join_path(c->p, path, f->name),
                                            "a red bill's amounts must be negative or zero, found '%s'",
                                            json_string_value(v));
                return HG_EINVALID;
            }
            set_str(obj, f->name, hg_money_format_buf(buf, -fen));
        }
        else if (f->pattern == DEC_PATTERN && strcmp(f->name, "number") == 0) {
            const char *s;
            char out[64];
            if (!json_is_string(v)) continue;
            s = json_string_value(v);
            if (c->check && s[0] != '-' && strcmp(s, "0") != 0) {
                if (c->err)
                    *c->err = hg_error_make(c->p, HG_FIELD_RANGE, join_path(c->p, path, f->name),
                                            "a red bill's quantities must be negative or zero, found '%s'",
                                            hg_utf8_repair(c->p, s));
                return HG_EINVALID;
            }
            if (s[0] == '-') set_str(obj, f->name, s + 1);
            else if (strcmp(s, "0") != 0) {
                if (strlen(s) + 2 > sizeof(out)) continue;
                out[0] = '-';
                strcpy(out + 1, s);
                set_str(obj, f->name, out);
            }
        }
        else if (f->type == HG_JT_ARRAY && f->fields && json_is_array(v)) {
            for (i = 0; i < json_array_size(v); i++) {
                json_t *item = json_array_get(v, i);
                if (!json_is_object(item)) continue;
                rv = flip_object(c, item, f->fields,
                                 apr_psprintf(c->p, "%s[%" APR_SIZE_T_FMT "]",
                                              join_path(c->p, path, f->name), i));
                if (rv != APR_SUCCESS) return rv;
            }
        }
        else if (f->type == HG_JT_OBJECT && f->fields && json_is_object(v)) {
            if ((rv = flip_object(c, v, f->fields, join_path(c->p, path, f->name))) != APR_SUCCESS)
                return rv;
        }
    }
    return APR_SUCCESS;
}

/* ---- validation ---- */

static apr_status_t failf(apr_pool_t *p, hg_error_t **err, const char *code, const char *field,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static apr_status_t failf(apr_pool_t *p, hg_error_t **err, const char *code, const char *field,
                          const char *fmt, ...)
{
    va_list ap;
    char *msg;
    va_start(ap, fmt);
    msg = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    if (err) *err = hg_error_make(p, code, field, "%s", msg);
    return HG_EINVALID;
}

/* an amount of a validated object; absent -> 0 */
static apr_int64_t amount(json_t *o, const char *key)
{
    apr_int64_t fen = 0;
    if (hg_json_getm(o, &fen, key, NULL) != APR_SUCCESS) fen = 0;
    return fen;
}

static apr_status_t sum_list(apr_int64_t *sum, json_t *arr, const char *member)
{
    apr_size_t i;
    *sum = 0;
    for (i = 0; i < json_array_size(arr); i++)
        if (hg_money_add(sum, *sum, amount(json_array_get(arr, i), member)) != APR_SUCCESS)
            return HG_EOVERFLOW;
    return APR_SUCCESS;
}

/* rules 1-3 of the header for one list: Σ list[].member = total */
static apr_status_t check_sum(apr_pool_t *p, hg_error_t **err, json_t *d, const char *list,
                              const char *member, const char *total_name, apr_int64_t total,
                              const char *code, const char *note)
{
    json_t *arr = json_object_get(d, list);
    apr_int64_t sum;
    if (!json_is_array(arr)) return APR_SUCCESS;
    if (sum_list(&sum, arr, member) != APR_SUCCESS)
        return failf(p, err, HG_FIELD_MONEY, list, "%s%s[].%s add up beyond the range of an amount",
                     note, list, member);
    if (sum != total)
        return failf(p, err, code, list, "%sthe %s[].%s add up to %s but %s is %s (difference %s)", note,
                     list, member, hg_money_format(p, sum), total_name, hg_money_format(p, total),
                     hg_money_format(p, sum - total));
    return APR_SUCCESS;
}

static apr_status_t cross_check(apr_pool_t *p, invoice_kind_t kind, json_t *d, int red, hg_error_t **err)
{
    const char *note = red ? "red bill, signs flipped: " : "";
    const char *total_name = kind == INV_PREPAYMENT ? "amt" : "totalAmt";
    apr_int64_t total = amount(d, total_name), a, b, s1, s2;
    apr_status_t rv;

    if (kind == INV_PREPAYMENT)
        return check_sum(p, err, d, "payChannelDetail", "payChannelValue", total_name, total,
                         HG_INVOICE_SUM_PAYCHANNEL, note);

    if ((rv = check_sum(p, err, d, "chargeDetail", "amt", total_name, total, HG_INVOICE_SUM_CHARGE,
                        note)) != APR_SUCCESS
        || (rv = check_sum(p, err, d, "listDetail", "amt", total_name, total, HG_INVOICE_SUM_LIST,
                           note)) != APR_SUCCESS
        || (rv = check_sum(p, err, d, "payChannelDetail", "payChannelValue", total_name, total,
                           HG_INVOICE_SUM_PAYCHANNEL, note)) != APR_SUCCESS)
        return rv;

    /* 4. who paid: funds + personal account + cash = total */
    {
        apr_int64_t fund = amount(d, "fundPay"), other = amount(d, "otherfundPay");
        apr_int64_t acct = amount(d, "accountPay"), cash = amount(d, "selfCashPay");
        if (hg_money_add(&a, fund, other) || hg_money_add(&a, a, acct) || hg_money_add(&s1, a, cash))
            return failf(p, err, HG_FIELD_MONEY, "selfCashPay", "%sthe split adds up beyond the range of "
                         "an amount", note);
        if (s1 != total)
            return failf(p, err, HG_INVOICE_SPLIT, "selfCashPay",
                         "%sfundPay %s + otherfundPay %s + accountPay %s + selfCashPay %s = %s, but "
                         "totalAmt is %s (统筹+其它医保+个人账户+个人现金 must equal the total)", note,
                         hg_money_format(p, fund), hg_money_format(p, other), hg_money_format(p, acct),
                         hg_money_format(p, cash), hg_money_format(p, s1), hg_money_format(p, total));

        /* 5. the patient's burden = what the patient paid */
        {
            apr_int64_t own = amount(d, "ownPay"), conc = amount(d, "selfConceitedAmt");
            apr_int64_t selfp = amount(d, "selfPayAmt");
            if (hg_money_add(&b, own, conc) || hg_money_add(&s2, b, selfp) || hg_money_add(&a, acct, cash))
                return failf(p, err, HG_FIELD_MONEY, "ownPay", "%sthe split adds up beyond the range of "
                             "an amount", note);
            if (s2 != a)
                return failf(p, err, HG_INVOICE_SPLIT, "ownPay",
                             "%sownPay %s + selfConceitedAmt %s + selfPayAmt %s = %s, but accountPay %s + "
                             "selfCashPay %s = %s (个人自费+自负+自付 must equal 个人账户+个人现金)", note,
                             hg_money_format(p, own), hg_money_format(p, conc), hg_money_format(p, selfp),
                             hg_money_format(p, s2), hg_money_format(p, acct), hg_money_format(p, cash),
                             hg_money_format(p, a));
        }
    }

    /* 6. a stay ends after it starts (both are valid yyyy-MM-dd here, so text order is date order) */
    if (kind == INV_INPATIENT) {
        const char *in = hg_json_gets(d, "inHospitalDate", NULL), *out = hg_json_gets(d, "outHospitalDate", NULL);
        if (in && out && strcmp(out, in) < 0)
            return failf(p, err, HG_FIELD_DATE, "outHospitalDate",
                         "outHospitalDate %s is before inHospitalDate %s", out, in);
    }
    return APR_SUCCESS;
}

static apr_status_t validate(apr_pool_t *p, invoice_kind_t kind, json_t *data, int red, int in_place,
                             hg_error_t **err)
{
    json_t *d;
    apr_status_t rv;

    if (err) *err = NULL;
    if (!kind_ok(kind)) {
        if (err) *err = hg_error_make(p, HG_INTERNAL, NULL, "unknown bill kind %d", (int)kind);
        return APR_EINVAL;
    }
    if (!json_is_object(data)) {
        if (err) *err = hg_error_make(p, HG_JSON_NOT_OBJECT, NULL, "the bill data must be a JSON object");
        return HG_EINVALID;
    }
    /* check a canonical copy: the HIS may send 12.3 or "12.30", and data stays untouched
     * (unless the caller has no use for it as it came) */
    if (!(d = in_place ? data : hg_json_own(p, json_deep_copy(data)))) return APR_ENOMEM;
    coerce_object(d, SCHEMAS[kind]);

    if (red) {
        /* undo invoice_make_red_data, then the blue rules apply unchanged */
        const char *bus = hg_json_gets(d, "busNo", NULL);
        flip_ctx c = { p, err, 1 };
        if (!bus)
            return failf(p, err, HG_FIELD_REQUIRED, "busNo", "field is required");
        if (strncmp(bus, INVOICE_RED_PREFIX, strlen(INVOICE_RED_PREFIX)) != 0)
            return failf(p, err, HG_FIELD_PATTERN, "busNo", "a red bill's busNo starts with %s, found '%s'",
                         INVOICE_RED_PREFIX, hg_utf8_repair(p, bus));
        set_str(d, "busNo", bus + strlen(INVOICE_RED_PREFIX));
        if ((rv = flip_object(&c, d, SCHEMAS[kind], "")) != APR_SUCCESS) return rv;
    }

    if ((rv = hg_json_validate(p, d, SCHEMAS[kind], err)) != APR_SUCCESS) return rv;
    return cross_check(p, kind, d, red, err);
}

apr_status_t invoice_validate(apr_pool_t *p, invoice_kind_t kind, json_t *data, hg_error_t **err)
{
    return validate(p, kind, data, 0, 0, err);
}

apr_status_t invoice_validate_in_place(apr_pool_t *p, invoice_kind_t kind, json_t *data, hg_error_t **err)
{
    return validate(p, kind, data, 0, 1, err);
}

apr_status_t invoice_validate_red(apr_pool_t *p, invoice_kind_t kind, json_t *data, hg_error_t **err)
{
    return validate(p, kind, data, 1, 0, err);
}

/* ---- red bill ---- */

/* s is non-empty valid UTF-8 of at most max code points */
static int text_ok(const char *s, apr_size_t max)
{
    apr_size_t n;
    return s && *s && hg_utf8_count(&n, s, strlen(s)) == APR_SUCCESS && n <= max;
}

apr_status_t invoice_make_red_data(json_t **red, apr_pool_t *p, json_t *orig_normalized,
                                   const char *reason, const char *operator_,
                                   const char *bus_date_time)
{
    flip_ctx c = { p, NULL, 0 };
    const char *bus;
    json_t *d;
    apr_status_t rv;

    *red = NULL;
    if (!json_is_object(orig_normalized)) return HG_EINVALID;
    bus = hg_json_gets(orig_normalized, "busNo", NULL);
    if (!bus || !*bus || strchr(bus, '~')) return HG_EINVALID;       /* no busNo, or already red */
    if (!text_ok(reason, INVOICE_RED_REASON_MAX) || !text_ok(operator_, INVOICE_RED_OPERATOR_MAX) || !bus_date_time
        || hg_date_parse(NULL, bus_date_time, strlen(bus_date_time), HG_DATE_TS17, NULL) != APR_SUCCESS)
        return HG_EINVALID;

    if (!(d = hg_json_own(p, json_deep_copy(orig_normalized)))) return APR_ENOMEM;
    coerce_object(d, UNION_SCHEMA);                   /* idempotent on normalized data */
    if ((rv = flip_object(&c, d, UNION_SCHEMA, "")) != APR_SUCCESS) return rv;
    json_object_del(d, "ownAcBalance");
    if ((rv = hg_json_sets(d, "busNo", apr_pstrcat(p, INVOICE_RED_PREFIX, bus, NULL))) != APR_SUCCESS
        || (rv = hg_json_sets(d, "busDateTime", bus_date_time)) != APR_SUCCESS
        || (rv = hg_json_sets(d, "payee", operator_)) != APR_SUCCESS
        || (rv = hg_json_sets(d, "author", operator_)) != APR_SUCCESS
        || (rv = hg_json_sets(d, "remark", apr_pstrcat(p, "冲红原因：", reason, NULL))) != APR_SUCCESS)
        return rv;
    *red = d;
    return APR_SUCCESS;
}

/* ---- document and seal ---- */

apr_status_t invoice_make_doc(json_t **doc, apr_pool_t *p, invoice_kind_t kind, const char *institution,
                              const char *institution_name, const char *bill_batch_code,
                              const char *bill_no, const char *random, const char *create_time,
                              int is_scarlet, const char *orig_code, const char *orig_no,
                              json_t *normalized_data)
{
    json_t *d;
    apr_status_t rv;
    int related = orig_code && *orig_code && orig_no && *orig_no;

    *doc = NULL;
    if (!kind_ok(kind) || !text_ok(institution, 100) || !text_ok(institution_name, 200)
        || !text_ok(bill_batch_code, 50) || !text_ok(bill_no, 20) || !text_ok(random, 20)
        || !create_time
        || hg_date_parse(NULL, create_time, strlen(create_time), HG_DATE_TS17, NULL) != APR_SUCCESS
        || (is_scarlet && !related) || !json_is_object(normalized_data))
        return HG_EINVALID;
    if (related && (!text_ok(orig_code, 50) || !text_ok(orig_no, 20))) return HG_EINVALID;

    if (!(d = hg_json_object(p))) return APR_ENOMEM;
    if ((rv = hg_json_sets(d, "institution", institution)) != APR_SUCCESS
        || (rv = hg_json_sets(d, "institutionName", institution_name)) != APR_SUCCESS
        || (rv = hg_json_sets(d, "kind", invoice_kind_code(kind))) != APR_SUCCESS
        || (rv = hg_json_sets(d, "title", invoice_title(p, kind, institution))) != APR_SUCCESS
        || (rv = hg_json_sets(d, "billBatchCode", bill_batch_code)) != APR_SUCCESS
        || (rv = hg_json_sets(d, "billNo", bill_no)) != APR_SUCCESS
        || (rv = hg_json_sets(d, "random", random)) != APR_SUCCESS
        || (rv = hg_json_sets(d, "createTime", create_time)) != APR_SUCCESS
        || (rv = hg_json_setb(d, "isScarlet", is_scarlet != 0)) != APR_SUCCESS)
        return rv;
    if (related) {
        json_t *r = json_object();
        if (!r) return APR_ENOMEM;
        if ((rv = hg_json_set_new(d, "relatedBill", r)) != APR_SUCCESS
            || (rv = hg_json_sets(r, "billBatchCode", orig_code)) != APR_SUCCESS
            || (rv = hg_json_sets(r, "billNo", orig_no)) != APR_SUCCESS)
            return rv;
    }
    /* shared, not copied: the bill's data is final once normalized (a copy cost a tenth of an issue) */
    if ((rv = hg_json_set_new(d, "data", json_incref(normalized_data))) != APR_SUCCESS) return rv;
    *doc = d;
    return APR_SUCCESS;
}

apr_status_t invoice_upload_data(json_t **up, apr_pool_t *p, json_t *doc, const char *seal_b64)
{
    json_t *u, *data = json_object_get(doc, "data"), *scarlet = json_object_get(doc, "isScarlet"),
           *related = json_object_get(doc, "relatedBill");
    const char *code = hg_json_gets(doc, "billBatchCode", NULL), *no = hg_json_gets(doc, "billNo", NULL),
               *random = hg_json_gets(doc, "random", NULL), *ctime = hg_json_gets(doc, "createTime", NULL);
    *up = NULL;
    if (!json_is_object(data) || !json_is_boolean(scarlet) || !code || !no || !random || !ctime
        || !seal_b64 || !*seal_b64 || (json_is_true(scarlet) && !json_is_object(related)))
        return HG_EINVALID;
    if (!(u = hg_json_own(p, json_pack("{s:s, s:s, s:s, s:s, s:O, s:s, s:O}", "billBatchCode", code, "billNo", no,
                                       "random", random, "createTime", ctime, "isScarlet", scarlet,
                                       "sealSignature", seal_b64, "data", data))))
        return APR_ENOMEM;
    /* and the rest of what the seal signs, so that the platform can check the seal from the upload
     * alone (the upload without sealSignature is the sealed document) */
    {
        static const char *const signed_too[] = { "institution", "institutionName", "kind", "title", NULL };
        int i;
        for (i = 0; signed_too[i]; i++)
            if (json_object_get(doc, signed_too[i]) && json_object_set(u, signed_too[i], json_object_get(doc, signed_too[i])))
                return APR_ENOMEM;
    }
    if (json_is_true(scarlet) && json_object_set(u, "relatedBill", related))
        return APR_ENOMEM;
    *up = u;
    return APR_SUCCESS;
}

apr_status_t invoice_seal(char **sig_b64, apr_pool_t *p, hg_pkey_t *key, json_t *doc)
{
    char *txt;
    *sig_b64 = NULL;
    if (!doc || !(txt = hg_json_dump(p, doc, HG_JSON_DUMP_SORTED))) return HG_EINVALID;
    return invoice_seal_text(sig_b64, p, key, txt);
}

apr_status_t invoice_seal_text(char **sig_b64, apr_pool_t *p, hg_pkey_t *key, const char *txt)
{
    unsigned char *der, raw[64];
    apr_size_t dlen;
    apr_status_t rv;

    *sig_b64 = NULL;
    if (!txt) return HG_EINVALID;
    if ((rv = hg_sm2_sign(&der, &dlen, p, key, NULL, txt, strlen(txt))) != APR_SUCCESS) return rv;
    if ((rv = hg_sm2_sig_der_to_raw(raw, der, dlen)) != APR_SUCCESS) return HG_ECRYPTO;
    *sig_b64 = hg_base64_encode(p, raw, sizeof(raw));
    return APR_SUCCESS;
}

apr_status_t invoice_seal_verify(hg_pkey_t *pub, json_t *doc, const char *sig_b64)
{
    unsigned char raw[64], *der;
    apr_size_t n, dlen;
    apr_pool_t *tmp;
    char *txt;
    apr_status_t rv;

    if (!doc) return HG_EINVALID;
    if (!sig_b64 || hg_base64_decode_buf(raw, sizeof(raw), &n, sig_b64, 0) != APR_SUCCESS || n != sizeof(raw))
        return HG_EBADSIG;
    /* no pool in the signature: a short-lived one for the canonical text */
    if ((rv = apr_pool_create(&tmp, NULL)) != APR_SUCCESS) return rv;
    if (!(txt = hg_json_dump(tmp, doc, HG_JSON_DUMP_SORTED)))
        rv = HG_EINVALID;
    else if (hg_sm2_sig_raw_to_der(&der, &dlen, tmp, raw) != APR_SUCCESS)
        rv = HG_EBADSIG;
    else
        rv = hg_sm2_verify(pub, NULL, txt, strlen(txt), der, dlen);
    apr_pool_destroy(tmp);
    return rv;
}

/* ---- identifiers ---- */

apr_status_t invoice_check_code(char out[7])
{
    /* hg_random_string's method without its pool: bytes >= 252 (7 x 36) are rejected, so b % 36 is
     * uniform */
    static const char ALPHA[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    unsigned char rnd[32];
    apr_size_t i = 0, j = sizeof(rnd);
    apr_status_t rv;

    while (i < 6) {
        if (j == sizeof(rnd)) {
            if ((rv = hg_random_bytes(rnd, sizeof(rnd))) != APR_SUCCESS) {
                out[0] = '\0';
                return rv;
            }
            j = 0;
        }
        if (rnd[j] < 252) out[i++] = ALPHA[rnd[j] % 36];
        j++;
    }
    out[6] = '\0';
    return APR_SUCCESS;
}

apr_status_t invoice_format_bill_no(char out[11], apr_int64_t n)
{
    if (n < 0 || n > APR_INT64_C(9999999999)) {
        out[0] = '\0';
        return HG_EINVALID;
    }
    snprintf(out, 11, "%010" APR_INT64_T_FMT, n);
    return APR_SUCCESS;
}

apr_status_t invoice_format_paper_no(char out[11], apr_int64_t n)
{
    return invoice_format_bill_no(out, n);
}

static int all_digits(const char *s, apr_size_t len)
{
    apr_size_t i;
    if (!s) return 0;
    for (i = 0; i < len; i++)
        if (!is_digit(s[i])) return 0;
    return s[len] == '\0';
}

int invoice_valid_batch_code(const char *s) { return all_digits(s, 8); }

int invoice_issue_lane(const char *place_code, int lanes)
{
    apr_uint32_t h = 2166136261u;
    const unsigned char *c;
    if (lanes < 2 || !place_code)
        return 0;
    for (c = (const unsigned char *)place_code; *c; c++)
        h = (h ^ *c) * 16777619u;
    return (int)(h % (apr_uint32_t)lanes);
}
int invoice_valid_bill_no(const char *s)    { return all_digits(s, 10); }

/* ---- masks ---- */

/* s (valid UTF-8) with all but the first `head` and last `tail` characters replaced by '*' */
static const char *mask_chars(apr_pool_t *p, const char *s, apr_size_t head, apr_size_t tail)
{
    apr_size_t n = 0, i, k, hb, tb, len = strlen(s);
    char *out, *o;

    for (i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    if (head + tail > n) head = tail = 0;
    /* byte offset after `head` characters, and of the last `tail` characters */
    for (hb = 0, k = 0; hb < len && k < head; k++)
        for (hb++; hb < len && ((unsigned char)s[hb] & 0xC0) == 0x80; hb++) ;
    for (tb = len, k = 0; tb > 0 && k < tail; k++)
        for (tb--; tb > 0 && ((unsigned char)s[tb] & 0xC0) == 0x80; tb--) ;
    o = out = apr_palloc(p, hb + (n - head - tail) + (len - tb) + 1);
    memcpy(o, s, hb);
    o += hb;
    for (k = 0; k < n - head - tail; k++) *o++ = '*';
    memcpy(o, s + tb, len - tb);
    o[len - tb] = '\0';
    return out;
}

static apr_size_t nchars(const char *s)
{
    apr_size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

const char *invoice_mask_name(apr_pool_t *p, const char *utf8)
{
    apr_size_t n;
    if (!utf8) return NULL;
    utf8 = hg_utf8_repair(p, utf8);
    n = nchars(utf8);
    if (n <= 1) return mask_chars(p, utf8, 0, 0);
    if (n == 2) return mask_chars(p, utf8, 1, 0);
    return mask_chars(p, utf8, 1, 1);
}

static const char *mask_short(apr_pool_t *p, const char *s, apr_size_t n)
{
    return mask_chars(p, s, 0, n / 3);
}

const char *invoice_mask_id(apr_pool_t *p, const char *id)
{
    apr_size_t n;
    if (!id) return NULL;
    id = hg_utf8_repair(p, id);
    n = nchars(id);
    return n >= 11 ? mask_chars(p, id, 6, 4) : mask_short(p, id, n);
}

const char *invoice_mask_phone(apr_pool_t *p, const char *tel)
{
    apr_size_t n;
    if (!tel) return NULL;
    tel = hg_utf8_repair(p, tel);
    n = nchars(tel);
    if (n >= 11) return mask_chars(p, tel, 3, 4);
    if (n >= 7) return mask_chars(p, tel, 0, 4);
    return mask_short(p, tel, n);
}

const char *invoice_mask_email(apr_pool_t *p, const char *addr)
{
    const char *at;
    if (!addr) return NULL;
    addr = hg_utf8_repair(p, addr);
    if (!(at = strrchr(addr, '@')) || at == addr)
        return mask_short(p, addr, nchars(addr));
    return apr_pstrcat(p, apr_pstrndup(p, addr, 1), "***", at, NULL);
}

const char *invoice_mask_card(apr_pool_t *p, const char *card)
{
    apr_size_t n;
    if (!card) return NULL;
    card = hg_utf8_repair(p, card);
    n = nchars(card);
    return mask_chars(p, card, 0, n > 4 ? 4 : 0);
}

/* ---- offline tokens ---- */

/* base64url of the first 12 MAC bytes = the first 16 characters of base64url of all 32 */
static apr_status_t offline_token(char out[INVOICE_OFFLINE_TOKEN_LEN + 1], const unsigned char key[16],
                                  const char *institution, const char *bus_no)
{
    static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char mac[32];
    hg_iov_t iov[3];
    apr_status_t rv;
    int i, o = 0;

    if (!key || !institution || !*institution || !bus_no || !*bus_no || strchr(institution, ':'))
        return HG_EINVALID;
    iov[0].d = institution;
    iov[0].n = strlen(institution);
    iov[1].d = ":";
    iov[1].n = 1;
    iov[2].d = bus_no;
    iov[2].n = strlen(bus_no);
    if ((rv = hg_hmac_sm3_v(mac, key, 16, iov, 3)) != APR_SUCCESS) return rv;
    for (i = 0; i < 12; i += 3) {
        unsigned v = (unsigned)mac[i] << 16 | (unsigned)mac[i + 1] << 8 | mac[i + 2];
        out[o++] = B64URL[(v >> 18) & 63];
        out[o++] = B64URL[(v >> 12) & 63];
        out[o++] = B64URL[(v >> 6) & 63];
        out[o++] = B64URL[v & 63];
    }
    out[o] = '\0';
    return APR_SUCCESS;
}

apr_status_t invoice_offline_token(char **tok, apr_pool_t *p, const unsigned char key[16],
                                   const char *institution, const char *bus_no)
{
    char buf[INVOICE_OFFLINE_TOKEN_LEN + 1];
    apr_status_t rv;
    *tok = NULL;
    if ((rv = offline_token(buf, key, institution, bus_no)) != APR_SUCCESS) return rv;
    *tok = apr_pstrdup(p, buf);
    return APR_SUCCESS;
}

int invoice_offline_token_check(const unsigned char key[16], const char *institution,
                                const char *bus_no, const char *tok)
{
    char want[INVOICE_OFFLINE_TOKEN_LEN + 1];
    if (!tok || strlen(tok) != INVOICE_OFFLINE_TOKEN_LEN) return 0;   /* the length is no secret */
    if (offline_token(want, key, institution, bus_no) != APR_SUCCESS) return 0;
    return hg_ct_equal(want, tok, INVOICE_OFFLINE_TOKEN_LEN);
}

/* ---- the HIS's list of e-bills not yet exchanged for paper (getEBillUnPrintList) ---- */

static const hg_field_t LIST_SCHEMA[] = {
    DATE("busBgnDate", R, HG_DATE_TS17),
    DATE("busEndDate", R, HG_DATE_TS17),
    STR("cardType", 0, 20),
    STR("cardNo", R, 50),
    STR("patientId", 0, 50),
    { .name = "pageNo", .type = HG_JT_ANY },
    { .name = "pageSize", .type = HG_JT_ANY },
    HG_FIELDS_END
};

/* a page number or size as Bosi clients send it: a JSON integer, or a string of digits */
static apr_status_t page_value(int *out, apr_pool_t *p, json_t *req, const char *name, int dflt, int max,
                               hg_error_t **err)
{
    json_t *v = json_object_get(req, name);
    const char *s;
    apr_int64_t n = 0;
    if (!v || json_is_null(v)) {
        *out = dflt;
        return APR_SUCCESS;
    }
    if (json_is_integer(v))
        n = json_integer_value(v);
    else if (json_is_string(v) && (s = json_string_value(v))[0] && strlen(s) <= 9
             && strspn(s, "0123456789") == strlen(s))
        n = apr_atoi64(s);
    else {
        *err = hg_error_make(p, HG_FIELD_TYPE, name, "%s: an integer (or a string of digits)", name);
        return HG_EINVALID;
    }
    if (n < 1 || n > max) {
        *err = hg_error_make(p, HG_FIELD_RANGE, name, "%s: 1 to %d", name, max);
        return HG_EINVALID;
    }
    *out = (int)n;
    return APR_SUCCESS;
}

apr_status_t invoice_list_query(invoice_list_query_t *q, apr_pool_t *p, json_t *req, hg_error_t **err)
{
    apr_time_exp_t b, e;
    apr_time_t tb, te;
    apr_status_t rv;
    memset(q, 0, sizeof(*q));
    if ((rv = hg_json_validate(p, req, LIST_SCHEMA, err)) != APR_SUCCESS
        || (rv = page_value(&q->page_no, p, req, "pageNo", 1, INVOICE_LIST_MAX_PAGE, err)) != APR_SUCCESS
        || (rv = page_value(&q->page_size, p, req, "pageSize", INVOICE_LIST_PAGE, INVOICE_LIST_MAX_PAGE_SIZE,
                            err)) != APR_SUCCESS)
        return rv;
    q->begin = hg_json_gets(req, "busBgnDate", NULL);
    q->end = hg_json_gets(req, "busEndDate", NULL);
    q->card_type = hg_json_gets(req, "cardType", NULL);
    q->card_no = hg_json_gets(req, "cardNo", NULL);
    q->patient_id = hg_json_gets(req, "patientId", NULL);
    if (q->card_type && !*q->card_type) q->card_type = NULL;
    if (q->patient_id && !*q->patient_id) q->patient_id = NULL;
    /* validated above: both parse */
    hg_date_parse(&b, q->begin, strlen(q->begin), HG_DATE_TS17, NULL);
    hg_date_parse(&e, q->end, strlen(q->end), HG_DATE_TS17, NULL);
    if (apr_time_exp_gmt_get(&tb, &b) != APR_SUCCESS || apr_time_exp_gmt_get(&te, &e) != APR_SUCCESS)
        return HG_EINVALID;
    if (te < tb) {
        *err = hg_error_make(p, HG_FIELD_RANGE, "busEndDate", "busEndDate is before busBgnDate");
        return HG_EINVALID;
    }
    if (te - tb > apr_time_from_sec((apr_time_t)INVOICE_LIST_MAX_DAYS * 86400)) {
        *err = hg_error_make(p, HG_FIELD_RANGE, "busEndDate", "at most %d days from busBgnDate",
                             INVOICE_LIST_MAX_DAYS);
        return HG_EINVALID;
    }
    return APR_SUCCESS;
}

int invoice_list_match(const invoice_list_query_t *q, json_t *doc)
{
    json_t *data = json_object_get(doc, "data");
    const char *when = hg_json_gets(data, "busDateTime", NULL), *card_type = hg_json_gets(data, "cardType", NULL),
               *patient_id = hg_json_gets(data, "patientId", NULL);
    /* yyyyMMddHHmmssSSS on both sides: the text order is the time order */
    if (!when || strlen(when) != 17 || strcmp(when, q->begin) < 0 || strcmp(when, q->end) > 0)
        return 0;
    if (q->card_type && (!card_type || strcmp(card_type, q->card_type)))
        return 0;
    if (q->patient_id && (!patient_id || strcmp(patient_id, q->patient_id)))
        return 0;
    return 1;
}
