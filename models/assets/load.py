"""Fixed demand (model.md §4.2).

inj[t] = −demand[t]  [MW]; no decision, no cost.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from models.standard_form import Columns, Reader, StandardForm
from vpp.case import Load


def build(block: pyo.Block, asset: Load, ctx: Any) -> None:
    demand = ctx.series(asset.demand_mw)
    block.injection = pyo.Expression(ctx.T, rule=lambda _b, t: -float(demand[t]))
    block.consumption = pyo.Expression(ctx.T, rule=lambda _b, t: float(demand[t]))


def matrix(sf: StandardForm, asset: Load, ctx: Any, node: str) -> Columns:
    """No column: −demand [MW] moves to the right-hand side of its node's balance."""
    demand = ctx.series(asset.demand_mw)
    ctx.constant_injection(node, -demand)
    ctx.consumes_constant(demand)
    return {}


def values(read: Reader, asset: Load, ctx: Any) -> dict[str, np.ndarray]:
    demand = ctx.series(asset.demand_mw)
    return {"consumption_mw": demand, "injection_mw": -demand}
