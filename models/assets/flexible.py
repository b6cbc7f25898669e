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

from models.assets._common import values as _values
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


def values(block: pyo.Block, asset: FlexibleLoad, ctx: Any) -> dict[str, np.ndarray]:
    p = _values(block.p, ctx.steps)
    return {"consumption_mw": p, "injection_mw": -p, "cumulative_mwh": np.cumsum(p) * ctx.dt}
