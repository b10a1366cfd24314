#!/bin/sh
# `make install` and `make uninstall` (the Makefile passes PREFIX, DESTDIR, B):
#   sh tools/install.sh install     copy the built programs, scripts, man pages
#   sh tools/install.sh uninstall   remove exactly what install recorded
#
# Layout under PREFIX (default /usr/local; DESTDIR is put before every path
# written, never into the files' contents):
#   bin/skinnyd, bin/skinnyctl        the programs
#   bin/skinny                        a two-line launcher: runs lib/skinny/bin/skinny
#   bin/skinny-lab                    a link to lib/skinny/build/skinny-lab
#   share/skinny/scripts/             the Lua scripts (configs name this path)
#   lib/skinny/                       the launcher's private tree, shaped like a
#                                     source checkout so that bin/skinny, the
#                                     skinny modules and skinny-lab find each other
#                                     as they do in one: bin/skinny (the Lua
#                                     launcher), build/skinny/core.so,
#                                     build/skinny-lab, build/skinnyd (a link to
#                                     bin/skinnyd), scripts (a link to
#                                     share/skinny/scripts), MANIFEST
#   share/man/manN/                   the pages of doc/man/
#   lib/systemd/system/skinnyd@.service   from deploy/skinnyd@.service.in (or
#                                     UNIT_IN), @BINDIR@ replaced, when it exists;
#                                     the source as lib/skinny/deploy/ too
# lib/skinny/MANIFEST lists every file and link installed (paths under
# PREFIX); uninstall removes those, then the directories of share/skinny and
# lib/skinny left empty. Files someone added there stay, and so do their
# directories.
set -eu
cd "$(dirname "$0")/.."
what="${1:-}"
PREFIX="${PREFIX:-/usr/local}"
DESTDIR="${DESTDIR:-}"
B="${B:-build}"
case "$PREFIX" in
    /*) ;;
    *) echo "install: PREFIX must be an absolute path, not \"$PREFIX\"" >&2; exit 2 ;;
esac
PREFIX="${PREFIX%/}"
root="$DESTDIR$PREFIX"
manifest_rel="lib/skinny/MANIFEST"
manifest="$root/$manifest_rel"

uninstall() {
    if [ ! -f "$manifest" ]; then
        echo "uninstall: nothing to remove: $manifest does not exist (no \`make install\` with PREFIX=$PREFIX${DESTDIR:+ DESTDIR=$DESTDIR})"
        return 0
    fi
    # only paths under PREFIX: no absolute path, no ..
    bad=$(grep -c -e '^/' -e '\.\.' -e '^$' "$manifest" || true)
    [ "$bad" -eq 0 ] || echo "uninstall: $manifest: skipping $bad lines that are not paths under PREFIX" >&2
    n=$(grep -v -e '^/' -e '\.\.' -e '^$' "$manifest" | wc -l)
    grep -v -e '^/' -e '\.\.' -e '^$' "$manifest" | (cd "$root" && xargs -r -d '\n' rm -f --)
    rm -f "$manifest"
    for d in "$root/share/skinny" "$root/lib/skinny"; do
        [ -d "$d" ] && find "$d" -depth -type d -empty -delete
    done
    echo "uninstall: removed the $n files and links $manifest_rel listed, under $root"
}

if [ "$what" = uninstall ]; then
    uninstall
    exit 0
fi
if [ "$what" != install ]; then
    echo "usage: sh tools/install.sh install|uninstall (PREFIX, DESTDIR, B from the environment)" >&2
    exit 2
fi

for f in "$B/skinnyd" "$B/skinnyctl" "$B/skinny-lab" "$B/skinny/core.so"; do
    if [ ! -f "$f" ]; then
        echo "install: $f is missing: run \`make\` first" >&2
        exit 1
    fi
done

# a second install over the first: take the first away, so that files it had
# and this one does not are not left behind
if [ -f "$manifest" ]; then
    uninstall >/dev/null
fi

list=$(mktemp)
trap 'rm -f "$list"' EXIT
put() { # mode source destination (under PREFIX)
    rm -f "$root/$3"
    install -D -m "$1" "$2" "$root/$3"
    echo "$3" >>"$list"
}
link() { # target destination
    mkdir -p "$(dirname "$root/$2")"
    ln -sfn "$1" "$root/$2"
    echo "$2" >>"$list"
}

put 755 "$B/skinnyd" bin/skinnyd
put 755 "$B/skinnyctl" bin/skinnyctl
put 755 "$B/skinny-lab" lib/skinny/build/skinny-lab
put 644 "$B/skinny/core.so" lib/skinny/build/skinny/core.so
put 755 bin/skinny lib/skinny/bin/skinny
link ../../../bin/skinnyd lib/skinny/build/skinnyd
link ../lib/skinny/build/skinny-lab bin/skinny-lab
link ../../share/skinny/scripts lib/skinny/scripts

launcher=$(mktemp)
cat >"$launcher" <<EOF
#!/bin/sh
# skinny, as installed by \`make install\`: the Lua launcher in $PREFIX/lib/skinny
# finds the modules, the scripts and skinny-lab beside it. SKINNY_BUILD names
# a source checkout's build directory; an installation has its own.
unset SKINNY_BUILD
SKINNY_PROG=skinny exec "$PREFIX/lib/skinny/bin/skinny" "\$@"
EOF
put 755 "$launcher" bin/skinny
rm -f "$launcher"

# the scripts a directory at a time (one install each, not one a file)
for d in $(find scripts -type d | sort); do
    set -- "$d"/*.lua
    [ -f "$1" ] || continue
    mkdir -p "$root/share/skinny/$d"
    install -m 644 "$@" "$root/share/skinny/$d/"
    for f in "$@"; do echo "share/skinny/$f" >>"$list"; done
done

pages=0
for p in doc/man/*.[1-8]; do
    [ -f "$p" ] || continue
    sec=${p##*.}
    put 644 "$p" "share/man/man$sec/$(basename "$p")"
    pages=$((pages + 1))
done

unit="${UNIT_IN:-deploy/skinnyd@.service.in}"
if [ -f "$unit" ]; then
    rendered=$(mktemp)
    sed "s|@BINDIR@|$PREFIX/bin|g" "$unit" >"$rendered"
    put 644 "$rendered" lib/systemd/system/skinnyd@.service
    rm -f "$rendered"
    # the source too, for the installed `skinny cluster init` (it renders its own)
    put 644 "$unit" lib/skinny/deploy/skinnyd@.service.in
else
    echo "install: $unit does not exist in this tree: no systemd unit installed"
fi

echo "$manifest_rel" >>"$list"
mkdir -p "$(dirname "$manifest")"
cp "$list" "$manifest"
chmod 644 "$manifest"
echo "install: $(wc -l <"$manifest") files under $root ($pages man pages); the list is $manifest"
