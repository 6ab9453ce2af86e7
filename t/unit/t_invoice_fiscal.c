/* mod_invoice's platform adapters (invoice_fiscal.c, invoice_notify.c): how a delivery outcome is
 * classified (done, retry later, dead letter), the SMS texts, and the refusals that need no network.
 * Against the simulated platforms they run end to end in the Apache::Test suite. */
#include <stdio.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <jansson.h>
#include "tap.h"
#include "hg_json.h"
#include "invoice_fiscal.h"
#include "invoice_notify.h"
#include <apr_base64.h>
#include <apr_strings.h>


#define OK_   INVOICE_DELIVERED
#define RETRY INVOICE_RETRY
#define PERM  INVOICE_PERMANENT

static json_t *parse(apr_pool_t *p, const char *s)
{
    json_t *j = NULL;
    hg_json_parse(&j, p, s, strlen(s), 0, NULL);
    return j;
}

static hg_outbox_item_t item_of(const char *payload)
{
    hg_outbox_item_t it;
    memset(&it, 0, sizeof(it));
    it.id = 1;
    it.topic = "invoice.upload";
    it.business_key = "upload:1";
    it.payload = payload;
    it.attempts = 1;
    it.max_attempts = 50;
    return it;
}

int main(void)
{
    apr_pool_t *p;
    static const struct { const char *code; invoice_verdict_t want; } results[] = {
        { "S0000", OK_ },
        { "E9999", RETRY },            /* busy */
        { "E1001", PERM },             /* unknown appid: configuration */
        { "E1002", PERM },             /* sign: configuration */
        { "E1999", PERM },
        { "E0001", PERM },             /* malformed */
        { "E2002", PERM },             /* exists with other content */
        { "E2003", PERM },             /* already flushed */
        { "E2004", PERM },             /* no live paper */
        { "E2005", RETRY },            /* a live paper: its void comes first in the bill's order */
        { "E3001", PERM },             /* unknown service */
        { "E2001", RETRY },            /* the bill is not there yet: a red bill overtook its upload */
        { "E7777", RETRY },            /* unknown code: bounded by max_attempts */
        { "500", RETRY },              /* seen from a real platform ([ZB]) */
        { "E1", RETRY },
        { "", RETRY },
        { NULL, RETRY },
    };
    static const struct { apr_status_t rv; int status; invoice_verdict_t want; const char *what; } http[] = {
        { APR_SUCCESS, 200, OK_, "200" },
        { HG_ETIMEOUT, 0, RETRY, "timeout (outcome unknown, the upload is idempotent)" },
        { HG_EHTTP, 0, RETRY, "connection refused" },
        { HG_EHTTP, 200, RETRY, "an answer too large" },
        { HG_EINVALID, 0, PERM, "a URL hg_http refuses" },
        { APR_SUCCESS, 500, RETRY, "500" },
        { APR_SUCCESS, 502, RETRY, "502" },
        { APR_SUCCESS, 503, RETRY, "503" },
        { APR_SUCCESS, 504, RETRY, "504" },
        { APR_SUCCESS, 408, RETRY, "408" },
        { APR_SUCCESS, 429, RETRY, "429" },
        { APR_SUCCESS, 204, RETRY, "204" },
        { APR_SUCCESS, 400, PERM, "400" },
        { APR_SUCCESS, 401, PERM, "401" },
        { APR_SUCCESS, 404, PERM, "404 (wrong base URL)" },
        { APR_SUCCESS, 302, PERM, "302 (redirects are not followed)" },
    };
    static const struct { const char *code; invoice_verdict_t want; } sms[] = {
        { "OK", OK_ },
        { "isv.MOBILE_NUMBER_ILLEGAL", PERM },
        { "isv.SMS_SIGNATURE_ILLEGAL", PERM },
        { "isv.INVALID_PARAMETERS", PERM },
        { "isv.BUSINESS_LIMIT_CONTROL", RETRY },
        { "isv.DAY_LIMIT_CONTROL", RETRY },
        { "isp.SYSTEM_ERROR", RETRY },
        { "Throttling", RETRY },
        { NULL, RETRY },
    };
    static const struct { long code; invoice_verdict_t want; } wx[] = {
        { 0, OK_ }, { 40003, PERM }, { 40037, PERM }, { 43004, PERM }, { 47001, PERM }, { 47003, PERM },
        { -1, RETRY }, { 40001, RETRY }, { 42001, RETRY }, { 45009, RETRY }, { 99999, RETRY },
    };
    /* written out here, not the macro: the test says which services go up, the code must agree */
    static const char *const services[] = {
        "invoiceEBillOutpatient", "invEBillHospitalized", "invEBillRegistration", "invEBillPhysicalExamination",
        "invEBillImmunization", "invoicePayMentVoucher", "invEBillPrepayment", "writeOffEBill",
        "writeOffPayMentVoucher", "turnPaper", "reTurnPaper", "invalidPaper", "invalidBlankBillNo" };
    static const char *const listed[] = { INVOICE_FISCAL_SERVICES };
    size_t i;
    int n = 0;

    apr_initialize();
    apr_pool_create(&p, NULL);
    tap_plan((int)(sizeof(results) / sizeof(results[0]) + sizeof(http) / sizeof(http[0])
                   + sizeof(sms) / sizeof(sms[0]) + sizeof(wx) / sizeof(wx[0])) + 1 + 4 + 9 + 5 + 8);

    for (i = 0; i < sizeof(results) / sizeof(results[0]); i++)
        tap_is_int(invoice_fiscal_classify(results[i].code), results[i].want, "fiscal result %s",
                   results[i].code ? results[i].code : "(none)");
    for (i = 0; i < sizeof(http) / sizeof(http[0]); i++)
        tap_is_int(invoice_http_classify(http[i].rv, http[i].status), http[i].want, "transport: %s", http[i].what);
    for (i = 0; i < sizeof(sms) / sizeof(sms[0]); i++)
        tap_is_int(invoice_notify_sms_classify(sms[i].code), sms[i].want, "SMS code %s",
                   sms[i].code ? sms[i].code : "(none)");
    for (i = 0; i < sizeof(wx) / sizeof(wx[0]); i++)
        tap_is_int(invoice_notify_wechat_classify(wx[i].code), wx[i].want, "WeChat errcode %ld", wx[i].code);

    for (i = 0; i < sizeof(services) / sizeof(services[0]); i++)
        n += invoice_fiscal_service_known(services[i]);
    tap_ok(n == 13 && sizeof(listed) == sizeof(services) && !invoice_fiscal_service_known("getEBillStatesByBillInfo")
           && !invoice_fiscal_service_known("") && !invoice_fiscal_service_known(NULL),
           "the upload topic carries the issue services (a deposit voucher's, and its old name), the two "
           "red-flushes, the 3 paper services and the blank paper void only");

    /* ---- the fiscal adapter's refusals without network */
    {
        invoice_fiscal_conf_t conf = { .base_url = "http://127.0.0.1:1/fiscal", .appid = "A", .key = "K",
                                       .timeout_ms = 2000 };
        hg_outbox_outcome_t out;
        hg_outbox_item_t it;
        apr_status_t rv;

        memset(&out, 0, sizeof(out));
        it = item_of("{\"service\":\"invoiceEBillOutpatient\",\"data\":{}}");
        rv = invoice_fiscal_deliver(p, &it, &(invoice_fiscal_conf_t){ 0 }, &out);
        tap_ok(rv != APR_SUCCESS && out.permanent && strstr(out.error, "not configured"),
               "no platform configured: dead letter (%s)", out.error);
        memset(&out, 0, sizeof(out));
        it = item_of("{\"service\":\"getBillDetail\",\"data\":{}}");
        rv = invoice_fiscal_deliver(p, &it, &conf, &out);
        tap_ok(rv != APR_SUCCESS && out.permanent, "a service outside the topic: dead letter (%s)", out.error);
        memset(&out, 0, sizeof(out));
        it = item_of("{\"service\":\"turnPaper\",\"data\":\"x\"}");
        rv = invoice_fiscal_deliver(p, &it, &conf, &out);
        tap_ok(rv != APR_SUCCESS && out.permanent, "data not an object: dead letter (%s)", out.error);
        memset(&out, 0, sizeof(out));
        it = item_of("{\"service\":\"turnPaper\",\"data\":{\"billNo\":\"0000000001\"}}");
        rv = invoice_fiscal_deliver(p, &it, &conf, &out);
        tap_ok(rv == HG_EHTTP && !out.permanent && strstr(out.error, "turnPaper"),
               "platform not reachable: retry later (%s)", out.error);
    }

    /* ---- the notice texts and the notifier's refusals */
    {
        invoice_notify_conf_t conf = { .sms_url = "http://127.0.0.1:1/sms", .sms_sign = "【测试医院】",
                                       .timeout_ms = 2000 };
        hg_outbox_outcome_t out;
        hg_outbox_item_t it;
        json_t *j;
        char *text;
        const char *why = NULL;
        apr_status_t rv;

        j = parse(p, "{\"channel\":\"sms\",\"to\":\"13800138000\",\"url\":\"https://h.example.cn/b?x=1\","
                  "\"billBatchCode\":\"44010126\",\"billNo\":\"0000000001\",\"totalAmt\":123.4,"
                  "\"institutionName\":\"别的名字\",\"title\":null}");
        rv = invoice_notify_sms_text(&text, &why, p, conf.sms_sign, j);
        tap_is_str(rv == APR_SUCCESS ? text : why, "【测试医院】您的电子票据已开具：金额123.40元，"
                   "票据号码0000000001（代码44010126），查看：https://h.example.cn/b?x=1",
                   "bill notice SMS: the configured sign (brackets not doubled), amount with two decimals");
        j = parse(p, "{\"channel\":\"sms\",\"to\":\"13800138000\",\"text\":\"您的验证码为123456。\","
                  "\"institutionName\":\"某医院\"}");
        rv = invoice_notify_sms_text(&text, &why, p, NULL, j);
        tap_is_str(rv == APR_SUCCESS ? text : why, "【某医院】您的验证码为123456。",
                   "plain SMS: without a configured sign the institution's name signs");
        j = parse(p, "{\"channel\":\"sms\",\"to\":\"13800138000\",\"url\":\"ftp://x\",\"billBatchCode\":\"1\","
                  "\"billNo\":\"1\",\"totalAmt\":\"1.00\"}");
        why = NULL;
        rv = invoice_notify_sms_text(&text, &why, p, "X", j);
        tap_ok(rv == HG_EINVALID && why && strstr(why, "url"), "a notice without a web link is refused (%s)", why);

        memset(&out, 0, sizeof(out));
        it = item_of("{\"channel\":\"sms\",\"to\":\"12345\",\"text\":\"hi\"}");
        rv = invoice_notify_deliver(p, &it, &conf, &out);
        tap_ok(rv != APR_SUCCESS && out.permanent && !strstr(out.error, "12345"),
               "not a mobile number: dead letter, the number not echoed (%s)", out.error);
        memset(&out, 0, sizeof(out));
        it = item_of("{\"channel\":\"wechat\",\"to\":\"oABCDEFGHIJKLMNOPQRSTUVWXYZ0\",\"url\":\"https://x/y\","
                     "\"billBatchCode\":\"44010126\",\"billNo\":\"0000000001\",\"totalAmt\":\"1.00\"}");
        rv = invoice_notify_deliver(p, &it, &conf, &out);
        tap_ok(rv != APR_SUCCESS && out.permanent && strstr(out.error, "WeChat"),
               "WeChat not configured: dead letter (%s)", out.error);
        memset(&out, 0, sizeof(out));
        it = item_of("{\"channel\":\"fax\",\"to\":\"1\"}");
        rv = invoice_notify_deliver(p, &it, &conf, &out);
        tap_ok(rv != APR_SUCCESS && out.permanent, "unknown channel: dead letter (%s)", out.error);
        memset(&out, 0, sizeof(out));
        it = item_of("{\"channel\":\"sms\",\"to\":\"13800138000\",\"text\":\"hi\"}");
        rv = invoice_notify_deliver(p, &it, &conf, &out);
        tap_ok(rv == HG_EHTTP && !out.permanent, "gateway not reachable: retry later (%s)", out.error);
        memset(&out, 0, sizeof(out));
        it = item_of("{\"channel\":\"sms\",\"to\":\"13800138000\",\"text\":\"hi\"}");
        rv = invoice_notify_deliver(p, &it, &(invoice_notify_conf_t){ 0 }, &out);
        tap_ok(rv != APR_SUCCESS && out.permanent && strstr(out.error, "not configured"),
               "SMS not configured: dead letter (%s)", out.error);
        memset(&out, 0, sizeof(out));
        it = item_of("{\"channel\":\"sms\",\"to\":\"13800138000\",\"text\":\"hi\"}");
        rv = invoice_notify_deliver(p, &it, &(invoice_notify_conf_t){ .sms_url = "http://127.0.0.1:1/" }, &out);
        tap_ok(rv != APR_SUCCESS && out.permanent && strstr(out.error, "sign"),
               "no sign anywhere: dead letter (%s)", out.error);
    }

    /* ---- e-mail (发送到邮箱): the SMTP verdicts, the message, the refusals without network */
    {
        invoice_notify_conf_t conf = { .mail_url = "smtp://127.0.0.1:1", .mail_from = "noreply@h.example",
                                       .timeout_ms = 2000 };
        static const unsigned char pdf[] = "%PDF-1.4 a small file\n%%EOF";
        hg_outbox_outcome_t out;
        hg_outbox_item_t it;
        char *msg, *b64;
        apr_size_t len;
        apr_status_t rv;

        tap_ok(invoice_mail_classify(250) == INVOICE_DELIVERED, "SMTP 250: delivered");
        tap_ok(invoice_mail_classify(550) == INVOICE_PERMANENT, "SMTP 550 (no such mailbox): dead letter");
        tap_ok(invoice_mail_classify(552) == INVOICE_PERMANENT, "SMTP 552 (too big): dead letter");
        tap_ok(invoice_mail_classify(451) == INVOICE_RETRY, "SMTP 451 (greylisted): retry");
        tap_ok(invoice_mail_classify(0) == INVOICE_RETRY, "no SMTP answer: retry");

        rv = invoice_mail_message(&msg, &len, p, "测试医院", "noreply@h.example", "a@b.example", "电子票据 1 2",
                                  "正文", "ebill-1-2.pdf", pdf, sizeof(pdf) - 1);
        tap_ok(rv == APR_SUCCESS && len == strlen(msg), "a message is built");
        tap_ok(rv == APR_SUCCESS && strstr(msg, "From: =?UTF-8?B?5rWL6K+V5Yy76Zmi?= <noreply@h.example>\r\n")
               && strstr(msg, "Subject: =?UTF-8?B?55S15a2Q56Wo5o2uIDEgMg==?=\r\n"),
               "sender name and subject as UTF-8 encoded words");
        b64 = apr_palloc(p, apr_base64_encode_len((int)sizeof(pdf) - 1));
        apr_base64_encode_binary(b64, pdf, (int)sizeof(pdf) - 1);
        tap_ok(rv == APR_SUCCESS && strstr(msg, "filename=\"ebill-1-2.pdf\"\r\n\r\n") && strstr(msg, b64)
               && strstr(msg, "Content-Type: application/pdf"), "the file attached in base64");
        rv = invoice_mail_message(&msg, &len, p, NULL, "noreply@h.example", "a@b.example\r\nBcc: x@y.example",
                                  "s", "t", "f.pdf", pdf, sizeof(pdf) - 1);
        tap_ok(rv == HG_EINVALID, "a line break in a header value is refused (no header injection)");

        memset(&out, 0, sizeof(out));
        it = item_of(apr_psprintf(p, "{\"channel\":\"email\",\"to\":\"a@b.example\",\"subject\":\"s\","
                                  "\"text\":\"t\",\"filename\":\"f.pdf\",\"pdf\":\"%s\"}", b64));
        rv = invoice_notify_deliver(p, &it, &(invoice_notify_conf_t){ 0 }, &out);
        tap_ok(rv != APR_SUCCESS && out.permanent && strstr(out.error, "InvoiceMail"),
               "mail server not configured: dead letter (%s)", out.error);
        memset(&out, 0, sizeof(out));
        rv = invoice_notify_deliver(p, &it, &conf, &out);
        tap_ok(rv == HG_EHTTP && !out.permanent, "mail server not reachable: retry later (%s)", out.error);
        memset(&out, 0, sizeof(out));
        it = item_of("{\"channel\":\"email\",\"to\":\"a@b.example\",\"subject\":\"s\",\"text\":\"t\","
                     "\"filename\":\"f.pdf\",\"pdf\":\"aGVsbG8=\"}");
        rv = invoice_notify_deliver(p, &it, &conf, &out);
        tap_ok(rv != APR_SUCCESS && out.permanent && strstr(out.error, "not a PDF"), "not a PDF: dead letter (%s)",
               out.error);
        memset(&out, 0, sizeof(out));
        it = item_of(apr_psprintf(p, "{\"channel\":\"email\",\"to\":\"not an address\",\"subject\":\"s\","
                                  "\"text\":\"t\",\"filename\":\"f.pdf\",\"pdf\":\"%s\"}", b64));
        rv = invoice_notify_deliver(p, &it, &conf, &out);
        tap_ok(rv != APR_SUCCESS && out.permanent && strstr(out.error, "to"), "not an address: dead letter (%s)",
               out.error);
    }

    apr_pool_destroy(p);
    apr_terminate();
    return tap_done();
}
