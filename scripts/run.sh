#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what is missing, build, and run the main job: collect this
# machine's report and print it.
set -eu
cd "$(dirname "$0")/.."

scripts/deps.sh build
if [ ! -d build ]; then meson setup build >/dev/null; fi
ninja -C build >/dev/null
exec build/src/cli/osinspect-agent --print "$@"
