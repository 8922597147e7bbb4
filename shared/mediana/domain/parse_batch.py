"""Many JSON Lines at once: ``parse_lines`` answers exactly as ``parse_line`` on each.

Per-line validation spends most of its time calling small functions per field. Here
the lines are decoded, grouped by kind, and each field is checked as a column (one
comprehension per check, instants by ``parse_instants``); the records of a kind are then
built in one pass. A line that any check refuses -- or of a rare kind (tenant, user,
group), or a tombstone -- is judged alone by
``parse_decoded``, so every rejection and its reason stay the reference's
(tests/test_parse_batch.py proves the answers equal, line for line). Pure Python: the
ingest function has no numpy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any

import orjson

from mediana.domain.records import (
    AUTHOR_TYPES,
    CALL_OUTCOMES,
    CHANNELS,
    DIRECTIONS,
    INTERACTION_TYPES,
    MAX_DURATION_SECONDS,
    NS_MARK,
    Record,
    Rejection,
    parse_decoded,
    parse_line_reference,
    valid_tenant_id,
)
from mediana.domain.timeutil import parse_instants

Parsed = Record | Rejection | None
Raw = dict[str, Any]

_CHANNELS, _DIRECTIONS, _AUTHORS = frozenset(CHANNELS), frozenset(DIRECTIONS), frozenset(AUTHOR_TYPES)
_TYPES, _OUTCOMES = frozenset(INTERACTION_TYPES), frozenset(CALL_OUTCOMES)


def parse_lines(lines: Sequence[bytes | str], expected_tenant: str) -> list[Parsed]:
    """``[parse_line(line, expected_tenant) for line in lines]``, faster."""
    out: list[Parsed] = [None] * len(lines)
    kinds: dict[str, tuple[list[int], list[Raw]]] = {k: ([], []) for k in _BUILDERS}
    fast = valid_tenant_id(expected_tenant)
    loads = orjson.loads
    for i, line in enumerate(lines):
        try:
            raw = loads(line)
        except orjson.JSONDecodeError:
            out[i] = parse_line_reference(line, expected_tenant)
            continue
        kind = raw.get("kind") if fast and type(raw) is dict else None
        group = kinds.get(kind) if type(kind) is str else None
        if group is None:
            out[i] = parse_decoded(raw, line, expected_tenant)
        else:
            group[0].append(i)
            group[1].append(raw)
    for kind, (positions, raws) in kinds.items():
        if not raws:
            continue
        try:
            records, refused = _BUILDERS[kind](raws, expected_tenant)
        except Exception:  # noqa: BLE001 - a check's own fault: the lines are judged alone, as parse_line would
            records, refused = [None] * len(raws), set(range(len(raws)))
        for j, rec in zip(positions, records, strict=True):
            out[j] = rec
        for k in refused:
            j = positions[k]
            out[j] = parse_decoded(raws[k], lines[j], expected_tenant)
    return out


_NONE = type(None)
_NUMBERS = (int, float)


def _row(getter: itemgetter[Any], fields: tuple[str, ...], raw: Raw) -> tuple[Any, ...]:
    try:
        return tuple(getter(raw))
    except KeyError:
        return tuple(map(raw.get, fields))


class _Columns:
    """The fields of one kind's decoded lines as columns, and the rows a check refused.

    Each check is first made on the whole column in C (a set of types, a count, a
    membership, a max); only a column that fails it is searched row by row."""

    def __init__(self, raws: list[Raw], tenant: str, names: Sequence[str]) -> None:
        fields = ("tenant_id", "id", "updated_at", *names)
        getter = itemgetter(*fields)
        try:
            rows = list(map(getter, raws))
        except KeyError:  # some record lacks a field: absent reads as null, as raw.get does
            rows = [_row(getter, fields, r) for r in raws]
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(fields)
        self.n = len(raws)
        self.values = dict(zip(fields, map(list, columns), strict=True))
        self.refused: set[int] = set()
        tenants = self.values["tenant_id"]
        if tenants.count(tenant) != self.n:
            self.refused.update(i for i, v in enumerate(tenants) if type(v) is not str or v != tenant)
        ids = self.req_str("id")
        if not ({str} >= set(map(type, ids)) and (not ids or max(map(len, ids)) <= 128)):
            self.refused.update(i for i, v in enumerate(ids) if type(v) is str and len(v) > 128)
        erased = [r.get("erased") for r in raws]
        if not {_NONE, bool} >= set(map(type, erased)) or True in erased:  # a tombstone: judged alone
            self.refused.update(i for i, v in enumerate(erased) if v is not None and v is not False)
        self.ids = ids
        self.updated = self.instants("updated_at", required=True)

    def _typed(self, name: str, types: set[type]) -> list[Any]:
        values = self.values[name]
        if not types >= set(map(type, values)):
            self.refused.update(i for i, v in enumerate(values) if type(v) not in types)
        return values

    def opt_str(self, name: str) -> list[Any]:
        return self._typed(name, {str, _NONE})

    def req_str(self, name: str) -> list[Any]:
        values = self._typed(name, {str})
        if "" in values:
            self.refused.update(i for i, v in enumerate(values) if v == "")
        return values

    def enum(self, name: str, allowed: frozenset[str], required: bool, default: str | None = None) -> list[Any]:
        types = {str} if required else {str, _NONE}
        values = self.values[name]
        if not (types >= set(map(type, values)) and allowed >= set(values) - {None}):
            self.refused.update(
                i
                for i, v in enumerate(values)
                if (v is not None or required) and (type(v) is not str or v not in allowed)
            )
        return [default if v is None else v for v in values] if default is not None else values

    def instants(self, name: str, required: bool) -> list[int | None]:
        values, bad = parse_instants(self.values[name])
        self.refused.update(bad)
        if required and None in values:
            self.refused.update(i for i, v in enumerate(values) if v is None)
        return values

    def finish(self, kind: str, fields: dict[str, list[Any]]) -> tuple[list[Record | None], set[int]]:
        """One record per row, as ``parse_record`` builds it (same keys, same order), or
        None for a refused row."""
        keys = ("kind", "id", "updated_at", NS_MARK, *fields)
        rows = zip(repeat(kind), self.ids, self.updated, repeat(1), *fields.values(), strict=False)
        records: list[Record | None] = list(map(dict, map(zip, repeat(keys), rows)))
        for i in self.refused:
            records[i] = None
        return records, self.refused


def _contacts(raws: list[Raw], tenant: str) -> tuple[list[Record | None], set[int]]:
    c = _Columns(raws, tenant, ("created_at", "origin", "entry_group_id", "group_id", "owner_id", "deleted_at"))
    fields = {
        "created_at": c.instants("created_at", required=True),
        "origin": c.opt_str("origin"),
        "entry_group_id": c.opt_str("entry_group_id"),
        "group_id": c.opt_str("group_id"),
        "owner_id": c.opt_str("owner_id"),
        "deleted_at": c.instants("deleted_at", required=False),
    }
    return c.finish("contact", fields)


def _conversations(raws: list[Raw], tenant: str) -> tuple[list[Record | None], set[int]]:
    c = _Columns(raws, tenant, ("contact_id", "channel", "created_at", "closed_at", "group_id", "owner_id"))
    fields = {
        "contact_id": c.req_str("contact_id"),
        "channel": c.enum("channel", _CHANNELS, False, default="other"),
        "created_at": c.instants("created_at", required=True),
        "closed_at": c.instants("closed_at", required=False),
        "group_id": c.opt_str("group_id"),
        "owner_id": c.opt_str("owner_id"),
    }
    return c.finish("conversation", fields)


_MESSAGE_PAIRS = {("inbound", "contact"), ("outbound", "advisor"), ("outbound", "bot"), ("outbound", "system")}


def _messages(raws: list[Raw], tenant: str) -> tuple[list[Record | None], set[int]]:
    c = _Columns(raws, tenant, ("conversation_id", "direction", "author_type", "author_id", "created_at"))
    direction, author = c.enum("direction", _DIRECTIONS, True), c.enum("author_type", _AUTHORS, True)
    pairs = list(zip(direction, author, strict=True))
    refused = c.refused  # rows with a value of another type (perhaps unhashable) among them
    kept = [p for i, p in enumerate(pairs) if i not in refused] if refused else pairs
    if not _MESSAGE_PAIRS >= set(kept):
        refused.update([i for i, p in enumerate(pairs) if i not in refused and p not in _MESSAGE_PAIRS])
    fields = {
        "conversation_id": c.req_str("conversation_id"),
        "direction": direction,
        "author_type": author,
        "author_id": c.opt_str("author_id"),
        "created_at": c.instants("created_at", required=True),
    }
    return c.finish("message", fields)


_INTERACTION = ("contact_id", "owner_id", "occurred_at", "type")
_CALL = (*_INTERACTION, "call_type", "outcome", "duration_seconds")


def _interactions(raws: list[Raw], tenant: str) -> tuple[list[Record | None], set[int]]:
    """Calls and other interactions differ in their fields: each is built as a kind of its own."""
    is_call = [r.get("type") == "call_log" for r in raws]
    records: list[Record | None] = [None] * len(raws)
    refused: set[int] = set()
    for call in (True, False):
        rows = [i for i, c in enumerate(is_call) if c is call]
        if not rows:
            continue
        c = _Columns([raws[i] for i in rows], tenant, _CALL if call else _INTERACTION)
        fields = {
            "contact_id": c.req_str("contact_id"),
            "owner_id": c.opt_str("owner_id"),
            "occurred_at": c.instants("occurred_at", required=True),
            "type": c.enum("type", _TYPES, True),
        }
        if call:
            fields["call_type"] = c.opt_str("call_type")
            fields["outcome"] = c.enum("outcome", _OUTCOMES, False)
            # a number from 0 to the bound, kept as given (orjson decodes finite floats only:
            # a line spelling NaN or 1e400 takes the reference path)
            duration = c._typed("duration_seconds", {*_NUMBERS, _NONE})
            given = [v for v in duration if type(v) in _NUMBERS]  # not bool, nor the types refused above
            top = MAX_DURATION_SECONDS
            if given and not (0 <= min(given) and max(given) <= top):
                c.refused.update(i for i, v in enumerate(duration) if type(v) in _NUMBERS and not 0 <= v <= top)
            fields["duration_seconds"] = duration
        built, bad = c.finish("interaction", fields)
        for k, i in enumerate(rows):
            records[i] = built[k]
        refused.update(rows[k] for k in bad)
    return records, refused


_BUILDERS: dict[str, Callable[[list[Raw], str], tuple[list[Record | None], set[int]]]] = {
    "contact": _contacts,
    "conversation": _conversations,
    "message": _messages,
    "interaction": _interactions,
}
