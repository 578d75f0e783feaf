"""The local stack's S3: the template's buckets on moto, served by ``lapor dev`` under ``/s3`` on its own port,
and their ``ObjectCreated`` events delivered to the functions the template attaches to them.

- **Same origin.** ``lapor dev`` mounts this WSGI app at ``/s3`` (``http://127.0.0.1:3000/s3``) and points the
  functions' S3 client there (``AWS_ENDPOINT_URL_S3``), so the presigned POST and GET URLs the API hands out name
  the local stack itself, work from curl and from the site's pages without CORS, and carry the path prefix in
  what they sign. The buckets still get the template's CORS rules, for the local site's origin.
- **What S3 refuses, refused.** moto checks no signature, no expiry and no POST policy: every request is
  checked first (``lapor_cli.s3auth``): a request without a valid SigV4 signature, a presigned URL past its
  expiry or with a changed signature, an upload outside its policy (size, content type, key) gets S3's 403 or
  400. The bucket is private, as on AWS: nothing is served anonymously.
- **Events, as Lambda's asynchronous invocation.** moto's S3 calls ``moto.s3.notifications.send_event`` for every
  object it creates, whatever the request (PUT, POST form, copy, multipart); the local stack listens there and
  queues an S3 event for each function whose template event matches (``Events``, the key's prefix and suffix
  rules). One worker invokes them in order, in the background: a failure (the function raised) is retried twice,
  after ``RETRY_DELAYS`` (AWS waits a minute, then two), then written to ``dead-letters.jsonl`` and logged; it
  never stops the server. Queued events live in memory: uploads still under an event's prefix at start-up (the
  function deletes each once handled) are handed to it again, as S3's at-least-once delivery may.
- **Kept between runs,** like the tables: each object is written to ``<data>/s3/<bucket>/`` after every request
  that changes the bucket (only what changed: new or replaced objects, removed ones), with ``index.json`` naming
  their keys, content types and metadata, and loaded back at start-up. moto keeps objects above
  ``KEY_BUFFER_BYTES`` in temporary files, not in memory; nothing here holds a copy.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import itertools
import json
import os
import re
import shutil
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from hashlib import sha256
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from lapor_cli import s3auth
from lapor_cli.template import FunctionSpec, Template

PREFIX = "/s3"
# moto keeps an object larger than this in a temporary file rather than in memory (its default: ~5 MB).
KEY_BUFFER_BYTES = 64 * 1024
# The largest POST form read (S3 enforces the policy's content-length-range; an attachment is at most 10 MiB).
MAX_FORM_BYTES = 12 * 1024 * 1024
RETRY_DELAYS = (1.0, 2.0)  # Lambda's asynchronous invocation: two retries
WRITES = ("PUT", "POST", "DELETE")
# What is kept of an object's metadata between runs, beside its x-amz-meta-* (user metadata).
KEPT_HEADERS = ("content-type", "cache-control", "content-disposition", "content-encoding", "content-language")

Invoke = Callable[[FunctionSpec, dict[str, Any]], Any]


def bucket_name(template: Template, logical_id: str) -> str:
    """The local name of a template bucket: its ``BucketName`` with every ``${...}`` read as ``local``
    (``lapor-media-${Id}`` → ``lapor-media-local``), else ``lapor-local-<logical id>``; lower case."""
    name = template.resources[logical_id].get("Properties", {}).get("BucketName")
    if isinstance(name, dict) and "Fn::Sub" in name:
        name = name["Fn::Sub"][0] if isinstance(name["Fn::Sub"], list) else name["Fn::Sub"]
    if not isinstance(name, str):
        name = f"lapor-local-{logical_id}"
    return re.sub(r"\$\{[^}]*\}", "local", name).lower()


@dataclass(frozen=True)
class Notification:
    """One S3 event source of a function in the template."""

    function: FunctionSpec
    name: str  # the event's name in the template (S3's configurationId)
    bucket: str  # logical id
    events: tuple[str, ...]
    prefix: str = ""
    suffix: str = ""

    def matches(self, event_name: str, key: str) -> bool:
        return (any(fnmatchcase(event_name, pattern) for pattern in self.events)
                and key.startswith(self.prefix) and key.endswith(self.suffix))


def notifications_of(template: Template) -> list[Notification]:
    found = []
    for name, function in template.functions.items():
        for event_name, event in template.resources[name]["Properties"].get("Events", {}).items():
            if event["Type"] != "S3":
                continue
            props = event["Properties"]
            events = props["Events"] if isinstance(props["Events"], list) else [props["Events"]]
            rules = {rule["Name"].lower(): rule["Value"]
                     for rule in props.get("Filter", {}).get("S3Key", {}).get("Rules", [])}
            found.append(Notification(function, event_name, props["Bucket"]["Ref"], tuple(events),
                                      rules.get("prefix", ""), rules.get("suffix", "")))
    return found


def _s3_event(notification: Notification, event_name: str, bucket: str, region: str, key: str, size: int,
              etag: str) -> dict[str, Any]:
    """The event S3 sends a function (notification-content-structure, version 2.1)."""
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": region,
        "eventTime": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "eventName": event_name.removeprefix("s3:"),
        "userIdentity": {"principalId": "AWS:LAPORLOCAL"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": uuid.uuid4().hex},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": notification.name,
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "LAPORLOCAL"},
                          "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag.strip('"'),
                          "sequencer": f"{time.time_ns():016X}"}},
    }]}


# -- moto's object events -----------------------------------------------------------------------------------

_listeners: list[Callable[[str, Any, Any], None]] = []


def _install_hook() -> None:
    """Wrap moto's ``notifications.send_event`` (called on every object created or removed) once per process."""
    from moto.s3 import notifications

    if getattr(notifications.send_event, "lapor_local", False):
        return
    original = notifications.send_event

    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        original(account_id, event_name, bucket, key)
        for listener in list(_listeners):
            listener(str(getattr(event_name, "value", event_name)), bucket, key)

    send_event.lapor_local = True  # type: ignore[attr-defined]
    notifications.send_event = send_event


