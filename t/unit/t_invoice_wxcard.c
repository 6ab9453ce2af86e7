/* 存入微信卡包's pure pieces: the info list, the insert body, the upload's multipart body, the
 * errcode verdicts, the delivery's refusals that need no network, and the card's cancellation
 * when its bill is flushed (invoice_wxcard.h). */
#include <stdlib.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_base64.h>
#include "tap.h"
#include "hg_json.h"
#include "hg_err.h"
#include "invoice_wxcard.h"

static apr_pool_t *p;

static json_t *parse(const char *s)
{
    return hg_json_own(p, json_loads(s, 0, NULL));
}

/* sorted and compact, for comparisons */
static const char *dump(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    const char *out = s ? apr_pstrdup(p, s) : "(null)";
    free(s);
    return out;
}

static void test_info(void)
{
    json_t *info = NULL, *many;
    const char *why = NULL;
    int i;

    tap_is_int(invoice_wxcard_info(&info, &why, p, parse(
        "[{\"chargeName\":\"西药费\",\"unit\":\"盒\",\"std\":\"12.50\",\"number\":\"3\",\"amt\":\"37.50\"},"
        " {\"chargeName\":\"检查费\",\"unit\":\"项\",\"std\":\"38.00\",\"number\":\"1.000\",\"amt\":\"38.00\"}]")),
        APR_SUCCESS, "info: whole counts");
    tap_is_str(dump(info), "[{\"name\":\"西药费\",\"num\":3,\"price\":1250,\"unit\":\"盒\"},"
                           "{\"name\":\"检查费\",\"num\":1,\"price\":3800,\"unit\":\"项\"}]",
               "num and price in fen when std x number is the amount (3.000 counts as 3)");
    invoice_wxcard_info(&info, &why, p, parse(
        "[{\"chargeName\":\"氧气费\",\"unit\":\"小时\",\"std\":\"2.40\",\"number\":\"0.5\",\"amt\":\"1.20\"},"
        " {\"chargeName\":\"材料费\",\"std\":\"0.3333\",\"number\":\"3\",\"amt\":\"1.00\"},"
        " {\"chargeName\":\"床位费\",\"std\":\"10.00\",\"number\":\"2\",\"amt\":\"25.00\"}]"));
    tap_is_str(dump(info), "[{\"name\":\"氧气费\",\"num\":1,\"price\":120,\"unit\":\"小时\"},"
                           "{\"name\":\"材料费\",\"num\":1,\"price\":100,\"unit\":\"\"},"
                           "{\"name\":\"床位费\",\"num\":1,\"price\":2500,\"unit\":\"\"}]",
               "a fraction, an unparsable unit price, a price that does not add up: one line of the amount");
    many = json_array();
    for (i = 0; i < INVOICE_WXCARD_MAX_INFO + 5; i++)
        json_array_append_new(many, json_pack("{s:s, s:s, s:s, s:s}", "chargeName", "项目", "std", "1.00",
                                              "number", "1", "amt", "1.00"));
    invoice_wxcard_info(&info, &why, p, hg_json_own(p, many));
    tap_is_int(json_array_size(info), INVOICE_WXCARD_MAX_INFO, "at most %d lines", INVOICE_WXCARD_MAX_INFO);
    tap_is_str(dump(json_array_get(info, INVOICE_WXCARD_MAX_INFO - 1)),
               "{\"name\":\"其他\",\"num\":1,\"price\":600,\"unit\":\"\"}", "the rest summed in 其他 (6 lines)");
    invoice_wxcard_info(&info, &why, p, parse(
        "[{\"chargeName\":\"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十"
        "一二三四五六七八九十一二三四五六七八九十超出\",\"std\":\"1.00\",\"number\":\"1\",\"amt\":\"1.00\"}]"));
    tap_is_str(hg_json_gets(json_array_get(info, 0), "name", NULL),
               "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十",
               "a long name is cut at %d characters, not inside one", INVOICE_WXCARD_NAME_MAX);
    why = NULL;
    tap_is_int(invoice_wxcard_info(&info, &why, p, parse("[{\"chargeName\":\"x\",\"amt\":\"abc\"}]")), HG_EINVALID,
               "an amount that does not parse is refused");
    tap_is_str(why, "chargeDetail[0].amt is not an amount", "saying which");
}

