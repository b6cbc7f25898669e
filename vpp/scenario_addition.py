"""A stochastic day with continuous first-stage decisions solved by adding scenarios to a small extensive form.

The declared plan D[t] and the regulation offers r[b,t] of model.md §6 are continuous
first-stage decisions. Progressive hedging settles them slowly (its proximal term has to
be linear in HiGHS, which has no mixed-integer quadratic solver, and an L1 term stalls at
whatever consensus it reaches), and the L-shaped method needs hundreds of cuts for the
96 offers of a TEDA east day. But the linear relaxation of a scenario with its first
stage held is nearly exact (the TEDA east day: within 1e-6 of its mixed-integer optimum),
and the plan that is best for the scenarios that matter is good for the others. So
(:func:`solve_by_addition`):

1. **Lower bound.** Each scenario's linear relaxation alone, its first stage free
   (:class:`models.relaxation.TiedRelaxation`, one HiGHS instance per scenario, kept
   warm): their
   probability-weighted sum is a lower bound of the stochastic optimum (wait-and-see,
   relaxed).
2. **A small extensive form.** A few scenarios S (k-medoids of the scenarios' series,
   :func:`forecasts.reduction.reduce_scenarios`), each weighted by the probability of the
   scenarios nearest to it, in one model; its linear relaxation gives a first stage, made
   a plan by :func:`vpp.decomposition.consensus` (the nearest plan in L1 whose binaries are
   binary and whose rows among first-stage decisions hold).
3. **Every scenario under that plan**, each relaxation with the plan held (an elastic tie:
   a plan some scenario cannot follow costs M per unit it cannot follow): the plan's
   expected value, and each scenario's regret, its value under the plan less its value
   alone. While the plan's value is further from the lower bound than the gap asked for,
   the scenarios with the largest probability-weighted regret join S and step 2 runs
   again (until a round gains little: :data:`ROOM`, :data:`STALL`); when S holds every
   scenario, the small extensive form is the whole one and its relaxation a lower bound too.
4. **Exactly.** The best plan is held in every scenario, each solved as the
   mixed-integer day it is (on Dask workers, :class:`vpp.decomposition.Pool`): its
   expected cost is the upper bound, and the schedules are put together into the
   stochastic result (:func:`vpp.decomposition.finish`). Where the gap is still open,
   more scenarios are added (steps 2–4 again); when none is left to add, the small
   extensive form is the whole one, and it is solved as the mixed-integer program it is
   (a day of a few scenarios whose integers the relaxation misreads ends there).

Both bounds are valid whatever the first stage: every lower bound is a relaxation of the
stochastic day (each scenario free to choose its own first stage, or the integers
relaxed), and the upper bound is the expected cost of a plan every scenario follows.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from models import Engine, Exclusivity, SolveOptions
from models.relaxation import TiedRelaxation
from vpp.case import Case
from vpp.decomposition import (
    SUB_GAP_SHARE,
    Decomposition,
    Layout,
    Plan,
    Pool,
    Runner,
    consensus,
    finish,
    same_plan,
)
from vpp.errors import SolverError

if TYPE_CHECKING:
    from vpp.results import DispatchResult

FIRST_KEPT = 5
"""Scenarios in the first small extensive form [-]."""

ADDED = 3
"""Scenarios added to it each round [-]."""

ROOM = 0.9
"""Scenarios are added until the plan's relaxed value is within this share of the gap of the lower bound
[-]: the rest is left for the scenarios' integers, which the relaxation does not see."""

STALL = 0.1
"""… or until a round gains less than this share of the gap [-]: the scenarios added no longer matter,
and the gap left is the lower bound's."""


def _features(case: Case) -> np.ndarray:
    """Each scenario's series (every key some scenario overrides; the case's where it does not), each key
    divided by its largest magnitude, joined: what k-medoids measures the scenarios by [-]."""
    from vpp.uncertainty import scenario_series_by_key

    columns = []
    for values in scenario_series_by_key(case).values():
        scale = float(np.max(np.abs(values)))
        columns.append(values / scale if scale > 0 else values)
    return np.hstack(columns) if columns else np.zeros((len(case.scenarios or []), 1))


