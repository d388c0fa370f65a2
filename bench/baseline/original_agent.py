#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Reconstruction of the original Python agent, for bench/agent.sh only.
#
# The original is not in this repository. This script is rebuilt from
# ../shared/DESIGN.md ("The report", "Compatibility with the original"):
# a psutil + requests script that sends six string fields as JSON to
# http://$API_IP:$API_PORT/ and prints success or an error. It keeps the
# original's calls, and with them its bugs: server_ip from
# gethostbyname(gethostname()) (127.x on most Linux hosts) and os.getlogin(),
# which raises OSError without a terminal (cron, systemd, a benchmark).
#
# Assumptions, where DESIGN.md says nothing:
# - the path is /report, which the new API serves (DESIGN.md says the
#   original's path was one its own API did not serve: /collect, which the
#   new API keeps as an alias, so either path costs the same here);
# - API_IP and API_PORT default to 127.0.0.1 and 5000 (the API's port);
# - the exit status is 1 on error, so that a benchmark sees a failed run.
#
# psutil is imported, as by the original, though none of the six fields uses
# it: its import is part of what the original costs at start-up.
#
# OSI_BENCH_LOGIN_FALLBACK=1 is the benchmark's own addition, not the
# original's behaviour: when os.getlogin() fails it reports the effective
# user instead of crashing, so the rest of the run can be timed.
#
# It installs nothing. On Debian:
#   apt-get install -y --no-install-recommends python3-psutil python3-requests

import datetime
import os
import platform
import socket
import sys

missing = []
try:
    import psutil  # noqa: F401  (imported by the original; see above)
except ImportError:
    missing.append("python3-psutil")
try:
    import requests
except ImportError:
    missing.append("python3-requests")
if missing:
    print("error: missing Debian package(s): %s "
          "(apt-get install -y --no-install-recommends %s)"
          % (", ".join(missing), " ".join(missing)), file=sys.stderr)
    sys.exit(1)

API_IP = os.environ.get("API_IP", "127.0.0.1")
API_PORT = os.environ.get("API_PORT", "5000")
URL = "http://%s:%s/report" % (API_IP, API_PORT)


def login_name():
    if os.environ.get("OSI_BENCH_LOGIN_FALLBACK") != "1":
        return os.getlogin()
    try:
        return os.getlogin()
    except OSError:
        import pwd
        return pwd.getpwuid(os.geteuid()).pw_name


def get_system_info():
    return {
        "cpu": platform.processor(),
        "os_username": login_name(),
        "os_name": platform.system(),
        "server_ip": socket.gethostbyname(socket.gethostname()),
        "timestamp": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        "os_version": platform.version(),
    }


def main():
    data = get_system_info()
    try:
        response = requests.post(URL, json=data)
    except requests.exceptions.RequestException as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    if response.status_code != 200:
        print("error: %s %s" % (response.status_code, response.text),
              file=sys.stderr)
        return 1
    print("success")
    return 0


if __name__ == "__main__":
    sys.exit(main())
