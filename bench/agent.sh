#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Measures osinspect-agent's wall time, peak RSS, child processes, in-process
# collection time and mapped libraries against a do-nothing C program and
# against other fact collectors; then a full run (collect and send to a local
# osinspect-api on the file store) against a do-nothing program linked with
# libcurl and against a reconstruction of the original Python agent; then the
# CPU use of --interval 1. Run by hand, never as a test: timings are reported
# (with the targets marked met / not met), never asserted.
#
# usage: bench/agent.sh [BUILD_DIR]     (default ./build; build it first, a
#                                        release build for numbers that count)
#
# Needs hyperfine, cc and jq (or python3); uses /usr/bin/time (package time),
# strace, neofetch, facter and fastfetch when present, and for the original
# agent Debian's /usr/bin/python3 with python3-psutil and python3-requests.
# Installs nothing. Listens on 127.0.0.1 only.
# Bounded: about three minutes on a 2-core machine (one of them the --interval
# window, OSI_BENCH_INTERVAL_SECONDS, default 60).

set -u -o pipefail
export LC_ALL=C

build_dir=${1:-./build}
agent="$build_dir/src/cli/osinspect-agent"
api="$build_dir/src/server/osinspect-api"
script_dir=$(cd "$(dirname "$0")" && pwd)
original="$script_dir/baseline/original_agent.py"
# Debian's interpreter, where python3-psutil and python3-requests install
# (a python3 earlier in PATH, e.g. pyenv's, may not have them).
original_python=/usr/bin/python3

# Fast commands are timed with many runs; the script-language collectors
# take 0.2-1 s each, so they get few runs to keep the script bounded.
fast_warmup=20
fast_runs=300
full_warmup=10    # full runs: each also stores a report (fsync) in the API
full_runs=100
orig_warmup=3     # the original agent: about 250 ms a run
orig_runs=30
slow_warmup=2
slow_runs=20
rss_runs=20
slow_rss_runs=10  # the original agent and the third-party collectors
collect_runs=200
slow_timeout=120  # seconds, per hyperfine call of a third-party collector
interval_secs=${OSI_BENCH_INTERVAL_SECONDS:-60}

# Targets from the design: the agent costs little more than starting a process.
target_wall_delta_ms=1.5
target_rss_kib=4096
target_collect_us=500
# Issue 4: a full run costs little more than loading libcurl.
target_full_delta_ms=3
target_full_rss_kib=8192
target_interval_cpu_pct=0.5

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

