/* hg_zip: compression of documents of a few KB, in pool memory, to pack sealed documents and
 * audit bodies before encryption.  New data is packed with LZ4 (hg_lz4_pack): on a bill's 1-3 KB
 * it is ~6x faster than deflate level 1, for ~25% more bytes.  Raw deflate (RFC 1951, no zlib
 * header) still opens what was packed before. */
#ifndef HG_ZIP_H
#define HG_ZIP_H
#include <apr_pools.h>
#include "hg_status.h"

#define HG_ZIP_MAX (16u << 20)    /* neither side handles more (an inflated body is never larger) */

/* compress len bytes; HG_EINVALID when len > HG_ZIP_MAX */
apr_status_t hg_deflate_raw(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                            const void *in, apr_size_t len);
/* decompress; *out is NUL-terminated one past *outlen; HG_EINVALID on a corrupt stream or
 * output beyond HG_ZIP_MAX */
apr_status_t hg_inflate_raw(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                            const unsigned char *in, apr_size_t len);

/* LZ4 block format behind the original length (4 bytes, little-endian): the layout of Perl's
 * Compress::LZ4 and Python's lz4.block, so the stored form opens with common tools;
 * HG_EINVALID when len > HG_ZIP_MAX */
apr_status_t hg_lz4_pack(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                         const void *in, apr_size_t len);
/* *out is NUL-terminated one past *outlen; HG_EINVALID on a corrupt block, a length beyond
 * HG_ZIP_MAX, or a block that does not decode to exactly the stated length */
apr_status_t hg_lz4_unpack(unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                           const unsigned char *in, apr_size_t len);
#endif
