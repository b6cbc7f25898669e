"""A process that runs once with a fixed power profile (model.md §4.5).

=============  ==============================================================
x[τ]           binary: the run starts at step τ, τ ∈ [earliest_start, latest_end − d]
profile[k]     power of the k-th step of the run [MW], k = 0 … d−1
c[t]           consumption [MW] = Σ_τ x[τ]·profile[t − τ]  over 0 ≤ t − τ < d
=============  ==============================================================

Σ x = 1;  inj = −c;  no cost of its own (it pays through the energy it draws).
The start is decided day-ahead: one for every scenario (§6).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from models.declare import Block, Horizon, RuleContext
from models.schema import AssetBase, NonNeg, Step, plural
from vpp.errors import Problem


class ShiftableLoad(AssetBase):
    """A process that runs once with a fixed power profile (§4.5)."""

    type: Literal["shiftable_load"] = "shiftable_load"
    profile_mw: Annotated[list[NonNeg], Field(min_length=1)]
    earliest_start: Step = 0
    latest_end: Annotated[Step, Field(ge=1)] | None = Field(
        default=None, description="Step, exclusive; absent = the end of the horizon."
    )


SCHEMA = ShiftableLoad
SECTION = "shiftable_loads"


def start_steps(a: ShiftableLoad, steps: int) -> list[int]:
    """Every feasible start step τ of the run."""
    end = steps if a.latest_end is None else a.latest_end
    return list(range(a.earliest_start, end - len(a.profile_mw) + 1))


def _window(a: ShiftableLoad, c: RuleContext) -> list[Problem]:
    """The window lies in the horizon and holds the profile."""
    out: list[Problem] = []
    if c.steps is not None and a.latest_end is not None and a.latest_end > c.steps:
        out.append(Problem("latest_end", f"expected <= steps ({c.steps}), got {a.latest_end}"))
    end = c.steps if a.latest_end is None else a.latest_end
    if end is not None and end - a.earliest_start < len(a.profile_mw):
        out.append(
            Problem(
                "latest_end",
                f"the window [earliest_start={a.earliest_start}, latest_end={end}) has "
                f"{plural(max(end - a.earliest_start, 0), 'step')}, shorter than the profile's "
                f"{plural(len(a.profile_mw), 'step')}",
            )
        )
    return out


RULES = (_window,)


def declare(m: Block, a: ShiftableLoad, h: Horizon) -> None:
    starts = start_steps(a, h.steps)
    x = m.var("x", n=len(starts), binary=True, first_stage=True, index=starts)
    m.add("run_once", x.sum() == 1)
    c = x.spread(a.profile_mw, starts, h.steps)
    m.port("injection", -c)
    m.port("consumption", c)
    m.output("consumption_mw", c, total="consumption_mwh")
    m.output("injection_mw", -c)
    d = len(a.profile_mw)

    def running(ev: Any) -> np.ndarray:
        out = np.zeros(h.steps)
        s = starts[int(np.argmax(ev(x)))]
        out[s : s + d] = 1.0
        return out

    m.output("running", running)


def report(v: dict[str, np.ndarray], a: ShiftableLoad, h: Horizon) -> dict[str, Any]:
    """The chosen start."""
    s = int(np.argmax(v["running"] > 0.5))
    return {"id": a.id, "start_step": s, "start": h.case.timestamps[s].isoformat()}
