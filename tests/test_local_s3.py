"""The local stack's S3 (``lapor_cli.locals3``, ``lapor_cli.s3auth``): what S3 refuses is refused (signatures,
expiry, POST policies), object events reach the template's function with Lambda's asynchronous retries, and the
objects are kept between runs. On a moto server in this process, served as ``lapor dev`` serves it."""

from __future__ import annotations

import io
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from botocore.config import Config

from conftest import ROOT
from lapor_cli import locals3, s3auth

BUCKET = "lapor-media-local"
SECRETS = {"lapor-local": "lapor-local"}


def client(endpoint: str, secret: str = "lapor-local"):
    return boto3.client("s3", endpoint_url=endpoint, region_name="ap-southeast-3", aws_access_key_id="lapor-local",
                        aws_secret_access_key=secret, config=Config(signature_version="s3v4"))


def environ_of(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[dict, str, str]:
    parts = urlsplit(url)
    environ = {"REQUEST_METHOD": method, "HTTP_HOST": parts.netloc}
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ, parts.path, parts.query


# -- signatures and policies, as S3 checks them -------------------------------------------------------------

def test_a_presigned_get_is_served_until_it_expires_and_never_once_changed():
    url = client("http://127.0.0.1:3000/s3").generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "ready/LPR-1/a b+c"}, ExpiresIn=60)
    environ, path, query = environ_of(url)
    s3auth.verify_request(environ, path, query, SECRETS)  # valid now
    later = datetime.now(UTC) + timedelta(seconds=61)
    with pytest.raises(s3auth.S3Error) as expired:
        s3auth.verify_request(environ, path, query, SECRETS, now=later)
    assert (expired.value.status, expired.value.code, expired.value.message) == (403, "AccessDenied",
                                                                                  "Request has expired")
    for changed in (query.replace("X-Amz-Signature=", "X-Amz-Signature=0"), query.replace("Expires=60", "Expires=600")):
        with pytest.raises(s3auth.S3Error) as refused:
            s3auth.verify_request(environ, path, changed, SECRETS)
        assert refused.value.code == "SignatureDoesNotMatch"
    with pytest.raises(s3auth.S3Error) as other_key:  # another object under the same signature
        s3auth.verify_request(environ, path.replace("a%20b", "x"), query, SECRETS)
    assert other_key.value.code == "SignatureDoesNotMatch"
    with pytest.raises(s3auth.S3Error) as wrong_secret:
        s3auth.verify_request(environ, path, query, {"lapor-local": "another"})
    assert wrong_secret.value.code == "SignatureDoesNotMatch"
    with pytest.raises(s3auth.S3Error) as anonymous:  # a private bucket
        s3auth.verify_request(environ, path, "", SECRETS)
    assert anonymous.value.code == "AccessDenied"


def test_a_request_signed_in_its_header_is_checked_too():
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = "http://127.0.0.1:3000/s3/lapor-media-local/ready/LPR-1/x?tagging="
    request = AWSRequest(method="PUT", url=url, data=b"bytes", headers={"Content-Type": "image/jpeg"})
    S3SigV4Auth(Credentials("lapor-local", "lapor-local"), "s3", "ap-southeast-3").add_auth(request)
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-type"}
    environ, path, query = environ_of(url, "PUT", headers)
    environ["CONTENT_TYPE"] = "image/jpeg"
    s3auth.verify_request(environ, path, query, SECRETS)
    environ["CONTENT_TYPE"] = "text/html"  # a signed header changed on the way
    with pytest.raises(s3auth.S3Error) as changed:
        s3auth.verify_request(environ, path, query, SECRETS)
    assert changed.value.code == "SignatureDoesNotMatch"
    environ["CONTENT_TYPE"] = "image/jpeg"
    with pytest.raises(s3auth.S3Error) as skewed:
        s3auth.verify_request(environ, path, query, SECRETS, now=datetime.now(UTC) + timedelta(minutes=16))
    assert skewed.value.code == "RequestTimeTooSkewed"


def presigned_post(size: int = 100, expires: int = 60) -> dict:
    return client("http://127.0.0.1:3000/s3").generate_presigned_post(
        BUCKET, "uploads/LPR-1/att", Fields={"Content-Type": "image/jpeg"},
        Conditions=[{"Content-Type": "image/jpeg"}, ["content-length-range", 1, size]], ExpiresIn=expires)


