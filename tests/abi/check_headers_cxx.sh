# SPDX-License-Identifier: MIT
# headers-cxx: the umbrella header compiles as C++11 and its functions link
# with C linkage against libosinspect.so.
#
# usage: check_headers_cxx.sh SOURCE_INCLUDE_DIR BUILD_INCLUDE_DIR LIBOSINSPECT_SO [SANITIZE]
# The compiler is $CXX (c++ when unset); exit 77 (skipped) when it is empty
# or not installed.
set -u

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
    echo "usage: $0 SOURCE_INCLUDE_DIR BUILD_INCLUDE_DIR LIB [SANITIZE]" >&2
    exit 2
fi
srcinc=$1 bldinc=$2 lib=$3 sanitize=${4:-none}
cxx=${CXX-c++}
flags="-std=c++11 -pedantic -Werror -Wall -Wextra"

# shellcheck disable=SC2086
if [ -z "$cxx" ] || ! command -v ${cxx%% *} > /dev/null 2>&1; then
    echo "headers-cxx: no C++ compiler ('$cxx'): skipped"
    exit 77
fi
if [ "$sanitize" != none ] && [ -n "$sanitize" ]; then
    flags="$flags -fsanitize=$sanitize"
fi

. "$(dirname "$0")/lib.sh"
osi_tmpdir

cat > "$tmp/use.cpp" <<'CXX'
#include <osinspect/osinspect.h>

#include <cstdio>
#include <cstring>

#if !OSI_VERSION_AT_LEAST(0, 1, 0)
#error "OSI_VERSION_AT_LEAST is false for 0.1.0"
#endif

int main()
{
    struct osi_collect_options copts = OSI_COLLECT_OPTIONS_INIT;
    struct osi_parse_options popts = OSI_PARSE_OPTIONS_INIT;
    struct osi_report *report = NULL;
    struct osi_error err;
    static const char text[] = "[]";

    if (osi_collect_options_init(&copts, OSI_COLLECT_OPTIONS_VERSION) != OSI_OK ||
        osi_parse_options_init(&popts, OSI_PARSE_OPTIONS_VERSION) != OSI_OK)
        return 1;
    if (osi_report_from_json(text, sizeof(text) - 1, &popts, &report, &err) == OSI_OK)
        return 1;
    std::printf("%s %s: %s\n", osi_version(), osi_status_str(err.status), err.message);
    osi_report_free(report);
    osi_free(NULL);
    return std::strcmp(osi_version(), OSI_VERSION_STRING) == 0 ? 0 : 1;
}
CXX

# shellcheck disable=SC2086
if ! $cxx $flags -I"$srcinc" -I"$bldinc" "$tmp/use.cpp" "$lib" \
        -o "$tmp/use" > "$tmp/log" 2>&1; then
    echo "FAIL: <osinspect/osinspect.h> does not compile or link as C++" \
         "($cxx $flags):" >&2
    cat "$tmp/log" >&2
    exit 1
fi
if ! LD_LIBRARY_PATH=$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
        "$tmp/use" > "$tmp/out" 2>&1; then
    echo "FAIL: the C++ program built on <osinspect/osinspect.h> failed:" >&2
    cat "$tmp/out" >&2
    exit 1
fi
echo "headers-cxx: <osinspect/osinspect.h> builds, links and runs as C++11" \
     "with $cxx $flags: $(cat "$tmp/out")"
exit 0
