/* Unit tests for mod_consult/consult_engine: FHIR enableWhen, expressions, load-time checks,
 * terminal branches, pruning, calculated items, 五史一诉 summary and the QuestionnaireResponse. */
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "tap.h"
#include "hg_json.h"
#include "consult_engine.h"
#include "consult_fhir.h"
#include "consult_notify.h"

static apr_pool_t *pool;
static const consult_ctx_t CTX = { "F", "1990-06-15", "2026-06-14" };

static json_t *J(const char *s)
{
    json_t *j = NULL;
    if (hg_json_parse(&j, pool, s, strlen(s), HG_JSON_PARSE_ANY, NULL) != APR_SUCCESS) {
        printf("# bad JSON in test: %s\n", s);
        exit(2);
    }
    return j;
}

static consult_template_t *load_ok(const char *def)
{
    consult_template_t *t = NULL;
    hg_error_t *e = NULL;
    if (consult_template_load(&t, pool, J(def), &e) != APR_SUCCESS) {
        printf("# template refused: %s (%s)\n", e ? e->message : "?", e && e->field ? e->field : "");
        exit(2);
    }
    return t;
}

/* the template is refused with HG_CONSULT_TEMPLATE, the given field and a message containing msg */
static void load_bad(const char *def, const char *field, const char *msg, const char *name)
{
    consult_template_t *t = (consult_template_t *)1;
    hg_error_t *e = NULL;
    apr_status_t rv = consult_template_load(&t, pool, J(def), &e);
    if (!tap_ok(rv == HG_EINVALID && !t && e && !strcmp(e->code, HG_CONSULT_TEMPLATE) &&
                e->field && !strcmp(e->field, field) && strstr(e->message, msg), "refused: %s", name))
        tap_diag("rv %d code %s field %s message %s", (int)(rv - HG_STATUS_BASE), e ? e->code : "-",
                 e && e->field ? e->field : "-", e ? e->message : "-");
}

/* ---- enableWhen operators on a fixed template ---- */

static const char *BASE_ITEMS =
    "{\"linkId\":\"n\",\"type\":\"number\"},"
    "{\"linkId\":\"c\",\"type\":\"choice\",\"options\":[{\"code\":\"a\"},{\"code\":\"b\"},{\"code\":\"c\"}]},"
    "{\"linkId\":\"m\",\"type\":\"multi\",\"options\":[{\"code\":\"a\"},{\"code\":\"b\"},{\"code\":\"c\"}]},"
    "{\"linkId\":\"d\",\"type\":\"date\"},"
    "{\"linkId\":\"b\",\"type\":\"boolean\"},"
    "{\"linkId\":\"t\",\"type\":\"text\"}";

static void ew(const char *q, const char *op, const char *answer, const char *answers, int want)
{
    const char *def = apr_psprintf(pool, "{\"id\":\"x\",\"version\":\"1\",\"items\":[%s,"
        "{\"linkId\":\"x\",\"type\":\"text\",\"enableWhen\":[{\"question\":\"%s\",\"operator\":\"%s\",\"answer\":%s}]}]}",
        BASE_ITEMS, q, op, answer);
    consult_template_t *t = load_ok(def);
    tap_is_int(consult_enabled(t, J(answers), &CTX, "x", pool), want, "%s %s %s with %s -> %s", q, op, answer,
               answers, want ? "enabled" : "disabled");
}

static void test_enable_when(void)
{
    ew("n", "exists", "true", "{\"n\":1}", 1);
    ew("n", "exists", "true", "{}", 0);
    ew("n", "exists", "false", "{}", 1);
    ew("m", "exists", "true", "{\"m\":[]}", 0);
    ew("c", "=", "\"a\"", "{\"c\":\"a\"}", 1);
    ew("c", "=", "\"a\"", "{\"c\":\"b\"}", 0);
    ew("m", "=", "\"b\"", "{\"m\":[\"a\",\"b\"]}", 1);
    ew("m", "=", "\"b\"", "{\"m\":[\"c\"]}", 0);
    ew("c", "!=", "\"a\"", "{\"c\":\"a\"}", 0);
    ew("c", "!=", "\"a\"", "{\"c\":\"b\"}", 1);
    ew("m", "!=", "\"b\"", "{\"m\":[\"a\",\"b\"]}", 0);
    ew("m", "!=", "\"b\"", "{\"m\":[\"a\",\"c\"]}", 1);
    ew("m", "!=", "\"b\"", "{}", 1);            /* the FHIR pitfall: unanswered satisfies != */
    ew("c", "!=", "\"a\"", "{}", 1);
    ew("c", "=", "\"a\"", "{}", 0);
    ew("n", ">", "3", "{\"n\":5}", 1);
    ew("n", ">", "3", "{\"n\":3}", 0);
    ew("n", ">", "3", "{}", 0);
    ew("n", "<", "3", "{\"n\":2}", 1);
    ew("n", "<", "3", "{\"n\":3}", 0);
    ew("n", ">=", "3", "{\"n\":3}", 1);
    ew("n", ">=", "3", "{\"n\":2.5}", 0);
    ew("n", "<=", "3", "{\"n\":3}", 1);
    ew("n", "<=", "3", "{\"n\":4}", 0);
    ew("d", ">", "\"2026-01-01\"", "{\"d\":\"2026-01-02\"}", 1);
    ew("d", "<", "\"2026-01-01\"", "{\"d\":\"2026-01-02\"}", 0);
    ew("b", "=", "true", "{\"b\":true}", 1);
    ew("b", "=", "true", "{\"b\":false}", 0);
    ew("t", "=", "\"abc\"", "{\"t\":\"abc\"}", 1);
}

static void test_behavior_and_disabled(void)
{
    consult_template_t *t = load_ok("{\"id\":\"x\",\"version\":\"1\",\"items\":["
        "{\"linkId\":\"n\",\"type\":\"number\"},{\"linkId\":\"b\",\"type\":\"boolean\"},"
        "{\"linkId\":\"all\",\"type\":\"text\",\"enableBehavior\":\"all\",\"enableWhen\":["
        "  {\"question\":\"n\",\"operator\":\">\",\"answer\":1},{\"question\":\"b\",\"operator\":\"=\",\"answer\":true}]},"
        "{\"linkId\":\"any\",\"type\":\"text\",\"enableBehavior\":\"any\",\"enableWhen\":["
        "  {\"question\":\"n\",\"operator\":\">\",\"answer\":1},{\"question\":\"b\",\"operator\":\"=\",\"answer\":true}]},"
        "{\"linkId\":\"hidden\",\"type\":\"choice\",\"options\":[{\"code\":\"a\"},{\"code\":\"z\"}],"
        "  \"enableWhen\":[{\"question\":\"b\",\"operator\":\"=\",\"answer\":true}]},"
        "{\"linkId\":\"ne\",\"type\":\"text\",\"enableWhen\":[{\"question\":\"hidden\",\"operator\":\"!=\",\"answer\":\"a\"}]},"
        "{\"linkId\":\"ex\",\"type\":\"text\",\"enableWhen\":[{\"question\":\"hidden\",\"operator\":\"exists\",\"answer\":true}]},"
        "{\"linkId\":\"g\",\"type\":\"group\",\"enableWhen\":[{\"question\":\"n\",\"operator\":\"=\",\"answer\":1}],\"items\":["
        "  {\"linkId\":\"g1\",\"type\":\"text\",\"items\":[{\"linkId\":\"g11\",\"type\":\"text\"}]}]}]}");
    json_t *both = J("{\"n\":2,\"b\":true}"), *one = J("{\"n\":2,\"b\":false}"), *none = J("{\"n\":0}");
    tap_is_int(consult_enabled(t, both, &CTX, "all", pool), 1, "all: both true -> enabled");
    tap_is_int(consult_enabled(t, one, &CTX, "all", pool), 0, "all: one true -> disabled");
    tap_is_int(consult_enabled(t, one, &CTX, "any", pool), 1, "any: one true -> enabled");
    tap_is_int(consult_enabled(t, none, &CTX, "any", pool), 0, "any: none true -> disabled");
    /* hidden answered "a" but disabled (b false): it counts as unanswered */
    tap_is_int(consult_enabled(t, J("{\"b\":false,\"hidden\":\"a\"}"), &CTX, "ne", pool), 1,
               "disabled item counts as unanswered: != holds");
    tap_is_int(consult_enabled(t, J("{\"b\":true,\"hidden\":\"a\"}"), &CTX, "ne", pool), 0,
               "enabled item answered a: != fails");
    tap_is_int(consult_enabled(t, J("{\"b\":false,\"hidden\":\"a\"}"), &CTX, "ex", pool), 0,
               "disabled item: exists true fails");
    tap_is_int(consult_enabled(t, J("{\"n\":1}"), &CTX, "g11", pool), 1, "grandchild enabled with its group");
    tap_is_int(consult_enabled(t, J("{\"n\":2}"), &CTX, "g1", pool), 0, "disabled group disables child");
    tap_is_int(consult_enabled(t, J("{\"n\":2}"), &CTX, "g11", pool), 0, "disabled group disables grandchild");
    tap_is_int(consult_enabled(t, J("{}"), &CTX, "nope", pool), 0, "unknown linkId is not enabled");
}

