/* mod_consult: the staff's lists and statistics under /consult/staff/v1/ (mod_consult_stats.c),
 * registered by mod_consult.c's post_config next to the module's own table. */
#ifndef MOD_CONSULT_STATS_H
#define MOD_CONSULT_STATS_H
#include "hg_glue.h"

extern const hg_route_t consult_stats_routes[];

/* a period of valid yyyy-MM-dd days, inclusive: from not after to, at most 366 days
 * (HG_FIELD_RANGE on the call otherwise) */
apr_status_t consult_check_period(hg_call_t *c, const char *from, const char *to);

#endif
