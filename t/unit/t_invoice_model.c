/* Unit tests for mod_invoice/invoice_model (kinds, titles, validation, canonical form, documents and
 * seals, red bills, identifiers, masks, offline tokens). */
#include <stdlib.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "tap.h"
#include "hg_err.h"
#include "hg_json.h"
#include "hg_money.h"
#include "hg_crypto.h"
#include "invoice_model.h"

static apr_pool_t *pool;

/* A realistic outpatient settlement at a Guangdong township health centre: 368.50 in all, of which
 * 200.00 from the basic fund, 50.00 from the personal account and 118.50 in cash; the patient's burden
 * 40.00 自费 + 128.50 自付 = 168.50 = 50.00 + 118.50. */
static const char *OUTPATIENT =
    "{\"busNo\":\"OP20260315000123\",\"busType\":\"02\",\"payer\":\"张三\","
    "\"busDateTime\":\"20260315093012123\",\"placeCode\":\"MZ01\",\"payee\":\"李收费\",\"author\":\"李收费\","
    "\"totalAmt\":\"368.50\",\"remark\":\"\",\"tel\":\"13812345678\",\"payerType\":\"1\","
    "\"idCardNo\":\"440101199001011234\",\"cardType\":\"1101\",\"cardNo\":\"440101199001011234\","
    "\"medicalInstitution\":\"乡镇卫生院\",\"medCareTypeCode\":\"11\",\"medicalCareType\":\"普通门诊\","
    "\"patientCategory\":\"全科\",\"patientCategoryCode\":\"0101\",\"patientId\":\"P0001234\","
    "\"patientNo\":\"MZ20260315001\",\"consultationDate\":\"2026-03-15\",\"sex\":\"男\",\"age\":\"36\","
    "\"accountPay\":\"50.00\",\"fundPay\":\"200.00\",\"otherfundPay\":\"0.00\",\"ownPay\":\"40.00\","
    "\"selfConceitedAmt\":\"0.00\",\"selfPayAmt\":\"128.50\",\"selfCashPay\":\"118.50\","
    "\"payChannelDetail\":["
    "{\"payChannelCode\":\"02\",\"payChannelValue\":\"118.50\"},"
    "{\"payChannelCode\":\"YBK\",\"payChannelValue\":\"50.00\"},"
    "{\"payChannelCode\":\"YBTCJJ\",\"payChannelValue\":\"200.00\"}],"
    "\"isArrears\":\"1\","
    "\"chargeDetail\":["
    "{\"sortNo\":1,\"chargeCode\":\"01\",\"chargeName\":\"西药费\",\"unit\":\"项\",\"std\":\"40\",\"number\":\"3\","
    "\"amt\":\"120.00\",\"selfAmt\":\"20.00\"},"
    "{\"sortNo\":2,\"chargeCode\":\"05\",\"chargeName\":\"检查费\",\"std\":\"150\",\"number\":\"1\","
    "\"amt\":\"150.00\",\"selfAmt\":\"20.00\"},"
    "{\"sortNo\":3,\"chargeCode\":\"06\",\"chargeName\":\"治疗费\",\"std\":\"30\",\"number\":\"2\","
    "\"amt\":\"60.00\",\"selfAmt\":\"0.00\"},"
    "{\"sortNo\":4,\"chargeCode\":\"07\",\"chargeName\":\"化验费\",\"std\":\"28.5\",\"number\":\"1\","
    "\"amt\":\"28.50\",\"selfAmt\":\"0.00\"},"
    "{\"sortNo\":5,\"chargeCode\":\"10\",\"chargeName\":\"挂号费\",\"std\":\"10\",\"number\":\"1\","
    "\"amt\":\"10.00\",\"selfAmt\":\"0.00\"}],"
    "\"listDetail\":["
    "{\"listDetailNo\":\"1\",\"chargeCode\":\"01\",\"chargeName\":\"西药费\",\"code\":\"XA01\","
    "\"name\":\"阿莫西林胶囊\",\"specification\":\"0.25g*24粒\",\"unit\":\"盒\",\"std\":\"40\",\"number\":\"3\","
    "\"amt\":\"120.00\",\"selfAmt\":\"20.00\",\"medicalCareType\":\"1\"},"
    "{\"chargeCode\":\"05\",\"name\":\"CT平扫\",\"std\":\"150\",\"number\":\"1\",\"amt\":\"150.00\",\"selfAmt\":\"20.00\"},"
    "{\"chargeCode\":\"06\",\"name\":\"针灸\",\"std\":\"30\",\"number\":\"2\",\"amt\":\"60.00\",\"selfAmt\":\"0.00\"},"
    "{\"chargeCode\":\"07\",\"name\":\"血常规\",\"std\":\"28.5\",\"number\":\"1\",\"amt\":\"28.50\",\"selfAmt\":\"0.00\"},"
    "{\"chargeCode\":\"10\",\"name\":\"普通门诊诊查费\",\"std\":\"10\",\"number\":\"1\",\"amt\":\"10.00\","
    "\"selfAmt\":\"0.00\"}]}";

static const char *PREPAYMENT =
    "{\"busNo\":\"YJ20260315000007\",\"busType\":\"07\",\"payer\":\"王五\",\"busDateTime\":\"20260315101500000\","
    "\"placeCode\":\"ZY01\",\"payee\":\"赵收费\",\"drawee\":\"王小五\",\"author\":\"赵收费\",\"cardType\":\"1101\","
    "\"cardNo\":\"440101198001011234\",\"amt\":\"2000.00\",\"ownAcBalance\":\"2000.00\",\"category\":\"内科\","
    "\"inHospitalDate\":\"2026-03-15\",\"hospitalNo\":\"ZY0009\",\"visitNo\":\"V0009\","
    "\"payChannelDetail\":[{\"payChannelCode\":\"05\",\"payChannelValue\":\"1500.00\"},"
    "{\"payChannelCode\":\"02\",\"payChannelValue\":\"500.00\"}]}";

static json_t *parse(const char *text)
{
    json_t *j = NULL;
    hg_error_t *e;
    if (hg_json_parse(&j, pool, text, strlen(text), 0, &e) != APR_SUCCESS) {
        tap_diag("test JSON does not parse: %s", e->message);
        exit(2);
    }
    return j;
}

static json_t *copy(json_t *j)
{
    return hg_json_own(pool, json_deep_copy(j));
}

static json_t *item(json_t *j, const char *list, size_t i)
{
    return json_array_get(json_object_get(j, list), i);
}

static void set(json_t *obj, const char *key, const char *s)
{
    json_object_set_new(obj, key, json_string(s));
}

static int has(const char *hay, const char *needle)
{
    return hay && needle && strstr(hay, needle) != NULL;
}

/* an outpatient copy turned into a valid inpatient bill */
static json_t *inpatient_of(json_t *op)
{
    json_t *d = copy(op);
    set(d, "busNo", "IP20260320000456");
    set(d, "busType", "01");
    set(d, "hospitalNo", "ZY0001");
    set(d, "visitNo", "V0001");
    set(d, "inHospitalDate", "2026-03-10");
    set(d, "outHospitalDate", "2026-03-20");
    set(d, "hospitalDays", "10");
    set(d, "bedNo", "12");
    json_object_del(d, "consultationDate");
    return d;
}

static void v_ok(invoice_kind_t kind, json_t *d, const char *what)
{
    hg_error_t *err = NULL;
    apr_status_t rv = invoice_validate(pool, kind, d, &err);
    if (!tap_ok(rv == APR_SUCCESS && err == NULL, "accepted: %s", what) && err)
        tap_diag("got %s at '%s': %s", err->code, err->field ? err->field : "", err->message);
}

static hg_error_t *v_bad_ex(int red, invoice_kind_t kind, json_t *d, const char *code, const char *field,
                            const char *what)
{
    hg_error_t *err = NULL;
    apr_status_t rv = red ? invoice_validate_red(pool, kind, d, &err) : invoice_validate(pool, kind, d, &err);
    int good = rv == HG_EINVALID && err && strcmp(err->code, code) == 0 && err->field
               && strcmp(err->field, field) == 0;
    if (!tap_ok(good, "%s -> %s at %s", what, code, field))
        tap_diag("rv %d, got %s at '%s': %s", (int)rv, err ? err->code : "-",
                 err && err->field ? err->field : "", err ? err->message : "-");
    return err;
}

static hg_error_t *v_bad(invoice_kind_t kind, json_t *d, const char *code, const char *field, const char *what)
{
    return v_bad_ex(0, kind, d, code, field, what);
}

/* ---- kinds ---- */

