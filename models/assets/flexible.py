"""Energy needed by deadlines, power free within bounds: EV fleets (model.md §4.6).

=============  ==============================================
p[t]           consumption [MW], min_power[t] ≤ p ≤ max_power[t]
E              energy over the horizon [MWh]: Σ p·Δ = E
(k, E_k)       requirement: Σ_{t<k} p·Δ ≥ E_k
=============  ==============================================

inj = −p; no cost of its own.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from models.declare import Block, Horizon, RuleContext
from models.schema import AssetBase, NonNeg, NonNegSeries, Step, Strict
from vpp.errors import Problem


class Requirement(Strict):
    """``energy_mwh`` taken before step ``by_step`` (exclusive)."""

    by_step: Annotated[Step, Field(ge=1)]
    energy_mwh: NonNeg


class FlexibleLoad(AssetBase):
    """Energy needed by deadlines, power free within bounds (§4.6)."""

    type: Literal["flexible_load"] = "flexible_load"
    min_power_mw: NonNegSeries = 0.0
    max_power_mw: NonNegSeries
    energy_mwh: NonNeg
    requirements: list[Requirement] = Field(default_factory=list)


SCHEMA = FlexibleLoad


def _reachable(a: FlexibleLoad, c: RuleContext) -> list[Problem]:
    """Bounds in order, the energy within them, every deadline reachable.

    Charging as early as possible (max power until only the minimum is left to
    take) maximises every prefix sum at once, so the deadlines are met by some
    schedule if and only if they are met by that one.
    """
    out: list[Problem] = []
    if c.steps is None or c.dt is None:
        return out
    steps, dt = c.steps, c.dt
    lo, hi = c.series(a.min_power_mw), c.series(a.max_power_mw)
    bad = np.flatnonzero(lo > hi + 1e-12)
    if bad.size:
        return [Problem("min_power_mw", f"expected min_power_mw <= max_power_mw at every step; not so at steps {bad[:10].tolist()}")]
    energy = a.energy_mwh
    emin, emax = lo.sum() * dt, hi.sum() * dt
    if not emin - 1e-9 <= energy <= emax + 1e-9:
        return [
            Problem(
                "energy_mwh",
                f"expected between {emin:g} MWh (min_power_mw over the horizon) and {emax:g} MWh "
                f"(max_power_mw over the horizon), got {energy:g}",
            )
        ]
    rest_min = np.concatenate([np.cumsum(lo[::-1])[::-1], [0.0]]) * dt  # min energy from t on
    taken, prefix = 0.0, np.zeros(steps + 1)
    for t in range(steps):
        p = min(hi[t] * dt, energy - taken - rest_min[t + 1])
        taken += max(p, lo[t] * dt)
        prefix[t + 1] = taken
    for j, r in enumerate(a.requirements):
        if r.by_step > steps:
            out.append(Problem(f"requirements[{j}].by_step", f"expected <= steps ({steps}), got {r.by_step}"))
        elif r.energy_mwh > prefix[r.by_step] + 1e-9:
            out.append(
                Problem(
                    f"requirements[{j}].energy_mwh",
                    f"unreachable: at most {prefix[r.by_step]:g} MWh can be taken before step {r.by_step} "
                    f"within max_power_mw and energy_mwh={energy:g}, got {r.energy_mwh:g}",
                )
            )
    return out


RULES = (_reachable,)


def declare(m: Block, a: FlexibleLoad, h: Horizon) -> None:
    p = m.var("p", h.series(a.min_power_mw), h.series(a.max_power_mw))
    m.add("energy", h.dt * p.sum() == a.energy_mwh,
          explain=lambda _: f"flexible load {a.id!r} must take energy_mwh={a.energy_mwh:g} MWh within its power bounds")
    reqs = a.requirements
    if reqs:
        m.add("requirement", h.dt * p.prefix([q.by_step for q in reqs]) >= np.array([q.energy_mwh for q in reqs]),
              explain=lambda j: f"flexible load {a.id!r} must take {reqs[j].energy_mwh:g} MWh before step {reqs[j].by_step}")
    m.port("injection", -p)
    m.port("consumption", p)
    m.output("consumption_mw", p, total="consumption_mwh")
    m.output("injection_mw", -p)
    m.output("cumulative_mwh", lambda ev: np.cumsum(ev(p)) * h.dt)
