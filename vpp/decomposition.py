"""A stochastic day (model.md §6) solved by scenario decomposition: scenarios apart, in parallel.

The extensive form (every scenario in one model, :func:`vpp.dispatch.solve_case`)
grows with the number of scenarios: K copies of the day, coupled only through
the first-stage decisions. HiGHS solves it as one model, and its linear
relaxation alone grows faster than K (the TEDA east day with 50 scenarios has
240,000 rows, and two of its relaxations, the rounded start's and the root's,
take most of two CPU minutes). Here the scenarios are solved apart instead, each
a deterministic day of the ordinary size, on Dask workers (:class:`Pool`).

A first stage with continuous decisions (a declared plan, regulation offers)
goes to :mod:`vpp.scenario_addition`: small extensive forms of the scenarios
that matter propose the plan, the scenarios' relaxations bound it. An all-binary
first stage (events joined, contracts taken, starts) goes to progressive hedging:

1. **Wait-and-see.** Every scenario alone with its own first stage. The
   probability-weighted sum of their lower bounds is a lower bound LB of the
   stochastic optimum (the stochastic plan is one choice each scenario could
   have made); their first-stage decisions are the first candidate plans.
2. **Candidates.** A candidate plan is held fixed in every scenario (K
   solves); its expected cost is an upper bound UB, the best one so far is
   kept. The first candidate is the consensus of the wait-and-see plans
   (:func:`consensus`: the probability-weighted mean x̄ of every decision made
   the nearest plan, a start its most likely step), the next the plans chosen
   by the most probability.
3. **Progressive hedging** (Rockafellar & Wets, Math. Oper. Res. 16, 1991; for
   binary first stages Watson & Woodruff, Comput. Manag. Sci. 8, 2011) while
   UB − LB is above the gap: with multipliers W_s ← W_s + ρ·(x_s − x̄), each
   scenario is solved again with its cost plus W_s·x + ρ/2·‖x − x̄‖², which is
   linear because every first-stage variable is binary (x² = x):
   ρ/2·Σ_i x_i·(1 − 2·x̄_i) + constant. The new consensus and the plan chosen by
   the most probability are candidates. Σ_s π_s·W_s = 0, so
   Σ_s π_s·min(C_s + W_s·x) is a lower bound too (the Lagrangian bound of Gade,
   Hackebeil, Ryan, Watson, Wets & Woodruff, Math. Program. 157, 2016),
   computed when the loop stops short of the gap.
4. **The result** (:func:`finish`, both routes). The best plan's scenario
   schedules, from its K solves, are put together in the whole case's model
   (no solve: each scenario's columns are its own solve's), checked against
   every row and bound of the whole model, and read as one stochastic result
   (:func:`assemble`). Only if the check fails is the whole case solved with the
   plan held (one solve of the extensive form with its first stage fixed).

The gap stated is (UB − LB)/|UB| with LB the largest valid lower bound found,
and the scenario solves are made to a tenth of the gap asked for
(:data:`SUB_GAP_SHARE`) so that their own gaps leave room in it. Steps 1–3 stop
at the time limit, counted from when the workers are up.

ρ per first-stage variable is its own objective coefficient where it has one
(the cost-proportional rule of Watson & Woodruff), and at least the gap left
after the first candidate (UB − LB, or the MIP gap times the cost if that is
larger) spread over the first-stage variables: the disagreement to settle is
worth that much.

Applies to risk-neutral days whose scenarios share no constraint: no risk
term (the CVaR couples the scenarios), no expected green share or emissions
cap. :func:`decomposable` says why not otherwise; the extensive form solves those.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from models import Engine, Exclusivity, SolveOptions
from vpp.case import Case
from vpp.errors import SolverError

if TYPE_CHECKING:
    from vpp.results import DispatchResult

Plan = dict[str, np.ndarray]
"""First-stage decisions by family name (:func:`models.first_stage_values`)."""

SUB_GAP_SHARE = 0.1
"""The scenario solves' MIP gap as a share of the gap asked for [-]: the sum of their bounds is the lower bound."""

