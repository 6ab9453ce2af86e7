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

/* the staff routes (mod_consult_staff.c) */
extern const hg_route_t consult_staff_routes[];
#endif
