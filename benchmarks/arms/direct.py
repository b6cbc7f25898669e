"""The direct arm: model.md §2–§6 laid out as numpy column and row blocks, no modelling layer.

This arm is the floor that any modelling overhead is measured against. It builds
exactly the model of ``shared/spec/model.md`` (the same variables, binaries and
feasible set as the product's Pyomo model in ``models/``) straight into arrays:
every variable family is a *column block* of consecutive columns, every
constraint family a *row block*, and the coefficients of a block are written
for all steps at once with numpy index arithmetic (``start + np.arange(N)``).
The triplets are assembled once into a ``scipy.sparse`` CSC matrix and handed to
HiGHS in one ``passModel`` call of a :class:`highspy.HighsLp`.

Column blocks (per step t = 0 … N−1 unless stated; MW unless stated):

=================  =============================================================
imp, exp           import from / export to the public grid at the root
y                  binary: 1 = importing (only when both grid maxima are positive)
f[n]               branch flow of non-root node n to its parent, positive upwards
u[n]               unserved energy at node n and at the root, cost voll·Δ
peak               peak import [MW], one column (only with a demand charge)
p (pv)             PV output used or exported, 0 ≤ p ≤ avail
ch, dis, soc, b    battery charge, discharge, level [MWh], binary may-charge
r, z, s            curtailable reduction; binaries curtailing and starts ∈ [0, 1]
x[τ] (shiftable)   binary: the run starts at τ ∈ [earliest_start, latest_end − d]
p (flexible)       flexible consumption, min ≤ p ≤ max
g, x (green)       green purchase [MW]; binary contract taken (optional only)
e, h, w (thermal)  electric power, level [MWh_th], unserved thermal [MW_th]
w, sf (events)     binary event joined (optional only); shortfall [MW], t ∈ window
=================  =============================================================

Row blocks:

- balance (§2), one row per node n (root first) and step t, equal to −Σ constant
  injections (fixed loads, curtailable demand):
  ``Σ_{a at n} inj[a,t] + Σ_{c child of n} f[c,t] + u[n,t] − f[n,t] = 0`` and, at the root,
  ``imp[t] − exp[t] + Σ inj + Σ f[c,t] + u[root,t] = 0``;
- grid (§3): ``imp − I·y ≤ 0``, ``exp + X·y ≤ X``; ``Σ_k g[k,t] − imp[t] ≤ 0``;
  ``peak − imp[t] ≥ 0``;
- battery (§4.3): ``ch − Pch·b ≤ 0``, ``dis + Pdis·b ≤ Pdis``,
  ``soc[t] − (1 − σΔ)·soc[t−1] − ηc·Δ·ch[t] + Δ/ηd·dis[t] = (1 − σΔ)·soc_initial·E·[t = 0]``,
  ``Δ·Σ dis ≤ max_cycles·E``;
- curtailable (§4.4): ``r − R·z ≤ 0``, ``s[t] − z[t] + z[t−1] ≥ 0``,
  ``z[t] − Σ_{τ=max(0,t−D+1)}^{t} s[τ] ≥ 0`` (D > 1), ``Σ s ≤ max_events``;
- shiftable (§4.5): ``Σ x = 1``; its consumption ``Σ_τ x[τ]·profile[t − τ]`` is written
  straight into the balance rows of its node;
- flexible (§4.6): ``Δ·Σ p = energy``, ``Δ·Σ_{t<k} p ≥ E_k``;
- green (§4.7): ``g − avail·x ≤ 0``, ``g − min_take·avail·x ≥ 0`` (optional contracts; a
  mandatory one has x = 1 folded into the bounds of g);
- thermal (§4.8): ``h[t] − (1 − λΔ)·h[t−1] − cop·Δ·e[t] − Δ·w[t] = −Δ·demand[t]
  (+ (1 − λΔ)·h[−1] at t = 0)``;
- events (§5): ``sf[t] − imp[t] + exp[t] − reduction·w ≥ −baseline[t]`` (w = 1 moves to the
  bound when the event is mandatory);
- green share (§5): ``Δ·Σ_t (Σ_pv p − exp + G − ρ·variable consumption) ≥ ρ·Δ·Σ constant
  consumption``.

The terminal conditions ``soc[N−1] ≥ soc_final_min·E`` and ``h[N−1] ≥ h[−1]`` are
single-column rows, so they are written as the lower bound of that column instead
(the same feasible set, two rows fewer per storage). Costs (§6) are column costs:
``imp`` pays ``Δ·(buy + carbon·emission)``, each ``g`` pays ``Δ·(price − buy −
carbon·emission)`` (green energy replaces grid energy), and every constant term
(PV curtailment of the available energy, fixed fees of mandatory contracts,
revenue of mandatory events) goes to the objective offset.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from benchmarks.arms import ArmResult, Settings
from models.solve import EARLY_STOPS, Status, use_threads
from vpp.case import (
    PV,
    Battery,
    Case,
    CurtailableLoad,
    FlexibleLoad,
    GreenContract,
    Load,
    ShiftableLoad,
    ThermalStorage,
)

NAME = "direct"

_I32 = np.int32


# ---------------------------------------------------------------------------
# The matrix under construction
# ---------------------------------------------------------------------------


class _Blocks:
    """Column and row blocks of ``min c·x + offset, lo ≤ A·x ≤ hi, lb ≤ x ≤ ub``, filled by numpy arrays.

    Bounds, costs and coefficient values are kept as given (a number or an array per
    block) and written into the final arrays once, by slice, in :meth:`finish`.
    """

    def __init__(self) -> None:
        self.n_cols = 0
        self.n_rows = 0
        self.nnz = 0
        self.offset = 0.0
        self._cols: list[tuple[int, int, Any, Any, Any, int]] = []  # start, n, lb, ub, cost, owner
        self._integer: list[tuple[int, int]] = []  # (first column, columns)
        self._rows: list[list[Any]] = []  # [start, n, lo, hi]
        self._r: list[np.ndarray] = []
        self._c: list[np.ndarray] = []
        self._v: list[tuple[int, int, Any]] = []  # (first entry, entries, value or values)
        self.owners: list[str] = []
        self.owner_offset: list[float] = []
        self._current = -1

    def owner(self, name: str) -> None:
        """Charge the costs of the columns added from now on (and offsets) to ``name``."""
        if name in self.owners:
            self._current = self.owners.index(name)
            return
        self.owners.append(name)
        self.owner_offset.append(0.0)
        self._current = len(self.owners) - 1

    def add_offset(self, value: float) -> None:
        self.offset += value
        self.owner_offset[self._current] += value

    def cols(self, n: int, lb: Any = 0.0, ub: Any = np.inf, cost: Any = 0.0, integer: bool = False) -> int:
        """``n`` new columns with bounds and costs (numbers or arrays of ``n``); the first index."""
        start = self.n_cols
        self.n_cols += n
        self._cols.append((start, n, lb, ub, cost, self._current))
        if integer:
            self._integer.append((start, n))
        return start

    def rows(self, n: int, lo: Any = -np.inf, hi: Any = np.inf) -> int:
        """``n`` new rows ``lo ≤ A·x ≤ hi`` (numbers or arrays of ``n``); the first index."""
        start = self.n_rows
        self.n_rows += n
        self._rows.append([start, n, lo, hi])
        return start

    def set_rows(self, block: int, rhs: np.ndarray) -> None:
        """Make the ``block``-th row block (in order of creation) equalities ``A·x = rhs``."""
        self._rows[block][2] = self._rows[block][3] = rhs

    def coef(self, rows: Any, cols: Any, vals: Any) -> None:
        """Coefficients A[rows, cols] = vals (broadcast together; repeated entries add up)."""
        r, c = np.asarray(rows), np.asarray(cols)
        if r.shape != c.shape:
            if r.ndim == 0:
                r = np.full(c.shape, r)
            elif c.ndim == 0:
                c = np.full(r.shape, c)
            else:
                r, c = np.broadcast_arrays(r, c)
        if np.ndim(vals) > 0 and np.shape(vals) != r.shape:
            r, c, vals = np.broadcast_arrays(r, c, vals)
        k = r.size
        self._r.append(r.ravel())
        self._c.append(c.ravel())
        self._v.append((self.nnz, k, vals if np.ndim(vals) == 0 else np.ravel(vals)))
        self.nnz += k

    def finish(self) -> _Arrays:
        n, m = self.n_cols, self.n_rows
        lb, ub, cost = np.empty(n), np.empty(n), np.empty(n)
        owner = np.empty(n, dtype=np.intp)
        for start, k, lo_, hi_, c_, o in self._cols:
            lb[start : start + k] = lo_
            ub[start : start + k] = hi_
            cost[start : start + k] = c_
            owner[start : start + k] = o
        integer = np.zeros(n, dtype=bool)
        for start, k in self._integer:
            integer[start : start + k] = True
        row_lower, row_upper = np.empty(m), np.empty(m)
        for start, k, lo_, hi_ in self._rows:
            row_lower[start : start + k] = lo_
            row_upper[start : start + k] = hi_
        v = np.empty(self.nnz)
        for start, k, val in self._v:
            v[start : start + k] = val
        keep = v != 0.0  # e.g. avail·x at night, R·z where nothing can be shed
        r = np.concatenate(self._r)[keep].astype(_I32)
        c = np.concatenate(self._c)[keep].astype(_I32)
        A = sp.csc_array((v[keep], (r, c)), shape=(m, n))
        A.sum_duplicates()
        return _Arrays(A=A, col_lower=lb, col_upper=ub, cost=cost, integer=integer,
                       row_lower=row_lower, row_upper=row_upper, offset=self.offset, owner=owner)


@dataclass
class _Arrays:
    """The standard form: ``min cost·x + offset`` s.t. ``row_lower ≤ A·x ≤ row_upper``, column bounds."""

    A: sp.csc_array
    col_lower: np.ndarray
    col_upper: np.ndarray
    cost: np.ndarray
    integer: np.ndarray  # bool per column
    row_lower: np.ndarray
    row_upper: np.ndarray
    offset: float
    owner: np.ndarray  # per column: index into DirectModel.owners (cost breakdown)


@dataclass
class _Recipe:
    """How to read one element back: its first columns by name, and constant series."""

    kind: str
    element: Any
    cols: dict[str, int]
    const: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class DirectModel:
    """A case laid out as arrays, with the column offsets needed to read the solution."""

    case: Case
    arrays: _Arrays
    owners: list[str]
    owner_offset: np.ndarray
    recipes: list[_Recipe]
    nodes: list[str]  # root first
    flow_start: int
    unserved_start: int
    imp: int
    exp: int
    emission: np.ndarray
    events: list[_Recipe]

    @property
    def binaries(self) -> int:
        return int(self.arrays.integer.sum())


@dataclass
class DirectSolution:
    """Per-step values [MW unless named otherwise] and costs [CNY] of a solved direct model."""

    assets: dict[str, dict[str, np.ndarray]]
    flow_mw: dict[str, np.ndarray]
    unserved_mw: dict[str, np.ndarray]
    import_mw: np.ndarray
    export_mw: np.ndarray
    green_mw: np.ndarray
    emissions_t: np.ndarray
    events: dict[str, tuple[bool, np.ndarray]]  # joined, shortfall per step [MW]
    contracts_taken: dict[str, bool]
    shiftable_start: dict[str, int]
    cost_by_element: dict[str, float]  # c·x + offset by owner; a contract carries the buy and carbon it saves
    objective_cny: float


# ---------------------------------------------------------------------------
# Build: case → arrays
# ---------------------------------------------------------------------------


@dataclass
class _Ctx:
    """What the asset blocks share: sizes, Δ, the balance rows and the green-share row's terms."""

    case: Case
    N: int
    dt: float
    t: np.ndarray  # np.arange(N)
    balance: dict[str, int]  # node → first balance row
    balance_rhs: np.ndarray  # (nodes, N), filled with −Σ constant injections
    node_index: dict[str, int]
    buy: np.ndarray
    emission: np.ndarray
    imp: int
    exp: int
    rho: float | None  # green_share_min
    share_cols: list[np.ndarray] = field(default_factory=list)  # green-share row, before ·Δ
    share_vals: list[np.ndarray] = field(default_factory=list)
    share_const: float = 0.0  # Σ_t constant consumption [MW·steps]
    green_cols: list[int] = field(default_factory=list)

    def inject(self, L: _Blocks, node: str, col: int, sign: float) -> None:
        """inj[t] += sign·x[col + t] in the balance rows of ``node``."""
        L.coef(self.balance[node] + self.t, col + self.t, sign)

    def constant_injection(self, node: str, values: np.ndarray) -> None:
        self.balance_rhs[self.node_index[node]] -= values

    def renewable(self, col: int, n: int | None = None) -> None:
        """Columns ``col …`` count as renewable energy used (green-share row, coefficient 1·Δ)."""
        if self.rho is not None:
            n = self.N if n is None else n
            self.share_cols.append(col + np.arange(n))
            self.share_vals.append(np.ones(n))

    def consumes(self, col: int, coef: float, n: int | None = None) -> None:
        """Columns ``col …`` add ``coef`` MW each to end-use consumption (coefficient −ρ·coef·Δ)."""
        if self.rho is not None:
            n = self.N if n is None else n
            self.share_cols.append(col + np.arange(n))
            self.share_vals.append(np.full(n, -self.rho * coef))


