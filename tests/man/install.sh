#!/bin/sh
# `make install` and `make uninstall`, tried in temporary prefixes:
#   - PREFIX=$tmp/p: the files where tools/install.sh says; from another
#     directory, the installed skinny runs basic.lua and its checks pass,
#     skinnyctl --help answers, man renders installed pages (-l, and -M by name),
#     skinny lab up (three daemons, through the installed skinny-lab and
#     skinnyd, with the installed scripts) grants an acquire and goes down;
#     a unit template has @BINDIR@ replaced; uninstall leaves no file it put
#     there and keeps one a user added
#   - DESTDIR=$tmp/stage PREFIX=/usr/local: everything under
#     $tmp/stage/usr/local, nothing of $tmp/stage written into the files;
#     uninstall with the same variables leaves no file
# Prints "ok"/"not ok" per check, then "N passed, N failed". Every daemon a
# lab here starts is stopped by `lab down`, or else by its PID from the
# lab's pids file.
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
B="${SKINNY_BUILD:-build}"
passed=0; failed=0
tmp=$(mktemp -d)
lab="$tmp/lab"
cleanup() {
    if [ -f "$lab/pids" ]; then
        while read -r _ pid _; do
            [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
        done <"$lab/pids"
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "FAIL  $l"; done; }
# the files and links under a directory, one a line, sorted
files_under() { (cd "$1" 2>/dev/null && find . \( -type f -o -type l \) | sed 's|^\./||' | sort); }
# the Lua launcher loads a sanitized core.so under `make asan`
run_env() {
    if [ -n "${SKINNY_ASAN_PRELOAD:-}" ]; then
        env LD_PRELOAD="$SKINNY_ASAN_PRELOAD" ASAN_OPTIONS=detect_leaks=0 "$@"
    else
        "$@"
    fi
}

P="$tmp/p"
mkdir -p "$tmp/elsewhere" "$tmp/unit"
# a unit template for the test (the real one is deploy/skinnyd@.service.in)
printf '[Service]\nExecStart=@BINDIR@/skinnyd --config /etc/skinny/%%i.json\n' >"$tmp/unit/skinnyd@.service.in"

# --- PREFIX ---------------------------------------------------------------
if out=$(make -s install PREFIX="$P" B="$B" UNIT_IN="$tmp/unit/skinnyd@.service.in" 2>&1); then
    ok "make install PREFIX=$P"
else
    not_ok "make install PREFIX=$P" "$out"
fi

missing=""
for f in bin/skinny bin/skinnyd bin/skinnyctl bin/skinny-lab lib/skinny/build/skinny/core.so \
         lib/skinny/build/skinny-lab lib/skinny/build/skinnyd lib/skinny/bin/skinny \
         share/skinny/scripts/skinny/init.lua share/skinny/scripts/experiments/basic.lua \
         share/skinny/scripts/locks/advisory.lua share/man/man1/skinny.1 share/man/man1/skinnyctl.1 \
         share/man/man1/skinny-lab.1 share/man/man8/skinnyd.8 share/man/man5/skinnyd.conf.5 \
         lib/systemd/system/skinnyd@.service lib/skinny/MANIFEST; do
    [ -e "$P/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then ok "the layout: programs, core.so, scripts, pages, unit, MANIFEST"
else not_ok "the layout: programs, core.so, scripts, pages, unit, MANIFEST" "missing under $P:$missing"; fi

listed=$(sort "$P/lib/skinny/MANIFEST" 2>/dev/null)
present=$(files_under "$P")
if [ -n "$listed" ] && [ "$listed" = "$present" ]; then ok "MANIFEST lists exactly the $(echo "$listed" | wc -l) files and links installed"
else not_ok "MANIFEST lists exactly the files and links installed" \
    "$(printf '%s\n' "$listed" >"$tmp/l"; printf '%s\n' "$present" >"$tmp/p.txt"; diff "$tmp/l" "$tmp/p.txt" | head -10 | tr '\n' ' ')"; fi

out=$(cd "$tmp/elsewhere" && run_env "$P/bin/skinny" run "$P/share/skinny/scripts/experiments/basic.lua" --seed 7 2>&1); rc=$?
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "PASS  single holder" && echo "$out" | grep -q "giraffe hears: granted"; then
    ok "installed skinny run basic.lua --seed 7 from another directory: checks pass"
else
    not_ok "installed skinny run basic.lua --seed 7 from another directory (exit $rc)" "$(echo "$out" | tail -5 | tr '\n' ' ')"
fi

out=$(cd "$tmp/elsewhere" && "$P/bin/skinnyctl" --help 2>&1); rc=$?
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^usage: skinnyctl"; then ok "installed skinnyctl --help"
else not_ok "installed skinnyctl --help (exit $rc)" "$(echo "$out" | head -3 | tr '\n' ' ')"; fi

# man is slow (half a second a page): one page by file, one by name through
# the installed manual's directory (the groff check of every page is in
# tests/man/check.lua)
text=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$P/share/man/man1/skinny.1" 2>"$tmp/man.err")
if [ ! -s "$tmp/man.err" ] && echo "$text" | grep -q "^SKINNY(1)" && echo "$text" | grep -q "skinny *- *run, *check"; then
    ok "man -l renders the installed skinny.1 without warnings"
else
    not_ok "man -l renders the installed skinny.1 without warnings" "$(head -c 300 "$tmp/man.err")"
fi
text=$(MANWIDTH=80 man --warnings -E UTF-8 -M "$P/share/man" 5 skinnyd.conf 2>"$tmp/man.err")
if [ ! -s "$tmp/man.err" ] && echo "$text" | grep -q "^SKINNYD.CONF(5)"; then
    ok "man -M PREFIX/share/man 5 skinnyd.conf finds and renders the installed page"
else
    not_ok "man -M PREFIX/share/man 5 skinnyd.conf finds and renders the installed page" "$(head -c 300 "$tmp/man.err")"
fi

out=$(cd "$tmp/elsewhere" && run_env "$P/bin/skinny" lab up --size 3 --dir "$lab" 2>&1); rc=$?
scripts=$(sed -n 's/.*"scripts_dir": "\(.*\)".*/\1/p' "$lab/catbus/config.json" 2>/dev/null)
if [ "$rc" -eq 0 ] && [ -n "$scripts" ] && [ "$(cd "$scripts" && pwd -P)" = "$(cd "$P/share/skinny/scripts" && pwd -P)" ]; then
    ok "installed skinny lab up: three daemons, configs naming the installed scripts"
else
    not_ok "installed skinny lab up (exit $rc; scripts_dir \"$scripts\")" "$(echo "$out" | tail -5 | tr '\n' ' ')"
fi
out=$(cd "$tmp/elsewhere" && "$P/bin/skinnyctl" --lab "$lab" acquire beaver --lock printer 2>&1); rc=$?
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "granted"; then ok "installed skinnyctl acquire on that lab: granted"
else not_ok "installed skinnyctl acquire on that lab (exit $rc)" "$out"; fi
out=$(cd "$tmp/elsewhere" && "$P/bin/skinny-lab" down --dir "$lab" 2>&1); rc=$?
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "stopped 3 daemons"; then ok "installed skinny-lab down: stopped 3 daemons"
else not_ok "installed skinny-lab down (exit $rc)" "$out"; fi

unit="$P/lib/systemd/system/skinnyd@.service"
if grep -q "^ExecStart=$P/bin/skinnyd " "$unit" 2>/dev/null && ! grep -q "@BINDIR@" "$unit"; then
    ok "the unit: @BINDIR@ became $P/bin"
else
    not_ok "the unit: @BINDIR@ became $P/bin" "$(cat "$unit" 2>&1 | tr '\n' ' ')"
fi

mkdir -p "$P/share/skinny/scripts/locks"
echo "-- mine" >"$P/share/skinny/scripts/locks/mine.lua"
out=$(make -s uninstall PREFIX="$P" 2>&1); rc=$?
left=$(files_under "$P")
if [ "$rc" -eq 0 ] && [ "$left" = "share/skinny/scripts/locks/mine.lua" ]; then
    ok "make uninstall PREFIX=$P: no installed file left, the user's file kept"
else
    not_ok "make uninstall PREFIX=$P (exit $rc): no installed file left, the user's file kept" "left: $(echo "$left" | head -5 | tr '\n' ' ')" "$out"
fi

# --- DESTDIR --------------------------------------------------------------
S="$tmp/stage"
out=$(make -s install DESTDIR="$S" PREFIX=/usr/local B="$B" 2>&1); rc=$?
outside=$(cd "$S" 2>/dev/null && find . -mindepth 1 ! -path ./usr ! -path './usr/local' ! -path './usr/local/*')
if [ "$rc" -eq 0 ] && [ -x "$S/usr/local/bin/skinnyd" ] && [ -z "$outside" ]; then
    ok "make install DESTDIR=$S PREFIX=/usr/local: everything under $S/usr/local"
else
    not_ok "make install DESTDIR=$S PREFIX=/usr/local (exit $rc)" "outside usr/local: $outside" "$out"
fi
if grep -rqs "$S" "$S/usr/local/bin/skinny" "$S/usr/local/lib/skinny/MANIFEST" \
   || ! grep -q 'exec "/usr/local/lib/skinny/bin/skinny"' "$S/usr/local/bin/skinny"; then
    not_ok "the staged launcher runs /usr/local/lib/skinny/bin/skinny, naming no staging path" "$(cat "$S/usr/local/bin/skinny")"
else
    ok "the staged launcher runs /usr/local/lib/skinny/bin/skinny, naming no staging path"
fi
out=$(make -s uninstall DESTDIR="$S" PREFIX=/usr/local 2>&1); rc=$?
left=$(files_under "$S")
if [ "$rc" -eq 0 ] && [ -z "$left" ]; then ok "make uninstall DESTDIR=$S PREFIX=/usr/local: no file left"
else not_ok "make uninstall DESTDIR=$S PREFIX=/usr/local (exit $rc): no file left" "left: $(echo "$left" | head -5 | tr '\n' ' ')"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
