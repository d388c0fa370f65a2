#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests of osinspect-api on the file store: real processes on
127.0.0.1 with ports they pick themselves, started and stopped here.

Usage: test_api.py API_BINARY [GROUP...]   (prints TAP)
Groups: basic, bad-input, limits, crash. OSI_API_WRAPPER runs every server
under a tool, e.g. OSI_API_WRAPPER="valgrind --error-exitcode=99
--leak-check=full" (api_harness.py adds a suppression for CivetWeb).

Every server a test starts is stopped with SIGTERM at its end and must exit
0 with no sanitizer report in its log, unless the test killed it."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_harness import (Api, original_report, read_response,  # noqa: E402
                         report, snapshot, HOST)

TESTS = []


def test(group):
    def register(fn):
        TESTS.append((group, fn))
        return fn
    return register


class Ctx:
    def __init__(self, binary, workdir):
        self.binary = binary
        self.workdir = workdir
        self.servers = []

    def server(self, *args, store=None):
        api = Api(self.binary, self.workdir, store=store, args=args)
        self.servers.append(api)
        return api.start()


def eq(got, want, what=''):
    if got != want:
        raise AssertionError('%s: got %r, want %r' % (what, got, want))


def check_error(r, status, what):
    """An error answer: the status, JSON {"error": "<text>"}, framing."""
    eq(r.status, status, what + ' status (body %r)' % r.body)
    eq(r.headers.get('content-type'), 'application/json', what)
    eq(int(r.headers.get('content-length', -1)), len(r.body), what)
    if 'transfer-encoding' in r.headers:
        raise AssertionError(what + ': chunked answer')
    body = r.json()
    if set(body) != {'error'} or not isinstance(body['error'], str) \
            or not body['error']:
        raise AssertionError('%s: not an error object: %r' % (what, body))
    return body['error']


def post_ok(api, r, path='/report'):
    resp = api.post(path, r)
    eq(resp.status, 200, 'POST %s (%r)' % (path, resp.body))
    body = resp.json()
    eq(body['status'], 'success', 'status')
    return body


def latest(api, ip):
    return api.get('/report?ip=' + urllib.parse.quote(ip))


# -- basics ---------------------------------------------------------------

@test('basic')
def test_post_then_get_returns_the_same_report(ctx):
    api = ctx.server()
    sent = report(report_id='5d0f7ad2-5a3b-4a3c-9d3e-2b1c0d9e8f7a',
                  collected_at='2026-01-02T03:04:05.678Z')
    body = post_ok(api, sent)
    eq(body, {'status': 'success', 'report_id': sent['report_id'],
              'duplicate': False}, 'POST answer')
    r = latest(api, sent['server_ip'])
    eq(r.status, 200, 'GET')
    got = r.json()['report']
    received = got.pop('received')
    eq(got, sent, 'stored report')
    eq(received['peer'], '127.0.0.1', 'received.peer')
    if not received['at'].endswith('Z'):
        raise AssertionError('received.at: %r' % received['at'])
    eq(list(r.json()), ['report'], 'answer keys')


@test('basic')
def test_collect_is_an_alias_of_report(ctx):
    api = ctx.server()
    body = post_ok(api, report(ip='192.0.2.20'), path='/collect')
    got = latest(api, '192.0.2.20').json()['report']
    eq(got['report_id'], body['report_id'], 'report_id')
    eq(api.get('/collect').status, 405, 'GET /collect')


@test('basic')
def test_a_resent_report_is_stored_once(ctx):
    api = ctx.server()
    r = report(report_id='0b7e1c2a-aaaa-4bbb-8ccc-123456789abc',
               collected_at='2026-01-02T03:04:05Z')
    eq(post_ok(api, r)['duplicate'], False, 'first')
    eq(post_ok(api, r)['duplicate'], True, 'second')
    reports = api.get('/reports?ip=192.0.2.10').json()['reports']
    eq(len(reports), 1, 'stored copies')


