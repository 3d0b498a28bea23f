"""moto_server with one more route, for snap's tests only: POST /_snap_test/plant.

scripts/s3-moto.sh runs this instead of `python3 -m moto.server` when SNAP_MOTO_PLANT=1 (the test
helper test/helpers/s3-server.ts sets it). Everything else is moto_server as `python3 -m
moto.server -H HOST -p PORT` runs it (moto/server.py, moto 5.2.1).

The route puts many objects into a bucket in one request, straight into moto's in-memory S3
backend (S3Backend.put_object, the call moto's own PUT handler ends in), so that a test can plant
the 10,001 keys an attack needs without 10,001 HTTP requests: about 3 ms of moto's CPU each, which
was the larger part of the test suite's S3 time. What a test plants is the keys in the bucket, not
how they came there; the commands under test still list and read them through moto's S3 API.

Body: JSON {"bucket": NAME, "keys": [KEY, ...], "body": BASE64}. Answer: 200 with the number of
keys put, or 400 with the reason (a bucket that does not exist, a malformed body).
"""
import argparse
import base64
import json
import os
import signal
import sys

from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

PLANT_PATH = "/_snap_test/plant"


def plant(request):
    from moto.s3.models import s3_backends

    try:
        body = json.loads(request.get_data())
        bucket, keys, value = body["bucket"], body["keys"], base64.b64decode(body.get("body", ""))
        if not isinstance(bucket, str) or not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError("bucket must be a string and keys a list of strings")
        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        backend.get_bucket(bucket)  # raises when there is no such bucket
        for key in keys:
            backend.put_object(bucket, key, value)
    except Exception as e:  # the test sees the reason
        return Response(f"plant failed: {type(e).__name__}: {e}", status=400)
    return Response(str(len(keys)), status=200)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    moto_app = DomainDispatcherApplication(create_backend_app)
    moto_app.debug = True

    def app(environ, start_response):
        if environ.get("PATH_INFO") == PLANT_PATH and environ.get("REQUEST_METHOD") == "POST":
            return plant(Request(environ))(environ, start_response)
        return moto_app(environ, start_response)

    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
