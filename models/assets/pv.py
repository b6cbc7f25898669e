"""PV, curtailable (model.md §4.1).

=============  ==========================================
p[t]           PV output used or exported [MW]
avail[t]       available output, ``available_mw`` [MW]
c_curt         curtailment cost [CNY/MWh]
=============  ==========================================

0 ≤ p[t] ≤ avail[t];  inj = p;  cost c_curt·Σ(avail − p)·Δ
"""

from __future__ import annotations

from typing import Literal

from models.declare import Block, Horizon
from models.schema import AssetBase, Finite, NonNegSeries


class PV(AssetBase):
    """Rooftop or ground PV, curtailable (§4.1)."""

    type: Literal["pv"] = "pv"
    available_mw: NonNegSeries
    curtailment_cny_per_mwh: Finite = 0.0


SCHEMA = PV


def declare(m: Block, a: PV, h: Horizon) -> None:
    avail = h.series(a.available_mw)
    p = m.var("p", 0.0, avail)
    m.port("injection", p)
    m.port("renewable", p)
    m.port("renewable_available", avail)
    m.port("pv_available", avail)
    if a.curtailment_cny_per_mwh:
        m.cost("curtailment", a.curtailment_cny_per_mwh * h.dt * (avail - p))
    m.output("power_mw", p, total="pv_used_mwh")
    m.output("available_mw", avail, total="pv_available_mwh")
    m.output("curtailed_mw", avail - p, total="pv_curtailed_mwh")
    m.output("injection_mw", p)
