"""Read a solved model into plain arrays, so nothing downstream needs Pyomo."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from models.assets import BUILDERS, green, shiftable
from models.assets._common import value_or_one
from models.assets._common import values as _values
from models.build import BuildContext, BuiltModel, cost_terms


@dataclass
class EventOutcome:
    """A demand-response event after the solve."""

    joined: bool
    shortfall_mw: np.ndarray  # per step of the horizon, zero outside the window [MW]


@dataclass
class Solution:
    """Per-step values [MW unless named otherwise] and cost terms [CNY] of a solved model."""

    assets: dict[str, dict[str, np.ndarray]]
    flow_mw: dict[str, np.ndarray]
    unserved_mw: dict[str, np.ndarray]
    import_mw: np.ndarray
    export_mw: np.ndarray
    green_mw: np.ndarray
    emissions_t: np.ndarray
    cost_cny: dict[str, float]
    cost_by_element: list[tuple[str, str, float]]
    events: dict[str, EventOutcome]
    contracts_taken: dict[str, bool]
    shiftable_start: dict[str, int]
    objective_cny: float
    extract_seconds: float = 0.0


def extract(built: BuiltModel) -> Solution:
    """Values of every asset, flow, exchange, event and cost term after a solve."""
    with PauseGC():
        return _extract(built)


def _extract(built: BuiltModel) -> Solution:
    t0 = time.perf_counter()
    case, m = built.case, built.model
    N = case.steps
    ctx = BuildContext(case=case, T=m.T, dt=case.dt_hours, steps=N)
    root = case.network.root
    assets = {a.id: BUILDERS[a.type].values(m.asset[a.id], a, ctx) for a in case.assets}
    flow = {n.id: np.array([m.f[n.id, t].value for t in range(N)], dtype=float) for n in case.network.nodes}
    unserved = {
        n: np.array([m.u[n, t].value for t in range(N)], dtype=float)
        for n in [root, *(x.id for x in case.network.nodes)]
    }
    events: dict[str, EventOutcome] = {}
    for ev in case.demand_response:
        block = m.dr[ev.id]
        sf = np.zeros(N)
        for t in range(ev.start_step, ev.end_step):
            sf[t] = block.sf[t].value
        joined = value_or_one(block.w) > 0.5 if ev.optional else True
        events[ev.id] = EventOutcome(joined=joined, shortfall_mw=sf)

    by_term: dict[str, float] = {}
    by_element: list[tuple[str, str, float]] = []
    for term, expr in cost_terms(m):
        value = float(pyo.value(expr))
        block = expr.parent_block()
        element = "system" if block is m else str(block.index())
        by_term[term] = by_term.get(term, 0.0) + value
        by_element.append((element, term, value))
    return Solution(
        assets=assets,
        flow_mw=flow,
        unserved_mw=unserved,
        import_mw=_values(m.imp, N),
        export_mw=_values(m.exp, N),
        green_mw=_values(m.G, N),
        emissions_t=_values(m.emissions_t, N),
        cost_cny=by_term,
        cost_by_element=by_element,
        events=events,
        contracts_taken={a.id: green.taken(m.asset[a.id], a) for a in case.assets if a.type == "green_contract"},
        shiftable_start={
            a.id: shiftable.start_step(m.asset[a.id], a, N) for a in case.assets if a.type == "shiftable_load"
        },
        objective_cny=float(pyo.value(m.obj)),
        extract_seconds=time.perf_counter() - t0,
    )
