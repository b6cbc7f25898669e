"""What a declaration reads besides its own element: the case of its scenario, the steps and Δ."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from models.schema import series

if TYPE_CHECKING:
    from models.case import Case


@dataclass(frozen=True)
class Horizon:
    """The time grid and data one scope of the model is declared with.

    case: the case of this scope (a scenario's series in place, model.md §6).
    base: the case as given (first-stage bounds: the declared plan, §3).
    billing: the billing period the day belongs to when several days share one
        maximum-demand charge (storage sizing's typical days of a month); None: the day is its own.
    steps: N; dt: Δ [h]; t: ``np.arange(N)``.
    """

    case: Case
    base: Case
    scenario: str = ""
    billing: Any = None
    steps: int = field(init=False)
    dt: float = field(init=False)
    t: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", self.case.steps)
        object.__setattr__(self, "dt", self.case.dt_hours)
        object.__setattr__(self, "t", np.arange(self.case.steps))

    def series(self, value: Any) -> np.ndarray:
        """A series field of the case as an array of N floats."""
        return series(value, self.steps)

    def when(self, t: int) -> str:
        """Step ``t`` as an operator reads it: ``step 37 (09:15)``."""
        return f"step {t} ({self.case.timestamps[t]:%H:%M})"


def amount(x: float) -> str:
    """A quantity for a sentence: three significant figures, thousands separated (``0.5``, ``1,234``)."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


@dataclass(frozen=True)
class RuleContext:
    """What an asset's input rules may read besides the asset: the horizon and the root, when they are valid.

    Each is None when the case's own field is missing or invalid (its problem is reported there).
    """

    steps: int | None = None
    dt: float | None = None
    root: str | None = None

    def series(self, value: Any) -> np.ndarray:
        """A series field as an array of ``steps`` floats (``steps`` must be known)."""
        if self.steps is None:
            raise ValueError("the number of steps is not known")
        return series(value, self.steps)
