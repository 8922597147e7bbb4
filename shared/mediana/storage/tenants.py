"""The tenant's state item: control, the aggregation lease, ingest blocks, scheduling and commits."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.expressions.update import Action

from mediana.storage import keys
from mediana.storage.base import LEASE_MS, STALE_BLOCK_US, US, StoreBase
from mediana.storage.models import (
    StaleWriter,
    TenantBusy,
    TenantState,
    conditional_failed,
)
from mediana.storage.state_fields import state_from_raw


class TenantOps(StoreBase):
    """One item per tenant; every change to it is conditional."""

    # ---- tenant control -------------------------------------------------
    def get_state(self, tenant: str) -> TenantState | None:
        out = self.ddb.get_item(
            TableName=self.cfg.state_table, Key=self._key(keys.tenant_pk(tenant), keys.STATE_SK), ConsistentRead=True
        )
        return state_from_raw(out["Item"]) if "Item" in out else None

    def list_states(self) -> list[TenantState]:
        return [s for s in TenantState.scan(TenantState.sk == keys.STATE_SK)]

    def ensure_state(self, tenant: str) -> None:
        """Create the tenant's control fields, or complete them, whichever door comes
        first (ingest, a refresh request, the schedule): idempotent, race-free."""
        self.ddb.update_item(
            TableName=self.cfg.state_table,
            Key={"pk": {"S": keys.tenant_pk(tenant)}, "sk": {"S": keys.STATE_SK}},
            UpdateExpression="SET tenant_id = :t, next_seq = if_not_exists(next_seq, :z), "
            "inflight = if_not_exists(inflight, :m), #cursor = if_not_exists(#cursor, :z), "
            "#batch = if_not_exists(#batch, :z)",
            ExpressionAttributeNames={"#cursor": "cursor", "#batch": "batch"},
            ExpressionAttributeValues={":t": {"S": tenant}, ":z": {"N": "0"}, ":m": {"M": {}}},
        )

    @staticmethod
    def complete(state: TenantState | None) -> bool:
        fields = (state.next_seq, state.cursor, state.batch, state.inflight) if state is not None else (None,)
        return all(f is not None for f in fields)  # identity: a MapAttribute's == builds a condition

    def note_failure(self, tenant: str, reason: str, now_s: int) -> None:
        """Park a tenant whose refresh keeps failing (its message goes to the DLQ): the
        reason is on its state for the operator; the next successful run clears it."""
        TenantState(keys.tenant_pk(tenant), keys.STATE_SK).update(
            actions=[TenantState.failure.set(reason[:500]), TenantState.failed_at.set(now_s)]
        )

    # ---- the aggregation lease ------------------------------------------------
    def acquire_lease(self, state: TenantState, owner: str, now_ms: int) -> None:
        """Make ``owner`` the tenant's only aggregator until now + LEASE_MS (refreshes
        ``state`` in place); TenantBusy while another live runner holds it."""
        try:
            state.update(
                actions=[TenantState.lease_owner.set(owner), TenantState.lease_until.set(now_ms + LEASE_MS)],
                condition=TenantState.pk.exists()
                & (
                    TenantState.lease_owner.does_not_exist()
                    | (TenantState.lease_owner == owner)
                    | (TenantState.lease_until < now_ms)
                ),
            )
        except Exception as exc:  # noqa: BLE001 - PynamoDB wraps the ClientError
            if not conditional_failed(exc):
                raise
            current = self.get_state(state.pk[2:])
            raise TenantBusy(state.pk[2:], int(current.lease_until or 0) if current else 0) from None

    def release_lease(self, tenant: str, owner: str) -> None:
        try:
            TenantState(keys.tenant_pk(tenant), keys.STATE_SK).update(
                actions=[TenantState.lease_owner.remove(), TenantState.lease_until.remove()],
                condition=TenantState.lease_owner == owner,
            )
        except Exception as exc:  # noqa: BLE001 - already taken over or released: nothing to give back
            if not conditional_failed(exc):
                raise

    def begin_block(self, tenant: str, count: int, now_us: int) -> tuple[int, str]:
        """Allocate ``count`` sequence numbers and register them as in flight, in
        one atomic update, so the aggregator never reads past an unwritten block."""
        block = uuid.uuid4().hex[:12]
        request = {
            "TableName": self.cfg.state_table,
            "Key": {"pk": {"S": keys.tenant_pk(tenant)}, "sk": {"S": keys.STATE_SK}},
            "UpdateExpression": "ADD next_seq :n SET inflight.#b = :info",
            "ExpressionAttributeNames": {"#b": block},
            "ReturnValues": "ALL_NEW",  # UPDATED_NEW omits next_seq when ADD 0 leaves it as it was
        }
        values = {":n": {"N": str(count)}, ":info": {"M": {"n": {"N": str(count)}, "at": {"N": str(now_us)}}}}
        for attempt in range(2):
            try:
                out = self.ddb.update_item(**request, ExpressionAttributeValues=values)
                break
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ValidationException" or attempt:
                    raise
                self.ensure_state(tenant)
        end = int(out["Attributes"]["next_seq"]["N"])
        start = end - count + 1
        self.ddb.update_item(
            TableName=self.cfg.state_table,
            Key={"pk": {"S": keys.tenant_pk(tenant)}, "sk": {"S": keys.STATE_SK}},
            UpdateExpression="SET inflight.#b.#s = :s",
            ExpressionAttributeNames={"#b": block, "#s": "start"},
            ExpressionAttributeValues={":s": {"N": str(start)}},
        )
        return start, block

    def end_block(self, tenant: str, block: str, now_us: int, quarantined: int) -> None:
        """Close an ingest block and mark the tenant due for aggregation."""
        self.ddb.update_item(
            TableName=self.cfg.state_table,
            Key={"pk": {"S": keys.tenant_pk(tenant)}, "sk": {"S": keys.STATE_SK}},
            UpdateExpression="REMOVE inflight.#b SET sched = :due, due_at = :now, tenant_id = :t ADD quarantined :q",
            ExpressionAttributeNames={"#b": block},
            ExpressionAttributeValues={
                ":due": {"S": keys.DUE_PARTITION},
                ":now": {"N": str(now_us // US)},
                ":t": {"S": tenant},
                ":q": {"N": str(quarantined)},
            },
        )

    def mark_due(self, tenant: str, now_s: int, rebuild: bool = False) -> None:
        self.ensure_state(tenant)
        expr = "SET sched = :due, due_at = :now" + (", #rebuild = :r" if rebuild else "")
        values: dict[str, Any] = {":due": {"S": keys.DUE_PARTITION}, ":now": {"N": str(now_s)}}
        extra: dict[str, Any] = {}
        if rebuild:  # "rebuild" is a DynamoDB reserved word
            values[":r"] = {"BOOL": True}
            extra["ExpressionAttributeNames"] = {"#rebuild": "rebuild"}
        self.ddb.update_item(
            TableName=self.cfg.state_table,
            Key={"pk": {"S": keys.tenant_pk(tenant)}, "sk": {"S": keys.STATE_SK}},
            UpdateExpression=expr,
            ExpressionAttributeValues=values,
            **extra,
        )

    @staticmethod
    def safe_horizon(state: TenantState, now_us: int) -> tuple[int, int | None]:
        """(highest seq readable without a gap, oldest live in-flight block's start
        time or None). Blocks older than a Lambda can live are abandoned gaps."""
        horizon = int(state.next_seq or 0)
        oldest: int | None = None
        for info in (state.inflight.as_dict() if state.inflight else {}).values():
            at = int(info["at"])
            if now_us - at > STALE_BLOCK_US:
                continue
            start = int(info.get("start", horizon + 1))
            horizon = min(horizon, start - 1)
            oldest = at if oldest is None else min(oldest, at)
        return horizon, oldest

    def due_tenants(self, now_s: int) -> list[tuple[str, int]]:
        out = []
        for item in TenantState.due_index.query(keys.DUE_PARTITION, TenantState.due_at <= now_s):
            out.append((item.pk[2:], int(item.due_at)))
        return out

    def set_pending(self, tenant: str, cursor: int, pending: Mapping[str, Any], owner: str) -> None:
        """Register the batch's journal: only from ``cursor``, with none pending, by the lease holder."""
        self._fenced_update(
            tenant,
            [TenantState.pending.set(json.dumps(pending))],
            (TenantState.cursor == cursor) & TenantState.pending.does_not_exist() & (TenantState.lease_owner == owner),
        )

    def note_fields(self, tenant: str, fields: Mapping[str, Any], owner: str) -> None:
        """Set (None: remove) ``fields`` by the lease holder, touching nothing else: no cursor,
        no pending batch (``services/damage`` notes what it met this way)."""
        self._fenced_update(tenant, _field_actions(fields), TenantState.lease_owner == owner)

    def commit(self, tenant: str, cursor: int, fields: Mapping[str, Any], owner: str, now_ms: int) -> None:
        """Advance the cursor and clear the pending batch, only from ``cursor`` and only
        by the lease holder, whose lease it renews."""
        actions: list[Action] = [
            TenantState.pending.remove(),
            TenantState.lease_until.set(now_ms + LEASE_MS),
            TenantState.failure.remove(),
            TenantState.failed_at.remove(),
            *_field_actions(fields),
        ]
        self._fenced_update(tenant, actions, (TenantState.cursor == cursor) & (TenantState.lease_owner == owner))

    def _fenced_update(self, tenant: str, actions: list[Action], condition: Any) -> None:
        try:
            TenantState(keys.tenant_pk(tenant), keys.STATE_SK).update(actions=actions, condition=condition)
        except Exception as exc:  # noqa: BLE001 - PynamoDB wraps the ClientError
            if conditional_failed(exc):
                raise StaleWriter(f"tenant {tenant!r}: the lease or the cursor moved on; write rejected") from None
            raise

    def reschedule(self, tenant: str, due_at_s: int | None, next_seq: int, data_through: str | None = None) -> bool:
        """Move the tenant's next due time (None: not due) unless new data arrived;
        an idle run also moves ``data_through`` (nothing newer exists) in the same write."""
        action = TenantState.due_at.set(due_at_s) if due_at_s is not None else TenantState.sched.remove()
        actions: list[Action] = [action, TenantState.failure.remove(), TenantState.failed_at.remove()]
        if data_through is not None:
            actions.append(TenantState.data_through.set(data_through))
        if due_at_s is not None:
            actions.append(TenantState.sched.set(keys.DUE_PARTITION))
        try:
            TenantState(keys.tenant_pk(tenant), keys.STATE_SK).update(
                actions=actions, condition=TenantState.next_seq == next_seq
            )
            return True
        except Exception as exc:  # noqa: BLE001
            if conditional_failed(exc):
                return False
            raise


def _field_actions(fields: Mapping[str, Any]) -> list[Action]:
    """An update's actions for state ``fields``: set each, or remove it where the value is None."""
    attrs = {name: getattr(TenantState, name) for name in fields}
    return [attrs[name].remove() if value is None else attrs[name].set(value) for name, value in fields.items()]