/* ---- expressions ---- */

static consult_template_t *expr_t_;

static void ex(const char *expr, const char *answers, const char *want)
{
    json_t *out = NULL;
    hg_error_t *e = NULL;
    apr_status_t rv = consult_eval(&out, pool, expr_t_, expr, J(answers), &CTX, &e);
    const char *got = rv == APR_SUCCESS ? hg_json_dump(pool, out, HG_JSON_DUMP_SORTED) : e->message;
    tap_is_str(got, want, "%s with %s = %s", expr, answers, want);
}

static void test_expressions(void)
{
    const char *A = "{\"n\":5,\"c\":\"a\",\"m\":[\"a\",\"b\"],\"d\":\"2026-06-01\",\"b\":true,\"t\":\"dry cough\"}";
    json_t *out;
    hg_error_t *e = NULL;
    expr_t_ = load_ok(apr_psprintf(pool, "{\"id\":\"x\",\"version\":\"1\",\"items\":[%s,"
        "{\"linkId\":\"odd-name\",\"type\":\"number\"}]}", BASE_ITEMS));
    ex("n > 3 and c = 'a'", A, "true");
    ex("not (n > 3 and c = 'a') or m anyof ['c']", A, "false");
    ex("not (n > 3 and c = 'b') and (b or n < 0)", A, "true");
    ex("(n > 10 or c != 'a') or not not b", A, "true");
    ex("n > 3 && !(c == 'a' || false)", A, "false");
    ex("m anyof ['c', 'b']", A, "true");
    ex("m anyof ['c']", A, "false");
    ex("m allof ['a', 'b']", A, "true");
    ex("m allof ['a', 'c']", A, "false");
    ex("m noneof ['c']", A, "true");
    ex("m noneof ['b', 'c']", A, "false");
    ex("m contains 'b'", A, "true");
    ex("m notcontains 'b'", A, "false");
    ex("t contains 'cough'", A, "true");
    ex("m = 'a'", A, "true");
    ex("m != 'a'", A, "false");
    ex("m = ['b', 'a']", A, "true");
    ex("m empty", A, "false");
    ex("m empty", "{\"m\":[]}", "true");
    ex("t notempty", "{\"t\":\"\"}", "false");
    ex("empty(n)", "{}", "true");
    ex("notempty(n)", A, "true");
    ex("n != 3", "{}", "true");
    ex("n > 3", "{}", "false");
    ex("1 + 2 * 3", A, "7");
    ex("(1 + 2) * 3 - n / 2", A, "6.5");
    ex("-n + 10", A, "5");
    ex("n / 0", A, "null");
    ex("n + 1", "{}", "null");
    ex("{odd-name} * 2", "{\"odd-name\":4}", "8");
    ex("age($birthDate)", A, "35");
    ex("$age", A, "35");
    ex("age('1990-06-14')", A, "36");
    ex("daysBetween('2024-02-28', '2024-03-01')", A, "2");
    ex("daysBetween(d, today())", A, "13");
    ex("daysBetween('2024-13-01', d)", A, "null");
    ex("iif(n > 3, 'big', 'small')", A, "\"big\"");
    ex("iif(n > 30, 'big', 'small')", A, "\"small\"");
    ex("iif($sex = 'F', 1, 0) + count(m) + sum(n, [1, 2])", A, "11");
    ex("d >= '2026-06-01' and d < $today", A, "true");
    tap_ok(consult_eval(&out, pool, expr_t_, "n >", NULL, &CTX, &e) == HG_EINVALID && e &&
           strstr(e->message, "syntax"), "syntax error refused: %s", e ? e->message : "-");
    e = NULL;
    tap_ok(consult_eval(&out, pool, expr_t_, "zz = 1", NULL, &CTX, &e) == HG_EINVALID && e &&
           strstr(e->message, "'zz'"), "unknown name refused: %s", e ? e->message : "-");
    e = NULL;
    tap_ok(consult_eval(&out, pool, expr_t_, "foo(1)", NULL, &CTX, &e) == HG_EINVALID && e &&
           strstr(e->message, "unknown function"), "unknown function refused: %s", e ? e->message : "-");
    {   /* a flat chain of operators is a level of the tree per operator (found by t/fuzz/fuzz_consult_expr:
         * "0*0*0*…" overflowed the stack in eval); 255 levels are fine, a template's 200000 are refused */
        char *chain = apr_palloc(pool, 400002);
        int i;
        for (i = 0; i < 200000; i++) memcpy(chain + 2 * i, "1*", 2);
        chain[400000] = '1';
        chain[400001] = '\0';
        apr_status_t rv;
        e = NULL;
        rv = consult_eval(&out, pool, expr_t_, chain, NULL, &CTX, &e);
        tap_ok(rv == HG_EINVALID && e && strstr(e->message, "too deep"), "200000 chained operators refused: %s",
               e ? e->message : "-");
        chain[2 * 255 + 1] = '\0';     /* 1*1*…*1: 255 operators, a tree of 256 levels */
        e = NULL;
        rv = consult_eval(&out, pool, expr_t_, chain, NULL, &CTX, &e);
        tap_ok(rv == APR_SUCCESS && json_integer_value(out) == 1, "255 chained operators evaluate%s%s",
               e ? ": " : "", e ? e->message : "");
    }
}

/* ---- load-time checks ---- */

