"""Small helpers for regular time series, shared by the tariffs and the forecasts."""

from __future__ import annotations

import numpy as np
import pandas as pd


def step_minutes_of(idx: pd.DatetimeIndex, step_minutes: float | None = None) -> float:
    """Step length [min] of a regular index: ``step_minutes`` when given, else inferred.

    Raises ValueError when it is given and not > 0, or when it must be inferred
    from fewer than two timestamps or from unevenly spaced ones.
    """
    if step_minutes is not None:
        if isinstance(step_minutes, bool) or not (isinstance(step_minutes, (int, float)) and step_minutes > 0):
            raise ValueError(f"step_minutes must be a number > 0 [min], got {step_minutes!r}")
        return float(step_minutes)
    if len(idx) < 2:
        raise ValueError("cannot infer the step length from fewer than 2 timestamps: pass step_minutes")
    steps = np.asarray((idx[1:] - idx[:-1]) / pd.Timedelta(minutes=1), dtype=float)
    if not np.allclose(steps, steps[0]) or steps[0] <= 0:
        raise ValueError(
            "timestamps are not evenly spaced and increasing: pass step_minutes with a regular index"
        )
    return float(steps[0])
