/* Unit tests for common/hg_money: parsing, JSON numbers, formatting, arithmetic, 中文大写金额. */
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "tap.h"
#include "hg_money.h"

static apr_pool_t *pool;

#define SENTINEL ((apr_int64_t)0x5A5A5A5A)

/* parse succeeds with the given value */
static void parse_ok(const char *s, unsigned flags, apr_int64_t want)
{
    apr_int64_t fen = SENTINEL;
    apr_status_t rv = hg_money_parse(&fen, s, flags);
    if (!tap_ok(rv == APR_SUCCESS && fen == want, "parse '%s' flags %u -> %lld", s, flags, (long long)want))
        tap_diag("rv %d, fen %lld", (int)(rv - HG_STATUS_BASE), (long long)fen);
}

/* parse fails with the given status and leaves the output alone */
static void parse_bad(const char *s, unsigned flags, apr_status_t want)
{
    apr_int64_t fen = SENTINEL;
    apr_status_t rv = hg_money_parse(&fen, s, flags);
    if (!tap_ok(rv == want && fen == SENTINEL, "parse '%s' flags %u rejected (%s)", s, flags,
                want == HG_EOVERFLOW ? "overflow" : "syntax"))
        tap_diag("rv %d, fen %lld", (int)(rv - HG_STATUS_BASE), (long long)fen);
}

static void real_ok(double v, apr_int64_t want)
{
    apr_int64_t fen = SENTINEL;
    apr_status_t rv = hg_money_from_real(&fen, v);
    if (!tap_ok(rv == APR_SUCCESS && fen == want, "from_real %.17g -> %lld", v, (long long)want))
        tap_diag("rv %d, fen %lld", (int)(rv - HG_STATUS_BASE), (long long)fen);
}

static void real_bad(double v, apr_status_t want)
{
    apr_int64_t fen = SENTINEL;
    apr_status_t rv = hg_money_from_real(&fen, v);
    if (!tap_ok(rv == want && fen == SENTINEL, "from_real %.17g rejected", v))
        tap_diag("rv %d, fen %lld", (int)(rv - HG_STATUS_BASE), (long long)fen);
}

static void mul_ok(apr_int64_t unit, apr_int64_t qty, apr_int64_t want)
{
    apr_int64_t r = SENTINEL;
    apr_status_t rv = hg_money_mul_qty(&r, unit, qty);
    if (!tap_ok(rv == APR_SUCCESS && r == want, "mul_qty %lld x %lld/1000 = %lld",
                (long long)unit, (long long)qty, (long long)want))
        tap_diag("rv %d, r %lld", (int)(rv - HG_STATUS_BASE), (long long)r);
}

static void cap(apr_int64_t fen, const char *want)
{
    tap_is_str(hg_money_capital(pool, fen), want, "capital %s", hg_money_format(pool, fen));
}

