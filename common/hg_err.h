/* hisgate error envelope: one table of error codes for every module, and the JSON body we answer with.
 *
 * A module that needs a new code adds ONE line to HG_ERR_LIST below; the constant, the table entry and
 * the documentation generator (hg_err_table) all follow from it.  Codes are strings on the wire
 * ("HG_FIELD_REQUIRED"); in C use the constant of the same name so a typo is a compile error:
 *     hg_error_t *e = hg_error_make(p, HG_FIELD_REQUIRED, "payer", NULL);
 * No httpd header here (core file). */
#ifndef HG_ERR_H
#define HG_ERR_H
#include <apr_pools.h>
#include "hg_status.h"

/* X(code, http status, default message).  English, with the Chinese term where it helps HIS staff. */
#define HG_ERR_LIST(X) \
    X(HG_JSON_MALFORMED,          400, "request body is not valid JSON (请求体不是合法的JSON)") \
    X(HG_JSON_NOT_OBJECT,         400, "request body must be a JSON object") \
    X(HG_FIELD_REQUIRED,          400, "a required field is missing or empty (必填字段缺失)") \
    X(HG_FIELD_TYPE,              400, "a field has the wrong JSON type (字段类型错误)") \
    X(HG_FIELD_TOO_LONG,          400, "a field is too long (字段超长)") \
    X(HG_FIELD_TOO_SHORT,         400, "a field is too short") \
    X(HG_FIELD_PATTERN,           400, "a field does not have the required format (格式错误)") \
    X(HG_FIELD_ENUM,              400, "a field is not one of the allowed values (取值不在允许范围)") \
    X(HG_FIELD_MONEY,             400, "a field is not a valid amount (金额格式错误)") \
    X(HG_FIELD_DATE,              400, "a field is not a valid date/time (日期时间格式错误)") \
    X(HG_FIELD_RANGE,             400, "a field is out of range (数值超出范围)") \
    X(HG_FIELD_UNKNOWN,           400, "unexpected field") \
    X(HG_TOO_MANY_ITEMS,          400, "too many items in a list (明细条数超限)") \
    X(HG_BODY_TOO_LARGE,          413, "request body too large") \
    X(HG_UNSUPPORTED_MEDIA_TYPE,  415, "unsupported media type, expected application/json") \
    X(HG_NOT_FOUND,               404, "not found") \
    X(HG_METHOD_NOT_ALLOWED,      405, "method not allowed") \
    X(HG_CONFLICT,                409, "conflict with the stored state (与已有记录冲突)") \
    X(HG_AUTH_MISSING,            401, "authentication is missing (缺少签名)") \
    X(HG_AUTH_MALFORMED,          401, "authentication header is malformed") \
    X(HG_AUTH_UNKNOWN_APP,        401, "unknown application id (appid)") \
    X(HG_AUTH_BAD_SIGNATURE,      401, "signature does not verify (签名错误)") \
    X(HG_AUTH_STALE_TIMESTAMP,    401, "request timestamp is outside the allowed window") \
    X(HG_AUTH_REPLAY,             401, "request was already seen (重放请求)") \
    X(HG_AUTH_APP_DISABLED,       403, "application is disabled") \
    X(HG_WECHAT_PUSH_OFF,         501, "WeChat message push is not configured (HisgateWeChatPush)") \
    X(HG_XML_MALFORMED,           400, "request body is not the XML message expected (请求体不是合法的XML消息)") \
    X(HG_FORBIDDEN,               403, "forbidden (无权限)") \
    X(HG_LOGIN_REQUIRED,          401, "login required (请先登录)") \
    X(HG_LOGIN_FAILED,            401, "wrong user name or password (用户名或密码错误)") \
    X(HG_ACCOUNT_LOCKED,          423, "account is locked (账户已锁定)") \
    X(HG_WEAK_PASSWORD,           400, "password does not meet the policy (密码强度不足)") \
    X(HG_CSRF,                    403, "CSRF token missing or invalid") \
    X(HG_DB_UNAVAILABLE,          503, "database unavailable") \
    X(HG_DB_BUSY,                 503, "database busy, retry later") \
    X(HG_DB_TIMEOUT,              503, "database statement timed out") \
    X(HG_REPORT_BUSY,             503, "other reports are being prepared, retry shortly (报表生成繁忙，请稍后再试)") \
    X(HG_PLATFORM_UNAVAILABLE,    502, "upstream platform unavailable (平台不可用)") \
    X(HG_PLATFORM_TIMEOUT,        504, "upstream platform timed out, outcome unknown (平台超时)") \
    X(HG_PLATFORM_REJECTED,       502, "upstream platform rejected the request (平台返回错误)") \
    X(HG_INTERNAL,                500, "internal error (系统内部错误)") \
    X(HG_INVOICE_UNKNOWN_SERVICE, 404, "unknown e-bill service name (未知的开票服务)") \
    X(HG_INVOICE_SUM_CHARGE,      400, "chargeDetail amounts do not add up to totalAmt (收费项目金额合计与总金额不符)") \
    X(HG_INVOICE_SUM_LIST,        400, "listDetail amounts do not add up to totalAmt (清单项目金额合计与总金额不符)") \
    X(HG_INVOICE_SUM_PAYCHANNEL,  400, "payChannelDetail amounts do not add up to the total (交费渠道金额合计与总金额不符)") \
    X(HG_INVOICE_SPLIT,           400, "the payment split does not add up (医保统筹、个人账户、现金等支付构成不平)") \
    X(HG_INVOICE_NOT_FOUND,       404, "no such bill (票据不存在)") \
    X(HG_INVOICE_BUSNO_CONFLICT,  409, "busNo already issued with different content (业务流水号已开票且内容不同)") \
    X(HG_INVOICE_NO_STOCK,        409, "the billing point has no e-bill numbers left (开票点电子票据号段已用完)") \
    X(HG_INVOICE_NO_PAPER_STOCK,  409, "the billing point has no paper numbers left (开票点纸质票据号段已用完)") \
    X(HG_INVOICE_IS_RED,          409, "a red bill cannot be flushed or exchanged (红票不能冲红)") \
    X(HG_INVOICE_PAPER_LIVE,      409, "the bill has a live paper exchange: void the paper first (已换开纸质票据，请先作废纸质票据)") \
    X(HG_INVOICE_WRONG_SERVICE,   409, "the service does not fit this bill: writeOffPayMentVoucher flushes deposit vouchers only (预交金凭证冲红仅适用于住院预交金凭证)") \
    X(HG_INVOICE_PAPER_EXISTS,    409, "the bill already has a live paper bill (已换开纸质票据)") \
    X(HG_INVOICE_NO_PAPER,        409, "the bill has no live paper bill (未换开纸质票据)") \
    X(HG_INVOICE_NOT_EXCHANGEABLE, 409, "a flushed or red bill cannot be exchanged for paper (已冲红票据不能换开)") \
    X(HG_INVOICE_PAPER_NO_MISMATCH, 409, "the paper number is not the billing point's next one (纸质票号不是当前可用票号)") \
    X(HG_INVOICE_SMS_TOO_SOON,    429, "wait before asking for another SMS code (验证码发送过于频繁)") \
    X(HG_INVOICE_SMS_DAILY_LIMIT, 429, "no more SMS codes today for this identifier (10 a day) (今日验证码次数已达上限)") \
    X(HG_INVOICE_MAIL_LIMIT,      429, "this bill was sent to enough addresses today (今日发送邮箱次数已达上限)") \
    X(HG_INVOICE_MAIL_OFF,        501, "the hospital does not send bills by e-mail (本院未开通邮箱发送)") \
    X(HG_INVOICE_WXCARD_OFF,      501, "the hospital does not put bills into the WeChat card package (本院未开通微信卡包)") \
    X(HG_INVOICE_WXCARD_STATE,    409, "a red, flushed or paper-exchanged bill cannot go into the WeChat card package (红票、已冲红或已换开纸质的票据不能存入微信卡包)") \
    X(HG_INVOICE_WXCARD_UNAUTHORIZED, 409, "the patient has not authorised this order in WeChat (未在微信中授权存入卡包)") \
    X(HG_INVOICE_SMS_CODE,        400, "wrong or expired SMS code (验证码错误或已过期)") \
    X(HG_INVOICE_STOCK_OVERLAP,   409, "the number range overlaps a stored range of the same bill code (号段与已入库号段重叠)") \
    X(HG_INVOICE_STOCK_IN_USE,    409, "the range has been issued from or distributed: it cannot be withdrawn (号段已使用或已分发，不能撤销入库)") \
    X(HG_INVOICE_PDF_BUSY,        503, "many layout files are being rendered, retry shortly (版式文件生成繁忙，请稍后再试)") \
    X(HG_CONSULT_TEMPLATE,        400, "the questionnaire template is invalid (问卷模板错误)") \
    X(HG_CONSULT_SESSION,         404, "unknown or expired pre-consultation link (预问诊链接无效或已过期)") \
    X(HG_CONSULT_CLOSED,          409, "the pre-consultation is already submitted or stopped (预问诊已提交或已终止)") \
    X(HG_CONSULT_QUALITY,         409, "some answers need checking before submission (部分回答需要核对后再提交)") \
    X(HG_CONSULT_STATE,           409, "the template version's status does not allow this (问卷模板当前状态不允许此操作)") \
    X(HG_INJURY_UNKNOWN_FUNCTION, 404, "unknown work-injury function_id (未知的工伤联网结算交易)") \
    X(HG_INJURY_STATE,            409, "the visit or stay is not in a state that allows this call (业务状态不允许该交易)") \
    X(HG_INJURY_BUSY,             409, "another call for this visit or stay is in progress (该业务正在处理中)") \
    X(HG_INJURY_FEE_BATCH,        502, "a fee batch was refused: the stay's uploaded fees were wiped (费用分批上传失败，已删除已上传费用)") \
    X(HG_INJURY_NOT_FOUND,        404, "no such work-injury settlement (工伤结算记录不存在)")

