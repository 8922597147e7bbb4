"""Documents stored as compressed JSON split into parts under DynamoDB's 400 KB
item limit. A part carries the total part count so a reader ignores stale tails.

orjson writes and reads them, in about half json's time (a large preset is most of a
read's work, worlds most of a refresh's). It reads integers up to 64 bits exactly and
refuses to write wider ones, so what it reads is what was written: every number the
domain stores fits (instants 1970-2100 in nanoseconds, bounded durations, sums of counts),
and documents json wrote before read the same. Keys that are not text are written as
text, as json wrote them.

A document too large for one part may name the keys a reader can often do without (``BODY``,
as a preset bucket names its whole counters: ``domain/projections``). It is then *headed*:
part 0 holds the other keys alone, compressed on their own behind ``HEADED``, and the named
keys follow in parts 1... A reader that needs only the head decodes part 0
(``decode_head``) and fetches no other part; ``decode`` reads the whole document, as ever,
and refuses a head and a body of two versions (part 0 holds the body's CRC-32).
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson

PART_BYTES = 350_000
BODY = "_body"  # a document's list of the keys that go after its head, once it needs parts
HEADED = b"\x00h"  # how part 0 of a headed document starts: no zlib stream does (method 0 is none)
_HEAD_AT = len(HEADED) + 4  # then the body's CRC-32, then the head


def encode(doc: Any) -> list[bytes]:
    if isinstance(doc, dict) and doc.get(BODY):
        body = _compressed({key: doc[key] for key in doc[BODY] if key in doc})
        head = _compressed({key: value for key, value in doc.items() if key not in doc[BODY]})
        # headed once the two need parts, and the head fits one (else it would save no read)
        if len(head) + len(body) > PART_BYTES and _HEAD_AT + len(head) <= PART_BYTES:
            return [HEADED + zlib.crc32(body).to_bytes(4, "big") + head, *_split(body)]
    return _split(_compressed(doc))


def decode(parts: list[bytes]) -> Any:
    """The whole document. A headed one's part 0 names its body's checksum: parts of two
    versions (a reader between a writer's puts) raise ValueError, as a broken stream does."""
    if parts and parts[0].startswith(HEADED):
        body = b"".join(parts[1:])
        if zlib.crc32(body).to_bytes(4, "big") != parts[0][_HEAD_AT - 4 : _HEAD_AT]:
            raise ValueError("a headed document's body is not the one its head was written with")
        return {**decode_head(parts[0]), **orjson.loads(zlib.decompress(body))}
    return orjson.loads(zlib.decompress(b"".join(parts)))


def decode_head(first: bytes) -> Any:
    """A headed document's head, from its part 0 alone; None for any other document's part 0."""
    return orjson.loads(zlib.decompress(first[_HEAD_AT:])) if first.startswith(HEADED) else None


def _compressed(doc: Any) -> bytes:
    return zlib.compress(orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS), 6)


def _split(raw: bytes) -> list[bytes]:
    return [raw[i : i + PART_BYTES] for i in range(0, len(raw), PART_BYTES)] or [b""]
