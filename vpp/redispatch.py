"""Intraday re-dispatch: the rest of a day from the measured state, against the declared plan.

A day-ahead dispatch declares a net-import plan ``D[t]`` [MW] for every step
(model.md §3). During the day the operator measures where the district stands
(storage levels, energy already delivered, processes started, events joined)
and re-solves the rest of the day: the steps from ``--from`` on, with the
deviation of the net import from ``D`` priced by ``grid.deviation``.

The flow is the day-ahead's: plan + state → a canonical case of the remaining
steps (:func:`redispatch_case`) → :func:`vpp.dispatch.solve_case` → the same
outputs. The re-dispatch case is an ordinary case; what it was made from is in
its ``meta["redispatch"]``.

=====================  ====================================================================
plan                   a folder written by ``vpp dispatch`` (``case.json``, ``curve.csv``,
                       ``summary.json``), or a schedule stored by the service (:func:`fetch_plan`)
D[t]                   the day-ahead ``grid.schedule_mw`` when it had one, else its ``plan_mw``
                       output when it had ``grid.deviation``, else its net import (import − export)
k                      the step ``--from`` falls on; the re-dispatch case has steps k … N−1
state                  :class:`State`, read from JSON or YAML (:func:`read_state`)
=====================  ====================================================================

How each part of the day-ahead case becomes the rest of the day:

- every series is sliced to steps k … N−1; ``start`` moves to ``--from``;
- ``grid.schedule_mw`` = D[k:]; ``grid.deviation`` the day-ahead's, or the defaults of
  ``vpp/deviation_defaults.yaml`` (:func:`deviation_defaults`); ``peak_to_date_mw`` from the state;
- a battery starts at its measured level and keeps its day-ahead ``soc_final_min``, or the most it
  can still reach (a level outside [soc_min, soc_max] widens that bound to it, so the first step is feasible);
- a thermal store must still end at its day-ahead initial level H while it starts at the
  measured level m (``_thermal_rest``);
- a flexible load's energy and requirements lose what was delivered; deadlines move to the new grid;
- a shiftable process that started becomes a fixed ``load`` of what is left of its profile;
  one that has not started keeps its window, cut to the rest of the day;
- a curtailable load with ``max_events`` keeps the events not yet started; a curtailment under way
  may go on as the first event of the rest of the day (its minimum duration counts again from ``--from``
  and its ``start_cny`` is charged again: a canonical case starts with no curtailment under way);
- an event joined is kept, not optional, its window cut; an event not joined, or over, is removed;
- a green contract with a fee or a minimum take keeps the day-ahead decision (taken: no
  fee again, not optional; not taken: removed);
- ``emissions_max_t`` loses the emissions planned before ``--from``;
- a stochastic day keeps its scenarios, their series cut (:func:`_scenarios_rest`); its plan's
  quantities are read as their expectation over the scenarios (:meth:`Plan.column`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models import SolveOptions
from models.assets import ASSETS
from models.case import Deviation, Grid, Regulation, series_fields
from vpp.case import Case, field_path, load_case, parse_case_text, read_case, read_case_data
from vpp.errors import CaseError, Problem
from vpp.results import DispatchResult

__all__ = [
    "STATE_STEPS", "Plan", "State", "default_deviation", "deviation_defaults", "fetch_plan", "from_step", "planned_state", "plan_from_parts",
    "read_plan", "read_plan_folder", "read_state", "redispatch", "redispatch_case", "state_of",
]

DEFAULTS_FILE = Path(__file__).with_name("deviation_defaults.yaml")

#: The steps of a CaseError about the state (its problems' paths are the state's fields).
STATE_READ, STATE_CHECK = "reading the state", "checking the state against the plan"
STATE_STEPS = (STATE_READ, STATE_CHECK)

#: Rounding slack when a measured quantity is compared with a bound [MW, MWh].
SLACK = 1e-6

# ---------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """A solved day read back: its canonical case, its per-step curve and its summary.

    ``curve`` is the wide table of ``curve.csv`` indexed by step (columns
    ``<element>.<quantity>``, ``<scenario>|<element>.<quantity>`` for a stochastic
    day); ``source`` says where the plan was read from.
    """

    case: Case
    curve: pd.DataFrame
    summary: dict[str, Any]
    source: str

    def column(self, element: str, quantity: str) -> np.ndarray:
        """The per-step values of ``<element>.<quantity>`` (NaN where the table has none).

        Of a stochastic day (model.md §6), the expectation over its scenarios: a
        first-stage quantity (the declared plan, a process's run) is the same in each.
        """
        key = f"{element}.{quantity}"
        if key in self.curve.columns:
            return self.curve[key].to_numpy(dtype=float)
        scenarios = self.case.scenarios or []
        keys = [f"{sc.id}|{key}" for sc in scenarios]
        if not scenarios or any(k not in self.curve.columns for k in keys):
            raise CaseError([Problem("plan", f"the plan's curve has no column {key!r}")], step="reading the plan")
        return sum(sc.probability * self.curve[k].to_numpy(dtype=float) for sc, k in zip(scenarios, keys, strict=True))

    @property
    def net_import_mw(self) -> np.ndarray:
        """The planned net import, import − export [MW]."""
        return self.column("grid", "import_mw") - self.column("grid", "export_mw")

    @property
    def declared_mw(self) -> np.ndarray:
        """D[t] [MW]: the plan the day-ahead case was held to, or the one it declared, or its net import."""
        grid = self.case.grid
        if grid.schedule_mw is not None:
            return self.case.series(grid.schedule_mw)
        if grid.deviation is not None:
            return self.column("grid", "plan_mw")
        return self.net_import_mw

    def report(self, section: str, asset_id: str) -> dict[str, Any] | None:
        """The summary's line of ``asset_id`` in ``section`` (``green_contracts``, ``demand_response`` …)."""
        return next((item for item in self.summary.get(section) or [] if item.get("id") == asset_id), None)


def plan_from_parts(case: Any, curve_csv: str, summary: Any, source: str) -> Plan:
    """A :class:`Plan` from a case (raw data or Case), the text of its ``curve.csv`` and its summary."""
    step = "reading the plan"
    try:
        case = load_case(case)
    except CaseError as exc:
        raise CaseError([Problem(f"case.{p.path}" if p.path else "case", p.message) for p in exc.problems],
                        step=step) from None
    try:
        curve = pd.read_csv(io.StringIO(curve_csv))
    except (ValueError, pd.errors.ParserError) as exc:
        raise CaseError([Problem("curve.csv", f"not a readable CSV table: {exc}")], step=step) from None
    problems = []
    if "step" not in curve.columns:
        problems.append(Problem("curve.csv", "no column 'step': expected the curve.csv of a dispatch"))
    elif sorted(curve["step"].tolist()) != list(range(case.steps)):
        problems.append(Problem("curve.csv", f"expected one row per step 0 … {case.steps - 1} of the case, "
                                f"got {len(curve)} rows"))
    if not isinstance(summary, dict):
        problems.append(Problem("summary.json", "expected the summary of a dispatch (a JSON object)"))
    if problems:
        raise CaseError(problems, step=step)
    plan = Plan(case=case, curve=curve.set_index("step").sort_index(), summary=summary, source=source)
    try:
        plan.net_import_mw  # noqa: B018 - read once: the columns every plan needs
    except CaseError:
        raise CaseError([Problem("curve.csv", "no grid.import_mw and grid.export_mw columns: expected the curve.csv "
                                 "of a dispatch")], step=step) from None
    return plan


def read_plan_folder(folder: str | Path) -> Plan:
    """The plan in a folder written by ``vpp dispatch`` (``case.json``, ``curve.csv``, ``summary.json``)."""
    path = Path(folder)
    step = "reading the plan"
    missing = [name for name in ("case.json", "curve.csv", "summary.json") if not (path / name).is_file()]
    if missing:
        raise CaseError([Problem("plan", f"{str(path)!r} has no {', '.join(missing)}: expected a folder "
                                 "written by vpp dispatch --out")], step=step)
    case = read_case(path / "case.json")
    try:
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CaseError([Problem("summary.json", f"cannot read it: {exc}")], step=step) from None
    return plan_from_parts(case, (path / "curve.csv").read_text(encoding="utf-8"), summary, str(path))


def fetch_plan(schedule_id: str, url: str, token: str | None) -> Plan:
    """A schedule stored by the service, read over its HTTP API (``GET /v1/schedules/{id}``, its case and curve)."""
    import httpx

    step = "reading the plan from the service"
    base = url.rstrip("/")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answers: dict[str, httpx.Response] = {}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            for part in ("", "/case", "/curve.csv"):
                r = client.get(f"/v1/schedules/{schedule_id}{part}")
                if r.status_code != 200:
                    raise CaseError([Problem("plan", _refusal(r, schedule_id, base))], step=step)
                answers[part] = r
    except httpx.HTTPError as exc:
        raise CaseError([Problem("plan", f"cannot reach the service at {base}: {exc}")], step=step) from None
    return plan_from_parts(answers["/case"].json(), answers["/curve.csv"].text, answers[""].json()["summary"],
                           f"{base}/v1/schedules/{schedule_id}")


def _refusal(r: Any, schedule_id: str, base: str) -> str:
    try:
        said = r.json().get("message", "")
    except ValueError:
        said = r.text[:200]
    if r.status_code == 404:
        return f"no schedule {schedule_id!r} at {base}"
    if r.status_code in (401, 403):
        return f"the service refused the token ({r.status_code}: {said}); give a viewer's token with --token or VPP_TOKEN"
    return f"the service answered {r.status_code}: {said}"


_SCHEDULE_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def read_plan(source: str | Path, url: str | None = None, token: str | None = None) -> Plan:
    """A plan folder (or a file in it), or the id of a schedule stored by the service at ``url``."""
    path = Path(source)
    if path.exists():
        return read_plan_folder(path if path.is_dir() else path.parent)
    if _SCHEDULE_ID.match(str(source)) and url:
        return fetch_plan(str(source), url, token)
    raise CaseError([Problem("plan", f"no folder {str(source)!r}: expected a folder written by vpp dispatch --out, "
                             "or a schedule id of the service (with its --url)")], step="reading the plan")


# ---------------------------------------------------------------------------
# Times on the plan's grid
# ---------------------------------------------------------------------------

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def from_step(case: Case, clock: str, where: str = "from") -> int:
    """The step of ``case`` that starts at local time ``clock`` (HH:MM); CaseError naming ``where`` otherwise."""
    m = _CLOCK.match(clock) if isinstance(clock, str) else None
    problem = None
    if m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        problem = f"expected a time of day as HH:MM (00:00 to 23:59), got {clock!r}"
    else:
        start = case.start
        at = dt.datetime.combine(start.date(), dt.time(int(m.group(1)), int(m.group(2))), tzinfo=start.tzinfo)
        if at < start:
            at += dt.timedelta(days=1)
        minutes = (at - start).total_seconds() / 60
        end = start + dt.timedelta(minutes=case.steps * case.step_minutes)
        if minutes >= case.steps * case.step_minutes:
            problem = (f"{clock} is outside the plan, which covers {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} "
                       f"({case.steps} steps of {case.step_minutes} min)")
        elif minutes % case.step_minutes:
            before = start + dt.timedelta(minutes=minutes // case.step_minutes * case.step_minutes)
            after = before + dt.timedelta(minutes=case.step_minutes)
            problem = (f"{clock} is not on the plan's {case.step_minutes}-minute grid: expected a step boundary "
                       f"such as {before:%H:%M} or {after:%H:%M}")
        else:
            return int(minutes // case.step_minutes)
    raise CaseError([Problem(where, problem)], step="reading the re-dispatch time")


def _clock(case: Case, step: int) -> str:
    return f"{case.timestamps[step]:%H:%M}" if step < case.steps else "the end of the day"


# ---------------------------------------------------------------------------
# The measured state
# ---------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class BatteryState(_Strict):
    """A battery's stored energy: ``soc_mwh`` [MWh], or ``soc_fraction`` of its ``energy_mwh``."""

    soc_mwh: float | None = None
    soc_fraction: float | None = None


class ThermalState(_Strict):
    """A thermal store's level [MWh_th]."""

    level_mwh_th: float


class FlexibleState(_Strict):
    """Energy a flexible load has taken since the start of the plan [MWh]."""

    delivered_mwh: float


class ShiftableState(_Strict):
    """Whether a shiftable process has started, and when: ``start_step`` of the plan, or ``start`` as HH:MM."""

    started: bool
    start_step: int | None = Field(default=None, ge=0)
    start: str | None = None


class CurtailableState(_Strict):
    """Curtailment events a curtailable load has started since the start of the plan, and whether one is under way."""

    events_started: int = Field(ge=0)
    curtailing: bool = False


class EventState(_Strict):
    """Whether a demand-response event was joined."""

    joined: bool


class State(_Strict):
    """What is measured at the re-dispatch time, by asset or event id (every section a mapping id → entry)."""

    time: str | None = Field(default=None, description="HH:MM the state was measured at; must be --from.")
    batteries: dict[str, BatteryState] = Field(default_factory=dict)
    thermal_storage: dict[str, ThermalState] = Field(default_factory=dict)
    flexible_loads: dict[str, FlexibleState] = Field(default_factory=dict)
    shiftable_loads: dict[str, ShiftableState] = Field(default_factory=dict)
    curtailable_loads: dict[str, CurtailableState] = Field(default_factory=dict)
    demand_response: dict[str, EventState] = Field(default_factory=dict)
    peak_to_date_mw: float | None = Field(default=None, description="The billing period's peak so far [MW].")


#: Section of the state → the asset type it describes.
SECTIONS = {"batteries": "battery", "thermal_storage": "thermal_storage", "flexible_loads": "flexible_load",
            "shiftable_loads": "shiftable_load", "curtailable_loads": "curtailable_load"}

#: What every asset of a type must state (curtailable loads: only those with max_events).
_NEEDS = {"battery": "its stored energy (soc_mwh or soc_fraction)", "thermal_storage": "its level (level_mwh_th)",
          "flexible_load": "the energy delivered so far (delivered_mwh)",
          "shiftable_load": "whether it has started (started, and start_step or start)",
          "curtailable_load": "the curtailment events started so far (events_started)"}


def _state_model(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model at a pydantic location in a state: ``("batteries", "b1")`` → BatteryState."""
    if not loc:
        return State
    field = State.model_fields.get(str(loc[0]))
    if field is None or len(loc) == 1:
        return State if field is None else None
    args = getattr(field.annotation, "__args__", ())
    return args[1] if len(loc) == 2 and len(args) == 2 else None


def _state_problems(err: ValidationError) -> list[Problem]:
    out = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            model = _state_model(loc[:-1])
            names = sorted(model.model_fields) if model is not None else []
            close = difflib.get_close_matches(str(loc[-1]), names, n=1)
            msg = f"unknown field {str(loc[-1])!r}" + (f" (did you mean {close[0]!r}?)" if close else
                                                         f" (expected one of: {', '.join(names)})")
        elif e["type"] == "missing":
            msg = "required field is missing"
        elif e["type"] in ("dict_type", "model_type"):
            msg = f"expected a mapping, got {type(e['input']).__name__}"
        out.append(Problem(field_path(loc), msg))
    return out


def state_of(data: Any) -> State:
    """A :class:`State` from raw data (a mapping), CaseError with every problem's field path otherwise."""
    if not isinstance(data, dict):
        raise CaseError([Problem("", f"expected a JSON/YAML object (mapping) for the state, got "
                                 f"{type(data).__name__}")], step=STATE_READ)
    try:
        return State.model_validate(data)
    except ValidationError as err:
        raise CaseError(_state_problems(err), step=STATE_READ) from None


def read_state(path: str | Path) -> State:
    """Read a state file (``.json``, ``.yaml`` or ``.yml``)."""
    try:
        data = read_case_data(path)
    except CaseError as exc:
        raise CaseError(exc.problems, step=f"reading the state {Path(path).name}") from None
    try:
        return state_of(data)
    except CaseError as exc:
        raise CaseError(exc.problems, step=f"reading the state {Path(path).name}") from None


def parse_state_text(text: str, *, yaml_format: bool = True) -> State:
    """A :class:`State` from JSON or YAML text."""
    return state_of(parse_case_text(text, yaml_format=yaml_format))


@dataclass(frozen=True)
class _Measured:
    """The state checked against the plan, in the quantities the case needs."""

    battery_mwh: dict[str, float]
    thermal_mwh_th: dict[str, float]
    delivered_mwh: dict[str, float]
    started: dict[str, int | None]
    events_started: dict[str, int]
    joined: dict[str, bool]
    peak_to_date_mw: float | None


def _entries(state: State, section: str, by_id: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """(id, entry, asset) of the state's ``section`` whose id is an asset of the section's type."""
    for aid, entry in getattr(state, section).items():
        asset = by_id.get(aid)
        if asset is not None and asset.type == SECTIONS[section]:
            yield aid, entry, asset


def _within(level: float, capacity: float, where: str, bound: str, problems: list[Problem]) -> float | None:
    """A measured level in [0, capacity] (rounding slack clipped), or None with the problem at ``where``."""
    if level < -SLACK:
        problems.append(Problem(where, f"below zero: {bound}"))
    elif level > capacity + SLACK:
        problems.append(Problem(where, f"above the capacity: {bound}"))
    else:
        return float(np.clip(level, 0.0, capacity))
    return None


def _measure(case: Case, k: int, state: State) -> _Measured:
    """Check the state against the day's case at step k; every contradiction named by its field."""
    dt_h = case.dt_hours
    problems: list[Problem] = []
    by_id = {a.id: a for a in case.assets}
    when = f"step {k} ({_clock(case, k)})"

    for section, kind in SECTIONS.items():
        entries = getattr(state, section)
        of_kind = [a.id for a in case.assets if a.type == kind]
        for aid in entries:
            asset = by_id.get(aid)
            if asset is None:
                close = difflib.get_close_matches(aid, of_kind, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f": the case's {section} are {of_kind}"
                problems.append(Problem(f"{section}.{aid}", f"unknown asset id {aid!r}{hint}"))
            elif asset.type != kind:
                problems.append(Problem(f"{section}.{aid}", f"{aid!r} is a {asset.type}, not a {kind}"))
        for aid in of_kind:
            needed = kind != "curtailable_load" or by_id[aid].max_events is not None
            if needed and aid not in entries:
                problems.append(Problem(f"{section}.{aid}", f"missing: every {kind} needs {_NEEDS[kind]}"))

    battery_mwh = {}
    for aid, s, a in _entries(state, "batteries", by_id):
        where = f"batteries.{aid}"
        if (s.soc_mwh is None) == (s.soc_fraction is None):
            problems.append(Problem(where, "give one of soc_mwh [MWh] or soc_fraction [fraction of energy_mwh]"))
            continue
        if s.soc_mwh is not None:
            level = _within(s.soc_mwh, a.energy_mwh, f"{where}.soc_mwh", f"expected between 0 and energy_mwh="
                            f"{a.energy_mwh:g} MWh, got {s.soc_mwh:g} MWh", problems)
        else:
            level = _within(s.soc_fraction * a.energy_mwh, a.energy_mwh, f"{where}.soc_fraction",
                            f"expected a fraction between 0 and 1 of energy_mwh, got {s.soc_fraction:g}", problems)
        if level is not None:
            battery_mwh[aid] = level

    thermal = {}
    for aid, s, a in _entries(state, "thermal_storage", by_id):
        level = _within(s.level_mwh_th, a.capacity_mwh_th, f"thermal_storage.{aid}.level_mwh_th",
                        f"expected between 0 and capacity_mwh_th={a.capacity_mwh_th:g} MWh_th, got {s.level_mwh_th:g}",
                        problems)
        if level is not None:
            thermal[aid] = level

    delivered = {}
    for aid, s, a in _entries(state, "flexible_loads", by_id):
        where = f"flexible_loads.{aid}.delivered_mwh"
        most = float(case.series(a.max_power_mw)[:k].sum() * dt_h)
        if s.delivered_mwh < -SLACK:
            problems.append(Problem(where, f"below zero: expected the energy taken so far, got {s.delivered_mwh:g}"))
        elif s.delivered_mwh > a.energy_mwh + SLACK:
            problems.append(Problem(where, f"above the flexible load's total: expected at most energy_mwh="
                                    f"{a.energy_mwh:g} MWh, got {s.delivered_mwh:g}"))
        elif s.delivered_mwh > most + SLACK:
            problems.append(Problem(where, f"more than max_power_mw allows before {when}: at most {most:g} MWh, "
                                    f"got {s.delivered_mwh:g}"))
        else:
            delivered[aid] = float(max(s.delivered_mwh, 0.0))

    started: dict[str, int | None] = {}
    for aid, s, a in _entries(state, "shiftable_loads", by_id):
        where = f"shiftable_loads.{aid}"
        if not s.started:
            for key in ("start_step", "start"):
                if getattr(s, key) is not None:
                    problems.append(Problem(f"{where}.{key}", "a process that has not started has no start"))
            end = a.latest_end if a.latest_end is not None else case.steps
            first = max(a.earliest_start, k)
            if end - first < len(a.profile_mw):
                problems.append(Problem(f"{where}.started", (
                    f"not started, but its {len(a.profile_mw)}-step run no longer fits before latest_end "
                    f"(step {end}, {_clock(case, end)}): the latest start was step {end - len(a.profile_mw)} "
                    f"({_clock(case, end - len(a.profile_mw))})")))
            started[aid] = None
            continue
        if (s.start_step is None) == (s.start is None):
            problems.append(Problem(where, "a started process needs one of start_step (a step of the plan) "
                                    "or start (HH:MM)"))
            continue
        if s.start is not None:
            try:
                step = from_step(case, s.start, f"{where}.start")
            except CaseError as exc:
                problems += exc.problems
                continue
            key, shown = "start", s.start
        else:
            step, key, shown = s.start_step, "start_step", f"step {s.start_step}"
        if step >= k:
            problems.append(Problem(f"{where}.{key}", (
                f"{shown} is still to come: the re-dispatch starts at {when}, so a process that has started "
                "started before it")))
            continue
        started[aid] = step

    events_started = {}
    for aid, s, a in _entries(state, "curtailable_loads", by_id):
        if a.max_events is not None and s.events_started > a.max_events:
            problems.append(Problem(f"curtailable_loads.{aid}.events_started",
                                    f"above the case's max_events={a.max_events}, got {s.events_started}"))
        elif s.curtailing and s.events_started < 1:
            problems.append(Problem(f"curtailable_loads.{aid}.events_started",
                                    "a curtailment under way is an event started: expected at least 1, got 0"))
        # a curtailment under way goes on as the first event of the rest of the day
        events_started[aid] = s.events_started - int(s.curtailing)

    events = {ev.id: ev for ev in case.demand_response}
    joined = {}
    for eid, s in state.demand_response.items():
        ev = events.get(eid)
        if ev is None:
            problems.append(Problem(f"demand_response.{eid}",
                                    f"unknown event id {eid!r}: the case's events are {sorted(events)}"))
        elif not ev.optional and not s.joined:
            problems.append(Problem(f"demand_response.{eid}.joined",
                                    "the event is not optional in the case: it cannot have been left out"))
        else:
            joined[eid] = s.joined
    for ev in case.demand_response:
        if ev.end_step > k and ev.id not in state.demand_response:
            problems.append(Problem(f"demand_response.{ev.id}",
                                    "missing: every event not over by the re-dispatch time needs joined: true or false"))

    grid = case.grid
    peak = state.peak_to_date_mw
    if peak is not None:
        if peak < grid.peak_to_date_mw - SLACK:
            problems.append(Problem("peak_to_date_mw", (
                f"below the day-ahead case's peak_to_date_mw={grid.peak_to_date_mw:g} MW: the billing period's "
                f"peak cannot fall, got {peak:g}")))
    elif grid.demand_charge_cny_per_mw > 0:
        problems.append(Problem("peak_to_date_mw", "missing: the case has a demand charge, so the state needs the "
                                "billing period's peak so far [MW]"))
    if state.time is not None:
        try:
            at = from_step(case, state.time, "time")
        except CaseError as exc:
            problems += exc.problems
        else:
            if at != k:
                problems.append(Problem("time", f"the state was measured at {state.time}, but the re-dispatch "
                                        f"starts at {_clock(case, k)}"))
    if problems:
        raise CaseError(problems, step=STATE_CHECK)
    return _Measured(battery_mwh, thermal, delivered, started, events_started, joined, peak)


# ---------------------------------------------------------------------------
# The re-dispatch case
# ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def deviation_defaults() -> dict[str, dict[str, Any]]:
    """The labelled defaults of ``vpp/deviation_defaults.yaml``: ``{key: {"value", "source"}}``."""
    return yaml.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8"))


def default_deviation(case: Case, declared_mw: np.ndarray) -> dict[str, Any]:
    """grid.deviation from the defaults: fractions of the buy price, a band around the plan [MW]."""
    d = deviation_defaults()
    buy = case.series(case.grid.buy_cny_per_mwh)
    return {
        "short_cny_per_mwh": (np.maximum(buy, 0.0) * d["short_fraction_of_buy"]["value"]).tolist(),
        "long_cny_per_mwh": (np.maximum(buy, 0.0) * d["long_fraction_of_buy"]["value"]).tolist(),
        "tolerance_mw": (np.abs(declared_mw) * d["tolerance_fraction_of_plan"]["value"]).tolist(),
    }


def _cut(value: Any, k: int) -> Any:
    """A series field from step k on (a number stays a number)."""
    return value[k:] if isinstance(value, list) else value


def _cut_fields(data: dict[str, Any], fields: tuple[str, ...], k: int) -> None:
    for f in fields:
        if f in data:
            data[f] = _cut(data[f], k)


def _thermal_rest(asset: dict[str, Any], measured_mwh_th: float, dt_h: float,
                  firsts: list[float]) -> tuple[dict[str, Any], float, str]:
    """A thermal store for the rest of the day: from the measured level m, ending at the day-ahead initial level H.

    A canonical store ends at least at its initial level (model.md §4.8), so a
    store started at m would be held to end at m. Instead the store is started
    at H and its first step's thermal demand is raised by ``o = keep·(H − m)/Δ``
    [MW_th] (keep = 1 − loss·Δ): its level at the end of the first step, and so at
    every step after, is exactly that of a store started at m, and it must still
    end at H (the first step's bound on unserved heat moves with its demand, at
    the same price per MWh_th as a final shortfall). This needs
    ``demand[0] + o ≥ 0`` (in every scenario: ``firsts`` are the first step's
    demands of the case and of its scenarios): always when m ≤ H, and when m > H
    as long as the first step's demand can absorb the surplus. Otherwise the
    store starts at m and must end at least at m, more than the day-ahead asked;
    the note says so. ``asset`` is the day-ahead asset's data with its series cut
    (``thermal_demand_mw`` a list). Returns the asset's data, the offset o
    [MW_th] its first step's demand took (0 when none) and the note.
    """
    out = dict(asset)
    cap = float(asset["capacity_mwh_th"])
    h0 = float(asset.get("level_initial", 0.5)) * cap
    keep = 1.0 - float(asset.get("loss_per_hour", 0.0)) * dt_h
    offset = keep * (h0 - measured_mwh_th) / dt_h
    name = asset["id"]
    if abs(h0 - measured_mwh_th) <= SLACK:
        return out, 0.0, f"thermal store {name!r}: measured at its day-ahead initial level {h0:g} MWh_th"
    if min(firsts) + offset >= -SLACK:
        out["thermal_demand_mw"] = _shift_first(asset["thermal_demand_mw"], offset)
        return out, offset, (
            f"thermal store {name!r}: measured at {measured_mwh_th:g} MWh_th; the case starts it at its day-ahead "
            f"initial level {h0:g} MWh_th with {offset:+g} MW_th of thermal demand in the first step, so its levels "
            f"are the measured level's and it still ends at least at {h0:g} MWh_th")
    out["level_initial"] = measured_mwh_th / cap if cap > 0 else 0.0
    return out, 0.0, (
        f"thermal store {name!r}: measured at {measured_mwh_th:g} MWh_th, {measured_mwh_th - h0:g} MWh_th above its "
        "day-ahead initial level, more than the first step's demand can take: it must end at least at the measured "
        "level (a canonical store ends at its initial level)")


def _shift_first(series: Any, offset: float) -> list[float]:
    """A series (cut to the rest of the day, a list) with ``offset`` added to its first step, kept ≥ 0."""
    return [max(series[0] + offset, 0.0), *series[1:]]


def _scenarios_rest(case: Case, k: int, kept: dict[str, str], offsets: dict[str, float]) -> list[dict[str, Any]]:
    """A stochastic day's scenarios for the rest of the day (model.md §6): their series cut to steps k on.

    A key of an asset or event left out of the rest of the day is dropped (``kept``:
    id → type of what is kept), and so is ``grid.schedule_mw``, the one plan held;
    a thermal store's demand takes the first-step offset of :func:`_thermal_rest`.
    """
    out = []
    for sc in case.scenarios or []:
        series = {}
        for key, value in sc.series.items():
            owner, field = key.rsplit(".", 1)
            if key == "grid.schedule_mw" or owner != "grid" and owner not in kept:
                continue
            value = _cut(value, k)
            if offsets.get(owner) and field == "thermal_demand_mw":
                value = _shift_first(value if isinstance(value, list) else [value] * (case.steps - k), offsets[owner])
            series[key] = value
        out.append({"id": sc.id, "probability": sc.probability, "series": series})
    return out


def redispatch_case(plan: Plan, k: int, state: State, *, case: Case | None = None, at: str | None = None) -> Case:
    """The canonical case of steps k … N−1 of ``plan`` from ``state`` (see the module docstring).

    ``case``: the day's case to re-solve with, when not the plan's own (an updated
    forecast of the same day); the declared plan and the day-ahead decisions
    still come from ``plan``.
    """
    case = _same_day(plan, case) if case is not None else plan.case
    m = _measure(case, k, state)
    data = json.loads(case.to_json(indent=None))
    n = case.steps - k
    dt_h = case.dt_hours
    notes: list[str] = []
    data["start"] = case.timestamps[k].isoformat()
    data["steps"] = n

    grid = data["grid"]
    _cut_fields(grid, series_fields(Grid), k)
    declared = plan.declared_mw
    if np.isnan(declared).any():
        raise CaseError([Problem("plan", "the plan's declared net import has steps without a value")],
                        step="reading the plan")
    if case.grid.deviation is not None or plan.case.grid.deviation is not None:
        grid["deviation"] = (case.grid.deviation or plan.case.grid.deviation).model_dump(mode="json")
        _cut_fields(grid["deviation"], series_fields(Deviation), k)
        source = "the day-ahead case" if case.grid.deviation is None or case is plan.case else "the case given"
    else:
        grid["deviation"] = {key: _cut(v, k) for key, v in default_deviation(case, declared).items()}
        source = f"the defaults of {DEFAULTS_FILE.name}"
    grid["schedule_mw"] = [float(x) for x in declared[k:]]
    if m.peak_to_date_mw is not None:
        grid["peak_to_date_mw"] = m.peak_to_date_mw

    if data.get("regulation"):
        _cut_fields(data["regulation"], series_fields(Regulation), k)
        # the offers were made day-ahead per block of the day; from k on they are held step by step
        # (:func:`held_offers`), so a block cut by the re-dispatch time keeps both its parts
        data["regulation"]["block_steps"] = 1
        if offering(case):
            notes.append("the day-ahead regulation offers are held: each battery keeps its band from the plan")

    assets = []
    offsets: dict[str, float] = {}
    for raw, asset in zip(data["assets"], case.assets, strict=True):
        out = dict(raw)
        _cut_fields(out, series_fields(ASSETS[asset.type].SCHEMA), k)
        kind = asset.type
        if kind == "battery":
            out, more = _battery_rest(out, asset, m.battery_mwh[asset.id], n, dt_h)
            notes += more
        elif kind == "thermal_storage":
            if not isinstance(out["thermal_demand_mw"], list):
                out["thermal_demand_mw"] = [float(out["thermal_demand_mw"])] * n
            firsts = [out["thermal_demand_mw"][0]] + [
                _cut(v, k)[0] if isinstance(v, list) else v for sc in case.scenarios or []
                for key, v in sc.series.items() if key == f"{asset.id}.thermal_demand_mw"]
            out, offsets[asset.id], note = _thermal_rest(out, m.thermal_mwh_th[asset.id], dt_h, firsts)
            notes.append(note)
        elif kind == "flexible_load":
            out, more = _flexible_rest(out, asset, m.delivered_mwh[asset.id], k, case)
            notes += more
        elif kind == "shiftable_load":
            out = _shiftable_rest(out, asset, m.started[asset.id], k, n)
        elif kind == "curtailable_load" and asset.max_events is not None:
            out["max_events"] = asset.max_events - m.events_started[asset.id]
        elif kind == "green_contract" and (asset.fixed_cny > 0 or asset.min_take > 0):
            line = plan.report("green_contracts", asset.id)
            if not (line and line.get("taken")):
                notes.append(f"green contract {asset.id!r}: not taken day-ahead, left out")
                continue
            out["fixed_cny"] = 0.0
            out["optional"] = False
        assets.append(out)
    data["assets"] = assets

    events = []
    for raw, ev in zip(data.get("demand_response", []), case.demand_response, strict=True):
        if ev.end_step <= k or not m.joined.get(ev.id, False):
            continue
        out = dict(raw)
        out["baseline_mw"] = _cut(out["baseline_mw"], k)
        out["start_step"] = max(ev.start_step - k, 0)
        out["end_step"] = ev.end_step - k
        out["optional"] = False
        events.append(out)
    data["demand_response"] = events
    if case.scenarios:
        kept = {a["id"]: a["type"] for a in assets} | {ev["id"]: "event" for ev in events}
        data["scenarios"] = _scenarios_rest(case, k, kept, offsets)

    if case.emissions_max_t is not None:
        before = float(np.nansum(plan.column("grid", "emissions_t")[:k]))
        data["emissions_max_t"] = max(case.emissions_max_t - before, 0.0)
        notes.append(f"emissions_max_t: {before:g} tCO2 planned before {_clock(case, k)} taken off the day's cap")

    meta = dict(data.get("meta") or {})
    meta["redispatch"] = {
        "plan": plan.source,
        "from": at or _clock(case, k),
        "from_step": k,
        "declared_plan": "grid.schedule_mw of the day-ahead case" if plan.case.grid.schedule_mw is not None else
                         "the plan the day-ahead solve declared (plan_mw)" if plan.case.grid.deviation is not None else
                         "the day-ahead net import (import − export)",
        "deviation": source,
        "state": state.model_dump(exclude_none=True, exclude_defaults=True),
        "notes": notes,
    }
    data["meta"] = meta
    try:
        return load_case(data)
    except CaseError as exc:
        raise CaseError(exc.problems, step="building the re-dispatch case") from None


def _same_day(plan: Plan, case: Case) -> Case:
    """``case`` if it describes the plan's day on the plan's grid; CaseError naming ``case`` otherwise."""
    p = plan.case
    if (case.start, case.step_minutes, case.steps) != (p.start, p.step_minutes, p.steps):
        raise CaseError([Problem("case", (
            f"the case covers {case.steps} steps of {case.step_minutes} min from {case.start.isoformat()}, the plan "
            f"{p.steps} steps of {p.step_minutes} min from {p.start.isoformat()}: expected the plan's day"))],
            step="reading the case")
    return case


def _battery_rest(out: dict[str, Any], a: Any, level_mwh: float, n: int, dt_h: float) -> tuple[dict[str, Any], list[str]]:
    """A battery from its measured level, held to its day-ahead end level (or the most it can still reach)."""
    notes = []
    frac = level_mwh / a.energy_mwh if a.energy_mwh > 0 else a.soc_initial
    out["soc_initial"] = frac
    lo, hi = min(a.soc_min, frac), max(a.soc_max, frac)
    if lo < a.soc_min - SLACK:
        out["soc_min"] = lo
        notes.append(f"battery {a.id!r}: measured below soc_min ({frac:.4g} < {a.soc_min:g}); soc_min is lowered "
                     "to the measured level for the rest of the day")
    if hi > a.soc_max + SLACK:
        out["soc_max"] = hi
        notes.append(f"battery {a.id!r}: measured above soc_max ({frac:.4g} > {a.soc_max:g}); soc_max is raised "
                     "to the measured level for the rest of the day")
    # The highest level it can end at: charging at full power every step (self-discharge included).
    reach, keep = level_mwh, 1.0 - a.self_discharge_per_hour * dt_h
    for _ in range(n):
        reach = min(keep * reach + a.charge_efficiency * a.charge_mw * dt_h, hi * a.energy_mwh)
    final = a.final_min  # not the measured level, which a missing soc_final_min would default to
    if a.energy_mwh > 0 and final * a.energy_mwh > reach + SLACK:
        notes.append(f"battery {a.id!r}: cannot reach its end level {final:g} from {frac:.4g} in the rest of the day; "
                     f"held to the most it can reach, {reach / a.energy_mwh:.4g}")
        final = reach / a.energy_mwh
    out["soc_final_min"] = final
    return out, notes


def _flexible_rest(out: dict[str, Any], a: Any, delivered: float, k: int, case: Case) -> tuple[dict[str, Any], list[str]]:
    """What a flexible load has left to take after ``delivered`` MWh, deadlines moved to the new grid."""
    dt_h = case.dt_hours
    notes = []
    hi = case.series(a.max_power_mw)[k:]
    lo = case.series(a.min_power_mw)[k:]
    left = a.energy_mwh - delivered
    most, least = float(hi.sum() * dt_h), float(lo.sum() * dt_h)
    energy = min(max(left, least), most)
    if energy < left - SLACK:
        notes.append(f"flexible load {a.id!r}: {left - energy:g} MWh of its energy can no longer be taken "
                     f"(max_power_mw allows {most:g} MWh in the rest of the day)")
    elif energy > left + SLACK:
        notes.append(f"flexible load {a.id!r}: min_power_mw makes it take {energy - left:g} MWh more than energy_mwh")
    out["energy_mwh"] = energy
    reqs = []
    for r in a.requirements:
        need = r.energy_mwh - delivered
        if r.by_step <= k:
            if need > SLACK:
                notes.append(f"flexible load {a.id!r}: its requirement by step {r.by_step} was missed by {need:g} MWh")
            continue
        by = r.by_step - k
        reach = min(float(hi[:by].sum() * dt_h), energy)
        if need > reach + SLACK:
            notes.append(f"flexible load {a.id!r}: only {reach:g} of the {need:g} MWh still required by step "
                         f"{r.by_step} can be taken")
            need = reach
        if need > SLACK:
            reqs.append({"by_step": by, "energy_mwh": need})
    out["requirements"] = reqs
    return out, notes


def _shiftable_rest(out: dict[str, Any], a: Any, started: int | None, k: int, n: int) -> dict[str, Any]:
    """A started process → a fixed load of the rest of its profile; one not started → its window cut."""
    if started is None:
        out["earliest_start"] = max(a.earliest_start - k, 0)
        if a.latest_end is not None:
            out["latest_end"] = a.latest_end - k
        return out
    left = list(a.profile_mw[k - started:])[:n]
    demand = left + [0.0] * (n - len(left))
    load = {key: out[key] for key in ("id", "node", "participant", "name", "description") if key in out}
    load["type"] = "load"
    meta = dict(out.get("meta") or {})
    meta["redispatch"] = (f"shiftable_load started at step {started} of the plan: {len(left)} step(s) of its "
                          "profile left, now a fixed load")
    load["meta"] = meta
    load["demand_mw"] = demand
    return load


# ---------------------------------------------------------------------------
# The state the plan expects, and the whole run
# ---------------------------------------------------------------------------


def planned_state(plan: Plan, k: int) -> dict[str, Any]:
    """The state the plan expects at step k: what a measurement would read if nothing had changed.

    A template for an operator to edit with the measured values (``vpp redispatch --write-state``),
    and the reference of the re-dispatch tests.
    """
    case = plan.case
    last = k - 1
    state: dict[str, Any] = {"time": _clock(case, k)}
    sections: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for a in case.assets:
        if a.type == "battery":
            level = plan.column(a.id, "soc_mwh")[last] if k else a.soc_initial * a.energy_mwh
            sections["batteries"][a.id] = {"soc_mwh": float(level)}
        elif a.type == "thermal_storage":
            level = plan.column(a.id, "level_mwh_th")[last] if k else a.level_initial * a.capacity_mwh_th
            sections["thermal_storage"][a.id] = {"level_mwh_th": float(level)}
        elif a.type == "flexible_load":
            taken = plan.column(a.id, "cumulative_mwh")[last] if k else 0.0
            sections["flexible_loads"][a.id] = {"delivered_mwh": float(taken)}
        elif a.type == "shiftable_load":
            running = np.flatnonzero(plan.column(a.id, "running") > 0.5)
            start = int(running[0]) if running.size else None
            sections["shiftable_loads"][a.id] = (
                {"started": True, "start_step": start} if start is not None and start < k else {"started": False})
        elif a.type == "curtailable_load" and a.max_events is not None:
            on = plan.column(a.id, "curtailing")[:k] > 0.5
            starts = int(np.sum(on & ~np.concatenate([[False], on[:-1]]))) if k else 0
            sections["curtailable_loads"][a.id] = {"events_started": starts, "curtailing": bool(k and on[-1])}
    state.update({name: entries for name, entries in sections.items() if entries})
    events = {}
    for ev in case.demand_response:
        if ev.end_step > k:
            line = plan.report("demand_response", ev.id)
            events[ev.id] = {"joined": bool(line and line.get("joined"))}
    if events:
        state["demand_response"] = events
    if case.grid.demand_charge_cny_per_mw > 0:
        imports = plan.column("grid", "import_mw")[:k]
        state["peak_to_date_mw"] = float(max(case.grid.peak_to_date_mw, *(imports.tolist() or [0.0])))
    return state


def offering(case: Case) -> list[str]:
    """The batteries of ``case`` that offer frequency regulation (§5.4), in the case's order."""
    if case.regulation is None:
        return []
    return [a.id for a in case.assets if a.type == "battery" and a.regulation]


def held_offers(plan: Plan, k: int, rest: Case | None = None) -> dict[str, np.ndarray]:
    """The day-ahead regulation band of each offering battery from step ``k`` on [MW], by the name of
    its first-stage family (``asset[<id>].r``): what a re-dispatch holds (the offers are sold).
    ``rest``: only the batteries that still offer in the re-dispatch case."""
    still = set(offering(rest)) if rest is not None else None
    out = {}
    for battery in offering(plan.case):
        if still is not None and battery not in still:
            continue
        band = plan.column(battery, "regulation_mw")[k:]
        if np.isnan(band).any():
            raise CaseError([Problem("plan", f"the plan's regulation band of {battery!r} has steps without a value")],
                            step="reading the plan")
        out[f"asset[{battery}].r"] = np.maximum(band, 0.0)
    return out


def redispatch(plan: Plan, at: str, state: State, options: SolveOptions | None = None, *,
               case: Case | None = None, where: str = "from") -> DispatchResult:
    """Re-solve the rest of ``plan``'s day from ``at`` (HH:MM) and the measured ``state`` (``case``: see
    :func:`redispatch_case`), holding the day-ahead regulation offers (:func:`held_offers`)."""
    from vpp.dispatch import solve_case

    k = from_step(plan.case, at, where)
    rest = redispatch_case(plan, k, state, case=case, at=at)
    return solve_case(rest, options, fixed=held_offers(plan, k, rest) or None)
