"""Residual checks on the written output files (see :mod:`tests.residuals`)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from models import SolveOptions
from tests.residuals import check_residuals
from vpp.case import load_case
from vpp.dispatch import solve_case
from vpp.results import write_outputs

OPTS = SolveOptions(mip_gap=1e-9)

# Every asset type, a chain of two nodes, export, a demand charge, carbon, green share and a
# demand-response event (4 h-long steps).
RICH: dict[str, Any] = {
    "name": "tiny", "start": "2026-07-15T00:00:00+08:00", "step_minutes": 60, "steps": 4,
    "network": {"root": "grid", "nodes": [{"id": "s1", "parent": "grid", "capacity_mw": 5},
                                          {"id": "s2", "parent": "s1", "capacity_mw": 2}]},
    "grid": {"import_max_mw": 10, "export_max_mw": 3, "buy_cny_per_mwh": [100, 300, 500, 200],
             "sell_cny_per_mwh": 50, "emission_t_per_mwh": 0.6, "demand_charge_cny_per_mw": 10},
    "carbon_price_cny_per_t": 50, "green_share_min": 0.2,
    "assets": [
        {"id": "l1", "type": "load", "node": "s2", "demand_mw": [1, 3, 3, 1]},
        {"id": "pv1", "type": "pv", "node": "s1", "available_mw": [0, 2, 4, 0], "curtailment_cny_per_mwh": 5},
        {"id": "b1", "type": "battery", "node": "s2", "power_mw": 1, "energy_mwh": 2},
        {"id": "c1", "type": "curtailable_load", "node": "s1", "demand_mw": 2, "max_reduction_mw": 1,
         "cost_cny_per_mwh": 250, "min_duration_steps": 2, "max_events": 1},
        {"id": "sh", "type": "shiftable_load", "profile_mw": [1, 0.5]},
        {"id": "ev", "type": "flexible_load", "max_power_mw": 2, "energy_mwh": 3,
         "requirements": [{"by_step": 2, "energy_mwh": 1}]},
        {"id": "gc", "type": "green_contract", "available_mw": 1, "price_cny_per_mwh": 150, "fixed_cny": 20},
        {"id": "ice", "type": "thermal_storage", "max_power_mw": 1, "cop": 3, "thermal_demand_mw": [0, 2, 3, 1],
         "capacity_mwh_th": 4},
    ],
    "demand_response": [{"id": "dr1", "start_step": 2, "end_step": 3, "baseline_mw": 6, "reduction_mw": 1,
                         "price_cny_per_mwh": 400, "shortfall_penalty_cny_per_mwh": 1000}],
}


def _variant_star_half_hours() -> dict[str, Any]:
    """A star of two nodes with an export limit, 30-min steps, self-discharge, losses, mandatory
    contract and event, split charge/discharge powers."""
    d = copy.deepcopy(RICH)
    d["name"] = "star"
    d["step_minutes"] = 30
    d["steps"] = 6
    d["network"] = {"root": "grid", "nodes": [{"id": "a", "capacity_mw": 4, "export_capacity_mw": 1},
                                              {"id": "b", "capacity_mw": 3}]}
    d["grid"].update(buy_cny_per_mwh=[100, 150, 600, 600, 200, 100], sell_cny_per_mwh=[50, 50, 300, 300, 50, 50],
                     emission_t_per_mwh=[0.6, 0.6, 0.8, 0.8, 0.5, 0.5])
    d["assets"] = [
        {"id": "l1", "type": "load", "node": "b", "demand_mw": [1, 2, 3, 3, 2, 1]},
        {"id": "pv1", "type": "pv", "node": "a", "available_mw": [0, 1, 3, 4, 2, 0]},
        {"id": "pv2", "type": "pv", "available_mw": [0, 0.5, 1, 1, 0.5, 0], "curtailment_cny_per_mwh": 20},
        {"id": "b1", "type": "battery", "node": "a", "charge_power_mw": 1, "discharge_power_mw": 2, "energy_mwh": 2,
         "self_discharge_per_hour": 0.02, "degradation_cny_per_mwh": 10, "soc_final_min": 0.3, "max_cycles": 1},
        {"id": "b2", "type": "battery", "node": "b", "power_mw": 0.5, "energy_mwh": 1, "soc_initial": 0.2,
         "soc_min": 0.0, "soc_max": 1.0, "charge_efficiency": 0.9, "discharge_efficiency": 0.85},
        {"id": "c1", "type": "curtailable_load", "node": "b", "demand_mw": [2, 2, 3, 3, 2, 2],
         "max_reduction_mw": [0, 1, 2, 2, 1, 0], "cost_cny_per_mwh": 350},
        {"id": "sh", "type": "shiftable_load", "node": "b", "profile_mw": [1, 1, 0.5], "earliest_start": 1,
         "latest_end": 6},
        {"id": "ev", "type": "flexible_load", "node": "a", "min_power_mw": 0.2, "max_power_mw": 2, "energy_mwh": 2,
         "requirements": [{"by_step": 3, "energy_mwh": 1}]},
        {"id": "gc", "type": "green_contract", "available_mw": 0.5, "price_cny_per_mwh": 250, "min_take": 0.4,
         "optional": False, "fixed_cny": 15},
        {"id": "gc2", "type": "green_contract", "available_mw": [1, 1, 1, 1, 0, 0], "price_cny_per_mwh": 120},
        {"id": "ice", "type": "thermal_storage", "node": "b", "max_power_mw": 0.5, "cop": 2.5,
         "thermal_demand_mw": [0, 1, 2, 2, 1, 0], "capacity_mwh_th": 3, "level_initial": 0.3, "loss_per_hour": 0.05},
    ]
    d["demand_response"] = [
        {"id": "dr1", "start_step": 2, "end_step": 4, "baseline_mw": [5, 5, 5, 5, 5, 5], "reduction_mw": 2,
         "price_cny_per_mwh": 300, "shortfall_penalty_cny_per_mwh": 800, "optional": False},
        {"id": "dr2", "start_step": 4, "end_step": 6, "baseline_mw": 2, "reduction_mw": 1,
         "price_cny_per_mwh": 10, "shortfall_penalty_cny_per_mwh": 500},
    ]
    d["green_share_min"] = 0.3
    return d


def _solve_and_write(data: dict[str, Any] | Any, out: Path) -> dict[str, Any]:
    case = data if not isinstance(data, dict) else load_case(data)
    result = solve_case(case, OPTS)
    write_outputs(result, out, chart=False)
    return json.loads((out / "summary.json").read_text())


@pytest.mark.parametrize("data", [RICH, _variant_star_half_hours()], ids=["rich-chain", "rich-star-30min"])
def test_rich_case_residuals(data: dict[str, Any], tmp_path: Path) -> None:
    summary = _solve_and_write(data, tmp_path)
    assert summary["status"] == "optimal"
    got = check_residuals(tmp_path)
    assert summary["objective_cny"] == pytest.approx(got["total_cny"], rel=1e-6)
    kinds = {a["type"] for a in json.loads((tmp_path / "case.json").read_text())["assets"]}
    assert len(kinds) == 8  # every asset type took part


def test_rich_case_recomputed_figures(tmp_path: Path) -> None:
    """The chain case's figures, recomputed from the files: emissions and the renewable share."""
    _solve_and_write(RICH, tmp_path)
    got = check_residuals(tmp_path)
    sched = pd.read_parquet(tmp_path / "schedule.parquet")

    def q(asset: str, quantity: str) -> pd.Series:
        return sched[(sched.asset == asset) & (sched.quantity == quantity)].set_index("step")["value"]

    grid_energy = q("grid", "import_mw") - q("grid", "green_mw")
    assert got["emissions_t"] == pytest.approx(float((0.6 * grid_energy).sum()), rel=1e-9)
    # end-use consumption: l1 fixed, c1 after reduction, sh, ev, ice (not the battery)
    consumption = (pd.Series([1, 3, 3, 1]) + (2 - q("c1", "reduction_mw")) + q("sh", "consumption_mw")
                   + q("ev", "consumption_mw") + q("ice", "consumption_mw"))
    renewable = q("pv1", "power_mw") - q("grid", "export_mw") + q("gc", "purchase_mw")
    assert got["renewable_share"] == pytest.approx(float(renewable.sum() / consumption.sum()), rel=1e-9)
    assert got["renewable_share"] >= 0.2 - 1e-9