static void test_kinds(void)
{
    static const struct { invoice_kind_t k; const char *svc, *code, *bus, *label; } want[] = {
        { INV_OUTPATIENT,   "invoiceEBillOutpatient",      "outpatient",   "02", "门诊" },
        { INV_INPATIENT,    "invEBillHospitalized",        "inpatient",    "01", "住院" },
        { INV_REGISTRATION, "invEBillRegistration",        "registration", "06", "挂号" },
        { INV_PHYSICAL,     "invEBillPhysicalExamination", "physical",     "05", "体检" },
        { INV_IMMUNISATION, "invEBillImmunization",        "immunisation", "02", "免疫接种" },
        { INV_PREPAYMENT,   "invoicePayMentVoucher",       "prepayment",   "07", "住院预交金" },
    };
    invoice_kind_t k = INV_OUTPATIENT;
    hg_error_t *err = NULL;
    size_t i;

    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        tap_is_str(invoice_kind_service(want[i].k), want[i].svc, "service of kind %d", (int)want[i].k);
        tap_is_int(invoice_kind_from_service(want[i].svc), want[i].k, "%s is kind %d", want[i].svc, (int)want[i].k);
        tap_is_str(invoice_kind_code(want[i].k), want[i].code, "code %s", want[i].code);
        tap_is_int(invoice_kind_from_code(want[i].code), want[i].k, "kind of code %s", want[i].code);
        tap_is_str(invoice_kind_bus_type(want[i].k), want[i].bus, "busType of %s", want[i].code);
        tap_is_str(invoice_kind_label(want[i].k), want[i].label, "label of %s", want[i].code);
    }
    tap_is_int(invoice_kind_from_service("invEBillPrepayment"), INV_PREPAYMENT, "alias invEBillPrepayment");
    tap_is_int(invoice_kind_from_service("invEBillOutpatient"), -1, "the Java method name is not the wire name");
    tap_is_int(invoice_kind_from_service("InvoiceEBillOutpatient"), -1, "service names are case-sensitive");
    tap_is_int(invoice_kind_from_service(NULL), -1, "NULL service");
    tap_is_int(invoice_kind_from_code("outpatients"), -1, "unknown code");
    tap_ok(invoice_kind_service((invoice_kind_t)6) == NULL && invoice_kind_code((invoice_kind_t)-1) == NULL,
           "kinds out of range give NULL");

    tap_ok(invoice_kind_lookup(&k, pool, "invEBillHospitalized", &err) == APR_SUCCESS && k == INV_INPATIENT
           && err == NULL, "lookup of a known service");
    tap_ok(invoice_kind_lookup(&k, pool, "invEBillDental", &err) == HG_ENOTFOUND && err
           && strcmp(err->code, HG_INVOICE_UNKNOWN_SERVICE) == 0 && err->status == 404 && err->field
           && strcmp(err->field, "service") == 0 && has(err->message, "invEBillDental"),
           "unknown service name -> HG_INVOICE_UNKNOWN_SERVICE 404 at service");
}

/* ---- titles ---- */

static void test_titles(void)
{
    static const char *codes[] = { "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34",
                                   "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52",
                                   "53", "54", "61", "62", "63", "64", "65" };
    size_t i, named = 0;

    tap_is_str(invoice_title(pool, INV_OUTPATIENT, "44170001"), "广东省医疗门诊收费票据（电子）", "44 outpatient");
    tap_is_str(invoice_title(pool, INV_INPATIENT, "44170001"), "广东省医疗住院收费票据（电子）", "44 inpatient");
    tap_is_str(invoice_title(pool, INV_REGISTRATION, "44170001"), "广东省医疗门诊收费票据（电子）",
               "44 registration uses the outpatient template");
    tap_is_str(invoice_title(pool, INV_PHYSICAL, "44170001"), "广东省医疗门诊收费票据（电子）", "44 physical");
    tap_is_str(invoice_title(pool, INV_IMMUNISATION, "44170001"), "广东省医疗门诊收费票据（电子）", "44 immunisation");
    tap_is_str(invoice_title(pool, INV_PREPAYMENT, "44170001"), "广东省医疗住院预交金凭证（电子）", "44 prepayment");
    tap_is_str(invoice_title(pool, INV_OUTPATIENT, "11010125"), "北京市医疗门诊收费票据（电子）", "11 outpatient");
    tap_is_str(invoice_title(pool, INV_INPATIENT, "11010125"), "北京市医疗住院收费票据（电子）", "11 inpatient");
    tap_is_str(invoice_title(pool, INV_OUTPATIENT, "31010001"), "上海市医疗门诊收费票据（电子）", "31 Shanghai");
    tap_is_str(invoice_title(pool, INV_OUTPATIENT, "37060124"), "山东省医疗门诊收费票据（电子）", "37 Shandong");
    tap_is_str(invoice_title(pool, INV_OUTPATIENT, "45010001"), "广西壮族自治区医疗门诊收费票据（电子）", "45 Guangxi");
    tap_is_str(invoice_title(pool, INV_OUTPATIENT, "H44010600001"), "广东省医疗门诊收费票据（电子）",
               "NHSA code with a leading letter");
    tap_is_str(invoice_title(pool, INV_OUTPATIENT, "99000001"), "医疗门诊收费票据（电子）", "unknown province");
    tap_is_str(invoice_title(pool, INV_OUTPATIENT, NULL), "医疗门诊收费票据（电子）", "no institution");
    tap_ok(invoice_title(pool, (invoice_kind_t)9, "44") == NULL, "bad kind gives NULL");
    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *t = invoice_title(pool, INV_OUTPATIENT, apr_pstrcat(pool, codes[i], "000001", NULL));
        if (t && strcmp(t, "医疗门诊收费票据（电子）") != 0 && (has(t, "省医疗") || has(t, "市医疗")
                                                     || has(t, "区医疗")))
            named++;
    }
    tap_is_int(named, 31, "all 31 provinces have a name");
}

/* ---- validation ---- */

