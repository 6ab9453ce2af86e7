/* The unit tests' little HTTP servers (t_http, t_injury_platform): reading one request. */
#ifndef HG_TAP_HTTP_H
#define HG_TAP_HTTP_H
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* One request from fd into buf (cap bytes and a NUL): its head and Content-Length bytes of body.
 * 0: whole, *hlen = head with its blank line, *clen = body length; 1: the first bytes are a TLS
 * record (a ClientHello on a plain port); -1: the peer closed first, or it does not fit. */
static inline int tap_http_read(int fd, char *buf, size_t cap, size_t *hlen, size_t *clen)
{
    size_t got = 0;
    char *hend = NULL, *p;
    *hlen = *clen = 0;
    while (got < cap && !hend) {
        ssize_t r = recv(fd, buf + got, cap - got, 0);
        if (r <= 0)
            return -1;
        if (got == 0 && (unsigned char)buf[0] == 0x16)
            return 1;
        got += r;
        buf[got] = '\0';
        hend = strstr(buf, "\r\n\r\n");
    }
    if (!hend)
        return -1;
    *hlen = hend + 4 - buf;
    for (p = buf; p && p < hend; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL)
        if (!strncasecmp(p, "Content-Length:", 15))
            *clen = strtoul(p + 15, NULL, 10);
    while (got < *hlen + *clen && got < cap) {
        ssize_t r = recv(fd, buf + got, cap - got, 0);
        if (r <= 0)
            break;
        got += r;
        buf[got] = '\0';
    }
    return got < *hlen + *clen ? -1 : 0;
}
#endif
