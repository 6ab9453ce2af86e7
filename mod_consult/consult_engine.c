/* mod_consult questionnaire engine; see consult_engine.h for the template format and semantics. */
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <math.h>
#include <regex.h>
#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_tables.h>
#include "hg_json.h"
#include "consult_engine.h"

/* ---------------------------------------------------------------- types */

typedef enum { IT_CHOICE, IT_MULTI, IT_TEXT, IT_NUMBER, IT_DATE, IT_BOOLEAN, IT_DISPLAY, IT_GROUP,
               IT_CALC } itype_t;
static const char *const TYPE_NAMES[] = { "choice", "multi", "text", "number", "date", "boolean",
                                          "display", "group", "calculated", NULL };
static const char *const SECTIONS[] = { "chief_complaint", "present_illness", "past_history",
                                        "personal_history", "allergy_history", "family_history", NULL };
#define NSECT 6

enum { OP_OR = 1, OP_AND, OP_NOT, OP_EQ, OP_NE, OP_GT, OP_LT, OP_GE, OP_LE, OP_ANYOF, OP_ALLOF,
       OP_NONEOF, OP_CONTAINS, OP_NOTCONTAINS, OP_EMPTY, OP_NOTEMPTY, OP_ADD, OP_SUB, OP_MUL, OP_DIV,
       OP_NEG, OP_EXISTS };

typedef enum { E_LIT, E_REF, E_CTX, E_LIST, E_UN, E_BIN, E_CALL } ekind_t;
typedef enum { V_NULL, V_NUM, V_STR, V_BOOL, V_LIST } vkind_t;

typedef struct val_t {
    vkind_t k;
    double n;
    const char *s;
    int b;
    apr_array_header_t *l;      /* of val_t */
} val_t;

typedef struct expr_t {
    ekind_t k;
    int op;
    val_t lit;
    const char *name;           /* ref linkId, ctx name, function name */
    int ref;                    /* item index once resolved */
    struct expr_t *a, *b;
    apr_array_header_t *args;   /* of expr_t* (list literal, call) */
    int height;                 /* levels of the tree from here down (1 for a leaf) */
} expr_t;

typedef struct {
    const char *question;
    int q;                      /* item index */
    int op;
    json_t *answer;
} cond_t;

typedef struct item_t {
    const char *link_id, *path, *text;
    itype_t type;
    int idx, parent, required, repeats;
    json_t *def, *options, *initial;
    int has_min, has_max;
    double min, max;            /* numbers */
    const char *dmin, *dmax;    /* dates */
    apr_int64_t min_len, max_len;   /* -1 = none */
    regex_t *re;
    apr_array_header_t *when;   /* of cond_t */
    int any;
    expr_t *enable_if, *calc, *term_when;
    const char *advice, *section, *narrative, *negative;
    apr_array_header_t *children;   /* of int */
    apr_array_header_t *deps;       /* of int */
    int female;                 /* tagged pregnancy / menstrual / female: a male's answer is suspect */
    double dur_days;            /* durationUnit in days (0 = not a duration) */
    int has_pmin, has_pmax;
    double pmin, pmax;          /* plausible range (soft: a warning, not a refusal) */
} item_t;

typedef struct {
    const char *id, *message, *link_id;
    int block;
    struct expr_t *when;
} qrule_t;

struct consult_template_t {
    apr_pool_t *pool;
    json_t *def;
    const char *id, *version;
    apr_array_header_t *items;      /* of item_t*, template (pre-)order */
    apr_array_header_t *roots;      /* of int */
    apr_hash_t *by_id;              /* linkId -> item_t* */
    apr_array_header_t *quality;    /* of qrule_t */
};

#define ITEM(t, i) (APR_ARRAY_IDX((t)->items, (i), item_t *))

/* ---------------------------------------------------------------- values */

static val_t vnull(void) { val_t v = { V_NULL, 0, NULL, 0, NULL }; return v; }
static val_t vnum(double n) { val_t v = vnull(); v.k = V_NUM; v.n = n; return v; }
static val_t vbool(int b) { val_t v = vnull(); v.k = V_BOOL; v.b = !!b; return v; }
static val_t vstr(const char *s) { val_t v = vnull(); v.k = V_STR; v.s = s; return v; }

static val_t from_json(apr_pool_t *p, json_t *j)
{
    if (!j) return vnull();
    switch (json_typeof(j)) {
    case JSON_STRING: return vstr(json_string_value(j));
    case JSON_INTEGER: case JSON_REAL: return vnum(json_number_value(j));
    case JSON_TRUE: return vbool(1);
    case JSON_FALSE: return vbool(0);
    case JSON_ARRAY: {
        val_t v = vnull();
        size_t i;
        v.k = V_LIST;
        v.l = apr_array_make(p, (int)json_array_size(j) + 1, sizeof(val_t));
        for (i = 0; i < json_array_size(j); i++) {
            val_t e = from_json(p, json_array_get(j, i));
            if (e.k != V_NULL) APR_ARRAY_PUSH(v.l, val_t) = e;
        }
        return v;
    }
    default: return vnull();
    }
}

static json_t *to_json(const val_t *v)
{
    int i;
    switch (v->k) {
    case V_NUM:
        if (v->n == floor(v->n) && fabs(v->n) < 1e15) return json_integer((json_int_t)v->n);
        return json_real(v->n);
    case V_STR: return json_string(v->s);
    case V_BOOL: return json_boolean(v->b);
    case V_LIST: {
        json_t *a = json_array();
        for (i = 0; i < v->l->nelts; i++) json_array_append_new(a, to_json(&APR_ARRAY_IDX(v->l, i, val_t)));
        return a;
    }
    default: return json_null();
    }
}

static int is_empty(const val_t *v)
{
    return v->k == V_NULL || (v->k == V_STR && !*v->s) || (v->k == V_LIST && v->l->nelts == 0);
}

static int truthy(const val_t *v)
{
    switch (v->k) {
    case V_BOOL: return v->b;
    case V_NUM: return v->n != 0;
    case V_STR: return *v->s != 0;
    case V_LIST: return v->l->nelts > 0;
    default: return 0;
    }
}

static int scalar_eq(const val_t *a, const val_t *b)
{
    if (a->k != b->k) return 0;
    switch (a->k) {
    case V_NUM: return a->n == b->n;
    case V_STR: return strcmp(a->s, b->s) == 0;
    case V_BOOL: return a->b == b->b;
    default: return 0;
    }
}

/* <0, 0, >0 in *c; 0 when the two cannot be ordered */
static int scalar_cmp(const val_t *a, const val_t *b, int *c)
{
    if (a->k == V_NUM && b->k == V_NUM) { *c = (a->n > b->n) - (a->n < b->n); return 1; }
    if (a->k == V_STR && b->k == V_STR) { *c = strcmp(a->s, b->s); return 1; }
    return 0;
}

/* the elements of v as a list: null -> none, scalar -> itself */
static int list_n(const val_t *v) { return v->k == V_LIST ? v->l->nelts : v->k == V_NULL ? 0 : 1; }
static const val_t *list_at(const val_t *v, int i)
{
    return v->k == V_LIST ? &APR_ARRAY_IDX(v->l, i, val_t) : v;
}

static int has_elem(const val_t *set, const val_t *x)
{
    int i;
    for (i = 0; i < list_n(set); i++)
        if (scalar_eq(list_at(set, i), x)) return 1;
    return 0;
}

static int set_eq(const val_t *a, const val_t *b)
{
    int i;
    if (list_n(a) != list_n(b)) return 0;
    for (i = 0; i < list_n(b); i++)
        if (!has_elem(a, list_at(b, i))) return 0;
    return 1;
}

/* "at least one element of a relates to b", the FHIR meaning for multi answers */
static int any_rel(const val_t *a, const val_t *b, int op)
{
    int i, c;
    for (i = 0; i < list_n(a); i++) {
        const val_t *e = list_at(a, i);
        if (op == OP_EQ) { if (scalar_eq(e, b)) return 1; continue; }
        if (!scalar_cmp(e, b, &c)) continue;
        if ((op == OP_GT && c > 0) || (op == OP_LT && c < 0) || (op == OP_GE && c >= 0) ||
            (op == OP_LE && c <= 0)) return 1;
    }
    return 0;
}

/* days since 1970-01-01 of a yyyy-MM-dd string (Hinnant's days_from_civil) */
static int date_days(const val_t *v, long *days, int *y, int *m, int *d)
{
    apr_time_exp_t tm;
    long yy, era, yoe, doy, doe;
    unsigned mm;
    if (v->k != V_STR || hg_date_parse(&tm, v->s, strlen(v->s), HG_DATE_DATE, NULL) != APR_SUCCESS)
        return 0;
    yy = tm.tm_year + 1900; mm = (unsigned)tm.tm_mon + 1;
    if (y) { *y = (int)yy; *m = (int)mm; *d = tm.tm_mday; }
    yy -= mm <= 2;
    era = yy / 400;
    yoe = yy - era * 400;
    doy = (153 * (mm + (mm > 2 ? -3 : 9)) + 2) / 5 + tm.tm_mday - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *days = era * 146097 + doe - 719468;
    return 1;
}

static const char *num_text(apr_pool_t *p, double n)
{
    /* apr_psprintf has no %lld */
    if (n == floor(n) && fabs(n) < 1e15) return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)n);
    return apr_psprintf(p, "%.15g", n);
}

/* ---------------------------------------------------------------- expression parser */

typedef struct {
    apr_pool_t *p;
    const char *s;
    size_t i;
    const char *err;
    int depth;                  /* nesting guard: the C stack is not for templates to exhaust */
} parser_t;

static void skip_ws(parser_t *ps) { while (ps->s[ps->i] == ' ' || ps->s[ps->i] == '\t' || ps->s[ps->i] == '\n' || ps->s[ps->i] == '\r') ps->i++; }

