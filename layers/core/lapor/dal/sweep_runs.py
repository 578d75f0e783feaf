"""Sweep runs: one item per run (``keys.sweep_run_key``), written as the run goes.

``start_run`` writes it ``running``; each shard message then adds its counts once (``record_message``: one
write, conditional on the message's sequence number not being recorded for its shard yet, so a redelivered
message adds nothing); the message that completes the last shard marks it ``finished`` (``finish_run``). A
message that fails leaves its error's type on the run (``record_failure``), and ``failed`` once it is given up.

A dry run also lists the reports it would escalate, in items of their own under the run's own partition
(``keys.sweep_listing_key``), never in the run item: ``list_escalations`` adds them, at most ``cap`` per run.
"""

from __future__ import annotations

import time
from datetime import datetime
from collections.abc import Sequence
from typing import Any

from lapor.dal import keys
from lapor.dal.table import Table, without_keys

COUNTS = ("scanned", "escalated", "flagged_final", "closed", "skipped", "failed")
# Entries per transaction (TransactWriteItems takes 100 actions: these, and the counter).
LISTING_CHUNK = 99
CONFLICT_RETRIES = 5
# A dry run's listing is for the admin deciding whether to run it: kept 30 days (the table's TTL), unlike the run.
LISTING_TTL_SECONDS = 30 * 24 * 3600


