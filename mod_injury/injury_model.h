/* injury_model: the Guangdong work-injury "bizh" catalogue and the rules hisgate adds on top of a
 * plain relay (../shared/specs/injury.md): request validation per function, JSON <-> XML of the
 * <program> envelope, the local state machine of visits and stays, fee batching and the settlement
 * split rules.  Pure functions, no httpd headers, no I/O: unit-tested in t/unit/t_injury_model.c. */
#ifndef INJURY_MODEL_H
#define INJURY_MODEL_H
#include <apr_pools.h>
#include <jansson.h>
#include "hg_err.h"
#include "hg_status.h"

#define INJURY_BATCH_MAX   300      /* spec §bizh120002: at most 300 fee rows per platform call */
#define INJURY_FEES_MAX    10000    /* fee rows one HIS call may carry (split into batches) */

typedef enum {
    INJ_K_OUTPATIENT, INJ_K_INPATIENT, INJ_K_RECORD, INJ_K_QUERY
} injury_kind_t;

/* what a function does to the local record of a visit or stay */
typedef enum {
    INJ_A_RELAY = 0,        /* read-only: person info, business queries, no local record needed */
    INJ_A_OP_REGISTER,      /* 110104 门诊挂号 */
    INJ_A_OP_SETTLE,        /* 110105 门诊费用上传并结算 (trial with bka893=0, refund with negative lines) */
    INJ_A_OP_CANCEL,        /* 110106 取消门诊挂号 */
    INJ_A_IP_ADMIT,         /* 120103 入院登记 */
    INJ_A_IP_MODIFY,        /* 120104 入院登记信息修改 */
    INJ_A_IP_FEES,          /* 120002 费用上传 */
    INJ_A_IP_PRESETTLE,     /* 120003 预结算 */
    INJ_A_IP_WIPE,          /* 120004 删除费用明细 */
    INJ_A_IP_DISCHARGE,     /* 120105 出院登记 */
    INJ_A_IP_SETTLE,        /* 120106 出院结算 */
    INJ_A_IP_UNSETTLE,      /* 120107 取消出院结算 */
    INJ_A_IP_UNDISCHARGE,   /* 120108 取消出院登记 */
    INJ_A_IP_UNADMIT,       /* 120109 取消入院登记 */
    INJ_A_IP_RECORD,        /* 2001xx 病案: needs a live stay */
    INJ_A_CODES             /* cached queries (410004, 410005, 120205) */
} injury_action_t;

typedef enum {
    INJ_S_NONE = 0, INJ_S_REGISTERED, INJ_S_FEES, INJ_S_DISCHARGED, INJ_S_SETTLED, INJ_S_REFUNDED,
    INJ_S_CANCELLED
} injury_state_t;

/* operator fields hisgate fills from InjuryOperator when the HIS sent none: the spec's [ZS] client
 * injects bka014/bka015 into 110104/110105/110106; the same pair is 120103's 登记人, and 120105
 * (bka033/bka034 登记人) and 120106 (bka046/bka047 完成人) carry their own operator pair */
#define INJ_FILL_OPERATOR   0x1   /* bka014 / bka015 */
#define INJ_FILL_DISCHARGER 0x2   /* bka033 / bka034 */
#define INJ_FILL_SETTLER    0x4   /* bka046 / bka047 */

typedef struct injury_fn_t {
    const char *id;                       /* "bizh110001" */
    const char *name;                     /* the spec's name */
    injury_kind_t kind;
    injury_action_t action;
    const char *const *required;          /* field codes the HIS must send (NULL-terminated) */
    const char *const *datasets;          /* dataset names allowed (arrays of row objects) */
    const char *required_dataset;         /* a dataset that must hold at least one row, or NULL */
    unsigned fill;                        /* INJ_FILL_* */
} injury_fn_t;

/* the catalogue; NULL for an unknown function id */
const injury_fn_t *injury_fn_find(const char *id);
const injury_fn_t *injury_fn_table(apr_size_t *n);