static void test_load_errors(void)
{
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\","
             "\"enableIf\":\"b = 'x'\"},{\"linkId\":\"b\",\"type\":\"text\",\"enableWhen\":"
             "[{\"question\":\"a\",\"operator\":\"exists\",\"answer\":true}]}]}",
             "items[0]", "cycle: a -> b -> a", "enableIf/enableWhen cycle");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"s\",\"type\":\"calculated\","
             "\"calculate\":\"s + 1\"}]}", "items[0]", "cycle: s -> s", "self-referencing calculation");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"p\",\"type\":\"group\","
             "\"enableIf\":\"k = 1\",\"items\":[{\"linkId\":\"k\",\"type\":\"number\"}]}]}",
             "items[0]", "cycle", "parent depending on its own child");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\"},"
             "{\"linkId\":\"b\",\"type\":\"text\",\"enableWhen\":[{\"question\":\"nope\",\"operator\":\"=\",\"answer\":\"x\"}]}]}",
             "items[1].enableWhen[0].question", "unknown linkId 'nope'", "unknown enableWhen question");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"g\",\"type\":\"group\",\"items\":["
             "{\"linkId\":\"a\",\"type\":\"text\",\"enableIf\":\"ghost notempty\"}]}]}",
             "items[0].items[0].enableIf", "unknown linkId 'ghost'", "unknown name in a nested enableIf");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\","
             "\"terminal\":{\"when\":\"missing = 1\",\"advice\":\"x\"}}]}",
             "items[0].terminal.when", "unknown linkId 'missing'", "unknown name in terminal.when");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\","
             "\"narrative\":\"{b}天\"}]}", "items[0].narrative", "unknown linkId 'b'", "unknown narrative placeholder");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\"},"
             "{\"linkId\":\"a\",\"type\":\"text\"}]}", "items[1]", "duplicate linkId", "duplicate linkId");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"number\","
             "\"enableIf\":\"a > (1\"}]}", "items[0].enableIf", "syntax", "expression syntax error");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"number\"},"
             "{\"linkId\":\"b\",\"type\":\"text\",\"enableWhen\":[{\"question\":\"a\",\"operator\":\"=\",\"answer\":1},"
             "{\"question\":\"a\",\"operator\":\"=\",\"answer\":2}]}]}",
             "items[1].enableBehavior", "required", "enableBehavior missing with two conditions");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"number\"},"
             "{\"linkId\":\"b\",\"type\":\"text\",\"enableWhen\":[{\"question\":\"a\",\"operator\":\"~\",\"answer\":1}]}]}",
             "items[1].enableWhen[0].operator", "operator", "unknown operator");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"choice\","
             "\"options\":[{\"code\":\"y\"}],\"initial\":\"n\"}]}", "items[0].initial", "not an option", "bad initial");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"slider\"}]}",
             "items[0].type", "type must be", "unknown type");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\",\"pattern\":\"([a-\"}]}",
             "items[0].pattern", "regular expression", "bad pattern");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\",\"enablewhen\":[]}]}",
             "items[0].enablewhen", "unknown item key", "misspelt item key");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"c\",\"type\":\"choice\",\"options\":[{\"code\":\"y\"}]},"
             "{\"linkId\":\"b\",\"type\":\"text\",\"enableWhen\":[{\"question\":\"c\",\"operator\":\"=\",\"answer\":\"yes\"}]}]}",
             "items[1].enableWhen[0].answer", "not an option code of 'c'", "enableWhen answer not an option code");
    {
        const char *deep = "", *flat = "1";
        int i;
        for (i = 0; i < 70; i++) { deep = apr_pstrcat(pool, "(", deep, NULL); flat = apr_pstrcat(pool, flat, " + 1", NULL); }
        load_bad(apr_psprintf(pool, "{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\","
                              "\"enableIf\":\"%s1\"}]}", deep), "items[0].enableIf", "nested too deeply", "70 nested parentheses");
        json_t *v = NULL;
        consult_calculate(&v, pool, load_ok(apr_psprintf(pool, "{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\","
                          "\"type\":\"calculated\",\"calculate\":\"%s\"}]}", flat)), NULL, NULL);
        tap_is_str(hg_json_dump(pool, v, 0), "{\"a\":71}", "a flat sum of 71 terms is not 'too deep'");
    }
    {   /* evaluation recurses along dependencies: a0 = a1 + 1, a1 = a2 + 1, … over 20000 items overflowed the
         * stack at the first view; chains are at most 32 items (found while fuzzing the engine) */
        apr_array_header_t *all = apr_array_make(pool, 20001, sizeof(char *)), *tail;
        const char *items, *ok;
        json_t *v = NULL;
        int i;
        for (i = 0; i < 20000; i++)
            APR_ARRAY_PUSH(all, char *) = apr_psprintf(pool, "{\"linkId\":\"a%d\",\"type\":\"calculated\","
                                                        "\"calculate\":\"a%d + 1\"}", i, i + 1);
        APR_ARRAY_PUSH(all, char *) = "{\"linkId\":\"a20000\",\"type\":\"number\"}";
        items = apr_array_pstrcat(pool, all, ',');
        tail = apr_array_make(pool, 32, sizeof(char *));
        for (i = 19969; i <= 20000; i++)             /* a19969 … a20000: 32 items */
            APR_ARRAY_PUSH(tail, char *) = APR_ARRAY_IDX(all, i, char *);
        ok = apr_array_pstrcat(pool, tail, ',');
        load_bad(apr_psprintf(pool, "{\"id\":\"x\",\"version\":\"1\",\"items\":[%s]}", items), "items[32]",
                 "dependencies chained more than 32 items deep", "a chain of 20001 calculated items");
        consult_calculate(&v, pool, load_ok(apr_psprintf(pool, "{\"id\":\"x\",\"version\":\"1\",\"items\":[%s]}", ok)),
                          J("{\"a20000\":1}"), &CTX);
        tap_is_int(json_integer_value(json_object_get(v, "a19969")), 32, "a chain of 32 items loads and computes");
    }
    {   /* patterns regcomp cannot take (found with t/fuzz/fuzz_consult_template): 20000 nested groups
         * overflowed the stack (SIGSEGV); bounds nested twice cost 10^4 copies, three times 11 s and 1 GB */
        char *deep = apr_palloc(pool, 40002);
        memset(deep, '(', 20000);
        deep[20000] = 'a';
        memset(deep + 20001, ')', 20000);
        deep[40001] = '\0';
        load_bad(apr_psprintf(pool, "{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\","
                              "\"pattern\":\"%s\"}]}", deep), "items[0].pattern", "nested too deeply", "pattern: 20000 nested groups");
        load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\","
                 "\"pattern\":\"(a{1,100}){1,100}\"}]}", "items[0].pattern", "too large once its repetitions are expanded",
                 "pattern: nested bounds 100 x 100");
        load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\","
                 "\"pattern\":\"x{1,1001}\"}]}", "items[0].pattern", "too large", "pattern: a bound of 1001");
        /* stacked repetitions: regcomp's closures grow with them (t/fuzz/fuzz_consult_template: a 500-byte
         * template took 10 s; "z" and 40 stars 1 s and 130 MB) */
        load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\","
                 "\"pattern\":\"z****************************************+++\"}]}", "items[0].pattern",
                 "repeating a repetition", "pattern: stacked repetitions");
        /* a back-reference makes glibc's regexec exponential in the patient's answer (8 s for 101 characters) */
        load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\","
                 "\"pattern\":\"(a*)(a*)(a*)\\\\2\\\\3\\\\4\"}]}", "items[0].pattern", "back-reference",
                 "pattern: back-references");
        tap_ok(load_ok("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\","
                       "\"pattern\":\"[0-9]+\\\\.[0-9]{2}\"}]}") != NULL, "pattern: an escaped character is not a back-reference");
        tap_ok(load_ok("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\","
                       "\"pattern\":\"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,255}|[0-9]{17}[0-9Xx]\"}]}") != NULL
               && load_ok("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\","
                          "\"pattern\":\"((a{10}){10}){10}\"}]}") != NULL,
               "pattern: ordinary bounds (e-mail, ID card) and a size of exactly 1000 still load");
    }
}

/* ---- validation ---- */

static void va(consult_template_t *t, const char *link, const char *value, const char *want_code)
{
    hg_error_t *e = NULL;
    apr_status_t rv = consult_validate_answer(pool, t, link, value ? J(value) : NULL, &e);
    if (!want_code)
        tap_ok(rv == APR_SUCCESS, "%s = %s accepted%s%s", link, value, e ? ": " : "", e ? e->message : "");
    else if (!tap_ok(rv == HG_EINVALID && e && !strcmp(e->code, want_code) && e->field && !strcmp(e->field, link),
                     "%s = %s -> %s", link, value, want_code))
        tap_diag("got %s field %s", e ? e->code : "-", e && e->field ? e->field : "-");
}

