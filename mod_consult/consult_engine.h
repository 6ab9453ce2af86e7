/* mod_consult questionnaire engine (预问诊): templates, FHIR enableWhen + expressions, validation,
 * navigation state, pruning, calculated items and the 五史一诉 summary.  Pure domain code: no httpd
 * header, no I/O; the server replays every call on the stored answers (it is the only authority).
 *
 * ---- Template JSON ----
 * {"id":"resp","version":"1","title":"呼吸道预问诊","items":[ITEM…]}
 * ITEM = {
 *   "linkId": "cough",            unique in the whole template (required, non-empty string)
 *   "type":   "choice|multi|text|number|date|boolean|display|group|calculated"   (required)
 *   "text":   "是否咳嗽？",
 *   "required": bool, "repeats": bool      repeats: text/number/date answers are arrays of values
 *   "options": [{"code":"none","display":"无","narrative":"否认药物、食物过敏史"}…]
 *                                          required for choice/multi; codes unique strings
 *   "initial": value                        checked like an answer at load; shown by next_items
 *   "min","max":  number (number items) or "yyyy-MM-dd" (date items), inclusive
 *   "minLength","maxLength": code points (text items)
 *   "pattern": POSIX ERE matched against the WHOLE text (byte-wise, keep it ASCII)
 *   "enableWhen": [{"question":"<linkId>","operator":"exists|=|!=|>|<|>=|<=","answer":scalar}…]
 *   "enableBehavior": "all|any"            (default all; required when enableWhen has 2+ entries)
 *   "enableIf": "<expression>"              ANDed with enableWhen
 *   "calculate": "<expression>"             calculated items only (required there)
 *   "terminal": {"when":"<expression>","advice":"建议立即急诊"}
 *   "section": "chief_complaint|present_illness|past_history|personal_history|allergy_history|family_history"
 *   "narrative": "咳嗽{cough_days}天"       {value} = this item's answer as text, {x} = item x's
 *   "negative":  "否认药物、食物过敏史"      used for boolean false, multi [] and text ""
 *   "items": [ITEM…]                        children (groups, or follow-ups of a question)
 *   "tags": ["pregnancy"|"menstrual"|"female"]   the item only applies to women (quality rule)
 *   "durationUnit": "day|week|month|year"   a number item that is a duration (quality rule vs age)
 *   "plausible": {"min","max"}              soft range of a number item: outside it is a warning
 * }
 * An option may carry "negative": true (it means "no": not an affirmative answer for the rules).
 * Template level: "quality": [{"id","when":"<expression>","message","severity":"warn|block","linkId"}]
 * (when true on the pruned answers, the message is a warning; linkId optional, must exist).
 * Answers: a JSON object linkId -> value: choice "code", multi ["code"…], text "s", number n,
 * date "yyyy-MM-dd", boolean true/false; repeats -> array.  JSON null = skipped (counts as answered
 * for navigation, as unanswered for logic); a missing key = not answered yet.
 *
 * ---- enableWhen (FHIR R4, exactly) ----
 * exists: (the question has an answer) == answer (a boolean).  "=": at least one answer equals.
 * "!=": NO answer equals, so an unanswered question satisfies "!=".  > < >= <=: at least one answer
 * compares (numbers numerically, dates/strings as text).  A disabled item counts as unanswered;
 * a disabled item disables all its descendants.
 *
 * ---- Expressions ----
 *   or/||  and/&&  not/!   = == != > < >= <=   a anyof [..]  a allof [..]  a noneof [..]
 *   a contains x  a notcontains x   a empty  a notempty  (also empty(a), notempty(a))   + - * /  unary -
 *   literals: 12 1.5 'text' "text" true false null [a, b, …]
 *   names: a bare linkId ([A-Za-z_][A-Za-z0-9_.]*, not a keyword) or {any-linkId};
 *          $sex $birthDate $today $age from the context
 *   functions: age(date) (whole years to $today), daysBetween(d1,d2) (d2-d1 in days), iif(c,a,b),
 *              today(), count(list), sum(a,…) (list arguments are flattened; nulls skipped)
 * A reference to a disabled item is null; = on a multi answer is "contains"; != is not(=);
 * comparisons with null are false; arithmetic with null or /0 gives null.  Truthy: true, non-zero
 * number, non-empty string or list.
 *
 * Load refuses (HG_CONSULT_TEMPLATE, field = item path like items[1].items[0].enableIf): bad shape,
 * unknown item keys (a misspelt "enableWhen" must not silently enable), duplicate linkId or option
 * code, unknown reference (enableWhen question, expression names, narrative placeholders), an
 * enableWhen "="/"!=" answer that is not an option code of a choice/multi question, expression syntax
 * errors or nesting deeper than 64 (or more than 256 levels of operators), bad regex (a pattern has
 * at most 16 nested groups, a size of 1000 with repetitions expanded, one repetition per atom and
 * no back-references), an
 * initial value that is not a valid answer, and
 * dependency cycles over parent, enableWhen, enableIf and calculate edges (field = the item where the
 * cycle starts, message "dependency cycle: a -> b -> a") or chains of them longer than 32 items (the
 * evaluation follows them recursively).  terminal.when adds no edge (it feeds no value).  Item keys: the list above plus "prefix", "code", "readOnly" (kept, not interpreted). */
