"""Reading and checking time series: one timestamp column and one value column.

Pure functions, pandas in and out. Every problem in an input file is reported as
a :class:`vpp.errors.CaseError` whose :class:`~vpp.errors.Problem` names the
file, the column or the row and what was expected, so the CLI prints it and
exits 2.

Conventions (the same as the case's): a timestamp marks the *start* of the
interval its value is the mean over; timestamps carry their time zone (an ISO
8601 UTC offset such as ``+08:00``) or a zone is given explicitly; steps are
regular (gaps are allowed and become missing values, the step is not).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vpp.errors import CaseError, Problem

TIMESTAMP_NAMES = ("timestamp", "time", "datetime", "date_time", "measured_on", "ds", "date")
"""Column names taken as the timestamp column, in this order of preference."""

RESOLUTIONS = {"15min": 15, "30min": 30, "1h": 60, "60min": 60, "h": 60}
"""Resolution names accepted on the command line → step [min]."""


def _fail(what: str, message: str, step: str) -> CaseError:
    return CaseError([Problem(what, message)], step=step)


def read_table(source: str | Path | pd.DataFrame, *, what: str = "series") -> tuple[pd.DataFrame, str]:
    """A raw table from a CSV (``.csv``, ``.csv.gz``), a JSON file or a DataFrame; and its name.

    JSON may be a list of records (``[{"timestamp": ..., "ghi": ...}, ...]``),
    a mapping of columns (``{"timestamp": [...], "ghi": [...]}``) or either of
    those under a ``"data"`` key.
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
            frame = frame.reset_index()
        return frame, f"the {what} DataFrame"
    path = Path(source)
    name = path.name
    step = f"reading the {what} file {name}"
    if not path.is_file():
        raise _fail(name, f"no such file: {str(path)!r}", step)
    suffixes = [s.lower() for s in path.suffixes]
    try:
        if ".json" in suffixes:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and "data" in data and isinstance(data["data"], (list, dict)):
                data = data["data"]
            if not isinstance(data, (list, dict)):
                raise _fail(name, "expected a list of records or a mapping of columns", step)
            frame = pd.DataFrame(data)
        else:
            frame = pd.read_csv(path, compression="infer", skiprows=_leading_comment_lines(path))
    except CaseError:
        raise
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _fail(name, f"cannot parse the file: {first}", step) from None
    if frame.empty:
        raise _fail(name, "the file holds no rows", step)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, name


def _leading_comment_lines(path: Path) -> int:
    """Number of lines starting with '#' at the top of a (possibly gzipped) CSV: a header note."""
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    count = 0
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            count += 1
    return count


def find_timestamp_column(frame: pd.DataFrame, name: str, step: str, column: str | None = None) -> str:
    """The timestamp column: ``column`` if given, else the first of :data:`TIMESTAMP_NAMES` present."""
    if column is not None:
        if column not in frame.columns:
            raise _fail(name, f"no timestamp column {column!r}; the columns are {list(frame.columns)}", step)
        return column
    lower = {c.lower(): c for c in frame.columns}
    for candidate in TIMESTAMP_NAMES:
        if candidate in lower:
            return lower[candidate]
    first = frame.columns[0]
    if first == "" or first.startswith("Unnamed"):
        return first  # an index written without a name (pandas' to_csv)
    raise _fail(
        name,
        f"no timestamp column: expected one named {' or '.join(TIMESTAMP_NAMES[:3])} "
        f"(ISO 8601 with UTC offset, e.g. 2026-07-15T00:00:00+08:00); the columns are {list(frame.columns)}",
        step,
    )


