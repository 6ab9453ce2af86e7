/* shared by mod_invoice's glue files (mod_invoice.c: HIS and patient routes; mod_invoice_staff.c:
 * the staff console's routes) */
#ifndef MOD_INVOICE_PRIVATE_H
#define MOD_INVOICE_PRIVATE_H
#include "hg_glue.h"
#include "invoice_store.h"

/* the store context of a call (db, pool, institution, keys, seal) */
invoice_ctx_t *invoice_call_ctx(hg_call_t *c);
/* a store error becomes the call's error envelope */
apr_status_t invoice_call_failed(hg_call_t *c, invoice_ctx_t *x, apr_status_t rv);

/* who a staff call's bill names as its payee, author or operator: the staff's display name (their
 * username without one), cut to the 50 characters a bill's payee holds */
const char *invoice_staff_operator(hg_call_t *c);

/* base64 of the PNG QR code of a link (billQRCode in answers); "" if it cannot be made */
const char *invoice_qr_png_b64(hg_call_t *c, const char *text);

/* the window's actions on one bill (mod_invoice.c, routed from the staff table): flush, paper
 * exchange, re-exchange and void with the HIS services' code; the layout file and the 告知单 */
apr_status_t invoice_window_action(hg_call_t *c);
apr_status_t invoice_window_pdf(hg_call_t *c);
/* the window's paper stock: the next number, a blank sheet voided */
apr_status_t invoice_window_paper(hg_call_t *c);

/* InvoiceStockLow's threshold for a kind of stock ("ebill", "paper"): fewer unused numbers is low */
apr_int64_t invoice_stock_low(const char *kind);

/* the staff console's routing table (mod_invoice_staff.c) */
extern const hg_route_t invoice_staff_routes[];
#endif
