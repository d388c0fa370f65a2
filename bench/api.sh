#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Measures osinspect-api under load with wrk: POST /report, GET /report and
# GET /health at 1, 8, 32 and 128 connections on the file store and on the
# S3 store (s3rver), against two CivetWeb ceilings (a minimal handler, also
# driven with GET /report's requests, and one that makes one durable file
# per request), s3rver's own rate driven directly, and a reconstruction
# of the original Flask API on s3rver. Run by hand, never as a test: the
# numbers are reported and the targets of issue 3 marked met / not met,
# never asserted.
#
# usage: bench/api.sh [BUILD_DIR]     (default ./build; build it first,
#                                       preferably -Dbuildtype=release)
#
# Needs wrk, cc with CivetWeb's headers (libcivetweb-dev), python3, node and
# s3rver under tests/integration/node_modules (npm ci --prefix
# tests/integration); the baseline needs python3-flask and python3-boto3.
# Installs nothing. Talks to 127.0.0.1 only; every server it starts is
# stopped by its PID at the end. Bounded: about 12 minutes on a 2-core
# machine (OSI_BENCH_SECONDS per run, 5 by default). The file phase runs
# OSI_BENCH_ROUNDS rounds (3 by default), each a ceiling then the API at
# every connection count, and reports the median round: single runs on a
# shared 2-core machine spread by about 15 %. OSI_BENCH_PHASES
# picks the phases to run, out of "file s3 orig" (the default: all): file
# (the file store and the CivetWeb ceilings), s3 (the S3 store and s3rver
# direct), orig (the original API); targets of a phase not run are n/a.

set -u -o pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
build_dir=${1:-./build}
api="$build_dir/src/server/osinspect-api"
agent="$build_dir/src/cli/osinspect-agent"
s3rver_launch="$repo/tests/integration/s3rver_launch.js"
s3rver_pkg="$repo/tests/integration/node_modules/s3rver/package.json"
original="$repo/bench/baseline/original_api.py"

seconds=${OSI_BENCH_SECONDS:-5}   # each measured run
rounds=${OSI_BENCH_ROUNDS:-3}      # of the file phase, interleaved
round=1                            # the round being run
warmup=2                           # seconds, before each series
conns_list="1 8 32 128"
pool=500           # addresses per wrk thread: 1000 hosts in all
threads=64         # the API's default --threads; the ceilings get the same
wrk_timeout=10s    # the original's GET /report takes a while
bucket=os-inspector-data
access_key=S3RVER  # s3rver's only account (tests/integration/s3rver.py)
secret_key=S3RVER
direct_signed=30000  # signed PUTs ready for the direct measurement

# Targets of issue 3 ("Speed").
target_ceiling_pct=80
target_durable_pct=50
target_s3_pct=80
target_get_x=20
target_p99_ms=20
target_rss_kib=65536

die() {
	printf 'api.sh: %s\n' "$*" >&2
	exit 1
}

note() {
	printf 'api.sh: %s\n' "$*" >&2
}

case "$seconds" in '' | *[!0-9]* | 0) die "OSI_BENCH_SECONDS must be a whole number of seconds > 0" ;; esac
case "$rounds" in '' | *[!0-9]* | 0) die "OSI_BENCH_ROUNDS must be a whole number > 0" ;; esac
phases=${OSI_BENCH_PHASES:-file s3 orig}
for p in $phases; do
	case "$p" in file | s3 | orig) ;; *) die "OSI_BENCH_PHASES: unknown phase \"$p\" (file s3 orig)" ;; esac
done
# phase_on NAME: whether OSI_BENCH_PHASES selects that phase.
phase_on() {
	case " $phases " in *" $1 "*) return 0 ;; esac
	return 1
}
[ -x "$api" ] || die "no $api: build it first (ninja -C $build_dir)"
[ -x "$agent" ] || die "no $agent: build it first (ninja -C $build_dir)"
command -v wrk >/dev/null || die "wrk missing (apt-get install wrk)"
command -v cc >/dev/null || die "cc missing"
command -v python3 >/dev/null || die "python3 missing"
[ -r /usr/include/civetweb.h ] || die "CivetWeb headers missing (apt-get install libcivetweb-dev)"
node=$(command -v node || command -v nodejs) || die "node missing (apt-get install nodejs npm)"
[ -r "$s3rver_pkg" ] || die "s3rver missing: npm ci --prefix tests/integration"