static void test_validate(void)
{
    consult_template_t *t = load_ok("{\"id\":\"x\",\"version\":\"1\",\"items\":["
        "{\"linkId\":\"c\",\"type\":\"choice\",\"required\":true,\"options\":[{\"code\":\"a\"},{\"code\":\"b\"}]},"
        "{\"linkId\":\"m\",\"type\":\"multi\",\"options\":[{\"code\":\"a\"},{\"code\":\"b\"}]},"
        "{\"linkId\":\"n\",\"type\":\"number\",\"min\":35,\"max\":43},"
        "{\"linkId\":\"t\",\"type\":\"text\",\"minLength\":2,\"maxLength\":4},"
        "{\"linkId\":\"p\",\"type\":\"text\",\"pattern\":\"1[0-9]{10}\"},"
        "{\"linkId\":\"d\",\"type\":\"date\",\"max\":\"2026-12-31\"},"
        "{\"linkId\":\"r\",\"type\":\"number\",\"repeats\":true},"
        "{\"linkId\":\"y\",\"type\":\"boolean\"},{\"linkId\":\"info\",\"type\":\"display\"}]}");
    va(t, "c", "\"a\"", NULL);
    va(t, "c", "\"z\"", HG_FIELD_ENUM);
    va(t, "c", "1", HG_FIELD_TYPE);
    va(t, "c", "null", HG_FIELD_REQUIRED);
    va(t, "m", "[\"a\",\"b\"]", NULL);
    va(t, "m", "[\"a\",\"q\"]", HG_FIELD_ENUM);
    va(t, "m", "\"a\"", HG_FIELD_TYPE);
    va(t, "m", "null", NULL);
    va(t, "m", "\"\"", NULL);     /* "" is "not given" for an item that is not required */
    va(t, "n", "\"\"", NULL);
    {   /* ... and stored as posted it reads as a skip (found by t/fuzz/fuzz_consult_answers: a multi
         * item's "" reached the summary as a string, taken for a list: NULL dereference) */
        consult_template_t *ts = load_ok("{\"id\":\"x\",\"version\":\"1\",\"items\":["
            "{\"linkId\":\"m\",\"type\":\"multi\",\"section\":\"past_history\",\"narrative\":\"有{value}\","
            "\"negative\":\"否认\",\"options\":[{\"code\":\"a\",\"display\":\"高血压\"}]},"
            "{\"linkId\":\"n\",\"type\":\"number\",\"section\":\"present_illness\",\"narrative\":\"体温{value}\"},"
            "{\"linkId\":\"k\",\"type\":\"calculated\",\"calculate\":\"iif(empty(n) and empty(m), 1, 0)\"}]}");
        json_t *sum = NULL, *calc = NULL, *qr = NULL;
        consult_summary(&sum, pool, ts, J("{\"m\":\"\",\"n\":\"\"}"), &CTX);
        tap_ok(sum && !strcmp(hg_json_gets(sum, "past_history", NULL), "") && !strcmp(hg_json_gets(sum, "present_illness", NULL), ""),
               "an answer \"\" to a multi or number item says nothing in the summary (a skip)");
        consult_calculate(&calc, pool, ts, J("{\"m\":\"\",\"n\":\"\"}"), &CTX);
        tap_is_str(hg_json_dump(pool, calc, 0), "{\"k\":1}", "... and is null for expressions");
        consult_fhir_response(&qr, pool, ts, J("{\"m\":\"\",\"n\":\"\"}"), &CTX);
        tap_ok(qr && !strstr(hg_json_dump(pool, qr, 0), "\"linkId\":\"m\"") && !strstr(hg_json_dump(pool, qr, 0), "\"linkId\":\"n\""),
               "... and gives no answer in the QuestionnaireResponse");
    }
    va(t, "n", "36.5", NULL);
    va(t, "n", "44", HG_FIELD_RANGE);
    va(t, "n", "\"37\"", HG_FIELD_TYPE);
    va(t, "t", "\"咳嗽咳痰\"", NULL);
    va(t, "t", "\"咳嗽咳痰多\"", HG_FIELD_TOO_LONG);
    va(t, "t", "\"咳\"", HG_FIELD_TOO_SHORT);
    va(t, "p", "\"13800138000\"", NULL);
    va(t, "p", "\"1380013800x\"", HG_FIELD_PATTERN);
    va(t, "d", "\"2026-02-29\"", HG_FIELD_DATE);
    va(t, "d", "\"2027-01-01\"", HG_FIELD_RANGE);
    va(t, "d", "\"2024-02-29\"", NULL);
    va(t, "r", "[1,2]", NULL);
    va(t, "r", "3", HG_FIELD_TYPE);
    va(t, "y", "\"yes\"", HG_FIELD_TYPE);
    va(t, "info", "\"x\"", HG_FIELD_UNKNOWN);
    va(t, "ghost", "1", HG_FIELD_UNKNOWN);
}

/* ---- calculated score, terminal, next items, pruning, summary ---- */

static void test_calculated(void)
{
    consult_template_t *t = load_ok("{\"id\":\"gad2\",\"version\":\"1\",\"items\":["
        "{\"linkId\":\"q1\",\"type\":\"choice\",\"options\":[{\"code\":\"0\"},{\"code\":\"1\"},{\"code\":\"2\"},{\"code\":\"3\"}]},"
        "{\"linkId\":\"q2\",\"type\":\"choice\",\"options\":[{\"code\":\"0\"},{\"code\":\"1\"},{\"code\":\"2\"},{\"code\":\"3\"}]},"
        "{\"linkId\":\"weight\",\"type\":\"number\"},{\"linkId\":\"height\",\"type\":\"number\"},"
        "{\"linkId\":\"score\",\"type\":\"calculated\",\"calculate\":\"iif(q1='3',3,iif(q1='2',2,iif(q1='1',1,0))) + iif(q2='3',3,iif(q2='2',2,iif(q2='1',1,0)))\"},"
        "{\"linkId\":\"bmi\",\"type\":\"calculated\",\"calculate\":\"weight / (height / 100 * height / 100)\"},"
        "{\"linkId\":\"followup\",\"type\":\"text\",\"enableIf\":\"score >= 3\"}]}");
    json_t *v = NULL;
    consult_calculate(&v, pool, t, J("{\"q1\":\"2\",\"q2\":\"1\",\"weight\":80,\"height\":200}"), &CTX);
    tap_is_str(hg_json_dump(pool, v, HG_JSON_DUMP_SORTED), "{\"bmi\":20,\"score\":3}", "score and BMI calculated");
    consult_calculate(&v, pool, t, J("{\"q1\":\"0\"}"), &CTX);
    tap_is_str(hg_json_dump(pool, v, HG_JSON_DUMP_SORTED), "{\"bmi\":null,\"score\":0}", "missing inputs: BMI null");
    tap_is_int(consult_enabled(t, J("{\"q1\":\"2\",\"q2\":\"1\"}"), &CTX, "followup", pool), 1, "score 3 enables follow-up");
    tap_is_int(consult_enabled(t, J("{\"q1\":\"1\",\"q2\":\"1\"}"), &CTX, "followup", pool), 0, "score 2 does not");
}

static const char *RESP =
    "{\"id\":\"resp\",\"version\":\"1\",\"title\":\"呼吸道预问诊\",\"items\":["
    "{\"linkId\":\"chest_pain\",\"type\":\"boolean\",\"text\":\"是否胸痛？\",\"required\":true,"
    "  \"terminal\":{\"when\":\"chest_pain = true\",\"advice\":\"建议立即急诊\"}},"
    "{\"linkId\":\"symptoms\",\"type\":\"multi\",\"text\":\"主要症状\",\"required\":true,\"options\":["
    "  {\"code\":\"cough\",\"display\":\"咳嗽\"},{\"code\":\"fever\",\"display\":\"发热\"},{\"code\":\"sputum\",\"display\":\"咳痰\"}]},"
    "{\"linkId\":\"cough_days\",\"type\":\"number\",\"text\":\"咳嗽几天？\",\"min\":0,\"max\":365,"
    "  \"enableWhen\":[{\"question\":\"symptoms\",\"operator\":\"=\",\"answer\":\"cough\"}],"
    "  \"section\":\"chief_complaint\",\"narrative\":\"咳嗽{value}天\"},"
    "{\"linkId\":\"fever\",\"type\":\"group\",\"text\":\"发热\",\"enableIf\":\"symptoms contains 'fever'\",\"items\":["
    "  {\"linkId\":\"fever_days\",\"type\":\"number\",\"min\":0,\"section\":\"chief_complaint\",\"narrative\":\"发热{value}天\"},"
    "  {\"linkId\":\"tmax\",\"type\":\"number\",\"text\":\"最高体温\",\"min\":35,\"max\":43,\"section\":\"present_illness\",\"narrative\":\"最高体温{value}℃\"},"
    "  {\"linkId\":\"chills\",\"type\":\"boolean\",\"section\":\"present_illness\",\"narrative\":\"伴畏寒\",\"negative\":\"无畏寒\"}]},"
    "{\"linkId\":\"sputum_color\",\"type\":\"choice\",\"section\":\"present_illness\","
    "  \"enableWhen\":[{\"question\":\"symptoms\",\"operator\":\"=\",\"answer\":\"sputum\"}],\"options\":["
    "  {\"code\":\"white\",\"display\":\"白色\",\"narrative\":\"咳白色痰\"},{\"code\":\"yellow\",\"display\":\"黄色\",\"narrative\":\"咳黄脓痰\"}]},"
    "{\"linkId\":\"meds\",\"type\":\"text\",\"maxLength\":100,\"section\":\"present_illness\",\"narrative\":\"自服{value}\"},"
    "{\"linkId\":\"hypertension\",\"type\":\"boolean\",\"section\":\"past_history\",\"narrative\":\"有高血压病史\",\"negative\":\"否认高血压病史\"},"
    "{\"linkId\":\"smoking\",\"type\":\"choice\",\"section\":\"personal_history\",\"options\":["
    "  {\"code\":\"never\",\"display\":\"从不\",\"narrative\":\"无吸烟史\"},{\"code\":\"current\",\"display\":\"吸烟\",\"narrative\":\"有吸烟史\"}]},"
    "{\"linkId\":\"allergy\",\"type\":\"boolean\",\"section\":\"allergy_history\",\"negative\":\"否认药物、食物过敏史\"},"
    "{\"linkId\":\"allergens\",\"type\":\"multi\",\"section\":\"allergy_history\",\"narrative\":\"对{value}过敏\","
    "  \"enableWhen\":[{\"question\":\"allergy\",\"operator\":\"=\",\"answer\":true}],\"options\":["
    "  {\"code\":\"penicillin\",\"display\":\"青霉素\"},{\"code\":\"seafood\",\"display\":\"海鲜\"}]},"
    "{\"linkId\":\"family\",\"type\":\"multi\",\"section\":\"family_history\",\"narrative\":\"家族中有{value}病史\","
    "  \"negative\":\"否认家族遗传病史\",\"options\":[{\"code\":\"asthma\",\"display\":\"哮喘\"},{\"code\":\"tb\",\"display\":\"结核\"}]}]}";

