/* Unit tests for mod_injury/injury_model: the catalogue and its validation, the JSON -> XML envelope
 * (hostile item names), XML -> JSON datasets, fee batches, the split rules and the state machine. */
#include <stdlib.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "tap.h"
#include "hg_err.h"
#include "hg_json.h"
#include "hg_xml.h"
#include "injury_model.h"

static apr_pool_t *pool;

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        printf("# bad test JSON: %s\n", e.text);
    return hg_json_own(pool, j);
}

/* the code and field of validating text against function id */
static const char *verr(const char *id, const char *text, const char **field)
{
    hg_error_t *e = NULL;
    const injury_fn_t *fn = injury_fn_find(id);
    *field = NULL;
    if (!fn)
        return "no such function";
    if (injury_validate(pool, fn, J(text), &e) == APR_SUCCESS)
        return "ok";
    *field = e ? e->field : NULL;
    return e ? e->code : "?";
}

static void test_catalogue(void)
{
    static const char *const ids[] = {
        "bizh110001", "bizh110102", "bizh110103", "bizh110104", "bizh110105", "bizh110106",
        "bizh120001", "bizh120102", "bizh120103", "bizh120104", "bizh120002", "bizh120003", "bizh120004",
        "bizh120105", "bizh120106", "bizh120107", "bizh120108", "bizh120109", "bizh120206", "bizh120113",
        "bizh200101", "bizh200102", "bizh200103", "bizh200104", "bizh200105", "bizh200106",
        "bizh410004", "bizh410005", "bizh120205", NULL };
    apr_size_t n, i;
    int all = 1;
    const injury_fn_t *t = injury_fn_table(&n);
    for (i = 0; ids[i]; i++)
        if (!injury_fn_find(ids[i]) || strcmp(injury_fn_find(ids[i])->id, ids[i]))
            all = 0, printf("# missing %s\n", ids[i]);
    tap_ok(all, "catalogue: every function of the issue is there");
    tap_is_int((int)n, (int)i, "catalogue: nothing else (%d functions)", (int)i);
    tap_ok(injury_fn_find("sys0001") == NULL, "catalogue: sys0001 is hisgate's own, not the HIS's");
    tap_ok(injury_fn_find("bizh999999") == NULL && injury_fn_find(NULL) == NULL, "catalogue: unknown id -> NULL");
    tap_ok(injury_fn_find("bizh120106")->action == INJ_A_IP_SETTLE && t[0].required != NULL,
           "catalogue: 120106 is the inpatient settlement");
}

