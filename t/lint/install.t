#!/bin/sh
# make install lays out what a production httpd needs (README, conf/hisgate.conf): the modules, the
# hisgate tool, the migrations in the source layout without the sandbox's, and the pages that
# conf/hisgate.conf aliases.  Installed into a scratch DESTDIR; runs after make test's build.
cd "$(dirname "$0")/../.." || exit 1
n=0; fail=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
echo "1..7"
D=$(mktemp -d "${TMPDIR:-/tmp}/hisgate-install.XXXXXX")
trap 'rm -rf "$D"' EXIT
SHARE=/usr/local/share/hisgate

make -s install DESTDIR="$D" PREFIX=/usr/local >"$D.log" 2>&1
rc=$?
[ $rc -ne 0 ] && sed 's/^/# /' "$D.log"
rm -f "$D.log"
ok $rc "make install DESTDIR=… PREFIX=/usr/local succeeds"

LIBEXEC=$(apxs -q LIBEXECDIR)
missing=""
for so in mod_hisgate mod_invoice mod_consult mod_injury; do
    [ -f "$D$LIBEXEC/$so.so" ] || missing="$missing $so.so"
done
[ -x "$D/usr/local/bin/hisgate" ] || missing="$missing bin/hisgate"
[ -z "$missing" ]; ok $? "modules and the hisgate tool are installed${missing:+ (missing:$missing)}"

# every migration of the source tree but the sandbox's, byte for byte at the same relative path
# (hisgate migrate records names relative to its root, so a source-tree install and a package agree)
want=$(ls common/sql/*.sql mod_*/sql/*.sql | grep -v '^mod_sandbox/' | sort)
have=$(cd "$D$SHARE" && ls common/sql/*.sql mod_*/sql/*.sql 2>/dev/null | sort)
[ -n "$want" ] && [ "$want" = "$have" ]; ok $? "the migrations are installed in the source layout ($(echo "$want" | wc -l) files)"
diffs=""
for f in $want; do cmp -s "$f" "$D$SHARE/$f" || diffs="$diffs $f"; done
[ -z "$diffs" ]; ok $? "installed migrations are the source's${diffs:+ (differ:$diffs)}"
[ ! -e "$D$SHARE/mod_sandbox" ]; ok $? "the sandbox's schema is not installed"

# every Alias of the production sample points at an installed directory with pages in it
bad=""
for target in $(sed -n 's|^Alias /[a-z]*/ *"\([^"]*\)".*|\1|p' conf/hisgate.conf); do
    case "$target" in "$SHARE"/htdocs/*) ;; *) bad="$bad $target(outside $SHARE)"; continue ;; esac
    [ -n "$(ls "$D$target" 2>/dev/null)" ] || bad="$bad $target"
done
[ -n "$(sed -n 's|^Alias ||p' conf/hisgate.conf)" ] && [ -z "$bad" ]
ok $? "conf/hisgate.conf's Aliases point at installed pages${bad:+ (not:$bad)}"

# the pages are the source's, readable by the httpd user
diffs=$(diff -r htdocs "$D$SHARE/htdocs" 2>&1 | head -n 3)
unreadable=$(find "$D$SHARE/htdocs" ! -perm -o=r | head -n 3)
[ -z "$diffs" ] && [ -z "$unreadable" ]
ok $? "the pages are installed whole and world-readable${diffs:+ ($diffs)}${unreadable:+ (unreadable: $unreadable)}"
exit $fail
