# SPDX-License-Identifier: MIT
# install-downstream: install into a temporary DESTDIR, check what lands
# there, and build examples/print_report.c out of tree with pkg-config only.
#
# usage: check_install.sh MESON BUILD_ROOT SOURCE_ROOT PROJECT_VERSION ABI_VERSION [SANITIZE]
# The C compiler is $CC (default cc).
set -u

if [ $# -lt 5 ] || [ $# -gt 6 ]; then
    echo "usage: $0 MESON BUILD_ROOT SOURCE_ROOT PROJECT_VERSION ABI_VERSION [SANITIZE]" >&2
    exit 2
fi
meson=$1 build=$2 src=$3 version=$4 abiver=$5 sanitize=${6:-none}
. "$(dirname "$0")/lib.sh"
cc=${CC:-cc}
cflags="-std=c99 -pedantic -Wall -Wextra -Werror"
if [ "$sanitize" != none ] && [ -n "$sanitize" ]; then
    # A sanitized library needs its runtime first in the program.
    cflags="$cflags -fsanitize=$sanitize"
fi

# One DESTDIR per run: several build dirs may run this test at once.
osi_tmpdir
dest=$tmp/dest
fail=0

die() {
    echo "FAIL: $*" >&2
    echo "install-downstream: FAILED" >&2
    exit 1
}
check() {
    echo "FAIL: $*" >&2
    fail=1
}

# shellcheck disable=SC2086
if ! $meson install -C "$build" --no-rebuild --destdir "$dest" \
        > "$tmp/install.log" 2>&1; then
    cat "$tmp/install.log" >&2
    die "meson install -C $build --no-rebuild --destdir $dest failed" \
        "(every installed target must be built: run ninja -C $build, or add" \
        "the target to depends: of install-downstream in tests/abi/meson.build)"
fi

# --- What was installed. ---
pc=$(find "$dest" -path '*/pkgconfig/libosinspect.pc' | head -n 1)
[ -n "$pc" ] || die "no pkgconfig/libosinspect.pc under the DESTDIR"
dev=$(find "$dest" -name libosinspect.so | head -n 1)
[ -n "$dev" ] || die "no libosinspect.so under the DESTDIR"
libdir=$(dirname "$dev")
incdir=$(find "$dest" -type d -path '*/include/osinspect' | head -n 1)
[ -n "$incdir" ] || die "no include/osinspect/ under the DESTDIR"

# Headers: every public one, byte for byte (version.h from the build tree).
for h in "$src"/include/osinspect/*.h "$build"/include/osinspect/*.h; do
    [ -f "$h" ] || continue
    name=$(basename "$h")
    if [ ! -f "$incdir/$name" ]; then
        check "<osinspect/$name> is not installed in ${incdir#"$dest"}"
    elif ! cmp -s "$h" "$incdir/$name"; then
        check "installed <osinspect/$name> differs from $h"
    fi
done
for h in "$incdir"/*; do
    name=$(basename "$h")
    [ -f "$src/include/osinspect/$name" ] || [ -f "$build/include/osinspect/$name" ] ||
        check "installed header $name is not a public header"
done

# The symlink chain: libosinspect.so -> libosinspect.so.MAJOR (the SONAME)
# -> libosinspect.so.ABI_VERSION, relative links, one real file.
real=libosinspect.so.$abiver
soname_want=libosinspect.so.${abiver%%.*}
if [ ! -f "$libdir/$real" ] || [ -L "$libdir/$real" ]; then
    check "${libdir#"$dest"}/$real is not a regular file"
fi
for link in libosinspect.so "$soname_want"; do
    if [ ! -L "$libdir/$link" ]; then
        check "${libdir#"$dest"}/$link is not a symlink"
        continue
    fi
    target=$(readlink "$libdir/$link")
    case $target in
    */*) check "$link points to '$target', not a file beside it" ;;
    esac
    [ -e "$libdir/$link" ] || check "$link -> $target is dangling"
done
[ "$(readlink "$libdir/libosinspect.so")" = "$soname_want" ] ||
    check "libosinspect.so points to '$(readlink "$libdir/libosinspect.so")', not $soname_want"
[ "$(readlink "$libdir/$soname_want")" = "$real" ] ||
    check "$soname_want points to '$(readlink "$libdir/$soname_want")', not $real"
if [ -f "$libdir/$real" ]; then
    soname=$(readelf -d "$libdir/$real" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
    [ "$soname" = "$soname_want" ] ||
        check "installed $real has SONAME '$soname', expected $soname_want"
    # Install drops the build tree's run path.
    if readelf -d "$libdir/$real" | grep -E 'R(UN)?PATH' | grep -qF "$build"; then
        check "installed $real keeps a run path into $build"
    fi
fi

# Man pages: every docs/man/NAME.N lands in manN/.
for m in "$src"/docs/man/*.[1-8]; do
    [ -f "$m" ] || continue
    name=$(basename "$m")
    sec=${name##*.}
    [ -n "$(find "$dest" -path "*/man/man$sec/$name")" ] ||
        check "man page $name is not installed in man/man$sec/"
done

# --- A downstream build: pkg-config is all it knows. ---
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$dest
# A /usr prefix must not lose its -I/-L to the "system directory" filter.
PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1
PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_ALLOW_SYSTEM_CFLAGS \
       PKG_CONFIG_ALLOW_SYSTEM_LIBS

modversion=$(pkg-config --modversion libosinspect) ||
    die "pkg-config does not find libosinspect in $PKG_CONFIG_PATH"
[ "$modversion" = "$version" ] ||
    check "pkg-config --modversion libosinspect is '$modversion', not $version"
pcflags=$(pkg-config --cflags --libs libosinspect) ||
    die "pkg-config --cflags --libs libosinspect failed"
case $pcflags in
*"-I$dest"*) ;;
*) check "pkg-config --cflags gives no include directory in the DESTDIR: $pcflags" ;;
esac

mkdir "$tmp/downstream"
cp "$src/examples/print_report.c" "$tmp/downstream/" || die "no examples/print_report.c"
cd "$tmp/downstream" || die "cannot enter $tmp/downstream"
# shellcheck disable=SC2086
if ! $cc $cflags print_report.c $pcflags -o print_report > build.log 2>&1; then
    cat build.log >&2
    die "examples/print_report.c does not build with:" \
        "$cc $cflags print_report.c $pcflags"
fi

LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
# The program must load the installed copy, not the build tree's.
loaded=$(ldd ./print_report | awk '$1 ~ /^libosinspect\.so/ { print $3 }')
case $loaded in
"$libdir"/*) ;;
*) check "print_report loads libosinspect from '$loaded', not from $libdir" ;;
esac

if ! ./print_report > out.txt 2> err.txt; then
    cat out.txt err.txt >&2
    die "print_report exited with an error"
fi
ip=$(sed -n 's/^server_ip: //p' out.txt)
case $ip in
"" | "(unknown)")
    check "print_report printed no server_ip; its output begins:"
    head -n 12 out.txt >&2 ;;
*)
    grep -q "\"server_ip\": \"$ip\"" out.txt ||
        check "the JSON printed by print_report does not hold server_ip \"$ip\"" ;;
esac
grep -q '^os: ' out.txt || check "print_report printed no os: line"

if [ "$fail" -ne 0 ]; then
    echo "install-downstream: FAILED" >&2
    exit 1
fi
echo "install-downstream: installed into ${libdir#"$dest"}, built" \
     "print_report with pkg-config ($pcflags), server_ip $ip"
exit 0