/* Validate the HIS's JSON for fn: keys are field codes (XML names), values strings, integers or
 * null, datasets arrays of such objects, required fields present, known code values in range,
 * fee rows complete with valid amounts.  APR_SUCCESS or HG_EINVALID with *err (field = path). */
apr_status_t injury_validate(apr_pool_t *p, const injury_fn_t *fn, json_t *in, hg_error_t **err);

/* what hisgate fills in for the platform */
typedef struct injury_fill_t {
    const char *session_id;
    const char *akb020;
    const char *operator_code, *operator_name;   /* bka014 / bka015 defaults */
} injury_fill_t;

/* The platform request as JSON, in wire order: function_id, session_id, akb020, then the HIS's
 * fields (operator defaults where the spec says so).  A dataset is replaced by rows when given
 * (a fee batch), else taken from in.  The result is owned by p. */
json_t *injury_request_json(apr_pool_t *p, const injury_fn_t *fn, json_t *in, const injury_fill_t *f,
                            const char *dataset, json_t *rows);
/* The same as the platform's XML document (full escaping, hg_xml).  HG_EINVALID with *why. */
apr_status_t injury_request_xml(const char **xml, apr_pool_t *p, json_t *req, const char **why);

/* the platform's answer */
typedef enum {
    INJ_R_OK,               /* return_code > 0 */
    INJ_R_REJECTED,         /* return_code < 0 (or 0): a business refusal */
    INJ_R_SESSION,          /* return_code -9: log in again */
    INJ_R_GARBLED           /* not a <program> with a numeric return_code: outcome unknown */
} injury_verdict_t;

/* Parse the platform's XML answer: *out (owned by p) the whole <program> as JSON, *code and *msg
 * its return_code / return_code_message ("" when absent). */
injury_verdict_t injury_parse_answer(apr_pool_t *p, const char *body, apr_size_t len, json_t **out,
                                     const char **code, const char **msg);

/* ---- fee batches ---- */
/* how many platform calls n rows take (0 rows -> 0) */
int injury_batch_count(apr_size_t n, apr_size_t max);
/* rows[start .. start+count) as a new array (items shared), owned by p */
json_t *injury_batch_slice(apr_pool_t *p, json_t *rows, apr_size_t start, apr_size_t count);
/* number fee rows whose aaz213 is missing or empty: first_seq, first_seq+1 ... (in place) */
void injury_number_fees(json_t *rows, long first_seq);

/* ---- settlement split (§4.7), in integer fen ----
 * akc264 = bka831 + bka832
 * bka831 = akb067 + akb066 + bka839
 * bka832 = ake039 + ake035 + ake026 + ake029 + bka841 + bka842 + bka840 + bka821
 * Checked on the answer itself and on every row of any dataset carrying akc264.
 * Returns 1 when everything adds up, 0 on a violation (one line per broken rule appended to
 * *violations, a JSON array owned by p), -1 when the answer has no split fields at all. */
int injury_split_check(apr_pool_t *p, json_t *answer, json_t **violations);

/* ---- state machine ---- */
const char *injury_state_name(injury_state_t s);
injury_state_t injury_state_parse(const char *name);   /* INJ_S_NONE when unknown */

typedef struct injury_stay_facts_t {
    int exists;                 /* a local record for this aaz218 */
    int inpatient;              /* its kind */
    injury_state_t state;
    int fee_rows;               /* fee lines on the platform */
} injury_stay_facts_t;

/* Whether fn may run now, and the state after the platform said yes.  trial: 110105 with
 * bka893=0 / 120003; refund: 110105 with a negative line.  APR_SUCCESS, or HG_ECONFLICT with *why
 * (a sentence for the HIS, English + Chinese). */
apr_status_t injury_transition(const injury_fn_t *fn, const injury_stay_facts_t *st, int trial, int refund,
                               injury_state_t *next, const char **why);

/* the call's flags from the HIS's JSON */
int injury_is_trial(const injury_fn_t *fn, json_t *in);
int injury_is_refund(const injury_fn_t *fn, json_t *in);
/* a call whose lost answer must be resolved by a query before anything is retried */
int injury_needs_resolution(const injury_fn_t *fn, json_t *in);
#endif