# Nothing may go through a proxy: libcurl (in libs3) and boto3 honour these.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
# Credentials of s3rver for every S3 client here, and no user profile.
export AWS_ACCESS_KEY_ID=$access_key AWS_SECRET_ACCESS_KEY=$secret_key
export AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

# The baseline runs under Debian's python3 with Debian's Flask and boto3
# (the python3 on PATH may be another one).
baseline_py=""
baseline_note=""
for py in /usr/bin/python3 python3; do
	if "$py" -c 'import flask, boto3' 2>/dev/null; then
		baseline_py=$py
		break
	fi
done
if ! phase_on orig; then
	baseline_note="not run: not in OSI_BENCH_PHASES"
elif [ -z "$baseline_py" ]; then
	missing=""
	/usr/bin/python3 -c 'import flask' 2>/dev/null || missing="python3-flask"
	/usr/bin/python3 -c 'import boto3' 2>/dev/null || missing="$missing python3-boto3"
	baseline_note="not run: missing${missing:+ $missing} (apt-get install -y --no-install-recommends python3-flask python3-boto3)"
	note "baseline $baseline_note"
fi

# The file store's directory: a temp dir on the repository's disk.
work=$(mktemp -d "${TMPDIR:-/tmp}/osinspect-bench-api.XXXXXX") || die "mktemp failed"
if [ "$(stat -c %d "$work")" != "$(stat -c %d "$repo")" ]; then
	rmdir "$work"
	work=$(mktemp -d "$repo/.bench-api.XXXXXX") || die "mktemp failed"
fi

# The servers started and not yet stopped (and reaped: a PID is forgotten
# once stopped, so that no later signal can reach a process that reused it).
pids=()
# Stop one server by its PID: SIGTERM, up to 5 s, then SIGKILL.
stop_pid() {
	local pid=$1 i kept=()
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	for i in "${pids[@]}"; do
		[ "$i" = "$pid" ] || kept+=("$i")
	done
	pids=("${kept[@]}")
	return 0
}
# The phases' stores are deleted here only, after the last run: ext4
# without a journal skips inodes freed less than 60 s ago (360 s while
# their table block is dirty) when it allocates one, reading each
# candidate, so deleting tens of thousands of files between phases made
# every new file of the next phase (each report, each s3rver object) pay
# for minutes. For the same reason, leave 6 minutes between two runs.
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		stop_pid "$pid"
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port that was free a moment ago, for the servers that cannot pick one.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The status of GET PATH on 127.0.0.1:PORT, or nothing.
http_status() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout 5 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3
		read -r _ code _ <&3 && printf "%s\n" "$code"' _ "$1" "$2" 2>/dev/null
}

# Wait until GET PATH answers 200 (PID alive), up to 30 s.
wait_http() {
	local port=$1 path=$2 pid=$3 i
	for i in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || return 1
		[ "$(http_status "$port" "$path")" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}

# Start osinspect-api on 127.0.0.1 (port picked by the system), store $1,
# log $2; sets api_pid and api_port.
start_api() {
	local i
	api_port=""
	"$api" --listen 127.0.0.1:0 --threads "$threads" --store "$1" 2>"$2" &
	api_pid=$!
	pids+=("$api_pid")
	for i in $(seq 100); do
		api_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$2")
		[ -n "$api_port" ] && break
		kill -0 "$api_pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$api_port" ] && wait_http "$api_port" /health "$api_pid" && return 0
	note "osinspect-api did not start: $(head -n 3 "$2" | tr '\n' ' ')"
	return 1
}

# Start the ceiling server in mode $1 (log $2, durable directory $3); sets
# ceiling_pid and ceiling_port.
start_ceiling() {
	local i
	ceiling_port=""
	"$work/ceiling" "$1" "$threads" ${3:+"$3"} >"$2" 2>&1 &
	ceiling_pid=$!
	pids+=("$ceiling_pid")
	for i in $(seq 100); do
		ceiling_port=$(sed -n 's/^port \([0-9][0-9]*\)$/\1/p' "$2")
		[ -n "$ceiling_port" ] && return 0
		kill -0 "$ceiling_pid" 2>/dev/null || break
		sleep 0.05
	done
	note "the $1 ceiling did not start: $(head -n 3 "$2" | tr '\n' ' ')"
	return 1
}

