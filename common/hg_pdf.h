/* hisgate layout files: fixed-form PDFs (e-invoice layouts, settlement slips, notices) through
 * libharu 2.3 with embedded TrueType fonts and UTF-8 text, QR codes through libqrencode.
 *
 * Units: millimetres from the top-left corner of the page; font sizes and line widths in points.
 * Text: UTF-8.  Invalid bytes and characters beyond the BMP print as U+FFFD, control characters
 * as spaces.  Each character is drawn with the first font of the font list (hg_pdf_global_init)
 * that has a glyph for it; the fonts are embedded as subsets with a ToUnicode map, so pdftotext
 * gives back exactly the characters passed in (ASCII digits stay ASCII).
 * A text line of size s pt occupies [y, y + s] vertically: y is the top of the em box and the
 * baseline lies 0.88 s below it (CJK ideographs reach 0.12 em below the baseline).
 *
 * Errors: every fallible call returns APR_SUCCESS or HG_EPDF, with the reason (and the libharu
 * error number, when libharu raised one) in hg_pdf_last_error().  A libharu error leaves the
 * document unusable: later calls fail with HG_EPDF and keep the first error text.  Argument and
 * state errors (text before the first page, a bad size...) do not; the document stays usable.
 *
 * Threads: documents are independent and may be rendered concurrently, one document per thread at
 * a time.  hg_pdf_global_init is not thread-safe: call it once, before any worker thread renders.
 * The first text of each font in a document runs libharu's HPDF_GetFont, which keeps a 128 KB
 * array on the stack: do not shrink thread stacks (httpd ThreadStackSize) below 512 KB.
 * No httpd header here (core file). */
#ifndef HG_PDF_H
#define HG_PDF_H
#include <apr_pools.h>
#include "hg_status.h"

typedef struct hg_pdf_t hg_pdf_t;

/* Horizontal alignment for hg_pdf_text_aligned and the col_align of hg_pdf_table. */
#define HG_PDF_LEFT     0
#define HG_PDF_CENTER   1
#define HG_PDF_RIGHT    2

/* fill_gray of hg_pdf_rect: outline only (0.5 pt black) instead of a fill. */
#define HG_PDF_NOFILL   (-1)

/* Most fonts in the list given to hg_pdf_global_init. */
#define HG_PDF_MAX_FONTS 4

/* Page sizes in mm (width, height) for hg_pdf_create. */
#define HG_PDF_A4_W          210.0
#define HG_PDF_A4_H          297.0
#define HG_PDF_A5_LAND_W     210.0      /* A5 landscape */
#define HG_PDF_A5_LAND_H     148.0
#define HG_PDF_BILL_W        241.0      /* 241 x 93 mm bill (票据) format */
#define HG_PDF_BILL_H         93.0

/* Loads the fonts once per process (httpd child_init, CLI start); later calls are no-ops.
 * ttf_path: one TrueType (glyf outline) font file, or several separated by ':'; each character
 * is drawn with the first font in the list that has it.  The set must cover ASCII letters and
 * digits and CJK: DroidSansFallbackFull.ttf has CJK but no ASCII letters or digits, so pair it
 * with a Latin font, e.g.
 *   /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
 * CFF/OpenType fonts (Noto CJK .otf/.ttc) are refused (libharu reads glyf outlines only).
 * The font files are read into memory here and never opened again.
 * Returns the APR error of a file that cannot be read (APR_ENOENT...), HG_EPDF for a font libharu
 * cannot use or a font set that lacks ASCII or CJK; hg_pdf_init_error() says which and why. */
apr_status_t hg_pdf_global_init(const char *ttf_path);
/* Text of the last hg_pdf_global_init failure ("" when none). */
const char *hg_pdf_init_error(void);

/* A new document of width_mm x height_mm pages (10..5000 mm), bound to pool p: the pool cleanup
 * frees the libharu document.  HG_EPDF when hg_pdf_global_init has not succeeded. */
