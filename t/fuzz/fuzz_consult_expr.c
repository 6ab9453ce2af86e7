/* libFuzzer harness: the expression language of mod_consult (enableIf, calculate, terminal.when,
 * quality rules), parsed and evaluated by consult_eval against a demo template (mod_consult/demo.sql).
 * Input: one byte (low 2 bits: which demo template), the expression text, and optionally a NUL byte
 * followed by answers as JSON ({linkId: value}, each checked by consult_validate_answer first).
 * A refusal must be HG_EINVALID with a 4xx error. */
#include "fuzz.h"
#include "consult_demo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    json_t *posted = NULL, *out;
    consult_template_t *t;
    hg_error_t *err = NULL;
    const char *expr, *nul;
    apr_status_t rv;
    static const consult_ctx_t ctx = { "F", "1990-06-15", "2026-06-14" };

    if (!demo[0])
        load_demo();
    p = fuzz_begin();
    if (size < 1 || size > 16384)
        return -1;
    t = demo[data[0] & 3];
    expr = fuzz_str(p, data + 1, size - 1);
    if ((nul = memchr(data + 1, 0, size - 1)))
        hg_json_parse(&posted, p, nul + 1, (const char *)data + size - nul - 1, 0, NULL);
    rv = consult_eval(&out, p, t, expr, fuzz_checked_answers(p, t, posted), &ctx, &err);
    if (rv != APR_SUCCESS)
        fuzz_check_refusal(rv, err, "eval");
    return 0;
}
