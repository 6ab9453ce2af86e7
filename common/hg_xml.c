/* hg_xml — escaping writer and JSON bridge for the work-injury platform.  Rules in hg_xml.h. */
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_xml.h>

#include "hg_status.h"
#include "hg_xml.h"

#define ERRKEY "hg_xml.errmsg"

static const char DECL[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

struct hg_xml_writer_t {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap;
    apr_array_header_t *open;       /* names of the open elements */
    apr_status_t rv;                /* sticky first error */
    const char *err;
    int replaced;
};

/* ------------------------------------------------------------------ writer */

static apr_status_t w_fail(hg_xml_writer_t *w, const char *msg)
{
    if (w->rv == APR_SUCCESS) {
        w->rv = HG_EINVALID;
        w->err = msg;
    }
    return w->rv;
}

static void put(hg_xml_writer_t *w, const char *s, apr_size_t n)
{
    if (w->len + n + 1 > w->cap) {
        apr_size_t cap = w->cap * 2;
        char *nb;
        while (cap < w->len + n + 1)
            cap *= 2;
        nb = apr_palloc(w->p, cap);
        memcpy(nb, w->buf, w->len);
        w->buf = nb;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static int name_ok(const char *n)
{
    const char *c;
    if (!n || !((*n >= 'A' && *n <= 'Z') || (*n >= 'a' && *n <= 'z') || *n == '_'))
        return 0;
    for (c = n + 1; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')
              || *c == '_' || *c == '.' || *c == '-'))
            return 0;
    return 1;
}

/* length of the UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates, <= U+10FFFF),
 * 0 when invalid */
static apr_size_t utf8_len(const unsigned char *s, apr_size_t n)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    apr_size_t need, i;

    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    }
    else return 0;
    if (n < need || s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < need; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return need;
}

/* validate + escape in one pass; nothing is written when the text is not UTF-8 */
static apr_status_t put_text(hg_xml_writer_t *w, const char *text, apr_size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    apr_size_t i, run = 0, k;
    int replaced = 0;

    for (i = 0; i < n; ) {
        const char *rep = NULL;
        unsigned char c = s[i];
        if (c < 0x80) {
            switch (c) {
            case '&':  rep = "&amp;"; break;
            case '<':  rep = "&lt;"; break;
            case '>':  rep = "&gt;"; break;
            case '"':  rep = "&quot;"; break;
            case '\'': rep = "&apos;"; break;
            case '\r': rep = "&#13;"; break;    /* a literal CR would be folded into LF */
            case '\t': case '\n': break;
            default:
                if (c < 0x20) { rep = " "; replaced++; }
            }
            k = 1;
        }
        else {
            k = utf8_len(s + i, n - i);
            if (k == 0) {
                return w_fail(w, apr_psprintf(w->p, "text is not valid UTF-8 (byte %"
                                              APR_SIZE_T_FMT ")", i));
            }
            if (k == 3 && c == 0xEF && s[i + 1] == 0xBF && (s[i + 2] == 0xBE || s[i + 2] == 0xBF)) {
                rep = " ";                      /* U+FFFE / U+FFFF: not XML characters */
                replaced++;
            }
        }
        if (rep) {
            if (run)
                put(w, text + i - run, run);
            put(w, rep, strlen(rep));
            run = 0;
        }
        else {
            run += k;
        }
        i += k;
    }
    if (run)
        put(w, text + n - run, run);
    w->replaced += replaced;
    return APR_SUCCESS;
}

apr_status_t hg_xml_w_create(hg_xml_writer_t **pw, apr_pool_t *p)
{
    hg_xml_writer_t *w = apr_pcalloc(p, sizeof(*w));
    w->p = p;
    w->cap = 1024;
    w->buf = apr_palloc(p, w->cap);
    w->open = apr_array_make(p, 8, sizeof(const char *));
    put(w, DECL, sizeof(DECL) - 1);
    *pw = w;
    return APR_SUCCESS;
}

apr_status_t hg_xml_w_open(hg_xml_writer_t *w, const char *name)
{
    if (w->rv)
        return w->rv;
    if (!name_ok(name))
        return w_fail(w, apr_psprintf(w->p, "'%s' is not an element name", name ? name : "(null)"));
    put(w, "<", 1);
    put(w, name, strlen(name));
    put(w, ">", 1);
    APR_ARRAY_PUSH(w->open, const char *) = apr_pstrdup(w->p, name);
    return APR_SUCCESS;
}

apr_status_t hg_xml_w_close(hg_xml_writer_t *w)
{
    const char **name;
    if (w->rv)
        return w->rv;
    if (!(name = apr_array_pop(w->open)))
        return w_fail(w, "close without an open element");
    put(w, "</", 2);
    put(w, *name, strlen(*name));
    put(w, ">", 1);
    return APR_SUCCESS;
}

apr_status_t hg_xml_w_elemn(hg_xml_writer_t *w, const char *name, const char *text, apr_size_t len)
{
    apr_size_t mark = w->len;
    apr_status_t rv;

    if (w->rv)
        return w->rv;
    if (!name_ok(name))
        return w_fail(w, apr_psprintf(w->p, "'%s' is not an element name", name ? name : "(null)"));
    put(w, "<", 1);
    put(w, name, strlen(name));
    put(w, ">", 1);
    if (text && (rv = put_text(w, text, len)) != APR_SUCCESS) {
        w->len = mark;                      /* no half element in the buffer */
        w->buf[mark] = '\0';
        w->err = apr_psprintf(w->p, "<%s>: %s", name, w->err);
        return rv;
    }
    put(w, "</", 2);
    put(w, name, strlen(name));
    put(w, ">", 1);
    return APR_SUCCESS;
}

apr_status_t hg_xml_w_elem(hg_xml_writer_t *w, const char *name, const char *text)
{
    return hg_xml_w_elemn(w, name, text, text ? strlen(text) : 0);
}

const char *hg_xml_w_result(hg_xml_writer_t *w)
{
    if (w->rv)
        return NULL;
    if (w->open->nelts) {
        w_fail(w, apr_psprintf(w->p, "element <%s> still open",
                               APR_ARRAY_IDX(w->open, w->open->nelts - 1, const char *)));
        return NULL;
    }
    return w->buf;
}

apr_status_t hg_xml_w_status(const hg_xml_writer_t *w) { return w->rv; }
const char *hg_xml_w_error(const hg_xml_writer_t *w)   { return w->err; }
int hg_xml_w_replaced(const hg_xml_writer_t *w)        { return w->replaced; }

/* ------------------------------------------------------------------ errors on the pool */

static apr_status_t fail(apr_pool_t *p, const char *fmt, ...)
{
    va_list ap;
    char *msg;
    va_start(ap, fmt);
    msg = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    apr_pool_userdata_setn(msg, ERRKEY, NULL, p);
    return HG_EINVALID;
}

const char *hg_xml_errmsg(apr_pool_t *p)
{
    void *v = NULL;
    apr_pool_userdata_get(&v, ERRKEY, p);
    return v;
}

/* ------------------------------------------------------------------ JSON -> XML */

static apr_status_t put_fields(hg_xml_writer_t *w, apr_pool_t *p, json_t *obj,
                               const char *path, int depth);

static const char *sub(apr_pool_t *p, const char *path, const char *key)
{
    return path ? apr_pstrcat(p, path, ".", key, NULL) : key;
}

static apr_status_t put_value(hg_xml_writer_t *w, apr_pool_t *p, const char *key, json_t *v,
                              const char *where, int depth)
{
    size_t i;
    json_t *item;

    switch (json_typeof(v)) {
    case JSON_STRING:
        if (hg_xml_w_elemn(w, key, json_string_value(v), json_string_length(v)))
            return fail(p, "field %s: %s", where, hg_xml_w_error(w));
        return APR_SUCCESS;
    case JSON_INTEGER:
        /* APR's formatter has no %lld: go through apr_int64_t */
        hg_xml_w_elem(w, key, apr_psprintf(p, "%" APR_INT64_T_FMT,
                                           (apr_int64_t)json_integer_value(v)));
        return APR_SUCCESS;
    case JSON_NULL:
        hg_xml_w_elem(w, key, NULL);
        return APR_SUCCESS;
    case JSON_OBJECT:
        if (depth >= HG_XML_MAX_DEPTH)
            return fail(p, "field %s: nested deeper than %d", where, HG_XML_MAX_DEPTH);
        hg_xml_w_open(w, key);
        if (put_fields(w, p, v, where, depth + 1))
            return HG_EINVALID;
        hg_xml_w_close(w);
        return APR_SUCCESS;
    case JSON_ARRAY:
        if (depth + 1 >= HG_XML_MAX_DEPTH)
            return fail(p, "field %s: nested deeper than %d", where, HG_XML_MAX_DEPTH);
        hg_xml_w_open(w, key);
        json_array_foreach(v, i, item) {
            const char *rw = apr_psprintf(p, "%s[%" APR_SIZE_T_FMT "]", where, (apr_size_t)i);
            if (!json_is_object(item))
                return fail(p, "field %s: dataset rows must be objects", rw);
            hg_xml_w_open(w, "row");
            if (put_fields(w, p, item, rw, depth + 2))
                return HG_EINVALID;
            hg_xml_w_close(w);
        }
        hg_xml_w_close(w);
        return APR_SUCCESS;
    case JSON_REAL:
        return fail(p, "field %s: a real number (send amounts as decimal strings)", where);
    default:
        return fail(p, "field %s: a boolean (send flags as \"0\"/\"1\")", where);
    }
}

static apr_status_t put_fields(hg_xml_writer_t *w, apr_pool_t *p, json_t *obj,
                               const char *path, int depth)
{
    const char *key;
    json_t *v;
    apr_status_t rv;

    json_object_foreach(obj, key, v) {
        const char *where = sub(p, path, key);
        if (!name_ok(key))
            return fail(p, "field %s: the name is not an XML element name", where);
        if (strcmp(key, "row") == 0)
            return fail(p, "field %s: \"row\" is reserved for dataset rows", where);
        if ((rv = put_value(w, p, key, v, where, depth)) != APR_SUCCESS)
            return rv;
    }
    return APR_SUCCESS;
}

apr_status_t hg_xml_from_json(const char **xml, apr_pool_t *p, const char *root_name, json_t *obj)
{
    hg_xml_writer_t *w;
    apr_status_t rv;

    *xml = NULL;
    apr_pool_userdata_setn(NULL, ERRKEY, NULL, p);
    if (!root_name)
        root_name = "program";
    if (!json_is_object(obj))
        return fail(p, "the JSON value is not an object");
    if (!name_ok(root_name))
        return fail(p, "'%s' is not an element name", root_name);
    hg_xml_w_create(&w, p);
    hg_xml_w_open(w, root_name);
    if ((rv = put_fields(w, p, obj, NULL, 1)) != APR_SUCCESS)
        return rv;
    hg_xml_w_close(w);
    if (!(*xml = hg_xml_w_result(w)))
        return fail(p, "%s", hg_xml_w_error(w));
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ XML -> JSON */

static int blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

static int text_blank(const apr_text_header *h)
{
    const apr_text *t;
    for (t = h->first; t; t = t->next)
        if (!blank(t->text))
            return 0;
    return 1;
}

static char *text_of(apr_pool_t *p, const apr_text_header *h, apr_size_t *len)
{
    const apr_text *t;
    apr_size_t n = 0;
    char *s, *o;
    for (t = h->first; t; t = t->next)
        n += strlen(t->text);
    o = s = apr_palloc(p, n + 1);
    for (t = h->first; t; t = t->next) {
        apr_size_t l = strlen(t->text);
        memcpy(o, t->text, l);
        o += l;
    }
    *o = '\0';
    *len = n;
    return s;
}

/* text between child elements may only be layout whitespace */
static int mixed(const apr_xml_elem *e)
{
    const apr_xml_elem *c;
    if (!text_blank(&e->first_cdata))
        return 1;
    for (c = e->first_child; c; c = c->next)
        if (!text_blank(&c->following_cdata))
            return 1;
    return 0;
}

static apr_status_t get_fields(json_t **out, apr_pool_t *p, apr_pool_t *tp,
                               const apr_xml_elem *e, const char *path, int depth);

static apr_status_t get_value(json_t **out, apr_pool_t *p, apr_pool_t *tp,
                              const apr_xml_elem *e, const char *where, int depth)
{
    const apr_xml_elem *c;
    int rows = 0, others = 0;
    apr_status_t rv;

    *out = NULL;
    if (depth > HG_XML_MAX_DEPTH)
        return fail(p, "%s: nested deeper than %d", where, HG_XML_MAX_DEPTH);
    if (!e->first_child) {
        apr_size_t len;
        const char *s = text_of(tp, &e->first_cdata, &len);
        if (!(*out = json_stringn(s, len)))
            return fail(p, "%s: text is not valid UTF-8", where);
        return APR_SUCCESS;
    }
    if (mixed(e))
        return fail(p, "%s: text mixed with elements", where);
    for (c = e->first_child; c; c = c->next) {
        if (strcmp(c->name, "row") == 0)
            rows++;
        else
            others++;
    }
    if (!rows)
        return get_fields(out, p, tp, e, where, depth);
    if (others)
        return fail(p, "%s: <row> next to other elements", where);

    *out = json_array();
    for (c = e->first_child, rows = 0; c; c = c->next, rows++) {
        const char *rw = apr_psprintf(tp, "%s[%d]", where, rows);
        json_t *row;
        if (!c->first_child) {
            if (!text_blank(&c->first_cdata))
                return fail(p, "%s: a row with text but no fields", rw);
            row = json_object();
        }
        else if (depth + 1 > HG_XML_MAX_DEPTH) {
            return fail(p, "%s: nested deeper than %d", rw, HG_XML_MAX_DEPTH);
        }
        else if ((rv = get_fields(&row, p, tp, c, rw, depth + 1)) != APR_SUCCESS) {
            json_decref(row);
            return rv;
        }
        json_array_append_new(*out, row);
    }
    return APR_SUCCESS;
}

static apr_status_t get_fields(json_t **out, apr_pool_t *p, apr_pool_t *tp,
                               const apr_xml_elem *e, const char *path, int depth)
{
    const apr_xml_elem *c;
    apr_status_t rv;

    *out = json_object();
    if (mixed(e))
        return fail(p, "%s: text mixed with elements", path);
    for (c = e->first_child; c; c = c->next) {
        const char *where = apr_pstrcat(tp, path, ".", c->name, NULL);
        json_t *v;
        if (json_object_get(*out, c->name))
            return fail(p, "%s: element repeated (only <row> may repeat)", where);
        if ((rv = get_value(&v, p, tp, c, where, depth + 1)) != APR_SUCCESS) {
            json_decref(v);
            return rv;
        }
        json_object_set_new(*out, c->name, v);
    }
    return APR_SUCCESS;
}

static apr_status_t json_cleanup(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

apr_status_t hg_xml_to_json(json_t **obj, apr_pool_t *p, const char *xml, apr_size_t len)
{
    apr_pool_t *tp = NULL;
    apr_xml_parser *xp;
    apr_xml_doc *doc = NULL;
    json_t *out = NULL;
    apr_status_t rv;
    char errbuf[200];

    *obj = NULL;
    apr_pool_userdata_setn(NULL, ERRKEY, NULL, p);
    if (!xml || !len)
        return fail(p, "empty XML document");
    if (len > INT_MAX)
        return fail(p, "XML document too large");
    if ((rv = apr_pool_create(&tp, p)) != APR_SUCCESS)
        return rv;
    /* parse into a throw-away pool: the apr_xml tree is only a stepping stone */
    xp = apr_xml_parser_create(tp);
    if (apr_xml_parser_feed(xp, xml, len) != APR_SUCCESS
        || apr_xml_parser_done(xp, &doc) != APR_SUCCESS || !doc || !doc->root) {
        rv = fail(p, "XML parse error: %s", apr_xml_parser_geterror(xp, errbuf, sizeof(errbuf)));
        goto leave;
    }
    if (!doc->root->first_child && !text_blank(&doc->root->first_cdata)) {
        rv = fail(p, "%s: text but no fields", doc->root->name);
        goto leave;
    }
    if ((rv = get_fields(&out, p, tp, doc->root, doc->root->name, 0)) != APR_SUCCESS)
        goto leave;
    apr_pool_cleanup_register(p, out, json_cleanup, apr_pool_cleanup_null);
    *obj = out;
    out = NULL;

leave:
    json_decref(out);
    apr_pool_destroy(tp);
    return rv;
}
