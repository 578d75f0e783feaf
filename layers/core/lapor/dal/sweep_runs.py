"""Sweep runs: one item per run (``keys.sweep_run_key``), its counts added to by the workers of each shard."""

from __future__ import annotations

from typing import Any

from lapor.dal import keys
from lapor.dal.table import Table, without_keys


class SweepRunStore(Table):
    def put_sweep_run(self, run: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.table_name, Item=keys.sweep_run_key(run["id"]) | self._item(run))

    def add_to_sweep_run(self, run_id: str, counts: dict[str, int], *, finished_shard: bool) -> None:
        """Add a worker's counts to a scheduled run (workers finish in any order)."""
        deltas = counts | ({"shards_done": 1} if finished_shard else {})
        names = {f"#c{i}": name for i, name in enumerate(deltas)}
        self.client.update_item(
            TableName=self.table_name, Key=keys.sweep_run_key(run_id),
            UpdateExpression="ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(deltas))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":c{i}": {"N": str(v)} for i, v in enumerate(deltas.values())},
        )

    def list_sweep_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        page = self.client.query(TableName=self.table_name, KeyConditionExpression="PK = :pk", Limit=limit,
                                 ScanIndexForward=False, ExpressionAttributeValues={":pk": {"S": keys.SWEEP_RUNS}})
        return [without_keys(self._plain(i)) for i in page["Items"]]
