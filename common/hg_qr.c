#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>
#include <limits.h>
#include <pthread.h>
#include <qrencode.h>
#include <zlib.h>
#include <apr_strings.h>
#include "hg_qr.h"

#define QUIET 4

/* Two steps of QRcode_encodeString that libqrencode 4.1.1 keeps out of qrencode.h; Debian 12's
 * libqrencode.so.4 (built with its test hooks) exports them.  With them the symbol is built once,
 * with mask 0, and the mask choice — libqrencode's slowest part — is made here (qr_encode).  They
 * are looked up at run time in the library that holds QRcode_encodeString, not linked: a
 * libqrencode without them must not keep httpd from loading the module (qr_encode then calls
 * QRcode_encodeString itself). */
typedef int split_fn(const char *string, QRinput *input, QRencodeMode hint, int casesensitive);
typedef QRcode *encode_mask_fn(QRinput *input, int mask);
static split_fn *split_string;
static encode_mask_fn *encode_mask;
static pthread_once_t inner_once = PTHREAD_ONCE_INIT;

static void inner_lookup(void)
{
    Dl_info info;
    void *lib;
    if (!dladdr((void *)QRcode_encodeString, &info) || !info.dli_fname
        || !(lib = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD)))
        return;
    /* both or neither; the handle stays open, as the library does anyway */
    split_string = (split_fn *)dlsym(lib, "Split_splitStringToQRinput");
    encode_mask = (encode_mask_fn *)dlsym(lib, "QRcode_encodeMask");
    if (!split_string || !encode_mask)
        split_string = NULL, encode_mask = NULL;
}

/* ---- the mask choice: the same penalty and the same pick as libqrencode's Mask_mask ----
 * Every row and (through a transposed copy) every column is a line of up to 177 bits in LW 64-bit
 * words, bit x = module x, 1 = dark; the penalties are counted a word at a time. */
#define LW      3                   /* words of a line: 177 modules (version 40) fit in 192 bits */
#define MAXW    (64 * LW)
#define QR_MAXW 177                 /* version 40 */
#define PERIOD  12                  /* every mask pattern repeats every 12 rows and 12 columns */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "choose_mask reads 8 module bytes as one little-endian word"
#endif

/* format information (ISO/IEC 18004 annex C) for error correction level M and masks 0..7;
 * choose_mask checks mask 0's against the symbol libqrencode wrote */
static const unsigned fmt_m[8] = { 0x5412, 0x5125, 0x5e7c, 0x5b4b, 0x45f9, 0x40ce, 0x4f97, 0x4aa0 };

/* bits x of row_diff[k][y % 12] (bits y of col_diff[k][x % 12]): module (x, y) differs between
 * mask 0 and mask k.  Computed once: per call it would cost as much as the penalties. */
static uint64_t row_diff[8][PERIOD][LW], col_diff[8][PERIOD][LW];
/* spread[b]: byte j is bit j of b — 8 modules' dark bits back into libqrencode's bytes */
static uint64_t spread[256];
static pthread_once_t diff_once = PTHREAD_ONCE_INIT;

/* 1 where mask k flips the data module at column x, row y (libqrencode's formulas) */
static int mask_flips(int k, int x, int y)
{
    switch (k) {
    case 0: return (x + y) % 2 == 0;
    case 1: return y % 2 == 0;
    case 2: return x % 3 == 0;
    case 3: return (x + y) % 3 == 0;
    case 4: return (y / 2 + x / 3) % 2 == 0;
    case 5: return (x * y) % 2 + (x * y) % 3 == 0;
    case 6: return ((x * y) % 2 + (x * y) % 3) % 2 == 0;
    default: return ((x * y) % 3 + (x + y) % 2) % 2 == 0;
    }
}

static void diff_init(void)
{
    int k, ph, i;
    for (i = 0; i < 256; i++)
        for (k = 0; k < 8; k++)
            spread[i] |= (uint64_t)((i >> k) & 1) << (8 * k);
    for (k = 0; k < 8; k++)
        for (ph = 0; ph < PERIOD; ph++)
            for (i = 0; i < MAXW; i++) {
                uint64_t bit = (uint64_t)1 << (i % 64);
                if (mask_flips(0, i, ph) != mask_flips(k, i, ph))
                    row_diff[k][ph][i / 64] |= bit;
                if (mask_flips(0, ph, i) != mask_flips(k, ph, i))
                    col_diff[k][ph][i / 64] |= bit;
            }
}

