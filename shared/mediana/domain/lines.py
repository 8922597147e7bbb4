"""JSON Lines from an object of any size or state, in bounded memory (pure Python).

The body is read in chunks, gunzipped incrementally when it starts with the gzip
magic (concatenated members included), and split into lines no longer than
``MAX_LINE_BYTES``. Nothing the file holds can make this raise or take more than
a few MiB: a line that is too long comes out as ``TooLong``; damage (a corrupt or
truncated stream, trailing garbage, a decompressed size over the cap) comes out
as one ``Damaged`` after every line that could be read before it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MAX_LINE_BYTES = 256 * 1024  # a record over this is no record (and would not fit a 400 KB item)
MAX_DECOMPRESSED_BYTES = 512 * 1024 * 1024  # per object: a gzip bomb stops here
GZIP_RATIO_CAP = 20  # JSON Lines gzip 5-15x; a bomb, ~1000x
READ_BYTES = 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class TooLong:
    head: bytes  # the first bytes, for the quarantine entry
    size: int


@dataclass(frozen=True)
class Damaged:
    reason: str


Line = bytes | TooLong | Damaged


def _raw_chunks(read: Callable[[int], bytes]) -> Iterator[bytes]:
    while chunk := read(READ_BYTES):
        yield chunk


def _gunzip(chunks: Iterator[bytes], cap: int) -> Iterator[bytes | Damaged]:
    """Decompressed output of gzip members, at most ``READ_BYTES`` at a time."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    produced = 0
    for chunk in chunks:
        data = chunk
        while data:
            try:
                out = inflater.decompress(data, READ_BYTES)
            except zlib.error as exc:
                yield Damaged(f"corrupt gzip data after {produced} decompressed bytes: {exc}")
                return
            produced += len(out)
            if produced > cap:
                yield Damaged(f"decompressed size exceeds {cap} bytes; the rest of the object is not read")
                return
            if out:
                yield out
            data = inflater.unconsumed_tail
            if inflater.eof:
                rest = inflater.unused_data
                if not rest:
                    break
                if not rest.startswith(_GZIP_MAGIC[: len(rest)]):
                    yield Damaged(f"trailing data after the gzip stream ({len(rest)}+ bytes) ignored")
                    return
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # the next member
                data = rest
    if not inflater.eof:
        yield Damaged(f"gzip stream truncated after {produced} decompressed bytes")


def decompression_cap(object_size: int) -> int:
    """Decompressed bytes allowed for an object of this size: large legitimate files
    (read across invocations with checkpoints) pass, a bomb stops early."""
    return max(MAX_DECOMPRESSED_BYTES, GZIP_RATIO_CAP * object_size)


def split_lines(pieces: Iterator[bytes | Damaged], max_line: int = MAX_LINE_BYTES) -> Iterator[Line]:
    """Lines (without their end of line), ``TooLong`` for an oversized one, and any
    ``Damaged`` in place, after the lines before it."""
    buf = bytearray()
    over = 0  # bytes of a too-long line seen so far (0: not skipping)
    head = b""
    for piece in pieces:
        if isinstance(piece, Damaged):
            if over:
                yield TooLong(head, over)
            elif buf:
                yield bytes(buf).rstrip(b"\r")
            yield piece
            return
        start = 0
        while start <= len(piece):
            nl = piece.find(b"\n", start)
            end = len(piece) if nl < 0 else nl
            if over:
                over += end - start
            else:
                buf += piece[start:end]
                if len(buf) > max_line:
                    head, over = bytes(buf[:2000]), len(buf)
                    buf.clear()
            if nl < 0:
                break
            if over:
                yield TooLong(head, over)
                over = 0
            else:
                yield bytes(buf).rstrip(b"\r")
                buf.clear()
            start = nl + 1
    if over:
        yield TooLong(head, over)
    elif buf:
        yield bytes(buf).rstrip(b"\r")


def read_lines(
    read: Callable[[int], bytes], max_line: int = MAX_LINE_BYTES, cap: int = MAX_DECOMPRESSED_BYTES
) -> Iterator[Line]:
    """The lines of an object read through ``read(n)`` (an S3 body, a file), gunzipped if gzip."""
    first = read(2)
    chunks = _raw_chunks(read)

    def all_chunks() -> Iterator[bytes]:
        if first:
            yield first
        yield from chunks

    pieces: Iterator[bytes | Damaged] = all_chunks()
    if first == _GZIP_MAGIC:
        pieces = _gunzip(all_chunks(), cap)
    return split_lines(pieces, max_line)
