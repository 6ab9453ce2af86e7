/* hg_zip: raw deflate (RFC 1951, no zlib header) of documents of a few KB, in pool memory.
 * Used to pack sealed documents and audit bodies before encryption. */
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
#endif
