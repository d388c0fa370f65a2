#!/bin/sh
# SPDX-License-Identifier: MIT
# Tests of the osinspect-agent program: test_agent.sh CASE AGENT DATA_DIR
set -u

case_name=$1
agent=$2
data=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Run the agent; sets rc, and $tmp/out and $tmp/err.
run() {
    "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
}

expect_rc() {
    [ "$rc" -eq "$1" ] || fail "exit status $rc, expected $1; stderr: $(cat "$tmp/err")"
}

expect_err() {
    grep -qF -- "$1" "$tmp/err" || fail "stderr lacks '$1': $(cat "$tmp/err")"
}

# json FILE EXPR: evaluate a Python expression on the parsed report r.
json() {
    python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if not isinstance(v, (dict, list)) else json.dumps(v))' "$1" "$2"
}

expect_json() {
    got=$(json "$tmp/out" "$1") || fail "not JSON or no $1: $(head -c 300 "$tmp/out")"
    [ "$got" = "$2" ] || fail "$1 is '$got', expected '$2'"
}

case $case_name in
help)
    run "$agent" --help
    expect_rc 0
    for opt in --print --compact --pretty --root --help --version --url \
        --token --token-file --cacert --timeout --retries --spool \
        --spool-max --interval --quiet OSI_API_URL OSI_API_TOKEN API_IP \
        API_PORT; do
        grep -qF -- "$opt" "$tmp/out" || fail "--help does not mention $opt"
    done
    ;;
version)
    run "$agent" --version
    expect_rc 0
    grep -qE '^osinspect-agent [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" || fail "bad version: $(cat "$tmp/out")"
    ;;
usage)
    run "$agent" --print --bogus
    expect_rc 2
    expect_err "unknown option '--bogus'"
    expect_err "Try 'osinspect-agent --help'"
    run "$agent" -x
    expect_rc 2
    expect_err "unknown option '-x'"
    run "$agent" --print --root
    expect_rc 2
    expect_err "option '--root' needs a value"
    run "$agent" --print --root ""
    expect_rc 2
    expect_err "--root needs a directory"
    run "$agent" --print extra
    expect_rc 2
    expect_err "unexpected argument 'extra'"
    [ ! -s "$tmp/out" ] || fail "usage errors print nothing on stdout"
    ;;
print)
    run "$agent" --print
    expect_rc 0
    [ "$(wc -l <"$tmp/out")" -gt 20 ] || fail "--print is not indented"
    expect_json 'r["os_name"]' Linux
    expect_json 'r["schema_version"]' 1
    expect_json 'bool(r["cpu"]) and bool(r["os_username"])' True
    expect_json 'r["server_ip"].startswith("127.") == (r["network"] is None or all(a["address"].startswith("127.") for i in r["network"]["interfaces"] for a in i["ipv4"]))' True
    expect_json 'sorted(r["collection"]["sections"])' '["container", "cpu", "disks", "hostname", "identity", "kernel", "load", "memory", "network", "os", "uptime", "username", "users"]'
    run "$agent" --print --compact
    expect_rc 0
    [ "$(wc -l <"$tmp/out")" -eq 1 ] || fail "--compact is not one line"
    expect_json 'r["os_name"]' Linux
    ;;
root)
    run "$agent" --print --compact --root "$data/roots/debian12"
    expect_rc 0
    expect_json 'r["memory"]["total_bytes"]' 8343838720
    run "$agent" --print --root "$tmp/nonexistent"
    expect_rc 1
    expect_err "error: root $tmp/nonexistent: No such file or directory"
    ;;
unreadable)
    # One unreadable file fails its field, not the report: copy a fixture,
    # make every file in it unreadable, and run as an unprivileged user
    # (root reads mode 000 files anyway).
    command -v setpriv >/dev/null || { echo "setpriv missing: skipped"; exit 77; }
    [ "$(id -u)" -eq 0 ] || { echo "needs root to switch users: skipped"; exit 77; }
    cp -r "$data/roots/debian12" "$tmp/root"
    find "$tmp/root" -type f -exec chmod 000 {} +
    chmod 755 "$tmp" "$tmp/root"
    run setpriv --reuid=65534 --regid=65534 --clear-groups "$agent" --print --compact --root "$tmp/root"
    expect_rc 0
    expect_json 'r["memory"]' None
    expect_json 'r["collection"]["sections"]["memory"]["status"]' failed
    expect_json 'r["collection"]["sections"]["memory"]["reason"]' '/proc/meminfo: Permission denied'
    expect_json 'r["os"]' None
    expect_json 'r["collection"]["sections"]["os"]["status"]' failed
    expect_json 'r["os_username"]' nobody
    expect_json 'bool(r["cpu"])' True
    ;;
no-tty)
    # Under setsid there is no controlling terminal (cron, systemd): the
    # user is still known, never an error.
    command -v setsid >/dev/null || { echo "setsid missing: skipped"; exit 77; }
    run setsid -w "$agent" --print --compact
    expect_rc 0
    expect_json 'r["os_username"]' "$(id -un)"
    ;;
no-child)
    command -v strace >/dev/null || { echo "strace missing: skipped"; exit 77; }
    # LeakSanitizer cannot work under ptrace: off here, on everywhere else.
    ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=execve,clone,clone3,fork,vfork -o "$tmp/trace" "$agent" --print >/dev/null 2>&1 || fail "agent failed under strace"
    n=$(grep -cE 'execve|clone|fork' "$tmp/trace")
    [ "$n" -eq 1 ] || fail "agent made $n process calls, expected only its own execve: $(cat "$tmp/trace")"
    ;;
stdout-full)
    [ -w /dev/full ] || { echo "no /dev/full: skipped"; exit 77; }
    "$agent" --print >/dev/full 2>"$tmp/err"
    rc=$?
    expect_rc 1
    expect_err "error: writing the report: No space left on device"
    ;;
config)
    # Bad configuration: a clear message naming it, exit 2, nothing sent.
    unset OSI_API_URL OSI_API_TOKEN
    API_PORT=abc run "$agent" --spool "$tmp/spool"
    expect_rc 2
    expect_err "API_PORT='abc' is not a port"
    API_PORT=70000 run "$agent" --spool "$tmp/spool"
    expect_rc 2
    run "$agent" --url ftp://example.invalid/report --spool "$tmp/spool"
    expect_rc 2
    expect_err "ftp"
    run "$agent" --token-file "$tmp/missing-token" --spool "$tmp/spool"
    expect_rc 2
    expect_err "--token-file $tmp/missing-token: No such file or directory"
    : >"$tmp/empty-token"
    run "$agent" --token-file "$tmp/empty-token" --spool "$tmp/spool"
    expect_rc 2
    expect_err "holds no token"
    run "$agent" --cacert "$tmp/missing-ca.pem" --url https://127.0.0.1:1/report --spool "$tmp/spool"
    expect_rc 2
    expect_err "missing-ca.pem"
    : >"$tmp/file"
    run "$agent" --spool "$tmp/file/spool"
    expect_rc 2
    expect_err "$tmp/file/spool"
    for bad in 0 -1 abc 1e9; do
        run "$agent" --interval "$bad"
        expect_rc 2
        expect_err "--interval needs seconds"
    done
    run "$agent" --retries 101
    expect_rc 2
    expect_err "--retries needs a number from 0 to 100"
    run "$agent" --spool-max 0
    expect_rc 2
    run "$agent" --timeout 0
    expect_rc 2
    ;;
*)
    fail "unknown case $case_name"
    ;;
esac
exit 0
