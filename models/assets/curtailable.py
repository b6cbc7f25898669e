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

from models.assets._common import values as _values
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


def values(block: pyo.Block, asset: CurtailableLoad, ctx: Any) -> dict[str, np.ndarray]:
    demand = ctx.series(asset.demand_mw)
    r = _values(block.r, ctx.steps)
    out = {"demand_mw": demand, "reduction_mw": r, "consumption_mw": demand - r, "injection_mw": r - demand}
    if asset.needs_binaries:
        out["curtailing"] = np.round(_values(block.z, ctx.steps))
    else:
        out["curtailing"] = (r > 1e-6).astype(float)
    return out