/* where format bit i (0 = least significant) goes, copy c (0, 1): as libqrencode's
 * Mask_writeFormatInformation lays it out */
static void fmt_pos(int w, int i, int c, int *x, int *y)
{
    if (i < 8) {
        if (c == 0) { *x = w - 1 - i; *y = 8; }
        else        { *x = 8; *y = i < 6 ? i : i + 1; }
    } else {
        i -= 8;
        if (c == 0) { *x = 8; *y = w - 7 + i; }
        else        { *x = i == 0 ? 7 : 6 - i; *y = 8; }
    }
}

/* the line code is inlined into one copy per word count (see choose_mask) */
#define INLINE static inline __attribute__((always_inline))

/* word i of line a moved by n (-4..10): bit x of the result is bit x + n of a, 0 outside */
INLINE uint64_t at(const uint64_t *a, int i, int n, int nw)
{
    if (n > 0)
        return (a[i] >> n) | (i + 1 < nw ? a[i + 1] << (64 - n) : 0);
    if (n < 0)
        return (a[i] << -n) | (i > 0 ? a[i - 1] >> (64 + n) : 0);
    return a[i];
}

/* the build targets any x86-64, without the popcnt instruction: the libgcc call took 10% */
static inline int pop(uint64_t v)
{
    v -= (v >> 1) & 0x5555555555555555ULL;
    v = (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);
    v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (int)((v * 0x0101010101010101ULL) >> 56);
}

static int bit_at(const uint64_t *a, int x)
{
    return (int)(a[x / 64] >> (x % 64)) & 1;
}

/* first module at or after x (dir 1), or at or before x (dir -1), whose colour is not v; -1 or w
 * when the line ends first */
static int run_edge(const uint64_t *a, int w, int x, int dir, int v)
{
    while (x >= 0 && x < w && bit_at(a, x) == v)
        x += dir;
    return x;
}

/* Penalty 3 of one line for a 1:1:3:1:1 pattern whose dark centre run, of 3f >= 6 modules, starts
 * at s: libqrencode's Mask_calcN1N3 counts it (once) when all five runs are exact and the light
 * run before it is >= 4f long or reaches the start of the line (then any length, even 0), or the
 * light run after it is >= 4f or reaches the end.  first and last: the line's outer dark modules. */
static int n3_wide(const uint64_t *d, int w, int s, int first, int last)
{
    int e = run_edge(d, w, s, 1, 1), f, b1, b2, e1, e2;
    if ((e - s) % 3 || e - s < 6)
        return 0;
    f = (e - s) / 3;
    b1 = run_edge(d, w, s - 1, -1, 0);              /* last dark module before the light run */
    if (s - 1 - b1 != f || b1 < 0)
        return 0;
    b2 = run_edge(d, w, b1, -1, 1);                 /* before the first dark run */
    if (b1 - b2 != f)
        return 0;
    e1 = run_edge(d, w, e, 1, 0);                   /* after the light run after the centre */
    if (e1 - e != f || e1 >= w)
        return 0;
    e2 = run_edge(d, w, e1, 1, 1);                  /* after the last dark run */
    if (e2 - e1 != f)
        return 0;
    if (b2 + 1 == first || b2 - run_edge(d, w, b2, -1, 0) >= 4 * f)
        return 40;
    if (e2 - 1 == last || run_edge(d, w, e2, 1, 0) - e2 >= 4 * f)
        return 40;
    return 0;
}

/* Penalties 1 (runs of >= 5) and 3 (1:1:3:1:1) of one line of w modules, as libqrencode's
 * Mask_calcN1N3 counts them on its run lengths.  nw: words used; valid: the line's w bits. */