#ifndef CONSULT_ENGINE_H
#define CONSULT_ENGINE_H
#include <apr_pools.h>
#include <jansson.h>
#include "hg_status.h"
#include "hg_err.h"

typedef struct consult_template_t consult_template_t;

/* Patient context; any field may be NULL (then $x is null, age() without today is null). */
typedef struct {
    const char *sex;          /* "M" / "F" */
    const char *birth_date;   /* yyyy-MM-dd */
    const char *today;        /* yyyy-MM-dd: the server's date, never the client's */
} consult_ctx_t;

typedef enum { CONSULT_IN_PROGRESS, CONSULT_REVIEW, CONSULT_STOPPED } consult_state_t;

/* Parse and check def (kept by reference; the template lives in p).  HG_EINVALID with *err. */
apr_status_t consult_template_load(consult_template_t **t, apr_pool_t *p, json_t *def, hg_error_t **err);

const char *consult_template_id(const consult_template_t *t);
const char *consult_template_version(const consult_template_t *t);

/* 1 when linkId is enabled under answers/ctx, 0 when disabled or unknown. */
int consult_enabled(const consult_template_t *t, json_t *answers, const consult_ctx_t *ctx,
                    const char *link_id, apr_pool_t *p);

/* The enabled, answerable (choice/multi/text/number/date/boolean) items whose key is absent from
 * answers, in template order: a pool-owned array of {"linkId","type","text","required","repeats",
 * "options":[{"code","display"}],"initial","min","max","minLength","maxLength"} (absent keys left out). */
apr_status_t consult_next_items(json_t **items, apr_pool_t *p, const consult_template_t *t,
                                json_t *answers, const consult_ctx_t *ctx);

/* Check one answer value for linkId: HG_FIELD_UNKNOWN (no such / not answerable item),
 * HG_FIELD_REQUIRED (null or empty for a required item), HG_FIELD_TYPE, HG_FIELD_ENUM (option code),
 * HG_FIELD_RANGE, HG_FIELD_DATE, HG_FIELD_TOO_LONG/TOO_SHORT, HG_FIELD_PATTERN; field = linkId.
 * Whether the item is currently enabled is the caller's question (consult_enabled). */
apr_status_t consult_validate_answer(apr_pool_t *p, const consult_template_t *t, const char *link_id,
                                     json_t *value, hg_error_t **err);

/* STOPPED when an enabled item's terminal fires (the first in template order; *advice gets its
 * text), else IN_PROGRESS while consult_next_items is not empty, else REVIEW.  advice may be NULL. */
consult_state_t consult_state(const consult_template_t *t, json_t *answers, const consult_ctx_t *ctx,
                              const char **advice, apr_pool_t *p);

/* A new pool-owned object with only the answers of enabled, answerable items of the template (hidden
 * answers, unknown keys and calculated items dropped).  Used at submit; Back keeps answers until then. */
apr_status_t consult_prune(json_t **pruned, apr_pool_t *p, const consult_template_t *t,
                           json_t *answers, const consult_ctx_t *ctx);

