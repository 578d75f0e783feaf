"""The local stack's SQS event source mappings: each queue of ``template.yaml`` that feeds a function (the sweep
queue, read by SweepWorkerFunction) is created on the embedded moto server with its dead-letter queue, and its
messages are delivered in batches to that function, as Lambda would: deleted once handled, left for another
delivery when the function reports them failed (or raises), moved to the dead-letter queue by SQS after the
template's ``maxReceiveCount``. So ``POST /admin/sweeps`` runs locally exactly as on AWS: the API records the
run and sends one message per shard; the worker here sweeps them.

Differences from AWS, for a quick local loop: a failed message is delivered again after
``LOCAL_VISIBILITY_SECONDS`` rather than the queue's VisibilityTimeout (30 minutes for the sweep's); messages
are kept in memory only (a run left unfinished when ``lapor dev`` stops reads as ``stalled`` an hour later);
every function gets the local 10 s context, so a sweep worker hands the rest of its shard on after each page
and API requests interleave with a long sweep.
"""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable
from typing import Any

from lapor_cli.template import FunctionSpec, Template

LOCAL_VISIBILITY_SECONDS = 2


def _arn_target(value: Any) -> str | None:
    """The logical id in ``!GetAtt X.Arn``."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0]
    return None


class QueuePoller:
    def __init__(self, template: Template, endpoint: str, interval: float = 0.2) -> None:
        self.template, self.endpoint, self.interval = template, endpoint, interval
        self.invoke: Callable[[FunctionSpec, dict[str, Any]], Any] = lambda function, event: None
        self.on_change: Callable[[], None] = lambda: None
        self.urls: dict[str, str] = {}
        self._arns: dict[str, str] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("sqs", endpoint_url=self.endpoint, region_name="ap-southeast-3",
                                        aws_access_key_id="lapor-local", aws_secret_access_key="lapor-local")
        return self._client

    @property
    def mappings(self) -> list[tuple[FunctionSpec, str, dict[str, Any]]]:
        """``(function, queue logical id, event properties)`` for every SQS event source of the template."""
        found = []
        for name, function in self.template.functions.items():
            for event in self.template.resources[name]["Properties"].get("Events", {}).values():
                if event["Type"] == "SQS":
                    found.append((function, _arn_target(event["Properties"]["Queue"]), event["Properties"]))
        return found

    def create(self) -> dict[str, str]:
        """Create every queue a function reads (and its dead-letter queue); their URLs by logical id, for the
        functions' ``!Ref`` environment values."""
        for _, queue, _ in self.mappings:
            self._create(queue)
        return dict(self.urls)

    def _create(self, logical_id: str) -> str:
        if logical_id in self.urls:
            return self.urls[logical_id]
        props = self.template.resources[logical_id].get("Properties", {})
        attributes = {"VisibilityTimeout": str(LOCAL_VISIBILITY_SECONDS)}
        redrive = props.get("RedrivePolicy")
        if redrive:
            dead_letters = self._create(_arn_target(redrive["deadLetterTargetArn"]))
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": self._arns[dead_letters],
                                                      "maxReceiveCount": int(redrive["maxReceiveCount"])})
        url = self.client.create_queue(QueueName=logical_id, Attributes=attributes)["QueueUrl"]
        self._arns[url] = self.client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.urls[logical_id] = url
        return url

    def start(self, invoke: Callable[[FunctionSpec, dict[str, Any]], Any], on_change: Callable[[], None]) -> None:
        """Deliver each queue's messages to its function through ``invoke`` (after ``create``)."""
        self.invoke, self.on_change = invoke, on_change
        for function, queue, props in self.mappings:
            batch_size = int(props.get("BatchSize", 10))
            thread = threading.Thread(target=self._poll, args=(function, self.urls[queue], batch_size),
                                      name=f"lapor-queue-{function.logical_id}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _poll(self, function: FunctionSpec, url: str, batch_size: int) -> None:
        while not self._stop.is_set():
            try:
                self.deliver(function, url, batch_size)
            except Exception:  # the moto server going away at shutdown, say: keep polling until stopped
                if not self._stop.is_set():
                    traceback.print_exc()
                self._stop.wait(self.interval)

    def deliver(self, function: FunctionSpec, url: str, batch_size: int) -> int:
        """Receive one batch and invoke ``function`` with it; delete what it handled. The messages received."""
        messages = self.client.receive_message(QueueUrl=url, MaxNumberOfMessages=min(batch_size, 10),
                                               AttributeNames=["All"]).get("Messages", [])
        if not messages:
            self._stop.wait(self.interval)
            return 0
        arn = self._arns[url]
        records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs", "awsRegion": "ap-southeast-3", "eventSourceARN": arn}
                   for m in messages]
        try:
            result = self.invoke(function, {"Records": records}) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:  # the whole invocation failed: every message is delivered again
            traceback.print_exc()
            failed = {m["MessageId"] for m in messages}
        for message in messages:
            if message["MessageId"] not in failed:
                self.client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        self.on_change()
        return len(messages)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
