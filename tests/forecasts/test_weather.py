"""Reading weather forecasts and series (forecasts.weather, forecasts.series): every error names what is wrong."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasts.series import read_series, resample_mean
from forecasts.weather import kasten_czeplak_clear_sky_index, read_weather, weather_for_day
from vpp.errors import CaseError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def hourly_csv(rows: int = 24, start: str = "2026-07-15T00:00:00+08:00", cols: str = "ghi,temp_air,wind_speed") -> str:
    ts = pd.date_range(start, periods=rows, freq="h")
    lines = ["timestamp," + cols]
    for i, t in enumerate(ts):
        lines.append(f"{t.isoformat()},{max(0, 800 - abs(i - 12) * 130)},{25 + i % 5},{2.0}")
    return "\n".join(lines) + "\n"


def test_reads_csv_with_aliases_and_defaults(tmp_path):
    w = read_weather(write(tmp_path, "w.csv", hourly_csv()))
    assert list(w.columns) == ["ghi_w_per_m2", "temp_air_c", "wind_speed_m_per_s"]
    assert w.attrs["step_minutes"] == 60 and w.attrs["irradiance"] == "ghi"
    assert str(w.index.tz) in ("UTC+08:00", "pytz.FixedOffset(480)") or w.index.utcoffset is not None
    only_cloud = "timestamp,cloud_cover\n" + "\n".join(
        f"{t.isoformat()},50" for t in pd.date_range("2026-07-15T00:00+08:00", periods=96, freq="15min")
    )
    w2 = read_weather(write(tmp_path, "c.csv", only_cloud))
    assert w2.attrs["irradiance"] == "cloud_cover" and w2.attrs["step_minutes"] == 15
    assert w2.attrs["defaults"] == ["temp_air_c=20", "wind_speed_m_per_s=1"]
    assert (w2["temp_air_c"] == 20).all()


def test_reads_json_records_and_columns(tmp_path):
    ts = [t.isoformat() for t in pd.date_range("2026-07-15T00:00+08:00", periods=48, freq="30min")]
    records = [{"timestamp": t, "ghi_w_per_m2": 100.0} for t in ts]
    a = read_weather(write(tmp_path, "r.json", json.dumps(records)))
    b = read_weather(write(tmp_path, "c.json", json.dumps({"data": {"time": ts, "ghi": [100.0] * 48}})))
    assert a.attrs["step_minutes"] == 30 and np.allclose(a["ghi_w_per_m2"], b["ghi_w_per_m2"])


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (hourly_csv(cols="temp_air,wind_speed,x").replace(",2.0", ",2.0,1"), "w.csv", r"missing column: expected irradiance as ghi_w_per_m2"),
        (hourly_csv().replace("2026-07-15T03:00:00+08:00", "2026-07-15T01:00:00+08:00"), r"w.csv: row 4", r"timestamps must increase"),
        (hourly_csv().replace("+08:00", ""), "w.csv", r"timestamps have no time zone"),
        (
            "timestamp,ghi\n" + "\n".join(f"{t.isoformat()},1" for t in pd.date_range("2026-07-15T00:00+08:00", periods=10, freq="20min")),
            "w.csv",
            r"wrong resolution: a step of 20 min; expected one of 15 min, 30 min, 60 min",
        ),
        (hourly_csv().replace(",25,", ",abc,", 1), r"column 'temp_air', row 1", r"expected a number, got 'abc'"),
        (hourly_csv().replace(",25,", ",2500,", 1), r"column 'temp_air', row 1", r"2500 is outside \[-60, 60\]"),
        (hourly_csv().replace("2026-07-15T05:00:00+08:00,", "2026-07-15T07:00:00+08:00,").replace("2026-07-15T06:00:00+08:00,", "2026-07-15T08:00:00+08:00,", 1), r"row", r"timestamps must increase|gap in the forecast"),
        ("timestamp,ghi\nyesterday,1\n2026-07-15T01:00+08:00,2\n", r"w.csv: row 1", r"cannot read timestamp 'yesterday'"),
    ],
)
def test_bad_weather_files_name_the_problem(tmp_path, text, where, message):
    with pytest.raises(CaseError, match=message) as info:
        read_weather(write(tmp_path, "w.csv", text))
    assert any(re.search(where, p.path) for p in info.value.problems)
    assert "reading the weather file w.csv" in str(info.value)


def test_gap_in_the_forecast(tmp_path):
    text = hourly_csv()
    lines = text.splitlines()
    del lines[6]  # 05:00 missing: a two-hour gap in hourly data
    with pytest.raises(CaseError, match=r"gap in the forecast after 2026-07-15T04:00:00\+08:00"):
        read_weather(write(tmp_path, "w.csv", "\n".join(lines)))


def test_no_file_and_empty_file(tmp_path):
    with pytest.raises(CaseError, match="no such file"):
        read_weather(tmp_path / "missing.csv")
    with pytest.raises(CaseError, match="cannot parse the file|holds no rows"):
        read_weather(write(tmp_path, "e.csv", ""))


def test_weather_must_cover_the_day(tmp_path):
    w = read_weather(write(tmp_path, "w.csv", hourly_csv(rows=20)))
    with pytest.raises(CaseError, match=r"the day 2026-07-15 needs 2026-07-15T00:00:00\+08:00 to 2026-07-16T00:00:00\+08:00"):
        weather_for_day(w, "2026-07-15", "Asia/Shanghai")
    full = read_weather(write(tmp_path, "f.csv", hourly_csv(rows=48, start="2026-07-14T12:00:00+08:00")))
    assert len(weather_for_day(full, pd.Timestamp("2026-07-15").date(), "Asia/Shanghai")) == 24


def test_kasten_czeplak():
    # 1 − 0.75 (N/8)^3.4: clear sky 1, overcast 0.25, half covered 1 − 0.75 · 0.5^3.4 = 0.9290.
    assert np.allclose(kasten_czeplak_clear_sky_index([0, 100, 50]), [1.0, 0.25, 1 - 0.75 * 0.5**3.4])
    assert kasten_czeplak_clear_sky_index([50])[0] == pytest.approx(0.9290, abs=1e-4)


# -- generic series -------------------------------------------------------------------


def series_csv(n: int = 96 * 3, freq: str = "15min", tz: str = "+08:00") -> str:
    ts = pd.date_range("2025-03-01", periods=n, freq=freq)
    return "timestamp,load_mw\n" + "\n".join(f"{t.isoformat()}{tz},{100 + i % 96}" for i, t in enumerate(ts)) + "\n"


def test_read_series_gaps_become_missing(tmp_path):
    lines = series_csv().splitlines()
    del lines[10:14]  # an hour missing
    s = read_series(write(tmp_path, "s.csv", "\n".join(lines)))
    assert len(s) == 96 * 3 and s.isna().sum() == 4 and s.attrs["step_minutes"] == 15
    assert s.name == "load_mw"


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        (series_csv().replace("timestamp,load_mw", "timestamp,load_mw,extra").replace("\n2025", ",1\n2025"), {}, "expected one timestamp column and one value column, found value columns"),
        (series_csv(tz=""), {}, r"timestamps have no time zone .*\(--timezone Asia/Shanghai\)"),
        (series_csv().replace(",100\n", ",lots\n", 1), {}, r"s.csv: column 'load_mw', row 1: expected a number, got 'lots'"),
        (series_csv().replace("2025-03-01T00:15:00+08:00", "2025-03-01T00:00:00+08:00"), {}, r"timestamps must increase: .* repeats"),
        (series_csv().replace("2025-03-01T00:45:00+08:00", "2025-03-01T00:55:00+08:00"), {}, r"s.csv: row 4: irregular time step: 25 min after the previous row, which is not a whole number of the 15-min step"),
        (series_csv(), {"value_column": "pv_mw"}, r"no value column 'pv_mw'"),
        ("when,load\n2025-03-01T00:00+08:00,1\n2025-03-01T00:15+08:00,2\n", {}, r"no timestamp column"),
    ],
)
def test_bad_series_csv(tmp_path, text, kwargs, message):
    with pytest.raises(CaseError, match=message):
        read_series(write(tmp_path, "s.csv", text), **kwargs)


def test_naive_timestamps_with_a_zone_and_resampling(tmp_path):
    s = read_series(write(tmp_path, "s.csv", series_csv(tz="")), timezone="Asia/Shanghai")
    assert str(s.index.tz) == "Asia/Shanghai"
    hourly = resample_mean(s, "1h")
    assert len(hourly) == 72 and hourly.iloc[0] == pytest.approx(101.5)  # mean of 100..103
    with pytest.raises(ValueError, match="cannot make 15-min values from 60-min data"):
        resample_mean(hourly, "15min")


def test_repair_for_backtests(tmp_path):
    lines = series_csv(n=96 * 2, tz="").splitlines()
    body = lines[1:]
    body[5], body[6] = body[6], body[5]  # out of order
    body.insert(10, body[9])  # a repeated hour (daylight saving in local wall-clock data)
    path = write(tmp_path, "s.csv", "\n".join([lines[0], *body]))
    with pytest.raises(CaseError):
        read_series(path)
    s = read_series(path, repair=True)
    assert len(s) == 96 * 2 and s.index.is_monotonic_increasing and not s.index.has_duplicates
    assert s.attrs["repairs"] == [
        "timestamps without a time zone taken as wall-clock times",
        "rows sorted by time",
        "1 repeated timestamps averaged",
    ]
    assert s.iloc[5] == 105 and s.iloc[6] == 106


def test_the_only_numeric_column_is_the_value(tmp_path):
    text = series_csv().replace("timestamp,load_mw", "timestamp,site,load_mw").replace("+08:00,", "+08:00,A1,")
    s = read_series(write(tmp_path, "s.csv", text))
    assert s.name == "load_mw" and s.iloc[1] == 101