static void test_validate(void)
{
    const char *f;
    tap_is_str(verr("bizh110001", "{\"bka895\":\"aac001\",\"bka896\":\"1000000001\",\"bka006\":\"410\"}", &f), "ok",
               "validate: person lookup ok");
    tap_is_str(verr("bizh110001", "{\"bka895\":\"aac001\",\"bka006\":\"410\"}", &f), "HG_FIELD_REQUIRED",
               "validate: missing bka896 refused");
    tap_is_str(f, "bka896", "validate: ... field named");
    tap_is_str(verr("bizh110001", "{\"bka895\":\"aac001\",\"bka896\":\"\",\"bka006\":\"410\"}", &f),
               "HG_FIELD_REQUIRED", "validate: empty string counts as missing");
    tap_is_str(verr("bizh110001", "{\"bka895\":\"xyz\",\"bka896\":\"1\",\"bka006\":\"410\"}", &f), "HG_FIELD_ENUM",
               "validate: bka895 outside the spec's identifier types");
    tap_is_str(verr("bizh110001", "{\"bka895\":\"aac001\",\"bka896\":\"1\",\"bka006\":\"510\"}", &f), "HG_FIELD_ENUM",
               "validate: bka006 other than 410/420");
    tap_is_str(verr("bizh110001", "{\"bka895\":\"aac001\",\"bka896\":1000000001,\"bka006\":\"410\"}", &f), "ok",
               "validate: an integer value is accepted (sent as its digits)");
    tap_is_str(verr("bizh110001", "{\"bka895\":\"aac001\",\"bka896\":12.5,\"bka006\":\"410\"}", &f), "HG_FIELD_TYPE",
               "validate: reals refused (amounts travel as strings)");
    tap_is_str(verr("bizh110001", "{\"bka895\":\"aac001\",\"bka896\":true,\"bka006\":\"410\"}", &f), "HG_FIELD_TYPE",
               "validate: booleans refused");
    tap_is_str(verr("bizh110001", "{\"bka895\":\"aac001\",\"bka896\":\"1\",\"bka006\":\"410\",\"x y\":\"1\"}", &f),
               "HG_FIELD_UNKNOWN", "validate: a key that is not a field code");
    tap_is_str(verr("bizh110001", "{\"bka895\":\"aac001\",\"bka896\":\"1\",\"bka006\":\"410\",\"session_id\":\"s\"}", &f),
               "HG_FIELD_UNKNOWN", "validate: session_id is hisgate's");
    tap_is_str(f, "session_id", "validate: ... field named");
    tap_is_str(verr("bizh110001", "{\"bka895\":\"aac001\",\"bka896\":\"1\",\"bka006\":\"410\",\"function_id\":\"x\"}", &f),
               "HG_FIELD_UNKNOWN", "validate: function_id is hisgate's");
    tap_is_str(verr("bizh110001", "{\"bka895\":\"aac001\",\"bka896\":\"1\",\"bka006\":\"410\",\"feeinfo\":[]}", &f),
               "HG_FIELD_TYPE", "validate: a dataset the function does not have");
    tap_is_str(verr("bizh110001", "{\"bka895\":\"aac001\",\"bka896\":\"1\",\"bka006\":\"410\",\"o\":{\"a\":\"1\"}}", &f),
               "HG_FIELD_TYPE", "validate: nested object refused");
    tap_is_str(verr("bizh120002", "{\"aaz218\":\"1\"}", &f), "HG_FIELD_REQUIRED", "validate: fee upload without rows");
    tap_is_str(f, "feeinfo", "validate: ... field feeinfo");
    tap_is_str(verr("bizh120002", "{\"aaz218\":\"1\",\"feeinfo\":[]}", &f), "HG_FIELD_REQUIRED",
               "validate: empty feeinfo");
    tap_is_str(verr("bizh120002", "{\"aaz218\":\"1\",\"feeinfo\":[{\"ake005\":\"A\",\"ake006\":\"n\",\"bka058\":\"1.00\"},"
                    "{\"ake005\":\"B\",\"bka058\":\"1.00\"}]}", &f), "HG_FIELD_REQUIRED",
               "validate: a fee row without its name");
    tap_is_str(f, "feeinfo[1].ake006", "validate: ... path of the row field");
    tap_is_str(verr("bizh120002", "{\"aaz218\":\"1\",\"feeinfo\":[{\"ake005\":\"A\",\"ake006\":\"n\",\"bka058\":\"1.0x\"}]}",
                    &f), "HG_FIELD_MONEY", "validate: a fee amount that is not money");
    tap_is_str(verr("bizh120002", "{\"aaz218\":\"1\",\"feeinfo\":[{\"ake005\":\"A\",\"ake006\":\"n\",\"bka058\":\"-1.00\"}]}",
                    &f), "ok", "validate: a negative (refund) line is fine");
    tap_is_str(verr("bizh120002", "{\"aaz218\":\"1\",\"feeinfo\":[\"x\"]}", &f), "HG_FIELD_TYPE",
               "validate: a row that is not an object");
    tap_is_str(f, "feeinfo[0]", "validate: ... its index");
    tap_is_str(verr("bizh120105", "{\"aaz218\":\"1\",\"bka032\":\"20260230\"}", &f), "HG_FIELD_DATE",
               "validate: discharge date not a calendar date");
    tap_is_str(verr("bizh120003", "{\"aaz218\":\"1\",\"bka438\":\"4\"}", &f), "HG_FIELD_ENUM",
               "validate: bka438 outside 1/2/3");
    tap_is_str(verr("bizh200102", "{\"aaz218\":\"1\",\"detail\":[{\"yzy201\":\"1\"}]}", &f), "ok",
               "validate: a medical record with its detail rows");
    tap_is_str(verr("bizh120205", "{}", &f), "HG_FIELD_REQUIRED", "validate: code table without its category");
    {
        hg_error_t *e = NULL;
        tap_ok(injury_validate(pool, injury_fn_find("bizh120205"), hg_json_own(pool, json_array()), &e) == HG_EINVALID
               && e && !strcmp(e->code, "HG_JSON_NOT_OBJECT"), "validate: not an object");
    }
}

