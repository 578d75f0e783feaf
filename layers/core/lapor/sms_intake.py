"""One inbound SMS, whatever the provider: dedupe on its message id, then file, check or help; the reply text.

The sender's number is the reporter's reply channel: it is stored only as ``reply_to`` on the report (which
views and indexes never read) and, hashed, in the daily-limit counter. SMS reports are anonymous: a citizen
cannot choose by SMS, so the safest choice is made for them. Nothing here logs the number or the text.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from lapor.config import RoutingConfig
from lapor.dal import DailyLimitReached, MessageSeen, ReportStore, SmsStore
from lapor.domain import lifecycle, reference
from lapor.domain import sms as commands
from lapor.domain.clock import parse_utc
from lapor.domain.phones import to_e164
from lapor.errors import Unprocessable
from lapor.intake import submit_report
from lapor.intake_models import ReportIn
from lapor.settings import Settings
from lapor.views import is_overdue

FREE_TEXT_CATEGORY = "other_public_services"
RESEND_WINDOW = timedelta(days=1)  # the same complaint from the same phone within it files nothing new


@dataclass(frozen=True, slots=True)
class InboundSms:
    provider: str  # "twilio" or "generic": message ids are unique per provider
    message_id: str
    sender: str
    recipient: str
    text: str


def e164(number: str) -> str:
    try:
        return to_e164(number)
    except ValueError as exc:
        raise Unprocessable(f"the sender is {exc}", code="invalid_sender") from exc


def phone_key(phone: str) -> str:
    return hashlib.sha256(f"lapor-sms:{phone}".encode()).hexdigest()[:32]


class SmsDesk:
    """Answers SMS for one deployment: its report and SMS stores, routing configuration and settings."""

    def __init__(self, store: ReportStore, sms: SmsStore, config: RoutingConfig, settings: Settings) -> None:
        self.store, self.sms, self.config, self.settings = store, sms, config, settings

    def answer(self, message: InboundSms, now: datetime | None = None) -> tuple[str, dict[str, Any]]:
        """The reply to ``message`` and what happened (for logs and metrics: no number, no text)."""
        now = now or datetime.now(UTC)
        sender = e164(message.sender)
        # A message is its provider's id *from this sender*: a gateway that reuses ids across phones must never
        # answer one phone with the reply (the tracking id) given to another.
        seen = f"{phone_key(sender)}#{message.message_id}"
        previous = self.sms.sms_reply(message.provider, seen)
        if previous is not None:
            return previous, {"outcome": "duplicate"}
        command = commands.parse(message.text)
        if isinstance(command, commands.File):
            return self._file(message, seen, sender, command, now)
        reply = commands.reply_help() if isinstance(command, commands.Help) else self._status(command, sender, now)
        outcome = "help" if isinstance(command, commands.Help) else "check"
        return self._remember(message.provider, seen, reply), {"outcome": outcome}

    def _expires_at(self) -> int:
        """When a message id (and a day's quota) may be forgotten."""
        return int(time.time()) + self.settings.sms_dedupe_seconds

    def _remember(self, provider: str, seen: str, reply: str) -> str:
        """Store the reply under the message; a concurrent copy that stored first wins (same reply for both)."""
        if self.sms.remember_sms(provider, seen, reply, expires_at=self._expires_at()):
            return reply
        return self.sms.sms_reply(provider, seen) or reply

    def _status(self, command: commands.Check, sender: str, now: datetime) -> str:
        report = self.store.get_report(command.tracking_id) if command.tracking_id else None
        # Only the phone that filed a report hears of it; any other gets the same "not found".
        if report is None or self.store.get_reply_channel(command.tracking_id) != sender:  # type: ignore[arg-type]
            return commands.reply_not_found(command.raw)
        if report.get("merged_into"):  # closed as a duplicate: the report that goes on is the master
            return commands.reply_merged(report["tracking_id"], report["merged_into"])
        zone = reference.region(report["region_code"]).zone  # type: ignore[union-attr]
        due = parse_utc(report["due_at_utc"]).astimezone(zone).date() if report.get("due_at_utc") else None
        return commands.reply_status(report["tracking_id"], report["status"], report["agency_name"], due,
                                     overdue=is_overdue(report, now), overdue_final=bool(report.get("overdue_final")))

    def _open_report_about(self, subject: str, quota: dict[str, dict[str, Any]], now: datetime) -> str | None:
        """The newest report this phone filed about ``subject`` in the last 24 hours, if it still awaits the
        agency."""
        since = now - RESEND_WINDOW
        filed = [entry for items in quota.values() for entry in items["recent"]
                 if entry["subject"] == subject and parse_utc(entry["at"]) >= since]
        for entry in sorted(filed, key=lambda e: e["at"], reverse=True):
            report = self.store.get_report(entry["tracking_id"])
            if report is not None and report["status"] in lifecycle.OPEN:
                return entry["tracking_id"]
        return None

    def default_region(self, recipient: str) -> str:
        numbers = self.settings.sms_numbers
        return numbers.get(recipient) or numbers.get(recipient.lstrip("+")) or self.settings.sms_default_region

    def _file(self, message: InboundSms, seen: str, sender: str, command: commands.File, now: datetime
              ) -> tuple[str, dict[str, Any]]:
        # Free text goes to the receiving number's region, to be triaged by the agency that routes it on.
        home = self.default_region(message.recipient)
        region_code, category, text, triage = home, FREE_TEXT_CATEGORY, command.message, True
        if command.head is not None:
            resolved = commands.resolve_file(command.head, province=region_code)
            if isinstance(resolved, commands.Resolved):
                region_code, category, text, triage = resolved.region.code, resolved.category.id, command.text, False
            elif resolved.code != "unrecognized":  # "LAPOR jalan rusak: sudah 3 bulan" is free text, not a head
                return self._remember(message.provider, seen, commands.reply_problem(resolved)), {
                    "outcome": resolved.code}
        # The phone's day is the receiving number's: one bucket a day, wherever its reports are filed.
        zone = reference.region(home).zone  # type: ignore[union-attr]
        today = now.astimezone(zone).date()
        day, key, limit = today.isoformat(), phone_key(sender), self.settings.sms_daily_limit
        quota = self.sms.sms_quota(key, (today - timedelta(days=1)).isoformat(), day)
        # The same complaint sent again within a day (no answer yet, or unsure the first arrived) is a resend: it
        # names the report already open instead of filing one more for the agency to answer twice.
        subject = commands.resend_subject(region_code, category, text, triage=triage)
        if resent := self._open_report_about(subject, quota, now):
            reply = commands.reply_resend(resent)
            return self._remember(message.provider, seen, reply), {"outcome": "resend", "tracking_id": resent}
        if quota.get(day, {}).get("filed", 0) >= limit:
            return self._remember(message.provider, seen, commands.reply_limit(limit)), {"outcome": "limit"}

        report = ReportIn(kind="complaint", category=category, region_code=region_code, privacy="anonymous",
                          title=commands.title_from_text(text), description=commands.description_from_text(text))
        expires_at = self._expires_at()
        replies: list[str] = []

        def write(item: dict[str, Any]) -> None:
            """Store the report with its reply, which names the tracking id drawn for it."""
            due = date.fromisoformat(item["due_at"][:10])
            reply = (commands.reply_filed_for_triage(item["tracking_id"]) if triage
                     else commands.reply_filed(item["tracking_id"], item["agency_name"], due))
            self.sms.create_sms_report(item, provider=message.provider, message_id=seen, reply=reply,
                                       phone_key=key, day=day, daily_limit=limit, expires_at=expires_at,
                                       subject=subject)
            replies.append(reply)

        try:
            filed = submit_report(report, channel="sms", store=self.store, config=self.config,
                                  default_deadline_days=self.settings.deadline_working_days, now=now,
                                  extra={"reply_to": sender}, write=write)
        except MessageSeen:  # the same message, handled concurrently: answer as it was answered
            return self.sms.sms_reply(message.provider, seen) or "", {"outcome": "duplicate"}
        except DailyLimitReached:
            return self._remember(message.provider, seen, commands.reply_limit(limit)), {"outcome": "limit"}
        return replies[-1], {"outcome": "filed", "tracking_id": filed["tracking_id"], "triage": triage}
