"""Which of two versions of a record is the latest: ``newer``, and the version hash
that breaks a tie between two versions of one ``updated_at``. The digest is part of
what is stored (versions stored before it was computed on demand carry it as ``h``),
so its definition never changes."""

from __future__ import annotations

import hashlib
import json

import orjson

from mediana.domain.records import Record


def version_hash(record: Record) -> str:
    """A short digest of a normalised record: the deterministic tie-break between
    two different versions that carry the same ``updated_at``.

    The digest is of ``json.dumps(record, sort_keys=True, separators=(",", ":"))``,
    forever: versions stored before it was computed on demand carry it. orjson writes
    the same bytes, ~4x faster, whenever no string needed escaping (its output is ASCII
    without a backslash or a DEL: ``json`` escapes non-ASCII and DEL, orjson does not) and
    no value is a float (the two spell exponents differently); anything else takes ``json``."""
    try:
        canonical = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an int beyond 64 bits
        canonical = _canonical_reference(record)
    else:
        if not canonical.isascii() or b"\\" in canonical or b"\x7f" in canonical or _has_float(record):
            canonical = _canonical_reference(record)
    return hashlib.blake2b(canonical, digest_size=6).hexdigest()


# What the log and the store add to a record, and no part of its version.
_NOT_CONTENT = frozenset(("h", "seq", "_at"))


def version_of(record: Record) -> str:
    """``record``'s version hash, computed when a tie needs it: hashing every record as
    it was parsed took a fifth of the parse, for ties between versions of one
    ``updated_at`` that are rare. A version stored when the hash was computed at parse
    carries it as ``h``: the same digest, of the same content, or of the microsecond
    encoding it had then (``upgrade``), which must not change."""
    stored = record.get("h")
    if stored is not None:
        return str(stored)
    return version_hash({k: v for k, v in record.items() if k not in _NOT_CONTENT})


def _canonical_reference(record: Record) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


def _has_float(record: Record) -> bool:
    for value in record.values():
        if type(value) is float:
            return True
        if type(value) is list:
            for item in value:
                if type(item) is float:
                    return True
    return False


def newer(candidate: Record, current: Record | None) -> bool:
    """Latest ``updated_at`` wins; equal instants fall back to the version hash so
    the winner never depends on arrival order (replays compare equal: no-op).

    Erasure is terminal: a tombstone beats every live version, whatever its
    ``updated_at``. Erased data is gone from every intermediate, so a live version
    arriving after it could not bring it back; making the tombstone absorbing keeps
    the outcome independent of arrival order (incremental == full rebuild)."""
    if current is None:
        return True
    if bool(candidate.get("erased")) != bool(current.get("erased")):
        return bool(candidate.get("erased"))
    if candidate["updated_at"] != current["updated_at"]:
        return bool(candidate["updated_at"] > current["updated_at"])
    return version_of(candidate) > version_of(current)
