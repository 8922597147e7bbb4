"""Cold-start import cost of each function, loaded the way Lambda loads it.

Baseline: a bare ``import boto3`` in the same Lambda-like path (python -S, the runtime's
SDK) -- what any Python function pays. Each function's handler import is timed in fresh
processes, alternating with the baseline so both see the same machine; the figure is the
ratio of medians (goal for the read API: <= 2x).
Usage: python bench/cold_start.py [runs]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from mediana_cli.lambda_env import build_layers, functions, import_path, run_python

TIME_IMPORT = r"""
import time
t = time.perf_counter()
__import__(sys.argv[1])
print((time.perf_counter() - t) * 1000)
"""


def _ms(module: str, path: list[str], env: dict[str, str]) -> float:
    run = run_python(TIME_IMPORT, path, env, [module])
    if run.returncode != 0:
        raise SystemExit(f"importing {module} failed:\n{run.stderr[-1500:]}")
    return float(run.stdout.strip().splitlines()[-1])


def main(runs: int = 15) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        built = build_layers(Path(tmp))
        print(f"{'function':<20}{'import ms':>10}{'boto3 ms':>10}{'ratio':>7}   ({runs} runs each, medians)")
        for function in functions():
            path = import_path(function, built)
            module = function.handler.rsplit(".", 1)[0]
            own, base = [], []
            for _ in range(runs):
                base.append(_ms("boto3", path, function.environment))
                own.append(_ms(module, path, function.environment))
            mine, bare = statistics.median(own), statistics.median(base)
            print(f"{function.name:<20}{mine:>10.0f}{bare:>10.0f}{mine / bare:>6.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