def test_a_post_upload_must_keep_to_its_policy():
    fields = presigned_post()["fields"]
    s3auth.verify_post(fields, 100, BUCKET, SECRETS)
    cases = [
        (fields, 101, BUCKET, "EntityTooLarge"),
        (fields, 0, BUCKET, "EntityTooSmall"),
        (fields | {"Content-Type": "text/html"}, 10, BUCKET, "AccessDenied"),
        (fields | {"key": "ready/LPR-1/att"}, 10, BUCKET, "AccessDenied"),
        (fields | {"acl": "public-read"}, 10, BUCKET, "AccessDenied"),  # a field no condition names
        (fields, 10, "another-bucket", "AccessDenied"),
        (fields | {"x-amz-signature": "0" * 64}, 10, BUCKET, "SignatureDoesNotMatch"),
        ({k: v for k, v in fields.items() if k != "policy"}, 10, BUCKET, "AccessDenied"),
    ]
    for form, size, bucket, code in cases:
        with pytest.raises(s3auth.S3Error) as refused:
            s3auth.verify_post(form, size, bucket, SECRETS)
        assert refused.value.code == code, (form, size, bucket)
    s3auth.verify_post(fields | {"x-ignore-me": "1"}, 10, BUCKET, SECRETS)
    with pytest.raises(s3auth.S3Error) as expired:
        s3auth.verify_post(fields, 10, BUCKET, SECRETS, now=datetime.now(UTC) + timedelta(seconds=61))
    assert "Policy expired" in expired.value.message


# -- the template's bucket and event source -----------------------------------------------------------------

def test_the_template_bucket_and_media_functions_event_are_read():
    from lapor_cli.template import load_template

    template = load_template(ROOT / "template.yaml")
    assert locals3.bucket_name(template, "MediaBucket") == BUCKET
    (notification,) = locals3.notifications_of(template)
    assert notification.function.logical_id == "MediaFunction" and notification.bucket == "MediaBucket"
    assert notification.matches("s3:ObjectCreated:Post", "uploads/LPR-1/a")
    assert notification.matches("s3:ObjectCreated:Put", "uploads/LPR-1/a")
    assert not notification.matches("s3:ObjectCreated:Put", "ready/LPR-1/a")
    assert not notification.matches("s3:ObjectRemoved:Delete", "uploads/LPR-1/a")


# -- on a moto server in this process ------------------------------------------------------------------------

class Recorder:
    """Stands in for MediaFunction: records each event; fails the first ``failures`` invocations."""

    def __init__(self, failures: int = 0) -> None:
        self.events: list[dict] = []
        self.calls = 0
        self.failures = failures
        self.lock = threading.Lock()

    def __call__(self, function, event):
        with self.lock:
            self.calls += 1
            if self.calls <= self.failures:
                raise RuntimeError("MediaFunction failed (on purpose)")
            self.events.append(event)