def _moto_bucket(name: str) -> Any:
    from moto.s3.models import s3_backends

    for partitions in s3_backends.values():
        for backend in partitions.values():
            if name in backend.buckets:
                return backend.buckets[name]
    raise KeyError(f"no bucket {name!r}")


def _file_name(key: str) -> str:
    name = quote(key, safe="")
    return name if len(name) <= 200 else sha256(key.encode()).hexdigest()


class LocalS3:
    """The template's buckets on the embedded moto, a WSGI app that serves them (mounted at ``PREFIX``), and the
    delivery of their events to functions."""

    def __init__(self, template: Template, data_dir: Path | None, secrets: dict[str, str] | None = None) -> None:
        self.template, self.data_dir = template, data_dir
        self.bucket_names = {logical_id: bucket_name(template, logical_id)
                             for logical_id in template.of_type("AWS::S3::Bucket")}
        self.notifications = notifications_of(template)
        self.secrets = secrets or {"lapor-local": "lapor-local"}
        self.endpoint = ""
        self.region = "ap-southeast-3"
        self._moto: Any = None
        self._client: Any = None
        self._saving = threading.Lock()
        self._saved: dict[str, dict[str, dict[str, Any]]] = {}  # bucket -> key -> what index.json says
        self._invoke: Invoke | None = None
        self._on_change: Callable[[], None] = lambda: None
        self._queue: list[tuple[float, int, Notification, dict[str, Any], int]] = []
        self._queued = threading.Condition()
        self._sequence = itertools.count()
        self._stopping = False
        self._worker: threading.Thread | None = None
        self.dead_letters = (data_dir / "dead-letters.jsonl") if data_dir else None

    # -- start-up ---------------------------------------------------------------------------------------------

    def start(self, moto_endpoint: str, region: str) -> None:
        """Create the buckets on the moto server at ``moto_endpoint`` and load what the last run kept."""
        import boto3
        from moto.moto_server.werkzeug_app import create_backend_app

        os.environ.setdefault("MOTO_S3_DEFAULT_KEY_BUFFER_SIZE", str(KEY_BUFFER_BYTES))
        self.region = region
        self._client = boto3.client("s3", endpoint_url=moto_endpoint, region_name=region,
                                    aws_access_key_id="lapor-local", aws_secret_access_key="lapor-local")
        self._moto = create_backend_app("s3")
        for name in self.bucket_names.values():
            self._client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
            self._restore(name)
        _install_hook()
        _listeners.append(self._object_event)

    def serve_at(self, url: str, invoke: Invoke, on_change: Callable[[], None]) -> str:
        """The local stack listens on ``url``: the functions' S3 endpoint is ``url/s3``, the buckets accept the
        site's origin (CORS), and events go to ``invoke``. Uploads a past run left unhandled are queued again.
        Returns the endpoint."""
        self.endpoint = url.rstrip("/") + PREFIX
        os.environ["AWS_ENDPOINT_URL_S3"] = self.endpoint
        origins = [url.rstrip("/"), url.rstrip("/").replace("127.0.0.1", "localhost")]
        for logical_id, name in self.bucket_names.items():
            cors = self.template.resources[logical_id].get("Properties", {}).get("CorsConfiguration")
            if cors:
                # CloudFormation's names for S3's (MaxAge is MaxAgeSeconds, ExposedHeaders ExposeHeaders).
                names = {"MaxAge": "MaxAgeSeconds", "ExposedHeaders": "ExposeHeaders", "Id": "ID"}
                rules = [{names.get(k, k): v for k, v in rule.items() if k != "AllowedOrigins"}
                         | {"AllowedOrigins": origins} for rule in cors["CorsRules"]]
                self._client.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        self.start_delivery(invoke, on_change)
        left = 0
        for notification in self.notifications:
            bucket = _moto_bucket(self.bucket_names[notification.bucket])
            for key in list(bucket.keys.values()):
                if notification.matches("s3:ObjectCreated:Post", key.name):
                    self._queue_event(notification, "s3:ObjectCreated:Post", bucket.name, key.name, key.size,
                                      key.etag)
                    left += 1
        if left:
            print(f"lapor dev: {left} upload(s) left unhandled by the last run handed to their function again",
                  flush=True)
        return self.endpoint

    # -- events -----------------------------------------------------------------------------------------------

    def start_delivery(self, invoke: Invoke, on_change: Callable[[], None]) -> None:
        """Deliver the queued events to ``invoke`` in the background (``on_change`` after each invocation)."""
        self._invoke, self._on_change = invoke, on_change
        self._worker = threading.Thread(target=self._deliver_forever, name="lapor-s3-events", daemon=True)
        self._worker.start()

    def _object_event(self, event_name: str, bucket: Any, key: Any) -> None:
        """moto created or removed ``key`` in ``bucket``: queue an event for each function that asked for it."""
        try:
            if key is None or bucket.name not in self.bucket_names.values():
                return
            for notification in self.notifications:
                if (self.bucket_names[notification.bucket] == bucket.name
                        and notification.matches(event_name, key.name)):
                    self._queue_event(notification, event_name, bucket.name, key.name, key.size, key.etag)
        except Exception:  # noqa: BLE001 - never fail the upload itself
            traceback.print_exc()

    def _queue_event(self, notification: Notification, event_name: str, bucket: str, key: str, size: int,
                     etag: str, attempt: int = 0, delay: float = 0.0) -> None:
        event = _s3_event(notification, event_name, bucket, self.region, key, size, etag)
        self._schedule(notification, event, attempt, delay)

    def _schedule(self, notification: Notification, event: dict[str, Any], attempt: int, delay: float) -> None:
        with self._queued:
            heapq.heappush(self._queue, (time.monotonic() + delay, next(self._sequence), notification, event,
                                         attempt))
            self._queued.notify()

    def pending(self) -> int:
        with self._queued:
            return len(self._queue)

    def _deliver_forever(self) -> None:
        while True:
            with self._queued:
                while not self._stopping and (not self._queue or self._queue[0][0] > time.monotonic()):
                    self._queued.wait(timeout=(self._queue[0][0] - time.monotonic()) if self._queue else None)
                if self._stopping:
                    return
                _, _, notification, event, attempt = heapq.heappop(self._queue)
            self._deliver(notification, event, attempt)

    def _deliver(self, notification: Notification, event: dict[str, Any], attempt: int) -> None:
        function = notification.function
        record = event["Records"][0]
        what = f"{record['eventName']} {record['s3']['bucket']['name']}/{record['s3']['object']['key']}"
        assert self._invoke is not None
        try:
            self._invoke(function, event)
            return
        except Exception:  # noqa: BLE001 - the function failed: Lambda retries an asynchronous event twice
            traceback.print_exc()
        finally:
            self._on_change()
        if attempt < len(RETRY_DELAYS):
            delay = RETRY_DELAYS[attempt]
            print(f"lapor dev: {function.logical_id} failed on {what}; retry {attempt + 1} of {len(RETRY_DELAYS)} "
                  f"in {delay:g} s", flush=True)
            self._schedule(notification, event, attempt + 1, delay)
            return
        if self.dead_letters is not None:
            self.dead_letters.parent.mkdir(parents=True, exist_ok=True)
            with self.dead_letters.open("a", encoding="utf-8") as file:
                file.write(json.dumps({"function": function.logical_id, "event": event}) + "\n")
        print(f"lapor dev: {function.logical_id} failed {len(RETRY_DELAYS) + 1} times on {what}; event dropped"
              + (f", kept in {self.dead_letters}" if self.dead_letters else ""), flush=True)

    # -- serving ----------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Serve one S3 request (mounted at PREFIX: SCRIPT_NAME is the prefix, PATH_INFO the S3 path)."""
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or (
            quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
            + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else ""))
        raw_path, _, raw_query = raw.partition("?")
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        try:
            if method == "OPTIONS":
                pass  # a CORS preflight carries no credentials; moto answers it from the bucket's rules
            elif (method == "POST" and path.strip("/").count("/") == 0 and path.strip("/")
                  and str(environ.get("CONTENT_TYPE", "")).startswith("multipart/form-data")):
                self._check_form(environ, path.strip("/"))
            else:
                s3auth.verify_request(environ, raw_path, raw_query, self.secrets)
        except s3auth.S3Error as error:
            from werkzeug.http import HTTP_STATUS_CODES

            start_response(f"{error.status} {HTTP_STATUS_CODES.get(error.status, 'Error')}",
                           [("Content-Type", "application/xml")])
            return [error.xml()]
        environ["SCRIPT_NAME"] = ""
        for name in ("RAW_URI", "REQUEST_URI"):
            if str(environ.get(name, "")).startswith(PREFIX + "/"):
                environ[name] = environ[name][len(PREFIX):]
        status: list[int] = []

        def capture(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status.append(int(line.split(" ", 1)[0]))
            return start_response(line, headers, exc_info)

        body = self._moto(environ, capture)
        if method in WRITES and status and status[0] < 300:
            try:
                self.save()
            except Exception:  # noqa: BLE001 - kept in memory; the next change or the stop saves again
                traceback.print_exc()
        return body

    def _check_form(self, environ: dict[str, Any], bucket: str) -> None:
        """A browser-based POST upload: read the form (bounded), check it against its policy, and leave the body
        for moto to read again."""
        from werkzeug.formparser import parse_form_data

        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            raise s3auth.S3Error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
        if length > MAX_FORM_BYTES:
            raise s3auth.S3Error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        body = environ["wsgi.input"].read(length)
        form_environ = dict(environ, **{"wsgi.input": io.BytesIO(body)})
        _, form, files = parse_form_data(form_environ)
        upload = files.get("file")
        size = len(upload.read()) if upload is not None else 0
        if upload is None:
            raise s3auth.S3Error(400, "InvalidArgument", "POST requires exactly one file upload per request.")
        del upload, files
        s3auth.verify_post({name: form[name] for name in form}, size, bucket, self.secrets)
        environ["wsgi.input"] = io.BytesIO(body)

    # -- kept between runs -------------------------------------------------------------------------------------

    def _folder(self, bucket: str) -> Path:
        assert self.data_dir is not None
        return self.data_dir / "s3" / bucket

    def _restore(self, bucket: str) -> None:
        """Load the objects the last run kept (one at a time, each read from its file)."""
        self._saved[bucket] = {}
        if self.data_dir is None or not (self._folder(bucket) / "index.json").exists():
            return
        index = json.loads((self._folder(bucket) / "index.json").read_text(encoding="utf-8"))
        for key, saved in index["objects"].items():
            path = self._folder(bucket) / saved["file"]
            if not path.exists():
                continue
            metadata = saved.get("metadata", {})
            extra: dict[str, Any] = {"Metadata": {k[len("x-amz-meta-"):]: v for k, v in metadata.items()
                                                  if k.lower().startswith("x-amz-meta-")}}
            for header in KEPT_HEADERS:
                if metadata.get(header):
                    extra["".join(part.capitalize() for part in header.split("-"))] = metadata[header]
            if saved.get("encryption"):
                extra["ServerSideEncryption"] = saved["encryption"]
            with path.open("rb") as file:
                self._client.put_object(Bucket=bucket, Key=key, Body=file, **extra)
            self._saved[bucket][key] = saved | {"etag": _moto_bucket(bucket).keys[key].etag}

    def save(self) -> None:
        """Write the objects created or replaced since the last save, remove those deleted, then the index."""
        if self.data_dir is None:
            return
        with self._saving:
            for bucket in self.bucket_names.values():
                self._save_bucket(bucket)

    def _save_bucket(self, bucket: str) -> None:
        folder = self._folder(bucket)
        saved = self._saved.setdefault(bucket, {})
        current = {key.name: key for key in _moto_bucket(bucket).keys.values() if hasattr(key, "etag")}
        changed = False
        for name, key in current.items():
            if saved.get(name, {}).get("etag") == key.etag:
                continue
            folder.mkdir(parents=True, exist_ok=True)
            file_name = _file_name(name)
            tmp = folder / (file_name + ".tmp")
            with tmp.open("wb") as file:
                _copy_value(key, file)
            tmp.replace(folder / file_name)
            saved[name] = {"file": file_name, "etag": key.etag, "encryption": key.encryption,
                           "metadata": {k.lower(): v for k, v in dict(key.metadata).items()
                                        if k.lower() in KEPT_HEADERS or k.lower().startswith("x-amz-meta-")}}
            changed = True
        for name in [n for n in saved if n not in current]:
            with contextlib.suppress(FileNotFoundError):
                (folder / saved.pop(name)["file"]).unlink()
            changed = True
        if changed:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / "index.json.tmp"
            tmp.write_text(json.dumps({"bucket": bucket, "objects": saved}, indent=1), encoding="utf-8")
            tmp.replace(folder / "index.json")

    def stop(self, timeout: float = 5.0) -> None:
        """Let the event being delivered finish (``timeout`` at most); forget the queued ones; save."""
        with self._queued:
            self._stopping = True
            self._queued.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=timeout)
        if self._object_event in _listeners:
            _listeners.remove(self._object_event)
        if self._moto is not None:
            self.save()


def _copy_value(key: Any, file: Any) -> None:
    """Write an object's bytes to ``file`` from moto's buffer (a temporary file past KEY_BUFFER_BYTES), without a
    copy of the whole in memory; moto's ``value`` (two copies) if its buffer is not where moto 5 keeps it."""
    buffer = getattr(key, "_value_buffer", None)
    if buffer is None:
        file.write(key.value)
        return
    with key.lock:
        buffer.seek(0)
        shutil.copyfileobj(buffer, file, 1024 * 1024)


def objects(bucket: str) -> Iterator[tuple[str, int]]:
    """``(key, size)`` of each object in a local bucket (for tests and the bench)."""
    for key in list(_moto_bucket(bucket).keys.values()):
        yield key.name, key.size