def reduced_case(case: Case, kept: list[int], features: np.ndarray) -> Case:
    """``case`` with the scenarios ``kept`` (indices), each with the probability of the scenarios nearest to it."""
    scenarios = case.scenarios or []
    d = np.linalg.norm(features[:, None, :] - features[None, kept, :], axis=2)
    nearest = np.argmin(d, axis=1)
    nearest[kept] = np.arange(len(kept))
    prob = np.array([sc.probability for sc in scenarios])
    weights = np.bincount(nearest, weights=prob, minlength=len(kept))
    return case.model_copy(update={"scenarios": [scenarios[i].model_copy(update={"probability": float(w)})
                                                 for i, w in zip(kept, weights, strict=True)]})


def relaxed_plan(case: Case, lay: Layout, options: SolveOptions) -> tuple[Plan, float]:
    """The first stage of ``case``'s linear relaxation (every scenario in one model), made a plan, and the
    relaxation's optimum [CNY]."""
    from models import Formulation, build, first_stage_values
    from models.solve import run_highs

    built = build(case, Formulation(binaries=frozenset()))
    arrays = replace(built.arrays, integer=np.zeros_like(built.arrays.integer))
    report, built.x = run_highs(arrays, options)
    relaxed = first_stage_values(built)
    return consensus({n: relaxed[n] for n in lay.families}, lay), report.objective_cny


