#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Seed a server for bench/api.sh: POST /report once for every address
that post.lua and get.lua use (wrk threads 0 to THREADS-1, POOL addresses
each), so that every GET /report of the benchmark finds a report. The
reports are post.lua's (the same template and holes).

usage: seed.py PORT TEMPLATE POOL THREADS CONNECTIONS
Prints "seeded N of M" and exits 1 when a POST did not answer 2xx.
Talks to 127.0.0.1 only.
"""

import http.client
import sys
import threading
import time
import uuid


def address(t, i):
    return '10.%d.%d.%d' % (t + 1, i // 250, i % 250 + 1)


def main():
    port = int(sys.argv[1])
    with open(sys.argv[2], encoding='utf-8') as f:
        template = f.read()
    pool, threads, conns = (int(a) for a in sys.argv[3:6])
    work = [address(t, i) for t in range(threads) for i in range(pool)]
    lock = threading.Lock()
    done = [0]
    errors = []

    def worker(part):
        conn = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
        for ip in part:
            now = time.time()
            body = (template.replace('@IP@', ip)
                    .replace('@ID@', str(uuid.uuid4()))
                    .replace('@AT@', time.strftime('%Y-%m-%dT%H:%M:%S',
                                                   time.gmtime(now))
                             + '.%03dZ' % (int(now * 1000) % 1000)))
            try:
                conn.request('POST', '/report', body.encode(),
                             {'Content-Type': 'application/json'})
                resp = conn.getresponse()
                resp.read()
                ok = 200 <= resp.status < 300
                why = 'HTTP %d' % resp.status
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                ok, why = False, str(e)
            with lock:
                if ok:
                    done[0] += 1
                elif len(errors) < 3:
                    errors.append('%s: %s' % (ip, why))
        conn.close()

    workers = [threading.Thread(target=worker, args=(work[n::conns],))
               for n in range(conns)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print('seeded %d of %d%s' % (done[0], len(work),
                                 ''.join('; ' + e for e in errors)))
    return 0 if done[0] == len(work) else 1


if __name__ == '__main__':
    sys.exit(main())
