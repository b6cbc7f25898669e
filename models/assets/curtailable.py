"""Interruptible demand: demand response by load shedding (model.md §4.4).

=============  ===============================================================
r[t]           reduction [MW], 0 ≤ r ≤ R[t] = min(max_reduction[t], demand[t])
z[t]           binary: curtailing in step t   (only when D > 1 or max_events)
s[t]           start of a curtailment, 0 ≤ s ≤ 1 (same condition)
D              min_duration_steps
=============  ===============================================================

inj = −(demand − r);  cost c·Σ r·Δ
With binaries: r ≤ R·z;  s[t] ≥ z[t] − z[t−1] (z[−1] = 0);
z[t] ≥ Σ_{τ=max(0,t−D+1)}^{t} s[τ];  Σ s ≤ max_events
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from models.standard_form import Columns, Reader, StandardForm
from vpp.case import CurtailableLoad


def build(block: pyo.Block, asset: CurtailableLoad, ctx: Any) -> None:
    demand = ctx.series(asset.demand_mw)
    R = np.minimum(ctx.series(asset.max_reduction_mw), demand)
    N, D = ctx.steps, asset.min_duration_steps
    block.r = pyo.Var(ctx.T, bounds=lambda _b, t: (0, R[t]))
    if asset.needs_binaries:
        block.z = pyo.Var(ctx.T, domain=pyo.Binary)
        block.s = pyo.Var(ctx.T, bounds=(0, 1))
        block.reduce_if_z = pyo.Constraint(ctx.T, rule=lambda b, t: b.r[t] <= R[t] * b.z[t])
        block.start_def = pyo.Constraint(
            ctx.T, rule=lambda b, t: b.s[t] >= b.z[t] - (b.z[t - 1] if t > 0 else 0)
        )
        if D > 1:
            block.min_duration = pyo.Constraint(
                ctx.T, rule=lambda b, t: b.z[t] >= sum(b.s[k] for k in range(max(0, t - D + 1), t + 1))
            )
        if asset.max_events is not None:
            block.max_events = pyo.Constraint(expr=sum(block.s[t] for t in range(N)) <= asset.max_events)
    block.injection = pyo.Expression(ctx.T, rule=lambda b, t: b.r[t] - float(demand[t]))
    block.consumption = pyo.Expression(ctx.T, rule=lambda b, t: float(demand[t]) - b.r[t])
    if asset.cost_cny_per_mwh:
        block.cost_load_curtailment = pyo.Expression(
            expr=asset.cost_cny_per_mwh * ctx.dt * sum(block.r[t] for t in range(N))
        )


def matrix(sf: StandardForm, asset: CurtailableLoad, ctx: Any, node: str) -> Columns:
    """The same model in standard form; −demand moves to the balance's right-hand side."""
    demand = ctx.series(asset.demand_mw)
    R = np.minimum(ctx.series(asset.max_reduction_mw), demand)
    N, D, t = ctx.steps, asset.min_duration_steps, ctx.t
    r_col = sf.cols(N, 0.0, R)
    cols: Columns = {"r": (r_col, N)}
    if asset.needs_binaries:
        z = sf.cols(N, 0.0, 1.0, integer=True)
        s = sf.cols(N, 0.0, 1.0)
        cols.update(z=(z, N), s=(s, N))
        row = sf.rows(N, upper=0.0)  # r − R·z ≤ 0
        sf.coef(row + t, r_col + t, 1.0)
        sf.coef(row + t, z + t, -R)
        row = sf.rows(N, lower=0.0)  # s[t] − z[t] + z[t−1] ≥ 0
        sf.coef(row + t, s + t, 1.0)
        sf.coef(row + t, z + t, -1.0)
        sf.coef(row + t[1:], z + t[:-1], 1.0)
        if D > 1:
            row = sf.rows(N, lower=0.0)  # z[t] − Σ_{τ=max(0,t−D+1)}^{t} s[τ] ≥ 0
            sf.coef(row + t, z + t, 1.0)
            for lag in range(min(D, N)):
                sf.coef(row + t[lag:], s + t[: N - lag], -1.0)
        if asset.max_events is not None:
            row = sf.rows(1, upper=float(asset.max_events))
            sf.coef(row, s + t, 1.0)
    if asset.cost_cny_per_mwh:
        sf.cost(r_col, N, asset.cost_cny_per_mwh * ctx.dt, asset.id, "load_curtailment")
    ctx.inject(node, r_col, 1.0)
    ctx.constant_injection(node, -demand)
    ctx.consumes(r_col, -1.0)  # consumption = demand − r
    ctx.consumes_constant(demand)
    return cols


def values(read: Reader, asset: CurtailableLoad, ctx: Any) -> dict[str, np.ndarray]:
    demand = ctx.series(asset.demand_mw)
    r = read("r")
    out = {"demand_mw": demand, "reduction_mw": r, "consumption_mw": demand - r, "injection_mw": r - demand}
    if asset.needs_binaries:
        out["curtailing"] = np.round(read("z"))
    else:
        out["curtailing"] = (r > 1e-6).astype(float)
    return out
