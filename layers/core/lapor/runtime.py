"""The objects a warm function keeps between requests, built on first use."""

from __future__ import annotations

import sys
from functools import lru_cache

from lapor.config import ConfigCache
from lapor.dal import ReportStore
from lapor.settings import get_settings


@lru_cache(maxsize=1)
def store() -> ReportStore:
    settings = get_settings()
    return ReportStore(settings.table_name, due_index_shards=settings.due_index_shards)


@lru_cache(maxsize=1)
def config_cache() -> ConfigCache:
    return ConfigCache(store(), get_settings().config_cache_seconds)


def reset() -> None:
    """Forget settings, clients and caches (tests change the environment between cases)."""
    get_settings.cache_clear()
    store.cache_clear()
    config_cache.cache_clear()
    idempotency = sys.modules.get("lapor.idempotency")
    if idempotency is not None:
        idempotency._persistence_and_config.cache_clear()
    notify = sys.modules.get("lapor.notify")
    if notify is not None:
        notify.reset()
