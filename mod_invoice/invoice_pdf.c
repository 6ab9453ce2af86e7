/* mod_invoice layout files: the e-bill PDF and the window notice (告知单).  See invoice_pdf.h.
 *
 * Why A4 portrait and not the 241 x 93 mm paper bill format: the 93 mm form holds about eight item
 * rows, while an inpatient bill's list (清单) runs to hundreds; patients print the file on home and
 * office printers, which take A4 without scaling; and A4 leaves room for the QR code, the full payment
 * split and the seal box on the first page.  The paper format stays with the paper bills (换开纸质).
 * hg_pdf draws in grey levels only, so the title and the 冲红 mark are black (a paper bill's red title
 * is not reproduced); the red bill is marked with a framed 冲红 stamp and a line naming the original. */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include "hg_json.h"
#include "hg_money.h"
#include "hg_pdf.h"
#include "invoice_pdf.h"
#include "invoice_model.h"

#define PAGE_W      HG_PDF_A4_W
#define MARGIN      12.0
#define CONTENT_W   186.0               /* PAGE_W - 2 * MARGIN */
#define BOTTOM      279.0               /* nothing but the page number below this */
#define HEAD_END    41.0                /* first page: title, codes and QR code end above this */
#define RED_LINE_H  6.0                 /* first page of a red bill: the 冲红 line */
#define GRID_RH     6.0
#define CONT_TOP    24.0                /* later pages: items start here */
#define ITEM_RH     5.5
#define ITEM_PT     8.0
#define TAIL_H      74.0                /* totals, split, channels, remark, signatures and seal (upper bound) */
#define NCOL        7
#define REMARK_MAX  180                 /* code points: keeps the remark within 3 lines, so TAIL_H holds */
#define CHANNEL_MAX 90                  /* likewise 2 lines for the payment channels */

#define TRY(expr) do { apr_status_t rv_ = (expr); if (rv_ != APR_SUCCESS) return rv_; } while (0)

typedef struct {
    apr_pool_t *p;
    hg_pdf_t *pdf;
    json_t *doc, *data;
    int scarlet, inpatient;
    const char *title, *code, *no, *random, *date;
    apr_int64_t total;                  /* as printed: negative on a red bill */
    const char **cells;                 /* item rows, NCOL cells each */
    int nrows;
} bill_t;

/* ---- text helpers ---- */

/* A scalar as display text: strings as they are, numbers in decimal, anything else "". */
static const char *jtext(apr_pool_t *p, json_t *o, const char *key)
{
    json_t *v = o ? json_object_get(o, key) : NULL;
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_integer(v)) return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(v));
    if (json_is_real(v)) return apr_psprintf(p, "%.15g", json_real_value(v));
    return "";
}

/* Length of the UTF-8 sequence starting at s (1 for a stray byte, so walking never stalls). */
static apr_size_t u8len(const unsigned char *s)
{
    if (*s < 0x80) return 1;
    if ((*s & 0xE0) == 0xC0 && (s[1] & 0xC0) == 0x80) return 2;
    if ((*s & 0xF0) == 0xE0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) return 3;
    if ((*s & 0xF8) == 0xF0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80)
        return 4;
    return 1;
}

static apr_size_t u8count(const char *s)
{
    apr_size_t n = 0;
    while (*s) { s += u8len((const unsigned char *)s); n++; }
    return n;
}

/* Free text for one line or a bounded paragraph: control characters (newlines too) become spaces,
 * and text longer than max code points is cut with "…". */
static const char *clean(apr_pool_t *p, const char *s, apr_size_t max)
{
    apr_size_t n = 0, len = strlen(s);
    char *out = apr_palloc(p, len + 4), *o = out;
    while (*s) {
        apr_size_t l = u8len((const unsigned char *)s);
        if (n == max) { memcpy(o, "\xE2\x80\xA6", 3); o += 3; break; }
        if (l == 1 && ((unsigned char)*s < 0x20 || *s == 0x7F)) *o++ = ' ';
        else { memcpy(o, s, l); o += l; }
        s += l;
        n++;
    }
    *o = '\0';
    return out;
}