static const char *PAYLOAD =
    "{\"orderId\":\"0123456789abcdefghijklmnopqrstuv\",\"fee\":12345,\"title\":\"张三丰\",\"billingTime\":1764400000,"
    "\"billBatchCode\":\"44010126\",\"billNo\":\"0000000001\",\"checkCode\":\"a1b2c3\","
    "\"info\":[{\"name\":\"西药费\",\"num\":1,\"unit\":\"项\",\"price\":12345}],"
    "\"filename\":\"ebill-44010126-0000000001.pdf\",\"pdf\":\"JVBERi0xLjQK\"}";

static void test_body(void)
{
    json_t *body = NULL, *d;
    const char *why = NULL;

    tap_is_int(invoice_wxcard_insert_body(&body, &why, p, parse(PAYLOAD), "pCARD", "wxAPP", "3015806758683707", "NONCE"),
               APR_SUCCESS, "insert body built");
    tap_is_str(hg_json_gets(body, "order_id", NULL), "0123456789abcdefghijklmnopqrstuv", "order_id");
    tap_is_str(dump(json_pack("[s?, s?, s?]", hg_json_gets(body, "card_id", NULL), hg_json_gets(body, "appid", NULL),
                              hg_json_gets(body, "card_ext", "nonce_str", NULL))),
               "[\"pCARD\",\"wxAPP\",\"NONCE\"]", "card_id, appid, card_ext.nonce_str");
    d = json_object_get(json_object_get(json_object_get(body, "card_ext"), "user_card"), "invoice_user_data");
    tap_is_str(dump(d), "{\"billing_code\":\"0000000001\",\"billing_no\":\"44010126\",\"billing_time\":1764400000,"
                        "\"check_code\":\"a1b2c3\",\"fee\":12345,\"fee_without_tax\":12345,"
                        "\"info\":[{\"name\":\"西药费\",\"num\":1,\"price\":12345,\"unit\":\"项\"}],"
                        "\"s_pdf_media_id\":\"3015806758683707\",\"tax\":0,\"title\":\"张三丰\"}",
               "invoice_user_data: fee in fen, billing_no the code, billing_code the number, no tax");
    tap_is_int(invoice_wxcard_insert_body(&body, &why, p, parse("{\"orderId\":\"x\",\"fee\":\"123.45\"}"), "c", "a", "m", "n"),
               HG_EINVALID, "a payload with the fee as a string is refused");
    tap_ok(why && strstr(why, "fee"), "naming the field (%s)", why ? why : "-");
    tap_is_int(invoice_wxcard_insert_body(&body, &why, p, parse(PAYLOAD), "pCARD", "", "m", "n"), HG_EINVALID,
               "no appid: refused");
    {
        json_t *neg = parse(PAYLOAD);
        json_object_set_new(neg, "fee", json_integer(0));
        tap_is_int(invoice_wxcard_insert_body(&body, &why, p, neg, "c", "a", "m", "n"), HG_EINVALID, "a fee of 0 is refused");
    }
}

static void test_multipart(void)
{
    static const unsigned char pdf[] = "%PDF-1.4\n\0binary\r\n--x\n%%EOF";
    char *body;
    const char *ct, *b;
    apr_size_t len, plen = sizeof(pdf) - 1;

    tap_is_int(invoice_wxcard_multipart(&body, &len, &ct, p, "ebill.pdf", pdf, plen), APR_SUCCESS, "multipart built");
    tap_ok(!strncmp(ct, "multipart/form-data; boundary=hgwx", 34), "content type with its boundary (%s)", ct);
    b = ct + strlen("multipart/form-data; boundary=");
    {
        const char *head = apr_pstrcat(p, "--", b, "\r\nContent-Disposition: form-data; name=\"pdf\"; filename=\"ebill.pdf\""
                                       "\r\nContent-Type: application/pdf\r\n\r\n", NULL);
        tap_ok(!strncmp(body, head, strlen(head)), "one part named pdf with the file name");
    }
    tap_ok(!memcmp(body + len - plen - strlen(b) - 8, pdf, plen), "the file as it is, NULs included");
    tap_is_str(body + len - strlen(b) - 8, apr_pstrcat(p, "\r\n--", b, "--\r\n", NULL), "closed by the boundary");
    tap_is_int(invoice_wxcard_multipart(&body, &len, &ct, p, "a\"b.pdf", pdf, plen), HG_EINVALID,
               "a quote in the file name is refused");
}

