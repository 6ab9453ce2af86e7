/* the simulated fiscal e-bill platform: business answers per service (no httpd headers).
 * Services: the issue uploads (invoiceEBillOutpatient, invEBillHospitalized, invEBillRegistration,
 * invEBillPhysicalExamination, invEBillImmunization, invEBillPrepayment), writeOffEBill, turnPaper,
 * reTurnPaper, invalidPaper, getEBillStatesByBillInfo; result codes at the top of sandbox_fiscal.c. */
#ifndef SANDBOX_FISCAL_H
#define SANDBOX_FISCAL_H
#include <apr_pools.h>
#include "hg_db.h"

/* answer one verified request: *result is S0000 or an error code, *message the business JSON
 * (success) or an error text.  Business refusals return APR_SUCCESS; anything else is a database
 * failure (no transaction is left open). */
apr_status_t sandbox_fiscal_serve(apr_pool_t *p, hg_db_t *db, const char *service,
                                  const char *data_json, const char **result, const char **message);
#endif
