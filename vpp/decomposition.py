"""A stochastic day (model.md §6) solved by scenario decomposition: scenarios apart, in parallel.

The extensive form (every scenario in one model, :func:`vpp.dispatch.solve_case`)
grows with the number of scenarios, and its relaxation inherits every weak spot
of the day K times over: an optional demand-response event joined (a first-stage
binary behind a big-M) is worth almost its whole revenue in the relaxation at no
reduction at all, and with many scenarios HiGHS spends its time on the root
node instead of branching on the one binary that matters. Here the scenarios
are solved apart instead, each a deterministic day of the ordinary size, on
Dask workers (:class:`Pool`):

1. **Wait-and-see.** Every scenario alone with its own first stage. The
   probability-weighted sum of their lower bounds is a lower bound LB of the
   stochastic optimum (the stochastic plan is one choice each scenario could
   have made); their first-stage decisions are the first candidate plans.
2. **Candidates.** The rounded consensus of the wait-and-see plans is held
   in the whole case at once (step 4's solve); when it closes the gap it is the
   result. Other candidate plans are held fixed in every scenario (K solves);
   the expected cost of each is an upper bound UB, the best one so far is kept.
3. **Progressive hedging** (Rockafellar & Wets, Math. Oper. Res. 16, 1991; for
   binary first stages Watson & Woodruff, Comput. Manag. Sci. 8, 2011) while
   UB − LB is above the gap: with x̄ = Σ_s π_s·x_s and multipliers
   W_s ← W_s + ρ·(x_s − x̄), each scenario is solved again with its cost plus
   W_s·x + ρ/2·‖x − x̄‖², which is linear because every first-stage variable
   is binary (x² = x): ρ/2·Σ_i x_i·(1 − 2·x̄_i) + constant. The new plans and
   the rounded consensus are candidates. Σ_s π_s·W_s = 0, so
   Σ_s π_s·min(C_s + W_s·x) is a lower bound too (the Lagrangian bound of
   Gade, Hackebeil, Ryan, Watson, Wets & Woodruff, Math. Program. 157, 2016),
   computed when the loop stops short of the gap.
4. The best plan held fixed in the whole stochastic case (one solve of the
   extensive form with its first stage fixed, which is as easy as its
   scenarios) gives the result: the schedule of every scenario and the summary
   (for the consensus of step 2, the solve made there).
   Steps 1–3 stop at the time limit, counted from when the workers are up; this
   one always has a whole limit of its own.

ρ per first-stage variable is its own objective coefficient where it has one
(the cost-proportional rule of Watson & Woodruff), and at least the gap left
after the wait-and-see step (UB − LB, or the MIP gap times the cost if that is
larger) spread over the first-stage variables: the disagreement to settle is
worth that much.

Applies to risk-neutral days whose first stage is all binary and whose
scenarios share no constraint: no risk term (the CVaR couples the
scenarios), no expected green share or emissions cap, no declared plan or
regulation offers (continuous first-stage decisions). :func:`decomposable`
says why not otherwise; the extensive form solves those.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from models import Engine, Exclusivity, SolveOptions
from vpp.case import Case
from vpp.errors import SolverError

if TYPE_CHECKING:
    from vpp.results import DispatchResult

Plan = dict[str, np.ndarray]
"""First-stage decisions by family name (:func:`models.first_stage_values`)."""


def decomposable(case: Case) -> str | None:
    """None when :func:`solve_decomposed` applies to ``case``; otherwise why not (module docstring)."""
    if not case.scenarios:
        return "the case has no scenarios"
    if case.risk is not None and case.risk.cvar_weight > 0:
        return "a risk term (CVaR) couples the scenarios"
    if case.green_share_min is not None or case.emissions_max_t is not None:
        return "the green share and the emissions cap hold in expectation over the scenarios, coupling them"
    if case.grid.deviation is not None and case.grid.schedule_mw is None:
        return "the declared plan is a continuous first-stage decision"
    if case.regulation is not None and any(getattr(a, "regulation", False) for a in case.assets):
        return "regulation offers are continuous first-stage decisions"
    return None


class Pool:
    """Where the scenario solves run: here (``workers`` ≤ 1) or on a local Dask cluster of ``workers`` processes.

    Use as a context manager; :meth:`map` is ``[fn(*job) for job in jobs]`` in either case.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers if workers and workers > 1 else 1
        self._cluster: Any = None
        self._client: Any = None

    def __enter__(self) -> Pool:
        if self.workers > 1:
            from dask.distributed import Client, LocalCluster

            self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                         dashboard_address=":0", silence_logs=50)
            self._client = Client(self._cluster)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
            self._cluster.close()

    def map(self, fn: Any, jobs: list[tuple[Any, ...]]) -> list[Any]:
        if self._client is None or len(jobs) <= 1:
            return [fn(*job) for job in jobs]
        return self._client.gather([self._client.submit(fn, *job, pure=False) for job in jobs])


