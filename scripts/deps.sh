#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages osinspect needs that are not installed yet.
# Usage: scripts/deps.sh build|test
set -eu

# libcurl and libs3 are loaded with dlopen when first used (sending, the S3
# store): their headers are needed to build, libcurl4 and libs3-2 to run.
# CivetWeb and zlib are linked by osinspect-api. curl reads a report back
# in scripts/run.sh.
build="meson ninja-build pkg-config gcc libc6-dev libjansson-dev
  libcurl4-openssl-dev libcurl4 libs3-dev libs3-2 libcivetweb-dev zlib1g-dev
  curl"
# s3rver (tests/integration/package.json) runs on node; npm installs it.
test="$build libcmocka-dev g++ binutils python3 valgrind strace util-linux"

case ${1:-build} in
build) want=$build ;;
test) want=$test ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
        missing="$missing $p"
done
# node may come from another packaging of Node.js that bundles npm (and
# conflicts with Debian's npm package): what counts is the commands.
if [ "${1:-build}" = test ]; then
    command -v node >/dev/null || missing="$missing nodejs"
    command -v npm >/dev/null || missing="$missing npm"
fi
[ -z "$missing" ] && exit 0

echo "installing:$missing" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >&2
# shellcheck disable=SC2086 # the list is meant to split
$sudo apt-get install -y -q --no-install-recommends $missing >&2
