"""Kinds of background job: plain top-level functions run in a worker process.

Each takes the job's JSON params and returns a JSON-ready dict, either
``{"ok": True, "result": {...}}`` or ``{"ok": False, "error": {...}, "reason": "..."}``;
expected failures (a bad case, no schedule) are values, not exceptions, so
nothing but a dying process can lose a job. :data:`api.jobs.KINDS` maps a
kind's name to its function and to how its result is stored; adding a kind is
one function here plus one route.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

log = logging.getLogger("vpp.api.worker")


def warm_up() -> str:
    """Import the solver stack in a fresh worker; return HiGHS's version."""
    from models.solve import highs_version
    from vpp.dispatch import solve_case  # noqa: F401 - imported for its import time

    return highs_version()


def schedule_series(result: Any) -> dict[str, Any]:
    """The per-step series of a DispatchResult: timestamps and one list of values per element and quantity.

    Values are floats, or None where the tidy table has no row (a demand-response
    quantity outside its window). A stochastic day's series are those of its most
    probable scenario (named in ``scenario``); the summary's ``uncertainty`` section has the fan.
    """
    case = result.case
    table = result.schedule
    shown: dict[str, Any] = {}
    if "scenario" in table.columns and case.scenarios:
        likeliest = max(case.scenarios, key=lambda sc: sc.probability).id
        table = table[table["scenario"] == likeliest]
        shown = {"scenario": likeliest}
    keys = ["asset", "type", "node", "quantity", "unit"]
    series = []
    for key, group in table.groupby(keys, sort=False):
        values: list[float | None] = [None] * case.steps
        for step, value in zip(group["step"].tolist(), group["value"].tolist(), strict=True):
            values[int(step)] = float(value)
        series.append(dict(zip(keys, key, strict=True)) | {"values": values})
    return {"timestamps": [t.isoformat() for t in case.timestamps], "step_minutes": case.step_minutes,
            "series": series, **shown}


def run_schedule(params: dict[str, Any]) -> dict[str, Any]:
    """Materialise (template) or read (case) the case, solve it with one HiGHS thread, return the schedule."""
    from models.solve import SolveOptions
    from vpp.case import load_case
    from vpp.dispatch import resolve_case, solve_case
    from vpp.errors import CaseError, SolverError

    try:
        if params.get("case") is not None:
            case = load_case(params["case"])
        else:
            case = resolve_case(params["template"], dt.date.fromisoformat(params["date"]))
        opts = params.get("options") or {}
        options = SolveOptions(mip_gap=float(opts.get("mip_gap", 1e-4)),
                               time_limit_s=float(opts.get("time_limit_s", 60.0)), threads=1)
        if params.get("scenarios"):
            from vpp.uncertainty import ScenarioSettings, stochastic_day

            result = stochastic_day(case, None, ScenarioSettings(**params["scenarios"]), options)
        else:
            result = solve_case(case, options)
    except CaseError as exc:
        # a template that cannot be materialised for the day: its problems without a path are the date's
        default = "date" if params.get("case") is None else ""
        return {"ok": False, "reason": str(exc),
                "error": {"error": "case", "step": exc.step,
                          "problems": [{"path": p.path or default, "message": p.message} for p in exc.problems]}}
    except SolverError as exc:
        return {"ok": False, "reason": str(exc), "error": {"error": "solver", "status": exc.status}}
    return {
        "ok": True,
        "result": {
            "case_name": case.name,
            "date": case.start.date().isoformat(),
            "template": params.get("template"),
            "status": result.status,
            "objective_cny": float(result.objective_cny),
            "summary": result.summary,
            "series": schedule_series(result),
            "case": json.loads(case.to_json(indent=None)),
            "options": {"mip_gap": options.mip_gap, "time_limit_s": options.time_limit_s, "threads": 1},
        },
    }


def run_sizing(params: dict[str, Any]) -> dict[str, Any]:
    """Run a sizing study (:class:`vpp.sizing.SizingRequest` fields); the result is ``sizing.json``'s content."""
    from pydantic import ValidationError

    from vpp.errors import CaseError, SolverError
    from vpp.sizing import run_sizing_request

    try:
        return {"ok": True, "result": run_sizing_request(params)}
    except CaseError as exc:
        return {"ok": False, "reason": str(exc),
                "error": {"error": "case", "step": exc.step,
                          "problems": [{"path": p.path, "message": p.message} for p in exc.problems]}}
    except ValidationError as exc:
        problems = [{"path": ".".join(str(x) for x in e["loc"]), "message": e["msg"]} for e in exc.errors(include_url=False)]
        return {"ok": False, "reason": f"{len(problems)} problem(s) in the sizing request",
                "error": {"error": "case", "step": "reading the sizing request", "problems": problems}}
    except SolverError as exc:
        return {"ok": False, "reason": str(exc), "error": {"error": "solver", "status": exc.status}}


def run_job(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Entry point in the worker: run ``kind`` on ``params``; an unexpected error becomes a failure value."""
    from api.jobs import KINDS

    try:
        return KINDS[kind].run(params)
    except Exception as exc:  # the reason names the error's type, never a traceback or a path
        log.exception("job of kind %s failed unexpectedly", kind)
        return {"ok": False, "reason": f"unexpected error in the worker ({type(exc).__name__})",
                "error": {"error": "internal", "type": type(exc).__name__}}
