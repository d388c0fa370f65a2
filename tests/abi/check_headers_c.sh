# SPDX-License-Identifier: MIT
# headers-c: every public header compiles alone, and twice, as strict C99.
#
# usage: check_headers_c.sh SOURCE_INCLUDE_DIR BUILD_INCLUDE_DIR
# The compiler is $CC (default cc).
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 SOURCE_INCLUDE_DIR BUILD_INCLUDE_DIR" >&2
    exit 2
fi
srcinc=$1 bldinc=$2
cc=${CC:-cc}
flags="-std=c99 -pedantic -Werror -Wall -Wextra -Wstrict-prototypes"

. "$(dirname "$0")/lib.sh"
osi_tmpdir
fail=0 count=0

# version.h is generated into the build tree; the rest are in the source.
headers=$(
    for h in "$srcinc"/osinspect/*.h "$bldinc"/osinspect/*.h; do
        [ -f "$h" ] && basename "$h"
    done | LC_ALL=C sort -u)
if [ -z "$headers" ]; then
    echo "no public header found under $srcinc/osinspect" >&2
    exit 1
fi

for name in $headers; do
    count=$((count + 1))
    # Alone: the header brings everything it uses. A header of macros only
    # leaves an empty translation unit, which -pedantic rejects: one
    # declaration of our own follows the include.
    printf '#include <osinspect/%s>\ntypedef int osi_check_tu;\n' \
        "$name" > "$tmp/alone.c"
    # Twice: its include guard works.
    printf '#include <osinspect/%s>\n#include <osinspect/%s>\ntypedef int osi_check_tu;\n' \
        "$name" "$name" > "$tmp/twice.c"
    for tu in alone twice; do
        # $cc and $flags are word lists on purpose ("ccache cc").
        # shellcheck disable=SC2086
        if ! $cc $flags -I"$srcinc" -I"$bldinc" -c "$tmp/$tu.c" \
                -o "$tmp/$tu.o" > "$tmp/log" 2>&1; then
            echo "FAIL: <osinspect/$name> included $tu does not compile as" \
                 "C99 ($cc $flags):" >&2
            cat "$tmp/log" >&2
            fail=1
        fi
    done
    for f in "$srcinc/osinspect/$name" "$bldinc/osinspect/$name"; do
        [ -f "$f" ] || continue
        # A guard named OSINSPECT_<FILE>_H opens the header; a header of
        # macros only would pass the "twice" build without one.
        guard=OSINSPECT_$(basename "$name" .h | tr '[:lower:]' '[:upper:]')_H
        if [ "$(grep '^[[:space:]]*#' "$f" | head -n 2 | tr -s ' \t' ' ')" != \
             "$(printf '#ifndef %s\n#define %s' "$guard" "$guard")" ]; then
            echo "FAIL: $f does not open with the include guard $guard" >&2
            fail=1
        fi
        # Public headers include only <...> headers: never a private one.
        if grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" > "$tmp/inc"; then
            echo "FAIL: <osinspect/$name> includes a \"...\" header:" >&2
            sed "s|^|$f:|" "$tmp/inc" >&2
            fail=1
        fi
    done
    # The umbrella header brings in every other one.
    if [ "$name" != osinspect.h ] &&
       ! grep -q "^#include <osinspect/$name>" "$srcinc/osinspect/osinspect.h"; then
        echo "FAIL: <osinspect/osinspect.h> does not include <osinspect/$name>" >&2
        fail=1
    fi
done

if [ "$fail" -ne 0 ]; then
    echo "headers-c: FAILED" >&2
    exit 1
fi
echo "headers-c: $count headers compile alone and twice with $cc $flags"
exit 0
