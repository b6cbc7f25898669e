"""The outage study of a solved day: its survival with and without a backup reserve, and the reserve's cost.

:func:`outage_study` simulates outages from every step (:mod:`vpp.microgrid.survival`)
of the schedule it is given and, when a reserve is named (the case's own
``backup_hours``, or ``backup_hours`` given here), of the same day solved
with that reserve and without any: the reserve's cost is the difference of
the two days' objectives, set beside the survival it buys. :func:`read_dispatch`
reads a folder ``vpp dispatch`` wrote; :func:`write_study` writes the study's
files; :func:`study_section` is the study as a section of a summary.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from models import SolveOptions
from vpp.case import Case, load_case, read_case
from vpp.dispatch import solve_case
from vpp.errors import CaseError, Problem, SolverError
from vpp.microgrid.islanding import hours_problem, with_backup_hours
from vpp.microgrid.survival import OTHER_SHARE_OF_VOLL, STEP, Progress, Settings, Survival, simulate

if TYPE_CHECKING:
    from vpp.coalitions import Pool


@dataclass(frozen=True)
class Dispatched:
    """A solved day: its case, its tidy schedule, and the objective [CNY] and MIP gap it was solved to."""

    case: Case
    schedule: pd.DataFrame
    objective_cny: float
    mip_gap: float | None


def read_dispatch(folder: str | Path, where: str = "schedule") -> Dispatched:
    """The day a ``vpp dispatch`` folder holds (``case.json``, ``schedule.parquet`` or ``.csv``, ``summary.json``)."""
    d = Path(folder)
    missing = [name for name in ("case.json", "summary.json") if not (d / name).is_file()]
    if not (d / "schedule.parquet").is_file() and not (d / "schedule.csv").is_file():
        missing.append("schedule.parquet (or schedule.csv)")
    if not d.is_dir() or missing:
        what = "is not a folder" if not d.is_dir() else f"has no {', '.join(missing)}"
        raise CaseError([Problem(where, f"{str(d)!r} {what}: expected a folder written by vpp dispatch")],
                        step="reading the schedule")
    case = read_case(d / "case.json")
    if (d / "schedule.parquet").is_file():
        schedule = pd.read_parquet(d / "schedule.parquet")
    else:
        schedule = pd.read_csv(d / "schedule.csv")
    summary = json.loads((d / "summary.json").read_text(encoding="utf-8"))
    return Dispatched(case, schedule, float(summary["objective_cny"]), summary.get("mip_gap"))


def without_reserve(case: Case) -> Case:
    """``case`` without its backup reserve."""
    data = case.model_dump(mode="json", exclude_none=True)
    data.pop("backup_hours", None)
    return load_case(data)


@dataclass
class OutageStudy:
    """Survival of one schedule, or of the day without a reserve and with one, and what the reserve costs."""

    case: Case
    hours: float
    other_cny_per_mwh: float
    variants: list[Survival]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def variant(self, reserve: bool) -> Survival | None:
        """The schedule with a reserve (``True``) or without one (``False``), if studied."""
        return next((v for v in self.variants if (v.backup_hours is not None) == reserve), None)

    @property
    def reserve_cost_cny(self) -> float | None:
        """The day's objective with the reserve less without it [CNY]."""
        with_, without = self.variant(True), self.variant(False)
        if with_ is None or without is None or len(self.variants) < 2:
            return None
        return float(with_.objective_cny - without.objective_cny)

    @property
    def reserve_cost_uncertainty_cny(self) -> float | None:
        """How far the MIP gaps of the two solves leave the reserve's cost uncertain [CNY]."""
        if self.reserve_cost_cny is None:
            return None
        return float(sum(abs(v.objective_cny or 0.0) * (v.mip_gap or 0.0) for v in self.variants))

    def to_dict(self) -> dict[str, Any]:
        """The study as JSON-ready data (``outage.json``)."""
        with_, without = self.variant(True), self.variant(False)
        saving = None
        if self.reserve_cost_cny is not None and with_ is not None and without is not None:
            saving = float(without.starts["outage_cost_cny"].mean() - with_.starts["outage_cost_cny"].mean())
        return {
            "case": self.case.name,
            "start": self.case.start.isoformat(),
            "steps": self.case.steps,
            "step_minutes": self.case.step_minutes,
            "hours": self.hours,
            "outage_steps": self.variants[0].steps if self.variants else None,
            "voll_cny_per_mwh": self.case.voll_cny_per_mwh,
            "other_cny_per_mwh": self.other_cny_per_mwh,
            "reserve_cost_cny": self.reserve_cost_cny,
            "reserve_cost_uncertainty_cny": self.reserve_cost_uncertainty_cny,
            "outage_cost_saved_cny": saving,
            "break_even_outage_probability": (self.reserve_cost_cny / saving
                                              if saving and saving > 0 and self.reserve_cost_cny is not None else None),
            "variants": [v.to_dict() for v in self.variants],
            "notes": self.notes,
            "seconds": self.seconds,
        }


