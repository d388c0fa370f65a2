#!/bin/sh
# SPDX-License-Identifier: MIT
# systemd-analyze verify on the shipped units, pointed at this build's
# programs: test_units.sh UNIT_DIR AGENT API
set -u
units=$1
agent=$(realpath "$2")
api=$(realpath "$3")
command -v systemd-analyze >/dev/null || { echo "no systemd-analyze: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin"
ln -s "$agent" "$tmp/bin/osinspect-agent"
ln -s "$api" "$tmp/bin/osinspect-api"
for u in osinspect-agent.service osinspect-api.service; do
    sed "s|@bindir@|$tmp/bin|" "$units/$u.in" >"$tmp/$u"
done
cp "$units/osinspect-agent.timer" "$tmp/"
cd "$tmp" || exit 1
out=$(systemd-analyze verify --man=no osinspect-agent.service \
    osinspect-api.service osinspect-agent.timer 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
    echo "FAIL: systemd-analyze verify (exit $rc):" >&2
    echo "$out" >&2
    exit 1
fi
