#!/bin/sh
# make run / make stop: a private PostgreSQL cluster and httpd (event MPM) on 127.0.0.1, state under var/.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-8080}
PGPORT=${PGPORT:-25432}
VAR=$TOP/var
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
HISGATE=$TOP/tools/hisgate
DSN="host=127.0.0.1 port=$PGPORT dbname=hisgate user=hisgate"

# initdb refuses root and httpd's workers should not be root: use an unprivileged account
if [ "$(id -u)" -eq 0 ]; then
    RUSER=hisgate
    id -u "$RUSER" >/dev/null 2>&1 || useradd --system --create-home --shell /bin/sh "$RUSER"
    as_user() { runuser -u "$RUSER" -- "$@"; }
else
    RUSER=$(id -un)
    as_user() { "$@"; }
fi
RGROUP=$(id -gn "$RUSER")

mkdir -p "$VAR/httpd/run" "$VAR/httpd/log"
# PostgreSQL's data must be reachable by that account; a tree under /root is not
if as_user test -x "$VAR" 2>/dev/null && as_user sh -c "test -w '$VAR' || exit 1" 2>/dev/null; then
    PGDIR=$VAR/pgdata
else
    PGDIR=/var/lib/hisgate-dev/pg-$PGPORT
    mkdir -p "$PGDIR"
    chown "$RUSER:$RGROUP" "$PGDIR"
    chmod 700 "$PGDIR"
fi
HTDOCS=$TOP/htdocs
if ! as_user test -r "$HTDOCS/index.html" 2>/dev/null; then
    HTDOCS=/var/lib/hisgate-dev/htdocs-$PORT
    rm -rf "$HTDOCS"; mkdir -p "$HTDOCS"; cp -a "$TOP/htdocs/." "$HTDOCS/"
    chown -R "$RUSER:$RGROUP" "$HTDOCS"
fi

# the sandbox's mail server listens on the next port (demo.conf)
export HG_TOP="$TOP" HG_VAR="$VAR" HG_STATE="$VAR/httpd" HG_PORT="$PORT" HG_PGPORT="$PGPORT" HG_PGHOST="$PGDIR" \
       HG_HTDOCS="$HTDOCS" HG_USER="$RUSER" HG_GROUP="$RGROUP" HG_SMTP_PORT="$((PORT + 1))"

[ -f "$VAR/fiscal-key" ] && export HG_FISCAL_KEY="$(cat "$VAR/fiscal-key")"
[ -f "$VAR/invoice-link-key" ] && export HG_INVOICE_LINK_KEY="$(cat "$VAR/invoice-link-key")"

