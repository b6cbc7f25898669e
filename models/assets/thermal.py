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

from models.standard_form import Columns, Reader, StandardForm
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


def matrix(sf: StandardForm, asset: ThermalStorage, ctx: Any, node: str) -> Columns:
    """The same model in standard form; h[N−1] ≥ h[−1] is the bound of the last h column."""
    N, dt, t = ctx.steps, ctx.dt, ctx.t
    demand = ctx.series(asset.thermal_demand_mw)
    keep = 1.0 - asset.loss_per_hour * dt
    h0 = asset.level_initial * asset.capacity_mwh_th
    h_lo = np.zeros(N)
    h_lo[-1] = h0
    e = sf.cols(N, 0.0, asset.max_power_mw)
    h = sf.cols(N, h_lo, asset.capacity_mwh_th)
    w = sf.cols(N)
    sf.cost(w, N, ctx.case.voll_cny_per_mwh * dt, asset.id, "unserved_thermal")
    rhs = -dt * demand
    rhs[0] += keep * h0
    r = sf.rows(N, rhs, rhs)  # h[t] − keep·h[t−1] − cop·Δ·e[t] − Δ·w[t] = −Δ·demand[t] (+ keep·h[−1] at t = 0)
    sf.coef(r + t, h + t, 1.0)
    sf.coef(r + t[1:], h + t[:-1], -keep)
    sf.coef(r + t, e + t, -asset.cop * dt)
    sf.coef(r + t, w + t, -dt)
    ctx.inject(node, e, -1.0)
    ctx.consumes(e, 1.0)
    return {"e": (e, N), "h": (h, N), "w": (w, N)}


def values(read: Reader, asset: ThermalStorage, ctx: Any) -> dict[str, np.ndarray]:
    e = read("e")
    return {
        "consumption_mw": e,
        "injection_mw": -e,
        "level_mwh_th": read("h"),
        "thermal_demand_mw_th": ctx.series(asset.thermal_demand_mw),
        "unserved_thermal_mw_th": read("w"),
    }
