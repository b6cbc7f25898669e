"""A sizing study: the year, the co-optimisation, the sweep, the economics and ``sizing.json``.

Flow (``run_study``):

1. the days of the year (:mod:`vpp.sizing.year`) and the candidate sites;
2. with typical days: choose them (:mod:`vpp.sizing.typical`) and
   co-optimise the sizes of every site over them (:mod:`models.sizing`);
3. the sweep: a grid of total power × energy, split over the sites (by the
   co-optimised split, else evenly), each point simulated over the typical
   days or, without them, over the full year; plus the point "no storage";
4. with typical days and ``full_year_check``: the full year simulated at no
   storage and at the recommended size, and the difference reported;
5. economics of every point against no storage (:mod:`vpp.sizing.economics`).

The recommended size is the co-optimised one when there are typical days,
else the sweep's point with the least annualised total cost. The marginal
value of the last MWh is a finite difference in both: over the co-optimised
model (the annual operating cost with 1 MWh less, split over the sites as
the optimum is, powers re-optimised) and over the sweep (between the best
point and its neighbour of less energy at the same power).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from vpp.case import load_case, read_case
from vpp.errors import CaseError, Problem, SolverError
from vpp.sizing import economics as fin
from vpp.sizing.runner import Progress, Runner
from vpp.sizing.schema import (
    SizingRequest,
    around,
    economics_from,
    emission_profile,
    load_defaults,
    parse_sweep,
    site_limits_from,
)
from vpp.sizing.typical import typical_plan
from vpp.sizing.year import (
    Plan,
    RunSettings,
    Site,
    Variant,
    binding_limits,
    candidate_sites,
    make_day,
    series_plan,
    with_storage,
    year_plan,
)

STEP = "running the sizing study"

DEMAND_DEPTHS = (0.25, 0.5, 1.0)
"""The cuts of a month's peak the typical days are chosen for, as fractions of the sites' total power (:func:`vpp.sizing.typical.demand_days`)."""

SUMMED = [
    "objective_cny", "import_mwh", "export_mwh", "emissions_t", "consumption_mwh", "renewable_mwh",
    "pv_available_mwh", "pv_curtailed_mwh", "unserved_mwh", "unserved_thermal_mwh_th",
    "storage_charge_mwh", "storage_discharge_mwh", "storage_charging_cost_cny",
]
"""The day columns summed by the days' weights into the annual table (``…_per_year``)."""

SUMMED_IF_THERE = [
    "emissions_profile_t", "grid_energy_mwh", "storage_auxiliary_mwh", "storage_discharge_value_cny",
    "storage_auxiliary_cost_cny", "storage_regulation_mw_h", "storage_regulation_loss_mwh", "soc_start_mwh", "soc_end_mwh",
]
"""As :data:`SUMMED`, where the days have them (the bill's breakdown and the energy balance)."""


def _per_year(column: str) -> str:
    """The annual table's name of a summed day column."""
    return "dispatch_cost_cny_per_year" if column == "objective_cny" else f"{column}_per_year"


@dataclass
class StudyResult:
    """Everything a study produced: the JSON summary, the tables and what the plots need."""

    summary: dict[str, Any]
    points: pd.DataFrame  # one row per sweep point: sizes, annual figures, economics
    days: pd.DataFrame  # one row per point and day simulated (typical days or the year)
    monthly: pd.DataFrame  # cost per month with and without storage
    typical_dispatch: Any = None  # a DispatchResult of the heaviest typical day at the recommended size
    timings: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


def make_plan(req: SizingRequest) -> Plan:
    """The days of the year: from the template (:func:`year_plan`), or the one-day case and its series."""
    from vpp.cases import Template, case_source

    source = case_source(req.case, step=STEP) if req.case_data is None else None
    if isinstance(source, Template):
        return year_plan(source.name, req.year, history=req.series_source() if req.series else "auto", chunk=req.chunk)
    base = load_case(req.case_data) if source is None else read_case(source)
    if req.series is None:
        raise CaseError([Problem("series", "a case file needs the year's series (--series FILE: timestamp, load_mw, pv_mw, buy_cny_per_mwh)")], step=STEP)
    plan = series_plan(base, req.series_source(), chunk=req.chunk)
    years = sorted({d[:4] for d in plan.dates})
    if years != [str(req.year)]:
        raise CaseError([Problem("series", f"the series covers {', '.join(years)}, not the year {req.year}")], step=STEP)
    return plan


def split_points(grid: dict[str, list[float]], sites: list[Site], shares: dict[str, tuple[float, float]]) -> list[tuple[float, float, dict[str, tuple[float, float]]]]:
    """Every (total power, total energy) of the grid with its split over the sites; (0, 0) first."""
    out = [(0.0, 0.0, {})]
    for p in grid["power"]:
        for e in grid["energy"]:
            if p <= 0 or e <= 0:
                continue
            out.append((p, e, {s.id: (p * shares[s.id][0], e * shares[s.id][1]) for s in sites}))
    return out


def beyond_limits(split: dict[str, tuple[float, float]], sites: list[Site], duration_min_h: float,
                  duration_max_h: float) -> str | None:
    """Why a split of a sweep point no site could hold (its first reason), or None when every site holds its share.

    ``split``: power [MW] and energy [MWh] by site. A site holds at most its ``power_max_mw`` and
    ``energy_max_mwh`` (the least of its limits), and its energy is its power × ``duration_min_h`` to
    ``duration_max_h`` [h] (defaults.yaml's ``sizing``), as the co-optimisation allows.
    """
    tol = 1e-6
    for site in sites:
        p, e = split.get(site.id, (0.0, 0.0))
        if p > site.power_max_mw + tol:
            return f"{site.id}: {p:g} MW above its {site.power_max_mw:g} MW limit"
        if e > site.energy_max_mwh + tol:
            return f"{site.id}: {e:g} MWh above its {site.energy_max_mwh:g} MWh limit"
        if e > p * duration_max_h + tol or e < p * duration_min_h - tol:
            return (f"{site.id}: {e:g} MWh on {p:g} MW is {e / p if p > 0 else math.inf:g} h, outside "
                    f"sizing.duration_min_h–duration_max_h {duration_min_h:g}–{duration_max_h:g} h")
    return None


# ---------------------------------------------------------------------------
# Aggregation
# ---------------------------------------------------------------------------


def _month_weights(plan: Plan) -> pd.DataFrame:
    """Weight of each (plan day index, month): 1 per calendar day in the year, the cluster's days per month for typical days."""
    months = [d[:7] for d in plan.dates]
    if plan.assignment is None:
        idx = [d.index for d in plan.days]
        return pd.DataFrame({"day": idx, "month": [months[i] for i in range(len(idx))], "w": 1.0})
    frame = pd.DataFrame({"day": plan.assignment, "month": months, "w": 1.0})
    return frame.groupby(["day", "month"], as_index=False)["w"].sum()


