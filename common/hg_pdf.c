/* hisgate layout files (see hg_pdf.h).
 *
 * Fonts are loaded once per process.  libharu 2.3 otherwise re-reads and re-parses the TTF for
 * every document (HPDF_LoadTTFontFromFile), then spends more per document on tables it fills for
 * all 65,536 code points and on a subset that keeps the source's full loca and hmtx.
 *  - hg_pdf_global_init reads each font file into memory once (read-only afterwards).  libharu
 *    reads those bytes through a callback stream that has its own cursor
 *    (HPDF_CallbackReader_New), so nothing is copied or reopened per document.
 *  - The parsed font definitions live in an HPDF_Doc, an "instance".  Instances are kept in a
 *    small free list and reused through HPDF_NewDoc: libharu keeps loaded font definitions across
 *    HPDF_FreeDoc and only clears their per-document state.  So a font is parsed once per
 *    instance, and there are only as many instances as documents rendered at the same time.
 *  - HPDF_GetFont fills CIDToGIDMap and W for every code point, each through a linear cmap search
 *    (2-6 ms per font and document), and writes a ToUnicode CMap that poppler rejects ("Invalid
 *    'begincidrange' operator").  We hand it an empty cmap while it builds the font object, and
 *    at hg_pdf_finish we write the three tables ourselves for the code points actually drawn.
 *  - Also at hg_pdf_finish we write the font program: a subset with the used glyphs renumbered
 *    (ttf_subset), and its font descriptor, so libharu never runs its own subsetter.  Its subset
 *    of DroidSansFallbackFull was 360 KB before compression, and deflating it was most of the
 *    time per document.  It also read the component ids of composite glyphs as signed 16-bit
 *    numbers and dropped those above 32767, so composite CJK glyphs of big fonts printed blank
 *    (疗 诊 票 据 in DroidSansFallbackFull, which has 49,382 glyphs).
 * All of this depends on libharu 2.3 internals (the structures in hpdf_fontdef.h, hpdf_font.h,
 * hpdf_streams.h and hpdf_objects.h, which libhpdf-dev ships).  The #error below stops the build
 * on another libharu version: check this file again before upgrading (2.4 has
 * HPDF_LoadTTFontFromMemory, but that copies the font into every document).
 *
 * Threads: g is read-only after hg_pdf_global_init, except the free list, which g.lock protects.
 * An instance belongs to one document at a time. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#if APR_HAS_THREADS
#include <apr_thread_mutex.h>
#endif
#include <hpdf.h>
#include <hpdf_fontdef.h>
#include <hpdf_font.h>
#include <hpdf_objects.h>
#include <hpdf_streams.h>
#include <qrencode.h>
#include "hg_pdf.h"

#if HPDF_MAJOR_VERSION != 2 || HPDF_MINOR_VERSION != 3
#error "hg_pdf.c relies on libharu 2.3 internals (font definition, font attributes, streams): re-check it for this version"
#endif

#define PT_PER_MM       (72.0 / 25.4)
#define ASCENT          0.88                /* baseline below the top of the em box, in em */
#define IDLE_MAX        8                   /* idle instances kept; ~0.8 MB each (Droid + Liberation) */
#define FONT_MAX_BYTES  (64u << 20)
#define DEFAULT_SIZE    10.0
#define CELL_PAD_MM     1.0
#define MIN_SHRINK      0.5                 /* table cells: shrink text down to this factor, then clip */

#define BIT_GET(bm, c)  ((bm)[(c) >> 3] & (1u << ((c) & 7)))
#define BIT_SET(bm, c)  ((bm)[(c) >> 3] |= (unsigned char)(1u << ((c) & 7)))

typedef struct {                            /* where the tables are in a TrueType file */
    const unsigned char *d;
    apr_size_t len;
    apr_size_t head, head_len, hhea, hhea_len, maxp, maxp_len, hmtx, hmtx_len, loca, loca_len;
    apr_size_t glyf, glyf_len, os2, os2_len, name, name_len, post, post_len;
    apr_size_t cvt, cvt_len, fpgm, fpgm_len, prep, prep_len;
    unsigned ng, nhm;                       /* glyphs, long horizontal metrics */
    int long_loca;
} ttf_t;

typedef struct {
    const unsigned char *data;              /* the whole font file */
    apr_size_t len;
    const char *path;
    int has_space;
    ttf_t ttf;
} font_src_t;

typedef struct {                            /* one instance's read cursor over one font */
    const font_src_t *src;
    apr_size_t pos;
} reader_t;

typedef struct inst_t inst_t;
struct inst_t {
    inst_t *next;
    HPDF_Doc doc;
    HPDF_FontDef def[HG_PDF_MAX_FONTS];
    reader_t rd[HG_PDF_MAX_FONTS];
    HPDF_STATUS err, detail;                /* first libharu error since the instance was handed out */
};

static struct {
    int ready, nfonts;
    apr_pool_t *pool;
#if APR_HAS_THREADS
    apr_thread_mutex_t *lock;
#endif
    font_src_t font[HG_PDF_MAX_FONTS];
    unsigned char cover[65536];             /* code point -> first font with a glyph for it (0: none) */
    inst_t *idle;
    int nidle;
} g;

static char g_init_err[512];

typedef struct {                            /* decoded text: code point, font, advance (1/1000 em) */
    unsigned *cp;
    unsigned char *font;
    float *w;
    apr_size_t n, cap;
} text_t;

struct hg_pdf_t {
    apr_pool_t *p;
    inst_t *in;                             /* NULL once finished: the instance went back */
    HPDF_Doc doc;
    HPDF_Page page;                         /* newest page, NULL before hg_pdf_add_page */
    HPDF_Font font[HG_PDF_MAX_FONTS];       /* created on first use */
    unsigned char *used[HG_PDF_MAX_FONTS];  /* code points drawn with each font, a BMP bitmap */
    double w_pt, h_pt, size;
    int npages, broken, finished;
    text_t t;
    char *buf;                              /* UTF-8 of one run for HPDF_Page_ShowText */
    apr_size_t buf_cap;
    const char *err;
    unsigned long hpdf_err;
};

/* ---- errors ---- */

static const struct { unsigned long no; const char *name; } hpdf_names[] = {
    { 0x100E, "HPDF_DUPLICATE_REGISTRATION" }, { 0x1015, "HPDF_FAILD_TO_ALLOC_MEM" },
    { 0x1016, "HPDF_FILE_IO_ERROR" }, { 0x1017, "HPDF_FILE_OPEN_ERROR" },
    { 0x1025, "HPDF_INVALID_DOCUMENT" }, { 0x102D, "HPDF_INVALID_FONTDEF_DATA" },
    { 0x1033, "HPDF_INVALID_OBJECT" }, { 0x1035, "HPDF_INVALID_OPERATION" },
    { 0x1039, "HPDF_INVALID_PARAMETER" }, { 0x103C, "HPDF_INVALID_STREAM" },
    { 0x104C, "HPDF_PAGE_CANNOT_RESTORE_GSTATE" }, { 0x1050, "HPDF_PAGE_INVALID_FONT_SIZE" },
    { 0x1051, "HPDF_PAGE_INVALID_GMODE" }, { 0x1054, "HPDF_PAGE_INVALID_SIZE" },
    { 0x1056, "HPDF_PAGE_OUT_OF_RANGE" }, { 0x1057, "HPDF_REAL_OUT_OF_RANGE" },
    { 0x1058, "HPDF_STREAM_EOF" }, { 0x105C, "HPDF_THIS_FUNC_WAS_SKIPPED" },
    { 0x105D, "HPDF_TTF_CANNOT_EMBEDDING_FONT" }, { 0x105E, "HPDF_TTF_INVALID_CMAP" },
    { 0x105F, "HPDF_TTF_INVALID_FOMAT" }, { 0x1060, "HPDF_TTF_MISSING_TABLE" },
    { 0x1066, "HPDF_ZLIB_ERROR" },
};

static void hpdf_errtext(char *buf, apr_size_t n, unsigned long no, unsigned long detail)
{
    const char *name = "";
    apr_size_t i;
    for (i = 0; i < sizeof(hpdf_names) / sizeof(hpdf_names[0]); i++)
        if (hpdf_names[i].no == no) name = hpdf_names[i].name;
    snprintf(buf, n, "libharu error 0x%04lX%s%s (detail %lu)", no, *name ? " " : "", name, detail);
}

/* Records instead of jumping: libharu returns an error code (or NULL) after calling this. */
static void on_hpdf_error(HPDF_STATUS no, HPDF_STATUS detail, void *data)
{
    inst_t *in = data;
    if (!in->err) {                         /* the first error is the cause; later ones follow from it */
        in->err = no;
        in->detail = detail;
    }
}

/* The libharu error of the instance, also one raised internally without reaching the handler. */
static HPDF_STATUS inst_error(inst_t *in, HPDF_STATUS *detail)
{
    if (in->err) {
        *detail = in->detail;
        return in->err;
    }
    *detail = 0;
    return HPDF_GetError(in->doc);
}

static apr_status_t fail(hg_pdf_t *pdf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pdf->err = apr_pvsprintf(pdf->p, fmt, ap);
    va_end(ap);
    pdf->hpdf_err = 0;
    return HG_EPDF;
}

