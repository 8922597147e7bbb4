"""Documents stored as compressed JSON split into parts under DynamoDB's 400 KB
item limit. A part carries the total part count so a reader ignores stale tails."""

from __future__ import annotations

import json
import zlib
from typing import Any

PART_BYTES = 350_000


def encode(doc: Any) -> list[bytes]:
    raw = zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 6)
    return [raw[i : i + PART_BYTES] for i in range(0, len(raw), PART_BYTES)] or [b""]


def decode(parts: list[bytes]) -> Any:
    return json.loads(zlib.decompress(b"".join(parts)))
