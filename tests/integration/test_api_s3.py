#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests of osinspect-api on the S3 store: real osinspect-api
processes with --store s3://os-inspector-data against a real s3rver with
signature checks on, all on 127.0.0.1 with free ports, started and stopped
here (each test has its own s3rver, so its own empty bucket).

Usage: test_api_s3.py API_BINARY S3_DRIVER [TEST_NAME...]   (prints TAP)

The bucket is seeded and listed through s3_driver (the store's own S3
backend, so the keys are listed by libs3, not assumed). Every server a
test starts is stopped with SIGTERM at its end and must exit 0 with no
sanitizer report in its log; on failure every process is killed by its
PID. Every wait polls with a deadline; no test asserts how long anything
took. OSI_API_WRAPPER works as in test_api.py."""

import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3rver  # noqa: E402
import test_store_s3  # noqa: E402  (its Driver runs s3_driver)
from api_harness import Api, report  # noqa: E402
from test_api import check_error, eq, latest, post_ok  # noqa: E402

STORE = 's3://' + s3rver.BUCKET
AWS_VARS = ('AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY',
            'AWS_DEFAULT_REGION')
# The store gives up on S3 after 10 s (S3_DEFAULT_TIMEOUT_MS); an answer
# later than this (sanitizers included) is a hang.
BOUNDED = 40
RECOVERY = 60       # seconds allowed for the API to see s3rver back
RFC3339_MS = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$')
UUID4 = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-'
                   r'[0-9a-f]{12}$')

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Ctx:
    """One test's s3rver, API servers and s3_driver processes."""

    def __init__(self, binary, workdir):
        self.binary = binary
        self.workdir = workdir
        self.servers = []
        self.drivers = []
        self.s3 = s3rver.S3rver()

    def server(self, *args, secret=s3rver.SECRET_KEY,
               access=s3rver.ACCESS_KEY):
        """Start osinspect-api on the bucket. Api passes no environment
        of its own: the process inherits the AWS variables set here."""
        env = self.s3.env(secret=secret, access=access)
        saved = {k: os.environ.get(k) for k in AWS_VARS}
        os.environ.update({k: env[k] for k in AWS_VARS})
        try:
            api = Api(self.binary, self.workdir, store=STORE, args=args)
            self.servers.append(api)
            return api.start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def driver(self):
        """An s3_driver with the bucket's backend open (bput, bget,
        blist); it keeps it open across a restart of s3rver."""
        d = test_store_s3.Driver(self.s3.env())
        self.drivers.append(d)
        d.ok('bopen', self.s3.bucket, 0, 0)
        return d

    def finish(self):
        """The end of a passed test: each server stops cleanly on
        SIGTERM, each driver exits 0 (both checked for sanitizers)."""
        for api in self.servers:
            if api.alive():
                eq(api.stop(), 0, 'exit status on SIGTERM')
                api.check_sanitizers()
        for d in self.drivers:
            d.close()

    def kill(self):
        for api in self.servers:
            api.kill()
        for d in self.drivers:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
        self.s3.close()


def keys(d, prefix=''):
    return sorted(d.ok('blist', prefix)['keys'])


def ids(resp):
    eq(resp.status, 200, 'history (%r)' % resp.body)
    return [r['report_id'] for r in resp.json()['reports']]


def without_received(r):
    r = dict(r)
    received = r.pop('received')
    if not RFC3339_MS.match(received['at']):
        raise AssertionError('received.at: %r' % received['at'])
    eq(received['peer'], '127.0.0.1', 'received.peer')
    return r


def check_503(resp, what):
    """A 503 that tells the client when to come back, with a JSON
    body naming the error; returns the error text."""
    eq(resp.status, 503, what + ' status (body %r)' % resp.body)
    after = resp.headers.get('retry-after', '')
    if not after.isdigit() or int(after) < 1:
        raise AssertionError('%s: Retry-After %r' % (what, after))
    eq(resp.headers.get('content-type'), 'application/json', what)
    body = resp.json()
    if not isinstance(body.get('error'), str) or not body['error']:
        raise AssertionError('%s: no error in %r' % (what, body))
    return body['error']


def check_unhealthy(api, what):
    r = api.get('/health', timeout=BOUNDED)
    msg = check_503(r, what + ': GET /health')
    if r.json().get('health') == 'ok':
        raise AssertionError(what + ': health ok in a 503')
    return msg


