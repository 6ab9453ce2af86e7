/* invoice_model: the pure domain of medical e-bills (财政医疗电子票据) — bill kinds and service names,
 * titles, validation of the HIS issue payload, its canonical form and content hash, the bill document
 * and its SM2 seal, red bills (冲红), identifiers, masking of personal data, offline H5 tokens.
 *
 * Payloads follow the Bosi platform field names exactly (shared/specs/fiscal-einvoice.md §4.1, and the
 * [ZB] sources it cites), so a HIS written for Bosi can call hisgate unchanged.  Money is integer fen
 * inside (hg_money); floating point is never used for amounts.  No database, no httpd header here;
 * every function is reentrant and the schema tables are static.
 *
 * Source tags as in the spec: V = verified in a source, I = inferred (ours). */
#ifndef INVOICE_MODEL_H
#define INVOICE_MODEL_H
#include <apr_pools.h>
#include <jansson.h>
#include "hg_status.h"
#include "hg_err.h"
#include "hg_crypto.h"

/* ---- bill kinds ----
 *
 * kind              service (HIS → hisgate URL tail)   code            busType  label
 * INV_OUTPATIENT    invoiceEBillOutpatient  (V)        "outpatient"    02 (V)   门诊
 * INV_INPATIENT     invEBillHospitalized    (V)        "inpatient"     01 (I)   住院
 * INV_REGISTRATION  invEBillRegistration    (V)        "registration"  06 (V)   挂号
 * INV_PHYSICAL      invEBillPhysicalExamination (I)    "physical"      05 (I)   体检
 * INV_IMMUNISATION  invEBillImmunization    (I)        "immunisation"  02 (I)   免疫接种
 * INV_PREPAYMENT    invoicePayMentVoucher   (V)        "prepayment"    07 (V)   住院预交金
 *
 * Service names: the three marked I are ours, in the Bosi style (no source has them).  For the
 * deposit, [ZB] EnoteService.java calls Bosi's `invoicePayMentVoucher` (its red flush is the verified
 * `writeOffPayMentVoucher`), so that is the canonical name; `invEBillPrepayment` is accepted as an
 * alias (invoice_kind_from_service) but never returned.
 * busType: 02 门诊, 06 挂号, 07 住院预交金 are verified ([BK], [ZB]); 01 住院 and 05 体检 come from the
 * [ZB] mapper (visit type 住院 → '01', 急诊 → '03', 体检 → '05'); immunisation has no code in any
 * source and is charged as an outpatient service, hence 02.  busType is a platform-mapped code: the
 * HIS may send its own (two digits), these are the defaults when it sends none. */
typedef enum {
    INV_OUTPATIENT = 0,
    INV_INPATIENT,
    INV_REGISTRATION,
    INV_PHYSICAL,
    INV_IMMUNISATION,
    INV_PREPAYMENT
} invoice_kind_t;
#define INVOICE_KIND_COUNT 6

/* The kind of a service name (exact, case-sensitive), or -1 when unknown. */
int invoice_kind_from_service(const char *service);
/* The same, as an error for the HIS: HG_INVOICE_UNKNOWN_SERVICE (404, field "service") and
 * HG_ENOTFOUND when unknown.  err may be NULL. */
apr_status_t invoice_kind_lookup(invoice_kind_t *kind, apr_pool_t *p, const char *service,
                                 hg_error_t **err);
/* The kind of a code ("outpatient" …), or -1. */
int invoice_kind_from_code(const char *code);
/* Static strings from the table above; NULL for a kind out of range. */
const char *invoice_kind_service(invoice_kind_t kind);
const char *invoice_kind_code(invoice_kind_t kind);
const char *invoice_kind_bus_type(invoice_kind_t kind);
/* a payment channel's name (payChannelCode 03 → 微信支付), NULL for a code not in the table */
const char *invoice_pay_channel_name(const char *code);
const char *invoice_kind_label(invoice_kind_t kind);   /* 门诊, 住院, … for layouts */

