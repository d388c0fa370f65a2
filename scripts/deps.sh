#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages osinspect needs that are not installed yet.
# Usage: scripts/deps.sh build|test
set -eu

build="meson ninja-build pkg-config gcc libc6-dev libjansson-dev"
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
[ -z "$missing" ] && exit 0

echo "installing:$missing" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >&2
# shellcheck disable=SC2086 # the list is meant to split
$sudo apt-get install -y -q --no-install-recommends $missing >&2
