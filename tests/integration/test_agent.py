#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests of osinspect-agent's delivery: the real agent against
the real osinspect-api on the file store (and, for answers the API would
not give, a small scripted proxy in front of it), all on 127.0.0.1.

Usage: test_agent.py AGENT_BINARY API_BINARY   (prints TAP)

Nothing may be lost: every test ends by counting the reports the API
stored, each exactly once."""

import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_harness import Api, HOST  # noqa: E402

TESTS = []
RUN_TIMEOUT = 120  # seconds for one agent run (sanitizers are slow)


def test(fn):
    TESTS.append(fn)
    return fn


def eq(got, want, what=''):
    if got != want:
        raise AssertionError('%s: got %r, want %r' % (what, got, want))


class Ctx:
    def __init__(self, agent, api, workdir):
        self.agent = agent
        self.api_binary = api
        self.workdir = workdir
        self.servers = []
        self.proxies = []
        self.spool = os.path.join(workdir, 'spool')

    def server(self, store=None):
        api = Api(self.api_binary, self.workdir, store=store)
        self.servers.append(api)
        api.start()
        return api

    def run(self, *args, env=None, url=None):
        """One agent run; returns (exit status, stdout, stderr)."""
        e = {k: v for k, v in os.environ.items()
             if not k.startswith(('OSI_', 'API_'))}
        e.update(env or {})
        cmd = [self.agent, '--spool', self.spool, '--retries', '1',
               '--timeout', '5']
        if url:
            cmd += ['--url', url]
        p = subprocess.run(cmd + list(args), env=e, capture_output=True,
                           timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def spooled(self):
        if not os.path.isdir(self.spool):
            return []
        return sorted(n for n in os.listdir(self.spool))


def this_host_ip(ctx):
    out = subprocess.run([ctx.agent, '--print', '--compact'],
                         capture_output=True, check=True).stdout
    return json.loads(out)['server_ip']


def stored(api, ip):
    """The report_ids the API holds for ip, newest first."""
    r = api.get('/reports?ip=%s&limit=1000' % urllib.parse.quote(ip))
    eq(r.status, 200, 'GET /reports')
    return [x['report_id'] for x in r.json()['reports']]


def free_url():
    """A URL where nothing listens (a port just released)."""
    import socket
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return 'http://%s:%d/report' % (HOST, port)


class Proxy:
    """An HTTP server in front of the API whose answers a test scripts:
    script is a list of actions taken for the 1st, 2nd, ... request, then
    'forward' for the rest. Actions: 'forward'; (status, body, headers) to
    answer without forwarding; 'forward-and-drop' to forward the request
    and close the connection without answering (a lost acknowledgement)."""

    def __init__(self, api, script):
        proxy = self
        self.api = api
        self.script = list(script)
        self.requests = 0
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers['Content-Length']))
                with proxy.lock:
                    proxy.requests += 1
                    action = proxy.script.pop(0) if proxy.script \
                        else 'forward'
                if action in ('forward', 'forward-and-drop'):
                    headers = {k: v for k, v in self.headers.items()
                               if k.lower() in ('content-type',
                                                'content-encoding')}
                    conn = proxy.api.connection()
                    conn.request('POST', self.path, body, headers)
                    resp = conn.getresponse()
                    status, data = resp.status, resp.read()
                    extra = {}
                    conn.close()
                    if action == 'forward-and-drop':
                        self.close_connection = True
                        self.connection.close()
                        return
                else:
                    status, data, extra = action
                    data = data.encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.url = 'http://%s:%d/report' % (HOST, self.httpd.server_port)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def proxy(ctx, api, script):
    p = Proxy(api, script)
    ctx.proxies.append(p)
    return p


# -- tests ----------------------------------------------------------------

@test
def test_outage_spools_then_delivers_all_oldest_first(ctx):
    url = free_url()
    for n in range(1, 5):
        rc, out, err = ctx.run(url=url)
        eq(rc, 3, 'exit status while the API is down (%s)' % err)
        if 'kept in the spool' not in err:
            raise AssertionError('stderr does not say spooled: %r' % err)
        eq(len(ctx.spooled()), n, 'reports in the spool')
    ids = [f.split('-', 1)[1][:-len('.json')] for f in ctx.spooled()]

    api = ctx.server()
    port = api.port
    rc, out, err = ctx.run(url='http://%s:%d/report' % (HOST, port))
    eq((rc, out), (0, 'success\n'), 'run with the API back (%s)' % err)
    eq(ctx.spooled(), [], 'spool after delivery')
    got = stored(api, this_host_ip(ctx))
    eq(len(got), 5, 'reports stored')
    eq(len(set(got)), 5, 'distinct reports')
    # newest first: the run's own report, then the spooled ones newest
    # first, which were sent oldest first
    eq(got[1:], list(reversed(ids)), 'order of the spooled reports')


@test
def test_503_then_200_is_delivered_once(ctx):
    api = ctx.server()
    p = proxy(ctx, api, [(503, '{"error":"store unavailable"}',
                          {'Retry-After': '1'})])
    rc, out, err = ctx.run(url=p.url)
    eq((rc, out), (0, 'success\n'), 'exit status (%s)' % err)
    eq(p.requests, 2, 'requests (503, then the retry)')
    eq(len(stored(api, this_host_ip(ctx))), 1, 'stored once')
    eq(ctx.spooled(), [], 'spool')


@test
def test_lost_acknowledgement_is_resent_and_stored_once(ctx):
    api = ctx.server()
    p = proxy(ctx, api, ['forward-and-drop'])
    rc, out, err = ctx.run(url=p.url)
    eq((rc, out), (0, 'success\n'), 'exit status (%s)' % err)
    if p.requests < 2:
        raise AssertionError('the report was not resent')
    eq(len(stored(api, this_host_ip(ctx))), 1, 'stored once')


@test
def test_400_is_not_spooled_and_says_why(ctx):
    api = ctx.server()
    rejected = (400, '{"error":"server_ip: not an address"}', {})
    p = proxy(ctx, api, [rejected, rejected])
    rc, out, err = ctx.run('--retries', '3', url=p.url)
    eq(rc, 1, 'exit status')
    if 'server_ip: not an address' not in err:
        raise AssertionError("the API's message is not shown: %r" % err)
    # A 400 to a gzipped body is tried once plain (the original Flask API
    # answers 400 to gzip), then not retried.
    eq(p.requests, 2, 'requests (gzipped, then plain, no retry)')
    eq(ctx.spooled(), [], 'spool')
    eq(stored(api, this_host_ip(ctx)), [], 'stored')


@test
def test_interval_reports_until_sigterm(ctx):
    api = ctx.server()
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(('OSI_', 'API_'))}
    proc = subprocess.Popen(
        [ctx.agent, '--spool', ctx.spool, '--interval', '0.5', '--quiet',
         '--url', 'http://%s:%d/report' % (HOST, api.port)],
        env=e, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    ip = this_host_ip(ctx)
    deadline = time.monotonic() + 60
    while len(stored(api, ip)) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError('no exit after SIGTERM')
    eq(proc.returncode, 0, 'exit status after SIGTERM (%r)' % err)
    eq(out, b'', 'stdout with --quiet')
    n = len(stored(api, ip))
    if n < 3:
        raise AssertionError('only %d reports in --interval mode' % n)
    leftovers = [f for f in ctx.spooled() if not f.endswith('.json')]
    eq(leftovers, [], 'half-written spool files')


@test
def test_spool_limit_drops_the_oldest(ctx):
    url = free_url()
    for _ in range(4):
        rc, out, err = ctx.run('--spool-max', '2', url=url)
        eq(rc, 3, 'exit status (%s)' % err)
    eq(len(ctx.spooled()), 2, 'reports kept')
    if 'warning:' not in err:
        raise AssertionError('no warning on dropping: %r' % err)


@test
def test_corrupt_spool_file_is_set_aside(ctx):
    os.makedirs(ctx.spool, mode=0o700)
    bad = os.path.join(ctx.spool, '0000000000000001-corrupt.json')
    with open(bad, 'w') as f:
        f.write('{"cpu": "half a report')
    api = ctx.server()
    rc, out, err = ctx.run(url='http://%s:%d/report' % (HOST, api.port))
    eq((rc, out), (0, 'success\n'), 'exit status (%s)' % err)
    if 'warning:' not in err:
        raise AssertionError('no warning on the corrupt file: %r' % err)
    eq([f for f in ctx.spooled() if f.endswith('.json')], [], 'spool')
    eq(len(stored(api, this_host_ip(ctx))), 1, 'stored')


@test
def test_original_variables_and_output(ctx):
    api = ctx.server()
    rc, out, err = ctx.run(env={'API_IP': HOST, 'API_PORT': str(api.port)})
    eq((rc, out, err), (0, 'success\n', ''), 'API_IP/API_PORT run')
    rc, out, err = ctx.run(env={'OSI_API_URL': 'http://%s:%d/report'
                                % (HOST, api.port)})
    eq((rc, out), (0, 'success\n'), 'OSI_API_URL run')
    eq(len(stored(api, this_host_ip(ctx))), 2, 'stored')


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    agent, api = (os.path.abspath(a) for a in sys.argv[1:])
    print('1..%d' % len(TESTS), flush=True)
    failed = 0
    for i, fn in enumerate(TESTS, 1):
        workdir = tempfile.mkdtemp(prefix='osi-agent-test-')
        ctx = Ctx(agent, api, workdir)
        try:
            fn(ctx)
            for s in ctx.servers:
                eq(s.stop(), 0, 'API exit status on SIGTERM')
                s.check_sanitizers()
            print('ok %d - %s' % (i, fn.__name__), flush=True)
        except Exception:
            failed += 1
            print('not ok %d - %s' % (i, fn.__name__))
            for line in traceback.format_exc().splitlines():
                print('# ' + line)
            for s in ctx.servers:
                s.kill()
                for line in s.log().splitlines()[-20:]:
                    print('# ' + line)
            sys.stdout.flush()
        finally:
            for p in ctx.proxies:
                p.stop()
            for s in ctx.servers:
                s.kill()
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
