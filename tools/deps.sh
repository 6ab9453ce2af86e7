#!/bin/sh
# Install the Debian 12 packages hisgate needs to build, run and test (idempotent; root or sudo),
# then the npm devDependencies of the browser tests (t/browser: playwright-core, pinned in
# package-lock.json).  No browser is ever downloaded: the tests drive Debian's /usr/bin/chromium.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PKGS="make gcc libc6-dev pkg-config apache2 apache2-dev libapache2-mod-perl2 libaprutil1-dbd-pgsql
      postgresql postgresql-contrib libpq-dev libjansson-dev libcurl4-openssl-dev libssl-dev openssl
      libhpdf-dev libqrencode-dev liblz4-dev zlib1g-dev fonts-droid-fallback fonts-liberation poppler-utils zbar-tools wrk
      perl libwww-perl libxml-parser-perl libcompress-lz4-perl ca-certificates curl procps valgrind
      chromium nodejs npm"
missing=""
for p in $PKGS; do
    case $p in
    # a node and npm already on PATH (e.g. a NodeSource nodejs, which bundles npm and conflicts
    # with Debian's npm package) are kept: installing Debian's npm would fail or downgrade node
    nodejs|npm) command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && continue ;;
    esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ -z "$missing" ]; then
    echo "deps: all Debian packages present"
else
    echo "deps: installing$missing"
    # service start-up inside containers is refused by policy-rc.d; we never use the system instances
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    echo "deps: done"
fi

# npm packages: only when node_modules lacks the version package-lock.json pins
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 18 ] || echo "deps: warning: node $(node --version) is older than playwright-core needs (>= 18)" >&2
if ! (cd "$ROOT" && node -e '
    const want = require("./package-lock.json").packages["node_modules/playwright-core"].version;
    const have = require("./node_modules/playwright-core/package.json").version;
    process.exit(want === have ? 0 : 1)' 2>/dev/null); then
    echo "deps: npm ci (playwright-core for t/browser)"
    (cd "$ROOT" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
fi