def outage_study(
    day: Dispatched,
    hours: float,
    *,
    backup_hours: float | None = None,
    other_cny_per_mwh: float | None = None,
    options: SolveOptions | None = None,
    pool: Pool | None = None,
    progress: Progress | None = None,
    where: tuple[str, str, str] = ("hours", "backup_hours", "other_cny_per_mwh"),
) -> OutageStudy:
    """Simulate outages of up to ``hours`` from every step of ``day``; compare with and without a reserve.

    The reserve is ``backup_hours`` or the case's own; without either, only
    ``day`` is studied. The other schedule of the pair is solved here with
    ``options``. ``where`` names the inputs in errors (the command line's options).
    """
    t0 = time.perf_counter()
    case = day.case
    other = case.voll_cny_per_mwh * OTHER_SHARE_OF_VOLL if other_cny_per_mwh is None else other_cny_per_mwh
    problems = study_problems(case, hours, other, where, backup_hours)
    if problems:
        raise CaseError(problems, step=STEP)
    settings = Settings(hours=float(hours), other_cny_per_mwh=float(other))
    reserve = backup_hours if backup_hours is not None else case.backup_hours
    notes: list[str] = []
    days: list[tuple[str, Case, pd.DataFrame, float, float | None]] = []
    if reserve is None:
        days.append(("schedule", case, day.schedule, day.objective_cny, day.mip_gap))
        notes.append(f"no backup reserve to compare with: give {where[1]}")
    else:
        for label, planned in (("without a reserve", False), (f"with a {reserve:g} h reserve", True)):
            if (case.backup_hours == reserve) if planned else (case.backup_hours is None):
                days.append((label, case, day.schedule, day.objective_cny, day.mip_gap))
                continue
            variant = with_backup_hours(case, reserve, where=where[1]) if planned else without_reserve(case)
            try:
                solved = solve_case(variant, options or SolveOptions(threads=1))
            except SolverError as exc:
                notes.append(f"{label}: no schedule ({exc.status}): {exc}")
                continue
            days.append((label, variant, solved.schedule, solved.objective_cny, solved.report.mip_gap))
    variants = []
    for label, c, schedule, objective, gap in days:
        survival = simulate(c, schedule, settings, label=label, pool=pool, progress=progress)
        survival.objective_cny, survival.mip_gap = objective, gap
        variants.append(survival)
    return OutageStudy(case, float(hours), float(other), variants, notes, time.perf_counter() - t0)


def study_problems(case: Case, hours: Any, other_cny_per_mwh: Any,
                   where: tuple[str, str, str] = ("hours", "backup_hours", "other_cny_per_mwh"),
                   backup_hours: Any = None) -> list[Problem]:
    """What is wrong with a study's outage length [h], reserve [h] and rest's price [CNY/MWh] for ``case``."""
    voll = case.voll_cny_per_mwh
    problems = []
    bad = hours_problem(hours, where[0])
    if bad:
        problems.append(bad)
    elif hours * 60 / case.step_minutes > case.steps + 1e-9:
        problems.append(Problem(where[0], f"expected at most the case's horizon ({case.steps * case.dt_hours:g} h), "
                                f"got {hours:g}"))
    if backup_hours is not None and (bad := hours_problem(backup_hours, where[1])):
        problems.append(bad)
    other = other_cny_per_mwh
    if (isinstance(other, bool) or not isinstance(other, (int, float)) or not math.isfinite(other)
            or not 0 <= other < voll):
        shown = f"{other:g}" if isinstance(other, (int, float)) and not isinstance(other, bool) else repr(other)
        problems.append(Problem(where[2], f"expected a price >= 0 and below the value of lost load ({voll:g} CNY/MWh), "
                                f"got {shown}"))
    return problems


def study_section(study: OutageStudy) -> dict[str, Any]:
    """The study as a summary section: per schedule, the survival curve and the critical energy at risk by step."""
    data = study.to_dict()
    for v in data["variants"]:
        starts = v.pop("starts")
        v["critical_at_risk_mwh_by_step"] = [r["critical_at_risk_mwh"] for r in starts]
        v["survived_hours_by_step"] = [r["survived_hours"] for r in starts]
        v["outage_cost_cny_by_step"] = [r["outage_cost_cny"] for r in starts]
    return data


def write_study(study: OutageStudy, out_dir: str | Path, chart: bool = True) -> dict[str, Path]:
    """``outage.json``, ``outage_starts.csv`` (one row per schedule and start step), ``outage.png``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"outage.json": out / "outage.json", "outage_starts.csv": out / "outage_starts.csv"}
    paths["outage.json"].write_text(json.dumps(study.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    rows = pd.concat([v.starts.assign(schedule=v.label) for v in study.variants], ignore_index=True)
    rows[["schedule", *[c for c in rows.columns if c != "schedule"]]].to_csv(
        paths["outage_starts.csv"], index=False, float_format="%.9g")
    if chart and study.variants:
        from vpp.microgrid.plots import plot_study

        paths["outage.png"] = plot_study(study, out / "outage.png")
    return paths
