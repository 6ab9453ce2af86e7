/* invoice_fiscal: uploads to the fiscal e-bill platform (see invoice_fiscal.h).  No httpd headers. */
#include <string.h>
#include <jansson.h>
#include <apr_strings.h>
#include "invoice_fiscal.h"
#include "hg_bosi.h"
#include "hg_http.h"
#include "hg_json.h"
#include "hg_err.h"

/* the console shows this text: keep it short, whole UTF-8 characters */
static const char *short_text(apr_pool_t *p, const char *s)
{
    apr_size_t n = s ? strlen(s) : 0;
    if (!s)
        return "";
    if (n <= 300)
        return hg_utf8_repair(p, s);
    n = 300;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return apr_pstrcat(p, hg_utf8_repair(p, apr_pstrndup(p, s, n)), "…", NULL);
}

static apr_status_t give_up(hg_outbox_outcome_t *out, invoice_verdict_t v, const char *error, apr_status_t rv)
{
    out->permanent = v == INVOICE_PERMANENT;
    out->error = error;
    return rv;
}

apr_status_t invoice_fiscal_deliver(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                    hg_outbox_outcome_t *out)
{
    const invoice_fiscal_conf_t *conf = baton;
    hg_http_req_t req;
    hg_http_resp_t *resp = NULL;
    json_t *payload = NULL, *data, *msg;
    const char *service, *result;
    char *data_json, *body, *message;
    invoice_verdict_t v;
    apr_status_t rv;

    if (!conf || !conf->base_url || !conf->appid || !conf->key)
        return give_up(out, INVOICE_PERMANENT, "the fiscal platform is not configured (HisgateFiscal)", HG_EINVALID);
    /* a payload we cannot read will not get better by waiting */
    if (hg_json_parse(&payload, p, item->payload, strlen(item->payload), 0, NULL) != APR_SUCCESS)
        return give_up(out, INVOICE_PERMANENT, "invoice.upload payload is not a JSON object", HG_EINVALID);
    service = hg_json_gets(payload, "service", NULL);
    data = json_object_get(payload, "data");
    if (!invoice_fiscal_service_known(service))
        return give_up(out, INVOICE_PERMANENT, apr_psprintf(p, "invoice.upload payload names no known service (%s)",
                                                          service ? service : "none"), HG_EINVALID);
    if (!json_is_object(data) || !(data_json = hg_json_dump(p, data, 0)))
        return give_up(out, INVOICE_PERMANENT, "invoice.upload payload has no data object", HG_EINVALID);
    if ((rv = hg_bosi_request(&body, p, conf->appid, conf->key, data_json)) != APR_SUCCESS)
        return give_up(out, INVOICE_RETRY, "the Bosi envelope could not be built", rv);

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = apr_pstrcat(p, conf->base_url, conf->base_url[0] && conf->base_url[strlen(conf->base_url) - 1] == '/'
                          ? "" : "/", service, NULL);
    req.headers = apr_table_make(p, 2);
    apr_table_setn(req.headers, "Content-Type", "application/json;charset=UTF-8");
    req.body = body;
    req.body_len = strlen(body);
    req.timeout_ms = conf->timeout_ms;
    req.connect_timeout_ms = HG_HTTP_CONNECT_TIMEOUT_MS;
    req.idempotent = 1;            /* the platform answers a repeated upload as the first one */
    req.max_retries = 1;
    req.ca_file = conf->ca_file;
    req.endpoint_name = apr_pstrcat(p, "fiscal.", service, NULL);
    req.observer = item->http_observer;
    req.observer_baton = item->http_observer_baton;
    rv = hg_http_do(&resp, p, &req);

    if ((v = invoice_http_classify(rv, resp ? resp->status : 0)) != INVOICE_DELIVERED) {
        if (rv != APR_SUCCESS)
            return give_up(out, v, apr_psprintf(p, "%s: fiscal platform not reached: %s", service,
                                               resp && resp->error ? resp->error
                                               : rv == HG_ETIMEOUT ? "timeout" : "error"), rv);
        return give_up(out, v, apr_psprintf(p, "%s: fiscal platform answered HTTP %d", service, resp->status),
                       HG_EPLATFORM);
    }
    /* a 200 that is not the platform's envelope: a proxy's page, a half-deployed platform */
    if (hg_bosi_open_answer(&result, &message, p, resp->body, resp->body_len) != APR_SUCCESS)
        return give_up(out, INVOICE_RETRY, apr_psprintf(p, "%s: the answer is not a Bosi envelope", service),
                       HG_EPLATFORM);
    if ((v = invoice_fiscal_classify(result)) != INVOICE_DELIVERED)
        return give_up(out, v, apr_psprintf(p, "%s: %s %s", service, short_text(p, result), short_text(p, message)),
                       HG_EPLATFORM);

    /* the supervision answer is what marks the bill uploaded: keep it as the platform sent it, once
     * it is seen to be this bill's (an answer naming another bill marks nothing; it goes again) */
    if (hg_json_parse(&msg, p, message, strlen(message), 0, NULL) == APR_SUCCESS) {
        static const char *const ids[] = { "billBatchCode", "billNo", NULL };
        int i;
        for (i = 0; ids[i] && json_is_object(msg); i++) {
            const char *sent = hg_json_gets(data, ids[i], NULL), *got = hg_json_gets(msg, ids[i], NULL);
            if (sent && got && strcmp(sent, got))
                return give_up(out, INVOICE_RETRY, apr_psprintf(p, "%s: the answer names %s %s, not %s", service,
                                                                ids[i], short_text(p, got), sent), HG_EPLATFORM);
        }
        out->result = hg_json_dump(p, msg, 0);
    }
    else
        out->result = hg_json_dump(p, hg_json_own(p, json_pack("{s:s, s:s}", "result", result, "message",
                                                                  hg_utf8_repair(p, message))), 0);
    return APR_SUCCESS;
}
