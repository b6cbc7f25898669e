"""The matrix standard form every model is solved in, and a builder that fills it by blocks.

``min c·x + offset  s.t.  row_lower ≤ A·x ≤ row_upper,  col_lower ≤ x ≤ col_upper``,
some columns integer. Both engines end here: the Pyomo model is compiled into
:class:`Arrays` (:func:`models.solve.compile_pyomo`), and the matrix engine
(:mod:`models.matrix`) writes :class:`Arrays` directly with :class:`StandardForm`.

:class:`StandardForm` works in *blocks*: a variable family of ``n`` consecutive
columns (one per step, usually) and a constraint family of ``n`` consecutive
rows are each added with one call, and coefficients are written for a whole
block at once with numpy index arithmetic (``first_row + t``, ``first_col + t``
for ``t = np.arange(N)``). Every cost coefficient is charged to an
*(element, term)* pair (an asset, an event or ``"system"``, and a term such as
``energy`` or ``degradation``), so the cost of each element and term can be read
back from a solution (:meth:`Arrays.term_costs`), as the Pyomo model's
``cost_<term>`` Expressions are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

_I32 = np.int32

#: Column blocks of one element (asset, event or the system): variable name → (first column, columns).
Columns = dict[str, tuple[int, int]]

#: Values of one element's variable by name after a solve, either engine (None: it has no such variable).
Reader = Callable[[str], "np.ndarray | None"]


@dataclass
class TermCost:
    """One cost contribution: ``coef·x[start : start + n]`` plus ``constant`` [CNY], charged to (element, term)."""

    element: str
    term: str
    start: int = 0
    n: int = 0
    coef: Any = 0.0  # a number or an array of n [CNY per unit of the column]
    constant: float = 0.0


@dataclass
class Arrays:
    """A model in standard form (see the module docstring); ``terms`` split its objective by element and term."""

    A: sp.csc_array
    col_lower: np.ndarray
    col_upper: np.ndarray
    cost: np.ndarray
    integer: np.ndarray  # bool per column
    row_lower: np.ndarray
    row_upper: np.ndarray
    offset: float
    terms: list[TermCost] = field(default_factory=list)

    @property
    def sizes(self) -> dict[str, int]:
        """Columns, rows, integer columns and nonzeros, as :class:`models.solve.SolveReport` counts them."""
        return dict(variables=int(self.A.shape[1]), constraints=int(self.A.shape[0]),
                    binaries=int(self.integer.sum()), nonzeros=int(self.A.nnz))

    def term_costs(self, x: np.ndarray) -> list[tuple[str, str, float]]:
        """(element, term, CNY) for every term, in the order they were first charged, at the solution ``x``."""
        totals: dict[tuple[str, str], float] = {}
        for tc in self.terms:
            value = tc.constant
            if tc.n:
                value += float(np.dot(np.broadcast_to(tc.coef, tc.n), x[tc.start : tc.start + tc.n]))
            key = (tc.element, tc.term)
            totals[key] = totals.get(key, 0.0) + value
        return [(e, t, v) for (e, t), v in totals.items()]


class StandardForm:
    """Build :class:`Arrays` by column and row blocks (numbers or arrays per block, written once in :meth:`finish`)."""

    def __init__(self) -> None:
        self.n_cols = 0
        self.n_rows = 0
        self.nnz = 0
        self._cols: list[tuple[int, int, Any, Any]] = []  # start, n, lower, upper
        self._integer: list[tuple[int, int]] = []
        self._rows: list[list[Any]] = []  # [start, n, lower, upper]
        self._r: list[np.ndarray] = []
        self._c: list[np.ndarray] = []
        self._v: list[tuple[int, int, Any]] = []  # (first entry, entries, value or values)
        self.terms: list[TermCost] = []

    # --- columns and costs -------------------------------------------------------------

    def cols(self, n: int, lower: Any = 0.0, upper: Any = np.inf, integer: bool = False) -> int:
        """``n`` new columns with bounds (numbers or arrays of ``n``); the index of the first."""
        start = self.n_cols
        self.n_cols += n
        self._cols.append((start, n, lower, upper))
        if integer:
            self._integer.append((start, n))
        return start

    def cost(self, start: int, n: int, coef: Any, element: str, term: str) -> None:
        """Add ``coef`` (a number or an array of ``n``) to the cost of columns ``start … start + n − 1``."""
        self.terms.append(TermCost(element, term, start, n, coef))

    def constant(self, value: float, element: str, term: str) -> None:
        """A constant cost [CNY] (the objective's offset), charged to (element, term)."""
        self.terms.append(TermCost(element, term, constant=float(value)))

    # --- rows and coefficients ---------------------------------------------------------

    def rows(self, n: int, lower: Any = -np.inf, upper: Any = np.inf) -> int:
        """``n`` new rows ``lower ≤ A·x ≤ upper`` (numbers or arrays of ``n``); the index of the first."""
        start = self.n_rows
        self.n_rows += n
        self._rows.append([start, n, lower, upper])
        return start

    def equal(self, first_row: int, rhs: Any) -> None:
        """Make the row block that starts at ``first_row`` equalities ``A·x = rhs``."""
        for block in self._rows:
            if block[0] == first_row:
                block[2] = block[3] = rhs
                return
        raise KeyError(f"no row block starts at row {first_row}")

    def coef(self, rows: Any, cols: Any, vals: Any) -> None:
        """Coefficients ``A[rows, cols] = vals``, broadcast together; repeated entries add up."""
        r, c = np.asarray(rows), np.asarray(cols)
        if r.shape != c.shape:
            r, c = np.broadcast_arrays(r, c)
        if np.ndim(vals) > 0 and np.shape(vals) != r.shape:
            r, c, vals = np.broadcast_arrays(r, c, vals)
        k = r.size
        self._r.append(r.ravel())
        self._c.append(c.ravel())
        self._v.append((self.nnz, k, vals if np.ndim(vals) == 0 else np.ravel(vals)))
        self.nnz += k

    # --- the arrays --------------------------------------------------------------------

    def finish(self) -> Arrays:
        n, m = self.n_cols, self.n_rows
        lower, upper = np.empty(n), np.empty(n)
        for start, k, lo, hi in self._cols:
            lower[start : start + k] = lo
            upper[start : start + k] = hi
        integer = np.zeros(n, dtype=bool)
        for start, k in self._integer:
            integer[start : start + k] = True
        cost = np.zeros(n)
        offset = 0.0
        for tc in self.terms:
            if tc.n:
                cost[tc.start : tc.start + tc.n] += tc.coef
            offset += tc.constant
        row_lower, row_upper = np.empty(m), np.empty(m)
        for start, k, lo, hi in self._rows:
            row_lower[start : start + k] = lo
            row_upper[start : start + k] = hi
        v = np.empty(self.nnz)
        for start, k, val in self._v:
            v[start : start + k] = val
        keep = v != 0.0  # e.g. avail·x at night, R·z where nothing can be shed
        r = np.concatenate(self._r)[keep].astype(_I32) if self._r else np.zeros(0, dtype=_I32)
        c = np.concatenate(self._c)[keep].astype(_I32) if self._c else np.zeros(0, dtype=_I32)
        A = sp.csc_array((v[keep], (r, c)), shape=(m, n))
        A.sum_duplicates()
        return Arrays(A=A, col_lower=lower, col_upper=upper, cost=cost, integer=integer,
                      row_lower=row_lower, row_upper=row_upper, offset=offset, terms=self.terms)
