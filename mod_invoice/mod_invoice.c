/* mod_invoice: fiscal medical e-invoices (财政医疗电子票据) — the Apache glue.
 * Directives, the routing table (HIS services under /invoice/api/v1/<service>, patient JSON under
 * /invoice/pub/v1/), and the outbox topics.  The life cycle is in invoice_store.c, the rules in
 * invoice_model.c, the layout in invoice_pdf.c, the platform adapters in invoice_fiscal.c and
 * invoice_notify.c. */
#include <string.h>
#include <unistd.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "util_script.h"
#include "http_core.h"
#include "ap_mpm.h"
#include "apr_strings.h"
#include "apr_lib.h"
#include "hg_glue.h"
#include "hg_crypto.h"
#include "hg_auth.h"
#include "hg_money.h"
#include "hg_qr.h"
#include "hg_pdf.h"
#include "hg_http.h"
#include "hg_slots.h"
#include "invoice_model.h"
#include "invoice_store.h"
#include "invoice_fiscal.h"
#include "invoice_pdf.h"
#include "invoice_notify.h"
#include "invoice_wxcard.h"
#include "hg_audit.h"
#include "mod_invoice_private.h"

module AP_MODULE_DECLARE_DATA invoice_module;

typedef struct invoice_conf_t {
    const char *seal_key_file;
    hg_pkey_t *seal_key;
    const char *institution_name;
    unsigned char link_key[16];
    int link_key_set;
    int pdf_link_ttl;
    int issue_group_max;
    int issue_lanes;             /* InvoiceIssueLanes: 0 = a line per billing point */
    int pdf_renders;             /* first renders at once per process; 0: one per CPU */
    int pdf_wait;                /* seconds a first download waits for a render; -1: unset (RENDER_WAIT) */
    int stock_low_ebill, stock_low_paper;   /* InvoiceStockLow: fewer unused numbers is a warning */
    invoice_fiscal_conf_t fiscal;
    invoice_notify_conf_t notify;
    invoice_wxcard_conf_t wxcard;
    int wxcard_set;              /* InvoiceWxCard given in this server's section (vhosts inherit otherwise) */
    const unsigned char *master_key, *audit_key;
    const char *public_url, *institution;
} invoice_conf_t;

static invoice_conf_t *G;   /* the main server's configuration, set in post_config */
static hg_group_t *issue_group;   /* this process's lines of issuance (InvoiceIssueLanes) */
static int issue_lanes;           /* InvoiceIssueLanes */
static hg_slots_t *render_line;   /* this process's PDF renders at once (InvoicePdfRenders), in arrival order */

/* a render that cannot start within this (InvoicePdfWait) answers 503 HG_INVOICE_PDF_BUSY: the
 * patient taps again */
#define RENDER_WAIT 10

static void *create_conf(apr_pool_t *p, server_rec *s)
{
    invoice_conf_t *c = apr_pcalloc(p, sizeof(*c));
    c->institution_name = "";
    c->pdf_link_ttl = 600;
    c->issue_group_max = 32;
    c->issue_lanes = 2;
    c->notify.timeout_ms = 5000;
    c->wxcard.timeout_ms = 5000;
    c->pdf_wait = -1;
    c->stock_low_ebill = 1000;
    c->stock_low_paper = 200;
    return c;
}

/* A virtual host shares the main server's configuration (the module reads it through G) but for
 * InvoiceWxCard, which it may turn Off for itself (a staff-only host), and InvoicePdfWait (a kiosk's
 * host may rather answer at once) */
static void *merge_conf(apr_pool_t *p, void *basev, void *addv)
{
    invoice_conf_t *c = apr_pmemdup(p, basev, sizeof(*c)), *add = addv;
    if (add->wxcard_set) {
        c->wxcard_set = 1;
        c->wxcard.on = add->wxcard.on;
    }
    if (add->pdf_wait >= 0)
        c->pdf_wait = add->pdf_wait;
    return c;
}

static invoice_conf_t *conf_of(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &invoice_module);
}

static const char *set_seal_key(cmd_parms *cmd, void *dc, const char *path)
{
    conf_of(cmd)->seal_key_file = ap_server_root_relative(cmd->pool, path);
    return NULL;
}

static const char *set_name(cmd_parms *cmd, void *dc, const char *name)
{
    conf_of(cmd)->institution_name = name;
    return NULL;
}

static const char *set_link_key(cmd_parms *cmd, void *dc, const char *hex)
{
    unsigned char *raw;
    apr_size_t len;
    if (hg_hex_decode(&raw, &len, cmd->pool, hex) != APR_SUCCESS || len != 16)
        return "InvoiceLinkKey: 32 hex digits (16 bytes), shared with the HIS for offline links";
    memcpy(conf_of(cmd)->link_key, raw, 16);
    conf_of(cmd)->link_key_set = 1;
    return NULL;
}

/* a whole number within its directive's range (cmd->info), into its field of the configuration */
typedef struct {
    apr_size_t field;
    int lo, hi;
    const char *what;            /* the rest of the error message */
} int_arg_t;

#define INT_ARG(f, lo, hi, what) (void *)&(const int_arg_t){ APR_OFFSETOF(invoice_conf_t, f), lo, hi, what }

static const char *set_int(cmd_parms *cmd, void *dc, const char *arg)
{
    const int_arg_t *a = cmd->info;
    char *end;
    long v = strtol(arg, &end, 10);
    if (!*arg || *end || v < a->lo || v > a->hi)
        return apr_psprintf(cmd->pool, "%s: %s, %d to %d", cmd->cmd->name, a->what, a->lo, a->hi);
    *(int *)((char *)conf_of(cmd) + a->field) = (int)v;
    return NULL;
}

static const char *set_sms(cmd_parms *cmd, void *dc, const char *url, const char *sign)
{
    conf_of(cmd)->notify.sms_url = url;
    conf_of(cmd)->notify.sms_sign = sign;
    return NULL;
}

static const char *set_wechat(cmd_parms *cmd, void *dc, const char *url, const char *tpl)
{
    conf_of(cmd)->notify.wechat_url = url;
    conf_of(cmd)->notify.wechat_template_id = tpl;
    return NULL;
}

/* InvoiceMail smtp[s]://host:port sender@hospital [user password] */
static const char *set_mail(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    invoice_notify_conf_t *n = &conf_of(cmd)->notify;
    if (argc != 2 && argc != 4)
        return "InvoiceMail: the server URL and the sender's address, then optionally user and password";
    if (strncmp(argv[0], "smtp://", 7) && strncmp(argv[0], "smtps://", 8))
        return "InvoiceMail: the server URL starts with smtp:// (STARTTLS when offered) or smtps://";
    if (!strchr(argv[1], '@') || strpbrk(argv[1], "<>\" \t\r\n"))
        return "InvoiceMail: the second argument is the sender's bare address (noreply@hospital.example)";
    n->mail_url = argv[0];
    n->mail_from = argv[1];
    if (argc == 4) {
        n->mail_user = argv[2];
        n->mail_password = argv[3];
        n->mail_require_tls = 1;       /* never a password in clear: STARTTLS or nothing */
    }
    return NULL;
}

/* InvoiceWxCard s_pappid card_id [appid] | Off */
static const char *set_wxcard(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    invoice_conf_t *c = conf_of(cmd);
    int i;
    c->wxcard_set = 1;
    if (argc == 1 && !strcasecmp(argv[0], "Off")) {
        c->wxcard.on = 0;
        return NULL;
    }
    if (argc != 2 && argc != 3)
        return "InvoiceWxCard: s_pappid and card_id (then the Official Account's appid when the token comes "
               "from HisgateWeChatTokenURL), or Off";
    for (i = 0; i < argc; i++)
        if (strlen(argv[i]) > 128 || strspn(argv[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                     "0123456789_-=") != strlen(argv[i]))
            return apr_psprintf(cmd->pool, "InvoiceWxCard: '%s' is not an identifier WeChat hands out", argv[i]);
    c->wxcard.on = 1;
    c->wxcard.s_pappid = argv[0];
    c->wxcard.card_id = argv[1];
    c->wxcard.appid = argc == 3 ? argv[2] : NULL;
    return NULL;
}

/* InvoiceStockLow ebill [paper]: numbers left below which a billing point's stock is low */
static const char *set_stock_low(cmd_parms *cmd, void *dc, const char *ebill, const char *paper)
{
    const char *arg[2] = { ebill, paper };
    int v[2], i;
    for (i = 0; i < 2 && arg[i]; i++) {
        char *end;
        long n = strtol(arg[i], &end, 10);
        if (!*arg[i] || *end || n < 0 || n > 100000000)
            return "InvoiceStockLow: e-bill numbers [paper numbers], 0 to 100000000 each (0: no warning)";
        v[i] = (int)n;
    }
    conf_of(cmd)->stock_low_ebill = v[0];
    if (paper)
        conf_of(cmd)->stock_low_paper = v[1];
    return NULL;
}

static const command_rec invoice_cmds[] = {
    AP_INIT_TAKE1("InvoiceSealKey", set_seal_key, NULL, RSRC_CONF,
                  "PEM file of the institution's SM2 private key (the unit seal on every bill)"),
    AP_INIT_TAKE1("InvoiceInstitutionName", set_name, NULL, RSRC_CONF,
                  "the institution's name as printed on bills (收款单位)"),
    AP_INIT_TAKE1("InvoiceLinkKey", set_link_key, NULL, RSRC_CONF,
                  "32 hex digits shared with the HIS to compute offline bill links"),
    AP_INIT_TAKE1("InvoicePdfLinkTTL", set_int, INT_ARG(pdf_link_ttl, 30, 86400, "seconds"), RSRC_CONF,
                  "seconds a signed PDF download link stays valid (default 600)"),
    AP_INIT_TAKE1("InvoiceIssueGroup", set_int,
                  INT_ARG(issue_group_max, 1, 256, "bills per grouped transaction (1: no grouping)"), RSRC_CONF,
                  "bills issued in one transaction at most when requests queue in one line of issuance "
                  "(default 32; 1 issues every bill in its own)"),
    AP_INIT_TAKE1("InvoiceIssueLanes", set_int,
                  INT_ARG(issue_lanes, 0, 64, "lines of issuance per institution (0: one per billing point)"),
                  RSRC_CONF,
                  "lines of issuance per institution and process: the billing points are spread over them and "
                  "requests queued in one line are issued in groups across its billing points (default 2; "
                  "0: a line per billing point)"),
    AP_INIT_TAKE1("InvoicePdfRenders", set_int,
                  INT_ARG(pdf_renders, 1, 64, "layout files rendered at once per process"), RSRC_CONF,
                  "layout files rendered at once per process (default: one per CPU); more wait in line"),
    AP_INIT_TAKE1("InvoicePdfWait", set_int, INT_ARG(pdf_wait, 0, 60, "seconds"), RSRC_CONF,
                  "seconds a first download waits in line for a render before 503 HG_INVOICE_PDF_BUSY "
                  "(default 10; per virtual host)"),
    AP_INIT_TAKE12("InvoiceStockLow", set_stock_low, NULL, RSRC_CONF,
                   "unused e-bill numbers [and paper numbers] of a billing point below which its stock is "
                   "low: /hg/status, /hg/metrics and the console say so (default 1000 and 200; 0: no warning)"),
    AP_INIT_TAKE2("InvoiceSMSGateway", set_sms, NULL, RSRC_CONF,
                  "SMS gateway URL and the signature text (【医院名】)"),
    AP_INIT_TAKE2("InvoiceWeChatGateway", set_wechat, NULL, RSRC_CONF,
                  "WeChat template-message URL and template id"),
    AP_INIT_TAKE_ARGV("InvoiceMail", set_mail, NULL, RSRC_CONF,
                      "SMTP server URL and sender address [user password]: patients' bills by e-mail (发送到邮箱)"),
    AP_INIT_TAKE_ARGV("InvoiceWxCard", set_wxcard, NULL, RSRC_CONF,
                      "s_pappid card_id [appid], or Off: patients put bills into the WeChat card package (微信卡包)"),
    { NULL }
};

/* ---------------------------------------------------------------- helpers */

/* invoice_ctx_t's way to give the connection back while waiting in a line of issuance */
static void ctx_db_release(void *baton)
{
    hg_call_db_release(baton);
}

static apr_status_t ctx_db_reacquire(void *baton, hg_db_t **db)
{
    hg_call_t *c = baton;
    apr_status_t rv = hg_call_db_reacquire(c);
    *db = c->db;
    c->err = NULL;          /* the store decides whether that fails the call (and says so in x->err) */
    return rv;
}

invoice_ctx_t *invoice_call_ctx(hg_call_t *c)
{
    invoice_ctx_t *x = apr_pcalloc(c->pool, sizeof(*x));
    x->db = c->db;
    x->p = c->pool;
    x->institution = c->institution;
    x->institution_name = G->institution_name;
    x->master_key = c->master_key;
    x->seal_key = G->seal_key;
    x->public_url = G->public_url;
    x->issue_group = issue_group;
    x->issue_group_max = G->issue_group_max;
    x->issue_lanes = issue_lanes;
    x->db_release = ctx_db_release;
    x->db_reacquire = ctx_db_reacquire;
    x->db_baton = c;
    return x;
}

/* a store error becomes the call's error (business errors carry their own envelope) */
apr_status_t invoice_call_failed(hg_call_t *c, invoice_ctx_t *x, apr_status_t rv)
{
    if (x->err)
        c->err = x->err;
    return rv;
}

const char *invoice_qr_png_b64(hg_call_t *c, const char *text)
{
    const unsigned char *png;
    apr_size_t len;
    if (hg_qr_png(&png, &len, c->pool, text, 4) != APR_SUCCESS)
        return "";
    return hg_base64_encode(c->pool, png, len);
}

/* the issue answer in the Bosi names (fiscal-einvoice.md §4.1); state and isScarlet in the codes of
 * §4.4, as getEBillStatesByBillInfo answers them (1 正常; 0 未开红票 / 1 已开红票: a resend after a
 * red-flush says so), our own words in billState and isRedBill */
static json_t *issue_answer(hg_call_t *c, invoice_ctx_t *x, const invoice_bill_t *b, int replayed)
{
    const char *url = invoice_h5_url(x, b);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:b}",
                     "busNo", b->bus_no, "billBatchCode", b->bill_batch_code, "billNo", b->bill_no,
                     "random", b->random, "createTime", b->create_time, "billQRCode", invoice_qr_png_b64(c, url),
                     "pictureUrl", url, "pictureNetUrl", url, "state", "1",
                     "isScarlet", !strcmp(b->state, "flushed") ? "1" : "0", "billState", b->state,
                     "isRedBill", b->is_scarlet, "totalAmt", hg_money_format(c->pool, b->total_fen),
                     "replayed", replayed);
}

