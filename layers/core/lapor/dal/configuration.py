"""Routing configuration: agencies, routes and calendar overrides, one partition each, and the head item that
versions them (``keys.py``; docs/data-model.md, "Configuration versions").

A save of one list is conditional on the version it was validated against:

1. ``head(consistent=True)``: the version ``v`` (0 before anything was saved) and whether a save is writing;
2. the caller validates the new list against consistent reads of the others;
3. ``begin_save``: the head goes from ``v`` to ``v + 1`` with ``saving = <list>``, on condition that it is still
   at ``v``: of two saves validated against ``v`` only one gets past here, the other gets ``StaleConfiguration``;
4. the list's partition is replaced (puts, then deletes);
5. ``finish_save``: ``v + 1`` to ``v + 2``, ``saving`` removed, the list no longer ``incomplete``.

Whatever is read while a save writes carries ``v + 1``, which the finish makes stale: neither a client's next
save nor a cache keeps a half-written list unnoticed. A save started while another one writes is refused (the
version moved on anyway). A function that dies between 3 and 5 leaves ``saving`` set: that list may be a mix of
old and new items. After ``SAVE_TIMEOUT_SECONDS`` saves go ahead again (the dead one's list is then recorded in
``incomplete``, unless it is the list being saved), and saving that list again repairs it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from lapor.dal import keys
from lapor.dal.table import Table
from lapor.domain.routing import Agency, Route

# A save that began this long ago died (AdminFunction's timeout is far shorter; tests check it).
SAVE_TIMEOUT_SECONDS = 60
# A filing whose configuration is due for its version check holds the head in its transaction (a ConditionCheck,
# ``version_condition``) for the length of that transaction; a write of the head meanwhile is refused with
# TransactionConflictException (nothing written), which botocore does not retry: tried again this many times.
HEAD_WRITE_ATTEMPTS = 5
LISTS = ("agencies", "routes", "calendar")


def _fields(item: dict[str, Any], cls: type) -> dict[str, Any]:
    return {k: item.get(k) for k in cls.__dataclass_fields__}


@dataclass(frozen=True)
class ConfigHead:
    """The configuration's version, and what a save in progress (or one that died) is writing."""

    version: int = 0
    saving: str | None = None  # the list a save is writing (or was, when it died)
    saving_since: int | None = None  # epoch seconds
    incomplete: frozenset[str] = frozenset()  # lists a save died writing, until saved again

    def writing(self, now: float) -> bool:
        """Whether a save is writing now (one older than the timeout died and does not count)."""
        return self.saving is not None and now - (self.saving_since or 0) < SAVE_TIMEOUT_SECONDS

    def is_incomplete(self, what: str) -> bool:
        """Whether ``what`` may be a mix of two versions: a save is writing it, or died doing so."""
        return self.saving == what or what in self.incomplete


class StaleConfiguration(Exception):
    """The configuration is no longer at the version a save was validated against, or another save is writing."""

    def __init__(self, current: ConfigHead) -> None:
        super().__init__(f"the configuration is at version {current.version}")
        self.current = current


class SaveInterrupted(StaleConfiguration):
    """A save wrote its list but found the head changed at the end (it ran past the timeout and another save
    took over, or an unversioned load bumped the version): the list may not be as this save sent it."""


