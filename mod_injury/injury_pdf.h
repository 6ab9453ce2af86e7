/* injury_pdf: the work-injury settlement slip (工伤联网结算单) for printing, via hg_pdf.
 * No httpd headers. */
#ifndef INJURY_PDF_H
#define INJURY_PDF_H
#include <apr_pools.h>
#include "injury_platform.h"
#include "injury_store.h"

/* A5 landscape: institution, the stay, the settlement split of §4.7 with Chinese labels, the
 * split-rule verdict and a cancelled mark.  HG_EPDF with *why on failure. */
apr_status_t injury_pdf_slip(const char **buf, apr_size_t *len, apr_pool_t *p, const injury_conf_t *conf,
                             const injury_settlement_t *s, const char **why);
#endif
