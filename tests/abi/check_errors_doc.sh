# SPDX-License-Identifier: MIT
# errors-doc: docs/errors.md documents every enum osi_status code with its
# value and osi_status_str() text, and every enum osi_cause_kind.
#
# usage: check_errors_doc.sh ERROR_H ERROR_C ERRORS_MD
set -u

if [ $# -ne 3 ]; then
    echo "usage: $0 ERROR_H ERROR_C ERRORS_MD" >&2
    exit 2
fi
errh=$1 errc=$2 doc=$3
. "$(dirname "$0")/lib.sh"

osi_tmpdir
fail=0

# "NAME VALUE" for each enumerator of enum $1 in error.h, in order.
enum_values() {
    osi_c_decls "$errh" | tr '\n' ' ' | awk -v want="$1" '
    {
        if (!match($0, "enum[ \t]+" want "[ \t]*\\{[^}]*\\}")) {
            print "no enum " want > "/dev/stderr"; exit 1
        }
        body = substr($0, RSTART, RLENGTH)
        sub(/^[^{]*\{/, "", body); sub(/\}$/, "", body)
        n = split(body, item, ",")
        v = -1
        for (i = 1; i <= n; i++) {
            e = item[i]; gsub(/[ \t]/, "", e)
            if (e == "") continue
            if (index(e, "=")) {
                name = substr(e, 1, index(e, "=") - 1)
                val = substr(e, index(e, "=") + 1)
                gsub(/[()]/, "", val)
                if (val !~ /^-?[0-9]+$/) {
                    print want ": cannot read the value of " name ": " val > "/dev/stderr"
                    exit 1
                }
                v = val + 0
            } else {
                name = e; v++
            }
            print name, v
        }
    }'
}

enum_values osi_status > "$tmp/status" || fail=1
enum_values osi_cause_kind > "$tmp/cause" || fail=1

# Values are unique (append-only: a value is never reused); OSI_OK is 0
# and failures are negative.
awk '{ names[$2] = names[$2] " " $1; count[$2]++ }
     END { for (v in count) if (count[v] > 1) {
               print "FAIL: enum osi_status gives " v " to" names[v]; bad = 1 }
           exit bad }' "$tmp/status" >&2 || fail=1
awk '($1 == "OSI_OK" && $2 != 0) || ($1 != "OSI_OK" && $2 >= 0) {
        print "FAIL: " $1 " = " $2 ": OSI_OK is 0 and failures are negative"; bad = 1 }
     END { exit bad }' "$tmp/status" >&2 || fail=1

# "NAME TEXT" from the cases of osi_status_str() in error.c; consecutive
# case labels share the text of the return that follows them.
osi_c_code "$errc" | awk '
    /osi_status_str[ \t]*\(/ && !/;/ { infn = 1 }
    infn { text = text " " $0 }
    infn && /^}/ { infn = 0 }
    END {
        while (match(text, /case[ \t]+[A-Z0-9_]+[ \t]*:|return[ \t]*"[^"]*"/)) {
            t = substr(text, RSTART, RLENGTH)
            text = substr(text, RSTART + RLENGTH)
            if (t ~ /^case/) {
                sub(/^case[ \t]+/, "", t); sub(/[ \t]*:$/, "", t)
                pending = pending " " t
            } else {
                sub(/^return[ \t]*"/, "", t); sub(/"$/, "", t)
                np = split(pending, names, " ")
                for (i = 1; i <= np; i++) print names[i] "\t" t
                pending = ""
            }
        }
    }' > "$tmp/texts"

# The expected table rows: NAME|VALUE|TEXT.
awk 'NR == FNR { i = index($0, "\t")
                text[substr($0, 1, i - 1)] = substr($0, i + 1); next }
    { t = ($1 in text) ? text[$1] : "(no case in osi_status_str)"
      print $1 "|" $2 "|" t }' "$tmp/texts" "$tmp/status" |
    LC_ALL=C sort > "$tmp/want.status"
awk '{ print $1 "|" $2 }' "$tmp/cause" | LC_ALL=C sort > "$tmp/want.cause"
if grep -q '(no case in osi_status_str)' "$tmp/want.status"; then
    echo "FAIL: osi_status_str() in $errc has no case for:" >&2
    grep '(no case in osi_status_str)' "$tmp/want.status" | cut -d'|' -f1 >&2
    fail=1
fi

# The documented rows: tables under "## Status codes" and "## Cause kinds"
# whose first cell is an OSI_ name, cells stripped of ` and ".
doc_rows() {
    awk -v heading="$1" -v cols="$2" '
        /^#/ { insec = ($0 ~ "^#+[ \t]+" heading "[ \t]*$"); next }
        insec && /^\|/ {
            n = split($0, cell, "|")
            for (i = 2; i < n; i++) {
                gsub(/[`"]/, "", cell[i])
                gsub(/^[ \t]+|[ \t]+$/, "", cell[i])
            }
            if (cell[2] !~ /^OSI_[A-Z0-9_]+$/) next
            row = cell[2]
            for (i = 3; i < 2 + cols; i++) row = row "|" cell[i]
            print row
        }' "$doc" | LC_ALL=C sort
}
doc_rows "Status codes" 3 > "$tmp/doc.status"
doc_rows "Cause kinds" 2 > "$tmp/doc.cause"

osi_compare "$tmp/want.status" "$tmp/doc.status" \
    "NAME|VALUE|osi_status_str text from $errh and $errc" \
    "rows of \"## Status codes\" in $doc" \
    "$doc does not document enum osi_status as the code has it" || fail=1
osi_compare "$tmp/want.cause" "$tmp/doc.cause" \
    "NAME|VALUE of enum osi_cause_kind in $errh" \
    "rows of \"## Cause kinds\" in $doc" \
    "$doc does not document enum osi_cause_kind as the code has it" || fail=1

if [ "$fail" -ne 0 ]; then
    echo "errors-doc: FAILED" >&2
    exit 1
fi
echo "errors-doc: $(wc -l < "$tmp/want.status") status codes and" \
     "$(wc -l < "$tmp/want.cause") cause kinds documented in $doc"
exit 0
