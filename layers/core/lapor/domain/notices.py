"""Which notices a change to a report calls for, and their text (design §1: side effects flow from the stream).

Pure: it compares the report before and after a change (the stream's old and new images, each carrying the
events of its latest change) and returns one ``Notice`` per (timeline event, recipient). A notice's id is the
event's id plus the recipient, so a stream record delivered twice asks for the same notices and the sender can
refuse the second copy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

# The reporter hears of every step that changes who answers, or whether the report is answered at all (the
# routing they read in the reply to their SMS).
REPORTER_EVENTS = frozenset({"reassigned", "responded", "escalated", "overdue_final", "rejected", "closed",
                             "merged"})
# Responses and reasons reach an SMS reporter in full, up to about three SMS.
MESSAGE_CHARS = 400

REPORTER_TEXT = {
    "reassigned": "Laporan {tid} dialihkan ke {agency}. Batas waktu {due}. Cek: CEK {tid}",
    "responded": "Laporan {tid} dijawab oleh {agency}: {message}",
    "escalated": "Laporan {tid} belum dijawab tepat waktu; kini ditangani {agency}. Batas waktu {due}.",
    "overdue_final": "Laporan {tid} belum dijawab di tingkat tertinggi; akan dirujuk ke Ombudsman RI.",
    "rejected": "Laporan {tid} ditolak: {message}",
    # Only the sweep closes a report: the reopen window after the answer passed (a rating does not reopen it).
    "closed": "Laporan {tid} ditutup karena tidak dibuka kembali dalam 10 hari kerja setelah dijawab. "
              "Terima kasih telah melapor.",
    # An operator merged it into another report about the same problem, whose notices now reach this phone.
    "merged": "Laporan {tid} digabung dengan laporan {into} tentang masalah yang sama. Kabar penanganannya akan "
              "dikirim ke nomor ini.",
}
# What the reporters of a master's merged duplicates hear of the master's changes (``forwarded_notices``); the
# agency's words (an answer, a reason) only when the master is public: the duplicate's reporter is not its reporter.
DUPLICATE_TEXT = {
    "reassigned": "Laporan {tid} (digabung dengan {master}) kini ditangani {agency}. Batas waktu {due}.",
    "responded": "Laporan {tid} (digabung dengan {master}) dijawab oleh {agency}{said}",
    "escalated": "Laporan {tid} (digabung dengan {master}) belum dijawab tepat waktu; kini ditangani {agency}. "
                 "Batas waktu {due}.",
    "overdue_final": "Laporan {tid} (digabung dengan {master}) belum dijawab di tingkat tertinggi; akan dirujuk ke "
                     "Ombudsman RI.",
    "rejected": "Laporan {tid} (digabung dengan {master}) ditolak{said}",
    "closed": "Laporan {tid} (digabung dengan {master}) ditutup. Terima kasih telah melapor.",
}
AGENCY_TEXT = {
    "routed": "Laporan baru {tid} untuk {agency}. Batas waktu {due}.",
    "reassigned": "Laporan {tid} dialihkan ke {agency}. Batas waktu {due}.",
    "escalated": "Eskalasi: laporan {tid} melewati batas waktu dan kini ditangani {agency}. Batas waktu {due}.",
    "escalated_away": "Laporan {tid} melewati batas waktu {agency_from} dan dieskalasi ke {agency}.",
    "overdue_final": "Laporan {tid} melewati batas waktu di puncak jenjang; ditandai untuk Ombudsman RI.",
    "reopened": "Laporan {tid} dibuka kembali oleh pelapor. Batas waktu {due}.",
}


@dataclass(frozen=True, slots=True)
class Notice:
    id: str  # "<event id>/<recipient>": the same on every delivery of the same change
    tracking_id: str
    event_type: str
    recipient: str  # "reporter" or "agency:<agency id>"
    channel: str  # "sms" (to the reporter's phone) or "agency" (an event for the agency's systems)
    address: str  # an E.164 number for "sms", an agency id for "agency"
    text: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def reply_channel(report: dict[str, Any]) -> str | None:
    """Where the reporter gets notices: the phone an SMS came from. Not a phone typed into a web form: anyone
    could type anyone's number, and Lapor would then text a stranger on every change."""
    return report.get("reply_to")


