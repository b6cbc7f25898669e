"""Affine vector expressions over a program's columns: the algebra an asset states its maths in.

A :class:`Lin` of length ``m`` is ``m`` affine expressions at once, one per row
of a vector (usually one per step):

    value[i] = const[i] + Σ_k vals[k]·x[cols[k]]   over the entries k with rows[k] = i

where ``x`` are the columns of the program (global indices). A variable family of
``n`` columns is the Lin with one entry per row. Everything an asset of
``shared/spec/model.md`` says is built from a few operations on such vectors,
each a sparse linear map of the entries, written once with numpy:

=====================  =========================================================
``a + b``, ``c * a``   sums, products with a number or a vector of ``m`` numbers
``a.prev(x0)``         ``a[t−1]``, with ``x0`` (a number or a 1-long Lin) at t = 0
``a.last()``           ``a[m−1]`` (length 1)
``a.sum()``            ``Σ_t a[t]`` (length 1)
``a.rolling(D)``       ``Σ_{τ=max(0,t−D+1)}^{t} a[τ]`` (rolling windows)
``a.prefix(ks)``       ``Σ_{t<k} a[t]`` for each k in ``ks`` (prefix sums, deadlines)
``a.take(idx)``        ``a[idx[j]]`` (windows, blocks of steps)
``a.spread(p, at, m)`` ``Σ_j a[j]·p[t − at[j]]`` over ``0 ≤ t − at[j] < len(p)``
                       (the shift of a profile: shiftable loads)
``a <= b`` (≥, ==)     a :class:`Con`: one row per element
=====================  =========================================================

A Lin of length 1 broadcasts against a longer one (a capacity column against
a step vector). Numpy arrays on the left of an operator defer to Lin
(``__array_ufunc__ = None``), so ``price * imp`` and ``lower <= x`` work.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0)
_RANGES: dict[int, np.ndarray] = {}
_ONES: dict[int, np.ndarray] = {}


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


def _range(n: int) -> np.ndarray:
    """``np.arange(n)``, shared (read-only): a Lin never changes an array in place."""
    found = _RANGES.get(n)
    if found is None:
        found = _RANGES[n] = _frozen(np.arange(n))
    return found


def _ones(n: int) -> np.ndarray:
    found = _ONES.get(n)
    if found is None:
        found = _ONES[n] = _frozen(np.ones(n))
    return found


def _vector(value: Any, m: int) -> np.ndarray:
    """A number or an array of ``m`` numbers as an array of ``m`` floats."""
    if isinstance(value, (int, float)):
        return np.full(m, float(value))
    if np.ndim(value) == 0:
        return np.full(m, float(value))
    arr = np.asarray(value, dtype=float)
    if arr.shape != (m,):
        raise ValueError(f"expected {m} values, got an array of shape {arr.shape}")
    return arr


class Lin:
    """``m`` affine expressions over the program's columns (see the module docstring)."""

    __slots__ = ("m", "rows", "cols", "vals", "const")
    __array_ufunc__ = None  # numpy defers to the reflected operators below

    def __init__(self, m: int, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, const: np.ndarray) -> None:
        self.m = m
        self.rows = rows
        self.cols = cols
        self.vals = vals
        self.const = const

    # --- construction ---------------------------------------------------------------

    @classmethod
    def columns(cls, start: int, n: int) -> Lin:
        """The variable family of columns ``start … start + n − 1``, one per row."""
        r = _range(n)
        return cls(n, r, r + start, _ones(n), np.zeros(n))

    @classmethod
    def constant(cls, value: Any, m: int) -> Lin:
        """A vector of ``m`` numbers (no column)."""
        return cls(m, _EMPTY_I, _EMPTY_I, _EMPTY_F, _vector(value, m))

    @classmethod
    def zeros(cls, m: int) -> Lin:
        return cls(m, _EMPTY_I, _EMPTY_I, _EMPTY_F, np.zeros(m))

    @classmethod
    def stack(cls, parts: list[Lin], m: int) -> Lin:
        """The sum of ``parts`` (each of length ``m``, or 1 to broadcast); zero if there are none."""
        if not parts:
            return cls.zeros(m)
        parts = [p if p.m == m else p.broadcast(m) for p in parts]
        if len(parts) == 1:
            return parts[0]
        return cls(
            m,
            np.concatenate([p.rows for p in parts]),
            np.concatenate([p.cols for p in parts]),
            np.concatenate([p.vals for p in parts]),
            np.sum([p.const for p in parts], axis=0),
        )

    @property
    def is_constant(self) -> bool:
        return self.cols.size == 0

    def broadcast(self, m: int) -> Lin:
        """A Lin of length 1 repeated ``m`` times."""
        if self.m == m:
            return self
        if self.m != 1:
            raise ValueError(f"cannot combine expressions of length {self.m} and {m}")
        k = self.cols.size
        return Lin(m, np.repeat(np.arange(m), k), np.tile(self.cols, m), np.tile(self.vals, m),
                   np.full(m, self.const[0]))

    # --- arithmetic -----------------------------------------------------------------

    def __add__(self, other: Any) -> Lin:
        if isinstance(other, Lin):
            m = max(self.m, other.m)
            a, b = self.broadcast(m), other.broadcast(m)
            return Lin(m, np.concatenate((a.rows, b.rows)), np.concatenate((a.cols, b.cols)),
                       np.concatenate((a.vals, b.vals)), a.const + b.const)
        if np.ndim(other) == 0:
            if other == 0:
                return self
            return Lin(self.m, self.rows, self.cols, self.vals, self.const + float(other))
        other = np.asarray(other, dtype=float)
        me = self.broadcast(other.shape[0]) if self.m == 1 else self
        return Lin(me.m, me.rows, me.cols, me.vals, me.const + _vector(other, me.m))

    __radd__ = __add__

    def __neg__(self) -> Lin:
        return Lin(self.m, self.rows, self.cols, -self.vals, -self.const)

    def __sub__(self, other: Any) -> Lin:
        return self + (-other)

    def __rsub__(self, other: Any) -> Lin:
        return (-self) + other

    def __mul__(self, coef: Any) -> Lin:
        if isinstance(coef, Lin):
            if coef.is_constant:
                return self * (coef.const if coef.m > 1 else float(coef.const[0]))
            if self.is_constant:
                return coef * (self.const if self.m > 1 else float(self.const[0]))
            raise TypeError("the product of two expressions with columns is not linear")
        if np.ndim(coef) == 0:
            c = float(coef)
            return Lin(self.m, self.rows, self.cols, self.vals * c, self.const * c)
        coef = np.asarray(coef, dtype=float)
        me = self.broadcast(coef.shape[0]) if self.m == 1 else self
        coef = _vector(coef, me.m)
        return Lin(me.m, me.rows, me.cols, me.vals * coef[me.rows], me.const * coef)

    __rmul__ = __mul__

    def __truediv__(self, coef: Any) -> Lin:
        return self * (1.0 / np.asarray(coef, dtype=float) if np.ndim(coef) else 1.0 / float(coef))

    # --- the vocabulary of the spec ----------------------------------------------------

    def prev(self, initial: Any = 0.0) -> Lin:
        """``self[t−1]`` for t ≥ 1 and ``initial`` (a number or a Lin of length 1) at t = 0."""
        m = self.m
        keep = self.rows < m - 1
        const = np.empty(m)
        const[1:] = self.const[:-1]
        const[0] = 0.0
        out = Lin(m, self.rows[keep] + 1, self.cols[keep], self.vals[keep], const)
        if isinstance(initial, Lin):
            if initial.m != 1:
                raise ValueError("the initial value of prev() is one number or one expression")
            return out + Lin(m, np.zeros(initial.cols.size, dtype=np.int64), initial.cols, initial.vals,
                             np.concatenate((initial.const, np.zeros(m - 1))))
        const[0] = float(initial)
        return out

    def shift(self, lag: int) -> Lin:
        """``self[t − lag]`` (0 where t < lag)."""
        if lag == 0:
            return self
        m = self.m
        keep = self.rows < m - lag
        const = np.zeros(m)
        const[lag:] = self.const[: m - lag]
        return Lin(m, self.rows[keep] + lag, self.cols[keep], self.vals[keep], const)

    def last(self) -> Lin:
        """``self[m−1]``, a Lin of length 1."""
        keep = self.rows == self.m - 1
        return Lin(1, np.zeros(int(keep.sum()), dtype=np.int64), self.cols[keep], self.vals[keep],
                   self.const[-1:].copy())

    def sum(self) -> Lin:
        """``Σ_t self[t]``, a Lin of length 1."""
        return Lin(1, np.zeros(self.cols.size, dtype=np.int64), self.cols, self.vals,
                   np.array([self.const.sum()]))

    def dot(self, coef: Any) -> Lin:
        """``Σ_t coef[t]·self[t]``, a Lin of length 1."""
        return (self * coef).sum()

    def rolling(self, width: int) -> Lin:
        """``Σ_{τ=max(0,t−width+1)}^{t} self[τ]``: the sum over a window of ``width`` steps ending at t."""
        return Lin.stack([self.shift(lag) for lag in range(min(width, self.m))], self.m)

    def take(self, idx: Any) -> Lin:
        """``self[idx[j]]`` for each j: a Lin of length ``len(idx)`` (rows may repeat)."""
        idx = np.asarray(idx, dtype=np.int64)
        order = np.argsort(self.rows, kind="stable")
        counts = np.bincount(self.rows, minlength=self.m)
        first = np.concatenate(([0], np.cumsum(counts)))
        n = counts[idx]
        total = int(n.sum())
        new_rows = np.repeat(np.arange(idx.size), n)
        offset = np.arange(total) - np.repeat(np.cumsum(n) - n, n)
        pick = order[np.repeat(first[idx], n) + offset]
        return Lin(idx.size, new_rows, self.cols[pick], self.vals[pick], self.const[idx])

    def remap(self, to: Any, m: int) -> Lin:
        """Element i becomes element ``to[i]`` of a vector of length ``m`` (several may add into one)."""
        to = np.asarray(to, dtype=np.int64)
        const = np.zeros(m)
        np.add.at(const, to, self.const)
        return Lin(m, to[self.rows], self.cols, self.vals, const)

    def prefix(self, ks: Any) -> Lin:
        """``Σ_{t<k} self[t]`` for each k in ``ks``: a Lin of length ``len(ks)``."""
        ks = np.asarray(ks, dtype=np.int64)
        parts = []
        for j, k in enumerate(ks.tolist()):
            keep = self.rows < k
            parts.append((np.full(int(keep.sum()), j), self.cols[keep], self.vals[keep]))
        const = np.array([self.const[:k].sum() for k in ks.tolist()])
        if not parts:
            return Lin.constant(const, 0)
        return Lin(ks.size, np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                   np.concatenate([p[2] for p in parts]), const)

    def spread(self, profile: Any, at: Any, m: int) -> Lin:
        """``Σ_j self[j]·profile[t − at[j]]`` for t < m: element j starts ``profile`` at step ``at[j]``.

        The shift of a profile: a run that may start at any step ``at[j]``
        (``self`` one binary per start) draws ``profile[k]`` at step ``at[j] + k``.
        """
        profile = np.asarray(profile, dtype=float)
        at = np.asarray(at, dtype=np.int64)
        k = np.flatnonzero(profile)
        if self.is_constant or k.size == 0:
            base = np.zeros(m)
            for j, start in enumerate(at.tolist()):
                seg = profile[: max(0, m - start)]
                base[start : start + seg.size] += self.const[j] * seg
            return Lin.constant(base, m)
        if np.any(self.const):
            raise ValueError("spread() takes a plain variable family")
        # entry e (row j = rows[e]) → rows at[j] + k, value vals[e]·profile[k]
        rows = (at[self.rows][:, None] + k[None, :]).ravel()
        vals = (self.vals[:, None] * profile[k][None, :]).ravel()
        cols = np.repeat(self.cols, k.size)
        keep = rows < m
        return Lin(m, rows[keep], cols[keep], vals[keep], np.zeros(m))

    # --- constraints --------------------------------------------------------------------

    def __le__(self, other: Any) -> Con:  # type: ignore[override]
        return Con(self - other, -np.inf, 0.0)

    def __ge__(self, other: Any) -> Con:  # type: ignore[override]
        return Con(self - other, 0.0, np.inf)

    def __eq__(self, other: Any) -> Con:  # type: ignore[override]
        return Con(self - other, 0.0, 0.0)

    __hash__ = None  # type: ignore[assignment]

    def between(self, lower: Any, upper: Any) -> Con:
        """``lower ≤ self ≤ upper`` (numbers or vectors) as one row per element."""
        return Con(self, lower, upper)

    def value(self, x: np.ndarray) -> np.ndarray:
        """The ``m`` values at the solution ``x``."""
        if self.cols.size == 0:
            return self.const.copy()
        return self.const + np.bincount(self.rows, weights=self.vals * x[self.cols], minlength=self.m)

    def __repr__(self) -> str:
        return f"Lin(m={self.m}, entries={self.cols.size})"


class Con:
    """``lower ≤ expr ≤ upper`` row by row (the expression's constants move to the bounds)."""

    __slots__ = ("expr", "lower", "upper")

    def __init__(self, expr: Lin, lower: Any, upper: Any) -> None:
        self.expr = expr
        self.lower = lower
        self.upper = upper

    def __bool__(self) -> bool:
        raise TypeError("a constraint has no truth value; pass it to Block.add()")

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Row bounds with the expression's constants moved across: ``lower − const``, ``upper − const``."""
        m = self.expr.m
        c = self.expr.const
        return _vector(self.lower, m) - c, _vector(self.upper, m) - c