def test_written_case_json_round_trips(tmp_path: Path) -> None:
    _solve_and_write(RICH, tmp_path)
    again = load_case(json.loads((tmp_path / "case.json").read_text()))
    assert again == load_case(RICH)


# --- the checker itself catches broken files -----------------------------------------------------


def _tamper_parquet(out: Path, asset: str, quantity: str, step: int, delta: float) -> None:
    table = pd.read_parquet(out / "schedule.parquet")
    hit = (table.asset == asset) & (table.quantity == quantity) & (table.step == step)
    assert hit.sum() == 1
    table.loc[hit, "value"] += delta
    table.to_parquet(out / "schedule.parquet", index=False)
    # keep the csv files consistent so that only the residual under test fails
    csv = table.copy()
    csv["timestamp"] = csv["timestamp"].map(lambda t: t.isoformat())
    csv.to_csv(out / "schedule.csv", index=False, float_format="%.9g")
    curve = pd.read_csv(out / "curve.csv")
    col = f"{asset}.{quantity}"
    curve[col] = curve[col].astype(float)
    curve.loc[curve.step == step, col] += delta
    curve.to_csv(out / "curve.csv", index=False, float_format="%.9g")


@pytest.mark.parametrize(("asset", "quantity", "message"), [
    ("b1", "soc_mwh", "SoC recursion"),
    ("ice", "level_mwh_th", "thermal level recursion"),
    ("s1", "flow_mw", "balance at node s1"),
    ("grid", "import_mw", "balance at the root"),
    ("ev", "consumption_mw", "energy over the horizon"),
])
def test_checker_catches_a_tampered_schedule(asset: str, quantity: str, message: str, tmp_path: Path) -> None:
    _solve_and_write(RICH, tmp_path)
    _tamper_parquet(tmp_path, asset, quantity, 1, 0.01)
    with pytest.raises(AssertionError, match=message):
        check_residuals(tmp_path)