/* After a run of libharu calls: a recorded libharu error makes the document unusable. */
static apr_status_t hpdf_check(hg_pdf_t *pdf, const char *what)
{
    HPDF_STATUS no, detail;
    char buf[160];
    if (!pdf->in || !(no = inst_error(pdf->in, &detail))) return APR_SUCCESS;
    hpdf_errtext(buf, sizeof(buf), no, detail);
    pdf->err = apr_psprintf(pdf->p, "%s: %s", what, buf);
    pdf->hpdf_err = no;
    pdf->broken = 1;
    return HG_EPDF;
}

static apr_status_t usable(hg_pdf_t *pdf, const char *what, int need_page)
{
    if (!pdf) return HG_EPDF;
    if (pdf->broken) return HG_EPDF;        /* keep the text of the error that broke it */
    if (pdf->finished) return fail(pdf, "%s: the document is already finished", what);
    if (need_page && !pdf->page) return fail(pdf, "%s: no page yet (call hg_pdf_add_page first)", what);
    return APR_SUCCESS;
}

static int finite2(double a, double b) { return isfinite(a) && isfinite(b); }

/* ---- our own TrueType subset ----
 * libharu's subset keeps the source's glyph numbering, so it carries a full loca and hmtx (about
 * 350 KB for DroidSansFallbackFull) and the original cmap and post, and deflating that was most of
 * the time per document.  Ours renumbers the glyphs actually used. */

static unsigned be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }
static apr_uint32_t be32(const unsigned char *p)
{
    return (apr_uint32_t)p[0] << 24 | (apr_uint32_t)p[1] << 16 | (apr_uint32_t)p[2] << 8 | p[3];
}
static void put16(unsigned char *p, unsigned v) { p[0] = (unsigned char)(v >> 8); p[1] = (unsigned char)v; }
static void put32(unsigned char *p, apr_uint32_t v)
{
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);  p[3] = (unsigned char)v;
}

static int ttf_table(ttf_t *t, const char *tag, apr_size_t *off, apr_size_t *len)
{
    unsigned i, n = be16(t->d + 4);
    for (i = 0; i < n && 12 + 16 * (apr_size_t)(i + 1) <= t->len; i++) {
        const unsigned char *rec = t->d + 12 + 16 * i;
        if (memcmp(rec, tag, 4) == 0) {
            *off = be32(rec + 8);
            *len = be32(rec + 12);
            return *off <= t->len && *len <= t->len - *off;
        }
    }
    *off = *len = 0;
    return 0;
}

/* Locates the tables the subset needs; 0 when the file lacks them or they do not add up. */
static int ttf_open(ttf_t *t, const unsigned char *d, apr_size_t len)
{
    memset(t, 0, sizeof(*t));
    t->d = d;
    t->len = len;
    if (len < 12 || !ttf_table(t, "head", &t->head, &t->head_len) || t->head_len < 54
        || !ttf_table(t, "hhea", &t->hhea, &t->hhea_len) || t->hhea_len < 36
        || !ttf_table(t, "maxp", &t->maxp, &t->maxp_len) || t->maxp_len < 6
        || !ttf_table(t, "hmtx", &t->hmtx, &t->hmtx_len)
        || !ttf_table(t, "loca", &t->loca, &t->loca_len) || !ttf_table(t, "glyf", &t->glyf, &t->glyf_len))
        return 0;
    t->ng = be16(d + t->maxp + 4);
    t->nhm = be16(d + t->hhea + 34);
    t->long_loca = be16(d + t->head + 50) != 0;
    if (!t->ng || !t->nhm || t->nhm > t->ng
        || t->hmtx_len < 4 * (apr_size_t)t->nhm + 2 * (apr_size_t)(t->ng - t->nhm)
        || t->loca_len < (t->long_loca ? 4 : 2) * ((apr_size_t)t->ng + 1))
        return 0;
    ttf_table(t, "OS/2", &t->os2, &t->os2_len);
    ttf_table(t, "name", &t->name, &t->name_len);
    ttf_table(t, "post", &t->post, &t->post_len);
    ttf_table(t, "cvt ", &t->cvt, &t->cvt_len);
    ttf_table(t, "fpgm", &t->fpgm, &t->fpgm_len);
    ttf_table(t, "prep", &t->prep, &t->prep_len);
    return 1;
}

/* Glyph gid's outline in the file (len 0 for an empty glyph such as the space). */
static void ttf_glyph(const ttf_t *t, unsigned gid, apr_size_t *off, apr_size_t *len)
{
    apr_size_t a, b;
    const unsigned char *l = t->d + t->loca;
    if (t->long_loca) { a = be32(l + 4 * gid); b = be32(l + 4 * gid + 4); }
    else { a = 2 * (apr_size_t)be16(l + 2 * gid); b = 2 * (apr_size_t)be16(l + 2 * gid + 2); }
    if (b <= a || b > t->glyf_len) { *off = *len = 0; return; }
    *off = t->glyf + a;
    *len = b - a;
}

/* Calls fn for each component id of a composite glyph, at its position in g (len bytes). */
static void ttf_components(const unsigned char *g, apr_size_t len,
                           void (*fn)(unsigned char *at, unsigned gid, void *ctx), void *ctx)
{
    apr_size_t p = 10;                      /* after numberOfContours = -1 and the bounding box */
    unsigned flags;
    if (len < 10 || be16(g) != 0xFFFF) return;
    do {
        if (p + 4 > len) return;
        flags = be16(g + p);
        fn((unsigned char *)g + p + 2, be16(g + p + 2), ctx);
        p += 4 + ((flags & 0x0001) ? 4 : 2);
        if (flags & 0x0008) p += 2;
        else if (flags & 0x0040) p += 4;
        else if (flags & 0x0080) p += 8;
    } while (flags & 0x0020);
}

typedef struct { unsigned char *bm; unsigned ng; int changed; } closure_t;

static void mark_part(unsigned char *at, unsigned gid, void *ctx)
{
    closure_t *c = ctx;
    if (gid < c->ng && !BIT_GET(c->bm, gid)) {
        BIT_SET(c->bm, gid);
        c->changed = 1;
    }
}

/* The glyphs of the characters drawn with font f, with the parts of composite glyphs, sorted;
 * glyph 0 (.notdef) first. */
static apr_status_t glyph_set(hg_pdf_t *pdf, int f, const unsigned *cps, unsigned ncps,
                              unsigned **gids, unsigned *n)
{
    const ttf_t *t = &g.font[f].ttf;
    HPDF_FontDef def = pdf->in->def[f];
    closure_t c;
    unsigned i, gid, k = 0, pass;
    apr_size_t off, len;

    c.ng = t->ng;
    c.bm = apr_pcalloc(pdf->p, t->ng / 8 + 1);
    BIT_SET(c.bm, 0);
    for (i = 0; i < ncps; i++)
        if ((gid = HPDF_TTFontDef_GetGlyphid(def, (HPDF_UINT16)cps[i])) < t->ng) BIT_SET(c.bm, gid);
    for (c.changed = 1, pass = 0; c.changed && pass < 8; pass++) {   /* parts may be composite */
        c.changed = 0;
        for (gid = 0; gid < t->ng; gid++)
            if (BIT_GET(c.bm, gid)) {
                ttf_glyph(t, gid, &off, &len);
                ttf_components(t->d + off, len, mark_part, &c);
            }
    }
    for (gid = 0; gid < t->ng; gid++) if (BIT_GET(c.bm, gid)) k++;
    *gids = apr_palloc(pdf->p, k * sizeof(**gids));
    for (gid = 0, k = 0; gid < t->ng; gid++) if (BIT_GET(c.bm, gid)) (*gids)[k++] = gid;
    *n = k;
    return APR_SUCCESS;
}

/* The new number of old glyph gid (0 when it is not in the set). */
static unsigned new_gid(const unsigned *gids, unsigned n, unsigned gid)
{
    unsigned lo = 0, hi = n;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (gids[mid] < gid) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && gids[lo] == gid ? lo : 0;
}

typedef struct { const unsigned *gids; unsigned n; } renum_t;

static void renumber_part(unsigned char *at, unsigned gid, void *ctx)
{
    const renum_t *r = ctx;
    put16(at, new_gid(r->gids, r->n, gid));
}

typedef struct { const char *tag; unsigned char *data; apr_size_t len; } out_table_t;

static apr_uint32_t ttf_checksum(const unsigned char *p, apr_size_t len)
{
    apr_uint32_t sum = 0;
    apr_size_t i;
    for (i = 0; i + 4 <= len; i += 4) sum += be32(p + i);
    if (i < len) {
        unsigned char last[4] = { 0, 0, 0, 0 };
        memcpy(last, p + i, len - i);
        sum += be32(last);
    }
    return sum;
}

/* A TrueType font program with the glyphs gids[0..n-1] renumbered 0..n-1: glyf and loca (long
 * offsets) and hmtx for them, head/hhea/maxp adjusted, OS/2, name and the hinting tables copied,
 * post without glyph names, and a cmap that maps nothing (the PDF's CIDToGIDMap does). */
