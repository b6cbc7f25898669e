"""Read a solved model (either engine) into plain arrays, so nothing downstream needs Pyomo."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from models.assets import BUILDERS, green, shiftable
from models.assets._common import pyomo_reader
from models.assets._common import values as _values
from models.build import BuildContext, BuiltModel, cost_terms
from models.events import event_values
from models.matrix import MatrixModel
from models.standard_form import Reader
from vpp.case import Case


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


def extract(built: BuiltModel | MatrixModel) -> Solution:
    """Values of every asset, flow, exchange, event and cost term after a solve, either engine."""
    if isinstance(built, MatrixModel):
        return _extract_matrix(built)
    with PauseGC():
        return _extract_pyomo(built)


def _assets(case: Case, readers: dict[str, Reader]) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, bool], dict[str, int]]:
    """Per-asset values, contracts taken and shiftable starts, from each asset's reader."""
    ctx = BuildContext(case=case, T=None, dt=case.dt_hours, steps=case.steps)
    assets = {a.id: BUILDERS[a.type].values(readers[a.id], a, ctx) for a in case.assets}
    taken = {a.id: green.taken(readers[a.id], a) for a in case.assets if a.type == "green_contract"}
    starts = {
        a.id: shiftable.start_step(readers[a.id], a, case.steps) for a in case.assets if a.type == "shiftable_load"
    }
    return assets, taken, starts


def _events(case: Case, readers: dict[str, Reader]) -> dict[str, EventOutcome]:
    out = {}
    for ev in case.demand_response:
        joined, shortfall = event_values(readers[ev.id], ev, case.steps)
        out[ev.id] = EventOutcome(joined=joined, shortfall_mw=shortfall)
    return out


def _extract_pyomo(built: BuiltModel) -> Solution:
    t0 = time.perf_counter()
    case, m = built.case, built.model
    N = case.steps
    root = case.network.root
    readers = {a.id: pyomo_reader(m.asset[a.id]) for a in case.assets}
    readers.update({ev.id: pyomo_reader(m.dr[ev.id]) for ev in case.demand_response})
    assets, taken, starts = _assets(case, readers)
    flow = {n.id: np.array([m.f[n.id, t].value for t in range(N)], dtype=float) for n in case.network.nodes}
    unserved = {
        n: np.array([m.u[n, t].value for t in range(N)], dtype=float)
        for n in [root, *(x.id for x in case.network.nodes)]
    }
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
        events=_events(case, readers),
        contracts_taken=taken,
        shiftable_start=starts,
        objective_cny=float(pyo.value(m.obj)),
        extract_seconds=time.perf_counter() - t0,
    )


def _extract_matrix(model: MatrixModel) -> Solution:
    t0 = time.perf_counter()
    case, x = model.case, model.x
    if x is None:
        raise ValueError("the model has not been solved")
    N, K = case.steps, len(model.nodes)
    readers = {element: model.reader(element) for element in model.columns}
    assets, taken, starts = _assets(case, readers)
    system = readers["system"]
    imp, exp = system("imp"), system("exp")
    green_mw = np.zeros(N)
    for a in case.assets:
        if a.type == "green_contract":
            green_mw += assets[a.id]["purchase_mw"]
    by_element = model.arrays.term_costs(x)
    by_term: dict[str, float] = {}
    for _, term, value in by_element:
        by_term[term] = by_term.get(term, 0.0) + value
    return Solution(
        assets=assets,
        flow_mw=dict(zip(model.nodes[1:], system("f").reshape(K - 1, N), strict=True)),
        unserved_mw=dict(zip(model.nodes, system("u").reshape(K, N), strict=True)),
        import_mw=imp,
        export_mw=exp,
        green_mw=green_mw,
        emissions_t=case.series(case.grid.emission_t_per_mwh) * (imp - green_mw) * case.dt_hours,
        cost_cny=by_term,
        cost_by_element=by_element,
        events=_events(case, readers),
        contracts_taken=taken,
        shiftable_start=starts,
        objective_cny=float(sum(by_term.values())),
        extract_seconds=time.perf_counter() - t0,
    )
