"""The day-ahead run: materialise → build → solve → extract. The only place that wires them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from models import Exclusivity, SolveOptions, extract, optimize
from vpp.case import Case, read_case
from vpp.errors import CaseError, Problem
from vpp.results import DispatchResult, make_result

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")


def tomorrow(zone: ZoneInfo = DEFAULT_ZONE) -> dt.date:
    """The next calendar day in ``zone``: the default day of a day-ahead schedule."""
    return dt.datetime.now(zone).date() + dt.timedelta(days=1)


def resolve_case(spec: str | Path | Case, date: dt.date | None = None) -> Case:
    """A case from a template name (materialised for ``date``, default tomorrow) or a file path."""
    if isinstance(spec, Case):
        return spec
    name = str(spec)
    path = Path(name)
    if not path.is_file():
        from vpp.cases import TEMPLATES, materialize

        if name in TEMPLATES:
            return materialize(name, date or tomorrow())
        raise CaseError(
            [Problem("case", f"{name!r} is neither a built-in case ({', '.join(sorted(TEMPLATES))}) nor an existing file")],
            step="finding the case",
        )
    if date is not None:
        raise CaseError(
            [Problem("date", "a date applies to built-in cases only; a case file carries its own start")],
            step="finding the case",
        )
    return read_case(path)


def solve_case(
    case: Case, options: SolveOptions | None = None, exclusivity: Exclusivity = "lazy"
) -> DispatchResult:
    """Build, solve and read one validated case (``exclusivity``: see :mod:`models.optimize`)."""
    built, report = optimize(case, options, exclusivity)
    solution = extract(built)
    return make_result(case, report, solution, built.build_seconds)


def run_day_ahead(
    spec: str | Path | Case,
    date: dt.date | None = None,
    options: SolveOptions | None = None,
    exclusivity: Exclusivity = "lazy",
) -> DispatchResult:
    """Schedule one day: a built-in case name or a case file (or a Case), solved with ``options``."""
    return solve_case(resolve_case(spec, date), options, exclusivity)
