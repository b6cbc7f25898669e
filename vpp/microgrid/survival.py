"""What an outage would cost: an outage of the supply point simulated at every step of a solved day.

For a solved schedule and every start step ``s`` of the day, an outage of
``K = ⌈H/Δ⌉`` steps (``H`` hours) starting at ``s`` is a small canonical case
(``shared/spec/model.md``) solved with :func:`vpp.dispatch.solve_case`:

- ``K`` steps from the start of step ``s``, islanded (import and export maxima 0);
  the day's profile is taken to repeat past its end (step indices modulo N),
  as the backup reserve's rule does (§5.5);
- the case's network with its branch limits; at each node one PV asset (the PV
  available there), one fixed ``load``: the critical demand (each load's and
  curtailable load's ``critical_fraction`` of its demand), whose unserved energy
  costs the value of lost load, and one ``curtailable_load``: the rest (the other
  share of those loads, and what the shiftable and flexible loads and the thermal
  stores' chillers consumed in the schedule), shed at ``other_cny_per_mwh``,
  lower than the value of lost load;
- each battery as in the case, starting at the schedule's level at the start of
  step ``s`` (the initial level for ``s = 0``), with no end-level requirement,
  no wear cost and no regulation; green contracts (bought through the grid) are out.

``critical_at_risk_mwh[s]``: the critical energy that outage leaves unserved
(the least, while the rest is priced below it); ``other_served_mwh[s]``: what of
the rest it still carries; ``outage_cost_cny[s]``: the simulation's objective,
the value of lost load on the critical energy at risk and the rest's price on
the rest shed: what the outage would cost. ``survived_steps[s]``: the longest prefix of the
outage whose critical load can be carried in full. It is found from the
simulation (its first step with unserved energy is a lower bound) and then by
bisection over shorter outages solved with the rest unpriced (so that only the
critical load counts): carrying an outage of m steps in full is possible for
every m up to ``survived_steps`` and for none beyond, as a shorter outage from
the same start drops only constraints.

The survival curve is the share of start steps that survive an outage of
``m = 1 … K`` steps: non-increasing in ``m`` by construction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models import SolveOptions
from vpp.case import Battery, Case, load_case
from vpp.errors import CaseError, Problem

if TYPE_CHECKING:
    from vpp.coalitions import Pool

#: Unserved power below this [MW] counts as served.
TOLERANCE_MW = 1e-6

#: The rest's shedding price, as a share of the value of lost load, when none is given.
OTHER_SHARE_OF_VOLL = 0.1

STEP = "simulating outages"


@dataclass(frozen=True)
class OutageInputs:
    """What an outage meets at each step of the day: by node, the critical and other demand and the PV [MW];
    each battery's level at the start of each step [MWh]."""

    case: Case
    critical_mw: dict[str, np.ndarray]
    other_mw: dict[str, np.ndarray]
    pv_mw: dict[str, np.ndarray]
    level_mwh: dict[str, np.ndarray]

    @property
    def steps(self) -> int:
        return self.case.steps

    def deliverable_mwh(self, s: int) -> float:
        """Σ_b ηd·(level − soc_min·E) at the start of step ``s`` [MWh]: the energy the batteries can deliver."""
        total = 0.0
        for b in self.case.assets_of(Battery):
            if b.id in self.level_mwh:
                total += b.discharge_efficiency * max(0.0, self.level_mwh[b.id][s] - b.soc_min * b.energy_mwh)
        return total


def outage_inputs(case: Case, schedule: pd.DataFrame) -> OutageInputs:
    """The inputs of the simulations from a solved day: its case and its tidy schedule (:mod:`vpp.results`)."""
    if case.scenarios:
        raise CaseError([Problem("scenarios", "a stochastic day has one schedule per scenario: expected a "
                                 "deterministic schedule (a case without scenarios)")], step=STEP)
    n, root = case.steps, case.network.root
    nodes = [root, *case.node_ids]
    critical = {v: np.zeros(n) for v in nodes}
    other = {v: np.zeros(n) for v in nodes}
    pv = {v: np.zeros(n) for v in nodes}
    levels: dict[str, np.ndarray] = {}

    def scheduled(asset: str, quantity: str) -> np.ndarray:
        rows = schedule[(schedule["asset"] == asset) & (schedule["quantity"] == quantity)]
        if len(rows) != n:
            raise CaseError([Problem(f"schedule.{asset}.{quantity}", f"expected {n} values (one per step) in the "
                                     f"schedule, got {len(rows)}")], step=STEP)
        return rows.sort_values("step")["value"].to_numpy(dtype=float)

    for a in case.assets:
        node = case.node_of(a)
        if a.type in ("load", "curtailable_load"):
            demand = case.series(a.demand_mw)
            critical[node] += a.critical_fraction * demand
            other[node] += (1.0 - a.critical_fraction) * demand
        elif a.type in ("shiftable_load", "flexible_load", "thermal_storage"):
            other[node] += np.maximum(0.0, scheduled(a.id, "consumption_mw"))
        elif a.type == "pv":
            pv[node] += case.series(a.available_mw)
        elif a.type == "battery" and a.energy_mwh > 0:
            soc = scheduled(a.id, "soc_mwh")
            levels[a.id] = np.concatenate([[a.soc_initial * a.energy_mwh], soc[:-1]])
    return OutageInputs(case, critical, other, pv, levels)


