/* hisgate JSON helpers and validator (see hg_json.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <regex.h>
#include <pthread.h>
#include <apr_strings.h>
#include "hg_json.h"
#include "hg_money.h"

/* ---- jansson's memory (hg_json_arena) ----
 * Every block jansson asks for carries a 16-byte header saying where it came from: the heap, or
 * the pool this thread named.  A pool block is never freed on its own: its pool goes at once, and
 * a request's JSON costs no malloc and no free (about a sixth of an issuance's httpd time went to
 * them).  A block from before the allocator was installed has no header: freeing it does nothing
 * (a leak, not a crash; only values made before mod_hisgate's child_init, of which there are none
 * past it).  16 bytes keep jansson's alignment. */
#define ARENA_HDR  16
#define FROM_HEAP  UINT64_C(0x68672d6865617021)     /* "hg-heap!" */
#define FROM_POOL  UINT64_C(0x68672d706f6f6c21)     /* "hg-pool!" */
static __thread apr_pool_t *arena;

static void *arena_malloc(size_t n)
{
    unsigned char *b;
    if (n > SIZE_MAX - ARENA_HDR)
        return NULL;
    if (arena) {
        if (!(b = apr_palloc(arena, n + ARENA_HDR)))
            return NULL;
        *(uint64_t *)b = FROM_POOL;
    }
    else {
        if (!(b = malloc(n + ARENA_HDR)))
            return NULL;
        *(uint64_t *)b = FROM_HEAP;
    }
    return b + ARENA_HDR;
}

static void arena_free(void *ptr)
{
    unsigned char *b;
    if (!ptr)
        return;
    b = (unsigned char *)ptr - ARENA_HDR;
    if (*(uint64_t *)b == FROM_HEAP)
        free(b);
}

void hg_json_free_text(char *s)
{
    json_free_t fn;
    json_get_alloc_funcs(NULL, &fn);
    fn(s);
}

void hg_json_arena_init(void)
{
    json_set_alloc_funcs(arena_malloc, arena_free);
}

apr_pool_t *hg_json_arena(apr_pool_t *p)
{
    apr_pool_t *was = arena;
    arena = p;
    return was;
}

/* ---- lifetime, parse, dump ---- */

static apr_status_t json_cleanup(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

json_t *hg_json_own(apr_pool_t *p, json_t *j)
{
    if (j) apr_pool_cleanup_register(p, j, json_cleanup, apr_pool_cleanup_null);
    return j;
}

json_t *hg_json_object(apr_pool_t *p)
{
    return hg_json_own(p, json_object());
}

static const char *jtype_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:  return "object";
    case JSON_ARRAY:   return "array";
    case JSON_STRING:  return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL:    return "number";
    case JSON_TRUE:
    case JSON_FALSE:   return "boolean";
    case JSON_NULL:    return "null";
    }
    return "?";
}

apr_status_t hg_json_parse(json_t **pj, apr_pool_t *p, const char *buf, apr_size_t len,
                           unsigned flags, hg_error_t **err)
{
    json_error_t je;
    json_t *j;

    *pj = NULL;
    if (err) *err = NULL;
    if (!buf || !len) {
        if (err) *err = hg_error_make(p, HG_JSON_MALFORMED, NULL, "request body is empty, expected JSON");
        return HG_EINVALID;
    }
    /* RFC 8259 §8.1 lets parsers ignore a BOM; some Windows HIS clients send one */
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        buf += 3;
        len -= 3;
    }
    /* DECODE_ANY so that "42" is reported as "not an object" rather than as a syntax error */
    j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!j) {
        if (err) *err = hg_error_make(p, HG_JSON_MALFORMED, NULL,
                                      "request body is not valid JSON: %s (line %d, column %d)",
                                      je.text, je.line, je.column);
        return HG_EINVALID;
    }
    hg_json_own(p, j);
    if (!(flags & HG_JSON_PARSE_ANY) && !json_is_object(j)) {
        if (err) *err = hg_error_make(p, HG_JSON_NOT_OBJECT, NULL,
                                      "request body must be a JSON object, found %s", jtype_name(j));
        return HG_EINVALID;
    }
    *pj = j;
    return APR_SUCCESS;
}

/* ---- dump ----
 * jansson's compact text, written straight into one buffer.  json_dumps keeps a hash set of the
 * containers on the path (a loop check, with a printf'd key per container) and appends every token
 * through a callback: 18 µs for a 2 KB bill here, and an issue dumps its bill several times (the
 * content hash, the signed document, the answer).  This writes the same bytes in a few µs; t_json
 * compares the two over thousands of random trees.  Reals, rare in our data, are still jansson's. */
typedef struct {
    char *b;
    size_t n, cap;
    int failed;
} jbuf_t;

