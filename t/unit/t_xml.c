/* t_xml — hg_xml writer, JSON<->XML bridge and parser, with the work-injury conventions. */
#include <stdlib.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "hg_status.h"
#include "hg_xml.h"
#include "tap.h"

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

static const char *js(apr_pool_t *p, json_t *v)   /* compact, key order kept */
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;
    const char *r = apr_pstrdup(p, s ? s : "(null)");
    free(s);
    return r;
}

static const char *sget(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_writer(apr_pool_t *p)
{
    hg_xml_writer_t *w;
    json_t *o;
    const char *x;
    const char *hostile = "<script>&\"'</script> 张三 工伤 😀";

    hg_xml_w_create(&w, p);
    hg_xml_w_open(w, "program");
    tap_ok(hg_xml_w_elem(w, "aac003", hostile) == APR_SUCCESS, "writer: hostile text accepted");
    hg_xml_w_elem(w, "bka043", NULL);
    hg_xml_w_close(w);
    tap_is_str(hg_xml_w_result(w),
               DECL "<program><aac003>&lt;script&gt;&amp;&quot;&apos;&lt;/script&gt; 张三 工伤 😀"
               "</aac003><bka043></bka043></program>",
               "writer: declaration, entities escaped, Chinese and emoji kept as UTF-8");
    tap_is_int(hg_xml_w_replaced(w), 0, "writer: nothing replaced");

    /* the escaped text must come back exactly through the parser */
    x = hg_xml_w_result(w);
    tap_ok(hg_xml_to_json(&o, p, x, strlen(x)) == APR_SUCCESS, "writer output parses");
    tap_is_str(sget(o, "aac003"), hostile, "hostile text survives write + parse byte for byte");

    /* controls: TAB/LF kept, CR as &#13;, other C0 and U+FFFF replaced by a space, counted */
    hg_xml_w_create(&w, p);
    hg_xml_w_open(w, "program");
    tap_ok(hg_xml_w_elemn(w, "t", "a\tb\nc\rd\x01" "e\x0b" "f\0g\xef\xbf\xbfh", 17) == APR_SUCCESS,
           "controls: accepted");
    hg_xml_w_close(w);
    tap_is_str(hg_xml_w_result(w), DECL "<program><t>a\tb\nc&#13;d e f g h</t></program>",
               "controls: CR as &#13;, SOH/VT/NUL/U+FFFF replaced by spaces");
    tap_is_int(hg_xml_w_replaced(w), 4, "controls: 4 replacements counted");
    x = hg_xml_w_result(w);
    tap_ok(hg_xml_to_json(&o, p, x, strlen(x)) == APR_SUCCESS
           && strcmp(sget(o, "t"), "a\tb\nc\rd e f g h") == 0,
           "controls: CR survives the parser");

    /* not UTF-8: rejected, sticky, nothing half-written */
    {
        static const struct { const char *s; const char *why; } bad[] = {
            { "\xd5\xc5\xc8\xfd", "GBK bytes (张三)" },
            { "\xc0\xaf", "overlong /" },
            { "\xed\xa0\x80", "surrogate" },
            { "ab\xe5\xbc", "truncated sequence" },
            { "\xf4\x90\x80\x80", "beyond U+10FFFF" },
        };
        size_t i;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            hg_xml_w_create(&w, p);
            hg_xml_w_open(w, "program");
            tap_ok(hg_xml_w_elem(w, "aac003", bad[i].s) == HG_EINVALID, "invalid UTF-8 rejected: %s",
                   bad[i].why);
        }
        tap_ok(hg_xml_w_error(w) && strstr(hg_xml_w_error(w), "UTF-8")
               && strstr(hg_xml_w_error(w), "aac003"), "error names the element: %s",
               hg_xml_w_error(w) ? hg_xml_w_error(w) : "(null)");
        tap_ok(hg_xml_w_elem(w, "ok", "fine") == HG_EINVALID && hg_xml_w_close(w) == HG_EINVALID,
               "errors are sticky");
        tap_ok(hg_xml_w_result(w) == NULL && hg_xml_w_status(w) == HG_EINVALID,
               "no result after an error");
    }

    /* names */
    {
        const char *names[] = { "a b", "1abc", "<x>", "a:b", "", "名字" };
        size_t i;
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            hg_xml_w_create(&w, p);
            tap_ok(hg_xml_w_elem(w, names[i], "x") == HG_EINVALID, "bad element name '%s' rejected",
                   names[i]);
        }
        hg_xml_w_create(&w, p);
        tap_ok(hg_xml_w_open(w, NULL) == HG_EINVALID, "NULL element name rejected");
    }

    /* balance */
    hg_xml_w_create(&w, p);
    hg_xml_w_open(w, "program");
    hg_xml_w_elem(w, "a", "1");
    x = hg_xml_w_result(w);
    tap_ok(x == NULL && hg_xml_w_error(w) && strstr(hg_xml_w_error(w), "program"),
           "unclosed element: no result (%s)", hg_xml_w_error(w) ? hg_xml_w_error(w) : "");
    hg_xml_w_create(&w, p);
    tap_ok(hg_xml_w_close(w) == HG_EINVALID, "close without open rejected");
}

