/* hg_bosi: the Bosi (博思) fiscal e-bill platform envelope (specs/fiscal-einvoice.md §3).
 * Request body: {"appid","data":base64(JSON),"noise","version","sign"} with
 * sign = upper hex MD5("appid=…&data=…&noise=…&key=<secret>&version=…") in exactly that order.
 * Answer body: {"data": base64({"result":"S0000"|code, "message": base64(JSON or error text)})}.
 * Both our client (mod_invoice, the probe) and mod_sandbox's platform use this file. */
#ifndef HG_BOSI_H
#define HG_BOSI_H
#include <apr_pools.h>
#include "hg_status.h"

#define HG_BOSI_OK "S0000"

apr_status_t hg_bosi_sign(char **sign, apr_pool_t *p, const char *appid, const char *data_b64,
                          const char *noise, const char *key, const char *version);

/* build a request envelope around the business JSON; noise = fresh UUID-like random */
apr_status_t hg_bosi_request(char **body, apr_pool_t *p, const char *appid, const char *key,
                             const char *data_json);

/* platform side: parse an envelope, check the signature with the key of that appid.
 * *appid is set as soon as it is known (even when the check fails) */
typedef const char *hg_bosi_key_fn(void *baton, const char *appid);
apr_status_t hg_bosi_open_request(char **data_json, const char **appid, const char **err,
                                  apr_pool_t *p, const char *body, apr_size_t len,
                                  hg_bosi_key_fn *key_of, void *baton);

/* platform side: answer envelope (message = business JSON on success, error text otherwise) */
apr_status_t hg_bosi_answer(char **body, apr_pool_t *p, const char *result, const char *message);

/* client side: decode an answer into result code and message text */
apr_status_t hg_bosi_open_answer(const char **result, char **message, apr_pool_t *p,
                                 const char *body, apr_size_t len);
#endif
