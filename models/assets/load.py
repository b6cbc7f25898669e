"""Fixed demand (model.md §4.2).

inj[t] = −demand[t]  [MW]; no decision, no cost. The share ``critical_fraction``
of the demand is carried through an outage (the backup reserve, §5.5).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from models.declare import Block, Horizon
from models.schema import AssetBase, Fraction, NonNegSeries


class Load(AssetBase):
    """Fixed demand (§4.2)."""

    type: Literal["load"] = "load"
    demand_mw: NonNegSeries
    critical_fraction: Fraction = Field(
        default=0.0, description="Share of demand_mw carried through an outage (v2, §5.5).")


SCHEMA = Load


def declare(m: Block, a: Load, h: Horizon) -> None:
    demand = h.series(a.demand_mw)
    m.port("injection", -demand)
    m.port("consumption", demand)
    m.port("critical", a.critical_fraction * demand)
    m.output("consumption_mw", demand, total="consumption_mwh")
    m.output("injection_mw", -demand)
