/* mod_sandbox_wechat: WeChat's access tokens in the sandbox (see mod_sandbox_wechat.c) */
#ifndef MOD_SANDBOX_WECHAT_H
#define MOD_SANDBOX_WECHAT_H
#include "hg_glue.h"

extern const hg_route_t sandbox_wechat_routes[];
/* WeChat's e-invoice API and its authorisation page (mod_sandbox_wxcard.c) */
extern const hg_route_t sandbox_wxcard_routes[];

/* the ?access_token= of an API call: *errcode 0 when valid, else WeChat's 41001/40001/42001 */
apr_status_t sandbox_wechat_check_token(hg_call_t *c, int *errcode, const char **errmsg);
#endif
