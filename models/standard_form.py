"""The matrix standard form every model is solved in, and a builder that fills it by blocks.

``min c·x + offset  s.t.  row_lower ≤ A·x ≤ row_upper,  col_lower ≤ x ≤ col_upper``,
some columns integer. :class:`models.declare.Program` writes every statement of
the model into a :class:`StandardForm` as it is declared (the fast path every
solve takes); the Pyomo back end is compiled to the same :class:`Arrays`
(:func:`models.solve.compile_pyomo`).

:class:`StandardForm` works in *blocks*: a variable family of ``n`` consecutive
columns and a constraint family of ``n`` consecutive rows are each added with
one call, and coefficients are written for a whole block at once with numpy
index arithmetic. Every cost coefficient is charged to an *(element, term,
scope)* triple (an asset, an event or ``"system"``; a term such as ``energy`` or
``degradation``; the scenario or day it belongs to), so the cost of each can be
read back from a solution (:meth:`Arrays.term_costs`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

_I32 = np.int32

#: Values of one element's quantities by name after a solve (None: it has no such quantity).
Reader = Callable[[str], "np.ndarray | None"]


@dataclass
class TermCost:
    """One cost contribution ``Σ vals·x[cols] + constant`` [CNY], charged to (element, term) in ``scope``."""

    element: str
    term: str
    cols: np.ndarray
    vals: np.ndarray
    constant: float = 0.0
    scope: str = ""


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

    def term_costs(self, x: np.ndarray, scope: str | None = None) -> list[tuple[str, str, float]]:
        """(element, term, CNY) for every term, in the order first charged, at the solution ``x``.

        ``scope``: only the terms of that scope (scenario or day); None: all, as weighted in the objective.
        """
        totals: dict[tuple[str, str], float] = {}
        for tc in self.terms:
            if scope is not None and tc.scope != scope:
                continue
            value = tc.constant
            if tc.cols.size:
                value += float(np.dot(tc.vals, x[tc.cols]))
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
        self._v: list[np.ndarray] = []
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

    def col_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The lower and upper bounds of the columns so far."""
        lower, upper = np.empty(self.n_cols), np.empty(self.n_cols)
        for start, k, lo, hi in self._cols:
            lower[start : start + k] = lo
            upper[start : start + k] = hi
        return lower, upper

    def cost(self, cols: np.ndarray, vals: np.ndarray, element: str, term: str,
             constant: float = 0.0, scope: str = "") -> None:
        """Add ``vals`` to the cost of columns ``cols`` and ``constant`` to the offset, charged to (element, term)."""
        self.terms.append(TermCost(element, term, np.asarray(cols, dtype=np.int64),
                                   np.asarray(vals, dtype=float), float(constant), scope))

    # --- rows and coefficients ---------------------------------------------------------

    def rows(self, n: int, lower: Any = -np.inf, upper: Any = np.inf) -> int:
        """``n`` new rows ``lower ≤ A·x ≤ upper`` (numbers or arrays of ``n``); the index of the first."""
        start = self.n_rows
        self.n_rows += n
        self._rows.append([start, n, lower, upper])
        return start

    def row_block(self, first_row: int) -> list[Any]:
        """The ``[start, n, lower, upper]`` record of the row block that starts at ``first_row`` (mutable)."""
        for block in self._rows:
            if block[0] == first_row:
                return block
        raise KeyError(f"no row block starts at row {first_row}")

    def coef(self, rows: Any, cols: Any, vals: Any) -> None:
        """Coefficients ``A[rows, cols] = vals``, broadcast together; repeated entries add up."""
        r, c = np.asarray(rows), np.asarray(cols)
        if r.shape != c.shape or np.ndim(vals) == 0 or np.shape(vals) != r.shape:
            r, c, vals = np.broadcast_arrays(r, c, vals)
        self._r.append(r.ravel())
        self._c.append(c.ravel())
        self._v.append(np.asarray(vals, dtype=float).ravel())
        self.nnz += r.size

    # --- the arrays --------------------------------------------------------------------

    def finish(self) -> Arrays:
        n, m = self.n_cols, self.n_rows
        lower, upper = self.col_bounds()
        integer = np.zeros(n, dtype=bool)
        for start, k in self._integer:
            integer[start : start + k] = True
        offset = 0.0
        cost = np.zeros(n)
        if self.terms:
            cols = np.concatenate([tc.cols for tc in self.terms])
            vals = np.concatenate([tc.vals for tc in self.terms])
            cost += np.bincount(cols, weights=vals, minlength=n) if cols.size else 0.0
            offset = float(sum(tc.constant for tc in self.terms))
        row_lower, row_upper = np.empty(m), np.empty(m)
        for start, k, lo, hi in self._rows:
            row_lower[start : start + k] = lo
            row_upper[start : start + k] = hi
        if self._r:
            r, c, v = np.concatenate(self._r), np.concatenate(self._c), np.concatenate(self._v)
            keep = v != 0.0  # e.g. avail·x at night, R·z where nothing can be shed
            r, c, v = r[keep].astype(_I32), c[keep].astype(_I32), v[keep]
        else:
            r = c = np.zeros(0, dtype=_I32)
            v = np.zeros(0)
        A = sp.csc_array((v, (r, c)), shape=(m, n))
        A.sum_duplicates()
        A.eliminate_zeros()  # entries that cancelled (x − x)
        return Arrays(A=A, col_lower=lower, col_upper=upper, cost=cost, integer=integer,
                      row_lower=row_lower, row_upper=row_upper, offset=offset, terms=self.terms)