static const char *next_ids(consult_template_t *t, const char *answers)
{
    json_t *a = NULL;
    const char *s = "";
    size_t i;
    consult_next_items(&a, pool, t, J(answers), &CTX);
    for (i = 0; i < json_array_size(a); i++)
        s = apr_pstrcat(pool, s, i ? "," : "", hg_json_gets(json_array_get(a, i), "linkId", NULL), NULL);
    return s;
}

static void test_respiratory(void)
{
    consult_template_t *t = load_ok(RESP);
    const char *advice = "sentinel";
    json_t *sum = NULL, *pr = NULL, *qr = NULL, *nx = NULL;
    const char *full = "{\"chest_pain\":false,\"symptoms\":[\"cough\",\"fever\"],\"cough_days\":3,\"fever_days\":2,"
        "\"tmax\":38.5,\"chills\":false,\"meds\":\"布洛芬\",\"hypertension\":false,\"smoking\":\"never\","
        "\"allergy\":false,\"family\":[]}";

    /* terminal branch */
    tap_is_int(consult_state(t, J("{\"chest_pain\":true}"), &CTX, &advice, pool), CONSULT_STOPPED, "chest pain stops");
    tap_is_str(advice, "建议立即急诊", "with the emergency advice");
    tap_is_int(consult_state(t, J("{\"chest_pain\":false}"), &CTX, &advice, pool), CONSULT_IN_PROGRESS, "no chest pain: in progress");
    tap_ok(advice == NULL, "no advice when not stopped");

    /* logic jump: fever questions only when fever was ticked */
    tap_is_str(next_ids(t, "{}"), "chest_pain,symptoms,meds,hypertension,smoking,allergy,family", "first: unconditional items");
    tap_is_str(next_ids(t, "{\"chest_pain\":false,\"symptoms\":[\"cough\"]}"),
               "cough_days,meds,hypertension,smoking,allergy,family", "cough only: no fever questions");
    tap_is_str(next_ids(t, "{\"chest_pain\":false,\"symptoms\":[\"cough\",\"fever\"],\"cough_days\":3}"),
               "fever_days,tmax,chills,meds,hypertension,smoking,allergy,family", "fever ticked: fever questions follow");
    tap_is_str(next_ids(t, "{\"allergy\":true,\"meds\":null}"),
               "chest_pain,symptoms,hypertension,smoking,allergens,family", "allergy yes: allergens asked; null = skipped");
    consult_next_items(&nx, pool, t, J("{}"), &CTX);
    tap_is_str(hg_json_dump(pool, json_array_get(nx, 1), HG_JSON_DUMP_SORTED),
               "{\"linkId\":\"symptoms\",\"options\":[{\"code\":\"cough\",\"display\":\"咳嗽\"},{\"code\":\"fever\",\"display\":\"发热\"},"
               "{\"code\":\"sputum\",\"display\":\"咳痰\"}],\"repeats\":false,\"required\":true,\"text\":\"主要症状\",\"type\":\"multi\"}",
               "next item carries what the page needs, not narratives");
    tap_is_int(consult_state(t, J(full), &CTX, &advice, pool), CONSULT_REVIEW, "all answered: review");

    /* 五史一诉 */
    consult_summary(&sum, pool, t, J(full), &CTX);
    tap_is_str(hg_json_gets(sum, "chief_complaint", NULL), "咳嗽3天，发热2天", "主诉");
    tap_is_str(hg_json_gets(sum, "present_illness", NULL), "最高体温38.5℃，无畏寒，自服布洛芬", "现病史");
    tap_is_str(hg_json_gets(sum, "past_history", NULL), "否认高血压病史", "既往史 negative");
    tap_is_str(hg_json_gets(sum, "personal_history", NULL), "无吸烟史", "个人史 from the option narrative");
    tap_is_str(hg_json_gets(sum, "allergy_history", NULL), "否认药物、食物过敏史", "过敏史 negative");
    tap_is_str(hg_json_gets(sum, "family_history", NULL), "否认家族遗传病史", "家族史 negative for an empty multi");

    /* back keeps hidden answers; prune drops them and the summary ignores them */
    {
        const char *back = "{\"chest_pain\":false,\"symptoms\":[\"cough\",\"sputum\"],\"cough_days\":5,\"fever_days\":2,"
            "\"tmax\":39,\"sputum_color\":\"yellow\",\"allergy\":true,\"allergens\":[\"penicillin\",\"seafood\"],"
            "\"family\":[\"asthma\"],\"smoking\":\"current\",\"meds\":null,\"ghost\":1}";
        consult_prune(&pr, pool, t, J(back), &CTX);
        tap_is_str(hg_json_dump(pool, pr, HG_JSON_DUMP_SORTED),
                   "{\"allergens\":[\"penicillin\",\"seafood\"],\"allergy\":true,\"chest_pain\":false,\"cough_days\":5,"
                   "\"family\":[\"asthma\"],\"meds\":null,\"smoking\":\"current\",\"sputum_color\":\"yellow\","
                   "\"symptoms\":[\"cough\",\"sputum\"]}", "prune drops hidden fever answers and unknown keys");
        consult_summary(&sum, pool, t, J(back), &CTX);
        tap_is_str(hg_json_gets(sum, "chief_complaint", NULL), "咳嗽5天", "hidden fever_days not in 主诉");
        tap_is_str(hg_json_gets(sum, "present_illness", NULL), "咳黄脓痰", "skipped meds says nothing");
        tap_is_str(hg_json_gets(sum, "allergy_history", NULL), "对青霉素、海鲜过敏", "allergens narrative");
        tap_is_str(hg_json_gets(sum, "family_history", NULL), "家族中有哮喘病史", "family narrative");
        tap_is_str(hg_json_gets(sum, "past_history", NULL), "", "unanswered section is empty");
    }

    /* FHIR QuestionnaireResponse */
    consult_fhir_response(&qr, pool, t, J(full), &CTX);
    tap_is_str(hg_json_gets(qr, "status", NULL), "completed", "QR status completed at review");
    tap_is_str(hg_json_gets(qr, "questionnaire", NULL), "resp|1", "QR questionnaire id|version");
    tap_is_str(hg_json_dump(pool, json_array_get(json_object_get(qr, "item"), 1), HG_JSON_DUMP_SORTED),
               "{\"answer\":[{\"valueCoding\":{\"code\":\"cough\",\"display\":\"咳嗽\"}},{\"valueCoding\":{\"code\":\"fever\",\"display\":\"发热\"}}],"
               "\"linkId\":\"symptoms\",\"text\":\"主要症状\"}", "QR multi answer as codings");
    tap_is_str(hg_json_dump(pool, json_array_get(json_object_get(qr, "item"), 3), HG_JSON_DUMP_SORTED),
               "{\"item\":[{\"answer\":[{\"valueInteger\":2}],\"linkId\":\"fever_days\"},"
               "{\"answer\":[{\"valueDecimal\":38.5}],\"linkId\":\"tmax\",\"text\":\"最高体温\"},"
               "{\"answer\":[{\"valueBoolean\":false}],\"linkId\":\"chills\"}],\"linkId\":\"fever\",\"text\":\"发热\"}",
               "QR group with nested items");
    consult_fhir_response(&qr, pool, t, J("{\"chest_pain\":true}"), &CTX);
    tap_is_str(hg_json_gets(qr, "status", NULL), "stopped", "QR status stopped after a terminal");
}

