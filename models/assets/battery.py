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

Sizing variant (:func:`make_sizable`, used by :mod:`models.sizing` only; the
default formulation above is unchanged). The battery is built as above with
placeholder capacities Pmax = ``power_mw`` and Emax = ``energy_mwh`` (the
largest size allowed), then its capacities become the decision variables
P ∈ [0, Pmax] [MW] and E ∈ [0, Emax] [MWh], shared by every day of the model:

=============  ===================================================
P, E           sized power [MW] (charge = discharge) and energy [MWh]
Pmax, Emax     their upper bounds: the big-M of the binaries
=============  ===================================================

0 ≤ ch ≤ P,  0 ≤ dis ≤ P                 (linear: P is a variable)
ch ≤ Pmax·b,  dis ≤ Pmax·(1 − b)         (where binaries are kept: big-M with M = Pmax,
                                          valid because P ≤ Pmax; together with the
                                          rows above this is exactly ch ≤ P·b, dis ≤ P·(1 − b))
soc_min·E ≤ soc[t] ≤ soc_max·E
soc[0] = (1 − σΔ)·soc_initial·E + ηc·ch[0]·Δ − dis[0]·Δ/ηd
soc[N−1] ≥ soc_final_min·E;   Σ dis·Δ ≤ max_cycles·E (when set)

Every row stays linear because P and E only multiply constants. The valid
cut ch/Pch + dis/Pdis ≤ 1 would divide by a variable and is refused here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from models.standard_form import Columns, Reader, StandardForm
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


def make_sizable(block: pyo.Block, asset: Battery, dt: float, power: Any, energy: Any) -> None:
    """Turn a built battery block into its sizing variant (see the module docstring).

    ``power`` [MW] and ``energy`` [MWh] are Pyomo variables (or expressions)
    whose upper bounds are the asset's ``power_mw`` and ``energy_mwh`` (the
    placeholder capacities the block was built with).
    """
    if block.component("power_cut") is not None:
        raise ValueError(f"battery {asset.id!r}: the storage cut divides by the power and cannot be sized")
    if asset.charge_power_mw is not None or asset.discharge_power_mw is not None:
        raise ValueError(f"battery {asset.id!r}: sizing takes one power_mw for charge and discharge")
    T = list(block.ch.index_set())
    N = len(T)
    eta_c, eta_d = asset.charge_efficiency, asset.discharge_efficiency
    keep = 1.0 - asset.self_discharge_per_hour * dt
    block.charge_cap = pyo.Constraint(T, rule=lambda b, t: b.ch[t] <= power)
    block.discharge_cap = pyo.Constraint(T, rule=lambda b, t: b.dis[t] <= power)
    for t in T:
        block.soc[t].setlb(0.0)
    block.soc_low = pyo.Constraint(T, rule=lambda b, t: b.soc[t] >= asset.soc_min * energy)
    block.soc_high = pyo.Constraint(T, rule=lambda b, t: b.soc[t] <= asset.soc_max * energy)
    block.soc_balance[0].set_value(
        block.soc[0] == keep * asset.soc_initial * energy + eta_c * dt * block.ch[0] - dt / eta_d * block.dis[0]
    )
    block.soc_final.set_value(block.soc[N - 1] >= asset.final_min * energy)
    if asset.max_cycles is not None:
        block.cycles.set_value(dt * sum(block.dis[t] for t in T) <= asset.max_cycles * energy)


def matrix(sf: StandardForm, asset: Battery, ctx: Any, node: str) -> Columns:
    """The same model in standard form; soc[N−1] ≥ soc_final_min·E is the bound of the last soc column."""
    N, dt, t = ctx.steps, ctx.dt, ctx.t
    E, pch, pdis = asset.energy_mwh, asset.charge_mw, asset.discharge_mw
    keep = 1.0 - asset.self_discharge_per_hour * dt
    soc_lo = np.full(N, asset.soc_min * E)
    soc_lo[-1] = max(soc_lo[-1], asset.final_min * E)
    ch = sf.cols(N, 0.0, pch)
    dis = sf.cols(N, 0.0, pdis)
    soc = sf.cols(N, soc_lo, asset.soc_max * E)
    cols: Columns = {"ch": (ch, N), "dis": (dis, N), "soc": (soc, N)}
    if ctx.formulation.battery_needs_binary(asset.id):
        b = sf.cols(N, 0.0, 1.0, integer=True)
        cols["b"] = (b, N)
        r = sf.rows(N, upper=0.0)  # ch − Pch·b ≤ 0
        sf.coef(r + t, ch + t, 1.0)
        sf.coef(r + t, b + t, -pch)
        r = sf.rows(N, upper=pdis)  # dis + Pdis·b ≤ Pdis
        sf.coef(r + t, dis + t, 1.0)
        sf.coef(r + t, b + t, pdis)
    if ctx.formulation.storage_cut and pch > 0 and pdis > 0:
        r = sf.rows(N, upper=1.0)  # ch/Pch + dis/Pdis ≤ 1
        sf.coef(r + t, ch + t, 1.0 / pch)
        sf.coef(r + t, dis + t, 1.0 / pdis)
    rhs = np.zeros(N)
    rhs[0] = keep * asset.soc_initial * E
    r = sf.rows(N, rhs, rhs)  # soc[t] − keep·soc[t−1] − ηc·Δ·ch[t] + Δ/ηd·dis[t] = keep·soc[−1]·[t = 0]
    sf.coef(r + t, soc + t, 1.0)
    sf.coef(r + t[1:], soc + t[:-1], -keep)
    sf.coef(r + t, ch + t, -asset.charge_efficiency * dt)
    sf.coef(r + t, dis + t, dt / asset.discharge_efficiency)
    if asset.max_cycles is not None:
        r = sf.rows(1, upper=asset.max_cycles * E)
        sf.coef(r, dis + t, dt)
    if asset.degradation_cny_per_mwh:
        sf.cost(dis, N, asset.degradation_cny_per_mwh * dt, asset.id, "degradation")
    ctx.inject(node, dis, 1.0)
    ctx.inject(node, ch, -1.0)
    return cols


def values(read: Reader, asset: Battery, ctx: Any) -> dict[str, np.ndarray]:
    ch, dis, soc = read("ch"), read("dis"), read("soc")
    return {
        "charge_mw": ch,
        "discharge_mw": dis,
        "injection_mw": dis - ch,
        "soc_mwh": soc,
        "soc_fraction": soc / asset.energy_mwh if asset.energy_mwh > 0 else np.zeros_like(soc),
    }
