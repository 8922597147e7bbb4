"""Progress bars for the local stack's long steps. They poll the tenants' state (the log's
end and the aggregation cursor) from a thread, so the handlers stay exactly as deployed."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from tqdm import tqdm


class FoldProgress:
    """Records stored in the tenants' logs and records folded into reports, as two bars."""

    def __init__(self, store: Any, tenants: list[str], lines: int | None = None, every_s: float = 0.5) -> None:
        self.store, self.tenants, self.every_s = store, tenants, every_s
        self.stored = tqdm(total=lines, desc="stored ", unit=" rec", leave=True) if lines else None
        self.folded = tqdm(total=None, desc="folded ", unit=" rec", leave=True)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def update(self) -> None:
        states = [self.store.get_state(t) for t in self.tenants]
        stored = sum(int(s.next_seq or 0) for s in states if s)
        folded = sum(min(int(s.cursor or 0), int(s.next_seq or 0)) for s in states if s)
        if self.stored is not None:
            self.stored.n = min(stored, self.stored.total or stored)
            self.stored.refresh()
        self.folded.total = max(stored, 1)
        self.folded.n = folded
        self.folded.refresh()

    def _poll(self) -> None:
        while not self.stop.wait(self.every_s):
            try:
                self.update()
            except Exception:  # noqa: BLE001, S112 - a missed frame of a progress bar is harmless
                continue

    def __enter__(self) -> FoldProgress:
        self.thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop.set()
        self.thread.join()
        if kind is None:
            self.update()
        for bar in (self.stored, self.folded):
            if bar is not None:
                bar.close()
