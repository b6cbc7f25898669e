"""Small helpers shared by the asset modules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from models.standard_form import Reader


def values(component: Any, steps: int) -> np.ndarray:
    """Per-step values of an indexed Var or Expression after a solve [its unit]."""
    return np.array([pyo.value(component[t]) for t in range(steps)], dtype=float)


def pyomo_reader(block: Any) -> Reader:
    """A :data:`~models.standard_form.Reader` of a solved Pyomo block: its Var's values by name, in index order."""

    def read(name: str) -> np.ndarray | None:
        var = block.component(name)
        if var is None:
            return None
        if not var.is_indexed():
            return np.array([pyo.value(var)], dtype=float)
        return np.array([pyo.value(v) for v in var.values()], dtype=float)

    return read
