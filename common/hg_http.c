/* hg_http — libcurl client.  Contract and policy are in hg_http.h. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <apr_lib.h>
#include <apr_optional.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <curl/curl.h>

#include "hg_http.h"
#include "hg_status.h"

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static CURLcode g_init_rc = CURLE_FAILED_INIT;
static hg_http_observer_fn *g_observer;
static void *g_observer_baton;
/* What a thread keeps (hg_http_thread_reuse_begin) and the stop flag (hg_http_abort_reused) must
 * be one for the process: every module links its own copy of this file (libhisgate.a, hidden
 * symbols), and the outbox's delivery threads, started by mod_hisgate, call the platforms through
 * the other modules' copies.  Kept per copy, each module's calls saw "no kept handle": a new
 * connection per delivery, and a stop waited for every transfer's timeout.  So the state lives in
 * the copy that hg_http_share() was called in (mod_hisgate, before any thread), and every copy
 * finds it by name (APR's dynamic functions); without hg_http_share (tools, tests) a copy uses
 * its own. */
typedef struct http_state_t {
    pthread_key_t key;                /* the thread's kept handle holder (kept_t), or NULL */
    volatile sig_atomic_t abort;      /* set for good: kept handles' transfers end */
} http_state_t;
typedef struct kept_t {
    CURL *handle;                     /* created by the thread on its first exchange */
} kept_t;

static http_state_t own_state;
static pthread_once_t own_once = PTHREAD_ONCE_INIT, lookup_once = PTHREAD_ONCE_INIT;
static http_state_t *state;           /* this copy's pointer to the process's state */

static void kept_free(void *v)
{
    kept_t *k = v;
    if (k && k->handle)
        curl_easy_cleanup(k->handle);
    free(k);
}

static void own_init(void)
{
    pthread_key_create(&own_state.key, kept_free);
}

static http_state_t *shared_state(void)
{
    return &own_state;
}

static void lookup(void)
{
    http_state_t *(*fn)(void) = (http_state_t *(*)(void))apr_dynamic_fn_retrieve("hg_http_shared_state");
    pthread_once(&own_once, own_init);
    state = fn ? fn() : &own_state;
}

static http_state_t *http_state(void)
{
    pthread_once(&lookup_once, lookup);
    return state;
}

void hg_http_share(void)
{
    pthread_once(&own_once, own_init);
    apr_dynamic_fn_register("hg_http_shared_state", (apr_opt_fn_t *)shared_state);
}

void hg_http_abort_reused(void)
{
    http_state()->abort = 1;
}

int hg_http_aborting(void)
{
    return http_state()->abort != 0;
}

/* curl's progress call (about once a second, and as data moves): non-zero ends the transfer */
static int abort_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    return ((http_state_t *)ud)->abort != 0;
}

/* transfers of a delivery thread (one that keeps a handle) end when its child stops */
static void cut_short_at_stop(CURL *h)
{
    http_state_t *st = http_state();
    if (!pthread_getspecific(st->key))
        return;
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, abort_cb);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, st);
}

void hg_http_thread_reuse_begin(void)
{
    http_state_t *st = http_state();
    if (!pthread_getspecific(st->key))
        pthread_setspecific(st->key, calloc(1, sizeof(kept_t)));
}

void hg_http_thread_reuse_end(void)
{
    http_state_t *st = http_state();
    kept_free(pthread_getspecific(st->key));
    pthread_setspecific(st->key, NULL);
}