def _pv(L: _Blocks, a: PV, ctx: _Ctx, node: str) -> _Recipe:
    """§4.1: p ∈ [0, avail] [MW]; inj = p; cost c_curt·Δ·Σ(avail − p) = offset − c_curt·Δ·Σ p."""
    avail = ctx.case.series(a.available_mw)
    c = a.curtailment_cny_per_mwh
    p = L.cols(ctx.N, 0.0, avail, cost=-c * ctx.dt)
    if c:
        L.add_offset(c * ctx.dt * float(avail.sum()))
    ctx.inject(L, node, p, 1.0)
    ctx.renewable(p)
    return _Recipe("pv", a, {"p": p}, {"avail": avail})


def _load(L: _Blocks, a: Load, ctx: _Ctx, node: str) -> _Recipe:
    """§4.2: no column; inj = −demand [MW] goes to the balance right-hand side."""
    demand = ctx.case.series(a.demand_mw)
    ctx.constant_injection(node, -demand)
    ctx.share_const += float(demand.sum())
    return _Recipe("load", a, {}, {"demand": demand})


def _battery(L: _Blocks, a: Battery, ctx: _Ctx, node: str) -> _Recipe:
    """§4.3: ch, dis [MW], soc [MWh], b binary; the recursion for all t at once (soc[t−1] at column t − 1)."""
    N, dt, t = ctx.N, ctx.dt, ctx.t
    E, pch, pdis = a.energy_mwh, a.charge_mw, a.discharge_mw
    keep = 1.0 - a.self_discharge_per_hour * dt
    soc_lo = np.full(N, a.soc_min * E)
    soc_lo[-1] = max(soc_lo[-1], a.final_min * E)  # soc[N−1] ≥ soc_final_min·E as a bound
    ch = L.cols(N, 0.0, pch)
    dis = L.cols(N, 0.0, pdis, cost=a.degradation_cny_per_mwh * dt)
    soc = L.cols(N, soc_lo, a.soc_max * E)
    b = L.cols(N, 0.0, 1.0, integer=True)
    r = L.rows(N, hi=0.0)  # ch − Pch·b ≤ 0
    L.coef(r + t, ch + t, 1.0)
    L.coef(r + t, b + t, -pch)
    r = L.rows(N, hi=pdis)  # dis + Pdis·b ≤ Pdis
    L.coef(r + t, dis + t, 1.0)
    L.coef(r + t, b + t, pdis)
    rhs = np.zeros(N)
    rhs[0] = keep * a.soc_initial * E
    r = L.rows(N, rhs, rhs)  # soc recursion
    L.coef(r + t, soc + t, 1.0)
    L.coef(r + t[1:], soc + t[:-1], -keep)
    L.coef(r + t, ch + t, -a.charge_efficiency * dt)
    L.coef(r + t, dis + t, dt / a.discharge_efficiency)
    if a.max_cycles is not None:
        r = L.rows(1, hi=a.max_cycles * E)
        L.coef(r, dis + t, dt)
    ctx.inject(L, node, dis, 1.0)
    ctx.inject(L, node, ch, -1.0)
    return _Recipe("battery", a, {"ch": ch, "dis": dis, "soc": soc})