# Start a fresh s3rver (signature checks on, bucket $bucket) in directory
# $1; sets s3_pid, s3_port and exports AWS_ENDPOINT_URL.
start_s3rver() {
	s3_port=$(free_port)
	"$node" "$s3rver_launch" --directory "$1/data" --address 127.0.0.1 \
		--port "$s3_port" --silent --configure-bucket "$bucket" \
		</dev/null >"$1/s3rver.log" 2>&1 &
	s3_pid=$!
	pids+=("$s3_pid")
	export AWS_ENDPOINT_URL="http://127.0.0.1:$s3_port"
	wait_http "$s3_port" / "$s3_pid" && return 0
	note "s3rver did not start: $(head -n 3 "$1/s3rver.log" | tr '\n' ' ')"
	return 1
}

# ---- measuring -------------------------------------------------------------

# The series, in the order of the table: KEY, its store, its request.
series=(
	"min-get|ceiling: minimal CivetWeb handler|GET (any path)"
	"min-query|ceiling: minimal CivetWeb handler, driven as GET /report|GET /report?ip= (get.lua)"
	"min-report|ceiling: minimal handler, answer of GET /report's size|GET (any path)"
	"min-post|ceiling: minimal CivetWeb handler|POST (body read, dropped)"
	"dur-post|ceiling: one durable file per request|POST (body to a file)"
	"file-post|file (osinspect-api)|POST /report"
	"file-get|file (osinspect-api)|GET /report"
	"file-health|file (osinspect-api)|GET /health"
	"s3d-put|s3rver direct (signed V2)|PUT object"
	"s3d-get|s3rver direct (signed V2)|GET object"
	"s3-post|s3 (osinspect-api on s3rver)|POST /report"
	"s3-get|s3 (osinspect-api on s3rver)|GET /report"
	"s3-health|s3 (osinspect-api on s3rver)|GET /health"
	"orig-post|original API, reconstruction (Flask dev server, boto3) on s3rver|POST /report"
	"orig-get|original API, reconstruction (Flask dev server, boto3) on s3rver|GET /report"
)
declare -A rps p50 p99 non2xx sockerr total rounds_rps
phase_notes=()

# Milliseconds from a wrk latency such as 785.00us, 1.23ms, 2.00s.
to_ms() {
	awk -v v="$1" 'BEGIN {
		if (v == "") { print "n/a"; exit }
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000
		else if (u == "m") n *= 60000; else if (u == "h") n *= 3600000
		printf "%.2f", n }'
}

# run_wrk KEY CONNS URL [-s SCRIPT -- ARGS]: one measured run, recorded
# under KEY|CONNS (the round's req/s also in rounds_rps, the run's
# results under KEY|CONNS|ROUND for median_rounds); it lasts $run_seconds
# when set, else $seconds.
run_wrk() {
	local key=$1 c=$2 url=$3 t=2 out secs=${run_seconds:-$seconds}
	shift 3
	[ "$c" -lt 2 ] && t=1 # wrk needs a connection per thread
	out="$work/wrk-$key-$c-$round.txt"
	note "$key, $c connections, round $round: ${secs}s"
	wrk -t"$t" -c"$c" -d"$secs" --timeout "$wrk_timeout" --latency "$url" "$@" >"$out" 2>&1
	# Whole numbers, but a tenth for the few per second of the original.
	rps[$key|$c]=$(awk '/^Requests\/sec:/ { printf ($2 < 100 ? "%.1f" : "%.0f"), $2 }' "$out")
	total[$key|$c]=$(awk '/requests in/ { print $1 }' "$out")
	non2xx[$key|$c]=$(awk '/Non-2xx or 3xx responses:/ { n = $NF } END { print n + 0 }' "$out")
	sockerr[$key|$c]=$(awk '/Socket errors:/ { gsub(/,/, ""); n = $4 + $6 + $8 + $10 } END { print n + 0 }' "$out")
	if [ -z "${rps[$key|$c]}" ]; then
		note "wrk failed: $(tail -n 3 "$out" | tr '\n' ' ')"
		rps[$key|$c]=0
		total[$key|$c]=0
	fi
	if [ "${total[$key|$c]}" -gt 0 ]; then
		p50[$key|$c]=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
		p99[$key|$c]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
	else
		p50[$key|$c]="n/a"
		p99[$key|$c]="n/a"
	fi
	rounds_rps[$key|$c]="${rounds_rps[$key|$c]:+${rounds_rps[$key|$c]} / }${rps[$key|$c]}"
	rps[$key|$c|$round]=${rps[$key|$c]} total[$key|$c|$round]=${total[$key|$c]}
	p50[$key|$c|$round]=${p50[$key|$c]} p99[$key|$c|$round]=${p99[$key|$c]}
	non2xx[$key|$c|$round]=${non2xx[$key|$c]} sockerr[$key|$c|$round]=${sockerr[$key|$c]}
}

