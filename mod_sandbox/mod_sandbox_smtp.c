/* mod_sandbox's mail server: a plain SMTP conversation (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA,
 * RSET, NOOP, QUIT) on the connections of a virtual host with `SandboxSMTP On`, so that hisgate's
 * SMTP client (libcurl) talks to a real socket in `make run` and the tests.  Accepted messages go
 * to sandbox.mails.  Failure modes by recipient: reject@… is refused for good (550), greylist@…
 * for now (451).  No TLS and no AUTH: a client configured with credentials insists on STARTTLS
 * and gets a refusal here, as it should from any server without it.  Never load it in production. */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_log.h"
#include "http_main.h"
#include "http_core.h"
#include "apr_dbd.h"
#include "mod_dbd.h"
#include "apr_strings.h"
#include "apr_lib.h"
#include "hg_db.h"
#include "mod_sandbox_smtp.h"

#define LINE_MAX_BYTES 1000
#define DATA_MAX_BYTES (24 * 1024 * 1024)

typedef struct {
    apr_socket_t *sock;
    char buf[8192];
    apr_size_t len, off;
} smtp_conn_t;

static apr_status_t say(smtp_conn_t *s, const char *line)
{
    apr_size_t n = strlen(line);
    return apr_socket_send(s->sock, line, &n);
}

/* one line without its CRLF into out (at most max bytes kept); APR_EOF when the client left */
static apr_status_t read_line(smtp_conn_t *s, char *out, apr_size_t max, apr_size_t *got)
{
    apr_size_t n = 0;
    for (;;) {
        while (s->off < s->len) {
            char ch = s->buf[s->off++];
            if (ch == '\n') {
                if (n && out[n - 1] == '\r')
                    n--;
                out[n] = '\0';
                *got = n;
                return APR_SUCCESS;
            }
            if (n < max)
                out[n++] = ch;
        }
        s->off = 0;
        s->len = sizeof(s->buf);
        {
            apr_status_t rv = apr_socket_recv(s->sock, s->buf, &s->len);
            if (rv != APR_SUCCESS && !s->len)
                return rv;
        }
    }
}

/* the address inside "MAIL FROM:<a@b>" / "RCPT TO:<a@b>" */
static const char *path_of(apr_pool_t *p, const char *arg)
{
    const char *lt = strchr(arg, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    return lt && gt ? apr_pstrndup(p, lt + 1, (apr_size_t)(gt - lt - 1)) : NULL;
}

static int store(conn_rec *c, const char *from, const char *to, const char *data)
{
    APR_OPTIONAL_FN_TYPE(ap_dbd_open) *open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    APR_OPTIONAL_FN_TYPE(ap_dbd_close) *close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    ap_dbd_t *dbd;
    hg_db_t *db;
    int ok = 0;
    if (!open || !close || !(dbd = open(c->pool, ap_server_conf)))
        return 0;
    if (hg_db_wrap(&db, c->pool, apr_dbd_native_handle(dbd->driver, dbd->handle)) == APR_SUCCESS)
        ok = hg_db_q(db, NULL, "INSERT INTO sandbox.mails (mail_from, rcpt_to, data) VALUES ($1, $2, $3)",
                     3, from, to, data) == APR_SUCCESS;
    close(ap_server_conf, dbd);
    return ok;
}

int sandbox_smtp_converse(conn_rec *c)
{
    smtp_conn_t *s = apr_pcalloc(c->pool, sizeof(*s));
    char *line = apr_palloc(c->pool, LINE_MAX_BYTES + 1);
    const char *from = NULL, *to = NULL;
    apr_size_t n;

    s->sock = ap_get_conn_socket(c);
    apr_socket_timeout_set(s->sock, apr_time_from_sec(30));
    say(s, "220 sandbox-smtp ESMTP hisgate sandbox\r\n");
    while (read_line(s, line, LINE_MAX_BYTES, &n) == APR_SUCCESS) {
        if (!strncasecmp(line, "EHLO", 4)) {
            from = to = NULL;
            say(s, "250-sandbox-smtp\r\n250-8BITMIME\r\n250 SIZE 25165824\r\n");
        }
        else if (!strncasecmp(line, "HELO", 4)) {
            from = to = NULL;
            say(s, "250 sandbox-smtp\r\n");
        }
        else if (!strncasecmp(line, "MAIL FROM:", 10)) {
            from = path_of(c->pool, line + 10);
            to = NULL;
            say(s, from ? "250 2.1.0 OK\r\n" : "501 5.1.7 bad sender address\r\n");
        }
        else if (!strncasecmp(line, "RCPT TO:", 8)) {
            const char *r = path_of(c->pool, line + 8);
            if (!from)
                say(s, "503 5.5.1 MAIL first\r\n");
            else if (!r || !strchr(r, '@'))
                say(s, "501 5.1.3 bad recipient address\r\n");
            else if (!strncasecmp(r, "reject@", 7))
                say(s, "550 5.1.1 no such mailbox\r\n");
            else if (!strncasecmp(r, "greylist@", 9))
                say(s, "451 4.7.1 greylisted, try again later\r\n");
            else {
                to = r;
                say(s, "250 2.1.5 OK\r\n");
            }
        }
        else if (!strcasecmp(line, "DATA")) {
            apr_array_header_t *body;
            apr_size_t total = 0;
            if (!to) {
                say(s, "503 5.5.1 RCPT first\r\n");
                continue;
            }
            say(s, "354 end with <CRLF>.<CRLF>\r\n");
            body = apr_array_make(c->pool, 256, sizeof(const char *));
            for (;;) {
                if (read_line(s, line, LINE_MAX_BYTES, &n) != APR_SUCCESS)
                    return OK;
                if (!strcmp(line, "."))
                    break;
                total += n + 2;
                if (total <= DATA_MAX_BYTES)
                    APR_ARRAY_PUSH(body, const char *) = apr_pstrcat(c->pool, line[0] == '.' ? line + 1 : line,
                                                                     "\r\n", NULL);
            }
            if (total > DATA_MAX_BYTES)
                say(s, "552 5.3.4 message too big\r\n");
            else if (!store(c, from, to, apr_array_pstrcat(c->pool, body, 0)))
                say(s, "451 4.3.0 cannot store the message now\r\n");
            else
                say(s, "250 2.0.0 OK queued\r\n");
            from = to = NULL;
        }
        else if (!strcasecmp(line, "RSET")) {
            from = to = NULL;
            say(s, "250 2.0.0 OK\r\n");
        }
        else if (!strcasecmp(line, "NOOP"))
            say(s, "250 2.0.0 OK\r\n");
        else if (!strcasecmp(line, "QUIT")) {
            say(s, "221 2.0.0 bye\r\n");
            break;
        }
        else if (!strncasecmp(line, "STARTTLS", 8))
            say(s, "454 4.7.0 TLS not available\r\n");
        else
            say(s, "502 5.5.2 command not implemented\r\n");
    }
    c->aborted = 1;
    return OK;
}