static void test_classify(void)
{
    tap_is_int(invoice_wxcard_classify(0), INVOICE_DELIVERED, "0 delivered");
    tap_is_int(invoice_wxcard_classify(72042), INVOICE_DELIVERED, "72042 (code and number already in a card package) delivered");
    tap_is_int(invoice_wxcard_classify(72038), INVOICE_PERMANENT, "72038 order never authorised: dead letter");
    tap_is_int(invoice_wxcard_classify(40003), INVOICE_PERMANENT, "40003 invalid openid: dead letter");
    tap_is_int(invoice_wxcard_classify(72031), INVOICE_PERMANENT, "72031 invalid params: dead letter");
    tap_is_int(invoice_wxcard_classify(72040), INVOICE_PERMANENT, "72040 pdf error: dead letter");
    tap_is_int(invoice_wxcard_classify(-1), INVOICE_RETRY, "-1 system busy: retry");
    tap_is_int(invoice_wxcard_classify(45009), INVOICE_RETRY, "45009 rate limit: retry");
    tap_is_int(invoice_wxcard_classify(42001), INVOICE_RETRY, "42001 token expired: retry");
}

static void test_deliver_refusals(void)
{
    invoice_wxcard_conf_t conf = { .on = 1, .s_pappid = "P", .card_id = "C", .appid = "A",
                                   .api_base = "http://127.0.0.1:9" };
    hg_outbox_item_t item = { .payload = "{}" };
    hg_outbox_outcome_t out = { 0 };
    json_t *j;

    conf.on = 0;
    item.payload = PAYLOAD;
    tap_ok(invoice_wxcard_deliver(p, &item, &conf, &out) != APR_SUCCESS && out.permanent,
           "not configured: a dead letter (%s)", out.error ? out.error : "-");
    conf.on = 1;
    memset(&out, 0, sizeof(out));
    item.payload = "{\"orderId\":\"x\"}";
    tap_ok(invoice_wxcard_deliver(p, &item, &conf, &out) != APR_SUCCESS && out.permanent,
           "a payload missing its fields: a dead letter (%s)", out.error ? out.error : "-");
    memset(&out, 0, sizeof(out));
    j = parse(PAYLOAD);
    json_object_set_new(j, "pdf", json_string("aGVsbG8gd29ybGQ="));       /* "hello world" */
    item.payload = hg_json_dump(p, j, 0);
    tap_ok(invoice_wxcard_deliver(p, &item, &conf, &out) != APR_SUCCESS && out.permanent
           && out.error && strstr(out.error, "not a PDF"), "a file that is not a PDF: a dead letter");
    memset(&out, 0, sizeof(out));
    item.payload = PAYLOAD;                 /* nothing listens on port 9: not reached, retried */
    conf.token = NULL;
    tap_ok(invoice_wxcard_deliver(p, &item, &conf, &out) != APR_SUCCESS && out.permanent,
           "no token source (no HisgateWeChat): a dead letter (%s)", out.error ? out.error : "-");
}

