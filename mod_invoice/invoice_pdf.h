/* mod_invoice layout files (版式文件): the PDF of a medical e-bill and the 告知单 printed at the
 * cashier's window, both drawn from the bill document built by invoice_model.c.
 *
 * Input: the bill document {"institution","institutionName","kind","title","billBatchCode","billNo",
 * "random","createTime","isScarlet","relatedBill":{…},"data":{ Bosi issue payload, fiscal-einvoice.md
 * §4.1, money as "12.34" strings }}.  Money may also be a JSON number (hg_json_getm is lenient).
 * Red bills (isScarlet true) print every amount as negative whatever its sign in the document, so a
 * model that stores the original's positive amounts and one that stores negated ones give the same file.
 *
 * Fonts: hg_pdf_global_init must have succeeded in this process (httpd child_init, CLI start).
 * Output: *buf and *len, from p; the same document gives the same bytes.
 * Errors: HG_EINVALID when the document lacks what a bill cannot do without (billBatchCode, billNo,
 * random, data, data.totalAmt) or holds an amount that is not one; HG_EPDF when rendering fails
 * (fonts not loaded, libharu error).  On failure *buf is NULL and *len 0.
 * Threads: no shared state; one document per thread at a time (as hg_pdf).
 * No httpd header here (domain file). */
#ifndef INVOICE_PDF_H
#define INVOICE_PDF_H
#include <apr_pools.h>
#include <jansson.h>
#include "hg_status.h"

/* The bill itself: A4 portrait, as many pages as the items need (every page repeats the title, the
 * bill code/number/check code and the table header, and says 第n页/共m页).
 * h5_url: the bill's H5 view, printed as a QR code (NULL or "": no QR code).
 * seal_status: printed in the seal box, e.g. "已监制" or "待监制" (NULL: nothing besides the label). */
apr_status_t invoice_pdf_render(const char **buf, apr_size_t *len, apr_pool_t *p, json_t *doc,
                                const char *h5_url, const char *seal_status);

/* The 告知单: A5 landscape, one page; hospital, patient (masked), bill code/number/check code, date,
 * amount, a QR code of h5_url (required) and how to get and check the bill. */
apr_status_t invoice_notice_pdf_render(const char **buf, apr_size_t *len, apr_pool_t *p, json_t *doc,
                                       const char *h5_url);
#endif
