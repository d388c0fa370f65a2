# SPDX-License-Identifier: MIT
# abi-symbols: the exports of libosinspect.so, the version script, the
# OSI_EXPORT declarations of the public headers and docs/ABI.md agree.
#
# usage: check_symbols.sh LIBOSINSPECT_SO MAP_FILE INCLUDE_DIR ABI_MD ABI_VERSION
set -u

if [ $# -ne 5 ]; then
    echo "usage: $0 LIB MAP INCLUDE_DIR ABI_MD ABI_VERSION" >&2
    exit 2
fi
lib=$1 map=$2 incdir=$3 abimd=$4 abiver=$5
. "$(dirname "$0")/lib.sh"

osi_tmpdir
fail=0

abi_major=${abiver%%.*}
abi_minor=${abiver#*.}
abi_minor=${abi_minor%%.*}

# --- The version script: "node symbol" for every global name, in order. ---
# Nodes must be OSINSPECT_<major>.<minor>, each inheriting the one before;
# global names are explicit (no patterns) and listed once.
if ! osi_c_code "$map" |
     awk -v file="$map" -v out="$tmp/map.pairs" -v nodes="$tmp/map.nodes" '
    { text = text " " $0 }
    function bad(msg) { print "FAIL: " file ": " msg > "/dev/stderr"; err = 1 }
    END {
        gsub(/[{};:]/, " & ", text)
        n = split(text, t, /[ \t]+/)
        state = "top"; node = ""; prev = ""; section = ""
        for (i = 1; i <= n; i++) {
            w = t[i]
            if (w == "") continue
            if (state == "top") {
                if (t[i + 1] != "{") { bad("expected \"NODE {\" at \"" w "\""); break }
                node = w; i++; state = "body"; section = "global"
                if (node !~ /^OSINSPECT_[0-9]+\.[0-9]+$/)
                    bad("node " node " is not named OSINSPECT_<major>.<minor>")
                if (node in seen_node) bad("node " node " defined twice")
                seen_node[node] = 1
                print node > nodes
            } else if (state == "body") {
                if (w == "}") { state = "tail"; continue }
                if (t[i + 1] == ":") { section = w; i++; continue }
                if (w == ";") continue
                if (section == "global") {
                    if (w ~ /[*?\[]/) bad(node ": pattern \"" w "\" in global: (list names)")
                    if (w in seen_sym) bad(w " listed twice (" seen_sym[w] ", " node ")")
                    seen_sym[w] = node
                    print node, w > out
                }
            } else if (state == "tail") {
                if (w == ";") {
                    if (prev != "" && inherits != prev)
                        bad("node " node " must inherit " prev " (\"} " prev ";\")")
                    if (prev == "" && inherits != "")
                        bad("first node " node " inherits unknown " inherits)
                    prev = node; inherits = ""; state = "top"
                } else {
                    inherits = w
                }
            }
        }
        if (state != "top") bad("unterminated node " node)
        exit err
    }'; then
    fail=1
fi
touch "$tmp/map.pairs" "$tmp/map.nodes"
cut -d' ' -f2 "$tmp/map.pairs" | LC_ALL=C sort > "$tmp/map.syms"

# The newest node is the ABI version being built: adding a node without
# moving osi_abi_version (or the reverse) is caught here.
last_node=$(tail -n 1 "$tmp/map.nodes")
if [ "$last_node" != "OSINSPECT_$abi_major.$abi_minor" ]; then
    echo "FAIL: $map: newest node is '$last_node' but osi_abi_version is $abiver" \
         "(expected OSINSPECT_$abi_major.$abi_minor)" >&2
    fail=1
fi
while read -r node; do
    v=${node#OSINSPECT_}
    if [ "${v%%.*}" != "$abi_major" ]; then
        echo "FAIL: $map: node $node belongs to another major than osi_abi_version $abiver" >&2
        fail=1
    fi
done < "$tmp/map.nodes"

# --- The shared library: defined dynamic symbols with their versions. ---
if ! nm -D --defined-only --with-symbol-versions "$lib" > "$tmp/nm.out" 2>/dev/null; then
    if ! nm -D --defined-only "$lib" > "$tmp/nm.out"; then
        echo "FAIL: nm -D failed on $lib" >&2
        exit 1
    fi
fi
# Version nodes show up as absolute symbols named after the node.
awk 'NF >= 2 { name = $NF; type = $(NF - 1)
        if (type == "A" && name ~ /^OSINSPECT_[0-9.]+(@@?OSINSPECT_[0-9.]+)?$/) next
        print name }' "$tmp/nm.out" > "$tmp/so.versioned"
sed 's/@.*//' "$tmp/so.versioned" | LC_ALL=C sort -u > "$tmp/so.syms"

if [ ! -s "$tmp/so.syms" ]; then
    echo "FAIL: $lib exports no symbol at all" >&2
    fail=1
fi

# Every export carries a node of the map, OSINSPECT_0.1 or later, and the
# default version of each name is the node the map lists it in.
while read -r entry; do
    name=${entry%%@*}
    case $entry in
    *@@*) ver=${entry#*@@} ;;
    *@*) ver=${entry#*@} ;;
    *) echo "FAIL: $lib: $name is exported without a version node" >&2
       fail=1; continue ;;
    esac
    case $ver in
    OSINSPECT_[0-9]*.[0-9]*) ;;
    *) echo "FAIL: $lib: $name has version '$ver', not OSINSPECT_<major>.<minor>" >&2
       fail=1; continue ;;
    esac
    v=${ver#OSINSPECT_}
    maj=${v%%.*} min=${v#*.}
    if [ "$maj" -eq 0 ] && [ "$min" -lt 1 ]; then
        echo "FAIL: $lib: $name has version $ver, older than OSINSPECT_0.1" >&2
        fail=1
    fi
    if ! grep -qx "$ver" "$tmp/map.nodes"; then
        echo "FAIL: $lib: $name has version $ver, which the map does not define" >&2
        fail=1
    fi
    case $entry in
    *@@*)
        want=$(awk -v s="$name" '$2 == s { print $1 }' "$tmp/map.pairs")
        if [ -n "$want" ] && [ "$want" != "$ver" ]; then
            echo "FAIL: $lib: $name is in $ver, but the map lists it in $want" >&2
            fail=1
        fi ;;
    esac
done < "$tmp/so.versioned"

# --- The public headers: names declared with OSI_EXPORT. ---
for h in "$incdir"/osinspect/*.h "$incdir"/osinspect/*.h.in; do
    [ -f "$h" ] || continue
    osi_c_decls "$h" | tr '\n' ' ' | awk -v file="$h" '
    {
        gsub(/[{}]/, ";")
        n = split($0, chunk, ";")
        for (i = 1; i <= n; i++) {
            c = chunk[i]
            # Attribute macros with arguments hide the name from a
            # "name before the first (" rule.
            gsub(/__attribute__[ \t]*\(\([^)]*(\([^)]*\))?[^)]*\)\)/, " ", c)
            gsub(/OSI_PRINTF[ \t]*\([^)]*\)/, " ", c)
            exported = (c ~ /(^|[^A-Za-z0-9_])OSI_EXPORT([^A-Za-z0-9_]|$)/)
            if (exported)
                sub(/^.*OSI_EXPORT/, "", c)
            p = index(c, "(")
            head = p ? substr(c, 1, p - 1) : c
            sub(/[ \t]*(\[[^]]*\][ \t]*)*$/, "", head)
            if (!match(head, /[A-Za-z_][A-Za-z0-9_]*[ \t]*$/)) continue
            name = substr(head, RSTART, RLENGTH); sub(/[ \t]+$/, "", name)
            if (exported) { print name; continue }
            # A prototype of an osi_ function without OSI_EXPORT would be
            # hidden by -fvisibility=hidden and fail to link downstream.
            if (p && name ~ /^osi_/ && c !~ /^[ \t]*typedef[ \t]/)
                print "FAIL: " file ": " name " is declared without OSI_EXPORT" > "/dev/stderr"
        }
    }'
done > "$tmp/hdr.raw" 2> "$tmp/hdr.err"
if [ -s "$tmp/hdr.err" ]; then
    cat "$tmp/hdr.err" >&2
    fail=1
fi
LC_ALL=C sort "$tmp/hdr.raw" > "$tmp/hdr.all"
LC_ALL=C sort -u "$tmp/hdr.raw" > "$tmp/hdr.syms"
if ! cmp -s "$tmp/hdr.all" "$tmp/hdr.syms"; then
    echo "FAIL: $incdir: declared with OSI_EXPORT more than once:" >&2
    LC_ALL=C uniq -d "$tmp/hdr.all" >&2
    fail=1
fi

# --- docs/ABI.md: "### OSINSPECT_x.y" headings, each listing "- `name`". ---
awk '
    /^#/ { node = ""
           if ($0 ~ /^###[ \t]+OSINSPECT_[0-9]+\.[0-9]+[ \t]*$/) node = $2
           next }
    node != "" && /^[-*][ \t]+`[A-Za-z_][A-Za-z0-9_]*`/ {
        s = $0; sub(/^[-*][ \t]+`/, "", s); sub(/`.*/, "", s)
        print node, s
    }' "$abimd" | LC_ALL=C sort > "$tmp/doc.pairs"
