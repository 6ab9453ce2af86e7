/* The demo questionnaires of mod_consult/demo.sql (compiled in as build/demo_templates.h), loaded
 * once for the harnesses that run patients' input against them (consult_answers, consult_expr). */
#ifndef HG_FUZZ_CONSULT_DEMO_H
#define HG_FUZZ_CONSULT_DEMO_H
#include "consult_common.h"
#include "demo_templates.h"

#define NDEMO 4
static consult_template_t *demo[NDEMO];

static void load_demo(void)
{
    int i;
    apr_pool_t *tpool = fuzz_long();
    for (i = 0; i < NDEMO; i++) {
        json_t *def;
        hg_error_t *e = NULL;
        if (hg_json_parse(&def, tpool, DEMO_TEMPLATES[i], strlen(DEMO_TEMPLATES[i]), 0, &e) != APR_SUCCESS
            || consult_template_load(&demo[i], tpool, def, &e) != APR_SUCCESS) {
            fprintf(stderr, "demo template %d: %s\n", i, e ? e->message : "?");
            abort();
        }
    }
}
#endif
