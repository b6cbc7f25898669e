"""Forecast metrics (forecasts.metrics) on numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from forecasts.metrics import coverage, mae, mape, pinball, rmse, skill, summarise


def test_metrics_by_hand():
    y = np.array([10.0, 20.0, 30.0, np.nan])
    f = np.array([12.0, 18.0, 33.0, 5.0])  # errors −2, 2, −3 (the NaN pair is left out)
    assert mae(y, f) == pytest.approx(7 / 3)
    assert rmse(y, f) == pytest.approx(np.sqrt(17 / 3))
    assert mape(y, f) == pytest.approx(100 * (0.2 + 0.1 + 0.1) / 3)
    # Pinball at τ = 0.9: y − q = −2, 2, −3 → 0.1·2, 0.9·2, 0.1·3 → mean 2.3 / 3.
    assert pinball(y, f, 0.9) == pytest.approx((0.2 + 1.8 + 0.3) / 3)
    assert pinball(y, f, 0.5) == pytest.approx(mae(y, f) / 2)
    assert coverage(y, f - 2.5, f + 2.5) == pytest.approx(2 / 3)
    assert skill(8.0, 10.0) == pytest.approx(0.2)
    assert mape(np.array([0.0, 0.0]), np.array([1.0, 1.0])) != mape(np.array([0.0, 0.0]), np.array([1.0, 1.0]))  # NaN


def test_summarise_keys():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    q = {0.1: y - 1, 0.5: y + 0.5, 0.9: y + 1}
    m = summarise(y, q, y + 1.0, kind="load")
    assert m["skill_vs_seasonal_naive"] == pytest.approx(0.5)
    assert m["coverage_p10_p90"] == 1.0 and m["nominal_coverage"] == pytest.approx(0.8)
    assert set(m["pinball"]) == {"p10", "p50", "p90"}
    assert "mape_pct" in m
    pv = summarise(np.array([0.0, 1.0]), {0.1: np.array([0.0, 0.5]), 0.5: np.array([0.0, 1.0]), 0.9: np.array([0.0, 2.0])},
                   np.array([0.0, 2.0]), kind="pv")
    assert "mape_pct" not in pv and pv["coverage_p10_p90_daylight"] == 1.0