/* Masks the middle of an identifier: 440102199001011234 -> 440102********1234. */
static const char *mask_id(apr_pool_t *p, const char *s)
{
    apr_size_t n = strlen(s), keep_head, keep_tail, i;
    char *out;
    if (n < 4) return n ? "****" : "";
    keep_head = n >= 15 ? 6 : n / 3;
    keep_tail = n >= 15 ? 4 : n / 4;
    out = apr_pstrdup(p, s);
    for (i = keep_head; i < n - keep_tail; i++) out[i] = '*';
    return out;
}

/* Masks a personal name, keeping the first and (from three characters on) the last character:
 * 张三 -> 张*, 张三丰 -> 张*丰, 欧阳娜娜 -> 欧**娜. */
static const char *mask_name(apr_pool_t *p, const char *s)
{
    apr_size_t n = u8count(s), first = u8len((const unsigned char *)s), i;
    const char *last = s;
    char *out, *o;
    if (n <= 1) return s;
    for (i = 0; i + 1 < n; i++) last += u8len((const unsigned char *)last);
    out = o = apr_palloc(p, first + n + strlen(last) + 1);
    memcpy(o, s, first);
    o += first;
    for (i = 0; i < (n == 2 ? 1 : n - 2); i++) *o++ = '*';
    strcpy(o, n == 2 ? "" : last);
    return out;
}

/* yyyyMMdd... (17-digit timestamps) or yyyy-MM-dd... -> yyyy-MM-dd; anything else as it is. */
static const char *ymd(apr_pool_t *p, const char *s)
{
    int i;
    for (i = 0; i < 8 && s[i] >= '0' && s[i] <= '9'; i++) ;
    if (i == 8) return apr_psprintf(p, "%.4s-%.2s-%.2s", s, s + 4, s + 6);
    if (strlen(s) >= 10 && s[4] == '-' && s[7] == '-') return apr_pstrndup(p, s, 10);
    return s;
}

static const char *sex_text(const char *s)
{
    if (!strcmp(s, "1") || !strcasecmp(s, "M")) return "男";
    if (!strcmp(s, "2") || !strcasecmp(s, "F")) return "女";
    return s;
}

/* the document's payChannelName, else the name the H5 page shows (invoice_pay_channel_name), else
 * the code */
static const char *channel_name(apr_pool_t *p, json_t *ch)
{
    const char *name = jtext(p, ch, "payChannelName"), *code = jtext(p, ch, "payChannelCode");
    if (*name) return name;
    if (invoice_pay_channel_name(code)) return invoice_pay_channel_name(code);
    return apr_pstrcat(p, "渠道", code, NULL);
}

/* ---- money ---- */

/* An amount of the document in fen; missing counts as 0 unless required.  Red bills print negative. */
static apr_status_t money(apr_int64_t *fen, const bill_t *b, json_t *o, const char *key, int required)
{
    apr_status_t rv = o ? hg_json_getm(o, fen, key, NULL) : APR_NOTFOUND;
    if (rv == APR_NOTFOUND && !required) { *fen = 0; return APR_SUCCESS; }
    if (rv != APR_SUCCESS) return HG_EINVALID;
    if (b->scarlet && *fen > 0) *fen = -*fen;
    return APR_SUCCESS;
}

/* A required amount as printed ("-12.34" on a red bill). */
static apr_status_t money_text(const char **out, const bill_t *b, json_t *o, const char *key)
{
    apr_int64_t fen;
    TRY(money(&fen, b, o, key, 1));
    *out = hg_money_format(b->p, fen);
    return APR_SUCCESS;
}

/* ---- the document ---- */