static json_t *state_answer(hg_call_t *c, invoice_ctx_t *x, invoice_bill_t *b)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:b, s:s}",
        "billBatchCode", b->bill_batch_code, "billNo", b->bill_no, "busNo", b->bus_no,
        "random", b->random, "createTime", b->create_time,
        /* Bosi: state 1 正常 / 2 作废; isScarlet 0 未开红票 / 1 已开红票 */
        "state", "1", "isScarlet", !strcmp(b->state, "flushed") ? "1" : "0",
        "isRedBill", b->is_scarlet, "billState", b->state, "totalAmt", hg_money_format(c->pool, b->total_fen),
        "uploaded", !strcmp(b->upload_state, "done"), "uploadState", b->upload_state);
    json_object_set_new(o, "paper", b->paper_no ? json_pack("{s:s, s:s}", "pBillBatchCode",
                        b->paper_batch_code, "pBillNo", b->paper_no) : json_null());
    if (b->supervision)
        json_object_set_new(o, "supervision", json_loads(b->supervision, 0, NULL));
    if (b->related_id) {
        invoice_bill_t *rel;
        if (invoice_find_id(x, b->related_id, &rel) == APR_SUCCESS)
            json_object_set_new(o, "relatedBill", json_pack("{s:s, s:s}", "billBatchCode",
                                rel->bill_batch_code, "billNo", rel->bill_no));
    }
    return o;
}

/* ---------------------------------------------------------------- the HIS services */

static const hg_field_t BILLREF_SCHEMA[] = {
    { .name = "billBatchCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "billNo", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20 },
    HG_FIELDS_END
};
static const hg_field_t BUSNO_SCHEMA[] = {
    { .name = "busNo", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    HG_FIELDS_END
};
static const hg_field_t PAPERNO_SCHEMA[] = {
    { .name = "placeCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "pBillBatchCode", .type = HG_JT_STRING, .max_len = 50 },
    HG_FIELDS_END
};

#define INVOICE_BATCH_MAX 500

/* The answer (the QR drawn) and the call's journal row go with the bill's COMMIT, in its round
 * trip, so that a bill costs the database one commit and is never stored without its journal row:
 * a bill issued alone commits them itself (commit_issue); a bill of a group gives them to the
 * group's statement (journal_issue), which another request's connection sends. */
static apr_status_t commit_issue(invoice_ctx_t *x, const invoice_bill_t *b, const hg_db_stmt_t *last,
                                 hg_db_result_t **r)
{
    hg_call_t *c = x->db_baton;
    apr_status_t rv;
    if (c->db != x->db)         /* not the call's connection: no journal row to go with it */
        return hg_db_pipeline(x->db, r, last, 1, HG_DB_COMMIT);
    rv = hg_call_commit_answer(c, 200, issue_answer(c, x, b, 0), r, last);
    x->answered = rv == APR_SUCCESS;
    return rv;
}

static apr_status_t journal_issue(invoice_ctx_t *x, const invoice_bill_t *b, const char ***cols)
{
    hg_call_t *c = x->db_baton;
    return hg_call_answer_journal(c, 200, issue_answer(c, x, b, 0), cols);
}

static apr_status_t svc_issue(hg_call_t *c, invoice_ctx_t *x, invoice_kind_t kind)
{
    invoice_bill_t *b;
    int replayed;
    apr_status_t rv;
    x->commit_issue = commit_issue;
    x->journal_issue = journal_issue;
    if ((rv = invoice_issue(x, kind, c->json, &b, &replayed)))
        return invoice_call_failed(c, x, rv);
    if (x->answered) {
        hg_call_journalled(c);
        return APR_SUCCESS;
    }
    return hg_call_answer(c, 200, issue_answer(c, x, b, replayed));
}

/* a batch answers per item; each item is its own transaction, so one bad bill stops nothing */
static apr_status_t svc_batch(hg_call_t *c, invoice_ctx_t *x, invoice_kind_t kind)
{
    json_t *items = json_object_get(c->json, "items"), *results, *it;
    apr_size_t i;
    int ok = 0;
    hg_call_json_heap(c);       /* 500 bills' worth of dropped JSON: freed as it goes */
    if (!json_is_array(items) || json_array_size(items) == 0)
        return hg_call_fail(c, "HG_FIELD_REQUIRED", "items", "items: an array of 1 to 500 bills");
    if (json_array_size(items) > INVOICE_BATCH_MAX)
        return hg_call_fail(c, "HG_TOO_MANY_ITEMS", "items", "at most 500 bills in one batch");
    results = json_array();
    json_array_foreach(items, i, it) {
        invoice_bill_t *b;
        int replayed = 0;
        apr_status_t rv;
        x->err = NULL;
        rv = json_is_object(it) ? invoice_issue(x, kind, it, &b, &replayed) : HG_EINVALID;
        if (rv == APR_SUCCESS) {
            json_t *a = issue_answer(c, x, b, replayed);
            json_object_set_new(a, "index", json_integer((json_int_t)i));
            json_object_set_new(a, "ok", json_true());
            json_array_append_new(results, a);
            ok++;
        }
        else {
            hg_error_t *e = x->err ? x->err : hg_error_make(c->pool, json_is_object(it) ? "HG_INTERNAL"
                                                            : "HG_JSON_NOT_OBJECT", NULL, NULL);
            if (c->db)
                hg_db_rollback(c->db);
            json_array_append_new(results, json_pack("{s:I, s:b, s:{s:s, s:s, s:s?}}", "index", (json_int_t)i,
                                  "ok", 0, "error", "code", e->code, "message", e->message, "field", e->field));
        }
    }
    return hg_call_answer(c, 200, json_pack("{s:i, s:i, s:o}", "issued", ok,
                                            "failed", (int)json_array_size(items) - ok, "results", results));
}

static apr_status_t svc_flush(hg_call_t *c, invoice_ctx_t *x, int deposit)
{
    invoice_bill_t *red;
    int replayed;
    const char *url;
    apr_status_t rv = (deposit ? invoice_flush_deposit : invoice_flush)(x, c->json, &red, &replayed);
    if (rv)
        return invoice_call_failed(c, x, rv);
    url = invoice_h5_url(x, red);
    return hg_call_answer(c, 200, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
        "eScarletBillBatchCode", red->bill_batch_code, "eScarletBillNo", red->bill_no,
        "eScarletRandom", red->random, "createTime", red->create_time, "billQRCode", invoice_qr_png_b64(c, url),
        "pictureUrl", url, "pictureNetUrl", url, "totalAmt", hg_money_format(c->pool, red->total_fen),
        "replayed", replayed));
}

static apr_status_t svc_state(hg_call_t *c, invoice_ctx_t *x, int by_bus)
{
    invoice_bill_t *b;
    apr_status_t rv;
    if ((rv = hg_json_validate(c->pool, c->json, by_bus ? BUSNO_SCHEMA : BILLREF_SCHEMA, &c->err)))
        return rv;
    rv = by_bus ? invoice_find_bus(x, hg_json_gets(c->json, "busNo", NULL), &b)
                : invoice_find(x, hg_json_gets(c->json, "billBatchCode", NULL),
                               hg_json_gets(c->json, "billNo", NULL), &b);
    if (rv)
        return invoice_call_failed(c, x, rv);
    return hg_call_answer(c, 200, state_answer(c, x, b));
}

static apr_status_t svc_paper(hg_call_t *c, invoice_ctx_t *x, const char *service)
{
    const char *pb, *pn;
    int replayed = 0;
    apr_status_t rv;
    if (!strcmp(service, "getPaperBillNo")) {
        if ((rv = hg_json_validate(c->pool, c->json, PAPERNO_SCHEMA, &c->err)))
            return rv;
        if ((rv = invoice_paper_next(x, hg_json_gets(c->json, "placeCode", NULL),
                                     hg_json_gets(c->json, "pBillBatchCode", NULL), &pb, &pn)))
            return invoice_call_failed(c, x, rv);
        return hg_call_answer(c, 200, json_pack("{s:s, s:s}", "pBillBatchCode", pb, "pBillNo", pn));
    }
    if (!strcmp(service, "turnPaper") || !strcmp(service, "reTurnPaper")) {
        if ((rv = invoice_paper_turn(x, c->json, service[0] == 'r', &pb, &pn, &replayed)))
            return invoice_call_failed(c, x, rv);
        return hg_call_answer(c, 200, json_pack("{s:s, s:s, s:s, s:s, s:b}", "billBatchCode",
                              hg_json_gets(c->json, "billBatchCode", NULL), "billNo",
                              hg_json_gets(c->json, "billNo", NULL), "pBillBatchCode", pb, "pBillNo", pn,
                              "replayed", replayed));
    }
    if (!strcmp(service, "invalidPaper")) {
        if ((rv = invoice_paper_void(x, c->json)))
            return invoice_call_failed(c, x, rv);
        return hg_call_answer(c, 200, json_pack("{s:s, s:s, s:s}", "billBatchCode",
                              hg_json_gets(c->json, "billBatchCode", NULL), "billNo",
                              hg_json_gets(c->json, "billNo", NULL), "paperState", "void"));
    }
    if ((rv = invoice_blank_void(x, c->json)))
        return invoice_call_failed(c, x, rv);
    return hg_call_answer(c, 200, json_pack("{s:s, s:s, s:s}", "pBillBatchCode",
                          hg_json_gets(c->json, "pBillBatchCode", NULL), "pBillNo",
                          hg_json_gets(c->json, "pBillNo", NULL), "state", "void"));
}

/* the patient's check code against the bill's: the length first (it is no secret), so that a short
 * one is never read past its end, then in constant time */
static int check_code_ok(const invoice_bill_t *b, const char *rnd)
{
    apr_size_t n = strlen(b->random);
    return strlen(rnd) == n && hg_ct_equal(b->random, rnd, n);
}

/* getBillDetail: the bill's code, number and check code give its whole detail — the state as
 * getEBillStatesByBillInfo answers it, and the business data as issued, in the Bosi names */
static apr_status_t svc_detail(hg_call_t *c, invoice_ctx_t *x)
{
    static const hg_field_t schema[] = {
        { .name = "billBatchCode", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
        { .name = "billNo", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20 },
        { .name = "random", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20 },
        HG_FIELDS_END
    };
    invoice_bill_t *b;
    json_t *doc, *o;
    apr_status_t rv;
    if ((rv = hg_json_validate(c->pool, c->json, schema, &c->err)))
        return rv;
    if ((rv = invoice_find(x, hg_json_gets(c->json, "billBatchCode", NULL), hg_json_gets(c->json, "billNo", NULL),
                           &b)))
        return invoice_call_failed(c, x, rv);
    if (!check_code_ok(b, hg_json_gets(c->json, "random", NULL)))
        return hg_call_fail(c, "HG_INVOICE_NOT_FOUND", "random", "no bill with this code, number and check code");
    if ((rv = invoice_doc(x, b, &doc)))
        return rv;
    o = state_answer(c, x, b);
    json_object_set_new(o, "billName", json_string(hg_json_gets(doc, "title", NULL)));
    json_object_set_new(o, "institutionName", json_string(hg_json_gets(doc, "institutionName", NULL)));
    json_object_update_missing(o, json_object_get(doc, "data"));
    return hg_call_answer(c, 200, o);
}

/* getEBillUnPrintList: a patient's e-bills that could still be printed on paper (blue, normal, no
 * live paper), by card and business period, a page at a time, newest first */
static apr_status_t svc_unprinted(hg_call_t *c, invoice_ctx_t *x)
{
    invoice_list_query_t q;
    invoice_bill_t **bills;
    json_t *list;
    int i, n, total = 0, first;
    apr_status_t rv;
    if ((rv = invoice_list_query(&q, c->pool, c->json, &c->err)))
        return rv;
    if ((rv = invoice_unprinted(x, &q, &bills, &n)))
        return invoice_call_failed(c, x, rv);
    first = (q.page_no - 1) * q.page_size;
    list = hg_json_own(c->pool, json_array());
    for (i = 0; i < n; i++) {
        json_t *doc, *data;
        const char *url;
        if ((rv = invoice_doc(x, bills[i], &doc)))
            return rv;
        if (!invoice_list_match(&q, doc))
            continue;
        if (total++ < first || (int)json_array_size(list) >= q.page_size)
            continue;
        data = json_object_get(doc, "data");
        url = invoice_h5_url(x, bills[i]);
        json_array_append_new(list, json_pack("{s:s?, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s, s:s, s:s?, s:s?, s:s, "
            "s:s, s:s}", "billName", hg_json_gets(doc, "title", NULL), "billBatchCode", bills[i]->bill_batch_code,
            "billNo", bills[i]->bill_no, "random", bills[i]->random, "busNo", bills[i]->bus_no,
            "busType", hg_json_gets(data, "busType", NULL), "busDateTime", hg_json_gets(data, "busDateTime", NULL),
            "createTime", bills[i]->create_time, "totalAmt", hg_money_format(c->pool, bills[i]->total_fen),
            "payer", hg_json_gets(data, "payer", NULL), "patientId", hg_json_gets(data, "patientId", NULL),
            "placeCode", bills[i]->place_code, "pictureUrl", url, "pictureNetUrl", url));
    }
    return hg_call_answer(c, 200, json_pack("{s:i, s:i, s:i, s:O}", "total", total, "pageNo", q.page_no,
                                            "pageSize", q.page_size, "billList", list));
}

/* getValidBillBatchCode (the paper bill codes a billing point can still print on, with how many
 * numbers each has left) and getValidBillNo (its ranges of unused paper numbers, 有效号段) */
static apr_status_t svc_paper_stock(hg_call_t *c, invoice_ctx_t *x, int ranges)
{
    const char *place;
    hg_db_result_t *r;
    json_t *list;
    int i;
    apr_status_t rv;
    if ((rv = hg_json_validate(c->pool, c->json, PAPERNO_SCHEMA, &c->err)))
        return rv;
    place = hg_json_gets(c->json, "placeCode", NULL);
    if ((rv = invoice_paper_ranges(x, place, ranges ? hg_json_gets(c->json, "pBillBatchCode", NULL) : NULL, &r)))
        return invoice_call_failed(c, x, rv);
    list = hg_json_own(c->pool, json_array());
    for (i = 0; i < r->nrows; i++) {
        const char *code = hg_db_val(r, i, 0);
        apr_int64_t next, end;
        char from[11], to[11];
        if (!code)
            continue;
        next = apr_atoi64(hg_db_val(r, i, 1));
        end = apr_atoi64(hg_db_val(r, i, 2));
        if (ranges) {
            invoice_format_paper_no(from, next);
            invoice_format_paper_no(to, end);
            json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I}", "pBillBatchCode", code, "startNo", from,
                                                  "endNo", to, "remaining", (json_int_t)(end - next + 1)));
        }
        else {
            /* a code with several ranges, together or not: one entry, their numbers added up */
            apr_size_t k;
            json_t *entry = NULL, *e;
            json_array_foreach(list, k, e)
                if (!strcmp(hg_json_gets(e, "pBillBatchCode", NULL), code))
                    entry = e;
            if (entry)
                json_object_set_new(entry, "remaining", json_integer(json_integer_value(json_object_get(entry,
                                    "remaining")) + (json_int_t)(end - next + 1)));
            else
                json_array_append_new(list, json_pack("{s:s, s:I}", "pBillBatchCode", code,
                                                      "remaining", (json_int_t)(end - next + 1)));
        }
    }
    return hg_call_answer(c, 200, json_pack("{s:s, s:O}", "placeCode", place, ranges ? "ranges" : "billBatchCodes",
                                            list));
}