ROW_TOLERANCE = 1e-6
"""How far a put-together schedule may pass a row or bound of the whole model [unit of the row], relative to
max(1, |bound|): HiGHS's own feasibility tolerance is 1e-7 on its scaled model."""


def decomposable(case: Case) -> str | None:
    """None when :func:`solve_decomposed` applies to ``case``; otherwise why not (module docstring)."""
    if not case.scenarios:
        return "the case has no scenarios"
    if case.risk is not None and case.risk.cvar_weight > 0:
        return "a risk term (CVaR) couples the scenarios"
    if case.green_share_min is not None or case.emissions_max_t is not None:
        return "the green share and the emissions cap hold in expectation over the scenarios, coupling them"
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

    @property
    def distributed(self) -> bool:
        """Whether the solves run in other processes (their CPU time is not this process's)."""
        return self._client is not None

    def map(self, fn: Any, jobs: list[tuple[Any, ...]]) -> list[Any]:
        if self._client is None or len(jobs) <= 1:
            return [fn(*job) for job in jobs]
        return self._client.gather([self._client.submit(fn, *job, pure=False) for job in jobs])


@dataclass
class Sub:
    """One scenario solved alone: its cost [CNY] without any penalty, a lower bound of what it minimised
    [CNY] (penalties included), its first-stage decisions, status, gap, seconds and CPU seconds; with
    ``keep``, the value of every column by family (path, name) for :func:`assemble`."""

    cost_cny: float
    bound_cny: float
    plan: Plan
    status: str
    mip_gap: float | None
    seconds: float
    cpu_seconds: float = 0.0
    columns: dict[tuple[Any, str], np.ndarray] | None = None


def solve_scenario(case: Case, options: SolveOptions, fixed: Plan | None = None,
                   linear: Plan | None = None, constant: float = 0.0, keep: bool = False) -> Sub:
    """One deterministic day, with ``fixed`` first-stage decisions held or ``linear`` costs added to them.

    ``linear``: CNY per unit of each first-stage column, by family name; ``constant``
    is added to the bound so that it bounds the penalised objective. Exclusivity binaries are added where a
    solution needs them, and a regulation market's offer binaries start from the rounded
    relaxation, as :func:`models.optimize` does. ``keep``: also return every column's value.
    """
    from models import Formulation, build, first_stage_values, solve
    from models.optimize import rounded_start, with_needed_binaries

    t0, cpu0 = time.perf_counter(), time.process_time()
    formulation = Formulation(binaries=frozenset())
    first = True
    while True:
        built = build(case, formulation, fixed)
        original = built.arrays.cost.copy()
        families = {f.full_name(): f for f in built.program.families if f.first_stage}
        if linear:
            penalty = np.zeros_like(original)
            for name, coef in linear.items():
                f = families[name]
                penalty[f.start : f.start + f.n] = coef
            built.arrays.cost = original + penalty
        sub_options = SolveOptions(mip_gap=options.mip_gap, time_limit_s=options.time_limit_s,
                                   threads=options.threads, log=options.log)
        if first and any(f.name == "offered" and f.full_name() not in (fixed or {}) for f in families.values()):
            built.x, _ = rounded_start(built, replace(sub_options, time_limit_s=options.time_limit_s / 4))
        first = False
        left = max(options.time_limit_s - (time.perf_counter() - t0), 1e-3)
        try:
            report = solve(built, replace(sub_options, time_limit_s=left))
        except SolverError as exc:  # InfeasibleError too: a plan no schedule of this scenario can follow
            return Sub(math.inf, -math.inf if fixed is None else math.inf, dict(fixed or {}), str(exc.status),
                       None, time.perf_counter() - t0, time.process_time() - cpu0)
        wider = with_needed_binaries(formulation, [built])
        if wider is None:
            break
        formulation = wider
    assert built.x is not None
    n = original.size
    cost = float(original @ built.x[:n] + built.arrays.offset)
    bound = report.best_bound_cny if report.best_bound_cny is not None else report.objective_cny
    columns = None
    if keep:
        columns = {(f.path, f.name): built.x[f.start : f.start + f.n].copy() for f in built.program.families}
    return Sub(cost, bound + constant, first_stage_values(built), str(report.status), report.mip_gap,
               time.perf_counter() - t0, time.process_time() - cpu0, columns)