static apr_status_t bill_init(bill_t *b, apr_pool_t *p, json_t *doc)
{
    memset(b, 0, sizeof(*b));
    b->p = p;
    b->doc = doc;
    if (!json_is_object(doc) || !json_is_object(b->data = json_object_get(doc, "data"))) return HG_EINVALID;
    b->code = hg_json_gets(doc, "billBatchCode", NULL);
    b->no = hg_json_gets(doc, "billNo", NULL);
    b->random = hg_json_gets(doc, "random", NULL);
    if (!b->code || !*b->code || !b->no || !*b->no || !b->random || !*b->random) return HG_EINVALID;
    b->scarlet = json_is_true(json_object_get(doc, "isScarlet"));
    b->inpatient = !strcmp(jtext(p, doc, "kind"), "inpatient");
    b->title = clean(p, jtext(p, doc, "title"), 40);
    if (!*b->title) b->title = b->inpatient ? "医疗住院收费票据（电子）" : "医疗门诊收费票据（电子）";
    b->date = ymd(p, jtext(p, doc, "createTime"));
    return money(&b->total, b, b->data, "totalAmt", 1);
}

/* One table row per charge item, then (under a section row) one per list item. */
static apr_status_t build_rows(bill_t *b)
{
    json_t *charge = json_object_get(b->data, "chargeDetail"), *list = json_object_get(b->data, "listDetail");
    size_t nc = json_is_array(charge) ? json_array_size(charge) : 0;
    size_t nl = json_is_array(list) ? json_array_size(list) : 0, i;
    const char **c;

    b->cells = c = apr_pcalloc(b->p, (nc + nl + 1) * NCOL * sizeof(*c));
    for (i = 0; i < nc; i++, c += NCOL) {
        json_t *it = json_array_get(charge, i);
        c[0] = clean(b->p, jtext(b->p, it, "chargeName"), 60);
        c[1] = "";
        c[2] = clean(b->p, jtext(b->p, it, "unit"), 10);
        c[3] = clean(b->p, jtext(b->p, it, "number"), 16);
        c[4] = clean(b->p, jtext(b->p, it, "std"), 16);
        TRY(money_text(&c[5], b, it, "amt"));
        c[6] = clean(b->p, jtext(b->p, it, "remark"), 40);
    }
    if (nl) {
        c[0] = nc ? "【费用清单明细】" : "【费用清单】";
        c += NCOL;
    }
    for (i = 0; i < nl; i++, c += NCOL) {
        json_t *it = json_array_get(list, i);
        const char *name = jtext(b->p, it, "name");
        c[0] = clean(b->p, *name ? name : jtext(b->p, it, "chargeName"), 60);
        c[1] = clean(b->p, jtext(b->p, it, "specification"), 30);
        c[2] = clean(b->p, jtext(b->p, it, "unit"), 10);
        c[3] = clean(b->p, jtext(b->p, it, "number"), 16);
        c[4] = clean(b->p, jtext(b->p, it, "std"), 16);
        TRY(money_text(&c[5], b, it, "amt"));
        c[6] = clean(b->p, jtext(b->p, it, "remark"), 40);
    }
    b->nrows = (int)(nc + nl + (nl ? 1 : 0));
    return APR_SUCCESS;
}

/* ---- page parts ---- */

static double first_items_y(const bill_t *b)
{
    return HEAD_END + (b->scarlet ? RED_LINE_H : 0) + (b->inpatient ? 4 : 3) * GRID_RH + 3;
}

static apr_status_t red_stamp(hg_pdf_t *pdf, double x, double y, double w, double h)
{
    TRY(hg_pdf_line(pdf, x, y, x + w, y, 1.5));
    TRY(hg_pdf_line(pdf, x + w, y, x + w, y + h, 1.5));
    TRY(hg_pdf_line(pdf, x + w, y + h, x, y + h, 1.5));
    TRY(hg_pdf_line(pdf, x, y + h, x, y, 1.5));
    TRY(hg_pdf_set_font_size(pdf, 14));
    return hg_pdf_text_aligned(pdf, x, y + (h - 14 * 25.4 / 72) / 2, w, HG_PDF_CENTER, "冲红");
}

