"""``/categories`` and ``/regions``: the reference data clients build their forms from."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from lapor.domain import reference
from lapor.errors import NotFound
from lapor.models import CategoryList, RegionList
from lapor.settings import get_settings
from lapor_api.responses import errors, ok

router = APIGatewayHttpRouter()


@router.get("/categories", summary="Report categories", tags=["reference"], responses=ok("Every category"))
def list_categories() -> CategoryList:
    default_days = get_settings().deadline_working_days
    return CategoryList.model_validate({"items": [
        asdict(c) | {"keywords": list(c.keywords), "deadline_working_days": c.deadline_working_days or default_days}
        for c in reference.categories().values()
    ]})


@router.get("/regions", summary="Kemendagri regions", tags=["reference"],
            responses=ok("The regions one level below parent") | errors(
                (404, "No region with this code (`unknown_region`)"), 422))
def list_regions(
    parent: Annotated[
        str | None,
        Query(pattern=reference.REGION_CODE_PATTERN, examples=["64"],
              description="A province or kabupaten/kota code; omit it for the 38 provinces."),
    ] = None,
) -> RegionList:
    if parent is not None and reference.region(parent) is None:
        raise NotFound(f"no region {parent!r}", code="unknown_region")
    return RegionList.model_validate({"items": [
        {"code": r.code, "name": r.name, "type": r.type, "timezone": r.timezone,
         "timezone_abbreviation": reference.TIMEZONE_ABBREVIATIONS[r.timezone]}
        for r in reference.child_regions(parent)
    ]})