def wait_healthy(api, what):
    """Poll /health until it answers 200, within RECOVERY seconds."""
    deadline = time.monotonic() + RECOVERY
    while True:
        r = api.get('/health', timeout=BOUNDED)
        if r.status == 200:
            eq(r.json(), {'health': 'ok'}, what)
            return
        if time.monotonic() > deadline:
            raise AssertionError('%s: /health still %d after %d s: %r'
                                 % (what, r.status, RECOVERY, r.body))
        time.sleep(0.1)


def restart_s3rver(s3):
    """Start s3rver again on its port and directory. While it was down,
    another program's socket may have been given that port for a moment:
    try again until RECOVERY seconds have passed."""
    deadline = time.monotonic() + RECOVERY
    while True:
        try:
            s3.start()
            return
        except RuntimeError as e:
            if time.monotonic() > deadline:
                raise
            print('# s3rver restart failed, trying again: %s'
                  % str(e).splitlines()[0], flush=True)
            time.sleep(0.5)


def report_key(ip, at, rid):
    """The documented key of a report: its time as RFC 3339 with ms."""
    return 'reports/%s/%s/%s%s%s.%sZ-%s.json' % (
        ip, at[:10], at[11:13], at[14:16], at[17:19], at[20:23], rid)


def legacy_report(ip, day, **extra):
    """What the original agent sent and the original API stored."""
    r = {'cpu': '', 'os_username': 'deploy', 'os_name': 'Linux',
         'server_ip': ip, 'timestamp': day + ' 08:00:00',
         'os_version': '#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 '
                       '(2024-02-01)'}
    r.update(extra)
    return r


# -- tests ------------------------------------------------------------------

@test
def test_post_then_get_and_the_documented_keys(ctx):
    api = ctx.server()
    d = ctx.driver()
    ip = '192.0.2.10'
    rid = str(uuid.uuid4())
    sent = report(ip=ip, report_id=rid,
                  collected_at='2026-01-02T03:04:05.678Z')
    eq(post_ok(api, sent), {'status': 'success', 'report_id': rid,
                            'duplicate': False}, 'POST answer')
    r = latest(api, ip)
    eq(r.status, 200, 'GET /report (%r)' % r.body)
    eq(list(r.json()), ['report'], 'answer keys')
    served = r.json()['report']
    eq(without_received(served), sent, 'served report')

    # Listed through the store's S3 backend: the report under its
    # collected_at, the newest under latest/, nothing else.
    rkey = 'reports/%s/2026-01-02/030405.678Z-%s.json' % (ip, rid)
    lkey = 'latest/%s.json' % ip
    eq(keys(d), sorted([rkey, lkey]), 'bucket keys')
    for key in (rkey, lkey):
        eq(json.loads(d.ok('bget', key)['data']), served, 'object ' + key)

    # Sent again: acknowledged, stored once. (The S3 store overwrites the
    # same key and cannot tell a resend, so "duplicate" may be false:
    # docs/storage.md, "Duplicates".)
    resent = post_ok(api, sent)
    eq(resent['report_id'], rid, 'resend report_id')
    if not isinstance(resent['duplicate'], bool):
        raise AssertionError('duplicate: %r' % resent['duplicate'])
    eq(keys(d), sorted([rkey, lkey]), 'bucket keys after the resend')
    eq(ids(api.get('/reports?ip=' + ip)), [rid], 'history after the resend')

    # No report_id and no collected_at: the server assigns the id and the
    # key takes the time it received the report.
    ip2 = '192.0.2.11'
    body = post_ok(api, report(ip=ip2))
    if not UUID4.match(body['report_id']):
        raise AssertionError('assigned report_id %r' % body['report_id'])
    got = latest(api, ip2).json()['report']
    eq(got['report_id'], body['report_id'], 'assigned id served')
    eq(keys(d, 'reports/%s/' % ip2),
       [report_key(ip2, got['received']['at'], body['report_id'])],
       'key from the received time')
    eq(keys(d, 'latest/'), [lkey, 'latest/%s.json' % ip2], 'latest keys')


