#!/bin/sh
# Install the Debian packages efc needs to build and test, when missing.
# `install-deps.sh fuzz` adds what `make fuzz` needs (clang and libFuzzer);
# `make check` does not need them.
set -e
PKGS="build-essential pkg-config flex bison libjson-c-dev libsqlite3-dev libcurl4-openssl-dev libmicrohttpd-dev
      libcmocka-dev jq libpocketsphinx-dev pocketsphinx-en-us espeak-ng sox uuid-dev time"
[ "$1" = fuzz ] && PKGS="$PKGS clang-14 libfuzzer-14-dev"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
