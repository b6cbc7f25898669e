"""The Pyomo back end: a Pyomo model generated from a program, with components named like the spec.

Every variable family becomes a ``Var`` and every constraint family a
``Constraint`` on the block of its element (``asset[bess-1].soc_balance[37]``,
``node_balance[s35-haijing, 37]`` at the top level, ``scenario[s1].asset[…]``
in a stochastic case), with the coefficients and bounds the program stated;
the cost terms become ``cost[element, term]`` Expressions and the objective
their sum. It is built only when asked for: for reading, LP files
(``vpp case lp-file``), and users who extend the model in Pyomo. Compiled back
to standard form by Pyomo's own compiler it gives the program's matrix (up to
the order of rows and columns), which the tests check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC
from pyomo.core.expr.numeric_expr import LinearExpression

from models.declare.program import Path, Program, labels
from models.standard_form import Arrays


@dataclass
class PyomoModel:
    """The generated model and the program column of each Pyomo variable (by ``id``)."""

    model: pyo.ConcreteModel
    column: dict[int, int]
    variables: list[Any]  # program column j → its Pyomo variable


def _blocks(m: pyo.ConcreteModel, paths: list[Path]) -> dict[Path, Any]:
    """Nested indexed blocks for every path (``asset[b]`` …), created level by level."""
    out: dict[Path, Any] = {(): m}
    for depth in range(1, max((len(p) for p in paths), default=0) + 1):
        keys: dict[tuple[Path, str], list[Any]] = {}
        for p in paths:
            if len(p) >= depth and p[:depth] not in out:
                parent, (comp, key) = p[: depth - 1], p[depth - 1]
                wanted = keys.setdefault((parent, comp), [])
                if key not in wanted:
                    wanted.append(key)
        for (parent, comp), ks in keys.items():
            owner = out[parent]
            owner.add_component(comp, pyo.Block(ks))
            indexed = owner.component(comp)
            for k in ks:
                out[(*parent, (comp, k))] = indexed[k]
    return out


def _bound(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def to_pyomo(program: Program, arrays: Arrays) -> PyomoModel:
    """The Pyomo model of ``program`` (whose standard form is ``arrays``)."""
    with PauseGC():
        return _to_pyomo(program, arrays)


def _to_pyomo(program: Program, arrays: Arrays) -> PyomoModel:
    m = pyo.ConcreteModel(name="vpp")
    paths = sorted({f.path for f in program.families} | {r.path for r in program.rows}, key=len)
    blocks = _blocks(m, paths)
    lower, upper = arrays.col_lower, arrays.col_upper
    variables: list[Any] = [None] * arrays.A.shape[1]
    for fam in program.families:
        block = blocks[fam.path]
        if fam.integer:
            binary = bool(np.all(lower[fam.start : fam.start + fam.n] >= 0)
                          and np.all(upper[fam.start : fam.start + fam.n] <= 1))
            domain = pyo.Binary if binary else pyo.Integers
        else:
            domain = pyo.Reals
        scalar = fam.n == 1 and fam.index is None
        names = labels(fam.index, fam.n)
        first = fam.start
        if scalar:
            var = pyo.Var(domain=domain, bounds=(_bound(lower[first]), _bound(upper[first])))
            block.add_component(fam.name, var)
            variables[first] = var
        else:
            lo_f, hi_f = lower[first : first + fam.n], upper[first : first + fam.n]
            var = pyo.Var(names, domain=domain, dense=True)
            block.add_component(fam.name, var)
            for k, key in enumerate(names):
                v = var[key]
                v.setlb(_bound(lo_f[k]))
                v.setub(_bound(hi_f[k]))
                variables[first + k] = v
    column = {id(v): j for j, v in enumerate(variables)}

    rows = arrays.A.tocsr()
    indptr, indices, data = rows.indptr, rows.indices, rows.data
    lo_r, hi_r = arrays.row_lower, arrays.row_upper
    for fam in program.rows:
        block = blocks[fam.path]
        names = labels(fam.index, fam.m)
        scalar = fam.m == 1 and fam.index is None
        where = {key: k for k, key in enumerate(names)}

        def rule(_b: Any, *key: Any, start: int = fam.start, where: dict[Any, int] = where,
                 scalar: bool = scalar) -> Any:
            i = start if scalar else start + where[key[0] if len(key) == 1 else key]
            a, b = indptr[i], indptr[i + 1]
            if a == b:  # no column left (all its coefficients were zero)
                return pyo.Constraint.Skip
            expr = LinearExpression(constant=0.0, linear_coefs=data[a:b].tolist(),
                                    linear_vars=[variables[j] for j in indices[a:b].tolist()])
            lo, hi = lo_r[i], hi_r[i]
            if lo == hi:
                return expr == float(lo)
            return (_bound(lo), expr, _bound(hi))

        con = pyo.Constraint(rule=rule) if scalar else pyo.Constraint(names, rule=rule)
        block.add_component(fam.name, con)

    terms: dict[tuple[str, str], list[Any]] = {}
    for tc in arrays.terms:
        terms.setdefault((tc.element, tc.term), []).append(tc)
    keys = list(terms)

    def cost_rule(_m: Any, element: str, term: str) -> Any:
        found = terms[(element, term)]
        coefs: dict[int, float] = {}
        constant = 0.0
        for tc in found:
            constant += tc.constant
            for j, v in zip(tc.cols.tolist(), tc.vals.tolist(), strict=True):
                coefs[j] = coefs.get(j, 0.0) + v
        nz = [(j, v) for j, v in coefs.items() if v != 0.0]
        return LinearExpression(constant=constant, linear_coefs=[v for _, v in nz],
                                linear_vars=[variables[j] for j, _ in nz])

    m.cost = pyo.Expression(keys, rule=cost_rule)
    m.obj = pyo.Objective(expr=sum(m.cost[k] for k in keys), sense=pyo.minimize)
    return PyomoModel(model=m, column=column, variables=variables)