def first_stage_cost(case: Case, plan: Plan) -> float:
    """C1 of ``plan`` in a deterministic day [CNY]: its first-stage terms (green fixed fees, minus the
    demand-response and regulation revenues, model.md §6), which depend on the plan alone."""
    from models import Formulation, build

    built = build(case, Formulation(binaries=frozenset()), fixed=plan)
    x = np.zeros(built.arrays.A.shape[1])
    for f in built.program.families:
        if f.first_stage and f.full_name() in plan:
            x[f.start : f.start + f.n] = plan[f.full_name()]
    key = built.scopes[0].scope.first_stage_key
    return float(sum(v for _, _, v in built.arrays.term_costs(x, scope=key)))


@dataclass
class PlanValue:
    """A plan held in every scenario, each solved apart: each scenario's cost [CNY] (first-stage terms
    included) and a lower bound of it, and the §6 objective of the plan [CNY] with a lower bound of it."""

    cost_cny: dict[str, float]
    bound_cny: dict[str, float]
    objective_cny: float
    objective_bound_cny: float
    mip_gap: float | None
    subs: dict[str, Sub]


def plan_objective(case: Case, costs: np.ndarray, prob: np.ndarray, first_stage_cny: float) -> float:
    """The §6 objective [CNY] of a plan whose scenarios cost ``costs`` (first-stage terms included):
    E[costs], plus λ·CVaR_β of the scenario costs without the first-stage terms when there is a risk term.
    Non-decreasing in every scenario's cost, so scenario lower bounds give an objective lower bound."""
    from vpp.uncertainty import value_at_risk

    expected = float(prob @ costs)
    risk = case.risk
    if risk is None or risk.cvar_weight == 0 or not np.all(np.isfinite(costs)):
        return expected
    return expected + risk.cvar_weight * (value_at_risk(costs - first_stage_cny, prob, risk.cvar_beta)[1])


def evaluate_plan(case: Case, plan: Plan, options: SolveOptions, pool: Pool, keep: bool = False) -> PlanValue:
    """``plan`` held in every scenario of ``case``, each scenario solved apart on ``pool`` with ``options``.

    Exact for any case whose scenarios share no row (see :func:`decomposable`; a risk term
    is fine: with the plan held, each scenario's cheapest schedule also minimises the CVaR).
    """
    from models.scenarios import scenario_cases

    scen = [(sid, p, sc.model_copy(update={"scenarios": None, "risk": None})) for sid, p, sc in scenario_cases(case)]
    prob = np.array([p for _, p, _ in scen])
    subs = pool.map(solve_scenario, [(sc, options, plan, None, 0.0, keep) for _, _, sc in scen])
    costs = np.array([s.cost_cny for s in subs])
    bounds = np.array([s.bound_cny for s in subs])
    c1 = first_stage_cost(scen[0][2], plan) if case.risk is not None and case.risk.cvar_weight > 0 else 0.0
    gaps = [s.mip_gap for s in subs if s.mip_gap is not None]
    return PlanValue({sid: float(v) for (sid, _, _), v in zip(scen, costs, strict=True)},
                     {sid: float(v) for (sid, _, _), v in zip(scen, bounds, strict=True)},
                     plan_objective(case, costs, prob, c1), plan_objective(case, bounds, prob, c1),
                     max(gaps) if gaps else None, dict(zip([sid for sid, _, _ in scen], subs, strict=True)))


