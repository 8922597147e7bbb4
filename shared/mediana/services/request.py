"""What a read request may ask: its parameters checked (a 400 that names the one refused,
never a 500) and its conditional headers. Plain functions, shared by the API routes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from mediana.domain.definitions import FILTERS, REPORTS
from mediana.domain.ranges import RangeError, resolve_range
from mediana.domain.records import CALL_OUTCOMES, CHANNELS

RANGE_PARAMS = ("range", "from", "to")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.parameter = status, code, message, parameter

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.parameter:
            err["parameter"] = self.parameter
        return {"error": err}


def bad_param(name: str, message: str) -> ApiError:
    return ApiError(400, "invalid_parameter", f"{name}: {message}", name)


def parse_query(report_id: str, query: Mapping[str, list[str]]) -> tuple[dict[str, str | None], dict[str, list[str]]]:
    """Validate parameters: (range params, filters). Repeated values and comma
    lists are equivalent (HTTP API joins repeated parameters with commas)."""
    report = REPORTS[report_id]
    ranges: dict[str, str | None] = dict.fromkeys(RANGE_PARAMS)
    filters: dict[str, list[str]] = {}
    for name, values in query.items():
        flat = [v.strip() for value in values for v in value.split(",")]
        if name in RANGE_PARAMS:
            if len(flat) != 1 or not flat[0]:
                raise bad_param(name, "give exactly one value")
            ranges[name] = flat[0]
        elif name in FILTERS:
            if name not in report.filters:
                allowed = ", ".join(report.filters) or "none"
                raise bad_param(name, f"not a filter of {report_id} (its filters: {allowed})")
            if any(not v for v in flat):
                raise bad_param(name, "empty value")
            if name == "channel":
                unknown = [v for v in flat if v not in CHANNELS and v != "none"]
                if unknown:
                    raise bad_param(name, f"unknown channel {unknown[0]!r}; expected one of {', '.join(CHANNELS)}")
            if name == "outcome":
                unknown = [v for v in flat if v not in CALL_OUTCOMES and v != "none"]
                if unknown:
                    raise bad_param(name, f"unknown outcome {unknown[0]!r}; expected one of {', '.join(CALL_OUTCOMES)}")
            filters[name] = flat
        else:
            raise bad_param(name, "unknown parameter")
    try:
        resolve_range(date(2000, 1, 1), ranges["range"], ranges["from"], ranges["to"], report.default_range)
    except RangeError as exc:
        raise bad_param(exc.param, str(exc)) from None
    return ranges, filters


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 13.1.2: ``*`` or any listed tag equal to ``etag`` by weak comparison
    (``W/"x"`` matches ``"x"``), whatever the spacing around the commas."""
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    if "*" in tags:
        return True
    opaque = etag.removeprefix("W/")
    return any(t.removeprefix("W/") == opaque for t in tags if t)


def only_params(query: Mapping[str, Any] | None, *allowed: str) -> None:
    """A parameter this route does not take is a 400 naming it, never silently ignored."""
    for name in query or {}:
        if name not in allowed:
            expected = ", ".join(allowed) or "none"
            raise bad_param(name, f"unknown parameter (this route takes: {expected})")