/* ---- titles ----
 * The bill name printed on the document, from the province of the institution code: its first two
 * characters are the GB/T 2260 province code (a leading letter is skipped, so the NHSA code
 * H44010600001 works too); all 31 provinces are known (44 广东省, 11 北京市, 45 广西壮族自治区 …).
 *   outpatient, registration, physical, immunisation  {省}医疗门诊收费票据（电子）
 *   inpatient                                          {省}医疗住院收费票据（电子）
 *   prepayment                                         {省}医疗住院预交金凭证（电子）
 * The MOF medical-charge bill has two templates, 门诊 and 住院 (spec §1); a Guangdong cashier issues
 * 挂号, 体检 and 免疫接种 on the 门诊 one, so those kinds share its title (invoice_kind_label tells them
 * apart on a layout).  A deposit is not revenue, so it gets a 凭证 — Bosi's own word (预交金凭证).
 * Unknown province: the title without it ("医疗门诊收费票据（电子）").  NULL only for a bad kind. */
const char *invoice_title(apr_pool_t *p, invoice_kind_t kind, const char *institution_code);

/* ---- validation ----
 *
 * Shape (hg_json_validate, one closed schema per kind: unknown keys are HG_FIELD_UNKNOWN, so what is
 * sealed is exactly what was checked).  Before checking, a copy of the payload is put in canonical
 * form (invoice_normalize), so the HIS may send money as 12.3 or "12.30", quantities as 2 or "2.000",
 * sortNo as "1", age/sex/payerType/busNo/cardNo… as JSON integers; "" and [] mean "not given".
 *
 * Settlement kinds (all but prepayment), required everywhere: busNo ([A-Za-z0-9_.-]{1,50}), payer
 * (≤100), busDateTime (yyyyMMddHHmmssSSS, a real instant), placeCode ([A-Za-z0-9_-]{1,50}), payee,
 * author (≤50), totalAmt (> 0), payerType ("1" 个人 | "2" 单位), cardType (≤20), cardNo (≤50), sex
 * (男 女 未知 未说明 0 1 2 9 — GB/T 2261.1 codes or words), age (≤20, "35" or "35岁"), the money split
 * accountPay fundPay otherfundPay ownPay selfConceitedAmt selfPayAmt selfCashPay (≥ 0),
 * payChannelDetail[] {payChannelCode [A-Za-z0-9_]{1,20}, payChannelValue ≥ 0} and
 * chargeDetail[] {sortNo integer ≥ 0, chargeCode ≤50, chargeName ≤100, std, number, amt ≥ 0,
 * selfAmt ≥ 0; unit ≤20, remark ≤200 optional}, both non-empty.
 * Per kind: inpatient also hospitalNo, visitNo (≤50), inHospitalDate and outHospitalDate
 * (yyyy-MM-dd, out ≥ in) and a non-empty listDetail[] (an inpatient bill always carries its 费用清单);
 * physical also checkUpNo (体检号, ≤50).  busType optional (two digits).  isArrears optional ("0"/"1":
 * [ZB] sends null on outpatient bills although the spec marks it Y).
 * listDetail[] items: name ≤100, std, number, amt ≥ 0, selfAmt ≥ 0 required; receivableAmt,
 * medReimburseRate, the codes and names optional.  std/number/hospitalDays/medReimburseRate are
 * decimals ≥ 0 with ≤12 integer and ≤6 fraction digits, kept as canonical strings ("2", "0.5").
 * At most INVOICE_MAX_ITEMS items in every list but listDetail, at most INVOICE_MAX_LIST_LINES
 * lines in listDetail (HG_TOO_MANY_ITEMS): a long stay's itemised list (费用清单) runs to thousands.
 * Prepayment (the [ZB] EnoteDepoReqVo payload of invoicePayMentVoucher): busNo, payer, busDateTime,
 * placeCode, payee, author, cardType, cardNo, hospitalNo, visitNo, amt (> 0, the deposit — there is
 * no totalAmt), payChannelDetail[]; busType optional and only "07"; drawee, tel, email, idCardNo,
 * ownAcBalance (may be negative: arrears), category, categoryCode, inHospitalDate, patientId,
 * patientNo, caseNumber, accountName, accountNo, accountBank, remark, workUnit optional.
 *
 * Cross-field rules, checked in this order once the shape is right (each fails with field = the
 * path named here; HG_* codes are in hg_err.h):
 *  1. Σ chargeDetail[].amt = totalAmt                          HG_INVOICE_SUM_CHARGE      chargeDetail
 *  2. Σ listDetail[].amt = totalAmt, when listDetail is given  HG_INVOICE_SUM_LIST        listDetail
 *  3. Σ payChannelDetail[].payChannelValue = totalAmt (amt)    HG_INVOICE_SUM_PAYCHANNEL  payChannelDetail
 *     (the channels include the insurance ones: [ZB] adds 医保统筹/个人账户 lines to reach totalAmt)
 *  4. fundPay + otherfundPay + accountPay + selfCashPay = totalAmt   HG_INVOICE_SPLIT   selfCashPay
 *     who paid: the funds, the personal account, and the patient's cash — the NHSA identity
 *     医疗费总额 = 基金支付 + 个人账户支付 + 个人现金支付 ([ZB] moves an amount into otherfundPay by
 *     taking it out of selfCashPay);
 *  5. ownPay + selfConceitedAmt + selfPayAmt = accountPay + selfCashPay   HG_INVOICE_SPLIT   ownPay
 *     the patient's burden (自费 + 自负 + 自付) is what the patient paid, from the account or in cash
 *     ([ZB] for a Guangdong hospital: "个人自付+个人自费=个人账户+个人现金").
 *     Rules 4 and 5 are INFERRED from the field meanings and [ZB]; the deposit fields (cashPay,
 *     cashRecharge, cashRefund …) and ownAcBalance/reimbursementAmt are shape-checked only.
 *  6. inpatient: outHospitalDate ≥ inHospitalDate             HG_FIELD_DATE              outHospitalDate
 * The FIRST bad field is reported: shape errors in schema order first (arrays in index order), then
 * the rules above.  Not checked: std × number = amt (HIS rounding differs, [ZB] adds 货币误差 lines).
 *
 * invoice_validate: a blue (normal) bill.  APR_SUCCESS, or HG_EINVALID with *err (err may be NULL);
 * APR_EINVAL with HG_INTERNAL for a bad kind.  data is never modified. */