/* 冲红: the card's status (card/invoice/platform/updatestatus) */
static void test_status(void)
{
    static const struct { const char *payload, *card_id, *want, *why_has; } cases[] = {
        { "{\"orderId\":\"o\",\"cardId\":\"pCARD\",\"code\":\"123456789012\",\"status\":\"INVOICE_REIMBURSE_CANCEL\"}", "C",
          "{\"card_id\":\"pCARD\",\"code\":\"123456789012\",\"reimburse_status\":\"INVOICE_REIMBURSE_CANCEL\"}", NULL },
        { "{\"orderId\":\"o\",\"cardId\":null,\"code\":\"123456789012\",\"status\":\"INVOICE_REIMBURSE_CANCEL\"}", "C",
          "{\"card_id\":\"C\",\"code\":\"123456789012\",\"reimburse_status\":\"INVOICE_REIMBURSE_CANCEL\"}", NULL },
        { "{\"orderId\":\"o\",\"cardId\":\"pCARD\",\"code\":null,\"status\":\"INVOICE_REIMBURSE_CANCEL\"}", "C",
          NULL, "by hand" },
        { "{\"orderId\":\"o\",\"code\":\"1\",\"status\":\"CANCELLED\"}", "C", NULL, "reimburse_status" },
        { "{\"orderId\":\"o\",\"code\":\"1\",\"status\":\"INVOICE_REIMBURSE_CANCEL\"}", NULL, NULL, "InvoiceWxCard" },
    };
    static const char *const names[] = { "the card template the insertion kept", "else the configured one",
        "no card code (72042 at insertion): refused, saying to do it by hand", "a status WeChat does not have",
        "no card template at all" };
    hg_outbox_item_t item = { 0 };
    hg_outbox_outcome_t out = { 0 };
    invoice_wxcard_conf_t conf = { .on = 1, .card_id = "C", .api_base = "http://127.0.0.1:9" };
    json_t *body;
    const char *why;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        apr_status_t rv;
        body = NULL;
        why = NULL;
        rv = invoice_wxcard_status_body(&body, &why, p, parse(cases[i].payload), cases[i].card_id);
        if (cases[i].want)
            tap_is_str(rv == APR_SUCCESS ? dump(body) : why, cases[i].want, "status body: %s", names[i]);
        else
            tap_ok(rv == HG_EINVALID && !body && why && strstr(why, cases[i].why_has), "status body: %s (%s)",
                   names[i], why ? why : "-");
    }
    tap_is_int(invoice_wxcard_status_classify(0), INVOICE_DELIVERED, "status 0: delivered");
    tap_is_int(invoice_wxcard_status_classify(40056), INVOICE_PERMANENT, "status 40056 no such card code: dead letter");
    tap_is_int(invoice_wxcard_status_classify(40078), INVOICE_PERMANENT, "status 40078 reimbursed already: dead letter");
    tap_is_int(invoice_wxcard_status_classify(72042), INVOICE_RETRY, "status 72042 means nothing here: retried, not delivered");
    tap_is_int(invoice_wxcard_status_classify(-1), INVOICE_RETRY, "status -1 system busy: retry");
    tap_is_int(invoice_wxcard_status_classify(40001), INVOICE_RETRY, "status 40001 token: retry");

    item.payload = cases[2].payload;
    tap_ok(invoice_wxcard_status_deliver(p, &item, &conf, &out) == HG_EINVALID && out.permanent
           && out.error && strstr(out.error, "72042"), "delivering a cancellation without a card code: a dead letter that says why");
    memset(&out, 0, sizeof(out));
    item.payload = cases[0].payload;
    conf.token = NULL;
    tap_ok(invoice_wxcard_status_deliver(p, &item, &conf, &out) != APR_SUCCESS && out.permanent,
           "no token source (no HisgateWeChat): a dead letter (%s)", out.error ? out.error : "-");
    memset(&out, 0, sizeof(out));
    conf.on = 0;
    tap_ok(invoice_wxcard_status_deliver(p, &item, &conf, &out) != APR_SUCCESS && out.permanent,
           "not configured any more: a dead letter (%s)", out.error ? out.error : "-");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&p, NULL);
    test_info();
    test_body();
    test_multipart();
    test_classify();
    test_deliver_refusals();
    test_status();
    tap_plan(tap_n);
    return tap_done();
}
