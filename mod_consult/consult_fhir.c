/* consult_fhir: template JSON <-> FHIR R4 Questionnaire (see consult_fhir.h).  No httpd headers. */
#include <string.h>
#include <apr_strings.h>
#include <apr_hash.h>
#include "hg_json.h"
#include "consult_fhir.h"

#define X(name) CONSULT_FHIR_EXT name

/* ---------------------------------------------------------------- export */

static json_t *ext_list(json_t *o)
{
    json_t *a = json_object_get(o, "extension");
    if (!a) { a = json_array(); json_object_set_new(o, "extension", a); }
    return a;
}

static void ext_add(json_t *o, const char *url, const char *vkey, json_t *v)
{
    json_array_append_new(ext_list(o), json_pack("{s:s, s:o}", "url", url, vkey, v));
}

/* an answer/initial value as value[x] / answer[x] for an item of type ty */
static json_t *typed(apr_pool_t *p, const char *prefix, const char *ty, json_t *v)
{
    const char *k;
    if (!strcmp(ty, "choice") || !strcmp(ty, "multi"))
        return json_pack("{s:{s:O}}", apr_pstrcat(p, prefix, "Coding", NULL), "code", v);
    if (json_is_boolean(v)) k = "Boolean";
    else if (json_is_number(v)) k = "Decimal";
    else if (!strcmp(ty, "date")) k = "Date";
    else k = "String";
    return json_pack("{s:O}", apr_pstrcat(p, prefix, k, NULL), v);
}

static void index_types(apr_hash_t *h, json_t *items)
{
    size_t i;
    json_t *d;
    json_array_foreach(items, i, d) {
        const char *id = hg_json_gets(d, "linkId", NULL), *ty = hg_json_gets(d, "type", NULL);
        if (id && ty) apr_hash_set(h, id, APR_HASH_KEY_STRING, ty);
        index_types(h, json_object_get(d, "items"));
    }
}

