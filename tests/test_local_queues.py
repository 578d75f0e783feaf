"""The local stack's SQS event source (``lapor dev``): the template's sweep queue, fed to its worker as Lambda
would feed it (tests/e2e/test_operators.py runs it over HTTP)."""

import json

import pytest

from conftest import ROOT
from lapor_cli.queues import QueuePoller
from lapor_cli.template import load_template


@pytest.fixture
def poller(aws):
    made = QueuePoller(load_template(ROOT / "template.yaml"), endpoint=None)  # moto in process
    yield made
    made.stop()


def test_the_queues_that_feed_functions_are_created_with_their_dead_letter_queue(poller):
    urls = poller.create()
    assert set(urls) == {"SweepQueue", "SweepDeadLetterQueue"}
    attributes = poller.client.get_queue_attributes(QueueUrl=urls["SweepQueue"], AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == 5 and redrive["deadLetterTargetArn"].endswith(":SweepDeadLetterQueue")
    [(function, queue, props)] = poller.mappings
    assert (function.logical_id, queue, props["BatchSize"]) == ("SweepWorkerFunction", "SweepQueue", 1)


def test_handled_messages_are_deleted_failed_ones_delivered_again(poller):
    urls = poller.create()
    delivered = []

    def invoke(function, event):
        [record] = event["Records"]
        delivered.append((json.loads(record["body"]), record["attributes"]["ApproximateReceiveCount"]))
        if json.loads(record["body"])["fail"]:
            return {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
        return {"batchItemFailures": []}

    poller.invoke = invoke
    [(function, queue, _)] = poller.mappings
    url = urls[queue]
    poller.client.send_message(QueueUrl=url, MessageBody=json.dumps({"n": 1, "fail": False}))
    poller.client.send_message(QueueUrl=url, MessageBody=json.dumps({"n": 2, "fail": True}))
    assert poller.deliver(function, url, 1) == 1 and poller.deliver(function, url, 1) == 1
    assert [(body["n"], count) for body, count in delivered] == [(1, "1"), (2, "1")]
    left = poller.client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (left["ApproximateNumberOfMessages"], left["ApproximateNumberOfMessagesNotVisible"]) == ("0", "1")
