"""Results of a day-ahead dispatch (model.md §7): tables, totals, diagnostics and writers.

:class:`DispatchResult` holds

- ``schedule``: the tidy per-step table, one row per (element, quantity, step) with
  columns ``timestamp, step, asset, type, node, quantity, unit, value``. Elements are
  the assets, the nodes (``type='node'``, the root included), the grid connection
  (``asset='grid'``, ``type='grid'``) and the demand-response events;
- ``summary``: totals (cost broken down by term [CNY], energy [MWh], emissions
  [tCO2], renewable share, hourly matching score), every unserved or shortfall
  quantity named with its node or event, and the solver's status, gap and timings.

Writers: :func:`write_outputs` puts ``schedule.csv``, ``schedule.parquet``,
``curve.csv`` (the wide per-step curve, local time), ``summary.json``,
``case.json`` (the materialised case that was solved) and ``dispatch.png`` in a folder.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models import Solution, SolveReport
from models.assets import ASSETS, SECTIONS
from models.declare import Element, Horizon
from models.events import report_event
from models.solution import ScopeSolution, Unmet
from vpp.case import Case

#: Quantities smaller than this [MW or MWh] are reported as zero in messages.
TOLERANCE = 1e-6

#: The energy totals [MWh] every summary has (zero when nothing adds to them), in this order.
ENERGY_TOTALS = (
    "import_mwh", "export_mwh", "green_purchased_mwh", "grid_energy_mwh", "pv_available_mwh", "pv_used_mwh",
    "pv_curtailed_mwh", "consumption_mwh", "load_reduction_mwh", "battery_charge_mwh", "battery_discharge_mwh",
    "unserved_mwh", "unserved_thermal_mwh_th",
)

_UNITS = (
    ("_cny_per_mwh", "CNY/MWh"),
    ("_mwh_th", "MWh_th"),
    ("_mw_th", "MW_th"),
    ("_mwh", "MWh"),
    ("_mw", "MW"),
    ("_fraction", "fraction"),
    ("_t", "tCO2"),
)


def unit_of(quantity: str) -> str:
    """The unit a quantity's name ends with (``soc_mwh`` → ``MWh``); flags are ``0/1``."""
    for suffix, unit in _UNITS:
        if quantity.endswith(suffix):
            return unit
    return "0/1"


@dataclass
class DispatchResult:
    """A solved day: the case, the solver's report, the values, the tables and the totals."""

    case: Case
    report: SolveReport
    solution: Solution
    build_seconds: float
    schedule: pd.DataFrame
    summary: dict[str, Any]
    first_stage: dict[str, np.ndarray] = field(default_factory=dict)  # decisions shared by scenarios, by name

    @property
    def status(self) -> str:
        return str(self.report.status)

    @property
    def objective_cny(self) -> float:
        return self.report.objective_cny

    def curve(self) -> pd.DataFrame:
        """The wide per-step curve: one row per step, one column per element and quantity."""
        return curve_table(self.schedule)


def _element_order(scope: ScopeSolution) -> list[Element]:
    """The elements of the table in a reader's order: the grid, the nodes (root first), the assets, the events."""
    rank = {"grid": 0, "node": 1, "demand_response": 3, "regulation": 4, "reserve": 4}
    return sorted(scope.tables, key=lambda e: rank.get(e.type, 2))


def _rows(scope: ScopeSolution) -> list[tuple[str, str, str, str, np.ndarray]]:
    """(asset, type, node, quantity, values) for every per-step series of a scope, from the declared outputs."""
    rows = []
    for element in _element_order(scope):
        values = scope.values[element]
        for q in scope.tables[element]:
            rows.append((element.id, element.type, element.node, q, np.asarray(values[q], dtype=float)))
    return rows


def _scope_table(case: Case, scope: ScopeSolution) -> pd.DataFrame:
    rows = _rows(scope)
    n = case.steps
    values = np.stack([r[4] for r in rows]) + 0.0  # (rows, steps); + 0.0: no negative zeros in the files
    keep = ~np.isnan(values)
    counts = keep.sum(axis=1)

    def column(labels: list[str]) -> pd.Series:
        return pd.Series(labels, dtype="string").repeat(counts).reset_index(drop=True)

    ts = case.timestamps
    steps = np.broadcast_to(np.arange(n), values.shape)[keep]
    return pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(ts.asi8[steps].astype(f"datetime64[{ts.unit}]"), tz="UTC").tz_convert(ts.tz),
            "step": steps,
            "asset": column([r[0] for r in rows]),
            "type": column([r[1] for r in rows]),
            "node": column([r[2] for r in rows]),
            "quantity": column([r[3] for r in rows]),
            "unit": column([unit_of(r[3]) for r in rows]),
            "value": values[keep],
        }
    )


