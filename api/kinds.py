"""Kinds of background job and their registry: what runs in a worker, how its result is kept, its class.

A kind's function is a plain top-level function run in a worker process: it
takes the job's JSON params and returns a JSON-ready dict, either
``{"ok": True, "result": {...}}`` or ``{"ok": False, "error": {...}, "reason": "..."}``;
expected failures (a bad case, no schedule) are values, not exceptions, so
nothing but a dying process can lose a job.

:data:`KINDS` is the registry, filled at the end of this module by :func:`register`:
each :class:`JobKind` names its function, how its result is stored (in the
runner's transaction, beside the job's end) and its :data:`JOB_CLASSES` class,
which decides which workers it may take (:mod:`api.jobs` claims by class).
Adding a kind is one function here, one ``register`` line and one route.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sqlalchemy.orm import Session

from api.db import Job, Schedule, utcnow
from api.studies import run_pareto, run_replay, run_settlement

log = logging.getLogger("vpp.api.worker")


def warm_up() -> str:
    """Import the solver stack in a fresh worker; return HiGHS's version."""
    from models.solve import highs_version
    from vpp.dispatch import solve_case  # noqa: F401 - imported for its import time

    return highs_version()


def schedule_series(result: Any) -> dict[str, Any]:
    """The per-step series of a DispatchResult: timestamps and one list of values per element and quantity.

    Values are floats, or None where the tidy table has no row (a demand-response
    quantity outside its window): :func:`vpp.results.schedule_to_series`, the converter
    :func:`api.store.tidy_table` reads back with its pair. A stochastic day's series are
    those of its most probable scenario (named in ``scenario``); the summary's
    ``uncertainty`` section has the fan.
    """
    from vpp.results import schedule_to_series

    case = result.case
    table = result.schedule
    shown: dict[str, Any] = {}
    if "scenario" in table.columns and case.scenarios:
        likeliest = max(case.scenarios, key=lambda sc: sc.probability).id
        table = table[table["scenario"] == likeliest].drop(columns="scenario")
        shown = {"scenario": likeliest}
    return schedule_to_series(table, case.timestamps) | {"step_minutes": case.step_minutes} | shown


def run_schedule(params: dict[str, Any]) -> dict[str, Any]:
    """Materialise (template) or read (case) the case, solve it with one HiGHS thread, return the schedule.

    With ``regulation`` (default true) a case with a regulation market is solved with and without it
    (:func:`vpp.dispatch.solve_day`); false leaves the market out.
    """
    from models.solve import SolveOptions
    from vpp.case import load_case
    from vpp.dispatch import resolve_case, solve_day
    from vpp.errors import CaseError, SolverError
    from vpp.microgrid import plan_microgrid

    try:
        if params.get("case") is not None:
            case = load_case(params["case"])
        else:
            case = resolve_case(params["template"], dt.date.fromisoformat(params["date"]),
                                peak_to_date_mw=params.get("peak_to_date_mw"), dr_events=params.get("dr_events"))
        case = plan_microgrid(case, params.get("outage"), params.get("backup_hours"))
        opts = params.get("options") or {}
        options = SolveOptions(mip_gap=float(opts.get("mip_gap", 1e-4)),
                               time_limit_s=float(opts.get("time_limit_s", 60.0)), threads=1)
        if params.get("scenarios"):
            from vpp.regulation import without_regulation
            from vpp.uncertainty import ScenarioSettings, stochastic_day

            if not params.get("regulation", True):
                case = without_regulation(case)
            result = stochastic_day(case, None, ScenarioSettings(**params["scenarios"]), options)
        elif params.get("held"):  # a re-dispatch: the day-ahead regulation offers are held
            from vpp.dispatch import solve_case

            result = solve_case(case, options, fixed={k: np.asarray(v, dtype=float) for k, v in params["held"].items()})
        else:
            result = solve_day(case, options, regulation=params.get("regulation", True))
        case = result.case  # without its regulation market when switched off; with its scenarios
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


def case_failure(exc: Any) -> dict[str, Any]:
    """A job's failure value for a :class:`vpp.errors.CaseError`: its step and every problem with its path."""
    return {"ok": False, "reason": str(exc),
            "error": {"error": "case", "step": exc.step,
                      "problems": [{"path": p.path, "message": p.message} for p in exc.problems]}}