static apr_status_t svc_offline_link(hg_call_t *c, invoice_ctx_t *x)
{
    char *tok;
    const char *bus;
    apr_status_t rv;
    if ((rv = hg_json_validate(c->pool, c->json, BUSNO_SCHEMA, &c->err)))
        return rv;
    if (!G->link_key_set)
        return hg_call_fail(c, "HG_INTERNAL", NULL, "InvoiceLinkKey is not configured");
    bus = hg_json_gets(c->json, "busNo", NULL);
    if ((rv = invoice_offline_token(&tok, c->pool, G->link_key, c->institution, bus)))
        return rv;
    return hg_call_answer(c, 200, json_pack("{s:s, s:s}", "busNo", bus, "url",
        apr_psprintf(c->pool, "%s/invoice/o.html#i=%s&b=%s&t=%s", G->public_url ? G->public_url : "",
                     c->institution, ap_escape_uri(c->pool, bus), tok)));
}

/* POST /invoice/api/v1/<service>[/batch] */
static apr_status_t route_api(hg_call_t *c)
{
    invoice_ctx_t *x = invoice_call_ctx(c);
    const char *svc = c->path_rest;
    char *slash = strchr(svc, '/');
    int batch = 0, kind;
    if (slash) {
        if (strcmp(slash, "/batch"))
            return hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
        svc = apr_pstrndup(c->pool, svc, slash - svc);
        batch = 1;
    }
    if (!G->seal_key)
        return hg_call_fail(c, "HG_INTERNAL", NULL, "InvoiceSealKey is not configured");
    if ((kind = invoice_kind_from_service(svc)) >= 0)
        return batch ? svc_batch(c, x, (invoice_kind_t)kind) : svc_issue(c, x, (invoice_kind_t)kind);
    if (batch)
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, "only issue services have a /batch form");
    if (!strcmp(svc, "writeOffEBill") || !strcmp(svc, "writeOffPayMentVoucher"))
        return svc_flush(c, x, !strcmp(svc, "writeOffPayMentVoucher"));
    if (!strcmp(svc, "getEBillStatesByBillInfo"))
        return svc_state(c, x, 0);
    if (!strcmp(svc, "getEBillByBusNo"))
        return svc_state(c, x, 1);
    if (!strcmp(svc, "getPaperBillNo") || !strcmp(svc, "turnPaper") || !strcmp(svc, "reTurnPaper")
        || !strcmp(svc, "invalidPaper") || !strcmp(svc, "invalidBlankBillNo"))
        return svc_paper(c, x, svc);
    if (!strcmp(svc, "getOfflineLink"))
        return svc_offline_link(c, x);
    if (!strcmp(svc, "getBillDetail"))
        return svc_detail(c, x);
    if (!strcmp(svc, "getEBillUnPrintList"))
        return svc_unprinted(c, x);
    if (!strcmp(svc, "getValidBillBatchCode") || !strcmp(svc, "getValidBillNo"))
        return svc_paper_stock(c, x, !strcmp(svc, "getValidBillNo"));
    return hg_call_fail(c, "HG_NOT_FOUND", NULL, apr_psprintf(c->pool, "no service '%s'", svc));
}

static apr_status_t send_pdf(hg_call_t *c, const char *pdf, apr_size_t len, const char *name)
{
    c->out_body = pdf;
    c->out_len = len;
    c->out_type = "application/pdf";
    apr_table_setn(c->r->headers_out, "Content-Disposition",
                   apr_psprintf(c->pool, "inline; filename=\"%s.pdf\"", name));
    return APR_SUCCESS;
}

/* A bill's layout file (notice: the 告知单) without holding a database connection during the
 * render (tens of milliseconds of CPU for a long bill): a cached file is answered at once;
 * otherwise the connection and its slot go back for the render and are taken again only to store
 * the file in the cache.  A cache write that cannot get a connection or fails costs a render next
 * time, nothing else.
 * Renders wait in line for one of InvoicePdfRenders: a burst of first downloads (a ward's bills
 * after discharge) with a thread each would leave every runnable thread a sliver of the CPU, and
 * the requests holding database slots meanwhile would hold them that much longer — other calls
 * then waited out HisgateDBWait and got 503. */
static apr_status_t bill_pdf(hg_call_t *c, invoice_ctx_t *x, const invoice_bill_t *b, int notice,
                             const char **pdf, apr_size_t *len)
{
    invoice_conf_t *here;
    apr_status_t rv;
    int wait;
    if (!notice && (rv = invoice_pdf_cached(x, b, pdf, len)) != HG_ENOTFOUND)
        return rv;
    hg_call_db_release(c);
    x->db = NULL;
    here = ap_get_module_config(c->r->server->module_config, &invoice_module);
    wait = here && here->pdf_wait >= 0 ? here->pdf_wait : RENDER_WAIT;
    if (!render_line || hg_slots_take(render_line, 0, apr_time_from_sec(wait)) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, c->r, "HG10004: no PDF render free within %d s "
                      "(InvoicePdfRenders, InvoicePdfWait)", wait);
        return hg_call_fail(c, "HG_INVOICE_PDF_BUSY", NULL, NULL);
    }
    rv = notice ? invoice_notice_pdf(x, b, pdf, len) : invoice_pdf_make(x, b, pdf, len);
    hg_slots_give(render_line);
    if (rv || notice)
        return rv;
    if (hg_call_db_reacquire(c) != APR_SUCCESS) {
        c->err = NULL;
        return APR_SUCCESS;
    }
    x->db = c->db;
    invoice_pdf_store(x, b, *pdf, *len);
    return APR_SUCCESS;
}

/* the layout file as base64 for an outbox payload (e-mail attachment, card package upload): from
 * the cache or rendered, and the database connection taken again for the write that follows */
static apr_status_t bill_pdf_base64(hg_call_t *c, invoice_ctx_t *x, const invoice_bill_t *b, const char **b64)
{
    const char *pdf;
    apr_size_t len;
    apr_status_t rv;
    if ((rv = bill_pdf(c, x, b, 0, &pdf, &len)))
        return rv;
    if (!c->db && (rv = hg_call_db_reacquire(c)))
        return rv;
    x->db = c->db;
    *b64 = hg_base64_encode(c->pool, pdf, len);
    return APR_SUCCESS;
}

/* GET /invoice/api/v1/bills/<code>/<no>/pdf | /notice */
static apr_status_t route_api_get(hg_call_t *c)
{
    invoice_ctx_t *x = invoice_call_ctx(c);
    char *rest = apr_pstrdup(c->pool, c->path_rest), *last;
    const char *code = apr_strtok(rest, "/", &last), *no = apr_strtok(NULL, "/", &last),
               *what = apr_strtok(NULL, "/", &last), *pdf;
    invoice_bill_t *b;
    apr_size_t len;
    apr_status_t rv;
    if (!code || !no || !what || apr_strtok(NULL, "/", &last) || (strcmp(what, "pdf") && strcmp(what, "notice")))
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
    if ((rv = invoice_find(x, code, no, &b)))
        return invoice_call_failed(c, x, rv);
    if ((rv = bill_pdf(c, x, b, strcmp(what, "pdf") != 0, &pdf, &len)))
        return invoice_call_failed(c, x, rv);
    return send_pdf(c, pdf, len, apr_pstrcat(c->pool, code, "-", no, !strcmp(what, "pdf") ? "" : "-notice", NULL));
}

/* ---------------------------------------------------------------- the window (staff console) */

/* what the cashier at the window does to one bill, with the HIS services' own code and answers:
 * POST /invoice/staff/v1/bill/<code>/<no>/<action>, action flush (冲红; a deposit voucher's goes up
 * as writeOffPayMentVoucher), paper (换开纸质: the next number of the billing point's paper stock),
 * repaper (重新换开), paper-void (作废纸质).  Body: reason (flush, paper-void), placeCode (the
 * billing point whose stock the red bill or the paper comes from; the bill's own by default).  The
 * operator is the logged-in user, the time now: what the HIS would send for its cashier. */
static const hg_field_t WINDOW_SCHEMA[] = {
    { .name = "reason", .type = HG_JT_STRING, .max_len = 200 },
    { .name = "placeCode", .type = HG_JT_STRING, .max_len = 50, .pattern = "[0-9A-Za-z_-]+" },
    { .name = "tel", .type = HG_JT_STRING, .pattern = "1[3-9][0-9]{9}" },
    HG_FIELDS_END_CLOSED
};

/* …/notify: the bill's SMS with its H5 link again (患者没收到短信), to the phone the cashier types or
 * the one on the bill; each call queues one message (the operator and time are in the audit row) */