#define INVOICE_MAX_ITEMS 500
#define INVOICE_MAX_LIST_LINES 5000
apr_status_t invoice_validate(apr_pool_t *p, invoice_kind_t kind, json_t *data, hg_error_t **err);
/* the same without a copy: data is left in the kind's canonical form (invoice_normalize_in_place
 * then gives exactly what invoice_normalize gives of the data as it came) */
apr_status_t invoice_validate_in_place(apr_pool_t *p, invoice_kind_t kind, json_t *data, hg_error_t **err);
/* A red bill's data as made by invoice_make_red_data: busNo must be "R~"…, every amount ≤ 0 and every
 * quantity ≤ 0 (a positive one is HG_FIELD_MONEY / HG_FIELD_RANGE at its path); then all the rules
 * above hold with the signs flipped (sums are negative, totalAmt < 0). */
apr_status_t invoice_validate_red(apr_pool_t *p, invoice_kind_t kind, json_t *data, hg_error_t **err);

/* ---- canonical form, content hash, total ----
 *
 * invoice_normalize: *out = a deep copy of data (owned by p) where every field of the schemas is in
 * one canonical form: money as the two-decimal string ("12.30", from 12.3, 12.30, "12.30", 12;
 * "-0.00" → "0.00"), decimals (std, number, hospitalDays, medReimburseRate) as the shortest decimal
 * string ("2", "0.5", from 2, 2.0, "2.000", 0.50), sortNo/infoNo as JSON integers, string fields sent
 * as JSON integers as their decimal text, and members that are "" or [] removed.  Values that cannot
 * be put in canonical form are left as they are (validate first: then there are none).  Works for
 * every kind (the field names mean the same in all of them).  HG_EINVALID when data is not an object.
 * Red data keeps its signs. */
