"""The folders are the architecture: the domain is pure (no AWS SDK, no storage, services
or metering), and storage never reaches up into the services."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1] / "shared"
FORBIDDEN = {
    "domain": ("boto3", "botocore", "pynamodb", "aws_lambda_powertools", "mediana.storage", "mediana.services",
               "mediana.metering"),
    "storage": ("mediana.services",),
}  # fmt: skip

CHECK = r"""
import importlib, pkgutil, sys
package, forbidden = sys.argv[1], sys.argv[2].split(",")
pkg = importlib.import_module(package)
for info in pkgutil.iter_modules(pkg.__path__):
    importlib.import_module(f"{package}.{info.name}")
loaded = sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in forbidden))
print(",".join(loaded))
"""


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_or_beside_it(layer: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", CHECK, f"mediana.{layer}", ",".join(FORBIDDEN[layer])],
        capture_output=True, text=True, cwd=SHARED, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "", f"mediana.{layer} loads {run.stdout.strip()}"


def test_every_module_lives_in_a_sub_package() -> None:
    top = sorted(p.name for p in (SHARED / "mediana").glob("*.py"))
    assert top == ["__init__.py", "config.py"], top
