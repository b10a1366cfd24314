#!/bin/sh
# Install what Skinny needs from Debian's archive (only what is missing),
# then build and run what was asked for:
#   sh tools/setup.sh demo   build and run the demo experiment
#   sh tools/setup.sh test   build and run every test tier
#   sh tools/setup.sh dev    also install clang and libFuzzer (`make fuzz`,
#                            `make asan`), then build the fuzz targets too
#   sh tools/setup.sh        install and build only
set -eu
cd "$(dirname "$0")/.."

# libsodium: authentication (runtime/net/auth.c); groff-base and man-db: the
# man pages are rendered and checked (tests/man)
PKGS="gcc make pkg-config liblua5.4-dev lua5.4 libuv1-dev libsodium-dev lua-cjson lua-busted groff-base man-db"
# the fuzz targets (tests/fuzz/fuzz.mk) need clang with its libFuzzer runtime
if [ "${1:-}" = dev ]; then
    PKGS="$PKGS clang libclang-rt-14-dev"
fi
# the browser tier (tests/browser) lists its own packages; it needs node 20
# or newer, so without node they are not worth installing (the tier says so)
if [ -f tests/browser/PACKAGES ] && [ "${1:-}" = test ] && command -v node >/dev/null 2>&1; then
    PKGS="$PKGS $(grep -v '^#' tests/browser/PACKAGES | tr '\n' ' ')"
fi

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q >/dev/null || echo "setup: apt-get update failed; trying the install anyway" >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

make -s all
case "${1:-}" in
    demo) exec make -s demo ;;
    test) exec make -s test ;;
    dev) exec make -s fuzz-build ;;
    "") ;;
    *) echo "usage: sh tools/setup.sh [demo|test|dev]" >&2; exit 2 ;;
esac