@dataclass
class Sub:
    """One scenario solved alone: its cost [CNY] without any penalty, a lower bound of what it minimised
    [CNY] (penalties included), its first-stage decisions, status, gap and seconds."""

    cost_cny: float
    bound_cny: float
    plan: Plan
    status: str
    mip_gap: float | None
    seconds: float


def solve_scenario(case: Case, options: SolveOptions, fixed: Plan | None = None,
                   linear: Plan | None = None, constant: float = 0.0) -> Sub:
    """One deterministic day, with ``fixed`` first-stage decisions held or ``linear`` costs added to them.

    ``linear``: CNY per unit of each first-stage column, by family name; ``constant``
    is added to the bound so that it bounds the penalised objective. Exclusivity
    binaries are added where a solution needs them, as :func:`models.optimize` does.
    """
    from models import Formulation, build, first_stage_values, solve
    from models.optimize import with_needed_binaries

    t0 = time.perf_counter()
    formulation = Formulation(binaries=frozenset())
    while True:
        built = build(case, formulation, fixed)
        penalty = np.zeros_like(built.arrays.cost)
        if linear:
            families = {f.full_name(): f for f in built.program.families if f.first_stage}
            for name, coef in linear.items():
                f = families[name]
                penalty[f.start : f.start + f.n] = coef
            built.arrays.cost = built.arrays.cost + penalty
        left = max(options.time_limit_s - (time.perf_counter() - t0), 1e-3)
        try:
            report = solve(built, SolveOptions(mip_gap=options.mip_gap, time_limit_s=left, threads=options.threads,
                                               log=options.log))
        except SolverError as exc:  # InfeasibleError too: a plan no schedule of this scenario can follow
            return Sub(math.inf, -math.inf if fixed is None else math.inf, dict(fixed or {}), str(exc.status),
                       None, time.perf_counter() - t0)
        wider = with_needed_binaries(formulation, [built])
        if wider is None:
            break
        formulation = wider
    assert built.x is not None
    cost = report.objective_cny - float(penalty @ built.x)
    bound = report.best_bound_cny if report.best_bound_cny is not None else report.objective_cny
    return Sub(cost, bound + constant, first_stage_values(built), str(report.status), report.mip_gap,
               time.perf_counter() - t0)


def _key(plan: Plan) -> tuple:
    return tuple((name, tuple(int(round(v)) for v in plan[name])) for name in sorted(plan))


def same_plan(a: Plan, b: Plan) -> bool:
    """Whether every first-stage decision of ``a`` is made the same in ``b`` (to 1e-6; ``b`` may hold more,
    such as the CVaR threshold a stochastic solve also chooses)."""
    return all(n in b and np.allclose(a[n], b[n], atol=1e-6) for n in a)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _by_mass(prob: np.ndarray, plans: list[Plan]) -> list[Plan]:
    """The distinct plans, the one chosen by the most probability first."""
    mass: dict[tuple, float] = {}
    for p_s, plan in zip(prob, plans, strict=True):
        mass[_key(plan)] = mass.get(_key(plan), 0.0) + p_s
    first = {_key(p): p for p in plans}
    return [first[k] for k in sorted(mass, key=lambda k: -mass[k])]


def _rounded(mean: Plan, template: Plan) -> Plan:
    """The consensus x̄ made a plan: a family with one choice among many (a start: Σ x = 1) takes its most
    likely choice, any other binary is 1 when at least half the probability says so."""
    out = {}
    for name, xbar in mean.items():
        if xbar.size > 1 and np.allclose(template[name].sum(), 1.0):
            v = np.zeros_like(xbar)
            v[int(np.argmax(xbar))] = 1.0
        else:
            v = (xbar >= 0.5 - 1e-9).astype(float)
        out[name] = v
    return out