INLINE int line_penalty(const uint64_t *d, int w, int nw, const uint64_t *valid)
{
    uint64_t lt[LW], edge[LW] = { 0 };
    int i, pen = 0, first = -1, last = -1;

    for (i = 0; i < nw; i++)
        lt[i] = ~d[i] & valid[i];
    for (i = 0; i < nw && first < 0; i++)
        if (d[i])
            first = 64 * i + __builtin_ctzll(d[i]);
    for (i = nw - 1; i >= 0 && last < 0; i--)
        if (d[i])
            last = 64 * i + 63 - __builtin_clzll(d[i]);
    /* a 1:1:3:1:1 pattern starting at the line's first dark module, or ending at its last, counts
     * whatever light lies beyond it */
    if (first >= 0)
        edge[first / 64] |= (uint64_t)1 << (first % 64);
    if (last >= 6)
        edge[(last - 6) / 64] |= (uint64_t)1 << ((last - 6) % 64);
    for (i = 0; i < nw; i++) {
        /* a run of L >= 5 costs 3 + (L - 5): one per 5-module window in it, 2 more at its start */
        uint64_t run5 = (d[i] & at(d, i, 1, nw) & at(d, i, 2, nw) & at(d, i, 3, nw) & at(d, i, 4, nw))
                      | (lt[i] & at(lt, i, 1, nw) & at(lt, i, 2, nw) & at(lt, i, 3, nw) & at(lt, i, 4, nw));
        uint64_t start = (d[i] ^ at(d, i, -1, nw)) | (i == 0);
        /* exact dark-light-ddd-light-dark starting here, light (or the line's end) around it */
        uint64_t fin = d[i] & at(lt, i, 1, nw) & at(d, i, 2, nw) & at(d, i, 3, nw) & at(d, i, 4, nw)
                     & at(lt, i, 5, nw) & at(d, i, 6, nw) & ~at(d, i, -1, nw) & ~at(d, i, 7, nw);
        /* dark runs of >= 6 starting here: centres of the wider patterns, rare, checked one by one */
        uint64_t wide = d[i] & ~at(d, i, -1, nw) & at(d, i, 1, nw) & at(d, i, 2, nw) & at(d, i, 3, nw)
                      & at(d, i, 4, nw) & at(d, i, 5, nw);

        if (run5)
            pen += pop(run5) + 2 * pop(run5 & start);
        if (fin) {
            uint64_t room = edge[i]
                | (at(lt, i, -1, nw) & at(lt, i, -2, nw) & at(lt, i, -3, nw) & at(lt, i, -4, nw))
                | (at(lt, i, 7, nw) & at(lt, i, 8, nw) & at(lt, i, 9, nw) & at(lt, i, 10, nw));
            pen += 40 * pop(fin & room);
        }
        while (wide) {
            pen += n3_wide(d, w, 64 * i + __builtin_ctzll(wide), first, last);
            wide &= wide - 1;
        }
    }
    return pen;
}

/* The whole penalty of a candidate (rows, and cols its transpose), as libqrencode's Mask_mask
 * sums it; counting stops once it reaches limit (the best so far: this one cannot win). */
INLINE int penalty(uint64_t (*rows)[LW], uint64_t (*cols)[LW], int w, int nw,
                   const uint64_t *valid, int limit)
{
    int y, i, blacks = 0, w2 = w * w, pen;

    for (y = 0; y < w; y++)
        for (i = 0; i < nw; i++)
            blacks += pop(rows[y][i]);
    /* penalty 4 in libqrencode's integer arithmetic: the dark percentage, rounded */
    pen = (abs((200 * blacks + w2) / w2 / 2 - 50) / 5) * 10;
    /* penalty 2: every 2x2 block of one colour, overlapping ones too */
    for (y = 1; y < w; y++)
        for (i = 0; i < nw; i++) {
            const uint64_t *r0 = rows[y - 1], *r1 = rows[y];
            uint64_t b = r0[i] & r1[i], b1 = at(r0, i, 1, nw) & at(r1, i, 1, nw);
            uint64_t l = ~(r0[i] | r1[i]) & valid[i];
            uint64_t l1 = ~(at(r0, i, 1, nw) | at(r1, i, 1, nw)) & at(valid, i, 1, nw);
            pen += 3 * pop((b & b1) | (l & l1));    /* a block is dark or light, not both */
        }
    for (y = 0; y < w && pen < limit; y++)
        pen += line_penalty(rows[y], w, nw, valid) + line_penalty(cols[y], w, nw, valid);
    return pen;
}

