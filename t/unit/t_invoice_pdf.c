/* invoice_pdf: the e-bill layout file and the window notice.  Renders an outpatient bill, its red
 * bill, an inpatient bill with 120 list rows and one with 500, and the notice; reads them back with
 * pdftotext -layout, pdfinfo and (when installed) zbarimg; bad documents; the time per bill. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tap.h"
#include "hg_json.h"
#include "hg_money.h"
#include "hg_pdf.h"
#include "invoice_pdf.h"
#include "hg_auth.h"
#include "invoice_store.h"

#define FONTS  "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf:" \
               "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"
#define H5_URL "https://his.example.cn/invoice/bill.html#code=44010126&no=0000000001&r=a1b2c3"

/* A realistic outpatient bill: charges add up to 123.45, the list items to their charges. */
static const char *OUTPATIENT =
    "{\"institution\":\"44010001\",\"institutionName\":\"广州市演示人民医院\",\"kind\":\"outpatient\","
    "\"title\":\"广东省医疗门诊收费票据（电子）\",\"billBatchCode\":\"44010126\",\"billNo\":\"0000000001\","
    "\"random\":\"a1b2c3\",\"createTime\":\"20261128183000123\",\"isScarlet\":false,\"data\":{"
    "\"busNo\":\"OP202611280001\",\"busType\":\"02\",\"payer\":\"张三丰\",\"busDateTime\":\"20261128180512000\","
    "\"placeCode\":\"MZ01\",\"payee\":\"王收费\",\"author\":\"李复核\",\"totalAmt\":\"123.45\",\"payerType\":\"1\","
    "\"idCardNo\":\"440102199001011234\",\"cardType\":\"1\",\"cardNo\":\"M00012345\",\"tel\":\"13812345678\","
    "\"medicalInstitution\":\"三级甲等\",\"medCareTypeCode\":\"310\",\"medicalCareType\":\"职工基本医疗保险\","
    "\"patientCategory\":\"呼吸内科\",\"visitNo\":\"MZ20261128007\",\"patientId\":\"P0001234\",\"sex\":\"1\","
    "\"age\":\"36\",\"accountPay\":\"20.00\",\"fundPay\":\"50.00\",\"otherfundPay\":\"3.45\",\"ownPay\":\"10.00\","
    "\"selfConceitedAmt\":\"10.00\",\"selfPayAmt\":\"30.00\",\"selfCashPay\":\"50.00\","
    "\"payChannelDetail\":[{\"payChannelCode\":\"01\",\"payChannelValue\":\"50.00\"},"
    "{\"payChannelCode\":\"09\",\"payChannelName\":\"医保统筹\",\"payChannelValue\":\"73.45\"}],"
    "\"chargeDetail\":["
    "{\"sortNo\":1,\"chargeCode\":\"A01\",\"chargeName\":\"西药费\",\"unit\":\"项\",\"std\":\"45.60\",\"number\":1,\"amt\":\"45.60\",\"selfAmt\":\"5.00\",\"remark\":\"\"},"
    "{\"sortNo\":2,\"chargeCode\":\"A02\",\"chargeName\":\"中成药费\",\"unit\":\"项\",\"std\":\"12.30\",\"number\":1,\"amt\":\"12.30\",\"selfAmt\":\"0.00\",\"remark\":\"\"},"
    "{\"sortNo\":3,\"chargeCode\":\"A05\",\"chargeName\":\"检查费\",\"unit\":\"项\",\"std\":\"35.00\",\"number\":1,\"amt\":\"35.00\",\"selfAmt\":\"0.00\",\"remark\":\"\"},"
    "{\"sortNo\":4,\"chargeCode\":\"A06\",\"chargeName\":\"化验费\",\"unit\":\"项\",\"std\":\"20.55\",\"number\":1,\"amt\":\"20.55\",\"selfAmt\":\"0.00\",\"remark\":\"\"},"
    "{\"sortNo\":5,\"chargeCode\":\"A07\",\"chargeName\":\"治疗费\",\"unit\":\"项\",\"std\":\"10.00\",\"number\":1,\"amt\":\"10.00\",\"selfAmt\":\"5.00\",\"remark\":\"\"}],"
    "\"listDetail\":["
    "{\"code\":\"X1\",\"name\":\"阿莫西林胶囊\",\"specification\":\"0.25g*24粒\",\"unit\":\"盒\",\"std\":\"11.40\",\"number\":\"2\",\"amt\":\"22.80\",\"selfAmt\":\"0.00\"},"
    "{\"code\":\"X2\",\"name\":\"布洛芬缓释胶囊\",\"specification\":\"0.3g*20粒\",\"unit\":\"盒\",\"std\":\"22.80\",\"number\":\"1\",\"amt\":\"22.80\",\"selfAmt\":\"5.00\",\"remark\":\"乙类\"},"
    "{\"code\":\"X3\",\"name\":\"连花清瘟胶囊\",\"specification\":\"0.35g*24粒\",\"unit\":\"盒\",\"std\":\"12.30\",\"number\":\"1\",\"amt\":\"12.30\",\"selfAmt\":\"0.00\"},"
    "{\"code\":\"X4\",\"name\":\"胸部正位片(DR)\",\"specification\":\"\",\"unit\":\"次\",\"std\":\"35.00\",\"number\":\"1\",\"amt\":\"35.00\",\"selfAmt\":\"0.00\"},"
    "{\"code\":\"X5\",\"name\":\"血常规五分类\",\"specification\":\"\",\"unit\":\"次\",\"std\":\"20.55\",\"number\":\"1\",\"amt\":\"20.55\",\"selfAmt\":\"0.00\"},"
    "{\"code\":\"X6\",\"name\":\"静脉输液\",\"specification\":\"\",\"unit\":\"次\",\"std\":\"8.00\",\"number\":\"1\",\"amt\":\"8.00\",\"selfAmt\":\"5.00\"},"
    "{\"code\":\"X7\",\"name\":\"一次性输液器\",\"specification\":\"带针\",\"unit\":\"套\",\"std\":\"2.00\",\"number\":\"1\",\"amt\":\"2.00\",\"selfAmt\":\"0.00\"}],"
    "\"remark\":\"门诊结算，请妥善保管。\"}}";

