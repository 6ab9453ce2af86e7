/* Shared bits of the libFuzzer harnesses (t/fuzz/fuzz_*.c, built by `make fuzz`).
 * One APR pool for the whole run, cleared after every input: everything the code under test
 * allocates (and every json_t it hands to hg_json_own) goes with it, so LeakSanitizer only sees
 * what the code itself loses. */
#ifndef HG_FUZZ_H
#define HG_FUZZ_H
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

static apr_pool_t *fuzz_pool, *fuzz_long_pool;

/* At exit the last input's pool (and what a harness keeps for the whole run) is destroyed before
 * LeakSanitizer's final check (atexit handlers run in reverse order, LSan's was registered first):
 * jansson values are only referenced from pool cleanups, so without this they would be reported. */
static void fuzz_end(void)
{
    if (fuzz_pool) apr_pool_destroy(fuzz_pool);
    if (fuzz_long_pool) apr_pool_destroy(fuzz_long_pool);
    fuzz_pool = fuzz_long_pool = NULL;
}

static inline void fuzz_init(void)
{
    static int done;
    if (done++)
        return;
    apr_initialize();
    atexit(fuzz_end);
}

/* a pool for what lives through the whole run (compiled templates) */
static inline apr_pool_t *fuzz_long(void)
{
    fuzz_init();
    if (!fuzz_long_pool && apr_pool_create(&fuzz_long_pool, NULL) != APR_SUCCESS)
        abort();
    return fuzz_long_pool;
}

/* the pool for this input (created on the first call, cleared on every later one) */
static inline apr_pool_t *fuzz_begin(void)
{
    if (!fuzz_pool) {
        fuzz_init();
        if (apr_pool_create(&fuzz_pool, NULL) != APR_SUCCESS)
            abort();
    }
    else
        apr_pool_clear(fuzz_pool);
    return fuzz_pool;
}

/* a NUL-terminated copy of the input, in p */
static inline char *fuzz_str(apr_pool_t *p, const uint8_t *d, size_t n)
{
    char *s = apr_palloc(p, n + 1);
    memcpy(s, d, n);
    s[n] = '\0';
    return s;
}
#endif