def parse_timestamps(
    values: pd.Series, name: str, step: str, *, timezone: str | None = None, naive_ok: bool = False,
    check_order: bool = True,
) -> pd.DatetimeIndex:
    """Timestamps from strings: tz-aware, increasing, no duplicates.

    Naive timestamps are an error unless ``timezone`` is given (then they are
    local time in that zone) or ``naive_ok`` (then they are wall-clock times,
    kept as such under a UTC label). A row that does not parse is named.
    """
    raw = values.astype("string")
    parsed = None
    for kwargs in ({"format": "ISO8601"}, {"format": "ISO8601", "utc": True}, {"format": "mixed"}):
        try:
            parsed = pd.to_datetime(raw, **kwargs)
            break
        except (ValueError, TypeError, OverflowError):
            continue
    if parsed is None:
        # Name the first row that is not a timestamp at all, else it is a mix of naive and aware ones.
        for i, v in enumerate(raw):
            try:
                pd.Timestamp(v)
            except (ValueError, TypeError):
                raise _fail(
                    f"{name}: row {i + 1}",
                    f"cannot read timestamp {v!r}: expected ISO 8601 such as 2026-07-15T00:00:00+08:00",
                    step,
                ) from None
        raise _fail(
            name,
            "some timestamps have a UTC offset and some do not: write every one as ISO 8601 with its offset",
            step,
        )
    if parsed.isna().any():
        i = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise _fail(f"{name}: row {i + 1}", "missing timestamp", step)
    idx = pd.DatetimeIndex(parsed)
    if idx.tz is None and timezone is None and naive_ok:
        idx = idx.tz_localize("UTC")
    if idx.tz is None:
        if timezone is None:
            raise _fail(
                name,
                f"timestamps have no time zone (e.g. {raw.iloc[0]!r}): write them as ISO 8601 with the "
                "UTC offset, e.g. 2026-07-15T00:00:00+08:00, or give the zone (--timezone Asia/Shanghai)",
                step,
            )
        try:
            idx = idx.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
        except Exception as exc:  # unknown zone name
            raise _fail(name, f"cannot use time zone {timezone!r}: {exc}", step) from None
        if idx.isna().any():
            i = int(np.flatnonzero(idx.isna())[0])
            raise _fail(
                f"{name}: row {i + 1}",
                f"local time {raw.iloc[i]!r} does not exist or is ambiguous in {timezone} (daylight saving): "
                "write timestamps with their UTC offset",
                step,
            )
    diffs = np.asarray((idx[1:] - idx[:-1]) / pd.Timedelta(seconds=1), dtype=float)
    if check_order and len(diffs) and (diffs <= 0).any():
        i = int(np.flatnonzero(diffs <= 0)[0])
        kind = "repeats" if diffs[i] == 0 else "is before"
        raise _fail(
            f"{name}: row {i + 2}",
            f"timestamps must increase: {raw.iloc[i + 1]!r} {kind} the previous row's {raw.iloc[i]!r}",
            step,
        )
    return idx


def infer_step_minutes(idx: pd.DatetimeIndex, name: str, step: str, allowed: tuple[int, ...] | None = None) -> int:
    """The regular step [min] of increasing timestamps; gaps of whole steps are allowed.

    The step is the most common spacing; every spacing must be a whole number of it,
    and with ``allowed`` it must be one of those.
    """
    if len(idx) < 2:
        raise _fail(name, "need at least two rows to know the time step", step)
    minutes = np.asarray((idx[1:] - idx[:-1]) / pd.Timedelta(minutes=1), dtype=float)
    values, counts = np.unique(np.round(minutes, 6), return_counts=True)
    base = float(values[np.argmax(counts)])  # the most common spacing is the step
    ratio = minutes / base
    off = (np.abs(ratio - np.round(ratio)) > 1e-6) | (ratio < 1 - 1e-9)
    if off.any() or base != round(base):
        i = int(np.flatnonzero(off)[0]) if off.any() else 0
        raise _fail(
            f"{name}: row {i + 2}",
            f"irregular time step: {minutes[i]:g} min after the previous row, which is not a whole "
            f"number of the {base:g}-min step",
            step,
        )
    b = int(round(base))
    if allowed is not None and b not in allowed:
        raise _fail(
            name,
            f"wrong resolution: a step of {b} min; expected one of {', '.join(f'{a} min' for a in allowed)}",
            step,
        )
    if 1440 % b:
        raise _fail(name, f"the step of {b} min does not divide a day", step)
    return b


