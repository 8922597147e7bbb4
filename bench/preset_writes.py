"""Preset and day-document bytes a busy day's deltas rewrite, on the domain alone: preset day
buckets against whole presets, and today's day documents (section by section) against the others.

The busy demo tenant's last 24 hours arrive as 96 quarter-hour slices over its history (as in
costs.py); each slice is folded, and the preset items it changes are encoded as stored
(compressed JSON, rounded up to 1 KB a write: DynamoDB's WRU). Baseline: the same presets as
one item each (the layout before day buckets), i.e. every changed preset rewritten whole.
Usage: python bench/preset_writes.py [history_days] [contacts_per_day] [--last-24h]
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter

sys.path[:0] = ["shared", "cli"]

from mediana.domain.batch import compute_batch, merge_days, tenant_timezone  # noqa: E402
from mediana.domain.cells import encode_counter  # noqa: E402
from mediana.domain.contrib import contributions  # noqa: E402
from mediana.domain.presets import build_presets, merged, update_presets  # noqa: E402
from mediana.domain.records import parse_record  # noqa: E402
from mediana.domain.timeutil import local_today  # noqa: E402
from mediana.domain.world import LoadedState  # noqa: E402
from mediana.services.preset_items import preset_doc  # noqa: E402
from mediana.storage import blobs  # noqa: E402
from mediana_cli.demo import end_of_local_day, generate, write_jsonl  # noqa: E402

SLICES = 96


def _written(doc: dict[str, object]) -> tuple[int, int]:
    """The WRU and the bytes of one stored item (its parts)."""
    parts = blobs.encode(doc)
    return sum(-(-len(part) // 1024) for part in parts), sum(map(len, parts))


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    history = int(args[0]) if args else 365
    per_day = float(args[1]) if len(args) > 1 else 30.0
    # the busy tenant's whole local today, as in costs.py (or, with --last-24h, the last 24 hours:
    # after the tenant's midnight that is mostly yesterday, the catch-up after an outage)
    end = None if "--last-24h" in sys.argv else end_of_local_day("busy", 3)
    cutoff = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((end.timestamp() + 1 if end else time.time()) - 86400))
    raw = [json.loads(line) for line in write_jsonl(generate("busy", history + 1, 3, per_day, now=end))]
    stamped = []
    for seq, item in enumerate(raw, start=1):
        rec = parse_record(item, "busy")
        assert isinstance(rec, dict)
        stamped.append((item["updated_at"], {**rec, "seq": seq}))
    old = [r for at, r in stamped if at < cutoff]
    day = [r for at, r in sorted((x for x in stamped if x[0] >= cutoff), key=lambda x: x[0])]
    state = LoadedState()
    compute_batch(old, state, "UTC")
    tz = tenant_timezone(state)
    days = merge_days({}, contributions(state.worlds.values(), tz))
    today = local_today(tz)
    buckets = build_presets(today, days, apart=today)
    written: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    per_slice = len(day) // SLICES + 1
    for i in range(SLICES):
        chunk = day[i * per_slice : (i + 1) * per_slice]
        if not chunk:
            continue
        delta = compute_batch(chunk, state, tz).day_delta
        new_days = merge_days(days, delta)
        days.update(new_days)
        for (section, day_key), cells in new_days.items():  # the day documents this slice rewrites
            units, size = _written({"cells": encode_counter(cells)})
            names = ["day docs, today (all)", f"day docs, today: {section}"]
            for name in names if day_key == today.isoformat() else ["day docs, other days"]:
                written[name] += units
                sizes[name] += size
        changed = update_presets(buckets, delta, apart=today)
        whole = merged(buckets)
        presets = {key[:2] for key in changed}
        for name, docs in (
            ("buckets", [preset_doc(key, buckets[key], today) for key in changed]),
            ("whole presets (baseline)", [preset_doc((p, s, None), whole[(p, s)], today) for p, s in presets]),
        ):
            for doc in docs:
                units, size = _written(doc)
                written[name] += units
                sizes[name] += size
    print(f"busy tenant, {history}-day history, {len(day)} lines in {SLICES} slices of ~{per_slice}:")
    for name, units in sorted(written.items()):
        kb = sizes[name] / SLICES / 1024
        print(f"  {name:<28} {units / SLICES:6.1f} WRU, {kb:6.1f} KB written a quarter-hour")
    ratio = written["whole presets (baseline)"] / max(written["buckets"], 1)
    print(f"buckets write {ratio:.1f}x less than whole presets")


if __name__ == "__main__":
    main()
