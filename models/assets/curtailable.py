"""Interruptible demand: demand response by load shedding (model.md §4.4).

=============  ===============================================================
r[t]           reduction [MW], 0 ≤ r ≤ R[t] = min(max_reduction[t], demand[t])
z[t]           binary: curtailing in step t   (only when binaries are needed, below)
s[t]           start of a curtailment, 0 ≤ s ≤ 1 (same condition)
D              min_duration_steps
Rmin[t]        min_reduction_mw [MW]: a curtailment really curtails
c, c_start     cost [CNY/MWh] and cost of each start [CNY]
=============  ===============================================================

inj = −(demand − r);  cost c·Σ r·Δ + c_start·Σ s
Binaries when D > 1, max_events is set, c_start > 0 or Rmin > 0 at some step:
r ≤ R·z;  r ≥ min(Rmin, R)·z;  s[t] ≥ z[t] − z[t−1] (z[−1] = 0);
z[t] ≥ Σ_{τ=max(0,t−D+1)}^{t} s[τ];  Σ s ≤ max_events
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from models.declare import Block, Horizon
from models.schema import AssetBase, Count, Fraction, NonNeg, NonNegSeries


class CurtailableLoad(AssetBase):
    """Interruptible demand (§4.4)."""

    type: Literal["curtailable_load"] = "curtailable_load"
    demand_mw: NonNegSeries
    max_reduction_mw: NonNegSeries
    cost_cny_per_mwh: NonNeg
    min_duration_steps: Annotated[Count, Field(ge=1)] = 1
    max_events: Count | None = None
    min_reduction_mw: NonNegSeries = Field(
        default=0.0, description="Reduction [MW] a curtailment delivers at least while it lasts (v2).")
    start_cny: NonNeg = Field(default=0.0, description="Cost of each curtailment start [CNY] (v2).")
    critical_fraction: Fraction = Field(
        default=0.0, description="Share of demand_mw carried through an outage (v2, §5.5).")

    @property
    def needs_binaries(self) -> bool:
        """Whether the model carries the curtailing binaries z (and starts s)."""
        min_red = self.min_reduction_mw
        positive_min = any(v > 0 for v in min_red) if isinstance(min_red, list) else min_red > 0
        return self.min_duration_steps > 1 or self.max_events is not None or self.start_cny > 0 or positive_min


SCHEMA = CurtailableLoad


def declare(m: Block, a: CurtailableLoad, h: Horizon) -> None:
    demand = h.series(a.demand_mw)
    R = np.minimum(h.series(a.max_reduction_mw), demand)
    r = m.var("r", 0.0, R)
    if a.needs_binaries:
        z = m.var("z", binary=True)
        s = m.var("s", 0.0, 1.0)
        m.add("reduce_if_z", r <= R * z)
        rmin = np.minimum(h.series(a.min_reduction_mw), R)
        if np.any(rmin > 0):
            m.add("reduce_at_least", r >= rmin * z)
        m.add("start_def", s >= z - z.prev(0.0))
        if a.min_duration_steps > 1:
            m.add("min_duration", z >= s.rolling(a.min_duration_steps))
        if a.max_events is not None:
            m.add("max_events", s.sum() <= a.max_events)
        if a.start_cny:
            m.cost("load_curtailment_start", a.start_cny * s)
        m.output("curtailing", z)
    else:
        m.output("curtailing", lambda ev: (ev(r) > 1e-6).astype(float))
    m.port("injection", r - demand)
    m.port("consumption", demand - r)
    m.port("critical", a.critical_fraction * demand)
    if a.cost_cny_per_mwh:
        m.cost("load_curtailment", a.cost_cny_per_mwh * h.dt * r)
    m.output("demand_mw", demand)
    m.output("reduction_mw", r, total="load_reduction_mwh")
    m.output("consumption_mw", demand - r, total="consumption_mwh")
    m.output("injection_mw", r - demand)