def _curtailable(L: _Blocks, a: CurtailableLoad, ctx: _Ctx, node: str) -> _Recipe:
    """§4.4: r ∈ [0, min(max_reduction, demand)] [MW]; with binaries z, starts s and the duration window."""
    N, dt, t = ctx.N, ctx.dt, ctx.t
    demand = ctx.case.series(a.demand_mw)
    R = np.minimum(ctx.case.series(a.max_reduction_mw), demand)
    r_col = L.cols(N, 0.0, R, cost=a.cost_cny_per_mwh * dt)
    cols = {"r": r_col}
    if a.needs_binaries:
        D = a.min_duration_steps
        z = L.cols(N, 0.0, 1.0, integer=True)
        s = L.cols(N, 0.0, 1.0)
        cols["z"] = z
        row = L.rows(N, hi=0.0)  # r − R·z ≤ 0
        L.coef(row + t, r_col + t, 1.0)
        L.coef(row + t, z + t, -R)
        row = L.rows(N, lo=0.0)  # s[t] − z[t] + z[t−1] ≥ 0
        L.coef(row + t, s + t, 1.0)
        L.coef(row + t, z + t, -1.0)
        L.coef(row + t[1:], z + t[:-1], 1.0)
        if D > 1:
            row = L.rows(N, lo=0.0)  # z[t] − Σ_{τ=max(0,t−D+1)}^{t} s[τ] ≥ 0
            L.coef(row + t, z + t, 1.0)
            for lag in range(min(D, N)):
                L.coef(row + t[lag:], s + t[: N - lag], -1.0)
        if a.max_events is not None:
            row = L.rows(1, hi=float(a.max_events))
            L.coef(row, s + t, 1.0)
    ctx.inject(L, node, r_col, 1.0)
    ctx.constant_injection(node, -demand)
    ctx.consumes(r_col, -1.0)  # consumption = demand − r
    ctx.share_const += float(demand.sum())
    return _Recipe("curtailable_load", a, cols, {"demand": demand})


