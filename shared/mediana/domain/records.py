"""The input contract (source-records.md): validate one JSON Lines record.

``parse_line`` turns a raw line into a normalised record (timestamps as epoch
nanoseconds, marked ``ns``) or a ``Rejection`` naming the field and what was
wrong. Nothing here touches AWS, so the contract is tested without mocks.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

from mediana.domain.timeutil import parse_instant, zone

KINDS = ("tenant", "user", "group", "contact", "conversation", "message", "interaction")
CHANNELS = ("whatsapp", "messenger", "instagram", "email", "sms", "webchat", "phone", "other")
DIRECTIONS = ("inbound", "outbound")
AUTHOR_TYPES = ("contact", "advisor", "bot", "system")
INTERACTION_TYPES = (
    "opportunity",
    "assignment",
    "automation_email",
    "whatsapp_log",
    "call_log",
    "form_submission",
    "note",
    "conversation_opened",
    "activity",
    "conversation_closed",
    "campaign_email",
)
CALL_OUTCOMES = ("answered", "no_answer", "busy", "rejected", "voicemail", "failed")
DEFAULT_CALL_TYPES = ("prequalification", "negotiation", "first_contact", "demo", "closing")

MAX_DURATION_SECONDS = 86_400  # one day (the contract's bound on duration_seconds)
INSTANT_FIELDS = ("updated_at", "created_at", "closed_at", "deleted_at", "occurred_at")
# Normalised records carry NS_MARK: their instants are epoch nanoseconds. Records
# stored before that (no mark) hold microseconds; see ``upgrade``.
NS_MARK = "ns"

_PARENT = {"conversation": "contact_id", "interaction": "contact_id", "message": "conversation_id"}
_TENANT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

Record = dict[str, Any]


@dataclass(frozen=True)
class Rejection:
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.rejection = Rejection(field, reason)


def valid_tenant_id(value: object) -> bool:
    return isinstance(value, str) and bool(_TENANT_ID.fullmatch(value))  # fullmatch: "$" lets "acme\n" through


def _opt_str(raw: Record, field: str) -> str | None:
    value = raw.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad(field, "expected a string or null")
    return value


def _req_str(raw: Record, field: str) -> str:
    value = raw.get(field)
    if value is None:
        raise _Bad(field, "required")
    if not isinstance(value, str) or not value:
        raise _Bad(field, "expected a non-empty string")
    return value


def _instant(raw: Record, field: str, required: bool) -> int | None:
    value = raw.get(field)
    if value is None:
        if required:
            raise _Bad(field, "required")
        return None
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise _Bad(field, str(exc)) from None


def _enum(raw: Record, field: str, allowed: tuple[str, ...], required: bool, default: str | None = None) -> str | None:
    value = raw.get(field)
    if value is None:
        if required:
            raise _Bad(field, "required")
        return default
    if value not in allowed:
        raise _Bad(field, f"unknown value {value!r}; expected one of {', '.join(allowed)}")
    return str(value)


def _bool(raw: Record, field: str, default: bool) -> bool:
    value = raw.get(field)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _Bad(field, "expected true or false")
    return value


def _kind_fields(kind: str, raw: Record, tenant_id: str, rec_id: str) -> Record:
    if kind == "tenant":
        if rec_id != tenant_id:
            raise _Bad("id", "a tenant record's id must equal its tenant_id")
        tz = raw.get("timezone") or "UTC"
        if not isinstance(tz, str):
            raise _Bad("timezone", "expected an IANA time zone name")
        try:
            zone(tz)
        except ValueError as exc:
            raise _Bad("timezone", str(exc)) from None
        call_types = raw.get("call_types")
        if call_types is None:
            call_types = list(DEFAULT_CALL_TYPES)
        elif not isinstance(call_types, list) or not all(isinstance(c, str) and c for c in call_types):
            raise _Bad("call_types", "expected a list of non-empty strings")
        return {"name": _opt_str(raw, "name"), "timezone": tz, "call_types": call_types}
    if kind == "user":
        return {"name": _opt_str(raw, "name"), "active": _bool(raw, "active", True)}
    if kind == "group":
        return {"name": _opt_str(raw, "name")}
    if kind == "contact":
        return {
            "created_at": _instant(raw, "created_at", True),
            "origin": _opt_str(raw, "origin"),
            "entry_group_id": _opt_str(raw, "entry_group_id"),
            "group_id": _opt_str(raw, "group_id"),
            "owner_id": _opt_str(raw, "owner_id"),
            "deleted_at": _instant(raw, "deleted_at", False),
        }
    if kind == "conversation":
        return {
            "contact_id": _req_str(raw, "contact_id"),
            "channel": _enum(raw, "channel", CHANNELS, False, "other"),
            "created_at": _instant(raw, "created_at", True),
            "closed_at": _instant(raw, "closed_at", False),
            "group_id": _opt_str(raw, "group_id"),
            "owner_id": _opt_str(raw, "owner_id"),
        }
    if kind == "message":
        direction = _enum(raw, "direction", DIRECTIONS, True)
        author_type = _enum(raw, "author_type", AUTHOR_TYPES, True)
        if direction == "inbound" and author_type != "contact":
            raise _Bad("author_type", "an inbound message must have author_type contact")
        if direction == "outbound" and author_type == "contact":
            raise _Bad("author_type", "an outbound message must be by advisor, bot or system")
        return {
            "conversation_id": _req_str(raw, "conversation_id"),
            "direction": direction,
            "author_type": author_type,
            "author_id": _opt_str(raw, "author_id"),
            "created_at": _instant(raw, "created_at", True),
        }
    if kind == "interaction":
        itype = _enum(raw, "type", INTERACTION_TYPES, True)
        out: Record = {
            "contact_id": _req_str(raw, "contact_id"),
            "owner_id": _opt_str(raw, "owner_id"),
            "occurred_at": _instant(raw, "occurred_at", True),
            "type": itype,
        }
        if itype == "call_log":
            duration = raw.get("duration_seconds")
            if duration is not None and (
                isinstance(duration, bool)
                or not isinstance(duration, (int, float))
                or not math.isfinite(duration)
                or not 0 <= duration <= MAX_DURATION_SECONDS
            ):
                raise _Bad("duration_seconds", f"expected a finite number from 0 to {MAX_DURATION_SECONDS}")
            out.update(
                call_type=_opt_str(raw, "call_type"),
                outcome=_enum(raw, "outcome", CALL_OUTCOMES, False),
                duration_seconds=duration,
            )
        return out
    raise _Bad("kind", f"unknown kind {kind!r}")  # pragma: no cover - guarded by caller


def _not_text(record: Record) -> str | None:
    """The first field holding a string that UTF-8 cannot encode."""
    for name, value in record.items():
        for text in value if type(value) is list else (value,):
            if type(text) is str and not text.isascii():
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    return name
    return None


def parse_record(raw: object, expected_tenant: str) -> Record | Rejection:
    """Validate one decoded JSON value against the contract."""
    try:
        if not isinstance(raw, dict):
            raise _Bad("(line)", "expected a JSON object")
        kind = raw.get("kind")
        if kind not in KINDS:
            raise _Bad("kind", f"unknown kind {kind!r}" if kind is not None else "required")
        tenant_id = raw.get("tenant_id")
        if not valid_tenant_id(tenant_id):
            raise _Bad("tenant_id", "expected 1-64 characters of [A-Za-z0-9_-]")
        if tenant_id != expected_tenant:
            raise _Bad("tenant_id", f"record is for tenant {tenant_id!r}, submitted for {expected_tenant!r}")
        rec_id = raw.get("id")
        if not isinstance(rec_id, str) or not 1 <= len(rec_id) <= 128:
            raise _Bad("id", "expected a string of 1-128 characters")
        updated = _instant(raw, "updated_at", True)
        erased = _bool(raw, "erased", False)
        record: Record = {"kind": kind, "id": rec_id, "updated_at": updated, NS_MARK: 1}
        if erased:
            record["erased"] = True
            # An erasure tombstone keeps only what routing needs, never the content:
            # the parent id tells which contact's state the record must vanish from.
            parent = _PARENT.get(str(kind))
            if parent:
                record[parent] = _req_str(raw, parent)
        else:
            record.update(_kind_fields(str(kind), raw, str(tenant_id), rec_id))
        if (field := _not_text(record)) is not None:  # JSON's escapes can spell it, UTF-8 cannot hold it
            raise _Bad(field, "not Unicode text: a lone surrogate (an unpaired \\ud800-\\udfff escape)")
        return record
    except _Bad as bad:
        return bad.rejection


def upgrade(record: Record) -> Record:
    """A stored record in today's encoding (in place; idempotent). Versions stored
    before instants were nanoseconds hold microseconds (their sub-microsecond digits
    were never kept): scaled by 1000, they are the exact instants they stood for, so
    stored logs, worlds and routes keep working without a rewrite. Their version
    hash is kept: it only breaks ties between versions, deterministically."""
    if record.get(NS_MARK):
        return record
    for name in INSTANT_FIELDS:
        value = record.get(name)
        if isinstance(value, int):
            record[name] = value * 1000
    record[NS_MARK] = 1
    return record


def parse_line(line: bytes | str, expected_tenant: str) -> Record | Rejection | None:
    """One JSON Lines line -> record, rejection, or None for a blank line.

    orjson decodes (~3x json's speed). Whatever it refuses -- a blank line, bad UTF-8 or
    JSON, NaN, a lone surrogate, deep nesting -- goes to ``parse_line_reference``, which
    gives the answer or names the reason, as it always did. Where both decode, their
    values differ only for integers beyond 64 bits (orjson: a float). No record the
    contract accepts can hold one (the only numeric field is at most 86,400), but a
    rejection's reason may quote it, so a rejected line is judged again by the reference:
    every answer and every reason stays ``json``'s (tests/test_parse_fast.py proves it)."""
    try:
        raw = orjson.loads(line)
    except orjson.JSONDecodeError:
        return parse_line_reference(line, expected_tenant)
    return parse_decoded(raw, line, expected_tenant)


def parse_decoded(raw: object, line: bytes | str, expected_tenant: str) -> Record | Rejection | None:
    """``parse_line``'s answer for a line orjson decoded to ``raw``."""
    parsed = parse_record(raw, expected_tenant)
    if isinstance(parsed, Rejection):  # its reason may quote a value: json's, as always
        return parse_line_reference(line, expected_tenant)
    return parsed


def parse_line_reference(line: bytes | str, expected_tenant: str) -> Record | Rejection | None:
    """``parse_line`` with the standard library's decoder: the reference, and every rejection's reason."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError:
            return Rejection("(line)", "not valid UTF-8")
    if not line.strip():
        return None
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        return Rejection("(line)", f"not valid JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return Rejection("(line)", "not valid JSON: nested too deeply")
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        return Rejection("(line)", f"not valid JSON: {exc}"[:300])
    return parse_record(raw, expected_tenant)