def _key(plan: Plan) -> tuple:
    return tuple((name, tuple(np.round(plan[name], 6).tolist())) for name in sorted(plan))


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


@dataclass(frozen=True)
class Layout:
    """Where a scenario model's first-stage decisions are: each family's columns and kind, and the rows
    among first-stage columns alone (a minimum regulation offer in a block offered, a contract's take)."""

    families: dict[str, tuple[int, int, bool]]  # name: (start, n, integer)
    choices: frozenset[str]  # binary families with one choice among many: a row Σ x = 1 over them alone
    A: Any  # the rows among first-stage columns alone, over the first-stage columns in family order
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray


def layout(case: Case) -> Layout:
    """The :class:`Layout` of one scenario of ``case`` (its first scenario's model; the rows among
    first-stage decisions alone are the same in every scenario)."""
    from models import Formulation, build
    from models.scenarios import scenario_cases

    sc = scenario_cases(case)[0][2].model_copy(update={"scenarios": None, "risk": None})
    built = build(sc, Formulation(binaries=frozenset()))
    fams = [f for f in built.program.families if f.first_stage and f.path[:1] != (("capacity", f.element),)]
    cols = np.concatenate([np.arange(f.start, f.start + f.n) for f in fams]) if fams else np.zeros(0, dtype=int)
    a = built.arrays
    first = np.zeros(a.A.shape[1], dtype=bool)
    first[cols] = True
    csr = sp.csr_array(a.A)
    pattern = sp.csr_array((np.ones(csr.nnz), csr.indices, csr.indptr), shape=csr.shape)
    outside = pattern @ (~first).astype(float)
    rows = np.flatnonzero((np.diff(csr.indptr) > 0) & (outside == 0))
    sub = csr[rows][:, cols]
    families, start, choices = {}, 0, set()
    for f in fams:
        families[f.full_name()] = (start, f.n, f.integer)
        if f.integer and f.n > 1:
            block = sub[:, start : start + f.n]
            ones = (a.row_lower[rows] == 1) & (a.row_upper[rows] == 1) & (np.diff(sub.indptr) == f.n) \
                & (np.diff(block.indptr) == f.n)
            for i in np.flatnonzero(ones):
                if np.all(block[[i]].toarray() == 1):
                    choices.add(f.full_name())
                    break
        start += f.n
    return Layout(families, frozenset(choices), sub, a.row_lower[rows], a.row_upper[rows],
                  a.col_lower[cols], a.col_upper[cols])


