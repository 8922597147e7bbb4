"""What a set of contacts contributes to each day's sections (pandas, vectorised).

The world of a contact (its record, conversations, messages and interactions) is
the unit of recomputation: every conversation-report number hangs off exactly one
contact, so a delta only needs the worlds of the contacts it touches, and
``contributions(new) - contributions(old)`` is the exact change to the day
documents. Nothing here touches AWS.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mediana.domain.sections import ALL_DAYS, Counter
from mediana.domain.timeutil import NS_PER_SECOND

World = dict[str, Any]
DayKey = tuple[str, str]  # (section, local date ISO)
Contributions = dict[DayKey, Counter]

_NS = NS_PER_SECOND


def empty_world() -> World:
    return {"contact": None, "convs": {}, "msgs": {}, "ints": {}}


def live_contact(world: Mapping[str, Any]) -> dict[str, Any] | None:
    contact = world.get("contact")
    if contact is None or contact.get("erased"):
        return None
    return contact


def _frames(worlds: Iterable[Mapping[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    contacts: list[tuple[Any, ...]] = []
    convs: list[tuple[Any, ...]] = []
    msgs: list[tuple[Any, ...]] = []
    ints: list[tuple[Any, ...]] = []
    for world in worlds:
        contact = live_contact(world)
        if contact is None:
            continue  # missing parent, or erased: the whole world counts nowhere
        cid = contact["id"]
        contacts.append(
            (
                cid,
                contact["created_at"],
                contact.get("origin") or "unknown",
                contact.get("entry_group_id"),
                contact.get("group_id"),
                contact.get("owner_id"),
                contact.get("deleted_at") is not None,
            )
        )
        for vid, cv in world["convs"].items():
            if not cv.get("erased"):
                convs.append(
                    (
                        vid,
                        cid,
                        cv["created_at"],
                        cv.get("closed_at"),
                        cv["channel"],
                        cv.get("group_id"),
                        cv.get("owner_id"),
                    )
                )
        for mid, m in world["msgs"].items():
            if not m.get("erased"):
                msgs.append(
                    (mid, m["conversation_id"], m["created_at"], m["direction"], m["author_type"], m.get("author_id"))
                )
        for it in world["ints"].values():
            if not it.get("erased"):
                duration = it.get("duration_seconds")
                ints.append(
                    (
                        cid,
                        it["occurred_at"],
                        it["type"],
                        it.get("owner_id"),
                        it.get("call_type"),
                        it.get("outcome"),
                        -1 if duration is None else round(duration * 1000),
                    )
                )
    return (
        _table(contacts, ["cid", "created", "origin", "entry_group", "group", "owner", "deleted"]),
        # an optional instant: nullable integers, never float64 (2**53 ns is only ~104 days)
        _table(convs, ["vid", "cid", "created", "closed", "channel", "group", "owner"], nullable_int="closed"),
        _table(msgs, ["mid", "vid", "created", "direction", "author_type", "author"]),
        _table(ints, ["cid", "at", "type", "owner", "call_type", "outcome", "ms"]),
    )


def _table(rows: list[tuple[Any, ...]], columns: list[str], nullable_int: str | None = None) -> pd.DataFrame:
    """Rows as the frame pandas would infer from them (text as its Arrow-backed strings,
    integers, booleans, all-null columns as objects), built by Arrow from the columns:
    a third of the time pandas takes to infer and convert the same rows."""
    if not rows:
        return pd.DataFrame(rows, columns=columns)
    values = dict(zip(columns, zip(*rows, strict=True), strict=True))
    frame = pa.table({name: pa.array(col) for name, col in values.items() if name != nullable_int}).to_pandas()
    if nullable_int:
        frame.insert(columns.index(nullable_int), nullable_int, pd.array(values[nullable_int], dtype="Int64"))
    return frame


def _local_day_hour(ns: pd.Series, tz: str) -> tuple[np.ndarray, np.ndarray]:
    """Local calendar day (datetime64[D]) and hour of each instant, DST-aware."""
    local = pd.to_datetime(ns.astype("int64"), unit="ns", utc=True).dt.tz_convert(tz).dt.tz_localize(None)
    return local.to_numpy().astype("datetime64[D]"), local.dt.hour.to_numpy()


def _emit(
    out: Contributions,
    section: str,
    df: pd.DataFrame,
    dims: list[str],
    value: str | None = None,
    day_key: str | None = None,
) -> None:
    """Group rows by (day, dims) and add counts (or sums of ``value``) into ``out``.
    With ``day_key`` every row goes to that one document (a cumulative section).

    Each column is factorised once (a missing value gets a code of its own: None in the
    cell key), the rows sorted by their codes, and each run of equal codes is a cell:
    integer work only, where a pandas groupby on text columns first turned each of them
    into Python objects and its result index back into lists."""
    if df.empty:
        return
    cols = dims if day_key else ["day", *dims]
    codes, uniques = [], []
    for col in cols:
        code, unique = pd.factorize(df[col], use_na_sentinel=False)
        codes.append(code)
        uniques.append(np.array(_python_values(unique), dtype=object))
    order = np.lexsort(codes[::-1])  # by the first column, then the next...
    ranked = [code[order] for code in codes]
    starts = np.zeros(len(order), dtype=bool)
    starts[0] = True
    for code in ranked:
        starts[1:] |= code[1:] != code[:-1]
    first = np.flatnonzero(starts)
    if value:
        totals = np.add.reduceat(df[value].to_numpy(dtype=np.int64)[order], first)
    else:
        totals = np.diff(np.append(first, len(order)))
    kept = totals != 0
    first, counts = first[kept], totals[kept].tolist()  # Python ints
    if not counts:
        return
    levels = [unique[code[first]].tolist() for unique, code in zip(uniques, ranked, strict=True)]
    if day_key:
        cells = out.setdefault((section, day_key), {})
        for key, count in zip(zip(*levels, strict=True), counts, strict=True):
            cells[key] = cells.get(key, 0) + count
        return
    keys = list(zip(*levels[1:], strict=True)) if dims else [()] * len(counts)
    days = ranked[0][first]  # sorted by day first: each day's cells are one run
    bounds = [0, *(np.flatnonzero(days[1:] != days[:-1]) + 1).tolist(), len(counts)]
    for start, end in itertools.pairwise(bounds):
        cells = out.setdefault((section, levels[0][start]), {})
        run = zip(keys[start:end], counts[start:end], strict=True)
        if cells.keys().isdisjoint(keys[start:end]):
            cells.update(run)
        else:
            for key, count in run:
                cells[key] = cells.get(key, 0) + count


def _python_values(unique: Any) -> list[Any]:
    """The distinct values of one key column as the Python values cells hold: ISO dates
    for days, ints for numbers, None for a missing value."""
    values = unique.to_numpy() if isinstance(unique, pd.Index) else np.asarray(unique)
    if values.dtype.kind == "M":
        return np.datetime_as_string(values.astype("datetime64[D]"), unit="D").tolist()
    if values.dtype.kind in "iub":
        return values.tolist()
    return [None if v is None or (type(v) is float and v != v) else v for v in values.tolist()]


def _response_samples(msgs: pd.DataFrame) -> pd.DataFrame:
    """Per conversation, the first inbound after the last advisor reply starts a
    wait; the next advisor outbound ends it. Bots and system messages are ignored.

    In (conversation, created, id) order a conversation's messages fall into runs,
    each ending at an advisor reply: a reply is a sample when its run starts with an
    inbound, and that inbound (the run's earliest) started the wait. Arrow sorts the
    text keys; the runs are integer work."""
    relevant = msgs[(msgs["direction"] == "inbound") | (msgs["author_type"] == "advisor")]
    keys = pa.Table.from_pandas(relevant[["vid", "created", "mid"]], preserve_index=False)
    by = [("vid", "ascending"), ("created", "ascending"), ("mid", "ascending")]
    order = pc.sort_indices(keys, sort_keys=by)  # type: ignore[attr-defined]  # made at import: no stub
    relevant = relevant.take(order.to_numpy())
    n = len(relevant)
    is_reply = (relevant["author_type"] == "advisor").to_numpy(dtype=bool)
    vid = pd.factorize(relevant["vid"])[0]
    run_starts = np.ones(n, dtype=bool)
    run_starts[1:] = (vid[1:] != vid[:-1]) | is_reply[:-1]  # a new conversation, or the row after a reply
    run_first = np.maximum.accumulate(np.where(run_starts, np.arange(n), 0))
    sample = is_reply & ~is_reply[run_first]
    created = relevant["created"].to_numpy(dtype=np.int64)
    waited = np.maximum(created[sample] - created[run_first[sample]], 0) // _NS
    return relevant[sample].assign(seconds=waited)


def contributions(worlds: Iterable[Mapping[str, Any]], tz: str) -> Contributions:
    """Every (section, local day) counter these contacts contribute to."""
    return frame_contributions(*_frames(worlds), tz)


def frame_contributions(
    contacts: pd.DataFrame, convs: pd.DataFrame, msgs: pd.DataFrame, ints: pd.DataFrame, tz: str
) -> Contributions:
    """``contributions`` of the live records as frames (the columns ``_frames`` builds):
    the one place the figures are defined, whatever holds the records."""
    out: Contributions = {}
    if contacts.empty:
        return out
    calls = ints[(ints["type"] == "call_log") & ints["owner"].notna() & ints["outcome"].isin(["answered", "rejected"])]
    contacts = contacts.set_index("cid", drop=False)
    convs = convs.join(contacts[["origin"]], on="cid")
    msgs = msgs.merge(convs[["vid", "cid", "group", "channel", "origin"]], on="vid", how="inner")

    # first effective contact: an advisor's outbound message or a qualifying call
    advisor = msgs[msgs["author_type"] == "advisor"].groupby("cid")["created"].min()
    first = pd.concat([advisor, calls.groupby("cid")["at"].min()]).groupby(level=0).min().astype("Int64")
    contacts = contacts.assign(first=first.reindex(contacts.index))  # indexed by cid
    contacts["day"], _ = _local_day_hour(contacts["created"], tz)
    responded = contacts["first"].notna()
    contacts["frt"] = ((contacts["first"] - contacts["created"]).clip(lower=0) // _NS).astype("Int64")

    _emit(out, "nc", contacts.assign(metric="n"), ["origin", "entry_group", "metric"])
    _emit(out, "nc", contacts[~responded].assign(metric="p"), ["origin", "entry_group", "metric"])
    answered = contacts[responded]
    _emit(out, "frt", answered.assign(seconds=answered["frt"].astype("int64")), ["origin", "entry_group", "seconds"])

    kept = contacts[~contacts["deleted"]]
    resolved = convs[convs["closed"].notna()].groupby("cid").size()
    _emit(out, "org", kept.assign(metric="c"), ["origin", "group", "metric"])
    _emit(out, "org", kept[kept["first"].notna()].assign(metric="ct"), ["origin", "group", "metric"])
    _emit(
        out,
        "org",
        kept.assign(metric="r", n=kept["cid"].map(resolved).fillna(0).astype("int64")),
        ["origin", "group", "metric"],
        value="n",
    )
    _emit(out, "org", contacts[contacts["deleted"]].assign(metric="d"), ["origin", "group", "metric"])

    if not convs.empty:
        convs["day"], convs["hour"] = _local_day_hour(convs["created"], tz)
        _emit(out, "cv", convs, ["origin", "group", "channel", "owner", "hour"])
        closed = convs[convs["closed"].notna()].copy()
        if not closed.empty:
            closed["day"], _ = _local_day_hour(closed["closed"], tz)
            _emit(out, "cl", closed, ["origin", "group", "channel", "owner"])

    if not msgs.empty:
        samples = _response_samples(msgs)
        if not samples.empty:
            samples["day"], _ = _local_day_hour(samples["created"], tz)
            _emit(out, "rt", samples, ["origin", "group", "channel", "author", "seconds"])

    _interactions(out, ints, tz)
    owned = contacts[~contacts["deleted"]]
    if not owned.empty:
        # cumulative section: one document, the creation date is its first dimension
        created = np.datetime_as_string(owned["day"].to_numpy().astype("datetime64[D]"), unit="D")
        _emit(out, "own", owned.assign(created=created), ["created", "owner"], day_key=ALL_DAYS)
    return out


def _interactions(out: Contributions, ints: pd.DataFrame, tz: str) -> None:
    """Interaction counts, call durations, and (owner, contact) cells for distinct counts."""
    if ints.empty:
        return
    ints = ints.assign(day=_local_day_hour(ints["at"], tz)[0])
    _emit(out, "it", ints.assign(metric="n"), ["owner", "type", "call_type", "outcome", "metric"])
    calls = ints[ints["type"] == "call_log"]
    timed = calls[calls["ms"] >= 0]
    _emit(out, "it", timed.assign(metric="t"), ["owner", "type", "call_type", "outcome", "metric"])
    _emit(out, "it", timed.assign(metric="ms"), ["owner", "type", "call_type", "outcome", "metric"], value="ms")
    _emit(out, "cc", calls.rename(columns={"cid": "contact"}), ["owner", "call_type", "outcome", "contact"])
    mails = ints[ints["type"].isin(["campaign_email", "automation_email"])]
    mails = mails.assign(kind=mails["type"].str[0], contact=mails["cid"])
    _emit(out, "ec", mails, ["owner", "kind", "contact"])


def subtract(new: Contributions, old: Contributions) -> Contributions:
    """new - old, per (section, day), without zero cells or empty days."""
    delta: Contributions = {}
    for key in new.keys() | old.keys():
        cells = dict(new.get(key, {}))
        for k, v in old.get(key, {}).items():
            total = cells.get(k, 0) - v
            if total:
                cells[k] = total
            else:
                cells.pop(k, None)
        if cells:
            delta[key] = cells
    return delta
