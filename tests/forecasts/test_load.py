"""District load profile (forecasts.load): yearly energy, shape, working-day calendar."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from forecasts.load import district_load_mw, is_working_day, seasonal_factor

PEAK = 500.0  # MW: the case's inflexible peak [assumed]


def day(
    d: str, freq: str = "15min", periods: int = 96, tz: str = "Asia/Shanghai"
) -> pd.DatetimeIndex:
    return pd.date_range(d, periods=periods, freq=freq, tz=tz)


def daily_mwh(d: str) -> float:
    return float(district_load_mw(day(d), PEAK).sum() / 4)


def test_year_is_about_3_4_twh_with_peak_500():
    year = day("2025-01-01", "h", 8760)
    load = district_load_mw(year, PEAK)
    assert load.sum() == pytest.approx(3.4e6, rel=0.05)  # MWh: 3.4 TWh ± 5%
    assert PEAK * 0.98 <= load.max() <= PEAK * (1 + 1e-9)
    # Continuous processes: never below 0.7 p.u. of the season's plateau; the year's load factor ≈ 0.78.
    assert load.min() >= 0.7 * PEAK * seasonal_factor(100) * 0.99
    assert load.mean() / load.max() == pytest.approx(0.78, abs=0.02)


def test_weekday_shape():
    # Wednesday 15 April 2026: spring, seasonal factor ≈ 0.88.
    ts = day("2026-04-15")
    pu = district_load_mw(ts, PEAK) / (PEAK * seasonal_factor(ts[0].day_of_year))
    assert pu[12] == pytest.approx(0.72, abs=0.01)  # 03:00 night: the continuous processes
    plateau = pu[32:70]  # 08:00–17:30
    assert plateau.min() >= 0.95 and plateau.max() <= 1.0 + 1e-9
    assert 0.84 < pu[80] < 0.9  # 20:00 evening: the second shift, below the plateau
    assert pu.mean() == pytest.approx(0.88, abs=0.01)  # a working day's load factor
    # Smooth: at 1-minute resolution no jump above 0.01 p.u. per minute.
    minute = district_load_mw(day("2026-04-15", "1min", 1440), PEAK) / PEAK
    assert np.abs(np.diff(minute)).max() < 0.01


def test_weekend_and_holidays_are_lower():
    # The continuous processes run on: a non-working day is ≈ 0.77 / 0.88 of a working day.
    assert daily_mwh("2026-04-18") < 0.9 * daily_mwh("2026-04-15")  # Saturday vs Wednesday
    assert daily_mwh("2025-10-01") < 0.9 * daily_mwh("2025-10-09")  # National Day vs a Thursday


def test_adjusted_working_day_and_holiday():
    # 28 Sep 2025 is a Sunday worked in lieu of the National Day holiday (调休); 11 Oct 2025 a Saturday.
    assert date(2025, 9, 28).weekday() == 6 and date(2025, 10, 11).weekday() == 5
    assert is_working_day(date(2025, 9, 28)) == (True, False, "chinese_calendar")
    assert is_working_day(date(2025, 10, 11)).working
    assert is_working_day(date(2025, 10, 1)) == (
        False,
        False,
        "chinese_calendar",
    )  # National Day, a Wednesday
    # The profile follows the calendar: the 调休 Sunday has the working-day shape.
    sunday = district_load_mw(day("2025-09-28"), PEAK, seasonal=False)
    wednesday = district_load_mw(day("2025-09-24"), PEAK, seasonal=False)
    holiday = district_load_mw(day("2025-10-01"), PEAK, seasonal=False)
    saturday = district_load_mw(day("2025-09-27"), PEAK, seasonal=False)
    assert np.allclose(sunday, wednesday)
    assert np.allclose(holiday, saturday)


def test_calendar_fallback_outside_the_library_range():
    monday, saturday = date(2031, 1, 6), date(2031, 1, 4)
    assert is_working_day(monday) == (True, True, "weekday-fallback")
    assert is_working_day(saturday) == (False, True, "weekday-fallback")
    load = district_load_mw(day("2031-01-04", "h", 72), PEAK)  # Sat, Sun, Mon: no crash
    assert load[:48].sum() < 0.9 * load[48:].sum() * 2


def test_seasons():
    assert seasonal_factor(205) == pytest.approx(1.0, abs=0.01)  # late July, cooling
    assert seasonal_factor(15) > seasonal_factor(100)  # January heating above April
    assert seasonal_factor(110) == pytest.approx(0.88, abs=0.01)
    assert daily_mwh("2026-07-22") > daily_mwh("2026-04-22")  # both Wednesdays


def test_step_mean_and_time_zones():
    quarter = district_load_mw(day("2026-07-15"), PEAK)
    minute = district_load_mw(day("2026-07-15", "1min", 1440), PEAK)
    assert np.allclose(quarter, minute.reshape(96, 15).mean(axis=1), rtol=1e-3)
    hourly = district_load_mw(day("2026-07-15", "h", 24), PEAK)
    assert hourly.sum() == pytest.approx(quarter.sum() / 4, rel=1e-3)
    utc = day("2026-07-15").tz_convert("UTC")
    naive = pd.date_range("2026-07-15", periods=96, freq="15min")
    assert np.allclose(district_load_mw(utc, PEAK), quarter)
    assert np.allclose(district_load_mw(naive, PEAK), quarter)
    with pytest.raises(ValueError, match="peak_mw"):
        district_load_mw(day("2026-07-15"), -1.0)
