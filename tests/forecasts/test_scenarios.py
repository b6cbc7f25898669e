"""Quantile functions and correlated scenarios (forecasts.quantiles, forecasts.scenarios)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from forecasts.quantiles import pit_normal_scores, quantile_function, sort_quantiles
from forecasts.scenarios import ar1_normal_paths, empirical_quantiles, fit_ar1, generate_scenarios

LEVELS = (0.1, 0.5, 0.9)


def normal_quantiles(mean: np.ndarray, sd: np.ndarray) -> pd.DataFrame:
    idx = pd.date_range("2026-07-15", periods=len(mean), freq="15min", tz="Asia/Shanghai")
    return pd.DataFrame({q: mean + norm.ppf(q) * sd for q in LEVELS}, index=idx)


def test_quantile_function_is_exact_for_a_normal():
    mean, sd = np.array([100.0, 50.0]), np.array([10.0, 2.0])
    q = normal_quantiles(mean, sd).to_numpy()
    for u in (0.01, 0.25, 0.5, 0.8, 0.99):  # inside and beyond the given levels
        assert np.allclose(quantile_function(q, LEVELS, np.full(2, u)), mean + norm.ppf(u) * sd)
    z = pit_normal_scores(np.array([110.0, 46.0]), q, LEVELS)
    assert np.allclose(z, [1.0, -2.0])


def test_sort_quantiles_removes_crossing():
    assert np.allclose(sort_quantiles(np.array([[3.0, 1.0, 2.0]])), [[1.0, 2.0, 3.0]])


def test_fit_ar1_recovers_rho():
    rng = np.random.default_rng(3)
    z = ar1_normal_paths(200, 96, 0.85, rng)
    assert fit_ar1(z) == pytest.approx(0.85, abs=0.01)
    assert fit_ar1(np.full((2, 3), np.nan)) is None


def test_scenarios_follow_the_quantiles_and_are_correlated_in_time():
    steps = 96
    mean = 300 + 100 * np.sin(np.linspace(0, 2 * np.pi, steps))
    sd = np.full(steps, 20.0)
    q = normal_quantiles(mean, sd)
    sc = generate_scenarios(q, 4000, rho=0.9, seed=7, name="load_mw")
    assert sc.values.shape == (4000, steps) and sc.weights.sum() == pytest.approx(1.0)
    emp = empirical_quantiles(sc, LEVELS)
    for level in LEVELS:  # each step's empirical quantile matches the forecast (±1.5 % of a value ~ 300)
        assert np.abs(emp[level].to_numpy() - q[level].to_numpy()).max() < 4.5
    z = (sc.values - mean) / sd
    lag1 = np.mean([np.corrcoef(z[:, t], z[:, t + 1])[0, 1] for t in range(steps - 1)])
    assert lag1 == pytest.approx(0.9, abs=0.02)
    assert np.corrcoef(z[:, 0], z[:, 10])[0, 1] == pytest.approx(0.9**10, abs=0.05)
    # Independent noise would have no correlation: the copula is what makes paths realistic.
    indep = generate_scenarios(q, 4000, rho=0.0, seed=7)
    zi = (indep.values - mean) / sd
    assert abs(np.corrcoef(zi[:, 0], zi[:, 1])[0, 1]) < 0.05


def test_scenarios_reproducible_clipped_and_tidy():
    q = normal_quantiles(np.full(8, 1.0), np.full(8, 2.0))
    a = generate_scenarios(q, 5, rho=0.5, seed=1, lower=0.0)
    b = generate_scenarios(q, 5, rho=0.5, seed=1, lower=0.0)
    c = generate_scenarios(q, 5, rho=0.5, seed=2, lower=0.0)
    assert np.array_equal(a.values, b.values) and not np.array_equal(a.values, c.values)
    assert a.values.min() >= 0.0
    frame = a.to_frame()
    assert list(frame.columns) == ["scenario", "step", "timestamp", "series", "value", "weight"]
    assert len(frame) == 40 and frame.groupby("step")["weight"].sum().round(12).eq(1.0).all()
    with pytest.raises(ValueError, match="rho"):
        generate_scenarios(q, 5, rho=1.0)
    with pytest.raises(ValueError, match="quantile levels"):
        generate_scenarios(q[[0.5]], 5, rho=0.5)