/* {linkId: value} for every calculated item (null when disabled or not computable), pool-owned. */
apr_status_t consult_calculate(json_t **values, apr_pool_t *p, const consult_template_t *t,
                               json_t *answers, const consult_ctx_t *ctx);

/* The six sections, always all present (empty string when nothing applies), pool-owned: fragments of
 * enabled items in template order joined with "，".  Fragment of an answered item: choice -> the
 * option's narrative, else the item narrative with {value} = option display; multi [] / boolean false /
 * text "" -> negative; multi -> item narrative with {value} = option narratives-or-displays joined
 * with "、" (no item narrative: the option narratives joined with "，"); boolean true and other types
 * -> narrative.  Skipped (null) and unanswered items say nothing. */
apr_status_t consult_summary(json_t **sections, apr_pool_t *p, const consult_template_t *t,
                             json_t *answers, const consult_ctx_t *ctx);

/* A FHIR R4 QuestionnaireResponse of the pruned answers: status ("in-progress", "completed" for
 * REVIEW, "stopped"), questionnaire "<id>|<version>", item tree by linkId (children of a question under
 * its answer), answers valueCoding{code,display} / valueString / valueInteger / valueDecimal /
 * valueDate / valueBoolean; calculated items as valueDecimal/valueInteger.  Pool-owned. */
apr_status_t consult_fhir_response(json_t **qr, apr_pool_t *p, const consult_template_t *t,
                                   json_t *answers, const consult_ctx_t *ctx);

/* Evaluate a standalone expression (tests, admin preview): *out is a pool-owned JSON value (null
 * when the result is null).  HG_EINVALID with HG_CONSULT_TEMPLATE on syntax or unknown names. */
apr_status_t consult_eval(json_t **out, apr_pool_t *p, const consult_template_t *t, const char *expr,
                          json_t *answers, const consult_ctx_t *ctx, hg_error_t **err);

/* ---- quality rules (review before submission) ----
 * Warnings on the (pruned) answers: a pool-owned array of {"code","linkId"?,"message","severity"}.
 * Built-in: sex_mismatch (block) an affirmative answer to an item tagged pregnancy/menstrual/female
 * for a male patient; duration_exceeds_age (block) a durationUnit item longer than the patient's age
 * (+1 day); implausible_value (warn) a number outside "plausible".  Then the template's rules (code =
 * rule id), in order. */
apr_status_t consult_quality(json_t **warnings, apr_pool_t *p, const consult_template_t *t,
                             json_t *answers, const consult_ctx_t *ctx);
/* 1 when a warning has severity block */
int consult_warnings_block(json_t *warnings);
/* "主诉：…\n现病史：…" over the non-empty sections, in order */
const char *consult_narrative(apr_pool_t *p, json_t *sections);
/* index 0..5 of a section key, -1 when unknown */
int consult_section_key(const char *key);

/* ---- pages and Back ----
 * nav is a JSON object {"pages":[["linkId"…]…], "pos":n} kept with the session: the pages the
 * patient answered, and where they are (pos = number of pages: at the frontier).  A page shown is
 * history page pos (its still-enabled items, each with "answer") while pos < pages, else the pending
 * items (consult_next_items).  Answers are never dropped by Back; hidden ones wait for the pruning
 * at submission. */
/* after a POST of answers with linkIds posted (an array of strings): the ids move to the page being
 * shown (a revisited page, or a new one at the frontier) and pos moves past it */
void consult_nav_record(json_t *nav, json_t *posted);
/* one page back (skipping pages with nothing enabled left): 1 moved, 0 already at the first page */
int consult_nav_back(const consult_template_t *t, json_t *answers, json_t *nav, const consult_ctx_t *ctx,
                     apr_pool_t *p);
/* The patient's view (pool-owned): {"state":"in-progress|review|stopped", "items":[…],
 * "progress":{"answered","total"}, "advice" when stopped, "review":{"sections","narrative","warnings"}
 * when review}.  nav may be NULL (no history).  "completed" is the caller's (stored) state. */
apr_status_t consult_view(json_t **view, apr_pool_t *p, const consult_template_t *t, json_t *answers,
                          json_t *nav, const consult_ctx_t *ctx);

#endif
