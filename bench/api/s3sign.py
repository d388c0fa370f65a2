#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Signed S3 requests for bench/api.sh's direct measurement of s3rver.

wrk cannot sign requests, so this writes N requests signed ahead (AWS
Signature V2, as libs3 signs, with x-amz-date) for s3direct.lua to send as
they are (s3direct.lua). s3rver checks every signature, as it does for the API's own
requests; a signature stays valid for 15 minutes, far longer than a run.

usage: s3sign.py PUT|GET BUCKET COUNT OUT    (credentials from
AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)

Each line of OUT: path, x-amz-date, Authorization, x-amz-meta-osi-put,
tab-separated. The keys have the shape of the API's report keys, one new
key per request: reports/<ip>/<date>/<time>Z-<id>.json. A GET names the
same keys as a PUT of the same COUNT, so it finds the objects a PUT run
stored.
"""

import base64
import email.utils
import hashlib
import hmac
import os
import sys
import time


def main():
    method, bucket, count, out = sys.argv[1:5]
    access = os.environ['AWS_ACCESS_KEY_ID']
    secret = os.environ['AWS_SECRET_ACCESS_KEY'].encode()
    date = email.utils.formatdate(time.time(), usegmt=True)
    day = time.strftime('%Y-%m-%d', time.gmtime())
    content_type = 'application/json' if method == 'PUT' else ''
    with open(out, 'w', encoding='ascii') as f:
        for i in range(int(count)):
            key = 'reports/10.%d.%d.%d/%s/%06d.%03dZ-direct-%08d.json' % (
                i % 2 + 1, i // 500 % 2, i % 250 + 1, day,
                i // 1000 % 1000000, i % 1000, i)
            nonce = '%016x' % i
            amz = ['x-amz-date:' + date]
            if method == 'PUT':
                amz.append('x-amz-meta-osi-put:' + nonce)
            path = '/%s/%s' % (bucket, key)
            to_sign = '\n'.join([method, '', content_type, ''] + amz + [path])
            sig = base64.b64encode(hmac.new(secret, to_sign.encode(),
                                            hashlib.sha1).digest()).decode()
            f.write('%s\t%s\tAWS %s:%s\t%s\n' % (path, date, access, sig,
                                                 nonce))


if __name__ == '__main__':
    main()