def run_sizing(params: dict[str, Any]) -> dict[str, Any]:
    """Run a sizing study (:class:`vpp.sizing.SizingRequest` fields); the result is ``sizing.json``'s content."""
    from pydantic import ValidationError

    from vpp.case import field_path
    from vpp.errors import CaseError, SolverError
    from vpp.sizing import run_sizing_request

    try:
        return {"ok": True, "result": run_sizing_request(params)}
    except CaseError as exc:
        return case_failure(exc)
    except ValidationError as exc:
        problems = [{"path": field_path(e["loc"]), "message": e["msg"]} for e in exc.errors(include_url=False)]
        return {"ok": False, "reason": f"{len(problems)} problem(s) in the sizing request",
                "error": {"error": "case", "step": "reading the sizing request", "problems": problems}}
    except SolverError as exc:
        return {"ok": False, "reason": str(exc), "error": {"error": "solver", "status": exc.status}}


def run_outage(params: dict[str, Any]) -> dict[str, Any]:
    """The outage study of a stored schedule (:mod:`vpp.microgrid.study`), serially in this worker."""
    from models.solve import SolveOptions
    from vpp.case import load_case
    from vpp.errors import CaseError
    from vpp.microgrid.study import Dispatched, outage_study, study_section
    from vpp.results import schedule_from_series

    try:
        day = Dispatched(load_case(params["case"]), schedule_from_series(params["series"]),
                         float(params["objective_cny"]), params.get("mip_gap"))
        study = outage_study(day, params["hours"], backup_hours=params.get("backup_hours"),
                             other_cny_per_mwh=params.get("other_cny_per_mwh"),
                             options=SolveOptions(time_limit_s=float(params["time_limit_s"]), threads=1))
    except CaseError as exc:
        return case_failure(exc)
    return {"ok": True, "result": {"schedule_id": params["schedule_id"], **study_section(study)}}


def run_job(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Entry point in the worker: run ``kind`` on ``params``; an unexpected error becomes a failure value."""
    try:
        return KINDS[kind].run(params)
    except Exception as exc:  # the reason names the error's type, never a traceback or a path
        log.exception("job of kind %s failed unexpectedly", kind)
        return {"ok": False, "reason": f"unexpected error in the worker ({type(exc).__name__})",
                "error": {"error": "internal", "type": type(exc).__name__}}


# ---------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------

JobClass = Literal["control", "study"]

#: The classes of job, in the order free workers go to them. ``control``: work an operator waits
#: for (a day's schedule); it may use every worker and is always claimed first. ``study``: planning
#: work of minutes to hours (sizing, and later Pareto fronts and settlement runs); at most
#: ``VPP_STUDY_WORKERS`` of a server's workers run studies at once, so the others stay free for
#: the control room.
JOB_CLASSES: tuple[JobClass, ...] = ("control", "study")


@dataclass(frozen=True)
class JobKind:
    """A kind of job.

    ``run(params) -> outcome`` runs in a worker; ``store(session, job, result) -> job result JSON``
    keeps a successful result in the runner's transaction (``None``: the result is kept on the job
    as it is); ``job_class`` is one of :data:`JOB_CLASSES`.
    """

    name: str
    run: Callable[[dict[str, Any]], dict[str, Any]]
    store: Callable[[Session, Job, dict[str, Any]], dict[str, Any]] | None = None
    job_class: JobClass = "study"


KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    """Add ``kind`` to :data:`KINDS` (a name is registered once)."""
    if kind.name in KINDS:
        raise ValueError(f"job kind {kind.name!r} is registered twice")
    if kind.job_class not in JOB_CLASSES:
        raise ValueError(f"job kind {kind.name!r}: unknown class {kind.job_class!r}, expected one of {JOB_CLASSES}")
    KINDS[kind.name] = kind
    return kind


def kinds_of(job_class: JobClass) -> list[str]:
    """The names of the kinds of ``job_class``."""
    return [k.name for k in KINDS.values() if k.job_class == job_class]


def store_schedule(session: Session, job: Job, result: dict[str, Any]) -> dict[str, Any]:
    """Add the schedule row of a finished schedule job (in the caller's transaction)."""
    schedule_id = str(uuid.uuid4())
    session.add(Schedule(id=schedule_id, job_id=job.id, created_at=utcnow(), **result))
    return {"schedule_id": schedule_id}


register(JobKind("schedule", run_schedule, store_schedule, job_class="control"))
register(JobKind("sizing", run_sizing, job_class="study"))  # the result (sizing.json) is kept on the job
register(JobKind("settlement", run_settlement, job_class="study"))  # settlement.json and the statements on the job
register(JobKind("pareto", run_pareto, job_class="study"))  # front.json on the job
register(JobKind("outage", run_outage, job_class="study"))  # the study's section is kept on the job
register(JobKind("replay", run_replay, job_class="study"))  # replay.json and its table on the job
