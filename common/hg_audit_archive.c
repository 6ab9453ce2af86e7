/* hg_audit_archive: the journal's old rows to a file, then out of the database (see the header) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <apr_strings.h>
#include <jansson.h>
#include "hg_audit_archive.h"
#include "hg_json.h"

#define ARCHIVE_BATCH 2000

/* the fields of a row as hg_audit_row_hash takes them, in that order, as the archive names them */
static const char *const hashed_keys[] = {
    "at_us", "institution", "caller", "direction", "endpoint", "status", "elapsed_ms", "request_id",
    "req_enc", "resp_enc"
};
#define NHASHED ((int)(sizeof(hashed_keys) / sizeof(hashed_keys[0])))

static apr_status_t row_hash(char out[65], const char *prev, apr_int64_t seq, const char *const v[NHASHED])
{
    return hg_audit_row_hash(out, prev, seq, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]);
}

static int is_hash(const char *h)
{
    int i;
    if (!h || strlen(h) != 64)
        return 0;
    for (i = 0; i < 64; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return 0;
    return 1;
}

/* ---------------------------------------------------------------- archive */

/* one JSON object and a newline; the object is released */
static int put_line(FILE *out, json_t *o)
{
    int bad = !o || json_dumpf(o, out, JSON_COMPACT) != 0 || fputc('\n', out) == EOF;
    json_decref(o);
    return bad ? -1 : 0;
}

#define ROW_COLS "seq, id, (extract(epoch FROM at) * 1000000)::bigint::text, institution, caller, direction, " \
                 "endpoint, status::text, elapsed_ms::text, request_id, req_enc, resp_enc, hash, " \
                 "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* rows (from_seq-1, to_seq] in chain order, each checked against the chain, to out */
static apr_status_t write_rows(hg_db_t *db, FILE *out, hg_audit_archive_t *a, const char **why)
{
    apr_pool_t *bp;
    apr_int64_t last = a->from_seq - 1;
    char prev[65];
    apr_status_t rv;
    memcpy(prev, a->prev_hash, 65);
    if ((rv = apr_pool_create(&bp, db->pool)))
        return rv;
    while (last < a->to_seq && rv == APR_SUCCESS) {
        hg_db_t *bdb;
        hg_db_result_t *r;
        int i;
        apr_pool_clear(bp);
        /* a wrapper per batch: a year of rows must not pile up in the caller's pool */
        if ((rv = hg_db_wrap(&bdb, bp, db->conn))
            || (rv = hg_db_q(bdb, &r, "SELECT " ROW_COLS " FROM hg.audit WHERE seq > $1::bigint "
                             "AND seq <= $2::bigint ORDER BY seq LIMIT $3::int", 3, apr_off_t_toa(bp, last),
                             apr_off_t_toa(bp, a->to_seq), apr_itoa(bp, ARCHIVE_BATCH))))
            break;
        if (r->nrows == 0) {
            *why = apr_psprintf(db->pool, "chain position %" APR_INT64_T_FMT " is missing from the journal", last + 1);
            rv = HG_EINVALID;
        }
        for (i = 0; i < r->nrows && rv == APR_SUCCESS; i++) {
            const char *v[NHASHED];
            char h[65];
            apr_int64_t seq = apr_atoi64(hg_db_val(r, i, 0));
            json_t *o;
            int k;
            for (k = 0; k < NHASHED; k++)
                v[k] = hg_db_val(r, i, k + 2) ? hg_db_val(r, i, k + 2) : "";
            if (seq != last + 1) {
                *why = apr_psprintf(db->pool, "chain position %" APR_INT64_T_FMT " is missing from the journal",
                                    last + 1);
                rv = HG_EINVALID;
                break;
            }
            if ((rv = row_hash(h, prev, seq, v)))
                break;
            if (strcmp(h, hg_db_val(r, i, 12) ? hg_db_val(r, i, 12) : "")) {
                *why = apr_psprintf(db->pool, "hash mismatch at chain position %" APR_INT64_T_FMT " (row id %s): "
                                    "the journal was changed (hisgate audit verify)", seq, hg_db_val(r, i, 1));
                rv = HG_EINVALID;
                break;
            }
            o = json_pack("{s:I, s:s, s:s}", "seq", (json_int_t)seq, "id", hg_db_val(r, i, 1),
                          "at", hg_db_val(r, i, 13));
            for (k = 0; o && k < NHASHED; k++)
                json_object_set_new(o, hashed_keys[k], json_string(v[k]));
            if (o)
                json_object_set_new(o, "hash", json_string(h));
            if (put_line(out, o)) {
                rv = errno ? APR_FROM_OS_ERROR(errno) : APR_EGENERAL;
                break;
            }
            if (!a->first_at)
                a->first_at = apr_pstrdup(db->pool, hg_db_val(r, i, 13));
            a->last_at = apr_pstrdup(db->pool, hg_db_val(r, i, 13));
            memcpy(prev, h, 65);
            last = seq;
            a->rows++;
        }
    }
    apr_pool_destroy(bp);
    if (rv == APR_SUCCESS)
        memcpy(a->last_hash, prev, 65);
    return rv;
}

apr_status_t hg_audit_archive_write(hg_db_t *db, int keep_days, const char *path, hg_audit_archive_t *a,
                                    const char **why)
{
    hg_db_result_t *r;
    apr_int64_t anchor;
    apr_status_t rv;
    FILE *out;
    int fd;

    memset(a, 0, sizeof(*a));
    *why = NULL;
    if (keep_days < HG_AUDIT_MIN_KEEP_DAYS) {
        *why = apr_psprintf(db->pool, "the journal is kept %d days at least (网络安全法 第二十一条: six months); "
                            "got %d", HG_AUDIT_MIN_KEEP_DAYS, keep_days);
        return HG_EINVALID;
    }
    if ((rv = hg_audit_anchor(db, &anchor, a->prev_hash)))
        return rv;
    /* a prefix of the chain: up to the first sealed row that is not old enough */
    if ((rv = hg_db_q(db, &r, "SELECT coalesce((SELECT min(seq) - 1 FROM hg.audit WHERE seq > $1::bigint "
                      "  AND at >= now() - make_interval(days => $2::int)), "
                      "  (SELECT seq FROM hg.audit_head WHERE id = 1))", 2,
                      apr_off_t_toa(db->pool, anchor), apr_itoa(db->pool, keep_days))))
        return rv;
    a->from_seq = anchor + 1;
    a->to_seq = apr_atoi64(hg_db_val(r, 0, 0));
    if (a->to_seq < a->from_seq) {
        a->to_seq = anchor;
        return APR_SUCCESS;           /* nothing old enough: no file */
    }
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
        return errno == EEXIST ? APR_EEXIST : APR_FROM_OS_ERROR(errno);
    if (!(out = fdopen(fd, "w"))) {
        rv = APR_FROM_OS_ERROR(errno);
        close(fd);
        unlink(path);
        return rv;
    }
    if (put_line(out, json_pack("{s:s, s:I, s:s, s:i}", "format", HG_AUDIT_ARCHIVE_FORMAT,
                                "from_seq", (json_int_t)a->from_seq, "prev_hash", a->prev_hash,
                                "keep_days", keep_days)))
        rv = APR_EGENERAL;
    if (rv == APR_SUCCESS)
        rv = write_rows(db, out, a, why);
    if (rv == APR_SUCCESS
        && put_line(out, json_pack("{s:b, s:I, s:I, s:s, s:s?, s:s?}", "end", 1, "to_seq", (json_int_t)a->to_seq,
                                   "rows", (json_int_t)a->rows, "last_hash", a->last_hash,
                                   "first_at", a->first_at, "last_at", a->last_at)))
        rv = APR_EGENERAL;
    /* on disk before anyone purges on its word */
    if (rv == APR_SUCCESS && (fflush(out) != 0 || fsync(fileno(out)) != 0))
        rv = APR_FROM_OS_ERROR(errno);
    if (fclose(out) != 0 && rv == APR_SUCCESS)
        rv = APR_FROM_OS_ERROR(errno);
    if (rv != APR_SUCCESS)
        unlink(path);
    return rv;
}

/* ---------------------------------------------------------------- check */

/* the next line of in, without its newline, in p; NULL at the end */
static char *next_line(FILE *in, apr_pool_t *p, char **buf, size_t *cap)
{
    ssize_t n = getline(buf, cap, in);
    if (n < 0)
        return NULL;
    if (n > 0 && (*buf)[n - 1] == '\n')
        (*buf)[--n] = '\0';
    return apr_pstrmemdup(p, *buf, (apr_size_t)n);
}

static const char *str_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int int_of(json_t *o, const char *key, apr_int64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return 0;
    *out = json_integer_value(v);
    return 1;
}

/* one row line against the chain: *prev advances */
static const char *check_row(apr_pool_t *p, json_t *o, apr_int64_t expect, char prev[65], apr_int64_t line)
{
    const char *v[NHASHED], *hash = str_of(o, "hash");
    apr_int64_t seq;
    char h[65];
    int k;
    if (!int_of(o, "seq", &seq))
        return apr_psprintf(p, "line %" APR_INT64_T_FMT ": no chain position (seq)", line);
    if (seq != expect)
        return apr_psprintf(p, "line %" APR_INT64_T_FMT ": chain position %" APR_INT64_T_FMT
                            " where %" APR_INT64_T_FMT " was due", line, seq, expect);
    for (k = 0; k < NHASHED; k++)
        if (!(v[k] = str_of(o, hashed_keys[k])))
            return apr_psprintf(p, "line %" APR_INT64_T_FMT ": no %s", line, hashed_keys[k]);
    if (row_hash(h, prev, seq, v) != APR_SUCCESS)
        return "the hash could not be computed";
    if (!hash || strcmp(h, hash))
        return apr_psprintf(p, "line %" APR_INT64_T_FMT ": hash mismatch at chain position %" APR_INT64_T_FMT
                            ": the row was changed", line, seq);
    memcpy(prev, h, 65);
    return NULL;
}

apr_status_t hg_audit_archive_check(apr_pool_t *p, const char *path, hg_audit_archive_t *a, const char **why)
{
    apr_pool_t *lp;
    FILE *in;
    char *buf = NULL, *s, prev[65];
    size_t cap = 0;
    apr_int64_t line = 0, to = 0, rows = 0;
    json_t *o;
    int ended = 0;

    memset(a, 0, sizeof(*a));
    *why = NULL;
    if (!(in = fopen(path, "re")))
        return APR_FROM_OS_ERROR(errno);
    apr_pool_create(&lp, p);
    while (!*why && (apr_pool_clear(lp), s = next_line(in, lp, &buf, &cap))) {
        line++;
        if (ended) {
            *why = apr_psprintf(p, "line %" APR_INT64_T_FMT ": more after the trailer", line);
            break;
        }
        if (!json_is_object(o = hg_json_own(lp, json_loads(s, 0, NULL)))) {
            *why = apr_psprintf(p, "line %" APR_INT64_T_FMT ": not a JSON object", line);
            break;
        }
        if (line == 1) {
            const char *fmt = str_of(o, "format"), *ph = str_of(o, "prev_hash");
            if (!fmt || strcmp(fmt, HG_AUDIT_ARCHIVE_FORMAT) || !int_of(o, "from_seq", &a->from_seq)
                || a->from_seq < 1 || !is_hash(ph))
                *why = "line 1: not a hisgate audit archive header (format " HG_AUDIT_ARCHIVE_FORMAT ")";
            else {
                memcpy(prev, ph, 65);
                memcpy(a->prev_hash, ph, 65);
            }
        }
        else if (json_is_true(json_object_get(o, "end"))) {
            const char *lh = str_of(o, "last_hash");
            ended = 1;
            if (!int_of(o, "to_seq", &to) || !int_of(o, "rows", &rows) || !is_hash(lh))
                *why = apr_psprintf(p, "line %" APR_INT64_T_FMT ": a trailer without to_seq, rows, last_hash", line);
            else if (to != a->from_seq + a->rows - 1 || rows != a->rows || strcmp(lh, prev))
                *why = apr_psprintf(p, "line %" APR_INT64_T_FMT ": the trailer does not match the rows "
                                    "(to_seq %" APR_INT64_T_FMT ", rows %" APR_INT64_T_FMT ")", line, to, rows);
        }
        else if (!(*why = check_row(p, o, a->from_seq + a->rows, prev, line))) {
            const char *at = str_of(o, "at");
            if (!a->first_at)
                a->first_at = apr_pstrdup(p, at ? at : "");
            a->last_at = apr_pstrdup(p, at ? at : "");
            a->rows++;
        }
    }
    free(buf);
    fclose(in);
    apr_pool_destroy(lp);
    if (!*why && line == 0)
        *why = "the file is empty";
    if (!*why && !ended)
        *why = "no trailer: the file was cut short";
    if (!*why && a->rows == 0)
        *why = "the archive holds no rows";
    if (*why)
        return HG_EINVALID;
    a->to_seq = to;
    memcpy(a->last_hash, prev, 65);
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- purge */

/* delete up to batch rows the anchor covers; *n how many */
static apr_status_t delete_batch(hg_db_t *db, apr_int64_t upto, int batch, apr_int64_t *n)
{
    hg_db_result_t *r;
    apr_status_t rv = hg_db_q(db, &r, "WITH d AS (DELETE FROM hg.audit WHERE id IN (SELECT id FROM hg.audit "
                              "  WHERE seq <= $1::bigint ORDER BY seq LIMIT $2::int) RETURNING 1) "
                              "SELECT count(*) FROM d", 2, apr_off_t_toa(db->pool, upto), apr_itoa(db->pool, batch));
    if (rv == APR_SUCCESS)
        *n = apr_atoi64(hg_db_val(r, 0, 0));
    return rv;
}

typedef struct {
    const hg_audit_archive_t *a;
    const char *name;
    int batch;
    const unsigned char *key;
    hg_audit_rec_t *journal;
    apr_int64_t deleted;
} first_tx_t;

/* the anchor moves, the range is recorded and journalled, and the first batch goes: one commit */
static apr_status_t first_tx(hg_db_t *db, void *baton)
{
    first_tx_t *t = baton;
    const hg_audit_archive_t *a = t->a;
    apr_status_t rv;
    char *req;
    if ((rv = hg_db_q(db, NULL, "INSERT INTO hg.audit_purges (from_seq, to_seq, last_hash, rows, archive, "
                      "  first_at, last_at) VALUES ($1::bigint, $2::bigint, $3, $4::bigint, $5, $6::timestamptz, "
                      "  $7::timestamptz)", 7, apr_off_t_toa(db->pool, a->from_seq), apr_off_t_toa(db->pool, a->to_seq),
                      a->last_hash, apr_off_t_toa(db->pool, a->rows), t->name, a->first_at, a->last_at)))
        return rv;
    req = hg_json_dump(db->pool, hg_json_own(db->pool, json_pack("{s:s, s:I, s:I, s:I, s:s, s:s, s:s}",
                       "archive", t->name, "from_seq", (json_int_t)a->from_seq, "to_seq", (json_int_t)a->to_seq,
                       "rows", (json_int_t)a->rows, "last_hash", a->last_hash, "first_at", a->first_at,
                       "last_at", a->last_at)), 0);
    t->journal->req_body = req;
    t->journal->req_len = strlen(req);
    t->journal->resp_body = "";
    t->journal->resp_len = 0;
    if ((rv = hg_audit_insert(db, t->key, t->journal)))
        return rv;
    return delete_batch(db, a->to_seq, t->batch, &t->deleted);
}

static apr_status_t purge_locked(hg_db_t *db, const hg_audit_archive_t *a, first_tx_t *t,
                                 hg_audit_purged_t *done, const char **why)
{
    hg_db_result_t *r;
    apr_int64_t anchor, n;
    char anchor_hash[65];
    apr_status_t rv;

    if ((rv = hg_audit_anchor(db, &anchor, anchor_hash)))
        return rv;
    if ((rv = hg_db_q(db, &r, "SELECT 1 FROM hg.audit_purges WHERE from_seq = $1::bigint AND to_seq = $2::bigint "
                      "AND last_hash = $3", 3, apr_off_t_toa(db->pool, a->from_seq),
                      apr_off_t_toa(db->pool, a->to_seq), a->last_hash)))
        return rv;
    if (r->nrows == 1)
        done->already = 1;                /* run again after an interruption: finish the deleting */
    else if (a->from_seq != anchor + 1 || strcmp(a->prev_hash, anchor_hash)) {
        *why = apr_psprintf(db->pool, "the archive starts at chain position %" APR_INT64_T_FMT " but the journal "
                            "continues from %" APR_INT64_T_FMT " (archive again: hisgate audit archive)",
                            a->from_seq, anchor + 1);
        return HG_EINVALID;
    }
    else {
        if ((rv = hg_db_q(db, &r, "SELECT hash, at < now() - make_interval(days => $2::int) FROM hg.audit "
                          "WHERE seq = $1::bigint", 2, apr_off_t_toa(db->pool, a->to_seq),
                          apr_itoa(db->pool, HG_AUDIT_MIN_KEEP_DAYS))))
            return rv;
        if (r->nrows != 1 || strcmp(hg_db_val(r, 0, 0) ? hg_db_val(r, 0, 0) : "", a->last_hash)) {
            *why = apr_psprintf(db->pool, "the journal's row at chain position %" APR_INT64_T_FMT
                                " is not the archive's last row", a->to_seq);
            return HG_EINVALID;
        }
        if (strcmp(hg_db_val(r, 0, 1), "t")) {
            *why = apr_psprintf(db->pool, "the archive's last row is younger than %d days: the journal keeps "
                                "six months at least", HG_AUDIT_MIN_KEEP_DAYS);
            return HG_EINVALID;
        }
        if ((rv = hg_db_tx(db, first_tx, t)))
            return rv;
        done->deleted += t->deleted;
    }
    /* the rest in short statements, so no lock is held long */
    do {
        if ((rv = delete_batch(db, a->to_seq, t->batch, &n)))
            return rv;
        done->deleted += n;
    } while (n > 0);
    return APR_SUCCESS;
}

apr_status_t hg_audit_purge(hg_db_t *db, const hg_audit_archive_t *a, const char *archive_name, int batch,
                            const unsigned char audit_key[16], hg_audit_rec_t *journal,
                            hg_audit_purged_t *done, const char **why)
{
    first_tx_t t = { a, archive_name, batch, audit_key, journal, 0 };
    hg_db_result_t *r;
    apr_status_t rv, rv2;
    memset(done, 0, sizeof(*done));
    *why = NULL;
    if (batch < 1 || a->rows < 1 || a->to_seq < a->from_seq)
        return HG_EINVALID;
    /* one purge at a time (cron on several nodes): a session lock, released below */
    if ((rv = hg_db_q(db, &r, "SELECT pg_try_advisory_lock(hashtext('hisgate.audit.purge'))", 0)))
        return rv;
    if (strcmp(hg_db_val(r, 0, 0), "t"))
        return HG_ECONFLICT;
    rv = purge_locked(db, a, &t, done, why);
    rv2 = hg_db_q(db, NULL, "SELECT pg_advisory_unlock(hashtext('hisgate.audit.purge'))", 0);
    return rv ? rv : rv2;
}
