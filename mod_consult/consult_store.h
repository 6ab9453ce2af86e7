/* mod_consult store: the consult.* tables (templates, visits).  Domain SQL only, no httpd header.
 * Personal data is sealed with the master key (hg_secret_seal); the session token is found by its
 * keyed index (hg_keyed_index) and kept sealed so a repeated announcement answers the same link. */
#ifndef CONSULT_STORE_H
#define CONSULT_STORE_H
#include <apr_pools.h>
#include <jansson.h>
#include "hg_status.h"
#include "hg_db.h"

typedef struct {
    const char *id;
    const char *institution, *visit_no, *patient_id, *sex, *birth_date, *department, *doctor, *visit_time;
    const char *template_id, *version;
    const char *definition;     /* the template's JSON text; NULL for an approved version (immutable:
                                 * consult_store_definition reads it when it is not cached) */
    const char *token_sealed;
    const char *state;          /* in-progress | review | completed | stopped */
    json_t     *answers;        /* pool-owned object */
    json_t     *summary;        /* pool-owned, NULL until submitted */
    json_t     *nav;            /* pool-owned {"pages","pos"} (consult_engine.h) */
    const char *disease, *rule_id, *choice;
    const char *rev;            /* the row's write counter: a guarded write names the one it read */
    apr_int64_t expires_at;     /* the token's end, seconds since the epoch */
    hg_db_result_t *row;        /* the row as read (for consult_cache) */
} consult_visit_t;

typedef struct {
    const char *visit_no, *patient_id, *name, *sex, *birth_date, *department, *doctor, *visit_time;
    const char *disease;        /* optional diagnosis / disease code */
    const char *phone, *openid; /* optional: where the link goes (sealed at rest) */
    const char *entry;          /* optional: where the patient came in (registration, appointment, …) */
} consult_visit_in_t;

/* the template a visit gets: *rule_id (NULL when no rule), *choice "rule" | "department" | "generic" */
typedef struct {
    const char *template_id, *version, *rule_id, *choice;
} consult_pick_t;

/* the template for a visit: the most specific enabled rule matching department / disease (prefix) /
 * doctor whose template has an approved version (then priority, then the newest rule), else the
 * department's own approved template, else the generic one (institution scope, no disease):
 * HG_ENOTFOUND when none.  Always the newest approved version of the chosen template. */
apr_status_t consult_store_pick_template(hg_db_t *db, apr_pool_t *p, const char *department,
                                         const char *disease, const char *doctor, consult_pick_t *pick);

/* create the visit, or find the one stored under (institution, visitNo): *created says which.
 * A new visit gets a new random token (*token), its link lives until the visit day's end plus
 * ttl_seconds (at least ttl_seconds from now); an existing one answers its stored token. */
apr_status_t consult_store_visit_upsert(hg_db_t *db, apr_pool_t *p, const unsigned char *master_key,
                                        const char *institution, const consult_visit_in_t *in,
                                        int ttl_seconds, consult_visit_t **v, const char **token,
                                        int *created);

/* A repeated announcement with another visitTime: the visit moves to it (*rescheduled = 1), unless
 * it is completed; the link's end then follows it (consult_store_visit_renew, next) */
apr_status_t consult_store_visit_reschedule(hg_db_t *db, apr_pool_t *p, consult_visit_t *v, const char *visit_time,
                                            int *rescheduled);

/* A repeated announcement of a visit found by consult_store_visit_upsert: a link that expired gets a
 * new token (the old one no longer opens anything), unless the visit is completed (submitted: never
 * reopened); a live link keeps its token, its end moved out to the visit day's end + TTL when it was
 * shorter.  *v is read again, *token is the link's token now.  rn->renewed: a new token was issued
 * (then contact_sealed/channel say where the first link went, rev is the row's write counter after
 * the renewal: one renewal, one rev). */
typedef struct {
    int renewed;
    const char *contact_sealed, *channel, *rev;
} consult_renewal_t;
apr_status_t consult_store_visit_renew(hg_db_t *db, apr_pool_t *p, const unsigned char *master_key, int ttl_seconds,
                                       consult_visit_t **v, const char **token, consult_renewal_t *rn);

/* the keyed index a session token is found by (hex) */
apr_status_t consult_store_token_index(char **hex, apr_pool_t *p, const unsigned char *master_key,
                                       const char *token);

/* the visit of a session token that has not expired: HG_ENOTFOUND else.  lock: 0 just read,
 * 1 FOR UPDATE in the open transaction, 2 BEGIN the transaction with it (one round trip) */
apr_status_t consult_store_by_token(hg_db_t *db, apr_pool_t *p, const unsigned char *master_key,
                                    const char *token, int lock, consult_visit_t **v);

/* the visit of a row from consult_cache (the columns consult_store_by_token reads) */
apr_status_t consult_store_visit_of_row(apr_pool_t *p, hg_db_result_t *row, consult_visit_t **v);

/* the definition text of one template version */
apr_status_t consult_store_definition(hg_db_t *db, apr_pool_t *p, const char *template_id,
                                      const char *version, const char **definition);

apr_status_t consult_store_by_visit_no(hg_db_t *db, apr_pool_t *p, const char *institution,
                                       const char *visit_no, consult_visit_t **v);

/* store the answers, the navigation and the state; _stmt: the same as a statement for the caller's
 * pipeline (a step commits it with its audit row) */
apr_status_t consult_store_save(hg_db_t *db, apr_pool_t *p, const consult_visit_t *v, json_t *answers,
                                json_t *nav, const char *state);
/* guarded: only while the row is still the one read (rev) and unexpired, with RETURNING rev (no row
 * when another write came first); unguarded: for the row locked by this transaction */
void consult_store_save_stmt(hg_db_stmt_t *st, apr_pool_t *p, const consult_visit_t *v, json_t *answers,
                             json_t *nav, const char *state, int guarded);
/* the row as it stands after that statement: for consult_cache */
hg_db_result_t *consult_store_row_after_save(apr_pool_t *p, const consult_visit_t *v, const hg_db_stmt_t *st);

/* store the pruned answers and the summary; state completed, submitted_at now */
apr_status_t consult_store_complete(hg_db_t *db, apr_pool_t *p, const consult_visit_t *v, json_t *answers,
                                    json_t *summary);

/* the server's date, yyyy-MM-dd (local time) */
const char *consult_today(apr_pool_t *p);
#endif