/* Title, bill identifiers, QR code and the patient grid; *y = where the items start. */
static apr_status_t first_head(bill_t *b, const char *h5_url, double *y)
{
    hg_pdf_t *pdf = b->pdf;
    apr_pool_t *p = b->p;
    json_t *d = b->data;
    const char *payer_type = jtext(p, d, "payerType"), *id = jtext(p, d, "idCardNo"), *id_label;
    const char *mct = jtext(p, d, "medicalCareType"), *age = jtext(p, d, "age");
    const char *grid[4 * 6];
    static const double gw[] = { 22, 40, 22, 40, 22, 40 };
    double w, gy = HEAD_END;

    TRY(hg_pdf_set_font_size(pdf, 16));
    w = hg_pdf_text_width(pdf, b->title);
    if (w > 88) TRY(hg_pdf_set_font_size(pdf, 16 * 88 / w));   /* keep clear of QR code and codes */
    TRY(hg_pdf_text_aligned(pdf, 0, 12, PAGE_W, HG_PDF_CENTER, b->title));
    if (b->scarlet) TRY(red_stamp(pdf, 90, 21, 30, 9));

    TRY(hg_pdf_set_font_size(pdf, 9));
    TRY(hg_pdf_text(pdf, 150, 11, apr_pstrcat(p, "票据代码：", b->code, NULL)));
    TRY(hg_pdf_text(pdf, 150, 16, apr_pstrcat(p, "票据号码：", b->no, NULL)));
    TRY(hg_pdf_text(pdf, 150, 21, apr_pstrcat(p, "校验码：", b->random, NULL)));
    TRY(hg_pdf_text(pdf, 150, 26, apr_pstrcat(p, "开票日期：", b->date, NULL)));
    if (h5_url && *h5_url) {
        TRY(hg_pdf_qr(pdf, MARGIN, 8, 27, h5_url));
        TRY(hg_pdf_set_font_size(pdf, 7));
        TRY(hg_pdf_text_aligned(pdf, MARGIN, 35.5, 27, HG_PDF_CENTER, "扫码查看电子票据"));
    }

    if (b->scarlet) {
        json_t *rel = json_object_get(b->doc, "relatedBill");
        TRY(hg_pdf_set_font_size(pdf, 9));
        TRY(hg_pdf_text(pdf, MARGIN, gy, apr_psprintf(p, "冲红票据：本票据冲红原票据（原票据代码：%s，原票据号码：%s），"
                        "金额以负数列示。", clean(p, jtext(p, rel, "billBatchCode"), 50),
                        clean(p, jtext(p, rel, "billNo"), 20))));
        gy += RED_LINE_H;
    }

    if (!strcmp(payer_type, "2")) id_label = "统一社会信用代码";
    else { id_label = "身份证号"; id = mask_id(p, id); }
    if (!*mct) mct = jtext(p, d, "medCareTypeCode");
    if (*age && strspn(age, "0123456789") == strlen(age)) age = apr_pstrcat(p, age, "岁", NULL);
    grid[0] = "交款人";     grid[1] = clean(p, jtext(p, d, "payer"), 30);
    grid[2] = id_label;     grid[3] = clean(p, id, 30);
    grid[4] = "业务流水号"; grid[5] = clean(p, jtext(p, d, "busNo"), 40);
    if (b->inpatient) {
        grid[6] = "住院号";     grid[7] = clean(p, jtext(p, d, "hospitalNo"), 30);
        grid[8] = "住院科室";   grid[9] = clean(p, jtext(p, d, "category"), 30);
        grid[10] = "医保类型";  grid[11] = clean(p, mct, 30);
        grid[12] = "性别";      grid[13] = sex_text(jtext(p, d, "sex"));
        grid[14] = "年龄";      grid[15] = clean(p, age, 10);
        grid[16] = "住院天数";  grid[17] = clean(p, jtext(p, d, "hospitalDays"), 10);
        grid[18] = "入院日期";  grid[19] = ymd(p, jtext(p, d, "inHospitalDate"));
        grid[20] = "出院日期";  grid[21] = ymd(p, jtext(p, d, "outHospitalDate"));
        grid[22] = "结算日期";  grid[23] = ymd(p, jtext(p, d, "busDateTime"));
    }
    else {
        grid[6] = "门诊号";     grid[7] = clean(p, jtext(p, d, "visitNo"), 30);
        grid[8] = "就诊日期";   grid[9] = ymd(p, jtext(p, d, "busDateTime"));
        grid[10] = "医保类型";  grid[11] = clean(p, mct, 30);
        grid[12] = "性别";      grid[13] = sex_text(jtext(p, d, "sex"));
        grid[14] = "年龄";      grid[15] = clean(p, age, 10);
        grid[16] = "就诊科室";  grid[17] = clean(p, jtext(p, d, "patientCategory"), 30);
    }
    TRY(hg_pdf_set_font_size(pdf, 8.5));
    TRY(hg_pdf_table(pdf, MARGIN, gy, 6, gw, grid, b->inpatient ? 4 : 3, 0, NULL, GRID_RH, y));
    *y += 3;
    return APR_SUCCESS;
}

