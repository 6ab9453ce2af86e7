/* hg_pdf: layout files.  Renders a sample bill and checks it with poppler (pdftotext, pdffonts,
 * pdfinfo, pdftoppm) and zbarimg when installed; errors, wrapping, page sizes, two pages,
 * determinism across threads and instance reuse, and the time per document. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <qrencode.h>
#include "tap.h"
#include "hg_pdf.h"

#define FONT_CJK   "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
#define FONT_LIB   "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"
#define FONT_DEJA  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

#define TITLE      "广东省医疗门诊收费票据（电子）"
#define QR_URL     "https://his.example.cn/einv/view?code=44010124&no=0000000001&check=a1b2c3"
#define CAPITALS   "壹佰贰拾叁元肆角伍分"
#define QR_X       150.0
#define QR_Y       232.0
#define QR_SIZE    40.0

static apr_pool_t *root;
static char tmpdir[64];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs cmd through the shell; stdout into *out (pool p), stderr into *err; returns the exit status. */
static int run(apr_pool_t *p, const char *cmd, char **out, char **err)
{
    char *errfile = apr_psprintf(p, "%s/stderr.txt", tmpdir), buf[4096];
    FILE *f = popen(apr_psprintf(p, "%s 2>%s", cmd, errfile), "r");
    apr_size_t n, len = 0, cap = 1 << 16;
    char *s = apr_palloc(p, cap);
    int st;
    if (!f) return -1;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (len + n + 1 > cap) {
            char *t = apr_palloc(p, cap * 2);
            memcpy(t, s, len);
            s = t;
            cap *= 2;
        }
        memcpy(s + len, buf, n);
        len += n;
    }
    s[len] = '\0';
    st = pclose(f);
    if (out) *out = s;
    if (err) {
        FILE *e = fopen(errfile, "r");
        n = e ? fread(buf, 1, sizeof(buf) - 1, e) : 0;
        buf[n] = '\0';
        if (e) fclose(e);
        *err = apr_pstrdup(p, buf);
    }
    return st;
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

/* A grey-scale page image from pdftoppm (P5 PGM). */
typedef struct { int w, h; const unsigned char *px; } pgm_t;

static int render(apr_pool_t *p, const char *pdf_path, int dpi, pgm_t *img)
{
    const char *base = apr_psprintf(p, "%s/page", tmpdir);
    char *cmd = apr_psprintf(p, "pdftoppm -gray -r %d -f 1 -l 1 -singlefile '%s' '%s'", dpi, pdf_path, base);
    char *out, *err, *data, *q;
    FILE *f;
    long size;
    if (run(p, cmd, &out, &err) != 0) return 0;
    if (!(f = fopen(apr_psprintf(p, "%s.pgm", base), "rb"))) return 0;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    rewind(f);
    data = apr_palloc(p, size + 1);
    if (fread(data, 1, size, f) != (size_t)size) size = 0;
    fclose(f);
    data[size] = '\0';
    if (size < 16 || strncmp(data, "P5", 2) != 0) return 0;
    img->w = (int)strtol(data + 2, &q, 10);
    img->h = (int)strtol(q, &q, 10);
    if (strtol(q, &q, 10) != 255) return 0;
    img->px = (const unsigned char *)q + 1;     /* one whitespace after maxval */
    return (long)((const char *)img->px - data) + (long)img->w * img->h <= size;
}

static int dark_at(const pgm_t *img, double x_mm, double y_mm, int dpi)
{
    int x = (int)(x_mm * dpi / 25.4), y = (int)(y_mm * dpi / 25.4);
    if (x < 0 || y < 0 || x >= img->w || y >= img->h) return -1;
    return img->px[(long)y * img->w + x] < 128;
}

static long ink(const pgm_t *img, double x_mm, double y_mm, double w_mm, double h_mm, int dpi)
{
    int x0 = (int)(x_mm * dpi / 25.4), y0 = (int)(y_mm * dpi / 25.4);
    int x1 = (int)((x_mm + w_mm) * dpi / 25.4), y1 = (int)((y_mm + h_mm) * dpi / 25.4), x, y;
    long n = 0;
    for (y = y0; y < y1 && y < img->h; y++)
        for (x = x0; x < x1 && x < img->w; x++) n += img->px[(long)y * img->w + x] < 128;
    return n;
}

