"""Run benchmark suites: every arm on the same cases, side by side, checked for agreement.

For each case and arm: one warm-up run (not counted), then ``repeats`` timed
runs; each phase's median, min and max; the peak resident memory of the runs
above what the process held before them (the kernel's high-water mark, reset
per case and arm); the model's size; status, gap, objective. An arm's time
counts only when its objective agrees with the product's on the same case,
within the gaps both reached (``agrees``).

Suites:

- ``quick`` (CI): TEDA east and small generated cases, each also restricted to
  what PyPSA can express, so that every arm meets every other;
- ``full``: one axis at a time (substations, days, resolution, features,
  regulation) and the 7-day, 15-minute, 50-asset case with its time limit;
- ``stochastic``: the TEDA east day with 1, 5, 10, 20 and 50 scenarios drawn
  from its forecasts (:func:`vpp.uncertainty.add_scenarios`, 1,000 draws, seed 0)
  at a gap of 1e-3 and the default 60 s limit, by the extensive form
  (``product``) and by scenario decomposition here and on two Dask workers
  (:mod:`benchmarks.arms.decomposition`); the 50-scenario day once more with a
  limit of 15 minutes, for the extensive form to finish.

In ``quick`` and ``full``, every case with a frequency-regulation market (TEDA
east has one) is also run without it (``<case>/no-regulation``,
:func:`vpp.regulation.without_regulation`): the same case, so that the report
can set the solve times side by side.

Outputs in ``--out``: ``bench.csv``, ``bench.md`` (tables and the targets),
``time_vs_size.png`` (total time against model size, per arm and axis) and
``overhead.png`` (the product's modelling overhead against HiGHS's solve); ``bench.json``: every
row with the machine (cores, load averages before and after each case and arm: the machine may be
shared) and, per run, the CPU time of every process that worked on it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
import os
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from benchmarks.arms import ArmResult, Settings, decomposition
from benchmarks.arms.product import VARIANTS
from benchmarks.generator import Scale, generate
from benchmarks.report import NO_REGULATION
from vpp.case import Case
from vpp.regulation import regulating_batteries, without_regulation

PHASES = ("build", "handover", "solve", "extract")
REFERENCE = "product"


@dataclass
class Arm:
    name: str
    run: Callable[[Case, Settings], ArmResult]
    supports: Callable[[Case], str | None]


OPTIONAL_ARMS = {"direct": "benchmarks.arms.direct", "pypsa": "benchmarks.arms.pypsa_arm"}
INSTALL_HINT = "pip install -e '.[bench]'"


def available_arms(wanted: Iterable[str] | None = None) -> tuple[dict[str, Arm], dict[str, str]]:
    """The arms that can run here (of ``wanted``, default all), and why each other one cannot.

    An optional arm runs when its module and the packages it ``REQUIRES`` import.
    """
    arms = {name: Arm(name, fn, lambda case: None) for name, fn in VARIANTS.items()}
    missing: dict[str, str] = {}
    for name, module in OPTIONAL_ARMS.items():
        if wanted is not None and name not in wanted:
            continue
        try:
            mod = importlib.import_module(module)
            for package in getattr(mod, "REQUIRES", ()):
                importlib.import_module(package)
        except ImportError as exc:
            missing[name] = f"not installed: {exc}; {INSTALL_HINT} adds it"
            continue
        arms[name] = Arm(name, mod.run, mod.supports)
    return arms, missing


@dataclass
class BenchCase:
    """A case in a suite: its name, the axis it varies along and the case itself."""

    name: str
    axis: str
    case: Case
    settings: Settings = field(default_factory=Settings)
    repeats: int | None = None  # None: the suite's; the largest cases run once, without a warm-up


def _with_twins(cases: list[BenchCase]) -> list[BenchCase]:
    """Each case with a regulation market followed by the same case without it (``<name>/no-regulation``)."""
    out = []
    for bc in cases:
        out.append(bc)
        if regulating_batteries(bc.case):
            out.append(BenchCase(bc.name + NO_REGULATION, bc.axis, without_regulation(bc.case), bc.settings, bc.repeats))
    return out


def _restricted(cases: list[BenchCase]) -> list[BenchCase]:
    """Each case also restricted to what PyPSA can express, when it cannot express the whole."""
    pypsa_arm = importlib.import_module("benchmarks.arms.pypsa_arm")
    out = []
    for bc in cases:
        out.append(bc)
        if pypsa_arm.supports(bc.case) is not None:
            sub = pypsa_arm.restrict(bc.case)
            if pypsa_arm.supports(sub) is None:
                out.append(BenchCase(f"{bc.name}/pypsa-subset", bc.axis, sub, bc.settings, bc.repeats))
    return out


def suite(name: str, pypsa_subsets: bool = True) -> tuple[list[BenchCase], int]:
    """The cases of a suite and its number of timed repeats.

    ``pypsa_subsets``: also each case restricted to what PyPSA can express (for the PyPSA arm).
    """
    from vpp.cases import materialize

    def restricted(cases: list[BenchCase]) -> list[BenchCase]:
        # a case without its regulation market has the same PyPSA subset as with it: one subset each
        return _with_twins(_restricted(cases) if pypsa_subsets else cases)

    teda = BenchCase("teda-east-2026-07-15", "teda", materialize("teda-east", dt.date(2026, 7, 15)))
    if name == "stochastic":
        return stochastic_cases(teda.case), 3
    if name == "quick":
        scales = [
            ("gen-default", "substations", Scale()),
            ("gen-s2-60min-plain", "resolution", Scale(substations=2, pv=2, loads=2, batteries=2, step_minutes=60,
                                                       binaries=False, events=False)),
            ("gen-s8-2days-60min", "days", Scale(substations=8, pv=8, loads=8, batteries=8, days=2, step_minutes=60)),
            ("gen-s2-60min-regulation", "regulation", Scale(substations=2, pv=2, loads=2, batteries=2, step_minutes=60,
                                                            binaries=False, events=False, regulation=True, seed=1)),
        ]
        cases = [teda] + [BenchCase(n, axis, generate(s)) for n, axis, s in scales]
        return restricted(cases), 2
    if name != "full":
        raise ValueError(f"suite: expected 'quick', 'full' or 'stochastic', got {name!r}")
    cases = [teda]
    for k in (2, 4, 8, 16, 32):
        s = Scale(substations=k, pv=k, loads=k, batteries=k, curtailable=max(1, k // 4), shiftable=max(1, k // 8),
                  flexible=max(1, k // 8), thermal=max(1, k // 16), contracts=2)
        cases.append(BenchCase(f"substations-{k}", "substations", generate(s)))
    for d in (1, 2, 4, 7):
        cases.append(BenchCase(f"days-{d}", "days", generate(Scale(days=d))))
    for m in (60, 15, 5):
        cases.append(BenchCase(f"step-{m}min", "resolution", generate(Scale(step_minutes=m))))
    for label, s in (
        ("plain", Scale(binaries=False, events=False)),
        ("binaries", Scale(events=False)),
        ("binaries+events", Scale()),
        ("binaries+events+green-share", Scale(green_share=True)),
        ("binaries+events+green-share+export", Scale(green_share=True, export=True)),
    ):
        cases.append(BenchCase(f"features-{label}", "features", generate(s)))
    for label, s in (("1day", Scale(regulation=True)), ("s8", Scale(substations=8, pv=8, loads=8, batteries=8, regulation=True)),
                     ("2days", Scale(days=2, regulation=True))):
        cases.append(BenchCase(f"regulation-{label}", "regulation", generate(s)))
    big = Scale(substations=10, pv=15, loads=10, batteries=10, curtailable=5, shiftable=3, flexible=3, thermal=2,
                contracts=2, days=7, step_minutes=15)
    cases.append(BenchCase("target-7days-15min-50assets", "target", generate(big),
                           Settings(mip_gap=1e-4, time_limit_s=120.0), repeats=1))
    return restricted(cases), 3


SCENARIO_COUNTS = (1, 5, 10, 20, 50)
LONG_LIMIT = "/long-limit"
STOCHASTIC_SETTINGS = Settings(mip_gap=1e-3, time_limit_s=60.0)
STOCHASTIC_ARMS = ("product", *decomposition.VARIANTS)


LONG_LIMIT_S = 900.0
"""The time limit of the largest case's twin [s]: long enough for the extensive form to finish, so that
the decomposition's speed-up is measured against a finished solve and not against the limit."""


