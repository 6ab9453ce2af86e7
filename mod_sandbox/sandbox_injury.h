/* The simulated Guangdong work-injury platform (省工伤 bizh interface): its wire contract is
 * mod_sandbox/INJURY.md.  No httpd headers: mod_sandbox.c does the HTTP side (routes, "down",
 * "slow", dropping the connection for "lost"); this file parses the <program> request, applies the
 * platform's session and state rules against sandbox.injury_* and builds the answer XML.
 * The pure parts (amount checks, the settlement split, state transitions) are exported for
 * t/unit/t_sandbox_injury.c. */
#ifndef SANDBOX_INJURY_H
#define SANDBOX_INJURY_H
#include <apr_pools.h>
#include <jansson.h>
#include "hg_db.h"

#define SBI_MAX_ROWS 300

/* ---------------------------------------------------------------- pure parts */

/* the settlement split of INJURY.md §4.7, every field in fen */
typedef struct sbi_split_t {
    apr_int64_t akc264, bka831, bka832, bka825, bka826, aka151, bka838, akb067, akb066, bka821,
                bka839, ake039, ake035, ake026, ake029, bka841, bka842, bka840;
} sbi_split_t;

/* one fee line as the split sees it */
typedef struct sbi_line_t {
    apr_int64_t amount;      /* bka058 in fen, negative for a refund line */
    int self_full;           /* 全自费: ake005 starts with "ZF" */
    int limited;             /* 限制使用标志 (aka036 or aka063) = "1" */
} sbi_line_t;

/* the 部分自费 share of one limited line: 10 %, half away from zero (a refund cancels exactly) */
apr_int64_t sbi_part_self(apr_int64_t amount);
/* the whole split from the three sums (total, 全自费, 部分自费); HG_EOVERFLOW out of range */
apr_status_t sbi_split_from(sbi_split_t *s, apr_int64_t akc264, apr_int64_t bka825, apr_int64_t bka826);
/* the split of n lines */
apr_status_t sbi_split_lines(sbi_split_t *s, const sbi_line_t *lines, int n);
/* 1 when the spec's three equations hold */
int sbi_split_ok(const sbi_split_t *s);
/* append the split's fields to obj, in the spec's order, as "12.34" strings */
void sbi_split_json(json_t *obj, const sbi_split_t *s);

/* a decimal string with at most maxdec decimals -> value scaled by 10^maxdec.  Grammar
 * ['-'] digits ['.' digits]; at most 12 integer digits.  APR_SUCCESS or HG_EINVALID. */
apr_status_t sbi_decimal(apr_int64_t *v, const char *s, int maxdec, int allow_neg);

/* the amounts of one fee row (bka056 price ≤4 decimals, bka057 quantity ≤2, bka058 amount ≤2):
 * NULL when fine (*amount = bka058 in fen), else the refusal text for row rowno (1-based). */
const char *sbi_fee_amounts(apr_pool_t *p, json_t *row, int rowno, apr_int64_t *amount);

/* the inpatient state machine: may function fid run on a stay in state ("" = unknown)?  NULL and
 * *next = the state afterwards, or the platform's refusal text. */
const char *sbi_transition(apr_pool_t *p, const char *fid, const char *state, const char *aaz218,
                           const char **next);

/* ---------------------------------------------------------------- the service */

#define SBI_AFTER_NONE 0
#define SBI_AFTER_LOST 1     /* drop the connection without answering */
#define SBI_AFTER_LATE 2     /* answer only after *after_ms */

/* serve one POST body: *xml is the answer document (always set on APR_SUCCESS), *after what the
 * HTTP side must do with it.  Anything but APR_SUCCESS is a database failure. */
apr_status_t sandbox_injury_serve(apr_pool_t *p, hg_db_t *db, const char *body, apr_size_t len,
                                  const char **xml, int *after, int *after_ms);

/* control mode "expire": every session ends now */
apr_status_t sandbox_injury_expire(hg_db_t *db);

/* the last 200 calls (newest first), optionally of one function: {"calls":[…]} */
apr_status_t sandbox_injury_calls(apr_pool_t *p, hg_db_t *db, const char *function_id, json_t **out);
#endif
