"""The shipped SYNTHETIC TEDA east history: labelled, plausible, and reproducible from its seed."""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from forecasts.series import read_series
from forecasts.synthetic import synthetic_history
from vpp.cases.teda_east import load_template_data, pv_fleet, pv_system, unwrap_sources

PATH = str(resources.files("forecasts.data").joinpath("teda_east_2025_15min.csv.gz"))


def test_labelled_synthetic_and_plausible():
    with gzip.open(PATH, "rt", encoding="utf-8") as fh:
        first = fh.readline()
    assert first.startswith("# SYNTHETIC DATA, not measurements")
    frame = pd.read_csv(PATH, skiprows=1)
    assert len(frame) == 35040 and list(frame.columns) == [
        "timestamp", "load_mw", "pv_mw", "ghi_w_per_m2", "temp_air_c", "wind_speed_m_per_s"
    ]
    assert frame["load_mw"].sum() / 4 == pytest.approx(3.4e6, rel=0.05)  # MWh: the profile's ≈ 3.4 TWh
    assert frame["ghi_w_per_m2"].sum() / 4 * 3.6e-3 == pytest.approx(4935, rel=0.01)  # MJ/m², [plan]
    assert 1100 < frame["pv_mw"].sum() / 4 / 260 < 1300  # kWh/kWp, facts.md ≈ 1,250
    assert frame["pv_mw"].max() < 260
    s = read_series(PATH, value_column="load_mw")
    assert s.index[0] == pd.Timestamp("2025-01-01T00:00:00+08:00") and s.attrs["step_minutes"] == 15


def test_reproducible_from_the_seed():
    d, _ = unwrap_sources(load_template_data())
    loc = d["location"]
    again = synthetic_history(
        2025, pv_fleet(d), loc["latitude_deg"], loc["longitude_deg"], load_peak_mw=d["load"]["inflexible_peak_mw"],
        seed=2025, timezone=loc["timezone"], altitude_m=loc["altitude_m"], albedo=d["pv"]["albedo"],
        system=pv_system(d["pv"]),
    )
    shipped = pd.read_csv(PATH, skiprows=1)
    for col in ("load_mw", "pv_mw", "ghi_w_per_m2", "temp_air_c", "wind_speed_m_per_s"):
        assert np.allclose(again[col].to_numpy(), shipped[col].to_numpy(), atol=0.011), col
    other = synthetic_history(
        2025, pv_fleet(d)[:1], loc["latitude_deg"], loc["longitude_deg"], load_peak_mw=500, seed=1,
    )
    assert not np.allclose(other["load_mw"], again["load_mw"])
