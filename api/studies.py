"""The settlement, cost–carbon front and replay jobs, run in a worker process (see :mod:`api.kinds`).

Each takes the job's JSON params and returns ``{"ok": True, "result": {...}}`` or
``{"ok": False, "error": {...}, "reason": "..."}``; a bad request or a day without a
schedule is a value, never an exception.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def _failure(exc: Exception) -> dict[str, Any]:
    from vpp.errors import CaseError

    if isinstance(exc, CaseError):
        return {"ok": False, "reason": str(exc), "error": {"error": "case", "step": exc.step,
                "problems": [{"path": p.path, "message": p.message} for p in exc.problems]}}
    return {"ok": False, "reason": str(exc), "error": {"error": "solver", "status": getattr(exc, "status", "error")}}


def run_settlement(params: dict[str, Any]) -> dict[str, Any]:
    """Settle stored schedules (``schedule_ids``) with ``rules`` overrides: the settlement and each statement's HTML.

    The schedules are read from the service's database (VPP_DATABASE_URL, as the server's).
    """
    from api.stored import stored_schedule_from_env
    from vpp.errors import CaseError, Problem, SolverError
    from vpp.settlement import rules_from, settle, solved_day_from_json
    from vpp.statements import statement_html

    try:
        rules = rules_from(params.get("rules") or {}, "[given] request")
        days = []
        for i, schedule_id in enumerate(params["schedule_ids"]):
            stored = stored_schedule_from_env(schedule_id)
            if stored is None:
                raise CaseError([Problem(f"schedule_ids[{i}]", f"no schedule {schedule_id!r}")],
                                step="reading the schedules")
            days.append(solved_day_from_json(stored["case"], stored["series"], stored["summary"], f"schedule {schedule_id}"))
        s = settle(days, rules)
    except (CaseError, SolverError) as exc:
        return _failure(exc)
    title = f"Virtual power plant {s.days[0]['case']}"
    result = s.to_dict()
    result["schedule_ids"] = list(params["schedule_ids"])
    result["statements"] = {p: statement_html(s, p, title) for p in s.participants}
    return {"ok": True, "result": result}


def run_pareto(params: dict[str, Any]) -> dict[str, Any]:
    """The cost–carbon front of a template's day or a case: the points (``front.json``'s content)."""
    from vpp.case import load_case
    from vpp.dispatch import resolve_case
    from vpp.errors import CaseError, SolverError
    from vpp.pareto import cost_carbon_front

    try:
        if params.get("case") is not None:
            case = load_case(params["case"])
        else:
            case = resolve_case(params["template"], dt.date.fromisoformat(params["date"]))
        front = cost_carbon_front(case, int(params["points"]), mip_gap=float(params["mip_gap"]),
                                  time_limit_s=float(params["time_limit_s"]))
    except (CaseError, SolverError) as exc:
        return _failure(exc)
    return {"ok": True, "result": front.to_dict()}


#: The replay's own fields (:mod:`vpp.replay`) → the request's.
REPLAY_FIELDS = {"strategy": "strategies", "every": "every_minutes", "outage_rate": "outage.rate_per_year",
                 "outage_hours": "outage.hours", "outage_start": "outage.start"}


def run_replay(params: dict[str, Any]) -> dict[str, Any]:
    """A replayed day (:mod:`vpp.replay`): ``replay.json``'s content and ``replay.csv``'s table by column."""
    from models import SolveOptions
    from vpp.case import load_case
    from vpp.dispatch import resolve_case
    from vpp.errors import CaseError, Problem, SolverError
    from vpp.replay import OutageScenario, Settings, read_actuals, replay

    try:
        if params.get("case") is not None:
            case = load_case(params["case"])
        else:
            case = resolve_case(params["template"], dt.date.fromisoformat(params["date"]))
        o = params.get("outage")
        outage = None if o is None else OutageScenario(o["start"], float(o["hours"]), float(o["rate_per_year"]),
                                                       o["rate_source"])
        settings = Settings(tuple(params["strategies"]), int(params["every_minutes"]), int(params["scenarios"]),
                            int(params["seed"]), outage)
        options = SolveOptions(mip_gap=float(params["mip_gap"]), time_limit_s=float(params["time_limit_s"]), threads=1)
        actuals = read_actuals(None, case, "actuals_csv", text=params.get("actuals_csv"))
        result = replay(case, actuals, settings, options)
    except CaseError as exc:
        return _failure(CaseError([Problem(REPLAY_FIELDS.get(p.path, p.path), p.message) for p in exc.problems],
                                  step=exc.step))
    except SolverError as exc:
        return _failure(exc)
    table = result.table()
    return {"ok": True, "result": result.to_dict() | {
        "table": {c: [None if isinstance(v, float) and v != v else v for v in table[c].tolist()] for c in table.columns}}}
