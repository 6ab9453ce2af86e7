/* hisgate JSON: pool-bound jansson helpers, path getters, small builders and a declarative validator.
 *
 * Lifetime (the mod_md idea, design/anchors.md §1): a json_t handed to hg_json_own(p, j) is decref'd
 * when p is cleared or destroyed, so request code never calls json_decref.  hg_json_parse and
 * hg_json_object return pool-owned values.  Values stored inside an owned object live as long as it
 * does; to keep one longer, json_incref it and hand it to hg_json_own on the longer-lived pool.
 * Jansson reference counting is atomic (2.14), but an object is not safe to MODIFY from two threads.
 *
 * No httpd header here (core file). */
#ifndef HG_JSON_H
#define HG_JSON_H
#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>
#include "hg_status.h"
#include "hg_err.h"

#if defined(__GNUC__)
#define HG_SENTINEL __attribute__((sentinel))
#else
#define HG_SENTINEL
#endif

/* ---- lifetime, parse, dump ---- */

/* Decref j when p is cleaned up; returns j (NULL stays NULL, nothing registered). */
json_t *hg_json_own(apr_pool_t *p, json_t *j);
/* Where jansson takes its memory.  hg_json_arena_init() installs hisgate's allocator for the whole
 * process (jansson has one): mod_hisgate does it first thing in each child, never in httpd's
 * parent, which unloads and loads modules on a restart and must not call into an unloaded one
 * through jansson.  Then hg_json_arena(p) makes the JSON values this thread makes from now on take
 * their memory from p (NULL: the heap again; returns the pool before): freeing them costs nothing,
 * and p frees them all at once.  None may outlive p, or be put into a value that does.
 * common/ is linked into every module, each with its own copy of this state: only mod_hisgate's
 * counts, so a module switches through its call (HG_R_ARENA, hg_call_json_heap in hg_glue.h). */
void hg_json_arena_init(void);
apr_pool_t *hg_json_arena(apr_pool_t *p);
/* what json_dumps returns goes back to jansson's allocator, never to free() */
void hg_json_free_text(char *s);
/* A new empty object owned by p (NULL only when out of memory). */
json_t *hg_json_object(apr_pool_t *p);

#define HG_JSON_PARSE_ANY    0x1   /* accept any top-level value, not only an object */

/* Parse len bytes of UTF-8 JSON into *pj (owned by p).  A leading UTF-8 BOM is skipped (RFC 8259 §8.1
 * allows it; some Windows HIS clients send one).  Duplicate keys are rejected (a signed body with
 * two "totalAmt" keys must not mean different things to different readers), and so are \u0000 in
 * strings and invalid UTF-8.  On failure *pj is NULL, *err (if err) is HG_JSON_MALFORMED with jansson's
 * reason, line and column, or HG_JSON_NOT_OBJECT, and HG_EINVALID is returned.  Size limits are the
 * caller's business. */
apr_status_t hg_json_parse(json_t **pj, apr_pool_t *p, const char *buf, apr_size_t len,
                           unsigned flags, hg_error_t **err);

#define HG_JSON_DUMP_SORTED  0x1   /* keys sorted (stable output for signing, tests, diffs) */
#define HG_JSON_DUMP_REAL17  0x2   /* reals with 17 significant digits (exact round trip, but 0.1
                                      prints as 0.10000000000000001) instead of the default 15 */

/* Compact UTF-8 text of any value (no ensure_ascii), in p; NULL when j is NULL or on failure.
 * Reals are printed with 15 significant digits by default, so 36.5 and 0.1 come out as written. */
char *hg_json_dump(apr_pool_t *p, const json_t *j, unsigned flags);
/* the same text by jansson's json_dumps (slower: a loop check per container); for tests */
char *hg_json_dump_jansson(apr_pool_t *p, const json_t *j, unsigned flags);

/* ---- path getters: keys are a NULL-terminated list, every step must be an object ---- */

/* The value at j.k1.k2…, or NULL when any step is missing or not an object. */
json_t *hg_json_get(json_t *j, ...) HG_SENTINEL;
/* The string at the path, or NULL when missing or not a string. */
const char *hg_json_gets(json_t *j, ...) HG_SENTINEL;
/* the string at key of object o when given and not empty ("" and absent both mean "not given",
 * as the validator treats them), else NULL */
