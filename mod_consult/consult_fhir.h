/* consult_fhir: our template JSON <-> FHIR R4 Questionnaire (no httpd headers).
 *
 * Export (def already checked by consult_template_load):
 *   choice -> choice; multi -> choice + repeats:true; text -> string; number -> decimal; date -> date;
 *   boolean -> boolean; display, group as is; calculated -> decimal + readOnly + hisgate calculate.
 *   required, repeats, readOnly, prefix, text, maxLength, nested item: core.  options -> answerOption
 *   valueCoding {code, display}; initial -> initial[] value[x] (valueCoding for choices);
 *   enableWhen -> question/operator/answer[x] typed by the question (answerCoding for choices,
 *   answerBoolean for exists, answerDecimal, answerDate, answerString); enableBehavior core.
 *   min/max -> extension minValue/maxValue (valueDecimal or valueDate), minLength -> minLength,
 *   pattern -> regex (http://hl7.org/fhir/StructureDefinition/…).  Our extras as extensions under
 *   CONSULT_FHIR_EXT (…/consult-section, -narrative, -negative, -enableIf, -calculate, -terminal
 *   {when, advice}, -tag, -durationUnit, -plausible {min, max}, -code (a non-Coding "code"), and on
 *   answerOption -narrative, -negative; on the Questionnaire -quality (the rules as JSON text)).
 * Import reverses it; string and text -> text, integer and decimal -> number; open-choice, dateTime,
 * time, url, attachment, reference, quantity and answerValueSet are refused (HG_CONSULT_TEMPLATE,
 * field = the FHIR path, e.g. item[2].item[0].type).  The result still goes through
 * consult_template_load (references, cycles) before it is stored. */
#ifndef CONSULT_FHIR_H
#define CONSULT_FHIR_H
#include <apr_pools.h>
#include <jansson.h>
#include "hg_err.h"

#define CONSULT_FHIR_EXT "https://hisgate.org/fhir/StructureDefinition/consult-"
#define FHIR_SD "http://hl7.org/fhir/StructureDefinition/"

/* status: FHIR publication status (draft | active | retired) */
apr_status_t consult_fhir_export(json_t **q, apr_pool_t *p, json_t *def, const char *status);

/* def gets "id" (the Questionnaire's id, or id_override when not NULL) and "version" (version) */
apr_status_t consult_fhir_import(json_t **def, apr_pool_t *p, json_t *q, const char *id_override,
                                 const char *version, hg_error_t **err);
#endif
