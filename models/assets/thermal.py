"""Ice or hot-water store charged by electric chillers or heaters (model.md §4.8).

=============  =========================================================
e[t]           electric power of the chillers/heaters [MW], 0 ≤ e ≤ max_power
h[t]           thermal level at the end of step t [MWh_th], 0 ≤ h ≤ capacity
w[t]           unserved thermal demand [MW_th], 0 ≤ w ≤ demand[t], cost voll
v              final shortfall [MWh_th] ≥ 0: what the store ends below its initial level, cost voll
cop            coefficient of performance [MW_th / MW]
λ              standing loss [1/h]
=============  =========================================================

h[t] = (1 − λΔ)·h[t−1] + (cop·e[t] − demand[t] + w[t])·Δ,  h[−1] = level_initial·capacity,
h[N−1] + v ≥ h[−1];  inj = −e;  cost voll·(Σ w·Δ + v)
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from models.declare import Block, Horizon, RuleContext
from models.schema import AssetBase, Fraction, NonNeg, NonNegSeries
from vpp.errors import Problem


class ThermalStorage(AssetBase):
    """Ice or hot-water store charged by electric chillers or heaters (§4.8)."""

    type: Literal["thermal_storage"] = "thermal_storage"
    max_power_mw: NonNeg
    cop: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    thermal_demand_mw: NonNegSeries
    capacity_mwh_th: NonNeg
    level_initial: Fraction = 0.5
    loss_per_hour: Fraction = 0.0


SCHEMA = ThermalStorage


def _loss_within_a_step(a: ThermalStorage, c: RuleContext) -> list[Problem]:
    if c.dt is not None and a.loss_per_hour * c.dt > 1:
        return [Problem("loss_per_hour", f"expected loss_per_hour x step hours <= 1, got {a.loss_per_hour * c.dt:g}")]
    return []


RULES = (_loss_within_a_step,)


def declare(m: Block, a: ThermalStorage, h: Horizon) -> None:
    dt = h.dt
    demand = h.series(a.thermal_demand_mw)
    keep = 1.0 - a.loss_per_hour * dt
    h0 = a.level_initial * a.capacity_mwh_th
    voll = h.case.voll_cny_per_mwh
    e = m.var("e", 0.0, a.max_power_mw)
    level = m.var("h", 0.0, a.capacity_mwh_th)
    w = m.var("w", 0.0, demand)
    v = m.var("v", n=1)
    m.add("level_balance", level == keep * level.prev(h0) + dt * (a.cop * e - demand + w))
    m.add("level_final", level.last() + v >= h0)
    m.port("injection", -e)
    m.port("consumption", e)
    m.cost("unserved_thermal", voll * dt * w)
    m.cost("thermal_final_shortfall", voll * v)
    m.output("consumption_mw", e, total="consumption_mwh")
    m.output("injection_mw", -e)
    m.output("level_mwh_th", level)
    m.output("thermal_demand_mw_th", demand)
    m.output("unserved_thermal_mw_th", w, total="unserved_thermal_mwh_th", unmet="unserved_thermal")
    m.output("final_shortfall_mwh_th", v, table=False, unmet="thermal_final_shortfall")
