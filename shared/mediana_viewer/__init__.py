"""The report viewer: static files (plain ES modules, no build step) that use only the public
API, served by the read function at ``/`` and ``/viewer/<file>`` (same origin as the API, so no
CORS and no second deployment to keep in step). Only the files in this folder are served."""

from __future__ import annotations

from functools import cache
from pathlib import Path

HERE = Path(__file__).parent
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css"}


@cache
def asset(name: str) -> tuple[bytes, str] | None:
    """A file's bytes and content type, or None for anything not shipped here."""
    if "/" in name or name.startswith(".") or Path(name).suffix not in TYPES:
        return None
    path = HERE / name
    return (path.read_bytes(), TYPES[path.suffix]) if path.is_file() else None