static apr_status_t window_notify(hg_call_t *c, invoice_ctx_t *x, invoice_bill_t *b)
{
    const char *tel = hg_json_gets(c->json, "tel", NULL), *payload;
    hg_db_result_t *r;
    char *sealed = NULL;
    apr_status_t rv;
    int created;
    if (!tel || !*tel) {
        unsigned char *raw;
        apr_size_t len;
        if ((rv = hg_db_q(c->db, &r, "SELECT tel_sealed FROM invoice.bills WHERE id = $1::bigint", 1,
                          apr_off_t_toa(c->pool, b->id))))
            return rv;
        if (!r->nrows || !hg_db_val(r, 0, 0)
            || hg_secret_open(&raw, &len, c->pool, c->master_key, hg_db_val(r, 0, 0)) != APR_SUCCESS)
            return hg_call_fail(c, "HG_FIELD_REQUIRED", "tel", "the bill has no phone: type the patient's");
        tel = apr_pstrmemdup(c->pool, (const char *)raw, len);
    }
    payload = hg_json_dump(c->pool, invoice_notice_payload(x, "sms", tel, b, NULL), 0);
    if ((rv = hg_secret_seal_packed(&sealed, c->pool, c->master_key, payload, strlen(payload)))
        || (rv = hg_outbox_enqueue(c->db, "invoice.notify", c->institution,
                                   apr_pstrcat(c->pool, "resend:", apr_off_t_toa(c->pool, b->id), ":", c->request_id, NULL),
                                   hg_json_dump(c->pool, hg_json_own(c->pool, json_pack("{s:s}", "sealed", sealed)), 0),
                                   8, &created)))
        return rv;
    return hg_call_answer(c, 202, json_pack("{s:b, s:s, s:s, s:s}", "queued", 1, "billBatchCode", b->bill_batch_code,
                                            "billNo", b->bill_no, "tel", invoice_mask_phone(c->pool, tel)));
}

const char *invoice_staff_operator(hg_call_t *c)
{
    const char *name = c->staff_name && *c->staff_name ? c->staff_name : c->staff_user ? c->staff_user : "";
    const char *e = name;
    int n = 0;
    /* whole UTF-8 characters only */
    while (*e && n < INVOICE_RED_OPERATOR_MAX) {
        e++;
        while ((*e & 0xC0) == 0x80)
            e++;
        n++;
    }
    return apr_pstrmemdup(c->pool, name, (apr_size_t)(e - name));
}

static const char *now17(apr_pool_t *p)
{
    apr_time_exp_t t;
    hg_time_exp_cn(&t, apr_time_now());
    return apr_psprintf(p, "%04d%02d%02d%02d%02d%02d%03d", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                        t.tm_hour, t.tm_min, t.tm_sec, t.tm_usec / 1000);
}

apr_status_t invoice_window_action(hg_call_t *c)
{
    invoice_ctx_t *x = invoice_call_ctx(c);
    char *rest = apr_pstrdup(c->pool, c->path_rest), *last;
    const char *code = apr_strtok(rest, "/", &last), *no = apr_strtok(NULL, "/", &last),
               *what = apr_strtok(NULL, "/", &last), *reason, *place;
    invoice_bill_t *b;
    json_t *req;
    apr_status_t rv;
    int flush, void_paper;

    if (!code || !no || !what || apr_strtok(NULL, "/", &last)
        || (strcmp(what, "flush") && strcmp(what, "paper") && strcmp(what, "repaper") && strcmp(what, "paper-void")
            && strcmp(what, "notify")))
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
    if ((rv = hg_json_validate(c->pool, c->json, WINDOW_SCHEMA, &c->err)))
        return rv;
    flush = !strcmp(what, "flush");
    void_paper = !strcmp(what, "paper-void");
    reason = hg_json_gets(c->json, "reason", NULL);
    if ((flush || void_paper) && (!reason || !*reason))
        return hg_call_fail(c, "HG_FIELD_REQUIRED", "reason", flush ? "冲红原因" : "作废原因");
    if (flush && !G->seal_key)
        return hg_call_fail(c, "HG_INTERNAL", NULL, "InvoiceSealKey is not configured");
    if ((rv = invoice_find(x, code, no, &b)))
        return invoice_call_failed(c, x, rv);
    if (!strcmp(what, "notify"))
        return window_notify(c, x, b);
    place = hg_json_gets(c->json, "placeCode", NULL);
    req = hg_json_own(c->pool, json_pack("{s:s, s:s, s:s, s:s, s:s}", "billBatchCode", b->bill_batch_code,
                      "billNo", b->bill_no, "operator", invoice_staff_operator(c), "busDateTime", now17(c->pool),
                      "placeCode", place && *place ? place : b->place_code));
    if (reason && *reason)
        json_object_set_new(req, "reason", json_string(reason));
    c->json = req;
    if (flush) {
        /* the red bill is the cashier's, like a bill issued at the console (the list's 开票人) */
        if ((rv = svc_flush(c, x, 0)) || !c->out || json_is_true(json_object_get(c->out, "replayed")) || !c->db)
            return rv;
        if (hg_db_q(c->db, NULL, "UPDATE invoice.bills SET issued_by = $3 WHERE institution = $4 AND "
                    "bill_batch_code = $1 AND bill_no = $2 AND issued_by IS NULL", 4,
                    hg_json_gets(c->out, "eScarletBillBatchCode", NULL), hg_json_gets(c->out, "eScarletBillNo", NULL),
                    c->staff_user, c->institution) != APR_SUCCESS)
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, c->r, "HG10015: red bill of %s %s flushed by %s, operator "
                          "not recorded: %s", b->bill_batch_code, b->bill_no, c->staff_user,
                          c->db->errmsg ? c->db->errmsg : "");
        return APR_SUCCESS;
    }
    return svc_paper(c, x, void_paper ? "invalidPaper" : !strcmp(what, "repaper") ? "reTurnPaper" : "turnPaper");
}

/* the window's paper stock, as the HIS's services have it: POST /invoice/staff/v1/paper/next
 * {placeCode[, pBillBatchCode]} is the next paper number (getPaperBillNo), POST …/paper/blank-void
 * {placeCode, pBillBatchCode, pBillNo, reason} voids it blank (invalidBlankBillNo: a jammed or
 * spoilt sheet; only the next unused number), the logged-in cashier as operator */
apr_status_t invoice_window_paper(hg_call_t *c)
{
    invoice_ctx_t *x = invoice_call_ctx(c);
    if (!json_is_object(c->json))
        return hg_call_fail(c, "HG_JSON_NOT_OBJECT", NULL, NULL);
    if (!strcmp(c->path_rest, "next"))
        return svc_paper(c, x, "getPaperBillNo");
    if (strcmp(c->path_rest, "blank-void"))
        return hg_call_fail(c, "HG_NOT_FOUND", NULL, NULL);
    json_object_set_new(c->json, "operator", json_string(invoice_staff_operator(c)));
    return svc_paper(c, x, "invalidBlankBillNo");
}

/* GET /invoice/staff/v1/bill/<code>/<no>/pdf | notice: the layout file or the 告知单 to print */
apr_status_t invoice_window_pdf(hg_call_t *c)
{
    return route_api_get(c);
}

/* ---------------------------------------------------------------- outbox topics */

/* payloads are sealed (they carry personal data): open, then hand the adapter the plain item.
 * open_field: o[key] opened with the master key; what does not open will not by waiting: permanent */
static apr_status_t open_field(const char **text, apr_size_t *len, apr_pool_t *p, json_t *o, const char *key,
                               hg_outbox_outcome_t *out)
{
    const char *sealed = hg_json_gets(o, key, NULL);
    unsigned char *raw;
    if (!sealed || !G->master_key || hg_secret_open(&raw, len, p, G->master_key, sealed) != APR_SUCCESS) {
        out->permanent = 1;
        out->error = "outbox payload does not open with the master key";
        return HG_ECRYPTO;
    }
    *text = apr_pstrmemdup(p, (const char *)raw, *len);
    return APR_SUCCESS;
}

static apr_status_t open_item(apr_pool_t *p, const hg_outbox_item_t *item, hg_outbox_item_t *plain,
                              hg_outbox_outcome_t *out)
{
    apr_size_t len;
    *plain = *item;
    return open_field(&plain->payload, &len, p, hg_json_own(p, json_loads(item->payload, 0, NULL)), "sealed", out);
}

/* a bill's upload row reaches the delivery with its bill's sealed document and seal (completed by
 * INVOICE_UPLOAD_PAYLOAD_SQL; rows queued by earlier versions carry them): the upload is rebuilt
 * from them; paper events (and rows queued before those) carry their sealed upload whole */
static apr_status_t open_upload(apr_pool_t *p, const hg_outbox_item_t *item, hg_outbox_item_t *plain,
                                hg_outbox_outcome_t *out)
{
    json_t *o = hg_json_own(p, json_loads(item->payload, 0, NULL)), *doc = NULL, *up = NULL;
    const char *service = hg_json_gets(o, "service", NULL), *text;
    apr_size_t len;
    apr_status_t rv;
    *plain = *item;
    if (!json_object_get(o, "docSealed"))
        return open_field(&plain->payload, &len, p, o, "sealed", out);
    if ((rv = open_field(&text, &len, p, o, "docSealed", out)))
        return rv;
    if (hg_json_parse(&doc, p, text, len, 0, NULL) != APR_SUCCESS
        || invoice_upload_data(&up, p, doc, hg_json_gets(o, "sealSignature", NULL)) != APR_SUCCESS || !service
        || !(plain->payload = hg_json_dump(p, hg_json_own(p, json_pack("{s:s, s:O}", "service", service, "data", up)),
                                           0))) {
        out->permanent = 1;
        out->error = "invoice.upload payload does not hold a bill document, its seal and a service";
        return HG_EINVALID;
    }
    return APR_SUCCESS;
}

static apr_status_t deliver_upload(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                   hg_outbox_outcome_t *out)
{
    hg_outbox_item_t plain;
    apr_status_t rv = open_upload(p, item, &plain, out);
    return rv ? rv : invoice_fiscal_deliver(p, &plain, &G->fiscal, out);
}

/* an e-mail queued with its bill carries the document, not the file: drawn here, in the delivery,
 * in line with the downloads (InvoicePdfRenders; a short wait, then the outbox tries again later) */
static apr_status_t render_mail_pdf(const char **pdf, apr_size_t *len, apr_pool_t *p, json_t *render,
                                    const char **why)
{
    const char *text = hg_json_gets(render, "doc", NULL);
    json_t *doc = NULL;
    apr_status_t rv;
    if (!text || hg_json_parse(&doc, p, text, strlen(text), 0, NULL) != APR_SUCCESS || !json_is_object(doc)) {
        *why = "render.doc is not the bill's document";
        return HG_EINVALID;
    }
    if (!render_line)
        return APR_EAGAIN;
    /* up to 5 s, in 250 ms steps, so that a child that is stopping does not sit here past its drain's
     * cut; after the first step it waits ahead of downloads that came later */
    if (hg_slots_take_unless(render_line, 0, apr_time_from_sec(5), apr_time_from_msec(250), hg_http_aborting))
        return APR_EAGAIN;
    rv = invoice_pdf_render(pdf, len, p, doc, hg_json_gets(render, "url", NULL), hg_json_gets(render, "sealStatus", NULL));
    hg_slots_give(render_line);
    if (rv)
        *why = "invoice_pdf_render failed";
    return rv;
}

static apr_status_t deliver_notify(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                   hg_outbox_outcome_t *out)
{
    hg_outbox_item_t plain;
    apr_status_t rv = open_item(p, item, &plain, out);
    return rv ? rv : invoice_notify_deliver(p, &plain, &G->notify, out);
}

static apr_status_t deliver_wxcard(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                   hg_outbox_outcome_t *out)
{
    hg_outbox_item_t plain;
    apr_status_t rv = open_item(p, item, &plain, out);
    return rv ? rv : invoice_wxcard_deliver(p, &plain, &G->wxcard, out);
}

/* a card's status: nothing personal in the payload (an order id and WeChat's card code), not sealed */
static apr_status_t deliver_wxcard_status(apr_pool_t *p, const hg_outbox_item_t *item, void *baton,
                                          hg_outbox_outcome_t *out)
{
    return invoice_wxcard_status_deliver(p, item, &G->wxcard, out);
}

/* ---------------------------------------------------------------- patient pages' JSON */

/* a public look-up's parameters: the JSON body's strings when POSTed (what the pages send, so that a
 * check code or link token stays out of access logs, which keep the query), else the query */
static apr_table_t *query_of(hg_call_t *c)
{
    apr_table_t *t = NULL;
    if (json_is_object(c->json)) {
        const char *k;
        json_t *v;
        t = apr_table_make(c->pool, 4);
        json_object_foreach(c->json, k, v)
            if (json_is_string(v))
                apr_table_setn(t, k, json_string_value(v));
        return t;
    }
    ap_args_to_table(c->r, &t);
    return t ? t : apr_table_make(c->pool, 1);
}

static const char *payer_masked(hg_call_t *c, json_t *data)
{
    return invoice_mask_name(c->pool, hg_json_gets(data, "payer", NULL) ? hg_json_gets(data, "payer", NULL) : "");
}

static json_t *money_rows(hg_call_t *c, json_t *data, const char *const *keys, const char *const *names)
{
    json_t *a = json_array();
    int i;
    for (i = 0; keys[i]; i++) {
        apr_int64_t fen;
        if (hg_json_getm(data, &fen, keys[i], NULL) == APR_SUCCESS && fen != 0)
            json_array_append_new(a, json_pack("{s:s, s:s}", "name", names[i], "amt", hg_money_format(c->pool, fen)));
    }
    return a;
}