/* Later pages: enough to tell which bill a loose page belongs to. */
static apr_status_t cont_head(bill_t *b)
{
    TRY(hg_pdf_set_font_size(b->pdf, 12));
    TRY(hg_pdf_text_aligned(b->pdf, 0, 9, PAGE_W, HG_PDF_CENTER, b->title));
    TRY(hg_pdf_set_font_size(b->pdf, 9));
    return hg_pdf_text_aligned(b->pdf, 0, 16, PAGE_W, HG_PDF_CENTER,
                               apr_psprintf(b->p, "票据代码：%s    票据号码：%s    校验码：%s    （续页%s）",
                                            b->code, b->no, b->random, b->scarlet ? "，冲红票据" : ""));
}

static apr_status_t items(bill_t *b, double y, int from, int n)
{
    static const double cw[NCOL] = { 62, 26, 12, 16, 20, 22, 28 };
    static const int al[NCOL] = { HG_PDF_LEFT, HG_PDF_LEFT, HG_PDF_CENTER, HG_PDF_RIGHT, HG_PDF_RIGHT,
                                  HG_PDF_RIGHT, HG_PDF_LEFT };
    static const char *const head[NCOL] = { "项目名称", "规格", "单位", "数量", "单价", "金额", "备注" };
    const char **cells = apr_palloc(b->p, (apr_size_t)(n + 1) * NCOL * sizeof(*cells));
    memcpy(cells, head, sizeof(head));
    memcpy(cells + NCOL, b->cells + (apr_size_t)from * NCOL, (apr_size_t)n * NCOL * sizeof(*cells));
    TRY(hg_pdf_set_font_size(b->pdf, ITEM_PT));
    return hg_pdf_table(b->pdf, MARGIN, y, NCOL, cw, cells, n + 1, 1, al, ITEM_RH, NULL);
}