static void test_round_trip(apr_pool_t *p)
{
    json_error_t je;
    json_t *in, *back, *want;
    const char *xml = NULL;

    in = json_loads("{\"function_id\":\"bizh110105\",\"session_id\":\"S-1&2\",\"akb020\":\"H44130200001\","
                    "\"aaz218\":\"J0001\",\"bka893\":1,\"bka043\":null,"
                    "\"feeinfo\":["
                    "{\"ake005\":\"X001\",\"ake006\":\"阿莫西林胶囊 <0.25g>\",\"bka056\":\"1.2500\",\"bka057\":\"2.00\",\"bka058\":\"2.50\"},"
                    "{\"ake005\":\"X002\",\"ake006\":\"换药 & 包扎\",\"bka056\":\"30.0000\",\"bka057\":\"1.00\",\"bka058\":\"30.00\"},"
                    "{\"ake005\":\"X003\",\"ake006\":\"\",\"bka056\":\"-5.0000\",\"bka057\":\"-1.00\",\"bka058\":\"-5.00\",\"aaz213\":\"7\"}"
                    "],\"blk\":{\"x\":\"1\"}}", 0, &je);
    tap_ok(in != NULL, "round trip: input JSON loads");
    tap_ok(hg_xml_from_json(&xml, p, NULL, in) == APR_SUCCESS, "JSON -> XML");
    tap_is_str(xml, DECL "<program><function_id>bizh110105</function_id><session_id>S-1&amp;2</session_id>"
               "<akb020>H44130200001</akb020><aaz218>J0001</aaz218><bka893>1</bka893><bka043></bka043>"
               "<feeinfo>"
               "<row><ake005>X001</ake005><ake006>阿莫西林胶囊 &lt;0.25g&gt;</ake006><bka056>1.2500</bka056>"
               "<bka057>2.00</bka057><bka058>2.50</bka058></row>"
               "<row><ake005>X002</ake005><ake006>换药 &amp; 包扎</ake006><bka056>30.0000</bka056>"
               "<bka057>1.00</bka057><bka058>30.00</bka058></row>"
               "<row><ake005>X003</ake005><ake006></ake006><bka056>-5.0000</bka056><bka057>-1.00</bka057>"
               "<bka058>-5.00</bka058><aaz213>7</aaz213></row>"
               "</feeinfo><blk><x>1</x></blk></program>",
               "XML: <program> root, fields in order, dataset as <feeinfo><row>..</row></feeinfo>");
    tap_ok(hg_xml_to_json(&back, p, xml, strlen(xml)) == APR_SUCCESS, "XML -> JSON");
    want = json_loads("{\"function_id\":\"bizh110105\",\"session_id\":\"S-1&2\",\"akb020\":\"H44130200001\","
                      "\"aaz218\":\"J0001\",\"bka893\":\"1\",\"bka043\":\"\","
                      "\"feeinfo\":["
                      "{\"ake005\":\"X001\",\"ake006\":\"阿莫西林胶囊 <0.25g>\",\"bka056\":\"1.2500\",\"bka057\":\"2.00\",\"bka058\":\"2.50\"},"
                      "{\"ake005\":\"X002\",\"ake006\":\"换药 & 包扎\",\"bka056\":\"30.0000\",\"bka057\":\"1.00\",\"bka058\":\"30.00\"},"
                      "{\"ake005\":\"X003\",\"ake006\":\"\",\"bka056\":\"-5.0000\",\"bka057\":\"-1.00\",\"bka058\":\"-5.00\",\"aaz213\":\"7\"}"
                      "],\"blk\":{\"x\":\"1\"}}", 0, &je);
    tap_ok(back && json_equal(back, want), "round trip equal (integer and null come back as strings)");
    if (back && !json_equal(back, want))
        tap_diag("got %s", js(p, back));
    tap_is_int(json_array_size(json_object_get(back, "feeinfo")), 3, "round trip: 3 rows");
    {   /* key order kept on the way back too */
        const char *k0 = json_object_iter_key(json_object_iter(back));
        tap_is_str(k0, "function_id", "round trip: first key first");
    }
    tap_ok(hg_xml_from_json(&xml, p, "request", in) == APR_SUCCESS
           && strncmp(xml, DECL "<request><function_id>", sizeof(DECL) + 22 - 1) == 0,
           "root name can be chosen");
    json_decref(in);
    json_decref(want);

    /* a dataset of one row is still an array; an empty dataset comes back as "" */
    in = json_pack("{s:s, s:[{s:s}], s:[]}", "a", "1", "one", "k", "v", "none");
    hg_xml_from_json(&xml, p, NULL, in);
    tap_is_str(xml, DECL "<program><a>1</a><one><row><k>v</k></row></one><none></none></program>",
               "one-row dataset and empty dataset written");
    hg_xml_to_json(&back, p, xml, strlen(xml));
    tap_is_str(js(p, back), "{\"a\":\"1\",\"one\":[{\"k\":\"v\"}],\"none\":\"\"}",
               "one row -> array of one; empty dataset -> \"\" (documented)");
    json_decref(in);

    in = json_pack("{s:I, s:I, s:i}", "big", (json_int_t)4406000123456789LL,
                   "neg", (json_int_t)-5, "zero", 0);
    hg_xml_from_json(&xml, p, NULL, in);
    tap_is_str(xml, DECL "<program><big>4406000123456789</big><neg>-5</neg><zero>0</zero></program>",
               "integers written in full, sign kept");
    json_decref(in);
}

