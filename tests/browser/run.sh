#!/bin/sh
# The browser tier for tools/test.sh: node drives Debian's chromium through
# playwright-core. Without node 20 or newer (playwright-core's floor) the tier
# is reported skipped with the reason; a fresh Debian 12 has no node, and its
# own nodejs 18 is too old.
cd "$(dirname "$0")/../.." || exit 2
skip() {
    echo "# skip: $1"
    echo "0 passed, 0 failed, 10 skipped"
    exit 0
}
command -v node >/dev/null 2>&1 || skip "node is not installed (node 20 or newer runs this tier)"
major=$(node -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null)
[ "${major:-0}" -ge 20 ] || skip "node $(node --version) is older than 20"
exec node tests/browser/render.test.mjs "$@"
