"""A new report as a citizen files it (:class:`ReportIn`) and the types it is made of: the one request body that
SmsFunction validates, apart from the models of every other route (:mod:`lapor.models` re-exports these)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from lapor.domain.phones import to_e164
from lapor.domain.reference import REGION_CODE_PATTERN
from lapor.domain.text import check_text


class Deferred(BaseModel):
    """Every model here: its validator and serializer are built when first used, not at import (issue #16: building
    all of them took ~40 ms of every cold start, and a request uses a few). The OpenAPI document is the same
    (tests/test_openapi_snapshot.py), and SnapStart's priming builds the ones a request uses before the snapshot."""

    model_config = ConfigDict(defer_build=True)


Kind = Literal["complaint", "aspiration", "information_request"]
Privacy = Literal["public", "confidential", "anonymous"]

# Every free text Lapor stores: trimmed, no control characters or bidi overrides, something visible in it.
Text = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(check_text)]
# JSON numbers and booleans as they are: `true` is not a latitude nor a rating, "1.5" not a number.
Coordinate = Annotated[float, Field(strict=True)]


class Location(Deferred):
    model_config = ConfigDict(extra="forbid")
    lat: Coordinate = Field(ge=-90, le=90)
    lon: Coordinate = Field(ge=-180, le=180)


class ReporterIn(Deferred):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[Text, Field(min_length=1, max_length=100)] | None = None
    phone: Annotated[Text, Field(min_length=5, max_length=32)] | None = None
    email: Annotated[Text, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        return None if value is None else to_e164(value)


class ReportIn(Deferred):
    """A new report, as a citizen files it."""

    model_config = ConfigDict(extra="forbid")
    kind: Kind
    category: Annotated[Text, Field(min_length=1, max_length=64)]
    region_code: Annotated[Text, Field(pattern=REGION_CODE_PATTERN, examples=["64.72"])]
    title: Annotated[Text, Field(min_length=5, max_length=150)]
    description: Annotated[Text, Field(min_length=10, max_length=5000)]
    privacy: Privacy
    location: Location | None = None
    reporter: ReporterIn | None = None