/* One string constant per code, spelled like the code itself. */
#define HG_ERR_DECLARE_(code, status, msg) extern const char code[];
HG_ERR_LIST(HG_ERR_DECLARE_)
#undef HG_ERR_DECLARE_

typedef struct {
    const char *code;
    int status;                 /* HTTP status */
    const char *message;        /* default text */
} hg_errdef_t;

/* The definition of a code, or NULL when the code is not in the table. */
const hg_errdef_t *hg_err_lookup(const char *code);
/* The whole table, in HG_ERR_LIST order (for generators and the docs); *n gets the count. */
const hg_errdef_t *hg_err_table(apr_size_t *n);

typedef struct hg_error_t {
    const char *code;
    int status;
    const char *message;        /* always valid UTF-8 (hg_error_make repairs it) */
    const char *field;          /* JSON path of the offending field, or NULL */
} hg_error_t;

/* A new error from pool p.  status comes from the table; message is the printf-formatted fmt, or the
 * table default when fmt is NULL.  An unknown code becomes HG_INTERNAL/500 and the message says which
 * code was asked for.  field may be NULL.  Never returns NULL. */
hg_error_t *hg_error_make(apr_pool_t *p, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The compact JSON body {"code":…,"message":…,"field":…,"request_id":…}; "field" and "request_id"
 * are left out when NULL.  Non-ASCII text stays UTF-8.  Never returns NULL. */
char *hg_error_json(apr_pool_t *p, const hg_error_t *e, const char *request_id);

/* Strict UTF-8 check of len bytes (no overlongs, no surrogates, nothing above U+10FFFF); *ncp gets the
 * number of code points.  HG_EINVALID when the bytes are not UTF-8. */
apr_status_t hg_utf8_count(apr_size_t *ncp, const char *s, apr_size_t len);

/* s with every invalid UTF-8 sequence replaced by U+FFFD (s itself when it is already valid).
 * Used for anything that may end up in a JSON string. */
const char *hg_utf8_repair(apr_pool_t *p, const char *s);

#endif
