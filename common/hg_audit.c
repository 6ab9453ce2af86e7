#include <string.h>
#include <apr_strings.h>
#include "hg_audit.h"
#include "hg_crypto.h"
#include "hg_zip.h"

/* bodies are packed (LZ4) first: a bill request is mostly repeated keys, and the packed row stays
 * under PostgreSQL's TOAST threshold (one heap write instead of three) */
apr_status_t hg_audit_encrypt(char **out, apr_pool_t *p, const unsigned char key[16],
                              const char *body, apr_size_t len)
{
    unsigned char iv[16], *ct, *z;
    apr_size_t ctlen, zlen;
    apr_status_t rv;
    if ((rv = hg_random_bytes(iv, sizeof(iv))) != APR_SUCCESS)
        return rv;
    if ((rv = hg_lz4_pack(&z, &zlen, p, body ? body : "", body ? len : 0)) != APR_SUCCESS)
        return rv;
    if ((rv = hg_sm4_cbc_encrypt(p, &ct, &ctlen, key, iv, z, zlen)) != APR_SUCCESS)
        return rv;
    *out = apr_pstrcat(p, "sm4l:", hg_base64url_encode(p, iv, sizeof(iv)), ":",
                       hg_base64url_encode(p, ct, ctlen), NULL);
    return APR_SUCCESS;
}

apr_status_t hg_audit_decrypt(char **out, apr_size_t *len, apr_pool_t *p,
                              const unsigned char key[16], const char *enc)
{
    const char *c1, *c2, *rest;
    unsigned char *iv, *ct, *pt;
    apr_size_t ivlen, ctlen, ptlen;
    apr_status_t rv;
    /* "sm4l:" packed with LZ4; rows of earlier versions: "sm4z:" deflated, "sm4cbc:" hex, unpacked */
    int lz4 = !strncmp(enc, "sm4l:", 5), packed = lz4 || !strncmp(enc, "sm4z:", 5);
    apr_status_t (*decode)(unsigned char **, apr_size_t *, apr_pool_t *, const char *) =
        packed ? hg_base64url_decode : hg_hex_decode;
    if (!packed && strncmp(enc, "sm4cbc:", 7) != 0)
        return HG_ECRYPTO;
    rest = enc + (packed ? 5 : 7);
    if (!(c2 = strchr(rest, ':')))
        return HG_ECRYPTO;
    c1 = apr_pstrndup(p, rest, c2 - rest);
    if ((rv = decode(&iv, &ivlen, p, c1)) != APR_SUCCESS || ivlen != 16)
        return HG_ECRYPTO;
    if ((rv = decode(&ct, &ctlen, p, c2 + 1)) != APR_SUCCESS)
        return HG_ECRYPTO;
    if ((rv = hg_sm4_cbc_decrypt(p, &pt, &ptlen, key, iv, ct, ctlen)) != APR_SUCCESS)
        return rv;
    if (packed) {
        unsigned char *z = pt;
        if ((lz4 ? hg_lz4_unpack : hg_inflate_raw)(&pt, &ptlen, p, z, ptlen) != APR_SUCCESS)
            return HG_ECRYPTO;
    }
    *out = apr_pstrmemdup(p, (const char *)pt, ptlen);
    *len = ptlen;
    return APR_SUCCESS;
}

apr_status_t hg_audit_stmt(hg_db_stmt_t *st, apr_pool_t *p, const unsigned char key[16],
                           const hg_audit_rec_t *rec)
{
    const char **params = apr_palloc(p, HG_AUDIT_NCOLS * sizeof(*params));
    char *req, *resp;
    apr_status_t rv;
    if ((rv = hg_audit_encrypt(&req, p, key, rec->req_body, rec->req_len)) != APR_SUCCESS)
        return rv;
    if ((rv = hg_audit_encrypt(&resp, p, key, rec->resp_body, rec->resp_len)) != APR_SUCCESS)
        return rv;
    params[0] = rec->institution ? rec->institution : "";
    params[1] = rec->caller ? rec->caller : "-";
    params[2] = rec->direction;
    params[3] = rec->endpoint;
    params[4] = apr_itoa(p, rec->status);
    params[5] = apr_itoa(p, rec->elapsed_ms);
    params[6] = rec->request_id ? rec->request_id : "";
    params[7] = req;
    params[8] = resp;
    st->sql = "INSERT INTO hg.audit (institution, caller, direction, endpoint, status, elapsed_ms, "
              "  request_id, req_enc, resp_enc) VALUES ($1,$2,$3,$4,$5::int,$6::int,$7,$8,$9)";
    st->n = HG_AUDIT_NCOLS;
    st->params = params;
    return APR_SUCCESS;
}

