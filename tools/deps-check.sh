#!/bin/sh
# The layering rules (README.md "Where things are"), checked on #include lines:
# nothing below bindings/ includes a Lua header; only net/ and cmd/ include uv.h;
# the cryptography (libsodium's sodium.h) is used in runtime/net/auth.c only.
cd "$(dirname "$0")/.." || exit 2
bad=0
lua=$(grep -rlE '#include *[<"](lua|lauxlib|lualib)\.h' runtime --include='*.[ch]' | grep -v '^runtime/cmd/')
uv=$(grep -rlE '#include *[<"]uv\.h' runtime/core runtime/store runtime/sim bindings --include='*.[ch]' 2>/dev/null)
sodium=$(grep -rlE '#include *[<"]sodium\.h' runtime bindings tests bench --include='*.[ch]' | grep -v '^runtime/net/auth\.c$')
[ -n "$lua" ] && { echo "Lua headers below bindings/: $lua"; bad=1; }
[ -n "$sodium" ] && { echo "sodium.h outside runtime/net/auth.c: $sodium"; bad=1; }
[ -n "$uv" ] && { echo "uv.h outside net/ and cmd/: $uv"; bad=1; }
[ "$bad" -eq 0 ] && echo "deps-check: layers clean"
exit $bad