/* ---- quality rules ---- */

static const char *QT =
    "{\"id\":\"q\",\"version\":\"1\",\"items\":["
    "{\"linkId\":\"preg\",\"type\":\"choice\",\"text\":\"可能怀孕？\",\"tags\":[\"pregnancy\"],\"options\":["
    "  {\"code\":\"yes\"},{\"code\":\"no\",\"negative\":true}]},"
    "{\"linkId\":\"lmp\",\"type\":\"date\",\"tags\":[\"menstrual\"]},"
    "{\"linkId\":\"days\",\"type\":\"number\",\"text\":\"多少天\",\"durationUnit\":\"day\"},"
    "{\"linkId\":\"years\",\"type\":\"number\",\"durationUnit\":\"year\"},"
    "{\"linkId\":\"temp\",\"type\":\"number\",\"min\":30,\"max\":45,\"plausible\":{\"min\":35,\"max\":42}},"
    "{\"linkId\":\"smoke\",\"type\":\"boolean\"},{\"linkId\":\"packs\",\"type\":\"number\"}],"
    "\"quality\":[{\"id\":\"packs_no_smoke\",\"when\":\"smoke = false and packs > 0\",\"message\":\"不吸烟却填写了吸烟量\","
    "  \"linkId\":\"packs\"},{\"id\":\"hot\",\"when\":\"temp > 41\",\"message\":\"高热\",\"severity\":\"block\"}]}";

static const char *warn_codes(consult_template_t *t, const char *answers, const consult_ctx_t *ctx)
{
    json_t *w = NULL, *x;
    const char *s = "";
    size_t i;
    consult_quality(&w, pool, t, J(answers), ctx);
    json_array_foreach(w, i, x)
        s = apr_psprintf(pool, "%s%s%s:%s:%s", s, i ? "," : "", hg_json_gets(x, "code", NULL),
                         hg_json_gets(x, "linkId", NULL) ? hg_json_gets(x, "linkId", NULL) : "-",
                         hg_json_gets(x, "severity", NULL));
    return s;
}

static void test_quality(void)
{
    consult_template_t *t = load_ok(QT);
    const consult_ctx_t male = { "M", "1990-06-15", "2026-06-14" }, female = { "F", "1990-06-15", "2026-06-14" };
    json_t *w = NULL;
    tap_is_str(warn_codes(t, "{\"preg\":\"yes\"}", &male), "sex_mismatch:preg:block", "pregnancy answered yes by a man: blocking");
    tap_is_str(warn_codes(t, "{\"preg\":\"no\"}", &male), "", "a negative option by a man: no warning");
    tap_is_str(warn_codes(t, "{\"preg\":\"yes\"}", &female), "", "a woman: no warning");
    tap_is_str(warn_codes(t, "{\"lmp\":\"2026-06-01\"}", &male), "sex_mismatch:lmp:block", "menstrual date by a man");
    tap_is_str(warn_codes(t, "{\"lmp\":null}", &male), "", "skipped menstrual item: no warning");
    /* 36 years less a day of life: 13148 days */
    tap_is_str(warn_codes(t, "{\"days\":13149}", &male), "", "a duration within the age (+1 day)");
    tap_is_str(warn_codes(t, "{\"days\":13150}", &male), "duration_exceeds_age:days:block", "a duration longer than the age");
    tap_is_str(warn_codes(t, "{\"years\":40}", &male), "duration_exceeds_age:years:block", "40 years at 35");
    tap_is_str(warn_codes(t, "{\"years\":30}", &male), "", "30 years at 35");
    tap_is_str(warn_codes(t, "{\"temp\":34}", &male), "implausible_value:temp:warn", "below the plausible range: warn");
    tap_is_str(warn_codes(t, "{\"temp\":37}", &male), "", "plausible");
    tap_is_str(warn_codes(t, "{\"temp\":41.5}", &male), "hot:-:block", "the template's blocking rule");
    tap_is_str(warn_codes(t, "{\"smoke\":false,\"packs\":2}", &male), "packs_no_smoke:packs:warn", "the template's rule, warn by default");
    tap_is_str(warn_codes(t, "{\"smoke\":true,\"packs\":2}", &male), "", "the rule does not fire");
    tap_is_str(warn_codes(t, "{\"preg\":\"yes\",\"days\":99999,\"smoke\":false,\"packs\":1}", &male),
               "sex_mismatch:preg:block,duration_exceeds_age:days:block,packs_no_smoke:packs:warn", "several warnings, template order");
    consult_quality(&w, pool, t, J("{\"preg\":\"yes\"}"), &male);
    tap_ok(strstr(hg_json_gets(json_array_get(w, 0), "message", NULL), "可能怀孕") != NULL, "the message names the question");
    tap_is_int(consult_warnings_block(w), 1, "block detected");
    consult_quality(&w, pool, t, J("{\"temp\":34}"), &male);
    tap_is_int(consult_warnings_block(w), 0, "warn only: not blocking");
    tap_is_str(warn_codes(t, "{\"days\":99999}", &(consult_ctx_t){ "M", NULL, "2026-06-14" }), "", "no birth date: no age rule");

    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"number\"}],"
             "\"quality\":[{\"id\":\"r\",\"when\":\"nope > 1\",\"message\":\"m\"}]}", "quality[0].when", "unknown linkId 'nope'", "quality rule with an unknown name");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"number\"}],"
             "\"quality\":[{\"id\":\"r\",\"when\":\"a > 1\",\"message\":\"m\",\"severity\":\"fatal\"}]}", "quality[0].severity", "warn or block", "bad severity");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"number\"}],"
             "\"quality\":[{\"id\":\"r\",\"when\":\"a > 1\",\"message\":\"m\",\"severity\":1}]}", "quality[0].severity", "warn or block", "severity not a string");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"number\"}],"
             "\"quality\":{\"id\":\"r\"}}", "quality", "array", "quality not an array");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"number\"}],"
             "\"quality\":[{\"id\":\"r\",\"when\":\"a > 1\",\"message\":\"m\"},{\"id\":\"r\",\"when\":\"a > 2\",\"message\":\"m\"}]}",
             "quality[1].id", "duplicate", "duplicate rule id");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"number\"}],"
             "\"quality\":[{\"id\":\"r\",\"when\":\"a > 1\",\"message\":\"m\",\"linkId\":\"zz\"}]}", "quality[0].linkId", "unknown linkId", "rule linkId unknown");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"number\"}],"
             "\"quality\":[{\"id\":\"r\",\"when\":\"a >\",\"message\":\"m\"}]}", "quality[0].when", "expression syntax", "rule syntax error");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\",\"tags\":[\"male\"]}]}",
             "items[0].tags[0]", "pregnancy|menstrual|female", "unknown tag");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"text\",\"durationUnit\":\"day\"}]}",
             "items[0].durationUnit", "for number items", "durationUnit on text");
    load_bad("{\"id\":\"x\",\"version\":\"1\",\"items\":[{\"linkId\":\"a\",\"type\":\"number\",\"plausible\":{\"min\":\"1\"}}]}",
             "items[0].plausible", "numbers", "plausible with a string");
}

