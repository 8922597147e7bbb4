"""Every report's preset read on a JSONL tenant, on the domain alone: the stored preset
buckets (compressed, in parts) decoded and summed and the report built, through the
report's views (and a large counter's stored projection, domain/projections.py) as the read
function does, against the baseline of decoding every section whole, and against the views
without projections. Checks that all three give the same answer. Best of 5 per report, one core.
Usage: python bench/read_reports.py FILE --tenant T [--range last_365_days]
  (a file: .venv/bin/mediana demo-data --tenant acme --days 365 > acme-365.jsonl)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path[:0] = ["shared", "bench"]

from compute import _stages  # noqa: E402 - the aggregator's compute, storage left out
from mediana.domain.cells import decode_counter  # noqa: E402
from mediana.domain.collector import collector_paused  # noqa: E402
from mediana.domain.definitions import REPORTS  # noqa: E402
from mediana.domain.projections import STORED  # noqa: E402
from mediana.domain.report_values import SectionViews, request_views  # noqa: E402
from mediana.domain.reports import build_report  # noqa: E402
from mediana.domain.sections import RangeSummary  # noqa: E402
from mediana.services.readapi import _with_day_apart  # noqa: E402 - the read function's own summing
from mediana.storage import blobs  # noqa: E402


def read(report_id: str, stored: dict[str, list[list[bytes]]], span: Any, views: dict[str, SectionViews]) -> Any:
    """What ``readapi.get_report`` does with a preset's stored buckets (its day apart not stored here)."""
    today = span.end
    summaries = {
        s: _with_day_apart(s, span, today, [blobs.decode(parts) for parts in buckets], {}, "", views[s])
        for s, buckets in stored.items()
    }
    return build_report(report_id, summaries, {})


def best(runs: int, fn: Any) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("file", type=Path)
    cli.add_argument("--tenant", required=True)
    cli.add_argument("--range", default="last_365_days")
    args = cli.parse_args()
    with collector_paused():
        *_, docs = _stages(args.file.read_bytes().splitlines(), args.tenant, {})
    by_section: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        if doc["preset"] == args.range:
            by_section.setdefault(doc["section"], []).append(doc)
    print(f"{'report':<24}{'whole':>10}{'views':>10}{'+proj.':>10}   cells whole -> through views")
    total_whole = total_views = total_projected = 0.0
    for report_id, report in REPORTS.items():
        chosen = {s: sorted(by_section[s], key=lambda d: d.get("bucket") or 0) for s in report.sections}
        span = RangeSummary.from_doc(chosen[report.sections[0]][0]).span
        stored = {s: [blobs.encode(d) for d in found] for s, found in chosen.items()}
        plain = {s: [blobs.encode(_without_projections(d)) for d in found] for s, found in chosen.items()}
        views = request_views(report, {})
        unviewed = {s: SectionViews(None, None, None) for s in report.sections}  # the baseline: decoded whole
        answer = read(report_id, stored, span, views)
        assert answer == read(report_id, stored, span, unviewed) == read(report_id, plain, span, views), report_id
        whole = best(5, lambda: read(report_id, stored, span, unviewed))  # noqa: B023 - called at once
        viewed = best(5, lambda: read(report_id, plain, span, views))  # noqa: B023
        projected = best(5, lambda: read(report_id, stored, span, views))  # noqa: B023
        cells = sum(len(decode_counter(d["cur"])) for found in chosen.values() for d in found)
        seen = sum(len(decode_counter(d["cur"], views[s].cur)) for s, found in chosen.items() for d in found)
        total_whole, total_views = total_whole + whole, total_views + viewed
        total_projected += projected
        print(f"{report_id:<24}{whole * 1000:>8.1f}ms{viewed * 1000:>8.1f}ms{projected * 1000:>8.1f}ms   "
              f"{cells:,} -> {seen:,}")  # fmt: skip
    print(f"{'all twelve':<24}{total_whole * 1000:>8.1f}ms{total_views * 1000:>8.1f}ms{total_projected * 1000:>8.1f}ms"
          "   (same answers)")  # fmt: skip


def _without_projections(doc: dict[str, Any]) -> dict[str, Any]:
    """A bucket as written before domain/projections.py: its counters alone."""
    return {key: value for key, value in doc.items() if key not in STORED.values()}


if __name__ == "__main__":
    main()
