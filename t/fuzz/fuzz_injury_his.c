/* libFuzzer harness: a HIS call of mod_injury (POST /injury/api/v1/<function>): the first byte picks
 * the function from the catalogue, the rest is the JSON body.  injury_validate as the route does; for
 * an accepted body the flags (trial, refund, resolution) and the platform request built from it
 * (injury_request_json + injury_request_xml, fee rows numbered), which must parse back. */
#include "fuzz.h"
#include <stdio.h>
#include "hg_json.h"
#include "hg_xml.h"
#include "injury_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_begin();
    const injury_fn_t *tab, *fn;
    apr_size_t n;
    json_t *j, *req, *back;
    hg_error_t *err = NULL;
    const char *xml, *why = NULL;
    injury_fill_t fill = { "SESSION1", "44010001", "OP01", "操作员" };
    apr_status_t rv;
    size_t i;

    if (size < 2 || size > 65536)
        return -1;
    tab = injury_fn_table(&n);
    fn = &tab[data[0] % n];
    if (hg_json_parse(&j, p, (const char *)data + 1, size - 1, 0, &err) != APR_SUCCESS)
        return 0;
    err = NULL;
    if ((rv = injury_validate(p, fn, j, &err)) != APR_SUCCESS) {
        if (rv != HG_EINVALID || !err || err->status < 400 || err->status > 499) {
            fprintf(stderr, "validate: rv %d code %s\n", (int)rv, err ? err->code : "-");
            abort();
        }
        return 0;
    }
    injury_is_trial(fn, j);
    injury_is_refund(fn, j);
    injury_needs_resolution(fn, j);
    for (i = 0; fn->datasets && fn->datasets[i]; i++) {
        json_t *rows = json_object_get(j, fn->datasets[i]);
        if (json_is_array(rows)) {
            rows = hg_json_own(p, json_deep_copy(rows));
            injury_number_fees(rows, 1);
        }
    }
    req = injury_request_json(p, fn, j, &fill, NULL, NULL);
    if (!req) abort();
    if (injury_request_xml(&xml, p, req, &why) != APR_SUCCESS) {
        fprintf(stderr, "%s: an accepted body does not make a request: %s\n", fn->id, why ? why : "-");
        abort();
    }
    if (hg_xml_to_json(&back, p, xml, strlen(xml)) != APR_SUCCESS) {
        fprintf(stderr, "%s: our request does not parse: %s\n", fn->id, xml);
        abort();
    }
    return 0;
}