@dataclass
class Decomposition:
    """What the decomposition did: bounds [CNY], the gap, iterations, solves and seconds by phase."""

    lower_bound_cny: float
    upper_bound_cny: float
    iterations: int
    candidates: int
    subproblem_solves: int
    wait_and_see: dict[str, Sub]
    seconds: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    converged: bool = False

    @property
    def gap(self) -> float:
        """(UB − LB)/|UB| [-]; infinite while a scenario has no lower bound (its solve found none in time)."""
        ub, lb = self.upper_bound_cny, self.lower_bound_cny
        return max(0.0, (ub - lb) / max(abs(ub), 1e-9)) if math.isfinite(lb) else math.inf

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": "scenario decomposition: wait-and-see bound, candidate plans evaluated scenario by scenario, "
                      "progressive hedging (vpp.decomposition)",
            "lower_bound_cny": _finite(self.lower_bound_cny), "upper_bound_cny": _finite(self.upper_bound_cny),
            "gap": _finite(self.gap),
            "iterations": self.iterations, "candidates_evaluated": self.candidates,
            "subproblem_solves": self.subproblem_solves, "converged": self.converged,
            "seconds": self.seconds,
            "history": [{k: _finite(v) if isinstance(v, float) else v for k, v in h.items()} for h in self.history],
        }


