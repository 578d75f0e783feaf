"""``/stats``: public transparency figures, summed from counters the stream keeps (no Scan per request)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from lapor import runtime
from lapor.domain import reference, stats
from lapor.domain.clock import EARLIEST, LATEST
from lapor.errors import NotFound, Unprocessable
from lapor.models import StatsOut
from lapor_api.responses import errors, ok

router = APIGatewayHttpRouter()
DEFAULT_DAYS = 365
MAX_DAYS = 3 * 366


@router.get("/stats", summary="Reports by status, category and region; on-time rate; response time",
            tags=["reference"], responses=ok("The figures for the region and days asked") | errors(
                (404, "No region with this code (`unknown_region`)"),
                (422, "The query does not match the schema (`validation_error`), a day lies outside the years "
                      "Lapor covers (`date_out_of_range`), or from is after to or the range is over "
                      f"{MAX_DAYS} days (`invalid_range`)")))
def get_stats(
    region: Annotated[str | None, Query(pattern=reference.REGION_CODE_PATTERN, examples=["64.72"])] = None,
    from_: Annotated[date | None, Query(alias="from", description="First submission day (default: a year ago)")] = None,
    to: Annotated[date | None, Query(description="Last submission day (default: today)")] = None,
) -> StatsOut:
    for name, day in (("from", from_), ("to", to)):
        if day is not None and not EARLIEST.date() <= day < LATEST.date():
            raise Unprocessable(f"{name} must lie between {EARLIEST.year} and {LATEST.year - 1}",
                                code="date_out_of_range", details=[{"loc": ["query", name], "input": str(day)}])
    if region is not None and reference.region(region) is None:
        raise NotFound(f"no region {region!r}", code="unknown_region")
    # Buckets are local submission days; the easternmost zone (WIT) is the first to reach a new day.
    last = to or datetime.now(ZoneInfo("Asia/Jayapura")).date()
    first = from_ or last - timedelta(days=DEFAULT_DAYS)
    if first > last or (last - first).days > MAX_DAYS:
        raise Unprocessable(f"from must not be after to, and the range at most {MAX_DAYS} days", code="invalid_range")
    buckets = runtime.stats_store().read_stats(region or stats.ALL, first.isoformat(), last.isoformat())
    return StatsOut.model_validate({"region": region, "from_date": first, "to_date": last,
                                    **stats.summarize(buckets)})
