/* Unit tests for common/hg_json (pool-bound jansson, parse/dump, getters, builders, dates, validator)
 * and common/hg_err (error table and envelope). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "tap.h"
#include "hg_err.h"
#include "hg_json.h"
#include "hg_money.h"

static apr_pool_t *pool;

static int contains(const char *hay, const char *needle)
{
    return hay && needle && strstr(hay, needle) != NULL;
}

/* ---- validator helpers ---- */

static apr_status_t run(const hg_field_t *schema, const char *text, hg_error_t **err)
{
    json_t *j;
    hg_error_t *pe;
    if (hg_json_parse(&j, pool, text, strlen(text), 0, &pe) != APR_SUCCESS) {
        tap_diag("test JSON does not parse: %s (%s)", text, pe->message);
        *err = NULL;
        return APR_EGENERAL;
    }
    return hg_json_validate(pool, j, schema, err);
}

static void v_ok(const hg_field_t *schema, const char *text)
{
    hg_error_t *err = NULL;
    apr_status_t rv = run(schema, text, &err);
    if (!tap_ok(rv == APR_SUCCESS && err == NULL, "valid: %s", text) && err)
        tap_diag("got %s at '%s': %s", err->code, err->field ? err->field : "", err->message);
}

/* rejected with code at field; when msg is not NULL the message must contain it.  Returns the error. */
static hg_error_t *v_bad(const hg_field_t *schema, const char *text, const char *code, const char *field,
                         const char *msg)
{
    hg_error_t *err = NULL;
    apr_status_t rv = run(schema, text, &err);
    int good = rv == HG_EINVALID && err && strcmp(err->code, code) == 0
               && ((!field && !err->field) || (field && err->field && strcmp(err->field, field) == 0))
               && (!msg || contains(err->message, msg));
    if (!tap_ok(good, "invalid: %s -> %s at %s%s%s", text, code, field ? field : "(none)",
                msg ? " / " : "", msg ? msg : ""))
        tap_diag("rv %d, got %s at '%s': %s", (int)rv, err ? err->code : "-",
                 err && err->field ? err->field : "", err ? err->message : "-");
    return err;
}

/* ---- schemas ---- */

static const hg_field_t S_STR[] = {
    { .name = "s", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .min_len = 2, .max_len = 5 },
    HG_FIELDS_END };
static const hg_field_t S_OPT[] = {
    { .name = "o", .type = HG_JT_STRING, .max_len = 3 },
    { .name = "n", .type = HG_JT_STRING, .flags = HG_F_NULLABLE },
    { .name = "rn", .type = HG_JT_STRING, .flags = HG_F_REQUIRED | HG_F_NULLABLE },
    HG_FIELDS_END };