apr_status_t invoice_normalize(json_t **out, apr_pool_t *p, json_t *data);
/* the same in place, for a caller that has no further use for data as it came (no copy) */
apr_status_t invoice_normalize_in_place(json_t *data);
/* *hex = lowercase hex SM3 (64 digits) of hg_json_dump(normalized, HG_JSON_DUMP_SORTED): keys sorted
 * bytewise, compact, UTF-8 unescaped.  The same bill sent as 12.3 or "12.30" hashes the same. */
apr_status_t invoice_content_hash(char **hex, apr_pool_t *p, json_t *normalized);
/* The bill total in fen: totalAmt, or amt for a prepayment payload (which has no totalAmt).
 * APR_NOTFOUND when neither is there, HG_EINVALID / HG_EOVERFLOW when it is not an amount. */
apr_status_t invoice_total_fen(json_t *data, apr_int64_t *fen);
/* The payment split by channel, for the summaries by payment channel (缴款渠道汇总):
 * *out = compact JSON {"<payChannelCode>": fen, …}, a code that comes twice added up, signs as in
 * the data (a red bill's are negative); "{}" without payChannelDetail.  HG_EINVALID / HG_EOVERFLOW
 * when an amount is not one. */
apr_status_t invoice_channels_json(const char **out, apr_pool_t *p, json_t *data);
/* The charges by item, for the summary by charge item (收费项目汇总, 单位收费情况): *out = compact
 * JSON {"<chargeCode>": {"name": "<chargeName>", "fen": amt in fen}, …}, a code that comes twice
 * added up (the first name kept), signs as in the data; "{}" without chargeDetail. */
apr_status_t invoice_charges_json(const char **out, apr_pool_t *p, json_t *data);

/* ---- bill document and seal ----
 *
 * *doc = {"institution","institutionName","kind" (invoice_kind_code),"title" (invoice_title),
 *         "billBatchCode","billNo","random","createTime","isScarlet" (boolean),
 *         "relatedBill":{"billBatchCode","billNo"} (when orig_code and orig_no are given; required
 *         for a red bill), "data": normalized_data itself (a reference: the caller leaves it as it is
 *         from here on)}
 * Every string must be non-empty UTF-8; billBatchCode ≤ 50, billNo ≤ 20, random ≤ 20 (the Bosi
 * widths), createTime a valid yyyyMMddHHmmssSSS.  HG_EINVALID otherwise.  doc is owned by p. */
apr_status_t invoice_make_doc(json_t **doc, apr_pool_t *p, invoice_kind_t kind, const char *institution,
                              const char *institution_name, const char *bill_batch_code,
                              const char *bill_no, const char *random,
                              const char *create_time /* yyyyMMddHHmmssSSS */, int is_scarlet,
                              const char *orig_code, const char *orig_no, json_t *normalized_data);
/* The unit's seal: SM2 with SM3 (user id HG_SM2_DEFAULT_ID) over the bytes of
 * hg_json_dump(doc, HG_JSON_DUMP_SORTED); *sig_b64 = standard base64 (with padding) of the raw
 * 64-byte r‖s.  key must be an SM2 private key.  HG_EINVALID for a NULL/unprintable doc,
 * HG_ECRYPTO when signing fails.  A verifier elsewhere must rebuild the same bytes: sorted keys,
 * no whitespace, non-ASCII as UTF-8, money as strings (so no float formatting is involved). */
apr_status_t invoice_seal(char **sig_b64, apr_pool_t *p, hg_pkey_t *key, json_t *doc);
/* the same over a document already dumped that way (the stored text: one dump for both) */
apr_status_t invoice_seal_text(char **sig_b64, apr_pool_t *p, hg_pkey_t *key, const char *doc_sorted_text);
/* APR_SUCCESS, or HG_EBADSIG (also for a signature that is not base64 of 64 bytes); HG_EINVALID for
 * a NULL doc; HG_ECRYPTO when pub is not an SM2 key. */
