/* the simulated fiscal e-bill platform: business answers per service (no httpd headers) */
#ifndef SANDBOX_FISCAL_H
#define SANDBOX_FISCAL_H
#include <apr_pools.h>
#include "hg_db.h"

/* answer one verified request: *result is S0000 or an error code, *message the business JSON
 * (success) or an error text */
apr_status_t sandbox_fiscal_serve(apr_pool_t *p, hg_db_t *db, const char *service,
                                  const char *data_json, const char **result, const char **message);
#endif
