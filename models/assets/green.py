"""A bilateral green-power purchase, settled at the root (model.md §4.7).

=============  ======================================================
g[t]           green energy bought [MW]; it arrives through imp (§3)
x              binary: contract taken (the number 1 when not optional)
avail[t]       ``available_mw`` [MW]
=============  ======================================================

min_take·avail[t]·x ≤ g[t] ≤ avail[t]·x;  cost Σ price·g·Δ + fixed·x.
No injection of its own: G = Σ g replaces grid energy at buy[t], with zero
emissions (the grid connection's energy cost is ``buy·(imp − G)``, §3).
Taking the contract is decided day-ahead: one x for every scenario (§6).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from models.declare import Block, Horizon, RuleContext, amount
from models.schema import AssetBase, Finite, Fraction, NonNegSeries
from vpp.errors import Problem


class GreenContract(AssetBase):
    """A bilateral green-power purchase, settled at the root (§4.7)."""

    type: Literal["green_contract"] = "green_contract"
    available_mw: NonNegSeries
    price_cny_per_mwh: Finite
    min_take: Fraction = 0.0
    fixed_cny: Finite = 0.0
    optional: bool = True


SCHEMA = GreenContract
SECTION = "green_contracts"


def _at_root(a: GreenContract, c: RuleContext) -> list[Problem]:
    """A contract is settled at the grid connection."""
    if a.node is not None and c.root is not None and a.node != c.root:
        return [Problem("node", f"green contracts are settled at the grid connection: expected the root {c.root!r} or no node, got {a.node!r}")]
    return []


RULES = (_at_root,)


def declare(m: Block, a: GreenContract, h: Horizon) -> None:
    avail = h.series(a.available_mw)

    def must_take(t: int) -> str:
        return (f"green contract {a.id!r} (min_take {a.min_take:g}{', not optional' if not a.optional else ''}) "
                f"must take at least {amount(a.min_take * avail[t])} MW at {h.when(t)}, and that energy must "
                "arrive through the import and be used there")

    if a.optional:
        x: Any = m.var("x", n=1, binary=True, first_stage=True)
        g = m.var("g", 0.0, avail)
        m.add("take_if_x", g <= avail * x)
        if a.min_take > 0:
            m.add("min_take", g >= a.min_take * avail * x, explain=must_take)
    else:
        x = 1.0
        g = m.var("g", a.min_take * avail, avail, explain=must_take, requirement=a.min_take > 0)
    m.port("green", g)
    m.port("renewable", g)
    m.port("renewable_available", avail)
    m.cost("green_energy", a.price_cny_per_mwh * h.dt * g)
    if a.fixed_cny:
        m.cost("green_fixed", a.fixed_cny * x, first_stage=True)
    m.output("purchase_mw", g, total="green_purchased_mwh")
    m.output("available_mw", avail)
    m.output("taken", lambda ev: np.ravel(ev(x))[:1], table=False)


def report(v: dict[str, np.ndarray], a: GreenContract, h: Horizon) -> dict[str, Any]:
    """Whether it was taken, the energy bought and what it cost."""
    taken = bool(v["taken"][0] > 0.5)
    e = float(v["purchase_mw"].sum() * h.dt)
    return {"id": a.id, "taken": taken, "energy_mwh": e,
            "cost_cny": a.price_cny_per_mwh * e + (a.fixed_cny if taken else 0.0)}