static void global_init_once(void)
{
    g_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

apr_status_t hg_http_global_init(void)
{
    pthread_once(&g_once, global_init_once);
    return g_init_rc == CURLE_OK ? APR_SUCCESS : HG_EHTTP;
}

void hg_http_set_observer(hg_http_observer_fn *fn, void *baton)
{
    g_observer = fn;
    g_observer_baton = baton;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* ---- response sinks ---- */

typedef struct sink_t {
    apr_pool_t *p;          /* per-attempt scratch pool for the growing buffer */
    char *buf;
    apr_size_t len, cap, max;
    int too_large;
    apr_table_t *headers;   /* lives in the caller's pool */
    apr_pool_t *hp;
} sink_t;

static size_t body_cb(char *data, size_t size, size_t n, void *ud)
{
    sink_t *s = ud;
    apr_size_t add = size * n;

    if (add > s->max - s->len) {
        s->too_large = 1;               /* chunked answers are not caught by MAXFILESIZE */
        return 0;
    }
    if (s->len + add + 1 > s->cap) {
        apr_size_t cap = s->cap ? s->cap : 16384;
        char *nb;
        while (cap < s->len + add + 1)
            cap *= 2;
        if (cap > s->max + 1)
            cap = s->max + 1;
        nb = apr_palloc(s->p, cap);
        if (s->len)
            memcpy(nb, s->buf, s->len);
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, add);
    s->len += add;
    return add;
}

static size_t header_cb(char *data, size_t size, size_t n, void *ud)
{
    sink_t *s = ud;
    apr_size_t len = size * n, i;
    const char *colon;
    char *name, *value;
    apr_size_t vlen;

    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        apr_table_clear(s->headers);    /* 1xx interim answers: keep only the final header set */
        return len;
    }
    colon = memchr(data, ':', len);
    if (!colon || colon == data)
        return len;                      /* blank line or obsolete folding: ignored */
    name = apr_pstrmemdup(s->hp, data, colon - data);
    for (i = 0; name[i]; i++)
        name[i] = apr_tolower(name[i]);
    colon++;
    vlen = len - (colon - data);
    while (vlen && (*colon == ' ' || *colon == '\t'))
        colon++, vlen--;
    while (vlen && (colon[vlen - 1] == '\r' || colon[vlen - 1] == '\n'
                    || colon[vlen - 1] == ' ' || colon[vlen - 1] == '\t'))
        vlen--;
    value = apr_pstrmemdup(s->hp, colon, vlen);
    apr_table_addn(s->headers, name, value);
    return len;
}

/* ---- request checks ---- */

static int bad_header_text(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            return 1;
    return 0;
}

typedef struct hdr_ctx_t {
    apr_pool_t *p;
    struct curl_slist *list;
    int bad, has_expect;
} hdr_ctx_t;

static int add_header(void *ud, const char *key, const char *val)
{
    hdr_ctx_t *c = ud;
    struct curl_slist *l;

    if (!*key || strchr(key, ':') || bad_header_text(key) || bad_header_text(val)) {
        c->bad = 1;                     /* CR/LF would let a value smuggle extra headers */
        return 0;
    }
    if (strcasecmp(key, "Expect") == 0)
        c->has_expect = 1;
    /* "Name;" is curl's way to send a header with an empty value ("Name:" would remove it) */
    l = curl_slist_append(c->list, *val ? apr_pstrcat(c->p, key, ": ", val, NULL)
                                        : apr_pstrcat(c->p, key, ";", NULL));
    if (!l) {
        c->bad = 2;
        return 0;
    }
    c->list = l;
    return 1;
}

static int method_ok(const char *m)
{
    if (!*m)
        return 0;
    for (; *m; m++)
        if (!apr_isupper(*m))
            return 0;                   /* a token of capitals: nothing to inject */
    return 1;
}

static int is_p12(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && (strcasecmp(path + n - 4, ".p12") == 0 || strcasecmp(path + n - 4, ".pfx") == 0);
}

/* ---- one attempt ---- */

typedef struct attempt_t {
    apr_status_t rv;
    int retryable;          /* nothing was sent, or a 502/503/504 answer */
} attempt_t;

static void attempt_once(attempt_t *out, hg_http_resp_t *r, apr_pool_t *p,
                         const hg_http_req_t *q, struct curl_slist *hdrs)
{
    CURL *h = NULL;
    http_state_t *st;
    kept_t *kept = NULL;
    CURLcode rc;
    char errbuf[CURL_ERROR_SIZE];
    sink_t s;
    apr_pool_t *scratch = NULL;
    long code = 0;
    curl_off_t t_connect = 0, t_app = 0, t_pre = 0;
    long req_size = 0;
    char *scheme = NULL;
    int sent;

    out->rv = APR_SUCCESS;
    out->retryable = 0;
    r->status = 0;
    r->body = NULL;
    r->body_len = 0;
    r->error = NULL;
    r->headers = apr_table_make(p, 8);

    st = http_state();
    if ((kept = pthread_getspecific(st->key)) && !kept->handle)
        kept->handle = curl_easy_init();
    if (kept && kept->handle) {
        h = kept->handle;
        curl_easy_reset(h);              /* options back to defaults; connections and caches kept */
    }
    if (apr_pool_create(&scratch, p) != APR_SUCCESS || (!h && !(h = curl_easy_init()))) {
        out->rv = HG_EHTTP;
        r->error = "cannot create an HTTP handle";
        goto leave;
    }
    memset(&s, 0, sizeof(s));
    s.p = scratch;
    s.max = q->max_response;
    s.headers = r->headers;
    s.hp = p;
    errbuf[0] = '\0';

    curl_easy_setopt(h, CURLOPT_URL, q->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)q->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)q->timeout_ms);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    cut_short_at_stop(h);
    if (kept && h == kept->handle && !q->idempotent)
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);   /* no silent re-send on a stale connection */
    if (q->proxy && *q->proxy) {
        curl_easy_setopt(h, CURLOPT_PROXY, q->proxy);
    }
    else {
        curl_easy_setopt(h, CURLOPT_PROXY, "");     /* "" = no proxy, environment ignored */
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    }
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, q->tls_verify_off ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, q->tls_verify_off ? 0L : 2L);
    if (q->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, q->ca_file);
    if (q->client_cert) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, q->client_cert);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, is_p12(q->client_cert) ? "P12" : "PEM");
    }
    if (q->client_key)
        curl_easy_setopt(h, CURLOPT_SSLKEY, q->client_key);
    if (q->client_key_password)
        curl_easy_setopt(h, CURLOPT_KEYPASSWD, q->client_key_password);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)q->max_response);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "hisgate");
    if (hdrs)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

    /* curl derives the verb from the body options; CUSTOMREQUEST renames it where needed */
    if (strcmp(q->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    }
    else if (q->body || strcmp(q->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body ? q->body : "");
        if (strcmp(q->method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
    }
    else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        if (strcmp(q->method, "GET") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
    }

    rc = curl_easy_perform(h);

    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &t_connect);
    curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &t_app);
    curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &t_pre);
    curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &req_size);
    curl_easy_getinfo(h, CURLINFO_SCHEME, &scheme);
    {
        long nc = 0;
        if (curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nc) == CURLE_OK)
            r->connects += (int)nc;
    }
    r->status = (int)code;

    if (rc == CURLE_OK) {
        r->body = apr_palloc(p, s.len + 1);
        if (s.len)
            memcpy(r->body, s.buf, s.len);
        r->body[s.len] = '\0';
        r->body_len = s.len;
        out->retryable = (code == 502 || code == 503 || code == 504);
        goto leave;
    }

    r->error = rc == CURLE_ABORTED_BY_CALLBACK ? "cut short: this httpd child is stopping"
             : apr_psprintf(p, "%s: %s", curl_easy_strerror(rc), errbuf[0] ? errbuf : "-");
    if (rc == CURLE_FILESIZE_EXCEEDED || (rc == CURLE_WRITE_ERROR && s.too_large)) {
        out->rv = HG_EHTTP;
        r->error = apr_psprintf(p, "response larger than %" APR_SIZE_T_FMT " bytes",
                                q->max_response);
        goto leave;
    }
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
        out->rv = HG_EINVALID;
        goto leave;
    }
    /* Nothing can have reached the server before TCP connected, nor (https) before the TLS
     * handshake finished, nor before curl got to the transfer: only then is the failure a
     * known "not done".  Any sign of the contrary counts as "maybe done". */
    sent = t_pre > 0 || req_size > 0
           || (t_connect > 0 && !(scheme && strcasecmp(scheme, "https") == 0 && t_app == 0));
    if (sent) {
        out->rv = HG_ETIMEOUT;
        r->status = 0;           /* a half answer is no answer */
        goto leave;
    }
    out->rv = HG_EHTTP;
    r->status = 0;
    out->retryable = (rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT);

