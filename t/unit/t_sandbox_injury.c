/* t_sandbox_injury — the pure parts of the simulated work-injury platform (mod_sandbox/INJURY.md):
 * decimals and fee amounts, the settlement split and its equations, the inpatient state machine. */
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "hg_status.h"
#include "hg_json.h"
#include "hg_money.h"
#include "sandbox_injury.h"
#include "tap.h"

static json_t *fee(const char *price, const char *qty, const char *amount)
{
    json_t *o = json_object();
    if (price)
        json_object_set_new(o, "bka056", json_string(price));
    if (qty)
        json_object_set_new(o, "bka057", json_string(qty));
    if (amount)
        json_object_set_new(o, "bka058", json_string(amount));
    return o;
}

static void test_decimal(void)
{
    apr_int64_t v = 77;
    tap_ok(sbi_decimal(&v, "12.3456", 4, 0) == APR_SUCCESS && v == 123456, "decimal: 12.3456 at 4 places");
    tap_ok(sbi_decimal(&v, "12", 4, 0) == APR_SUCCESS && v == 120000, "decimal: integer scaled");
    tap_ok(sbi_decimal(&v, "-0.5", 2, 1) == APR_SUCCESS && v == -50, "decimal: negative allowed");
    v = 77;
    tap_ok(sbi_decimal(&v, "-0.5", 2, 0) == HG_EINVALID && v == 77, "decimal: negative refused, output untouched");
    tap_ok(sbi_decimal(&v, "1.234", 2, 0) == HG_EINVALID, "decimal: too many decimals");
    tap_ok(sbi_decimal(&v, "1.", 2, 0) == HG_EINVALID, "decimal: bare point");
    tap_ok(sbi_decimal(&v, ".5", 2, 0) == HG_EINVALID, "decimal: no integer part");
    tap_ok(sbi_decimal(&v, "", 2, 0) == HG_EINVALID, "decimal: empty");
    tap_ok(sbi_decimal(&v, "1e3", 2, 0) == HG_EINVALID, "decimal: exponent");
    tap_ok(sbi_decimal(&v, " 1", 2, 0) == HG_EINVALID, "decimal: leading space");
    tap_ok(sbi_decimal(&v, "1234567890123", 2, 0) == HG_EINVALID, "decimal: 13 integer digits");
    tap_ok(sbi_decimal(&v, "999999999999.9999", 4, 0) == APR_SUCCESS && v == 9999999999999999LL,
           "decimal: 12 integer digits at 4 places fits");
    tap_ok(sbi_decimal(&v, NULL, 2, 0) == HG_EINVALID, "decimal: NULL");
}

static void test_fee_amounts(apr_pool_t *p)
{
    apr_int64_t a = 0;
    const char *m;
    json_t *f;

    f = fee("12.3456", "2", "24.69");
    tap_ok(sbi_fee_amounts(p, f, 1, &a) == NULL && a == 2469, "fee: 12.3456 x 2 = 24.69");
    json_decref(f);
    f = fee("12.3456", "3", "37.04");
    tap_ok(sbi_fee_amounts(p, f, 1, &a) == NULL && a == 3704, "fee: 37.0368 rounds to 37.04");
    json_decref(f);
    f = fee("12.3456", "3", "37.03");
    tap_ok(sbi_fee_amounts(p, f, 1, &a) == NULL && a == 3703, "fee: one fen off is tolerated (HIS rounding)");
    json_decref(f);
    f = fee("12.3456", "3", "37.06");
    m = sbi_fee_amounts(p, f, 4, &a);
    tap_ok(m && strstr(m, "第4行") && strstr(m, "单价×数量") && strstr(m, "37.04"),
           "fee: two fen off refused, names row and expected amount: %s", m ? m : "");
    json_decref(f);
    f = fee("8.50", "-2", "-17.00");
    tap_ok(sbi_fee_amounts(p, f, 1, &a) == NULL && a == -1700, "fee: refund line (negative quantity and amount)");
    json_decref(f);
    f = fee("8.50", "-2", "17.00");
    tap_ok(sbi_fee_amounts(p, f, 1, &a) != NULL, "fee: negative quantity with a positive amount refused");
    json_decref(f);
    f = fee("-8.50", "2", "-17.00");
    m = sbi_fee_amounts(p, f, 2, &a);
    tap_ok(m && strstr(m, "bka056"), "fee: negative price refused: %s", m ? m : "");
    json_decref(f);
    f = fee("8.50", "2", NULL);
    m = sbi_fee_amounts(p, f, 3, &a);
    tap_ok(m && strstr(m, "第3行参数[bka058]不能为空"), "fee: missing amount: %s", m ? m : "");
    json_decref(f);
    f = fee("8.50", "1.005", "8.54");
    m = sbi_fee_amounts(p, f, 1, &a);
    tap_ok(m && strstr(m, "bka057"), "fee: quantity with 3 decimals refused: %s", m ? m : "");
    json_decref(f);
    f = fee("0.0050", "1", "0.01");
    tap_ok(sbi_fee_amounts(p, f, 1, &a) == NULL && a == 1, "fee: half a fen rounds up");
    json_decref(f);
    f = fee("999999999999.9999", "999999999999.99", "0.00");
    tap_ok(sbi_fee_amounts(p, f, 1, &a) != NULL, "fee: huge product does not overflow, refused");
    json_decref(f);
}

