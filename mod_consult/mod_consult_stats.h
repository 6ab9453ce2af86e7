/* mod_consult: the staff's lists and statistics under /consult/staff/v1/ (mod_consult_stats.c),
 * registered by mod_consult.c's post_config next to the module's own table. */
#ifndef MOD_CONSULT_STATS_H
#define MOD_CONSULT_STATS_H
#include "hg_glue.h"

extern const hg_route_t consult_stats_routes[];

#endif