/* a[x] of the 64 x 64 bit block a becomes a[y] bit x, bit y — the columns as lines */
static void transpose64(uint64_t *a)
{
    uint64_t m = 0x00000000FFFFFFFFULL, t;
    int j, k;
    for (j = 32; j; j >>= 1, m ^= m << j)
        for (k = 0; k < 64; k = ((k | j) + 1) & ~j) {
            t = ((a[k] >> j) ^ a[k | j]) & m;
            a[k] ^= t << j;
            a[k | j] ^= t;
        }
}

/* the lines of the symbol's rows (bits x of rows[y]) as the lines of its columns (cols[x]) */
static void transpose(uint64_t (*cols)[LW], uint64_t (*rows)[LW], int nw)
{
    uint64_t blk[64];
    int r, c, i;
    for (r = 0; r < nw; r++)
        for (c = 0; c < nw; c++) {
            for (i = 0; i < 64; i++)
                blk[i] = rows[64 * r + i][c];
            transpose64(blk);
            for (i = 0; i < 64; i++)
                cols[64 * c + i][r] = blk[i];
        }
}

/* Makes the mask-0 symbol qr into the one libqrencode's Mask_mask would choose: the lowest total
 * penalty over masks 0..7, the first on ties.  Each candidate is mask 0's symbol with the data
 * modules flipped where the two patterns differ and its own format information.  Returns 0, qr
 * untouched, when qr is not laid out as expected. */
static int choose_mask(QRcode *qr)
{
    /* rows and columns of the dark and of the data modules, then of a candidate, then the best;
     * MAXW lines, the ones past the symbol empty, for the 64-line blocks of transpose() */
    uint64_t dark[MAXW][LW], data[MAXW][LW], tdark[MAXW][LW], tdata[MAXW][LW];
    uint64_t rows[MAXW][LW], cols[MAXW][LW], best_rows[QR_MAXW][LW], valid[LW];
    int w = qr->width, nw = (w + 63) / 64, x, y, i, c, k, best_pen = INT_MAX;
    unsigned char *d = qr->data;

    if (w < 21 || w > QR_MAXW)
        return 0;
    for (i = 0; i < 15; i++)
        for (c = 0; c < 2; c++) {
            fmt_pos(w, i, c, &x, &y);
            if (d[y * w + x] != (0x84 | ((fmt_m[0] >> i) & 1)))
                return 0;
        }
    pthread_once(&diff_once, diff_init);
    for (i = 0; i < nw; i++)
        valid[i] = w >= 64 * (i + 1) ? ~(uint64_t)0 : ((uint64_t)1 << (w - 64 * i)) - 1;
    memset(dark, 0, sizeof(dark));
    memset(data, 0, sizeof(data));
    for (y = 0; y < w; y++)
        for (x = 0; x < w; x += 8) {
            /* 8 modules' bytes at once: bit 0 (dark) and bit 7 (not data: libqrencode masks all
             * modules but those) of each gathered into 8 bits */
            uint64_t v = 0, b, f;
            int n = w - x < 8 ? w - x : 8;
            memcpy(&v, d + y * w + x, (size_t)n);
            b = ((v & 0x0101010101010101ULL) * 0x0102040810204080ULL) >> 56;
            f = ((~v >> 7 & 0x0101010101010101ULL) * 0x0102040810204080ULL) >> 56;
            f &= (1u << n) - 1;
            dark[y][x / 64] |= b << (x % 64);
            data[y][x / 64] |= f << (x % 64);
        }
    transpose(tdark, dark, nw);
    transpose(tdata, data, nw);

    for (k = 0; k < 8; k++) {
        unsigned fd = fmt_m[k] ^ fmt_m[0];
        int pen;
        for (y = 0; y < w; y++)
            for (i = 0; i < nw; i++) {
                rows[y][i] = dark[y][i] ^ (data[y][i] & row_diff[k][y % PERIOD][i]);
                cols[y][i] = tdark[y][i] ^ (tdata[y][i] & col_diff[k][y % PERIOD][i]);
            }
        for (i = 0; i < 15; i++)
            if ((fd >> i) & 1)
                for (c = 0; c < 2; c++) {
                    fmt_pos(w, i, c, &x, &y);
                    rows[y][x / 64] ^= (uint64_t)1 << (x % 64);
                    cols[x][y / 64] ^= (uint64_t)1 << (y % 64);
                }
        /* the word count as a constant, so that the compiler unrolls the line code for it */
        if (nw == 1)
            pen = penalty(rows, cols, w, 1, valid, best_pen);
        else if (nw == 2)
            pen = penalty(rows, cols, w, 2, valid, best_pen);
        else
            pen = penalty(rows, cols, w, 3, valid, best_pen);
        if (pen < best_pen) {
            best_pen = pen;
            memcpy(best_rows, rows, sizeof(rows[0]) * w);
        }
    }

    /* the best candidate's dark bits into libqrencode's bytes: its data modules and format
     * information change, nothing else */
    for (y = 0; y < w; y++)
        for (x = 0; x < w; x += 8) {
            uint64_t v = 0, b = best_rows[y][x / 64] >> (x % 64);
            int n = w - x < 8 ? w - x : 8;
            memcpy(&v, d + y * w + x, (size_t)n);
            v = (v & ~0x0101010101010101ULL) | spread[b & 0xFF];
            memcpy(d + y * w + x, &v, (size_t)n);
        }
    return 1;
}

