#include <string.h>
#include <jansson.h>
#include <apr_strings.h>
#include "sandbox_fiscal.h"
#include "hg_json.h"

/* Error codes of the simulated platform (the real table is unknown, specs/fiscal-einvoice.md §5):
 * E0001 malformed business data, E1001 unknown appid, E1002 sign check failed,
 * E2001 bill not found, E3001 unknown service. */
apr_status_t sandbox_fiscal_serve(apr_pool_t *p, hg_db_t *db, const char *service,
                                  const char *data_json, const char **result, const char **message)
{
    json_t *d = hg_json_own(p, json_loads(data_json, 0, NULL));
    if (!json_is_object(d)) {
        *result = "E0001";
        *message = "业务参数不是JSON对象";
        return APR_SUCCESS;
    }
    if (!strcmp(service, "getEBillStatesByBillInfo")) {
        const char *code = hg_json_gets(d, "billBatchCode", NULL), *no = hg_json_gets(d, "billNo", NULL);
        if (!code || !no) {
            *result = "E0001";
            *message = "billBatchCode、billNo不能为空";
            return APR_SUCCESS;
        }
        /* bills are added to the simulator with the e-invoice module; none exist yet */
        *result = "E2001";
        *message = apr_psprintf(p, "票据不存在: %s %s", code, no);
        return APR_SUCCESS;
    }
    *result = "E3001";
    *message = apr_psprintf(p, "未知服务: %s", service);
    return APR_SUCCESS;
}
