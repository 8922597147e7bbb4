"""Manual refreshes ("refresh now"): request with dedupe and cool-down, and the
status transitions the aggregator drives. One queue and one aggregator serve
both the schedule and these requests: the FIFO message group is the tenant, so a
tenant never runs twice at once and a manual request waits only behind its own
tenant's messages, never behind the fleet's.

queued -> running -> succeeded | failed. A failed attempt goes back to queued
(SQS redelivers it) until the last allowed receive, which marks it failed with
the reason. A success starts the cool-down; a failure does not.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

from mediana.domain.timeutil import NS_PER_SECOND, format_instant, parse_instant
from mediana.storage.store import LEASE_MS, Store

STALE_S = 3600  # an active refresh older than this (its message lost) no longer blocks new ones
ATTEMPT_LIMIT_S = LEASE_MS // 1000  # longer than an aggregator can live: a running attempt older than this died


@dataclass
class RefreshAnswer:
    status: int  # 202, or 429 during the cool-down
    body: dict[str, Any]
    retry_after_s: int | None = None


def timed_out(record: dict[str, Any], now_s: int) -> bool:
    """Running, but started longer ago than an attempt can live: Lambda killed it."""
    started = record.get("started_at")
    if record.get("status") != "running" or not started:
        return False
    return parse_instant(started) // NS_PER_SECOND < now_s - ATTEMPT_LIMIT_S


TIMED_OUT = f"the attempt ran out of time (the aggregator's limit is {ATTEMPT_LIMIT_S} s)"


def public(record: dict[str, Any], now_s: int | None = None) -> dict[str, Any]:
    """What the API shows of a refresh record; with ``now_s``, an attempt that died
    with its Lambda shows as failed instead of running forever."""
    if now_s is not None and timed_out(record, now_s):
        record = {**record, "status": "failed", "error": TIMED_OUT}
    return {
        "refresh_id": record["refresh_id"],
        "status": record["status"],
        "requested_at": record.get("requested_at"),
        "started_at": record.get("started_at"),
        "finished_at": record.get("finished_at"),
        "data_through": record.get("data_through"),
        "attempts": int(record.get("attempts") or 0),
        "error": record.get("error"),
    }


def request_refresh(
    store: Store, tenant: str, now_s: int, requested_by: str | None = None, cooldown: bool = True
) -> RefreshAnswer:
    """Queue a refresh for ``tenant``, or return the one already queued or running;
    429 with Retry-After within the cool-down after the last completed one (the
    tenant's button; an operator's ``cooldown=False`` is never throttled)."""
    cfg = store.cfg
    cooldown_s = cfg.refresh_cooldown_s if cooldown else 0
    for _ in range(3):  # the state may change between the claim and the look
        refresh_id = f"r-{now_s:010d}-{uuid.uuid4().hex[:12]}"
        record = {
            "refresh_id": refresh_id,
            "tenant_id": tenant,
            "status": "queued",
            "requested_at": format_instant(now_s * NS_PER_SECOND),
            "requested_by": requested_by,
            "attempts": 0,
            "expires_at": now_s + cfg.refresh_ttl_s,
        }
        store.put_refresh(tenant, record)
        if store.claim_refresh(tenant, refresh_id, now_s, cooldown_s, STALE_S):
            store.mark_due(tenant, now_s)
            try:
                store.enqueue(tenant, "manual", refresh_id, refresh_id=refresh_id)
            except Exception as exc:
                finish(store, tenant, refresh_id, now_s, error=f"could not queue: {exc}")
                raise
            return RefreshAnswer(202, public(record))
        store.delete_refresh(tenant, refresh_id)
        state = store.get_state(tenant)
        active = state.active_refresh if state else None
        if active and int(state.active_since or 0) >= now_s - STALE_S:  # type: ignore[union-attr]
            existing = store.get_refresh(tenant, active)
            if existing and timed_out(existing, now_s):  # dead: record it, then claim anew
                finish(store, tenant, active, now_s, error=TIMED_OUT)
                continue
            if existing:
                return RefreshAnswer(202, public(existing))
        done = int(state.last_refresh_done or 0) if state else 0
        wait = done + cooldown_s - now_s
        if wait > 0:
            body = {
                "error": {
                    "code": "cooling_down",
                    "message": f"a refresh completed {now_s - done}s ago; try again in {wait}s",
                }
            }
            return RefreshAnswer(429, body, retry_after_s=math.ceil(wait))
    raise RuntimeError("refresh state kept changing; try again")


def start(store: Store, tenant: str, refresh_id: str, now_s: int, attempt: int) -> bool:
    """Mark it running; False if it already finished (a redelivered or duplicate message)."""
    fields = {"status": "running", "started_at": format_instant(now_s * NS_PER_SECOND), "attempts": attempt}
    return store.update_refresh(tenant, refresh_id, fields, only_open=True)


def finish(
    store: Store,
    tenant: str,
    refresh_id: str,
    now_s: int,
    *,
    data_through: str | None = None,
    error: str | None = None,
    retrying: bool = False,
) -> None:
    """Record the outcome: succeeded (with data_through), failed (with the reason),
    or back to queued while SQS will deliver it again."""
    if retrying:
        store.update_refresh(tenant, refresh_id, {"status": "queued", "error": error}, only_open=True)
        return
    fields: dict[str, Any] = {"finished_at": format_instant(now_s * NS_PER_SECOND)}
    if error is None:
        fields.update(status="succeeded", data_through=data_through)
    else:
        fields.update(status="failed", error=error[:500])
    store.update_refresh(tenant, refresh_id, fields, only_open=True)
    store.release_refresh(tenant, refresh_id, now_s if error is None else None)
