#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Measures osinspect-agent's wall time, peak RSS, child processes, in-process
# collection time and mapped libraries against a do-nothing C program and
# against other fact collectors. Run by hand, never as a test: timings are
# reported (with the targets marked met / not met), never asserted.
#
# usage: bench/agent.sh [BUILD_DIR]     (default ./build; build it first)
#
# Needs hyperfine, cc and jq (or python3); uses /usr/bin/time (package time),
# strace, neofetch, facter and fastfetch when present. Installs nothing.
# Bounded: about one minute on a 2-core machine with neofetch and facter.

set -u -o pipefail
export LC_ALL=C

build_dir=${1:-./build}
agent="$build_dir/src/cli/osinspect-agent"

# Fast commands are timed with many runs; the script-language collectors
# take 0.2-1 s each, so they get few runs to keep the script bounded.
fast_warmup=20
fast_runs=300
slow_warmup=2
slow_runs=20
rss_runs=20
collect_runs=200
slow_timeout=120  # seconds, per hyperfine call of a third-party collector

# Targets from the design: the agent costs little more than starting a process.
target_wall_delta_ms=1.5
target_rss_kib=4096
target_collect_us=500

die() {
	printf 'agent.sh: %s\n' "$*" >&2
	exit 1
}

note() {
	printf 'agent.sh: %s\n' "$*" >&2
}

[ -x "$agent" ] || die "no $agent: build it first (ninja -C $build_dir)"
command -v hyperfine >/dev/null || die "hyperfine missing (apt-get install hyperfine)"
command -v cc >/dev/null || die "cc missing"
if command -v jq >/dev/null; then
	json_tool=jq
elif command -v python3 >/dev/null; then
	json_tool=python3
else
	die "need jq or python3 to read the JSON results"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/osinspect-bench.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT

# hyperfine before 1.13 has neither -N nor --output; without -N it starts
# each command through a shell and subtracts the shell's measured cost.
hf_mode=()
if hyperfine --help 2>/dev/null | grep -q -- '--shell=none'; then
	hf_mode=(-N)
	hf_note="hyperfine $(hyperfine --version | cut -d' ' -f2), -N (no shell)"
else
	hf_note="hyperfine $(hyperfine --version | cut -d' ' -f2), through a shell (no -N)"
fi

# ---- JSON readers (jq, or python3 when jq is missing) ----------------------

# median wall time in ms from a hyperfine --export-json file
hf_median_ms() {
	if [ "$json_tool" = jq ]; then
		jq -r '.results[0].median * 1000' "$1"
	else
		python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"]*1000)' "$1"
	fi
}

# From a file of one report per line: "total <median us>" then one line
# "<section> <median us> <status of the last report>" per section.
collection_medians() {
	if [ "$json_tool" = jq ]; then
		jq -rs '
			def median: sort | if length == 0 then null
				elif length % 2 == 1 then .[length / 2 | floor]
				else (.[length / 2 - 1] + .[length / 2]) / 2 end;
			. as $r
			| "total \([$r[].collection.duration_us] | median)",
			  ($r[-1].collection.sections | keys_unsorted[] as $s
			   | "\($s) \([$r[].collection.sections[$s].duration_us
			              | select(. != null)] | median) \($r[-1].collection.sections[$s].status)")
		' "$1"
	else
		python3 - "$1" <<'EOF'
import json, statistics, sys
reports = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("total", statistics.median(r["collection"]["duration_us"] for r in reports))
for name, sec in reports[-1]["collection"]["sections"].items():
    vals = [r["collection"]["sections"].get(name, {}).get("duration_us") for r in reports]
    vals = [v for v in vals if v is not None]
    print(name, statistics.median(vals) if vals else "null", sec.get("status"))
EOF
	fi
}

# median of the numbers in a file, one per line
median_file() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "n/a"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ---- the reference programs ------------------------------------------------

printf 'int main(void){return 0;}\n' >"$tmp/nothing.c"
cc -O2 -o "$tmp/nothing" "$tmp/nothing.c" || die "cc cannot build the do-nothing program"
# --no-as-needed: a toolchain that defaults to --as-needed would drop the
# unused libraries and measure nothing.
curl_note=""
if ! cc -O2 -o "$tmp/nothing-curl-s3" "$tmp/nothing.c" -Wl,--no-as-needed -lcurl -ls3 2>"$tmp/cc-curl.err"; then
	curl_note="skipped: cannot link -lcurl -ls3 (install libcurl4-openssl-dev libs3-dev)"
	note "$curl_note"
fi

# ---- the commands ----------------------------------------------------------
# Each entry: label|runs class|argv (words, quoted for hyperfine -N)

names=()
classes=()
cmdlines=()
notes=()
add_cmd() {
	names+=("$1")
	classes+=("$2")
	cmdlines+=("$3")
	notes+=("$4")
}

q() { printf '%q' "$1"; }