/* ---- pages, Back, the view ---- */

static const char *view_of(consult_template_t *t, json_t *answers, json_t *nav, const consult_ctx_t *ctx)
{
    json_t *v = NULL, *x;
    const char *s;
    size_t i;
    consult_view(&v, pool, t, answers, nav, ctx);
    s = apr_psprintf(pool, "%s %d/%d [", hg_json_gets(v, "state", NULL),
                     (int)json_integer_value(json_object_get(json_object_get(v, "progress"), "answered")),
                     (int)json_integer_value(json_object_get(json_object_get(v, "progress"), "total")));
    json_array_foreach(json_object_get(v, "items"), i, x) {
        json_t *a = json_object_get(x, "answer");
        s = apr_psprintf(pool, "%s%s%s%s%s", s, i ? "," : "", hg_json_gets(x, "linkId", NULL), a ? "=" : "",
                         a ? hg_json_dump(pool, a, HG_JSON_DUMP_SORTED | JSON_ENCODE_ANY) : "");
    }
    return apr_pstrcat(pool, s, "]", NULL);
}

static void post(consult_template_t *t, json_t *answers, json_t *nav, const char *add)
{
    json_t *a = J(add), *ids = hg_json_own(pool, json_array()), *v;
    const char *k;
    json_object_foreach(a, k, v) {
        json_object_set(answers, k, v);
        json_array_append_new(ids, json_string(k));
    }
    consult_nav_record(nav, ids);
    (void)t;
}

static void test_navigation(void)
{
    consult_template_t *t = load_ok("{\"id\":\"n\",\"version\":\"1\",\"items\":["
        "{\"linkId\":\"cough\",\"type\":\"choice\",\"required\":true,\"section\":\"chief_complaint\",\"narrative\":\"咳嗽{days}天\","
        "  \"options\":[{\"code\":\"yes\"},{\"code\":\"no\",\"narrative\":\"无咳嗽\"}]},"
        "{\"linkId\":\"days\",\"type\":\"number\",\"durationUnit\":\"day\",\"enableWhen\":[{\"question\":\"cough\",\"operator\":\"=\",\"answer\":\"yes\"}]},"
        "{\"linkId\":\"sputum\",\"type\":\"boolean\",\"section\":\"present_illness\",\"narrative\":\"有痰\",\"negative\":\"无痰\","
        "  \"enableWhen\":[{\"question\":\"cough\",\"operator\":\"=\",\"answer\":\"yes\"}]},"
        "{\"linkId\":\"smoke\",\"type\":\"boolean\",\"section\":\"personal_history\",\"narrative\":\"吸烟\",\"negative\":\"否认吸烟史\"}]}");
    json_t *ans = hg_json_object(pool), *nav = hg_json_object(pool), *v = NULL;
    tap_is_str(view_of(t, ans, nav, &CTX), "in-progress 0/2 [cough,smoke]", "first page: what applies");
    post(t, ans, nav, "{\"cough\":\"yes\"}");
    tap_is_str(view_of(t, ans, nav, &CTX), "in-progress 1/4 [days,sputum,smoke]", "cough yes: follow-ups appear");
    post(t, ans, nav, "{\"days\":4,\"sputum\":true}");
    tap_is_str(view_of(t, ans, nav, &CTX), "in-progress 3/4 [smoke]", "then the rest");
    tap_is_int(consult_nav_back(t, ans, nav, &CTX, pool), 1, "back moves");
    tap_is_str(view_of(t, ans, nav, &CTX), "in-progress 3/4 [days=4,sputum=true]", "back: the last page with its answers");
    tap_is_int(consult_nav_back(t, ans, nav, &CTX, pool), 1, "back again");
    tap_is_str(view_of(t, ans, nav, &CTX), "in-progress 3/4 [cough=\"yes\"]", "back: the first page");
    tap_is_int(consult_nav_back(t, ans, nav, &CTX, pool), 0, "no page before the first");
    post(t, ans, nav, "{\"cough\":\"no\"}");
    tap_is_str(view_of(t, ans, nav, &CTX), "in-progress 1/2 [smoke]", "cough changed to no: the hidden page is skipped");
    tap_ok(json_object_get(ans, "days") != NULL, "hidden answers are kept until submission");
    tap_is_int(consult_nav_back(t, ans, nav, &CTX, pool), 1, "back from the frontier");
    tap_is_str(view_of(t, ans, nav, &CTX), "in-progress 1/2 [cough=\"no\"]", "back skips the page whose items are all hidden");
    post(t, ans, nav, "{\"cough\":\"yes\"}");
    tap_is_str(view_of(t, ans, nav, &CTX), "in-progress 3/4 [days=4,sputum=true]", "yes again: the kept answers come back on their page");
    post(t, ans, nav, "{\"days\":5,\"sputum\":true}");
    tap_is_str(view_of(t, ans, nav, &CTX), "in-progress 3/4 [smoke]", "forward to the frontier");
    post(t, ans, nav, "{\"smoke\":false}");
    consult_view(&v, pool, t, ans, nav, &CTX);
    tap_is_str(hg_json_gets(v, "state", NULL), "review", "all answered: review");
    tap_is_str(hg_json_gets(v, "review", "narrative", NULL), "主诉：咳嗽5天\n现病史：有痰\n个人史：否认吸烟史", "review narrative, labelled sections");
    tap_is_str(hg_json_gets(v, "review", "sections", "chief_complaint", NULL), "咳嗽5天", "review sections");
    tap_is_int(json_array_size(json_object_get(json_object_get(v, "review"), "warnings")), 0, "no warnings");
    tap_is_int(consult_nav_back(t, ans, nav, &CTX, pool), 1, "back from the review");
    tap_is_str(view_of(t, ans, nav, &CTX), "in-progress 4/4 [smoke=false]", "the last page again");
    json_object_set_new(ans, "days", json_integer(20000));
    json_object_set_new(nav, "pos", json_integer(99));
    consult_view(&v, pool, t, ans, nav, &CTX);
    tap_is_str(hg_json_gets(v, "review", "warnings", NULL) ? "" : hg_json_dump(pool, json_object_get(json_object_get(v, "review"), "warnings"), HG_JSON_DUMP_SORTED),
               "[{\"code\":\"duration_exceeds_age\",\"linkId\":\"days\",\"message\":\"“days”填写的时长超过了您的年龄，请核对\",\"severity\":\"block\"}]",
               "a bad position is the frontier; the review carries the warnings");
    tap_is_str(view_of(t, J("{\"cough\":\"yes\"}"), NULL, &CTX), "in-progress 1/4 [days,sputum,smoke]", "no nav: the pending items");
}

/* ---- FHIR Questionnaire ---- */

static const char *RICH =
    "{\"id\":\"rich\",\"version\":\"3\",\"title\":\"全功能\",\"items\":["
    "{\"linkId\":\"c\",\"type\":\"choice\",\"text\":\"选择\",\"required\":true,\"section\":\"chief_complaint\",\"narrative\":\"主诉{n}\","
    "  \"options\":[{\"code\":\"a\",\"display\":\"甲\",\"narrative\":\"选甲\"},{\"code\":\"b\",\"display\":\"乙\",\"negative\":true}],\"initial\":\"a\"},"
    "{\"linkId\":\"m\",\"type\":\"multi\",\"text\":\"多选\",\"options\":[{\"code\":\"x\"},{\"code\":\"y\"}],\"initial\":[\"x\",\"y\"],"
    "  \"negative\":\"无\",\"terminal\":{\"when\":\"m anyof ['y']\",\"advice\":\"急诊\"}},"
    "{\"linkId\":\"n\",\"type\":\"number\",\"min\":0,\"max\":120,\"plausible\":{\"min\":1,\"max\":90},\"durationUnit\":\"week\","
    "  \"enableWhen\":[{\"question\":\"c\",\"operator\":\"=\",\"answer\":\"a\"},{\"question\":\"m\",\"operator\":\"exists\",\"answer\":true}],"
    "  \"enableBehavior\":\"any\"},"
    "{\"linkId\":\"d\",\"type\":\"date\",\"min\":\"2000-01-01\",\"max\":\"2030-12-31\",\"tags\":[\"menstrual\"],"
    "  \"enableWhen\":[{\"question\":\"n\",\"operator\":\">=\",\"answer\":3}]},"
    "{\"linkId\":\"t\",\"type\":\"text\",\"minLength\":2,\"maxLength\":20,\"pattern\":\"[a-z]+\",\"repeats\":true,\"prefix\":\"1.\","
    "  \"enableIf\":\"not (c = 'b') and $age > 10\",\"code\":[{\"system\":\"http://loinc.org\",\"code\":\"10154-3\"}]},"
    "{\"linkId\":\"b\",\"type\":\"boolean\",\"readOnly\":false,\"enableWhen\":[{\"question\":\"d\",\"operator\":\"<\",\"answer\":\"2026-01-01\"}]},"
    "{\"linkId\":\"g\",\"type\":\"group\",\"text\":\"组\",\"items\":["
    "  {\"linkId\":\"g1\",\"type\":\"display\",\"text\":\"说明\"},"
    "  {\"linkId\":\"score\",\"type\":\"calculated\",\"calculate\":\"iif(b, 1, 0) + count(m)\",\"section\":\"present_illness\",\"narrative\":\"评分{value}\"}]}],"
    "\"quality\":[{\"id\":\"q1\",\"when\":\"n > 100\",\"message\":\"太大\",\"severity\":\"block\",\"linkId\":\"n\"}]}";