static const char *ITEM_NAMES[] = { "西药费", "中成药费", "检查费", "化验费", "治疗费", "阿莫西林胶囊",
                                    "布洛芬缓释胶囊", "连花清瘟胶囊", "胸部正位片(DR)", "血常规五分类",
                                    "静脉输液", "一次性输液器" };

static const struct { const char *label, *value, *red; } SPLIT[] = {
    { "医保统筹基金支付", "50.00", "-50.00" }, { "个人账户支付", "20.00", "-20.00" },
    { "其他医保支付", "3.45", "-3.45" },       { "个人现金支付", "50.00", "-50.00" },
    { "个人自付", "30.00", "-30.00" },         { "个人自负", "10.00", "-10.00" },
    { "个人自费", "10.00", "-10.00" },
};

static char tmpdir[64];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *save(apr_pool_t *p, const char *name, const char *buf, apr_size_t len)
{
    const char *path = apr_psprintf(p, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    fwrite(buf, 1, len, f);
    fclose(f);
    return path;
}

/* stdout of a shell command (stderr discarded), "" when it cannot run. */
static char *run(apr_pool_t *p, const char *cmd)
{
    FILE *f = popen(apr_pstrcat(p, cmd, " 2>/dev/null", NULL), "r");
    apr_size_t len = 0, cap = 1 << 16, n;
    char *s = apr_palloc(p, cap);
    if (!f) return "";
    while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 4096) {
            char *t = apr_palloc(p, cap * 2);
            memcpy(t, s, len);
            s = t;
            cap *= 2;
        }
    }
    s[len] = '\0';
    pclose(f);
    return s;
}

static char *text_of(apr_pool_t *p, const char *path)
{
    return run(p, apr_psprintf(p, "pdftotext -layout '%s' -", path));
}

static int pages_of(apr_pool_t *p, const char *path)
{
    const char *s = strstr(run(p, apr_psprintf(p, "pdfinfo '%s'", path)), "Pages:");
    return s ? atoi(s + 6) : -1;
}