static int jb_room(jbuf_t *o, size_t more)
{
    if (o->n + more <= o->cap)
        return 1;
    while (o->n + more > o->cap)
        o->cap *= 2;
    {
        char *nb = realloc(o->b, o->cap);
        if (!nb) {
            o->failed = 1;
            return 0;
        }
        o->b = nb;
    }
    return 1;
}

static inline void jb_put(jbuf_t *o, const char *s, size_t n)
{
    if (jb_room(o, n)) {
        memcpy(o->b + o->n, s, n);
        o->n += n;
    }
}

static inline void jb_putc(jbuf_t *o, char c)
{
    if (jb_room(o, 1))
        o->b[o->n++] = c;
}

/* the length of the valid UTF-8 sequence at p (jansson's rules: no overlong forms, no surrogates,
 * nothing above U+10FFFF), 0 if invalid */
static size_t utf8_seq(const unsigned char *p, size_t avail)
{
    size_t n, i;
    unsigned v;
    if (p[0] >= 0xC2 && p[0] <= 0xDF) { n = 2; v = p[0] & 0x1F; }
    else if (p[0] >= 0xE0 && p[0] <= 0xEF) { n = 3; v = p[0] & 0x0F; }
    else if (p[0] >= 0xF0 && p[0] <= 0xF4) { n = 4; v = p[0] & 0x07; }
    else return 0;
    if (n > avail)
        return 0;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    return n;
}

static void jb_string(jbuf_t *o, const char *str, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)str, *end = p + len, *run = p;
    jb_putc(o, '"');
    while (p < end) {
        unsigned c = *p;
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0x80) {
            size_t k = utf8_seq(p, (size_t)(end - p));
            if (!k) {
                o->failed = 1;      /* jansson refuses to write invalid UTF-8 too */
                return;
            }
            p += k;
            continue;
        }
        jb_put(o, (const char *)run, (size_t)(p - run));
        switch (c) {
        case '\\': jb_put(o, "\\\\", 2); break;
        case '"':  jb_put(o, "\\\"", 2); break;
        case '\b': jb_put(o, "\\b", 2); break;
        case '\f': jb_put(o, "\\f", 2); break;
        case '\n': jb_put(o, "\\n", 2); break;
        case '\r': jb_put(o, "\\r", 2); break;
        case '\t': jb_put(o, "\\t", 2); break;
        default: {
            char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            jb_put(o, u, 6);
        }
        }
        run = ++p;
    }
    jb_put(o, (const char *)run, (size_t)(p - run));
    jb_putc(o, '"');
}

typedef struct {
    const char *key;
    size_t len;
    json_t *value;
} jmember_t;

/* jansson's order of sorted keys: bytes, then length */
static int member_cmp(const void *a, const void *b)
{
    const jmember_t *x = a, *y = b;
    int r = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
    return r ? r : (x->len < y->len ? -1 : x->len > y->len);
}

static void jb_value(jbuf_t *o, const json_t *j, unsigned flags, int depth)
{
    if (o->failed)
        return;
    if (!j || depth > 2048) {         /* a loop, which jansson refuses as well */
        o->failed = 1;
        return;
    }
    switch (json_typeof(j)) {
    case JSON_NULL:  jb_put(o, "null", 4); return;
    case JSON_TRUE:  jb_put(o, "true", 4); return;
    case JSON_FALSE: jb_put(o, "false", 5); return;
    case JSON_INTEGER: {
        char d[24], *e = d + sizeof d, *q = e;
        json_int_t v = json_integer_value(j);
        unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
        do
            *--q = (char)('0' + u % 10);
        while ((u /= 10));
        if (v < 0)
            *--q = '-';
        jb_put(o, q, (size_t)(e - q));
        return;
    }
    case JSON_REAL: {
        char d[128];
        size_t n = json_dumpb(j, d, sizeof d, JSON_COMPACT | JSON_ENCODE_ANY
                              | JSON_REAL_PRECISION((flags & HG_JSON_DUMP_REAL17) ? 17 : 15));
        if (!n || n > sizeof d)
            o->failed = 1;
        else
            jb_put(o, d, n);
        return;
    }
    case JSON_STRING:
        jb_string(o, json_string_value(j), json_string_length(j));
        return;
    case JSON_ARRAY: {
        size_t i, n = json_array_size(j);
        jb_putc(o, '[');
        for (i = 0; i < n && !o->failed; i++) {
            if (i)
                jb_putc(o, ',');
            jb_value(o, json_array_get(j, i), flags, depth + 1);
        }
        jb_putc(o, ']');
        return;
    }
    case JSON_OBJECT: {
        void *it = json_object_iter((json_t *)j);
        jb_putc(o, '{');
        if (flags & HG_JSON_DUMP_SORTED) {
            jmember_t few[32], *m = few;
            size_t i, n = json_object_size(j);
            if (n > sizeof few / sizeof *few && !(m = malloc(n * sizeof(*m)))) {
                o->failed = 1;
                return;
            }
            for (i = 0; it && i < n; i++, it = json_object_iter_next((json_t *)j, it)) {
                m[i].key = json_object_iter_key(it);
                m[i].len = json_object_iter_key_len(it);
                m[i].value = json_object_iter_value(it);
            }
            n = i;
            qsort(m, n, sizeof(*m), member_cmp);
            for (i = 0; i < n && !o->failed; i++) {
                if (i)
                    jb_putc(o, ',');
                jb_string(o, m[i].key, m[i].len);
                jb_putc(o, ':');
                jb_value(o, m[i].value, flags, depth + 1);
            }
            if (m != few)
                free(m);
        }
        else {
            int first = 1;
            for (; it && !o->failed; it = json_object_iter_next((json_t *)j, it)) {
                if (!first)
                    jb_putc(o, ',');
                first = 0;
                jb_string(o, json_object_iter_key(it), json_object_iter_key_len(it));
                jb_putc(o, ':');
                jb_value(o, json_object_iter_value(it), flags, depth + 1);
            }
        }
        jb_putc(o, '}');
        return;
    }
    }
    o->failed = 1;
}

