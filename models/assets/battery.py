"""Electrochemical storage (model.md §4.3).

=============  ===================================================
ch[t], dis[t]  charge / discharge power [MW]
b[t]           binary: 1 = may charge, 0 = may discharge
soc[t]         stored energy at the end of step t [MWh]
Pch, Pdis      charge / discharge limits [MW]
E              energy capacity [MWh]
ηc, ηd         charge / discharge efficiency
σ              self-discharge [1/h]
=============  ===================================================

0 ≤ ch ≤ Pch·b,  0 ≤ dis ≤ Pdis·(1 − b)   (b only where the formulation keeps it, see Formulation)
ch/Pch + dis/Pdis ≤ 1                       (Formulation.storage_cut: a valid, tighter cut)
soc[t] = (1 − σΔ)·soc[t−1] + ηc·ch[t]·Δ − dis[t]·Δ/ηd,   soc[−1] = soc_initial·E
soc_min·E ≤ soc[t] ≤ soc_max·E,   soc[N−1] ≥ soc_final_min·E
Σ dis·Δ ≤ max_cycles·E  (when max_cycles is set)
inj = dis − ch;  cost degradation·Σ dis·Δ
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from models.assets._common import values as _values
from vpp.case import Battery


def build(block: pyo.Block, asset: Battery, ctx: Any) -> None:
    E, dt, N = asset.energy_mwh, ctx.dt, ctx.steps
    pch, pdis = asset.charge_mw, asset.discharge_mw
    eta_c, eta_d = asset.charge_efficiency, asset.discharge_efficiency
    keep = 1.0 - asset.self_discharge_per_hour * dt
    soc0 = asset.soc_initial * E

    block.ch = pyo.Var(ctx.T, bounds=(0, pch))
    block.dis = pyo.Var(ctx.T, bounds=(0, pdis))
    block.soc = pyo.Var(ctx.T, bounds=(asset.soc_min * E, asset.soc_max * E))
    if ctx.formulation.battery_needs_binary(asset.id):
        block.b = pyo.Var(ctx.T, domain=pyo.Binary)
        block.charge_if_b = pyo.Constraint(ctx.T, rule=lambda b, t: b.ch[t] <= pch * b.b[t])
        block.discharge_if_not_b = pyo.Constraint(ctx.T, rule=lambda b, t: b.dis[t] <= pdis * (1 - b.b[t]))
    if ctx.formulation.storage_cut and pch > 0 and pdis > 0:
        block.power_cut = pyo.Constraint(ctx.T, rule=lambda b, t: b.ch[t] / pch + b.dis[t] / pdis <= 1)

    def soc_balance(b: pyo.Block, t: int) -> Any:
        before = b.soc[t - 1] if t > 0 else soc0
        return b.soc[t] == keep * before + eta_c * dt * b.ch[t] - dt / eta_d * b.dis[t]

    block.soc_balance = pyo.Constraint(ctx.T, rule=soc_balance)
    block.soc_final = pyo.Constraint(expr=block.soc[N - 1] >= asset.final_min * E)
    if asset.max_cycles is not None:
        block.cycles = pyo.Constraint(expr=dt * sum(block.dis[t] for t in range(N)) <= asset.max_cycles * E)
    block.injection = pyo.Expression(ctx.T, rule=lambda b, t: b.dis[t] - b.ch[t])
    if asset.degradation_cny_per_mwh:
        block.cost_degradation = pyo.Expression(
            expr=asset.degradation_cny_per_mwh * dt * sum(block.dis[t] for t in range(N))
        )


def values(block: pyo.Block, asset: Battery, ctx: Any) -> dict[str, np.ndarray]:
    ch, dis = _values(block.ch, ctx.steps), _values(block.dis, ctx.steps)
    soc = _values(block.soc, ctx.steps)
    return {
        "charge_mw": ch,
        "discharge_mw": dis,
        "injection_mw": dis - ch,
        "soc_mwh": soc,
        "soc_fraction": soc / asset.energy_mwh if asset.energy_mwh > 0 else np.zeros_like(soc),
    }