/* The QR code on page 1 as zbarimg reads it; NULL when zbarimg is not installed. */
static const char *qr_of(apr_pool_t *p, const char *path)
{
    char *out;
    apr_size_t n;
    if (!*run(p, "command -v zbarimg")) return NULL;
    run(p, apr_psprintf(p, "pdftoppm -png -r 200 -f 1 -l 1 -singlefile '%s' '%s/qr'", path, tmpdir));
    out = run(p, apr_psprintf(p, "zbarimg --raw -q '%s/qr.png'", tmpdir));
    n = strlen(out);
    while (n && out[n - 1] == '\n') out[--n] = '\0';
    return out;
}

/* label is followed (after blanks) by value on the same line: table cells read back in order. */
static int label_value(const char *text, const char *label, const char *value)
{
    const char *s = text;
    while ((s = strstr(s, label)) != NULL) {
        s += strlen(label);
        while (*s == ' ') s++;
        if (!strncmp(s, value, strlen(value))) return 1;
    }
    return 0;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    while ((hay = strstr(hay, needle)) != NULL) { n++; hay += strlen(needle); }
    return n;
}

static json_t *parse(apr_pool_t *p, const char *s)
{
    json_t *j = NULL;
    hg_error_t *err = NULL;
    if (hg_json_parse(&j, p, s, strlen(s), 0, &err) != APR_SUCCESS) {
        printf("Bail out! bad test JSON: %s\n", err ? err->message : "?");
        exit(1);
    }
    return j;
}

/* An inpatient bill with nlist list rows named 住院清单项目NNN (amounts 1.01, 1.02, ...). */
static json_t *inpatient(apr_pool_t *p, int nlist)
{
    json_t *doc = json_deep_copy(parse(p, OUTPATIENT)), *d, *list, *charge;
    apr_int64_t total = 0;
    int i;
    hg_json_own(p, doc);
    d = json_object_get(doc, "data");
    hg_json_sets(doc, "kind", "inpatient");
    hg_json_sets(doc, "title", "广东省医疗住院收费票据（电子）");
    hg_json_sets(doc, "billNo", "0000000777");
    hg_json_sets(d, "busNo", "ZY202611280003");
    hg_json_sets(d, "hospitalNo", "ZY0098765");
    hg_json_sets(d, "category", "心血管内科");
    hg_json_sets(d, "inHospitalDate", "2026-11-10");
    hg_json_sets(d, "outHospitalDate", "2026-11-28");
    hg_json_sets(d, "hospitalDays", "18");
    list = json_array();
    for (i = 1; i <= nlist; i++) {
        apr_int64_t fen = 100 + i;
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "name",
                                              apr_psprintf(p, "住院清单项目%03d", i), "specification", "10ml:0.5g",
                                              "unit", "支", "std", hg_money_format(p, fen), "number", "1",
                                              "amt", hg_money_format(p, fen)));
        total += fen;
    }
    json_object_set_new(d, "listDetail", list);
    charge = json_array();
    json_array_append_new(charge, json_pack("{s:s,s:s,s:i,s:s}", "chargeName", "西药费", "unit", "项",
                                            "number", 1, "amt", hg_money_format(p, total)));
    json_object_set_new(d, "chargeDetail", charge);
    hg_json_sets(d, "totalAmt", hg_money_format(p, total));
    return doc;
}

