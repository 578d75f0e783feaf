"""The deadline sweep: every report past its deadline goes one step up the escalation ladder, exactly once;
every answered report whose reporter stayed silent for 10 working days is closed.

It reads only the sparse ``ByDue`` index (reports awaiting an agency, oldest deadline first, shard by
shard), then ``ByClosing`` (answered reports by the end of their reopen window), so its cost grows with the
reports due for action, not with the table. Each change is one write conditional on the version and status
the index showed: two sweeps at once, a rerun after a crash, or an agency answering (a reporter reopening)
meanwhile all make the later write fail harmlessly (counted as ``skipped``).

A run (scheduled or on demand) is a record and one SQS message per shard (``start_run``); a worker sweeps a
shard from its message (``sweep_message``), records its counts once per message id ``<run>/<shard>/<seq>``,
and hands the rest of the shard on as message ``seq + 1`` when its time runs short. The run's ``status`` is
``running``, then ``finished`` when its last shard is done, or ``failed`` when a message is given up; a run
that makes no progress for ``LAPOR_SWEEP_STALL_SECONDS`` reads as ``stalled`` (``run_view``).

A dry run also lists which reports would escalate (``listing_entry``: ids, agencies, due date, level; never a
report's words nor its reporter), up to ``LIST_CAP`` for the whole run, in items of their own beside the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from lapor.config import RoutingConfig
from lapor.dal import ReportChanged, ReportStore
from lapor.domain.clock import iso_utc, parse_utc
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

    def merge(self, other: SweepCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


# Reports a dry run lists (design §7: every repeatable thing bounded); beyond it the listing says ``truncated``.
LIST_CAP = 200
LISTED = ("escalated", "flagged_final")


@dataclass
class Listing:
    """What one message of a dry run would escalate: at most ``cap`` entries; ``more`` if it saw others."""

    cap: int = LIST_CAP
    entries: list[dict[str, Any]] = field(default_factory=list)
    more: bool = False

    def add(self, entry: dict[str, Any]) -> None:
        if len(self.entries) < self.cap:
            self.entries.append(entry)
        else:
            self.more = True


def listing_entry(config: RoutingConfig, item: dict[str, Any], outcome: str) -> dict[str, Any]:
    """One report a dry run would escalate (or flag at the top): nothing a reporter wrote, nothing about them."""
    upper, _ = next_agency(config.agencies, item["agency_id"])
    current = config.agencies.get(item["agency_id"])
    top = outcome == "flagged_final" or upper is None
    return {"tracking_id": item["tracking_id"], "outcome": outcome, "agency_id": item["agency_id"],
            "agency_name": current.name if current else item.get("agency_name"), "due_at": item["due_at"],
            "to_agency_id": None if top else upper.id, "to_agency_name": None if top else upper.name,
            "to_level": None if top else upper.level, "escalation_level": item["escalation_level"] + (0 if top else 1)}


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
    # The name the report carried when its own agency is the unknown one; an id nothing names otherwise.
    left = (item.get("agency_name") or unknown) if unknown == item["agency_id"] else unknown
    message = (f"Tenggat terlewati; instansi {left} tidak terdaftar dalam jenjang, diteruskan ke {upper.name}"
               if unknown else f"Tenggat terlewati; diteruskan ke {upper.name}")
    event = new_event("escalated", now, "system", "system", agency_id=upper.id, from_agency_id=item["agency_id"],
                      **noted, message=message)
    return "escalated", changes, event


def closing(item: dict[str, Any], now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """Closing a silent answered report: (attribute changes, timeline event). Pure."""
    event = new_event("closed", now, "system", "system", agency_id=item["agency_id"],
                      message="Ditutup otomatis: tidak dibuka kembali dalam 10 hari kerja setelah dijawab")
    return {"status": "closed"}, event


def _phase(cursor: dict[str, Any] | None) -> tuple[str, dict[str, Any] | None]:
    """Where a shard's sweep resumes: (index, its LastEvaluatedKey). A bare key is a ByDue cursor."""
    if cursor is None:
        return "due", None
    return (cursor["phase"], cursor["key"]) if "phase" in cursor else ("due", cursor)


