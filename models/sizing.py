"""Storage sizing by co-optimisation: capacities as decision variables over weighted days.

One program holds K days (typically the tsam typical days of a year, each a
canonical case of model.md, declared by :func:`models.build.declare_case` under
``day[k]``) and, for every candidate site, a power P_s [MW] and an energy
E_s [MWh] shared by all days: columns that each day's battery reads as its
capacities (:meth:`models.declare.Block.capacity`, the sizing form described in
:mod:`models.assets.battery`). It runs on the same fast path as a day-ahead
solve.

=============  =============================================================
w_k            weight of day k [days a year it stands for]
C_k            the day's cost, model.md §7 [CNY]
cP_s, cE_s     annualised capital cost [CNY per MW-year, CNY per MWh-year]
P_s, E_s       sized power [MW] and energy [MWh] of site s
dmin_s, dmax_s optional bounds on the duration E_s / P_s [h]
=============  =============================================================

minimise   Σ_k w_k·C_k + Σ_m c·(peak_m − P̂) + Σ_s (cP_s·P_s + cE_s·E_s)
s.t.       every day's rows (model.md §2–§5) with the sized capacities,
           0 ≤ P_s ≤ Pmax_s, 0 ≤ E_s ≤ Emax_s,
           dmin_s·P_s ≤ E_s ≤ dmax_s·P_s (when given),
           P_s = fixed, E_s = fixed (when fixed: finite differences, checks).

With billing periods (one key per day, the month), the days of a month share
one peak column, peak_m ≥ imp_k[t] for every day k of month m, and its demand
charge is counted once rather than by the days' weights: the two-part tariff's
monthly maximum-demand charge (model.md §3) over a year of typical days.

Each day starts from soc_initial·E and ends at or above soc_final_min·E: the
rule every simulated day of the year follows, so that the typical days and
the year simulation value storage alike.

Exclusivity is lazy, as in :mod:`models.optimize`: the days are solved first
without charge/discharge and import/export binaries; the binaries of exactly
the batteries (in every day) that charged and discharged in one step are then
added, with the big-M of the sized capacity, and the model is solved again.

Numerics. Each day reads its own copy of the sizes, P_s^k and E_s^k, tied to
P_s and E_s by one equality each (P_s^k = P_s, E_s^k = E_s); the program is the
same, its optimum too. Read directly, a size column would sit in every battery
row of every day (charge and discharge bounds, SoC bounds, start and end:
23,000 nonzeros for an energy column over the TEDA year's 40 typical days), a
dense column that links all the days. As long as the site limits pin the sizes
at their bounds the dual simplex hardly notices; with the limits lifted (400 MW /
1600 MWh a site, the branch's firm capacity and 4 h then bounding the sizes at
148 MW / 593 MWh a 110 kV site, 39 MW / 156 MWh a 35 kV site) it found no schedule in 600 s, and HiGHS's
interior point, which dualises such a model, turning the dense columns into
dense rows, stopped without progress. With the copies every column is within
one day but the sizes' own (one row a day), and the rounds without integer
columns (the relaxed first round) go to the interior point with crossover
(``SolveOptions.lp_solver="ipm"`` unless the caller chose), whose vertex the
exclusivity check reads as it reads a simplex one. On the TEDA year with
--typical-days 12 (40 days with the months' peak and event days, 178,000
columns) the unlimited co-optimisation then solves in about 100–115 s of CPU; the one with the default
site limits takes about 55 s, twice the dual simplex's 28 s on the model without
copies, which that one solved fast only because the sizes sat at their bounds.

``relax=True`` solves the linear relaxation of the days' own integer decisions
(a line that stops whole, a batch process's start): many days of them make a
MIP whose root alone takes minutes, and they hardly move the sizes. The
objective is then a lower bound of the co-optimum (``SizingOutcome.relaxed``);
simulating the days at the sizes found (each day's MIP) gives an upper bound,
and the two bound how far the sizes are from the co-optimum. The
exclusivity binaries stay integer.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from models.build import Built, declare_case
from models.case import Case
from models.declare import Element, Formulation, Lin, Program, Scope
from models.optimize import with_needed_binaries
from models.solve import SolveOptions, SolveReport, solve


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
    """Sizes [MW, MWh], cost [CNY/yr] split into operating and capital, and each day's cost [CNY]."""

    power_mw: dict[str, float]
    energy_mwh: dict[str, float]
    objective_cny: float
    operating_cny: float
    capital_cny: float
    day_cost_cny: list[float]
    report: SolveReport
    built: Built = field(repr=False)
    build_seconds: float = 0.0
    relaxed: bool = False  # the days' own integer decisions relaxed: the objective is a lower bound


def _check(days: list[Case], weights: list[float], sites: list[SizedSite]) -> None:
    if not days:
        raise ValueError("co-optimisation needs at least one day")
    if len(weights) != len(days):
        raise ValueError(f"expected one weight per day ({len(days)}), got {len(weights)}")
    if any(w < 0 for w in weights):
        raise ValueError(f"weights must be >= 0, got {weights}")
    for s in sites:
        first = next((a for a in days[0].assets if a.id == s.battery_id and a.type == "battery"), None)
        for k, case in enumerate(days):
            found = [a for a in case.assets if a.id == s.battery_id and a.type == "battery"]
            if not found:
                raise ValueError(f"day {k}: no battery {s.battery_id!r} to size")
            if first is not None and (found[0].power_mw, found[0].energy_mwh) != (first.power_mw, first.energy_mwh):
                raise ValueError(f"battery {s.battery_id!r}: the size bounds differ between days")
            if found[0].charge_power_mw is not None or found[0].discharge_power_mw is not None:
                raise ValueError(f"battery {s.battery_id!r}: sizing takes one power_mw for charge and discharge")


