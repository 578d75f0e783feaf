"""Every setting Lapor reads from its environment, in one model (variables ``LAPOR_<FIELD>``).

A plain pydantic model filled from ``os.environ``: pydantic-settings would add ~40 ms to every cold start
for features (dotenv, CLI, secrets files) Lambda does not use.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PREFIX = "LAPOR_"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    table_name: str = "lapor-reports"
    idempotency_table_name: str = "lapor-idempotency"
    # Working days an agency has to respond, unless a category or a route says otherwise.
    deadline_working_days: int = Field(30, ge=1, le=365)
    # Partitions of the sparse "open by due" index; the sweep queries each one.
    due_index_shards: int = Field(8, ge=1, le=256)
    # Routes, agencies and calendar overrides are cached per warm container for this long.
    config_cache_seconds: float = Field(300, ge=0)
    # Signs page cursors (a value here, ``ssm:<parameter name>`` on AWS): a client can resume only listings the
    # server paged for it.
    cursor_secret: str = ""
    # Requests with a larger body are refused with 413 before parsing.
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    # An Open311 multipart/form-data POST (a form with photos) may be this large instead. Lambda takes at most 6 MB
    # per synchronous request, and API Gateway hands it the body base64-encoded (4/3 of its size) within the
    # event: about 4.5 MB is the most that can ever arrive, so the default is 4 MiB and the ceiling 4.5 MB.
    max_multipart_bytes: int = Field(4 * 1024 * 1024, ge=1024, le=4_500_000)
    # The queue the scheduled sweep fans out on (one message per shard).
    sweep_queue_url: str = ""
    # A sweep worker hands the rest of its shard on when less than this is left of its time limit.
    sweep_reserve_seconds: float = Field(20, ge=1)
    # Overdue reports a sweep reads per page of the due index.
    sweep_page_size: int = Field(100, ge=1, le=1000)
    # An on-demand dry run is swept inside the API call while this lasts (200 when it finishes); the rest, and
    # every run that writes, goes to the queue (202). 0: every run goes to the queue.
    sweep_inline_seconds: float = Field(3, ge=0, le=8)
    # A running sweep with no progress for this long reads as ``stalled``: longer than a worker's time limit
    # (300 s) plus the queue's visibility timeout (1800 s), after which SQS redelivers a message whose worker died.
    sweep_stall_seconds: float = Field(3600, ge=60)
    # Deliveries of a shard message before SQS gives it to the dead-letter queue (the queue's maxReceiveCount):
    # the worker records the run ``failed`` when the last one fails.
    sweep_max_receive_count: int = Field(5, ge=1)
    # How long a replay of the same Idempotency-Key returns the first answer.
    idempotency_expiry_seconds: int = Field(24 * 3600, ge=60)
    # Where notices go: SNS (SMS) and EventBridge on AWS, or a JSON-lines file in the local stack.
    notify_transport: Literal["aws", "outbox"] = "aws"
    outbox_path: str = ".lapor/outbox.jsonl"
    event_bus_name: str = "default"
    # A notice is sent at most once while its record lives: longer than a stream keeps records (24 h).
    notice_dedupe_seconds: int = Field(3 * 24 * 3600, ge=3600)

    # Attachments (design §4.1): the private bucket, how long an upload's presigned POST lasts, and how long the
    # presigned GET URLs in views last (minutes: a view's links stop working soon after it was read).
    media_bucket: str = ""
    upload_url_seconds: int = Field(900, ge=60, le=3600)
    attachment_url_seconds: int = Field(300, ge=30, le=3600)

    # The deployment's province: Open311 offers its kabupaten/kota as the region_code values.
    home_province: str = Field("64", pattern=r"^\d{2}$")
    # Open311's discovery document: the endpoint's public base URL (empty: the URL the request came in on, from
    # x-forwarded-proto and Host), whom to contact, and how a client gets an api_key.
    open311_url: str = Field("", pattern=r"^(https?://[^\s]+)?$")
    open311_contact: str = Field("The Lapor administrators of this deployment", min_length=1, max_length=500)
    open311_key_service: str = Field("An admin issues keys: POST /admin/apikeys, or lapor apikeys create", min_length=1,
                                     max_length=500)
    # SMS webhooks. The secrets are values here (lapor dev) or ``ssm:<parameter name>`` (read once, decrypted).
    # Empty means no provider is configured: every webhook call is refused.
    twilio_auth_token: str = ""
    sms_hmac_secret: str = ""
    # Reports one phone number may file per day (local day of its default region).
    sms_daily_limit: int = Field(10, ge=1)
    # Free-text SMS are filed for the receiving number's region: JSON {"<number as the provider sends it>":
    # "<region code>"}; numbers not listed use sms_default_region.
    sms_numbers: dict[str, str] = Field(default_factory=dict)
    sms_default_region: str = "64.72"
    # A provider's message id is remembered this long: far longer than any provider keeps resending.
    sms_dedupe_seconds: int = Field(30 * 24 * 3600, ge=3600)

    @field_validator("sms_numbers", mode="before")
    @classmethod
    def _json_object(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        return cls.model_validate({
            name: environ[PREFIX + name.upper()] for name in cls.model_fields if PREFIX + name.upper() in environ
        })


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environment()