def test_checker_catches_a_wrong_objective_and_a_missing_unserved_name(tmp_path: Path) -> None:
    _solve_and_write(RICH, tmp_path)
    path = tmp_path / "summary.json"
    summary = json.loads(path.read_text())
    assert summary["unserved"], "the chain case has unserved energy at s2"
    summary["objective_cny"] += 1.0
    summary["unserved"] = []
    path.write_text(json.dumps(summary))
    with pytest.raises(AssertionError, match=r"(?s)objective_cny vs the §6 formula.*not named in summary"):
        check_residuals(tmp_path)


def test_checker_catches_csv_that_disagrees_with_parquet(tmp_path: Path) -> None:
    _solve_and_write(RICH, tmp_path)
    csv = pd.read_csv(tmp_path / "schedule.csv")
    csv.loc[5, "value"] += 0.5
    csv.to_csv(tmp_path / "schedule.csv", index=False)
    with pytest.raises(AssertionError, match="schedule.csv values differ"):
        check_residuals(tmp_path)


# --- the built-in TEDA east case ------------------------------------------------------------------


def test_teda_east_residuals(tmp_path: Path) -> None:
    from vpp.cases import materialize

    case = materialize("teda-east", dt.date(2026, 7, 15))
    result = solve_case(case, SolveOptions(mip_gap=1e-4, time_limit_s=60))
    assert result.status in ("optimal", "feasible")
    write_outputs(result, tmp_path, chart=False)
    got = check_residuals(tmp_path)
    assert result.summary["objective_cny"] == pytest.approx(got["total_cny"], rel=1e-6)