def _new_events(old: dict[str, Any] | None, new: dict[str, Any]) -> list[dict[str, Any]]:
    """The events the change added: a report item carries those of its latest change (``latest_events``)."""
    seen = {event["id"] for event in (old or {}).get("latest_events", [])}
    return [event for event in new.get("latest_events", []) if event["id"] not in seen]


def _agency_left(old: dict[str, Any] | None, event: dict[str, Any]) -> str:
    """The name of the agency a report left: people read names, not ids. The old image names it; an id only
    when nothing named it (an agency the configuration no longer knew)."""
    agency_id = event.get("from_agency_id") or ""
    if old and old.get("agency_id") == agency_id and old.get("agency_name"):
        return old["agency_name"]
    return event.get("from_agency_name") or agency_id


def notices_for(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[Notice]:
    """The notices the change ``old`` → ``new`` of one report calls for (none for a deleted report)."""
    if new is None:
        return []
    phone = reply_channel(new)
    due = date.fromisoformat(new["due_at"][:10]).strftime("%d-%m-%Y") if new.get("due_at") else "-"
    notices: list[Notice] = []
    for event in _new_events(old, new):
        kind = event["type"]
        fields = {"tid": new["tracking_id"], "agency": new["agency_name"], "due": due,
                  "message": (event.get("message") or "")[:MESSAGE_CHARS],
                  "agency_from": _agency_left(old, event), "into": event.get("into") or ""}
        wanted: list[tuple[str, str, str, str]] = []  # (recipient, channel, address, template)
        if phone and kind in REPORTER_EVENTS:
            wanted.append(("reporter", "sms", phone, REPORTER_TEXT[kind]))
        if kind in AGENCY_TEXT:
            wanted.append((f"agency:{new['agency_id']}", "agency", new["agency_id"], AGENCY_TEXT[kind]))
        if kind == "escalated" and event.get("from_agency_id"):
            agency_from = event["from_agency_id"]
            wanted.append((f"agency:{agency_from}", "agency", agency_from, AGENCY_TEXT["escalated_away"]))
        notices += [Notice(f"{event['id']}/{recipient}", new["tracking_id"], kind, recipient, channel, address,
                           template.format(**fields)) for recipient, channel, address, template in wanted]
    return notices


def forwarding_needed(old: dict[str, Any] | None, new: dict[str, Any] | None) -> bool:
    """Whether the change ``old`` → ``new`` of a master is one its duplicates' reporters hear of: only then does
    the sender read the master's ``ABSORBED#`` items (most changes read nothing more)."""
    return bool(new and new.get("absorbed")
                and any(event["type"] in DUPLICATE_TEXT for event in _new_events(old, new)))


def forwarded_notices(old: dict[str, Any] | None, new: dict[str, Any] | None,
                      duplicates: list[dict[str, Any]]) -> list[Notice]:
    """The notices the reporters of ``new``'s merged duplicates get for its change: one per (event, phone), from
    each duplicate's reply channel (``{tracking_id, reply_to}``; SMS reports only), never to a phone the master's
    own reporter notice goes to, and once per phone however many of its reports were merged. The notice is about
    the reporter's own report (its tracking id), naming the master."""
    if not new or not forwarding_needed(old, new):
        return []
    due = date.fromisoformat(new["due_at"][:10]).strftime("%d-%m-%Y") if new.get("due_at") else "-"
    public = new.get("privacy") == "public"
    notices: list[Notice] = []
    for event in _new_events(old, new):
        kind = event["type"]
        if kind not in DUPLICATE_TEXT:
            continue
        message = (event.get("message") or "")[:MESSAGE_CHARS]
        said = f": {message}" if public and message else "."
        seen = {reply_channel(new)} - {None}
        for duplicate in sorted(duplicates, key=lambda d: d["tracking_id"]):
            phone = reply_channel(duplicate)
            if not phone or phone in seen:
                continue
            seen.add(phone)
            text = DUPLICATE_TEXT[kind].format(tid=duplicate["tracking_id"], master=new["tracking_id"],
                                               agency=new["agency_name"], due=due, said=said)
            recipient = f"reporter:{duplicate['tracking_id']}"
            notices.append(Notice(f"{event['id']}/{recipient}", duplicate["tracking_id"], kind, recipient, "sms",
                                  phone, text))
    return notices
