"""Storage sizing by co-optimisation: capacities as decision variables over weighted days.

One model holds K days (typically the tsam typical days of a year, each a
canonical case of model.md) and, for every candidate site, a power P_s [MW]
and an energy E_s [MWh] shared by all days. Each day is the day-ahead model
of :mod:`models.build` as it stands; its sized batteries take the sizing
variant of :func:`models.assets.battery.make_sizable`.

=============  =============================================================
w_k            weight of day k [days a year it stands for]
C_k            the day's cost, model.md §6 [CNY]
cP_s, cE_s     annualised capital cost [CNY per MW-year, CNY per MWh-year]
P_s, E_s       sized power [MW] and energy [MWh] of site s
dmin_s, dmax_s optional bounds on the duration E_s / P_s [h]
=============  =============================================================

minimise   Σ_k w_k·C_k + Σ_s (cP_s·P_s + cE_s·E_s)
s.t.       every day's rows (model.md §2–§5) with the sizing variant of §4.3,
           0 ≤ P_s ≤ Pmax_s, 0 ≤ E_s ≤ Emax_s,
           dmin_s·P_s ≤ E_s ≤ dmax_s·P_s (when given),
           P_s = fixed, E_s = fixed (when fixed: finite differences, checks).

Each day starts from soc_initial·E and ends at or above soc_final_min·E: the
rule every simulated day of the year follows, so that the typical days and
the year simulation value storage alike.

Exclusivity is lazy, as in :mod:`models.optimize`: the days are solved first
without charge/discharge and import/export binaries; if a solution charges and
discharges a battery in one step (or imports and exports in one), the
binaries of exactly those batteries (in every day) are added with the big-M
of the sizing variant, and the model is solved again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from models.assets import battery
from models.build import BuiltModel, Formulation, build
from models.optimize import with_needed_binaries
from models.solve import SolveOptions, SolveReport, solve
from vpp.case import Case


@dataclass(frozen=True)
class SizedSite:
    """A candidate site: the battery id it carries in every day's case, and its capital cost.

    The battery's ``power_mw`` and ``energy_mwh`` in the days' cases are the
    upper bounds Pmax, Emax of the sizes.
    """

    battery_id: str
    cost_cny_per_mw_year: float
    cost_cny_per_mwh_year: float
    duration_min_h: float | None = None
    duration_max_h: float | None = None
    power_fixed_mw: float | None = None
    energy_fixed_mwh: float | None = None


@dataclass
class SizingOutcome:
    """Sizes [MW, MWh], cost [CNY/yr] split into operating and capital, and each day's solved model."""

    power_mw: dict[str, float]
    energy_mwh: dict[str, float]
    objective_cny: float
    operating_cny: float
    capital_cny: float
    day_cost_cny: list[float]
    report: SolveReport
    days: list[BuiltModel] = field(repr=False)
    build_seconds: float = 0.0


def _check(days: list[Case], weights: list[float], sites: list[SizedSite]) -> None:
    if not days:
        raise ValueError("co-optimisation needs at least one day")
    if len(weights) != len(days):
        raise ValueError(f"expected one weight per day ({len(days)}), got {len(weights)}")
    if any(w < 0 for w in weights):
        raise ValueError(f"weights must be >= 0, got {weights}")
    for s in sites:
        for k, case in enumerate(days):
            found = [a for a in case.assets if a.id == s.battery_id and a.type == "battery"]
            if not found:
                raise ValueError(f"day {k}: no battery {s.battery_id!r} to size")
            first = next(a for a in days[0].assets if a.id == s.battery_id)
            if (found[0].power_mw, found[0].energy_mwh) != (first.power_mw, first.energy_mwh):
                raise ValueError(f"battery {s.battery_id!r}: the size bounds differ between days")


def _build(days: list[Case], weights: list[float], sites: list[SizedSite], formulation: Formulation) -> tuple[pyo.ConcreteModel, list[BuiltModel]]:
    m = pyo.ConcreteModel(name="sizing")
    first = {a.id: a for a in days[0].assets}
    ids = [s.battery_id for s in sites]
    m.S = pyo.Set(initialize=ids, ordered=True)

    def p_bounds(_m: pyo.ConcreteModel, s: str) -> tuple[float, float]:
        return (0.0, float(first[s].power_mw or 0.0))

    def e_bounds(_m: pyo.ConcreteModel, s: str) -> tuple[float, float]:
        return (0.0, float(first[s].energy_mwh))

    m.P = pyo.Var(m.S, bounds=p_bounds)
    m.E = pyo.Var(m.S, bounds=e_bounds)
    by_id = {s.battery_id: s for s in sites}
    m.duration_min = pyo.Constraint(
        [s for s in ids if by_id[s].duration_min_h is not None],
        rule=lambda _m, s: m.E[s] >= by_id[s].duration_min_h * m.P[s],
    )
    m.duration_max = pyo.Constraint(
        [s for s in ids if by_id[s].duration_max_h is not None],
        rule=lambda _m, s: m.E[s] <= by_id[s].duration_max_h * m.P[s],
    )
    for s in sites:
        if s.power_fixed_mw is not None:
            m.P[s.battery_id].fix(s.power_fixed_mw)
        if s.energy_fixed_mwh is not None:
            m.E[s.battery_id].fix(s.energy_fixed_mwh)

    built_days = []
    for k, case in enumerate(days):
        built = build(case, formulation)
        sub = built.model
        sub.obj.deactivate()
        by_asset = {a.id: a for a in case.assets}
        for s in ids:
            battery.make_sizable(sub.asset[s], by_asset[s], case.dt_hours, m.P[s], m.E[s])
        m.add_component(f"day_{k}", sub)
        built_days.append(built)
    m.cost_operating = pyo.Expression(expr=sum(w * b.model.obj.expr for w, b in zip(weights, built_days, strict=True)))
    m.cost_capital = pyo.Expression(
        expr=sum(by_id[s].cost_cny_per_mw_year * m.P[s] + by_id[s].cost_cny_per_mwh_year * m.E[s] for s in ids)
    )
    m.obj = pyo.Objective(expr=m.cost_operating + m.cost_capital, sense=pyo.minimize)
    return m, built_days


def co_optimise(
    days: list[Case],
    weights: list[float],
    sites: list[SizedSite],
    options: SolveOptions | None = None,
) -> SizingOutcome:
    """Minimise weighted operating cost plus annualised capital cost over the sizes (module docstring)."""
    _check(days, weights, sites)
    options = options or SolveOptions()
    formulation = Formulation(battery_binaries=frozenset(), grid_binary=False)
    build_s = 0.0
    rounds = 0
    while True:
        rounds += 1
        t0 = time.perf_counter()
        with PauseGC():
            m, built_days = _build(days, weights, sites, formulation)
        build_s += time.perf_counter() - t0
        report = solve(BuiltModel(case=days[0], model=m, build_seconds=0.0), options)
        wider = with_needed_binaries(formulation, built_days)
        if wider is None:
            break
        formulation = wider
    report.rounds = rounds
    ids = [s.battery_id for s in sites]
    return SizingOutcome(
        power_mw={s: float(pyo.value(m.P[s])) for s in ids},
        energy_mwh={s: float(pyo.value(m.E[s])) for s in ids},
        objective_cny=float(pyo.value(m.obj)),
        operating_cny=float(pyo.value(m.cost_operating)),
        capital_cny=float(pyo.value(m.cost_capital)),
        day_cost_cny=[float(pyo.value(b.model.obj.expr)) for b in built_days],
        report=report,
        days=built_days,
        build_seconds=build_s,
    )
