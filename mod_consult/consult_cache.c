#include <string.h>
#include <apr_strings.h>
#include "consult_cache.h"

#define MAGIC "HGV1"
#define MAX_COLS 1024

unsigned char *consult_row_encode(apr_pool_t *p, const hg_db_result_t *r, apr_size_t *len)
{
    apr_size_t size = 6, at;
    unsigned char *buf;
    int i;
    if (!r || r->nrows < 1 || r->ncols < 0 || r->ncols > MAX_COLS)
        return NULL;
    for (i = 0; i < r->ncols; i++)
        size += 1 + (r->vals[i] ? strlen(r->vals[i]) + 1 : 0);
    buf = apr_palloc(p, size);
    memcpy(buf, MAGIC, 4);
    buf[4] = (unsigned char)(r->ncols >> 8);
    buf[5] = (unsigned char)(r->ncols & 0xff);
    for (at = 6, i = 0; i < r->ncols; i++) {
        apr_size_t n;
        if (!r->vals[i]) {
            buf[at++] = 0;
            continue;
        }
        buf[at++] = 1;
        n = strlen(r->vals[i]) + 1;
        memcpy(buf + at, r->vals[i], n);
        at += n;
    }
    *len = size;
    return buf;
}

hg_db_result_t *consult_row_decode(apr_pool_t *p, const unsigned char *buf, apr_size_t len)
{
    hg_db_result_t *r;
    apr_size_t at = 6;
    int ncols, i;
    if (!buf || len < 6 || memcmp(buf, MAGIC, 4))
        return NULL;
    ncols = (buf[4] << 8) | buf[5];
    if (ncols > MAX_COLS)
        return NULL;
    r = apr_pcalloc(p, sizeof(*r));
    r->nrows = 1;
    r->ncols = ncols;
    r->vals = apr_pcalloc(p, (ncols ? ncols : 1) * sizeof(*r->vals));
    for (i = 0; i < ncols; i++) {
        const unsigned char *nul;
        if (at >= len)
            return NULL;
        if (buf[at] == 0) {
            at++;
            continue;
        }
        if (buf[at++] != 1 || at >= len || !(nul = memchr(buf + at, '\0', len - at)))
            return NULL;
        r->vals[i] = apr_pstrmemdup(p, (const char *)buf + at, (apr_size_t)(nul - (buf + at)));
        at = (apr_size_t)(nul - buf) + 1;
    }
    return at == len ? r : NULL;
}
