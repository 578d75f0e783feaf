"""The data-access layer: the only code that knows the table's keys, indexes and item shapes
(``keys.py``; docs/data-model.md), one store per aggregate over a shared base (``table.py``)."""

from lapor.dal.api_keys import ApiKeyStore
from lapor.dal.configuration import ConfigStore
from lapor.dal.intake_keys import IntakeKeyStore
from lapor.dal.keys import OPEN_STATUSES, due_shard, report_key
from lapor.dal.reports import VIEW_ATTRIBUTES, ReportBusy, ReportChanged, ReportStore, TrackingIdTaken, WriteRefused
from lapor.dal.sms import DailyLimitReached, MessageSeen, SmsStore
from lapor.dal.stats import StatsStore
from lapor.dal.sweep_runs import SweepRunStore

__all__ = [
    "OPEN_STATUSES", "VIEW_ATTRIBUTES", "ApiKeyStore", "ConfigStore", "DailyLimitReached", "IntakeKeyStore",
    "MessageSeen", "ReportBusy", "ReportChanged", "ReportStore", "SmsStore", "StatsStore", "SweepRunStore", "TrackingIdTaken", "WriteRefused",
    "due_shard", "report_key",
]