apr_status_t hg_audit_rows_stmt(hg_db_stmt_t *st, apr_pool_t *p, const char *const *const *rows, int n)
{
    const char **params, **col;
    int i, j;
    if (n < 1)
        return APR_EINVAL;
    params = apr_palloc(p, HG_AUDIT_NCOLS * sizeof(*params));
    col = apr_palloc(p, n * sizeof(*col));
    for (j = 0; j < HG_AUDIT_NCOLS; j++) {
        for (i = 0; i < n; i++)
            col[i] = rows[i][j];
        params[j] = hg_db_array(p, col, n);
    }
    st->sql = "INSERT INTO hg.audit (institution, caller, direction, endpoint, status, elapsed_ms, "
              "  request_id, req_enc, resp_enc) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], "
              "  $4::text[], $5::int[], $6::int[], $7::text[], $8::text[], $9::text[])";
    st->n = HG_AUDIT_NCOLS;
    st->params = params;
    return APR_SUCCESS;
}

apr_status_t hg_audit_stmt_guarded(hg_db_stmt_t *st, apr_pool_t *p, const unsigned char key[16],
                                   const hg_audit_rec_t *rec, const hg_db_stmt_t *guard)
{
    hg_db_stmt_t row;
    const char **params;
    int n = guard->n, i;
    apr_status_t rv;
    if ((rv = hg_audit_stmt(&row, p, key, rec)) != APR_SUCCESS)
        return rv;
    params = apr_palloc(p, (n + row.n) * sizeof(*params));
    for (i = 0; i < n; i++)
        params[i] = guard->params[i];
    for (i = 0; i < row.n; i++)
        params[n + i] = row.params[i];
    st->sql = apr_psprintf(p, "WITH g AS (%s) INSERT INTO hg.audit (institution, caller, direction, endpoint, "
                           "status, elapsed_ms, request_id, req_enc, resp_enc) SELECT $%d::text, $%d::text, "
                           "$%d::text, $%d::text, $%d::int, $%d::int, $%d::text, $%d::text, $%d::text FROM g "
                           "LIMIT 1 RETURNING id", guard->sql, n + 1, n + 2, n + 3, n + 4, n + 5, n + 6, n + 7,
                           n + 8, n + 9);
    st->n = n + row.n;
    st->params = params;
    return APR_SUCCESS;
}

apr_status_t hg_audit_insert(hg_db_t *db, const unsigned char key[16], const hg_audit_rec_t *rec)
{
    hg_db_stmt_t st;
    apr_status_t rv;
    if ((rv = hg_audit_stmt(&st, db->pool, key, rec)) != APR_SUCCESS)
        return rv;
    return hg_db_exec(db, NULL, st.sql, st.n, st.params);
}

apr_status_t hg_audit_row_hash(char out_hex[65], const char *prev_hex, apr_int64_t seq,
                               const char *at_us, const char *institution, const char *caller,
                               const char *direction, const char *endpoint, const char *status,
                               const char *elapsed_ms, const char *request_id,
                               const char *req_enc, const char *resp_enc)
{
    apr_pool_t *p;
    unsigned char h[32];
    char seqs[32];
    const char *s;
    apr_status_t rv;
    if ((rv = apr_pool_create(&p, NULL)) != APR_SUCCESS)
        return rv;
    apr_snprintf(seqs, sizeof(seqs), "%" APR_INT64_T_FMT, seq);
    /* fields separated by a byte that cannot occur in any of them (hex, digits, identifiers, paths) */
    s = apr_pstrcat(p, prev_hex, "\x1f", seqs, "\x1f", at_us, "\x1f", institution, "\x1f", caller,
                    "\x1f", direction, "\x1f", endpoint, "\x1f", status, "\x1f", elapsed_ms, "\x1f",
                    request_id, "\x1f", req_enc, "\x1f", resp_enc, NULL);
    rv = hg_sm3(h, s, strlen(s));
    if (rv == APR_SUCCESS)
        memcpy(out_hex, hg_hex_encode(p, h, 32, 0), 65);
    apr_pool_destroy(p);
    return rv;
}

#define AUDIT_COLS "id, (extract(epoch FROM at) * 1000000)::bigint::text, institution, caller, " \
                   "direction, endpoint, status::text, elapsed_ms::text, request_id, req_enc, resp_enc"

