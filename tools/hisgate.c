/* hisgate: the command-line tool for sysadmins (libpq + libhisgate, no httpd).
 *   hisgate migrate | keygen | app add/list/disable | user add/passwd/unlock/list
 *   hisgate audit show/verify/seal | outbox list/retry/pause/resume | probe fiscal | sign | errors
 * Connection: --dsn or $HG_DSN; keys: --keys FILE or $HG_KEYS (the HisgateKeyFile). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pwd.h>
#include <termios.h>
#include <dirent.h>
#include <sys/stat.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_tables.h>
#include <libpq-fe.h>
#include <jansson.h>
#include "hg_db.h"
#include "hg_crypto.h"
#include "hg_auth.h"
#include "hg_audit.h"
#include "hg_audit_archive.h"
#include "hg_outbox.h"
#include "hg_err.h"
#include "hg_json.h"

#ifndef HG_SHAREDIR
#define HG_SHAREDIR "/usr/local/share/hisgate"
#endif

static apr_pool_t *pool;
static apr_table_t *opts;          /* --name value */
static apr_array_header_t *args;   /* positional */

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    fputs("hisgate: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static const char *opt(const char *name, const char *dflt)
{
    const char *v = apr_table_get(opts, name);
    return v ? v : dflt;
}

static const char *need(const char *name)
{
    const char *v = apr_table_get(opts, name);
    if (!v)
        die("--%s is required", name);
    return v;
}

static const char *arg(int i)
{
    return i < args->nelts ? APR_ARRAY_IDX(args, i, const char *) : NULL;
}

static hg_db_t *connect_db(void)
{
    const char *dsn = opt("dsn", getenv("HG_DSN"));
    PGconn *conn;
    hg_db_t *db;
    if (!dsn)
        die("no database: give --dsn or set HG_DSN (e.g. 'host=127.0.0.1 port=25432 dbname=hisgate user=hisgate')");
    conn = PQconnectdb(dsn);
    if (PQstatus(conn) != CONNECTION_OK)
        die("cannot connect: %s", PQerrorMessage(conn));
    hg_db_wrap(&db, pool, conn);
    /* the days and times it reads and writes are Beijing time, as httpd's sessions (DBDInitSQL) */
    if (hg_db_q(db, NULL, "SELECT set_config('TimeZone', $1, false)", 1, HG_TIME_ZONE) != APR_SUCCESS)
        die("cannot set the time zone: %s", db->errmsg ? db->errmsg : "");
    return db;
}

static void load_keys(unsigned char master[16], unsigned char audit[16])
{
    const char *path = opt("keys", getenv("HG_KEYS"));
    char line[256];
    int have = 0;
    FILE *f;
    if (!path)
        die("no key file: give --keys or set HG_KEYS (the file of HisgateKeyFile)");
    if (!(f = fopen(path, "r")))
        die("cannot read %s", path);
    while (fgets(line, sizeof(line), f)) {
        char *eq = strchr(line, '='), *v;
        unsigned char *raw;
        apr_size_t len;
        if (!eq || line[0] == '#')
            continue;
        *eq = '\0';
        apr_collapse_spaces(eq + 1, eq + 1);   /* returns the end, not the start */
        v = eq + 1;
        if (hg_hex_decode(&raw, &len, pool, v) != APR_SUCCESS || len != 16)
            continue;
        if (!strcmp(line, "master_key"))
            memcpy(master, raw, 16), have |= 1;
        else if (!strcmp(line, "audit_key"))
            memcpy(audit, raw, 16), have |= 2;
    }
    fclose(f);
    if (have != 3)
        die("%s must hold master_key= and audit_key= (32 hex digits each)", path);
}

static void check(hg_db_t *db, apr_status_t rv, const char *what)
{
    char buf[256];
    if (rv == APR_SUCCESS)
        return;
    /* the system's word for a file's trouble, the server's for a statement's */
    if (rv < HG_STATUS_BASE)
        die("%s: %s", what, apr_strerror(rv, buf, sizeof(buf)));
    die("%s: %s", what, db && db->errmsg ? db->errmsg : "failed");
}

/* ---------------------------------------------------------------- migrate */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void add_sql_dir(apr_array_header_t *files, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    apr_array_header_t *here = apr_array_make(pool, 8, sizeof(char *));
    int i;
    if (!d)
        return;
    while ((e = readdir(d)))
        if (strlen(e->d_name) > 4 && !strcmp(e->d_name + strlen(e->d_name) - 4, ".sql"))
            APR_ARRAY_PUSH(here, char *) = apr_pstrcat(pool, dir, "/", e->d_name, NULL);
    closedir(d);
    qsort(here->elts, here->nelts, sizeof(char *), cmp_str);
    for (i = 0; i < here->nelts; i++)
        APR_ARRAY_PUSH(files, char *) = APR_ARRAY_IDX(here, i, char *);
}

static int cmd_migrate(void)
{
    hg_db_t *db = connect_db();
    /* the source tree when run from it, else where `make install` put the migrations */
    const char *root = opt("root", access("common/sql", F_OK) == 0 ? "." : HG_SHAREDIR);
    apr_array_header_t *files = apr_array_make(pool, 16, sizeof(char *)), *mods;
    DIR *d;
    struct dirent *e;
    int i, applied = 0;

    /* common first, then each module's sql/ in name order, each file in numeric order */
    add_sql_dir(files, apr_pstrcat(pool, root, "/common/sql", NULL));
    mods = apr_array_make(pool, 8, sizeof(char *));
    if ((d = opendir(root))) {
        while ((e = readdir(d)))
            if (!strncmp(e->d_name, "mod_", 4))
                APR_ARRAY_PUSH(mods, char *) = apr_pstrdup(pool, e->d_name);
        closedir(d);
    }
    qsort(mods->elts, mods->nelts, sizeof(char *), cmp_str);
    for (i = 0; i < mods->nelts; i++)
        add_sql_dir(files, apr_pstrcat(pool, root, "/", APR_ARRAY_IDX(mods, i, char *), "/sql", NULL));
    if (!files->nelts)
        die("no migrations under %s (give --root, the source or share directory)", root);

    check(db, hg_db_exec(db, NULL, "CREATE TABLE IF NOT EXISTS public.hisgate_migrations ("
                         "name text PRIMARY KEY, sm3 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                         0, NULL), "migrations table");
    for (i = 0; i < files->nelts; i++) {
        const char *path = APR_ARRAY_IDX(files, i, char *), *name = path + strlen(root) + 1;
        char *sql, *hex;
        apr_size_t len;
        apr_file_t *f;
        apr_finfo_t fi;
        unsigned char h[32];
        hg_db_result_t *res;
        if (apr_file_open(&f, path, APR_READ, 0, pool) || apr_file_info_get(&fi, APR_FINFO_SIZE, f))
            die("cannot read %s", path);
        len = (apr_size_t)fi.size;
        sql = apr_palloc(pool, len + 1);
        apr_file_read_full(f, sql, len, &len);
        sql[len] = '\0';
        apr_file_close(f);
        hg_sm3(h, sql, len);
        hex = hg_hex_encode(pool, h, 32, 0);
        check(db, hg_db_begin(db), "begin");
        /* one migrator at a time, even from several hosts */
        check(db, hg_db_exec(db, NULL, "SELECT pg_advisory_xact_lock(727171)", 0, NULL), "lock");
        check(db, hg_db_q(db, &res, "SELECT sm3 FROM public.hisgate_migrations WHERE name = $1", 1, name),
              "read migrations");
        if (res->nrows) {
            hg_db_rollback(db);
            if (strcmp(hg_db_val(res, 0, 0), hex))
                die("%s was changed after it was applied; add a new migration instead", name);
            continue;
        }
        if (hg_db_exec_script(db, sql) != APR_SUCCESS) {
            const char *m = db->errmsg;
            hg_db_rollback(db);
            die("%s failed: %s", name, m);
        }
        check(db, hg_db_q(db, NULL, "INSERT INTO public.hisgate_migrations (name, sm3) VALUES ($1, $2)",
                          2, name, hex), "record migration");
        check(db, hg_db_commit(db), "commit");
        printf("applied %s\n", name);
        applied++;
    }
    printf("migrations: %d applied, %d already there\n", applied, files->nelts - applied);
    return 0;
}

/* ---------------------------------------------------------------- keys, apps, users */

static int cmd_keygen(void)
{
    const char *out = need("out");
    unsigned char k[32];
    FILE *f;
    if (access(out, F_OK) == 0)
        die("%s exists: refusing to replace keys (data sealed with them would be lost)", out);
    if (hg_random_bytes(k, 32) != APR_SUCCESS)
        die("no randomness");
    umask(077);
    if (!(f = fopen(out, "w")))
        die("cannot write %s", out);
    fprintf(f, "# hisgate keys (HisgateKeyFile). Back this file up apart from the database.\n"
            "master_key=%s\naudit_key=%s\n", hg_hex_encode(pool, k, 16, 0), hg_hex_encode(pool, k + 16, 16, 0));
    fclose(f);
    printf("wrote %s\n", out);
    return 0;
}

static int cmd_app(void)
{
    const char *sub = arg(1);
    hg_db_t *db = connect_db();
    unsigned char master[16], audit[16];
    hg_db_result_t *res;
    int i;
    if (sub && !strcmp(sub, "add")) {
        const char *id = need("app-id"), *secret = opt("secret", NULL);
        char *sealed;
        load_keys(master, audit);
        if (!secret) {
            char *s;
            hg_random_string(&s, pool, 32, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789");
            secret = s;
        }
        if (strlen(secret) < 16)
            die("an app secret must have at least 16 characters");
        check(db, hg_secret_seal(&sealed, pool, master, secret, strlen(secret)), "seal");
        check(db, hg_db_q(db, NULL, "INSERT INTO hg.apps (app_id, name, institution, secret_sealed) "
                          "VALUES ($1, $2, $3, $4) ON CONFLICT (app_id) DO UPDATE SET name = EXCLUDED.name, "
                          "institution = EXCLUDED.institution, secret_sealed = EXCLUDED.secret_sealed, enabled = true",
                          4, id, opt("name", id), need("institution"), sealed), "add app");
        printf("app_id=%s\nsecret=%s\n", id, secret);
        return 0;
    }
    if (sub && (!strcmp(sub, "disable") || !strcmp(sub, "enable"))) {
        check(db, hg_db_q(db, &res, "UPDATE hg.apps SET enabled = $2::boolean WHERE app_id = $1 RETURNING 1",
                          2, need("app-id"), !strcmp(sub, "enable") ? "true" : "false"), "update app");
        if (!res->nrows)
            die("no app %s", need("app-id"));
        printf("%s %sd\n", need("app-id"), sub);
        return 0;
    }
    if (sub && !strcmp(sub, "list")) {
        check(db, hg_db_q(db, &res, "SELECT app_id, name, institution, enabled FROM hg.apps ORDER BY app_id", 0),
              "list apps");
        for (i = 0; i < res->nrows; i++)
            printf("%-24s %-10s %-8s %s\n", hg_db_val(res, i, 0), hg_db_val(res, i, 2),
                   hg_db_val(res, i, 3)[0] == 't' ? "enabled" : "disabled", hg_db_val(res, i, 1));
        return 0;
    }
    die("usage: hisgate app add --app-id ID --institution CODE [--name N] [--secret S] | app list | app disable|enable --app-id ID");
}

static const char *read_password(void)
{
    static char buf[512];
    struct termios t, saved;
    int tty = isatty(0);
    if (tty) {
        fputs("password: ", stderr);
        tcgetattr(0, &t);
        saved = t;
        t.c_lflag &= ~ECHO;
        tcsetattr(0, TCSANOW, &t);
    }
    if (!fgets(buf, sizeof(buf), stdin))
        buf[0] = '\0';
    if (tty) {
        tcsetattr(0, TCSANOW, &saved);
        fputc('\n', stderr);
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
}

static int cmd_user(void)
{
    const char *sub = arg(1);
    hg_db_t *db = connect_db();
    hg_db_result_t *res;
    const char *reason = NULL;
    char *hash;
    int i;
    if (sub && (!strcmp(sub, "add") || !strcmp(sub, "passwd"))) {
        const char *user = need("username"), *pw = read_password();
        if (hg_password_policy_check(pool, user, pw, &reason) != APR_SUCCESS)
            die("weak password: %s", reason);
        check(db, hg_password_hash(&hash, pool, pw), "hash");
        if (!strcmp(sub, "add")) {
            /* roles travel as a text[] literal built from a comma list of identifiers */
            const char *roles = apr_pstrcat(pool, "{", opt("roles", ""), "}", NULL);
            check(db, hg_db_q(db, NULL, "INSERT INTO hg.staff (username, display_name, institution, department, "
                              "roles, password_hash) VALUES ($1, $2, $3, $4, $5::text[], $6)", 6, user,
                              opt("display-name", user), need("institution"), opt("department", ""), roles, hash),
                  "add user");
        }
        else {
            check(db, hg_db_q(db, &res, "UPDATE hg.staff SET password_hash = $2, failed_logins = 0, "
                              "locked_until = NULL WHERE username = $1 RETURNING 1", 2, user, hash), "passwd");
            if (!res->nrows)
                die("no user %s", user);
        }
        printf("%s: ok\n", user);
        return 0;
    }
    if (sub && !strcmp(sub, "unlock")) {
        check(db, hg_db_q(db, &res, "UPDATE hg.staff SET failed_logins = 0, locked_until = NULL "
                          "WHERE username = $1 RETURNING 1", 1, need("username")), "unlock");
        if (!res->nrows)
            die("no user %s", need("username"));
        printf("%s unlocked\n", need("username"));
        return 0;
    }
    if (sub && !strcmp(sub, "list")) {
        check(db, hg_db_q(db, &res, "SELECT username, institution, department, roles::text, "
                          "coalesce(locked_until > now(), false) FROM hg.staff ORDER BY username", 0), "list");
        for (i = 0; i < res->nrows; i++)
            printf("%-20s %-10s %-12s %-30s %s\n", hg_db_val(res, i, 0), hg_db_val(res, i, 1),
                   hg_db_val(res, i, 2), hg_db_val(res, i, 3), hg_db_val(res, i, 4)[0] == 't' ? "LOCKED" : "");
        return 0;
    }
    die("usage: hisgate user add --username U --institution I [--roles a,b] [--department D] < password\n"
        "       hisgate user passwd|unlock --username U | user list");
}

/* ---------------------------------------------------------------- audit */

static long days_opt(const char *name, const char *dflt, long min)
{
    const char *v = opt(name, dflt);
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || end == v || n < min || n > 36500)
        die("--%s: a whole number of days, %ld or more (got \"%s\")", name, min, v);
    return n;
}

static void print_archive(const char *what, const hg_audit_archive_t *a)
{
    printf("%s: chain positions %" APR_INT64_T_FMT "-%" APR_INT64_T_FMT " (%" APR_INT64_T_FMT " rows, %s to %s), "
           "last hash %s\n", what, a->from_seq, a->to_seq, a->rows, a->first_at, a->last_at, a->last_hash);
}

/* audit archive | purge: the journal's retention (hg_audit_archive.h) */
static int cmd_audit_retention(const char *sub)
{
    hg_audit_archive_t a;
    const char *why;
    apr_status_t rv;
    if (!strcmp(sub, "archive")) {
        /* the legal minimum is checked by hg_audit_archive_write, with the law named */
        long keep = days_opt("keep-days", "180", 1);
        const char *out = need("out");
        hg_db_t *db = connect_db();
        rv = hg_audit_archive_write(db, (int)keep, out, &a, &why);
        if (rv == APR_EEXIST)
            die("%s exists: an archive is never overwritten", out);
        if (rv == HG_EINVALID)
            die("archive refused: %s", why);
        check(db, rv, "archive");
        if (!a.rows) {
            printf("nothing to archive: no sealed row older than %ld days after chain position %" APR_INT64_T_FMT "\n",
                   keep, a.to_seq);
            return 0;
        }
        print_archive(apr_psprintf(pool, "archived to %s", out), &a);
        printf("keep the file with the backups, then: hisgate audit purge --archive %s\n", out);
        return 0;
    }
    if (!strcmp(sub, "purge")) {
        const char *path = need("archive"), *bs = opt("batch", "2000");
        unsigned char master[16], key[16];
        hg_audit_purged_t done;
        hg_audit_rec_t journal;
        const char *who = getenv("SUDO_USER") ? getenv("SUDO_USER") : getenv("USER");
        char *end;
        long batch = strtol(bs, &end, 10);
        hg_db_t *db;
        if (*end || end == bs || batch < 1 || batch > 100000)
            die("--batch: 1 to 100000 rows a statement (got \"%s\")", bs);
        if ((rv = hg_audit_archive_check(pool, path, &a, &why)) == HG_EINVALID)
            die("%s is not an intact archive: %s", path, why);
        if (rv)
            check(NULL, rv, path);
        load_keys(master, key);           /* the purge is journalled, like every operations action */
        db = connect_db();
        memset(&journal, 0, sizeof(journal));
        journal.caller = apr_pstrcat(pool, "hisgate-cli:", who ? who : "?", NULL);
        journal.direction = "in";
        journal.endpoint = "hisgate audit purge";
        journal.status = 200;
        rv = hg_audit_purge(db, &a, path, (int)batch, key, &journal, &done, &why);
        if (rv == HG_ECONFLICT)
            die("another audit purge is running");
        if (rv == HG_EINVALID)
            die("purge refused: %s", why);
        check(db, rv, "purge");
        print_archive(done.already ? "purged before (now finished)" : "purged", &a);
        printf("%" APR_INT64_T_FMT " rows deleted; the journal's chain continues from position %" APR_INT64_T_FMT "\n",
               done.deleted, a.to_seq);
        return 0;
    }
    return -1;
}

static int cmd_audit(void)
{
    const char *sub = arg(1);
    hg_db_t *db;
    hg_db_result_t *res;
    int i;
    if (sub && (!strcmp(sub, "archive") || !strcmp(sub, "purge")))
        return cmd_audit_retention(sub);
    if (sub && !strcmp(sub, "verify") && opt("archive", NULL)) {
        hg_audit_archive_t a;
        const char *why;
        apr_status_t rv = hg_audit_archive_check(pool, opt("archive", NULL), &a, &why);
        if (rv == HG_EINVALID) {
            printf("TAMPERED or incomplete archive: %s\n", why);
            return 1;
        }
        if (rv)
            check(NULL, rv, opt("archive", NULL));
        print_archive("intact archive", &a);
        printf("it continues the chain from hash %s\n", a.prev_hash);
        return 0;
    }
    db = connect_db();
    if (sub && !strcmp(sub, "verify")) {
        hg_audit_verdict_t v;
        check(db, hg_audit_verify(db, &v), "verify");
        if (v.bad_seq) {
            printf("TAMPERED: %s\nfirst bad chain position: %" APR_INT64_T_FMT "\n", v.reason, v.bad_seq);
            if (v.bad_id)
                printf("row id: %" APR_INT64_T_FMT "\n", v.bad_id);
            return 1;
        }
        printf("intact: %" APR_INT64_T_FMT " rows verified\n", v.checked);
        if (v.archived_to)
            printf("positions 1-%" APR_INT64_T_FMT " were archived and purged (hg.audit_purges); "
                   "hisgate audit verify --archive FILE proves each file\n", v.archived_to);
        if (v.unsealed_old) {
            printf("WARNING: %" APR_INT64_T_FMT " rows older than 10 minutes are not sealed yet "
                   "(is the watchdog running? try 'hisgate audit seal')\n", v.unsealed_old);
            return 1;
        }
        return 0;
    }
    if (sub && !strcmp(sub, "seal")) {
        int n, total = 0;
        do {
            check(db, hg_audit_seal(db, 5000, &n), "seal");
            total += n;
        } while (n > 0);
        printf("sealed %d rows\n", total);
        return 0;
    }
    if (sub && !strcmp(sub, "show")) {
        unsigned char master[16], key[16];
        load_keys(master, key);
        check(db, hg_db_q(db, &res,
            "SELECT id, to_char(at, 'YYYY-MM-DD HH24:MI:SS.MS'), institution, caller, direction, endpoint, "
            "  status, elapsed_ms, request_id, req_enc, resp_enc, coalesce(seq::text, '-') FROM hg.audit "
            "WHERE ($1::bigint IS NULL OR id = $1::bigint) AND ($2::text IS NULL OR caller = $2) "
            "  AND ($3::text IS NULL OR endpoint LIKE '%' || $3 || '%') "
            "  AND ($4::timestamptz IS NULL OR at >= $4::timestamptz) "
            "  AND ($5::text IS NULL OR request_id = $5) "
            "ORDER BY id DESC LIMIT $6::int", 6, opt("id", NULL), opt("caller", NULL),
            opt("endpoint", NULL), opt("since", NULL), opt("request-id", NULL), opt("limit", "20")), "show");
        for (i = res->nrows - 1; i >= 0; i--) {
            char *req = NULL, *resp = NULL;
            apr_size_t n;
            if (hg_audit_decrypt(&req, &n, pool, key, hg_db_val(res, i, 9)) != APR_SUCCESS)
                req = "(cannot decrypt with this key)";
            if (hg_audit_decrypt(&resp, &n, pool, key, hg_db_val(res, i, 10)) != APR_SUCCESS)
                resp = "(cannot decrypt with this key)";
            printf("#%s %s seq=%s %s %s %s [%s] %s %sms req=%s\n  request:  %s\n  response: %s\n",
                   hg_db_val(res, i, 0), hg_db_val(res, i, 1), hg_db_val(res, i, 11), hg_db_val(res, i, 2),
                   hg_db_val(res, i, 3), hg_db_val(res, i, 4), hg_db_val(res, i, 5), hg_db_val(res, i, 6),
                   hg_db_val(res, i, 7), hg_db_val(res, i, 8), req, resp);
        }
        return 0;
    }
    die("usage: hisgate audit show [--id N] [--caller C] [--endpoint TEXT] [--since TIME] [--request-id R] [--limit N]\n"
        "       hisgate audit verify [--archive FILE] | audit seal\n"
        "       hisgate audit archive --out FILE [--keep-days 180] | audit purge --archive FILE [--batch 2000]");
}

/* ---------------------------------------------------------------- outbox, probe */

static int cmd_outbox(void)
{
    const char *sub = arg(1);
    hg_db_t *db = connect_db();
    hg_db_result_t *res;
    int i, found = 0;
    if (sub && !strcmp(sub, "retry")) {
        check(db, hg_outbox_retry(db, apr_atoi64(need("id")), &found), "retry");
        if (!found)
            die("no dead or pending outbox row %s", need("id"));
        printf("outbox %s: pending again\n", need("id"));
        return 0;
    }
    if (sub && !strcmp(sub, "discard")) {
        struct passwd *pw = getpwuid(geteuid());
        check(db, hg_outbox_discard(db, apr_atoi64(need("id")), apr_pstrcat(pool, "cli:", pw ? pw->pw_name : "?",
                                                                            NULL), &found), "discard");
        if (!found)
            die("no dead outbox row %s", need("id"));
        printf("outbox %s: discarded (the later rows of its order go on)\n", need("id"));
        return 0;
    }
    if (sub && !strcmp(sub, "list")) {
        check(db, hg_outbox_list(db, &res, opt("state", NULL), opt("topic", NULL), "", 100), "list");
        for (i = 0; i < res->nrows; i++)
            printf("%-8s %-24s %-10s tries=%-3s %-28s %s\n", hg_db_val(res, i, 0), hg_db_val(res, i, 1),
                   hg_db_val(res, i, 3), hg_db_val(res, i, 4), hg_db_val(res, i, 2),
                   hg_db_val(res, i, 6) ? hg_db_val(res, i, 6) : "");
        return 0;
    }
    if (sub && !strcmp(sub, "stats")) {
        check(db, hg_outbox_stats(db, &res), "stats");
        for (i = 0; i < res->nrows; i++)
        {
            const char *pr = hg_db_get(res, i, "paused_reason"), *pu = hg_db_get(res, i, "paused_until");
            printf("%-24s pending=%s inflight=%s dead=%s done=%s", hg_db_get(res, i, "topic"),
                   hg_db_get(res, i, "pending"), hg_db_get(res, i, "inflight"), hg_db_get(res, i, "dead"),
                   hg_db_get(res, i, "done"));
            if (strcmp(hg_db_get(res, i, "held"), "0"))
                printf(" held=%s (behind a dead row of their order: retry it)", hg_db_get(res, i, "held"));
            if (pr)
                printf("  PAUSED by %s since %s until %s: %s", hg_db_get(res, i, "paused_by"),
                       hg_db_get(res, i, "paused_at"), pu ? pu : "resumed", pr);
            printf("\n");
        }
        return 0;
    }
    if (sub && !strcmp(sub, "pause")) {
        const char *topic = need("topic"), *until = opt("until", NULL);
        struct passwd *pw = getpwuid(geteuid());
        apr_status_t rv;
        if (!hg_outbox_topic_valid(topic))
            die("--topic: a topic name such as invoice.upload (got \"%s\")", topic);
        if (until && !hg_outbox_time_valid(until))
            die("--until: a time such as \"2026-12-01 06:00\" (or ISO 8601 with an offset), got \"%s\"", until);
        rv = hg_outbox_pause(db, topic, need("reason"), apr_pstrcat(pool, "cli:", pw ? pw->pw_name : "?", NULL), until);
        if (rv == HG_EINVALID)
            die("--until must be in the future, and --reason 1 to 200 characters");
        check(db, rv, "pause");
        printf("outbox topic %s paused%s%s: its rows wait, pending, until it is resumed%s\n", topic,
               until ? " until " : "", until ? until : "", until ? " or that time has passed" : "");
        return 0;
    }
    if (sub && !strcmp(sub, "resume")) {
        check(db, hg_outbox_resume(db, need("topic"), &found), "resume");
        if (!found)
            die("outbox topic %s is not paused", need("topic"));
        printf("outbox topic %s resumed\n", need("topic"));
        return 0;
    }
    if (sub && !strcmp(sub, "purge")) {
        hg_outbox_purge_t done;
        char *end;
        const char *kd = opt("keep-days", "30"), *bs = opt("batch", "2000");
        long keep = strtol(kd, &end, 10), batch;
        if (*end || end == kd || keep < 1 || keep > 36500)
            die("--keep-days: a whole number of days, 1 or more (got \"%s\")", kd);
        batch = strtol(bs, &end, 10);
        if (*end || end == bs || batch < 1 || batch > 100000)
            die("--batch: 1 to 100000 rows a statement (got \"%s\")", bs);
        apr_status_t rv = hg_outbox_purge(db, (int)keep, (int)batch, &done);
        if (rv == HG_ECONFLICT)
            die("another outbox purge is running");
        check(db, rv, "purge");
        printf("outbox purge (delivered more than %ld days ago): %" APR_INT64_T_FMT " rows deleted, %"
               APR_INT64_T_FMT " record rows emptied, %" APR_INT64_T_FMT " older rows left as they were "
               "(queued, dead, or delivered lately); %" APR_INT64_T_FMT " rows read\n", keep, done.deleted,
               done.emptied, done.kept, done.read);
        return 0;
    }
    die("usage: hisgate outbox list [--state dead] [--topic T] | outbox stats | outbox retry --id N\n"
        "       hisgate outbox discard --id N   (a dead row dealt with by hand: its order's later rows go on)\n"
        "       hisgate outbox pause --topic T --reason TEXT [--until \"YYYY-MM-DD HH:MM\"] | outbox resume --topic T\n"
        "       hisgate outbox purge [--keep-days 30] [--batch 2000]");
}

static int cmd_probe(void)
{
    hg_db_t *db;
    char key[64];
    int created = 0;
    unsigned char r[8];
    if (!arg(1) || strcmp(arg(1), "fiscal"))
        die("usage: hisgate probe fiscal [--institution CODE]");
    db = connect_db();
    hg_random_bytes(r, sizeof(r));
    apr_snprintf(key, sizeof(key), "cli-%s", hg_hex_encode(pool, r, sizeof(r), 0));
    check(db, hg_outbox_enqueue(db, "hg.probe.fiscal", opt("institution", ""), key,
                                "{\"requested_by\":\"cli\"}", atoi(opt("max-attempts", "3")), &created),
          "enqueue");
    printf("queued hg.probe.fiscal %s\n", key);
    return 0;
}

/* ---------------------------------------------------------------- sign, errors */

static int cmd_sign(void)
{
    const char *alg = opt("alg", "HG1-HMAC-SM3"), *secret = need("secret"), *body = "";
    const char *ts = opt("timestamp", NULL), *nonce = opt("nonce", NULL);
    apr_size_t len = 0;
    char *sig, tsbuf[32];
    if (apr_table_get(opts, "body-file")) {
        apr_file_t *f;
        apr_finfo_t fi;
        char *b;
        if (apr_file_open(&f, need("body-file"), APR_READ, 0, pool) || apr_file_info_get(&fi, APR_FINFO_SIZE, f))
            die("cannot read %s", need("body-file"));
        len = (apr_size_t)fi.size;
        b = apr_palloc(pool, len + 1);
        apr_file_read_full(f, b, len, &len);
        b[len] = '\0';
        body = b;
    }
    else if (apr_table_get(opts, "body")) {
        body = need("body");
        len = strlen(body);
    }
    if (!ts) {
        apr_snprintf(tsbuf, sizeof(tsbuf), "%" APR_TIME_T_FMT, apr_time_sec(apr_time_now()));
        ts = tsbuf;
    }
    if (!nonce) {
        char *n;
        hg_random_string(&n, pool, 24, "abcdefghijklmnopqrstuvwxyz0123456789");
        nonce = n;
    }
    if (hg_auth_sign(&sig, pool, alg, (const unsigned char *)secret, strlen(secret), opt("method", "POST"),
                     need("target"), ts, nonce, body, len) != APR_SUCCESS)
        die("cannot sign (algorithm %s?)", alg);
    printf("%s app_id=\"%s\",timestamp=\"%s\",nonce=\"%s\",signature=\"%s\"\n", alg, need("app-id"), ts, nonce, sig);
    return 0;
}

static int cmd_errors(void)
{
    apr_size_t n, i;
    const hg_errdef_t *t = hg_err_table(&n);
    printf("| code | HTTP | meaning |\n|---|---|---|\n");
    for (i = 0; i < n; i++)
        printf("| `%s` | %d | %s |\n", t[i].code, t[i].status, t[i].message);
    return 0;
}

static void usage(void)
{
    fputs("usage: hisgate COMMAND [options]\n"
          "  migrate [--root DIR]            apply common/sql and mod_*/sql migrations in order (DIR: the\n"
          "                                  source tree when run in it, else " HG_SHAREDIR ")\n"
          "  keygen --out FILE               create a key file (master_key, audit_key)\n"
          "  app add|list|enable|disable     HIS apps that sign requests\n"
          "  user add|passwd|unlock|list     staff accounts (password read from stdin)\n"
          "  audit show|verify|seal          the SM4-encrypted, SM3-chained journal\n"
          "  audit archive|purge             rows older than --keep-days (180, the legal minimum) to a\n"
          "                                  file, then, after the backup, out of the database\n"
          "  outbox list|stats|retry|purge   background deliveries; purge: delete what was delivered\n"
          "                                  more than --keep-days (30) ago (after the nightly backup)\n"
          "  outbox pause|resume             hold a topic back (--topic T --reason R [--until TIME]) for a\n"
          "                                  platform's announced maintenance: its rows wait, not fail\n"
          "  probe fiscal                    queue a signed call to the fiscal platform\n"
          "  sign --app-id A --secret S --target /path [--method POST] [--body B|--body-file F] [--alg HG1-HMAC-SHA256]\n"
          "  errors                          the error code table (Markdown)\n"
          "options: --dsn DSN (or HG_DSN), --keys FILE (or HG_KEYS)\n", stderr);
    exit(2);
}

int main(int argc, const char *const *argv)
{
    const char *cmd;
    int i;
    apr_app_initialize(&argc, &argv, NULL);
    atexit(apr_terminate);
    apr_pool_create(&pool, NULL);
    opts = apr_table_make(pool, 8);
    args = apr_array_make(pool, 4, sizeof(const char *));
    for (i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--", 2)) {
            const char *eq = strchr(argv[i], '=');
            if (eq)
                apr_table_set(opts, apr_pstrndup(pool, argv[i] + 2, eq - argv[i] - 2), eq + 1);
            else if (i + 1 < argc) {
                apr_table_set(opts, argv[i] + 2, argv[i + 1]);
                i++;
            }
            else
                die("%s needs a value", argv[i]);
        }
        else
            APR_ARRAY_PUSH(args, const char *) = argv[i];
    }
    if (!(cmd = arg(0)))
        usage();
    if (!strcmp(cmd, "migrate"))
        return cmd_migrate();
    if (!strcmp(cmd, "keygen"))
        return cmd_keygen();
    if (!strcmp(cmd, "app"))
        return cmd_app();
    if (!strcmp(cmd, "user"))
        return cmd_user();
    if (!strcmp(cmd, "audit"))
        return cmd_audit();
    if (!strcmp(cmd, "outbox"))
        return cmd_outbox();
    if (!strcmp(cmd, "probe"))
        return cmd_probe();
    if (!strcmp(cmd, "sign"))
        return cmd_sign();
    if (!strcmp(cmd, "errors"))
        return cmd_errors();
    usage();
    return 2;
}