def schedule_table(case: Case, sol: Solution) -> pd.DataFrame:
    """The tidy per-step table (see the module docstring), built in one pass per scenario.

    Steps without a value (NaN: outside an event's window) are left out before
    the table is made, so each string column is one ``repeat`` by row counts.
    A stochastic day (§6) has a ``scenario`` column and one set of rows per scenario.
    """
    if len(sol.scopes) == 1:
        return _scope_table(case, sol.first)
    tables = []
    for scope in sol.scopes:
        table = _scope_table(case, scope)
        table.insert(0, "scenario", pd.Series([scope.name] * len(table), dtype="string"))
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def curve_table(schedule: pd.DataFrame) -> pd.DataFrame:
    """Pivot the tidy table to one row per step; columns ``<asset>.<quantity>`` (``<scenario>|…`` per scenario)."""
    key = schedule["asset"] + "." + schedule["quantity"]
    if "scenario" in schedule.columns:
        key = schedule["scenario"] + "|" + key
    order = list(dict.fromkeys(key))
    wide = schedule.assign(column=key).pivot(index="step", columns="column", values="value")[order]
    times = schedule.drop_duplicates("step").set_index("step")["timestamp"]
    wide.insert(0, "timestamp", times.reindex(wide.index))
    wide.insert(1, "point", wide.index + 1)
    wide.columns.name = None
    wide = wide.reset_index()
    return wide[["timestamp", "point", "step", *order]]


_KEYS = ("asset", "type", "node", "quantity", "unit")


def schedule_to_series(schedule: pd.DataFrame, timestamps: pd.DatetimeIndex) -> dict[str, Any]:
    """The tidy table as JSON-ready series: the step times and one list of values per element and quantity.

    A value is a float, or None where the table has no row (a demand-response
    quantity outside its window); a stochastic day's series carry their ``scenario``.
    :func:`schedule_from_series` gives the table back.
    """
    n = len(timestamps)
    keys = (["scenario"] if "scenario" in schedule.columns else []) + list(_KEYS)
    series = []
    for key, group in schedule.groupby(keys, sort=False):
        values: list[float | None] = [None] * n
        for step, value in zip(group["step"].tolist(), group["value"].tolist(), strict=True):
            values[int(step)] = float(value)
        series.append(dict(zip(keys, key, strict=True)) | {"values": values})
    return {"timestamps": [t.isoformat() for t in timestamps], "series": series}


def schedule_from_series(series: dict[str, Any]) -> pd.DataFrame:
    """The tidy per-step table from :func:`schedule_to_series`'s JSON (the same rows, the same order)."""
    stamps = pd.to_datetime(pd.Series(series["timestamps"]), format="ISO8601")
    n = len(stamps)
    stochastic = any("scenario" in item for item in series["series"])
    columns = (["scenario"] if stochastic else []) + ["timestamp", "step", *_KEYS, "value"]
    frames = []
    for item in series["series"]:
        values = np.array([np.nan if v is None else v for v in item["values"]], dtype=float)
        keep = ~np.isnan(values)
        frame = {"timestamp": stamps[keep].reset_index(drop=True), "step": np.arange(n)[keep]}
        frame |= {k: item[k] for k in _KEYS} | {"value": values[keep]}
        if stochastic:
            frame["scenario"] = item.get("scenario", "")
        frames.append(pd.DataFrame(frame)[columns])
    if not frames:
        return pd.DataFrame(columns=columns)
    table = pd.concat(frames, ignore_index=True)
    for k in ([*_KEYS, "scenario"] if stochastic else _KEYS):
        table[k] = table[k].astype("string")
    return table


