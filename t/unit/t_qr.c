/* Unit tests for common/hg_qr: its own mask choice gives, module for module, the symbol
 * libqrencode's QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) gives (the mask it picks,
 * its format information, its flag bytes), over thousands of texts of every shape a bill's QR code
 * may carry; and the PNG and SVG draw that symbol: the PNG read back (chunks, CRCs, the image
 * data inflated, the filters undone) pixel for pixel. */
#include <stdint.h>
#include <string.h>
#include <qrencode.h>
#include <zlib.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "tap.h"
#include "hg_qr.h"

enum { URL, ASCII, DIGITS, ALNUM, CHINESE, MIXED, SHORT, LONG, KINDS };
static const char *kind_name[KINDS] = { "URL", "printable ASCII", "digits", "uppercase alnum",
                                        "UTF-8 Chinese", "mixed", "short (1..40 bytes)",
                                        "long (301..2331 bytes)" };
static int compared[KINDS], differ[KINDS], mask_seen[8], widths_seen[178];

/* a fixed sequence (xorshift64*): the same texts on every run */
static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static unsigned rnd(unsigned n)
{
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    return (unsigned)((rng * 0x2545F4914F6CDD1DULL) >> 33) % n;
}

static char *pick(apr_pool_t *p, const char *set, int n)
{
    char *s = apr_palloc(p, n + 1);
    int i, k = (int)strlen(set);
    for (i = 0; i < n; i++)
        s[i] = set[rnd(k)];
    s[n] = 0;
    return s;
}

