# SPDX-License-Identifier: MIT
"""Start and stop real osinspect-api processes on 127.0.0.1 and talk to
them: http.client for ordinary requests, raw sockets for the malformed
ones. Standard library only."""

import http.client
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import time

HOST = '127.0.0.1'
START_TIMEOUT = 60      # seconds; sanitizers and valgrind start slowly
STOP_TIMEOUT = 30
REQUEST_TIMEOUT = 30

# CivetWeb 1.15's mg_poll() reads pollfd.revents after poll() failed with
# EINTR (revents is then unset); both of its branches return the same
# error, so the read is harmless. EINTR comes from osinspect-api's body
# deadline (src/server/deadline.c).
VALGRIND_SUPPRESSIONS = """{
   civetweb_1_15_mg_poll_reads_revents_after_eintr
   Memcheck:Cond
   obj:*/libcivetweb.so.1*
   ...
   fun:api_read_body
}
"""

LISTENING = re.compile(r'listening on 127\.0\.0\.1:(\d+)')
SANITIZER = re.compile(r'(ERROR|WARNING): (Address|Leak|Thread)Sanitizer|runtime error:')


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body

    def json(self):
        return json.loads(self.body.decode('utf-8'))

    def __repr__(self):
        return 'Response(%d, %r)' % (self.status, self.body[:300])


class Api:
    """One osinspect-api process, its store directory and its log."""

    count = 0

    def __init__(self, binary, workdir, store=None, args=()):
        Api.count += 1
        self.binary = binary
        self.store = store or os.path.join(workdir, 'store-%d' % Api.count)
        self.log_path = os.path.join(workdir, 'api-%d.log' % Api.count)
        self.args = list(args)
        self.proc = None
        self.port = None

    def start(self):
        # OSI_API_WRAPPER runs the server under a tool, e.g.
        # "valgrind --error-exitcode=99 --leak-check=full".
        wrapper = shlex.split(os.environ.get('OSI_API_WRAPPER', ''))
        if wrapper and os.path.basename(wrapper[0]) == 'valgrind':
            supp = os.path.join(os.path.dirname(self.log_path),
                                'civetweb.supp')
            with open(supp, 'w') as f:
                f.write(VALGRIND_SUPPRESSIONS)
            wrapper.insert(1, '--suppressions=' + supp)
        with open(self.log_path, 'wb') as log:
            self.proc = subprocess.Popen(
                wrapper + [self.binary, '--listen', HOST + ':0', '--store',
                           self.store] + self.args,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=log)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            m = LISTENING.search(self.log())
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.kill()
        raise AssertionError('osinspect-api did not start:\n' + self.log())

    def log(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        """Signal the server and wait for it; returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError('osinspect-api did not stop within %d s'
                                 % STOP_TIMEOUT)
        self.check_sanitizers()
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)

    def check_sanitizers(self):
        log = self.log()
        if SANITIZER.search(log):
            raise AssertionError('sanitizer report in the log:\n' + log)

    # -- requests ---------------------------------------------------------

    def connection(self, timeout=REQUEST_TIMEOUT):
        return http.client.HTTPConnection(HOST, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None,
                timeout=REQUEST_TIMEOUT):
        own = conn is None
        if own:
            conn = self.connection(timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                headers = dict(headers or {})
                headers.setdefault('Content-Type', 'application/json')
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, {k.lower(): v for k, v in
                                       r.getheaders()}, data)
        finally:
            if own:
                conn.close()

    def get(self, path, **kw):
        return self.request('GET', path, **kw)

    def post(self, path, report, **kw):
        return self.request('POST', path, body=report, **kw)

    def raw(self, data, timeout=REQUEST_TIMEOUT, shut_write=False):
        """Send bytes as they are and read one answer."""
        with socket.create_connection((HOST, self.port),
                                      timeout=timeout) as s:
            s.sendall(data)
            if shut_write:
                s.shutdown(socket.SHUT_WR)
            return read_response(s)


def read_response(sock):
    """Read one HTTP/1.1 answer with a Content-Length from sock."""
    buf = b''
    while b'\r\n\r\n' not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError('connection closed before an answer: %r'
                                 % buf)
        buf += chunk
    head, _, body = buf.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(':')
        headers[name.strip().lower()] = value.strip()
    length = int(headers['content-length'])
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return Response(status, headers, body[:length])


def snapshot(root):
    """Everything under a store directory: path -> content or link."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                state[rel] = ('link', os.readlink(path))
            elif os.path.isdir(path):
                state[rel] = ('dir', None)
            else:
                with open(path, 'rb') as f:
                    state[rel] = ('file', f.read())
    return state


def report(ip='192.0.2.10', **extra):
    """A report as osinspect-agent sends it (a subset of its fields)."""
    r = {
        'cpu': 'Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz',
        'os_username': 'root',
        'os_name': 'Linux',
        'server_ip': ip,
        'timestamp': '2026-01-02 03:04:05',
        'os_version': '6.1.0-18-amd64',
        'schema_version': 1,
        'agent_version': '0.1.0',
        'hostname': 'web-1',
        'os': {'id': 'debian', 'version_id': '12',
               'pretty_name': 'Debian GNU/Linux 12 (bookworm)'},
        'memory': {'total': 4102270976, 'available': 3002270976},
        'uptime_seconds': 86400,
        'load_average': [0.1, 0.2, 0.3],
        'identity': {'machine_id': 'a' * 32},
    }
    r.update(extra)
    return r


def original_report(ip='127.0.0.1'):
    """What the original Python agent really sends on Linux."""
    return {
        'cpu': '',
        'os_username': 'deploy',
        'os_name': 'Linux',
        'server_ip': ip,
        'timestamp': '2024-05-06 07:08:09',
        'os_version': '#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)',
        'mem': 2.9,
    }