/* GET /invoice/pub/v1/bill?code=&no=&random= — what the patient sees, names and IDs masked */
static apr_status_t route_pub_bill(hg_call_t *c)
{
    static const char *const ins_keys[] = { "fundPay", "accountPay", "otherfundPay", "ownPay", "selfPayAmt",
                                            "selfConceitedAmt", "selfCashPay", NULL };
    static const char *const ins_names[] = { "医保统筹基金支付", "个人账户支付", "其他医保支付", "个人自费",
                                             "个人自付", "个人自负", "个人现金支付", NULL };
    invoice_ctx_t *x = invoice_call_ctx(c);
    apr_table_t *q = query_of(c);
    const char *code = apr_table_get(q, "code"), *no = apr_table_get(q, "no"), *rnd = apr_table_get(q, "random");
    invoice_bill_t *b, *rel = NULL;
    json_t *doc, *data, *items = json_array(), *chans = json_array(), *it, *o;
    apr_int64_t fen;
    apr_size_t i;
    apr_status_t rv;

    if (!code || !no || !rnd)
        return hg_call_fail(c, "HG_FIELD_REQUIRED", !code ? "code" : !no ? "no" : "random", NULL);
    if ((rv = invoice_find(x, code, no, &b)) == HG_ENOTFOUND || (rv == APR_SUCCESS && !check_code_ok(b, rnd))) {
        /* one answer for "no such bill" and "wrong check code": the check code is the secret */
        json_decref(items);
        json_decref(chans);
        return hg_call_fail(c, "HG_INVOICE_NOT_FOUND", "random", "票据不存在或校验码错误");
    }
    if (rv || (rv = invoice_doc(x, b, &doc)))
        return invoice_call_failed(c, x, rv);
    data = json_object_get(doc, "data");
    json_array_foreach(json_object_get(data, "chargeDetail"), i, it)
        json_array_append_new(items, json_pack("{s:s?, s:s?, s:s?, s:s?}", "name", hg_json_gets(it, "chargeName", NULL),
                              "amt", hg_json_gets(it, "amt", NULL), "number", hg_json_gets(it, "number", NULL),
                              "unit", hg_json_gets(it, "unit", NULL)));
    json_array_foreach(json_object_get(data, "payChannelDetail"), i, it) {
        /* as the layout file names it: the document's name, the table's, or the code */
        const char *cc = hg_json_gets(it, "payChannelCode", NULL), *cn = hg_json_gets(it, "payChannelName", NULL);
        json_array_append_new(chans, json_pack("{s:s?, s:s?}", "name", cn && *cn ? cn : invoice_pay_channel_name(cc)
                              ? invoice_pay_channel_name(cc) : cc, "amt", hg_json_gets(it, "payChannelValue", NULL)));
    }
    if (b->related_id)
        invoice_find_id(x, b->related_id, &rel);
    fen = b->total_fen;
    o = json_pack("{s:s?, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:b, s:b, s:s}",
        "title", hg_json_gets(doc, "title", NULL), "institutionName", G->institution_name,
        "billBatchCode", b->bill_batch_code, "billNo", b->bill_no, "random", b->random,
        "createTime", b->create_time, "payer", payer_masked(c, data), "totalAmt", hg_money_format(c->pool, fen),
        "totalCapital", fen < 0 ? apr_pstrcat(c->pool, "负", hg_money_capital(c->pool, -fen), NULL)
                                : hg_money_capital(c->pool, fen), "items", items, "payChannels", chans,
        "insurance", money_rows(c, data, ins_keys, ins_names), "state", b->state, "isScarlet", b->is_scarlet,
        "uploaded", !strcmp(b->upload_state, "done"), "pdfUrl", invoice_pdf_link(x, b, G->pdf_link_ttl));
    json_object_set_new(o, "paper", b->paper_no ? json_pack("{s:s, s:s}", "pBillBatchCode", b->paper_batch_code,
                        "pBillNo", b->paper_no) : json_null());
    json_object_set_new(o, "relatedBill", rel ? json_pack("{s:s, s:s}", "billBatchCode", rel->bill_batch_code,
                        "billNo", rel->bill_no) : json_null());
    return hg_call_answer(c, 200, o);
}

/* GET /invoice/pub/v1/pdf/<code>/<no>?exp=&sig= — short-lived signed links only */
static apr_status_t route_pub_pdf(hg_call_t *c)
{
    invoice_ctx_t *x = invoice_call_ctx(c);
    apr_table_t *q = query_of(c);
    char *rest = apr_pstrdup(c->pool, c->path_rest), *last;
    const char *code = apr_strtok(rest, "/", &last), *no = apr_strtok(NULL, "/", &last), *pdf;
    invoice_bill_t *b;
    apr_size_t len;
    apr_status_t rv;
    if (!code || !no || !invoice_pdf_link_ok(x, code, no, apr_table_get(q, "exp"), apr_table_get(q, "sig")))
        return hg_call_fail(c, "HG_FORBIDDEN", "sig", "链接已失效，请重新打开票据页面 (link expired or invalid)");
    if ((rv = invoice_find(x, code, no, &b)) || (rv = bill_pdf(c, x, b, 0, &pdf, &len)))
        return invoice_call_failed(c, x, rv);
    return send_pdf(c, pdf, len, apr_pstrcat(c->pool, code, "-", no, NULL));
}

static const hg_field_t SUBJECT_SCHEMA[] = {
    { .name = "idType", .type = HG_JT_STRING, .flags = HG_F_REQUIRED,
      .enum_values = (const char *const[]){ "idcard", "phone", "card", "insurance", NULL } },
    { .name = "idValue", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .min_len = 4, .max_len = 32,
      .pattern = "[0-9A-Za-z]+" },
    { .name = "smsCode", .type = HG_JT_STRING, .pattern = "[0-9]{6}" },
    HG_FIELDS_END
};

/* each idType: the keyed index's kind (invoice_store.c's pidx writes them) and its column */
static const struct { const char *type, *kind, *col; } SUBJECTS[] = {
    { "idcard", "id", "id_idx" }, { "phone", "tel", "tel_idx" }, { "card", "card", "card_idx" },
    { "insurance", "mi", "mi_idx" }, { NULL, NULL, NULL }
};

static int subject_of(const char *id_type)
{
    int i;
    for (i = 0; SUBJECTS[i + 1].type && strcmp(SUBJECTS[i].type, id_type); i++)
        ;
    return i;      /* SUBJECT_SCHEMA's enum lets no other value through */
}

static const char *subject_col(const char *id_type) { return SUBJECTS[subject_of(id_type)].col; }
static const char *subject_kind(const char *id_type) { return SUBJECTS[subject_of(id_type)].kind; }

static const char *subject_idx(hg_call_t *c, const char *kind, const char *value)
{
    char *hex = NULL;
    hg_keyed_index(&hex, c->pool, c->master_key,
                   apr_pstrcat(c->pool, kind, ":", invoice_subject_canon(c->pool, kind, value), NULL));
    return hex;
}

/* codes a patient identifier may be sent a day (Beijing time): ten is more than anyone mistyping
 * needs, and with five guesses a code, 50 guesses a day at a million codes */
#define INVOICE_SMS_DAILY 10
/* and codes one phone may be sent a day, whichever of its identifiers asks (ID number, phone, card,
 * insurance number: four times ten before) */
#define INVOICE_SMS_PHONE_DAILY 15

/* POST /invoice/pub/v1/sms — a code to the phone on file (the same answer whether or not bills exist) */
static apr_status_t route_pub_sms(hg_call_t *c)
{
    const char *type, *value, *col, *idx, *phone = NULL, *kind;
    hg_db_result_t *r;
    char *code, *sealed;
    apr_status_t rv;
    int created;

    if ((rv = hg_json_validate(c->pool, c->json, SUBJECT_SCHEMA, &c->err)))
        return rv;
    type = hg_json_gets(c->json, "idType", NULL);
    value = hg_json_gets(c->json, "idValue", NULL);
    col = subject_col(type);
    kind = subject_kind(type);
    idx = subject_idx(c, kind, value);
    if ((rv = hg_db_q(c->db, &r, apr_psprintf(c->pool, "SELECT tel_sealed FROM invoice.bills WHERE institution = $1 "
                      "AND %s = $2 AND tel_sealed IS NOT NULL ORDER BY id DESC LIMIT 1", col), 2, c->institution,
                      idx)))
        return rv;
    if (r->nrows) {
        unsigned char *raw;
        apr_size_t len;
        if (hg_secret_open(&raw, &len, c->pool, c->master_key, hg_db_val(r, 0, 0)) == APR_SUCCESS)
            phone = apr_pstrmemdup(c->pool, (const char *)raw, len);
    }
    hg_random_string(&code, c->pool, 6, "0123456789");
    if ((rv = hg_db_begin(c->db)))
        return rv;
    /* the phone's day first (its row lock orders parallel requests for one phone; rolled back with
     * the rest when the subject's own rule refuses) */
    if (phone && (rv = hg_db_q(c->db, &r, "INSERT INTO invoice.sms_phones AS s (institution, phone_idx, sent_day, "
                               "  sent_today) VALUES ($1, $2, (now() AT TIME ZONE '" HG_TIME_ZONE "')::date, 1) "
                               "ON CONFLICT (institution, phone_idx) DO UPDATE SET sent_day = EXCLUDED.sent_day, "
                               "  sent_today = CASE WHEN s.sent_day = EXCLUDED.sent_day THEN s.sent_today + 1 ELSE 1 END "
                               "WHERE s.sent_day IS DISTINCT FROM EXCLUDED.sent_day OR s.sent_today < $3::int "
                               "RETURNING 1", 3, c->institution, subject_idx(c, "tel", phone),
                               apr_itoa(c->pool, INVOICE_SMS_PHONE_DAILY))))
        goto rollback;
    if (phone && !r->nrows) {
        /* the phone's day is full: nothing sent, and the same answer as a sent code (a refusal here
         * would tell whoever typed this identifier that it shares a phone with another) */
        hg_db_rollback(c->db);
        return hg_call_answer(c, 200, json_pack("{s:b, s:i}", "sent", 1, "retryAfter", 60));
    }
    /* one statement decides and writes: one code a minute and INVOICE_SMS_DAILY a day per subject
     * (parallel requests cannot all pass a check made before), five guesses a code.  With no phone
     * on file the row holds no code at all ("none" is no keyed index): guessing it gets nothing */
    if ((rv = hg_db_q(c->db, &r, "INSERT INTO invoice.sms_codes AS s (institution, subject_idx, code_hash, expires_at, "
                      "  sent_day, sent_today) VALUES ($1, $2, $3, now() + interval '5 minutes', "
                      "  (now() AT TIME ZONE '" HG_TIME_ZONE "')::date, 1) "
                      "ON CONFLICT (institution, subject_idx) DO UPDATE SET code_hash = EXCLUDED.code_hash, "
                      "  expires_at = EXCLUDED.expires_at, attempts = 0, created_at = now(), sent_day = EXCLUDED.sent_day, "
                      "  sent_today = CASE WHEN s.sent_day = EXCLUDED.sent_day THEN s.sent_today + 1 ELSE 1 END "
                      "WHERE s.created_at <= now() - interval '60 seconds' "
                      "  AND (s.sent_day IS DISTINCT FROM EXCLUDED.sent_day OR s.sent_today < $4::int) "
                      "RETURNING 1", 4, c->institution, idx, phone ? subject_idx(c, "sms", code) : "none",
                      apr_itoa(c->pool, INVOICE_SMS_DAILY))))
        goto rollback;
    if (!r->nrows) {
        hg_db_result_t *why;
        hg_db_rollback(c->db);
        int soon = hg_db_q(c->db, &why, "SELECT created_at > now() - interval '60 seconds' FROM invoice.sms_codes "
                           "WHERE institution = $1 AND subject_idx = $2", 2, c->institution, idx) == APR_SUCCESS
                   && why->nrows && hg_db_val(why, 0, 0)[0] == 't';
        return soon ? hg_call_fail(c, "HG_INVOICE_SMS_TOO_SOON", "idValue", "请60秒后再获取验证码")
                    : hg_call_fail(c, "HG_INVOICE_SMS_DAILY_LIMIT", "idValue", "今日获取验证码次数已达上限，请明天再试");
    }
    if (phone) {
        const char *payload = hg_json_dump(c->pool, hg_json_own(c->pool, json_pack("{s:s, s:s, s:s}",
            "channel", "sms", "to", phone, "text", apr_psprintf(c->pool,
            "您查询电子票据的验证码为%s，5分钟内有效。", code))), 0);
        sealed = NULL;
        if ((rv = hg_secret_seal_packed(&sealed, c->pool, c->master_key, payload, strlen(payload))))
            goto rollback;
        if ((rv = hg_outbox_enqueue(c->db, "invoice.notify", c->institution, apr_pstrcat(c->pool, "smscode:",
                                    c->request_id, NULL), hg_json_dump(c->pool, hg_json_own(c->pool,
                                    json_pack("{s:s}", "sealed", sealed)), 0), 3, &created)))
            goto rollback;
    }
    if ((rv = hg_db_commit(c->db)))
        goto rollback;
    /* nothing about the phone, not even masked: that would tell whoever typed an ID number that
     * this person has bills here */
    return hg_call_answer(c, 200, json_pack("{s:b, s:i}", "sent", 1, "retryAfter", 60));
rollback:
    hg_db_rollback(c->db);
    return rv;
}

/* bills the 通码 list shows, newest first */
#define MYBILLS_MAX 100

