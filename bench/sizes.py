"""Each function's unzipped size against Lambda's 250 MB limit (code + all its layers).

Reads `sam build`'s output (.aws-sam/build, `make sizes` builds it first). The managed pandas
layer is not built here: its size is estimated from PyPI's arm64 wheels of the pandas, numpy and
pyarrow it ships (downloaded once into .mediana/wheels). An estimate, not a bound: the real layer
adds awswrangler and its drivers but builds pyarrow without Flight/Gandiva and strips it.
Baseline: the 250 MB (262,144,000 bytes) limit on a function plus its layers, unzipped.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from mediana_cli.lambda_env import functions
from mediana_cli.template import ROOT

LIMIT = 262_144_000
BUILD = ROOT / ".aws-sam" / "build"
WHEELS = ROOT / ".mediana" / "wheels"


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _managed_pandas_bytes() -> int:
    pins = [ln for ln in (ROOT / "layers" / "managed-pandas.txt").read_text().splitlines() if ln and ln[0] != "#"]
    WHEELS.mkdir(parents=True, exist_ok=True)
    platforms = ["--platform", "manylinux_2_28_aarch64", "--platform", "manylinux2014_aarch64"]
    target = ["--python-version", "3.12", "--implementation", "cp", "--only-binary=:all:", "--no-deps"]
    pip = str(ROOT / ".venv-uv" / "bin" / "pip")
    subprocess.run([pip, "download", "--quiet", *platforms, *target, "-d", str(WHEELS), *pins], check=True)
    names = {p.split("==")[0] for p in pins}
    return sum(
        sum(i.file_size for i in zipfile.ZipFile(w).infolist() if "/tests/" not in i.filename)
        for w in WHEELS.glob("*.whl")
        if w.name.split("-")[0].lower() in names
    )


def main() -> None:
    if not BUILD.exists():
        raise SystemExit("no .aws-sam/build: run `make sizes` (it runs sam build first)")
    pandas = _managed_pandas_bytes()
    print(f"{'function':<20}{'code':>9}{'layers':>10}{'total MB':>10}{'of 250 MB':>11}")
    for function in functions():
        code = _tree_bytes(BUILD / function.name)
        layers = 0
        for layer in function.layers:
            ref = layer.get("Ref") if isinstance(layer, dict) else None
            layers += _tree_bytes(BUILD / ref) if ref and (BUILD / ref).exists() else pandas
        total = code + layers
        print(f"{function.name:<20}{code / 1e6:>8.2f}M{layers / 1e6:>9.1f}M{total / 1e6:>10.1f}{total / LIMIT:>10.0%}")
    print(f"(managed pandas layer estimated at {pandas / 1e6:.0f} MB from the pandas+numpy+pyarrow wheels)")


if __name__ == "__main__":
    main()
