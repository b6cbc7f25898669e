"""Read a solved model into plain arrays: one reader for every back end, from the declared outputs.

Every element declared its outputs (:meth:`models.declare.Block.output`): the
reader evaluates them at the solution ``x`` (whichever back end found it) and
returns them by element, with the unmet quantities they name, the energy totals
they add to and the cost terms; nothing here knows an asset type.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.assets import ASSETS
from models.build import Built
from models.declare import Element, Lin
from models.declare.program import ScopeState

Values = dict[str, np.ndarray]


@dataclass
class Unmet:
    """One unmet quantity: who, what kind, per step [MW or MW_th] (or one number [MWh or MWh_th])."""

    element: Element
    kind: str
    quantity: str
    values: np.ndarray


@dataclass
class ScopeSolution:
    """The outputs of one scope (a deterministic day, or one scenario) at the solution."""

    name: str
    probability: float
    values: dict[Element, Values]
    tables: dict[Element, list[str]]  # the quantities of each element that are schedule rows, in order
    unmet: list[Unmet]
    totals: dict[str, float]  # energy totals [MWh], by the key the outputs named
    sums: dict[str, np.ndarray]  # the same per step [MW]
    cost_cny: dict[str, float]  # by term, this scope's terms unweighted (first-stage terms in the first)


@dataclass
class Solution:
    """Per-step values [MW unless the name says otherwise] and costs [CNY] of a solved model.

    ``values``, ``unmet``, ``totals`` and ``cost_cny`` are those of the first
    scope (the deterministic day); a stochastic solve has one
    :class:`ScopeSolution` per scenario in ``scenarios``.
    """

    scopes: list[ScopeSolution]
    cost_by_element: list[tuple[str, str, float]]
    objective_cny: float
    extract_seconds: float = 0.0
    _by_id: dict[tuple[str, str], Values] = field(default_factory=dict, repr=False)

    @property
    def first(self) -> ScopeSolution:
        return self.scopes[0]

    @property
    def values(self) -> dict[Element, Values]:
        return self.first.values

    @property
    def cost_cny(self) -> dict[str, float]:
        """Cost by term [CNY], as weighted in the objective (all scopes)."""
        out: dict[str, float] = {}
        for _, term, value in self.cost_by_element:
            out[term] = out.get(term, 0.0) + value
        return out

    def of(self, element_id: str, type: str | None = None) -> Values:
        """The values of an element by id (and type where ids repeat: the root node and the grid)."""
        for e, v in self.values.items():
            if e.id == element_id and (type is None or e.type == type):
                return v
        raise KeyError(element_id)

    @property
    def assets(self) -> dict[str, Values]:
        """Values of every asset, by id."""
        return {e.id: v for e, v in self.values.items() if e.type in ASSETS}

    @property
    def grid(self) -> Values:
        return next(v for e, v in self.values.items() if e.type == "grid")

    @property
    def import_mw(self) -> np.ndarray:
        return self.grid["import_mw"]

    @property
    def export_mw(self) -> np.ndarray:
        return self.grid["export_mw"]

    @property
    def green_mw(self) -> np.ndarray:
        return self.grid["green_mw"]

    @property
    def emissions_t(self) -> np.ndarray:
        return self.grid["emissions_t"]

    @property
    def flow_mw(self) -> dict[str, np.ndarray]:
        return {e.id: v["flow_mw"] for e, v in self.values.items() if e.type == "node" and "flow_mw" in v}

    @property
    def unserved_mw(self) -> dict[str, np.ndarray]:
        return {e.id: v["unserved_mw"] for e, v in self.values.items() if e.type == "node"}

    @property
    def events(self) -> dict[str, Values]:
        return {e.id: v for e, v in self.values.items() if e.type == "demand_response"}


def _evaluate(x: np.ndarray) -> Any:
    def ev(value: Any) -> np.ndarray:
        if isinstance(value, Lin):
            return value.value(x)
        return np.asarray(value, dtype=float)

    return ev


def _scope(state: ScopeState, x: np.ndarray, built: Built, name: str) -> ScopeSolution:
    ev = _evaluate(x)
    values: dict[Element, Values] = {}
    tables: dict[Element, list[str]] = {}
    unmet: list[Unmet] = []
    totals: dict[str, float] = {}
    sums: dict[str, np.ndarray] = {}
    dt = built.case.dt_hours
    steps = built.case.steps
    for out in state.outputs:
        v = out.value
        arr = v(ev) if callable(v) else ev(v)
        arr = np.asarray(arr, dtype=float) if np.asarray(arr).dtype != bool else np.asarray(arr)
        if arr.ndim == 0:
            arr = np.full(steps, float(arr)) if out.table else np.atleast_1d(arr)
        values.setdefault(out.element, {})[out.name] = arr
        if out.table:
            tables.setdefault(out.element, []).append(out.name)
        if out.total is not None:
            totals[out.total] = totals.get(out.total, 0.0) + float(np.nansum(arr) * dt)
            sums[out.total] = sums[out.total] + arr if out.total in sums else arr.astype(float).copy()
        if out.unmet is not None:
            unmet.append(Unmet(out.element, out.unmet, out.name, arr))
    scope = state.scope
    cost: dict[str, float] = {}
    for key, w in ((scope.key, scope.weight), (scope.first_stage_key, scope.case_weight)):
        for _, term, value in built.arrays.term_costs(x, scope=key):
            cost[term] = cost.get(term, 0.0) + (value / w if w else 0.0)
    return ScopeSolution(name, scope.probability, values, tables, unmet, totals, sums, cost)


def extract(built: Built) -> Solution:
    """Every declared output, unmet quantity, total and cost term after a solve, whichever back end solved it."""
    t0 = time.perf_counter()
    x = built.x
    if x is None:
        raise ValueError("the model has not been solved")
    scopes = [_scope(state, x, built, state.scope.name) for state in built.scopes]
    by_element = built.arrays.term_costs(x)
    objective = float(built.arrays.cost @ x + built.arrays.offset)
    return Solution(scopes=scopes, cost_by_element=by_element, objective_cny=objective,
                    extract_seconds=time.perf_counter() - t0)