static void test_validate(json_t *op)
{
    json_t *d, *arr;
    hg_error_t *err;
    size_t i;
    char *before, *after;

    v_ok(INV_OUTPATIENT, op, "the outpatient bill of 张三");
    v_ok(INV_REGISTRATION, op, "the same payload as a registration bill");
    v_ok(INV_IMMUNISATION, op, "the same payload as an immunisation bill");

    before = hg_json_dump(pool, op, HG_JSON_DUMP_SORTED);
    invoice_validate(pool, INV_OUTPATIENT, op, NULL);
    after = hg_json_dump(pool, op, HG_JSON_DUMP_SORTED);
    tap_is_str(after, before, "validation leaves the payload untouched (err may be NULL)");

    /* numbers where strings are expected, and the other way round */
    d = copy(op);
    json_object_set_new(d, "totalAmt", json_real(368.5));
    json_object_set_new(d, "fundPay", json_integer(200));
    json_object_set_new(d, "age", json_integer(36));
    json_object_set_new(d, "payerType", json_integer(1));
    json_object_set_new(item(d, "chargeDetail", 0), "sortNo", json_string("1"));
    json_object_set_new(item(d, "chargeDetail", 0), "number", json_string("3.000"));
    json_object_set_new(item(d, "chargeDetail", 1), "std", json_real(150.0));
    json_object_set_new(item(d, "payChannelDetail", 0), "payChannelValue", json_real(118.5));
    v_ok(INV_OUTPATIENT, d, "money as numbers, quantities and codes in either form");

    /* sums, by one fen */
    d = copy(op);
    set(item(d, "chargeDetail", 4), "amt", "9.99");
    err = v_bad(INV_OUTPATIENT, d, HG_INVOICE_SUM_CHARGE, "chargeDetail", "Σ chargeDetail.amt one fen short");
    tap_ok(err && has(err->message, "368.49") && has(err->message, "368.50") && err->status == 400,
           "the message names both sums");
    d = copy(op);
    set(item(d, "listDetail", 2), "amt", "60.01");
    v_bad(INV_OUTPATIENT, d, HG_INVOICE_SUM_LIST, "listDetail", "Σ listDetail.amt one fen over");
    d = copy(op);
    set(item(d, "payChannelDetail", 0), "payChannelValue", "118.49");
    v_bad(INV_OUTPATIENT, d, HG_INVOICE_SUM_PAYCHANNEL, "payChannelDetail", "Σ payChannelValue one fen short");
    d = copy(op);
    json_object_del(d, "listDetail");
    v_ok(INV_OUTPATIENT, d, "listDetail is optional for outpatients");
    d = copy(op);
    json_object_set_new(d, "listDetail", json_array());
    v_ok(INV_OUTPATIENT, d, "an empty listDetail counts as not given");

    /* the split */
    d = copy(op);
    set(d, "fundPay", "200.01");
    err = v_bad(INV_OUTPATIENT, d, HG_INVOICE_SPLIT, "selfCashPay", "fund + account + cash one fen over");
    tap_ok(err && has(err->message, "368.51"), "split message shows the sum");
    d = copy(op);
    set(d, "ownPay", "40.01");
    v_bad(INV_OUTPATIENT, d, HG_INVOICE_SPLIT, "ownPay", "自费 + 自付 differs from account + cash");
    d = copy(op);    /* money moved between funds keeps both identities */
    set(d, "fundPay", "150.00");
    set(d, "otherfundPay", "50.00");
    v_ok(INV_OUTPATIENT, d, "part of the fund share paid by another fund");
    d = copy(op);    /* a self-paying patient: everything in cash, all of it 自费 */
    set(d, "fundPay", "0.00");
    set(d, "accountPay", "0.00");
    set(d, "selfCashPay", "368.50");
    set(d, "ownPay", "368.50");
    set(d, "selfPayAmt", "0.00");
    json_array_clear(json_object_get(d, "payChannelDetail"));
    json_array_append_new(json_object_get(d, "payChannelDetail"),
                          json_pack("{s:s,s:s}", "payChannelCode", "05", "payChannelValue", "368.50"));
    v_ok(INV_OUTPATIENT, d, "a self-paying patient paying by WeChat");
    d = copy(op);
    json_object_del(d, "selfPayAmt");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_REQUIRED, "selfPayAmt", "every split field is required");

    /* money format and sign */
    d = copy(op);
    json_object_set_new(d, "totalAmt", json_real(368.505));
    v_bad(INV_OUTPATIENT, d, HG_FIELD_MONEY, "totalAmt", "money with three decimals (number)");
    d = copy(op);
    set(item(d, "chargeDetail", 0), "amt", "120.005");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_MONEY, "chargeDetail[0].amt", "money with three decimals (string)");
    d = copy(op);
    set(item(d, "chargeDetail", 0), "amt", "120.0");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_MONEY, "chargeDetail[0].amt", "a money string needs two decimals");
    d = copy(op);
    set(item(d, "chargeDetail", 1), "amt", "-150.00");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_MONEY, "chargeDetail[1].amt", "negative amount on a blue bill");
    d = copy(op);
    set(d, "accountPay", "-50.00");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_MONEY, "accountPay", "negative split on a blue bill");
    d = copy(op);
    set(item(d, "chargeDetail", 2), "number", "-2");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_PATTERN, "chargeDetail[2].number", "negative quantity on a blue bill");
    d = copy(op);
    set(d, "totalAmt", "0.00");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_RANGE, "totalAmt", "a zero bill");
    d = copy(op);
    set(item(d, "chargeDetail", 0), "std", "0.1234567");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_PATTERN, "chargeDetail[0].std", "unit price with 7 decimals");
    d = copy(op);
    set(item(d, "listDetail", 0), "std", "0.032500");
    set(item(d, "listDetail", 0), "number", "0.5");
    v_ok(INV_OUTPATIENT, d, "a unit price with 4 decimals and half a box (std x number is not checked)");
    set(item(d, "listDetail", 0), "amt", "119.99");
    v_bad(INV_OUTPATIENT, d, HG_INVOICE_SUM_LIST, "listDetail", "but the list must still add up");

    /* dates */
    d = copy(op);
    set(d, "busDateTime", "20261332093012123");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_DATE, "busDateTime", "busDateTime 2026-13-32");
    d = copy(op);
    set(d, "busDateTime", "2026031509301212");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_DATE, "busDateTime", "busDateTime with 16 digits");
    d = copy(op);
    set(d, "busDateTime", "20250229093012123");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_DATE, "busDateTime", "29 February of a common year");
    d = copy(op);
    set(d, "busDateTime", "20240229235959999");
    v_ok(INV_OUTPATIENT, d, "29 February of a leap year");
    d = copy(op);
    set(d, "consultationDate", "2026/03/15");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_DATE, "consultationDate", "consultationDate with slashes");

    /* required fields, enums, unknown fields */
    d = copy(op);
    json_object_del(d, "payer");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_REQUIRED, "payer", "missing payer");
    d = copy(op);
    set(d, "placeCode", "");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_REQUIRED, "placeCode", "empty placeCode");
    d = copy(op);
    set(d, "payerType", "3");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_ENUM, "payerType", "payerType 3");
    d = copy(op);
    set(d, "sex", "M");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_ENUM, "sex", "sex M");
    d = copy(op);
    set(d, "sex", "2");
    v_ok(INV_OUTPATIENT, d, "sex as a GB/T 2261.1 code");
    d = copy(op);
    set(d, "busNo", "OP 123");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_PATTERN, "busNo", "busNo with a space");
    d = copy(op);
    set(d, "busNo", "R~OP20260315000123");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_PATTERN, "busNo", "a blue busNo cannot look red");
    d = copy(op);
    json_object_set_new(item(d, "listDetail", 0), "amtChk", json_real(120));
    v_bad(INV_OUTPATIENT, d, HG_FIELD_UNKNOWN, "listDetail[0].amtChk", "unknown item field");
    d = copy(op);
    set(d, "totalamt", "368.50");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_UNKNOWN, "totalamt", "misspelt top-level field");
    d = copy(op);
    json_array_clear(json_object_get(d, "chargeDetail"));
    v_bad(INV_OUTPATIENT, d, HG_FIELD_REQUIRED, "chargeDetail", "chargeDetail empty");
    d = copy(op);
    json_object_del(d, "payChannelDetail");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_REQUIRED, "payChannelDetail", "payChannelDetail missing");
    d = copy(op);
    set(item(d, "chargeDetail", 3), "chargeName", "");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_REQUIRED, "chargeDetail[3].chargeName", "item without a name");
    d = copy(op);
    set(d, "payer", apr_psprintf(pool, "%0101d", 0));
    v_bad(INV_OUTPATIENT, d, HG_FIELD_TOO_LONG, "payer", "payer of 101 characters");
    d = copy(op);
    set(d, "tel", "138-1234-5678");
    v_ok(INV_OUTPATIENT, d, "a phone with dashes");
    d = copy(op);
    set(d, "email", "zhangsan-at-example");
    v_bad(INV_OUTPATIENT, d, HG_FIELD_PATTERN, "email", "an email without @");

    /* 500 and 501 items */
    d = copy(op);
    arr = json_array();
    for (i = 0; i < 500; i++)
        json_array_append_new(arr, json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s}", "sortNo", (int)i + 1,
                                             "chargeCode", "01", "chargeName", "西药费", "std", "1",
                                             "number", "1", "amt", "1.00", "selfAmt", "0.00"));
    json_object_set_new(d, "chargeDetail", arr);
    json_object_del(d, "listDetail");
    set(d, "totalAmt", "500.00");
    set(d, "fundPay", "0.00");
    set(d, "accountPay", "0.00");
    set(d, "selfCashPay", "500.00");
    set(d, "ownPay", "500.00");
    set(d, "selfPayAmt", "0.00");
    json_array_clear(json_object_get(d, "payChannelDetail"));
    json_array_append_new(json_object_get(d, "payChannelDetail"),
                          json_pack("{s:s,s:s}", "payChannelCode", "02", "payChannelValue", "500.00"));
    v_ok(INV_OUTPATIENT, d, "500 charge items");
    json_array_append_new(arr, json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s}", "sortNo", 501, "chargeCode", "01",
                                         "chargeName", "西药费", "std", "1", "number", "1", "amt", "0.00",
                                         "selfAmt", "0.00"));
    v_bad(INV_OUTPATIENT, d, HG_TOO_MANY_ITEMS, "chargeDetail", "501 charge items");
    /* a long stay's itemised list: 5000 lines of 0.10 for the 500.00 of 500 charge items, then 5001 */
    json_array_remove(arr, 500);
    {
        json_t *lines = json_array();
        for (i = 0; i < 5000; i++)
            json_array_append_new(lines, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "chargeCode", "01",
                                                   "name", "氯化钠注射液", "std", "0.1", "number", "1",
                                                   "amt", "0.10", "selfAmt", "0.00"));
        json_object_set_new(d, "listDetail", lines);
        v_ok(INV_OUTPATIENT, d, "5000 lines in listDetail (费用清单)");
        json_array_append_new(lines, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "chargeCode", "01", "name", "棉签",
                                               "std", "0", "number", "1", "amt", "0.00", "selfAmt", "0.00"));
        v_bad(INV_OUTPATIENT, d, HG_TOO_MANY_ITEMS, "listDetail", "5001 lines in listDetail");
    }

    /* not an object, bad kind */
    err = NULL;
    tap_ok(invoice_validate(pool, INV_OUTPATIENT, hg_json_own(pool, json_array()), &err) == HG_EINVALID && err
           && strcmp(err->code, HG_JSON_NOT_OBJECT) == 0, "an array is not a bill");
    tap_ok(invoice_validate(pool, (invoice_kind_t)42, op, &err) == APR_EINVAL && err
           && strcmp(err->code, HG_INTERNAL) == 0, "a bad kind is the server's fault");
}

