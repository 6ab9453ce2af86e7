/* hg_wechat: the WeChat Official Account access token (the part without httpd).
 *
 * Every call to WeChat's API carries ?access_token=…, a 512-character credential valid 7,200 s.
 * Fetching a new one (GET {api}/cgi-bin/token?grant_type=client_credential&appid=…&secret=…)
 * makes every older token of the account invalid within 5 minutes, and the account may fetch only
 * 2,000 a day — so one holder must fetch and share it (WeChat calls it the 中控服务器).  hisgate is
 * that holder for its processes (mod_hisgate keeps the token in shared memory, one fetch at a time),
 * or, when the hospital already runs one (its WeChat platform or HIS usually does), asks it:
 * "HisgateWeChatTokenURL" answers the same JSON shape as WeChat's cgi-bin/token.
 * With several httpd nodes on one account, use the central URL.
 *
 * Errcodes that mean "this token is no good, get another": 40001 (invalid or not latest), 40014
 * (invalid access_token), 42001 (expired).  No httpd headers (domain file). */
#ifndef HG_WECHAT_H
#define HG_WECHAT_H
#include <apr_pools.h>
#include <jansson.h>
#include "hg_http.h"
#include "hg_status.h"

#define HG_WECHAT_API "https://api.weixin.qq.com"
#define HG_WECHAT_EARLY_S 300      /* refresh this long before expiry (the old token's overlap) */

typedef struct hg_wechat_conf_t {
    const char *api_base;          /* NULL = HG_WECHAT_API */
    const char *appid, *secret;    /* hisgate fetches itself, or: */
    const char *token_url;         /* the hospital's central token service */
    const char *ca_file;
    int timeout_ms;
} hg_wechat_conf_t;

/* The token request (GET): WeChat's cgi-bin/token, or the central URL.  HG_EINVALID when neither
 * appid+secret nor token_url is configured. */
apr_status_t hg_wechat_token_request(hg_http_req_t *req, apr_pool_t *p, const hg_wechat_conf_t *conf);

/* The token answer: {"access_token","expires_in"} -> token and seconds; {"errcode","errmsg"} or
 * anything else -> HG_EPLATFORM with *why (never the secret or a token). */
apr_status_t hg_wechat_token_parse(const char **token, int *expires_in, const char **why, apr_pool_t *p,
                                   const char *body, apr_size_t len);

/* 1 when errcode says the access token is invalid or expired (fetch another and try again once) */
int hg_wechat_token_refused(long errcode);

/* where the token comes from: mod_hisgate's hg_wechat_token (hg_glue.h) */
typedef apr_status_t hg_wechat_token_get_fn(apr_pool_t *p, const char *stale, hg_http_observer_fn *observer,
                                            void *observer_baton, const char **token, const char **why);

/* One call of WeChat's API (a template message, the card package's calls): POST url?access_token=…
 * (GET when body is NULL), and once more with a fresh token when WeChat refuses the first.  Never
 * retried beyond that: a second message is a second message.  The answer is JSON whatever was
 * sent.  Zero the struct first: fields added later default to 0.  Outcome:
 *   APR_SUCCESS, *errcode 0      delivered; *answer is WeChat's JSON answer (msgid…)
 *   APR_SUCCESS, *errcode != 0   WeChat refused: the caller decides (permanent or retry), *why
 *   HG_EINVALID                  no token source configured (*why)
 *   anything else                not reached, HTTP status other than 200 (*http_status), no
 *                                token, or no JSON answer; *why */
typedef struct hg_wechat_call_t {
    const char *url;               /* e.g. https://api.weixin.qq.com/cgi-bin/message/template/send */
    const char *body;              /* JSON text; NULL: a GET */
    apr_size_t body_len;           /* 0: strlen(body) (a multipart body has NULs: give its length) */
    const char *content_type;      /* NULL: application/json;charset=UTF-8 */
    hg_wechat_token_get_fn *token;
    const char *ca_file;
    int timeout_ms;
    const char *endpoint_name;     /* for the journal */
    hg_http_observer_fn *observer;
    void *observer_baton;
} hg_wechat_call_t;
apr_status_t hg_wechat_call(apr_pool_t *p, const hg_wechat_call_t *call, long *errcode, int *http_status,
                            json_t **answer, const char **why);

/* 1 when waiting cannot help a message WeChat refused: 40003 invalid openid, 40037 invalid
 * template_id, 43004 the user does not follow the account, 47001 data format error, 47003
 * argument invalid.  Everything else is worth another attempt later (-1 busy, 45009 rate limit,
 * a refused token that a fresh one cures). */
int hg_wechat_errcode_permanent(long errcode);

/* url with access_token=token appended (? or &), the token URL-encoded */
const char *hg_wechat_with_token(apr_pool_t *p, const char *url, const char *token);

/* the same URL with secret= and access_token= values replaced by "***": for the journal */
const char *hg_wechat_redact_url(apr_pool_t *p, const char *url);
/* ---- The Official Account's message push (服务器配置: URL, Token, EncodingAESKey) ----
 * WeChat calls the account's server URL with ?signature=&timestamp=&nonce= (GET adds echostr: the
 * URL check, answered with echostr itself; POST carries an XML message or event, answered
 * "success").  signature = lower-case hex SHA-1 of token, timestamp and nonce sorted as strings and
 * concatenated.  In safe mode (安全模式, ?encrypt_type=aes&msg_signature=) the body is
 * <xml><ToUserName/><Encrypt/></xml> and msg_signature covers token, timestamp, nonce and Encrypt.
 * Encrypt = base64(AES-256-CBC(random 16 bytes | message length, 4 bytes big-endian | message |
 * appid)), PKCS#7-padded to 32 bytes, with key = base64 decode of EncodingAESKey (43 characters)
 * plus "=", and IV = the key's first 16 bytes. */
#define HG_WECHAT_AESKEY_LEN 43
/* sort is on the strings as bytes; encrypt NULL in plain mode */
apr_status_t hg_wechat_push_signature(char out[41], apr_pool_t *p, const char *token, const char *timestamp,
                                      const char *nonce, const char *encrypt);
/* 1 when the signature given (any case) is the one of these values */
int hg_wechat_push_signed(const char *given, apr_pool_t *p, const char *token, const char *timestamp,
                          const char *nonce, const char *encrypt);
/* safe mode: HG_EINVALID (*why) when the key is not 43 base64 characters, the text is not base64
 * of whole blocks, the padding or the length inside is wrong */
apr_status_t hg_wechat_push_decrypt(char **msg, apr_size_t *len, const char **appid, const char **why,
                                    apr_pool_t *p, const char *aes_key43, const char *encrypt);
apr_status_t hg_wechat_push_encrypt(char **encrypt, apr_pool_t *p, const char *aes_key43, const char *msg,
                                    apr_size_t len, const char *appid);
/* the message (<xml><ToUserName>…</xml>, CDATA or not) as a JSON object of its fields, all strings;
 * HG_EINVALID (*why) when it is not such a document */
apr_status_t hg_wechat_push_parse(json_t **msg, const char **why, apr_pool_t *p, const char *xml, apr_size_t len);

#endif