# median_rounds: for every KEY|CONNS run in several rounds, the results of
# its median round by req/s (the lower middle of an even count), with the
# non-2xx answers and socket errors of all its rounds added up.
median_rounds() {
	local kc r n m bad errs
	for kc in "${!rounds_rps[@]}"; do
		n=$(tr -cd '/' <<<"${rounds_rps[$kc]}" | wc -c)
		[ "$n" -gt 0 ] || continue
		m=$(for r in $(seq "$rounds"); do
			[ -n "${rps[$kc|$r]:-}" ] && echo "${rps[$kc|$r]} $r"
		done | sort -g | awk -v n="$((n + 1))" 'NR == int((n + 1) / 2) { print $2 }')
		bad=0 errs=0
		for r in $(seq "$rounds"); do
			bad=$((bad + ${non2xx[$kc|$r]:-0}))
			errs=$((errs + ${sockerr[$kc|$r]:-0}))
		done
		rps[$kc]=${rps[$kc|$m]} total[$kc]=${total[$kc|$m]}
		p50[$kc]=${p50[$kc|$m]} p99[$kc]=${p99[$kc|$m]}
		non2xx[$kc]=$bad sockerr[$kc]=$errs
	done
}

# warm URL [-s SCRIPT -- ARGS]: an unrecorded run at 8 connections.
warm() {
	wrk -t2 -c8 -d"$warmup" --timeout "$wrk_timeout" "$@" >/dev/null 2>&1
}

load_now() {
	cut -d' ' -f1-3 /proc/loadavg
}

# VmHWM (peak RSS) of a process, in KiB.
peak_rss_kib() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# ---- preparation -------------------------------------------------------------

load_start=$(load_now)
note "load average at start: $load_start"
buildtype=$(python3 -c 'import json, sys; print(next(o["value"] for o in json.load(open(sys.argv[1])) if o["name"] == "buildtype"))' \
	"$build_dir/meson-info/intro-buildoptions.json" 2>/dev/null || echo unknown)
[ "$buildtype" = release ] || note "build type of $build_dir is $buildtype, not release"

cc -O2 -o "$work/ceiling" "$here/api/ceiling.c" -lcivetweb -lpthread ||
	die "cannot build bench/api/ceiling.c (apt-get install libcivetweb-dev)"

# A realistic report: this machine's, with holes where each request puts
# its own server_ip, report_id and collected_at (post.lua).
"$agent" --print --compact >"$work/report.json" 2>/dev/null ||
	die "$agent --print failed"
sed -E 's/"server_ip":"[^"]*"/"server_ip":"@IP@"/; s/"report_id":"[^"]*"/"report_id":"@ID@"/; s/"collected_at":"[^"]*"/"collected_at":"@AT@"/' \
	"$work/report.json" >"$work/template.json"
for hole in @IP@ @ID@ @AT@; do
	grep -q "$hole" "$work/template.json" || die "the agent's report has no field for $hole"
done
report_bytes=$(wc -c <"$work/template.json")
# The body of a direct PUT and of the "report" ceiling's answer: a report
# as the API stores it (a little larger: the server adds its "received"
# stamp).
sed 's/@IP@/10.1.0.1/; s/@ID@/00000000-0000-4000-8000-000000000000/; s/@AT@/2026-01-01T00:00:00.000Z/' \
	"$work/template.json" >"$work/put-body.json"

