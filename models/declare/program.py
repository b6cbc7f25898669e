"""The program an asset states itself into: variable families, constraints, ports, costs and outputs.

Every part of ``shared/spec/model.md`` (an asset, the network, the grid
connection, an event) is declared once, on a :class:`Block` of a
:class:`Program`, with the vocabulary of :mod:`models.declare.lin`::

    def declare(m: Block, a: Battery, h: Horizon) -> None:
        E = m.capacity("energy_mwh", a.energy_mwh)      # a number, or a column when sizing
        ch = m.var("ch", 0, m.capacity("power_mw", a.charge_mw))
        soc = m.var("soc", a.soc_min * E, a.soc_max * E)
        m.add("soc_balance", soc == keep * soc.prev(a.soc_initial * E) + ...)
        m.port("injection", dis - ch)
        m.cost("degradation", a.degradation_cny_per_mwh * h.dt * dis.sum())
        m.output("charge_mw", ch, total="battery_charge_mwh")

Each call writes its columns, rows and cost coefficients straight into the
standard form (:class:`models.standard_form.StandardForm`): that *is* the matrix
back end, handed to HiGHS in one ``passModel``. The program also keeps what the
other readers need: the name and index of every family and row block (the Pyomo
back end, :mod:`models.declare.pyomo`, and infeasibility reports), the ports
(what the network sums), the outputs (what results read) and the exclusivity
pairs (binaries added only where a solution needs them, :mod:`models.optimize`).

Scenarios and days (§6, storage sizing). A program holds one or more *scopes*.
A deterministic day is one scope. A stochastic day is one scope per scenario:
each declares the whole model with its own data, and a family declared
``first_stage=True`` is created by the first scenario and *shared* by the others
(one value for all scenarios); rows with only first-stage columns and
first-stage cost terms are stated once. Costs are weighted by the scope's
probability; ``expected=True`` rows (green share, emissions cap) add up over the
scenarios weighted by probability. Storage sizing puts several days in one
program, each its own case (with its own scenarios), and shares capacity
columns between them (:meth:`Program.capacity_column`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from models.declare.lin import Con, Lin
from models.standard_form import Arrays, StandardForm

#: A component's place: ((component, key), …), e.g. (("asset", "bess-1"),); () is the top level.
Path = tuple[tuple[str, Any], ...]

#: Row or column labels of a family: None = 0 … n−1 (steps), a list of labels, or a tuple of axes (their product).
Index = Any


def path_str(path: Path) -> str:
    """``asset[bess-1]``, ``scenario[s1].asset[bess-1]``; '' at the top level."""
    return ".".join(f"{c}[{k}]" for c, k in path)


def labels(index: Index, n: int) -> list[Any]:
    """The ``n`` labels of an index (see :data:`Index`)."""
    if index is None:
        return list(range(n))
    if isinstance(index, tuple):
        out: list[Any] = [()]
        for axis in index:
            out = [(*a, b) for a in out for b in axis]
        return out
    return list(index)


class Element(NamedTuple):
    """Who a quantity belongs to in the results: an asset, a node, the grid connection or an event."""

    id: str
    type: str
    node: str


@dataclass(frozen=True)
class Formulation:
    """Which exclusivity binaries the model carries, and optional valid cuts.

    binaries: ids of the elements (batteries, the grid connection ``"grid"``)
        that carry their exclusivity binary (``None`` = every element, as
        model.md writes it: b[t] of §4.3, y[t] of §3).
    storage_cut: add ch/Pch + dis/Pdis ≤ 1 for every battery: valid for the
        MIP (it follows from the binaries) and a tighter LP relaxation.
    perfect_information: in a stochastic case, every scenario takes its own
        first-stage decisions (wait-and-see), while rows that hold in expectation
        (green share, emissions cap) still add up over the scenarios: the bound
        the value of perfect information is measured against.

    :func:`models.optimize.optimize` starts with none and adds them only where
    a solution needs them.
    """

    binaries: frozenset[str] | None = None
    storage_cut: bool = False
    perfect_information: bool = False

    def needs(self, element: str) -> bool:
        return self.binaries is None or element in self.binaries


SPEC = Formulation()


@dataclass(frozen=True)
class Scope:
    """One copy of a case's model: a deterministic day, or one scenario of a stochastic day.

    prefix: where its components sit (() for a deterministic day, (("scenario", s),) …).
    case: the prefix of the case it belongs to (first-stage families are shared within a case).
    weight: the objective weight of its second-stage terms (probability × the case's weight).
    case_weight: the objective weight of the case's first-stage terms.
    first: it is the case's first scenario (first-stage rows and costs are stated there).
    scenarios: how many scenarios its case has.
    """

    prefix: Path = ()
    case: Path = ()
    name: str = ""
    weight: float = 1.0
    case_weight: float = 1.0
    first: bool = True
    scenarios: int = 1

    @property
    def probability(self) -> float:
        return self.weight / self.case_weight if self.case_weight else 0.0

    @property
    def key(self) -> str:
        """The tag of its second-stage cost terms (``""`` for a deterministic day)."""
        return path_str(self.prefix)

    @property
    def first_stage_key(self) -> str:
        """The tag of its case's first-stage cost terms."""
        return path_str(self.case) + "|first-stage"


@dataclass
class Family:
    """A variable family: ``n`` consecutive columns from ``start``."""

    path: Path
    name: str
    start: int
    n: int
    index: Index
    integer: bool
    first_stage: bool
    element: str
    explain: Callable[[int], str] | None = None
    requirement: bool = False  # its bounds are a hard requirement of the case (not a physical limit)
    lower: Any = 0.0  # its lower bounds (a number or n numbers)

    def full_name(self) -> str:
        p = path_str(self.path)
        return f"{p}.{self.name}" if p else self.name


@dataclass
class Rows:
    """A constraint family: ``m`` consecutive rows from ``start``."""

    path: Path
    name: str
    start: int
    m: int
    index: Index
    element: str
    explain: Callable[[int], str] | None = None

    def full_name(self) -> str:
        p = path_str(self.path)
        return f"{p}.{self.name}" if p else self.name


@dataclass
class Output:
    """A per-step quantity of an element in the results (evaluated at the solution)."""

    element: Element
    name: str
    value: Any  # Lin, array, number, or a callable of the element's outputs so far
    total: str | None = None  # key of summary energy totals it adds to [MWh]
    unmet: str | None = None  # kind of unmet quantity it reports (unserved, shortfall)
    table: bool = True  # a per-step row of the schedule table (False: read by reports only)


@dataclass
class ScopeState:
    """What one scope collects while its case is declared: ports, outputs, second-stage cost."""

    scope: Scope
    ports: dict[str, list[tuple[Block, Lin]]] = field(default_factory=dict)
    outputs: list[Output] = field(default_factory=list)
    costs: list[Lin] = field(default_factory=list)  # second-stage cost terms, unweighted (§6: C_s)


class Program:
    """A model under construction (see the module docstring)."""

    def __init__(self, formulation: Formulation = SPEC) -> None:
        self.formulation = formulation
        self.sf = StandardForm()
        self.families: list[Family] = []
        self.rows: list[Rows] = []
        self.scopes: list[ScopeState] = []
        self.pairs: list[tuple[str, Lin, Lin]] = []  # exclusivity left to check: (element, a, b)
        self._shared: dict[tuple[Any, ...], Lin] = {}  # first-stage families
        self._expected: dict[tuple[Any, ...], int] = {}  # expected row families: first row
        self._first_stage = np.zeros(0, dtype=bool)  # per column
        self._capacities: dict[tuple[str, str], tuple[Lin, float]] = {}
        self._capacity_lower: dict[tuple[str, str], float] = {}  # each capacity column's lower bound (for its copies)
        self._keyed: dict[tuple[str, Any], Lin] = {}  # families shared by key (billing periods)
        self._charged: set[tuple[str, Any]] = set()  # (term, key) of costs charged once

    # --- scopes and blocks -----------------------------------------------------------------

    def scope(self, scope: Scope) -> ScopeState:
        state = ScopeState(scope)
        self.scopes.append(state)
        return state

    def block(self, state: ScopeState, path: Path, element: Element, horizon: Any) -> Block:
        return Block(self, state, (*state.scope.prefix, *path), element, horizon)

    # --- columns ------------------------------------------------------------------------------

    def columns(self, path: Path, name: str, n: int, lower: Any, upper: Any, integer: bool,
                first_stage: bool, index: Index, element: str, explain: Callable[[int], str] | None = None,
                requirement: bool = False) -> Lin:
        start = self.sf.cols(n, lower, upper, integer)
        self.families.append(Family(path, name, start, n, index, integer, first_stage, element, explain, requirement,
                                   lower))
        if first_stage:
            if self._first_stage.size < self.sf.n_cols:
                grown = np.zeros(max(2 * self._first_stage.size, self.sf.n_cols), dtype=bool)
                grown[: self._first_stage.size] = self._first_stage
                self._first_stage = grown
            self._first_stage[start : start + n] = True
        return Lin.columns(start, n)

    def only_first_stage(self, lin: Lin) -> bool:
        """Every column of ``lin`` is first-stage (and it has some)."""
        cols = lin.cols
        return bool(cols.size) and bool(np.all(cols < self._first_stage.size)) and bool(
            np.all(self._first_stage[cols]))

    def capacity_column(self, element: str, name: str, upper: float, lower: float = 0.0) -> Lin:
        """A capacity [MW or MWh] of ``element`` as a column in ``[lower, upper]``, shared by every scope."""
        lin = self.columns((("capacity", element),), name, 1, lower, upper, False, True, None, element)
        self._capacities[(element, name)] = (lin, upper)
        self._capacity_lower[(element, name)] = lower
        return lin

    def capacity_copy(self, element: str, name: str, path: Path) -> Lin:
        """A copy under ``path`` of ``element``'s capacity column ``name``, in the same bounds.

        The blocks declared from now on read the copy as the capacity (:meth:`Block.capacity`); the
        caller ties it to the capacity column (a row copy = column). Giving each scope its own copy
        keeps a column shared by many scopes out of all their rows (:mod:`models.sizing`).
        """
        _, upper = self._capacities[(element, name)]
        copy = self.columns(path, name, 1, self._capacity_lower[(element, name)], upper, False, True, None, element)
        self._capacities[(element, name)] = (copy, upper)
        return copy

    def capacity(self, element: str, name: str) -> tuple[Lin, float] | None:
        return self._capacities.get((element, name))

    # --- rows ---------------------------------------------------------------------------------

    def constrain(self, path: Path, name: str, con: Con, index: Index, element: str,
                  explain: Callable[[int], str] | None) -> int:
        lo, hi = con.bounds()
        e = con.expr
        start = self.sf.rows(e.m, lo, hi)
        if e.cols.size:
            self.sf.coef(start + e.rows, e.cols, e.vals)
        self.rows.append(Rows(path, name, start, e.m, index, element, explain))
        return start

    # --- reading ------------------------------------------------------------------------------

    def finish(self) -> Arrays:
        return self.sf.finish()

    def row_name(self, i: int) -> tuple[Rows, int, str]:
        """The row block, the position in it and the spec name (``asset[b].soc_balance[37]``) of row ``i``."""
        block = _find(self.rows, i)
        j = i - block.start
        return block, j, f"{block.full_name()}{_label(labels(block.index, block.m)[j], block.m, block.index)}"

    def col_family(self, j: int) -> tuple[Family, int, str]:
        """The family, the position in it and the spec name (``asset[b].soc[37]``) of column ``j``."""
        fam = _find(self.families, j)
        k = j - fam.start
        return fam, k, f"{fam.full_name()}{_label(labels(fam.index, fam.n)[k], fam.n, fam.index)}"


def _find(blocks: Sequence[Any], i: int) -> Any:
    lo, hi = 0, len(blocks)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if blocks[mid].start <= i:
            lo = mid
        else:
            hi = mid
    return blocks[lo]


def _label(label: Any, n: int, index: Index = None) -> str:
    if n == 1 and index is None:
        return ""
    if isinstance(label, tuple):
        return "[" + ", ".join(map(str, label)) + "]"
    return f"[{label}]"


class Block:
    """Where one element (an asset, the network, an event) declares its part of the model."""

    def __init__(self, program: Program, state: ScopeState, path: Path, element: Element, horizon: Any) -> None:
        self.program = program
        self.state = state
        self.scope = state.scope
        self.path = path
        self.element = element
        self.h = horizon

    @property
    def formulation(self) -> Formulation:
        return self.program.formulation

    # --- variables ----------------------------------------------------------------------------

    def var(self, name: str, lower: Any = 0.0, upper: Any = np.inf, n: int | None = None, *,
            integer: bool = False, binary: bool = False, first_stage: bool = False, index: Index = None,
            explain: Callable[[int], str] | None = None, requirement: bool = False) -> Lin:
        """A family of ``n`` columns (default one per step) with bounds ``lower ≤ x ≤ upper``.

        Bounds are numbers or vectors; a bound that is an expression (a capacity
        column when sizing) becomes a row ``<name>_lower`` or ``<name>_upper``.
        ``binary``: integer in [0, 1]. ``first_stage``: one family for every
        scenario of the case (§6), created by the first.
        """
        if n is None:
            n = self.h.steps
            index = range(n) if index is None else index
        first_stage = first_stage and not self.program.formulation.perfect_information
        if binary:
            integer, lower, upper = True, 0.0, 1.0
        if first_stage:
            key = ("var", self.scope.case, self.path[len(self.scope.prefix):], name)
            shared = self.program._shared.get(key)
            if shared is not None:
                return shared
        lo_row = isinstance(lower, Lin) and not lower.is_constant
        hi_row = isinstance(upper, Lin) and not upper.is_constant
        lo = -np.inf if lo_row else _plain(lower, n)
        hi = np.inf if hi_row else _plain(upper, n)
        path = self.path if not first_stage else (*self.scope.case, *self.path[len(self.scope.prefix):])
        x = self.program.columns(path, name, n, lo, hi, integer, first_stage, index, self.element.id, explain,
                                 requirement)
        if lo_row:
            self.program.constrain(path, f"{name}_lower", x >= lower, index, self.element.id, None)
        if hi_row:
            self.program.constrain(path, f"{name}_upper", x <= upper, index, self.element.id, None)
        if first_stage:
            self.program._shared[key] = x
        return x

    def shared(self, name: str, key: Any, lower: Any = 0.0, upper: Any = np.inf, n: int = 1) -> tuple[Lin, bool]:
        """A family shared by every block that asks for it with the same ``key`` (across days and cases).

        Returns the family and whether this call made it. A billing period's peak demand is one
        column for every day of the month (storage sizing); its cost is charged once
        (:meth:`cost` with ``shared=key``).
        """
        found = self.program._keyed.get((name, key))
        if found is not None:
            return found, False
        lin = self.program.columns((("shared", key),), name, n, lower, upper, False, True, None, self.element.id)
        self.program._keyed[(name, key)] = lin
        return lin, True

    def capacity(self, name: str, value: float) -> float | Lin:
        """The element's capacity ``name`` [MW or MWh]: ``value``, or the sized column when it is sized."""
        found = self.program.capacity(self.element.id, name)
        return value if found is None else found[0]

    def upper(self, value: float | Lin) -> float:
        """The largest value a capacity can take: the number itself, or the sized column's upper bound."""
        if isinstance(value, Lin):
            for (_, _), (lin, upper) in self.program._capacities.items():
                if lin.cols.size == value.cols.size and np.array_equal(lin.cols, value.cols):
                    return upper
            raise ValueError("upper() takes a capacity")
        return float(value)

    def range(self, lin: Lin) -> tuple[np.ndarray, np.ndarray]:
        """The least and the largest value each element of ``lin`` can take within its columns' bounds.

        Interval arithmetic over the bounds declared so far (rows are not looked at), so the range
        is valid for every solution; ±inf where an unbounded column enters.
        """
        lower, upper = self.program.sf.col_bounds()
        lo_c, hi_c = lower[lin.cols], upper[lin.cols]
        with np.errstate(invalid="ignore"):  # 0·inf: a coefficient of zero adds nothing
            a = np.where(lin.vals == 0.0, 0.0, lin.vals * lo_c)
            b = np.where(lin.vals == 0.0, 0.0, lin.vals * hi_c)
        least = lin.const + np.bincount(lin.rows, weights=np.minimum(a, b), minlength=lin.m)
        most = lin.const + np.bincount(lin.rows, weights=np.maximum(a, b), minlength=lin.m)
        return least, most

    def exclusive(self, a: Lin, b: Lin) -> bool:
        """Whether this build keeps ``a`` and ``b`` from being positive together with a binary.

        True when the formulation gives this element its binary (model.md as
        written); otherwise the pair is recorded and checked after the solve
        (:func:`models.optimize.optimize` adds the binary where both were positive).
        """
        if self.program.formulation.needs(self.element.id):
            return True
        self.program.pairs.append((self.element.id, a, b))
        return False

    # --- constraints, ports, costs, outputs -------------------------------------------------------

    def add(self, name: str, con: Con, *, index: Index = None, explain: Callable[[int], str] | None = None,
            expected: bool = False) -> None:
        """The rows ``con`` (one per element of its expression), named ``name`` on this block.

        ``expected``: in a stochastic case the rows hold in expectation over the
        scenarios (``Σ_s π_s·(…)``, model.md §6): the scenarios add into one row family.
        ``explain(j)``: a sentence saying what row j asks for, in an infeasibility report.
        """
        if not isinstance(con, Con):
            raise TypeError(f"{name}: expected a constraint (a comparison of expressions), got {type(con).__name__}")
        scope = self.scope
        if index is None and self.h is not None and con.expr.m == self.h.steps:
            index = range(con.expr.m)  # one row per step
        if expected and (not scope.first or scope.probability != 1.0):
            key = ("rows", scope.case, self.path[len(scope.prefix):], name)
            p = scope.probability
            lo, hi = con.bounds()
            e = con.expr
            if key not in self.program._expected:
                path = (*scope.case, *self.path[len(scope.prefix):])
                weighted = Lin(e.m, e.rows, e.cols, p * e.vals, np.zeros(e.m))
                self.program._expected[key] = self.program.constrain(
                    path, name, Con(weighted, p * lo, p * hi), index, self.element.id, explain)
                return
            start = self.program._expected[key]
            record = self.program.sf.row_block(start)
            record[2] = record[2] + p * lo
            record[3] = record[3] + p * hi
            if e.cols.size:
                self.program.sf.coef(start + e.rows, e.cols, p * e.vals)
            return
        path = self.path
        if scope.scenarios > 1 and self.program.only_first_stage(con.expr):
            if not scope.first:
                return  # stated by the first scenario
            path = (*scope.case, *self.path[len(scope.prefix):])
        self.program.constrain(path, name, con, index, self.element.id, explain)

    def port(self, name: str, value: Lin | np.ndarray) -> None:
        """Offer ``value`` (one per step) under ``name`` to whoever sums it (the network sums ``injection``)."""
        if not isinstance(value, Lin):
            value = Lin.constant(value, self.h.steps)
        self.state.ports.setdefault(name, []).append((self, value))

    def ports(self, name: str) -> list[tuple[Block, Lin]]:
        """Every (block, value) offered under ``name`` in this scope, in declaration order."""
        return self.state.ports.get(name, [])

    def port_sum(self, name: str) -> Lin:
        """The sum of every value offered under ``name`` in this scope (zero if none)."""
        return Lin.stack([v for _, v in self.ports(name)], self.h.steps)

    def cost(self, term: str, value: Lin | float, *, first_stage: bool = False, shared: Any = None) -> None:
        """A cost term [CNY] of this element: ``value`` summed over its elements.

        ``first_stage``: decided day-ahead for every scenario (model.md §6: green
        fixed fees, demand-response and regulation revenues); stated once.
        ``shared``: the cost of a family shared by key (:meth:`shared`): charged once, with
        weight 1, whatever the weight of the days that share it (a month's demand charge).
        """
        scope = self.scope
        first_stage = first_stage and not self.program.formulation.perfect_information
        if first_stage and not scope.first:
            return
        if shared is not None:
            if (term, shared) in self.program._charged:
                return
            self.program._charged.add((term, shared))
            lin = value.sum() if isinstance(value, Lin) else Lin.constant(float(value), 1)
            self.program.sf.cost(lin.cols, lin.vals, self.element.id, term, float(lin.const[0]), f"shared:{shared}")
            return
        lin = value.sum() if isinstance(value, Lin) else Lin.constant(float(value), 1)
        if lin.m != 1:
            lin = lin.sum()
        w = scope.case_weight if first_stage else scope.weight
        self.program.sf.cost(lin.cols, w * lin.vals, self.element.id, term, w * float(lin.const[0]),
                             scope.first_stage_key if first_stage else scope.key)
        if not first_stage:
            self.state.costs.append(lin)

    def output(self, name: str, value: Any, *, total: str | None = None, unmet: str | None = None,
               element: Element | None = None, table: bool = True) -> None:
        """A quantity of the results (its unit ends its name: ``_mw``, ``_mwh``, ``_mw_th``, …).

        ``value``: an expression, numbers, or a function of the element's outputs so far.
        ``total``: the summary's energy total it adds to (``pv_used_mwh``).
        ``unmet``: it is an unmet quantity of that kind (``unserved_electric``), named in the results.
        ``table``: False for a quantity the element's report reads but the schedule table leaves out.
        """
        self.state.outputs.append(Output(element or self.element, name, value, total, unmet, table))


def _plain(bound: Any, n: int) -> Any:
    if isinstance(bound, Lin):
        return bound.const if bound.m == n else float(bound.const[0])
    return bound