/* Totals, payment split, channels, remark, signatures and the seal box: at most TAIL_H high. */
static apr_status_t tail(bill_t *b, double y, const char *seal_status)
{
    static const struct { const char *label, *key; } split[] = {
        { "医保统筹基金支付", "fundPay" },   { "个人账户支付", "accountPay" },
        { "其他医保支付", "otherfundPay" },  { "个人现金支付", "selfCashPay" },
        { "个人自付", "selfPayAmt" },        { "个人自负", "selfConceitedAmt" },
        { "个人自费", "ownPay" },            { NULL, NULL },
    };
    static const double tw[] = { 34, 98, 20, 34 }, sw[] = { 28, 18.5, 28, 18.5, 28, 18.5, 28, 18.5 };
    static const int ta[] = { HG_PDF_CENTER, HG_PDF_LEFT, HG_PDF_CENTER, HG_PDF_LEFT };
    static const int sa[] = { HG_PDF_LEFT, HG_PDF_RIGHT, HG_PDF_LEFT, HG_PDF_RIGHT,
                              HG_PDF_LEFT, HG_PDF_RIGHT, HG_PDF_LEFT, HG_PDF_RIGHT };
    hg_pdf_t *pdf = b->pdf;
    apr_pool_t *p = b->p;
    json_t *chs = json_object_get(b->data, "payChannelDetail");
    const char *tot[4], *sc[16], *chan = "";
    char *capital = hg_money_capital(p, b->total);
    double sy;
    size_t i;

    tot[0] = "金额合计（大写）"; tot[1] = capital ? capital : "";
    tot[2] = "（小写）";         tot[3] = apr_pstrcat(p, "¥", hg_money_format(p, b->total), NULL);
    TRY(hg_pdf_set_font_size(pdf, 10));
    TRY(hg_pdf_table(pdf, MARGIN, y + 3, 4, tw, tot, 1, 0, ta, 7, &y));

    for (i = 0; i < 8; i++) {
        apr_int64_t fen;
        sc[2 * i] = split[i].label ? split[i].label : "";
        sc[2 * i + 1] = "";
        if (!split[i].label) continue;
        TRY(money(&fen, b, b->data, split[i].key, 0));
        sc[2 * i + 1] = hg_money_format(p, fen);
    }
    TRY(hg_pdf_set_font_size(pdf, 8));
    TRY(hg_pdf_table(pdf, MARGIN, y + 2, 8, sw, sc, 2, 0, sa, 6, &y));

    for (i = 0; json_is_array(chs) && i < json_array_size(chs); i++) {
        json_t *ch = json_array_get(chs, i);
        const char *amt;
        TRY(money_text(&amt, b, ch, "payChannelValue"));
        chan = apr_psprintf(p, "%s%s%s %s", chan, i ? "；" : "", channel_name(p, ch), amt);
    }
    TRY(hg_pdf_set_font_size(pdf, 8));
    TRY(hg_pdf_text_wrap(pdf, MARGIN, y + 2, CONTENT_W, 4.2,
                         apr_pstrcat(p, "支付方式：", clean(p, *chan ? chan : "—", CHANNEL_MAX), NULL), &y));
    TRY(hg_pdf_text_wrap(pdf, MARGIN, y + 0.5, CONTENT_W, 4.2,
                         apr_pstrcat(p, "备注：", clean(p, jtext(p, b->data, "remark"), REMARK_MAX), NULL), &y));

    sy = y + 3;
    TRY(hg_pdf_set_font_size(pdf, 9));
    TRY(hg_pdf_text(pdf, MARGIN, sy + 2, apr_pstrcat(p, "收款单位（章）：",
                    clean(p, jtext(p, b->doc, "institutionName"), 40), NULL)));
    TRY(hg_pdf_text(pdf, MARGIN, sy + 9, apr_pstrcat(p, "收款人：", clean(p, jtext(p, b->data, "payee"), 20),
                    NULL)));
    TRY(hg_pdf_text(pdf, MARGIN + 50, sy + 9, apr_pstrcat(p, "复核人：",
                    clean(p, jtext(p, b->data, "author"), 20), NULL)));
    TRY(hg_pdf_text(pdf, MARGIN, sy + 16, "本电子票据与纸质票据具有同等法律效力。"));
    TRY(hg_pdf_rect(pdf, 146, sy, 52, 22, HG_PDF_NOFILL));
    TRY(hg_pdf_set_font_size(pdf, 10));
    TRY(hg_pdf_text_aligned(pdf, 146, sy + 5, 52, HG_PDF_CENTER, "单位印章(电子签章)"));
    if (seal_status && *seal_status) {
        TRY(hg_pdf_set_font_size(pdf, 12));
        TRY(hg_pdf_text_aligned(pdf, 146, sy + 12, 52, HG_PDF_CENTER, clean(p, seal_status, 20)));
    }
    return APR_SUCCESS;
}

