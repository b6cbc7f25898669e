"""Weather forecasts for PV: reading, checking and putting them on the case's grid.

A weather forecast is a table with a timestamp column (ISO 8601 with UTC offset;
the start of the interval each value is the mean over) at a regular step of
15, 30 or 60 minutes, and these columns (names in brackets are accepted too):

==========================  =========  ===============================================
column                      unit       meaning
==========================  =========  ===============================================
``ghi_w_per_m2`` (ghi)      [W/m2]     global horizontal irradiance, interval mean
``cloud_cover_pct``         [%]        total cloud cover 0–100 (cloud_cover, tcc); used
                                       when there is no GHI (Kasten–Czeplak 1980)
``temp_air_c`` (temp_air)   [°C]       air temperature at 2 m (temperature, t2m)
``wind_speed_m_per_s``      [m/s]      wind speed at 10 m (wind_speed, ws)
==========================  =========  ===============================================

One of GHI and cloud cover is required; temperature and wind are optional
(:data:`DEFAULT_TEMP_AIR_C` and :data:`DEFAULT_WIND_M_PER_S` are used without
them, and the result says so). Every problem is a :class:`vpp.errors.CaseError`
naming the column or row and what was expected.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from forecasts.series import (
    find_timestamp_column,
    infer_step_minutes,
    numeric_column,
    parse_timestamps,
    read_table,
)
from vpp.errors import CaseError, Problem

COLUMNS: dict[str, tuple[str, ...]] = {
    "ghi_w_per_m2": ("ghi_w_per_m2", "ghi", "ghi_w_m2", "global_horizontal"),
    "cloud_cover_pct": ("cloud_cover_pct", "cloud_cover", "tcc", "cloudcover"),
    "temp_air_c": ("temp_air_c", "temp_air", "temperature", "t2m", "air_temperature"),
    "wind_speed_m_per_s": ("wind_speed_m_per_s", "wind_speed", "ws", "wind"),
}
"""Canonical column → the names accepted for it (case-insensitive)."""

RANGES: dict[str, tuple[float, float]] = {
    "ghi_w_per_m2": (0.0, 1500.0),
    "cloud_cover_pct": (0.0, 100.0),
    "temp_air_c": (-60.0, 60.0),
    "wind_speed_m_per_s": (0.0, 75.0),
}
"""Plausible values [unit of the column]; anything outside is an error (a unit mix-up)."""

WEATHER_STEPS_MIN = (15, 30, 60)
DEFAULT_TEMP_AIR_C = 20.0
"""Air temperature used when a weather forecast has none [°C] ([assumed])."""
DEFAULT_WIND_M_PER_S = 1.0
"""Wind speed used when a weather forecast has none [m/s] ([assumed], conservative for cooling)."""


def read_weather(source: str | Path | pd.DataFrame, *, timestamp_column: str | None = None) -> pd.DataFrame:
    """A checked weather forecast: tz-aware regular index, canonical columns (see the module doc).

    ``attrs``: ``source`` (file name), ``step_minutes``, ``irradiance`` ('ghi' or
    'cloud_cover'), ``defaults`` (columns filled with a default).
    """
    frame, name = read_table(source, what="weather")
    step = f"reading the weather {'file ' + name if not name.startswith('the ') else 'DataFrame'}"
    ts_col = find_timestamp_column(frame, name, step, timestamp_column)
    lower = {c.lower(): c for c in frame.columns if c != ts_col}
    found: dict[str, str] = {}
    for canonical, names in COLUMNS.items():
        for n in names:
            if n in lower:
                found[canonical] = lower[n]
                break
    if "ghi_w_per_m2" not in found and "cloud_cover_pct" not in found:
        raise CaseError(
            [
                Problem(
                    name,
                    "missing column: expected irradiance as ghi_w_per_m2 (or ghi) [W/m2], or cloud "
                    f"cover as cloud_cover_pct (or cloud_cover) [%]; the columns are {list(frame.columns)}",
                )
            ],
            step=step,
        )
    idx = parse_timestamps(frame[ts_col], name, step)
    minutes = infer_step_minutes(idx, name, step, allowed=WEATHER_STEPS_MIN)
    gaps = np.flatnonzero(np.asarray((idx[1:] - idx[:-1]) != pd.Timedelta(minutes=minutes)))
    if len(gaps):
        i = int(gaps[0])
        raise CaseError(
            [Problem(f"{name}: row {i + 2}", f"gap in the forecast after {idx[i].isoformat()}: expected a row every {minutes} min")],
            step=step,
        )
    out = pd.DataFrame(index=idx)
    out.index.name = "timestamp"
    problems: list[Problem] = []
    for canonical, col in found.items():
        values = numeric_column(frame, col, name, step)
        lo, hi = RANGES[canonical]
        nan = np.isnan(values)
        if nan.any():
            i = int(np.flatnonzero(nan)[0])
            problems.append(Problem(f"{name}: column {col!r}, row {i + 1}", "missing value"))
            continue
        bad = (values < lo) | (values > hi)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            problems.append(
                Problem(
                    f"{name}: column {col!r}, row {i + 1}",
                    f"{values[i]:g} is outside [{lo:g}, {hi:g}] {canonical.rsplit('_', 1)[-1] if canonical != 'ghi_w_per_m2' else 'W/m2'}"
                    f" (expected {canonical})",
                )
            )
            continue
        out[canonical] = values
    if problems:
        raise CaseError(problems, step=step)
    defaults = []
    if "temp_air_c" not in out:
        out["temp_air_c"] = DEFAULT_TEMP_AIR_C
        defaults.append(f"temp_air_c={DEFAULT_TEMP_AIR_C:g}")
    if "wind_speed_m_per_s" not in out:
        out["wind_speed_m_per_s"] = DEFAULT_WIND_M_PER_S
        defaults.append(f"wind_speed_m_per_s={DEFAULT_WIND_M_PER_S:g}")
    out.attrs.update(
        source=name,
        step_minutes=minutes,
        irradiance="ghi" if "ghi_w_per_m2" in out else "cloud_cover",
        defaults=defaults,
    )
    return out


def weather_for_day(weather: pd.DataFrame, day: date | datetime | str, timezone: str) -> pd.DataFrame:
    """The rows of a checked forecast that cover local ``day`` (00:00–24:00 in ``timezone``).

    Raises CaseError when the forecast does not cover the whole day.
    """
    d = pd.Timestamp(day).date() if not isinstance(day, date) else day
    start = pd.Timestamp(d).tz_localize(timezone)
    end = start + pd.Timedelta(days=1)
    step_min = int(weather.attrs.get("step_minutes", 60))
    interval_end = weather.index + pd.Timedelta(minutes=step_min)
    covered = weather.index.min() <= start and interval_end.max() >= end
    if not covered:
        raise CaseError(
            [
                Problem(
                    str(weather.attrs.get("source", "weather")),
                    f"the forecast covers {weather.index.min().isoformat()} to {interval_end.max().isoformat()}; "
                    f"the day {d.isoformat()} needs {start.isoformat()} to {end.isoformat()}",
                )
            ],
            step="matching the weather forecast to the day",
        )
    rows = weather[(interval_end > start) & (weather.index < end)]
    out = rows.copy()
    out.attrs = dict(weather.attrs)
    return out


def kasten_czeplak_clear_sky_index(cloud_cover_pct: np.ndarray | pd.Series) -> np.ndarray:
    """GHI / clear-sky GHI [-] from total cloud cover [%]: 1 − 0.75 (N/8 oktas)^3.4 (Kasten & Czeplak, 1980)."""
    n = np.clip(np.asarray(cloud_cover_pct, dtype=float) / 100.0, 0.0, 1.0)
    return 1.0 - 0.75 * n**3.4