static void test_validate_kinds(json_t *op)
{
    json_t *ip = inpatient_of(op), *d, *pp = parse(PREPAYMENT);

    v_ok(INV_INPATIENT, ip, "an inpatient bill");
    v_bad(INV_INPATIENT, op, HG_FIELD_REQUIRED, "hospitalNo", "the outpatient payload as inpatient");
    d = copy(ip);
    json_object_del(d, "hospitalNo");
    v_bad(INV_INPATIENT, d, HG_FIELD_REQUIRED, "hospitalNo", "inpatient without hospitalNo");
    d = copy(ip);
    json_object_del(d, "outHospitalDate");
    v_bad(INV_INPATIENT, d, HG_FIELD_REQUIRED, "outHospitalDate", "inpatient without outHospitalDate");
    d = copy(ip);
    json_object_del(d, "listDetail");
    v_bad(INV_INPATIENT, d, HG_FIELD_REQUIRED, "listDetail", "inpatient without its 费用清单");
    d = copy(ip);
    set(d, "inHospitalDate", "2026-02-30");
    v_bad(INV_INPATIENT, d, HG_FIELD_DATE, "inHospitalDate", "inHospitalDate 2026-02-30");
    d = copy(ip);
    set(d, "outHospitalDate", "2026-03-09");
    v_bad(INV_INPATIENT, d, HG_FIELD_DATE, "outHospitalDate", "discharged before admission");
    d = copy(ip);
    set(d, "outHospitalDate", "2026-03-10");
    v_ok(INV_INPATIENT, d, "discharged on the day of admission");
    d = copy(ip);
    set(d, "hospitalDays", "-1");
    v_bad(INV_INPATIENT, d, HG_FIELD_PATTERN, "hospitalDays", "negative hospitalDays");
    d = copy(ip);
    json_object_set_new(d, "payMentVoucher", json_pack("[{s:s,s:s,s:s}]", "voucherBatchCode", "44010126",
                                                       "voucherNo", "0000000007", "voucherAmt", "2000.00"));
    set(d, "cashPay", "2000.00");
    set(d, "cashRefund", "1881.50");
    v_ok(INV_INPATIENT, d, "inpatient with the deposit voucher it consumed");

    v_bad(INV_PHYSICAL, op, HG_FIELD_REQUIRED, "checkUpNo", "physical without checkUpNo");
    d = copy(op);
    set(d, "checkUpNo", "TJ20260315001");
    v_ok(INV_PHYSICAL, d, "physical with checkUpNo");

    v_ok(INV_PREPAYMENT, pp, "a deposit");
    d = copy(pp);
    set(item(d, "payChannelDetail", 1), "payChannelValue", "500.01");
    v_bad(INV_PREPAYMENT, d, HG_INVOICE_SUM_PAYCHANNEL, "payChannelDetail", "deposit channels one fen over");
    d = copy(pp);
    set(d, "busType", "02");
    v_bad(INV_PREPAYMENT, d, HG_FIELD_ENUM, "busType", "deposit with busType 02");
    d = copy(pp);
    set(d, "totalAmt", "2000.00");
    v_bad(INV_PREPAYMENT, d, HG_FIELD_UNKNOWN, "totalAmt", "a deposit has amt, not totalAmt");
    d = copy(pp);
    set(d, "ownAcBalance", "-120.00");
    v_ok(INV_PREPAYMENT, d, "a deposit account in arrears");
    d = copy(pp);
    json_object_del(d, "hospitalNo");
    v_bad(INV_PREPAYMENT, d, HG_FIELD_REQUIRED, "hospitalNo", "deposit without hospitalNo");
    v_bad(INV_OUTPATIENT, pp, HG_FIELD_REQUIRED, "totalAmt", "a deposit is not an outpatient bill");
}

/* ---- canonical form ---- */

/* the issue path checks and normalizes the request's own tree (no copies): it must store exactly
 * what checking a copy and normalizing another gave, or replays of earlier bills would conflict */
static void same_in_place(invoice_kind_t kind, json_t *d, const char *what)
{
    json_t *n = NULL, *c = copy(d);
    tap_ok(invoice_normalize(&n, pool, d) == APR_SUCCESS && invoice_validate_in_place(pool, kind, c, NULL) == APR_SUCCESS
           && invoice_normalize_in_place(c) == APR_SUCCESS
           && !strcmp(hg_json_dump(pool, c, HG_JSON_DUMP_SORTED), hg_json_dump(pool, n, HG_JSON_DUMP_SORTED)), what);
}

static void test_normalize(json_t *op)
{
    json_t *a, *b, *na, *nb, *nc, *c;
    char *ha, *hb, *hc;
    apr_int64_t fen = 0;

    a = copy(op);
    b = copy(op);
    json_object_set_new(b, "totalAmt", json_real(368.5));
    json_object_set_new(b, "fundPay", json_integer(200));
    json_object_set_new(b, "age", json_integer(36));
    json_object_set_new(item(b, "chargeDetail", 0), "sortNo", json_string("1"));
    json_object_set_new(item(b, "chargeDetail", 0), "std", json_string("40.00"));
    json_object_set_new(item(b, "chargeDetail", 0), "number", json_real(3.0));
    json_object_set_new(item(b, "chargeDetail", 3), "std", json_real(28.50));
    json_object_set_new(item(b, "chargeDetail", 4), "amt", json_integer(10));
    json_object_set_new(item(b, "payChannelDetail", 0), "payChannelValue", json_real(118.5));
    json_object_del(b, "remark");    /* a had "" */

    tap_ok(invoice_normalize(&na, pool, a) == APR_SUCCESS && invoice_normalize(&nb, pool, b) == APR_SUCCESS,
           "normalize both forms");
    tap_is_str(hg_json_gets(nb, "totalAmt", NULL), "368.50", "12.3-style number becomes \"368.50\"");
    tap_is_str(hg_json_gets(item(nb, "chargeDetail", 4), "amt", NULL), "10.00", "integer yuan becomes \"10.00\"");
    tap_is_str(hg_json_gets(item(nb, "chargeDetail", 0), "std", NULL), "40", "\"40.00\" as a price becomes \"40\"");
    tap_is_str(hg_json_gets(item(nb, "chargeDetail", 3), "std", NULL), "28.5", "28.50 becomes \"28.5\"");
    tap_is_str(hg_json_gets(nb, "age", NULL), "36", "age 36 becomes \"36\"");
    tap_ok(json_is_integer(json_object_get(item(nb, "chargeDetail", 0), "sortNo")), "sortNo \"1\" becomes 1");
    tap_ok(json_object_get(na, "remark") == NULL, "remark \"\" is dropped");
    tap_ok(invoice_content_hash(&ha, pool, na) == APR_SUCCESS && invoice_content_hash(&hb, pool, nb) == APR_SUCCESS,
           "hash both");
    tap_ok(ha && strlen(ha) == 64 && strspn(ha, "0123456789abcdef") == 64, "the hash is 64 lowercase hex digits");
    tap_is_str(hb, ha, "12.3 and \"12.30\" hash the same");
    tap_ok(strcmp(hg_json_dump(pool, a, HG_JSON_DUMP_SORTED), hg_json_dump(pool, op, HG_JSON_DUMP_SORTED)) == 0,
           "normalize leaves its input alone");
    tap_ok(json_is_real(json_object_get(b, "totalAmt")), "the input keeps its number");

    c = copy(op);
    set(item(c, "chargeDetail", 2), "chargeName", "治疗费(针灸)");
    invoice_normalize(&nc, pool, c);
    invoice_content_hash(&hc, pool, nc);
    tap_ok(hc && strcmp(hc, ha) != 0, "a changed item name changes the hash");
    c = copy(op);
    set(item(c, "listDetail", 0), "number", "3.001");
    invoice_normalize(&nc, pool, c);
    invoice_content_hash(&hc, pool, nc);
    tap_ok(hc && strcmp(hc, ha) != 0, "a changed quantity changes the hash");
    c = copy(op);
    set(item(c, "chargeDetail", 0), "amt", "120.01");
    invoice_normalize(&nc, pool, c);
    invoice_content_hash(&hc, pool, nc);
    tap_ok(hc && strcmp(hc, ha) != 0, "a changed amount changes the hash");

    tap_ok(invoice_total_fen(op, &fen) == APR_SUCCESS && fen == 36850, "total of the outpatient bill in fen");
    tap_ok(invoice_total_fen(b, &fen) == APR_SUCCESS && fen == 36850, "total from a number");
    tap_ok(invoice_total_fen(parse(PREPAYMENT), &fen) == APR_SUCCESS && fen == 200000, "a deposit's amt");
    tap_ok(invoice_total_fen(parse("{\"payer\":\"x\"}"), &fen) == APR_NOTFOUND, "no total");
    tap_ok(invoice_normalize(&nc, pool, hg_json_own(pool, json_array())) == HG_EINVALID && nc == NULL, "normalize wants an object");
    /* a string money with one decimal is not canonicalised (strings must have two: the house rule) */
    c = copy(op);
    set(c, "totalAmt", "368.5");
    invoice_normalize(&nc, pool, c);
    tap_is_str(hg_json_gets(nc, "totalAmt", NULL), "368.5", "\"368.5\" is left for the validator");
    same_in_place(INV_OUTPATIENT, op, "outpatient: checked and normalized in place = normalized copy");
    same_in_place(INV_OUTPATIENT, b, "the same sent with numbers");
    same_in_place(INV_INPATIENT, inpatient_of(b), "inpatient, with numbers");
    c = copy(b);
    set(c, "checkUpNo", "TJ20260315001");
    same_in_place(INV_PHYSICAL, c, "physical, with numbers");
    same_in_place(INV_PREPAYMENT, parse(PREPAYMENT), "a deposit");
    c = copy(op);
    set(c, "totalAmt", "368.51");
    tap_ok(invoice_validate_in_place(pool, INV_OUTPATIENT, c, NULL) == HG_EINVALID,
           "checking in place refuses what checking a copy refuses");
    /* in place: the same canonical form, on the object given */
    c = copy(b);
    tap_ok(invoice_normalize_in_place(c) == APR_SUCCESS, "normalize in place");
    tap_is_str(hg_json_dump(pool, c, HG_JSON_DUMP_SORTED), hg_json_dump(pool, nb, HG_JSON_DUMP_SORTED),
               "in place gives what the copy gives");
    tap_ok(invoice_normalize_in_place(hg_json_own(pool, json_array())) == HG_EINVALID, "in place wants an object too");
}

