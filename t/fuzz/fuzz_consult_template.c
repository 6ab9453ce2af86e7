/* libFuzzer harness: a questionnaire definition as a consult author posts it (POST
 * /consult/staff/v1/templates: consult_template_load on the JSON, enableWhen, enableIf/calculate/
 * terminal expressions, regexes, cycles).  An accepted template is then run (next items, state,
 * pruning, calculated items, summary, quality rules, view and Back, QuestionnaireResponse) on the
 * answers found under the input's "_answers" key (removed before loading; each answer checked with
 * consult_validate_answer first, as the server does), and exported to FHIR and imported back: the
 * round trip must load again.  A refusal must be HG_EINVALID with a 4xx error. */
#include "fuzz.h"
#include "consult_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_begin();
    json_t *def, *answers = NULL, *q, *def2;
    consult_template_t *t, *t2;
    hg_error_t *err = NULL;
    apr_status_t rv;
    consult_ctx_t ctx = { (size & 1) ? "M" : "F", "1980-02-29", "2026-06-14" };

    if (size > 65536)
        return -1;
    if (hg_json_parse(&def, p, (const char *)data, size, 0, &err) != APR_SUCCESS)
        return 0;
    if ((answers = json_object_get(def, "_answers"))) {
        json_incref(answers);
        hg_json_own(p, answers);
        json_object_del(def, "_answers");
    }
    if ((rv = consult_template_load(&t, p, def, &err)) != APR_SUCCESS) {
        fuzz_check_refusal(rv, err, "template_load");
        return 0;
    }
    fuzz_run_engine(p, t, fuzz_checked_answers(p, t, answers), &ctx);
    if (consult_fhir_export(&q, p, def, "draft") != APR_SUCCESS) {
        fprintf(stderr, "an accepted template does not export\n");
        abort();
    }
    err = NULL;
    if (consult_fhir_import(&def2, p, q, NULL, "1", &err) != APR_SUCCESS
        || consult_template_load(&t2, p, def2, &err) != APR_SUCCESS) {
        fprintf(stderr, "FHIR round trip refused: %s at %s\n%s\n", err ? err->message : "-",
                err && err->field ? err->field : "-", hg_json_dump(p, q, 0));
        abort();
    }
    return 0;
}