static json_t *export_items(apr_pool_t *p, apr_hash_t *types, json_t *items)
{
    json_t *out = json_array(), *d;
    size_t i, k;
    static const char *const FHIR_TYPE[][2] = { { "choice", "choice" }, { "multi", "choice" }, { "text", "string" },
        { "number", "decimal" }, { "date", "date" }, { "boolean", "boolean" }, { "display", "display" },
        { "group", "group" }, { "calculated", "decimal" } };
    json_array_foreach(items, i, d) {
        const char *ty = hg_json_gets(d, "type", NULL), *s;
        json_t *f = json_object(), *j, *v;
        json_object_set(f, "linkId", json_object_get(d, "linkId"));
        if ((j = json_object_get(d, "prefix"))) json_object_set(f, "prefix", j);
        if ((j = json_object_get(d, "text"))) json_object_set(f, "text", j);
        for (k = 0; k < sizeof(FHIR_TYPE) / sizeof(FHIR_TYPE[0]); k++)
            if (!strcmp(FHIR_TYPE[k][0], ty)) json_object_set_new(f, "type", json_string(FHIR_TYPE[k][1]));
        if ((j = json_object_get(d, "code"))) {
            if (json_is_array(j)) json_object_set(f, "code", j);
            else ext_add(f, X("code"), "valueString", json_string(hg_json_dump(p, j, HG_JSON_DUMP_SORTED)));
        }
        if ((j = json_object_get(d, "enableWhen"))) {
            json_t *ew = json_array(), *c;
            json_array_foreach(j, k, c) {
                const char *op = hg_json_gets(c, "operator", NULL), *qt = apr_hash_get(types, hg_json_gets(c, "question", NULL), APR_HASH_KEY_STRING);
                json_t *e = json_pack("{s:O, s:O}", "question", json_object_get(c, "question"), "operator", json_object_get(c, "operator"));
                json_object_update(e, hg_json_own(p, typed(p, "answer", op && !strcmp(op, "exists") ? "boolean" : qt ? qt : "text",
                                                          json_object_get(c, "answer"))));
                json_array_append_new(ew, e);
            }
            json_object_set_new(f, "enableWhen", ew);
        }
        if ((j = json_object_get(d, "enableBehavior"))) json_object_set(f, "enableBehavior", j);
        if ((j = json_object_get(d, "required"))) json_object_set(f, "required", j);
        if (!strcmp(ty, "multi")) json_object_set_new(f, "repeats", json_true());
        else if ((j = json_object_get(d, "repeats"))) json_object_set(f, "repeats", j);
        if (!strcmp(ty, "calculated")) json_object_set_new(f, "readOnly", json_true());
        else if ((j = json_object_get(d, "readOnly"))) json_object_set(f, "readOnly", j);
        if ((j = json_object_get(d, "maxLength"))) json_object_set(f, "maxLength", j);
        if ((j = json_object_get(d, "options"))) {
            json_t *ao = json_array(), *o;
            json_array_foreach(j, k, o) {
                json_t *a = json_pack("{s:{s:O}}", "valueCoding", "code", json_object_get(o, "code"));
                if ((v = json_object_get(o, "display"))) json_object_set(json_object_get(a, "valueCoding"), "display", v);
                if ((v = json_object_get(o, "narrative"))) ext_add(a, X("narrative"), "valueString", json_incref(v));
                if ((v = json_object_get(o, "negative"))) ext_add(a, X("negative"), "valueBoolean", json_incref(v));
                json_array_append_new(ao, a);
            }
            json_object_set_new(f, "answerOption", ao);
        }
        if ((j = json_object_get(d, "initial"))) {
            json_t *in = json_array(), *x;
            if (json_is_array(j)) json_array_foreach(j, k, x) json_array_append_new(in, typed(p, "value", ty, x));
            else json_array_append_new(in, typed(p, "value", ty, j));
            json_object_set_new(f, "initial", in);
        }
        if ((j = json_object_get(d, "min")))
            ext_add(f, FHIR_SD "minValue", json_is_string(j) ? "valueDate" : "valueDecimal", json_incref(j));
        if ((j = json_object_get(d, "max")))
            ext_add(f, FHIR_SD "maxValue", json_is_string(j) ? "valueDate" : "valueDecimal", json_incref(j));
        if ((j = json_object_get(d, "minLength"))) ext_add(f, FHIR_SD "minLength", "valueInteger", json_incref(j));
        if ((s = hg_json_gets(d, "pattern", NULL))) ext_add(f, FHIR_SD "regex", "valueString", json_string(s));
        if ((s = hg_json_gets(d, "section", NULL))) ext_add(f, X("section"), "valueCode", json_string(s));
        if ((s = hg_json_gets(d, "narrative", NULL))) ext_add(f, X("narrative"), "valueString", json_string(s));
        if ((s = hg_json_gets(d, "negative", NULL))) ext_add(f, X("negative"), "valueString", json_string(s));
        if ((s = hg_json_gets(d, "enableIf", NULL))) ext_add(f, X("enableIf"), "valueString", json_string(s));
        if ((s = hg_json_gets(d, "calculate", NULL))) ext_add(f, X("calculate"), "valueString", json_string(s));
        if ((s = hg_json_gets(d, "durationUnit", NULL))) ext_add(f, X("durationUnit"), "valueCode", json_string(s));
        if ((j = json_object_get(d, "tags"))) json_array_foreach(j, k, v) ext_add(f, X("tag"), "valueCode", json_incref(v));
        if ((j = json_object_get(d, "terminal")))
            json_array_append_new(ext_list(f), json_pack("{s:s, s:[{s:s, s:O}, {s:s, s:O}]}", "url", X("terminal"), "extension",
                "url", "when", "valueString", json_object_get(j, "when"), "url", "advice", "valueString", json_object_get(j, "advice")));
        if ((j = json_object_get(d, "plausible"))) {
            json_t *subs = json_array();
            if ((v = json_object_get(j, "min"))) json_array_append_new(subs, json_pack("{s:s, s:O}", "url", "min", "valueDecimal", v));
            if ((v = json_object_get(j, "max"))) json_array_append_new(subs, json_pack("{s:s, s:O}", "url", "max", "valueDecimal", v));
            json_array_append_new(ext_list(f), json_pack("{s:s, s:o}", "url", X("plausible"), "extension", subs));
        }
        if ((j = json_object_get(d, "items"))) json_object_set_new(f, "item", export_items(p, types, j));
        json_array_append_new(out, f);
    }
    return out;
}