def _shiftable(L: _Blocks, a: ShiftableLoad, ctx: _Ctx, node: str) -> _Recipe:
    """§4.5: binaries x[τ], Σ x = 1; x[τ] draws profile[k] [MW] at step τ + k of its node."""
    profile = np.asarray(a.profile_mw, dtype=float)
    end = ctx.N if a.latest_end is None else a.latest_end
    taus = np.arange(a.earliest_start, end - len(profile) + 1)
    x = L.cols(len(taus), 0.0, 1.0, integer=True)
    r = L.rows(1, 1.0, 1.0)  # Σ x = 1
    L.coef(r, x + np.arange(len(taus)), 1.0)
    k = np.flatnonzero(profile)
    # consumption c[t] = Σ_τ x[τ]·profile[t − τ]: −profile[k] at (balance row τ + k, column of x[τ])
    L.coef(
        ctx.balance[node] + taus[:, None] + k[None, :],
        x + np.arange(len(taus))[:, None],
        -profile[k][None, :],
    )
    ctx.consumes(x, float(profile.sum()), len(taus))  # Σ_t c[t] = Σ profile · Σ_τ x[τ]
    return _Recipe("shiftable_load", a, {"x": x}, {"profile": profile, "taus": taus})


def _flexible(L: _Blocks, a: FlexibleLoad, ctx: _Ctx, node: str) -> _Recipe:
    """§4.6: p ∈ [min, max] [MW]; Δ·Σ p = energy [MWh]; Δ·Σ_{t<k} p ≥ E_k [MWh]."""
    N, dt, t = ctx.N, ctx.dt, ctx.t
    p = L.cols(N, ctx.case.series(a.min_power_mw), ctx.case.series(a.max_power_mw))
    r = L.rows(1, a.energy_mwh, a.energy_mwh)  # Δ·Σ p = energy
    L.coef(r, p + t, dt)
    reqs = a.requirements
    if reqs:
        r = L.rows(len(reqs), lo=np.array([q.energy_mwh for q in reqs]))  # Δ·Σ_{t<k} p ≥ E_k
        ks = np.array([q.by_step for q in reqs])
        L.coef(np.repeat(r + np.arange(len(reqs)), ks), p + np.concatenate([np.arange(k) for k in ks]), dt)
    ctx.inject(L, node, p, -1.0)
    ctx.consumes(p, 1.0)
    return _Recipe("flexible_load", a, {"p": p})


