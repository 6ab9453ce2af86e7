/* consult_cache: a visit row in the byte form that mod_consult keeps in the visit cache shared by
 * httpd's processes (a mod_socache provider, ConsultVisitCache; shmcb by default), under the
 * session's keyed token index.
 *
 * With the row at hand, an answer step is one guarded UPDATE (… WHERE rev = cached rev) instead of
 * a locking read and a write.  A per-process cache missed whenever a patient's next step reached
 * the other process (a new connection, or another keep-alive one): measured, most steps then paid
 * a failed guard and the locked read on top.  The database stays the authority: a stale row fails
 * the guard and the step is done again from a locked read.
 *
 * Form: "HGV1", the column count (2 bytes, big-endian), then per column a flag byte (0 = SQL NULL,
 * 1 = value) and the value with its NUL.  No httpd header: unit-tested. */
#ifndef CONSULT_CACHE_H
#define CONSULT_CACHE_H
#include <apr_pools.h>
#include "hg_db.h"

/* row 0 of r in byte form (in p), its length in *len; NULL when r has no row */
unsigned char *consult_row_encode(apr_pool_t *p, const hg_db_result_t *r, apr_size_t *len);

/* the one-row result (in p) of a byte form, or NULL when it is not one whole (truncated, trailing
 * bytes, a value without its NUL, an unknown flag, another magic) */
hg_db_result_t *consult_row_decode(apr_pool_t *p, const unsigned char *buf, apr_size_t len);
#endif