def solve_decomposed(
    case: Case,
    options: SolveOptions | None = None,
    exclusivity: Exclusivity = "lazy",
    engine: Engine = "matrix",
    *,
    workers: int | None = None,
    max_iterations: int = 30,
) -> tuple[DispatchResult, Decomposition]:
    """Solve the stochastic ``case`` by scenario decomposition (module docstring); the result and how it went.

    The result is the whole case solved with the best plan fixed; its summary's
    ``mip_gap`` and ``best_bound_cny`` are the decomposition's, and it has a
    ``decomposition`` section. ValueError when :func:`decomposable` says no.
    """
    from models.scenarios import scenario_cases
    from vpp.dispatch import solve_case

    reason = decomposable(case)
    if reason is not None:
        raise ValueError(f"scenario decomposition does not apply: {reason}")
    options = options or SolveOptions()
    start = time.perf_counter()
    deadline = start + options.time_limit_s  # from when the workers are up (below)
    scen = [(sid, p, sc.model_copy(update={"scenarios": None, "risk": None})) for sid, p, sc in scenario_cases(case)]
    ids = [s[0] for s in scen]
    prob = np.array([s[1] for s in scen])
    seconds = {"workers_up": 0.0, "wait_and_see": 0.0, "candidates": 0.0, "hedging": 0.0, "bound": 0.0, "final": 0.0}
    solves = 0

    def left() -> SolveOptions:  # what is left of the limit, but a tenth of it at least: a scenario is small
        return SolveOptions(mip_gap=options.mip_gap, threads=1,
                            time_limit_s=max(deadline - time.perf_counter(), options.time_limit_s / 10))

    evaluated: dict[tuple, float] = {}
    with Pool(workers) as pool:
        seconds["workers_up"] = time.perf_counter() - start
        deadline += seconds["workers_up"]
        t0 = time.perf_counter()
        ws = pool.map(solve_scenario, [(sc, left()) for _, _, sc in scen])
        solves += len(ws)
        seconds["wait_and_see"] += time.perf_counter() - t0
        lower = float(prob @ [s.bound_cny for s in ws])
        plans = [s.plan for s in ws]
        names = sorted(plans[0])
        best_plan, upper = plans[0], math.inf

        def evaluate(candidates: list[Plan]) -> None:
            nonlocal best_plan, upper, solves
            t = time.perf_counter()
            fresh = [c for c in {_key(c): c for c in candidates}.values() if _key(c) not in evaluated]
            jobs = [(sc, left(), c) for c in fresh for _, _, sc in scen]
            out = pool.map(solve_scenario, jobs)
            solves += len(out)
            for i, c in enumerate(fresh):
                subs = out[i * len(scen) : (i + 1) * len(scen)]
                value = float(prob @ [s.cost_cny for s in subs])
                evaluated[_key(c)] = value
                if value < upper:
                    best_plan, upper = c, value
            seconds["candidates"] += time.perf_counter() - t

        def by_mass(plans: list[Plan]) -> list[Plan]:
            return _by_mass(prob, plans)

        def write_out(plan: Plan) -> DispatchResult:
            """The whole case with ``plan`` held: the schedules of every scenario, and the plan's value."""
            t = time.perf_counter()
            # a plan chosen only needs writing out, so this solve gets a whole limit of its own when little is
            # left (the extensive form with its first stage fixed is as easy as its scenarios)
            final = SolveOptions(mip_gap=options.mip_gap,
                                 time_limit_s=max(deadline - time.perf_counter(), options.time_limit_s),
                                 threads=options.threads, log=options.log)
            out = solve_case(case, final, exclusivity, engine, fixed=plan)
            seconds["final"] += time.perf_counter() - t
            return out

        xbar = {n: sum(p_s * plan[n] for p_s, plan in zip(prob, plans, strict=True)) for n in names}
        # the consensus first, written out at once: when it closes the gap (the scenarios mostly agree) it is the result
        best_plan = _rounded(xbar, plans[0])
        result = write_out(best_plan)
        upper = evaluated.setdefault(_key(best_plan), result.objective_cny)
        result_plan = best_plan
        if (upper - lower) > options.mip_gap * max(abs(upper), 1.0):
            evaluate(by_mass(plans)[:2])
        history = [{"iteration": 0, "lower_bound_cny": lower, "upper_bound_cny": upper}]
        size = sum(plans[0][n].size for n in names)
        rho_floor = max(options.mip_gap * max(abs(upper), 1.0), upper - lower if math.isfinite(upper) else 0.0) \
            / max(size, 1)
        rho = _rho(scen[0][2], names, rho_floor)
        w = [{n: np.zeros_like(plans[0][n]) for n in names} for _ in scen]
        iteration, converged = 0, len({_key(p) for p in plans}) == 1
        while (upper - lower) > options.mip_gap * max(abs(upper), 1.0) and not converged \
                and iteration < max_iterations and time.perf_counter() < deadline:
            iteration += 1
            t = time.perf_counter()
            for s in range(len(scen)):
                for n in names:
                    w[s][n] = w[s][n] + rho[n] * (plans[s][n] - xbar[n])
            jobs = []
            for s, (_, _, sc) in enumerate(scen):
                linear = {n: w[s][n] + rho[n] / 2 * (1 - 2 * xbar[n]) for n in names}
                const = float(sum(np.sum(rho[n] / 2 * xbar[n] ** 2) for n in names))
                jobs.append((sc, left(), None, linear, const))
            subs = pool.map(solve_scenario, jobs)
            solves += len(subs)
            plans = [s.plan for s in subs]
            xbar = {n: sum(p_s * plan[n] for p_s, plan in zip(prob, plans, strict=True)) for n in names}
            seconds["hedging"] += time.perf_counter() - t
            converged = len({_key(p) for p in plans}) == 1
            evaluate([_rounded(xbar, plans[0]), *by_mass(plans)[:1]])
            history.append({"iteration": iteration, "lower_bound_cny": lower, "upper_bound_cny": upper})
        if (upper - lower) > options.mip_gap * max(abs(upper), 1.0) and iteration > 0 \
                and time.perf_counter() < deadline:
            t = time.perf_counter()
            subs = pool.map(solve_scenario, [(sc, left(), None, w[s]) for s, (_, _, sc) in enumerate(scen)])
            solves += len(subs)
            lower = max(lower, float(prob @ [s.bound_cny for s in subs]))
            history.append({"iteration": iteration, "lower_bound_cny": lower, "upper_bound_cny": upper})
            seconds["bound"] += time.perf_counter() - t
        if _key(best_plan) != _key(result_plan):
            result = write_out(best_plan)
    seconds["total"] = time.perf_counter() - start
    upper = min(upper, result.objective_cny)
    info = Decomposition(lower, upper, iteration, len(evaluated), solves,
                         dict(zip(ids, ws, strict=True)), seconds, history, converged)
    gap = info.gap
    result.summary["mip_gap"] = gap if math.isfinite(gap) else None
    result.summary["best_bound_cny"] = lower if math.isfinite(lower) else None
    result.summary["status"] = "optimal" if gap <= options.mip_gap + 1e-12 else "feasible"
    result.summary["decomposition"] = info.as_dict()
    return result, info


def _rho(case: Case, names: list[str], floor: float) -> dict[str, np.ndarray]:
    """ρ per first-stage column [CNY]: its objective coefficient in one scenario's model, at least ``floor``."""
    from models import Formulation, build

    built = build(case, Formulation(binaries=frozenset()))
    families = {f.full_name(): f for f in built.program.families if f.first_stage}
    return {n: np.maximum(np.abs(built.arrays.cost[families[n].start : families[n].start + families[n].n]), floor)
            for n in names}