static apr_status_t ttf_subset(apr_pool_t *p, const ttf_t *t, const unsigned *gids, unsigned n,
                               unsigned char **out, apr_size_t *out_len)
{
    static const unsigned char cmap[36] = {
        0, 0, 0, 1,  0, 3, 0, 1, 0, 0, 0, 12,               /* one subtable: (3,1) at 12 */
        0, 4, 0, 24, 0, 0, 0, 2, 0, 2, 0, 0, 0, 0,          /* format 4, one segment */
        0xFF, 0xFF, 0, 0, 0xFF, 0xFF, 0, 1, 0, 0,           /* 0xFFFF -> glyph 0 */
    };
    out_table_t tab[13];
    unsigned char *glyf, *loca, *hmtx, *head, *hhea, *maxp, *post, *o;
    apr_size_t glyf_len = 0, off, len, total, pos, head_at = 0;
    apr_uint32_t sum;
    renum_t r = { gids, n };
    unsigned i, nt = 0, es;

    for (i = 0; i < n; i++) {
        ttf_glyph(t, gids[i], &off, &len);
        glyf_len += (len + 3) & ~(apr_size_t)3;
    }
    glyf = apr_pcalloc(p, glyf_len ? glyf_len : 1);
    loca = apr_palloc(p, 4 * ((apr_size_t)n + 1));
    hmtx = apr_palloc(p, 4 * (apr_size_t)n);
    for (i = 0, pos = 0; i < n; i++) {
        unsigned gid = gids[i];
        const unsigned char *hm = t->d + t->hmtx;
        put32(loca + 4 * i, (apr_uint32_t)pos);
        ttf_glyph(t, gid, &off, &len);
        if (len) {
            memcpy(glyf + pos, t->d + off, len);
            ttf_components(glyf + pos, len, renumber_part, &r);
            pos += (len + 3) & ~(apr_size_t)3;
        }
        if (gid < t->nhm) memcpy(hmtx + 4 * i, hm + 4 * gid, 4);
        else {                              /* past numberOfHMetrics: last advance, own lsb */
            memcpy(hmtx + 4 * i, hm + 4 * (t->nhm - 1), 2);
            memcpy(hmtx + 4 * i + 2, hm + 4 * t->nhm + 2 * (gid - t->nhm), 2);
        }
    }
    put32(loca + 4 * n, (apr_uint32_t)pos);
    head = apr_pmemdup(p, t->d + t->head, 54);
    put32(head + 8, 0);                     /* checkSumAdjustment, set at the end */
    put16(head + 50, 1);                    /* long loca */
    hhea = apr_pmemdup(p, t->d + t->hhea, 36);
    put16(hhea + 34, n);
    maxp = apr_pmemdup(p, t->d + t->maxp, t->maxp_len > 32 ? 32 : t->maxp_len);
    put16(maxp + 4, n);
    post = apr_pcalloc(p, 32);
    if (t->post_len >= 16) memcpy(post, t->d + t->post, 16);   /* angle, underline, fixed pitch */
    put32(post, 0x00030000);                /* version 3: no glyph names */

    /* in tag order, as the table directory must be */
#define ADD(tg, dt, ln) do { tab[nt].tag = (tg); tab[nt].data = (unsigned char *)(dt); tab[nt].len = (ln); nt++; } while (0)
    if (t->os2_len) ADD("OS/2", t->d + t->os2, t->os2_len);
    ADD("cmap", cmap, sizeof(cmap));
    if (t->cvt_len) ADD("cvt ", t->d + t->cvt, t->cvt_len);
    if (t->fpgm_len) ADD("fpgm", t->d + t->fpgm, t->fpgm_len);
    ADD("glyf", glyf, pos);
    head_at = nt;
    ADD("head", head, 54);
    ADD("hhea", hhea, 36);
    ADD("hmtx", hmtx, 4 * (apr_size_t)n);
    ADD("loca", loca, 4 * ((apr_size_t)n + 1));
    ADD("maxp", maxp, t->maxp_len > 32 ? 32 : t->maxp_len);
    if (t->name_len) ADD("name", t->d + t->name, t->name_len);
    ADD("post", post, 32);
    if (t->prep_len) ADD("prep", t->d + t->prep, t->prep_len);
#undef ADD

    total = 12 + 16 * (apr_size_t)nt;
    for (i = 0; i < nt; i++) total += (tab[i].len + 3) & ~(apr_size_t)3;
    o = apr_pcalloc(p, total);
    for (es = 0; (2u << es) <= nt; es++) ;
    put32(o, 0x00010000);
    put16(o + 4, nt);
    put16(o + 6, 16u << es);                /* searchRange */
    put16(o + 8, es);                       /* entrySelector */
    put16(o + 10, nt * 16 - (16u << es));   /* rangeShift */
    for (i = 0, pos = 12 + 16 * (apr_size_t)nt; i < nt; i++) {
        unsigned char *rec = o + 12 + 16 * i;
        memcpy(rec, tab[i].tag, 4);
        memcpy(o + pos, tab[i].data, tab[i].len);
        put32(rec + 4, ttf_checksum(o + pos, tab[i].len));
        put32(rec + 8, (apr_uint32_t)pos);
        put32(rec + 12, (apr_uint32_t)tab[i].len);
        if (i == head_at) head = o + pos;
        pos += (tab[i].len + 3) & ~(apr_size_t)3;
    }
    sum = ttf_checksum(o, total);
    put32(head + 8, 0xB1B0AFBAu - sum);
    *out = o;
    *out_len = total;
    return APR_SUCCESS;
}

/* ---- fonts in memory ---- */

static HPDF_STATUS rd_read(HPDF_Stream s, HPDF_BYTE *buf, HPDF_UINT *size)
{
    reader_t *r = s->attr;
    apr_size_t left = r->src->len - r->pos, want = *size;
    if (want > left) {                      /* as libharu's file reader: short read, zero-filled */
        memcpy(buf, r->src->data + r->pos, left);
        memset(buf + left, 0, want - left);
        r->pos = r->src->len;
        *size = (HPDF_UINT)left;
        return HPDF_STREAM_EOF;
    }
    memcpy(buf, r->src->data + r->pos, want);
    r->pos += want;
    return HPDF_OK;
}

static HPDF_STATUS rd_seek(HPDF_Stream s, HPDF_INT pos, HPDF_WhenceMode mode)
{
    reader_t *r = s->attr;
    long long base = mode == HPDF_SEEK_CUR ? (long long)r->pos
                   : mode == HPDF_SEEK_END ? (long long)r->src->len : 0;
    long long np = base + pos;
    if (np < 0 || np > (long long)r->src->len) return HPDF_SetError(s->error, HPDF_FILE_IO_ERROR, 0);
    r->pos = (apr_size_t)np;
    return HPDF_OK;
}

static HPDF_INT32 rd_tell(HPDF_Stream s) { return (HPDF_INT32)((reader_t *)s->attr)->pos; }
static HPDF_UINT32 rd_size(HPDF_Stream s) { return (HPDF_UINT32)((reader_t *)s->attr)->src->len; }

static void inst_destroy(inst_t *in)
{
    if (!in) return;
    if (in->doc) HPDF_Free(in->doc);        /* frees the font definitions and their streams */
    free(in);
}

/* A new instance: an HPDF_Doc with UTF-8 encoders and every font parsed from memory.
 * Instances outlive request pools and move between threads, hence malloc. */
static apr_status_t inst_new(inst_t **out, char *msg, apr_size_t msglen)
{
    inst_t *in = calloc(1, sizeof(*in));
    HPDF_STATUS no, detail;
    char tag[] = "HPDFAA", buf[160];
    int i;

    *out = NULL;
    if (!in) return APR_ENOMEM;
    if (!(in->doc = HPDF_New(on_hpdf_error, in))) {
        free(in);
        return APR_ENOMEM;
    }
    if (HPDF_UseUTFEncodings(in->doc) != HPDF_OK) {
        snprintf(msg, msglen, "libharu: UTF encodings unavailable");
        goto fail;
    }
    for (i = 0; i < g.nfonts; i++) {
        HPDF_MMgr mmgr = in->doc->mmgr;
        HPDF_Stream s;
        HPDF_FontDef def;
        in->rd[i].src = &g.font[i];
        in->rd[i].pos = 0;
        s = HPDF_CallbackReader_New(mmgr, rd_read, rd_seek, rd_tell, rd_size, &in->rd[i]);
        def = s ? HPDF_TTFontDef_Load(mmgr, s, HPDF_TRUE) : NULL;  /* frees s on failure */
        if (!def || (no = inst_error(in, &detail))) {
            no = inst_error(in, &detail);
            hpdf_errtext(buf, sizeof(buf), no, detail);
            snprintf(msg, msglen, "%s: libharu cannot use this TrueType font: %s", g.font[i].path,
                     no ? buf : "no font definition");
            goto fail;
        }
        if (HPDF_Doc_RegisterFontDef(in->doc, def) != HPDF_OK) {   /* frees def on failure */
            no = inst_error(in, &detail);
            hpdf_errtext(buf, sizeof(buf), no, detail);
            snprintf(msg, msglen, "%s: %s (the same font twice in the list?)", g.font[i].path, buf);
            goto fail;
        }
        /* distinct subset tags per font, as LoadTTFontFromFile would give them */
        tag[5] = (char)('A' + i);
        HPDF_TTFontDef_SetTagName(def, tag);
        in->def[i] = def;
    }
    *out = in;
    return APR_SUCCESS;
fail:
    inst_destroy(in);
    return HG_EPDF;
}