/* a text of the given kind, about n bytes */
static char *text_of(apr_pool_t *p, int kind, int n)
{
    static const char *han[] = { "医", "院", "发", "票", "广", "州", "市", "第", "一", "人", "民",
                                 "门", "诊", "住", "收", "费", "电", "子", "财", "政", "据" };
    static const char *hosts[] = { "https://hospital.example", "https://einv.gz.example.cn",
                                   "HTTPS://HIS.EXAMPLE.CN", "http://10.8.0.12:8080" };
    const char *lower = "abcdefghijklmnopqrstuvwxyz0123456789";
    char *s;
    int i;

    switch (kind) {
    case URL:
        s = apr_psprintf(p, "%s/invoice/h5/b/%08u/%010u?c=%s", hosts[rnd(4)], 44010000 + rnd(9999),
                         rnd(2000000000), pick(p, lower, 1 + rnd(8)));
        while ((int)strlen(s) < n)
            s = apr_pstrcat(p, s, rnd(2) ? "&t=" : "&sig=", pick(p, lower, 1 + rnd(40)), NULL);
        s[n] = 0;                                   /* cut anywhere, even mid-parameter */
        return s;
    case ASCII:
        s = apr_palloc(p, n + 1);
        for (i = 0; i < n; i++)
            s[i] = (char)(' ' + rnd(95));
        s[n] = 0;
        return s;
    case DIGITS:
        return pick(p, "0123456789", n);
    case ALNUM:
        return pick(p, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", n);
    case CHINESE:
        s = "";
        while ((int)strlen(s) + 3 <= n)
            s = apr_pstrcat(p, s, han[rnd(21)], NULL);
        return s;
    case MIXED:                                     /* runs that make libqrencode split modes */
        s = "";
        while ((int)strlen(s) < n) {
            int r = 1 + rnd(20);
            switch (rnd(4)) {
            case 0: s = apr_pstrcat(p, s, pick(p, "0123456789", r), NULL); break;
            case 1: s = apr_pstrcat(p, s, pick(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", r), NULL); break;
            case 2: s = apr_pstrcat(p, s, pick(p, lower, r), NULL); break;
            default: s = apr_pstrcat(p, s, han[rnd(21)], "，", NULL); break;
            }
        }
        return s;
    case SHORT:                 /* small symbols, whose dark ratio (penalty 4) often decides */
        return text_of(p, ASCII + rnd(4), n);
    default:                                        /* up to version 40's 2331 bytes */
        return text_of(p, rnd(2) ? URL : ASCII, n);
    }
}

/* hg_qr's symbol against libqrencode's own, byte for byte */
static void compare(apr_pool_t *p, int kind, const char *text)
{
    const unsigned char *mod = NULL;
    int w = 0, same;
    apr_status_t rv = hg_qr_encode_modules(&mod, &w, p, text);
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);

    compared[kind]++;
    if (!qr)
        same = rv == HG_EINVALID;
    else {
        same = rv == APR_SUCCESS && w == qr->width && !memcmp(mod, qr->data, (size_t)w * w);
        /* the mask libqrencode chose, from the format information's top bits (read in row 8) */
        mask_seen[((qr->data[8 * qr->width + 2] & 1) << 2 | (qr->data[8 * qr->width + 3] & 1) << 1
                   | (qr->data[8 * qr->width + 4] & 1)) ^ 5]++;
        widths_seen[qr->width]++;
    }
    if (!same && differ[kind]++ < 3)
        tap_diag("%s text of %zu bytes differs (rv %d, width %d vs %d): %.60s", kind_name[kind],
                 strlen(text), rv == APR_SUCCESS ? 0 : (int)(rv - HG_STATUS_BASE), w,
                 qr ? qr->width : -1, text);
    if (qr)
        QRcode_free(qr);
}

static apr_uint32_t get32(const unsigned char *b)
{
    return (apr_uint32_t)b[0] << 24 | (apr_uint32_t)b[1] << 16 | (apr_uint32_t)b[2] << 8 | b[3];
}

/* NULL when png shows modules (w x w, dark = bit 0) in a quiet zone of 4 at scale px a module;
 * else what is wrong */
static const char *png_shows(apr_pool_t *p, const unsigned char *png, apr_size_t len,
                             const unsigned char *mod, int w, int scale)
{
    apr_size_t at = 8, zlen = 0, rawlen;
    unsigned char *z = NULL, *raw;
    apr_uint32_t px = 0, x, y;
    uLongf out;
    int ended = 0;

    if (len < 8 || memcmp(png, "\x89PNG\r\n\x1a\n", 8))
        return "no PNG signature";
    while (at + 12 <= len && !ended) {
        apr_uint32_t n = get32(png + at);
        const unsigned char *type = png + at + 4, *d = png + at + 8;
        if (at + 12 + n > len)
            return "a chunk past the end";
        if (get32(d + n) != (apr_uint32_t)crc32(0L, type, n + 4))
            return apr_psprintf(p, "bad CRC of %.4s", type);
        if (!memcmp(type, "IHDR", 4)) {
            px = get32(d);
            if (n != 13 || get32(d + 4) != px || d[8] != 1 || d[9] != 0 || d[12] != 0)
                return "not a square 1-bit grayscale image";
        } else if (!memcmp(type, "IDAT", 4)) {
            z = apr_pmemdup(p, d, n);
            zlen = n;
        } else if (!memcmp(type, "IEND", 4))
            ended = 1;
        at += 12 + n;
    }
    if (!ended || at != len || !z)
        return "chunks: no IEND at the end, or no IDAT";
    if (px != (apr_uint32_t)(w + 8) * scale)
        return apr_psprintf(p, "%u pixels wide, not %d", px, (w + 8) * scale);
    rawlen = (apr_size_t)((px + 7) / 8 + 1) * px;
    raw = apr_palloc(p, rawlen + 1);
    out = rawlen + 1;
    if (uncompress(raw, &out, z, zlen) != Z_OK || out != rawlen)
        return apr_psprintf(p, "the zlib stream does not inflate to %lu bytes", (unsigned long)rawlen);
    for (y = 0; y < px; y++) {
        apr_size_t stride = (px + 7) / 8 + 1;
        unsigned char *row = raw + (apr_size_t)y * stride, *above = row - stride;
        if (row[0] == 2 && y > 0)            /* Up: add the row above */
            for (x = 1; x < stride; x++)
                row[x] = (unsigned char)(row[x] + above[x]);
        else if (row[0] != 0)
            return apr_psprintf(p, "row %u: filter %d", y, row[0]);
        for (x = 0; x < px; x++) {
            int mx = (int)(x / scale) - 4, my = (int)(y / scale) - 4;
            int dark = mx >= 0 && my >= 0 && mx < w && my < w && (mod[my * w + mx] & 1);
            int bit = (row[1 + x / 8] >> (7 - x % 8)) & 1;
            if (bit == dark)
                return apr_psprintf(p, "pixel %u,%u is %s", x, y, bit ? "light" : "dark");
        }
    }
    return NULL;
}

int main(void)
{
    apr_pool_t *pool, *p;
    int kind, i, total = 0, nmask = 0, nwidth = 0;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    apr_pool_create(&p, pool);
    tap_plan(KINDS + 11);
    /* otherwise every comparison below would hold trivially: libqrencode against itself */
    tap_ok(hg_qr_fast_mask(), "libqrencode's inner functions found: the mask is chosen by hg_qr");

    for (kind = 0; kind < SHORT; kind++)
        for (i = 0; i < 400; i++) {
            compare(p, kind, text_of(p, kind, 10 + rnd(291)));     /* 10..300 bytes */
            apr_pool_clear(p);
        }
    for (i = 0; i < 400; i++) {
        compare(p, SHORT, text_of(p, SHORT, 1 + rnd(40)));
        apr_pool_clear(p);
    }
    for (i = 0; i < 120; i++) {
        compare(p, LONG, text_of(p, LONG, 301 + rnd(2031)));
        apr_pool_clear(p);
    }
    /* the edges: nothing, a byte, the largest version 40 symbol and one byte past it */
    compare(p, ASCII, "");
    compare(p, ASCII, "x");
    compare(p, DIGITS, "0");
    /* one in 200,000 random texts: its mask is decided by a 3:3:9:3:3 finder-like pattern */
    compare(p, DIGITS, "6374565968852736336697955750286502555136757231865479130720787318997228");
    compare(p, LONG, pick(p, "abcdefghijklmnopqrstuvwxyz", 2331));  /* 8-bit mode throughout */
    compare(p, LONG, pick(p, "abcdefghijklmnopqrstuvwxyz", 2332));
    apr_pool_clear(p);

    {
        /* PNGs of every size and scale, read back */
        int bad = 0, n = 0, scale;
        for (i = 0; i < 240; i++) {
            const unsigned char *png, *mod;
            const char *why, *text;
            apr_size_t len;
            int w;
            kind = i % KINDS;
            text = text_of(p, kind, kind == LONG ? 301 + rnd(2031) : kind == SHORT ? 1 + rnd(40) : 10 + rnd(291));
            if (!*text)                       /* a short Chinese text may have no character */
                text = "x";
            scale = i < 8 ? 20 : 1 + (i % 8);
            if (hg_qr_png(&png, &len, p, text, scale) != APR_SUCCESS
                || hg_qr_encode_modules(&mod, &w, p, text) != APR_SUCCESS)
                why = "not drawn";
            else
                why = png_shows(p, png, len, mod, w, scale);
            n++;
            if (why && bad++ < 3)
                tap_diag("%s text of %zu bytes at scale %d: %s", kind_name[kind], strlen(text), scale, why);
            apr_pool_clear(p);
        }
        tap_is_int(bad, 0, "%d PNGs (scales 1 to 8 and 20) read back show their symbol, pixel for pixel", n);
    }

    for (kind = 0; kind < KINDS; kind++) {
        total += compared[kind];
        tap_is_int(differ[kind], 0, "%d %s texts: the same symbol as QRcode_encodeString", compared[kind],
                   kind_name[kind]);
    }
    tap_diag("%d texts compared", total);
    tap_ok(total >= 2000, "at least 2000 texts compared (%d)", total);
    for (i = 0; i < 8; i++)
        nmask += mask_seen[i] > 0;
    tap_is_int(nmask, 8, "libqrencode chose each of the 8 masks for some of them");
    tap_diag("masks chosen: %d %d %d %d %d %d %d %d", mask_seen[0], mask_seen[1], mask_seen[2],
             mask_seen[3], mask_seen[4], mask_seen[5], mask_seen[6], mask_seen[7]);
    for (i = 21; i <= 177; i += 4)
        nwidth += widths_seen[i] > 0;
    tap_ok(nwidth >= 30 && widths_seen[177] && widths_seen[25],
           "widths from 25 (1 word a line) to 177 (3 words) were met (%d of the 40 sizes)", nwidth);

    {
        const unsigned char *mod, *png;
        char *svg;
        apr_size_t len;
        int w, dark = 0, paths = 0;
        const char *s, *url = "https://hospital.example/invoice/h5/b/44010126/0044013719?c=ab12cd";
        const char *too_long = pick(p, "abcdefghijklmnopqrstuvwxyz", 2332);
        QRcode *qr = QRcode_encodeString(url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);

        tap_is_int(hg_qr_encode_modules(&mod, &w, p, NULL), HG_EINVALID, "no text: HG_EINVALID");
        tap_ok(hg_qr_png(&png, &len, p, url, 3) == APR_SUCCESS && len > 57 && !memcmp(png + 1, "PNG", 3)
               && png[16] == 0 && png[17] == 0 && png[18] == 0 && png[19] == (qr->width + 8) * 3,
               "the PNG: %d modules and the quiet zone, 3 pixels each", qr->width);
        tap_is_int(hg_qr_png(&png, &len, p, too_long, 3), HG_EINVALID,
                   "a text too long for a QR code: no PNG");
        tap_ok(hg_qr_svg(&svg, p, url) == APR_SUCCESS, "the SVG");
        for (i = 0; i < qr->width * qr->width; i++)
            dark += qr->data[i] & 1;
        for (s = svg; (s = strstr(s, "h1v1h-1z")); s++)
            paths++;
        tap_ok(paths == dark && strstr(svg, apr_psprintf(p, "viewBox=\"0 0 %d %d\"", qr->width + 8,
                                                          qr->width + 8)),
               "the SVG has a square for each of libqrencode's %d dark modules", dark);
        tap_is_int(hg_qr_svg(&svg, p, too_long), HG_EINVALID,
                   "a text too long for a QR code: no SVG");
        QRcode_free(qr);
    }

    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}
