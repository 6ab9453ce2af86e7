#include <string.h>
#include <qrencode.h>
#include <zlib.h>
#include <apr_strings.h>
#include "hg_qr.h"

#define QUIET 4

static void put32(unsigned char *b, apr_uint32_t v)
{
    b[0] = v >> 24; b[1] = v >> 16; b[2] = v >> 8; b[3] = v;
}

/* one PNG chunk: length, type, data, CRC over type+data */
static unsigned char *chunk(unsigned char *o, const char *type, const unsigned char *d, apr_uint32_t n)
{
    uLong crc;
    put32(o, n);
    memcpy(o + 4, type, 4);
    if (n)
        memcpy(o + 8, d, n);
    crc = crc32(0L, o + 4, n + 4);
    put32(o + 8 + n, (apr_uint32_t)crc);
    return o + 12 + n;
}

apr_status_t hg_qr_png(const unsigned char **png, apr_size_t *len, apr_pool_t *p, const char *text,
                       int scale)
{
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    int w, px, x, y;
    apr_size_t rawlen;
    unsigned char *raw, *z, *out, *o, ihdr[13];
    uLongf zlen;
    static const unsigned char sig[8] = { 137, 'P', 'N', 'G', '\r', '\n', 26, '\n' };

    if (!qr)
        return HG_EINVALID;
    if (scale < 1 || scale > 20)
        scale = 4;
    w = qr->width;
    px = (w + 2 * QUIET) * scale;
    {
        /* 1-bit grayscale and a small deflate state: the QR of every issue answer must be cheap
         * (8-bit gray at level 9 with zlib's default 256 KB state cost ~7 ms a bill) */
        int rb = (px + 7) / 8;
        z_stream zs;
        rawlen = (apr_size_t)(rb + 1) * px;       /* a filter byte (0) per row */
        raw = apr_pcalloc(p, rawlen);
        /* one pixel row per module row (light = 1, then the dark modules' bits cleared), the
         * other scale - 1 rows as PNG filter Up of it: all zeros */
        for (y = 0; y < px; y++) {
            unsigned char *row = raw + (apr_size_t)y * (rb + 1);
            int my = y / scale - QUIET;
            if (y % scale) {
                row[0] = 2;
                continue;
            }
            memset(row + 1, 0xFF, rb);
            if (px % 8)             /* the last byte's padding bits stay 0 */
                row[rb] = (unsigned char)(0xFF << (8 - px % 8));
            if (my < 0 || my >= w)
                continue;
            for (x = 0; x < w; x++) {
                int b, x0 = (x + QUIET) * scale;
                if (!(qr->data[my * w + x] & 1))
                    continue;
                for (b = x0; b < x0 + scale; b++)
                    row[1 + b / 8] &= (unsigned char)~(0x80 >> (b % 8));
            }
        }
        QRcode_free(qr);
        zlen = compressBound(rawlen) + 64;
        z = apr_palloc(p, zlen);
        memset(&zs, 0, sizeof(zs));
        if (deflateInit2(&zs, 6, Z_DEFLATED, 9, 2, Z_DEFAULT_STRATEGY) != Z_OK)
            return HG_EINVALID;
        zs.next_in = raw;
        zs.avail_in = (uInt)rawlen;
        zs.next_out = z;
        zs.avail_out = (uInt)zlen;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
            deflateEnd(&zs);
            return HG_EINVALID;
        }
        zlen = zs.total_out;
        deflateEnd(&zs);
    }
    put32(ihdr, px);
    put32(ihdr + 4, px);
    ihdr[8] = 1; ihdr[9] = 0; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;   /* 1-bit grayscale */
    out = apr_palloc(p, 8 + 25 + 12 + zlen + 12);
    memcpy(out, sig, 8);
    o = chunk(out + 8, "IHDR", ihdr, 13);
    o = chunk(o, "IDAT", z, (apr_uint32_t)zlen);
    o = chunk(o, "IEND", NULL, 0);
    *png = out;
    *len = (apr_size_t)(o - out);
    return APR_SUCCESS;
}

apr_status_t hg_qr_svg(char **svg, apr_pool_t *p, const char *text)
{
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    int w, x, y;
    char *path = "";
    if (!qr)
        return HG_EINVALID;
    w = qr->width;
    for (y = 0; y < w; y++)
        for (x = 0; x < w; x++)
            if (qr->data[y * w + x] & 1)
                path = apr_psprintf(p, "%sM%d %dh1v1h-1z", path, x + QUIET, y + QUIET);
    QRcode_free(qr);
    *svg = apr_psprintf(p, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                        "shape-rendering=\"crispEdges\"><rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>"
                        "<path d=\"%s\" fill=\"#000\"/></svg>", w + 2 * QUIET, w + 2 * QUIET, path);
    return APR_SUCCESS;
}
