/* shared by mod_consult's glue files (mod_consult.c: HIS and patient routes; mod_consult_staff.c:
 * authoring, review, rules) */
#ifndef MOD_CONSULT_PRIVATE_H
#define MOD_CONSULT_PRIVATE_H
#include "hg_glue.h"
#include "consult_engine.h"
#include "consult_store.h"
#include "consult_notify.h"

typedef struct consult_conf_t {
    int session_ttl;               /* seconds a patient link stays valid */
    const char *public_url, *institution;
    const unsigned char *master_key;
    consult_notify_conf_t notify;
    const char *visit_cache;       /* ConsultVisitCache: socache provider[:args] */
} consult_conf_t;

extern consult_conf_t *consult_G;

/* at most this many answers in one request */
#define CONSULT_MAX_ANSWERS 500

/* The patient's answers step, shared with the staff preview: each {"linkId","value"} of list checked
 * (the field at fault in c->err: the linkId, or answers[i]), none twice, put over a copy of answers;
 * then every posted item must apply under the result (HG_FIELD_UNKNOWN).  *merged the new answers,
 * *posted the linkIds (for consult_nav_record).  list is an array; its size is the caller's check. */
apr_status_t consult_merge_answers(hg_call_t *c, const consult_template_t *t, const consult_ctx_t *ctx,
                                   json_t *answers, json_t *list, json_t **merged, json_t **posted);

/* the staff routes (mod_consult_staff.c) */
extern const hg_route_t consult_staff_routes[];
#endif
