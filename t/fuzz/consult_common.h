/* Shared by the consult harnesses: run every read-only entry point of the engine on a loaded template
 * and answers, the way mod_consult's routes do (view, navigation, submit, the HIS summary). */
#ifndef HG_FUZZ_CONSULT_H
#define HG_FUZZ_CONSULT_H
#include <stdio.h>
#include "hg_json.h"
#include "consult_engine.h"
#include "consult_fhir.h"

static inline void fuzz_check_refusal(apr_status_t rv, hg_error_t *err, const char *what)
{
    if (rv != HG_EINVALID || !err || !err->code || err->status < 400 || err->status > 499) {
        fprintf(stderr, "%s: rv %d code %s status %d\n", what, (int)rv, err ? err->code : "-", err ? err->status : 0);
        abort();
    }
}

/* answers as the server stores them: only values consult_validate_answer accepted */
static inline json_t *fuzz_checked_answers(apr_pool_t *p, const consult_template_t *t, json_t *posted)
{
    json_t *a = hg_json_object(p), *v;
    const char *k;
    if (!json_is_object(posted))
        return a;
    json_object_foreach(posted, k, v) {
        hg_error_t *e = NULL;
        apr_status_t rv = consult_validate_answer(p, t, k, v, &e);
        if (rv == APR_SUCCESS)
            json_object_set(a, k, v);
        else
            fuzz_check_refusal(rv, e, "validate_answer");
    }
    return a;
}

static inline void fuzz_run_engine(apr_pool_t *p, const consult_template_t *t, json_t *answers, const consult_ctx_t *ctx)
{
    json_t *out, *sections, *warnings, *nav, *posted;
    const char *advice, *k;
    json_t *v;

    if (consult_next_items(&out, p, t, answers, ctx) != APR_SUCCESS) abort();
    consult_state(t, answers, ctx, &advice, p);
    if (consult_calculate(&out, p, t, answers, ctx) != APR_SUCCESS) abort();
    if (consult_prune(&out, p, t, answers, ctx) != APR_SUCCESS) abort();
    if (consult_summary(&sections, p, t, out, ctx) != APR_SUCCESS) abort();
    consult_narrative(p, sections);
    if (consult_quality(&warnings, p, t, out, ctx) != APR_SUCCESS) abort();
    consult_warnings_block(warnings);
    if (consult_fhir_response(&out, p, t, answers, ctx) != APR_SUCCESS) abort();
    /* pages: the answered ids as one page, then Back */
    nav = hg_json_own(p, json_pack("{s:[],s:i}", "pages", "pos", 0));
    posted = hg_json_own(p, json_array());
    json_object_foreach(answers, k, v) {
        consult_enabled(t, answers, ctx, k, p);
        json_array_append_new(posted, json_string(k));
    }
    consult_nav_record(nav, posted);
    if (consult_view(&out, p, t, answers, nav, ctx) != APR_SUCCESS) abort();
    consult_nav_back(t, answers, nav, ctx, p);
    if (consult_view(&out, p, t, answers, nav, ctx) != APR_SUCCESS) abort();
}
#endif
