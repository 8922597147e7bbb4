"""The cost ledger: one item per tenant per UTC day, added to by every handler."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mediana.metering.capacity import decimal
from mediana.storage import keys
from mediana.storage.base import DESERIALIZER, StoreBase, plain_number


class LedgerOps(StoreBase):
    """Adds a day's counters; reads a month for finance."""

    # ---- the cost ledger ------------------------------------------------------
    def add_costs(self, tenant: str, day: str, counters: Mapping[str, float]) -> None:
        """ADD the counters to the tenant's item of the day (atomic, commutative)."""
        fields = {k: v for k, v in counters.items() if v}
        if not fields:
            return
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values: dict[str, Any] = {f":v{i}": {"N": str(decimal(v))} for i, v in enumerate(fields.values())}
        values[":t"], values[":d"] = {"S": tenant}, {"S": day}
        self.ddb.update_item(
            TableName=self.cfg.state_table,
            Key=self._key(keys.costs_pk(day[:7]), keys.costs_sk(tenant, day)),
            UpdateExpression="SET tenant_id = :t, #day = :d ADD "
            + ", ".join(f"#f{i} :v{i}" for i in range(len(fields))),
            ExpressionAttributeNames={**names, "#day": "day"},
            ExpressionAttributeValues=values,
        )

    def month_costs(self, month: str) -> list[dict[str, Any]]:
        """Every tenant's ledger items of a month (one Query, paged)."""
        out = []
        pages = self.ddb.get_paginator("query").paginate(
            TableName=self.cfg.state_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.costs_pk(month)}},
        )
        for page in pages:
            for item in page["Items"]:
                out.append(
                    {k: plain_number(DESERIALIZER.deserialize(v)) for k, v in item.items() if k not in ("pk", "sk")}
                )
        return out
