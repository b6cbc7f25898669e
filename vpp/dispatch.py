"""The day-ahead run: materialise → build → solve → extract. The only place that wires them.

Which case and which day: :func:`vpp.cases.resolve_case` (re-exported here).
A day with a frequency-regulation market is solved twice, with and without it
(:func:`solve_day`), so that its summary says what regulation earns and what it costs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from models import Engine, Exclusivity, SolveOptions, extract, first_stage_values, optimize
from vpp.case import Case
from vpp.cases import resolve_case
from vpp.errors import SolverError
from vpp.regulation import regulating_batteries, regulation_section, without_regulation
from vpp.results import DispatchResult, make_result

__all__ = ["resolve_case", "run_day_ahead", "solve_case", "solve_day"]


def solve_case(
    case: Case, options: SolveOptions | None = None, exclusivity: Exclusivity = "lazy", engine: Engine = "matrix",
    fixed: dict[str, np.ndarray] | None = None,
) -> DispatchResult:
    """Build, solve and read one validated case (``exclusivity`` and ``engine``: see :mod:`models.optimize`).

    ``fixed``: first-stage decisions to hold (a result's ``first_stage``), e.g. to evaluate a
    deterministic plan on a stochastic case's scenarios.
    """
    built, report = optimize(case, options, exclusivity, engine=engine, fixed=fixed)
    solution = extract(built)
    result = make_result(case, report, solution, built.build_seconds)
    result.first_stage = first_stage_values(built)
    return result


def solve_day(
    case: Case, options: SolveOptions | None = None, exclusivity: Exclusivity = "lazy", engine: Engine = "matrix",
    *, regulation: bool = True,
) -> DispatchResult:
    """Solve a day as ``vpp dispatch`` and the service do, with or without its regulation market.

    ``regulation`` False: the case's ``regulation`` block is left out (the case solved is the
    result's). True, and some battery regulates: the day is solved again without the market,
    each solve with ``options``, and the summary gets its ``regulation`` section
    (:func:`vpp.regulation.regulation_section`) with both objectives. A second solve that
    finds no schedule (its time limit) leaves the comparison out and says why.
    """
    if not regulation:
        return solve_case(without_regulation(case), options, exclusivity, engine)
    result = solve_case(case, options, exclusivity, engine)
    if regulating_batteries(case):
        try:
            base: DispatchResult | None = solve_case(without_regulation(case), options, exclusivity, engine)
            failed = None
        except SolverError as exc:
            base, failed = None, exc
        section = regulation_section(result, base)
        if failed is not None and section is not None:
            section["comparison"] = {"without_regulation": {"status": failed.status},
                                     "note": f"no schedule without regulation to compare with: {failed}"}
        result.summary["regulation"] = section
    return result


def run_day_ahead(
    spec: str | Path | Case,
    date: dt.date | None = None,
    options: SolveOptions | None = None,
    exclusivity: Exclusivity = "lazy",
    *,
    weather: pd.DataFrame | None = None,
    load_history: pd.Series | None = None,
    engine: Engine = "matrix",
    regulation: bool = True,
) -> DispatchResult:
    """Schedule one day: a built-in case name or a case file (or a Case), solved with ``options``.

    ``weather`` and ``load_history`` go to :func:`vpp.cases.resolve_case` (built-in cases only);
    ``regulation``: offer frequency regulation where the case has a market (:func:`solve_day`).
    """
    case = resolve_case(spec, date, weather=weather, load_history=load_history)
    return solve_day(case, options, exclusivity, engine, regulation=regulation)
