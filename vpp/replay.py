"""A replayed day: plan day-ahead, then live the day with the actual PV and load, re-dispatching as it goes.

``vpp replay --date D`` measures what a day-ahead strategy is worth once the day
has happened (issue 16, item 4). For each strategy:

1. **Day-ahead.** The day's case (the forecast) gets the declared net-import plan
   of model.md §3 priced by ``grid.deviation`` (the case's own, or the defaults
   of ``vpp/deviation_defaults.yaml`` around the deterministic plan's net import,
   :func:`priced_case`). ``deterministic`` solves it as it is; ``stochastic``
   solves it with K scenarios from the forecasts (:func:`vpp.uncertainty.add_scenarios`,
   or the case's own scenarios), plus an outage scenario when one is given
   (:func:`with_outage_scenario`). The plan D[t] and the day-ahead decisions
   (events joined, contracts taken) are kept for the day.
2. **The day.** Every ``every`` minutes, from step k, the rest of the day is
   re-dispatched with the intraday tool (:func:`vpp.redispatch.redispatch_case`):
   D kept, deviations paid per ``grid.deviation``, the storage levels, energy
   delivered, processes started and the month's peak carried from the steps
   already run, and the day-ahead regulation offers held (:func:`held_bands`).
   Its case is the forecast with the actual series put in for the
   steps up to the end of the interval about to run (k … k+m−1): the PV
   available, the district load and, in a world where the supply point goes out,
   the grid's maxima. The intraday solve of that interval thus balances the
   measured PV and load (a battery follows the imbalance within the interval);
   later steps are still the forecast, and an outage under way is seen one
   interval at a time. The interval's flows are the realised ones. The intraday
   re-dispatch is deterministic for every strategy (the tool of ``vpp redispatch``):
   the strategies differ in what they declared and decided the day before.
3. **The bill.** The realised cost is computed from the realised flows
   (:func:`step_costs`, :func:`realised_cost`): energy (buy × grid energy − sell ×
   export, carbon, green contracts' energy and fees), the demand charge on the
   day's realised peak, deviation charges against D, demand response (revenue of
   the events joined, penalty on the realised shortfall), frequency regulation
   (the capacity and the mileage payment of the band each battery held, as the
   day-ahead plan offered it: Δ·r·π_c and Δ·r·π_m·μ·K_b of model.md §5.4, as
   revenue), operation (battery degradation, PV and load curtailment) and energy
   not served at the value of lost load.

Regulation in a replay: the offers are sold the day before, so every re-dispatch
holds each battery's day-ahead band for the rest of the day (:func:`held_bands`),
keeping the power and energy headroom it needs, and each step is paid for the
band held. When the supply point goes out the district is islanded and cannot
regulate, and an operator then serves the load first: the district withdraws its
offers from the first step the supply point is out to the end of the day (a
re-dispatch during the outage keeps no energy for later bands, and none after it
must find headroom for a band it was not holding). A withdrawn band is not paid;
model.md has no penalty for an offer not delivered (§5.4), so it costs its payment
and nothing more.

The actual series (:func:`read_actuals`) are the district's load and PV fleet
[MW] of the shipped synthetic year (``forecasts/data``; SYNTHETIC) or of a
measured CSV file with the same columns (``timestamp, load_mw, pv_mw``). They are
spread over the case's load and PV assets in the forecast's proportions at each
step (:func:`actual_case`).
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models import SolveOptions
from vpp.case import Case, load_case
from vpp.errors import CaseError, Problem
from vpp.redispatch import (
    Plan,
    default_deviation,
    held_offers,
    offering,
    planned_state,
    redispatch_case,
    state_of,
)
from vpp.regulation import regulating_batteries, step_revenue_cny

STRATEGIES = ("deterministic", "stochastic")
READING = "reading the actuals"
REPLAYING = "replaying the day"
ACTUAL_COLUMNS = ("timestamp", "load_mw", "pv_mw")

DEFAULT_OUTAGE_RATE_PER_YEAR = 0.5
OUTAGE_RATE_SOURCE = (
    "[assumed] 0.5 outages of the district's supply point a year: the TEDA facts give no outage rate; "
    "of the order of the interruptions a year an urban customer in China sees, for the supply point "
    "of a district fed at 110 kV; replace it with the supply point's record"
)
"""The default rate of unannounced outages of the supply point [1/year], and why."""

#: The lines of the realised bill [CNY], in the order they are shown (a revenue is negative).
PARTS = ("energy", "demand", "deviation", "demand_response", "regulation_capacity", "regulation_mileage",
         "operation", "unserved")


# ---------------------------------------------------------------------------
# The actual series
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Actuals:
    """The day's actual district load and PV [MW per step of the case], and where they came from."""

    load_mw: np.ndarray
    pv_mw: np.ndarray
    source: str


