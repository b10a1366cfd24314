#!/bin/sh
# Run the test tiers and sum them into one closing line:
#   N passed, N failed[, N skipped]
# Tiers: C unit and simulator tests (and the fuzz targets' regression
# inputs, replayed), Busted specs, end-to-end tests (real
# daemons and the browser), the nemesis (`skinny torture` against real
# daemons, about 25 s), the man pages and `make install` (tests/man: the
# pages against the programs' --help, an install into a temporary prefix).
# `sh tools/test.sh c|spec|man|e2e|nemesis` runs one tier.
# Every tier's own output is kept; a failing tier's is printed.
set -u
cd "$(dirname "$0")/.."
B="${SKINNY_BUILD:-build}"
export SKINNY_BUILD="$B"
only="${1:-all}"
passed=0; failed=0; skipped=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# add the counts of one closing line "N passed, N failed[, N skipped]"
count() { # name file rc
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$2" | tail -n 1)
    if [ -z "$line" ]; then
        echo "FAIL  $1: no closing line (exit $3)"; sed 's/^/    /' "$2" | tail -n 30
        failed=$((failed + 1)); return
    fi
    p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
    if [ "$f" -gt 0 ] || [ "$3" -ne 0 ]; then
        echo "FAIL  $1: $line (exit $3)"; grep -E '^not ok|FAIL|Error|error' "$2" | head -n 40 | sed 's/^/    /'
        [ "$f" -gt 0 ] || failed=$((failed + 1))
    else
        echo "ok    $1: $line"
    fi
    grep -E '^# skip|skipped:' "$2" | sed 's/^/    /' || true
}

run_bins() { # dir
    for t in "$B"/tests/"$1"/*; do
        [ -x "$t" ] && [ -f "$t" ] || continue
        out="$log/$(basename "$t").out"
        "$t" >"$out" 2>&1; rc=$?
        count "$1/$(basename "$t")" "$out" "$rc"
    done
}

# Busted prints TAP with -o TAP; turn it into the closing line.
run_busted() { # name tags files...
    name=$1; tags=$2; shift 2
    out="$log/busted-$name.out"
    # lpath comes from .busted: busted re-runs itself through sh, so a ';' on
    # its command line would split the command
    # under `make asan` the C module needs the sanitizer runtime loaded first
    env ${SKINNY_ASAN_PRELOAD:+LD_PRELOAD=$SKINNY_ASAN_PRELOAD ASAN_OPTIONS=detect_leaks=0} \
    busted --lua=lua5.4 -o TAP \
        --cpath="$B/?.so" $tags "$@" >"$out" 2>&1; rc=$?
    p=$(grep -cE '^ok ' "$out"); f=$(grep -cE '^not ok ' "$out")
    s=$(grep -cE '^ok .*# (SKIP|skip)' "$out")
    p=$((p - s))
    echo "$p passed, $f failed, $s skipped" >>"$out"
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$rc" -ne 0 ]; then
        echo "FAIL  $name: busted could not run (exit $rc)"; tail -n 30 "$out" | sed 's/^/    /'
        failed=$((failed + 1)); return
    fi
    count "$name" "$out" "$rc"
}

# The fuzz targets' plain builds (tests/fuzz/fuzz.mk): each one's seeds and
# its committed regression inputs (tests/fuzz/regress/NAME/), one test each.
run_fuzz_replay() {
    for t in "$B"/tests/fuzz/fuzz_*_replay; do
        [ -x "$t" ] && [ -f "$t" ] || continue
        name=$(basename "$t" _replay); name=${name#fuzz_}
        out="$log/fuzz-$name.out"
        set -- "$log/seeds-$name"
        [ -d "tests/fuzz/regress/$name" ] && set -- "$@" "tests/fuzz/regress/$name"
        { "$t" --corpus "$log/seeds-$name" && "$t" "$@"; } >"$out" 2>&1; rc=$?
        count "fuzz/$name" "$out" "$rc"
    done
}

if [ "$only" = all ] || [ "$only" = c ]; then
    run_bins unit
    run_bins sim
    run_fuzz_replay
fi
if [ "$only" = all ] || [ "$only" = spec ]; then
    run_busted specs "--exclude-tags=e2e" spec
fi
# The man pages: one line per page and check (tests/man/check.lua), then
# make install / uninstall in temporary prefixes (tests/man/install.sh).
if [ "$only" = all ] || [ "$only" = man ]; then
    out="$log/man-pages.out"
    lua5.4 tests/man/check.lua >"$out" 2>&1; rc=$?
    count "man/pages" "$out" "$rc"
    out="$log/man-install.out"
    sh tests/man/install.sh >"$out" 2>&1; rc=$?
    count "man/install" "$out" "$rc"
fi
if [ "$only" = all ] || [ "$only" = e2e ]; then
    run_bins e2e
    if ls spec/e2e/*_spec.lua >/dev/null 2>&1; then
        run_busted e2e-specs "" spec/e2e
    fi
    if [ -f tests/browser/run.sh ] && [ -n "${SKINNY_ASAN_PRELOAD:-}" ]; then
        # the pages are drawn by Lua alone; under the sanitizers there is no C to check here
        echo "skip  browser: not run under make asan (it tests the pages, not C)"
    elif [ -f tests/browser/run.sh ]; then
        out="$log/browser.out"
        sh tests/browser/run.sh >"$out" 2>&1; rc=$?
        count "browser" "$out" "$rc"
    fi
fi

if [ "$only" = all ] || [ "$only" = nemesis ]; then
    run_bins nemesis
fi

if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
