#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two osinspect-api processes on one file store, POSTed to at once over the
# same 1000 hosts: each moves latest pointers the other one knows. Prints
# req/s of both together and the CPU time of both processes per POST, for
# each build dir given, ROUNDS times interleaved (default 2).
#
# usage: bench/api-two.sh BUILD_DIR...   (release builds for numbers that count)
#
# Needs wrk and python3. Talks to 127.0.0.1 only; stops the servers it
# starts by their PIDs. Bounded: about 10 s per build and round.
set -u -o pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
[ $# -gt 0 ] || { echo "usage: bench/api-two.sh BUILD_DIR..." >&2; exit 2; }
tck=$(getconf CLK_TCK)
work=$(mktemp -d "${TMPDIR:-/tmp}/osi-api-two.XXXXXX")
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT

cpu_us() { awk -v t="$tck" '{ print ($14 + $15) * 1000000 / t }' "/proc/$1/stat"; }
port_of() { sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1"; }

for round in $(seq "${ROUNDS:-2}"); do
	for b in "$@"; do
		d="$work/$round-$(basename "$b")"
		mkdir -p "$d"
		"$b/src/cli/osinspect-agent" --print --compact >"$d/r.json"
		sed -E 's/"server_ip":"[^"]*"/"server_ip":"@IP@"/; s/"report_id":"[^"]*"/"report_id":"@ID@"/; s/"collected_at":"[^"]*"/"collected_at":"@AT@"/' \
			"$d/r.json" >"$d/t.json"
		api=()
		for k in 1 2; do
			"$b/src/server/osinspect-api" --listen 127.0.0.1:0 --threads 64 \
				--store "file://$d/store" 2>"$d/api$k.log" &
			api+=($!)
			pids+=($!)
		done
		for _ in $(seq 50); do
			[ -n "$(port_of "$d/api1.log")" ] && [ -n "$(port_of "$d/api2.log")" ] && break
			sleep 0.1
		done
		p1=$(port_of "$d/api1.log")
		p2=$(port_of "$d/api2.log")
		python3 "$here/api/seed.py" "$p1" "$d/t.json" 500 2 8 >/dev/null 2>&1
		before=$(($(cpu_us "${api[0]}" | cut -d. -f1) + $(cpu_us "${api[1]}" | cut -d. -f1)))
		wrk -t1 -c16 -d4s -s "$here/api/post.lua" "http://127.0.0.1:$p1" -- "$d/t.json" 500 11 >"$d/o1.txt" 2>&1 &
		w=$!
		wrk -t1 -c16 -d4s -s "$here/api/post.lua" "http://127.0.0.1:$p2" -- "$d/t.json" 500 12 >"$d/o2.txt" 2>&1
		wait "$w"
		after=$(($(cpu_us "${api[0]}" | cut -d. -f1) + $(cpu_us "${api[1]}" | cut -d. -f1)))
		kill "${api[@]}"
		wait "${api[@]}" 2>/dev/null
		cat "$d/o1.txt" "$d/o2.txt" | awk -v b="$b" -v r="$round" -v cpu=$((after - before)) '
			/requests in/ { n += $1 }
			/^Requests\/sec/ { rps += $2 }
			/Non-2xx/ { bad += $NF }
			END { printf "round %s, %s: %.0f req/s, %.1f us CPU per POST, %d non-2xx\n", r, b, rps, cpu / n, bad }'
	done
done