@test('basic')
def test_original_agent_json_is_accepted(ctx):
    api = ctx.server()
    sent = original_report()
    body = post_ok(api, sent, path='/collect')
    if not body['report_id']:
        raise AssertionError('no report_id assigned')
    got = latest(api, '127.0.0.1').json()['report']
    eq(got['report_id'], body['report_id'], 'assigned id')
    for k, v in sent.items():
        eq(got[k], v, k)
    # Also with a charset parameter, as some clients send it.
    r = api.request('POST', '/report', body=json.dumps(sent).encode(),
                    headers={'Content-Type':
                             'application/json; charset=UTF-8'})
    eq(r.status, 200, 'with charset')


@test('basic')
def test_gzip_bodies_are_inflated_under_the_cap(ctx):
    import gzip
    api = ctx.server('--max-body', '4096')
    sent = report(ip='192.0.2.30')
    gz = {'Content-Type': 'application/json', 'Content-Encoding': 'gzip'}
    r = api.request('POST', '/report', headers=gz,
                    body=gzip.compress(json.dumps(sent).encode()))
    eq(r.status, 200, 'gzip body (%r)' % r.body)
    eq(latest(api, '192.0.2.30').json()['report']['hostname'],
       sent['hostname'], 'stored report')
    before = snapshot(api.store)
    # 1 MB of spaces gzips to about 1 KB: refused once inflated past the cap.
    bomb = gzip.compress(b'{"cpu": "x"' + b' ' * (1 << 20) + b'}')
    if len(bomb) > 4096:
        raise AssertionError('bomb too large to test the cap')
    check_error(api.request('POST', '/report', headers=gz, body=bomb), 413,
                'gzip bomb')
    check_error(api.request('POST', '/report', headers=gz,
                            body=b'\x1f\x8b\x08\x00corrupt'), 400,
                'corrupt gzip')
    check_error(api.request('POST', '/report', headers=gz,
                            body=gzip.compress(b'{}') + b'junk'), 400,
                'bytes after the gzip member')
    check_error(api.request('POST', '/report',
                            headers={'Content-Type': 'application/json',
                                     'Content-Encoding': 'br'},
                            body=b'{}'), 415, 'unknown encoding')
    eq(snapshot(api.store), before, 'store after refused gzip bodies')


@test('basic')
def test_history_is_newest_first_and_bounded(ctx):
    api = ctx.server()
    ip = '198.51.100.7'
    days = ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04',
            '2026-03-05']
    ids = {}
    for d in [days[2], days[0], days[4], days[1], days[3]]:
        ids[d] = post_ok(api, report(ip=ip, collected_at=d +
                                     'T12:00:00Z'))['report_id']

    def history(query):
        r = api.get('/reports?ip=' + ip + query)
        eq(r.status, 200, 'history ' + query)
        return [x['report_id'] for x in r.json()['reports']]

    newest_first = [ids[d] for d in reversed(days)]
    eq(history(''), newest_first, 'all')
    eq(history('&limit=2'), newest_first[:2], 'limit')
    # since is inclusive, until exclusive; a date alone covers its day.
    eq(history('&since=2026-03-02T12:00:00Z'), newest_first[:4], 'since')
    eq(history('&until=2026-03-02T12:00:00Z'), newest_first[4:], 'until')
    eq(history('&since=2026-03-02&until=2026-03-03'),
       [ids['2026-03-03'], ids['2026-03-02']], 'dates')
    t = 1772539200  # 2026-03-03T12:00:00Z
    eq(history('&since=%d&until=%d' % (t, t + 1)), [ids['2026-03-03']],
       'unix seconds')
    eq(history('&since=2026-03-03T14:00:00%2B02:00&limit=1'),
       [ids['2026-03-05']], 'offset')
    eq(history('&since=2027-01-01'), [], 'nothing in range')
    eq(api.get('/reports?ip=192.0.2.99').json(), {'reports': []}, 'unknown')