def outage_case(inputs: OutageInputs, start: int, steps: int, other_cny_per_mwh: float) -> Case:
    """The canonical case of an outage of ``steps`` steps from step ``start`` (see the module docstring)."""
    case = inputs.case
    n = case.steps
    window = (start + np.arange(steps)) % n

    def series(values: np.ndarray) -> list[float]:
        return [float(v) for v in np.round(values[window], 9)]

    assets: list[dict[str, Any]] = []
    for node in inputs.critical_mw:
        where = {} if node == case.network.root else {"node": node}
        if inputs.pv_mw[node].any():
            assets.append({"id": f"{node}/pv", "type": "pv", "available_mw": series(inputs.pv_mw[node]), **where})
        if inputs.critical_mw[node].any():
            assets.append({"id": f"{node}/critical", "type": "load", "demand_mw": series(inputs.critical_mw[node]),
                           "critical_fraction": 1.0, **where})
        if inputs.other_mw[node].any():
            rest = series(inputs.other_mw[node])
            assets.append({"id": f"{node}/other", "type": "curtailable_load", "demand_mw": rest,
                           "max_reduction_mw": rest, "cost_cny_per_mwh": other_cny_per_mwh, **where})
    for b in case.assets_of(Battery):
        if b.id not in inputs.level_mwh:
            continue
        level = float(np.clip(inputs.level_mwh[b.id][start] / b.energy_mwh, b.soc_min, b.soc_max))
        assets.append({
            "id": b.id, "type": "battery", "node": case.node_of(b), "charge_power_mw": b.charge_mw,
            "discharge_power_mw": b.discharge_mw, "energy_mwh": b.energy_mwh,
            "charge_efficiency": b.charge_efficiency, "discharge_efficiency": b.discharge_efficiency,
            "soc_min": b.soc_min, "soc_max": b.soc_max, "soc_initial": level, "soc_final_min": b.soc_min,
            "self_discharge_per_hour": b.self_discharge_per_hour,
        })
    begin = case.start + pd.Timedelta(minutes=case.step_minutes * start)
    return load_case({
        "name": f"{case.name} outage from step {start}",
        "start": begin.isoformat(),
        "step_minutes": case.step_minutes,
        "steps": steps,
        "voll_cny_per_mwh": case.voll_cny_per_mwh,
        "network": case.network.model_dump(mode="json", exclude_none=True),
        "grid": {"import_max_mw": 0.0, "export_max_mw": 0.0, "buy_cny_per_mwh": 0.0},
        "assets": assets,
    })


@dataclass(frozen=True)
class Settings:
    """How the simulations run: the outage's length [h], the rest's price [CNY/MWh], the solver's options."""

    hours: float
    other_cny_per_mwh: float
    options: SolveOptions = field(default_factory=lambda: SolveOptions(mip_gap=1e-6, time_limit_s=60.0, threads=1))

    def steps(self, step_minutes: int) -> int:
        """K = ⌈H/Δ⌉."""
        return window_steps(self.hours, step_minutes)


def window_steps(hours: float, step_minutes: int) -> int:
    """The steps of an outage of ``hours`` [h]: K = ⌈H/Δ⌉ (at least one)."""
    return max(1, math.ceil(hours * 60 / step_minutes - 1e-9))


def _unserved(case: Case, result: Any) -> np.ndarray:
    """Unserved power over the outage, summed over the nodes [MW]."""
    s = result.schedule
    rows = s[(s["type"] == "node") & (s["quantity"] == "unserved_mw")]
    return rows.groupby("step")["value"].sum().reindex(range(case.steps), fill_value=0.0).to_numpy(dtype=float)


def _served_steps(u: np.ndarray) -> int:
    """The number of leading steps with no unserved energy."""
    bad = np.flatnonzero(u > TOLERANCE_MW)
    return int(bad[0]) if bad.size else len(u)


