/* hisgate error table and error envelope (see hg_err.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>
#include "hg_err.h"
#include "hg_json.h"

#define HG_ERR_DEFINE_(code, status, msg) const char code[] = #code;
HG_ERR_LIST(HG_ERR_DEFINE_)
#undef HG_ERR_DEFINE_

#define HG_ERR_ROW_(code, status, msg) { code, status, msg },
static const hg_errdef_t hg_err_defs[] = { HG_ERR_LIST(HG_ERR_ROW_) };
#undef HG_ERR_ROW_
#define HG_ERR_COUNT (sizeof(hg_err_defs) / sizeof(hg_err_defs[0]))

const hg_errdef_t *hg_err_table(apr_size_t *n)
{
    if (n) *n = HG_ERR_COUNT;
    return hg_err_defs;
}

/* A linear scan: about 40 short strings, called once per failed request. */
const hg_errdef_t *hg_err_lookup(const char *code)
{
    apr_size_t i;
    if (!code) return NULL;
    for (i = 0; i < HG_ERR_COUNT; i++)
        if (strcmp(hg_err_defs[i].code, code) == 0) return &hg_err_defs[i];
    return NULL;
}

/* Length of the well-formed UTF-8 sequence at s (n bytes left), 0 when it is not one. */
static apr_size_t utf8_seq(const unsigned char *s, apr_size_t n)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;                     /* stray continuation or overlong 2-byte lead */
    if (c < 0xE0) return (n >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c < 0xF0) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
        if (c == 0xED && s[1] >= 0xA0) return 0; /* UTF-16 surrogates */
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0; /* overlong */
        if (c == 0xF4 && s[1] >= 0x90) return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

apr_status_t hg_utf8_count(apr_size_t *ncp, const char *s, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i = 0, n = 0, k;
    while (i < len) {
        if (!(k = utf8_seq(u + i, len - i))) return HG_EINVALID;
        i += k;
        n++;
    }
    if (ncp) *ncp = n;
    return APR_SUCCESS;
}

const char *hg_utf8_repair(apr_pool_t *p, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t len, i = 0, k, o = 0;
    char *out;
    if (!s) return NULL;
    len = strlen(s);
    if (hg_utf8_count(NULL, s, len) == APR_SUCCESS) return s;
    out = apr_palloc(p, len * 3 + 1);           /* worst case: every byte becomes U+FFFD */
    while (i < len) {
        if ((k = utf8_seq(u + i, len - i))) {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        }
        else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

/* libc vsnprintf rather than apr_pvsprintf so the format attribute's checks are exact. */
static char *vformat(apr_pool_t *p, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    char *buf;
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return apr_pstrdup(p, fmt);
    buf = apr_palloc(p, (apr_size_t)n + 1);
    vsnprintf(buf, (apr_size_t)n + 1, fmt, ap);
    return buf;
}

hg_error_t *hg_error_make(apr_pool_t *p, const char *code, const char *field, const char *fmt, ...)
{
    hg_error_t *e = apr_pcalloc(p, sizeof(*e));
    const hg_errdef_t *def = hg_err_lookup(code);
    const char *text = NULL;

    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        text = vformat(p, fmt, ap);
        va_end(ap);
    }
    if (def) {
        e->code = def->code;
        e->status = def->status;
        e->message = hg_utf8_repair(p, text ? text : def->message);
    }
    else {
        /* a programming error: still answer something well-formed, and keep the evidence */
        e->code = HG_INTERNAL;
        e->status = 500;
        e->message = hg_utf8_repair(p, apr_psprintf(p, "unknown error code '%s'%s%s",
                                                    code ? code : "(null)", text ? ": " : "",
                                                    text ? text : ""));
    }
    e->field = field ? hg_utf8_repair(p, field) : NULL;
    return e;
}

static int set_str(json_t *o, const char *key, apr_pool_t *p, const char *val)
{
    return json_object_set_new(o, key, json_string(hg_utf8_repair(p, val)));
}

char *hg_error_json(apr_pool_t *p, const hg_error_t *e, const char *request_id)
{
    static const char fallback[] = "{\"code\":\"HG_INTERNAL\",\"message\":\"internal error\"}";
    json_t *o;
    char *s, *out;
    int rc = 0;

    if (!e) return apr_pstrdup(p, fallback);
    if (!(o = json_object())) return apr_pstrdup(p, fallback);
    rc |= set_str(o, "code", p, e->code ? e->code : HG_INTERNAL);
    rc |= set_str(o, "message", p, e->message ? e->message : "");
    if (e->field) rc |= set_str(o, "field", p, e->field);
    if (request_id) rc |= set_str(o, "request_id", p, request_id);
    /* jansson keeps insertion order; no JSON_ENSURE_ASCII so Chinese stays UTF-8 */
    s = rc ? NULL : json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s) return apr_pstrdup(p, fallback);
    out = apr_pstrdup(p, s);
    hg_json_free_text(s);
    return out;
}
