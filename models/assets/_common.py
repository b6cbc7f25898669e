"""Small helpers shared by the asset modules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo


def values(component: Any, steps: int) -> np.ndarray:
    """Per-step values of an indexed Var or Expression after a solve [its unit]."""
    return np.array([pyo.value(component[t]) for t in range(steps)], dtype=float)


def value_or_one(x: Any) -> float:
    """The value of a Var or a plain number (decisions fixed at 1 are plain numbers)."""
    return float(pyo.value(x))
