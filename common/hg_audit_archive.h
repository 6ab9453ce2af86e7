/* hg_audit_archive: retention of the audit journal (hg.audit).
 *
 * The law asks a network operator to keep its logs six months at least (网络安全法 第二十一条), and
 * a busy hospital journals millions of rows a month.  Old rows leave the database in two steps a
 * sysadmin can put a backup between:
 *   archive  the sealed rows older than keep_days (a prefix of the chain, from the anchor on) go to
 *            a new file, one JSON object a line: a header (format, from_seq, prev_hash), the rows
 *            exactly as they were hashed (bodies still SM4-encrypted), a trailer (to_seq, rows,
 *            last_hash).  The chain is recomputed while writing: a broken journal is not archived.
 *   purge    the archive is read back and its chain recomputed; it must continue the anchor and end
 *            at a row the database holds with the same hash, older than HG_AUDIT_MIN_KEEP_DAYS.
 *            The range is recorded in hg.audit_purges (the newest is the anchor that
 *            hg_audit_verify starts from) and journalled, then the rows go in short batches.
 * The file alone proves its rows: its chain starts at the hash the anchor before it recorded. */
#ifndef HG_AUDIT_ARCHIVE_H
#define HG_AUDIT_ARCHIVE_H
#include <apr_pools.h>
#include "hg_db.h"
#include "hg_audit.h"

#define HG_AUDIT_MIN_KEEP_DAYS 180
#define HG_AUDIT_ARCHIVE_FORMAT "hisgate-audit-archive/1"

typedef struct hg_audit_archive_t {
    apr_int64_t from_seq, to_seq, rows;
    char prev_hash[65];           /* the chain's hash before from_seq (the anchor's) */
    char last_hash[65];           /* the hash of to_seq */
    const char *first_at, *last_at;   /* the first and last row's time, ISO 8601 */
} hg_audit_archive_t;

/* write the sealed rows older than keep_days (>= HG_AUDIT_MIN_KEEP_DAYS) that follow the anchor to
 * a new file at path (APR_EEXIST when it exists), synced.  a->rows == 0 when there are none, and no
 * file is left.  HG_EINVALID with *why when keep_days is too short or the chain is broken (then the
 * file is removed). */
apr_status_t hg_audit_archive_write(hg_db_t *db, int keep_days, const char *path, hg_audit_archive_t *a,
                                    const char **why);

/* read an archive, recompute its chain from its header's prev_hash; HG_EINVALID with *why (in p)
 * naming the line when the file is not a whole, intact archive */
apr_status_t hg_audit_archive_check(apr_pool_t *p, const char *path, hg_audit_archive_t *a, const char **why);

typedef struct hg_audit_purged_t {
    apr_int64_t deleted;          /* rows deleted by this run */
    int already;                  /* the archive had been purged before: only what was left went */
} hg_audit_purged_t;

/* purge the rows of archive a (checked by hg_audit_archive_check): one purge at a time
 * (HG_ECONFLICT); HG_EINVALID with *why when a does not continue the anchor or differs from the
 * database.  The anchor moves, the range is recorded (archive_name as given) and journalled under
 * journal (its bodies are set here) in one transaction with the first batch; later batches delete
 * what the anchor covers, so an interrupted purge is finished by running it again. */
apr_status_t hg_audit_purge(hg_db_t *db, const hg_audit_archive_t *a, const char *archive_name, int batch,
                            const unsigned char audit_key[16], hg_audit_rec_t *journal,
                            hg_audit_purged_t *done, const char **why);
#endif
