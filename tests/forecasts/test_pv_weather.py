"""PV from a weather forecast (forecasts.pv): solar position, clear sky, the chain, the fallback."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pvlib
import pytest

from forecasts.pv import (
    PVArray,
    PVSystem,
    clear_sky_index_quantiles,
    pv_from_clear_sky_index_mw,
    pv_from_weather_mw,
    recent_clear_sky_index,
    solar_and_clear_sky,
    weather_clear_sky_index,
)
from forecasts.weather import read_weather

LAT, LON = 39.03, 117.72
FLEET = [PVArray("a", 100.0, 10, 180), PVArray("b", 40.0, 5, 190), PVArray("c", 60.0, 10, 180)]


def spencer_zenith_deg(t: pd.Timestamp, lat: float, lon: float) -> float:
    """Solar zenith from Spencer's (1971) declination and equation of time: independent of pvlib's SPA."""
    utc = t.tz_convert("UTC")
    doy = utc.day_of_year
    hours = utc.hour + utc.minute / 60
    g = 2 * math.pi / 365 * (doy - 1 + (hours - 12) / 24)
    eot = 229.18 * (0.000075 + 0.001868 * math.cos(g) - 0.032077 * math.sin(g) - 0.014615 * math.cos(2 * g) - 0.040849 * math.sin(2 * g))
    decl = (0.006918 - 0.399912 * math.cos(g) + 0.070257 * math.sin(g) - 0.006758 * math.cos(2 * g)
            + 0.000907 * math.sin(2 * g) - 0.002697 * math.cos(3 * g) + 0.00148 * math.sin(3 * g))
    solar_time_min = hours * 60 + eot + 4 * lon
    hour_angle = math.radians(solar_time_min / 4 - 180)
    phi = math.radians(lat)
    cos_z = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(hour_angle)
    return math.degrees(math.acos(cos_z))


@pytest.mark.parametrize("when", ["2026-06-21T12:15:00+08:00", "2026-12-21T10:00:00+08:00", "2026-03-20T15:30:00+08:00"])
def test_solar_position_at_known_times(when):
    t = pd.Timestamp(when)
    sky = solar_and_clear_sky(pd.DatetimeIndex([t]), LAT, LON)
    assert sky["zenith"].iloc[0] == pytest.approx(spencer_zenith_deg(t, LAT, LON), abs=0.3)


def test_summer_solstice_noon_zenith_by_hand():
    # Solar noon at the June solstice: zenith = latitude − declination = 39.03 − 23.44 = 15.59°.
    minutes = pd.date_range("2026-06-21T11:30+08:00", periods=90, freq="1min")
    sky = solar_and_clear_sky(minutes, LAT, LON)
    assert sky["zenith"].min() == pytest.approx(39.03 - 23.44, abs=0.05)


def test_ineichen_clear_sky_by_hand():
    """Ineichen–Perez (2002) at sea level: GHI = 0.868·I0·cos z·exp(−0.0387·AM·TL) (cg1, cg2 at h = 0, fh1 = fh2 = 1)."""
    t = pd.DatetimeIndex([pd.Timestamp("2026-07-15T12:00:00+08:00")])
    sky = solar_and_clear_sky(t, LAT, LON, altitude_m=0.0)
    z = sky["apparent_zenith"].iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pvlib's own pandas deprecation
        tl = float(pvlib.clearsky.lookup_linke_turbidity(t.tz_convert("UTC"), LAT, LON).iloc[0])
    am = 1 / (math.cos(math.radians(z)) + 0.50572 * (96.07995 - z) ** -1.6364)  # Kasten & Young 1989
    b = 2 * math.pi * t[0].day_of_year / 365
    i0 = 1366.1 * (1.00011 + 0.034221 * math.cos(b) + 0.00128 * math.sin(b) + 0.000719 * math.cos(2 * b) + 0.000077 * math.sin(2 * b))
    ghi = 0.868 * i0 * math.cos(math.radians(z)) * math.exp(-0.0387 * am * tl)
    assert sky["ghi_clear"].iloc[0] == pytest.approx(ghi, rel=0.005)
    assert 800 < ghi < 1000  # W/m², a hazy July noon in Tianjin


def weather_frame(ghi: np.ndarray, step: str = "1h", temp: float = 25.0, start: str = "2026-07-15") -> pd.DataFrame:
    ts = pd.date_range(start, periods=len(ghi), freq=step, tz="Asia/Shanghai")
    return read_weather(pd.DataFrame({"timestamp": ts, "ghi": ghi, "temp_air": temp, "wind_speed": 2.0}))


def test_clear_sky_weather_gives_clear_sky_index_one():
    day = pd.date_range("2026-07-15", periods=96, freq="15min", tz="Asia/Shanghai")
    sky = solar_and_clear_sky(day + pd.Timedelta(minutes=7.5), LAT, LON)
    ghi15 = sky["ghi_clear"].to_numpy()
    w = weather_frame(ghi15, "15min")
    kt = weather_clear_sky_index(w, LAT, LON)
    daylight = ghi15 > 50
    assert np.allclose(kt[daylight], 1.0, atol=0.01)
    power = pv_from_weather_mw(day, w, FLEET, LAT, LON)
    ideal = pv_from_clear_sky_index_mw(day, 1.0, FLEET, LAT, LON, temp_air_c=25.0, wind_speed_m_per_s=2.0)
    assert power.sum().sum() == pytest.approx(ideal.sum().sum(), rel=0.01)


def test_chain_yield_losses_and_scaling():
    day = pd.date_range("2026-07-15", periods=96, freq="15min", tz="Asia/Shanghai")
    cool = pv_from_clear_sky_index_mw(day, 1.0, FLEET, LAT, LON, temp_air_c=10.0)
    hot = pv_from_clear_sky_index_mw(day, 1.0, FLEET, LAT, LON, temp_air_c=35.0)
    # 25 K hotter at −0.35 %/K: about 8–9 % less energy.
    assert hot.sum().sum() / cool.sum().sum() == pytest.approx(1 - 0.0035 * 25, abs=0.01)
    # Arrays of the same orientation scale with their capacity; night is zero.
    assert np.allclose(cool["c"], cool["a"] * 0.6)
    assert (cool.iloc[:16] == 0).all().all() and (cool.iloc[84:] == 0).all().all()
    # Inverter clipping: never above capacity / DC-AC ratio.
    assert cool["a"].max() <= 100 / PVSystem().dc_ac_ratio + 1e-9
    # Performance ratio of the chain on a clear July day: AC energy / (POA irradiation × capacity) ≈ 0.8.
    half = pv_from_clear_sky_index_mw(day, 0.5, FLEET, LAT, LON, temp_air_c=25.0)
    full = pv_from_clear_sky_index_mw(day, 1.0, FLEET, LAT, LON, temp_air_c=25.0)
    assert 0.40 < half.sum().sum() / full.sum().sum() < 0.60  # diffuse light is transposed differently


def test_hourly_weather_gives_a_smooth_quarter_hour_curve_and_quantiles():
    hours = np.arange(24)
    ghi = np.clip(900 * np.sin(np.pi * (hours - 5) / 14), 0, None)
    w = weather_frame(ghi)
    day = pd.date_range("2026-07-15", periods=96, freq="15min", tz="Asia/Shanghai")
    q = pv_from_weather_mw(day, w, FLEET, LAT, LON, quantiles=(0.1, 0.5, 0.9))
    total = {level: q.xs(level, axis=1, level="quantile").sum(axis=1) for level in (0.1, 0.5, 0.9)}
    assert (total[0.1] <= total[0.5] + 1e-9).all() and (total[0.5] <= total[0.9] + 1e-9).all()
    assert total[0.9].sum() > total[0.5].sum() > total[0.1].sum()
    assert np.abs(np.diff(total[0.5].to_numpy())).max() < 0.2 * total[0.5].max()  # no hourly staircase
    point = pv_from_weather_mw(day, w, FLEET, LAT, LON)
    assert np.allclose(point.sum(axis=1), total[0.5])
    with pytest.raises(ValueError, match="does not cover"):
        pv_from_weather_mw(day + pd.Timedelta(hours=12), w, FLEET, LAT, LON)


def test_cloud_cover_weather():
    ts = pd.date_range("2026-07-15", periods=24, freq="h", tz="Asia/Shanghai")
    overcast = read_weather(pd.DataFrame({"timestamp": ts, "cloud_cover_pct": 100.0}))
    clear = read_weather(pd.DataFrame({"timestamp": ts, "cloud_cover_pct": 0.0}))
    day = pd.date_range("2026-07-15", periods=96, freq="15min", tz="Asia/Shanghai")
    a = pv_from_weather_mw(day, overcast, FLEET, LAT, LON).sum().sum()
    b = pv_from_weather_mw(day, clear, FLEET, LAT, LON).sum().sum()
    assert 0.2 < a / b < 0.35  # kt 0.25 under overcast skies (Kasten–Czeplak), all diffuse


def test_clear_sky_index_quantiles_spread():
    q = clear_sky_index_quantiles(np.array([0.5, 1.0]), (0.1, 0.9))
    # σ(0.5) = 0.08 + 0.30 = 0.38, so P10 = 0.5 − 1.2816 · 0.38.
    assert q[0.1][0] == pytest.approx(0.5 - 1.28155 * 0.38, abs=1e-4)
    assert q[0.9][1] == pytest.approx(min(1.2, 1.0 + 1.28155 * 0.08), abs=1e-4)


def test_recent_clear_sky_index():
    idx = pd.date_range("2026-07-01", periods=96 * 10, freq="15min", tz="Asia/Shanghai")
    clear = pd.Series(np.tile(np.r_[np.zeros(24), np.full(48, 10.0), np.zeros(24)], 10), index=idx)
    measured = clear * 0.6
    measured.iloc[-96:] = clear.iloc[-96:] * 5  # the day itself must not count
    before = pd.Timestamp("2026-07-10", tz="Asia/Shanghai")
    assert recent_clear_sky_index(measured, clear, before, days=7) == pytest.approx(0.6)
    assert recent_clear_sky_index(measured, clear, idx[0], days=7) is None
