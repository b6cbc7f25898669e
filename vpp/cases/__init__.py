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


def resolve_case(
    spec: str | Path | Case,
    date: Date | None = None,
    *,
    weather: Any = None,
    load_history: Any = None,
) -> Case:
    """A case from a template name (materialised for ``date``, default tomorrow there) or a case file.

    ``weather`` (a forecast) and ``load_history`` go to the template's
    ``materialize``, which then forecasts PV and load from them; they apply to
    templates only (a case file carries its own series), as does ``date``.
    """
    if isinstance(spec, Case):
        return spec
    source = case_source(spec)
    if isinstance(source, Template):
        inputs = {k: v for k, v in (("weather", weather), ("load_history", load_history)) if v is not None}
        return source.materialize(source.day(date), **inputs)
    if date is not None:
        raise CaseError(
            [Problem("date", "a date applies to built-in cases only; a case file carries its own start")], step=FINDING
        )
    if weather is not None or load_history is not None:
        raise CaseError(
            [Problem("weather" if weather is not None else "load_history",
                     "weather and load history apply to built-in cases only; a case file carries its own series")],
            step=FINDING,
        )
    return read_case(source)


__all__ = [
    "TEMPLATES", "Template", "case_source", "known_template", "materialize", "parse_date", "resolve_case", "template",
]
