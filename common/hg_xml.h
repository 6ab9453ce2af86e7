/* hg_xml — XML for the platforms that speak it (the Guangdong work-injury "bizh" interface,
 * ../shared/specs/injury.md): a small escaping writer, and a JSON bridge over APR-util's
 * apr_xml parser (expat underneath).  No second XML library.
 *
 * Encoding: the platform speaks UTF-8 (injury.md §1: body "XML document, UTF-8"; the [DG]
 * client declares encoding="utf-8", [ZS] sends no declaration).  So everything here is UTF-8
 * and there are no GBK helpers.  If a regional variant ever answers in GBK, convert the body
 * with apr_xlate (APR-util) before hg_xml_to_json(): expat itself rejects a GBK declaration
 * with "unknown encoding", which hg_xml_to_json() reports as HG_EINVALID.
 *
 * Writer text rules (hg_xml_w_elem):
 *   - & < > " ' are escaped as entities; CR is written as &#13; so a parser does not fold it.
 *   - Text must be valid UTF-8 (no overlongs, no surrogates): otherwise HG_EINVALID.  Bytes
 *     that are not UTF-8 are almost always GBK from a legacy HIS; guessing would corrupt names.
 *   - Characters XML 1.0 forbids even as references (C0 controls other than TAB/LF/CR, NUL,
 *     U+FFFE, U+FFFF) are REPLACED by a space and counted (hg_xml_w_replaced()).  They carry
 *     no meaning (stray VT/FF/SUB in HIS free text), yet one of them would make the platform
 *     reject a whole discharge settlement.  Callers that must not alter data check the count.
 *   - Element names must be ASCII XML names, [A-Za-z_][A-Za-z0-9_.-]*: field codes such as
 *     aac001 are; anything else (spaces, "<", colons, non-ASCII) is HG_EINVALID.
 *   - Errors are sticky: after the first one every call returns it again and
 *     hg_xml_w_result() returns NULL, so a builder can check once at the end.
 *   - Output is compact: no whitespace between elements; the declaration
 *     <?xml version="1.0" encoding="UTF-8"?> comes first.
 *
 * JSON <-> XML mapping (injury.md §1), both directions:
 *   JSON object                     XML under <program> (root_name, default "program")
 *   "code": "text"                  <code>text</code>                       (escaped)
 *   "code": 123 (integer)           <code>123</code>
 *   "code": null / ""               <code></code>
 *   "set": [ {..}, {..} ]           <set><row>..</row><row>..</row></set>   (a dataset)
 *   "blk": { .. }                   <blk>..</blk>                           (nested fields)
 *   JSON->XML rejects (HG_EINVALID): reals and booleans (money and flags travel as strings:
 *   "12.50", "1"), arrays whose items are not objects, a field named "row" (reserved for
 *   dataset rows), keys that are not XML names, nesting deeper than 16.  Key order is kept.
 *
 *   XML->JSON: every leaf element becomes a STRING (exact text, entities decoded, nothing
 *   trimmed); an element whose child elements are all <row> becomes an array of objects
 *   (one <row> is still an array of one); any other element with children becomes an object.
 *   So integers come back as strings, and an empty dataset (<set/> or <set></set>) comes back
 *   as "" — read datasets with json_is_array() and treat anything else as no rows.
 *   Rejected (HG_EINVALID): malformed XML, DTD entity declarations (apr_xml stops on them),
 *   text mixed with child elements, a repeated element name that is not <row>, <row> next to
 *   other elements, a <row> with text but no fields, a root with text but no fields, nesting
 *   deeper than 16.  Attributes and namespace prefixes are ignored.  The root's name is not
 *   checked (the caller looks for return_code).  A settlement answer that fails here may
 *   still have been executed by the platform: treat it as outcome unknown, like HG_ETIMEOUT.
 *
 * Error text: every HG_EINVALID from this file also leaves a message on the pool it was given,
 * read with hg_xml_errmsg(p) ("XML parse error: ...", "field feeinfo[2]: ...").
 */
#ifndef HG_XML_H
#define HG_XML_H

#include <apr_pools.h>
#include <jansson.h>

#define HG_XML_MAX_DEPTH 16

typedef struct hg_xml_writer_t hg_xml_writer_t;

/* a writer over p, with the XML declaration already written */
apr_status_t hg_xml_w_create(hg_xml_writer_t **w, apr_pool_t *p);
/* <name> ... </name> */
apr_status_t hg_xml_w_open(hg_xml_writer_t *w, const char *name);
apr_status_t hg_xml_w_close(hg_xml_writer_t *w);
/* <name>escaped text</name>; text NULL = empty element */
apr_status_t hg_xml_w_elem(hg_xml_writer_t *w, const char *name, const char *text);
/* same with an explicit length (text may hold NULs: they are replaced like other controls) */
apr_status_t hg_xml_w_elemn(hg_xml_writer_t *w, const char *name, const char *text, apr_size_t len);
/* the document, NUL-terminated, in the writer's pool; NULL after an error or while an
 * element is still open (see hg_xml_w_status / hg_xml_w_error) */
const char *hg_xml_w_result(hg_xml_writer_t *w);
apr_status_t hg_xml_w_status(const hg_xml_writer_t *w);
const char *hg_xml_w_error(const hg_xml_writer_t *w);       /* NULL when fine */
int hg_xml_w_replaced(const hg_xml_writer_t *w);           /* characters replaced by a space */

/* JSON object -> XML document (declaration included) in p.  obj is only read (borrowed). */
apr_status_t hg_xml_from_json(const char **xml, apr_pool_t *p, const char *root_name,
                              json_t *obj);
/* XML document -> JSON object of the root's children.  The object is owned by p (a pool
 * cleanup drops the reference): do not json_decref it; json_incref it to keep it longer. */
apr_status_t hg_xml_to_json(json_t **obj, apr_pool_t *p, const char *xml, apr_size_t len);

/* the message of the last HG_EINVALID raised by hg_xml_from_json / hg_xml_to_json on p */
const char *hg_xml_errmsg(apr_pool_t *p);

#endif