const char *hg_json_opt(json_t *o, const char *key);
/* The integer at the path: APR_NOTFOUND when missing or null, HG_EINVALID when not a JSON integer. */
apr_status_t hg_json_geti(json_t *j, apr_int64_t *out, ...) HG_SENTINEL;
/* An amount in fen at the path: a string ("12.30", "-1.5", "7") or a number (12.3, 7); APR_NOTFOUND
 * when missing or null, HG_EINVALID / HG_EOVERFLOW otherwise.  Lenient on purpose: validate first. */
apr_status_t hg_json_getm(json_t *j, apr_int64_t *fen, ...) HG_SENTINEL;

/* ---- builders: APR_SUCCESS, HG_EINVALID (obj not an object, NULL key, invalid UTF-8), APR_ENOMEM ---- */

apr_status_t hg_json_sets(json_t *obj, const char *key, const char *s);   /* s NULL -> null */
apr_status_t hg_json_seti(json_t *obj, const char *key, apr_int64_t v);
apr_status_t hg_json_setb(json_t *obj, const char *key, int v);
apr_status_t hg_json_setm(json_t *obj, const char *key, apr_int64_t fen); /* as the string "12.34" */
/* obj[key] = v, taking over the caller's reference to v (like json_object_set_new; v NULL -> null). */
apr_status_t hg_json_set_new(json_t *obj, const char *key, json_t *v);

/* ---- dates ---- */

/* Beijing time (UTC+8, no daylight saving since 1991): what the platforms' times and the hospital's
 * staff mean by a time, whatever the server's TZ or PostgreSQL's TimeZone (a cloud VM on UTC dated
 * bills 8 hours early).  HG_TIME_ZONE for SQL (… AT TIME ZONE), hg_time_exp_cn for C. */
#define HG_TIME_ZONE     "Asia/Shanghai"
#define HG_TIME_OFFSET_S (8 * 3600)
static inline apr_status_t hg_time_exp_cn(apr_time_exp_t *t, apr_time_t when)
{
    return apr_time_exp_tz(t, when, HG_TIME_OFFSET_S);
}

/* Formats used by the specs.  A format is a pattern of the tokens yyyy MM dd HH mm ss SSS (each exactly
 * that many ASCII digits) and literal characters, so others can be written too. */
#define HG_DATE_TS17      "yyyyMMddHHmmssSSS"
#define HG_DATE_TS14      "yyyyMMddHHmmss"
#define HG_DATE_DATE      "yyyy-MM-dd"
#define HG_DATE_DATETIME  "yyyy-MM-dd HH:mm:ss"
#define HG_DATE_DATE8     "yyyyMMdd"

/* Check len bytes of s against fmt with real calendar rules (year 0001-9999, month 1-12, day within the
 * month incl. leap years, hour 0-23, minute and second 0-59; no leap seconds).  When out is not NULL,
 * its tm_year/mon/mday/hour/min/sec/usec are filled (tm_gmtoff 0, tm_wday/tm_yday computed).
 * HG_EINVALID on any mismatch; *why (if why) gets a short static English reason. */
apr_status_t hg_date_parse(apr_time_exp_t *out, const char *s, apr_size_t len, const char *fmt,
                           const char **why);

/* ---- declarative validator ---- */

typedef enum {
    HG_JT_NONE = 0,     /* invalid: catches an entry whose .type was forgotten */
    HG_JT_ANY,          /* any non-null value, only presence is checked */
    HG_JT_STRING,       /* min_len/max_len (code points), enum_values, pattern */
    HG_JT_INTEGER,      /* a JSON integer (12.0 is not one); min/max; enum_values (decimal text) */
    HG_JT_NUMBER,       /* integer or real; min/max */
    HG_JT_BOOLEAN,      /* true/false */
    HG_JT_OBJECT,       /* fields (NULL = any object) */
    HG_JT_ARRAY,        /* fields: array of objects; items: array of scalars; min_items/max_items */
    HG_JT_MONEY,        /* string with exactly two decimals "12.30", or a number with at most two
                           decimals (12, 12.3); negative only with HG_F_NEGATIVE; min/max in yuan */
    HG_JT_DATE          /* string in date_format (required), see hg_date_parse */
} hg_jtype_t;

