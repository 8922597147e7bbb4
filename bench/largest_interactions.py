"""The largest tenant's year of calls and e-mails per contact, synthesised and read as the read
function reads it. These sections keep the contact as a dimension, so a distinct count of any
range is exact; that also means no projection can drop it.

The demo tenant (8.9 k contacts) holds 3.8 k call cells (``cc``) and 23.6 k e-mail cells
(``ec``) in its 365-day buckets. The largest tenant (500 k contacts, 200 advisors) is ~56x that,
so the defaults are ~210 k and ~1.3 M bucket cells. The buckets are written by the writer's
``preset_doc`` and ``blobs.encode``. A child process, after importing what the read function
imports, decodes every bucket through the report's view and builds the unfiltered report.
It prints the stored bytes and parts, the MB and RRU fetched, the seconds and the peak RSS.

Baseline: the same read of the demo tenant's size (``--scale 1``).
Usage: python bench/largest_interactions.py [--scale 56]
"""

from __future__ import annotations

import argparse
import pickle
import random
import subprocess
import sys
import tempfile
import time
from datetime import date

sys.path[:0] = ["shared"]

from mediana.domain.ranges import DateRange  # noqa: E402
from mediana.domain.sections import RangeSummary  # noqa: E402
from mediana.services.preset_items import preset_doc  # noqa: E402
from mediana.storage import blobs  # noqa: E402

BUCKETS = 17
SPAN = DateRange(date(2025, 12, 3), date(2026, 12, 2), "last_365_days")
OWNERS = [*(f"u-{i:03d}" for i in range(200)), None]
# section -> (report, demo's distinct cells, demo's bucket cells per distinct cell)
SECTIONS = {"cc": ("calls-per-contact", 3_761, 1.0), "ec": ("emails-per-contact", 10_221, 2.3)}

READ = """
import pickle, sys, time
sys.path[:0] = ["shared"]
from mediana.services import readapi  # what the read function imports
from mediana.domain.definitions import REPORTS
from mediana.domain.projections import decode_role
from mediana.domain.ranges import DateRange
from mediana.domain.report_values import request_views
from mediana.domain.reports import build_report
from mediana.domain.sections import RangeSummary, add_into
from mediana.metering.capacity import read_units
from mediana.storage import blobs
from datetime import date
def peak_mb():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024
docs, section, report = pickle.load(open(sys.argv[1], "rb")), sys.argv[2], sys.argv[3]
views = request_views(REPORTS[report], {})[section]
base = peak_mb()
t = time.perf_counter()
summary = RangeSummary(section, DateRange(date(2025, 12, 3), date(2026, 12, 2), "last_365_days"))
fetched = sum(len(p) for parts in docs for p in parts)
units = sum(read_units(len(p), consistent=False) for parts in docs for p in parts)
for parts in docs:
    add_into(summary.cur, decode_role(blobs.decode(parts), "cur", views.cur))
values = build_report(report, {section: summary}, {})["values"]
print(f"  read {report}: {len(summary.cur):,} cells summed in {time.perf_counter() - t:.2f} s; "
      f"{fetched / 1e6:.2f} MB in {units:,.0f} RRU; RSS {base:.0f} MB before, peak {peak_mb():.0f} MB")
"""


def cells_of(section: str, distinct: int, spread: float, seed: int = 5) -> list[dict[tuple[object, ...], int]]:
    rng = random.Random(seed)
    contacts = max(1, round(distinct / 1.1))
    out: list[dict[tuple[object, ...], int]] = [{} for _ in range(BUCKETS)]
    for _ in range(distinct):
        contact = f"ct-{rng.randrange(contacts)}"
        if section == "cc":
            key: tuple[object, ...] = (
                rng.choice(OWNERS),
                rng.choice(["prequalification", "negotiation", "first_contact", "demo", "closing", None]),
                rng.choice(["answered", "no_answer", "busy", "rejected", "voicemail", "failed"]),
                contact,
            )
        else:
            key = (rng.choice(OWNERS), rng.choice("ca"), contact)
        spread_to = max(1, min(BUCKETS, round(rng.expovariate(1 / spread)) or 1))
        for b in rng.sample(range(BUCKETS), spread_to):
            out[b][key] = out[b].get(key, 0) + rng.randint(1, 3)
    return out


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--scale", type=float, default=56.0, help="x the demo tenant (500 k contacts: 56)")
    args = cli.parse_args()
    for section, (report, demo_distinct, spread) in SECTIONS.items():
        made = cells_of(section, round(demo_distinct * args.scale), spread)
        started = time.perf_counter()
        docs = [
            blobs.encode(preset_doc(("last_365_days", section, b), RangeSummary(section, SPAN, counter, {}), SPAN.end))
            for b, counter in enumerate(made)
        ]
        written = time.perf_counter() - started
        stored = sum(len(p) for parts in docs for p in parts)
        print(f"{section}: {sum(map(len, made)):,} bucket cells ({len(set().union(*made)):,} distinct), "
              f"{stored / 1e6:.2f} MB in {sum(map(len, docs))} parts, written in {written:.1f} s")  # fmt: skip
        with tempfile.NamedTemporaryFile(suffix=".pkl") as f:
            pickle.dump(docs, f)
            f.flush()
            subprocess.run([sys.executable, "-c", READ, f.name, section, report], check=True)


if __name__ == "__main__":
    main()