@test
def test_history_newest_first_and_latest_follows_the_newest(ctx):
    api = ctx.server()
    d = ctx.driver()
    ip = '198.51.100.7'
    days = ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04']
    rid = {}
    newest = None
    # Out of order: latest/ must follow the newest report, never go back.
    for day in [days[2], days[0], days[3], days[1]]:
        rid[day] = str(uuid.uuid4())
        post_ok(api, report(ip=ip, report_id=rid[day],
                            collected_at=day + 'T12:00:00.000Z'))
        newest = max(newest or day, day)
        eq(latest(api, ip).json()['report']['report_id'], rid[newest],
           'latest after ' + day)
        eq(json.loads(d.ok('bget', 'latest/%s.json' % ip)['data'])
           ['report_id'], rid[newest], 'latest object after ' + day)
    eq(keys(d, 'reports/%s/' % ip),
       sorted('reports/%s/%s/120000.000Z-%s.json' % (ip, day, rid[day])
              for day in days), 'report keys')

    newest_first = [rid[day] for day in reversed(days)]
    base = '/reports?ip=' + ip
    eq(ids(api.get(base)), newest_first, 'history')
    eq(ids(api.get(base + '&limit=1')), newest_first[:1], 'limit=1')
    eq(ids(api.get(base + '&limit=3')), newest_first[:3], 'limit=3')
    eq(ids(api.get(base + '&limit=10')), newest_first, 'limit=10')
    # since inclusive, until exclusive.
    eq(ids(api.get(base + '&since=2026-03-02T12:00:00Z')), newest_first[:3],
       'since')
    eq(ids(api.get(base + '&until=2026-03-03T12:00:00Z')), newest_first[2:],
       'until')
    # A date alone covers its whole day.
    eq(ids(api.get(base + '&since=2026-03-02&until=2026-03-03')),
       [rid['2026-03-03'], rid['2026-03-02']], 'since and until dates')
    eq(ids(api.get(base + '&since=2026-03-02&until=2026-03-03&limit=1')),
       [rid['2026-03-03']], 'since, until and limit')
    eq(api.get('/reports?ip=192.0.2.99').json(), {'reports': []},
       'unknown host')
    check_error(latest(api, '192.0.2.99'), 404, 'GET unknown host')


@test
def test_two_api_processes_share_one_bucket(ctx):
    a = ctx.server()
    b = ctx.server()
    ip = '192.0.2.20'
    old = report(ip=ip, hostname='web-20', report_id=str(uuid.uuid4()),
                 collected_at='2026-02-01T00:00:00.000Z')
    post_ok(a, old)
    r = latest(b, ip)
    eq(r.status, 200, 'B: GET /report (%r)' % r.body)
    eq(without_received(r.json()['report']), old, 'B serves A\'s report')
    eq(ids(b.get('/reports?ip=' + ip)), [old['report_id']], 'B: history')

    # And back: a newer report to B is A's latest; a second host with the
    # same machine-id, sent to B, is flagged in A's /hosts.
    new = report(ip=ip, hostname='web-20', report_id=str(uuid.uuid4()),
                 collected_at='2026-02-02T00:00:00.000Z')
    post_ok(b, new)
    eq(latest(a, ip).json()['report']['report_id'], new['report_id'],
       'A serves B\'s newer report')
    eq(ids(a.get('/reports?ip=' + ip)), [new['report_id'], old['report_id']],
       'A: history')
    clone = report(ip='192.0.2.21', hostname='web-21',
                   collected_at='2026-02-03T00:00:00.000Z')
    post_ok(b, clone)
    received = {h: latest(b, h).json()['report']['received']['at']
                for h in (ip, '192.0.2.21')}
    for api, name in ((a, 'A'), (b, 'B')):
        r = api.get('/hosts')
        eq(r.status, 200, name + ': /hosts')
        eq(sorted(r.json()['hosts'], key=lambda h: h['ip']), [
            {'ip': ip, 'hostname': 'web-20',
             'last_report': '2026-02-02T00:00:00.000Z',
             'received_at': received[ip], 'peer': '127.0.0.1',
             'machine_id': 'a' * 32, 'machine_id_shared': True},
            {'ip': '192.0.2.21', 'hostname': 'web-21',
             'last_report': '2026-02-03T00:00:00.000Z',
             'received_at': received['192.0.2.21'], 'peer': '127.0.0.1',
             'machine_id': 'a' * 32, 'machine_id_shared': True}],
           name + ': /hosts')


