"""Energy needed by deadlines, power free within bounds: EV fleets (model.md §4.6).

=============  ==============================================
p[t]           consumption [MW], min_power[t] ≤ p ≤ max_power[t]
E              energy over the horizon [MWh]: Σ p·Δ = E
(k, E_k)       requirement: Σ_{t<k} p·Δ ≥ E_k
=============  ==============================================

inj = −p; no cost of its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from models.standard_form import Columns, Reader, StandardForm
from vpp.case import FlexibleLoad


def build(block: pyo.Block, asset: FlexibleLoad, ctx: Any) -> None:
    lo, hi = ctx.series(asset.min_power_mw), ctx.series(asset.max_power_mw)
    dt, N = ctx.dt, ctx.steps
    block.p = pyo.Var(ctx.T, bounds=lambda _b, t: (lo[t], hi[t]))
    block.energy = pyo.Constraint(expr=dt * sum(block.p[t] for t in range(N)) == asset.energy_mwh)
    reqs = asset.requirements
    block.requirement = pyo.Constraint(
        range(len(reqs)),
        rule=lambda b, j: dt * sum(b.p[t] for t in range(reqs[j].by_step)) >= reqs[j].energy_mwh,
    )
    block.injection = pyo.Expression(ctx.T, rule=lambda b, t: -b.p[t])
    block.consumption = pyo.Expression(ctx.T, rule=lambda b, t: b.p[t])


def matrix(sf: StandardForm, asset: FlexibleLoad, ctx: Any, node: str) -> Columns:
    """The same model in standard form: Δ·Σ p = energy, Δ·Σ_{t<k} p ≥ E_k as rows."""
    N, dt, t = ctx.steps, ctx.dt, ctx.t
    p = sf.cols(N, ctx.series(asset.min_power_mw), ctx.series(asset.max_power_mw))
    r = sf.rows(1, asset.energy_mwh, asset.energy_mwh)
    sf.coef(r, p + t, dt)
    reqs = asset.requirements
    if reqs:
        r = sf.rows(len(reqs), lower=np.array([q.energy_mwh for q in reqs]))
        ks = np.array([q.by_step for q in reqs])
        sf.coef(np.repeat(r + np.arange(len(reqs)), ks), p + np.concatenate([np.arange(k) for k in ks]), dt)
    ctx.inject(node, p, -1.0)
    ctx.consumes(p, 1.0)
    return {"p": (p, N)}


def values(read: Reader, asset: FlexibleLoad, ctx: Any) -> dict[str, np.ndarray]:
    p = read("p")
    return {"consumption_mw": p, "injection_mw": -p, "cumulative_mwh": np.cumsum(p) * ctx.dt}
