"""PV availability (forecasts.pv): annual yield, solar noon, night, step averaging."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pvlib
import pytest

from forecasts.pv import (
    DEFAULT_DERATE,
    clear_sky_poa_w_per_m2,
    clear_sky_pv_mw,
    step_sample_times,
)

LAT, LON = 39.03, 117.72  # TEDA east district


def day(
    date: str, freq: str = "15min", periods: int = 96, tz: str = "Asia/Shanghai"
) -> pd.DatetimeIndex:
    return pd.date_range(date, periods=periods, freq=freq, tz=tz)


def equation_of_time_min(day_of_year: int) -> float:
    """Spencer (1971) equation of time [min], independent of pvlib's SPA."""
    b = 2 * math.pi * (day_of_year - 1) / 365
    return 229.18 * (
        0.000075
        + 0.001868 * math.cos(b)
        - 0.032077 * math.sin(b)
        - 0.014615 * math.cos(2 * b)
        - 0.040849 * math.sin(2 * b)
    )


def test_annual_yield_matches_facts():
    """≈ 1,250 kWh/kWp a year at 10° tilt (facts.md) with the default derate, hourly steps."""
    year = day("2025-01-01", "h", 8760)
    power_per_mw = clear_sky_pv_mw(year, LAT, LON, 1.0, tilt_deg=10, azimuth_deg=180)
    yield_kwh_per_kwp = power_per_mw.sum() * 1.0  # MW per MW × 1 h = MWh/MW = kWh/kWp
    assert yield_kwh_per_kwp == pytest.approx(1250, rel=0.05)
    # The derate is the only scaling: the clear-sky envelope is yield / derate.
    envelope = clear_sky_pv_mw(year, LAT, LON, 1.0, tilt_deg=10, azimuth_deg=180, derate=1.0).sum()
    assert yield_kwh_per_kwp == pytest.approx(DEFAULT_DERATE * envelope, rel=1e-9)


@pytest.mark.parametrize("date", ["2026-07-15", "2026-11-03", "2026-02-11"])
def test_peak_at_solar_noon(date):
    """South-facing output is symmetric about solar noon = 12:00 + 4 min/deg × (120 − 117.72) − EoT."""
    minutes = day(date, "1min", 1440)
    p = clear_sky_pv_mw(minutes, LAT, LON, 1.0, tilt_deg=10, azimuth_deg=180)
    peak_min = int(np.argmax(p)) + 0.5  # centre of the best 1-minute step
    doy = pd.Timestamp(date).day_of_year
    noon_min = 12 * 60 + 4 * (120 - LON) - equation_of_time_min(doy)
    assert peak_min == pytest.approx(noon_min, abs=1.5)


def test_solar_noon_july_by_hand():
    """15 July: EoT ≈ −5.9 min, so solar noon ≈ 12:09.1 + 5.9 ≈ 12:15 Beijing time."""
    assert equation_of_time_min(196) == pytest.approx(-5.9, abs=0.3)
    p = clear_sky_pv_mw(day("2026-07-15", "1min", 1440), LAT, LON, 1.0)
    assert 12 * 60 + 13 <= np.argmax(p) <= 12 * 60 + 17


def test_zero_at_night_positive_by_day():
    p = clear_sky_pv_mw(day("2026-07-15"), LAT, LON, 260.0)
    assert p.shape == (96,)
    assert np.all(p[:16] == 0)  # 00:00–04:00
    assert np.all(p[84:] == 0)  # 21:00–24:00
    assert np.all(p[32:64] > 0)  # 08:00–16:00
    assert 0 < p.max() < 260 * DEFAULT_DERATE * 1.1


def test_step_value_is_the_mean_over_the_step():
    quarter = clear_sky_pv_mw(day("2026-07-15"), LAT, LON, 100.0)
    minute = clear_sky_pv_mw(day("2026-07-15", "1min", 1440), LAT, LON, 100.0)
    assert np.allclose(
        quarter, minute.reshape(96, 15).mean(axis=1), rtol=2e-3, atol=5e-3
    )  # 5 kW of 100 MW: sunrise edge
    # In the morning the mean over 06:00–06:15 is above the power at 06:00 itself.
    start_only = clear_sky_pv_mw(
        day("2026-07-15"), LAT, LON, 100.0, sample_minutes=1e-6, step_minutes=1e-6
    )
    assert quarter[24] > start_only[24] * 1.05
    # Energy does not depend on the step length.
    hourly = clear_sky_pv_mw(day("2026-07-15", "h", 24), LAT, LON, 100.0)
    assert hourly.sum() == pytest.approx(quarter.sum() / 4, rel=2e-3)


def test_sample_times_are_sub_step_midpoints():
    instants, n = step_sample_times(day("2026-07-15", "15min", 2), sample_minutes=5)
    assert n == 3
    assert [t.strftime("%H:%M:%S") for t in instants] == [
        "00:02:30",
        "00:07:30",
        "00:12:30",
        "00:17:30",
        "00:22:30",
        "00:27:30",
    ]


@pytest.mark.filterwarnings("ignore:.*dayofyear is deprecated")  # inside pvlib, with pandas 3
def test_horizontal_plane_is_pvlib_ghi():
    """Tilt 0: the plane-of-array irradiance is the clear-sky GHI of pvlib's Location (independent call)."""
    instants = day("2026-07-15 06:00", "h", 12)
    poa = clear_sky_poa_w_per_m2(instants, LAT, LON, tilt_deg=0, azimuth_deg=180)
    ghi = (
        pvlib.location.Location(LAT, LON, "Asia/Shanghai", altitude=0)
        .get_clearsky(instants)["ghi"]
        .to_numpy()
    )
    assert np.allclose(poa, ghi, rtol=1e-6, atol=1e-6)
    assert 850 < poa.max() < 1000  # W/m², summer noon at 39° N


def test_time_zone_representation_does_not_matter():
    local = day("2026-07-15")
    fixed = pd.date_range("2026-07-15T00:00+08:00", periods=96, freq="15min")
    utc = local.tz_convert("UTC")
    a = clear_sky_pv_mw(local, LAT, LON, 10.0)
    assert np.allclose(a, clear_sky_pv_mw(fixed, LAT, LON, 10.0))
    assert np.allclose(a, clear_sky_pv_mw(utc, LAT, LON, 10.0))


def test_scaling_and_input_checks():
    ts = day("2026-07-15")
    assert np.allclose(
        clear_sky_pv_mw(ts, LAT, LON, 20.0, derate=0.5),
        2 * clear_sky_pv_mw(ts, LAT, LON, 10.0, derate=0.5),
    )
    with pytest.raises(ValueError, match="time zone"):
        clear_sky_pv_mw(pd.date_range("2026-07-15", periods=96, freq="15min"), LAT, LON, 1.0)
    with pytest.raises(ValueError, match="derate"):
        clear_sky_pv_mw(ts, LAT, LON, 1.0, derate=1.5)
    with pytest.raises(ValueError, match="capacity_mw"):
        clear_sky_pv_mw(ts, LAT, LON, -1.0)
    with pytest.raises(ValueError, match="tilt"):
        clear_sky_pv_mw(ts, LAT, LON, 1.0, tilt_deg=100)
    with pytest.raises(ValueError, match="step_minutes"):
        clear_sky_pv_mw(ts[:1], LAT, LON, 1.0)
    assert clear_sky_pv_mw(ts[:1], LAT, LON, 1.0, step_minutes=15).shape == (1,)