case "$interval_secs" in '' | *[!0-9]* | 0) die "OSI_BENCH_INTERVAL_SECONDS must be a whole number of seconds > 0" ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/osinspect-bench.XXXXXX") || die "mktemp failed"
api_pid=""
interval_pid=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	[ -n "$interval_pid" ] && kill "$interval_pid" 2>/dev/null
	[ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null
	[ -n "$interval_pid" ] && wait "$interval_pid" 2>/dev/null
	[ -n "$api_pid" ] && wait "$api_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
buildtype="unknown"
if [ -r "$build_dir/meson-info/intro-buildoptions.json" ]; then
	if [ "$json_tool" = jq ]; then
		buildtype=$(jq -r '.[] | select(.name == "buildtype") | .value' \
			"$build_dir/meson-info/intro-buildoptions.json")
	else
		buildtype=$(python3 -c 'import json,sys; print(next(o["value"] for o in json.load(open(sys.argv[1])) if o["name"] == "buildtype"))' \
			"$build_dir/meson-info/intro-buildoptions.json")
	fi
fi
[ "$buildtype" = release ] || note "build type of $build_dir is $buildtype, not release: the numbers are not the release agent's"

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

# mean user + system CPU time in ms: less disturbed by other load on the
# machine than the wall time
hf_cpu_ms() {
	if [ "$json_tool" = jq ]; then
		jq -r '(.results[0].user + .results[0].system) * 1000' "$1"
	else
		python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print((r["user"]+r["system"])*1000)' "$1"
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
curl_only_note=""
if ! cc -O2 -o "$tmp/nothing-curl" "$tmp/nothing.c" -Wl,--no-as-needed -lcurl 2>"$tmp/cc-curl-only.err"; then
	curl_only_note="skipped: cannot link -lcurl (install libcurl4-openssl-dev)"
	note "$curl_only_note"
fi

# ---- the local API (for the full run and --interval) -----------------------

api_port=""
api_note=""
start_api() {
	local i
	if [ ! -x "$api" ]; then
		api_note="no $api (built with -Dserver=false?)"
		return 1
	fi
	mkdir -p "$tmp/store" "$tmp/spool" "$tmp/spool-interval" || return 1
	"$api" --listen 127.0.0.1:0 --store "$tmp/store" 2>"$tmp/api.log" &
	api_pid=$!
	for i in $(seq 100); do
		api_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$tmp/api.log")
		[ -n "$api_port" ] && return 0
		kill -0 "$api_pid" 2>/dev/null || break
		sleep 0.05
	done
	api_note="osinspect-api did not start: $(head -n 3 "$tmp/api.log" | tr '\n' ' ')"
	return 1
}
if start_api; then
	note "osinspect-api (pid $api_pid) on 127.0.0.1:$api_port, file store in $tmp/store ($(stat -f -c %T "$tmp"))"
	api_url="http://127.0.0.1:$api_port/report"
else
	note "$api_note"
fi
stored_reports() {
	find "$tmp/store/reports" -type f -name '*.json' 2>/dev/null | wc -l
}

# ---- the commands ----------------------------------------------------------
# Each entry: label|runs class|argv (words, quoted for hyperfine -N)

names=()
classes=()
cmdlines=()
notes=()
envs=()  # NAME=VALUE words put in the environment of the timed command
add_cmd() {
	names+=("$1")
	classes+=("$2")
	cmdlines+=("$3")
	notes+=("$4")
	envs+=("${5:-}")
}

q() { printf '%q' "$1"; }

add_cmd "do-nothing (cc -O2)" fast "$(q "$tmp/nothing")" "process floor"
add_cmd "osinspect-agent --print --compact" fast "$(q "$agent") --print --compact" ""
if [ -z "$curl_note" ]; then
	add_cmd "do-nothing + -lcurl -ls3" fast "$(q "$tmp/nothing-curl-s3")" "loader floor of a libcurl+libs3 program"
else
	add_cmd "do-nothing + -lcurl -ls3" skip "" "$curl_note"
fi
if [ -z "$curl_only_note" ]; then
	add_cmd "do-nothing + -lcurl" fast "$(q "$tmp/nothing-curl")" "loader floor of a libcurl program"
else
	add_cmd "do-nothing + -lcurl" skip "" "$curl_only_note"
fi
curl_only_i=$((${#names[@]} - 1))
full_label="osinspect-agent --url URL --spool DIR --quiet"
if [ -n "$api_port" ]; then
	add_cmd "$full_label" full \
		"$(q "$agent") --url $(q "$api_url") --spool $(q "$tmp/spool") --quiet" \
		"full run: collect + POST to osinspect-api on 127.0.0.1, file store"
else
	add_cmd "$full_label" skip "" "$api_note"
fi
full_i=$((${#names[@]} - 1))

# The original agent: faithful first; os.getlogin() raises without a
# terminal (its cron bug), and only then is it timed with the fallback.
orig_label="original_agent.py (reconstruction)"
orig_env="API_IP=127.0.0.1 API_PORT=$api_port"
if [ -z "$api_port" ]; then
	add_cmd "$orig_label" skip "" "$api_note"
elif [ ! -x "$original_python" ]; then
	add_cmd "$orig_label" skip "" "no $original_python (apt-get install python3)"
elif ! "$original_python" -c 'import psutil, requests' 2>/dev/null; then
	add_cmd "$orig_label" skip "" "$original_python lacks psutil or requests (apt-get install --no-install-recommends python3-psutil python3-requests)"
else
	orig_note="bench/baseline/original_agent.py, Debian python3 $("$original_python" -c 'import platform; print(platform.python_version())')"
	# shellcheck disable=SC2086 # orig_env is NAME=VALUE words
	if ! env $orig_env "$original_python" "$original" </dev/null >/dev/null 2>"$tmp/orig.err"; then
		if grep -q 'getlogin' "$tmp/orig.err"; then
			orig_env="$orig_env OSI_BENCH_LOGIN_FALLBACK=1"
			orig_note="$orig_note; os.getlogin() fails without a terminal (the original's bug: $(tail -n 1 "$tmp/orig.err")), so timed with the bench's fallback to the effective user"
		else
			orig_note="$orig_note; fails here: $(tail -n 1 "$tmp/orig.err")"
		fi
	fi
	add_cmd "$orig_label" orig "$(q "$original_python") $(q "$original")" "$orig_note" "$orig_env"
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

# run_argv ENV CMDLINE: ENV is NAME=VALUE words (or empty)
run_argv() {
	local -a argv
	mapfile -d '' -t argv < <(split_cmd "$2")
	# shellcheck disable=SC2086 # NAME=VALUE words
	env $1 "${argv[@]}"
}

# ---- the API's own share of a full run (curl -w) ---------------------------

# From the request sent to the first byte of the answer, on a new connection
# each time as the agent's: what the full run waits for the API (storing the
# report durably, with fsync) and that no agent change can remove. Measured
# right after the full run's timing, under the same load.
api_answer="n/a"
api_answer_note=""
api_answer_runs=50
measure_api_answer() {
	local body
	if [ -z "$api_port" ]; then
		api_answer_note=$api_note
		return
	fi
	if ! command -v curl >/dev/null; then
		api_answer_note="curl (the command) missing"
		return
	fi
	note "the API's answer time ($api_answer_runs requests)"
	body='{"cpu":"bench","os_username":"bench","os_name":"Linux","server_ip":"192.0.2.1","timestamp":"2026-01-01 00:00:00","os_version":"bench"}'
	: >"$tmp/answer.txt"
	for _ in $(seq "$api_answer_runs"); do
		curl -s -o /dev/null -w '%{http_code} %{time_pretransfer} %{time_starttransfer}\n' \
			-H 'Content-Type: application/json' --data-binary "$body" "$api_url" >>"$tmp/answer.txt"
	done
	awk '$1 == 200 { print ($3 - $2) * 1000 }' "$tmp/answer.txt" >"$tmp/answer-ms.txt"
	if [ -s "$tmp/answer-ms.txt" ]; then
		api_answer=$(median_file "$tmp/answer-ms.txt")
	else
		api_answer_note="no 200 answer: $(head -n 1 "$tmp/answer.txt")"
	fi
}

# ---- wall time (hyperfine) -------------------------------------------------

wall=()
cpu=()
rss=()
for i in "${!names[@]}"; do
	wall[i]="n/a"
	cpu[i]="n/a"
	rss[i]="n/a"
	[ "${classes[i]}" = skip ] && continue
	cmd=${cmdlines[i]}
	# a collector that exits non-zero here (facter without access to
	# /proc/1/environ) is still timed, with the failure in the notes
	run_argv "${envs[i]}" "$cmd" </dev/null >/dev/null 2>&1
	rc=$?
	ignore=()
	if [ "$rc" -ne 0 ]; then
		ignore=(-i)
		notes[i]="${notes[i]:+${notes[i]}; }exits $rc here"
	fi
	limit=(timeout "$slow_timeout")
	case "${classes[i]}" in
	fast) warm=$fast_warmup runs=$fast_runs limit=() ;;
	full) warm=$full_warmup runs=$full_runs ;;
	orig) warm=$orig_warmup runs=$orig_runs ;;
	*) warm=$slow_warmup runs=$slow_runs ;;
	esac
	note "timing ${names[i]} ($runs runs)"
	# shellcheck disable=SC2086 # envs are NAME=VALUE words
	if env ${envs[i]} "${limit[@]}" hyperfine "${hf_mode[@]}" "${ignore[@]}" --style none \
		--warmup "$warm" --runs "$runs" --export-json "$tmp/hf-$i.json" \
		"$cmd" >"$tmp/hf-$i.log" 2>&1; then
		wall[i]=$(hf_median_ms "$tmp/hf-$i.json")
		cpu[i]=$(hf_cpu_ms "$tmp/hf-$i.json")
		[ "$i" = "$full_i" ] && measure_api_answer
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
		n=$rss_runs
		case "${classes[i]}" in slow | orig) n=$slow_rss_runs ;; esac
		note "peak RSS of ${names[i]} ($n runs)"
		mapfile -d '' -t argv < <(split_cmd "${cmdlines[i]}")
		: >"$tmp/rss-$i.txt"
		for _ in $(seq "$n"); do
			# shellcheck disable=SC2086 # envs are NAME=VALUE words
			env ${envs[i]} timeout "$slow_timeout" /usr/bin/time -f %M -o "$tmp/rss-one.txt" \
				"${argv[@]}" </dev/null >/dev/null 2>&1
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

# the full run: libcurl may start threads (its resolver), never a process
full_clones="n/a"
full_execs="n/a"
full_strace_note=""
if [ -n "$strace_note" ]; then
	full_strace_note=$strace_note
elif [ -z "$api_port" ]; then
	full_strace_note=$api_note
elif strace -f -qq -e trace=clone,clone3,fork,vfork,execve -o "$tmp/strace-full.txt" \
	"$agent" --url "$api_url" --spool "$tmp/spool" --quiet >/dev/null 2>"$tmp/strace-full.err"; then
	full_clones=$(grep -cE '^([0-9]+ +)?(clone|clone3|fork|vfork)\(' "$tmp/strace-full.txt")
	full_execs=$(($(grep -cE '^([0-9]+ +)?execve\(' "$tmp/strace-full.txt") - 1))
else
	full_strace_note="strace could not trace the full run: $(head -n 1 "$tmp/strace-full.err")"
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
if [ -z "$curl_only_note" ]; then
	notes[curl_only_i]="${notes[curl_only_i]}; libs: $(count_libs "$tmp/nothing-curl")"
fi
full_libs="n/a"
if [ -n "$api_port" ]; then
	# dlopen'ed libraries count too: libcurl is loaded when the sender starts
	full_libs=$(count_libs "$agent" --url "$api_url" --spool "$tmp/spool" --quiet)
	notes[full_i]="${notes[full_i]}; libs: $full_libs"
fi

# ---- --interval 1: CPU use over a window (/proc/PID/stat) ------------------

# utime + stime of PID in clock ticks (fields 14 and 15; the command name in
# field 2 may hold spaces, so count from after its closing parenthesis)
cpu_ticks() {
	local stat rest
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	rest=${stat##*) }
	# shellcheck disable=SC2086 # split into fields
	set -- $rest
	echo $((${12} + ${13}))
}
now_ns() {
	date +%s%N
}

interval_cpu="n/a"
interval_note=""
interval_total_cpu="n/a"
interval_reports="n/a"
interval_rc="n/a"
interval_hwm="n/a"
interval_curl_maps="n/a"
if [ -z "$api_port" ]; then
	interval_note=$api_note
else
	hz=$(getconf CLK_TCK)
	note "--interval 1 for ${interval_secs} s (+1 s to settle)"
	launch_ns=$(now_ns)
	"$agent" --interval 1 --url "$api_url" --spool "$tmp/spool-interval" --quiet \
		</dev/null >/dev/null 2>"$tmp/interval.err" &
	interval_pid=$!
	# the first report (and the loading of libcurl) happens in the first
	# second; the window measures the steady state after it
	sleep 1
	before_reports=$(stored_reports)
	t0=$(now_ns)
	c0=$(cpu_ticks "$interval_pid")
	sleep "$interval_secs"
	c1=$(cpu_ticks "$interval_pid")
	t1=$(now_ns)
	after_reports=$(stored_reports)
	if [ -n "$c0" ] && [ -n "$c1" ]; then
		interval_cpu=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v ns="$((t1 - t0))" \
			'BEGIN { printf "%.3f", 100 * (c / hz) / (ns / 1e9) }')
		interval_total_cpu=$(awk -v c="$c1" -v hz="$hz" -v ns="$((t1 - launch_ns))" \
			'BEGIN { printf "%.3f", 100 * (c / hz) / (ns / 1e9) }')
		interval_ticks="$((c1 - c0)) ticks of 1/$hz s in $(awk -v ns="$((t1 - t0))" 'BEGIN { printf "%.1f", ns / 1e9 }') s"
		interval_reports=$((after_reports - before_reports))
		interval_hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$interval_pid/status")
		interval_curl_maps=$(awk '$6 ~ /libcurl/ { print $6 }' "/proc/$interval_pid/maps" | sort -u | wc -l)
	else
		interval_note="the agent was gone before the end of the window: $(head -n 3 "$tmp/interval.err" | tr '\n' ' ')"
	fi
	kill -TERM "$interval_pid" 2>/dev/null
	wait "$interval_pid"
	interval_rc=$?
	interval_pid=""
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

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
printf '%s; %s (%s build); nproc %s, kernel %s; %s\n' "$(date +%F)" \
	"$("$agent" --version 2>/dev/null | head -n 1)" "$buildtype" "$(nproc)" "$(uname -r)" "$hf_note"
printf 'load average (1, 5, 15 min): %s at start, %s at end\n' "$load_start" "$load_end"
echo
echo "| command | median wall ms | ratio to do-nothing | mean CPU ms (user+sys) | median peak RSS KiB | notes |"
echo "|---|---:|---:|---:|---:|---|"
for i in "${!names[@]}"; do
	# shellcheck disable=SC2016 # the backquotes are markdown code spans
	printf '| `%s` | %s | %s | %s | %s | %s |\n' "${names[i]}" "$(fmt_ms "${wall[i]}")" \
		"$(ratio "${wall[i]}" "${wall[0]}")" "$(fmt_ms "${cpu[i]}")" "$(fmt_int "${rss[i]}")" "${notes[i]}"
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
if [ "$api_answer" = "n/a" ] && [ -z "$api_answer_note" ]; then
	echo "the API's answer time: not measured (the full run was not timed${api_note:+: $api_note})"
elif [ -n "$api_answer_note" ]; then
	echo "the API's answer time: not measured ($api_answer_note)"
else
	printf "the API's answer time (request sent to first byte, new connection, file store): median %s ms over %s requests (curl -w)\n" \
		"$(fmt_ms "$api_answer")" "$api_answer_runs"
fi
if [ -n "$full_strace_note" ]; then
	echo "full run threads and processes: not measured ($full_strace_note)"
else
	printf 'full run: %s clone/fork calls (threads or processes), %s execve beyond the first (strace -f); %s libraries with the dlopen'"'"'ed ones\n' \
		"$full_clones" "$full_execs" "$full_libs"
fi
if [ -n "$interval_note" ]; then
	echo "--interval 1: not measured ($interval_note)"
else
	printf -- '--interval 1: %s %% of one core over the window (%s), %s %% since launch; %s reports stored in the window; libcurl mapped from %s file(s); VmHWM %s KiB; exit %s after SIGTERM\n' \
		"$interval_cpu" "$interval_ticks" "$interval_total_cpu" "$interval_reports" \
		"$interval_curl_maps" "$interval_hwm" "$interval_rc"
fi

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
full_delta="n/a"
case "${wall[full_i]}${wall[curl_only_i]}" in *n/a*) ;; *)
	full_delta=$(awk -v a="${wall[full_i]}" -v b="${wall[curl_only_i]}" 'BEGIN { printf "%+.2f", a - b }') ;;
esac
printf -- '- full run median within %s ms of the -lcurl do-nothing program: %s (%s ms; the API answers in %s ms of it)\n' \
	"$target_full_delta_ms" "$(verdict "$full_delta" "<=" "$target_full_delta_ms")" "$full_delta" "$(fmt_ms "$api_answer")"
printf -- '- full run peak RSS under %s KiB: %s (%s KiB)\n' \
	"$target_full_rss_kib" "$(verdict "${rss[full_i]}" "<" "$target_full_rss_kib")" "$(fmt_int "${rss[full_i]}")"
printf -- '- --interval 1 CPU under %s %% of one core: %s (%s %%)\n' \
	"$target_interval_cpu_pct" "$(verdict "$interval_cpu" "<" "$target_interval_cpu_pct")" "$interval_cpu"
exit 0
