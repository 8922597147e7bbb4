"""Ingest of hostile files: every line accounted for (stored + quarantined = lines read),
the good lines before damage kept, memory bounded, through the ingest handler on moto."""

from __future__ import annotations

import gzip
import io
import json
import resource
import time
import zlib
from typing import Any

import pytest
from mediana.domain.lines import MAX_LINE_BYTES, Damaged, TooLong, read_lines
from mediana_cli import handlers
from mediana_cli.local import upload


def good(i: int) -> bytes:
    rec = {"kind": "user", "tenant_id": "acme", "id": f"u{i}", "updated_at": "2026-01-01T00:00:00Z", "name": "x"}
    return json.dumps(rec).encode()


GOOD = [good(i) for i in range(50)]
PLAIN = b"\n".join(GOOD) + b"\n"
GZ = gzip.compress(PLAIN)
MEMBERS = gzip.compress(b"\n".join(GOOD[:20]) + b"\n") + gzip.compress(b"\n".join(GOOD[20:]))


def _cases() -> dict[str, tuple[bytes, int, int]]:
    """name -> (body, good lines the reader must keep at least, bad entries expected at least)."""
    nested = b"[" * 100_000 + b"]" * 100_000
    huge = json.dumps({**json.loads(GOOD[0]), "name": "x" * (MAX_LINE_BYTES + 10)}).encode()
    return {
        "plain": (PLAIN, 50, 0),
        "crlf and blank lines": (b"\r\n".join(GOOD) + b"\r\n\r\n\n", 50, 0),
        "no final newline": (b"\n".join(GOOD), 50, 0),
        "deeply nested json": (b"\n".join([*GOOD[:10], nested, *GOOD[10:]]), 50, 1),
        "a huge integer": (b"\n".join([*GOOD[:10], b'{"kind": 1' + b"1" * 5000 + b"}", *GOOD[10:]]), 50, 1),
        "a record over the line cap": (b"\n".join([*GOOD[:10], huge, *GOOD[10:]]), 50, 1),
        "invalid utf-8": (b"\n".join([*GOOD[:10], b"\xff\xfe{", *GOOD[10:]]), 50, 1),
        "gzip": (GZ, 50, 0),
        "two gzip members": (MEMBERS, 50, 0),
        "truncated gzip": (GZ[: len(GZ) // 2], 1, 1),
        "gzip with trailing garbage": (GZ + b"garbage!", 50, 1),
        "corrupt gzip": (GZ[:40] + bytes(b ^ 0x55 for b in GZ[40:80]) + GZ[80:], 0, 1),
        "gzip header only": (GZ[:10], 0, 1),
        "empty": (b"", 0, 0),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_every_line_of_a_hostile_file_is_stored_or_quarantined(stack: Any, name: str) -> None:
    body, kept_at_least, bad_at_least = _cases()[name]
    read = list(read_lines(io.BytesIO(body).read))
    lines_read = sum(1 for x in read if not isinstance(x, Damaged) and (not isinstance(x, bytes) or x.strip()))
    damage = sum(1 for x in read if isinstance(x, Damaged))
    key = upload(stack.store, "acme", "f.jsonl", body)
    event = handlers.s3_event(stack.store.cfg.bucket, key, len(body))
    out = handlers.invoke("ingest", event, handlers.FakeContext("ingest"))["files"][0]
    quarantined = stack.store.list_quarantine("acme")
    assert out["accepted"] + out["rejected"] == lines_read + damage  # every line accounted for
    assert len(quarantined) == out["rejected"]
    assert out["accepted"] >= kept_at_least and out["rejected"] >= bad_at_least, out
    for q in quarantined:
        assert q["reason"] and q["field"] in ("(line)", "(file)", "kind", "name")
    state = stack.store.get_state("acme")
    assert state is None or not (state.inflight.as_dict() if state.inflight else {})  # no block left open


def test_a_gzip_bomb_is_cut_at_the_cap_in_bounded_memory() -> None:
    bomb = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * (1 << 20)
    body = b"".join(bomb.compress(chunk) for _ in range(1024)) + bomb.flush()  # 1 GiB of zeros
    assert len(body) < 2 << 20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    out = list(read_lines(__import__("io").BytesIO(body).read, cap=256 << 20))
    grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert [type(x) for x in out] == [TooLong, Damaged]  # one endless line, then the cap
    assert "exceeds" in out[1].reason  # type: ignore[union-attr]
    assert grew_mb < 64, grew_mb
    print(f"gzip bomb: cut at 256 MiB in {time.monotonic() - started:.1f}s, peak RSS grew {grew_mb:.0f} MB")


def test_line_splitting_is_exact_whatever_the_chunking() -> None:
    from mediana.domain.lines import split_lines

    text = b"a\nbb\r\n\nccc" + b"d" * 20 + b"\ne"
    for size in range(1, len(text) + 1):
        pieces = iter([text[i : i + size] for i in range(0, len(text), size)])
        out = list(split_lines(pieces, max_line=10))
        long = out[3]
        assert out[:3] == [b"a", b"bb", b""] and out[4:] == [b"e"], size
        assert isinstance(long, TooLong) and long.size == 23 and (b"ccc" + b"d" * 20).startswith(long.head), size


def test_the_local_stack_retries_a_failed_object_like_s3_to_lambda(stack: Any, monkeypatch: Any) -> None:
    fn = handlers.function("ingest")
    real, calls = fn.ingest_lines, {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("throttled")
        return real(*args, **kwargs)

    monkeypatch.setattr(fn, "ingest_lines", flaky)
    upload(stack.store, "acme", "f.jsonl", PLAIN)
    assert stack.pump.ingest() == 0  # failed: not marked as seen
    assert stack.pump.ingest() == 1  # retried and ingested
    assert int(stack.store.get_state("acme").next_seq) == 50