apr_status_t invoice_seal_verify(hg_pkey_t *pub, json_t *doc, const char *sig_b64);
/* What the fiscal platform receives of a bill (its upload's "data"), from its document and seal:
 * {"billBatchCode","billNo","random","createTime","isScarlet","sealSignature","data"[,"relatedBill"]}.
 * The upload is queued with the sealed document, not a second sealed copy of the same data, and
 * rebuilt here by the delivery.  *up is owned by p; HG_EINVALID when doc lacks one of them. */
apr_status_t invoice_upload_data(json_t **up, apr_pool_t *p, json_t *doc, const char *seal_b64);

/* a red bill's reason goes into its remark (200) after "冲红原因：", its operator becomes its payee
 * and author (50): the longest a writeOffEBill may send */
#define INVOICE_RED_REASON_MAX   100
#define INVOICE_RED_OPERATOR_MAX 50

/* ---- red bill (冲红) ----
 * *red = a copy of orig_normalized (a blue bill's normalized data, owned by p) with:
 *  - every amount negated: totalAmt (or amt), the split, the deposit fields, reimbursementAmt,
 *    chargeDetail[].amt/selfAmt, listDetail[].amt/selfAmt/receivableAmt,
 *    payChannelDetail[].payChannelValue, payMentVoucher[].voucherAmt;
 *  - quantities negated too (chargeDetail[].number, listDetail[].number) while the unit price std
 *    stays positive, so number × std = amt keeps its sign — the red-letter convention (数量为负、单价
 *    为正); Bosi's writeOffEBill itself takes no items, these are for our own red document;
 *  - ownAcBalance removed (a balance, not a flow: the balance after the reversal is not known);
 *  - busNo = "R~" + the original busNo: '~' is not allowed in a HIS busNo, so a red busNo never
 *    collides with a blue one (UNIQUE per institution) and a red bill cannot be flushed again;
 *  - busDateTime = bus_date_time (yyyyMMddHHmmssSSS), payee = author = operator_ (≤ 50, who flushed),
 *    remark = "冲红原因：" + reason (reason 1..100 characters).
 * Payer, visit and item descriptions stay.  HG_EINVALID for a bad argument or an orig that is not a
 * blue bill's data (no busNo, or busNo already red). */
apr_status_t invoice_make_red_data(json_t **red, apr_pool_t *p, json_t *orig_normalized,
                                   const char *reason, const char *operator_,
                                   const char *bus_date_time);
#define INVOICE_RED_PREFIX "R~"

/* ---- identifiers ----
 * 校验码: 6 characters drawn uniformly from [0-9a-z] (CSPRNG, rejection sampling).  HG_ECRYPTO if the
 * random source fails. */
apr_status_t invoice_check_code(char out[7]);
/* 票据号码: n as 10 zero-padded digits; HG_EINVALID when n < 0 or n > 9999999999. */
apr_status_t invoice_format_bill_no(char out[11], apr_int64_t n);
/* Paper bill numbers have the same form. */
apr_status_t invoice_format_paper_no(char out[11], apr_int64_t n);
/* 1 when s is exactly 8 ASCII digits (票据代码 of our stock), else 0. */
int invoice_valid_batch_code(const char *s);
/* 1 when s is exactly 10 ASCII digits, else 0. */
int invoice_valid_bill_no(const char *s);

/* ---- issuance lanes (InvoiceIssueLanes) ----
 * The lane, 0 .. lanes - 1, of a billing point: FNV-1a (32 bits) of its code modulo lanes, the same
 * in every process (and on every node with as many lanes), so that groups of two lanes never
 * wait for each other's stock rows.  0 when lanes < 2. */
int invoice_issue_lane(const char *place_code, int lanes);