static void test_envelope(void)
{
    injury_fill_t f = { "SESSION01", "H44010100001", "OP01", "操作员" };
    const injury_fn_t *fn = injury_fn_find("bizh110105");
    json_t *in = J("{\"aaz218\":\"2026000000000001\",\"bka893\":\"1\",\"feeinfo\":[{\"ake005\":\"X1\","
                   "\"ake006\":\"<b>&\\\"'\",\"bka058\":\"1.00\"}]}"), *req, *back;
    const char *xml = NULL, *why = NULL, *hostile = "<b>&\"'";

    req = injury_request_json(pool, fn, in, &f, NULL, NULL);
    tap_ok(injury_request_xml(&xml, pool, req, &why) == APR_SUCCESS && xml, "envelope: XML built");
    tap_ok(xml && strstr(xml, "<program><function_id>bizh110105</function_id><session_id>SESSION01</session_id>"
                              "<akb020>H44010100001</akb020>") != NULL,
           "envelope: function_id, session_id, akb020 first, under <program>");
    tap_ok(xml && strstr(xml, "<ake006>&lt;b&gt;&amp;&quot;&apos;</ake006>") != NULL,
           "envelope: hostile item name fully escaped");
    tap_ok(xml && strstr(xml, "<feeinfo><row><ake005>X1</ake005>") != NULL, "envelope: dataset as <feeinfo><row>");
    tap_ok(xml && strstr(xml, "<bka014>OP01</bka014><bka015>操作员</bka015>") != NULL,
           "envelope: operator defaults filled for 110105");
    tap_ok(hg_xml_to_json(&back, pool, xml, strlen(xml)) == APR_SUCCESS
           && !strcmp(hg_json_gets(json_array_get(json_object_get(back, "feeinfo"), 0), "ake006", NULL), hostile),
           "envelope: the hostile name parses back byte for byte");
    /* the HIS's own operator wins */
    in = J("{\"aaz218\":\"1\",\"bka014\":\"HIS9\",\"bka015\":\"收费员\"}");
    req = injury_request_json(pool, injury_fn_find("bizh110106"), in, &f, NULL, NULL);
    tap_is_str(hg_json_gets(req, "bka014", NULL), "HIS9", "envelope: the HIS's operator is kept");
    /* functions the spec names no operator for get none */
    req = injury_request_json(pool, injury_fn_find("bizh120004"), J("{\"aaz218\":\"1\"}"), &f, NULL, NULL);
    tap_ok(!json_object_get(req, "bka014"), "envelope: no operator where the function has none");
    req = injury_request_json(pool, injury_fn_find("bizh120106"), J("{\"aaz218\":\"1\"}"), &f, NULL, NULL);
    tap_is_str(hg_json_gets(req, "bka046", NULL), "OP01", "envelope: 120106 gets its bka046 完成人工号");
    /* a batch replaces the dataset */
    req = injury_request_json(pool, injury_fn_find("bizh120002"), J("{\"aaz218\":\"1\",\"feeinfo\":[{\"a\":\"1\"},{\"a\":\"2\"}]}"),
                              &f, "feeinfo", J("[{\"a\":\"2\"}]"));
    tap_is_int((int)json_array_size(json_object_get(req, "feeinfo")), 1, "envelope: the batch's rows only");
    /* an akb020 from the HIS never overrides the configured one */
    req = injury_request_json(pool, injury_fn_find("bizh120004"), J("{\"aaz218\":\"1\",\"akb020\":\"OTHER\"}"), &f,
                              NULL, NULL);
    tap_is_str(hg_json_gets(req, "akb020", NULL), "H44010100001", "envelope: akb020 is hisgate's");
}

