"""Joint scenarios of several series: errors correlated in time and across series.

:mod:`forecasts.scenarios` draws one series at a time: a Gaussian copula whose
normal scores follow an AR(1) in time. Here several series (PV and load, say)
are drawn together. Their normal scores z_t (one per series) follow a vector
AR(1) with a diagonal lag matrix,

    z_t = A·z_{t−1} + e_t,   A = diag(ρ_1 … ρ_m),   e_t ~ N(0, Σ_e),   Σ_e = Γ − A·Γ·A,

started from its stationary law z_0 ~ N(0, Γ), where Γ is the contemporaneous
correlation matrix (unit diagonal). The process is stationary with covariance Γ,
so each series keeps N(0, 1) marginals and its own step-to-step correlation
(corr(z_i,s, z_i,t) = ρ_i^|s−t|, as in :func:`forecasts.scenarios.ar1_normal_paths`),
and two series are correlated Γ_ij at the same step (Γ_ij·ρ_i^k when series i
leads by k steps). Σ_e must be positive semi-definite: a strong correlation
between two series with very different persistence is impossible, and is
refused with the largest one that is possible.

Φ(z) is the probability each step's value is drawn at, through that step's
quantile function (:func:`forecasts.quantiles.quantile_function`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import norm


def innovation_covariance(rhos: Sequence[float], corr: np.ndarray) -> np.ndarray:
    """Σ_e = Γ − A·Γ·A of the vector AR(1) (module docstring); ValueError when it is not a covariance."""
    a = np.asarray(rhos, dtype=float)
    gamma = np.asarray(corr, dtype=float)
    m = a.size
    if gamma.shape != (m, m):
        raise ValueError(f"corr: expected a {m} × {m} matrix (one row per series), got shape {gamma.shape}")
    if not np.allclose(gamma, gamma.T) or not np.allclose(np.diag(gamma), 1.0):
        raise ValueError("corr: expected a symmetric correlation matrix with ones on its diagonal")
    if np.any(np.abs(gamma) > 1):
        raise ValueError("corr: correlations must lie within [-1, 1]")
    if np.any((a < 0) | (a >= 1)):
        raise ValueError(f"rhos: each step-to-step correlation must lie within [0, 1), got {a.tolist()}")
    if np.linalg.eigvalsh(gamma).min() < -1e-10:
        raise ValueError("corr: not positive semi-definite (not the correlations of any set of series)")
    sigma = gamma - np.outer(a, a) * gamma
    if np.linalg.eigvalsh(sigma).min() < -1e-10:
        i, j = np.unravel_index(np.argmax(np.abs(gamma - np.eye(m))), gamma.shape)
        limit = np.sqrt((1 - a[i] ** 2) * (1 - a[j] ** 2)) / (1 - a[i] * a[j])
        raise ValueError(
            f"corr: a correlation of {gamma[i, j]:g} between series {i} and {j} cannot go with step-to-step "
            f"correlations {a[i]:g} and {a[j]:g}; at most {limit:.3f} in size"
        )
    return sigma


def _factor(cov: np.ndarray) -> np.ndarray:
    """A square root L with L·Lᵀ = cov (eigen-decomposition: semi-definite matrices too)."""
    w, v = np.linalg.eigh(cov)
    return v * np.sqrt(np.clip(w, 0.0, None))


def joint_normal_paths(
    n: int, steps: int, rhos: Sequence[float], corr: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """n paths of the vector AR(1) of the module docstring, as normal scores: shape (series, n, steps)."""
    if not (isinstance(n, int) and n >= 1) or not (isinstance(steps, int) and steps >= 1):
        raise ValueError(f"n and steps: expected whole numbers >= 1, got {n!r} and {steps!r}")
    a = np.asarray(rhos, dtype=float)
    sigma = innovation_covariance(a, corr)
    start, innovations = _factor(np.asarray(corr, dtype=float)), _factor(sigma)
    m = a.size
    z = np.empty((n, steps, m))
    z[:, 0] = rng.standard_normal((n, m)) @ start.T
    eps = rng.standard_normal((n, steps, m)) @ innovations.T
    for t in range(1, steps):
        z[:, t] = z[:, t - 1] * a + eps[:, t]
    return np.moveaxis(z, 2, 0)


def joint_probability_paths(
    n: int, steps: int, rhos: Sequence[float], corr: np.ndarray, seed: int | None = 0
) -> np.ndarray:
    """Φ of :func:`joint_normal_paths`: each step's probability level in (0, 1), shape (series, n, steps).

    The same seed gives the same paths.
    """
    return norm.cdf(joint_normal_paths(n, steps, rhos, corr, np.random.default_rng(seed)))