char *hg_json_dump(apr_pool_t *p, const json_t *j, unsigned flags)
{
    jbuf_t o = { malloc(4096), 0, 4096, 0 };
    char *out = NULL;
    if (!j || !o.b) {
        free(o.b);
        return NULL;
    }
    jb_value(&o, j, flags, 0);
    if (!o.failed)
        out = apr_pstrmemdup(p, o.b, o.n);
    free(o.b);
    return out;
}

/* jansson's own json_dumps with the same options: for tests that compare the two */
char *hg_json_dump_jansson(apr_pool_t *p, const json_t *j, unsigned flags)
{
    char *s, *out;
    size_t jf = JSON_COMPACT | JSON_ENCODE_ANY;
    if (!j) return NULL;
    if (flags & HG_JSON_DUMP_SORTED) jf |= JSON_SORT_KEYS;
    /* jansson's default %.17g prints 0.1 as 0.10000000000000001; 15 digits print what was parsed */
    jf |= (flags & HG_JSON_DUMP_REAL17) ? JSON_REAL_PRECISION(17) : JSON_REAL_PRECISION(15);
    if (!(s = json_dumps(j, jf))) return NULL;
    out = apr_pstrdup(p, s);
    hg_json_free_text(s);
    return out;
}

/* ---- path getters ---- */

static json_t *vget(json_t *j, va_list ap)
{
    const char *k;
    while (j && (k = va_arg(ap, const char *)) != NULL)
        j = json_is_object(j) ? json_object_get(j, k) : NULL;
    return j;
}

json_t *hg_json_get(json_t *j, ...)
{
    va_list ap;
    va_start(ap, j);
    j = vget(j, ap);
    va_end(ap);
    return j;
}

const char *hg_json_gets(json_t *j, ...)
{
    va_list ap;
    va_start(ap, j);
    j = vget(j, ap);
    va_end(ap);
    return json_is_string(j) ? json_string_value(j) : NULL;
}

apr_status_t hg_json_geti(json_t *j, apr_int64_t *out, ...)
{
    va_list ap;
    va_start(ap, out);
    j = vget(j, ap);
    va_end(ap);
    if (!j || json_is_null(j)) return APR_NOTFOUND;
    if (!json_is_integer(j)) return HG_EINVALID;
    *out = (apr_int64_t)json_integer_value(j);
    return APR_SUCCESS;
}

apr_status_t hg_json_getm(json_t *j, apr_int64_t *fen, ...)
{
    va_list ap;
    va_start(ap, fen);
    j = vget(j, ap);
    va_end(ap);
    if (!j || json_is_null(j)) return APR_NOTFOUND;
    if (json_is_string(j))
        return hg_money_parsen(fen, json_string_value(j), json_string_length(j), HG_MONEY_ALLOW_NEG);
    if (json_is_integer(j)) return hg_money_from_yuan(fen, (apr_int64_t)json_integer_value(j));
    if (json_is_real(j)) return hg_money_from_real(fen, json_real_value(j));
    return HG_EINVALID;
}

/* ---- builders ---- */