apr_status_t consult_fhir_export(json_t **q, apr_pool_t *p, json_t *def, const char *status)
{
    apr_hash_t *types = apr_hash_make(p);
    const char *id = hg_json_gets(def, "id", NULL);
    json_t *o, *j;
    index_types(types, json_object_get(def, "items"));
    o = hg_json_own(p, json_pack("{s:s, s:s?, s:s, s:s?, s:s}", "resourceType", "Questionnaire", "id", id,
                                 "url", apr_pstrcat(p, "https://hisgate.org/fhir/Questionnaire/", id ? id : "", NULL),
                                 "version", hg_json_gets(def, "version", NULL), "status", status ? status : "draft"));
    if (!o) return APR_ENOMEM;
    if ((j = json_object_get(def, "title"))) json_object_set(o, "title", j);
    if ((j = json_object_get(def, "quality")))
        ext_add(o, X("quality"), "valueString", json_string(hg_json_dump(p, j, HG_JSON_DUMP_SORTED)));
    json_object_set_new(o, "item", export_items(p, types, json_object_get(def, "items")));
    *q = o;
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------- import */

typedef struct {
    apr_pool_t *p;
    hg_error_t **err;
} imp_t;

static apr_status_t ifail(imp_t *im, const char *field, const char *msg)
{
    if (im->err) *im->err = hg_error_make(im->p, HG_CONSULT_TEMPLATE, field, "%s", msg);
    return HG_EINVALID;
}

/* the value of value[x]/answer[x] in o (prefix "value"/"answer"): Coding -> its code */
static json_t *untyped(apr_pool_t *p, json_t *o, const char *prefix)
{
    static const char *const KINDS[] = { "Coding", "Boolean", "Decimal", "Integer", "Date", "DateTime", "Time",
                                         "String", "Code", NULL };
    int k;
    for (k = 0; KINDS[k]; k++) {
        json_t *v = json_object_get(o, apr_pstrcat(p, prefix, KINDS[k], NULL));
        if (!v) continue;
        if (k == 0) return json_object_get(v, "code");
        return v;
    }
    return NULL;
}

static json_t *ext_get(json_t *o, const char *url)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(o, "extension"), i, e)
        if (!strcmp(hg_json_gets(e, "url", NULL) ? hg_json_gets(e, "url", NULL) : "", url)) return e;
    return NULL;
}

static json_t *ext_value(apr_pool_t *p, json_t *o, const char *url)
{
    json_t *e = ext_get(o, url);
    return e ? untyped(p, e, "value") : NULL;
}

static json_t *ext_sub(apr_pool_t *p, json_t *e, const char *url) { return e ? ext_value(p, e, url) : NULL; }

