"""Quantile forecasts: the quantile function between given levels, calibration, normal scores.

A quantile forecast here is an array with one row per step and one column per
level (e.g. 0.1, 0.5, 0.9), or a DataFrame with the levels as column names.
Between and beyond the given levels the quantile function is linear in the
*normal score* z = Φ⁻¹(τ) (so three quantiles of a normal distribution give the
whole normal distribution back, tails included) — the link between the
quantile forecasts and the scenarios of :mod:`forecasts.scenarios`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import norm


def sort_quantiles(q: np.ndarray) -> np.ndarray:
    """Quantiles in increasing order along each row (no crossing: a lower level never exceeds a higher one)."""
    return np.sort(np.asarray(q, dtype=float), axis=1)


def quantile_function(q: np.ndarray, levels: Sequence[float], u: np.ndarray) -> np.ndarray:
    """Values at probabilities ``u`` from quantiles ``q`` (steps × levels), linear in Φ⁻¹.

    ``u`` has shape (steps,) or (n, steps); the result has the shape of ``u``.
    Beyond the outer levels the line through the two outermost quantiles on
    each side is extended.
    """
    q = sort_quantiles(np.atleast_2d(q))
    zl = norm.ppf(np.asarray(levels, dtype=float))
    zu = norm.ppf(np.clip(np.asarray(u, dtype=float), 1e-9, 1 - 1e-9))
    squeeze = zu.ndim == 1
    zu = np.atleast_2d(zu)  # (n, steps)
    k = np.clip(np.searchsorted(zl, zu, side="right") - 1, 0, len(zl) - 2)  # segment per value
    z0, z1 = zl[k], zl[k + 1]
    steps = np.arange(q.shape[0])[None, :]
    q0, q1 = q[steps, k], q[steps, k + 1]
    frac = (zu - z0) / (z1 - z0)
    out = q0 + frac * (q1 - q0)
    return out[0] if squeeze else out


def pit_normal_scores(y: np.ndarray, q: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """The normal score z = Φ⁻¹(F(y)) of each outcome under its quantile forecast (inverse of
    :func:`quantile_function`); NaN where the forecast has no spread or ``y`` is missing. Clipped to ±4."""
    q = sort_quantiles(np.atleast_2d(q))
    y = np.asarray(y, dtype=float)
    zl = norm.ppf(np.asarray(levels, dtype=float))
    out = np.full(len(y), np.nan)
    for i in range(len(y)):
        if not np.isfinite(y[i]) or q[i, -1] - q[i, 0] <= 1e-12:
            continue
        qi = q[i]
        k = int(np.clip(np.searchsorted(qi, y[i], side="right") - 1, 0, len(zl) - 2))
        dq = qi[k + 1] - qi[k]
        if dq <= 1e-12:  # flat segment: take its middle
            out[i] = 0.5 * (zl[k] + zl[k + 1])
            continue
        out[i] = zl[k] + (y[i] - qi[k]) / dq * (zl[k + 1] - zl[k])
    return np.clip(out, -4.0, 4.0)


def conformal_quantile(scores: np.ndarray, level: float, weights: np.ndarray | None = None) -> float:
    """The split-conformal quantile of held-out ``scores`` at ``level`` in (0, 1).

    Upper levels take the ⌈(n + 1)·level⌉-th smallest of the n finite scores,
    lower levels the ⌊(n + 1)·level⌋-th (the median the plain sample median),
    so that a new exchangeable score falls at or below an upper quantile with
    probability ≥ level, and below a lower one with probability ≤ level.
    Too few scores for that order (fewer than 1/(1 − level) − 1) give the most
    extreme score.

    ``weights`` (≥ 0, one per score; the new score weighs 1): the weighted
    conformal quantile of Barber, Candès, Ramdas & Tibshirani (2023, "Conformal
    prediction beyond exchangeability", Ann. Statist. 51(2)): the same orders
    counted in weight, the smallest score whose cumulative weight reaches
    level · (W + 1) for an upper level, the largest whose cumulative weight
    stays within it for a lower one (W the scores' total weight). Unit weights
    give the unweighted quantile.
    """
    s = np.asarray(scores, dtype=float)
    w = np.ones(len(s)) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != s.shape or not (np.all(np.isfinite(w)) and np.all(w >= 0)):
        raise ValueError(f"weights must be finite numbers >= 0, one per score ({len(s)}), got shape {w.shape}")
    keep = np.isfinite(s) & (w > 0)
    order = np.argsort(s[keep], kind="stable")
    s, w = s[keep][order], w[keep][order]
    n = len(s)
    if n == 0:
        raise ValueError("no finite held-out scores to calibrate the quantiles on")
    if not 0 < level < 1:
        raise ValueError(f"level must be within (0, 1), got {level!r}")
    if level == 0.5 and weights is None:
        return float(np.median(s))
    cum = np.cumsum(w)
    target = level * (cum[-1] + 1.0)
    if level >= 0.5:
        k = int(np.searchsorted(cum, target, side="left"))  # the first whose cumulative weight ≥ target
        return float(s[min(k, n - 1)])
    k = int(np.searchsorted(cum, target, side="right")) - 1  # the last whose cumulative weight ≤ target
    return float(s[max(k, 0)])