def consensus(mean: Plan, lay: Layout) -> Plan:
    """The consensus x̄ made a plan (step 2 of the module docstring): the plan nearest to x̄ in L1
    that satisfies the rows among first-stage decisions alone, binaries binary.

    A binary's distance is x·(1 − 2·x̄) + x̄, so a lone binary is 1 when at least half the
    probability says so, and a start (Σ x = 1) takes its most likely step; a regulation block
    is offered when its offers weigh more than the doubt about offering it (a block not offered
    carries none). Where the rows leave no such plan, each binary rounded at ½ and the means as they are.
    """
    from models.solve import run_highs
    from models.standard_form import Arrays

    rounded = {}
    for name, xbar in mean.items():
        integer = lay.families.get(name, (0, 0, True))[2]
        rounded[name] = (xbar >= 0.5 - 1e-9).astype(float) if integer else np.asarray(xbar, dtype=float).copy()
    if any(n not in mean for n in lay.families) or not lay.families:
        return rounded
    k, m = lay.A.shape[1], lay.A.shape[0]
    target = np.concatenate([np.asarray(mean[n], dtype=float) for n in lay.families])
    integer = np.zeros(k, dtype=bool)
    for start, n, is_integer in lay.families.values():
        integer[start : start + n] = is_integer
    c = np.flatnonzero(~integer)
    # min Σ_binary x·(1 − 2x̄) + Σ_continuous t  s.t.  rows,  t ≥ x − x̄,  t ≥ x̄ − x
    pick = sp.csc_array((np.ones(c.size), (np.arange(c.size), c)), shape=(c.size, k))
    eye = sp.identity(c.size, format="csc")
    A = sp.vstack([sp.hstack([lay.A, sp.csc_array((m, c.size))]),
                   sp.hstack([pick, -eye]), sp.hstack([pick, eye])], format="csc")
    cost = np.where(integer, 1.0 - 2.0 * target, 0.0)
    arrays = Arrays(A=sp.csc_array(A), col_lower=np.concatenate([lay.col_lower, np.zeros(c.size)]),
                    col_upper=np.concatenate([lay.col_upper, np.full(c.size, np.inf)]),
                    cost=np.concatenate([cost, np.ones(c.size)]),
                    integer=np.concatenate([integer, np.zeros(c.size, dtype=bool)]),
                    row_lower=np.concatenate([lay.row_lower, np.full(c.size, -np.inf), target[c]]),
                    row_upper=np.concatenate([lay.row_upper, target[c], np.full(c.size, np.inf)]), offset=0.0)
    try:
        _, x = run_highs(arrays, SolveOptions(mip_gap=0.0, time_limit_s=10.0))
    except SolverError:
        return rounded
    return {name: x[start : start + n].copy() for name, (start, n, _) in lay.families.items()}


@dataclass
class Decomposition:
    """What the decomposition did: its method, bounds [CNY], the gap, iterations (hedging iterations or
    rounds of scenarios added), candidate plans evaluated, scenario solves and seconds by phase."""

    method: str
    lower_bound_cny: float
    upper_bound_cny: float
    iterations: int
    candidates: int
    subproblem_solves: int
    wait_and_see: dict[str, Sub]
    seconds: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    converged: bool = False
    assembled: bool = False
    cpu_seconds: float = 0.0  # of the scenario solves and relaxations, wherever they ran [s]
    worker_cpu_seconds: float = 0.0  # the part of it spent on Dask workers [s]
    whole: bool = False  # the result is the whole extensive form's, solved at the end

    @property
    def gap(self) -> float:
        """(UB − LB)/|UB| [-]; infinite while a scenario has no lower bound (its solve found none in time)."""
        ub, lb = self.upper_bound_cny, self.lower_bound_cny
        return max(0.0, (ub - lb) / max(abs(ub), 1e-9)) if math.isfinite(lb) else math.inf

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "lower_bound_cny": _finite(self.lower_bound_cny), "upper_bound_cny": _finite(self.upper_bound_cny),
            "gap": _finite(self.gap),
            "iterations": self.iterations, "candidates_evaluated": self.candidates,
            "subproblem_solves": self.subproblem_solves, "converged": self.converged,
            "schedules": "put together from the scenario solves" if self.assembled else
                         "the whole extensive form, solved at the end" if self.whole else
                         "the whole case solved with the plan held",
            "seconds": self.seconds, "cpu_seconds": self.cpu_seconds, "worker_cpu_seconds": self.worker_cpu_seconds,
            "history": [{k: _finite(v) if isinstance(v, float) else v for k, v in h.items()} for h in self.history],
        }