/* ---- red bills ---- */

static apr_int64_t sum_of(json_t *d, const char *list, const char *member)
{
    apr_int64_t s = 0, x;
    size_t i;
    for (i = 0; i < json_array_size(json_object_get(d, list)); i++)
        if (hg_json_getm(item(d, list, i), &x, member, NULL) == APR_SUCCESS) s += x;
    return s;
}

static void test_red(json_t *op)
{
    json_t *n, *red, *r2, *pn, *pred;
    apr_int64_t total = 0;
    size_t i;
    int neg = 1;
    hg_error_t *err = NULL;
    char *before;

    invoice_normalize(&n, pool, op);
    before = hg_json_dump(pool, n, HG_JSON_DUMP_SORTED);
    tap_ok(invoice_make_red_data(&red, pool, n, "患者退费", "李收费", "20260316080000000") == APR_SUCCESS && red,
           "make the red data");
    tap_is_str(hg_json_dump(pool, n, HG_JSON_DUMP_SORTED), before, "the original is untouched");
    tap_is_str(hg_json_gets(red, "totalAmt", NULL), "-368.50", "totalAmt negated");
    tap_is_str(hg_json_gets(red, "fundPay", NULL), "-200.00", "fundPay negated");
    tap_is_str(hg_json_gets(red, "accountPay", NULL), "-50.00", "accountPay negated");
    tap_is_str(hg_json_gets(red, "selfCashPay", NULL), "-118.50", "selfCashPay negated");
    tap_is_str(hg_json_gets(red, "selfPayAmt", NULL), "-128.50", "selfPayAmt negated");
    tap_is_str(hg_json_gets(red, "otherfundPay", NULL), "0.00", "zero stays 0.00");
    for (i = 0; i < 5; i++) {
        const char *a = hg_json_gets(item(red, "chargeDetail", i), "amt", NULL);
        const char *q = hg_json_gets(item(red, "chargeDetail", i), "number", NULL);
        const char *s = hg_json_gets(item(red, "chargeDetail", i), "std", NULL);
        if (!a || a[0] != '-' || !q || q[0] != '-' || !s || s[0] == '-') neg = 0;
    }
    tap_ok(neg, "every charge amount and quantity negative, unit prices positive");
    {
        const char *ch = NULL;
        json_t *twice = copy(n);
        tap_ok(invoice_channels_json(&ch, pool, n) == APR_SUCCESS, "channels of the bill");
        tap_is_str(ch, "{\"02\":11850,\"YBK\":5000,\"YBTCJJ\":20000}", "in fen per payChannelCode");
        tap_ok(invoice_channels_json(&ch, pool, red) == APR_SUCCESS, "channels of its red bill");
        tap_is_str(ch, "{\"02\":-11850,\"YBK\":-5000,\"YBTCJJ\":-20000}", "negative, as the red data");
        set(item(twice, "payChannelDetail", 1), "payChannelCode", "02");
        tap_ok(invoice_channels_json(&ch, pool, twice) == APR_SUCCESS
               && !strcmp(ch, "{\"02\":16850,\"YBTCJJ\":20000}"), "a code given twice is added up");
        tap_ok(invoice_channels_json(&ch, pool, parse("{\"payer\":\"x\"}")) == APR_SUCCESS && !strcmp(ch, "{}"),
               "no payChannelDetail: {}");
        tap_ok(invoice_channels_json(&ch, pool, parse("{\"payChannelDetail\":[{\"payChannelCode\":\"01\","
               "\"payChannelValue\":\"1.234\"}]}")) == HG_EINVALID, "not an amount: HG_EINVALID");
        tap_ok(invoice_channels_json(&ch, pool, parse("{\"payChannelDetail\":[{\"payChannelValue\":\"1.00\"}]}"))
               == HG_EINVALID, "no code: HG_EINVALID");
        tap_ok(invoice_charges_json(&ch, pool, n) == APR_SUCCESS && ch, "charges of the bill");
        {
            json_t *cj = hg_json_own(pool, json_loads(ch ? ch : "null", 0, NULL)), *it;
            const char *k;
            apr_int64_t sum = 0;
            int named = 1;
            json_object_foreach(cj, k, it) {
                sum += json_integer_value(json_object_get(it, "fen"));
                if (!json_string_length(json_object_get(it, "name")))
                    named = 0;
            }
            tap_ok(json_object_size(cj) == 5 && named, "one entry per chargeCode, each with its chargeName");
            tap_ok(sum == 36850, "the charges add up to the total in fen");
        }
        tap_ok(invoice_charges_json(&ch, pool, red) == APR_SUCCESS && strstr(ch, "\"fen\":-"), "a red bill's are negative");
        set(item(twice, "chargeDetail", 1), "chargeCode", hg_json_gets(item(twice, "chargeDetail", 0), "chargeCode", NULL));
        set(item(twice, "chargeDetail", 1), "chargeName", "another name");
        tap_ok(invoice_charges_json(&ch, pool, twice) == APR_SUCCESS && !strstr(ch, "another name"),
               "a code given twice is added up under its first name");
    }
    tap_is_str(hg_json_gets(item(red, "chargeDetail", 2), "number", NULL), "-2", "quantity 2 becomes -2");
    tap_is_str(hg_json_gets(item(red, "listDetail", 0), "amt", NULL), "-120.00", "list amounts negated");
    tap_is_str(hg_json_gets(item(red, "listDetail", 0), "selfAmt", NULL), "-20.00", "list selfAmt negated");
    tap_is_str(hg_json_gets(item(red, "payChannelDetail", 2), "payChannelValue", NULL), "-200.00",
               "pay channels negated");
    invoice_total_fen(red, &total);
    tap_is_int(total, -36850, "red total in fen");
    tap_is_int(sum_of(red, "chargeDetail", "amt"), total, "Σ chargeDetail.amt = totalAmt (negative)");
    tap_is_int(sum_of(red, "listDetail", "amt"), total, "Σ listDetail.amt = totalAmt (negative)");
    tap_is_int(sum_of(red, "payChannelDetail", "payChannelValue"), total, "Σ payChannelValue = totalAmt (negative)");
    tap_is_str(hg_json_gets(red, "busNo", NULL), "R~OP20260315000123", "busNo R~ + original");
    tap_is_str(hg_json_gets(red, "remark", NULL), "冲红原因：患者退费", "remark carries the reason");
    tap_is_str(hg_json_gets(red, "payee", NULL), "李收费", "payee is the operator");
    tap_is_str(hg_json_gets(red, "busDateTime", NULL), "20260316080000000", "busDateTime of the flush");
    tap_is_str(hg_json_gets(red, "payer", NULL), "张三", "same payer");
    tap_is_str(hg_json_gets(red, "idCardNo", NULL), "440101199001011234", "same context");

    tap_ok(invoice_validate_red(pool, INV_OUTPATIENT, red, &err) == APR_SUCCESS && !err,
           "the red data passes every rule with the signs flipped");
    if (err) tap_diag("%s at %s: %s", err->code, err->field ? err->field : "", err->message);
    v_bad(INV_OUTPATIENT, red, HG_FIELD_PATTERN, "busNo", "red data is not a blue bill");
    v_bad_ex(1, INV_OUTPATIENT, n, HG_FIELD_PATTERN, "busNo", "blue data is not a red bill");
    r2 = copy(red);
    set(item(r2, "chargeDetail", 1), "amt", "150.00");
    err = v_bad_ex(1, INV_OUTPATIENT, r2, HG_FIELD_MONEY, "chargeDetail[1].amt", "a positive amount on a red bill");
    tap_ok(err && has(err->message, "red bill") && has(err->message, "150.00"), "the message says why");
    r2 = copy(red);
    set(item(r2, "listDetail", 3), "number", "1");
    v_bad_ex(1, INV_OUTPATIENT, r2, HG_FIELD_RANGE, "listDetail[3].number", "a positive quantity on a red bill");
    r2 = copy(red);
    set(item(r2, "payChannelDetail", 0), "payChannelValue", "-118.49");
    v_bad_ex(1, INV_OUTPATIENT, r2, HG_INVOICE_SUM_PAYCHANNEL, "payChannelDetail", "red channels one fen off");
    r2 = copy(red);
    set(r2, "fundPay", "-200.01");
    v_bad_ex(1, INV_OUTPATIENT, r2, HG_INVOICE_SPLIT, "selfCashPay", "red split one fen off");

    tap_ok(invoice_make_red_data(&r2, pool, red, "再冲", "李收费", "20260316080000000") == HG_EINVALID && !r2,
           "a red bill cannot be flushed again");
    tap_ok(invoice_make_red_data(&r2, pool, n, "", "李收费", "20260316080000000") == HG_EINVALID,
           "a reason is required");
    tap_ok(invoice_make_red_data(&r2, pool, n, "退费", NULL, "20260316080000000") == HG_EINVALID,
           "an operator is required");
    tap_ok(invoice_make_red_data(&r2, pool, n, "退费", "李收费", "20261316080000000") == HG_EINVALID,
           "a bad busDateTime is refused");

    invoice_normalize(&pn, pool, parse(PREPAYMENT));
    tap_ok(invoice_make_red_data(&pred, pool, pn, "退预交金", "赵收费", "20260320090000000") == APR_SUCCESS,
           "red data of a deposit");
    tap_is_str(hg_json_gets(pred, "amt", NULL), "-2000.00", "deposit amt negated");
    tap_ok(json_object_get(pred, "ownAcBalance") == NULL, "the balance is dropped");
    tap_ok(invoice_validate_red(pool, INV_PREPAYMENT, pred, &err) == APR_SUCCESS, "the red deposit passes");
}

