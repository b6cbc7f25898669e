"""The matrix engine: model.md §2–§6 written straight into the standard form, no modelling layer.

The Pyomo model (:mod:`models.build`) is the readable statement of the model;
building it creates a Python object per variable, constraint and term, and
Pyomo's compiler then walks them all to reach the matrices HiGHS takes. On a
day-ahead case that costs more than HiGHS's solve itself. This engine writes the
same matrices directly: every variable family is a block of consecutive columns
and every constraint family a block of rows, whose coefficients are written for
all steps at once with numpy (:class:`models.standard_form.StandardForm`).

The two engines are the same model: every asset module has its Pyomo
``build`` and its ``matrix`` side by side (same variables, same constraints,
same cost terms), and the test suite holds their optima equal on every case it
solves with both (``tests/models/test_matrix.py``). Two rows of the Pyomo model
become column bounds here (``soc[N−1] ≥ soc_final_min·E``, ``h[N−1] ≥ h[−1]``);
the feasible set is the same.

System columns (per step t, MW): ``imp``, ``exp``, ``y`` (binary, as the
formulation asks), ``f[n]`` (branch flow of non-root node n to its parent),
``u[n]`` (unserved, root first), ``peak`` (one column, with a demand charge).
The balance rows (§2) are one block, node by node (root first), each row
``Σ_{a at n} inj[a,t] + Σ_{c child of n} f[c,t] + u[n,t] − f[n,t] = −Σ constant
injections`` (``imp[t] − exp[t]`` in place of ``−f`` at the root).

Green contracts (§3, §4.7) arrive through ``imp``: a contract's ``g`` column
carries ``−Δ·buy`` (system ``energy``) and ``−Δ·carbon·emission`` (system
``carbon``) beside its own price, which is ``buy·(imp − G)`` and
``emission·(imp − G)`` written column by column.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from models.assets import BUILDERS
from models.build import SPEC, Formulation
from models.events import matrix_demand_response, matrix_green_share
from models.solve import SolveOptions, SolveReport, run_highs
from models.standard_form import Arrays, Columns, Reader, StandardForm
from vpp.case import Case


@dataclass
class MatrixContext:
    """What an asset's ``matrix`` writes into beside its own blocks: balance rows, the green-share row's terms."""

    case: Case
    sf: StandardForm
    formulation: Formulation
    steps: int
    dt: float  # Δ [h]
    t: np.ndarray  # np.arange(steps)
    balance: dict[str, int]  # node → first balance row
    balance_rhs: np.ndarray  # (nodes, steps): −Σ constant injections [MW]
    node_index: dict[str, int]
    buy: np.ndarray  # [CNY/MWh]
    emission: np.ndarray  # [t/MWh]
    imp: int
    exp: int
    rho: float | None  # green_share_min
    share_cols: list[np.ndarray] = field(default_factory=list)  # green-share row, before ·Δ
    share_vals: list[np.ndarray] = field(default_factory=list)
    share_const_mw: float = 0.0  # Σ_t constant end-use consumption [MW·steps]
    green_cols: list[int] = field(default_factory=list)

    def series(self, value: float | list[float]) -> np.ndarray:
        return self.case.series(value)

    def inject(self, node: str, col: int, sign: float) -> None:
        """inj[t] += sign·x[col + t] [MW] in the balance rows of ``node``."""
        self.sf.coef(self.balance[node] + self.t, col + self.t, sign)

    def constant_injection(self, node: str, values_mw: np.ndarray) -> None:
        """A constant injection [MW per step] at ``node``: it moves to the balance's right-hand side."""
        self.balance_rhs[self.node_index[node]] -= values_mw

    def renewable(self, col: int, n: int | None = None) -> None:
        """Columns ``col …`` are renewable energy used or exported (green share, §5)."""
        if self.rho is not None:
            n = self.steps if n is None else n
            self.share_cols.append(col + np.arange(n))
            self.share_vals.append(np.ones(n))

    def consumes(self, col: int, coef: float, n: int | None = None) -> None:
        """Columns ``col …`` add ``coef`` MW each to end-use consumption (green share, §5)."""
        if self.rho is not None:
            n = self.steps if n is None else n
            self.share_cols.append(col + np.arange(n))
            self.share_vals.append(np.full(n, -self.rho * coef))

    def consumes_constant(self, values_mw: np.ndarray) -> None:
        """A constant end-use consumption [MW per step] (green share, §5)."""
        self.share_const_mw += float(np.sum(values_mw))


@dataclass
class MatrixModel:
    """A case in standard form, with the columns of every element; ``x`` once solved."""

    case: Case
    arrays: Arrays
    build_seconds: float
    formulation: Formulation
    columns: dict[str, Columns]  # asset or event id → its column blocks; "system" → imp, exp, …
    nodes: list[str]  # root first
    x: np.ndarray | None = None

    def reader(self, element: str) -> Reader:
        """Values of ``element``'s variables in the solution, by name."""
        if self.x is None:
            raise ValueError("the model has not been solved")
        x, cols = self.x, self.columns[element]

        def read(name: str) -> np.ndarray | None:
            if name not in cols:
                return None
            start, n = cols[name]
            return x[start : start + n]

        return read


