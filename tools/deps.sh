#!/bin/sh
# Install the Debian 12 packages hisgate needs to build, run and test (idempotent; root or sudo).
set -eu
PKGS="make gcc libc6-dev pkg-config apache2 apache2-dev libapache2-mod-perl2 libaprutil1-dbd-pgsql
      postgresql postgresql-contrib libpq-dev libjansson-dev libcurl4-openssl-dev libssl-dev openssl
      libhpdf-dev libqrencode-dev zlib1g-dev fonts-droid-fallback fonts-liberation poppler-utils zbar-tools wrk
      perl libwww-perl ca-certificates curl procps"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "deps: all Debian packages present"
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing$missing"
# service start-up inside containers is refused by policy-rc.d; we never use the system instances
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