/* The symbol QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) gives, module for module,
 * at a fraction of its cost: the same input, encoded once with mask 0, then choose_mask.  NULL as
 * libqrencode fails (no text, too long, no memory); free with QRcode_free. */
static QRcode *qr_encode(const char *text)
{
    QRinput *in;
    QRcode *qr;

    pthread_once(&inner_once, inner_lookup);
    if (!text)
        return NULL;
    if (!split_string)
        return QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!(in = QRinput_new2(0, QR_ECLEVEL_M)))
        return NULL;
    if (split_string(text, in, QR_MODE_8, 1) < 0) {
        QRinput_free(in);
        return NULL;
    }
    qr = encode_mask(in, 0);
    if (qr && !choose_mask(qr)) {               /* not the layout expected: libqrencode's own way */
        QRcode_free(qr);
        qr = encode_mask(in, -1);
    }
    QRinput_free(in);
    return qr;
}

int hg_qr_fast_mask(void)
{
    pthread_once(&inner_once, inner_lookup);
    return split_string != NULL;
}

apr_status_t hg_qr_encode_modules(const unsigned char **modules, int *width, apr_pool_t *p,
                                  const char *text)
{
    QRcode *qr = qr_encode(text);
    if (!qr)
        return HG_EINVALID;
    *width = qr->width;
    *modules = apr_pmemdup(p, qr->data, (apr_size_t)qr->width * qr->width);
    QRcode_free(qr);
    return APR_SUCCESS;
}

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
    QRcode *qr = qr_encode(text);
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
    QRcode *qr = qr_encode(text);
    int w, x, y;
    char *path, *o;
    if (!qr)
        return HG_EINVALID;
    w = qr->width;
    /* one square a dark module, written in place: "M<x> <y>h1v1h-1z" is at most 20 bytes */
    o = path = apr_palloc(p, (apr_size_t)w * w * 20 + 1);
    for (y = 0; y < w; y++)
        for (x = 0; x < w; x++)
            if (qr->data[y * w + x] & 1)
                o += sprintf(o, "M%d %dh1v1h-1z", x + QUIET, y + QUIET);
    *o = '\0';
    QRcode_free(qr);
    *svg = apr_psprintf(p, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                        "shape-rendering=\"crispEdges\"><rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>"
                        "<path d=\"%s\" fill=\"#000\"/></svg>", w + 2 * QUIET, w + 2 * QUIET, path);
    return APR_SUCCESS;
}