static apr_status_t inst_get(inst_t **out, char *msg, apr_size_t msglen)
{
    inst_t *in;
#if APR_HAS_THREADS
    apr_thread_mutex_lock(g.lock);
#endif
    if ((in = g.idle)) {
        g.idle = in->next;
        g.nidle--;
    }
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(g.lock);
#endif
    if (in) {
        in->next = NULL;
        *out = in;
        return APR_SUCCESS;
    }
    return inst_new(out, msg, msglen);      /* parse outside the lock */
}

/* Back to the free list, unless libharu failed in it (its state is then unknown) or the list is full. */
static void inst_put(inst_t *in)
{
    HPDF_STATUS detail;
    if (g.ready && !inst_error(in, &detail)) {
        HPDF_FreeDoc(in->doc);              /* frees this document's objects; font definitions stay */
        if (!inst_error(in, &detail)) {
#if APR_HAS_THREADS
            apr_thread_mutex_lock(g.lock);
#endif
            if (g.nidle < IDLE_MAX) {
                in->next = g.idle;
                g.idle = in;
                g.nidle++;
                in = NULL;
            }
#if APR_HAS_THREADS
            apr_thread_mutex_unlock(g.lock);
#endif
        }
    }
    inst_destroy(in);
}

static apr_status_t global_cleanup(void *data)
{
    inst_t *in, *next;
    for (in = g.idle; in; in = next) {
        next = in->next;
        inst_destroy(in);
    }
    memset(&g, 0, sizeof(g));
    return APR_SUCCESS;
}

static apr_status_t read_font(font_src_t *f, apr_pool_t *p, const char *path)
{
    apr_file_t *fd;
    apr_finfo_t fi;
    apr_size_t n;
    apr_status_t rv;
    unsigned char *data;
    char ebuf[120];

    if ((rv = apr_file_open(&fd, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p)) != APR_SUCCESS) {
        snprintf(g_init_err, sizeof(g_init_err), "%s: cannot open: %s", path,
                 apr_strerror(rv, ebuf, sizeof(ebuf)));
        return rv;
    }
    if ((rv = apr_file_info_get(&fi, APR_FINFO_SIZE, fd)) != APR_SUCCESS) goto leave;
    if (fi.size < 12 || (apr_uint64_t)fi.size > FONT_MAX_BYTES) {
        snprintf(g_init_err, sizeof(g_init_err), "%s: %ld bytes is not a plausible font size", path,
                 (long)fi.size);
        rv = HG_EPDF;
        goto leave;
    }
    n = (apr_size_t)fi.size;
    data = apr_palloc(p, n);
    if ((rv = apr_file_read_full(fd, data, n, &n)) != APR_SUCCESS) goto leave;
    if (memcmp(data, "OTTO", 4) == 0) {
        snprintf(g_init_err, sizeof(g_init_err), "%s: CFF (OpenType/PostScript) outlines; libharu "
                 "needs a TrueType font with glyf outlines", path);
        rv = HG_EPDF;
    }
    else if (memcmp(data, "ttcf", 4) == 0) {
        snprintf(g_init_err, sizeof(g_init_err), "%s: a font collection (.ttc); give a single .ttf", path);
        rv = HG_EPDF;
    }
    else if ((memcmp(data, "\0\1\0\0", 4) != 0 && memcmp(data, "true", 4) != 0)
             || !ttf_open(&f->ttf, data, n)) {
        snprintf(g_init_err, sizeof(g_init_err), "%s: not a TrueType font (or its tables do not add up)", path);
        rv = HG_EPDF;
    }
    f->data = data;
    f->len = n;
    f->path = path;
leave:
    if (rv != APR_SUCCESS && !g_init_err[0])
        snprintf(g_init_err, sizeof(g_init_err), "%s: cannot read: %s", path,
                 apr_strerror(rv, ebuf, sizeof(ebuf)));
    apr_file_close(fd);
    return rv;
}