def monthly_table(days: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """Cost per point and month [CNY]: every day's terms by its weight, the maximum-demand charge once.

    The month's maximum-demand charge is billed on its peak: the rate × the
    largest import of its days (``monthly_demand_charge_cny``, also
    ``demand_charge_check_cny``). The days' own demand terms pay for raising
    the month's peak so far (:mod:`vpp.sizing.year`); counted once they add up
    to the same charge when the month starts from no peak
    (``demand_terms_cny``), and to the charge above the month's target when
    it starts from one (the full-year check, :func:`month_targets`).
    """
    mw = _month_weights(plan)
    cols = [c for c in days.columns if c.startswith("cost_") and c.endswith("_cny")] + ["objective_cny"]
    merged = days[["point", "day", "peak_import_mw", "demand_charge_cny_per_mw", *cols]].merge(mw, on="day")
    merged["demand_terms_cny"] = merged["cost_demand_cny"] * (merged["w"] > 0)
    for c in cols:
        merged[c] = merged[c] * merged["w"]
    merged["objective_cny"] -= merged["cost_demand_cny"]  # the demand charge on the month's peak, below
    out = merged.groupby(["point", "month"], as_index=False)[[*cols, "demand_terms_cny"]].sum()
    merged["charge_at_peak"] = merged["demand_charge_cny_per_mw"] * merged["peak_import_mw"]
    peaks = merged.groupby(["point", "month"], as_index=False).agg(
        peak_import_mw=("peak_import_mw", "max"), demand_charge_check_cny=("charge_at_peak", "max"))
    out = out.merge(peaks, on=["point", "month"])
    out = out.rename(columns={"objective_cny": "dispatch_cost_cny"})
    out["monthly_demand_charge_cny"] = out["demand_charge_check_cny"]
    out["cost_demand_cny"] = out["demand_charge_check_cny"]
    out["total_cny"] = out["dispatch_cost_cny"] + out["monthly_demand_charge_cny"]
    return out


POLICIES = {
    "typical": "the month's peak over the typical days at the same size (a demand target set from the plan)",
    "none": "no peak (each day defends the month's peak so far, with no foresight of a later day's)",
}
"""How the full-year check starts each month's peak so far (``full_year_peak_target``)."""


def month_targets(days: pd.DataFrame, on: Plan, year: Plan) -> dict[int, dict[int, tuple[dict[str, float], float]]]:
    """Each point's monthly peak over ``on`` (the typical days) as the month's peak so far on its first day of ``year``.

    What :meth:`vpp.sizing.runner.Runner.run` takes as ``starts``: by point, the
    first day of each month starts from that peak (its storage level as
    chained). A demand target set from the plan: the days of the month do not
    spend energy or curtailment defending a lower peak that a later day of
    the month raises anyway, as a month started from no peak does.
    """
    peaks = monthly_table(days[days["status"] != "failed"], on).set_index(["point", "month"])["peak_import_mw"]
    first: dict[str, int] = {}
    for d in year.days:
        first.setdefault(d.date[:7], d.index)
    return {int(p): {first[m]: ({}, float(v)) for (q, m), v in peaks.items() if q == p and m in first}
            for p in peaks.index.get_level_values(0).unique()}


def annual_table(days: pd.DataFrame, plan: Plan, sizes: list[tuple[float, float, dict]]) -> pd.DataFrame:
    """Annual figures per point: weighted sums of the days, the monthly demand charges, shares and cycles.

    The maximum-demand charge is each month's rate × its peak
    (:func:`monthly_table`), every other term the days' by their weights.
    """
    rows = []
    monthly = monthly_table(days, plan) if len(days) else pd.DataFrame()
    for p, (ptot, etot, split) in enumerate(sizes):
        d = days[days["point"] == p]
        ok = d[d["status"] != "failed"]
        w = ok["weight"].to_numpy()
        row: dict[str, Any] = {"point": p, "power_mw": ptot, "energy_mwh": etot}
        for s, (ps, es) in sorted(split.items()):
            row[f"power_mw:{s}"] = ps
            row[f"energy_mwh:{s}"] = es
        for c in [*SUMMED, *(c for c in SUMMED_IF_THERE if c in d.columns)]:
            row[_per_year(c)] = float((ok[c].to_numpy() * w).sum())
        for c in [c for c in d.columns if c.startswith("cost_") and c.endswith("_cny")]:
            row[c.replace("_cny", "_cny_per_year")] = float((ok[c].to_numpy() * w).sum())
        m = monthly[monthly["point"] == p] if len(monthly) else monthly
        demand = float(m["demand_charge_check_cny"].sum()) if len(m) else 0.0
        row["demand_charge_cny_per_year"] = demand
        row["cost_demand_cny_per_year"] = demand
        row["demand_terms_cny_per_year"] = float((ok["cost_demand_cny"].to_numpy() * (w > 0)).sum())
        row["dispatch_cost_cny_per_year"] -= float((ok["cost_demand_cny"].to_numpy() * w).sum())
        row["operating_cost_cny_per_year"] = row["dispatch_cost_cny_per_year"] + demand
        row["peak_import_mw"] = float(ok["peak_import_mw"].max()) if len(ok) else float("nan")
        cons = row["consumption_mwh_per_year"]
        row["renewable_share"] = row["renewable_mwh_per_year"] / cons if cons > 0 else float("nan")
        row["equivalent_cycles_per_year"] = row["storage_discharge_mwh_per_year"] / etot if etot > 0 else 0.0
        row["days_simulated"] = int(len(d))
        row["days_failed"] = int((d["status"] == "failed").sum())
        row["days_at_time_limit"] = int((d["status"] == "feasible").sum())
        rows.append(row)
    return pd.DataFrame(rows)


def wear_priced(econ: fin.Economics) -> float:
    """The dispatch's price of a MWh discharged when the economics price the fade [CNY/MWh], else 0.

    That price is the augmentation cost of the fade a MWh causes: it steers the
    cycling, and the augmentations it stands for are dated and priced in the
    cash flows (:func:`vpp.sizing.economics.cash_flows`), so the appraisal adds
    it back to the operating saving rather than count the fade twice.
    """
    return fin.wear_cny_per_mwh(econ) if econ.cycle_life is not None else 0.0


def appraised_saving(points: pd.DataFrame, econ: fin.Economics, point: int = 1) -> float:
    """What ``point`` saves a year against point 0 on the bill [CNY/yr]: the operating saving with the wear price added back."""
    r = points.set_index("point")
    wear = wear_priced(econ)
    cost = r["operating_cost_cny_per_year"] - wear * r["storage_discharge_mwh_per_year"]
    return float(cost.loc[0] - cost.loc[point])


def add_economics(points: pd.DataFrame, econ: fin.Economics) -> pd.DataFrame:
    """Every point's figures of merit against point 0 (no storage) (:func:`vpp.sizing.economics.appraise`).

    ``saving_cny_per_year`` is what the bill saves (:func:`appraised_saving`);
    ``operating_saving_cny_per_year`` is that less the dispatch's wear price
    (``wear_cny_per_year``); the total cost a year is the operating cost
    without the wear price plus the annualised capital, O&M and augmentations.
    """
    wear = wear_priced(econ)
    extra = []
    for _, r in points.iterrows():
        a = fin.appraise(econ, r["power_mw"], r["energy_mwh"], appraised_saving(points, econ, int(r["point"])),
                         r["storage_discharge_mwh_per_year"], r["storage_charging_cost_cny_per_year"])
        a.pop("power_mw")
        a.pop("energy_mwh")
        a["wear_cny_per_year"] = wear * r["storage_discharge_mwh_per_year"]
        a["operating_saving_cny_per_year"] = a["saving_cny_per_year"] - a["wear_cny_per_year"]
        a["total_cost_cny_per_year"] = r["operating_cost_cny_per_year"] - a["wear_cny_per_year"] + a["annualised_capital_cny_per_year"]
        extra.append(a)
    return pd.concat([points.reset_index(drop=True), pd.DataFrame(extra)], axis=1)


def sweep_marginal(points: pd.DataFrame, best: int) -> dict[str, Any] | None:
    """Finite difference of the annual operating cost towards less energy at the best point's power."""
    b = points[points["point"] == best].iloc[0]
    same = points[(points["power_mw"] == b["power_mw"]) & (points["energy_mwh"] < b["energy_mwh"]) & (points["point"] != 0)]
    if len(same):
        lo = same.sort_values("energy_mwh").iloc[-1]
        return {
            "cny_per_mwh_year": float((lo["operating_cost_cny_per_year"] - b["operating_cost_cny_per_year"]) / (b["energy_mwh"] - lo["energy_mwh"])),
            "between_mwh": [float(lo["energy_mwh"]), float(b["energy_mwh"])],
            "at_power_mw": float(b["power_mw"]),
            "method": "finite difference over the sweep: the operating cost saved by the grid's last step of energy at the best point's power, per MWh",
        }
    more = points[(points["power_mw"] == b["power_mw"]) & (points["energy_mwh"] > b["energy_mwh"])]
    if len(more):
        hi = more.sort_values("energy_mwh").iloc[0]
        return {
            "cny_per_mwh_year": float((b["operating_cost_cny_per_year"] - hi["operating_cost_cny_per_year"]) / (hi["energy_mwh"] - b["energy_mwh"])),
            "between_mwh": [float(b["energy_mwh"]), float(hi["energy_mwh"])],
            "at_power_mw": float(b["power_mw"]),
            "method": "finite difference over the sweep towards the next MWh (the best point has the grid's least energy)",
        }
    return None


# ---------------------------------------------------------------------------
# The study
# ---------------------------------------------------------------------------


#: The co-optimisation's time limit [s] when the request gives none: at least this, or the days' own limit.
CO_OPTIMISATION_TIME_LIMIT_S = 600.0


def _co_optimise(tdays: list[Any], sites: list[Site], econ: fin.Economics, defaults: dict, settings: RunSettings,
                 time_limit_s: float) -> dict[str, Any]:
    """Co-optimise the sizes over the typical days; the days of a month share one peak (its billing key)."""
    from models import SolveOptions
    from models.sizing import SizedSite, co_optimise

    cycles = float(defaults["sizing"]["co_optimisation_cycles_per_year"])
    per_mw, per_mwh = fin.annualised_coefficients(econ, cycles)
    weights = [d.weight for d in tdays]
    # the auxiliaries are a load per MW of the size: priced per MW at the days' buy prices (their effect
    # on the month's peak left out), the placeholders carry none
    bare = [replace(s, auxiliary_mw_per_mw=0.0) for s in sites]
    aux_cny_per_mw = sum(w * float(d.case.series(d.case.grid.buy_cny_per_mwh).sum()) * d.case.dt_hours for w, d in zip(weights, tdays, strict=True))
    cases = []
    for d in tdays:
        case = d.case.model_copy(update={"grid": d.case.grid.model_copy(update={"peak_to_date_mw": 0.0})})
        cases.append(with_storage(case, bare, {s.id: (s.power_max_mw, s.energy_max_mwh) for s in sites}))
    billing = [d.date[:7] for d in tdays]
    dmin, dmax = defaults["sizing"]["duration_min_h"], defaults["sizing"]["duration_max_h"]
    sized = [SizedSite(s.battery_id, per_mw + s.auxiliary_mw_per_mw * aux_cny_per_mw, per_mwh,
                       duration_min_h=dmin or None, duration_max_h=dmax or None) for s in sites]
    options = SolveOptions(mip_gap=settings.mip_gap, time_limit_s=time_limit_s, threads=1)
    t0 = time.perf_counter()
    out = co_optimise(cases, weights, sized, options, billing=billing, relax=settings.relax_co_optimisation)
    secs = time.perf_counter() - t0
    by_battery = {s.battery_id: s.id for s in sites}
    power = {by_battery[k]: v for k, v in out.power_mw.items()}
    energy = {by_battery[k]: v for k, v in out.energy_mwh.items()}
    etot = sum(energy.values())
    marginal = None
    if etot > 1e-6:
        delta = min(1.0, etot)
        fixed = [
            SizedSite(s.battery_id, per_mw + s.auxiliary_mw_per_mw * aux_cny_per_mw, per_mwh,
                      duration_min_h=dmin or None, duration_max_h=dmax or None, energy_fixed_mwh=max(energy[s.id] - delta * energy[s.id] / etot, 0.0))
            for s in sites
        ]
        less = co_optimise(cases, weights, fixed, options, billing=billing, relax=settings.relax_co_optimisation)
        marginal = {
            "cny_per_mwh_year": (less.operating_cny - out.operating_cny) / delta,
            "delta_mwh": delta,
            "method": "finite difference over the co-optimised typical-day model: annual operating cost with the total energy 1 MWh smaller (split as at the optimum, powers re-optimised), per MWh",
        }
    return {
        "power_mw": power,
        "energy_mwh": energy,
        "objective_cny_per_year": out.objective_cny,
        "operating_cost_cny_per_year": out.operating_cny,
        "annualised_capital_cny_per_year": out.capital_cny,
        "status": str(out.report.status),
        "mip_gap": out.report.mip_gap,
        "relaxed": out.relaxed,
        "rounds": out.report.rounds,
        "variables": out.report.variables,
        "binaries": out.report.binaries,
        "seconds": secs,
        "marginal_value_last_mwh": marginal,
        "cost_cny_per_mw_year": per_mw,
        "cost_cny_per_mwh_year": per_mwh,
        "cycles_per_year_for_fade": cycles,
        "auxiliaries_cny_per_mw_year": aux_cny_per_mw * (sites[0].auxiliary_mw_per_mw if sites else 0.0),
        "billing": "one peak per month shared by the month's typical days (its maximum-demand charge counted once); "
                   "each day's peak so far 0",
    }


def _co_optimisation_failed(error: SolverError, days: int, limit_s: float, seconds: float) -> dict[str, Any]:
    """What ``sizing.json`` says when the co-optimisation stopped without a schedule: the step, why, what to do."""
    return {
        "status": error.status,
        "step": f"co-optimisation of the sizes over {days} typical days",
        "message": f"the co-optimisation of the sizes over {days} typical days stopped after {seconds:.0f} s "
                   f"({limit_s:g} s limit) without any schedule ({error}); the recommended size is the sweep's best "
                   "point over the typical days instead, and the full-year check was not run.",
        "what_to_do": "raise co_optimisation_time_limit_s (--co-optimisation-time-limit; default the larger of "
                      "time_limit_s and 600 s), give the sites tighter site_limits, or choose fewer typical days.",
        "time_limit_s": limit_s,
        "seconds": seconds,
    }


def run_study(req: SizingRequest, runner: Runner, progress: Progress | None = None, log: Any = None) -> StudyResult:
    """Run a sizing study on ``runner`` (see the module docstring)."""
    say = log or (lambda _msg: None)
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    defaults, sources = load_defaults(req.overrides(), req.site_limits)
    econ = economics_from(defaults)
    grid = parse_sweep(req.sweep) if req.sweep is not None else None
    hourly = emission_profile(req.emission_profile_t_per_mwh, defaults, sources)
    profile = hourly[0] if hourly is not None else None
    settings = RunSettings(mip_gap=req.mip_gap, time_limit_s=req.time_limit_s, emission_profile_t_per_mwh=profile)
    plan = make_plan(req)
    first = make_day(plan.days[0])
    if first.case is None:
        raise CaseError([Problem("case", f"the first day ({first.date}) could not be made: {first.error}")], step=STEP)
    wear = fin.wear_cny_per_mwh(econ) if econ.cycle_life is not None else None
    sites = candidate_sites(first.case, req.sites, defaults, site_limits_from(defaults, sources), wear)
    unsized = sorted(set(req.site_limits) - {s.id for s in sites})
    if unsized:
        raise CaseError([Problem(f"site_limits.{site}", f"not a site being sized: expected one of {[s.id for s in sites]} "
                                 "(add it to the sites to size it)") for site in unsized], step=STEP)
    existing = [a for a in first.case.assets if a.type == "battery" and a.id in {s.battery_id for s in sites}]
    case_p = sum(float(a.power_mw or 0) for a in existing)
    case_e = sum(a.energy_mwh for a in existing)

    co = None
    co_failed = None
    tplan = None
    if req.typical_days is not None:
        say(f"making the {len(plan.days)} days of the year to choose {req.typical_days} typical days")
        t0 = time.perf_counter()
        days = runner.make_days(plan, progress)
        timings["make_days_s"] = time.perf_counter() - t0
        total_mw = sum(s.power_max_mw for s in sites)
        tplan = typical_plan(plan, days, req.typical_days, tuple(f * total_mw for f in DEMAND_DEPTHS))
        tdays = [make_day(i) for i in tplan.days]
        say(f"co-optimising the sizes of {len(sites)} site(s) over {len(tdays)} typical days")
        limit_s = req.co_optimisation_time_limit_s or max(req.time_limit_s, CO_OPTIMISATION_TIME_LIMIT_S)
        t0 = time.perf_counter()
        try:
            co = _co_optimise(tdays, sites, econ, defaults, settings, limit_s)
        except SolverError as e:
            if e.status != "time_limit_no_solution":  # infeasible or broken: the sweep would not do better
                raise
            co_failed = _co_optimisation_failed(e, len(tdays), limit_s, time.perf_counter() - t0)
            say("co-optimisation failed: " + co_failed["message"] + " " + co_failed["what_to_do"])
        else:
            timings["co_optimise_s"] = co["seconds"]
            split_text = ", ".join(f"{k} {v:.2f}/{co['energy_mwh'][k]:.2f}" for k, v in co["power_mw"].items())
            say(f"co-optimised: {sum(co['power_mw'].values()):.2f} MW / {sum(co['energy_mwh'].values()):.2f} MWh "
                f"({split_text}) in {co['seconds']:.0f} s")

    if co is not None:
        ptot, etot = sum(co["power_mw"].values()), sum(co["energy_mwh"].values())
        shares = {s.id: (co["power_mw"][s.id] / ptot if ptot > 0 else 1 / len(sites), co["energy_mwh"][s.id] / etot if etot > 0 else 1 / len(sites)) for s in sites}
        split = "as the co-optimised sizes"
        if grid is None:
            grid = {"power": [p for p in around(ptot) if p > 0] or [1.0], "energy": [e for e in around(etot) if e > 0] or [1.0]}
    else:
        shares = {s.id: (1 / len(sites), 1 / len(sites)) for s in sites}
        split = "evenly over the sites"
        if grid is None:
            p0 = case_p or 10.0
            e0 = case_e or 2 * p0
            grid = {"power": [round(p0 * f, 3) for f in (0.5, 1.0, 2.0)], "energy": [round(e0 * f, 3) for f in (0.5, 1.0, 2.0)]}
    points = split_points(grid, sites, shares)
    extra: list[int] = []  # points off the grid: the case's own storage (the plan), for the NPV-against-size curve
    plan_point = next((i for i, (p, e, _) in enumerate(points) if i > 0 and abs(p - case_p) <= 1e-6 and abs(e - case_e) <= 1e-6), None)
    if plan_point is None and case_p > 0 and case_e > 0:
        plan_point = len(points)
        extra.append(plan_point)
        points.append((case_p, case_e, {s.id: (sum(float(a.power_mw or 0) for a in existing if first.case.node_of(a) == s.node),
                                               sum(a.energy_mwh for a in existing if first.case.node_of(a) == s.node)) for s in sites}))
    sweep_plan = tplan if tplan is not None and not req.sweep_full_year else plan
    say(f"sweep: {len(points)} points × {len(sweep_plan.days)} {'typical ' if sweep_plan.kind == 'typical' else ''}days on {runner.description}")
    t0 = time.perf_counter()
    sweep_days, tm = runner.run(sweep_plan, sites, [p[2] for p in points], settings, progress)
    timings["sweep_s"] = time.perf_counter() - t0
    timings["sweep_task_s"] = tm["task_seconds"]
    table = add_economics(annual_table(sweep_days, sweep_plan, points), econ)
    table["on_grid"] = ~table["point"].isin(extra)
    dmin, dmax = float(defaults["sizing"]["duration_min_h"]), float(defaults["sizing"]["duration_max_h"])
    table["beyond_limits"] = table["point"].map(lambda i: beyond_limits(points[i][2], sites, dmin, dmax))
    table["within_site_limits"] = table["beyond_limits"].isna()
    # the sweep's best point is one the sites can hold; the points beyond their limits show what the limits cost
    best_sweep = _cheapest(table[table["on_grid"] & table["within_site_limits"]])
    best_sweep = 0 if best_sweep is None else best_sweep
    days_table = sweep_days.assign(run="sweep")
    monthly_source = (sweep_days, sweep_plan)
    hours = 24.0 * len(plan.dates)

    # recommended size
    if co is not None:
        rec_split = {s.id: (co["power_mw"][s.id], co["energy_mwh"][s.id]) for s in sites}
        how = "co-optimisation over the typical days"
    else:
        rec_split = points[best_sweep][2]
        how = "the sweep's point with the least annualised total cost"
        if co_failed is not None:
            how += " (the co-optimisation stopped without a schedule: see co_optimisation)"
    rec_p = sum(v[0] for v in rec_split.values())
    rec_e = sum(v[1] for v in rec_split.values())

    # the sizes checked again apart from the sweep: no storage, the recommended size and the case's own (the plan)
    checks = [(0.0, 0.0, {}), (rec_p, rec_e, rec_split)]
    names = {1: "recommended"}
    if plan_point is not None and not (abs(case_p - rec_p) <= 1e-6 and abs(case_e - rec_e) <= 1e-6):
        checks.append(points[plan_point])
        names[2] = "plan"

    # the checked sizes over the typical days; then over the full year, and the two compared
    rec_days = None
    if co is not None:
        rec_days, _ = runner.run(tplan, sites, [c[2] for c in checks], settings)
        rec_points = add_economics(annual_table(rec_days, tplan, checks), econ)
    comparison = None
    full_points = full_days = None
    if co is not None and tplan is not None and (req.full_year_check or sweep_plan is plan):
        near = {
            k: i for k, (p0, e0, _) in enumerate(checks) if k > 0
            for i, (p, e, _) in enumerate(points)
            if i > 0 and sweep_plan is plan and abs(p - p0) <= 1e-3 * max(p0, 1.0) and abs(e - e0) <= 1e-3 * max(e0, 1.0)
        }
        policies = {"typical": ["typical"], "none": ["none"], "both": ["typical", "none"]}[req.full_year_peak_target]
        runs: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
        if len(near) == len(checks) - 1 and policies == ["none"]:  # the full-year sweep holds every size already
            keep = {0: 0, **{i: k for k, i in near.items()}}
            runs["none"] = (table[table["point"].isin(list(keep))].replace({"point": keep}).sort_values("point").reset_index(drop=True),
                            sweep_days[sweep_days["point"].isin(list(keep))].replace({"point": keep}))
        else:
            for policy in policies:
                say(f"full-year check: {len(plan.days)} days at no storage, the recommended size"
                    + (" and the case's own storage" if 2 in names else "")
                    + (", each month from the typical days' peak" if policy == "typical" else ", each month from no peak"))
                t0 = time.perf_counter()
                starts = month_targets(rec_days, tplan, plan) if policy == "typical" else None
                f_days, _ = runner.run(plan, sites, [c[2] for c in checks], settings, progress, starts=starts)
                timings[f"full_year_{policy}_s"] = time.perf_counter() - t0
                runs[policy] = (add_economics(annual_table(f_days, plan, checks), econ), f_days)
                days_table = pd.concat([days_table, f_days.assign(run=f"full-year check ({policy})")], ignore_index=True)
        full_points, full_days = runs[policies[0]]
        full_days = full_days[full_days["status"] != "failed"]
        if sweep_plan is not plan:
            monthly_source = (full_days[full_days["point"].isin([0, 1])], plan)
        comparison = _compare(rec_points, full_points, monthly_table(rec_days, tplan), monthly_table(full_days, plan),
                              names, econ, hours)
        comparison["months_start_from"] = POLICIES[policies[0]]
        if "none" in runs and policies[0] != "none":
            loose, loose_days = runs["none"]
            other = _compare(rec_points, loose, monthly_table(rec_days, tplan),
                             monthly_table(loose_days[loose_days["status"] != "failed"], plan), names, econ, hours)
            comparison["months_from_no_peak"] = {"months_start_from": POLICIES["none"], "sizes": other["sizes"]}
        if sweep_plan is plan:
            b = table[table["point"] == best_sweep].iloc[0]
            comparison["recommended_size"] = {
                "typical_days_co_optimum": {"power_mw": rec_p, "energy_mwh": rec_e},
                "full_year_sweep_best": {"power_mw": float(b["power_mw"]), "energy_mwh": float(b["energy_mwh"])},
                "full_year_total_cost_at_co_optimum_cny": float(full_points.loc[full_points["point"] == 1, "total_cost_cny_per_year"].iloc[0]),
                "full_year_total_cost_at_sweep_best_cny": float(b["total_cost_cny_per_year"]),
                "sweep_months_start_from": POLICIES["none"],
            }

    # economics of the recommendation: the full year where simulated, else the typical days, else the sweep
    if full_points is not None:
        basis_points, basis_days, basis_plan, basis_point = full_points, full_days, plan, 1
        basis = "full-year simulation at the recommended size"
    elif co is not None:
        basis_points, basis_days, basis_plan, basis_point = rec_points, rec_days, tplan, 1
        basis = "typical-day simulation at the recommended size"
    else:
        basis_points, basis_days, basis_plan, basis_point = table, sweep_days, sweep_plan, best_sweep
        basis = "full-year simulation (the sweep)" if sweep_plan is plan else "typical-day simulation (the sweep)"
    rec_row = basis_points[basis_points["point"] == basis_point].iloc[0]
    rec_basis_points = basis_points[basis_points["point"].isin([0, basis_point])].replace({"point": {basis_point: 1}})
    near_plan = rec_points if co is not None else rec_basis_points  # (0, recommended) on the plan the tornado simulates

    def breakdown(pts: pd.DataFrame, days: pd.DataFrame, on: Plan, p: int) -> dict[str, Any]:
        d = days[(days["status"] != "failed") & days["point"].isin([0, p])]
        return {**saving_by_source(pts, monthly_table(d, on), econ, p, hours), "simulated_over": on.kind}

    by_source = None
    if rec_p > 0 and rec_e > 0 and rec_row["days_failed"] == 0:
        by_source = {"recommended": breakdown(basis_points, basis_days, basis_plan, basis_point)}
        if 2 in names and full_points is not None:
            by_source["plan"] = breakdown(full_points, full_days, plan, 2)
        elif plan_point is not None:
            by_source["plan"] = breakdown(table, sweep_days, sweep_plan, plan_point)
    tornado = None
    if rec_p > 0 and rec_e > 0:
        say("tornado: the NPV at the recommended size against its inputs")
        t0 = time.perf_counter()
        tornado = _tornado(req, runner, tplan or plan, sites, rec_split, rec_row, near_plan, econ, defaults, settings)
        timings["tornado_s"] = time.perf_counter() - t0

    mdays, mplan = monthly_source
    monthly = monthly_table(mdays[mdays["status"] != "failed"], mplan)
    failed = days_table[days_table["status"] == "failed"][["run", "point", "date", "attempts", "reason"]]
    timings["total_s"] = time.perf_counter() - t_all

    summary = {
        "case": req.case if req.case_data is None else (req.case_data.get("name") or "case"),
        "year": req.year,
        "runner": runner.description,
        "recommended": {
            "method": how,
            "power_mw": rec_p,
            "energy_mwh": rec_e,
            "duration_h": rec_e / rec_p if rec_p > 0 else None,
            "sites": [{"site": s, "power_mw": v[0], "energy_mwh": v[1]} for s, v in rec_split.items()],
            "economics_basis": basis,
            **{k: _num(rec_row[k]) for k in (
                "capex_cny", "annualised_capital_cny_per_year", "om_cny_per_year", "saving_cny_per_year",
                "net_benefit_cny_per_year", "npv_cny", "irr", "simple_payback_years", "discounted_payback_years",
                "lcos_cny_per_mwh", "equivalent_cycles_per_year", "fade_per_year",
            )},
            "augmentations": rec_row["augmentations"],
            "cash_flows_cny": rec_row["cash_flows_cny"],
            "break_even_capital_cost": rec_row["break_even"],
            "sites_binding": _binding(sites, rec_split),
        },
        "plan": _plan_dict(table, plan_point, case_p, case_e, sweep_plan.kind,
                           full_points if full_points is not None and 2 in names else None),
        "npv_against_size": _curve(table),
        "saving_by_source": by_source,
        "co2": _co2(rec_basis_points, first.case, hourly),
        "tornado": tornado,
        "case_storage": {
            "power_mw": case_p, "energy_mwh": case_e, "sites": [{"site": s.id, "battery": s.battery_id} for s in sites],
            "source": f"the {base} template's data" if isinstance(base := plan.days[0].base, str) else "the case's batteries",
        },
        "co_optimisation": co if co_failed is None else co_failed,
        "sweep": {
            "plan": sweep_plan.kind,
            "points": len(points),
            "grid": grid,
            "split": split,
            "best": _point_dict(table, best_sweep),
            "best_within": "the site limits and the duration range (points beyond them are simulated, marked "
                           "within_site_limits false with the reason, and never the best)",
            "points_beyond_site_limits": int((~table["within_site_limits"]).sum()),
            "best_beyond_site_limits": (_point_dict(table, b) if (b := _cheapest(table[~table["within_site_limits"]])) is not None
                                        else None),
            "marginal_value_last_mwh": sweep_marginal(table, best_sweep) if best_sweep != 0 else None,
        },
        "annual": {
            "without_storage": _annual_dict(full_points if full_points is not None else table, 0),
            "with_recommended": _annual_dict(full_points, 1) if full_points is not None else (_annual_dict(table, best_sweep) if co is None else None),
            "with_plan": _annual_dict(full_points, 2) if full_points is not None and 2 in names else None,
        },
        "typical_vs_full_year": comparison,
        "failed_days": failed.to_dict(orient="records"),
        "complete": bool(failed.empty),
        "assumptions": {
            "economics": {k: sources[f"economics.{k}"] for k in defaults["economics"]},
            "sizing": {k: sources[f"sizing.{k}"] for k in defaults["sizing"]},
            "battery_for_new_sites": {k: sources[f"battery.{k}"] for k in defaults["battery"]},
            "sensitivity": {k: sources[f"sensitivity.{k}"] for k in defaults["sensitivity"]},
            "site_limits": {f"{site}.{k}": sources[f"site_limits.{site}.{k}"] for site, v in (defaults.get("site_limits") or {}).items() for k in v},
            "wear_cny_per_mwh_discharged": {"value": wear, "source": "the augmentation cost of the fade a MWh discharged causes "
                                            "(economics: augmentation_cny_per_kwh × (1 − end_of_life_fraction) / (cycle_life × cycle_depth))"}
            if wear is not None else None,
            "sites": [
                {"site": s.id, "battery": s.battery_id, "power_max_mw": s.power_max_mw, "energy_max_mwh": s.energy_max_mwh,
                 "limits": [{"limit": k, "value": v, "source": src} for k, v, src in s.limits],
                 "auxiliary_mw_per_mw": s.auxiliary_mw_per_mw,
                 "charge_efficiency": s.template.charge_efficiency, "discharge_efficiency": s.template.discharge_efficiency,
                 "soc_min": s.template.soc_min, "soc_max": s.template.soc_max, "soc_initial": s.template.soc_initial,
                 "soc_final_min": s.template.final_min, "degradation_cny_per_mwh": s.template.degradation_cny_per_mwh}
                for s in sites
            ],
            "days": plan.provenance,
            "typical_days": tplan.provenance if tplan is not None else None,
            "solver": {"mip_gap": req.mip_gap, "time_limit_s_per_day": req.time_limit_s, "attempts_per_day": settings.attempts,
                       "retry": f"exclusivity binaries on every step and {settings.retry_time_factor:g}× the time limit"},
            "operating_cost": "each day's objective (model.md §6: energy under the two-part tariff, wear, green purchases, load "
                              "curtailment, demand-response revenue and penalties on the calendar's event days, regulation, unserved "
                              "energy at VOLL) by the day's weight, and the monthly maximum-demand charge on the month's peak "
                              "(the days' demand terms with the month's peak so far carried, counted once)",
        },
        "timings_s": timings,
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    result = StudyResult(summary=_clean(summary), points=table, days=days_table, monthly=monthly, timings=timings)
    if tplan is not None and rec_p > 0 and rec_e > 0:
        result.typical_dispatch = _typical_dispatch(tplan, sites, rec_split, settings)
    return result


TORNADO_SIMULATED = ("price_spread", "event_days", "demand_charge", "regulation_price")


def _tornado(req: SizingRequest, runner: Runner, plan: Plan, sites: list[Site], split: dict[str, tuple[float, float]],
             rec: pd.Series, base: pd.DataFrame, econ: fin.Economics, defaults: dict, settings: RunSettings) -> dict[str, Any]:
    """The NPV at the recommended size with one input at its low and at its high value (``sensitivity``).

    Capital cost, discount rate and life change only the money: the
    recommended size's appraisal again. The price spread, the event days and
    the demand charge change the year: the days of ``plan`` are simulated
    again at no storage and at the size with the change (a
    :class:`vpp.sizing.year.Variant`), and the NPV moves by what it moves on
    that plan against the same plan's base run (``base``). Twice the event
    days is the events' own share of the saving (base − no events) added once
    more: an extrapolation, labelled.
    """
    t = defaults["sensitivity"]
    p, e = float(rec["power_mw"]), float(rec["energy_mwh"])
    npv0 = float(rec["npv_cny"])

    def money(e2: fin.Economics, saving: float = float(rec["saving_cny_per_year"])) -> float:
        return fin.appraise(e2, p, e, saving, float(rec["storage_discharge_mwh_per_year"]),
                            float(rec["storage_charging_cost_cny_per_year"]))["npv_cny"]

    bars: list[dict[str, Any]] = []

    def bar(name: str, low_label: str, high_label: str, low: float, high: float, how: str) -> None:
        bars.append({"input": name, "low": low_label, "high": high_label, "npv_low_cny": low, "npv_high_cny": high,
                     "swing_cny": abs(high - low), "how": how})

    cl, ch = float(t["capital_cost_low_factor"]), float(t["capital_cost_high_factor"])
    scale = lambda f: replace(econ, power_cny_per_kw=econ.power_cny_per_kw * f, energy_cny_per_kwh=econ.energy_cny_per_kwh * f)  # noqa: E731
    bar("capital_cost", f"×{cl:g}", f"×{ch:g}", money(scale(cl)), money(scale(ch)), "the appraisal again (O&M a share of it)")
    dl, dh = float(t["discount_rate_low"]), float(t["discount_rate_high"])
    bar("discount_rate", f"{dl:g}", f"{dh:g}", money(replace(econ, discount_rate=dl)), money(replace(econ, discount_rate=dh)),
        "the appraisal again")
    ll, lh = int(t["lifetime_low_years"]), int(t["lifetime_high_years"])
    bar("lifetime_years", f"{ll} years", f"{lh} years", money(replace(econ, lifetime_years=ll)),
        money(replace(econ, lifetime_years=lh)), "the appraisal again (augmentations re-dated)")
    simulated = None
    if req.tornado:
        sl, sh = float(t["spread_low_factor"]), float(t["spread_high_factor"])
        ml, mh = float(t["demand_charge_low_factor"]), float(t["demand_charge_high_factor"])
        rl, rh = float(t["regulation_low_factor"]), float(t["regulation_high_factor"])
        variants = [Variant("spread_low", spread_factor=sl), Variant("spread_high", spread_factor=sh),
                    Variant("demand_low", demand_charge_factor=ml), Variant("demand_high", demand_charge_factor=mh),
                    Variant("no_events", events=False)]
        day = make_day(plan.days[0])
        if day.case is not None and day.case.regulation is not None:
            variants += [Variant("regulation_low", regulation_factor=rl), Variant("regulation_high", regulation_factor=rh)]
        checks = [(0.0, 0.0, {}), (p, e, split)]
        points = [c[2] for _ in variants for c in checks]
        days, _ = runner.run(plan, sites, points, settings, variants=[v for v in variants for _ in checks])
        saving0 = appraised_saving(base, econ)
        moved: dict[str, float] = {}
        for k, v in enumerate(variants):
            sub = days[days["point"].isin([2 * k, 2 * k + 1])].replace({"point": {2 * k: 0, 2 * k + 1: 1}})
            moved[v.name] = appraised_saving(annual_table(sub, plan, checks), econ)
        d = lambda saving: money(econ, float(rec["saving_cny_per_year"]) + saving - saving0)  # noqa: E731
        bar("price_spread", f"×{sl:g}", f"×{sh:g}", d(moved["spread_low"]), d(moved["spread_high"]),
            f"the {plan.kind} days simulated again with the buy price's deviation from its daily mean scaled")
        ev = int(t["event_days_low"])
        fh = float(t["event_days_high_factor"])
        bar("event_days", f"{ev} (none)" if ev == 0 else str(ev), f"×{fh:g}", d(moved["no_events"]),
            d(saving0 + (fh - 1.0) * (saving0 - moved["no_events"])),
            f"low: the {plan.kind} days simulated again without events; high: the events' share of the saving "
            f"(base − none) taken {fh:g} times (an extrapolation)")
        bar("demand_charge", f"×{ml:g}", f"×{mh:g}", d(moved["demand_low"]), d(moved["demand_high"]),
            f"the {plan.kind} days simulated again with the maximum-demand rate scaled")
        if "regulation_low" in moved:
            bar("regulation_price", "none" if rl == 0 else f"×{rl:g}", f"×{rh:g}", d(moved["regulation_low"]), d(moved["regulation_high"]),
                f"the {plan.kind} days simulated again with the regulation prices scaled (none: no regulation market)")
        simulated = {"plan": plan.kind, "base_saving_cny_per_year": saving0,
                     "savings_cny_per_year": moved}
    bars.sort(key=lambda b: -b["swing_cny"])
    return {"npv_cny": npv0, "bars": bars, "simulated": simulated,
            "method": "NPV at the recommended size with one input at its low and high value, the others as assumed"}


def _binding(sites: list[Site], split: dict[str, tuple[float, float]]) -> list[dict[str, Any]]:
    """Each site's recommended size against its limits: which limit binds (at 0.1 % of it)."""
    out = []
    for s in sites:
        pw, en = split.get(s.id, (0.0, 0.0))
        lim = binding_limits(s)
        out.append({"site": s.id, "power_mw": pw, "energy_mwh": en, "power_max_mw": s.power_max_mw,
                    "energy_max_mwh": s.energy_max_mwh,
                    "power_limit_binds": lim["power_max_mw"] if pw >= s.power_max_mw * (1 - 1e-3) else None,
                    "energy_limit_binds": lim["energy_max_mwh"] if en >= s.energy_max_mwh * (1 - 1e-3) else None})
    return out


def _plan_dict(table: pd.DataFrame, point: int | None, p: float, e: float, kind: str,
               full: pd.DataFrame | None = None) -> dict[str, Any] | None:
    """The case's own storage (the plan) as simulated in the sweep: its NPV, paybacks and IRR (and over the full year, point 2 of ``full``)."""
    if point is None:
        return None
    out = {**_point_dict(table, point), "source": "the case's own batteries", "simulated_over": kind}
    if full is not None:
        out["full_year"] = {**_point_dict(full, 2), "equivalent_cycles_per_year": _num(full.loc[full["point"] == 2, "equivalent_cycles_per_year"].iloc[0])}
    return out


def _cheapest(points: pd.DataFrame) -> int | None:
    """The point of least annualised total cost among ``points`` whose every day was solved (None when there is none)."""
    solved = points[points["days_failed"] == 0]
    return int(solved.sort_values(["total_cost_cny_per_year", "point"]).iloc[0]["point"]) if len(solved) else None


def _curve(table: pd.DataFrame) -> list[dict[str, Any]]:
    """NPV against size: every simulated point of the sweep (the plan's too), each said within the site limits or not."""
    keys = ("power_mw", "energy_mwh", "npv_cny", "irr", "simple_payback_years", "saving_cny_per_year")
    return [{**{k: _num(r[k]) for k in keys}, "on_grid": bool(r.get("on_grid", True)),
             "within_site_limits": bool(r.get("within_site_limits", True))}
            for _, r in table[table["point"] != 0].sort_values(["power_mw", "energy_mwh"]).iterrows()]


def _co2(points: pd.DataFrame, case: Any, hourly: tuple[tuple[float, ...], str, str] | None, point: int = 1) -> dict[str, Any]:
    """The storage's annual CO2 effect: emissions with it minus without [t/yr] (negative: it saves CO2).

    Checked against the energy balance of the grid energy (imports less green
    contracts): its change is the storage's losses (charged − discharged − the
    change of its level, the regulation losses among them), plus the change of
    the other consumption (the auxiliaries among it), less the change of the
    renewable energy used; at a flat factor the CO2 is that times the factor.
    """
    r = points.set_index("point")
    b, x = r.loc[0], r.loc[point]
    factor = case.grid.emission_t_per_mwh
    flat = float(np.mean(factor)) if np.ndim(factor) else float(factor)
    out: dict[str, Any] = {
        "change_t_per_year": float(x["emissions_t_per_year"] - b["emissions_t_per_year"]),
        "without_storage_t_per_year": float(b["emissions_t_per_year"]),
        "emission_factor_t_per_mwh": flat,
        "method": "the case's grid emission factor on the energy drawn from the grid (imports less green contracts), "
                  "the recommended size against no storage over the economics' basis; the losses and auxiliaries "
                  "raise it, shifting to low-price hours moves it by the factor's own profile",
    }
    if "grid_energy_mwh_per_year" in r.columns and "soc_end_mwh_per_year" in r.columns:
        losses = float(x["storage_charge_mwh_per_year"] - x["storage_discharge_mwh_per_year"]
                       - (x["soc_end_mwh_per_year"] - x["soc_start_mwh_per_year"]))
        aux = float(x.get("storage_auxiliary_mwh_per_year", 0.0))
        other = float(x["consumption_mwh_per_year"] - b["consumption_mwh_per_year"]) - aux
        renewable = float(x["renewable_mwh_per_year"] - b["renewable_mwh_per_year"])
        balance = losses + aux + other - renewable
        out["energy_balance"] = {
            "grid_energy_change_mwh_per_year": float(x["grid_energy_mwh_per_year"] - b["grid_energy_mwh_per_year"]),
            "storage_losses_mwh_per_year": losses,
            "of_which_regulation_mwh_per_year": float(x.get("storage_regulation_loss_mwh_per_year", 0.0)),
            "auxiliaries_mwh_per_year": aux,
            "other_consumption_mwh_per_year": other,
            "renewable_used_mwh_per_year": renewable,
            "sum_mwh_per_year": balance,
            "change_at_the_flat_factor_t_per_year": balance * flat if not np.ndim(factor) else None,
            "how": "storage losses + auxiliaries + other consumption − renewable energy used: the change of the grid "
                   "energy, by the energy balance of the days; × the flat factor it is the CO2 change",
        }
    if hourly is not None and "emissions_profile_t_per_year" in r.columns:
        out["hourly_profile"] = {
            "change_t_per_year": float(x["emissions_profile_t_per_year"] - b["emissions_profile_t_per_year"]),
            "without_storage_t_per_year": float(b["emissions_profile_t_per_year"]),
            "profile": hourly[1],
            "profile_t_per_mwh": list(hourly[0]),
            "source": hourly[2],
            "how": "each step's grid energy (imports less green contracts) × the factor of its local hour",
        }
    return out


def saving_by_source(points: pd.DataFrame, monthly: pd.DataFrame, econ: fin.Economics, point: int = 1,
                     hours: float = 8760.0) -> dict[str, Any]:
    """What ``point`` saves a year against point 0, line by line of the bill [CNY/yr], each with the quantities behind it.

    ``points``: the annual table with economics (:func:`add_economics`) of the
    two points over one plan; ``monthly``: that plan's :func:`monthly_table`;
    ``hours``: the hours the plan stands for. The lines add up to the saving
    the appraisal uses (``saving_cny_per_year``); the dispatch's wear price is
    shown apart (priced in the cash flows as augmentations).
    """
    r = points.set_index("point")
    b, x = r.loc[0], r.loc[point]

    def less(*cols: str) -> float:  # the cost cut by the storage [CNY/yr]
        return float(sum(b.get(c, 0.0) - x.get(c, 0.0) for c in cols))

    dis, ch = float(x["storage_discharge_mwh_per_year"]), float(x["storage_charge_mwh_per_year"])
    value, charging = float(x.get("storage_discharge_value_cny_per_year", np.nan)), float(x["storage_charging_cost_cny_per_year"])
    aux = float(x.get("storage_auxiliary_cost_cny_per_year", 0.0))
    energy = less("cost_energy_cny_per_year")
    arbitrage = value - charging
    m = monthly[monthly["point"].isin([0, point])].pivot(index="month", columns="point")
    peaks = m["peak_import_mw"]
    rate = (m["demand_charge_check_cny"][0] / peaks[0]).where(peaks[0] > 0, 0.0)
    cut = peaks[0] - peaks[point]
    band = float(x.get("storage_regulation_mw_h_per_year", 0.0))
    regulation = less("cost_regulation_capacity_cny_per_year", "cost_regulation_mileage_cny_per_year")
    lines = {
        "time_of_use_energy": {
            "cny_per_year": energy,
            "storage_arbitrage_cny_per_year": arbitrage,
            "auxiliaries_cny_per_year": -aux,
            "other_assets_cny_per_year": energy - arbitrage + aux,
            "discharged_mwh_per_year": dis,
            "charged_mwh_per_year": ch,
            "mean_price_discharged_cny_per_mwh": value / dis if dis > 0 else None,
            "mean_price_charged_cny_per_mwh": charging / ch if ch > 0 else None,
            "equivalent_cycles_per_year": float(x["equivalent_cycles_per_year"]),
            "how": "the energy bill's change; of it, the storage's own arbitrage (the buy price of what it discharged "
                   "less that of what it charged, losses and regulation losses included), its auxiliaries at the buy "
                   "price, and the rest (the other flexible assets dispatched differently)",
        },
        "maximum_demand": {
            "cny_per_year": less("demand_charge_cny_per_year"),
            "by_hand_cny_per_year": float((rate * cut).sum()),
            "at_most_cny_per_year": float((rate * float(x["power_mw"])).sum()),
            "peak_cut_mw_by_month": {str(k): float(v) for k, v in cut.items()},
            "peak_without_storage_mw_by_month": {str(k): float(v) for k, v in peaks[0].items()},
            "how": "the monthly maximum-demand charges' change; by hand: Σ months rate × (peak without − peak with); "
                   "at most: rate × the storage's power × months",
        },
        "regulation": {
            "cny_per_year": regulation,
            "band_mw_h_per_year": band,
            "mean_band_mw": band / hours if hours > 0 else None,
            "share_of_power_and_hours": band / (hours * float(x["power_mw"])) if hours > 0 and x["power_mw"] > 0 else None,
            "revenue_cny_per_mw_h": regulation / band if band > 0 else None,
            "loss_mwh_per_year": float(x.get("storage_regulation_loss_mwh_per_year", 0.0)),
            "how": "the regulation revenue (capacity and mileage, model.md §5.4): the band offered [MW·h] × what a MW·h of band earns",
        },
        "demand_response": {"cny_per_year": less("cost_dr_revenue_cny_per_year", "cost_dr_penalty_cny_per_year")},
        "green_contracts": {"cny_per_year": less("cost_green_energy_cny_per_year", "cost_green_fixed_cny_per_year")},
        "load_curtailment": {"cny_per_year": less("cost_load_curtailment_cny_per_year", "cost_load_curtailment_start_cny_per_year")},
        "degradation": {
            "cny_per_year": less("cost_degradation_cny_per_year") + float(x["wear_cny_per_year"] - b["wear_cny_per_year"]),
            "how": "the batteries' own cost per MWh discharged where the economics do not price the wear (0 where they do: "
                   "the wear is then the augmentations of the cash flows)",
        },
    }
    saving = float(x["saving_cny_per_year"])
    lines["other"] = {"cny_per_year": saving - sum(v["cny_per_year"] for v in lines.values()),
                      "how": "the rest of the bill (unserved energy, curtailment, carbon, export, deviations, …)"}
    return {
        "power_mw": float(x["power_mw"]), "energy_mwh": float(x["energy_mwh"]),
        "saving_cny_per_year": saving,
        "wear_cny_per_year": float(x["wear_cny_per_year"]),
        "operating_saving_cny_per_year": float(x["operating_saving_cny_per_year"]),
        "lines": lines,
        "method": "the annual bill without storage less the bill with it, line by line; the wear (the dispatch's "
                  "augmentation price of a MWh discharged) is not a bill line: the appraisal prices the augmentations",
    }


def _typical_dispatch(tplan: Plan, sites: list[Site], split: dict, settings: RunSettings) -> Any:
    from models import SolveOptions
    from vpp.dispatch import solve_case

    heaviest = max(tplan.days, key=lambda d: d.weight)
    day = make_day(heaviest)
    if day.case is None:
        return None
    case = with_storage(day.case, sites, split)
    return solve_case(case, SolveOptions(mip_gap=settings.mip_gap, time_limit_s=settings.time_limit_s, threads=1))


def _pair(t: float | None, f: float | None) -> dict[str, Any]:
    """A figure by typical days and by the full year, and their difference (typical − full)."""
    out: dict[str, Any] = {"typical_days": t, "full_year": f}
    if t is not None and f is not None and np.isfinite(t) and np.isfinite(f):
        out["difference"] = t - f
        out["difference_fraction"] = (t - f) / abs(f) if f else None
    return out


def _compare(typ: pd.DataFrame, full: pd.DataFrame, monthly_typ: pd.DataFrame, monthly_full: pd.DataFrame,
             names: dict[int, str], econ: fin.Economics, hours: float) -> dict[str, Any]:
    """The typical days against the full year at each simulated size (``names``: point → what it is)."""
    out: dict[str, Any] = {}
    for p, name in ((0, "without_storage"), (1, "with_recommended")):
        t = float(typ.loc[typ["point"] == p, "operating_cost_cny_per_year"].iloc[0])
        f = float(full.loc[full["point"] == p, "operating_cost_cny_per_year"].iloc[0])
        out[f"operating_cost_{name}"] = {"typical_days_cny": t, "full_year_cny": f, "difference_cny": t - f, "difference_fraction": (t - f) / f if f else None}
    ts = float(typ.loc[typ["point"] == 1, "saving_cny_per_year"].iloc[0])
    fs = float(full.loc[full["point"] == 1, "saving_cny_per_year"].iloc[0])
    out["saving_from_storage"] = {"typical_days_cny": ts, "full_year_cny": fs, "difference_cny": ts - fs, "difference_fraction": (ts - fs) / fs if fs else None}
    tn = float(typ.loc[typ["point"] == 1, "npv_cny"].iloc[0])
    fn = float(full.loc[full["point"] == 1, "npv_cny"].iloc[0])
    out["npv_at_recommended"] = {"typical_days_cny": tn, "full_year_cny": fn, "difference_cny": tn - fn}
    sizes = []
    for p, name in names.items():
        bt = saving_by_source(typ, monthly_typ, econ, p, hours)
        bf = saving_by_source(full, monthly_full, econ, p, hours)
        ti, fi = typ.set_index("point"), full.set_index("point")
        tr, fr = ti.loc[p], fi.loc[p]
        figures = {
            "saving_cny_per_year": _pair(bt["saving_cny_per_year"], bf["saving_cny_per_year"]),
            **{f"{k}_cny_per_year": _pair(bt["lines"][k]["cny_per_year"], bf["lines"][k]["cny_per_year"]) for k in bt["lines"]},
            "wear_cny_per_year": _pair(bt["wear_cny_per_year"], bf["wear_cny_per_year"]),
            "operating_cost_cny_per_year": _pair(float(tr["operating_cost_cny_per_year"]), float(fr["operating_cost_cny_per_year"])),
            "equivalent_cycles_per_year": _pair(float(tr["equivalent_cycles_per_year"]), float(fr["equivalent_cycles_per_year"])),
            "co2_change_t_per_year": _pair(float(ti.loc[p, "emissions_t_per_year"] - ti.loc[0, "emissions_t_per_year"]),
                                           float(fi.loc[p, "emissions_t_per_year"] - fi.loc[0, "emissions_t_per_year"])),
            "npv_cny": _pair(_num(tr["npv_cny"]), _num(fr["npv_cny"])),
            "irr": _pair(_num(tr["irr"]), _num(fr["irr"])),
            "simple_payback_years": _pair(_num(tr["simple_payback_years"]), _num(fr["simple_payback_years"])),
        }
        cut_t = bt["lines"]["maximum_demand"]["peak_cut_mw_by_month"]
        cut_f = bf["lines"]["maximum_demand"]["peak_cut_mw_by_month"]
        sizes.append({"size": name, "power_mw": float(fr["power_mw"]), "energy_mwh": float(fr["energy_mwh"]), "figures": figures,
                      "peak_cut_mw_by_month": {m: _pair(cut_t.get(m), cut_f.get(m)) for m in cut_f}})
    out["sizes"] = sizes
    out["note"] = ("the recommended size is co-optimised over the typical days only; the full year is simulated at no storage, "
                   "at that size and at the case's own storage, and the same sizes over the typical days; difference = typical − full")
    return out


_ANNUAL_KEYS = (
    "operating_cost_cny_per_year", "dispatch_cost_cny_per_year", "cost_energy_cny_per_year", "demand_charge_cny_per_year",
    "peak_import_mw", "emissions_t_per_year", "renewable_share", "pv_curtailed_mwh_per_year", "unserved_mwh_per_year",
    "storage_discharge_mwh_per_year", "equivalent_cycles_per_year", "import_mwh_per_year", "consumption_mwh_per_year",
    "days_simulated", "days_failed", "days_at_time_limit",
)


def _annual_dict(table: pd.DataFrame | None, point: int) -> dict[str, Any] | None:
    if table is None or not (table["point"] == point).any():
        return None
    r = table[table["point"] == point].iloc[0]
    return {k: (int(r[k]) if k.startswith("days_") else _num(r[k])) for k in _ANNUAL_KEYS if k in r}


def _point_dict(table: pd.DataFrame, point: int) -> dict[str, Any]:
    r = table[table["point"] == point].iloc[0]
    keys = ("power_mw", "energy_mwh", "operating_cost_cny_per_year", "annualised_capital_cny_per_year", "total_cost_cny_per_year", "saving_cny_per_year", "npv_cny", "irr", "simple_payback_years", "discounted_payback_years", "lcos_cny_per_mwh")
    return {k: _num(r[k]) for k in keys}


def _num(x: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if not np.isfinite(x) else float(x)
    return x


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    return _num(obj) if isinstance(obj, (int, float, np.integer, np.floating)) else obj
