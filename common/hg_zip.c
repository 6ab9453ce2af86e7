/* hg_zip: compression of small documents in pool memory (liblz4, zlib) */
#include <string.h>
#include <lz4.h>
#include <zlib.h>
#include "hg_zip.h"

/* zlib allocates from the request pool: nothing to free, nothing to leak on an early return */
static voidpf zpool_alloc(voidpf opaque, uInt items, uInt size)
{
    return apr_palloc(opaque, (apr_size_t)items * size);
}

static void zpool_free(voidpf opaque, voidpf address)
{
    (void)opaque;
    (void)address;
}

apr_status_t hg_deflate_raw(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                            const void *in, apr_size_t len)
{
    z_stream zs;
    uLong cap;
    memset(&zs, 0, sizeof(zs));
    zs.zalloc = zpool_alloc;
    zs.zfree = zpool_free;
    zs.opaque = p;
    /* level 1, a 2 KB window and a small hash state: documents are a few KB, and zlib's default 256 KB
     * state would cost more than the compression saves */
    if (len > HG_ZIP_MAX || deflateInit2(&zs, 1, Z_DEFLATED, -11, 5, Z_DEFAULT_STRATEGY) != Z_OK)
        return HG_EINVALID;
    cap = deflateBound(&zs, (uLong)len);
    *out = apr_palloc(p, cap);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = *out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
        deflateEnd(&zs);
        return HG_EINVALID;
    }
    *outlen = zs.total_out;
    deflateEnd(&zs);
    return APR_SUCCESS;
}

apr_status_t hg_inflate_raw(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                            const unsigned char *in, apr_size_t len)
{
    z_stream zs;
    apr_size_t cap = len * 4 + 64;
    int zr;
    memset(&zs, 0, sizeof(zs));
    zs.zalloc = zpool_alloc;
    zs.zfree = zpool_free;
    zs.opaque = p;
    if (inflateInit2(&zs, -15) != Z_OK)
        return HG_EINVALID;
    *out = apr_palloc(p, cap + 1);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    for (;;) {
        zs.next_out = *out + zs.total_out;
        zs.avail_out = (uInt)(cap - zs.total_out);
        zr = inflate(&zs, Z_NO_FLUSH);
        if (zr == Z_STREAM_END)
            break;
        if ((zr != Z_OK && zr != Z_BUF_ERROR) || (zs.avail_out && !zs.avail_in) || cap >= HG_ZIP_MAX) {
            inflateEnd(&zs);
            return HG_EINVALID;
        }
        if (!zs.avail_out) {          /* grow: copy what we have into a buffer twice the size */
            unsigned char *bigger = apr_palloc(p, cap * 2 + 1);
            memcpy(bigger, *out, zs.total_out);
            *out = bigger;
            cap *= 2;
        }
    }
    *outlen = zs.total_out;
    (*out)[*outlen] = '\0';
    inflateEnd(&zs);
    return APR_SUCCESS;
}


apr_status_t hg_lz4_pack(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                         const void *in, apr_size_t len)
{
    int cap, n;
    void *state;
    if (len > HG_ZIP_MAX)
        return HG_EINVALID;
    cap = LZ4_compressBound((int)len);
    *out = apr_palloc(p, (apr_size_t)cap + 4);
    (*out)[0] = (unsigned char)len;
    (*out)[1] = (unsigned char)(len >> 8);
    (*out)[2] = (unsigned char)(len >> 16);
    (*out)[3] = (unsigned char)(len >> 24);
    /* the 16 KB state from the pool: no malloc, nothing to free */
    state = apr_palloc(p, (apr_size_t)LZ4_sizeofState());
    n = len ? LZ4_compress_fast_extState(state, in, (char *)*out + 4, (int)len, cap, 1) : 0;
    if (len && n <= 0)
        return HG_EINVALID;
    *outlen = (apr_size_t)n + 4;
    return APR_SUCCESS;
}

apr_status_t hg_lz4_unpack(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                           const unsigned char *in, apr_size_t len)
{
    apr_size_t want;
    int n;
    if (len < 4 || len - 4 > (apr_size_t)LZ4_MAX_INPUT_SIZE)
        return HG_EINVALID;
    want = (apr_size_t)in[3] << 24 | (apr_size_t)in[2] << 16 | (apr_size_t)in[1] << 8 | in[0];
    if (want > HG_ZIP_MAX)
        return HG_EINVALID;
    *out = apr_palloc(p, want + 1);
    if (!want) {                  /* an empty body is the length alone */
        (*out)[0] = '\0';
        *outlen = 0;
        return len == 4 ? APR_SUCCESS : HG_EINVALID;
    }
    n = LZ4_decompress_safe((const char *)in + 4, (char *)*out, (int)(len - 4), (int)want);
    if (n < 0 || (apr_size_t)n != want)
        return HG_EINVALID;
    *outlen = want;
    (*out)[want] = '\0';
    return APR_SUCCESS;
}
