"""Case-level options (model.md §5): demand-response events, the green share and the emissions cap.

Demand response (§5.2), for each event with window W = [start_step, end_step) and amount A:

=============  ============================================================
w              binary: event joined (the number 1 when not optional); decided day-ahead (§6)
sf[t]          shortfall [MW] ≥ 0, t ∈ W
baseline[t]    net-import baseline [MW]
M[t]           big-M that frees the row of an event not joined
=============  ============================================================

peak shaving (削峰):   sf[t] ≥ net[t] − (baseline[t] − A) − M[t]·(1 − w),  M = max(0, N[t] − baseline[t] + A)
                      N[t] = min(I[t], −Σ_a inj_min[a,t]): the most net import the assets can draw at t
                      (net = −Σ inj − Σ u, u ≥ 0; inj_min from the bounds of the injections' columns)
valley filling (填谷): sf[t] ≥ (baseline[t] + A) − net[t] − M[t]·(1 − w),  M = max(0, baseline[t] + A + X[t])
revenue price·A·w·|W|·Δ;  cost penalty·Σ sf·Δ

Green share ρ (§5.1):  Σ_t Δ·(Σ_pv p[t] + G[t] − exp[t]) ≥ ρ·Σ_t Δ·consumption[t]
Emissions cap (§5.3):  Σ_t e[t] ≤ emissions_max_t
Both hold in expectation over the scenarios of a stochastic case (§6).

Frequency regulation, the aggregate offer (§5.4): Rg[t] = Σ_b r[b,t] over the regulating batteries
(their bands: :mod:`models.assets.battery`; what the network carries: :mod:`models.network`). With a
minimum offer R_min > 0, a binary o per block: R_min·o ≤ Rg ≤ U·o, U = Σ_b (Pch_b + Pdis_b).

Backup reserve (§5.5), with K = ⌈H/Δ⌉, the critical demand Lc[t] = Σ_a critical_fraction_a·demand_a[t]
and the PV available Pv[t], the horizon taken to repeat:
Q[t] = Σ_{k=1}^{K} max(0, Lc[(t+k) mod N] − Pv[(t+k) mod N])·Δ   [MWh, from the data]
Σ_b ηd_b·(soc_b[t] − soc_min_b·E_b) ≥ Q[t]   for every t
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from models.case import DemandResponseEvent
from models.declare import Block, Horizon, amount


def declare_event(m: Block, ev: DemandResponseEvent, h: Horizon) -> None:
    """One demand-response event (§5.2) on the net import the grid connection offers as ``exchange``."""
    dt = h.dt
    grid = h.case.grid
    window = np.arange(ev.start_step, ev.end_step)
    n = window.size
    A = ev.amount_mw
    baseline = h.series(ev.baseline_mw)[window]
    net = m.port_sum("exchange").take(window)
    w: Any = m.var("w", n=1, binary=True, first_stage=True) if ev.optional else 1.0
    sf = m.var("sf", n=n, index=window.tolist())
    # net = −Σ inj − Σ u with u ≥ 0 (the balances summed over the nodes): the injections' range bounds it
    least_inj, _ = m.range(m.port_sum("injection").take(window))
    if ev.kind == "peak_shaving":
        net_max = np.minimum(h.series(grid.import_max_mw)[window], -least_inj)
        M = np.maximum(0.0, net_max - baseline + A)
        target = baseline - A
        m.add("shortfall_def", sf >= net - target - M * (1 - w), index=window.tolist())
    else:
        net_min = -h.series(grid.export_max_mw)[window]  # u ≥ 0 only lowers net: no bound from the injections
        M = np.maximum(0.0, baseline + A - net_min)
        target = baseline + A
        m.add("shortfall_def", sf >= target - net - M * (1 - w), index=window.tolist())
    m.cost("dr_penalty", ev.shortfall_penalty_cny_per_mwh * dt * sf)
    m.cost("dr_revenue", -ev.price_cny_per_mwh * A * n * dt * w, first_stage=True)

    def in_window(values: np.ndarray) -> np.ndarray:
        out = np.full(h.steps, np.nan)
        out[window] = values
        return out

    m.output("joined", lambda ev_: np.ravel(ev_(w))[:1] > 0.5, table=False)
    m.output("net_import_mw", lambda ev_: in_window(ev_(net)))
    m.output("target_mw", lambda ev_: in_window(baseline + (A if ev.kind == "valley_filling" else -A)
                                                * float(np.ravel(ev_(w))[0] > 0.5)))
    m.output("shortfall_mw", lambda ev_: in_window(ev_(sf)), unmet="demand_response_shortfall")


def report_event(v: dict[str, np.ndarray], ev: DemandResponseEvent, h: Horizon) -> dict[str, Any]:
    """The event's line in the summary: joined, asked, delivered, short, paid."""
    dt = h.dt
    w = slice(ev.start_step, ev.end_step)
    joined = bool(v["joined"][0])
    amount = ev.amount_mw if joined else 0.0
    baseline = h.series(ev.baseline_mw)[w]
    net = v["net_import_mw"][w]
    moved = baseline - net if ev.kind == "peak_shaving" else net - baseline
    delivered = np.clip(moved, 0.0, amount) if joined else np.zeros_like(baseline)
    shortfall_mwh = float(np.nansum(v["shortfall_mw"]) * dt)
    return {
        "id": ev.id,
        "kind": ev.kind,
        "joined": joined,
        "optional": ev.optional,
        "window_steps": [ev.start_step, ev.end_step],
        "from": h.case.timestamps[ev.start_step].isoformat(),
        "to": (h.case.timestamps[ev.end_step - 1] + pd.Timedelta(minutes=h.case.step_minutes)).isoformat(),
        "requested_mwh": amount * ev.length_steps * dt,
        "delivered_mwh": float(delivered.sum() * dt),
        "shortfall_mwh": shortfall_mwh,
        "revenue_cny": ev.price_cny_per_mwh * amount * ev.length_steps * dt,
        "penalty_cny": ev.shortfall_penalty_cny_per_mwh * shortfall_mwh,
    }