def solve_by_addition(case: Case, options: SolveOptions, exclusivity: Exclusivity = "lazy", engine: Engine = "matrix",
                      *, workers: int | None = None, max_rounds: int = 30,
                      lay: Layout | None = None) -> tuple[DispatchResult, Decomposition]:
    """Solve the stochastic ``case`` by adding scenarios to a small extensive form (module docstring)."""
    from forecasts.reduction import reduce_scenarios
    from models.scenarios import scenario_cases
    from vpp.decomposition import layout
    from vpp.dispatch import solve_case

    start = time.perf_counter()
    lay = lay or layout(case)
    names = list(lay.families)
    scen = [(sid, p, sc.model_copy(update={"scenarios": None, "risk": None})) for sid, p, sc in scenario_cases(case)]
    ids = [s[0] for s in scen]
    prob = np.array([s[1] for s in scen])
    seconds = {"workers_up": 0.0, "relaxations": 0.0, "reduced_forms": 0.0, "evaluation": 0.0}

    def target_met(upper: float, lower: float) -> bool:
        return (upper - lower) <= options.mip_gap * max(abs(upper), 1.0)

    t = time.perf_counter()
    cpu0 = time.process_time()
    lps = [TiedRelaxation(sc, names) for _, _, sc in scen]
    alone = np.array([lp.alone() for lp in lps])
    lower = float(prob @ alone)
    seconds["relaxations"] += time.perf_counter() - t
    features = _features(case)
    k = len(scen)
    kept = sorted(int(i) for i in reduce_scenarios(features, min(FIRST_KEPT, k)).kept) if k > FIRST_KEPT \
        else list(range(k))
    deadline = start + options.time_limit_s
    lp_options = SolveOptions(time_limit_s=options.time_limit_s, threads=1)
    sub = SolveOptions(mip_gap=options.mip_gap * SUB_GAP_SHARE, threads=1, time_limit_s=options.time_limit_s)
    history: list[dict[str, Any]] = []
    best: tuple[float, Plan] = (math.inf, {})
    tried: set[tuple] = set()
    upper, plan, subs, whole = math.inf, {}, [], None
    rounds, relax_cpu = 0, time.process_time() - cpu0
    t = time.perf_counter()
    with Pool(workers) as pool:
        run = Runner(pool)
        seconds["workers_up"] = time.perf_counter() - t
        deadline += seconds["workers_up"]
        while rounds < max_rounds:
            # steps 2–3: add scenarios until the relaxed value of the plan is within half the gap
            cpu0 = time.process_time()
            while rounds < max_rounds:
                rounds += 1
                t = time.perf_counter()
                candidate, relaxation = relaxed_plan(reduced_case(case, kept, features), lay, lp_options)
                seconds["reduced_forms"] += time.perf_counter() - t
                if len(kept) == k:
                    lower = max(lower, relaxation)  # the whole extensive form, relaxed
                t = time.perf_counter()
                x = np.concatenate([candidate[n] for n in names])
                under = np.array([lp.under(x) for lp in lps])
                seconds["relaxations"] += time.perf_counter() - t
                value = float(prob @ under)
                key = tuple(np.round(x, 6).tolist())
                gain = best[0] - value  # what this round's scenarios bought [CNY]
                if value < best[0]:
                    best = (value, candidate)
                history.append({"round": rounds, "scenarios_kept": len(kept), "relaxed_value_cny": value,
                                "lower_bound_cny": lower})
                order = [int(i) for i in np.argsort(-(prob * (under - alone)), kind="stable") if int(i) not in kept]
                fresh = key not in tried
                tried.add(key)
                scale = options.mip_gap * max(abs(best[0]), 1.0)
                if best[0] - lower <= ROOM * scale or gain < STALL * scale or not order or not fresh \
                        or time.perf_counter() > deadline:
                    break
                kept = sorted(kept + order[:ADDED])
            relax_cpu += time.process_time() - cpu0
            # step 4: the best plan exactly
            if not same_plan(best[1], plan) or not plan:
                plan = best[1]
                t = time.perf_counter()
                subs = run([(sc, sub, plan, None, 0.0, True) for _, _, sc in scen])
                seconds["evaluation"] += time.perf_counter() - t
                upper = float(prob @ [s.cost_cny for s in subs])
                history.append({"round": rounds, "scenarios_kept": len(kept), "upper_bound_cny": upper,
                                "lower_bound_cny": lower})
            if target_met(upper, lower) or time.perf_counter() > deadline:
                break
            if order:  # more scenarios to add: another round
                kept = sorted(kept + order[:ADDED])
                continue
            # every scenario is in the small extensive form: it is the whole one, solved as the MIP it is
            t = time.perf_counter()
            left = max(deadline - time.perf_counter(), options.time_limit_s / 10)
            try:
                whole = solve_case(case, replace(options, time_limit_s=left), exclusivity, engine)
            except SolverError:
                whole = None
            seconds["extensive_form"] = time.perf_counter() - t
            if whole is not None:
                bound = whole.summary.get("best_bound_cny")
                lower = max(lower, bound if bound is not None else -math.inf)
                if whole.objective_cny < upper:
                    upper, plan = whole.objective_cny, whole.first_stage
            history.append({"round": rounds, "scenarios_kept": len(kept), "upper_bound_cny": upper,
                            "lower_bound_cny": lower})
            break
    info = Decomposition("scenario addition: the linear relaxations of the scenarios alone bound the optimum "
                         "from below; small extensive forms, scenarios added by regret, propose the plan; the plan "
                         "held in every scenario gives the upper bound (vpp.scenario_addition)",
                         lower, upper, rounds, len(tried), run.solves, {}, seconds, history,
                         converged=len(kept) == k, cpu_seconds=run.cpu_seconds + relax_cpu,
                         worker_cpu_seconds=run.worker_cpu_seconds)
    if whole is not None and whole.objective_cny <= upper:
        return finish(case, info, plan, {}, options, exclusivity, engine, start, deadline, solved=whole), info
    kept_subs = dict(zip(ids, subs, strict=True)) if math.isfinite(upper) else {}
    return finish(case, info, plan, kept_subs, options, exclusivity, engine, start, deadline), info
