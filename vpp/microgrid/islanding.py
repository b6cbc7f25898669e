"""A day with a known outage and a backup reserve: transformations of a materialised case.

Both apply to any canonical case (a template's, after materialising, or a
case file's) and return a new validated :class:`~vpp.case.Case`:

- :func:`with_outage`: a known outage of the supply point (a maintenance notice)
  from ``HH:MM`` to ``HH:MM`` local time: the import and export maxima are 0
  over every step the window touches, so the district runs islanded there
  (``shared/spec/model.md`` §3). A step the window covers only in part is
  islanded in whole (the maxima are per step). A declared net-import plan
  (``grid.schedule_mw``) is 0 over the outage too, and so are a scenario's
  maxima and plan (§6): the notice holds in every scenario.
- :func:`with_backup_hours`: the backup reserve of §5.5 (``backup_hours``).

The window is the first one with those clock times (in the case's UTC offset)
that ends after the case's start; a window whose end is before its start runs
past midnight. Steps beyond the horizon are not in the case: a window
running past its end islands the steps up to it, and says so in
``case.meta["outage"]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np

from vpp.case import Case, load_case
from vpp.cases.events import clock, parse_time
from vpp.errors import CaseError, Problem

PLANNING = "planning the islanded day"


@dataclass(frozen=True)
class OutageWindow:
    """A clock-time window of a known outage: minutes after local midnight, ``start`` in [0, 1440), ``end`` in (0, 1440]."""

    start_minute: int
    end_minute: int

    @property
    def minutes(self) -> int:
        """Its length [min] (a window whose end is before its start runs past midnight)."""
        return (self.end_minute - self.start_minute) % 1440 or 1440

    @property
    def text(self) -> str:
        return f"{clock(self.start_minute / 60)}-{clock(self.end_minute / 60)}"


def parse_outage(text: str) -> OutageWindow:
    """``HH:MM-HH:MM`` (local time; ``24:00`` may end a window) as an :class:`OutageWindow`.

    Raises ValueError saying what was expected.
    """
    form = "an outage is HH:MM-HH:MM in local time, e.g. 10:00-12:30"
    parts = text.split("-") if isinstance(text, str) else []
    if len(parts) != 2:
        raise ValueError(f"expected HH:MM-HH:MM in local time, e.g. 10:00-12:30, got {text!r}")
    try:
        start, end = (round(parse_time(part) * 60) for part in parts)
    except ValueError as exc:
        raise ValueError(f"{exc}; {form}") from None
    if start == 1440:
        raise ValueError(f"an outage starts by 23:59: 24:00 may only end a window; {form}")
    if start == end:
        raise ValueError(f"the window {text.strip()!r} is empty: its start and end are the same time")
    return OutageWindow(start, end)


def outage_steps(case: Case, window: OutageWindow) -> tuple[list[int], bool]:
    """The steps the window touches, and whether it runs past the end of the horizon."""
    start = case.start
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    begin = midnight + timedelta(minutes=window.start_minute)
    if begin + timedelta(minutes=window.minutes) <= start:
        begin += timedelta(days=1)
    end = begin + timedelta(minutes=window.minutes)
    dt = timedelta(minutes=case.step_minutes)
    steps = [k for k in range(case.steps) if start + k * dt < end and start + (k + 1) * dt > begin]
    return steps, end > start + case.steps * dt


def _zero_at(value: Any, steps: list[int], n: int) -> list[float]:
    out = np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()
    out[steps] = 0.0
    return [float(v) for v in out]


def _window_steps(case: Case, window: OutageWindow | str, where: str) -> tuple[OutageWindow, list[int], bool]:
    """The window read, its steps in ``case`` and whether it runs past the horizon; CaseError at ``where``."""
    if isinstance(window, str):
        try:
            window = parse_outage(window)
        except ValueError as exc:
            raise CaseError([Problem(where, str(exc))], step=PLANNING) from None
    steps, beyond = outage_steps(case, window)
    if not steps:
        end = case.start + timedelta(minutes=case.step_minutes * case.steps)
        raise CaseError([Problem(where, f"the outage {window.text} is not within the case's horizon "
                                 f"{case.start.isoformat()} to {end.isoformat()}")], step=PLANNING)
    return window, steps, beyond


def outage_series(case: Case, window: OutageWindow | str, where: str = "outage") -> dict[str, list[float]]:
    """The grid's maxima with the supply point out over ``window``, as a scenario's ``series`` (§6).

    For an outage scenario of a stochastic day: ``{"grid.import_max_mw": [...], "grid.export_max_mw": [...]}``.
    """
    _, steps, _ = _window_steps(case, window, where)
    return {f"grid.{key}": _zero_at(getattr(case.grid, key), steps, case.steps)
            for key in ("import_max_mw", "export_max_mw")}


def with_outage(case: Case, window: OutageWindow | str, where: str = "outage") -> Case:
    """``case`` with the supply point out over ``window`` (import and export maxima 0; see the module docstring).

    ``where`` names the input in errors (``--outage`` on the command line).
    """
    window, steps, beyond = _window_steps(case, window, where)
    n = case.steps
    data = case.model_dump(mode="json", exclude_none=True)
    grid = data["grid"]
    grid["import_max_mw"] = _zero_at(grid["import_max_mw"], steps, n)
    grid["export_max_mw"] = _zero_at(grid.get("export_max_mw", 0.0), steps, n)
    if "schedule_mw" in grid:
        grid["schedule_mw"] = _zero_at(grid["schedule_mw"], steps, n)
    for sc in data.get("scenarios") or []:
        for key in ("grid.import_max_mw", "grid.export_max_mw", "grid.schedule_mw"):
            if key in sc["series"]:
                sc["series"][key] = _zero_at(sc["series"][key], steps, n)
    ts = case.timestamps
    data["meta"] = dict(data.get("meta") or {}) | {"outage": {
        "window": window.text,
        "from": ts[steps[0]].isoformat(),
        "to": (ts[steps[-1]] + timedelta(minutes=case.step_minutes)).isoformat(),
        "steps": [steps[0], steps[-1] + 1],
        "beyond_horizon": beyond,
        "source": "a known outage of the supply point (e.g. a maintenance notice): import and export maxima 0, "
                  "the district islanded; a step the window touches is islanded in whole",
    }}
    return load_case(data)


#: The longest backup reserve or outage taken [h]: a year.
MAX_HOURS = 8760.0


def hours_problem(hours: Any, where: str) -> Problem | None:
    """The problem of a number of hours that is not a finite number in (0, MAX_HOURS] (None when it is one)."""
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not math.isfinite(hours) or hours <= 0:
        return Problem(where, f"expected a number of hours > 0, got {hours!r}")
    if hours > MAX_HOURS:
        return Problem(where, f"expected at most {MAX_HOURS:g} hours (a year), got {hours:g}")
    return None


def with_backup_hours(case: Case, hours: float, where: str = "backup_hours") -> Case:
    """``case`` with the backup reserve of §5.5 for ``hours`` [h] (a finite number > 0)."""
    problem = hours_problem(hours, where)
    if problem:
        raise CaseError([problem], step=PLANNING)
    data = case.model_dump(mode="json", exclude_none=True)
    data["backup_hours"] = float(hours)
    return load_case(data)


def plan_microgrid(case: Case, outage: str | None = None, backup_hours: float | None = None,
                   where: tuple[str, str] = ("outage", "backup_hours")) -> Case:
    """``case`` with a known outage and a backup reserve when given (each None: left as it is).

    Every problem of both inputs is reported at once; ``where`` names them (the command line's options).
    """
    problems: list[Problem] = []
    if outage is not None:
        try:
            case = with_outage(case, outage, where=where[0])
        except CaseError as exc:
            problems += exc.problems
    if backup_hours is not None:
        try:
            case = with_backup_hours(case, backup_hours, where=where[1])
        except CaseError as exc:
            problems += exc.problems
    if problems:
        raise CaseError(problems, step=PLANNING)
    return case


def reserve_line(result: Any) -> str | None:
    """One line on a solved day's backup reserve (the ``backup`` element of §5.5), None without one."""
    hours = result.case.backup_hours
    if hours is None:
        return None
    s = result.schedule
    rows = s[s["asset"] == "backup"]
    required = rows[rows["quantity"] == "required_mwh"].sort_values("step")["value"].to_numpy(dtype=float)
    held = rows[rows["quantity"] == "held_mwh"].sort_values("step")["value"].to_numpy(dtype=float)
    if required.size == 0:
        return None
    k = int(np.argmax(required))
    binding = int(np.sum(held - required <= 1e-6 * max(1.0, float(required.max()))))
    end = result.case.timestamps[k] + timedelta(minutes=result.case.step_minutes)
    return (f"backup reserve {hours:g} h: the batteries hold up to {required[k]:,.1f} MWh for the critical load "
            f"(at {end:%H:%M}); the reserve binds at {binding} of {result.case.steps} steps")