/* ---- privacy: masks for layouts, pages and logs (NULL in → NULL out; invalid UTF-8 is repaired
 * first; one '*' per hidden character, so the length is kept) ----
 * name, by characters: 1 → "*", 2 → 张*, 3+ → first, stars, last (张*丰, 欧**娜).
 * id: ≥ 11 characters keep the first 6 and last 4 (440101********1234); shorter ones keep only
 * the last third (rounded down): "E12345678" → "******678"; ≤ 2 characters are all stars.
 * phone: ≥ 11 characters keep first 3 and last 4 (138****5678, 020-****5678 for 020-12345678);
 * 7..10 keep the last 4; shorter ones as a short id.
 * card: keep the last 4 when longer than 4, else all stars. */
const char *invoice_mask_name(apr_pool_t *p, const char *utf8);
const char *invoice_mask_id(apr_pool_t *p, const char *id);
const char *invoice_mask_phone(apr_pool_t *p, const char *tel);
/* an e-mail address shown back to the patient: the first character of the name, then *** and the
 * domain (z***@example.com); NULL for NULL */
const char *invoice_mask_email(apr_pool_t *p, const char *addr);
const char *invoice_mask_card(apr_pool_t *p, const char *card);

/* ---- offline links (需求 3(5): the HIS computes a bill's H5 address before the bill exists) ----
 * tok = the first 16 characters of base64url-without-padding( HMAC-SM3( key, M ) ),
 *       M = the UTF-8 bytes of institution ":" bus_no (no terminator, no newline), key = 16 raw bytes.
 * In Java: Base64.getUrlEncoder().withoutPadding().encodeToString(hmacSm3(key,
 *          (institution + ":" + busNo).getBytes(UTF_8))).substring(0, 16)
 * Known answer (t_invoice_model.c): key = 00 01 02 … 0f, institution "44010001",
 * busNo "OP20260315000123" → "HMGegFAuLhZwndzO".
 * institution and bus_no must be non-empty; institution must not contain ':' (HG_EINVALID). */
apr_status_t invoice_offline_token(char **tok, apr_pool_t *p, const unsigned char key[16],
                                   const char *institution, const char *bus_no);
/* 1 when tok is the token of (institution, bus_no) under key, else 0; compares in constant time. */
int invoice_offline_token_check(const unsigned char key[16], const char *institution,
                                const char *bus_no, const char *tok);
#define INVOICE_OFFLINE_TOKEN_LEN 16

/* ---- the HIS's list of a patient's e-bills not yet exchanged for paper (getEBillUnPrintList:
 * a kiosk or window offers them for printing) ----
 * The request: busBgnDate and busEndDate (yyyyMMddHHmmssSSS, the bills' busDateTime, both
 * inclusive, at most INVOICE_LIST_MAX_DAYS apart), cardNo (required: the look-up goes through its
 * keyed index), cardType and patientId (optional: they narrow the list), pageNo (from 1, default
 * 1) and pageSize (1..100, default 20), each a JSON integer or a string of digits.  HG_EINVALID
 * with *err naming the field. */
#define INVOICE_LIST_MAX_DAYS       366
#define INVOICE_LIST_PAGE           20
#define INVOICE_LIST_MAX_PAGE_SIZE  100
#define INVOICE_LIST_MAX_PAGE       100000
#define INVOICE_LIST_MAX_CANDIDATES 2000      /* a card's printable bills from busBgnDate's day on */
typedef struct invoice_list_query_t {
    const char *begin, *end, *card_type, *card_no, *patient_id;  /* card_type, patient_id: NULL = any */
    int page_no, page_size;
} invoice_list_query_t;
apr_status_t invoice_list_query(invoice_list_query_t *q, apr_pool_t *p, json_t *req, hg_error_t **err);
/* 1 when a bill's document (invoice_make_doc) is in the query's list: its busDateTime within the
 * period, its cardType and patientId the query's where the query gives them */
int invoice_list_match(const invoice_list_query_t *q, json_t *doc);

#endif