def sweep_shard(store: ReportStore, config: RoutingConfig, shard: int, *, as_of: datetime, dry_run: bool,
                start_key: dict[str, Any] | None = None, page_size: int = 100,
                keep_going: Callable[[], bool] = lambda: True,
                listing: Listing | None = None) -> tuple[SweepCounts, dict[str, Any] | None]:
    """Sweep one shard from ``start_key``, page by page, while ``keep_going()``: its overdue reports, then
    its answered reports due to close. A dry run adds what would escalate to ``listing``, if given.

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
            if dry_run and listing is not None and outcome in LISTED:
                listing.add(listing_entry(config, item, outcome))
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
    """Every shard in turn, in this process, unrecorded (the bench and tests; runs go through ``start_run``)."""
    total = SweepCounts()
    for shard in range(shards):
        counts, _ = sweep_shard(store, config, shard, as_of=as_of, dry_run=dry_run, page_size=page_size)
        total.merge(counts)
    return total


# -- runs: a record written as the run goes, one message per shard -----------------------------------------

Send = Callable[[dict[str, Any]], None]


class RunStore(Protocol):  # lapor.dal.SweepRunStore
    def start_run(self, run: dict[str, Any]) -> None: ...
    def record_message(self, run_id: str, shard: int, seq: int, counts: dict[str, int], *, finished_shard: bool,
                       now: str) -> bool: ...
    def finish_run(self, run_id: str, *, now: str) -> bool: ...
    def record_failure(self, run_id: str, error: dict[str, Any], *, given_up: bool, now: str) -> None: ...
    def list_escalations(self, run_id: str, entries: list[dict[str, Any]], *, cap: int, more: bool = False) -> int: ...


class RunInterrupted(Exception):
    """A run's record was written but not all of its shards were handed on (or swept inline)."""

    def __init__(self, run_id: str, error: BaseException) -> None:
        super().__init__(f"sweep run {run_id} interrupted by {type(error).__name__}")
        self.run_id, self.error_type = run_id, type(error).__name__


def _now() -> str:
    return iso_utc(datetime.now(UTC).replace(microsecond=0))


def new_run(*, as_of: datetime, dry_run: bool, by: str, shards: int, started_at: datetime) -> dict[str, Any]:
    """A run's first record: ``running``, no shard done. Its id is a ULID: URL-safe, sorted by start."""
    from ulid import ULID

    started = iso_utc(started_at)
    return {"id": str(ULID()), "status": "running", "as_of": iso_utc(as_of), "dry_run": dry_run, "by": by,
            "started_at": started, "updated_at": started, "shards": shards, "shards_done": 0,
            **asdict(SweepCounts())}


def first_message(run: dict[str, Any], shard: int) -> dict[str, Any]:
    return {"run_id": run["id"], "shard": shard, "seq": 0, "as_of": run["as_of"], "dry_run": run["dry_run"],
            "trigger": "schedule" if run["by"] == "schedule" else "on_demand", "cursor": None}


def message_id(message: dict[str, Any]) -> str:
    """``<run>/<shard>/<seq>``: the same for every delivery of a message, another for its continuation."""
    return f"{message['run_id']}/{message['shard']}/{message.get('seq', 0)}"


def failure(error: BaseException, *, shard: int | None, attempt: int | None) -> dict[str, Any]:
    """What a run keeps of an error: its type, where and when; never its message (it may quote a report)."""
    return {"type": type(error).__name__, "shard": shard, "attempt": attempt, "at": _now()}


def start_run(runs: RunStore, send: Send, run: dict[str, Any], *, shards: Iterable[int] | None = None) -> None:
    """Record ``run`` and hand each of ``shards`` (default: all) to the queue. If a send fails, the run is
    recorded ``failed`` (the shards already handed on are still swept) and ``RunInterrupted`` is raised."""
    runs.start_run(run)
    hand_on(runs, send, run, range(run["shards"]) if shards is None else shards)


def hand_on(runs: RunStore, send: Send, run: dict[str, Any], shards: Iterable[int]) -> None:
    shard = None
    try:
        for shard in shards:
            send(first_message(run, shard))
    except Exception as error:
        runs.record_failure(run["id"], failure(error, shard=shard, attempt=None), given_up=True, now=_now())
        logger.error("sweep run not handed on", extra={"run_id": run["id"], "shard": shard, **error_summary(error)})
        raise RunInterrupted(run["id"], error) from None