@test
def test_legacy_keys_of_the_original_tool_are_served(ctx):
    d = ctx.driver()
    old = legacy_report('10.0.0.5', '2026-01-01')
    new = legacy_report('10.0.0.5', '2026-01-02', cpu='Intel(R) Xeon(R)')
    # 10.0.0.50 shares the prefix "10_0_0_5" and has a newer day: it must
    # not be taken for 10.0.0.5.
    other = legacy_report('10.0.0.50', '2026-01-03')
    seeded = {'10_0_0_5_2026-01-01.json': old,
              '10_0_0_5_2026-01-02.json': new,
              '10_0_0_50_2026-01-03.json': other}
    for key, body in seeded.items():
        d.ok('bput', key, json.dumps(body))
    eq(keys(d), sorted(seeded), 'seeded bucket')
    api = ctx.server()

    # The newest day, not the oldest (the original's bug).
    r = latest(api, '10.0.0.5')
    eq(r.status, 200, 'GET /report (%r)' % r.body)
    eq(r.json(), {'report': new}, 'newest legacy report')
    eq(latest(api, '10.0.0.50').json(), {'report': other}, '10.0.0.50')
    r = api.get('/reports?ip=10.0.0.5')
    eq(r.status, 200, 'GET /reports (%r)' % r.body)
    eq(r.json(), {'reports': [new, old]}, 'legacy history, newest first')
    eq(api.get('/reports?ip=10.0.0.5&limit=1').json(), {'reports': [new]},
       'legacy history, limit=1')
    r = api.get('/hosts')
    eq(r.status, 200, '/hosts')
    legacy_host = {'hostname': None, 'received_at': None, 'peer': None,
                   'machine_id': None, 'machine_id_shared': False}
    eq(sorted(r.json()['hosts'], key=lambda h: h['ip']), [
        dict(legacy_host, ip='10.0.0.5', last_report='2026-01-02 08:00:00'),
        dict(legacy_host, ip='10.0.0.50', last_report='2026-01-03 08:00:00')],
       'legacy hosts')
    # Nothing was written by reading.
    eq(keys(d), sorted(seeded), 'bucket after reading')

    # Once the host reports in the new layout, that report is the newest.
    sent = report(ip='10.0.0.5', collected_at='2026-01-03T00:00:00.000Z')
    rid = post_ok(api, sent)['report_id']
    eq(latest(api, '10.0.0.5').json()['report']['report_id'], rid,
       'new layout first')


@test
def test_s3rver_stopped_then_back(ctx):
    api = ctx.server()
    d = ctx.driver()
    ip = '192.0.2.40'
    first = report(ip=ip, report_id=str(uuid.uuid4()),
                   collected_at='2026-04-01T00:00:00.000Z')
    post_ok(api, first)
    eq(api.get('/health').status, 200, 'health before the outage')

    ctx.s3.stop()
    outage = []
    for n in range(3):
        sent = report(ip=ip, report_id=str(uuid.uuid4()),
                      collected_at='2026-04-02T00:00:%02d.000Z' % n)
        outage.append(sent['report_id'])
        # A 503 (never a 200: nothing can be stored now), in bounded time.
        started = time.monotonic()
        msg = check_503(api.post('/report', sent, timeout=BOUNDED),
                        'POST during the outage %d' % n)
        print('# outage: POST answered 503 in %.1f s: %s'
              % (time.monotonic() - started, msg), flush=True)
    check_unhealthy(api, 'outage')
    # Not "no report" (404): the store cannot tell.
    check_503(latest(api, ip), 'GET /report during the outage')

    restart_s3rver(ctx.s3)
    wait_healthy(api, 'after s3rver is back')
    eq(api.alive(), True, 'the same API process')
    after = report(ip=ip, report_id=str(uuid.uuid4()),
                   collected_at='2026-04-03T00:00:00.000Z')
    eq(post_ok(api, after)['duplicate'], False, 'POST after the outage')
    eq(latest(api, ip).json()['report']['report_id'], after['report_id'],
       'latest after the outage')
    stored = keys(d, 'reports/%s/' % ip)
    for sent in (first, after):
        key = report_key(ip, sent['collected_at'], sent['report_id'])
        if key not in stored:
            raise AssertionError('%s not in the bucket: %r' % (key, stored))
    late = [k for k in stored if any(k.endswith('-%s.json' % rid)
                                     for rid in outage)]
    print('# reports answered 503 during the outage and stored later: %d'
          % len(late), flush=True)