/* ---- document and seal ---- */

static void test_doc_seal(json_t *op)
{
    json_t *n, *doc, *red, *rdoc, *d2;
    hg_pkey_t *key, *other, *pub;
    char *sig, *sig2, *pem, *bad;
    apr_status_t rv;

    invoice_normalize(&n, pool, op);
    rv = invoice_make_doc(&doc, pool, INV_OUTPATIENT, "44170001", "阳江高新区平冈镇中心卫生院", "44010126",
                          "0000000001", "a1b2c3", "20260315093013456", 0, NULL, NULL, n);
    tap_ok(rv == APR_SUCCESS && doc, "make the bill document");
    tap_is_str(hg_json_gets(doc, "kind", NULL), "outpatient", "doc kind");
    tap_is_str(hg_json_gets(doc, "title", NULL), "广东省医疗门诊收费票据（电子）", "doc title");
    tap_is_str(hg_json_gets(doc, "institutionName", NULL), "阳江高新区平冈镇中心卫生院", "doc institution name");
    tap_is_str(hg_json_gets(doc, "billNo", NULL), "0000000001", "doc billNo");
    tap_ok(json_is_false(json_object_get(doc, "isScarlet")), "isScarlet false");
    tap_ok(json_object_get(doc, "relatedBill") == NULL, "a blue bill has no relatedBill");
    tap_is_str(hg_json_gets(doc, "data", "totalAmt", NULL), "368.50", "doc data");
    tap_ok(json_object_get(doc, "data") == n, "the data is the normalized object itself, not a copy");

    tap_ok(hg_sm2_generate(&key, pool) == APR_SUCCESS && hg_sm2_generate(&other, pool) == APR_SUCCESS,
           "generate SM2 keys");
    rv = invoice_seal(&sig, pool, key, doc);
    tap_ok(rv == APR_SUCCESS && sig && strlen(sig) == 88, "seal: base64 of 64 bytes");
    tap_ok(invoice_seal_verify(key, doc, sig) == APR_SUCCESS, "the seal verifies");
    tap_ok(hg_pkey_to_pem(&pem, pool, key, 0) == APR_SUCCESS && hg_pkey_load_pem(&pub, pool, pem, 0) == APR_SUCCESS
           && invoice_seal_verify(pub, doc, sig) == APR_SUCCESS, "the seal verifies with the public key alone");
    invoice_seal(&sig2, pool, key, doc);
    tap_ok(invoice_seal_verify(key, doc, sig2) == APR_SUCCESS, "a second seal verifies too");
    tap_ok(invoice_seal_text(&sig2, pool, key, hg_json_dump(pool, doc, HG_JSON_DUMP_SORTED)) == APR_SUCCESS
           && invoice_seal_verify(key, doc, sig2) == APR_SUCCESS, "a seal over the stored (sorted) text verifies");
    tap_ok(invoice_seal_text(&sig2, pool, key, hg_json_dump(pool, doc, 0)) == APR_SUCCESS
           && invoice_seal_verify(key, doc, sig2) == HG_EBADSIG, "a seal over another dump of it does not");
    tap_ok(invoice_seal_verify(other, doc, sig) == HG_EBADSIG, "another key does not verify");

    d2 = copy(doc);
    set(json_object_get(d2, "data"), "totalAmt", "368.51");
    tap_ok(invoice_seal_verify(key, d2, sig) == HG_EBADSIG, "a changed amount fails");
    d2 = copy(doc);
    set(item(json_object_get(d2, "data"), "chargeDetail", 0), "chargeName", "中药费");
    tap_ok(invoice_seal_verify(key, d2, sig) == HG_EBADSIG, "a changed item fails");
    d2 = copy(doc);
    json_object_set_new(d2, "isScarlet", json_true());
    tap_ok(invoice_seal_verify(key, d2, sig) == HG_EBADSIG, "a changed flag fails");
    d2 = copy(doc);
    tap_ok(invoice_seal_verify(key, d2, sig) == APR_SUCCESS, "a copy (other key order in memory) verifies");
    bad = apr_pstrdup(pool, sig);
    bad[10] = bad[10] == 'A' ? 'B' : 'A';
    tap_ok(invoice_seal_verify(key, doc, bad) == HG_EBADSIG, "a changed signature fails");
    tap_ok(invoice_seal_verify(key, doc, "not base64!") == HG_EBADSIG, "garbage fails");
    tap_ok(invoice_seal_verify(key, doc, "") == HG_EBADSIG, "empty signature fails");
    tap_ok(invoice_seal_verify(key, doc, apr_pstrcat(pool, sig, "AAAA", NULL)) == HG_EBADSIG,
           "a too long signature fails");
    tap_ok(invoice_seal_verify(key, NULL, sig) == HG_EINVALID, "no document");

    /* the upload rebuilt from the stored document and its seal (the delivery's side) */
    {
        json_t *up = NULL;
        tap_ok(invoice_upload_data(&up, pool, doc, sig) == APR_SUCCESS && up, "upload data from a document");
        tap_is_str(hg_json_dump(pool, up, 0), apr_psprintf(pool, "{\"billBatchCode\":\"44010126\",\"billNo\":"
                   "\"0000000001\",\"random\":\"%s\",\"createTime\":\"%s\",\"isScarlet\":false,\"sealSignature\":"
                   "\"%s\",\"data\":%s,\"institution\":\"%s\",\"institutionName\":\"%s\",\"kind\":\"%s\",\"title\":\"%s\"}",
                   hg_json_gets(doc, "random", NULL), hg_json_gets(doc, "createTime", NULL), sig,
                   hg_json_dump(pool, n, 0), hg_json_gets(doc, "institution", NULL),
                   hg_json_gets(doc, "institutionName", NULL), hg_json_gets(doc, "kind", NULL),
                   hg_json_gets(doc, "title", NULL)),
                   "the platform's fields in their order, the bill data whole, and the rest the seal signs");
        {
            /* what the platform can do with it: the upload without its seal is the sealed document */
            json_t *u2 = hg_json_own(pool, json_deep_copy(up));
            json_object_del(u2, "sealSignature");
            tap_ok(invoice_seal_verify(key, u2, sig) == APR_SUCCESS,
                   "the seal verifies from the upload alone (the platform's check)");
        }
        tap_ok(invoice_upload_data(&up, pool, doc, "") == HG_EINVALID && !up, "no seal, no upload");
        d2 = copy(doc);
        json_object_del(d2, "createTime");
        tap_ok(invoice_upload_data(&up, pool, d2, sig) == HG_EINVALID, "a document without createTime is refused");
        d2 = copy(doc);
        json_object_set_new(d2, "isScarlet", json_true());
        tap_ok(invoice_upload_data(&up, pool, d2, sig) == HG_EINVALID, "a red document must name its blue bill");
    }

    invoice_make_red_data(&red, pool, n, "退费", "李收费", "20260316080000000");
    rv = invoice_make_doc(&rdoc, pool, INV_OUTPATIENT, "44170001", "阳江高新区平冈镇中心卫生院", "44010126",
                          "0000000002", "x9y8z7", "20260316080000123", 1, "44010126", "0000000001", red);
    tap_ok(rv == APR_SUCCESS && json_is_true(json_object_get(rdoc, "isScarlet")), "a red document");
    tap_is_str(hg_json_gets(rdoc, "relatedBill", "billNo", NULL), "0000000001", "relatedBill names the original");
    tap_ok(invoice_make_doc(&rdoc, pool, INV_OUTPATIENT, "44170001", "卫生院", "44010126", "0000000002", "x9y8z7",
                            "20260316080000123", 1, NULL, NULL, red) == HG_EINVALID && !rdoc,
           "a red document needs the original");
    tap_ok(invoice_make_doc(&rdoc, pool, INV_OUTPATIENT, "44170001", "卫生院", "44010126", "0000000002", "x9y8z7",
                            "2026031608000012", 0, NULL, NULL, n) == HG_EINVALID, "a bad createTime is refused");
    tap_ok(invoice_make_doc(&rdoc, pool, INV_OUTPATIENT, "44170001", "卫生院", "", "0000000002", "x9y8z7",
                            "20260316080000123", 0, NULL, NULL, n) == HG_EINVALID, "a bill code is required");
}