def sweep_message(message: dict[str, Any], *, store: ReportStore, config: RoutingConfig, runs: RunStore,
                  send: Send, page_size: int = 100,
                  keep_going: Callable[[], bool] = lambda: True) -> tuple[SweepCounts, bool]:
    """Sweep the shard a message names from its cursor; record its counts once; hand the rest on as the next
    message, or finish the run if this was its last shard. ``(counts, recorded)``: ``recorded`` is False for
    a redelivered message, whose counts the first delivery added. A dry run's message first adds what would
    escalate to the run's listing (keyed by tracking id: a redelivery adds nothing again)."""
    shard, seq = message["shard"], message.get("seq", 0)
    listing = Listing(cap=LIST_CAP) if message["dry_run"] else None
    counts, cursor = sweep_shard(store, config, shard, dry_run=message["dry_run"], as_of=parse_utc(message["as_of"]),
                                 start_key=message["cursor"], page_size=page_size, keep_going=keep_going,
                                 listing=listing)
    if listing is not None and (listing.entries or listing.more):
        runs.list_escalations(message["run_id"], listing.entries, cap=listing.cap, more=listing.more)
    now = _now()
    # Counts first, then the continuation: a crash in between redelivers this message, whose counts are then
    # not added again, and whose continuation (the same id) is sent again.
    recorded = runs.record_message(message["run_id"], shard, seq, asdict(counts), finished_shard=cursor is None,
                                   now=now)
    if cursor is not None:
        send(message | {"seq": seq + 1, "cursor": cursor})
    else:
        runs.finish_run(message["run_id"], now=now)  # succeeds only for the run's last shard
    if recorded and not message["dry_run"]:
        emit_metrics(counts, message.get("trigger", "schedule"))
    logger.info("shard swept" if recorded else "shard swept again: counts not added (a redelivered message)",
                extra={"run_id": message["run_id"], "message_id": message_id(message), "shard": shard,
                       "resumes": cursor is not None, **asdict(counts)})
    return counts, recorded


def sweep_inline(run: dict[str, Any], *, store: ReportStore, config: RoutingConfig, runs: RunStore, send: Send,
                 seconds: float, page_size: int = 100) -> None:
    """Sweep a recorded run's shards in this process while ``seconds`` last, each as its first message would
    be (recorded the same way); what is left goes to the queue: the rest of the shard under way, and the
    shards not begun. A small dry run finishes here."""
    clock = time.monotonic
    deadline = clock() + seconds

    def keep_going() -> bool:
        return clock() < deadline

    left = list(range(run["shards"]))
    try:
        while left and keep_going():
            sweep_message(first_message(run, left[0]), store=store, config=config, runs=runs, send=send,
                          page_size=page_size, keep_going=keep_going)
            left.pop(0)
    except Exception as error:
        runs.record_failure(run["id"], failure(error, shard=left[0], attempt=None), given_up=True, now=_now())
        logger.error("sweep run failed", extra={"run_id": run["id"], "shard": left[0], **error_summary(error)})
        raise RunInterrupted(run["id"], error) from None
    hand_on(runs, send, run, left)


RUN_STATES = ("running", "finished", "failed", "stalled")


def run_view(item: dict[str, Any], *, now: datetime, stall_seconds: float) -> dict[str, Any]:
    """A run record as the API shows it: ``stalled`` when running with no progress for ``stall_seconds``.

    Runs recorded before runs had a status read as finished when every shard is done (on-demand runs had no
    shards), else as running (their ``finished_at`` was only the start)."""
    run = {k: v for k, v in item.items() if k != "progress"}
    if "status" not in run:
        done = run.get("shards_done", 0) >= run.get("shards", 0)
        run["status"] = "finished" if done else "running"
        run["updated_at"] = run["finished_at"] if done else run["started_at"]
        if not done:
            run.pop("finished_at", None)
    if run["status"] == "running" and (now - parse_utc(run["updated_at"])).total_seconds() > stall_seconds:
        run["status"] = "stalled"
    return run
