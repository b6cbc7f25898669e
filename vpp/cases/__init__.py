"""Named case templates, materialised for a date into a canonical :class:`vpp.case.Case`.

``materialize("teda-east", "2026-07-15")`` builds the built-in TEDA east district
case (:mod:`vpp.cases.teda_east`); :data:`TEMPLATES` lists the names.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date as Date
from datetime import datetime
from typing import Any

from vpp.case import Case
from vpp.cases import teda_east
from vpp.errors import CaseError, Problem

TEMPLATES: dict[str, Callable[..., Case]] = {"teda-east": teda_east.materialize}
"""Template name → ``materialize(date, step_minutes=15, **overrides) -> Case``."""


def materialize(template: str, date: Date | datetime | str, **kw: Any) -> Case:
    """The case of ``template`` for local ``date`` (keywords go to the template, e.g. ``step_minutes``)."""
    try:
        build = TEMPLATES[template]
    except (KeyError, TypeError):
        raise CaseError(
            [
                Problem(
                    "case", f"unknown template {template!r}: expected one of {sorted(TEMPLATES)}"
                )
            ],
            step="materialising the case",
        ) from None
    return build(date, **kw)


__all__ = ["TEMPLATES", "materialize"]
