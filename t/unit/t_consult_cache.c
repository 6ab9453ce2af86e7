/* Unit tests for mod_consult/consult_cache: a visit row's byte form (what the shared visit cache
 * holds) — round trip with NULL and empty cells, UTF-8 and a long value; every truncation, a
 * trailing byte, another magic, an unknown flag and a value without its NUL are refused. */
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "tap.h"
#include "consult_cache.h"

static hg_db_result_t *row(apr_pool_t *p, int ncols, const char *const *vals)
{
    hg_db_result_t *r = apr_pcalloc(p, sizeof(*r));
    r->nrows = 1;
    r->ncols = ncols;
    r->vals = apr_pmemdup(p, vals, (ncols ? ncols : 1) * sizeof(*vals));
    return r;
}

/* 1 when both rows have the same cells (NULL where NULL) */
static int same(const hg_db_result_t *a, const hg_db_result_t *b)
{
    int i;
    if (!a || !b || a->nrows != 1 || b->nrows != 1 || a->ncols != b->ncols)
        return 0;
    for (i = 0; i < a->ncols; i++)
        if ((a->vals[i] == NULL) != (b->vals[i] == NULL) || (a->vals[i] && strcmp(a->vals[i], b->vals[i])))
            return 0;
    return 1;
}

int main(void)
{
    apr_pool_t *p;
    const char *cells[22];
    hg_db_result_t *in, *out, none = { 0 };
    unsigned char *buf, *bad;
    apr_size_t len, n;
    char *longv;
    int i, refused;

    apr_initialize();
    apr_pool_create(&p, NULL);

    /* a visit row's shape: 22 cells, some NULL, one empty, Chinese text, JSON */
    for (i = 0; i < 22; i++)
        cells[i] = apr_psprintf(p, "v%d", i);
    cells[2] = "张三丰的就诊";
    cells[11] = NULL;                         /* an approved template's definition */
    cells[15] = NULL;                         /* no summary yet */
    cells[17] = "";
    cells[14] = "{\"cough\":\"yes\",\"days\":3,\"note\":\"夜间加重\\n\"}";
    in = row(p, 22, cells);
    buf = consult_row_encode(p, in, &len);
    tap_ok(buf && len > 6 && !memcmp(buf, "HGV1", 4), "a row is encoded (%lu bytes)", (unsigned long)len);
    out = consult_row_decode(p, buf, len);
    tap_ok(same(in, out), "and decoded to the same cells");
    tap_ok(out && out->vals[11] == NULL && out->vals[15] == NULL, "NULL cells stay NULL");
    tap_ok(out && out->vals[17] && !*out->vals[17], "an empty cell stays empty, not NULL");
    tap_is_str(out ? out->vals[2] : "", "张三丰的就诊", "UTF-8 kept");

    /* a long value (a draft template's definition) */
    longv = apr_palloc(p, 40001);
    memset(longv, 'x', 40000);
    longv[40000] = '\0';
    cells[11] = longv;
    in = row(p, 22, cells);
    buf = consult_row_encode(p, in, &len);
    tap_ok(same(in, consult_row_decode(p, buf, len)), "a 40,000-byte value round trip");

    /* no columns at all; no row */
    in = row(p, 0, cells);
    buf = consult_row_encode(p, in, &len);
    out = consult_row_decode(p, buf, len);
    tap_ok(out && out->ncols == 0 && len == 6, "a row of no columns is 6 bytes and comes back");
    tap_ok(consult_row_encode(p, &none, &len) == NULL && consult_row_encode(p, NULL, &len) == NULL,
           "no row, no bytes");

    /* damaged forms are refused, never half read */
    cells[11] = NULL;
    in = row(p, 22, cells);
    buf = consult_row_encode(p, in, &len);
    for (refused = 0, n = 0; n < len; n++)
        refused += consult_row_decode(p, buf, n) == NULL;
    tap_ok(refused == (int)len, "every truncation refused (%d of %lu)", refused, (unsigned long)len);
    bad = apr_palloc(p, len + 1);
    memcpy(bad, buf, len);
    bad[len] = 'x';
    tap_ok(consult_row_decode(p, bad, len + 1) == NULL, "a trailing byte refused");
    memcpy(bad, buf, len);
    bad[3] = '2';
    tap_ok(consult_row_decode(p, bad, len) == NULL, "another magic refused");
    memcpy(bad, buf, len);
    bad[6] = 7;
    tap_ok(consult_row_decode(p, bad, len) == NULL, "an unknown flag refused");
    memcpy(bad, buf, len);
    bad[len - 1] = 'x';                      /* the last value loses its NUL */
    tap_ok(consult_row_decode(p, bad, len) == NULL, "a value without its NUL refused");
    memcpy(bad, buf, len);
    bad[5] = 23;                             /* says one column more than there is */
    tap_ok(consult_row_decode(p, bad, len) == NULL, "a column count larger than the cells refused");
    bad[4] = 0xff;
    tap_ok(consult_row_decode(p, bad, len) == NULL, "an absurd column count refused");

    apr_pool_destroy(p);
    apr_terminate();
    tap_plan(tap_n);
    return tap_done();
}