static void test_answer(void)
{
    const char *code, *msg;
    json_t *o, *rows;
    const char *x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><program><return_code>1</return_code>"
                    "<return_code_message>成功</return_code_message><aaz218>2026</aaz218>"
                    "<personinfo><row><aac001>1</aac001><aac003>张&amp;伟</aac003></row>"
                    "<row><aac001>2</aac001><aac003>&lt;b&gt;</aac003></row></personinfo>"
                    "<freezeinfo></freezeinfo></program>";
    tap_ok(injury_parse_answer(pool, x, strlen(x), &o, &code, &msg) == INJ_R_OK, "answer: return_code 1 is OK");
    tap_is_str(code, "1", "answer: return_code kept");
    tap_is_str(msg, "成功", "answer: message kept");
    rows = json_object_get(o, "personinfo");
    tap_ok(json_is_array(rows) && json_array_size(rows) == 2, "answer: personinfo/row -> array of 2");
    tap_is_str(hg_json_gets(json_array_get(rows, 0), "aac003", NULL), "张&伟", "answer: entities decoded");
    tap_is_str(hg_json_gets(json_array_get(rows, 1), "aac003", NULL), "<b>", "answer: second row");
    tap_ok(!json_is_array(json_object_get(o, "freezeinfo")), "answer: an empty dataset is not rows");
    x = "<program><return_code>-9</return_code><return_code_message>会话已失效</return_code_message></program>";
    tap_ok(injury_parse_answer(pool, x, strlen(x), &o, &code, &msg) == INJ_R_SESSION, "answer: -9 = session");
    x = "<program><return_code>-1</return_code><return_code_message>业务互斥</return_code_message></program>";
    tap_ok(injury_parse_answer(pool, x, strlen(x), &o, &code, &msg) == INJ_R_REJECTED, "answer: -1 = refused");
    tap_is_str(msg, "业务互斥", "answer: the refusal's message kept");
    x = "<program><return_code_message>x</return_code_message></program>";
    tap_ok(injury_parse_answer(pool, x, strlen(x), &o, &code, &msg) == INJ_R_GARBLED, "answer: no return_code");
    x = "<html><body>502 Bad Gateway</body>";
    tap_ok(injury_parse_answer(pool, x, strlen(x), &o, &code, &msg) == INJ_R_GARBLED, "answer: not XML");
    x = "<program><return_code>abc</return_code></program>";
    tap_ok(injury_parse_answer(pool, x, strlen(x), &o, &code, &msg) == INJ_R_GARBLED, "answer: non-numeric code");
}

static void test_batches(void)
{
    json_t *rows = hg_json_own(pool, json_array()), *b;
    int i, seen_all = 1;
    apr_size_t done = 0, sizes[4] = { 0 };
    for (i = 0; i < 700; i++)
        json_array_append_new(rows, json_pack("{s:s, s:s, s:s}", "ake005", apr_psprintf(pool, "I%d", i),
                                              "ake006", "x", "bka058", "1.00"));
    tap_is_int(injury_batch_count(700, INJURY_BATCH_MAX), 3, "batches: 700 rows take 3 calls");
    tap_is_int(injury_batch_count(300, INJURY_BATCH_MAX), 1, "batches: 300 rows take 1");
    tap_is_int(injury_batch_count(301, INJURY_BATCH_MAX), 2, "batches: 301 rows take 2");
    tap_is_int(injury_batch_count(0, INJURY_BATCH_MAX), 0, "batches: none for none");
    for (i = 0; i < 3; i++) {
        b = injury_batch_slice(pool, rows, done, INJURY_BATCH_MAX);
        sizes[i] = json_array_size(b);
        if (json_array_get(b, 0) != json_array_get(rows, done))
            seen_all = 0;
        done += sizes[i];
    }
    tap_ok(sizes[0] == 300 && sizes[1] == 300 && sizes[2] == 100, "batches: 300 + 300 + 100 (%d %d %d)",
           (int)sizes[0], (int)sizes[1], (int)sizes[2]);
    tap_ok(seen_all && done == 700, "batches: in order, every row once");
    json_object_set_new(json_array_get(rows, 5), "aaz213", json_string("X5"));
    injury_number_fees(rows, 11);
    tap_is_str(hg_json_gets(json_array_get(rows, 0), "aaz213", NULL), "11", "batches: aaz213 numbered from the stay's next");
    tap_is_str(hg_json_gets(json_array_get(rows, 699), "aaz213", NULL), "710", "batches: ... to the last row");
    tap_is_str(hg_json_gets(json_array_get(rows, 5), "aaz213", NULL), "X5", "batches: a serial the HIS gave is kept");
}

