"""The TEDA east case materialised from forecasts (vpp.cases.forecasting on teda_east.site(), materialize)."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from forecasts.series import read_series
from forecasts.weather import read_weather
from vpp.cases import materialize
from vpp.cases.forecasting import forecast_load, forecast_pv
from vpp.cases.teda_east import pv_fleet, site
from vpp.errors import CaseError

SHIPPED = str(resources.files("forecasts.data").joinpath("teda_east_2025_15min.csv.gz"))


@pytest.fixture(scope="module")
def year() -> pd.DataFrame:
    frame = pd.read_csv(SHIPPED, skiprows=1)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    return frame.set_index("timestamp")


def test_fleet_comes_from_the_case_data():
    fleet = pv_fleet()
    assert len(fleet) == 12 and sum(a.capacity_mw for a in fleet) == pytest.approx(260.0)
    assert {(a.tilt_deg, a.azimuth_deg) for a in fleet} == {(10, 180), (10, 170), (5, 190)}


def test_materialize_from_weather_and_load_history(year):
    day = year.loc["2025-07-15"]
    weather = read_weather(day[["ghi_w_per_m2", "temp_air_c", "wind_speed_m_per_s"]].reset_index())
    history = read_series(SHIPPED, value_column="load_mw")
    history = history[history.index < pd.Timestamp("2025-07-15T00:00+08:00")]
    case = materialize("teda-east", "2025-07-15", weather=weather, load_history=history)
    pv = sum(np.asarray(a.available_mw) for a in case.assets if a.type == "pv")
    # The synthetic PV was made by the same chain from this weather: the case reproduces it.
    assert np.allclose(pv, day["pv_mw"].to_numpy(), atol=0.02)
    load = sum(np.asarray(a.demand_mw) for a in case.assets if a.type == "load")
    actual = day["load_mw"].to_numpy()
    assert np.mean(np.abs(load - actual)) / actual.mean() < 0.06  # a day-ahead MAPE-like error under 6 %
    src = case.meta["series_sources"]
    assert src["pv"].startswith("weather file the weather DataFrame")
    assert "LightGBM quantile forecast" in src["load"] and "2025-07-14T23:45:00+08:00" in src["load"]
    pv_asset = next(a for a in case.assets if a.type == "pv")
    assert "pv_from_weather_mw" in pv_asset.meta["forecast"]


def test_default_case_says_where_its_series_came_from():
    case = materialize("teda-east", "2026-07-15")
    src = case.meta["series_sources"]
    assert "climatological clear-sky index 0.691" in src["pv"]
    assert "no load history given" in src["load"]
    assert src["prices"].startswith("tianjin-tou-2025")


def test_forecast_pv_from_recent_history(year):
    history = read_series(SHIPPED, value_column="pv_mw")
    history = history[history.index < pd.Timestamp("2025-07-15T00:00+08:00")]
    fc = forecast_pv(site(), dt.date(2025, 7, 15), pv_history=history)
    assert "recent clear-sky index" in fc.source
    kt = fc.extra["clear_sky_index"]
    assert 0.2 < kt < 1.1
    q = fc.quantiles
    assert list(q.columns) == [0.1, 0.5, 0.9] and (q[0.1] <= q[0.5]).all() and (q[0.5] <= q[0.9]).all()
    assert fc.parts.xs(0.5, axis=1, level="quantile").sum(axis=1).to_numpy() == pytest.approx(q[0.5].to_numpy())
    with pytest.raises(CaseError, match="no PV measurements in the 7 days before 2026-07-15"):
        forecast_pv(site(), dt.date(2026, 7, 15), pv_history=history)


def test_forecast_load_needs_recent_history():
    history = read_series(SHIPPED, value_column="load_mw")
    with pytest.raises(CaseError, match="needs the load up to the day before; it ends 2025-12-31T23:45:00"):
        forecast_load(site(), dt.date(2026, 3, 1), load_history=history)
    fc = forecast_load(site(), dt.date(2026, 7, 15))
    assert fc.parts.columns.get_level_values(0).nunique() == 5  # four substations and the rest of the district
