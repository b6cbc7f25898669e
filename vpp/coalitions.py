"""What each participant of the virtual power plant is worth: coalitions, Shapley values, the core.

The *cost* of a coalition S of participants [CNY] is the day's optimal cost (the
objective of model.md §7) when only S's assets are flexible and every other
asset runs as it would without the virtual power plant. The coalition's value
is ``v(S) = cost(S) − cost(∅)`` (≤ 0 when flexibility pays: a saving is a
negative cost), so ``v(∅) = 0`` and ``v(N)`` is what the whole plant saves.

**Inflexible assets** (:func:`inflexible_asset`), each a transformation of the
canonical case, so every coalition is a case that :func:`vpp.dispatch.solve_case`
solves:

=================  =====================================================================
battery            idle: kept (its stored energy still counts for the backup reserve of
                   §5.5) with no charge or discharge power, no regulation offer and no
                   self-discharge (an idle battery is taken to hold its charge for the day)
curtailable_load   not curtailed: a fixed ``load`` of its demand (critical share kept)
shiftable_load     at its earliest start: a fixed ``load`` of its profile from
                   ``earliest_start``
flexible_load      as early as it can: a fixed ``load`` taking the maximum power until only
                   the minimum is left to take (this meets every deadline any schedule meets)
thermal_storage    charging only as demand needs: the same chillers or heaters with a store
                   of no capacity, so the electricity follows the thermal demand step by
                   step (``e = demand / cop``); heat beyond their rating is unserved at
                   the value of lost load and reported
pv                 unchanged: curtailed only where the network cannot take it, as without
                   the plant
load               unchanged (fixed)
green_contract     as contracted: the contract as the case writes it, in every coalition
                   (a monthly purchase of the district, not a participant's flexibility)
=================  =====================================================================

A participant none of whose assets is of the first five types is a *null player*
(its assets are the same in every coalition), so its Shapley value is 0 exactly
and it is left out of the game; the *players* are the others.

**Shapley values** [CNY, the cost game's, so a saving is negative]: exact, from
all ``2^n`` coalitions, up to :data:`EXACT_MAX_PLAYERS` players; beyond, the mean
marginal cost over ``m`` sampled orders of the players, with each value's
standard error ``sd / √m`` (the marginals along one order add up to ``v(N)``, so
the estimates add up to ``v(N)`` too). **The core** (:func:`core_check`): no
coalition S would do better alone, ``Σ_{i∈S} x_i ≤ v(S)``. When the Shapley split
is not in it, the *least core* (:func:`least_core`) is the LP
``min ε  s.t.  Σ_{i∈S} x_i − v(S) ≤ ε  (every coalition S ≠ ∅, N),  Σ_N x_i = v(N)``,
solved with HiGHS; of its allocations the one nearest the Shapley values (least
sum of absolute differences, a second LP) is the fix. With sampled values, the
core is checked against the coalitions that were solved only (said in the output).

Coalition solves run in parallel (:class:`Pool`): local processes, or Dask.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vpp.case import Case, load_case

#: Asset types a participant can offer as flexibility; the others are the same in every coalition.
FLEXIBLE_TYPES = ("battery", "curtailable_load", "shiftable_load", "flexible_load", "thermal_storage")

#: Up to this many players the Shapley values are exact (2^n coalitions); beyond, sampled.
EXACT_MAX_PLAYERS = 10

Coalition = frozenset[str]


# ---------------------------------------------------------------------------
# Inflexible assets: case transformations
# ---------------------------------------------------------------------------


def earliest_profile_mw(min_mw: np.ndarray, max_mw: np.ndarray, energy_mwh: float, dt_h: float) -> np.ndarray:
    """A flexible load charging as early as it can [MW]: the maximum power until only the minimum is left.

    ``min_mw``, ``max_mw``: the bounds per step [MW]; ``energy_mwh``: the horizon's energy [MWh];
    ``dt_h``: step length [h]. Of all feasible profiles this one has the largest energy by every step.
    """
    steps = len(max_mw)
    rest_min = np.concatenate([np.cumsum(min_mw[::-1])[::-1], [0.0]]) * dt_h  # least energy from t on [MWh]
    out = np.zeros(steps)
    taken = 0.0
    for t in range(steps):
        p = min(max_mw[t], (energy_mwh - taken - rest_min[t + 1]) / dt_h)
        out[t] = max(p, min_mw[t])
        taken += out[t] * dt_h
    return out


def _series(values: np.ndarray) -> list[float]:
    return [float(v) for v in values]


def inflexible_asset(asset: Any, case: Case) -> dict[str, Any]:
    """The asset as it would run without the virtual power plant, as canonical case data (see the module docstring)."""
    data = asset.model_dump(mode="json", exclude_none=True)
    keep = {k: data[k] for k in ("id", "node", "participant", "name", "description") if k in data}
    kind = asset.type
    if kind == "battery":
        data.update(charge_power_mw=0.0, discharge_power_mw=0.0, regulation=False, self_discharge_per_hour=0.0)
        data.pop("power_mw", None)
        data.pop("max_cycles", None)
        return data
    if kind == "curtailable_load":
        return keep | {"type": "load", "demand_mw": data["demand_mw"], "critical_fraction": asset.critical_fraction}
    if kind == "shiftable_load":
        profile = np.zeros(case.steps)
        start = asset.earliest_start
        d = len(asset.profile_mw)
        profile[start:start + d] = asset.profile_mw[: max(0, case.steps - start)]
        return keep | {"type": "load", "demand_mw": _series(profile)}
    if kind == "flexible_load":
        profile = earliest_profile_mw(case.series(asset.min_power_mw), case.series(asset.max_power_mw),
                                      asset.energy_mwh, case.dt_hours)
        return keep | {"type": "load", "demand_mw": _series(profile)}
    if kind == "thermal_storage":
        return data | {"capacity_mwh_th": 0.0}
    return data


def players_of(case: Case) -> list[str]:
    """The participants with at least one flexible asset, in the order they first appear in the case."""
    return list(dict.fromkeys(a.owner for a in case.assets if a.type in FLEXIBLE_TYPES))


def participants_of(case: Case) -> list[str]:
    """Every participant of the case (each asset's ``participant``, its id when absent), in order of appearance."""
    return list(dict.fromkeys(a.owner for a in case.assets))


def coalition_case(case: Case, flexible: Iterable[str]) -> Case:
    """The case with only the assets of the participants in ``flexible`` flexible (the others inflexible)."""
    keep = set(flexible)
    data = case.model_dump(mode="json", exclude_none=True)
    data["assets"] = [
        a.model_dump(mode="json", exclude_none=True) if a.owner in keep or a.type not in FLEXIBLE_TYPES
        else inflexible_asset(a, case)
        for a in case.assets
    ]
    if data.get("regulation") is not None and not any(a.get("regulation") for a in data["assets"]):
        data.pop("regulation")  # no battery left to offer it
    meta = dict(data.get("meta") or {})
    meta["coalition"] = sorted(keep & set(players_of(case)))
    data["meta"] = meta
    return load_case(data)


# ---------------------------------------------------------------------------
# Solving many coalitions, in parallel
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SolveSpec:
    """What a coalition solve needs: the base case (JSON), the flexible participants and the solver settings."""

    case_json: str
    flexible: tuple[str, ...]
    mip_gap: float = 1e-6
    time_limit_s: float = 60.0


def solve_spec(spec: SolveSpec) -> dict[str, Any]:
    """Solve one coalition (one HiGHS thread); its cost [CNY], emissions [tCO2], status, gap and seconds."""
    import json

    from models import SolveOptions
    from vpp.dispatch import solve_case
    from vpp.errors import SolverError

    t0 = time.perf_counter()
    case = coalition_case(load_case(json.loads(spec.case_json)), spec.flexible)
    try:
        result = solve_case(case, SolveOptions(mip_gap=spec.mip_gap, time_limit_s=spec.time_limit_s, threads=1))
    except SolverError as exc:
        return {"flexible": list(spec.flexible), "status": exc.status, "reason": str(exc), "cost_cny": None,
                "emissions_t": None, "mip_gap": None, "seconds": time.perf_counter() - t0}
    return {"flexible": list(spec.flexible), "status": result.status, "cost_cny": float(result.objective_cny),
            "emissions_t": float(result.summary["emissions_t"]), "mip_gap": result.summary["mip_gap"],
            "seconds": time.perf_counter() - t0}


class Pool:
    """Where coalition solves run: ``serial`` (this process), ``processes`` (local worker processes, the default),
    ``local`` (a local Dask cluster) or a Dask scheduler's address (``tcp://HOST:PORT``).
    Use as a context manager; :meth:`map` keeps the order of its inputs."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None) -> None:
        scheduler = scheduler or "processes"
        if scheduler not in ("serial", "processes", "local") and not scheduler.startswith(("tcp://", "tls://", "inproc://")):
            raise ValueError(f"scheduler: expected 'serial', 'processes', 'local' or a Dask address such as "
                             f"tcp://HOST:PORT, got {scheduler!r}")
        if workers is not None and workers < 1:
            raise ValueError(f"workers: expected a positive number, got {workers}")
        self.scheduler = scheduler
        self.workers = workers or os.cpu_count() or 1
        self._executor: cf.ProcessPoolExecutor | None = None
        self._client: Any = None
        self._cluster: Any = None

    @property
    def description(self) -> str:
        processes = f"process{'es' if self.workers != 1 else ''}"
        if self.scheduler == "serial":
            return "serial (this process)"
        if self.scheduler == "processes":
            return f"{self.workers} local worker {processes}"
        if self.scheduler == "local":
            return f"local Dask cluster, {self.workers} single-threaded worker {processes}"
        return f"Dask cluster at {self.scheduler}"

    def __enter__(self) -> Pool:
        if self.scheduler == "processes" and self.workers > 1:
            self._executor = cf.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        elif self.scheduler not in ("serial", "processes"):
            from dask.distributed import Client, LocalCluster

            if self.scheduler == "local":
                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                             dashboard_address=":0", silence_logs=40)
                self._client = Client(self._cluster)
            else:
                self._client = Client(self.scheduler)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._executor = self._client = self._cluster = None

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any],
            progress: Callable[[int, int], None] | None = None) -> list[Any]:
        """``fn`` over ``items`` wherever the pool runs; results in the order of ``items``."""
        total = len(items)
        if self._executor is None and self._client is None:
            out = []
            for i, item in enumerate(items):
                out.append(fn(item))
                if progress:
                    progress(i + 1, total)
            return out
        if self._executor is not None:
            futures = [self._executor.submit(fn, item) for item in items]
            done_iter: Iterable[Any] = cf.as_completed(futures)
        else:
            from dask.distributed import as_completed

            futures = self._client.map(fn, list(items), pure=False, retries=1)
            done_iter = as_completed(futures)
        for done, _ in enumerate(done_iter, start=1):
            if progress:
                progress(done, total)
        return [f.result() for f in futures]


# ---------------------------------------------------------------------------
# The game: Shapley values, the core, the least core
# ---------------------------------------------------------------------------


def shapley_exact(players: Sequence[str], value: Mapping[Coalition, float]) -> dict[str, float]:
    """Exact Shapley values of a game given on every coalition (``value[frozenset()]`` is 0 or given).

    ``φ_i = Σ_{S ⊆ N∖{i}} |S|!·(n − |S| − 1)!/n! · (v(S ∪ {i}) − v(S))``.
    """
    n = len(players)
    weight = [math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n) for k in range(n)]
    out = {}
    for i in players:
        others = [p for p in players if p != i]
        total = 0.0
        for k in range(n):
            for rest in itertools.combinations(others, k):
                s = frozenset(rest)
                total += weight[k] * (value[s | {i}] - value.get(s, 0.0))
        out[i] = total
    return out


def sample_orders(players: Sequence[str], count: int, seed: int) -> list[tuple[str, ...]]:
    """``count`` random orders of the players (a seeded generator: the same orders every run)."""
    rng = np.random.default_rng(seed)
    return [tuple(players[j] for j in rng.permutation(len(players))) for _ in range(count)]


def coalitions_of_orders(orders: Iterable[Sequence[str]]) -> set[Coalition]:
    """Every prefix of every order: the coalitions a sampled Shapley estimate needs."""
    out: set[Coalition] = {frozenset()}
    for order in orders:
        for k in range(1, len(order) + 1):
            out.add(frozenset(order[:k]))
    return out


def shapley_sampled(orders: Sequence[Sequence[str]], value: Mapping[Coalition, float]) -> tuple[dict[str, float], dict[str, float]]:
    """Shapley estimates from sampled orders and their standard errors ``sd / √m`` [same unit as ``value``]."""
    players = list(orders[0])
    marginals: dict[str, list[float]] = {p: [] for p in players}
    for order in orders:
        prev = value.get(frozenset(), 0.0)
        for k, p in enumerate(order):
            cur = value[frozenset(order[: k + 1])]
            marginals[p].append(cur - prev)
            prev = cur
    m = len(orders)
    est = {p: float(np.mean(v)) for p, v in marginals.items()}
    se = {p: (float(np.std(v, ddof=1)) / math.sqrt(m) if m > 1 else math.inf) for p, v in marginals.items()}
    return est, se


@dataclass
class CoreCheck:
    """Whether an allocation of a cost game is in the core: the largest excess ``Σ_{i∈S} x_i − v(S)`` and where."""

    in_core: bool
    max_excess: float
    worst: list[str]
    checked: int
    blocking: list[dict[str, Any]] = field(default_factory=list)


def _proper(value: Mapping[Coalition, float], players: Sequence[str]) -> list[Coalition]:
    grand = frozenset(players)
    return sorted((s for s in value if s and s != grand), key=lambda s: (len(s), sorted(s)))


def core_check(players: Sequence[str], value: Mapping[Coalition, float], x: Mapping[str, float],
               tol: float = 1e-6) -> CoreCheck:
    """Check the cost allocation ``x`` against every coalition in ``value`` but ∅ and N (``tol`` [CNY])."""
    worst, max_excess, blocking = [], -math.inf, []
    coalitions = _proper(value, players)
    for s in coalitions:
        excess = sum(x[i] for i in s) - value[s]
        if excess > max_excess:
            max_excess, worst = excess, sorted(s)
        if excess > tol:
            blocking.append({"coalition": sorted(s), "excess_cny": excess})
    blocking.sort(key=lambda b: -b["excess_cny"])
    if not coalitions:
        max_excess = 0.0
    return CoreCheck(in_core=max_excess <= tol, max_excess=max_excess, worst=worst, checked=len(coalitions),
                     blocking=blocking[:10])


def least_core(players: Sequence[str], value: Mapping[Coalition, float],
               near: Mapping[str, float] | None = None) -> tuple[float, dict[str, float]]:
    """The least core of a cost game (HiGHS via scipy): ``ε*`` and, of its allocations, the one nearest ``near``.

    First LP: ``min ε`` s.t. ``Σ_{i∈S} x_i − ε ≤ v(S)`` for every coalition given but ∅ and N, and
    ``Σ_N x_i = v(N)``. Second LP (when ``near`` is given): with ε fixed at ``ε*``, minimise
    ``Σ_i d_i`` with ``d_i ≥ ±(x_i − near_i)``. ε* ≤ 0 means the core is not empty.
    """
    from scipy.optimize import linprog

    n = len(players)
    index = {p: j for j, p in enumerate(players)}
    coalitions = _proper(value, players)
    grand = value[frozenset(players)]
    rows = np.zeros((len(coalitions), n + 1))
    for r, s in enumerate(coalitions):
        for p in s:
            rows[r, index[p]] = 1.0
        rows[r, n] = -1.0
    rhs = np.array([value[s] for s in coalitions])
    a_eq = np.concatenate([np.ones(n), [0.0]])[None, :]
    bounds = [(None, None)] * (n + 1)
    c = np.zeros(n + 1)
    c[n] = 1.0
    first = linprog(c, A_ub=rows if len(coalitions) else None, b_ub=rhs if len(coalitions) else None,
                    A_eq=a_eq, b_eq=[grand], bounds=bounds, method="highs")
    if not first.success:
        raise RuntimeError(f"the least-core LP failed: {first.message}")
    eps = float(first.x[n]) if len(coalitions) else 0.0
    x = {p: float(first.x[index[p]]) for p in players}
    if near is None:
        return eps, x
    # second LP over (x, d): min Σ d, x in the least core, d ≥ |x − near|
    scale = max(1.0, abs(grand), *(abs(v) for v in value.values()))
    slack = 1e-9 * scale
    target = np.array([near[p] for p in players])
    ub = [np.hstack([rows[:, :n], np.zeros((len(coalitions), n))])] if len(coalitions) else []
    b = [rhs + eps + slack] if len(coalitions) else []
    eye = np.eye(n)
    ub += [np.hstack([eye, -eye]), np.hstack([-eye, -eye])]
    b += [target, -target]
    second = linprog(np.concatenate([np.zeros(n), np.ones(n)]), A_ub=np.vstack(ub), b_ub=np.concatenate(b),
                     A_eq=np.concatenate([np.ones(n), np.zeros(n)])[None, :], b_eq=[grand],
                     bounds=[(None, None)] * n + [(0, None)] * n, method="highs")
    if not second.success:
        raise RuntimeError(f"the nearest least-core LP failed: {second.message}")
    return eps, {p: float(second.x[index[p]]) for p in players}


# ---------------------------------------------------------------------------
# The whole study: solve the coalitions, split, check the core
# ---------------------------------------------------------------------------


def _key(coalition: Coalition) -> str:
    return "+".join(sorted(coalition)) if coalition else "(none)"


@dataclass
class Worth:
    """The coalition game of one day and its split (see the module docstring); amounts in CNY."""

    case_name: str
    start: str
    players: list[str]
    null_players: list[str]
    method: str  # "exact" or "sampled"
    shapley: dict[str, float]
    standard_error: dict[str, float]
    orders: int
    seed: int | None
    solves: dict[Coalition, dict[str, Any]]
    core: CoreCheck
    least_core_epsilon: float | None
    fix: dict[str, float] | None
    runner: str
    seconds: float
    tolerance_cny: float

    @property
    def value(self) -> dict[Coalition, float]:
        """v(S) = cost(S) − cost(∅) [CNY] for every coalition solved."""
        base = self.solves[frozenset()]["cost_cny"]
        return {s: r["cost_cny"] - base for s, r in self.solves.items()}

    @property
    def total_cny(self) -> float:
        """v(N): the cost change of the whole plant's flexibility [CNY] (negative: a saving)."""
        return self.value[frozenset(self.players)]

    def table(self) -> list[dict[str, Any]]:
        """One row per participant (players, then the null players): savings are −cost shares [CNY]."""
        v = self.value
        grand = frozenset(self.players)
        rows = []
        for p in self.players:
            alone, without = v.get(frozenset({p})), v.get(grand - {p})
            rows.append({
                "participant": p,
                "shapley_saving_cny": -self.shapley[p],
                "standard_error_cny": self.standard_error.get(p, 0.0),
                "standalone_saving_cny": None if alone is None else -alone,
                "marginal_saving_cny": None if without is None else without - v[grand],
                "least_core_saving_cny": None if self.fix is None else -self.fix[p],
            })
        for p in self.null_players:
            rows.append({"participant": p, "shapley_saving_cny": 0.0, "standard_error_cny": 0.0,
                         "standalone_saving_cny": 0.0, "marginal_saving_cny": 0.0,
                         "least_core_saving_cny": None if self.fix is None else 0.0})
        return rows

    def to_dict(self) -> dict[str, Any]:
        n = len(self.players)
        return {
            "case": self.case_name,
            "start": self.start,
            "definition": "v(S) = cost with only S's assets flexible − cost with none flexible [CNY]; "
                          "savings are −v. Inflexible: battery idle, curtailable load not curtailed, shiftable "
                          "process at its earliest start, flexible load as early as it can, thermal store "
                          "following demand; PV, fixed loads and green contracts as in the case.",
            "players": self.players,
            "null_players": self.null_players,
            "method": self.method,
            "orders": self.orders if self.method == "sampled" else None,
            "seed": self.seed if self.method == "sampled" else None,
            "cost_none_flexible_cny": self.solves[frozenset()]["cost_cny"],
            "cost_all_flexible_cny": self.solves[frozenset(self.players)]["cost_cny"],
            "saving_cny": -self.total_cny,
            "participants": self.table(),
            "shares_add_up_to_cny": -sum(self.shapley.values()),
            "core": {"in_core": self.core.in_core, "max_excess_cny": self.core.max_excess,
                     "worst_coalition": self.core.worst, "coalitions_checked": self.core.checked,
                     "coalitions_in_all": 2 ** n - 2, "tolerance_cny": self.tolerance_cny,
                     "blocking": self.core.blocking},
            "least_core": None if self.least_core_epsilon is None else {
                "epsilon_cny": self.least_core_epsilon,
                "allocation_saving_cny": {p: -x for p, x in (self.fix or {}).items()},
                "note": "of the least-core allocations, the one nearest the Shapley values (least total |difference|)",
            },
            "coalitions": [{"coalition": sorted(s), **{k: r[k] for k in ("status", "cost_cny", "emissions_t", "mip_gap", "seconds")}}
                           for s, r in sorted(self.solves.items(), key=lambda kv: (len(kv[0]), sorted(kv[0])))],
            "max_mip_gap": max((r["mip_gap"] or 0.0) for r in self.solves.values()),
            "runner": self.runner,
            "seconds": self.seconds,
        }


def participant_worth(
    case: Case,
    pool: Pool | None = None,
    *,
    mip_gap: float = 1e-6,
    time_limit_s: float = 60.0,
    orders: int = 200,
    seed: int = 0,
    exact_max_players: int = EXACT_MAX_PLAYERS,
    progress: Callable[[int, int], None] | None = None,
) -> Worth:
    """Solve the coalitions of ``case``'s participants and split the saving (Shapley, core, least core).

    Exact with at most ``exact_max_players`` players; otherwise ``orders`` sampled orders (``seed``).
    A coalition the solver cannot solve raises :class:`vpp.errors.SolverError` naming it.
    """
    from vpp.errors import SolverError

    t0 = time.perf_counter()
    players = players_of(case)
    null_players = [p for p in participants_of(case) if p not in players]
    exact = len(players) <= exact_max_players
    sampled_orders: list[tuple[str, ...]] = []
    if exact:
        coalitions = [frozenset(c) for k in range(len(players) + 1) for c in itertools.combinations(players, k)]
    else:
        if orders < 2:
            raise ValueError(f"orders: expected at least 2 sampled orders, got {orders}")
        sampled_orders = sample_orders(players, orders, seed)
        coalitions = sorted(coalitions_of_orders(sampled_orders), key=lambda s: (len(s), sorted(s)))
    case_json = case.model_dump_json(exclude_none=True)
    specs = [SolveSpec(case_json, tuple(sorted(s)), mip_gap, time_limit_s) for s in coalitions]
    own = pool is None
    pool = pool or Pool("serial")
    try:
        if own:
            pool.__enter__()
        results = pool.map(solve_spec, specs, progress)
    finally:
        if own:
            pool.__exit__(None, None, None)
    solves = dict(zip(coalitions, results, strict=True))
    for s, r in solves.items():
        if r["cost_cny"] is None:
            raise SolverError(f"no schedule for the coalition {_key(s)}: {r.get('reason', r['status'])}",
                              status=r["status"])
    base = solves[frozenset()]["cost_cny"]
    value = {s: r["cost_cny"] - base for s, r in solves.items()}
    scale = max(abs(r["cost_cny"]) for r in solves.values())
    tol = max(0.01, mip_gap * scale * 2)
    if exact:
        shapley = shapley_exact(players, value) if players else {}
        se = {p: 0.0 for p in players}
    else:
        shapley, se = shapley_sampled(sampled_orders, value)
    core = core_check(players, value, shapley, tol)
    eps = fix = None
    if not core.in_core:
        eps, fix = least_core(players, value, near=shapley)
    return Worth(
        case_name=case.name, start=case.start.isoformat(), players=players, null_players=null_players,
        method="exact" if exact else "sampled", shapley=shapley, standard_error=se, orders=len(sampled_orders),
        seed=None if exact else seed, solves=solves, core=core, least_core_epsilon=eps, fix=fix,
        runner=pool.description, seconds=time.perf_counter() - t0, tolerance_cny=tol,
    )


def write_worth(worth: Worth, out_dir: Any) -> dict[str, Any]:
    """worth.csv (one row per participant), coalitions.csv and worth.json in ``out_dir``; their paths."""
    import json
    from pathlib import Path

    import pandas as pd

    from vpp.results import _clean

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"worth.csv": out / "worth.csv", "coalitions.csv": out / "coalitions.csv", "worth.json": out / "worth.json"}
    pd.DataFrame(worth.table()).to_csv(paths["worth.csv"], index=False, float_format="%.6f")
    d = worth.to_dict()
    rows = [{"coalition": _key(frozenset(c["coalition"])), "size": len(c["coalition"]),
             "value_cny": c["cost_cny"] - d["cost_none_flexible_cny"],
             **{k: c[k] for k in ("cost_cny", "emissions_t", "status", "mip_gap", "seconds")}} for c in d["coalitions"]]
    pd.DataFrame(rows).to_csv(paths["coalitions.csv"], index=False, float_format="%.6f")
    paths["worth.json"].write_text(json.dumps(_clean(d), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return paths