def assemble(case: Case, plan: Plan, subs: dict[str, Sub], lower_bound_cny: float, status: Any,
             gap: float, seconds: float) -> DispatchResult | None:
    """The stochastic result of ``plan`` from each scenario's solve with it held (``keep``), without a solve.

    Every column of the whole case's model (without exclusivity binaries: none of the scenario
    schedules charges and discharges at once, or it would not have been kept) is taken from its
    scenario's solve; the result is None when a column has no counterpart or the schedules break a
    row or bound of the whole model beyond :data:`ROW_TOLERANCE`.
    """
    from models import Formulation, SolveReport, build, extract, first_stage_values
    from models.optimize import simultaneous
    from models.solve import highs_version
    from vpp.results import make_result

    built = build(case, Formulation(binaries=frozenset()), fixed=plan)
    a = built.arrays
    x = np.full(a.A.shape[1], np.nan)
    for f in built.program.families:
        head = f.path[:1]
        if f.first_stage and f.full_name() in plan:
            values = plan[f.full_name()]
        elif head and head[0][0] == "scenario" and head[0][1] in subs:
            values = (subs[head[0][1]].columns or {}).get((f.path[1:], f.name))
        else:
            values = None
        if values is None or np.shape(values) != (f.n,):
            return None
        x[f.start : f.start + f.n] = values
    if np.isnan(x).any():
        return None
    activity = a.A @ x
    tol_rows = ROW_TOLERANCE * np.maximum(1.0, np.maximum(np.abs(np.nan_to_num(a.row_lower, posinf=0, neginf=0)),
                                                          np.abs(np.nan_to_num(a.row_upper, posinf=0, neginf=0))))
    tol_cols = ROW_TOLERANCE * np.maximum(1.0, np.abs(x))
    if np.any(activity < a.row_lower - tol_rows) or np.any(activity > a.row_upper + tol_rows) \
            or np.any(x < a.col_lower - tol_cols) or np.any(x > a.col_upper + tol_cols):
        return None
    built.x = x
    if simultaneous(built):
        return None
    solution = extract(built)
    objective = solution.objective_cny
    report = SolveReport(status=status, objective_cny=objective,
                         best_bound_cny=lower_bound_cny if math.isfinite(lower_bound_cny) else None,
                         mip_gap=gap, handover_seconds=0.0, solve_seconds=seconds,
                         model_status="put together from the scenario solves", solver=highs_version(), nodes=0,
                         **a.sizes)
    result = make_result(case, report, solution, built.build_seconds)
    result.first_stage = first_stage_values(built)
    return result


def solve_decomposed(
    case: Case,
    options: SolveOptions | None = None,
    exclusivity: Exclusivity = "lazy",
    engine: Engine = "matrix",
    *,
    workers: int | None = None,
    max_iterations: int = 30,
) -> tuple[DispatchResult, Decomposition]:
    """Solve the stochastic ``case`` by scenario decomposition; the result and how it went.

    A first stage with continuous decisions goes to :func:`vpp.scenario_addition.solve_by_addition`,
    an all-binary one to progressive hedging (module docstring). The result's summary's
    ``mip_gap`` and ``best_bound_cny`` are the decomposition's, and it has a ``decomposition``
    section. ValueError when :func:`decomposable` says no.
    """
    reason = decomposable(case)
    if reason is not None:
        raise ValueError(f"scenario decomposition does not apply: {reason}")
    options = options or SolveOptions()
    lay = layout(case)
    if any(not integer for _, _, integer in lay.families.values()):
        from vpp.scenario_addition import solve_by_addition

        return solve_by_addition(case, options, exclusivity, engine, workers=workers, max_rounds=max_iterations,
                                 lay=lay)
    return _hedging(case, options, exclusivity, engine, lay, workers, max_iterations)


class Runner:
    """Scenario solves on a :class:`Pool`, counted: solves, the CPU seconds they took, and the part of
    those spent in worker processes."""

    def __init__(self, pool: Pool) -> None:
        self.pool, self.solves, self.cpu_seconds, self.worker_cpu_seconds = pool, 0, 0.0, 0.0

    def __call__(self, jobs: list[tuple[Any, ...]]) -> list[Sub]:
        out = self.pool.map(solve_scenario, jobs)
        self.solves += len(out)
        cpu = sum(s.cpu_seconds for s in out)
        self.cpu_seconds += cpu
        if self.pool.distributed and len(jobs) > 1:
            self.worker_cpu_seconds += cpu
        return out


