#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what is missing, build, and run the main job on the embedded
# default: osinspect-api on the local file store (./osinspect-data),
# osinspect-agent reporting this machine to it once, and the stored report
# read back with GET /report?ip=<this host>. The API is stopped at the end.
set -eu
cd "$(dirname "$0")/.."

scripts/deps.sh build
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

log=$(mktemp)
build/src/server/osinspect-api --listen 127.0.0.1:0 2>"$log" &
api=$!
trap 'kill "$api" 2>/dev/null; wait "$api" 2>/dev/null; rm -f "$log"' EXIT INT TERM

port=""
for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
    [ -n "$port" ] && break
    kill -0 "$api" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$port" ] || { echo "error: osinspect-api did not start" >&2; cat "$log" >&2; exit 1; }
sed 's/^/  /' "$log"

echo "osinspect-agent -> http://127.0.0.1:$port/report:"
OSI_API_URL="http://127.0.0.1:$port/report" build/src/cli/osinspect-agent

ip=$(build/src/cli/osinspect-agent --print --compact |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["server_ip"])')
echo "GET /report?ip=$ip:"
curl -fsS "http://127.0.0.1:$port/report?ip=$ip" | python3 -m json.tool
