"""The largest tenant's 365-day response-time preset, synthesised and read as the read
function reads it: ~1.7 M distinct cells (6 origins, 11 groups, 4 channels, 200 advisors,
whole seconds), each in 2 or 3 of 17 day buckets (~3.9 M bucket cells, the ~2.3x of
bench/README.md's *Scale*), stored with the real encoder and parts. A child process then
decodes every bucket and sums them into one summary and builds the report, as ``readapi``
does, after importing what the read function imports: through the report's view (only the
seconds, or an advisor's cells, are built) and whole (as before views). Prints stored
bytes, parts, seconds and peak RSS: as the writer stores them now (columns, with the
projections of domain/projections.py in part 0, storage/blobs.py), as columns alone (before
projections), and as rows (the baseline: how counters were stored before domain/cells.py).
Read units are DynamoDB's for eventually consistent reads of the parts fetched.
Usage: python bench/largest_preset.py [cells]   (default 1,700,000; ~2 GB and a few minutes)
"""

from __future__ import annotations

import pickle
import random
import subprocess
import sys
import tempfile
import time
from datetime import date

sys.path[:0] = ["shared"]

from mediana.domain.cells import encode_counter  # noqa: E402
from mediana.domain.ranges import DateRange  # noqa: E402
from mediana.domain.sections import RangeSummary  # noqa: E402
from mediana.services.preset_items import preset_doc  # noqa: E402
from mediana.storage import blobs  # noqa: E402

ORIGINS = ["facebook_ads", "web_form", "instagram", "referral", "google_ads", "unknown"]
GROUPS = [*(f"g-{i}" for i in range(10)), None]
CHANNELS = ["whatsapp", "messenger", "instagram", "email"]
AUTHORS = [f"u-{i:03d}" for i in range(200)]
BUCKETS = 17
SPAN = DateRange(date(2025, 12, 3), date(2026, 12, 2), "last_365_days")

READ = """
import pickle, sys, time
from datetime import date
sys.path[:0] = ["shared"]
from mediana.services.readapi import _heads_enough  # what the read function imports, and its own test
from mediana.domain.cells import decode_counter
from mediana.domain.definitions import REPORTS
from mediana.domain.projections import decode_role
from mediana.metering.capacity import read_units
from mediana.domain.ranges import DateRange
from mediana.domain.report_values import request_views
from mediana.domain.reports import build_report
from mediana.domain.sections import RangeSummary, add_into
from mediana.storage import blobs
def peak_mb():  # this process's own peak (ru_maxrss would carry the parent's across exec)
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
    return int(line.split()[1]) / 1024
docs = pickle.load(open(sys.argv[1], "rb"))
how = sys.argv[2]
filters = {"owner": ["u-007"]} if how == "one advisor" else {}
views = request_views(REPORTS["response-time"], filters)["rt"]
view = views.cur if how != "whole" else None
base = peak_mb()
t = time.perf_counter()
summary = RangeSummary("rt", DateRange(date(2025, 12, 3), date(2026, 12, 2), "last_365_days"))
fetched = units = 0.0
while docs:  # as readapi does: part 0 alone when its head answers the request (storage/blobs)
    parts = docs.pop()
    head = blobs.decode_head(parts[0]) if view is not None else None
    if head is not None and _heads_enough({"rt": views})(head):
        doc, parts = head, parts[:1]
    else:
        doc = blobs.decode(parts)
    fetched += sum(map(len, parts))
    units += sum(read_units(len(part), consistent=False) for part in parts)
    add_into(summary.cur, decode_role(doc, "cur", view))
values = build_report("response-time", {"rt": summary}, filters)["values"]
seconds = time.perf_counter() - t
print(f"  read, {how}: {len(summary.cur):,} cells summed, median {values['median_seconds']} s of "
      f"{values['count']:,} in {seconds:.2f} s; {fetched / 1e6:.2f} MB in {units:,.0f} RRU fetched; "
      f"RSS {base:.0f} MB before, peak {peak_mb():.0f} MB")
"""
# how the read function decodes: through the report's view (the unfiltered report, and one
# filtered to an advisor: from a projection where one serves), and whole, as it did before
# views (report_values.section_view)
READS = {
    "columns + projections (now)": ("unfiltered", "one advisor"),
    "columns (before projections)": ("unfiltered", "one advisor", "whole"),
    "rows (baseline)": ("whole",),
}


def buckets(cells: int) -> list[dict[tuple[object, ...], int]]:
    rng = random.Random(1)
    out: list[dict[tuple[object, ...], int]] = [{} for _ in range(BUCKETS)]
    for _ in range(cells):
        key = (rng.choice(ORIGINS), rng.choice(GROUPS), rng.choice(CHANNELS), rng.choice(AUTHORS),
               int(rng.expovariate(1 / 900)))  # fmt: skip
        for b in rng.sample(range(BUCKETS), 2 if rng.random() < 0.7 else 3):
            out[b][key] = out[b].get(key, 0) + rng.randint(1, 3)
    return out


def main() -> None:
    cells = int(sys.argv[1]) if len(sys.argv) > 1 else 1_700_000
    made = buckets(cells)
    print(f"{len(set().union(*made)):,} distinct cells, {sum(map(len, made)):,} in {BUCKETS} buckets")
    for form in READS:
        docs = []
        started = time.perf_counter()
        for b, counter in enumerate(made):
            if "projections (now)" in form:  # the writer's own item
                summary = RangeSummary("rt", SPAN, counter, {})
                docs.append(blobs.encode(preset_doc(("last_365_days", "rt", b), summary, SPAN.end)))
                continue
            cur = [[*k, v] for k, v in counter.items()] if form.startswith("rows") else encode_counter(counter)
            doc = {"section": "rt", "from": "2025-12-03", "to": "2026-12-02", "preset": "last_365_days", "bucket": b}
            docs.append(blobs.encode({**doc, "cur": cur, "prev": []}))
        stored = sum(len(part) for parts in docs for part in parts)
        written = time.perf_counter() - started
        print(f"{form}: {stored / 1e6:.2f} MB stored in {sum(map(len, docs))} parts, encoded in {written:.1f} s")
        with tempfile.NamedTemporaryFile(suffix=".pkl") as f:
            pickle.dump(docs, f)
            f.flush()
            del docs
            for how in READS[form]:
                subprocess.run([sys.executable, "-c", READ, f.name, how], check=True)


if __name__ == "__main__":
    main()
