/* hg_qr: QR codes (libqrencode) as PNG bytes — the billQRCode the HIS prints — and as SVG for pages. */
#ifndef HG_QR_H
#define HG_QR_H
#include <apr_pools.h>
#include "hg_status.h"

/* 1-bit grayscale PNG, `scale` pixels per module, a 4-module quiet zone, error correction level M */
apr_status_t hg_qr_png(const unsigned char **png, apr_size_t *len, apr_pool_t *p, const char *text,
                       int scale);
/* a standalone <svg> of the same code */
apr_status_t hg_qr_svg(char **svg, apr_pool_t *p, const char *text);
/* internal: the symbol both draw — width x width module bytes in libqrencode's layout (bit 0 dark),
 * exactly what QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) gives — in p; HG_EINVALID
 * when there is none (no text, too long).  For the unit test that holds it to libqrencode's own
 * mask choice. */
apr_status_t hg_qr_encode_modules(const unsigned char **modules, int *width, apr_pool_t *p,
                                  const char *text);
/* internal: 1 when the mask is chosen here (libqrencode's inner functions found), 0 when
 * QRcode_encodeString does all the work */
int hg_qr_fast_mask(void);
#endif
