"""A large tenant's presets rebuilt from its day documents, as the writer does at a full build
and at a day roll (``presets_to_write``): cell by cell (``build_presets`` then each bucket's
``to_doc``: the baseline, the writer before domain/preset_frames.py) and vectorised
(``encoded_presets``), both then made items by ``preset_doc`` (projections included).

The day documents are synthesised: two years of the response-time section (the largest by
far) with the largest tenant's dimensions (6 origins, 11 groups, 4 channels, 200 advisors,
whole seconds), ``cells`` distinct cells a day. Each path runs in a child process that loads
the same pickled documents; it prints seconds and the peak memory above the documents'.
Usage: python bench/preset_rebuild.py [cells-a-day]   (default 5,000: ~3.7 M day cells)
"""

from __future__ import annotations

import pickle
import random
import subprocess
import sys
import tempfile
from datetime import date, timedelta

sys.path[:0] = ["shared"]

TODAY = date(2026, 12, 2)
DAYS = 730  # the 365-day preset's range and its previous period
ORIGINS = ["facebook_ads", "web_form", "instagram", "referral", "google_ads", "unknown"]
GROUPS = [*(f"g-{i}" for i in range(10)), None]
CHANNELS = ["whatsapp", "messenger", "instagram", "email"]
AUTHORS = [f"u-{i:03d}" for i in range(200)]

CHILD = """
import pickle, sys, time
from datetime import date
sys.path[:0] = ["shared"]
from mediana.domain.collector import collector_paused
from mediana.domain.preset_frames import encoded_presets
from mediana.domain.presets import build_presets
from mediana.services.preset_items import preset_doc
def rss_mb(field):
    return int(next(l for l in open("/proc/self/status") if l.startswith(field)).split()[1]) / 1024
days = pickle.load(open(sys.argv[1], "rb"))
today = date.fromisoformat(sys.argv[3])
loaded = rss_mb("VmRSS")
with collector_paused():  # as the aggregator runs a batch
    t = time.perf_counter()
    if sys.argv[2] == "cell by cell":
        built = build_presets(today, days, apart=today)
    else:
        built = encoded_presets(today, days)
    summed = time.perf_counter() - t
    docs = [preset_doc(key, summary, today) for key, summary in built.items()]
    total = time.perf_counter() - t
cells = sum(len(d["cur"]["counts"]) if isinstance(d["cur"], dict) else len(d["cur"]) for d in docs)
print(f"{total:.2f} {summed:.2f} {rss_mb('VmHWM') - loaded:.0f} {len(docs)} {cells}")
"""


def synthesise(cells_a_day: int, seed: int = 11) -> dict[tuple[str, str], dict[tuple[object, ...], int]]:
    rng = random.Random(seed)
    days = {}
    for back in range(1, DAYS + 1):  # today is kept apart: its cells are in no preset
        cells: dict[tuple[object, ...], int] = {}
        while len(cells) < cells_a_day:
            seconds = int(rng.expovariate(1 / 300))
            key = (rng.choice(ORIGINS), rng.choice(GROUPS), rng.choice(CHANNELS), rng.choice(AUTHORS), seconds)
            cells[key] = cells.get(key, 0) + rng.randint(1, 3)
        days[("rt", (TODAY - timedelta(days=back)).isoformat())] = cells
    return days


def main() -> None:
    cells_a_day = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    days = synthesise(cells_a_day)
    print(f"response-time day documents: {len(days)} days, {sum(map(len, days.values())):,} cells")
    with tempfile.NamedTemporaryFile(suffix=".pkl") as f:
        pickle.dump(days, f)
        f.flush()
        del days
        results = {}
        for how in ("cell by cell", "vectorised"):
            out = subprocess.run(
                [sys.executable, "-c", CHILD, f.name, how, TODAY.isoformat()],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            total, summed, peak, items, cells = float(out[0]), float(out[1]), float(out[2]), out[3], int(out[4])
            results[how] = total
            print(
                f"{how:<13} {total:6.2f} s (to the summaries {summed:.2f} s, then preset_doc), peak +{peak:.0f} MB, "
                f"{items} items, {cells:,} stored cells (projections aside)"
            )
    print(f"vectorised: {results['cell by cell'] / results['vectorised']:.1f}x faster than the baseline")


if __name__ == "__main__":
    main()
