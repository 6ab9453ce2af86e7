/* mod_consult statistics and the staff's lists (预问诊统计): domain code, no httpd header.
 * Everything is read from consult.visits (+ the template definitions) with jsonb aggregation in
 * PostgreSQL; the glue (mod_consult_stats.c) validates the query string and renders JSON or CSV.
 *
 * Definitions (README "mod_consult statistics"):
 *   visits      questionnaires announced by the HIS in the range (by visitTime, the visit's time)
 *   started     at least one answer stored, or no longer in progress
 *   completed   submitted by the patient; stopped = ended by a red flag; open = in-progress or review
 *   age band    whole years at the visit date: 0-6, 7-17, 18-44, 45-59, 60-74, 75+
 *   channel     the visit's "channel" column when the schema has one, else "unknown"
 * Per question (completed questionnaires of one template version; their answers are pruned at
 * submission, so an item's key is there exactly when the patient was asked it):
 *   asked = questionnaires with the item's key, answered = with a value (not null, "", []),
 *   completionRate = answered / asked; choice/multi/boolean: respondents per option, share =
 *   count / answered; number: min, max, mean. */
#ifndef CONSULT_STATS_H
#define CONSULT_STATS_H
#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include "hg_status.h"
#include "hg_db.h"

/* the groupings of consult_stats_usage, NULL-terminated (for the glue's enum check) */
extern const char *const CONSULT_STATS_GROUPS[];

typedef struct {
    const char *institution;
    const char *from, *to;       /* yyyy-MM-dd, inclusive, already checked */
    const char *dept;            /* NULL = every department */
    const char *template_id;     /* NULL = every template */
    const char *group;           /* one of CONSULT_STATS_GROUPS */
} consult_stats_q_t;

/* days since 1970-01-01 of a valid yyyy-MM-dd (proleptic Gregorian), for range checks */
long consult_stats_days(const char *ymd);
/* yyyy-MM-dd of a day number */
const char *consult_stats_ymd(apr_pool_t *p, long days);

/* "张三丰" -> "张*丰", "张三" -> "张*", "张" -> "*"; code points, invalid UTF-8 repaired first */
const char *consult_mask_name(apr_pool_t *p, const char *utf8);

/* {"rows":[{"key","visits","started","completed","stopped","open","completionRate"}…],
 *  "totals":{…}} pool-owned; rows in the grouping's natural order */
apr_status_t consult_stats_usage(json_t **out, hg_db_t *db, apr_pool_t *p, const consult_stats_q_t *q);

/* Per question of template_id/version (version NULL: the newest approved one):
 * {"template","version","title","questionnaires","items":[{"linkId","type","text","section","asked",
 *  "answered","completionRate","options":[{"code","display","count","share"}],"number":{"min","max","mean"}}]}.
 * HG_ENOTFOUND when there is no such template version. */
apr_status_t consult_stats_questions(json_t **out, hg_db_t *db, apr_pool_t *p, const consult_stats_q_t *q,
                                     const char *version);

/* The day's questionnaires (visitTime on date), newest last per department; names masked with
 * the master key.  state NULL = any.  patient_id: that patient's only, newest first (date NULL:
 * every day).  {"date","patientId","sessions":[…],"truncated"} */
apr_status_t consult_stats_day_list(json_t **out, hg_db_t *db, apr_pool_t *p, const unsigned char *master_key,
                                    const char *institution, const char *date, const char *dept,
                                    const char *state, const char *patient_id, int limit);

/* One questionnaire by visitNo: the visit (name masked), its answers in template order with their
 * display texts, the six sections, the narrative, the advice when stopped.  *department gets the
 * visit's department (for the caller's scope check).  HG_ENOTFOUND when absent. */
apr_status_t consult_stats_visit(json_t **out, const char **department, hg_db_t *db, apr_pool_t *p,
                                 const unsigned char *master_key, const char *institution,
                                 const char *visit_no);

/* CSV (RFC 4180, CRLF, UTF-8 with a BOM so that Excel reads Chinese) of rows, an array of
 * apr_array_header_t * of const char * (NULL = empty cell).  A cell that starts with = + - @ TAB CR
 * and is not a number gets a leading ' so that a spreadsheet never runs it as a formula. */
const char *consult_csv(apr_pool_t *p, const apr_array_header_t *rows);

#endif