httpd_pid() { cat "$VAR/httpd/run/httpd.pid" 2>/dev/null || true; }
httpd_running() { p=$(httpd_pid); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
pg_running() { as_user "$PGBIN/pg_ctl" -D "$PGDIR" status >/dev/null 2>&1; }

start_pg() {
    if [ ! -f "$PGDIR/PG_VERSION" ]; then
        echo "run: creating the private PostgreSQL cluster in $PGDIR"
        as_user "$PGBIN/initdb" -D "$PGDIR" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! pg_running; then
        # a port in Linux's range for outgoing connections (32768-60999, as the defaults were) may be
        # held by one for a while just after many of them (a test run), and the bind fails: wait it
        # out.  The defaults (25432, the tests' 25439) lie below that range
        tries=0
        until as_user "$PGBIN/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -w -o \
            "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_connections=150" start >/dev/null; do
            tries=$((tries + 1))
            if [ $tries -gt 14 ] || ! tail -n 5 "$PGDIR/server.log" | grep -q 'Address already in use'; then
                echo "run: PostgreSQL did not start (see $PGDIR/server.log)" >&2
                exit 1
            fi
            [ $tries -gt 1 ] || echo "run: port $PGPORT is still held by a closing connection (TIME_WAIT); waiting for it"
            sleep 5
        done
    fi
    psql_pg() { as_user "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -qtA -v ON_ERROR_STOP=1 "$@"; }
    [ "$(psql_pg -c "SELECT 1 FROM pg_roles WHERE rolname = 'hisgate'")" = 1 ] || psql_pg -c "CREATE ROLE hisgate LOGIN"
    [ "$(psql_pg -c "SELECT 1 FROM pg_database WHERE datname = 'hisgate'")" = 1 ] || \
        psql_pg -c "CREATE DATABASE hisgate OWNER hisgate ENCODING 'UTF8'"
}

cred() { grep "^$1=" "$VAR/demo-credentials" 2>/dev/null | head -n 1 | cut -d= -f2-; }

demo_data() {
    [ -f "$VAR/keys" ] || "$HISGATE" keygen --out "$VAR/keys" >/dev/null
    [ -f "$VAR/fiscal-key" ] || (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$VAR/fiscal-key")
    export HG_FISCAL_KEY="$(cat "$VAR/fiscal-key")" HG_DSN="$DSN" HG_KEYS="$VAR/keys"
    # not a pipe into tail: sh would take tail's status, and a failed migration would go unnoticed
    out=$("$HISGATE" migrate --root "$TOP") || { echo "$out" >&2; echo "run: migrations failed" >&2; exit 1; }
    echo "$out" | tail -n 1
    # each module's demo data (idempotent)
    for f in "$TOP"/mod_*/demo.sql; do
        [ -f "$f" ] && as_user "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U hisgate -d hisgate -qX -v ON_ERROR_STOP=1 -f - < "$f" >/dev/null
    done
    # the unit seal (SM2) of the demo hospital and the offline-link key shared with the HIS
    [ -f "$VAR/invoice-seal.pem" ] || (umask 077; openssl genpkey -algorithm SM2 -out "$VAR/invoice-seal.pem" 2>/dev/null)
    [ -f "$VAR/invoice-link-key" ] || (umask 077; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$VAR/invoice-link-key")
    export HG_INVOICE_LINK_KEY="$(cat "$VAR/invoice-link-key")"
    secret=$(cred HG_APP_SECRET)
    if [ -n "$secret" ]; then
        "$HISGATE" app add --app-id demo-his --name "演示HIS" --institution 44010001 --secret "$secret" >/dev/null
    else
        secret=$("$HISGATE" app add --app-id demo-his --name "演示HIS" --institution 44010001 | sed -n 's/^secret=//p')
    fi
    admin_pw=$(cred HG_ADMIN_PASSWORD)
    if [ -z "$admin_pw" ]; then
        admin_pw="Hg-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')-Adm"
        printf '%s\n' "$admin_pw" | "$HISGATE" user add --username admin --display-name "系统管理员" \
            --institution 44010001 --roles admin,ops >/dev/null
    fi
    umask 077
    cat > "$VAR/demo-credentials" <<CRED
# hisgate demo stack (make run) — shell-sourceable
HG_BASE_URL=http://127.0.0.1:$PORT
HG_APP_ID=demo-his
HG_APP_SECRET=$secret
HG_INSTITUTION=44010001
HG_ADMIN_USER=admin
HG_ADMIN_PASSWORD=$admin_pw
HG_DSN='$DSN'
HG_KEYS=$VAR/keys
HG_INVOICE_LINK_KEY=$(cat "$VAR/invoice-link-key")
CRED
    cat "$TOP"/mod_*/demo.env >> "$VAR/demo-credentials" 2>/dev/null || true
}

start_httpd() {
    # a running httpd is stopped, not reloaded: a graceful restart would keep the parent's old
    # environment (the ${HG_…} values demo.conf reads) and answer health checks meanwhile
    if httpd_running; then
        /usr/sbin/apache2 -f "$TOP/conf/demo.conf" -k stop
        i=0
        while httpd_running && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
    fi
    /usr/sbin/apache2 -f "$TOP/conf/demo.conf" -k start
    i=0
    until curl -fsS "http://127.0.0.1:$PORT/hg/health" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 50 ]; then
            echo "run: httpd did not become healthy; last lines of $VAR/httpd/log/error_log:" >&2
            tail -n 20 "$VAR/httpd/log/error_log" >&2 || true
            exit 1
        fi
        sleep 0.2
    done
}

case "${1:-}" in
start)
    start_pg
    demo_data
    start_httpd
    echo
    echo "hisgate is running (httpd event MPM on 127.0.0.1:$PORT, PostgreSQL on 127.0.0.1:$PGPORT)"
    echo "  health:   http://127.0.0.1:$PORT/hg/health"
    echo "  status:   http://127.0.0.1:$PORT/hg/status"
    echo "  metrics:  http://127.0.0.1:$PORT/hg/metrics"
    echo "  console:  http://127.0.0.1:$PORT/console/   (user admin, password in var/demo-credentials)"
    echo "  HIS app:  HG_APP_ID=demo-his  HG_APP_SECRET=$(cred HG_APP_SECRET)"
    echo "  try:      tools/hisgate sign --app-id demo-his --secret \"\$HG_APP_SECRET\" --target /hg/ping"
    echo "  all demo facts: var/demo-credentials; logs: var/httpd/log/; stop with: make stop"
    ;;
stop)
    if httpd_running; then
        /usr/sbin/apache2 -f "$TOP/conf/demo.conf" -k stop 2>/dev/null || kill "$(httpd_pid)" 2>/dev/null || true
        i=0; while httpd_running && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
        echo "stop: httpd stopped"
    fi
    if [ -f "$PGDIR/PG_VERSION" ] && pg_running; then
        as_user "$PGBIN/pg_ctl" -D "$PGDIR" -m fast -w stop >/dev/null
        echo "stop: PostgreSQL stopped"
    fi
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
