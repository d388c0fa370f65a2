# SPDX-License-Identifier: MIT
"""The s3:// store against a real s3rver with signature checks on.

Usage: test_store_s3.py S3_DRIVER FAKE_LIBS3 [TEST_NAME...]
(TEST_NAME+libs3-writes: that test with the writes through libs3.)

Each test_* function starts the servers it needs on 127.0.0.1 and stops
them in a finally block. s3_driver (s3_driver.c) keeps a store open across
commands, so a test can stop and restart s3rver under it. Every wait is
bounded; no test asserts how long anything took.
"""

import hashlib
import http.server
import json
import os
import select
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3rver  # noqa: E402

DRIVER = None
FAKE_LIBS3 = None

OSI_OK = 0
OSI_EINVAL = -1
OSI_ENOTFOUND = -3
OSI_ENOTSUP = -4
OSI_ETIMEOUT = -9
OSI_ESTORE = -10
OSI_STORE_S3_INSECURE_TLS = 1

# As the original agent sends it, plus the fields osinspect-agent adds.
REPORT = {
    'cpu': '', 'os_username': 'root', 'os_name': 'Linux',
    'server_ip': '10.20.30.40', 'timestamp': '2026-01-02 03:04:05',
    'os_version': '#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1',
    'hostname': 'web-1', 'collected_at': '2026-01-02T03:04:05.678Z',
}


