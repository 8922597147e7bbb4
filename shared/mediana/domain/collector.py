"""Holding CPython's cyclic garbage collector off while a batch builds its records.

The collector runs whenever enough containers were allocated, and a full pass walks
every live one. A batch keeps hundreds of thousands of dicts alive (records, worlds,
day cells), so its passes walked them again and again: a fifth of the 365-day full
build in bench/compute.py (3.3 s -> 2.6 s without it). The domain's structures form
no reference cycles -- the whole 365-day build left 694 unreachable objects -- so
nothing waits long for collection: what cycles there are go at the next pass after
the batch, which reference counting does not free anyway.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic collection inside; the collector is as it was after (nested: the outer
    pause holds)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
