#!/bin/sh
# mod_invoice's whole-number directives: httpd -t with the built modules accepts a value in range and
# refuses one out of range or not a number, naming the directive and its range.
cd "$(dirname "$0")/../.." || exit 1
TOP=$(pwd)
HTTPD=$(command -v apache2 || command -v httpd || echo /usr/sbin/apache2)
MODS=/usr/lib/apache2/modules
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
echo "1..9"
check() {   # directive value expected-output-pattern
    cat > "$TMP/t.conf" <<CONF
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule dbd_module $MODS/mod_dbd.so
LoadModule socache_shmcb_module $MODS/mod_socache_shmcb.so
Include $TOP/conf/modules.load
Listen 127.0.0.1:1
ErrorLog $TMP/error_log
PidFile $TMP/pid
$1 $2
CONF
    out=$(HG_TOP="$TOP" "$HTTPD" -t -f "$TMP/t.conf" 2>&1 | grep -v '^\[' | tail -n 1)
    n=$((n + 1))
    if echo "$out" | grep -q -- "$3"; then echo "ok $n - $1 $2: $out"; else echo "not ok $n - $1 $2: $out (wanted $3)"; fi
}
check InvoicePdfRenders 3 'Syntax OK'
check InvoicePdfRenders 0 'InvoicePdfRenders: .*1 to 64'
check InvoicePdfRenders 3x 'InvoicePdfRenders: .*1 to 64'
check InvoicePdfLinkTTL 600 'Syntax OK'
check InvoicePdfLinkTTL 29 'InvoicePdfLinkTTL: seconds, 30 to 86400'
check InvoiceIssueGroup 256 'Syntax OK'
check InvoiceIssueGroup 257 'InvoiceIssueGroup: .*1 to 256'
check InvoiceIssueLanes 0 'Syntax OK'
check InvoiceIssueLanes 65 'InvoiceIssueLanes: .*0 to 64'