def simulate_start(inputs: OutageInputs, start: int, settings: Settings) -> dict[str, Any]:
    """One start: the outage simulated, and the longest outage from there that keeps the critical load on."""
    from vpp.dispatch import solve_case

    case = inputs.case
    K, dt = settings.steps(case.step_minutes), case.dt_hours
    oc = outage_case(inputs, start, K, settings.other_cny_per_mwh)
    result = solve_case(oc, settings.options)
    solves = 1
    u = _unserved(oc, result)
    window = (start + np.arange(K)) % case.steps
    critical = sum(v[window] for v in inputs.critical_mw.values())
    other = sum(v[window] for v in inputs.other_mw.values())
    s = result.schedule
    served = float(s[(s["type"] == "curtailable_load") & (s["quantity"] == "consumption_mw")]["value"].sum() * dt)
    lo, hi = _served_steps(u), K
    if lo < K:  # bisection on the longest prefix that can be carried in full, the rest unpriced
        while lo < hi:
            mid = (lo + hi + 1) // 2
            check = outage_case(inputs, start, mid, 0.0)
            cu = _unserved(check, solve_case(check, settings.options))
            solves += 1
            if cu.max(initial=0.0) <= TOLERANCE_MW:
                lo = mid
            else:
                hi = mid - 1
                lo = max(lo, _served_steps(cu))
    return {
        "step": start,
        "time": case.timestamps[start].isoformat(),
        "battery_mwh": float(inputs.deliverable_mwh(start)),
        "critical_mwh": float(np.sum(critical) * dt),
        "critical_at_risk_mwh": float(np.sum(u) * dt),
        "other_mwh": float(np.sum(other) * dt),
        "other_served_mwh": served,
        "outage_cost_cny": float(result.objective_cny),
        "survived_steps": lo,
        "survived_hours": lo * dt,
        "solves": solves,
    }


def _chunk(inputs: OutageInputs, settings: Settings, starts: list[int]) -> list[dict[str, Any]]:
    return [simulate_start(inputs, s, settings) for s in starts]


@dataclass
class Survival:
    """The simulations of one schedule: one row per start step and the survival curve."""

    label: str
    hours: float
    step_minutes: int
    starts: pd.DataFrame
    backup_hours: float | None = None
    objective_cny: float | None = None
    mip_gap: float | None = None

    @property
    def steps(self) -> int:
        return window_steps(self.hours, self.step_minutes)

    def curve(self) -> pd.DataFrame:
        """Share of start steps whose critical load is carried through an outage of each length."""
        lengths = np.arange(1, self.steps + 1)
        survived = self.starts["survived_steps"].to_numpy()
        return pd.DataFrame({
            "length_steps": lengths,
            "length_hours": lengths * self.step_minutes / 60.0,
            "share_survived": [float(np.mean(survived >= m)) for m in lengths],
        })

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "backup_hours": self.backup_hours,
            "objective_cny": self.objective_cny,
            "mip_gap": self.mip_gap,
            "mean_survived_hours": float(self.starts["survived_hours"].mean()),
            "mean_critical_at_risk_mwh": float(self.starts["critical_at_risk_mwh"].mean()),
            "mean_outage_cost_cny": float(self.starts["outage_cost_cny"].mean()),
            "curve": self.curve().to_dict(orient="records"),
            "starts": self.starts.to_dict(orient="records"),
        }


Progress = Callable[[int, int], None]


def simulate(
    case: Case,
    schedule: pd.DataFrame,
    settings: Settings,
    *,
    label: str = "schedule",
    starts: Iterable[int] | None = None,
    pool: Pool | None = None,
    progress: Progress | None = None,
) -> Survival:
    """Simulate an outage of ``settings.hours`` from every step (or ``starts``) of a solved day.

    ``pool``: where the simulations run (:class:`vpp.coalitions.Pool`, the project's pool of
    processes or Dask workers; default this process), in chunks of starts; ``progress(starts done, starts)``.
    """
    from vpp.coalitions import Pool

    inputs = outage_inputs(case, schedule)
    chosen = list(range(case.steps)) if starts is None else list(starts)
    pool = pool or Pool("serial")
    per = 1 if pool.scheduler == "serial" else max(1, math.ceil(len(chosen) / (4 * pool.workers)))
    chunks = [chosen[i:i + per] for i in range(0, len(chosen), per)]

    def done(n: int, total: int) -> None:
        if progress:
            progress(min(n * per, len(chosen)), len(chosen))

    rows = [r for chunk in pool.map(partial(_chunk, inputs, settings), chunks, done) for r in chunk]
    frame = pd.DataFrame(sorted(rows, key=lambda r: r["step"]))
    return Survival(label, settings.hours, case.step_minutes, frame, backup_hours=case.backup_hours)
