"""Documents stored as compressed JSON split into parts under DynamoDB's 400 KB
item limit. A part carries the total part count so a reader ignores stale tails.

orjson writes and reads them, in about half json's time (a large preset is most of a
read's work, worlds most of a refresh's). It reads integers up to 64 bits exactly and
refuses to write wider ones, so what it reads is what was written: every number the
domain stores fits (instants 1970-2100 in nanoseconds, bounded durations, sums of counts),
and documents json wrote before read the same. Keys that are not text are written as
text, as json wrote them.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson

PART_BYTES = 350_000


def encode(doc: Any) -> list[bytes]:
    raw = zlib.compress(orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS), 6)
    return [raw[i : i + PART_BYTES] for i in range(0, len(raw), PART_BYTES)] or [b""]


def decode(parts: list[bytes]) -> Any:
    return orjson.loads(zlib.decompress(b"".join(parts)))
