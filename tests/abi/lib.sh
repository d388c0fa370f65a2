# SPDX-License-Identifier: MIT
# Helpers sourced by the abi checks: C text without comments, set diffs.

# Print a C file with its comments blanked and its line numbers kept, so a
# pattern found in the output is code. With a second argument "blank", the
# contents of string and character literals are blanked too.
osi_c_code() {
    awk -v blank="${2:-}" '
    {
        line = $0; out = ""; n = length(line); i = 1
        while (i <= n) {
            c = substr(line, i, 1); c2 = substr(line, i, 2)
            if (state == 1) {
                if (c2 == "*/") { state = 0; out = out "  "; i += 2; continue }
                out = out " "; i++; continue
            }
            if (state == 2 || state == 3) {
                q = (state == 2) ? "\"" : "\047"
                if (c == "\\") {
                    out = out (blank == "blank" ? "  " : c2); i += 2; continue
                }
                if (c == q) state = 0
                out = out ((blank == "blank" && state != 0) ? " " : c); i++
                continue
            }
            if (c2 == "/*") { state = 1; out = out "  "; i += 2; continue }
            if (c2 == "//") break
            if (c == "\"") state = 2
            else if (c == "\047") state = 3
            out = out c; i++
        }
        # A literal never spans lines (no backslash-newline in this tree).
        if (state != 1) state = 0
        print out
    }' "$1"
}

# osi_c_code without preprocessor lines (continuations included).
osi_c_decls() {
    osi_c_code "$1" | awk '
        cont { cont = /\\$/; next }
        /^[ \t]*#/ { cont = /\\$/; next }
        { print }'
}

# Compare two sorted lists in files $1 and $2 labelled $3 and $4; when
# they differ, print "FAIL: $5" and a unified diff on stderr and return 1.
osi_compare() {
    if diff -u --label "$3" --label "$4" "$1" "$2" > "$1.diff"; then
        return 0
    fi
    {
        echo "FAIL: $5"
        cat "$1.diff"
    } >&2
    return 1
}

# Make the scratch directory $tmp, removed however the script ends (a
# closed pipe or meson's timeout included).
osi_tmpdir() {
    tmp=$(mktemp -d) || exit 1
    trap 'rm -rf "$tmp"' EXIT
    trap 'exit 1' HUP INT TERM PIPE
}