def _green(L: _Blocks, a: GreenContract, ctx: _Ctx, node: str) -> _Recipe:
    """§4.7 with §3: g [MW] costs Δ·(price − buy − carbon·emission); x binary when optional."""
    N, dt, t = ctx.N, ctx.dt, ctx.t
    avail = ctx.case.series(a.available_mw)
    carbon = ctx.case.carbon_price_cny_per_t
    cost = dt * (a.price_cny_per_mwh - ctx.buy - carbon * ctx.emission)
    cols: dict[str, int] = {}
    if a.optional:
        g = L.cols(N, 0.0, avail, cost=cost)
        x = L.cols(1, 0.0, 1.0, cost=a.fixed_cny, integer=True)
        cols["x"] = x
        r = L.rows(N, hi=0.0)  # g − avail·x ≤ 0
        L.coef(r + t, g + t, 1.0)
        L.coef(r + t, x, -avail)
        if a.min_take > 0:
            r = L.rows(N, lo=0.0)  # g − min_take·avail·x ≥ 0
            L.coef(r + t, g + t, 1.0)
            L.coef(r + t, x, -a.min_take * avail)
    else:
        g = L.cols(N, a.min_take * avail, avail, cost=cost)
        if a.fixed_cny:
            L.add_offset(a.fixed_cny)
    cols["g"] = g
    ctx.green_cols.append(g)
    ctx.renewable(g)
    return _Recipe("green_contract", a, cols, {"avail": avail})


def _thermal(L: _Blocks, a: ThermalStorage, ctx: _Ctx, node: str) -> _Recipe:
    """§4.8: e [MW], h [MWh_th], w [MW_th] at voll; h[N−1] ≥ h[−1] as the bound of its column."""
    N, dt, t = ctx.N, ctx.dt, ctx.t
    demand = ctx.case.series(a.thermal_demand_mw)
    keep = 1.0 - a.loss_per_hour * dt
    h0 = a.level_initial * a.capacity_mwh_th
    h_lo = np.zeros(N)
    h_lo[-1] = h0  # h[N−1] ≥ h[−1] as a bound
    e = L.cols(N, 0.0, a.max_power_mw)
    h = L.cols(N, h_lo, a.capacity_mwh_th)
    w = L.cols(N, 0.0, np.inf, cost=ctx.case.voll_cny_per_mwh * dt)
    rhs = -dt * demand
    rhs[0] += keep * h0
    r = L.rows(N, rhs, rhs)
    L.coef(r + t, h + t, 1.0)
    L.coef(r + t[1:], h + t[:-1], -keep)
    L.coef(r + t, e + t, -a.cop * dt)
    L.coef(r + t, w + t, -dt)
    ctx.inject(L, node, e, -1.0)
    ctx.consumes(e, 1.0)
    return _Recipe("thermal_storage", a, {"e": e, "h": h, "w": w}, {"demand": demand})