/* POST /invoice/pub/v1/mybills — the code, then the subject's bills */
static apr_status_t route_pub_mybills(hg_call_t *c)
{
    invoice_ctx_t *x = invoice_call_ctx(c);
    const char *type, *value, *code, *kind, *idx;
    hg_db_result_t *r;
    json_t *bills = json_array();
    apr_status_t rv;
    int i;

    if ((rv = hg_json_validate(c->pool, c->json, SUBJECT_SCHEMA, &c->err))) {
        json_decref(bills);
        return rv;
    }
    type = hg_json_gets(c->json, "idType", NULL);
    value = hg_json_gets(c->json, "idValue", NULL);
    code = hg_json_gets(c->json, "smsCode", NULL);
    kind = subject_kind(type);
    idx = subject_idx(c, kind, value);
    if (!code) {
        json_decref(bills);
        return hg_call_fail(c, "HG_FIELD_REQUIRED", "smsCode", NULL);
    }
    /* one statement: count the attempt, and say whether the code matches and is fresh */
    if ((rv = hg_db_q(c->db, &r, "UPDATE invoice.sms_codes SET attempts = attempts + 1 WHERE institution = $1 "
                      "AND subject_idx = $2 RETURNING code_hash = $3 AND expires_at > now() AND attempts <= 5",
                      3, c->institution, idx, subject_idx(c, "sms", code)))) {
        json_decref(bills);
        return rv;
    }
    if (!r->nrows || hg_db_val(r, 0, 0)[0] != 't') {
        json_decref(bills);
        return hg_call_fail(c, "HG_INVOICE_SMS_CODE", "smsCode", "验证码错误或已过期");
    }
    /* the newest MYBILLS_MAX, and how many there are (a dialysis patient's year is more) */
    if ((rv = hg_db_q(c->db, &r, apr_psprintf(c->pool, "SELECT b.id, count(*) OVER () FROM invoice.bills b "
                      "WHERE b.institution = $1 AND b.%s = $2 ORDER BY b.id DESC LIMIT " APR_STRINGIFY(MYBILLS_MAX),
                      subject_col(type)), 2, c->institution, idx))) {
        json_decref(bills);
        return rv;
    }
    for (i = 0; i < r->nrows; i++) {
        invoice_bill_t *b;
        json_t *doc;
        if (invoice_find_id(x, apr_atoi64(hg_db_val(r, i, 0)), &b) || invoice_doc(x, b, &doc))
            continue;
        json_array_append_new(bills, json_pack("{s:s?, s:s, s:s, s:s, s:s, s:s, s:b, s:s}",
            "title", hg_json_gets(doc, "title", NULL), "billBatchCode", b->bill_batch_code, "billNo", b->bill_no,
            "createTime", b->create_time, "totalAmt", hg_money_format(c->pool, b->total_fen), "state", b->state,
            "isScarlet", b->is_scarlet, "viewUrl", apr_psprintf(c->pool, "/invoice/bill.html#code=%s&no=%s&r=%s",
            b->bill_batch_code, b->bill_no, b->random)));
    }
    /* a code is good once; the row stays so the one-a-minute rule still holds */
    hg_db_q(c->db, NULL, "UPDATE invoice.sms_codes SET code_hash = 'used', expires_at = now() "
            "WHERE institution = $1 AND subject_idx = $2", 2, c->institution, idx);
    return hg_call_answer(c, 200, json_pack("{s:o, s:I, s:b}", "bills", bills, "total",
                                            (json_int_t)(r->nrows ? apr_atoi64(hg_db_val(r, 0, 1)) : 0),
                                            "truncated", r->nrows && apr_atoi64(hg_db_val(r, 0, 1)) > r->nrows));
}

/* GET /invoice/pub/v1/offline?i=&b=&t= — the printed link works before the bill exists */
static apr_status_t route_pub_offline(hg_call_t *c)
{
    invoice_ctx_t *x = invoice_call_ctx(c);
    apr_table_t *q = query_of(c);
    const char *inst = apr_table_get(q, "i"), *bus = apr_table_get(q, "b"), *tok = apr_table_get(q, "t");
    invoice_bill_t *b;
    apr_status_t rv;
    if (!inst || !bus || !tok)
        return hg_call_fail(c, "HG_FIELD_REQUIRED", !inst ? "i" : !bus ? "b" : "t", NULL);
    if (!G->link_key_set || !invoice_offline_token_check(G->link_key, inst, bus, tok))
        return hg_call_fail(c, "HG_FORBIDDEN", "t", "链接无效 (the link does not verify)");
    x->institution = inst;
    if ((rv = invoice_find_bus(x, bus, &b)) == HG_ENOTFOUND)
        return hg_call_answer(c, 200, json_pack("{s:s}", "state", "pending"));
    if (rv)
        return invoice_call_failed(c, x, rv);
    return hg_call_answer(c, 200, json_pack("{s:s, s:s}", "state", "issued", "viewUrl",
        apr_psprintf(c->pool, "/invoice/bill.html#code=%s&no=%s&r=%s", b->bill_batch_code, b->bill_no, b->random)));
}

/* POST /invoice/pub/v1/email {"code","no","random","email"} — 发送到邮箱: the bill's layout file to the
 * patient's mailbox, through the outbox (invoice.notify, channel email; the sealed payload carries
 * the file, rendered now or from the cache).  The same address again the same day sends nothing
 * more; at most MAIL_PER_DAY addresses a bill a day. */
#define MAIL_PER_DAY 5

/* the bill a patient's call names by code, number and check code; one answer for "no such bill"
 * and "wrong check code": the check code is the secret */
static apr_status_t pub_bill_checked(hg_call_t *c, invoice_ctx_t *x, const char *code, const char *no,
                                     const char *rnd, invoice_bill_t **b)
{
    apr_status_t rv = invoice_find(x, code, no, b);
    if (rv == HG_ENOTFOUND || (rv == APR_SUCCESS && !check_code_ok(*b, rnd)))
        return hg_call_fail(c, "HG_INVOICE_NOT_FOUND", "random", "票据不存在或校验码错误");
    return rv ? invoice_call_failed(c, x, rv) : APR_SUCCESS;
}
static const hg_field_t MAIL_SCHEMA[] = {
    { .name = "code", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50 },
    { .name = "no", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20 },
    { .name = "random", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20 },
    { .name = "email", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 254,
      .pattern = INVOICE_MAIL_PATTERN },
    HG_FIELDS_END_CLOSED
};

static apr_status_t route_pub_email(hg_call_t *c)
{
    invoice_ctx_t *x = invoice_call_ctx(c);
    const char *code, *no, *rnd, *addr, *idx, *payload, *day, *key, *b64;
    invoice_bill_t *b;
    hg_db_result_t *r;
    char *sealed = NULL, *lower, *q;
    apr_status_t rv;
    int created;

    if ((rv = hg_json_validate(c->pool, c->json, MAIL_SCHEMA, &c->err)))
        return rv;
    if (!G->notify.mail_url)
        return hg_call_fail(c, "HG_INVOICE_MAIL_OFF", NULL, NULL);
    code = hg_json_gets(c->json, "code", NULL);
    no = hg_json_gets(c->json, "no", NULL);
    rnd = hg_json_gets(c->json, "random", NULL);
    addr = hg_json_gets(c->json, "email", NULL);
    if ((rv = pub_bill_checked(c, x, code, no, rnd, &b)))
        return rv;
    /* one address whatever its letters' case; kept as a keyed hash, never in clear */
    lower = apr_pstrdup(c->pool, addr);
    for (q = lower; *q; q++)
        *q = (char)apr_tolower(*q);
    idx = subject_idx(c, "mail", lower);
    if ((rv = hg_db_q(c->db, &r, "SELECT to_char(current_date, 'YYYYMMDD'), "
                      "(SELECT count(*) FROM invoice.mail_sends WHERE bill_id = $1::bigint AND day = current_date), "
                      "EXISTS (SELECT 1 FROM invoice.mail_sends WHERE bill_id = $1::bigint AND day = current_date "
                      "AND addr_idx = $2)", 2, apr_off_t_toa(c->pool, b->id), idx)))
        return rv;
    day = hg_db_val(r, 0, 0);
    if (hg_db_val(r, 0, 2)[0] != 't' && atoi(hg_db_val(r, 0, 1)) >= MAIL_PER_DAY)
        return hg_call_fail(c, "HG_INVOICE_MAIL_LIMIT", "email", NULL);
    key = apr_psprintf(c->pool, "email:%" APR_INT64_T_FMT ":%s:%.16s", b->id, day, idx);
    if (hg_db_val(r, 0, 2)[0] != 't') {
        if ((rv = bill_pdf_base64(c, x, b, &b64)))
            return rv;
        json_t *m = invoice_mail_payload(x, addr, b);
        json_object_set_new(m, "pdf", json_string(b64));
        payload = hg_json_dump(c->pool, m, 0);
        if ((rv = hg_secret_seal_packed(&sealed, c->pool, c->master_key, payload, strlen(payload))))
            return rv;
        if ((rv = hg_db_begin(c->db))
            || (rv = hg_db_q(c->db, NULL, "INSERT INTO invoice.mail_sends (bill_id, day, addr_idx) "
                             "VALUES ($1::bigint, $2::date, $3) ON CONFLICT DO NOTHING", 3,
                             apr_off_t_toa(c->pool, b->id), day, idx))
            || (rv = hg_outbox_enqueue(c->db, "invoice.notify", c->institution, key,
                                       hg_json_dump(c->pool, hg_json_own(c->pool, json_pack("{s:s}", "sealed", sealed)), 0),
                                       10, &created))
            || (rv = hg_db_commit(c->db)))
            return rv;
    }
    return hg_call_answer(c, 202, json_pack("{s:b, s:s}", "queued", 1, "email", invoice_mask_email(c->pool, addr)));
}

/* ---------------------------------------------------------------- 存入微信卡包 (invoice_wxcard.h) */

/* The page's two calls (the bill named as for the e-mail):
 *   POST /invoice/pub/v1/wxcard {"code","no","random"} -> 200 {"state":"auth","orderId","authUrl"}:
 *        the page opens authUrl (WeChat's authorisation page), which comes back to the bill page
 *        with ?wxcard=<orderId>; or {"state":"queued"|"inserted"} when the bill is on its way or in
 *        a card package already (nothing more to authorise)
 *   POST /invoice/pub/v1/wxcard/insert {"code","no","random","orderId"} -> 202 {"state":"queued"}
 *        once WeChat says the patient authorised the order: the insertion goes to the outbox
 *        (invoice.wxcard); asked again, the same order answers its state: queued, inserted or
 *        failed (dead-lettered), and queues nothing more.
 * A bill goes into one card package: once an insertion is queued or done, another order of the
 * same bill queues nothing and answers that one's state. */
#define WXCARD_ORDER_REUSE "30 minutes"   /* a second tap reuses the order it opened (ticket lives 2 h) */
#define WXCARD_ATTEMPTS 10

static const hg_field_t WXCARD_SCHEMA[] = {
    { .name = "code", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50, .pattern = "[0-9A-Za-z]+" },
    { .name = "no", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20, .pattern = "[0-9A-Za-z]+" },
    { .name = "random", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20, .pattern = "[0-9A-Za-z]+" },
    HG_FIELDS_END_CLOSED
};

static const hg_field_t WXCARD_INSERT_SCHEMA[] = {
    { .name = "code", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 50, .pattern = "[0-9A-Za-z]+" },
    { .name = "no", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20, .pattern = "[0-9A-Za-z]+" },
    { .name = "random", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 20, .pattern = "[0-9A-Za-z]+" },
    { .name = "orderId", .type = HG_JT_STRING, .flags = HG_F_REQUIRED, .max_len = 32, .pattern = "[0-9a-z]{32}" },
    HG_FIELDS_END_CLOSED
};

/* the outbox state of an insertion as the page says it */
static const char *wxcard_state(const char *outbox_state)
{
    return !strcmp(outbox_state, "done") ? "inserted" : !strcmp(outbox_state, "dead") ? "failed" : "queued";
}

/* the WeChat calls of a request are journalled after them (the connection is given back meanwhile) */
typedef struct wxcard_journal_t {
    hg_call_t *c;
    apr_array_header_t *recs;      /* of hg_audit_rec_t */
} wxcard_journal_t;

static void wxcard_observe(void *baton, apr_pool_t *p, const hg_http_req_t *req, const hg_http_resp_t *resp,
                           apr_status_t rv)
{
    wxcard_journal_t *j = baton;
    hg_audit_rec_t *rec = apr_array_push(j->recs);
    memset(rec, 0, sizeof(*rec));
    rec->institution = j->c->institution;
    rec->caller = "hisgate";
    rec->direction = "out";
    rec->endpoint = apr_pstrdup(j->c->pool, req->endpoint_name ? req->endpoint_name : "wxcard");
    rec->request_id = j->c->request_id;
    rec->status = resp && resp->status ? resp->status : rv == HG_ETIMEOUT ? 504 : 502;
    rec->elapsed_ms = resp ? (int)resp->elapsed_ms : 0;
    rec->req_body = apr_pstrmemdup(j->c->pool, req->body ? req->body : "", req->body ? req->body_len : 0);
    rec->req_len = req->body ? req->body_len : 0;
    if (resp && resp->body) {
        rec->resp_body = apr_pstrmemdup(j->c->pool, resp->body, resp->body_len);
        rec->resp_len = resp->body_len;
    }
}