class Driver:
    """One s3_driver process: call() sends a command, returns its answer."""

    def __init__(self, env):
        self.proc = subprocess.Popen([DRIVER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env,
                                     text=True)

    def call(self, *cmd, timeout=60.0):
        self.proc.stdin.write(json.dumps(cmd) + '\n')
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise AssertionError('%s: no answer within %.0f s (hang)'
                                 % (cmd[0], timeout))
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError('%s: s3_driver died (exit %s)'
                                 % (cmd[0], self.proc.wait()))
        return json.loads(line)

    def ok(self, *cmd, **kw):
        answer = self.call(*cmd, **kw)
        assert answer['status'] == OSI_OK, '%s: %s' % (cmd[0], answer)
        return answer

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError('s3_driver did not exit (hang in close)')
        assert self.proc.returncode == 0, 's3_driver exit %d' % (
            self.proc.returncode)


def expect(answer, status, *needles):
    assert answer['status'] == status, 'want %d, got %s' % (status, answer)
    for needle in needles:
        assert needle in answer['message'], '%r not in %r' % (
            needle, answer['message'])


def test_backend_round_trip():
    with s3rver.S3rver() as s3:
        with Driver(s3.env()) as d:
            d.ok('bopen', s3.bucket, 0, 0)
            rkey = 'reports/10.0.0.1/2026-01-02/030405.678Z-abc.json'
            lkey = 'latest/10.0.0.1.json'
            body = json.dumps({'server_ip': '10.0.0.1', 'n': 'é'})
            d.ok('bputr', rkey, lkey, body)
            for key in (rkey, lkey):
                got = d.ok('bget', key)
                assert got['data'] == body and got['nul'], got
            # Listed by libs3 through the backend, not assumed.
            assert d.ok('blist', 'reports/10.0.0.1/')['keys'] == [rkey]
            assert d.ok('blist', 'latest/')['keys'] == [lkey]
            assert d.ok('blist', '')['keys'] == [lkey, rkey]
            assert d.ok('blist', 'nothing/')['keys'] == []
            expect(d.call('bget', 'latest/10.0.0.2.json'), OSI_ENOTFOUND,
                   'latest/10.0.0.2.json')
            # IPv6 keys (':' is escaped in the URL and in the signature).
            d.ok('bput', 'latest/2001:db8::1.json', '{}')
            assert d.ok('bget', 'latest/2001:db8::1.json')['data'] == '{}'
            d.ok('bput', 'empty.json', '')
            assert d.ok('bget', 'empty.json')['data'] == ''
            d.ok('bping')
            d.ok('bclose')


def test_latest_never_goes_back():
    """latest/ is rewritten only by a newer report: one spooled during an
    outage and sent late is stored, and latest keeps the newer one."""
    def rkey(ip, day, rid):
        return 'reports/%s/2026-01-%02d/030405.678Z-%s.json' % (ip, day, rid)

    with s3rver.S3rver() as s3:
        with Driver(s3.env()) as d:
            d.ok('bopen', s3.bucket, 0, 0)
            for ip in ('10.0.0.1', '2001:db8::1'):
                latest = 'latest/%s.json' % ip
                d.ok('bputr', rkey(ip, 2, 'b'), latest, '{"r":"b"}')
                d.ok('bputr', rkey(ip, 1, 'a'), latest, '{"r":"a"}')
                assert d.ok('bget', latest)['data'] == '{"r":"b"}'
                assert d.ok('bget', rkey(ip, 1, 'a'))['data'] == '{"r":"a"}'
                d.ok('bputr', rkey(ip, 2, 'b'), latest, '{"r":"b2"}')
                assert d.ok('bget', latest)['data'] == '{"r":"b"}'
                d.ok('bputr', rkey(ip, 3, 'c'), latest, '{"r":"c"}')
                assert d.ok('bget', latest)['data'] == '{"r":"c"}'
            # A latest object that names no report (written by something
            # else) is older than any report.
            d.ok('bput', 'latest/10.0.0.2.json', '{"r":"x"}')
            d.ok('bputr', rkey('10.0.0.2', 1, 'a'), 'latest/10.0.0.2.json',
                 '{"r":"a"}')
            assert d.ok('bget', 'latest/10.0.0.2.json')['data'] == '{"r":"a"}'


def test_backend_list_pages():
    """More keys than one page (1000): the listing follows the markers,
    and a callback that returns non-zero stops it."""
    with s3rver.S3rver() as s3:
        with Driver(s3.env()) as d:
            d.ok('bopen', s3.bucket, 0, 0)
            d.ok('bfill', 'many/', 1003, 8, 0, timeout=300)
            keys = d.ok('blist', 'many/', timeout=120)['keys']
            assert keys == ['many/%05d.json' % i for i in range(1003)], (
                len(keys))
            assert d.ok('blist1', 'many/')['keys'] == ['many/00000.json']


def test_backend_list_flat():
    """list_flat: only the keys with no '/' after the prefix (the original
    tool's keys at the top of a bucket full of reports)."""
    with s3rver.S3rver() as s3:
        with Driver(s3.env()) as d:
            d.ok('bopen', s3.bucket, 0, 0)
            legacy = ['10_0_0_5_2026-01-01.json', '10_0_0_5_2026-01-02.json']
            for key in legacy:
                d.ok('bput', key, '{}')
            d.ok('bputr', 'reports/10.0.0.5/2026-01-03/030405.678Z-a.json',
                 'latest/10.0.0.5.json', '{}')
            d.ok('bput', 'seen/192.0.2.1.json', '{"ip":"10.0.0.5"}')
            assert d.ok('blistflat', '')['keys'] == legacy
            assert d.ok('blistflat', 'latest/')['keys'] == [
                'latest/10.0.0.5.json']
            assert d.ok('blistflat', 'reports/')['keys'] == []
            d.ok('bfill', 'deep/', 1003, 8, 2, timeout=300)
            d.ok('bput', 'deep/top.json', '{}')
            d.ok('bput', 'deep/zzz.json', '{}')
            assert d.ok('blistflat', 'deep/', timeout=120)['keys'] == [
                'deep/top.json', 'deep/zzz.json']
            assert len(d.ok('blist', 'deep/', timeout=120)['keys']) == 1005


def test_list_pages_of_common_prefixes():
    """A flat listing whose first page holds only common prefixes (S3
    counts them against max-keys) goes on after the last of them."""
    head = ('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>'
            '<Name>os-inspector-data</Name><Prefix></Prefix>'
            '<MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>')
    page1 = (head + '<IsTruncated>true</IsTruncated>'
             '<CommonPrefixes><Prefix>latest/</Prefix></CommonPrefixes>'
             '<CommonPrefixes><Prefix>reports/</Prefix></CommonPrefixes>'
             '</ListBucketResult>')
    page2 = (head + '<IsTruncated>false</IsTruncated><Contents>'
             '<Key>10_0_0_5_2026-01-01.json</Key>'
             '<LastModified>2026-01-01T00:00:00.000Z</LastModified>'
             '<ETag>"x"</ETag><Size>2</Size></Contents></ListBucketResult>')
    with FakeS3([(200, page1), (200, page2)]) as fake:
        with Driver(fake.env()) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            assert d.ok('blistflat', '')['keys'] == [
                '10_0_0_5_2026-01-01.json']
            assert len(fake.requests) == 2, fake.requests
            assert 'marker=reports' in fake.requests[1][1], fake.requests


def test_public_api_keys():
    """osi_store_* on s3://: put, latest, history, hosts, ping; the objects
    are where docs/storage.md says, as libs3 lists them."""
    with s3rver.S3rver() as s3:
        with Driver(s3.env()) as d:
            d.ok('open', 's3://' + s3.bucket, 0, 0)
            d.ok('bopen', s3.bucket, 0, 0)
            d.ok('ping')
            report = dict(REPORT,
                          report_id='0b7c6f1e-2d3a-4b5c-8d9e-0f1a2b3c4d5e')
            d.ok('put', json.dumps(report), '192.0.2.7')
            latest = json.loads(d.ok('latest', '10.20.30.40')['data'])
            assert latest['report_id'] == report['report_id'], latest
            assert latest['received']['peer'] == '192.0.2.7', latest
            keys = d.ok('blist', '')['keys']
            rkey = ('reports/10.20.30.40/2026-01-02/030405.678Z-%s.json'
                    % report['report_id'])
            assert rkey in keys, keys
            assert 'latest/10.20.30.40.json' in keys, keys
            stored = json.loads(d.ok('bget', rkey)['data'])
            assert stored['received']['peer'] == '192.0.2.7', stored
            history = json.loads(d.ok('history', '10.20.30.40', 10)['data'])
            assert [r['report_id'] for r in history] == [
                report['report_id']], history
            hosts = json.loads(d.ok('hosts')['data'])
            assert [h['ip'] for h in hosts] == ['10.20.30.40'], hosts
            d.ok('close')


def test_wrong_secret_fails_clearly():
    with s3rver.S3rver() as s3:
        with Driver(s3.env(secret='not-the-secret')) as d:
            d.ok('bopen', s3.bucket, 0, 0)
            answer = d.call('bput', 'latest/10.0.0.1.json', '{}')
            expect(answer, OSI_ESTORE, 'latest/10.0.0.1.json',
                   'SignatureDoesNotMatch', 'HTTP 403',
                   'AWS_SECRET_ACCESS_KEY')
            expect(d.call('bping'), OSI_ESTORE, 'SignatureDoesNotMatch')
            expect(d.call('bget', 'x.json'), OSI_ESTORE,
                   'SignatureDoesNotMatch')
        with Driver(s3.env(access='NOBODY')) as d:
            d.ok('bopen', s3.bucket, 0, 0)
            expect(d.call('bput', 'k.json', '{}'), OSI_ESTORE,
                   'InvalidAccessKeyId', 'AWS_ACCESS_KEY_ID')


def test_no_such_bucket():
    with s3rver.S3rver() as s3:
        with Driver(s3.env()) as d:
            d.ok('bopen', 'other-bucket', 0, 0)
            expect(d.call('bput', 'k.json', '{}'), OSI_ESTORE,
                   'other-bucket', 'does not exist')
            expect(d.call('bping'), OSI_ESTORE, 'does not exist')


def test_server_stopped_then_restarted():
    """s3rver stopped: put and ping fail within the deadline; restarted on
    the same port: the same open stores work again, without reopening."""
    s3 = s3rver.S3rver().start()
    d = Driver(s3.env())
    try:
        d.ok('bopen', s3.bucket, 3000, 0)
        d.ok('open', 's3://' + s3.bucket, 3000, 0)
        d.ok('bput', 'before.json', '{"n":1}')
        s3.stop()
        for cmd in (('bput', 'during.json', '{}'), ('bping',),
                    ('bget', 'before.json'), ('blist', ''),
                    ('ping',), ('put', json.dumps(REPORT), '')):
            answer = d.call(*cmd, timeout=30)
            assert answer['status'] in (OSI_ESTORE, OSI_ETIMEOUT), answer
            assert answer['message'], answer
        answer = d.call('bput', 'during.json', '{}')
        expect(answer, OSI_ESTORE, 'during.json', 'FailedToConnect',
               'no HTTP answer')
        s3.start()
        d.ok('bping')
        d.ok('ping')
        d.ok('bput', 'after.json', '{"n":2}')
        assert d.ok('bget', 'before.json')['data'] == '{"n":1}'
        assert d.ok('bget', 'after.json')['data'] == '{"n":2}'
        d.ok('put', json.dumps(REPORT), '')
    finally:
        try:
            d.close()
        finally:
            s3.close()


def test_server_hung_times_out():
    """s3rver frozen (connections accepted, nothing answered): calls end
    with OSI_ETIMEOUT at the deadline, and the store works once it
    answers again."""
    s3 = s3rver.S3rver().start()
    d = Driver(s3.env())
    try:
        d.ok('bopen', s3.bucket, 1500, 0)
        d.ok('bput', 'before.json', '{}')
        s3.pause()
        expect(d.call('bput', 'frozen.json', '{}', timeout=30),
               OSI_ETIMEOUT, 'frozen.json', '1500 ms')
        expect(d.call('bping', timeout=30), OSI_ETIMEOUT)
        expect(d.call('bget', 'before.json', timeout=30), OSI_ETIMEOUT)
        s3.resume()
        d.ok('bping')
        d.ok('bput', 'thawed.json', '{}')
        assert d.ok('bget', 'thawed.json')['data'] == '{}'
    finally:
        try:
            s3.resume()
            d.close()
        finally:
            s3.close()


def test_sixteen_threads():
    """16 threads put, get and list through one backend at once."""
    with s3rver.S3rver() as s3:
        with Driver(s3.env()) as d:
            d.ok('bopen', s3.bucket, 0, 0)
            answer = d.ok('hammer', 16, 40, 120, timeout=300)
            assert answer['errors'] == 0, answer
            assert answer['ops'] > 16 * 40 * 3, answer
            # Every thread's objects are there, listed by libs3.
            keys = d.ok('blist', 'hammer/')['keys']
            assert len(keys) == 16 * 40 + 16, len(keys)


def test_allocation_failures():
    """Failing each allocation of the library in turn, on the calling
    threads and the I/O thread alike: OSI_ENOMEM or success, no crash and
    (under ASan and valgrind) no leak."""
    with s3rver.S3rver() as s3:
        with Driver(s3.env()) as d:
            answer = d.ok('chaos', s3.bucket, timeout=300)
            assert answer['unexpected'] == [], answer
            assert answer['rounds'] > 8, answer


def test_sixteen_threads_public_api():
    """16 threads put, then read latest and history of their own host,
    through one osi_store on s3://; then hosts lists all 16."""
    with s3rver.S3rver() as s3:
        with Driver(s3.env()) as d:
            d.ok('open', 's3://' + s3.bucket, 0, 0)
            answer = d.ok('phammer', 16, 12, 120, timeout=300)
            assert answer['errors'] == 0, answer
            hosts = json.loads(d.ok('hosts')['data'])
            assert sorted(h['ip'] for h in hosts) == sorted(
                '10.1.%d.1' % i for i in range(16)), hosts


def test_https_refused_without_flag():
    env = dict(os.environ, AWS_ENDPOINT_URL='https://127.0.0.1:9',
               AWS_ACCESS_KEY_ID='k', AWS_SECRET_ACCESS_KEY='s')
    with Driver(env) as d:
        expect(d.call('bopen', 'os-inspector-data', 0, 0), OSI_ENOTSUP,
               'https', 'verify TLS certificates')
        expect(d.call('open', 's3://os-inspector-data', 0, 0), OSI_ENOTSUP,
               'https')
        d.ok('bopen', 'os-inspector-data', 0, OSI_STORE_S3_INSECURE_TLS)
        d.ok('bclose')
    # No endpoint means AWS itself, over https.
    del env['AWS_ENDPOINT_URL']
    with Driver(env) as d:
        expect(d.call('bopen', 'os-inspector-data', 0, 0), OSI_ENOTSUP,
               'https')


def test_configuration_refused():
    base = dict(os.environ, AWS_ENDPOINT_URL='http://127.0.0.1:9',
                AWS_ACCESS_KEY_ID='k', AWS_SECRET_ACCESS_KEY='s')
    cases = [
        ({'AWS_ACCESS_KEY_ID': None}, 'AWS_ACCESS_KEY_ID'),
        ({'AWS_ACCESS_KEY_ID': ''}, 'AWS_ACCESS_KEY_ID'),
        ({'AWS_SECRET_ACCESS_KEY': None}, 'AWS_SECRET_ACCESS_KEY'),
        ({'AWS_ENDPOINT_URL': 'ftp://127.0.0.1:9'}, 'AWS_ENDPOINT_URL'),
        ({'AWS_ENDPOINT_URL': 'http://127.0.0.1:9/prefix'},
         'AWS_ENDPOINT_URL'),
        ({'AWS_ENDPOINT_URL': 'http://user@127.0.0.1:9'}, 'AWS_ENDPOINT_URL'),
        ({'AWS_ENDPOINT_URL': 'http://'}, 'AWS_ENDPOINT_URL'),
    ]
    for change, needle in cases:
        env = dict(base)
        for name, value in change.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        with Driver(env) as d:
            expect(d.call('bopen', 'os-inspector-data', 0, 0), OSI_EINVAL,
                   needle)
            expect(d.call('open', 's3://os-inspector-data', 0, 0),
                   OSI_EINVAL, needle)
    with Driver(base) as d:
        for bucket in ('ab', 'Upper-case', 'under_score', 'a..b', '-ab',
                       'ab-', '10.0.0.1', 'bucket/prefix', 'a' * 64, ''):
            expect(d.call('bopen', bucket, 0, 0), OSI_EINVAL, 'bucket')
        d.ok('bopen', 'os-inspector-data/', 0, 0)
        d.ok('bclose')


class FakeS3:
    """An HTTP server on 127.0.0.1 that answers from a script, to bring
    about what s3rver never does: 5xx answers, dropped connections,
    bodies cut short, wrong ETags. It checks no signature. Each entry of
    the script answers one request; the last one answers all that follow:
    (status, body); ('close',) to drop the connection unanswered;
    ('short', body, length) for a 200 that promises length bytes;
    ('page', status, html) for a proxy's error page (text/html), which
    libs3 2.0 takes for success when it answers a PUT (the object is not
    stored), and for a HEAD a 404; ('etag', etag, store) for a PUT
    answered 200 with that ETag, which stores the object or not; ('hang',)
    for no answer until the server stops; ('idle-close', status, body) to
    answer as (status, body), then close the connection without saying so.
    A PUT answered 200 stores its body and x-amz-meta-* headers, which a
    HEAD and a GET return, and answers with the body's MD5 as ETag, as S3
    does. A COPY (a PUT with x-amz-copy-source, recorded as 'COPY', which
    only libs3 sends) answered 200 copies a stored object with the new
    metadata, or answers 404 NoSuchKey when there is none."""

    def __init__(self, script):
        self.script = list(script)
        self.requests = []
        self.objects = {}
        self.connections = 0
        self.stopping = threading.Event()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def setup(self):
                fake.connections += 1
                super().setup()

            def reply(self, status, body=b'', headers=()):
                self.send_response(status)
                self.send_header('Content-Length', str(len(body)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                if self.command != 'HEAD':
                    self.wfile.write(body)

            def stored_headers(self, stored):
                return [('x-amz-meta-' + name, value)
                        for name, value in sorted(stored[1].items())]

            def answer(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else b''
                source = self.headers.get('x-amz-copy-source')
                method = 'COPY' if source else self.command
                fake.requests.append((method, self.path))
                step = fake.script[min(len(fake.requests),
                                       len(fake.script)) - 1]
                if step[0] == 'idle-close':
                    self.close_connection = True
                    step = step[1:]
                stored = fake.objects.get(self.path)
                meta = {name[len('x-amz-meta-'):].lower(): value
                        for name, value in self.headers.items()
                        if name.lower().startswith('x-amz-meta-')}
                if step[0] == 'close':
                    self.close_connection = True
                elif step[0] == 'hang':
                    fake.stopping.wait(60)
                    self.close_connection = True
                elif step[0] == 'etag' and method == 'PUT':
                    if step[2]:
                        fake.objects[self.path] = (body, meta)
                    self.reply(200, b'', [('ETag', step[1])])
                elif step[0] == 'short':
                    self.send_response(200)
                    self.send_header('Content-Length', str(step[2]))
                    self.end_headers()
                    self.wfile.write(step[1].encode())
                    self.close_connection = True
                elif step[0] == 'page' and self.command == 'HEAD':
                    self.reply(404)
                elif step[0] == 'page':
                    self.reply(step[1], step[2].encode(),
                               [('Content-Type', 'text/html')])
                elif step[0] == 200 and method == 'COPY':
                    copied = fake.objects.get(source)
                    if copied is None:
                        self.reply(404, s3_error('NoSuchKey').encode(),
                                   [('Content-Type', 'application/xml')])
                    else:
                        fake.objects[self.path] = (copied[0], meta)
                        self.reply(200, COPY_RESULT.encode(),
                                   [('Content-Type', 'application/xml')])
                elif step[0] == 200 and method == 'PUT':
                    fake.objects[self.path] = (body, meta)
                    self.reply(200, b'', [
                        ('ETag', '"%s"' % hashlib.md5(body).hexdigest())])
                elif step[0] == 200 and self.command == 'HEAD':
                    if stored is None:
                        self.reply(404)
                    else:
                        self.send_response(200)
                        self.send_header('Content-Length',
                                         str(len(stored[0])))
                        for name, value in self.stored_headers(stored):
                            self.send_header(name, value)
                        self.end_headers()
                elif step[0] == 200 and stored is not None:
                    self.reply(200, stored[0], self.stored_headers(stored))
                else:
                    body = step[1].encode()
                    xml = [('Content-Type', 'application/xml')]
                    self.reply(step[0], body,
                               xml if body.startswith(b'<') else [])

            do_GET = do_PUT = do_HEAD = answer

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever)
        self.thread.start()

    def env(self):
        return dict(os.environ,
                    AWS_ENDPOINT_URL='http://127.0.0.1:%d'
                    % self.server.server_address[1],
                    AWS_ACCESS_KEY_ID='k', AWS_SECRET_ACCESS_KEY='s')

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


OBJ = '/os-inspector-data/'

# What S3 answers to a copy; libs3 2.0 never reads it (io_start_put).
COPY_RESULT = ('<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult>'
               '<LastModified>2026-01-02T03:04:05.000Z</LastModified>'
               '<ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag>'
               '</CopyObjectResult>')


def s3_error(code, message='fake'):
    return ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code>'
            '<Message>%s</Message></Error>' % (code, message))


def test_retries_transient_errors():
    """503 SlowDown, bare 503, 502 and 504, an error code libs3 does not
    know, 500 InternalError and a dropped connection are all retried."""
    script = [(503, s3_error('SlowDown')), (503, ''), (502, ''), (504, ''),
              (200, '')]
    with FakeS3(script) as fake:
        with Driver(fake.env()) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bput', 'latest/10.0.0.1.json', '{}')
            path = OBJ + 'latest/10.0.0.1.json'
            assert fake.requests == [('PUT', path)] * 5, fake.requests
    script = [(503, s3_error('ServiceUnavailable')),
              (500, s3_error('InternalError')), ('close',),
              (503, 'Service Unavailable'), (200, '{"a":1}')]
    with FakeS3(script) as fake:
        with Driver(fake.env()) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            assert d.ok('bget', 'k.json')['data'] == '{"a":1}'
            assert len(fake.requests) == 5, fake.requests


def test_latest_of_another_process():
    """A second process stored a newer report of the host: a process that
    has not seen this host reads latest first and leaves it, on s3rver."""
    with s3rver.S3rver() as s3:
        d1 = Driver(s3.env())
        d2 = Driver(s3.env())
        try:
            latest = 'latest/10.0.0.7.json'
            d1.ok('bopen', s3.bucket, 0, 0)
            d2.ok('bopen', s3.bucket, 0, 0)
            d2.ok('bputr', 'reports/10.0.0.7/2026-01-03/030405.678Z-c.json',
                  latest, '{"r":"c"}')
            d1.ok('bputr', 'reports/10.0.0.7/2026-01-02/030405.678Z-b.json',
                  latest, '{"r":"b"}')
            assert d1.ok('bget', latest)['data'] == '{"r":"c"}'
            assert d1.ok('bget', 'reports/10.0.0.7/2026-01-02/'
                         '030405.678Z-b.json')['data'] == '{"r":"b"}'
            # Then this process knows latest: a newer report moves it.
            d1.ok('bputr', 'reports/10.0.0.7/2026-01-04/030405.678Z-d.json',
                  latest, '{"r":"d"}')
            assert d2.ok('bget', latest)['data'] == '{"r":"d"}'
        finally:
            d1.close()
            d2.close()


def test_retries_are_bounded():
    """A server that keeps failing: a few tries, then OSI_ESTORE naming
    the key, libs3's status and the HTTP status."""
    cases = [((503, s3_error('SlowDown', 'Reduce your request rate')),
              ('ErrorSlowDown', 'HTTP 503', 'after 5 tries',
               'Reduce your request rate')),
             ((502, ''), ('HttpErrorUnknown', 'after 5 tries')),
             (('close',), ('InternalError', 'no HTTP answer')),
             (('short', '{"a"', 100),
              ('ConnectionFailed', 'ended after 4 of 100 bytes'))]
    for step, needles in cases:
        with FakeS3([step]) as fake:
            with Driver(fake.env()) as d:
                d.ok('bopen', 'os-inspector-data', 10000, 0)
                expect(d.call('bget', 'latest/10.0.0.9.json'), OSI_ESTORE,
                       'GET latest/10.0.0.9.json', *needles)
                assert len(fake.requests) == 5, (step, fake.requests)


def test_permanent_errors_not_retried():
    for step, status, needle in [
            ((400, s3_error('InvalidArgument')), OSI_ESTORE, 'HTTP 400'),
            ((403, ''), OSI_ESTORE, 'HttpErrorForbidden'),
            ((404, s3_error('NoSuchKey')), OSI_ENOTFOUND, 'no S3 object')]:
        with FakeS3([step]) as fake:
            with Driver(fake.env()) as d:
                d.ok('bopen', 'os-inspector-data', 10000, 0)
                expect(d.call('bget', 'k.json'), status, needle)
                assert len(fake.requests) == 1, fake.requests


def test_concurrent_puts_of_one_key():
    """Threads of one process PUT the same key at once: each PUT is
    judged by its own answer (its ETag), so an overwrite by another is
    never taken for a lost PUT and tried again. (Against FakeS3: s3rver
    itself fails concurrent PUTs of one key with 500 InternalError.)"""
    with FakeS3([(200, '')]) as fake:
        with Driver(fake.env()) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bfill', 'seen/192.0.2.1.json', 200, 8, 1, timeout=120)
            puts = sum(1 for m, _ in fake.requests if m == 'PUT')
            # A loaded machine may time out and retry a PUT or two; an
            # overwrite taken for a lost PUT would retry most of them.
            assert 200 <= puts < 220, puts


def test_own_client_report_costs_two_puts():
    """On an http endpoint a report is a PUT of the report and a PUT of
    latest, each taken as stored by its answer (200 and the MD5 of the
    bytes as ETag), after a HEAD of latest when this process does not know
    what it names; an older report arriving late is only stored."""
    def rkey(day):
        return 'reports/10.0.0.1/2026-01-%02d/030405.678Z-x.json' % day

    latest = 'latest/10.0.0.1.json'
    with FakeS3([(200, '')]) as fake:
        with Driver(fake.env()) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bputr', rkey(2), latest, '{"r":2}')
            assert fake.requests == [
                ('HEAD', OBJ + latest), ('PUT', OBJ + rkey(2)),
                ('PUT', OBJ + latest)], fake.requests
            stored = fake.objects[OBJ + latest]
            assert stored[0] == b'{"r":2}', stored
            assert stored[1]['osi-report'] == rkey(2), stored
            del fake.requests[:]
            d.ok('bputr', rkey(1), latest, '{"r":1}')
            assert fake.requests == [('PUT', OBJ + rkey(1))], fake.requests
            assert fake.objects[OBJ + latest][0] == b'{"r":2}'
            del fake.requests[:]
            d.ok('bputr', rkey(3), latest, '{"r":3}')
            assert fake.requests == [
                ('PUT', OBJ + rkey(3)), ('PUT', OBJ + latest)], fake.requests
            assert fake.objects[OBJ + latest][0] == b'{"r":3}'
            # One kept connection served them all.
            assert fake.connections == 1, fake.connections
    # A write that failed leaves latest unknown: the next report reads it.
    with FakeS3([(200, '')] * 3 + [(403, s3_error('AccessDenied'))] +
                [(200, '')]) as fake:
        with Driver(fake.env()) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bputr', rkey(2), latest, '{"r":2}')
            expect(d.call('bputr', rkey(3), latest, '{"r":3}'), OSI_ESTORE,
                   'ErrorAccessDenied', 'HTTP 403')
            del fake.requests[:]
            d.ok('bputr', rkey(4), latest, '{"r":4}')
            assert [m for m, _ in fake.requests] == ['HEAD', 'PUT', 'PUT'], (
                fake.requests)


def test_own_client_error_answers_retried():
    """A bare 502, a proxy's HTML 502 page, SlowDown and a 200 whose ETag
    is not the MD5 of the bytes are retried and never taken as stored;
    after five such answers the write fails naming the real status."""
    page = '<html><body><h1>502 Bad Gateway</h1></body></html>'
    wrong = '"%s"' % hashlib.md5(b'other').hexdigest()
    script = [(502, ''), ('page', 502, page),
              (503, s3_error('SlowDown', 'Reduce your request rate')),
              ('etag', wrong, False), (200, '')]
    with FakeS3(script) as fake:
        with Driver(fake.env()) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bput', 'seen/a.json', '{"a":1}')
            assert fake.requests == [('PUT', OBJ + 'seen/a.json')] * 5, (
                fake.requests)
            assert fake.objects[OBJ + 'seen/a.json'][0] == b'{"a":1}'
    cases = [((502, ''), ('HTTP 502', 'after 5 tries')),
             (('page', 502, page), ('HTTP 502', 'after 5 tries')),
             ((503, s3_error('SlowDown', 'Reduce your request rate')),
              ('ErrorSlowDown', 'HTTP 503', 'Reduce your request rate')),
             (('etag', wrong, False),
              ('HTTP 200 with ETag', 'not the MD5 of the bytes sent'))]
    for step, needles in cases:
        with FakeS3([(404, ''), step]) as fake:
            with Driver(fake.env()) as d:
                d.ok('bopen', 'os-inspector-data', 10000, 0)
                expect(d.call('bputr', 'reports/a.json', 'latest/a.json',
                              '{}'),
                       OSI_ESTORE, 'PUT reports/a.json', *needles)
                # HEAD of latest (none yet), then five PUTs of the report;
                # latest is never written.
                assert [m for m, _ in fake.requests] == (
                    ['HEAD'] + ['PUT'] * 5), (step, fake.requests)
                assert fake.objects == {}, fake.objects
    # latest's PUT failing names latest.
    with FakeS3([(200, ''), (200, ''), (502, '')]) as fake:
        with Driver(fake.env()) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            expect(d.call('bputr', 'reports/a.json', 'latest/a.json', '{}'),
                   OSI_ESTORE, 'latest/a.json: ', 'HTTP 502')


def test_own_client_etag_not_md5_verified():
    """An ETag that is no MD5 (a bucket encrypted with KMS keys): a HEAD
    must find this PUT's nonce and length, or the PUT is tried again."""
    with FakeS3([('etag', '"kms-1"', True), (200, '')]) as fake:
        with Driver(fake.env()) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bput', 'seen/a.json', '{"a":1}')
            assert fake.requests == [('PUT', OBJ + 'seen/a.json'),
                                     ('HEAD', OBJ + 'seen/a.json')], (
                fake.requests)
    # Answered, not stored: the HEAD finds nothing, the PUT goes again.
    with FakeS3([('etag', '"kms-1"', False), (200, ''),
                 ('etag', '"kms-2"', True), (200, '')]) as fake:
        with Driver(fake.env()) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bput', 'seen/a.json', '{"a":1}')
            assert [m for m, _ in fake.requests] == [
                'PUT', 'HEAD', 'PUT', 'HEAD'], fake.requests
    # Stored by another PUT (an older nonce): not this one's.
    with FakeS3([('etag', '"kms-1"', False), (200, ''),
                 ('etag', '"kms-2"', True), (200, '')]) as fake:
        fake.objects[OBJ + 'seen/a.json'] = (b'{"a":1}', {'osi-put': 'x'})
        with Driver(fake.env()) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bput', 'seen/a.json', '{"a":1}')
            assert [m for m, _ in fake.requests] == [
                'PUT', 'HEAD', 'PUT', 'HEAD'], fake.requests
            assert fake.objects[OBJ + 'seen/a.json'][1]['osi-put'] != 'x'


def test_own_client_connection_closed_between_requests():
    """The server closes a kept connection after an answer: the next
    request goes on a new one; a dropped request is sent again."""
    with FakeS3([('idle-close', 200, ''), (200, '')]) as fake:
        with Driver(fake.env()) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bput', 'seen/a.json', '{"a":1}')
            d.ok('bput', 'seen/b.json', '{"b":1}')
            d.ok('bput', 'seen/c.json', '{"c":1}')
            assert len(fake.requests) == 3, fake.requests
            assert fake.connections == 2, fake.connections
    with FakeS3([(200, ''), ('close',), (200, '')]) as fake:
        with Driver(fake.env()) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bput', 'seen/a.json', '{"a":1}')
            d.ok('bput', 'seen/b.json', '{"b":1}')
            assert fake.requests == [('PUT', OBJ + 'seen/a.json')] + [
                ('PUT', OBJ + 'seen/b.json')] * 2, fake.requests
            assert fake.objects[OBJ + 'seen/b.json'][0] == b'{"b":1}'


def test_own_client_deadline_when_server_hangs():
    """A server that takes the request and never answers: the write ends
    with OSI_ETIMEOUT at the store's deadline."""
    with FakeS3([('hang',)]) as fake:
        with Driver(fake.env()) as d:
            d.ok('bopen', 'os-inspector-data', 1500, 0)
            expect(d.call('bputr', 'reports/a.json', 'latest/a.json', '{}',
                          timeout=30),
                   OSI_ETIMEOUT, 'reports/a.json', '1500 ms',
                   'no answer to try 1')
            expect(d.call('bput', 'seen/a.json', '{}', timeout=30),
                   OSI_ETIMEOUT, 'seen/a.json', '1500 ms')


# The test seam of store_s3.c: writes to an http endpoint go through
# libs3, as on https (where they always do), so that FakeS3 and s3rver,
# which speak plain HTTP, reach that path. Never a user setting.
LIBS3_WRITES = 'OSIP_TEST_S3_LIBS3_WRITES'


def libs3_writes(env):
    return dict(env, **{LIBS3_WRITES: '1'})


def test_write_path_follows_seam():
    """The writes go by the own client (two PUTs), or through libs3 (PUT,
    COPY, GET) when the environment this run gives every server's env()
    holds the test seam: the second run of the s3rver tests
    (LIBS3_WRITES_AGAIN) is on the libs3 path."""
    on = os.environ.get(LIBS3_WRITES) == '1'
    with FakeS3([(200, '')]) as fake:
        with Driver(fake.env()) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bputr', 'reports/a.json', 'latest/a.json', '{}')
            want = ['HEAD', 'PUT', 'COPY', 'GET'] if on else [
                'HEAD', 'PUT', 'PUT']
            assert [m for m, _ in fake.requests] == want, (on, fake.requests)


def test_libs3_writes_retry_transient_errors():
    """Through libs3: 503 SlowDown is retried; a bare 503 or 504 passes
    for success in libs3 2.0, and the HEAD after it (answered 502, then
    404) catches it."""
    script = [(503, s3_error('SlowDown')), (503, ''), (502, ''), (504, ''),
              (200, '')]
    with FakeS3(script) as fake:
        with Driver(libs3_writes(fake.env())) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bput', 'latest/10.0.0.1.json', '{}')
            path = OBJ + 'latest/10.0.0.1.json'
            assert fake.requests == [
                ('PUT', path), ('PUT', path), ('HEAD', path), ('PUT', path),
                ('HEAD', path), ('PUT', path), ('HEAD', path)], fake.requests


def test_libs3_writes_answered_but_not_stored():
    """libs3 2.0 takes a PUT or a COPY answered by a 5xx without an S3
    error document (a proxy's error page, a bare 502) for success, and
    never shows the answer's headers (no ETag): the store reads latest
    back after the copy, retries, and fails rather than lose a report."""
    page = '<html><body><h1>502 Bad Gateway</h1></body></html>'
    with FakeS3([('page', 502, page)]) as fake:
        with Driver(libs3_writes(fake.env())) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            expect(d.call('bputr', 'reports/a.json', 'latest/a.json', '{}'),
                   OSI_ESTORE, 'PUT reports/a.json', 'after 5 tries')
            # CHECK (no latest), then 5 tries of PUT, COPY, GET latest
            # (the copy, which sends no body, may see the 502 itself).
            methods = [m for m, _ in fake.requests]
            assert methods[0] == 'HEAD', fake.requests
            assert methods.count('PUT') == 5, fake.requests
            assert ' '.join(methods[1:]).replace('COPY GET', 'COPY') == (
                ' '.join(['PUT', 'COPY'] * 5)), fake.requests
            assert fake.objects == {}, fake.objects
    # The report's PUT answered by a bare 502: the copy finds no report.
    with FakeS3([(200, ''), ('page', 502, ''), (200, '')]) as fake:
        with Driver(libs3_writes(fake.env())) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bputr', 'reports/a.json', 'latest/a.json', '{"r":1}')
            assert [m for m, _ in fake.requests] == [
                'HEAD', 'PUT', 'COPY', 'PUT', 'COPY', 'GET'], fake.requests
            for key in ('reports/a.json', 'latest/a.json'):
                assert fake.objects[OBJ + key][0] == b'{"r":1}', (
                    fake.objects)
    # The copy answered by a bare 502: latest is not there.
    with FakeS3([(200, ''), (200, ''), ('page', 502, ''), (200, '')]) as fake:
        with Driver(libs3_writes(fake.env())) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bputr', 'reports/a.json', 'latest/a.json', '{"r":1}')
            assert [m for m, _ in fake.requests] == [
                'HEAD', 'PUT', 'COPY', 'GET', 'PUT', 'COPY', 'GET'], (
                fake.requests)
    # A plain object: PUT, then a HEAD that must find this PUT's mark.
    with FakeS3([('page', 503, ''), (200, '')]) as fake:
        with Driver(libs3_writes(fake.env())) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bput', 'seen/a.json', '{}')
            assert [m for m, _ in fake.requests] == [
                'PUT', 'HEAD', 'PUT', 'HEAD'], fake.requests


def test_libs3_writes_answered_but_other_bytes_stored():
    """The report key keeps older bytes (its PUT answered 200 but did not
    store them): latest, a copy of it, then holds the older bytes, which
    reading it back finds, and the whole write is tried again."""
    rkey = OBJ + 'reports/a.json'
    script = [(200, ''), ('page', 200, ''), (200, '')]
    with FakeS3(script) as fake:
        fake.objects[rkey] = (b'{"r":"old"}', {'osi-put': 'x'})
        with Driver(libs3_writes(fake.env())) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bputr', 'reports/a.json', 'latest/a.json', '{"r":"new"}')
            assert [m for m, _ in fake.requests] == [
                'HEAD', 'PUT', 'COPY', 'GET', 'PUT', 'COPY', 'GET'], (
                fake.requests)
            latest = fake.objects[OBJ + 'latest/a.json']
            assert latest[0] == b'{"r":"new"}', latest
            assert latest[1]['osi-report'] == 'reports/a.json', latest
            assert fake.objects[rkey][0] == b'{"r":"new"}', fake.objects
    # Every try finds the older bytes: the write fails.
    with FakeS3([(200, '')] + [('page', 200, ''), (200, ''), (200, '')] * 5
                ) as fake:
        fake.objects[rkey] = (b'{"r":"old"}', {'osi-put': 'x'})
        with Driver(libs3_writes(fake.env())) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            expect(d.call('bputr', 'reports/a.json', 'latest/a.json',
                          '{"r":"new"}'),
                   OSI_ESTORE, 'PUT reports/a.json', 'after 5 tries',
                   'latest/a.json: the write was answered but did not '
                   'store it')
            assert len(fake.requests) == 1 + 5 * 3, fake.requests


def test_libs3_writes_copy_refused_uploads_latest():
    """A server that does not do copies (501 NotImplemented): latest is
    uploaded, read back, and the report checked with a HEAD; the store
    does not try a copy again."""
    script = [(200, ''), (200, ''), (501, s3_error('NotImplemented')),
              (200, '')]
    with FakeS3(script) as fake:
        with Driver(libs3_writes(fake.env())) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bputr', 'reports/1.json', 'latest/a.json', '{"r":1}')
            d.ok('bputr', 'reports/2.json', 'latest/a.json', '{"r":2}')
            assert [m for m, _ in fake.requests] == [
                'HEAD', 'PUT', 'COPY', 'PUT', 'GET', 'HEAD',
                'PUT', 'PUT', 'GET', 'HEAD'], fake.requests
            latest = fake.objects[OBJ + 'latest/a.json']
            assert latest[0] == b'{"r":2}', latest
            assert latest[1]['osi-report'] == 'reports/2.json', latest


def test_libs3_writes_latest_known_in_process():
    """Through libs3, once this process has read or written a host's
    latest, its next reports cost no HEAD of latest: a newer one is PUT,
    copied and read back (two writes), an older one arriving late is only
    stored."""
    def rkey(day):
        return 'reports/10.0.0.1/2026-01-%02d/030405.678Z-x.json' % day

    latest = 'latest/10.0.0.1.json'
    with FakeS3([(200, '')]) as fake:
        with Driver(libs3_writes(fake.env())) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bputr', rkey(2), latest, '{"r":2}')
            assert [m for m, _ in fake.requests] == [
                'HEAD', 'PUT', 'COPY', 'GET'], fake.requests
            del fake.requests[:]
            d.ok('bputr', rkey(1), latest, '{"r":1}')
            assert [m for m, _ in fake.requests] == ['PUT', 'HEAD'], (
                fake.requests)
            assert fake.objects[OBJ + latest][0] == b'{"r":2}'
            del fake.requests[:]
            d.ok('bputr', rkey(3), latest, '{"r":3}')
            assert [m for m, _ in fake.requests] == ['PUT', 'COPY', 'GET'], (
                fake.requests)
            assert fake.objects[OBJ + latest][0] == b'{"r":3}'
    # A write that failed leaves latest unknown: the next report reads it.
    with FakeS3([(200, '')] * 4 + [(403, s3_error('AccessDenied'))] +
                [(200, '')]) as fake:
        with Driver(libs3_writes(fake.env())) as d:
            d.ok('bopen', 'os-inspector-data', 10000, 0)
            d.ok('bputr', rkey(2), latest, '{"r":2}')
            expect(d.call('bputr', rkey(3), latest, '{"r":3}'), OSI_ESTORE,
                   'ErrorAccessDenied')
            del fake.requests[:]
            d.ok('bputr', rkey(4), latest, '{"r":4}')
            assert [m for m, _ in fake.requests] == [
                'HEAD', 'PUT', 'COPY', 'GET'], fake.requests


def test_libs3_without_its_functions():
    """A libs3.so.2 that lacks libs3's functions: OSI_ENOTSUP naming the
    Debian package, and nothing is loaded half-way."""
    env = dict(os.environ, AWS_ENDPOINT_URL='http://127.0.0.1:9',
               AWS_ACCESS_KEY_ID='k', AWS_SECRET_ACCESS_KEY='s',
               LD_LIBRARY_PATH=os.path.dirname(FAKE_LIBS3))
    with Driver(env) as d:
        for _ in range(2):
            expect(d.call('bopen', 'os-inspector-data', 0, 0), OSI_ENOTSUP,
                   'libs3 is not installed (Debian package libs3-2)',
                   'S3_initialize')
        expect(d.call('open', 's3://os-inspector-data', 0, 0), OSI_ENOTSUP,
               'libs3-2')


# Run a second time with the test seam on: the s3rver tests that write,
# there through libs3 as on https, and the check that the seam is on.
# (Not the 1,003-key listings and the backend's 16 threads: 35 s more.)
AGAIN = '+libs3-writes'
LIBS3_WRITES_AGAIN = [
    'test_write_path_follows_seam',
    'test_backend_round_trip',
    'test_latest_never_goes_back',
    'test_latest_of_another_process',
    'test_public_api_keys',
    'test_wrong_secret_fails_clearly',
    'test_no_such_bucket',
    'test_allocation_failures',
    'test_server_hung_times_out',
    'test_sixteen_threads_public_api',
]


def main():
    global DRIVER, FAKE_LIBS3
    if len(sys.argv) < 3:
        print('usage: test_store_s3.py S3_DRIVER FAKE_LIBS3 [TEST...]',
              file=sys.stderr)
        return 2
    DRIVER = os.path.abspath(sys.argv[1])
    FAKE_LIBS3 = os.path.abspath(sys.argv[2])
    # meson puts the directories of the libraries it built, the fake libs3
    # among them, on LD_LIBRARY_PATH: only one test may load the fake.
    fake_dir = os.path.dirname(FAKE_LIBS3)
    os.environ['LD_LIBRARY_PATH'] = os.pathsep.join(
        d for d in os.environ.get('LD_LIBRARY_PATH', '').split(os.pathsep)
        if d and os.path.abspath(d) != fake_dir)
    names = sys.argv[3:] or sorted(
        n for n in globals() if n.startswith('test_')) + [
        n + AGAIN for n in LIBS3_WRITES_AGAIN]
    try:
        s3rver.ensure_installed()
    except s3rver.Unavailable as e:
        print('SKIP: %s' % e)
        return 77
    passed = failed = 0
    for name in names:
        started = time.monotonic()
        test = name[:-len(AGAIN)] if name.endswith(AGAIN) else name
        if test != name:
            os.environ[LIBS3_WRITES] = '1'
        else:
            os.environ.pop(LIBS3_WRITES, None)
        try:
            globals()[test]()
        except Exception as e:  # report every failure, then go on
            failed += 1
            print('FAIL %s: %s: %s' % (name, type(e).__name__, e),
                  flush=True)
        else:
            passed += 1
            print('ok   %s (%.1f s)' % (name, time.monotonic() - started),
                  flush=True)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