_BLOCKS = {
    "pv": _pv,
    "load": _load,
    "battery": _battery,
    "curtailable_load": _curtailable,
    "shiftable_load": _shiftable,
    "flexible_load": _flexible,
    "green_contract": _green,
    "thermal_storage": _thermal,
}


def build(case: Case) -> DirectModel:
    """Lay ``case`` out as column and row blocks (model.md §2–§6)."""
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
    voll = case.voll_cny_per_mwh
    L = _Blocks()

    # --- system columns and the balance rows (§2, §3) -------------------------------------
    L.owner("system")
    imp = L.cols(N, 0.0, grid.import_max_mw, cost=dt * (buy + carbon * emission))
    exp = L.cols(N, 0.0, grid.export_max_mw, cost=-dt * sell)
    lo = np.array([-n.capacity_mw if n.capacity_mw is not None else -np.inf for n in nodes])
    up = np.array([n.up_limit_mw if n.up_limit_mw is not None else np.inf for n in nodes])
    f = L.cols((K - 1) * N, np.repeat(lo, N), np.repeat(up, N))
    u = L.cols(K * N, 0.0, np.inf, cost=voll * dt)
    bal = L.rows(K * N)  # bounds set once every constant injection is known
    balance = {n: bal + i * N for i, n in enumerate(names)}
    L.coef(bal + np.arange(K * N), u + np.arange(K * N), 1.0)
    L.coef(bal + t, imp + t, 1.0)
    L.coef(bal + t, exp + t, -1.0)
    if K > 1:
        own = np.arange(1, K)
        parent = np.array([index[case.parent_of(n)] for n in nodes])
        fcols = f + np.arange((K - 1) * N).reshape(K - 1, N)
        L.coef(bal + own[:, None] * N + t, fcols, -1.0)  # − f[n,t] in n's own row
        L.coef(bal + parent[:, None] * N + t, fcols, 1.0)  # + f[n,t] in its parent's row
    if grid.import_max_mw > 0 and grid.export_max_mw > 0:
        y = L.cols(N, 0.0, 1.0, integer=True)
        r = L.rows(N, hi=0.0)  # imp − I·y ≤ 0
        L.coef(r + t, imp + t, 1.0)
        L.coef(r + t, y + t, -grid.import_max_mw)
        r = L.rows(N, hi=grid.export_max_mw)  # exp + X·y ≤ X
        L.coef(r + t, exp + t, 1.0)
        L.coef(r + t, y + t, grid.export_max_mw)

    ctx = _Ctx(case=case, N=N, dt=dt, t=t, balance=balance, balance_rhs=np.zeros((K, N)),
               node_index=index, buy=buy, emission=emission, imp=imp, exp=exp, rho=case.green_share_min)

    # --- assets (§4) ------------------------------------------------------------------------
    recipes = []
    for a in case.assets:
        L.owner(a.id)
        recipes.append(_BLOCKS[a.type](L, a, ctx, a.node or root))
    L.set_rows(0, ctx.balance_rhs.ravel())  # balance rows = −Σ constant injections
    L.owner("system")
    if ctx.green_cols:
        r = L.rows(N, hi=0.0)  # Σ_k g[k,t] − imp[t] ≤ 0
        for g in ctx.green_cols:
            L.coef(r + t, g + t, 1.0)
        L.coef(r + t, imp + t, -1.0)
    if grid.demand_charge_cny_per_mw > 0:
        peak = L.cols(1, 0.0, np.inf, cost=grid.demand_charge_cny_per_mw)
        r = L.rows(N, lo=0.0)  # peak − imp[t] ≥ 0
        L.coef(r + t, peak, 1.0)
        L.coef(r + t, imp + t, -1.0)

    # --- case-level options (§5) -------------------------------------------------------------
    events = []
    for ev in case.demand_response:
        L.owner(ev.id)
        n = ev.end_step - ev.start_step
        win = np.arange(ev.start_step, ev.end_step)
        baseline = case.series(ev.baseline_mw)[win]
        revenue = ev.price_cny_per_mwh * ev.reduction_mw * n * dt
        sf = L.cols(n, 0.0, np.inf, cost=ev.shortfall_penalty_cny_per_mwh * dt)
        cols = {"sf": sf}
        if ev.optional:
            w = L.cols(1, 0.0, 1.0, cost=-revenue, integer=True)
            cols["w"] = w
            r = L.rows(n, lo=-baseline)  # sf − imp + exp − reduction·w ≥ −baseline
            L.coef(r + np.arange(n), w, -ev.reduction_mw)
        else:
            L.add_offset(-revenue)
            r = L.rows(n, lo=ev.reduction_mw - baseline)
        rr = r + np.arange(n)
        L.coef(rr, sf + np.arange(n), 1.0)
        L.coef(rr, imp + win, -1.0)
        L.coef(rr, exp + win, 1.0)
        events.append(_Recipe("event", ev, cols))
    rho = case.green_share_min
    if rho is not None:
        # Δ·Σ_t (Σ_pv p − exp + G) − ρ·Δ·Σ_t variable consumption ≥ ρ·Δ·Σ_t constant consumption
        r = L.rows(1, lo=rho * dt * ctx.share_const)
        cols_ = np.concatenate([exp + t, *ctx.share_cols])
        vals = np.concatenate([np.full(N, -1.0), *ctx.share_vals])
        L.coef(r, cols_, dt * vals)

    arrays = L.finish()
    return DirectModel(
        case=case, arrays=arrays, owners=L.owners, owner_offset=np.array(L.owner_offset), recipes=recipes,
        nodes=names, flow_start=f, unserved_start=u, imp=imp, exp=exp,
        emission=emission, events=events,
    )


