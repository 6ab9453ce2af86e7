/* libFuzzer harness: the work-injury platform's XML answer (injury_parse_answer over hg_xml_to_json),
 * then what mod_injury does with an answer (injury_split_check), and the JSON -> XML writer on the
 * result: an answer that parsed must write back to XML that parses to the same JSON (the mapping is
 * documented as both ways in hg_xml.h; leaves are strings, so the round trip is exact). */
#include "fuzz.h"
#include <stdio.h>
#include "hg_json.h"
#include "hg_xml.h"
#include "injury_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_begin();
    json_t *o, *viol, *o2;
    const char *code, *msg, *xml;
    injury_verdict_t v;

    if (size > 65536)
        return -1;
    v = injury_parse_answer(p, (const char *)data, size, &o, &code, &msg);
    if (!code || !msg || (v != INJ_R_GARBLED && !o)) abort();
    if (!o)
        return 0;
    injury_split_check(p, o, &viol);
    if (hg_xml_from_json(&xml, p, "program", o) != APR_SUCCESS)
        return 0;   /* e.g. a key the writer refuses: documented, not a bug */
    if (hg_xml_to_json(&o2, p, xml, strlen(xml)) != APR_SUCCESS || !json_equal(o, o2)) {
        fprintf(stderr, "XML round trip differs:\n%s\n%s\n", hg_json_dump(p, o, 0), xml);
        abort();
    }
    return 0;
}
