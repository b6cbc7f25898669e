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

from models.standard_form import Columns, Reader, StandardForm
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


def matrix(sf: StandardForm, asset: PV, ctx: Any, node: str) -> Columns:
    """The same model in standard form: p ∈ [0, avail]; curtailment c·Δ·Σ avail − c·Δ·Σ p."""
    avail = ctx.series(asset.available_mw)
    N = ctx.steps
    p = sf.cols(N, 0.0, avail)
    if asset.curtailment_cny_per_mwh:
        c = asset.curtailment_cny_per_mwh
        sf.cost(p, N, -c * ctx.dt, asset.id, "curtailment")
        sf.constant(c * ctx.dt * float(avail.sum()), asset.id, "curtailment")
    ctx.inject(node, p, 1.0)
    ctx.renewable(p)
    return {"p": (p, N)}


def values(read: Reader, asset: PV, ctx: Any) -> dict[str, np.ndarray]:
    avail = ctx.series(asset.available_mw)
    p = read("p")
    return {"power_mw": p, "available_mw": avail, "curtailed_mw": avail - p, "injection_mw": p}
