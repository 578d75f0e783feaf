"""Every setting Lapor reads from its environment, in one model (prefix ``LAPOR_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAPOR_", frozen=True)

    table_name: str = "lapor-reports"
    idempotency_table_name: str = "lapor-idempotency"
    # Working days an agency has to respond, unless a category or a route says otherwise.
    deadline_working_days: int = Field(30, ge=1, le=365)
    # Partitions of the sparse "open by due" index; the sweep queries each one.
    due_index_shards: int = Field(8, ge=1, le=256)
    # Routes, agencies and calendar overrides are cached per warm container for this long.
    config_cache_seconds: float = Field(300, ge=0)
    # Requests with a larger body are refused with 413 before parsing.
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    # How long a replay of the same Idempotency-Key returns the first answer.
    idempotency_expiry_seconds: int = Field(24 * 3600, ge=60)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