@pytest.fixture
def local_s3(tmp_path, monkeypatch):
    """A moto server, the template's buckets on it (``LocalS3``) served under /s3 by werkzeug, as lapor dev does."""
    from moto.moto_api._internal.models import moto_api_backend
    from moto.server import ThreadedMotoServer
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    from lapor_cli.localdb import free_port
    from lapor_cli.template import load_template

    monkeypatch.setattr(locals3, "RETRY_DELAYS", (0.05, 0.05))
    saved = dict(os.environ)
    moto_api_backend.reset()
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    template = load_template(ROOT / "template.yaml")
    started = []

    def start(recorder, data_dir=tmp_path):
        storage = locals3.LocalS3(template, data_dir)
        storage.start(f"http://127.0.0.1:{port}", "ap-southeast-3")
        api = Response("the API")
        server = make_server("127.0.0.1", 0, DispatcherMiddleware(api, {locals3.PREFIX: storage}), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        storage.serve_at(f"http://127.0.0.1:{server.server_port}", recorder, lambda: None)
        started.append((storage, server))
        return storage

    try:
        yield start
    finally:
        for storage, server in started:
            storage.stop()
            server.shutdown()
        moto.stop()
        moto_api_backend.reset()
        os.environ.clear()
        os.environ.update(saved)


def wait_until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("waited in vain")


def test_an_upload_reaches_the_function_once_and_objects_outlive_a_restart(local_s3, tmp_path):
    recorder = Recorder()
    storage = local_s3(recorder)
    s3 = client(storage.endpoint)
    post = s3.generate_presigned_post(BUCKET, "uploads/LPR-1/att", Fields={"Content-Type": "image/jpeg"},
                                      Conditions=[{"Content-Type": "image/jpeg"}, ["content-length-range", 1, 5]])
    assert post["url"] == f"{storage.endpoint}/{BUCKET}"
    too_big = requests.post(post["url"], data=post["fields"], files={"file": ("a.jpg", b"123456", "image/jpeg")})
    assert too_big.status_code == 400 and "<Code>EntityTooLarge</Code>" in too_big.text
    sent = requests.post(post["url"], data=post["fields"], files={"file": ("a.jpg", b"12345", "image/jpeg")})
    assert sent.status_code == 204, sent.text
    wait_until(lambda: recorder.events)
    (record,) = recorder.events[0]["Records"]
    assert record["eventSource"] == "aws:s3" and record["eventName"] == "ObjectCreated:Post"
    assert record["s3"]["bucket"]["name"] == BUCKET and record["s3"]["configurationId"] == "Uploaded"
    assert record["s3"]["object"]["key"] == "uploads/LPR-1/att" and record["s3"]["object"]["size"] == 5
    # What the function writes under ready/ is no event; a signed PUT and GET work, an unsigned GET does not.
    s3.put_object(Bucket=BUCKET, Key="ready/LPR-1/att", Body=b"clean", ContentType="image/jpeg")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "ready/LPR-1/att"})
    got = requests.get(url)
    assert (got.status_code, got.content, got.headers["Content-Type"]) == (200, b"clean", "image/jpeg")
    assert requests.get(url.split("?")[0]).status_code == 403
    assert requests.get(url.replace("X-Amz-Signature=", "X-Amz-Signature=f")).status_code == 403
    with pytest.raises(Exception, match="SignatureDoesNotMatch"):
        client(storage.endpoint, secret="wrong").get_object(Bucket=BUCKET, Key="ready/LPR-1/att")
    time.sleep(0.3)
    assert len(recorder.events) == 1
    # Kept on disk as it changed: the upload (not yet handled) and the clean file.
    index = (tmp_path / "s3" / BUCKET / "index.json").read_text()
    assert "uploads/LPR-1/att" in index and "ready/LPR-1/att" in index
    storage.stop()
    # Another run (moto forgets everything between processes): the objects are back, and the upload nobody
    # handled (a function deletes what it handled) is handed to the function again.
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    again = Recorder()
    restarted = local_s3(again)
    s3 = client(restarted.endpoint)
    body = s3.get_object(Bucket=BUCKET, Key="ready/LPR-1/att")
    assert body["Body"].read() == b"clean" and body["ContentType"] == "image/jpeg"
    wait_until(lambda: again.events)
    assert again.events[0]["Records"][0]["s3"]["object"]["key"] == "uploads/LPR-1/att"
    s3.delete_object(Bucket=BUCKET, Key="uploads/LPR-1/att")
    assert "uploads/LPR-1/att" not in (tmp_path / "s3" / BUCKET / "index.json").read_text()
    assert sorted(p.name for p in (tmp_path / "s3" / BUCKET).iterdir()) == ["index.json", "ready%2FLPR-1%2Fatt"]


def test_a_failing_function_is_retried_twice_then_dead_lettered_and_the_server_goes_on(local_s3, tmp_path,
                                                                                         capsys):
    flaky = Recorder(failures=2)
    storage = local_s3(flaky)
    s3 = client(storage.endpoint)
    s3.put_object(Bucket=BUCKET, Key="uploads/LPR-1/a", Body=b"x")
    wait_until(lambda: flaky.events)
    assert flaky.calls == 3  # two retries
    storage.stop()
    broken = Recorder(failures=99)
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    (tmp_path / "s3").rename(tmp_path / "s3-before")  # no leftover upload this time
    storage = local_s3(broken)
    s3 = client(storage.endpoint)
    s3.put_object(Bucket=BUCKET, Key="uploads/LPR-2/b", Body=b"y")
    wait_until(lambda: (tmp_path / "dead-letters.jsonl").exists())
    assert broken.calls == 3
    assert '"key": "uploads/LPR-2/b"' in (tmp_path / "dead-letters.jsonl").read_text()
    printed = capsys.readouterr().out
    assert "MediaFunction failed on ObjectCreated:Put lapor-media-local/uploads/LPR-2/b; retry 1 of 2" in printed
    assert "MediaFunction failed 3 times on ObjectCreated:Put lapor-media-local/uploads/LPR-2/b" in printed
    assert requests.get(storage.endpoint.rsplit("/", 1)[0] + "/").status_code == 200  # still serving


def test_large_objects_live_in_temporary_files_not_in_memory(local_s3):
    storage = local_s3(Recorder())
    s3 = client(storage.endpoint)
    s3.put_object(Bucket=BUCKET, Key="ready/LPR-1/big", Body=io.BytesIO(b"x" * (locals3.KEY_BUFFER_BYTES + 1)))
    key = locals3._moto_bucket(BUCKET).keys["ready/LPR-1/big"]
    assert key._value_buffer._rolled  # a SpooledTemporaryFile past its size: on disk