static apr_status_t import_items(imp_t *im, json_t *items, const char *path, json_t **out)
{
    apr_pool_t *p = im->p;
    json_t *arr = hg_json_own(p, json_array()), *f;
    size_t i, k;
    if (!json_is_array(items)) return ifail(im, path, "item must be an array");
    json_array_foreach(items, i, f) {
        const char *at = apr_psprintf(p, "%s[%lu]", path, (unsigned long)i), *ft = hg_json_gets(f, "type", NULL), *ty;
        json_t *d = json_object(), *j, *e, *v;
        int repeats = json_is_true(json_object_get(f, "repeats"));
        json_array_append_new(arr, d);
        if (!json_is_object(f)) return ifail(im, at, "an item must be an object");
        if (!ft) return ifail(im, apr_pstrcat(p, at, ".type", NULL), "type is missing");
        if (!strcmp(ft, "choice")) ty = repeats ? "multi" : "choice";
        else if (!strcmp(ft, "string") || !strcmp(ft, "text")) ty = "text";
        else if (!strcmp(ft, "decimal") || !strcmp(ft, "integer")) ty = ext_get(f, X("calculate")) ? "calculated" : "number";
        else if (!strcmp(ft, "date") || !strcmp(ft, "boolean") || !strcmp(ft, "display") || !strcmp(ft, "group")) ty = ft;
        else return ifail(im, apr_pstrcat(p, at, ".type", NULL), apr_psprintf(p, "item type '%s' is not supported", ft));
        if (json_object_get(f, "answerValueSet"))
            return ifail(im, apr_pstrcat(p, at, ".answerValueSet", NULL), "answerValueSet is not supported: give answerOption");
        json_object_set(d, "linkId", json_object_get(f, "linkId"));
        json_object_set_new(d, "type", json_string(ty));
        if ((j = json_object_get(f, "text"))) json_object_set(d, "text", j);
        if ((j = json_object_get(f, "prefix"))) json_object_set(d, "prefix", j);
        if ((j = json_object_get(f, "code"))) json_object_set(d, "code", j);
        if ((v = ext_value(p, f, X("code"))) && json_is_string(v)) json_object_set_new(d, "code", json_loads(json_string_value(v), 0, NULL));
        if ((j = json_object_get(f, "required"))) json_object_set(d, "required", j);
        if ((j = json_object_get(f, "repeats")) && strcmp(ty, "multi")) json_object_set(d, "repeats", j);
        if ((j = json_object_get(f, "readOnly")) && strcmp(ty, "calculated")) json_object_set(d, "readOnly", j);
        if ((j = json_object_get(f, "answerOption"))) {
            json_t *opts = json_array(), *a;
            json_object_set_new(d, "options", opts);
            json_array_foreach(j, k, a) {
                json_t *c = json_object_get(a, "valueCoding"), *o;
                if (!c) return ifail(im, apr_psprintf(p, "%s.answerOption[%lu]", at, (unsigned long)k), "only valueCoding options are supported");
                o = json_pack("{s:O}", "code", json_object_get(c, "code") ? json_object_get(c, "code") : json_null());
                if ((v = json_object_get(c, "display"))) json_object_set(o, "display", v);
                if ((v = ext_value(p, a, X("narrative")))) json_object_set(o, "narrative", v);
                if ((v = ext_value(p, a, X("negative")))) json_object_set(o, "negative", v);
                json_array_append_new(opts, o);
            }
        }
        if ((j = json_object_get(f, "initial"))) {
            json_t *vals = json_array(), *x;
            json_array_foreach(j, k, x) if ((v = untyped(p, x, "value"))) json_array_append(vals, v);
            if (!strcmp(ty, "multi") || json_is_true(json_object_get(d, "repeats"))) json_object_set_new(d, "initial", vals);
            else {
                if (json_array_size(vals)) json_object_set(d, "initial", json_array_get(vals, 0));
                json_decref(vals);
            }
        }
        if ((j = json_object_get(f, "enableWhen"))) {
            json_t *ew = json_array(), *c;
            json_object_set_new(d, "enableWhen", ew);
            json_array_foreach(j, k, c) {
                json_t *ans = untyped(p, c, "answer");
                json_array_append_new(ew, json_pack("{s:O, s:O, s:O}", "question",
                    json_object_get(c, "question") ? json_object_get(c, "question") : json_null(),
                    "operator", json_object_get(c, "operator") ? json_object_get(c, "operator") : json_null(),
                    "answer", ans ? ans : json_null()));
            }
        }
        if ((j = json_object_get(f, "enableBehavior"))) json_object_set(d, "enableBehavior", j);
        if ((v = ext_value(p, f, FHIR_SD "minValue"))) json_object_set(d, "min", v);
        if ((v = ext_value(p, f, FHIR_SD "maxValue"))) json_object_set(d, "max", v);
        if ((v = ext_value(p, f, FHIR_SD "minLength"))) json_object_set(d, "minLength", v);
        if ((j = json_object_get(f, "maxLength"))) json_object_set(d, "maxLength", j);
        if ((v = ext_value(p, f, FHIR_SD "regex"))) json_object_set(d, "pattern", v);
        if ((v = ext_value(p, f, X("section")))) json_object_set(d, "section", v);
        if ((v = ext_value(p, f, X("narrative")))) json_object_set(d, "narrative", v);
        if ((v = ext_value(p, f, X("negative")))) json_object_set(d, "negative", v);
        if ((v = ext_value(p, f, X("enableIf")))) json_object_set(d, "enableIf", v);
        if ((v = ext_value(p, f, X("calculate")))) json_object_set(d, "calculate", v);
        if ((v = ext_value(p, f, X("durationUnit")))) json_object_set(d, "durationUnit", v);
        {
            json_t *tags = json_array();
            json_array_foreach(json_object_get(f, "extension"), k, e)
                if (!strcmp(hg_json_gets(e, "url", NULL) ? hg_json_gets(e, "url", NULL) : "", X("tag")) && (v = untyped(p, e, "value")))
                    json_array_append(tags, v);
            if (json_array_size(tags)) json_object_set_new(d, "tags", tags);
            else json_decref(tags);
        }
        if ((e = ext_get(f, X("terminal"))))
            json_object_set_new(d, "terminal", json_pack("{s:O, s:O}", "when", ext_sub(p, e, "when") ? ext_sub(p, e, "when") : json_null(),
                                                         "advice", ext_sub(p, e, "advice") ? ext_sub(p, e, "advice") : json_null()));
        if ((e = ext_get(f, X("plausible")))) {
            json_t *pl = json_object();
            if ((v = ext_sub(p, e, "min"))) json_object_set(pl, "min", v);
            if ((v = ext_sub(p, e, "max"))) json_object_set(pl, "max", v);
            json_object_set_new(d, "plausible", pl);
        }
        if ((j = json_object_get(f, "item"))) {
            json_t *kids;
            if (import_items(im, j, apr_pstrcat(p, at, ".item", NULL), &kids) != APR_SUCCESS) return HG_EINVALID;
            json_object_set(d, "items", kids);
        }
    }
    *out = arr;
    return APR_SUCCESS;
}