static int ident_start(int c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static int ident_char(int c) { return ident_start(c) || (c >= '0' && c <= '9') || c == '.'; }

/* the bare word at the cursor (not consumed), or NULL */
static const char *peek_word(parser_t *ps, size_t *len)
{
    size_t j;
    skip_ws(ps);
    if (!ident_start((unsigned char)ps->s[ps->i])) return NULL;
    for (j = ps->i; ident_char((unsigned char)ps->s[j]); j++) ;
    *len = j - ps->i;
    return ps->s + ps->i;
}

static int accept_word(parser_t *ps, const char *w)
{
    size_t n;
    const char *s = peek_word(ps, &n);
    if (s && n == strlen(w) && strncmp(s, w, n) == 0) { ps->i += n; return 1; }
    return 0;
}

static int accept_sym(parser_t *ps, const char *sym)
{
    size_t n = strlen(sym);
    skip_ws(ps);
    if (strncmp(ps->s + ps->i, sym, n) != 0) return 0;
    /* "=" must not eat the start of "==", "<" not of "<=" etc. */
    if (n == 1 && (sym[0] == '<' || sym[0] == '>' || sym[0] == '!' || sym[0] == '=') && ps->s[ps->i + 1] == '=')
        return 0;
    ps->i += n;
    return 1;
}

static expr_t *fail(parser_t *ps, const char *what)
{
    if (!ps->err) ps->err = apr_psprintf(ps->p, "%s at offset %lu", what, (unsigned long)ps->i);
    return NULL;
}

/* Evaluation and resolve() recurse once per level of the tree, and a chain of binary operators
 * ("1*1*1*…", "a or a or …") is a level per operator without any nesting the depth counter sees: 3000
 * of them overflowed the stack (ASan, in eval).  So the tree's height is bounded too. */
#define CONSULT_EXPR_MAX_HEIGHT 256

/* e's height is at least 1 + sub's; NULL (with the error) beyond CONSULT_EXPR_MAX_HEIGHT */
static expr_t *grow(parser_t *ps, expr_t *e, const expr_t *sub)
{
    if (sub && sub->height >= e->height) e->height = sub->height + 1;
    if (e->height > CONSULT_EXPR_MAX_HEIGHT)
        return fail(ps, apr_psprintf(ps->p, "expression too deep (more than %d levels of operators)", CONSULT_EXPR_MAX_HEIGHT));
    return e;
}

static expr_t *mk(parser_t *ps, ekind_t k, int op, expr_t *a, expr_t *b)
{
    expr_t *e = apr_pcalloc(ps->p, sizeof(*e));
    e->k = k; e->op = op; e->a = a; e->b = b; e->ref = -1; e->height = 1;
    return grow(ps, e, a) && grow(ps, e, b) ? e : NULL;
}

static const char *const KEYWORDS[] = { "and", "or", "not", "true", "false", "null", "anyof", "allof",
    "noneof", "contains", "notcontains", "empty", "notempty", NULL };

static int is_keyword(const char *s, size_t n)
{
    int i;
    for (i = 0; KEYWORDS[i]; i++)
        if (strlen(KEYWORDS[i]) == n && strncmp(KEYWORDS[i], s, n) == 0) return 1;
    return 0;
}

static expr_t *p_or(parser_t *ps);

static const struct { const char *name; int min, max; } FUNCS[] = {
    { "age", 1, 1 }, { "daysBetween", 2, 2 }, { "iif", 3, 3 }, { "today", 0, 0 }, { "count", 1, 1 },
    { "sum", 1, 64 }, { "empty", 1, 1 }, { "notempty", 1, 1 }, { NULL, 0, 0 } };

static expr_t *p_primary(parser_t *ps)
{
    size_t n;
    const char *w;
    char c;
    skip_ws(ps);
    c = ps->s[ps->i];
    if (c == '(') {
        expr_t *e;
        ps->i++;
        if (!(e = p_or(ps))) return NULL;
        if (!accept_sym(ps, ")")) return fail(ps, "expected ')'");
        return e;
    }
    if (c == '[') {
        expr_t *e = mk(ps, E_LIST, 0, NULL, NULL);
        ps->i++;
        e->args = apr_array_make(ps->p, 4, sizeof(expr_t *));
        if (accept_sym(ps, "]")) return e;
        do {
            expr_t *x = p_or(ps);
            if (!x || !grow(ps, e, x)) return NULL;
            APR_ARRAY_PUSH(e->args, expr_t *) = x;
        } while (accept_sym(ps, ","));
        if (!accept_sym(ps, "]")) return fail(ps, "expected ']'");
        return e;
    }
    if (c == '\'' || c == '"') {
        size_t j = ps->i + 1;
        expr_t *e;
        while (ps->s[j] && ps->s[j] != c) j++;
        if (!ps->s[j]) return fail(ps, "unterminated string");
        e = mk(ps, E_LIT, 0, NULL, NULL);
        e->lit = vstr(apr_pstrmemdup(ps->p, ps->s + ps->i + 1, j - ps->i - 1));
        ps->i = j + 1;
        return e;
    }
    if ((c >= '0' && c <= '9') || (c == '.' && ps->s[ps->i + 1] >= '0' && ps->s[ps->i + 1] <= '9')) {
        char *end;
        double d = strtod(ps->s + ps->i, &end);
        expr_t *e = mk(ps, E_LIT, 0, NULL, NULL);
        e->lit = vnum(d);
        ps->i = (size_t)(end - ps->s);
        return e;
    }
    if (c == '{') {
        size_t j = ps->i + 1;
        expr_t *e;
        while (ps->s[j] && ps->s[j] != '}') j++;
        if (!ps->s[j] || j == ps->i + 1) return fail(ps, "bad {linkId}");
        e = mk(ps, E_REF, 0, NULL, NULL);
        e->name = apr_pstrmemdup(ps->p, ps->s + ps->i + 1, j - ps->i - 1);
        ps->i = j + 1;
        return e;
    }
    if (c == '$') {
        expr_t *e;
        ps->i++;
        if (!(w = peek_word(ps, &n)) || ps->s[ps->i - 1] != '$') return fail(ps, "expected a name after '$'");
        e = mk(ps, E_CTX, 0, NULL, NULL);
        e->name = apr_pstrmemdup(ps->p, w, n);
        ps->i += n;
        if (strcmp(e->name, "sex") && strcmp(e->name, "birthDate") && strcmp(e->name, "today") &&
            strcmp(e->name, "age"))
            return fail(ps, apr_psprintf(ps->p, "unknown context name '$%s'", e->name));
        return e;
    }
    if ((w = peek_word(ps, &n))) {
        expr_t *e;
        size_t save = ps->i;
        ps->i += n;
        skip_ws(ps);
        if (ps->s[ps->i] == '(') {
            int f, nargs;
            e = mk(ps, E_CALL, 0, NULL, NULL);
            e->name = apr_pstrmemdup(ps->p, w, n);
            for (f = 0; FUNCS[f].name && strcmp(FUNCS[f].name, e->name); f++) ;
            if (!FUNCS[f].name) { ps->i = save; return fail(ps, apr_psprintf(ps->p, "unknown function '%s'", e->name)); }
            ps->i++;
            e->args = apr_array_make(ps->p, 3, sizeof(expr_t *));
            if (!accept_sym(ps, ")")) {
                do {
                    expr_t *x = p_or(ps);
                    if (!x || !grow(ps, e, x)) return NULL;
                    APR_ARRAY_PUSH(e->args, expr_t *) = x;
                } while (accept_sym(ps, ","));
                if (!accept_sym(ps, ")")) return fail(ps, "expected ')'");
            }
            nargs = e->args->nelts;
            if (nargs < FUNCS[f].min || nargs > FUNCS[f].max)
                return fail(ps, apr_psprintf(ps->p, "wrong number of arguments to %s()", e->name));
            return e;
        }
        ps->i = save;
        if (accept_word(ps, "true")) { e = mk(ps, E_LIT, 0, NULL, NULL); e->lit = vbool(1); return e; }
        if (accept_word(ps, "false")) { e = mk(ps, E_LIT, 0, NULL, NULL); e->lit = vbool(0); return e; }
        if (accept_word(ps, "null")) { e = mk(ps, E_LIT, 0, NULL, NULL); e->lit = vnull(); return e; }
        if (is_keyword(w, n)) return fail(ps, apr_psprintf(ps->p, "unexpected '%.*s'", (int)n, w));
        e = mk(ps, E_REF, 0, NULL, NULL);
        e->name = apr_pstrmemdup(ps->p, w, n);
        ps->i += n;
        return e;
    }
    return fail(ps, c ? "unexpected character" : "unexpected end of expression");
}

static expr_t *p_unary(parser_t *ps)
{
    if (accept_sym(ps, "-")) {
        expr_t *a;
        if (++ps->depth > 64) return fail(ps, "expression nested too deeply");
        a = p_unary(ps);
        ps->depth--;
        return a ? mk(ps, E_UN, OP_NEG, a, NULL) : NULL;
    }
    return p_primary(ps);
}

static expr_t *p_mul(parser_t *ps)
{
    expr_t *l = p_unary(ps), *r;
    while (l) {
        int op = accept_sym(ps, "*") ? OP_MUL : accept_sym(ps, "/") ? OP_DIV : 0;
        if (!op) break;
        if (!(r = p_unary(ps))) return NULL;
        l = mk(ps, E_BIN, op, l, r);
    }
    return l;
}

static expr_t *p_add(parser_t *ps)
{
    expr_t *l = p_mul(ps), *r;
    while (l) {
        int op = accept_sym(ps, "+") ? OP_ADD : accept_sym(ps, "-") ? OP_SUB : 0;
        if (!op) break;
        if (!(r = p_mul(ps))) return NULL;
        l = mk(ps, E_BIN, op, l, r);
    }
    return l;
}

static expr_t *p_cmp(parser_t *ps)
{
    expr_t *l = p_add(ps), *r;
    int op = 0;
    if (!l) return NULL;
    if (accept_word(ps, "empty")) return mk(ps, E_UN, OP_EMPTY, l, NULL);
    if (accept_word(ps, "notempty")) return mk(ps, E_UN, OP_NOTEMPTY, l, NULL);
    if (accept_sym(ps, "==") || accept_sym(ps, "=")) op = OP_EQ;
    else if (accept_sym(ps, "!=")) op = OP_NE;
    else if (accept_sym(ps, ">=")) op = OP_GE;
    else if (accept_sym(ps, "<=")) op = OP_LE;
    else if (accept_sym(ps, ">")) op = OP_GT;
    else if (accept_sym(ps, "<")) op = OP_LT;
    else if (accept_word(ps, "anyof")) op = OP_ANYOF;
    else if (accept_word(ps, "allof")) op = OP_ALLOF;
    else if (accept_word(ps, "noneof")) op = OP_NONEOF;
    else if (accept_word(ps, "contains")) op = OP_CONTAINS;
    else if (accept_word(ps, "notcontains")) op = OP_NOTCONTAINS;
    if (!op) return l;
    if (!(r = p_add(ps))) return NULL;
    return mk(ps, E_BIN, op, l, r);
}

static expr_t *p_not(parser_t *ps)
{
    if (accept_word(ps, "not") || accept_sym(ps, "!")) {
        expr_t *a;
        if (++ps->depth > 64) return fail(ps, "expression nested too deeply");
        a = p_not(ps);
        ps->depth--;
        return a ? mk(ps, E_UN, OP_NOT, a, NULL) : NULL;
    }
    return p_cmp(ps);
}

static expr_t *p_and(parser_t *ps)
{
    expr_t *l = p_not(ps), *r;
    while (l && (accept_word(ps, "and") || accept_sym(ps, "&&"))) {
        if (!(r = p_not(ps))) return NULL;
        l = mk(ps, E_BIN, OP_AND, l, r);
    }
    return l;
}

static expr_t *p_or(parser_t *ps)
{
    expr_t *l, *r;
    /* every (…), […] and argument comes through here */
    if (++ps->depth > 64) return fail(ps, "expression nested too deeply");
    l = p_and(ps);
    while (l && (accept_word(ps, "or") || accept_sym(ps, "||"))) {
        if (!(r = p_and(ps))) return NULL;
        l = mk(ps, E_BIN, OP_OR, l, r);
    }
    ps->depth--;
    return l;
}

static expr_t *parse_expr(apr_pool_t *p, const char *s, const char **why)
{
    parser_t ps = { p, s, 0, NULL, 0 };
    expr_t *e = p_or(&ps);
    if (e) {
        skip_ws(&ps);
        if (ps.s[ps.i]) e = fail(&ps, "unexpected text after the expression");
    }
    *why = ps.err;
    return e;
}

/* resolve references to item indexes; adds them to deps (if deps); the unknown name or NULL */
static const char *resolve(const consult_template_t *t, expr_t *e, apr_array_header_t *deps)
{
    const char *bad = NULL;
    int i;
    if (!e) return NULL;
    if (e->k == E_REF) {
        item_t *it = apr_hash_get(t->by_id, e->name, APR_HASH_KEY_STRING);
        if (!it) return e->name;
        e->ref = it->idx;
        if (deps) APR_ARRAY_PUSH(deps, int) = it->idx;
        return NULL;
    }
    if ((bad = resolve(t, e->a, deps)) || (bad = resolve(t, e->b, deps))) return bad;
    if (e->args)
        for (i = 0; i < e->args->nelts; i++)
            if ((bad = resolve(t, APR_ARRAY_IDX(e->args, i, expr_t *), deps))) return bad;
    return NULL;
}

/* ---------------------------------------------------------------- evaluation */

typedef struct {
    const consult_template_t *t;
    json_t *answers;
    const consult_ctx_t *ctx;
    apr_pool_t *p;
    signed char *en;            /* 0 unknown, 1 enabled, 2 disabled */
    char *vdone;
    val_t *vals;
} ev_t;

static void ev_init(ev_t *ev, apr_pool_t *p, const consult_template_t *t, json_t *answers,
                    const consult_ctx_t *ctx)
{
    static const consult_ctx_t none = { NULL, NULL, NULL };
    int n = t->items->nelts;
    ev->t = t; ev->answers = json_is_object(answers) ? answers : NULL; ev->ctx = ctx ? ctx : &none;
    ev->p = p;
    ev->en = apr_pcalloc(p, n + 1);
    ev->vdone = apr_pcalloc(p, n + 1);
    ev->vals = apr_pcalloc(p, sizeof(val_t) * (n + 1));
}

static int enabled(ev_t *ev, int i);
static val_t eval(ev_t *ev, const expr_t *e);

/* the value logic sees: null when disabled; calculated items computed */
static val_t value_of(ev_t *ev, int i)
{
    item_t *it = ITEM(ev->t, i);
    if (ev->vdone[i]) return ev->vals[i];
    if (!enabled(ev, i)) ev->vals[i] = vnull();
    else if (it->type == IT_CALC) ev->vals[i] = eval(ev, it->calc);
    else if (it->type == IT_GROUP || it->type == IT_DISPLAY) ev->vals[i] = vnull();
    else {
        json_t *a = json_object_get(ev->answers, it->link_id);
        /* consult_validate_answer takes "" as "not given" for any item that is not required and the
         * route stores it as posted: it reads as a skip, like null.  As a string it reached the
         * summary of a multi item, which takes the answer for a list (NULL dereference). */
        if (it->type != IT_TEXT && json_is_string(a) && !*json_string_value(a)) a = NULL;
        ev->vals[i] = from_json(ev->p, a);
    }
    ev->vdone[i] = 1;
    return ev->vals[i];
}

static int age_years(const val_t *birth, const val_t *today, double *out)
{
    long d1, d2;
    int by, bm, bd, ty, tm, td;
    if (!date_days(birth, &d1, &by, &bm, &bd) || !date_days(today, &d2, &ty, &tm, &td)) return 0;
    *out = ty - by - ((tm < bm || (tm == bm && td < bd)) ? 1 : 0);
    return 1;
}

static void flatten_sum(const val_t *v, double *sum, int *any)
{
    int i;
    if (v->k == V_NUM) { *sum += v->n; *any = 1; }
    else if (v->k == V_LIST)
        for (i = 0; i < v->l->nelts; i++) flatten_sum(&APR_ARRAY_IDX(v->l, i, val_t), sum, any);
}

static val_t eval(ev_t *ev, const expr_t *e)
{
    val_t a, b;
    int i, c;
    switch (e->k) {
    case E_LIT: return e->lit;
    case E_REF: return e->ref >= 0 ? value_of(ev, e->ref) : vnull();
    case E_CTX:
        if (!strcmp(e->name, "sex")) return ev->ctx->sex ? vstr(ev->ctx->sex) : vnull();
        if (!strcmp(e->name, "birthDate")) return ev->ctx->birth_date ? vstr(ev->ctx->birth_date) : vnull();
        if (!strcmp(e->name, "today")) return ev->ctx->today ? vstr(ev->ctx->today) : vnull();
        if (!strcmp(e->name, "age") && ev->ctx->birth_date && ev->ctx->today) {
            double y;
            a = vstr(ev->ctx->birth_date); b = vstr(ev->ctx->today);
            if (age_years(&a, &b, &y)) return vnum(y);
        }
        return vnull();
    case E_LIST: {
        val_t v = vnull();
        v.k = V_LIST;
        v.l = apr_array_make(ev->p, e->args->nelts + 1, sizeof(val_t));
        for (i = 0; i < e->args->nelts; i++) {
            val_t x = eval(ev, APR_ARRAY_IDX(e->args, i, expr_t *));
            if (x.k != V_NULL) APR_ARRAY_PUSH(v.l, val_t) = x;
        }
        return v;
    }
    case E_UN:
        a = eval(ev, e->a);
        if (e->op == OP_NOT) return vbool(!truthy(&a));
        if (e->op == OP_EMPTY) return vbool(is_empty(&a));
        if (e->op == OP_NOTEMPTY) return vbool(!is_empty(&a));
        return a.k == V_NUM ? vnum(-a.n) : vnull();
    case E_BIN:
        if (e->op == OP_AND) { a = eval(ev, e->a); if (!truthy(&a)) return vbool(0); b = eval(ev, e->b); return vbool(truthy(&b)); }
        if (e->op == OP_OR) { a = eval(ev, e->a); if (truthy(&a)) return vbool(1); b = eval(ev, e->b); return vbool(truthy(&b)); }
        a = eval(ev, e->a);
        b = eval(ev, e->b);
        switch (e->op) {
        /* x = [..] compares as sets; x = scalar is "at least one answer equals" */
        case OP_EQ: return vbool(b.k == V_LIST ? set_eq(&a, &b) : any_rel(&a, &b, OP_EQ));
        case OP_NE: return vbool(b.k == V_LIST ? !set_eq(&a, &b) : !any_rel(&a, &b, OP_EQ));
        case OP_GT: case OP_LT: case OP_GE: case OP_LE:
            if (a.k == V_LIST || b.k == V_LIST || !scalar_cmp(&a, &b, &c)) return vbool(0);
            return vbool(any_rel(&a, &b, e->op));
        case OP_ANYOF: case OP_ALLOF: case OP_NONEOF: {
            int hits = 0;
            for (i = 0; i < list_n(&b); i++) hits += has_elem(&a, list_at(&b, i));
            if (e->op == OP_ANYOF) return vbool(hits > 0);
            if (e->op == OP_NONEOF) return vbool(hits == 0);
            return vbool(list_n(&b) > 0 && hits == list_n(&b));
        }
        case OP_CONTAINS: case OP_NOTCONTAINS: {
            int r = (a.k == V_STR && b.k == V_STR) ? strstr(a.s, b.s) != NULL : (a.k == V_LIST && has_elem(&a, &b));
            return vbool(e->op == OP_CONTAINS ? r : !r);
        }
        default:
            if (a.k != V_NUM || b.k != V_NUM) return vnull();
            if (e->op == OP_ADD) return vnum(a.n + b.n);
            if (e->op == OP_SUB) return vnum(a.n - b.n);
            if (e->op == OP_MUL) return vnum(a.n * b.n);
            return b.n == 0 ? vnull() : vnum(a.n / b.n);
        }
    case E_CALL: {
        const expr_t *const *args = (const expr_t *const *)e->args->elts;
        if (!strcmp(e->name, "iif")) { a = eval(ev, args[0]); return eval(ev, truthy(&a) ? args[1] : args[2]); }
        if (!strcmp(e->name, "today")) return ev->ctx->today ? vstr(ev->ctx->today) : vnull();
        if (!strcmp(e->name, "empty") || !strcmp(e->name, "notempty")) {
            a = eval(ev, args[0]);
            return vbool(is_empty(&a) == (e->name[0] == 'e'));
        }
        if (!strcmp(e->name, "count")) { a = eval(ev, args[0]); return vnum(list_n(&a)); }
        if (!strcmp(e->name, "sum")) {
            double s = 0;
            int any = 0;
            for (i = 0; i < e->args->nelts; i++) { a = eval(ev, args[i]); flatten_sum(&a, &s, &any); }
            return vnum(s);
        }
        if (!strcmp(e->name, "age")) {
            double y;
            a = eval(ev, args[0]);
            b = ev->ctx->today ? vstr(ev->ctx->today) : vnull();
            return age_years(&a, &b, &y) ? vnum(y) : vnull();
        }
        if (!strcmp(e->name, "daysBetween")) {
            long d1, d2;
            a = eval(ev, args[0]); b = eval(ev, args[1]);
            if (!date_days(&a, &d1, NULL, NULL, NULL) || !date_days(&b, &d2, NULL, NULL, NULL)) return vnull();
            return vnum((double)(d2 - d1));
        }
        return vnull();
    }
    }
    return vnull();
}

static int cond_true(ev_t *ev, const cond_t *c)
{
    val_t a = value_of(ev, c->q), b = from_json(ev->p, c->answer);
    switch (c->op) {
    case OP_EXISTS: return !is_empty(&a) == json_is_true(c->answer);
    case OP_EQ: return any_rel(&a, &b, OP_EQ);
    case OP_NE: return !any_rel(&a, &b, OP_EQ);      /* unanswered satisfies != (FHIR) */
    default: return any_rel(&a, &b, c->op);
    }
}

static int enabled(ev_t *ev, int i)
{
    item_t *it = ITEM(ev->t, i);
    int on = 1, k;
    if (ev->en[i]) return ev->en[i] == 1;
    if (it->parent >= 0 && !enabled(ev, it->parent)) on = 0;
    if (on && it->when->nelts) {
        int any = 0, all = 1;
        for (k = 0; k < it->when->nelts; k++) {
            int r = cond_true(ev, &APR_ARRAY_IDX(it->when, k, cond_t));
            any |= r; all &= r;
        }
        on = it->any ? any : all;
    }
    if (on && it->enable_if) { val_t v = eval(ev, it->enable_if); on = truthy(&v); }
    ev->en[i] = on ? 1 : 2;
    return on;
}

/* ---------------------------------------------------------------- loading */

static int answerable(itype_t ty) { return ty <= IT_BOOLEAN; }

typedef struct {
    consult_template_t *t;
    hg_error_t **err;
} loader_t;

static apr_status_t tfail(loader_t *ld, const char *field, const char *msg)
{
    if (ld->err) *ld->err = hg_error_make(ld->t->pool, HG_CONSULT_TEMPLATE, field, "%s", msg);
    return HG_EINVALID;
}

static apr_status_t validate_value(apr_pool_t *p, const item_t *it, json_t *v, hg_error_t **err);
static json_t *find_option(const item_t *it, const char *code);

static void regfree_cleanup_reg(apr_pool_t *p, regex_t *re);
#define CONSULT_RE_DEPTH 16      /* nested groups in an item's pattern (see pattern_too_costly) */
#define CONSULT_RE_COST 1000     /* its size with repetitions expanded */
static const char *pattern_too_costly(const char *pat);

static const char *const ITEM_KEYS[] = { "linkId", "type", "text", "prefix", "code", "required", "repeats",
    "readOnly", "options", "initial", "min", "max", "minLength", "maxLength", "pattern", "enableWhen",
    "enableBehavior", "enableIf", "calculate", "terminal", "section", "narrative", "negative", "items",
    "tags", "durationUnit", "plausible", NULL };
static const char *const TAGS[] = { "pregnancy", "menstrual", "female", NULL };
static const char *const UNITS[] = { "day", "week", "month", "year", NULL };
static const double UNIT_DAYS[] = { 1, 7, 30, 365 };

static apr_status_t load_items(loader_t *ld, json_t *arr, int parent, const char *prefix)
{
    consult_template_t *t = ld->t;
    apr_pool_t *p = t->pool;
    size_t i;
    if (!json_is_array(arr)) return tfail(ld, prefix, "items must be an array");
    for (i = 0; i < json_array_size(arr); i++) {
        json_t *d = json_array_get(arr, i), *j;
        item_t *it = apr_pcalloc(p, sizeof(*it));
        const char *ty;
        int k;
        it->path = apr_psprintf(p, "%s[%lu]", prefix, (unsigned long)i);
        if (!json_is_object(d)) return tfail(ld, it->path, "an item must be an object");
        it->def = d;
        {   /* closed key set: a misspelt "enableWhen" would otherwise silently enable the item */
            const char *key;
            json_t *val;
            json_object_foreach(d, key, val) {
                for (k = 0; ITEM_KEYS[k] && strcmp(ITEM_KEYS[k], key); k++) ;
                if (!ITEM_KEYS[k]) return tfail(ld, apr_pstrcat(p, it->path, ".", key, NULL), apr_psprintf(p, "unknown item key '%s'", key));
            }
        }
        it->link_id = hg_json_gets(d, "linkId", NULL);
        if (!it->link_id || !*it->link_id) return tfail(ld, it->path, "linkId is missing");
        if (apr_hash_get(t->by_id, it->link_id, APR_HASH_KEY_STRING))
            return tfail(ld, it->path, apr_psprintf(p, "duplicate linkId '%s'", it->link_id));
        ty = hg_json_gets(d, "type", NULL);
        for (k = 0; ty && TYPE_NAMES[k] && strcmp(TYPE_NAMES[k], ty); k++) ;
        if (!ty || !TYPE_NAMES[k])
            return tfail(ld, apr_pstrcat(p, it->path, ".type", NULL), "type must be one of choice|multi|text|number|date|boolean|display|group|calculated");
        it->type = (itype_t)k;
        it->text = hg_json_gets(d, "text", NULL);
        it->required = json_is_true(json_object_get(d, "required"));
        it->repeats = json_is_true(json_object_get(d, "repeats"));
        it->idx = t->items->nelts;
        it->parent = parent;
        it->min_len = it->max_len = -1;
        it->when = apr_array_make(p, 2, sizeof(cond_t));
        it->children = apr_array_make(p, 2, sizeof(int));
        it->deps = apr_array_make(p, 4, sizeof(int));
        if (parent >= 0) APR_ARRAY_PUSH(it->deps, int) = parent;
        apr_hash_set(t->by_id, it->link_id, APR_HASH_KEY_STRING, it);
        APR_ARRAY_PUSH(t->items, item_t *) = it;
        if (parent >= 0) APR_ARRAY_PUSH(ITEM(t, parent)->children, int) = it->idx;
        else APR_ARRAY_PUSH(t->roots, int) = it->idx;

        it->options = json_object_get(d, "options");
        if (it->type == IT_CHOICE || it->type == IT_MULTI) {
            size_t o, q;
            if (!json_is_array(it->options) || !json_array_size(it->options))
                return tfail(ld, apr_pstrcat(p, it->path, ".options", NULL), "choice and multi items need options");
            for (o = 0; o < json_array_size(it->options); o++) {
                const char *code = hg_json_gets(json_array_get(it->options, o), "code", NULL);
                const char *f = apr_psprintf(p, "%s.options[%lu]", it->path, (unsigned long)o);
                if (!code || !*code) return tfail(ld, f, "an option needs a string code");
                for (q = 0; q < o; q++)
                    if (!strcmp(code, hg_json_gets(json_array_get(it->options, q), "code", NULL)))
                        return tfail(ld, f, apr_psprintf(p, "duplicate option code '%s'", code));
            }
        } else it->options = NULL;

        if ((j = json_object_get(d, "min"))) {
            it->has_min = 1;
            if (json_is_number(j)) it->min = json_number_value(j);
            else if (it->type == IT_DATE && json_is_string(j)) it->dmin = json_string_value(j);
            else return tfail(ld, apr_pstrcat(p, it->path, ".min", NULL), "min must be a number (or a date for date items)");
        }
        if ((j = json_object_get(d, "max"))) {
            it->has_max = 1;
            if (json_is_number(j)) it->max = json_number_value(j);
            else if (it->type == IT_DATE && json_is_string(j)) it->dmax = json_string_value(j);
            else return tfail(ld, apr_pstrcat(p, it->path, ".max", NULL), "max must be a number (or a date for date items)");
        }
        if ((j = json_object_get(d, "minLength")) && json_is_integer(j)) it->min_len = json_integer_value(j);
        if ((j = json_object_get(d, "maxLength")) && json_is_integer(j)) it->max_len = json_integer_value(j);
        if ((j = json_object_get(d, "pattern"))) {
            const char *pat = json_string_value(j), *why = pat ? pattern_too_costly(pat) : NULL;
            if (why)
                return tfail(ld, apr_pstrcat(p, it->path, ".pattern", NULL), apr_psprintf(p, "pattern is %s (at most %d "
                             "nested groups, %d characters counting repetitions)", why, CONSULT_RE_DEPTH, CONSULT_RE_COST));
            it->re = apr_pcalloc(p, sizeof(regex_t));
            if (!pat || regcomp(it->re, apr_pstrcat(p, "^(", pat, ")$", NULL), REG_EXTENDED | REG_NOSUB) != 0) {
                it->re = NULL;
                return tfail(ld, apr_pstrcat(p, it->path, ".pattern", NULL), "pattern is not a valid POSIX extended regular expression");
            }
            regfree_cleanup_reg(p, it->re);
        }

        it->section = hg_json_gets(d, "section", NULL);
        if (it->section) {
            for (k = 0; SECTIONS[k] && strcmp(SECTIONS[k], it->section); k++) ;
            if (!SECTIONS[k]) return tfail(ld, apr_pstrcat(p, it->path, ".section", NULL), apr_psprintf(p, "unknown section '%s'", it->section));
        }
        it->narrative = hg_json_gets(d, "narrative", NULL);
        it->negative = hg_json_gets(d, "negative", NULL);
        j = json_object_get(d, "enableBehavior");
        if (j && (!json_is_string(j) || (strcmp(json_string_value(j), "all") && strcmp(json_string_value(j), "any"))))
            return tfail(ld, apr_pstrcat(p, it->path, ".enableBehavior", NULL), "enableBehavior must be all or any");
        it->any = j && !strcmp(json_string_value(j), "any");
        if ((j = json_object_get(d, "tags"))) {
            size_t g;
            if (!json_is_array(j)) return tfail(ld, apr_pstrcat(p, it->path, ".tags", NULL), "tags must be an array");
            for (g = 0; g < json_array_size(j); g++) {
                const char *tag = json_string_value(json_array_get(j, g));
                for (k = 0; tag && TAGS[k] && strcmp(TAGS[k], tag); k++) ;
                if (!tag || !TAGS[k])
                    return tfail(ld, apr_psprintf(p, "%s.tags[%lu]", it->path, (unsigned long)g), "a tag is one of pregnancy|menstrual|female");
                it->female = 1;
            }
        }
        if ((j = json_object_get(d, "durationUnit"))) {
            const char *u = json_string_value(j);
            for (k = 0; u && UNITS[k] && strcmp(UNITS[k], u); k++) ;
            if (!u || !UNITS[k] || it->type != IT_NUMBER)
                return tfail(ld, apr_pstrcat(p, it->path, ".durationUnit", NULL), "durationUnit (day|week|month|year) is for number items");
            it->dur_days = UNIT_DAYS[k];
        }
        if ((j = json_object_get(d, "plausible"))) {
            json_t *lo = json_object_get(j, "min"), *hi = json_object_get(j, "max");
            if (!json_is_object(j) || it->type != IT_NUMBER || (lo && !json_is_number(lo)) || (hi && !json_is_number(hi))
                || json_object_size(j) != (size_t)(!!lo + !!hi))
                return tfail(ld, apr_pstrcat(p, it->path, ".plausible", NULL), "plausible is {\"min\",\"max\"} numbers, for number items");
            if ((it->has_pmin = lo != NULL)) it->pmin = json_number_value(lo);
            if ((it->has_pmax = hi != NULL)) it->pmax = json_number_value(hi);
        }

        if ((j = json_object_get(d, "items")))
            if (load_items(ld, j, it->idx, apr_pstrcat(p, it->path, ".items", NULL)) != APR_SUCCESS)
                return HG_EINVALID;
    }
    return APR_SUCCESS;
}

static apr_status_t regfree_cleanup(void *re) { regfree(re); return APR_SUCCESS; }

/* glibc's regcomp recurses once per '(' (a 40 KB "((((…a…))))" overflowed the stack: SIGSEGV) and
 * copies an atom once per count of a bound, nested bounds multiplying ("((a{1,100}){1,100}){1,100}":
 * 11 s and 1.1 GB; "a{1,32767}{1,32767}": 4 GB).  An author's pattern is checked before it is
 * compiled: at most CONSULT_RE_DEPTH nested groups, and a size of at most CONSULT_RE_COST, where an
 * atom counts 1, a group the sum of its contents, and a bound {n}, {n,}, {n,m} multiplies what it
 * applies to by its largest count (so "[0-9]{17}[0-9X]" is 18, and a{1,1000} ≈ 0.2 s is the worst
 * that passes).  Back-references (\1…\9, not POSIX ERE but glibc takes them) are refused: matching
 * "(a*)(a*)(a*)\2\3\4" against a patient's 101 characters took 8 s.  NULL when fine, else why not. */
static const char *pattern_too_costly(const char *pat)
{
    double sum[CONSULT_RE_DEPTH + 1], last = 0, n, m;
    int depth = 0, rep = 0;     /* rep: the previous token was a repetition */
    const char *s = pat;
    sum[0] = 0;
    while (*s) {
        /* "z****…+++": each operator wraps the last and regcomp's closures grow with the stack of them
         * (t/fuzz: 1 s and 130 MB for 40, 10 s under ASan); one repetition per atom, bounds aside */
        if (rep && (*s == '*' || *s == '+' || *s == '?')) return "repeating a repetition";
        rep = 0;
        if (*s == '(') {
            if (++depth > CONSULT_RE_DEPTH) return "nested too deeply";
            sum[depth] = 0;
            last = 0;
            s++;
            continue;
        }
        if (*s == ')' && depth > 0) {                  /* the group is one atom of its size */
            last = sum[depth] > 1 ? sum[depth] : 1;
            depth--;
            sum[depth] += last;
            s++;
        }
        else if (*s == '{' && last > 0 && s[1] >= '0' && s[1] <= '9') {
            n = m = 0;
            for (s++; *s >= '0' && *s <= '9'; s++) n = n < 1e6 ? n * 10 + (*s - '0') : n;
            if (*s == ',') {
                if (s[1] >= '0' && s[1] <= '9')
                    for (s++; *s >= '0' && *s <= '9'; s++) m = m < 1e6 ? m * 10 + (*s - '0') : m;
                else {
                    m = n + 1;                              /* {n,}: n copies and a star */
                    s++;
                }
            }
            if (*s == '}') s++;
            if (m < n) m = n;
            if (m < 1) m = 1;
            sum[depth] += last * (m - 1);                   /* the atom, counted once, m times over */
            last *= m;
            rep = 1;
        }
        else {
            if (*s == '\\' && s[1] >= '1' && s[1] <= '9')
                return "using a back-reference";           /* glibc's extension: exponential regexec */
            if (*s == '\\' && s[1])
                s++;
            else if (*s == '[') {                           /* a bracket expression is one atom */
                s += s[1] == '^' ? 2 : 1;
                if (*s == ']') s++;
                while (*s && *s != ']') {
                    const char *close = (*s == '[' && (s[1] == ':' || s[1] == '.' || s[1] == '=')) ? strchr(s + 2, ']') : NULL;
                    s = close ? close + 1 : s + 1;
                }
                if (!*s) break;                             /* unterminated: regcomp refuses it */
            }
            rep = *s == '*' || *s == '+' || *s == '?';
            last = (rep || *s == '|') ? 0 : 1;
            sum[depth] += last;
            s++;
        }
        if (sum[depth] > CONSULT_RE_COST || last > CONSULT_RE_COST) return "too large once its repetitions are expanded";
    }
    return NULL;
}
static void regfree_cleanup_reg(apr_pool_t *p, regex_t *re)
{
    apr_pool_cleanup_register(p, re, regfree_cleanup, apr_pool_cleanup_null);
}

static apr_status_t load_expr(loader_t *ld, item_t *it, const char *key, const char *src, expr_t **out)
{
    apr_pool_t *p = ld->t->pool;
    const char *why, *bad, *field = apr_pstrcat(p, it->path, ".", key, NULL);
    if (!src) return tfail(ld, field, "an expression must be a string");
    if (!(*out = parse_expr(p, src, &why))) return tfail(ld, field, apr_psprintf(p, "expression syntax: %s", why));
    /* terminal conditions feed no value, so they add no dependency edge */
    if ((bad = resolve(ld->t, *out, strcmp(key, "terminal.when") ? it->deps : NULL)))
        return tfail(ld, field, apr_psprintf(p, "unknown linkId '%s'", bad));
    return APR_SUCCESS;
}

static const char *const OPS[] = { "exists", "=", "!=", ">", "<", ">=", "<=", NULL };
static const int OPCODES[] = { OP_EXISTS, OP_EQ, OP_NE, OP_GT, OP_LT, OP_GE, OP_LE };

/* second pass: references, expressions, initial values */
static apr_status_t link_item(loader_t *ld, item_t *it)
{
    consult_template_t *t = ld->t;
    apr_pool_t *p = t->pool;
    json_t *ew = json_object_get(it->def, "enableWhen"), *j;
    size_t k;
    if (ew) {
        if (!json_is_array(ew)) return tfail(ld, apr_pstrcat(p, it->path, ".enableWhen", NULL), "enableWhen must be an array");
        if (json_array_size(ew) > 1 && !json_object_get(it->def, "enableBehavior"))
            return tfail(ld, apr_pstrcat(p, it->path, ".enableBehavior", NULL), "enableBehavior is required with more than one enableWhen");
        for (k = 0; k < json_array_size(ew); k++) {
            json_t *c = json_array_get(ew, k);
            const char *f = apr_psprintf(p, "%s.enableWhen[%lu]", it->path, (unsigned long)k);
            const char *q = hg_json_gets(c, "question", NULL), *op = hg_json_gets(c, "operator", NULL);
            item_t *qi = q ? apr_hash_get(t->by_id, q, APR_HASH_KEY_STRING) : NULL;
            cond_t *cd;
            int o;
            if (!q) return tfail(ld, f, "question is missing");
            if (!qi) return tfail(ld, apr_pstrcat(p, f, ".question", NULL), apr_psprintf(p, "unknown linkId '%s'", q));
            for (o = 0; op && OPS[o] && strcmp(OPS[o], op); o++) ;
            if (!op || !OPS[o]) return tfail(ld, apr_pstrcat(p, f, ".operator", NULL), "operator must be one of exists = != > < >= <=");
            cd = &APR_ARRAY_PUSH(it->when, cond_t);
            cd->question = q; cd->q = qi->idx; cd->op = OPCODES[o];
            cd->answer = json_object_get(c, "answer");
            if (cd->op == OP_EXISTS ? !json_is_boolean(cd->answer)
                : cd->op >= OP_GT ? !(json_is_number(cd->answer) || json_is_string(cd->answer))
                : !(json_is_number(cd->answer) || json_is_string(cd->answer) || json_is_boolean(cd->answer)))
                return tfail(ld, apr_pstrcat(p, f, ".answer", NULL), "answer is missing or of the wrong type for the operator");
            if ((qi->type == IT_CHOICE || qi->type == IT_MULTI) && cd->op != OP_EXISTS &&
                !(json_is_string(cd->answer) && find_option(qi, json_string_value(cd->answer))))
                return tfail(ld, apr_pstrcat(p, f, ".answer", NULL), apr_psprintf(p, "answer is not an option code of '%s'", q));
            APR_ARRAY_PUSH(it->deps, int) = qi->idx;
        }
    }
    if ((j = json_object_get(it->def, "enableIf")) &&
        load_expr(ld, it, "enableIf", json_string_value(j), &it->enable_if) != APR_SUCCESS) return HG_EINVALID;
    j = json_object_get(it->def, "calculate");
    if (it->type == IT_CALC && !j) return tfail(ld, apr_pstrcat(p, it->path, ".calculate", NULL), "a calculated item needs calculate");
    if (j && it->type != IT_CALC) return tfail(ld, apr_pstrcat(p, it->path, ".calculate", NULL), "calculate is only for calculated items");
    if (j && load_expr(ld, it, "calculate", json_string_value(j), &it->calc) != APR_SUCCESS) return HG_EINVALID;
    if ((j = json_object_get(it->def, "terminal"))) {
        it->advice = hg_json_gets(j, "advice", NULL);
        if (!it->advice) return tfail(ld, apr_pstrcat(p, it->path, ".terminal.advice", NULL), "a terminal needs advice text");
        if (load_expr(ld, it, "terminal.when", hg_json_gets(j, "when", NULL), &it->term_when) != APR_SUCCESS) return HG_EINVALID;
    }
    /* narrative placeholders must name items too: a typo would silently print nothing */
    {
        const char *texts[2] = { it->narrative, it->negative };
        int n;
        for (n = 0; n < 2; n++) {
            const char *s = texts[n], *o, *c;
            for (; s && (o = strchr(s, '{')) && (c = strchr(o, '}')); s = c + 1) {
                const char *name = apr_pstrmemdup(p, o + 1, (apr_size_t)(c - o - 1));
                if (strcmp(name, "value") && !apr_hash_get(t->by_id, name, APR_HASH_KEY_STRING))
                    return tfail(ld, apr_pstrcat(p, it->path, n ? ".negative" : ".narrative", NULL),
                                 apr_psprintf(p, "unknown linkId '%s' in placeholder", name));
            }
        }
    }
    if ((it->initial = json_object_get(it->def, "initial"))) {
        hg_error_t *e = NULL;
        if (!answerable(it->type) || validate_value(p, it, it->initial, &e) != APR_SUCCESS)
            return tfail(ld, apr_pstrcat(p, it->path, ".initial", NULL),
                         apr_psprintf(p, "initial value is not a valid answer%s%s", e ? ": " : "", e ? e->message : ""));
    }
    return APR_SUCCESS;
}

/* template-level quality rules: [{"id","when","message","severity":"warn|block","linkId"}] */
static apr_status_t load_quality(loader_t *ld, json_t *arr)
{
    consult_template_t *t = ld->t;
    apr_pool_t *p = t->pool;
    size_t i, k;
    t->quality = apr_array_make(p, 4, sizeof(qrule_t));
    if (!arr) return APR_SUCCESS;
    if (!json_is_array(arr)) return tfail(ld, "quality", "quality must be an array of rules");
    for (i = 0; i < json_array_size(arr); i++) {
        json_t *d = json_array_get(arr, i);
        const char *f = apr_psprintf(p, "quality[%lu]", (unsigned long)i), *why, *bad, *sev, *key;
        qrule_t *q;
        json_t *val;
        if (!json_is_object(d)) return tfail(ld, f, "a quality rule must be an object");
        json_object_foreach(d, key, val)
            if (strcmp(key, "id") && strcmp(key, "when") && strcmp(key, "message") && strcmp(key, "severity") && strcmp(key, "linkId"))
                return tfail(ld, apr_pstrcat(p, f, ".", key, NULL), apr_psprintf(p, "unknown quality rule key '%s'", key));
        q = &APR_ARRAY_PUSH(t->quality, qrule_t);
        q->id = hg_json_gets(d, "id", NULL);
        if (!q->id || !*q->id || strspn(q->id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(q->id))
            return tfail(ld, apr_pstrcat(p, f, ".id", NULL), "id is missing or not [A-Za-z0-9_.-]");
        for (k = 0; k + 1 < (size_t)t->quality->nelts; k++)
            if (!strcmp(APR_ARRAY_IDX(t->quality, k, qrule_t).id, q->id))
                return tfail(ld, apr_pstrcat(p, f, ".id", NULL), apr_psprintf(p, "duplicate quality rule id '%s'", q->id));
        if (!(q->message = hg_json_gets(d, "message", NULL)) || !*q->message)
            return tfail(ld, apr_pstrcat(p, f, ".message", NULL), "a quality rule needs a message");
        sev = hg_json_gets(d, "severity", NULL);
        if (!sev && json_object_get(d, "severity")) sev = "?";
        if (!sev) sev = "warn";
        if (strcmp(sev, "warn") && strcmp(sev, "block"))
            return tfail(ld, apr_pstrcat(p, f, ".severity", NULL), "severity must be warn or block");
        q->block = !strcmp(sev, "block");
        q->link_id = hg_json_gets(d, "linkId", NULL);
        if (json_object_get(d, "linkId") && (!q->link_id || !apr_hash_get(t->by_id, q->link_id, APR_HASH_KEY_STRING)))
            return tfail(ld, apr_pstrcat(p, f, ".linkId", NULL), apr_psprintf(p, "unknown linkId '%s'", q->link_id ? q->link_id : ""));
        f = apr_pstrcat(p, f, ".when", NULL);
        if (!hg_json_gets(d, "when", NULL)) return tfail(ld, f, "an expression must be a string");
        if (!(q->when = parse_expr(p, hg_json_gets(d, "when", NULL), &why)))
            return tfail(ld, f, apr_psprintf(p, "expression syntax: %s", why));
        if ((bad = resolve(t, q->when, NULL)))
            return tfail(ld, f, apr_psprintf(p, "unknown linkId '%s'", bad));
    }
    return APR_SUCCESS;
}

/* DFS with colours; on a back edge report the cycle as a -> b -> a */
/* Evaluation follows the same edges recursively (enabled -> the question's value -> its enabled …, a
 * calculation -> the items it names …): a chain of 20000 items in reverse order (a0 = a1 + 1, a1 = a2
 * + 1, …; 1.2 MB) overflowed the stack of a gcc build on the first view.  So a chain of dependencies
 * is at most CONSULT_DEP_MAX_CHAIN items long; height[i] = items on the longest chain from i. */
#define CONSULT_DEP_MAX_CHAIN 32

static apr_status_t find_cycle(loader_t *ld, int i, char *color, int *stack, int depth, int *height)
{
    consult_template_t *t = ld->t;
    item_t *it = ITEM(t, i);
    int k;
    if (depth >= CONSULT_DEP_MAX_CHAIN)
        return tfail(ld, it->path, apr_psprintf(t->pool, "dependencies chained more than %d items deep "
                     "(parents, enableWhen, enableIf and calculate references)", CONSULT_DEP_MAX_CHAIN));
    color[i] = 1;
    stack[depth] = i;
    height[i] = 1;
    for (k = 0; k < it->deps->nelts; k++) {
        int d = APR_ARRAY_IDX(it->deps, k, int);
        if (color[d] == 1) {
            int s, from = 0;
            const char *msg = "dependency cycle: ";
            for (s = 0; s <= depth; s++) if (stack[s] == d) { from = s; break; }
            for (s = from; s <= depth; s++) msg = apr_pstrcat(t->pool, msg, ITEM(t, stack[s])->link_id, " -> ", NULL);
            msg = apr_pstrcat(t->pool, msg, ITEM(t, d)->link_id, NULL);
            return tfail(ld, ITEM(t, d)->path, msg);     /* where the cycle starts */
        }
        if (!color[d] && find_cycle(ld, d, color, stack, depth + 1, height) != APR_SUCCESS) return HG_EINVALID;
        if (height[d] + 1 > height[i]) height[i] = height[d] + 1;
    }
    if (height[i] > CONSULT_DEP_MAX_CHAIN)    /* a chain reached through items already checked */
        return tfail(ld, it->path, apr_psprintf(t->pool, "dependencies chained more than %d items deep "
                     "(parents, enableWhen, enableIf and calculate references)", CONSULT_DEP_MAX_CHAIN));
    color[i] = 2;
    return APR_SUCCESS;
}

apr_status_t consult_template_load(consult_template_t **out, apr_pool_t *p, json_t *def, hg_error_t **err)
{
    consult_template_t *t = apr_pcalloc(p, sizeof(*t));
    loader_t ld = { t, err };
    char *color;
    int *stack, *height, i, n;
    *out = NULL;
    t->pool = p;
    t->items = apr_array_make(p, 32, sizeof(item_t *));
    t->roots = apr_array_make(p, 8, sizeof(int));
    t->by_id = apr_hash_make(p);
    if (!json_is_object(def)) return tfail(&ld, NULL, "a template must be a JSON object");
    t->def = def;
    t->id = hg_json_gets(def, "id", NULL);
    t->version = hg_json_gets(def, "version", NULL);
    if (!t->id || !*t->id) return tfail(&ld, "id", "id is missing");
    if (!t->version || !*t->version) return tfail(&ld, "version", "version is missing");
    if (load_items(&ld, json_object_get(def, "items"), -1, "items") != APR_SUCCESS) return HG_EINVALID;
    n = t->items->nelts;
    for (i = 0; i < n; i++)
        if (link_item(&ld, ITEM(t, i)) != APR_SUCCESS) return HG_EINVALID;
    if (load_quality(&ld, json_object_get(def, "quality")) != APR_SUCCESS) return HG_EINVALID;
    color = apr_pcalloc(p, n + 1);
    stack = apr_pcalloc(p, sizeof(int) * (n + 1));
    height = apr_pcalloc(p, sizeof(int) * (n + 1));
    for (i = 0; i < n; i++)
        if (!color[i] && find_cycle(&ld, i, color, stack, 0, height) != APR_SUCCESS) return HG_EINVALID;
    *out = t;
    return APR_SUCCESS;
}

const char *consult_template_id(const consult_template_t *t) { return t->id; }
const char *consult_template_version(const consult_template_t *t) { return t->version; }

/* ---------------------------------------------------------------- answers */

static json_t *find_option(const item_t *it, const char *code)
{
    size_t o;
    for (o = 0; code && o < json_array_size(it->options); o++) {
        json_t *op = json_array_get(it->options, o);
        if (!strcmp(hg_json_gets(op, "code", NULL), code)) return op;
    }
    return NULL;
}

#define VFAIL(code, ...) do { if (err) *err = hg_error_make(p, code, it->link_id, __VA_ARGS__); return HG_EINVALID; } while (0)

static apr_status_t validate_one(apr_pool_t *p, const item_t *it, json_t *v, hg_error_t **err)
{
    switch (it->type) {
    case IT_CHOICE:
        if (!json_is_string(v)) VFAIL(HG_FIELD_TYPE, "expected an option code (string)");
        if (!find_option(it, json_string_value(v))) VFAIL(HG_FIELD_ENUM, "'%.64s' is not an option code", json_string_value(v));
        return APR_SUCCESS;
    case IT_TEXT: {
        apr_size_t ncp;
        const char *s = json_string_value(v);
        if (!s) VFAIL(HG_FIELD_TYPE, "expected a string");
        if (hg_utf8_count(&ncp, s, strlen(s)) != APR_SUCCESS) VFAIL(HG_FIELD_TYPE, "not valid UTF-8");
        if (it->max_len >= 0 && (apr_int64_t)ncp > it->max_len) VFAIL(HG_FIELD_TOO_LONG, "at most %" APR_INT64_T_FMT " characters", it->max_len);
        if (it->min_len >= 0 && (apr_int64_t)ncp < it->min_len) VFAIL(HG_FIELD_TOO_SHORT, "at least %" APR_INT64_T_FMT " characters", it->min_len);
        if (it->re && regexec(it->re, s, 0, NULL, 0) != 0) VFAIL(HG_FIELD_PATTERN, "does not match the required format");
        return APR_SUCCESS;
    }
    case IT_NUMBER: {
        double d;
        if (!json_is_number(v)) VFAIL(HG_FIELD_TYPE, "expected a number");
        d = json_number_value(v);
        if ((it->has_min && !it->dmin && d < it->min) || (it->has_max && !it->dmax && d > it->max))
            VFAIL(HG_FIELD_RANGE, "%s is out of range", num_text(p, d));
        return APR_SUCCESS;
    }
    case IT_DATE: {
        const char *s = json_string_value(v);
        if (!s) VFAIL(HG_FIELD_TYPE, "expected a date yyyy-MM-dd");
        if (hg_date_parse(NULL, s, strlen(s), HG_DATE_DATE, NULL) != APR_SUCCESS) VFAIL(HG_FIELD_DATE, "'%.64s' is not a date yyyy-MM-dd", s);
        if ((it->dmin && strcmp(s, it->dmin) < 0) || (it->dmax && strcmp(s, it->dmax) > 0)) VFAIL(HG_FIELD_RANGE, "%s is out of range", s);
        return APR_SUCCESS;
    }
    case IT_BOOLEAN:
        if (!json_is_boolean(v)) VFAIL(HG_FIELD_TYPE, "expected true or false");
        return APR_SUCCESS;
    default:
        VFAIL(HG_FIELD_UNKNOWN, "item '%s' takes no answer", it->link_id);
    }
}

static apr_status_t validate_value(apr_pool_t *p, const item_t *it, json_t *v, hg_error_t **err)
{
    size_t i, k;
    if (it->type == IT_MULTI || (it->repeats && answerable(it->type) && it->type != IT_BOOLEAN)) {
        item_t one = *it;
        if (!json_is_array(v)) VFAIL(HG_FIELD_TYPE, "expected an array");
        if (it->required && !json_array_size(v)) VFAIL(HG_FIELD_REQUIRED, "at least one answer is required");
        if (one.type == IT_MULTI) one.type = IT_CHOICE;
        for (i = 0; i < json_array_size(v); i++) {
            if (validate_one(p, &one, json_array_get(v, i), err) != APR_SUCCESS) return HG_EINVALID;
            for (k = 0; k < i; k++)
                if (json_equal(json_array_get(v, k), json_array_get(v, i))) VFAIL(HG_FIELD_TYPE, "the same answer is given twice");
        }
        return APR_SUCCESS;
    }
    return validate_one(p, it, v, err);
}

apr_status_t consult_validate_answer(apr_pool_t *p, const consult_template_t *t, const char *link_id,
                                     json_t *value, hg_error_t **err)
{
    const item_t *it = link_id ? apr_hash_get(t->by_id, link_id, APR_HASH_KEY_STRING) : NULL;
    if (!it || !answerable(it->type)) {
        if (err) *err = hg_error_make(p, HG_FIELD_UNKNOWN, link_id, "no answerable item '%.64s'", link_id ? link_id : "");
        return HG_EINVALID;
    }
    if (!value || json_is_null(value) || (json_is_string(value) && !*json_string_value(value))) {
        if (it->required) VFAIL(HG_FIELD_REQUIRED, "an answer is required");
        if (value && json_is_string(value) && it->type == IT_TEXT) return validate_value(p, it, value, err);
        return APR_SUCCESS;     /* null = skipped */
    }
    return validate_value(p, it, value, err);
}

/* ---------------------------------------------------------------- navigation */

int consult_enabled(const consult_template_t *t, json_t *answers, const consult_ctx_t *ctx,
                    const char *link_id, apr_pool_t *p)
{
    const item_t *it = link_id ? apr_hash_get(t->by_id, link_id, APR_HASH_KEY_STRING) : NULL;
    ev_t ev;
    if (!it) return 0;
    ev_init(&ev, p, t, answers, ctx);
    return enabled(&ev, it->idx);
}

static json_t *client_view(const item_t *it)
{
    static const char *const keys[] = { "text", "initial", "min", "max", "minLength", "maxLength", NULL };
    json_t *o = json_object();
    int k;
    size_t i;
    json_object_set_new(o, "linkId", json_string(it->link_id));
    json_object_set_new(o, "type", json_string(TYPE_NAMES[it->type]));
    json_object_set_new(o, "required", json_boolean(it->required));
    json_object_set_new(o, "repeats", json_boolean(it->repeats));
    for (k = 0; keys[k]; k++)
        if (json_object_get(it->def, keys[k])) json_object_set(o, keys[k], json_object_get(it->def, keys[k]));
    if (it->options) {
        json_t *a = json_array();
        for (i = 0; i < json_array_size(it->options); i++) {
            json_t *op = json_array_get(it->options, i), *c = json_object();
            json_object_set(c, "code", json_object_get(op, "code"));
            if (json_object_get(op, "display")) json_object_set(c, "display", json_object_get(op, "display"));
            json_array_append_new(a, c);
        }
        json_object_set_new(o, "options", a);
    }
    return o;
}

apr_status_t consult_next_items(json_t **items, apr_pool_t *p, const consult_template_t *t,
                                json_t *answers, const consult_ctx_t *ctx)
{
    ev_t ev;
    int i;
    json_t *a = hg_json_own(p, json_array());
    if (!a) return APR_ENOMEM;
    ev_init(&ev, p, t, answers, ctx);
    for (i = 0; i < t->items->nelts; i++) {
        const item_t *it = ITEM(t, i);
        if (answerable(it->type) && enabled(&ev, i) && !json_object_get(ev.answers, it->link_id))
            json_array_append_new(a, client_view(it));
    }
    *items = a;
    return APR_SUCCESS;
}

consult_state_t consult_state(const consult_template_t *t, json_t *answers, const consult_ctx_t *ctx,
                              const char **advice, apr_pool_t *p)
{
    ev_t ev;
    int i, pending = 0;
    ev_init(&ev, p, t, answers, ctx);
    if (advice) *advice = NULL;
    for (i = 0; i < t->items->nelts; i++) {
        const item_t *it = ITEM(t, i);
        if (!enabled(&ev, i)) continue;
        if (it->term_when) {
            val_t v = eval(&ev, it->term_when);
            if (truthy(&v)) { if (advice) *advice = it->advice; return CONSULT_STOPPED; }
        }
        if (answerable(it->type) && !json_object_get(ev.answers, it->link_id)) pending = 1;
    }
    return pending ? CONSULT_IN_PROGRESS : CONSULT_REVIEW;
}

apr_status_t consult_prune(json_t **pruned, apr_pool_t *p, const consult_template_t *t,
                           json_t *answers, const consult_ctx_t *ctx)
{
    ev_t ev;
    int i;
    json_t *o = hg_json_object(p), *v;
    if (!o) return APR_ENOMEM;
    ev_init(&ev, p, t, answers, ctx);
    for (i = 0; i < t->items->nelts; i++) {
        const item_t *it = ITEM(t, i);
        if (answerable(it->type) && (v = json_object_get(ev.answers, it->link_id)) && enabled(&ev, i))
            json_object_set(o, it->link_id, v);
    }
    *pruned = o;
    return APR_SUCCESS;
}

apr_status_t consult_calculate(json_t **values, apr_pool_t *p, const consult_template_t *t,
                               json_t *answers, const consult_ctx_t *ctx)
{
    ev_t ev;
    int i;
    json_t *o = hg_json_object(p);
    if (!o) return APR_ENOMEM;
    ev_init(&ev, p, t, answers, ctx);
    for (i = 0; i < t->items->nelts; i++)
        if (ITEM(t, i)->type == IT_CALC) {
            val_t v = value_of(&ev, i);
            json_object_set_new(o, ITEM(t, i)->link_id, to_json(&v));
        }
    *values = o;
    return APR_SUCCESS;
}

apr_status_t consult_eval(json_t **out, apr_pool_t *p, const consult_template_t *t, const char *expr,
                          json_t *answers, const consult_ctx_t *ctx, hg_error_t **err)
{
    const char *why, *bad;
    expr_t *e = parse_expr(p, expr ? expr : "", &why);
    ev_t ev;
    val_t v;
    *out = NULL;
    if (!e) { if (err) *err = hg_error_make(p, HG_CONSULT_TEMPLATE, NULL, "expression syntax: %s", why); return HG_EINVALID; }
    if ((bad = resolve(t, e, NULL))) { if (err) *err = hg_error_make(p, HG_CONSULT_TEMPLATE, NULL, "unknown linkId '%s'", bad); return HG_EINVALID; }
    ev_init(&ev, p, t, answers, ctx);
    v = eval(&ev, e);
    *out = hg_json_own(p, to_json(&v));
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- 五史一诉 */

/* an answer as text: option display, number, 是/否, list joined with 、 */
static const char *value_text(apr_pool_t *p, const item_t *it, const val_t *v)
{
    int i;
    switch (v->k) {
    case V_NUM: return num_text(p, v->n);
    case V_BOOL: return v->b ? "是" : "否";
    case V_STR: {
        json_t *op = it->options ? find_option(it, v->s) : NULL;
        const char *d = op ? hg_json_gets(op, "display", NULL) : NULL;
        return d ? d : v->s;
    }
    case V_LIST: {
        const char *s = "";
        for (i = 0; i < v->l->nelts; i++)
            s = apr_pstrcat(p, s, i ? "、" : "", value_text(p, it, &APR_ARRAY_IDX(v->l, i, val_t)), NULL);
        return s;
    }
    default: return "";
    }
}

/* expand {value} and {linkId} */
static const char *expand(ev_t *ev, const item_t *it, const char *tpl, const char *self)
{
    apr_pool_t *p = ev->p;
    const char *out = "", *s = tpl, *o, *c;
    while ((o = strchr(s, '{')) && (c = strchr(o, '}'))) {
        const char *name = apr_pstrmemdup(p, o + 1, (apr_size_t)(c - o - 1)), *rep;
        if (!strcmp(name, "value")) rep = self;
        else {
            item_t *ref = apr_hash_get(ev->t->by_id, name, APR_HASH_KEY_STRING);
            val_t v = value_of(ev, ref->idx);
            rep = value_text(p, ref, &v);
        }
        out = apr_pstrcat(p, out, apr_pstrmemdup(p, s, (apr_size_t)(o - s)), rep, NULL);
        s = c + 1;
    }
    return apr_pstrcat(p, out, s, NULL);
}

static const char *fragment(ev_t *ev, const item_t *it)
{
    apr_pool_t *p = ev->p;
    val_t v;
    int i;
    if (it->type == IT_GROUP || it->type == IT_DISPLAY) return NULL;
    if (it->type != IT_CALC && !json_object_get(ev->answers, it->link_id)) return NULL;
    v = value_of(ev, it->idx);
    if ((v.k == V_BOOL && !v.b) || (v.k == V_LIST && !v.l->nelts && it->type == IT_MULTI) ||
        (v.k == V_STR && !*v.s && it->type == IT_TEXT))
        return it->negative ? expand(ev, it, it->negative, "") : NULL;
    if (v.k == V_NULL) return NULL;
    if (it->type == IT_CHOICE) {
        json_t *op = find_option(it, v.s);
        const char *on = op ? hg_json_gets(op, "narrative", NULL) : NULL;
        if (on) return expand(ev, it, on, value_text(p, it, &v));
    }
    if (it->type == IT_MULTI) {
        const char *joined = "";
        const char *sep = it->narrative ? "、" : "，";
        for (i = 0; i < v.l->nelts; i++) {
            const val_t *e = &APR_ARRAY_IDX(v.l, i, val_t);
            json_t *op = find_option(it, e->s);
            const char *on = op ? hg_json_gets(op, "narrative", NULL) : NULL;
            joined = apr_pstrcat(p, joined, i ? sep : "", on ? expand(ev, it, on, value_text(p, it, e)) : value_text(p, it, e), NULL);
        }
        return it->narrative ? expand(ev, it, it->narrative, joined) : joined;
    }
    return it->narrative ? expand(ev, it, it->narrative, value_text(p, it, &v)) : NULL;
}

apr_status_t consult_summary(json_t **sections, apr_pool_t *p, const consult_template_t *t,
                             json_t *answers, const consult_ctx_t *ctx)
{
    ev_t ev;
    const char *text[NSECT] = { "", "", "", "", "", "" };
    json_t *o = hg_json_object(p);
    int i, s;
    if (!o) return APR_ENOMEM;
    ev_init(&ev, p, t, answers, ctx);
    for (i = 0; i < t->items->nelts; i++) {
        const item_t *it = ITEM(t, i);
        const char *f;
        if (!it->section || !enabled(&ev, i) || !(f = fragment(&ev, it)) || !*f) continue;
        for (s = 0; strcmp(SECTIONS[s], it->section); s++) ;
        text[s] = apr_pstrcat(p, text[s], *text[s] ? "，" : "", f, NULL);
    }
    for (s = 0; s < NSECT; s++) hg_json_sets(o, SECTIONS[s], text[s]);
    *sections = o;
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- FHIR QuestionnaireResponse */

static json_t *fhir_value(const item_t *it, const val_t *v)
{
    json_t *a = json_object();
    if (it->type == IT_CHOICE || it->type == IT_MULTI) {
        json_t *op = find_option(it, v->s), *c = json_object();
        json_object_set_new(c, "code", json_string(v->s));
        if (op && json_object_get(op, "display")) json_object_set(c, "display", json_object_get(op, "display"));
        json_object_set_new(a, "valueCoding", c);
    } else if (it->type == IT_DATE) json_object_set_new(a, "valueDate", json_string(v->s));
    else if (v->k == V_STR) json_object_set_new(a, "valueString", json_string(v->s));
    else if (v->k == V_BOOL) json_object_set_new(a, "valueBoolean", json_boolean(v->b));
    else if (v->k == V_NUM && v->n == floor(v->n) && fabs(v->n) < 1e15) json_object_set_new(a, "valueInteger", json_integer((json_int_t)v->n));
    else if (v->k == V_NUM) json_object_set_new(a, "valueDecimal", json_real(v->n));
    return a;
}

/* the response items of the children list, or NULL when none has content */
static json_t *fhir_items(ev_t *ev, const apr_array_header_t *list)
{
    json_t *arr = json_array();
    int k, e;
    for (k = 0; k < list->nelts; k++) {
        const item_t *it = ITEM(ev->t, APR_ARRAY_IDX(list, k, int));
        json_t *ri, *kids;
        val_t v;
        if (!enabled(ev, it->idx) || it->type == IT_DISPLAY) continue;
        kids = fhir_items(ev, it->children);
        v = value_of(ev, it->idx);
        if (it->type == IT_GROUP ? !kids : (v.k == V_NULL || (v.k == V_LIST && !v.l->nelts)) && !kids) {
            if (kids) json_decref(kids);
            continue;
        }
        ri = json_object();
        json_object_set_new(ri, "linkId", json_string(it->link_id));
        if (it->text) json_object_set_new(ri, "text", json_string(it->text));
        if (it->type == IT_GROUP) json_object_set_new(ri, "item", kids);
        else {
            json_t *ans = json_array();
            for (e = 0; e < list_n(&v); e++) json_array_append_new(ans, fhir_value(it, list_at(&v, e)));
            /* FHIR: children of a question go under its (first) answer */
            if (kids) {
                if (!json_array_size(ans)) json_array_append_new(ans, json_object());
                json_object_set_new(json_array_get(ans, 0), "item", kids);
            }
            json_object_set_new(ri, "answer", ans);
        }
        json_array_append_new(arr, ri);
    }
    if (!json_array_size(arr)) { json_decref(arr); return NULL; }
    return arr;
}

apr_status_t consult_fhir_response(json_t **qr, apr_pool_t *p, const consult_template_t *t,
                                   json_t *answers, const consult_ctx_t *ctx)
{
    ev_t ev;
    json_t *pruned, *o = hg_json_object(p), *items;
    consult_state_t st = consult_state(t, answers, ctx, NULL, p);
    apr_status_t rv;
    if (!o) return APR_ENOMEM;
    if ((rv = consult_prune(&pruned, p, t, answers, ctx)) != APR_SUCCESS) return rv;
    ev_init(&ev, p, t, pruned, ctx);
    hg_json_sets(o, "resourceType", "QuestionnaireResponse");
    hg_json_sets(o, "questionnaire", apr_pstrcat(p, t->id, "|", t->version, NULL));
    hg_json_sets(o, "status", st == CONSULT_STOPPED ? "stopped" : st == CONSULT_REVIEW ? "completed" : "in-progress");
    if ((items = fhir_items(&ev, t->roots))) hg_json_set_new(o, "item", items);
    *qr = o;
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- quality rules */

static const char *const SECTION_LABELS[] = { "主诉", "现病史", "既往史", "个人史", "过敏史", "家族史" };

static json_t *warning(const char *code, const char *link_id, const char *message, int block)
{
    json_t *w = json_pack("{s:s, s:s, s:s}", "code", code, "message", message, "severity", block ? "block" : "warn");
    if (link_id) json_object_set_new(w, "linkId", json_string(link_id));
    return w;
}

/* an answer that says "yes, something": not null, false, [], "" nor an option marked negative */
static int affirmative(const item_t *it, json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v)) return 0;
    if (json_is_array(v)) {
        size_t i;
        for (i = 0; i < json_array_size(v); i++)
            if (affirmative(it, json_array_get(v, i))) return 1;
        return 0;
    }
    if (json_is_string(v)) {
        json_t *op = it->options ? find_option(it, json_string_value(v)) : NULL;
        if (!*json_string_value(v)) return 0;
        if (op && json_is_true(json_object_get(op, "negative"))) return 0;
    }
    if (json_is_number(v) && json_number_value(v) == 0) return 0;
    return 1;
}

apr_status_t consult_quality(json_t **warnings, apr_pool_t *p, const consult_template_t *t,
                             json_t *answers, const consult_ctx_t *ctx)
{
    ev_t ev;
    json_t *a = hg_json_own(p, json_array());
    double age_days = -1;
    int i;
    if (!a) return APR_ENOMEM;
    ev_init(&ev, p, t, answers, ctx);
    if (ev.ctx->birth_date && ev.ctx->today) {
        val_t b = vstr(ev.ctx->birth_date), d = vstr(ev.ctx->today);
        long d1, d2;
        if (date_days(&b, &d1, NULL, NULL, NULL) && date_days(&d, &d2, NULL, NULL, NULL)) age_days = (double)(d2 - d1);
    }
    for (i = 0; i < t->items->nelts; i++) {
        const item_t *it = ITEM(t, i);
        json_t *v;
        if (!answerable(it->type) || !(v = json_object_get(ev.answers, it->link_id)) || !enabled(&ev, i)) continue;
        if (it->female && ev.ctx->sex && !strcmp(ev.ctx->sex, "M") && affirmative(it, v))
            json_array_append_new(a, warning("sex_mismatch", it->link_id,
                apr_psprintf(p, "“%s”只适用于女性，但您登记的性别为男，请核对", it->text ? it->text : it->link_id), 1));
        if (json_is_number(v) && it->dur_days > 0 && age_days >= 0 && json_number_value(v) * it->dur_days > age_days + 1)
            json_array_append_new(a, warning("duration_exceeds_age", it->link_id,
                apr_psprintf(p, "“%s”填写的时长超过了您的年龄，请核对", it->text ? it->text : it->link_id), 1));
        if (json_is_number(v) && ((it->has_pmin && json_number_value(v) < it->pmin) ||
                                  (it->has_pmax && json_number_value(v) > it->pmax)))
            json_array_append_new(a, warning("implausible_value", it->link_id,
                apr_psprintf(p, "“%s”填写的数值 %s 不太常见，请确认是否填写正确", it->text ? it->text : it->link_id,
                             num_text(p, json_number_value(v))), 0));
    }
    for (i = 0; t->quality && i < t->quality->nelts; i++) {
        const qrule_t *q = &APR_ARRAY_IDX(t->quality, i, qrule_t);
        val_t v = eval(&ev, q->when);
        if (truthy(&v)) json_array_append_new(a, warning(q->id, q->link_id, q->message, q->block));
    }
    *warnings = a;
    return APR_SUCCESS;
}

int consult_warnings_block(json_t *warnings)
{
    size_t i;
    for (i = 0; i < json_array_size(warnings); i++)
        {
            const char *sv = hg_json_gets(json_array_get(warnings, i), "severity", NULL);
            if (sv && !strcmp(sv, "block")) return 1;
        }
    return 0;
}

const char *consult_narrative(apr_pool_t *p, json_t *sections)
{
    const char *out = "";
    int s;
    for (s = 0; s < NSECT; s++) {
        const char *x = hg_json_gets(sections, SECTIONS[s], NULL);
        if (!x) x = "";
        if (*x) out = apr_pstrcat(p, out, *out ? "\n" : "", SECTION_LABELS[s], "：", x, NULL);
    }
    return out;
}

int consult_section_key(const char *key)
{
    int s;
    for (s = 0; key && s < NSECT; s++)
        if (!strcmp(SECTIONS[s], key)) return s;
    return -1;
}

/* ---------------------------------------------------------------- pages and Back */

static int nav_npages(json_t *nav) { return (int)json_array_size(json_object_get(nav, "pages")); }

static int nav_pos(json_t *nav)
{
    json_t *j = json_object_get(nav, "pos");
    int n = nav_npages(nav);
    if (!json_is_integer(j) || json_integer_value(j) < 0 || json_integer_value(j) > n) return n;
    return (int)json_integer_value(j);
}

/* the items of history page k that are still enabled and answerable, with their answers */
static json_t *page_view(ev_t *ev, json_t *nav, int k)
{
    json_t *ids = json_array_get(json_object_get(nav, "pages"), (size_t)k), *a = json_array(), *id;
    char *on = apr_pcalloc(ev->p, ev->t->items->nelts + 1);
    size_t i;
    int n;
    json_array_foreach(ids, i, id) {
        const item_t *it = json_is_string(id) ? apr_hash_get(ev->t->by_id, json_string_value(id), APR_HASH_KEY_STRING) : NULL;
        if (it) on[it->idx] = 1;
    }
    /* in template order, whatever order the page was posted in */
    for (n = 0; n < ev->t->items->nelts; n++) {
        const item_t *it = ITEM(ev->t, n);
        json_t *o, *v;
        if (!on[n] || !answerable(it->type) || !enabled(ev, it->idx)) continue;
        o = client_view(it);
        if ((v = json_object_get(ev->answers, it->link_id))) json_object_set(o, "answer", v);
        json_array_append_new(a, o);
    }
    if (!json_array_size(a)) { json_decref(a); return NULL; }
    return a;
}

void consult_nav_record(json_t *nav, json_t *posted)
{
    json_t *pages = json_object_get(nav, "pages"), *fresh = json_array(), *id;
    int n, pos, k, target, at = -1;
    size_t i, j;
    if (!json_is_array(pages)) { pages = json_array(); json_object_set_new(nav, "pages", pages); }
    n = nav_npages(nav);
    pos = nav_pos(nav);
    target = pos < n ? pos : n;
    /* every item lives on one page: the one it was last answered on */
    for (k = 0; k < n; k++) {
        json_t *page = json_array_get(pages, (size_t)k), *kept = json_array();
        json_array_foreach(page, i, id) {
            int dup = 0;
            json_t *q;
            json_array_foreach(posted, j, q) if (json_equal(q, id)) dup = 1;
            if (!dup) json_array_append(kept, id);
        }
        if (k == target) { json_array_extend(kept, posted); at = (int)json_array_size(fresh); }
        if (json_array_size(kept)) json_array_append_new(fresh, kept);
        else json_decref(kept);
    }
    if (at < 0) { at = (int)json_array_size(fresh); json_array_append(fresh, posted); }
    json_object_set_new(nav, "pages", fresh);
    json_object_set_new(nav, "pos", json_integer(at + 1));
}

int consult_nav_back(const consult_template_t *t, json_t *answers, json_t *nav, const consult_ctx_t *ctx,
                     apr_pool_t *p)
{
    ev_t ev;
    int pos = nav_pos(nav);
    ev_init(&ev, p, t, answers, ctx);
    while (--pos >= 0) {
        json_t *v = page_view(&ev, nav, pos);
        if (v) {
            json_decref(v);
            json_object_set_new(nav, "pos", json_integer(pos));
            return 1;
        }
    }
    return 0;
}

apr_status_t consult_view(json_t **view, apr_pool_t *p, const consult_template_t *t, json_t *answers,
                          json_t *nav, const consult_ctx_t *ctx)
{
    ev_t ev;
    json_t *o = hg_json_object(p), *items = NULL;
    const char *advice = NULL;
    int i, answered = 0, pending = 0, pos, n;
    consult_state_t st;
    if (!o) return APR_ENOMEM;
    ev_init(&ev, p, t, answers, ctx);
    for (i = 0; i < t->items->nelts; i++) {
        const item_t *it = ITEM(t, i);
        if (!answerable(it->type) || !enabled(&ev, i)) continue;
        if (json_object_get(ev.answers, it->link_id)) answered++;
        else pending++;
    }
    st = consult_state(t, answers, ctx, &advice, p);
    if (st == CONSULT_STOPPED) {
        hg_json_sets(o, "state", "stopped");
        hg_json_set_new(o, "items", json_array());
        hg_json_sets(o, "advice", advice ? advice : "");
    } else {
        n = nav ? nav_npages(nav) : 0;
        for (pos = nav ? nav_pos(nav) : 0; pos < n && !items; pos++) items = page_view(&ev, nav, pos);
        if (!items && pending) {
            json_t *nx;
            consult_next_items(&nx, p, t, answers, ctx);
            items = json_incref(nx);
        }
        hg_json_sets(o, "state", items ? "in-progress" : "review");
        hg_json_set_new(o, "items", items ? items : json_array());
        if (!items) {
            json_t *pruned, *sections, *warnings;
            consult_prune(&pruned, p, t, answers, ctx);
            consult_summary(&sections, p, t, pruned, ctx);
            consult_quality(&warnings, p, t, pruned, ctx);
            hg_json_set_new(o, "review", json_pack("{s:O, s:s, s:O}", "sections", sections, "narrative",
                                                   consult_narrative(p, sections), "warnings", warnings));
        }
    }
    hg_json_set_new(o, "progress", json_pack("{s:i, s:i}", "answered", answered, "total", answered + pending));
    *view = o;
    return APR_SUCCESS;
}
