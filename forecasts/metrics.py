"""Forecast metrics: pure functions of arrays, NaN-aware (pairs with a missing value are left out).

Units are the series' own (MAE, RMSE, pinball) or dimensionless (MAPE in %,
coverage and skill as fractions).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _pair(y: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, f = np.asarray(y, dtype=float), np.asarray(f, dtype=float)
    ok = np.isfinite(y) & np.isfinite(f)
    return y[ok], f[ok]


def mae(y: np.ndarray, f: np.ndarray) -> float:
    """Mean absolute error [unit]."""
    y, f = _pair(y, f)
    return float(np.mean(np.abs(y - f))) if len(y) else float("nan")


def rmse(y: np.ndarray, f: np.ndarray) -> float:
    """Root mean square error [unit]."""
    y, f = _pair(y, f)
    return float(np.sqrt(np.mean((y - f) ** 2))) if len(y) else float("nan")


def mape(y: np.ndarray, f: np.ndarray, floor: float = 1e-9) -> float:
    """Mean absolute percentage error [%] over the steps with |actual| > ``floor`` (a load, never PV nights)."""
    y, f = _pair(y, f)
    keep = np.abs(y) > floor
    return float(100 * np.mean(np.abs((y[keep] - f[keep]) / y[keep]))) if keep.any() else float("nan")


def pinball(y: np.ndarray, q: np.ndarray, level: float) -> float:
    """Mean pinball (quantile) loss of quantile ``level`` [unit]: mean of max(τ(y − q), (τ − 1)(y − q))."""
    y, q = _pair(y, q)
    d = y - q
    return float(np.mean(np.maximum(level * d, (level - 1) * d))) if len(y) else float("nan")


def coverage(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of outcomes within [lower, upper] [-]."""
    y, lo, hi = (np.asarray(a, dtype=float) for a in (y, lower, upper))
    ok = np.isfinite(y) & np.isfinite(lo) & np.isfinite(hi)
    return float(np.mean((y[ok] >= lo[ok]) & (y[ok] <= hi[ok]))) if ok.any() else float("nan")


def skill(mae_model: float, mae_baseline: float) -> float:
    """1 − MAE / MAE of the baseline [-]: > 0 beats the baseline, 1 is perfect."""
    return float(1 - mae_model / mae_baseline) if mae_baseline > 0 else float("nan")


def summarise(
    y: np.ndarray,
    quantiles: dict[float, np.ndarray],
    baseline: np.ndarray,
    *,
    kind: str,
    interval: tuple[float, float] | None = None,
) -> dict[str, float | dict[str, float]]:
    """Every metric of the backtest on aligned arrays (the caller drops rows missing any input).

    The point forecast is the median (0.5). For PV, MAPE is left out (nights),
    and coverage is also given over daylight steps (actual or the upper quantile above
    1 % of the largest actual: a meter's night tare does not count as daylight).
    """
    levels: Sequence[float] = sorted(quantiles)
    point = quantiles[0.5]
    lo_level, hi_level = interval or (levels[0], levels[-1])
    out: dict[str, float | dict[str, float]] = {
        "n_steps": int(len(y)),
        "mae": mae(y, point),
        "rmse": rmse(y, point),
        "baseline_mae": mae(y, baseline),
        "baseline_rmse": rmse(y, baseline),
        "skill_vs_seasonal_naive": skill(mae(y, point), mae(y, baseline)),
        "rmse_skill_vs_seasonal_naive": skill(rmse(y, point), rmse(y, baseline)),
        "pinball": {f"p{round(100 * lv):02d}": pinball(y, quantiles[lv], lv) for lv in levels},
        "mean_pinball": float(np.mean([pinball(y, quantiles[lv], lv) for lv in levels])),
        "baseline_pinball_p50": pinball(y, baseline, 0.5),
        f"coverage_p{round(100 * lo_level):02d}_p{round(100 * hi_level):02d}": coverage(
            y, quantiles[lo_level], quantiles[hi_level]
        ),
        "nominal_coverage": float(hi_level - lo_level),
    }
    if kind == "load":
        out["mape_pct"] = mape(y, point)
        out["baseline_mape_pct"] = mape(y, baseline)
    else:
        top = max(float(np.nanmax(y)) if len(y) else 0.0, 0.0)
        day = (y > 0.01 * top) | (quantiles[hi_level] > 0.01 * top)  # above 1 % of the peak: daylight
        out[f"coverage_p{round(100 * lo_level):02d}_p{round(100 * hi_level):02d}_daylight"] = coverage(
            y[day], quantiles[lo_level][day], quantiles[hi_level][day]
        )
    return out