static void test_from_json_rejects(apr_pool_t *p)
{
    static const struct { const char *json; const char *why; const char *msg; } bad[] = {
        { "{\"bka058\":12.5}", "real number", "bka058" },
        { "{\"bka893\":true}", "boolean", "bka893" },
        { "{\"feeinfo\":[{\"a\":\"1\"},\"x\"]}", "dataset row not an object", "feeinfo[1]" },
        { "{\"feeinfo\":[{\"a\":\"1\"},{\"b\":1.5}]}", "real inside a row", "feeinfo[1].b" },
        { "{\"row\":\"1\"}", "field named row", "reserved" },
        { "{\"a b\":\"1\"}", "key not an XML name", "a b" },
        { "{\"a\":\"\\u00ff\",\"b\":\"x\\u0000y\",\"c<\":\"1\"}", "bad key after good ones", "c<" },
    };
    size_t i;
    const char *xml;
    json_error_t je;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *in = json_loads(bad[i].json, JSON_ALLOW_NUL, &je);
        apr_status_t rv = hg_xml_from_json(&xml, p, NULL, in);
        const char *m = hg_xml_errmsg(p);
        tap_ok(in && rv == HG_EINVALID && xml == NULL && m && strstr(m, bad[i].msg),
               "from_json rejects %s (%s)", bad[i].why, m ? m : "no message");
        json_decref(in);
    }
    {
        json_t *arr = json_array();
        tap_ok(hg_xml_from_json(&xml, p, NULL, arr) == HG_EINVALID, "from_json: root must be an object");
        json_decref(arr);
    }
    {   /* nesting limit */
        json_t *deep = json_object(), *cur = deep;
        for (i = 0; i < 40; i++) {
            json_t *n = json_object();
            json_object_set_new(cur, "d", n);
            cur = n;
        }
        apr_status_t rv = hg_xml_from_json(&xml, p, NULL, deep);
        const char *m = hg_xml_errmsg(p);
        tap_ok(rv == HG_EINVALID && m && strstr(m, "deeper"), "from_json: nesting limit (%s)",
               m ? m : "");
        json_decref(deep);
    }
    {   /* a clean call clears the previous message */
        json_t *ok = json_pack("{s:s}", "a", "1");
        tap_ok(hg_xml_from_json(&xml, p, NULL, ok) == APR_SUCCESS && hg_xml_errmsg(p) == NULL,
               "success leaves no stale message");
        json_decref(ok);
    }
}