add_cmd "do-nothing (cc -O2)" fast "$(q "$tmp/nothing")" "process floor"
add_cmd "osinspect-agent --print --compact" fast "$(q "$agent") --print --compact" ""
if [ -z "$curl_note" ]; then
	add_cmd "do-nothing + -lcurl -ls3" fast "$(q "$tmp/nothing-curl-s3")" "loader floor of a libcurl+libs3 program"
else
	add_cmd "do-nothing + -lcurl -ls3" skip "" "$curl_note"
fi
for tool in "neofetch --stdout" facter fastfetch; do
	bin=${tool%% *}
	if path=$(command -v "$bin"); then
		add_cmd "$tool" slow "$(q "$path")${tool#"$bin"}" ""
	else
		add_cmd "$tool" skip "" "not installed"
	fi
done

# word-split a command line the way the shell would, without evaluating it
split_cmd() {
	eval "set -- $1"
	printf '%s\0' "$@"
}

run_argv() {
	local -a argv
	mapfile -d '' -t argv < <(split_cmd "$1")
	"${argv[@]}"
}

# ---- wall time (hyperfine) -------------------------------------------------

wall=()
rss=()
for i in "${!names[@]}"; do
	wall[i]="n/a"
	rss[i]="n/a"
	[ "${classes[i]}" = skip ] && continue
	cmd=${cmdlines[i]}
	# a collector that exits non-zero here (facter without access to
	# /proc/1/environ) is still timed, with the failure in the notes
	run_argv "$cmd" >/dev/null 2>&1
	rc=$?
	ignore=()
	if [ "$rc" -ne 0 ]; then
		ignore=(-i)
		notes[i]="${notes[i]:+${notes[i]}; }exits $rc here"
	fi
	if [ "${classes[i]}" = fast ]; then
		warm=$fast_warmup
		runs=$fast_runs
		limit=()
	else
		warm=$slow_warmup
		runs=$slow_runs
		limit=(timeout "$slow_timeout")
	fi
	note "timing ${names[i]} ($runs runs)"
	if "${limit[@]}" hyperfine "${hf_mode[@]}" "${ignore[@]}" --style none \
		--warmup "$warm" --runs "$runs" --export-json "$tmp/hf-$i.json" \
		"$cmd" >"$tmp/hf-$i.log" 2>&1; then
		wall[i]=$(hf_median_ms "$tmp/hf-$i.json")
		notes[i]="${notes[i]:+${notes[i]}; }$runs runs"
	else
		notes[i]="${notes[i]:+${notes[i]}; }hyperfine failed (see below)"
		note "hyperfine failed for ${names[i]}:"
		sed 's/^/    /' "$tmp/hf-$i.log" >&2
	fi
done

# ---- peak RSS (/usr/bin/time -f %M, KiB) -----------------------------------

rss_note=""
if [ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1; then
	for i in "${!names[@]}"; do
		[ "${classes[i]}" = skip ] && continue
		[ "${wall[i]}" = "n/a" ] && continue
		note "peak RSS of ${names[i]} ($rss_runs runs)"
		mapfile -d '' -t argv < <(split_cmd "${cmdlines[i]}")
		: >"$tmp/rss-$i.txt"
		for _ in $(seq "$rss_runs"); do
			timeout "$slow_timeout" /usr/bin/time -f %M -o "$tmp/rss-one.txt" \
				"${argv[@]}" >/dev/null 2>&1
			# a non-zero exit makes GNU time prepend a "Command exited" line
			tail -n 1 "$tmp/rss-one.txt" >>"$tmp/rss-$i.txt"
		done
		rss[i]=$(median_file "$tmp/rss-$i.txt")
	done
else
	rss_note="peak RSS not measured: /usr/bin/time (GNU time) missing; install package time"
	note "$rss_note"
fi

# ---- child processes (strace) ----------------------------------------------

children="n/a"
execs="n/a"
strace_note=""
if command -v strace >/dev/null; then
	if strace -f -qq -e trace=clone,clone3,fork,vfork,execve -o "$tmp/strace.txt" \
		"$agent" --print --compact >/dev/null 2>"$tmp/strace.err" &&
		grep -q 'execve(' "$tmp/strace.txt"; then
		# "<... clone resumed>" continues an earlier line: count calls once
		children=$(grep -cE '^([0-9]+ +)?(clone|clone3|fork|vfork)\(' "$tmp/strace.txt")
		execs=$(grep -cE '^([0-9]+ +)?execve\(' "$tmp/strace.txt")
		execs=$((execs - 1))
	else
		strace_note="strace could not trace the agent: $(head -n 1 "$tmp/strace.err")"
	fi
else
	strace_note="strace missing (apt-get install strace)"
fi

# ---- in-process collection time (from the report) --------------------------

note "collection time from $collect_runs reports"
: >"$tmp/reports.jsonl"
for _ in $(seq "$collect_runs"); do
	"$agent" --print --compact >>"$tmp/reports.jsonl" 2>/dev/null
done
collect_total="n/a"
sections=()
if collection_medians "$tmp/reports.jsonl" >"$tmp/collection.txt" 2>"$tmp/collection.err"; then
	collect_total=$(awk '$1 == "total" { print $2 }' "$tmp/collection.txt")
	mapfile -t sections < <(awk '$1 != "total"' "$tmp/collection.txt" | sort -k2,2gr)
else
	note "cannot read .collection from the reports: $(head -n 1 "$tmp/collection.err")"
fi

# ---- shared libraries (LD_DEBUG=files) -------------------------------------

# objects the loader maps besides the program, ld.so and the vDSO
count_libs() {
	LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -c 'generating link map'
}
lib_list() {
	LD_DEBUG=files "$@" 2>&1 >/dev/null |
		sed -n 's/.*file=\([^ ]*\) .*generating link map.*/\1/p' | tr '\n' ' '
}
agent_libs=$(count_libs "$agent" --print --compact)
agent_lib_names=$(lib_list "$agent" --print --compact)
nothing_libs=$(count_libs "$tmp/nothing")
notes[0]="${notes[0]}; libs: $nothing_libs"
notes[1]="${notes[1]:+${notes[1]}; }libs: $agent_libs"
if [ -z "$curl_note" ]; then
	notes[2]="${notes[2]}; libs: $(count_libs "$tmp/nothing-curl-s3")"
fi

# ---- report ----------------------------------------------------------------

ratio() {
	case "$1$2" in *n/a*) echo "n/a" ;; *) awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }' ;; esac
}
fmt_ms() {
	case "$1" in n/a) echo "n/a" ;; *) awk -v a="$1" 'BEGIN { printf "%.2f", a }' ;; esac
}
fmt_int() {
	case "$1" in n/a) echo "n/a" ;; *) awk -v a="$1" 'BEGIN { printf "%d", a + 0.5 }' ;; esac
}
# "met" / "not met" / "not measured"
verdict() {
	case "$1" in n/a | "") echo "not measured" ;; *)
		awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
			ok = (op == "<=") ? v <= t : (op == "<") ? v < t : v == t
			print ok ? "met" : "not met" }' ;;
	esac
}