/* obj[key] = v (reference taken over); v NULL is out of memory unless null_ok */
static apr_status_t set_owned(json_t *obj, const char *key, json_t *v, int null_ok)
{
    if (!json_is_object(obj) || !key || hg_utf8_count(NULL, key, strlen(key)) != APR_SUCCESS) {
        json_decref(v);                               /* we own v whatever happens */
        return HG_EINVALID;
    }
    if (!v && (!null_ok || !(v = json_null()))) return APR_ENOMEM;
    return json_object_set_new(obj, key, v) == 0 ? APR_SUCCESS : APR_ENOMEM;
}

apr_status_t hg_json_set_new(json_t *obj, const char *key, json_t *v)
{
    return set_owned(obj, key, v, 1);
}

apr_status_t hg_json_sets(json_t *obj, const char *key, const char *s)
{
    if (!s) return set_owned(obj, key, json_null(), 0);
    if (hg_utf8_count(NULL, s, strlen(s)) != APR_SUCCESS) return HG_EINVALID;
    return set_owned(obj, key, json_string(s), 0);
}

apr_status_t hg_json_seti(json_t *obj, const char *key, apr_int64_t v)
{
    return set_owned(obj, key, json_integer((json_int_t)v), 0);
}

apr_status_t hg_json_setb(json_t *obj, const char *key, int v)
{
    return set_owned(obj, key, json_boolean(v), 0);
}

apr_status_t hg_json_setm(json_t *obj, const char *key, apr_int64_t fen)
{
    char buf[HG_MONEY_BUFSZ];
    if (fen == APR_INT64_MIN) return HG_EOVERFLOW;
    return set_owned(obj, key, json_string(hg_money_format_buf(buf, fen)), 0);
}