def _hedging(case: Case, options: SolveOptions, exclusivity: Exclusivity, engine: Engine, lay: Layout,
             workers: int | None, max_iterations: int) -> tuple[DispatchResult, Decomposition]:
    """Steps 1–3 of the module docstring for an all-binary first stage, then :func:`finish`."""
    from models.scenarios import scenario_cases

    start = time.perf_counter()
    deadline = start + options.time_limit_s  # from when the workers are up (below)
    scen = [(sid, p, sc.model_copy(update={"scenarios": None, "risk": None})) for sid, p, sc in scenario_cases(case)]
    ids = [s[0] for s in scen]
    prob = np.array([s[1] for s in scen])
    seconds = {"workers_up": 0.0, "wait_and_see": 0.0, "candidates": 0.0, "hedging": 0.0, "bound": 0.0}
    sub_gap = options.mip_gap * SUB_GAP_SHARE

    def target_met(upper: float, lower: float) -> bool:
        return (upper - lower) <= options.mip_gap * max(abs(upper), 1.0)

    def left() -> SolveOptions:  # what is left of the limit, but a tenth of it at least: a scenario is small
        return SolveOptions(mip_gap=sub_gap, threads=1,
                            time_limit_s=max(deadline - time.perf_counter(), options.time_limit_s / 10))

    evaluated: dict[tuple, float] = {}
    kept: dict[str, Sub] = {}
    with Pool(workers) as pool:
        run = Runner(pool)
        seconds["workers_up"] = time.perf_counter() - start
        deadline += seconds["workers_up"]
        t0 = time.perf_counter()
        ws = run([(sc, left()) for _, _, sc in scen])
        seconds["wait_and_see"] += time.perf_counter() - t0
        lower = float(prob @ [s.bound_cny for s in ws])
        plans = [s.plan for s in ws]
        names = sorted(plans[0])
        best_plan, upper = plans[0], math.inf

        def evaluate(candidates: list[Plan]) -> None:
            nonlocal best_plan, upper, kept
            t = time.perf_counter()
            fresh = [c for c in {_key(c): c for c in candidates}.values() if _key(c) not in evaluated]
            out = run([(sc, left(), c, None, 0.0, True) for c in fresh for _, _, sc in scen])
            for i, c in enumerate(fresh):
                subs = out[i * len(scen) : (i + 1) * len(scen)]
                value = float(prob @ [s.cost_cny for s in subs])
                evaluated[_key(c)] = value
                if value < upper:
                    best_plan, upper, kept = c, value, dict(zip(ids, subs, strict=True))
            seconds["candidates"] += time.perf_counter() - t

        def mean_of(plans: list[Plan]) -> Plan:
            return {n: sum(p_s * plan[n] for p_s, plan in zip(prob, plans, strict=True)) for n in names}

        xbar = mean_of(plans)
        evaluate([consensus(xbar, lay)])
        if not target_met(upper, lower):
            evaluate(_by_mass(prob, plans)[:2])
        history = [{"iteration": 0, "lower_bound_cny": lower, "upper_bound_cny": upper}]
        size = sum(plans[0][n].size for n in names)
        rho_floor = max(options.mip_gap * max(abs(upper), 1.0), upper - lower if math.isfinite(upper) else 0.0) \
            / max(size, 1)
        rho = _rho(scen[0][2], names, rho_floor)
        w = [{n: np.zeros_like(plans[0][n]) for n in names} for _ in scen]
        iteration, converged = 0, len({_key(p) for p in plans}) == 1
        while not target_met(upper, lower) and not converged and iteration < max_iterations \
                and time.perf_counter() < deadline:
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
            subs = run(jobs)
            plans = [s.plan for s in subs]
            xbar = mean_of(plans)
            seconds["hedging"] += time.perf_counter() - t
            converged = len({_key(p) for p in plans}) == 1
            evaluate([consensus(xbar, lay), *_by_mass(prob, plans)[:1]])
            history.append({"iteration": iteration, "lower_bound_cny": lower, "upper_bound_cny": upper})
        if not target_met(upper, lower) and iteration > 0 and time.perf_counter() < deadline:
            t = time.perf_counter()
            subs = run([(sc, left(), None, w[s]) for s, (_, _, sc) in enumerate(scen)])
            lower = max(lower, float(prob @ [s.bound_cny for s in subs]))
            history.append({"iteration": iteration, "lower_bound_cny": lower, "upper_bound_cny": upper})
            seconds["bound"] += time.perf_counter() - t
    info = Decomposition("progressive hedging", lower, upper, iteration, len(evaluated), run.solves,
                         dict(zip(ids, ws, strict=True)), seconds, history, converged, cpu_seconds=run.cpu_seconds,
                         worker_cpu_seconds=run.worker_cpu_seconds)
    return finish(case, info, best_plan, kept, options, exclusivity, engine, start, deadline), info


