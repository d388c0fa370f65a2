#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Reconstruction of the original Python tool's API, for bench/api.sh only.
#
# The original is not in this repository. This script is rebuilt from
# ../shared/DESIGN.md ("Compatibility with the original") and the issue's
# description of it: a Flask app on port 5000 with boto3, storing each
# report as <server_ip with '.' as '_'>_<YYYY-MM-DD>.json at the root of
# the bucket os-inspector-data (one object per host and day, overwritten by
# each report of that day), answering {"status":"success"}; GET /report?ip=
# lists the bucket and returns {"report": ...} of the first matching key,
# which in S3's key order is the oldest (its bug); GET /health answers
# {"health":"ok"}. It keeps the original's calls, and with them its bugs:
# the oldest report, one listing page only (a bucket of more than 1000
# keys hides the hosts past the first page), a prefix match ("10_0_0_1"
# also matches "10_0_0_12_..."), and request.json, which answers 415 to a
# body that is not declared JSON.
#
# Assumptions, where DESIGN.md says nothing:
# - the key's date is the server's local date (datetime.now());
# - the body stored is json.dumps of the report as received;
# - the client is boto3.client('s3') with the credentials from the
#   environment; the one change for the benchmark: the endpoint comes from
#   AWS_ENDPOINT_URL (an S3-compatible server such as s3rver), passed
#   explicitly, since Debian 12's boto3 1.26 does not read that variable;
# - served as such a tool typically is: Flask's development server
#   (app.run, threaded, as Flask >= 1.0 does by default) on 0.0.0.0:5000.
#   --host and --port are the benchmark's own addition (bench/api.sh
#   listens on 127.0.0.1 only).
#
# It installs nothing. On Debian:
#   apt-get install -y --no-install-recommends python3-flask python3-boto3

import argparse
import json
import os
import sys
from datetime import datetime

missing = []
try:
    from flask import Flask, jsonify, request
except ImportError:
    missing.append("python3-flask")
try:
    import boto3
except ImportError:
    missing.append("python3-boto3")
if missing:
    print("error: missing Debian package(s): %s "
          "(apt-get install -y --no-install-recommends %s)"
          % (", ".join(missing), " ".join(missing)), file=sys.stderr)
    sys.exit(1)

BUCKET_NAME = "os-inspector-data"

app = Flask(__name__)
s3 = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))


@app.route("/report", methods=["POST"])
def receive_report():
    data = request.json
    if not data:
        return jsonify({"error": "Invalid data"}), 400
    ip = data.get("server_ip")
    date = datetime.now().strftime("%Y-%m-%d")
    file_name = f"{ip.replace('.', '_')}_{date}.json"
    s3.put_object(Bucket=BUCKET_NAME, Key=file_name, Body=json.dumps(data))
    return jsonify({"status": "success"}), 200


@app.route("/report", methods=["GET"])
def get_report():
    ip = request.args.get("ip")
    if not ip:
        return jsonify({"error": "IP address is required"}), 400
    response = s3.list_objects_v2(Bucket=BUCKET_NAME)
    for obj in response.get("Contents", []):
        if obj["Key"].startswith(ip.replace(".", "_")):
            data = s3.get_object(Bucket=BUCKET_NAME, Key=obj["Key"])
            report = json.loads(data["Body"].read().decode("utf-8"))
            return jsonify({"report": report}), 200
    return jsonify({"error": "Report not found"}), 404


@app.route("/health", methods=["GET"])
def health():
    return jsonify({"health": "ok"}), 200


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description="Reconstruction of the original tool's API "
                    "(bench/api.sh)")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    app.run(host=args.host, port=args.port)
