"""A bilateral green-power purchase, settled at the root (model.md §4.7).

=============  ======================================================
g[t]           green energy bought [MW]; it arrives through imp (§3)
x              binary: contract taken (the number 1 when not optional)
avail[t]       ``available_mw`` [MW]
=============  ======================================================

min_take·avail[t]·x ≤ g[t] ≤ avail[t]·x;  cost Σ price·g·Δ + fixed·x.
No injection of its own: G = Σ g replaces grid energy at buy[t], with zero emissions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from models.assets._common import value_or_one
from models.assets._common import values as _values
from vpp.case import GreenContract


def build(block: pyo.Block, asset: GreenContract, ctx: Any) -> None:
    avail = ctx.series(asset.available_mw)
    N = ctx.steps
    if asset.optional:
        block.x = pyo.Var(domain=pyo.Binary)
        x: Any = block.x
        block.g = pyo.Var(ctx.T, bounds=lambda _b, t: (0, avail[t]))
        block.take_if_x = pyo.Constraint(ctx.T, rule=lambda b, t: b.g[t] <= avail[t] * x)
        if asset.min_take > 0:
            block.min_take = pyo.Constraint(
                ctx.T, rule=lambda b, t: b.g[t] >= asset.min_take * avail[t] * x
            )
    else:
        x = 1.0
        block.g = pyo.Var(ctx.T, bounds=lambda _b, t: (asset.min_take * avail[t], avail[t]))
    block.green = pyo.Expression(ctx.T, rule=lambda b, t: b.g[t])
    block.cost_green_energy = pyo.Expression(
        expr=asset.price_cny_per_mwh * ctx.dt * sum(block.g[t] for t in range(N))
    )
    if asset.fixed_cny:
        block.cost_green_fixed = pyo.Expression(expr=asset.fixed_cny * x)


def taken(block: pyo.Block, asset: GreenContract) -> bool:
    """Whether the contract was taken, after a solve."""
    return not asset.optional or value_or_one(block.x) > 0.5


def values(block: pyo.Block, asset: GreenContract, ctx: Any) -> dict[str, np.ndarray]:
    g = _values(block.g, ctx.steps)
    return {"purchase_mw": g, "available_mw": ctx.series(asset.available_mw)}