/* The sample bill: title, fields, 20 item rows, totals, capitals, a wrapped remark, a QR code.
 * Returns the name of the first call that failed, NULL when all succeeded. */
static const char *bill(apr_pool_t *p, const char **buf, apr_size_t *len)
{
    static const char *kinds[] = { "西药费", "中成药费", "检查费", "治疗费", "化验费" };
    static const double cw[] = { 70, 20, 30, 30, 20 };
    static const int al[] = { HG_PDF_LEFT, HG_PDF_CENTER, HG_PDF_RIGHT, HG_PDF_RIGHT, HG_PDF_CENTER };
    const char *cells[21 * 5];
    hg_pdf_t *pdf;
    double y;
    int r;

    if (hg_pdf_create(&pdf, p, HG_PDF_A4_W, HG_PDF_A4_H)) return "create";
    if (hg_pdf_add_page(pdf)) return "add_page";
    if (hg_pdf_set_info(pdf, TITLE, "某某市第一人民医院", "门诊收费电子票据")) return "set_info";
    if (hg_pdf_set_font_size(pdf, 18)) return "set_font_size";
    if (hg_pdf_text_aligned(pdf, 0, 15, HG_PDF_A4_W, HG_PDF_CENTER, TITLE)) return "title";
    if (hg_pdf_line(pdf, 20, 25, 190, 25, 0.8)) return "line";
    if (hg_pdf_set_font_size(pdf, 10)) return "set_font_size";
    if (hg_pdf_text(pdf, 20, 30, "票据代码：44010124")) return "text";
    if (hg_pdf_text(pdf, 80, 30, "票据号码：0000000001")) return "text";
    if (hg_pdf_text(pdf, 145, 30, "校验码：a1b2c3")) return "text";
    if (hg_pdf_text(pdf, 20, 37, "交款人：张*三")) return "text";
    if (hg_pdf_text_aligned(pdf, 100, 37, 90, HG_PDF_RIGHT, "开票日期：2026-11-28")) return "text_aligned";
    cells[0] = "项目名称"; cells[1] = "数量"; cells[2] = "单价"; cells[3] = "金额"; cells[4] = "备注";
    for (r = 1; r <= 20; r++) {
        cells[r * 5 + 0] = apr_psprintf(p, "%s（第%d项）", kinds[r % 5], r);
        cells[r * 5 + 1] = apr_psprintf(p, "%d", r);
        cells[r * 5 + 2] = r == 1 ? "12.34" : apr_psprintf(p, "%d.%02d", r * 3, r);
        cells[r * 5 + 3] = r == 1 ? "12.34" : apr_psprintf(p, "%d.%02d", r * r * 3, r % 100);
        cells[r * 5 + 4] = r % 7 ? "" : "甲类";
    }
    if (hg_pdf_table(pdf, 20, 45, 5, cw, cells, 21, 1, al, 7, &y)) return "table";
    if (hg_pdf_text(pdf, 20, y + 4, "合计（小写）：123.45")) return "text";
    if (hg_pdf_text(pdf, 20, y + 11, "合计（大写）：" CAPITALS)) return "text";
    if (hg_pdf_text_wrap(pdf, 20, y + 20, 120, 5,
                         "备注：本票据为电子票据，与纸质票据具有同等法律效力。Please keep this receipt "
                         "for reimbursement.", &y)) return "text_wrap";
    if (hg_pdf_qr(pdf, QR_X, QR_Y, QR_SIZE, QR_URL)) return "qr";
    if (hg_pdf_rect(pdf, 15, 8, 180, 270, HG_PDF_NOFILL)) return "rect";
    if (hg_pdf_finish(pdf, buf, len)) return hg_pdf_last_error(pdf);
    return NULL;
}

typedef struct { const char *ref; apr_size_t ref_len; int same, docs; } thread_arg_t;

static void *APR_THREAD_FUNC render_thread(apr_thread_t *th, void *data)
{
    thread_arg_t *a = data;
    apr_pool_t *p;
    int i;
    apr_pool_create(&p, NULL);
    for (i = 0; i < a->docs; i++) {
        const char *buf;
        apr_size_t len;
        apr_pool_t *sub;
        apr_pool_create(&sub, p);
        if (!bill(sub, &buf, &len) && len == a->ref_len && memcmp(buf, a->ref, len) == 0) a->same++;
        apr_pool_destroy(sub);
    }
    apr_pool_destroy(p);
    apr_thread_exit(th, APR_SUCCESS);
    return NULL;
}