get_args=(-s "$here/api/get.lua" -- "$pool")
run_no=0
post=()
# post.lua's arguments for the next run (a new run number each time, so
# that no report_id repeats).
post_run() {
	run_no=$((run_no + 1))
	post=(-s "$here/api/post.lua" -- "$work/template.json" "$pool" "$run_no")
}

# seed PORT CONNECTIONS: one report for each address that GET asks for.
seed() {
	local msg
	msg=$(python3 "$here/api/seed.py" "$1" "$work/template.json" "$pool" 2 "$2" 2>&1)
	note "$msg"
	printf '%s\n' "$msg"
}

# ---- file store, against the ceilings -------------------------------------------
#
# The machine may be busy with other work, and its disk shared: each run of
# the API comes right after the run of its ceiling at the same number of
# connections, so that both see the same conditions.

rss_file=""
rss_s3=""
if phase_on file; then
	mkdir -p "$work/store" "$work/durable"
	phase_notes+=("file store and ceilings: load average before $(load_now)")
	# The three ceilings, then the API: any that does not start is noted and
	# leaves its rows out.
	min_url="" rep_url="" dur_url="" file_url=""
	if start_ceiling minimal "$work/ceiling-minimal.log"; then
		min_url="http://127.0.0.1:$ceiling_port"
	fi
	if start_ceiling report "$work/ceiling-report.log" "$work/put-body.json"; then
		rep_url="http://127.0.0.1:$ceiling_port"
	fi
	if start_ceiling durable "$work/ceiling-durable.log" "$work/durable"; then
		dur_url="http://127.0.0.1:$ceiling_port"
	fi
	if start_api "file://$work/store" "$work/api-file.log"; then
		file_url="http://127.0.0.1:$api_port"
		phase_notes+=("file store: $(seed "$api_port" 8)")
	fi
	# run_if URL KEY CONNS [PATH] [-s SCRIPT -- ARGS]: run_wrk when URL is set.
	run_if() {
		local url=$1 key=$2 c=$3 path=""
		shift 3
		[ -n "$url" ] || return 0
		case "${1:-}" in /*) path=$1 && shift ;; esac
		run_wrk "$key" "$c" "$url$path" "$@"
	}
	for u in "$min_url/health" "$file_url/health"; do
		[ "$u" = /health ] || warm "$u"
	done
	for u in "$rep_url" "$file_url"; do
		[ -z "$u" ] || warm "$u" "${get_args[@]}"
	done
	for round in $(seq "$rounds"); do
		for c in $conns_list; do
			run_if "$min_url" min-get "$c" /health
			run_if "$file_url" file-health "$c" /health
			run_if "$min_url" min-query "$c" "${get_args[@]}"
			run_if "$rep_url" min-report "$c" "${get_args[@]}"
			run_if "$file_url" file-get "$c" "${get_args[@]}"
		done
	done
	round=1
	for u in "$min_url" "$dur_url" "$file_url"; do
		post_run
		[ -z "$u" ] || warm "$u" "${post[@]}"
	done
	for round in $(seq "$rounds"); do
		for c in $conns_list; do
			post_run
			run_if "$dur_url" dur-post "$c" "${post[@]}"
			post_run
			run_if "$file_url" file-post "$c" "${post[@]}"
			post_run
			run_if "$min_url" min-post "$c" "${post[@]}"
		done
	done
	round=1
	if [ -n "$file_url" ]; then
		rss_file=$(peak_rss_kib "$api_pid")
	fi
	# Every server of this phase.
	for pid in "${pids[@]}"; do
		stop_pid "$pid"
	done
fi

# ---- S3 store, against s3rver driven directly -------------------------------------
#
# Two fresh s3rver processes: one under the API, one driven directly with
# signed PUTs (s3sign.py: each a new key of the report layout) and GETs of
# keys stored by the first PUT run (the warm-up, one connection: its keys
# are consecutive lines of the file; wrk calls request() once before the
# run and drops it, so the first line is never sent).

if phase_on s3; then
	mkdir -p "$work/s3-api" "$work/s3-direct"
	phase_notes+=("S3 store and s3rver direct: load average before $(load_now)")
	if start_s3rver "$work/s3-direct"; then
		direct_url="http://127.0.0.1:$s3_port"
		direct_pid=$s3_pid
		if start_s3rver "$work/s3-api" && start_api "s3://$bucket" "$work/api-s3.log"; then
			s3_url="http://127.0.0.1:$api_port"
			phase_notes+=("S3 store: $(seed "$api_port" 32)")
			python3 "$here/api/s3sign.py" PUT "$bucket" "$direct_signed" "$work/put.sig"
			python3 "$here/api/s3sign.py" GET "$bucket" "$direct_signed" "$work/get.sig"
			wrk -t1 -c1 -d"$warmup" --timeout "$wrk_timeout" "$direct_url" \
				-s "$here/api/s3direct.lua" -- PUT "$work/put.sig" 1 0 "$direct_signed" "$work/put-body.json" \
				>"$work/wrk-direct-warm.txt" 2>&1
			stored=$(awk '/requests in/ { print $1 - 1 }' "$work/wrk-direct-warm.txt")
			next_key=$((${stored:-0} + 2))
			post_run
			warm "$s3_url" "${post[@]}"
			for c in $conns_list; do
				t=2
				[ "$c" -lt 2 ] && t=1
				[ $((next_key + 20000)) -lt "$direct_signed" ] || next_key=$((${stored:-0} + 2))
				run_wrk s3d-put "$c" "$direct_url" \
					-s "$here/api/s3direct.lua" -- PUT "$work/put.sig" "$t" "$next_key" \
					$((direct_signed - next_key)) "$work/put-body.json"
				next_key=$((next_key + ${total[s3d-put|$c]:-0} + 2))
				post_run
				run_wrk s3-post "$c" "$s3_url" "${post[@]}"
			done
			warm "$s3_url" "${get_args[@]}"
			for c in $conns_list; do
				t=2
				[ "$c" -lt 2 ] && t=1
				if [ "${stored:-0}" -gt 0 ]; then
					run_wrk s3d-get "$c" "$direct_url" \
						-s "$here/api/s3direct.lua" -- GET "$work/get.sig" "$t" 1 "$stored"
				fi
				run_wrk s3-get "$c" "$s3_url" "${get_args[@]}"
				run_wrk s3-health "$c" "$s3_url/health"
			done
			rss_s3=$(peak_rss_kib "$api_pid")
			stop_pid "$api_pid"
		fi
		[ -n "${s3_pid:-}" ] && [ "$s3_pid" != "$direct_pid" ] && stop_pid "$s3_pid"
		stop_pid "$direct_pid"
	fi
fi

# ---- the original API (reconstruction) on s3rver -----------------------------

mkdir -p "$work/s3-orig"
if phase_on orig && [ -n "$baseline_py" ]; then
	phase_notes+=("original (reconstruction): load average before $(load_now)")
	if start_s3rver "$work/s3-orig"; then
		orig_port=$(free_port)
		"$baseline_py" "$original" --host 127.0.0.1 --port "$orig_port" \
			</dev/null >"$work/original.log" 2>&1 &
		orig_pid=$!
		pids+=("$orig_pid")
		if wait_http "$orig_port" /health "$orig_pid"; then
			orig_url="http://127.0.0.1:$orig_port"
			phase_notes+=("original (reconstruction): $(seed "$orig_port" 8)")
			post_run
			run_wrk orig-post 8 "$orig_url" "${post[@]}"
			# Each of its GETs lists the bucket (1000 keys): a few per
			# second, so a longer run gets enough of them.
			run_seconds=$((seconds < 20 ? 20 : seconds))
			run_wrk orig-get 8 "$orig_url" "${get_args[@]}"
			unset run_seconds
		else
			baseline_note="did not start: $(tail -n 3 "$work/original.log" | tr '\n' ' ')"
			note "the original (reconstruction) $baseline_note"
		fi
		stop_pid "$orig_pid"
		stop_pid "$s3_pid"
	fi
fi
load_end=$(load_now)

# ---- report ----------------------------------------------------------------------

# pct A B: A as a percentage of B ("n/a" when either is missing or B is 0).
pct() {
	awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {
		if (a == "" || b == "" || b + 0 == 0) print "n/a"
		else printf "%.0f", 100 * a / b }'
}

# verdict VALUE OP LIMIT: met / not met / n/a.
verdict() {
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		if (v == "n/a" || v == "") { print "n/a"; exit }
		ok = (op == ">=") ? (v + 0 >= l + 0) : (v + 0 < l + 0)
		print ok ? "met" : "not met" }'
}

# The largest req/s of KEY over the connection counts.
peak() {
	local c
	for c in $conns_list; do
		printf '%s\n' "${rps[$1|$c]:-}"
	done | awk 'NF && (best == "" || $1 + 0 > best + 0) { best = $1 } END { print best }'
}

# twice N, or nothing when N is empty.
twice() {
	awk -v n="${1:-}" 'BEGIN { if (n != "") printf "%.0f\n", 2 * n }'
}

api_version=$("$api" --version 2>/dev/null | head -n 1)
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
os_name=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release 2>/dev/null)
fs_type=$(findmnt -no FSTYPE -T "$work" 2>/dev/null || stat -f -c %T "$work")
wrk_version=$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')
s3rver_version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$s3rver_pkg")
py_versions="n/a"
if [ -n "$baseline_py" ]; then
	py_versions=$("$baseline_py" -c 'import sys, flask, boto3, importlib.metadata as m; print("Python %s, Flask %s, boto3 %s" % (sys.version.split()[0], m.version("flask"), boto3.__version__))')
fi

printf '%s; %s (%s build); nproc %s, %s, kernel %s, %s; store on %s (%s)\n' \
	"$(date +%F)" "$api_version" "$buildtype" "$(nproc)" "$cpu_model" "$(uname -r)" "$os_name" \
	"${work%/*}" "$fs_type"
printf 'wrk %s (-t2, -t1 at 1 connection; %ss per run after a %ss warm-up; --timeout %s; file store and ceilings: the median of %s interleaved rounds); s3rver %s on node %s; baseline: %s\n' \
	"$wrk_version" "$seconds" "$warmup" "$wrk_timeout" "$rounds" "$s3rver_version" "$("$node" --version)" "$py_versions"
printf 'report body: %s bytes (osinspect-agent --print --compact of this machine), server_ip over %s addresses, a new report_id per request; %s worker threads in the API and the ceilings\n' \
	"$report_bytes" "$((2 * pool))" "$threads"
printf 'load average: %s at start, %s at end\n\n' "$load_start" "$load_end"

median_rounds
printf '| store | request | connections | req/s | p50 ms | p99 ms | non-2xx | socket errors | req/s of each round |\n'
printf '|---|---|---:|---:|---:|---:|---:|---:|---|\n'
for entry in "${series[@]}"; do
	IFS='|' read -r key store request <<<"$entry"
	for c in $conns_list; do
		[ -n "${rps[$key|$c]:-}" ] || continue
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$store" "$request" "$c" \
			"${rps[$key|$c]}" "${p50[$key|$c]}" "${p99[$key|$c]}" "${non2xx[$key|$c]}" "${sockerr[$key|$c]}" \
			"${rounds_rps[$key|$c]}"
	done
done
[ -n "$baseline_note" ] && printf '| original API, reconstruction | POST /report, GET /report | 8 | %s | | | | | |\n' "$baseline_note"

printf '\ntargets:\n'
for c in $conns_list; do
	r=$(pct "${rps[file-health|$c]:-}" "${rps[min-get|$c]:-}")
	printf -- '- GET /health, file store, %s connections: %s %% of the minimal handler (target >= %s %%): %s\n' \
		"$c" "$r" "$target_ceiling_pct" "$(verdict "$r" ">=" "$target_ceiling_pct")"
done
# GET /report's ceiling is the minimal handler driven by the same wrk
# script: the script's own cost (a Lua call and a formatted request line
# per request) takes 10 to 25 % of the minimal handler's rate on the two
# cores wrk shares with the server, and is not the server's.
for c in $conns_list; do
	r=$(pct "${rps[file-get|$c]:-}" "${rps[min-query|$c]:-}")
	printf -- '- GET /report, file store, %s connections: %s %% of the minimal handler driven by the same requests (target >= %s %%): %s\n' \
		"$c" "$r" "$target_ceiling_pct" "$(verdict "$r" ">=" "$target_ceiling_pct")"
done
for c in $conns_list; do
	r=$(pct "${rps[file-get|$c]:-}" "${rps[min-get|$c]:-}")
	r2=$(pct "${rps[file-get|$c]:-}" "${rps[min-report|$c]:-}")
	printf '  - (no target) GET /report, file store, %s connections: %s %% of the minimal handler driven without the script (GET /health), %s %% of it answering a body of the same size\n' "$c" "$r" "$r2"
done
for c in $conns_list; do
	r=$(pct "${rps[file-post|$c]:-}" "${rps[dur-post|$c]:-}")
	printf -- '- POST /report, file store, %s connections: %s %% of the durable-file handler (target >= %s %%): %s\n' \
		"$c" "$r" "$target_durable_pct" "$(verdict "$r" ">=" "$target_durable_pct")"
done
# A report is two PUTs (the report, then latest/<ip>.json): s3rver is kept
# busy at 2 x reports/s PUTs, and half its direct PUT rate is the most
# reports/s that any API could store there. PUTs/s is compared, as the
# target is about s3rver's use; the HEADs the S3 store adds per report are
# not counted as work done.
s3_peak=$(peak s3-post)
api_put=$(twice "$s3_peak")
direct_peak=$(peak s3d-put)
r=$(pct "$api_put" "$direct_peak")
printf -- '- S3 store: peak PUTs/s kept up by the API (2 x %s reports/s = %s) vs s3rver direct peak %s PUTs/s: %s %% (target >= %s %%): %s\n' \
	"${s3_peak:-n/a}" "${api_put:-n/a}" "${direct_peak:-n/a}" "$r" "$target_s3_pct" "$(verdict "$r" ">=" "$target_s3_pct")"
for c in 8 32 128; do
	r=$(pct "$(twice "${rps[s3-post|$c]:-}")" "${rps[s3d-put|$c]:-}")
	printf '  - at %s connections: 2 x %s vs %s PUTs/s: %s %%\n' "$c" "${rps[s3-post|$c]:-n/a}" "${rps[s3d-put|$c]:-n/a}" "$r"
done
x="n/a"
if [ -n "${rps[orig-get|8]:-}" ] && [ -n "${rps[s3-get|8]:-}" ]; then
	x=$(awk -v a="${rps[s3-get|8]}" -v b="${rps[orig-get|8]}" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.1f", a / b }')
fi
printf -- '- GET /report, S3 store vs the original (reconstruction), 8 connections: %s / %s req/s = %sx (target >= %sx): %s\n' \
	"${rps[s3-get|8]:-n/a}" "${rps[orig-get|8]:-n/a}" "$x" "$target_get_x" "$(verdict "$x" ">=" "$target_get_x")"
if [ -n "${rps[orig-post|8]:-}" ] && [ -n "${rps[s3-post|8]:-}" ]; then
	printf '  - (no target) POST /report, S3 store vs the original, 8 connections: %s / %s req/s\n' \
		"${rps[s3-post|8]}" "${rps[orig-post|8]}"
fi
for req in post get health; do
	v=${p99[file-$req|32]:-n/a}
	printf -- '- p99 at 32 connections, file store, %s: %s ms (target < %s ms): %s\n' \
		"$req" "$v" "$target_p99_ms" "$(verdict "$v" "<" "$target_p99_ms")"
done
bad=0
runs=0
for k in "${!rps[@]}"; do
	case "$k" in file-* | s3-*)
		runs=$((runs + 1))
		bad=$((bad + ${non2xx[$k]:-0} + ${sockerr[$k]:-0}))
		;;
	esac
done
printf -- '- non-2xx answers and socket errors of osinspect-api, %s runs: %s (target 0): %s\n' \
	"$runs" "$bad" "$([ "$runs" -gt 0 ] && { [ "$bad" -eq 0 ] && echo met || echo "not met"; } || echo n/a)"
for s in file s3; do
	v=$([ "$s" = file ] && echo "$rss_file" || echo "$rss_s3")
	printf -- '- peak RSS (VmHWM) of osinspect-api, %s store, after the 128-connection runs: %s KiB (target < %s KiB): %s\n' \
		"$s" "${v:-n/a}" "$target_rss_kib" "$(verdict "${v:-n/a}" "<" "$target_rss_kib")"
done

printf '\nnotes:\n'
printf -- '- %s\n' "${phase_notes[@]}"
exit 0