static apr_status_t page_number(bill_t *b, int page, int pages)
{
    TRY(hg_pdf_set_font_size(b->pdf, 8));
    return hg_pdf_text_aligned(b->pdf, 0, 285, PAGE_W, HG_PDF_CENTER,
                               apr_psprintf(b->p, "第%d页/共%d页", page, pages));
}

/* Lays the item rows out over pages; the tail follows the last row, on the last page.
 * draw 0 only counts the pages (for 共 m 页), draw 1 renders them. */
static apr_status_t paginate(bill_t *b, int draw, const char *h5_url, const char *seal_status, int *pages)
{
    int page = 0, done = 0;
    for (;;) {
        double y = page == 0 ? first_items_y(b) : CONT_TOP;
        int full = (int)((BOTTOM - y) / ITEM_RH) - 1;           /* rows below a header row */
        int last = (int)((BOTTOM - TAIL_H - y) / ITEM_RH) - 1;
        int left = b->nrows - done, n, with_tail = left <= last;
        /* rows that fit without the tail leave one for the tail's page: no page of totals alone */
        n = with_tail ? left : left <= full ? left - 1 : full;
        page++;
        if (draw) {
            TRY(hg_pdf_add_page(b->pdf));
            if (page == 1) TRY(first_head(b, h5_url, &y));
            else TRY(cont_head(b));
            if (n > 0) TRY(items(b, y, done, n));
            if (with_tail) TRY(tail(b, y + (n > 0 ? (n + 1) * ITEM_RH : 0), seal_status));
            TRY(page_number(b, page, *pages));
        }
        done += n;
        if (with_tail) break;
    }
    if (!draw) *pages = page;
    return APR_SUCCESS;
}

apr_status_t invoice_pdf_render(const char **buf, apr_size_t *len, apr_pool_t *p, json_t *doc,
                                const char *h5_url, const char *seal_status)
{
    bill_t b;
    int pages = 0;
    *buf = NULL;
    *len = 0;
    TRY(bill_init(&b, p, doc));
    TRY(build_rows(&b));
    TRY(paginate(&b, 0, h5_url, seal_status, &pages));
    TRY(hg_pdf_create(&b.pdf, p, HG_PDF_A4_W, HG_PDF_A4_H));
    TRY(hg_pdf_set_info(b.pdf, b.title, jtext(p, doc, "institutionName"),
                        apr_psprintf(p, "票据代码 %s 票据号码 %s%s", b.code, b.no, b.scarlet ? "（冲红）" : "")));
    TRY(paginate(&b, 1, h5_url, seal_status, &pages));
    return hg_pdf_finish(b.pdf, buf, len);
}

/* ---- the window notice (告知单) ---- */

#define NOTICE_W    HG_PDF_A5_LAND_W
#define NOTICE_H    HG_PDF_A5_LAND_H

