/* libFuzzer harness: amounts and dates as the HIS writes them (common/hg_money.h, hg_date_parse).
 * The first byte picks the flags; the rest is the text.  Checks: hg_money_parsen agrees with
 * hg_money_parse on NUL-free text, an accepted amount formats back to text that parses to the same
 * fen (and exactly to the input with EXACT2), the capital form exists for it; money read from a JSON
 * number (hg_json_getm) and the date formats of the specs only answer or refuse. */
#include "fuzz.h"
#include <stdio.h>
#include "hg_money.h"
#include "hg_json.h"

static const char *const FORMATS[] = { HG_DATE_TS17, HG_DATE_TS14, HG_DATE_DATE, HG_DATE_DATETIME, HG_DATE_DATE8 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_begin();
    apr_int64_t fen = 7, fen2 = 9, r;
    apr_status_t rv, rv2;
    unsigned flags;
    const char *s, *why;
    char *txt, buf[HG_MONEY_BUFSZ];
    apr_time_exp_t tm;
    json_t *j;
    size_t i;

    if (size < 1 || size > 4096)
        return -1;
    flags = data[0] & 3;
    s = (const char *)data + 1;
    size--;
    rv = hg_money_parsen(&fen, s, size, flags);
    if (!memchr(s, 0, size)) {
        txt = fuzz_str(p, (const uint8_t *)s, size);
        rv2 = hg_money_parse(&fen2, txt, flags);
        if (rv != rv2 || (rv == APR_SUCCESS && fen != fen2)) {
            fprintf(stderr, "parse and parsen disagree\n");
            abort();
        }
        if (rv == APR_SUCCESS) {
            const char *f = hg_money_format(p, fen);
            if (hg_money_parse(&fen2, f, HG_MONEY_ALLOW_NEG | HG_MONEY_EXACT2) != APR_SUCCESS || fen2 != fen
                || strcmp(hg_money_format_buf(buf, fen), f) || !hg_money_capital(p, fen)) {
                fprintf(stderr, "%s -> %lld -> %s does not round-trip\n", txt, (long long)fen, f);
                abort();
            }
            if ((flags & HG_MONEY_EXACT2) && strcmp(f, txt) && !(fen == 0 && !strcmp(txt, "-0.00"))) {
                fprintf(stderr, "EXACT2 %s formats as %s\n", txt, f);
                abort();
            }
            hg_money_add(&r, fen, fen);
            hg_money_sub(&r, fen, -fen);
            hg_money_mul_qty(&r, fen, fen % 100000000);
        }
        /* the same text as a JSON value: a number or a string */
        if (hg_json_parse(&j, p, txt, size, HG_JSON_PARSE_ANY, NULL) == APR_SUCCESS) {
            json_t *o = hg_json_object(p);
            json_object_set(o, "amt", j);
            hg_json_getm(o, &fen, "amt", NULL);
        }
    }
    for (i = 0; i < sizeof FORMATS / sizeof *FORMATS; i++)
        hg_date_parse(&tm, s, size, FORMATS[i], &why);
    return 0;
}