@test('basic')
def test_hosts_lists_every_host(ctx):
    api = ctx.server()
    eq(api.get('/hosts').json(), {'hosts': []}, 'empty store')
    post_ok(api, report(ip='192.0.2.1', hostname='a'))
    post_ok(api, report(ip='192.0.2.2', hostname='b'))
    r = api.get('/hosts')
    eq(r.status, 200, 'status')
    hosts = sorted(r.json()['hosts'], key=lambda h: h['ip'])
    eq([(h['ip'], h['hostname']) for h in hosts],
       [('192.0.2.1', 'a'), ('192.0.2.2', 'b')], 'hosts')


@test('basic')
def test_health_answers_ok_and_requests_are_logged(ctx):
    api = ctx.server()
    r = api.get('/health')
    eq((r.status, r.json()), (200, {'health': 'ok'}), 'health')
    eq(r.headers['content-type'], 'application/json', 'content-type')
    eq(r.headers['content-length'], str(len(r.body)), 'content-length')
    api.get('/nowhere?x=1')
    # Each line is written once its answer is sent, by the worker that
    # served it: the two may come in either order.
    deadline = time.monotonic() + 10
    while not all(s in api.log() for s in ('GET /nowhere?x=1 404',
                                           'GET /health 200')):
        if time.monotonic() > deadline:
            raise AssertionError('no log line:\n' + api.log())
        time.sleep(0.05)
    log = api.log()
    if 'open to anyone' not in log:
        raise AssertionError('no warning about the open API:\n' + log)
    if not any(line.startswith('osinspect-api: 127.0.0.1 GET /health 200 16 ')
               and line.endswith('us') for line in log.splitlines()):
        raise AssertionError('no log line for /health:\n' + log)


@test('basic')
def test_ipv6_hosts_are_the_same_in_any_case(ctx):
    api = ctx.server()
    body = post_ok(api, report(ip='2001:DB8::1'))
    for ip in ['2001:db8::1', '2001:DB8::1', '2001:0db8:0:0:0:0:0:1']:
        r = latest(api, ip)
        eq(r.status, 200, ip)
        eq(r.json()['report']['report_id'], body['report_id'], ip)
    post_ok(api, report(ip='2001:db8::1'))
    eq(len(api.get('/reports?ip=2001:db8::1').json()['reports']), 2,
       'one history')
    eq([h['ip'] for h in api.get('/hosts').json()['hosts']],
       ['2001:db8::1'], 'one host')


@test('basic')
def test_keep_alive_serves_many_requests_on_one_connection(ctx):
    api = ctx.server()
    conn = api.connection()
    try:
        for i in range(5):
            post_ok_conn = api.request('POST', '/report',
                                       body=report(ip='192.0.2.%d' % (i + 1)),
                                       conn=conn)
            eq(post_ok_conn.status, 200, 'POST %d' % i)
            eq(api.get('/health', conn=conn).status, 200, 'GET %d' % i)
        # An error whose body was not read closes the connection...
        r = api.request('POST', '/report', body=b'{}', conn=conn,
                        headers={'Content-Type': 'text/plain'})
        eq(r.status, 415, 'text/plain')
        eq(r.headers.get('connection'), 'close', 'Connection')
    finally:
        conn.close()