static apr_status_t seal_rows(hg_db_t *db, void *baton)
{
    int *sealed = ((int **)baton)[0], max_rows = *((int **)baton)[1];
    hg_db_result_t *head, *rows;
    apr_status_t rv;
    apr_int64_t seq;
    char hash[65];
    const char **ids, **seqs, **hashes;
    int i;

    if ((rv = hg_db_q(db, &head, "SELECT seq, hash FROM hg.audit_head WHERE id = 1 FOR UPDATE", 0)))
        return rv;
    if (head->nrows != 1)
        return HG_EDB;
    seq = apr_atoi64(hg_db_val(head, 0, 0));
    memcpy(hash, hg_db_val(head, 0, 1), 65);
    if ((rv = hg_db_q(db, &rows, "SELECT " AUDIT_COLS " FROM hg.audit WHERE seq IS NULL "
                      "ORDER BY id LIMIT $1::int", 1, apr_itoa(db->pool, max_rows))))
        return rv;
    *sealed = rows->nrows;
    if (rows->nrows == 0)
        return APR_SUCCESS;
    /* arrays, not strings grown row by row: 2,000 rows once cost 130 MB of copies per seal */
    ids = apr_palloc(db->pool, rows->nrows * sizeof(*ids));
    seqs = apr_palloc(db->pool, rows->nrows * sizeof(*seqs));
    hashes = apr_palloc(db->pool, rows->nrows * sizeof(*hashes));
    for (i = 0; i < rows->nrows; i++) {
        seq++;
        if ((rv = hg_audit_row_hash(hash, hash, seq, hg_db_val(rows, i, 1), hg_db_val(rows, i, 2),
                                    hg_db_val(rows, i, 3), hg_db_val(rows, i, 4), hg_db_val(rows, i, 5),
                                    hg_db_val(rows, i, 6), hg_db_val(rows, i, 7), hg_db_val(rows, i, 8),
                                    hg_db_val(rows, i, 9), hg_db_val(rows, i, 10))))
            return rv;
        ids[i] = hg_db_val(rows, i, 0);
        seqs[i] = apr_off_t_toa(db->pool, seq);
        hashes[i] = apr_pstrmemdup(db->pool, hash, 64);
    }
    if ((rv = hg_db_q(db, NULL,
                      "UPDATE hg.audit a SET seq = u.seq, hash = u.hash "
                      "FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS u(id, seq, hash) "
                      "WHERE a.id = u.id", 3, hg_db_array(db->pool, ids, rows->nrows),
                      hg_db_array(db->pool, seqs, rows->nrows), hg_db_array(db->pool, hashes, rows->nrows))))
        return rv;
    return hg_db_q(db, NULL, "UPDATE hg.audit_head SET seq = $1::bigint, hash = $2 WHERE id = 1",
                   2, apr_off_t_toa(db->pool, seq), hash);
}

apr_status_t hg_audit_seal(hg_db_t *db, int max_rows, int *sealed)
{
    int *baton[2] = { sealed, &max_rows };
    *sealed = 0;
    /* the head row lock serialises sealers (several nodes may run one) */
    return hg_db_tx(db, seal_rows, baton);
}

apr_status_t hg_audit_anchor(hg_db_t *db, apr_int64_t *seq, char hash[65])
{
    hg_db_result_t *r;
    apr_status_t rv;
    if ((rv = hg_db_q(db, &r, "SELECT to_seq, last_hash FROM hg.audit_purges ORDER BY to_seq DESC LIMIT 1", 0)))
        return rv;
    if (r->nrows == 0) {
        *seq = 0;
        memset(hash, '0', 64);
        hash[64] = '\0';
        return APR_SUCCESS;
    }
    if (!hg_db_val(r, 0, 1) || strlen(hg_db_val(r, 0, 1)) != 64)
        return HG_EDB;
    *seq = apr_atoi64(hg_db_val(r, 0, 0));
    memcpy(hash, hg_db_val(r, 0, 1), 65);
    return APR_SUCCESS;
}

static apr_status_t verify_in_snapshot(hg_db_t *db, void *baton);

/* One snapshot for the head and every row.  The sealer moves the head with the rows it seals, in
 * one transaction, but a verify reading them statement by statement saw rows sealed after it had
 * read the head, and called that tampering ("head mismatch") on any busy journal. */