def _build(days: list[Case], weights: list[float], sites: list[SizedSite], formulation: Formulation,
           billing: list[Any] | None = None) -> tuple[Built, dict[str, tuple[Lin, Lin]]]:
    """The program of the module docstring, and each site's size columns (P_s, E_s)."""
    t0 = time.perf_counter()
    sizes: dict[str, tuple[Lin, Lin]] = {}
    program = Program(formulation)
    first = {a.id: a for a in days[0].assets}
    state = program.scope(Scope(prefix=(), case=(), name="sizing", weight=1.0, case_weight=1.0))
    for s in sites:
        a = first[s.battery_id]
        pmax, emax = float(a.power_mw or 0.0), float(a.energy_mwh)
        plo = phi = s.power_fixed_mw
        elo = ehi = s.energy_fixed_mwh
        P = program.capacity_column(s.battery_id, "power_mw", pmax if phi is None else phi, 0.0 if plo is None else plo)
        E = program.capacity_column(s.battery_id, "energy_mwh", emax if ehi is None else ehi, 0.0 if elo is None else elo)
        sizes[s.battery_id] = (P, E)
        m = program.block(state, (("capacity", s.battery_id),), Element(s.battery_id, "capacity", ""), None)
        if s.duration_min_h is not None:
            m.add("duration_min", E >= s.duration_min_h * P)
        if s.duration_max_h is not None:
            m.add("duration_max", E <= s.duration_max_h * P)
        m.cost("capital", s.cost_cny_per_mw_year * P + s.cost_cny_per_mwh_year * E)
    states = []
    for k, (case, w) in enumerate(zip(days, weights, strict=True)):
        for s in sites:  # the day's own copies of the sizes (module docstring: numerics)
            path = (("capacity", s.battery_id), ("day", k))
            m = program.block(state, path, Element(s.battery_id, "capacity", ""), None)
            for name, size in zip(("power_mw", "energy_mwh"), sizes[s.battery_id], strict=True):
                m.add(f"{name}_copy", program.capacity_copy(s.battery_id, name, path) == size)
        states += declare_case(program, case, prefix=(("day", k),), weight=w,
                               billing=None if billing is None else billing[k])
    arrays = program.finish()
    return Built(case=days[0], program=program, arrays=arrays, build_seconds=time.perf_counter() - t0,
                 formulation=formulation, scopes=states), sizes


def co_optimise(
    days: list[Case],
    weights: list[float],
    sites: list[SizedSite],
    options: SolveOptions | None = None,
    billing: list[Any] | None = None,
    relax: bool = False,
) -> SizingOutcome:
    """Minimise weighted operating cost plus annualised capital cost over the sizes (module docstring).

    ``billing``: one key per day, the billing period (month) whose maximum-demand charge the
    day shares: days with the same key have one peak, charged once (not by the days' weights).
    ``relax``: the days' own integer decisions relaxed (module docstring).
    """
    _check(days, weights, sites)
    if billing is not None and len(billing) != len(days):
        raise ValueError(f"expected one billing period per day ({len(days)}), got {len(billing)}")
    options = options or SolveOptions()
    if options.lp_solver == "choose":  # the rounds without integer columns by interior point (module docstring)
        options = replace(options, lp_solver="ipm")
    formulation = Formulation(binaries=frozenset())
    build_s = 0.0
    rounds = 0
    enabled = gc.isenabled()
    own: set[str] | None = None  # the days' own integer families (the first round has no exclusivity binaries)
    while True:
        rounds += 1
        gc.disable()
        try:
            built, sizes = _build(days, weights, sites, formulation, billing)
        finally:
            if enabled:
                gc.enable()
        build_s += built.build_seconds
        if relax:
            families = [f for f in built.program.families if f.integer]
            if own is None:
                own = {f.full_name() for f in families}
            for f in families:
                if f.full_name() in own:
                    built.arrays.integer[f.start : f.start + f.n] = False
        report = solve(built, options)
        wider = with_needed_binaries(formulation, [built])
        if wider is None:
            break
        formulation = wider
    report.rounds = rounds
    x = built.x
    assert x is not None
    power = {s.battery_id: float(sizes[s.battery_id][0].value(x)[0]) for s in sites}
    energy = {s.battery_id: float(sizes[s.battery_id][1].value(x)[0]) for s in sites}
    terms = built.arrays.term_costs(x)
    capital = sum(v for element, term, v in terms if term == "capital")
    objective = float(built.arrays.cost @ x + built.arrays.offset)
    day_cost = []
    for state in built.scopes:
        sc = state.scope
        total = sum(v for _, _, v in built.arrays.term_costs(x, scope=sc.key))
        total += sum(v for _, _, v in built.arrays.term_costs(x, scope=sc.first_stage_key))
        day_cost.append(total / sc.weight if sc.weight else float(np.nan))
    return SizingOutcome(
        power_mw=power,
        energy_mwh=energy,
        objective_cny=objective,
        operating_cny=objective - capital,
        capital_cny=capital,
        day_cost_cny=day_cost,
        report=report,
        built=built,
        build_seconds=build_s,
        relaxed=relax and bool(own),
    )