leave:
    if (h && !(kept && h == kept->handle))
        curl_easy_cleanup(h);
    else if (h)
        curl_easy_reset(h);              /* drop pointers into this call's stack and pools */
    if (scratch)
        apr_pool_destroy(scratch);
}

apr_status_t hg_http_do(hg_http_resp_t **resp, apr_pool_t *p, const hg_http_req_t *req)
{
    hg_http_resp_t *r;
    hg_http_req_t q;
    hdr_ctx_t hc = { p, NULL, 0, 0 };
    attempt_t at = { APR_SUCCESS, 0 };
    double t0 = now_ms();
    int retries;
    apr_status_t rv;

    *resp = r = apr_pcalloc(p, sizeof(*r));
    r->headers = apr_table_make(p, 1);
    if (!req)
        return HG_EINVALID;

    /* q = the effective request: defaults filled in; this is also what the observer sees */
    q = *req;
    if (q.connect_timeout_ms <= 0) q.connect_timeout_ms = HG_HTTP_CONNECT_TIMEOUT_MS;
    if (q.timeout_ms <= 0)         q.timeout_ms = HG_HTTP_TIMEOUT_MS;
    if (q.max_response == 0)       q.max_response = HG_HTTP_MAX_RESPONSE;
    if (q.body && q.body_len == 0) q.body_len = strlen(q.body);
    if (!q.method)                 q.method = q.body ? "POST" : "GET";
    retries = q.idempotent ? q.max_retries : 0;
    if (retries < 0) retries = 0;
    if (retries > HG_HTTP_MAX_RETRIES) retries = HG_HTTP_MAX_RETRIES;

    if (!q.url || !*q.url || bad_header_text(q.url)) {
        rv = HG_EINVALID;
        r->error = "no usable URL";
        goto leave;
    }
    if (!method_ok(q.method)) {
        rv = HG_EINVALID;
        r->error = "bad HTTP method";
        goto leave;
    }
    if (hg_http_global_init() != APR_SUCCESS) {
        rv = HG_EHTTP;
        r->error = "curl_global_init failed";
        goto leave;
    }
    if (q.headers)
        apr_table_do(add_header, &hc, q.headers, NULL);
    if (hc.bad) {
        rv = hc.bad == 1 ? HG_EINVALID : APR_ENOMEM;
        r->error = hc.bad == 1 ? "bad request header (empty name, ':' or CR/LF)" : "out of memory";
        goto leave;
    }
    if (!hc.has_expect) {
        struct curl_slist *l = curl_slist_append(hc.list, "Expect:");
        if (!l) {
            rv = APR_ENOMEM;
            r->error = "out of memory";
            goto leave;
        }
        hc.list = l;
    }

    for (;;) {
        r->attempts++;
        attempt_once(&at, r, p, &q, hc.list);
        if (!at.retryable || r->attempts > retries)
            break;
        {
            int shift = r->attempts - 1 < 4 ? r->attempts - 1 : 4;
            apr_interval_time_t wait = apr_time_from_msec(100) << shift;
            if (wait > apr_time_from_msec(1000))
                wait = apr_time_from_msec(1000);
            apr_sleep(wait);
        }
    }
    rv = at.rv;

leave:
    curl_slist_free_all(hc.list);
    r->elapsed_ms = now_ms() - t0;
    {
        hg_http_observer_fn *fn = q.observer ? q.observer : g_observer;
        void *baton = q.observer ? q.observer_baton : g_observer_baton;
        if (fn) {
            if (q.client_key_password)
                q.client_key_password = "(redacted)";
            fn(baton, p, &q, r, rv);
        }
    }
    return rv;
}

