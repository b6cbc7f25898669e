"""The day-ahead run: materialise → build → solve → extract. The only place that wires them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from models import Engine, Exclusivity, SolveOptions, extract, optimize
from vpp.case import Case, read_case
from vpp.errors import CaseError, Problem
from vpp.results import DispatchResult, make_result

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")


def tomorrow(zone: ZoneInfo = DEFAULT_ZONE) -> dt.date:
    """The next calendar day in ``zone``: the default day of a day-ahead schedule."""
    return dt.datetime.now(zone).date() + dt.timedelta(days=1)


def resolve_case(
    spec: str | Path | Case,
    date: dt.date | None = None,
    *,
    weather: pd.DataFrame | None = None,
    load_history: pd.Series | None = None,
) -> Case:
    """A case from a template name (materialised for ``date``, default tomorrow) or a file path.

    ``weather`` (a forecast) and ``load_history`` are passed to the template's
    ``materialize``, which then forecasts PV and load from them; they apply to
    built-in cases only (a case file carries its own series).
    """
    if isinstance(spec, Case):
        return spec
    name = str(spec)
    path = Path(name)
    if not path.is_file():
        from vpp.cases import TEMPLATES, materialize

        if name in TEMPLATES:
            inputs = {k: v for k, v in (("weather", weather), ("load_history", load_history)) if v is not None}
            return materialize(name, date or tomorrow(), **inputs)
        raise CaseError(
            [Problem("case", f"{name!r} is neither a built-in case ({', '.join(sorted(TEMPLATES))}) nor an existing file")],
            step="finding the case",
        )
    if date is not None:
        raise CaseError(
            [Problem("date", "a date applies to built-in cases only; a case file carries its own start")],
            step="finding the case",
        )
    if weather is not None or load_history is not None:
        raise CaseError(
            [Problem("weather" if weather is not None else "load_history",
                     "weather and load history apply to built-in cases only; a case file carries its own series")],
            step="finding the case",
        )
    return read_case(path)


def solve_case(
    case: Case, options: SolveOptions | None = None, exclusivity: Exclusivity = "lazy", engine: Engine = "matrix"
) -> DispatchResult:
    """Build, solve and read one validated case (``exclusivity`` and ``engine``: see :mod:`models.optimize`)."""
    built, report = optimize(case, options, exclusivity, engine=engine)
    solution = extract(built)
    return make_result(case, report, solution, built.build_seconds)


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

    ``weather`` and ``load_history`` go to :func:`resolve_case` (built-in cases only).
    """
    case = resolve_case(spec, date, weather=weather, load_history=load_history)
    return solve_case(case, options, exclusivity, engine)