class ConfigStore(Table):
    # -- reading ------------------------------------------------------------------------------------------------

    def head(self, *, consistent: bool = False) -> ConfigHead:
        """The head item (a Query, so every reader of the lists may read it with the same permission)."""
        for item in self._query_partition(keys.CONFIG_HEAD, consistent=consistent):
            return ConfigHead(version=item.get("version", 0), saving=item.get("saving"),
                              saving_since=item.get("saving_since"),
                              incomplete=frozenset(item.get("incomplete") or ()))
        return ConfigHead()

    def version_condition(self, version: int) -> dict[str, Any]:
        """A transaction entry that holds only while the head is at ``version`` (0: no version yet): a write
        routed by the configuration of that version is refused if the configuration changed since."""
        check: dict[str, Any] = {"TableName": self.table_name, "Key": keys.config_head_key(),
                                 "ExpressionAttributeNames": {"#v": "version"}}
        if version:
            check |= {"ConditionExpression": "#v = :v", "ExpressionAttributeValues": {":v": {"N": str(version)}}}
        else:
            check["ConditionExpression"] = "attribute_not_exists(#v)"
        return {"ConditionCheck": check}

    def list_agencies(self, *, consistent: bool = False) -> list[Agency]:
        return [Agency(**_fields(i, Agency)) for i in self._query_partition(keys.AGENCIES, consistent=consistent)]

    def list_routes(self, *, consistent: bool = False) -> list[Route]:
        return [Route(**_fields(i, Route)) for i in self._query_partition(keys.ROUTES, consistent=consistent)]

    def list_calendar_overrides(self, *, consistent: bool = False) -> list[dict[str, Any]]:
        """``[{date, working, reason}]``: single dates an operator declared working or non-working."""
        return [{k: i.get(k) for k in ("date", "working", "reason")}
                for i in self._query_partition(keys.CALENDAR, consistent=consistent)]

    # -- versioned saves (the admin API) ------------------------------------------------------------------------

    def replace_agencies(self, agencies: Iterable[Agency], *, read: ConfigHead, by: str, now: float) -> int:
        """Replace every agency, if the configuration is still at ``read``; the new version."""
        items = {keys.agency_sk(a): asdict(a) for a in agencies}
        return self._save("agencies", keys.AGENCIES, items, read=read, by=by, now=now)

    def replace_routes(self, routes: Iterable[Route], *, read: ConfigHead, by: str, now: float) -> int:
        items = {keys.route_sk(r): asdict(r) for r in routes}
        return self._save("routes", keys.ROUTES, items, read=read, by=by, now=now)

    def replace_calendar_overrides(self, overrides: Iterable[dict[str, Any]], *, read: ConfigHead, by: str,
                                   now: float) -> int:
        return self._save("calendar", keys.CALENDAR, {o["date"]: o for o in overrides}, read=read, by=by, now=now)

    def _save(self, what: str, pk: str, items: dict[str, dict[str, Any]], *, read: ConfigHead, by: str,
              now: float) -> int:
        version = self.begin_save(what, read, by=by, now=now)
        self._replace_partition(pk, items)  # puts before deletes: no route names a deleted agency, even half way
        return self.finish_save(what, version)

    def begin_save(self, what: str, read: ConfigHead, *, by: str, now: float) -> int:
        """Claim version ``read.version + 1`` for a save of ``what``; ``StaleConfiguration`` if the head moved
        on since ``read`` or a save is writing."""
        if what not in LISTS:
            raise ValueError(f"no configuration list {what!r}")
        if read.writing(now):
            raise StaleConfiguration(read)
        names = {"#v": "version", "#saving": "saving", "#since": "saving_since", "#by": "saving_by"}
        values: dict[str, Any] = {":next": read.version + 1, ":what": what, ":now": int(now), ":by": by}
        update = "SET #v = :next, #saving = :what, #since = :now, #by = :by"
        if read.saving is not None and read.saving != what:  # taking over from a save that died
            update += " ADD #incomplete :dead"
            names["#incomplete"], values[":dead"] = "incomplete", {read.saving}
        # Every change of the head moves the version, so the version alone says nothing changed since ``read``.
        if read.version:
            condition, values[":read"] = "#v = :read", read.version
        else:
            condition = "attribute_not_exists(#v)"
        self._update_head(update, condition, names, values, StaleConfiguration)
        return read.version + 1

    def finish_save(self, what: str, version: int) -> int:
        """End the save that claimed ``version``: the list is whole again. The version after it."""
        self._update_head("SET #v = :next REMOVE #saving, #since, #by DELETE #incomplete :what", "#v = :mine",
                          {"#v": "version", "#saving": "saving", "#since": "saving_since", "#by": "saving_by",
                           "#incomplete": "incomplete"},
                          {":next": version + 1, ":mine": version, ":what": {what}}, SaveInterrupted)
        return version + 1

    def _update_head(self, update: str, condition: str, names: dict[str, str], values: dict[str, Any],
                     stale: type[StaleConfiguration]) -> None:
        try:
            self._write_head(UpdateExpression=update, ConditionExpression=condition, ExpressionAttributeNames=names,
                             ExpressionAttributeValues=self._item(values))
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            raise stale(self.head(consistent=True)) from exc

    def _write_head(self, **update: Any) -> None:
        """One UpdateItem of the head, tried again while a filing's transaction holds it (HEAD_WRITE_ATTEMPTS)."""
        for attempt in range(HEAD_WRITE_ATTEMPTS):
            try:
                self.client.update_item(TableName=self.table_name, Key=keys.config_head_key(), **update)
                return
            except self.client.exceptions.TransactionConflictException:
                if attempt == HEAD_WRITE_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))

    # -- loading without validation (``lapor seed``, tests): upserts, then a new version ------------------------

    def put_agencies(self, agencies: Iterable[Agency]) -> int:
        count = self._batch_put(keys.key(keys.AGENCIES, keys.agency_sk(a)) | self._item(asdict(a)) for a in agencies)
        self._bump()
        return count

    def put_routes(self, routes: Iterable[Route]) -> int:
        count = self._batch_put(keys.key(keys.ROUTES, keys.route_sk(r)) | self._item(asdict(r)) for r in routes)
        self._bump()
        return count

    def put_calendar_override(self, day: date, *, working: bool, reason: str) -> None:
        item = {"date": day.isoformat(), "working": working, "reason": reason}
        self.client.put_item(TableName=self.table_name,
                             Item=keys.key(keys.CALENDAR, day.isoformat()) | self._item(item))
        self._bump()

    def _bump(self) -> None:
        """A new version after the writes, so caches that loaded before them reload."""
        self._write_head(UpdateExpression="ADD #v :one", ExpressionAttributeNames={"#v": "version"},
                         ExpressionAttributeValues={":one": {"N": "1"}})