static long rss_kb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The text of pdftotext (without -layout) for a document made by fn. */
static char *page_text(apr_pool_t *p, const char *name, const char *buf, apr_size_t len, int page)
{
    const char *path = save(p, name, buf, len);
    char *out, *err;
    if (!path || run(p, apr_psprintf(p, "pdftotext -f %d -l %d '%s' -", page, page, path), &out, &err))
        return "";
    return out;
}

int main(void)
{
    apr_pool_t *p;
    hg_pdf_t *pdf = NULL;
    apr_status_t rv;
    const char *buf, *path, *latin, *failed;
    apr_size_t len;
    char *out, *err, *fonts;
    int i;

    apr_initialize();
    apr_pool_create(&root, NULL);
    p = root;
    strcpy(tmpdir, "/tmp/t_pdf.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("Bail out! cannot create a temporary directory\n");
        return 1;
    }
    latin = access(FONT_LIB, R_OK) == 0 ? FONT_LIB : FONT_DEJA;
    fonts = apr_pstrcat(p, FONT_CJK, ":", latin, NULL);
    tap_diag("fonts: %s", fonts);

    /* ---- hg_pdf_global_init ---- */
    tap_is_int(hg_pdf_create(&pdf, p, 210, 297), HG_EPDF, "create before hg_pdf_global_init fails with HG_EPDF");
    tap_ok(pdf == NULL, "... and gives no document");
    rv = hg_pdf_global_init("/nonexistent/font.ttf");
    tap_ok(APR_STATUS_IS_ENOENT(rv), "a missing font file fails with ENOENT (got %d)", rv);
    tap_ok(strstr(hg_pdf_init_error(), "/nonexistent/font.ttf") != NULL, "... and the error names it: %s",
           hg_pdf_init_error());
    path = save(p, "junk.ttf", "this is not a font, just some text", 34);
    tap_is_int(hg_pdf_global_init(path), HG_EPDF, "a file that is no TrueType font fails with HG_EPDF");
    tap_ok(strstr(hg_pdf_init_error(), "not a TrueType font") != NULL, "... %s", hg_pdf_init_error());
    tap_is_int(hg_pdf_global_init(FONT_CJK), HG_EPDF, "DroidSansFallbackFull alone is refused (no ASCII glyphs)");
    tap_ok(strstr(hg_pdf_init_error(), "'0'") != NULL, "... %s", hg_pdf_init_error());
    tap_is_int(hg_pdf_global_init(latin), HG_EPDF, "a Latin font alone is refused (no CJK glyphs)");
    tap_is_int(hg_pdf_global_init(apr_pstrcat(p, fonts, ":/nonexistent/second.ttf", NULL)), APR_ENOENT,
               "one missing font in the list fails the whole list");
    rv = hg_pdf_global_init(fonts);
    tap_is_int(rv, APR_SUCCESS, "CJK + Latin font list loads (%s)", hg_pdf_init_error());
    if (rv != APR_SUCCESS) {
        printf("Bail out! no fonts\n");
        return 1;
    }
    tap_is_int(hg_pdf_global_init("/nonexistent/font.ttf"), APR_SUCCESS, "a second hg_pdf_global_init is a no-op");

    /* ---- argument, state and libharu errors ---- */
    tap_is_int(hg_pdf_create(&pdf, p, 0, 297), HG_EPDF, "a zero page width is refused");
    tap_is_int(hg_pdf_create(&pdf, p, 210, NAN), HG_EPDF, "a NaN page height is refused");
    tap_is_int(hg_pdf_create(&pdf, p, 210, 297), APR_SUCCESS, "create A4");
    tap_is_int(hg_pdf_text(pdf, 10, 10, "文本"), HG_EPDF, "text before the first page fails with HG_EPDF");
    tap_ok(strstr(hg_pdf_last_error(pdf), "no page") != NULL, "... last_error says why: %s", hg_pdf_last_error(pdf));
    tap_is_int(hg_pdf_last_hpdf_error(pdf), 0, "... and it is not a libharu error");
    tap_is_int(hg_pdf_qr(pdf, 10, 10, 20, "x"), HG_EPDF, "a QR code before the first page fails too");
    tap_is_int(hg_pdf_finish(pdf, &buf, &len), HG_EPDF, "finish without a page fails");
    tap_is_int(hg_pdf_add_page(pdf), APR_SUCCESS, "the document is still usable: add a page");
    tap_is_int(hg_pdf_text(pdf, 10, 10, "文本 text"), APR_SUCCESS, "... and draw text on it");
    tap_is_int(hg_pdf_rect(pdf, 10, 10, 5, 5, 150), HG_EPDF, "fill_gray 150 is refused");
    tap_is_int(hg_pdf_text_aligned(pdf, 10, 10, 50, 7, "x"), HG_EPDF, "alignment 7 is refused");
    tap_is_int(hg_pdf_table(pdf, 10, 10, 0, NULL, NULL, 1, 0, NULL, 5, NULL), HG_EPDF, "a table without columns is refused");
    tap_is_int(hg_pdf_qr(pdf, 10, 10, 20, ""), HG_EPDF, "an empty QR text is refused");
    tap_is_int(hg_pdf_text(pdf, 10, 10, NULL), HG_EPDF, "NULL text is refused");
    tap_is_int(hg_pdf_set_font_size(pdf, 1000), APR_SUCCESS, "font size 1000 is only checked by libharu...");
    tap_is_int(hg_pdf_text(pdf, 10, 50, "太大"), HG_EPDF, "... which refuses it at the next text: HG_EPDF");
    tap_is_int(hg_pdf_last_hpdf_error(pdf), 0x1050, "... the libharu error number is kept (HPDF_PAGE_INVALID_FONT_SIZE)");
    tap_ok(strstr(hg_pdf_last_error(pdf), "0x1050") != NULL, "... and in the text: %s", hg_pdf_last_error(pdf));
    tap_is_int(hg_pdf_add_page(pdf), HG_EPDF, "after a libharu error the document refuses more work");
    tap_is_int(hg_pdf_finish(pdf, &buf, &len), HG_EPDF, "... and finish fails");
    tap_ok(strstr(hg_pdf_last_error(pdf), "0x1050") != NULL, "... keeping the first error: %s", hg_pdf_last_error(pdf));

    /* ---- the sample bill ---- */
    failed = bill(p, &buf, &len);
    tap_ok(failed == NULL, "the sample bill renders%s%s", failed ? ": failed at " : "", failed ? failed : "");
    if (failed) {
        printf("Bail out! no bill\n");
        return 1;
    }
    tap_ok(len > 1000 && memcmp(buf, "%PDF-1.", 7) == 0 && strstr(buf + len - 8, "%%EOF") != NULL,
           "the output is a whole PDF (%lu bytes)", (unsigned long)len);
    path = save(p, "bill.pdf", buf, len);
    tap_diag("bill: %s", path);
    tap_is_int(run(p, apr_psprintf(p, "pdftotext -layout '%s' -", path), &out, &err), 0, "pdftotext -layout runs");
    tap_is_str(err, "", "pdftotext prints no warning (ToUnicode CMap accepted)");
    {
        static const char *want[] = {
            TITLE, "票据代码：44010124", "票据号码：0000000001", "校验码：a1b2c3", "交款人：张*三",
            "开票日期：2026-11-28", "项目名称", "数量", "单价", "金额", "西药费（第5项）", "12.34",
            "60.20", "合计（小写）：123.45", "合计（大写）：" CAPITALS, "同等法律效力。",
        };
        apr_size_t k;
        for (k = 0; k < sizeof(want) / sizeof(want[0]); k++)
            tap_ok(strstr(out, want[k]) != NULL, "pdftotext gives back '%s'", want[k]);
    }
    tap_ok(!strstr(out, "\xEF\xBC\x91") && !strstr(out, "\xEF\xBC\x92") && !strstr(out, "\xEF\xBC\x90"),
           "no full-width digits in the extracted text");
    tap_ok(!strstr(out, "1 2.34") && !strstr(out, "2026- 11"), "digits are not spaced out");
    tap_is_int(run(p, apr_psprintf(p, "pdffonts '%s'", path), &out, &err), 0, "pdffonts runs");
    tap_is_str(err, "", "pdffonts prints no warning");
    {
        int nfonts = 0, good = 0;
        char *line, *last;
        for (line = apr_strtok(out, "\n", &last); line; line = apr_strtok(NULL, "\n", &last)) {
            if (strncmp(line, "name", 4) == 0 || strncmp(line, "----", 4) == 0) continue;
            nfonts++;
            /* name type encoding emb sub uni: "CID TrueType Identity-H yes yes yes" */
            if (strstr(line, " CID TrueType ") && strstr(line, " Identity-H ") && strstr(line, " yes yes yes ")) good++;
            tap_diag("pdffonts: %s", line);
        }
        tap_is_int(nfonts, 2, "two fonts in the bill (CJK and Latin)");
        tap_is_int(good, 2, "both are CID TrueType, embedded, subset, with a ToUnicode map");
    }
    tap_is_int(run(p, apr_psprintf(p, "pdfinfo '%s'", path), &out, &err), 0, "pdfinfo runs");
    tap_ok(strstr(out, "Title:           " TITLE "\n") != NULL, "the title is stored in UTF-16 and reads back");
    tap_ok(strstr(out, "Pages:           1\n") != NULL, "one page");
    tap_ok(strstr(out, "595.276 x 841.89 pts (A4)") != NULL, "the page is A4");

    /* the QR code: decoded by zbarimg when available, and its modules checked in a rendering */
    if (run(p, "command -v zbarimg", &out, &err) == 0) {
        const char *png = apr_psprintf(p, "%s/qr", tmpdir);
        run(p, apr_psprintf(p, "pdftoppm -png -r 150 -singlefile '%s' '%s'", path, png), NULL, NULL);
        run(p, apr_psprintf(p, "zbarimg --raw -q '%s.png'", png), &out, &err);
        if (*out && out[strlen(out) - 1] == '\n') out[strlen(out) - 1] = '\0';
        tap_is_str(out, QR_URL, "zbarimg decodes the QR code to the URL");
    }
    else tap_ok(1, "# SKIP zbarimg not installed");
    {
        pgm_t img;
        QRcode *q = QRcode_encodeData((int)strlen(QR_URL), (const unsigned char *)QR_URL, 0, QR_ECLEVEL_M);
        int ok = render(p, path, 300, &img), r, c, bad = 0, n = q ? q->width + 4 : 1;
        double m = QR_SIZE / n;
        tap_ok(ok && q, "the page renders at 300 dpi");
        for (r = 0; ok && q && r < n; r++)
            for (c = 0; c < n; c++) {
                int want = r >= 2 && c >= 2 && r < n - 2 && c < n - 2 && (q->data[(r - 2) * q->width + c - 2] & 1);
                if (dark_at(&img, QR_X + (c + 0.5) * m, QR_Y + (r + 0.5) * m, 300) != want) bad++;
            }
        tap_is_int(bad, 0, "all %d QR modules (with the 2-module white quiet zone) are where libqrencode put them", n * n);
        if (q) QRcode_free(q);
    }

    /* glyphs really print: composite CJK glyphs (their parts are glyphs > 32767 in Droid) and
     * Latin digits (Droid has none: they come from the Latin font, not as boxes) */
    {
        pgm_t img;
        const char *b2;
        apr_size_t l2;
        long ink1, ink8, inkz, inkbox;
        hg_pdf_create(&pdf, p, 130, 40);
        hg_pdf_add_page(pdf);
        hg_pdf_set_font_size(pdf, 40);
        hg_pdf_text(pdf, 5, 5, "疗");
        hg_pdf_text(pdf, 40, 5, "1");
        hg_pdf_text(pdf, 70, 5, "8");
        hg_pdf_text(pdf, 100, 5, "\xEE\x80\x80");     /* U+E000: in no font, drawn as the .notdef box */
        rv = hg_pdf_finish(pdf, &b2, &l2);
        tap_ok(rv == APR_SUCCESS && render(p, save(p, "glyphs.pdf", b2, l2), 150, &img), "glyph sheet renders");
        inkz = ink(&img, 5, 5, 16, 16, 150);
        ink1 = ink(&img, 40, 5, 16, 16, 150);
        ink8 = ink(&img, 70, 5, 16, 16, 150);
        inkbox = ink(&img, 100, 5, 16, 16, 150);
        tap_diag("ink: 疗 %ld, 1 %ld, 8 %ld, .notdef box %ld pixels", inkz, ink1, ink8, inkbox);
        tap_ok(inkz > 300 && labs(inkz - inkbox) * 4 > inkbox, "疗 (a composite glyph) prints: neither blank nor a box");
        tap_ok(ink1 > 50 && ink8 > 50 && labs(ink8 - ink1) * 5 > ink8, "'1' and '8' print as different glyphs, not boxes");
    }

    /* ---- text measuring and wrapping ---- */
    {
        double w1, w2, ny, ab, abg;
        hg_pdf_create(&pdf, p, HG_PDF_A4_W, HG_PDF_A4_H);
        hg_pdf_add_page(pdf);
        w1 = hg_pdf_text_width(pdf, "中");
        w2 = hg_pdf_text_width(pdf, "中中");
        tap_ok(fabs(w1 - 10 * 25.4 / 72) < 0.01, "an ideograph at 10 pt is 1 em wide (%.3f mm)", w1);
        tap_ok(fabs(w2 - 2 * w1) < 1e-9, "widths add up");
        tap_ok(hg_pdf_text_width(pdf, "") == 0 && hg_pdf_text_width(pdf, NULL) == 0, "empty and NULL text have no width");
        hg_pdf_text_wrap(pdf, 10, 10, 10 * w1 + 0.5, 5, "中中中中中中中中中中中中中中中中中中中中", &ny);
        tap_ok(fabs(ny - 20) < 1e-9, "20 ideographs in a 10-ideograph line wrap to 2 lines (next_y %.1f)", ny);
        hg_pdf_text_wrap(pdf, 10, 30, 5 * w1 + 0.1, 5, "中中中中中。", &ny);
        tap_ok(fabs(ny - 35) < 1e-9, "a closing 。 hangs rather than starting a line (next_y %.1f)", ny);
        hg_pdf_text_wrap(pdf, 10, 40, 5 * w1 + 0.1, 5, "甲乙丙丁（戊）", &ny);
        tap_ok(fabs(ny - 50) < 1e-9, "2 lines for an opening bracket at the margin (next_y %.1f)", ny);
        ab = hg_pdf_text_width(pdf, "alpha beta");
        abg = hg_pdf_text_width(pdf, "alpha beta gamma");
        hg_pdf_text_wrap(pdf, 10, 60, (ab + abg) / 2, 5, "alpha beta gamma", &ny);
        tap_ok(fabs(ny - 70) < 1e-9, "Latin wraps between words (next_y %.1f)", ny);
        hg_pdf_text_wrap(pdf, 10, 80, hg_pdf_text_width(pdf, "abcdefghij"), 5, "abcdefghijklmnopqrstuvwxyz", &ny);
        tap_ok(fabs(ny - 95) < 1e-9, "a word longer than the line is cut (3 lines, next_y %.1f)", ny);
        hg_pdf_text_wrap(pdf, 10, 100, 100, 5, "first\nsecond", &ny);
        tap_ok(fabs(ny - 110) < 1e-9, "'\\n' starts a new line (next_y %.1f)", ny);
        hg_pdf_text(pdf, 10, 120, "bad \xFF\xFE bytes");
        tap_is_int(hg_pdf_finish(pdf, &buf, &len), APR_SUCCESS, "the wrapping sheet renders");
        out = page_text(p, "wrap.pdf", buf, len, 1);
        tap_ok(strstr(out, "甲乙丙丁\n（戊）") != NULL, "the bracket moved to the next line with its word");
        tap_ok(strstr(out, "中中中中中。\n") != NULL, "the 。 stayed on its line");
        tap_ok(strstr(out, "alpha beta\ngamma") != NULL, "'alpha beta' / 'gamma'");
        {   /* the first line holds exactly the ten letters measured; the rest follows unbroken */
            const char *at = strstr(out, "abcdefghij\n");
            char rest[32];
            int k = 0;
            for (at = at ? at + 11 : ""; *at && *at != 'z' && k < 30; at++) if (*at != '\n') rest[k++] = *at;
            rest[k] = '\0';
            tap_is_str(rest, "klmnopqrstuvwxy", "the long word is cut at the margin, nothing lost");
        }
        tap_ok(strstr(out, "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes") != NULL, "invalid UTF-8 prints as U+FFFD");
    }

    /* ---- page sizes and two pages ---- */
    {
        static const struct { double w, h; const char *want; } sizes[] = {
            { HG_PDF_A5_LAND_W, HG_PDF_A5_LAND_H, "595.276 x 419.528 pts" },
            { HG_PDF_BILL_W, HG_PDF_BILL_H, "683.15 x 263.622 pts" },
        };
        apr_size_t k;
        for (k = 0; k < 2; k++) {
            hg_pdf_create(&pdf, p, sizes[k].w, sizes[k].h);
            hg_pdf_add_page(pdf);
            hg_pdf_text(pdf, 5, 5, "票据");
            rv = hg_pdf_finish(pdf, &buf, &len);
            path = save(p, "size.pdf", buf, len);
            run(p, apr_psprintf(p, "pdfinfo '%s'", path), &out, &err);
            tap_ok(rv == APR_SUCCESS && strstr(out, sizes[k].want), "%gx%g mm page is %s", sizes[k].w, sizes[k].h,
                   sizes[k].want);
        }
        hg_pdf_create(&pdf, p, HG_PDF_A4_W, HG_PDF_A4_H);
        hg_pdf_add_page(pdf);
        hg_pdf_text(pdf, 20, 20, "第一页 PAGE-ONE");
        hg_pdf_add_page(pdf);
        hg_pdf_text(pdf, 20, 20, "第二页 PAGE-TWO");
        tap_is_int(hg_pdf_finish(pdf, &buf, &len), APR_SUCCESS, "a two-page document renders");
        out = page_text(p, "two.pdf", buf, len, 1);
        tap_ok(strstr(out, "第一页 PAGE-ONE") && !strstr(out, "PAGE-TWO"), "page 1 holds the first text");
        out = page_text(p, "two.pdf", buf, len, 2);
        tap_ok(strstr(out, "第二页 PAGE-TWO") && !strstr(out, "PAGE-ONE"), "page 2 holds the second text");
        run(p, apr_psprintf(p, "pdfinfo '%s/two.pdf'", tmpdir), &out, &err);
        tap_ok(strstr(out, "Pages:           2\n") != NULL, "pdfinfo counts 2 pages");
    }

    /* ---- same bytes every time, from reused instances and from 4 threads at once ---- */
    {
        const char *ref, *again;
        apr_size_t ref_len, again_len;
        apr_thread_t *th[4];
        thread_arg_t args[4];
        apr_status_t trv;
        int same = 0;
        bill(p, &ref, &ref_len);
        bill(p, &again, &again_len);
        tap_ok(ref_len == again_len && memcmp(ref, again, ref_len) == 0, "the same bill twice gives the same bytes");
        for (i = 0; i < 4; i++) {
            args[i].ref = ref;
            args[i].ref_len = ref_len;
            args[i].same = 0;
            args[i].docs = 15;
            apr_thread_create(&th[i], NULL, render_thread, &args[i], p);
        }
        for (i = 0; i < 4; i++) {
            apr_thread_join(&trv, th[i]);
            same += args[i].same;
        }
        tap_is_int(same, 60, "4 threads x 15 bills, all identical to the single-threaded one");
    }

    /* ---- time per document ---- */
    {
        double t0, ms;
        long rss0, rss1;
        apr_pool_t *sub;
        for (i = 0; i < 20; i++) {                      /* warm up */
            apr_pool_create(&sub, p);
            bill(sub, &buf, &len);
            apr_pool_destroy(sub);
        }
        rss0 = rss_kb();
        t0 = now();
        for (i = 0; i < 200; i++) {
            apr_pool_create(&sub, p);
            failed = bill(sub, &buf, &len);
            apr_pool_destroy(sub);
            if (failed) break;
        }
        ms = (now() - t0) * 1000 / 200;
        rss1 = rss_kb();
        tap_diag("200 bills (A4, 20 rows, QR): %.2f ms/doc, %lu bytes/PDF, RSS %+ld KB", ms,
                 (unsigned long)len, rss1 - rss0);
        tap_ok(!failed && ms < 100, "200 bills render, well under 100 ms each (%.2f ms)", ms);
        tap_ok(rss1 - rss0 < 8192, "memory stays flat over 200 bills (%+ld KB)", rss1 - rss0);
    }

    run(p, apr_psprintf(p, "rm -rf '%s'", tmpdir), NULL, NULL);
    tap_plan(tap_n);
    apr_pool_destroy(root);
    apr_terminate();
    return tap_done();
}