static void test_fhir(void)
{
    json_t *def = J(RICH), *q = NULL, *back = NULL, *q2 = NULL, *item;
    hg_error_t *e = NULL;
    load_ok(RICH);
    tap_ok(consult_fhir_export(&q, pool, def, "active") == APR_SUCCESS, "export");
    tap_is_str(hg_json_gets(q, "resourceType", NULL), "Questionnaire", "a Questionnaire");
    tap_is_str(hg_json_gets(q, "status", NULL), "active", "approved -> active");
    item = json_array_get(json_object_get(q, "item"), 1);
    tap_is_str(hg_json_gets(item, "type", NULL), "choice", "multi -> choice");
    tap_ok(json_is_true(json_object_get(item, "repeats")), "multi -> repeats");
    item = json_array_get(json_object_get(q, "item"), 2);
    tap_is_str(hg_json_dump(pool, json_object_get(item, "enableWhen"), HG_JSON_DUMP_SORTED),
               "[{\"answerCoding\":{\"code\":\"a\"},\"operator\":\"=\",\"question\":\"c\"},"
               "{\"answerBoolean\":true,\"operator\":\"exists\",\"question\":\"m\"}]", "enableWhen typed by the question");
    tap_is_str(hg_json_gets(item, "type", NULL), "decimal", "number -> decimal");
    tap_is_str(hg_json_dump(pool, json_array_get(json_object_get(item, "extension"), 0), HG_JSON_DUMP_SORTED),
               "{\"url\":\"http://hl7.org/fhir/StructureDefinition/minValue\",\"valueDecimal\":0}", "min -> the standard minValue");
    item = json_array_get(json_object_get(q, "item"), 4);
    tap_is_str(hg_json_gets(item, "type", NULL), "string", "text -> string");
    tap_is_int(json_integer_value(json_object_get(item, "maxLength")), 20, "maxLength core");
    tap_is_str(hg_json_dump(pool, json_array_get(json_object_get(json_array_get(json_object_get(q, "item"), 0), "answerOption"), 0), HG_JSON_DUMP_SORTED),
               "{\"extension\":[{\"url\":\"https://hisgate.org/fhir/StructureDefinition/consult-narrative\",\"valueString\":\"选甲\"}],"
               "\"valueCoding\":{\"code\":\"a\",\"display\":\"甲\"}}", "answerOption with code, display and our narrative");
    tap_ok(consult_fhir_import(&back, pool, q, NULL, "3", &e) == APR_SUCCESS, "import of the export");
    tap_ok(json_equal(back, def), "round trip: the same template");
    if (!json_equal(back, def)) tap_diag("got %s", hg_json_dump(pool, back, HG_JSON_DUMP_SORTED));
    consult_fhir_export(&q2, pool, back, "active");
    tap_ok(json_equal(q, q2), "round trip: the same Questionnaire");
    json_object_set_new(json_array_get(json_object_get(json_array_get(json_object_get(q, "item"), 6), "item"), 0), "type", json_string("attachment"));
    tap_ok(consult_fhir_import(&back, pool, q, NULL, "1", &e) == HG_EINVALID && !strcmp(e->field, "item[6].item[0].type"),
           "an unsupported type is refused with its FHIR path");
    tap_ok(consult_fhir_import(&back, pool, J("{\"resourceType\":\"Patient\"}"), NULL, "1", &e) == HG_EINVALID
           && !strcmp(e->field, "resourceType"), "not a Questionnaire: refused");
    tap_ok(consult_fhir_import(&back, pool, J("{\"resourceType\":\"Questionnaire\",\"id\":\"z\",\"item\":[{\"linkId\":\"a\",\"type\":\"integer\"},"
           "{\"linkId\":\"b\",\"type\":\"text\",\"enableWhen\":[{\"question\":\"a\",\"operator\":\">\",\"answerInteger\":3}]}]}"),
           NULL, "1", &e) == APR_SUCCESS, "a plain FHIR Questionnaire imports");
    tap_is_str(hg_json_dump(pool, back, HG_JSON_DUMP_SORTED),
               "{\"id\":\"z\",\"items\":[{\"linkId\":\"a\",\"type\":\"number\"},{\"enableWhen\":[{\"answer\":3,\"operator\":\">\",\"question\":\"a\"}],"
               "\"linkId\":\"b\",\"type\":\"text\"}],\"version\":\"1\"}", "integer -> number, answerInteger -> answer");
}

/* ---- demo templates, notify ---- */

static void test_demo_templates(void)
{
    FILE *f = fopen("mod_consult/demo.sql", "r");
    char *buf = apr_palloc(pool, 200000), *s, *e;
    size_t n = f ? fread(buf, 1, 199999, f) : 0;
    int count = 0;
    if (f) fclose(f);
    buf[n] = 0;
    for (s = buf; (s = strstr(s, "$json$")) && (e = strstr(s + 6, "$json$")); s = e + 6) {
        consult_template_t *t = NULL;
        hg_error_t *err = NULL;
        json_t *def = NULL;
        *e = 0;
        hg_json_parse(&def, pool, s + 6, strlen(s + 6), 0, NULL);
        if (!tap_ok(def && consult_template_load(&t, pool, def, &err) == APR_SUCCESS, "demo template %s loads",
                    def ? hg_json_gets(def, "id", NULL) : "?"))
            tap_diag("%s %s", err ? err->field : "", err ? err->message : "not JSON");
        count++;
    }
    tap_ok(count >= 4, "at least four demo templates (%d)", count);
}

static void test_notify(void)
{
    const char *text = consult_notify_sms_text(pool, "【演示医院】", J("{\"url\":\"http://h/consult/q.html#t=abc\","
                                                                 "\"department\":\"0302\",\"visitTime\":\"2026-06-14 09:30:00\"}"));
    tap_ok(text && !strncmp(text, "【演示医院】", strlen("【演示医院】")) && strstr(text, "http://h/consult/q.html#t=abc")
           && strstr(text, "2026-06-14 09:30:00"), "SMS: sign, visit time and link");
    tap_ok(consult_notify_sms_text(pool, NULL, J("{\"url\":\"x\"}")) == NULL, "no sign: no SMS");
    tap_is_str(consult_push_signature(pool, "test-push-secret", "1700000000", "{\"visitNo\":\"V1\"}", 16),
               "1e19b6ccdf8fd8065cd7f4d6f96c42132a24f7f8c3714573ab01f536b1b90c13", "push signature: HMAC-SHA256 of ts\\nbody");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_enable_when();
    test_behavior_and_disabled();
    test_expressions();
    test_load_errors();
    test_validate();
    test_calculated();
    test_respiratory();
    test_quality();
    test_navigation();
    test_fhir();
    test_demo_templates();
    test_notify();
    tap_plan(tap_n);        /* trailing plan: the count follows the tables above */
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}
