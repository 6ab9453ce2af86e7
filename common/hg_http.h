/* hg_http — the one libcurl wrapper of hisgate.  Every outbound HTTP exchange goes through
 * hg_http_do(); nothing else in the tree includes <curl/curl.h>.
 *
 * Lifetime and processes
 *   - hg_http_global_init() runs curl_global_init once; call it in post_config (before the
 *     children fork and before any thread).  hg_http_do() calls it too, as a safety net.
 *   - By default every hg_http_do() creates its own easy handle and destroys it before
 *     returning, so no handle (and no TLS session, no socket) ever crosses a fork or is shared
 *     between threads.
 *   - A long-lived thread that talks to the same platforms over and over (the outbox's delivery
 *     threads) may keep ONE handle of its own between hg_http_thread_reuse_begin() and
 *     hg_http_thread_reuse_end(): connections stay open between exchanges (keep-alive), DNS and
 *     TLS sessions are cached.  The handle is thread-local, created after the fork by the thread
 *     that uses it, and never seen by another thread.  A non-idempotent request still gets a
 *     fresh connection: libcurl silently re-sends a request whose reused connection turns out to
 *     be dead, which only an idempotent call may suffer.
 *   - Every module links its own copy of hg_http; hg_http_share() (mod_hisgate, at load, before any
 *     other module runs) makes them share one state, so that a delivery thread's kept handle is
 *     the one used whichever module's copy makes the call.
 *   - CURLOPT_NOSIGNAL is always set: httpd's worker threads must never get SIGALRM from
 *     the resolver.
 *
 * Outcome of hg_http_do()  (*resp is always set, even on error: error, elapsed_ms, attempts)
 *   APR_SUCCESS   a complete HTTP answer arrived; resp->status holds it, 4xx/5xx included
 *                 (the caller decides what a status means).
 *   HG_ETIMEOUT   OUTCOME UNKNOWN: the request may have reached the server (it timed out after
 *                 the connection was made, or the connection broke before a full answer).
 *                 Never assume "not done" and never blindly resend a non-idempotent call: the
 *                 caller must resolve it with the platform's query transaction.
 *   HG_EHTTP      the exchange failed.  With resp->status == 0 the request provably never left
 *                 (DNS failure, connection refused, connect/TLS handshake failed or timed out
 *                 before the request was written): safe to retry later.  With resp->status != 0
 *                 the server did answer but the answer was refused (larger than max_response):
 *                 treat that like HG_ETIMEOUT.
 *   HG_EINVALID   the request itself is unusable (no URL, not http/https, CR/LF in a header,
 *                 bad method); nothing was sent.
 *
 * Policy
 *   - Only http and https; redirects are not followed (a POST to a payment platform must not be
 *     silently replayed elsewhere).
 *   - Proxies from the environment (http_proxy, HTTPS_PROXY, ALL_PROXY...) are ignored: hospital
 *     machines carry odd ones.  A proxy is used only when req->proxy names it.
 *   - TLS peer and host verification are on unless tls_verify_off is set; the glue only allows
 *     that through an explicit directive.  client_cert ending in .p12/.pfx is read as PKCS#12,
 *     otherwise PEM.
 *   - timeout_ms and connect_timeout_ms apply to each attempt.  Retries happen only when
 *     req->idempotent is set, up to max_retries more attempts (0 = none, capped at 10), on
 *     connection failures that provably sent nothing and on 502/503/504, with a short
 *     doubling back-off (100 ms, 200 ms, ... capped at 1 s).
 *   - The response body is kept byte-exact (binary-safe) with one extra NUL after body_len.
 *     No Accept-Encoding is sent, so the body is what the server wrote.  "Expect:" is
 *     suppressed (many platform servers mishandle 100-continue).
 *   - Response header names are lower-cased; repeated headers stay repeated in the table.
 *
 * Secrets and audit
 *   hg_http logs nothing itself.  The observer (req->observer, else the process-wide default;
 *   hg_audit in production) is called exactly once per hg_http_do() with a non-NULL req, after
 *   the last attempt, whatever the result (refused requests included).  It gets
 *   a copy of the request with the defaults filled in and client_key_password replaced by
 *   "(redacted)"; headers and bodies are passed as they are (they may hold tokens and personal
 *   data): hg_audit encrypts bodies at rest, and any other observer must not write them or the
 *   Authorization/Cookie headers in clear.  The observer must not keep pointers beyond pool p.
 */
#ifndef HG_HTTP_H
#define HG_HTTP_H

#include <apr_pools.h>
#include <apr_tables.h>

#define HG_HTTP_CONNECT_TIMEOUT_MS 3000
#define HG_HTTP_TIMEOUT_MS         15000
#define HG_HTTP_MAX_RESPONSE       (8 * 1024 * 1024)
#define HG_HTTP_MAX_RETRIES        10