int main(void)
{
    apr_pool_t *p;
    json_t *out_doc, *red_doc, *doc;
    const char *buf, *buf2, *path, *qr;
    apr_size_t len, len2, k;
    apr_status_t rv;
    char *txt;
    int i, n, pages;

    apr_initialize();
    apr_pool_create(&p, NULL);
    strcpy(tmpdir, "/tmp/t_invoice_pdf.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("Bail out! cannot create a temporary directory\n");
        return 1;
    }
    rv = hg_pdf_global_init(FONTS);
    tap_is_int(rv, APR_SUCCESS, "fonts load (%s)", hg_pdf_init_error());
    if (rv != APR_SUCCESS) {
        printf("Bail out! no fonts\n");
        return 1;
    }

    /* ---- outpatient bill ---- */
    out_doc = parse(p, OUTPATIENT);
    rv = invoice_pdf_render(&buf, &len, p, out_doc, H5_URL, "已监制");
    tap_is_int(rv, APR_SUCCESS, "the outpatient bill renders");
    if (rv != APR_SUCCESS) {
        printf("Bail out! no bill\n");
        return 1;
    }
    tap_ok(len > 1000 && !memcmp(buf, "%PDF-1.", 7), "it is a PDF (%lu bytes)", (unsigned long)len);
    path = save(p, "outpatient.pdf", buf, len);
    tap_diag("outpatient bill: %s", path);
    txt = text_of(p, path);
    {
        static const char *want[] = {
            "广东省医疗门诊收费票据（电子）", "票据代码：44010126", "票据号码：0000000001", "校验码：a1b2c3",
            "开票日期：2026-11-28", "张三丰", "440102********1234", "OP202611280001", "MZ20261128007",
            "职工基本医疗保险", "呼吸内科", "2026-11-28", "POS刷卡 50.00", "医保统筹 73.45",
            "门诊结算，请妥善保管。", "收款单位（章）：广州市演示人民医院", "收款人：王收费", "复核人：李复核",
            "单位印章(电子签章)", "已监制", "第1页/共1页", "¥123.45",
        };
        for (k = 0; k < sizeof(want) / sizeof(want[0]); k++)
            tap_ok(strstr(txt, want[k]) != NULL, "outpatient: pdftotext gives back '%s'", want[k]);
    }
    tap_ok(!strstr(txt, "440102199001011234"), "the ID number is masked");
    for (k = 0, n = 0; k < sizeof(ITEM_NAMES) / sizeof(ITEM_NAMES[0]); k++) {
        if (strstr(txt, ITEM_NAMES[k])) n++;
        else tap_diag("missing item: %s", ITEM_NAMES[k]);
    }
    tap_is_int(n, 12, "all 12 item names (5 charges, 7 list items) are in the text");
    tap_ok(label_value(txt, "阿莫西林胶囊", "0.25g*24粒") && label_value(txt, "0.25g*24粒", "盒")
           && label_value(txt, "盒", "2") && label_value(txt, "11.40", "22.80"),
           "a list row reads back in column order (name, spec, unit, number, price, amount)");
    tap_ok(label_value(txt, "项", "1") && !strstr(txt, "%"), "a JSON integer quantity prints as 1");
    tap_ok(label_value(txt, "金额合计（大写）", "壹佰贰拾叁元肆角伍分"), "金额合计（大写） 壹佰贰拾叁元肆角伍分");
    tap_ok(label_value(txt, "（小写）", "¥123.45"), "（小写） ¥123.45");
    for (k = 0; k < sizeof(SPLIT) / sizeof(SPLIT[0]); k++)
        tap_ok(label_value(txt, SPLIT[k].label, SPLIT[k].value), "split: %s %s", SPLIT[k].label, SPLIT[k].value);
    tap_ok(!strstr(txt, "冲红"), "no 冲红 on a normal bill");
    tap_is_int(pages_of(p, path), 1, "one page");
    tap_ok(strstr(run(p, apr_psprintf(p, "pdfinfo '%s'", path)), "595.276 x 841.89 pts (A4)") != NULL, "A4");
    qr = qr_of(p, path);
    if (qr) tap_is_str(qr, H5_URL, "the QR code decodes to the H5 URL");
    else tap_ok(1, "# SKIP zbarimg not installed");
    invoice_pdf_render(&buf2, &len2, p, out_doc, H5_URL, "已监制");
    tap_ok(len2 == len && !memcmp(buf, buf2, len), "the same document gives the same bytes");
    invoice_pdf_render(&buf2, &len2, p, out_doc, NULL, "待监制");
    txt = text_of(p, save(p, "noqr.pdf", buf2, len2));
    tap_ok(strstr(txt, "待监制") && !strstr(txt, "扫码查看"), "without a URL: no QR code; seal status 待监制");

    /* ---- red bill ---- */
    red_doc = hg_json_own(p, json_deep_copy(out_doc));
    json_object_set(red_doc, "isScarlet", json_true());
    hg_json_sets(red_doc, "billNo", "0000000002");
    hg_json_sets(red_doc, "random", "9f8e7d");
    json_object_set_new(red_doc, "relatedBill", json_pack("{s:s,s:s}", "billBatchCode", "44010126",
                                                          "billNo", "0000000001"));
    rv = invoice_pdf_render(&buf, &len, p, red_doc, H5_URL, "已监制");
    tap_is_int(rv, APR_SUCCESS, "the red bill renders");
    path = save(p, "red.pdf", buf, len);
    tap_diag("red bill: %s", path);
    txt = text_of(p, path);
    tap_ok(count(txt, "冲红") >= 2, "冲红 stamp and 冲红 line (%d times)", count(txt, "冲红"));
    tap_ok(strstr(txt, "原票据代码：44010126") && strstr(txt, "原票据号码：0000000001"),
           "the original bill's code and number");
    tap_ok(strstr(txt, "票据号码：0000000002") && strstr(txt, "校验码：9f8e7d"), "its own number and check code");
    tap_ok(label_value(txt, "金额合计（大写）", "负壹佰贰拾叁元肆角伍分"), "capitals: 负壹佰贰拾叁元肆角伍分");
    tap_ok(label_value(txt, "（小写）", "¥-123.45"), "figures: ¥-123.45");
    tap_ok(label_value(txt, "11.40", "-22.80") && label_value(txt, "10.00", "-10.00"), "item amounts are negative");
    for (k = 0, n = 0; k < sizeof(SPLIT) / sizeof(SPLIT[0]); k++) n += label_value(txt, SPLIT[k].label, SPLIT[k].red);
    tap_is_int(n, 7, "all 7 split amounts are negative");
    tap_ok(strstr(txt, "POS刷卡 -50.00") != NULL, "payment channels are negative");
    /* a model that already stores negative amounts gives the same file */
    {
        json_t *neg = hg_json_own(p, json_deep_copy(red_doc));
        hg_json_sets(json_object_get(neg, "data"), "totalAmt", "-123.45");
        hg_json_sets(json_object_get(neg, "data"), "fundPay", "-50.00");
        rv = invoice_pdf_render(&buf2, &len2, p, neg, H5_URL, "已监制");
        tap_ok(rv == APR_SUCCESS && len2 == len && !memcmp(buf, buf2, len),
               "negative amounts in the document give the same red bill");
    }

    /* ---- inpatient, 120 list rows ---- */
    doc = inpatient(p, 120);
    rv = invoice_pdf_render(&buf, &len, p, doc, H5_URL, "已监制");
    tap_is_int(rv, APR_SUCCESS, "the inpatient bill with 120 list rows renders");
    path = save(p, "inpatient120.pdf", buf, len);
    tap_diag("inpatient bill: %s", path);
    txt = text_of(p, path);
    pages = pages_of(p, path);
    tap_ok(pages >= 2, "it has %d pages (>= 2)", pages);
    for (i = 1, n = 0; i <= 120; i++) n += strstr(txt, apr_psprintf(p, "住院清单项目%03d", i)) != NULL;
    tap_is_int(n, 120, "all 120 list item names are in the text");
    tap_is_int(count(txt, "住院清单项目"), 120, "each row once (no row repeated across a page break)");
    tap_ok(count(txt, "广东省医疗住院收费票据（电子）") == pages, "the title is on every page");
    tap_is_int(count(txt, "项目名称"), pages, "the table header is on every page");
    tap_ok(count(txt, "（续页）") == pages - 1, "later pages say 续页 with the bill's identifiers");
    tap_ok(strstr(txt, apr_psprintf(p, "第%d页/共%d页", pages, pages)) != NULL, "第%d页/共%d页", pages, pages);
    tap_ok(strstr(txt, "住院号") && strstr(txt, "ZY0098765") && strstr(txt, "入院日期") && strstr(txt, "2026-11-10")
           && strstr(txt, "出院日期") && strstr(txt, "心血管内科"), "inpatient fields: 住院号, dates, ward");
    /* 1.01 + ... + 1.20 x 100 rows: sum of 101..220 fen = 19260 fen */
    tap_ok(label_value(txt, "（小写）", "¥192.60") && label_value(txt, "金额合计（大写）", "壹佰玖拾贰元陆角"),
           "totals: ¥192.60 壹佰玖拾贰元陆角");
    tap_is_int(count(txt, "金额合计（大写）"), 1, "the totals appear once, on the last page");

    /* ---- 500 rows ---- */
    doc = inpatient(p, 500);
    rv = invoice_pdf_render(&buf, &len, p, doc, H5_URL, "已监制");
    tap_is_int(rv, APR_SUCCESS, "500 list rows render");
    path = save(p, "inpatient500.pdf", buf, len);
    txt = text_of(p, path);
    pages = pages_of(p, path);
    tap_diag("500 rows: %d pages, %lu bytes", pages, (unsigned long)len);
    tap_is_int(count(txt, "住院清单项目"), 500, "all 500 rows are in the text once");
    tap_ok(pages >= 10 && count(txt, "项目名称") == pages, "%d pages, each with the table header", pages);

    /* ---- bad documents ---- */
    tap_is_int(invoice_pdf_render(&buf, &len, p, NULL, H5_URL, "已监制"), HG_EINVALID, "NULL document: HG_EINVALID");
    tap_ok(buf == NULL && len == 0, "... and no output");
    doc = hg_json_own(p, json_deep_copy(out_doc));
    json_object_del(doc, "billNo");
    tap_is_int(invoice_pdf_render(&buf, &len, p, doc, H5_URL, "已监制"), HG_EINVALID, "no billNo: HG_EINVALID");
    doc = hg_json_own(p, json_deep_copy(out_doc));
    hg_json_sets(json_object_get(doc, "data"), "totalAmt", "12.3.4");
    tap_is_int(invoice_pdf_render(&buf, &len, p, doc, H5_URL, "已监制"), HG_EINVALID, "a bad totalAmt: HG_EINVALID");
    doc = hg_json_own(p, json_deep_copy(out_doc));
    hg_json_sets(json_array_get(json_object_get(json_object_get(doc, "data"), "chargeDetail"), 2), "amt", "abc");
    tap_is_int(invoice_pdf_render(&buf, &len, p, doc, H5_URL, "已监制"), HG_EINVALID, "a bad item amount: HG_EINVALID");
    doc = hg_json_own(p, json_deep_copy(out_doc));
    hg_json_sets(json_object_get(doc, "data"), "remark", apr_psprintf(p, "%0*d", 2000, 7));
    json_object_del(json_object_get(doc, "data"), "chargeDetail");
    tap_is_int(invoice_pdf_render(&buf, &len, p, doc, H5_URL, "已监制"), APR_SUCCESS,
               "a 2000-character remark and no charge items still render");

    /* ---- the window notice ---- */
    tap_is_int(invoice_notice_pdf_render(&buf, &len, p, out_doc, NULL), HG_EINVALID, "notice without a URL: HG_EINVALID");
    rv = invoice_notice_pdf_render(&buf, &len, p, out_doc, H5_URL);
    tap_is_int(rv, APR_SUCCESS, "the notice renders");
    path = save(p, "notice.pdf", buf, len);
    tap_diag("notice: %s", path);
    txt = text_of(p, path);
    {
        static const char *want[] = {
            "医疗收费电子票据告知单", "广州市演示人民医院", "患者：张*丰", "票据代码：44010126",
            "票据号码：0000000001", "校验码：a1b2c3", "开票日期：2026-11-28", "¥123.45（壹佰贰拾叁元肆角伍分）",
            "微信", "手机浏览器", "财政电子票据查验平台", "不作报销凭证",
        };
        for (k = 0; k < sizeof(want) / sizeof(want[0]); k++)
            tap_ok(strstr(txt, want[k]) != NULL, "notice: pdftotext gives back '%s'", want[k]);
    }
    tap_ok(!strstr(txt, "张三丰"), "the notice masks the patient's name");
    tap_is_int(pages_of(p, path), 1, "the notice is one page");
    tap_ok(strstr(run(p, apr_psprintf(p, "pdfinfo '%s'", path)), "595.276 x 419.528 pts") != NULL, "A5 landscape");
    qr = qr_of(p, path);
    if (qr) tap_is_str(qr, H5_URL, "the notice's QR code decodes to the H5 URL");
    else tap_ok(1, "# SKIP zbarimg not installed");
    rv = invoice_notice_pdf_render(&buf, &len, p, red_doc, H5_URL);
    txt = text_of(p, save(p, "notice_red.pdf", buf, len));
    tap_ok(rv == APR_SUCCESS && strstr(txt, "冲红票据：原票据代码 44010126，原票据号码 0000000001")
           && strstr(txt, "¥-123.45（负壹佰贰拾叁元肆角伍分）"), "the red bill's notice says 冲红 and is negative");

    /* ---- the store's render step needs no database (a route renders with its connection given
     * back): a sealed bill document, no connection at all, the same file as rendering it directly */
    {
        static const unsigned char key[16] = "0123456789abcdef";
        invoice_ctx_t x;
        invoice_bill_t bill;
        char *sealed = NULL;
        const char *made = NULL, *direct = NULL;
        apr_size_t made_len = 0, direct_len = 0;
        memset(&x, 0, sizeof(x));
        memset(&bill, 0, sizeof(bill));
        x.p = p;
        x.db = NULL;
        x.master_key = key;
        x.public_url = "https://his.example.cn";
        bill.bill_batch_code = "44010126";
        bill.bill_no = "0000000001";
        bill.random = "a1b2c3";
        bill.state = "normal";
        bill.upload_state = "done";
        hg_secret_seal_packed(&sealed, p, key, OUTPATIENT, strlen(OUTPATIENT));
        bill.doc_sealed = sealed;
        rv = invoice_pdf_make(&x, &bill, &made, &made_len);
        tap_is_int(rv, APR_SUCCESS, "invoice_pdf_make renders a stored bill without a database connection");
        invoice_pdf_render(&direct, &direct_len, p, parse(p, OUTPATIENT), invoice_h5_url(&x, &bill), "已监制");
        tap_ok(made && made_len == direct_len && !memcmp(made, direct, made_len),
               "and gives the bytes of the direct render (H5 link, seal status 已监制 from the bill)");
        bill.doc_sealed = "sm4z1:broken";
        tap_ok(invoice_pdf_make(&x, &bill, &made, &made_len) != APR_SUCCESS, "a document that does not open is an error");
    }

    /* ---- time per bill ---- */
    {
        double t0, ms_out, ms_in;
        apr_pool_t *sub;
        json_t *in120 = inpatient(p, 120);
        int fails = 0;
        t0 = now();
        for (i = 0; i < 200; i++) {
            apr_pool_create(&sub, p);
            fails += invoice_pdf_render(&buf, &len, sub, out_doc, H5_URL, "已监制") != APR_SUCCESS;
            apr_pool_destroy(sub);
        }
        ms_out = (now() - t0) * 1000 / 200;
        t0 = now();
        for (i = 0; i < 200; i++) {
            apr_pool_create(&sub, p);
            fails += invoice_pdf_render(&buf, &len, sub, in120, H5_URL, "已监制") != APR_SUCCESS;
            apr_pool_destroy(sub);
        }
        ms_in = (now() - t0) * 1000 / 200;
        tap_is_int(fails, 0, "400 renders in fresh pools all succeed");
        tap_diag("time per bill: outpatient (12 rows, 1 page) %.2f ms; inpatient (121 rows, %d pages) %.2f ms",
                 ms_out, pages_of(p, apr_psprintf(p, "%s/inpatient120.pdf", tmpdir)), ms_in);
    }

    if (!getenv("HG_KEEP_TMP")) run(p, apr_psprintf(p, "rm -rf '%s'", tmpdir));
    tap_plan(tap_n);
    apr_pool_destroy(p);
    apr_terminate();
    return tap_done();
}