def finish(case: Case, info: Decomposition, plan: Plan, kept: dict[str, Sub], options: SolveOptions,
           exclusivity: Exclusivity, engine: Engine, start: float, deadline: float,
           solved: DispatchResult | None = None) -> DispatchResult:
    """The result of ``plan``: its scenario solves (``kept``) put together (:func:`assemble`), or the whole
    case solved with the plan held where they cannot be, or ``solved`` (the whole case solved already);
    the summary gets the decomposition's bounds."""
    from models import Status
    from vpp.dispatch import solve_case

    t = time.perf_counter()
    status = Status.OPTIMAL if info.gap <= options.mip_gap + 1e-12 else Status.FEASIBLE
    result = solved
    if result is None and math.isfinite(info.upper_bound_cny) and kept:
        result = assemble(case, plan, kept, info.lower_bound_cny, status, info.gap, time.perf_counter() - start)
    if solved is not None:
        info.whole = True
    elif result is None:
        # a plan chosen only needs writing out, so this solve gets a whole limit of its own when little is
        # left (the extensive form with its first stage fixed is as easy as its scenarios)
        final = SolveOptions(mip_gap=options.mip_gap, time_limit_s=max(deadline - time.perf_counter(),
                                                                           options.time_limit_s),
                             threads=options.threads, log=options.log)
        try:
            result = solve_case(case, final, exclusivity, engine, fixed=plan)
        except SolverError:  # no plan every scenario can follow was found: the whole extensive form
            result = solve_case(case, final, exclusivity, engine)
            info.whole = True
            bound = result.summary.get("best_bound_cny")
            info.lower_bound_cny = max(info.lower_bound_cny, bound if bound is not None else -math.inf)
        info.upper_bound_cny = min(info.upper_bound_cny, result.objective_cny)
    else:
        info.assembled = True
    info.seconds["final"] = time.perf_counter() - t
    info.seconds["total"] = time.perf_counter() - start
    gap = info.gap
    result.summary["mip_gap"] = gap if math.isfinite(gap) else None
    result.summary["best_bound_cny"] = info.lower_bound_cny if math.isfinite(info.lower_bound_cny) else None
    result.summary["status"] = str(Status.OPTIMAL if gap <= options.mip_gap + 1e-12 else Status.FEASIBLE)
    result.summary["decomposition"] = info.as_dict()
    return result


def _rho(case: Case, names: list[str], floor: float) -> dict[str, np.ndarray]:
    """ρ per first-stage column [CNY]: its objective coefficient in one scenario's model, at least ``floor``."""
    from models import Formulation, build

    built = build(case, Formulation(binaries=frozenset()))
    families = {f.full_name(): f for f in built.program.families if f.first_stage}
    return {n: np.maximum(np.abs(built.arrays.cost[families[n].start : families[n].start + families[n].n]), floor)
            for n in names}