static void test_split(apr_pool_t *p)
{
    sbi_split_t s;
    json_t *o;
    const char *k;
    json_t *v;
    int i;
    static const char *const order[] = { "akc264", "bka831", "bka832", "bka825", "bka826", "aka151", "bka838",
        "akb067", "akb066", "bka821", "bka839", "ake039", "ake035", "ake026", "ake029", "bka841", "bka842",
        "bka840", NULL };

    tap_is_int((int)sbi_part_self(2469), 247, "10%% of 24.69 is 2.47 (half up)");
    tap_is_int((int)sbi_part_self(245), 25, "10%% of 2.45 is 0.25 (half up)");
    tap_is_int((int)sbi_part_self(244), 24, "10%% of 2.44 is 0.24");
    tap_is_int((int)sbi_part_self(-245), -25, "refund: half away from zero, mirrors the charge");
    tap_is_int((int)sbi_part_self(0), 0, "zero");

    {
        sbi_line_t l[] = { { 2469, 0, 1 }, { 1000, 1, 0 }, { 5000, 0, 0 }, { 333, 1, 1 } };
        tap_ok(sbi_split_lines(&s, l, 4) == APR_SUCCESS, "split of four lines");
        tap_ok(s.akc264 == 8802 && s.bka825 == 1333 && s.bka826 == 247, "totals: all, 全自费 (ZF incl. limited), 部分自费");
        tap_ok(s.bka831 == 1580 && s.bka832 == 7222, "个人自付 = 全自费 + 部分自费, fund pays the rest");
        tap_ok(s.akb067 == s.bka831 && s.ake039 == s.bka832 && s.akb066 == 0 && s.bka821 == 0,
               "cash pays the person's part, 统筹 the fund's");
        tap_ok(sbi_split_ok(&s), "the spec's three equations hold");
    }
    {
        sbi_line_t l[] = { { 2469, 0, 1 }, { -2469, 0, 1 } };
        sbi_split_lines(&s, l, 2);
        tap_ok(s.akc264 == 0 && s.bka826 == 0 && s.bka831 == 0 && s.bka832 == 0, "a refund line cancels its charge exactly");
    }
    tap_ok(sbi_split_lines(&s, NULL, 0) == APR_SUCCESS && s.akc264 == 0 && sbi_split_ok(&s), "no lines: all zero");
    {
        sbi_line_t l[] = { { HG_MONEY_MAX, 0, 0 }, { HG_MONEY_MAX, 0, 0 } };
        tap_ok(sbi_split_lines(&s, l, 2) == HG_EOVERFLOW, "overflowing total refused");
    }

    /* pseudo-random line sets: the equations always hold, the total is the sum */
    {
        unsigned seed = 12345;
        int bad = 0, t;
        for (t = 0; t < 500; t++) {
            sbi_line_t l[40];
            apr_int64_t sum = 0;
            int n = 1 + t % 40, j;
            for (j = 0; j < n; j++) {
                seed = seed * 1103515245u + 12345u;
                l[j].amount = (apr_int64_t)(seed % 2000000) - (j % 7 == 6 ? 1000000 : 0);
                l[j].self_full = (seed >> 20) % 5 == 0;
                l[j].limited = (seed >> 23) % 3 == 0;
                sum += l[j].amount;
            }
            if (sbi_split_lines(&s, l, n) || !sbi_split_ok(&s) || s.akc264 != sum)
                bad++;
        }
        tap_is_int(bad, 0, "500 random line sets: akc264 = Σ bka058 and the equations hold");
    }

    /* a tampered split fails the check, each equation on its own */
    sbi_split_from(&s, 10000, 1000, 500);
    tap_ok(sbi_split_ok(&s), "split_from: consistent");
    s.bka832 += 1;
    tap_ok(!sbi_split_ok(&s), "akc264 ≠ bka831 + bka832 detected");
    sbi_split_from(&s, 10000, 1000, 500);
    s.akb066 = 1;
    tap_ok(!sbi_split_ok(&s), "bka831 ≠ akb067 + akb066 + bka839 detected");
    sbi_split_from(&s, 10000, 1000, 500);
    s.bka821 = 1;
    tap_ok(!sbi_split_ok(&s), "bka832 ≠ fund parts (bka821 included) detected");

    /* rendering: two decimals, the spec's order */
    sbi_split_from(&s, -2469, 0, -247);
    o = json_object();
    sbi_split_json(o, &s);
    i = 0;
    json_object_foreach(o, k, v) {
        if (!order[i] || strcmp(k, order[i]))
            break;
        i++;
    }
    tap_is_int(i, 18, "18 split fields in the spec's order");
    tap_is_str(json_string_value(json_object_get(o, "akc264")), "-24.69", "rendered with two decimals");
    tap_is_str(json_string_value(json_object_get(o, "bka831")), "-2.47", "negative person's part");
    tap_is_str(json_string_value(json_object_get(o, "aka151")), "0.00", "zero as 0.00");
    json_decref(o);
    (void)p;
}

