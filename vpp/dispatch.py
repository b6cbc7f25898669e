"""The day-ahead run: materialise → build → solve → extract. The only place that wires them.

Which case and which day: :func:`vpp.cases.resolve_case` (re-exported here).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from models import Engine, Exclusivity, SolveOptions, extract, first_stage_values, optimize
from vpp.case import Case
from vpp.cases import resolve_case
from vpp.results import DispatchResult, make_result

__all__ = ["resolve_case", "run_day_ahead", "solve_case"]


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


def run_day_ahead(
    spec: str | Path | Case,
    date: dt.date | None = None,
    options: SolveOptions | None = None,
    exclusivity: Exclusivity = "lazy",
    *,
    weather: pd.DataFrame | None = None,
    load_history: pd.Series | None = None,
    engine: Engine = "matrix",
) -> DispatchResult:
    """Schedule one day: a built-in case name or a case file (or a Case), solved with ``options``.

    ``weather`` and ``load_history`` go to :func:`vpp.cases.resolve_case` (built-in cases only).
    """
    case = resolve_case(spec, date, weather=weather, load_history=load_history)
    return solve_case(case, options, exclusivity, engine)