int main(void)
{
    apr_int64_t r;
    char buf[HG_MONEY_BUFSZ];
    static const apr_int64_t roundtrip[] = { 0, 1, 9, 10, 99, 100, 101, 1234, -1, -99, -100, -1234567,
                                             HG_MONEY_MAX, HG_MONEY_MIN, 100000000000LL };
    size_t i;
    int all;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    tap_plan(174);

    /* ---- parse: accepted ---- */
    parse_ok("0", 0, 0);
    parse_ok("0.00", 0, 0);
    parse_ok("0.0", 0, 0);
    parse_ok("12.34", 0, 1234);
    parse_ok("12.3", 0, 1230);
    parse_ok("12", 0, 1200);
    parse_ok("0.05", 0, 5);
    parse_ok("0.5", 0, 50);
    parse_ok("100", 0, 10000);
    parse_ok("-0.05", HG_MONEY_ALLOW_NEG, -5);
    parse_ok("-0.00", HG_MONEY_ALLOW_NEG, 0);
    parse_ok("-12", HG_MONEY_ALLOW_NEG, -1200);
    parse_ok("12.30", HG_MONEY_EXACT2, 1230);
    parse_ok("0.00", HG_MONEY_EXACT2, 0);
    parse_ok("-7.01", HG_MONEY_EXACT2 | HG_MONEY_ALLOW_NEG, -701);
    parse_ok("92233720368547758.07", 0, HG_MONEY_MAX);
    parse_ok("-92233720368547758.07", HG_MONEY_ALLOW_NEG, HG_MONEY_MIN);
    parse_ok("92233720368547758", 0, 9223372036854775800LL);
    parse_ok("92233720368547758.0", 0, 9223372036854775800LL);

    /* ---- parse: syntax errors ---- */
    parse_bad("", 0, HG_EINVALID);
    parse_bad("-", HG_MONEY_ALLOW_NEG, HG_EINVALID);
    parse_bad("+1.00", 0, HG_EINVALID);
    parse_bad(" 1.00", 0, HG_EINVALID);
    parse_bad("1.00 ", 0, HG_EINVALID);
    parse_bad("1 000.00", 0, HG_EINVALID);
    parse_bad("1,000.00", 0, HG_EINVALID);
    parse_bad("1e2", 0, HG_EINVALID);
    parse_bad("1.0e2", 0, HG_EINVALID);
    parse_bad("012.00", 0, HG_EINVALID);
    parse_bad("00", 0, HG_EINVALID);
    parse_bad("00.00", 0, HG_EINVALID);
    parse_bad("-012", HG_MONEY_ALLOW_NEG, HG_EINVALID);
    parse_bad(".50", 0, HG_EINVALID);
    parse_bad("12.", 0, HG_EINVALID);
    parse_bad("12.345", 0, HG_EINVALID);
    parse_bad("12.3", HG_MONEY_EXACT2, HG_EINVALID);
    parse_bad("12", HG_MONEY_EXACT2, HG_EINVALID);
    parse_bad("-1.00", 0, HG_EINVALID);
    parse_bad("-1.00", HG_MONEY_EXACT2, HG_EINVALID);
    parse_bad("--1", HG_MONEY_ALLOW_NEG, HG_EINVALID);
    parse_bad("1.-1", HG_MONEY_ALLOW_NEG, HG_EINVALID);
    parse_bad("1.2.3", 0, HG_EINVALID);
    parse_bad("0x10", 0, HG_EINVALID);
    parse_bad("abc", 0, HG_EINVALID);
    parse_bad("NaN", 0, HG_EINVALID);
    parse_bad("inf", 0, HG_EINVALID);
    parse_bad("\xef\xbc\x91\xef\xbc\x92", 0, HG_EINVALID);        /* full-width １２ */
    parse_bad("99999999999999999999x", 0, HG_EINVALID);          /* syntax wins over overflow */

    /* ---- parse: out of range ---- */
    parse_bad("92233720368547758.08", 0, HG_EOVERFLOW);
    parse_bad("-92233720368547758.08", HG_MONEY_ALLOW_NEG, HG_EOVERFLOW);
    parse_bad("92233720368547759", 0, HG_EOVERFLOW);
    parse_bad("99999999999999999999", 0, HG_EOVERFLOW);
    parse_bad("184467440737095517", 0, HG_EOVERFLOW);            /* x100 wraps a uint64 to 84 */
    parse_bad("-184467440737095517.16", HG_MONEY_ALLOW_NEG, HG_EOVERFLOW);
    parse_bad("100000000000000000000000000000.00", 0, HG_EOVERFLOW);

    /* ---- parsen: explicit length ---- */
    r = SENTINEL;
    tap_ok(hg_money_parsen(&r, "12.345", 5, 0) == APR_SUCCESS && r == 1234, "parsen stops at len");
    r = SENTINEL;
    tap_ok(hg_money_parsen(&r, "1\0.00", 5, 0) == HG_EINVALID && r == SENTINEL, "parsen rejects embedded NUL");
    tap_ok(hg_money_parse(&r, NULL, 0) == HG_EINVALID, "parse NULL rejected");

    /* ---- from_real (JSON numbers) ---- */
    real_ok(12.34, 1234);
    real_ok(12.3, 1230);
    real_ok(0.1 + 0.2, 30);
    real_ok(1.1 * 3, 330);
    real_ok(0.0, 0);
    real_ok(-0.0, 0);
    real_ok(-0.05, -5);
    real_ok(19.99, 1999);
    real_ok(-19.99, -1999);
    real_ok(1e16, 1000000000000000000LL);
    real_ok(12345678.91, 1234567891);
    real_bad(12.345, HG_EINVALID);
    real_bad(0.001, HG_EINVALID);
    real_bad(0.005, HG_EINVALID);
    real_bad(1.005, HG_EINVALID);
    real_bad(0.0000001, HG_EINVALID);
    real_bad(-0.125, HG_EINVALID);
    real_bad(__builtin_nan(""), HG_EINVALID);
    real_bad(__builtin_inf(), HG_EINVALID);
    real_bad(-__builtin_inf(), HG_EINVALID);
    real_bad(1e17, HG_EOVERFLOW);
    real_bad(-1e17, HG_EOVERFLOW);
    real_bad(92233720368547758.07, HG_EOVERFLOW);                /* rounds to 2^63 as a double */
    real_bad(1e300, HG_EOVERFLOW);

    /* ---- from_yuan (JSON integers) ---- */
    r = SENTINEL;
    tap_ok(hg_money_from_yuan(&r, 12) == APR_SUCCESS && r == 1200, "from_yuan 12");
    tap_ok(hg_money_from_yuan(&r, -3) == APR_SUCCESS && r == -300, "from_yuan -3");
    tap_ok(hg_money_from_yuan(&r, 92233720368547758LL) == APR_SUCCESS && r == 9223372036854775800LL,
           "from_yuan largest");
    r = SENTINEL;
    tap_ok(hg_money_from_yuan(&r, 92233720368547759LL) == HG_EOVERFLOW && r == SENTINEL, "from_yuan overflow");
    tap_ok(hg_money_from_yuan(&r, -92233720368547759LL) == HG_EOVERFLOW, "from_yuan negative overflow");

    /* ---- format ---- */
    tap_is_str(hg_money_format(pool, 1234), "12.34", "format 12.34");
    tap_is_str(hg_money_format(pool, -5), "-0.05", "format -0.05");
    tap_is_str(hg_money_format(pool, 0), "0.00", "format 0.00");
    tap_is_str(hg_money_format(pool, 10), "0.10", "format 0.10");
    tap_is_str(hg_money_format(pool, 100), "1.00", "format 1.00");
    tap_is_str(hg_money_format(pool, -100000), "-1000.00", "format -1000.00");
    tap_is_str(hg_money_format(pool, HG_MONEY_MAX), "92233720368547758.07", "format max");
    tap_is_str(hg_money_format(pool, HG_MONEY_MIN), "-92233720368547758.07", "format min");
    tap_is_str(hg_money_format(pool, APR_INT64_MIN), "-92233720368547758.08", "format INT64_MIN does not overflow");
    tap_is_str(hg_money_format_buf(buf, 705), "7.05", "format_buf");
    all = 1;
    for (i = 0; i < sizeof(roundtrip) / sizeof(roundtrip[0]); i++) {
        apr_int64_t back = SENTINEL;
        const char *s = hg_money_format(pool, roundtrip[i]);
        if (hg_money_parse(&back, s, HG_MONEY_EXACT2 | HG_MONEY_ALLOW_NEG) != APR_SUCCESS || back != roundtrip[i]) {
            tap_diag("round trip failed for %lld via '%s'", (long long)roundtrip[i], s);
            all = 0;
        }
    }
    tap_ok(all, "format -> parse(EXACT2) round trip for %d values", (int)i);

    /* ---- add / sub ---- */
    r = SENTINEL;
    tap_ok(hg_money_add(&r, 1, 2) == APR_SUCCESS && r == 3, "add 1+2");
    tap_ok(hg_money_add(&r, HG_MONEY_MAX, HG_MONEY_MIN) == APR_SUCCESS && r == 0, "add max+min");
    r = SENTINEL;
    tap_ok(hg_money_add(&r, HG_MONEY_MAX, 1) == HG_EOVERFLOW && r == SENTINEL, "add overflow, result untouched");
    tap_ok(hg_money_add(&r, HG_MONEY_MIN, -1) == HG_EOVERFLOW, "add to INT64_MIN is overflow");
    tap_ok(hg_money_add(&r, APR_INT64_MIN, 1) == HG_EOVERFLOW, "add with INT64_MIN operand");
    tap_ok(hg_money_sub(&r, 5, 7) == APR_SUCCESS && r == -2, "sub 5-7");
    tap_ok(hg_money_sub(&r, 0, HG_MONEY_MAX) == APR_SUCCESS && r == HG_MONEY_MIN, "sub 0-max");
    r = SENTINEL;
    tap_ok(hg_money_sub(&r, HG_MONEY_MIN, 1) == HG_EOVERFLOW && r == SENTINEL, "sub underflow");
    tap_ok(hg_money_sub(&r, HG_MONEY_MAX, -1) == HG_EOVERFLOW, "sub overflow");

    /* ---- mul_qty ---- */
    mul_ok(1234, 1000, 1234);
    mul_ok(1234, 1500, 1851);
    mul_ok(333, 333, 111);             /* 110.889 */
    mul_ok(1, 500, 1);                 /* 0.5 fen rounds up */
    mul_ok(1, 499, 0);
    mul_ok(1, 1499, 1);
    mul_ok(1, 1500, 2);
    mul_ok(1, 2500, 3);                /* half-up, not banker's */
    mul_ok(-1, 500, -1);               /* away from zero */
    mul_ok(1, -500, -1);
    mul_ok(-1, -500, 1);
    mul_ok(-1, 499, 0);
    mul_ok(1250, 3, 4);                /* 3.75 */
    mul_ok(0, 123456, 0);
    mul_ok(HG_MONEY_MAX, 1000, HG_MONEY_MAX);
    mul_ok(HG_MONEY_MIN, 1000, HG_MONEY_MIN);
    mul_ok(9000000000000000000LL, 999, 8991000000000000000LL);   /* product needs more than 64 bits */
    r = SENTINEL;
    tap_ok(hg_money_mul_qty(&r, HG_MONEY_MAX, 1001) == HG_EOVERFLOW && r == SENTINEL, "mul_qty overflow");
    tap_ok(hg_money_mul_qty(&r, 4611686018427387904LL, 4000) == HG_EOVERFLOW, "mul_qty overflow (2^62 x 4)");
    tap_ok(hg_money_mul_qty(&r, APR_INT64_MIN, 1) == HG_EOVERFLOW, "mul_qty INT64_MIN operand");

    /* ---- 中文大写金额 ---- */
    cap(0, "零元整");
    cap(1, "壹分");
    cap(5, "伍分");
    cap(50, "伍角");
    cap(55, "伍角伍分");
    cap(100, "壹元整");
    cap(1000, "壹拾元整");
    cap(1005, "壹拾元零伍分");
    cap(1050, "壹拾元伍角");
    cap(1100, "壹拾壹元整");
    cap(2000, "贰拾元整");
    cap(10000, "壹佰元整");
    cap(10001, "壹佰元零壹分");
    cap(123400, "壹仟贰佰叁拾肆元整");
    cap(100250, "壹仟零贰元伍角");
    cap(101000, "壹仟零壹拾元整");
    cap(140950, "壹仟肆佰零玖元伍角");
    cap(168032, "壹仟陆佰捌拾元叁角贰分");
    cap(32504, "叁佰贰拾伍元零肆分");
    cap(1640902, "壹万陆仟肆佰零玖元零贰分");
    cap(2000000, "贰万元整");
    cap(2000100, "贰万零壹元整");
    cap(1001000, "壹万零壹拾元整");
    cap(10000000, "壹拾万元整");
    cap(11000000, "壹拾壹万元整");
    cap(10010000, "壹拾万零壹佰元整");
    cap(10700053, "壹拾万零柒仟元伍角叁分");
    cap(20010000, "贰拾万零壹佰元整");
    cap(100000100, "壹佰万零壹元整");
    cap(300000000, "叁佰万元整");
    cap(3000000100LL, "叁仟万零壹元整");
    cap(1234567890, "壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元玖角");
    cap(10000000000LL, "壹亿元整");
    cap(10000000100LL, "壹亿零壹元整");
    cap(10001000001LL, "壹亿零壹万元零壹分");
    cap(10100000000LL, "壹亿零壹佰万元整");
    cap(500000000000LL, "伍拾亿元整");
    cap(101000000000LL, "壹拾亿零壹仟万元整");
    cap(100000000000000LL, "壹万亿元整");
    cap(100000001000000LL, "壹万亿零壹万元整");
    cap(123456789012300LL, "壹万贰仟叁佰肆拾伍亿陆仟柒佰捌拾玖万零壹佰贰拾叁元整");
    cap(1000000000000000000LL, "壹亿亿元整");
    cap(HG_MONEY_MAX, "玖亿贰仟贰佰叁拾叁万柒仟贰佰零叁亿陆仟捌佰伍拾肆万柒仟柒佰伍拾捌元零柒分");
    cap(-1234, "负壹拾贰元叁角肆分");
    cap(-5, "负伍分");
    cap(-10000000, "负壹拾万元整");
    tap_ok(hg_money_capital(pool, APR_INT64_MIN) == NULL, "capital INT64_MIN -> NULL");

    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}