/* ---- identifiers ---- */

static void test_identifiers(void)
{
    char code[7], no[11];
    int i, ok_len = 1, ok_alpha = 1, seen[36] = { 0 }, distinct = 0;
    char first[7] = "", differ = 0;

    for (i = 0; i < 1000; i++) {
        const char *c;
        if (invoice_check_code(code) != APR_SUCCESS) ok_len = 0;
        if (strlen(code) != 6) ok_len = 0;
        for (c = code; *c; c++) {
            const char *at = strchr("0123456789abcdefghijklmnopqrstuvwxyz", *c);
            if (!at || !*c) ok_alpha = 0;
            else seen[at - "0123456789abcdefghijklmnopqrstuvwxyz"] = 1;
        }
        if (i == 0) strcpy(first, code);
        else if (strcmp(first, code) != 0) differ = 1;
    }
    for (i = 0; i < 36; i++) distinct += seen[i];
    tap_ok(ok_len, "1000 check codes of 6 characters");
    tap_ok(ok_alpha, "all from [0-9a-z]");
    tap_is_int(distinct, 36, "every one of the 36 characters appears in 6000 draws");
    tap_ok(differ, "check codes differ");

    tap_ok(invoice_format_bill_no(no, 1) == APR_SUCCESS && strcmp(no, "0000000001") == 0, "bill no 1");
    tap_ok(invoice_format_bill_no(no, 488888987) == APR_SUCCESS && strcmp(no, "0488888987") == 0,
           "bill no 0488888987");
    tap_ok(invoice_format_bill_no(no, APR_INT64_C(9999999999)) == APR_SUCCESS && strcmp(no, "9999999999") == 0,
           "the last bill no");
    tap_ok(invoice_format_bill_no(no, APR_INT64_C(10000000000)) == HG_EINVALID && no[0] == '\0',
           "beyond 9999999999 is refused");
    tap_ok(invoice_format_bill_no(no, -1) == HG_EINVALID, "negative is refused");
    tap_ok(invoice_format_paper_no(no, 136427183) == APR_SUCCESS && strcmp(no, "0136427183") == 0, "paper no");
    tap_ok(invoice_format_paper_no(no, APR_INT64_C(10000000000)) == HG_EINVALID, "paper no beyond range");

    tap_ok(invoice_valid_batch_code("44010126"), "44010126 is a batch code");
    tap_ok(!invoice_valid_batch_code("4401012") && !invoice_valid_batch_code("440101261")
           && !invoice_valid_batch_code("4401012a") && !invoice_valid_batch_code(NULL)
           && !invoice_valid_batch_code(""), "7, 9 digits, a letter, NULL, empty are not");
    tap_ok(invoice_valid_bill_no("0488888987") && !invoice_valid_bill_no("488888987")
           && !invoice_valid_bill_no("04888889870"), "bill numbers have 10 digits");
}

/* ---- issuance lanes ---- */

static void test_lanes(void)
{
    int count[4] = { 0 }, i, stable = 1;
    char code[8];
    /* FNV-1a's published vector: "a" is 0xe40c292c */
    tap_is_int(invoice_issue_lane("a", 1000), (int)(0xe40c292cu % 1000u), "FNV-1a of \"a\" modulo 1000");
    tap_is_int(invoice_issue_lane("MZ01", 4), (int)(0x13bc9a29u % 4u), "MZ01 with 4 lanes");
    tap_ok(invoice_issue_lane("MZ01", 1) == 0 && invoice_issue_lane("MZ01", 0) == 0
           && invoice_issue_lane(NULL, 4) == 0, "one lane, none, or no code: lane 0");
    for (i = 1; i <= 64; i++) {
        int lane;
        snprintf(code, sizeof(code), "BP%02d", i);
        lane = invoice_issue_lane(code, 4);
        if (lane < 0 || lane > 3) {
            stable = 0;
            continue;
        }
        count[lane]++;
        stable &= invoice_issue_lane(code, 4) == lane;
    }
    tap_ok(stable, "64 billing points: each in a lane 0..3, the same every time");
    tap_ok(count[0] >= 12 && count[1] >= 12 && count[2] >= 12 && count[3] >= 12,
           "BP01..BP64 spread over the 4 lanes (at least 12 in each)");
}

/* ---- masks ---- */

static void test_masks(void)
{
    tap_is_str(invoice_mask_name(pool, "张三"), "张*", "张三");
    tap_is_str(invoice_mask_name(pool, "张三丰"), "张*丰", "张三丰");
    tap_is_str(invoice_mask_name(pool, "欧阳娜娜"), "欧**娜", "欧阳娜娜");
    tap_is_str(invoice_mask_name(pool, "张"), "*", "a 1-character name");
    tap_is_str(invoice_mask_name(pool, "买买提·艾力"), "买****力", "a 6-character name");
    tap_is_str(invoice_mask_name(pool, "Li"), "L*", "an ASCII name");
    tap_is_str(invoice_mask_name(pool, ""), "", "empty name");
    tap_ok(invoice_mask_name(pool, NULL) == NULL, "NULL name");
    tap_ok(invoice_mask_name(pool, "\xe5\xbc\xa0\xff\xfe") != NULL, "invalid UTF-8 does not crash");
    tap_is_str(invoice_mask_id(pool, "440101199001011234"), "440101********1234", "18-digit ID");
    tap_is_str(invoice_mask_id(pool, "440101900101123"), "440101*****1123", "15-digit ID");
    tap_is_str(invoice_mask_id(pool, "E12345678"), "******678", "9-character passport");
    tap_is_str(invoice_mask_id(pool, "12"), "**", "2-character id");
    tap_is_str(invoice_mask_id(pool, "1234"), "***4", "4-character id");
    tap_is_str(invoice_mask_phone(pool, "13812345678"), "138****5678", "mobile");
    tap_is_str(invoice_mask_phone(pool, "020-12345678"), "020*****5678", "landline with area code");
    tap_is_str(invoice_mask_phone(pool, "2345678"), "***5678", "7-digit number");
    tap_is_str(invoice_mask_card(pool, "6222021234567890123"), "***************0123", "bank card");
    tap_is_str(invoice_mask_card(pool, "1234"), "****", "a 4-character card");
    tap_is_str(invoice_mask_email(pool, "zhang.san@example.com"), "z***@example.com", "e-mail address");
    tap_is_str(invoice_mask_email(pool, "@x"), "**", "not an address: masked as a whole");
    tap_ok(invoice_mask_id(pool, NULL) == NULL && invoice_mask_phone(pool, NULL) == NULL
           && invoice_mask_card(pool, NULL) == NULL, "NULL in, NULL out");
}