def _spans(steps: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive steps as [first, last] pairs."""
    spans: list[tuple[int, int]] = []
    for s in steps.tolist():
        if spans and s == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], s)
        else:
            spans.append((s, s))
    return spans


def _where_unmet(case: Case, u: Unmet) -> dict[str, Any] | None:
    """One unmet quantity: where, how much [MWh or MWh_th], its peak [MW or MW_th], its steps and periods.

    A per-step quantity [MW] is reported with its periods; a single number
    [MWh] (a store's final shortfall) at the end of the horizon.
    """
    dt, ts = case.dt_hours, case.timestamps
    thermal = u.quantity.endswith(("_mw_th", "_mwh_th"))
    energy_key, max_key = ("energy_mwh_th", "max_mw_th") if thermal else ("energy_mwh", "max_mw")
    values = np.nan_to_num(np.asarray(u.values, dtype=float))
    if values.size != case.steps:  # one quantity over the horizon [MWh]
        total = float(values.sum())
        if total <= TOLERANCE:
            return None
        end = ts[-1] + pd.Timedelta(minutes=case.step_minutes)
        return {"kind": u.kind, "where": u.element.id, energy_key: total, "steps": [case.steps - 1],
                "periods": [{"from_step": case.steps - 1, "to_step": case.steps - 1, "from": end.isoformat(),
                             "to": end.isoformat()}]}
    steps = np.flatnonzero(values > TOLERANCE)
    if steps.size == 0:
        return None
    spans = [
        {"from_step": a, "to_step": b, "from": ts[a].isoformat(), "to": (ts[b] + pd.Timedelta(minutes=case.step_minutes)).isoformat()}
        for a, b in _spans(steps)
    ]
    return {
        "kind": u.kind,
        "where": u.element.id,
        energy_key: float(values.sum() * dt),
        max_key: float(values.max()),
        "steps": steps.tolist(),
        "periods": spans,
    }


def _matching_score(case: Case, consumption: np.ndarray, renewable: np.ndarray) -> float | None:
    """Σ_h min(consumption, renewable supply) / Σ_h consumption over clock hours (steps if longer)."""
    if consumption.sum() <= TOLERANCE:
        return None
    if case.step_minutes < 60 and 60 % case.step_minutes == 0:
        _, hour = np.unique(case.timestamps.floor("h").asi8, return_inverse=True)
        c, r = np.bincount(hour, weights=consumption), np.bincount(hour, weights=renewable)
        return float(np.minimum(c, r).sum() / c.sum())
    return float(np.minimum(consumption, renewable).sum() / consumption.sum())


def _report_sections(case: Case, sol: Solution) -> dict[str, list[dict[str, Any]]]:
    """Each asset's line in its module's summary section, and each event's."""
    h = Horizon(case, case)
    sections: dict[str, list[dict[str, Any]]] = {name: [] for name in SECTIONS}
    for a in case.assets:
        module = ASSETS[a.type]
        if hasattr(module, "report"):
            sections[module.SECTION].append(module.report(sol.assets[a.id], a, h))
    sections["demand_response"] = [report_event(sol.events[ev.id], ev, h) for ev in case.demand_response]
    return sections


def _stochastic(case: Case, sol: Solution) -> dict[str, Any]:
    """A stochastic day's scenarios (§6): each one's cost, the expected cost, and the CVaR with a risk term."""
    if not case.scenarios:
        return {}
    scenarios = [{"id": sc.name, "probability": sc.probability,
                  "cost_cny": sum(v for term, v in sc.cost_cny.items() if term != "cvar")} for sc in sol.scopes]
    out: dict[str, Any] = {"scenarios": scenarios}
    risk_terms = sum(v for _, term, v in sol.cost_by_element if term == "cvar")
    out["expected_cost_cny"] = sum(v for _, term, v in sol.cost_by_element if term != "cvar")
    risk = case.risk
    if risk is not None and risk.cvar_weight > 0:
        costs = np.array([next(v for e, v in sc.values.items() if e.type == "risk")["scenario_cost_cny"][0]
                          for sc in sol.scopes])
        probs = np.array([sc.probability for sc in sol.scopes])
        eta = float(next(v for e, v in sol.first.values.items() if e.type == "risk")["cvar_threshold_cny"][0])
        out["cvar_cny"] = eta + float(np.sum(probs * np.maximum(0.0, costs - eta))) / (1 - risk.cvar_beta)
        out["cvar_beta"] = risk.cvar_beta
        out["risk_term_cny"] = risk_terms
    return out


#: How the bill groups the model's cost terms (each term in one group; all add up to the objective).
BILL_GROUPS: dict[str, tuple[str, ...]] = {
    "energy_cny": ("energy",),  # with the green contracts' energy at the time-of-use price, below
    "green_premium_cny": ("green_energy", "green_fixed"),  # less that energy at the time-of-use price
    "maximum_demand_cny": ("demand",),
    "demand_response_revenue_cny": ("dr_revenue",),
    "demand_response_penalty_cny": ("dr_penalty",),
    "deviation_cny": ("deviation",),
    "regulation_revenue_cny": ("regulation_capacity", "regulation_mileage"),
    "export_revenue_cny": ("export",),
    "carbon_cny": ("carbon",),
    "flexibility_cny": ("curtailment", "load_curtailment", "load_curtailment_start", "degradation"),
    "unserved_cny": ("unserved", "unserved_thermal", "thermal_final_shortfall"),
    "risk_cny": ("cvar",),
}


def bill(case: Case, sol: Solution) -> dict[str, float]:
    """The day's cost as an operator reads a bill [CNY]: energy at the time-of-use price, the green
    premium above it, maximum demand, demand response, deviations, regulation, and the rest.

    The green contracts' energy is counted in ``energy_cny`` at the price it replaces, and
    ``green_premium_cny`` is what it cost above that (fixed fees included). The groups add up to
    the objective; a cost term of no group is listed under its own name.
    """
    terms = sol.cost_cny
    out = {group: sum(terms.get(t, 0.0) for t in names) for group, names in BILL_GROUPS.items()}
    buy = case.series(case.grid.buy_cny_per_mwh)
    green_at_tou = float(np.sum(buy * sol.green_mw) * case.dt_hours)
    out["energy_cny"] += green_at_tou
    out["green_premium_cny"] -= green_at_tou
    grouped = {t for names in BILL_GROUPS.values() for t in names}
    out.update({f"{t}_cny": v for t, v in terms.items() if t not in grouped})
    out["total_cny"] = sum(terms.values())
    return out


def _emission_factor(case: Case) -> str | None:
    """The grid emission factor the case uses, as its template states it (value and source), if it does."""
    found = (case.meta or {}).get("emission_factor")
    if isinstance(found, dict):
        value = found.get("value_t_per_mwh", found.get("value"))
        if value is not None:
            return f"{value:g} tCO2/MWh {found.get('source', '')}".strip()
    return None if found is None else str(found)


def summarize(case: Case, report: SolveReport, sol: Solution, build_seconds: float) -> dict[str, Any]:
    """Totals, named shortfalls and solver facts of a solved case (summary.json)."""
    dt = case.dt_hours
    first = sol.first
    steps = case.steps
    consumption = first.sums.get("consumption_mwh", np.zeros(steps))
    pv_used = first.sums.get("pv_used_mwh", np.zeros(steps))
    renewable_used = pv_used - sol.export_mw + sol.green_mw

    energy = {key: first.totals.get(key, 0.0) for key in ENERGY_TOTALS}
    energy.update({k: v for k, v in first.totals.items() if k not in energy})
    cost = dict(sorted(sol.cost_cny.items()))
    cost["total"] = sum(sol.cost_cny.values())

    unmet: list[dict[str, Any]] = []
    for u in first.unmet:
        item = _where_unmet(case, u)
        if item:
            unmet.append(item)

    consumption_mwh = energy["consumption_mwh"]
    summary: dict[str, Any] = {
        "case": case.name,
        "start": case.start.isoformat(),
        "steps": case.steps,
        "step_minutes": case.step_minutes,
        "status": str(report.status),
        "objective_cny": report.objective_cny,
        "mip_gap": report.mip_gap,
        "best_bound_cny": report.best_bound_cny,
        "build_seconds": build_seconds,
        "handover_seconds": report.handover_seconds,
        "solve_seconds": report.solve_seconds,
        "extract_seconds": sol.extract_seconds,
        "cost_cny": cost,
        "bill_cny": bill(case, sol),
        "energy_mwh": energy,
        "emissions_t": float(sol.emissions_t.sum()),
        "emission_factor": _emission_factor(case),
        "renewable_share": (float(renewable_used.sum() * dt / consumption_mwh) if consumption_mwh > TOLERANCE else None),
        "hourly_matching_score": _matching_score(case, consumption, pv_used + sol.green_mw),
        "peak_import_mw": float(sol.import_mw.max()) if case.steps else 0.0,
        "unserved": unmet,
        **_report_sections(case, sol),
        **_stochastic(case, sol),
        "messages": _messages(unmet),
        "solver": {
            "name": report.solver,
            "model_status": report.model_status,
            "nodes": report.nodes,
            "variables": report.variables,
            "constraints": report.constraints,
            "binaries": report.binaries,
            "nonzeros": report.nonzeros,
            "rounds": report.rounds,
        },
    }
    return _clean(summary)


def period_text(period: dict[str, Any]) -> str:
    """A period as an operator reads it: ``08:00-12:30``, ``00:00-24:00`` for a whole day, dates when it spans days."""
    a, b = pd.Timestamp(period["from"]), pd.Timestamp(period["to"])
    if a == b:
        return f"at {a:%H:%M}" if a.hour or a.minute else "at the end of the horizon"
    whole_days = b.normalize() == b and b.normalize() - a.normalize() == pd.Timedelta(days=1)
    if a.normalize() == b.normalize() or whole_days:
        return f"{a:%H:%M}-{'24:00' if whole_days else f'{b:%H:%M}'}"
    return f"{a:%m-%d %H:%M}-{b:%m-%d %H:%M}"


def _messages(unmet: list[dict[str, Any]]) -> list[str]:
    """One readable line per unmet quantity, for an operator."""
    out = []
    for u in unmet:
        periods = ", ".join(period_text(p) for p in u["periods"])
        kind, where = u["kind"], u["where"]
        if kind == "unserved_electric":
            out.append(f"unserved energy at node {where}: {u['energy_mwh']:.3f} MWh (max {u['max_mw']:.3f} MW) during {periods}")
        elif kind == "unserved_thermal":
            out.append(f"unserved thermal demand at {where}: {u['energy_mwh_th']:.3f} MWh_th during {periods}")
        elif kind == "thermal_final_shortfall":
            out.append(f"thermal store {where} ends {u['energy_mwh_th']:.3f} MWh_th below its initial level")
        elif kind == "demand_response_shortfall":
            out.append(f"demand-response shortfall in event {where}: {u['energy_mwh']:.3f} MWh during {periods}")
        else:
            unit = "MWh_th" if "energy_mwh_th" in u else "MWh"
            amount = u.get("energy_mwh_th", u.get("energy_mwh", 0.0))
            out.append(f"{kind.replace('_', ' ')} at {where}: {amount:.3f} {unit} during {periods}")
    return out


def _clean(obj: Any) -> Any:
    """Plain JSON types; non-finite numbers become None."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        x = float(obj)
        if not math.isfinite(x):
            return None
        return 0.0 if abs(x) < 1e-9 else x  # solver round-off is not a quantity
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def make_result(case: Case, report: SolveReport, sol: Solution, build_seconds: float) -> DispatchResult:
    return DispatchResult(
        case=case,
        report=report,
        solution=sol,
        build_seconds=build_seconds,
        schedule=schedule_table(case, sol),
        summary=summarize(case, report, sol, build_seconds),
    )


# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["timestamp"] = out["timestamp"].map(lambda t: t.isoformat())
    return out


def write_summary(summary: dict[str, Any], path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return p


def write_outputs(result: DispatchResult, out_dir: str | Path, chart: bool = True) -> dict[str, Path]:
    """Write every output file of a dispatch into ``out_dir``; return their paths by name."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "schedule.csv": out / "schedule.csv",
        "schedule.parquet": out / "schedule.parquet",
        "curve.csv": out / "curve.csv",
        "summary.json": out / "summary.json",
        "case.json": out / "case.json",
    }
    _csv_ready(result.schedule).to_csv(paths["schedule.csv"], index=False, float_format="%.9g")
    result.schedule.to_parquet(paths["schedule.parquet"], index=False)
    _csv_ready(result.curve()).to_csv(paths["curve.csv"], index=False, float_format="%.9g")
    write_summary(result.summary, paths["summary.json"])
    paths["case.json"].write_text(result.case.to_json() + "\n", encoding="utf-8")
    if chart:
        from vpp.plot import plot_dispatch

        paths["dispatch.png"] = plot_dispatch(result, out / "dispatch.png")
    return paths