# ---------------------------------------------------------------------------
# Handover: arrays → HiGHS
# ---------------------------------------------------------------------------


def handover(model: DirectModel, settings: Settings) -> highspy.Highs:
    """A HiGHS instance holding the model, passed in one ``passModel`` call of a HighsLp."""
    a = model.arrays
    # pybind11 converts a Python list to a std::vector faster than a numpy array (element by
    # element either way), so the arrays go over as lists: ~1.0 ms instead of ~1.5 ms on TEDA east.
    lp = highspy.HighsLp()
    lp.num_col_ = a.A.shape[1]
    lp.num_row_ = a.A.shape[0]
    lp.col_cost_ = a.cost.tolist()
    lp.col_lower_ = a.col_lower.tolist()
    lp.col_upper_ = a.col_upper.tolist()
    lp.row_lower_ = a.row_lower.tolist()
    lp.row_upper_ = a.row_upper.tolist()
    lp.offset_ = a.offset
    matrix = lp.a_matrix_
    matrix.format_ = highspy.MatrixFormat.kColwise
    matrix.start_ = a.A.indptr.tolist()
    matrix.index_ = a.A.indices.tolist()
    matrix.value_ = a.A.data.tolist()
    if a.integer.any():
        lp.integrality_ = _integrality(a.integer)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", float(settings.mip_gap))
    h.setOptionValue("time_limit", float(settings.time_limit_s))
    use_threads(h, settings.threads)
    h.passModel(lp)
    return h


_KINDS = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)


def _integrality(integer: np.ndarray) -> list[highspy.HighsVarType]:
    """The integrality list HighsLp wants, from a boolean mask."""
    out = [_KINDS[0]] * len(integer)
    for j in np.flatnonzero(integer).tolist():
        out[j] = _KINDS[1]
    return out


# ---------------------------------------------------------------------------
# Extract: solution vector → per-element arrays
# ---------------------------------------------------------------------------