/* ---- dates ---- */

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int y, int m)
{
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* exactly n ASCII digits at s[*i], within len */
static int take_digits(const char *s, apr_size_t len, apr_size_t *i, int n, int *out)
{
    int v = 0, k;
    for (k = 0; k < n; k++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9') return 0;
        v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    *out = v;
    return 1;
}

apr_status_t hg_date_parse(apr_time_exp_t *out, const char *s, apr_size_t len, const char *fmt,
                           const char **why)
{
    static const struct { const char *tok; int n; } toks[] = {
        { "yyyy", 4 }, { "MM", 2 }, { "dd", 2 }, { "HH", 2 }, { "mm", 2 }, { "ss", 2 }, { "SSS", 3 } };
    int val[7] = { 0, 1, 1, 0, 0, 0, 0 };             /* missing month/day default to 1 */
    apr_size_t i = 0, t;
    const char *f = fmt;
    const char *dummy;

    if (!why) why = &dummy;
    if (!s || !fmt) { *why = "no value or format"; return HG_EINVALID; }
    while (*f) {
        for (t = 0; t < sizeof(toks) / sizeof(toks[0]); t++)
            if (strncmp(f, toks[t].tok, (size_t)toks[t].n) == 0) break;
        if (t < sizeof(toks) / sizeof(toks[0])) {
            if (!take_digits(s, len, &i, toks[t].n, &val[t])) {
                *why = i >= len ? "too short" : "a digit was expected";
                return HG_EINVALID;
            }
            f += toks[t].n;
        }
        else {
            if (i >= len) { *why = "too short"; return HG_EINVALID; }
            if (s[i] != *f) { *why = "wrong separator"; return HG_EINVALID; }
            i++;
            f++;
        }
    }
    if (i != len) { *why = "too long"; return HG_EINVALID; }
    if (val[0] < 1)  { *why = "year out of range"; return HG_EINVALID; }
    if (val[1] < 1 || val[1] > 12) { *why = "month out of range"; return HG_EINVALID; }
    if (val[2] < 1 || val[2] > days_in_month(val[0], val[1])) {
        *why = "day out of range for the month"; return HG_EINVALID;
    }
    if (val[3] > 23) { *why = "hour out of range"; return HG_EINVALID; }
    if (val[4] > 59) { *why = "minute out of range"; return HG_EINVALID; }
    if (val[5] > 59) { *why = "second out of range"; return HG_EINVALID; }
    if (out) {
        static const int cum[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
        int y = val[0], m = val[1], d = val[2], a, yy;
        memset(out, 0, sizeof(*out));
        out->tm_year = y - 1900;
        out->tm_mon = m - 1;
        out->tm_mday = d;
        out->tm_hour = val[3];
        out->tm_min = val[4];
        out->tm_sec = val[5];
        out->tm_usec = val[6] * 1000;
        out->tm_yday = cum[m - 1] + d - 1 + (m > 2 && is_leap(y));
        /* Sakamoto's day of week, 0 = Sunday */
        a = (14 - m) / 12;
        yy = y - a;
        out->tm_wday = (d + yy + yy / 4 - yy / 100 + yy / 400 + (31 * (m + 12 * a - 2)) / 12) % 7;
    }
    *why = NULL;
    return APR_SUCCESS;
}

/* ---- regex cache ----
 * Compiled once per process and kept forever (schemas are static, so this is a handful of entries).
 * glibc's regexec is thread-safe on a shared regex_t (it locks internally). */

#define RX_CACHE_MAX 256

typedef struct rx_ent {
    struct rx_ent *next;
    char *pat;
    int rc;                             /* regcomp result, cached too so a bad pattern fails fast */
    regex_t rx;
} rx_ent;

static pthread_mutex_t rx_mutex = PTHREAD_MUTEX_INITIALIZER;
static rx_ent *rx_head;
static unsigned rx_count;

static int rx_compile(regex_t *rx, const char *pat)
{
    size_t n = strlen(pat);
    char *anch = malloc(n + 5);
    int rc;
    if (!anch) return REG_ESPACE;
    memcpy(anch, "^(", 2);
    memcpy(anch + 2, pat, n);
    memcpy(anch + 2 + n, ")$", 3);
    rc = regcomp(rx, anch, REG_EXTENDED | REG_NOSUB);
    free(anch);
    return rc;
}

/* 1 match, 0 no match, -1 the pattern does not compile */
static int rx_match(const char *pat, const char *s)
{
    rx_ent *e;
    regex_t local;
    int rc;

    pthread_mutex_lock(&rx_mutex);
    for (e = rx_head; e; e = e->next)
        if (strcmp(e->pat, pat) == 0) break;
    if (!e && rx_count < RX_CACHE_MAX && (e = calloc(1, sizeof(*e))) != NULL) {
        if (!(e->pat = strdup(pat))) {
            free(e);
            e = NULL;
        }
        else {
            e->rc = rx_compile(&e->rx, pat);
            e->next = rx_head;
            rx_head = e;
            rx_count++;
        }
    }
    pthread_mutex_unlock(&rx_mutex);
    if (e) {                                  /* entries are never freed: safe to use unlocked */
        if (e->rc != 0) return -1;
        return regexec(&e->rx, s, 0, NULL, 0) == 0;
    }
    /* cache full (patterns built at run time?): compile per call */
    if (rx_compile(&local, pat) != 0) return -1;
    rc = regexec(&local, s, 0, NULL, 0) == 0;
    regfree(&local);
    return rc;
}

/* ---- validator ---- */

typedef struct vpath {
    const struct vpath *up;
    const char *name;                   /* member name, or NULL for an array index */
    apr_size_t idx;
} vpath;

typedef struct {
    apr_pool_t *p;
    hg_error_t **err;
} vctx;

static char *path_str(apr_pool_t *p, const vpath *path)
{
    const vpath *seg[64];
    int n = 0, i;
    char *s = "";
    for (; path && n < 64; path = path->up) seg[n++] = path;
    for (i = n - 1; i >= 0; i--) {
        if (seg[i]->name)
            s = apr_pstrcat(p, s, *s ? "." : "", seg[i]->name, NULL);
        else
            s = apr_psprintf(p, "%s[%" APR_SIZE_T_FMT "]", s, seg[i]->idx);
    }
    return s;
}

/* A bad value as it may appear in a message: valid UTF-8, at most 64 code points, control bytes
 * shown as '?'. */
#define ECHO_MAX 64
static const char *echo(apr_pool_t *p, const char *s, apr_size_t len)
{
    const char *r = hg_utf8_repair(p, apr_pstrndup(p, s, len));
    apr_size_t i = 0, cp = 0;
    char *out;
    while (r[i] && cp < ECHO_MAX) {
        i++;
        while ((r[i] & 0xC0) == 0x80) i++;          /* skip continuation bytes */
        cp++;
    }
    out = apr_pstrndup(p, r, i);
    for (char *c = out; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7F) *c = '?';
    return r[i] ? apr_pstrcat(p, out, "…", NULL) : out;
}

/* "string 'abc'", "integer 12", "null" … for "found …" */
static const char *describe(apr_pool_t *p, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return apr_psprintf(p, "string '%s'", echo(p, json_string_value(v), json_string_length(v)));
    case JSON_INTEGER:
        /* apr_psprintf knows APR_INT64_T_FMT but not "lld" */
        return apr_psprintf(p, "integer %" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(v));
    case JSON_REAL: {
        char buf[64];                                 /* libc for %g: APR's formatter differs */
        snprintf(buf, sizeof(buf), "number %.15g", json_real_value(v));
        return apr_pstrdup(p, buf);
    }
    case JSON_TRUE:    return "boolean true";
    case JSON_FALSE:   return "boolean false";
    default:           return jtype_name(v);
    }
}

static apr_status_t vfail(vctx *c, const vpath *path, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static apr_status_t vfail(vctx *c, const vpath *path, const char *code, const char *fmt, ...)
{
    va_list ap;
    char buf[512];
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (c->err) *c->err = hg_error_make(c->p, code, path ? path_str(c->p, path) : NULL, "%s", buf);
    return HG_EINVALID;
}

/* A schema bug is the server's fault: 500, and the message points at the entry. */
static apr_status_t schema_fail(vctx *c, const vpath *path, const char *what)
{
    if (c->err) *c->err = hg_error_make(c->p, HG_INTERNAL, path ? path_str(c->p, path) : NULL,
                                        "validation schema error: %s", what);
    return APR_EINVAL;
}

static const char *expected_name(hg_jtype_t t)
{
    switch (t) {
    case HG_JT_ANY:     return "a value";
    case HG_JT_STRING:  return "string";
    case HG_JT_INTEGER: return "integer";
    case HG_JT_NUMBER:  return "number";
    case HG_JT_BOOLEAN: return "boolean";
    case HG_JT_OBJECT:  return "object";
    case HG_JT_ARRAY:   return "array";
    case HG_JT_MONEY:   return "amount (string like \"12.30\" or number)";
    case HG_JT_DATE:    return "date string";
    default:            return "?";
    }
}

static apr_status_t type_fail(vctx *c, const vpath *path, hg_jtype_t want, const json_t *v)
{
    return vfail(c, path, HG_FIELD_TYPE, "expected %s, found %s", expected_name(want), describe(c->p, v));
}

/* "'01', '02', '06'" (first 10 values) */
static const char *enum_list(apr_pool_t *p, const char *const *ev)
{
    char *s = "";
    int i;
    for (i = 0; ev[i] && i < 10; i++) s = apr_pstrcat(p, s, i ? ", '" : "'", ev[i], "'", NULL);
    return ev[i] ? apr_pstrcat(p, s, ", …", NULL) : s;
}

static int in_enum(const char *const *ev, const char *s)
{
    for (; *ev; ev++)
        if (strcmp(*ev, s) == 0) return 1;
    return 0;
}

static apr_status_t check_range(vctx *c, const vpath *path, const hg_field_t *f, double v, const char *shown)
{
    if ((f->flags & HG_F_MIN) && v < f->min)
        return vfail(c, path, HG_FIELD_RANGE, "expected a value >= %.15g, found %s", f->min, shown);
    if ((f->flags & HG_F_MAX) && v > f->max)
        return vfail(c, path, HG_FIELD_RANGE, "expected a value <= %.15g, found %s", f->max, shown);
    return APR_SUCCESS;
}

/* a yuan limit (double) in fen, clamped; no libm */
static apr_int64_t limit_fen(double yuan)
{
    double x = yuan * 100.0;
    if (!(x < 9.2e18)) return HG_MONEY_MAX;
    if (!(x > -9.2e18)) return HG_MONEY_MIN;
    return (apr_int64_t)(x + (x >= 0 ? 0.5 : -0.5));
}

static apr_status_t check_money(vctx *c, const vpath *path, const hg_field_t *f, const json_t *v)
{
    apr_int64_t fen = 0;
    apr_status_t rv;
    const char *shown;

    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        apr_size_t len = json_string_length(v);
        shown = apr_psprintf(c->p, "'%s'", echo(c->p, s, len));
        rv = hg_money_parsen(&fen, s, len, HG_MONEY_EXACT2 | HG_MONEY_ALLOW_NEG);
        if (rv == HG_EOVERFLOW)
            return vfail(c, path, HG_FIELD_MONEY, "amount out of range, found %s", shown);
        if (rv != APR_SUCCESS)
            return vfail(c, path, HG_FIELD_MONEY,
                         "expected an amount with exactly two decimals like \"12.30\", found %s", shown);
    }
    else if (json_is_integer(v)) {
        shown = describe(c->p, v);
        if (hg_money_from_yuan(&fen, (apr_int64_t)json_integer_value(v)) != APR_SUCCESS)
            return vfail(c, path, HG_FIELD_MONEY, "amount out of range, found %s", shown);
    }
    else if (json_is_real(v)) {
        shown = describe(c->p, v);
        rv = hg_money_from_real(&fen, json_real_value(v));
        if (rv == HG_EOVERFLOW)
            return vfail(c, path, HG_FIELD_MONEY, "amount out of range, found %s", shown);
        if (rv != APR_SUCCESS)
            return vfail(c, path, HG_FIELD_MONEY, "expected an amount with at most two decimals, found %s",
                         shown);
    }
    else {
        return type_fail(c, path, HG_JT_MONEY, v);
    }
    if (fen < 0 && !(f->flags & HG_F_NEGATIVE))
        return vfail(c, path, HG_FIELD_MONEY, "a negative amount is not allowed here, found %s", shown);
    if ((f->flags & HG_F_MIN) && fen < limit_fen(f->min))
        return vfail(c, path, HG_FIELD_RANGE, "expected an amount >= %.2f, found %s", f->min, shown);
    if ((f->flags & HG_F_MAX) && fen > limit_fen(f->max))
        return vfail(c, path, HG_FIELD_RANGE, "expected an amount <= %.2f, found %s", f->max, shown);
    return APR_SUCCESS;
}

static apr_status_t check_object(vctx *c, const vpath *path, json_t *obj, const hg_field_t *fields,
                                 int closed);

/* v is present and not null.  member: v is an object member (the "" and [] = missing rules apply). */
static apr_status_t check_value(vctx *c, const vpath *path, json_t *v, const hg_field_t *f,
                                hg_jtype_t type, int member)
{
    apr_status_t rv;
    apr_size_t i, n;

    switch (type) {
    case HG_JT_ANY:
        return APR_SUCCESS;

    case HG_JT_STRING:
    case HG_JT_DATE: {
        const char *s, *why;
        apr_size_t len, ncp;
        if (!json_is_string(v)) return type_fail(c, path, type, v);
        s = json_string_value(v);
        len = json_string_length(v);
        if (len == 0 && member) {
            if (f->flags & HG_F_REQUIRED)
                return vfail(c, path, HG_FIELD_REQUIRED, "field is required but is an empty string");
            return APR_SUCCESS;                       /* "" = not given */
        }
        if (memchr(s, '\0', len))
            return vfail(c, path, HG_FIELD_TYPE, "string contains a NUL character");
        if (hg_utf8_count(&ncp, s, len) != APR_SUCCESS)
            return vfail(c, path, HG_FIELD_TYPE, "string is not valid UTF-8, found '%s'", echo(c->p, s, len));
        if (type == HG_JT_DATE) {
            if (!f->date_format) return schema_fail(c, path, "date entry without date_format");
            if (hg_date_parse(NULL, s, len, f->date_format, &why) != APR_SUCCESS)
                return vfail(c, path, HG_FIELD_DATE, "expected a date/time as %s, found '%s' (%s)",
                             f->date_format, echo(c->p, s, len), why);
            return APR_SUCCESS;
        }
        if (f->max_len && ncp > f->max_len)
            return vfail(c, path, HG_FIELD_TOO_LONG,
                         "at most %" APR_SIZE_T_FMT " characters allowed, found %" APR_SIZE_T_FMT,
                         f->max_len, ncp);
        if (ncp < f->min_len)
            return vfail(c, path, HG_FIELD_TOO_SHORT,
                         "at least %" APR_SIZE_T_FMT " characters required, found %" APR_SIZE_T_FMT,
                         f->min_len, ncp);
        if (f->enum_values && !in_enum(f->enum_values, s))
            return vfail(c, path, HG_FIELD_ENUM, "expected one of %s; found '%s'",
                         enum_list(c->p, f->enum_values), echo(c->p, s, len));
        if (f->pattern) {
            int m = rx_match(f->pattern, s);
            if (m < 0) return schema_fail(c, path, apr_psprintf(c->p, "bad pattern %s", f->pattern));
            if (!m)
                return vfail(c, path, HG_FIELD_PATTERN, "value '%s' does not match the pattern %s",
                             echo(c->p, s, len), f->pattern);
        }
        return APR_SUCCESS;
    }

    case HG_JT_INTEGER:
        if (!json_is_integer(v)) return type_fail(c, path, type, v);
        if (f->enum_values) {
            char buf[32];
            snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            if (!in_enum(f->enum_values, buf))
                return vfail(c, path, HG_FIELD_ENUM, "expected one of %s; found %s",
                             enum_list(c->p, f->enum_values), buf);
        }
        return check_range(c, path, f, (double)json_integer_value(v), describe(c->p, v));

    case HG_JT_NUMBER:
        if (!json_is_number(v)) return type_fail(c, path, type, v);
        return check_range(c, path, f, json_number_value(v), describe(c->p, v));

    case HG_JT_BOOLEAN:
        if (!json_is_boolean(v)) return type_fail(c, path, type, v);
        return APR_SUCCESS;

    case HG_JT_MONEY:
        if (member && json_is_string(v) && json_string_length(v) == 0) {
            if (f->flags & HG_F_REQUIRED)
                return vfail(c, path, HG_FIELD_REQUIRED, "field is required but is an empty string");
            return APR_SUCCESS;
        }
        return check_money(c, path, f, v);

    case HG_JT_OBJECT:
        if (!json_is_object(v)) return type_fail(c, path, type, v);
        if (!f->fields) return APR_SUCCESS;
        return check_object(c, path, v, f->fields, (f->flags & HG_F_CLOSED) != 0);

    case HG_JT_ARRAY:
        if (!json_is_array(v)) return type_fail(c, path, type, v);
        if (f->items == HG_JT_ARRAY || (f->items && f->fields))
            return schema_fail(c, path, "array entry with nested arrays or both fields and items");
        n = json_array_size(v);
        if (n == 0 && member && (f->flags & HG_F_REQUIRED))
            return vfail(c, path, HG_FIELD_REQUIRED, "at least one item is required, found an empty array");
        if (n < f->min_items)
            return vfail(c, path, HG_FIELD_TOO_SHORT,
                         "at least %" APR_SIZE_T_FMT " items required, found %" APR_SIZE_T_FMT,
                         f->min_items, n);
        if (f->max_items && n > f->max_items)
            return vfail(c, path, HG_TOO_MANY_ITEMS,
                         "at most %" APR_SIZE_T_FMT " items allowed, found %" APR_SIZE_T_FMT,
                         f->max_items, n);
        for (i = 0; i < n; i++) {
            json_t *item = json_array_get(v, i);
            vpath ip = { path, NULL, i };
            if (f->fields) {
                if (!json_is_object(item)) return type_fail(c, &ip, HG_JT_OBJECT, item);
                rv = check_object(c, &ip, item, f->fields, (f->flags & HG_F_CLOSED) != 0);
            }
            else if (f->items) {
                if (json_is_null(item)) return type_fail(c, &ip, f->items, item);
                rv = check_value(c, &ip, item, f, f->items, 0);
            }
            else {
                rv = APR_SUCCESS;                     /* any items */
            }
            if (rv != APR_SUCCESS) return rv;
        }
        return APR_SUCCESS;

    default:
        return schema_fail(c, path, "entry without a valid type");
    }
}

static apr_status_t check_member(vctx *c, const vpath *path, json_t *v, const hg_field_t *f)
{
    if (!v) {
        if (f->flags & HG_F_REQUIRED) return vfail(c, path, HG_FIELD_REQUIRED, "field is required");
        return APR_SUCCESS;
    }
    if (json_is_null(v)) {
        if (f->flags & HG_F_NULLABLE) return APR_SUCCESS;
        if (f->flags & HG_F_REQUIRED) return vfail(c, path, HG_FIELD_REQUIRED, "field is required but is null");
        return vfail(c, path, HG_FIELD_TYPE, "expected %s, found null", expected_name(f->type));
    }
    return check_value(c, path, v, f, f->type, 1);
}

static int in_schema(const hg_field_t *fields, const char *key)
{
    for (; fields->name; fields++)
        if (strcmp(fields->name, key) == 0) return 1;
    return 0;
}

static apr_status_t check_object(vctx *c, const vpath *path, json_t *obj, const hg_field_t *fields,
                                 int closed)
{
    const hg_field_t *f;
    apr_size_t present = 0;
    apr_status_t rv;

    for (f = fields; f->name; f++) {
        vpath mp = { path, f->name, 0 };
        json_t *v = json_object_get(obj, f->name);
        if (v) present++;
        if ((rv = check_member(c, &mp, v, f)) != APR_SUCCESS) return rv;
    }
    closed |= (f->flags & HG_F_CLOSED) != 0;          /* the end marker closes the table */
    /* every key was one of ours (keys are unique): skip the O(keys x fields) scan */
    if (closed && json_object_size(obj) > present) {
        const char *key;
        json_t *v;
        json_object_foreach(obj, key, v) {
            if (!in_schema(fields, key)) {
                vpath kp = { path, echo(c->p, key, strlen(key)), 0 };
                return vfail(c, &kp, HG_FIELD_UNKNOWN, "unexpected field (this object allows only known fields)");
            }
        }
    }
    return APR_SUCCESS;
}

apr_status_t hg_json_validate(apr_pool_t *p, json_t *obj, const hg_field_t *schema, hg_error_t **err)
{
    vctx c = { p, err };
    if (err) *err = NULL;
    if (!schema) return schema_fail(&c, NULL, "no schema");
    if (!json_is_object(obj)) {
        if (err) *err = hg_error_make(p, HG_JSON_NOT_OBJECT, NULL, "expected a JSON object, found %s",
                                      obj ? jtype_name(obj) : "nothing");
        return HG_EINVALID;
    }
    return check_object(&c, NULL, obj, schema, 0);
}

const char *hg_json_opt(json_t *o, const char *key)
{
    const char *s = hg_json_gets(o, key, NULL);
    return s && *s ? s : NULL;
}
