#!/bin/sh
# Source guards: the core stays free of httpd headers; every directive and error code is documented.
cd "$(dirname "$0")/../.." || exit 1
n=0; fail=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
echo "1..5"

# 1. no httpd header in common/*.c|h (the glue lives in common/glue/) nor in modules' domain files
bad=$(grep -lE '#[[:space:]]*include[[:space:]]*[<"](apache2/)?(httpd|http_[a-z_]+|ap_[a-z_]+|mod_[a-z_]+|util_[a-z_]+|scoreboard|mpm_common)\.h[>"]' \
      common/*.c common/*.h $(ls mod_*/*.c mod_*/*.h 2>/dev/null | grep -v '/mod_[a-z_]*\.[ch]$') 2>/dev/null)
[ -z "$bad" ]; ok $? "core and domain files include no httpd header${bad:+: $bad}"

# 2. the core compiles without httpd's include path (the Makefile's CORE_CFLAGS has none)
grep -q 'I/usr/include/apache2' Makefile; [ $? -ne 0 ]; ok $? "CORE_CFLAGS has no httpd include path"

# 3. every directive is in the production sample conf/hisgate.conf
missing=""
for d in $(grep -ohE 'AP_INIT_[A-Z0-9]+\("[A-Za-z]+"' common/glue/*.c mod_*/*.c | sed 's/.*("//; s/"//' | sort -u); do
    case "$d" in Sandbox*) continue ;; esac
    grep -q "^#*[[:space:]]*$d\b" conf/hisgate.conf || missing="$missing $d"
done
[ -z "$missing" ]; ok $? "every directive is documented in conf/hisgate.conf${missing:+ (missing:$missing)}"

# 4. every directive is explained in the README
missing=""
for d in $(grep -ohE 'AP_INIT_[A-Z0-9]+\("[A-Za-z]+"' common/glue/*.c mod_*/*.c | sed 's/.*("//; s/"//' | sort -u); do
    grep -q "$d" README.md || missing="$missing $d"
done
[ -z "$missing" ]; ok $? "every directive is explained in README.md${missing:+ (missing:$missing)}"

# 5. every error code of the table is in the README's table
missing=""
for c in $(grep -ohE '^[[:space:]]*X\(HG_[A-Z0-9_]+' common/hg_err.h | sed 's/.*X(//' | sort -u); do
    grep -q "\`$c\`" README.md || missing="$missing $c"
done
[ -z "$missing" ]; ok $? "every error code is in README.md${missing:+ (missing:$missing)}"
exit $fail