apr_status_t hg_audit_verify(hg_db_t *db, hg_audit_verdict_t *v)
{
    return hg_db_tx(db, verify_in_snapshot, v);
}

static apr_status_t verify_in_snapshot(hg_db_t *db, void *baton)
{
    hg_audit_verdict_t *v = baton;
    hg_db_result_t *head, *rows, *old;
    apr_status_t rv;
    apr_int64_t expect = 1, last = 0, head_seq;
    char prev[65], h[65];
    int i;

    memset(v, 0, sizeof(*v));
    memset(prev, '0', 64);
    prev[64] = '\0';
    if ((rv = hg_db_exec_script(db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")))
        return rv;
    if ((rv = hg_db_q(db, &head, "SELECT seq, hash FROM hg.audit_head WHERE id = 1", 0)))
        return rv;
    if (head->nrows != 1) {
        v->reason = "audit head row is missing";
        v->bad_seq = 1;
        return APR_SUCCESS;
    }
    head_seq = apr_atoi64(hg_db_val(head, 0, 0));
    /* archived and purged positions are proved by their archive files, which start from the
     * anchor before them: the journal's chain continues from the last anchor */
    if ((rv = hg_audit_anchor(db, &last, prev)))
        return rv;
    v->archived_to = last;
    expect = last + 1;
    for (;;) {
        if ((rv = hg_db_q(db, &rows, "SELECT " AUDIT_COLS ", seq, hash FROM hg.audit "
                          "WHERE seq > $1::bigint ORDER BY seq LIMIT 5000", 1,
                          apr_off_t_toa(db->pool, last))))
            return rv;
        for (i = 0; i < rows->nrows; i++) {
            apr_int64_t seq = apr_atoi64(hg_db_val(rows, i, 11));
            apr_int64_t anchor;
            char anchor_hash[65];
            if (seq < expect)
                continue;             /* read before a purge that ran meanwhile archived it */
            if (seq != expect) {
                /* a purge that ran meanwhile: go on from its anchor, the rows up to it are archived */
                if ((rv = hg_audit_anchor(db, &anchor, anchor_hash)))
                    return rv;
                if (anchor >= expect) {
                    v->archived_to = anchor;
                    memcpy(prev, anchor_hash, 65);
                    expect = anchor + 1;
                    last = anchor;
                    if (seq < expect)
                        continue;
                }
            }
            if (seq != expect) {
                v->bad_seq = expect;
                v->reason = apr_psprintf(db->pool, "missing row: chain position %" APR_INT64_T_FMT
                                         " is absent (next present is %" APR_INT64_T_FMT ")", expect, seq);
                return APR_SUCCESS;
            }
            if ((rv = hg_audit_row_hash(h, prev, seq, hg_db_val(rows, i, 1), hg_db_val(rows, i, 2),
                                        hg_db_val(rows, i, 3), hg_db_val(rows, i, 4), hg_db_val(rows, i, 5),
                                        hg_db_val(rows, i, 6), hg_db_val(rows, i, 7), hg_db_val(rows, i, 8),
                                        hg_db_val(rows, i, 9), hg_db_val(rows, i, 10))))
                return rv;
            v->checked++;
            if (strcmp(h, hg_db_val(rows, i, 12) ? hg_db_val(rows, i, 12) : "") != 0) {
                v->bad_seq = seq;
                v->bad_id = apr_atoi64(hg_db_val(rows, i, 0));
                v->reason = apr_psprintf(db->pool, "hash mismatch at chain position %" APR_INT64_T_FMT
                                         " (row id %s): the row was changed", seq, hg_db_val(rows, i, 0));
                return APR_SUCCESS;
            }
            memcpy(prev, h, 65);
            last = seq;
            expect++;
        }
        if (rows->nrows < 5000)
            break;
    }
    if (last != head_seq || strcmp(prev, hg_db_val(head, 0, 1)) != 0) {
        v->bad_seq = last + 1;
        v->reason = apr_psprintf(db->pool, "head mismatch: the chain ends at %" APR_INT64_T_FMT
                                 " but the head says %" APR_INT64_T_FMT " (rows removed from the end?)",
                                 last, head_seq);
        return APR_SUCCESS;
    }
    if ((rv = hg_db_q(db, &old, "SELECT count(*) FROM hg.audit WHERE seq IS NULL "
                      "AND at < now() - interval '10 minutes'", 0)))
        return rv;
    v->unsealed_old = apr_atoi64(hg_db_val(old, 0, 0));
    return APR_SUCCESS;
}
