/* libFuzzer harness: a HIS body for the invoice issue services, as mod_invoice's issue path takes it:
 * hg_json_parse (the glue's HG_R_JSON), invoice_validate for every bill kind (closed schemas through
 * hg_json_validate, then the cross-field sums), and for an accepted bill what invoice_issue does next:
 * invoice_normalize, invoice_content_hash, invoice_total_fen, the channel/charge summaries and the
 * red bill of it (invoice_make_red_data + invoice_validate_red).
 * Checks beside the sanitizers: a refusal is HG_EINVALID with a 4xx error; an accepted bill
 * normalises, hashes and totals without error, and its normal form is accepted again and hashes the
 * same (the idempotency hash must not depend on how the HIS spelt the numbers). */
#include "fuzz.h"
#include <stdio.h>
#include "hg_json.h"
#include "invoice_model.h"

static void check_refusal(apr_status_t rv, hg_error_t *err, const char *what)
{
    if (rv != HG_EINVALID || !err || err->status < 400 || err->status > 499) {
        fprintf(stderr, "%s: rv %d code %s status %d\n", what, (int)rv, err ? err->code : "-", err ? err->status : 0);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_begin();
    json_t *j, *norm, *norm2, *red;
    hg_error_t *err = NULL;
    char *hash, *hash2;
    const char *s;
    apr_int64_t total;
    apr_status_t rv;
    int k;

    if (size > 65536)
        return -1;
    if (hg_json_parse(&j, p, (const char *)data, size, 0, &err) != APR_SUCCESS) {
        check_refusal(HG_EINVALID, err, "parse");
        return 0;
    }
    for (k = 0; k < INVOICE_KIND_COUNT; k++) {
        err = NULL;
        rv = invoice_validate(p, (invoice_kind_t)k, j, &err);
        if (rv != APR_SUCCESS) {
            check_refusal(rv, err, "validate");
            /* red data is the gateway's own, but validate_red must refuse garbage cleanly too */
            err = NULL;
            if ((rv = invoice_validate_red(p, (invoice_kind_t)k, j, &err)) != APR_SUCCESS)
                check_refusal(rv, err, "validate_red");
            continue;
        }
        if (invoice_normalize(&norm, p, j) != APR_SUCCESS || invoice_content_hash(&hash, p, norm) != APR_SUCCESS
            || invoice_total_fen(norm, &total) != APR_SUCCESS || total <= 0
            || invoice_channels_json(&s, p, norm) != APR_SUCCESS || invoice_charges_json(&s, p, norm) != APR_SUCCESS) {
            fprintf(stderr, "kind %d: an accepted bill does not normalise/hash/total\n", k);
            abort();
        }
        err = NULL;
        if (invoice_validate(p, (invoice_kind_t)k, norm, &err) != APR_SUCCESS
            || invoice_normalize(&norm2, p, norm) != APR_SUCCESS || invoice_content_hash(&hash2, p, norm2) != APR_SUCCESS
            || strcmp(hash, hash2)) {
            fprintf(stderr, "kind %d: the normal form is refused or hashes differently (%s)\n", k,
                    err ? err->message : "-");
            abort();
        }
        if (invoice_make_red_data(&red, p, norm, "fuzz", "fuzzer", "20260101120000000") == APR_SUCCESS) {
            err = NULL;
            if ((rv = invoice_validate_red(p, (invoice_kind_t)k, red, &err)) != APR_SUCCESS) {
                fprintf(stderr, "kind %d: the red bill of an accepted bill is refused: %s %s\n", k,
                        err ? err->field : "-", err ? err->message : "-");
                abort();
            }
        }
    }
    return 0;
}
