# SPDX-License-Identifier: MIT
# banned-functions: no call of strcpy, strcat, sprintf, strtok, atoi or gets
# in the C sources (comments and string literals do not count).
#
# usage: check_banned.sh DIR...
set -u

if [ $# -lt 1 ]; then
    echo "usage: $0 DIR..." >&2
    exit 2
fi
. "$(dirname "$0")/lib.sh"

# A name preceded by no identifier character and followed by "(": so
# snprintf, vsnprintf, strncpy, strtok_r and fgets pass.
banned='(^|[^A-Za-z0-9_])(strcpy|strcat|sprintf|strtok|atoi|gets)[[:space:]]*\('

osi_tmpdir
: > "$tmp/hits"
files=0

for dir in "$@"; do
    [ -d "$dir" ] || continue
    find "$dir" -type f \( -name '*.c' -o -name '*.h' -o -name '*.c.in' \
        -o -name '*.h.in' -o -name '*.cc' -o -name '*.cpp' \) -print
done | LC_ALL=C sort > "$tmp/files"

while IFS= read -r f; do
    files=$((files + 1))
    osi_c_code "$f" blank | grep -nE "$banned" | cut -d: -f1 |
    while read -r n; do
        printf '%s:%s: %s\n' "$f" "$n" "$(sed -n "${n}p" "$f")"
    done >> "$tmp/hits"
done < "$tmp/files"

if [ -s "$tmp/hits" ]; then
    echo "FAIL: banned functions called (use snprintf, memcpy, strtol/strtoull" \
         "with end checks, strtok_r or fgets):" >&2
    cat "$tmp/hits" >&2
    echo "banned-functions: FAILED" >&2
    exit 1
fi
echo "banned-functions: $files C files, no call of strcpy strcat sprintf strtok atoi gets"
exit 0
