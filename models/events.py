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

import numpy as np
import pyomo.environ as pyo

from models.standard_form import Columns, Reader, StandardForm
from vpp.case import Case, DemandResponseEvent


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


def matrix_demand_response(sf: StandardForm, case: Case, ctx: Any) -> dict[str, Columns]:
    """The events in standard form: ``sf − imp + exp − reduction·w ≥ −baseline`` on the window.

    A mandatory event has w = 1: its reduction moves to the row's bound and its
    revenue to a constant.
    """
    out: dict[str, Columns] = {}
    dt = case.dt_hours
    for ev in case.demand_response:
        n = ev.end_step - ev.start_step
        window = np.arange(ev.start_step, ev.end_step)
        baseline = case.series(ev.baseline_mw)[window]
        revenue = ev.price_cny_per_mwh * ev.reduction_mw * n * dt
        sf_col = sf.cols(n)
        sf.cost(sf_col, n, ev.shortfall_penalty_cny_per_mwh * dt, ev.id, "dr_penalty")
        cols: Columns = {"sf": (sf_col, n)}
        if ev.optional:
            w = sf.cols(1, 0.0, 1.0, integer=True)
            sf.cost(w, 1, -revenue, ev.id, "dr_revenue")
            cols["w"] = (w, 1)
            r = sf.rows(n, lower=-baseline)
            sf.coef(r + np.arange(n), w, -ev.reduction_mw)
        else:
            sf.constant(-revenue, ev.id, "dr_revenue")
            r = sf.rows(n, lower=ev.reduction_mw - baseline)
        rows = r + np.arange(n)
        sf.coef(rows, sf_col + np.arange(n), 1.0)
        sf.coef(rows, ctx.imp + window, -1.0)
        sf.coef(rows, ctx.exp + window, 1.0)
        out[ev.id] = cols
    return out


def matrix_green_share(sf: StandardForm, case: Case, ctx: Any) -> None:
    """The green share in standard form, one row:
    ``Δ·Σ_t (Σ renewable − exp + G − ρ·variable consumption) ≥ ρ·Δ·Σ_t constant consumption``."""
    rho = case.green_share_min
    if rho is None:
        return
    N, dt = case.steps, case.dt_hours
    r = sf.rows(1, lower=rho * dt * ctx.share_const_mw)
    cols = np.concatenate([ctx.exp + ctx.t, *ctx.share_cols])
    vals = np.concatenate([np.full(N, -1.0), *ctx.share_vals])
    sf.coef(r, cols, dt * vals)


def event_values(read: Reader, ev: DemandResponseEvent, steps: int) -> tuple[bool, np.ndarray]:
    """Whether ``ev`` was joined, and its shortfall per step of the horizon [MW], after a solve."""
    shortfall = np.zeros(steps)
    shortfall[ev.start_step : ev.end_step] = read("sf")
    w = read("w")
    joined = bool(w[0] > 0.5) if ev.optional and w is not None else True
    return joined, shortfall
