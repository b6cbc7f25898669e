"""PV, curtailable (model.md §4.1).

=============  ==========================================
p[t]           PV output used or exported [MW]
avail[t]       available output, ``available_mw`` [MW]
c_curt         curtailment cost [CNY/MWh]
=============  ==========================================

0 ≤ p[t] ≤ avail[t];  inj = p;  cost c_curt·Σ(avail − p)·Δ
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from models.assets._common import values as _values
from vpp.case import PV


def build(block: pyo.Block, asset: PV, ctx: Any) -> None:
    avail = ctx.series(asset.available_mw)
    block.p = pyo.Var(ctx.T, bounds=lambda _b, t: (0, avail[t]))
    block.injection = pyo.Expression(ctx.T, rule=lambda b, t: b.p[t])
    block.renewable = pyo.Expression(ctx.T, rule=lambda b, t: b.p[t])
    if asset.curtailment_cny_per_mwh:
        c = asset.curtailment_cny_per_mwh
        block.cost_curtailment = pyo.Expression(
            expr=c * ctx.dt * sum(avail[t] - block.p[t] for t in range(ctx.steps))
        )


def values(block: pyo.Block, asset: PV, ctx: Any) -> dict[str, np.ndarray]:
    avail = ctx.series(asset.available_mw)
    p = _values(block.p, ctx.steps)
    return {"power_mw": p, "available_mw": avail, "curtailed_mw": avail - p, "injection_mw": p}