echo
printf '%s; %s; nproc %s, kernel %s; %s\n' "$(date +%F)" \
	"$("$agent" --version 2>/dev/null | head -n 1)" "$(nproc)" "$(uname -r)" "$hf_note"
echo
echo "| command | median wall ms | ratio to do-nothing | median peak RSS KiB | notes |"
echo "|---|---:|---:|---:|---|"
for i in "${!names[@]}"; do
	# shellcheck disable=SC2016 # the backquotes are markdown code spans
	printf '| `%s` | %s | %s | %s | %s |\n' "${names[i]}" "$(fmt_ms "${wall[i]}")" \
		"$(ratio "${wall[i]}" "${wall[0]}")" "$(fmt_int "${rss[i]}")" "${notes[i]}"
done
echo
[ -n "$rss_note" ] && echo "$rss_note"
printf 'collection (in process, .collection.duration_us): median %s us over %s runs\n' \
	"$collect_total" "$collect_runs"
if [ "${#sections[@]}" -gt 0 ]; then
	printf 'per section (median us, status):'
	for s in "${sections[@]}"; do
		read -r name med status <<<"$s"
		printf ' %s %s (%s),' "$name" "$med" "$status"
	done | sed 's/,$//'
	echo
fi
if [ -n "$strace_note" ]; then
	echo "child processes: not measured ($strace_note)"
else
	printf 'child processes: %s clone/fork calls, %s execve beyond the first (strace -f)\n' \
		"$children" "$execs"
fi
printf 'shared libraries mapped by the agent: %s (%s) besides ld.so and the vDSO; the do-nothing program maps %s\n' \
	"$agent_libs" "${agent_lib_names% }" "$nothing_libs"

delta="n/a"
case "${wall[1]}${wall[0]}" in *n/a*) ;; *) delta=$(awk -v a="${wall[1]}" -v b="${wall[0]}" 'BEGIN { printf "%.2f", a - b }') ;; esac
child_total="n/a"
[ -z "$strace_note" ] && child_total=$((children + execs))

echo
echo "targets:"
printf -- '- agent median within %s ms of the do-nothing program: %s (+%s ms)\n' \
	"$target_wall_delta_ms" "$(verdict "$delta" "<=" "$target_wall_delta_ms")" "$delta"
printf -- '- peak RSS under %s KiB: %s (%s KiB)\n' \
	"$target_rss_kib" "$(verdict "${rss[1]}" "<" "$target_rss_kib")" "$(fmt_int "${rss[1]}")"
printf -- '- no child process: %s (%s)\n' "$(verdict "$child_total" "==" 0)" "$child_total"
printf -- '- collection under %s us: %s (%s us)\n' \
	"$target_collect_us" "$(verdict "$collect_total" "<" "$target_collect_us")" "$collect_total"
exit 0