static void test_split(void)
{
    json_t *v;
    const char *good = "{\"payinfo\":[{\"akc264\":\"100.00\",\"bka831\":\"10.00\",\"bka832\":\"90.00\","
                       "\"akb067\":\"10.00\",\"akb066\":\"0.00\",\"bka839\":\"0.00\",\"ake039\":\"90.00\","
                       "\"ake035\":\"0.00\",\"ake026\":\"\",\"bka842\":\"0.00\"}]}";
    tap_is_int(injury_split_check(pool, J(good), &v), 1, "split: consistent payinfo row");
    tap_is_int((int)json_array_size(v), 0, "split: no violations");
    tap_is_int(injury_split_check(pool, J("{\"akc264\":\"100.00\",\"bka831\":\"10.00\",\"bka832\":\"89.99\","
                                          "\"akb067\":\"10.00\",\"ake039\":\"89.99\"}"), &v), 0,
               "split: akc264 != bka831 + bka832 by one fen");
    tap_ok(json_array_size(v) == 1 && strstr(json_string_value(json_array_get(v, 0)), "akc264 = bka831 + bka832"),
           "split: the broken rule named");
    tap_is_int(injury_split_check(pool, J("{\"akc264\":\"100.00\",\"bka831\":\"10.00\",\"bka832\":\"90.00\","
                                          "\"akb067\":\"5.00\",\"akb066\":\"4.00\",\"ake039\":\"90.00\"}"), &v), 0,
               "split: personal part does not add up");
    tap_ok(json_array_size(v) == 1 && strstr(json_string_value(json_array_get(v, 0)), "bka831 = akb067"),
           "split: ... rule 2 named");
    tap_is_int(injury_split_check(pool, J("{\"payinfo\":[{\"akc264\":\"0.03\",\"bka831\":\"0.01\",\"bka832\":\"0.02\","
                                          "\"akb067\":\"0.01\",\"ake039\":\"0.01\",\"bka821\":\"0.02\"}]}"), &v), 0,
               "split: fund part adds up to more than bka832");
    tap_ok(json_array_size(v) == 1 && strstr(json_string_value(json_array_get(v, 0)), "payinfo[0]: bka832 = "),
           "split: ... rule 3 named with the row");
    tap_is_int(injury_split_check(pool, J("{\"akc264\":\"1.00\",\"bka831\":\"abc\"}"), &v), 0,
               "split: an amount that is not one is a violation");
    tap_is_int(injury_split_check(pool, J("{\"return_code\":\"1\"}"), &v), -1, "split: no split fields -> absent");
    tap_is_int(injury_split_check(pool, J("{\"akc264\":\"-50.00\",\"bka831\":\"-5.00\",\"bka832\":\"-45.00\","
                                          "\"akb067\":\"-5.00\",\"ake039\":\"-45.00\"}"), &v), 1,
               "split: a refund batch (negative) adds up");
}

static apr_status_t tr(const char *id, int exists, int inpatient, injury_state_t s, int fees, int trial, int refund,
                       injury_state_t *next, const char **why)
{
    injury_stay_facts_t f = { exists, inpatient, s, fees };
    return injury_transition(injury_fn_find(id), &f, trial, refund, next, why);
}

