/* hisgate money: integer fen arithmetic, strict parsing and Chinese uppercase amounts (see hg_money.h). */
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <apr_strings.h>
#include "hg_money.h"

#ifndef __SIZEOF_INT128__
#error "hg_money_mul_qty needs a 128-bit integer type (gcc/clang on a 64-bit target)"
#endif

#define YUAN_MAX  (HG_MONEY_MAX / 100)          /* 92233720368547758 */

static int in_range(apr_int64_t v) { return v != APR_INT64_MIN; }

apr_status_t hg_money_parsen(apr_int64_t *fen, const char *s, apr_size_t len, unsigned flags)
{
    apr_size_t i = 0, start, ndec = 0;
    apr_uint64_t yuan = 0, v;
    unsigned frac = 0;
    int neg = 0, big = 0;

    if (!s || !len) return HG_EINVALID;
    if (s[0] == '-') {
        if (!(flags & HG_MONEY_ALLOW_NEG)) return HG_EINVALID;
        neg = 1;
        i++;
    }
    start = i;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        /* keep scanning after an overflow so a syntax error still wins over HG_EOVERFLOW */
        if (!big) {
            yuan = yuan * 10 + (apr_uint64_t)(s[i] - '0');
            if (yuan > YUAN_MAX) big = 1;
        }
        i++;
    }
    if (i == start) return HG_EINVALID;                      /* "", "-", ".5" */
    if (s[start] == '0' && i - start > 1) return HG_EINVALID; /* "012.00" */
    if (i < len) {
        if (s[i] != '.') return HG_EINVALID;
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9' && ndec < 2) {
            frac = frac * 10 + (unsigned)(s[i] - '0');
            ndec++;
            i++;
        }
        if (ndec == 0 || i != len) return HG_EINVALID;       /* "12.", "12.345", "1.2x" */
    }
    if ((flags & HG_MONEY_EXACT2) && ndec != 2) return HG_EINVALID;
    if (ndec == 1) frac *= 10;
    if (big) return HG_EOVERFLOW;
    v = yuan * 100 + frac;                                   /* fits: yuan <= YUAN_MAX */
    if (v > (apr_uint64_t)HG_MONEY_MAX) return HG_EOVERFLOW;
    *fen = neg ? -(apr_int64_t)v : (apr_int64_t)v;
    return APR_SUCCESS;
}

apr_status_t hg_money_parse(apr_int64_t *fen, const char *s, unsigned flags)
{
    if (!s) return HG_EINVALID;
    return hg_money_parsen(fen, s, strlen(s), flags);
}

/* No libm calls (round/fabs): the unit tests link without -lm. */
apr_status_t hg_money_from_real(apr_int64_t *fen, double v)
{
    double x, d;
    apr_int64_t t;

    if (isnan(v) || isinf(v)) return HG_EINVALID;
    x = v * 100.0;
    /* 2^63 is exact as a double; the cast below is defined only inside (-2^63, 2^63) */
    if (!(x > -9223372036854775808.0 && x < 9223372036854775808.0)) return HG_EOVERFLOW;
    t = (apr_int64_t)x;                                      /* truncates toward zero */
    d = x - (double)t;                                       /* in (-1, 1) */
    if (d >= 0.5) { t++; d -= 1.0; }
    else if (d <= -0.5) { t--; d += 1.0; }
    if (d > 1e-6 || d < -1e-6) return HG_EINVALID;           /* more than two decimals */
    if (!in_range(t)) return HG_EOVERFLOW;
    *fen = t;
    return APR_SUCCESS;
}

apr_status_t hg_money_from_yuan(apr_int64_t *fen, apr_int64_t yuan)
{
    if (yuan > YUAN_MAX || yuan < -YUAN_MAX) return HG_EOVERFLOW;
    *fen = yuan * 100;
    return APR_SUCCESS;
}

char *hg_money_format_buf(char *buf, apr_int64_t fen)
{
    /* unsigned magnitude so even INT64_MIN prints instead of overflowing */
    apr_uint64_t u = fen < 0 ? (apr_uint64_t)0 - (apr_uint64_t)fen : (apr_uint64_t)fen;
    snprintf(buf, HG_MONEY_BUFSZ, "%s%llu.%02u", fen < 0 ? "-" : "",
             (unsigned long long)(u / 100), (unsigned)(u % 100));
    return buf;
}

char *hg_money_format(apr_pool_t *p, apr_int64_t fen)
{
    char buf[HG_MONEY_BUFSZ];
    return apr_pstrdup(p, hg_money_format_buf(buf, fen));
}

