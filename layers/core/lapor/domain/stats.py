"""Public statistics as counters: what each report contributes, and how counters become figures.

Counters live in daily buckets (the report's local submission day) per region scope (everything, its
province, its kabupaten/kota), so ``GET /stats`` sums at most a year of small items and never scans reports.
A change to a report moves its contribution: the stream consumer adds ``new - old``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from lapor.domain.calendar import WorkingCalendar
from lapor.domain.clock import local_day

ALL = "ALL"
ANSWERED_STATUSES = frozenset({"responded", "closed"})


def scopes(region_code: str) -> list[tuple[str, str | None]]:
    """``(scope, child)`` pairs: ``64.72.01`` → ALL/64, 64/64.72, 64.72/64.72.01, 64.72.01/None."""
    parts = region_code.split(".")
    lineage = [ALL] + [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return [(scope, lineage[i + 1] if i + 1 < len(lineage) else None) for i, scope in enumerate(lineage)]


def bucket_day(record: dict[str, Any], zone: ZoneInfo) -> str:
    return local_day(record["submitted_at"], zone).isoformat()


def contribution(record: dict[str, Any] | None, zone: ZoneInfo, calendar: WorkingCalendar) -> Counter[str]:
    """The counters one report adds to each of its scopes (the child region is added per scope). A duplicate
    merged into another report adds only its supporters: a merged pair counts once, as its master (the change that
    merges it takes back all else it added, its status, category and first answer included; an undone merge adds
    them again)."""
    if not record or "tracking_id" not in record:
        return Counter()
    # Support given ("dukung"): the report item's count, which each support ADDs one to (the stream then shows
    # it going up by one: counted once per support, like every counter, by the stream record's marker). A
    # merged duplicate keeps its supporters: each was a support given, once, to that report.
    supporters = int(record.get("supporters") or 0)
    if record.get("merged_into"):
        return Counter({"supporters": supporters})
    counts: Counter[str] = Counter({"total": 1, f"status#{record['status']}": 1,
                                    f"category#{record['category']}": 1, "supporters": supporters})
    first = record.get("first_answered_at")
    if first:
        counts["answered"] += 1
        if first <= record["due_at_utc"]:
            counts["answered_on_time"] += 1
        days = calendar.working_days_between(local_day(record["submitted_at"], zone), local_day(first, zone))
        counts[f"first_response_days#{days}"] += 1
    return counts


def delta(old: dict[str, Any] | None, new: dict[str, Any] | None, zone: ZoneInfo,
          calendar: WorkingCalendar) -> dict[str, int]:
    change = Counter(contribution(new, zone, calendar))
    change.subtract(contribution(old, zone, calendar))
    return {k: v for k, v in change.items() if v}


def summarize(buckets: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Figures from summed counters: counts by status, category and child region, on-time share, median."""
    total: Counter[str] = Counter()
    for bucket in buckets:
        total.update({k: int(v) for k, v in bucket.items() if isinstance(v, (int, float))})

    def group(prefix: str) -> dict[str, int]:
        return {k.split("#", 1)[1]: v for k, v in sorted(total.items()) if k.startswith(prefix + "#") and v}

    histogram = sorted((int(days), n) for days, n in group("first_response_days").items())
    answered = total["answered"]
    median = None
    if answered:
        # The middle of the sorted list of first-response times, read off the histogram.
        positions = [(answered - 1) // 2, answered // 2]
        values, seen = [], 0
        for days, n in histogram:
            values += [days for p in positions if seen <= p < seen + n]
            seen += n
        median = sum(values) / len(values)
    return {
        "total": total["total"], "by_status": group("status"), "by_category": group("category"),
        "by_region": group("region"), "answered": answered,
        "answered_on_time_rate": round(total["answered_on_time"] / answered, 4) if answered else None,
        "median_working_days_to_first_response": median, "supporters": total["supporters"],
    }
