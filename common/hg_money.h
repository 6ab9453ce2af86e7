/* hisgate money: amounts are integer fen (分, 1/100 yuan) in an apr_int64_t everywhere inside.
 *
 * The valid range is symmetric, ±HG_MONEY_MAX fen (±92 233 720 368 547 758.07 yuan), so negating an
 * amount never overflows; INT64_MIN is treated as out of range by every function here.
 * Floating point is never used for strings; only hg_money_from_real touches a double (JSON numbers).
 * No httpd header here (core file). */
#ifndef HG_MONEY_H
#define HG_MONEY_H
#include <apr_pools.h>
#include "hg_status.h"

#define HG_MONEY_MAX        APR_INT64_MAX
#define HG_MONEY_MIN        (-APR_INT64_MAX)

/* hg_money_parse flags */
#define HG_MONEY_EXACT2     0x1     /* exactly two decimals: "12.30" ok, "12.3" and "12" are not */
#define HG_MONEY_ALLOW_NEG  0x2     /* a leading '-' is allowed */

/* Longest formatted amount ("-92233720368547758.07") plus NUL, rounded up. */
#define HG_MONEY_BUFSZ      32

/* Strict decimal string -> fen.  Grammar: ['-'] ('0' | [1-9][0-9]*) ['.' [0-9]{1,2}]; no '+', spaces,
 * exponent, leading zeros ("012.00"), bare "." or empty string.  HG_EINVALID on syntax,
 * HG_EOVERFLOW beyond the range.  "-0.00" is accepted (with ALLOW_NEG) and gives 0.
 * On any failure here and below, the output is left untouched. */
apr_status_t hg_money_parse(apr_int64_t *fen, const char *s, unsigned flags);
/* The same on len bytes that need not be NUL-terminated (an embedded NUL is a syntax error). */
apr_status_t hg_money_parsen(apr_int64_t *fen, const char *s, apr_size_t len, unsigned flags);

/* A JSON number -> fen.  Accepted only when v*100 is within 1e-6 of an integer (so 12.34 is fine
 * although not exact in binary, 12.345 is not); NaN/inf/out of range -> HG_EINVALID/HG_EOVERFLOW.
 * Negative values are returned as such: the caller decides whether they are allowed. */
apr_status_t hg_money_from_real(apr_int64_t *fen, double v);

/* Whole yuan (a JSON integer) -> fen, HG_EOVERFLOW when yuan*100 leaves the range. */
apr_status_t hg_money_from_yuan(apr_int64_t *fen, apr_int64_t yuan);

/* "12.34", "-0.05", "0.00": always two decimals, '-' only for negative amounts. */
char *hg_money_format(apr_pool_t *p, apr_int64_t fen);
/* The same into buf (at least HG_MONEY_BUFSZ bytes), for callers without a pool; returns buf. */
char *hg_money_format_buf(char *buf, apr_int64_t fen);

/* r = a + b, r = a - b; HG_EOVERFLOW (and *r untouched) when the result leaves the range. */
apr_status_t hg_money_add(apr_int64_t *r, apr_int64_t a, apr_int64_t b);
apr_status_t hg_money_sub(apr_int64_t *r, apr_int64_t a, apr_int64_t b);

/* r = unit_fen * qty_thousandths / 1000, rounded half-up away from zero to whole fen
 * (unit 0.01 x qty 0.5 = 0.005 -> 0.01; -0.005 -> -0.01).  qty 1500 means 1.5 units.
 * Either factor may be negative (refund lines).  HG_EOVERFLOW when the result leaves the range. */
apr_status_t hg_money_mul_qty(apr_int64_t *r, apr_int64_t unit_fen, apr_int64_t qty_thousandths);

/* Chinese uppercase amount (中文大写金额) as printed on Chinese bills, e.g. 1002.50 -> 壹仟零贰元伍角.
 * Convention (follows 《正确填写票据和结算凭证的基本规定》 where it leaves a choice, we pick one):
 *  - tens are always written with 壹: 10 -> 壹拾元整, 100000 -> 壹拾万元整, 110000 -> 壹拾壹万元整;
 *  - one 零 for each run of zeros between two non-zero digits of the yuan part, also across 万/亿
 *    boundaries: 1002 -> 壹仟零贰, 107000 -> 壹拾万零柒仟, 100010000 -> 壹亿零壹万, 10^12 -> 壹万亿;
 *  - 整 after 元 when jiao and fen are both zero; nothing after 角 (1409.50 -> 壹仟肆佰零玖元伍角);
 *  - 零 after 元 when jiao is zero and fen is not (16409.02 -> 壹万陆仟肆佰零玖元零贰分), but not when
 *    only the yuan digit is zero (1680.32 -> 壹仟陆佰捌拾元叁角贰分);
 *  - amounts below one yuan have no 元 part (0.05 -> 伍分, 0.50 -> 伍角); zero is 零元整;
 *  - negative amounts get the prefix 负.
 * Returns NULL only for INT64_MIN (out of range). */
char *hg_money_capital(apr_pool_t *p, apr_int64_t fen);

#endif
