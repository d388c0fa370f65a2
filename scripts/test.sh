#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what is missing, build, and run the whole test suite: a build with
# -Werror, the same suite under AddressSanitizer + UndefinedBehaviorSanitizer,
# the unit and API suites under valgrind, and the tests that share a store
# or a server between threads under ThreadSanitizer.
set -eu
cd "$(dirname "$0")/.."

scripts/deps.sh test

summary() {
    python3 - "$@" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0, "TIMEOUT": 0, "ERROR": 0,
          "EXPECTEDFAIL": 0, "UNEXPECTEDPASS": 0}
for log in sys.argv[1:]:
    try:
        for line in open(log):
            counts[json.loads(line)["result"]] += 1
    except FileNotFoundError:
        pass
failed = counts["FAIL"] + counts["TIMEOUT"] + counts["ERROR"] + counts["UNEXPECTEDPASS"]
print(f"tests: {counts['OK'] + counts['EXPECTEDFAIL']} passed, {failed} failed, {counts['SKIP']} skipped")
sys.exit(1 if failed else 0)
PY
}

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
rc=0
run_suite() {
    dir=$1
    shift
    meson test -C "$dir" --print-errorlogs "$@" || rc=1
}

# 1. Warnings are errors.
if [ -d build-test ]; then meson setup --reconfigure build-test -Dwerror=true >/dev/null
else meson setup build-test -Dwerror=true >/dev/null; fi
ninja -C build-test
run_suite build-test
cp build-test/meson-logs/testlog.json "$logs/plain.json" 2>/dev/null || true

# 2. Sanitizers: every leak, overflow or undefined behaviour fails a test.
if [ -d build-asan ]; then meson setup --reconfigure build-asan >/dev/null
else meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null; fi
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_suite build-asan
cp build-asan/meson-logs/testlog.json "$logs/asan.json" 2>/dev/null || true

# 3. valgrind on the library's own tests.
run_suite build-test --setup valgrind --suite unit --suite api
cp build-test/meson-logs/testlog-valgrind.json "$logs/valgrind.json" 2>/dev/null || true

# 4. ThreadSanitizer: the store is used from every worker thread of the
# API, and the S3 store runs its own I/O thread.
if [ -d build-tsan ]; then meson setup --reconfigure build-tsan >/dev/null
else meson setup build-tsan -Db_sanitize=thread -Db_lundef=false >/dev/null; fi
ninja -C build-tsan
TSAN_OPTIONS=halt_on_error=1 \
    run_suite build-tsan test_store test_store_file store_s3 api-basic api-limits
cp build-tsan/meson-logs/testlog.json "$logs/tsan.json" 2>/dev/null || true

summary "$logs/plain.json" "$logs/asan.json" \
    "$logs/valgrind.json" "$logs/tsan.json" || rc=1
exit $rc