apr_status_t hg_pdf_create(hg_pdf_t **pdf, apr_pool_t *p, double width_mm, double height_mm);
/* Appends a page; drawing goes to the newest page. */
apr_status_t hg_pdf_add_page(hg_pdf_t *pdf);
/* Font size in points for the following text (default 10; libharu refuses sizes above 600 at the
 * next text call). */
apr_status_t hg_pdf_set_font_size(hg_pdf_t *pdf, double pt);

/* One line of text with its top-left corner at (x, y). */
apr_status_t hg_pdf_text(hg_pdf_t *pdf, double x, double y, const char *utf8);
/* One line aligned within [x, x + width] (HG_PDF_LEFT/CENTER/RIGHT); text wider than width
 * overflows (to the left for RIGHT, both sides for CENTER). */
apr_status_t hg_pdf_text_aligned(hg_pdf_t *pdf, double x, double y, double width, int align,
                                 const char *utf8);
/* Text wrapped into lines of at most width mm, line_height mm apart: CJK may break between any
 * two characters, Latin only between words (a word longer than the line is cut); '\n' starts a
 * new line; closing punctuation (，。、）》 ...) is never moved to the start of a line, and an
 * opening bracket never stays at the end of one.  *next_y (may be NULL) = y + lines * line_height. */
apr_status_t hg_pdf_text_wrap(hg_pdf_t *pdf, double x, double y, double width, double line_height,
                              const char *utf8, double *next_y);
/* Width in mm of utf8 at the current font size (0 for NULL or on a failed document). */
double hg_pdf_text_width(hg_pdf_t *pdf, const char *utf8);

/* A black line of width_pt points. */
apr_status_t hg_pdf_line(hg_pdf_t *pdf, double x1, double y1, double x2, double y2, double width_pt);
/* A rectangle: fill_gray 0..100 fills it without outline (0 black, 100 white);
 * HG_PDF_NOFILL draws its 0.5 pt outline only. */
apr_status_t hg_pdf_rect(hg_pdf_t *pdf, double x, double y, double w, double h, int fill_gray);

/* A ruled table at (x, y): ncols columns of col_widths_mm, nrows rows of row_height mm, cells
 * row-major (NULL cell = empty).  The first header_rows rows are shaded and centred; the others
 * follow col_align (NULL = all HG_PDF_LEFT).  Fitting: text that does not fit its cell (1 mm
 * padding each side) is shrunk down to half the current font size; text still too wide at that
 * size is clipped at the cell border (it stays in the text layer, so pdftotext still sees it).
 * The font size is also capped at 80 % of the row height.  Rows are not split across pages:
 * *next_y (may be NULL) = y + nrows * row_height, even past the page bottom. */
apr_status_t hg_pdf_table(hg_pdf_t *pdf, double x, double y, int ncols, const double *col_widths_mm,
                          const char *const *cells, int nrows, int header_rows, const int *col_align,
                          double row_height, double *next_y);

/* A QR code (error correction M, 8-bit mode) of size_mm x size_mm with its top-left corner at
 * (x, y); size_mm includes a white quiet zone of 2 modules on each side. */
apr_status_t hg_pdf_qr(hg_pdf_t *pdf, double x, double y, double size_mm, const char *text);

/* Document information (any may be NULL); Creator is "hisgate". */
apr_status_t hg_pdf_set_info(hg_pdf_t *pdf, const char *title, const char *author,
                             const char *subject);

/* Writes the PDF into memory from the document's pool (*buf, *len).  Call once, after at least
 * one page; the document accepts no drawing afterwards.  Same input gives the same bytes (no
 * dates or random ids are written). */
apr_status_t hg_pdf_finish(hg_pdf_t *pdf, const char **buf, apr_size_t *len);

/* Why the last call on pdf failed ("" when none failed). */
const char *hg_pdf_last_error(const hg_pdf_t *pdf);
/* The libharu error number behind it (0 when the failure was not libharu's). */
unsigned long hg_pdf_last_hpdf_error(const hg_pdf_t *pdf);
#endif