def declare_green_share(m: Block, h: Horizon) -> None:
    """The green share (§5.1): renewable energy used at least ρ of end-use consumption, over the horizon."""
    rho = h.case.green_share_min
    if rho is None:
        return
    dt = h.dt
    renewable = m.port_sum("renewable") - m.port_sum("export")
    consumption = m.port_sum("consumption")
    available = float(m.port_sum("renewable_available").const.sum() * dt)
    fixed = float(consumption.const.sum() * dt)

    def explain(_: int) -> str:
        return (f"green_share_min={rho:g} needs at least {amount(rho * fixed)} MWh of renewable energy "
                f"({rho:g} of the {amount(fixed)} MWh of fixed consumption); at most {amount(available)} MWh is "
                "available from PV and green contracts")

    m.add("green_share", dt * renewable.sum() >= rho * dt * consumption.sum(), expected=True, explain=explain)


def declare_emissions_cap(m: Block, h: Horizon) -> None:
    """The emissions cap (§5.3): the horizon's emissions at most ``emissions_max_t``."""
    cap = h.case.emissions_max_t
    if cap is None:
        return

    def explain(_: int) -> str:
        return (f"emissions_max_t={cap:g} t caps the grid energy bought, and the demand the district cannot "
                "serve from PV, green contracts or storage needs more")

    m.add("emissions_cap", m.port_sum("emissions").sum() <= cap, expected=True, explain=explain)


def declare_regulation(m: Block, h: Horizon) -> None:
    """The aggregate regulation offer (§5.4) and its minimum, over the bands the batteries offer."""
    reg = h.case.regulation
    bands = m.ports("regulation")
    if reg is None or not bands:
        return
    B = reg.block_steps
    Rg = m.port_sum("regulation")
    if reg.min_offer_mw > 0:
        blocks = (h.steps + B - 1) // B
        U = float(m.port_sum("regulation_span").const[0])
        o = m.var("offered", n=blocks, binary=True, first_stage=True, index=[b * B for b in range(blocks)]).take(h.t // B)
        m.add("min_offer", Rg >= reg.min_offer_mw * o)
        m.add("offer_if_offered", Rg <= U * o)
    m.output("offer_mw", Rg)


def backup_required_mwh(h: Horizon, critical_mw: np.ndarray, pv_mw: np.ndarray) -> np.ndarray:
    """Q[t] [MWh]: the critical load, less the PV available, over the K = ⌈H/Δ⌉ steps after t (§5.5)."""
    H = h.case.backup_hours
    K = math.ceil(H / h.dt - 1e-9)
    short = np.maximum(0.0, critical_mw - pv_mw) * h.dt
    ahead = (h.t[:, None] + np.arange(1, K + 1)[None, :]) % h.steps
    return short[ahead].sum(axis=1)


def declare_backup(m: Block, h: Horizon) -> None:
    """The backup reserve (§5.5): the batteries hold the critical load through an outage of backup_hours."""
    H = h.case.backup_hours
    if H is None:
        return
    Q = backup_required_mwh(h, m.port_sum("critical").const, m.port_sum("pv_available").const)
    held = m.port_sum("reserve")

    def explain(t: int) -> str:
        return (f"backup_hours={H:g} needs {amount(Q[t])} MWh in the batteries above their minimum at the end of "
                f"{h.when(t)} (the critical load less the PV over the next {H:g} h), more than they can hold then")

    m.add("backup_reserve", held >= Q, explain=explain)
    m.output("required_mwh", Q)
    m.output("held_mwh", held)
