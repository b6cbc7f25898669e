"""A stochastic day-ahead plan from the forecasts (model.md §6), and what the uncertainty is worth.

Scenarios (:func:`add_scenarios`)
    The template's quantile forecasts of its PV fleet and its district load
    (:mod:`vpp.cases.forecasting`, the same ones it materialised the day from)
    are turned into a spread around the case's own series: at every step the
    forecast's quantiles divided by its median, so a scenario is the case's
    series times a multiplier per step, the same for every PV asset (one
    weather) and the same for every load asset (one district). The two
    multipliers' probability levels are drawn jointly (:mod:`forecasts.joint`:
    a Gaussian copula, each series with its own step-to-step correlation, the
    two correlated at each step), ``draws`` days of them, and reduced to K by
    k-medoids on the district PV and load totals (:mod:`forecasts.reduction`).
    The case gets the K scenarios as series overrides of its PV and load
    assets, their probabilities, the risk term, and ``meta["scenarios"]``:
    how they were made. The demand-response baselines stay as they are: a
    baseline is settled from metered history, known before the day.

What the uncertainty is worth (:func:`value_of_uncertainty`; Birge & Louveaux,
*Introduction to Stochastic Programming*, 2nd ed., §4.1–4.2)
    - RP: the stochastic plan's objective (the §6 objective it minimises);
    - EV: the expected-value day, every scenario series replaced by its
      probability-weighted mean, solved deterministically; EEV: its first-stage
      decisions held (``fixed=``) and evaluated on the same scenarios;
      VSS = EEV − RP ≥ 0 (the EV plan is one the stochastic solve could choose);
    - WS: wait-and-see, each scenario solved on its own with its own first
      stage, probability-weighted; EVPI = E[cost of the stochastic plan] − WS ≥ 0.
      (Without a risk term the stochastic plan's expected cost is RP.)
    - the cost of each scenario under each plan, and the tail of the
      stochastic plan's costs: VaR_β and CVaR_β (Rockafellar & Uryasev 2000).

:func:`value_of_uncertainty` returns the summary's ``uncertainty`` section;
:func:`stochastic_day` (``vpp dispatch --scenarios K``) puts it in ``summary.json``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models import Engine, Exclusivity, SolveOptions
from vpp.case import Case, load_case
from vpp.errors import CaseError, InfeasibleError, Problem

if TYPE_CHECKING:
    from vpp.cases.forecasting import DayForecast
    from vpp.results import DispatchResult

STEP = "making scenarios from the forecasts"

DRAWS = 1000
"""Days drawn from the forecasts before the reduction to K."""

PV_LOAD_CORRELATION = 0.0
PV_LOAD_CORRELATION_SOURCE = (
    "[assumed] no joint history of PV and load forecast errors to fit it from; it would be positive "
    "where sunnier-than-forecast afternoons are hotter (cooling), negative where they are milder (heating)"
)
"""Correlation of the PV and load forecast errors at the same step [-], and why."""


@dataclass(frozen=True)
class ScenarioSettings:
    """How to make a stochastic day: K scenarios from ``draws`` drawn days, and the risk term.

    count: K [-]; draws: days drawn before the reduction [-]; seed: of the draws;
    risk_weight: λ ≥ 0 [-]; risk_beta: β in [0, 1) [-]; pv_load_correlation: Γ of the
    PV and load errors at one step [-] (:data:`PV_LOAD_CORRELATION`).
    """

    count: int
    draws: int = DRAWS
    seed: int = 0
    risk_weight: float = 0.0
    risk_beta: float = 0.9
    pv_load_correlation: float = PV_LOAD_CORRELATION

    def problems(self) -> list[Problem]:
        out = []
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            out.append(Problem("scenarios", f"expected a whole number of scenarios >= 1, got {self.count!r}"))
        if isinstance(self.draws, bool) or not isinstance(self.draws, int) or self.draws < 1:
            out.append(Problem("draws", f"expected a whole number of days to draw >= 1, got {self.draws!r}"))
        elif isinstance(self.count, int) and self.count > self.draws:
            out.append(Problem("scenarios", f"{self.count} scenarios cannot be kept out of {self.draws} drawn: "
                                            "expected at most the number drawn"))
        if not (math.isfinite(self.risk_weight) and self.risk_weight >= 0):
            out.append(Problem("risk_weight", f"expected a number >= 0, got {self.risk_weight!r}"))
        if not (math.isfinite(self.risk_beta) and 0 <= self.risk_beta < 1):
            out.append(Problem("risk_beta", f"expected a number in [0, 1), got {self.risk_beta!r}"))
        if not (math.isfinite(self.pv_load_correlation) and -1 < self.pv_load_correlation < 1):
            out.append(Problem("pv_load_correlation", f"expected a number in (-1, 1), got {self.pv_load_correlation!r}"))
        return out


# ---------------------------------------------------------------------------
# Scenarios from the forecasts
# ---------------------------------------------------------------------------


def relative_quantiles(quantiles: pd.DataFrame) -> tuple[np.ndarray, list[float]]:
    """The forecast's quantiles divided by its median at each step (steps × levels) [-], and the levels.

    Where the median is below 0.1 % of its largest value (PV at night and in the first
    minutes of light) the spread is none: every level is 1 (a ratio of two near-zero
    numbers says nothing about the case's own series there).
    """
    levels = [float(c) for c in quantiles.columns]
    if 0.5 not in levels:
        raise CaseError([Problem("forecast", f"expected a median (0.5) among the quantile levels, got {levels}")],
                        step=STEP)
    q = np.sort(quantiles.to_numpy(dtype=float), axis=1)
    median = q[:, levels.index(0.5)]
    scale = np.abs(median).max() if median.size else 0.0
    ok = np.abs(median) > 1e-3 * scale if scale > 0 else np.zeros(median.shape, dtype=bool)
    out = np.ones_like(q)
    out[ok] = q[ok] / median[ok, None]
    return out, levels


def _series_of(case: Case, kind: str, field: str) -> dict[str, np.ndarray]:
    return {a.id: case.series(getattr(a, field)) for a in case.assets if a.type == kind}


def scenarios_from_forecasts(case: Case, pv: DayForecast, load: DayForecast, settings: ScenarioSettings) -> Case:
    """``case`` with K scenarios of its PV and load assets drawn from the ``pv`` and ``load`` forecasts.

    See the module docstring. ``pv.quantiles`` and ``load.quantiles`` are the
    forecasts of the fleet and the district totals over the case's steps.
    """
    from forecasts.joint import joint_probability_paths
    from forecasts.quantiles import quantile_function
    from forecasts.reduction import reduce_scenarios

    problems = settings.problems()
    if case.scenarios:
        problems.append(Problem("scenarios", "the case already has scenarios: expected a deterministic case"))
    pv_assets, load_assets = _series_of(case, "pv", "available_mw"), _series_of(case, "load", "demand_mw")
    if not pv_assets and not load_assets:
        problems.append(Problem("assets", "no PV or load asset to draw scenarios of"))
    for name, fc in (("pv", pv), ("load", load)):
        if len(fc.quantiles) != case.steps:
            problems.append(Problem(f"forecast.{name}", f"expected {case.steps} steps, got {len(fc.quantiles)}"))
    if problems:
        raise CaseError(problems, step=STEP)

    c = settings.pv_load_correlation
    try:
        u = joint_probability_paths(settings.draws, case.steps, (pv.rho, load.rho),
                                    np.array([[1.0, c], [c, 1.0]]), seed=settings.seed)
    except ValueError as exc:
        raise CaseError([Problem("pv_load_correlation", str(exc))], step=STEP) from None
    pv_rel, pv_levels = relative_quantiles(pv.quantiles)
    load_rel, load_levels = relative_quantiles(load.quantiles)
    pv_factor = np.clip(quantile_function(pv_rel, pv_levels, u[0]), 0.0, None)  # draws × steps [-]
    load_factor = np.clip(quantile_function(load_rel, load_levels, u[1]), 0.0, None)

    capacity = {a.id: (a.meta or {}).get("capacity_mw") for a in case.assets if a.type == "pv"}
    pv_draws = {}
    for aid, base in pv_assets.items():
        values = pv_factor * base
        cap = capacity.get(aid)
        pv_draws[aid] = np.minimum(values, cap) if isinstance(cap, int | float) else values
    load_draws = {aid: load_factor * base for aid, base in load_assets.items()}
    pv_total = sum(pv_draws.values(), np.zeros((settings.draws, case.steps)))
    load_total = sum(load_draws.values(), np.zeros((settings.draws, case.steps)))

    red = reduce_scenarios(np.hstack([pv_total, load_total]), settings.count, seed=settings.seed)
    net_mwh = (load_total - pv_total)[red.kept].sum(axis=1) * case.dt_hours
    order = np.argsort(net_mwh, kind="stable")  # s01 has the least net load, sK the most
    width = max(2, len(str(settings.count)))
    scenarios = []
    for rank, j in enumerate(order):
        i = red.kept[j]
        series = {f"{aid}.available_mw": _rounded(v[i]) for aid, v in pv_draws.items()}
        series |= {f"{aid}.demand_mw": _rounded(v[i]) for aid, v in load_draws.items()}
        scenarios.append({"id": f"s{rank + 1:0{width}d}", "probability": float(red.probabilities[j]), "series": series})

    data = json.loads(case.to_json())
    data["scenarios"] = scenarios
    data["risk"] = ({"cvar_beta": settings.risk_beta, "cvar_weight": settings.risk_weight}
                    if settings.risk_weight > 0 else None)
    meta = dict(data.get("meta") or {})
    meta["scenarios"] = {
        "count": settings.count,
        "drawn": settings.draws,
        "seed": settings.seed,
        "method": (
            "the case's PV and load series times a multiplier per step: the forecast's quantiles over its "
            "median, at probability levels drawn from a Gaussian copula (vector AR(1): forecasts.joint)"
        ),
        "step_to_step_correlation": {"pv": pv.rho, "load": load.rho},
        "pv_load_correlation": c,
        "pv_load_correlation_source": PV_LOAD_CORRELATION_SOURCE if c == PV_LOAD_CORRELATION else "given",
        "pv_forecast": pv.source,
        "load_forecast": load.source,
        "reduction": {
            "method": red.method,
            "reference": "Dupačová, Gröwe-Kuska & Römisch, Math. Program. 95 (2003); Schubert & Rousseeuw, "
                         "Information Systems 101 (2021)",
            "distance": "Euclidean over the steps of the district PV and load totals, joined [MW]",
            "kantorovich_distance_mw": red.distance,
        },
        "unchanged": "demand-response baselines (settled from metered history, known before the day), "
                     "green contracts' profiles, thermal demand",
    }
    data["meta"] = meta
    return load_case(data)


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]


def template_day(case: Case) -> tuple[Any, date]:
    """The template and day a materialised case came from (its ``meta``), for its forecasts."""
    from vpp.cases import TEMPLATES, parse_date

    meta = case.meta or {}
    name, day = meta.get("template"), meta.get("date")
    if name not in TEMPLATES or not isinstance(day, str):
        raise CaseError(
            [Problem("case", "scenarios from the forecasts need a built-in case (e.g. teda-east) or a case file "
                             "materialised from one (its meta names the template and date); write the scenarios "
                             "into the case file otherwise")],
            step=STEP,
        )
    return TEMPLATES[name], parse_date(day)


def add_scenarios(
    case: Case,
    settings: ScenarioSettings,
    *,
    weather: pd.DataFrame | None = None,
    load_history: pd.Series | None = None,
) -> Case:
    """``case`` (materialised from a template) with K scenarios from the template's own forecasts.

    ``weather`` and ``load_history`` are the inputs the case was materialised
    with, if any (:func:`vpp.cases.resolve_case`): the forecasts are made from them again.
    """
    from vpp.cases.forecasting import forecast_load, forecast_pv

    template, day = template_day(case)
    site = template.site()
    pv = forecast_pv(site, day, weather=weather, step_minutes=case.step_minutes)
    load = forecast_load(site, day, load_history=load_history, step_minutes=case.step_minutes)
    return scenarios_from_forecasts(case, pv, load, settings)


# ---------------------------------------------------------------------------
# What the uncertainty is worth
# ---------------------------------------------------------------------------


def mean_value_case(case: Case) -> Case:
    """The expected-value day: ``case`` without scenarios, each scenario series at its probability-weighted mean."""
    from models.scenarios import scenario_cases

    if not case.scenarios:
        raise CaseError([Problem("scenarios", "expected a stochastic case (with scenarios)")], step="the mean day")
    data = json.loads(case.to_json())
    p = np.array([prob for _, prob, _ in scenario_cases(case)])
    for key, values in scenario_series_by_key(case).items():
        owner, field = key.rsplit(".", 1)
        mean = p @ values
        target = data["grid"] if owner == "grid" else next(
            e for e in [*data["assets"], *data.get("demand_response", [])] if e["id"] == owner)
        target[field] = [float(v) for v in mean]
    data["scenarios"] = None
    data["risk"] = None
    data["name"] = f"{case.name} (expected value)"
    return load_case(data)


def scenario_series_by_key(case: Case) -> dict[str, np.ndarray]:
    """Every series some scenario of ``case`` overrides, by key: one row per scenario (the case's own
    series where that scenario leaves it), one column per step [unit of the series]."""
    from models.scenarios import scenario_cases

    def element(sc: Case, owner: str) -> Any:
        if owner == "grid":
            return sc.grid
        return next(e for e in [*sc.assets, *sc.demand_response] if e.id == owner)

    out = {}
    for key in sorted({k for sc in case.scenarios or [] for k in sc.series}):
        owner, field = key.rsplit(".", 1)
        out[key] = np.array([np.broadcast_to(sc.series(getattr(element(sc, owner), field)), (case.steps,))
                             for _, _, sc in scenario_cases(case)], dtype=float)
    return out


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> np.ndarray:
    """The q-quantile of each column of ``values`` (scenarios × steps) under ``weights`` [unit of the values].

    The smallest value whose cumulative weight reaches q.
    """
    order = np.argsort(values, axis=0, kind="stable")
    sorted_values = np.take_along_axis(values, order, axis=0)
    cum = np.cumsum(weights[order], axis=0)
    idx = (cum < q - 1e-12).sum(axis=0)
    return sorted_values[np.minimum(idx, len(weights) - 1), np.arange(values.shape[1])]


def scenario_series(result: DispatchResult) -> dict[str, Any]:
    """Per scenario: PV available, load [MW], net import under the plan [MW]; the forecast; probabilities.

    ``result`` is a stochastic day solved (its schedule has a ``scenario`` column).
    """
    from models.scenarios import scenario_cases

    case = result.case
    cases = scenario_cases(case)
    ids = [sid for sid, _, _ in cases]

    def total(c: Any, kind: str, field: str) -> np.ndarray:
        return sum((c.series(getattr(a, field)) for a in c.assets if a.type == kind), np.zeros(c.steps))

    table = result.schedule
    grid = table[(table["asset"] == "grid") & (table["quantity"] == "net_import_mw")]
    net = np.array([grid[grid["scenario"] == sid].sort_values("step")["value"].to_numpy() for sid in ids])
    return {
        "ids": ids,
        "probability": np.array([p for _, p, _ in cases]),
        "pv_mw": np.array([total(c, "pv", "available_mw") for _, _, c in cases]),
        "load_mw": np.array([total(c, "load", "demand_mw") for _, _, c in cases]),
        "net_import_mw": net,
        "forecast_pv_mw": total(case, "pv", "available_mw"),
        "forecast_load_mw": total(case, "load", "demand_mw"),
    }


def scenario_fan(result: DispatchResult) -> dict[str, Any]:
    """The fan of a stochastic day for a page or a reader [MW]: the net import of every scenario under the plan,
    its mean and 10–90 % band, and the 10/50/90 % of PV available and load with the forecast."""
    s = scenario_series(result)
    p = s["probability"]

    def band(values: np.ndarray) -> dict[str, list[float]]:
        return {f"p{int(q * 100)}": _rounded(weighted_quantile(values, p, q)) for q in (0.1, 0.5, 0.9)} | {
            "mean": _rounded(p @ values)}

    return {
        "timestamps": [t.isoformat() for t in result.case.timestamps],
        "net_import_mw": band(s["net_import_mw"]) | {
            "by_scenario": {i: _rounded(v) for i, v in zip(s["ids"], s["net_import_mw"], strict=True)}},
        "pv_available_mw": band(s["pv_mw"]) | {"forecast": _rounded(s["forecast_pv_mw"])},
        "load_mw": band(s["load_mw"]) | {"forecast": _rounded(s["forecast_load_mw"])},
    }


def value_at_risk(costs: np.ndarray, probabilities: np.ndarray, beta: float) -> tuple[float, float]:
    """VaR_β and CVaR_β of a discrete cost distribution [CNY] (Rockafellar & Uryasev 2000).

    CVaR_β = min_η η + Σ p·max(0, c − η)/(1 − β); the minimum is at a cost (the
    function is piecewise linear in η with its breaks there), the smallest such
    η is VaR_β.
    """
    c, p = np.asarray(costs, dtype=float), np.asarray(probabilities, dtype=float)
    values = np.array([eta + np.sum(p * np.maximum(0.0, c - eta)) / (1 - beta) for eta in c])
    best = values.min()
    var = float(np.min(c[values <= best + 1e-9 * max(1.0, abs(best))]))
    return var, float(best)


def _scenario_costs(result: DispatchResult) -> dict[str, float]:
    return {s["id"]: float(s["cost_cny"]) for s in result.summary.get("scenarios") or []}


def first_stage_digest(summary: dict[str, Any]) -> dict[str, Any]:
    """The day-ahead decisions of a solve as an operator reads them: events joined, contracts taken, starts."""
    return {
        "demand_response_joined": {e["id"]: bool(e["joined"]) for e in summary.get("demand_response") or []},
        "green_contracts_taken": {g["id"]: bool(g["taken"]) for g in summary.get("green_contracts") or []},
        "shiftable_starts": {s["id"]: s["start"] for s in summary.get("shiftable_loads") or []},
    }


AUXILIARY_MIP_GAP = 1e-6
"""The MIP gap of the solves that value the uncertainty (the mean day, its plan on the scenarios,
wait-and-see) unless the stochastic solve's own gap is tighter [-]. VSS and EVPI are differences of a
few 1e-4 of the day's cost (the TEDA east day with 20 scenarios: EVPI ≈ 2,500 of 6.1 M CNY); solved
to the stochastic solve's 1e-3, each scenario alone may stop 6,000 CNY above its optimum, and the
wait-and-see cost came out above the stochastic plan's (an EVPI of −2,430 CNY, which cannot be)."""

SETTLED = 0.1
"""A value is settled when the range its solves' bounds leave it is at most this share of it [-]
(or within 1e-6 of the day's cost)."""


def auxiliary_options(options: SolveOptions) -> SolveOptions:
    """``options`` with the gap of :data:`AUXILIARY_MIP_GAP` (or its own, if tighter)."""
    return replace(options, mip_gap=min(options.mip_gap, AUXILIARY_MIP_GAP))


@dataclass
class _Solved:
    """What the analysis keeps of one solve (or of a plan evaluated scenario by scenario): its objective
    and a lower bound of the optimum it stands for [CNY], gap, each scenario's cost [CNY], the plan."""

    objective_cny: float
    bound_cny: float
    mip_gap: float | None
    scenario_costs: dict[str, float]
    first_stage: dict[str, np.ndarray]
    digest: dict[str, Any]


def _bound_of(summary: dict[str, Any], objective: float) -> float:
    bound = summary.get("best_bound_cny")
    return float(bound) if bound is not None else -math.inf if summary.get("status") != "optimal" else objective


def _solve(case: Case, options: SolveOptions, exclusivity: Exclusivity, engine: Engine,
           fixed: dict[str, np.ndarray] | None = None) -> _Solved:
    from vpp.dispatch import solve_case

    r = solve_case(case, options, exclusivity, engine, fixed=fixed)
    return _Solved(r.objective_cny, _bound_of(r.summary, r.objective_cny), r.summary.get("mip_gap"),
                   _scenario_costs(r), r.first_stage, first_stage_digest(r.summary))


def _evaluate(case: Case, plan: dict[str, np.ndarray], options: SolveOptions, exclusivity: Exclusivity,
              engine: Engine, workers: int | None) -> _Solved | None:
    """``plan`` held in every scenario of ``case``: each scenario solved apart where the scenarios share
    no row, the whole case otherwise; None where some scenario cannot follow the plan."""
    from vpp.decomposition import Pool, evaluate_plan

    if case.green_share_min is not None or case.emissions_max_t is not None:
        try:
            return _solve(case, options, exclusivity, engine, fixed=plan)
        except InfeasibleError:
            return None
    with Pool(workers) as pool:
        value = evaluate_plan(case, plan, options, pool)
    if not math.isfinite(value.objective_cny):
        return None
    return _Solved(value.objective_cny, value.objective_bound_cny, value.mip_gap, value.cost_cny, plan, {})


@dataclass
class WaitAndSee:
    """Wait-and-see: each scenario's cost under its own plan [CNY] (a schedule found), a lower bound of
    the probability-weighted total [CNY], each scenario's own lower bound where the scenarios are solved
    apart, the largest gap, and whether rows holding in expectation kept the scenarios in one model."""

    cost_cny: dict[str, float]
    bound_cny: float
    scenario_bound_cny: dict[str, float] | None = None
    mip_gap: float | None = None
    coupled: bool = False


def wait_and_see(case: Case, options: SolveOptions, workers: int | None = None,
                 known: dict[str, Any] | None = None) -> WaitAndSee:
    """Each scenario of ``case`` solved on its own, with its own first stage (perfect information).

    ``known``: scenario solves made already (:class:`vpp.decomposition.Sub` by id, a decomposition's
    wait-and-see step); those within ``options.mip_gap`` are kept, the others solved again to it.
    """
    from models.scenarios import scenario_cases
    from vpp.decomposition import Pool, solve_scenario

    if case.green_share_min is not None or case.emissions_max_t is not None:
        return _coupled_wait_and_see(case, options)
    known = known or {}

    def tight(sub: Any) -> bool:
        return math.isfinite(sub.bound_cny) and \
            sub.cost_cny - sub.bound_cny <= options.mip_gap * max(1.0, abs(sub.cost_cny)) + 1e-9

    subs = {sid: known[sid] for sid in known if tight(known[sid])}
    todo = [(sid, sc.model_copy(update={"scenarios": None, "risk": None}))
            for sid, _, sc in scenario_cases(case) if sid not in subs]
    with Pool(workers) as pool:
        solved = pool.map(solve_scenario, [(sc, options) for _, sc in todo])
    subs |= {sid: s for (sid, _), s in zip(todo, solved, strict=True)}
    p = {sc.id: sc.probability for sc in case.scenarios or []}
    gaps = [s.mip_gap for s in subs.values() if s.mip_gap is not None]
    return WaitAndSee({sid: float(s.cost_cny) for sid, s in subs.items()},
                      float(sum(p[sid] * s.bound_cny for sid, s in subs.items())),
                      {sid: float(s.bound_cny) for sid, s in subs.items()}, max(gaps) if gaps else None)


def _coupled_wait_and_see(case: Case, options: SolveOptions) -> WaitAndSee:
    """Wait-and-see where rows hold in expectation over the scenarios (§6: the green share, the
    emissions cap): one model in which each scenario takes its own first-stage decisions while
    those rows still add up over the scenarios, so that the bound is never above the stochastic plan.
    Its cost [CNY] by scenario id (the first-stage terms in each scenario's cost), and its bound."""
    from models import Formulation, build, solve
    from models.solution import extract

    built = build(case.model_copy(update={"risk": None}), Formulation(perfect_information=True))
    report = solve(built, options)  # raises where there is no solution
    sol = extract(built)
    bound = report.best_bound_cny if report.best_bound_cny is not None else -math.inf
    return WaitAndSee({sc.name: float(sum(v for term, v in sc.cost_cny.items() if term != "cvar"))
                       for sc in sol.scopes}, float(bound), None, report.mip_gap, coupled=True)


def value_of_uncertainty(
    case: Case,
    result: DispatchResult,
    options: SolveOptions | None = None,
    exclusivity: Exclusivity = "lazy",
    engine: Engine = "matrix",
    workers: int | None = None,
    perfect: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """VSS, EVPI, each scenario's cost under each plan and the tail of the costs (module docstring).

    ``result`` is the stochastic plan: ``case`` solved (:func:`vpp.dispatch.solve_case` or
    :func:`vpp.decomposition.solve_decomposed`). The mean day, its plan on the scenarios and
    wait-and-see are solved to :func:`auxiliary_options` of ``options``, on ``workers``
    processes; ``perfect``: wait-and-see scenario solves made already (a decomposition's),
    solved again where their gap is wider than that. Every value comes with the range the
    solves' bounds leave it (:func:`_section`).
    """
    from vpp.decomposition import same_plan

    options = options or SolveOptions()
    aux = auxiliary_options(options)
    t0 = time.perf_counter()
    ev = _solve(mean_value_case(case), aux, exclusivity, engine)
    eev: _Solved | None
    if same_plan(ev.first_stage, result.first_stage):  # the stochastic plan is the mean day's: no solve needed
        eev = _Solved(result.objective_cny, _bound_of(result.summary, result.objective_cny),
                      result.summary.get("mip_gap"), _scenario_costs(result), result.first_stage,
                      first_stage_digest(result.summary))
    else:
        eev = _evaluate(case, ev.first_stage, aux, exclusivity, engine, workers)
    ws = wait_and_see(case, aux, workers, known=perfect)
    section = _section(case, result, ev, eev, ws, options, aux)
    section["fan"] = scenario_fan(result)
    section["seconds"] = time.perf_counter() - t0
    return section


def settled(value: float | None, low: float | None, high: float | None, scale: float) -> bool:
    """Whether ``value`` is known to within :data:`SETTLED` of itself from its range [low, high] [CNY]."""
    if value is None or low is None or high is None:
        return False
    return high - low <= max(SETTLED * abs(value), 1e-6 * max(abs(scale), 1.0))


def _section(case: Case, result: DispatchResult, ev: _Solved, eev: _Solved | None, ws: WaitAndSee,
             options: SolveOptions, aux: SolveOptions) -> dict[str, Any]:
    """The ``uncertainty`` section: each value, the range its solves' bounds leave it, and whether it is settled.

    RP lies in [its bound, its objective]; wait-and-see WS in [its bound, the scenarios' costs],
    each scenario's cost no above the stochastic plan's in that scenario (the plan's schedule there is
    one the scenario alone could follow); the expected-value plan's value EEV in [its bound, its
    objective], and never below RP's bound. Without a risk term RP ≥ WS, so RP's bound is at least
    WS's. VSS = EEV − RP is then in [EEV's bound − min(RP, EEV), EEV − RP's bound] and EVPI in
    [RP's bound − WS, E[cost of the plan] − WS's bound], both at least 0.
    """
    assert case.scenarios
    ids = [sc.id for sc in case.scenarios]
    p = np.array([sc.probability for sc in case.scenarios])
    rp_costs = _scenario_costs(result)
    stochastic = np.array([rp_costs[i] for i in ids])
    ev_plan = np.array([eev.scenario_costs[i] for i in ids]) if eev is not None else np.full(len(ids), np.nan)
    rp = result.objective_cny
    expected = float(p @ stochastic)
    risk = case.risk
    neutral = risk is None or risk.cvar_weight == 0
    beta = risk.cvar_beta if risk is not None else 0.9
    var, cvar = value_at_risk(stochastic, p, beta)
    ev_var, ev_cvar = value_at_risk(ev_plan, p, beta) if eev is not None else (None, None)

    own = np.array([ws.cost_cny[i] for i in ids])
    if ws.coupled:  # the stochastic plan is one the coupled wait-and-see model could choose, as a whole
        perfect, ws_value = own, min(float(p @ own), expected)
    else:
        perfect = np.minimum(own, stochastic)
        ws_value = float(p @ perfect)
    ws_low = min(ws.bound_cny, ws_value)
    rp_low = min(_bound_of(result.summary, rp), rp)
    if neutral:
        rp_low = max(rp_low, ws_low)
    evpi = expected - ws_value
    evpi_range = (max(0.0, (rp_low if neutral else expected) - ws_value), expected - ws_low)

    notes = []
    vss = vss_range = eev_value = eev_low = None
    if eev is not None:
        eev_value = eev.objective_cny
        eev_low = max(min(eev.bound_cny, eev_value), rp_low)
        best = min(rp, eev_value)  # the expected-value plan is one the stochastic solve could have chosen
        vss = eev_value - best
        vss_range = (max(0.0, eev_low - best), eev_value - rp_low)
        if eev_value < rp:
            notes.append(f"the expected-value plan costs {rp - eev_value:,.0f} CNY less on the scenarios than the "
                         "stochastic solve's plan, within that solve's gap: VSS is 0 within the gaps")
    ok = {"vss": settled(vss, *(vss_range or (None, None)), rp), "evpi": settled(evpi, *evpi_range, rp)}
    for name, value, (low, high) in (("EVPI", evpi, evpi_range), ("VSS", vss, vss_range or (None, None))):
        if value is not None and not ok[name.lower()] and math.isfinite(high):
            notes.append(f"{name} {value:,.0f} CNY is known only to lie in {low:,.0f} to {high:,.0f} CNY: the "
                         "solves' gaps are not small against it")
    gaps = [g for g in (result.summary.get("mip_gap"), ev.mip_gap, eev.mip_gap if eev else None, ws.mip_gap)
            if g is not None]

    def number(x: float) -> float | None:
        return None if eev is None else float(x)

    def pair(low: float | None, high: float | None) -> list[float | None] | None:
        if low is None or high is None:
            return None
        return [float(low) if math.isfinite(low) else None, float(high) if math.isfinite(high) else None]

    return {
        "objective": "expected cost" if neutral else
                     f"expected cost + {risk.cvar_weight:g} × CVaR at {risk.cvar_beta:g} of the scenario costs",
        "stochastic_objective_cny": rp,
        "expected_value_plan_objective_cny": eev_value,
        "vss_cny": vss,
        "vss_range_cny": pair(*(vss_range or (None, None))),
        "expected_value_plan_note": None if eev is not None else
            "the expected-value plan cannot be followed in every scenario (its first stage makes some scenario "
            "infeasible): the stochastic solution is worth more than any finite amount against it",
        "stochastic_expected_cost_cny": expected,
        "expected_value_plan_expected_cost_cny": number(p @ ev_plan),
        "wait_and_see_cost_cny": ws_value,
        "evpi_cny": evpi,
        "evpi_range_cny": pair(*evpi_range),
        "settled": ok,
        "bounds_cny": {
            "stochastic_objective": pair(rp_low, rp),
            "expected_value_plan_objective": pair(eev_low, eev_value),
            "wait_and_see": pair(ws_low, ws_value),
        },
        "mean_day_cost_cny": ev.objective_cny,
        "cost_distribution": {
            "beta": beta,
            "stochastic_plan": {"var_cny": var, "cvar_cny": cvar, "min_cny": float(stochastic.min()),
                                "max_cny": float(stochastic.max()),
                                "std_cny": float(np.sqrt(p @ (stochastic - expected) ** 2))},
            "expected_value_plan": {"var_cny": ev_var, "cvar_cny": ev_cvar, "min_cny": number(ev_plan.min()),
                                    "max_cny": number(ev_plan.max())},
        },
        "scenarios": [
            {"id": i, "probability": float(pi), "stochastic_plan_cny": float(a), "expected_value_plan_cny": number(b),
             "wait_and_see_cny": float(c)}
            for i, pi, a, b, c in zip(ids, p, stochastic, ev_plan, perfect, strict=True)
        ],
        "first_stage": {
            "stochastic_plan": first_stage_digest(result.summary),
            "expected_value_plan": ev.digest,
        },
        "mip_gap_target": options.mip_gap,
        "mip_gap_auxiliary": aux.mip_gap,
        "mip_gap_max": max(gaps) if gaps else None,
        "note": "VSS and EVPI are differences of solves, each within its MIP gap; the mean day, its plan on the "
                "scenarios and wait-and-see are solved to the auxiliary gap, and each value comes with the range "
                "the solves' bounds leave it" + ("; " + "; ".join(notes) if notes else ""),
    }


def stochastic_day(
    spec: Any,
    day: date | None,
    settings: ScenarioSettings,
    options: SolveOptions | None = None,
    exclusivity: Exclusivity = "lazy",
    engine: Engine = "matrix",
    *,
    weather: pd.DataFrame | None = None,
    load_history: pd.Series | None = None,
    value: bool = True,
    method: str = "auto",
    workers: int | None = None,
) -> DispatchResult:
    """``vpp dispatch --scenarios K``: the day's case with K scenarios from its forecasts, solved (§6).

    ``method``: see :func:`solve_stochastic`. With ``value``, the summary gets the
    ``uncertainty`` section of :func:`value_of_uncertainty`.
    """
    from vpp.dispatch import resolve_case

    problems = settings.problems()
    if problems:
        raise CaseError(problems, step=STEP)
    base = resolve_case(spec, day, weather=weather, load_history=load_history)
    case = add_scenarios(base, settings, weather=weather, load_history=load_history)
    result, perfect = solve_stochastic(case, options, exclusivity, engine, method=method, workers=workers)
    if value:
        result.summary["uncertainty"] = value_of_uncertainty(case, result, options, exclusivity, engine, workers,
                                                             perfect=perfect)
    return result


METHODS = ("auto", "extensive", "decomposition")


def solve_stochastic(
    case: Case,
    options: SolveOptions | None = None,
    exclusivity: Exclusivity = "lazy",
    engine: Engine = "matrix",
    *,
    method: str = "auto",
    workers: int | None = None,
) -> tuple[DispatchResult, dict[str, Any] | None]:
    """Solve a stochastic case; the result and, from a decomposition, its wait-and-see scenario solves
    (:class:`vpp.decomposition.Sub` by scenario id; None from the extensive form).

    ``method``: ``extensive`` (every scenario in one model), ``decomposition``
    (:mod:`vpp.decomposition`; an error where it does not apply) or ``auto``
    (the decomposition where it applies and there are several scenarios, the extensive form otherwise).
    """
    from vpp.decomposition import decomposable, solve_decomposed
    from vpp.dispatch import solve_case

    if method not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    reason = decomposable(case)
    if method == "decomposition" and reason is not None:
        raise CaseError([Problem("method", f"scenario decomposition does not apply: {reason}")], step="solving")
    if method == "extensive" or reason is not None or len(case.scenarios or []) < 2:
        result = solve_case(case, options, exclusivity, engine)
        why = "asked for" if method == "extensive" else reason or "one scenario"
        result.summary["solved_by"] = f"the extensive form (every scenario in one model): {why}"
        return result, None
    result, info = solve_decomposed(case, options, exclusivity, engine, workers=workers)
    return result, info.wait_and_see or None
