/* injury_pdf: see injury_pdf.h.  One A5 landscape page: the header, the stay, the split table. */
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>
#include "hg_json.h"
#include "hg_pdf.h"
#include "injury_pdf.h"

#define TRY(expr) do { if ((rv = (expr)) != APR_SUCCESS) goto fail; } while (0)

/* the split fields of spec §4.7 with their names, in the order a cashier reads them */
static const char *const SPLIT[][2] = {
    { "akc264", "医疗总费用" },         { "bka832", "工伤保险支付" },       { "bka831", "个人自付" },
    { "ake039", "工伤保险统筹基金支付" }, { "akb067", "个人现金支付" },       { "akb066", "个人账户支付" },
    { "bka825", "全自费费用" },         { "bka826", "部分自费费用" },       { "aka151", "起付线费用" },
    { "bka838", "超共付段个人自付" },    { "ake035", "公务员医疗补助" },     { "ake026", "企业补充工伤保险" },
    { "ake029", "大额医疗费用补助" },    { "bka841", "单位支付" },           { "bka842", "医院垫付" },
    { "bka840", "其他基金支付" },        { "bka821", "民政救助金支付" },     { "bka839", "其他支付" },
};
#define NSPLIT (sizeof(SPLIT) / sizeof(SPLIT[0]))

static const char *txt(json_t *o, const char *k)
{
    const char *s = hg_json_gets(o, k, NULL);
    return s ? s : "";
}

/* the platform's yyyyMMddHHmmss as a reader expects it; anything else as it is */
static const char *when(apr_pool_t *p, const char *t)
{
    if (strlen(t) == 14 && strspn(t, "0123456789") == 14)
        return apr_psprintf(p, "%.4s-%.2s-%.2s %.2s:%.2s:%.2s", t, t + 4, t + 6, t + 8, t + 10, t + 12);
    return t;
}

apr_status_t injury_pdf_slip(const char **buf, apr_size_t *len, apr_pool_t *p, const injury_conf_t *conf,
                             const injury_settlement_t *s, const char **why)
{
    hg_pdf_t *pdf = NULL;
    json_t *res = hg_json_own(p, json_loads(s->result, 0, NULL)), *pay, *row = NULL;
    const char *cells[4 + NSPLIT * 2 + 4];
    static const double w[4] = { 46, 47, 46, 47 };
    static const int al[4] = { HG_PDF_LEFT, HG_PDF_RIGHT, HG_PDF_LEFT, HG_PDF_RIGHT };
    double y;
    apr_size_t i, n = 0;
    apr_status_t rv;

    *why = NULL;
    pay = json_object_get(res, "payinfo");
    row = json_is_array(pay) && json_array_size(pay) ? json_array_get(pay, 0) : res;
    if ((rv = hg_pdf_create(&pdf, p, HG_PDF_A5_LAND_W, HG_PDF_A5_LAND_H)) != APR_SUCCESS) {
        *why = "hg_pdf_create failed (fonts not loaded?)";
        return rv;
    }
    TRY(hg_pdf_set_info(pdf, "工伤联网结算单", conf->institution_name, s->id));
    TRY(hg_pdf_add_page(pdf));
    TRY(hg_pdf_set_font_size(pdf, 15));
    TRY(hg_pdf_text_aligned(pdf, 12, 8, 186, HG_PDF_CENTER, "广东省工伤保险联网结算单"));
    TRY(hg_pdf_set_font_size(pdf, 9));
    TRY(hg_pdf_text(pdf, 12, 18, apr_psprintf(p, "医疗机构：%s（%s）", conf->institution_name ? conf->institution_name : "",
                                              conf->akb020 ? conf->akb020 : "")));
    TRY(hg_pdf_text(pdf, 130, 18, apr_psprintf(p, "结算单号：%s", s->id)));
    TRY(hg_pdf_text(pdf, 12, 24, apr_psprintf(p, "就医登记号：%s    %s号：%s    电脑号：%s",
                                              s->stay.aaz218 ? s->stay.aaz218 : "",
                                              strcmp(s->stay.kind, "inpatient") ? "门诊" : "住院", s->stay.bka025,
                                              s->stay.aac001)));
    TRY(hg_pdf_text(pdf, 12, 30, apr_psprintf(p, "业务：%s%s    交易：%s    批次：%s    结算时间：%s",
                                              strcmp(s->stay.kind, "inpatient") ? "工伤门诊" : "工伤住院",
                                              strcmp(s->kind, "refund") ? "结算" : "退费", s->function_id,
                                              txt(row, "bka001"), *txt(row, "bka045") ? when(p, txt(row, "bka045"))
                                                                                       : s->created_at)));
    cells[n++] = "项目"; cells[n++] = "金额(元)"; cells[n++] = "项目"; cells[n++] = "金额(元)";
    for (i = 0; i < NSPLIT; i++) {
        cells[n++] = SPLIT[i][1];
        cells[n++] = *txt(row, SPLIT[i][0]) ? txt(row, SPLIT[i][0]) : "0.00";
    }
    TRY(hg_pdf_table(pdf, 12, 36, 4, w, cells, (int)(n / 4), 1, al, 7.0, &y));
    TRY(hg_pdf_text(pdf, 12, y + 3, s->split_ok == 0 ? "注意：平台返回的结算分项不平（akc264 ≠ bka831 + bka832 等），请核对"
                                     : s->split_ok == 1 ? "结算分项核对：akc264 = bka831 + bka832，个人与基金分项相符"
                                     : "平台应答未含结算分项，未核对"));
    if (s->cancelled_at)
        TRY(hg_pdf_text(pdf, 12, y + 9, apr_psprintf(p, "本结算已于 %s 取消（已取消出院结算）", s->cancelled_at)));
    TRY(hg_pdf_text(pdf, 12, 136, "经办人：                患者签名：                打印：hisgate"));
    TRY(hg_pdf_finish(pdf, buf, len));
    return APR_SUCCESS;
fail:
    *why = hg_pdf_last_error(pdf);
    return rv;
}
