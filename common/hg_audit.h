/* hg_audit: the journal of every data transmission (hg.audit).
 * Bodies are packed (LZ4), then SM4-CBC encrypted with the audit key.  Rows are inserted without blocking one
 * another; the sealer (watchdog tick, or `hisgate audit seal`) gives them consecutive chain
 * positions and an SM3 hash over the previous hash and the row, so a changed, removed or
 * re-ordered row breaks the chain.  Verification needs no key: it hashes the ciphertext. */
#ifndef HG_AUDIT_H
#define HG_AUDIT_H
#include <apr_pools.h>
#include "hg_db.h"

typedef struct hg_audit_rec_t {
    const char *institution, *caller, *direction /* "in" | "out" */, *endpoint, *request_id;
    int status, elapsed_ms;
    const char *req_body;  apr_size_t req_len;
    const char *resp_body; apr_size_t resp_len;
} hg_audit_rec_t;

/* "sm4l:<iv>:<ciphertext>" (base64url) of the LZ4-packed body (hg_lz4_pack); decrypt also opens
 * the older "sm4z:" rows (raw deflate) and "sm4cbc:<iv hex>:<ciphertext hex>" (not packed) */
apr_status_t hg_audit_encrypt(char **out, apr_pool_t *p, const unsigned char key[16],
                              const char *body, apr_size_t len);
apr_status_t hg_audit_decrypt(char **out, apr_size_t *len, apr_pool_t *p,
                              const unsigned char key[16], const char *enc);

apr_status_t hg_audit_insert(hg_db_t *db, const unsigned char key[16], const hg_audit_rec_t *rec);
/* the same row as a statement (bodies encrypted, parameters in p), to send in a caller's pipeline:
 * a write and its audit row committed together, in one round trip */
apr_status_t hg_audit_stmt(hg_db_stmt_t *st, apr_pool_t *p, const unsigned char key[16],
                           const hg_audit_rec_t *rec);
/* the rows of several calls as one statement: rows[i] is the parameters of an hg_audit_stmt (its
 * HG_AUDIT_NCOLS values, in its order); a group's journal committed with the group's write */
#define HG_AUDIT_NCOLS 9
apr_status_t hg_audit_rows_stmt(hg_db_stmt_t *st, apr_pool_t *p, const char *const *const *rows, int n);
/* one statement: guard (a data-modifying statement with RETURNING), and the row only when the guard
 * returned a row (then the result has one row): a guarded write and its journal, or neither */
apr_status_t hg_audit_stmt_guarded(hg_db_stmt_t *st, apr_pool_t *p, const unsigned char key[16],
                                   const hg_audit_rec_t *rec, const hg_db_stmt_t *guard);

/* chain up to max_rows unsealed rows; *sealed = how many */
apr_status_t hg_audit_seal(hg_db_t *db, int max_rows, int *sealed);

/* the chain's anchor: the last position archived and purged (hisgate audit purge,
 * hg_audit_archive.h) and its hash; 0 and 64 zeros before the first purge */
apr_status_t hg_audit_anchor(hg_db_t *db, apr_int64_t *seq, char hash[65]);

typedef struct hg_audit_verdict_t {
    apr_int64_t checked;          /* rows whose hash was recomputed */
    apr_int64_t bad_seq;          /* first broken chain position, 0 when intact */
    apr_int64_t bad_id;           /* its row id when the row exists */
    const char *reason;           /* "hash mismatch", "missing row", "head mismatch", ... */
    apr_int64_t unsealed_old;     /* rows older than 10 minutes that are still unsealed */
    apr_int64_t archived_to;      /* the anchor: positions up to it were archived and purged */
} hg_audit_verdict_t;
/* the chain from the anchor on (what purges left) to the head, read in one snapshot (a read-only
 * REPEATABLE READ transaction): a sealer working meanwhile changes nothing it sees */
apr_status_t hg_audit_verify(hg_db_t *db, hg_audit_verdict_t *v);

/* hash of one row given the previous hash (hex) — exposed for the unit test */
apr_status_t hg_audit_row_hash(char out_hex[65], const char *prev_hex, apr_int64_t seq,
                               const char *at_us, const char *institution, const char *caller,
                               const char *direction, const char *endpoint, const char *status,
                               const char *elapsed_ms, const char *request_id,
                               const char *req_enc, const char *resp_enc);
#endif