def extract(model: DirectModel, x: np.ndarray) -> DirectSolution:
    """Per-step values of every asset, flow, exchange and event, and the cost of every element."""
    case, N = model.case, model.case.steps
    a = model.arrays
    x = x.copy()
    x[a.integer] = np.round(x[a.integer])

    def col(start: int, n: int = N) -> np.ndarray:
        return x[start : start + n]

    assets: dict[str, dict[str, np.ndarray]] = {}
    taken: dict[str, bool] = {}
    starts: dict[str, int] = {}
    green = np.zeros(N)
    for rec in model.recipes:
        el, c, k = rec.element, rec.cols, rec.const
        if rec.kind == "pv":
            p = col(c["p"])
            out = {"power_mw": p, "available_mw": k["avail"], "curtailed_mw": k["avail"] - p, "injection_mw": p}
        elif rec.kind == "load":
            out = {"consumption_mw": k["demand"], "injection_mw": -k["demand"]}
        elif rec.kind == "battery":
            ch, dis, soc = col(c["ch"]), col(c["dis"]), col(c["soc"])
            E = el.energy_mwh
            out = {"charge_mw": ch, "discharge_mw": dis, "injection_mw": dis - ch, "soc_mwh": soc,
                   "soc_fraction": soc / E if E > 0 else np.zeros(N)}
        elif rec.kind == "curtailable_load":
            r, d = col(c["r"]), k["demand"]
            flag = col(c["z"]) if "z" in c else (r > 1e-6).astype(float)
            out = {"demand_mw": d, "reduction_mw": r, "consumption_mw": d - r, "injection_mw": r - d,
                   "curtailing": flag}
        elif rec.kind == "shiftable_load":
            taus = k["taus"]
            xs = col(c["x"], len(taus))
            chosen = int(taus[int(np.argmax(xs))])
            run = np.zeros(N)
            run[taus] = xs
            cons = np.convolve(run, k["profile"])[:N]
            running = np.zeros(N)
            running[chosen : chosen + len(k["profile"])] = 1.0
            out = {"consumption_mw": cons, "injection_mw": -cons, "running": running}
            starts[el.id] = chosen
        elif rec.kind == "flexible_load":
            p = col(c["p"])
            out = {"consumption_mw": p, "injection_mw": -p, "cumulative_mwh": np.cumsum(p) * case.dt_hours}
        elif rec.kind == "green_contract":
            g = col(c["g"])
            green += g
            out = {"purchase_mw": g, "available_mw": k["avail"]}
            taken[el.id] = bool(x[c["x"]] > 0.5) if "x" in c else True
        else:  # thermal_storage
            e = col(c["e"])
            out = {"consumption_mw": e, "injection_mw": -e, "level_mwh_th": col(c["h"]),
                   "thermal_demand_mw_th": k["demand"], "unserved_thermal_mw_th": col(c["w"])}
        assets[el.id] = out

    K = len(model.nodes)
    flows = col(model.flow_start, (K - 1) * N).reshape(K - 1, N)
    unserved = col(model.unserved_start, K * N).reshape(K, N)
    imp, exp = col(model.imp), col(model.exp)
    events: dict[str, tuple[bool, np.ndarray]] = {}
    for rec in model.events:
        ev = rec.element
        sf = np.zeros(N)
        sf[ev.start_step : ev.end_step] = col(rec.cols["sf"], ev.end_step - ev.start_step)
        events[ev.id] = (bool(x[rec.cols["w"]] > 0.5) if "w" in rec.cols else True, sf)
    per_owner = np.bincount(a.owner, weights=a.cost * x, minlength=len(model.owners)) + model.owner_offset
    return DirectSolution(
        assets=assets,
        flow_mw=dict(zip(model.nodes[1:], flows, strict=True)),
        unserved_mw=dict(zip(model.nodes, unserved, strict=True)),
        import_mw=imp,
        export_mw=exp,
        green_mw=green,
        emissions_t=model.emission * (imp - green) * case.dt_hours,
        events=events,
        contracts_taken=taken,
        shiftable_start=starts,
        cost_by_element=dict(zip(model.owners, per_owner.tolist(), strict=True)),
        objective_cny=float(per_owner.sum()),
    )


# ---------------------------------------------------------------------------
# The arm
# ---------------------------------------------------------------------------


def supports(case: Case) -> str | None:
    """Every case of model.md: the direct arm writes the whole model."""
    return None


def run(case: Case, settings: Settings) -> ArmResult:
    """Build, hand over, solve and extract once; phases in wall-clock seconds."""
    return solve(case, settings)[0]


def solve(case: Case, settings: Settings) -> tuple[ArmResult, DirectSolution | None]:
    """:func:`run`, also returning the extracted solution (None without a schedule)."""
    t0 = time.perf_counter()
    model = build(case)
    t1 = time.perf_counter()
    h = handover(model, settings)
    t2 = time.perf_counter()
    h.run()
    t3 = time.perf_counter()
    a = model.arrays
    sizes = dict(variables=a.A.shape[1], constraints=a.A.shape[0], binaries=model.binaries, nonzeros=int(a.A.nnz))
    phases = {"build": t1 - t0, "handover": t2 - t1, "solve": t3 - t2, "extract": 0.0}

    ms = h.getModelStatus()
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if ms == highspy.HighsModelStatus.kOptimal:
        status = Status.OPTIMAL
    elif ms in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        status = Status.INFEASIBLE
    elif ms == highspy.HighsModelStatus.kUnbounded:
        status = Status.UNBOUNDED
    elif ms in EARLY_STOPS and has_solution and EARLY_STOPS[ms] != Status.ERROR:
        status = Status.FEASIBLE
    elif ms in EARLY_STOPS:
        status = EARLY_STOPS[ms]
    else:
        status = Status.ERROR
    note = "" if status in (Status.OPTIMAL, Status.FEASIBLE) else f"HiGHS: {h.modelStatusToString(ms)}"
    if status not in (Status.OPTIMAL, Status.FEASIBLE):
        result = ArmResult(arm=NAME, status=str(status), objective_cny=None, mip_gap=None, phases=phases,
                           note=note, **sizes)
        return result, None

    t4 = time.perf_counter()
    solution = extract(model, np.asarray(h.getSolution().col_value, dtype=float))
    phases["extract"] = time.perf_counter() - t4
    objective = float(info.objective_function_value)
    if a.integer.any():
        gap = float(info.mip_gap)
        if not math.isfinite(gap):  # no finite bound: proven optimal means 0, otherwise unknown
            gap = 0.0 if status == Status.OPTIMAL else math.inf
    else:
        gap = 0.0
    result = ArmResult(arm=NAME, status=str(status), objective_cny=objective, mip_gap=max(gap, 0.0),
                       phases=phases, note=note, **sizes)
    return result, solution