LC_ALL=C sort "$tmp/map.pairs" > "$tmp/map.pairs.sorted"

# --- Compare. ---
osi_compare "$tmp/map.syms" "$tmp/so.syms" \
    "version script $map" "exported by $lib (nm -D --defined-only)" \
    "the library's exports and the version script differ ('-' in the map only: declared with OSI_EXPORT and defined? '+' exported, not in the map)" ||
    fail=1
osi_compare "$tmp/map.syms" "$tmp/hdr.syms" \
    "version script $map" "OSI_EXPORT declarations in $incdir/osinspect" \
    "the version script and the OSI_EXPORT declarations differ" || fail=1
osi_compare "$tmp/map.pairs.sorted" "$tmp/doc.pairs" \
    "node and symbol in $map" "node and symbol listed in $abimd" \
    "$abimd does not list the symbols of each version node as the map has them" ||
    fail=1

# --- The soname follows the major of osi_abi_version. ---
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
if [ -z "$soname" ]; then
    echo "FAIL: $lib has no SONAME (readelf -d)" >&2
    fail=1
elif [ "$soname" != "libosinspect.so.$abi_major" ]; then
    echo "FAIL: SONAME is $soname, expected libosinspect.so.$abi_major" \
         "(osi_abi_version $abiver)" >&2
    fail=1
fi

if [ "$fail" -ne 0 ]; then
    echo "abi-symbols: FAILED (policy: docs/ABI.md)" >&2
    exit 1
fi
echo "abi-symbols: $(wc -l < "$tmp/so.syms") symbols agree in library," \
     "map, headers and docs; SONAME $soname"
exit 0
