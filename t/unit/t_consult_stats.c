/* Unit tests for mod_consult/consult_stats: the calendar arithmetic of the date ranges, name
 * masking, and the CSV writer (BOM, quoting, formula defusing).  The SQL figures are checked end to
 * end by t/api/33_consult_stats.t. */
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "tap.h"
#include "consult_stats.h"

static apr_pool_t *pool;

static apr_array_header_t *row(const char *a, const char *b, const char *c)
{
    apr_array_header_t *r = apr_array_make(pool, 3, sizeof(const char *));
    APR_ARRAY_PUSH(r, const char *) = a;
    APR_ARRAY_PUSH(r, const char *) = b;
    APR_ARRAY_PUSH(r, const char *) = c;
    return r;
}

int main(void)
{
    apr_array_header_t *rows;
    static const char *const dates[] = { "1970-01-01", "2000-02-29", "2024-12-31", "2026-03-01", "1900-03-01", NULL };
    int i;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    tap_plan(16);

    tap_is_int(consult_stats_days("1970-01-01"), 0, "day 0 is 1970-01-01");
    tap_is_int(consult_stats_days("2026-03-01") - consult_stats_days("2026-02-28"), 1, "2026 is not a leap year");
    tap_is_int(consult_stats_days("2024-03-01") - consult_stats_days("2024-02-28"), 2, "2024 is one");
    tap_is_int(consult_stats_days("2100-03-01") - consult_stats_days("2100-02-28"), 1, "2100 is not (century)");
    tap_is_int(consult_stats_days("2026-12-31") - consult_stats_days("2026-01-01") + 1, 365, "365 days in 2026");
    for (i = 0; dates[i]; i++)
        tap_is_str(consult_stats_ymd(pool, consult_stats_days(dates[i])), dates[i], "round trip %s", dates[i]);
    tap_is_str(consult_stats_ymd(pool, consult_stats_days("2026-11-28") - 29), "2026-10-30", "29 days before 2026-11-28");

    tap_is_str(consult_mask_name(pool, "张三丰"), "张*丰", "three characters: the middle masked");
    tap_is_str(consult_mask_name(pool, "欧阳娜娜"), "欧*娜", "four: first and last kept, one star");
    tap_is_str(consult_mask_name(pool, "王芳"), "王*", "two: the given name masked");
    tap_is_str(consult_mask_name(pool, "李"), "*", "one: nothing left");

    rows = apr_array_make(pool, 4, sizeof(apr_array_header_t *));
    APR_ARRAY_PUSH(rows, apr_array_header_t *) = row("性别", "问卷数", "完成率");
    APR_ARRAY_PUSH(rows, apr_array_header_t *) = row("a,b", "say \"hi\"", NULL);
    APR_ARRAY_PUSH(rows, apr_array_header_t *) = row("=cmd()", "-5", "@x");
    tap_is_str(consult_csv(pool, rows),
               "\xEF\xBB\xBF" "性别,问卷数,完成率\r\n\"a,b\",\"say \"\"hi\"\"\",\r\n'=cmd(),-5,'@x\r\n",
               "CSV: BOM, CRLF, quoting, NULL as empty, formulas defused but numbers kept");
    return tap_done();
}