/* ---------------------------------------------------------------- SMTP */

typedef struct { const char *data; apr_size_t len, off; } smtp_src_t;

static size_t smtp_read_cb(char *buf, size_t size, size_t n, void *ud)
{
    smtp_src_t *s = ud;
    apr_size_t room = size * n, left = s->len - s->off;
    if (left < room)
        room = left;
    memcpy(buf, s->data + s->off, room);
    s->off += room;
    return room;
}

apr_status_t hg_smtp_send(apr_pool_t *p, const hg_smtp_msg_t *m, int *reply, const char **error)
{
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *rcpt = NULL;
    smtp_src_t src = { m->data, m->len, 0 };
    long code = 0;
    CURLcode rc;
    CURL *h;

    *reply = 0;
    *error = NULL;
    if (hg_http_global_init() != APR_SUCCESS || !(h = curl_easy_init())) {
        *error = "cannot create an SMTP handle";
        return HG_EHTTP;
    }
    errbuf[0] = '\0';
    rcpt = curl_slist_append(rcpt, apr_pstrcat(p, "<", m->to, ">", NULL));
    curl_easy_setopt(h, CURLOPT_URL, m->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)HG_HTTP_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(m->timeout_ms > 0 ? m->timeout_ms : HG_HTTP_TIMEOUT_MS));
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_USE_SSL, (long)(m->require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (m->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, m->ca_file);
    if (m->user) {
        curl_easy_setopt(h, CURLOPT_USERNAME, m->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, m->password ? m->password : "");
    }
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, apr_pstrcat(p, "<", m->from, ">", NULL));
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, smtp_read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &src);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m->len);
    cut_short_at_stop(h);
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    *reply = (int)code;
    if (rc == CURLE_OK)
        return APR_SUCCESS;
    *error = rc == CURLE_ABORTED_BY_CALLBACK ? "cut short: this httpd child is stopping"
           : apr_psprintf(p, "%s%s%s", curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf);
    if (code >= 400)
        return HG_EPLATFORM;
    return src.off > 0 ? HG_ETIMEOUT : HG_EHTTP;
}
