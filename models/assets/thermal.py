"""Ice or hot-water store charged by electric chillers or heaters (model.md §4.8).

=============  =========================================================
e[t]           electric power of the chillers/heaters [MW], 0 ≤ e ≤ max_power
h[t]           thermal level at the end of step t [MWh_th], 0 ≤ h ≤ capacity
w[t]           unserved thermal demand [MW_th] ≥ 0, cost voll
cop            coefficient of performance [MW_th / MW]
λ              standing loss [1/h]
=============  =========================================================

h[t] = (1 − λΔ)·h[t−1] + (cop·e[t] − demand[t] + w[t])·Δ,  h[−1] = level_initial·capacity,
h[N−1] ≥ h[−1];  inj = −e;  cost voll·Σ w·Δ
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from models.assets._common import values as _values
from vpp.case import ThermalStorage


def build(block: pyo.Block, asset: ThermalStorage, ctx: Any) -> None:
    demand = ctx.series(asset.thermal_demand_mw)
    dt, N = ctx.dt, ctx.steps
    keep = 1.0 - asset.loss_per_hour * dt
    h0 = asset.level_initial * asset.capacity_mwh_th
    block.e = pyo.Var(ctx.T, bounds=(0, asset.max_power_mw))
    block.h = pyo.Var(ctx.T, bounds=(0, asset.capacity_mwh_th))
    block.w = pyo.Var(ctx.T, domain=pyo.NonNegativeReals)

    def level_balance(b: pyo.Block, t: int) -> Any:
        before = b.h[t - 1] if t > 0 else h0
        return b.h[t] == keep * before + dt * (asset.cop * b.e[t] - float(demand[t]) + b.w[t])

    block.level_balance = pyo.Constraint(ctx.T, rule=level_balance)
    block.level_final = pyo.Constraint(expr=block.h[N - 1] >= h0)
    block.injection = pyo.Expression(ctx.T, rule=lambda b, t: -b.e[t])
    block.consumption = pyo.Expression(ctx.T, rule=lambda b, t: b.e[t])
    block.cost_unserved_thermal = pyo.Expression(
        expr=ctx.case.voll_cny_per_mwh * dt * sum(block.w[t] for t in range(N))
    )


def values(block: pyo.Block, asset: ThermalStorage, ctx: Any) -> dict[str, np.ndarray]:
    e = _values(block.e, ctx.steps)
    return {
        "consumption_mw": e,
        "injection_mw": -e,
        "level_mwh_th": _values(block.h, ctx.steps),
        "thermal_demand_mw_th": ctx.series(asset.thermal_demand_mw),
        "unserved_thermal_mw_th": _values(block.w, ctx.steps),
    }