/* ---- offline tokens ---- */

static void test_offline(void)
{
    unsigned char key[16], key2[16];
    char *t1, *t2, *t3, *t4, *bad;
    int i;

    for (i = 0; i < 16; i++) {
        key[i] = (unsigned char)i;
        key2[i] = (unsigned char)(i + 1);
    }
    tap_ok(invoice_offline_token(&t1, pool, key, "44010001", "OP20260315000123") == APR_SUCCESS, "token");
    tap_is_str(t1, "HMGegFAuLhZwndzO", "known answer (also checked with openssl dgst -sm3 -mac HMAC)");
    invoice_offline_token(&t2, pool, key, "44010001", "OP20260315000123");
    tap_is_str(t2, t1, "stable");
    tap_ok(strlen(t1) == 16 && strspn(t1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 16,
           "16 base64url characters");
    invoice_offline_token(&t3, pool, key, "44010001", "OP20260315000124");
    tap_ok(strcmp(t3, t1) != 0, "another busNo, another token");
    invoice_offline_token(&t4, pool, key2, "44010001", "OP20260315000123");
    tap_ok(strcmp(t4, t1) != 0, "another key, another token");
    invoice_offline_token(&t4, pool, key, "44010002", "OP20260315000123");
    tap_ok(strcmp(t4, t1) != 0, "another institution, another token");
    tap_ok(invoice_offline_token_check(key, "44010001", "OP20260315000123", t1) == 1, "check accepts");
    bad = apr_pstrdup(pool, t1);
    bad[15] = bad[15] == 'A' ? 'B' : 'A';
    tap_ok(invoice_offline_token_check(key, "44010001", "OP20260315000123", bad) == 0, "check refuses a changed token");
    tap_ok(invoice_offline_token_check(key, "44010001", "OP20260315000124", t1) == 0, "check refuses another busNo");
    tap_ok(invoice_offline_token_check(key2, "44010001", "OP20260315000123", t1) == 0, "check refuses another key");
    tap_ok(invoice_offline_token_check(key, "44010001", "OP20260315000123", apr_pstrndup(pool, t1, 15)) == 0
           && invoice_offline_token_check(key, "44010001", "OP20260315000123", NULL) == 0,
           "check refuses a short or missing token");
    tap_ok(invoice_offline_token(&t4, pool, key, "4401:0001", "OP1") == HG_EINVALID && !t4,
           "an institution with ':' is refused");
    tap_ok(invoice_offline_token(&t4, pool, key, "44010001", "") == HG_EINVALID, "an empty busNo is refused");
}

/* getEBillUnPrintList's request (invoice_list_query) and its test of a bill's document */
static void test_list(json_t *op)
{
    /* a good period and card, before the field under test */
#define PERIOD "{\"busBgnDate\":\"20260301000000000\",\"busEndDate\":\"20260331235959999\",\"cardNo\":\"C1\","
    static const struct { const char *body, *code, *field, *what; } bad[] = {
        { "{\"busEndDate\":\"20260331235959999\",\"cardNo\":\"C1\"}", HG_FIELD_REQUIRED, "busBgnDate", "no begin" },
        { "{\"busBgnDate\":\"20260301000000000\",\"busEndDate\":\"20260331235959999\"}", HG_FIELD_REQUIRED, "cardNo",
          "no card" },
        { "{\"busBgnDate\":\"2026-03-01\",\"busEndDate\":\"20260331235959999\",\"cardNo\":\"C1\"}", HG_FIELD_DATE,
          "busBgnDate", "a dashed date" },
        { "{\"busBgnDate\":\"20260229000000000\",\"busEndDate\":\"20260331235959999\",\"cardNo\":\"C1\"}",
          HG_FIELD_DATE, "busBgnDate", "29 February of a common year" },
        { "{\"busBgnDate\":\"20260301000000000\",\"busEndDate\":\"20260228235959999\",\"cardNo\":\"C1\"}",
          HG_FIELD_RANGE, "busEndDate", "an end before the begin" },
        { "{\"busBgnDate\":\"20250301000000000\",\"busEndDate\":\"20260302000000001\",\"cardNo\":\"C1\"}",
          HG_FIELD_RANGE, "busEndDate", "366 days and a millisecond" },
        { PERIOD "\"pageSize\":0}", HG_FIELD_RANGE, "pageSize", "page size 0" },
        { PERIOD "\"pageSize\":\"101\"}", HG_FIELD_RANGE, "pageSize", "page size 101 as a string" },
        { PERIOD "\"pageNo\":-1}", HG_FIELD_RANGE, "pageNo", "a negative page" },
        { PERIOD "\"pageNo\":\"+1\"}", HG_FIELD_TYPE, "pageNo", "a sign in a page string" },
        { PERIOD "\"pageNo\":\"\"}", HG_FIELD_TYPE, "pageNo", "an empty page string" },
        { PERIOD "\"pageNo\":true}", HG_FIELD_TYPE, "pageNo", "a boolean page" },
    };
    invoice_list_query_t q;
    hg_error_t *e;
    json_t *doc, *data;
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        e = NULL;
        tap_ok(invoice_list_query(&q, pool, parse(bad[i].body), &e) == HG_EINVALID && e
               && !strcmp(e->code, bad[i].code) && e->field && !strcmp(e->field, bad[i].field),
               "list query refused: %s (%s on %s)", bad[i].what, bad[i].code, bad[i].field);
    }
    e = NULL;
    tap_ok(invoice_list_query(&q, pool, parse("{\"busBgnDate\":\"20250301000000000\",\"busEndDate\":"
           "\"20260302000000000\",\"cardNo\":\"C1\",\"cardType\":\"\",\"pageNo\":\"007\",\"pageSize\":100}"), &e)
           == APR_SUCCESS && q.page_no == 7 && q.page_size == 100 && !q.card_type && !q.patient_id
           && !strcmp(q.card_no, "C1"), "366 days, page as digits, 100 a page, an empty cardType is none");
    tap_ok(invoice_list_query(&q, pool, parse("{\"busBgnDate\":\"20260301000000000\",\"busEndDate\":"
           "\"20260301000000000\",\"cardNo\":\"C1\"}"), &e) == APR_SUCCESS && q.page_no == 1
           && q.page_size == INVOICE_LIST_PAGE, "a period of one instant; page 1 of 20 by default");

    /* the fixture's bill (a copy: the document shares its data, and one check below changes it):
     * busDateTime 20260315093012123, cardType 1101, patientId P0001234 */
    tap_ok(invoice_make_doc(&doc, pool, INV_OUTPATIENT, "44010001", "广州市演示人民医院", "44010126", "0000000001",
                            "a1b2c3", "20260315093100000", 0, NULL, NULL, hg_json_own(pool, json_deep_copy(op)))
           == APR_SUCCESS, "a document to list");
    data = json_object_get(doc, "data");
    tap_is_str(hg_json_gets(data, "busDateTime", NULL), "20260315093012123", "its business time");
#define LIST(b, e2, ct, pid) (invoice_list_query(&q, pool, parse("{\"busBgnDate\":\"" b "\",\"busEndDate\":\"" e2 \
                             "\",\"cardNo\":\"C1\"" ct pid "}"), &e) == APR_SUCCESS && invoice_list_match(&q, doc))
    tap_ok(LIST("20260315093012123", "20260315093012123", "", ""), "in a period that is its very instant");
    tap_ok(!LIST("20260315093012124", "20260331000000000", "", ""), "not from a millisecond later");
    tap_ok(!LIST("20260301000000000", "20260315093012122", "", ""), "nor up to a millisecond before");
    tap_ok(LIST("20260301000000000", "20260331000000000", ",\"cardType\":\"1101\"", ",\"patientId\":\"P0001234\""),
           "its card type and patient id");
    tap_ok(!LIST("20260301000000000", "20260331000000000", ",\"cardType\":\"01\"", ""), "not another card type");
    tap_ok(!LIST("20260301000000000", "20260331000000000", "", ",\"patientId\":\"P0001235\""), "nor another patient");
    json_object_del(data, "patientId");
    tap_ok(!LIST("20260301000000000", "20260331000000000", "", ",\"patientId\":\"P0001234\""),
           "a bill without a patient id is not that patient's");
    tap_ok(LIST("20260301000000000", "20260331000000000", "", ""), "but is listed when none is asked");
#undef LIST
#undef PERIOD
}

int main(void)
{
    json_t *op;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    op = parse(OUTPATIENT);

    test_kinds();
    test_titles();
    test_validate(op);
    test_validate_kinds(op);
    test_normalize(op);
    test_red(op);
    test_doc_seal(op);
    test_identifiers();
    test_lanes();
    test_masks();
    test_offline();
    test_list(op);

    tap_plan(tap_n);
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}