typedef struct hg_http_req_t hg_http_req_t;
typedef struct hg_http_resp_t hg_http_resp_t;

/* Called once per exchange (after the last attempt): hg_audit plugs in here so EVERY exchange
 * is journalled.  p is the pool given to hg_http_do(). */
typedef void hg_http_observer_fn(void *baton, apr_pool_t *p, const hg_http_req_t *req,
                                 const hg_http_resp_t *resp, apr_status_t rv);

struct hg_http_req_t {
    const char *method;            /* NULL: POST when body is set, else GET */
    const char *url;
    apr_table_t *headers;          /* request headers, may be NULL */
    const char *body;              /* may hold NULs; NULL = no body */
    apr_size_t body_len;           /* 0 with a body: strlen(body) */
    int connect_timeout_ms;        /* defaults 3000 / 15000 when 0 */
    int timeout_ms;
    int idempotent;                /* retries ONLY when idempotent: connect failures and */
    int max_retries;               /* 502/503/504, with short back-off */
    const char *ca_file;           /* PEM bundle; NULL = system store */
    const char *client_cert;
    const char *client_key;
    const char *client_key_password;
    int tls_verify_off;            /* default 0 = verify peer and host */
    apr_size_t max_response;       /* default 8 MiB; larger -> HG_EHTTP */
    const char *endpoint_name;     /* logical name for the audit log, e.g. "fiscal.invoiceEBillOutpatient" */
    const char *proxy;             /* explicit proxy URL ("http://10.1.2.3:3128"); NULL = direct */
    hg_http_observer_fn *observer; /* this call's observer INSTEAD of the process-wide default */
    void *observer_baton;          /* (the outbox drain journals its deliveries this way) */
};

struct hg_http_resp_t {
    int status;                    /* HTTP status; 0 unless an answer arrived (see above) */
    apr_table_t *headers;          /* lower-cased names */
    char *body;                    /* body_len bytes + a NUL; "" when empty, NULL on failure */
    apr_size_t body_len;
    double elapsed_ms;             /* all attempts and back-off included */
    int attempts;                  /* 0 when the request was refused before sending */
    int connects;                  /* new connections opened (0: all attempts reused one) */
    const char *error;             /* NULL on APR_SUCCESS; else a text without secrets */
};

/* curl_global_init once; safe to call twice (later calls return the first result). */
apr_status_t hg_http_global_init(void);

/* Process-wide default observer, used when req->observer is NULL; set it in post_config,
 * before threads exist.  NULL = none. */
void hg_http_set_observer(hg_http_observer_fn *fn, void *baton);

/* Keep one easy handle for this thread (see "Lifetime" above); begin twice = once.  End closes
 * its connections: call it before the thread exits. */
void hg_http_thread_reuse_begin(void);
void hg_http_thread_reuse_end(void);
/* make this copy's state the process's (see "Lifetime" above): once, before any thread */
void hg_http_share(void);
/* From now on, the transfers of threads that keep a handle (the outbox's delivery threads) end
 * within about a second, as "maybe done" (HG_ETIMEOUT, or HG_EHTTP when nothing was sent): for a
 * child that is stopping, so that httpd need not kill it.  For good: the process is going away. */
void hg_http_abort_reused(void);
/* 1 once hg_http_abort_reused was called in this process: a transfer that failed since may have
 * been cut short by it, not by its platform */
int hg_http_aborting(void);

/* One exchange (plus retries for idempotent calls).  See the outcome table above. */
apr_status_t hg_http_do(hg_http_resp_t **resp, apr_pool_t *p, const hg_http_req_t *req);

/* One message to one recipient through an SMTP server (libcurl's SMTP, the same library as HTTP):
 * smtp://host[:port] upgrades with STARTTLS when the server offers it, smtp+tls:// (written
 * smtp://… with require_tls) insists on it, smtps:// is TLS from the start; certificates are
 * verified against ca_file (NULL: the system store).  data is the whole RFC 5322 message with CRLF
 * line ends (dot-stuffing is libcurl's).  APR_SUCCESS when the server took it; HG_EPLATFORM when it
 * refused (*reply the SMTP code, e.g. 550: permanent from 500, else worth a retry); HG_EHTTP when
 * no conversation took place (nothing was sent); HG_ETIMEOUT when it broke off after DATA began (the
 * message may have gone).  *error is a text without secrets. */
typedef struct hg_smtp_msg_t {
    const char *url;
    const char *user, *password;   /* NULL: no AUTH */
    int require_tls;
    const char *from, *to;         /* envelope: bare addresses */
    const char *data;
    apr_size_t len;
    int timeout_ms;                /* 0: 15 s */
    const char *ca_file;
} hg_smtp_msg_t;
apr_status_t hg_smtp_send(apr_pool_t *p, const hg_smtp_msg_t *m, int *reply, const char **error);

#endif