#define HG_F_REQUIRED  0x01  /* must be present; null, "" and [] count as missing */
#define HG_F_NULLABLE  0x02  /* null is accepted (also with REQUIRED: the key must be there) */
#define HG_F_CLOSED    0x04  /* on an object/array-of-objects entry, or on a table's end marker:
                                keys not in the table -> HG_FIELD_UNKNOWN */
#define HG_F_NEGATIVE  0x08  /* money may be negative */
#define HG_F_MIN       0x10  /* check .min (inclusive) */
#define HG_F_MAX       0x20  /* check .max (inclusive) */

/* One entry of a schema table; write tables as static const arrays with designated initialisers and end
 * them with HG_FIELDS_END (or HG_FIELDS_END_CLOSED to reject unknown keys in that object):
 *
 *   static const char *const BUS_TYPES[] = { "02", "06", "07", NULL };
 *   static const hg_field_t CHARGE[] = {
 *       { .name = "chargeCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
 *       { .name = "amt",        .type = HG_JT_MONEY,  .flags = HG_F_REQUIRED },
 *       HG_FIELDS_END };
 *   static const hg_field_t ISSUE[] = {
 *       { .name = "busType", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .enum_values = BUS_TYPES },
 *       { .name = "busDateTime", .type = HG_JT_DATE, .flags = HG_F_REQUIRED, .date_format = HG_DATE_TS17 },
 *       { .name = "chargeDetail", .type = HG_JT_ARRAY, .flags = HG_F_REQUIRED, .fields = CHARGE,
 *         .max_items = 500 },
 *       HG_FIELDS_END_CLOSED };
 *
 * Empty strings: for a string, date or money-as-string MEMBER an empty string "" counts as missing:
 * HG_FIELD_REQUIRED when the entry is REQUIRED, otherwise accepted without further checks (HIS clients
 * send "" for "not given").  An empty array counts as missing for a REQUIRED array.  Null on a
 * non-NULLABLE entry is HG_FIELD_REQUIRED when REQUIRED and HG_FIELD_TYPE otherwise.
 * Array items of scalars (.items) are checked with the entry's own constraints (min_len, max_len,
 * pattern, enum_values, date_format, min, max); null items and "" items get no special treatment.
 * Patterns are POSIX extended regular expressions matched against the WHOLE value (we wrap them in
 * ^( )$, so no back-references); matching is byte-wise (C locale), keep patterns ASCII.  Compiled
 * patterns are cached per process (keyed by text, at most 256; more are compiled per call). */
typedef struct hg_field_t {
    const char *name;                  /* key; NULL ends the table */
    hg_jtype_t type;
    unsigned flags;                    /* HG_F_* */
    apr_size_t min_len, max_len;       /* string: code points; max_len 0 = no limit */
    const char *pattern;               /* string */
    const char *const *enum_values;    /* string/integer: NULL-terminated list */
    const char *date_format;           /* date: HG_DATE_* */
    const struct hg_field_t *fields;   /* object / array of objects: the member table */
    hg_jtype_t items;                  /* array of scalars: item type */
    apr_size_t min_items, max_items;   /* array; max_items 0 = no limit */
    double min, max;                   /* integer/number/money (yuan), with HG_F_MIN/HG_F_MAX */
} hg_field_t;

#define HG_FIELDS_END         { .name = NULL }
#define HG_FIELDS_END_CLOSED  { .name = NULL, .flags = HG_F_CLOSED }

/* Validate obj (must be an object) against schema.  APR_SUCCESS, or HG_EINVALID with *err describing the
 * FIRST bad field in schema order (arrays in index order, unknown keys of an object after its known
 * fields): err->field is its path (payer, chargeDetail[2].amt), err->message says what was expected and
 * what was found (values echoed up to 64 characters).  A broken schema (bad regex, missing type or
 * date_format) gives APR_EINVAL with an HG_INTERNAL error.  obj is never modified.  err may be NULL. */
apr_status_t hg_json_validate(apr_pool_t *p, json_t *obj, const hg_field_t *schema, hg_error_t **err);

#endif
