"""Case-level options (model.md §5): demand-response events and the green-share target.

Demand response, for each event k with window W = [start_step, end_step):

=============  ============================================================
w              binary: event joined (the number 1 when not optional)
sf[t]          shortfall [MW] ≥ 0, t ∈ W
baseline[t]    net-import baseline [MW]; the event asks it lowered by ``reduction``
=============  ============================================================

sf[t] ≥ (imp[t] − exp[t]) − (baseline[t] − reduction·w)
revenue price·reduction·w·|W|·Δ;  cost penalty·Σ sf·Δ

Green share ρ:  Σ_t Δ·(Σ_pv p[t] − exp[t] + G[t]) ≥ ρ·Σ_t Δ·consumption[t]
"""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from vpp.case import Case


def build_demand_response(m: pyo.ConcreteModel, case: Case) -> None:
    """Add the block ``dr[<event id>]`` for every event."""
    events = {ev.id: ev for ev in case.demand_response}
    dt = case.dt_hours

    def rule(block: pyo.Block, eid: str) -> None:
        ev = events[eid]
        baseline = case.series(ev.baseline_mw)
        window = list(range(ev.start_step, ev.end_step))
        if ev.optional:
            block.w = pyo.Var(domain=pyo.Binary)
            w: Any = block.w
        else:
            w = 1.0
        block.sf = pyo.Var(window, domain=pyo.NonNegativeReals)
        block.shortfall_def = pyo.Constraint(
            window,
            rule=lambda b, t: b.sf[t] >= m.imp[t] - m.exp[t] - (float(baseline[t]) - ev.reduction_mw * w),
        )
        block.cost_dr_penalty = pyo.Expression(
            expr=ev.shortfall_penalty_cny_per_mwh * dt * sum(block.sf[t] for t in window)
        )
        block.cost_dr_revenue = pyo.Expression(
            expr=-ev.price_cny_per_mwh * ev.reduction_mw * len(window) * dt * w
        )

    if events:
        m.dr = pyo.Block(list(events), rule=rule)


def build_green_share(
    m: pyo.ConcreteModel, case: Case, renewable: list[Any], consumption: list[Any]
) -> None:
    """Add ``green_share`` when ``green_share_min`` is set."""
    rho = case.green_share_min
    if rho is None:
        return
    T = range(case.steps)
    used = sum(sum(r[t] for r in renewable) - m.exp[t] + m.G[t] for t in T)
    consumed = sum(sum(c[t] for c in consumption) for t in T)
    m.green_share = pyo.Constraint(expr=case.dt_hours * used >= rho * case.dt_hours * consumed)