/* Which font draws each code point, and whether the set can print a bill at all. */
static apr_status_t build_cover(const inst_t *in)
{
    static const char need[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    static const unsigned need_cjk[] = { 0x4E2D, 0x6587, 0x7968, 0x636E };   /* 中文票据 */
    unsigned char has[65536 / 8];
    unsigned cp;
    int i;
    apr_size_t k;

    memset(g.cover, 0, sizeof(g.cover));
    memset(has, 0, sizeof(has));
    for (i = g.nfonts - 1; i >= 0; i--) {   /* backwards, so the first font that has it wins */
        for (cp = 0x20; cp < 0x10000; cp++) {
            HPDF_UINT16 gid;
            if (cp >= 0xD800 && cp <= 0xDFFF) continue;
            gid = HPDF_TTFontDef_GetGlyphid(in->def[i], (HPDF_UINT16)cp);
            if (gid && gid < ((HPDF_TTFontDefAttr)in->def[i]->attr)->num_glyphs) {
                g.cover[cp] = (unsigned char)i;
                BIT_SET(has, cp);
            }
        }
        g.font[i].has_space = HPDF_TTFontDef_GetGlyphid(in->def[i], ' ') != 0;
    }
    for (k = 0; k < sizeof(need) - 1; k++)
        if (!BIT_GET(has, (unsigned char)need[k])) {
            snprintf(g_init_err, sizeof(g_init_err), "no font in the list has a glyph for '%c' (the "
                     "CJK fallback fonts lack ASCII: add a Latin font such as "
                     "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf after a ':')", need[k]);
            return HG_EPDF;
        }
    for (k = 0; k < sizeof(need_cjk) / sizeof(need_cjk[0]); k++)
        if (!BIT_GET(has, need_cjk[k])) {
            snprintf(g_init_err, sizeof(g_init_err), "no font in the list has a glyph for U+%04X "
                     "(add a CJK TrueType font such as DroidSansFallbackFull.ttf)", need_cjk[k]);
            return HG_EPDF;
        }
    return APR_SUCCESS;
}

apr_status_t hg_pdf_global_init(const char *ttf_path)
{
    apr_pool_t *p = NULL;
    inst_t *in = NULL;
    apr_status_t rv;
    char *list, *tok, *last;
    int n = 0;

    if (g.ready) return APR_SUCCESS;
    g_init_err[0] = '\0';
    if (!ttf_path || !*ttf_path) {
        snprintf(g_init_err, sizeof(g_init_err), "no font path given");
        return HG_EPDF;
    }
    if ((rv = apr_pool_create(&p, NULL)) != APR_SUCCESS) return rv;
    list = apr_pstrdup(p, ttf_path);
    for (tok = apr_strtok(list, ":", &last); tok; tok = apr_strtok(NULL, ":", &last)) {
        if (n == HG_PDF_MAX_FONTS) {
            snprintf(g_init_err, sizeof(g_init_err), "more than %d fonts in the list", HG_PDF_MAX_FONTS);
            rv = HG_EPDF;
            goto leave;
        }
        if ((rv = read_font(&g.font[n], p, tok)) != APR_SUCCESS) goto leave;
        g.nfonts = ++n;
    }
    if (!n) {
        snprintf(g_init_err, sizeof(g_init_err), "no font path given");
        rv = HG_EPDF;
        goto leave;
    }
#if APR_HAS_THREADS
    if ((rv = apr_thread_mutex_create(&g.lock, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS) goto leave;
#endif
    /* the first instance checks the fonts now rather than at the first bill */
    if ((rv = inst_new(&in, g_init_err, sizeof(g_init_err))) != APR_SUCCESS) goto leave;
    if ((rv = build_cover(in)) != APR_SUCCESS) goto leave;
    g.pool = p;
    g.idle = in;
    g.nidle = 1;
    g.ready = 1;
    apr_pool_cleanup_register(p, NULL, global_cleanup, apr_pool_cleanup_null);
    return APR_SUCCESS;
leave:
    inst_destroy(in);
    memset(&g, 0, sizeof(g));
    apr_pool_destroy(p);
    if (!g_init_err[0]) snprintf(g_init_err, sizeof(g_init_err), "initialisation failed");
    return rv;
}

const char *hg_pdf_init_error(void) { return g_init_err; }

/* ---- documents ---- */

static apr_status_t pdf_cleanup(void *data)
{
    hg_pdf_t *pdf = data;
    if (pdf->in) {
        inst_put(pdf->in);
        pdf->in = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t hg_pdf_create(hg_pdf_t **out, apr_pool_t *p, double width_mm, double height_mm)
{
    hg_pdf_t *pdf;
    inst_t *in;
    apr_status_t rv;
    char msg[256];

    if (!out) return HG_EPDF;
    *out = NULL;
    if (!p || !g.ready) return HG_EPDF;
    if (!(width_mm >= 10 && width_mm <= 5000 && height_mm >= 10 && height_mm <= 5000)) return HG_EPDF;
    msg[0] = '\0';
    if ((rv = inst_get(&in, msg, sizeof(msg))) != APR_SUCCESS) return HG_EPDF;
    pdf = apr_pcalloc(p, sizeof(*pdf));
    pdf->p = p;
    pdf->in = in;
    pdf->doc = in->doc;
    pdf->w_pt = width_mm * PT_PER_MM;
    pdf->h_pt = height_mm * PT_PER_MM;
    pdf->size = DEFAULT_SIZE;
    apr_pool_cleanup_register(p, pdf, pdf_cleanup, apr_pool_cleanup_null);
    in->err = in->detail = 0;
    HPDF_NewDoc(pdf->doc);                  /* a fresh instance already has one; this is cheap */
    HPDF_SetCurrentEncoder(pdf->doc, "UTF-8");
    HPDF_SetCompressionMode(pdf->doc, HPDF_COMP_ALL);
    if ((rv = hpdf_check(pdf, "hg_pdf_create")) != APR_SUCCESS) return rv;
    *out = pdf;
    return APR_SUCCESS;
}

apr_status_t hg_pdf_add_page(hg_pdf_t *pdf)
{
    apr_status_t rv;
    HPDF_Page page;
    if ((rv = usable(pdf, "hg_pdf_add_page", 0)) != APR_SUCCESS) return rv;
    if ((page = HPDF_AddPage(pdf->doc))) {
        HPDF_Page_SetWidth(page, (HPDF_REAL)pdf->w_pt);
        HPDF_Page_SetHeight(page, (HPDF_REAL)pdf->h_pt);
    }
    if ((rv = hpdf_check(pdf, "hg_pdf_add_page")) != APR_SUCCESS) return rv;
    if (!page) return fail(pdf, "hg_pdf_add_page: libharu returned no page");
    pdf->page = page;
    pdf->npages++;
    return APR_SUCCESS;
}

apr_status_t hg_pdf_set_font_size(hg_pdf_t *pdf, double pt)
{
    apr_status_t rv;
    if ((rv = usable(pdf, "hg_pdf_set_font_size", 0)) != APR_SUCCESS) return rv;
    if (!(pt > 0) || !isfinite(pt)) return fail(pdf, "hg_pdf_set_font_size: %g is not a font size", pt);
    pdf->size = pt;
    return APR_SUCCESS;
}

/* ---- text ---- */

static void grow_text(hg_pdf_t *pdf, apr_size_t n)
{
    text_t *t = &pdf->t;
    apr_size_t cap;
    if (n <= t->cap) return;
    cap = n > 2 * t->cap ? n : 2 * t->cap;
    if (cap < 256) cap = 256;
    t->cp = apr_palloc(pdf->p, cap * sizeof(*t->cp));
    t->font = apr_palloc(pdf->p, cap * sizeof(*t->font));
    t->w = apr_palloc(pdf->p, cap * sizeof(*t->w));
    t->cap = cap;
}

/* Decodes one code point.  Invalid or overlong sequences, surrogates and everything beyond the
 * BMP come back as U+FFFD: libharu's UTF-8 encoder can only carry UCS-2. */
static apr_size_t next_cp(const unsigned char *s, apr_size_t n, unsigned *cp)
{
    unsigned c = s[0];
    *cp = 0xFFFD;
    if (c < 0x80) { *cp = c; return 1; }
    if (c < 0xC2) return 1;
    if (c < 0xE0) {
        if (n < 2 || (s[1] & 0xC0) != 0x80) return 1;
        *cp = ((c & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if (c < 0xF0) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 1;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0)) return 1;
        *cp = ((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return 3;
    }
    if (c < 0xF5 && n >= 4 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80)
        return 4;                           /* valid but beyond the BMP */
    return 1;
}

/* utf8 -> pdf->t with the font and advance of each character.  Controls become spaces ('\n' is
 * kept when keep_nl).  A space stays in the font of the character before it, so a Latin phrase is
 * not split into runs of two fonts at every blank. */
static apr_status_t shape(hg_pdf_t *pdf, const char *utf8, int keep_nl)
{
    const unsigned char *s = (const unsigned char *)utf8;
    apr_size_t len = strlen(utf8), i = 0, n = 0;
    text_t *t = &pdf->t;
    int cur = -1;

    grow_text(pdf, len + 1);
    while (i < len) {
        unsigned cp;
        int f;
        i += next_cp(s + i, len - i, &cp);
        if (cp == '\n' && keep_nl) f = 0;
        else {
            if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) cp = ' ';
            f = (cp == ' ' && cur >= 0 && g.font[cur].has_space) ? cur : g.cover[cp];
        }
        t->cp[n] = cp;
        t->font[n] = (unsigned char)f;
        t->w[n] = cp == '\n' ? 0.0f
                : (float)HPDF_TTFontDef_GetCharWidth(pdf->in->def[f], (HPDF_UINT16)cp);
        cur = cp == '\n' ? -1 : f;
        n++;
    }
    t->n = n;
    return hpdf_check(pdf, "text");
}

static double width_em(const text_t *t, apr_size_t from, apr_size_t to)
{
    double w = 0;
    for (; from < to; from++) w += t->w[from];
    return w / 1000.0;
}

/* The font object for font f, made on first use.  While libharu builds it, the font definition
 * gets an empty cmap: HPDF_GetFont would otherwise fill CIDToGIDMap and W for all 65,536 code
 * points (see the top of the file); finish_font writes them for the characters drawn. */
static apr_status_t font_obj(hg_pdf_t *pdf, int f, HPDF_Font *out)
{
    if (!pdf->font[f]) {
        HPDF_FontDef def = pdf->in->def[f];
        HPDF_TTFontDefAttr ta = def->attr;
        HPDF_TTF_CmapRange real = ta->cmap;
        HPDF_UINT16 end = 0xFFFF, start = 0xFFFF, range_off = 0;
        HPDF_INT16 delta = 1;               /* 0xFFFF + 1 = glyph 0 */
        HPDF_Font font;
        apr_status_t rv;

        ta->cmap.format = 4;
        ta->cmap.seg_count_x2 = 2;
        ta->cmap.end_count = &end;
        ta->cmap.start_count = &start;
        ta->cmap.id_delta = &delta;
        ta->cmap.id_range_offset = &range_off;
        font = HPDF_GetFont(pdf->doc, def->base_font, "UTF-8");
        ta->cmap = real;                    /* before anything else can look glyphs up */
        if ((rv = hpdf_check(pdf, "font")) != APR_SUCCESS) return rv;
        if (!font) return fail(pdf, "font: libharu returned no font object");
        pdf->font[f] = font;
        pdf->used[f] = apr_pcalloc(pdf->p, 65536 / 8);
    }
    *out = pdf->font[f];
    return APR_SUCCESS;
}

static char *run_utf8(hg_pdf_t *pdf, const unsigned *cp, apr_size_t n)
{
    apr_size_t i, o = 0;
    if (3 * n + 1 > pdf->buf_cap) {
        pdf->buf_cap = 3 * n + 1 > 256 ? 3 * n + 1 : 256;
        pdf->buf = apr_palloc(pdf->p, pdf->buf_cap);
    }
    for (i = 0; i < n; i++) {
        unsigned c = cp[i];
        if (c < 0x80) pdf->buf[o++] = (char)c;
        else if (c < 0x800) {
            pdf->buf[o++] = (char)(0xC0 | (c >> 6));
            pdf->buf[o++] = (char)(0x80 | (c & 0x3F));
        }
        else {
            pdf->buf[o++] = (char)(0xE0 | (c >> 12));
            pdf->buf[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
            pdf->buf[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    pdf->buf[o] = '\0';
    return pdf->buf;
}

/* pdf->t[from, to) as one line with its baseline at (x_pt, y_pt) in PDF coordinates. */
static apr_status_t draw_line(hg_pdf_t *pdf, apr_size_t from, apr_size_t to, double x_pt, double y_pt,
                              double size, const char *what)
{
    const text_t *t = &pdf->t;
    apr_size_t i, j;
    apr_status_t rv = APR_SUCCESS;

    while (to > from && t->cp[to - 1] == ' ') to--;
    if (to <= from) return APR_SUCCESS;
    HPDF_Page_BeginText(pdf->page);
    HPDF_Page_MoveTextPos(pdf->page, (HPDF_REAL)x_pt, (HPDF_REAL)y_pt);
    for (i = from; i < to && rv == APR_SUCCESS; i = j) {
        int f = t->font[i];
        HPDF_Font font = NULL;
        if ((rv = font_obj(pdf, f, &font)) != APR_SUCCESS) break;
        for (j = i; j < to && t->font[j] == f; j++) BIT_SET(pdf->used[f], t->cp[j]);
        HPDF_Page_SetFontAndSize(pdf->page, font, (HPDF_REAL)size);
        HPDF_Page_ShowText(pdf->page, run_utf8(pdf, t->cp + i, j - i));
    }
    HPDF_Page_EndText(pdf->page);
    if (rv != APR_SUCCESS) return rv;
    return hpdf_check(pdf, what);
}

static double baseline_pt(const hg_pdf_t *pdf, double y_mm, double size)
{
    return pdf->h_pt - y_mm * PT_PER_MM - ASCENT * size;
}

static apr_status_t text_line(hg_pdf_t *pdf, const char *what, double x, double y, double width,
                              int align, const char *utf8)
{
    apr_status_t rv;
    double x_pt, w_pt;
    if ((rv = usable(pdf, what, 1)) != APR_SUCCESS) return rv;
    if (!utf8) return fail(pdf, "%s: no text", what);
    if (!finite2(x, y) || !isfinite(width)) return fail(pdf, "%s: position is not a number", what);
    if (align != HG_PDF_LEFT && align != HG_PDF_CENTER && align != HG_PDF_RIGHT)
        return fail(pdf, "%s: unknown alignment %d", what, align);
    if ((rv = shape(pdf, utf8, 0)) != APR_SUCCESS) return rv;
    w_pt = width_em(&pdf->t, 0, pdf->t.n) * pdf->size;
    x_pt = x * PT_PER_MM;
    if (align == HG_PDF_CENTER) x_pt += (width * PT_PER_MM - w_pt) / 2;
    else if (align == HG_PDF_RIGHT) x_pt += width * PT_PER_MM - w_pt;
    return draw_line(pdf, 0, pdf->t.n, x_pt, baseline_pt(pdf, y, pdf->size), pdf->size, what);
}

apr_status_t hg_pdf_text(hg_pdf_t *pdf, double x, double y, const char *utf8)
{
    return text_line(pdf, "hg_pdf_text", x, y, 0, HG_PDF_LEFT, utf8);
}

apr_status_t hg_pdf_text_aligned(hg_pdf_t *pdf, double x, double y, double width, int align,
                                 const char *utf8)
{
    return text_line(pdf, "hg_pdf_text_aligned", x, y, width, align, utf8);
}

double hg_pdf_text_width(hg_pdf_t *pdf, const char *utf8)
{
    if (!utf8 || usable(pdf, "hg_pdf_text_width", 0) != APR_SUCCESS) return 0;
    if (shape(pdf, utf8, 0) != APR_SUCCESS) return 0;
    return width_em(&pdf->t, 0, pdf->t.n) * pdf->size / PT_PER_MM;
}

/* CJK ideographs, kana, hangul, CJK punctuation and full-width forms: a line may break beside them. */
static int is_wide(unsigned c)
{
    return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF) || (c >= 0xAC00 && c <= 0xD7A3)
        || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60)
        || (c >= 0xFFE0 && c <= 0xFFE6);
}

/* Never at the start of a line (避头). */
static int is_closing(unsigned c)
{
    static const unsigned set[] = {
        0xFF0C, 0x3002, 0x3001, 0xFF1B, 0xFF1A, 0xFF1F, 0xFF01, 0xFF09, 0x300B, 0x300D, 0x300F,
        0x3011, 0x3015, 0x3009, 0x3017, 0x2019, 0x201D, 0x2026, 0xFF05, 0x00B7, 0x30FB, 0xFF0E,
        0xFF3D, 0xFF5D, ',', '.', ';', ':', '?', '!', ')', ']', '}', '%',
    };
    apr_size_t i;
    for (i = 0; i < sizeof(set) / sizeof(set[0]); i++) if (set[i] == c) return 1;
    return 0;
}

/* Never at the end of a line (避尾). */
static int is_opening(unsigned c)
{
    static const unsigned set[] = {
        0xFF08, 0x300A, 0x300C, 0x300E, 0x3010, 0x3014, 0x3008, 0x3016, 0x2018, 0x201C, 0xFF3B,
        0xFF5B, '(', '[', '{',
    };
    apr_size_t i;
    for (i = 0; i < sizeof(set) / sizeof(set[0]); i++) if (set[i] == c) return 1;
    return 0;
}

/* May a line end between cp[k-1] and cp[k]? */
static int can_break(const unsigned *cp, apr_size_t k)
{
    unsigned a = cp[k - 1], b = cp[k];
    if (is_closing(b) || is_opening(a) || b == ' ') return 0;
    if (a == ' ') return 1;                 /* Latin: between words */
    return is_wide(a) || is_wide(b);        /* CJK: between any two characters */
}

apr_status_t hg_pdf_text_wrap(hg_pdf_t *pdf, double x, double y, double width, double line_height,
                              const char *utf8, double *next_y)
{
    const char *what = "hg_pdf_text_wrap";
    apr_status_t rv;
    apr_size_t a, b, ls, k, end, bp, n;
    double max_em, lw, x_pt;
    int lines = 0;
    const text_t *t = &pdf->t;

    if (next_y) *next_y = y;
    if ((rv = usable(pdf, what, 1)) != APR_SUCCESS) return rv;
    if (!utf8) return fail(pdf, "%s: no text", what);
    if (!finite2(x, y) || !(width > 0) || !(line_height > 0) || !isfinite(width) || !isfinite(line_height))
        return fail(pdf, "%s: bad position, width or line height", what);
    if ((rv = shape(pdf, utf8, 1)) != APR_SUCCESS) return rv;
    max_em = width * PT_PER_MM / pdf->size;
    x_pt = x * PT_PER_MM;
    n = t->n;
    for (a = 0; a <= n && n; a = b + 1) {   /* paragraphs, split at '\n' */
        for (b = a; b < n && t->cp[b] != '\n'; b++) ;
        ls = a;
        do {
            if (ls > a) while (ls < b && t->cp[ls] == ' ') ls++;   /* a wrapped line starts at a word */
            end = b;
            bp = 0;
            lw = 0;
            for (k = ls; k < b; k++) {
                if (k > ls && can_break(t->cp, k)) bp = k;
                lw += t->w[k] / 1000.0;
                if (lw > max_em + 1e-6 && k > ls && t->cp[k] != ' ') {   /* exactly full fits */
                    /* closing punctuation may hang past the margin rather than start the next line */
                    if (is_closing(t->cp[k]) && !is_closing(t->cp[k - 1])) continue;
                    end = bp > ls ? bp : k;   /* no break opportunity: cut the word */
                    break;
                }
            }
            rv = draw_line(pdf, ls, end, x_pt, baseline_pt(pdf, y + lines * line_height, pdf->size),
                           pdf->size, what);
            if (rv != APR_SUCCESS) return rv;
            lines++;
            ls = end;
        } while (ls < b);
        if (b == n) break;
    }
    if (next_y) *next_y = y + lines * line_height;
    return APR_SUCCESS;
}

/* ---- graphics ---- */

apr_status_t hg_pdf_line(hg_pdf_t *pdf, double x1, double y1, double x2, double y2, double width_pt)
{
    apr_status_t rv;
    HPDF_Page pg;
    if ((rv = usable(pdf, "hg_pdf_line", 1)) != APR_SUCCESS) return rv;
    if (!finite2(x1, y1) || !finite2(x2, y2) || !(width_pt > 0) || !isfinite(width_pt))
        return fail(pdf, "hg_pdf_line: bad coordinates or width");
    pg = pdf->page;
    HPDF_Page_GSave(pg);
    HPDF_Page_SetLineWidth(pg, (HPDF_REAL)width_pt);
    HPDF_Page_SetGrayStroke(pg, 0);
    HPDF_Page_MoveTo(pg, (HPDF_REAL)(x1 * PT_PER_MM), (HPDF_REAL)(pdf->h_pt - y1 * PT_PER_MM));
    HPDF_Page_LineTo(pg, (HPDF_REAL)(x2 * PT_PER_MM), (HPDF_REAL)(pdf->h_pt - y2 * PT_PER_MM));
    HPDF_Page_Stroke(pg);
    HPDF_Page_GRestore(pg);
    return hpdf_check(pdf, "hg_pdf_line");
}

/* A rectangle path in page coordinates from mm (top-left origin). */
static void rect_path(hg_pdf_t *pdf, double x, double y, double w, double h)
{
    HPDF_Page_Rectangle(pdf->page, (HPDF_REAL)(x * PT_PER_MM), (HPDF_REAL)(pdf->h_pt - (y + h) * PT_PER_MM),
                        (HPDF_REAL)(w * PT_PER_MM), (HPDF_REAL)(h * PT_PER_MM));
}

apr_status_t hg_pdf_rect(hg_pdf_t *pdf, double x, double y, double w, double h, int fill_gray)
{
    apr_status_t rv;
    HPDF_Page pg;
    if ((rv = usable(pdf, "hg_pdf_rect", 1)) != APR_SUCCESS) return rv;
    if (!finite2(x, y) || !finite2(w, h) || w < 0 || h < 0)
        return fail(pdf, "hg_pdf_rect: bad position or size");
    if (fill_gray != HG_PDF_NOFILL && (fill_gray < 0 || fill_gray > 100))
        return fail(pdf, "hg_pdf_rect: fill_gray %d is neither 0..100 nor HG_PDF_NOFILL", fill_gray);
    pg = pdf->page;
    HPDF_Page_GSave(pg);
    if (fill_gray == HG_PDF_NOFILL) {
        HPDF_Page_SetLineWidth(pg, 0.5f);
        HPDF_Page_SetGrayStroke(pg, 0);
        rect_path(pdf, x, y, w, h);
        HPDF_Page_Stroke(pg);
    }
    else {
        HPDF_Page_SetGrayFill(pg, (HPDF_REAL)(fill_gray / 100.0));
        rect_path(pdf, x, y, w, h);
        HPDF_Page_Fill(pg);
    }
    HPDF_Page_GRestore(pg);
    return hpdf_check(pdf, "hg_pdf_rect");
}

/* One table cell's text, shrunk or clipped to fit (see hg_pdf.h). */
static apr_status_t cell_text(hg_pdf_t *pdf, double cx, double cy, double cw, double rh, int align,
                              const char *utf8)
{
    const char *what = "hg_pdf_table";
    apr_status_t rv;
    double avail_pt = (cw - 2 * CELL_PAD_MM) * PT_PER_MM, rh_pt = rh * PT_PER_MM;
    double size = pdf->size, em, w_pt, x_pt, base;
    int clip = 0;

    if (!utf8 || !*utf8) return APR_SUCCESS;
    if ((rv = shape(pdf, utf8, 0)) != APR_SUCCESS) return rv;
    if (size > 0.8 * rh_pt) size = 0.8 * rh_pt;
    em = width_em(&pdf->t, 0, pdf->t.n);
    if (em * size > avail_pt) {
        double min = size * MIN_SHRINK;
        size = avail_pt > 0 ? avail_pt / em : 0;
        if (size < min) {
            size = min;
            clip = 1;
        }
    }
    w_pt = em * size;
    x_pt = (cx + CELL_PAD_MM) * PT_PER_MM;
    if (align == HG_PDF_CENTER) x_pt += (avail_pt - w_pt) / 2;
    else if (align == HG_PDF_RIGHT) x_pt += avail_pt - w_pt;
    if (clip) x_pt = (cx + CELL_PAD_MM) * PT_PER_MM;   /* clipped text keeps its start visible */
    base = pdf->h_pt - cy * PT_PER_MM - (rh_pt - size) / 2 - ASCENT * size;
    if (clip) {
        HPDF_Page_GSave(pdf->page);
        rect_path(pdf, cx, cy, cw, rh);
        HPDF_Page_Clip(pdf->page);
        HPDF_Page_EndPath(pdf->page);
    }
    rv = draw_line(pdf, 0, pdf->t.n, x_pt, base, size, what);
    if (clip) HPDF_Page_GRestore(pdf->page);
    if (rv != APR_SUCCESS) return rv;
    return hpdf_check(pdf, what);
}

apr_status_t hg_pdf_table(hg_pdf_t *pdf, double x, double y, int ncols, const double *col_widths_mm,
                          const char *const *cells, int nrows, int header_rows, const int *col_align,
                          double row_height, double *next_y)
{
    const char *what = "hg_pdf_table";
    apr_status_t rv;
    double total = 0, cx, cy;
    int r, c;
    HPDF_Page pg;

    if (next_y) *next_y = y;
    if ((rv = usable(pdf, what, 1)) != APR_SUCCESS) return rv;
    if (ncols < 1 || ncols > 256 || !col_widths_mm || nrows < 0 || header_rows < 0 || header_rows > nrows
        || (nrows && !cells) || !(row_height > 0) || !isfinite(row_height) || !finite2(x, y))
        return fail(pdf, "%s: bad arguments", what);
    for (c = 0; c < ncols; c++) {
        if (!(col_widths_mm[c] > 0) || !isfinite(col_widths_mm[c]))
            return fail(pdf, "%s: column %d has no width", what, c);
        if (col_align && col_align[c] != HG_PDF_LEFT && col_align[c] != HG_PDF_CENTER
            && col_align[c] != HG_PDF_RIGHT)
            return fail(pdf, "%s: column %d has unknown alignment %d", what, c, col_align[c]);
        total += col_widths_mm[c];
    }
    if (!nrows) return APR_SUCCESS;
    pg = pdf->page;
    if (header_rows) {                      /* shading first, so the rules stay on top */
        HPDF_Page_GSave(pg);
        HPDF_Page_SetGrayFill(pg, 0.9f);
        rect_path(pdf, x, y, total, header_rows * row_height);
        HPDF_Page_Fill(pg);
        HPDF_Page_GRestore(pg);
        if ((rv = hpdf_check(pdf, what)) != APR_SUCCESS) return rv;
    }
    for (r = 0; r < nrows; r++) {
        cy = y + r * row_height;
        for (c = 0, cx = x; c < ncols; cx += col_widths_mm[c], c++) {
            int align = r < header_rows ? HG_PDF_CENTER : col_align ? col_align[c] : HG_PDF_LEFT;
            rv = cell_text(pdf, cx, cy, col_widths_mm[c], row_height, align, cells[(apr_size_t)r * ncols + c]);
            if (rv != APR_SUCCESS) return rv;
        }
    }
    HPDF_Page_GSave(pg);
    HPDF_Page_SetGrayStroke(pg, 0);
    HPDF_Page_SetLineWidth(pg, 0.4f);       /* inner rules */
    for (r = 1; r < nrows; r++) {
        double ly = pdf->h_pt - (y + r * row_height) * PT_PER_MM;
        HPDF_Page_MoveTo(pg, (HPDF_REAL)(x * PT_PER_MM), (HPDF_REAL)ly);
        HPDF_Page_LineTo(pg, (HPDF_REAL)((x + total) * PT_PER_MM), (HPDF_REAL)ly);
    }
    for (c = 0, cx = x; c < ncols - 1; c++) {
        cx += col_widths_mm[c];
        HPDF_Page_MoveTo(pg, (HPDF_REAL)(cx * PT_PER_MM), (HPDF_REAL)(pdf->h_pt - y * PT_PER_MM));
        HPDF_Page_LineTo(pg, (HPDF_REAL)(cx * PT_PER_MM),
                         (HPDF_REAL)(pdf->h_pt - (y + nrows * row_height) * PT_PER_MM));
    }
    HPDF_Page_Stroke(pg);
    HPDF_Page_SetLineWidth(pg, 0.8f);       /* frame */
    rect_path(pdf, x, y, total, nrows * row_height);
    HPDF_Page_Stroke(pg);
    HPDF_Page_GRestore(pg);
    if ((rv = hpdf_check(pdf, what)) != APR_SUCCESS) return rv;
    if (next_y) *next_y = y + nrows * row_height;
    return APR_SUCCESS;
}

apr_status_t hg_pdf_qr(hg_pdf_t *pdf, double x, double y, double size_mm, const char *text)
{
    const char *what = "hg_pdf_qr";
    apr_status_t rv;
    QRcode *q;
    HPDF_Page pg;
    double m, x0, top;
    int r, c, n, w;
    apr_size_t len;

    if ((rv = usable(pdf, what, 1)) != APR_SUCCESS) return rv;
    if (!text || !(len = strlen(text))) return fail(pdf, "%s: no text", what);
    if (!finite2(x, y) || !(size_mm > 0) || !isfinite(size_mm)) return fail(pdf, "%s: bad position or size", what);
    errno = 0;
    if (!(q = QRcode_encodeData((int)len, (const unsigned char *)text, 0, QR_ECLEVEL_M))) {
        char ebuf[120];
        return fail(pdf, "%s: libqrencode: %s", what, errno == ERANGE ? "text too long for a QR code"
                    : apr_strerror(errno ? errno : APR_EGENERAL, ebuf, sizeof(ebuf)));
    }
    w = q->width;
    n = w + 4;                              /* 2 quiet modules each side */
    m = size_mm * PT_PER_MM / n;
    x0 = x * PT_PER_MM;
    top = pdf->h_pt - y * PT_PER_MM;
    pg = pdf->page;
    HPDF_Page_GSave(pg);
    HPDF_Page_SetGrayFill(pg, 1);
    HPDF_Page_Rectangle(pg, (HPDF_REAL)x0, (HPDF_REAL)(top - n * m), (HPDF_REAL)(n * m), (HPDF_REAL)(n * m));
    HPDF_Page_Fill(pg);
    HPDF_Page_SetGrayFill(pg, 0);
    for (r = 0; r < w; r++)                 /* one rectangle per horizontal run of dark modules */
        for (c = 0; c < w; ) {
            int run = 0;
            while (c + run < w && (q->data[r * w + c + run] & 1)) run++;
            if (run) {
                HPDF_Page_Rectangle(pg, (HPDF_REAL)(x0 + (c + 2) * m), (HPDF_REAL)(top - (r + 3) * m),
                                    (HPDF_REAL)(run * m), (HPDF_REAL)m);
                c += run;
            }
            else c++;
        }
    HPDF_Page_Fill(pg);
    HPDF_Page_GRestore(pg);
    QRcode_free(q);
    return hpdf_check(pdf, what);
}

static apr_status_t set_info(hg_pdf_t *pdf, HPDF_InfoType type, const char *utf8)
{
    apr_status_t rv;
    if (!utf8) return APR_SUCCESS;
    if ((rv = shape(pdf, utf8, 0)) != APR_SUCCESS) return rv;   /* valid UTF-8 in the BMP, no controls */
    HPDF_SetInfoAttr(pdf->doc, type, run_utf8(pdf, pdf->t.cp, pdf->t.n));
    return hpdf_check(pdf, "hg_pdf_set_info");
}

apr_status_t hg_pdf_set_info(hg_pdf_t *pdf, const char *title, const char *author, const char *subject)
{
    apr_status_t rv;
    if ((rv = usable(pdf, "hg_pdf_set_info", 0)) != APR_SUCCESS) return rv;
    if ((rv = set_info(pdf, HPDF_INFO_TITLE, title)) != APR_SUCCESS) return rv;
    if ((rv = set_info(pdf, HPDF_INFO_AUTHOR, author)) != APR_SUCCESS) return rv;
    if ((rv = set_info(pdf, HPDF_INFO_SUBJECT, subject)) != APR_SUCCESS) return rv;
    return set_info(pdf, HPDF_INFO_CREATOR, "hisgate");
}

/* ---- finishing ---- */

/* CIDToGIDMap, W, ToUnicode and the font program of font f, for the characters drawn with it
 * (CID = code point, as libharu's UTF-8 encoder makes them).  The glyphs are renumbered 0..n-1 in
 * our own subset (see ttf_subset), so the map points at the new numbers. */
static apr_status_t finish_font(hg_pdf_t *pdf, int f)
{
    const char *what = "hg_pdf_finish";
    const font_src_t *src = &g.font[f];
    HPDF_Dict font = pdf->font[f], desc, file;
    HPDF_FontAttr fa = font->attr;
    HPDF_FontDef def = fa->fontdef;
    HPDF_TTFontDefAttr ta = def->attr;
    HPDF_Array w, run = NULL;
    HPDF_Stream s;
    unsigned char map[4096], *prog;
    char line[64];
    unsigned cp, i, k, n = 0, *cps, *gid_of, *gids, ngids;
    apr_size_t o = 0, prog_len;
    apr_status_t rv;

    if (fa->type != HPDF_FONT_TYPE0_TT || !fa->map_stream || !fa->cmap_stream || !fa->descendant_font
        || fa->map_stream->stream->type != HPDF_STREAM_MEMORY
        || fa->cmap_stream->stream->type != HPDF_STREAM_MEMORY || def->descriptor)
        return fail(pdf, "%s: libharu font object is not laid out as expected", what);
    for (cp = 0; cp < 0x10000; cp++) if (BIT_GET(pdf->used[f], cp)) n++;
    cps = apr_palloc(pdf->p, (n + 1) * sizeof(*cps));
    gid_of = apr_palloc(pdf->p, (n + 1) * sizeof(*gid_of));
    for (cp = 0, i = 0; cp < 0x10000; cp++) if (BIT_GET(pdf->used[f], cp)) cps[i++] = cp;
    if ((rv = glyph_set(pdf, f, cps, n, &gids, &ngids)) != APR_SUCCESS) return rv;
    if ((rv = ttf_subset(pdf->p, &src->ttf, gids, ngids, &prog, &prog_len)) != APR_SUCCESS)
        return fail(pdf, "%s: %s: cannot subset the font", what, src->path);
    for (i = 0; i < n; i++)
        gid_of[i] = HPDF_TTFontDef_GetGlyphid(def, (HPDF_UINT16)cps[i]);

    s = fa->map_stream->stream;             /* CIDToGIDMap: 2 bytes per CID up to the highest used */
    HPDF_MemStream_FreeData(s);
    for (cp = 0, i = 0; n && cp <= cps[n - 1]; cp++) {
        unsigned gid = 0;
        if (cp == cps[i]) gid = new_gid(gids, ngids, gid_of[i++]);
        map[o++] = (unsigned char)(gid >> 8);
        map[o++] = (unsigned char)gid;
        if (o == sizeof(map) || cp == cps[n - 1]) {
            HPDF_Stream_Write(s, map, (HPDF_UINT)o);
            o = 0;
        }
    }
    if (!n) {                               /* a map needs at least CID 0 */
        map[0] = map[1] = 0;
        HPDF_Stream_Write(s, map, 2);
    }

    w = HPDF_Dict_GetItem(fa->descendant_font, "W", HPDF_OCLASS_ARRAY);
    if (!w) {
        w = HPDF_Array_New(font->mmgr);
        HPDF_Dict_Add(fa->descendant_font, "W", w);
    }
    HPDF_Array_Clear(w);
    for (i = 0; i < n; i++) {               /* [first [w w ...] ...] for widths other than DW */
        HPDF_INT16 width = HPDF_TTFontDef_GetGidWidth(def, (HPDF_UINT16)gid_of[i]);
        if (width == def->missing_width) {
            run = NULL;
            continue;
        }
        if (!run || cps[i] != cps[i - 1] + 1) {
            HPDF_Array_AddNumber(w, (HPDF_INT32)cps[i]);
            run = HPDF_Array_New(font->mmgr);
            HPDF_Array_Add(w, run);
        }
        HPDF_Array_AddNumber(run, width);
    }

    s = fa->cmap_stream->stream;            /* ToUnicode: CID -> the same code point */
    HPDF_MemStream_FreeData(s);
    HPDF_Stream_WriteStr(s, "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                         "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
                         "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                         "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n");
    for (i = 0; i < n; i += k) {            /* at most 100 entries per block */
        k = n - i > 100 ? 100 : n - i;
        snprintf(line, sizeof(line), "%u beginbfchar\n", k);
        HPDF_Stream_WriteStr(s, line);
        for (cp = i; cp < i + k; cp++) {
            snprintf(line, sizeof(line), "<%04X> <%04X>\n", cps[cp], cps[cp]);
            HPDF_Stream_WriteStr(s, line);
        }
        HPDF_Stream_WriteStr(s, "endbfchar\n");
    }
    HPDF_Stream_WriteStr(s, "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");

    /* A subset tag from the characters in it: documents merged or printed together must not
     * share a name for different subsets (libharu would tag every one HPDFAA). */
    {
        apr_uint32_t h = 2166136261u ^ (apr_uint32_t)f;
        char tag[7];
        for (i = 0; i < n; i++) h = (h ^ cps[i]) * 16777619u;
        for (i = 0; i < 6; i++, h /= 26) tag[i] = (char)('A' + h % 26);
        tag[6] = '\0';
        HPDF_TTFontDef_SetTagName(def, tag);
    }

    /* The descriptor with our font program.  libharu's CIDFontType2 writer only makes one (and
     * writes its own, much larger subset) when the font definition has none; FreeDoc resets it. */
    desc = HPDF_Dict_New(font->mmgr);
    if (desc && HPDF_Xref_Add(fa->xref, desc) == HPDF_OK) {
        HPDF_Dict_AddName(desc, "Type", "FontDescriptor");
        HPDF_Dict_AddName(desc, "FontName", ta->base_font);     /* with the subset tag */
        HPDF_Dict_AddNumber(desc, "Flags", (HPDF_INT32)def->flags);
        HPDF_Dict_Add(desc, "FontBBox", HPDF_Box_Array_New(font->mmgr, def->font_bbox));
        HPDF_Dict_AddNumber(desc, "ItalicAngle", def->italic_angle);
        HPDF_Dict_AddNumber(desc, "Ascent", def->ascent);
        HPDF_Dict_AddNumber(desc, "Descent", def->descent);
        HPDF_Dict_AddNumber(desc, "CapHeight", def->cap_height);
        HPDF_Dict_AddNumber(desc, "XHeight", def->x_height);
        HPDF_Dict_AddNumber(desc, "StemV", def->stemv);
        if ((file = HPDF_DictStream_New(font->mmgr, fa->xref))) {
            file->filter = HPDF_STREAM_FILTER_FLATE_DECODE;
            HPDF_Dict_AddNumber(file, "Length1", (HPDF_INT32)prog_len);
            HPDF_Stream_Write(file->stream, prog, (HPDF_UINT)prog_len);
            HPDF_Dict_Add(desc, "FontFile2", file);
        }
        def->descriptor = desc;
    }
    if ((rv = hpdf_check(pdf, what)) != APR_SUCCESS) return rv;
    if (!def->descriptor) return fail(pdf, "%s: libharu made no font descriptor", what);
    return APR_SUCCESS;
}

apr_status_t hg_pdf_finish(hg_pdf_t *pdf, const char **buf, apr_size_t *len)
{
    const char *what = "hg_pdf_finish";
    apr_status_t rv;
    HPDF_UINT32 size, n;
    HPDF_STATUS st;
    char *out;
    int f;

    if ((rv = usable(pdf, what, 0)) != APR_SUCCESS) return rv;
    if (!buf || !len) return fail(pdf, "%s: no output", what);
    if (!pdf->npages) return fail(pdf, "%s: the document has no page", what);
    for (f = 0; f < g.nfonts; f++)
        if (pdf->font[f] && (rv = finish_font(pdf, f)) != APR_SUCCESS) {
            pdf->broken = 1;                /* font tables half rewritten: no second try */
            return rv;
        }
    HPDF_SaveToStream(pdf->doc);
    if ((rv = hpdf_check(pdf, what)) != APR_SUCCESS) return rv;
    if (!(size = HPDF_GetStreamSize(pdf->doc))) return fail(pdf, "%s: libharu wrote nothing", what);
    out = apr_palloc(pdf->p, size);
    HPDF_ResetStream(pdf->doc);
    n = size;
    st = HPDF_ReadFromStream(pdf->doc, (HPDF_BYTE *)out, &n);
    if ((rv = hpdf_check(pdf, what)) != APR_SUCCESS) return rv;
    if ((st != HPDF_OK && st != HPDF_STREAM_EOF) || n != size)
        return fail(pdf, "%s: read back %lu of %lu bytes", what, (unsigned long)n, (unsigned long)size);
    *buf = out;
    *len = size;
    pdf->finished = 1;
    inst_put(pdf->in);                      /* free for the next document now, not at pool cleanup */
    pdf->in = NULL;
    return APR_SUCCESS;
}

const char *hg_pdf_last_error(const hg_pdf_t *pdf)
{
    return pdf && pdf->err ? pdf->err : "";
}

unsigned long hg_pdf_last_hpdf_error(const hg_pdf_t *pdf)
{
    return pdf ? pdf->hpdf_err : 0;
}
