"""Electrochemical storage (model.md §4.3).

=============  ===================================================
ch[t], dis[t]  charge / discharge power [MW]
b[t]           binary: 1 = may charge, 0 = may discharge
soc[t]         stored energy at the end of step t [MWh]
Pch, Pdis      charge / discharge limits [MW]
E              energy capacity [MWh]
ηc, ηd         charge / discharge efficiency
σ              self-discharge [1/h]
r[t]           regulation band [MW] ≥ 0 (with ``regulation``, §5.4): one per block of B steps, decided day-ahead
τ, α           duration of a full deployment [h], expected deployment fraction
π_c, π_m, μ, K capacity price [CNY/MW·h], mileage price [CNY/MW], mileage [MW/MW·h], performance
=============  ===================================================

0 ≤ ch ≤ Pch,  0 ≤ dis ≤ Pdis
ch ≤ Pch·b,  dis ≤ Pdis·(1 − b)            (b where the formulation keeps it, see Formulation)
ch/Pch + dis/Pdis ≤ 1                       (Formulation.storage_cut: a valid, tighter cut)
soc[t] = (1 − σΔ)·soc[t−1] + ηc·ch[t]·Δ − dis[t]·Δ/ηd − L[t],   soc[−1] = soc_initial·E
soc_min·E ≤ soc[t] ≤ soc_max·E,   soc[N−1] ≥ soc_final_min·E
Σ dis·Δ ≤ max_cycles·E  (when max_cycles is set)
inj = dis − ch;  cost degradation·Σ dis·Δ

Frequency regulation (§5.4), for a battery with ``regulation: true`` in a case with a ``regulation`` block:
dis − ch + r ≤ Pdis,  ch − dis + r ≤ Pch                       (power headroom)
soc[t] − τ·r[t]/ηd ≥ soc_min·E,  soc[t] + τ·ηc·r[t] ≤ soc_max·E  (energy headroom, and the same with soc[t−1])
L[t] = α·(1/ηd − ηc)·r[t]·Δ                                   (expected loss of following the signal)
revenue Σ_t Δ·r[t]·(π_c[t] + π_m[t]·μ·K)

Sizing (storage sizing's co-optimisation, :mod:`models.sizing`): the capacities
P = Pch = Pdis [MW] and E [MWh] may be columns shared by every day, in
[0, Pmax] and [0, Emax]. Every row above stays linear because P and E only
multiply constants; the bounds ``ch ≤ P``, ``soc ≥ soc_min·E`` … become rows,
and the binaries take the big-M ``ch ≤ Pmax·b``, ``dis ≤ Pmax·(1 − b)``, which
with ``ch ≤ P`` and ``dis ≤ P`` is exactly ``ch ≤ P·b``, ``dis ≤ P·(1 − b)``.
The storage cut divides by P and is refused when sizing.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from models.declare import Block, Horizon, Lin, RuleContext, amount
from models.schema import AssetBase, Efficiency, Fraction, NonNeg
from vpp.errors import Problem


class Battery(AssetBase):
    """Electrochemical storage (§4.3)."""

    type: Literal["battery"] = "battery"
    power_mw: NonNeg | None = None
    charge_power_mw: NonNeg | None = None
    discharge_power_mw: NonNeg | None = None
    energy_mwh: NonNeg
    charge_efficiency: Efficiency = 0.95
    discharge_efficiency: Efficiency = 0.95
    soc_min: Fraction = 0.1
    soc_max: Fraction = 0.9
    soc_initial: Fraction = 0.5
    soc_final_min: Fraction | None = None
    self_discharge_per_hour: Fraction = 0.0
    degradation_cny_per_mwh: NonNeg = 0.0
    max_cycles: NonNeg | None = None
    regulation: bool = Field(
        default=False, description="Offers frequency regulation when the case has a regulation block (v2, §5.4).")
    regulation_performance: NonNeg = Field(
        default=1.0, description="K: the performance index its mileage is paid at (v2, §5.4).")

    @property
    def charge_mw(self) -> float:
        """Charge power limit Pch [MW]."""
        return self.charge_power_mw if self.charge_power_mw is not None else float(self.power_mw or 0)

    @property
    def discharge_mw(self) -> float:
        """Discharge power limit Pdis [MW]."""
        if self.discharge_power_mw is not None:
            return self.discharge_power_mw
        return float(self.power_mw or 0)

    @property
    def final_min(self) -> float:
        """Minimum SoC at the end of the horizon [fraction]; defaults to soc_initial."""
        return self.soc_initial if self.soc_final_min is None else self.soc_final_min


SCHEMA = Battery
SECTION = "batteries"


def _power_given(a: Battery, c: RuleContext) -> list[Problem]:
    if a.power_mw is None and (a.charge_power_mw is None or a.discharge_power_mw is None):
        return [Problem("power_mw", "required unless both charge_power_mw and discharge_power_mw are given")]
    return []


def _soc_order(a: Battery, c: RuleContext) -> list[Problem]:
    final = a.final_min
    if a.soc_min > a.soc_max:
        return [Problem("soc_min", f"SoC bounds out of order: expected soc_min <= soc_max, got soc_min={a.soc_min:g} > soc_max={a.soc_max:g}")]
    if final > a.soc_max:
        field = "soc_final_min" if a.soc_final_min is not None else "soc_initial"
        return [Problem(field, f"SoC bounds out of order: expected the final SoC minimum ({final:g}) <= soc_max ({a.soc_max:g})")]
    return []


def _self_discharge(a: Battery, c: RuleContext) -> list[Problem]:
    if c.dt is not None and a.self_discharge_per_hour * c.dt > 1:
        return [Problem("self_discharge_per_hour", f"expected self_discharge_per_hour x step hours <= 1, got {a.self_discharge_per_hour * c.dt:g}")]
    return []


def _final_reachable(a: Battery, c: RuleContext) -> list[Problem]:
    if c.steps is None or c.dt is None or _power_given(a, c) or a.final_min > a.soc_max:
        return []
    e, init, final, pch, eta = a.energy_mwh, a.soc_initial, a.final_min, a.charge_mw, a.charge_efficiency
    stored = eta * pch * c.steps * c.dt
    if (final - init) * e > stored + 1e-9:
        return [
            Problem(
                "soc_final_min",
                f"unreachable: raising the level from {init:g} to {final:g} of {e:g} MWh needs "
                f"{(final - init) * e:g} MWh stored, but charging at most {pch:g} MW for "
                f"{c.steps * c.dt:g} h at efficiency {eta:g} stores {stored:g} MWh",
            )
        ]
    return []


RULES = (_power_given, _soc_order, _self_discharge, _final_reachable)
"""Power given, SoC bounds in order, self-discharge within a step, the final SoC reachable."""


def declare(m: Block, a: Battery, h: Horizon) -> None:
    dt = h.dt
    E = m.capacity("energy_mwh", a.energy_mwh)
    pch = m.capacity("power_mw", a.charge_mw)
    pdis = m.capacity("power_mw", a.discharge_mw)
    eta_c, eta_d = a.charge_efficiency, a.discharge_efficiency
    keep = 1.0 - a.self_discharge_per_hour * dt

    leak = f", losing {a.self_discharge_per_hour:g} of its level an hour" if a.self_discharge_per_hour else ""

    def level(t: int) -> str:
        return (f"battery {a.id!r} must hold between soc_min {a.soc_min:g} and soc_max {a.soc_max:g} of its "
                f"energy at {h.when(t)}{leak}, charging at most {_text(pch)} MW")

    def final(_: int) -> str:
        return (f"battery {a.id!r} must end at or above soc_final_min {a.final_min:g} of {_text(E)} MWh"
                f"{leak}, charging at most {_text(pch)} MW")

    ch = m.var("ch", 0.0, pch)
    dis = m.var("dis", 0.0, pdis)
    soc = m.var("soc", a.soc_min * E, a.soc_max * E, explain=level)
    if m.exclusive(ch, dis):
        b = m.var("b", binary=True)
        m.add("charge_if_b", ch <= m.upper(pch) * b)
        m.add("discharge_if_not_b", dis <= m.upper(pdis) * (1 - b))
    if m.formulation.storage_cut:
        if isinstance(pch, Lin):
            raise ValueError(f"battery {a.id!r}: the storage cut divides by the power and cannot be sized")
        if pch > 0 and pdis > 0:
            m.add("power_cut", ch / pch + dis / pdis <= 1)
    before = soc.prev(a.soc_initial * E)
    loss: Lin | float = 0.0
    reg = h.case.regulation
    if reg is not None and a.regulation:
        loss = _regulation(m, a, h, ch, dis, soc, before, E, pch, pdis)
    m.add("soc_balance", soc == keep * before + eta_c * dt * ch - dt / eta_d * dis - loss)
    m.add("soc_final", soc.last() >= a.final_min * E, explain=final)
    if a.max_cycles is not None:
        m.add("cycles", dt * dis.sum() <= a.max_cycles * E,
              explain=lambda _: f"battery {a.id!r} may discharge at most max_cycles={a.max_cycles:g} times its energy")
    m.port("injection", dis - ch)
    m.port("reserve", eta_d * (soc - a.soc_min * E))  # energy it can deliver above its minimum (§5.5)
    if a.degradation_cny_per_mwh:
        m.cost("degradation", a.degradation_cny_per_mwh * dt * dis)

    m.output("charge_mw", ch, total="battery_charge_mwh")
    m.output("discharge_mw", dis, total="battery_discharge_mwh")
    m.output("injection_mw", dis - ch)
    m.output("soc_mwh", soc)
    m.output("soc_fraction", lambda ev: _fraction(ev(soc), ev(E)))


def _regulation(m: Block, a: Battery, h: Horizon, ch: Lin, dis: Lin, soc: Lin, before: Lin, E: Any,
                pch: Any, pdis: Any) -> Lin:
    """The regulation band r (§5.4): headroom in power and energy, its revenue; returns the loss L [MWh]."""
    reg = h.case.regulation
    B = reg.block_steps
    blocks = (h.steps + B - 1) // B
    tau, eta_c, eta_d = reg.duration_h, a.charge_efficiency, a.discharge_efficiency
    rb = m.var("r", n=blocks, first_stage=True, index=[b * B for b in range(blocks)])
    r = rb.take(h.t // B)  # the offer is constant within each block
    m.add("regulation_up", dis - ch + r <= pdis)
    m.add("regulation_down", ch - dis + r <= pch)
    for name, level in (("end", soc), ("start", before)):
        m.add(f"regulation_energy_up_{name}", level - tau / eta_d * r >= a.soc_min * E)
        m.add(f"regulation_energy_down_{name}", level + tau * eta_c * r <= a.soc_max * E)
    price = h.series(reg.capacity_price_cny_per_mw_h)
    mileage = h.series(reg.mileage_price_cny_per_mw) * reg.mileage_mw_per_mw_h * a.regulation_performance
    m.cost("regulation_capacity", -h.dt * price * r, first_stage=True)
    m.cost("regulation_mileage", -h.dt * mileage * r, first_stage=True)
    m.port("regulation", r)
    m.port("regulation_span", Lin.constant(pch + pdis if not isinstance(pch, Lin) else 2 * m.upper(pch), 1))
    m.output("regulation_mw", r)
    return reg.deployment_fraction * (1 / eta_d - eta_c) * h.dt * r


def _text(capacity: float | Lin) -> str:
    return "the sized" if isinstance(capacity, Lin) else amount(capacity)


def _fraction(level_mwh: np.ndarray, energy_mwh: Any) -> np.ndarray:
    e = float(np.ravel(energy_mwh)[0])
    return level_mwh / e if e > 0 else np.zeros_like(level_mwh)


def report(v: dict[str, np.ndarray], a: Battery, h: Horizon) -> dict[str, Any]:
    """The battery's line in the summary: energy through it and where it ends."""
    dis = float(v["discharge_mw"].sum() * h.dt)
    return {
        "id": a.id,
        "node": h.case.node_of(a),
        "charged_mwh": float(v["charge_mw"].sum() * h.dt),
        "discharged_mwh": dis,
        "equivalent_cycles": dis / a.energy_mwh if a.energy_mwh > 0 else 0.0,
        "soc_final_fraction": float(v["soc_fraction"][-1]),
    }
