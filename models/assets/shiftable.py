"""A process that runs once with a fixed power profile (model.md §4.5).

=============  ==============================================================
x[τ]           binary: the run starts at step τ, τ ∈ [earliest_start, latest_end − d]
profile[k]     power of the k-th step of the run [MW], k = 0 … d−1
c[t]           consumption [MW] = Σ_τ x[τ]·profile[t − τ]  over 0 ≤ t − τ < d
=============  ==============================================================

Σ x = 1;  inj = −c;  no cost of its own (it pays through the energy it draws).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from models.standard_form import Columns, Reader, StandardForm
from vpp.case import ShiftableLoad


def start_steps(asset: ShiftableLoad, steps: int) -> list[int]:
    """Every feasible start step τ of the run."""
    end = steps if asset.latest_end is None else asset.latest_end
    return list(range(asset.earliest_start, end - len(asset.profile_mw) + 1))


def build(block: pyo.Block, asset: ShiftableLoad, ctx: Any) -> None:
    profile = asset.profile_mw
    starts = start_steps(asset, ctx.steps)
    block.x = pyo.Var(starts, domain=pyo.Binary)
    block.run_once = pyo.Constraint(expr=sum(block.x[s] for s in starts) == 1)
    terms: dict[int, list[Any]] = {t: [] for t in range(ctx.steps)}
    for s in starts:
        for k, power in enumerate(profile):
            if power:
                terms[s + k].append(power * block.x[s])
    block.c = pyo.Expression(ctx.T, rule=lambda _b, t: sum(terms[t]) if terms[t] else 0.0)
    block.injection = pyo.Expression(ctx.T, rule=lambda b, t: -b.c[t])
    block.consumption = pyo.Expression(ctx.T, rule=lambda b, t: b.c[t])


def matrix(sf: StandardForm, asset: ShiftableLoad, ctx: Any, node: str) -> Columns:
    """The same model in standard form: x[τ] draws profile[k] at step τ + k, written into the balance rows."""
    profile = np.asarray(asset.profile_mw, dtype=float)
    taus = np.array(start_steps(asset, ctx.steps), dtype=int)
    n = len(taus)
    x = sf.cols(n, 0.0, 1.0, integer=True)
    r = sf.rows(1, 1.0, 1.0)  # Σ x = 1
    sf.coef(r, x + np.arange(n), 1.0)
    k = np.flatnonzero(profile)
    # c[t] = Σ_τ x[τ]·profile[t − τ]: −profile[k] at (balance row of τ + k, column of x[τ])
    sf.coef(ctx.balance[node] + taus[:, None] + k[None, :], x + np.arange(n)[:, None], -profile[k][None, :])
    ctx.consumes(x, float(profile.sum()), n)  # Σ_t c[t] = Σ profile · Σ_τ x[τ]
    return {"x": (x, n)}


def start_step(read: Reader, asset: ShiftableLoad, steps: int) -> int:
    """The chosen start step after a solve."""
    starts = start_steps(asset, steps)
    return starts[int(np.argmax(read("x")))]


def values(read: Reader, asset: ShiftableLoad, ctx: Any) -> dict[str, np.ndarray]:
    profile = np.asarray(asset.profile_mw, dtype=float)
    starts = start_steps(asset, ctx.steps)
    runs = np.zeros(ctx.steps)
    runs[starts] = read("x")
    c = np.convolve(runs, profile)[: ctx.steps]
    running = np.zeros(ctx.steps)
    s = start_step(read, asset, ctx.steps)
    running[s : s + len(profile)] = 1.0
    return {"consumption_mw": c, "injection_mw": -c, "running": running}