static void test_states(void)
{
    injury_state_t n;
    const char *why;
    /* the inpatient path forward */
    tap_ok(tr("bizh120103", 0, 1, INJ_S_NONE, 0, 0, 0, &n, &why) == APR_SUCCESS && n == INJ_S_REGISTERED, "state: admit");
    tap_ok(tr("bizh120002", 1, 1, INJ_S_REGISTERED, 0, 0, 0, &n, &why) == APR_SUCCESS && n == INJ_S_FEES, "state: fees");
    tap_ok(tr("bizh120002", 1, 1, INJ_S_FEES, 300, 0, 0, &n, &why) == APR_SUCCESS && n == INJ_S_FEES, "state: more fees");
    tap_ok(tr("bizh120003", 1, 1, INJ_S_FEES, 700, 1, 0, &n, &why) == APR_SUCCESS && n == INJ_S_FEES,
           "state: pre-settle leaves the state");
    tap_ok(tr("bizh120105", 1, 1, INJ_S_FEES, 700, 0, 0, &n, &why) == APR_SUCCESS && n == INJ_S_DISCHARGED,
           "state: discharge");
    tap_ok(tr("bizh120106", 1, 1, INJ_S_DISCHARGED, 700, 0, 0, &n, &why) == APR_SUCCESS && n == INJ_S_SETTLED,
           "state: settle");
    /* and back */
    tap_ok(tr("bizh120107", 1, 1, INJ_S_SETTLED, 700, 0, 0, &n, &why) == APR_SUCCESS && n == INJ_S_DISCHARGED,
           "state: cancel settlement");
    tap_ok(tr("bizh120108", 1, 1, INJ_S_DISCHARGED, 700, 0, 0, &n, &why) == APR_SUCCESS && n == INJ_S_FEES,
           "state: cancel discharge back to fees uploaded");
    tap_ok(tr("bizh120108", 1, 1, INJ_S_DISCHARGED, 0, 0, 0, &n, &why) == APR_SUCCESS && n == INJ_S_REGISTERED,
           "state: cancel discharge without fees back to registered");
    tap_ok(tr("bizh120109", 1, 1, INJ_S_FEES, 700, 0, 0, &n, &why) == APR_SUCCESS && n == INJ_S_CANCELLED,
           "state: cancel admission");
    tap_ok(tr("bizh120004", 1, 1, INJ_S_FEES, 700, 0, 0, &n, &why) == APR_SUCCESS && n == INJ_S_REGISTERED,
           "state: wipe fees");
    /* refusals, each before the platform */
    tap_ok(tr("bizh120002", 1, 1, INJ_S_DISCHARGED, 700, 0, 0, &n, &why) == HG_ECONFLICT && why,
           "refuse: fees after discharge");
    tap_ok(tr("bizh120002", 1, 1, INJ_S_SETTLED, 700, 0, 0, &n, &why) == HG_ECONFLICT, "refuse: fees after settlement");
    tap_ok(tr("bizh120106", 1, 1, INJ_S_FEES, 700, 0, 0, &n, &why) == HG_ECONFLICT && strstr(why, "出院登记"),
           "refuse: settle before discharge");
    tap_ok(tr("bizh120106", 1, 1, INJ_S_SETTLED, 700, 0, 0, &n, &why) == HG_ECONFLICT, "refuse: settle twice");
    tap_ok(tr("bizh120105", 1, 1, INJ_S_DISCHARGED, 700, 0, 0, &n, &why) == HG_ECONFLICT, "refuse: discharge twice");
    tap_ok(tr("bizh120107", 1, 1, INJ_S_DISCHARGED, 700, 0, 0, &n, &why) == HG_ECONFLICT,
           "refuse: cancel a settlement that is not there");
    tap_ok(tr("bizh120108", 1, 1, INJ_S_SETTLED, 700, 0, 0, &n, &why) == HG_ECONFLICT,
           "refuse: cancel discharge while settled");
    tap_ok(tr("bizh120108", 1, 1, INJ_S_FEES, 700, 0, 0, &n, &why) == HG_ECONFLICT,
           "refuse: cancel a discharge that is not there");
    tap_ok(tr("bizh120109", 1, 1, INJ_S_DISCHARGED, 700, 0, 0, &n, &why) == HG_ECONFLICT,
           "refuse: cancel admission while discharged");
    tap_ok(tr("bizh120109", 1, 1, INJ_S_SETTLED, 700, 0, 0, &n, &why) == HG_ECONFLICT,
           "refuse: cancel admission while settled");
    tap_ok(tr("bizh120109", 0, 1, INJ_S_NONE, 0, 0, 0, &n, &why) == HG_ECONFLICT && strstr(why, "admit first"),
           "refuse: cancel an admission that is not there");
    tap_ok(tr("bizh120109", 1, 1, INJ_S_CANCELLED, 0, 0, 0, &n, &why) == HG_ECONFLICT, "refuse: cancel twice");
    tap_ok(tr("bizh120004", 1, 1, INJ_S_REGISTERED, 0, 0, 0, &n, &why) == HG_ECONFLICT, "refuse: wipe no fees");
    tap_ok(tr("bizh120003", 1, 1, INJ_S_REGISTERED, 0, 1, 0, &n, &why) == HG_ECONFLICT, "refuse: pre-settle no fees");
    tap_ok(tr("bizh120104", 1, 1, INJ_S_SETTLED, 10, 0, 0, &n, &why) == HG_ECONFLICT, "refuse: modify a settled stay");
    tap_ok(tr("bizh120002", 1, 0, INJ_S_REGISTERED, 0, 0, 0, &n, &why) == HG_ECONFLICT && strstr(why, "outpatient"),
           "refuse: inpatient call on an outpatient visit");
    tap_ok(tr("bizh200101", 1, 1, INJ_S_SETTLED, 10, 0, 0, &n, &why) == APR_SUCCESS && n == INJ_S_SETTLED,
           "state: medical record on a settled stay, state unchanged");
    tap_ok(tr("bizh200101", 1, 1, INJ_S_CANCELLED, 10, 0, 0, &n, &why) == HG_ECONFLICT,
           "refuse: medical record on a cancelled stay");
    /* outpatient */
    tap_ok(tr("bizh110105", 1, 0, INJ_S_REGISTERED, 0, 1, 0, &n, &why) == APR_SUCCESS && n == INJ_S_REGISTERED,
           "state: outpatient trial leaves the state");
    tap_ok(tr("bizh110105", 1, 0, INJ_S_REGISTERED, 0, 0, 0, &n, &why) == APR_SUCCESS && n == INJ_S_SETTLED,
           "state: outpatient settle");
    tap_ok(tr("bizh110105", 1, 0, INJ_S_SETTLED, 0, 0, 1, &n, &why) == APR_SUCCESS && n == INJ_S_REFUNDED,
           "state: outpatient refund");
    tap_ok(tr("bizh110105", 1, 0, INJ_S_REFUNDED, 0, 0, 0, &n, &why) == APR_SUCCESS && n == INJ_S_SETTLED,
           "state: re-charge after a refund");
    tap_ok(tr("bizh110106", 1, 0, INJ_S_REFUNDED, 0, 0, 0, &n, &why) == APR_SUCCESS && n == INJ_S_CANCELLED,
           "state: cancel a refunded visit");
    tap_ok(tr("bizh110105", 1, 0, INJ_S_REGISTERED, 0, 0, 1, &n, &why) == HG_ECONFLICT, "refuse: refund before settle");
    tap_ok(tr("bizh110105", 1, 0, INJ_S_SETTLED, 0, 0, 0, &n, &why) == HG_ECONFLICT, "refuse: settle twice (outpatient)");
    tap_ok(tr("bizh110106", 1, 0, INJ_S_SETTLED, 0, 0, 0, &n, &why) == HG_ECONFLICT, "refuse: cancel a settled visit");
    tap_ok(tr("bizh110105", 1, 0, INJ_S_CANCELLED, 0, 0, 0, &n, &why) == HG_ECONFLICT, "refuse: settle a cancelled visit");
    tap_ok(tr("bizh110105", 0, 0, INJ_S_NONE, 0, 0, 0, &n, &why) == HG_ECONFLICT && strstr(why, "register first"),
           "refuse: settle an unknown visit");
    tap_ok(tr("bizh110105", 1, 1, INJ_S_DISCHARGED, 1, 0, 0, &n, &why) == HG_ECONFLICT, "refuse: outpatient call on a stay");
    tap_ok(tr("bizh120206", 0, 1, INJ_S_NONE, 0, 0, 0, &n, &why) == APR_SUCCESS, "state: queries need no record");
    /* flags from the HIS's JSON */
    tap_ok(injury_is_trial(injury_fn_find("bizh110105"), J("{\"bka893\":\"0\"}"))
           && !injury_is_trial(injury_fn_find("bizh110105"), J("{\"bka893\":\"1\"}")), "flags: bka893 0 = trial");
    tap_ok(injury_is_refund(injury_fn_find("bizh110105"), J("{\"feeinfo\":[{\"bka058\":\"-2.00\"}]}"))
           && !injury_is_refund(injury_fn_find("bizh110105"), J("{\"feeinfo\":[{\"bka058\":\"2.00\"}]}")),
           "flags: a negative line = refund");
    tap_ok(injury_needs_resolution(injury_fn_find("bizh120106"), J("{}"))
           && injury_needs_resolution(injury_fn_find("bizh120107"), J("{}"))
           && injury_needs_resolution(injury_fn_find("bizh110105"), J("{\"bka893\":\"1\"}"))
           && !injury_needs_resolution(injury_fn_find("bizh110105"), J("{\"bka893\":\"0\"}"))
           && !injury_needs_resolution(injury_fn_find("bizh120003"), J("{}")),
           "flags: settles and cancels are resolved by query, trials are not");
    tap_is_str(injury_state_name(injury_state_parse("discharge_registered")), "discharge_registered",
               "state names round-trip");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    tap_plan(123);
    test_catalogue();
    test_validate();
    test_envelope();
    test_answer();
    test_batches();
    test_split();
    test_states();
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_failed ? 1 : 0;
}