def numeric_column(frame: pd.DataFrame, column: str, name: str, step: str) -> np.ndarray:
    """A column as floats; empty cells become NaN, anything else that is not a number is named."""
    col = frame[column]
    values = pd.to_numeric(col, errors="coerce")
    bad = values.isna() & col.notna() & (col.astype("string").str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise _fail(f"{name}: column {column!r}, row {i + 1}", f"expected a number, got {col.iloc[i]!r}", step)
    return values.to_numpy(dtype=float)


def read_series(
    source: str | Path | pd.DataFrame | pd.Series,
    *,
    value_column: str | None = None,
    timestamp_column: str | None = None,
    prefer: tuple[str, ...] = (),
    timezone: str | None = None,
    what: str = "series",
    repair: bool = False,
) -> pd.Series:
    """A regular, tz-aware series from a file with one timestamp column and one value column.

    With more value columns, ``value_column`` names the one to use; else the
    first of ``prefer`` present is used (e.g. ``load_mw``), or the only numeric one. Missing timestamps
    (gaps) come back as NaN on the regular grid; the series' ``name`` is the
    value column and ``attrs["source"]`` says where it came from.

    With ``repair`` (for backtests on whatever series a user has) timestamps
    without a zone are taken as wall-clock times, rows out of order are sorted
    and repeated timestamps (a daylight-saving hour) averaged; ``attrs["repairs"]``
    lists what was done. Without it each of those is an error.
    """
    if isinstance(source, pd.Series):
        frame = source.rename(source.name or "value").reset_index()
        frame.columns = ["timestamp", str(source.name or "value")]
        name = f"the {what}"
    else:
        frame, name = read_table(source, what=what)
    step = f"reading {name}" if name.startswith("the ") else f"reading the {what} file {name}"
    ts_col = find_timestamp_column(frame, name, step, timestamp_column)
    others = [c for c in frame.columns if c != ts_col]
    if value_column is not None:
        if value_column not in others:
            raise _fail(name, f"no value column {value_column!r}; the columns are {list(frame.columns)}", step)
        col = value_column
    elif len(others) == 1:
        col = others[0]
    else:
        preferred = [c for c in prefer if c in others]
        numeric = [c for c in others if pd.to_numeric(frame[c], errors="coerce").notna().mean() > 0.5]
        if not preferred and len(numeric) == 1:
            preferred = numeric  # the one numeric column beside labels (a site id, a unit, …)
        if not preferred:
            raise _fail(
                name,
                f"expected one timestamp column and one value column, found value columns {others}: "
                "name the one to use (--column NAME)",
                step,
            )
        col = preferred[0]
    idx = parse_timestamps(frame[ts_col], name, step, timezone=timezone, naive_ok=repair, check_order=not repair)
    values = numeric_column(frame, col, name, step)
    if np.isnan(values).all():
        raise _fail(f"{name}: column {col!r}", "no numbers in the value column", step)
    repairs: list[str] = []
    if repair:
        if str(idx.tz) == "UTC" and timezone is None and not _has_offsets(frame[ts_col]):
            repairs.append("timestamps without a time zone taken as wall-clock times")
        raw = pd.Series(values, index=idx)
        if not raw.index.is_monotonic_increasing:
            repairs.append("rows sorted by time")
            raw = raw.sort_index(kind="stable")
        if raw.index.has_duplicates:
            repairs.append(f"{int(raw.index.duplicated().sum())} repeated timestamps averaged")
            raw = raw.groupby(level=0).mean()
        idx, values = pd.DatetimeIndex(raw.index), raw.to_numpy()
    minutes = infer_step_minutes(idx, name, step)
    series = pd.Series(values, index=idx, name=col)
    series.attrs["repairs"] = repairs
    full = pd.date_range(idx[0], idx[-1], freq=pd.Timedelta(minutes=minutes))
    series = series.reindex(full)
    series.index.name = "timestamp"
    series.attrs["source"] = name if isinstance(source, (pd.Series, pd.DataFrame)) else str(source)
    series.attrs["step_minutes"] = minutes
    return series


def _has_offsets(values: pd.Series) -> bool:
    first = str(values.iloc[0])
    return first.endswith("Z") or bool(re.search(r"[+-]\d\d:?\d\d$", first))


def resample_mean(series: pd.Series, resolution: str | int | None) -> pd.Series:
    """The series at a coarser regular step (mean of each interval; NaN where over half of it is missing).

    ``resolution`` is one of :data:`RESOLUTIONS` or minutes; None keeps the series.
    Making a finer step than the data's is an error.
    """
    if resolution is None:
        return series
    if isinstance(resolution, str):
        if resolution not in RESOLUTIONS:
            raise ValueError(f"unknown resolution {resolution!r}: expected one of 15min, 30min, 1h")
        minutes = RESOLUTIONS[resolution]
    else:
        minutes = int(resolution)
    native = step_of(series)
    if minutes == native:
        return series
    if minutes < native or minutes % native:
        raise ValueError(
            f"cannot make {minutes}-min values from {native}-min data: choose a multiple of {native} min"
        )
    rule = pd.Timedelta(minutes=minutes)
    grouped = series.resample(rule, origin="start_day")
    out = grouped.mean().where(grouped.count() * 2 >= minutes // native)
    out.attrs = dict(series.attrs, step_minutes=minutes)
    out.name = series.name
    return out


def step_of(series: pd.Series | pd.DataFrame) -> int:
    """Step [min] of a regular series (from ``attrs`` or its index)."""
    if "step_minutes" in series.attrs:
        return int(series.attrs["step_minutes"])
    idx = pd.DatetimeIndex(series.index)
    if len(idx) < 2:
        raise ValueError("cannot infer the step of a series with fewer than two values")
    return int(round((idx[1] - idx[0]) / pd.Timedelta(minutes=1)))


def to_csv_text(frame: pd.DataFrame) -> str:
    """A frame as CSV text with ISO 8601 timestamps (UTC offset kept)."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False, date_format="%Y-%m-%dT%H:%M:%S%z")
    return buf.getvalue()
