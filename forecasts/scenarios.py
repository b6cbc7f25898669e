"""Scenarios: N correlated paths of a day that agree with its quantile forecast.

A Gaussian copula with an AR(1) correlation in time: a path of normal scores
z_t = ρ·z_{t−1} + √(1 − ρ²)·ε_t (stationary N(0, 1), so corr(z_s, z_t) = ρ^|s−t|),
mapped through each step's quantile function (:func:`forecasts.quantiles.quantile_function`).
Every step's values then follow the quantile forecast (its P10 is exceeded by 90 %
of the paths), and errors persist from one step to the next as they do in real
forecasts, instead of being independent noise. ρ is fitted from out-of-sample
normal scores (:func:`fit_ar1`; :class:`forecasts.model.DayAheadForecaster` does
it for its own errors). The same seed gives the same paths.

For the stochastic dispatch to come, :class:`ScenarioSet` holds the paths as an
N × steps array with one weight per path (summing to 1), and as a tidy table
(scenario, step, timestamp, value, weight).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm

from forecasts.quantiles import quantile_function


@dataclass(frozen=True)
class ScenarioSet:
    """N scenarios of one series over one day [unit of the series]."""

    values: np.ndarray
    """N × steps values."""
    timestamps: pd.DatetimeIndex
    weights: np.ndarray
    """Probability of each scenario (sums to 1)."""
    name: str = "value"
    rho: float = 0.0
    seed: int | None = None
    meta: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.values.shape[0])

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: scenario, step, timestamp, series, value, weight (one row per scenario and step)."""
        n, t = self.values.shape
        return pd.DataFrame(
            {
                "scenario": np.repeat(np.arange(n), t),
                "step": np.tile(np.arange(t), n),
                "timestamp": np.tile(self.timestamps, n),
                "series": self.name,
                "value": self.values.reshape(-1),
                "weight": np.repeat(self.weights, t),
            }
        )


def fit_ar1(z: np.ndarray, min_pairs: int = 30) -> float | None:
    """Lag-one correlation [-] of normal scores within each day (``z``: days × steps, NaN allowed).

    Pairs of consecutive finite scores of the same day are pooled; None with
    fewer than ``min_pairs`` pairs. Clipped to [0, 0.999].
    """
    z = np.atleast_2d(np.asarray(z, dtype=float))
    a, b = z[:, :-1].reshape(-1), z[:, 1:].reshape(-1)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < min_pairs:
        return None
    a, b = a[ok], b[ok]
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    if denom <= 0:
        return None
    return float(np.clip((a * b).sum() / denom, 0.0, 0.999))


def ar1_normal_paths(n: int, steps: int, rho: float, rng: np.random.Generator) -> np.ndarray:
    """n paths of a stationary AR(1) with N(0, 1) marginals: corr(z_s, z_t) = ρ^|s − t|."""
    if not 0 <= rho < 1:
        raise ValueError(f"rho must be within [0, 1), got {rho!r}")
    eps = rng.standard_normal((n, steps))
    z = np.empty((n, steps))
    z[:, 0] = eps[:, 0]
    scale = np.sqrt(1 - rho * rho)
    for t in range(1, steps):
        z[:, t] = rho * z[:, t - 1] + scale * eps[:, t]
    return z


def generate_scenarios(
    quantiles: pd.DataFrame,
    n: int,
    *,
    rho: float,
    seed: int | None = 0,
    lower: float | None = None,
    upper: float | None = None,
    name: str = "value",
) -> ScenarioSet:
    """N scenarios of the day whose steps follow ``quantiles`` (rows: timestamps, columns: levels).

    ``lower``/``upper`` clip the values (PV ≥ 0, ≤ capacity). Equal weights 1/N.
    """
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be a whole number >= 1, got {n!r}")
    levels = [float(c) for c in quantiles.columns]
    if sorted(levels) != levels or len(levels) < 2 or not all(0 < v < 1 for v in levels):
        raise ValueError(f"expected at least two increasing quantile levels in (0, 1) as columns, got {levels}")
    rng = np.random.default_rng(seed)
    z = ar1_normal_paths(n, len(quantiles), rho, rng)
    values = quantile_function(quantiles.to_numpy(dtype=float), levels, norm.cdf(z))
    if lower is not None or upper is not None:
        values = np.clip(values, lower, upper)
    return ScenarioSet(
        values=values,
        timestamps=pd.DatetimeIndex(quantiles.index),
        weights=np.full(n, 1.0 / n),
        name=name,
        rho=float(rho),
        seed=seed,
        meta={"method": "Gaussian copula, AR(1) in time, through the quantile forecast", "levels": levels},
    )


def empirical_quantiles(scenarios: ScenarioSet, levels: Sequence[float]) -> pd.DataFrame:
    """Weighted quantiles of the scenarios at every step (to check them against the forecast)."""
    out = np.quantile(scenarios.values, list(levels), axis=0).T
    return pd.DataFrame(out, index=scenarios.timestamps, columns=list(levels))