/* after the calls: the connection back, and the journal written */
static apr_status_t wxcard_journal_flush(wxcard_journal_t *j)
{
    apr_status_t rv;
    int i;
    if ((rv = hg_call_db_reacquire(j->c)))
        return rv;
    for (i = 0; G->audit_key && i < j->recs->nelts; i++)
        hg_audit_insert(j->c->db, G->audit_key, &APR_ARRAY_IDX(j->recs, i, hg_audit_rec_t));
    apr_array_clear(j->recs);
    return APR_SUCCESS;
}

/* WeChat's refusal or absence as the patient's error */
static apr_status_t wxcard_platform_failed(hg_call_t *c, apr_status_t rv, long errcode, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, c->r, "HG10012: WeChat card package: %s", why ? why : "failed");
    if (rv == HG_ETIMEOUT)
        return hg_call_fail(c, "HG_PLATFORM_TIMEOUT", NULL, "微信暂未响应，请稍后再试");
    if (rv == HG_EPLATFORM && errcode)
        return hg_call_fail(c, "HG_PLATFORM_REJECTED", NULL,
                            apr_psprintf(c->pool, "微信拒绝了请求 (errcode %ld)，请稍后再试", errcode));
    return hg_call_fail(c, "HG_PLATFORM_UNAVAILABLE", NULL, "暂时无法连接微信，请稍后再试");
}

/* the bill of a patient's card-package call, checked: configured here, the bill found, blue, not
 * flushed and not exchanged for paper */
static apr_status_t wxcard_bill(hg_call_t *c, invoice_ctx_t *x, const hg_field_t *schema, invoice_bill_t **b)
{
    invoice_conf_t *here = ap_get_module_config(c->r->server->module_config, &invoice_module);
    apr_status_t rv;
    if ((rv = hg_json_validate(c->pool, c->json, schema, &c->err)))
        return rv;
    if (!here || !here->wxcard.on || !G->wxcard.on)
        return hg_call_fail(c, "HG_INVOICE_WXCARD_OFF", NULL, NULL);
    if ((rv = pub_bill_checked(c, x, hg_json_gets(c->json, "code", NULL), hg_json_gets(c->json, "no", NULL),
                               hg_json_gets(c->json, "random", NULL), b)))
        return rv;
    if ((*b)->is_scarlet || strcmp((*b)->state, "normal") || (*b)->total_fen <= 0)
        return hg_call_fail(c, "HG_INVOICE_WXCARD_STATE", NULL, NULL);
    /* claimed on paper already: in the card package too, it could be claimed twice */
    if ((*b)->paper_no)
        return hg_call_fail(c, "HG_INVOICE_WXCARD_STATE", NULL, "已换开纸质票据的电子票据不能存入微信卡包");
    return APR_SUCCESS;
}

/* the state of the bill's insertion that counts (queued or done, newest first), or NULL */
static apr_status_t wxcard_bill_insertion(hg_call_t *c, const invoice_bill_t *b, const char **state)
{
    hg_db_result_t *r;
    apr_status_t rv;
    *state = NULL;
    if ((rv = hg_db_q(c->db, &r, "SELECT ob.state FROM invoice.wxcard_orders o JOIN hg.outbox ob "
                      "ON ob.topic = 'invoice.wxcard' AND ob.business_key = 'wxcard:' || o.order_id "
                      "WHERE o.bill_id = $1::bigint AND ob.state <> 'dead' ORDER BY ob.id DESC LIMIT 1",
                      1, apr_off_t_toa(c->pool, b->id))))
        return rv;
    if (r->nrows)
        *state = hg_db_val(r, 0, 0);
    return APR_SUCCESS;
}

static apr_status_t route_pub_wxcard(hg_call_t *c)
{
    invoice_ctx_t *x = invoice_call_ctx(c);
    wxcard_journal_t j = { c, apr_array_make(c->pool, 4, sizeof(hg_audit_rec_t)) };
    const char *state, *order, *redirect, *auth_url = NULL, *why = NULL;
    invoice_bill_t *b;
    hg_db_result_t *r;
    char *fresh;
    long errcode = 0;
    apr_status_t rv, call_rv;

    if ((rv = wxcard_bill(c, x, WXCARD_SCHEMA, &b)) || (rv = wxcard_bill_insertion(c, b, &state)))
        return rv;
    if (state)
        return hg_call_answer(c, 200, json_pack("{s:s}", "state", wxcard_state(state)));
    if ((rv = hg_random_string(&fresh, c->pool, 32, "0123456789abcdefghijklmnopqrstuvwxyz")))
        return rv;
    /* the order this page opened a little while ago, or a new one */
    if ((rv = hg_db_q(c->db, &r, "WITH old AS (SELECT order_id FROM invoice.wxcard_orders WHERE bill_id = $1::bigint "
                      "  AND authorized_at IS NULL AND created_at > now() - interval '" WXCARD_ORDER_REUSE "' "
                      "  ORDER BY created_at DESC LIMIT 1), "
                      "new AS (INSERT INTO invoice.wxcard_orders (order_id, bill_id, institution) "
                      "  SELECT $2, $1::bigint, $3 WHERE NOT EXISTS (SELECT 1 FROM old) RETURNING order_id) "
                      "SELECT order_id FROM old UNION ALL SELECT order_id FROM new",
                      3, apr_off_t_toa(c->pool, b->id), fresh, c->institution)))
        return rv;
    order = hg_db_val(r, 0, 0);
    redirect = apr_psprintf(c->pool, "%s/invoice/bill.html?wxcard=%s#code=%s&no=%s&r=%s", G->public_url ? G->public_url : "",
                            order, b->bill_batch_code, b->bill_no, b->random);
    hg_call_db_release(c);
    call_rv = invoice_wxcard_auth_url(c->pool, &G->wxcard, order, b->total_fen, redirect, wxcard_observe, &j,
                                      &auth_url, &errcode, &why);
    if ((rv = wxcard_journal_flush(&j)))
        return rv;
    if (call_rv)
        return wxcard_platform_failed(c, call_rv, errcode, why);
    return hg_call_answer(c, 200, json_pack("{s:s, s:s, s:s}", "state", "auth", "orderId", order, "authUrl", auth_url));
}

/* the sealed payload of an insertion: the bill's fields as WeChat takes them, and its file */
static apr_status_t wxcard_payload(hg_call_t *c, invoice_ctx_t *x, const invoice_bill_t *b, const char *order,
                                   const char *billing_time, char **sealed)
{
    json_t *doc, *data, *info;
    const char *why, *payer, *b64, *payload;
    apr_status_t rv;

    if ((rv = invoice_doc(x, b, &doc)))
        return invoice_call_failed(c, x, rv);
    data = json_object_get(doc, "data");
    if (invoice_wxcard_info(&info, &why, c->pool, json_object_get(data, "chargeDetail"))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, c->r, "HG10013: bill %" APR_INT64_T_FMT ": %s", b->id, why);
        return hg_call_fail(c, "HG_INTERNAL", NULL, NULL);
    }
    payer = hg_json_gets(data, "payer", NULL);
    if ((rv = bill_pdf_base64(c, x, b, &b64)))
        return rv;
    payload = hg_json_dump(c->pool, hg_json_own(c->pool, json_pack("{s:s, s:I, s:s, s:I, s:s, s:s, s:s, s:O, s:s, s:s}",
        "orderId", order, "fee", (json_int_t)b->total_fen, "title", payer && *payer ? payer : "个人",
        "billingTime", (json_int_t)apr_atoi64(billing_time), "billBatchCode", b->bill_batch_code,
        "billNo", b->bill_no, "checkCode", b->random, "info", info,
        "filename", apr_psprintf(c->pool, "ebill-%s-%s.pdf", b->bill_batch_code, b->bill_no), "pdf", b64)), 0);
    return hg_secret_seal_packed(sealed, c->pool, c->master_key, payload, strlen(payload));
}

/* the insertion of an authorised order into the outbox, one per bill: from the page's /insert or
 * from WeChat's user_authorize_invoice push.  *state is NULL when this call queued it, else the
 * state of the bill's insertion that went first. */
static apr_status_t wxcard_enqueue(hg_call_t *c, invoice_ctx_t *x, invoice_bill_t *b, const char *order,
                                   const char *billing_time, const char **state)
{
    char *sealed = NULL;
    int created = 0;
    apr_status_t rv;

    x->db = c->db;
    if ((rv = wxcard_payload(c, x, b, order, billing_time, &sealed)))
        return rv;
    /* one insertion of the bill at a time: the check again, under the bill's lock, with the write */
    if ((rv = hg_db_begin(c->db))
        || (rv = hg_db_q(c->db, NULL, "SELECT pg_advisory_xact_lock(hashtextextended('invoice.wxcard:' || $1, 0))",
                         1, apr_off_t_toa(c->pool, b->id)))
        || (rv = wxcard_bill_insertion(c, b, state)))
        return rv;
    if (*state) {
        hg_db_rollback(c->db);
        return APR_SUCCESS;
    }
    if ((rv = hg_db_q(c->db, NULL, "UPDATE invoice.wxcard_orders SET authorized_at = now() WHERE order_id = $1", 1, order))
        || (rv = hg_outbox_enqueue(c->db, "invoice.wxcard", c->institution, apr_pstrcat(c->pool, "wxcard:", order, NULL),
                                   hg_json_dump(c->pool, hg_json_own(c->pool, json_pack("{s:s}", "sealed", sealed)), 0),
                                   WXCARD_ATTEMPTS, &created)))
        return rv;
    return hg_db_commit(c->db);
}

static apr_status_t route_pub_wxcard_insert(hg_call_t *c)
{
    invoice_ctx_t *x = invoice_call_ctx(c);
    wxcard_journal_t j = { c, apr_array_make(c->pool, 2, sizeof(hg_audit_rec_t)) };
    const char *order, *state, *auth = NULL, *why = NULL, *billing_time;
    invoice_bill_t *b;
    hg_db_result_t *r;
    long errcode = 0;
    apr_status_t rv, call_rv;

    if ((rv = wxcard_bill(c, x, WXCARD_INSERT_SCHEMA, &b)))
        return rv;
    order = hg_json_gets(c->json, "orderId", NULL);
    if ((rv = hg_db_q(c->db, &r, "SELECT coalesce(ob.state, ''), extract(epoch FROM b.issued_at)::bigint "
                      "FROM invoice.wxcard_orders o JOIN invoice.bills b ON b.id = o.bill_id "
                      "LEFT JOIN hg.outbox ob ON ob.topic = 'invoice.wxcard' AND ob.business_key = 'wxcard:' || o.order_id "
                      "WHERE o.order_id = $1 AND o.bill_id = $2::bigint", 2, order, apr_off_t_toa(c->pool, b->id))))
        return rv;
    if (!r->nrows)
        return hg_call_fail(c, "HG_NOT_FOUND", "orderId", "no such order for this bill");
    if (*hg_db_val(r, 0, 0))                          /* asked again (or pushed): this order's insertion as it stands */
        return hg_call_answer(c, 200, json_pack("{s:s}", "state", wxcard_state(hg_db_val(r, 0, 0))));
    if ((rv = wxcard_bill_insertion(c, b, &state)))
        return rv;
    if (state)                                        /* another order of the bill went first */
        return hg_call_answer(c, 200, json_pack("{s:s}", "state", wxcard_state(state)));
    billing_time = apr_pstrdup(c->pool, hg_db_val(r, 0, 1));
    hg_call_db_release(c);
    call_rv = invoice_wxcard_auth_status(c->pool, &G->wxcard, order, wxcard_observe, &j, &auth, &errcode, &why);
    if ((rv = wxcard_journal_flush(&j)))
        return rv;
    if (call_rv)
        return wxcard_platform_failed(c, call_rv, errcode, why);
    if (strcmp(auth, "auth success"))
        return hg_call_fail(c, "HG_INVOICE_WXCARD_UNAUTHORIZED", "orderId",
                            apr_psprintf(c->pool, "微信未授权该订单 (%s)，请重新点击存入微信卡包", hg_utf8_repair(c->pool, auth)));
    if ((rv = wxcard_enqueue(c, x, b, order, billing_time, &state)))
        return rv;
    if (state)
        return hg_call_answer(c, 200, json_pack("{s:s}", "state", wxcard_state(state)));
    return hg_call_answer(c, 202, json_pack("{s:s}", "state", "queued"));
}

/* WeChat's user_authorize_invoice push (HisgateWeChatPush): the patient authorised an order
 * (SuccOrderId), so its insertion is queued now, whether or not the page comes back to ask.
 * FailOrderId (declined) needs nothing; an order that is not ours (another system on the same
 * Official Account), one already queued, or a bill flushed meanwhile is left as it is. */
