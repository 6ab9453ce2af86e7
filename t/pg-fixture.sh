#!/bin/sh
# Throwaway PostgreSQL cluster + hisgate schema + test credentials for the Apache::Test suite.
# Run as the unprivileged test user.  Writes t/state/env (sourced by the tests' runner).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
port=${HG_PGPORT:-25439}
dir=${HG_PGDIR:-/tmp/hgpg-$port}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
state=$TOP/t/state
case "$1" in
start)
    rm -rf "$dir" "$state"
    mkdir -p "$state"
    "$bin/initdb" -D "$dir" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
    "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50" start >/dev/null \
        || { echo "pg-fixture: PostgreSQL did not start on port $port; its log:" >&2
             tail -n 20 "$dir/server.log" >&2; exit 1; }
    "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE hisgate LOGIN" -c "CREATE DATABASE hisgate OWNER hisgate ENCODING 'UTF8'"
    export HG_DSN="host=127.0.0.1 port=$port dbname=hisgate user=hisgate" HG_KEYS="$state/keys"
    "$TOP/tools/hisgate" keygen --out "$state/keys" >/dev/null
    "$TOP/tools/hisgate" migrate --root "$TOP" >/dev/null
    for f in "$TOP"/mod_*/demo.sql; do
        [ -f "$f" ] && "$bin/psql" -h 127.0.0.1 -p "$port" -U hisgate -d hisgate -qX -v ON_ERROR_STOP=1 -f "$f" >/dev/null
    done
    openssl genpkey -algorithm SM2 -out "$state/invoice-seal.pem" 2>/dev/null
    "$TOP/tools/hisgate" app add --app-id test-his --institution 44010001 --name "测试HIS" \
        --secret test-secret-0123456789abcdef >/dev/null
    "$TOP/tools/hisgate" app add --app-id test-his-off --institution 44010001 \
        --secret test-secret-disabled-000000 >/dev/null
    "$TOP/tools/hisgate" app disable --app-id test-his-off >/dev/null
    echo 'Adm1n-Test-Pass#2026' | "$TOP/tools/hisgate" user add --username admin --institution 44010001 --roles admin,ops >/dev/null
    echo 'Cashier-Pass#2026x' | "$TOP/tools/hisgate" user add --username clerk --institution 44010001 --roles cashier >/dev/null
    echo 'Bolted-Pass#2026x' | "$TOP/tools/hisgate" user add --username locky --institution 44010001 --roles cashier >/dev/null
    # the SSO stand-in's accounts: admin exists in hg.staff, outsider does not
    htpasswd -cbB "$state/htpasswd" admin sso-pass-admin-1 2>/dev/null
    htpasswd -bB "$state/htpasswd" outsider sso-pass-outsider-1 2>/dev/null
    cat > "$state/env" <<ENV
HG_PGPORT=$port
HG_PGDIR=$dir
HG_DSN='$HG_DSN'
HG_KEYS=$state/keys
ENV
    ;;
stop)
    [ -d "$dir" ] && "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