/* answers written from injury.md §1 and §4 */
static const char ANSWER_110001[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
    "<program>\r\n"
    "  <return_code>1</return_code>\r\n"
    "  <return_code_message>成功</return_code_message>\r\n"
    "  <personinfo>\r\n"
    "    <row>\r\n"
    "      <aac001>4406000123</aac001><aac003>张三</aac003><aac004>1</aac004>\r\n"
    "      <aac002>440602198001011234</aac002><bka008>佛山某某机械厂 &amp; 分厂</bka008>\r\n"
    "      <aaa027>440600</aaa027><bka006>410</bka006>\r\n"
    "    </row>\r\n"
    "  </personinfo>\r\n"
    "  <freezeinfo/>\r\n"
    "  <injuryorbirthinfo>\r\n"
    "    <row><bka042>GS2019-001</bka042><aae030>20190101</aae030><aae031>20191231</aae031></row>\r\n"
    "    <row><bka042>GS2019-002</bka042><aae030>20190601</aae030><aae031>20200531</aae031></row>\r\n"
    "  </injuryorbirthinfo>\r\n"
    "</program>\r\n";

static void test_parse_answers(apr_pool_t *p)
{
    json_t *o, *rows, *r0;
    const char *x;

    {
        apr_status_t rv = hg_xml_to_json(&o, p, ANSWER_110001, sizeof(ANSWER_110001) - 1);
        tap_ok(rv == APR_SUCCESS, "bizh110001 answer parses (%s)",
               hg_xml_errmsg(p) ? hg_xml_errmsg(p) : "ok");
    }
    tap_is_str(sget(o, "return_code"), "1", "return_code");
    tap_is_str(sget(o, "return_code_message"), "成功", "return_code_message");
    rows = json_object_get(o, "personinfo");
    tap_ok(json_is_array(rows) && json_array_size(rows) == 1, "personinfo: array of 1 row");
    r0 = json_array_get(rows, 0);
    tap_is_str(sget(r0, "aac003"), "张三", "personinfo[0].aac003");
    tap_is_str(sget(r0, "bka008"), "佛山某某机械厂 & 分厂", "entity decoded");
    tap_is_str(sget(r0, "aac002"), "440602198001011234", "long digit string stays a string");
    tap_is_int(json_object_size(r0), 7, "personinfo[0]: 7 fields");
    tap_ok(json_is_string(json_object_get(o, "freezeinfo"))
           && strcmp(sget(o, "freezeinfo"), "") == 0, "empty dataset <freezeinfo/> -> \"\"");
    rows = json_object_get(o, "injuryorbirthinfo");
    tap_ok(json_is_array(rows) && json_array_size(rows) == 2, "injuryorbirthinfo: 2 rows");
    tap_is_str(sget(json_array_get(rows, 1), "aae031"), "20200531", "injuryorbirthinfo[1].aae031");

    /* failure answer without declaration ([ZS] style), session expired */
    x = "<program><return_code>-9</return_code><return_code_message>session_id 无效，请重新登录"
        "</return_code_message></program>";
    tap_ok(hg_xml_to_json(&o, p, x, strlen(x)) == APR_SUCCESS
           && strcmp(sget(o, "return_code"), "-9") == 0
           && strstr(sget(o, "return_code_message"), "重新登录"),
           "session-expired answer without declaration");

    /* settlement answer: payinfo rows with amounts as text */
    x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><program><return_code>1</return_code>"
        "<return_code_message></return_code_message><payinfo><row><aaz218>J0001</aaz218>"
        "<bka001>1</bka001><akc264>37.50</akc264><bka831>0.00</bka831><bka832>37.50</bka832>"
        "<ake039>37.50</ake039></row></payinfo></program>";
    tap_ok(hg_xml_to_json(&o, p, x, strlen(x)) == APR_SUCCESS
           && strcmp(sget(json_array_get(json_object_get(o, "payinfo"), 0), "akc264"), "37.50") == 0
           && strcmp(sget(o, "return_code_message"), "") == 0,
           "settlement answer: payinfo[0].akc264 = \"37.50\"");

    /* the object belongs to the pool, json_incref keeps it past the pool */
    {
        apr_pool_t *sp;
        json_t *kept;
        apr_pool_create(&sp, p);
        hg_xml_to_json(&kept, sp, x, strlen(x));
        json_incref(kept);
        apr_pool_destroy(sp);
        tap_ok(kept->refcount == 1 && strcmp(sget(kept, "return_code"), "1") == 0,
               "pool cleanup drops exactly the pool's reference");
        json_decref(kept);
    }
}

static void test_malformed(apr_pool_t *p)
{
    static const struct { const char *xml; const char *why; const char *msg; } bad[] = {
        { "<program><a>1</program>", "mismatched tag", "XML parse error" },
        { "<program><a>1</a>", "unterminated document", "XML parse error" },
        { "服务执行发生异常", "plain text (platform exception page)", "XML parse error" },
        { "<program><a>1</a></program><x/>", "two roots", "XML parse error" },
        { "<program><a>&bogus;</a></program>", "undefined entity", "XML parse error" },
        { "<program><a>\x01</a></program>", "control character", "XML parse error" },
        { "<program><a>&#1;</a></program>", "control character reference", "XML parse error" },
        { "<program><a>\xd5\xc5</a></program>", "GBK bytes in a UTF-8 document", "XML parse error" },
        { "<?xml version=\"1.0\" encoding=\"GBK\"?><program/>", "GBK declaration", "XML parse error" },
        { "<?xml version=\"1.0\"?><!DOCTYPE p [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>"
          "<program><x>&b;</x></program>", "entity declarations (billion laughs)", "XML parse error" },
        { "<program>text<a>1</a></program>", "text mixed with elements", "mixed" },
        { "<program><a>1</a><a>2</a></program>", "repeated non-row element", "repeated" },
        { "<program><set><row><a>1</a></row><count>1</count></set></program>", "row next to others", "row" },
        { "<program><set><row>bare</row></set></program>", "row with text only", "row" },
        { "<program>just text</program>", "root with only text", "no fields" },
    };
    size_t i;
    json_t *o;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        apr_status_t rv = hg_xml_to_json(&o, p, bad[i].xml, strlen(bad[i].xml));
        const char *m = hg_xml_errmsg(p);
        tap_ok(rv == HG_EINVALID && o == NULL && m && strstr(m, bad[i].msg),
               "rejected: %s (%s)", bad[i].why, m ? m : "no message");
    }
    tap_ok(hg_xml_to_json(&o, p, "", 0) == HG_EINVALID, "rejected: empty body");
    tap_ok(hg_xml_to_json(&o, p, NULL, 5) == HG_EINVALID, "rejected: NULL body");
    {   /* nesting deeper than the limit */
        char *deep = "";
        for (i = 0; i < 40; i++)
            deep = apr_pstrcat(p, deep, "<d>", NULL);
        deep = apr_pstrcat(p, "<program>", deep, "1", NULL);
        for (i = 0; i < 40; i++)
            deep = apr_pstrcat(p, deep, "</d>", NULL);
        deep = apr_pstrcat(p, deep, "</program>", NULL);
        apr_status_t rv = hg_xml_to_json(&o, p, deep, strlen(deep));
        const char *m = hg_xml_errmsg(p);
        tap_ok(rv == HG_EINVALID && m && strstr(m, "deeper"), "rejected: nesting 40 deep (%s)",
               m ? m : "");
    }
    /* a length shorter than the string: only len bytes are read */
    tap_ok(hg_xml_to_json(&o, p, "<program><a>1</a></program>TRAILING", 27) == APR_SUCCESS
           && strcmp(sget(o, "a"), "1") == 0, "len is honoured (no reliance on a NUL)");
    tap_ok(hg_xml_to_json(&o, p, "<program><a>1</a></program>", 20) == HG_EINVALID,
           "truncated by len: rejected");
}

int main(void)
{
    apr_pool_t *p;
    apr_initialize();
    apr_pool_create(&p, NULL);

    test_writer(p);
    test_round_trip(p);
    test_from_json_rejects(p);
    test_parse_answers(p);
    test_malformed(p);

    tap_plan(tap_n);
    apr_pool_destroy(p);
    apr_terminate();
    return tap_done();
}