static void test_transitions(apr_pool_t *p)
{
    static const struct { const char *fid, *state, *next, *msg; } c[] = {
        { "bizh120002", "admitted", "admitted", NULL },
        { "bizh120002", "discharged", NULL, "已办理出院登记，不能再上传费用" },
        { "bizh120002", "settled", NULL, "该住院业务已出院结算，不能再上传费用" },
        { "bizh120004", "admitted", "admitted", NULL },
        { "bizh120004", "discharged", NULL, "已办理出院登记，不能删除费用明细" },
        { "bizh120003", "admitted", "admitted", NULL },
        { "bizh120003", "discharged", "discharged", NULL },
        { "bizh120003", "settled", NULL, "该住院业务已出院结算，不能再试算" },
        { "bizh120104", "discharged", "discharged", NULL },
        { "bizh120105", "admitted", "discharged", NULL },
        { "bizh120105", "discharged", NULL, "已办理出院登记，不能重复办理" },
        { "bizh120106", "discharged", "settled", NULL },
        { "bizh120106", "admitted", NULL, "未办理出院登记，不能出院结算" },
        { "bizh120106", "settled", NULL, "该住院业务已出院结算，不能重复结算" },
        { "bizh120107", "settled", "discharged", NULL },
        { "bizh120107", "discharged", NULL, "该住院业务未出院结算，不能取消出院结算" },
        { "bizh120107", "admitted", NULL, "该住院业务未出院结算，不能取消出院结算" },
        { "bizh120108", "discharged", "admitted", NULL },
        { "bizh120108", "settled", NULL, "该住院业务已出院结算，请先取消出院结算" },
        { "bizh120108", "admitted", NULL, "该住院业务未办理出院登记，不能取消出院登记" },
        { "bizh120109", "admitted", "cancelled", NULL },
        { "bizh120109", "discharged", NULL, "该住院业务已办理出院登记，请先取消出院登记" },
        { "bizh120109", "settled", NULL, "该住院业务已出院结算，请先取消出院结算" },
        { "bizh120109", "cancelled", NULL, "就医登记号[2026000001]不存在或已取消" },
        { "bizh120106", "", NULL, "就医登记号[2026000001]不存在或已取消" },
        { "bizh120002", "registered", NULL, "就医登记号[2026000001]不存在或已取消" },
    };
    size_t i;
    const char *next, *m;
    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        m = sbi_transition(p, c[i].fid, c[i].state, "2026000001", &next);
        if (c[i].msg)
            tap_ok(m && !strcmp(m, c[i].msg) && !next, "%s in state '%s' refused: %s", c[i].fid, c[i].state,
                   m ? m : "(allowed)");
        else
            tap_ok(!m && next && !strcmp(next, c[i].next), "%s in state %s -> %s", c[i].fid, c[i].state,
                   next ? next : m);
    }
    m = sbi_transition(p, "bizh110105", "admitted", "1", &next);
    tap_ok(m && !next, "a function outside the inpatient machine is refused: %s", m ? m : "");

    /* the whole chain forward and back lands where it started */
    {
        static const char *const chain[] = { "bizh120105", "bizh120106", "bizh120107", "bizh120108", "bizh120105",
                                             "bizh120106", "bizh120107", "bizh120108", "bizh120109", NULL };
        static const char *const want[] = { "discharged", "settled", "discharged", "admitted", "discharged",
                                            "settled", "discharged", "admitted", "cancelled" };
        const char *state = "admitted";
        int ok = 1;
        for (i = 0; chain[i]; i++) {
            if (sbi_transition(p, chain[i], state, "1", &next) || strcmp(next, want[i]))
                ok = 0;
            state = next ? next : "";
        }
        tap_ok(ok, "discharge, settle, cancel back twice, cancel admission: every step allowed in order");
    }
}

int main(void)
{
    apr_pool_t *p;
    apr_initialize();
    apr_pool_create(&p, NULL);
    test_decimal();
    test_fee_amounts(p);
    test_split(p);
    test_transitions(p);
    tap_plan(tap_n);
    apr_pool_destroy(p);
    apr_terminate();
    return tap_done();
}