def shipped_history() -> Path:
    """The shipped synthetic year of the TEDA east district (``forecasts/data``)."""
    from importlib import resources

    from vpp.cases.teda_east import HISTORY_FILE

    return Path(str(resources.files("forecasts.data").joinpath(HISTORY_FILE)))


def read_actuals(path: str | Path | None, case: Case, where: str = "actuals", *, text: str | None = None) -> Actuals:
    """The actual load and PV of ``case``'s day from ``path`` (a CSV of ``timestamp, load_mw, pv_mw``).

    ``path`` None: the shipped synthetic year. The file's rows on the day must be the
    case's steps (one row each), or evenly spaced at a step dividing the case's (their
    mean over each step is taken: the 15-minute year for an hourly case); every
    problem names ``where`` and the column. ``text``: the CSV itself (a request's), instead of a file.
    """
    file = shipped_history() if path is None else Path(path)
    name = "the shipped synthetic year" if path is None and text is None else "the CSV given" if text else str(file)
    try:
        frame = pd.read_csv(io.StringIO(text) if text is not None else file, comment="#", dtype=str,
                            keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise CaseError([Problem(where, f"cannot read {name} as a CSV table: {exc}")], step=READING) from None
    missing = [c for c in ACTUAL_COLUMNS if c not in frame.columns]
    if missing:
        raise CaseError([Problem(where, f"{name} has no column {', '.join(repr(c) for c in missing)}: expected "
                                 f"the columns {', '.join(ACTUAL_COLUMNS)} (got {', '.join(frame.columns)})")],
                        step=READING)
    stamps = pd.to_datetime(frame["timestamp"], errors="coerce", utc=True)
    bad = np.flatnonzero(stamps.isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise CaseError([Problem(f"{where}.timestamp", f"row {i + 1}: {frame['timestamp'].iloc[i]!r} is not an ISO "
                                 "8601 time such as 2025-07-15T00:00:00+08:00")], step=READING)
    first, last = case.timestamps[0], case.timestamps[-1]
    end = last + pd.Timedelta(minutes=case.step_minutes)
    inside = ((stamps >= first) & (stamps < end)).to_numpy()
    day = frame[inside]
    if day.empty:
        local = stamps.dt.tz_convert(first.tzinfo)
        raise CaseError([Problem("date", f"{first.date().isoformat()} is outside the actuals of {name}, which "
                                 f"cover {local.min():%Y-%m-%d} to {local.max():%Y-%m-%d}")], step=READING)
    got = pd.DatetimeIndex(stamps[inside])
    per = len(day) // case.steps  # rows per step: 1, or more at a finer regular step (averaged)
    grid = pd.date_range(first, periods=case.steps * max(per, 1),
                         freq=pd.Timedelta(minutes=case.step_minutes / max(per, 1))).tz_convert("UTC")
    if per < 1 or len(day) != case.steps * per or not got.equals(grid):
        raise CaseError([Problem(where, (
            f"{len(day)} row(s) of {name} fall on {first.date().isoformat()}: expected {case.steps}, one per "
            f"{case.step_minutes}-minute step from {first:%H:%M} to {last:%H:%M} (or a whole number of rows per "
            "step, evenly spaced, averaged over the step)"))], step=READING)
    values = {}
    problems = []
    for column in ("load_mw", "pv_mw"):
        numbers = pd.to_numeric(day[column], errors="coerce").to_numpy(dtype=float)
        wrong = np.flatnonzero(~np.isfinite(numbers) | (numbers < 0))
        if wrong.size:
            i = int(wrong[0])
            when = got[i].tz_convert(first.tzinfo)
            problems.append(Problem(f"{where}.{column}", f"at {when:%Y-%m-%d %H:%M}: expected a "
                                    f"number >= 0 [MW], got {day[column].iloc[i]!r}"))
        values[column] = numbers.reshape(case.steps, per).mean(axis=1) if not wrong.size else numbers
    if problems:
        raise CaseError(problems, step=READING)
    source = ("the shipped synthetic year (forecasts/data, SYNTHETIC)" if path is None and text is None else
              f"measured: {name}")
    return Actuals(values["load_mw"], values["pv_mw"], source)


def _spread(total: np.ndarray, parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``total`` [MW per step] over ``parts`` in their proportions at each step (equal where they are all 0)."""
    stack = np.array(list(parts.values()), dtype=float)
    sums = stack.sum(axis=0)
    share = np.where(sums > 0, stack / np.where(sums > 0, sums, 1.0), 1.0 / len(stack))
    return {aid: total * share[i] for i, aid in enumerate(parts)}


def actual_series(case: Case, actuals: Actuals) -> dict[str, np.ndarray]:
    """Each PV asset's available power and each load asset's demand on the day [MW], keyed ``<id>.<field>``."""
    out = {}
    for kind, field_, total in (("pv", "available_mw", actuals.pv_mw), ("load", "demand_mw", actuals.load_mw)):
        parts = {a.id: case.series(getattr(a, field_)) for a in case.assets if a.type == kind}
        if parts:
            out |= {f"{aid}.{field_}": v for aid, v in _spread(total, parts).items()}
    return out


def actual_case(case: Case, actual: dict[str, np.ndarray], upto: int) -> Case:
    """``case`` (the forecast, no scenarios) with the ``actual`` series in place for steps 0 … upto−1."""
    data = json.loads(case.to_json(indent=None))
    data["scenarios"] = None
    data["risk"] = None
    for key, values in actual.items():
        owner, name = key.rsplit(".", 1)
        target = data["grid"] if owner == "grid" else next(a for a in data["assets"] if a["id"] == owner)
        base = np.broadcast_to(np.asarray(target.get(name, 0.0), dtype=float), (case.steps,)).copy()
        base[:upto] = values[:upto]
        target[name] = [float(v) for v in base]
    return load_case(data)


# ---------------------------------------------------------------------------
# The day-ahead plans
# ---------------------------------------------------------------------------


def priced_case(case: Case, options: SolveOptions | None = None) -> Case:
    """``case`` with ``grid.deviation``: its own, or the defaults around its deterministic plan.

    The defaults' tolerance is a fraction of |D[t]| (:func:`vpp.redispatch.default_deviation`);
    here D is the net import of the case solved without deviation charges.
    """
    from vpp.dispatch import solve_case

    if case.grid.deviation is not None:
        return case
    base = case.model_copy(update={"scenarios": None, "risk": None})
    net = solve_case(base, options).curve()["grid.net_import_mw"].to_numpy(dtype=float)
    data = json.loads(case.to_json(indent=None))
    data["grid"]["deviation"] = default_deviation(case, net)
    meta = dict(data.get("meta") or {})
    meta["deviation"] = ("the defaults of vpp/deviation_defaults.yaml, the tolerance around the net import of the "
                         "day solved without deviation charges")
    data["meta"] = meta
    return load_case(data)


@dataclass(frozen=True)
class OutageScenario:
    """An unannounced outage of the supply point as one scenario: its window, its rate [1/year], the rate's source."""

    start: str
    hours: float
    rate_per_year: float = DEFAULT_OUTAGE_RATE_PER_YEAR
    rate_source: str = OUTAGE_RATE_SOURCE

    @property
    def window(self) -> str:
        """The window as HH:MM-HH:MM (local time)."""
        from vpp.cases.events import parse_time

        begin = round(parse_time(self.start) * 60)
        end = (begin + round(self.hours * 60)) % 1440
        return f"{self.start}-{end // 60:02d}:{end % 60:02d}" if end else f"{self.start}-24:00"

    @property
    def probability(self) -> float:
        """Of the outage on the day: rate × window / 8760 h [-]."""
        return self.rate_per_year * self.hours / 8760.0

    def problems(self) -> list[Problem]:
        from vpp.microgrid.islanding import hours_problem

        out = []
        try:
            self.window  # noqa: B018 - read once: the start must be a time of day
        except (ValueError, TypeError) as exc:
            out.append(Problem("outage_start", f"{exc}: expected HH:MM in local time, e.g. 18:00"))
        if isinstance(self.rate_per_year, bool) or not isinstance(self.rate_per_year, int | float) or not (
                math.isfinite(self.rate_per_year) and self.rate_per_year > 0):
            out.append(Problem("outage_rate", f"expected a number of outages a year > 0, got {self.rate_per_year!r}"))
        problem = hours_problem(self.hours, "outage_hours")
        if problem:
            out.append(problem)
        elif self.hours > 24:
            out.append(Problem("outage_hours", f"expected at most 24 hours (a day), got {self.hours:g}"))
        elif self.rate_per_year > 0 and self.probability >= 1:
            out.append(Problem("outage_rate", f"rate × hours / 8760 = {self.probability:g}: expected a probability "
                               "below 1"))
        return out


def outage_world(case: Case, window: str) -> dict[str, list[float]]:
    """The series of a day whose supply point is out over ``window``: the grid's maxima 0
    (:func:`vpp.microgrid.outage_series`) and nothing available from the green contracts,
    whose energy comes through the supply point."""
    from vpp.microgrid import outage_series

    series = outage_series(case, window, where="outage_start")
    out = np.asarray(series["grid.import_max_mw"]) <= 0
    for a in case.assets:
        if a.type == "green_contract":
            series[f"{a.id}.available_mw"] = [0.0 if o else float(v) for o, v in
                                              zip(out, case.series(a.available_mw), strict=True)]
    return series


def with_outage_scenario(case: Case, outage: OutageScenario) -> Case:
    """A stochastic ``case`` (or a deterministic one: one scenario) with the outage as one more scenario.

    The outage scenario is the forecast (the case's own series) with the supply point
    out over the window (:func:`outage_world`);
    its probability p is the outage's, the others' are scaled by 1 − p.
    """
    problems = outage.problems()
    if problems:
        raise CaseError(problems, step=REPLAYING)
    window = outage.window
    series = outage_world(case, window)
    p = outage.probability
    data = json.loads(case.to_json(indent=None))
    scenarios = data.get("scenarios") or [{"id": "forecast", "probability": 1.0, "series": {}}]
    for sc in scenarios:
        sc["probability"] = sc["probability"] * (1 - p)
    scenarios.append({"id": "outage", "probability": p, "series": series})
    data["scenarios"] = scenarios
    meta = dict(data.get("meta") or {})
    meta["outage_scenario"] = {"window": window, "hours": outage.hours, "rate_per_year": outage.rate_per_year,
                               "rate_source": outage.rate_source, "probability": p,
                               "probability_rule": "rate × window / 8760 h"}
    data["meta"] = meta
    return load_case(data)


@dataclass(frozen=True)
class Settings:
    """How to replay: the strategies, the re-dispatch interval [min], the scenarios, the outage."""

    strategies: tuple[str, ...] = STRATEGIES
    every_minutes: int = 60
    scenarios: int = 5
    seed: int = 0
    outage: OutageScenario | None = None

    def problems(self, case: Case) -> list[Problem]:
        out = []
        unknown = [s for s in self.strategies if s not in STRATEGIES]
        if unknown or not self.strategies:
            out.append(Problem("strategy", f"expected some of {', '.join(STRATEGIES)}, got {list(self.strategies)}"))
        m = self.every_minutes
        if isinstance(m, bool) or not isinstance(m, int) or m < case.step_minutes or m % case.step_minutes:
            examples = " or ".join(str(x) for x in sorted({case.step_minutes, 60 * max(1, case.step_minutes // 60)}))
            out.append(Problem("every", f"expected a whole multiple of the case's {case.step_minutes}-minute step "
                               f"(e.g. {examples}), got {m!r}"))
        if isinstance(self.scenarios, bool) or not isinstance(self.scenarios, int) or self.scenarios < 1:
            out.append(Problem("scenarios", f"expected a whole number of scenarios >= 1, got {self.scenarios!r}"))
        if self.outage is not None:
            out += self.outage.problems()
        return out


def day_ahead(case: Case, strategy: str, settings: Settings, options: SolveOptions | None = None) -> Plan:
    """The strategy's day-ahead plan of ``case`` (priced: :func:`priced_case`)."""
    from vpp.dispatch import solve_case
    from vpp.uncertainty import ScenarioSettings, add_scenarios, solve_stochastic

    if strategy == "deterministic":
        solved = solve_case(case.model_copy(update={"scenarios": None, "risk": None}), options)
    else:
        stochastic = case
        if not case.scenarios and settings.scenarios > 1:
            stochastic = add_scenarios(case, ScenarioSettings(count=settings.scenarios, seed=settings.seed))
        if settings.outage is not None:
            stochastic = with_outage_scenario(stochastic, settings.outage)
        solved, _ = solve_stochastic(stochastic, options)
    return Plan(case=solved.case, curve=solved.curve().set_index("step"), summary=solved.summary,
                source=f"the {strategy} day-ahead plan")


# ---------------------------------------------------------------------------
# The realised cost of a step
# ---------------------------------------------------------------------------


def _col(curve: pd.DataFrame, key: str, n: int) -> np.ndarray:
    return curve[key].to_numpy(dtype=float) if key in curve.columns else np.zeros(n)


def step_costs(case: Case, curve: pd.DataFrame) -> pd.DataFrame:
    """The realised flows and costs of each step of a solved (deterministic) ``case`` [MW, MWh, CNY].

    ``curve``: its wide table (:meth:`vpp.results.DispatchResult.curve`). Computed from the
    flows, not read from the solve's objective: energy (grid energy × buy − export × sell,
    carbon, green contracts' energy), deviation beyond the tolerance at its price,
    demand-response shortfall penalty, the regulation band held and its capacity and
    mileage payments (negative: revenue, :func:`vpp.regulation.step_revenue_cny`), operation (battery degradation, PV curtailment,
    load curtailment), energy not served (electric, and heat at the value of lost load).
    """
    n, dt_h = case.steps, case.dt_hours
    g = case.grid
    imp, exp = _col(curve, "grid.import_mw", n), _col(curve, "grid.export_mw", n)
    green = _col(curve, "grid.green_mw", n)
    buy, sell = case.series(g.buy_cny_per_mwh), case.series(g.sell_cny_per_mwh)
    net = imp - exp
    rows: dict[str, Any] = {"import_mw": imp, "export_mw": exp, "net_import_mw": net, "green_mw": green,
                            "buy_cny_per_mwh": buy, "sell_cny_per_mwh": sell}
    energy = dt_h * (buy * (imp - green) - sell * exp)
    energy += case.carbon_price_cny_per_t * dt_h * case.series(g.emission_t_per_mwh) * (imp - green)
    operation = np.zeros(n)
    unserved_mw = _col(curve, "grid.unserved_mw", n) + sum(
        (_col(curve, f"{node.id}.unserved_mw", n) for node in case.network.nodes), np.zeros(n))
    heat_unserved = np.zeros(n)
    soc, charge, discharge, curtailed = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    for a in case.assets:
        if a.type == "green_contract":
            energy += dt_h * a.price_cny_per_mwh * _col(curve, f"{a.id}.purchase_mw", n)
        elif a.type == "battery":
            operation += dt_h * a.degradation_cny_per_mwh * _col(curve, f"{a.id}.discharge_mw", n)
            soc += _col(curve, f"{a.id}.soc_mwh", n)
            charge += _col(curve, f"{a.id}.charge_mw", n)
            discharge += _col(curve, f"{a.id}.discharge_mw", n)
        elif a.type == "pv":
            operation += dt_h * a.curtailment_cny_per_mwh * _col(curve, f"{a.id}.curtailed_mw", n)
            curtailed += _col(curve, f"{a.id}.curtailed_mw", n)
        elif a.type == "curtailable_load":
            operation += dt_h * a.cost_cny_per_mwh * _col(curve, f"{a.id}.reduction_mw", n)
        elif a.type == "thermal_storage":
            heat_unserved += _col(curve, f"{a.id}.unserved_thermal_mw_th", n)
    if g.deviation is not None:
        d = g.deviation
        plan = case.series(g.schedule_mw) if g.schedule_mw is not None else _col(curve, "grid.plan_mw", n)
        tol = case.series(d.tolerance_mw)
        short, long = np.maximum(0.0, net - plan - tol), np.maximum(0.0, plan - net - tol)
        c_short, c_long = case.series(d.short_cny_per_mwh), case.series(d.long_cny_per_mwh)
        rows |= {"plan_mw": plan, "tolerance_mw": tol, "short_cny_per_mwh": c_short, "long_cny_per_mwh": c_long,
                 "deviation_short_mw": short, "deviation_long_mw": long}
        deviation = dt_h * (c_short * short + c_long * long)
    else:
        deviation = np.zeros(n)
    penalty = np.zeros(n)
    for ev in case.demand_response:
        sf = np.nan_to_num(_col(curve, f"{ev.id}.shortfall_mw", n))
        penalty += dt_h * ev.shortfall_penalty_cny_per_mwh * sf
    band, capacity, mileage = np.zeros(n), np.zeros(n), np.zeros(n)
    for b in regulating_batteries(case):
        r = np.clip(_col(curve, f"{b.id}.regulation_mw", n), 0.0, None)
        paid = step_revenue_cny(case, b, r)
        band, capacity, mileage = band + r, capacity + paid[0], mileage + paid[1]
    rows |= {"regulation_mw": band, "regulation_capacity_cny": -capacity, "regulation_mileage_cny": -mileage}
    rows |= {"unserved_mw": unserved_mw, "unserved_heat_mw_th": heat_unserved, "battery_soc_mwh": soc,
             "battery_charge_mw": charge, "battery_discharge_mw": discharge, "pv_curtailed_mw": curtailed,
             "energy_cny": energy, "deviation_cny": deviation, "demand_response_cny": penalty,
             "operation_cny": operation, "unserved_cny": dt_h * case.voll_cny_per_mwh * (unserved_mw + heat_unserved)}
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# The replay
# ---------------------------------------------------------------------------


@dataclass
class Replayed:
    """One strategy's day in one world: the day-ahead plan and the realised steps."""

    strategy: str
    world: str
    plan: Plan
    steps: pd.DataFrame
    cost_cny: dict[str, float] = field(default_factory=dict)

    @property
    def realised_cny(self) -> float:
        return float(sum(self.cost_cny.values()))

    def totals(self) -> dict[str, Any]:
        dt_h = self.plan.case.dt_hours
        s = self.steps
        return {
            "strategy": self.strategy,
            "world": self.world,
            "day_ahead_objective_cny": float(self.plan.summary["objective_cny"]),
            "realised_cost_cny": self.realised_cny,
            "cost_cny": dict(self.cost_cny),
            "deviation_mwh": float((s["deviation_short_mw"] + s["deviation_long_mw"]).sum() * dt_h),
            "deviation_above_mwh": float(s["deviation_short_mw"].sum() * dt_h),
            "deviation_below_mwh": float(s["deviation_long_mw"].sum() * dt_h),
            "energy_not_served_mwh": float(s["unserved_mw"].sum() * dt_h),
            "regulation_offered_mw_h": float(s["regulation_offered_mw"].sum() * dt_h),
            "regulation_held_mw_h": float(s["regulation_mw"].sum() * dt_h),
            "regulation_released_mw_h": float((s["regulation_offered_mw"] - s["regulation_mw"]).sum() * dt_h),
            "heat_not_served_mwh_th": float(s["unserved_heat_mw_th"].sum() * dt_h),
            "peak_import_mw": float(s["import_mw"].max()),
        }


def realised_cost(case: Case, plan: Plan, steps: pd.DataFrame) -> dict[str, float]:
    """The day's realised cost by bill line [CNY] (:data:`PARTS`) from its realised ``steps`` (:func:`step_costs` rows).

    The demand charge is on the day's realised peak above the case's ``peak_to_date_mw``;
    demand response earns the revenue of the events joined day-ahead; the green
    contracts taken day-ahead pay their fees; regulation earns the payments of the bands
    held (the day-ahead offers less what was released).
    """
    g = case.grid
    demand = 0.0
    if g.demand_charge_cny_per_mw > 0:
        peak = max(g.peak_to_date_mw, float(steps["import_mw"].max()))
        if g.declared_demand_mw is None:
            demand = g.demand_charge_cny_per_mw * (peak - g.peak_to_date_mw)
        else:
            limit = 1.05 * g.declared_demand_mw
            demand = 2 * g.demand_charge_cny_per_mw * (max(0.0, peak - limit) - max(0.0, g.peak_to_date_mw - limit))
    revenue = 0.0
    for ev in case.demand_response:
        line = plan.report("demand_response", ev.id)
        if line and line.get("joined"):
            revenue += ev.price_cny_per_mwh * ev.amount_mw * ev.length_steps * case.dt_hours
    fees = sum(a.fixed_cny for a in case.assets if a.type == "green_contract" and a.fixed_cny > 0
               and (plan.report("green_contracts", a.id) or {}).get("taken"))
    starts = 0.0
    for a in case.assets:
        if a.type == "curtailable_load" and a.start_cny > 0 and f"{a.id}.curtailing" in steps.columns:
            on = steps[f"{a.id}.curtailing"].to_numpy(dtype=float) > 0.5
            starts += a.start_cny * int(np.sum(on & ~np.concatenate([[False], on[:-1]])))
    return {
        "energy": float(steps["energy_cny"].sum()) + fees,
        "demand": demand,
        "deviation": float(steps["deviation_cny"].sum()),
        "demand_response": float(steps["demand_response_cny"].sum()) - revenue,
        "regulation_capacity": float(steps["regulation_capacity_cny"].sum()),
        "regulation_mileage": float(steps["regulation_mileage_cny"].sum()),
        "operation": float(steps["operation_cny"].sum()) + starts,
        "unserved": float(steps["unserved_cny"].sum()),
    }


def live_day(plan: Plan, forecast: Case, actual: dict[str, np.ndarray], every_minutes: int,
             options: SolveOptions | None = None) -> pd.DataFrame:
    """Run the day of ``plan`` with the ``actual`` series revealed as it goes (module docstring, step 2).

    ``forecast``: the day's case the intraday solves start from (deterministic); ``actual``:
    series by ``<owner>.<field>`` [MW per step]. One row per step of the day: the realised
    flows and costs (:func:`step_costs`), the regulation band the plan offered, the forecast
    and actual PV and load.
    """
    from vpp.dispatch import solve_case

    n = forecast.steps
    m = every_minutes // forecast.step_minutes
    raw = planned_state(plan, 0)
    state = state_of(raw)
    rows = []
    offered = sum((np.clip(plan.column(b, "regulation_mw"), 0.0, None) for b in offering(plan.case)),
                  np.zeros(n))
    withdrawn = False
    for k in range(0, n, m):
        revealed = actual_case(forecast, actual, min(k + m, n))
        rest = redispatch_case(plan, k, state, case=revealed)
        bands = held_bands(plan, k, rest, withdrawn)
        withdrawn = withdrawn or bool(islanded(rest).any())
        solved = solve_case(rest, options, fixed=bands or None)
        curve = solved.curve()
        costs = step_costs(rest, curve)
        costs["regulation_offered_mw"] = offered[k:]
        extra = [c for c in curve.columns if c.endswith(".curtailing")]
        part = pd.concat([costs, curve[extra]], axis=1).iloc[: min(m, n - k)].copy()
        part.insert(0, "step", np.arange(k, k + len(part)))
        rows.append(part)
        if k + m < n:
            done = Plan(case=rest, curve=curve.set_index("step"), summary=solved.summary, source=plan.source)
            raw = _carried(raw, planned_state(done, m), k, plan, k + m)
            state = state_of(raw)
    out = pd.concat(rows, ignore_index=True)
    out.insert(1, "timestamp", [t.isoformat() for t in forecast.timestamps])
    for kind, field_, name in (("pv", "available_mw", "pv"), ("load", "demand_mw", "load")):
        fc = sum((forecast.series(getattr(a, field_)) for a in forecast.assets if a.type == kind), np.zeros(n))
        ac = sum((v for key, v in actual.items() if key.endswith(f".{field_}")
                  and _type_of(forecast, key.rsplit(".", 1)[0]) == kind), np.zeros(n))
        out[f"{name}_forecast_mw"] = fc
        out[f"{name}_actual_mw"] = ac
    return out


def islanded(case: Case) -> np.ndarray:
    """The steps of ``case`` at which its supply point is out: import and export maxima 0."""
    return (case.series(case.grid.import_max_mw) <= 0) & (case.series(case.grid.export_max_mw) <= 0)


def held_bands(plan: Plan, k: int, rest: Case, withdrawn: bool = False) -> dict[str, np.ndarray]:
    """The regulation band each offering battery holds in the re-dispatch ``rest`` from step ``k`` [MW],
    by the name of its first-stage family: the day-ahead offer (:func:`vpp.redispatch.held_offers`),
    withdrawn (0) from the first step ``rest``'s supply point is out to the end of the day, and
    everywhere once ``withdrawn`` (an earlier step was out)."""
    out = islanded(rest)
    first = int(np.argmax(out)) if out.any() else rest.steps
    if withdrawn:
        first = 0
    bands = held_offers(plan, k, rest)
    for band in bands.values():
        band[first:] = 0.0
    return bands


def _carried(before: dict[str, Any], after: dict[str, Any], k: int, plan: Plan, at: int) -> dict[str, Any]:
    """The state of the whole day at step ``at`` from the state ``before`` at step k and the state
    ``after`` the rest of the day from k expects (:func:`vpp.redispatch.planned_state`, counted from k)."""
    out = dict(after)
    out.pop("demand_response", None)
    for section in ("shiftable_loads", "curtailable_loads", "flexible_loads"):
        for aid, entry in before.get(section, {}).items():
            if aid not in after.get(section, {}):  # a process started became a fixed load of the rest
                out.setdefault(section, {})[aid] = dict(entry)
    for aid, entry in after.get("flexible_loads", {}).items():
        entry["delivered_mwh"] += before["flexible_loads"][aid]["delivered_mwh"]
    for aid, entry in after.get("shiftable_loads", {}).items():
        earlier = before["shiftable_loads"][aid]
        if earlier["started"]:
            after["shiftable_loads"][aid] = earlier
        elif entry["started"]:
            entry["start_step"] += k
    for aid, entry in after.get("curtailable_loads", {}).items():
        earlier = before["curtailable_loads"][aid]
        entry["events_started"] += earlier["events_started"] - int(earlier["curtailing"])
    joined = _joined(plan, at)
    if joined:
        out["demand_response"] = joined
    return out


def _type_of(case: Case, owner: str) -> str | None:
    return next((a.type for a in case.assets if a.id == owner), None)


def _joined(plan: Plan, k: int) -> dict[str, dict[str, bool]]:
    """Whether each event not over by step k was joined day-ahead (a day-ahead decision)."""
    out = {}
    for ev in plan.case.demand_response:
        if ev.end_step > k:
            line = plan.report("demand_response", ev.id)
            out[ev.id] = {"joined": bool(line and line.get("joined"))}
    return out


@dataclass
class Replay:
    """The replayed day: every strategy in every world, and how it was made."""

    case: Case
    runs: list[Replayed]
    settings: Settings
    actuals_source: str
    notes: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """replay.csv: one row per step per strategy (and world)."""
        frames = []
        for r in self.runs:
            f = r.steps.copy()
            f.insert(0, "world", r.world)
            f.insert(0, "strategy", r.strategy)
            f["planned_net_import_mw"] = r.plan.net_import_mw
            f["declared_mw"] = r.plan.declared_mw
            frames.append(f.drop(columns=[c for c in f.columns if c.endswith(".curtailing")]))
        return pd.concat(frames, ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """replay.json."""
        s = self.settings
        return {
            "case": self.case.name,
            "date": self.case.start.date().isoformat(),
            "step_minutes": self.case.step_minutes,
            "redispatch_every_minutes": s.every_minutes,
            "strategies": list(s.strategies),
            "scenarios": s.scenarios if "stochastic" in s.strategies else None,
            "actuals": self.actuals_source,
            "outage_scenario": None if s.outage is None else {
                "window": s.outage.window, "hours": s.outage.hours, "rate_per_year": s.outage.rate_per_year,
                "rate_source": s.outage.rate_source, "probability": s.outage.probability},
            "results": [r.totals() for r in self.runs],
            "method": __doc__.split("\n\n", 1)[1].strip() if __doc__ else "",
            "notes": self.notes,
        }


def replay(case: Case, actuals: Actuals, settings: Settings, options: SolveOptions | None = None) -> Replay:
    """Replay ``case``'s day (see the module docstring): every strategy, in the world without an outage and,
    with ``settings.outage``, in the world where it happens."""
    problems = settings.problems(case)
    if problems:
        raise CaseError(problems, step=REPLAYING)
    notes = []
    priced = priced_case(case, options)
    forecast = priced.model_copy(update={"scenarios": None, "risk": None})
    actual = actual_series(forecast, actuals)
    worlds = {"normal": actual}
    if settings.outage is not None:
        worlds["outage"] = actual | {k: np.asarray(v, dtype=float) for k, v in
                                     outage_world(forecast, settings.outage.window).items()}
    runs = []
    for strategy in settings.strategies:
        plan = day_ahead(priced, strategy, settings, options)
        for world, series in worlds.items():
            steps = live_day(plan, forecast, series, settings.every_minutes, options)
            run = Replayed(strategy, world, plan, steps, realised_cost(forecast, plan, steps))
            released = run.totals()["regulation_released_mw_h"]
            if released > 1e-6:
                notes.append(f"{strategy}, {world}: {released:,.1f} MW·h of the day-ahead regulation band withdrawn "
                             "from the outage on, and not paid")
            runs.append(run)
    return Replay(priced, runs, settings, actuals.source, notes)
