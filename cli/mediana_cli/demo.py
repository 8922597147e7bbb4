"""Reproducible, realistic demo data (JSON Lines) for one tenant.

Business-hour peaks in the tenant's zone, lognormal reply delays, bots and
system messages, several conversations per contact, calls and e-mails, deleted
and erased contacts, and the warts of a real export: duplicated lines, later
versions of the same record, and late lines out of order.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mediana.domain.timeutil import now_utc

ZONES = ("America/Argentina/Buenos_Aires", "America/Mexico_City", "Europe/Madrid", "America/Bogota", "UTC")
ORIGINS = (("Facebook Ads", 30), ("Web form", 22), ("Instagram", 14), ("Referral", 8), ("Google Ads", 12), (None, 6))
CHANNELS = (("whatsapp", 60), ("messenger", 12), ("instagram", 10), ("email", 8), ("webchat", 6), ("sms", 4))
INTERACTIONS = (
    ("campaign_email", 18),
    ("automation_email", 14),
    ("whatsapp_log", 10),
    ("note", 8),
    ("assignment", 6),
    ("opportunity", 4),
    ("form_submission", 5),
    ("activity", 5),
    ("conversation_opened", 4),
    ("conversation_closed", 3),
)
CALL_TYPES = ("prequalification", "negotiation", "first_contact", "demo", "closing")
OUTCOMES = (("answered", 50), ("no_answer", 20), ("busy", 8), ("rejected", 7), ("voicemail", 10), ("failed", 5))
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 20, 19, 15, 14, 17, 18, 16, 13, 10, 8, 6, 4, 3, 2]


def _pick(rng: random.Random, table: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tenant_zone(tenant: str, seed: int) -> str:
    """The time zone ``generate`` gives this tenant."""
    return ZONES[random.Random(f"{tenant}:{seed}").randrange(len(ZONES))]


def end_of_local_day(tenant: str, seed: int, at: datetime | None = None) -> datetime:
    """The last second of the tenant's local day at ``at`` (now): a ``now`` for ``generate``
    whose last 24 hours are that whole local day, as a day of quarter-hour deltas is when each
    is refreshed within its quarter-hour (the benches process a day at once)."""
    tz = ZoneInfo(tenant_zone(tenant, seed))
    local = (at or now_utc()).astimezone(tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tz)
    return (midnight - timedelta(seconds=1)).astimezone(UTC)


def generate(
    tenant: str, days: int, seed: int, per_day: float = 30.0, timezone: str | None = None, now: datetime | None = None
) -> Iterator[dict[str, Any]]:
    rng = random.Random(f"{tenant}:{seed}")
    tz_name = timezone or ZONES[rng.randrange(len(ZONES))]  # as tenant_zone
    tz = ZoneInfo(tz_name)
    now = (now or now_utc()).replace(microsecond=0)
    start_day = (now.astimezone(tz) - timedelta(days=days - 1)).date()
    base = datetime.combine(start_day, datetime.min.time(), tz)
    out: list[dict[str, Any]] = []
    late: list[dict[str, Any]] = []

    def emit(rec: dict[str, Any]) -> None:
        rec = {"tenant_id": tenant, **rec}
        roll = rng.random()
        if roll < 0.02:
            out.append(rec)
            out.append(dict(rec))  # duplicated line
        elif roll < 0.04:
            late.append(rec)  # arrives in a later file/position
        else:
            out.append(rec)

    out.append(
        {
            "kind": "tenant",
            "tenant_id": tenant,
            "id": tenant,
            "updated_at": _ts(base),
            "name": tenant.title(),
            "timezone": tz_name,
            "call_types": list(CALL_TYPES),
        }
    )
    users = [f"u-{n}" for n in ("ana", "bruno", "carla", "diego", "elena", "fede")]
    for u in users:
        emit({"kind": "user", "id": u, "updated_at": _ts(base), "name": u[2:].title(), "active": True})
    groups = ["g-sales", "g-support", "g-retail"]
    for g in groups:
        emit({"kind": "group", "id": g, "updated_at": _ts(base), "name": g[2:].title()})

    n_contact = n_conv = n_msg = n_int = 0

    def message(vid: str, at: datetime, direction: str, author_type: str, author_id: str | None = None) -> None:
        nonlocal n_msg
        if at > now:  # a bot's reply or an insisting contact a few seconds after now: not yet
            return
        n_msg += 1
        emit(
            {
                "kind": "message",
                "id": f"m-{n_msg}",
                "updated_at": _ts(at),
                "conversation_id": vid,
                "direction": direction,
                "author_type": author_type,
                "author_id": author_id,
                "created_at": _ts(at),
            }
        )

    def interaction(cid: str, by: str | None, at: datetime, occurred: datetime, **fields: Any) -> None:
        nonlocal n_int
        n_int += 1
        emit(
            {
                "kind": "interaction",
                "id": f"i-{n_int}",
                "updated_at": _ts(at),
                "contact_id": cid,
                "owner_id": by,
                "occurred_at": _ts(occurred),
                **fields,
            }
        )

    for day in range(days):
        date_start = base + timedelta(days=day)
        weekday = (start_day + timedelta(days=day)).weekday()
        lam = per_day * (0.45 if weekday >= 5 else 1.0)
        count = max(0, int(rng.gauss(lam, math.sqrt(lam))))
        for _ in range(count):
            hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
            created = (date_start.replace(hour=hour) + timedelta(seconds=rng.randrange(3600))).astimezone(UTC)
            if created > now:
                continue
            n_contact += 1
            cid = f"ct-{n_contact}"
            owner = rng.choice(users + [None])
            group = rng.choice(groups)
            contact = {
                "kind": "contact",
                "id": cid,
                "updated_at": _ts(created),
                "created_at": _ts(created),
                "origin": _pick(rng, ORIGINS),
                "entry_group_id": group,
                "group_id": group,
                "owner_id": owner,
                "deleted_at": None,
            }
            emit(contact)
            if rng.random() < 0.05:  # deleted later: a newer version of the contact
                deleted = created + timedelta(days=rng.uniform(0.5, 20))
                if deleted < now:
                    emit({**contact, "updated_at": _ts(deleted), "deleted_at": _ts(deleted)})
            if rng.random() < 0.004:  # right to erasure
                emit(
                    {
                        "kind": "contact",
                        "id": cid,
                        "updated_at": _ts(min(now, created + timedelta(days=30))),
                        "erased": True,
                    }
                )
            conv_start = created + timedelta(seconds=rng.randrange(5, 240))
            for k in range(1 if rng.random() < 0.7 else rng.randint(2, 3)):
                if k:
                    conv_start += timedelta(days=rng.uniform(1, 30))
                if conv_start > now:
                    break
                n_conv += 1
                vid = f"cv-{n_conv}"
                conv_owner = owner or rng.choice(users)
                conv = {
                    "kind": "conversation",
                    "id": vid,
                    "updated_at": _ts(conv_start),
                    "contact_id": cid,
                    "channel": _pick(rng, CHANNELS),
                    "created_at": _ts(conv_start),
                    "closed_at": None,
                    "group_id": group,
                    "owner_id": conv_owner,
                }
                emit(conv)
                t = conv_start
                for _ in range(rng.randint(1, 5)):
                    message(vid, t, "inbound", "contact")
                    if rng.random() < 0.35:  # a bot answers at once: never a response
                        message(vid, t + timedelta(seconds=rng.randint(1, 5)), "outbound", "bot")
                    if rng.random() < 0.2:  # the contact insists before anyone answers
                        t += timedelta(seconds=rng.randint(20, 600))
                        message(vid, t, "inbound", "contact")
                    if rng.random() < 0.9:
                        delay = rng.lognormvariate(math.log(420), 1.3)
                        t += timedelta(seconds=int(delay))
                        if t > now:
                            break
                        message(vid, t, "outbound", "advisor", conv_owner)
                    t += timedelta(seconds=rng.randint(30, 4 * 3600))
                    if t > now:
                        break
                if rng.random() < 0.7:
                    closed = t + timedelta(minutes=rng.randint(5, 600))
                    if closed < now:
                        if rng.random() < 0.1:
                            message(vid, closed, "outbound", "system")
                        emit({**conv, "updated_at": _ts(closed), "closed_at": _ts(closed)})
            for _ in range(rng.choices([0, 1, 2, 4], weights=[30, 35, 25, 10])[0]):
                at = created + timedelta(hours=rng.uniform(0.1, 24 * 20))
                if at > now:
                    continue
                by = owner if rng.random() < 0.8 else rng.choice(users + [None])
                if rng.random() < 0.35:
                    call_type = rng.choice(CALL_TYPES + ("follow_up",))  # one type not configured
                    interaction(cid, by, at, at, type="call_log", call_type=call_type, **_call_result(rng))
                else:
                    interaction(cid, by, at, at, type=_pick(rng, INTERACTIONS))
        if weekday == 1 and n_contact:  # Tuesday newsletter: one campaign to a slice of the base
            at = (date_start.replace(hour=10) + timedelta(minutes=rng.randrange(60))).astimezone(UTC)
            if at <= now:
                for k in rng.sample(range(1, n_contact + 1), k=min(n_contact, max(1, n_contact // 8))):
                    # sent by the marketing tool: nobody's touch
                    sent = at + timedelta(seconds=rng.randrange(600))
                    interaction(f"ct-{k}", None, at, sent, type="campaign_email")
    yield from out
    yield from late


def _call_result(rng: random.Random) -> dict[str, Any]:
    """Outcome and a plausible duration: talk time when answered, a ring otherwise."""
    outcome = _pick(rng, OUTCOMES)
    if outcome == "answered":
        seconds: float = rng.lognormvariate(math.log(240), 0.8)
    elif outcome == "voicemail":
        seconds = rng.uniform(15, 60)
    elif outcome == "failed":
        seconds = 0
    else:
        seconds = rng.uniform(0, 30)
    return {"outcome": outcome, "duration_seconds": round(seconds, 1) if rng.random() < 0.2 else int(seconds)}


def write_jsonl(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    for rec in records:
        yield json.dumps(rec, separators=(",", ":"))
