"""Named case templates, materialised for a date into a canonical :class:`vpp.case.Case`.

``materialize("teda-east", "2026-07-15")`` builds the built-in TEDA east district
case (:mod:`vpp.cases.teda_east`); :data:`TEMPLATES` lists the templates.

One way to say which case and which day, for every command and the service:

- :func:`case_source`: a template name is that template, anything else must
  be a case file;
- :func:`parse_date`: a day written YYYY-MM-DD (the error says why a day
  such as 2026-02-30 does not exist);
- :meth:`Template.tomorrow`: the default day, tomorrow where the template lives;
- :func:`resolve_case`: the case itself, from a template and a day or from a file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime
from pathlib import Path
from typing import Any

from vpp.case import Case, read_case
from vpp.cases import teda_east
from vpp.cases.days import parse_date
from vpp.cases.forecasting import Site
from vpp.errors import CaseError, Problem

FINDING = "finding the case"


@dataclass(frozen=True)
class Template:
    """A built-in case: how to materialise it for a day, and its place (for the forecasts).

    ``materialize(date, step_minutes=15, **overrides) -> Case``; ``site()`` the
    location, PV fleet and load split (:class:`vpp.cases.forecasting.Site`);
    ``timezone()`` the IANA zone whose midnight starts its days.
    """

    name: str
    materialize: Callable[..., Case]
    site: Callable[[], Site]
    timezone: Callable[[], str]

    def tomorrow(self) -> Date:
        """The default day of a day-ahead schedule: tomorrow in the template's time zone."""
        from vpp.cases.days import tomorrow

        return tomorrow(self.timezone())

    def day(self, date: Date | None) -> Date:
        """``date``, or tomorrow in the template's time zone when it is None."""
        return self.tomorrow() if date is None else date


TEMPLATES: dict[str, Template] = {
    "teda-east": Template("teda-east", teda_east.materialize, teda_east.site, teda_east.timezone),
}
"""Template name → :class:`Template`."""


def template(name: str, where: str = "case", step: str = "materialising the case") -> Template:
    """The template called ``name``; a CaseError at ``where`` naming the known ones otherwise."""
    try:
        return TEMPLATES[name]
    except (KeyError, TypeError):
        raise CaseError(
            [Problem(where, f"unknown template {name!r}: expected one of {sorted(TEMPLATES)}")], step=step
        ) from None


def known_template(name: str) -> str:
    """``name`` when it is a template; ValueError naming the known ones otherwise (for validators)."""
    if name not in TEMPLATES:
        raise ValueError(f"unknown template {name!r}: expected one of {sorted(TEMPLATES)}")
    return name


def materialize(name: str, date: Date | datetime | str, **kw: Any) -> Case:
    """The case of template ``name`` for local ``date`` (keywords go to the template, e.g. ``step_minutes``)."""
    return template(name).materialize(date, **kw)


def case_source(spec: str | Path, where: str = "case", step: str = FINDING) -> Template | Path:
    """A template by name, or an existing case file; a CaseError at ``where`` otherwise.

    A template name is always the template (write ``./teda-east`` for a file of that name).
    """
    if isinstance(spec, str) and spec in TEMPLATES:
        return TEMPLATES[spec]
    path = Path(spec)
    if path.is_file():
        return path
    raise CaseError(
        [Problem(where, f"{str(spec)!r} is neither a built-in case ({', '.join(sorted(TEMPLATES))}) nor an existing file")],
        step=step,
    )


TEMPLATE_OPTIONS = ("peak_to_date_mw", "dr_events")
"""What a day of a built-in case takes besides its date: the month's peak so far [MW] (``--peak-to-date``)
and demand-response events added to the day (``--dr-event``, :mod:`vpp.cases.events`)."""


def resolve_case(
    spec: str | Path | Case,
    date: Date | None = None,
    *,
    weather: Any = None,
    load_history: Any = None,
    peak_to_date_mw: float | None = None,
    dr_events: list[Any] | None = None,
) -> Case:
    """A case from a template name (materialised for ``date``, default tomorrow there) or a case file.

    ``weather`` (a forecast) and ``load_history`` go to the template's
    ``materialize``, which then forecasts PV and load from them; so do the
    month's peak so far ``peak_to_date_mw`` [MW] and ``dr_events`` added to the
    day. They apply to templates only (a case file carries its own series,
    peak and events), as does ``date``.
    """
    if isinstance(spec, Case):
        return spec
    source = case_source(spec)
    inputs = {
        k: v
        for k, v in (("weather", weather), ("load_history", load_history), ("peak_to_date_mw", peak_to_date_mw),
                     ("dr_events", dr_events))
        if v is not None and not (k == "dr_events" and not v)
    }
    if isinstance(source, Template):
        return source.materialize(source.day(date), **inputs)
    if date is not None:
        raise CaseError(
            [Problem("date", "a date applies to built-in cases only; a case file carries its own start")], step=FINDING
        )
    if inputs:
        first = next(iter(inputs))
        what = ("weather and load history apply to built-in cases only; a case file carries its own series"
                if first in ("weather", "load_history") else
                "the month's peak so far and added demand-response events apply to built-in cases only; a case file "
                "carries its own grid.peak_to_date_mw and demand_response")
        raise CaseError([Problem(first, what)], step=FINDING)
    return read_case(source)


__all__ = [
    "TEMPLATES", "TEMPLATE_OPTIONS", "Template", "case_source", "known_template", "materialize", "parse_date", "resolve_case", "template",
]
