/* mod_sandbox's mail server (mod_sandbox_smtp.c) */
#ifndef MOD_SANDBOX_SMTP_H
#define MOD_SANDBOX_SMTP_H
#include "httpd.h"
/* the whole conversation on connection c; OK when done */
int sandbox_smtp_converse(conn_rec *c);
#endif
