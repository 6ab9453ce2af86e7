/* hisgate status codes: apr_status_t values in APR's user range, shared by all of common/ and the modules. */
#ifndef HG_STATUS_H
#define HG_STATUS_H
#include <apr_errno.h>

#define HG_STATUS_BASE   (APR_OS_START_USERERR + 7000)
#define HG_EINVALID      (HG_STATUS_BASE + 1)   /* input failed validation (see the hg_error_t) */
#define HG_ECRYPTO       (HG_STATUS_BASE + 2)   /* a crypto primitive failed (bad key, bad padding...) */
#define HG_EBADSIG       (HG_STATUS_BASE + 3)   /* a signature did not verify */
#define HG_EDB           (HG_STATUS_BASE + 4)   /* a database statement failed */
#define HG_EDBDOWN       (HG_STATUS_BASE + 5)   /* no database connection could be had */
#define HG_EDBBUSY       (HG_STATUS_BASE + 6)   /* the connection pool stayed exhausted past the wait limit */
#define HG_ECONFLICT     (HG_STATUS_BASE + 7)   /* the write conflicts with what is stored (409) */
#define HG_ENOTFOUND     (HG_STATUS_BASE + 8)
#define HG_EHTTP         (HG_STATUS_BASE + 9)   /* an outbound HTTP exchange failed (no answer) */
#define HG_ETIMEOUT      (HG_STATUS_BASE + 10)  /* an outbound call timed out: outcome unknown */
#define HG_EPLATFORM     (HG_STATUS_BASE + 11)  /* an outside platform answered with a business error */
#define HG_EOVERFLOW     (HG_STATUS_BASE + 12)  /* arithmetic overflow (money) */
#define HG_EAUTH         (HG_STATUS_BASE + 13)  /* authentication failed (see the hg_error_t) */
#define HG_EPDF          (HG_STATUS_BASE + 14)  /* PDF rendering failed */
#endif
