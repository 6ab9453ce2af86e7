#!/bin/sh
# make test: build, then every test layer under prove — C unit tests and Apache::Test end-to-end
# against a real httpd, a throwaway PostgreSQL cluster and mod_sandbox.  Apache::Test and initdb
# refuse root, so as root the suite runs as an unprivileged user in a copy of the tree.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
export HG_PGPORT=${HG_PGPORT:-25439}
if [ "$(id -u)" -eq 0 ]; then
    TUSER=${HG_TEST_USER:-hgtest}
    id -u "$TUSER" >/dev/null 2>&1 || useradd --system --create-home --shell /bin/sh "$TUSER"
    WORK=$(mktemp -d /tmp/hisgate-test.XXXXXX)
    chmod 755 "$WORK"
    # the tree as committed plus the working changes, without build products or local state
    (cd "$SRC" && tar --exclude=./var --exclude=./t/logs --exclude=./t/state --exclude=./t/fuzz/build --exclude=./t/fuzz/work --exclude='*.o' \
        --exclude=.libs --exclude=./.git -cf - .) | (cd "$WORK" && tar -xf -)
    chown -R "$TUSER": "$WORK"
    as_user() { runuser -u "$TUSER" -- env HG_PGPORT="$HG_PGPORT" HG_TOP="$WORK" HG_TESTS="${HG_TESTS:-}" sh -c "cd '$WORK' && $1"; }
else
    WORK=$SRC
    as_user() { env HG_TOP="$WORK" sh -c "cd '$WORK' && $1"; }
fi
cleanup() {
    as_user 'perl t/TEST.PL -stop-httpd >/dev/null 2>&1' || true
    as_user './t/pg-fixture.sh stop' || true
    [ "$WORK" = "$SRC" ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

as_user 'make -s all >t/build.log 2>&1' || { as_user 'tail -n 40 t/build.log'; exit 1; }
as_user './t/pg-fixture.sh start'
as_user 'perl t/TEST.PL -clean >/dev/null 2>&1 || true'
if ! as_user '. t/state/env && export HG_PGPORT HG_PGDIR HG_KEYS HG_DSN && perl t/TEST.PL -apxs "$(command -v apxs)" -port select -start-httpd >t/start.log 2>&1'; then
    as_user 'tail -n 40 t/start.log; tail -n 40 t/logs/error_log 2>/dev/null' || true
    exit 1
fi
rc=0
# prove runs verbose into t/logs/prove.log (every comment kept, in order); the console gets the
# usual per-file lines from it.  On failure the failing files' comments and failed assertions are
# printed again at the very end, since CI shows only the tail.
as_user '. t/state/env && export HG_PGPORT HG_PGDIR HG_KEYS HG_DSN && { prove -v --merge -r -It/lib ${HG_TESTS:-t/lint t/unit t/api t/browser t/zz} 2>&1; echo $? >t/logs/prove.rc; } | tee t/logs/prove.log | awk -f t/prove-sections.awk'
rc=$(as_user 'cat t/logs/prove.rc 2>/dev/null || echo 1')
if [ "$rc" -ne 0 ]; then
    as_user 'echo "--- last lines of t/logs/error_log:"; tail -n 40 t/logs/error_log' || true
    as_user 'echo "--- what failed (from t/logs/prove.log):"; awk -v mode=failed -f t/prove-sections.awk t/logs/prove.log | head -n 120; sed -n "/^Test Summary Report/,\$p" t/logs/prove.log' || true
fi
exit "$rc"
