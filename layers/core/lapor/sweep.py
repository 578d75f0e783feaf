"""The deadline sweep: every report past its deadline goes one step up the escalation ladder, exactly once;
every answered report whose reporter stayed silent for 10 working days is closed.

It reads only the sparse ``ByDue`` index (reports awaiting an agency, oldest deadline first, shard by
shard), then ``ByClosing`` (answered reports by the end of their reopen window), so its cost grows with the
reports due for action, not with the table. Each change is one write conditional on the version and status
the index showed: two sweeps at once, a rerun after a crash, or an agency answering (a reporter reopening)
meanwhile all make the later write fail harmlessly (counted as ``skipped``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from lapor.config import RoutingConfig
from lapor.dal import ReportChanged, ReportStore
from lapor.domain.clock import iso_utc
from lapor.domain.escalation import ESCALATION_WORKING_DAYS, UNKNOWN_AGENCY, is_overdue, next_agency
from lapor.intake import new_event
from lapor.observability import error_summary, logger


@dataclass
class SweepCounts:
    """What a sweep (or one shard's share of it) did."""


    scanned: int = 0
    escalated: int = 0
    flagged_final: int = 0
    closed: int = 0
    skipped: int = 0
    # Reports whose escalation or closing raised: logged with their tracking id, the rest of the run goes on.
    failed: int = 0

    def add(self, outcome: str) -> None:
        self.scanned += 1
        setattr(self, outcome, getattr(self, outcome) + 1)


def escalation(config: RoutingConfig, item: dict[str, Any], as_of: datetime, now: datetime,
               working_days: int = ESCALATION_WORKING_DAYS) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """What escalating ``item`` means: (outcome, attribute changes, timeline event). Pure.

    A report whose agency (or the next one up its ladder) the configuration does not know goes to the national
    administrator, flagged ``unknown_agency`` (``escalation.next_agency``), never stopped where it is.
    """
    upper, unknown = next_agency(config.agencies, item["agency_id"])
    flagged = {"flags": [UNKNOWN_AGENCY]} if unknown else {}
    noted = {"unknown_agency_id": unknown} if unknown else {}
    if upper is None:
        event = new_event("overdue_final", now, "system", "system", agency_id=item["agency_id"], **noted,
                          message="Tenggat terlewati di puncak jenjang; untuk dirujuk ke Ombudsman RI")
        return "flagged_final", {"status": item["status"], "overdue_final": True, **flagged}, event
    changes = {"status": "escalated", "escalation_level": item["escalation_level"] + 1, "agency_id": upper.id,
               "agency_name": upper.name, **config.deadline(item["region_code"], as_of, working_days), **flagged}
    message = (f"Tenggat terlewati; instansi {unknown} tidak terdaftar dalam jenjang, diteruskan ke {upper.name}"
               if unknown else f"Tenggat terlewati; diteruskan ke {upper.name}")
    event = new_event("escalated", now, "system", "system", agency_id=upper.id, from_agency_id=item["agency_id"],
                      **noted, message=message)
    return "escalated", changes, event


def closing(item: dict[str, Any], now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """Closing a silent answered report: (attribute changes, timeline event). Pure."""
    event = new_event("closed", now, "system", "system", agency_id=item["agency_id"],
                      message="Ditutup otomatis: tidak ada tanggapan pelapor dalam 10 hari kerja setelah jawaban")
    return {"status": "closed"}, event


def _phase(cursor: dict[str, Any] | None) -> tuple[str, dict[str, Any] | None]:
    """Where a shard's sweep resumes: (index, its LastEvaluatedKey). A bare key is a ByDue cursor."""
    if cursor is None:
        return "due", None
    return (cursor["phase"], cursor["key"]) if "phase" in cursor else ("due", cursor)


def sweep_shard(store: ReportStore, config: RoutingConfig, shard: int, *, as_of: datetime, dry_run: bool,
                start_key: dict[str, Any] | None = None, page_size: int = 100,
                keep_going: Callable[[], bool] = lambda: True) -> tuple[SweepCounts, dict[str, Any] | None]:
    """Sweep one shard from ``start_key``, page by page, while ``keep_going()``: its overdue reports, then
    its answered reports due to close.

    Returns the counts and where to resume (None once the shard is done): a worker near its time limit hands
    the rest on instead of being cut off half way.
    """
    counts = SweepCounts()
    bound = iso_utc(as_of)  # index sort keys below this fall due before as_of
    now = datetime.now(UTC).replace(microsecond=0)
    phase, key = _phase(start_key)
    while True:
        read = store.overdue_page if phase == "due" else store.closing_page
        items, key = read(shard, bound, limit=page_size, start_key=key)
        for item in items:
            try:
                outcome = _act(store, config, item, phase, as_of=as_of, now=now, dry_run=dry_run)
            except Exception as error:  # noqa: BLE001 (one bad report must not stop the sweep for the others)
                # Type and frames only: the message may quote the report. It stays due and is tried next run.
                logger.warning("report not swept", extra={"tracking_id": item.get("tracking_id"), "phase": phase,
                                                          **error_summary(error)})
                outcome = "failed"
            counts.add(outcome)
        if key is None and phase == "due":
            phase = "closing"
        elif key is None:
            return counts, None
        if not keep_going():
            return counts, {"phase": phase, "key": key}


def _act(store: ReportStore, config: RoutingConfig, item: dict[str, Any], phase: str, *, as_of: datetime,
         now: datetime, dry_run: bool) -> str:
    """Escalate (``due``) or close (``closing``) one report as of ``as_of``; the outcome to count."""
    deadline = item["due_at_utc"] if phase == "due" else item["closes_at_utc"]
    if not is_overdue(deadline, as_of):
        return "skipped"
    if phase == "due":
        outcome, changes, event = escalation(config, item, as_of, now)
    else:
        outcome, (changes, event) = "closed", closing(item, now)
    if not dry_run:
        try:
            store.record_change(item, changes, event=event, now_utc=iso_utc(now))
        except ReportChanged:
            return "skipped"  # answered, reopened or swept meanwhile: never twice, never lost
    return outcome


# What each count is called as a CloudWatch metric (dimension ``trigger``: schedule or on_demand).
METRICS = {"escalated": "ReportsEscalated", "flagged_final": "ReportsOverdueFinal", "closed": "ReportsClosed",
           "failed": "ReportsSweepFailed"}


def emit_metrics(counts: SweepCounts, trigger: str) -> None:
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    for field, name in METRICS.items():
        with single_metric(name=name, unit=MetricUnit.Count, value=getattr(counts, field)) as metric:
            metric.add_dimension(name="trigger", value=trigger)


def run_sweep(store: ReportStore, config: RoutingConfig, *, as_of: datetime, dry_run: bool, shards: int,
              page_size: int = 100) -> SweepCounts:
    """Every shard in turn, in this process (on-demand runs; the schedule fans out to workers instead)."""
    total = SweepCounts()
    for shard in range(shards):
        counts, _ = sweep_shard(store, config, shard, as_of=as_of, dry_run=dry_run, page_size=page_size)
        for name, value in asdict(counts).items():
            setattr(total, name, getattr(total, name) + value)
    return total


def sweep_record(counts: SweepCounts, *, as_of: datetime, dry_run: bool, by: str, started_at: datetime,
                 finished_at: datetime) -> dict[str, Any]:
    from ulid import ULID

    return {"id": f"{iso_utc(started_at)}#{ULID()}", "as_of": iso_utc(as_of), "dry_run": dry_run, "by": by,
            "started_at": iso_utc(started_at), "finished_at": iso_utc(finished_at), **asdict(counts)}
