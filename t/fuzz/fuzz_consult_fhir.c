/* libFuzzer harness: a FHIR R4 Questionnaire as POST /consult/staff/v1/templates/import takes it
 * (any JSON value: the route passes the body or its "questionnaire" member): consult_fhir_import,
 * then consult_template_load on the result, and for a loadable one the export and engine run on no
 * answers.  A refusal must be HG_EINVALID with a 4xx error (HG_CONSULT_TEMPLATE). */
#include "fuzz.h"
#include "consult_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_begin();
    json_t *q, *def, *q2;
    consult_template_t *t;
    hg_error_t *err = NULL;
    apr_status_t rv;
    static const consult_ctx_t ctx = { "F", "1990-06-15", "2026-06-14" };

    if (size > 65536)
        return -1;
    if (hg_json_parse(&q, p, (const char *)data, size, HG_JSON_PARSE_ANY, &err) != APR_SUCCESS)
        return 0;
    err = NULL;
    if ((rv = consult_fhir_import(&def, p, q, (size & 1) ? "fz" : NULL, "1", &err)) != APR_SUCCESS) {
        fuzz_check_refusal(rv, err, "fhir_import");
        return 0;
    }
    err = NULL;
    if ((rv = consult_template_load(&t, p, def, &err)) != APR_SUCCESS) {
        fuzz_check_refusal(rv, err, "template_load");
        return 0;
    }
    fuzz_run_engine(p, t, hg_json_object(p), &ctx);
    if (consult_fhir_export(&q2, p, def, "active") != APR_SUCCESS) abort();
    return 0;
}
