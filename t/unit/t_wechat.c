/* hg_wechat: token requests, answers, refusal codes, URL building and redaction */
#include <stdio.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tap.h"
#include "hg_wechat.h"
#include "hg_json.h"
#include "hg_err.h"

static apr_status_t parse(const char **tok, int *exp, const char **why, apr_pool_t *p, const char *body)
{
    return hg_wechat_token_parse(tok, exp, why, p, body, body ? strlen(body) : 0);
}

int main(void)
{
    apr_pool_t *p;
    hg_http_req_t req;
    hg_wechat_conf_t conf;
    const char *tok, *why, *u;
    int exp;

    apr_initialize();
    apr_pool_create(&p, NULL);

    memset(&conf, 0, sizeof(conf));
    tap_is_int(hg_wechat_token_request(&req, p, &conf), HG_EINVALID, "no credentials and no central URL: refused");
    conf.appid = "wx5a1dbe0d3e5b0001";
    conf.secret = "s3cret&x=1";
    tap_is_int(hg_wechat_token_request(&req, p, &conf), APR_SUCCESS, "appid + secret: a request");
    tap_is_str(req.url, "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential"
                        "&appid=wx5a1dbe0d3e5b0001&secret=s3cret%26x%3D1", "WeChat's cgi-bin/token, values escaped");
    tap_ok(!strcmp(req.method, "GET") && req.idempotent && req.timeout_ms == 5000, "GET, idempotent, 5 s by default");
    conf.api_base = "http://127.0.0.1:8080/sandbox/wechat";
    hg_wechat_token_request(&req, p, &conf);
    tap_ok(!strncmp(req.url, "http://127.0.0.1:8080/sandbox/wechat/cgi-bin/token?", 51), "api_base replaces WeChat's host");
    conf.token_url = "https://wx.hospital.local/token?app=his";
    hg_wechat_token_request(&req, p, &conf);
    tap_is_str(req.url, "https://wx.hospital.local/token?app=his", "a central token URL wins over appid + secret");

    tap_is_int(parse(&tok, &exp, &why, p, "{\"access_token\":\"ACCESS_TOKEN-1\",\"expires_in\":7200}"),
               APR_SUCCESS, "WeChat's token answer parses");
    tap_ok(tok && !strcmp(tok, "ACCESS_TOKEN-1") && exp == 7200, "token and expires_in");
    tap_is_int(parse(&tok, &exp, &why, p, "{\"errcode\":40125,\"errmsg\":\"invalid appsecret\"}"),
               HG_EPLATFORM, "an errcode answer is a platform refusal");
    tap_ok(why && strstr(why, "40125") && strstr(why, "invalid appsecret") && !tok, "with the errcode and message: %s", why);
    tap_is_int(parse(&tok, &exp, &why, p, "{\"access_token\":\"a b\",\"expires_in\":7200}"),
               HG_EPLATFORM, "a token with a space is refused (it would break the URL)");
    tap_is_int(parse(&tok, &exp, &why, p, "{\"access_token\":\"abc\"}"),
               HG_EPLATFORM, "no expires_in: refused");
    tap_is_int(parse(&tok, &exp, &why, p, "<html>"), HG_EPLATFORM, "not JSON: refused");
    tap_is_int(parse(&tok, &exp, &why, p, NULL), HG_EPLATFORM, "no body: refused");

    tap_ok(hg_wechat_token_refused(40001) && hg_wechat_token_refused(40014) && hg_wechat_token_refused(42001),
           "40001, 40014, 42001 ask for another token");
    tap_ok(!hg_wechat_token_refused(0) && !hg_wechat_token_refused(40003) && !hg_wechat_token_refused(-1),
           "0, 40003 (openid), -1 (busy) do not");

    tap_ok(hg_wechat_errcode_permanent(40003) && hg_wechat_errcode_permanent(40037) && hg_wechat_errcode_permanent(43004)
           && hg_wechat_errcode_permanent(47001) && hg_wechat_errcode_permanent(47003),
           "openid, template, not following, data format, argument: waiting cannot help");
    tap_ok(!hg_wechat_errcode_permanent(-1) && !hg_wechat_errcode_permanent(45009) && !hg_wechat_errcode_permanent(40001),
           "busy, rate limit, refused token: another attempt later");

    tap_is_str(hg_wechat_with_token(p, "https://api.weixin.qq.com/cgi-bin/message/template/send", "T+k/1"),
               "https://api.weixin.qq.com/cgi-bin/message/template/send?access_token=T%2Bk%2F1", "? and the token escaped");
    tap_is_str(hg_wechat_with_token(p, "http://h/send?x=1", "T"), "http://h/send?x=1&access_token=T", "& after a query");

    u = hg_wechat_redact_url(p, "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=s3cret");
    tap_is_str(u, "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=***",
               "the secret is redacted for the journal");
    u = hg_wechat_redact_url(p, "http://h/send?access_token=T0KEN&x=1");
    tap_is_str(u, "http://h/send?access_token=***&x=1", "so is an access token");
    u = hg_wechat_redact_url(p, "http://h/send?mysecret=keep&x=1");
    tap_is_str(u, "http://h/send?mysecret=keep&x=1", "only the exact parameter names");
    tap_is_str(hg_wechat_redact_url(p, "http://h/send"), "http://h/send", "no query: unchanged");


    /* ---- the message push: signatures and safe mode (vectors from Python's hashlib and the
     * openssl command, not from this code) */
    {
        char sig[41], *enc, *msg;
        const char *appid;
        apr_size_t len;
        json_t *m;
        const char *key = "c2FuZGJveFB1c2hLZXlGb3JIaXNnYXRlMjAyNkFFUzI";
        const char *vector = "6cf//lm29kPpQ6tv4316rUzFTbszcTrq97OvTvvIWSbe3Ofm7p98zZAT/vrf9lUabgTxcXA8a7SEu7GL0BsObw==";

        hg_wechat_push_signature(sig, p, "hisgateSandboxPush2026", "1409659813", "1372623149", NULL);
        tap_is_str(sig, "3d990252acc8183ec63df1055a6a4633cbf3739c", "push signature: SHA-1 of the sorted token, timestamp, nonce");
        hg_wechat_push_signature(sig, p, "hisgateSandboxPush2026", "1409659813", "1372623149", "ENCRYPTTEXT");
        tap_is_str(sig, "82a6f8d4b6357b9367751fc31c2e0b2053fbbb16", "msg_signature: with Encrypt among them");
        tap_ok(hg_wechat_push_signed("3D990252ACC8183EC63DF1055A6A4633CBF3739C", p, "hisgateSandboxPush2026",
                                     "1409659813", "1372623149", NULL), "a signature in capitals is the same");
        tap_ok(!hg_wechat_push_signed("3d990252acc8183ec63df1055a6a4633cbf3739d", p, "hisgateSandboxPush2026",
                                      "1409659813", "1372623149", NULL), "one digit off: not signed");
        tap_ok(!hg_wechat_push_signed("3d990252acc8183ec63df1055a6a4633cbf3739", p, "hisgateSandboxPush2026",
                                      "1409659813", "1372623149", NULL), "39 digits: not signed");
        tap_is_int(hg_wechat_push_decrypt(&msg, &len, &appid, &why, p, key, vector), APR_SUCCESS, "safe mode: the vector decrypts");
        tap_ok(len == 19 && !strcmp(msg, "<xml><A>1</A></xml>") && !strcmp(appid, "wxAPPID"), "to the message and the appid");
        tap_is_int(hg_wechat_push_encrypt(&enc, p, key, "<xml><B>2</B></xml>", 19, "wx5a1dbe0d3e5b0001"), APR_SUCCESS, "encrypt");
        tap_ok(hg_wechat_push_decrypt(&msg, &len, &appid, &why, p, key, enc) == APR_SUCCESS && !strcmp(msg, "<xml><B>2</B></xml>")
               && !strcmp(appid, "wx5a1dbe0d3e5b0001") && strlen(enc) % 4 == 0, "and back");
        tap_is_int(hg_wechat_push_decrypt(&msg, &len, &appid, &why, p, "b3RoZXJLZXlPZlNvbWVvbmVFbHNlMDEyMzQ1Njc4OTA", vector),
                   HG_EINVALID, "another key: refused (%s)", why ? why : "-");
        tap_is_int(hg_wechat_push_decrypt(&msg, &len, &appid, &why, p, "short", vector), HG_EINVALID, "a key that is not 43 characters");
        tap_is_int(hg_wechat_push_decrypt(&msg, &len, &appid, &why, p, key, "6cf//lm29kPpQ6tv"), HG_EINVALID,
                   "a text shorter than a block");
        tap_is_int(hg_wechat_push_decrypt(&msg, &len, &appid, &why, p, key, "not base64!"), HG_EINVALID, "not base64");
        tap_is_int(hg_wechat_push_parse(&m, &why, p, "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Event><![CDATA[a&b]]></Event>"
                                        "<CreateTime>1409659813</CreateTime></xml>", 117), APR_SUCCESS, "a message parses");
        tap_ok(m && !strcmp(hg_json_gets(m, "Event", NULL), "a&b") && !strcmp(hg_json_gets(m, "CreateTime", NULL), "1409659813"),
               "CDATA and plain text, as strings");
        tap_is_int(hg_wechat_push_parse(&m, &why, p, "<xml><A>1</A>", 13), HG_EINVALID, "an unclosed message: refused");
    }
    tap_plan(tap_n);
    apr_pool_destroy(p);
    apr_terminate();
    return tap_done();
}
