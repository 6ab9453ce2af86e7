/* libFuzzer harness: a patient's answers to a demo questionnaire (mod_consult/demo.sql, compiled once).
 * Input: one byte (low 2 bits: which demo template, bit 2: male/female patient, bit 3: the object is
 * taken as posted — {"answers":[{"linkId","value"}…]} — instead of {linkId: value}), then JSON.
 * Each answer goes through consult_validate_answer as POST …/answers does; the accepted ones are the
 * stored answers the engine then runs on (view, Back, submit: prune, quality, summary, FHIR). */
#include "fuzz.h"
#include "consult_demo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    json_t *j, *posted, *a;
    consult_template_t *t;
    consult_ctx_t ctx;
    size_t i;

    if (!demo[0])
        load_demo();
    p = fuzz_begin();
    if (size < 2 || size > 65536)
        return -1;
    t = demo[data[0] & 3];
    ctx.sex = (data[0] & 4) ? "M" : "F";
    ctx.birth_date = "1990-06-15";
    ctx.today = "2026-06-14";
    if (hg_json_parse(&j, p, (const char *)data + 1, size - 1, 0, NULL) != APR_SUCCESS)
        return 0;
    posted = j;
    if (data[0] & 8) {
        json_t *list = json_object_get(j, "answers");
        posted = hg_json_object(p);
        json_array_foreach(list, i, a) {
            const char *id = hg_json_gets(a, "linkId", NULL);
            json_t *v = json_object_get(a, "value");
            if (id && *id && v)
                json_object_set(posted, id, v);
        }
    }
    fuzz_run_engine(p, t, fuzz_checked_answers(p, t, posted), &ctx);
    return 0;
}