static apr_status_t wxcard_authorized(hg_call_t *c, json_t *msg, void *baton)
{
    const char *order = hg_json_gets(msg, "SuccOrderId", NULL), *state = NULL, *billing_time;
    invoice_ctx_t *x;
    invoice_bill_t *b;
    hg_db_result_t *r;
    apr_status_t rv;

    if (!order || !*order || !G->wxcard.on)
        return APR_SUCCESS;
    x = invoice_call_ctx(c);
    if ((rv = hg_db_q(c->db, &r, "SELECT o.bill_id, extract(epoch FROM b.issued_at)::bigint, coalesce(ob.state, '') "
                      "FROM invoice.wxcard_orders o JOIN invoice.bills b ON b.id = o.bill_id "
                      "LEFT JOIN hg.outbox ob ON ob.topic = 'invoice.wxcard' AND ob.business_key = 'wxcard:' || o.order_id "
                      "WHERE o.order_id = $1 AND o.institution = $2", 2, order, c->institution)))
        return rv;
    if (!r->nrows || *hg_db_val(r, 0, 2)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, c->r, "HG10014: WeChat card package: order %s authorised: %s",
                      hg_utf8_repair(c->pool, order), !r->nrows ? "not an order of this hospital, ignored"
                                                                : "its insertion is queued already");
        return APR_SUCCESS;
    }
    billing_time = apr_pstrdup(c->pool, hg_db_val(r, 0, 1));
    if ((rv = invoice_find_id(x, apr_atoi64(hg_db_val(r, 0, 0)), &b)))
        return rv;
    if (b->is_scarlet || strcmp(b->state, "normal"))
        return APR_SUCCESS;                           /* flushed since: it does not go in */
    if ((rv = wxcard_bill_insertion(c, b, &state)) || state)
        return rv;
    return wxcard_enqueue(c, x, b, order, billing_time, &state);
}

/* GET /invoice/pub/v1/verify?code=&no= — does the stored bill still carry a valid unit seal? */
static apr_status_t route_pub_verify(hg_call_t *c)
{
    invoice_ctx_t *x = invoice_call_ctx(c);
    apr_table_t *q = query_of(c);
    invoice_bill_t *b;
    json_t *doc;
    apr_status_t rv;
    const char *code = apr_table_get(q, "code"), *no = apr_table_get(q, "no"), *rnd = apr_table_get(q, "random");
    if (!code || !no || !rnd)
        return hg_call_fail(c, "HG_FIELD_REQUIRED", !code ? "code" : !no ? "no" : "random", NULL);
    /* with the check code, as the fiscal 查验 asks: code and number alone are sequential, and would
     * tell anyone which bills exist (and run an SM2 verification for each guess) */
    if ((rv = pub_bill_checked(c, x, code, no, rnd, &b)))
        return rv;
    if ((rv = invoice_doc(x, b, &doc)))
        return invoice_call_failed(c, x, rv);
    return hg_call_answer(c, 200, json_pack("{s:s, s:s, s:b, s:s, s:s}", "billBatchCode", b->bill_batch_code,
                          "billNo", b->bill_no, "sealValid", invoice_seal_verify(G->seal_key, doc, b->seal) == APR_SUCCESS,
                          "signer", G->institution_name, "algorithm", "SM2-SM3"));
}

static const hg_route_t invoice_routes[] = {
    { "POST", "/invoice/api/v1/", HG_R_SIGNED | HG_R_JSON | HG_R_PREFIX | HG_R_ARENA, NULL, route_api },
    { "GET",  "/invoice/api/v1/bills/", HG_R_SIGNED | HG_R_PREFIX, NULL, route_api_get },
    { "GET",  "/invoice/pub/v1/bill", HG_R_DB, NULL, route_pub_bill },
    { "POST", "/invoice/pub/v1/bill", HG_R_DB | HG_R_JSON, NULL, route_pub_bill },
    { "GET",  "/invoice/pub/v1/pdf/", HG_R_DB | HG_R_PREFIX, NULL, route_pub_pdf },
    { "POST", "/invoice/pub/v1/sms", HG_R_DB | HG_R_JSON, NULL, route_pub_sms },
    { "POST", "/invoice/pub/v1/mybills", HG_R_DB | HG_R_JSON, NULL, route_pub_mybills },
    { "GET",  "/invoice/pub/v1/offline", HG_R_DB, NULL, route_pub_offline },
    { "POST", "/invoice/pub/v1/offline", HG_R_DB | HG_R_JSON, NULL, route_pub_offline },
    { "GET",  "/invoice/pub/v1/verify", HG_R_DB, NULL, route_pub_verify },
    { "POST", "/invoice/pub/v1/verify", HG_R_DB | HG_R_JSON, NULL, route_pub_verify },
    { "POST", "/invoice/pub/v1/email", HG_R_DB | HG_R_JSON, NULL, route_pub_email },
    { "POST", "/invoice/pub/v1/wxcard", HG_R_DB | HG_R_JSON, NULL, route_pub_wxcard },
    { "POST", "/invoice/pub/v1/wxcard/insert", HG_R_DB | HG_R_JSON, NULL, route_pub_wxcard_insert },
    { NULL }
};

/* ---------------------------------------------------------------- hooks */

static int invoice_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(hg_register_routes) *reg_routes = APR_RETRIEVE_OPTIONAL_FN(hg_register_routes);
    APR_OPTIONAL_FN_TYPE(hg_register_topic) *reg_topic = APR_RETRIEVE_OPTIONAL_FN(hg_register_topic);
    APR_OPTIONAL_FN_TYPE(hg_conf_get) *conf_get = APR_RETRIEVE_OPTIONAL_FN(hg_conf_get);
    APR_OPTIONAL_FN_TYPE(hg_register_topic_after) *topic_after = APR_RETRIEVE_OPTIONAL_FN(hg_register_topic_after);
    APR_OPTIONAL_FN_TYPE(hg_register_topic_payload) *topic_payload = APR_RETRIEVE_OPTIONAL_FN(hg_register_topic_payload);
    APR_OPTIONAL_FN_TYPE(hg_register_wechat_event) *wechat_event = APR_RETRIEVE_OPTIONAL_FN(hg_register_wechat_event);
    invoice_conf_t *c = ap_get_module_config(s->module_config, &invoice_module);
    const char *t;

    if (!reg_routes || !reg_topic || !conf_get || !topic_after || !topic_payload) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "HG10000: mod_invoice needs mod_hisgate loaded first");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    G = c;
    reg_routes("invoice", invoice_routes, c);
    reg_routes("invoice-staff", invoice_staff_routes, c);
    reg_topic("invoice.upload", deliver_upload, c);
    reg_topic("invoice.notify", deliver_notify, c);
    reg_topic("invoice.wxcard", deliver_wxcard, c);
    reg_topic("invoice.wxcard_status", deliver_wxcard_status, c);
    topic_after("invoice.wxcard", INVOICE_WXCARD_AFTER_INSERT_SQL);
    topic_payload("invoice.upload", INVOICE_UPLOAD_PAYLOAD_SQL);
    if (wechat_event)
        wechat_event("user_authorize_invoice", wxcard_authorized, c);
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    c->institution = conf_get("institution");
    c->public_url = conf_get("public_url");
    c->master_key = (const unsigned char *)conf_get("master_key");
    c->fiscal.base_url = conf_get("fiscal_url");
    c->fiscal.appid = conf_get("fiscal_appid");
    c->fiscal.key = conf_get("fiscal_key");
    c->fiscal.ca_file = conf_get("ca_file");
    c->fiscal.timeout_ms = (t = conf_get("fiscal_timeout_ms")) ? atoi(t) : 10000;
    c->notify.ca_file = c->fiscal.ca_file;
    c->notify.wechat_token = APR_RETRIEVE_OPTIONAL_FN(hg_wechat_token);
    c->notify.mail_from_name = c->institution_name;
    c->notify.render_pdf = render_mail_pdf;
    c->audit_key = (const unsigned char *)conf_get("audit_key");
    c->wxcard.api_base = conf_get("wechat_api");
    c->wxcard.ca_file = c->fiscal.ca_file;
    c->wxcard.token = c->notify.wechat_token;
    c->wxcard.ticket = apr_pcalloc(pconf, sizeof(*c->wxcard.ticket));
    if (!c->wxcard.appid)
        c->wxcard.appid = conf_get("wechat_appid");
    if (c->wxcard.on && !c->wxcard.appid) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "HG10011: InvoiceWxCard needs the Official Account's appid: "
                     "from HisgateWeChat, or as its third argument");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (c->seal_key_file) {
        if (hg_pkey_load_file(&c->seal_key, pconf, c->seal_key_file) != APR_SUCCESS || !hg_pkey_is_sm2(c->seal_key)) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "HG10001: InvoiceSealKey %s is not an SM2 private key",
                         c->seal_key_file);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    else
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "HG10002: no InvoiceSealKey: bills cannot be issued");
    return OK;
}

static apr_status_t group_cleanup(void *g)
{
    hg_group_destroy(g);
    issue_group = NULL;
    return APR_SUCCESS;
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* this module's copy of hg_pdf needs its fonts: read once per process, before workers render */
apr_int64_t invoice_stock_low(const char *kind)
{
    if (!G)
        return 0;
    return !strcmp(kind, "paper") ? G->stock_low_paper : G->stock_low_ebill;
}

/* /hg/status's "invoice" and /hg/metrics' hisgate_invoice_stock_*: the billing points whose
 * numbers run low, before a window's HIS calls start failing with HG_INVOICE_NO_STOCK */
static apr_status_t invoice_status(hg_db_t *db, apr_pool_t *p, const char *institution, json_t **status,
                                   const char **metrics)
{
    invoice_ctx_t x = { .db = db, .p = p, .institution = institution };
    hg_db_result_t *r;
    json_t *low;
    const char *remaining = "", *flags = "";
    int i;
    apr_status_t rv;
    if (!institution || (rv = invoice_stock_levels(&x, &r)))
        return institution ? rv : APR_SUCCESS;
    low = json_array();
    for (i = 0; i < r->nrows; i++) {
        const char *place = hg_db_val(r, i, 0), *kind = hg_db_val(r, i, 1);
        apr_int64_t left = apr_atoi64(hg_db_val(r, i, 2)), at = invoice_stock_low(kind);
        int is_low = left < at;
        if (is_low)
            json_array_append_new(low, json_pack("{s:s, s:s, s:I, s:I}", "placeCode", place, "kind", kind,
                                                 "remaining", (json_int_t)left, "threshold", (json_int_t)at));
        /* place codes are [A-Za-z0-9_-] (the table's CHECK): nothing to escape in a label */
        remaining = apr_psprintf(p, "%shisgate_invoice_stock_remaining{place=\"%s\",kind=\"%s\"} %" APR_INT64_T_FMT
                                 "\n", remaining, place, kind, left);
        flags = apr_psprintf(p, "%shisgate_invoice_stock_low{place=\"%s\",kind=\"%s\"} %d\n", flags, place, kind,
                             is_low);
    }
    *status = json_pack("{s:o, s:{s:I, s:I}}", "stock_low", low, "stock_low_below",
                        "ebill", (json_int_t)invoice_stock_low("ebill"), "paper", (json_int_t)invoice_stock_low("paper"));
    *metrics = apr_pstrcat(p, "# HELP hisgate_invoice_stock_remaining unused numbers of a billing point's stock\n"
                           "# TYPE hisgate_invoice_stock_remaining gauge\n", remaining,
                           "# HELP hisgate_invoice_stock_low 1 while a billing point has fewer unused numbers than "
                           "InvoiceStockLow\n# TYPE hisgate_invoice_stock_low gauge\n", flags, NULL);
    return APR_SUCCESS;
}

static void invoice_child_init(apr_pool_t *p, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(hg_conf_get) *conf_get = APR_RETRIEVE_OPTIONAL_FN(hg_conf_get);
    const char *fonts = conf_get ? conf_get("fonts") : NULL;
    if (!fonts || hg_pdf_global_init(fonts) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "HG10003: fonts %s: %s; bill PDFs cannot be rendered",
                     fonts ? fonts : "(none)", hg_pdf_init_error());
    if (hg_slots_create(&render_line, p, G && G->pdf_renders > 0 ? G->pdf_renders : online_cpus()) != APR_SUCCESS) {
        render_line = NULL;      /* every first download then answers HG_INVOICE_PDF_BUSY */
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "HG10005: PDF render line not set up");
    }
    else {
        APR_OPTIONAL_FN_TYPE(hg_register_line) *reg_line = APR_RETRIEVE_OPTIONAL_FN(hg_register_line);
        if (reg_line)
            reg_line("invoice.pdf", render_line);
    }
    {
        APR_OPTIONAL_FN_TYPE(hg_register_status) *reg_status = APR_RETRIEVE_OPTIONAL_FN(hg_register_status);
        if (reg_status)
            reg_status("invoice", invoice_status);
    }
    /* the card package's ticket: one fetch at a time in this process (the threads share it) */
    if (G && G->wxcard.ticket && apr_thread_mutex_create(&G->wxcard.ticket->lock, APR_THREAD_MUTEX_DEFAULT, p))
        G->wxcard.ticket->lock = NULL;
    issue_lanes = G ? G->issue_lanes : 2;
    if (hg_group_create(&issue_group) != APR_SUCCESS)
        issue_group = NULL;      /* every bill in its own transaction: slower on a busy point, as correct */
    else
        apr_pool_cleanup_register(p, issue_group, group_cleanup, apr_pool_cleanup_null);
}

static void invoice_register_hooks(apr_pool_t *p)
{
    static const char *const pred[] = { "mod_hisgate.c", NULL };
    ap_hook_post_config(invoice_post_config, pred, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(invoice_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(invoice) = {
    STANDARD20_MODULE_STUFF, NULL, NULL, create_conf, merge_conf, invoice_cmds, invoice_register_hooks, 0
};