@test('basic')
def test_options(ctx):
    def run(*args):
        p = subprocess.run([ctx.binary] + list(args), capture_output=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    rc, out, _ = run('--help')
    eq(rc, 0, '--help')
    for opt in ['--listen', '--store', '--threads', '--max-body',
                '--request-timeout', '--s3-insecure-tls', '--help',
                '--version']:
        if opt not in out:
            raise AssertionError('--help lacks ' + opt)
    rc, out, _ = run('--version')
    eq((rc, out.startswith('osinspect-api ')), (0, True), '--version')
    for bad in [['--threads', '0'], ['--threads', 'x'], ['--threads', '2k'],
                ['--max-body', '0'], ['--max-body', '-1'],
                ['--request-timeout', '5'], ['--listen', 'localhost:80'],
                ['--listen', '127.0.0.1'], ['--listen', '1.2.3.4:70000'],
                ['--listen', '::1:5000'], ['--store', ''], ['--bogus'],
                ['extra']]:
        rc, _, err = run(*bad)
        eq(rc, 2, ' '.join(bad))
        if 'osinspect-api: ' not in err:
            raise AssertionError('%s: no message: %r' % (bad, err))
    # A port in use is a failure, not a usage error.
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        rc, _, err = run('--listen', '%s:%d' % busy.getsockname(),
                         '--store', os.path.join(ctx.workdir, 'busy'))
        eq(rc, 1, 'port in use')
        if 'cannot listen on' not in err:
            raise AssertionError('port in use: %r' % err)
    # An https S3 endpoint needs the explicit opt-in.
    env = dict(os.environ, AWS_ENDPOINT_URL='https://127.0.0.1:9',
               AWS_ACCESS_KEY_ID='k', AWS_SECRET_ACCESS_KEY='s')
    p = subprocess.run([ctx.binary, '--listen', '127.0.0.1:0', '--store',
                        's3://os-inspector-data'], env=env, timeout=30,
                       capture_output=True, stdin=subprocess.DEVNULL)
    eq(p.returncode, 1, 'https S3 endpoint')
    if b'--s3-insecure-tls' not in p.stderr:
        raise AssertionError('https refusal: %r' % p.stderr)
    # IPv6: served when CivetWeb has it, else a clear refusal (Debian 12's
    # 1.15 is built without it).
    store = os.path.join(ctx.workdir, 'v6')
    p = subprocess.Popen([ctx.binary, '--listen', '[::1]:0', '--store',
                          store], stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    line = p.stderr.readline().decode()
    if 'listening on [::1]:' in line:
        p.send_signal(signal.SIGTERM)
        eq(p.wait(30), 0, 'IPv6 server stop')
    else:
        eq(p.wait(30), 1, 'IPv6 refusal')
        if 'IPv6' not in line:
            raise AssertionError('IPv6 refusal: %r' % line)
    p.stderr.close()


@test('basic')
def test_a_failing_store_answers_503(ctx):
    api = ctx.server()
    post_ok(api, report())
    shutil.rmtree(api.store)
    r = api.get('/health')
    eq(r.status, 503, 'health')
    body = r.json()
    eq(body['health'], 'error', 'health')
    if not body.get('error'):
        raise AssertionError('no reason: %r' % body)
    eq(r.headers.get('retry-after'), '5', 'health Retry-After')
    r = api.post('/report', report(ip='192.0.2.99'))
    check_error(r, 503, 'POST')
    eq(r.headers.get('retry-after'), '5', 'POST Retry-After')


# -- bad input ------------------------------------------------------------

def bad_bodies():
    good = report(ip='192.0.2.200')
    text = json.dumps(good)
    missing = dict(good)
    del missing['os_name']
    nested = '[' * 1100 + ']' * 1100
    yield 'malformed JSON', text[:-5].encode(), 400
    yield 'trailing bytes', (text + ' x').encode(), 400
    yield 'two documents', (text + text).encode(), 400
    yield 'invalid UTF-8', text.replace('"root"', '"r\xffoot"').encode(
        'latin-1'), 400
    yield 'an array', b'[]', 400
    yield 'a string', b'"report"', 400
    yield 'a number', b'42', 400
    yield 'null', b'null', 400
    yield 'empty body', b'', 400
    yield 'a missing field', json.dumps(missing).encode(), 400
    yield 'a number for a field', json.dumps(dict(good, os_name=5)).encode(), \
        400
    yield 'null for a field', json.dumps(dict(good, cpu=None)).encode(), 400
    yield 'a bad server_ip', json.dumps(dict(good, server_ip='300.1.1.1')) \
        .encode(), 400
    yield 'nesting 1,100 deep', ('{"cpu":' + nested + '}').encode(), 400
    yield 'nesting 100,000 deep (over the size cap)', \
        ('[' * 100000 + ']' * 100000).encode(), 413
    yield 'duplicate keys', ('{"cpu":"a",' + text[1:]).encode(), 400
    yield 'a bad report_id', json.dumps(dict(good, report_id='../x')) \
        .encode(), 400


def check_unchanged(api, before, what):
    r = api.get('/health')
    eq((r.status, r.json()), (200, {'health': 'ok'}), what + ': still serving')
    eq(snapshot(api.store), before, what + ': store changed')


@test('bad-input')
def test_bad_bodies_are_refused_and_nothing_is_stored(ctx):
    api = ctx.server()
    post_ok(api, report())
    before = snapshot(api.store)
    for what, body, status in bad_bodies():
        r = api.request('POST', '/report', body=body,
                        headers={'Content-Type': 'application/json'})
        check_error(r, status, what)
        check_unchanged(api, before, what)


@test('bad-input')
def test_deep_nesting_within_the_size_cap_is_refused(ctx):
    api = ctx.server('--max-body', '1048576')
    before = snapshot(api.store)
    for depth in [1100, 100000]:
        body = ('[' * depth + ']' * depth).encode()
        r = api.request('POST', '/report', body=body,
                        headers={'Content-Type': 'application/json'})
        msg = check_error(r, 400, 'nesting %d' % depth)
        if 'nest' not in msg and 'deep' not in msg:
            raise AssertionError('nesting %d: %r' % (depth, msg))
        check_unchanged(api, before, 'nesting %d' % depth)


@test('bad-input')
def test_bad_content_types_are_refused(ctx):
    api = ctx.server()
    before = snapshot(api.store)
    body = json.dumps(report()).encode()
    for headers in [{'Content-Type': 'text/plain'},
                    {},
                    {'Content-Type': 'application/x-www-form-urlencoded'},
                    {'Content-Type': 'application/jsonx'},
                    {'Content-Type': 'application/json; charset=latin-1'},
                    {'Content-Type': 'application/json',
                     'Content-Encoding': 'deflate'}]:
        r = api.request('POST', '/report', body=body, headers=headers)
        check_error(r, 415, repr(headers))
        check_unchanged(api, before, repr(headers))


def framing_cases():
    body = json.dumps(report()).encode()
    n = len(body)
    head = (b'POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\n'
            b'Content-Type: application/json\r\n')
    yield 'Content-Length with chunked', head + \
        b'Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n' % n + \
        b'%x\r\n' % n + body + b'\r\n0\r\n\r\n', 400
    yield 'Content-Length 7abc', head + b'Content-Length: 7abc\r\n\r\n' + \
        body, 400
    yield 'Content-Length abc', head + b'Content-Length: abc\r\n\r\n', 400
    yield 'Content-Length -1', head + b'Content-Length: -1\r\n\r\n', 400
    yield 'two Content-Lengths', head + \
        b'Content-Length: %d\r\nContent-Length: %d\r\n\r\n' % (n, n) + body, \
        400
    yield 'Transfer-Encoding gzip', head + \
        b'Transfer-Encoding: gzip\r\n\r\n', 400
    yield 'no length', head + b'\r\n', 400
    yield 'CR LF in the path', b'GET /report%0d%0aX-Injected:%20yes?ip=' \
        b'192.0.2.10 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 400
    yield 'CR LF in a POST path', b'POST /report%0d%0a HTTP/1.1\r\n' + \
        head.split(b'\r\n', 1)[1] + b'Content-Length: %d\r\n\r\n' % n + \
        body, 400
    yield 'over max-body by Content-Length (headers only)', head + \
        b'Content-Length: 1000000000\r\n\r\n', 413
    yield 'over max-body by a huge Content-Length', head + \
        b'Content-Length: 99999999999999999999999\r\n\r\n', 413
    chunk = b'x' * 40000
    yield 'chunked without a length, over max-body', head + \
        b'Transfer-Encoding: chunked\r\n\r\n' + \
        (b'%x\r\n' % len(chunk) + chunk + b'\r\n') * 2 + b'0\r\n\r\n', 413
    yield 'malformed request line', b'GARBAGE\r\n\r\n', 400
    yield 'too many header fields', head + b''.join(
        b'X-Field-%d: x\r\n' % i for i in range(70)) + \
        b'Content-Length: %d\r\n\r\n' % n + body, 400
    yield 'headers over 16 KiB', head + b'X-Big: ' + b'a' * 20000 + \
        b'\r\n\r\n', 400


@test('bad-input')
def test_bad_framing_is_refused_before_reading(ctx):
    api = ctx.server()
    post_ok(api, report())
    before = snapshot(api.store)
    for what, data, status in framing_cases():
        check_error(api.raw(data), status, what)
        check_unchanged(api, before, what)
    # A chunked report within the limits is fine.
    body = json.dumps(report(ip='192.0.2.33')).encode()
    r = api.raw(b'POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                b'Content-Type: application/json\r\n'
                b'Transfer-Encoding: chunked\r\n\r\n' +
                b'%x\r\n' % len(body) + body + b'\r\n0\r\n\r\n')
    eq(r.status, 200, 'chunked report (%r)' % r.body)


BAD_IPS = ['../../etc/passwd', '10.0.0.1/../x', 'fe80::1%eth0', '0x7f.0.0.1',
           '300.1.1.1', '1.2.3', '::ffff::1', ' 10.0.0.1', '10.0.0.1 ']


@test('bad-input')
def test_bad_ips_are_refused(ctx):
    api = ctx.server()
    post_ok(api, report())
    before = snapshot(api.store)
    queries = ['', '?', '?ip', '?ip=', '?ip=%2e%2e%2f', '?ip=fe80::1%eth0',
               '?ip=10.0.0.1%00', '?ip=%0d%0a']
    queries += ['?ip=' + urllib.parse.quote(ip, safe='') for ip in BAD_IPS]
    queries += ['?ip=' + urllib.parse.quote(ip, safe='/:') for ip in BAD_IPS]
    for path in ['/report', '/reports']:
        for q in queries:
            check_error(api.get(path + q), 400, path + q)
    check_unchanged(api, before, 'bad ips')


@test('bad-input')
def test_bad_query_parameters_are_refused(ctx):
    api = ctx.server()
    before = snapshot(api.store)
    ip = 'ip=192.0.2.10'
    for path in ['/reports?%s&limit=0' % ip, '/reports?%s&limit=1001' % ip,
                 '/reports?%s&limit=x' % ip, '/reports?%s&limit=-1' % ip,
                 '/reports?%s&limit=' % ip, '/reports?%s&since=yesterday' % ip,
                 '/reports?%s&since=2026-02-30' % ip,
                 '/reports?%s&since=2026-01-01T25:00:00Z' % ip,
                 '/reports?%s&until=0' % ip,
                 '/reports?%s&since=2026-02-01&until=2026-01-01' % ip,
                 '/reports?%s&limt=5' % ip, '/reports?%s&%s' % (ip, ip),
                 '/report?%s&x=1' % ip, '/hosts?x=1', '/health?verbose=1',
                 '/report?%s&ip=' % ip]:
        check_error(api.get(path), 400, path)
    check_unchanged(api, before, 'bad queries')


@test('bad-input')
def test_wrong_methods_and_unknown_paths(ctx):
    api = ctx.server()
    before = snapshot(api.store)
    for method, path, allow in [('DELETE', '/report', 'GET, POST'),
                                ('PUT', '/report', 'GET, POST'),
                                ('GET', '/collect', 'POST'),
                                ('POST', '/reports', 'GET'),
                                ('POST', '/hosts', 'GET'),
                                ('PATCH', '/health', 'GET'),
                                ('HEAD', '/health', 'GET')]:
        r = api.request(method, path)
        eq(r.status, 405, method + ' ' + path)
        eq(r.headers.get('allow'), allow, 'Allow of %s %s' % (method, path))
        if method != 'HEAD':
            check_error(r, 405, method + ' ' + path)
    for path in ['/', '/reportx', '/report/', '/x/../health', '/Health',
                 '/health/x', '/..%2f..%2fetc%2fpasswd']:
        check_error(api.get(path), 404, path)
    check_unchanged(api, before, 'methods and paths')


# -- limits ---------------------------------------------------------------

@test('limits')
def test_a_body_shorter_than_its_length_does_not_hang_the_server(ctx):
    api = ctx.server('--request-timeout', '2000')
    post_ok(api, report())
    before = snapshot(api.store)
    body = json.dumps(report(ip='192.0.2.44')).encode()
    for shut in [True, False]:
        with socket.create_connection((HOST, api.port), timeout=30) as s:
            s.sendall(b'POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                      b'Content-Type: application/json\r\n'
                      b'Content-Length: %d\r\n\r\n' % len(body) +
                      body[:len(body) // 2])
            if shut:
                s.shutdown(socket.SHUT_WR)
                check_error(read_response(s), 400, 'half a body')
        check_unchanged(api, before, 'half a body')
    if not api.alive():
        raise AssertionError('the server died')


@test('limits')
def test_a_body_sent_one_byte_a_second_is_cut_off(ctx):
    api = ctx.server('--request-timeout', '2000')
    before = snapshot(api.store)
    body = json.dumps(report()).encode()
    with socket.create_connection((HOST, api.port), timeout=30) as s:
        s.sendall(b'POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                  b'Content-Type: application/json\r\n'
                  b'Content-Length: %d\r\n\r\n' % len(body))
        answer = None
        for i in range(30):  # at most 30 s
            try:
                s.sendall(body[i:i + 1])
            except OSError:
                pass
            s.settimeout(1.0)
            try:
                answer = read_response(s)
                break
            except socket.timeout:
                continue
        if answer is None:
            raise AssertionError('the slow body was never cut off')
        check_error(answer, 408, 'slow body')
    check_unchanged(api, before, 'slow body')


@test('limits')
def test_idle_and_slow_connections_do_not_lock_out_others(ctx):
    api = ctx.server('--threads', '2', '--request-timeout', '1000')
    socks = []
    try:
        for _ in range(6):  # idle: connect, send nothing
            socks.append(socket.create_connection((HOST, api.port),
                                                  timeout=30))
        for _ in range(3):  # slow: half a request line
            s = socket.create_connection((HOST, api.port), timeout=30)
            s.sendall(b'GET /hea')
            socks.append(s)
        s = socket.create_connection((HOST, api.port), timeout=30)
        s.sendall(b'POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: '
                  b'application/json\r\nContent-Length: 100\r\n\r\n{')
        socks.append(s)
        # Once they time out, a normal client is served (within the
        # client's 30 s timeout).
        r = api.get('/health')
        eq((r.status, r.json()), (200, {'health': 'ok'}), 'health')
        eq(post_ok(api, report())['status'], 'success', 'POST')
    finally:
        for s in socks:
            s.close()


# -- crashes and stops ----------------------------------------------------

@test('crash')
def test_kill_9_during_a_burst_loses_no_acknowledged_report(ctx):
    api = ctx.server()
    acked = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(n):
        conn = api.connection(timeout=10)
        try:
            for i in range(200):
                if stop.is_set():
                    return
                ip = '10.%d.%d.%d' % (n, i // 200, i % 200 + 1)
                try:
                    r = api.request('POST', '/report', body=report(ip=ip),
                                    conn=conn)
                except Exception:  # the server was killed
                    return
                if r.status == 200:
                    with lock:
                        acked[ip] = r.json()['report_id']
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= 60:
                break
        time.sleep(0.01)
    api.proc.send_signal(signal.SIGKILL)
    api.proc.wait(30)
    stop.set()
    for t in threads:
        t.join(60)
    if len(acked) < 60:
        raise AssertionError('only %d reports acknowledged' % len(acked))

    # Every object left parses; temporary files start with '.'.
    objects = 0
    for dirpath, dirnames, filenames in os.walk(api.store):
        dirnames[:] = [d for d in dirnames if not d.startswith('.')]
        for name in filenames:
            if name.startswith('.'):
                continue
            with open(os.path.join(dirpath, name), 'rb') as f:
                json.loads(f.read())
            objects += 1
    # Every acknowledged report is there, and is the newest of its host.
    for ip, rid in acked.items():
        day_dirs = os.listdir(os.path.join(api.store, 'reports', ip))
        found = [n for d in day_dirs for n in
                 os.listdir(os.path.join(api.store, 'reports', ip, d))
                 if n.endswith('-' + rid + '.json')]
        eq(len(found), 1, 'report of ' + ip)
        with open(os.path.join(api.store, 'latest', ip + '.json')) as f:
            eq(json.load(f)['report_id'], rid, 'latest of ' + ip)

    # A new server on the same store serves them.
    api2 = ctx.server(store=api.store)
    ip, rid = next(iter(acked.items()))
    eq(latest(api2, ip).json()['report']['report_id'], rid, 'after restart')


@test('crash')
def test_sigterm_and_sigint_stop_cleanly(ctx):
    for sig in [signal.SIGTERM, signal.SIGINT]:
        api = ctx.server()
        post_ok(api, report())
        idle = api.connection()
        eq(api.get('/health', conn=idle).status, 200, 'keep-alive')
        started = time.monotonic()
        rc = api.stop(sig)
        idle.close()
        eq(rc, 0, 'exit status on %s' % sig.name)
        if 'stopped' not in api.log():
            raise AssertionError('no stop line:\n' + api.log())
        took = time.monotonic() - started
        print('# %s: stopped in %.2f s' % (sig.name, took))


@test('crash')
def test_sigterm_with_a_body_still_arriving(ctx):
    api = ctx.server('--request-timeout', '5000')
    body = json.dumps(report(ip='192.0.2.88')).encode()
    with socket.create_connection((HOST, api.port), timeout=30) as s:
        s.sendall(b'POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                  b'Content-Type: application/json\r\n'
                  b'Content-Length: %d\r\n\r\n' % len(body) + body[:10])
        time.sleep(0.2)
        api.proc.send_signal(signal.SIGTERM)
        # Its body will never come: the server hangs up (CivetWeb writes
        # nothing once stopping) and the client sends the report again.
        eq(s.recv(4096), b'', 'answer to an interrupted body')
        eq(api.proc.wait(30), 0, 'exit status')
        api.check_sanitizers()


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    binary = os.path.abspath(sys.argv[1])
    groups = set(sys.argv[2:])
    selected = [(g, fn) for g, fn in TESTS if not groups or g in groups]
    print('1..%d' % len(selected), flush=True)
    failed = 0
    for i, (group, fn) in enumerate(selected, 1):
        workdir = tempfile.mkdtemp(prefix='osi-api-test-')
        ctx = Ctx(binary, workdir)
        name = fn.__name__
        try:
            fn(ctx)
            for api in ctx.servers:
                if api.alive():
                    eq(api.stop(), 0, 'exit status on SIGTERM')
                    api.check_sanitizers()
            print('ok %d - %s' % (i, name), flush=True)
        except Exception:
            failed += 1
            print('not ok %d - %s' % (i, name))
            for line in traceback.format_exc().splitlines():
                print('# ' + line)
            for api in ctx.servers:
                api.kill()
                print('# --- log of %s' % api.log_path)
                for line in api.log().splitlines()[-40:]:
                    print('# ' + line)
            sys.stdout.flush()
        finally:
            for api in ctx.servers:
                api.kill()
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