static const char *const YES_NO[] = { "1", "2", NULL };
static const char *const MANY[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", NULL };
static const hg_field_t S_ENUM[] = {
    { .name = "e", .type = HG_JT_STRING, .enum_values = YES_NO },
    { .name = "pt", .type = HG_JT_INTEGER, .enum_values = YES_NO },
    { .name = "m", .type = HG_JT_STRING, .enum_values = MANY },
    HG_FIELDS_END };
static const hg_field_t S_PAT[] = {
    { .name = "code", .type = HG_JT_STRING, .pattern = "[0-9]{8}" },
    { .name = "alt", .type = HG_JT_STRING, .pattern = "ab|cd" },
    { .name = "long", .type = HG_JT_STRING, .pattern = "[0-9]+" },
    HG_FIELDS_END };
static const hg_field_t S_BADPAT[] = {
    { .name = "x", .type = HG_JT_STRING, .pattern = "([" },
    HG_FIELDS_END };
static const hg_field_t S_NUM[] = {
    { .name = "i", .type = HG_JT_INTEGER, .flags = HG_F_MIN | HG_F_MAX, .min = 0, .max = 150 },
    { .name = "x", .type = HG_JT_NUMBER, .flags = HG_F_MIN, .min = 0.5 },
    { .name = "b", .type = HG_JT_BOOLEAN },
    HG_FIELDS_END };
static const hg_field_t S_ANY[] = {
    { .name = "a", .type = HG_JT_ANY, .flags = HG_F_REQUIRED },
    HG_FIELDS_END };
static const hg_field_t S_MONEY[] = {
    { .name = "m", .type = HG_JT_MONEY, .flags = HG_F_REQUIRED },
    { .name = "neg", .type = HG_JT_MONEY, .flags = HG_F_NEGATIVE },
    { .name = "r", .type = HG_JT_MONEY, .flags = HG_F_MIN | HG_F_MAX, .min = 0.01, .max = 100 },
    HG_FIELDS_END };
static const hg_field_t S_DATE[] = {
    { .name = "d", .type = HG_JT_DATE, .flags = HG_F_REQUIRED, .date_format = HG_DATE_TS17 },
    { .name = "od", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    { .name = "dt", .type = HG_JT_DATE, .date_format = HG_DATE_DATETIME },
    HG_FIELDS_END };
static const hg_field_t S_NODATEFMT[] = {
    { .name = "d", .type = HG_JT_DATE },
    HG_FIELDS_END };
static const hg_field_t S_NOTYPE[] = {
    { .name = "t" },
    HG_FIELDS_END };
static const hg_field_t SUB_C[] = {
    { .name = "c", .type = HG_JT_INTEGER, .flags = HG_F_REQUIRED },
    HG_FIELDS_END };
static const hg_field_t SUB_B[] = {
    { .name = "b", .type = HG_JT_OBJECT, .flags = HG_F_REQUIRED, .fields = SUB_C },
    HG_FIELDS_END };
static const hg_field_t SUB_XY[] = {
    { .name = "x", .type = HG_JT_STRING, .flags = HG_F_REQUIRED },
    { .name = "y", .type = HG_JT_INTEGER },
    HG_FIELDS_END };
static const hg_field_t SUB_XY_CLOSED[] = {
    { .name = "x", .type = HG_JT_STRING, .flags = HG_F_REQUIRED },
    HG_FIELDS_END_CLOSED };
static const hg_field_t S_OBJ[] = {
    { .name = "o", .type = HG_JT_OBJECT, .flags = HG_F_REQUIRED | HG_F_CLOSED, .fields = SUB_XY },
    { .name = "open", .type = HG_JT_OBJECT, .fields = SUB_XY },
    { .name = "a", .type = HG_JT_OBJECT, .fields = SUB_B },
    { .name = "anyobj", .type = HG_JT_OBJECT },
    { .name = "endclosed", .type = HG_JT_OBJECT, .fields = SUB_XY_CLOSED },
    HG_FIELDS_END };
static const hg_field_t ITEM[] = {
    { .name = "amt", .type = HG_JT_MONEY, .flags = HG_F_REQUIRED },
    { .name = "name", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 10 },
    HG_FIELDS_END };
static const hg_field_t S_ARR[] = {
    { .name = "items", .type = HG_JT_ARRAY, .flags = HG_F_REQUIRED, .fields = ITEM, .max_items = 3 },
    { .name = "two", .type = HG_JT_ARRAY, .fields = ITEM, .min_items = 2 },
    { .name = "closed", .type = HG_JT_ARRAY, .flags = HG_F_CLOSED, .fields = ITEM },
    { .name = "tags", .type = HG_JT_ARRAY, .items = HG_JT_STRING, .max_len = 3, .pattern = "[a-z]+" },
    { .name = "days", .type = HG_JT_ARRAY, .items = HG_JT_DATE, .date_format = HG_DATE_DATE },
    { .name = "nums", .type = HG_JT_ARRAY, .items = HG_JT_INTEGER, .flags = HG_F_MIN, .min = 1 },
    { .name = "anything", .type = HG_JT_ARRAY },
    HG_FIELDS_END };
static const hg_field_t S_NESTED_ARR[] = {
    { .name = "aa", .type = HG_JT_ARRAY, .items = HG_JT_ARRAY },
    HG_FIELDS_END };
static const hg_field_t S_ORDER[] = {
    { .name = "a", .type = HG_JT_STRING, .flags = HG_F_REQUIRED },
    { .name = "b", .type = HG_JT_STRING, .flags = HG_F_REQUIRED },
    { .name = "c", .type = HG_JT_STRING, .flags = HG_F_REQUIRED },
    HG_FIELDS_END_CLOSED };

/* A slice of the fiscal e-bill issue payload (specs/fiscal-einvoice.md §4.1). */
static const char *const BUS_TYPES[] = { "02", "06", "07", NULL };
static const char *const PAYER_TYPES[] = { "1", "2", NULL };
static const hg_field_t F_PAYCHANNEL[] = {
    { .name = "payChannelCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 10,
      .pattern = "[0-9A-Z]+" },
    { .name = "payChannelValue", .type = HG_JT_MONEY, .flags = HG_F_REQUIRED },
    HG_FIELDS_END_CLOSED };
static const hg_field_t F_CHARGE[] = {
    { .name = "sortNo", .type = HG_JT_INTEGER, .flags = HG_F_MIN, .min = 1 },
    { .name = "chargeCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "chargeName", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 100 },
    { .name = "number", .type = HG_JT_NUMBER, .flags = HG_F_REQUIRED },
    { .name = "amt", .type = HG_JT_MONEY, .flags = HG_F_REQUIRED | HG_F_NEGATIVE },
    { .name = "remark", .type = HG_JT_STRING, .max_len = 200 },
    HG_FIELDS_END };
static const hg_field_t F_ISSUE[] = {
    { .name = "busNo", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "busType", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .enum_values = BUS_TYPES },
    { .name = "payer", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 100 },
    { .name = "busDateTime", .type = HG_JT_DATE, .flags = HG_F_REQUIRED, .date_format = HG_DATE_TS17 },
    { .name = "placeCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "totalAmt", .type = HG_JT_MONEY, .flags = HG_F_REQUIRED },
    { .name = "payerType", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .enum_values = PAYER_TYPES },
    { .name = "age", .type = HG_JT_INTEGER, .flags = HG_F_MIN | HG_F_MAX, .min = 0, .max = 150 },
    { .name = "outHospitalDate", .type = HG_JT_DATE, .date_format = HG_DATE_DATE },
    { .name = "isArrears", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .enum_values = YES_NO },
    { .name = "payChannelDetail", .type = HG_JT_ARRAY, .flags = HG_F_REQUIRED, .fields = F_PAYCHANNEL,
      .max_items = 20 },
    { .name = "chargeDetail", .type = HG_JT_ARRAY, .flags = HG_F_REQUIRED, .fields = F_CHARGE,
      .max_items = 500 },
    HG_FIELDS_END };

static const char ISSUE_OK[] =
    "{\"busNo\":\"OP2024000123\",\"busType\":\"02\",\"payer\":\"张三\",\"busDateTime\":\"20240229093015123\","
    "\"placeCode\":\"001\",\"totalAmt\":\"36.50\",\"payerType\":\"1\",\"age\":42,\"outHospitalDate\":\"\","
    "\"isArrears\":\"1\",\"extra\":\"kept: schema is open\","
    "\"payChannelDetail\":[{\"payChannelCode\":\"01\",\"payChannelValue\":36.5}],"
    "\"chargeDetail\":[{\"sortNo\":1,\"chargeCode\":\"A01\",\"chargeName\":\"挂号费\",\"number\":1,\"amt\":\"6.00\"},"
    "{\"sortNo\":2,\"chargeCode\":\"B02\",\"chargeName\":\"检查费\",\"number\":1,\"amt\":\"20.00\"},"
    "{\"sortNo\":3,\"chargeCode\":\"C03\",\"chargeName\":\"药费\",\"number\":2.5,\"amt\":10.5}]}";

/* src with the first occurrence of from replaced by to */
static const char *repl(const char *src, const char *from, const char *to)
{
    const char *at = strstr(src, from);
    if (!at) {
        tap_diag("test bug: '%s' not found", from);
        return src;
    }
    return apr_pstrcat(pool, apr_pstrndup(pool, src, (apr_size_t)(at - src)), to, at + strlen(from), NULL);
}

static const char *issue_with(const char *from, const char *to)
{
    return repl(ISSUE_OK, from, to);
}

/* ---- regex cache under threads ---- */

static const hg_field_t S_THR_A[] = {
    { .name = "v", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .pattern = "[A-Z]{3}-[0-9]+" },
    HG_FIELDS_END };
static const hg_field_t S_THR_B[] = {
    { .name = "v", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .pattern = "[a-z]+@[a-z]+" },
    HG_FIELDS_END };

static void *thread_main(void *arg)
{
    apr_pool_t *p;
    long wrong = 0;
    int k;
    (void)arg;
    apr_pool_create(&p, NULL);
    for (k = 0; k < 2000; k++) {
        hg_error_t *err;
        json_t *o = hg_json_object(p);
        int use_a = k % 2, good = (k % 3) != 0;
        hg_json_sets(o, "v", use_a ? (good ? "ABC-123" : "abc-123") : (good ? "x@y" : "x@Y"));
        if ((hg_json_validate(p, o, use_a ? S_THR_A : S_THR_B, &err) == APR_SUCCESS) != good) wrong++;
        if (k % 100 == 99) apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return (void *)wrong;
}


/* ---- hg_json_dump against jansson's json_dumps: random trees of every kind of value ---- */
static uint64_t jrng = 0x2545F4914F6CDD1DULL;
static unsigned jr(unsigned n)
{
    jrng ^= jrng >> 12; jrng ^= jrng << 25; jrng ^= jrng >> 27;
    return (unsigned)((jrng * 0x2545F4914F6CDD1DULL) >> 33) % n;
}

/* a text of pieces that matter to the writer: escapes, control bytes, multi-byte UTF-8 */
static const char *const PIECES[] = { "a", "b", "Z", "0", "9", "_", " ", "/", "\\", "\"", "\n", "\t", "\r",
    "\b", "\f", "\x01", "\x1f", "\x7f", "\xc2\x80", "\xc3\xa9", "\xe4\xb8\xad", "\xe6\x96\x87",
    "\xef\xbf\xbf", "\xe2\x80\xa8", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "busNo", "totalAmt",
    "\xe5\xb9\xbf\xe5\xb7\x9e", "12.30" };
static char *jtext(int max)
{
    static char buf[512];
    int n = (int)jr((unsigned)max + 1), i;
    buf[0] = 0;
    for (i = 0; i < n; i++)
        strcat(buf, PIECES[jr(sizeof PIECES / sizeof *PIECES)]);
    return buf;
}

static json_t *jtree(int depth)
{
    unsigned k = depth > 4 ? 4 + jr(6) : jr(10);
    int i, n;
    json_t *v;
    switch (k) {
    case 0: case 1: {
        v = json_object();
        n = (int)jr(13);
        for (i = 0; i < n; i++) {
            /* keys with shared prefixes, and some deleted and set again (insertion order) */
            char key[64];
            snprintf(key, sizeof key, "%s", jr(4) ? jtext(3) : (jr(2) ? "a" : "ab"));
            json_object_set_new(v, key, jtree(depth + 1));
            if (!jr(6)) {
                json_object_del(v, key);
                json_object_set_new(v, key, jtree(depth + 1));
            }
        }
        return v;
    }
    case 2: case 3:
        v = json_array();
        n = (int)jr(9);
        for (i = 0; i < n; i++)
            json_array_append_new(v, jtree(depth + 1));
        return v;
    case 4: case 5:
        return json_string(jtext(12));
    case 6: {
        static const json_int_t ints[] = { 0, 1, -1, 9, 10, 99, 12345, -600, 2147483647LL, -2147483648LL,
                                            9007199254740993LL, INT64_MAX, INT64_MIN };
        return json_integer(jr(2) ? ints[jr(13)] : (json_int_t)(jrng >> jr(64)) * (jr(2) ? 1 : -1));
    }
    case 7: {
        static const double reals[] = { 0.0, -0.0, 0.1, 36.5, 1.0, -2.5, 1e21, 1e22, 1e-7, 123.456, 1e300,
                                        -1e-300, 5e-324, 0.30000000000000004, 100.0, 1234567890123456789.0 };
        double d;
        if (jr(2))
            d = reals[jr(16)];
        else {
            uint64_t bits = jrng;
            memcpy(&d, &bits, sizeof d);
            if (d != d || d - d != 0)     /* NaN or infinite: jansson has no such value */
                d = 1.5;
        }
        return json_real(d);
    }
    case 8: return jr(2) ? json_true() : json_false();
    default: return json_null();
    }
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    tap_plan(276);

    /* ================= hg_err ================= */
    {
        static const struct { const char *code; int status; } want[] = {
            { "HG_JSON_MALFORMED", 400 }, { "HG_JSON_NOT_OBJECT", 400 }, { "HG_FIELD_REQUIRED", 400 },
            { "HG_FIELD_TYPE", 400 }, { "HG_FIELD_TOO_LONG", 400 }, { "HG_FIELD_TOO_SHORT", 400 },
            { "HG_FIELD_PATTERN", 400 }, { "HG_FIELD_ENUM", 400 }, { "HG_FIELD_MONEY", 400 },
            { "HG_FIELD_DATE", 400 }, { "HG_FIELD_RANGE", 400 }, { "HG_FIELD_UNKNOWN", 400 },
            { "HG_TOO_MANY_ITEMS", 400 }, { "HG_BODY_TOO_LARGE", 413 }, { "HG_UNSUPPORTED_MEDIA_TYPE", 415 },
            { "HG_NOT_FOUND", 404 }, { "HG_METHOD_NOT_ALLOWED", 405 }, { "HG_CONFLICT", 409 },
            { "HG_AUTH_MISSING", 401 }, { "HG_AUTH_MALFORMED", 401 }, { "HG_AUTH_UNKNOWN_APP", 401 },
            { "HG_AUTH_BAD_SIGNATURE", 401 }, { "HG_AUTH_STALE_TIMESTAMP", 401 }, { "HG_AUTH_REPLAY", 401 },
            { "HG_AUTH_APP_DISABLED", 403 }, { "HG_FORBIDDEN", 403 }, { "HG_LOGIN_REQUIRED", 401 },
            { "HG_LOGIN_FAILED", 401 }, { "HG_ACCOUNT_LOCKED", 423 }, { "HG_WEAK_PASSWORD", 400 },
            { "HG_CSRF", 403 }, { "HG_DB_UNAVAILABLE", 503 }, { "HG_DB_BUSY", 503 }, { "HG_DB_TIMEOUT", 503 },
            { "HG_PLATFORM_UNAVAILABLE", 502 }, { "HG_PLATFORM_TIMEOUT", 504 },
            { "HG_PLATFORM_REJECTED", 502 }, { "HG_INTERNAL", 500 } };
        apr_size_t n = 0, i, j;
        const hg_errdef_t *t = hg_err_table(&n);
        int bad = 0, dup = 0, shape = 0;

        for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            const hg_errdef_t *d = hg_err_lookup(want[i].code);
            if (!d || d->status != want[i].status || strcmp(d->code, want[i].code) != 0) {
                tap_diag("code %s: %s", want[i].code, d ? "wrong status" : "missing");
                bad++;
            }
        }
        tap_ok(bad == 0, "all %d required codes present with their HTTP status", (int)i);
        tap_ok(t != NULL && n >= sizeof(want) / sizeof(want[0]), "hg_err_table lists %d codes", (int)n);
        for (i = 0; i < n; i++) {
            if (strncmp(t[i].code, "HG_", 3) != 0 || t[i].status < 400 || t[i].status > 599
                || !t[i].message || !*t[i].message || hg_utf8_count(NULL, t[i].message, strlen(t[i].message)))
                shape++;
            for (j = i + 1; j < n; j++) dup += strcmp(t[i].code, t[j].code) == 0;
        }
        tap_ok(shape == 0, "every table row: HG_ prefix, 4xx/5xx status, UTF-8 default message");
        tap_ok(dup == 0, "no code is listed twice");
        tap_ok(hg_err_lookup("HG_NO_SUCH_CODE") == NULL && hg_err_lookup(NULL) == NULL, "lookup of unknown / NULL");
        tap_is_str(HG_FIELD_REQUIRED, "HG_FIELD_REQUIRED", "constant HG_FIELD_REQUIRED spells its code");
        {
            char copy[] = "HG_DB_BUSY";                 /* compared by content, not by address */
            const hg_errdef_t *d = hg_err_lookup(copy);
            tap_ok(d && d->code == HG_DB_BUSY && d->status == 503, "lookup by an equal string finds the row");
        }
    }
    {
        hg_error_t *e = hg_error_make(pool, HG_FIELD_REQUIRED, "payer", NULL);
        tap_ok(e && strcmp(e->code, "HG_FIELD_REQUIRED") == 0 && e->status == 400
               && strcmp(e->message, hg_err_lookup(HG_FIELD_REQUIRED)->message) == 0
               && strcmp(e->field, "payer") == 0, "error_make with default message");
        e = hg_error_make(pool, HG_ACCOUNT_LOCKED, NULL, "locked for %d minutes", 15);
        tap_ok(e->status == 423 && strcmp(e->message, "locked for 15 minutes") == 0 && e->field == NULL,
               "error_make formats the message, field NULL");
        e = hg_error_make(pool, "HG_BOGUS", "x", "detail %s", "here");
        tap_ok(strcmp(e->code, "HG_INTERNAL") == 0 && e->status == 500 && contains(e->message, "HG_BOGUS")
               && contains(e->message, "detail here"), "unknown code -> HG_INTERNAL/500 naming the code");
        e = hg_error_make(pool, "HG_BOGUS", NULL, NULL);
        tap_ok(e->status == 500 && contains(e->message, "unknown error code 'HG_BOGUS'"),
               "unknown code without text");
        e = hg_error_make(pool, HG_FIELD_TYPE, "a\xff", "bad \xc3 byte");
        tap_ok(hg_utf8_count(NULL, e->message, strlen(e->message)) == APR_SUCCESS
               && hg_utf8_count(NULL, e->field, strlen(e->field)) == APR_SUCCESS
               && contains(e->message, "\xef\xbf\xbd"), "invalid UTF-8 in message/field replaced by U+FFFD");
    }
    {
        hg_error_t *e = hg_error_make(pool, HG_FIELD_REQUIRED, "payer", "缺少患者姓名 \"payer\"");
        char *js = hg_error_json(pool, e, "r-1");
        json_t *back;
        json_error_t je;
        tap_is_str(js, "{\"code\":\"HG_FIELD_REQUIRED\",\"message\":\"缺少患者姓名 \\\"payer\\\"\","
                       "\"field\":\"payer\",\"request_id\":\"r-1\"}", "error JSON: compact, ordered, UTF-8 kept");
        back = json_loads(js, JSON_REJECT_DUPLICATES, &je);
        tap_ok(back && json_object_size(back) == 4, "error JSON parses back with 4 keys");
        tap_is_str(json_string_value(json_object_get(back, "code")), "HG_FIELD_REQUIRED", "  code");
        tap_is_str(json_string_value(json_object_get(back, "message")), "缺少患者姓名 \"payer\"", "  message");
        tap_is_str(json_string_value(json_object_get(back, "field")), "payer", "  field");
        tap_is_str(json_string_value(json_object_get(back, "request_id")), "r-1", "  request_id");
        json_decref(back);

        e = hg_error_make(pool, HG_DB_BUSY, NULL, NULL);
        js = hg_error_json(pool, e, "abc");
        back = json_loads(js, 0, &je);
        tap_ok(back && json_object_size(back) == 3 && !json_object_get(back, "field")
               && json_is_string(json_object_get(back, "request_id")), "field omitted when NULL");
        json_decref(back);
        js = hg_error_json(pool, e, NULL);
        back = json_loads(js, 0, &je);
        tap_ok(back && json_object_size(back) == 2 && !json_object_get(back, "request_id"),
               "request_id omitted when NULL");
        json_decref(back);
        js = hg_error_json(pool, hg_error_make(pool, HG_INTERNAL, NULL, NULL), "id\xff");
        tap_ok(!contains(js, "\\u") && contains(js, "系统内部错误") && hg_json_own(pool, json_loads(js, 0, &je)) != NULL
               && contains(js, "id\xef\xbf\xbd"), "default Chinese text not escaped; bad request id repaired");
        tap_ok(contains(hg_error_json(pool, NULL, NULL), "HG_INTERNAL"), "error_json(NULL) still answers");
    }

    /* ================= UTF-8 ================= */
    {
        apr_size_t n = 0;
        tap_ok(hg_utf8_count(&n, "中文ab", strlen("中文ab")) == APR_SUCCESS && n == 4, "utf8 count 中文ab = 4");
        tap_ok(hg_utf8_count(&n, "\xf0\x9f\x98\x80!", 5) == APR_SUCCESS && n == 2, "utf8 4-byte sequence");
        tap_ok(hg_utf8_count(&n, "", 0) == APR_SUCCESS && n == 0, "utf8 empty");
        tap_ok(hg_utf8_count(&n, "\xff", 1) == HG_EINVALID, "utf8 rejects 0xFF");
        tap_ok(hg_utf8_count(&n, "\xc0\xaf", 2) == HG_EINVALID, "utf8 rejects overlong 2-byte");
        tap_ok(hg_utf8_count(&n, "\xe0\x80\xaf", 3) == HG_EINVALID, "utf8 rejects overlong 3-byte");
        tap_ok(hg_utf8_count(&n, "\xed\xa0\x80", 3) == HG_EINVALID, "utf8 rejects a surrogate");
        tap_ok(hg_utf8_count(&n, "\xf4\x90\x80\x80", 4) == HG_EINVALID, "utf8 rejects > U+10FFFF");
        tap_ok(hg_utf8_count(&n, "\xe4\xb8", 2) == HG_EINVALID, "utf8 rejects a truncated sequence");
        tap_ok(hg_utf8_count(&n, "\x80" "a", 2) == HG_EINVALID, "utf8 rejects a stray continuation byte");
        tap_is_str(hg_utf8_repair(pool, "a\xff" "b\xe4\xb8"), "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd",
                   "repair replaces each bad byte");
    }

    /* ================= lifetime ================= */
    {
        apr_pool_t *sub;
        json_t *j = json_object(), *parsed;
        hg_error_t *err;
        apr_pool_create(&sub, pool);
        json_incref(j);                                 /* refcount 2: ours + the pool's */
        tap_ok(hg_json_own(sub, j) == j && j->refcount == 2, "hg_json_own returns j, takes no reference");
        apr_pool_clear(sub);
        tap_ok(j->refcount == 1, "apr_pool_clear decref'd the owned object (refcount %d)", (int)j->refcount);
        apr_pool_clear(sub);
        tap_ok(j->refcount == 1, "the cleanup runs once only");
        json_decref(j);
        tap_ok(hg_json_own(sub, NULL) == NULL, "hg_json_own(NULL) is NULL");
        hg_json_parse(&parsed, sub, "{\"a\":[1,2]}", 11, 0, &err);
        json_incref(parsed);
        tap_ok(parsed->refcount == 2, "parsed object is held once by the pool");
        apr_pool_destroy(sub);
        tap_ok(parsed->refcount == 1, "apr_pool_destroy decref'd the parsed object");
        json_decref(parsed);
    }

    /* ================= parse ================= */
    {
        json_t *j = (json_t *)1;
        hg_error_t *err = NULL;
        static const char withtail[] = "{\"a\":1}garbage";

        tap_ok(hg_json_parse(&j, pool, "{\"a\":\"中\"}", strlen("{\"a\":\"中\"}"), 0, &err) == APR_SUCCESS
               && json_is_object(j) && err == NULL, "parse an object");
        tap_ok(hg_json_parse(&j, pool, withtail, 7, 0, &err) == APR_SUCCESS
               && json_integer_value(json_object_get(j, "a")) == 1, "parse honours len");
        tap_ok(hg_json_parse(&j, pool, "[1]", 3, 0, &err) == HG_EINVALID && j == NULL && err
               && strcmp(err->code, "HG_JSON_NOT_OBJECT") == 0 && err->status == 400
               && contains(err->message, "array"), "top-level array -> HG_JSON_NOT_OBJECT");
        tap_ok(hg_json_parse(&j, pool, "[1]", 3, HG_JSON_PARSE_ANY, &err) == APR_SUCCESS && json_is_array(j),
               "top-level array with HG_JSON_PARSE_ANY");
        tap_ok(hg_json_parse(&j, pool, "42", 2, 0, &err) == HG_EINVALID
               && strcmp(err->code, HG_JSON_NOT_OBJECT) == 0, "top-level number -> HG_JSON_NOT_OBJECT");
        tap_ok(hg_json_parse(&j, pool, "42", 2, HG_JSON_PARSE_ANY, &err) == APR_SUCCESS && json_is_integer(j),
               "top-level number with HG_JSON_PARSE_ANY");
        tap_ok(hg_json_parse(&j, pool, "", 0, 0, &err) == HG_EINVALID && strcmp(err->code, HG_JSON_MALFORMED) == 0,
               "empty body -> HG_JSON_MALFORMED");
        tap_ok(hg_json_parse(&j, pool, "{\"a\":1,}", 8, 0, &err) == HG_EINVALID
               && strcmp(err->code, HG_JSON_MALFORMED) == 0 && contains(err->message, "line 1")
               && contains(err->message, "column"), "syntax error names line and column");
        {
            apr_status_t rv = hg_json_parse(&j, pool, "{\n\"a\": 1,\n\"b\": }", 16, 0, &err);
            tap_ok(rv == HG_EINVALID && contains(err->message, "line 3"), "syntax error on line 3: %s",
                   err ? err->message : "");
            rv = hg_json_parse(&j, pool, "{\"a\":1,\"a\":2}", 13, 0, &err);
            tap_ok(rv == HG_EINVALID && strcmp(err->code, HG_JSON_MALFORMED) == 0
                   && contains(err->message, "duplicate"), "duplicate keys rejected: %s", err ? err->message : "");
        }
        tap_ok(hg_json_parse(&j, pool, "{\"o\":{\"k\":1,\"k\":1}}", 19, 0, &err) == HG_EINVALID,
               "nested duplicate keys rejected");
        tap_ok(hg_json_parse(&j, pool, "{\"a\":\"\xff\"}", 9, 0, &err) == HG_EINVALID
               && strcmp(err->code, HG_JSON_MALFORMED) == 0
               && hg_utf8_count(NULL, err->message, strlen(err->message)) == APR_SUCCESS,
               "invalid UTF-8 rejected, message itself valid UTF-8");
        tap_ok(hg_json_parse(&j, pool, "{\"a\":\"x\\u0000y\"}", 16, 0, &err) == HG_EINVALID,
               "\\u0000 in a string rejected");
        tap_ok(hg_json_parse(&j, pool, "{} x", 4, 0, &err) == HG_EINVALID, "trailing garbage rejected");
        tap_ok(hg_json_parse(&j, pool, "\xEF\xBB\xBF{\"a\":1}", 10, 0, &err) == APR_SUCCESS && json_is_object(j),
               "a leading UTF-8 BOM is skipped");
        tap_ok(hg_json_parse(&j, pool, "\xEF\xBB\xBF", 3, 0, &err) == HG_EINVALID
               && strcmp(err->code, HG_JSON_MALFORMED) == 0, "a BOM alone is malformed");
        tap_ok(hg_json_parse(&j, pool, "{\"a\":1}\xEF\xBB\xBF", 10, 0, &err) == HG_EINVALID,
               "a BOM elsewhere is not skipped");
        tap_ok(hg_json_parse(&j, pool, "{\"a\":1}", 7, 0, NULL) == APR_SUCCESS
               && hg_json_parse(&j, pool, "{", 1, 0, NULL) == HG_EINVALID && j == NULL, "err may be NULL");
    }

    /* ================= dump ================= */
    {
        json_t *o = hg_json_object(pool);
        hg_json_seti(o, "b", 1);
        hg_json_sets(o, "a", "中文");
        tap_is_str(hg_json_dump(pool, o, 0), "{\"b\":1,\"a\":\"中文\"}", "dump: compact, insertion order, UTF-8");
        tap_is_str(hg_json_dump(pool, o, HG_JSON_DUMP_SORTED), "{\"a\":\"中文\",\"b\":1}", "dump sorted");
        tap_is_str(hg_json_dump(pool, hg_json_own(pool, json_integer(42)), 0), "42", "dump a scalar");
        tap_ok(hg_json_dump(pool, NULL, 0) == NULL, "dump NULL -> NULL");
        {
            json_t *r;
            const char *t = "{\"a\":12.34,\"b\":0.1,\"c\":-36.5,\"d\":1e-07}";
            hg_json_parse(&r, pool, t, strlen(t), 0, NULL);
            tap_is_str(hg_json_dump(pool, r, 0), "{\"a\":12.34,\"b\":0.1,\"c\":-36.5,\"d\":1e-7}",
                       "dump prints reals as written (15 digits)");
            tap_is_str(hg_json_dump(pool, r, HG_JSON_DUMP_REAL17),
                       "{\"a\":12.34,\"b\":0.10000000000000001,\"c\":-36.5,\"d\":9.9999999999999995e-8}",
                       "HG_JSON_DUMP_REAL17 prints 17 digits");
        }
    }

    /* ================= getters ================= */
    {
        json_t *j;
        apr_int64_t v = -1;
        const char *t = "{\"a\":{\"b\":{\"c\":\"x\",\"n\":5,\"f\":1.5,\"m\":\"12.30\",\"mn\":12.3,\"mi\":7,"
                        "\"z\":null,\"neg\":\"-0.50\"}}}";
        hg_json_parse(&j, pool, t, strlen(t), 0, NULL);
        tap_ok(json_is_string(hg_json_get(j, "a", "b", "c", NULL)), "get a.b.c");
        tap_ok(hg_json_get(j, NULL) == j, "get with no keys is the value itself");
        tap_ok(hg_json_get(j, "a", "x", "c", NULL) == NULL, "get through a missing key");
        tap_ok(hg_json_get(j, "a", "b", "c", "d", NULL) == NULL, "get through a non-object");
        tap_ok(hg_json_get(NULL, "a", NULL) == NULL, "get on NULL");
        tap_is_str(hg_json_gets(j, "a", "b", "c", NULL), "x", "gets");
        tap_ok(hg_json_gets(j, "a", "b", "n", NULL) == NULL, "gets on an integer -> NULL");
        tap_ok(hg_json_geti(j, &v, "a", "b", "n", NULL) == APR_SUCCESS && v == 5, "geti");
        tap_ok(hg_json_geti(j, &v, "a", "b", "nope", NULL) == APR_NOTFOUND, "geti missing -> APR_NOTFOUND");
        tap_ok(hg_json_geti(j, &v, "a", "b", "z", NULL) == APR_NOTFOUND, "geti null -> APR_NOTFOUND");
        tap_ok(hg_json_geti(j, &v, "a", "b", "c", NULL) == HG_EINVALID, "geti on a string -> HG_EINVALID");
        tap_ok(hg_json_geti(j, &v, "a", "b", "f", NULL) == HG_EINVALID, "geti on a real -> HG_EINVALID");
        tap_ok(hg_json_getm(j, &v, "a", "b", "m", NULL) == APR_SUCCESS && v == 1230, "getm string");
        tap_ok(hg_json_getm(j, &v, "a", "b", "mn", NULL) == APR_SUCCESS && v == 1230, "getm real");
        tap_ok(hg_json_getm(j, &v, "a", "b", "mi", NULL) == APR_SUCCESS && v == 700, "getm integer");
        tap_ok(hg_json_getm(j, &v, "a", "b", "neg", NULL) == APR_SUCCESS && v == -50, "getm negative");
        tap_ok(hg_json_getm(j, &v, "a", "b", "c", NULL) == HG_EINVALID, "getm on 'x' -> HG_EINVALID");
        tap_ok(hg_json_getm(j, &v, "a", "b", "q", NULL) == APR_NOTFOUND, "getm missing");
    }

    /* ================= builders ================= */
    {
        json_t *o = hg_json_object(pool), *arr = hg_json_own(pool, json_array());
        tap_ok(hg_json_sets(o, "s", "中") == APR_SUCCESS && hg_json_sets(o, "n", NULL) == APR_SUCCESS
               && hg_json_seti(o, "i", -7) == APR_SUCCESS && hg_json_setb(o, "t", 1) == APR_SUCCESS
               && hg_json_setm(o, "m", 1234) == APR_SUCCESS && hg_json_setm(o, "z", -5) == APR_SUCCESS
               && hg_json_set_new(o, "a", json_pack("[i]", 1)) == APR_SUCCESS
               && hg_json_set_new(o, "nn", NULL) == APR_SUCCESS, "builders succeed");
        tap_is_str(hg_json_dump(pool, o, 0),
                   "{\"s\":\"中\",\"n\":null,\"i\":-7,\"t\":true,\"m\":\"12.34\",\"z\":\"-0.05\",\"a\":[1],\"nn\":null}",
                   "builders produce the expected JSON");
        tap_ok(hg_json_sets(o, "bad", "\xff") == HG_EINVALID && !json_object_get(o, "bad"),
               "sets rejects invalid UTF-8");
        tap_ok(hg_json_sets(o, "\xff", "v") == HG_EINVALID, "sets rejects an invalid key");
        tap_ok(hg_json_sets(arr, "k", "v") == HG_EINVALID && hg_json_sets(NULL, "k", "v") == HG_EINVALID,
               "sets on a non-object");
        tap_ok(hg_json_setm(o, "x", APR_INT64_MIN) == HG_EOVERFLOW, "setm rejects INT64_MIN");
        tap_ok(hg_json_sets(o, NULL, "v") == HG_EINVALID, "NULL key rejected");
    }

    /* ================= dates ================= */
    {
        apr_time_exp_t tm;
        const char *why = NULL;
#define D_OK(s, f)  tap_ok(hg_date_parse(NULL, s, strlen(s), f, NULL) == APR_SUCCESS, "date ok: %s as %s", s, f)
#define D_BAD(s, f, w) do { apr_status_t rv_; why = NULL; \
        rv_ = hg_date_parse(NULL, s, strlen(s), f, &why); \
        tap_ok(rv_ == HG_EINVALID && contains(why, w), "date bad: '%s' as %s (%s)", s, f, \
               why ? why : "no reason"); } while (0)
        tap_ok(hg_date_parse(&tm, "20240229235959999", 17, HG_DATE_TS17, &why) == APR_SUCCESS && why == NULL
               && tm.tm_year == 124 && tm.tm_mon == 1 && tm.tm_mday == 29 && tm.tm_hour == 23 && tm.tm_min == 59
               && tm.tm_sec == 59 && tm.tm_usec == 999000, "TS17 fields filled");
        tap_ok(tm.tm_wday == 4 && tm.tm_yday == 59, "2024-02-29 is a Thursday, yday 59 (got %d, %d)",
               tm.tm_wday, tm.tm_yday);
        hg_date_parse(&tm, "2023-01-01", 10, HG_DATE_DATE, NULL);
        tap_ok(tm.tm_wday == 0 && tm.tm_yday == 0 && tm.tm_hour == 0, "2023-01-01 is a Sunday");
        D_OK("20240101000000000", HG_DATE_TS17);
        D_OK("20241231235959", HG_DATE_TS14);
        D_OK("2024-02-29", HG_DATE_DATE);
        D_OK("2024-02-29 12:30:45", HG_DATE_DATETIME);
        D_OK("20000229", HG_DATE_DATE8);
        D_OK("20240430", HG_DATE_DATE8);
        D_OK("00010101", HG_DATE_DATE8);
        D_BAD("20230229000000000", HG_DATE_TS17, "day");
        D_BAD("20240101250000000", HG_DATE_TS17, "hour");
        D_BAD("20240101006000000", HG_DATE_TS17, "minute");
        D_BAD("20240101000060000", HG_DATE_TS17, "second");
        D_BAD("20241301000000000", HG_DATE_TS17, "month");
        D_BAD("20240001000000000", HG_DATE_TS17, "month");
        D_BAD("20240100000000000", HG_DATE_TS17, "day");
        D_BAD("2024022923595999", HG_DATE_TS17, "short");
        D_BAD("202402292359599990", HG_DATE_TS17, "long");
        D_BAD("2024a229235959999", HG_DATE_TS17, "digit");
        D_BAD("2023-02-29", HG_DATE_DATE, "day");
        D_BAD("2024/02/29", HG_DATE_DATE, "separator");
        D_BAD("2024-2-29", HG_DATE_DATE, "");
        D_BAD("2024-02-29T12:30:45", HG_DATE_DATETIME, "separator");
        D_BAD("2024-02-29 24:00:00", HG_DATE_DATETIME, "hour");
        D_BAD("19000229", HG_DATE_DATE8, "day");
        D_BAD("21000229", HG_DATE_DATE8, "day");
        D_BAD("20240431", HG_DATE_DATE8, "day");
        D_BAD("00000101", HG_DATE_DATE8, "year");
        D_BAD("", HG_DATE_DATE8, "short");
        D_BAD("2024-02-2\xe4\xb8\x80", HG_DATE_DATE, "digit");
    }

    /* ================= validator: strings ================= */
    v_ok(S_STR, "{\"s\":\"ab\"}");
    v_ok(S_STR, "{\"s\":\"abcde\"}");
    v_ok(S_STR, "{\"s\":\"中文字符串\"}");                               /* 5 code points, 15 bytes */
    v_bad(S_STR, "{\"s\":\"中文字符串啊\"}", HG_FIELD_TOO_LONG, "s", "at most 5 characters allowed, found 6");
    v_bad(S_STR, "{\"s\":\"a\"}", HG_FIELD_TOO_SHORT, "s", "at least 2");
    v_bad(S_STR, "{\"s\":\"\"}", HG_FIELD_REQUIRED, "s", "empty");
    v_bad(S_STR, "{}", HG_FIELD_REQUIRED, "s", "required");
    v_bad(S_STR, "{\"s\":null}", HG_FIELD_REQUIRED, "s", "null");
    v_bad(S_STR, "{\"s\":12}", HG_FIELD_TYPE, "s", "expected string, found integer 12");
    v_bad(S_STR, "{\"s\":true}", HG_FIELD_TYPE, "s", "found boolean true");
    v_bad(S_STR, "{\"s\":[]}", HG_FIELD_TYPE, "s", "found array");
    v_bad(S_STR, "{\"s\":{}}", HG_FIELD_TYPE, "s", "found object");
    v_bad(S_STR, "{\"s\":1.5}", HG_FIELD_TYPE, "s", "found number 1.5");
    /* optional, nullable */
    v_ok(S_OPT, "{\"rn\":null}");
    v_ok(S_OPT, "{\"o\":\"\",\"n\":null,\"rn\":\"x\"}");                 /* "" = not given */
    v_ok(S_OPT, "{\"o\":\"abc\",\"n\":\"v\",\"rn\":null}");
    v_bad(S_OPT, "{}", HG_FIELD_REQUIRED, "rn", NULL);                    /* REQUIRED|NULLABLE: key needed */
    v_bad(S_OPT, "{\"o\":null,\"rn\":null}", HG_FIELD_TYPE, "o", "expected string, found null");
    v_bad(S_OPT, "{\"o\":\"abcd\",\"rn\":null}", HG_FIELD_TOO_LONG, "o", NULL);
    /* invalid UTF-8 and NUL can only come from code-built values: jansson's parser refuses them */
    {
        static const char *const bad[] = { "\xff\xfe", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ab\xe4\xb8" };
        size_t i;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            json_t *o = hg_json_object(pool);
            hg_error_t *err = NULL;
            json_object_set_new(o, "s", json_stringn_nocheck(bad[i], strlen(bad[i])));
            tap_ok(hg_json_validate(pool, o, S_STR, &err) == HG_EINVALID && err
                   && strcmp(err->code, HG_FIELD_TYPE) == 0 && contains(err->message, "UTF-8")
                   && hg_utf8_count(NULL, err->message, strlen(err->message)) == APR_SUCCESS,
                   "invalid UTF-8 #%d rejected, message is clean UTF-8", (int)i);
        }
        {
            json_t *o = hg_json_object(pool);
            hg_error_t *err = NULL;
            json_object_set_new(o, "s", json_stringn("a\0b", 3));
            tap_ok(hg_json_validate(pool, o, S_STR, &err) == HG_EINVALID && contains(err->message, "NUL"),
                   "embedded NUL rejected");
        }
    }
    /* enum */
    v_ok(S_ENUM, "{\"e\":\"1\",\"pt\":2,\"m\":\"l\"}");
    v_bad(S_ENUM, "{\"e\":\"3\"}", HG_FIELD_ENUM, "e", "expected one of '1', '2'; found '3'");
    v_bad(S_ENUM, "{\"e\":\"\xef\xbc\x91\"}", HG_FIELD_ENUM, "e", NULL);        /* full-width １ */
    v_bad(S_ENUM, "{\"e\":1}", HG_FIELD_TYPE, "e", NULL);
    v_bad(S_ENUM, "{\"pt\":3}", HG_FIELD_ENUM, "pt", "found 3");
    v_bad(S_ENUM, "{\"pt\":\"1\"}", HG_FIELD_TYPE, "pt", "expected integer");
    v_bad(S_ENUM, "{\"m\":\"z\"}", HG_FIELD_ENUM, "m", "'j', …");              /* list capped at 10 */
    /* pattern (anchored) */
    v_ok(S_PAT, "{\"code\":\"11010125\",\"alt\":\"cd\"}");
    v_ok(S_PAT, "{\"alt\":\"ab\"}");
    v_bad(S_PAT, "{\"code\":\"1101012\"}", HG_FIELD_PATTERN, "code", "value '1101012' does not match");
    v_bad(S_PAT, "{\"code\":\"110101250\"}", HG_FIELD_PATTERN, "code", NULL);
    v_bad(S_PAT, "{\"code\":\"a11010125\"}", HG_FIELD_PATTERN, "code", NULL);
    v_bad(S_PAT, "{\"alt\":\"abx\"}", HG_FIELD_PATTERN, "alt", NULL);          /* ^(ab|cd)$, not ^ab|cd$ */
    v_bad(S_PAT, "{\"alt\":\"xcd\"}", HG_FIELD_PATTERN, "alt", NULL);
    {
        /* echo limit: 100 characters in, 64 out plus an ellipsis */
        char big[101], *want64, *want65;
        hg_error_t *err;
        memset(big, '7', 100);
        big[100] = '\0';
        big[99] = 'x';
        want64 = apr_pstrcat(pool, "'", apr_pstrndup(pool, big, 64), "…'", NULL);
        want65 = apr_pstrndup(pool, big, 65);
        err = v_bad(S_PAT, apr_psprintf(pool, "{\"long\":\"%s\"}", big), HG_FIELD_PATTERN, "long", want64);
        tap_ok(err && !contains(err->message, want65), "bad value echoed with at most 64 characters");
        {
            char *cn = "";
            int i;
            for (i = 0; i < 70; i++) cn = apr_pstrcat(pool, cn, "中", NULL);
            err = v_bad(S_ENUM, apr_psprintf(pool, "{\"e\":\"%s\"}", cn), HG_FIELD_ENUM, "e", NULL);
            tap_ok(err && contains(err->message, apr_pstrcat(pool, "'", apr_pstrndup(pool, cn, 64 * 3), "…'", NULL))
                   && !contains(err->message, apr_pstrndup(pool, cn, 65 * 3)),
                   "echo limit counts characters, not bytes");
        }
    }
    {
        hg_error_t *err = NULL;
        apr_status_t rv = run(S_BADPAT, "{\"x\":\"a\"}", &err);
        tap_ok(rv == APR_EINVAL && err && strcmp(err->code, HG_INTERNAL) == 0 && err->status == 500
               && contains(err->message, "pattern"), "a bad regex is a schema error (500)");
        rv = run(S_BADPAT, "{\"x\":\"a\"}", &err);
        tap_ok(rv == APR_EINVAL, "a bad regex stays a schema error (cached)");
    }

    /* ================= validator: numbers, booleans, any ================= */
    v_ok(S_NUM, "{\"i\":0,\"x\":1,\"b\":true}");
    v_ok(S_NUM, "{\"i\":150,\"x\":1.5,\"b\":false}");
    v_ok(S_NUM, "{\"x\":0.5}");
    v_bad(S_NUM, "{\"i\":151}", HG_FIELD_RANGE, "i", "expected a value <= 150, found integer 151");
    v_bad(S_NUM, "{\"i\":-1}", HG_FIELD_RANGE, "i", "expected a value >= 0, found integer -1");
    v_bad(S_NUM, "{\"i\":1.0}", HG_FIELD_TYPE, "i", "expected integer, found number 1");
    v_bad(S_NUM, "{\"i\":\"5\"}", HG_FIELD_TYPE, "i", "found string '5'");
    v_bad(S_NUM, "{\"x\":0.4}", HG_FIELD_RANGE, "x", ">= 0.5");
    v_bad(S_NUM, "{\"x\":\"1\"}", HG_FIELD_TYPE, "x", "expected number");
    v_bad(S_NUM, "{\"b\":1}", HG_FIELD_TYPE, "b", "expected boolean");
    v_bad(S_NUM, "{\"b\":\"true\"}", HG_FIELD_TYPE, "b", NULL);
    v_ok(S_ANY, "{\"a\":[1]}");
    v_ok(S_ANY, "{\"a\":\"\"}");
    v_bad(S_ANY, "{}", HG_FIELD_REQUIRED, "a", NULL);
    v_bad(S_ANY, "{\"a\":null}", HG_FIELD_REQUIRED, "a", NULL);

    /* ================= validator: money ================= */
    v_ok(S_MONEY, "{\"m\":\"12.30\"}");
    v_ok(S_MONEY, "{\"m\":12.3}");
    v_ok(S_MONEY, "{\"m\":12}");
    v_ok(S_MONEY, "{\"m\":0.1}");
    v_ok(S_MONEY, "{\"m\":\"0.00\",\"neg\":\"-1.00\"}");
    v_ok(S_MONEY, "{\"m\":\"92233720368547758.07\",\"neg\":-0.5}");
    v_ok(S_MONEY, "{\"m\":\"1.00\",\"r\":\"0.01\"}");
    v_ok(S_MONEY, "{\"m\":\"1.00\",\"r\":\"100.00\",\"neg\":\"\"}");
    v_bad(S_MONEY, "{\"m\":\"12.3\"}", HG_FIELD_MONEY, "m", "exactly two decimals");
    v_bad(S_MONEY, "{\"m\":\"12\"}", HG_FIELD_MONEY, "m", "found '12'");
    v_bad(S_MONEY, "{\"m\":12.345}", HG_FIELD_MONEY, "m", "at most two decimals, found number 12.345");
    v_bad(S_MONEY, "{\"m\":\"-1.00\"}", HG_FIELD_MONEY, "m", "negative");
    v_bad(S_MONEY, "{\"m\":-1}", HG_FIELD_MONEY, "m", "negative");
    v_bad(S_MONEY, "{\"m\":\"\"}", HG_FIELD_REQUIRED, "m", NULL);
    v_bad(S_MONEY, "{\"m\":\"012.00\"}", HG_FIELD_MONEY, "m", NULL);
    v_bad(S_MONEY, "{\"m\":\"1e2\"}", HG_FIELD_MONEY, "m", NULL);
    v_bad(S_MONEY, "{\"m\":\" 1.00\"}", HG_FIELD_MONEY, "m", NULL);
    v_bad(S_MONEY, "{\"m\":\"92233720368547758.08\"}", HG_FIELD_MONEY, "m", "out of range");
    v_bad(S_MONEY, "{\"m\":1e300}", HG_FIELD_MONEY, "m", "out of range");
    v_bad(S_MONEY, "{\"m\":92233720368547759}", HG_FIELD_MONEY, "m", "out of range");
    v_bad(S_MONEY, "{\"m\":true}", HG_FIELD_TYPE, "m", "expected amount");
    v_bad(S_MONEY, "{\"m\":\"1.00\",\"r\":\"0.00\"}", HG_FIELD_RANGE, "r", ">= 0.01");
    v_bad(S_MONEY, "{\"m\":\"1.00\",\"r\":\"100.01\"}", HG_FIELD_RANGE, "r", "<= 100.00");

    /* ================= validator: dates ================= */
    v_ok(S_DATE, "{\"d\":\"20240229120000000\",\"od\":\"\",\"dt\":\"2024-02-29 23:59:59\"}");
    v_ok(S_DATE, "{\"d\":\"20240229120000000\",\"od\":\"2024-02-29\"}");
    v_bad(S_DATE, "{\"d\":\"20230229120000000\"}", HG_FIELD_DATE, "d", "yyyyMMddHHmmssSSS");
    v_bad(S_DATE, "{\"d\":\"20240101250000000\"}", HG_FIELD_DATE, "d", "hour out of range");
    v_bad(S_DATE, "{\"d\":20240101}", HG_FIELD_TYPE, "d", "expected date string");
    v_bad(S_DATE, "{\"d\":\"\"}", HG_FIELD_REQUIRED, "d", NULL);
    v_bad(S_DATE, "{\"d\":\"20240229120000000\",\"od\":\"2023-02-29\"}", HG_FIELD_DATE, "od", "yyyy-MM-dd");
    v_bad(S_DATE, "{\"d\":\"20240229120000000\",\"dt\":\"2024-02-29\"}", HG_FIELD_DATE, "dt", NULL);
    {
        hg_error_t *err = NULL;
        tap_ok(run(S_NODATEFMT, "{\"d\":\"2024\"}", &err) == APR_EINVAL && err
               && strcmp(err->code, HG_INTERNAL) == 0, "date entry without a format is a schema error");
        tap_ok(run(S_NOTYPE, "{\"t\":1}", &err) == APR_EINVAL && err && strcmp(err->code, HG_INTERNAL) == 0,
               "entry without a type is a schema error");
        tap_ok(run(S_NESTED_ARR, "{\"aa\":[[1]]}", &err) == APR_EINVAL, "array of arrays is a schema error");
    }

    /* ================= validator: objects ================= */
    v_ok(S_OBJ, "{\"o\":{\"x\":\"1\",\"y\":2}}");
    v_ok(S_OBJ, "{\"o\":{\"x\":\"1\"},\"open\":{\"x\":\"1\",\"extra\":true},\"anyobj\":{\"q\":[]}}");
    v_ok(S_OBJ, "{\"o\":{\"x\":\"1\"},\"a\":{\"b\":{\"c\":3}},\"endclosed\":{\"x\":\"\\u4e2d\"}}");
    v_bad(S_OBJ, "{\"o\":{}}", HG_FIELD_REQUIRED, "o.x", NULL);
    v_bad(S_OBJ, "{\"o\":{\"x\":\"1\",\"z\":1}}", HG_FIELD_UNKNOWN, "o.z", "unexpected field");
    v_bad(S_OBJ, "{\"o\":{\"z\":1}}", HG_FIELD_REQUIRED, "o.x", NULL);      /* known fields first */
    v_bad(S_OBJ, "{\"o\":[]}", HG_FIELD_TYPE, "o", "expected object, found array");
    v_bad(S_OBJ, "{\"o\":{\"x\":\"1\",\"y\":\"2\"}}", HG_FIELD_TYPE, "o.y", NULL);
    v_bad(S_OBJ, "{\"o\":{\"x\":\"1\"},\"a\":{\"b\":{\"c\":\"3\"}}}", HG_FIELD_TYPE, "a.b.c", NULL);
    v_bad(S_OBJ, "{\"o\":{\"x\":\"1\"},\"a\":{\"b\":{}}}", HG_FIELD_REQUIRED, "a.b.c", NULL);
    v_bad(S_OBJ, "{\"o\":{\"x\":\"1\"},\"a\":{}}", HG_FIELD_REQUIRED, "a.b", NULL);
    v_bad(S_OBJ, "{\"o\":{\"x\":\"1\"},\"anyobj\":5}", HG_FIELD_TYPE, "anyobj", NULL);
    v_bad(S_OBJ, "{\"o\":{\"x\":\"1\"},\"endclosed\":{\"x\":\"1\",\"k\":0}}", HG_FIELD_UNKNOWN, "endclosed.k", NULL);
    {
        /* an unknown key is echoed (truncated) in the path */
        char key[101];
        hg_error_t *err;
        memset(key, 'k', 100);
        key[100] = '\0';
        err = v_bad(S_ORDER, apr_psprintf(pool, "{\"a\":\"1\",\"b\":\"1\",\"c\":\"1\",\"%s\":0}", key),
                    HG_FIELD_UNKNOWN, apr_pstrcat(pool, apr_pstrndup(pool, key, 64), "…", NULL), NULL);
        (void)err;
    }

    /* ================= validator: arrays ================= */
    v_ok(S_ARR, "{\"items\":[{\"amt\":\"1.00\",\"name\":\"a\"},{\"amt\":2,\"name\":\"b\",\"x\":1}]}");
    v_ok(S_ARR, "{\"items\":[{\"amt\":\"1.00\",\"name\":\"a\"}],\"tags\":[\"ab\",\"cd\"],\"days\":[\"2024-02-29\"],"
                "\"nums\":[1,2],\"anything\":[null,1,\"x\"],\"two\":[{\"amt\":1,\"name\":\"a\"},{\"amt\":1,\"name\":\"b\"}]}");
    v_ok(S_ARR, "{\"items\":[{\"amt\":\"1.00\",\"name\":\"a\"}],\"tags\":[],\"closed\":[]}");
    v_bad(S_ARR, "{\"items\":[]}", HG_FIELD_REQUIRED, "items", "at least one item");
    v_bad(S_ARR, "{}", HG_FIELD_REQUIRED, "items", NULL);
    v_bad(S_ARR, "{\"items\":{}}", HG_FIELD_TYPE, "items", "expected array");
    v_bad(S_ARR, "{\"items\":[{\"amt\":1,\"name\":\"a\"},{\"amt\":1,\"name\":\"a\"},{\"amt\":1,\"name\":\"a\"},"
                 "{\"amt\":1,\"name\":\"a\"}]}", HG_TOO_MANY_ITEMS, "items", "at most 3 items allowed, found 4");
    v_bad(S_ARR, "{\"items\":[{\"amt\":\"1.00\",\"name\":\"a\"},{\"amt\":\"1.00\",\"name\":\"b\"},"
                 "{\"amt\":\"1.0\",\"name\":\"c\"}]}", HG_FIELD_MONEY, "items[2].amt", NULL);
    v_bad(S_ARR, "{\"items\":[1]}", HG_FIELD_TYPE, "items[0]", "expected object, found integer 1");
    v_bad(S_ARR, "{\"items\":[{\"amt\":1,\"name\":\"a\"},{\"amt\":1}]}", HG_FIELD_REQUIRED, "items[1].name", NULL);
    v_bad(S_ARR, "{\"items\":[{\"amt\":1,\"name\":\"a\"},null]}", HG_FIELD_TYPE, "items[1]", "found null");
    v_bad(S_ARR, "{\"items\":[{\"amt\":1,\"name\":\"a\"}],\"two\":[{\"amt\":1,\"name\":\"a\"}]}",
          HG_FIELD_TOO_SHORT, "two", "at least 2 items");
    v_bad(S_ARR, "{\"items\":[{\"amt\":1,\"name\":\"a\"}],\"closed\":[{\"amt\":1,\"name\":\"a\",\"zz\":1}]}",
          HG_FIELD_UNKNOWN, "closed[0].zz", NULL);
    v_bad(S_ARR, "{\"items\":[{\"amt\":1,\"name\":\"a\"}],\"tags\":[\"ab\",\"ABC\"]}", HG_FIELD_PATTERN, "tags[1]", NULL);
    v_bad(S_ARR, "{\"items\":[{\"amt\":1,\"name\":\"a\"}],\"tags\":[\"ab\",1]}", HG_FIELD_TYPE, "tags[1]", NULL);
    v_bad(S_ARR, "{\"items\":[{\"amt\":1,\"name\":\"a\"}],\"tags\":[\"abcd\"]}", HG_FIELD_TOO_LONG, "tags[0]", NULL);
    v_bad(S_ARR, "{\"items\":[{\"amt\":1,\"name\":\"a\"}],\"tags\":[null]}", HG_FIELD_TYPE, "tags[0]", NULL);
    v_bad(S_ARR, "{\"items\":[{\"amt\":1,\"name\":\"a\"}],\"tags\":[\"ab\",\"\"]}", HG_FIELD_PATTERN, "tags[1]", NULL);
    v_bad(S_ARR, "{\"items\":[{\"amt\":1,\"name\":\"a\"}],\"days\":[\"2024-02-29\",\"2023-02-29\"]}",
          HG_FIELD_DATE, "days[1]", NULL);
    v_bad(S_ARR, "{\"items\":[{\"amt\":1,\"name\":\"a\"}],\"nums\":[1,2,0]}", HG_FIELD_RANGE, "nums[2]", NULL);

    /* ================= validator: order, top level, input untouched ================= */
    v_bad(S_ORDER, "{\"c\":1,\"b\":2}", HG_FIELD_REQUIRED, "a", NULL);        /* schema order, not document order */
    v_bad(S_ORDER, "{\"a\":\"x\",\"c\":5,\"b\":5}", HG_FIELD_TYPE, "b", NULL);
    v_bad(S_ORDER, "{\"zzz\":1,\"a\":\"x\",\"b\":\"x\"}", HG_FIELD_REQUIRED, "c", NULL);
    v_bad(S_ORDER, "{\"zzz\":1,\"a\":\"x\",\"b\":\"x\",\"c\":\"x\",\"yyy\":2}", HG_FIELD_UNKNOWN, "zzz", NULL);
    v_ok(S_ORDER, "{\"a\":\"x\",\"b\":\"x\",\"c\":\"x\"}");
    {
        hg_error_t *err = NULL;
        json_t *arr = hg_json_own(pool, json_array());
        tap_ok(hg_json_validate(pool, arr, S_ORDER, &err) == HG_EINVALID && err
               && strcmp(err->code, HG_JSON_NOT_OBJECT) == 0, "validate a non-object -> HG_JSON_NOT_OBJECT");
        tap_ok(hg_json_validate(pool, NULL, S_ORDER, &err) == HG_EINVALID, "validate NULL -> HG_EINVALID");
        tap_ok(hg_json_validate(pool, arr, NULL, &err) == APR_EINVAL, "validate without a schema -> APR_EINVAL");
        tap_ok(hg_json_validate(pool, hg_json_object(pool), S_ORDER, NULL) == HG_EINVALID, "err may be NULL");
    }

    /* ================= the fiscal issue payload ================= */
    {
        json_t *j;
        hg_error_t *err = NULL;
        char *before, *after;
        size_t rc;
        v_ok(F_ISSUE, ISSUE_OK);
        hg_json_parse(&j, pool, ISSUE_OK, strlen(ISSUE_OK), 0, NULL);
        before = hg_json_dump(pool, j, HG_JSON_DUMP_SORTED);
        rc = j->refcount;
        hg_json_validate(pool, j, F_ISSUE, &err);
        json_object_set_new(j, "busType", json_string("99"));
        hg_json_validate(pool, j, F_ISSUE, &err);
        json_object_set_new(j, "busType", json_string("02"));
        after = hg_json_dump(pool, j, HG_JSON_DUMP_SORTED);
        tap_ok(before && after && strcmp(before, after) == 0 && j->refcount == rc,
               "validation leaves the document and its refcount unchanged");
        v_bad(F_ISSUE, issue_with("\"payer\":\"张三\",", ""), HG_FIELD_REQUIRED, "payer", NULL);
        v_bad(F_ISSUE, issue_with("\"payer\":\"张三\"", "\"payer\":\"\""), HG_FIELD_REQUIRED, "payer", NULL);
        v_bad(F_ISSUE, issue_with("\"amt\":10.5", "\"amt\":10.555"), HG_FIELD_MONEY, "chargeDetail[2].amt", NULL);
        v_bad(F_ISSUE, issue_with("\"payChannelCode\":\"01\"", "\"payChannelCode\":\"0 1\""),
              HG_FIELD_PATTERN, "payChannelDetail[0].payChannelCode", NULL);
        v_bad(F_ISSUE, issue_with("\"payChannelCode\":\"01\",", "\"payChannelCode\":\"01\",\"x\":1,"),
              HG_FIELD_UNKNOWN, "payChannelDetail[0].x", NULL);
        v_bad(F_ISSUE, issue_with("\"busType\":\"02\"", "\"busType\":\"2\""), HG_FIELD_ENUM, "busType", "'02', '06', '07'");
        v_bad(F_ISSUE, issue_with("20240229093015123", "20230229093015123"), HG_FIELD_DATE, "busDateTime", NULL);
        v_bad(F_ISSUE, issue_with("\"age\":42", "\"age\":420"), HG_FIELD_RANGE, "age", NULL);
        v_bad(F_ISSUE, issue_with("\"outHospitalDate\":\"\"", "\"outHospitalDate\":\"2024-13-01\""),
              HG_FIELD_DATE, "outHospitalDate", NULL);
        v_bad(F_ISSUE, issue_with("\"sortNo\":2", "\"sortNo\":0"), HG_FIELD_RANGE, "chargeDetail[1].sortNo", NULL);
        /* two faults: the first in schema order wins (busType before chargeDetail) */
        v_bad(F_ISSUE, issue_with("\"amt\":10.5", "\"amt\":\"x\""), HG_FIELD_MONEY, "chargeDetail[2].amt", NULL);
        /* busType moved to the end of the document: still reported before chargeDetail */
        v_bad(F_ISSUE, repl(repl(issue_with("\"busType\":\"02\",", ""), "\"amt\":10.5", "\"amt\":\"x\""),
                            "}]}", "}],\"busType\":\"x\"}"),
              HG_FIELD_ENUM, "busType", NULL);
        err = v_bad(F_ISSUE, issue_with("\"amt\":\"20.00\"", "\"amt\":\"20\""), HG_FIELD_MONEY,
                    "chargeDetail[1].amt", NULL);
        if (err) {
            json_error_t je;
            json_t *back = json_loads(hg_error_json(pool, err, "req-9"), 0, &je);
            tap_ok(back && strcmp(json_string_value(json_object_get(back, "field")), "chargeDetail[1].amt") == 0
                   && strcmp(json_string_value(json_object_get(back, "code")), "HG_FIELD_MONEY") == 0
                   && strcmp(json_string_value(json_object_get(back, "request_id")), "req-9") == 0,
                   "validation error renders as the envelope");
            json_decref(back);
        }
        else {
            tap_ok(0, "validation error renders as the envelope");
        }
    }

    /* ================= regex cache under threads ================= */
    {
        pthread_t th[8];
        void *res;
        long wrong = 0;
        int i, started = 0;
        for (i = 0; i < 8; i++) started += pthread_create(&th[i], NULL, thread_main, NULL) == 0;
        for (i = 0; i < started; i++) {
            pthread_join(th[i], &res);
            wrong += (long)res;
        }
        tap_ok(started == 8 && wrong == 0, "8 threads x 2000 pattern validations, %ld wrong", wrong);
    }

    /* ================= hg_json_dump: the same bytes as jansson's json_dumps ================= */
    {
        static const unsigned flags[] = { 0, HG_JSON_DUMP_SORTED, HG_JSON_DUMP_REAL17,
                                          HG_JSON_DUMP_SORTED | HG_JSON_DUMP_REAL17 };
        int differ = 0, compared = 0, i, f, shown = 0;
        apr_pool_t *tp;
        apr_pool_create(&tp, pool);
        for (i = 0; i < 6000; i++) {
            json_t *t = jtree(0);
            for (f = 0; f < 4; f++) {
                const char *mine = hg_json_dump(tp, t, flags[f]), *theirs = hg_json_dump_jansson(tp, t, flags[f]);
                compared++;
                if (!mine || !theirs || strcmp(mine, theirs)) {
                    differ++;
                    if (shown++ < 3)
                        tap_diag("flags %u:\n  hg:      %s\n  jansson: %s", flags[f], mine ? mine : "(null)",
                                 theirs ? theirs : "(null)");
                }
            }
            json_decref(t);
            apr_pool_clear(tp);
        }
        tap_is_int(differ, 0, "hg_json_dump writes jansson's bytes for 6000 random trees x 4 flag sets (%d dumps)", compared);
        {
            /* invalid UTF-8 in a value: neither writes anything */
            static const char *const bad[] = { "\xc0\x80", "\xed\xa0\x80", "\xf5\x80\x80\x80", "\xe4\xb8",
                                               "a\x80", "\xf0\x8f\xbf\xbf", "\xc3" };
            int both_null = 0;
            for (i = 0; i < 7; i++) {
                json_t *o = json_pack("{s:o}", "k", json_stringn_nocheck(bad[i], strlen(bad[i])));
                both_null += !hg_json_dump(tp, o, HG_JSON_DUMP_SORTED) && !hg_json_dump_jansson(tp, o, HG_JSON_DUMP_SORTED);
                json_decref(o);
            }
            tap_is_int(both_null, 7, "a string of invalid UTF-8 (overlong, surrogate, past U+10FFFF, cut short) is written by neither");
        }
        {
            /* an object of more members than the writer sorts on its stack */
            json_t *o = json_object();
            char k[16];
            const char *mine, *theirs;
            for (i = 0; i < 500; i++) {
                snprintf(k, sizeof k, "k%u", jr(100000));
                json_object_set_new(o, k, json_integer(i));
            }
            mine = hg_json_dump(tp, o, HG_JSON_DUMP_SORTED);
            theirs = hg_json_dump_jansson(tp, o, HG_JSON_DUMP_SORTED);
            tap_ok(mine && theirs && !strcmp(mine, theirs), "500 members sorted alike");
            json_decref(o);
        }
        apr_pool_destroy(tp);
    }

    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}
