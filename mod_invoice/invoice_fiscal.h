/* invoice_fiscal: the fiscal platform adapter of mod_invoice (Bosi envelope, specs/fiscal-einvoice.md).
 * Delivers the outbox topic "invoice.upload": every bill the hospital issued (blue and red) and every
 * paper exchange goes to the platform for supervision (监制).
 *
 * Outbox payload (plain JSON, after the module opened its seal):
 *   {"service": one of INVOICE_FISCAL_SERVICES, "data": {…the business object the platform gets…}}
 * The data is sent as it is (Base64 inside the envelope); the platform answers a repeated upload of
 * the same content identically, so a call whose outcome is unknown is simply sent again.
 * On success out->result is the platform's decoded message (the supervision answer), as JSON text.
 *
 * No httpd headers (domain file). */
#ifndef INVOICE_FISCAL_H
#define INVOICE_FISCAL_H
#include <string.h>
#include <apr_pools.h>
#include "hg_status.h"
#include "hg_outbox.h"

typedef struct invoice_fiscal_conf_t {
    const char *base_url;          /* service URL = base_url "/" service */
    const char *appid, *key;       /* issued by the platform; key signs (MD5) */
    int timeout_ms;                /* one call; 0 = hg_http's default */
    const char *ca_file;           /* PEM bundle for https; NULL = system store */
} invoice_fiscal_conf_t;

/* what to do with a delivery that did not succeed */
typedef enum {
    INVOICE_DELIVERED = 0,         /* done */
    INVOICE_RETRY,                 /* temporary or unknown: the outbox tries again later */
    INVOICE_PERMANENT              /* the request or our configuration is wrong: dead letter now */
} invoice_verdict_t;

/* the services this topic may carry: the issue uploads (a deposit voucher's is invoicePayMentVoucher;
 * invEBillPrepayment is what rows queued before that name was fixed carry), the red bills (a
 * deposit voucher's is writeOffPayMentVoucher), the paper exchanges and voided blank paper numbers */
#define INVOICE_FISCAL_SERVICES \
    "invoiceEBillOutpatient", "invEBillHospitalized", "invEBillRegistration", \
    "invEBillPhysicalExamination", "invEBillImmunization", "invoicePayMentVoucher", "invEBillPrepayment", \
    "writeOffEBill", "writeOffPayMentVoucher", "turnPaper", "reTurnPaper", "invalidPaper", "invalidBlankBillNo"

static inline int invoice_fiscal_service_known(const char *service)
{
    static const char *const known[] = { INVOICE_FISCAL_SERVICES, NULL };
    int i;
    for (i = 0; service && known[i]; i++)
        if (!strcmp(service, known[i]))
            return 1;
    return 0;
}

/* Attempts an upload row (a bill, its red-flush or paper event) gets: what the platform refuses is
 * dead at once (below), everything else — down, slow, busy, not reached — is retried at most an
 * hour apart (hg_outbox_delay_seconds) for about 41 days, so an outage over a long holiday
 * dead-letters nothing (50 attempts gave up after ~43 hours) */
#define INVOICE_UPLOAD_ATTEMPTS 1000

/* A platform result code.  The real code table is unknown (spec §5); these follow the simulated
 * platform's (mod_sandbox/sandbox_fiscal.c):
 *   S0000                          delivered
 *   E1xxx (appid, sign)            permanent: our configuration is wrong
 *   E0001 E2002 E2003 E2004 E3001  permanent: the request itself is wrong
 *   E2001 (bill not found)         retry: the bill's own upload may still be on its way (events of a
 *                                  bill wait for its live upload, not for one dead-lettered and
 *                                  retried by hand)
 *   E2005 (paper still live)       retry: the paper's void goes first in the bill's order, a red
 *                                  bill meeting a live paper waits for it
 *   E9999, anything else           retry (bounded by the row's max_attempts) */
static inline invoice_verdict_t invoice_fiscal_classify(const char *result)
{
    static const char *const wrong[] = { "E0001", "E2002", "E2003", "E2004", "E3001", NULL };
    int i;
    if (!result || !*result)
        return INVOICE_RETRY;
    if (!strcmp(result, "S0000"))
        return INVOICE_DELIVERED;
    if (result[0] == 'E' && result[1] == '1' && strlen(result) == 5)
        return INVOICE_PERMANENT;
    for (i = 0; wrong[i]; i++)
        if (!strcmp(result, wrong[i]))
            return INVOICE_PERMANENT;
    return INVOICE_RETRY;
}

/* The transport outcome of one hg_http_do (rv) and the HTTP status when an answer came:
 * 200 goes on to the envelope; timeouts, unsent requests, 5xx, 408 and 429 retry; an unusable
 * request (bad URL), 3xx (redirects are not followed: wrong URL) and other 4xx are permanent. */
static inline invoice_verdict_t invoice_http_classify(apr_status_t rv, int status)
{
    if (rv == HG_EINVALID)
        return INVOICE_PERMANENT;
    if (rv != APR_SUCCESS)
        return INVOICE_RETRY;                       /* HG_ETIMEOUT, HG_EHTTP, anything else */
    if (status == 200)
        return INVOICE_DELIVERED;
    if (status == 408 || status == 429 || status >= 500 || status < 300)
        return INVOICE_RETRY;
    return INVOICE_PERMANENT;
}

/* hg_outbox_deliver_fn for "invoice.upload"; baton is a const invoice_fiscal_conf_t *.
 * APR_SUCCESS when the platform answered S0000; otherwise out->permanent and out->error
 * ("<service>: <code> <message>") say what happened. */
apr_status_t invoice_fiscal_deliver(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                    hg_outbox_outcome_t *out);
#endif
