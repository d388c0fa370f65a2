# SPDX-License-Identifier: MIT
"""s3rver for the integration tests: a local S3 server from npm, run on
127.0.0.1 with a free port, a temporary directory, one bucket and
signature checks on (V2 signatures are checked against s3rver's only
account, access key S3RVER, secret S3RVER; s3rver has no option to change
them). A test can stop, pause and restart it on the same port and data.

The pinned s3rver (package.json, package-lock.json) is installed on first
use with `npm ci --prefix tests/integration` (Debian packages nodejs npm).
"""

import fcntl
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ACCESS_KEY = 'S3RVER'
SECRET_KEY = 'S3RVER'
BUCKET = 'os-inspector-data'


class Unavailable(Exception):
    """node or npm is missing: the tests that need s3rver cannot run."""


def ensure_installed():
    """Return the path of node, installing s3rver with `npm ci` when
    tests/integration/node_modules does not have it yet (once: concurrent
    test programs wait on a lock)."""
    node = shutil.which('node') or shutil.which('nodejs')
    if node is None:
        raise Unavailable('node is not installed (Debian packages nodejs npm)')
    marker = os.path.join(HERE, 'node_modules', 's3rver', 'package.json')
    if os.path.exists(marker):
        return node
    npm = shutil.which('npm')
    if npm is None:
        raise Unavailable('npm is not installed (Debian packages nodejs npm)')
    lock_path = os.path.join(tempfile.gettempdir(), 'osinspect-npm-ci.lock')
    with open(lock_path, 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(marker):
            subprocess.run([npm, 'ci', '--prefix', HERE, '--no-audit',
                            '--no-fund'], check=True, timeout=600,
                           stdout=subprocess.DEVNULL)
    return node


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class S3rver:
    """One s3rver process. Use as a context manager, or call start() and
    close() (in a finally block)."""

    def __init__(self, bucket=BUCKET):
        self.node = ensure_installed()
        self.bucket = bucket
        self.directory = tempfile.mkdtemp(prefix='osinspect-s3rver-')
        self.data = os.path.join(self.directory, 'data')
        self.log_path = os.path.join(self.directory, 's3rver.log')
        self.port = None
        self.proc = None

    @property
    def endpoint(self):
        return 'http://127.0.0.1:%d' % self.port

    def env(self, secret=SECRET_KEY, access=ACCESS_KEY):
        """The environment of a program that uses this server."""
        env = dict(os.environ)
        env.update({'AWS_ENDPOINT_URL': self.endpoint,
                    'AWS_ACCESS_KEY_ID': access,
                    'AWS_SECRET_ACCESS_KEY': secret,
                    'AWS_DEFAULT_REGION': 'us-east-1'})
        return env

    def start(self, timeout=30.0):
        """Start s3rver (on the port it had before, after a stop) and
        return once it answers HTTP."""
        if self.proc is not None:
            raise RuntimeError('s3rver is already running')
        # The first start takes a free port; a restart keeps it, so that
        # clients find the server where it was. Binding port 0 and giving
        # the port to s3rver leaves a short race with other programs.
        if self.port is None:
            self.port = _free_port()
        log = open(self.log_path, 'ab')
        try:
            self.proc = subprocess.Popen(
                [self.node, os.path.join(HERE, 's3rver_launch.js'),
                 '--directory', self.data, '--address', '127.0.0.1',
                 '--port', str(self.port), '--silent',
                 '--configure-bucket', self.bucket],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise RuntimeError('s3rver exited with %d: %s'
                                   % (code, self.log()))
            if self._answers():
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError('s3rver did not answer within %.0f s: %s'
                                   % (timeout, self.log()))
            time.sleep(0.05)

    def _answers(self):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=2)
        try:
            conn.request('GET', '/')
            resp = conn.getresponse()
            body = resp.read()
            return resp.status == 200 and self.bucket.encode() in body
        except OSError:
            return False
        finally:
            conn.close()

    def stop(self, timeout=5.0):
        """Stop s3rver by its PID: SIGTERM, wait, then SIGKILL."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def pause(self):
        """Freeze s3rver (SIGSTOP): connections open, nothing answers."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def log(self):
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()[-2000:]
        except OSError:
            return ''

    def close(self):
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