apr_status_t invoice_notice_pdf_render(const char **buf, apr_size_t *len, apr_pool_t *p, json_t *doc,
                                       const char *h5_url)
{
    static const char *const how[] = {
        "1. 微信“扫一扫”或手机浏览器扫描右上方二维码，即可查看、下载本张电子票据（PDF）。",
        "2. 也可扫描本院电子票据查询码，凭身份证号、手机号或就诊卡号及短信验证码，查询本人全部电子票据。",
        "3. 财政票据查验：登录财政电子票据查验平台，输入票据代码、票据号码、校验码、开票日期和金额查验真伪。",
        "4. 电子票据与纸质票据具有同等法律效力，可直接用于报销；如需纸质票据，请持本单到收费窗口换开。",
    };
    bill_t b;
    hg_pdf_t *pdf;
    const char *lines[9], *capital;
    double y;
    int n = 0, i;

    *buf = NULL;
    *len = 0;
    if (!h5_url || !*h5_url) return HG_EINVALID;
    TRY(bill_init(&b, p, doc));
    capital = hg_money_capital(p, b.total);
    lines[n++] = apr_pstrcat(p, "患者：", mask_name(p, clean(p, jtext(p, b.data, "payer"), 30)), NULL);
    lines[n++] = apr_pstrcat(p, "票据名称：", b.title, NULL);
    lines[n++] = apr_pstrcat(p, "票据代码：", b.code, NULL);
    lines[n++] = apr_pstrcat(p, "票据号码：", b.no, NULL);
    lines[n++] = apr_pstrcat(p, "校验码：", b.random, NULL);
    lines[n++] = apr_pstrcat(p, "开票日期：", b.date, NULL);
    lines[n++] = apr_psprintf(p, "票据金额：¥%s（%s）", hg_money_format(p, b.total), capital ? capital : "");
    if (b.scarlet) {
        json_t *rel = json_object_get(doc, "relatedBill");
        lines[n++] = apr_psprintf(p, "冲红票据：原票据代码 %s，原票据号码 %s",
                                  clean(p, jtext(p, rel, "billBatchCode"), 50), clean(p, jtext(p, rel, "billNo"), 20));
    }

    TRY(hg_pdf_create(&pdf, p, NOTICE_W, NOTICE_H));
    TRY(hg_pdf_set_info(pdf, "医疗收费电子票据告知单", jtext(p, doc, "institutionName"),
                        apr_psprintf(p, "票据代码 %s 票据号码 %s", b.code, b.no)));
    TRY(hg_pdf_add_page(pdf));
    TRY(hg_pdf_set_font_size(pdf, 16));
    TRY(hg_pdf_text_aligned(pdf, 0, 8, NOTICE_W, HG_PDF_CENTER, "医疗收费电子票据告知单"));
    TRY(hg_pdf_set_font_size(pdf, 10));
    TRY(hg_pdf_text_aligned(pdf, 0, 16.5, NOTICE_W, HG_PDF_CENTER,
                            clean(p, jtext(p, doc, "institutionName"), 40)));
    TRY(hg_pdf_line(pdf, MARGIN, 22.5, NOTICE_W - MARGIN, 22.5, 0.6));
    for (i = 0, y = 26; i < n; i++, y += 6.3) TRY(hg_pdf_text(pdf, MARGIN + 2, y, lines[i]));
    TRY(hg_pdf_qr(pdf, 150, 25, 44, h5_url));
    TRY(hg_pdf_set_font_size(pdf, 8));
    TRY(hg_pdf_text_aligned(pdf, 150, 69.5, 44, HG_PDF_CENTER, "扫码查看、下载电子票据"));

    y = y > 76 ? y + 1 : 77;
    TRY(hg_pdf_line(pdf, MARGIN, y, NOTICE_W - MARGIN, y, 0.3));
    TRY(hg_pdf_set_font_size(pdf, 10.5));
    TRY(hg_pdf_text(pdf, MARGIN + 2, y + 2.5, "如何获取电子票据："));
    y += 9;
    TRY(hg_pdf_set_font_size(pdf, 10));
    for (i = 0; i < (int)(sizeof(how) / sizeof(how[0])); i++)
        TRY(hg_pdf_text_wrap(pdf, MARGIN + 2, y, CONTENT_W - 4, 5.4, how[i], &y));
    TRY(hg_pdf_set_font_size(pdf, 8.5));
    TRY(hg_pdf_text_aligned(pdf, 0, NOTICE_H - 8, NOTICE_W, HG_PDF_CENTER,
                            "本告知单仅用于提示领取电子票据，不作报销凭证。"));
    return hg_pdf_finish(pdf, buf, len);
}
