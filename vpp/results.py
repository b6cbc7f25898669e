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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models import Solution, SolveReport
from vpp.case import Case

#: Quantities smaller than this [MW or MWh] are reported as zero in messages.
TOLERANCE = 1e-6

_UNITS = (
    ("_mwh_th", "MWh_th"),
    ("_mw_th", "MW_th"),
    ("_mwh", "MWh"),
    ("_mw", "MW"),
    ("_cny_per_mwh", "CNY/MWh"),
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

    @property
    def status(self) -> str:
        return str(self.report.status)

    @property
    def objective_cny(self) -> float:
        return self.report.objective_cny

    def curve(self) -> pd.DataFrame:
        """The wide per-step curve: one row per step, one column per element and quantity."""
        return curve_table(self.schedule)


def _rows(case: Case, sol: Solution) -> list[tuple[str, str, str, str, np.ndarray]]:
    """(asset, type, node, quantity, values) for every per-step series of a solution."""
    root = case.network.root
    buy = case.series(case.grid.buy_cny_per_mwh)
    rows: list[tuple[str, str, str, str, np.ndarray]] = [
        ("grid", "grid", root, "import_mw", sol.import_mw),
        ("grid", "grid", root, "export_mw", sol.export_mw),
        ("grid", "grid", root, "green_mw", sol.green_mw),
        ("grid", "grid", root, "grid_energy_mw", sol.import_mw - sol.green_mw),
        ("grid", "grid", root, "emissions_t", sol.emissions_t),
        ("grid", "grid", root, "buy_cny_per_mwh", buy),
        ("grid", "grid", root, "sell_cny_per_mwh", case.series(case.grid.sell_cny_per_mwh)),
    ]
    rows.append((root, "node", root, "unserved_mw", sol.unserved_mw[root]))
    for n in case.network.nodes:
        rows.append((n.id, "node", n.id, "flow_mw", sol.flow_mw[n.id]))
        rows.append((n.id, "node", n.id, "unserved_mw", sol.unserved_mw[n.id]))
    for a in case.assets:
        for q, v in sol.assets[a.id].items():
            rows.append((a.id, a.type, case.node_of(a), q, np.asarray(v, dtype=float)))
    net = sol.import_mw - sol.export_mw
    for ev in case.demand_response:
        outcome = sol.events[ev.id]
        window = np.zeros(case.steps, dtype=bool)
        window[ev.start_step : ev.end_step] = True
        target = case.series(ev.baseline_mw) - (ev.reduction_mw if outcome.joined else 0.0)
        rows.append((ev.id, "demand_response", root, "net_import_mw", np.where(window, net, np.nan)))
        rows.append((ev.id, "demand_response", root, "target_mw", np.where(window, target, np.nan)))
        rows.append((ev.id, "demand_response", root, "shortfall_mw", np.where(window, outcome.shortfall_mw, np.nan)))
    return rows


def schedule_table(case: Case, sol: Solution) -> pd.DataFrame:
    """The tidy per-step table (see the module docstring), built in one pass.

    Steps without a value (NaN: outside an event's window) are left out before
    the table is made, so each string column is one ``repeat`` by row counts.
    """
    rows = _rows(case, sol)
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


def curve_table(schedule: pd.DataFrame) -> pd.DataFrame:
    """Pivot the tidy table to one row per step; columns ``<asset>.<quantity>``, in table order."""
    key = schedule["asset"] + "." + schedule["quantity"]
    order = list(dict.fromkeys(key))
    wide = schedule.assign(column=key).pivot(index="step", columns="column", values="value")[order]
    times = schedule.drop_duplicates("step").set_index("step")["timestamp"]
    wide.insert(0, "timestamp", times.reindex(wide.index))
    wide.insert(1, "point", wide.index + 1)
    wide.columns.name = None
    wide = wide.reset_index()
    return wide[["timestamp", "point", "step", *order]]


def _spans(steps: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive steps as [first, last] pairs."""
    spans: list[tuple[int, int]] = []
    for s in steps.tolist():
        if spans and s == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], s)
        else:
            spans.append((s, s))
    return spans


def _where_unmet(case: Case, where: str, kind: str, series_mw: np.ndarray, thermal: bool = False) -> dict[str, Any] | None:
    """One unmet quantity: where, how much [MWh or MWh_th], its peak [MW or MW_th], its steps and periods."""
    dt, ts = case.dt_hours, case.timestamps
    steps = np.flatnonzero(series_mw > TOLERANCE)
    if steps.size == 0:
        return None
    spans = [
        {"from_step": a, "to_step": b, "from": ts[a].isoformat(), "to": (ts[b] + pd.Timedelta(minutes=case.step_minutes)).isoformat()}
        for a, b in _spans(steps)
    ]
    return {
        "kind": kind,
        "where": where,
        "energy_mwh_th" if thermal else "energy_mwh": float(series_mw.sum() * dt),
        "max_mw_th" if thermal else "max_mw": float(series_mw.max()),
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


def summarize(case: Case, report: SolveReport, sol: Solution, build_seconds: float) -> dict[str, Any]:
    """Totals, named shortfalls and solver facts of a solved case (summary.json)."""
    dt = case.dt_hours
    root = case.network.root
    by_type: dict[str, list[str]] = {}
    for a in case.assets:
        by_type.setdefault(a.type, []).append(a.id)

    def total(kind: str, q: str) -> np.ndarray:
        out = np.zeros(case.steps)
        for aid in by_type.get(kind, []):
            out += sol.assets[aid][q]
        return out

    consumption = sum((sol.assets[a.id]["consumption_mw"] for a in case.assets if "consumption_mw" in sol.assets[a.id]), np.zeros(case.steps))
    pv_used = total("pv", "power_mw")
    renewable_used = pv_used - sol.export_mw + sol.green_mw
    unserved = sum(sol.unserved_mw.values(), np.zeros(case.steps))
    thermal_unserved = total("thermal_storage", "unserved_thermal_mw_th")

    energy = {
        "import_mwh": sol.import_mw.sum() * dt,
        "export_mwh": sol.export_mw.sum() * dt,
        "green_purchased_mwh": sol.green_mw.sum() * dt,
        "grid_energy_mwh": (sol.import_mw - sol.green_mw).sum() * dt,
        "pv_available_mwh": total("pv", "available_mw").sum() * dt,
        "pv_used_mwh": pv_used.sum() * dt,
        "pv_curtailed_mwh": total("pv", "curtailed_mw").sum() * dt,
        "consumption_mwh": consumption.sum() * dt,
        "load_reduction_mwh": total("curtailable_load", "reduction_mw").sum() * dt,
        "battery_charge_mwh": total("battery", "charge_mw").sum() * dt,
        "battery_discharge_mwh": total("battery", "discharge_mw").sum() * dt,
        "unserved_mwh": unserved.sum() * dt,
        "unserved_thermal_mwh_th": thermal_unserved.sum() * dt,
    }
    cost = dict(sorted(sol.cost_cny.items()))
    cost["total"] = sum(sol.cost_cny.values())

    unmet: list[dict[str, Any]] = []
    for node in [root, *(n.id for n in case.network.nodes)]:
        item = _where_unmet(case, node, "unserved_electric", sol.unserved_mw[node])
        if item:
            unmet.append(item)
    for aid in by_type.get("thermal_storage", []):
        item = _where_unmet(case, aid, "unserved_thermal", sol.assets[aid]["unserved_thermal_mw_th"], thermal=True)
        if item:
            unmet.append(item)

    net = sol.import_mw - sol.export_mw
    events = []
    for ev in case.demand_response:
        out = sol.events[ev.id]
        w = slice(ev.start_step, ev.end_step)
        baseline = case.series(ev.baseline_mw)[w]
        reduction = ev.reduction_mw if out.joined else 0.0
        delivered = np.clip(baseline - net[w], 0.0, reduction) if out.joined else np.zeros_like(baseline)
        shortfall_mwh = float(out.shortfall_mw.sum() * dt)
        events.append(
            {
                "id": ev.id,
                "joined": out.joined,
                "optional": ev.optional,
                "window_steps": [ev.start_step, ev.end_step],
                "from": case.timestamps[ev.start_step].isoformat(),
                "to": (case.timestamps[ev.end_step - 1] + pd.Timedelta(minutes=case.step_minutes)).isoformat(),
                "requested_mwh": reduction * ev.length_steps * dt,
                "delivered_mwh": float(delivered.sum() * dt),
                "shortfall_mwh": shortfall_mwh,
                "revenue_cny": ev.price_cny_per_mwh * reduction * ev.length_steps * dt,
                "penalty_cny": ev.shortfall_penalty_cny_per_mwh * shortfall_mwh,
            }
        )
        if shortfall_mwh > TOLERANCE:
            item = _where_unmet(case, ev.id, "demand_response_shortfall", out.shortfall_mw)
            if item:
                unmet.append(item)

    contracts = []
    for a in case.assets:
        if a.type != "green_contract":
            continue
        e = float(sol.assets[a.id]["purchase_mw"].sum() * dt)
        taken = sol.contracts_taken[a.id]
        contracts.append(
            {
                "id": a.id,
                "taken": taken,
                "energy_mwh": e,
                "cost_cny": a.price_cny_per_mwh * e + (a.fixed_cny if taken else 0.0),
            }
        )
    batteries = []
    for a in case.assets:
        if a.type != "battery":
            continue
        v = sol.assets[a.id]
        dis = float(v["discharge_mw"].sum() * dt)
        batteries.append(
            {
                "id": a.id,
                "node": case.node_of(a),
                "charged_mwh": float(v["charge_mw"].sum() * dt),
                "discharged_mwh": dis,
                "equivalent_cycles": dis / a.energy_mwh if a.energy_mwh > 0 else 0.0,
                "soc_final_fraction": float(v["soc_fraction"][-1]),
            }
        )
    shiftable = [
        {"id": aid, "start_step": s, "start": case.timestamps[s].isoformat()} for aid, s in sol.shiftable_start.items()
    ]
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
        "energy_mwh": energy,
        "emissions_t": float(sol.emissions_t.sum()),
        "renewable_share": (float(renewable_used.sum() * dt / consumption_mwh) if consumption_mwh > TOLERANCE else None),
        "hourly_matching_score": _matching_score(case, consumption, pv_used + sol.green_mw),
        "peak_import_mw": float(sol.import_mw.max()) if case.steps else 0.0,
        "unserved": unmet,
        "demand_response": events,
        "green_contracts": contracts,
        "batteries": batteries,
        "shiftable_loads": shiftable,
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


def _messages(unmet: list[dict[str, Any]]) -> list[str]:
    """One readable line per unmet quantity, for an operator."""
    out = []
    for u in unmet:
        periods = ", ".join(f"{p['from'][11:16]}-{p['to'][11:16]}" for p in u["periods"])
        if u["kind"] == "unserved_electric":
            out.append(f"unserved energy at node {u['where']}: {u['energy_mwh']:.3f} MWh (max {u['max_mw']:.3f} MW) during {periods}")
        elif u["kind"] == "unserved_thermal":
            out.append(f"unserved thermal demand at {u['where']}: {u['energy_mwh_th']:.3f} MWh_th during {periods}")
        else:
            out.append(f"demand-response shortfall in event {u['where']}: {u['energy_mwh']:.3f} MWh during {periods}")
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