apr_status_t consult_fhir_import(json_t **def, apr_pool_t *p, json_t *q, const char *id_override,
                                 const char *version, hg_error_t **err)
{
    imp_t im = { p, err };
    json_t *o, *items, *v;
    const char *id = id_override ? id_override : hg_json_gets(q, "id", NULL);
    *def = NULL;
    if (!json_is_object(q) || !hg_json_gets(q, "resourceType", NULL) || strcmp(hg_json_gets(q, "resourceType", NULL), "Questionnaire"))
        return ifail(&im, "resourceType", "a FHIR R4 Questionnaire is expected");
    if (!id || !*id) return ifail(&im, "id", "the Questionnaire has no id (or give templateId)");
    if (!json_object_get(q, "item")) return ifail(&im, "item", "the Questionnaire has no item");
    if (import_items(&im, json_object_get(q, "item"), "item", &items) != APR_SUCCESS) return HG_EINVALID;
    o = hg_json_own(p, json_pack("{s:s, s:s, s:O}", "id", id, "version", version ? version : "1", "items", items));
    if (!o) return APR_ENOMEM;
    if ((v = json_object_get(q, "title"))) json_object_set(o, "title", v);
    if ((v = ext_value(p, q, X("quality"))) && json_is_string(v)) {
        json_t *rules = json_loads(json_string_value(v), 0, NULL);
        if (!rules) return ifail(&im, "extension", "the quality extension is not JSON");
        json_object_set_new(o, "quality", rules);
    }
    *def = o;
    return APR_SUCCESS;
}