def stochastic_cases(day: Case) -> list[BenchCase]:
    """The day with each number of scenarios of :data:`SCENARIO_COUNTS`; from 20 on one timed run, no warm-up;
    the largest once more with a limit of :data:`LONG_LIMIT_S` (``…/long-limit``)."""
    from vpp.uncertainty import ScenarioSettings, add_scenarios

    cases = [BenchCase(f"teda-east-2026-07-15-{k}-scenarios", "scenarios", add_scenarios(day, ScenarioSettings(k)),
                       STOCHASTIC_SETTINGS, repeats=1 if k >= 20 else None) for k in SCENARIO_COUNTS]
    last = cases[-1]
    cases.append(BenchCase(last.name + LONG_LIMIT, last.axis, last.case,
                           Settings(mip_gap=STOCHASTIC_SETTINGS.mip_gap, time_limit_s=LONG_LIMIT_S), repeats=1))
    return cases


def _rss_kib(field_name: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")  # resets VmHWM, the peak resident set, to the current one
        return True
    except OSError:
        return False


def measure(arm: Arm, bc: BenchCase, repeats: int) -> dict[str, Any]:
    """Warm up once, then time ``repeats`` runs of one arm on one case."""
    reason = arm.supports(bc.case)
    row: dict[str, Any] = {"case": bc.name, "axis": bc.axis, "arm": arm.name, "steps": bc.case.steps,
                           "assets": len(bc.case.assets), "nodes": len(bc.case.network.nodes),
                           "regulation": bool(regulating_batteries(bc.case)),
                           "scenarios": len(bc.case.scenarios or [])}
    if reason is not None:
        return {**row, "status": "unsupported", "note": reason}
    if bc.repeats is None:
        arm.run(bc.case, bc.settings)  # warm-up, not counted
    base = _rss_kib("VmRSS")
    tracked = _reset_peak()
    load = os.getloadavg()[0]
    runs = [arm.run(bc.case, bc.settings) for _ in range(bc.repeats or repeats)]
    peak = (_rss_kib("VmHWM") - base) / 1024 if tracked else math.nan
    last = runs[-1]
    cpu = [r.cpu_seconds for r in runs if r.cpu_seconds is not None]
    row.update(cpu_s=statistics.median(cpu) if cpu else math.nan, load_before=load, load_after=os.getloadavg()[0])
    row.update(status=last.status, objective_cny=last.objective_cny, mip_gap=last.mip_gap,
               variables=last.variables, constraints=last.constraints, binaries=last.binaries,
               nonzeros=last.nonzeros, peak_mem_mib=max(peak, 0.0), note=last.note,
               objectives_differ=len({round(r.objective_cny or 0, 6) for r in runs}) > 1)
    for phase in (*PHASES, "total", "overhead"):
        values = [r.total_seconds if phase == "total" else r.overhead_seconds if phase == "overhead"
                  else r.phases.get(phase, 0.0) for r in runs]
        row[f"{phase}_s"] = statistics.median(values)
        row[f"{phase}_min_s"] = min(values)
        row[f"{phase}_max_s"] = max(values)
    return row


def agreement(rows: list[dict[str, Any]]) -> None:
    """Mark each row with whether its objective agrees with the product's on the same case."""
    ref = {r["case"]: r for r in rows if r["arm"] == REFERENCE and r.get("objective_cny") is not None}
    for r in rows:
        base = ref.get(r["case"])
        if r.get("objective_cny") is None or base is None:
            r["agrees"] = None
            continue
        gaps = (r.get("mip_gap") or 0.0) + (base.get("mip_gap") or 0.0)
        tol = (gaps + 1e-7) * max(abs(base["objective_cny"]), 1.0)
        r["agrees"] = bool(abs(r["objective_cny"] - base["objective_cny"]) <= tol)


def run_suite(name: str, arms: Iterable[str] | None = None, progress: Callable[[str], None] | None = None,
              repeats: int | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Run a suite; return one row per case and arm, and the arms that could not run here."""
    wanted = list(arms) if arms else None
    known = [*VARIANTS, *OPTIONAL_ARMS, *decomposition.VARIANTS]
    for a in wanted or []:
        if a not in known:
            raise ValueError(f"arm: expected one of {sorted(known)}, got {a!r}")
    available, missing = available_arms(wanted)
    if name == "stochastic":
        available |= {n: Arm(n, fn, decomposition.supports) for n, fn in decomposition.VARIANTS.items()}
        wanted = wanted or list(STOCHASTIC_ARMS)
    elif wanted and set(wanted) & set(decomposition.VARIANTS):
        raise ValueError(f"arm: the decomposition arms run in the stochastic suite only, got {wanted!r}")
    chosen = [available[a] for a in (wanted or available) if a in available]
    cases, default_repeats = suite(name, pypsa_subsets="pypsa" in available and name != "stochastic")
    rows = []
    for bc in cases:
        for arm in chosen:
            t0 = time.perf_counter()
            rows.append(measure(arm, bc, repeats or default_repeats))
            if progress:
                progress(f"{bc.name} · {arm.name}: {rows[-1]['status']} in {time.perf_counter() - t0:.1f} s")
    agreement(rows)
    table = pd.DataFrame(rows)
    table.insert(0, "suite", name)
    return table, missing
