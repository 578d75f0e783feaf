"""The objects a warm function keeps between requests, built on first use."""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from typing import Any

from lapor.config import ConfigCache
from lapor.dal import ApiKeyStore, ConfigStore, IntakeKeyStore, ReportStore, SmsStore, StatsStore, SweepRunStore
from lapor.settings import get_settings


@lru_cache(maxsize=1)
def dynamodb() -> Any:
    """The one DynamoDB client every store of this process talks through, built when a store first needs it."""
    from lapor.dal.table import new_client

    return new_client()


@lru_cache(maxsize=1)
def store() -> ReportStore:
    """Reports."""
    settings = get_settings()
    return ReportStore(settings.table_name, due_index_shards=settings.due_index_shards, connect=dynamodb)


@lru_cache(maxsize=1)
def config_store() -> ConfigStore:
    """Agencies, routes and calendar overrides (read through ``config_cache`` on the request path)."""
    return ConfigStore(get_settings().table_name, connect=dynamodb)


@lru_cache(maxsize=1)
def api_keys() -> ApiKeyStore:
    return ApiKeyStore(get_settings().table_name, connect=dynamodb)


@lru_cache(maxsize=1)
def intake_keys() -> IntakeKeyStore:
    """Idempotency-Keys of filed reports."""
    return IntakeKeyStore(get_settings().table_name, connect=dynamodb)


@lru_cache(maxsize=1)
def sms_store() -> SmsStore:
    return SmsStore(get_settings().table_name, reports=store(), connect=dynamodb)


@lru_cache(maxsize=1)
def stats_store() -> StatsStore:
    return StatsStore(get_settings().table_name, connect=dynamodb)


@lru_cache(maxsize=1)
def sweep_runs() -> SweepRunStore:
    return SweepRunStore(get_settings().table_name, connect=dynamodb)


@lru_cache(maxsize=1)
def sqs() -> Any:
    import boto3

    return boto3.client("sqs")


def send_sweep_message(message: dict[str, Any]) -> None:
    """One shard of a sweep run to the sweep queue (``LAPOR_SWEEP_QUEUE_URL``), for a worker."""
    sqs().send_message(QueueUrl=get_settings().sweep_queue_url, MessageBody=json.dumps(message))


@lru_cache(maxsize=1)
def s3() -> Any:
    """The attachments bucket's client (SigV4, so presigned URLs work in every region); built on first use."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(signature_version="s3v4"))


def presign_get(key: str) -> str:
    """A short-lived GET URL for one object of the attachments bucket (no request is made to sign it)."""
    settings = get_settings()
    return s3().generate_presigned_url("get_object", Params={"Bucket": settings.media_bucket, "Key": key},
                                       ExpiresIn=settings.attachment_url_seconds)


@lru_cache(maxsize=1)
def config_cache() -> ConfigCache:
    return ConfigCache(config_store(), get_settings().config_cache_seconds)


def close_connections(client: Any) -> None:
    """Close ``client``'s pooled HTTP connections (and its proxies'); the client stays usable and opens new ones
    on its next call. botocore's own ``URLLib3Session.close``: it empties urllib3's pool managers."""
    client._endpoint.http_session.close()


def drop_connections() -> None:
    """After a SnapStart restore: keep the DynamoDB client and the stores (a new client would cost ~3 ms to build and
    more on its first call: endpoint rules, signer, handlers), close its pooled connections (a socket in the
    snapshot is dead in every copy, and copies must never share one TLS session); forget the rarely used clients
    (SQS, S3, SNS, EventBridge, Powertools' idempotency store), built again on first use."""
    if dynamodb.cache_info().currsize:
        close_connections(dynamodb())
    for cached in (sqs, s3):
        cached.cache_clear()
    notify = sys.modules.get("lapor.notify")
    if notify is not None:
        notify.reset()


def reset_caches() -> None:
    """Forget the stores and the configuration cache, keep the clients (after SnapStart's priming)."""
    for cached in (store, config_store, api_keys, intake_keys, sms_store, stats_store, sweep_runs, config_cache):
        cached.cache_clear()


def reset() -> None:
    """Forget settings, clients and caches (tests change the environment between cases)."""
    get_settings.cache_clear()
    for cached in (dynamodb, store, config_store, api_keys, intake_keys, sms_store, stats_store, sweep_runs, sqs, s3,
                   config_cache):
        cached.cache_clear()
    notify = sys.modules.get("lapor.notify")
    if notify is not None:
        notify.reset()
