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

from models.standard_form import Columns, Reader, StandardForm
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


def matrix(sf: StandardForm, asset: GreenContract, ctx: Any, node: str) -> Columns:
    """The same model in standard form; g also carries the grid energy and carbon it replaces (§3)."""
    N, dt, t = ctx.steps, ctx.dt, ctx.t
    avail = ctx.series(asset.available_mw)
    cols: Columns = {}
    if asset.optional:
        g = sf.cols(N, 0.0, avail)
        x = sf.cols(1, 0.0, 1.0, integer=True)
        cols["x"] = (x, 1)
        r = sf.rows(N, upper=0.0)  # g − avail·x ≤ 0
        sf.coef(r + t, g + t, 1.0)
        sf.coef(r + t, x, -avail)
        if asset.min_take > 0:
            r = sf.rows(N, lower=0.0)  # g − min_take·avail·x ≥ 0
            sf.coef(r + t, g + t, 1.0)
            sf.coef(r + t, x, -asset.min_take * avail)
        if asset.fixed_cny:
            sf.cost(x, 1, asset.fixed_cny, asset.id, "green_fixed")
    else:
        g = sf.cols(N, asset.min_take * avail, avail)
        if asset.fixed_cny:
            sf.constant(asset.fixed_cny, asset.id, "green_fixed")
    cols["g"] = (g, N)
    sf.cost(g, N, asset.price_cny_per_mwh * dt, asset.id, "green_energy")
    sf.cost(g, N, -dt * ctx.buy, "system", "energy")
    sf.cost(g, N, -dt * ctx.case.carbon_price_cny_per_t * ctx.emission, "system", "carbon")
    ctx.green_cols.append(g)
    ctx.renewable(g)
    return cols


def taken(read: Reader, asset: GreenContract) -> bool:
    """Whether the contract was taken, after a solve."""
    if not asset.optional:
        return True
    x = read("x")
    return x is None or float(x[0]) > 0.5


def values(read: Reader, asset: GreenContract, ctx: Any) -> dict[str, np.ndarray]:
    g = read("g")
    return {"purchase_mw": g, "available_mw": ctx.series(asset.available_mw)}