@test
def test_s3rver_frozen_then_resumed(ctx):
    """s3rver takes connections and answers nothing (SIGSTOP): the API
    answers 503 at the store's deadline, not never."""
    api = ctx.server()
    ip = '192.0.2.45'
    post_ok(api, report(ip=ip))
    ctx.s3.pause()
    try:
        started = time.monotonic()
        msg = check_503(api.post('/report', report(ip=ip), timeout=BOUNDED),
                        'POST to a frozen store')
        print('# frozen store: POST answered 503 in %.1f s: %s'
              % (time.monotonic() - started, msg), flush=True)
        check_unhealthy(api, 'frozen store')
    finally:
        ctx.s3.resume()
    wait_healthy(api, 'after s3rver resumed')
    sent = report(ip=ip, report_id=str(uuid.uuid4()),
                  collected_at='2027-01-01T00:00:00.000Z')
    post_ok(api, sent)
    eq(latest(api, ip).json()['report']['report_id'], sent['report_id'],
       'latest after resume')


@test
def test_wrong_credentials_fail_clearly(ctx):
    good = ctx.server()
    d = ctx.driver()
    cases = [('wrong secret', {'secret': 'wrong'}, '192.0.2.50'),
             ('unknown access key', {'access': 'NOBODY'}, '192.0.2.51')]
    for what, creds, ip in cases:
        bad = ctx.server(**creds)
        started = time.monotonic()
        msg = check_unhealthy(bad, what)
        for needle in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'):
            if needle not in msg:
                raise AssertionError('%s: /health error %r does not name %s'
                                     % (what, msg, needle))
        msg = check_error(bad.post('/report', report(ip=ip),
                                   timeout=BOUNDED), 503, what + ': POST')
        for needle in ('HTTP 403', 'AWS_SECRET_ACCESS_KEY'):
            if needle not in msg:
                raise AssertionError('%s: POST error %r does not name %s'
                                     % (what, msg, needle))
        print('# %s: /health and POST answered in %.1f s: %s'
              % (what, time.monotonic() - started, msg), flush=True)
        # Reading fails the same way: not "no report" (404).
        post_ok(good, report(ip=ip, hostname='good'))
        check_503(latest(bad, ip), what + ': GET /report')
        eq(good.get('/health').status, 200, what + ': the good API')
        eq(len(keys(d, 'reports/%s/' % ip)), 1, what + ': stored reports')
        eq(bad.stop(), 0, what + ': exit status on SIGTERM')


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    binary = os.path.abspath(sys.argv[1])
    test_store_s3.DRIVER = os.path.abspath(sys.argv[2])
    # The fake libs3 of test_store_s3.py is built next to s3_driver: a
    # directory of it on LD_LIBRARY_PATH would load it in the API too.
    fake_dir = os.path.dirname(test_store_s3.DRIVER)
    os.environ['LD_LIBRARY_PATH'] = os.pathsep.join(
        p for p in os.environ.get('LD_LIBRARY_PATH', '').split(os.pathsep)
        if p and os.path.abspath(p) != fake_dir)
    names = set(sys.argv[3:])
    selected = [fn for fn in TESTS if not names or fn.__name__ in names]
    try:
        s3rver.ensure_installed()
    except s3rver.Unavailable as e:
        print('1..0 # SKIP %s' % e)
        return 0
    print('1..%d' % len(selected), flush=True)
    failed = 0
    for i, fn in enumerate(selected, 1):
        workdir = tempfile.mkdtemp(prefix='osi-api-s3-test-')
        ctx = None
        try:
            ctx = Ctx(binary, workdir)
            ctx.s3.start()
            fn(ctx)
            ctx.finish()
            print('ok %d - %s' % (i, fn.__name__), flush=True)
        except Exception:
            failed += 1
            print('not ok %d - %s' % (i, fn.__name__))
            for line in traceback.format_exc().splitlines():
                print('# ' + line)
            for api in ctx.servers if ctx else ():
                api.kill()
                print('# --- log of %s' % api.log_path)
                for line in api.log().splitlines()[-40:]:
                    print('# ' + line)
            if ctx:
                print('# --- s3rver log')
                for line in ctx.s3.log().splitlines()[-20:]:
                    print('# ' + line)
            sys.stdout.flush()
        finally:
            if ctx:
                ctx.kill()
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
