"""Contesting versions while folding (pure Python): which of two versions stays, what the
loser leaves in the log, and the stamps that let a version keep winning once its record is
gone (buried under an erased contact)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mediana.domain.contrib import World
from mediana.domain.records import NS_MARK, Record
from mediana.domain.versions import newer, version_of

STAMP = "stamp"  # marks a stamp record in the log (``stamp_record``)
# An erased contact's world keeps the stamps (``version_stamp``) of what was buried in it, in
# two maps: a conversation and an interaction may share an id. The names are stored keys.
GONE_CONVS = "gone"  # conversation id -> the stamp of its latest version
GONE_INTS = "gone_ints"  # interaction id -> the stamp of its latest version


@dataclass
class FoldOutcome:
    worlds: set[str] = field(default_factory=set)  # contact ids whose world changed
    routes: set[str] = field(default_factory=set)  # conversation ids whose route changed
    int_routes: set[str] = field(default_factory=set)  # interaction ids whose route changed
    msg_routes: set[str] = field(default_factory=set)  # message ids whose route changed
    directory: bool = False
    log_deletes: set[int] = field(default_factory=set)  # superseded or erased source versions
    # seq -> the stamp record that replaces a buried version in the log
    log_stamps: dict[int, Record] = field(default_factory=dict)


def version_stamp(rec: Record) -> Record:
    """What ``newer`` needs of a version, and none of its content.

    An erased contact's world keeps one per conversation and interaction whose latest
    version names it, so that version keeps winning once the record itself is gone: an
    older version naming another contact, arriving later, must not bring it back there
    (the latest version wins, in any order). A newer one does move it, and removes the stamp."""
    stamp: Record = {"updated_at": rec["updated_at"], "h": version_of(rec)}
    if rec.get("erased"):
        stamp["erased"] = True
    if rec.get("seq") is not None:
        stamp["seq"] = rec["seq"]  # its log entry, deleted once a newer version wins
    return stamp


def stamp_record(rec: Record) -> Record:
    """The log entry that replaces a buried conversation or interaction version: its
    stamp, with its own and its contact's ids, and none of its content. A rebuild from
    the log folds it back into the same stamp, so the version keeps winning after a
    rebuild too."""
    kept = ("kind", "id", "contact_id", "updated_at", "erased", "seq", "_at", NS_MARK)
    return {**{k: rec[k] for k in kept if k in rec}, "h": version_of(rec), STAMP: True}


def _seq(rec: Mapping[str, Any] | None) -> int | None:
    return None if rec is None else rec.get("seq")


def contest(candidate: Record, current: Record | None, out: FoldOutcome) -> bool:
    """Does ``candidate`` replace ``current``? Records the loser's log entry for deletion."""
    if current is None:
        return True  # a first version: nothing to contest, no loser (most records of a batch)
    if newer(candidate, current):
        old = _seq(current)
        if old is not None and old != _seq(candidate):
            out.log_deletes.add(old)
        return True
    if _seq(candidate) is not None and _seq(candidate) != _seq(current):
        out.log_deletes.add(_seq(candidate))  # type: ignore[arg-type]
    return False


def bury(records: Iterable[Record], out: FoldOutcome) -> None:
    """Latest conversation and interaction versions that name an erased contact: their log
    entries become stamp records (not deleted), so the stamps outlive a rebuild from the log."""
    for rec in records:
        if rec.get("seq") is not None and not rec.get(STAMP):
            out.log_stamps[rec["seq"]] = stamp_record(rec)


def erased_contact(world: World) -> bool:
    contact = world.get("contact")
    return bool(contact and contact.get("erased"))