class SweepRunStore(Table):
    def start_run(self, run: dict[str, Any]) -> None:
        """Write a new run (``running``, no shard done): ``progress`` maps shard → the last message recorded."""
        self.client.put_item(TableName=self.table_name, Item=keys.sweep_run_key(run["id"]) | self._item(run)
                             | {"progress": {"M": {}}}, ConditionExpression="attribute_not_exists(PK)")

    def record_message(self, run_id: str, shard: int, seq: int, counts: dict[str, int], *, finished_shard: bool,
                       now: str) -> bool:
        """Add one shard message's counts (and the shard, when it finished it) unless message ``seq`` of this
        shard, or a later one, was recorded before: a redelivery. False when nothing was added."""
        deltas = {name: counts[name] for name in COUNTS} | ({"shards_done": 1} if finished_shard else {})
        names = {f"#c{i}": name for i, name in enumerate(deltas)} | {"#s": str(shard)}
        values = {f":c{i}": {"N": str(v)} for i, v in enumerate(deltas.values())}
        try:
            self.client.update_item(
                TableName=self.table_name, Key=keys.sweep_run_key(run_id),
                UpdateExpression="SET progress.#s = :seq, updated_at = :now ADD "
                                 + ", ".join(f"#c{i} :c{i}" for i in range(len(deltas))),
                ConditionExpression="attribute_exists(PK) AND "
                                    "(attribute_not_exists(progress.#s) OR progress.#s < :seq)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values | {":seq": {"N": str(seq)}, ":now": {"S": now}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def finish_run(self, run_id: str, *, now: str) -> bool:
        """Mark the run ``finished`` once every shard is done (any worker may ask; one succeeds)."""
        try:
            self.client.update_item(
                TableName=self.table_name, Key=keys.sweep_run_key(run_id),
                UpdateExpression="SET #st = :finished, finished_at = :now, updated_at = :now",
                ConditionExpression="attribute_exists(PK) AND shards_done >= shards AND #st <> :finished",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":finished": {"S": "finished"}, ":now": {"S": now}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def record_failure(self, run_id: str, error: dict[str, Any], *, given_up: bool, now: str) -> None:
        """Keep the latest failure (``{type, shard, attempt, at}``: never an exception's message) on the run;
        ``given_up`` (no retry left) marks a running run ``failed``."""
        update = "SET #err = :err, updated_at = :now" + (", #st = :failed, failed_at = :now" if given_up else "")
        condition = "attribute_exists(PK)" + (" AND #st = :running" if given_up else "")
        values = {":err": {"M": self._item(error)}, ":now": {"S": now}}
        if given_up:
            values |= {":failed": {"S": "failed"}, ":running": {"S": "running"}}
        try:
            self.client.update_item(
                TableName=self.table_name, Key=keys.sweep_run_key(run_id), UpdateExpression=update,
                ConditionExpression=condition, ExpressionAttributeValues=values,
                ExpressionAttributeNames={"#err": "error"} | ({"#st": "status"} if given_up else {}),
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            pass  # an unknown run, or one that finished meanwhile: nothing to say on it

    def get_sweep_run(self, run_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.table_name, Key=keys.sweep_run_key(run_id),
                                    ConsistentRead=True).get("Item")
        return without_keys(self._plain(item)) if item else None

    def list_sweep_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        page = self.client.query(TableName=self.table_name, KeyConditionExpression="PK = :pk", Limit=limit,
                                 ScanIndexForward=False, ExpressionAttributeValues={":pk": {"S": keys.SWEEP_RUNS}})
        return [without_keys(self._plain(i)) for i in page["Items"]]

    def list_escalations(self, run_id: str, entries: Sequence[dict[str, Any]], *, cap: int,
                         more: bool = False) -> int:
        """Add what a dry run's message would escalate (each ``{tracking_id, ...}``) to the run's listing, up to
        ``cap`` entries for the whole run; ``more``: the message saw more than ``entries``. Each chunk is one
        transaction: its entries, each conditional on not being listed yet (a redelivered message adds none), and
        the counter, conditional on the room left (shards listing at once never pass ``cap``). When entries are
        left over (or ``more``), the listing is marked ``truncated``. Returns how many were added."""
        pending, added, conflicts = list(entries), 0, 0
        counter = keys.sweep_listing_counter_key(run_id)
        truncated = more
        expires_at = {"expires_at": int(time.time()) + LISTING_TTL_SECONDS}
        while pending:
            room = cap - self._listed(counter)
            chunk = pending[:min(LISTING_CHUNK, room if room > 0 else LISTING_CHUNK)]
            puts = [{"Put": {"TableName": self.table_name, "ConditionExpression": "attribute_not_exists(PK)",
                             "Item": keys.sweep_listing_key(run_id, entry["tracking_id"])
                             | self._item(entry | expires_at)}}
                    for entry in chunk]
            count = {"Update": {
                "TableName": self.table_name, "Key": counter,
                "UpdateExpression": "ADD listed :k SET expires_at = if_not_exists(expires_at, :expires)",
                "ConditionExpression": "attribute_not_exists(listed) OR listed <= :most",
                "ExpressionAttributeValues": {":k": {"N": str(len(chunk))}, ":most": {"N": str(cap - len(chunk))},
                                              ":expires": {"N": str(expires_at["expires_at"])}}}}
            try:
                self.client.transact_write_items(TransactItems=[*puts, count])
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                listed = {i for i, code in enumerate(reasons[:len(chunk)]) if code == "ConditionalCheckFailed"}
                if listed:  # a redelivery: those are in already
                    pending = [e for i, e in enumerate(chunk) if i not in listed] + pending[len(chunk):]
                    continue
                if "TransactionConflict" in reasons and conflicts < CONFLICT_RETRIES:
                    conflicts += 1  # another shard's listing (or counts) at this moment: try again
                    time.sleep(0.05 * conflicts)
                    continue
                if reasons[len(chunk):] == ["ConditionalCheckFailed"]:
                    if room <= 0:
                        truncated = True  # full: what is left stays unlisted
                        break
                    continue  # another shard took some of the room meanwhile: read it again
                raise
            added += len(chunk)
            pending = pending[len(chunk):]
        if truncated:
            self.client.update_item(TableName=self.table_name, Key=counter, UpdateExpression="SET truncated = :t",
                                    ExpressionAttributeValues={":t": {"BOOL": True}})
        return added

    def _listed(self, counter: dict[str, Any]) -> int:
        item = self.client.get_item(TableName=self.table_name, Key=counter, ConsistentRead=True,
                                    ProjectionExpression="listed").get("Item")
        return int(item["listed"]["N"]) if item and "listed" in item else 0

    def escalations(self, run_id: str) -> tuple[list[dict[str, Any]], bool]:
        """A dry run's listing (at most the cap it was written with, oldest deadline first) and whether it is
        ``truncated``. One partition of a few hundred small items: one or two Query pages."""
        entries, truncated = [], False
        for item in self._query_partition(keys.sweep_listing_partition(run_id), consistent=True):
            if item["SK"].startswith(keys.LISTING_PREFIX):
                entries.append({k: v for k, v in without_keys(item).items() if k != "expires_at"})
            else:
                truncated = bool(item.get("truncated", False))
        return sorted(entries, key=lambda e: (datetime.fromisoformat(e["due_at"]), e["tracking_id"])), truncated