apr_status_t hg_money_add(apr_int64_t *r, apr_int64_t a, apr_int64_t b)
{
    apr_int64_t t;
    if (!in_range(a) || !in_range(b) || __builtin_add_overflow(a, b, &t) || !in_range(t))
        return HG_EOVERFLOW;
    *r = t;
    return APR_SUCCESS;
}

apr_status_t hg_money_sub(apr_int64_t *r, apr_int64_t a, apr_int64_t b)
{
    apr_int64_t t;
    if (!in_range(a) || !in_range(b) || __builtin_sub_overflow(a, b, &t) || !in_range(t))
        return HG_EOVERFLOW;
    *r = t;
    return APR_SUCCESS;
}

apr_status_t hg_money_mul_qty(apr_int64_t *r, apr_int64_t unit_fen, apr_int64_t qty_thousandths)
{
    __int128 prod;
    unsigned __int128 mag, q, rem;
    int neg;

    if (!in_range(unit_fen) || !in_range(qty_thousandths)) return HG_EOVERFLOW;
    prod = (__int128)unit_fen * qty_thousandths;             /* |prod| < 2^126: cannot overflow */
    neg = prod < 0;
    mag = neg ? (unsigned __int128)(-prod) : (unsigned __int128)prod;
    q = mag / 1000;
    rem = mag % 1000;
    if (rem >= 500) q++;                                     /* half-up on the magnitude = away from zero */
    if (q > (unsigned __int128)HG_MONEY_MAX) return HG_EOVERFLOW;
    *r = neg ? -(apr_int64_t)q : (apr_int64_t)q;
    return APR_SUCCESS;
}

/* ---- 中文大写金额 ---- */

static const char *const CN_DIGIT[10] = { "零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖" };
static const char *const CN_SMALL[4] = { "", "拾", "佰", "仟" };

typedef struct { char buf[512]; apr_size_t n; } capbuf_t;

static void cap_put(capbuf_t *b, const char *s)
{
    apr_size_t k = strlen(s);
    if (b->n + k < sizeof(b->buf)) {                         /* 17 digits need < 200 bytes */
        memcpy(b->buf + b->n, s, k);
        b->n += k;
        b->buf[b->n] = '\0';
    }
}

char *hg_money_capital(apr_pool_t *p, apr_int64_t fen)
{
    capbuf_t b = { .n = 0 };
    apr_uint64_t u, yuan;
    unsigned jiao, fen1, dig[20];
    int len = 0, i, j, pending = 0;

    if (!in_range(fen)) return NULL;
    b.buf[0] = '\0';
    u = fen < 0 ? (apr_uint64_t)(-fen) : (apr_uint64_t)fen;
    yuan = u / 100;
    jiao = (unsigned)(u / 10 % 10);
    fen1 = (unsigned)(u % 10);

    if (u == 0) return apr_pstrdup(p, "零元整");
    if (fen < 0) cap_put(&b, "负");

    for (; yuan; yuan /= 10) dig[len++] = (unsigned)(yuan % 10);
    for (i = len - 1; i >= 0; i--) {
        if (dig[i] == 0) {
            pending = 1;                     /* the leading digit is never 0, so out is non-empty */
        }
        else {
            if (pending) cap_put(&b, "零");
            pending = 0;
            cap_put(&b, CN_DIGIT[dig[i]]);
            cap_put(&b, CN_SMALL[i % 4]);
        }
        if (i > 0 && i % 4 == 0) {
            if (i % 8 == 4) {
                /* 万 (or 万亿): only when this group of four has a non-zero digit */
                int any = 0;
                for (j = i; j < i + 4 && j < len; j++) any |= dig[j] != 0;
                if (any) cap_put(&b, "万");
            }
            else {
                /* 亿 multiplies everything above it, so it is always written (10^12 = 壹万亿) */
                cap_put(&b, "亿");
            }
        }
    }
    if (len) cap_put(&b, "元");
    if (jiao == 0 && fen1 == 0) {
        cap_put(&b, "整");
    }
    else {
        if (jiao) {
            cap_put(&b, CN_DIGIT[jiao]);
            cap_put(&b, "角");
        }
        else if (len) {
            cap_put(&b, "零");               /* 元零伍分: the zero jiao must be spoken */
        }
        if (fen1) {
            cap_put(&b, CN_DIGIT[fen1]);
            cap_put(&b, "分");
        }
    }
    return apr_pstrndup(p, b.buf, b.n);
}