def build_matrix(case: Case, formulation: Formulation = SPEC) -> MatrixModel:
    """The standard form of a validated case (model.md §2–§6), under ``formulation``."""
    t0 = time.perf_counter()
    N, dt = case.steps, case.dt_hours
    t = np.arange(N)
    root = case.network.root
    nodes = case.network.nodes
    names = [root, *(n.id for n in nodes)]
    index = {n: i for i, n in enumerate(names)}
    K = len(names)
    grid = case.grid
    buy = case.series(grid.buy_cny_per_mwh)
    sell = case.series(grid.sell_cny_per_mwh)
    emission = case.series(grid.emission_t_per_mwh)
    carbon = case.carbon_price_cny_per_t
    sf = StandardForm()

    # --- system columns and the balance rows (§2, §3) -----------------------------------
    imp = sf.cols(N, 0.0, grid.import_max_mw)
    exp = sf.cols(N, 0.0, grid.export_max_mw)
    lo = np.array([-n.capacity_mw if n.capacity_mw is not None else -np.inf for n in nodes])
    up = np.array([n.up_limit_mw if n.up_limit_mw is not None else np.inf for n in nodes])
    f = sf.cols((K - 1) * N, np.repeat(lo, N), np.repeat(up, N))
    u = sf.cols(K * N)
    sf.cost(imp, N, dt * buy, "system", "energy")
    sf.cost(exp, N, -dt * sell, "system", "export")
    sf.cost(imp, N, carbon * dt * emission, "system", "carbon")
    sf.cost(u, K * N, case.voll_cny_per_mwh * dt, "system", "unserved")
    bal = sf.rows(K * N)  # an equality once every constant injection is known
    balance = {n: bal + i * N for i, n in enumerate(names)}
    sf.coef(bal + np.arange(K * N), u + np.arange(K * N), 1.0)
    sf.coef(bal + t, imp + t, 1.0)
    sf.coef(bal + t, exp + t, -1.0)
    if K > 1:
        own = np.arange(1, K)
        parent = np.array([index[case.parent_of(n)] for n in nodes])
        fcols = f + np.arange((K - 1) * N).reshape(K - 1, N)
        sf.coef(bal + own[:, None] * N + t, fcols, -1.0)  # − f[n,t] in n's own row
        sf.coef(bal + parent[:, None] * N + t, fcols, 1.0)  # + f[n,t] in its parent's row
    system: Columns = {"imp": (imp, N), "exp": (exp, N), "f": (f, (K - 1) * N), "u": (u, K * N)}
    if grid.import_max_mw > 0 and grid.export_max_mw > 0 and formulation.grid_binary:
        y = sf.cols(N, 0.0, 1.0, integer=True)
        r = sf.rows(N, upper=0.0)  # imp − I·y ≤ 0
        sf.coef(r + t, imp + t, 1.0)
        sf.coef(r + t, y + t, -grid.import_max_mw)
        r = sf.rows(N, upper=grid.export_max_mw)  # exp + X·y ≤ X
        sf.coef(r + t, exp + t, 1.0)
        sf.coef(r + t, y + t, grid.export_max_mw)
        system["y"] = (y, N)

    ctx = MatrixContext(case=case, sf=sf, formulation=formulation, steps=N, dt=dt, t=t, balance=balance,
                        balance_rhs=np.zeros((K, N)), node_index=index, buy=buy, emission=emission,
                        imp=imp, exp=exp, rho=case.green_share_min)

    # --- assets (§4): each type writes its own blocks ---------------------------------------
    columns: dict[str, Columns] = {"system": system}
    for a in case.assets:
        columns[a.id] = BUILDERS[a.type].matrix(sf, a, ctx, case.node_of(a))
    sf.equal(bal, ctx.balance_rhs.ravel())

    if ctx.green_cols:
        r = sf.rows(N, upper=0.0)  # G[t] − imp[t] ≤ 0
        for g in ctx.green_cols:
            sf.coef(r + t, g + t, 1.0)
        sf.coef(r + t, imp + t, -1.0)
    if grid.demand_charge_cny_per_mw > 0:
        peak = sf.cols(1)
        sf.cost(peak, 1, grid.demand_charge_cny_per_mw, "system", "demand")
        r = sf.rows(N, lower=0.0)  # peak − imp[t] ≥ 0
        sf.coef(r + t, peak, 1.0)
        sf.coef(r + t, imp + t, -1.0)
        system["peak"] = (peak, 1)

    # --- case-level options (§5) ---------------------------------------------------------------
    columns.update(matrix_demand_response(sf, case, ctx))
    matrix_green_share(sf, case, ctx)

    return MatrixModel(case=case, arrays=sf.finish(), build_seconds=time.perf_counter() - t0,
                       formulation=formulation, columns=columns, nodes=names)


def solve_matrix(model: MatrixModel, options: SolveOptions | None = None) -> SolveReport:
    """Solve ``model`` with HiGHS; the solution is kept in ``model.x`` (integer columns rounded)."""
    report, model.x = run_highs(model.arrays, options, model.case)
    return report
